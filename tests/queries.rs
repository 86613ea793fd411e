//! Every SQL file in queries/ runs on the bundled samples and returns rows
//! (DuckDB through its Python package, installed by .ci/run).

use std::path::Path;
use std::process::Command;

const RUNNER: &str = r#"
import sys, duckdb
sql_file, data, report = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("SET VARIABLE dir = ?", [data])
con.execute("SET VARIABLE report = ?", [report])
rows = con.execute(open(sql_file).read()).fetchall()
print(len(rows))
"#;

fn stickyaudit(args: &[&str], root: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_stickyaudit"))
        .current_dir(root)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ensure_duckdb() {
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if !ok(Command::new("python3").args(["-c", "import duckdb"])) {
        assert!(
            ok(Command::new("python3").args(["-m", "pip", "install", "--quiet", "duckdb"])),
            "the query tests need DuckDB's Python package (pip install duckdb)"
        );
    }
}

#[test]
fn every_query_runs_on_the_samples() {
    ensure_duckdb();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(format!("stickyaudit-queries-{}", std::process::id()));
    let (data, report) = (scratch.join("parsed"), scratch.join("report"));
    stickyaudit(
        &[
            "parse",
            "samples/logs",
            "--quiet",
            "--out",
            data.to_str().unwrap(),
        ],
        root,
    );
    stickyaudit(
        &[
            "scan",
            "samples/logs",
            "--quiet",
            "--out",
            report.to_str().unwrap(),
        ],
        root,
    );
    let mut ran = 0;
    for entry in std::fs::read_dir(root.join("queries")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let out = Command::new("python3")
            .args(["-c", RUNNER])
            .arg(&path)
            .arg(&data)
            .arg(&report)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(rows > 0, "{} returned no rows", path.display());
        ran += 1;
    }
    assert_eq!(ran, 4);
    let _ = std::fs::remove_dir_all(&scratch);
}
