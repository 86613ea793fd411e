//! What each subcommand does, from parsed arguments to exit status.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::hash::{BuildHasher, Hasher};
use std::io::IsTerminal;
use stickyaudit::cli::{EXIT_INCOMPLETE, EXIT_OK, InputArgs, ParseArgs};
use stickyaudit::parse::ParseOptions;
use stickyaudit::report::{self, health};
use stickyaudit::source::Input;
use stickyaudit::source::collect::{Collected, collect};
use stickyaudit::source::ingest::{IngestOptions, Parsed, ingest};
use stickyaudit::table::export;

fn hash_key(given: Option<&str>) -> [u64; 2] {
    match given {
        Some(text) => {
            let k0 = stickyaudit::parse::cookie::keyed_hash([0x7374_6963, 0x6b79], text.as_bytes());
            let k1 = stickyaudit::parse::cookie::keyed_hash([0x6175_6469, 0x74], text.as_bytes());
            [k0, k1]
        }
        None => {
            let state = std::collections::hash_map::RandomState::new();
            let mut a = state.build_hasher();
            a.write_u8(1);
            let mut b = state.build_hasher();
            b.write_u8(2);
            [a.finish(), b.finish()]
        }
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
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
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
    Ok(if parsed.incomplete() {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    })
}
