//! S3 sources against a real S3-compatible server (moto) on loopback, with
//! objects laid out as CloudFront and ALB deliver them. A proxy in front of
//! the server counts GETs per key and injects throttling, dropped
//! connections and access errors.

mod common_s3;

use clap::Parser;
use common_s3::{ENV, Fault, Get, Moto, Proxy, init_env};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use stickyaudit::cli::{Cli, Command as Sub, InputArgs};
use stickyaudit::r#gen::{Scenario, generate};
use stickyaudit::source::collect::{Collected, collect};
use stickyaudit::source::coverage::parse_name;
use stickyaudit::source::ingest::{IngestOptions, Parsed, ingest};
use stickyaudit::source::window::Window;

const BUCKET: &str = "logs";
const SINCE: &str = "2026-11-30T10:30:00Z";
const UNTIL: &str = "2026-11-30T11:30:00Z";
const WINDOW: Window = Window {
    since: Some(1_796_034_600_000_000),
    until: Some(1_796_038_200_000_000),
};
/// The ALB node whose 10:45–10:50 file is missing.
const NODE: &str = "52.44.101.17";
const ALB_DIR: &str = "alb/AWSLogs/123456789012/elasticloadbalancing/us-east-1";
const ALB_FILE: &str = "123456789012_elasticloadbalancing_us-east-1_app.web-alb.50dc6c495c0c9188";
const CF_DIR: &str = "cloudfront/cdn-logs";

/// A bucket holding a generated data set, and the same files on disk.
struct Fixture {
    proxy: Proxy,
    /// Generated logs on disk (without the objects only S3 has).
    dir: PathBuf,
    scratch: PathBuf,
    /// Keys of the generated files, as uploaded.
    keys: Vec<String>,
    /// Keys uploaded only to S3, all outside the window.
    outside: Vec<String>,
    moto: Moto,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn find_file(dir: &Path, needle: &str) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().contains(needle) {
                return path;
            }
        }
    }
    panic!("no file matching `{needle}` under {}", dir.display());
}

fn fixture(name: &str) -> Fixture {
    init_env();
    let scratch =
        std::env::temp_dir().join(format!("stickyaudit-s3-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let dir = scratch.join("data");
    let mut scenario = Scenario::sound();
    scenario.requests = 3000;
    generate(&scenario, &dir).expect("generate logs");
    // A missing ALB interval: the node's file for 10:45–10:50 never came.
    let missing = find_file(&dir.join("alb"), &format!("_20261130T1050Z_{NODE}_"));
    std::fs::remove_file(missing).unwrap();

    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let mut keys = moto.upload_tree(BUCKET, &dir, "cloudfront");
    keys.extend(moto.upload_tree(BUCKET, &dir, "alb"));

    // Copies of in-window files under names outside the window: if one
    // were read, its records would show up in the tables.
    let cf_copy = std::fs::read(find_file(&dir.join("cloudfront"), ".2026-11-30-11.")).unwrap();
    let alb_copy = std::fs::read(find_file(&dir.join("alb"), "_20261130T1100Z_")).unwrap();
    let outside = vec![
        (
            format!("{CF_DIR}/E2QWRUHEXAMPLE.2026-11-29-11.OLDFILE1.gz"),
            &cf_copy,
        ),
        (
            format!("{CF_DIR}/E2QWRUHEXAMPLE.2026-12-01-11.NEWFILE1.gz"),
            &cf_copy,
        ),
        (
            format!("{ALB_DIR}/2026/11/28/{ALB_FILE}_20261128T1100Z_{NODE}_old00001.log.gz"),
            &alb_copy,
        ),
        (
            format!("{ALB_DIR}/2026/11/30/{ALB_FILE}_20261130T0905Z_{NODE}_early001.log.gz"),
            &alb_copy,
        ),
        (
            format!("{ALB_DIR}/2026/11/30/{ALB_FILE}_20261130T1135Z_{NODE}_after001.log.gz"),
            &alb_copy,
        ),
    ];
    for (key, data) in &outside {
        moto.put(BUCKET, key, data);
    }
    // Written by ALB when logging is switched on; not a log.
    moto.put(
        BUCKET,
        "alb/AWSLogs/123456789012/ELBAccessLogTestFile",
        b"Enable AccessLog for ELB: web-alb at 2026-11-30T09:00:00.000Z",
    );
    let proxy = Proxy::start(moto.port);
    Fixture {
        proxy,
        dir,
        scratch,
        keys,
        outside: outside.into_iter().map(|(k, _)| k).collect(),
        moto,
    }
}

impl Fixture {
    fn s3_args(&self) -> Vec<String> {
        let endpoint = self.proxy.endpoint();
        [
            "parse",
            "s3://logs/",
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--quiet",
        ]
        .map(String::from)
        .to_vec()
    }

    fn local_args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["parse", "--since", SINCE, "--until", UNTIL, "--quiet"]
            .map(String::from)
            .to_vec();
        for sub in ["cloudfront", "alb"] {
            args.push(self.dir.join(sub).display().to_string());
        }
        args
    }

    /// Keys of the generated files whose names overlap the window.
    fn in_window(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| {
                let (start, end) = parse_name(k).expect("an AWS log name").span();
                WINDOW.overlaps(start, end)
            })
            .cloned()
            .collect()
    }
}

fn stickyaudit(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .args(args)
        .envs(ENV)
        .env("STICKYAUDIT_HASH_KEY", "s3-tests")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .output()
        .expect("run stickyaudit")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A table's CSV rows, sorted, with local file names rewritten to the
/// `s3://` names of the same objects.
fn rows(csv: &Path, local_root: &Path) -> Vec<String> {
    let data = std::fs::read_to_string(csv).unwrap();
    let root = format!("{}/", local_root.display());
    let mut rows: Vec<String> = data
        .lines()
        .map(|l| l.replace(&root, "s3://logs/"))
        .collect();
    rows.sort();
    rows
}

fn time_ranges(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("time range"))
        .map(String::from)
        .collect()
}

/// Parses the S3 prefix and the same files on disk; asserts equal tables.
fn assert_same_tables_as_local(fx: &Fixture, extra_s3_args: &[&str]) -> (Output, Vec<Get>) {
    let s3_out = fx.scratch.join("s3-tables");
    let local_out = fx.scratch.join("local-tables");
    let mut s3 = fx.s3_args();
    s3.extend(["--out".into(), s3_out.display().to_string()]);
    s3.extend(extra_s3_args.iter().map(|s| s.to_string()));
    let mut local = fx.local_args();
    local.extend(["--out".into(), local_out.display().to_string()]);

    let from_s3 = stickyaudit(&s3);
    let gets = fx.proxy.take_gets();
    let from_disk = stickyaudit(&local);
    assert_eq!(from_s3.status.code(), Some(0), "{}", text(&from_s3));
    assert_eq!(from_disk.status.code(), Some(0), "{}", text(&from_disk));
    for table in ["cloudfront.csv", "alb.csv"] {
        let a = rows(&s3_out.join(table), &fx.dir);
        let b = rows(&local_out.join(table), &fx.dir);
        assert!(a.len() > 100, "{table}: only {} rows", a.len());
        assert_eq!(a.len(), b.len(), "{table}: row counts differ");
        let first = a.iter().zip(&b).find(|(x, y)| x != y);
        assert!(
            first.is_none(),
            "{table}: rows differ between S3 and disk: {first:?}"
        );
    }
    assert_eq!(time_ranges(&from_s3), time_ranges(&from_disk));
    assert_eq!(time_ranges(&from_s3).len(), 2, "{}", text(&from_s3));
    (from_s3, gets)
}

#[test]
fn s3_prefix_gives_the_same_tables_as_disk_and_fetches_only_the_window() {
    let fx = fixture("same");
    let (out, gets) = assert_same_tables_as_local(&fx, &[]);

    for key in &fx.outside {
        let n = Proxy::gets_of(&gets, &format!("{BUCKET}/{key}"));
        assert_eq!(n, 0, "`{key}` is outside the window but was fetched");
    }
    let wanted = fx.in_window();
    assert!(
        wanted.len() < fx.keys.len(),
        "the window must exclude some files"
    );
    for key in &fx.keys {
        let n = Proxy::gets_of(&gets, &format!("{BUCKET}/{key}"));
        let expected = usize::from(wanted.contains(key));
        assert_eq!(n, expected, "GETs of `{key}`");
    }
    assert_eq!(gets.len(), wanted.len());

    let stdout = String::from_utf8_lossy(&out.stdout);
    let gap = format!("node {NODE}` has no log file for 2026-11-30T10:45Z to 2026-11-30T10:50Z");
    assert!(stdout.contains(&gap), "coverage gap not named:\n{stdout}");
    assert!(stdout.contains("pruned by name"), "{stdout}");
    assert!(stdout.contains("1 not access logs"), "{stdout}");
}

#[test]
fn throttling_and_dropped_connections_are_retried() {
    let fx = fixture("retry");
    let wanted = fx.in_window();
    let cf = wanted
        .iter()
        .find(|k| k.starts_with("cloudfront/"))
        .unwrap();
    let alb = wanted.iter().find(|k| k.starts_with("alb/")).unwrap();
    fx.proxy
        .inject(BUCKET, cf, &[Fault::SlowDown, Fault::SlowDown]);
    fx.proxy.inject(BUCKET, alb, &[Fault::DropMidBody]);
    let big_cf = wanted
        .iter()
        .rfind(|k| k.starts_with("cloudfront/"))
        .unwrap();
    if big_cf != cf {
        fx.proxy
            .inject(BUCKET, big_cf, &[Fault::DropMidBody, Fault::SlowDown]);
    }

    let (out, gets) = assert_same_tables_as_local(&fx, &[]);

    assert_eq!(Proxy::gets_of(&gets, &format!("{BUCKET}/{cf}")), 3);
    let alb_gets: Vec<&Get> = gets
        .iter()
        .filter(|g| g.key == format!("{BUCKET}/{alb}"))
        .collect();
    assert_eq!(alb_gets.len(), 2, "{alb_gets:?}");
    assert_eq!(alb_gets[0].range, None);
    let resumed = alb_gets[1].range.as_deref().unwrap_or("");
    assert!(
        resumed.starts_with("bytes=") && !resumed.starts_with("bytes=0-"),
        "the second GET must resume where the first broke: {resumed:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("incomplete"), "{stdout}");
}

#[test]
fn a_corrupt_or_denied_object_is_named_and_the_run_exits_3() {
    let fx = fixture("corrupt");
    let mut bytes =
        std::fs::read(find_file(&fx.dir.join("cloudfront"), ".2026-11-30-11.")).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5A;
    }
    let corrupt = format!("{CF_DIR}/E2QWRUHEXAMPLE.2026-11-30-11.CORRUPT1.gz");
    fx.moto.put(BUCKET, &corrupt, &bytes);
    let denied = fx
        .in_window()
        .into_iter()
        .find(|k| k.starts_with("alb/"))
        .unwrap();
    fx.proxy.inject(BUCKET, &denied, &[Fault::AccessDenied]);

    let out = stickyaudit(&fx.s3_args());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains(&format!("s3://{BUCKET}/{corrupt}")), "{all}");
    assert!(all.contains(&format!("s3://{BUCKET}/{denied}")), "{all}");
    assert!(
        all.contains("access denied") && all.contains("hint:"),
        "{all}"
    );

    let mut missing_bucket = fx.s3_args();
    missing_bucket[1] = "s3://no-such-bucket/".into();
    let out = stickyaudit(&missing_bucket);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("`no-such-bucket` does not exist") && all.contains("hint:"),
        "{all}"
    );
}

fn input_args(args: &[String]) -> InputArgs {
    let argv = std::iter::once("stickyaudit".to_string()).chain(args.iter().cloned());
    match Cli::try_parse_from(argv).expect("valid arguments").command {
        Sub::Parse(p) => p.input,
        _ => unreachable!("a parse command"),
    }
}

/// One scheduled run through the library: collect, read, record state.
fn scheduled_run(args: &InputArgs) -> (Collected, Parsed) {
    let collected = collect(args).expect("collect");
    let mut opts = IngestOptions::default();
    opts.parse.window = collected.window;
    let parsed = ingest(&collected.inputs, &opts, &indicatif::ProgressBar::hidden());
    collected.finish(&parsed).expect("save the state");
    (collected, parsed)
}

#[test]
fn state_skips_objects_already_read_and_picks_up_late_files() {
    let fx = fixture("state");
    let state = fx.scratch.join("state.json");
    let mut args = fx.s3_args();
    args.extend(["--state".into(), state.display().to_string()]);
    let args = input_args(&args);

    let (first, parsed) = scheduled_run(&args);
    let gets = fx.proxy.take_gets();
    assert_eq!(gets.len(), fx.in_window().len());
    assert_eq!(first.inputs.len(), fx.in_window().len());
    assert!(!parsed.incomplete());
    assert!(state.exists());

    let (second, _) = scheduled_run(&args);
    assert!(second.inputs.is_empty());
    assert!(
        fx.proxy.take_gets().is_empty(),
        "a rerun must fetch nothing"
    );
    let note = second.notes.iter().find(|n| n.contains("already read"));
    assert!(note.is_some(), "{:?}", second.notes);

    let late = format!("{CF_DIR}/E2QWRUHEXAMPLE.2026-11-30-11.LATEDLVR.gz");
    let data = std::fs::read(find_file(&fx.dir.join("cloudfront"), ".2026-11-30-11.")).unwrap();
    fx.moto.put(BUCKET, &late, &data);
    let (third, parsed) = scheduled_run(&args);
    let gets = fx.proxy.take_gets();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(gets[0].key, format!("{BUCKET}/{late}"));
    assert_eq!(third.inputs.len(), 1);
    assert!(!parsed.cloudfront.is_empty());

    let (fourth, _) = scheduled_run(&args);
    assert!(fourth.inputs.is_empty() && fx.proxy.take_gets().is_empty());
}

#[test]
fn cache_dir_serves_a_rerun_without_fetching_even_with_one_request_in_flight() {
    let fx = fixture("cache");
    let cache = fx.scratch.join("cache");
    let mut args = fx.s3_args();
    let cache_arg = cache.display().to_string();
    args.extend(["--cache-dir", &cache_arg, "--s3-concurrency", "1"].map(String::from));

    let first = stickyaudit(&args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(fx.proxy.take_gets().len(), fx.in_window().len());
    let second = stickyaudit(&args);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        fx.proxy.take_gets().is_empty(),
        "cached objects were fetched again"
    );
    assert_eq!(time_ranges(&first), time_ranges(&second));
}
