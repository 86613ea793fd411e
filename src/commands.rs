//! What each subcommand does, from parsed arguments to exit status.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::hash::{BuildHasher, Hasher};
use std::io::IsTerminal;
use stickyaudit::cli::{
    EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, InputArgs, ParseArgs, ScanArgs, SessionArgs,
};
use stickyaudit::parse::ParseOptions;
use stickyaudit::report::{self, health};
use stickyaudit::source::Input;
use stickyaudit::source::collect::{Collected, collect};
use stickyaudit::source::ingest::{IngestOptions, Parsed, ingest};
use stickyaudit::table::export;

/// Derives the two SipHash keys from a secret text.
fn key_from_text(text: &str) -> [u64; 2] {
    let k0 = stickyaudit::parse::cookie::keyed_hash([0x7374_6963, 0x6b79], text.as_bytes());
    let k1 = stickyaudit::parse::cookie::keyed_hash([0x6175_6469, 0x74], text.as_bytes());
    [k0, k1]
}

fn random_text() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u8(1);
    let mut b = state.build_hasher();
    b.write_u8(2);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

/// The machine's own secret for session ids, created on first use in
/// `~/.cache/stickyaudit/hash-key` (mode 0600): ids are then the same from
/// run to run on one machine (a scan of S3 and of the same files on disk
/// agree) and reveal nothing elsewhere.
fn machine_key_text() -> Option<String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    let path = base.join("stickyaudit").join("hash-key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim().to_string();
        return (text.len() >= 16).then_some(text);
    }
    std::fs::create_dir_all(path.parent()?).ok()?;
    let text = random_text();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).ok()?;
        file.write_all(text.as_bytes()).ok()?;
    }
    // Another run may have won the race: keep whichever key landed first.
    if std::fs::hard_link(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return std::fs::read_to_string(&path)
            .ok()
            .map(|t| t.trim().to_string());
    }
    let _ = std::fs::remove_file(&tmp);
    Some(text)
}

fn hash_key(given: Option<&str>) -> [u64; 2] {
    match given {
        Some(text) => key_from_text(text),
        None => key_from_text(&machine_key_text().unwrap_or_else(random_text)),
    }
}

fn parse_options(args: &InputArgs) -> ParseOptions {
    let mut opts = ParseOptions {
        hash_key: hash_key(args.hash_key.as_deref()),
        reveal_cookies: args.reveal_cookies,
        max_line_bytes: args.max_line_bytes,
        ..ParseOptions::default()
    };
    if !args.session_cookies.is_empty() {
        opts.session_cookies = args.session_cookies.clone();
    }
    opts
}

fn progress_bar(quiet: bool, inputs: &[Input]) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total: u64 = inputs.iter().filter_map(|i| i.opener.size()).sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Reads and parses every input of `args`.
pub fn load(args: &InputArgs) -> anyhow::Result<(Parsed, Collected)> {
    let collected = collect(args)?;
    let mut parse = parse_options(args);
    parse.window = collected.window;
    let opts = IngestOptions {
        parse,
        ..IngestOptions::default()
    };
    let bar = progress_bar(args.quiet, &collected.inputs);
    let parsed = ingest(&collected.inputs, &opts, &bar);
    bar.finish_and_clear();
    Ok((parsed, collected))
}

pub fn write_tables(parsed: &Parsed, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let cf = export::cloudfront_columns(&parsed.cloudfront, &parsed.sources);
    let alb = export::alb_columns(&parsed.alb, &parsed.sources);
    let tables = [
        ("cloudfront", &cf, parsed.cloudfront.len()),
        ("alb", &alb, parsed.alb.len()),
    ];
    for (name, cols, len) in tables {
        let parquet = dir.join(format!("{name}.parquet"));
        export::write_parquet(cols, len, &parquet)
            .with_context(|| format!("cannot write `{}`", parquet.display()))?;
        let csv = dir.join(format!("{name}.csv"));
        export::write_csv(cols, len, &csv)
            .with_context(|| format!("cannot write `{}`", csv.display()))?;
    }
    let health_csv = dir.join("parse_health.csv");
    health::write_csv(parsed, &health_csv)
        .with_context(|| format!("cannot write `{}`", health_csv.display()))?;
    Ok(())
}

pub fn parse(args: &ParseArgs) -> anyhow::Result<i32> {
    let (parsed, collected) = load(&args.input)?;
    let mut text = health::summary_text(&parsed);
    for note in &collected.notes {
        text.push_str(&report::terminal_safe(note));
        text.push('\n');
    }
    report::print_stdout(&text)?;
    if let Some(dir) = &args.out {
        write_tables(&parsed, dir)?;
    }
    finish(&parsed, &collected)?;
    Ok(if parsed.incomplete() {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    })
}

fn duration_us(text: &str, flag: &str) -> anyhow::Result<i64> {
    stickyaudit::source::window::parse_duration(text)
        .map(|s| s * 1_000_000)
        .with_context(|| format!("{flag} `{text}` is not a duration (hint: `30m`, `2h`, `1d`)"))
}

pub fn scan(args: &ScanArgs) -> anyhow::Result<i32> {
    use stickyaudit::report::scan as out;
    use stickyaudit::scan::ScanConfig;
    let mut config = ScanConfig::default();
    config.behavior.patterns = args.behaviors.clone();
    config.behavior.dynamic = args.dynamic.clone();
    config.behavior.static_patterns = args.static_patterns.clone();
    config.join.trace_field = args.trace_field.clone();
    config.session.idle_gap_us = duration_us(&args.idle_gap, "--idle-gap")?;
    config.detect.stickiness_us = duration_us(&args.stickiness_duration, "--stickiness-duration")?;
    let started = std::time::Instant::now();
    let (parsed, collected) = load(&args.input)?;
    let loaded = started.elapsed();
    config.session.hash_key = parse_options(&args.input).hash_key;
    let mut timings = stickyaudit::scan::Timings::default();
    let result = stickyaudit::scan::run_timed(&parsed, &config, &mut timings);
    if args.verbose {
        eprintln!("read+parse: {loaded:.2?}");
        for (stage, took) in &timings.0 {
            eprintln!("{stage}: {took:.2?}");
        }
    }
    if args.json {
        let summary = serde_json::json!({
            "totals": out::totals(&parsed, &result),
            "behaviors": out::behavior_rows(&parsed, &result),
            "incomplete_input": parsed.incomplete(),
            "notes": collected.notes,
        });
        report::print_stdout(&(serde_json::to_string_pretty(&summary)? + "\n"))?;
    } else {
        let mut text = out::summary_text(&parsed, &result);
        for note in &collected.notes {
            text.push_str(&report::terminal_safe(note));
            text.push('\n');
        }
        report::print_stdout(&text)?;
    }
    if let Some(id) = &args.session {
        let Some(s) = result.sessions.list.iter().position(|s| &s.id == id) else {
            anyhow::bail!(
                "no session `{id}` in this scan (hint: ids come from findings.csv or sessions.csv of a run with the same --hash-key)"
            );
        };
        let rows: Vec<Vec<String>> = result
            .sessions
            .rows(s)
            .iter()
            .enumerate()
            .map(|(i, &r)| out::path_cells(&parsed, &result, s, i + 1, r as usize))
            .collect();
        report::print_stdout(&out::render_path(&rows))?;
    }
    if let Some(dir) = &args.out {
        out::write_all(&parsed, &result, &collected.notes, args.paths, dir)?;
        write_gaps(&collected, &dir.join("coverage_gaps.csv"))?;
    }
    finish(&parsed, &collected)?;
    let fail_on = args
        .fail_on
        .as_deref()
        .and_then(stickyaudit::detect::Severity::parse);
    Ok(match fail_on {
        Some(level) if out::reaches(&result, level) => EXIT_FINDINGS,
        _ if parsed.incomplete() => EXIT_INCOMPLETE,
        _ => EXIT_OK,
    })
}

pub fn session(args: &SessionArgs) -> anyhow::Result<i32> {
    let path = args.report.join("session_paths.csv");
    let mut reader = csv::Reader::from_path(&path).with_context(|| {
        format!(
            "cannot read `{}` (hint: run `stickyaudit scan … --out {}` first)",
            path.display(),
            args.report.display()
        )
    })?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.with_context(|| format!("`{}` is not a session_paths.csv", path.display()))?;
        if record.get(0) == Some(args.id.as_str()) {
            rows.push(
                record
                    .iter()
                    .map(|c| {
                        c.strip_prefix('\'')
                            .filter(|_| {
                                c.starts_with("'=")
                                    || c.starts_with("'+")
                                    || c.starts_with("'-")
                                    || c.starts_with("'@")
                            })
                            .unwrap_or(c)
                            .to_string()
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    if rows.is_empty() {
        anyhow::bail!(
            "no session `{}` in `{}` (hint: scan with --paths all to keep every session's path)",
            args.id,
            path.display()
        );
    }
    report::print_stdout(&stickyaudit::report::scan::render_path(&rows))?;
    Ok(EXIT_OK)
}

/// After a run's outputs are written: the S3 transfer note on stderr, and
/// the `--state` file updated with the objects read completely.
fn finish(parsed: &Parsed, collected: &Collected) -> anyhow::Result<()> {
    if let Some(note) = collected.transfer_note() {
        eprintln!("{}", report::terminal_safe(&note));
    }
    collected.finish(parsed)
}

/// `coverage_gaps.csv`: log intervals with no file, per stream.
fn write_gaps(collected: &Collected, path: &std::path::Path) -> anyhow::Result<()> {
    let iso = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    w.write_record(["family", "stream", "start", "end", "missing_files"])?;
    for gap in &collected.gaps {
        w.write_record([
            gap.family.name().to_string(),
            report::spreadsheet_safe(&gap.stream).into_owned(),
            iso(gap.start),
            iso(gap.end),
            gap.missing_files.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
