//! What log object names say about time: the span of records an object can
//! hold (used to prune S3 listings by the run's window), and coverage gaps
//! (ALB node intervals and CloudFront hours with no file), which would
//! otherwise look like stickiness flips.
//!
//! Works on S3 keys and local paths alike: only the name matters.
//! Name layouts: CloudFront legacy `<DIST>.YYYY-MM-DD-HH.<id>.gz` holds the
//! requests of that UTC hour; ALB
//! `<acct>_elasticloadbalancing_<region>_<lb>_<YYYYMMDDTHHMMZ>_<ip>_<rand>.log.gz`
//! holds the five minutes ending at the stamp; CloudFront v2 deliveries sit
//! under Hive (`year=/month=/day=/hour=`) or `{yyyy}/{MM}/{dd}/{HH}` folders.
//! (AWS CloudFront "standard logging (legacy)" and ALB "access logs" pages.)

use super::window::Window;
use crate::parse::Family;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const ALB_INTERVAL: i64 = 5 * MINUTE;

/// A log object recognised by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogName {
    /// CloudFront legacy: the requests of the UTC hour starting at `hour`.
    CloudFrontHour { distribution: String, hour: i64 },
    /// ALB: one node's entries of the five minutes ending at `end`.
    AlbInterval { lb: String, node: String, end: i64 },
    /// A file under a dated folder (CloudFront v2 partitions): the folder's
    /// period widened by an hour each side, since AWS does not document
    /// whether it is the request or the delivery time.
    Partition { start: i64, end: i64 },
}

impl LogName {
    /// The half-open time span `[start, end)` (µs) of the records the
    /// object can hold.
    pub fn span(&self) -> (i64, i64) {
        match self {
            LogName::CloudFrontHour { hour, .. } => (*hour, hour + HOUR),
            LogName::AlbInterval { end, .. } => (end - ALB_INTERVAL, *end),
            LogName::Partition { start, end } => (*start, *end),
        }
    }
}

/// The last path segment of a key or path.
pub fn base_name(key: &str) -> &str {
    key.rsplit(['/', '\\']).next().unwrap_or(key)
}

fn digits(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn micros(y: u32, mo: u32, d: u32, h: u32, mi: u32) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    Some(date.and_hms_opt(h, mi, 0)?.and_utc().timestamp_micros())
}

/// `YYYY-MM-DD-HH` → the hour's start.
fn cloudfront_hour(stamp: &str) -> Option<i64> {
    let b = stamp.as_bytes();
    if b.len() != 13 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
        return None;
    }
    let y = digits(&stamp[..4], 4)?;
    micros(
        y,
        digits(&stamp[5..7], 2)?,
        digits(&stamp[8..10], 2)?,
        digits(&stamp[11..13], 2)?,
        0,
    )
}

/// `YYYYMMDDTHHMMZ` → that minute.
fn alb_stamp(stamp: &str) -> Option<i64> {
    let b = stamp.as_bytes();
    if b.len() != 14 || b[8] != b'T' || b[13] != b'Z' {
        return None;
    }
    micros(
        digits(&stamp[..4], 4)?,
        digits(&stamp[4..6], 2)?,
        digits(&stamp[6..8], 2)?,
        digits(&stamp[9..11], 2)?,
        digits(&stamp[11..13], 2)?,
    )
}

fn parse_cloudfront(base: &str) -> Option<LogName> {
    let mut parts = base.split('.');
    let distribution = parts.next()?;
    let hour = cloudfront_hour(parts.next()?)?;
    let id = parts.next()?;
    let plausible = !distribution.is_empty()
        && !id.is_empty()
        && distribution.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| LogName::CloudFrontHour {
        distribution: distribution.to_string(),
        hour,
    })
}

fn parse_alb(base: &str) -> Option<LogName> {
    let parts: Vec<&str> = base.split('_').collect();
    if parts.len() < 7 || parts[1] != "elasticloadbalancing" {
        return None;
    }
    let end = alb_stamp(parts[4])?;
    Some(LogName::AlbInterval {
        lb: parts[3].to_string(),
        node: parts[5].to_string(),
        end,
    })
}

/// Recognises a log object by its key or path.
pub fn parse_name(key: &str) -> Option<LogName> {
    let base = base_name(key);
    if let Some(name) = parse_alb(base).or_else(|| parse_cloudfront(base)) {
        return Some(name);
    }
    let dir = &key[..key.len() - base.len()];
    let (start, end) = folder_period(dir)?;
    Some(LogName::Partition {
        start: start - HOUR,
        end: end + HOUR,
    })
}

/// The date parts a folder path spells, Hive style (`year=2025/month=11`)
/// or as a run of numeric segments (`2025/11/30/10`).
fn dated_segments(path: &str) -> Vec<u32> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let hive: Vec<u32> = ["year=", "month=", "day=", "hour="]
        .iter()
        .map_while(|k| {
            segments
                .iter()
                .find_map(|s| s.strip_prefix(k))
                .and_then(|v| v.parse().ok())
        })
        .collect();
    if !hive.is_empty() {
        return hive;
    }
    for (i, s) in segments.iter().enumerate() {
        let Some(year) = digits(s, 4).filter(|y| (1990..=2200).contains(y)) else {
            continue;
        };
        let mut parts = vec![year];
        for (j, s) in segments[i + 1..].iter().take(3).enumerate() {
            let limit = [12, 31, 23][j];
            match digits(s, 2).filter(|&v| v <= limit) {
                Some(v) => parts.push(v),
                None => break,
            }
        }
        if parts.len() >= 2 {
            return parts;
        }
    }
    Vec::new()
}

/// The period `[start, end)` a dated folder path covers, if it is dated.
pub fn folder_period(path: &str) -> Option<(i64, i64)> {
    let parts = dated_segments(path);
    let start = match parts[..] {
        [y] => micros(y, 1, 1, 0, 0)?,
        [y, m] => micros(y, m, 1, 0, 0)?,
        [y, m, d] => micros(y, m, d, 0, 0)?,
        [y, m, d, h, ..] => micros(y, m, d, h, 0)?,
        [] => return None,
    };
    let end = match parts[..] {
        [y] => micros(y + 1, 1, 1, 0, 0)?,
        [y, 12] => micros(y + 1, 1, 1, 0, 0)?,
        [y, m] => micros(y, m + 1, 1, 0, 0)?,
        [_, _, _] => start + DAY,
        _ => start + HOUR,
    };
    Some((start, end))
}

/// Can records of objects under this folder fall in the window? ALB day
/// folders carry the delivery date, so they are widened by a day each side;
/// other dated folders by an hour.
pub fn folder_may_overlap(path: &str, window: &Window) -> bool {
    let Some((start, end)) = folder_period(path) else {
        return true;
    };
    let slack = if path.contains("/elasticloadbalancing/") {
        DAY
    } else {
        HOUR
    };
    window.overlaps(start - slack, end + slack)
}

/// A stretch of time in which a log stream has no file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    pub family: Family,
    /// The CloudFront distribution id, or `<lb-id> node <ip>` for ALB.
    pub stream: String,
    /// Start and end of the uncovered time, µs since the epoch.
    pub start: i64,
    pub end: i64,
    /// How many files (hours or five-minute intervals) are missing.
    pub missing_files: u32,
}

fn clock(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_else(|| us.to_string())
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, unit) = match self.family {
            Family::Alb => ("ALB", "five-minute interval"),
            Family::CloudFront => ("CloudFront distribution", "hour"),
        };
        let plural = if self.missing_files == 1 { "" } else { "s" };
        write!(
            f,
            "coverage gap: {what} `{}` has no log file for {} to {} ({} {unit}{plural}); \
             requests there are missing from both joins and sessions",
            self.stream,
            clock(self.start),
            clock(self.end),
            self.missing_files
        )
    }
}

/// Merges missing slot starts (sorted, `step` apart when consecutive) into gaps.
/// Runs of grid slots `lo, lo + step, …` below `hi` that are not in
/// `present`, as (first slot, how many). Linear in the slots present, so a
/// hostile file name dated year 9999 cannot make it enumerate millennia.
fn absent_runs(present: &BTreeSet<i64>, lo: i64, hi: i64, step: i64) -> Vec<(i64, i64)> {
    let mut runs = Vec::new();
    let mut next = lo;
    for &slot in present.range(lo..hi) {
        if slot > next {
            runs.push((next, (slot - next) / step));
        }
        next = next.max(slot.saturating_add(step));
    }
    if hi > next {
        runs.push((next, (hi - next + step - 1) / step));
    }
    runs
}

fn gap(family: Family, stream: &str, start: i64, slots: i64, step: i64) -> Gap {
    Gap {
        family,
        stream: stream.to_string(),
        start,
        end: start.saturating_add(slots.saturating_mul(step)),
        missing_files: u32::try_from(slots).unwrap_or(u32::MAX),
    }
}

/// Missing ALB intervals per node: five-minute slots between the node's
/// first and last file inside the window that have no file.
fn alb_gaps(names: &[&LogName], window: &Window) -> Vec<Gap> {
    let mut nodes: BTreeMap<(String, String), BTreeSet<i64>> = BTreeMap::new();
    for name in names {
        if let LogName::AlbInterval { lb, node, end } = name {
            if window.overlaps(end - ALB_INTERVAL, *end) {
                let key = (lb.clone(), node.clone());
                nodes.entry(key).or_default().insert(*end);
            }
        }
    }
    let mut gaps = Vec::new();
    for ((lb, node), ends) in nodes {
        let (Some(&first), Some(&last)) = (ends.first(), ends.last()) else {
            continue;
        };
        let stream = format!("{lb} node {node}");
        // Slots are interval ends; a missing end `e` leaves `[e - 5m, e)`.
        for (end, slots) in absent_runs(&ends, first, last + ALB_INTERVAL, ALB_INTERVAL) {
            gaps.push(gap(
                Family::Alb,
                &stream,
                end - ALB_INTERVAL,
                slots,
                ALB_INTERVAL,
            ));
        }
    }
    gaps
}

/// CloudFront hours with no file, per distribution: every hour overlapping
/// the window (an open end stops at the distribution's first or last file,
/// and no hour after `now` counts).
fn cloudfront_gaps(names: &[&LogName], window: &Window, now: i64) -> Vec<Gap> {
    let mut dists: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for name in names {
        if let LogName::CloudFrontHour { distribution, hour } = name {
            if window.overlaps(*hour, hour + HOUR) {
                dists.entry(distribution).or_default().insert(*hour);
            }
        }
    }
    let mut gaps = Vec::new();
    for (dist, hours) in dists {
        let (Some(&first), Some(&last)) = (hours.first(), hours.last()) else {
            continue;
        };
        let lo = window.since.map_or(first, |s| s.div_euclid(HOUR) * HOUR);
        let hi = window.until.map_or(last + HOUR, |u| u.min(now));
        for (hour, slots) in absent_runs(&hours, lo, hi, HOUR) {
            gaps.push(gap(Family::CloudFront, dist, hour, slots, HOUR));
        }
    }
    gaps
}

/// Coverage gaps among the named objects of a run.
pub fn find_gaps<'a>(
    names: impl IntoIterator<Item = &'a LogName>,
    window: &Window,
    now: i64,
) -> Vec<Gap> {
    let names: Vec<&LogName> = names.into_iter().collect();
    let mut gaps = alb_gaps(&names, window);
    gaps.extend(cloudfront_gaps(&names, window, now));
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    const T10: i64 = 1_796_032_800_000_000; // 2026-11-30T10:00:00Z

    #[test]
    fn absent_runs_are_linear_in_what_is_present() {
        let present: BTreeSet<i64> = [0, 10, 20, 50].into_iter().collect();
        assert_eq!(absent_runs(&present, 0, 60, 10), vec![(30, 2)]);
        assert_eq!(
            absent_runs(&present, -20, 75, 10),
            vec![(-20, 2), (30, 2), (60, 2)]
        );
        // A span of millennia is two runs, not billions of slots.
        let hostile: BTreeSet<i64> = [0, 8_000_000_000_000_000].into_iter().collect();
        let runs = absent_runs(&hostile, 0, 8_000_000_000_000_001, 300_000_000);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].0, 300_000_000);
    }

    #[test]
    fn aws_object_names_give_their_spans() {
        let cf = parse_name("cdn-logs/E2QWRUHEXAMPLE.2026-11-30-10.AB12CD34.gz").unwrap();
        assert_eq!(cf.span(), (T10, T10 + HOUR));
        let alb = parse_name(
            "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/30/\
             123456789012_elasticloadbalancing_us-east-1_app.web.50dc6c495c0c9188_\
             20261130T1005Z_52.44.101.17_x1y2z3.log.gz",
        )
        .unwrap();
        assert_eq!(alb.span(), (T10, T10 + 5 * MINUTE));
        let hive = parse_name("cf/year=2026/month=11/day=30/hour=10/part-0.gz").unwrap();
        assert_eq!(hive.span(), (T10 - HOUR, T10 + 2 * HOUR));
        let custom = parse_name("cf/E2Q/2026/11/30/10/file.log.gz").unwrap();
        assert_eq!(custom.span(), hive.span());
        assert_eq!(parse_name("notes/readme.txt"), None);
        assert_eq!(
            parse_name("AWSLogs/123456789012/ELBAccessLogTestFile"),
            None
        );
    }

    #[test]
    fn alb_day_folders_are_widened_by_a_day() {
        let w = Window {
            since: Some(T10),
            until: Some(T10 + HOUR),
        };
        let alb = "AWSLogs/1/elasticloadbalancing/us-east-1/2026/";
        assert!(folder_may_overlap(&format!("{alb}12/"), &w));
        assert!(folder_may_overlap(&format!("{alb}11/29/"), &w));
        assert!(folder_may_overlap(&format!("{alb}11/30/"), &w));
        assert!(folder_may_overlap(&format!("{alb}12/01/"), &w));
        assert!(!folder_may_overlap(&format!("{alb}11/28/"), &w));
        assert!(!folder_may_overlap(&format!("{alb}12/02/"), &w));
        assert!(!folder_may_overlap(&format!("{alb}10/"), &w));
        assert!(folder_may_overlap("AWSLogs/1/", &w));
        assert!(!folder_may_overlap(
            "v2/year=2026/month=11/day=30/hour=08/",
            &w
        ));
        assert!(folder_may_overlap(
            "v2/year=2026/month=11/day=30/hour=09/",
            &w
        ));
    }

    #[test]
    fn a_missing_alb_interval_is_a_named_gap() {
        let name = |end: i64, node: &str| LogName::AlbInterval {
            lb: "app.web".into(),
            node: node.into(),
            end,
        };
        let names = [
            name(T10 + 5 * MINUTE, "10.0.0.1"),
            name(T10 + 10 * MINUTE, "10.0.0.1"),
            name(T10 + 25 * MINUTE, "10.0.0.1"),
            name(T10 + 5 * MINUTE, "10.0.0.2"),
        ];
        let gaps = find_gaps(&names, &Window::default(), i64::MAX);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].stream, "app.web node 10.0.0.1");
        assert_eq!(
            (gaps[0].start, gaps[0].end),
            (T10 + 10 * MINUTE, T10 + 20 * MINUTE)
        );
        assert_eq!(gaps[0].missing_files, 2);
        assert!(
            gaps[0]
                .to_string()
                .contains("2026-11-30T10:10Z to 2026-11-30T10:20Z")
        );
    }

    #[test]
    fn cloudfront_hours_without_a_file_are_gaps_inside_the_window() {
        let hour = |h: i64| LogName::CloudFrontHour {
            distribution: "E1".into(),
            hour: T10 + h * HOUR,
        };
        let names = [hour(0), hour(2)];
        let w = Window {
            since: Some(T10 - HOUR),
            until: Some(T10 + 4 * HOUR),
        };
        let gaps = find_gaps(&names, &w, T10 + 3 * HOUR + 1);
        let starts: Vec<i64> = gaps.iter().map(|g| g.start).collect();
        assert_eq!(starts, [T10 - HOUR, T10 + HOUR, T10 + 3 * HOUR]);
        assert!(find_gaps(&names, &Window::default(), i64::MAX).len() == 1);
    }
}
