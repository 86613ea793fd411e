//! Formats one CloudFront or ALB log line from the simulated state, in the
//! exact field order of the AWS formats (aws-log-facts.md §1.3 and §3.2).

use super::model::{
    ALB_NODES, BOT_UAS, BROWSER_UAS, CERT_ARN, CF_HOST, EDGE_CONNS, EDGE_IPS, EDGES, ELB, Policy,
    Route, SITE_HOST, SizeInput, Sizes, TARGET_GROUP_ARN, TARGET_PORT, Timing, edge_ip,
};
use super::plan::{
    F_ORIGIN, F_ORIGIN_304, F_REGIONAL, F_ROAMED, F_VIEWER_304, Kind, NO_TARGET, Outcome, Req,
    Viewer,
};
use super::rng::{Rng, derive};
use super::sim::Health;
use super::text::{
    ALNUM, B64_STD, B64_URL, Ip, US_PER_SEC, cf_encode, push_base64, push_clock, push_date,
    push_hex, push_iso_us, push_random, push_secs_ms, push_u64,
};
use super::{Scenario, Stickiness};

pub const CF_HEADER: &[u8] = b"#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";

const STICKY_LEN: usize = 136;
const APP_STICKY_LEN: usize = 112;
const SESSION_NAMES: [&str; 2] = ["JSESSIONID", "PHPSESSID"];

/// ALB traffic that did not come through CloudFront.
#[derive(Clone, Debug)]
pub struct Bypass {
    pub created: i64,
    pub key: u64,
    pub route: Route,
    pub arg: u32,
    pub target: u8,
    pub ip: Ip,
    pub ua: u8,
    pub status: u16,
}

/// Everything the line writers read; shared by all writer threads.
pub struct World<'a> {
    pub s: &'a Scenario,
    pub reqs: &'a [Req],
    pub viewers: &'a [Viewer],
    pub bypass: &'a [Bypass],
    pub health: Health,
    browser_uas: Vec<String>,
    bot_uas: Vec<String>,
}

/// When one request happened, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Times {
    pub receipt: i64,
    /// ALB `request_creation_time`.
    pub created: i64,
    /// ALB `time`.
    pub responded: i64,
    /// CloudFront finished responding.
    pub finish: i64,
}

/// The CloudFront-to-ALB connection a request travelled on.
pub struct Conn {
    pub ip: Ip,
    pub port: u64,
    pub node: u8,
    pub trace: u64,
}

impl<'a> World<'a> {
    pub fn new(
        s: &'a Scenario,
        reqs: &'a [Req],
        viewers: &'a [Viewer],
        bypass: &'a [Bypass],
        health: Health,
    ) -> Self {
        World {
            s,
            reqs,
            viewers,
            bypass,
            health,
            browser_uas: BROWSER_UAS.iter().map(|u| cf_encode(u)).collect(),
            bot_uas: BOT_UAS.iter().map(|u| cf_encode(u)).collect(),
        }
    }

    pub fn viewer(&self, r: &Req) -> &Viewer {
        &self.viewers[r.viewer as usize]
    }

    pub fn ua(&self, v: &Viewer) -> &'static str {
        if v.kind == Kind::Bot {
            BOT_UAS[usize::from(v.ua)]
        } else {
            BROWSER_UAS[usize::from(v.ua)]
        }
    }

    fn ua_encoded(&self, v: &Viewer) -> &str {
        if v.kind == Kind::Bot {
            &self.bot_uas[usize::from(v.ua)]
        } else {
            &self.browser_uas[usize::from(v.ua)]
        }
    }

    pub fn times(&self, r: &Req) -> Times {
        let t = Timing::of(r.route, r.edge, r.key);
        let receipt = r.receipt_us;
        let created = receipt + t.edge_to_origin;
        if !r.has(F_ORIGIN) {
            let spent = if r.has(F_REGIONAL) {
                4 * t.edge_only
            } else {
                t.edge_only
            };
            return Times {
                receipt,
                created,
                responded: created,
                finish: receipt + spent,
            };
        }
        let responded = if r.target_status == 0 {
            created + t.request_processing + 600 + 5 * t.response_processing
        } else {
            created + t.request_processing + t.target_processing + t.response_processing
        };
        Times {
            receipt,
            created,
            responded,
            finish: responded + t.origin_to_edge,
        }
    }

    pub fn conn(&self, edge: u8, key: u64, created: i64) -> Conn {
        let h = derive(key, 5, 0);
        let ip_index = h % EDGE_IPS;
        let slot = (h >> 8) % EDGE_CONNS;
        // Connections are recycled every five minutes.
        let generation = (created / (300 * US_PER_SEC)) as u64;
        let c = derive(
            self.s.seed ^ ((u64::from(edge) << 16) | (ip_index << 8) | slot),
            6,
            generation,
        );
        Conn {
            ip: edge_ip(edge, ip_index),
            port: 1024 + c % 64_000,
            node: ((c >> 20) % ALB_NODES.len() as u64) as u8,
            trace: c,
        }
    }

    /// The `x-edge-request-id`: 40 random bytes as URL-safe base64 (56 chars, `==`).
    pub fn push_request_id(&self, buf: &mut Vec<u8>, key: u64) {
        let mut rng = Rng::new(derive(key, 11, 0));
        let mut bytes = [0u8; 40];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        push_base64(buf, &bytes, B64_URL);
    }

    pub fn request_id(&self, i: usize) -> String {
        let mut buf = Vec::with_capacity(56);
        self.push_request_id(&mut buf, self.reqs[i].key);
        String::from_utf8(buf).expect("base64 is ASCII")
    }

    /// The viewer's application session cookie, `NAME=value`.
    pub fn push_session_cookie(&self, buf: &mut Vec<u8>, v: &Viewer) {
        buf.extend_from_slice(SESSION_NAMES[usize::from(v.cookie_name)].as_bytes());
        buf.push(b'=');
        let mut rng = Rng::new(derive(v.key, 14, 0));
        if v.cookie_name == 0 {
            push_random(buf, &mut rng, ALNUM, 32);
        } else {
            push_random(buf, &mut rng, b"abcdefghijklmnopqrstuvwxyz0123456789", 26);
        }
    }

    fn session_cookie_len(v: &Viewer) -> u64 {
        if v.cookie_name == 0 { 11 + 32 } else { 10 + 26 }
    }

    fn sticky_len(&self) -> u64 {
        match self.s.stickiness {
            Stickiness::Duration => (2 + 7 + STICKY_LEN + 2 + 11 + STICKY_LEN) as u64,
            Stickiness::Application => (2 + 12 + APP_STICKY_LEN + 3 * (2 + 12 + 8)) as u64,
        }
    }

    /// `cs(Cookie)`, URL-encoded (`; ` becomes `;%20`), or `-`.
    fn push_cookie(&self, buf: &mut Vec<u8>, r: &Req, v: &Viewer) {
        if !v.keeps_cookies() {
            buf.push(b'-');
            return;
        }
        self.push_session_cookie(buf, v);
        if v.analytics_cookie {
            buf.extend_from_slice(b";%20_ga=GA1.1.");
            push_u64(buf, 1_000_000_000 + v.key % 8_999_999_999);
            buf.push(b'.');
            push_u64(buf, 1_790_000_000 + (v.key >> 33) % 6_000_000);
        }
        if r.token == 0 {
            return;
        }
        let mut rng = Rng::new(r.token);
        match self.s.stickiness {
            Stickiness::Duration => {
                buf.extend_from_slice(b";%20AWSALB=");
                let start = buf.len();
                push_random(buf, &mut rng, B64_STD, STICKY_LEN);
                buf.extend_from_slice(b";%20AWSALBCORS=");
                buf.extend_from_within(start..start + STICKY_LEN);
            }
            Stickiness::Application => {
                buf.extend_from_slice(b";%20AWSALBAPP-0=");
                push_random(buf, &mut rng, B64_STD, APP_STICKY_LEN);
                for n in 1..4 {
                    buf.extend_from_slice(b";%20AWSALBAPP-");
                    push_u64(buf, n);
                    buf.extend_from_slice(b"=_remove_");
                }
            }
        }
    }

    fn sizes(&self, r: &Req, v: &Viewer) -> Sizes {
        let policy = Policy::of(r.route.behavior(), &self.s.faults);
        let browser = v.keeps_cookies();
        let session = if browser {
            Self::session_cookie_len(v)
        } else {
            0
        };
        let ga = if browser && v.analytics_cookie { 32 } else { 0 };
        let sticky = if r.token != 0 { self.sticky_len() } else { 0 };
        let mut forwarded = 0;
        if policy.forwards_session {
            forwarded += session + ga;
        }
        if policy.forwards_stickiness {
            forwarded += sticky;
        }
        let mut q = Vec::new();
        let query_len = if r.route.push_query(&mut q, r.arg, r.key) {
            q.len() as u64 + 1
        } else {
            0
        };
        Sizes::of(SizeInput {
            route: r.route,
            arg: r.arg,
            key: r.key,
            ua_len: self.ua(v).len() as u64,
            cookie_len: session + ga + sticky,
            forwarded_cookie_len: forwarded,
            query_len,
            forwards_all: policy.forwards_user_agent,
            compressed: browser,
            origin_not_modified: r.has(F_ORIGIN_304),
            viewer_not_modified: r.has(F_VIEWER_304),
        })
    }

    /// One CloudFront standard-log record, newline included.
    pub fn push_cf_line(&self, buf: &mut Vec<u8>, i: usize) {
        let r = &self.reqs[i];
        let v = self.viewer(r);
        let times = self.times(r);
        let sizes = self.sizes(r, v);
        let browser = v.keeps_cookies();
        let finish_secs = times.finish.div_euclid(US_PER_SEC);
        push_date(buf, finish_secs, b"-");
        buf.push(b'\t');
        push_clock(buf, finish_secs, b":");
        buf.push(b'\t');
        buf.extend_from_slice(EDGES[usize::from(r.edge)].code.as_bytes());
        buf.push(b'\t');
        push_u64(buf, sizes.viewer_response);
        buf.push(b'\t');
        v.ip[usize::from(r.has(F_ROAMED))].push(buf);
        buf.push(b'\t');
        buf.extend_from_slice(r.route.method().as_bytes());
        buf.push(b'\t');
        buf.extend_from_slice(CF_HOST.as_bytes());
        buf.push(b'\t');
        r.route.push_path(buf, r.arg);
        buf.push(b'\t');
        push_u64(buf, u64::from(r.cf_status));
        buf.push(b'\t');
        self.push_referer(buf, r, v);
        buf.push(b'\t');
        buf.extend_from_slice(self.ua_encoded(v).as_bytes());
        buf.push(b'\t');
        if !r.route.push_query(buf, r.arg, r.key) {
            buf.push(b'-');
        }
        buf.push(b'\t');
        self.push_cookie(buf, r, v);
        buf.push(b'\t');
        let outcome = outcome_name(r.outcome);
        buf.extend_from_slice(outcome);
        buf.push(b'\t');
        self.push_request_id(buf, r.key);
        buf.push(b'\t');
        buf.extend_from_slice(SITE_HOST.as_bytes());
        buf.extend_from_slice(b"\thttps\t");
        push_u64(buf, sizes.viewer_request);
        buf.push(b'\t');
        let taken = (times.finish - times.receipt).max(1_000);
        push_secs_ms(buf, taken);
        buf.extend_from_slice(b"\t-\t");
        if browser {
            buf.extend_from_slice(b"TLSv1.3\tTLS_AES_128_GCM_SHA256\t");
        } else {
            buf.extend_from_slice(b"TLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\t");
        }
        buf.extend_from_slice(outcome);
        buf.push(b'\t');
        buf.extend_from_slice(if browser { b"HTTP/2.0" } else { b"HTTP/1.1" });
        buf.extend_from_slice(b"\t-\t-\t");
        push_u64(
            buf,
            1024 + derive(v.key, 12, (times.receipt / (90 * US_PER_SEC)) as u64) % 64_000,
        );
        buf.push(b'\t');
        let first_byte = if r.has(F_ORIGIN) {
            times.responded - times.receipt + 400
        } else {
            taken / 2
        };
        push_secs_ms(buf, first_byte.clamp(1_000, taken));
        buf.push(b'\t');
        buf.extend_from_slice(outcome);
        buf.push(b'\t');
        buf.extend_from_slice(r.route.content_type().as_bytes());
        buf.push(b'\t');
        if sizes.content_len == 0 {
            buf.push(b'-');
        } else {
            push_u64(buf, sizes.content_len);
        }
        buf.extend_from_slice(b"\t-\t-\n");
    }

    fn push_referer(&self, buf: &mut Vec<u8>, r: &Req, v: &Viewer) {
        if !v.keeps_cookies()
            || (!r.route.is_static() && r.key % 3 == 0 && r.route.method() == "GET")
        {
            buf.push(b'-');
            return;
        }
        buf.extend_from_slice(b"https://www.example.com/");
        if matches!(r.route, Route::StaticImg | Route::ApiRecs) && r.arg > 12 {
            buf.extend_from_slice(b"products/");
            push_u64(buf, u64::from(r.arg));
        }
    }

    /// One ALB access-log entry for a CloudFront origin request.
    pub fn push_alb_line(&self, buf: &mut Vec<u8>, i: usize) {
        let r = &self.reqs[i];
        let v = self.viewer(r);
        let times = self.times(r);
        let sizes = self.sizes(r, v);
        let t = Timing::of(r.route, r.edge, r.key);
        let conn = self.conn(r.edge, r.key, times.created);
        let policy = Policy::of(r.route.behavior(), &self.s.faults);
        buf.extend_from_slice(b"https ");
        push_iso_us(buf, times.responded);
        buf.push(b' ');
        buf.extend_from_slice(ELB.as_bytes());
        buf.push(b' ');
        conn.ip.push(buf);
        buf.push(b':');
        push_u64(buf, conn.port);
        buf.push(b' ');
        push_target(buf, r.target);
        buf.push(b' ');
        let answered = r.target_status != 0;
        push_secs_ms(buf, t.request_processing);
        buf.push(b' ');
        push_secs_ms(buf, if answered { t.target_processing } else { -1 });
        buf.push(b' ');
        push_secs_ms(buf, if answered { t.response_processing } else { -1 });
        buf.push(b' ');
        push_u64(buf, u64::from(r.alb_status));
        buf.push(b' ');
        push_status(buf, r.target_status);
        buf.push(b' ');
        push_u64(buf, sizes.origin_request);
        buf.push(b' ');
        push_u64(buf, if answered { sizes.origin_response } else { 272 });
        buf.extend_from_slice(b" \"");
        buf.extend_from_slice(r.route.method().as_bytes());
        buf.extend_from_slice(b" https://www.example.com:443");
        r.route.push_path(buf, r.arg);
        if policy.forwards_query {
            let mark = buf.len();
            buf.push(b'?');
            if !r.route.push_query(buf, r.arg, r.key) {
                buf.truncate(mark);
            }
        }
        buf.extend_from_slice(b" HTTP/1.1\" \"");
        if policy.forwards_user_agent {
            buf.extend_from_slice(self.ua(v).as_bytes());
        } else {
            buf.extend_from_slice(b"Amazon CloudFront");
        }
        buf.extend_from_slice(b"\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ");
        let trace_secs = if self.s.trace_ids {
            times.receipt
        } else {
            times.created
        } / US_PER_SEC;
        let cf_id = self.s.trace_ids.then_some(r.key);
        self.push_alb_tail(
            buf,
            AlbTail {
                key: r.key,
                trace_secs,
                cf_id,
                created: times.created,
                target: r.target,
                status: r.target_status,
                conn: conn.trace,
            },
        );
    }

    /// ALB `time` of a bypass entry.
    pub fn bypass_responded(&self, b: &Bypass) -> i64 {
        if b.status == 502 {
            return b.created + 900;
        }
        let t = Timing::of(b.route, 0, b.key);
        b.created + t.request_processing + t.target_processing + t.response_processing
    }

    /// One ALB entry for a request that came straight from the internet.
    pub fn push_bypass_line(&self, buf: &mut Vec<u8>, b: &Bypass) {
        let t = Timing::of(b.route, 0, b.key);
        let answered = b.status != 502;
        buf.extend_from_slice(b"h2 ");
        push_iso_us(buf, self.bypass_responded(b));
        buf.push(b' ');
        buf.extend_from_slice(ELB.as_bytes());
        buf.push(b' ');
        b.ip.push(buf);
        buf.push(b':');
        push_u64(buf, 1024 + (b.key >> 7) % 64_000);
        buf.push(b' ');
        push_target(buf, b.target);
        buf.push(b' ');
        push_secs_ms(buf, t.request_processing);
        buf.push(b' ');
        push_secs_ms(buf, if answered { t.target_processing } else { -1 });
        buf.push(b' ');
        push_secs_ms(buf, if answered { t.response_processing } else { -1 });
        buf.push(b' ');
        push_u64(buf, u64::from(b.status));
        buf.push(b' ');
        push_status(buf, if answered { b.status } else { 0 });
        buf.push(b' ');
        push_u64(buf, 420 + (b.key >> 20) % 600);
        buf.push(b' ');
        push_u64(buf, 300 + b.route.body_size(b.arg, b.key >> 8));
        buf.extend_from_slice(b" \"");
        buf.extend_from_slice(b.route.method().as_bytes());
        buf.extend_from_slice(b" https://www.example.com:443");
        b.route.push_path(buf, b.arg);
        buf.extend_from_slice(b" HTTP/2.0\" \"");
        buf.extend_from_slice(BROWSER_UAS[usize::from(b.ua)].as_bytes());
        buf.extend_from_slice(b"\" TLS_AES_128_GCM_SHA256 TLSv1.3 ");
        let status = if answered { b.status } else { 0 };
        let tail = AlbTail {
            key: b.key,
            trace_secs: b.created / US_PER_SEC,
            cf_id: None,
            created: b.created,
            target: b.target,
            status,
            conn: b.key >> 3,
        };
        self.push_alb_tail(buf, tail);
    }

    /// Fields 17 to 33: from the target group ARN to the transform status.
    fn push_alb_tail(&self, buf: &mut Vec<u8>, tail: AlbTail) {
        buf.extend_from_slice(TARGET_GROUP_ARN.as_bytes());
        buf.extend_from_slice(b" \"Root=1-");
        push_hex(buf, tail.trace_secs as u64, 8);
        buf.push(b'-');
        push_hex(buf, derive(tail.key, 13, 0), 16);
        push_hex(buf, derive(tail.key, 13, 1), 8);
        if let Some(key) = tail.cf_id {
            buf.extend_from_slice(b";CfId=");
            self.push_request_id(buf, key);
        }
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(SITE_HOST.as_bytes());
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(CERT_ARN.as_bytes());
        buf.extend_from_slice(b"\" 0 ");
        push_iso_us(buf, tail.created);
        buf.extend_from_slice(b" \"forward\" \"-\" \"-\" \"");
        push_target(buf, tail.target);
        buf.extend_from_slice(b"\" \"");
        push_status(buf, tail.status);
        buf.extend_from_slice(b"\" \"-\" \"-\" TID_");
        push_hex(buf, derive(tail.conn, 15, 0), 16);
        push_hex(buf, derive(tail.conn, 16, 0), 16);
        buf.extend_from_slice(b" \"-\" \"-\" \"-\"\n");
    }
}

struct AlbTail {
    key: u64,
    trace_secs: i64,
    cf_id: Option<u64>,
    created: i64,
    target: u8,
    status: u16,
    conn: u64,
}

pub fn target_text(target: u8) -> String {
    let mut buf = Vec::new();
    push_target(&mut buf, target);
    String::from_utf8(buf).expect("ASCII")
}

fn push_target(buf: &mut Vec<u8>, target: u8) {
    if target == NO_TARGET {
        buf.push(b'-');
        return;
    }
    buf.extend_from_slice(b"10.0.1.");
    push_u64(buf, 11 + u64::from(target));
    buf.push(b':');
    push_u64(buf, u64::from(TARGET_PORT));
}

fn push_status(buf: &mut Vec<u8>, status: u16) {
    if status == 0 {
        buf.push(b'-');
    } else {
        push_u64(buf, u64::from(status));
    }
}

pub fn outcome_name(o: Outcome) -> &'static [u8] {
    match o {
        Outcome::Hit => b"Hit",
        Outcome::Miss => b"Miss",
        Outcome::RefreshHit => b"RefreshHit",
        Outcome::Error => b"Error",
    }
}
