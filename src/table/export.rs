//! One schema description per table drives both exports: Parquet through
//! polars (typed columns, UTC datetimes) and spreadsheet-safe CSV.

use super::alb::AlbTable;
use super::cloudfront::CfTable;
use super::column::{ArenaColumn, NumColumn, StrColumn};
use crate::report::spreadsheet_safe;
use polars::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// A borrowed view of one column, with how to type and print it.
pub enum Col<'a> {
    Text(&'a StrColumn),
    Unique(&'a ArenaColumn),
    U16(&'a NumColumn<u16>),
    U32(&'a NumColumn<u32>),
    I32(&'a NumColumn<i32>),
    U64(&'a NumColumn<u64>),
    I64(&'a NumColumn<i64>),
    /// Microseconds printed and typed as seconds (f64).
    Seconds(&'a NumColumn<u32>),
    /// Milliseconds since the epoch, UTC.
    TimeMs(&'a [i64]),
    /// Microseconds since the epoch, UTC.
    TimeUs(&'a [i64]),
    TimeUsOpt(&'a NumColumn<i64>),
    Bool(&'a [bool]),
    /// One bit of a flag byte.
    Flag(&'a [u8], u8),
    /// Source index, printed as the source's name.
    Source(&'a [u32], &'a [String]),
    Line(&'a [u32]),
}

fn iso(micros: i64, digits: usize) -> String {
    let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    match digits {
        0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        3 => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        _ => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    }
}

impl Col<'_> {
    fn series(&self, name: &str, rows: std::ops::Range<usize>) -> Series {
        let name = PlSmallStr::from(name);
        let r = rows;
        macro_rules! num {
            ($c:expr, $t:ty) => {
                Series::new(
                    name,
                    r.map(|i| $c.get(i).map(|v| v as $t))
                        .collect::<Vec<Option<$t>>>(),
                )
            };
        }
        match self {
            Col::Text(c) => Series::new(name, r.map(|i| c.get(i)).collect::<Vec<_>>()),
            Col::Unique(c) => Series::new(name, r.map(|i| c.get(i)).collect::<Vec<_>>()),
            Col::U16(c) => num!(c, u32),
            Col::U32(c) => num!(c, u32),
            Col::I32(c) => num!(c, i32),
            Col::U64(c) => num!(c, u64),
            Col::I64(c) => num!(c, i64),
            Col::Seconds(c) => Series::new(
                name,
                r.map(|i| c.get(i).map(|us| us as f64 / 1e6))
                    .collect::<Vec<_>>(),
            ),
            Col::TimeMs(v) => datetime(
                name,
                r.map(|i| Some(v[i])).collect(),
                TimeUnit::Milliseconds,
            ),
            Col::TimeUs(v) => datetime(
                name,
                r.map(|i| Some(v[i])).collect(),
                TimeUnit::Microseconds,
            ),
            Col::TimeUsOpt(c) => {
                datetime(name, r.map(|i| c.get(i)).collect(), TimeUnit::Microseconds)
            }
            Col::Bool(v) => Series::new(name, &v[r]),
            Col::Flag(v, bit) => Series::new(name, r.map(|i| v[i] & bit != 0).collect::<Vec<_>>()),
            Col::Source(v, names) => Series::new(
                name,
                r.map(|i| names[v[i] as usize].as_str()).collect::<Vec<_>>(),
            ),
            Col::Line(v) => Series::new(name, &v[r]),
        }
    }

    fn write_cell(&self, row: usize, out: &mut String) {
        out.clear();
        let _ = match self {
            Col::Text(c) => {
                out.push_str(&spreadsheet_safe(c.get(row).unwrap_or_default()));
                Ok(())
            }
            Col::Unique(c) => {
                out.push_str(&spreadsheet_safe(c.get(row).unwrap_or_default()));
                Ok(())
            }
            Col::U16(c) => opt(out, c.get(row)),
            Col::U32(c) => opt(out, c.get(row)),
            Col::I32(c) => opt(out, c.get(row)),
            Col::U64(c) => opt(out, c.get(row)),
            Col::I64(c) => opt(out, c.get(row)),
            Col::Seconds(c) => opt(out, c.get(row).map(|us| us as f64 / 1e6)),
            Col::TimeMs(v) => {
                out.push_str(&iso(v[row] * 1000, 3));
                Ok(())
            }
            Col::TimeUs(v) => {
                out.push_str(&iso(v[row], 6));
                Ok(())
            }
            Col::TimeUsOpt(c) => {
                if let Some(t) = c.get(row) {
                    out.push_str(&iso(t, 6));
                }
                Ok(())
            }
            Col::Bool(v) => write!(out, "{}", v[row]),
            Col::Flag(v, bit) => write!(out, "{}", v[row] & bit != 0),
            Col::Source(v, names) => {
                out.push_str(&spreadsheet_safe(&names[v[row] as usize]));
                Ok(())
            }
            Col::Line(v) => write!(out, "{}", v[row]),
        };
    }
}

fn opt<T: std::fmt::Display>(out: &mut String, v: Option<T>) -> std::fmt::Result {
    match v {
        Some(v) => write!(out, "{v}"),
        None => Ok(()),
    }
}

fn datetime(name: PlSmallStr, values: Vec<Option<i64>>, unit: TimeUnit) -> Series {
    Int64Chunked::from_iter_options(name, values.into_iter())
        .into_datetime(unit, Some(polars::prelude::TimeZone::UTC))
        .into_series()
}

/// The documented schema of the `cloudfront` table.
pub fn cloudfront_columns<'a>(
    t: &'a CfTable,
    sources: &'a [String],
) -> Vec<(&'static str, Col<'a>)> {
    use crate::parse::cookie::sticky;
    vec![
        ("source", Col::Source(&t.source, sources)),
        ("line", Col::Line(&t.line)),
        ("time", Col::TimeMs(&t.time_ms)),
        ("time_has_ms", Col::Bool(&t.time_is_ms)),
        ("edge", Col::Text(&t.edge)),
        ("sc_bytes", Col::U64(&t.sc_bytes)),
        ("c_ip", Col::Text(&t.client_ip)),
        ("cs_method", Col::Text(&t.method)),
        ("cs_host", Col::Text(&t.cs_host)),
        ("cs_uri_stem", Col::Text(&t.uri_stem)),
        ("sc_status", Col::U16(&t.status)),
        ("cs_referer", Col::Text(&t.referer)),
        ("cs_user_agent", Col::Text(&t.user_agent)),
        ("cs_uri_query", Col::Text(&t.uri_query)),
        ("cookie_header", Col::Flag(&t.cookie_flags, sticky::HEADER)),
        ("cookie_awsalb", Col::Flag(&t.cookie_flags, sticky::AWSALB)),
        (
            "cookie_awsalbcors",
            Col::Flag(&t.cookie_flags, sticky::AWSALBCORS),
        ),
        (
            "cookie_awsalbapp",
            Col::Flag(&t.cookie_flags, sticky::AWSALBAPP),
        ),
        (
            "cookie_awsalbtg",
            Col::Flag(&t.cookie_flags, sticky::AWSALBTG),
        ),
        (
            "cookie_awsalbtgcors",
            Col::Flag(&t.cookie_flags, sticky::AWSALBTGCORS),
        ),
        ("session_cookie", Col::Text(&t.session_cookie)),
        ("session_cookie_hash", Col::U64(&t.session_hash)),
        ("session_cookie_value", Col::Text(&t.session_value)),
        ("x_edge_result_type", Col::Text(&t.result_type)),
        ("x_edge_request_id", Col::Unique(&t.request_id)),
        ("x_host_header", Col::Text(&t.host_header)),
        ("cs_protocol", Col::Text(&t.protocol)),
        ("cs_bytes", Col::U64(&t.cs_bytes)),
        ("time_taken", Col::Seconds(&t.time_taken_us)),
        ("x_forwarded_for", Col::Text(&t.forwarded_for)),
        ("ssl_protocol", Col::Text(&t.ssl_protocol)),
        ("ssl_cipher", Col::Text(&t.ssl_cipher)),
        (
            "x_edge_response_result_type",
            Col::Text(&t.response_result_type),
        ),
        ("cs_protocol_version", Col::Text(&t.protocol_version)),
        ("fle_status", Col::Text(&t.fle_status)),
        ("fle_encrypted_fields", Col::U32(&t.fle_encrypted_fields)),
        ("c_port", Col::U32(&t.client_port)),
        ("time_to_first_byte", Col::Seconds(&t.ttfb_us)),
        (
            "x_edge_detailed_result_type",
            Col::Text(&t.detailed_result_type),
        ),
        ("sc_content_type", Col::Text(&t.content_type)),
        ("sc_content_len", Col::I64(&t.content_len)),
        ("sc_range_start", Col::I64(&t.range_start)),
        ("sc_range_end", Col::I64(&t.range_end)),
        (
            "distribution_tenant_id",
            Col::Text(&t.distribution_tenant_id),
        ),
        ("connection_id", Col::Text(&t.connection_id)),
        ("origin_fbl", Col::Seconds(&t.origin_fbl_us)),
        ("origin_lbl", Col::Seconds(&t.origin_lbl_us)),
        ("asn", Col::Text(&t.asn)),
        ("c_country", Col::Text(&t.client_country)),
        (
            "cache_behavior_path_pattern",
            Col::Text(&t.behavior_path_pattern),
        ),
    ]
}

/// The documented schema of the `alb` table.
pub fn alb_columns<'a>(t: &'a AlbTable, sources: &'a [String]) -> Vec<(&'static str, Col<'a>)> {
    vec![
        ("source", Col::Source(&t.source, sources)),
        ("line", Col::Line(&t.line)),
        ("type", Col::Text(&t.kind)),
        ("time", Col::TimeUs(&t.time_us)),
        ("elb", Col::Text(&t.elb)),
        ("client_ip", Col::Text(&t.client_ip)),
        ("client_port", Col::U32(&t.client_port)),
        ("target_ip", Col::Text(&t.target_ip)),
        ("target_port", Col::U32(&t.target_port)),
        (
            "request_processing_time",
            Col::Seconds(&t.request_processing_us),
        ),
        (
            "target_processing_time",
            Col::Seconds(&t.target_processing_us),
        ),
        (
            "response_processing_time",
            Col::Seconds(&t.response_processing_us),
        ),
        ("elb_status_code", Col::U16(&t.elb_status)),
        ("target_status_code", Col::U16(&t.target_status)),
        ("received_bytes", Col::U64(&t.received_bytes)),
        ("sent_bytes", Col::U64(&t.sent_bytes)),
        ("request_method", Col::Text(&t.method)),
        ("request_scheme", Col::Text(&t.scheme)),
        ("request_host", Col::Text(&t.host)),
        ("request_port", Col::U32(&t.port)),
        ("request_path", Col::Text(&t.path)),
        ("request_query", Col::Text(&t.query)),
        ("request_http_version", Col::Text(&t.http_version)),
        ("request_raw", Col::Text(&t.request_raw)),
        ("user_agent", Col::Text(&t.user_agent)),
        ("ssl_cipher", Col::Text(&t.ssl_cipher)),
        ("ssl_protocol", Col::Text(&t.ssl_protocol)),
        ("target_group_arn", Col::Text(&t.target_group)),
        ("trace_root", Col::Unique(&t.trace_root)),
        ("trace_self", Col::Unique(&t.trace_self)),
        ("trace_custom", Col::Unique(&t.trace_custom)),
        ("domain_name", Col::Text(&t.domain_name)),
        ("chosen_cert_arn", Col::Text(&t.chosen_cert_arn)),
        ("matched_rule_priority", Col::I32(&t.matched_rule_priority)),
        (
            "request_creation_time",
            Col::TimeUsOpt(&t.request_creation_us),
        ),
        ("actions_executed", Col::Text(&t.actions_executed)),
        ("redirect_url", Col::Text(&t.redirect_url)),
        ("error_reason", Col::Text(&t.error_reason)),
        ("target_port_list", Col::Text(&t.target_port_list)),
        ("target_status_code_list", Col::Text(&t.target_status_list)),
        ("classification", Col::Text(&t.classification)),
        ("classification_reason", Col::Text(&t.classification_reason)),
        ("conn_trace_id", Col::Text(&t.conn_trace_id)),
        ("transformed_host", Col::Text(&t.transformed_host)),
        ("transformed_uri", Col::Text(&t.transformed_uri)),
        ("request_transform_status", Col::Text(&t.transform_status)),
    ]
}

/// Rows per Parquet row group; bounds the memory of the export.
const BATCH_ROWS: usize = 1 << 20;

/// Builds a DataFrame of rows `rows` of the given columns.
pub fn dataframe(cols: &[(&'static str, Col<'_>)], rows: std::ops::Range<usize>) -> DataFrame {
    let columns: Vec<Column> = cols
        .iter()
        .map(|(name, col)| col.series(name, rows.clone()).into())
        .collect();
    DataFrame::new_infer_height(columns).expect("columns of one table have equal length")
}

/// Writes the table as Parquet, one row group per batch.
pub fn write_parquet(
    cols: &[(&'static str, Col<'_>)],
    len: usize,
    path: &Path,
) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let first = dataframe(cols, 0..len.min(BATCH_ROWS));
    let mut writer = ParquetWriter::new(file).batched(first.schema())?;
    writer.write_batch(&first)?;
    let mut start = BATCH_ROWS;
    while start < len {
        let end = (start + BATCH_ROWS).min(len);
        writer.write_batch(&dataframe(cols, start..end))?;
        start = end;
    }
    writer.finish()?;
    Ok(())
}

/// Writes the table as CSV with a header; text cells are spreadsheet-safe.
pub fn write_csv(cols: &[(&'static str, Col<'_>)], len: usize, path: &Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(cols.iter().map(|(n, _)| *n))?;
    let mut cells: Vec<String> = vec![String::new(); cols.len()];
    for row in 0..len {
        for (cell, (_, col)) in cells.iter_mut().zip(cols) {
            col.write_cell(row, cell);
        }
        w.write_record(&cells)?;
    }
    w.flush()?;
    Ok(())
}
