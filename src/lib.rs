//! stickyaudit: audits ALB sticky sessions behind CloudFront from the two
//! services' access logs.
//!
//! The pipeline, one module per stage:
//! - [`source`]: inputs (files, directories, globs, S3), gzip, family detection,
//!   and the parallel reader that feeds the parsers;
//! - [`parse`]: line parsers for CloudFront and ALB logs, with line accounting;
//! - [`table`]: the columnar `cloudfront` and `alb` tables and their export;
//! - [`r#gen`]: a deterministic generator of realistic log sets with ground truth;
//! - [`report`]: spreadsheet-safe CSV, terminal-safe text, the parse summary.

pub mod cli;
pub mod detect;
pub mod r#gen;
pub mod join;
pub mod parse;
pub mod report;
pub mod scan;
pub mod session;
pub mod source;
pub mod table;
