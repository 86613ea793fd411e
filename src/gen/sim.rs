//! Replays the planned requests in arrival order through the edge caches
//! and the load balancer: cache results, stickiness cookies, target choice,
//! target health and status codes.

use super::Scenario;
use super::model::{Behavior, Policy, Route, Timing};
use super::plan::{
    F_EXPIRED, F_FORWARDED, F_ORIGIN, F_ORIGIN_304, F_REGIONAL, F_VIEWER_304, NO_TARGET, Outcome,
    Plan,
};
use super::rng::{Rng, derive};
use super::text::US_PER_SEC;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// When one target is down, as the ALB sees it.
#[derive(Clone, Copy, Debug)]
pub struct Health {
    pub failing: Option<u8>,
    /// The target stops answering.
    pub down_from: i64,
    /// Health checks mark it unhealthy: the ALB stops routing to it.
    pub detected: i64,
    /// It passes health checks again.
    pub recovered: i64,
}

impl Health {
    pub fn of(s: &Scenario) -> Health {
        let start = s.start_us();
        let full = s.duration_secs as i64 * US_PER_SEC;
        let outage = (20 * 60 * US_PER_SEC).min(full / 3);
        let down_from = start + full / 2 - outage / 2;
        Health {
            failing: s
                .faults
                .target_failure
                .then(|| (derive(s.seed, 9, 0) % u64::from(s.targets)) as u8),
            down_from,
            detected: down_from + 20 * US_PER_SEC,
            recovered: down_from + outage,
        }
    }

    /// The ALB considers `target` unhealthy at `at`.
    pub fn unhealthy(&self, target: u8, at: i64) -> bool {
        self.failing == Some(target) && at >= self.detected && at < self.recovered
    }

    /// The target does not answer at `at`, noticed or not.
    pub fn down(&self, target: u8, at: i64) -> bool {
        self.failing == Some(target) && at >= self.down_from && at < self.recovered
    }
}

/// A viewer's current stickiness cookie (token 0 = none).
#[derive(Clone, Copy, Default)]
struct Sticky {
    token: u64,
    target: u8,
    issued_us: i64,
}

struct CacheEntry {
    valid_from: i64,
    expires: i64,
    filler: u32,
}

/// Edge-cache Hits on session pages, with the Miss that filled the entry.
pub struct Fills {
    pub hits: Vec<(u32, u32)>,
}

/// Sorts `plan.reqs` by arrival and fills in every outcome.
pub fn simulate(s: &Scenario, plan: &mut Plan, health: &Health) -> Fills {
    plan.reqs
        .par_sort_unstable_by_key(|r| (r.receipt_us, r.key));
    let mut rng = Rng::new(derive(s.seed, 4, 0));
    let mut stickies = vec![Sticky::default(); plan.viewers.len()];
    let mut cache: FxHashMap<(u8, u32), CacheEntry> = FxHashMap::default();
    let mut hits = Vec::new();
    let max_age = s.stickiness_duration_secs as i64 * US_PER_SEC;

    for i in 0..plan.reqs.len() {
        let r = &mut plan.reqs[i];
        let viewer = &plan.viewers[r.viewer as usize];
        let browser = viewer.keeps_cookies();
        let policy = Policy::of(r.route.behavior(), &s.faults);
        let timing = Timing::of(r.route, r.edge, r.key);
        let sticky = &mut stickies[r.viewer as usize];
        if browser {
            r.token = sticky.token;
        }
        r.outcome = Outcome::Miss;
        let mut origin = true;
        if policy.is_cached() {
            let slot = (r.edge, r.route.object(r.arg));
            match cache.get(&slot) {
                Some(e) if r.receipt_us >= e.valid_from && r.receipt_us < e.expires => {
                    r.outcome = Outcome::Hit;
                    origin = false;
                    r.cf_status = 200;
                    if r.route.behavior() == Behavior::Account {
                        hits.push((i as u32, e.filler));
                    } else if browser && rng.chance(0.08) {
                        r.flags |= F_VIEWER_304;
                        r.cf_status = 304;
                    }
                }
                Some(e) if r.receipt_us >= e.expires && r.route.is_static() && rng.chance(0.3) => {
                    r.outcome = Outcome::RefreshHit;
                    r.flags |= F_ORIGIN_304;
                }
                _ => {
                    if r.route.is_static() && s.faults.regional_cache && rng.chance(0.4) {
                        r.flags |= F_REGIONAL;
                        r.cf_status = 200;
                        origin = false;
                    }
                }
            }
            if r.outcome != Outcome::Hit {
                let finish = r.receipt_us
                    + if origin {
                        timing.origin_total()
                    } else {
                        4 * timing.edge_only
                    };
                let entry = CacheEntry {
                    valid_from: finish,
                    expires: finish + policy.cache_ttl_us,
                    filler: i as u32,
                };
                cache.insert(slot, entry);
            }
        }
        if !origin {
            continue;
        }

        r.flags |= F_ORIGIN;
        let created = r.receipt_us + timing.edge_to_origin;
        let forwarded = r.token != 0 && policy.forwards_stickiness;
        if forwarded {
            r.flags |= F_FORWARDED;
        }
        let expired = forwarded && created - sticky.issued_us > max_age;
        if expired {
            r.flags |= F_EXPIRED;
        }
        let honoured = forwarded && !expired && !health.unhealthy(sticky.target, created);
        r.target = if honoured {
            sticky.target
        } else {
            pick_target(&mut rng, s.targets, health, created)
        };
        set_status(r, &mut rng, health, created);
        if policy.passes_set_cookie && browser {
            // The ALB re-issues the cookie on every response, with a new value.
            *sticky = Sticky {
                token: rng.next_u64() | 1,
                target: r.target,
                issued_us: created,
            };
        }
    }
    Fills { hits }
}

/// Normal target selection among the targets the ALB thinks are healthy.
fn pick_target(rng: &mut Rng, targets: u8, health: &Health, at: i64) -> u8 {
    let healthy = (0..targets).filter(|&t| !health.unhealthy(t, at)).count() as u64;
    if healthy == 0 {
        return rng.below(u64::from(targets)) as u8;
    }
    let k = rng.below(healthy) as usize;
    (0..targets)
        .filter(|&t| !health.unhealthy(t, at))
        .nth(k)
        .unwrap_or(0)
}

fn set_status(r: &mut super::plan::Req, rng: &mut Rng, health: &Health, created: i64) {
    let ok = if r.route == Route::ApiCartAdd {
        201
    } else {
        200
    };
    if health.down(r.target, created) {
        // Sent to a target that stopped answering before health checks noticed.
        r.outcome = Outcome::Error;
        r.alb_status = 502;
        r.target_status = 0;
        r.cf_status = 502;
    } else if !r.route.is_static() && rng.chance(0.0015) {
        let code = if rng.chance(0.5) { 500 } else { 503 };
        r.outcome = Outcome::Error;
        r.alb_status = code;
        r.target_status = code;
        r.cf_status = code;
    } else if r.has(F_ORIGIN_304) {
        r.alb_status = 304;
        r.target_status = 304;
        r.cf_status = 200;
    } else {
        r.alb_status = ok;
        r.target_status = ok;
        r.cf_status = ok;
    }
    if r.target == NO_TARGET {
        r.target_status = 0;
    }
}

/// Requests that reach the ALB straight from the internet: about 4 % of the
/// origin traffic, at random times, from browsers.
pub fn bypass(s: &Scenario, origin_requests: u64, health: &Health) -> Vec<super::lines::Bypass> {
    use super::model::BROWSER_UA_WEIGHTS;
    if !s.faults.bypass {
        return Vec::new();
    }
    let start = s.start_us();
    let end = start + s.duration_secs as i64 * US_PER_SEC;
    let mut rng = Rng::new(derive(s.seed, 21, 0));
    let routes = [
        Route::Home,
        Route::Product,
        Route::Cart,
        Route::ApiCart,
        Route::AccountOrders,
    ];
    let mut out: Vec<_> = (0..(origin_requests * 4 / 100).max(1))
        .map(|k| {
            let created = rng.range(start, end - 1);
            let route = routes[rng.weighted(&[30, 40, 10, 10, 10])];
            let target = pick_target(&mut rng, s.targets, health, created);
            super::lines::Bypass {
                created,
                key: derive(s.seed, 22, k),
                route,
                arg: if route == Route::Product {
                    rng.log_range(1, 5_000) as u32
                } else {
                    0
                },
                target,
                ip: super::plan::human_ip(&mut rng),
                ua: rng.weighted(&BROWSER_UA_WEIGHTS) as u8,
                status: if health.down(target, created) {
                    502
                } else {
                    200
                },
            }
        })
        .collect();
    out.sort_by_key(|b| (b.created, b.key));
    out
}
