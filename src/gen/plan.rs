//! Plans who asks for what and when: human browsing sessions, bots and the
//! hot-path crowd, each request placed after the previous one of the same
//! viewer has finished, until the requested volume is reached.

use super::Scenario;
use super::model::{
    BOT_UA_WEIGHTS, BROWSER_UA_WEIGHTS, EDGE_WEIGHTS, EDGES, FIRST_CRAWLER, Route, Timing,
};
use super::rng::{Rng, derive};
use super::text::{Ip, US_PER_SEC};
use rustc_hash::FxHashSet;

const MINUTE: i64 = 60 * US_PER_SEC;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A browser keeping cookies, browsing pages.
    Human,
    /// A browser keeping cookies, reloading `/` (hot_path).
    Hot,
    /// A client keeping no cookies at all.
    Bot,
}

/// One viewer. Humans may roam: `ip[1]`/`edge[1]` after they move.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub key: u64,
    pub kind: Kind,
    pub ua: u8,
    pub ip: [Ip; 2],
    pub edge: [u8; 2],
    /// 0 = JSESSIONID, 1 = PHPSESSID.
    pub cookie_name: u8,
    pub analytics_cookie: bool,
}

impl Viewer {
    pub fn keeps_cookies(&self) -> bool {
        self.kind != Kind::Bot
    }
}

/// Cache outcome at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    Hit,
    Miss,
    RefreshHit,
    Error,
}

pub const NO_TARGET: u8 = u8::MAX;
/// The request reached the ALB.
pub const F_ORIGIN: u8 = 1;
/// The viewer's stickiness cookie went to the ALB.
pub const F_FORWARDED: u8 = 2;
/// A regional edge cache answered the Miss.
pub const F_REGIONAL: u8 = 4;
/// The viewer's `ip[1]`/`edge[1]` is in use.
pub const F_ROAMED: u8 = 8;
/// The browser revalidated and got 304 from the edge.
pub const F_VIEWER_304: u8 = 16;
/// The origin answered 304 to CloudFront's revalidation.
pub const F_ORIGIN_304: u8 = 32;
/// The forwarded stickiness cookie was older than the stickiness duration.
pub const F_EXPIRED: u8 = 64;

/// One CloudFront request. Everything not stored here is derived from `key`.
#[derive(Clone, Debug)]
pub struct Req {
    pub receipt_us: i64,
    pub key: u64,
    /// Stickiness cookie the viewer presented (0 = none); set by the simulation.
    pub token: u64,
    pub viewer: u32,
    pub arg: u32,
    pub route: Route,
    pub edge: u8,
    pub outcome: Outcome,
    pub target: u8,
    pub flags: u8,
    pub alb_status: u16,
    /// 0 = the target did not answer (`-`).
    pub target_status: u16,
    pub cf_status: u16,
}

impl Req {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

pub struct Plan {
    pub viewers: Vec<Viewer>,
    pub reqs: Vec<Req>,
}

struct Planner<'a> {
    s: &'a Scenario,
    rng: Rng,
    start: i64,
    end: i64,
    counter: u64,
    viewers: Vec<Viewer>,
    reqs: Vec<Req>,
    bot_ids: FxHashSet<(Ip, u8)>,
}

/// Plans viewers until about `s.requests` requests fall inside the window.
pub fn plan(s: &Scenario) -> Plan {
    let start = s.start_us();
    let mut p = Planner {
        s,
        rng: Rng::new(derive(s.seed, 1, 0)),
        start,
        end: start + s.duration_secs as i64 * US_PER_SEC,
        counter: 0,
        viewers: Vec::new(),
        reqs: Vec::with_capacity(s.requests as usize + 64),
        bot_ids: FxHashSet::default(),
    };
    let shares = [
        if s.faults.hot_path { 0.5 } else { 0.0 },
        if s.faults.bots { 0.15 } else { 0.0 },
    ];
    let hot_window = p.hot_window(s.requests as f64 * shares[0]);
    let mut made = [0u64; 3];
    while (p.reqs.len() as u64) < s.requests {
        let total = p.reqs.len() as f64 + 1.0;
        let before = p.reqs.len();
        let kind = if made[0] as f64 / total < shares[0] {
            p.hot(hot_window);
            0
        } else if made[1] as f64 / total < shares[1] {
            p.bot();
            1
        } else {
            p.human();
            2
        };
        made[kind] += (p.reqs.len() - before) as u64;
    }
    Plan {
        viewers: p.viewers,
        reqs: p.reqs,
    }
}

impl Planner<'_> {
    /// The stretch of time in which the hot crowd reloads `/` at ~30/s.
    fn hot_window(&self, hot_requests: f64) -> (i64, i64) {
        let full = self.end - self.start;
        let len = ((hot_requests / 30.0) as i64 * US_PER_SEC).clamp(MINUTE.min(full), full);
        let begin = self.start + (full - len) / 2;
        (begin, begin + len)
    }

    fn new_viewer(&mut self, kind: Kind) -> u32 {
        let key = derive(self.s.seed, 2, self.viewers.len() as u64);
        let r = &mut self.rng;
        let home = r.weighted(&EDGE_WEIGHTS) as u8;
        let away = (home + 1 + r.below(EDGES.len() as u64 - 1) as u8) % EDGES.len() as u8;
        let ip0 = human_ip(r);
        let ip1 = if r.chance(0.5) { human_ip(r) } else { ip0 };
        let mut viewer = Viewer {
            key,
            kind,
            ua: r.weighted(&BROWSER_UA_WEIGHTS) as u8,
            ip: [ip0, ip1],
            edge: [home, away],
            cookie_name: r.below(2) as u8,
            analytics_cookie: r.chance(0.6),
        };
        if kind == Kind::Bot {
            viewer.ua = r.weighted(&BOT_UA_WEIGHTS) as u8;
            for attempt in 0.. {
                // Crawler ranges are small: fall back to a cloud address
                // rather than repeat an (address, agent) pair.
                viewer.ip[0] = bot_ip(r, if attempt < 8 { viewer.ua } else { 0 });
                viewer.ip[1] = viewer.ip[0];
                viewer.edge[1] = home;
                if self.bot_ids.insert((viewer.ip[0], viewer.ua)) {
                    break;
                }
            }
        }
        self.viewers.push(viewer);
        (self.viewers.len() - 1) as u32
    }

    /// Adds a request received at `t`; returns when the viewer may send the
    /// next one, or `None` once past the end of the window.
    fn push(&mut self, viewer: u32, t: i64, route: Route, arg: u32, roamed: bool) -> Option<i64> {
        if t >= self.end {
            return None;
        }
        let key = derive(self.s.seed, 3, self.counter);
        self.counter += 1;
        let edge = self.viewers[viewer as usize].edge[usize::from(roamed)];
        let timing = Timing::of(route, edge, key);
        self.reqs.push(Req {
            receipt_us: t,
            key,
            token: 0,
            viewer,
            arg,
            route,
            edge,
            outcome: Outcome::Miss,
            target: NO_TARGET,
            flags: if roamed { F_ROAMED } else { 0 },
            alb_status: 0,
            target_status: 0,
            cf_status: 0,
        });
        Some(t + timing.origin_total() + self.rng.range(15_000, 160_000))
    }

    fn product(&mut self) -> u32 {
        self.rng.log_range(1, 5_000) as u32
    }

    fn human(&mut self) {
        let v = self.new_viewer(Kind::Human);
        let mut t = self.rng.range(self.start, self.end - 1);
        let sessions = if self.rng.chance(0.2) { 2 } else { 1 };
        let roams_after =
            (self.s.faults.roaming && self.rng.chance(0.35)).then(|| self.rng.range(1, 4) as u32);
        let mut views = 0u32;
        for session in 0..sessions {
            if session > 0 {
                t += self.rng.range(35 * MINUTE, 80 * MINUTE);
            }
            let pages = 1 + (self.rng.unit().ln() / 0.78f64.ln()) as u32 % 14;
            for page in 0..pages {
                if page > 0 {
                    t += self.rng.log_range(3 * US_PER_SEC, 240 * US_PER_SEC);
                }
                let roamed = roams_after.is_some_and(|n| views >= n);
                let first_ever = views == 0;
                views += 1;
                match self.page_view(v, t, page == 0, first_ever, roamed) {
                    Some(next) => t = next,
                    None => return,
                }
            }
        }
    }

    /// One HTML page, its assets and its XHRs.
    fn page_view(
        &mut self,
        v: u32,
        t: i64,
        entry: bool,
        first_ever: bool,
        roamed: bool,
    ) -> Option<i64> {
        use Route::*;
        let weights: [u32; 6] = if entry {
            [55, 35, 0, 0, 5, 5]
        } else {
            [10, 50, 15, 5, 10, 10]
        };
        let route = [Home, Product, Cart, Checkout, AccountOrders, AccountProfile]
            [self.rng.weighted(&weights)];
        let arg = if route == Product { self.product() } else { 0 };
        let mut t = self.push(v, t, route, arg, roamed)?;
        let mut assets: Vec<(Route, u32)> = Vec::new();
        if first_ever {
            assets.extend([
                (StaticCss, 0),
                (StaticJs, 0),
                (StaticLogo, 0),
                (StaticFont, 0),
            ]);
        }
        match route {
            Product => {
                assets.push((StaticImg, arg));
                for _ in 0..self.rng.below(4) {
                    let other = self.product();
                    assets.push((StaticImg, other));
                }
                if self.rng.chance(0.7) {
                    assets.push((ApiRecs, arg));
                }
                if self.rng.chance(0.2) {
                    assets.push((ApiCartAdd, 0));
                }
            }
            Home => {
                for _ in 0..self.rng.range(2, 4) {
                    let featured = 1 + self.rng.below(12) as u32;
                    assets.push((StaticImg, featured));
                }
                if self.rng.chance(0.4) {
                    assets.push((ApiSession, 0));
                }
            }
            Cart | Checkout => assets.push((ApiCart, 0)),
            _ => {
                if self.rng.chance(0.5) {
                    assets.push((ApiSession, 0));
                }
            }
        }
        for (asset, arg) in assets {
            t = self.push(v, t, asset, arg, roamed)?;
        }
        Some(t)
    }

    fn bot(&mut self) {
        let v = self.new_viewer(Kind::Bot);
        let crawler = self.viewers[v as usize].ua >= FIRST_CRAWLER
            && self.viewers[v as usize].ua < FIRST_CRAWLER + 2;
        let mut t = self.rng.range(self.start, self.end - 1);
        for k in 0..self.rng.range(5, 60) {
            let (route, arg) = if k == 0 && crawler {
                (Route::Robots, 0)
            } else if crawler && self.rng.chance(0.2) {
                (Route::StaticImg, self.product())
            } else if self.rng.chance(0.7) {
                (Route::Product, self.product())
            } else {
                (Route::Home, 0)
            };
            let Some(next) = self.push(v, t, route, arg, false) else {
                return;
            };
            t = next + self.rng.log_range(US_PER_SEC, 20 * US_PER_SEC);
        }
    }

    fn hot(&mut self, window: (i64, i64)) {
        let v = self.new_viewer(Kind::Hot);
        let mut t = self.rng.range(window.0, window.1 - 1);
        for _ in 0..self.rng.range(5, 40) {
            if t >= window.1 {
                return;
            }
            let Some(next) = self.push(v, t, Route::Home, 0, false) else {
                return;
            };
            t = next + self.rng.range(US_PER_SEC / 2, 4 * US_PER_SEC);
        }
    }
}

/// A residential or mobile viewer address; one in five is IPv6.
pub fn human_ip(r: &mut Rng) -> Ip {
    const FIRST: [u8; 24] = [
        24, 49, 58, 68, 73, 76, 81, 86, 88, 92, 98, 101, 109, 118, 124, 151, 176, 177, 178, 180,
        186, 189, 200, 203,
    ];
    if r.chance(0.2) {
        const PREFIX: [[u16; 2]; 4] = [
            [0x2600, 0x1700],
            [0x2a02, 0x0c7c],
            [0x2406, 0xda14],
            [0x2804, 0x14c],
        ];
        let p = PREFIX[r.below(4) as usize];
        let mut g = [p[0], p[1], 0, 0, 0, 0, 0, 0];
        for (i, slot) in g.iter_mut().enumerate().skip(2) {
            *slot = if (4..6).contains(&i) && r.chance(0.4) {
                0
            } else {
                r.below(0x10000) as u16
            };
        }
        return Ip::V6(g);
    }
    let h = r.next_u64();
    Ip::V4([
        FIRST[(h % 24) as usize],
        (h >> 8) as u8,
        (h >> 16) as u8,
        1 + ((h >> 24) % 253) as u8,
    ])
}

/// A bot's address: crawlers from their published ranges, scripts from clouds.
fn bot_ip(r: &mut Rng, ua: u8) -> Ip {
    let h = r.next_u64();
    let last = 1 + ((h >> 24) % 253) as u8;
    match ua {
        2 => Ip::V4([66, 249, 64 + (h % 16) as u8, last]),
        3 => Ip::V4([157, 55, 39, last]),
        _ => {
            const CLOUD: [u8; 6] = [3, 34, 35, 52, 104, 159];
            Ip::V4([
                CLOUD[(h % 6) as usize],
                (h >> 8) as u8,
                (h >> 16) as u8,
                last,
            ])
        }
    }
}
