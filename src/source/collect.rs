//! Turns the command line's sources into inputs: local paths, directories
//! and globs, and `s3://` prefixes; prunes by the run's window and
//! reports coverage.

use super::window::Window;
use super::{Input, expand_local};
use crate::cli::InputArgs;
use crate::parse::Family;

/// The inputs of a run and what was learnt while listing them.
pub struct Collected {
    pub inputs: Vec<Input>,
    pub window: Window,
    /// Human-readable notes for the summary (pruned objects, coverage gaps…).
    pub notes: Vec<String>,
}

/// Expands every source of `args`.
pub fn collect(args: &InputArgs) -> anyhow::Result<Collected> {
    let now = chrono::Utc::now().timestamp_micros();
    let window = Window::parse(args.s3.since.as_deref(), args.s3.until.as_deref(), now)?;
    let mut inputs = Vec::new();
    let groups = [
        (&args.sources, None),
        (&args.cloudfront, Some(Family::CloudFront)),
        (&args.alb, Some(Family::Alb)),
    ];
    for (list, forced) in groups {
        for arg in list {
            if arg.starts_with("s3://") {
                anyhow::bail!("`{arg}`: S3 sources are not supported yet");
            }
            inputs.extend(expand_local(arg, forced)?);
        }
    }
    if inputs.is_empty() {
        anyhow::bail!("no input given (hint: pass log files, directories or globs)");
    }
    Ok(Collected {
        inputs,
        window,
        notes: Vec::new(),
    })
}
