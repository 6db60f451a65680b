//! One bad row never stops an instance: a provider's corrupt answer fails its own row only, an
//! outcome PostgreSQL refuses is recorded as failed while the rest is written, a late outcome
//! of a claim taken over changes nothing, and what providers and citizens send is cleaned
//! before it is stored.

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tocsin::{
    dispatch::{metrics::Metrics, pipeline::outcomes::OutcomeWriter},
    model::DeliveryStatus,
    store::{
        self,
        deliveries::{Fence, Lease, Transition},
    },
};

use crate::support::{Env, TestDb, eventually};

const RECIPIENTS: usize = 20_000;

/// Regression: a provider answered a message id holding a NUL; PostgreSQL refused the outcome,
/// the writer retried it for ever, every sender of the instance waited behind it and the
/// alert never closed. Now the row fails with its reason, and every other recipient is reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answering_a_nul_in_message_ids_fails_those_rows_only_and_the_alert_closes() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, RECIPIENTS).await;
    env.smsmode.nul_message_id_one_in(1_000);
    let started = std::time::Instant::now();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue : évacuez les quais." }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(300))
        .await;
    let elapsed = started.elapsed();
    let bad = RECIPIENTS / 1_000;
    assert_eq!(
        report["counts"]["sms"],
        json!({ "queued": 0, "retrying": 0, "sent": RECIPIENTS - bad, "delivered": 0,
                "failed": bad, "expired": 0, "acknowledged": 0 }),
        "{report}"
    );
    // The provider took every message, each once.
    let mut to: Vec<String> = env.smsmode.received().into_iter().map(|s| s.to).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), RECIPIENTS);
    assert_eq!(
        env.smsmode.accepted_count(),
        RECIPIENTS,
        "nothing sent twice"
    );

    let db = env.db.pool().await;
    let failed: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT error, provider_message_id FROM deliveries WHERE status = 'failed'")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(failed.len(), bad);
    for (error, message_id) in &failed {
        assert!(
            error.contains("message id contains the control character U+0000"),
            "{error}"
        );
        assert_eq!(message_id, &None, "a corrupt id is not stored");
    }
    eventually("the alert is closed", Duration::from_secs(30), || async {
        let (closed,): (bool,) =
            sqlx::query_as("SELECT closed_at IS NOT NULL FROM alerts WHERE closed_at IS NOT NULL")
                .fetch_optional(&db)
                .await
                .unwrap()
                .unwrap_or((false,));
        closed
    })
    .await;
    let metrics = crate::support::metrics(&daemon.url).await;
    let writes_refused = metrics
        .lines()
        .filter(|l| l.starts_with("tocsin_outcome_write_errors_total{"))
        .collect::<Vec<_>>();
    eprintln!(
        "{RECIPIENTS} recipients, a NUL in one message id in 1,000: {} sent, {} failed, \
         completed in {:.1} s; refused writes: {writes_refused:?}",
        RECIPIENTS - bad,
        failed.len(),
        elapsed.as_secs_f64()
    );
    daemon.stop().await;
}

/// An outcome PostgreSQL refuses whatever the wait (here a NUL, which it never stores) is
/// recorded as failed with the reason, logged and counted; the other outcomes of the same write
/// are recorded, and every sender waiting on the writer is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_postgres_refuses_fails_its_own_row_and_the_others_are_written() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    store::migrate(&pool).await.unwrap();
    let ids = crate::support::delivery_rows(&pool, 200).await;
    let lease = Lease {
        owner: uuid::Uuid::now_v7(),
        length: Duration::from_secs(60),
    };
    let claimed = store::deliveries::claim(&pool, &ids, lease).await.unwrap();
    assert_eq!(claimed.len(), 200);
    let metrics = Arc::new(Metrics::default());
    let (writer, task) = OutcomeWriter::start(pool.clone(), metrics.clone(), 1);
    let mut recorded = Vec::new();
    for (i, delivery) in claimed.iter().enumerate() {
        let message_id = if i == 57 {
            "msg\0corrupt".to_string()
        } else {
            format!("msg-{i}")
        };
        let outcome = Transition {
            fence: Some(Fence::of(delivery, &lease)),
            provider_message_id: Some(message_id),
            answered_at: Some(chrono::Utc::now()),
            ..Transition::to(delivery.id, DeliveryStatus::Sent)
        };
        recorded.push(writer.record(outcome).await);
    }
    let all = async {
        for done in recorded {
            assert!(done.durable().await);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all)
        .await
        .expect("every sender is answered; no write waits for ever");
    drop(writer);
    task.await.unwrap();

    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, [("failed".into(), 1), ("sent".into(), 199)]);
    let (error,): (String,) =
        sqlx::query_as("SELECT error FROM deliveries WHERE status = 'failed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        error.starts_with("its outcome (sent) could not be recorded: SQLSTATE 22021"),
        "{error}"
    );
    assert!(
        metrics
            .render()
            .contains(r#"tocsin_outcome_write_errors_total{step="outcome"} 1"#)
    );
    pool.close().await;
}

/// The fence: after a lease ended and the row was claimed again (here by the same instance, for
/// another batch), a late outcome of the first claim changes nothing, nor records an attempt;
/// the outcome of the claim that holds the row is written.
#[tokio::test]
async fn a_late_outcome_of_a_claim_taken_over_changes_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    store::migrate(&pool).await.unwrap();
    let ids = crate::support::delivery_rows(&pool, 10).await;
    let lease = Lease {
        owner: uuid::Uuid::now_v7(),
        length: Duration::from_millis(300),
    };
    let first = store::deliveries::claim(&pool, &ids, lease).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = store::deliveries::claim(&pool, &ids, lease).await.unwrap();
    assert_eq!(again.len(), 10, "taken over once the lease ended");

    let failed = |delivery: &store::deliveries::Claimed| Transition {
        fence: Some(Fence::of(delivery, &lease)),
        error: Some("transient: late".into()),
        failed_attempt: Some(store::deliveries::FailedAttempt {
            attempt: delivery.attempts,
            provider: "smsmode".into(),
            outcome: "transient",
            reason: "late".into(),
        }),
        ..Transition::to(delivery.id, DeliveryStatus::Failed)
    };
    let late: Vec<Transition> = first.iter().map(failed).collect();
    assert_eq!(
        store::deliveries::record_outcomes(&pool, &late)
            .await
            .unwrap(),
        0
    );
    let (attempts,): (i64,) = sqlx::query_as("SELECT count(*) FROM delivery_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        attempts, 0,
        "no attempt recorded for a claim that lost the row"
    );
    let current: Vec<Transition> = again
        .iter()
        .map(|d| Transition {
            fence: Some(Fence::of(d, &lease)),
            ..Transition::to(d.id, DeliveryStatus::Sent)
        })
        .collect();
    assert_eq!(
        store::deliveries::record_outcomes(&pool, &current)
            .await
            .unwrap(),
        10
    );
    pool.close().await;
}

/// What providers and citizens send is outside text: a NUL in a callback's message id or
/// detail, an endless message id, a status value with a line break, a NUL in an inbound SMS
/// are answered 200 and stored cleaned (or not at all), never a 500.
#[tokio::test]
async fn callbacks_and_inbound_sms_with_nul_and_endless_values_are_answered_and_cleaned() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 3).await;
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue" }))
        .await;
    mairie.wait_completed(&id).await;
    let sent = env.smsmode.received();
    let db = env.db.pool().await;
    let token = env.callback_token("bras").await;
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let (http, url) = (http.clone(), format!("{}{path}", daemon.url));
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    let status = format!("/cb/smsmode/{token}/status");

    let mut nul_id = sent[0].status_callback("DELIVERED", None);
    nul_id["messageId"] = json!("abc\u{0}def");
    nul_id.as_object_mut().unwrap().remove("refClient");
    let mut endless_id = sent[0].status_callback("DELIVERED", None);
    endless_id["messageId"] = json!("9".repeat(30_000));
    endless_id.as_object_mut().unwrap().remove("refClient");
    let nul_detail = sent[1].status_callback("UNDELIVERABLE", Some("BLACK\u{0}LISTED\nERROR x"));
    let endless_detail = sent[2].status_callback("UNDELIVERABLE", Some(&"é".repeat(20_000)));
    // Past the 64 KiB a public route reads, a report is refused before anything reads it.
    let mut huge_id = sent[0].status_callback("DELIVERED", None);
    huge_id["messageId"] = json!("9".repeat(900_000));
    let huge_detail = sent[2].status_callback("UNDELIVERABLE", Some(&"é".repeat(200_000)));
    for (what, body) in [
        ("a 900 kB messageId", huge_id),
        ("a 400 kB detail", huge_detail),
    ] {
        assert_eq!(
            post(status.clone(), body).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{what}"
        );
    }
    let forged_line = sent[0].status_callback("READ\n2026-12-05T01:00:00Z ERROR forged", None);
    for (what, body) in [
        ("a NUL in messageId", nul_id),
        ("a 30 kB messageId", endless_id),
        ("a NUL and a line break in status.detail", nul_detail),
        ("a 40 kB status.detail", endless_detail),
        ("a line break in status.value", forged_line),
    ] {
        assert_eq!(post(status.clone(), body).await, StatusCode::OK, "{what}");
    }
    eventually(
        "the reports are recorded",
        Duration::from_secs(5),
        || async {
            let (n,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM deliveries WHERE status = 'failed'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            n == 2
        },
    )
    .await;
    let errors: Vec<(String,)> =
        sqlx::query_as("SELECT error FROM deliveries WHERE status = 'failed' ORDER BY error")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(errors[0].0, "smsmode UNDELIVERABLE BLACK LISTED ERROR x");
    assert!(errors[1].0.starts_with("smsmode UNDELIVERABLE éé"));
    assert_eq!(errors[1].0.chars().count(), 500);
    let (early,): (i64,) = sqlx::query_as("SELECT count(*) FROM early_reports")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(early, 0, "no unusable message id is kept");

    let inbound = format!("/cb/smsmode/{token}/inbound");
    let reply = json!({"messageId": "mo-1", "type": "SMS", "direction": "MO",
                       "from": "33655555555", "recipient": {"to": "36034"},
                       "body": {"text": "Alerte\u{0}\r\n"}});
    assert_eq!(post(inbound, reply).await, StatusCode::OK);
    let (evidence,): (Option<String>,) =
        sqlx::query_as("SELECT evidence FROM consents WHERE method = 'sms_keyword'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(evidence.as_deref(), Some("Alerte   "));
    daemon.stop().await;
}

/// Regression: OVH's replies were deleted there as soon as they were read, so a STOP fetched
/// while PostgreSQL refused to record it was lost. Now it stays at OVH until it is recorded,
/// and is answered once, after.
#[tokio::test]
async fn a_stop_fetched_from_ovh_while_it_cannot_be_recorded_stays_there_until_it_is() {
    let env = Env::new().await;
    let (ovh, daemon, _) = env.commune_on_ovh().await;
    let db = env.db.pool().await;

    // The opt-out list cannot be written: every attempt to record the STOP fails.
    sqlx::query("ALTER TABLE opt_outs RENAME TO opt_outs_away")
        .execute(&db)
        .await
        .unwrap();
    ovh.receive("+33611223344", "STOP");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        ovh.incoming_count(),
        1,
        "left at OVH while it cannot be recorded"
    );
    assert!(
        ovh.received().is_empty(),
        "not answered before it is recorded"
    );

    sqlx::query("ALTER TABLE opt_outs_away RENAME TO opt_outs")
        .execute(&db)
        .await
        .unwrap();
    let replies = ovh.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        replies[0].message.contains("vous ne recevrez plus"),
        "{replies:?}"
    );
    assert_eq!(ovh.incoming_count(), 0, "removed once recorded");
    let (opted_out,): (i64,) = sqlx::query_as("SELECT count(*) FROM opt_outs")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(opted_out, 1, "the STOP holds");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(ovh.received().len(), 1, "answered once");
    daemon.stop().await;
}

/// Regression: a provider's report that a recipient opted out waited for the commune's
/// subscriber lock, which an import holds for its whole transaction, and the outcomes of every
/// commune waited behind it. Now the opt-out waits on its own and is applied once the import
/// ends; another commune's alert goes out meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commune_s_import_never_holds_up_another_s_outcomes() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let bras = env.tenant(&daemon, "bras").await;
    bras.topic("intemperies").await;
    bras.subscriber(Some("0611111111"), None, &["intemperies"])
        .await;
    bras.subscriber(Some("0622222222"), None, &["intemperies"])
        .await;
    let meuse = env.tenant(&daemon, "meuse").await;
    meuse.topic("intemperies").await;
    meuse
        .subscriber(Some("0633333333"), None, &["intemperies"])
        .await;
    env.smsmode
        .undeliverable_recipient("33611111111", "BLACKLISTED");
    let db = env.db.pool().await;

    // An import of Bras holds its subscribers' lock for as long as it runs.
    let mut import = db.begin().await.unwrap();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(id::text, 0)) FROM tenants
         WHERE slug = 'bras'",
    )
    .execute(&mut *import)
    .await
    .unwrap();
    let alert = json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                        "text": "Crue : évacuez les quais." });
    let id = bras.alert(alert.clone()).await;
    let report = bras.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["failed"], 1, "{report}");
    // Meuse's alert goes out while Bras' import still runs.
    let id = meuse.alert(alert).await;
    let report = meuse
        .wait_completed_within(&id, Duration::from_secs(10))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&db).await.unwrap();
            n
        }
    };
    assert_eq!(count("SELECT count(*) FROM pending_opt_outs").await, 1);
    assert_eq!(count("SELECT count(*) FROM opt_outs").await, 0);

    // The import ends: the STOP the provider reported holds.
    import.rollback().await.unwrap();
    eventually(
        "the opt-out is applied",
        Duration::from_secs(10),
        || async { count("SELECT count(*) FROM opt_outs").await == 1 },
    )
    .await;
    assert_eq!(count("SELECT count(*) FROM pending_opt_outs").await, 0);
    assert_eq!(
        count("SELECT count(*) FROM subscribers WHERE phone = '+33611111111'").await,
        0,
        "the number is forgotten"
    );
    daemon.stop().await;
}

/// A sender whose lease renewal fails starts no more sends of that batch: past the lease's end
/// the sweeper gives its rows to another sender, and a send started then would go twice. Here
/// every renewal fails and each send takes 600 ms, so a batch (250 rows, 32 at a time) would
/// outlast its lease (2 s): still every recipient gets the alert once. (A send started just
/// before the failed renewal must end within the rest of the lease: 600 ms leave a margin.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_whose_lease_cannot_be_renewed_starts_no_more_sends_of_that_batch() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 300).await;
    let db = env.db.pool().await;
    // Renewals fail; opening, claiming and recording work.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_renewal() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'renewal refused by the test'; END $$;
         CREATE TRIGGER refuse_renewal BEFORE UPDATE ON batch_leases
             FOR EACH ROW EXECUTE FUNCTION refuse_renewal();",
    )
    .execute(&db)
    .await
    .unwrap();
    env.smsmode.set_delay(Duration::from_millis(600));
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue : évacuez les quais." }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(120))
        .await;
    assert_eq!(report["counts"]["sms"]["sent"], 300, "{report}");
    let received = env.smsmode.received();
    let mut to: Vec<&str> = received.iter().map(|s| s.to.as_str()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), 300, "every recipient reached");
    assert_eq!(received.len(), 300, "nobody twice");
    daemon.stop().await;
}

/// Regression: the sweeper's rules shared one transaction, so one failing rule rolled back
/// expiry and closing for every alert. Here the rule of ended leases fails at every sweep (its
/// table is away): an alert past its deadline still expires what is left and closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sweeper_rule_does_not_undo_expiry_and_closing() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 3).await;
    env.smsmode.fail_recipient("33600000001", 503);
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue : évacuez les quais." }),
        )
        .await;
    let db = env.db.pool().await;
    eventually(
        "a delivery is retrying",
        Duration::from_secs(20),
        || async {
            let (n,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM deliveries WHERE status = 'retrying'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            n == 1
        },
    )
    .await;
    sqlx::raw_sql(
        "ALTER TABLE batch_leases RENAME TO batch_leases_away;
         UPDATE alerts SET expires_at = now();",
    )
    .execute(&db)
    .await
    .unwrap();
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["expired"], 1, "{report}");
    eventually("the alert is closed", Duration::from_secs(10), || async {
        let (closed,): (bool,) = sqlx::query_as("SELECT closed_at IS NOT NULL FROM alerts")
            .fetch_one(&db)
            .await
            .unwrap();
        closed
    })
    .await;
    sqlx::query("ALTER TABLE batch_leases_away RENAME TO batch_leases")
        .execute(&db)
        .await
        .unwrap();
    daemon.stop().await;
}

/// Every session of the daemon's pool has its bounds; the migrations' own session does not.
#[tokio::test]
async fn the_pool_s_sessions_are_bounded() {
    let db = TestDb::new().await;
    let pool = store::connect(&db.url, 2).await.unwrap();
    store::migrate(&pool).await.unwrap();
    for (setting, bound) in [
        ("statement_timeout", "5min"),
        ("lock_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "1min"),
    ] {
        let (value,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(value, bound, "{setting}");
    }
    pool.close().await;
}
