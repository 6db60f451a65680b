//! What operators graph and alert on, in Prometheus' text format at `GET /metrics`. Labels are
//! low-cardinality only: channel, provider account, outcome, queue; never a tenant, an alert or
//! an address.

use prometheus::{
    Encoder, Gauge, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
    core::Collector,
};

pub struct Metrics {
    registry: Registry,
    /// Outcomes of sends: sent, retrying, failed, expired.
    pub deliveries: IntCounterVec,
    /// Retries scheduled.
    pub retries: IntCounterVec,
    /// Requests to providers in flight now.
    pub in_flight: IntGaugeVec,
    /// Time spent waiting for rate-limit tokens, in seconds, and how many waits.
    pub rate_wait_seconds: prometheus::CounterVec,
    pub rate_waits: IntCounterVec,
    /// Age of the oldest alert not yet handed to the broker, in seconds.
    pub outbox_age: Gauge,
    /// Messages in the dead-letter queue.
    pub dead_letters: IntGauge,
    /// 1 while this instance is ready (what `/readyz` answers), else 0: at each scrape.
    pub ready: IntGauge,
    /// Messages ready (not yet taken) per work queue: how far behind consumers are.
    pub queue_ready: IntGaugeVec,
    /// Sends whose outcome is uncertain (the provider may have taken them), retried: possible
    /// duplicates.
    pub uncertain_sends: IntCounterVec,
    /// Connections closed at once because a listener or a client held its most.
    pub connections_refused: IntCounterVec,
    /// Public requests refused by a cap, by route and cap (`dispatch::policy::public_caps`).
    pub public_limit_hits: IntCounterVec,
    /// Rows the outcome writer could not write as they were (bad data, a constraint), by step:
    /// each was written as failed with the reason, or left for its lease to end.
    pub outcome_write_errors: IntCounterVec,
}

fn register<T: Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let counters = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric"),
            )
        };
        let deliveries = counters(
            "tocsin_deliveries_total",
            "Send outcomes by channel, provider account and outcome",
            &["channel", "provider", "outcome"],
        );
        let retries = counters(
            "tocsin_retries_total",
            "Transient failures scheduled for another attempt",
            &["channel", "provider"],
        );
        let rate_waits = counters(
            "tocsin_rate_limit_waits_total",
            "Sends that waited for the provider account's rate",
            &["provider"],
        );
        let public_limit_hits = counters(
            "tocsin_public_limit_hits_total",
            "Public requests (codes, e-mails, replies) refused by a cap, by route and cap",
            &["route", "limit"],
        );
        let in_flight = register(
            &registry,
            IntGaugeVec::new(
                Opts::new("tocsin_sends_in_flight", "Requests to providers in flight"),
                &["channel", "provider"],
            )
            .expect("a valid metric"),
        );
        let rate_wait_seconds = register(
            &registry,
            prometheus::CounterVec::new(
                Opts::new(
                    "tocsin_rate_limit_wait_seconds_total",
                    "Time sends waited for the provider account's rate",
                ),
                &["provider"],
            )
            .expect("a valid metric"),
        );
        let outbox_age = register(
            &registry,
            Gauge::new(
                "tocsin_outbox_age_seconds",
                "Age of the oldest alert not yet handed to the broker",
            )
            .expect("a valid metric"),
        );
        let dead_letters = register(
            &registry,
            IntGauge::new("tocsin_dead_letters", "Messages in the dead-letter queue")
                .expect("a valid metric"),
        );
        let ready = register(
            &registry,
            IntGauge::new(
                "tocsin_ready",
                "1 while this instance can work (PostgreSQL answers, the broker's consumers run)",
            )
            .expect("a valid metric"),
        );
        let queue_ready = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "tocsin_queue_ready_messages",
                    "Messages waiting in a work queue (consumer lag)",
                ),
                &["queue"],
            )
            .expect("a valid metric"),
        );
        let uncertain_sends = counters(
            "tocsin_uncertain_sends_total",
            "Sends the provider may have taken though it did not say so (a timeout after the \
             request, a broken connection, a 500, 502 or 504): retried, possible duplicates",
            &["channel", "provider"],
        );
        let connections_refused = counters(
            "tocsin_http_connections_refused_total",
            "Connections closed on arrival: the listener (public, api) held max_connections, or \
             the client max_connections_per_client",
            &["listener", "limit"],
        );
        let outcome_write_errors = counters(
            "tocsin_outcome_write_errors_total",
            "Rows whose outcome could not be written as it was (bad data, a constraint), by step",
            &["step"],
        );
        Metrics {
            uncertain_sends,
            connections_refused,
            registry,
            outcome_write_errors,
            deliveries,
            retries,
            in_flight,
            rate_wait_seconds,
            rate_waits,
            outbox_age,
            dead_letters,
            ready,
            queue_ready,
            public_limit_hits,
        }
    }
}

impl Metrics {
    pub fn connection_refused(&self, listener: &str, limit: &str) {
        self.connections_refused
            .with_label_values(&[listener, limit])
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}
