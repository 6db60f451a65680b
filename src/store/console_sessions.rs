//! Console sessions, kept server-side (migrations/0034): the cookie holds a random id, this
//! table its SHA-256 (a copy of the table opens no session), the stage the person reached, and
//! the token their forms carry.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::DbError;
use crate::model::{TenantId, UserId};

/// How far a session got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The password was right; the TOTP code is asked.
    SecondFactor,
    /// A person who must have a second factor is setting it up.
    Enrolling,
    SignedIn,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second_factor",
            Stage::Enrolling => "enrolling",
            Stage::SignedIn => "signed_in",
        }
    }

    fn parse(word: &str) -> Option<Stage> {
        [Stage::SecondFactor, Stage::Enrolling, Stage::SignedIn]
            .into_iter()
            .find(|stage| stage.as_str() == word)
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserId,
    /// The tenant of their subtree a person of a group acts on, when they chose one.
    pub acting_on: Option<TenantId>,
    pub stage: Stage,
    pub csrf: String,
}

/// How long sessions last: ended after `idle` without a request, and `max` after they began.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle: chrono::Duration,
    pub max: chrono::Duration,
}

fn digest(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// Opens a session; returns the id for the cookie (256 random bits, shown once).
pub async fn open(
    pool: &PgPool,
    user: UserId,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<String, DbError> {
    let id = hex::encode(rand::random::<[u8; 32]>());
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, user_id, stage, csrf, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(digest(&id))
    .bind(user.0)
    .bind(stage.as_str())
    .bind(csrf)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(id)
}

/// The session of a cookie, if it is live, and marks it seen now. A session idle too long or
/// too old is ended here.
pub async fn touch(
    pool: &PgPool,
    id: &str,
    now: DateTime<Utc>,
    lifetime: Lifetime,
) -> Result<Option<Session>, DbError> {
    type Row = (uuid::Uuid, String, String, bool, Option<uuid::Uuid>);
    let row: Option<Row> = sqlx::query_as(
        "UPDATE console_sessions SET
             last_seen_at = CASE WHEN live THEN $2 ELSE last_seen_at END,
             ended_at = CASE WHEN live THEN NULL ELSE $2 END
         FROM (SELECT id_hash AS h, last_seen_at + $3 > $2 AND created_at + $4 > $2 AS live
               FROM console_sessions WHERE id_hash = $1 AND ended_at IS NULL) s
         WHERE id_hash = s.h
         RETURNING user_id, stage, csrf, s.live, acting_on",
    )
    .bind(digest(id))
    .bind(now)
    .bind(lifetime.idle)
    .bind(lifetime.max)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(user, stage, csrf, live, acting_on)| {
        live.then_some(Session {
            user: UserId(user),
            acting_on: acting_on.map(TenantId),
            stage: Stage::parse(&stage)?,
            csrf,
        })
    }))
}

/// Ends a session and opens the next one of the same person at `stage`, under a new id: a
/// session id seen before a sign-in step (planted, or read over a shoulder) is worth nothing
/// after it.
pub async fn advance(
    pool: &PgPool,
    old: &str,
    user: UserId,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<String, DbError> {
    end(pool, old, now).await?;
    open(pool, user, stage, now).await
}

pub async fn end(pool: &PgPool, id: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE console_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL",
    )
    .bind(digest(id))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// "Se déconnecter partout": every session of the person ends.
pub async fn end_all(pool: &PgPool, user: UserId, now: DateTime<Utc>) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "UPDATE console_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL",
    )
    .bind(user.0)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The tenant a session acts on from now on (checked by the caller to be in the person's
/// subtree).
pub async fn act_on(pool: &PgPool, id: &str, tenant: TenantId) -> Result<(), DbError> {
    sqlx::query("UPDATE console_sessions SET acting_on = $2 WHERE id_hash = $1")
        .bind(digest(id))
        .bind(tenant.0)
        .execute(pool)
        .await?;
    Ok(())
}
