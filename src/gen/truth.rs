//! Ground truth, written beside the logs in `<out>/truth/`: which lines join,
//! which have no counterpart, every target flip with its cause, cache hits on
//! session pages and sessions that never got a stickiness cookie. The
//! definitions follow the scan's vocabulary (STYLE.md terms) exactly.

use super::lines::{World, target_text};
use super::plan::{F_EXPIRED, F_FORWARDED, F_ORIGIN, F_REGIONAL, Kind, NO_TARGET};
use super::sim::Fills;
use super::text::US_PER_SEC;
use super::write::FileSet;
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

/// A session ends after this much idle time.
const IDLE_SPLIT: i64 = 30 * 60 * US_PER_SEC;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    NoCookie,
    CookieNotForwarded,
    TargetUnhealthy,
    CookieExpired,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::NoCookie => "no_cookie",
            Cause::CookieNotForwarded => "cookie_not_forwarded",
            Cause::TargetUnhealthy => "target_unhealthy",
            Cause::CookieExpired => "cookie_expired",
        }
    }
}

/// One target flip.
#[derive(Clone, Copy, Debug)]
pub struct Flip {
    pub session: u32,
    pub req: u32,
    pub before: u8,
    pub after: u8,
    pub cause: Cause,
}

/// Requests grouped into sessions.
pub struct Sessions {
    /// Session of each request.
    pub of: Vec<u32>,
    /// Requests of each session, in arrival order, back to back.
    pub members: Vec<u32>,
    /// Session `s` is `members[bounds[s]..bounds[s + 1]]`.
    pub bounds: Vec<usize>,
    pub names: Vec<String>,
}

impl Sessions {
    pub fn requests(&self, s: usize) -> &[u32] {
        &self.members[self.bounds[s]..self.bounds[s + 1]]
    }
}

/// A human session is the session cookie split at 30 idle minutes; a bot
/// session is its address and user agent.
pub fn sessions(w: &World) -> Sessions {
    let mut starts = vec![0usize; w.viewers.len() + 1];
    for r in w.reqs {
        starts[r.viewer as usize + 1] += 1;
    }
    for v in 0..w.viewers.len() {
        starts[v + 1] += starts[v];
    }
    let mut fill = starts.clone();
    let mut members = vec![0u32; w.reqs.len()];
    for (i, r) in w.reqs.iter().enumerate() {
        members[fill[r.viewer as usize]] = i as u32;
        fill[r.viewer as usize] += 1;
    }
    let mut of = vec![0u32; w.reqs.len()];
    let (mut bounds, mut names) = (Vec::new(), Vec::new());
    for (v, viewer) in w.viewers.iter().enumerate() {
        let mut last = i64::MIN;
        let mut count = 0;
        for pos in starts[v]..starts[v + 1] {
            let r = &w.reqs[members[pos] as usize];
            let split = viewer.kind != Kind::Bot && r.receipt_us - last > IDLE_SPLIT;
            if pos == starts[v] || split {
                count += 1;
                bounds.push(pos);
                names.push(session_name(w, v, count));
            }
            last = r.receipt_us;
            of[members[pos] as usize] = (names.len() - 1) as u32;
        }
    }
    bounds.push(members.len());
    Sessions {
        of,
        members,
        bounds,
        names,
    }
}

fn session_name(w: &World, v: usize, n: u32) -> String {
    let viewer = &w.viewers[v];
    if viewer.kind == Kind::Bot {
        return format!("{} {}", viewer.ip[0].to_text(), w.ua(viewer));
    }
    let mut buf = Vec::new();
    w.push_session_cookie(&mut buf, viewer);
    format!("{}#{n}", String::from_utf8_lossy(&buf))
}

/// Flips of every session; the second value counts flips whose cause could
/// not be explained (always 0 unless the simulation has a bug).
pub fn flips(w: &World, sessions: &Sessions) -> (Vec<Flip>, u64) {
    let mut flips = Vec::new();
    let mut unexplained = 0;
    for s in 0..sessions.names.len() {
        let mut prev: Option<u8> = None;
        let mut departure: Option<(u8, Cause)> = None;
        for &i in sessions.requests(s) {
            let r = &w.reqs[i as usize];
            if !r.has(F_ORIGIN) || r.route.is_static() || r.target == NO_TARGET {
                continue;
            }
            let t = r.target;
            match prev {
                Some(p) if p != t => {
                    let (cause, returned) = match departure {
                        Some((from, cause)) if from == t => (cause, true),
                        _ => {
                            let cause = natural_cause(w, i as usize, p);
                            if cause.is_none() {
                                unexplained += 1;
                            }
                            (cause.unwrap_or(Cause::TargetUnhealthy), false)
                        }
                    };
                    flips.push(Flip {
                        session: s as u32,
                        req: i,
                        before: p,
                        after: t,
                        cause,
                    });
                    departure = if returned { None } else { Some((p, cause)) };
                }
                Some(_) => departure = None,
                None => {}
            }
            prev = Some(t);
        }
    }
    flips.sort_by_key(|f| f.req);
    (flips, unexplained)
}

/// Why request `i` left target `p`, from what the viewer presented and what
/// the ALB knew; `None` if nothing explains it.
fn natural_cause(w: &World, i: usize, p: u8) -> Option<Cause> {
    let r = &w.reqs[i];
    // The definitions: `cookie_not_forwarded` needs the previous
    // target to be still serving; when it was down (not answering, or
    // answering 5xx, noticed by the ALB or not), the move is a failover
    // whether or not the cookie reached the ALB.
    if r.token == 0 {
        Some(Cause::NoCookie)
    } else if r.has(F_EXPIRED) {
        Some(Cause::CookieExpired)
    } else if w.health.down(p, w.times(r).created) {
        Some(Cause::TargetUnhealthy)
    } else if !r.has(F_FORWARDED) {
        Some(Cause::CookieNotForwarded)
    } else {
        None
    }
}

/// Counts written to `scenario.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TruthCounts {
    pub joins: u64,
    pub cf_no_origin: u64,
    pub alb_unmatched: u64,
    pub flips: u64,
    pub flips_no_cookie: u64,
    pub flips_cookie_not_forwarded: u64,
    pub flips_target_unhealthy: u64,
    pub flips_cookie_expired: u64,
    pub flips_unexplained: u64,
    pub session_page_hits: u64,
    pub leaks: u64,
    pub never_delivered: u64,
    pub sessions: u64,
}

/// Writes every truth file into `dir`.
pub fn write(dir: &Path, w: &World, alb: &FileSet, fills: &Fills) -> anyhow::Result<TruthCounts> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let mut counts = TruthCounts::default();
    let n = w.reqs.len();
    let open = |name: &str| {
        let path = dir.join(name);
        csv::Writer::from_path(&path).with_context(|| format!("creating `{}`", path.display()))
    };

    let mut unmatched = open("alb_unmatched.csv")?;
    unmatched.write_record(["alb_source", "alb_line", "reason"])?;
    let mut location = vec![(u32::MAX, 0u32); n];
    for (f, file) in alb.files.iter().enumerate() {
        for pos in file.start..file.end {
            let entry = alb.order[pos] as usize;
            let line = (pos - file.start + 1) as u32;
            if entry < n {
                location[entry] = (f as u32, line);
            } else {
                unmatched.write_record([file.rel.as_str(), &line.to_string(), "bypass"])?;
                counts.alb_unmatched += 1;
            }
        }
    }
    unmatched.flush()?;

    let mut joins = open("joins.csv")?;
    joins.write_record(["cf_request_id", "alb_source", "alb_line"])?;
    let mut no_origin = open("cf_no_origin.csv")?;
    no_origin.write_record(["cf_request_id", "reason"])?;
    for (i, &(f, line)) in location.iter().enumerate() {
        if f != u32::MAX {
            let rel = alb.files[f as usize].rel.as_str();
            joins.write_record([w.request_id(i).as_str(), rel, &line.to_string()])?;
            counts.joins += 1;
        } else if w.reqs[i].has(F_REGIONAL) {
            no_origin.write_record([w.request_id(i).as_str(), "regional_cache"])?;
            counts.cf_no_origin += 1;
        }
    }
    joins.flush()?;
    no_origin.flush()?;

    let sessions = sessions(w);
    counts.sessions = sessions.names.len() as u64;
    write_flips(open("flips.csv")?, w, &sessions, &mut counts)?;
    write_hits(open("hits.csv")?, w, &sessions, fills, &mut counts)?;
    write_never_delivered(open("never_delivered.csv")?, w, &sessions, &mut counts)?;
    Ok(counts)
}

type Csv = csv::Writer<std::fs::File>;

fn write_flips(
    mut out: Csv,
    w: &World,
    sessions: &Sessions,
    counts: &mut TruthCounts,
) -> anyhow::Result<()> {
    let (flips, unexplained) = flips(w, sessions);
    counts.flips_unexplained = unexplained;
    out.write_record([
        "session",
        "cf_request_id",
        "target_before",
        "target_after",
        "cause",
    ])?;
    for f in &flips {
        let session = sessions.names[f.session as usize].as_str();
        let id = w.request_id(f.req as usize);
        out.write_record([
            session,
            &id,
            &target_text(f.before),
            &target_text(f.after),
            f.cause.name(),
        ])?;
        counts.flips += 1;
        match f.cause {
            Cause::NoCookie => counts.flips_no_cookie += 1,
            Cause::CookieNotForwarded => counts.flips_cookie_not_forwarded += 1,
            Cause::TargetUnhealthy => counts.flips_target_unhealthy += 1,
            Cause::CookieExpired => counts.flips_cookie_expired += 1,
        }
    }
    out.flush()?;
    Ok(())
}

fn write_hits(
    mut out: Csv,
    w: &World,
    sessions: &Sessions,
    fills: &Fills,
    counts: &mut TruthCounts,
) -> anyhow::Result<()> {
    out.write_record(["cf_request_id", "filled_by_cf_request_id", "leak"])?;
    for &(hit, filler) in &fills.hits {
        let r = &w.reqs[hit as usize];
        if !w.viewer(r).keeps_cookies() && r.token == 0 {
            continue;
        }
        let leak = sessions.of[hit as usize] != sessions.of[filler as usize];
        let (id, by) = (w.request_id(hit as usize), w.request_id(filler as usize));
        out.write_record([
            id.as_str(),
            by.as_str(),
            if leak { "true" } else { "false" },
        ])?;
        counts.session_page_hits += 1;
        counts.leaks += u64::from(leak);
    }
    out.flush()?;
    Ok(())
}

fn write_never_delivered(
    mut out: Csv,
    w: &World,
    sessions: &Sessions,
    counts: &mut TruthCounts,
) -> anyhow::Result<()> {
    out.write_record(["session", "first_cf_request_id"])?;
    for s in 0..sessions.names.len() {
        let reqs = sessions.requests(s);
        let first = &w.reqs[reqs[0] as usize];
        if !w.viewer(first).keeps_cookies() {
            continue;
        }
        let sticky_origin = reqs
            .iter()
            .map(|&i| &w.reqs[i as usize])
            .filter(|r| r.has(F_ORIGIN) && !r.route.is_static())
            .count();
        let presented = reqs.iter().any(|&i| w.reqs[i as usize].token != 0);
        if sticky_origin >= 2 && !presented {
            // The issue defines the finding's request as the session's first
            // origin request.
            let first_origin = reqs
                .iter()
                .copied()
                .find(|&i| w.reqs[i as usize].has(F_ORIGIN))
                .unwrap_or(reqs[0]);
            out.write_record([
                sessions.names[s].as_str(),
                &w.request_id(first_origin as usize),
            ])?;
            counts.never_delivered += 1;
        }
    }
    out.flush()?;
    Ok(())
}
