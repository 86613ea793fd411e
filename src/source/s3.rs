//! `s3://bucket/prefix` sources: listing only what the window can need,
//! and streaming objects into the reader.
//!
//! - Listing walks the prefix folder by folder (`/` delimiter), skips dated
//!   folders that cannot overlap the window (ALB day folders carry the
//!   delivery date, so they get a day of slack), drops objects whose name
//!   proves they cannot (see [`coverage`]), and jumps over runs of
//!   CloudFront legacy keys before or after the window with `StartAfter`.
//! - Each opened object is fetched by a task on one shared tokio runtime and
//!   handed to the blocking reader through a small bounded channel, so
//!   memory per object stays at a few chunks. A semaphore bounds GETs in
//!   flight (`--s3-concurrency`); a stalled reader gives its slot back while
//!   others wait and resumes later with a `Range` request.
//! - The SDK retries throttling, 5xx and connection errors on each request;
//!   a body cut mid-stream is resumed from the byte already delivered
//!   (`Range`, pinned to the listed ETag with `If-Match`). An object that
//!   still fails becomes an `io::Error`, which the reader reports by name.

use super::Open;
use super::coverage;
use super::window::Window;
use crate::cli::S3Args;
use anyhow::{Context, anyhow};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Attempts per request made by the SDK (throttling, 5xx, connection errors).
const SDK_ATTEMPTS: u32 = 5;
/// Our own retries of one object after the SDK gave up or the body broke.
const MAX_RESUMES: u32 = 5;
/// A body chunk not arriving for this long counts as a dropped connection.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A reader that has not taken data for this long gives its slot back if
/// every slot is taken (it may be waiting on another object's download).
const PARK_AFTER: Duration = Duration::from_secs(2);
/// Chunks buffered between a download and its reader.
const CHANNEL_CHUNKS: usize = 8;

/// A parsed `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    pub fn parse(arg: &str) -> anyhow::Result<S3Url> {
        let rest = arg
            .strip_prefix("s3://")
            .with_context(|| format!("`{arg}` is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(
            !bucket.is_empty(),
            "`{arg}` names no bucket (hint: s3://bucket/prefix)"
        );
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
}

impl ObjectMeta {
    /// The name reports cite: `s3://bucket/key`.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What listing one `s3://` source found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects that can hold records in the window, in key order.
    pub objects: Vec<ObjectMeta>,
    /// Objects the listing returned.
    pub listed: u64,
    /// Objects whose name proves they cannot overlap the window.
    pub pruned: u64,
    /// Objects that are not access logs (ALB test file, connection logs,
    /// folder markers).
    pub ignored: u64,
    /// Dated folders never listed because they cannot overlap the window.
    pub folders_pruned: u64,
    /// Runs of CloudFront keys outside the window jumped over unlisted.
    pub ranges_skipped: u64,
    /// ListObjectsV2 requests made.
    pub requests: u64,
}

/// Transfer counters of a run.
#[derive(Debug, Default)]
pub struct FetchStats {
    pub gets: AtomicU64,
    pub bytes: AtomicU64,
    pub resumes: AtomicU64,
    pub cache_hits: AtomicU64,
    pub failed: AtomicU64,
}

/// The S3 client of a run, shared by every S3 input.
pub struct S3Context {
    runtime: tokio::runtime::Runtime,
    client: Client,
    permits: Arc<Semaphore>,
    pub stats: Arc<FetchStats>,
    cache_dir: Option<PathBuf>,
    region: String,
}

/// Builds the client from the standard AWS chain (environment, profiles,
/// SSO, container and instance roles) and `--profile`, `--region`,
/// `--endpoint-url`, and checks that credentials resolve.
pub fn connect(args: &S3Args) -> anyhow::Result<Arc<S3Context>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("stickyaudit-s3")
        .enable_all()
        .build()
        .context("cannot start the S3 client runtime")?;
    let (client, region) = runtime.block_on(make_client(args))?;
    if let Some(dir) = &args.cache_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create cache folder `{}`", dir.display()))?;
    }
    Ok(Arc::new(S3Context {
        runtime,
        client,
        permits: Arc::new(Semaphore::new(args.s3_concurrency.max(1))),
        stats: Arc::new(FetchStats::default()),
        cache_dir: args.cache_dir.clone(),
        region,
    }))
}

fn endpoint_from_env() -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

async fn make_client(args: &S3Args) -> anyhow::Result<(Client, String)> {
    let retry = RetryConfig::standard()
        .with_max_attempts(SDK_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(8));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    let mut builder = aws_sdk_s3::config::Builder::from(&config);
    let region = match config.region() {
        Some(r) => r.to_string(),
        None => {
            builder = builder.region(Region::new("us-east-1"));
            "us-east-1".to_string()
        }
    };
    if args.endpoint_url.is_some() || config.endpoint_url().is_some() || endpoint_from_env() {
        // S3-compatible stores rarely resolve bucket subdomains.
        builder = builder.force_path_style(true);
    }
    check_credentials(&config, args.profile.as_deref()).await?;
    Ok((Client::from_conf(builder.build()), region))
}

const CREDENTIALS_HINT: &str = "hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass \
     --profile (or AWS_PROFILE) naming a profile in ~/.aws/config, run `aws sso login` for SSO \
     profiles, or run on a host with an instance or container role";

async fn check_credentials(config: &SdkConfig, profile: Option<&str>) -> anyhow::Result<()> {
    let Some(provider) = config.credentials_provider() else {
        anyhow::bail!("no AWS credentials provider is configured ({CREDENTIALS_HINT})");
    };
    if let Err(e) = provider.provide_credentials().await {
        let profile = profile.map_or(String::new(), |p| format!(" for profile `{p}`"));
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        let reason = reason.replace('\n', "; ").replace("  ", " ");
        anyhow::bail!("no usable AWS credentials{profile}: {reason} ({CREDENTIALS_HINT})");
    }
    Ok(())
}

/// The region S3 names in a redirect or a malformed-authorization error.
fn region_hint<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<String> {
    let header = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_string);
    header.or_else(|| {
        let message = err.message()?;
        let (_, rest) = message.split_once("expecting '")?;
        Some(rest.split('\'').next()?.to_string())
    })
}

/// Turns an S3 error into a message with a hint where the fix is known.
fn explain<E>(err: &SdkError<E>, what: &str, bucket: &str, region: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or("");
    let detail = DisplayErrorContext(err);
    let redirect = matches!(
        code,
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException"
    ) || status == Some(301);
    if redirect {
        return match region_hint(err) {
            Some(r) => format!(
                "{what}: bucket `{bucket}` is not in region `{region}` \
                 (hint: set --region {r} (the bucket's region))"
            ),
            None => format!(
                "{what}: bucket `{bucket}` is not in region `{region}` \
                 (hint: set --region to the bucket's region)"
            ),
        };
    }
    match code {
        "AccessDenied" | "AllAccessDisabled" => format!(
            "{what}: access denied (hint: the credentials need s3:ListBucket on \
             `arn:aws:s3:::{bucket}` for this prefix and s3:GetObject on its objects; \
             check --profile, the bucket policy and KMS key permissions)"
        ),
        "NoSuchBucket" => format!(
            "{what}: bucket `{bucket}` does not exist (hint: check the bucket name, and \
             --endpoint-url for S3-compatible stores)"
        ),
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" => {
            format!(
                "{what}: the credentials were rejected ({code}) ({CREDENTIALS_HINT}; \
                 refresh expired SSO or session credentials)"
            )
        }
        _ => format!("{what} failed: {detail}"),
    }
}

impl S3Context {
    /// Lists the objects of `url` that can hold records inside `window`.
    pub fn list(&self, url: &S3Url, window: &Window) -> anyhow::Result<Listing> {
        self.runtime
            .block_on(list_source(&self.client, url, window, &self.region))
    }

    /// An input that streams `meta` when opened.
    pub fn object(self: &Arc<Self>, meta: ObjectMeta) -> S3Object {
        S3Object {
            ctx: self.clone(),
            meta,
        }
    }

    /// One line on what the run transferred.
    pub fn transfer_summary(&self) -> String {
        let s = &self.stats;
        format!(
            "s3: {} GET requests, {} bytes fetched, {} resumed downloads, {} objects from \
             the cache, {} objects failed",
            s.gets.load(Ordering::Relaxed),
            s.bytes.load(Ordering::Relaxed),
            s.resumes.load(Ordering::Relaxed),
            s.cache_hits.load(Ordering::Relaxed),
            s.failed.load(Ordering::Relaxed)
        )
    }
}

enum Verdict {
    Keep,
    Prune,
    Ignore,
}

/// Whether a listed key is read, pruned by its name, or not a log at all.
fn verdict(key: &str, window: &Window) -> Verdict {
    let base = coverage::base_name(key);
    if key.ends_with('/') || base == "ELBAccessLogTestFile" || base.starts_with("conn_log_") {
        return Verdict::Ignore;
    }
    match coverage::parse_name(key) {
        Some(name) => {
            let (start, end) = name.span();
            if window.overlaps(start, end) {
                Verdict::Keep
            } else {
                Verdict::Prune
            }
        }
        None => Verdict::Keep,
    }
}

/// Where to continue listing after `last`, a CloudFront legacy key outside
/// the window: CloudFront keys sort by distribution, then hour, so keys
/// before the window jump to its first hour, keys after it past the
/// distribution.
fn cloudfront_skip(last: &str, window: &Window) -> Option<String> {
    let base = coverage::base_name(last);
    let coverage::LogName::CloudFrontHour { distribution, hour } = coverage::parse_name(last)?
    else {
        return None;
    };
    let dir = &last[..last.len() - base.len()];
    let target = if window.until.is_some_and(|u| hour >= u) {
        format!("{dir}{distribution}.~")
    } else {
        let since = window.since?;
        if hour + 3_600_000_000 > since {
            return None;
        }
        let t = chrono::DateTime::from_timestamp_micros(since)?;
        format!("{dir}{distribution}.{}", t.format("%Y-%m-%d-%H"))
    };
    (target.as_str() > last).then_some(target)
}

/// What one source's listing needs to know.
struct Lister<'a> {
    client: &'a Client,
    url: &'a S3Url,
    window: &'a Window,
    region: &'a str,
}

async fn list_source(
    client: &Client,
    url: &S3Url,
    window: &Window,
    region: &str,
) -> anyhow::Result<Listing> {
    let lister = Lister {
        client,
        url,
        window,
        region,
    };
    let mut listing = Listing::default();
    let mut folders = vec![url.prefix.clone()];
    while let Some(folder) = folders.pop() {
        lister.folder(&folder, &mut listing, &mut folders).await?;
    }
    listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(listing)
}

impl Lister<'_> {
    /// Lists one folder level: keeps objects, queues sub-folders that can
    /// overlap the window.
    async fn folder(
        &self,
        folder: &str,
        listing: &mut Listing,
        folders: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let bucket = &self.url.bucket;
        let mut token: Option<String> = None;
        let mut start_after: Option<String> = None;
        loop {
            let response = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(folder)
                .delimiter("/")
                .set_continuation_token(token.take())
                .set_start_after(start_after.take())
                .send()
                .await
                .map_err(|e| {
                    let what = format!("listing `s3://{bucket}/{folder}`");
                    anyhow!(explain(&e, &what, bucket, self.region))
                })?;
            listing.requests += 1;
            for prefix in response.common_prefixes().iter().filter_map(|c| c.prefix()) {
                if coverage::folder_may_overlap(prefix, self.window) {
                    folders.push(prefix.to_string());
                } else {
                    listing.folders_pruned += 1;
                }
            }
            let mut last = None;
            for object in response.contents() {
                let Some(key) = object.key() else { continue };
                listing.listed += 1;
                last = Some(key);
                match verdict(key, self.window) {
                    Verdict::Keep => listing.objects.push(ObjectMeta {
                        bucket: bucket.clone(),
                        key: key.to_string(),
                        etag: object.e_tag().unwrap_or_default().to_string(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                    }),
                    Verdict::Prune => listing.pruned += 1,
                    Verdict::Ignore => listing.ignored += 1,
                }
            }
            if response.is_truncated() != Some(true) {
                return Ok(());
            }
            if let Some(target) = last.and_then(|k| cloudfront_skip(k, self.window)) {
                listing.ranges_skipped += 1;
                start_after = Some(target);
                continue;
            }
            match response.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(()),
            }
        }
    }
}

/// An S3 object as a reader input.
pub struct S3Object {
    ctx: Arc<S3Context>,
    meta: ObjectMeta,
}

impl S3Object {
    pub fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
}

impl Open for S3Object {
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let cache = self
            .ctx
            .cache_dir
            .as_deref()
            .map(|d| cache_path(d, &self.meta));
        if let Some(path) = &cache {
            let cached = std::fs::metadata(path).is_ok_and(|m| m.len() == self.meta.size);
            if cached {
                if let Ok(file) = std::fs::File::open(path) {
                    self.ctx.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Box::new(file));
                }
            }
        }
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let job = Fetch {
            client: self.ctx.client.clone(),
            permits: self.ctx.permits.clone(),
            stats: self.ctx.stats.clone(),
            meta: self.meta.clone(),
            region: self.ctx.region.clone(),
        };
        self.ctx.runtime.spawn(run_fetch(job, tx));
        Ok(Box::new(S3Reader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            finished: false,
            cache: cache.and_then(CacheFill::start),
        }))
    }

    fn size(&self) -> Option<u64> {
        Some(self.meta.size)
    }
}

/// `<dir>/<bucket>/<hash of key>-<etag>`: a changed object never hits.
fn cache_path(dir: &Path, meta: &ObjectMeta) -> PathBuf {
    // FNV-1a: stable across builds, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in meta.key.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let etag: String = meta
        .etag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let base = coverage::base_name(&meta.key);
    let base: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    dir.join(&meta.bucket)
        .join(format!("{hash:016x}-{etag}-{base}"))
}

/// A cache file being written while the object streams through.
struct CacheFill {
    tmp: PathBuf,
    path: PathBuf,
    file: Option<io::BufWriter<std::fs::File>>,
}

impl CacheFill {
    fn start(path: PathBuf) -> Option<CacheFill> {
        std::fs::create_dir_all(path.parent()?).ok()?;
        let tmp = path.with_extension(format!("part{}", std::process::id()));
        let file = std::fs::File::create(&tmp).ok()?;
        Some(CacheFill {
            tmp,
            path,
            file: Some(io::BufWriter::new(file)),
        })
    }

    fn write(&mut self, data: &[u8]) {
        if let Some(f) = &mut self.file {
            if f.write_all(data).is_err() {
                self.file = None;
            }
        }
    }

    fn commit(mut self) {
        if let Some(f) = self.file.take() {
            if f.into_inner().is_ok_and(|f| f.sync_all().is_ok()) {
                let _ = std::fs::rename(&self.tmp, &self.path);
            }
        }
    }
}

impl Drop for CacheFill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

enum Msg {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

/// The blocking side of a download.
struct S3Reader {
    rx: mpsc::Receiver<Msg>,
    chunk: Vec<u8>,
    pos: usize,
    finished: bool,
    cache: Option<CacheFill>,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.finished {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Msg::Data(data)) => {
                    if let Some(cache) = &mut self.cache {
                        cache.write(&data);
                    }
                    self.chunk = data;
                    self.pos = 0;
                }
                Some(Msg::End) => {
                    self.finished = true;
                    if let Some(cache) = self.cache.take() {
                        cache.commit();
                    }
                }
                Some(Msg::Failed(e)) => {
                    self.finished = true;
                    self.cache = None;
                    return Err(e);
                }
                None => {
                    self.finished = true;
                    self.cache = None;
                    return Err(io::Error::other("the download stopped unexpectedly"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One object's download, run on the runtime.
struct Fetch {
    client: Client,
    permits: Arc<Semaphore>,
    stats: Arc<FetchStats>,
    meta: ObjectMeta,
    region: String,
}

/// Whether a failed request is worth another try.
enum Failure {
    Transient(io::Error),
    Permanent(io::Error),
}

async fn run_fetch(job: Fetch, tx: mpsc::Sender<Msg>) {
    let message = match fetch(&job, &tx).await {
        Ok(true) => Msg::End,
        Ok(false) => return,
        Err(e) => {
            job.stats.failed.fetch_add(1, Ordering::Relaxed);
            Msg::Failed(e)
        }
    };
    let _ = tx.send(message).await;
}

fn jittered_backoff(attempt: u32) -> Duration {
    let base_ms = 200u64 << attempt.min(6);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    Duration::from_millis(base_ms / 2 + h.finish() % (base_ms / 2 + 1))
}

/// Streams the object into `tx`. `Ok(false)`: the reader went away.
async fn fetch(job: &Fetch, tx: &mpsc::Sender<Msg>) -> io::Result<bool> {
    let mut offset = 0u64;
    let mut failures = 0u32;
    'request: loop {
        let permit = job
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("the S3 client shut down"))?;
        let mut body = match get(job, offset).await {
            Ok(body) => body,
            Err(Failure::Transient(_)) if failures < MAX_RESUMES => {
                failures += 1;
                drop(permit);
                tokio::time::sleep(jittered_backoff(failures)).await;
                continue 'request;
            }
            Err(Failure::Transient(e) | Failure::Permanent(e)) => return Err(e),
        };
        loop {
            let next = match tokio::time::timeout(IDLE_TIMEOUT, body.next()).await {
                Ok(next) => next.map(|r| r.map_err(io::Error::other)),
                Err(_) => Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no data for {} s", IDLE_TIMEOUT.as_secs()),
                ))),
            };
            let broken = match next {
                None if offset >= job.meta.size => return Ok(true),
                None => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body ended at byte {offset} of {}", job.meta.size),
                ),
                Some(Err(e)) => e,
                Some(Ok(bytes)) => {
                    let data = bytes.to_vec();
                    offset += data.len() as u64;
                    job.stats
                        .bytes
                        .fetch_add(data.len() as u64, Ordering::Relaxed);
                    match tokio::time::timeout(PARK_AFTER, tx.reserve()).await {
                        Ok(Ok(slot)) => slot.send(Msg::Data(data)),
                        Ok(Err(_)) => return Ok(false),
                        Err(_) if job.permits.available_permits() == 0 => {
                            // Park: give the connection and the slot back
                            // until the reader wants more, then resume.
                            drop(body);
                            drop(permit);
                            match tx.reserve().await {
                                Ok(slot) => slot.send(Msg::Data(data)),
                                Err(_) => return Ok(false),
                            }
                            if offset >= job.meta.size {
                                return Ok(true);
                            }
                            job.stats.resumes.fetch_add(1, Ordering::Relaxed);
                            continue 'request;
                        }
                        Err(_) => match tx.reserve().await {
                            Ok(slot) => slot.send(Msg::Data(data)),
                            Err(_) => return Ok(false),
                        },
                    }
                    continue;
                }
            };
            failures += 1;
            if failures > MAX_RESUMES {
                return Err(io::Error::new(
                    broken.kind(),
                    format!("download failed {failures} times, last at byte {offset}: {broken}"),
                ));
            }
            drop(body);
            drop(permit);
            job.stats.resumes.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(jittered_backoff(failures)).await;
            continue 'request;
        }
    }
}

/// One GetObject from `offset`, pinned to the listed ETag.
async fn get(job: &Fetch, offset: u64) -> Result<ByteStream, Failure> {
    let mut request = job
        .client
        .get_object()
        .bucket(&job.meta.bucket)
        .key(&job.meta.key);
    if !job.meta.etag.is_empty() {
        request = request.if_match(&job.meta.etag);
    }
    if offset > 0 {
        request = request.range(format!("bytes={offset}-"));
    }
    let result = request.send().await;
    job.stats.gets.fetch_add(1, Ordering::Relaxed);
    let err = match result {
        Ok(output) => return Ok(output.body),
        Err(e) => e,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => status.is_some_and(|s| s >= 500) || err.code() == Some("SlowDown"),
    };
    let message = if status == Some(412) || err.code() == Some("PreconditionFailed") {
        "the object changed since it was listed (rerun to read the new version)".to_string()
    } else {
        explain(&err, "GetObject", &job.meta.bucket, &job.region)
    };
    let error = io::Error::other(message);
    Err(if transient {
        Failure::Transient(error)
    } else {
        Failure::Permanent(error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T10: i64 = 1_796_032_800_000_000; // 2026-11-30T10:00:00Z
    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        let u = S3Url::parse("s3://logs/cdn/E1.").unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("logs", "cdn/E1."));
        assert_eq!(S3Url::parse("s3://logs").unwrap().prefix, "");
        assert!(S3Url::parse("s3:///x").is_err());
    }

    #[test]
    fn cloudfront_runs_outside_the_window_are_jumped() {
        let w = Window {
            since: Some(T10 + HOUR / 2),
            until: Some(T10 + 2 * HOUR),
        };
        let early = "cdn/E1.2026-11-29-23.AAAA.gz";
        assert_eq!(
            cloudfront_skip(early, &w).as_deref(),
            Some("cdn/E1.2026-11-30-10")
        );
        assert_eq!(cloudfront_skip("cdn/E1.2026-11-30-10.AAAA.gz", &w), None);
        let late = "cdn/E1.2026-11-30-12.AAAA.gz";
        assert_eq!(cloudfront_skip(late, &w).as_deref(), Some("cdn/E1.~"));
        assert_eq!(cloudfront_skip("cdn/other.log", &w), None);
    }

    #[test]
    fn non_logs_are_ignored_and_names_outside_the_window_pruned() {
        let w = Window {
            since: Some(T10),
            until: Some(T10 + HOUR),
        };
        assert!(matches!(
            verdict("AWSLogs/1/ELBAccessLogTestFile", &w),
            Verdict::Ignore
        ));
        assert!(matches!(
            verdict("cdn/E1.2026-11-30-11.AAAA.gz", &w),
            Verdict::Prune
        ));
        assert!(matches!(
            verdict("cdn/E1.2026-11-30-10.AAAA.gz", &w),
            Verdict::Keep
        ));
        assert!(matches!(verdict("misc/app.log", &w), Verdict::Keep));
    }
}
