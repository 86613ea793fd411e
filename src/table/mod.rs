//! Columnar tables of parsed records, and their export to Parquet and CSV.

pub mod alb;
pub mod cloudfront;
pub mod column;
pub mod export;
