//! A group's alert to its member communes (`"communes"` in `POST /v1/alerts`): submitted,
//! followed and cancelled as one, reported per commune and in all.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AppState,
    alerts::{self, Counts, Report, intake_error},
    auth::Caller,
    error::ApiError,
};
use crate::{
    dispatch::{estimate, pipeline::group_intake},
    model::{AlertId, Channel, TenantId, TenantKind, TopicId, ValidAlert, communes::CommuneChoice},
    store::{self, group_alerts::GroupAlert},
};

/// A group's alert: its communes' reports and their sum.
#[derive(Serialize, ToSchema)]
pub struct GroupReport {
    /// `alr_…`: the group's alert (each commune's part has an id of its own).
    #[schema(value_type = String)]
    id: AlertId,
    /// The least advanced of its communes' parts (`scheduled`, `pending`, `planning`,
    /// `sending`, `completed`), or `cancelled` once all are.
    status: &'static str,
    topic: String,
    created_at: chrono::DateTime<chrono::Utc>,
    /// Recipients counted so far, in all (a citizen of two communes counts in the first to
    /// plan them, on each channel).
    recipients: i64,
    /// Per channel, in all.
    #[schema(value_type = BTreeMap<String, Counts>)]
    counts: BTreeMap<Channel, Counts>,
    /// Each commune's part, by slug.
    communes: Vec<CommuneReport>,
    /// With `"communes": "all"`: the communes that have no such topic, left out.
    left_out: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommuneReport {
    commune: String,
    report: Report,
}

pub(super) async fn create(
    state: &AppState,
    caller: &Caller,
    alert: &ValidAlert,
    communes: &CommuneChoice,
    idempotency_key: Option<String>,
    dry_run: bool,
) -> Result<Response, ApiError> {
    if store::tree::kind_of(&state.db, caller.tenant).await? == TenantKind::Commune {
        return Err(ApiError::invalid(
            "communes",
            "a commune has no member communes: send without `communes`",
        ));
    }
    let (members, left_out) = group_intake::members(&state.db, caller.tenant, alert, communes)
        .await
        .map_err(intake_error)?;
    let parts: Vec<(TenantId, TopicId)> = members.iter().map(|m| (m.tenant, m.topic)).collect();
    if dry_run {
        return estimates(state, alert, &members, &left_out, &parts).await;
    }
    let submitted = group_intake::submit(
        &state.db,
        &state.relay,
        &state.clock,
        caller.tenant,
        alert,
        (&members, &left_out),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(intake_error)?;
    if !submitted.replayed {
        let group = &submitted.alert;
        let marked = members
            .iter()
            .filter_map(|m| {
                let (_, id) = group.members.iter().find(|(slug, _)| *slug == m.slug)?;
                Some((m.tenant, m.topic, *id))
            })
            .collect();
        super::budget::mark_urgent_over(state, marked, alert);
        let details = serde_json::json!({
            "topic": group.topic, "urgent": alert.lane == crate::model::Lane::Urgent,
            "channels": alert.channels, "exercise": alert.exercise,
            "communes": group.members, "left_out": group.left_out,
        });
        super::audit::record(state, caller, "group_alert.created", group.id, details).await;
    }
    let body = report_of(state, submitted.alert).await?;
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if submitted.replayed {
        response
            .headers_mut()
            .insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The dry run of each commune's part, as `POST /v1/alerts?dry_run=true` gives it for one, and
/// the budgets they meet.
async fn estimates(
    state: &AppState,
    alert: &ValidAlert,
    members: &[group_intake::Part],
    left_out: &[String],
    parts: &[(TenantId, TopicId)],
) -> Result<Response, ApiError> {
    let context = estimate::Context {
        db: &state.db,
        routing: &state.routing,
        providers: &state.providers,
        pricing: &state.pricing,
        limits: &state.limits,
    };
    let mut each = Vec::with_capacity(members.len());
    for member in members {
        let estimate = estimate::estimate(&context, member.tenant, alert)
            .await
            .map_err(intake_error)?;
        each.push(serde_json::json!({ "commune": member.slug, "estimate": estimate }));
    }
    let budgets = super::budget::lines(state, parts, alert, &[]).await?;
    Ok(Json(serde_json::json!({
        "dry_run": true,
        "communes": each,
        "left_out": left_out,
        "budgets": budgets,
    }))
    .into_response())
}

/// The report of the tenant's group alert `id`; 404 for anything else.
pub(super) async fn report(
    state: &AppState,
    tenant: TenantId,
    id: AlertId,
) -> Result<GroupReport, ApiError> {
    let group = store::group_alerts::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    report_of(state, group).await
}

/// Cancels every commune's part, all or none: 409 when one has started.
pub(super) async fn cancel(
    state: &AppState,
    caller: &Caller,
    id: AlertId,
) -> Result<GroupReport, ApiError> {
    let group = store::group_alerts::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    let mut tx = state.db.begin().await?;
    for (_, part) in &group.members {
        let cancelled: Option<(bool,)> =
            sqlx::query_as("SELECT cancelled_at IS NOT NULL FROM alerts WHERE id = $1")
                .bind(part.0)
                .fetch_optional(&mut *tx)
                .await?;
        if cancelled != Some((true,)) {
            alerts::withdraw(&mut tx, *part).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(alert = %id, communes = group.members.len(), "group alert cancelled");
    let details = serde_json::json!({ "communes": group.members });
    super::audit::record(state, caller, "group_alert.cancelled", id, details).await;
    report_of(state, group).await
}

async fn report_of(state: &AppState, group: GroupAlert) -> Result<GroupReport, ApiError> {
    let mut communes = Vec::with_capacity(group.members.len());
    let mut counts: BTreeMap<Channel, Counts> = BTreeMap::new();
    let mut recipients = 0;
    for (commune, part) in group.members {
        let Some(alert) = store::alerts::get_for_dispatch(&state.db, part).await? else {
            continue;
        };
        let report = alerts::full_report(state, alert).await?;
        for (&channel, &n) in &report.counts {
            *counts.entry(channel).or_default() += n;
        }
        recipients += i64::from(report.recipients.unwrap_or(0));
        communes.push(CommuneReport { commune, report });
    }
    Ok(GroupReport {
        id: group.id,
        status: overall(communes.iter().map(|c| c.report.status)),
        topic: group.topic,
        created_at: group.created_at,
        recipients,
        counts,
        communes,
        left_out: group.left_out,
    })
}

/// The least advanced state of the parts that were not cancelled; `cancelled` when all were.
fn overall<'a>(states: impl Iterator<Item = &'a str>) -> &'static str {
    const PROGRESS: [&str; 5] = ["scheduled", "pending", "planning", "sending", "completed"];
    states
        .filter_map(|s| PROGRESS.iter().position(|p| *p == s))
        .min()
        .map_or("cancelled", |i| PROGRESS[i])
}

#[cfg(test)]
mod tests {
    use super::overall;

    #[test]
    fn a_group_alert_is_as_far_as_its_slowest_commune() {
        assert_eq!(overall(["completed", "sending"].into_iter()), "sending");
        assert_eq!(overall(["cancelled", "completed"].into_iter()), "completed");
        assert_eq!(overall(["cancelled", "cancelled"].into_iter()), "cancelled");
        assert_eq!(overall(["scheduled", "completed"].into_iter()), "scheduled");
    }
}
