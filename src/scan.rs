//! The `scan` pipeline over parsed tables: behaviors, join, sessions,
//! findings. Each stage is a module of its own; this wires them in order.

use crate::detect::{self, DetectConfig, Detected};
use crate::join::{self, Join, JoinConfig};
use crate::session::behavior::{self, BehaviorConfig, Behaviors};
use crate::session::{self, SessionConfig, Sessions};
use crate::source::ingest::Parsed;

#[derive(Debug, Clone, Default)]
pub struct ScanConfig {
    pub behavior: BehaviorConfig,
    pub join: JoinConfig,
    pub session: SessionConfig,
    pub detect: DetectConfig,
}

/// Everything a scan learnt, ready for the reports.
pub struct Scan {
    pub behaviors: Behaviors,
    pub join: Join,
    pub sessions: Sessions,
    pub detected: Detected,
}

pub fn run(parsed: &Parsed, config: &ScanConfig) -> Scan {
    let (cf, alb) = (&parsed.cloudfront, &parsed.alb);
    let behaviors = behavior::assign(cf, &config.behavior);
    let join = join::join(cf, alb, &behaviors, &config.join);
    let sessions = session::build(cf, alb, &join, &config.session);
    let detected = detect::detect(cf, alb, &join, &behaviors, &sessions, &config.detect);
    Scan {
        behaviors,
        join,
        sessions,
        detected,
    }
}
