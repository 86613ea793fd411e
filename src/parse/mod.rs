//! Line parsers for both log families and the accounting every run keeps:
//! for each file, lines read = parsed + rejected (by reason) + skipped
//! (headers, comments and blank lines).

pub mod alb;
pub mod cloudfront;
pub mod cookie;
pub mod text;

use std::collections::BTreeMap;
use std::fmt;

/// Which log family a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    #[serde(rename = "cloudfront")]
    CloudFront,
    Alb,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::CloudFront => "cloudfront",
            Family::Alb => "alb",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a line was not turned into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// Fewer fields than the format needs.
    TooFewFields,
    /// A field that must hold a value of a type did not.
    BadValue(&'static str),
    /// A quoted ALB field with no closing quote.
    UnterminatedQuote,
    /// The first ALB token is not a request type.
    NotAnAlbLine,
    /// A NUL byte: binary data, usually a torn or padded file.
    NulByte,
    /// Longer than the line limit; the rest up to the newline was skipped.
    LineTooLong,
    /// The last line of a truncated or corrupt gzip stream.
    TruncatedLine,
    /// A CloudFront data line before any `#Fields:` header, in a file whose
    /// layout could not be inferred.
    NoFieldsHeader,
    /// A CloudFront v2 JSON line that is not a JSON object of strings.
    BadJson,
    /// A valid record outside the run's `--since`/`--until` window. Counted
    /// as filtered, not as rejected.
    OutsideWindow,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::TooFewFields => f.write_str("too_few_fields"),
            Reject::BadValue(field) => write!(f, "bad_value:{field}"),
            Reject::UnterminatedQuote => f.write_str("unterminated_quote"),
            Reject::NotAnAlbLine => f.write_str("not_an_alb_line"),
            Reject::NulByte => f.write_str("nul_byte"),
            Reject::LineTooLong => f.write_str("line_too_long"),
            Reject::TruncatedLine => f.write_str("truncated_line"),
            Reject::NoFieldsHeader => f.write_str("no_fields_header"),
            Reject::BadJson => f.write_str("bad_json"),
            Reject::OutsideWindow => f.write_str("outside_window"),
        }
    }
}

/// One rejected line kept as an example for the report.
#[derive(Debug, Clone)]
pub struct RejectSample {
    pub reason: Reject,
    pub line: u64,
    /// The start of the line, lossily decoded; sanitised before display.
    pub excerpt: String,
}

/// How many examples of each reject reason a file keeps.
pub const SAMPLES_PER_REASON: usize = 3;

/// Line accounting of one file (or one chunk of it, before merging).
#[derive(Debug, Clone, Default)]
pub struct LineStats {
    pub lines_read: u64,
    pub parsed: u64,
    /// `#Version`, `#Fields` and other `#` lines.
    pub headers: u64,
    /// Empty lines (after removing a `\r`); counted with the skipped lines.
    pub blank: u64,
    pub rejected: BTreeMap<Reject, u64>,
    /// Valid records outside the run's time window.
    pub filtered: u64,
    pub samples: Vec<RejectSample>,
    /// Lines with more fields than their layout names (kept, not rejected).
    pub extra_fields: u64,
    /// Lines whose extra cells were all empty (a stray trailing tab).
    pub trailing_empty: u64,
    /// CloudFront lines with fewer cells than the header (missing ones null).
    pub short_lines: u64,
    /// Lines where a field had bytes that are not UTF-8 (stored lossily).
    pub lossy_utf8: u64,
    /// Lines that ended in `\r\n`.
    pub crlf: u64,
    /// Earliest and latest record time, microseconds since the epoch.
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
}

impl LineStats {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn skipped(&self) -> u64 {
        self.headers + self.blank
    }

    /// The invariant every run must keep.
    pub fn balances(&self) -> bool {
        self.lines_read == self.parsed + self.filtered + self.rejected_total() + self.skipped()
    }

    pub fn reject(&mut self, reason: Reject, line: u64, raw: &[u8]) {
        if reason == Reject::OutsideWindow {
            self.filtered += 1;
            return;
        }
        let count = self.rejected.entry(reason).or_insert(0);
        *count += 1;
        if *count as usize <= SAMPLES_PER_REASON {
            let cut = raw.len().min(160);
            self.samples.push(RejectSample {
                reason,
                line,
                excerpt: String::from_utf8_lossy(&raw[..cut]).into_owned(),
            });
        }
    }

    pub fn saw_time(&mut self, micros: i64) {
        self.min_time = Some(self.min_time.map_or(micros, |t| t.min(micros)));
        self.max_time = Some(self.max_time.map_or(micros, |t| t.max(micros)));
    }

    /// Adds a later chunk's counts; samples stay capped per reason.
    pub fn merge(&mut self, other: LineStats) {
        self.lines_read += other.lines_read;
        self.parsed += other.parsed;
        self.headers += other.headers;
        self.blank += other.blank;
        self.filtered += other.filtered;
        for (reason, n) in other.rejected {
            *self.rejected.entry(reason).or_insert(0) += n;
        }
        for sample in other.samples {
            let have = self
                .samples
                .iter()
                .filter(|s| s.reason == sample.reason)
                .count();
            if have < SAMPLES_PER_REASON {
                self.samples.push(sample);
            }
        }
        self.extra_fields += other.extra_fields;
        self.trailing_empty += other.trailing_empty;
        self.short_lines += other.short_lines;
        self.lossy_utf8 += other.lossy_utf8;
        self.crlf += other.crlf;
        for t in [other.min_time, other.max_time].into_iter().flatten() {
            self.saw_time(t);
        }
    }
}

/// Settings that change what parsing keeps.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Cookie names that identify an application session.
    pub session_cookies: Vec<String>,
    /// Key of the hash that replaces session cookie values.
    pub hash_key: [u64; 2],
    /// Keep session cookie values in clear (explicit opt-in).
    pub reveal_cookies: bool,
    /// Lines longer than this are rejected (`line_too_long`).
    pub max_line_bytes: usize,
    /// Records outside this window are counted as filtered, not kept.
    pub window: crate::source::window::Window,
}

/// Session cookie names recognised when none are configured.
pub const DEFAULT_SESSION_COOKIES: &[&str] = &[
    "JSESSIONID",
    "PHPSESSID",
    "sid",
    "session",
    "session_id",
    "sessionid",
    "connect.sid",
    "ASP.NET_SessionId",
    "_session_id",
    "laravel_session",
    "ci_session",
];

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            session_cookies: DEFAULT_SESSION_COOKIES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            hash_key: [0x0005_eed0_f571_cc1a_u64, 0x000a_0d17_5e55_104e_u64],
            reveal_cookies: false,
            max_line_bytes: 1 << 20,
            window: Default::default(),
        }
    }
}

/// Splits one chunk of text into lines and hands each to `on_line` with its
/// 1-based number, after the shared checks (CRLF, blank, NUL, `#`-lines are
/// left to the caller). Returns nothing; the callback does the accounting.
pub fn for_each_line(
    data: &[u8],
    first_line: u64,
    stats: &mut LineStats,
    mut on_line: impl FnMut(u64, &[u8], &mut LineStats),
) {
    let mut line_no = first_line;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let mut line = &data[start..end];
        start = end + 1;
        stats.lines_read += 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
            stats.crlf += 1;
        }
        if line.is_empty() {
            stats.blank += 1;
        } else if memchr::memchr(0, line).is_some() {
            stats.reject(Reject::NulByte, line_no, line);
        } else {
            on_line(line_no, line, stats);
        }
        line_no += 1;
    }
}
