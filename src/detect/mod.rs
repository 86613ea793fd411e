//! Findings: target flips with their cause, stickiness cookies that never
//! reached the viewer, and cache hits that should have gone to the origin.

pub mod health;

use crate::join::Join;
use crate::parse::cookie::sticky;
use crate::session::behavior::Behaviors;
use crate::session::{KeyKind, Sessions};
use crate::table::alb::AlbTable;
use crate::table::cloudfront::CfTable;
use health::{Health, TargetHealth};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    TargetFlip,
    CookieNeverDelivered,
    CacheHitShouldBeOrigin,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TargetFlip => "target_flip",
            Kind::CookieNeverDelivered => "cookie_never_delivered",
            Kind::CacheHitShouldBeOrigin => "cache_hit_should_be_origin",
        }
    }
}

/// Why a session changed target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    NoCookie,
    CookieNotForwarded,
    TargetUnhealthy,
    CookieExpired,
    Unknown,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::NoCookie,
        Cause::CookieNotForwarded,
        Cause::TargetUnhealthy,
        Cause::CookieExpired,
        Cause::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cause::NoCookie => "no_cookie",
            Cause::CookieNotForwarded => "cookie_not_forwarded",
            Cause::TargetUnhealthy => "target_unhealthy",
            Cause::CookieExpired => "cookie_expired",
            Cause::Unknown => "unknown",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Cause::CookieNotForwarded => Severity::High,
            Cause::NoCookie | Cause::Unknown => Severity::Medium,
            Cause::TargetUnhealthy | Cause::CookieExpired => Severity::Low,
        }
    }
}

/// One reported problem with its evidence.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// CloudFront time of the request, ms.
    pub time_ms: i64,
    pub session: u32,
    pub cf_row: u32,
    pub alb_row: Option<u32>,
    pub target_before: Option<String>,
    pub target_after: Option<String>,
    pub cause: Option<Cause>,
    pub detail: String,
    /// For a leak: the CloudFront row that filled the cache.
    pub filled_by: Option<u32>,
}

/// Detection settings.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Stickiness duration; a longer gap lets the cookie expire, µs.
    pub stickiness_us: i64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            stickiness_us: 86_400 * 1_000_000,
        }
    }
}

/// What one step of a session path is, for reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Step {
    /// Index of the flip finding landing on this request, if any.
    pub flip: Option<u32>,
    /// This request counts for stickiness (an origin request on a
    /// session-bound route).
    pub session_bound: bool,
}

/// All findings of a scan.
#[derive(Debug, Default)]
pub struct Detected {
    pub findings: Vec<Finding>,
    /// Per CloudFront row.
    pub steps: Vec<Step>,
    /// Behaviors whose pages look personalised (cache must not answer them).
    pub personalised: Vec<bool>,
}

/// A target as (ip dict id, port).
type TargetKey = (u32, u32);

fn target_of(alb: &AlbTable, row: usize) -> Option<TargetKey> {
    let ip = alb.target_ip.ids[row];
    (ip != 0).then(|| (ip, alb.target_port.get(row).unwrap_or(0)))
}

fn presented_target_cookie(cf: &CfTable, row: usize) -> bool {
    cf.cookie_flags[row] & sticky::TARGET_COOKIES != 0
}

/// Runs every detector.
pub fn detect(
    cf: &CfTable,
    alb: &AlbTable,
    join: &Join,
    behaviors: &Behaviors,
    sessions: &Sessions,
    config: &DetectConfig,
) -> Detected {
    let health = TargetHealth::index(alb);
    let session_bound: Vec<bool> = (0..cf.len())
        .map(|r| {
            let b = &behaviors.list[behaviors.of_row[r] as usize];
            // Session-bound is a property of the behavior (the issue's
            // definition): a static-asset behavior sends misses anywhere.
            join.alb_of(r).is_some() && (b.configured_dynamic || !b.is_static)
        })
        .collect();
    let per_session: Vec<Vec<Finding>> = (0..sessions.list.len())
        .into_par_iter()
        .map(|s| {
            let mut out = flips(cf, alb, join, sessions, s, &session_bound, &health, config);
            out.extend(never_delivered(cf, join, sessions, s, &session_bound));
            out
        })
        .collect();
    let mut detected = Detected {
        steps: vec![Step::default(); cf.len()],
        ..Detected::default()
    };
    for (r, bound) in session_bound.iter().enumerate() {
        detected.steps[r].session_bound = *bound;
    }
    for finding in per_session.into_iter().flatten() {
        if finding.kind == Kind::TargetFlip {
            detected.steps[finding.cf_row as usize].flip = Some(detected.findings.len() as u32);
        }
        detected.findings.push(finding);
    }
    let (hits, personalised) = cache_hits(cf, behaviors, sessions);
    detected.findings.extend(hits);
    detected.personalised = personalised;
    detected
}

#[allow(clippy::too_many_arguments)]
fn flips(
    cf: &CfTable,
    alb: &AlbTable,
    join: &Join,
    sessions: &Sessions,
    s: usize,
    session_bound: &[bool],
    health: &TargetHealth,
    config: &DetectConfig,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    // When the session's own requests reached the ALB, sorted: they are not
    // evidence of how the targets served everyone else.
    let mut own_times: Vec<i64> = sessions
        .rows(s)
        .iter()
        .filter_map(|&r| join.alb_of(r as usize))
        .map(|a| alb.time_us[a])
        .collect();
    own_times.sort_unstable();
    // Previous session-bound origin request: (cf row, alb row, target).
    let mut prev: Option<(usize, usize, TargetKey)> = None;
    // The last flip, if it landed on the previous step: (from, cause).
    let mut last_flip: Option<(TargetKey, Cause)> = None;
    for &row in sessions.rows(s) {
        let row = row as usize;
        if !session_bound[row] {
            continue;
        }
        let Some(a) = join.alb_of(row) else { continue };
        let Some(target) = target_of(alb, a) else {
            continue;
        };
        let Some((prev_cf, prev_alb, prev_target)) = prev else {
            prev = Some((row, a, target));
            continue;
        };
        let same_group = alb.target_group.ids[a] == alb.target_group.ids[prev_alb];
        let flip_back = last_flip.take();
        if !same_group || target == prev_target {
            prev = Some((row, a, target));
            continue;
        }
        let now = sessions.arrival_us[row];
        let gap = now - sessions.arrival_us[prev_cf];
        let returned = matches!(flip_back, Some((from, _)) if from == target);
        let (cause, detail) = match flip_back {
            Some((_, cause)) if returned => (
                cause,
                "returned to the target it left on the previous request".to_string(),
            ),
            _ if !presented_target_cookie(cf, row) => (
                Cause::NoCookie,
                "the viewer presented no stickiness cookie on this request".to_string(),
            ),
            _ if gap > config.stickiness_us => (
                Cause::CookieExpired,
                format!(
                    "{} s since the previous origin request exceeds the stickiness duration",
                    gap / 1_000_000
                ),
            ),
            _ => {
                let own = |alb_row: usize| {
                    join.cf_of(alb_row)
                        .is_some_and(|c| sessions.of_row[c] as usize == s)
                };
                let verdict = health.judge(prev_target, now, own, &own_times);
                let text = verdict.describe(&alb.target(prev_alb).unwrap_or_default());
                let cause = match verdict {
                    Health::Serving { .. } => Cause::CookieNotForwarded,
                    Health::Stopped { .. } | Health::Failing { .. } => Cause::TargetUnhealthy,
                    Health::TooQuiet { .. } => Cause::Unknown,
                };
                (cause, format!("stickiness cookie presented; {text}"))
            }
        };
        out.push(Finding {
            kind: Kind::TargetFlip,
            severity: cause.severity(),
            time_ms: cf.time_ms[row],
            session: s as u32,
            cf_row: row as u32,
            alb_row: Some(a as u32),
            target_before: alb.target(prev_alb),
            target_after: alb.target(a),
            cause: Some(cause),
            detail,
            filled_by: None,
        });
        // A return closes the excursion; the next move is judged afresh.
        last_flip = (!returned).then_some((prev_target, cause));
        prev = Some((row, a, target));
    }
    out
}

fn never_delivered(
    cf: &CfTable,
    join: &Join,
    sessions: &Sessions,
    s: usize,
    session_bound: &[bool],
) -> Option<Finding> {
    let rows = sessions.rows(s);
    let keeps_cookies = sessions.list[s].kind == KeyKind::Cookie
        || rows
            .iter()
            .any(|&r| cf.cookie_flags[r as usize] & sticky::HEADER != 0);
    if !keeps_cookies {
        return None;
    }
    let bound = rows.iter().filter(|&&r| session_bound[r as usize]).count();
    if bound < 2
        || rows
            .iter()
            .any(|&r| presented_target_cookie(cf, r as usize))
    {
        return None;
    }
    let first = *rows.iter().find(|&&r| join.alb_of(r as usize).is_some())?;
    Some(Finding {
        kind: Kind::CookieNeverDelivered,
        severity: Severity::High,
        time_ms: cf.time_ms[first as usize],
        session: s as u32,
        cf_row: first,
        alb_row: join.alb_of(first as usize).map(|a| a as u32),
        target_before: None,
        target_after: None,
        cause: None,
        detail: format!(
            "{bound} origin requests on session-bound routes and not one presented a stickiness cookie: the ALB's Set-Cookie is not reaching the viewer"
        ),
        filled_by: None,
    })
}

/// Cache key of a CloudFront request: host, path and query ids.
type CacheKey = (u32, u32, u32);

fn cache_key(cf: &CfTable, row: usize) -> CacheKey {
    (
        cf.host_header.ids[row],
        cf.uri_stem.ids[row],
        cf.uri_query.ids[row],
    )
}

/// Decides which behaviors serve personalised responses: for cache keys
/// fetched from the origin by several sessions, the responses differ in
/// size from session to session (a static object has one or two sizes:
/// plain and compressed).
fn personalised_behaviors(
    cf: &CfTable,
    behaviors: &Behaviors,
    sessions: &Sessions,
    fills: &[u32],
) -> Vec<bool> {
    let mut sizes: FxHashMap<CacheKey, Vec<(u32, u64)>> = FxHashMap::default();
    for &r in fills {
        let r = r as usize;
        if let Some(bytes) = cf.sc_bytes.get(r) {
            sizes
                .entry(cache_key(cf, r))
                .or_default()
                .push((sessions.of_row[r], bytes));
        }
    }
    let mut votes = vec![(0u32, 0u32); behaviors.list.len()];
    let mut first_row: FxHashMap<CacheKey, usize> = FxHashMap::default();
    for &r in fills {
        first_row
            .entry(cache_key(cf, r as usize))
            .or_insert(r as usize);
    }
    for (key, mut list) in sizes {
        list.sort_unstable();
        list.dedup_by_key(|(s, _)| *s);
        if list.len() < 2 {
            continue;
        }
        let mut distinct: Vec<u64> = list.iter().map(|(_, b)| *b).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let b = behaviors.of_row[first_row[&key]] as usize;
        votes[b].1 += 1;
        // A static object has one size, or two (plain and compressed, the
        // compressed one well under half). Three or more sizes, or two of
        // similar magnitude, mean the origin answered each session its own.
        let varies = match distinct.as_slice() {
            [_] => false,
            [small, large] => small * 2 > *large,
            _ => true,
        };
        if varies {
            votes[b].0 += 1;
        }
    }
    behaviors
        .list
        .iter()
        .enumerate()
        .map(|(i, b)| {
            b.configured_dynamic || (!b.is_static && votes[i].1 > 0 && votes[i].0 * 2 >= votes[i].1)
        })
        .collect()
}

fn cache_hits(
    cf: &CfTable,
    behaviors: &Behaviors,
    sessions: &Sessions,
) -> (Vec<Finding>, Vec<bool>) {
    let miss = cf.result_type.dict.find("Miss");
    let refresh = cf.result_type.dict.find("RefreshHit");
    let hit = cf.result_type.dict.find("Hit");
    let fills: Vec<u32> = (0..cf.len() as u32)
        .filter(|&r| {
            let t = Some(cf.result_type.ids[r as usize]);
            t.is_some() && (t == miss || t == refresh)
        })
        .collect();
    let personalised = personalised_behaviors(cf, behaviors, sessions, &fills);
    if hit.is_none() {
        return (Vec::new(), personalised);
    }
    // Fills per (cache key, edge), in time order.
    let mut by_key: FxHashMap<(CacheKey, u32), Vec<(i64, u32)>> = FxHashMap::default();
    let mut by_key_any: FxHashMap<CacheKey, Vec<(i64, u32)>> = FxHashMap::default();
    for &r in &fills {
        let t = sessions.arrival_us[r as usize];
        let key = cache_key(cf, r as usize);
        by_key
            .entry((key, cf.edge.ids[r as usize]))
            .or_default()
            .push((t, r));
        by_key_any.entry(key).or_default().push((t, r));
    }
    for list in by_key.values_mut().chain(by_key_any.values_mut()) {
        list.sort_unstable();
    }
    let latest_before = |list: Option<&Vec<(i64, u32)>>, t: i64| {
        let list = list?;
        let i = list.partition_point(|&(ft, _)| ft <= t);
        (i > 0).then(|| list[i - 1].1)
    };
    let mut out = Vec::new();
    for r in 0..cf.len() {
        if Some(cf.result_type.ids[r]) != hit || !personalised[behaviors.of_row[r] as usize] {
            continue;
        }
        let in_session = cf.session_hash.get(r).is_some() || presented_target_cookie(cf, r);
        if !in_session {
            continue;
        }
        let t = sessions.arrival_us[r];
        let key = cache_key(cf, r);
        let filler = latest_before(by_key.get(&(key, cf.edge.ids[r])), t)
            .or_else(|| latest_before(by_key_any.get(&key), t));
        let leak = filler.is_some_and(|f| sessions.of_row[f as usize] != sessions.of_row[r]);
        let pattern = &behaviors.list[behaviors.of_row[r] as usize].pattern;
        let detail = match (filler, leak) {
            (Some(f), true) => format!(
                "a session request on `{pattern}` was answered from cache; the cached copy was filled by another session's request {} (data leak)",
                cf.request_id.get(f as usize).unwrap_or("-")
            ),
            (Some(f), false) => format!(
                "a session request on `{pattern}` was answered from cache (filled by this session's request {})",
                cf.request_id.get(f as usize).unwrap_or("-")
            ),
            (None, _) => format!(
                "a session request on `{pattern}` was answered from cache; no fill in these logs"
            ),
        };
        out.push(Finding {
            kind: Kind::CacheHitShouldBeOrigin,
            severity: if leak {
                Severity::High
            } else {
                Severity::Medium
            },
            time_ms: cf.time_ms[r],
            session: sessions.of_row[r],
            cf_row: r as u32,
            alb_row: None,
            target_before: None,
            target_after: None,
            cause: None,
            detail,
            filled_by: filler,
        });
    }
    (out, personalised)
}
