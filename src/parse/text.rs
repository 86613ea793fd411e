//! Byte-level helpers for the hot path: percent-decoding, fixed-layout
//! timestamps and plain decimal numbers. Nothing here allocates unless a
//! value actually needs decoding.

use std::borrow::Cow;

/// `-` is how both log families write an empty or not-applicable value.
pub fn dash_is_none(value: &[u8]) -> Option<&[u8]> {
    if value == b"-" || value.is_empty() {
        None
    } else {
        Some(value)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes exactly once. CloudFront encodes `%` itself, so a
/// viewer's `%3D` is logged as `%253D` and comes back as `%3D` here. A `%`
/// not followed by two hex digits is kept as is.
pub fn percent_decode(value: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'%', value) else {
        return Cow::Borrowed(value);
    };
    let mut out = Vec::with_capacity(value.len());
    // Copy the spans between escapes whole: most bytes need no decoding.
    let mut copied = 0;
    let mut at = first;
    loop {
        out.extend_from_slice(&value[copied..at]);
        let escape = value.get(at + 1..at + 3).and_then(|h| {
            let (hi, lo) = (hex_value(h[0])?, hex_value(h[1])?);
            Some(hi << 4 | lo)
        });
        match escape {
            Some(b) => {
                out.push(b);
                copied = at + 3;
            }
            None => {
                out.push(b'%');
                copied = at + 1;
            }
        }
        match memchr::memchr(b'%', &value[copied..]) {
            Some(next) => at = copied + next,
            None => break,
        }
    }
    out.extend_from_slice(&value[copied..]);
    Cow::Owned(out)
}

#[inline]
fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    if bytes.len() < N {
        return None;
    }
    let mut v = 0u32;
    for &b in &bytes[..N] {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD` to days since the epoch.
pub fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits::<4>(b)? as i64;
    let month = digits::<2>(&b[5..])?;
    let day = digits::<2>(&b[8..])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `HH:MM:SS` to seconds of the day (a leap second `60` is accepted).
pub fn parse_clock(b: &[u8]) -> Option<i64> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits::<2>(b)?,
        digits::<2>(&b[3..])?,
        digits::<2>(&b[6..])?,
    );
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h * 3600 + m * 60 + s) as i64)
}

/// ALB's `2018-07-02T22:23:00.186641Z` to microseconds since the epoch.
/// Fractions of 0 to 9 digits are accepted; the `Z` is required.
pub fn parse_iso_micros(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[10] != b'T' || *b.last()? != b'Z' {
        return None;
    }
    let days = parse_date(&b[..10])?;
    let secs = parse_clock(&b[11..19])?;
    let rest = &b[19..b.len() - 1];
    let micros = match rest {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            let mut v: i64 = 0;
            for (i, &c) in frac.iter().enumerate() {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                if i < 6 {
                    v = v * 10 + d as i64;
                }
            }
            v * 10i64.pow(6u32.saturating_sub(frac.len() as u32))
        }
        _ => return None,
    };
    Some((days * 86_400 + secs) * 1_000_000 + micros)
}

/// An unsigned decimal integer with no sign and no spaces.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

pub fn parse_i64(b: &[u8]) -> Option<i64> {
    match b {
        [b'-', rest @ ..] => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(b).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Seconds with a decimal fraction (`0.082`, `12`, `-1`) to microseconds.
/// Exact for up to six fraction digits; more are truncated.
pub fn parse_seconds_micros(b: &[u8]) -> Option<i64> {
    let (neg, b) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b""[..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let whole = if int.is_empty() {
        0
    } else {
        parse_u64(int)? as i64
    };
    let mut micros: i64 = 0;
    for (i, &c) in frac.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        if i < 6 {
            micros += d as i64 * 10i64.pow(5 - i as u32);
        }
    }
    let v = whole.checked_mul(1_000_000)?.checked_add(micros)?;
    Some(if neg { -v } else { v })
}

/// Splits `ip:port`; IPv6 may come bare (`fd6d::face:80`) or bracketed.
pub fn split_host_port(b: &[u8]) -> (&[u8], Option<u32>) {
    if let Some(colon) = memchr::memrchr(b':', b) {
        if let Some(port) = parse_u64(&b[colon + 1..]).filter(|&p| p <= 65535) {
            let host = &b[..colon];
            let host = host
                .strip_prefix(b"[")
                .and_then(|h| h.strip_suffix(b"]"))
                .unwrap_or(host);
            return (host, Some(port as u32));
        }
    }
    (b, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_happens_exactly_once() {
        assert_eq!(&*percent_decode(b"a%253Db"), b"a%3Db");
        assert_eq!(
            &*percent_decode(b"Mozilla/5.0%20(X11)"),
            b"Mozilla/5.0 (X11)"
        );
        assert_eq!(&*percent_decode(b"100%"), b"100%");
        assert_eq!(&*percent_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(&*percent_decode(b"%41"), b"A");
        assert!(matches!(percent_decode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn dates_and_clocks_are_checked_not_just_split() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2019-12-04"), Some(18234));
        assert_eq!(parse_date(b"2019-02-29"), None);
        assert_eq!(parse_date(b"2020-02-29"), Some(18321));
        assert_eq!(parse_date(b"2019-13-01"), None);
        assert_eq!(parse_clock(b"21:02:31"), Some(75751));
        assert_eq!(parse_clock(b"24:00:00"), None);
    }

    #[test]
    fn iso_timestamps_keep_microseconds() {
        let t = parse_iso_micros(b"2018-07-02T22:23:00.186641Z").unwrap();
        let expected = chrono::DateTime::parse_from_rfc3339("2018-07-02T22:23:00.186641Z")
            .unwrap()
            .timestamp_micros();
        assert_eq!(t, expected);
        assert_eq!(
            parse_iso_micros(b"2018-07-02T22:23:00.1Z"),
            Some(expected - 86641)
        );
        assert_eq!(
            parse_iso_micros(b"2018-07-02T22:23:00Z"),
            Some(expected - 186641)
        );
        assert_eq!(parse_iso_micros(b"2018-07-02 22:23:00.186641Z"), None);
        assert_eq!(parse_iso_micros(b"2018-07-02T22:23:00.18664xZ"), None);
    }

    #[test]
    fn seconds_parse_to_micros_including_minus_one() {
        assert_eq!(parse_seconds_micros(b"0.082"), Some(82_000));
        assert_eq!(parse_seconds_micros(b"-1"), Some(-1_000_000));
        assert_eq!(parse_seconds_micros(b"12"), Some(12_000_000));
        assert_eq!(parse_seconds_micros(b"1.2.3"), None);
        assert_eq!(parse_seconds_micros(b""), None);
    }

    #[test]
    fn host_port_handles_ipv6_forms() {
        assert_eq!(
            split_host_port(b"10.0.0.1:80"),
            (&b"10.0.0.1"[..], Some(80))
        );
        assert_eq!(
            split_host_port(b"2001:db8::1:443"),
            (&b"2001:db8::1"[..], Some(443))
        );
        assert_eq!(split_host_port(b"[::1]:8080"), (&b"::1"[..], Some(8080)));
        assert_eq!(split_host_port(b"-"), (&b"-"[..], None));
    }
}
