//! Helpers shared by the integration tests: where the conformance corpus
//! lives, scratch folders, running the real reader, and reading one row of
//! either table back as canonical strings so values can be compared with
//! other parsers' expectations.

#![allow(dead_code)]

use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use stickyaudit::parse::Family;
use stickyaudit::source::expand_local;
use stickyaudit::source::ingest::{IngestOptions, Parsed, ingest};
use stickyaudit::table::alb::AlbTable;
use stickyaudit::table::cloudfront::CfTable;

/// The corpus of peer log lines; CI checks it out beside the clone.
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    assert!(
        dir.join("README.md").is_file(),
        "conformance corpus not found at `{}`: it must sit beside the crate as \
         `../shared/conformance` (CI checks it out there)",
        dir.display()
    );
    dir
}

/// A fresh, empty scratch folder for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stickyaudit-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs the real reader over `paths`, each optionally forced to a family.
pub fn ingest_paths(paths: &[(&Path, Option<Family>)], opts: &IngestOptions) -> Parsed {
    let mut inputs = Vec::new();
    for (path, forced) in paths {
        let arg = path.to_str().expect("utf-8 path");
        inputs.extend(expand_local(arg, *forced).expect("input exists"));
    }
    ingest(&inputs, opts, &ProgressBar::hidden())
}

pub fn ingest_one(path: &Path, forced: Option<Family>) -> Parsed {
    ingest_paths(&[(path, forced)], &IngestOptions::default())
}

/// Gzip of `data` as one member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn join_host_port(ip: Option<&str>, port: Option<u32>) -> Option<String> {
    match (ip, port) {
        (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
        (Some(ip), None) => Some(ip.to_string()),
        (None, _) => None,
    }
}

/// The URL of an ALB request as logged: the middle of a request kept raw,
/// else rebuilt from its parts.
fn alb_url(t: &AlbTable, row: usize) -> Option<String> {
    if let Some(raw) = t.request_raw.get(row) {
        let (_, rest) = raw.split_once(' ')?;
        let url = rest.rsplit_once(' ').map_or(rest, |(url, _)| url);
        return (!url.is_empty() && url != "-").then(|| url.to_string());
    }
    let scheme = t.scheme.get(row)?;
    let mut url = format!("{scheme}://");
    url.push_str(t.host.get(row).unwrap_or_default());
    if let Some(port) = t.port.get(row) {
        url.push_str(&format!(":{port}"));
    }
    url.push_str(t.path.get(row).unwrap_or_default());
    if let Some(q) = t.query.get(row) {
        url.push('?');
        url.push_str(q);
    }
    Some(url)
}

/// The whole `request` field: kept raw when it did not split cleanly.
fn alb_request(t: &AlbTable, row: usize) -> Option<String> {
    if let Some(raw) = t.request_raw.get(row) {
        return Some(raw.to_string());
    }
    Some(format!(
        "{} {} {}",
        t.method.get(row)?,
        alb_url(t, row)?,
        t.http_version.get(row)?
    ))
}

/// The `trace_id` field rebuilt from its stored parts.
fn alb_trace(t: &AlbTable, row: usize) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(s) = t.trace_self.get(row) {
        parts.push(format!("Self={s}"));
    }
    if let Some(r) = t.trace_root.get(row) {
        parts.push(format!("Root={r}"));
    }
    if let Some(c) = t.trace_custom.get(row) {
        parts.push(c.to_string());
    }
    (!parts.is_empty()).then(|| parts.join(";"))
}

fn num<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn text(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// One field of an ALB row as a canonical string: numbers in decimal,
/// durations and times in microseconds, `None` for null. Field names are the
/// export column names plus a few derived ones (`request`, `request_url`,
/// `trace_id`, `client`, `target`, `time_ms`).
pub fn alb_value(t: &AlbTable, row: usize, field: &str) -> Option<String> {
    match field {
        "type" => text(t.kind.get(row)),
        "time" => Some(t.time_us[row].to_string()),
        "time_ms" => Some(t.time_us[row].div_euclid(1000).to_string()),
        "elb" => text(t.elb.get(row)),
        "client_ip" => text(t.client_ip.get(row)),
        "client_port" => num(t.client_port.get(row)),
        "client" => join_host_port(t.client_ip.get(row), t.client_port.get(row)),
        "target_ip" => text(t.target_ip.get(row)),
        "target_port" => num(t.target_port.get(row)),
        "target" => join_host_port(t.target_ip.get(row), t.target_port.get(row)),
        "request_processing_time" => num(t.request_processing_us.get(row)),
        "target_processing_time" => num(t.target_processing_us.get(row)),
        "response_processing_time" => num(t.response_processing_us.get(row)),
        "elb_status_code" => num(t.elb_status.get(row)),
        "target_status_code" => num(t.target_status.get(row)),
        "received_bytes" => num(t.received_bytes.get(row)),
        "sent_bytes" => num(t.sent_bytes.get(row)),
        "request" => alb_request(t, row),
        "request_method" => text(t.method.get(row)),
        "request_url" => alb_url(t, row),
        "request_scheme" => text(t.scheme.get(row)),
        "request_host" => text(t.host.get(row)),
        "request_hostport" => join_host_port(t.host.get(row), t.port.get(row)),
        "request_port" => num(t.port.get(row)),
        "request_path" => text(t.path.get(row)),
        "request_query" => text(t.query.get(row)),
        "request_http_version" => text(t.http_version.get(row)),
        "user_agent" => text(t.user_agent.get(row)),
        "ssl_cipher" => text(t.ssl_cipher.get(row)),
        "ssl_protocol" => text(t.ssl_protocol.get(row)),
        "target_group_arn" => text(t.target_group.get(row)),
        "trace_id" => alb_trace(t, row),
        "domain_name" => text(t.domain_name.get(row)),
        "chosen_cert_arn" => text(t.chosen_cert_arn.get(row)),
        "matched_rule_priority" => num(t.matched_rule_priority.get(row)),
        "request_creation_time" => num(t.request_creation_us.get(row)),
        "actions_executed" => text(t.actions_executed.get(row)),
        "redirect_url" => text(t.redirect_url.get(row)),
        "error_reason" => text(t.error_reason.get(row)),
        "target_port_list" => text(t.target_port_list.get(row)),
        "target_status_code_list" => text(t.target_status_list.get(row)),
        "classification" => text(t.classification.get(row)),
        "classification_reason" => text(t.classification_reason.get(row)),
        "conn_trace_id" => text(t.conn_trace_id.get(row)),
        other => panic!("no ALB field `{other}` in the test mapping"),
    }
}

/// One field of a CloudFront row as a canonical string, keyed by the W3C
/// name with `-`, `(` and `)` turned into `_` (`cs(User-Agent)` is
/// `cs_user_agent`). Text is as stored: percent-decoded once.
pub fn cf_value(t: &CfTable, row: usize, field: &str) -> Option<String> {
    let ms = t.time_ms[row];
    let clock = chrono::DateTime::from_timestamp_millis(ms).expect("valid time");
    match field {
        "time_ms" => Some(ms.to_string()),
        "date" => Some(clock.format("%Y-%m-%d").to_string()),
        "time" => Some(clock.format("%H:%M:%S").to_string()),
        "x_edge_location" => text(t.edge.get(row)),
        "sc_bytes" => num(t.sc_bytes.get(row)),
        "c_ip" => text(t.client_ip.get(row)),
        "cs_method" => text(t.method.get(row)),
        "cs_host" => text(t.cs_host.get(row)),
        "cs_uri_stem" => text(t.uri_stem.get(row)),
        "sc_status" => num(t.status.get(row)),
        "cs_referer" => text(t.referer.get(row)),
        "cs_user_agent" => text(t.user_agent.get(row)),
        "cs_uri_query" => text(t.uri_query.get(row)),
        "cookie_header" => Some((t.cookie_flags[row] & 1 != 0).to_string()),
        "session_cookie" => match (t.session_cookie.get(row), t.session_value.get(row)) {
            (Some(name), Some(value)) => Some(format!("{name}={value}")),
            (Some(name), None) => Some(name.to_string()),
            _ => None,
        },
        "x_edge_result_type" => text(t.result_type.get(row)),
        "x_edge_request_id" => text(t.request_id.get(row)),
        "x_host_header" => text(t.host_header.get(row)),
        "cs_protocol" => text(t.protocol.get(row)),
        "cs_bytes" => num(t.cs_bytes.get(row)),
        "time_taken" => num(t.time_taken_us.get(row)),
        "x_forwarded_for" => text(t.forwarded_for.get(row)),
        "x_forwarded_for_list" => t.forwarded_for.get(row).map(|v| {
            let items: Vec<&str> = v.split(',').map(str::trim).collect();
            items.join(",")
        }),
        "ssl_protocol" => text(t.ssl_protocol.get(row)),
        "ssl_cipher" => text(t.ssl_cipher.get(row)),
        "x_edge_response_result_type" => text(t.response_result_type.get(row)),
        "cs_protocol_version" => text(t.protocol_version.get(row)),
        "fle_status" => text(t.fle_status.get(row)),
        "fle_encrypted_fields" => num(t.fle_encrypted_fields.get(row)),
        "c_port" => num(t.client_port.get(row)),
        "time_to_first_byte" => num(t.ttfb_us.get(row)),
        "x_edge_detailed_result_type" => text(t.detailed_result_type.get(row)),
        "sc_content_type" => text(t.content_type.get(row)),
        "sc_content_len" => num(t.content_len.get(row)),
        "sc_range_start" => num(t.range_start.get(row)),
        "sc_range_end" => num(t.range_end.get(row)),
        other => panic!("no CloudFront field `{other}` in the test mapping"),
    }
}

/// The row of `table` that came from `line` of source `source`.
pub fn row_of(lines: &[u32], sources: &[u32], source: u32, line: u64) -> Option<usize> {
    (0..lines.len()).find(|&i| sources[i] == source && u64::from(lines[i]) == line)
}
