//! The `alb` table: one row per ALB access-log entry, typed, with repeated
//! strings stored once. Field order and meaning: AWS "Access logs for your
//! Application Load Balancer"; fields 30–33 (`conn_trace_id`,
//! `transformed_host`, `transformed_uri`, `request_transform_status`) as
//! observed in real logs (see the README).

use super::column::{ArenaColumn, NumColumn, StrColumn};

/// The parsed ALB records.
#[derive(Debug, Default)]
pub struct AlbTable {
    pub source: Vec<u32>,
    pub line: Vec<u32>,
    /// `type`: http, https, h2, grpcs, ws, wss.
    pub kind: StrColumn,
    /// `time`: when the load balancer generated the response, µs.
    pub time_us: Vec<i64>,
    pub elb: StrColumn,
    pub client_ip: StrColumn,
    pub client_port: NumColumn<u32>,
    pub target_ip: StrColumn,
    pub target_port: NumColumn<u32>,
    /// Processing times in µs; `-1` in the log is null.
    pub request_processing_us: NumColumn<u32>,
    pub target_processing_us: NumColumn<u32>,
    pub response_processing_us: NumColumn<u32>,
    pub elb_status: NumColumn<u16>,
    pub target_status: NumColumn<u16>,
    pub received_bytes: NumColumn<u64>,
    pub sent_bytes: NumColumn<u64>,
    pub method: StrColumn,
    pub scheme: StrColumn,
    pub host: StrColumn,
    pub port: NumColumn<u32>,
    /// Path as logged (not decoded).
    pub path: StrColumn,
    pub query: StrColumn,
    pub http_version: StrColumn,
    /// The request field, kept only when it does not split cleanly.
    pub request_raw: StrColumn,
    pub user_agent: StrColumn,
    pub ssl_cipher: StrColumn,
    pub ssl_protocol: StrColumn,
    pub target_group: StrColumn,
    pub trace_root: ArenaColumn,
    pub trace_self: ArenaColumn,
    /// Custom `X-Amzn-Trace-Id` fields, `Name=value;…` in logged order.
    pub trace_custom: ArenaColumn,
    pub domain_name: StrColumn,
    pub chosen_cert_arn: StrColumn,
    pub matched_rule_priority: NumColumn<i32>,
    /// `request_creation_time`: when the load balancer received it, µs.
    pub request_creation_us: NumColumn<i64>,
    pub actions_executed: StrColumn,
    pub redirect_url: StrColumn,
    pub error_reason: StrColumn,
    pub target_port_list: StrColumn,
    pub target_status_list: StrColumn,
    pub classification: StrColumn,
    pub classification_reason: StrColumn,
    pub conn_trace_id: StrColumn,
    pub transformed_host: StrColumn,
    pub transformed_uri: StrColumn,
    pub transform_status: StrColumn,
}

/// Calls `$m!` with the list of every column that has `append`/`heap_bytes`.
macro_rules! alb_columns {
    ($m:ident) => {
        $m!(
            kind,
            elb,
            client_ip,
            client_port,
            target_ip,
            target_port,
            request_processing_us,
            target_processing_us,
            response_processing_us,
            elb_status,
            target_status,
            received_bytes,
            sent_bytes,
            method,
            scheme,
            host,
            port,
            path,
            query,
            http_version,
            request_raw,
            user_agent,
            ssl_cipher,
            ssl_protocol,
            target_group,
            trace_root,
            trace_self,
            trace_custom,
            domain_name,
            chosen_cert_arn,
            matched_rule_priority,
            request_creation_us,
            actions_executed,
            redirect_url,
            error_reason,
            target_port_list,
            target_status_list,
            classification,
            classification_reason,
            conn_trace_id,
            transformed_host,
            transformed_uri,
            transform_status
        )
    };
}

impl AlbTable {
    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// The target as `ip:port` (IPv6 in brackets), if the request had one.
    pub fn target(&self, row: usize) -> Option<String> {
        let ip = self.target_ip.get(row)?;
        Some(match self.target_port.get(row) {
            Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
            Some(port) => format!("{ip}:{port}"),
            None => ip.to_string(),
        })
    }

    pub fn append(&mut self, other: AlbTable) {
        if self.is_empty() {
            *self = other;
            return;
        }
        self.source.extend(other.source);
        self.line.extend(other.line);
        self.time_us.extend(other.time_us);
        macro_rules! append_all {
            ($($c:ident),*) => { $( self.$c.append(other.$c); )* };
        }
        alb_columns!(append_all);
    }

    pub fn heap_bytes(&self) -> usize {
        self.heap_by_column().iter().map(|(_, n)| n).sum()
    }

    /// Gives back the spare capacity that growth by doubling left behind.
    pub fn shrink_to_fit(&mut self) {
        self.source.shrink_to_fit();
        self.line.shrink_to_fit();
        self.time_us.shrink_to_fit();
        macro_rules! shrink_all {
            ($($c:ident),*) => { $( self.$c.shrink_to_fit(); )* };
        }
        alb_columns!(shrink_all);
    }

    /// Heap bytes held per column, for the memory figures of the benchmark.
    pub fn heap_by_column(&self) -> Vec<(&'static str, usize)> {
        let mut out = vec![
            ("source", self.source.capacity() * 4),
            ("line", self.line.capacity() * 4),
            ("time_us", self.time_us.capacity() * 8),
        ];
        macro_rules! add_all {
            ($($c:ident),*) => { $( out.push((stringify!($c), self.$c.heap_bytes())); )* };
        }
        alb_columns!(add_all);
        out
    }
}
