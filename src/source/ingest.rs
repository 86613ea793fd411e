//! Reads every input in parallel and parses it into the two tables.
//!
//! Files run in parallel; inside a file one reader decompresses and cuts
//! the text into chunks at line boundaries while the pool parses chunks as
//! they come, so a single large file still uses every core. Chunks are
//! merged back in order, so record order and line numbers are those of the
//! files whatever the thread timing.

use super::{Encoding, Format, Input, detect_format, sniff_encoding};
use crate::parse::cloudfront::{Layout, W3cChunk, fields_header};
use crate::parse::{Family, LineStats, ParseOptions, Reject, alb, cloudfront};
use crate::table::alb::AlbTable;
use crate::table::cloudfront::CfTable;
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Tuning of the reader.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub parse: ParseOptions,
    /// Target size of the text chunks handed to the parser threads.
    pub chunk_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            parse: ParseOptions::default(),
            chunk_bytes: 4 << 20,
        }
    }
}

/// Why a file was not (fully) read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// Zero bytes of text (possibly after decompression).
    Empty,
    /// Neither a CloudFront nor an ALB log; skipped.
    Unrecognised,
    /// The compressed stream is damaged; everything before it was kept.
    Corrupt {
        detail: String,
        /// Compressed bytes consumed when the error surfaced (approximate:
        /// the reader buffers ahead).
        raw_offset: u64,
        /// Decompressed bytes delivered before the error (exact).
        text_offset: u64,
    },
    /// The file could not be opened or read.
    Unreadable(String),
}

impl FileProblem {
    /// True when lines may be missing from the run because of this file.
    pub fn is_incomplete(&self) -> bool {
        !matches!(self, FileProblem::Empty)
    }
}

/// What the run learnt about one input file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    pub family: Option<Family>,
    pub encoding: Encoding,
    pub raw_bytes: u64,
    pub text_bytes: u64,
    pub stats: LineStats,
    /// CloudFront field names this version does not know (kept as extras).
    pub unknown_fields: Vec<String>,
    pub problem: Option<FileProblem>,
}

/// The result of parsing a whole input set.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Input names; `source` columns index into this.
    pub sources: Vec<String>,
    pub files: Vec<FileReport>,
    pub cloudfront: CfTable,
    pub alb: AlbTable,
}

impl Parsed {
    /// Totals per family.
    pub fn totals(&self, family: Family) -> LineStats {
        let mut total = LineStats::default();
        for f in self.files.iter().filter(|f| f.family == Some(family)) {
            total.merge(f.stats.clone());
        }
        total
    }

    /// True when some input could not be read in full.
    pub fn incomplete(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.problem.as_ref().is_some_and(FileProblem::is_incomplete))
    }
}

// One value per file, moved once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum FileTable {
    Cf(CfTable),
    Alb(AlbTable),
    Nothing,
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
    progress: ProgressBar,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Parses every input. Problems with single files are recorded in their
/// reports; this never fails as a whole.
pub fn ingest(inputs: &[Input], opts: &IngestOptions, progress: &ProgressBar) -> Parsed {
    use rayon::prelude::*;
    let done = AtomicUsize::new(0);
    let total = inputs.len();
    progress.set_message(format!("0/{total} files"));
    let results: Vec<(FileReport, FileTable)> = inputs
        .par_iter()
        .enumerate()
        .map(|(i, input)| {
            let out = ingest_file(i as u32, input, opts, progress);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.set_message(format!("{n}/{total} files"));
            out
        })
        .collect();
    let mut parsed = Parsed {
        sources: inputs.iter().map(|i| i.name.clone()).collect(),
        ..Parsed::default()
    };
    for (report, table) in results {
        match table {
            FileTable::Cf(t) => parsed.cloudfront.append(t),
            FileTable::Alb(t) => parsed.alb.append(t),
            FileTable::Nothing => {}
        }
        parsed.files.push(report);
    }
    parsed.cloudfront.shrink_to_fit();
    parsed.alb.shrink_to_fit();
    parsed
}

fn ingest_file(
    index: u32,
    input: &Input,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> (FileReport, FileTable) {
    let mut report = FileReport {
        name: input.name.clone(),
        family: None,
        encoding: Encoding::Plain,
        raw_bytes: 0,
        text_bytes: 0,
        stats: LineStats::default(),
        unknown_fields: Vec::new(),
        problem: None,
    };
    let raw = match input.opener.open() {
        Ok(r) => r,
        Err(e) => {
            report.problem = Some(FileProblem::Unreadable(e.to_string()));
            return (report, FileTable::Nothing);
        }
    };
    let count = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: raw,
        count: count.clone(),
        progress: progress.clone(),
    };
    let mut buffered = BufReader::with_capacity(256 << 10, counting);
    let head = match buffered.fill_buf() {
        Ok(h) => h,
        Err(e) => {
            report.problem = Some(FileProblem::Unreadable(e.to_string()));
            return (report, FileTable::Nothing);
        }
    };
    report.encoding = sniff_encoding(head);
    let table = match report.encoding {
        Encoding::Parquet => read_parquet(index, buffered, &mut report, opts),
        Encoding::Gzip => {
            let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
            read_text(index, input, decoder, &count, &mut report, opts)
        }
        Encoding::Plain => read_text(index, input, buffered, &count, &mut report, opts),
    };
    report.raw_bytes = count.load(Ordering::Relaxed);
    (report, table)
}

fn read_parquet(
    index: u32,
    mut reader: impl Read,
    report: &mut FileReport,
    opts: &IngestOptions,
) -> FileTable {
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        report.problem = Some(FileProblem::Unreadable(e.to_string()));
        return FileTable::Nothing;
    }
    match cloudfront::parse_parquet(bytes, index, &opts.parse) {
        Ok((table, stats)) => {
            report.family = Some(Family::CloudFront);
            report.stats = stats;
            FileTable::Cf(table)
        }
        Err(detail) => {
            report.problem = Some(FileProblem::Corrupt {
                detail,
                raw_offset: 0,
                text_offset: 0,
            });
            FileTable::Nothing
        }
    }
}

/// A piece of text cut at a line boundary, ready for a parser thread.
struct Chunk {
    data: Vec<u8>,
    first_line: u64,
    layout: Option<Layout>,
    ends_truncated: bool,
}

/// Cuts a text stream into chunks and keeps track of line numbers, over-long
/// lines and the W3C layout in force.
struct Chunker<'p, R> {
    reader: R,
    /// Buffers of parsed chunks, handed back for reuse: fresh 4 MiB
    /// buffers cost a page fault and a page clear per 4 KiB.
    spare: &'p Mutex<Vec<Vec<u8>>>,
    buf: Vec<u8>,
    next_line: u64,
    text_bytes: u64,
    eof: bool,
    error: Option<io::Error>,
    chunk_bytes: usize,
    max_line: usize,
    /// Accounting of lines the chunker itself rejects (over-long ones).
    stats: LineStats,
}

impl<R: Read> Chunker<'_, R> {
    fn fill_to(&mut self, target: usize) {
        while self.buf.len() < target && !self.eof {
            let len = self.buf.len();
            self.buf.resize(target, 0);
            match self.reader.read(&mut self.buf[len..]) {
                Ok(0) => {
                    self.buf.truncate(len);
                    self.eof = true;
                }
                Ok(n) => {
                    self.buf.truncate(len + n);
                    self.text_bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.buf.truncate(len),
                Err(e) => {
                    self.buf.truncate(len);
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
    }

    /// Skips the rest of an over-long line, counting it once as rejected.
    fn skip_long_line(&mut self) {
        let excerpt: Vec<u8> = self.buf[..self.buf.len().min(160)].to_vec();
        self.stats.lines_read += 1;
        self.stats
            .reject(Reject::LineTooLong, self.next_line, &excerpt);
        self.next_line += 1;
        loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.buf) {
                self.buf.drain(..=nl);
                return;
            }
            self.buf.clear();
            if self.eof {
                return;
            }
            self.fill_to(self.chunk_bytes);
        }
    }

    fn next_chunk(&mut self) -> Option<Chunk> {
        let mut target = self.chunk_bytes;
        loop {
            self.fill_to(target);
            if self.eof {
                if self.buf.is_empty() {
                    return None;
                }
                let data = std::mem::take(&mut self.buf);
                return Some(self.cut(data));
            }
            match memchr::memrchr(b'\n', &self.buf) {
                Some(nl) => {
                    let mut rest = self.spare_buffer();
                    rest.extend_from_slice(&self.buf[nl + 1..]);
                    self.buf.truncate(nl + 1);
                    let data = std::mem::replace(&mut self.buf, rest);
                    return Some(self.cut(data));
                }
                None if self.buf.len() > self.max_line => self.skip_long_line(),
                None => target = (self.buf.len() * 2).min(self.max_line + 1),
            }
        }
    }

    fn spare_buffer(&mut self) -> Vec<u8> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| Vec::with_capacity(self.chunk_bytes))
    }

    fn cut(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        let mut lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        if !data.ends_with(b"\n") {
            lines += 1;
        }
        self.next_line += lines;
        let ends_truncated = self.eof && self.error.is_some();
        Chunk {
            data,
            first_line,
            layout: None,
            ends_truncated,
        }
    }
}

/// The last `#Fields:` header inside `data`, if any.
fn last_fields_header(data: &[u8]) -> Option<Layout> {
    let mut found = None;
    if data.starts_with(b"#") {
        let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
        found = fields_header(&data[..end]).map(Layout::from_header);
    }
    for at in memchr::memmem::find_iter(data, b"\n#") {
        let line = &data[at + 1..];
        let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
        let line = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
        if let Some(names) = fields_header(line) {
            found = Some(Layout::from_header(names));
        }
    }
    found
}

// One value per chunk, moved once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum ChunkOut {
    Cf(CfTable, LineStats),
    Alb(AlbTable, LineStats),
}

fn read_text(
    index: u32,
    input: &Input,
    reader: impl Read + Send,
    raw_count: &AtomicU64,
    report: &mut FileReport,
    opts: &IngestOptions,
) -> FileTable {
    let spare = Mutex::new(Vec::new());
    let mut chunker = Chunker {
        reader,
        spare: &spare,
        buf: Vec::new(),
        next_line: 1,
        text_bytes: 0,
        eof: false,
        error: None,
        chunk_bytes: opts.chunk_bytes.max(4096),
        max_line: opts.parse.max_line_bytes,
        stats: LineStats::default(),
    };
    let first = chunker.next_chunk();
    let format = match &first {
        None => {
            report.problem = Some(match chunker.error.take() {
                Some(e) => corrupt(e, raw_count, 0),
                None => FileProblem::Empty,
            });
            if input.forced.is_some() {
                report.family = input.forced;
            }
            return FileTable::Nothing;
        }
        Some(chunk) => detect_format(&chunk.data[..chunk.data.len().min(64 << 10)], input.forced),
    };
    let Some(format) = format else {
        report.problem = Some(FileProblem::Unrecognised);
        return FileTable::Nothing;
    };
    report.family = Some(format.family());
    let mut layout = match format {
        Format::CloudFrontW3c { headerless: true } => Some(Layout::legacy()),
        _ => None,
    };

    let merged = Mutex::new(InOrder::default());
    let in_flight = AtomicUsize::new(0);
    let limit = rayon::current_num_threads() * 2 + 1;
    let parse = &opts.parse;
    rayon::scope(|scope| {
        let mut next = first;
        let mut i = 0;
        while let Some(mut chunk) = next {
            if matches!(format, Format::CloudFrontW3c { .. }) {
                chunk.layout = layout.clone();
                if let Some(l) = last_fields_header(&chunk.data) {
                    for name in &l.unknown {
                        if !report.unknown_fields.contains(name) {
                            report.unknown_fields.push(name.clone());
                        }
                    }
                    layout = Some(l);
                }
            }
            while in_flight.load(Ordering::Acquire) >= limit {
                if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }
            in_flight.fetch_add(1, Ordering::AcqRel);
            let (merged, in_flight, spare) = (&merged, &in_flight, &spare);
            scope.spawn(move |_| {
                let out = parse_chunk(format, &chunk, index, parse);
                let mut data = chunk.data;
                data.clear();
                spare.lock().unwrap_or_else(|e| e.into_inner()).push(data);
                let done = merged.lock().unwrap_or_else(|e| e.into_inner()).add(i, out);
                in_flight.fetch_sub(done, Ordering::AcqRel);
            });
            i += 1;
            next = chunker.next_chunk();
        }
    });

    let merged = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    report.text_bytes = chunker.text_bytes;
    if let Some(e) = chunker.error.take() {
        report.problem = Some(corrupt(e, raw_count, chunker.text_bytes));
    }
    let mut stats = std::mem::take(&mut chunker.stats);
    let table = match merged.done {
        Some(ChunkOut::Cf(t, s)) => {
            stats.merge(s);
            FileTable::Cf(t)
        }
        Some(ChunkOut::Alb(t, s)) => {
            stats.merge(s);
            FileTable::Alb(t)
        }
        None => match format.family() {
            Family::CloudFront => FileTable::Cf(CfTable::default()),
            Family::Alb => FileTable::Alb(AlbTable::default()),
        },
    };
    stats.samples.sort_by_key(|s| (s.reason, s.line));
    report.stats = stats;
    table
}

/// Chunk results merged in chunk order as they arrive, so each chunk's
/// table is freed as soon as its predecessors are in: memory holds one
/// file table plus the few chunks in flight, never every chunk at once.
/// A chunk counts as in flight until it is merged, which bounds the
/// waiting ones too (rayon runs a thread's own tasks newest first).
#[derive(Default)]
struct InOrder {
    next: usize,
    waiting: BTreeMap<usize, ChunkOut>,
    done: Option<ChunkOut>,
}

impl InOrder {
    /// Takes chunk `i`'s result; returns how many chunks got merged.
    fn add(&mut self, i: usize, out: ChunkOut) -> usize {
        self.waiting.insert(i, out);
        let before = self.next;
        while let Some(out) = self.waiting.remove(&self.next) {
            merge_out(&mut self.done, out);
            self.next += 1;
        }
        self.next - before
    }
}

fn corrupt(e: io::Error, raw_count: &AtomicU64, text_offset: u64) -> FileProblem {
    FileProblem::Corrupt {
        detail: e.to_string(),
        raw_offset: raw_count.load(Ordering::Relaxed),
        text_offset,
    }
}

/// Parses a chunk, rejecting lines longer than `max_line_bytes` inside it
/// (the chunker only sees lines longer than a whole chunk): the parts between
/// such lines are parsed as pieces of their own, with their line numbers and
/// the `#Fields:` layout in force.
fn parse_chunk(format: Format, chunk: &Chunk, source: u32, opts: &ParseOptions) -> ChunkOut {
    let max = opts.max_line_bytes;
    let data = &chunk.data;
    if data.len() <= max {
        return parse_piece(format, chunk, source, opts);
    }
    let mut out: Option<ChunkOut> = None;
    let mut layout = chunk.layout.clone();
    let (mut piece_start, mut piece_line) = (0, chunk.first_line);
    let (mut pos, mut no) = (0, chunk.first_line);
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        if end - pos > max {
            if pos > piece_start {
                let piece = Chunk {
                    data: data[piece_start..pos].to_vec(),
                    first_line: piece_line,
                    layout: layout.clone(),
                    ends_truncated: false,
                };
                if let Some(l) = last_fields_header(&piece.data) {
                    layout = Some(l);
                }
                merge_out(&mut out, parse_piece(format, &piece, source, opts));
            }
            let mut stats = LineStats {
                lines_read: 1,
                ..LineStats::default()
            };
            stats.reject(Reject::LineTooLong, no, &data[pos..end.min(pos + 160)]);
            merge_out(&mut out, empty_out(format, stats));
            (piece_start, piece_line) = (end + 1, no + 1);
        }
        (pos, no) = (end + 1, no + 1);
    }
    if piece_start < data.len() {
        let piece = Chunk {
            data: data[piece_start..].to_vec(),
            first_line: piece_line,
            layout,
            ends_truncated: chunk.ends_truncated,
        };
        merge_out(&mut out, parse_piece(format, &piece, source, opts));
    }
    out.unwrap_or_else(|| empty_out(format, LineStats::default()))
}

fn empty_out(format: Format, stats: LineStats) -> ChunkOut {
    match format.family() {
        Family::CloudFront => ChunkOut::Cf(CfTable::default(), stats),
        Family::Alb => ChunkOut::Alb(AlbTable::default(), stats),
    }
}

fn merge_out(into: &mut Option<ChunkOut>, next: ChunkOut) {
    match (into.as_mut(), next) {
        (Some(ChunkOut::Cf(t, s)), ChunkOut::Cf(t2, s2)) => {
            t.append(t2);
            s.merge(s2);
        }
        (Some(ChunkOut::Alb(t, s)), ChunkOut::Alb(t2, s2)) => {
            t.append(t2);
            s.merge(s2);
        }
        (_, next) => *into = Some(next),
    }
}

fn parse_piece(format: Format, chunk: &Chunk, source: u32, opts: &ParseOptions) -> ChunkOut {
    match format {
        Format::CloudFrontW3c { .. } => {
            let (t, s) = cloudfront::parse_w3c(
                W3cChunk {
                    data: &chunk.data,
                    first_line: chunk.first_line,
                    source,
                    layout: chunk.layout.clone(),
                    ends_truncated: chunk.ends_truncated,
                },
                opts,
            );
            ChunkOut::Cf(t, s)
        }
        Format::CloudFrontJson => {
            let (t, s) = cloudfront::parse_json(
                &chunk.data,
                chunk.first_line,
                source,
                chunk.ends_truncated,
                opts,
            );
            ChunkOut::Cf(t, s)
        }
        Format::Alb => {
            let (t, s) = alb::parse_chunk(
                &chunk.data,
                chunk.first_line,
                source,
                chunk.ends_truncated,
                &opts.window,
            );
            ChunkOut::Alb(t, s)
        }
    }
}
