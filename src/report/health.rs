//! The parse-health report: per family and per file, how every line was
//! accounted for, what time range the data covers, and what looked new.

use super::{spreadsheet_safe, terminal_safe};
use crate::parse::{Family, LineStats};
use crate::source::ingest::{FileProblem, FileReport, Parsed};
use crate::table::column::StrColumn;
use std::fmt::Write as _;
use std::path::Path;

/// `x-edge-result-type` / `x-edge-response-result-type` values AWS documents
/// (`OriginShieldHit` appears here in older docs and is accepted).
pub const RESULT_TYPES: &[&str] = &[
    "Hit",
    "RefreshHit",
    "Miss",
    "LimitExceeded",
    "CapacityExceeded",
    "Error",
    "Redirect",
    "LambdaExecutionError",
    "OriginShieldHit",
];

/// Extra `x-edge-detailed-result-type` values beyond [`RESULT_TYPES`].
pub const DETAILED_EXTRA: &[&str] = &[
    "MissGeneratedResponse",
    "FunctionGeneratedResponse",
    "AbortedOrigin",
    "ClientCommError",
    "ClientGeoBlocked",
    "ClientHungUpRequest",
    "InvalidRequest",
    "InvalidRequestBlocked",
    "InvalidRequestCertificate",
    "InvalidRequestHeader",
    "InvalidRequestMethod",
    "OriginCommError",
    "OriginConnectError",
    "OriginContentRangeLengthError",
    "OriginDnsError",
    "OriginError",
    "OriginHeaderTooBigError",
    "OriginInvalidResponseError",
    "OriginReadError",
    "OriginWriteError",
    "OriginZeroSizeObjectError",
    "SlowReaderOriginError",
];

/// Values of a column outside a known set, with their row counts.
pub fn unknown_values(col: &StrColumn, known: &dyn Fn(&str) -> bool) -> Vec<(String, u64)> {
    let unknown: Vec<bool> = std::iter::once(false)
        .chain(col.dict.iter().map(|(_, s)| !known(s)))
        .collect();
    if !unknown.iter().any(|&u| u) {
        return Vec::new();
    }
    let mut counts = vec![0u64; unknown.len()];
    for &id in &col.ids {
        counts[id as usize] += 1;
    }
    col.dict
        .iter()
        .filter(|(id, _)| unknown[*id as usize])
        .map(|(id, s)| (s.to_string(), counts[id as usize]))
        .collect()
}

/// Unknown result-type values of the CloudFront table, per column.
pub fn unknown_result_types(parsed: &Parsed) -> Vec<(&'static str, String, u64)> {
    let t = &parsed.cloudfront;
    let basic = |s: &str| RESULT_TYPES.contains(&s);
    let detailed = |s: &str| RESULT_TYPES.contains(&s) || DETAILED_EXTRA.contains(&s);
    let mut out = Vec::new();
    for (name, col, known) in [
        (
            "x-edge-result-type",
            &t.result_type,
            &basic as &dyn Fn(&str) -> bool,
        ),
        (
            "x-edge-response-result-type",
            &t.response_result_type,
            &basic,
        ),
        (
            "x-edge-detailed-result-type",
            &t.detailed_result_type,
            &detailed,
        ),
    ] {
        for (value, n) in unknown_values(col, known) {
            out.push((name, value, n));
        }
    }
    out
}

fn time_range(stats: &LineStats) -> String {
    match (stats.min_time, stats.max_time) {
        (Some(a), Some(b)) => format!("{} .. {}", iso(a), iso(b)),
        _ => "-".into(),
    }
}

fn iso(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn describe_problem(p: &FileProblem) -> String {
    match p {
        FileProblem::Empty => "empty file".into(),
        FileProblem::Unrecognised => {
            "neither a CloudFront nor an ALB log; skipped (hint: force with --cloudfront/--alb)"
                .into()
        }
        FileProblem::Corrupt {
            detail,
            raw_offset,
            text_offset,
        } => format!(
            "corrupt input near compressed byte {raw_offset} (after {text_offset} decoded bytes): {detail}; lines before it were kept"
        ),
        FileProblem::Unreadable(e) => format!("cannot read: {e}"),
    }
}

/// The terminal summary of a parse.
pub fn summary_text(parsed: &Parsed) -> String {
    let mut out = String::new();
    for family in [Family::CloudFront, Family::Alb] {
        let files: Vec<&FileReport> = parsed
            .files
            .iter()
            .filter(|f| f.family == Some(family))
            .collect();
        if files.is_empty() {
            let _ = writeln!(out, "{family}: no files");
            continue;
        }
        let t = parsed.totals(family);
        let _ = writeln!(
            out,
            "{family}: {} files, {} lines read = {} parsed + {} rejected + {} skipped (headers/blank){}",
            files.len(),
            t.lines_read,
            t.parsed,
            t.rejected_total(),
            t.skipped(),
            if t.filtered > 0 {
                format!(" + {} outside the time window", t.filtered)
            } else {
                String::new()
            }
        );
        let _ = writeln!(out, "  time range: {}", time_range(&t));
        for (reason, n) in &t.rejected {
            let _ = writeln!(out, "  rejected {reason}: {n}");
            for f in &files {
                for s in f.stats.samples.iter().filter(|s| s.reason == *reason) {
                    let _ = writeln!(
                        out,
                        "    {}:{}: {}",
                        terminal_safe(&f.name),
                        s.line,
                        terminal_safe(&s.excerpt)
                    );
                }
            }
        }
        let notes = [
            (
                t.extra_fields,
                "lines with extra fields (kept; a newer format?)",
            ),
            (t.trailing_empty, "lines with empty trailing cells (kept)"),
            (
                t.short_lines,
                "lines with fewer fields than their layout (kept; missing fields null)",
            ),
            (
                t.lossy_utf8,
                "lines with bytes that are not UTF-8 (kept with U+FFFD)",
            ),
            (t.crlf, "lines ending in CRLF"),
        ];
        for (n, what) in notes {
            if n > 0 {
                let _ = writeln!(out, "  {n} {what}");
            }
        }
        if family == Family::CloudFront {
            let mut unknown: Vec<&String> = files.iter().flat_map(|f| &f.unknown_fields).collect();
            unknown.sort();
            unknown.dedup();
            if !unknown.is_empty() {
                let names: Vec<String> = unknown
                    .iter()
                    .map(|s| terminal_safe(s).into_owned())
                    .collect();
                let _ = writeln!(
                    out,
                    "  unknown #Fields names (kept as extra): {}",
                    names.join(", ")
                );
            }
            for (col, value, n) in unknown_result_types(parsed) {
                let _ = writeln!(
                    out,
                    "  unknown {col} `{}`: {n} rows (kept)",
                    terminal_safe(&value)
                );
            }
            let cf = &parsed.cloudfront;
            if !cf.is_empty() && cf.cookie_flags.iter().all(|&f| f == 0) {
                let _ = writeln!(
                    out,
                    "  note: every cs(Cookie) is `-`: cookie logging looks off, so cookie-based checks are limited (hint: enable IncludeCookies on the distribution's logging)"
                );
            }
        }
    }
    for f in &parsed.files {
        if let Some(p) = &f.problem {
            let _ = writeln!(
                out,
                "{}: {}",
                terminal_safe(&f.name),
                terminal_safe(&describe_problem(p))
            );
        }
    }
    out
}

/// Writes `parse_health.csv`: one row per file and one total per family.
pub fn write_csv(parsed: &Parsed, path: &Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "source",
        "family",
        "encoding",
        "raw_bytes",
        "text_bytes",
        "lines_read",
        "parsed",
        "rejected",
        "skipped",
        "outside_window",
        "rejected_by_reason",
        "extra_field_lines",
        "trailing_empty_lines",
        "short_lines",
        "lossy_utf8_lines",
        "first_time",
        "last_time",
        "problem",
    ])?;
    let row = |w: &mut csv::Writer<std::fs::File>,
               name: &str,
               family: &str,
               encoding: &str,
               raw: u64,
               text: u64,
               s: &LineStats,
               problem: &str|
     -> anyhow::Result<()> {
        let reasons: Vec<String> = s.rejected.iter().map(|(r, n)| format!("{r}={n}")).collect();
        let time = |t: Option<i64>| t.map(iso).unwrap_or_default();
        w.write_record([
            spreadsheet_safe(name).as_ref(),
            family,
            encoding,
            &raw.to_string(),
            &text.to_string(),
            &s.lines_read.to_string(),
            &s.parsed.to_string(),
            &s.rejected_total().to_string(),
            &s.skipped().to_string(),
            &s.filtered.to_string(),
            &reasons.join(";"),
            &s.extra_fields.to_string(),
            &s.trailing_empty.to_string(),
            &s.short_lines.to_string(),
            &s.lossy_utf8.to_string(),
            &time(s.min_time),
            &time(s.max_time),
            spreadsheet_safe(problem).as_ref(),
        ])?;
        Ok(())
    };
    for f in &parsed.files {
        let family = f.family.map_or("unknown", Family::name);
        let encoding = format!("{:?}", f.encoding).to_lowercase();
        let problem = f.problem.as_ref().map(describe_problem).unwrap_or_default();
        row(
            &mut w,
            &f.name,
            family,
            &encoding,
            f.raw_bytes,
            f.text_bytes,
            &f.stats,
            &problem,
        )?;
    }
    for family in [Family::CloudFront, Family::Alb] {
        let files = parsed.files.iter().filter(|f| f.family == Some(family));
        let (raw, text) = files.fold((0, 0), |(r, t), f| (r + f.raw_bytes, t + f.text_bytes));
        row(
            &mut w,
            "TOTAL",
            family.name(),
            "",
            raw,
            text,
            &parsed.totals(family),
            "",
        )?;
    }
    w.flush()?;
    Ok(())
}
