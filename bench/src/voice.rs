//! Voice in the benchmark. The daemon places calls with a Twilio account whose stand-in counts
//! them and plays each callee against the daemon as the reference describes: the phone rings
//! [`RING_TIME`], then the callee answers, hears the script and presses 1, which costs the
//! daemon the TwiML, two status callbacks and the key press. As SMS count when the provider
//! took them, a call counts when placed (the Calls API's 201); the ceiling is raw requests of
//! the same shape, whose calls go to a receiver that only answers (call_receiver.rs). Every
//! call must be over, its end and confirmation recorded, before the next run.
//!
//! The paced run (`--calls-per-second R`, when voice is measured): a commune of fixed lines
//! called under `[limits.twilio] per_second = R`, as an account at Twilio's default of one call
//! a second would be. How close the daemon keeps to R, and never above it, says how long
//! warning N landlines takes at that rate.

use std::time::{Duration, SystemTime};

use anyhow::bail;
use tocsin_standins::{twilio::TwilioStandin, twilio_voice::Callee};

use super::{
    Alert, Bench, CEILING_TIME, TEXT,
    call_receiver::CallReceiver,
    ceiling,
    config_file::{ConfigFile, table},
    figures::PacedRun,
    population,
    processes::DaemonProcess,
};
use tocsin::model::{AlertId, Channel, speech::Script};

/// The account's name, in `[limits.NAME]`.
pub const ACCOUNT: &str = "twilio";
pub const ACCOUNT_SID: &str = "AC0000000000000000000000000000be4c";
pub const AUTH_TOKEN: &str = "bench-twilio-auth-token";
/// A 09 number: no verification needed (providers/src/voice/mod.rs, caller_id_rule).
pub const CALLER_ID: &str = "+33937000000";
/// How long the stand-in's phones ring before their callee answers: people take seconds to
/// pick up, so a call's callbacks come that much after its placing, as they would in life (the
/// callbacks of an alert placed in less time follow its placing; those of a larger one overlap
/// it).
pub const RING_TIME: Duration = Duration::from_secs(10);
/// How long the paced run places calls at the limit.
pub const PACED_SECONDS: f64 = 15.0;

/// The benchmark's Twilio account added to `base` (the operator's configuration): any voice
/// account or voice routing of the operator's is left out, as its SMS and e-mail providers are.
pub fn config_table(mut base: toml::Table, base_url: &str) -> anyhow::Result<toml::Table> {
    base.remove("voice");
    if let Some(routing) = base.get_mut("routing").and_then(toml::Value::as_table_mut) {
        routing.remove("voice");
    }
    let mut account = toml::Table::new();
    account.insert("account_sid".into(), ACCOUNT_SID.into());
    account.insert("auth_token".into(), AUTH_TOKEN.into());
    account.insert("caller_id".into(), CALLER_ID.into());
    account.insert("base_url".into(), base_url.into());
    table(&mut base, "voice")?.insert(ACCOUNT.into(), toml::Value::Table(account));
    Ok(base)
}

/// What `--calls-per-second` asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceOptions {
    pub per_second: f64,
}

impl PaceOptions {
    /// Calls for [`PACED_SECONDS`] at the limit, ten at least.
    pub fn calls(&self) -> u64 {
        ((PACED_SECONDS * self.per_second).ceil() as u64).max(10)
    }

    /// The most calls any one second may hold: what the limiter lets one instance through.
    pub fn busiest_second_limit(&self) -> u64 {
        tocsin::dispatch::policy::limits::most_in_one_second(self.per_second)
    }

    /// `base` with the account held to the rate.
    fn config_table(&self, mut base: toml::Table) -> anyhow::Result<toml::Table> {
        let mut limit = toml::Table::new();
        limit.insert("per_second".into(), self.per_second.into());
        table(&mut base, "limits")?.insert(ACCOUNT.into(), toml::Value::Table(limit));
        Ok(base)
    }
}

/// The pace calls were placed at, per second: one over the median interval between two
/// acceptances. Over a few calls, first-to-last would count the bucket's first tokens, taken at
/// once, as speed; the median is the pace held, which is what warning many landlines takes.
/// NaN for fewer than two calls or a median of zero.
pub fn pace(times: &[SystemTime]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    let intervals = sorted.windows(2).map(|pair| {
        pair[1]
            .duration_since(pair[0])
            .unwrap_or_default()
            .as_secs_f64()
    });
    let median = super::report::Spread::of(intervals).median;
    if median > 0.0 { 1.0 / median } else { f64::NAN }
}

/// The most calls accepted within one second of any call's acceptance.
pub fn busiest_second(times: &[SystemTime]) -> u64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut busiest = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end]
            .duration_since(sorted[start])
            .is_ok_and(|d| d >= Duration::from_secs(1))
        {
            start += 1;
        }
        busiest = busiest.max(end - start + 1);
    }
    busiest as u64
}

/// Waits until every call the stand-in accepted is over, so that no callee of one run calls
/// the daemon during the next.
pub async fn calls_over(standin: &TwilioStandin, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (placed, over) = (standin.call_count(), standin.ended_call_count());
        if over >= placed {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{over} of {placed} calls over after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the daemon has recorded the end of every call of `alert` (none left `sent`).
pub async fn calls_settled(
    db: &sqlx::PgPool,
    alert: AlertId,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let going_on: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries
             WHERE alert_id = $1 AND channel = 'voice' AND status = 'sent'",
        )
        .bind(alert.0)
        .fetch_one(db)
        .await?;
        if going_on == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{going_on} calls of alert {alert} without an end after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Calls API's ceiling: requests of the adapter's shape over `connections` connections
/// for [`CEILING_TIME`], their calls' TwiML and callbacks (the script of `commune`) answered by
/// a bare receiver. Returns once those calls are over, so that they weigh on no run.
pub(super) async fn ceiling(
    standin: &TwilioStandin,
    connections: usize,
    commune: &str,
) -> anyhow::Result<f64> {
    let receiver = CallReceiver::start(Script::new(commune, TEXT).for_providers()).await?;
    let account = (ACCOUNT_SID, AUTH_TOKEN);
    let base_url = standin.base_url();
    let rate = ceiling::call_rate(
        &base_url,
        account,
        &receiver.base_url,
        connections,
        CEILING_TIME,
    )
    .await?;
    calls_over(standin, RING_TIME + Duration::from_secs(60)).await?;
    Ok(rate)
}

/// The paced run: a commune of its own, a daemon holding the account to the rate, `runs`
/// alerts.
pub(super) async fn run_paced(
    bench: &Bench,
    limit: &PaceOptions,
    runs: usize,
) -> anyhow::Result<Vec<PacedRun>> {
    let calls = limit.calls();
    eprintln!(
        "voice at {} call(s) a second: creating a commune of {calls} landlines…",
        limit.per_second
    );
    let commune =
        population::create(&bench.db, "bench-calls", calls, &bench.push.base_url()).await?;
    let key = population::admin_key(&bench.db, &bench.hasher, &commune).await?;
    let file = ConfigFile::write(&limit.config_table(bench.config.clone())?)?;
    let daemon = DaemonProcess::start(Some(&file.path), &bench.env, &bench.log).await?;
    let call_seconds = Script::new(&commune.name, TEXT).duration().as_secs_f64();
    let standin = &bench.calls;
    // Twilio queues calls past the account's rate rather than refusing them; acceptances still
    // show the daemon's own pace.
    standin.set_calls_per_second(Some(limit.per_second));
    standin.set_default_callee(Callee::AnswersAndPresses(Some('1')));
    let placing = Duration::from_secs_f64(calls as f64 / limit.per_second);
    let mut figures = Vec::new();
    for run in 1..=runs {
        standin.reset_calls();
        let alert = Alert {
            daemon: &daemon,
            key: &key,
            channel: Channel::Voice,
            subscribers: calls,
            timeout: Duration::from_secs(60) + 2 * placing,
            calls: Some(standin),
        };
        let first = || standin.call_times().into_iter().min();
        let f = super::run_alert(&bench.db, &alert, first).await?;
        super::forget_deliveries(&bench.db).await?;
        let ended = f.last_update_ms / 1000.0;
        let times = standin.call_times();
        let paced = PacedRun {
            per_second: limit.per_second,
            calls: times.len() as u64,
            deliveries: f.deliveries,
            failed: f.failed,
            acknowledged: f.acknowledged,
            first_delivery_ms: f.first_delivery_ms,
            pace: pace(&times),
            busiest_second: busiest_second(&times),
            call_seconds,
        };
        eprintln!(
            "  paced run {run}/{runs}: {} calls at {:.3}/s ({:.1} % of {}/s), busiest second {}, {} confirmed, the last call over after {ended:.1} s",
            paced.calls,
            paced.pace,
            100.0 * paced.pace / limit.per_second,
            limit.per_second,
            paced.busiest_second,
            paced.acknowledged,
        );
        figures.push(paced);
    }
    standin.set_calls_per_second(None);
    daemon.stop()?;
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: &[u64]) -> Vec<SystemTime> {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        ms.iter().map(|&m| t0 + Duration::from_millis(m)).collect()
    }

    #[test]
    fn the_pace_is_read_from_the_acceptance_times() {
        let even = at(&[0, 1000, 2000, 3000, 4000]);
        assert_eq!(pace(&even), 1.0);
        assert_eq!(busiest_second(&even), 1);
        // Two calls 999 ms apart share a second; out of order is read the same.
        let close = at(&[2000, 0, 999, 3500]);
        assert_eq!(busiest_second(&close), 2);
        // Intervals 999, 1001 and 1500 ms.
        assert_eq!(pace(&close), 1.0 / 1.001);
        // Two calls at once, then one every 1.03 s: the pace held, not the start's burst.
        let floor = at(&[0, 0, 1030, 2060, 3090, 4120]);
        assert!((pace(&floor) - 1.0 / 1.03).abs() < 1e-9);
        assert_eq!(busiest_second(&floor), 2);
        let burst = at(&[0, 10, 20, 30, 1500]);
        assert_eq!(busiest_second(&burst), 4);
        assert!(pace(&at(&[5])).is_nan() && pace(&at(&[5, 5])).is_nan());
        assert_eq!(busiest_second(&[]), 0);
    }

    #[test]
    fn the_paced_run_calls_for_fifteen_seconds_and_allows_the_limiter_s_floors() {
        // 0.97 refilled, the bucket's two tokens, a block of one.
        let one = PaceOptions { per_second: 1.0 };
        assert_eq!((one.calls(), one.busiest_second_limit()), (15, 3));
        let twenty = PaceOptions { per_second: 20.0 };
        assert_eq!(twenty.busiest_second_limit(), 22);
        // 196 refilled, 2.9 in the bucket, a block of one: under the rate.
        let fast = PaceOptions { per_second: 200.0 };
        assert_eq!((fast.calls(), fast.busiest_second_limit()), (3_000, 199));
        let slow = PaceOptions { per_second: 0.2 };
        assert_eq!((slow.calls(), slow.busiest_second_limit()), (10, 3));
    }

    #[test]
    fn the_daemon_gets_the_benchmark_s_voice_account_and_limit() {
        let operator: toml::Table = r#"
            queue_prefix = "x."
            [routing]
            sms = "smsmode"
            voice = "mine"
            [voice.accounts.mine]
            provider = "vonage"
        "#
        .parse()
        .unwrap();
        let table = config_table(operator, "http://127.0.0.1:9").unwrap();
        let table = PaceOptions { per_second: 1.0 }.config_table(table).unwrap();
        let expected: toml::Table = format!(
            r#"
            queue_prefix = "x."
            [routing]
            sms = "smsmode"
            [voice.twilio]
            account_sid = "{ACCOUNT_SID}"
            auth_token = "{AUTH_TOKEN}"
            caller_id = "{CALLER_ID}"
            base_url = "http://127.0.0.1:9"
            [limits.twilio]
            per_second = 1.0
        "#
        )
        .parse()
        .unwrap();
        assert_eq!(table, expected);
    }
}
