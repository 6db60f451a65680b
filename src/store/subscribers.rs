//! Subscribers and their subscriptions to topics.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;
use crate::model::{EmailAddress, PhoneNumber, SubscriberId, TenantId, TopicId};

#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub topics: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What an upsert did: a new subscriber, an existing one (possibly given new topics or a missing
/// address), or nothing at all because everything was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(SubscriberId),
    Updated(SubscriberId),
    Unchanged(SubscriberId),
}

impl Upserted {
    pub fn id(self) -> SubscriberId {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) | Upserted::Unchanged(id) => id,
        }
    }
}

/// Adds a subscriber, or completes the one who already has this phone number or e-mail address
/// within the tenant, so that importing the same file twice changes nothing.
pub async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    phone: Option<&PhoneNumber>,
    email: Option<&EmailAddress>,
    topics: &[TopicId],
) -> Result<Upserted, DbError> {
    let phone = phone.map(PhoneNumber::as_str);
    let email = email.map(EmailAddress::as_str);
    // Lock the tenant's matching rows so two concurrent imports cannot both insert.
    let existing: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, phone, email FROM subscribers
         WHERE tenant_id = $1 AND (phone = $2 OR email = $3)
         ORDER BY (phone = $2) DESC NULLS LAST, id LIMIT 1 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(phone)
    .bind(email)
    .fetch_optional(&mut **tx)
    .await?;

    let (id, mut changed) = match existing {
        Some((id, old_phone, old_email)) => {
            let fill_phone = old_phone.is_none() && phone.is_some();
            let fill_email = old_email.is_none() && email.is_some();
            if fill_phone || fill_email {
                // An address another subscriber already holds is not moved over: the row keeps
                // its gap rather than breaking uniqueness.
                let done = sqlx::query(
                    "UPDATE subscribers s
                     SET phone = COALESCE(s.phone, CASE WHEN NOT EXISTS
                             (SELECT 1 FROM subscribers o WHERE o.tenant_id = s.tenant_id AND o.phone = $2)
                             THEN $2 END),
                         email = COALESCE(s.email, CASE WHEN NOT EXISTS
                             (SELECT 1 FROM subscribers o WHERE o.tenant_id = s.tenant_id AND o.email = $3)
                             THEN $3 END)
                     WHERE s.id = $1 AND (s.phone IS DISTINCT FROM COALESCE(s.phone, $2)
                                       OR s.email IS DISTINCT FROM COALESCE(s.email, $3))",
                )
                .bind(id)
                .bind(phone)
                .bind(email)
                .execute(&mut **tx)
                .await?;
                (id, done.rows_affected() > 0)
            } else {
                (id, false)
            }
        }
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO subscribers (tenant_id, phone, email) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(tenant.0)
            .bind(phone)
            .bind(email)
            .fetch_one(&mut **tx)
            .await?;
            return subscribe(tx, id, topics)
                .await
                .map(|_| Upserted::Created(SubscriberId(id)));
        }
    };
    changed |= subscribe(tx, id, topics).await? > 0;
    let id = SubscriberId(id);
    Ok(if changed {
        Upserted::Updated(id)
    } else {
        Upserted::Unchanged(id)
    })
}

async fn subscribe(
    tx: &mut Transaction<'_, Postgres>,
    subscriber: i64,
    topics: &[TopicId],
) -> Result<u64, DbError> {
    let topics: Vec<uuid::Uuid> = topics.iter().map(|t| t.0).collect();
    let done = sqlx::query(
        "INSERT INTO subscriptions (topic_id, subscriber_id)
         SELECT t, $1 FROM UNNEST($2::uuid[]) AS t ON CONFLICT DO NOTHING",
    )
    .bind(subscriber)
    .bind(&topics)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

type SubscriberRow = (
    i64,
    Option<String>,
    Option<String>,
    Vec<String>,
    DateTime<Utc>,
);

/// One page of a tenant's subscribers, in id order, after `after`.
pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<SubscriberId>,
    limit: i64,
) -> Result<Vec<Subscriber>, DbError> {
    let rows: Vec<SubscriberRow> = sqlx::query_as(
        "SELECT b.id, b.phone, b.email,
                COALESCE(array_agg(t.slug ORDER BY t.slug) FILTER (WHERE t.slug IS NOT NULL), '{}'),
                b.created_at
         FROM subscribers b
         LEFT JOIN subscriptions s ON s.subscriber_id = b.id
         LEFT JOIN topics t ON t.id = s.topic_id
         WHERE b.tenant_id = $1 AND b.id > $2
         GROUP BY b.id ORDER BY b.id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(after.map_or(0, |id| id.0))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, phone, email, topics, created_at)| Subscriber {
            id: SubscriberId(id),
            phone,
            email,
            topics,
            created_at,
        })
        .collect())
}

pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: SubscriberId,
) -> Result<Option<Subscriber>, DbError> {
    let page = list(pool, tenant, Some(SubscriberId(id.0 - 1)), 1).await?;
    Ok(page.into_iter().find(|s| s.id == id))
}

/// Removes a subscriber and their subscriptions; false when the tenant has no such subscriber.
/// Past delivery rows stay, for the alerts' reports.
pub async fn remove(pool: &PgPool, tenant: TenantId, id: SubscriberId) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM subscribers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
