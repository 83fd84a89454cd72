//! `hark bench`: benchmarks that print one JSON object (and a human summary
//! on stderr). They generate their own data, use real HTTP over loopback and
//! the real storage, and need nothing but the binary. Tests never measure
//! time; these commands are where speed is measured (docs/benchmarks.md).

pub mod fanout;
pub mod inbox;
pub mod ingest;
pub mod reports;

use std::time::Duration;

use serde_json::{Value, json};

/// p50, p95 and p99 of a set of durations, in milliseconds.
pub fn latency_summary(values: &[Duration]) -> Value {
    json!({
        "p50": percentile_ms(values, 0.50),
        "p95": percentile_ms(values, 0.95),
        "p99": percentile_ms(values, 0.99),
        "max": percentile_ms(values, 1.0),
        "n": values.len(),
    })
}

/// The `q` quantile (nearest rank) in milliseconds, two decimals.
pub fn percentile_ms(values: &[Duration], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<Duration> = values.to_vec();
    sorted.sort();
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    round2(sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0)
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// This process's resident memory in MB (Linux), or 0 where unknown.
pub fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    round2(kb / 1024.0)
}

pub fn free_address() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
