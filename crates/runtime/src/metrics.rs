//! The process's own counters, for the Prometheus exposition that
//! `iop_messaging::metrics` serves: requests per RPC and status code with
//! their latency (RED), and events dead-lettered per consumer group. Gauges
//! that live in a database or on the consumer board (outbox backlog, lag)
//! are read at scrape time instead. No label ever holds patient data: RPC
//! names, status codes and group names only.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Mutex, OnceLock},
    time::Duration,
};

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Latency {
    /// Cumulative counts per bucket of `BUCKETS`.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    /// (rpc, code) → requests.
    requests: BTreeMap<(String, String), u64>,
    /// rpc → latency.
    latency: BTreeMap<String, Latency>,
    /// consumer group → events dead-lettered.
    dead_letters: BTreeMap<String, u64>,
    /// service → readers waiting on a consistency token now.
    waiting: BTreeMap<String, i64>,
    /// service → the last verification of its audit chain.
    audit: BTreeMap<String, Verified>,
}

/// The outcome of one verification of an audit chain.
struct Verified {
    intact: bool,
    rows: i64,
    at_unix_s: f64,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// Counts one answered request of `rpc` (`service.Method`) with its gRPC
/// status code name and how long it took.
pub fn observe_request(rpc: &str, code: tonic::Code, took: Duration) {
    let Ok(mut r) = registry().lock() else { return };
    *r.requests
        .entry((rpc.to_owned(), format!("{code:?}")))
        .or_default() += 1;
    let l = r.latency.entry(rpc.to_owned()).or_default();
    let seconds = took.as_secs_f64();
    for (i, bound) in BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            l.buckets[i] += 1;
        }
    }
    l.count += 1;
    l.sum += seconds;
}

/// Counts one event `group` sent to its dead-letter topic.
pub fn observe_dead_letter(group: &str) {
    if let Ok(mut r) = registry().lock() {
        *r.dead_letters.entry(group.to_owned()).or_default() += 1;
    }
}

/// A reader of `service` waiting for the write its consistency token names;
/// counted in `iop_consistency_waiters` until dropped.
pub struct Waiting(String);

impl Waiting {
    /// Counts one more waiter of `service`.
    pub fn enter(service: &str) -> Self {
        if let Ok(mut r) = registry().lock() {
            *r.waiting.entry(service.to_owned()).or_default() += 1;
        }
        Self(service.to_owned())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Ok(mut r) = registry().lock() {
            *r.waiting.entry(self.0.clone()).or_default() -= 1;
        }
    }
}

/// Records a verification of `service`'s audit chain: whether every row
/// held, and how many were checked.
pub fn observe_audit_verification(service: &str, intact: bool, rows: i64) {
    let at_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if let Ok(mut r) = registry().lock() {
        r.audit.insert(
            service.to_owned(),
            Verified {
                intact,
                rows,
                at_unix_s,
            },
        );
    }
}

/// Writes the gauge `name` with one sample per service.
fn gauge<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    samples: impl Iterator<Item = (&'a String, String)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (service, value) in samples {
        let _ = writeln!(out, "{name}{{service=\"{}\"}} {value}", label(service));
    }
}

/// A label value escaped for the text format.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// This registry in the Prometheus text format (0.0.4).
pub fn render() -> String {
    let mut out = String::new();
    let Ok(r) = registry().lock() else { return out };
    out.push_str(
        "# HELP iop_grpc_requests_total gRPC requests answered, by RPC and status code.\n",
    );
    out.push_str("# TYPE iop_grpc_requests_total counter\n");
    for ((rpc, code), n) in &r.requests {
        let _ = writeln!(
            out,
            "iop_grpc_requests_total{{rpc=\"{}\",code=\"{}\"}} {n}",
            label(rpc),
            label(code)
        );
    }
    out.push_str(
        "# HELP iop_grpc_request_duration_seconds Time to answer a gRPC request, by RPC.\n",
    );
    out.push_str("# TYPE iop_grpc_request_duration_seconds histogram\n");
    for (rpc, l) in &r.latency {
        let rpc = label(rpc);
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "iop_grpc_request_duration_seconds_bucket{{rpc=\"{rpc}\",le=\"{bound}\"}} {}",
                l.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "iop_grpc_request_duration_seconds_bucket{{rpc=\"{rpc}\",le=\"+Inf\"}} {}",
            l.count
        );
        let _ = writeln!(
            out,
            "iop_grpc_request_duration_seconds_sum{{rpc=\"{rpc}\"}} {}",
            l.sum
        );
        let _ = writeln!(
            out,
            "iop_grpc_request_duration_seconds_count{{rpc=\"{rpc}\"}} {}",
            l.count
        );
    }
    out.push_str("# HELP iop_consumer_dead_letters_total Events a consumer group sent to its dead-letter topic.\n");
    out.push_str("# TYPE iop_consumer_dead_letters_total counter\n");
    for (group, n) in &r.dead_letters {
        let _ = writeln!(
            out,
            "iop_consumer_dead_letters_total{{group=\"{}\"}} {n}",
            label(group)
        );
    }
    let waiting = r.waiting.iter().map(|(s, n)| (s, n.to_string()));
    gauge(
        &mut out,
        "iop_consistency_waiters",
        "Reads waiting now for the write their consistency token names.",
        waiting,
    );
    let audit = |value: fn(&Verified) -> String| r.audit.iter().map(move |(s, v)| (s, value(v)));
    gauge(
        &mut out,
        "iop_audit_chain_intact",
        "Whether the last verification of a service's audit chain found every row intact (1) or a break (0).",
        audit(|v| u8::from(v.intact).to_string()),
    );
    gauge(
        &mut out,
        "iop_audit_chain_rows",
        "Rows the last verification of a service's audit chain checked.",
        audit(|v| v.rows.to_string()),
    );
    gauge(
        &mut out,
        "iop_audit_chain_verified_timestamp_seconds",
        "When a service's audit chain was last verified (Unix time).",
        audit(|v| v.at_unix_s.to_string()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_rpc_and_code_with_their_latency() {
        observe_request("test.Get", tonic::Code::Ok, Duration::from_millis(3));
        observe_request("test.Get", tonic::Code::Ok, Duration::from_millis(300));
        observe_request(
            "test.Get",
            tonic::Code::PermissionDenied,
            Duration::from_millis(1),
        );
        observe_dead_letter("iop.test");
        let text = render();
        assert!(
            text.contains("iop_grpc_requests_total{rpc=\"test.Get\",code=\"Ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("iop_grpc_requests_total{rpc=\"test.Get\",code=\"PermissionDenied\"} 1")
        );
        assert!(
            text.contains(
                "iop_grpc_request_duration_seconds_bucket{rpc=\"test.Get\",le=\"0.005\"} 2"
            )
        );
        assert!(
            text.contains(
                "iop_grpc_request_duration_seconds_bucket{rpc=\"test.Get\",le=\"+Inf\"} 3"
            )
        );
        assert!(text.contains("iop_consumer_dead_letters_total{group=\"iop.test\"} 1"));
        {
            let _a = Waiting::enter("test-view");
            let _b = Waiting::enter("test-view");
            assert!(render().contains("iop_consistency_waiters{service=\"test-view\"} 2"));
        }
        assert!(render().contains("iop_consistency_waiters{service=\"test-view\"} 0"));
        observe_audit_verification("test-audit", true, 41);
        observe_audit_verification("test-audit", false, 42);
        let text = render();
        assert!(
            text.contains("iop_audit_chain_intact{service=\"test-audit\"} 0"),
            "{text}"
        );
        assert!(text.contains("iop_audit_chain_rows{service=\"test-audit\"} 42"));
        assert!(
            text.contains("iop_audit_chain_verified_timestamp_seconds{service=\"test-audit\"} 1")
        );
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
