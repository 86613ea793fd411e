//! Was a target serving at a given moment? Judged from the ALB log alone:
//! its requests around that time, and how many of them failed.

use crate::table::alb::AlbTable;
use rustc_hash::FxHashMap;

/// The verdict on one target around one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Health {
    /// It answered other requests normally.
    Serving { ok: u32, failed: u32 },
    /// It answered nothing although its usual traffic predicts some.
    Stopped { expected: f32 },
    /// Most of its answers failed (5xx or no target status).
    Failing { ok: u32, failed: u32 },
    /// Too little traffic to tell.
    TooQuiet { expected: f32 },
}

impl Health {
    pub fn describe(&self, target: &str) -> String {
        match self {
            Health::Serving { ok, failed } => format!(
                "the previous target {target} was still serving ({ok} good, {failed} failed responses around that time), so CloudFront did not forward the cookie"
            ),
            Health::Stopped { expected } => format!(
                "the previous target {target} served no request around that time (about {expected:.0} expected): failover"
            ),
            Health::Failing { ok, failed } => format!(
                "the previous target {target} was failing ({failed} failed, {ok} good responses around that time): failover"
            ),
            Health::TooQuiet { expected } => format!(
                "the previous target {target} had too little traffic to tell whether it was serving (about {expected:.1} requests expected)"
            ),
        }
    }
}

/// One ALB answer of a target: (time µs, failed, ALB row).
type Answer = (i64, bool, u32);

/// Per target, its ALB requests in time order with a failure flag.
pub struct TargetHealth {
    events: FxHashMap<(u32, u32), Vec<Answer>>,
    rate_per_us: FxHashMap<(u32, u32), f64>,
}

impl TargetHealth {
    pub fn index(alb: &AlbTable) -> TargetHealth {
        let mut events: FxHashMap<(u32, u32), Vec<Answer>> = FxHashMap::default();
        for r in 0..alb.len() {
            let ip = alb.target_ip.ids[r];
            if ip == 0 {
                continue;
            }
            let key = (ip, alb.target_port.get(r).unwrap_or(0));
            let failed = alb.target_status.get(r).is_none_or(|s| s >= 500);
            events
                .entry(key)
                .or_default()
                .push((alb.time_us[r], failed, r as u32));
        }
        let mut rate_per_us = FxHashMap::default();
        for (key, list) in events.iter_mut() {
            list.sort_unstable();
            // A usual rate needs a few answers; fewer leave it unknown (0),
            // which makes every verdict on that target "too quiet".
            let span = list.last().map_or(0, |e| e.0) - list.first().map_or(0, |e| e.0);
            let rate = if list.len() >= 5 && span > 0 {
                (list.len() - 1) as f64 / span as f64
            } else {
                0.0
            };
            rate_per_us.insert(*key, rate);
        }
        TargetHealth {
            events,
            rate_per_us,
        }
    }

    /// Judges `target` just before `at` (µs) by the answers it gave others:
    /// `own(alb_row)` marks the session's own requests, which are ignored. The window looks back far enough to
    /// expect a few requests at the target's usual rate (10 s to 15 min) and
    /// a little past `at`, so a target that fails at that moment is seen.
    pub fn judge(&self, target: (u32, u32), at: i64, own: impl Fn(usize) -> bool) -> Health {
        const AFTER: i64 = 2_000_000;
        let Some(list) = self.events.get(&target) else {
            return Health::TooQuiet { expected: 0.0 };
        };
        let rate = self.rate_per_us.get(&target).copied().unwrap_or(0.0);
        let back = if rate > 0.0 {
            (5.0 / rate) as i64
        } else {
            i64::MAX
        }
        .clamp(10_000_000, 900_000_000);
        let start = list.partition_point(|e| e.0 < at - back);
        let (mut ok, mut failed) = (0u32, 0u32);
        // The latest answers tell a failure that has just begun apart from
        // the good ones before it; one stray 5xx among them does not.
        let mut latest = [false; 3];
        for e in list[start..].iter().take_while(|e| e.0 <= at + AFTER) {
            if own(e.2 as usize) {
                continue;
            }
            latest.rotate_left(1);
            latest[2] = e.1;
            if e.1 {
                failed += 1;
            } else {
                ok += 1;
            }
        }
        let latest_failing = latest.iter().filter(|&&f| f).count() >= 2;
        let expected = (rate * (back + AFTER) as f64) as f32;
        if ok == 0 && failed == 0 {
            if expected >= 3.0 {
                Health::Stopped { expected }
            } else {
                Health::TooQuiet { expected }
            }
        } else if failed >= ok.max(1) || latest_failing {
            Health::Failing { ok, failed }
        } else {
            Health::Serving { ok, failed }
        }
    }
}
