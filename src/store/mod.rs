//! PostgreSQL access: one module per table family, plain sqlx queries, no business rules.

pub mod acknowledgements;
pub mod alerts;
pub mod audit;
pub mod branding;
pub mod budgets;
pub mod calls;
pub mod confirmations;
pub mod console_sessions;
pub mod deliveries;
pub mod drafts;
pub mod erasure;
pub mod group_alerts;
pub mod key_versions;
pub mod leases;
pub mod outbox;
pub mod pending_opt_outs;
pub mod platform;
pub mod proof;
pub mod public_counters;
pub mod push;
pub mod ranges;
pub mod rates;
pub mod schedules;
pub mod service_messages;
pub mod sirets;
pub mod subscribers;
pub mod sweeps;
pub mod tallies;
pub mod templates;
pub mod tenants;
pub mod topics;
pub mod transitions;
pub mod tree;
pub mod usage;
pub mod users;

use std::time::Duration;

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub use sqlx::Error as DbError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The longest one statement may run: a backstop above the longest legitimate statement (a
/// million-row import's insert), so that no statement holds its locks and connection for ever.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest a statement waits for a lock (row, table or advisory): it then fails with SQLSTATE
/// 55P03, which callers treat as "try again later", instead of queueing behind a long import.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a transaction may stay open doing nothing (waiting on the broker, say): the
/// server then ends the session and its locks go with it.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens a pool. `max_connections` bounds what one instance may take from the server. Every
/// session it opens has the bounds above.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    connect_with(url, max_connections, None).await
}

/// [`connect`], each session holding the key of the opt-out list's hashes (the SQL function
/// `address_hash` reads it; a session without it fails rather than hash with no key). It is a
/// startup option: it appears in no statement, log line or `pg_stat_activity` row.
pub async fn connect_with_opt_out_key(
    url: &str,
    max_connections: u32,
    key: &[u8],
) -> Result<PgPool, DbError> {
    connect_with(url, max_connections, Some(key)).await
}

async fn connect_with(
    url: &str,
    max_connections: u32,
    opt_out_key: Option<&[u8]>,
) -> Result<PgPool, DbError> {
    let mut options: PgConnectOptions = url.parse()?;
    if let Some(key) = opt_out_key {
        options = options.options([("tocsin.opt_out_key", hex::encode(key))]);
    }
    let ms = |bound: Duration| format!("{}ms", bound.as_millis());
    let options = options.options([
        // Every execution is planned for the tables as they are. PostgreSQL otherwise keeps a
        // prepared statement's generic plan after five runs if it looks no dearer than the
        // custom ones, and a plan made while `deliveries` was small (a new installation, the
        // first chunk of an alert) scans the whole table: it stayed cached while the table grew
        // to a million rows, each claim of 256 deliveries then reading all of them. Planning
        // every execution costs PostgreSQL about a tenth of its CPU per delivery; the stale
        // plan cost each claim a hundred times its own time (BENCHMARKS.md).
        ("plan_cache_mode", "force_custom_plan".to_owned()),
        ("statement_timeout", ms(STATEMENT_TIMEOUT)),
        ("lock_timeout", ms(LOCK_TIMEOUT)),
        (
            "idle_in_transaction_session_timeout",
            ms(IDLE_IN_TRANSACTION_TIMEOUT),
        ),
    ]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        // An alert often comes after days of quiet: keep a few connections open so that it
        // does not wait for new ones (tens of milliseconds each).
        .min_connections(max_connections.min(4))
        // While PostgreSQL is away, API calls answer 503 after this rather than hang.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "the database {0:?} does not exist; `tocsin migrate` creates it (check the name in \
         database_url / TOCSIN_DATABASE_URL first)"
    )]
    Missing(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Opens a pool on a database that must exist: a mistyped name must not start an empty, healthy
/// instance. Only `tocsin migrate` creates databases ([`ensure_database`]).
pub async fn connect_existing(url: &str, max_connections: u32) -> Result<PgPool, ConnectError> {
    connect(url, max_connections).await.map_err(|error| {
        // SQLSTATE 3D000: invalid_catalog_name, the database does not exist.
        match &error {
            DbError::Database(e) if e.code().as_deref() == Some("3D000") => {
                let name = url::Url::parse(url)
                    .map(|u| u.path().trim_start_matches('/').to_string())
                    .unwrap_or_default();
                ConnectError::Missing(name)
            }
            _ => ConnectError::Db(error),
        }
    })
}

/// Creates the database named in `url` if it does not exist yet, so that a fresh machine needs no
/// manual `createdb` (for `tocsin migrate` only).
pub async fn ensure_database(url: &str) -> Result<(), DbError> {
    use sqlx::migrate::MigrateDatabase;
    if !sqlx::Postgres::database_exists(url).await? {
        sqlx::Postgres::create_database(url).await?;
        tracing::info!("created the database");
    }
    Ok(())
}

/// The URL of a database beside the configured one, named after it with `_suffix`
/// (`…/tocsin` → `…/tocsin_demo`): the demo's and the benchmark's own.
pub fn sibling_database_url(url: &str, suffix: &str) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(url)?;
    let name = url.path().trim_start_matches('/').to_string();
    let name = if name.is_empty() { "tocsin" } else { &name };
    url.set_path(&format!("/{name}_{suffix}"));
    Ok(url.to_string())
}

/// Drops the database named in `url` if it exists and creates it empty: for the demo's and the
/// benchmark's own databases, never a deployment's.
pub async fn recreate_database(url: &str) -> Result<(), DbError> {
    use sqlx::migrate::MigrateDatabase;
    if sqlx::Postgres::database_exists(url).await? {
        sqlx::Postgres::force_drop_database(url).await?;
    }
    sqlx::Postgres::create_database(url).await
}

/// Applies pending migrations; safe to run from several instances at once (sqlx takes an
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    // A migration may rewrite a large table: the serving bounds do not apply to it. It runs on a
    // connection of its own, so that the pool never hands out an unbounded session (later
    // startup options override earlier ones).
    let unbounded = pool
        .connect_options()
        .as_ref()
        .clone()
        .options([("statement_timeout", "0"), ("lock_timeout", "0")]);
    let migrating = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(unbounded)
        .await?;
    let migrated = MIGRATOR.run(&migrating).await;
    migrating.close().await;
    migrated
}

/// The migrations this binary knows that the database has not applied (all of them in a
/// database never migrated). Migrations the database has and this binary does not know are a
/// newer version's, applied mid rolling upgrade: they are forward-compatible by rule and do not
/// count.
pub async fn pending_migrations(pool: &PgPool) -> Result<usize, DbError> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(applied) => applied,
            // SQLSTATE 42P01: undefined_table, never migrated.
            Err(DbError::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
            Err(error) => return Err(error),
        };
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .count())
}

/// True when PostgreSQL is out of reach (no connection to be had, one broken, or the server
/// shutting down), as opposed to a fault in a query: worth retrying later.
pub fn is_unavailable(error: &DbError) -> bool {
    match error {
        DbError::PoolTimedOut | DbError::PoolClosed | DbError::Io(_) | DbError::Tls(_) => true,
        // Class 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot
        // connect now.
        DbError::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// True when trying the same statement again later may succeed: PostgreSQL is out of reach
/// ([`is_unavailable`]), or the statement lost a race it may win next time (a deadlock, a
/// serialization failure, a lock or statement timeout, the server short of resources). Anything
/// else (bad data, a constraint, a limit) fails again whatever the wait.
pub fn is_transient(error: &DbError) -> bool {
    if is_unavailable(error) {
        return true;
    }
    // 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available,
    // 57014 query_canceled (statement_timeout), class 53: insufficient resources.
    matches!(error, DbError::Database(e) if e.code().is_some_and(|code| {
        matches!(code.as_ref(), "40001" | "40P01" | "55P03" | "57014") || code.starts_with("53")
    }))
}

/// A short description of a database error for a row's reason: its SQLSTATE and message, which
/// name no value (values go to the error's detail, left out).
pub fn describe(error: &DbError) -> String {
    match error {
        DbError::Database(e) => format!(
            "SQLSTATE {}: {}",
            e.code().as_deref().unwrap_or("?"),
            crate::model::text::from_outside(e.message(), 200)
        ),
        other => crate::model::text::from_outside(&other.to_string(), 200),
    }
}

/// True when the error is a unique-constraint violation (SQLSTATE 23505).
pub fn is_unique_violation(error: &DbError) -> bool {
    matches!(error, DbError::Database(e) if e.code().as_deref() == Some("23505"))
}
