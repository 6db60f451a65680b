//! Upgrades: a rolling restart across the next version's migration loses and doubles nothing,
//! and `serve` refuses a database that lacks a migration it knows.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    cli::tocsin_within,
    support::{Env, ServeProcess, eventually},
};

const RECIPIENTS: usize = 600;
/// Each instance sends at most 2 × 4 SMS at once: with the stand-in's 200 ms, about 40 a second,
/// so that the alert lasts through both restarts.
const SETTINGS: &str = "sender_concurrency = 2\nsends_per_batch = 4\nbatch_size = 25\n";

fn received(env: &Env) -> usize {
    env.smsmode.received().len()
}

/// What the next version's `tocsin migrate` would do while the previous version runs: two
/// forward-compatible migrations, a nullable column on the deliveries, then its index built
/// without blocking writes (`CREATE INDEX CONCURRENTLY`, alone in its file, which sqlx runs
/// outside a transaction), each recorded in `_sqlx_migrations` as sqlx records it, with
/// versions newer than any this binary knows. Returns those versions.
async fn next_versions_migrations(db: &sqlx::PgPool) -> [i64; 2] {
    let (newest,): (i64,) = sqlx::query_as("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(db)
        .await
        .unwrap();
    let migrations = [
        (
            newest + 1,
            "delivery note",
            "ALTER TABLE deliveries ADD COLUMN note text;\n",
        ),
        (
            newest + 2,
            "delivery note index",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY deliveries_note ON deliveries (note) \
             WHERE note IS NOT NULL;\n",
        ),
    ];
    for (version, description, sql) in migrations {
        let started = Instant::now();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(db)
            .await
            .unwrap();
        // sqlx's checksum is the SHA-384 of the file's text; its time, in nanoseconds.
        sqlx::query(
            "INSERT INTO _sqlx_migrations
                 (version, description, installed_on, success, checksum, execution_time)
             VALUES ($1, $2, now(), true, sha384(convert_to($3, 'UTF8')), $4)",
        )
        .bind(version)
        .bind(description)
        .bind(sql)
        .bind(started.elapsed().as_nanos() as i64)
        .execute(db)
        .await
        .unwrap();
    }
    [newest + 1, newest + 2]
}

/// Two instances share an urgent alert to 600 subscribers. A is stopped (SIGTERM); the next
/// version's migrations are applied while B sends; A starts again on the migrated database,
/// whose newer migrations it does not know; then B is stopped and started again. The alert
/// completes and each subscriber gets exactly one SMS: SIGTERM finishes the sends in hand and
/// records them, and hands the rest back, so a restart doubles nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_across_the_next_versions_migration_sends_everything_once() {
    let env = Env::new().await;
    env.smsmode.set_delay(Duration::from_millis(200));
    let mut a = ServeProcess::start(&env, SETTINGS, &[]).await;
    let mut b = ServeProcess::start(&env, SETTINGS, &[]).await;
    let mairie = env.commune(&a.url, RECIPIENTS).await;
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Alerte crue : évacuez les quais." }),
        )
        .await;
    let started = Instant::now();
    let mut steps = Vec::new();
    eventually("a tenth is sent", Duration::from_secs(60), || async {
        received(&env) >= RECIPIENTS / 10
    })
    .await;

    let status = a.terminate();
    assert!(status.success(), "A stopped with {status}");
    steps.push(("A stopped", started.elapsed(), received(&env)));
    let db = env.db.pool().await;
    let versions = next_versions_migrations(&db).await;
    let migrated = received(&env);
    steps.push(("migrated", started.elapsed(), migrated));
    eventually("B sends on", Duration::from_secs(30), || async {
        received(&env) > migrated + 10
    })
    .await;

    // This version does not know the newer migrations: it starts all the same.
    let a = ServeProcess::start(&env, SETTINGS, &[]).await;
    steps.push(("A started again", started.elapsed(), received(&env)));
    let status = b.terminate();
    assert!(status.success(), "B stopped with {status}");
    let at_b_stop = received(&env);
    steps.push(("B stopped", started.elapsed(), at_b_stop));
    assert!(
        at_b_stop < RECIPIENTS,
        "the alert ended before B's restart: make it last longer"
    );
    let b = ServeProcess::start(&env, SETTINGS, &[]).await;
    steps.push(("B started again", started.elapsed(), received(&env)));

    let report = mairie
        .at(&b.url)
        .wait_completed_within(&id, Duration::from_secs(120))
        .await;
    steps.push(("completed", started.elapsed(), received(&env)));
    assert_eq!(report["counts"]["sms"]["sent"], RECIPIENTS, "{report}");
    let mut per_number: HashMap<String, usize> = HashMap::new();
    for sms in env.smsmode.received() {
        *per_number.entry(sms.to).or_default() += 1;
    }
    assert_eq!(per_number.len(), RECIPIENTS, "every subscriber reached");
    let duplicates: usize = per_number.values().map(|&k| k - 1).sum();
    for (step, at, sent) in &steps {
        eprintln!("{step:<16} at {at:>6.2?}: {sent} SMS received");
    }
    eprintln!("rolling restart across migrations {versions:?}: {duplicates} duplicates");
    assert_eq!(duplicates, 0, "sent twice across SIGTERMs");

    // The newer migrations are still recorded; this version's own `migrate` refuses to run
    // on them (it cannot tell what they did), naming the first it does not know.
    let (ok, stderr) = tocsin_within(&env, &[], &["migrate"], Duration::from_secs(30));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "migration {} was previously applied but is missing in the resolved migrations",
            versions[0]
        )),
        "{stderr}"
    );
    drop((a, b));
}

/// A database that lacks a migration this binary knows (its newest, here) is refused: `serve`
/// exits non-zero and names the step to take. (`first_minute` covers a database never
/// migrated.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_database_missing_one_migration_it_knows() {
    let env = Env::new().await;
    let db = env.db.pool().await;
    sqlx::query(
        "DELETE FROM _sqlx_migrations
         WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&db)
    .await
    .unwrap();
    let (ok, stderr) = tocsin_within(&env, &[], &["serve"], Duration::from_secs(10));
    assert!(
        !ok,
        "serve started on a database missing a migration: {stderr}"
    );
    assert!(
        stderr.contains("needs 1 migration(s)") && stderr.contains("tocsin migrate"),
        "{stderr}"
    );
}
