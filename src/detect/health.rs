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
                "the previous target {target} was still serving ({ok} good, {failed} failed of its latest answers to others), so CloudFront did not forward the cookie"
            ),
            Health::Stopped { expected } => format!(
                "the previous target {target} served no request around that time (about {expected:.0} expected): failover"
            ),
            Health::Failing { ok, failed } => format!(
                "the previous target {target} was failing ({failed} failed, {ok} good of its latest answers to others): failover"
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
    events: FxHashMap<(u32, u32), (Vec<Answer>, Timeline)>,
    all_times: Timeline,
}

/// Sorted times with a bucket index (one bucket a second, wider when the
/// logs span more than about six weeks, so a hostile timestamp in year 9999
/// cannot make the index huge): "how many at or before t" costs a lookup
/// and a search inside one bucket, not a binary search over hours of
/// answers (this runs for every flip).
struct Timeline {
    times: Vec<i64>,
    first: i64,
    width: i64,
    /// `starts[k]`: how many times fall before bucket `k`.
    starts: Vec<u32>,
}

/// Buckets an index holds at most.
const MAX_BUCKETS: i64 = 4_000_000;

impl Timeline {
    fn new(mut times: Vec<i64>) -> Timeline {
        times.sort_unstable();
        let (first, last) = match (times.first(), times.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, -1),
        };
        let span = last.saturating_sub(first).max(0);
        let width = (span / MAX_BUCKETS + 1).max(1_000_000);
        let buckets = if times.is_empty() {
            0
        } else {
            span / width + 2
        };
        let mut starts = Vec::with_capacity(buckets as usize);
        let mut i = 0;
        for k in 0..buckets {
            let bound = first + k * width;
            while i < times.len() && times[i] < bound {
                i += 1;
            }
            starts.push(i as u32);
        }
        Timeline {
            times,
            first,
            width,
            starts,
        }
    }

    fn len(&self) -> usize {
        self.times.len()
    }

    /// How many times are at or before `t`.
    fn count_le(&self, t: i64) -> usize {
        if self.starts.is_empty() || t < self.first {
            return 0;
        }
        let k = (t.saturating_sub(self.first) / self.width) as usize;
        if k + 1 >= self.starts.len() {
            return self.times.len();
        }
        let (lo, hi) = (self.starts[k] as usize, self.starts[k + 1] as usize);
        lo + self.times[lo..hi].partition_point(|&x| x <= t)
    }
}

/// How far back a target's answers are looked at, µs.
const LOOK_BACK: i64 = 900_000_000;
/// How many of a target's latest answers decide whether it was failing.
const LATEST: usize = 3;
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
        let events = events
            .into_iter()
            .map(|(key, mut list)| {
                list.sort_unstable();
                let times = Timeline::new(list.iter().map(|e| e.0).collect());
                (key, (list, times))
            })
            .collect();
        TargetHealth {
            events,
            all_times: Timeline::new(all_times),
        }
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
        let Some((list, times)) = self.events.get(&target) else {
            return Health::TooQuiet { expected: 0.0 };
        };
        let share = list.len() as f64 / self.all_times.len().max(1) as f64;
        let to = at + AFTER;
        // Answers other targets gave other sessions in (from, to].
        let others_since = |from: i64| {
            let all = self.all_times.count_le(to) - self.all_times.count_le(from);
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
        // the others give `others` answers. Below one in a million it has
        // stopped: the test runs once per flip, so a looser bound turns
        // chance silences into false failovers.
        let silence_is_chance =
            |others: usize| (1.0 - share).powi(others.min(1 << 20) as i32) >= 1e-6;
        let from = at - LOOK_BACK;
        let start = times.count_le(from - 1);
        let end = times.count_le(to);
        // Walk back from `at` over answers to other sessions: the latest
        // ones decide (and are quoted in the verdict).
        let (mut last, mut latest) = (None, Vec::with_capacity(LATEST));
        for e in list[start..end].iter().rev().filter(|e| !own(e.2 as usize)) {
            last.get_or_insert(e.0);
            latest.push(e.1);
            if latest.len() == LATEST {
                break;
            }
        }
        let failed = latest.iter().filter(|&&f| f).count() as u32;
        let ok = latest.len() as u32 - failed;
        let Some(last) = last else {
            let others = others_since(from);
            let expected = expect(others);
            return if silence_is_chance(others) {
                Health::TooQuiet { expected }
            } else {
                Health::Stopped { expected }
            };
        };
        // Silent since its last answer while the others kept serving?
        let others = others_since(last);
        if !silence_is_chance(others) {
            return Health::Stopped {
                expected: expect(others),
            };
        }
        // The latest answers tell a failure that has just begun apart from
        // the good ones before it; one stray 5xx among them does not.
        let latest_failing = failed >= 2;
        if latest_failing {
            Health::Failing { ok, failed }
        } else {
            Health::Serving { ok, failed }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timeline;

    #[test]
    fn timeline_counts_like_a_binary_search() {
        let times: Vec<i64> = vec![
            5, 999_999, 1_000_000, 1_000_001, 3_500_000, 3_500_000, 9_000_000,
        ];
        let line = Timeline::new(times.clone());
        for t in [
            -1, 0, 5, 6, 999_999, 1_000_000, 2_000_000, 3_500_000, 8_999_999, 9_000_000, 20_000_000,
        ] {
            assert_eq!(
                line.count_le(t),
                times.partition_point(|&x| x <= t),
                "t = {t}"
            );
        }
        assert_eq!(Timeline::new(Vec::new()).count_le(7), 0);
        // A hostile span (1970 to year 9999) keeps the index small.
        let wide = vec![0, 5_000_000, 253_402_300_799_000_000];
        let line = Timeline::new(wide.clone());
        assert!(line.starts.len() <= 4_000_002);
        for t in [
            -1,
            0,
            4_999_999,
            5_000_000,
            1 << 60,
            253_402_300_799_000_000,
            i64::MAX,
        ] {
            assert_eq!(
                line.count_le(t),
                wide.partition_point(|&x| x <= t),
                "t = {t}"
            );
        }
    }
}
