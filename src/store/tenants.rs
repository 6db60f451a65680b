//! Tenants (communes, intercommunalities, départements) and their API keys.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use super::DbError;
use crate::model::{
    ApiKeyId, QuietHours, Role, Slug, SmsCountries, TenantId,
    keys::{KeyHash, KeyVersion},
    local_time,
    phone::Region,
};

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub clock: LocalClock,
    pub senders: TenantSenders,
    /// The version of the token in the URLs providers call back (`model::callback_tokens`).
    pub callback_token_version: i32,
    /// Where it is, for numbers written in national form.
    pub region: Region,
    /// The countries its public routes and SMS keywords may text.
    pub sms_countries: SmsCountries,
}

/// Whom a tenant's messages come from, beyond the platform's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSenders {
    /// The configured SMS account carrying its SMS; the routing default when absent.
    pub sms_account: Option<String>,
    /// The account its new SMS go to while the first is failing.
    pub sms_secondary: Option<String>,
    /// The sender its SMS show; the account's when absent.
    pub sms_sender: Option<String>,
    /// The From of its e-mails; the account's when absent.
    pub email_from: Option<String>,
    /// Alerts that name no channels call too (`tenant update --voice on`).
    pub voice_enabled: bool,
    /// The number its calls present, where the voice account lets communes present their own.
    pub voice_caller_id: Option<String>,
    /// The most segments one of its SMS may take.
    pub max_sms_segments: i32,
}

/// A tenant's clock: its time zone and its quiet hours, if any.
#[derive(Debug, Clone, Copy)]
pub struct LocalClock {
    pub time_zone: Tz,
    pub quiet_hours: Option<QuietHours>,
}

/// Creates a commune under the platform (`store::tree::create` places a tenant elsewhere).
pub async fn create(pool: &PgPool, slug: &Slug, name: &str) -> Result<TenantId, DbError> {
    let id = TenantId::new();
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, parent_id)
         SELECT $1, $2, $3, id FROM tenants WHERE kind = 'platform'",
    )
    .bind(id.0)
    .bind(slug.as_str())
    .bind(name)
    .execute(pool)
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: uuid::Uuid,
    slug: String,
    name: String,
    time_zone: String,
    quiet_start: Option<NaiveTime>,
    quiet_end: Option<NaiveTime>,
    sms_account: Option<String>,
    sms_secondary: Option<String>,
    sms_sender: Option<String>,
    email_from: Option<String>,
    voice_enabled: bool,
    voice_caller_id: Option<String>,
    callback_token_version: i32,
    max_sms_segments: i32,
    region: String,
    sms_countries: Vec<String>,
}

const SELECT_TENANT: &str = "SELECT id, slug, name, time_zone, quiet_start, quiet_end,
        sms_account, sms_secondary, sms_sender, email_from, voice_enabled, voice_caller_id,
        callback_token_version, max_sms_segments,
        region, sms_countries
     FROM tenants";

fn from_row(row: TenantRow) -> Tenant {
    let (id, slug, name, zone, start, end) = (
        row.id,
        row.slug,
        row.name,
        row.time_zone,
        row.quiet_start,
        row.quiet_end,
    );
    // Zones are checked when written; one that a newer tz database dropped falls back to Paris
    // rather than stopping the tenant's alerts.
    let time_zone = local_time::time_zone(&zone).unwrap_or_else(|problem| {
        tracing::warn!(tenant = %slug, %problem, "using Europe/Paris");
        chrono_tz::Europe::Paris
    });
    let quiet_hours = start.zip(end).and_then(|(s, e)| QuietHours::new(s, e).ok());
    Tenant {
        id: TenantId(id),
        slug,
        name,
        clock: LocalClock {
            time_zone,
            quiet_hours,
        },
        senders: TenantSenders {
            sms_account: row.sms_account,
            sms_secondary: row.sms_secondary,
            sms_sender: row.sms_sender,
            email_from: row.email_from,
            voice_enabled: row.voice_enabled,
            voice_caller_id: row.voice_caller_id,
            max_sms_segments: row.max_sms_segments,
        },
        callback_token_version: row.callback_token_version,
        // Checked when written, like the time zone.
        region: Region::parse(&row.region).unwrap_or(Region::FRANCE),
        sms_countries: SmsCountries::from_stored(&row.sms_countries),
    }
}

pub async fn find_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Tenant>, DbError> {
    let row: Option<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_TENANT} WHERE slug = $1"
    )))
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// The tenant whose callback token is at this version (an older version names nobody).
pub async fn find_by_callback_version(
    pool: &PgPool,
    tenant: TenantId,
    version: i32,
) -> Result<Option<Tenant>, DbError> {
    let row: Option<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_TENANT} WHERE id = $1 AND callback_token_version = $2"
    )))
    .bind(tenant.0)
    .bind(version)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// The tenant a token of the old random form belonged to, by its hash, until it is rotated.
pub async fn find_by_legacy_callback(
    pool: &PgPool,
    hash: &[u8],
) -> Result<Option<Tenant>, DbError> {
    let row: Option<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_TENANT} WHERE legacy_callback_token_hash = $1"
    )))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// A new callback token for the tenant: the version goes up (every token given before is
/// refused from now on, the old random one too). The new version; `None` when no such tenant.
pub async fn rotate_callback_token(pool: &PgPool, slug: &str) -> Result<Option<i32>, DbError> {
    let row: Option<(i32,)> = sqlx::query_as(
        "UPDATE tenants SET callback_token_version = callback_token_version + 1,
                            legacy_callback_token_hash = NULL
         WHERE slug = $1 RETURNING callback_token_version",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(version,)| version))
}

/// A tenant by id.
pub async fn get<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    tenant: TenantId,
) -> Result<Tenant, DbError> {
    let row: TenantRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_TENANT} WHERE id = $1"
    )))
    .bind(tenant.0)
    .fetch_one(executor)
    .await?;
    Ok(from_row(row))
}

/// Settings to change; `None` leaves one as it is.
#[derive(Debug, Default)]
pub struct SettingsChange {
    pub time_zone: Option<Tz>,
    /// `Some(None)` removes the quiet hours.
    pub quiet_hours: Option<Option<QuietHours>>,
    /// `Some(None)` goes back to the default, for each of these three.
    pub sms_account: Option<Option<String>>,
    pub sms_secondary: Option<Option<String>>,
    pub sms_sender: Option<Option<String>>,
    pub email_from: Option<Option<String>>,
    pub max_sms_segments: Option<i32>,
    pub region: Option<Region>,
    pub sms_countries: Option<SmsCountries>,
    pub voice_enabled: Option<bool>,
    /// `Some(None)` goes back to the account's.
    pub voice_caller_id: Option<Option<String>>,
}

/// Applies the change; false when there is no such tenant.
pub async fn update(pool: &PgPool, slug: &str, change: &SettingsChange) -> Result<bool, DbError> {
    let quiet = change
        .quiet_hours
        .map(|q| (q.map(|q| q.start), q.map(|q| q.end)));
    let done = sqlx::query(
        "UPDATE tenants SET
             time_zone = COALESCE($2, time_zone),
             quiet_start = CASE WHEN $3 THEN $4 ELSE quiet_start END,
             quiet_end = CASE WHEN $3 THEN $5 ELSE quiet_end END,
             sms_account = CASE WHEN $6 THEN $7 ELSE sms_account END,
             sms_sender = CASE WHEN $8 THEN $9 ELSE sms_sender END,
             email_from = CASE WHEN $10 THEN $11 ELSE email_from END,
             max_sms_segments = COALESCE($12, max_sms_segments),
             region = COALESCE($13, region),
             sms_secondary = CASE WHEN $14 THEN $15 ELSE sms_secondary END,
             sms_countries = COALESCE($16, sms_countries),
             voice_enabled = COALESCE($17, voice_enabled),
             voice_caller_id = CASE WHEN $18 THEN $19 ELSE voice_caller_id END
         WHERE slug = $1",
    )
    .bind(slug)
    .bind(change.time_zone.map(|tz| tz.name()))
    .bind(quiet.is_some())
    .bind(quiet.and_then(|q| q.0))
    .bind(quiet.and_then(|q| q.1))
    .bind(change.sms_account.is_some())
    .bind(change.sms_account.clone().flatten())
    .bind(change.sms_sender.is_some())
    .bind(change.sms_sender.clone().flatten())
    .bind(change.email_from.is_some())
    .bind(change.email_from.clone().flatten())
    .bind(change.max_sms_segments)
    .bind(change.region.map(Region::code))
    .bind(change.sms_secondary.is_some())
    .bind(change.sms_secondary.clone().flatten())
    .bind(change.sms_countries.as_ref().map(SmsCountries::codes))
    .bind(change.voice_enabled)
    .bind(change.voice_caller_id.is_some())
    .bind(change.voice_caller_id.clone().flatten())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an API key grants, as found from its hash.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub role: Role,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key version its hash was made with.
    pub key_version: KeyVersion,
}

pub async fn create_key(
    pool: &PgPool,
    tenant: TenantId,
    role: Role,
    key: &KeyHash,
) -> Result<ApiKeyId, DbError> {
    let id = ApiKeyId::new();
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, role, key_hash, key_version)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(tenant.0)
    .bind(role.as_str())
    .bind(&key.hash)
    .bind(key.version)
    .execute(pool)
    .await?;
    Ok(id)
}

/// The key stored under one of these hashes (one per key version).
pub async fn find_key(pool: &PgPool, candidates: &[KeyHash]) -> Result<Option<KeyGrant>, DbError> {
    type Row = (
        uuid::Uuid,
        uuid::Uuid,
        String,
        Option<DateTime<Utc>>,
        i32,
        Vec<u8>,
    );
    let hashes: Vec<&[u8]> = candidates.iter().map(|c| c.hash.as_slice()).collect();
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, tenant_id, role, revoked_at, key_version, key_hash
         FROM api_keys WHERE key_hash = ANY($1)",
    )
    .bind(&hashes)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.and_then(|(id, tenant, role, revoked_at, version, hash)| {
            // The hash must be the one of its own version.
            candidates
                .iter()
                .any(|c| c.version == version && c.hash == hash)
                .then_some(())?;
            Some(KeyGrant {
                key_id: ApiKeyId(id),
                tenant_id: TenantId(tenant),
                role: role.parse().ok()?,
                revoked_at,
                key_version: version,
            })
        }),
    )
}

/// Stores a key under a newer version's hash.
pub async fn rehash_key(pool: &PgPool, key: ApiKeyId, hash: &KeyHash) -> Result<(), DbError> {
    sqlx::query("UPDATE api_keys SET key_hash = $2, key_version = $3 WHERE id = $1")
        .bind(key.0)
        .bind(&hash.hash)
        .bind(hash.version)
        .execute(pool)
        .await?;
    Ok(())
}

/// Revokes a key; false when no such live key exists.
pub async fn revoke_key(pool: &PgPool, key: ApiKeyId) -> Result<Option<TenantId>, DbError> {
    let tenant: Option<(uuid::Uuid,)> = sqlx::query_as(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
         RETURNING tenant_id",
    )
    .bind(key.0)
    .fetch_optional(pool)
    .await?;
    Ok(tenant.map(|(id,)| TenantId(id)))
}

/// Deletes a tenant and everything it owns (topics, subscribers, alerts, deliveries, keys).
pub async fn delete(pool: &PgPool, slug: &str) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    // Deliveries and their ranges have no foreign key to alerts (see the migrations), so no
    // cascade reaches them.
    sqlx::query(
        "DELETE FROM deliveries WHERE alert_id IN
             (SELECT a.id FROM alerts a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1)",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM delivery_ranges WHERE alert_id IN
             (SELECT a.id FROM alerts a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1)",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    // Nor have subscriptions foreign keys (migrations/0002).
    sqlx::query(
        "DELETE FROM subscriptions WHERE topic_id IN
             (SELECT p.id FROM topics p JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = $1)",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM tenants WHERE slug = $1")
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Every tenant (for the few tasks that act for all of them).
pub async fn all(pool: &PgPool) -> Result<Vec<Tenant>, DbError> {
    let rows: Vec<TenantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_TENANT} ORDER BY slug"
    )))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// How many people live in the tenant, when set (`tenant update --population`).
pub async fn population(pool: &PgPool, tenant: TenantId) -> Result<Option<i32>, DbError> {
    let (population,): (Option<i32>,) =
        sqlx::query_as("SELECT population FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_one(pool)
            .await?;
    Ok(population)
}

pub async fn set_population(
    pool: &PgPool,
    tenant: TenantId,
    population: Option<i32>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE tenants SET population = $2 WHERE id = $1")
        .bind(tenant.0)
        .bind(population)
        .execute(pool)
        .await?;
    Ok(())
}
