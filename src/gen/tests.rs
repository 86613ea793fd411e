//! End-to-end checks of the generator: determinism, formats, and truth that
//! agrees with the logs.

use super::*;
use std::collections::HashMap;

fn small(faults: &[Fault]) -> Scenario {
    let mut s = Scenario::with_faults(faults);
    s.requests = 4_000;
    s.duration_secs = 3600;
    s.gzip = false;
    s
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stickyaudit-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Splits an ALB line on spaces outside double quotes.
fn alb_fields(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn same_seed_gives_identical_bytes() {
    let s = small(&[
        Fault::Bots,
        Fault::TargetFailure,
        Fault::Bypass,
        Fault::RegionalCache,
    ]);
    let (a, b) = (scratch("det-a"), scratch("det-b"));
    let ga = generate(
        &Scenario {
            gzip: true,
            ..s.clone()
        },
        &a,
    )
    .unwrap();
    let gb = generate(&Scenario { gzip: true, ..s }, &b).unwrap();
    assert_eq!(
        ga.cf_files.len() + ga.alb_files.len(),
        gb.cf_files.len() + gb.alb_files.len()
    );
    let files = ga.cf_files.iter().chain(&ga.alb_files).cloned().chain(
        ["joins.csv", "flips.csv", "scenario.json"]
            .iter()
            .map(|f| ga.truth_dir.join(f)),
    );
    for path in files {
        let other = b.join(path.strip_prefix(&a).unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&other).unwrap(),
            "{}",
            path.display()
        );
    }
    let _ = (std::fs::remove_dir_all(a), std::fs::remove_dir_all(b));
}

#[test]
fn lines_have_all_fields() {
    let dir = scratch("fields");
    let g = generate(&small(&Fault::ALL), &dir).unwrap();
    for f in &g.cf_files {
        let lines = read_lines(f);
        assert_eq!(lines[0], "#Version: 1.0");
        assert_eq!(lines[1].split(' ').count(), 34, "#Fields: + 33 names");
        for line in &lines[2..] {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), 33, "{line}");
            assert!(
                cells.iter().all(|c| !c.is_empty() && !c.contains(' ')),
                "{line}"
            );
            assert_eq!(cells[14].len(), 56);
            assert!(cells[14].ends_with("=="));
        }
    }
    for f in &g.alb_files {
        let mut last = String::new();
        for line in read_lines(f) {
            let fields = alb_fields(&line);
            assert_eq!(fields.len(), 33, "{line}");
            assert!(fields[1] >= last, "ALB files are in time order");
            assert!(fields[29].starts_with("TID_") && fields[29].len() == 36);
            last = fields[1].clone();
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn joins_point_at_matching_alb_lines() {
    let dir = scratch("joins");
    let g = generate(
        &Scenario {
            trace_ids: true,
            ..small(&[Fault::Bypass, Fault::Bots])
        },
        &dir,
    )
    .unwrap();
    let mut cf: HashMap<String, (String, String, String)> = HashMap::new();
    for f in &g.cf_files {
        for line in read_lines(f).iter().skip(2) {
            let c: Vec<&str> = line.split('\t').collect();
            cf.insert(
                c[14].to_owned(),
                (
                    c[5].to_owned(),
                    c[7].to_owned(),
                    format!("{} {}", c[0], c[1]),
                ),
            );
        }
    }
    let mut alb: HashMap<String, Vec<String>> = HashMap::new();
    for row in csv_rows(&g.truth_dir.join("joins.csv")) {
        let lines = alb
            .entry(row[1].clone())
            .or_insert_with(|| read_lines(&dir.join(&row[1])));
        let fields = alb_fields(&lines[row[2].parse::<usize>().unwrap() - 1]);
        let (method, path, finished) = &cf[&row[0]];
        let request: Vec<&str> = fields[12].split(' ').collect();
        assert_eq!(request[0], method);
        let url = request[1]
            .strip_prefix("https://www.example.com:443")
            .unwrap();
        assert_eq!(url.split('?').next().unwrap(), path);
        assert!(
            fields[17].ends_with(&format!(";CfId={}", row[0])),
            "trace id carries the request id"
        );
        // CloudFront finishes after the ALB responded, within the same or next second.
        assert!(fields[1].replace('T', " ")[..19] <= finished[..]);
    }
    assert_eq!(
        csv_rows(&g.truth_dir.join("joins.csv")).len() as u64,
        g.origin_requests
    );
    assert_eq!(g.alb_lines, g.origin_requests + g.bypass_lines);
    let _ = std::fs::remove_dir_all(dir);
}

fn causes(g: &GenSummary) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for row in csv_rows(&g.truth_dir.join("flips.csv")) {
        *out.entry(row[4].clone()).or_default() += 1;
    }
    out
}

#[test]
fn sound_scenario_has_no_flips() {
    let dir = scratch("sound");
    let g = generate(
        &small(&[
            Fault::Roaming,
            Fault::Bypass,
            Fault::RegionalCache,
            Fault::HotPath,
        ]),
        &dir,
    )
    .unwrap();
    assert_eq!(g.truth.flips, 0);
    assert_eq!(g.truth.never_delivered, 0);
    assert_eq!(g.truth.session_page_hits, 0);
    assert!(g.truth.cf_no_origin > 0 && g.truth.alb_unmatched > 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn target_failure_flips_are_target_unhealthy() {
    let dir = scratch("failure");
    let g = generate(&small(&[Fault::TargetFailure, Fault::Roaming]), &dir).unwrap();
    let c = causes(&g);
    assert!(c.get("target_unhealthy").copied().unwrap_or(0) > 0, "{c:?}");
    assert_eq!(c.len(), 1, "{c:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bots_flip_for_lack_of_cookie() {
    let dir = scratch("bots");
    let g = generate(&small(&[Fault::Bots]), &dir).unwrap();
    let c = causes(&g);
    assert!(c["no_cookie"] > 0);
    assert_eq!(c.len(), 1, "{c:?}");
    for row in csv_rows(&g.truth_dir.join("flips.csv")) {
        assert!(!row[0].contains("SESSID"), "only bots flip: {row:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn each_fault_shows_in_the_truth() {
    type Check = fn(&TruthCounts) -> bool;
    let cases: [(Fault, Check); 3] = [
        (Fault::ApiNoAwsalb, |t| {
            t.flips == t.flips_cookie_not_forwarded && t.flips > 0
        }),
        (Fault::CacheSessionPages, |t| {
            t.session_page_hits > 0 && t.leaks > 0 && t.flips == 0
        }),
        (Fault::StripSetCookieEverywhere, |t| {
            t.never_delivered > 0 && t.flips == t.flips_no_cookie
        }),
    ];
    for (fault, check) in cases {
        let dir = scratch("fault");
        let mut s = small(&[fault]);
        s.stickiness = Stickiness::Application;
        let g = generate(&s, &dir).unwrap();
        assert!(check(&g.truth), "{fault:?}: {:?}", g.truth);
        assert_eq!(g.truth.flips_unexplained, 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn every_flip_has_an_explained_cause() {
    let dir = scratch("all");
    let g = generate(&small(&Fault::ALL), &dir).unwrap();
    assert_eq!(g.truth.flips_unexplained, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("2h").unwrap(), 7200);
    assert_eq!(parse_duration("1h30m").unwrap(), 5400);
    assert_eq!(parse_duration("600").unwrap(), 600);
    assert!(parse_duration("2x").is_err());
}
