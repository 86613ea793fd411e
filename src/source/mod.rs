//! Where log bytes come from: local files, directories and globs (and S3
//! objects, see [`s3`]), opened as plain text or gzip by their magic bytes,
//! and the family each file holds, detected from its content.

pub mod collect;
pub mod coverage;
pub mod ingest;
pub mod s3;
pub mod state;
pub mod window;

use crate::parse::Family;
use crate::parse::alb::looks_like_alb;
use crate::parse::cloudfront::fields_header;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Something that can be read as a log file.
pub trait Open: Send + Sync {
    /// A fresh reader over the raw (possibly compressed) bytes.
    fn open(&self) -> io::Result<Box<dyn Read + Send>>;
    /// Raw size in bytes, when known, for progress.
    fn size(&self) -> Option<u64>;
}

/// One input file with the name reports cite it by.
pub struct Input {
    /// The path or object key as given.
    pub name: String,
    /// Family forced by `--cloudfront`/`--alb`.
    pub forced: Option<Family>,
    pub opener: Box<dyn Open>,
}

struct LocalFile(PathBuf);

impl Open for LocalFile {
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::fs::File::open(&self.0)?))
    }
    fn size(&self) -> Option<u64> {
        std::fs::metadata(&self.0).ok().map(|m| m.len())
    }
}

/// A path, directory or glob that matched nothing or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` does not exist")]
    Missing(String),
    #[error("`{0}` is not a valid glob pattern: {1}")]
    BadGlob(String, String),
    #[error("glob `{0}` matched no files")]
    EmptyGlob(String),
    #[error("cannot read directory `{0}`: {1}")]
    Unreadable(String, io::Error),
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SourceError::Unreadable(dir.display().to_string(), e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands local files, directories (recursively, hidden entries skipped)
/// and glob patterns into inputs, in a stable order.
pub fn expand_local(arg: &str, forced: Option<Family>) -> Result<Vec<Input>, SourceError> {
    let mut paths = Vec::new();
    if has_glob_chars(arg) && !Path::new(arg).exists() {
        let matches =
            glob::glob(arg).map_err(|e| SourceError::BadGlob(arg.into(), e.to_string()))?;
        for m in matches.flatten() {
            if m.is_dir() {
                walk(&m, &mut paths)?;
            } else {
                paths.push(m);
            }
        }
        if paths.is_empty() {
            return Err(SourceError::EmptyGlob(arg.into()));
        }
    } else {
        let path = Path::new(arg);
        if path.is_dir() {
            walk(path, &mut paths)?;
        } else if path.exists() {
            paths.push(path.to_path_buf());
        } else {
            return Err(SourceError::Missing(arg.into()));
        }
    }
    Ok(paths
        .into_iter()
        .map(|p| Input {
            name: p.display().to_string(),
            forced,
            opener: Box::new(LocalFile(p)),
        })
        .collect())
}

/// How a file's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Gzip,
    Parquet,
}

pub fn sniff_encoding(head: &[u8]) -> Encoding {
    if head.starts_with(&[0x1f, 0x8b]) {
        Encoding::Gzip
    } else if head.starts_with(b"PAR1") {
        Encoding::Parquet
    } else {
        Encoding::Plain
    }
}

/// The text layout of a file, detected from its first lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CloudFront W3C text; `headerless` when no `#Fields:` line came first.
    CloudFrontW3c {
        headerless: bool,
    },
    CloudFrontJson,
    Alb,
}

impl Format {
    pub fn family(self) -> Family {
        match self {
            Format::Alb => Family::Alb,
            _ => Family::CloudFront,
        }
    }
}

fn looks_like_cloudfront_row(line: &[u8]) -> bool {
    let cells: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
    cells.len() >= 20
        && crate::parse::text::parse_date(cells[0]).is_some()
        && crate::parse::text::parse_clock(cells[1]).is_some()
}

/// Decides the format from the first lines of decoded text. `forced`
/// settles ambiguity; `None` means the file is neither family.
pub fn detect_format(head: &[u8], forced: Option<Family>) -> Option<Format> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(20);
    let mut saw_w3c_header = false;
    for line in lines.by_ref() {
        if line.starts_with(b"#") {
            if fields_header(line).is_some() || line.starts_with(b"#Version") {
                saw_w3c_header = true;
            }
            if fields_header(line).is_some() {
                break;
            }
            continue;
        }
        let format = if saw_w3c_header {
            Some(Format::CloudFrontW3c { headerless: false })
        } else if line.starts_with(b"{") {
            Some(Format::CloudFrontJson)
        } else if looks_like_alb(line) {
            Some(Format::Alb)
        } else if looks_like_cloudfront_row(line) {
            Some(Format::CloudFrontW3c { headerless: true })
        } else {
            None
        };
        return match (format, forced) {
            (Some(f), Some(want)) if f.family() != want => None,
            (None, Some(Family::Alb)) => Some(Format::Alb),
            (None, Some(Family::CloudFront)) => Some(Format::CloudFrontW3c { headerless: true }),
            (f, _) => f,
        };
    }
    if saw_w3c_header {
        return match forced {
            Some(Family::Alb) => None,
            _ => Some(Format::CloudFrontW3c { headerless: false }),
        };
    }
    // Nothing but comments or blank lines: an empty log of the forced family.
    match forced {
        Some(Family::Alb) => Some(Format::Alb),
        Some(Family::CloudFront) => Some(Format::CloudFrontW3c { headerless: false }),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_content() {
        assert_eq!(
            detect_format(b"#Version: 1.0\n#Fields: date time\n", None),
            Some(Format::CloudFrontW3c { headerless: false })
        );
        assert_eq!(
            detect_format(b"{\"date\":\"2024-11-14\"}\n", None),
            Some(Format::CloudFrontJson)
        );
        let alb = br#"h2 2018-07-02T22:23:00.186641Z app/x/y 1.2.3.4:1 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET https://a:443/ HTTP/2.0" "ua" - - arn "Root=1" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;
        assert_eq!(detect_format(alb, None), Some(Format::Alb));
        assert_eq!(detect_format(b"hello world\n", None), None);
        assert_eq!(
            detect_format(b"hello world\n", Some(Family::Alb)),
            Some(Format::Alb)
        );
        assert_eq!(detect_format(alb, Some(Family::CloudFront)), None);
        assert_eq!(detect_format(b"", None), None);
    }
}
