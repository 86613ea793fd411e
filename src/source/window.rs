//! The time window of a run (`--since`/`--until`): absolute RFC 3339 times
//! or durations before now (`90m`, `2h`, `1d`, `1h30m`).

use anyhow::{Context, bail};

/// A half-open window `[since, until)` in µs since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn contains(&self, micros: i64) -> bool {
        self.since.is_none_or(|s| micros >= s) && self.until.is_none_or(|u| micros < u)
    }

    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// Does `[start, end)` overlap the window?
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.since.is_none_or(|s| end > s) && self.until.is_none_or(|u| start < u)
    }
}

/// Parses `2h`, `90m`, `1h30m`, `45s`, `1d` into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        // Seconds that still fit in µs: larger durations are an error.
        total = total.checked_add(n.checked_mul(unit)?)?;
        if total > i64::MAX / 1_000_000 {
            return None;
        }
    }
    if !number.is_empty() {
        return None;
    }
    (total > 0).then_some(total)
}

/// Parses one bound relative to `now_us`.
pub fn parse_time(text: &str, now_us: i64) -> anyhow::Result<i64> {
    if let Some(secs) = parse_duration(text) {
        return Ok(now_us - secs * 1_000_000);
    }
    let t = chrono::DateTime::parse_from_rfc3339(text.trim())
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(&format!("{}Z", text.trim())))
        .with_context(|| {
            format!("`{text}` is neither an RFC 3339 time nor a duration (hint: `2026-11-30T10:00:00Z` or `2h`)")
        })?;
    Ok(t.timestamp_micros())
}

impl Window {
    pub fn parse(since: Option<&str>, until: Option<&str>, now_us: i64) -> anyhow::Result<Window> {
        let w = Window {
            since: since.map(|s| parse_time(s, now_us)).transpose()?,
            until: until.map(|u| parse_time(u, now_us)).transpose()?,
        };
        if let (Some(s), Some(u)) = (w.since, w.until) {
            if s >= u {
                bail!("--since must be before --until");
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times_parse() {
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("9999999999999999w"), None);
        let now = 1_700_000_000_000_000;
        assert_eq!(parse_time("2h", now).unwrap(), now - 7_200_000_000);
        assert_eq!(
            parse_time("2026-11-30T10:00:00Z", now).unwrap(),
            1_796_032_800_000_000
        );
        assert!(parse_time("yesterday", now).is_err());
        assert!(Window::parse(Some("1h"), Some("2h"), now).is_err());
    }

    #[test]
    fn window_bounds_are_half_open() {
        let w = Window {
            since: Some(10),
            until: Some(20),
        };
        assert!(w.contains(10) && w.contains(19) && !w.contains(20) && !w.contains(9));
        assert!(w.overlaps(0, 11) && !w.overlaps(0, 10) && !w.overlaps(20, 30));
        assert!(Window::default().contains(i64::MIN));
    }
}
