//! Byte-level formatting for the log writers: integers, UTC timestamps,
//! seconds with millisecond precision, IP addresses and random tokens,
//! without going through `std::fmt` on the hot path.

use super::rng::Rng;

pub const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8; 16] = b"0123456789abcdef";

pub const US_PER_SEC: i64 = 1_000_000;

pub fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `YYYY<sep>MM<sep>DD`.
pub fn push_date(buf: &mut Vec<u8>, secs: i64, sep: &[u8]) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    push_u64(buf, y as u64);
    buf.extend_from_slice(sep);
    push_2(buf, m);
    buf.extend_from_slice(sep);
    push_2(buf, d);
}

/// Writes `HH<sep>MM<sep>SS`.
pub fn push_clock(buf: &mut Vec<u8>, secs: i64, sep: &[u8]) {
    let s = secs.rem_euclid(86_400) as u32;
    push_2(buf, s / 3600);
    buf.extend_from_slice(sep);
    push_2(buf, s / 60 % 60);
    buf.extend_from_slice(sep);
    push_2(buf, s % 60);
}

/// ISO 8601 UTC with microseconds, as ALB writes it: `2026-11-30T10:00:00.123456Z`.
pub fn push_iso_us(buf: &mut Vec<u8>, us: i64) {
    let secs = us.div_euclid(US_PER_SEC);
    push_date(buf, secs, b"-");
    buf.push(b'T');
    push_clock(buf, secs, b":");
    buf.push(b'.');
    let frac = us.rem_euclid(US_PER_SEC) as u64;
    let mut tmp = [b'0'; 6];
    let mut f = frac;
    for slot in tmp.iter_mut().rev() {
        *slot = b'0' + (f % 10) as u8;
        f /= 10;
    }
    buf.extend_from_slice(&tmp);
    buf.push(b'Z');
}

/// Seconds with millisecond precision (`0.045`), rounding microseconds.
pub fn push_secs_ms(buf: &mut Vec<u8>, us: i64) {
    if us < 0 {
        buf.extend_from_slice(b"-1");
        return;
    }
    let ms = (us + 500) / 1000;
    push_u64(buf, (ms / 1000) as u64);
    buf.push(b'.');
    let frac = (ms % 1000) as u32;
    buf.push(b'0' + (frac / 100) as u8);
    push_2(buf, frac % 100);
}

pub fn push_hex(buf: &mut Vec<u8>, v: u64, digits: u32) {
    for i in (0..digits).rev() {
        buf.push(HEX[((v >> (i * 4)) & 0xF) as usize]);
    }
}

/// `n` random characters of `alphabet`, 10 per drawn word.
pub fn push_random(buf: &mut Vec<u8>, rng: &mut Rng, alphabet: &[u8], n: usize) {
    let len = alphabet.len() as u64;
    let mut left = n;
    while left > 0 {
        let mut w = rng.next_u64();
        for _ in 0..left.min(10) {
            buf.push(alphabet[(w % len) as usize]);
            w /= len;
        }
        left -= left.min(10);
    }
}

/// A random string of `n` characters of `alphabet`.
pub fn random_string(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    let mut buf = Vec::with_capacity(n);
    push_random(&mut buf, rng, alphabet, n);
    String::from_utf8(buf).expect("alphabets are ASCII")
}

/// Standard base64 (URL-safe alphabet) of `bytes`, with `=` padding.
pub fn push_base64(buf: &mut Vec<u8>, bytes: &[u8], alphabet: &[u8; 64]) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        buf.push(alphabet[(n >> 18) as usize & 63]);
        buf.push(alphabet[(n >> 12) as usize & 63]);
        buf.push(if chunk.len() > 1 {
            alphabet[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        buf.push(if chunk.len() > 2 {
            alphabet[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// An IPv4 or IPv6 address in compact form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ip {
    V4([u8; 4]),
    V6([u16; 8]),
}

impl Ip {
    pub fn push(&self, buf: &mut Vec<u8>) {
        match self {
            Ip::V4(o) => {
                for (i, part) in o.iter().enumerate() {
                    if i > 0 {
                        buf.push(b'.');
                    }
                    push_u64(buf, u64::from(*part));
                }
            }
            Ip::V6(g) => push_v6(buf, g),
        }
    }

    pub fn to_text(self) -> String {
        let mut buf = Vec::new();
        self.push(&mut buf);
        String::from_utf8(buf).expect("ASCII")
    }
}

/// RFC 5952 text: lowercase, no leading zeros, the longest run (>= 2) of
/// zero groups as `::`.
fn push_v6(buf: &mut Vec<u8>, g: &[u16; 8]) {
    let (mut best, mut best_len, mut i) = (8, 0, 0);
    while i < 8 {
        if g[i] == 0 {
            let start = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len && i - start >= 2 {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            buf.extend_from_slice(b"::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best + best_len {
            buf.push(b':');
        }
        let v = u64::from(g[i]);
        let digits = if v == 0 {
            1
        } else {
            (64 - v.leading_zeros()).div_ceil(4)
        };
        push_hex(buf, v, digits);
        i += 1;
    }
}

/// URL-encodes as CloudFront does for its standard logs (RFC 1738 unsafe
/// characters, control bytes, space and non-ASCII become `%XX`).
pub fn cf_encode(text: &str) -> String {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() + 16);
    for &b in text.as_bytes() {
        let unsafe_byte = b <= 32 || b >= 127 || b"<>\"#%{}|\\^~[]`'".contains(&b);
        if unsafe_byte {
            out.push('%');
            out.push(UPPER[usize::from(b >> 4)] as char);
            out.push(UPPER[usize::from(b & 15)] as char);
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn timestamps_match_chrono() {
        let us = 1_796_032_800_123_456; // 2026-11-30T10:00:00.123456Z
        assert_eq!(text(|b| push_iso_us(b, us)), "2026-11-30T10:00:00.123456Z");
        assert_eq!(text(|b| push_date(b, 951_782_400, b"-")), "2000-02-29");
        assert_eq!(text(|b| push_secs_ms(b, 45_499)), "0.045");
        assert_eq!(text(|b| push_secs_ms(b, 1_234_500)), "1.235");
        assert_eq!(text(|b| push_secs_ms(b, -1)), "-1");
    }

    #[test]
    fn ipv6_is_compressed_like_rfc5952() {
        let ip = Ip::V6([0x2600, 0x1700, 0, 0, 0, 0, 0x1a, 0xbc]);
        assert_eq!(ip.to_text(), "2600:1700::1a:bc");
        let ip = Ip::V6([0x2a02, 0xc7c, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6]);
        assert_eq!(ip.to_text(), "2a02:c7c:1:2:3:4:5:6");
    }

    #[test]
    fn cloudfront_encoding_keeps_separators() {
        assert_eq!(cf_encode("a b;(c)/d~"), "a%20b;(c)/d%7E");
    }
}
