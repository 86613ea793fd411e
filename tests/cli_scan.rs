//! `stickyaudit scan` and `stickyaudit session` through the real binary on
//! the bundled samples: report files and columns, exit codes, the session
//! timeline, JSON summary, and that no cookie value leaks into a report.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stickyaudit-cli-scan-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(String::from).collect()
}

#[test]
fn scan_writes_every_report_with_the_documented_columns() {
    let out = scratch("reports");
    let o = run(&[
        "scan",
        "samples/logs",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for file in [
        "findings.csv",
        "joins.csv",
        "unmatched.csv",
        "sessions.csv",
        "session_paths.csv",
        "behaviors.csv",
        "timeline.csv",
        "parse_health.csv",
        "coverage_gaps.csv",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let findings = header(&out.join("findings.csv"));
    for column in [
        "kind",
        "severity",
        "time",
        "session",
        "behavior",
        "edge",
        "cf_request_id",
        "alb_source",
        "alb_line",
        "target_before",
        "target_after",
        "cause",
        "detail",
    ] {
        assert!(
            findings.iter().any(|c| c == column),
            "findings.csv lacks {column}"
        );
    }
    assert_eq!(
        header(&out.join("joins.csv")),
        [
            "cf_request_id",
            "alb_source",
            "alb_line",
            "method",
            "confidence",
            "evidence"
        ]
    );

    // A flip row cites the ALB line that landed on the new target.
    let mut r = csv::Reader::from_path(out.join("findings.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|c| c == n).unwrap();
    let flip = r
        .records()
        .map(Result::unwrap)
        .find(|rec| &rec[at("kind")] == "target_flip")
        .unwrap();
    let (source, line) = (
        flip[at("alb_source")].to_string(),
        flip[at("alb_line")].parse::<usize>().unwrap(),
    );
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(root().join(&source)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let alb_line = text.lines().nth(line - 1).unwrap();
    let target_after = &flip[at("target_after")];
    assert!(
        alb_line.contains(&format!(" {target_after} ")),
        "{alb_line} vs {target_after}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["totals"]["joined"].as_u64().unwrap() > 1000);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn no_cookie_value_reaches_a_report() {
    let out = scratch("secrets");
    let o = run(&[
        "scan",
        "samples/logs",
        "--quiet",
        "--paths",
        "all",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    // Collect real cookie values from the CloudFront logs.
    let parsed = scratch("secrets-parsed");
    run(&[
        "parse",
        "samples/logs",
        "--quiet",
        "--reveal-cookies",
        "--out",
        parsed.to_str().unwrap(),
    ]);
    let mut r = csv::Reader::from_path(parsed.join("cloudfront.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let at = h.iter().position(|c| c == "session_cookie_value").unwrap();
    let values: std::collections::BTreeSet<String> = r
        .records()
        .map(Result::unwrap)
        .map(|rec| rec[at].to_string())
        .filter(|v| v.len() >= 8)
        .collect();
    assert!(values.len() > 50, "samples should hold session cookies");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    for entry in std::fs::read_dir(&out).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap() + &stdout;
        for v in &values {
            assert!(!text.contains(v.as_str()), "a cookie value leaked");
        }
        assert!(!text.contains("AWSALB="), "a stickiness cookie leaked");
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&parsed);
}

#[test]
fn fail_on_json_and_session_timeline() {
    let out = scratch("fail-on");
    let o = run(&[
        "scan",
        "samples/logs",
        "--quiet",
        "--json",
        "--fail-on",
        "high",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "samples hold high findings");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        summary["totals"]["flips"]["cookie_not_forwarded"]
            .as_u64()
            .unwrap()
            > 0
    );

    let mut r = csv::Reader::from_path(out.join("findings.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|c| c == n).unwrap();
    let flip = r
        .records()
        .map(Result::unwrap)
        .find(|rec| &rec[at("kind")] == "target_flip")
        .unwrap();
    let session = flip[at("session")].to_string();
    let o = run(&["session", &session, "--report", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let timeline = String::from_utf8(o.stdout).unwrap();
    assert!(timeline.contains(&format!("session {session}")));
    assert!(timeline.contains("<< FLIP ("), "{timeline}");
    assert!(timeline.contains(&flip[at("target_after")]));

    let o = run(&[
        "session",
        "s-no-such-session",
        "--report",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&out);
}
