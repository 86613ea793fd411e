//! The simulated world: edges, routes and their cache behaviors, user
//! agents, and the per-request timing and byte counts that both log writers
//! derive from a request's key, so the two logs always agree.

use super::Faults;
use super::rng::Rng;
use super::text::Ip;

/// The distribution's domain (`cs(Host)`) and the CNAME viewers use.
pub const CF_HOST: &str = "d1234abcd.cloudfront.net";
pub const SITE_HOST: &str = "www.example.com";
pub const DISTRIBUTION_ID: &str = "E2QWRUHEXAMPLE";
pub const CF_PREFIX: &str = "cdn-logs";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const ELB: &str = "app/web-alb/50dc6c495c0c9188";
pub const TARGET_GROUP_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/6d0ecf831eec9f09";
pub const CERT_ARN: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/3f1c7a52-8d4e-4b9a-a3c1-5e2d7f9b0c61";
/// ALB node addresses, as they appear in the S3 key names.
pub const ALB_NODES: [&str; 3] = ["52.44.101.17", "54.210.33.158", "3.212.87.64"];
pub const TARGET_PORT: u16 = 8080;

/// A CloudFront edge location: code, origin latency (ms)
/// and the first two octets of its origin-facing addresses.
pub struct Edge {
    pub code: &'static str,
    pub latency_ms: (i64, i64),
    pub prefix: [u8; 2],
}

pub const EDGES: [Edge; 8] = [
    Edge {
        code: "IAD89-C1",
        latency_ms: (1, 4),
        prefix: [130, 176],
    },
    Edge {
        code: "DFW53-C1",
        latency_ms: (8, 16),
        prefix: [64, 252],
    },
    Edge {
        code: "SEA19-C1",
        latency_ms: (24, 36),
        prefix: [15, 158],
    },
    Edge {
        code: "FRA56-P3",
        latency_ms: (28, 40),
        prefix: [130, 176],
    },
    Edge {
        code: "LHR61-C2",
        latency_ms: (22, 34),
        prefix: [64, 252],
    },
    Edge {
        code: "NRT57-P2",
        latency_ms: (30, 40),
        prefix: [15, 158],
    },
    Edge {
        code: "GRU3-C2",
        latency_ms: (30, 40),
        prefix: [130, 176],
    },
    Edge {
        code: "SIN2-P1",
        latency_ms: (32, 40),
        prefix: [64, 252],
    },
];

pub const EDGE_WEIGHTS: [u32; 8] = [30, 12, 10, 14, 12, 8, 7, 7];
/// Origin-facing addresses per edge and connections kept per address.
pub const EDGE_IPS: u64 = 4;
pub const EDGE_CONNS: u64 = 12;

/// The origin-facing address `j` of edge `e` (fixed, not seeded).
pub fn edge_ip(e: u8, j: u64) -> Ip {
    let h = super::rng::derive(0xED6E, u64::from(e), j);
    let p = EDGES[usize::from(e)].prefix;
    Ip::V4([p[0], p[1], (h % 250) as u8 + 2, ((h >> 8) % 250) as u8 + 2])
}

pub const BROWSER_UAS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
];
pub const BROWSER_UA_WEIGHTS: [u32; 8] = [30, 14, 12, 8, 16, 12, 6, 2];

pub const BOT_UAS: [&str; 5] = [
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Go-http-client/1.1",
];
pub const BOT_UA_WEIGHTS: [u32; 5] = [25, 20, 30, 15, 10];
/// Index of the first crawler in `BOT_UAS` (crawlers fetch robots.txt first).
pub const FIRST_CRAWLER: u8 = 2;

/// What a request asks for; the path group decides the cache behavior.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Route {
    Home,
    Product,
    Cart,
    Checkout,
    AccountOrders,
    AccountProfile,
    Robots,
    ApiCart,
    ApiRecs,
    ApiCartAdd,
    ApiSession,
    StaticJs,
    StaticCss,
    StaticImg,
    StaticLogo,
    StaticFont,
}

/// A CloudFront cache behavior of the simulated distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// `/static/*`: CachingOptimized, no origin request policy.
    Static,
    /// `/api/*`: CachingDisabled + AllViewer.
    Api,
    /// `/account/*`: like `/api/*`, or cached for 60 s with `cache_session_pages`.
    Account,
    /// `*`: CachingDisabled + AllViewerExceptHostHeader.
    Default,
}

impl Route {
    pub fn behavior(self) -> Behavior {
        use Route::*;
        match self {
            StaticJs | StaticCss | StaticImg | StaticLogo | StaticFont => Behavior::Static,
            ApiCart | ApiRecs | ApiCartAdd | ApiSession => Behavior::Api,
            AccountOrders | AccountProfile => Behavior::Account,
            Home | Product | Cart | Checkout | Robots => Behavior::Default,
        }
    }

    pub fn is_static(self) -> bool {
        self.behavior() == Behavior::Static
    }

    pub fn method(self) -> &'static str {
        if self == Route::ApiCartAdd {
            "POST"
        } else {
            "GET"
        }
    }

    pub fn push_path(self, buf: &mut Vec<u8>, arg: u32) {
        use Route::*;
        let fixed: &[u8] = match self {
            Home => b"/",
            Product => b"/products/",
            Cart => b"/cart",
            Checkout => b"/checkout",
            AccountOrders => b"/account/orders",
            AccountProfile => b"/account/profile",
            Robots => b"/robots.txt",
            ApiCart => b"/api/cart",
            ApiRecs => b"/api/recommendations",
            ApiCartAdd => b"/api/cart/items",
            ApiSession => b"/api/session",
            StaticJs => b"/static/js/app.3f9c2a71.js",
            StaticCss => b"/static/css/site.8d1e40b2.css",
            StaticImg => b"/static/img/products/",
            StaticLogo => b"/static/img/logo.svg",
            StaticFont => b"/static/fonts/inter-var.woff2",
        };
        buf.extend_from_slice(fixed);
        match self {
            Product => super::text::push_u64(buf, u64::from(arg)),
            StaticImg => {
                super::text::push_u64(buf, u64::from(arg));
                buf.extend_from_slice(b".jpg");
            }
            _ => {}
        }
    }

    /// The query string the viewer sent, if any (derived from the key).
    pub fn push_query(self, buf: &mut Vec<u8>, arg: u32, key: u64) -> bool {
        let pick = (key >> 40) % 100;
        match self {
            Route::Product if pick < 20 => buf.extend_from_slice(b"ref=home"),
            Route::Product if pick < 28 => {
                buf.extend_from_slice(b"utm_source=newsletter&utm_medium=email")
            }
            Route::ApiRecs => {
                buf.extend_from_slice(b"product=");
                super::text::push_u64(buf, u64::from(arg));
                buf.extend_from_slice(b"&limit=8");
            }
            Route::StaticJs | Route::StaticCss if pick < 15 => buf.extend_from_slice(b"v=3"),
            Route::Home if pick < 4 => buf.extend_from_slice(b"utm_campaign=winter-sale"),
            _ => return false,
        }
        true
    }

    pub fn content_type(self) -> &'static str {
        use Route::*;
        match self {
            Home | Product | Cart | Checkout | AccountOrders | AccountProfile => {
                "text/html;charset=UTF-8"
            }
            Robots => "text/plain",
            ApiCart | ApiRecs | ApiCartAdd | ApiSession => "application/json",
            StaticJs => "application/javascript",
            StaticCss => "text/css",
            StaticImg => "image/jpeg",
            StaticLogo => "image/svg+xml",
            StaticFont => "font/woff2",
        }
    }

    /// Whether CloudFront compresses this object for browsers.
    fn compressible(self) -> bool {
        matches!(self, Route::StaticJs | Route::StaticCss | Route::StaticLogo)
    }

    /// Body size of the response (stable per object for static content).
    pub fn body_size(self, arg: u32, key: u64) -> u64 {
        use Route::*;
        let vary = |lo: u64, hi: u64| lo + key % (hi - lo);
        match self {
            Home => vary(28_000, 34_000),
            Product => vary(18_000, 42_000),
            Cart | Checkout => vary(9_000, 16_000),
            AccountOrders | AccountProfile => vary(11_000, 20_000),
            Robots => 312,
            ApiCart => vary(180, 2_400),
            ApiRecs => vary(1_500, 6_000),
            ApiCartAdd => vary(120, 400),
            ApiSession => vary(90, 300),
            StaticJs => 184_213,
            StaticCss => 41_877,
            StaticImg => 20_000 + u64::from(arg).wrapping_mul(7919) % 100_000,
            StaticLogo => 3_412,
            StaticFont => 48_256,
        }
    }

    /// Range of target processing time, in microseconds.
    fn target_us(self) -> (i64, i64) {
        match self.behavior() {
            Behavior::Static => (2_000, 40_000),
            Behavior::Api => (5_000, 180_000),
            Behavior::Account | Behavior::Default => (20_000, 400_000),
        }
    }

    /// A stable number per cacheable object, for the edge caches.
    pub fn object(self, arg: u32) -> u32 {
        ((self as u32) << 24) | arg
    }
}

/// How one behavior treats cookies, headers and the cache, given the faults.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub cache_ttl_us: i64,
    pub forwards_stickiness: bool,
    pub forwards_session: bool,
    pub passes_set_cookie: bool,
    pub forwards_user_agent: bool,
    pub forwards_query: bool,
}

impl Policy {
    pub fn of(behavior: Behavior, faults: &Faults) -> Policy {
        let all_cookies = !faults.strip_set_cookie_everywhere;
        let dynamic = Policy {
            cache_ttl_us: 0,
            forwards_stickiness: all_cookies,
            forwards_session: all_cookies,
            passes_set_cookie: all_cookies,
            forwards_user_agent: true,
            forwards_query: true,
        };
        match behavior {
            Behavior::Static => Policy {
                cache_ttl_us: 900 * 1_000_000,
                forwards_stickiness: false,
                forwards_session: false,
                passes_set_cookie: false,
                forwards_user_agent: false,
                forwards_query: false,
            },
            Behavior::Api if faults.api_no_awsalb => Policy {
                // A whitelist of the session cookie: AWSALB stays behind, but
                // the ALB's Set-Cookie still reaches the viewer (Cookies.md).
                forwards_stickiness: false,
                ..dynamic
            },
            Behavior::Account if faults.cache_session_pages => Policy {
                cache_ttl_us: 60 * 1_000_000,
                ..dynamic
            },
            _ => dynamic,
        }
    }

    pub fn is_cached(&self) -> bool {
        self.cache_ttl_us > 0
    }
}

/// Durations of one request, all in microseconds, derived from its key.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub edge_to_origin: i64,
    pub request_processing: i64,
    pub target_processing: i64,
    pub response_processing: i64,
    pub origin_to_edge: i64,
    pub edge_only: i64,
}

impl Timing {
    pub fn of(route: Route, edge: u8, key: u64) -> Timing {
        let mut rng = Rng::new(key ^ 0x7131_4E6A);
        let (lat_lo, lat_hi) = EDGES[usize::from(edge)].latency_ms;
        let (t_lo, t_hi) = route.target_us();
        Timing {
            edge_to_origin: rng.range(lat_lo * 1000, lat_hi * 1000),
            request_processing: rng.range(0, 900),
            target_processing: rng.log_range(t_lo, t_hi),
            response_processing: rng.range(0, 400),
            origin_to_edge: rng.range(1_000, 12_000),
            edge_only: rng.log_range(300, 9_000),
        }
    }

    /// Receipt at the edge to the last byte, when the origin answers.
    pub fn origin_total(&self) -> i64 {
        self.edge_to_origin
            + self.request_processing
            + self.target_processing
            + self.response_processing
            + self.origin_to_edge
    }
}

/// Byte counts of one request on both sides.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Bytes the viewer sent (`cs-bytes`).
    pub viewer_request: u64,
    /// Bytes CloudFront sent the ALB (`received_bytes`).
    pub origin_request: u64,
    /// Bytes the ALB sent back (`sent_bytes`).
    pub origin_response: u64,
    /// Bytes CloudFront sent the viewer (`sc-bytes`).
    pub viewer_response: u64,
    /// `sc-content-len` (0 = `-`).
    pub content_len: u64,
}

impl Sizes {
    /// `cookie_len` is the viewer's Cookie header, `forwarded_cookie_len`
    /// what CloudFront passed on; `not_modified_*` mark 304 answers.
    pub fn of(req: SizeInput) -> Sizes {
        let key = req.key;
        let mut body = req.route.body_size(req.arg, key >> 8);
        let headers_in = 180 + (key >> 20) % 240;
        let viewer_request = headers_in + req.ua_len + req.cookie_len + req.query_len;
        let forwarded = if req.forwards_all {
            viewer_request - req.cookie_len + req.forwarded_cookie_len
        } else {
            150 + (key >> 28) % 60 + req.forwarded_cookie_len
        };
        let origin_request = forwarded + 210 + (key >> 34) % 40;
        let origin_headers = 240 + (key >> 42) % 180;
        let cf_extra = 200 + (key >> 50) % 100;
        if req.compressed && req.route.compressible() {
            body = body * 28 / 100;
        }
        let origin_body = if req.origin_not_modified {
            0
        } else {
            req.route.body_size(req.arg, key >> 8)
        };
        let viewer_body = if req.viewer_not_modified { 0 } else { body };
        Sizes {
            viewer_request,
            origin_request,
            origin_response: origin_headers + origin_body,
            viewer_response: origin_headers + cf_extra + viewer_body,
            content_len: viewer_body,
        }
    }
}

/// What `Sizes::of` needs to know about a request.
pub struct SizeInput {
    pub route: Route,
    pub arg: u32,
    pub key: u64,
    pub ua_len: u64,
    pub cookie_len: u64,
    pub forwarded_cookie_len: u64,
    pub query_len: u64,
    pub forwards_all: bool,
    pub compressed: bool,
    pub origin_not_modified: bool,
    pub viewer_not_modified: bool,
}
