use std::{collections::HashMap, time::Duration};

use serde_json::json;

use crate::support::{Client, Env, ServeProcess, Vhost, eventually};

/// The crashed instance below works one queue (urgent SMS): what it can have sent without
/// writing it is, per batch, `sends_per_batch` in flight and as many sent but not yet written
/// (the sender starts no send past that), times `sender_concurrency` batches.
const BATCH: usize = 10;
const CONCURRENCY: usize = 1;
const SENDS_PER_BATCH: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_send_loses_nothing_and_resends_at_most_what_was_in_flight() {
    let env = Env::new().await;
    // A slow provider, so that the crash lands in the middle of a batch.
    env.smsmode.set_delay(Duration::from_millis(300));
    let mut doomed = ServeProcess::start(
        &env,
        &format!(
            "batch_size = {BATCH}\nsender_concurrency = {CONCURRENCY}\n\
             sends_per_batch = {SENDS_PER_BATCH}\n"
        ),
        &[],
    )
    .await;
    let mairie = env.commune(&doomed.url, 40).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;

    // Kill it (SIGKILL: no shutdown at all) once it is well into its second batch.
    eventually(
        "the first instance is sending",
        Duration::from_secs(30),
        || async { env.smsmode.request_count() >= BATCH + 3 },
    )
    .await;
    doomed.kill();
    let before_crash = env.smsmode.request_count();

    env.smsmode.set_delay(Duration::ZERO);
    let daemon = env.start().await;
    let report = mairie.at(&daemon.url).wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 40, "{report}");

    let duplicates = duplicates_among(&env, 40);
    let unwritten = 2 * SENDS_PER_BATCH * CONCURRENCY;
    assert!(
        duplicates <= unwritten,
        "{duplicates} SMS sent twice; at most {unwritten} were sent and not written \
         ({before_crash} requests before the crash)"
    );
    let db = env.db.pool().await;
    let (retried,): (i64,) = sqlx::query_as("SELECT count(*) FROM deliveries WHERE attempts > 1")
        .fetch_one(&db)
        .await
        .unwrap();
    // Claimed twice: those in flight, and those claimed ahead of them (never sent by the
    // crashed instance: they count an attempt, not a duplicate). A claim takes at most 128
    // deliveries of one batch, here the whole batch of 10.
    let claimed = BATCH * CONCURRENCY;
    assert!(
        retried as usize <= claimed,
        "{retried} deliveries claimed twice"
    );
    // The crashed instance's batch lease goes once what it left is back on its way; the
    // others' as their batches end.
    eventually("no batch lease left", Duration::from_secs(20), || async {
        let (leases,): (i64,) = sqlx::query_as("SELECT count(*) FROM batch_leases")
            .fetch_one(&db)
            .await
            .unwrap();
        leases == 0
    })
    .await;
    daemon.stop().await;
}

/// The bound holds when the writer falls behind: outcome writes made slow (a trigger sleeps on
/// each row that becomes sent), a fast provider, one batch of 60. At any moment, the SMS the
/// provider received but whose outcome the ledger does not hold — what a crash would send again —
/// stay within `sends_per_batch` in flight plus as many unwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_but_unwritten_outcomes_stay_bounded_when_the_writer_falls_behind() {
    const SENDS: usize = 4;
    let env = Env::new().await;
    let daemon = crate::support::Daemon::start(env.config_with_file(&format!(
        "[dispatch]\nbatch_size = 60\nsender_concurrency = 1\nsends_per_batch = {SENDS}\n"
    )))
    .await;
    let mairie = env.commune(&daemon.url, 60).await;
    let db = env.db.pool().await;
    sqlx::raw_sql(
        "CREATE FUNCTION slow_outcome() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN PERFORM pg_sleep(0.15); RETURN NEW; END $$;
         CREATE TRIGGER slow_outcome BEFORE UPDATE ON deliveries FOR EACH ROW
             WHEN (OLD.status = 'sending' AND NEW.status = 'sent')
             EXECUTE FUNCTION slow_outcome();",
    )
    .execute(&db)
    .await
    .unwrap();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let mut widest = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        // The provider first, then the ledger: rows written between the two readings make this
        // an underestimate by what was written meanwhile (a few rows at 150 ms each), never an
        // overestimate. Numbers, not requests: on a loaded machine a lease may end under the
        // slowed writer and its row be sent again, which this bound is not about (README,
        // Known limits).
        let received: std::collections::HashSet<String> = env
            .smsmode
            .received()
            .into_iter()
            .map(|sms| sms.to)
            .collect();
        let received = received.len();
        // Written: the send's outcome is durable, whatever it was (`retrying` after a timeout
        // on a loaded machine is one). A row claimed again after its lease ended under the
        // slowed writer (attempts > 1) is the lease's known limit, not this bound: counted apart.
        let (written,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM deliveries
             WHERE status NOT IN ('queued', 'sending') OR attempts > 1",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        widest = widest.max(received.saturating_sub(written as usize));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::raw_sql("DROP TRIGGER slow_outcome ON deliveries")
        .execute(&db)
        .await
        .unwrap();
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 60, "{report}");
    eprintln!(
        "writer behind: at most {widest} SMS received and not written (bound {})",
        2 * SENDS
    );
    assert!(
        widest <= 2 * SENDS,
        "{widest} SMS were received by the provider and not written: a crash would send them \
         again"
    );
    daemon.stop().await;
}

/// Every recipient reached, and how many got it more than once.
fn duplicates_among(env: &Env, n: usize) -> usize {
    let mut received: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        *received.entry(sms.to).or_default() += 1;
    }
    assert_eq!(received.len(), n, "every recipient reached");
    received.values().map(|&k| k - 1).sum()
}

/// More attempts than the default, so that a tenth of provider calls failing never exhausts a
/// delivery's retries.
const PATIENT: &str = "max_attempts = 12\n";
const RECIPIENTS: usize = 20_000;

/// Two instances (with the variables `vars`) sharing one urgent alert to `RECIPIENTS`
/// subscribers while a tenth of provider calls fail: the instances, the commune and the alert.
async fn large_alert_on_two_instances(
    env: &Env,
    vars: &[(&str, &str)],
) -> (ServeProcess, ServeProcess, Client, String) {
    env.smsmode.fail_one_in(10);
    let a = ServeProcess::start(env, PATIENT, vars).await;
    let b = ServeProcess::start(env, PATIENT, vars).await;
    let mairie = env.commune(&a.url, RECIPIENTS).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue : évacuez les quais." }),
        )
        .await;
    (a, b, mairie, id)
}

/// The promise at scale: two instances share a 20,000-recipient alert while a tenth of provider
/// calls fail transiently; each is killed (SIGKILL) once and replaced. Every recipient gets the
/// alert, and the duplicates stay within what was sent and not written at the two kills
/// (2 × `sender_concurrency` × `sends_per_batch` each: in flight, and sent but not yet
/// written), under 2 % of the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kills_during_a_large_alert_with_failing_provider_calls_lose_nothing() {
    let defaults = tocsin::dispatch::Settings::default();
    let unwritten_per_kill = 2 * defaults.sender_concurrency as usize * defaults.sends_per_batch;
    let env = Env::new().await;
    let (mut a, mut b, mairie, id) = large_alert_on_two_instances(&env, &[]).await;

    eventually("a quarter is sent", Duration::from_secs(120), || async {
        env.smsmode.received().len() >= RECIPIENTS / 4
    })
    .await;
    a.kill();
    let a2 = ServeProcess::start(&env, PATIENT, &[]).await;
    eventually(
        "more than half is sent",
        Duration::from_secs(120),
        || async { env.smsmode.received().len() >= RECIPIENTS * 3 / 5 },
    )
    .await;
    b.kill();
    let _b2 = ServeProcess::start(&env, PATIENT, &[]).await;

    let report = mairie
        .at(&a2.url)
        .wait_completed_within(&id, Duration::from_secs(240))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let duplicates = duplicates_among(&env, RECIPIENTS);
    eprintln!(
        "{RECIPIENTS} recipients, two kills, 1 call in 10 failing: {duplicates} duplicates \
         (bound {})",
        2 * unwritten_per_kill
    );
    assert!(
        duplicates <= 2 * unwritten_per_kill && duplicates * 50 <= RECIPIENTS,
        "{duplicates} sent twice; at most {} were sent and not written at the two kills",
        2 * unwritten_per_kill
    );
}

/// The broker goes away for several seconds in the middle of a 20,000-recipient alert (its
/// connections closed, new ones refused, in a virtual host of the test's own) while a tenth of
/// provider calls fail: both live instances reconnect with backoff and finish, and nobody gets
/// the alert twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_during_a_large_alert_loses_and_doubles_nothing() {
    let env = Env::new().await;
    let vhost = Vhost::create();
    let amqp = vhost.amqp_url();
    let vars = [("TOCSIN_AMQP_URL", amqp.as_str())];
    let (_a, b, mairie, id) = large_alert_on_two_instances(&env, &vars).await;
    eventually("a third is sent", Duration::from_secs(120), || async {
        env.smsmode.received().len() >= RECIPIENTS / 3
    })
    .await;
    vhost.cut_off();
    let during = env.smsmode.received().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = reqwest::get(format!("{}/readyz", b.url)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    vhost.open();
    assert_eq!(ready.status(), 503, "readyz while the broker is away");

    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(240))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let duplicates = duplicates_among(&env, RECIPIENTS);
    eprintln!("{RECIPIENTS} recipients, broker away 5 s at {during} sent: {duplicates} duplicates");
    assert_eq!(
        duplicates, 0,
        "sent twice by live instances across a broker outage"
    );
}
