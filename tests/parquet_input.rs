//! CloudFront standard logging v2 Parquet deliveries (underscore column
//! names, every value a string) load into the same table as W3C text.

use indicatif::ProgressBar;
use polars::prelude::*;
use stickyaudit::source::expand_local;
use stickyaudit::source::ingest::{IngestOptions, ingest};

#[test]
fn v2_parquet_delivery_parses_like_w3c_text() {
    let dir = std::env::temp_dir().join(format!("stickyaudit-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("E2QWRUHEXAMPLE.2024-11-14-21.parquet.gz.parquet");
    let col = |name: &str, values: &[Option<&str>]| Column::new(name.into(), values.to_vec());
    let mut df = DataFrame::new_infer_height(vec![
        col(
            "date",
            &[Some("2024-11-14"), Some("2024-11-14"), Some("not-a-date")],
        ),
        col(
            "time",
            &[Some("21:34:06"), Some("21:34:07"), Some("21:34:08")],
        ),
        col(
            "x_edge_location",
            &[Some("SOF50-P2"), Some("SOF50-P2"), Some("SOF50-P2")],
        ),
        col(
            "c_ip",
            &[Some("192.0.2.10"), Some("2001:db8::1"), Some("192.0.2.11")],
        ),
        col("cs_method", &[Some("GET"), Some("POST"), Some("GET")]),
        col(
            "cs_uri_stem",
            &[Some("/a%2520b"), Some("/api/cart"), Some("/")],
        ),
        col("sc_status", &[Some("200"), Some("502"), Some("200")]),
        col(
            "cs_cookie",
            &[Some("AWSALB=x;%20JSESSIONID=s1"), Some("-"), None],
        ),
        col(
            "x_edge_result_type",
            &[Some("Miss"), Some("Error"), Some("Hit")],
        ),
        col(
            "x_edge_request_id",
            &[Some("id-1=="), Some("id-2=="), Some("id-3==")],
        ),
        col("time_taken", &[Some("0.120"), Some("1.5"), Some("0.001")]),
        col(
            "cache_behavior_path_pattern",
            &[Some("*"), Some("/api/*"), Some("*")],
        ),
        col("some_future_field", &[Some("x"), Some("y"), Some("z")]),
    ])
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();

    let inputs = expand_local(path.to_str().unwrap(), None).unwrap();
    let parsed = ingest(&inputs, &IngestOptions::default(), &ProgressBar::hidden());
    let file = &parsed.files[0];
    assert_eq!(file.family, Some(stickyaudit::parse::Family::CloudFront));
    assert_eq!(
        (
            file.stats.lines_read,
            file.stats.parsed,
            file.stats.rejected_total()
        ),
        (3, 2, 1)
    );
    assert_eq!(file.stats.extra_fields, 3);
    let cf = &parsed.cloudfront;
    assert_eq!(cf.uri_stem.get(0), Some("/a%20b"));
    assert_eq!(cf.client_ip.get(1), Some("2001:db8::1"));
    assert_eq!(cf.status.get(1), Some(502));
    assert_eq!(cf.time_taken_us.get(1), Some(1_500_000));
    assert_eq!(cf.session_cookie.get(0), Some("JSESSIONID"));
    assert_ne!(
        cf.cookie_flags[0] & stickyaudit::parse::cookie::sticky::AWSALB,
        0
    );
    assert_eq!(cf.cookie_flags[1], 0);
    assert_eq!(cf.behavior_path_pattern.get(1), Some("/api/*"));
    assert_eq!(cf.request_id.get(1), Some("id-2=="));
    let _ = std::fs::remove_dir_all(&dir);
}
