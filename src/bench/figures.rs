//! What one benchmark run measured, before aggregation.

use serde::Serialize;

/// One alert on one channel, from the API call to the last recorded outcome. Times are in
/// milliseconds from the moment the benchmark called `POST /v1/alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// `sms` or `email`.
    pub channel: &'static str,
    pub subscribers: u64,
    /// Deliveries recorded (sent or failed).
    pub deliveries: u64,
    pub failed: u64,
    /// First message received by the provider stand-in (SMS) or answered by the SMTP sink
    /// (e-mail).
    pub first_delivery_ms: f64,
    /// Every delivery row planned (the alert's `planned_at`).
    pub fanout_ms: f64,
    /// 10 %, 90 % and 100 % of the outcomes recorded.
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub p100_ms: f64,
    /// deliveries / p100, per second.
    pub rate_overall: f64,
    /// Deliveries between the 10 % and 90 % marks / the time between them, per second.
    pub rate_steady: f64,
    /// The ceiling measured just before this run: raw HTTP requests of the same shape to the
    /// same stand-in over the same number of connections (SMS), or smtp-source to the same sink
    /// with the same number of sessions (e-mail), per second.
    pub ceiling_rate: f64,
    /// Outcomes recorded per 100 ms bucket: `(bucket start in ms, count)`, in order.
    pub series: Vec<(f64, u64)>,
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
}
