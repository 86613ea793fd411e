//! CloudFront standard logs: W3C text (legacy and v2, driven by each file's
//! `#Fields:` line), v2 JSON lines and v2 Parquet.
//!
//! Format facts: AWS "Standard log file fields" (CloudFront developer guide)
//! and "Standard logging (v2)"; see `../shared/reference/aws-log-facts.md`.

use super::{LineStats, ParseOptions, Reject, for_each_line};
use crate::table::cloudfront::{CF_FIELD_COUNT, CfCells, CfField, CfTable};

/// The column layout of a W3C file: which field each tab-separated cell is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub columns: Vec<Option<CfField>>,
    /// Names in the header that this version does not know.
    pub unknown: Vec<String>,
}

impl Layout {
    /// The 33 fields of the legacy format, used for files with no header.
    pub fn legacy() -> Layout {
        let columns = CfField::ALL[..33].iter().copied().map(Some).collect();
        Layout {
            columns,
            unknown: Vec::new(),
        }
    }

    /// Parses the text after `#Fields:` (names separated by spaces or tabs).
    pub fn from_header(names: &[u8]) -> Layout {
        let text = String::from_utf8_lossy(names);
        let mut unknown = Vec::new();
        let columns = text
            .split([' ', '\t'])
            .filter(|n| !n.is_empty())
            .map(|n| {
                let f = CfField::from_name(n);
                if f.is_none() {
                    unknown.push(n.to_string());
                }
                f
            })
            .collect();
        Layout { columns, unknown }
    }

    fn has_time(&self) -> bool {
        let has = |f| self.columns.contains(&Some(f));
        has(CfField::TimestampMs) || (has(CfField::Date) && has(CfField::Time))
    }
}

/// If `line` is `#Fields: …`, the text after the colon.
pub fn fields_header(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"#")?;
    let colon = memchr::memchr(b':', rest)?;
    rest[..colon]
        .eq_ignore_ascii_case(b"Fields")
        .then(|| &rest[colon + 1..])
}

/// Parses one chunk of a W3C file. `layout` is the layout in force at the
/// start of the chunk (updated by any `#Fields:` line inside it).
pub struct W3cChunk<'a> {
    pub data: &'a [u8],
    pub first_line: u64,
    pub source: u32,
    pub layout: Option<Layout>,
    /// True when the chunk ends where a corrupt stream stopped.
    pub ends_truncated: bool,
}

pub fn parse_w3c(chunk: W3cChunk<'_>, opts: &ParseOptions) -> (CfTable, LineStats) {
    let mut table = CfTable::default();
    let mut stats = LineStats::default();
    let mut layout = chunk.layout;
    let data = trim_truncated(chunk.data, chunk.ends_truncated);
    for_each_line(data.0, chunk.first_line, &mut stats, |no, line, stats| {
        if line[0] == b'#' {
            stats.headers += 1;
            if let Some(names) = fields_header(line) {
                layout = Some(Layout::from_header(names));
            }
            return;
        }
        let Some(layout) = layout.as_ref().filter(|l| l.has_time()) else {
            stats.reject(Reject::NoFieldsHeader, no, line);
            return;
        };
        parse_w3c_line(line, no, layout, chunk.source, &mut table, stats, opts);
    });
    if let Some(tail) = data.1 {
        stats.lines_read += 1;
        stats.reject(Reject::TruncatedLine, chunk.first_line + data.2, tail);
    }
    (table, stats)
}

/// Splits off the unterminated last line of a chunk that ends in corruption;
/// returns (complete part, torn line, its line number).
pub fn trim_truncated(data: &[u8], truncated: bool) -> (&[u8], Option<&[u8]>, u64) {
    if !truncated || data.is_empty() || data.ends_with(b"\n") {
        return (data, None, 0);
    }
    match memchr::memrchr(b'\n', data) {
        Some(nl) => {
            let full = &data[..=nl];
            let lines = memchr::memchr_iter(b'\n', full).count() as u64;
            (full, Some(&data[nl + 1..]), lines)
        }
        None => (&data[..0], Some(data), 0),
    }
}

/// The field delimiter of a W3C row: a tab, as in legacy logs and v2's
/// default, or, for a v2 delivery configured with another `fieldDelimiter`
/// (the row has no tab), the one of space, `,`, `|` or `;` that splits it
/// into exactly as many cells as the header names. Values are URL-encoded,
/// so none of these appear inside them.
fn delimiter_of(line: &[u8], columns: usize) -> u8 {
    if columns < 2 || memchr::memchr(b'\t', line).is_some() {
        return b'\t';
    }
    [b' ', b',', b'|', b';']
        .into_iter()
        .find(|&d| memchr::memchr_iter(d, line).count() + 1 == columns)
        .unwrap_or(b'\t')
}

fn parse_w3c_line(
    line: &[u8],
    no: u64,
    layout: &Layout,
    source: u32,
    table: &mut CfTable,
    stats: &mut LineStats,
    opts: &ParseOptions,
) {
    let mut cells: CfCells<'_> = [None; CF_FIELD_COUNT];
    let mut n = 0;
    let mut extra_nonempty = false;
    let mut start = 0;
    let delimiter = delimiter_of(line, layout.columns.len());
    let ends = memchr::memchr_iter(delimiter, line).chain(std::iter::once(line.len()));
    for end in ends {
        let cell = &line[start..end];
        start = end + 1;
        match layout.columns.get(n) {
            Some(Some(field)) => cells[*field as usize] = Some(cell),
            Some(None) => {}
            None => extra_nonempty |= !cell.is_empty(),
        }
        n += 1;
    }
    let expected = layout.columns.len();
    if n < expected {
        // A row cut short keeps its leading fields; the missing ones are null.
        if n < expected.min(15) {
            stats.reject(Reject::TooFewFields, no, line);
            return;
        }
        stats.short_lines += 1;
    } else if n > expected {
        if extra_nonempty {
            stats.extra_fields += 1;
        } else {
            stats.trailing_empty += 1;
        }
    }
    push_row(&cells, no, source, line, table, stats, opts);
}

fn push_row(
    cells: &CfCells<'_>,
    no: u64,
    source: u32,
    raw: &[u8],
    table: &mut CfTable,
    stats: &mut LineStats,
    opts: &ParseOptions,
) {
    match table.push(cells, source, no as u32, opts) {
        Ok(micros) => {
            stats.parsed += 1;
            stats.saw_time(micros);
            if std::str::from_utf8(raw).is_err() {
                stats.lossy_utf8 += 1;
            }
        }
        Err(reason) => stats.reject(reason, no, raw),
    }
}

/// Parses a chunk of v2 JSON lines (one object per line, W3C names as keys,
/// every value a string).
pub fn parse_json(
    data: &[u8],
    first_line: u64,
    source: u32,
    ends_truncated: bool,
    opts: &ParseOptions,
) -> (CfTable, LineStats) {
    let mut table = CfTable::default();
    let mut stats = LineStats::default();
    let (data, tail, tail_no) = trim_truncated(data, ends_truncated);
    for_each_line(data, first_line, &mut stats, |no, line, stats| {
        let Ok(object) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line)
        else {
            stats.reject(Reject::BadJson, no, line);
            return;
        };
        let mut cells: CfCells<'_> = [None; CF_FIELD_COUNT];
        let mut extra = false;
        for (key, value) in &object {
            let text = match value {
                serde_json::Value::String(s) => s.as_bytes(),
                serde_json::Value::Null => continue,
                _ => {
                    stats.reject(Reject::BadJson, no, line);
                    return;
                }
            };
            match CfField::from_name(key) {
                Some(f) => cells[f as usize] = Some(text),
                None => extra = true,
            }
        }
        if extra {
            stats.extra_fields += 1;
        }
        push_row(&cells, no, source, line, &mut table, stats, opts);
    });
    if let Some(tail) = tail {
        stats.lines_read += 1;
        stats.reject(Reject::TruncatedLine, first_line + tail_no, tail);
    }
    (table, stats)
}

/// Loads a v2 Parquet delivery (underscore column names, string values)
/// through polars. Row numbers stand in for line numbers.
pub fn parse_parquet(
    bytes: Vec<u8>,
    source: u32,
    opts: &ParseOptions,
) -> Result<(CfTable, LineStats), String> {
    use polars::prelude::*;
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let mut columns: Vec<(CfField, StringChunked)> = Vec::new();
    let mut unknown = false;
    for col in df.columns() {
        match CfField::from_name(col.name()) {
            Some(f) => {
                let s = col
                    .cast(&DataType::String)
                    .map_err(|e| format!("column `{}`: {e}", col.name()))?;
                let s = s.str().map_err(|e| e.to_string())?.clone();
                columns.push((f, s));
            }
            None => unknown = true,
        }
    }
    let mut table = CfTable::default();
    let mut stats = LineStats::default();
    let texts: Vec<Vec<Option<&str>>> = columns.iter().map(|(_, s)| s.iter().collect()).collect();
    // Rows index several columns at once.
    #[allow(clippy::needless_range_loop)]
    for row in 0..df.height() {
        let no = row as u64 + 1;
        stats.lines_read += 1;
        let mut cells: CfCells<'_> = [None; CF_FIELD_COUNT];
        for (i, (f, _)) in columns.iter().enumerate() {
            cells[*f as usize] = texts[i][row].map(str::as_bytes);
        }
        if unknown {
            stats.extra_fields += 1;
        }
        push_row(&cells, no, source, b"", &mut table, &mut stats, opts);
    }
    Ok((table, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_HEADER: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

    fn run(text: &str) -> (CfTable, LineStats) {
        parse_w3c(
            W3cChunk {
                data: text.as_bytes(),
                first_line: 1,
                source: 0,
                layout: None,
                ends_truncated: false,
            },
            &ParseOptions::default(),
        )
    }

    #[test]
    fn header_drives_a_subset_layout_without_version_line() {
        let text = "#Fields: date time x-edge-location asn timestamp(ms) x-host-header cs(Cookie)\n\
                    2024-11-14\t21:34:06\tSOF50-P2\t16509\t1731620046814\td111.cloudfront.net\tAWSALB=x;%20sid=abc\n";
        let (t, s) = run(text);
        assert_eq!((s.lines_read, s.parsed, s.headers), (2, 1, 1));
        assert_eq!(t.time_ms[0], 1731620046814);
        assert!(t.time_is_ms[0]);
        assert_eq!(t.asn.get(0), Some("16509"));
        assert_eq!(t.session_cookie.get(0), Some("sid"));
        assert_ne!(t.cookie_flags[0] & crate::parse::cookie::sticky::AWSALB, 0);
    }

    #[test]
    fn v2_rows_with_another_field_delimiter_parse() {
        let text = "#Fields: date time x-edge-location asn timestamp(ms) x-host-header cs(Cookie)\n\
                    2024-11-14 21:34:06 SOF50-P2 16509 1731620046814 d111.cloudfront.net AWSALB=x;%20sid=abc\n\
                    2024-11-14|21:34:07|SOF50-P2|16509|1731620047814|d111.cloudfront.net|-\n";
        let (t, s) = run(text);
        assert_eq!((s.parsed, s.rejected_total()), (2, 0));
        assert_eq!(t.host_header.get(1), Some("d111.cloudfront.net"));
        assert_eq!(t.session_cookie.get(0), Some("sid"));
    }

    #[test]
    fn rows_before_any_header_are_rejected_not_guessed() {
        let (t, s) = run("2019-12-04\t21:02:31\tLAX1\n");
        assert_eq!(t.len(), 0);
        assert_eq!(s.rejected.get(&Reject::NoFieldsHeader), Some(&1));
        assert!(s.balances());
    }

    #[test]
    fn aws_doc_example_parses_with_its_stray_tab() {
        let row = "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-";
        let text = format!("#Version: 1.0\n{DOC_HEADER}\n{row}\n{row}\t\n");
        let (t, s) = run(&text);
        assert_eq!((s.parsed, s.headers, s.trailing_empty), (2, 2, 1));
        assert_eq!(
            t.user_agent.get(0),
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
        );
        assert_eq!(t.status.get(0), Some(200));
        assert_eq!(t.time_taken_us.get(0), Some(1000));
        assert_eq!(t.cookie_flags[0], 0);
        assert_eq!(
            t.request_id.get(1),
            Some("SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==")
        );
        assert_eq!(t.range_start.get(0), None);
    }

    #[test]
    fn a_bad_number_rejects_the_line_and_names_the_field() {
        let text = format!(
            "{DOC_HEADER}\n2019-12-04\t21:02:31\tLAX1\tNaN\t1.2.3.4\tGET\th\t/\t200\t-\t-\t-\t-\tHit\tid\th\thttps\t23\t0.001\t-\t-\t-\tHit\tHTTP/2.0\t-\t-\t1\t0.001\tHit\t-\t-\t-\t-\n"
        );
        let (t, s) = run(&text);
        assert_eq!(t.len(), 0);
        assert_eq!(s.rejected.get(&Reject::BadValue("sc-bytes")), Some(&1));
        assert_eq!(s.samples[0].line, 2);
    }

    #[test]
    fn json_lines_parse_into_the_same_table() {
        let line = r#"{"date":"2024-11-14","time":"21:34:06","x-edge-location":"SOF50-P2","asn":"16509","timestamp(ms)":"1731620046814","origin-fbl":"0.251","origin-lbl":"0.251","x-host-header":"d111111abcdef8.cloudfront.net","cs(Cookie)":"examplecookie=value"}"#;
        let data = format!("{line}\nnot json\n");
        let (t, s) = parse_json(data.as_bytes(), 1, 0, false, &ParseOptions::default());
        assert_eq!((s.parsed, s.rejected_total()), (1, 1));
        assert_eq!(t.origin_fbl_us.get(0), Some(251_000));
        assert_eq!(t.edge.get(0), Some("SOF50-P2"));
    }

    #[test]
    fn torn_last_line_of_a_corrupt_stream_is_counted() {
        let text = format!("{DOC_HEADER}\n2019-12-04\t21:02");
        let (_, s) = parse_w3c(
            W3cChunk {
                data: text.as_bytes(),
                first_line: 1,
                source: 0,
                layout: None,
                ends_truncated: true,
            },
            &ParseOptions::default(),
        );
        assert_eq!(s.rejected.get(&Reject::TruncatedLine), Some(&1));
        assert_eq!(s.samples[0].line, 2);
        assert!(s.balances());
    }
}
