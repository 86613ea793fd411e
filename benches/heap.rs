//! Heap bytes per parsed row, column by column, of the tables that
//! `stickyaudit parse` builds: where the memory budget goes.
//!
//! Run: `cargo bench --bench heap -- FILE...` (benches/run.sh runs it on
//! the largest data set).

use stickyaudit::source::expand_local;
use stickyaudit::source::ingest::{IngestOptions, ingest};

fn print_table(family: &str, rows: usize, mut columns: Vec<(&'static str, usize)>) {
    if rows == 0 {
        return;
    }
    let total: usize = columns.iter().map(|(_, n)| n).sum();
    println!(
        "| {family} | total | {:.1} | {:.0} |",
        total as f64 / 1e6,
        total as f64 / rows as f64
    );
    columns.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (name, n) in columns.into_iter().take(12) {
        println!(
            "| {family} | {name} | {:.1} | {:.1} |",
            n as f64 / 1e6,
            n as f64 / rows as f64
        );
    }
}

fn main() -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        inputs.extend(expand_local(&arg, None)?);
    }
    let started = std::time::Instant::now();
    let parsed = ingest(
        &inputs,
        &IngestOptions::default(),
        &indicatif::ProgressBar::hidden(),
    );
    eprintln!("parsed in {:.2} s", started.elapsed().as_secs_f64());
    println!("| family | column | heap MB | bytes/row |");
    println!("|---|---|---:|---:|");
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    print_table("cloudfront", cf.len(), cf.heap_by_column());
    print_table("alb", alb.len(), alb.heap_by_column());
    Ok(())
}
