//! The `--state` file of scheduled scans: which S3 objects (by `s3://` name,
//! ETag and size) earlier runs read in full, so a rerun skips them and only
//! reads objects that are new or changed (late deliveries).
//!
//! The file is JSON, rewritten atomically (temporary file in the same
//! folder, then rename), and only after a run finished, so a crash never
//! marks an object as processed. Entries not seen for
//! [`FORGET_AFTER_DAYS`] days are dropped to keep the file small.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Entries whose object was not listed for this long are forgotten.
pub const FORGET_AFTER_DAYS: i64 = 35;

const VERSION: u32 = 1;

/// One processed object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub etag: String,
    pub size: u64,
    /// When a run last read or skipped this object (Unix seconds).
    pub seen: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    /// By object name, `s3://bucket/key`.
    objects: BTreeMap<String, Entry>,
}

/// A loaded state file.
#[derive(Debug, Clone)]
pub struct State {
    path: PathBuf,
    file: StateFile,
}

impl State {
    /// Reads `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> anyhow::Result<State> {
        let file = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<StateFile>(&bytes).with_context(|| {
                format!(
                    "state file `{}` is not valid JSON (hint: delete it to start over; \
                     objects will be read again)",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile {
                version: VERSION,
                objects: BTreeMap::new(),
            },
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", path.display()));
            }
        };
        anyhow::ensure!(
            file.version == VERSION,
            "state file `{}` has version {}, this build reads version {VERSION}",
            path.display(),
            file.version
        );
        Ok(State {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Was this exact object (same ETag and size) read in full before?
    pub fn is_done(&self, name: &str, etag: &str, size: u64) -> bool {
        self.file
            .objects
            .get(name)
            .is_some_and(|e| e.etag == etag && e.size == size)
    }

    /// Marks an object as read in full (or, again, as still present).
    pub fn record(&mut self, name: &str, etag: &str, size: u64, now_secs: i64) {
        let entry = Entry {
            etag: etag.to_string(),
            size,
            seen: now_secs,
        };
        self.file.objects.insert(name.to_string(), entry);
    }

    /// Drops entries not seen since `FORGET_AFTER_DAYS` before `now_secs`.
    pub fn forget_old(&mut self, now_secs: i64) {
        let cutoff = now_secs - FORGET_AFTER_DAYS * 86_400;
        self.file.objects.retain(|_, e| e.seen >= cutoff);
    }

    pub fn len(&self) -> usize {
        self.file.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.file.objects.is_empty()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state atomically: a temporary file beside it, flushed to
    /// disk, then renamed over the old one.
    pub fn save(&self) -> anyhow::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let file_name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, &self.file)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::Error::new(e)
                .context(format!("cannot write state file `{}`", self.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_matches_on_etag_and_size() {
        let dir = std::env::temp_dir().join(format!("stickyaudit-state-{}", std::process::id()));
        let path = dir.join("state.json");
        let _ = std::fs::remove_file(&path);
        let mut state = State::load(&path).unwrap();
        assert!(state.is_empty());
        state.record("s3://b/k1", "\"e1\"", 10, 10_000_000);
        state.record("s3://b/old", "\"e0\"", 5, 1);
        state.forget_old(10_000_000);
        state.save().unwrap();
        let again = State::load(&path).unwrap();
        assert_eq!(again.len(), 1);
        assert!(again.is_done("s3://b/k1", "\"e1\"", 10));
        assert!(!again.is_done("s3://b/k1", "\"e2\"", 10));
        assert!(!again.is_done("s3://b/k1", "\"e1\"", 11));
        std::fs::write(&path, "{not json").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("hint:"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
