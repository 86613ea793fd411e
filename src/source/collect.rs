//! Turns the command line's sources into inputs: local paths, directories
//! and globs, and `s3://` prefixes; prunes S3 listings by the run's window,
//! skips objects an earlier run recorded in `--state`, and reports coverage.

use super::coverage::{self, Gap, LogName};
use super::ingest::Parsed;
use super::s3::{self, Listing, ObjectMeta, S3Context, S3Url};
use super::state::State;
use super::window::Window;
use super::{Input, expand_local};
use crate::cli::InputArgs;
use crate::parse::Family;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The inputs of a run and what was learnt while listing them.
#[derive(Default)]
pub struct Collected {
    pub inputs: Vec<Input>,
    pub window: Window,
    /// Human-readable notes for the summary (pruned objects, coverage gaps…).
    pub notes: Vec<String>,
    /// Log streams with no file for part of the window.
    pub gaps: Vec<Gap>,
    /// The `--state` file as loaded, when given.
    pub state: Option<State>,
    /// S3 objects of this run by name, for recording them in the state.
    pub s3_objects: HashMap<String, ObjectMeta>,
    /// S3 objects skipped because the state says they were read before.
    pub skipped: Vec<ObjectMeta>,
    /// The S3 client, when some source is on S3.
    pub s3: Option<Arc<S3Context>>,
}

impl Collected {
    /// Records in the `--state` file every S3 object this run read in full
    /// (its report has no problem other than being empty), and saves the
    /// file atomically. Call it only once the run has finished; calling it
    /// again changes nothing.
    pub fn finish(&self, parsed: &Parsed) -> anyhow::Result<()> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let mut state = state.clone();
        let now = chrono::Utc::now().timestamp();
        for meta in &self.skipped {
            state.record(&meta.name(), &meta.etag, meta.size, now);
        }
        for file in &parsed.files {
            let complete = file.problem.as_ref().is_none_or(|p| !p.is_incomplete());
            if let (true, Some(meta)) = (complete, self.s3_objects.get(&file.name)) {
                state.record(&file.name, &meta.etag, meta.size, now);
            }
        }
        state.forget_old(now);
        state.save()
    }

    /// What the S3 downloads of the run came to, once it has read its inputs.
    pub fn transfer_note(&self) -> Option<String> {
        self.s3.as_ref().map(|s3| s3.transfer_summary())
    }
}

struct S3Source {
    arg: String,
    url: S3Url,
    forced: Option<Family>,
}

/// Expands every source of `args`.
pub fn collect(args: &InputArgs) -> anyhow::Result<Collected> {
    let now = chrono::Utc::now().timestamp_micros();
    let window = Window::parse(args.s3.since.as_deref(), args.s3.until.as_deref(), now)?;
    let mut collected = Collected {
        window,
        ..Collected::default()
    };
    let mut s3_sources = Vec::new();
    let groups = [
        (&args.sources, None),
        (&args.cloudfront, Some(Family::CloudFront)),
        (&args.alb, Some(Family::Alb)),
    ];
    for (list, forced) in groups {
        for arg in list {
            if arg.starts_with("s3://") {
                let url = S3Url::parse(arg)?;
                s3_sources.push(S3Source {
                    arg: arg.clone(),
                    url,
                    forced,
                });
            } else {
                collected.inputs.extend(expand_local(arg, forced)?);
            }
        }
    }
    if collected.inputs.is_empty() && s3_sources.is_empty() {
        anyhow::bail!(
            "no input given (hint: pass log files, directories, globs or s3:// prefixes)"
        );
    }
    let mut names: Vec<LogName> = collected
        .inputs
        .iter()
        .filter_map(|i| coverage::parse_name(&i.name))
        .collect();
    if let Some(path) = &args.s3.state {
        collected.state = Some(State::load(path)?);
    }
    if !s3_sources.is_empty() {
        let ctx = s3::connect(&args.s3)?;
        add_s3_inputs(&ctx, &s3_sources, &mut collected, &mut names)?;
        collected.s3 = Some(ctx);
    }
    collected.gaps = coverage::find_gaps(&names, &collected.window, now);
    for gap in &collected.gaps {
        collected.notes.push(gap.to_string());
    }
    Ok(collected)
}

fn add_s3_inputs(
    ctx: &Arc<S3Context>,
    sources: &[S3Source],
    collected: &mut Collected,
    names: &mut Vec<LogName>,
) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    for source in sources {
        let listing = ctx.list(&source.url, &collected.window)?;
        let mut fetch = (0u64, 0u64);
        let mut done = 0u64;
        for meta in &listing.objects {
            let name = meta.name();
            if !seen.insert(name.clone()) {
                continue;
            }
            names.extend(coverage::parse_name(&meta.key));
            let read_before = collected
                .state
                .as_ref()
                .is_some_and(|s| s.is_done(&name, &meta.etag, meta.size));
            if read_before {
                done += 1;
                collected.skipped.push(meta.clone());
                continue;
            }
            fetch = (fetch.0 + 1, fetch.1 + meta.size);
            collected.s3_objects.insert(name.clone(), meta.clone());
            collected.inputs.push(Input {
                name,
                forced: source.forced,
                opener: Box::new(ctx.object(meta.clone())),
            });
        }
        collected
            .notes
            .push(listing_note(&source.arg, &listing, done, fetch));
    }
    Ok(())
}

fn listing_note(arg: &str, l: &Listing, done: u64, (objects, bytes): (u64, u64)) -> String {
    let mut note = format!(
        "{arg}: listed {} objects in {} requests; {} pruned by name (outside the window)",
        l.listed, l.requests, l.pruned
    );
    if l.folders_pruned + l.ranges_skipped > 0 {
        note.push_str(&format!(
            ", {} dated folders and {} key ranges outside the window not listed",
            l.folders_pruned, l.ranges_skipped
        ));
    }
    if l.ignored > 0 {
        note.push_str(&format!(", {} not access logs", l.ignored));
    }
    if done > 0 {
        note.push_str(&format!(", {done} already read (--state)"));
    }
    note.push_str(&format!("; fetching {objects} objects ({bytes} bytes)"));
    note
}
