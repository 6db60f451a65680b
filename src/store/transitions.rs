//! What sends and receipts make of delivery rows: one statement applies a batch of
//! transitions, and records their failed attempts. A send's outcome is fenced by the claim it
//! answers; a receipt moves a row on from `sending` or `sent` only.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    DbError,
    deliveries::{Claimed, Lease},
};
use crate::model::{DeliveryId, DeliveryStatus};

/// A failed attempt, for `delivery_attempts`.
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    pub attempt: i32,
    pub provider: String,
    /// `transient`, `rate_limited` or `permanent`.
    pub outcome: &'static str,
    pub reason: String,
}

/// The claim an outcome answers, which fences its write: the owner and the attempt number the
/// claim gave the row. Every claim counts an attempt, so once the row is taken over (by another
/// instance, or by this one for another batch, after the lease ended) a late outcome of the
/// earlier claim matches nothing and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub owner: Uuid,
    pub attempt: i32,
}

impl Fence {
    /// The fence of a delivery claimed under `lease`.
    pub fn of(delivery: &Claimed, lease: &Lease) -> Fence {
        Fence {
            owner: lease.owner,
            attempt: delivery.attempts,
        }
    }
}

/// The result of one send or one receipt, ready to be written.
#[derive(Debug, Clone)]
pub struct Transition {
    pub id: DeliveryId,
    /// For a send's outcome: the claim it answers (required by [`record_outcomes`]). Receipts
    /// have none.
    pub fence: Option<Fence>,
    pub status: DeliveryStatus,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    /// When the provider answered the send; `None` for receipts.
    pub answered_at: Option<DateTime<Utc>>,
    /// For `retrying`: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The attempt to record when it failed.
    pub failed_attempt: Option<FailedAttempt>,
    /// For a send accepted by a provider whose reports name only its own id: that provider, so
    /// that the id is remembered (see [`remember_provider_ids`]).
    pub remember_id_for: Option<&'static str>,
    /// The provider said the recipient opted out: the number goes on the tenant's opt-out list.
    pub opted_out: bool,
    /// The push service said the browser's subscription is gone: it is forgotten.
    pub gone: bool,
}

impl Transition {
    pub fn to(id: DeliveryId, status: DeliveryStatus) -> Self {
        Transition {
            id,
            fence: None,
            status,
            provider_message_id: None,
            error: None,
            answered_at: None,
            next_attempt_at: None,
            failed_attempt: None,
            remember_id_for: None,
            opted_out: false,
            gone: false,
        }
    }
}

/// Records sends' outcomes, and their failed attempts, in one statement. Only rows still
/// `sending` under the claim each outcome answers (its [`Fence`]) change: a receipt that arrived
/// first is not overwritten, nor is a row taken over after its lease ended. An outcome without
/// a fence changes nothing.
pub async fn record_outcomes(pool: &PgPool, outcomes: &[Transition]) -> Result<u64, DbError> {
    update_from(pool, outcomes, &["sending"], Fenced::Yes).await
}

/// Records delivery receipts: a row moves on from `sending` or `sent` only.
pub async fn record_receipts(pool: &PgPool, receipts: &[Transition]) -> Result<u64, DbError> {
    update_from(pool, receipts, &["sending", "sent"], Fenced::No).await
}

/// Whether a change applies only under the claim it names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fenced {
    Yes,
    No,
}

/// Applies `changes` to the rows still in one of the `from` states (and under their claim's
/// fence, if `fenced`).
async fn update_from(
    pool: &PgPool,
    changes: &[Transition],
    from: &[&str],
    fenced: Fenced,
) -> Result<u64, DbError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let mut changes: Vec<&Transition> = changes.iter().collect();
    changes.sort_unstable_by_key(|t| t.id.0);
    let ids: Vec<i64> = changes.iter().map(|t| t.id.0).collect();
    let statuses: Vec<&str> = changes.iter().map(|t| t.status.as_str()).collect();
    let message_ids: Vec<Option<&str>> = changes
        .iter()
        .map(|t| t.provider_message_id.as_deref())
        .collect();
    let errors: Vec<Option<&str>> = changes.iter().map(|t| t.error.as_deref()).collect();
    let answered: Vec<Option<DateTime<Utc>>> = changes.iter().map(|t| t.answered_at).collect();
    let due: Vec<Option<DateTime<Utc>>> = changes.iter().map(|t| t.next_attempt_at).collect();
    let owners: Vec<Option<Uuid>> = changes.iter().map(|t| t.fence.map(|f| f.owner)).collect();
    let claims: Vec<Option<i32>> = changes.iter().map(|t| t.fence.map(|f| f.attempt)).collect();
    let failed: Vec<&Transition> = changes
        .iter()
        .copied()
        .filter(|t| t.failed_attempt.is_some())
        .collect();
    let attempt = |t: &&Transition| t.failed_attempt.as_ref().expect("filtered on it").clone();
    let failed_ids: Vec<i64> = failed.iter().map(|t| t.id.0).collect();
    let failed_numbers: Vec<i32> = failed.iter().map(|t| attempt(t).attempt).collect();
    let failed_at: Vec<DateTime<Utc>> = failed
        .iter()
        .map(|t| t.answered_at.unwrap_or_else(Utc::now))
        .collect();
    let failed_providers: Vec<String> = failed.iter().map(|t| attempt(t).provider).collect();
    let failed_outcomes: Vec<&str> = failed.iter().map(|t| attempt(t).outcome).collect();
    let failed_reasons: Vec<String> = failed.iter().map(|t| attempt(t).reason).collect();
    let (updated,): (i64,) = sqlx::query_as(
        "WITH updated AS (
             UPDATE deliveries d
             SET status = u.status,
                 provider_message_id = COALESCE(u.message_id, d.provider_message_id),
                 error = COALESCE(u.error, d.error),
                 sent_at = COALESCE(u.answered_at, d.sent_at),
                 next_attempt_at = u.due,
                 lease_until = NULL,
                 updated_at = now()
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $6::timestamptz[],
                         $7::timestamptz[], $15::uuid[], $16::int[])
                  AS u(id, status, message_id, error, answered_at, due, owner, claim)
             WHERE d.id = u.id AND d.status = ANY($5)
               AND (NOT $14 OR (d.owner = u.owner AND d.attempts = u.claim))
             RETURNING d.id
         ),
         attempts AS (
             INSERT INTO delivery_attempts (delivery_id, attempt, at, provider, outcome, reason)
             SELECT * FROM UNNEST($8::bigint[], $9::int[], $10::timestamptz[], $11::text[],
                                  $12::text[], $13::text[])
                      AS f(id, attempt, at, provider, outcome, reason)
             -- A fenced write records the attempt only where its claim still held the row.
             WHERE NOT $14 OR f.id IN (SELECT id FROM updated)
             ON CONFLICT DO NOTHING
         )
         SELECT count(*) FROM updated",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(&message_ids)
    .bind(&errors)
    .bind(from)
    .bind(&answered)
    .bind(&due)
    .bind(&failed_ids)
    .bind(&failed_numbers)
    .bind(&failed_at)
    .bind(&failed_providers)
    .bind(&failed_outcomes)
    .bind(&failed_reasons)
    .bind(fenced == Fenced::Yes)
    .bind(&owners)
    .bind(&claims)
    .fetch_one(pool)
    .await?;
    Ok(updated as u64)
}
