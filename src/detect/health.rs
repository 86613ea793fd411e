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

/// Per target, its ALB requests in time order with a failure flag, and
/// the times of every answer of any target, to know how busy the load
/// balancer was at a moment.
pub struct TargetHealth {
    events: FxHashMap<(u32, u32), Vec<Answer>>,
    all_times: Vec<i64>,
}

/// How far back a target's answers are looked at, µs.
const LOOK_BACK: i64 = 900_000_000;
/// The window of the good/failed counts quoted in a verdict, µs.
const RECENT: i64 = 60_000_000;
/// A little past the moment, so a target failing right then is seen.
const AFTER: i64 = 2_000_000;

impl TargetHealth {
    pub fn index(alb: &AlbTable) -> TargetHealth {
        let mut events: FxHashMap<(u32, u32), Vec<Answer>> = FxHashMap::default();
        let mut all_times = Vec::new();
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
            all_times.push(alb.time_us[r]);
        }
        for list in events.values_mut() {
            list.sort_unstable();
        }
        all_times.sort_unstable();
        TargetHealth { events, all_times }
    }

    /// Judges `target` just before `at` (µs) by the answers it gave others
    /// (`own(alb_row)` marks the moving session's requests and `own_times`
    /// holds their times, sorted; both are left out of every count). How
    /// many answers it should have given comes from the other targets'
    /// traffic since this target's last answer and its share of all
    /// traffic, so quiet hours and bursts do not read as an outage, while a
    /// target that went silent as the others kept serving does.
    pub fn judge(
        &self,
        target: (u32, u32),
        at: i64,
        own: impl Fn(usize) -> bool,
        own_times: &[i64],
    ) -> Health {
        let Some(list) = self.events.get(&target) else {
            return Health::TooQuiet { expected: 0.0 };
        };
        let share = list.len() as f64 / self.all_times.len().max(1) as f64;
        let to = at + AFTER;
        // Answers other targets gave other sessions in (from, to].
        let others_since = |from: i64| {
            let all = self.all_times.partition_point(|&t| t <= to)
                - self.all_times.partition_point(|&t| t <= from);
            let own_in =
                own_times.partition_point(|&t| t <= to) - own_times.partition_point(|&t| t <= from);
            all.saturating_sub(own_in)
        };
        let expect = |others: usize| {
            if share < 1.0 {
                (others as f64 * share / (1.0 - share)) as f32
            } else {
                0.0
            }
        };
        // How likely a target with this share stays silent by chance while
        // the others give `others` answers; below one in a million it has stopped (the test runs once per flip, so a looser bound turns chance silences into false failovers).
        let silence_is_chance =
            |others: usize| (1.0 - share).powi(others.min(1 << 20) as i32) >= 1e-6;
        let from = at - LOOK_BACK;
        let start = list.partition_point(|e| e.0 < from);
        let theirs: Vec<&Answer> = list[start..]
            .iter()
            .take_while(|e| e.0 <= to)
            .filter(|e| !own(e.2 as usize))
            .collect();
        let Some(last) = theirs.last() else {
            let expected = expect(others_since(from));
            return if expected >= 3.0 {
                Health::Stopped { expected }
            } else {
                Health::TooQuiet { expected }
            };
        };
        // Silent since its last answer while the others kept serving?
        let others = others_since(last.0);
        if !silence_is_chance(others) {
            return Health::Stopped {
                expected: expect(others),
            };
        }
        let recent = theirs.iter().filter(|e| e.0 >= at - RECENT);
        let failed = recent.clone().filter(|e| e.1).count() as u32;
        let ok = recent.count() as u32 - failed;
        // The latest answers tell a failure that has just begun apart from
        // the good ones before it; one stray 5xx among them does not.
        let latest_failing = theirs.iter().rev().take(3).filter(|e| e.1).count() >= 2;
        if latest_failing {
            Health::Failing { ok, failed }
        } else {
            Health::Serving { ok, failed }
        }
    }
}
