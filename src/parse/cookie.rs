//! The `cs(Cookie)` header: name/value pairs, of which stickiness cookies are
//! reduced to presence flags and session cookies to a keyed hash. Cookie
//! values never reach a report unless the user opts in.

use std::hash::Hasher;

/// Presence flags of the ALB stickiness cookies (and the header itself).
pub mod sticky {
    /// The request carried a `Cookie` header at all.
    pub const HEADER: u8 = 1;
    /// `AWSALB` (duration-based stickiness).
    pub const AWSALB: u8 = 1 << 1;
    /// `AWSALBCORS`, the CORS twin of `AWSALB`.
    pub const AWSALBCORS: u8 = 1 << 2;
    /// Any `AWSALBAPP-n` shard with a value other than `_remove_`.
    pub const AWSALBAPP: u8 = 1 << 3;
    /// `AWSALBTG` (target-group stickiness of weighted forwards).
    pub const AWSALBTG: u8 = 1 << 4;
    /// `AWSALBTGCORS`.
    pub const AWSALBTGCORS: u8 = 1 << 5;
    /// Any cookie that pins a target: `AWSALB`, `AWSALBCORS` or `AWSALBAPP`.
    pub const TARGET_COOKIES: u8 = AWSALB | AWSALBCORS | AWSALBAPP;
}

/// What one `Cookie` header tells us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieFacts<'a> {
    pub flags: u8,
    /// The first configured session cookie present: (name, value).
    pub session: Option<(&'a [u8], &'a [u8])>,
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Iterates the `name=value` pairs of a decoded `Cookie` header. A pair with
/// no `=` yields an empty value; empty pairs are skipped.
pub fn pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b';', header).chain(std::iter::once(header.len()));
    let pieces = ends.map(move |end| {
        let piece = &header[start..end];
        start = end + 1;
        piece
    });
    pieces.filter_map(|pair| {
        let pair = trim(pair);
        if pair.is_empty() {
            return None;
        }
        Some(match memchr::memchr(b'=', pair) {
            Some(eq) => (trim(&pair[..eq]), trim(&pair[eq + 1..])),
            None => (pair, &b""[..]),
        })
    })
}

/// Reads the stickiness flags and the session cookie from a decoded header.
/// `session_names` is in order of preference.
pub fn inspect<'a>(header: &'a [u8], session_names: &[String]) -> CookieFacts<'a> {
    let mut facts = CookieFacts {
        flags: sticky::HEADER,
        session: None,
    };
    let mut best = usize::MAX;
    for (name, value) in pairs(header) {
        if let Some(rest) = name.strip_prefix(b"AWSALB") {
            facts.flags |= match rest {
                b"" => sticky::AWSALB,
                b"CORS" => sticky::AWSALBCORS,
                b"TG" => sticky::AWSALBTG,
                b"TGCORS" => sticky::AWSALBTGCORS,
                b"APP" | b"APP-0" | b"APP-1" | b"APP-2" | b"APP-3"
                    if value != b"_remove_" && !value.is_empty() =>
                {
                    sticky::AWSALBAPP
                }
                _ => 0,
            };
            continue;
        }
        if value.is_empty() {
            continue;
        }
        if let Some(rank) = session_names.iter().position(|n| n.as_bytes() == name) {
            if rank < best {
                best = rank;
                facts.session = Some((name, value));
            }
        }
    }
    facts
}

/// Keyed SipHash of a cookie value: stable for one key (per machine by default), reveals nothing.
pub fn keyed_hash(key: [u64; 2], value: &[u8]) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(key[0], key[1]);
    h.write(value);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        crate::parse::DEFAULT_SESSION_COOKIES
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn stickiness_cookies_become_flags() {
        let f = inspect(b"AWSALB=abc; AWSALBCORS=abc; JSESSIONID=s1", &names());
        assert_eq!(
            f.flags,
            sticky::HEADER | sticky::AWSALB | sticky::AWSALBCORS
        );
        assert_eq!(f.session, Some((&b"JSESSIONID"[..], &b"s1"[..])));
    }

    #[test]
    fn removed_app_cookie_shards_do_not_count() {
        let f = inspect(b"AWSALBAPP-0=_remove_;AWSALBAPP-1=_remove_", &names());
        assert_eq!(f.flags, sticky::HEADER);
        let f = inspect(b"AWSALBAPP-0=x1;AWSALBAPP-1=_remove_; AWSALBTG=t", &names());
        assert_eq!(
            f.flags,
            sticky::HEADER | sticky::AWSALBAPP | sticky::AWSALBTG
        );
    }

    #[test]
    fn session_cookie_prefers_configured_order_and_skips_empty() {
        let f = inspect(b"sid=; PHPSESSID=p; JSESSIONID=j", &names());
        assert_eq!(f.session, Some((&b"JSESSIONID"[..], &b"j"[..])));
        assert_eq!(inspect(b"broken", &names()).session, None);
    }

    #[test]
    fn hash_depends_on_key_and_value() {
        assert_eq!(keyed_hash([1, 2], b"v"), keyed_hash([1, 2], b"v"));
        assert_ne!(keyed_hash([1, 2], b"v"), keyed_hash([1, 3], b"v"));
        assert_ne!(keyed_hash([1, 2], b"v"), keyed_hash([1, 2], b"w"));
    }
}
