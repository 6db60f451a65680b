//! Intake: an alert and the job that announces it are written in one transaction, so the alert
//! is either refused or certain to be dispatched (the relay publishes the job, even after a
//! broker outage). A timed alert's job waits in the outbox until its hour, which is also what
//! lets it be cancelled until then.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;

use crate::dispatch::policy::budget;
use crate::{
    broker::{Job, Topology},
    clock::Clock,
    model::{AlertId, Lane, TenantId, TopicId, ValidAlert},
    store::{
        self,
        alerts::Alert,
        tenants::{LocalClock, TenantSenders},
    },
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
    /// A field that only makes sense with the tenant's clock (`scheduled_at`).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A routine alert that would go over a monthly budget, with the budgets it goes over.
    #[error("{}", crate::dispatch::policy::budget::refusal(.0))]
    OverBudget(Vec<crate::dispatch::policy::budget::BudgetLine>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The furthest ahead an alert may be timed.
const LONGEST_WAIT_DAYS: i64 = 366;

pub async fn submit(
    db: &PgPool,
    relay: &Notify,
    clock: &Clock,
    tenant: TenantId,
    topic: TopicId,
    alert: &ValidAlert,
    idempotency_key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let mut tx = db.begin().await?;
    if let Some(key) = idempotency_key
        && let Some(existing) = store::alerts::find_by_idempotency_key(&mut tx, tenant, key).await?
    {
        return replay(existing, alert);
    }
    let hold = budget::hold(&mut tx, &[(tenant, topic)], alert).await?;
    let Some(created) = write(
        &mut tx,
        tenant,
        topic,
        alert,
        idempotency_key,
        None,
        clock.now(),
    )
    .await?
    else {
        // Another request with the same key won the race; it holds the alert.
        drop(tx);
        let mut tx = db.begin().await?;
        let key = idempotency_key.unwrap_or_default();
        let existing = store::alerts::find_by_idempotency_key(&mut tx, tenant, key).await?;
        return replay(existing.ok_or(sqlx::Error::RowNotFound)?, alert);
    };
    if let Some(hold) = hold {
        hold.keep(&mut tx, tenant, created.id).await?;
    }
    tx.commit().await?;
    relay.notify_one();
    Ok(Submitted::Created(created))
}

/// Writes the alert and the message that starts it in `tx`, as of `now`: at once, at the time it
/// asks for, or, for a routine alert, when the tenant's quiet hours end. `None`, writing nothing,
/// when the tenant already used the idempotency key. The caller commits, then wakes the relay.
/// `group` names the group alert this is a commune's part of.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    topic: TopicId,
    alert: &ValidAlert,
    idempotency_key: Option<&str>,
    group: Option<AlertId>,
    now: DateTime<Utc>,
) -> Result<Option<Alert>, IntakeError> {
    let settings = store::tenants::get(&mut **tx, tenant).await?;
    check_segments(alert, &settings.senders)?;
    let (scheduled_at, starts) = start_of(alert, &settings.clock, now)?;
    let channels = alert.channels_for(settings.senders.voice_enabled);
    let id = AlertId::new();
    let new = store::alerts::NewAlert {
        id,
        tenant_id: tenant,
        topic_id: topic,
        lane: alert.lane,
        channels: &channels,
        subject: &alert.subject,
        body: &alert.text,
        idempotency_key,
        request_hash: &alert.fingerprint,
        expires_at: starts
            + chrono::Duration::from_std(alert.expires_in).unwrap_or(chrono::Duration::MAX),
        scheduled_at,
        starts_at: (starts > now).then_some(starts),
        group_alert_id: group,
        exercise: alert.exercise,
        voice_to_mobiles: alert.calls_mobiles(),
        until_acknowledged: alert.until_acknowledged,
    };
    if !store::alerts::insert(tx, &new).await? {
        return Ok(None);
    }
    let job = Job::FanOutV1 { alert: id }.encode();
    let message = store::outbox::Message {
        routing_key: &Topology::fan_out_key(alert.lane),
        payload: &job,
        alert: Some(id),
        not_before: new.starts_at,
    };
    store::outbox::push(tx, &message).await?;
    Ok(Some(
        store::alerts::find_by_id_in(tx, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?,
    ))
}

/// Refuses an SMS longer than the tenant allows, with its count and how to shorten it.
pub fn check_segments(alert: &ValidAlert, senders: &TenantSenders) -> Result<(), IntakeError> {
    let (Some(length), Ok(max)) = (alert.sms_length, usize::try_from(senders.max_sms_segments))
    else {
        return Ok(());
    };
    if length.segments <= max {
        return Ok(());
    }
    let hint = if length.encoding == crate::model::SmsEncoding::Ucs2 {
        " (it is UCS-2: rewriting it in GSM-7 with `gsm7` fits more characters per segment)"
    } else {
        ""
    };
    Err(IntakeError::Invalid {
        field: "text",
        message: format!(
            "the SMS takes {} segments ({}, {} characters); this commune sends at most {max}: \
             shorten the text{hint}",
            length.segments, length.encoding, length.units
        ),
    })
}

/// When the alert was asked to start, and when it starts.
fn start_of(
    alert: &ValidAlert,
    local: &LocalClock,
    now: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), IntakeError> {
    let invalid = |message: String| IntakeError::Invalid {
        field: "scheduled_at",
        message,
    };
    let scheduled_at = alert
        .scheduled_at
        .map(|moment| moment.in_zone(local.time_zone))
        .transpose()
        .map_err(invalid)?;
    if let Some(at) = scheduled_at {
        let shown = at
            .with_timezone(&local.time_zone)
            .format("%Y-%m-%d %H:%M %Z");
        if at <= now {
            return Err(invalid(format!("{shown} is in the past")));
        }
        if at > now + chrono::Duration::days(LONGEST_WAIT_DAYS) {
            return Err(invalid(format!(
                "{shown} is more than {LONGEST_WAIT_DAYS} days ahead"
            )));
        }
    }
    let due = scheduled_at.unwrap_or(now);
    let starts = match (alert.lane, local.quiet_hours) {
        (Lane::Bulk, Some(quiet)) => quiet.release(local.time_zone, due),
        _ => due,
    };
    Ok((scheduled_at, starts))
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
