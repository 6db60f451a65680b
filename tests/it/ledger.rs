//! The delivery ledger: the per-alert tallies always agree with the rows they count, whatever
//! statement changed them, and status changes do not rewrite the table's indexes.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tocsin::{model::AlertId, store::ranges::TakenRange};

use crate::support::{Env, eventually};

/// `(channel, status, count)` read from the rows themselves, and from the tallies.
async fn both_counts(
    db: &PgPool,
    alert: &AlertId,
) -> (Vec<(String, String, i64)>, Vec<(String, String, i64)>) {
    let rows = sqlx::query_as(
        "SELECT channel, status, count(*) FROM deliveries WHERE alert_id = $1
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(alert.0)
    .fetch_all(db)
    .await
    .unwrap();
    let tallies = sqlx::query_as(
        "SELECT channel, status, sum(n)::bigint FROM delivery_tallies WHERE alert_id = $1
         GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2",
    )
    .bind(alert.0)
    .fetch_all(db)
    .await
    .unwrap();
    (rows, tallies)
}

#[tokio::test]
async fn tallies_follow_every_change_and_status_changes_leave_indexes_alone() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 40).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 40, "{report}");
    let alert: AlertId = id.parse().unwrap();
    let db = env.db.pool().await;
    let (rows, tallies) = both_counts(&db, &alert).await;
    assert_eq!(rows, vec![("sms".into(), "sent".into(), 40)]);
    assert_eq!(tallies, rows);

    // Receipts one by one and in bulk, a row moved back, rows removed: each kind of statement
    // keeps the tallies right.
    for _ in 0..5 {
        sqlx::query(
            "UPDATE deliveries SET status = 'delivered'
             WHERE id = (SELECT min(id) FROM deliveries WHERE alert_id = $1 AND status = 'sent')",
        )
        .bind(alert.0)
        .execute(&db)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE deliveries SET status = 'failed' WHERE id IN
             (SELECT id FROM deliveries WHERE alert_id = $1 AND status = 'sent' LIMIT 10)",
    )
    .bind(alert.0)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM deliveries WHERE id IN
             (SELECT id FROM deliveries WHERE alert_id = $1 AND status = 'failed' LIMIT 3)",
    )
    .bind(alert.0)
    .execute(&db)
    .await
    .unwrap();
    let (rows, tallies) = both_counts(&db, &alert).await;
    assert_eq!(
        rows,
        vec![
            ("sms".into(), "delivered".into(), 5),
            ("sms".into(), "failed".into(), 7),
            ("sms".into(), "sent".into(), 25)
        ]
    );
    assert_eq!(tallies, rows);
    let report = mairie.get(&format!("/v1/alerts/{id}")).await.body;
    assert_eq!(
        report["counts"]["sms"],
        json!({ "queued": 0, "retrying": 0, "sent": 25, "delivered": 5, "failed": 7, "expired": 0, "acknowledged": 0 })
    );

    // The daemon folds the tallies every second: one row per group is left, with the same sums
    // and answer times.
    let before = tocsin::store::tallies::answered_between(&db, alert)
        .await
        .unwrap();
    eventually(
        "the tallies folded into one row per status",
        Duration::from_secs(10),
        || async {
            let (rows, folded): (i64, i64) = sqlx::query_as(
                "SELECT count(*), count(*) FILTER (WHERE folded) FROM delivery_tallies
                 WHERE alert_id = $1",
            )
            .bind(alert.0)
            .fetch_one(&db)
            .await
            .unwrap();
            (rows, folded) == (3, 3)
        },
    )
    .await;
    let (rows_after, tallies_after) = both_counts(&db, &alert).await;
    assert_eq!(tallies_after, rows_after);
    let after = tocsin::store::tallies::answered_between(&db, alert)
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(after.len(), 1);

    // No index covers a column a send changes: claims and outcomes were HOT updates. (Backends
    // report their statistics when idle, within seconds.)
    eventually(
        "HOT updates of deliveries",
        Duration::from_secs(30),
        || async {
            let (hot,): (i64,) = sqlx::query_as(
                "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'deliveries'",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            hot > 0
        },
    )
    .await;
    daemon.stop().await;
}

/// A chunk is planned with a plain INSERT when no earlier attempt planned it. Should its rows
/// exist after all (two fan-outs of one alert at once), the unique key refuses it and it is
/// planned again leaving them alone: no row twice, no recipient counted twice.
#[tokio::test]
async fn a_chunk_planned_twice_as_new_creates_nothing_the_second_time() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 30).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 30, "{report}");
    let alert: AlertId = id.parse().unwrap();
    let db = env.db.pool().await;
    let (topic, provider): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT a.topic_id, d.provider FROM alerts a JOIN deliveries d ON d.alert_id = a.id
         WHERE a.id = $1 LIMIT 1",
    )
    .bind(alert.0)
    .fetch_one(&db)
    .await
    .unwrap();
    let routes = [tocsin::store::deliveries::ChannelRoute {
        channel: tocsin::model::Channel::Sms,
        accounts: vec![(provider, 1)],
    }];
    for planned_before in [false, true] {
        let created = tocsin::store::deliveries::plan_range(
            &db,
            alert,
            tocsin::model::TopicId(topic),
            (0, i64::MAX),
            &routes,
            None,
            planned_before,
        )
        .await
        .unwrap();
        assert!(created.is_empty(), "planned_before: {planned_before}");
    }
    let (rows, recipients): (i64, Option<i32>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM deliveries WHERE alert_id = $1), recipients
         FROM alerts WHERE id = $1",
    )
    .bind(alert.0)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((rows, recipients), (30, Some(30)));
}

/// A claim is planned for the table as it is when it runs. PostgreSQL keeps a generic plan for
/// a prepared statement after five executions when it costs no more than the custom ones: one
/// made while `deliveries` held a few hundred rows scans the whole table, and it stayed cached
/// as the table grew, so that in the bench every claim of 256 rows read all 100,000 of them
/// (130–160 ms instead of about 1 ms; PostgreSQL's CPU per 1,000 e-mails went from 40 to
/// 105 ms). A new installation's first large alert starts from such a table.
#[tokio::test]
async fn claims_are_never_run_from_a_plan_made_for_a_smaller_table() {
    let test_db = crate::support::TestDb::new().await;
    // One session: the prepared statements looked at below are those the claims used.
    let db = tocsin::store::connect(&test_db.url, 1).await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address)
         SELECT gen_random_uuid(), i, 'sms', 'smsmode', '+3361' || lpad(i::text, 8, '0')
         FROM generate_series(1, 300) AS i
         RETURNING id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let lease = tocsin::store::deliveries::Lease {
        owner: uuid::Uuid::now_v7(),
        length: Duration::from_secs(60),
    };
    for batch in ids.chunks(20) {
        let batch: Vec<_> = batch
            .iter()
            .map(|&id| tocsin::model::DeliveryId(id))
            .collect();
        let claimed = tocsin::store::deliveries::claim(&db, &batch, lease)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 20);
    }
    let (generic, custom): (i64, i64) = sqlx::query_as(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements
         WHERE statement LIKE '%SET status = ''sending''%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((generic, custom), (0, 15));
    db.close().await;
}

/// Fan-out plans ranges of subscribers; a sender creates a range's rows when it takes it. The
/// `queued` tally holds each range's count until then, and the rows' own count after: a
/// subscriber who left in between is neither sent to nor left counted. A fan-out done again
/// plans no range twice; a range taken twice (its job published twice) creates its rows once; a
/// job naming a range of another alert creates nothing; and ranges planned again over others
/// after the subscribers changed (their bounds moved) create no row twice.
#[tokio::test]
async fn a_range_taken_twice_creates_its_rows_once_and_forgets_who_left() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 30).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "text": "Crue", "channels": ["sms"] }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 30, "{report}");
    daemon.stop().await;
    let alert: AlertId = id.parse().unwrap();
    let db = env.db.pool().await;
    let (topic, provider): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT a.topic_id, d.provider FROM alerts a JOIN deliveries d ON d.alert_id = a.id
         WHERE a.id = $1 LIMIT 1",
    )
    .bind(alert.0)
    .fetch_one(&db)
    .await
    .unwrap();
    // The alert as fan-out first finds it: no range, no row, no tally, no recipient.
    for statement in [
        "DELETE FROM deliveries WHERE alert_id = $1",
        "DELETE FROM delivery_ranges WHERE alert_id = $1",
        "DELETE FROM delivery_tallies WHERE alert_id = $1",
        "UPDATE alerts SET recipients = NULL WHERE id = $1",
    ] {
        sqlx::query(statement)
            .bind(alert.0)
            .execute(&db)
            .await
            .unwrap();
    }
    let routes = [tocsin::store::deliveries::ChannelRoute {
        channel: tocsin::model::Channel::Sms,
        accounts: vec![(provider, 1)],
    }];
    let topic = tocsin::model::TopicId(topic);
    let plan = || tocsin::store::ranges::plan_ranges(&db, alert, topic, (0, i64::MAX), &routes, 10);
    let untaken = || tocsin::store::ranges::untaken_in(&db, alert, (0, i64::MAX));
    // Taken without a lease, as a sender takes the ranges of an alert past its deadline: the
    // rows are created `queued` (a sender's own claim is the claims' tests' business).
    let pool = &db;
    let take = |range: i64| async move {
        match tocsin::store::ranges::take(pool, alert, range, None)
            .await
            .unwrap()
        {
            TakenRange::Rows(ids) => ids,
            claimed => panic!("claimed without a lease: {claimed:?}"),
        }
    };
    let recipients = || async {
        let (recipients,): (Option<i32>,) =
            sqlx::query_as("SELECT recipients FROM alerts WHERE id = $1")
                .bind(alert.0)
                .fetch_one(&db)
                .await
                .unwrap();
        recipients
    };
    let ranges = plan().await.unwrap();
    assert_eq!(
        ranges.iter().map(|r| r.expected).collect::<Vec<_>>(),
        [10, 10, 10]
    );
    assert_eq!(
        both_counts(&db, &alert).await,
        (vec![], vec![("sms".into(), "queued".into(), 30)])
    );
    assert_eq!(recipients().await, Some(30));
    // Fan-out done again: nothing planned twice; what is untaken is announced again.
    assert!(plan().await.unwrap().is_empty());
    assert_eq!(untaken().await.unwrap(), ranges);
    assert_eq!(recipients().await, Some(30));

    // The first subscriber of the first range leaves before it is taken.
    let (first,): (i64,) =
        sqlx::query_as("SELECT min(subscriber_id) FROM subscriptions WHERE topic_id = $1")
            .bind(topic.0)
            .fetch_one(&db)
            .await
            .unwrap();
    sqlx::query("DELETE FROM subscriptions WHERE topic_id = $1 AND subscriber_id = $2")
        .bind(topic.0)
        .bind(first)
        .execute(&db)
        .await
        .unwrap();
    let elsewhere = tocsin::store::ranges::take(&db, AlertId::new(), ranges[0].id, None)
        .await
        .unwrap();
    assert!(
        matches!(&elsewhere, TakenRange::Rows(ids) if ids.is_empty()),
        "a range taken for another alert: {elsewhere:?}"
    );
    let taken = take(ranges[0].id).await;
    assert_eq!(taken.len(), 9);
    assert_eq!(take(ranges[0].id).await, taken, "taken twice");
    assert_eq!(
        both_counts(&db, &alert).await,
        (
            vec![("sms".into(), "queued".into(), 9)],
            vec![("sms".into(), "queued".into(), 29)]
        )
    );

    // Planned again now, the ranges after the first have other bounds and overlap those planned
    // before: taking all of them creates each subscriber's row once.
    let shifted = plan().await.unwrap();
    assert_eq!(
        shifted.iter().map(|r| r.expected).collect::<Vec<_>>(),
        [10, 9]
    );
    let mut created = taken.len();
    for range in untaken().await.unwrap() {
        created += take(range.id).await.len();
    }
    assert_eq!(created, 29);
    assert!(untaken().await.unwrap().is_empty());
    let (rows, tallies) = both_counts(&db, &alert).await;
    assert_eq!(rows, vec![("sms".into(), "queued".into(), 29)]);
    assert_eq!(tallies, rows);
    // Such a fan-out counts its recipients again once it is done.
    tocsin::store::ranges::recount_recipients(&db, alert, topic, &routes)
        .await
        .unwrap();
    assert_eq!(recipients().await, Some(29));
}
