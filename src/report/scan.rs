//! The files and the terminal summary of `stickyaudit scan`.

use super::{spreadsheet_safe, terminal_safe};
use crate::detect::{Cause, Finding, Kind, Severity};
use crate::join::Reach;
use crate::scan::Scan;
use crate::source::ingest::Parsed;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn text(s: &str) -> String {
    spreadsheet_safe(s).into_owned()
}

/// Short name of a target group ARN (`targetgroup/web/…` → `web`).
pub fn group_name(arn: &str) -> &str {
    arn.split("targetgroup/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(arn)
}

/// Which sessions' paths go to `session_paths.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PathScope {
    /// Sessions with at least one finding.
    Findings,
    /// Every session (large on big inputs).
    All,
}

/// Counts shared by the summary, behaviors.csv and summary.json.
#[derive(Debug, Default, serde::Serialize)]
pub struct Totals {
    pub cloudfront_records: usize,
    pub alb_records: usize,
    pub origin_candidates: usize,
    pub must_reach_origin: usize,
    pub joined: usize,
    pub joined_exact: usize,
    pub joined_scored: usize,
    pub cloudfront_unmatched_must: usize,
    pub cloudfront_served_upstream: usize,
    pub alb_unmatched: usize,
    pub alb_bypassed_cloudfront: usize,
    pub sessions: usize,
    pub sessions_by_cookie: usize,
    pub flips: BTreeMap<&'static str, u64>,
    pub findings: BTreeMap<&'static str, u64>,
    pub findings_by_severity: BTreeMap<&'static str, u64>,
    pub flagged_hits: u64,
    pub leaks: u64,
    pub trace_field: Option<String>,
}

/// Why an ALB record has no CloudFront partner.
pub fn alb_unmatched_reason(parsed: &Parsed, scan: &Scan, row: usize) -> &'static str {
    let alb = &parsed.alb;
    // Without CloudFront logs no edge IP is known: nothing proves a bypass.
    let via_cloudfront = parsed.cloudfront.is_empty()
        || scan.join.edge_of_ip.contains_key(&alb.client_ip.ids[row])
        || alb.user_agent.get(row) == Some("Amazon CloudFront");
    if via_cloudfront {
        "no_cloudfront_record"
    } else {
        "bypassed_cloudfront"
    }
}

pub fn totals(parsed: &Parsed, scan: &Scan) -> Totals {
    let j = &scan.join;
    let mut t = Totals {
        cloudfront_records: parsed.cloudfront.len(),
        alb_records: parsed.alb.len(),
        sessions: scan.sessions.list.len(),
        sessions_by_cookie: scan
            .sessions
            .list
            .iter()
            .filter(|s| s.kind == crate::session::KeyKind::Cookie)
            .count(),
        trace_field: j.trace_field.clone(),
        ..Totals::default()
    };
    for (r, reach) in j.reach.iter().enumerate() {
        if *reach == Reach::Edge {
            continue;
        }
        t.origin_candidates += 1;
        let joined = j.alb_of(r).is_some();
        match (*reach, joined) {
            (Reach::Origin, false) => t.cloudfront_unmatched_must += 1,
            (Reach::Maybe, false) => t.cloudfront_served_upstream += 1,
            _ => {}
        }
        if *reach == Reach::Origin {
            t.must_reach_origin += 1;
        }
    }
    for m in j.method.iter().flatten() {
        t.joined += 1;
        match m {
            crate::join::JoinMethod::Exact => t.joined_exact += 1,
            crate::join::JoinMethod::Scored => t.joined_scored += 1,
        }
    }
    for r in 0..parsed.alb.len() {
        if j.cf_of(r).is_none() {
            t.alb_unmatched += 1;
            if alb_unmatched_reason(parsed, scan, r) == "bypassed_cloudfront" {
                t.alb_bypassed_cloudfront += 1;
            }
        }
    }
    for c in Cause::ALL {
        t.flips.insert(c.name(), 0);
    }
    for f in &scan.detected.findings {
        *t.findings.entry(f.kind.name()).or_default() += 1;
        *t.findings_by_severity.entry(f.severity.name()).or_default() += 1;
        if let Some(c) = f.cause {
            *t.flips.entry(c.name()).or_default() += 1;
        }
        if f.kind == Kind::CacheHitShouldBeOrigin {
            t.flagged_hits += 1;
            if f.severity == Severity::High {
                t.leaks += 1;
            }
        }
    }
    t
}

/// Per-behavior figures.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BehaviorRow {
    pub behavior: String,
    pub is_static: bool,
    pub personalised: bool,
    pub requests: u64,
    pub origin_requests: u64,
    pub origin_with_stickiness_cookie: u64,
    pub flips: BTreeMap<&'static str, u64>,
    pub flagged_hits: u64,
    pub leaks: u64,
}

impl BehaviorRow {
    pub fn flip_total(&self) -> u64 {
        self.flips.values().sum()
    }

    pub fn sticky_share(&self) -> f64 {
        if self.origin_requests == 0 {
            0.0
        } else {
            self.origin_with_stickiness_cookie as f64 / self.origin_requests as f64
        }
    }
}

pub fn behavior_rows(parsed: &Parsed, scan: &Scan) -> Vec<BehaviorRow> {
    let cf = &parsed.cloudfront;
    let b = &scan.behaviors;
    let mut rows: Vec<BehaviorRow> = b
        .list
        .iter()
        .enumerate()
        .map(|(i, beh)| BehaviorRow {
            behavior: beh.pattern.clone(),
            is_static: beh.is_static,
            personalised: scan.detected.personalised.get(i).copied().unwrap_or(false),
            requests: beh.requests,
            flips: Cause::ALL.iter().map(|c| (c.name(), 0)).collect(),
            ..BehaviorRow::default()
        })
        .collect();
    for r in 0..cf.len() {
        if scan.join.alb_of(r).is_some() {
            let row = &mut rows[b.of_row[r] as usize];
            row.origin_requests += 1;
            if cf.cookie_flags[r] & crate::parse::cookie::sticky::TARGET_COOKIES != 0 {
                row.origin_with_stickiness_cookie += 1;
            }
        }
    }
    for f in &scan.detected.findings {
        let row = &mut rows[b.of_row[f.cf_row as usize] as usize];
        if let Some(c) = f.cause {
            *row.flips.entry(c.name()).or_default() += 1;
        }
        if f.kind == Kind::CacheHitShouldBeOrigin {
            row.flagged_hits += 1;
            if f.severity == Severity::High {
                row.leaks += 1;
            }
        }
    }
    rows.sort_by(|x, y| {
        (y.flip_total() + y.flagged_hits)
            .cmp(&(x.flip_total() + x.flagged_hits))
            .then(y.requests.cmp(&x.requests))
    });
    rows
}

fn write_findings(parsed: &Parsed, scan: &Scan, path: &Path) -> anyhow::Result<()> {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
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
        "filled_by_cf_request_id",
    ])?;
    let mut findings: Vec<&Finding> = scan.detected.findings.iter().collect();
    findings.sort_by_key(|f| (f.time_ms, f.kind, f.cf_row));
    for f in findings {
        let r = f.cf_row as usize;
        let (source, line) = match f.alb_row {
            Some(a) => (
                parsed.sources[alb.source[a as usize] as usize].clone(),
                alb.line[a as usize].to_string(),
            ),
            None => (String::new(), String::new()),
        };
        let behavior = &scan.behaviors.list[scan.behaviors.of_row[r] as usize].pattern;
        w.write_record([
            f.kind.name(),
            f.severity.name(),
            &iso_ms(f.time_ms),
            &scan.sessions.list[f.session as usize].id,
            &text(behavior),
            &text(cf.edge.get(r).unwrap_or_default()),
            &text(cf.request_id.get(r).unwrap_or_default()),
            &text(&source),
            &line,
            &text(f.target_before.as_deref().unwrap_or_default()),
            &text(f.target_after.as_deref().unwrap_or_default()),
            f.cause.map_or("", Cause::name),
            &text(&f.detail),
            &text(
                f.filled_by
                    .and_then(|x| cf.request_id.get(x as usize))
                    .unwrap_or_default(),
            ),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_joins(parsed: &Parsed, scan: &Scan, path: &Path) -> anyhow::Result<()> {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "cf_request_id",
        "alb_source",
        "alb_line",
        "method",
        "confidence",
        "evidence",
    ])?;
    for r in 0..cf.len() {
        let Some(a) = scan.join.alb_of(r) else {
            continue;
        };
        let method = scan.join.method[r].map_or("", |m| m.name());
        w.write_record([
            &text(cf.request_id.get(r).unwrap_or_default()),
            &text(&parsed.sources[alb.source[a] as usize]),
            &alb.line[a].to_string(),
            method,
            &format!("{:.3}", scan.join.confidence[r]),
            &crate::join::evidence::describe(scan.join.evidence[r]),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_unmatched(parsed: &Parsed, scan: &Scan, path: &Path) -> anyhow::Result<()> {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "side",
        "reason",
        "time",
        "cf_request_id",
        "alb_source",
        "alb_line",
        "edge_or_client",
        "method",
        "path",
    ])?;
    for r in 0..cf.len() {
        let reason = match (scan.join.reach[r], scan.join.alb_of(r)) {
            (Reach::Origin, None) => "no_alb_record",
            (Reach::Maybe, None) => "served_upstream",
            _ => continue,
        };
        w.write_record([
            "cloudfront",
            reason,
            &iso_ms(cf.time_ms[r]),
            &text(cf.request_id.get(r).unwrap_or_default()),
            "",
            "",
            &text(cf.edge.get(r).unwrap_or_default()),
            &text(cf.method.get(r).unwrap_or_default()),
            &text(cf.uri_stem.get(r).unwrap_or_default()),
        ])?;
    }
    for a in 0..alb.len() {
        if scan.join.cf_of(a).is_some() {
            continue;
        }
        w.write_record([
            "alb",
            alb_unmatched_reason(parsed, scan, a),
            &iso_ms(alb.time_us[a] / 1000),
            "",
            &text(&parsed.sources[alb.source[a] as usize]),
            &alb.line[a].to_string(),
            &text(alb.client_ip.get(a).unwrap_or_default()),
            &text(alb.method.get(a).unwrap_or_default()),
            &text(alb.path.get(a).unwrap_or_default()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_sessions(parsed: &Parsed, scan: &Scan, path: &Path) -> anyhow::Result<()> {
    let cf = &parsed.cloudfront;
    let mut flips = vec![0u32; scan.sessions.list.len()];
    let mut other = vec![0u32; scan.sessions.list.len()];
    for f in &scan.detected.findings {
        if f.kind == Kind::TargetFlip {
            flips[f.session as usize] += 1;
        } else {
            other[f.session as usize] += 1;
        }
    }
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "session",
        "key",
        "first_time",
        "last_time",
        "requests",
        "origin_requests",
        "session_bound_requests",
        "targets",
        "edges",
        "presented_stickiness_cookie",
        "flips",
        "other_findings",
        "viewer_ip",
        "user_agent",
    ])?;
    for (s, session) in scan.sessions.list.iter().enumerate() {
        let rows = scan.sessions.rows(s);
        let first = rows[0] as usize;
        let last = *rows.last().unwrap_or(&rows[0]) as usize;
        let mut targets = rustc_hash::FxHashSet::default();
        let mut edges = rustc_hash::FxHashSet::default();
        let (mut origin, mut bound, mut sticky) = (0, 0, false);
        for &r in rows {
            let r = r as usize;
            edges.insert(cf.edge.ids[r]);
            if let Some(a) = scan.join.alb_of(r) {
                origin += 1;
                targets.insert((parsed.alb.target_ip.ids[a], parsed.alb.target_port.get(a)));
            }
            bound += scan.detected.steps[r].session_bound as u32;
            sticky |= cf.cookie_flags[r] & crate::parse::cookie::sticky::TARGET_COOKIES != 0;
        }
        w.write_record([
            session.id.as_str(),
            session.kind.name(),
            &iso_ms(cf.time_ms[first]),
            &iso_ms(cf.time_ms[last]),
            &rows.len().to_string(),
            &origin.to_string(),
            &bound.to_string(),
            &targets.len().to_string(),
            &edges.len().to_string(),
            &sticky.to_string(),
            &flips[s].to_string(),
            &other[s].to_string(),
            &text(cf.client_ip.get(first).unwrap_or_default()),
            &text(cf.user_agent.get(first).unwrap_or_default()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Columns of `session_paths.csv` (also read back by `stickyaudit session`).
pub const PATH_COLUMNS: &[&str] = &[
    "session",
    "seq",
    "time",
    "cf_request_id",
    "edge",
    "behavior",
    "method",
    "path",
    "result_type",
    "status",
    "target",
    "target_group",
    "stickiness_cookie",
    "session_bound",
    "join",
    "confidence",
    "alb_source",
    "alb_line",
    "flip_cause",
];

/// One session path step as text cells (not yet spreadsheet-escaped).
pub fn path_cells(
    parsed: &Parsed,
    scan: &Scan,
    session: usize,
    seq: usize,
    row: usize,
) -> Vec<String> {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let a = scan.join.alb_of(row);
    let flip_cause = scan.detected.steps[row]
        .flip
        .and_then(|f| scan.detected.findings[f as usize].cause)
        .map_or("", Cause::name);
    vec![
        scan.sessions.list[session].id.clone(),
        seq.to_string(),
        iso_ms(cf.time_ms[row]),
        cf.request_id.get(row).unwrap_or_default().to_string(),
        cf.edge.get(row).unwrap_or_default().to_string(),
        scan.behaviors.list[scan.behaviors.of_row[row] as usize]
            .pattern
            .clone(),
        cf.method.get(row).unwrap_or_default().to_string(),
        cf.uri_stem.get(row).unwrap_or_default().to_string(),
        cf.result_type.get(row).unwrap_or_default().to_string(),
        cf.status
            .get(row)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        a.and_then(|a| alb.target(a)).unwrap_or_default(),
        a.and_then(|a| alb.target_group.get(a))
            .map(group_name)
            .unwrap_or_default()
            .to_string(),
        (cf.cookie_flags[row] & crate::parse::cookie::sticky::TARGET_COOKIES != 0).to_string(),
        scan.detected.steps[row].session_bound.to_string(),
        scan.join.method[row].map_or("", |m| m.name()).to_string(),
        if a.is_some() {
            format!("{:.3}", scan.join.confidence[row])
        } else {
            String::new()
        },
        a.map(|a| parsed.sources[alb.source[a] as usize].clone())
            .unwrap_or_default(),
        a.map(|a| alb.line[a].to_string()).unwrap_or_default(),
        flip_cause.to_string(),
    ]
}

fn write_paths(parsed: &Parsed, scan: &Scan, scope: PathScope, path: &Path) -> anyhow::Result<()> {
    let mut with_findings = vec![false; scan.sessions.list.len()];
    for f in &scan.detected.findings {
        with_findings[f.session as usize] = true;
    }
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(PATH_COLUMNS)?;
    for (s, has_findings) in with_findings.iter().enumerate() {
        if scope == PathScope::Findings && !has_findings {
            continue;
        }
        for (seq, &row) in scan.sessions.rows(s).iter().enumerate() {
            let cells = path_cells(parsed, scan, s, seq + 1, row as usize);
            w.write_record(cells.iter().map(|c| spreadsheet_safe(c).into_owned()))?;
        }
    }
    w.flush()?;
    Ok(())
}

fn write_behaviors(rows: &[BehaviorRow], path: &Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    let mut header = vec![
        "behavior".to_string(),
        "static".into(),
        "personalised".into(),
        "requests".into(),
        "origin_requests".into(),
        "stickiness_cookie_share".into(),
    ];
    header.extend(Cause::ALL.iter().map(|c| format!("flips_{}", c.name())));
    header.extend(["flagged_hits".to_string(), "leaks".into()]);
    w.write_record(&header)?;
    for r in rows {
        let mut cells = vec![
            text(&r.behavior),
            r.is_static.to_string(),
            r.personalised.to_string(),
            r.requests.to_string(),
            r.origin_requests.to_string(),
            format!("{:.4}", r.sticky_share()),
        ];
        cells.extend(
            Cause::ALL
                .iter()
                .map(|c| r.flips.get(c.name()).copied().unwrap_or(0).to_string()),
        );
        cells.extend([r.flagged_hits.to_string(), r.leaks.to_string()]);
        w.write_record(&cells)?;
    }
    w.flush()?;
    Ok(())
}

fn write_timeline(parsed: &Parsed, scan: &Scan, path: &Path) -> anyhow::Result<()> {
    let cf = &parsed.cloudfront;
    #[derive(Default)]
    struct Minute {
        requests: u64,
        origin: u64,
        flips: [u64; 5],
        hits: u64,
    }
    let mut minutes: BTreeMap<i64, Minute> = BTreeMap::new();
    for r in 0..cf.len() {
        let m = minutes.entry(cf.time_ms[r].div_euclid(60_000)).or_default();
        m.requests += 1;
        m.origin += scan.join.alb_of(r).is_some() as u64;
    }
    for f in &scan.detected.findings {
        let m = minutes.entry(f.time_ms.div_euclid(60_000)).or_default();
        if let Some(c) = f.cause {
            m.flips[Cause::ALL.iter().position(|x| *x == c).unwrap_or(4)] += 1;
        }
        if f.kind == Kind::CacheHitShouldBeOrigin {
            m.hits += 1;
        }
    }
    let mut w = csv::Writer::from_path(path)?;
    let mut header = vec![
        "minute".to_string(),
        "requests".into(),
        "origin_requests".into(),
    ];
    header.extend(Cause::ALL.iter().map(|c| format!("flips_{}", c.name())));
    header.push("flagged_hits".into());
    w.write_record(&header)?;
    for (minute, m) in minutes {
        let mut cells = vec![
            chrono::DateTime::from_timestamp(minute * 60, 0)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%MZ")
                .to_string(),
            m.requests.to_string(),
            m.origin.to_string(),
        ];
        cells.extend(m.flips.iter().map(u64::to_string));
        cells.push(m.hits.to_string());
        w.write_record(&cells)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes every report file of a scan into `dir`.
pub fn write_all(
    parsed: &Parsed,
    scan: &Scan,
    notes: &[String],
    scope: PathScope,
    dir: &Path,
) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let at = |name: &str| dir.join(name);
    let ctx = |name: &str| format!("cannot write `{}`", dir.join(name).display());
    write_findings(parsed, scan, &at("findings.csv")).with_context(|| ctx("findings.csv"))?;
    write_joins(parsed, scan, &at("joins.csv")).with_context(|| ctx("joins.csv"))?;
    write_unmatched(parsed, scan, &at("unmatched.csv")).with_context(|| ctx("unmatched.csv"))?;
    write_sessions(parsed, scan, &at("sessions.csv")).with_context(|| ctx("sessions.csv"))?;
    write_paths(parsed, scan, scope, &at("session_paths.csv"))
        .with_context(|| ctx("session_paths.csv"))?;
    let rows = behavior_rows(parsed, scan);
    write_behaviors(&rows, &at("behaviors.csv")).with_context(|| ctx("behaviors.csv"))?;
    write_timeline(parsed, scan, &at("timeline.csv")).with_context(|| ctx("timeline.csv"))?;
    super::health::write_csv(parsed, &at("parse_health.csv"))
        .with_context(|| ctx("parse_health.csv"))?;
    let summary = serde_json::json!({
        "totals": totals(parsed, scan),
        "behaviors": rows,
        "parse": {
            "cloudfront": stats_json(&parsed.totals(crate::parse::Family::CloudFront)),
            "alb": stats_json(&parsed.totals(crate::parse::Family::Alb)),
            "incomplete_input": parsed.incomplete(),
        },
        "notes": notes,
    });
    std::fs::write(at("summary.json"), serde_json::to_string_pretty(&summary)?)
        .with_context(|| ctx("summary.json"))?;
    Ok(())
}

fn stats_json(s: &crate::parse::LineStats) -> serde_json::Value {
    let rejected: BTreeMap<String, u64> = s
        .rejected
        .iter()
        .map(|(r, n)| (r.to_string(), *n))
        .collect();
    serde_json::json!({
        "lines_read": s.lines_read,
        "parsed": s.parsed,
        "outside_window": s.filtered,
        "skipped": s.skipped(),
        "rejected": rejected,
    })
}

fn pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// The terminal summary of a scan.
pub fn summary_text(parsed: &Parsed, scan: &Scan) -> String {
    let t = totals(parsed, scan);
    let mut out = super::health::summary_text(parsed);
    let missing = match (parsed.cloudfront.is_empty(), parsed.alb.is_empty()) {
        (false, true) => Some(
            "no ALB records: joins, target flips and never-delivered cookies need the ALB access logs too",
        ),
        (true, false) => {
            Some("no CloudFront records: sessions and every finding need the CloudFront logs too")
        }
        _ => None,
    };
    if let Some(note) = missing {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(
        out,
        "join: {} of {} CloudFront requests that may reach the origin matched an ALB record ({}; {} exact, {} scored){}",
        t.joined,
        t.origin_candidates,
        pct(t.joined, t.origin_candidates),
        t.joined_exact,
        t.joined_scored,
        t.trace_field
            .as_ref()
            .map(|f| format!("; exact join on trace field `{}`", terminal_safe(f)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  unmatched: {} must-reach-origin CloudFront requests with no ALB record, {} cacheable misses served upstream (regional cache / Origin Shield), {} ALB records without CloudFront ({} bypassed CloudFront)",
        t.cloudfront_unmatched_must,
        t.cloudfront_served_upstream,
        t.alb_unmatched,
        t.alb_bypassed_cloudfront
    );
    let _ = writeln!(
        out,
        "sessions: {} ({} keyed by session cookie)",
        t.sessions, t.sessions_by_cookie
    );
    let flips: Vec<String> = t
        .flips
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let total_flips: u64 = t.flips.values().sum();
    let _ = writeln!(
        out,
        "target flips: {total_flips}{}",
        if flips.is_empty() {
            String::new()
        } else {
            format!(" ({})", flips.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "cookie never delivered: {} sessions; cache hits that should reach the origin: {} ({} filled by another session: data leak)",
        t.findings
            .get("cookie_never_delivered")
            .copied()
            .unwrap_or(0),
        t.flagged_hits,
        t.leaks
    );
    let rows = behavior_rows(parsed, scan);
    let worst: Vec<&BehaviorRow> = rows
        .iter()
        .filter(|r| r.flip_total() + r.flagged_hits > 0)
        .take(5)
        .collect();
    if !worst.is_empty() {
        let _ = writeln!(out, "worst behaviors:");
        for r in worst {
            let causes: Vec<String> = r
                .flips
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "  {:<24} {} origin requests, {:.0}% presented a stickiness cookie, flips: {}{}",
                terminal_safe(&r.behavior),
                r.origin_requests,
                100.0 * r.sticky_share(),
                if causes.is_empty() {
                    "0".into()
                } else {
                    causes.join(", ")
                },
                if r.flagged_hits > 0 {
                    format!(", flagged hits {} ({} leaks)", r.flagged_hits, r.leaks)
                } else {
                    String::new()
                }
            );
        }
    }
    out
}

/// A readable timeline of one session path, from `session_paths.csv` cells.
pub fn render_path(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    if let Some(first) = rows.first() {
        let _ = writeln!(
            out,
            "session {} ({} requests)",
            terminal_safe(&first[0]),
            rows.len()
        );
    }
    for c in rows {
        let target = if c[10].is_empty() {
            "-".to_string()
        } else {
            c[10].clone()
        };
        let cookie = if c[12] == "true" {
            "AWSALB"
        } else {
            "no-cookie"
        };
        let flip = if c[18].is_empty() {
            String::new()
        } else {
            format!("  << FLIP ({})", c[18])
        };
        let line = format!(
            "{:>4} {} {:<10} {:<6} {:<40} {:<10} {:>3} {:<8} -> {:<22} {}{}",
            c[1], c[2], c[4], c[6], c[7], c[8], c[9], cookie, target, c[5], flip
        );
        let _ = writeln!(out, "{}", terminal_safe(&line));
    }
    out
}

/// The ordered findings of a run at or above `severity`.
pub fn reaches(scan: &Scan, severity: Severity) -> bool {
    scan.detected
        .findings
        .iter()
        .any(|f| f.severity >= severity)
}
