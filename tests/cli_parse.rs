//! The `parse` command as a user runs it: the built binary, its exit codes,
//! the files it writes and what reaches the terminal.

mod common;

use common::{gzip, scratch_dir};
use polars::prelude::*;
use std::path::Path;
use std::process::{Command, Output};
use stickyaudit::table::alb::AlbTable;
use stickyaudit::table::cloudfront::CfTable;
use stickyaudit::table::export::{alb_columns, cloudfront_columns};

const ALB_LINE: &str = "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 \
    192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \
    \"GET http://www.example.com:80/ HTTP/1.1\" \"UA\" - - \
    arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \
    \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z \
    \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .args(args)
        .output()
        .expect("run the binary")
}

/// A log folder with `alb` ALB lines (one user agent starting with `=`) and
/// the AWS CloudFront example (6 rows).
fn write_logs(dir: &Path, alb: usize) {
    let mut text = String::new();
    for i in 0..alb {
        let ua = if i == 0 {
            "=HYPERLINK(\"x\")"
        } else {
            "curl/7.46.0"
        };
        text.push_str(&ALB_LINE.replace("\"UA\"", &format!("\"{ua}\"")));
        text.push('\n');
    }
    std::fs::write(dir.join("alb.log"), gzip(text.as_bytes())).expect("write");
    let cf = common::corpus_dir().join("aws-docs-cloudfront/doc-example.log");
    std::fs::copy(cf, dir.join("cf.log")).expect("copy");
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).expect("open csv");
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r.records().map(|r| r.expect("csv row")).collect();
    (header, rows)
}

fn parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).expect("open parquet");
    ParquetReader::new(file).finish().expect("read parquet")
}

#[test]
fn parse_writes_tables_and_health_with_matching_counts() {
    let dir = scratch_dir("cli-clean");
    let (logs, out) = (dir.join("logs"), dir.join("out"));
    std::fs::create_dir_all(&logs).expect("mkdir");
    write_logs(&logs, 25);
    let o = run(&[
        "parse",
        logs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("alb: 1 files, 25 lines read = 25 parsed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cloudfront: 1 files, 8 lines read = 6 parsed"),
        "{stdout}"
    );

    let alb_names: Vec<&str> = alb_columns(&AlbTable::default(), &[])
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let cf_names: Vec<&str> = cloudfront_columns(&CfTable::default(), &[])
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for (name, columns, rows) in [("alb", &alb_names, 25), ("cloudfront", &cf_names, 6)] {
        let (header, records) = csv_rows(&out.join(format!("{name}.csv")));
        assert_eq!(&header, columns, "{name}.csv columns");
        assert_eq!(records.len(), rows, "{name}.csv rows");
        let df = parquet(&out.join(format!("{name}.parquet")));
        assert_eq!(df.height(), rows, "{name}.parquet rows");
        assert_eq!(df.width(), columns.len());
        let time = df.column("time").expect("time column");
        assert!(
            matches!(time.dtype(), DataType::Datetime(_, _)),
            "{name}: time is {:?}",
            time.dtype()
        );
    }

    let (header, records) = csv_rows(&out.join("parse_health.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).expect("health column");
    let parsed: u64 = records
        .iter()
        .filter(|r| r[col("source")].ends_with(".log"))
        .map(|r| r[col("parsed")].parse::<u64>().expect("number"))
        .sum();
    assert_eq!(parsed, 31);

    // A log value that a spreadsheet would run as a formula is neutralised.
    let (header, records) = csv_rows(&out.join("alb.csv"));
    let ua = header
        .iter()
        .position(|h| h == "user_agent")
        .expect("user_agent");
    assert_eq!(&records[0][ua], "'=HYPERLINK(\"x\")");
    assert_eq!(&records[1][ua], "curl/7.46.0");
}

#[test]
fn a_corrupt_gzip_exits_3_and_names_the_file() {
    let dir = scratch_dir("cli-corrupt");
    let text: String = (0..2000).map(|_| format!("{ALB_LINE}\n")).collect();
    let full = gzip(text.as_bytes());
    let path = dir.join("torn.log.gz");
    std::fs::write(&path, &full[..full.len() / 2]).expect("write");
    let o = run(&["parse", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("torn.log.gz: corrupt input"), "{stdout}");
    assert!(stdout.contains("rejected truncated_line: 1"), "{stdout}");
}

#[test]
fn a_missing_path_exits_2_with_its_name() {
    let dir = scratch_dir("cli-missing");
    let missing = dir.join("no-such-logs");
    let o = run(&["parse", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("error:"), "{stderr}");
    assert!(stderr.contains("no-such-logs"), "{stderr}");
}

#[test]
fn escape_sequences_from_logs_never_reach_the_terminal() {
    let dir = scratch_dir("cli-escape");
    let text = format!("{ALB_LINE}\nhttp \x1b[2J\x1b]0;pwned\x07 evil\n");
    let path = dir.join("alb.log");
    std::fs::write(&path, text).expect("write");
    let o = run(&["parse", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("\\x1b[2J"), "{stdout}");
    assert!(!o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b));
    assert!(!o.stdout.contains(&0x07));
}
