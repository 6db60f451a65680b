//! Intake: an alert and the job that announces it are written in one transaction, so the alert
//! is either refused or certain to be dispatched (the relay publishes the job, even after a
//! broker outage).

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::{
    broker::{Job, Topology},
    model::{AlertId, TenantId, ValidAlert},
    store::{self, alerts::Alert},
};

#[derive(Debug)]
pub enum Submitted {
    Created(Alert),
    /// The tenant already sent an alert with this idempotency key: this is that alert.
    Existing(Alert),
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// The idempotency key was used for another request; that alert is not this one.
    #[error("idempotency key already used for a different request (alert {0})")]
    KeyReused(AlertId),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn submit(
    db: &PgPool,
    relay: &Notify,
    tenant: TenantId,
    alert: &ValidAlert,
    idempotency_key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let topic = match store::topics::resolve(db, tenant, std::slice::from_ref(&alert.topic)).await?
    {
        Ok(ids) => ids[0],
        Err(missing) => return Err(IntakeError::UnknownTopic(missing.join(", "))),
    };
    let mut tx = db.begin().await?;
    if let Some(key) = idempotency_key
        && let Some(existing) = store::alerts::find_by_idempotency_key(&mut tx, tenant, key).await?
    {
        return replay(existing, alert);
    }
    let recipients = store::alerts::count_recipients(&mut tx, topic, &alert.channels).await?;
    let id = AlertId::new();
    let new = store::alerts::NewAlert {
        id,
        tenant_id: tenant,
        topic_id: topic,
        lane: alert.lane,
        channels: &alert.channels,
        subject: &alert.subject,
        body: &alert.text,
        idempotency_key,
        request_hash: &alert.fingerprint,
        expires_at: chrono::Utc::now()
            + chrono::Duration::from_std(alert.expires_in).unwrap_or(chrono::Duration::MAX),
        recipients: i32::try_from(recipients).unwrap_or(i32::MAX),
    };
    if !store::alerts::insert(&mut tx, &new).await? {
        // Another request with the same key won the race; it holds the alert.
        drop(tx);
        let mut tx = db.begin().await?;
        let key = idempotency_key.unwrap_or_default();
        let existing = store::alerts::find_by_idempotency_key(&mut tx, tenant, key).await?;
        return replay(existing.ok_or(sqlx::Error::RowNotFound)?, alert);
    }
    let job = Job::FanOutV1 { alert: id };
    store::outbox::push(&mut tx, &Topology::fan_out_key(alert.lane), &job.encode()).await?;
    let created = store::alerts::find_by_id_in(&mut tx, id).await?;
    tx.commit().await?;
    relay.notify_one();
    Ok(Submitted::Created(created.ok_or(sqlx::Error::RowNotFound)?))
}

/// The alert an idempotency key already made, if this request is the same one again (Stripe's
/// rule): a key reused for another request is refused, never silently answered with the first
/// alert. Alerts made before fingerprints were recorded replay as they did.
fn replay(existing: Alert, request: &ValidAlert) -> Result<Submitted, IntakeError> {
    match &existing.request_hash {
        Some(hash) if hash.as_slice() != request.fingerprint.as_slice() => {
            Err(IntakeError::KeyReused(existing.id))
        }
        _ => Ok(Submitted::Existing(existing)),
    }
}
