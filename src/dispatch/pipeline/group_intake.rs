//! Intake of a group's alert: one alert to several member communes, written in one transaction
//! with an ordinary alert for each commune (its topic, its sender and From, its quiet hours and
//! history), each started by its own job (`intake::write`). A citizen subscribed in several of
//! them gets it once per channel (`store::deliveries::plan_range`).

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::dispatch::{
    pipeline::intake::{self, IntakeError},
    policy::budget,
};
use crate::{
    clock::Clock,
    model::{AlertId, TenantId, TopicId, ValidAlert, communes::CommuneChoice},
    store::{self, group_alerts::GroupAlert},
};

#[derive(Debug)]
pub struct GroupSubmitted {
    pub alert: GroupAlert,
    /// The group already sent this alert with this idempotency key: this is that alert.
    pub replayed: bool,
}

/// A member commune the alert goes to.
pub struct Part {
    pub tenant: TenantId,
    pub slug: String,
    pub topic: TopicId,
}

/// Writes the group alert and each commune's part (`members` chose them, and the communes
/// left out).
pub async fn submit(
    db: &PgPool,
    relay: &Notify,
    clock: &Clock,
    group: TenantId,
    alert: &ValidAlert,
    (parts, left_out): (&[Part], &[String]),
    idempotency_key: Option<&str>,
) -> Result<GroupSubmitted, IntakeError> {
    let mut tx = db.begin().await?;
    if let Some(key) = idempotency_key
        && let Some(existing) =
            store::group_alerts::find_by_idempotency_key(&mut tx, group, key).await?
    {
        return replay(existing, alert);
    }
    let id = AlertId::new();
    let topic = alert.topic.as_str();
    let fingerprint = alert.fingerprint.as_slice();
    if !store::group_alerts::insert(
        &mut tx,
        id,
        group,
        topic,
        idempotency_key,
        fingerprint,
        left_out,
    )
    .await?
    {
        // Another request with the same key won the race; it holds the alert.
        drop(tx);
        let mut tx = db.begin().await?;
        let key = idempotency_key.unwrap_or_default();
        let existing = store::group_alerts::find_by_idempotency_key(&mut tx, group, key).await?;
        return replay(existing.ok_or(sqlx::Error::RowNotFound)?, alert);
    }
    let shares: Vec<(TenantId, TopicId)> = parts.iter().map(|p| (p.tenant, p.topic)).collect();
    let hold = budget::hold(&mut tx, &shares, alert).await?;
    let now = clock.now();
    for part in parts {
        let written = intake::write(&mut tx, part.tenant, part.topic, alert, None, Some(id), now)
            .await
            .map_err(|error| match error {
                // The commune's own rules (its SMS length, its clock) name it.
                IntakeError::Invalid { field, message } => IntakeError::Invalid {
                    field,
                    message: format!("{}: {message}", part.slug),
                },
                other => other,
            })?
            .ok_or(sqlx::Error::RowNotFound)?;
        if let Some(hold) = &hold {
            hold.keep(&mut tx, part.tenant, written.id).await?;
        }
    }
    tx.commit().await?;
    relay.notify_one();
    let alert = store::group_alerts::get(db, group, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(GroupSubmitted {
        alert,
        replayed: false,
    })
}

/// The communes the alert goes to, each with its topic of the alert's slug; with "all", those
/// without such a topic are left out (and named), while a commune named in a list must have it.
pub async fn members(
    db: &PgPool,
    group: TenantId,
    alert: &ValidAlert,
    choice: &CommuneChoice,
) -> Result<(Vec<Part>, Vec<String>), IntakeError> {
    let invalid = |field, message: String| IntakeError::Invalid { field, message };
    let below = store::group_alerts::communes_below(db, group).await?;
    let targets = match choice {
        CommuneChoice::All => below,
        CommuneChoice::Only(slugs) => {
            let mut targets = Vec::with_capacity(slugs.len());
            for slug in slugs {
                let found = below.iter().find(|(_, s)| s == slug.as_str());
                let found = found.ok_or_else(|| {
                    invalid("communes", format!("{slug} is not a commune of this group"))
                })?;
                targets.push(found.clone());
            }
            targets
        }
    };
    if targets.is_empty() {
        return Err(invalid(
            "communes",
            "this group has no member commune".into(),
        ));
    }
    let (mut parts, mut without_topic) = (Vec::new(), Vec::new());
    let wanted = std::slice::from_ref(&alert.topic);
    for (tenant, slug) in targets {
        match store::topics::resolve(db, tenant, wanted).await? {
            Ok(ids) => parts.push(Part {
                tenant,
                slug,
                topic: ids[0],
            }),
            Err(_) => without_topic.push(slug),
        }
    }
    let topic = alert.topic.as_str();
    if matches!(choice, CommuneChoice::Only(_)) && !without_topic.is_empty() {
        return Err(invalid(
            "communes",
            format!("no topic {topic} in {}", without_topic.join(", ")),
        ));
    }
    if parts.is_empty() {
        return Err(invalid(
            "topic",
            format!("no member commune has a topic {topic}"),
        ));
    }
    Ok((parts, without_topic))
}

/// The group alert an idempotency key already made, if this request is the same one again.
fn replay(existing: GroupAlert, request: &ValidAlert) -> Result<GroupSubmitted, IntakeError> {
    if existing.request_hash.as_slice() != request.fingerprint.as_slice() {
        return Err(IntakeError::KeyReused(existing.id));
    }
    Ok(GroupSubmitted {
        alert: existing,
        replayed: true,
    })
}
