//! The bundled samples/ (what the README's quick start scans) are parsed
//! completely and scanned to the findings their ground truth lists.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

fn ids(
    path: &Path,
    column: &str,
    filter: impl Fn(&csv::StringRecord, &csv::StringRecord) -> bool,
) -> HashSet<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == column).unwrap();
    r.records()
        .map(Result::unwrap)
        .filter(|rec| filter(&headers, rec))
        .map(|rec| rec[at].to_string())
        .collect()
}

fn field<'a>(headers: &csv::StringRecord, rec: &'a csv::StringRecord, name: &str) -> &'a str {
    &rec[headers.iter().position(|h| h == name).unwrap()]
}

#[test]
fn the_quick_start_scan_of_samples_matches_their_truth() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("stickyaudit-samples-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .current_dir(root)
        .args(["scan", "samples/logs", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = String::from_utf8(run.stdout).unwrap();
    assert!(summary.contains("0 rejected"), "{summary}");

    let truth = root.join("samples/truth");
    let truth_flips = ids(&truth.join("flips.csv"), "cf_request_id", |_, _| true);
    let our_flips = ids(&out.join("findings.csv"), "cf_request_id", |h, r| {
        field(h, r, "kind") == "target_flip"
    });
    let found = our_flips.intersection(&truth_flips).count();
    assert!(
        found * 100 >= truth_flips.len() * 95,
        "found {found} of {} flips",
        truth_flips.len()
    );
    assert!(
        found * 100 >= our_flips.len() * 95,
        "{} reported, {found} true",
        our_flips.len()
    );

    let truth_leaks = ids(&truth.join("hits.csv"), "cf_request_id", |h, r| {
        field(h, r, "leak") == "true"
    });
    let our_leaks = ids(&out.join("findings.csv"), "cf_request_id", |h, r| {
        field(h, r, "kind") == "cache_hit_should_be_origin" && field(h, r, "severity") == "high"
    });
    assert_eq!(our_leaks, truth_leaks);
    let _ = std::fs::remove_dir_all(&out);
}
