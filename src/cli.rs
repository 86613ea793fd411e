//! The command line: one definition for parsing, help and exit codes.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Exit status: everything read, nothing at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// Exit status: findings at or above `--fail-on`.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status: the run failed (bad arguments, unreadable output, …).
pub const EXIT_ERROR: i32 = 2;
/// Exit status: the run finished but some input could not be read in full
/// (corrupt gzip, unreadable or unrecognised file); see the summary.
pub const EXIT_INCOMPLETE: i32 = 3;

const EXIT_CODES: &str = "Exit status: 0 all input read and no finding at or above --fail-on; \
1 findings at or above --fail-on; 2 error; 3 some input was incomplete \
(corrupt, unreadable or unrecognised files; named in the summary).";

/// Audit ALB sticky sessions behind CloudFront from both services' access logs.
#[derive(Debug, Parser)]
#[command(name = "stickyaudit", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse CloudFront and ALB logs and report how every line was accounted for.
    ///
    /// Sources are files, directories (read recursively) and glob patterns, in
    /// any mix; gzip is detected by content. Each file's family is detected
    /// from its content unless forced with --cloudfront/--alb.
    ///
    /// Example: stickyaudit parse samples/ --out parsed/
    #[command(after_help = EXIT_CODES)]
    Parse(ParseArgs),
    /// Join CloudFront to ALB, rebuild sessions and report stickiness failures.
    ///
    /// Reads both log families (files, directories, globs, s3:// prefixes),
    /// joins every CloudFront request that reached the origin with its ALB
    /// record, rebuilds each viewer's session path and reports target flips
    /// with their cause, stickiness cookies never delivered, and cache hits
    /// that should have gone to the origin.
    ///
    /// Example: stickyaudit scan samples/ --out report/ --fail-on high
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Print one session's path, from the session_paths.csv of a scan report.
    ///
    /// Example: stickyaudit session s3f9a0c1d2e4b5a67 --report report/
    Session(SessionArgs),
    /// Write a realistic, deterministic CloudFront + ALB data set with ground truth.
    Generate(crate::r#gen::GenerateArgs),
}

/// Inputs and parse settings shared by every command that reads logs.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Log files, directories or globs of either family.
    pub sources: Vec<String>,
    /// Treat these sources as CloudFront logs.
    #[arg(long = "cloudfront", value_name = "PATH")]
    pub cloudfront: Vec<String>,
    /// Treat these sources as ALB access logs.
    #[arg(long = "alb", value_name = "PATH")]
    pub alb: Vec<String>,
    /// Session cookie name (repeatable; replaces the default list).
    #[arg(long = "session-cookie", value_name = "NAME")]
    pub session_cookies: Vec<String>,
    /// Keep session cookie values in clear in reports (off: keyed hashes).
    #[arg(long)]
    pub reveal_cookies: bool,
    /// Key for the hashes that replace cookie values (default: this
    /// machine's own random key, kept in ~/.cache/stickyaudit/hash-key, so
    /// session ids are the same from run to run on one machine).
    #[arg(long, env = "STICKYAUDIT_HASH_KEY", hide_env_values = true)]
    pub hash_key: Option<String>,
    /// Lines longer than this many bytes are rejected as `line_too_long`.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_line_bytes: usize,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

/// Reading `s3://bucket/prefix` sources and limiting a run to a window.
#[derive(Debug, Clone, Default, Args)]
pub struct S3Args {
    /// Only records (and S3 objects that can hold records) at or after this
    /// time: RFC 3339 (`2026-11-30T10:00:00Z`) or relative (`2h`, `30m`, `1d`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// AWS profile for S3 sources.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region for S3 sources.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// S3-compatible endpoint (path-style addressing), e.g. http://127.0.0.1:5000.
    #[arg(long, env = "AWS_ENDPOINT_URL_S3", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Keep fetched S3 objects here and reuse them on later runs.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Record processed S3 objects (key, ETag, size) here and skip them on
    /// reruns, for idempotent scheduled scans.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// S3 requests in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub s3_concurrency: usize,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write cloudfront/alb tables (Parquet and CSV) and parse_health.csv here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the report files (findings.csv, joins.csv, … summary.json) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit with status 1 when a finding reaches this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = ["low", "medium", "high"])]
    pub fail_on: Option<String>,
    /// Print the summary as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Custom X-Amzn-Trace-Id field holding the CloudFront request id
    /// (found automatically when not given).
    #[arg(long, value_name = "NAME")]
    pub trace_field: Option<String>,
    /// Cache behavior path pattern, in CloudFront's precedence order
    /// (repeatable; without any, behaviors are taken from the logs or
    /// inferred from the URL).
    #[arg(long = "behavior", value_name = "PATTERN")]
    pub behaviors: Vec<String>,
    /// Behavior pattern whose requests must always reach the origin.
    #[arg(long = "dynamic", value_name = "PATTERN")]
    pub dynamic: Vec<String>,
    /// Behavior pattern that serves static assets (never session-bound).
    #[arg(long = "static", value_name = "PATTERN")]
    pub static_patterns: Vec<String>,
    /// Idle gap that splits a viewer's requests into sessions.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub idle_gap: String,
    /// ALB stickiness duration (stickiness.lb_cookie.duration_seconds).
    #[arg(long, default_value = "1d", value_name = "DURATION")]
    pub stickiness_duration: String,
    /// Print this session's path as a timeline.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Print the time each stage took on stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// Which sessions' paths to write to session_paths.csv.
    #[arg(long, value_enum, default_value = "findings")]
    pub paths: crate::report::scan::PathScope,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Session id, as in findings.csv or sessions.csv.
    pub id: String,
    /// The --out directory of a scan.
    #[arg(long, default_value = "report", value_name = "DIR")]
    pub report: PathBuf,
}
