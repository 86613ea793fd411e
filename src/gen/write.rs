//! Lays the records out in files (the S3 key layouts of both services, or
//! one file per log) and writes them: chunks of lines are formatted and
//! gzip-compressed in parallel, then appended in order, one gzip member per
//! chunk.

use super::Layout;
use super::lines::{CF_HEADER, World};
use super::model::{ACCOUNT, ALB_NODES, CF_PREFIX, DISTRIBUTION_ID, ELB, REGION};
use super::plan::F_ORIGIN;
use super::rng::{Rng, derive};
use super::text::{US_PER_SEC, push_clock, push_date, random_string};
use anyhow::Context;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

const CHUNK_LINES: usize = 16_384;
const HOUR: i64 = 3600 * US_PER_SEC;
const FIVE_MINUTES: i64 = 300 * US_PER_SEC;

/// One output file: its path relative to the output directory and its
/// slice of `FileSet::order`.
#[derive(Clone, Debug)]
pub struct OutFile {
    pub rel: String,
    pub start: usize,
    pub end: usize,
}

/// Files of one log family, and the records in file order.
pub struct FileSet {
    pub files: Vec<OutFile>,
    /// CloudFront: request index. ALB: request index, or `reqs.len() + k`
    /// for bypass entry `k`.
    pub order: Vec<u32>,
}

impl FileSet {
    /// Cuts `keyed` (sorted by file key first) into files named by `name`.
    fn from_sorted(keyed: &[(u64, i64, u32)], mut name: impl FnMut(u64, usize) -> String) -> Self {
        let mut files = Vec::new();
        let mut start = 0;
        for i in 1..=keyed.len() {
            if i == keyed.len() || keyed[i].0 != keyed[start].0 {
                files.push(OutFile {
                    rel: name(keyed[start].0, files.len()),
                    start,
                    end: i,
                });
                start = i;
            }
        }
        FileSet {
            files,
            order: keyed.iter().map(|k| k.2).collect(),
        }
    }
}

fn suffix(seed: u64, stream: u64, n: u64, alphabet: &[u8]) -> String {
    random_string(&mut Rng::new(derive(seed, stream, n)), alphabet, 8)
}

fn gz(gzip: bool) -> &'static str {
    if gzip { ".gz" } else { "" }
}

/// CloudFront files: per UTC hour of the request, several files per busy
/// hour, records roughly but not strictly in time order.
pub fn cloudfront_files(w: &World, layout: Layout, gzip: bool) -> FileSet {
    let finish: Vec<i64> = w.reqs.par_iter().map(|r| w.times(r).finish).collect();
    let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    for &f in &finish {
        *per_hour.entry(f.div_euclid(HOUR)).or_default() += 1;
    }
    let splits: BTreeMap<i64, u64> = per_hour
        .iter()
        .map(|(&h, &n)| (h, if n > 1000 { 1 + n.div_ceil(100_000) } else { 1 }))
        .collect();
    let mut keyed: Vec<(u64, i64, u32)> = (0..w.reqs.len())
        .into_par_iter()
        .map(|i| {
            let key = w.reqs[i].key;
            let hour = finish[i].div_euclid(HOUR);
            let file = match layout {
                Layout::Aws => ((hour as u64) << 16) | (derive(key, 17, 0) % splits[&hour]),
                Layout::Single => 0,
            };
            // Edge servers flush their buffers out of order.
            let jitter = (derive(key, 18, 0) % (2 * US_PER_SEC as u64)) as i64;
            (file, finish[i] + jitter, i as u32)
        })
        .collect();
    keyed.par_sort_unstable();
    FileSet::from_sorted(&keyed, |file, n| match layout {
        Layout::Single => format!("cloudfront.log{}", gz(gzip)),
        Layout::Aws => {
            let mut stamp = Vec::new();
            let secs = (file >> 16) as i64 * 3600;
            push_date(&mut stamp, secs, b"-");
            stamp.push(b'-');
            push_clock(&mut stamp, secs, b"");
            let hour = String::from_utf8_lossy(&stamp[..13]).into_owned();
            let id = suffix(
                w.s.seed,
                19,
                n as u64,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            );
            format!(
                "cloudfront/{CF_PREFIX}/{DISTRIBUTION_ID}.{hour}.{id}{}",
                gz(gzip)
            )
        }
    })
}

/// ALB files: one per load balancer node per five-minute interval, lines in
/// `time` order.
pub fn alb_files(w: &World, layout: Layout, gzip: bool) -> FileSet {
    let n = w.reqs.len();
    let mut keyed: Vec<(u64, i64, u32)> = (0..n)
        .into_par_iter()
        .filter(|&i| w.reqs[i].has(F_ORIGIN))
        .map(|i| {
            let r = &w.reqs[i];
            let times = w.times(r);
            let node = w.conn(r.edge, r.key, times.created).node;
            (times.responded, node, i as u32)
        })
        .chain(w.bypass.par_iter().enumerate().map(|(k, b)| {
            (
                w.bypass_responded(b),
                (b.key % ALB_NODES.len() as u64) as u8,
                (n + k) as u32,
            )
        }))
        .map(|(time, node, src)| {
            let file = match layout {
                Layout::Aws => ((time.div_euclid(FIVE_MINUTES) as u64) << 8) | u64::from(node),
                Layout::Single => 0,
            };
            (file, time, src)
        })
        .collect();
    keyed.par_sort_unstable();
    FileSet::from_sorted(&keyed, |file, k| match layout {
        Layout::Single => format!("alb.log{}", gz(gzip)),
        Layout::Aws => {
            let end = ((file >> 8) as i64 + 1) * 300;
            let node = ALB_NODES[(file & 0xFF) as usize];
            let mut day = Vec::new();
            push_date(&mut day, end, b"/");
            let mut stamp = Vec::new();
            push_date(&mut stamp, end, b"");
            stamp.push(b'T');
            push_clock(&mut stamp, end, b"");
            let (day, stamp) = (
                String::from_utf8_lossy(&day),
                String::from_utf8_lossy(&stamp[..13]),
            );
            let id = suffix(
                w.s.seed,
                20,
                k as u64,
                b"abcdefghijklmnopqrstuvwxyz0123456789",
            );
            let lb = ELB.strip_prefix("app/").unwrap_or(ELB).replace('/', ".");
            format!(
                "alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/{day}/\
                 {ACCOUNT}_elasticloadbalancing_{REGION}_app.{lb}_{stamp}Z_{node}_{id}.log{}",
                gz(gzip)
            )
        }
    })
}

/// What writing one file set produced.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub lines: u64,
    pub raw_bytes: u64,
    pub file_bytes: u64,
}

struct Task {
    file: usize,
    lo: usize,
    hi: usize,
}

/// Writes every file of `set`; `header` starts each file, `line` appends
/// the record for one entry of `set.order`.
pub fn write_set<F>(
    out: &Path,
    set: &FileSet,
    header: &[u8],
    gzip: bool,
    line: F,
) -> anyhow::Result<Written>
where
    F: Fn(&mut Vec<u8>, u32) + Sync,
{
    let mut tasks = Vec::new();
    for (file, f) in set.files.iter().enumerate() {
        let mut lo = f.start;
        while lo < f.end {
            let hi = (lo + CHUNK_LINES).min(f.end);
            tasks.push(Task { file, lo, hi });
            lo = hi;
        }
    }
    let render = |t: &Task| -> std::io::Result<(u64, Vec<u8>)> {
        let mut buf = Vec::with_capacity((t.hi - t.lo) * 720 + header.len());
        if t.lo == set.files[t.file].start {
            buf.extend_from_slice(header);
        }
        for &entry in &set.order[t.lo..t.hi] {
            line(&mut buf, entry);
        }
        let raw = buf.len() as u64;
        if !gzip {
            return Ok((raw, buf));
        }
        let mut enc = GzEncoder::new(Vec::with_capacity(buf.len() / 6), Compression::fast());
        enc.write_all(&buf)?;
        Ok((raw, enc.finish()?))
    };
    let mut written = Written {
        lines: set.order.len() as u64,
        ..Written::default()
    };
    let mut current: Option<(usize, BufWriter<File>)> = None;
    let window = rayon::current_num_threads().max(1) * 3;
    for group in tasks.chunks(window) {
        let rendered: Vec<std::io::Result<(u64, Vec<u8>)>> = group.par_iter().map(render).collect();
        for (t, result) in group.iter().zip(rendered) {
            let (raw, data) = result.context("compressing log lines")?;
            if current.as_ref().map(|c| c.0) != Some(t.file) {
                if let Some((_, mut f)) = current.take() {
                    f.flush()?;
                }
                current = Some((t.file, create(&out.join(&set.files[t.file].rel))?));
            }
            let (_, f) = current.as_mut().expect("a file is open");
            f.write_all(&data)?;
            written.raw_bytes += raw;
            written.file_bytes += data.len() as u64;
        }
    }
    if let Some((_, mut f)) = current.take() {
        f.flush()?;
    }
    Ok(written)
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    let file = File::create(path).with_context(|| format!("creating `{}`", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Writes the CloudFront files.
pub fn write_cloudfront(
    out: &Path,
    w: &World,
    set: &FileSet,
    gzip: bool,
) -> anyhow::Result<Written> {
    write_set(out, set, CF_HEADER, gzip, |buf, i| {
        w.push_cf_line(buf, i as usize)
    })
}

/// Writes the ALB files.
pub fn write_alb(out: &Path, w: &World, set: &FileSet, gzip: bool) -> anyhow::Result<Written> {
    let n = w.reqs.len();
    write_set(out, set, b"", gzip, |buf, e| {
        let e = e as usize;
        if e < n {
            w.push_alb_line(buf, e)
        } else {
            w.push_bypass_line(buf, &w.bypass[e - n])
        }
    })
}
