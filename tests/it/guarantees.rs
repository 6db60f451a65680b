use std::{collections::HashMap, time::Duration};

use serde_json::json;
use tocsin::{
    model::Role,
    store::{
        self,
        deliveries::{Claimed, Lease},
    },
};

use crate::support::{Client, Env, ServeProcess, TestDb, eventually};

/// Transient failures (503, 429 with Retry-After) are retried through the retry tiers until they
/// go through; a permanent one is never retried; every failed attempt is recorded.
#[tokio::test]
async fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for phone in ["0611111111", "0622222222", "0633333333", "0644444444"] {
        mairie.subscriber(Some(phone), None, &["intemperies"]).await;
    }
    env.smsmode
        .fail_recipient_times("33611111111", 503, 2, None);
    env.smsmode
        .fail_recipient_times("33622222222", 429, 1, Some(1));
    env.smsmode.fail_recipient("33633333333", 400);

    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Orages : restez chez vous." }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(
        report["counts"]["sms"],
        json!({ "queued": 0, "retrying": 0, "sent": 3, "delivered": 0, "failed": 1, "expired": 0, "acknowledged": 0 })
    );
    let mut received: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        *received.entry(sms.to).or_default() += 1;
    }
    for to in ["33611111111", "33622222222", "33644444444"] {
        assert_eq!(received.get(to), Some(&1), "{to}: {received:?}");
    }

    let db = env.db.pool().await;
    let attempts: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT d.address, a.attempt, a.outcome FROM delivery_attempts a
         JOIN deliveries d ON d.id = a.delivery_id ORDER BY d.address, a.attempt",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        attempts,
        [
            ("+33611111111".into(), 1, "transient".into()),
            ("+33611111111".into(), 2, "transient".into()),
            ("+33622222222".into(), 1, "rate_limited".into()),
            ("+33633333333".into(), 1, "permanent".into()),
        ]
    );
    // The permanent refusal was tried once; the 429 waited for its Retry-After (1 s).
    let (tries,): (i32,) =
        sqlx::query_as("SELECT attempts FROM deliveries WHERE address = '+33633333333'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(tries, 1);
    let (waited,): (f64,) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM d.sent_at - a.at)::float8 FROM deliveries d
         JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.address = '+33622222222'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(
        waited >= 1.0,
        "retried {waited} s after a Retry-After of 1 s"
    );

    // Whom the mayor should phone: the failed ones, masked, with the reason.
    let sender = Client::new(&daemon.url, &env.key("bras", Role::Sender).await);
    let failed = sender
        .get(&format!("/v1/alerts/{id}/deliveries?status=failed"))
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    let list = failed.body["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", failed.body);
    assert_eq!(list[0]["to"], "+33 6 ** ** ** 33");
    assert_eq!(list[0]["attempts"], 1);
    assert!(
        list[0]["error"].as_str().unwrap().starts_with("permanent"),
        "{}",
        failed.body
    );
    assert!(!failed.body.to_string().contains("633333333"));
    // Run without blocking: the daemon answering it lives on this test's runtime.
    let cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["status", &id, "--failed"])
        .env_clear()
        .env("TOCSIN_URL", &daemon.url)
        .env("TOCSIN_API_KEY", &sender.key)
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(
        listed.contains("+33 6 ** ** ** 33") && listed.contains("permanent"),
        "{listed}"
    );
    let bad = sender
        .get(&format!("/v1/alerts/{id}/deliveries?status=lost"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["field"], "status");

    // What operators graph, without tenants or addresses in it.
    let metrics = crate::support::metrics(&daemon.url).await;
    for line in [
        r#"tocsin_deliveries_total{channel="sms",outcome="sent",provider="smsmode"} 3"#,
        r#"tocsin_deliveries_total{channel="sms",outcome="retrying",provider="smsmode"} 3"#,
        r#"tocsin_deliveries_total{channel="sms",outcome="failed",provider="smsmode"} 1"#,
        r#"tocsin_retries_total{channel="sms",provider="smsmode"} 3"#,
        "tocsin_outbox_age_seconds 0",
        "tocsin_ready 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in:\n{metrics}"
        );
    }
    assert!(metrics.contains("tocsin_sends_in_flight"));
    assert!(
        !metrics.contains("bras") && !metrics.contains("3361"),
        "{metrics}"
    );
    eventually(
        "the sweeper measured the queues",
        Duration::from_secs(5),
        || async {
            let text = crate::support::metrics(&daemon.url).await;
            text.contains("tocsin_dead_letters 0")
                && text
                    .contains(r#"tocsin_queue_ready_messages{queue="send.sms.smsmode.urgent"} 0"#)
        },
    )
    .await;
    daemon.stop().await;
}

/// After its deadline nothing more of an alert is sent: a storm warning never arrives the next
/// day. What was still waiting counts as expired.
#[tokio::test]
async fn nothing_is_sent_after_the_alert_expires() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0611111111"), None, &["intemperies"])
        .await;
    mairie
        .subscriber(Some("0622222222"), None, &["intemperies"])
        .await;
    env.smsmode.fail_recipient("33611111111", 503);

    let too_short = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": "x", "expires_in": 10 }),
        )
        .await;
    assert_eq!(too_short.status, 400, "{}", too_short.body);
    assert_eq!(too_short.body["error"]["field"], "expires_in");

    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["sms"], "expires_in": 7200,
                       "text": "Orages cet après-midi." }),
        )
        .await;
    let db = env.db.pool().await;
    eventually("a retry is waiting", Duration::from_secs(20), || async {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM deliveries WHERE status = 'retrying'")
                .fetch_one(&db)
                .await
                .unwrap();
        n == 1
    })
    .await;
    // Time passes: the deadline is now.
    sqlx::query("UPDATE alerts SET expires_at = now()")
        .execute(&db)
        .await
        .unwrap();
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["expired"], 1, "{report}");
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    let tries = env.smsmode.request_count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.smsmode.request_count(),
        tries,
        "sent after the deadline"
    );
    daemon.stop().await;
}

fn ids_of(claimed: &[Claimed]) -> Vec<i64> {
    let mut ids: Vec<i64> = claimed.iter().map(|c| c.id.0).collect();
    ids.sort_unstable();
    ids
}

/// Two instances racing for the same ids (as after a broker redelivery) never share a row; a
/// claimed row stays with its owner until its lease ends, then another may take it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claims_on_the_same_rows_never_share_one_and_a_lease_holds_until_it_ends() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    store::migrate(&pool).await.unwrap();
    let lease = |length_ms| Lease {
        owner: uuid::Uuid::now_v7(),
        length: Duration::from_millis(length_ms),
    };
    for _ in 0..20 {
        let ids = crate::support::delivery_rows(&pool, 500).await;
        let (a, b) = (lease(60_000), lease(60_000));
        let (first, second) = tokio::join!(
            store::deliveries::claim(&pool, &ids, a),
            store::deliveries::claim(&pool, &ids, b)
        );
        let (first, second) = (ids_of(&first.unwrap()), ids_of(&second.unwrap()));
        assert!(
            first.iter().all(|id| second.binary_search(id).is_err()),
            "a row was claimed by both"
        );
        assert_eq!(first.len() + second.len(), ids.len());
    }

    // A redelivered message, seen by another instance: the rows stay with their owner.
    let ids = crate::support::delivery_rows(&pool, 50).await;
    let short = lease(1_000);
    let batch = store::leases::open(&pool, &ids, short).await.unwrap();
    assert_eq!(
        store::deliveries::claim(&pool, &ids, short)
            .await
            .unwrap()
            .len(),
        50
    );
    let other = lease(60_000);
    assert!(
        store::deliveries::claim(&pool, &ids, other)
            .await
            .unwrap()
            .is_empty()
    );
    // Renewed, the lease holds past its first end; once it ends, another takes over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        store::leases::renew(&pool, batch, &ids, short)
            .await
            .unwrap(),
        50
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        store::deliveries::claim(&pool, &ids, other)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The batch's lease row ended with its rows still `sending`: it stays for the sweeper.
    assert_eq!(store::leases::remove_spent(&pool).await.unwrap(), 0);
    let taken = store::deliveries::claim(&pool, &ids, other).await.unwrap();
    assert_eq!(taken.len(), 50);
    assert!(taken.iter().all(|c| c.attempts == 2));
    // Taken over, nothing of it is left to put back: the row goes.
    assert_eq!(store::leases::remove_spent(&pool).await.unwrap(), 1);
    pool.close().await;
}

/// Rows left behind reach their recipients: `sending` under an ended lease (its owner died) and
/// `queued` rows never announced are put back on their way by the sweeper.
#[tokio::test]
async fn the_sweeper_puts_stranded_deliveries_back_on_their_way() {
    let env = Env::new().await;
    let mut config = env.config();
    config.dispatch.stale_after = Duration::from_secs(5);
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for phone in ["0611111111", "0622222222", "0633333333"] {
        mairie.subscriber(Some(phone), None, &["intemperies"]).await;
    }
    let id = mairie
        .alert(json!({ "topic": "intemperies", "channels": ["sms"], "text": "Coupure d'eau." }))
        .await;
    mairie.wait_completed(&id).await;
    assert_eq!(env.smsmode.received().len(), 3);

    // As if an instance died mid-send (its batch's lease over) and a batch was never
    // announced.
    let db = env.db.pool().await;
    sqlx::query(
        "WITH stranded AS (
             UPDATE deliveries SET status = 'sending', owner = gen_random_uuid(),
                                   lease_until = now() - interval '1 second'
             WHERE address = '+33611111111'
             RETURNING id, owner
         )
         INSERT INTO batch_leases (owner, lease_until, deliveries)
         SELECT owner, now() - interval '1 second', array_agg(id) FROM stranded GROUP BY owner",
    )
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE deliveries SET status = 'queued', updated_at = now() - interval '1 hour'
         WHERE address = '+33622222222'",
    )
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("UPDATE alerts SET closed_at = NULL")
        .execute(&db)
        .await
        .unwrap();
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 3, "{report}");
    let received = env.smsmode.wait_for(5, Duration::from_secs(20)).await;
    let again: Vec<&str> = received[3..].iter().map(|s| s.to.as_str()).collect();
    let mut again = again.clone();
    again.sort();
    assert_eq!(again, ["33611111111", "33622222222"]);
    eventually("the alert is closed", Duration::from_secs(10), || async {
        let (closed,): (bool,) = sqlx::query_as("SELECT closed_at IS NOT NULL FROM alerts")
            .fetch_one(&db)
            .await
            .unwrap();
        closed
    })
    .await;
    daemon.stop().await;
}

/// SIGTERM in the middle of a batch: the sends already started finish and are recorded, the rest
/// is handed back, the process exits 0; another instance sends the rest, and nobody gets the
/// alert twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_batch_sends_nothing_twice_and_exits_cleanly() {
    let env = Env::new().await;
    env.smsmode.set_delay(Duration::from_millis(400));
    let mut first = ServeProcess::start(
        &env,
        "batch_size = 20\nsender_concurrency = 1\nsends_per_batch = 4\n",
        &[],
    )
    .await;
    let mairie = env.commune(&first.url, 40).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue" }),
        )
        .await;
    eventually("sending has begun", Duration::from_secs(30), || async {
        env.smsmode.request_count() >= 6
    })
    .await;
    let status = first.terminate();
    assert!(status.success(), "SIGTERM exits 0, not {status}");
    let sent_by_first = env.smsmode.received().len();
    assert!(
        sent_by_first < 40,
        "the first instance sent everything before it stopped"
    );

    env.smsmode.set_delay(Duration::ZERO);
    let second = env.start().await;
    let report = mairie.at(&second.url).wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 40, "{report}");
    let mut received: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        *received.entry(sms.to).or_default() += 1;
    }
    assert_eq!(received.len(), 40);
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "sent twice after a clean shutdown: {twice:?}"
    );
    second.stop().await;
}

/// A provider that answers too slowly is tried again, and the recipient is reached once the
/// provider is fast again. A timed-out request may have gone through: the attempt is recorded
/// as uncertain and counted (that recipient may get the alert twice, the at-least-once promise).
#[tokio::test]
async fn a_provider_that_times_out_is_tried_again() {
    let env = Env::new().await;
    let config = env.config_with_file("[sms.smsmode]\napi_key = \"x\"\ntimeout_ms = 300\n");
    let daemon = crate::support::Daemon::start(config).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(Some("0611111111"), None, &["intemperies"])
        .await;
    env.smsmode.set_delay(Duration::from_millis(800));
    let id = mairie
        .alert(json!({ "topic": "intemperies", "channels": ["sms"], "text": "Orages" }))
        .await;
    let db = env.db.pool().await;
    eventually("a timeout is recorded", Duration::from_secs(20), || async {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM delivery_attempts WHERE outcome = 'uncertain'")
                .fetch_one(&db)
                .await
                .unwrap();
        n >= 1
    })
    .await;
    env.smsmode.set_delay(Duration::ZERO);
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    let (reason,): (String,) =
        sqlx::query_as("SELECT reason FROM delivery_attempts ORDER BY attempt LIMIT 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(reason.contains("time"), "{reason}");
    let metrics = crate::support::metrics(&daemon.url).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tocsin_uncertain_sends_total{channel=\"sms\"")),
        "{metrics}"
    );
    daemon.stop().await;
}
