//! People of the console (migrations/0034): accounts with one role on one node of the tree,
//! their one-time invitations, second factor, and wrong sign-ins.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::DbError;
use crate::model::{Role, TenantId, UserId, keys::Sealed, people::invitation};

/// A person, as the console and the CLI need them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    /// The node's slug.
    pub tenant_slug: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub totp: Option<Sealed>,
    pub totp_last_step: Option<i64>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "u.id, u.tenant_id, t.slug, u.email, u.name, u.role, u.password_hash,
    u.totp_sealed, u.totp_key_version, u.totp_last_step, u.locked_until, u.created_at";

type UserRow = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<i32>,
    Option<i64>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

fn from_row(row: UserRow) -> Result<User, DbError> {
    let (id, tenant, slug, email, name, role, password, sealed, version, step, locked, created) =
        row;
    Ok(User {
        id: UserId(id),
        tenant: TenantId(tenant),
        tenant_slug: slug,
        email,
        name,
        role: role.parse().map_err(|e| DbError::Decode(Box::new(e)))?,
        password_hash: password,
        totp: sealed
            .zip(version)
            .map(|(bytes, version)| Sealed { version, bytes }),
        totp_last_step: step,
        locked_until: locked,
        created_at: created,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0} already has an account")]
    EmailTaken(String),
}

/// Who is invited, where, as what, and by whom (as the audit log names actors).
pub struct NewUser<'a> {
    pub tenant: TenantId,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub invited_by: &'a str,
}

/// A new person and their invitation (the token's digest), in one transaction. They have no
/// password until they accept it.
pub async fn create_invited(
    pool: &PgPool,
    new: &NewUser<'_>,
    token_digest: &[u8],
    now: DateTime<Utc>,
) -> Result<UserId, UserError> {
    let id = UserId::new();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, role, invited_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.0)
    .bind(new.tenant.0)
    .bind(new.email)
    .bind(new.name)
    .bind(new.role.as_str())
    .bind(new.invited_by)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(DbError::Database(e)) if e.constraint() == Some("users_email") => {
            return Err(UserError::EmailTaken(new.email.to_owned()));
        }
        Err(e) => return Err(e.into()),
    }
    invite(&mut *tx, id, token_digest, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// A person still active, by id.
pub async fn get(pool: &PgPool, id: UserId) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.id = $1 AND u.removed_at IS NULL"
    )))
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    row.map(from_row).transpose()
}

/// A person still active, by e-mail (case does not matter).
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE lower(u.email) = lower($1) AND u.removed_at IS NULL"
    )))
    .bind(email)
    .fetch_optional(pool)
    .await?;
    row.map(from_row).transpose()
}

/// A person still active, by the identity an OpenID provider gave them.
pub async fn find_by_oidc(
    pool: &PgPool,
    issuer: &str,
    subject: &str,
) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.oidc_issuer = $1 AND u.oidc_subject = $2 AND u.removed_at IS NULL"
    )))
    .bind(issuer)
    .bind(subject)
    .fetch_optional(pool)
    .await?;
    row.map(from_row).transpose()
}

/// Binds a person to their identity at an OpenID provider (their first sign-in through it).
pub async fn bind_oidc(
    pool: &PgPool,
    user: UserId,
    issuer: &str,
    subject: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET oidc_issuer = $2, oidc_subject = $3 WHERE id = $1")
        .bind(user.0)
        .bind(issuer)
        .bind(subject)
        .execute(pool)
        .await?;
    Ok(())
}

/// A person who signed in through an OpenID provider with a commune's SIRET, given the role
/// `[oidc] auto_role` names: no invitation, no password (they sign in through the provider).
pub async fn create_signed_in(
    pool: &PgPool,
    new: &NewUser<'_>,
    issuer: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<UserId, UserError> {
    let id = UserId::new();
    let inserted = sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, role, invited_by, created_at,
                            oidc_issuer, oidc_subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.0)
    .bind(new.tenant.0)
    .bind(new.email)
    .bind(new.name)
    .bind(new.role.as_str())
    .bind(new.invited_by)
    .bind(now)
    .bind(issuer)
    .bind(subject)
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(DbError::Database(e)) if e.constraint() == Some("users_email") => {
            Err(UserError::EmailTaken(new.email.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The people of a node and of every node below it, by node then name.
pub async fn list_below(pool: &PgPool, root: TenantId) -> Result<Vec<User>, DbError> {
    let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.tenant_id IN (SELECT id FROM tenant_subtree($1)) AND u.removed_at IS NULL
         ORDER BY t.slug, lower(u.name), u.id"
    )))
    .bind(root.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The e-mail addresses of `node`'s admins; when it has none, of the nearest group above it that
/// has some (someone hears what concerns the node).
pub async fn admin_addresses(pool: &PgPool, node: TenantId) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "WITH admins AS (
             SELECT u.email, up.depth FROM users u JOIN tenant_ancestors($1) up
                 ON up.id = u.tenant_id
             WHERE u.role = 'admin' AND u.removed_at IS NULL
         )
         SELECT email FROM admins WHERE depth = (SELECT min(depth) FROM admins) ORDER BY email",
    )
    .bind(node.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(email,)| email).collect())
}

/// Stores a new invitation for `user` (its token's SHA-256), valid for
/// [`invitation::VALIDITY`].
pub async fn invite<'e>(
    db: impl sqlx::PgExecutor<'e>,
    user: UserId,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let expires_at = now + invitation::VALIDITY;
    sqlx::query(
        "INSERT INTO user_invitations (token_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The person an invitation is for, while it is unused and unexpired.
pub async fn invited(
    pool: &PgPool,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM user_invitations i
         JOIN users u ON u.id = i.user_id JOIN tenants t ON t.id = u.tenant_id
         WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2
           AND u.removed_at IS NULL"
    )))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(from_row).transpose()
}

/// Spends an invitation and sets the password it was for, in one transaction; false when the
/// invitation was spent meanwhile (two tabs) or is gone.
pub async fn accept_invitation(
    pool: &PgPool,
    token_hash: &[u8],
    user: UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let spent = sqlx::query(
        "UPDATE user_invitations SET used_at = $3
         WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if spent == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL
         WHERE id = $1",
    )
    .bind(user.0)
    .bind(password_hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts a person over: no password, no second factor, no session, earlier invitations void,
/// and a new invitation (the token's digest).
pub async fn reset(
    pool: &PgPool,
    user: UserId,
    token_digest: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "UPDATE users SET password_hash = NULL, totp_sealed = NULL, totp_key_version = NULL,
             totp_last_step = NULL, recovery_codes = '{}', failed_logins = 0, locked_until = NULL
         WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(user.0)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Ok(false);
    }
    end_everything(&mut tx, user, now).await?;
    invite(&mut *tx, user, token_digest, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes a person: they can no longer sign in, their sessions end. The row stays (the audit
/// log names them by id); the address is freed for a new account.
pub async fn remove(pool: &PgPool, user: UserId, now: DateTime<Utc>) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query(
        "UPDATE users SET removed_at = $2, password_hash = NULL, totp_sealed = NULL,
             totp_key_version = NULL, recovery_codes = '{}'
         WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(user.0)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    end_everything(&mut tx, user, now).await?;
    tx.commit().await?;
    Ok(found == 1)
}

async fn end_everything(
    tx: &mut sqlx::PgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE user_invitations SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE console_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL",
    )
    .bind(user.0)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Sets a person's second factor and their recovery codes (their SHA-256).
pub async fn set_totp(
    pool: &PgPool,
    user: UserId,
    sealed: &Sealed,
    step: i64,
    recovery_hashes: &[Vec<u8>],
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE users SET totp_sealed = $2, totp_key_version = $3, totp_last_step = $4,
             recovery_codes = $5
         WHERE id = $1",
    )
    .bind(user.0)
    .bind(&sealed.bytes)
    .bind(sealed.version)
    .bind(step)
    .bind(recovery_hashes)
    .execute(pool)
    .await?;
    Ok(())
}

/// Spends the time step of an accepted code; false if it (or a later one) was spent already, so
/// that a code seen over a shoulder cannot be used again, even by two requests at once.
pub async fn spend_totp_step(pool: &PgPool, user: UserId, step: i64) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user.0)
    .bind(step)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Spends a recovery code, if it is one of the person's unused ones.
pub async fn spend_recovery_code(
    pool: &PgPool,
    user: UserId,
    digest: &[u8],
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE users SET recovery_codes = array_remove(recovery_codes, $2)
         WHERE id = $1 AND $2 = ANY(recovery_codes)",
    )
    .bind(user.0)
    .bind(digest)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Counts a wrong password or code for a person; after `limit` in a row the account refuses to
/// sign in until `now + lock`. Returns that time when it is locked.
pub async fn note_failure(
    pool: &PgPool,
    user: UserId,
    now: DateTime<Utc>,
    limit: i32,
    lock: chrono::Duration,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let (locked,): (Option<DateTime<Utc>>,) = sqlx::query_as(
        "UPDATE users SET
             failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END,
             locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $2 + $4 ELSE locked_until END
         WHERE id = $1 RETURNING locked_until",
    )
    .bind(user.0)
    .bind(now)
    .bind(limit)
    .bind(lock)
    .fetch_one(pool)
    .await?;
    Ok(locked.filter(|until| *until > now))
}

/// A right password and code: the count starts again.
pub async fn clear_failures(pool: &PgPool, user: UserId) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(user.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// Until when a client address may not try to sign in, if it may not now.
pub async fn client_locked(
    pool: &PgPool,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let row: Option<(Option<DateTime<Utc>>,)> =
        sqlx::query_as("SELECT locked_until FROM login_failures WHERE client = $1")
            .bind(client)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(until,)| until).filter(|until| *until > now))
}

/// Counts a wrong sign-in from a client address within `window`; at `limit` the address is
/// refused until `now + window`. Returns that time when it is.
pub async fn note_client_failure(
    pool: &PgPool,
    client: &str,
    now: DateTime<Utc>,
    limit: i32,
    window: chrono::Duration,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let (locked,): (Option<DateTime<Utc>>,) = sqlx::query_as(
        "INSERT INTO login_failures AS f (client, failures, window_start)
         VALUES ($1, 1, $2)
         ON CONFLICT (client) DO UPDATE SET
             failures = CASE WHEN f.window_start + $4 <= $2 THEN 1 ELSE f.failures + 1 END,
             window_start = CASE WHEN f.window_start + $4 <= $2 THEN $2 ELSE f.window_start END
         RETURNING CASE WHEN failures >= $3 THEN $2 + $4 END",
    )
    .bind(client)
    .bind(now)
    .bind(limit)
    .bind(window)
    .fetch_one(pool)
    .await?;
    if let Some(until) = locked {
        sqlx::query("UPDATE login_failures SET locked_until = $2 WHERE client = $1")
            .bind(client)
            .bind(until)
            .execute(pool)
            .await?;
    }
    Ok(locked)
}
