//! RabbitMQ loses its data (its disk, or its virtual host deleted: definitions and messages
//! gone) and an admin restores it empty: the daemon reconnects and declares its topology again by
//! itself, and what the lost messages carried comes back from PostgreSQL, fan-out jobs included.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chrono::Utc;
use lapin::options::QueueDeclareOptions;
use serde_json::json;
use tocsin::{
    broker::{self, Publisher, Topology},
    clock::Clock,
    dispatch::pipeline::relay,
    model::{AlertId, Channel, Lane, Slug},
    store,
};
use tokio_util::sync::CancellationToken;

use crate::support::{Env, RETRY_DELAYS_MS, ServeProcess, TestDb, Vhost, eventually};

const RECIPIENTS: usize = 300;
/// One urgent SMS queue is worked; at most this many sends are in flight at once.
const SENDER_CONCURRENCY: usize = 2;
const SENDS_PER_BATCH: usize = 4;
/// Short, so that what was lost comes back within seconds.
const STALE_AFTER_MS: u64 = 2000;

fn dispatch() -> String {
    format!(
        "stale_after_ms = {STALE_AFTER_MS}\nsender_concurrency = {SENDER_CONCURRENCY}\n\
         sends_per_batch = {SENDS_PER_BATCH}\nbatch_size = 25\n"
    )
}

/// What a daemon's relay does before the daemon stops: publishes the outbox to the virtual host
/// (declared as the daemon declares it), with the daemon's own relay, and returns once the
/// outbox is empty. Nothing consumes the jobs.
async fn relay_outbox(env: &Env, amqp: &str) {
    let connection = broker::connect(amqp).await.unwrap();
    let tiers = RETRY_DELAYS_MS.map(Duration::from_millis);
    let topology = Topology::new(env.prefix.clone()).with_retry_tiers(&tiers);
    let setup = connection.create_channel().await.unwrap();
    let keys = topology.keys(std::iter::empty::<(Channel, &str)>());
    topology.declare(&setup, &keys).await.unwrap();
    let publisher = Publisher::open(&connection, &topology).await.unwrap();
    let db = env.db.pool().await;
    let stop = CancellationToken::new();
    let wake = tokio::sync::Notify::new();
    let poll = Duration::from_millis(50);
    let (relayed, ()) = tokio::join!(
        relay::run(&db, &publisher, &Clock::System, &wake, poll, &stop),
        async {
            eventually("the outbox is relayed", Duration::from_secs(10), || async {
                let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                left == 0
            })
            .await;
            stop.cancel();
        }
    );
    relayed.unwrap();
    let _ = connection.close(200, "relayed".into()).await;
}

/// SMS received per number, for the alert whose text holds `marker`.
fn received_per_number(env: &Env, marker: &str) -> HashMap<String, usize> {
    let mut received: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        if sms.text.contains(marker) {
            *received.entry(sms.to).or_default() += 1;
        }
    }
    received
}

/// Every recipient reached by the alert of `marker`; how many got it more than once.
fn duplicates_of(env: &Env, marker: &str) -> usize {
    let received = received_per_number(env, marker);
    assert_eq!(
        received.len(),
        RECIPIENTS,
        "every recipient reached ({marker})"
    );
    received.values().map(|&k| k - 1).sum()
}

/// Whether `queue` is declared in the virtual host at `amqp`.
async fn queue_exists(amqp: &str, queue: &str) -> bool {
    let Ok(connection) = broker::connect(amqp).await else {
        return false;
    };
    let channel = connection.create_channel().await.unwrap();
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let found = channel
        .queue_declare(queue.into(), passive, Default::default())
        .await
        .is_ok();
    let _ = connection.close(200, "looked".into()).await;
    found
}

/// Two losses of the broker's data. First an alert relayed while no instance ran, whose fan-out
/// job was lost before any fan-out took it: only the sweeper can start it again. Then, with a
/// daemon sending an urgent alert to 300 subscribers, the virtual host is deleted mid-alert and
/// restored empty. The daemon reconnects and declares its topology itself; both alerts complete;
/// every subscriber gets each alert, the lost one exactly once, the other at most twice for the
/// sends in flight when the connection broke (which the sender finishes and records, so 0 are
/// expected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_brokers_data_mid_alert_loses_no_alert_and_no_recipient() {
    let env = Env::new().await;
    let vhost = Vhost::create();
    let amqp = vhost.amqp_url();

    // An instance without a broker takes the drill alert (it waits in the outbox) and stops;
    // the relay publishes it, then the broker loses it before any fan-out took it.
    let mut first = ServeProcess::start(
        &env,
        &dispatch(),
        &[("TOCSIN_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")],
    )
    .await;
    let mairie = env.commune(&first.url, RECIPIENTS).await;
    let drill = mairie
        .alert(json!({ "topic": "intemperies", "channels": ["sms"],
                       "text": "Exercice : ceci est un test." }))
        .await;
    assert!(first.terminate().success());
    relay_outbox(&env, &amqp).await;
    vhost.lose_and_restore();

    env.smsmode.set_delay(Duration::from_millis(150));
    let daemon =
        ServeProcess::start(&env, &dispatch(), &[("TOCSIN_AMQP_URL", amqp.as_str())]).await;
    let mairie = mairie.at(&daemon.url);
    let flood = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue : évacuez les quais." }),
        )
        .await;
    eventually(
        "a third of the flood alert is sent",
        Duration::from_secs(60),
        || async { received_per_number(&env, "Crue").len() >= RECIPIENTS / 3 },
    )
    .await;
    let lost_at = Instant::now();
    vhost.lose_and_restore();
    let sent_at_loss = received_per_number(&env, "Crue").len();
    let restored = lost_at.elapsed();

    // The daemon's own queues again, declared by the daemon, and its consumers running.
    let send_queue = Topology::new(env.prefix.clone()).queue(&Topology::send_key(
        Channel::Sms,
        "smsmode",
        Lane::Urgent,
    ));
    eventually(
        "the daemon is ready again",
        Duration::from_secs(30),
        || async {
            let ready = reqwest::get(format!("{}/readyz", daemon.url))
                .await
                .unwrap();
            ready.status() == 200 && queue_exists(&amqp, &send_queue).await
        },
    )
    .await;
    let reconnected = lost_at.elapsed();

    let report = mairie
        .wait_completed_within(&flood, Duration::from_secs(60))
        .await;
    let completed = lost_at.elapsed();
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let report = mairie
        .wait_completed_within(&drill, Duration::from_secs(60))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    assert_eq!(report["recipients"], RECIPIENTS, "{report}");

    let flood_duplicates = duplicates_of(&env, "Crue");
    let drill_duplicates = duplicates_of(&env, "Exercice");
    let in_flight = SENDER_CONCURRENCY * SENDS_PER_BATCH;
    eprintln!(
        "broker data lost at {sent_at_loss}/{RECIPIENTS} sent (restored in {restored:?}): \
         daemon ready again after {reconnected:?}, alert completed after {completed:?}; \
         {flood_duplicates} duplicates (bound {in_flight}); lost fan-out job: \
         {drill_duplicates} duplicates"
    );
    assert_eq!(drill_duplicates, 0, "the drill was planned and sent once");
    assert!(
        flood_duplicates <= in_flight,
        "{flood_duplicates} sent twice; at most {in_flight} were in flight at the loss"
    );
    drop(daemon);
}

/// The sweeper's choice of lost fan-out jobs: relayed, not planned, in force, quiet for
/// `stale_after`, of a lane whose fan-out queue is idle; each one at most once per
/// `stale_after`. The relay notes when it published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_alerts_whose_fan_out_went_quiet_are_published_again() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let tenant = store::tenants::create(&pool, &Slug::parse("bras").unwrap(), "Bras")
        .await
        .unwrap();
    let topic = store::topics::create(&pool, tenant, &Slug::parse("crue").unwrap(), "Crue")
        .await
        .unwrap()
        .id;
    let alert = |lane: Lane| {
        let pool = pool.clone();
        async move {
            let id = AlertId::new();
            let mut tx = pool.begin().await.unwrap();
            let new = store::alerts::NewAlert {
                id,
                tenant_id: tenant,
                topic_id: topic,
                lane,
                channels: &[Channel::Sms],
                subject: "",
                body: "Crue",
                idempotency_key: None,
                request_hash: b"",
                expires_at: Utc::now() + chrono::Duration::hours(6),
                scheduled_at: None,
                starts_at: None,
                group_alert_id: None,
                exercise: false,
                voice_to_mobiles: false,
                until_acknowledged: false,
            };
            assert!(store::alerts::insert(&mut tx, &new).await.unwrap());
            tx.commit().await.unwrap();
            id
        }
    };
    let set = |id: AlertId, assignments: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE alerts SET {assignments} WHERE id = $1"
            )))
            .bind(id.0)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    let lost = alert(Lane::Urgent).await;
    set(lost, "fan_out_at = now() - interval '1 hour'").await;
    // Relayed by a version before `fan_out_at`: judged by when it became due.
    let lost_long_ago = alert(Lane::Urgent).await;
    set(lost_long_ago, "created_at = now() - interval '1 hour'").await;
    let relayed_now = alert(Lane::Urgent).await;
    let planning = alert(Lane::Urgent).await;
    set(
        planning,
        "created_at = now() - interval '1 hour', recipients = 10, fan_out_at = now()",
    )
    .await;
    let planned = alert(Lane::Urgent).await;
    set(
        planned,
        "fan_out_at = now() - interval '1 hour', planned_at = now()",
    )
    .await;
    let cancelled = alert(Lane::Urgent).await;
    set(
        cancelled,
        "created_at = now() - interval '1 hour', cancelled_at = now(), closed_at = now()",
    )
    .await;
    let expired = alert(Lane::Urgent).await;
    set(
        expired,
        "fan_out_at = now() - interval '1 hour', expires_at = now()",
    )
    .await;
    let bulk = alert(Lane::Bulk).await;
    set(bulk, "fan_out_at = now() - interval '1 hour'").await;
    // Timed for later: its job waits in the outbox.
    let timed = alert(Lane::Urgent).await;
    set(timed, "created_at = now() - interval '1 hour'").await;
    let mut tx = pool.begin().await.unwrap();
    for id in [relayed_now, timed] {
        let job = tocsin::broker::Job::FanOutV1 { alert: id }.encode();
        let message = store::outbox::Message {
            routing_key: "alerts.urgent",
            payload: &job,
            alert: Some(id),
            not_before: (id == timed).then(|| Utc::now() + chrono::Duration::hours(1)),
        };
        store::outbox::push(&mut tx, &message).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The relay publishes what is due, and notes when.
    let mut tx = pool.begin().await.unwrap();
    let due = store::outbox::lock_batch(&mut tx, Utc::now(), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    store::outbox::remove(&mut tx, &[due[0].id]).await.unwrap();
    tx.commit().await.unwrap();
    let (noted,): (bool,) =
        sqlx::query_as("SELECT fan_out_at > now() - interval '1 minute' FROM alerts WHERE id = $1")
            .bind(relayed_now.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(noted, "the relay notes when the job left");

    let minute = 60_000;
    let mut tx = pool.begin().await.unwrap();
    let mut found = store::outbox::lost_fan_outs(&mut tx, &[Lane::Urgent], minute, 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    found.sort();
    let mut expected = vec![(lost, Lane::Urgent), (lost_long_ago, Lane::Urgent)];
    expected.sort();
    assert_eq!(found, expected);

    // Published again just now: not again before another quiet minute. The bulk lane, once
    // its fan-out queue is idle, has its own.
    let mut tx = pool.begin().await.unwrap();
    let found = store::outbox::lost_fan_outs(&mut tx, &Lane::ALL, minute, 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(found, vec![(bulk, Lane::Bulk)]);
}
