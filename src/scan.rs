//! The `scan` pipeline over parsed tables: behaviors, join, sessions,
//! findings. Each stage is a module of its own; this wires them in order.

use crate::detect::{self, DetectConfig, Detected};
use crate::join::{self, Join, JoinConfig};
use crate::session::behavior::{self, BehaviorConfig, Behaviors};
use crate::session::{self, SessionConfig, Sessions};
use crate::source::ingest::Parsed;

#[derive(Debug, Clone, Default)]
pub struct ScanConfig {
    pub behavior: BehaviorConfig,
    pub join: JoinConfig,
    pub session: SessionConfig,
    pub detect: DetectConfig,
}

/// Everything a scan learnt, ready for the reports.
pub struct Scan {
    pub behaviors: Behaviors,
    pub join: Join,
    pub sessions: Sessions,
    pub detected: Detected,
}

/// Wall time of each stage, for `--verbose`.
#[derive(Debug, Default)]
pub struct Timings(pub Vec<(&'static str, std::time::Duration)>);

impl Timings {
    fn lap<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let start = std::time::Instant::now();
        let out = f();
        self.0.push((stage, start.elapsed()));
        out
    }
}

pub fn run(parsed: &Parsed, config: &ScanConfig) -> Scan {
    run_timed(parsed, config, &mut Timings::default())
}

pub fn run_timed(parsed: &Parsed, config: &ScanConfig, t: &mut Timings) -> Scan {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let behaviors = t.lap("behaviors", || behavior::assign(cf, &config.behavior));
    let mut join = t.lap("join", || join::join(cf, alb, &behaviors, &config.join));
    let sessions = t.lap("sessions", || {
        session::build(cf, alb, &join, &config.session)
    });
    let prior = t.lap("prior", || {
        stickiness_prior(parsed, &behaviors, &join, &sessions)
    });
    t.lap("rematch", || {
        join::rematch_with_prior(cf, alb, &mut join, &prior, &config.join)
    });
    // The rematch moved only ambiguous pairs; the session order before it is
    // close enough to read each viewer's target from.
    let prior = t.lap("prior", || {
        stickiness_prior(parsed, &behaviors, &join, &sessions)
    });
    t.lap("repair", || {
        join::repair_flips(cf, alb, &mut join, &prior, &config.join)
    });
    // Arrival times follow the ALB partners: order the sessions again.
    let sessions = t.lap("sessions", || {
        session::build(cf, alb, &join, &config.session)
    });
    let detected = t.lap("detect", || {
        detect::detect(cf, alb, &join, &behaviors, &sessions, &config.detect)
    });
    Scan {
        behaviors,
        join,
        sessions,
        detected,
    }
}

/// For each CloudFront request that presented a stickiness cookie, the
/// target its session was on: that of the previous confidently joined
/// request on a session-bound behavior.
fn stickiness_prior(
    parsed: &Parsed,
    behaviors: &Behaviors,
    join: &Join,
    sessions: &Sessions,
) -> Vec<u64> {
    use rayon::prelude::*;
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let per_session: Vec<Vec<(u32, u64)>> = (0..sessions.list.len())
        .into_par_iter()
        .map(|s| {
            let mut out = Vec::new();
            let rows = sessions.rows(s);
            let bound_target = |r: usize| {
                let bound = !behaviors.list[behaviors.of_row[r] as usize].is_static;
                match join.alb_of(r) {
                    Some(a) if bound && join.confidence[r] >= join::REMATCH_BELOW => {
                        Some(join::target_key(alb, a)).filter(|&t| t != join::NONE_TARGET)
                    }
                    _ => None,
                }
            };
            // Backwards: a request the viewer made without a cookie was
            // served by the target its next cookie points to.
            let mut next = join::NONE_TARGET;
            let mut backward = vec![join::NONE_TARGET; rows.len()];
            for (i, &row) in rows.iter().enumerate().rev() {
                let r = row as usize;
                let sticky = cf.cookie_flags[r] & crate::parse::cookie::sticky::TARGET_COOKIES != 0;
                if !sticky {
                    backward[i] = next;
                }
                if let Some(t) = bound_target(r) {
                    next = if sticky { t } else { join::NONE_TARGET };
                }
            }
            let mut current = join::NONE_TARGET;
            for (i, &row) in rows.iter().enumerate() {
                if backward[i] != join::NONE_TARGET {
                    out.push((row, backward[i]));
                }
                let r = row as usize;
                let sticky = cf.cookie_flags[r] & crate::parse::cookie::sticky::TARGET_COOKIES != 0;
                if sticky && current != join::NONE_TARGET {
                    out.push((row, current));
                }
                let bound = !behaviors.list[behaviors.of_row[r] as usize].is_static;
                if let Some(a) = join.alb_of(r) {
                    if bound && join.confidence[r] >= join::REMATCH_BELOW {
                        let t = join::target_key(alb, a);
                        if t != join::NONE_TARGET {
                            current = t;
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut prior = vec![join::NONE_TARGET; cf.len()];
    for (row, t) in per_session.into_iter().flatten() {
        prior[row as usize] = t;
    }
    prior
}
