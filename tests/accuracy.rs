//! Accuracy of `stickyaudit scan` against the generator's ground truth:
//! join, flip, cause, cache-hit and never-delivered precision and recall,
//! measured through the real binary on generated scenarios.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use stickyaudit::r#gen::{Fault, Scenario, Stickiness, generate};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stickyaudit-accuracy-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Precision and recall of `ours` against `truth`.
#[derive(Debug, Clone, Copy)]
struct Pr {
    precision: f64,
    recall: f64,
    ours: usize,
    truth: usize,
}

fn pr<T: std::hash::Hash + Eq>(ours: &HashSet<T>, truth: &HashSet<T>) -> Pr {
    let hit = ours.intersection(truth).count();
    Pr {
        precision: if ours.is_empty() {
            1.0
        } else {
            hit as f64 / ours.len() as f64
        },
        recall: if truth.is_empty() {
            1.0
        } else {
            hit as f64 / truth.len() as f64
        },
        ours: ours.len(),
        truth: truth.len(),
    }
}

struct Measured {
    join: Pr,
    flips: Pr,
    causes: Vec<(String, Pr)>,
    hits: Pr,
    leaks: Pr,
    never_delivered: Pr,
}

fn measure(name: &str, scenario: &Scenario) -> Measured {
    let dir = scratch(name);
    let data = dir.join("data");
    generate(scenario, &data).unwrap();
    let report = dir.join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .args(["scan", "--quiet", "--out"])
        .arg(&report)
        .arg(data.join("cloudfront"))
        .arg(data.join("alb"))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let prefix = format!("{}/", data.display());
    let rel = |s: &str| s.strip_prefix(&prefix).unwrap_or(s).to_string();
    let truth = data.join("truth");

    let truth_joins: HashSet<(String, String, String)> = read_csv(&truth.join("joins.csv"))
        .into_iter()
        .map(|r| {
            (
                r["cf_request_id"].clone(),
                r["alb_source"].clone(),
                r["alb_line"].clone(),
            )
        })
        .collect();
    let our_joins: HashSet<(String, String, String)> = read_csv(&report.join("joins.csv"))
        .into_iter()
        .map(|r| {
            (
                r["cf_request_id"].clone(),
                rel(&r["alb_source"]),
                r["alb_line"].clone(),
            )
        })
        .collect();

    let findings = read_csv(&report.join("findings.csv"));
    let of_kind = |kind: &'static str| findings.iter().filter(move |f| f["kind"] == kind);
    let truth_flips: HashMap<String, String> = read_csv(&truth.join("flips.csv"))
        .into_iter()
        .map(|r| (r["cf_request_id"].clone(), r["cause"].clone()))
        .collect();
    let our_flips: HashMap<String, String> = of_kind("target_flip")
        .map(|f| (f["cf_request_id"].clone(), f["cause"].clone()))
        .collect();
    let keys = |m: &HashMap<String, String>| m.keys().cloned().collect::<HashSet<_>>();
    let mut causes = Vec::new();
    for cause in [
        "no_cookie",
        "cookie_not_forwarded",
        "target_unhealthy",
        "cookie_expired",
        "unknown",
    ] {
        let pick = |m: &HashMap<String, String>| {
            m.iter()
                .filter(|(_, c)| *c == cause)
                .map(|(id, _)| id.clone())
                .collect::<HashSet<_>>()
        };
        let (o, t) = (pick(&our_flips), pick(&truth_flips));
        if !o.is_empty() || !t.is_empty() {
            causes.push((cause.to_string(), pr(&o, &t)));
        }
    }
    let truth_hits = read_csv(&truth.join("hits.csv"));
    let our_hits: Vec<_> = of_kind("cache_hit_should_be_origin").collect();
    let ids = |rows: &mut dyn Iterator<Item = String>| rows.collect::<HashSet<_>>();
    let hits = pr(
        &ids(&mut our_hits.iter().map(|f| f["cf_request_id"].clone())),
        &ids(&mut truth_hits.iter().map(|r| r["cf_request_id"].clone())),
    );
    let leaks = pr(
        &ids(&mut our_hits
            .iter()
            .filter(|f| f["severity"] == "high")
            .map(|f| f["cf_request_id"].clone())),
        &ids(&mut truth_hits
            .iter()
            .filter(|r| r["leak"] == "true")
            .map(|r| r["cf_request_id"].clone())),
    );
    let never_delivered = pr(
        &ids(&mut of_kind("cookie_never_delivered").map(|f| f["cf_request_id"].clone())),
        &ids(&mut read_csv(&truth.join("never_delivered.csv"))
            .into_iter()
            .map(|r| r["first_cf_request_id"].clone())),
    );
    let m = Measured {
        join: pr(&our_joins, &truth_joins),
        flips: pr(&keys(&our_flips), &keys(&truth_flips)),
        causes,
        hits,
        leaks,
        never_delivered,
    };
    eprintln!("== {name}");
    eprintln!("  join            {:?}", m.join);
    eprintln!("  flips           {:?}", m.flips);
    for (c, p) in &m.causes {
        eprintln!("  cause {c:<22} {p:?}");
    }
    eprintln!("  flagged hits    {:?}", m.hits);
    eprintln!("  leaks           {:?}", m.leaks);
    eprintln!("  never delivered {:?}", m.never_delivered);
    let _ = std::fs::remove_dir_all(&dir);
    m
}

fn at_least(what: &str, p: Pr, target: f64) {
    assert!(
        p.precision >= target && p.recall >= target,
        "{what}: precision {:.4} recall {:.4} (ours {}, truth {}) below {target}",
        p.precision,
        p.recall,
        p.ours,
        p.truth
    );
}

/// Every cause the truth knows reaches `target`; `unknown` (the scan's
/// honest "the evidence does not decide", which the truth never uses) stays
/// under 1 % of the flips.
fn causes_at_least(m: &Measured, target: f64) {
    for (cause, p) in &m.causes {
        if cause == "unknown" {
            assert!(
                p.ours * 100 <= m.flips.ours.max(100),
                "{} unknown causes in {} flips",
                p.ours,
                m.flips.ours
            );
        } else {
            at_least(&format!("cause {cause}"), *p, target);
        }
    }
}

fn faulty(seed: u64, faults: &[Fault]) -> Scenario {
    let mut s = Scenario::with_faults(faults);
    s.seed = seed;
    s.requests = 40_000;
    s
}

#[test]
fn trace_ids_give_an_exact_join() {
    let mut s = faulty(
        11,
        &[
            Fault::TargetFailure,
            Fault::Bots,
            Fault::Bypass,
            Fault::RegionalCache,
        ],
    );
    s.trace_ids = true;
    let m = measure("trace-ids", &s);
    at_least("join with trace ids", m.join, 0.999);
    at_least("flips", m.flips, 0.95);
}

#[test]
fn scored_join_and_findings_on_a_faulty_site() {
    let s = faulty(
        12,
        &[
            Fault::ApiNoAwsalb,
            Fault::CacheSessionPages,
            Fault::TargetFailure,
            Fault::Bots,
            Fault::Roaming,
            Fault::Bypass,
            Fault::RegionalCache,
        ],
    );
    let m = measure("faulty", &s);
    at_least("join without trace ids", m.join, 0.98);
    at_least("flips", m.flips, 0.95);
    causes_at_least(&m, 0.90);
    at_least("flagged hits", m.hits, 0.95);
    at_least("leaks", m.leaks, 0.95);
}

#[test]
fn a_sound_setup_raises_no_false_alarm() {
    let m = measure(
        "sound",
        &faulty(
            13,
            &[Fault::TargetFailure, Fault::Roaming, Fault::RegionalCache],
        ),
    );
    at_least("join", m.join, 0.98);
    at_least("flips (failovers only)", m.flips, 0.95);
    assert!(
        m.causes.iter().all(|(c, _)| c == "target_unhealthy"),
        "{:?}",
        m.causes.iter().map(|c| &c.0).collect::<Vec<_>>()
    );
    assert_eq!(m.hits.ours, 0);
    assert_eq!(m.never_delivered.ours, 0);
}

#[test]
fn stripped_set_cookie_is_found_as_never_delivered() {
    let m = measure(
        "strip",
        &faulty(14, &[Fault::StripSetCookieEverywhere, Fault::Bots]),
    );
    at_least("never delivered", m.never_delivered, 0.95);
    at_least("flips", m.flips, 0.95);
    causes_at_least(&m, 0.90);
}

#[test]
fn application_stickiness_is_understood() {
    let mut s = faulty(15, &[Fault::ApiNoAwsalb, Fault::TargetFailure]);
    s.stickiness = Stickiness::Application;
    let m = measure("app-cookie", &s);
    at_least("join", m.join, 0.98);
    at_least("flips", m.flips, 0.95);
    causes_at_least(&m, 0.90);
}

#[test]
fn a_hot_path_does_not_break_the_join() {
    let m = measure(
        "hot",
        &faulty(
            16,
            &[
                Fault::HotPath,
                Fault::TargetFailure,
                Fault::Bots,
                Fault::ApiNoAwsalb,
            ],
        ),
    );
    at_least("join on a hot path", m.join, 0.98);
    at_least("flips", m.flips, 0.95);
    causes_at_least(&m, 0.90);
}

#[test]
fn a_hot_path_on_a_sound_setup_raises_almost_no_false_flip() {
    let m = measure(
        "hot-sound",
        &faulty(17, &[Fault::HotPath, Fault::TargetFailure]),
    );
    at_least("join on a hot path", m.join, 0.98);
    // Every true flip is found; the few false ones come from requests the
    // logs cannot tell apart (same edge, second, path, status and size).
    assert!(m.flips.recall >= 0.95, "{:?}", m.flips);
    let false_flips = m.flips.ours - (m.flips.precision * m.flips.ours as f64).round() as usize;
    assert!(
        false_flips * 1_000 <= m.join.truth,
        "{false_flips} false flips in {} origin requests",
        m.join.truth
    );
}
