//! ALB access-log lines: space-separated fields, some in double quotes.
//! New fields appended by AWS are tolerated and counted, never an error;
//! `target:port_list` and `target_status_code_list` are accepted quoted and
//! unquoted, as both occur in real logs.

use super::text::{
    dash_is_none, parse_i64, parse_iso_micros, parse_seconds_micros, parse_u64, split_host_port,
};
use super::{LineStats, Reject, for_each_line};
use crate::table::alb::AlbTable;

/// Fields of the current format (through `request_transform_status`).
pub const KNOWN_FIELDS: usize = 33;
/// Lines shorter than this cannot be ALB entries (type … user_agent).
const MIN_FIELDS: usize = 14;
const MAX_TOKENS: usize = 48;

/// Fields of one line; only the first [`MAX_TOKENS`] are kept.
pub type Tokens<'a> = [&'a [u8]; MAX_TOKENS];

/// Request types an ALB writes in the first field.
pub const REQUEST_TYPES: &[&[u8]] = &[b"http", b"https", b"h2", b"grpcs", b"grpc", b"ws", b"wss"];

/// Splits a line into its fields. Quoted fields lose their quotes; a quote
/// closes only when followed by a space or the end of the line.
pub fn tokenize<'a>(line: &'a [u8], out: &mut Tokens<'a>) -> Result<usize, Reject> {
    let mut total = 0;
    let mut i = 0;
    let n = line.len();
    while i < n {
        let token;
        if line[i] == b'"' {
            let mut search = i + 1;
            loop {
                let Some(q) = memchr::memchr(b'"', &line[search..]) else {
                    return Err(Reject::UnterminatedQuote);
                };
                let q = search + q;
                if q + 1 == n || line[q + 1] == b' ' {
                    token = &line[i + 1..q];
                    i = q + 2;
                    break;
                }
                search = q + 1;
            }
        } else {
            let end = memchr::memchr(b' ', &line[i..]).map_or(n, |s| i + s);
            token = &line[i..end];
            i = end + 1;
        }
        if total < MAX_TOKENS {
            out[total] = token;
        }
        total += 1;
    }
    Ok(total)
}

/// Is this line shaped like an ALB entry? Used to detect a file's family.
pub fn looks_like_alb(line: &[u8]) -> bool {
    let first = line.split(|&b| b == b' ').next().unwrap_or_default();
    let mut tokens: Tokens<'_> = [&[]; MAX_TOKENS];
    REQUEST_TYPES.contains(&first)
        && matches!(tokenize(line, &mut tokens), Ok(n) if n >= MIN_FIELDS)
        && parse_iso_micros(tokens[1]).is_some()
}

/// The parts of the `request` field.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: Option<&'a [u8]>,
    pub scheme: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
    pub port: Option<u32>,
    pub path: Option<&'a [u8]>,
    pub query: Option<&'a [u8]>,
    pub version: Option<&'a [u8]>,
    /// False for requests such as `- - - ` that do not split cleanly.
    pub clean: bool,
}

/// Splits `METHOD scheme://host:port/path?query HTTP/x`. The URL may hold
/// spaces (it is logged as received), so the version is the last token.
pub fn split_request(req: &[u8]) -> RequestLine<'_> {
    let mut out = RequestLine::default();
    let Some(sp) = memchr::memchr(b' ', req) else {
        out.method = dash_is_none(req);
        return out;
    };
    out.method = dash_is_none(&req[..sp]);
    let rest = &req[sp + 1..];
    let (url, version) = match memchr::memrchr(b' ', rest) {
        Some(last) => (&rest[..last], &rest[last + 1..]),
        None => (rest, &b""[..]),
    };
    out.version = dash_is_none(version);
    let version_ok = version.starts_with(b"HTTP/");
    if let Some(sep) = memchr::memmem::find(url, b"://") {
        out.scheme = Some(&url[..sep]);
        let after = &url[sep + 3..];
        let path_at = target_start(after);
        let (host, port) = split_host_port(&after[..path_at]);
        out.host = dash_is_none(host);
        out.port = port;
        let target = &after[path_at..];
        match memchr::memchr(b'?', target) {
            Some(q) => {
                out.path = Some(&target[..q]);
                out.query = Some(&target[q + 1..]);
            }
            None => out.path = dash_is_none(target),
        }
    } else {
        out.path = dash_is_none(url);
    }
    out.clean = out.method.is_some() && out.scheme.is_some() && version_ok && port_ok(url);
    out
}

/// Where the request target starts after `scheme://`. A request the ALB
/// could not parse is logged with `-` as its target straight after the port
/// (`http://10.0.0.30:80-`), so a `-` after the port digits starts it too.
fn target_start(after: &[u8]) -> usize {
    let end = memchr::memchr2(b'/', b'?', after).unwrap_or(after.len());
    let Some(colon) = memchr::memrchr(b':', &after[..end]) else {
        return end;
    };
    let digits = after[colon + 1..end]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    match after.get(colon + 1 + digits) {
        Some(b'-') if digits > 0 && colon + 1 + digits < end => colon + 1 + digits,
        _ => end,
    }
}

fn port_ok(url: &[u8]) -> bool {
    !url.contains(&b' ')
}

/// The root, self and custom parts of a trace id.
pub type TraceParts<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>);

/// Splits `Root=…;Self=…;Custom=…` into root, self and the custom rest.
pub fn split_trace(trace: &[u8]) -> TraceParts<'_> {
    let (mut root, mut self_id) = (None, None);
    let mut custom_start: Option<usize> = None;
    let mut custom_end = 0;
    let mut offset = 0;
    for part in trace.split(|&b| b == b';') {
        let start = offset;
        offset += part.len() + 1;
        if let Some(v) = part.strip_prefix(b"Root=") {
            root = Some(v);
        } else if let Some(v) = part.strip_prefix(b"Self=") {
            self_id = Some(v);
        } else if !part.is_empty() {
            custom_start.get_or_insert(start);
            custom_end = start + part.len();
        }
    }
    let custom = custom_start.map(|s| &trace[s..custom_end]);
    (root, self_id, custom)
}

/// Looks up `name` among the custom fields of a trace id.
pub fn trace_field<'a>(custom: &'a str, name: &str) -> Option<&'a str> {
    custom.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn micros_or_null(v: &[u8], field: &'static str) -> Result<Option<u32>, Reject> {
    if v == b"-1" || v == b"-" {
        return Ok(None);
    }
    let us = parse_seconds_micros(v).ok_or(Reject::BadValue(field))?;
    Ok(u32::try_from(us).ok())
}

fn status(v: &[u8], field: &'static str) -> Result<Option<u16>, Reject> {
    match dash_is_none(v) {
        None => Ok(None),
        Some(v) => parse_u64(v)
            .filter(|&s| s < 1000)
            .map(|s| Some(s as u16))
            .ok_or(Reject::BadValue(field)),
    }
}

fn bytes(v: &[u8], field: &'static str) -> Result<Option<u64>, Reject> {
    match v {
        b"-" | b"-1" => Ok(None),
        v => parse_u64(v).map(Some).ok_or(Reject::BadValue(field)),
    }
}

/// Parses one chunk of an ALB log.
pub fn parse_chunk(
    data: &[u8],
    first_line: u64,
    source: u32,
    ends_truncated: bool,
    window: &crate::source::window::Window,
) -> (AlbTable, LineStats) {
    let mut table = AlbTable::default();
    let mut stats = LineStats::default();
    let (data, tail, tail_no) = super::cloudfront::trim_truncated(data, ends_truncated);
    for_each_line(data, first_line, &mut stats, |no, line, stats| {
        if line[0] == b'#' {
            stats.headers += 1;
            return;
        }
        match parse_line(line, no, source, &mut table, window) {
            Ok((micros, total)) => {
                stats.parsed += 1;
                stats.saw_time(micros);
                if total > KNOWN_FIELDS {
                    stats.extra_fields += 1;
                } else if total < KNOWN_FIELDS {
                    stats.short_lines += 1;
                }
                if std::str::from_utf8(line).is_err() {
                    stats.lossy_utf8 += 1;
                }
            }
            Err(reason) => stats.reject(reason, no, line),
        }
    });
    if let Some(tail) = tail {
        stats.lines_read += 1;
        stats.reject(Reject::TruncatedLine, first_line + tail_no, tail);
    }
    (table, stats)
}

fn parse_line(
    line: &[u8],
    no: u64,
    source: u32,
    table: &mut AlbTable,
    window: &crate::source::window::Window,
) -> Result<(i64, usize), Reject> {
    let mut t: Tokens<'_> = [&[]; MAX_TOKENS];
    let total = tokenize(line, &mut t)?;
    if !REQUEST_TYPES.contains(&t[0]) {
        return Err(Reject::NotAnAlbLine);
    }
    if total < MIN_FIELDS {
        return Err(Reject::TooFewFields);
    }
    let field = |i: usize| if i < total { dash_is_none(t[i]) } else { None };
    let time = parse_iso_micros(t[1]).ok_or(Reject::BadValue("time"))?;
    if !window.contains(time) {
        return Err(Reject::OutsideWindow);
    }
    let (client_ip, client_port) = split_host_port(t[3]);
    let (target_ip, target_port) = split_host_port(t[4]);
    let rpt = micros_or_null(t[5], "request_processing_time")?;
    let tpt = micros_or_null(t[6], "target_processing_time")?;
    let spt = micros_or_null(t[7], "response_processing_time")?;
    let elb_status = status(t[8], "elb_status_code")?;
    let target_status = status(t[9], "target_status_code")?;
    let received = bytes(t[10], "received_bytes")?;
    let sent = bytes(t[11], "sent_bytes")?;
    let rule = match field(20) {
        None => None,
        Some(v) => Some(
            parse_i64(v)
                .and_then(|p| i32::try_from(p).ok())
                .ok_or(Reject::BadValue("matched_rule_priority"))?,
        ),
    };
    let created = match field(21) {
        None => None,
        Some(v) => Some(parse_iso_micros(v).ok_or(Reject::BadValue("request_creation_time"))?),
    };

    table.source.push(source);
    table.line.push(no as u32);
    table.time_us.push(time);
    table.kind.push(Some(t[0]));
    table.elb.push(field(2));
    table.client_ip.push(dash_is_none(client_ip));
    table.client_port.push(client_port);
    table.target_ip.push(dash_is_none(target_ip));
    table.target_port.push(target_port);
    table.request_processing_us.push(rpt);
    table.target_processing_us.push(tpt);
    table.response_processing_us.push(spt);
    table.elb_status.push(elb_status);
    table.target_status.push(target_status);
    table.received_bytes.push(received);
    table.sent_bytes.push(sent);

    let req = split_request(t[12]);
    table.method.push(req.method);
    table.scheme.push(req.scheme);
    table.host.push(req.host);
    table.port.push(req.port);
    table.path.push(req.path);
    table.query.push(req.query);
    table.http_version.push(req.version);
    table.request_raw.push((!req.clean).then_some(t[12]));

    table.user_agent.push(field(13));
    table.ssl_cipher.push(field(14));
    table.ssl_protocol.push(field(15));
    table.target_group.push(field(16));
    let (root, self_id, custom) = field(17).map_or((None, None, None), split_trace);
    table.trace_root.push(root);
    table.trace_self.push(self_id);
    table.trace_custom.push(custom);
    table.domain_name.push(field(18));
    table.chosen_cert_arn.push(field(19));
    table.matched_rule_priority.push(rule);
    table.request_creation_us.push(created);
    table.actions_executed.push(field(22));
    table.redirect_url.push(field(23));
    table.error_reason.push(field(24));
    table.target_port_list.push(field(25));
    table.target_status_list.push(field(26));
    table.classification.push(field(27));
    table.classification_reason.push(field(28));
    table.conn_trace_id.push(field(29));
    table.transformed_host.push(field(30));
    table.transformed_uri.push(field(31));
    table.transform_status.push(field(32));
    Ok((time, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_HTTP: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" 10.0.0.1:80 200 "-" "-""#;

    fn parse(text: &str) -> (AlbTable, LineStats) {
        parse_chunk(text.as_bytes(), 1, 0, false, &Default::default())
    }

    #[test]
    fn aws_example_with_unquoted_target_lists() {
        let (t, s) = parse(DOC_HTTP);
        assert_eq!(s.parsed, 1);
        assert_eq!(t.target(0).as_deref(), Some("10.0.0.1:80"));
        assert_eq!(t.method.get(0), Some("GET"));
        assert_eq!(t.host.get(0), Some("www.example.com"));
        assert_eq!(t.port.get(0), Some(80));
        assert_eq!(t.path.get(0), Some("/"));
        assert_eq!(
            t.trace_root.get(0),
            Some("1-58337262-36d228ad5d99923122bbe354")
        );
        assert_eq!(t.target_processing_us.get(0), Some(1000));
        assert_eq!(t.target_port_list.get(0), Some("10.0.0.1:80"));
        assert_eq!(
            t.request_creation_us.get(0),
            Some(t.time_us[0] - 11_822_641)
        );
    }

    #[test]
    fn appended_fields_are_counted_not_rejected() {
        let line = DOC_HTTP.replace("10.0.0.1:80 200 \"-\" \"-\"", "\"10.0.0.1:80\" \"200\" \"-\" \"-\" TID_1234abcd \"m.example.com\" \"-\" \"TransformSuccess\" 10.1.2.3 \"-\"");
        let (t, s) = parse(&line);
        assert_eq!((s.parsed, s.extra_fields), (1, 1));
        assert_eq!(t.conn_trace_id.get(0), Some("TID_1234abcd"));
        assert_eq!(t.transformed_host.get(0), Some("m.example.com"));
        assert_eq!(t.transform_status.get(0), Some("TransformSuccess"));
    }

    #[test]
    fn malformed_request_is_kept_raw() {
        let line = DOC_HTTP.replace("GET http://www.example.com:80/ HTTP/1.1", "- - - ");
        let (t, s) = parse(&line);
        assert_eq!(s.parsed, 1);
        assert_eq!(t.method.get(0), None);
        assert_eq!(t.request_raw.get(0), Some("- - - "));
    }

    #[test]
    fn trace_custom_fields_are_kept() {
        let (root, self_id, custom) =
            split_trace(b"Self=1-67891234-abc;Root=1-67891233-def;CfId=abc==;X=1");
        assert_eq!(root, Some(&b"1-67891233-def"[..]));
        assert_eq!(self_id, Some(&b"1-67891234-abc"[..]));
        assert_eq!(custom, Some(&b"CfId=abc==;X=1"[..]));
        assert_eq!(trace_field("CfId=abc==;X=1", "CfId"), Some("abc=="));
    }

    #[test]
    fn request_with_space_in_url_and_no_version() {
        let r = split_request(b"GET http://a.example:80/x?wget+ a.tigoinari.tk HTTP/1.1");
        assert_eq!(r.query, Some(&b"wget+ a.tigoinari.tk"[..]));
        assert_eq!(r.version, Some(&b"HTTP/1.1"[..]));
        let r = split_request(b"- http://10.0.0.30:80- -");
        assert_eq!(r.host, Some(&b"10.0.0.30"[..]));
        assert_eq!(
            (r.port, r.path, r.method, r.clean),
            (Some(80), None, None, false)
        );
        let r = split_request(b"GET https://h:443/no-server-name-openssl -");
        assert_eq!(r.version, None);
        assert_eq!(r.path, Some(&b"/no-server-name-openssl"[..]));
    }

    #[test]
    fn non_alb_lines_are_rejected_with_a_reason() {
        let (_, s) = parse(
            "tls 2.0 2018-12-20T02:59:40 net/x/y\n2018-12-20T02:59:40.000Z foo\n\"unterminated\n",
        );
        assert_eq!(s.rejected.get(&Reject::NotAnAlbLine), Some(&2));
        assert_eq!(s.rejected.get(&Reject::UnterminatedQuote), Some(&1));
        assert!(s.balances());
    }
}
