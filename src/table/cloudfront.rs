//! The `cloudfront` table: one row per CloudFront request, typed, with
//! repeated strings stored once. Rows are appended by the parsers through
//! [`CfTable::push`], which takes the raw cells of one line in any of the
//! three delivery formats (W3C text, v2 JSON, v2 Parquet).

use super::column::{ArenaColumn, NumColumn, StrColumn};
use crate::parse::cookie;
use crate::parse::text::{
    dash_is_none, parse_clock, parse_date, parse_i64, parse_seconds_micros, parse_u64,
    percent_decode,
};
use crate::parse::{ParseOptions, Reject};

macro_rules! cf_fields {
    ($($variant:ident => $w3c:literal),* $(,)?) => {
        /// A CloudFront log field, by its W3C name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CfField { $($variant),* }

        impl CfField {
            pub const ALL: &'static [CfField] = &[$(CfField::$variant),*];

            /// The W3C name as written in `#Fields:` lines.
            pub fn w3c_name(self) -> &'static str {
                match self { $(CfField::$variant => $w3c),* }
            }
        }
    };
}

cf_fields! {
    Date => "date",
    Time => "time",
    EdgeLocation => "x-edge-location",
    ScBytes => "sc-bytes",
    ClientIp => "c-ip",
    Method => "cs-method",
    CsHost => "cs(Host)",
    UriStem => "cs-uri-stem",
    Status => "sc-status",
    Referer => "cs(Referer)",
    UserAgent => "cs(User-Agent)",
    UriQuery => "cs-uri-query",
    Cookie => "cs(Cookie)",
    ResultType => "x-edge-result-type",
    RequestId => "x-edge-request-id",
    HostHeader => "x-host-header",
    Protocol => "cs-protocol",
    CsBytes => "cs-bytes",
    TimeTaken => "time-taken",
    ForwardedFor => "x-forwarded-for",
    SslProtocol => "ssl-protocol",
    SslCipher => "ssl-cipher",
    ResponseResultType => "x-edge-response-result-type",
    ProtocolVersion => "cs-protocol-version",
    FleStatus => "fle-status",
    FleEncryptedFields => "fle-encrypted-fields",
    ClientPort => "c-port",
    TimeToFirstByte => "time-to-first-byte",
    DetailedResultType => "x-edge-detailed-result-type",
    ContentType => "sc-content-type",
    ContentLen => "sc-content-len",
    RangeStart => "sc-range-start",
    RangeEnd => "sc-range-end",
    DistributionTenantId => "distribution-tenant-id",
    ConnectionId => "connection-id",
    TimestampMs => "timestamp(ms)",
    OriginFbl => "origin-fbl",
    OriginLbl => "origin-lbl",
    Asn => "asn",
    ClientCountry => "c-country",
    BehaviorPathPattern => "cache-behavior-path-pattern",
}

/// Number of known fields; cells are passed as an array of this size.
pub const CF_FIELD_COUNT: usize = CfField::ALL.len();

/// Field name as a lookup key: lower case, with `-`, `(` and `)` turned into
/// `_` and trailing `_` dropped, so `cs(User-Agent)` (W3C and v2 JSON),
/// `cs_user_agent` (v2 Parquet) and Athena's `cs(user-agent)` all agree.
fn name_key(name: &str) -> String {
    let mut key: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | '(' | ')' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    while key.ends_with('_') {
        key.pop();
    }
    key
}

impl CfField {
    /// Resolves a field name from any of the delivery formats.
    pub fn from_name(name: &str) -> Option<CfField> {
        let key = name_key(name);
        let alias = match key.as_str() {
            "cs_referrer" => "cs_referer",
            "timestamp" => "timestamp_ms",
            other => other,
        };
        CfField::ALL
            .iter()
            .copied()
            .find(|f| name_key(f.w3c_name()) == alias)
    }
}

/// Calls `$m!` with the list of every column that has `append`,
/// `shrink_to_fit` and `heap_bytes` (the ones outside it are plain vectors).
macro_rules! cf_columns {
    ($m:ident) => {
        $m!(
            edge,
            sc_bytes,
            client_ip,
            method,
            cs_host,
            uri_stem,
            status,
            referer,
            user_agent,
            uri_query,
            session_cookie,
            session_hash,
            session_value,
            result_type,
            host_header,
            protocol,
            cs_bytes,
            time_taken_us,
            forwarded_for,
            ssl_protocol,
            ssl_cipher,
            response_result_type,
            protocol_version,
            fle_status,
            fle_encrypted_fields,
            client_port,
            ttfb_us,
            detailed_result_type,
            content_type,
            content_len,
            range_start,
            range_end,
            distribution_tenant_id,
            connection_id,
            origin_fbl_us,
            origin_lbl_us,
            asn,
            client_country,
            behavior_path_pattern
        )
    };
}

/// Raw cells of one record, indexed by `CfField as usize`.
pub type CfCells<'a> = [Option<&'a [u8]>; CF_FIELD_COUNT];

/// The parsed CloudFront records. See the README for the schema.
#[derive(Debug, Default)]
pub struct CfTable {
    /// Index into the run's source list, and 1-based line within it.
    pub source: Vec<u32>,
    pub line: Vec<u32>,
    /// When the edge finished responding, ms since the epoch (UTC).
    pub time_ms: Vec<i64>,
    /// True when `time_ms` came from `timestamp(ms)`, not the 1 s `time`.
    pub time_is_ms: Vec<bool>,
    pub edge: StrColumn,
    pub sc_bytes: NumColumn<u64>,
    pub client_ip: StrColumn,
    pub method: StrColumn,
    pub cs_host: StrColumn,
    /// Decoded once, as the viewer sent it.
    pub uri_stem: StrColumn,
    /// 0 for `000` (viewer closed before the response).
    pub status: NumColumn<u16>,
    pub referer: StrColumn,
    pub user_agent: StrColumn,
    pub uri_query: StrColumn,
    /// Bit set from [`cookie::sticky`].
    pub cookie_flags: Vec<u8>,
    /// Name of the session cookie found, if any.
    pub session_cookie: StrColumn,
    /// Keyed hash of its value.
    pub session_hash: NumColumn<u64>,
    /// The value itself, only with `--reveal-cookies`.
    pub session_value: StrColumn,
    pub result_type: StrColumn,
    pub request_id: ArenaColumn,
    pub host_header: StrColumn,
    pub protocol: StrColumn,
    pub cs_bytes: NumColumn<u64>,
    /// `time-taken`, microseconds.
    pub time_taken_us: NumColumn<u32>,
    pub forwarded_for: StrColumn,
    pub ssl_protocol: StrColumn,
    pub ssl_cipher: StrColumn,
    pub response_result_type: StrColumn,
    pub protocol_version: StrColumn,
    pub fle_status: StrColumn,
    pub fle_encrypted_fields: NumColumn<u32>,
    pub client_port: NumColumn<u32>,
    pub ttfb_us: NumColumn<u32>,
    pub detailed_result_type: StrColumn,
    pub content_type: StrColumn,
    pub content_len: NumColumn<i64>,
    pub range_start: NumColumn<i64>,
    pub range_end: NumColumn<i64>,
    pub distribution_tenant_id: StrColumn,
    pub connection_id: StrColumn,
    pub origin_fbl_us: NumColumn<u32>,
    pub origin_lbl_us: NumColumn<u32>,
    pub asn: StrColumn,
    pub client_country: StrColumn,
    pub behavior_path_pattern: StrColumn,
}

fn cell<'a>(cells: &CfCells<'a>, f: CfField) -> Option<&'a [u8]> {
    cells[f as usize].and_then(dash_is_none)
}

fn num<T>(
    cells: &CfCells<'_>,
    f: CfField,
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Result<Option<T>, Reject> {
    match cell(cells, f) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).ok_or(Reject::BadValue(f.w3c_name())),
    }
}

fn micros_u32(v: &[u8]) -> Option<u32> {
    parse_seconds_micros(v).and_then(|us| u32::try_from(us).ok())
}

impl CfTable {
    pub fn len(&self) -> usize {
        self.time_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_ms.is_empty()
    }

    /// Validates and appends one record. Returns its time in microseconds
    /// and whether any text needed lossy UTF-8 repair. Nothing is appended
    /// when an error is returned.
    pub fn push(
        &mut self,
        cells: &CfCells<'_>,
        source: u32,
        line: u32,
        opts: &ParseOptions,
    ) -> Result<i64, Reject> {
        use CfField as F;
        let (time_ms, is_ms) = match num(cells, F::TimestampMs, parse_u64)? {
            Some(ms) => (ms as i64, true),
            None => {
                let date = cell(cells, F::Date).ok_or(Reject::BadValue("date"))?;
                let clock = cell(cells, F::Time).ok_or(Reject::BadValue("time"))?;
                let days = parse_date(date).ok_or(Reject::BadValue("date"))?;
                let secs = parse_clock(clock).ok_or(Reject::BadValue("time"))?;
                ((days * 86_400 + secs) * 1000, false)
            }
        };
        if !opts.window.contains(time_ms * 1000) {
            return Err(Reject::OutsideWindow);
        }
        let status = match cell(cells, F::Status) {
            None => None,
            Some(v) => Some(
                parse_u64(v)
                    .filter(|&s| s < 1000)
                    .ok_or(Reject::BadValue("sc-status"))? as u16,
            ),
        };
        let sc_bytes = num(cells, F::ScBytes, parse_u64)?;
        let cs_bytes = num(cells, F::CsBytes, parse_u64)?;
        let time_taken = num(cells, F::TimeTaken, micros_u32)?;
        let ttfb = num(cells, F::TimeToFirstByte, micros_u32)?;
        let fle_fields = num(cells, F::FleEncryptedFields, |v| {
            parse_u64(v).and_then(|n| u32::try_from(n).ok())
        })?;
        let port = num(cells, F::ClientPort, |v| {
            parse_u64(v).filter(|&p| p <= 65535).map(|p| p as u32)
        })?;
        let content_len = num(cells, F::ContentLen, parse_i64)?;
        let range_start = num(cells, F::RangeStart, parse_i64)?;
        let range_end = num(cells, F::RangeEnd, parse_i64)?;
        let fbl = num(cells, F::OriginFbl, micros_u32)?;
        let lbl = num(cells, F::OriginLbl, micros_u32)?;

        // Every check has passed: from here on the row is appended whole.
        self.source.push(source);
        self.line.push(line);
        self.time_ms.push(time_ms);
        self.time_is_ms.push(is_ms);
        self.status.push(status);
        self.sc_bytes.push(sc_bytes);
        self.cs_bytes.push(cs_bytes);
        self.time_taken_us.push(time_taken);
        self.ttfb_us.push(ttfb);
        self.fle_encrypted_fields.push(fle_fields);
        self.client_port.push(port);
        self.content_len.push(content_len);
        self.range_start.push(range_start);
        self.range_end.push(range_end);
        self.origin_fbl_us.push(fbl);
        self.origin_lbl_us.push(lbl);

        let plain = |col: &mut StrColumn, f: CfField| col.push(cell(cells, f));
        plain(&mut self.edge, F::EdgeLocation);
        plain(&mut self.client_ip, F::ClientIp);
        plain(&mut self.method, F::Method);
        plain(&mut self.result_type, F::ResultType);
        plain(&mut self.protocol, F::Protocol);
        plain(&mut self.ssl_protocol, F::SslProtocol);
        plain(&mut self.ssl_cipher, F::SslCipher);
        plain(&mut self.response_result_type, F::ResponseResultType);
        plain(&mut self.protocol_version, F::ProtocolVersion);
        plain(&mut self.fle_status, F::FleStatus);
        plain(&mut self.detailed_result_type, F::DetailedResultType);
        plain(&mut self.distribution_tenant_id, F::DistributionTenantId);
        plain(&mut self.connection_id, F::ConnectionId);
        plain(&mut self.asn, F::Asn);
        plain(&mut self.client_country, F::ClientCountry);
        self.request_id.push(cell(cells, F::RequestId));

        let decoded = |col: &mut StrColumn, f: CfField| match cell(cells, f) {
            Some(v) => col.push(Some(&percent_decode(v))),
            None => col.push_null(),
        };
        decoded(&mut self.cs_host, F::CsHost);
        decoded(&mut self.uri_stem, F::UriStem);
        decoded(&mut self.referer, F::Referer);
        decoded(&mut self.user_agent, F::UserAgent);
        decoded(&mut self.uri_query, F::UriQuery);
        decoded(&mut self.host_header, F::HostHeader);
        decoded(&mut self.forwarded_for, F::ForwardedFor);
        decoded(&mut self.content_type, F::ContentType);
        decoded(&mut self.behavior_path_pattern, F::BehaviorPathPattern);

        match cell(cells, F::Cookie) {
            None => {
                self.cookie_flags.push(0);
                self.session_cookie.push_null();
                self.session_hash.push(None);
                self.session_value.push_null();
            }
            Some(raw) => {
                let header = percent_decode(raw);
                let facts = cookie::inspect(&header, &opts.session_cookies);
                self.cookie_flags.push(facts.flags);
                match facts.session {
                    Some((name, value)) => {
                        self.session_cookie.push(Some(name));
                        self.session_hash
                            .push(Some(cookie::keyed_hash(opts.hash_key, value)));
                        self.session_value
                            .push(opts.reveal_cookies.then_some(value));
                    }
                    None => {
                        self.session_cookie.push_null();
                        self.session_hash.push(None);
                        self.session_value.push_null();
                    }
                }
            }
        }
        Ok(time_ms * 1000)
    }

    /// Appends `other`'s rows (a later chunk) to this table.
    pub fn append(&mut self, other: CfTable) {
        if self.is_empty() {
            *self = other;
            return;
        }
        self.source.extend(other.source);
        self.line.extend(other.line);
        self.time_ms.extend(other.time_ms);
        self.time_is_ms.extend(other.time_is_ms);
        self.cookie_flags.extend(other.cookie_flags);
        self.request_id.append(other.request_id);
        macro_rules! append_all {
            ($($c:ident),*) => { $( self.$c.append(other.$c); )* };
        }
        cf_columns!(append_all);
    }

    /// Gives back the spare capacity that growth by doubling left behind
    /// (up to half of every column once all chunks are in).
    pub fn shrink_to_fit(&mut self) {
        self.source.shrink_to_fit();
        self.line.shrink_to_fit();
        self.time_ms.shrink_to_fit();
        self.time_is_ms.shrink_to_fit();
        self.cookie_flags.shrink_to_fit();
        self.request_id.shrink_to_fit();
        macro_rules! shrink_all {
            ($($c:ident),*) => { $( self.$c.shrink_to_fit(); )* };
        }
        cf_columns!(shrink_all);
    }

    /// Heap bytes held, for the memory figures of the benchmark.
    pub fn heap_bytes(&self) -> usize {
        self.heap_by_column().iter().map(|(_, n)| n).sum()
    }

    /// Heap bytes held per column, for the memory figures of the benchmark.
    pub fn heap_by_column(&self) -> Vec<(&'static str, usize)> {
        let mut out = vec![
            ("source", self.source.capacity() * 4),
            ("line", self.line.capacity() * 4),
            ("time_ms", self.time_ms.capacity() * 8),
            ("time_is_ms", self.time_is_ms.capacity()),
            ("cookie_flags", self.cookie_flags.capacity()),
            ("request_id", self.request_id.heap_bytes()),
        ];
        macro_rules! add_all {
            ($($c:ident),*) => { $( out.push((stringify!($c), self.$c.heap_bytes())); )* };
        }
        cf_columns!(add_all);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_resolve_from_every_format() {
        assert_eq!(
            CfField::from_name("cs(User-Agent)"),
            Some(CfField::UserAgent)
        );
        assert_eq!(
            CfField::from_name("cs_user_agent"),
            Some(CfField::UserAgent)
        );
        assert_eq!(CfField::from_name("cs(host)"), Some(CfField::CsHost));
        assert_eq!(CfField::from_name("cs_referrer"), Some(CfField::Referer));
        assert_eq!(
            CfField::from_name("timestamp(ms)"),
            Some(CfField::TimestampMs)
        );
        assert_eq!(
            CfField::from_name("timestamp_ms"),
            Some(CfField::TimestampMs)
        );
        assert_eq!(
            CfField::from_name("x-edge-request-id"),
            Some(CfField::RequestId)
        );
        assert_eq!(CfField::from_name("something-new"), None);
        for f in CfField::ALL {
            assert_eq!(CfField::from_name(f.w3c_name()), Some(*f));
        }
    }
}
