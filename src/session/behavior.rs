//! Cache behaviors: which path pattern each CloudFront request fell under,
//! and what the logs show about each behavior (does it cache, does it serve
//! static assets). Patterns come from `cache-behavior-path-pattern` when the
//! logs carry it, else from `--behavior` patterns, else from the URL.

use crate::table::cloudfront::CfTable;

/// CloudFront's path-pattern matching: `*` matches any run of characters
/// (including `/`), `?` exactly one; case-sensitive.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The default behavior's pattern.
pub const DEFAULT_PATTERN: &str = "*";

/// A pattern inferred from the URL: `/<first segment>/*` for deeper paths,
/// the default behavior otherwise.
pub fn infer_pattern(path: &str) -> String {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.split_once('/') {
        Some((first, _)) if !first.is_empty() => format!("/{first}/*"),
        _ => DEFAULT_PATTERN.to_string(),
    }
}

const ASSET_EXTENSIONS: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "woff",
    "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "pdf", "zip", "wasm", "txt", "xml",
];

/// Does the path name a static file (by extension)?
pub fn is_asset_path(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    match last.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            ASSET_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
}

/// What the logs say about one behavior.
#[derive(Debug, Clone, Default)]
pub struct Behavior {
    pub pattern: String,
    pub requests: u64,
    pub gets: u64,
    pub hits: u64,
    pub assets: u64,
    /// Serves cacheable static assets: its misses may go to any target.
    pub is_static: bool,
    /// Configured (`--dynamic`) as a path that must always reach the origin.
    pub configured_dynamic: bool,
}

impl Behavior {
    /// Some GET/HEAD requests were answered from cache.
    pub fn caches(&self) -> bool {
        self.hits > 0
    }
}

/// Behaviors of every CloudFront row.
#[derive(Debug, Default)]
pub struct Behaviors {
    pub list: Vec<Behavior>,
    /// Behavior index per CloudFront row.
    pub of_row: Vec<u32>,
}

/// Settings for behavior assignment.
#[derive(Debug, Clone, Default)]
pub struct BehaviorConfig {
    /// Path patterns in CloudFront's precedence order (first match wins).
    pub patterns: Vec<String>,
    /// Patterns of paths that must always reach the origin.
    pub dynamic: Vec<String>,
    /// Patterns of behaviors that serve static assets (never session-bound).
    pub static_patterns: Vec<String>,
}

pub fn assign(cf: &CfTable, config: &BehaviorConfig) -> Behaviors {
    let mut index: rustc_hash::FxHashMap<String, u32> = Default::default();
    let mut by_path: rustc_hash::FxHashMap<(u32, u32), u32> = Default::default();
    let mut out = Behaviors::default();
    let hit = cf.result_type.dict.find("Hit");
    let get = cf.method.dict.find("GET");
    let head = cf.method.dict.find("HEAD");
    for row in 0..cf.len() {
        let key = (cf.behavior_path_pattern.ids[row], cf.uri_stem.ids[row]);
        let id = *by_path.entry(key).or_insert_with(|| {
            let path = cf.uri_stem.get(row).unwrap_or("/");
            let pattern = match cf.behavior_path_pattern.get(row) {
                Some(p) => p.to_string(),
                None if !config.patterns.is_empty() => config
                    .patterns
                    .iter()
                    .find(|p| pattern_matches(p, path))
                    .cloned()
                    .unwrap_or_else(|| DEFAULT_PATTERN.to_string()),
                None => infer_pattern(path),
            };
            let next = index.len() as u32;
            *index.entry(pattern.clone()).or_insert_with(|| {
                out.list.push(Behavior {
                    configured_dynamic: config.dynamic.iter().any(|d| d == &pattern),
                    pattern,
                    ..Behavior::default()
                });
                next
            })
        });
        out.of_row.push(id);
        let b = &mut out.list[id as usize];
        b.requests += 1;
        let m = Some(cf.method.ids[row]);
        if m == get || m == head {
            b.gets += 1;
            if Some(cf.result_type.ids[row]) == hit {
                b.hits += 1;
            }
        }
        if is_asset_path(cf.uri_stem.get(row).unwrap_or_default()) {
            b.assets += 1;
        }
    }
    for b in &mut out.list {
        let configured = config.static_patterns.iter().any(|p| p == &b.pattern);
        let inferred = b.assets * 2 >= b.requests && b.hits * 10 >= b.gets && b.hits > 0;
        b.is_static = configured || (inferred && !b.configured_dynamic);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_cloudfront() {
        assert!(pattern_matches("/api/*", "/api/v1/cart"));
        assert!(!pattern_matches("/api/*", "/apix"));
        assert!(pattern_matches("*.jpg", "/img/a.jpg"));
        assert!(pattern_matches("/a?c", "/abc"));
        assert!(pattern_matches("*", "/"));
        assert!(!pattern_matches("/static/*", "/Static/a.css"));
    }

    #[test]
    fn inferred_patterns_use_the_first_segment() {
        assert_eq!(infer_pattern("/static/app.js"), "/static/*");
        assert_eq!(infer_pattern("/cart"), "*");
        assert_eq!(infer_pattern("/"), "*");
        assert!(is_asset_path("/static/app.min.js"));
        assert!(!is_asset_path("/api/v1/items"));
        assert!(!is_asset_path("/.env"));
    }
}
