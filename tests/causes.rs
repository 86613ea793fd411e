//! Every flip cause on a hand-written timeline: tiny CloudFront and ALB logs
//! joined exactly through a `CfId` trace field, one session, and targets
//! whose traffic around each move decides the cause.

use indicatif::ProgressBar;
use std::collections::HashMap;
use std::fmt::Write as _;
use stickyaudit::scan::{self, ScanConfig};
use stickyaudit::source::expand_local;
use stickyaudit::source::ingest::{IngestOptions, ingest};

const FIELDS: &str = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";

struct Logs {
    cf: String,
    alb: String,
    n: u32,
}

impl Logs {
    /// One request at `secs` after 10:00:00 from `viewer`, served by `target`
    /// with `status`; `awsalb` says whether the viewer presented the cookie.
    fn request(
        &mut self,
        secs: u32,
        viewer: &str,
        awsalb: bool,
        target: &str,
        status: u16,
    ) -> String {
        self.n += 1;
        let id = format!(
            "req{:04}Xw4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
            self.n
        );
        let (h, m, s) = (10 + secs / 3600, secs / 60 % 60, secs % 60);
        let cookie = if awsalb {
            format!(
                "JSESSIONID={viewer};%20AWSALB=opaque{};%20AWSALBCORS=opaque{}",
                self.n, self.n
            )
        } else {
            format!("JSESSIONID={viewer}")
        };
        let day = 30 + (h / 24);
        let h = h % 24;
        writeln!(
            self.cf,
            "2026-11-{day:02}\t{h:02}:{m:02}:{s:02}\tFRA56-P3\t5120\t198.51.100.7\tGET\td1.cloudfront.net\t/cart\t{status}\t-\tMozilla/5.0\t-\t{cookie}\tMiss\t{id}\twww.example.com\thttps\t400\t0.300\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tMiss\tHTTP/2.0\t-\t-\t5000\t0.290\tMiss\ttext/html\t4800\t-\t-"
        )
        .unwrap();
        writeln!(
            self.alb,
            "https 2026-11-{day:02}T{h:02}:{m:02}:{s:02}.100000Z app/web/1 130.176.1.1:4000 {target} 0.001 0.100 0.001 {status} {status} 500 4900 \"GET https://www.example.com:443/cart HTTP/1.1\" \"Amazon CloudFront\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1 \"Root=1-6b0d4943-0b7bbdb25bd3f7253a8ecb52;CfId={id}\" \"-\" \"-\" 0 2026-11-{day:02}T{h:02}:{m:02}:{s:02}.000000Z \"forward\" \"-\" \"-\" \"{target}\" \"{status}\" \"-\" \"-\" TID_1"
        )
        .unwrap();
        id
    }
}

#[test]
fn each_cause_is_told_from_the_evidence() {
    let (a, b, c, d) = (
        "10.0.1.11:8080",
        "10.0.1.12:8080",
        "10.0.1.13:8080",
        "10.0.1.14:8080",
    );
    let mut logs = Logs {
        cf: FIELDS.to_string(),
        alb: String::new(),
        n: 0,
    };
    // Other viewers keep A and B busy all along (every 10 s), and D until 10:20.
    for t in (0..3600).step_by(10) {
        logs.request(t, &format!("bg-a-{t}"), false, a, 200);
        logs.request(t + 1, &format!("bg-b-{t}"), false, b, 200);
        if t < 1200 {
            logs.request(t + 2, &format!("bg-d-{t}"), false, d, 200);
        }
    }
    // Target C serves one request only: too little traffic to judge.
    let mut expect: HashMap<String, &str> = HashMap::new();
    let v = "viewer1";
    logs.request(100, v, false, a, 200); // first contact: not a flip
    logs.request(110, v, true, a, 200);
    expect.insert(logs.request(120, v, false, b, 200), "no_cookie");
    expect.insert(logs.request(130, v, true, a, 200), "no_cookie"); // the return keeps the cause
    expect.insert(logs.request(140, v, true, b, 200), "cookie_not_forwarded"); // A still serving
    logs.request(150, v, true, b, 200);
    expect.insert(logs.request(750, v, true, a, 200), "cookie_expired"); // 10 min > 5 min duration
    logs.request(760, v, true, a, 200);
    expect.insert(logs.request(770, v, true, c, 200), "cookie_not_forwarded");
    // C serves nobody else: whether it was up cannot be told.
    expect.insert(logs.request(780, v, true, d, 200), "unknown");
    logs.request(790, v, true, d, 200);
    logs.request(1000, v, true, d, 200);
    logs.request(1190, v, true, d, 200);
    logs.request(1390, v, true, d, 200);
    logs.request(1590, v, true, d, 200);
    // D's answers to everyone else stop at 10:20; ten minutes later, with
    // A and B still busy, the viewer moves.
    expect.insert(logs.request(1800, v, true, a, 200), "target_unhealthy");

    let dir = std::env::temp_dir().join(format!("stickyaudit-causes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cf.log"), &logs.cf).unwrap();
    std::fs::write(dir.join("alb.log"), &logs.alb).unwrap();
    let inputs = expand_local(dir.to_str().unwrap(), None).unwrap();
    let parsed = ingest(&inputs, &IngestOptions::default(), &ProgressBar::hidden());
    assert_eq!(parsed.cloudfront.len(), parsed.alb.len());
    let mut config = ScanConfig::default();
    config.detect.stickiness_us = 5 * 60 * 1_000_000;
    config.session.idle_gap_us = 60 * 60 * 1_000_000;
    let result = scan::run(&parsed, &config);
    assert_eq!(result.join.trace_field.as_deref(), Some("CfId"));
    assert_eq!(result.join.pairs(), parsed.alb.len());

    let got: HashMap<String, &str> = result
        .detected
        .findings
        .iter()
        .filter(|f| f.kind == stickyaudit::detect::Kind::TargetFlip)
        .filter(|f| {
            parsed
                .cloudfront
                .session_hash
                .get(f.cf_row as usize)
                .is_some()
        })
        .filter(|f| result.sessions.list[f.session as usize].len > 10)
        .map(|f| {
            let id = parsed
                .cloudfront
                .request_id
                .get(f.cf_row as usize)
                .unwrap()
                .to_string();
            (id, f.cause.unwrap().name())
        })
        .collect();
    assert_eq!(got, expect);
    let _ = std::fs::remove_dir_all(&dir);
}
