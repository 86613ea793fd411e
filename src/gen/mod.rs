//! Deterministic generator of realistic CloudFront and ALB log sets with
//! ground truth.
//!
//! The simulation: viewers (browsers keeping cookies, bots keeping none)
//! visit `www.example.com` through eight CloudFront edges; four cache
//! behaviors decide what is cached and which cookies and headers reach the
//! ALB; the ALB routes by its stickiness cookie (AWSALB/AWSALBCORS or
//! AWSALBAPP-0..3) and re-issues it on every response. Faults (all off in
//! [`Scenario::sound`]) break this in the ways stickiaudit must detect.
//!
//! Guarantees: the same [`Scenario`] gives byte-identical output; every
//! CloudFront origin request has exactly one ALB line and the truth files
//! (`<out>/truth/`) describe the logs exactly (see [`truth`] for the
//! definitions). `generate` replaces the files it owns under `<out>`
//! (`cloudfront/`, `alb/`, `truth/`, `cloudfront.log*`, `alb.log*`) and
//! nothing else.
//!
//! Model simplifications: requests of one viewer never overlap in time;
//! edge-cache Hits deliver no Set-Cookie; a target that stopped answering
//! gets 502 (target logged, target status `-`) until health checks notice
//! it 20 s later, and the ALB still issues its cookie on those 502s.

mod lines;
mod model;
mod plan;
mod rng;
mod sim;
mod text;
mod truth;
mod write;

#[cfg(test)]
mod tests;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use truth::TruthCounts;

/// A deliberate misconfiguration or traffic pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `/api/*` forwards only the session cookie (a whitelist without AWSALB).
    #[value(alias = "api_no_awsalb")]
    ApiNoAwsalb,
    /// `/account/*` is cached for 60 s regardless of cookies.
    #[value(alias = "cache_session_pages")]
    CacheSessionPages,
    /// No behavior forwards cookies or lets Set-Cookie through.
    #[value(alias = "strip_set_cookie_everywhere")]
    StripSetCookieEverywhere,
    /// One target stops answering for up to 20 minutes mid-window.
    #[value(alias = "target_failure")]
    TargetFailure,
    /// 15 % of requests come from bots that keep no cookies.
    Bots,
    /// A third of human viewers move to another edge (and often address).
    Roaming,
    /// About 4 % extra ALB traffic comes straight from the internet.
    Bypass,
    /// 40 % of static Misses are answered by a regional edge cache.
    #[value(alias = "regional_cache")]
    RegionalCache,
    /// Half of the requests reload `/` at tens of requests per second.
    #[value(alias = "hot_path")]
    HotPath,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::ApiNoAwsalb,
        Fault::CacheSessionPages,
        Fault::StripSetCookieEverywhere,
        Fault::TargetFailure,
        Fault::Bots,
        Fault::Roaming,
        Fault::Bypass,
        Fault::RegionalCache,
        Fault::HotPath,
    ];
}

/// Which faults are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Faults {
    pub api_no_awsalb: bool,
    pub cache_session_pages: bool,
    pub strip_set_cookie_everywhere: bool,
    pub target_failure: bool,
    pub bots: bool,
    pub roaming: bool,
    pub bypass: bool,
    pub regional_cache: bool,
    pub hot_path: bool,
}

impl Faults {
    pub fn set(&mut self, fault: Fault) {
        *self.flag(fault) = true;
    }

    fn flag(&mut self, fault: Fault) -> &mut bool {
        match fault {
            Fault::ApiNoAwsalb => &mut self.api_no_awsalb,
            Fault::CacheSessionPages => &mut self.cache_session_pages,
            Fault::StripSetCookieEverywhere => &mut self.strip_set_cookie_everywhere,
            Fault::TargetFailure => &mut self.target_failure,
            Fault::Bots => &mut self.bots,
            Fault::Roaming => &mut self.roaming,
            Fault::Bypass => &mut self.bypass,
            Fault::RegionalCache => &mut self.regional_cache,
            Fault::HotPath => &mut self.hot_path,
        }
    }

    pub fn enabled(&self) -> Vec<Fault> {
        let mut copy = *self;
        Fault::ALL.into_iter().filter(|&f| *copy.flag(f)).collect()
    }
}

/// Where the files go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The S3 key layouts of CloudFront and ALB log delivery.
    Aws,
    /// One `cloudfront.log[.gz]` and one `alb.log[.gz]`.
    Single,
}

/// ALB stickiness type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stickiness {
    /// `lb_cookie`: AWSALB + AWSALBCORS.
    Duration,
    /// `app_cookie`: AWSALBAPP-0..3 beside the application's own cookie.
    Application,
}

/// Every knob of a generated data set.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub start: DateTime<Utc>,
    pub duration_secs: u64,
    /// Approximate number of CloudFront requests.
    pub requests: u64,
    pub targets: u8,
    pub gzip: bool,
    pub layout: Layout,
    /// A viewer-request function sets `X-Amzn-Trace-Id: Root=…;CfId=<request id>`.
    pub trace_ids: bool,
    pub stickiness: Stickiness,
    /// `stickiness.lb_cookie.duration_seconds`.
    pub stickiness_duration_secs: u64,
    pub faults: Faults,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::sound()
    }
}

impl Scenario {
    /// A correctly configured distribution and ALB, no faults.
    pub fn sound() -> Self {
        Scenario {
            seed: 1,
            start: DateTime::from_timestamp(1_796_032_800, 0).expect("valid start"),
            duration_secs: 2 * 3600,
            requests: 20_000,
            targets: 4,
            gzip: true,
            layout: Layout::Aws,
            trace_ids: false,
            stickiness: Stickiness::Duration,
            stickiness_duration_secs: 86_400,
            faults: Faults::default(),
        }
    }

    /// The sound scenario with `faults` switched on.
    pub fn with_faults(faults: &[Fault]) -> Self {
        let mut s = Scenario::sound();
        for &f in faults {
            s.faults.set(f);
        }
        s
    }

    /// Sets `requests` so that CloudFront plus ALB lines come to about `lines`.
    pub fn scale_lines(&mut self, lines: u64) {
        self.requests = (lines * 10 / 17).max(1);
    }

    pub fn start_us(&self) -> i64 {
        self.start.timestamp_micros()
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=64).contains(&self.targets),
            "`--targets` must be 1 to 64, got `{}`",
            self.targets
        );
        anyhow::ensure!(
            self.duration_secs >= 60,
            "`--duration` must be at least one minute"
        );
        anyhow::ensure!(self.requests > 0, "`--requests` must be positive");
        anyhow::ensure!(
            self.requests < u64::from(u32::MAX) / 2,
            "`--requests` is too large"
        );
        Ok(())
    }
}

/// What `generate` wrote.
#[derive(Clone, Debug)]
pub struct GenSummary {
    pub cf_lines: u64,
    pub alb_lines: u64,
    pub cf_files: Vec<PathBuf>,
    pub alb_files: Vec<PathBuf>,
    pub truth_dir: PathBuf,
    /// CloudFront requests that reached the ALB.
    pub origin_requests: u64,
    /// ALB lines that did not come through CloudFront.
    pub bypass_lines: u64,
    pub truth: TruthCounts,
    /// Log bytes before compression.
    pub raw_bytes: u64,
    /// Log bytes on disk.
    pub file_bytes: u64,
    pub elapsed: Duration,
}

/// Simulates `s` and writes logs and truth under `out`.
pub fn generate(s: &Scenario, out: &Path) -> anyhow::Result<GenSummary> {
    s.check()?;
    let started = Instant::now();
    let mut plan = plan::plan(s);
    let health = sim::Health::of(s);
    let fills = sim::simulate(s, &mut plan, &health);
    let origin = plan.reqs.iter().filter(|r| r.has(plan::F_ORIGIN)).count() as u64;
    let bypass = sim::bypass(s, origin, &health);
    let world = lines::World::new(s, &plan.reqs, &plan.viewers, &bypass, health);
    let cf_set = write::cloudfront_files(&world, s.layout, s.gzip);
    let alb_set = write::alb_files(&world, s.layout, s.gzip);

    clear_owned(out)?;
    let cf = write::write_cloudfront(out, &world, &cf_set, s.gzip)?;
    let alb = write::write_alb(out, &world, &alb_set, s.gzip)?;
    let truth_dir = out.join("truth");
    let truth = truth::write(&truth_dir, &world, &alb_set, &fills)?;
    let summary = GenSummary {
        cf_lines: cf.lines,
        alb_lines: alb.lines,
        cf_files: cf_set.files.iter().map(|f| out.join(&f.rel)).collect(),
        alb_files: alb_set.files.iter().map(|f| out.join(&f.rel)).collect(),
        truth_dir,
        origin_requests: origin,
        bypass_lines: bypass.len() as u64,
        truth,
        raw_bytes: cf.raw_bytes + alb.raw_bytes,
        file_bytes: cf.file_bytes + alb.file_bytes,
        elapsed: started.elapsed(),
    };
    write_scenario_json(s, &world, &summary)?;
    Ok(summary)
}

/// Removes what an earlier run wrote, so stale files never mix in.
fn clear_owned(out: &Path) -> anyhow::Result<()> {
    for dir in ["cloudfront", "alb", "truth"] {
        let path = out.join(dir);
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing `{}`", path.display()))?;
        }
    }
    for file in [
        "cloudfront.log",
        "cloudfront.log.gz",
        "alb.log",
        "alb.log.gz",
    ] {
        let path = out.join(file);
        if path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing `{}`", path.display()))?;
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating `{}`", out.display()))
}

fn write_scenario_json(s: &Scenario, w: &lines::World, summary: &GenSummary) -> anyhow::Result<()> {
    let h = w.health;
    let us_text = |us: i64| DateTime::from_timestamp_micros(us).map(|t| t.to_rfc3339());
    let failing = h.failing.map(|t| {
        serde_json::json!({
            "target": lines::target_text(t),
            "stops_answering": us_text(h.down_from),
            "marked_unhealthy": us_text(h.detected),
            "healthy_again": us_text(h.recovered),
        })
    });
    let doc = serde_json::json!({
        "scenario": {
            "seed": s.seed,
            "start": s.start.to_rfc3339(),
            "duration_secs": s.duration_secs,
            "requests": s.requests,
            "targets": s.targets,
            "gzip": s.gzip,
            "layout": s.layout,
            "trace_ids": s.trace_ids,
            "stickiness": s.stickiness,
            "stickiness_duration_secs": s.stickiness_duration_secs,
            "faults": s.faults.enabled(),
        },
        "target_failure": failing,
        "counts": {
            "viewers": w.viewers.len(),
            "cf_lines": summary.cf_lines,
            "alb_lines": summary.alb_lines,
            "cf_files": summary.cf_files.len(),
            "alb_files": summary.alb_files.len(),
            "origin_requests": summary.origin_requests,
            "bypass_lines": summary.bypass_lines,
            "truth": summary.truth,
        },
    });
    let path = summary.truth_dir.join("scenario.json");
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))
}

/// Options of `stickyaudit generate`.
///
/// Example: stickyaudit generate --out data/ --fault bots,target-failure
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Where to write the data set (`cloudfront/`, `alb/`, `truth/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of every random choice; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start of the simulated window, RFC 3339.
    #[arg(long, default_value = "2026-11-30T10:00:00Z")]
    pub start: String,
    /// Length of the window: `2h`, `90m`, `1h30m`, `600s` or seconds.
    #[arg(long, default_value = "2h")]
    pub duration: String,
    /// Approximate number of CloudFront requests.
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,
    /// Approximate CloudFront + ALB lines; overrides --requests.
    #[arg(long, value_name = "N")]
    pub scale_lines: Option<u64>,
    /// Number of ALB targets.
    #[arg(long, default_value_t = 4)]
    pub targets: u8,
    /// Write plain text instead of gzip.
    #[arg(long)]
    pub plain: bool,
    /// File layout: S3 key layout, or one file per log.
    #[arg(long, value_enum, default_value_t = Layout::Aws)]
    pub layout: Layout,
    /// Carry the CloudFront request id to the ALB in X-Amzn-Trace-Id.
    #[arg(long)]
    pub trace_ids: bool,
    /// ALB stickiness type.
    #[arg(long, value_enum, default_value_t = Stickiness::Duration)]
    pub stickiness: Stickiness,
    /// Faults to inject, comma-separated or repeated.
    #[arg(
        long = "fault",
        value_enum,
        value_delimiter = ',',
        value_name = "FAULT"
    )]
    pub faults: Vec<Fault>,
    /// Inject every fault.
    #[arg(long)]
    pub all_faults: bool,
    /// Fault: /api/* does not forward AWSALB.
    #[arg(long)]
    pub api_no_awsalb: bool,
    /// Fault: /account/* is cached for 60 s regardless of cookies.
    #[arg(long)]
    pub cache_session_pages: bool,
    /// Fault: no behavior forwards cookies or Set-Cookie.
    #[arg(long)]
    pub strip_set_cookie_everywhere: bool,
    /// Fault: one target fails mid-window and comes back.
    #[arg(long)]
    pub target_failure: bool,
    /// Fault: bots without cookies.
    #[arg(long)]
    pub bots: bool,
    /// Fault: viewers switch edge location mid-session.
    #[arg(long)]
    pub roaming: bool,
    /// Fault: some ALB traffic bypasses CloudFront.
    #[arg(long)]
    pub bypass: bool,
    /// Fault: regional edge caches answer some static Misses.
    #[arg(long)]
    pub regional_cache: bool,
    /// Fault: a crowd reloads `/` at tens of requests per second.
    #[arg(long)]
    pub hot_path: bool,
}

impl GenerateArgs {
    /// The scenario these options describe.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let start = DateTime::parse_from_rfc3339(&self.start)
            .with_context(|| {
                format!(
                    "invalid `--start` `{}` (hint: 2026-11-30T10:00:00Z)",
                    self.start
                )
            })?
            .with_timezone(&Utc);
        let mut s = Scenario {
            seed: self.seed,
            start,
            duration_secs: parse_duration(&self.duration)?,
            requests: self.requests,
            targets: self.targets,
            gzip: !self.plain,
            layout: self.layout,
            trace_ids: self.trace_ids,
            stickiness: self.stickiness,
            ..Scenario::sound()
        };
        if let Some(lines) = self.scale_lines {
            s.scale_lines(lines);
        }
        let flags = [
            (self.api_no_awsalb, Fault::ApiNoAwsalb),
            (self.cache_session_pages, Fault::CacheSessionPages),
            (
                self.strip_set_cookie_everywhere,
                Fault::StripSetCookieEverywhere,
            ),
            (self.target_failure, Fault::TargetFailure),
            (self.bots, Fault::Bots),
            (self.roaming, Fault::Roaming),
            (self.bypass, Fault::Bypass),
            (self.regional_cache, Fault::RegionalCache),
            (self.hot_path, Fault::HotPath),
        ];
        for (on, fault) in flags {
            if on || self.all_faults || self.faults.contains(&fault) {
                s.faults.set(fault);
            }
        }
        Ok(s)
    }
}

/// `2h`, `90m`, `1h30m`, `45s` or a plain number of seconds.
fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let bad = || anyhow::anyhow!("invalid `--duration` `{text}` (hint: 2h, 90m, 1h30m, 600s)");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        total += number.parse::<u64>().map_err(|_| bad())? * unit;
        number.clear();
    }
    if !number.is_empty() {
        total += number.parse::<u64>().map_err(|_| bad())?;
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Writes a data set as described by `args`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let s = args.scenario()?;
    let g = generate(&s, &args.out)?;
    let secs = g.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "generated {} CloudFront and {} ALB lines in {} + {} files ({:.1} MB on disk), truth in `{}`: \
         {} flips, {} leaks; {:.1} s, {:.0} lines/s",
        g.cf_lines,
        g.alb_lines,
        g.cf_files.len(),
        g.alb_files.len(),
        g.file_bytes as f64 / 1e6,
        g.truth_dir.display(),
        g.truth.flips,
        g.truth.leaks,
        secs,
        (g.cf_lines + g.alb_lines) as f64 / secs,
    );
    Ok(())
}
