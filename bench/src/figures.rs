//! What one benchmark run measured, before aggregation.

use serde::Serialize;

use tocsin::model::AlertId;

/// One alert on one channel, from the API call to the last recorded outcome. Times are in
/// milliseconds from the moment the benchmark called `POST /v1/alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    #[serde(skip)]
    pub alert: AlertId,
    /// `sms`, `email`, `push` or `voice`.
    pub channel: &'static str,
    pub subscribers: u64,
    /// Deliveries recorded (sent or failed).
    pub deliveries: u64,
    pub failed: u64,
    /// Deliveries confirmed by their recipient (voice: the callee pressed 1); 0 for the other
    /// channels, whose stand-ins confirm nothing.
    pub acknowledged: u64,
    /// First message received by the provider stand-in (SMS), the push service stand-in
    /// (push), the first call accepted by the Calls API stand-in (voice), or answered by the
    /// SMTP sink (e-mail).
    pub first_delivery_ms: f64,
    /// Every delivery row planned (the alert's `planned_at`).
    pub fanout_ms: f64,
    /// 10 %, 90 % and 100 % of the outcomes recorded (voice: of the calls placed).
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub p100_ms: f64,
    /// The last change to any of the alert's deliveries (voice: the last call's end recorded).
    pub last_update_ms: f64,
    /// deliveries / p100, per second.
    pub rate_overall: f64,
    /// Deliveries between the 10 % and 90 % marks / the time between them, per second.
    pub rate_steady: f64,
    /// The ceiling measured just before this run: raw HTTP requests of the same shape to the
    /// same stand-in over the same number of connections (SMS, push), smtp-source to the same
    /// sink with the same number of sessions (e-mail), or calls to the Calls API stand-in whose
    /// callbacks a bare receiver answers (voice), per second.
    pub ceiling_rate: f64,
    /// `GET /v1/alerts/{id}` while the alert was planning or sending, client-side wall time.
    pub status: StatusLatency,
    /// PostgreSQL's CPU time over the run (from the API call to the last outcome) per 1,000
    /// deliveries, in milliseconds (`cpu.rs`); NaN when PostgreSQL runs elsewhere.
    pub pg_cpu_ms_per_1000: f64,
    /// The daemon's CPU time over the same span per 1,000 deliveries, in milliseconds.
    pub daemon_cpu_ms_per_1000: f64,
    /// Outcomes recorded per 100 ms bucket: `(bucket start in ms, count)`, in order.
    pub series: Vec<(f64, u64)>,
}

/// How fast the alert's status was answered: the calls made every ~100 ms while the alert was
/// planning or sending. NaN when no call fell in that time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StatusLatency {
    pub calls: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
}

impl StatusLatency {
    pub fn of(mut latencies_ms: Vec<f64>) -> StatusLatency {
        latencies_ms.retain(|ms| ms.is_finite());
        latencies_ms.sort_by(f64::total_cmp);
        StatusLatency {
            calls: latencies_ms.len(),
            median_ms: super::report::Spread::of(latencies_ms.iter().copied()).median,
            p95_ms: nearest_rank(&latencies_ms, 0.95),
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `q` of them
/// at or below it. NaN for none.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1],
    }
}

/// Every run for one number of subscribers, and the daemon's peak memory over them.
#[derive(Debug, Clone, Serialize)]
pub struct SizeFigures {
    pub subscribers: u64,
    /// The daemon process's peak resident memory (VmHWM), in bytes.
    pub daemon_peak_rss_bytes: u64,
    pub runs: Vec<RunFigures>,
}

/// Where and how the figures were taken.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_bytes: u64,
    pub cpu: String,
    pub os: String,
    /// Connections to the SMS stand-in (daemon and ceiling alike).
    pub http_connections: usize,
    /// SMTP sessions to the sink (daemon and ceiling alike).
    pub smtp_sessions: usize,
    /// Connections to the push service stand-in (daemon and ceiling alike).
    pub push_connections: usize,
    /// Connections to the Calls API stand-in (daemon and ceiling alike).
    pub call_connections: usize,
}

/// One alert through a pool of SMS accounts, each held by its stand-in to `per_second`.
#[derive(Debug, Clone, Serialize)]
pub struct PoolRun {
    pub subscribers: u64,
    /// Each account's limit, messages per second (the same for all).
    pub per_second: f64,
    pub accounts: Vec<PoolAccount>,
    pub deliveries: u64,
    pub failed: u64,
    pub first_delivery_ms: f64,
    pub p100_ms: f64,
    /// Deliveries between the 10 % and 90 % marks of the recorded outcomes / the time between
    /// them, per second.
    pub rate_steady: f64,
    /// Accepted SMS / the time from the first to the last acceptance at any stand-in, per
    /// second.
    pub rate_first_to_last: f64,
    pub status: StatusLatency,
    /// The pool daemon's peak resident memory over all pool runs, in bytes.
    pub daemon_peak_rss_bytes: u64,
}

impl PoolRun {
    /// What the accounts together allow, per second.
    pub fn limit(&self) -> f64 {
        self.per_second * self.accounts.len() as f64
    }

    pub fn rate_limited(&self) -> u64 {
        self.accounts.iter().map(|a| a.rate_limited).sum()
    }
}

/// One alert calling the landlines of a commune with the account held to `per_second`.
#[derive(Debug, Clone, Serialize)]
pub struct PacedRun {
    /// `[limits.twilio] per_second`.
    pub per_second: f64,
    /// Calls the stand-in accepted.
    pub calls: u64,
    pub deliveries: u64,
    pub failed: u64,
    /// Calls confirmed (the callee pressed 1).
    pub acknowledged: u64,
    pub first_delivery_ms: f64,
    /// Calls per second: one over the median interval between two acceptances.
    pub pace: f64,
    /// The most calls accepted within one second.
    pub busiest_second: u64,
    /// One call as the callee hears it (the script twice, and the closing), in seconds.
    pub call_seconds: f64,
}

/// What one account's stand-in saw in a pool run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolAccount {
    pub name: String,
    pub accepted: u64,
    /// Requests it answered 429.
    pub rate_limited: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_latency_takes_the_median_and_the_nearest_rank_p95() {
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = StatusLatency::of(twenty);
        assert_eq!((s.calls, s.median_ms, s.p95_ms), (20, 10.5, 19.0));
        let s = StatusLatency::of(vec![f64::NAN, 3.0, 1.0, 2.0]);
        assert_eq!((s.calls, s.median_ms, s.p95_ms), (3, 2.0, 3.0));
        let none = StatusLatency::of(Vec::new());
        assert!(none.calls == 0 && none.median_ms.is_nan() && none.p95_ms.is_nan());
    }
}
