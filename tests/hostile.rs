//! Hostile and broken input through the real reader (`ingest`): torn and
//! odd gzip streams, binary and oversized lines, foreign formats, chunk
//! boundaries, and random mutations of real lines. Every test checks the
//! exact line accounting, not just that nothing panicked.

mod common;

use common::{alb_value, cf_value, corpus_dir, gzip, ingest_one, ingest_paths, scratch_dir};
use std::path::{Path, PathBuf};
use stickyaudit::parse::{Family, LineStats, ParseOptions, Reject};
use stickyaudit::source::ingest::{FileProblem, IngestOptions, Parsed};

const ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";

/// A valid ALB line; `i` varies the client port and path.
fn alb_line(i: usize) -> String {
    format!(
        "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 \
         192.168.131.39:{port} 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \
         \"GET http://www.example.com:80/item/{i} HTTP/1.1\" \"curl/7.46.0\" - - {ARN} \
         \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 \
         2018-07-02T22:22:48.364000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"",
        port = 1024 + i % 60000
    )
}

fn alb_text(n: usize) -> String {
    (0..n).map(|i| alb_line(i) + "\n").collect()
}

const CF_FIELDS: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
    cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
    x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
    ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields \
    c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len \
    sc-range-start sc-range-end";

fn cf_row(i: usize) -> String {
    format!(
        "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.{}\tGET\td111111abcdef8.cloudfront.net\t\
         /index/{i}.html\t200\t-\tcurl/7.55.1\t-\t-\tHit\treq{i}==\td111111abcdef8.cloudfront.net\t\
         https\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t\
         0.001\tHit\ttext/html\t78\t-\t-",
        i % 250
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

fn stats(parsed: &Parsed, i: usize) -> &LineStats {
    let s = &parsed.files[i].stats;
    assert!(s.balances(), "{}: {s:?}", parsed.files[i].name);
    s
}

fn rejected(s: &LineStats, reason: Reject) -> u64 {
    s.rejected.get(&reason).copied().unwrap_or(0)
}

/// What a gzip decoder yields from `bytes` before it fails.
fn decodable_prefix(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut dec = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn truncated_gzip_keeps_every_line_before_the_damage() {
    let dir = scratch_dir("truncated-gzip");
    let full = gzip(alb_text(5000).as_bytes());
    let cut = &full[..full.len() / 2];
    let torn = write(&dir, "a-torn.log.gz", cut);
    let good = write(&dir, "b-good.log.gz", &gzip(alb_text(100).as_bytes()));
    let prefix = decodable_prefix(cut);
    let complete = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(complete > 100 && !prefix.ends_with(b"\n"));

    let parsed = ingest_paths(&[(&torn, None), (&good, None)], &IngestOptions::default());
    let s = stats(&parsed, 0);
    assert_eq!(s.parsed, complete);
    assert_eq!(rejected(s, Reject::TruncatedLine), 1);
    assert_eq!(s.lines_read, complete + 1);
    assert_eq!(s.samples[0].line, complete + 1, "the torn line's number");
    match &parsed.files[0].problem {
        Some(FileProblem::Corrupt {
            raw_offset,
            text_offset,
            ..
        }) => {
            assert_eq!(*text_offset, prefix.len() as u64);
            assert!(*raw_offset > 0 && *raw_offset <= cut.len() as u64);
        }
        other => panic!("expected a corrupt-file report, got {other:?}"),
    }
    let other = stats(&parsed, 1);
    assert_eq!((other.lines_read, other.parsed), (100, 100));
    assert!(parsed.files[1].problem.is_none());
    assert!(parsed.incomplete());
    assert_eq!(parsed.alb.len() as u64, complete + 100);
}

#[test]
fn garbage_after_a_gzip_member_keeps_the_member_and_is_reported() {
    let dir = scratch_dir("gzip-garbage");
    let text = alb_text(50);
    let mut bytes = gzip(text.as_bytes());
    bytes.extend_from_slice(b"this is not gzip\n");
    let path = write(&dir, "x.log.gz", &bytes);
    let parsed = ingest_one(&path, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed), (50, 50));
    match &parsed.files[0].problem {
        Some(FileProblem::Corrupt { text_offset, .. }) => {
            assert_eq!(*text_offset, text.len() as u64)
        }
        other => panic!("trailing garbage must be reported, got {other:?}"),
    }
}

#[test]
fn concatenated_and_empty_gzip_members_are_all_read() {
    let dir = scratch_dir("gzip-members");
    let (a, b) = (alb_text(30), alb_text(20));
    let mut bytes = gzip(a.as_bytes());
    bytes.extend(gzip(b""));
    bytes.extend(gzip(b.as_bytes()));
    let multi = write(&dir, "multi.log.gz", &bytes);
    let parsed = ingest_one(&multi, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed), (50, 50));
    assert!(parsed.files[0].problem.is_none());
    assert_eq!(parsed.alb.line[49], 50);

    let empty = write(&dir, "empty.log.gz", &gzip(b""));
    let parsed = ingest_one(&empty, None);
    assert_eq!(parsed.files[0].problem, Some(FileProblem::Empty));
    assert_eq!(stats(&parsed, 0).lines_read, 0);
    assert!(!parsed.incomplete());
}

#[test]
fn empty_and_header_only_files() {
    let dir = scratch_dir("empty-files");
    let empty = write(&dir, "empty.log", b"");
    let parsed = ingest_one(&empty, None);
    assert_eq!(parsed.files[0].problem, Some(FileProblem::Empty));
    assert_eq!(stats(&parsed, 0).lines_read, 0);
    assert!(!parsed.incomplete());

    let headers = format!("#Version: 1.0\n{CF_FIELDS}\n");
    let only = write(&dir, "headers.log", headers.as_bytes());
    let parsed = ingest_one(&only, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.headers, s.parsed), (2, 2, 0));
    assert_eq!(parsed.files[0].family, Some(Family::CloudFront));
    assert!(parsed.files[0].problem.is_none());
}

#[test]
fn nul_bytes_invalid_utf8_and_crlf_are_counted() {
    let dir = scratch_dir("bytes");
    let mut bytes = Vec::new();
    bytes.extend(alb_line(1).as_bytes());
    bytes.extend(b"\r\n");
    let mut nul = alb_line(2).into_bytes();
    nul[40] = 0;
    bytes.extend(&nul);
    bytes.extend(b"\r\n");
    let mut lossy = alb_line(3).replace("curl/7.46.0", "curl/#x").into_bytes();
    let at = lossy.iter().position(|&b| b == b'#').expect("marker");
    lossy[at] = 0xff;
    bytes.extend(&lossy);
    bytes.extend(b"\r\n");
    let path = write(&dir, "x.log", &bytes);
    let parsed = ingest_one(&path, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed, s.crlf, s.lossy_utf8), (3, 2, 3, 1));
    assert_eq!(rejected(s, Reject::NulByte), 1);
    assert_eq!(s.samples[0].line, 2);
    let t = &parsed.alb;
    assert_eq!(t.line, [1, 3]);
    assert!(t.user_agent.get(1).unwrap().contains('\u{fffd}'));
    assert_eq!(t.user_agent.get(0), Some("curl/7.46.0"), "no `\\r` kept");
}

#[test]
fn over_long_lines_are_rejected_and_numbering_continues() {
    let dir = scratch_dir("long-lines");
    let long = alb_line(2).replace("curl/7.46.0", &"A".repeat(600));
    let text = format!(
        "{}\n{long}\n{}\n{}\n",
        alb_line(1),
        alb_line(3),
        alb_line(4)
    );
    let path = write(&dir, "x.log", text.as_bytes());
    let opts = IngestOptions {
        parse: ParseOptions {
            max_line_bytes: 500,
            ..ParseOptions::default()
        },
        ..IngestOptions::default()
    };
    let parsed = ingest_paths(&[(&path, None)], &opts);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed), (4, 3));
    assert_eq!(rejected(s, Reject::LineTooLong), 1);
    assert_eq!(s.samples[0].line, 2);
    assert_eq!(parsed.alb.line, [1, 3, 4]);
}

#[test]
fn ten_megabyte_line_without_newline_at_eof() {
    let dir = scratch_dir("huge-line");
    let mut text = alb_text(3).into_bytes();
    text.extend(std::iter::repeat_n(b'x', 10 << 20));
    let path = write(&dir, "x.log", &text);
    let parsed = ingest_one(&path, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed), (4, 3));
    assert_eq!(rejected(s, Reject::LineTooLong), 1);
    assert_eq!(s.samples[0].line, 4);
    assert!(s.samples[0].excerpt.len() <= 160);
}

#[test]
fn foreign_files_are_unrecognised_unless_forced() {
    let dir = scratch_dir("foreign");
    let path = write(&dir, "notes.txt", b"hello world\nsecond line\n");
    let parsed = ingest_one(&path, None);
    assert_eq!(parsed.files[0].problem, Some(FileProblem::Unrecognised));
    assert_eq!(parsed.files[0].family, None);
    assert_eq!(stats(&parsed, 0).lines_read, 0);
    assert!(parsed.incomplete());

    let parsed = ingest_one(&path, Some(Family::Alb));
    let s = stats(&parsed, 0);
    assert_eq!(parsed.files[0].family, Some(Family::Alb));
    assert_eq!((s.lines_read, s.parsed), (2, 0));
    assert_eq!(rejected(s, Reject::NotAnAlbLine), 2);

    // A mixed file: 10 ALB, 4 Classic ELB and 2 NLB lines.
    let mixed = corpus_dir().join("plaso-alb/aws_elb_access.log");
    let parsed = ingest_one(&mixed, None);
    let s = stats(&parsed, 0);
    assert_eq!((s.lines_read, s.parsed), (16, 10));
    assert_eq!(rejected(s, Reject::NotAnAlbLine), 6);
}

/// Every value of every row, so two runs can be compared whole.
fn fingerprint(parsed: &Parsed) -> Vec<String> {
    const ALB: &[&str] = &[
        "type",
        "time",
        "elb",
        "client",
        "target",
        "request_processing_time",
        "target_processing_time",
        "response_processing_time",
        "elb_status_code",
        "target_status_code",
        "received_bytes",
        "sent_bytes",
        "request",
        "user_agent",
        "ssl_cipher",
        "ssl_protocol",
        "target_group_arn",
        "trace_id",
        "domain_name",
        "chosen_cert_arn",
        "matched_rule_priority",
        "request_creation_time",
        "actions_executed",
        "redirect_url",
        "error_reason",
        "target_port_list",
        "target_status_code_list",
        "classification",
        "classification_reason",
        "conn_trace_id",
    ];
    const CF: &[&str] = &[
        "time_ms",
        "x_edge_location",
        "sc_bytes",
        "c_ip",
        "cs_method",
        "cs_host",
        "cs_uri_stem",
        "sc_status",
        "cs_referer",
        "cs_user_agent",
        "cs_uri_query",
        "cookie_header",
        "session_cookie",
        "x_edge_result_type",
        "x_edge_request_id",
        "x_host_header",
        "cs_protocol",
        "cs_bytes",
        "time_taken",
        "x_forwarded_for",
        "ssl_protocol",
        "ssl_cipher",
        "x_edge_response_result_type",
        "cs_protocol_version",
        "c_port",
        "time_to_first_byte",
        "x_edge_detailed_result_type",
        "sc_content_type",
        "sc_content_len",
    ];
    let mut out = Vec::new();
    let a = &parsed.alb;
    for row in 0..a.len() {
        let values: Vec<String> = ALB
            .iter()
            .map(|f| alb_value(a, row, f).unwrap_or_default())
            .collect();
        out.push(format!(
            "alb {} {} {}",
            a.source[row],
            a.line[row],
            values.join("|")
        ));
    }
    let c = &parsed.cloudfront;
    for row in 0..c.len() {
        let values: Vec<String> = CF
            .iter()
            .map(|f| cf_value(c, row, f).unwrap_or_default())
            .collect();
        out.push(format!(
            "cf {} {} {}",
            c.source[row],
            c.line[row],
            values.join("|")
        ));
    }
    for f in &parsed.files {
        let s = &f.stats;
        out.push(format!(
            "file {} {} {} {} {} {:?} {}",
            f.name, s.lines_read, s.parsed, s.headers, s.blank, s.rejected, s.short_lines
        ));
    }
    out
}

fn tiny_chunks() -> IngestOptions {
    IngestOptions {
        chunk_bytes: 4096,
        ..IngestOptions::default()
    }
}

#[test]
fn tiny_chunks_give_the_same_tables_as_the_default() {
    let dir = scratch_dir("chunks");
    let mut scenario = stickyaudit::r#gen::Scenario::sound();
    scenario.scale_lines(20_000);
    scenario.gzip = false;
    scenario.layout = stickyaudit::r#gen::Layout::Single;
    let summary = stickyaudit::r#gen::generate(&scenario, &dir).expect("generate");
    let files: Vec<(&Path, Option<Family>)> = summary
        .cf_files
        .iter()
        .chain(&summary.alb_files)
        .map(|p| (p.as_path(), None))
        .collect();
    let default = ingest_paths(&files, &IngestOptions::default());
    let tiny = ingest_paths(&files, &tiny_chunks());
    assert_eq!(default.cloudfront.len() as u64, summary.cf_lines);
    assert_eq!(default.alb.len() as u64, summary.alb_lines);
    for i in 0..default.files.len() {
        stats(&default, i);
        stats(&tiny, i);
    }
    let (a, b) = (fingerprint(&default), fingerprint(&tiny));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[test]
fn a_fields_header_change_applies_from_its_line_on_across_chunks() {
    let dir = scratch_dir("fields-change");
    let mut text = format!("#Version: 1.0\n{CF_FIELDS}\n");
    for i in 0..300 {
        text.push_str(&cf_row(i));
        text.push('\n');
    }
    // A new layout: fewer fields, in another order, with millisecond times.
    text.push_str("#Fields: timestamp(ms) c-ip x-edge-location cs-uri-stem sc-status\n");
    for i in 0..300u64 {
        let ms = 1_575_493_351_000 + i;
        text.push_str(&format!(
            "{ms}\t198.51.100.{}\tSEA19-C1\t/new/{i}\t404\n",
            i % 200
        ));
    }
    let path = write(&dir, "cf.log", text.as_bytes());
    for opts in [IngestOptions::default(), tiny_chunks()] {
        let parsed = ingest_paths(&[(&path, None)], &opts);
        let s = stats(&parsed, 0);
        assert_eq!((s.lines_read, s.parsed, s.headers), (603, 600, 3));
        let t = &parsed.cloudfront;
        assert_eq!(t.line[299], 302);
        assert_eq!(t.uri_stem.get(299), Some("/index/299.html"));
        assert_eq!(t.line[300], 304, "first row after the new header");
        assert_eq!(t.uri_stem.get(300), Some("/new/0"));
        assert_eq!(t.edge.get(599), Some("SEA19-C1"));
        assert_eq!(t.client_ip.get(599), Some("198.51.100.99"));
        assert_eq!(t.status.get(599), Some(404));
        assert_eq!(t.time_ms[599], 1_575_493_351_299);
        assert!(t.time_is_ms[599] && !t.time_is_ms[0]);
    }
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    const SPECIAL: &[u8] = b"\t \"-%:.\0\r\n\xff0123456789#";
    let mut out = line.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len().max(1));
        let byte = if rng.below(2) == 0 {
            SPECIAL[rng.below(SPECIAL.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(4) {
            0 if !out.is_empty() => out[at] = byte,
            1 => out.insert(at.min(out.len()), byte),
            2 if !out.is_empty() => {
                out.remove(at);
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn random_mutations_of_real_lines_never_panic_and_always_balance() {
    let corpus = corpus_dir();
    let mut alb_lines = Vec::new();
    for f in [
        "elastic-integrations-alb/test-alb.log",
        "vrl-alb/inputs.log",
        "dynatrace-alb/inputs.log",
        "plaso-alb/aws_elb_access.log",
        "jsherz-alb-logs-parser/inline-inputs.log",
    ] {
        let text = std::fs::read(corpus.join(f)).expect("corpus file");
        alb_lines.extend(
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    let cf_text = std::fs::read(corpus.join("elastic-integrations-cloudfront/test-cloudfront.log"))
        .expect("corpus file");
    let cf_lines: Vec<Vec<u8>> = cf_text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(<[u8]>::to_vec)
        .collect();

    let dir = scratch_dir("mutations");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut files = Vec::new();
    let mut written = [0u64; 2];
    for batch in 0..20 {
        let (alb_file, cf_file) = (batch % 2 == 0, batch % 2 == 1);
        let mut text = Vec::new();
        if cf_file {
            text.extend(CF_FIELDS.as_bytes());
            text.push(b'\n');
        }
        for _ in 0..100 {
            let m = if alb_file {
                {
                    let pick = rng.below(alb_lines.len());
                    mutate(&mut rng, &alb_lines[pick])
                }
            } else {
                {
                    let pick = rng.below(cf_lines.len());
                    mutate(&mut rng, &cf_lines[pick])
                }
            };
            // Each mutation alone, through the line parsers.
            let (_, s) = stickyaudit::parse::alb::parse_chunk(&m, 1, 0, false, &Default::default());
            assert!(s.balances(), "{:?}", String::from_utf8_lossy(&m));
            text.extend(&m);
            text.push(b'\n');
        }
        let newlines = text.iter().filter(|&&b| b == b'\n').count() as u64;
        written[usize::from(cf_file)] += newlines;
        let family = if alb_file {
            Family::Alb
        } else {
            Family::CloudFront
        };
        files.push((write(&dir, &format!("m{batch:02}.log"), &text), family));
    }
    let inputs: Vec<(&Path, Option<Family>)> =
        files.iter().map(|(p, f)| (p.as_path(), Some(*f))).collect();
    let parsed = ingest_paths(&inputs, &IngestOptions::default());
    let mut read = [0u64; 2];
    for (i, f) in parsed.files.iter().enumerate() {
        let s = stats(&parsed, i);
        read[usize::from(f.family == Some(Family::CloudFront))] += s.lines_read;
    }
    assert_eq!(read, written, "every line of every file is accounted for");
    let parsed_rows = (parsed.alb.len() + parsed.cloudfront.len()) as u64;
    let total: u64 = parsed.files.iter().map(|f| f.stats.parsed).sum();
    assert_eq!(parsed_rows, total);
}
