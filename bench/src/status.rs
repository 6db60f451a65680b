//! Following one alert through the API, as a mayor's screen would: `GET /v1/alerts/{id}` every
//! ~100 ms from the API call until nothing is left to send, timing each answer. The benchmark no
//! longer reads `deliveries` to know an alert is done: that is the ledger's business, and
//! polling it every few milliseconds would weigh on what is measured.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::time::MissedTickBehavior;

use tocsin::model::{AlertId, Channel};

/// How often the status is asked for: a screen refreshing about ten times a second.
const POLL: Duration = Duration::from_millis(100);

/// The part of the API's report the benchmark reads (src/api/alerts.rs `Report`). Unknown
/// fields are ignored and missing counts are 0, so that the report may grow.
#[derive(Debug, Deserialize)]
struct Report {
    status: String,
    planned_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    counts: BTreeMap<String, Counts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Counts {
    queued: i64,
    sending: i64,
    retrying: i64,
}

impl Report {
    /// Every delivery of `channel` planned and none of them waiting or in flight.
    fn done(&self, channel: Channel) -> bool {
        let left = self
            .counts
            .get(channel.as_str())
            .map_or(0, |c| c.queued + c.sending + c.retrying);
        self.planned_at.is_some() && left == 0
    }

    /// The calls a mayor makes while the alert goes out are the ones the target is about, from
    /// the moment it was accepted (a small alert may be sent within one poll of it).
    fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "planning" | "sending")
    }
}

/// Asks for the alert's status every [`POLL`] until its `channel` is done; returns the wall time
/// of each call made while the alert was planning or sending, in milliseconds. Calls go one
/// after the other on `http`'s kept-alive connection, so each measures the daemon, not a
/// connection set-up.
pub async fn follow(
    http: &reqwest::Client,
    daemon: &str,
    key: &str,
    alert: AlertId,
    channel: Channel,
    timeout: Duration,
) -> anyhow::Result<Vec<f64>> {
    let url = format!("{daemon}/v1/alerts/{alert}");
    let deadline = Instant::now() + timeout;
    let mut ticks = tokio::time::interval(POLL);
    // A slow answer delays the next call rather than causing a burst of catch-up calls.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut latencies = Vec::new();
    loop {
        ticks.tick().await;
        let started = Instant::now();
        let response = http.get(&url).bearer_auth(key).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            bail!(
                "GET /v1/alerts/{alert} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let report: Report =
            serde_json::from_slice(&body).context("unreadable report of GET /v1/alerts/{id}")?;
        if report.in_progress() {
            latencies.push(elapsed_ms);
        }
        if report.done(channel) {
            return Ok(latencies);
        }
        if Instant::now() > deadline {
            bail!(
                "alert {alert} not done after {timeout:?} (status {}, counts {:?})",
                report.status,
                report.counts
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: serde_json::Value) -> Report {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_alert_is_done_when_planned_and_nothing_of_its_channel_is_left() {
        let planned = "2026-01-01T00:00:00Z";
        let sending = report(serde_json::json!({
            "status": "sending", "planned_at": planned, "recipients": null,
            "counts": {"sms": {"queued": 0, "sending": 0, "retrying": 2, "sent": 10}},
        }));
        assert!(!sending.done(Channel::Sms) && sending.in_progress());
        // Today's report has no `sending` count; a report without the channel has nothing left.
        let done = report(serde_json::json!({
            "status": "completed", "planned_at": planned,
            "counts": {"sms": {"queued": 0, "retrying": 0, "sent": 12}},
        }));
        assert!(done.done(Channel::Sms) && done.done(Channel::Push) && !done.in_progress());
        let planning = report(serde_json::json!({"status": "planning", "planned_at": null}));
        assert!(!planning.done(Channel::Sms) && planning.in_progress());
        let in_flight = report(serde_json::json!({
            "status": "sending", "planned_at": planned, "counts": {"email": {"sending": 1}},
        }));
        assert!(!in_flight.done(Channel::Email));
    }
}
