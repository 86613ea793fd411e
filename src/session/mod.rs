//! Sessions: one viewer's requests in time order, split after an idle gap.
//!
//! A viewer is its application session cookie when it sends one, else its
//! IP address and user agent. Stickiness cookies are never a key: the ALB
//! rotates their values on every response. Session ids are keyed hashes, so
//! they are stable for one key (per machine by default) and reveal no
//! cookie value.

pub mod behavior;

use crate::join::Join;
use crate::parse::cookie::keyed_hash;
use crate::table::cloudfront::CfTable;
use rayon::prelude::*;

/// What identifies a session's viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An application session cookie (its keyed hash).
    Cookie,
    /// Viewer IP and user agent (no session cookie).
    Viewer,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Cookie => "session_cookie",
            KeyKind::Viewer => "ip_user_agent",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    /// Stable within a run; reveals nothing about the cookie.
    pub id: String,
    pub kind: KeyKind,
    /// Range of [`Sessions::order`] holding this session's rows.
    pub start: usize,
    pub len: usize,
}

/// Settings of session building.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A gap longer than this starts a new session, µs.
    pub idle_gap_us: i64,
    pub hash_key: [u64; 2],
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_gap_us: 30 * 60 * 1_000_000,
            hash_key: [7, 11],
        }
    }
}

#[derive(Debug, Default)]
pub struct Sessions {
    pub list: Vec<Session>,
    /// CloudFront rows, grouped by session and in time order within each.
    pub order: Vec<u32>,
    /// Session index of each CloudFront row.
    pub of_row: Vec<u32>,
    /// Best estimate of when each CloudFront request arrived, µs.
    pub arrival_us: Vec<i64>,
}

impl Sessions {
    pub fn rows(&self, session: usize) -> &[u32] {
        let s = &self.list[session];
        &self.order[s.start..s.start + s.len]
    }
}

/// When the request reached CloudFront: the ALB's precise receive time when
/// joined, else the edge's end time minus `time-taken` (mid-second when the
/// log has one-second resolution).
fn arrival(cf: &CfTable, join: &Join, alb: &crate::table::alb::AlbTable, row: usize) -> i64 {
    if let Some(a) = join.alb_of(row) {
        if let Some(t) = alb.request_creation_us.get(a) {
            return t;
        }
    }
    let end = cf.time_ms[row] * 1000 + if cf.time_is_ms[row] { 0 } else { 500_000 };
    end - cf.time_taken_us.get(row).map_or(0, i64::from)
}

/// Groups CloudFront rows into sessions.
pub fn build(
    cf: &CfTable,
    alb: &crate::table::alb::AlbTable,
    join: &Join,
    config: &SessionConfig,
) -> Sessions {
    let n = cf.len();
    let arrival_us: Vec<i64> = (0..n)
        .into_par_iter()
        .map(|r| arrival(cf, join, alb, r))
        .collect();
    let mut viewer_keys: rustc_hash::FxHashMap<(u32, u32), u64> = Default::default();
    let mut keyed: Vec<(u64, bool, i64, u32)> = Vec::with_capacity(n);
    for (row, &arrived) in arrival_us.iter().enumerate() {
        let (is_cookie, key) = match cf.session_hash.get(row) {
            Some(h) => (true, h),
            None => {
                let pair = (cf.client_ip.ids[row], cf.user_agent.ids[row]);
                let key = *viewer_keys.entry(pair).or_insert_with(|| {
                    let mut text = cf
                        .client_ip
                        .get(row)
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec();
                    text.push(0);
                    text.extend_from_slice(cf.user_agent.get(row).unwrap_or_default().as_bytes());
                    keyed_hash(config.hash_key, &text)
                });
                (false, key)
            }
        };
        keyed.push((key, is_cookie, arrived, row as u32));
    }
    keyed.par_sort_unstable_by_key(|&(key, cookie, t, row)| (cookie, key, t, row));

    let mut out = Sessions {
        of_row: vec![0; n],
        order: Vec::with_capacity(n),
        arrival_us,
        ..Sessions::default()
    };
    let mut i = 0;
    while i < keyed.len() {
        let (key, cookie, _, _) = keyed[i];
        let mut j = i;
        while j < keyed.len() && keyed[j].0 == key && keyed[j].1 == cookie {
            j += 1;
        }
        let mut start = i;
        for k in i..j {
            let split = k + 1 == j || keyed[k + 1].2 - keyed[k].2 > config.idle_gap_us;
            if split {
                let index = out.list.len() as u32;
                let first = keyed[start].2;
                let mut seed = key.to_le_bytes().to_vec();
                seed.extend_from_slice(&first.to_le_bytes());
                seed.push(cookie as u8);
                out.list.push(Session {
                    id: format!("s{:016x}", keyed_hash(config.hash_key, &seed)),
                    kind: if cookie {
                        KeyKind::Cookie
                    } else {
                        KeyKind::Viewer
                    },
                    start: out.order.len(),
                    len: k + 1 - start,
                });
                for &(_, _, _, row) in &keyed[start..=k] {
                    out.of_row[row as usize] = index;
                    out.order.push(row);
                }
                start = k + 1;
            }
        }
        i = j;
    }
    out
}
