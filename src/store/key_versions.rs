//! The key versions of the platform (`model::keys`): which exist, which secret each derives
//! from, and the two operations that change them. `rotate` starts a version under the current
//! secret and re-seals every stored secret with it; `retire` ends every older version, revoking
//! the API keys nobody used since.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::DbError;
use crate::model::{
    Role, TenantId, UserId,
    keys::{self, KeyRing, KeyVersion, LEGACY, Sealed},
    sealed::{dkim_context, platform_key_context, totp_context},
};

/// The server's secrets: the one new keys derive from, and the one it replaces while a rotation
/// is under way (`api_key_secret_previous`).
#[derive(Clone, Copy)]
pub struct Secrets<'a> {
    pub current: &'a [u8],
    pub previous: Option<&'a [u8]>,
}

impl<'a> Secrets<'a> {
    /// The configured secret a version with this fingerprint derives from, and which it is
    /// (`current` or `previous`).
    fn matching(&self, fingerprint: &[u8]) -> Option<(&'a [u8], &'static str)> {
        if keys::fingerprint(self.current) == fingerprint {
            return Some((self.current, "current"));
        }
        let previous = self.previous?;
        (keys::fingerprint(previous) == fingerprint).then_some((previous, "previous"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error(
        "key version {0}, the one new keys are made with, derives from another secret than \
         api_key_secret and api_key_secret_previous: start with the secret the database was \
         last rotated to"
    )]
    CurrentUnopened(KeyVersion),
    #[error(
        "the platform key {0:?} does not open with this api_key_secret: the database was sealed \
         under another secret"
    )]
    Unopened(String),
}

/// Rotations and retirements wait for one another, and for a first start's claim.
async fn lock(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tocsin key versions'))")
        .execute(conn)
        .await?;
    Ok(())
}

/// The ring of this database, opened with these secrets. On the first open after the migration,
/// version 0 is claimed by the current secret (the one everything so far was made with: checked
/// against a platform key sealed under it, so that a wrong secret does not claim it), and
/// version 1 starts, so that new keys are derived with HKDF from then on.
pub async fn open(pool: &PgPool, secrets: Secrets<'_>) -> Result<KeyRing, KeyError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let unclaimed: Option<(i32,)> = sqlx::query_as(
        "SELECT version FROM key_versions WHERE version = 0 AND fingerprint IS NULL",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if unclaimed.is_some() {
        let legacy = KeyRing::new(LEGACY, [(LEGACY, secrets.current)]);
        let sealed: Option<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT name, sealed FROM platform_keys WHERE sealed IS NOT NULL LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((name, bytes)) = sealed {
            let sealed = Sealed {
                version: LEGACY,
                bytes,
            };
            if legacy.open(&platform_key_context(&name), &sealed).is_none() {
                return Err(KeyError::Unopened(name));
            }
        }
        sqlx::query("UPDATE key_versions SET fingerprint = $1 WHERE version = 0")
            .bind(keys::fingerprint(secrets.current))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO key_versions (version, fingerprint)
         SELECT 1, $1 WHERE NOT EXISTS (SELECT 1 FROM key_versions WHERE version > 0)",
    )
    .bind(keys::fingerprint(secrets.current))
    .execute(&mut *tx)
    .await?;
    let ring = ring(&mut tx, secrets).await?;
    tx.commit().await?;
    Ok(ring)
}

/// The ring as the database says now: how a running daemon sees a rotation or a retirement.
pub async fn read(pool: &PgPool, secrets: Secrets<'_>) -> Result<KeyRing, KeyError> {
    let mut conn = pool.acquire().await?;
    ring(&mut conn, secrets).await
}

async fn live_versions(
    conn: &mut PgConnection,
) -> Result<Vec<(KeyVersion, Option<Vec<u8>>)>, DbError> {
    sqlx::query_as(
        "SELECT version, fingerprint FROM key_versions WHERE retired_at IS NULL ORDER BY version",
    )
    .fetch_all(conn)
    .await
}

async fn ring(conn: &mut PgConnection, secrets: Secrets<'_>) -> Result<KeyRing, KeyError> {
    let versions = live_versions(conn).await?;
    let current = versions.iter().map(|(v, _)| *v).max().unwrap_or(LEGACY);
    let mut opened = Vec::new();
    for (version, fingerprint) in versions {
        match fingerprint.and_then(|f| secrets.matching(&f)) {
            Some((secret, _)) => opened.push((version, secret)),
            None if version == current => return Err(KeyError::CurrentUnopened(version)),
            None => tracing::warn!(
                version,
                "this key version derives from a secret configured neither as api_key_secret \
                 nor as api_key_secret_previous: what it protects does not open here"
            ),
        }
    }
    Ok(KeyRing::new(current, opened))
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub version: KeyVersion,
    /// Platform keys and DKIM keys sealed again under the new version.
    pub resealed: u64,
    /// Tenants whose DKIM key opened under no version: they must set it again.
    pub unopened_dkim: Vec<String>,
    /// Live API keys still stored under an older version: each moves on its first use.
    pub keys_on_older_versions: i64,
}

/// Starts a version under the current secret, and seals every stored secret with it, in one
/// transaction: instances still on the old ring open what they read for as long as the old
/// version lives, and see the new one within their refresh interval.
pub async fn rotate(pool: &PgPool, secrets: Secrets<'_>) -> Result<Rotation, KeyError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let before: Vec<(KeyVersion, &[u8])> = {
        let mut opened = Vec::new();
        for (version, fingerprint) in live_versions(&mut tx).await? {
            if let Some((secret, _)) = fingerprint.and_then(|f| secrets.matching(&f)) {
                opened.push((version, secret));
            }
        }
        opened
    };
    let (version,): (KeyVersion,) = sqlx::query_as("SELECT max(version) + 1 FROM key_versions")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO key_versions (version, fingerprint) VALUES ($1, $2)")
        .bind(version)
        .bind(keys::fingerprint(secrets.current))
        .execute(&mut *tx)
        .await?;
    let ring = KeyRing::new(
        version,
        before
            .into_iter()
            .chain(std::iter::once((version, secrets.current))),
    );

    let mut resealed = 0;
    type PlatformRow = (String, Option<Vec<u8>>, Option<Vec<u8>>, KeyVersion);
    let platform: Vec<PlatformRow> = sqlx::query_as(
        "SELECT name, key, sealed, sealed_version FROM platform_keys ORDER BY name FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, clear, sealed, sealed_version) in platform {
        let context = platform_key_context(&name);
        let plain = match (clear, sealed) {
            (Some(clear), _) => clear,
            (None, Some(bytes)) => ring
                .open(
                    &context,
                    &Sealed {
                        version: sealed_version,
                        bytes,
                    },
                )
                .ok_or_else(|| KeyError::Unopened(name.clone()))?,
            (None, None) => continue,
        };
        let sealed = ring.seal(&context, &plain);
        sqlx::query(
            "UPDATE platform_keys SET key = NULL, sealed = $2, sealed_version = $3
             WHERE name = $1",
        )
        .bind(&name)
        .bind(&sealed.bytes)
        .bind(sealed.version)
        .execute(&mut *tx)
        .await?;
        resealed += 1;
    }

    let mut unopened_dkim = Vec::new();
    let dkim: Vec<(uuid::Uuid, String, Vec<u8>, KeyVersion)> = sqlx::query_as(
        "SELECT id, slug, dkim_key_sealed, dkim_key_version FROM tenants
         WHERE dkim_key_sealed IS NOT NULL ORDER BY slug FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, slug, bytes, sealed_version) in dkim {
        let context = dkim_context(TenantId(id));
        let old = Sealed {
            version: sealed_version,
            bytes,
        };
        let Some(pem) = ring.open(&context, &old) else {
            unopened_dkim.push(slug);
            continue;
        };
        let sealed = ring.seal(&context, &pem);
        sqlx::query("UPDATE tenants SET dkim_key_sealed = $2, dkim_key_version = $3 WHERE id = $1")
            .bind(id)
            .bind(&sealed.bytes)
            .bind(sealed.version)
            .execute(&mut *tx)
            .await?;
        resealed += 1;
    }

    // Console second factors: one that opens under no configured secret is left as it is (its
    // owner is asked for a reset by the failing sign-in, not locked out by the rotation).
    let totp: Vec<(uuid::Uuid, Vec<u8>, KeyVersion)> = sqlx::query_as(
        "SELECT id, totp_sealed, totp_key_version FROM users
         WHERE totp_sealed IS NOT NULL ORDER BY id FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, bytes, sealed_version) in totp {
        let context = totp_context(UserId(id));
        let old = Sealed {
            version: sealed_version,
            bytes,
        };
        let Some(secret) = ring.open(&context, &old) else {
            continue;
        };
        let sealed = ring.seal(&context, &secret);
        sqlx::query("UPDATE users SET totp_sealed = $2, totp_key_version = $3 WHERE id = $1")
            .bind(id)
            .bind(&sealed.bytes)
            .bind(sealed.version)
            .execute(&mut *tx)
            .await?;
        resealed += 1;
    }

    let (keys_on_older_versions,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND key_version < $1",
    )
    .bind(version)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Rotation {
        version,
        resealed,
        unopened_dkim,
        keys_on_older_versions,
    })
}

/// An API key a retirement revoked.
#[derive(Debug)]
pub struct RevokedKey {
    pub id: crate::model::ApiKeyId,
    pub tenant: String,
    pub role: Role,
}

/// What a retirement did.
#[derive(Debug)]
pub struct Retirement {
    pub retired: Vec<KeyVersion>,
    pub revoked_keys: Vec<RevokedKey>,
}

/// Ends every version older than the current one: links, callback URLs and API keys made under
/// them stop working, and the keys are marked revoked so that `key list` tells why. Refused
/// while a platform key is still sealed under an older version (a rotation did not finish).
pub async fn retire(pool: &PgPool) -> Result<Retirement, RetireError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let (current,): (KeyVersion,) =
        sqlx::query_as("SELECT max(version) FROM key_versions WHERE retired_at IS NULL")
            .fetch_one(&mut *tx)
            .await?;
    let (unsealed,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM platform_keys WHERE key IS NOT NULL OR sealed_version < $1",
    )
    .bind(current)
    .fetch_one(&mut *tx)
    .await?;
    if unsealed > 0 {
        return Err(RetireError::NotResealed(current));
    }
    let revoked: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
        "UPDATE api_keys k SET revoked_at = now()
         FROM tenants t
         WHERE t.id = k.tenant_id AND k.revoked_at IS NULL AND k.key_version < $1
         RETURNING k.id, t.slug, k.role",
    )
    .bind(current)
    .fetch_all(&mut *tx)
    .await?;
    let retired: Vec<(KeyVersion,)> = sqlx::query_as(
        "UPDATE key_versions SET retired_at = now()
         WHERE version < $1 AND retired_at IS NULL RETURNING version",
    )
    .bind(current)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut retired: Vec<KeyVersion> = retired.into_iter().map(|(v,)| v).collect();
    retired.sort_unstable();
    Ok(Retirement {
        retired,
        revoked_keys: revoked
            .into_iter()
            .filter_map(|(id, tenant, role)| {
                Some(RevokedKey {
                    id: crate::model::ApiKeyId(id),
                    tenant,
                    role: role.parse().ok()?,
                })
            })
            .collect(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error(
        "a platform key is not sealed under the current key version {0}: run `tocsin secrets \
         rotate` first"
    )]
    NotResealed(KeyVersion),
}

/// One version, what it derives from and what still depends on it.
#[derive(Debug, serde::Serialize)]
pub struct VersionStatus {
    pub version: KeyVersion,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    /// `current`, `previous` or `unknown`: which configured secret it derives from.
    pub secret: &'static str,
    /// Live API keys stored under it.
    pub api_keys: i64,
    /// Platform and DKIM keys sealed under it.
    pub sealed: i64,
}

/// Every version, oldest first.
pub async fn status(pool: &PgPool, secrets: Secrets<'_>) -> Result<Vec<VersionStatus>, DbError> {
    type Row = (
        KeyVersion,
        Option<Vec<u8>>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT v.version, v.fingerprint, v.created_at, v.retired_at,
                (SELECT count(*) FROM api_keys k
                 WHERE k.key_version = v.version AND k.revoked_at IS NULL),
                (SELECT count(*) FROM platform_keys p
                 WHERE p.sealed IS NOT NULL AND p.sealed_version = v.version)
                + (SELECT count(*) FROM tenants t
                   WHERE t.dkim_key_sealed IS NOT NULL AND t.dkim_key_version = v.version)
         FROM key_versions v ORDER BY v.version",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(version, fingerprint, created_at, retired_at, api_keys, sealed)| VersionStatus {
                version,
                created_at,
                retired_at,
                secret: fingerprint
                    .and_then(|f| secrets.matching(&f))
                    .map_or("unknown", |(_, which)| which),
                api_keys,
                sealed,
            },
        )
        .collect())
}
