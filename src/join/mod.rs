//! Which ALB request served which CloudFront request.
//!
//! 1. Exact: when a custom `X-Amzn-Trace-Id` field carries the CloudFront
//!    request id (set by a viewer-request CloudFront Function), rows join on
//!    it. The field is found automatically or named with `--trace-field`.
//! 2. Scored: the rest are blocked by method and path, then by the edge that
//!    owns the ALB client IP (learnt from unambiguous pairs), and candidates
//!    inside the time window are scored on timing, edge, query, user agent,
//!    status, bytes and host. Pairs are taken best-first; each ALB record is
//!    used at most once. Work per CloudFront record is bounded, so the join is
//!    O(n log n) overall and runs per block in parallel.

use crate::session::behavior::Behaviors;
use crate::table::alb::AlbTable;
use crate::table::cloudfront::CfTable;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Marker for "no row".
pub const NONE: u32 = u32::MAX;

/// Whether a CloudFront request can have reached the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Answered at the edge (Hit, Redirect, generated, blocked, …).
    Edge,
    /// May have been answered by a regional edge cache or Origin Shield
    /// (a cacheable Miss, a RefreshHit, an Error).
    Maybe,
    /// Must have reached the origin (non-cacheable method, dynamic behavior,
    /// WebSocket).
    Origin,
}

/// How a pair was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMethod {
    Exact,
    Scored,
}

impl JoinMethod {
    pub fn name(self) -> &'static str {
        match self {
            JoinMethod::Exact => "exact",
            JoinMethod::Scored => "scored",
        }
    }
}

/// Evidence bits recorded with each scored pair.
pub mod evidence {
    pub const TIME: u16 = 1;
    pub const EDGE: u16 = 1 << 1;
    pub const QUERY: u16 = 1 << 2;
    pub const USER_AGENT: u16 = 1 << 3;
    pub const STATUS: u16 = 1 << 4;
    pub const BYTES: u16 = 1 << 5;
    pub const HOST: u16 = 1 << 6;
    /// The only feasible candidate.
    pub const UNIQUE: u16 = 1 << 7;
    pub const TRACE_ID: u16 = 1 << 8;
    /// Decided by the session's stickiness (the viewer stays on its target).
    pub const STICKY: u16 = 1 << 9;

    const NAMES: &[(u16, &str)] = &[
        (TRACE_ID, "trace_id"),
        (UNIQUE, "unique"),
        (TIME, "time"),
        (EDGE, "edge"),
        (QUERY, "query"),
        (USER_AGENT, "user_agent"),
        (STATUS, "status"),
        (BYTES, "bytes"),
        (HOST, "host"),
        (STICKY, "session_target"),
    ];

    /// `time+edge+status`, in a fixed order.
    pub fn describe(bits: u16) -> String {
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, n)| *n)
            .collect();
        names.join("+")
    }
}

/// Join settings.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// The custom trace field that carries the CloudFront request id; found
    /// automatically when `None`.
    pub trace_field: Option<String>,
    /// Candidates kept per CloudFront record.
    pub max_candidates: usize,
    /// Tolerated clock difference between the two services, µs.
    pub skew_us: i64,
}

impl Default for JoinConfig {
    fn default() -> Self {
        JoinConfig {
            trace_field: None,
            max_candidates: 4,
            skew_us: 50_000,
        }
    }
}

/// The join of the two tables.
#[derive(Debug, Default)]
pub struct Join {
    pub reach: Vec<Reach>,
    /// ALB row of each CloudFront row, or [`NONE`].
    pub cf_to_alb: Vec<u32>,
    /// CloudFront row of each ALB row, or [`NONE`].
    pub alb_to_cf: Vec<u32>,
    pub method: Vec<Option<JoinMethod>>,
    pub confidence: Vec<f32>,
    pub evidence: Vec<u16>,
    /// The trace field used for exact joins.
    pub trace_field: Option<String>,
    /// ALB client IPs attributed to an edge (CloudFront edge dict id).
    pub edge_of_ip: FxHashMap<u32, u32>,
}

impl Join {
    pub fn alb_of(&self, cf_row: usize) -> Option<usize> {
        let a = self.cf_to_alb[cf_row];
        (a != NONE).then_some(a as usize)
    }

    pub fn cf_of(&self, alb_row: usize) -> Option<usize> {
        let c = self.alb_to_cf[alb_row];
        (c != NONE).then_some(c as usize)
    }

    pub fn pairs(&self) -> usize {
        self.cf_to_alb.iter().filter(|&&a| a != NONE).count()
    }

    fn unlink(&mut self, cf_row: usize) {
        if let Some(a) = self.alb_of(cf_row) {
            self.alb_to_cf[a] = NONE;
        }
        self.cf_to_alb[cf_row] = NONE;
        self.method[cf_row] = None;
        self.confidence[cf_row] = 0.0;
        self.evidence[cf_row] = 0;
    }

    fn link(&mut self, cf: u32, alb: u32, method: JoinMethod, confidence: f32, evidence: u16) {
        self.cf_to_alb[cf as usize] = alb;
        self.alb_to_cf[alb as usize] = cf;
        self.method[cf as usize] = Some(method);
        self.confidence[cf as usize] = confidence;
        self.evidence[cf as usize] = evidence;
    }
}

const CLIENT_SIDE_ERRORS: &[&str] = &[
    "ClientGeoBlocked",
    "InvalidRequest",
    "InvalidRequestBlocked",
    "InvalidRequestCertificate",
    "InvalidRequestHeader",
    "InvalidRequestMethod",
    "OriginDnsError",
    "OriginConnectError",
];

/// Classifies every CloudFront row by whether it can have reached the origin.
pub fn reach(cf: &CfTable, behaviors: &Behaviors) -> Vec<Reach> {
    let result: Vec<&str> = dict_strings(&cf.result_type);
    let detailed: Vec<&str> = dict_strings(&cf.detailed_result_type);
    let method: Vec<&str> = dict_strings(&cf.method);
    let protocol: Vec<&str> = dict_strings(&cf.protocol);
    (0..cf.len())
        .map(|row| {
            let r = result[cf.result_type.ids[row] as usize];
            let d = detailed[cf.detailed_result_type.ids[row] as usize];
            let m = method[cf.method.ids[row] as usize];
            let cacheable_method = matches!(m, "GET" | "HEAD" | "");
            let websocket = matches!(protocol[cf.protocol.ids[row] as usize], "ws" | "wss");
            let behavior = &behaviors.list[behaviors.of_row[row] as usize];
            if matches!(
                d,
                "MissGeneratedResponse" | "FunctionGeneratedResponse" | "OriginShieldHit"
            ) {
                return Reach::Edge;
            }
            match r {
                "Hit"
                | "OriginShieldHit"
                | "LimitExceeded"
                | "CapacityExceeded"
                | "Redirect"
                | "LambdaExecutionError" => Reach::Edge,
                "Miss" if websocket || !cacheable_method => Reach::Origin,
                "Miss" if behavior.caches() => Reach::Maybe,
                "Miss" => Reach::Origin,
                "Error" if CLIENT_SIDE_ERRORS.contains(&d) => Reach::Edge,
                _ => Reach::Maybe,
            }
        })
        .collect()
}

fn dict_strings(col: &crate::table::column::StrColumn) -> Vec<&str> {
    std::iter::once("")
        .chain(col.dict.iter().map(|(_, s)| s))
        .collect()
}

/// Maps each id of `from` to the id of the same string in `to` (or NONE).
fn translate(
    from: &crate::table::column::StrColumn,
    to: &crate::table::column::StrColumn,
) -> Vec<u32> {
    std::iter::once(NONE)
        .chain(
            from.dict
                .iter()
                .map(|(_, s)| to.dict.find(s).unwrap_or(NONE)),
        )
        .collect()
}

/// Finds the custom trace field whose values are CloudFront request ids.
pub fn detect_trace_field(
    cf: &CfTable,
    alb: &AlbTable,
    ids: &FxHashMap<u64, u32>,
) -> Option<String> {
    let mut counts: FxHashMap<String, (u64, u64)> = Default::default();
    let mut seen = 0;
    for row in 0..alb.len() {
        let Some(custom) = alb.trace_custom.get(row) else {
            continue;
        };
        seen += 1;
        if seen > 20_000 {
            break;
        }
        for part in custom.split(';') {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let entry = counts.entry(name.to_string()).or_default();
            entry.0 += 1;
            if lookup_request_id(cf, ids, value).is_some() {
                entry.1 += 1;
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, (n, hits))| *hits > 0 && hits * 5 >= *n)
        .max_by_key(|(_, (_, hits))| *hits)
        .map(|(name, _)| name)
}

fn request_id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id.as_bytes())
}

fn lookup_request_id(cf: &CfTable, ids: &FxHashMap<u64, u32>, value: &str) -> Option<u32> {
    let row = *ids.get(&request_id_hash(value))?;
    (cf.request_id.get(row as usize) == Some(value)).then_some(row)
}

/// Per-row numbers the scorer needs, computed once.
struct CfFeat {
    end_lo: i64,
    end_hi: i64,
    tau: i64,
    precise: bool,
    edge: u32,
    status: u16,
    bytes: u64,
    query: u32,
    ua: u32,
    host: u32,
}

struct AlbFeat {
    time: i64,
    created: i64,
    edge: u32,
    status: u16,
    bytes: u64,
    query: u32,
    ua: u32,
    host: u32,
}

/// The ALB user agent when a behavior does not forward the viewer's.
const CLOUDFRONT_UA: u32 = NONE - 1;

fn cf_features(cf: &CfTable) -> Vec<CfFeat> {
    (0..cf.len())
        .map(|r| {
            let precise = cf.time_is_ms[r];
            let end_lo = cf.time_ms[r] * 1000;
            CfFeat {
                end_lo,
                end_hi: end_lo + if precise { 1000 } else { 1_000_000 },
                tau: cf.time_taken_us.get(r).map_or(60_000_000, i64::from),
                precise,
                edge: cf.edge.ids[r],
                status: cf.status.get(r).unwrap_or(u16::MAX),
                bytes: cf.sc_bytes.get(r).unwrap_or(u64::MAX),
                query: cf.uri_query.ids[r],
                ua: cf.user_agent.ids[r],
                host: cf.host_header.ids[r],
            }
        })
        .collect()
}

fn alb_features(cf: &CfTable, alb: &AlbTable) -> Vec<AlbFeat> {
    let query = translate(&alb.query, &cf.uri_query);
    let mut ua = translate(&alb.user_agent, &cf.user_agent);
    if let Some(id) = alb.user_agent.dict.find("Amazon CloudFront") {
        ua[id as usize] = CLOUDFRONT_UA;
    }
    let host = translate(&alb.host, &cf.host_header);
    (0..alb.len())
        .map(|r| {
            let time = alb.time_us[r];
            AlbFeat {
                time,
                created: alb.request_creation_us.get(r).unwrap_or(time),
                edge: NONE,
                status: alb.elb_status.get(r).unwrap_or(u16::MAX),
                bytes: alb.sent_bytes.get(r).unwrap_or(u64::MAX),
                query: match alb.query.ids[r] {
                    0 => 0,
                    id => query[id as usize],
                },
                ua: ua[alb.user_agent.ids[r] as usize],
                host: host[alb.host.ids[r] as usize],
            }
        })
        .collect()
}

/// Both tables' features, ALB rows tagged with the edge learnt for their
/// client IP.
fn features_with_edges(cf: &CfTable, alb: &AlbTable, j: &Join) -> (Vec<CfFeat>, Vec<AlbFeat>) {
    let mut alb_feats = alb_features(cf, alb);
    tag_edges(&mut alb_feats, alb, j);
    (cf_features(cf), alb_feats)
}

fn tag_edges(alb_feats: &mut [AlbFeat], alb: &AlbTable, j: &Join) {
    for (r, f) in alb_feats.iter_mut().enumerate() {
        f.edge = j
            .edge_of_ip
            .get(&alb.client_ip.ids[r])
            .copied()
            .unwrap_or(NONE);
    }
}

/// Scores a candidate pair; `None` when timing rules it out.
fn score(c: &CfFeat, a: &AlbFeat, skew: i64) -> Option<(f32, u16)> {
    use evidence::*;
    // What the physics allows: the ALB received the request after the edge
    // did and finished before the edge's last byte, within time-taken.
    // slack = latency to the ALB + transfer after it; both are >= 0, so the
    // ALB finished at most `slack` before the edge did. Disagreements cost
    // score instead of ruling a candidate out, up to TIMING_TOLERANCE, so
    // logs from clocks or pipelines less tidy than AWS's still join.
    let alb_duration = a.time - a.created;
    let slack = c.tau - alb_duration;
    let mut violation = (a.time - (c.end_hi + skew)).max(0)
        + ((c.end_lo - c.tau - skew) - a.created).max(0)
        + (-skew - slack).max(0)
        + ((c.end_lo - slack.max(0) - skew) - a.time).max(0);
    let mut s;
    if c.precise {
        // Edge-to-origin latency before the ALB saw it, and transfer after.
        let latency = a.created - (c.end_lo - c.tau);
        let transfer = c.end_lo - a.time;
        violation += (-skew - latency).max(0) + (-skew - transfer).max(0);
        s = -(latency.max(0) as f32 / 20_000.0).min(6.0)
            - (transfer.max(0) as f32 / 20_000.0).min(6.0);
    } else {
        s = -(slack.max(0) as f32 / 30_000.0).min(6.0);
        let late_gap = c.end_lo - a.time;
        if late_gap > 0 {
            s -= (late_gap as f32 / 100_000.0).min(6.0);
        }
    }
    if violation > TIMING_TOLERANCE {
        return None;
    }
    s -= violation as f32 / 30_000.0;
    let mut ev = TIME;
    if a.edge != NONE {
        if a.edge == c.edge {
            s += 2.5;
            ev |= EDGE;
        } else {
            s -= 4.0;
        }
    }
    if c.status == a.status {
        s += 1.0;
        ev |= STATUS;
    } else if !(c.status == 200 && a.status == 304 || c.status == 304 && a.status == 200) {
        s -= 1.5;
    }
    if c.bytes != u64::MAX && a.bytes != u64::MAX {
        // CloudFront adds its own headers (Via, X-Cache, X-Amz-Cf-*): a few
        // hundred bytes more than the ALB sent, when neither side compressed.
        let added = c.bytes as i64 - a.bytes as i64;
        if (0..=700).contains(&added) {
            s += 2.0;
            ev |= BYTES;
        } else if c.bytes.abs_diff(a.bytes) * 33 <= c.bytes.max(a.bytes) {
            s += 0.5;
            ev |= BYTES;
        } else {
            s -= 0.5;
        }
    }
    match (c.query, a.query) {
        (0, 0) => {}
        (q, 0) if q != 0 => {}
        (q, aq) if q == aq => {
            s += 2.0;
            ev |= QUERY;
        }
        _ => s -= 4.0,
    }
    if a.ua != CLOUDFRONT_UA {
        if a.ua == c.ua && c.ua != 0 {
            s += 1.5;
            ev |= USER_AGENT;
        } else {
            s -= 2.0;
        }
    }
    if a.host == c.host && c.host != 0 {
        s += 0.3;
        ev |= HOST;
    }
    Some((s, ev))
}

/// How far, in µs, a candidate's timing may disagree with what the two
/// logs' definitions allow before it is dropped; each 30 ms costs 1 point.
const TIMING_TOLERANCE: i64 = 2_000_000;

/// ALB records scored per CloudFront record at most, nearest in time first.
const SCAN_LIMIT: usize = 16;

/// Lowest score a scored pair may have.
const MIN_SCORE: f32 = -70.0;

/// A block of ALB rows (one method+path, one edge), sorted by time.
struct Block<'a> {
    /// (time, ALB row), sorted: the times sit beside the rows so the
    /// search reads one contiguous array.
    rows: &'a [(i64, u32)],
}

/// ALB rows with their times, sorted by time, ready for a [`Block`].
fn timed(rows: &[u32], feats: &[AlbFeat]) -> Vec<(i64, u32)> {
    let mut out: Vec<(i64, u32)> = rows.iter().map(|&r| (feats[r as usize].time, r)).collect();
    out.sort_unstable();
    out
}

impl Block<'_> {
    /// Fills `out` with the ALB rows whose time can fall in the window of
    /// `c`, nearest first to where the partner most likely finished (inside
    /// the edge's last second), at most `cap`: on a hot path one CloudFront
    /// record never costs more than `cap` scores.
    fn nearest(&self, c: &CfFeat, skew: i64, cap: usize, out: &mut Vec<u32>) {
        out.clear();
        let lo = c.end_lo - c.tau - skew - TIMING_TOLERANCE;
        let hi = c.end_hi + skew + TIMING_TOLERANCE;
        let center = (c.end_lo + c.end_hi) / 2;
        let rows = self.rows;
        let split = rows.partition_point(|&(t, _)| t < center);
        let (mut left, mut right) = (split, split);
        while out.len() < cap {
            let before = (left > 0 && rows[left - 1].0 >= lo).then(|| rows[left - 1]);
            let after = (right < rows.len() && rows[right].0 <= hi).then(|| rows[right]);
            match (before, after) {
                (Some((bt, b)), Some((at, _))) if center - bt <= at - center => {
                    out.push(b);
                    left -= 1;
                }
                (_, Some((_, a))) => {
                    out.push(a);
                    right += 1;
                }
                (Some((_, b)), None) => {
                    out.push(b);
                    left -= 1;
                }
                (None, None) => break,
            }
        }
    }
}

/// Joins the two tables.
pub fn join(cf: &CfTable, alb: &AlbTable, behaviors: &Behaviors, config: &JoinConfig) -> Join {
    let mut j = Join {
        reach: reach(cf, behaviors),
        cf_to_alb: vec![NONE; cf.len()],
        alb_to_cf: vec![NONE; alb.len()],
        method: vec![None; cf.len()],
        confidence: vec![0.0; cf.len()],
        evidence: vec![0; cf.len()],
        ..Join::default()
    };
    exact_join(cf, alb, config, &mut j);
    scored_join(cf, alb, config, &mut j);
    j
}

fn exact_join(cf: &CfTable, alb: &AlbTable, config: &JoinConfig, j: &mut Join) {
    if alb.trace_custom.is_empty() || (0..alb.len()).all(|r| alb.trace_custom.get(r).is_none()) {
        return;
    }
    let mut ids: FxHashMap<u64, u32> = FxHashMap::default();
    ids.reserve(cf.len());
    for row in 0..cf.len() {
        if let Some(id) = cf.request_id.get(row) {
            ids.insert(request_id_hash(id), row as u32);
        }
    }
    let field = config
        .trace_field
        .clone()
        .or_else(|| detect_trace_field(cf, alb, &ids));
    let Some(field) = field else { return };
    for row in 0..alb.len() {
        let Some(custom) = alb.trace_custom.get(row) else {
            continue;
        };
        let Some(value) = crate::parse::alb::trace_field(custom, &field) else {
            continue;
        };
        if let Some(cf_row) = lookup_request_id(cf, &ids, value) {
            if j.cf_to_alb[cf_row as usize] == NONE {
                j.link(
                    cf_row,
                    row as u32,
                    JoinMethod::Exact,
                    1.0,
                    evidence::TRACE_ID,
                );
            }
        }
    }
    j.trace_field = Some(field);
}

type Groups = Vec<(Vec<u32>, Vec<u32>)>;

/// Groups unjoined candidates of both tables by (method, path).
fn group(cf: &CfTable, alb: &AlbTable, j: &Join) -> Groups {
    group_where(cf, alb, j, &|_| true)
}

/// Like [`group`], for the CloudFront rows `keep` accepts.
fn group_where(
    cf: &CfTable,
    alb: &AlbTable,
    j: &Join,
    keep: &(dyn Fn(usize) -> bool + Sync),
) -> Groups {
    let method = translate(&alb.method, &cf.method);
    let path = translate(&alb.path, &cf.uri_stem);
    let mut index: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    let mut groups: Groups = Vec::new();
    for row in 0..cf.len() {
        if j.reach[row] == Reach::Edge || j.cf_to_alb[row] != NONE || !keep(row) {
            continue;
        }
        let key = (cf.method.ids[row], cf.uri_stem.ids[row]);
        let g = *index.entry(key).or_insert_with(|| {
            groups.push((Vec::new(), Vec::new()));
            groups.len() as u32 - 1
        });
        groups[g as usize].0.push(row as u32);
    }
    for row in 0..alb.len() {
        if j.alb_to_cf[row] != NONE {
            continue;
        }
        let key = (
            method[alb.method.ids[row] as usize],
            path[alb.path.ids[row] as usize],
        );
        if let Some(&g) = index.get(&key) {
            groups[g as usize].1.push(row as u32);
        }
    }
    groups
}

fn scored_join(cf: &CfTable, alb: &AlbTable, config: &JoinConfig, j: &mut Join) {
    let groups = group(cf, alb, j);
    let cf_feats = cf_features(cf);
    let mut alb_feats = alb_features(cf, alb);
    let skew = config.skew_us;

    // Pass 1: learn which edge owns each ALB client IP from pairs that have
    // a single feasible candidate.
    let votes: Vec<(u32, u32)> = groups
        .par_iter()
        .flat_map_iter(|(cfs, albs)| {
            let sorted = timed(albs, &alb_feats);
            let block = Block { rows: &sorted };
            let mut out = Vec::new();
            let mut near = Vec::new();
            for &c in cfs {
                let feat = &cf_feats[c as usize];
                block.nearest(feat, skew, SCAN_LIMIT, &mut near);
                // A vote needs a clear winner: agreeing evidence beyond the
                // timing, and no rival within 3 points of it.
                let (mut best, mut second) = (None::<(f32, u32)>, f32::NEG_INFINITY);
                for &a in &near {
                    let Some((s, _)) = score(feat, &alb_feats[a as usize], skew) else {
                        continue;
                    };
                    match best {
                        Some((b, _)) if s <= b => second = second.max(s),
                        _ => {
                            second = best.map_or(second, |(b, _)| second.max(b));
                            best = Some((s, a));
                        }
                    }
                }
                if let Some((_, a)) = best.filter(|&(s, _)| s > 0.5 && second < s - 3.0) {
                    out.push((alb.client_ip.ids[a as usize], feat.edge));
                }
            }
            out
        })
        .collect();
    attribute_ips(votes, j);
    tag_edges(&mut alb_feats, alb, j);

    // Pass 2: score candidates per block and take pairs best-first.
    match_all(
        cf,
        alb,
        j,
        groups,
        &cf_feats,
        &alb_feats,
        config,
        None,
        &|_| true,
    );
}

/// Matches every group: first each (group, edge) part on its own, in
/// parallel (a hot path is one huge group, and its edges split it), then
/// what is left of each group, ALB records of unknown edges included.
#[allow(clippy::too_many_arguments)]
fn match_all(
    cf: &CfTable,
    alb: &AlbTable,
    j: &mut Join,
    groups: Groups,
    cf_feats: &[CfFeat],
    alb_feats: &[AlbFeat],
    config: &JoinConfig,
    prior: Option<(&[u64], &[u64])>,
    keep: &(dyn Fn(usize) -> bool + Sync),
) {
    let (skew, cap) = (config.skew_us, config.max_candidates);
    let parts: Groups = groups
        .par_iter()
        .flat_map_iter(|(cfs, albs)| {
            let mut by_edge: FxHashMap<u32, (Vec<u32>, Vec<u32>)> = FxHashMap::default();
            for &a in albs {
                let edge = alb_feats[a as usize].edge;
                if edge != NONE {
                    by_edge.entry(edge).or_default().1.push(a);
                }
            }
            for &c in cfs {
                if let Some(part) = by_edge.get_mut(&cf_feats[c as usize].edge) {
                    part.0.push(c);
                }
            }
            by_edge
                .into_values()
                .filter(|(c, a)| !c.is_empty() && !a.is_empty())
        })
        .collect();
    drop(groups);
    let link_all = |j: &mut Join, groups: &Groups| {
        let links: Vec<(u32, u32, f32, u16)> = groups
            .par_iter()
            .flat_map_iter(|(cfs, albs)| {
                match_group(cfs, albs, cf_feats, alb_feats, skew, cap, prior)
            })
            .collect();
        for (c, a, conf, ev) in links {
            j.link(c, a, JoinMethod::Scored, conf, ev);
        }
    };
    link_all(j, &parts);
    drop(parts);
    let rest = group_where(cf, alb, j, keep);
    link_all(j, &rest);
}

/// Score a swap may cost and still be made to keep a viewer on its target.
const REPAIR_TOLERANCE: f32 = 2.0;

/// Re-pairs CloudFront requests that landed on another target than the one
/// their session's stickiness cookie points to (`expected[row]`), when an
/// ALB record on the expected target is a feasible partner and taking it
/// (swapping with that record's current partner, if any) costs at most
/// [`REPAIR_TOLERANCE`] in total score. The logs alone cannot tell such
/// pairs apart; a viewer that keeps its target is the likelier story, and
/// a genuine move survives because its evidence costs more to swap.
/// Returns the number of requests re-paired.
pub fn repair_flips(
    cf: &CfTable,
    alb: &AlbTable,
    j: &mut Join,
    expected: &[u64],
    config: &JoinConfig,
) -> usize {
    let method = translate(&alb.method, &cf.method);
    let path = translate(&alb.path, &cf.uri_stem);
    let targets: Vec<u64> = (0..alb.len()).map(|r| target_key(alb, r)).collect();
    let suspects: Vec<usize> = (0..cf.len())
        .filter(|&r| {
            expected[r] != NONE_TARGET
                && j.method[r] == Some(JoinMethod::Scored)
                && j.alb_of(r).is_some_and(|a| targets[a] != expected[r])
        })
        .collect();
    if suspects.is_empty() {
        return 0;
    }
    let (cf_feats, alb_feats) = features_with_edges(cf, alb, j);
    let mut by_key: FxHashMap<(u32, u32), Vec<(i64, u32)>> = FxHashMap::default();
    for a in 0..alb.len() {
        let key = (
            method[alb.method.ids[a] as usize],
            path[alb.path.ids[a] as usize],
        );
        if key.0 != NONE && key.1 != NONE {
            by_key
                .entry(key)
                .or_default()
                .push((alb_feats[a].time, a as u32));
        }
    }
    for rows in by_key.values_mut() {
        rows.sort_unstable();
    }
    let skew = config.skew_us;
    let score_of = |c: usize, a: usize| score(&cf_feats[c], &alb_feats[a], skew).map(|(s, _)| s);
    let mut repaired = 0;
    let mut near = Vec::new();
    for r in suspects {
        let Some(current) = j.alb_of(r) else { continue };
        if targets[current] == expected[r] {
            continue;
        }
        let Some(s_now) = score_of(r, current) else {
            continue;
        };
        let Some(block) = by_key.get(&(cf.method.ids[r], cf.uri_stem.ids[r])) else {
            continue;
        };
        let block = Block { rows: block };
        let mut best: Option<(f32, usize, Option<usize>)> = None;
        block.nearest(&cf_feats[r], skew, 64, &mut near);
        for &a2 in &near {
            let a2 = a2 as usize;
            if a2 == current || targets[a2] != expected[r] {
                continue;
            }
            let Some(s_r_new) = score_of(r, a2) else {
                continue;
            };
            let (change, other) = match j.cf_of(a2) {
                None => (s_r_new - s_now, None),
                Some(r2) => {
                    if j.method[r2] == Some(JoinMethod::Exact) {
                        continue;
                    }
                    // The other request must not be pulled off its own target.
                    if expected[r2] != NONE_TARGET && expected[r2] == targets[a2] {
                        continue;
                    }
                    let (Some(s_r2_now), Some(s_r2_new)) =
                        (score_of(r2, a2), score_of(r2, current))
                    else {
                        continue;
                    };
                    (s_r_new + s_r2_new - s_now - s_r2_now, Some(r2))
                }
            };
            if change >= -REPAIR_TOLERANCE && best.is_none_or(|(b, _, _)| change > b) {
                best = Some((change, a2, other));
            }
        }
        let Some((_, a2, other)) = best else { continue };
        let ev = j.evidence[r] | evidence::STICKY;
        j.alb_to_cf[current] = NONE;
        if let Some(r2) = other {
            let ev2 = j.evidence[r2] | evidence::STICKY;
            j.link(r2 as u32, current as u32, JoinMethod::Scored, 0.5, ev2);
        }
        j.link(r as u32, a2 as u32, JoinMethod::Scored, 0.5, ev);
        repaired += 1;
    }
    repaired
}

/// Attributes ALB client IPs to edges from every confident pair: far more
/// evidence than the unambiguous pairs of the first pass, so busy paths,
/// where few pairs are unambiguous, get their IPs attributed too.
fn learn_edges_from_pairs(cf: &CfTable, alb: &AlbTable, j: &mut Join) {
    let votes: Vec<(u32, u32)> = (0..cf.len())
        .filter(|&row| j.confidence[row] >= REMATCH_BELOW)
        .filter_map(|row| Some((alb.client_ip.ids[j.alb_of(row)?], cf.edge.ids[row])))
        .collect();
    attribute_ips(votes, j);
}

/// Attributes each ALB client IP to the edge most of its `(ip, edge)` votes
/// name, when there are at least two and 80 % agree.
fn attribute_ips(votes: Vec<(u32, u32)>, j: &mut Join) {
    let mut tally: FxHashMap<u32, FxHashMap<u32, u32>> = FxHashMap::default();
    for (ip, edge) in votes {
        *tally.entry(ip).or_default().entry(edge).or_default() += 1;
    }
    for (ip, edges) in tally {
        let total: u32 = edges.values().sum();
        if let Some((&edge, &n)) = edges.iter().max_by_key(|(_, n)| **n) {
            if n >= 2 && n * 5 >= total * 4 {
                j.edge_of_ip.insert(ip, edge);
            }
        }
    }
}

/// Confidence below which a scored pair is matched again with the
/// session's stickiness as a tie-breaker.
pub const REMATCH_BELOW: f32 = 0.9;

/// Target of an ALB row as one number (`NONE_TARGET` when it has none).
pub fn target_key(alb: &AlbTable, row: usize) -> u64 {
    match alb.target_ip.ids[row] {
        0 => NONE_TARGET,
        ip => (u64::from(ip) << 32) | u64::from(alb.target_port.get(row).unwrap_or(0)),
    }
}

pub const NONE_TARGET: u64 = u64::MAX;

/// Matches the low-confidence scored pairs again, adding a prior: a viewer
/// that presented a stickiness cookie is expected on `prior[cf_row]`, the
/// target of its previous confidently joined request. The prior weighs
/// about as much as one agreeing field, so it decides between candidates the
/// logs cannot tell apart and never overrides clear evidence.
pub fn rematch_with_prior(
    cf: &CfTable,
    alb: &AlbTable,
    j: &mut Join,
    prior: &[u64],
    config: &JoinConfig,
) {
    learn_edges_from_pairs(cf, alb, j);
    let reopened: Vec<bool> = (0..cf.len())
        .map(|row| j.method[row] == Some(JoinMethod::Scored) && j.confidence[row] < REMATCH_BELOW)
        .collect();
    for (row, _) in reopened.iter().enumerate().filter(|(_, open)| **open) {
        j.unlink(row);
    }
    // Rows that found no partner in the first pass had their chance.
    let keep = |row: usize| reopened[row];
    let groups = group_where(cf, alb, j, &keep);
    let (cf_feats, alb_feats) = features_with_edges(cf, alb, j);
    let targets: Vec<u64> = (0..alb.len()).map(|r| target_key(alb, r)).collect();
    match_all(
        cf,
        alb,
        j,
        groups,
        &cf_feats,
        &alb_feats,
        config,
        Some((prior, &targets)),
        &keep,
    );
}

fn match_group(
    cfs: &[u32],
    albs: &[u32],
    cf_feats: &[CfFeat],
    alb_feats: &[AlbFeat],
    skew: i64,
    cap: usize,
    prior: Option<(&[u64], &[u64])>,
) -> Vec<(u32, u32, f32, u16)> {
    if albs.is_empty() {
        return Vec::new();
    }
    let mut blocks: FxHashMap<u32, Vec<(i64, u32)>> = FxHashMap::default();
    for &a in albs {
        let f = &alb_feats[a as usize];
        blocks.entry(f.edge).or_default().push((f.time, a));
    }
    for rows in blocks.values_mut() {
        rows.sort_unstable();
    }
    let blocks: FxHashMap<u32, Block<'_>> = blocks
        .iter()
        .map(|(&edge, rows)| (edge, Block { rows }))
        .collect();
    // (score, cf, alb, evidence)
    let mut pairs: Vec<(f32, u32, u32, u16)> = Vec::new();
    let mut best_other: FxHashMap<u32, f32> = FxHashMap::default();
    let mut scratch: Vec<(f32, u32, u16)> = Vec::new();
    let mut near = Vec::new();
    for &c in cfs {
        let feat = &cf_feats[c as usize];
        scratch.clear();
        for edge in [feat.edge, NONE] {
            if let Some(block) = blocks.get(&edge) {
                block.nearest(feat, skew, SCAN_LIMIT, &mut near);
                for &a in &near {
                    if let Some((mut s, mut ev)) = score(feat, &alb_feats[a as usize], skew) {
                        if let Some((expected, targets)) = prior {
                            let want = expected[c as usize];
                            if want != NONE_TARGET && targets[a as usize] == want {
                                s += 1.0;
                                ev |= evidence::STICKY;
                            }
                        }
                        if s >= MIN_SCORE {
                            scratch.push((s, a, ev));
                        }
                    }
                }
            }
        }
        scratch.sort_by(|x, y| y.0.total_cmp(&x.0));
        scratch.truncate(cap);
        let unique = scratch.len() == 1;
        for (i, &(s, a, ev)) in scratch.iter().enumerate() {
            let ev = if unique { ev | evidence::UNIQUE } else { ev };
            pairs.push((s, c, a, ev));
            let runner_up = scratch.get(if i == 0 { 1 } else { 0 }).map(|x| x.0);
            if i == 0 {
                if let Some(r) = runner_up {
                    best_other.insert(c, r);
                }
            }
        }
    }
    pairs.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut used_cf: rustc_hash::FxHashSet<u32> = Default::default();
    let mut used_alb: rustc_hash::FxHashSet<u32> = Default::default();
    let mut alb_runner_up: FxHashMap<u32, f32> = FxHashMap::default();
    let mut out = Vec::new();
    for &(s, c, a, ev) in &pairs {
        if used_alb.contains(&a) {
            continue;
        }
        if used_cf.contains(&c) {
            alb_runner_up.entry(a).or_insert(s);
            continue;
        }
        used_cf.insert(c);
        used_alb.insert(a);
        let rival = best_other.get(&c).copied().unwrap_or(f32::NEG_INFINITY);
        let margin = (s - rival).min(8.0);
        let confidence = 1.0 / (1.0 + (-margin).exp());
        out.push((c, a, confidence, ev));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_described_in_a_fixed_order() {
        use evidence::*;
        assert_eq!(describe(STATUS | TIME | EDGE), "time+edge+status");
        assert_eq!(describe(TRACE_ID), "trace_id");
    }
}
