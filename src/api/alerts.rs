//! `POST /v1/alerts` (with an optional `Idempotency-Key` header) and `GET /v1/alerts/{id}`.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{AppState, auth::Caller, error::ApiError, json::ApiJson};
use crate::{
    dispatch::intake::{self, IntakeError, Submitted},
    model::{AlertDraft, AlertId, Channel, DeliveryStatus},
    store::{self, alerts::Alert},
};

const IDEMPOTENCY_KEY_MAX: usize = 200;

/// The answer to a submission: enough to follow the alert.
#[derive(Serialize)]
struct Accepted {
    id: AlertId,
    status: &'static str,
    recipients: i32,
    topic: String,
    urgent: bool,
    channels: Vec<Channel>,
    created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(draft): ApiJson<AlertDraft>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let alert = draft
        .validate()
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let submitted = intake::submit(
        &state.db,
        &state.relay,
        caller.tenant,
        &alert,
        key.as_deref(),
    )
    .await
    .map_err(|e| match e {
        IntakeError::UnknownTopic(topic) => {
            ApiError::invalid("topic", format!("unknown topic {topic}"))
        }
        IntakeError::Db(e) => e.into(),
    })?;
    let (alert, replayed) = match submitted {
        Submitted::Created(alert) => (alert, false),
        Submitted::Existing(alert) => (alert, true),
    };
    let body = Accepted {
        id: alert.id,
        status: "accepted",
        recipients: alert.recipients,
        topic: alert.topic,
        urgent: alert.lane == crate::model::Lane::Urgent,
        channels: alert.channels,
        created_at: alert.created_at,
    };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?
        .trim();
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("must be 1 to {IDEMPOTENCY_KEY_MAX} characters"),
        ));
    }
    Ok(Some(key.to_string()))
}

#[derive(Serialize, Default, Clone, Copy)]
pub struct Counts {
    queued: i64,
    sent: i64,
    delivered: i64,
    failed: i64,
}

#[derive(Serialize)]
struct Report {
    id: AlertId,
    status: &'static str,
    topic: String,
    urgent: bool,
    subject: String,
    recipients: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    planned_at: Option<chrono::DateTime<chrono::Utc>>,
    counts: BTreeMap<Channel, Counts>,
    /// Per channel: when providers answered the first and the last delivery.
    timings: BTreeMap<Channel, store::alerts::Timing>,
}

pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: AlertId = id
        .parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))?;
    let alert = store::alerts::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    let rows = store::alerts::delivery_counts(&state.db, id).await?;
    let timings = store::alerts::timings(&state.db, id).await?;
    let report = report(alert, &rows, timings.into_iter().collect());
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

fn report(
    alert: Alert,
    rows: &[(Channel, DeliveryStatus, i64)],
    timings: BTreeMap<Channel, store::alerts::Timing>,
) -> Report {
    let mut counts: BTreeMap<Channel, Counts> = alert
        .channels
        .iter()
        .map(|&c| (c, Counts::default()))
        .collect();
    let mut in_flight = 0;
    for &(channel, status, n) in rows {
        let c = counts.entry(channel).or_default();
        match status {
            // A row being sent right now has not left the queue yet, for the mayor.
            DeliveryStatus::Queued | DeliveryStatus::Sending => {
                c.queued += n;
                in_flight += n;
            }
            DeliveryStatus::Sent => c.sent += n,
            DeliveryStatus::Delivered => c.delivered += n,
            DeliveryStatus::Failed | DeliveryStatus::Expired => c.failed += n,
        }
    }
    let status = match (alert.planned_at, rows.is_empty()) {
        (None, true) => "pending",
        (None, false) => "planning",
        (Some(_), _) if in_flight > 0 => "sending",
        (Some(_), _) => "completed",
    };
    Report {
        id: alert.id,
        status,
        topic: alert.topic,
        urgent: alert.lane == crate::model::Lane::Urgent,
        subject: alert.subject,
        recipients: alert.recipients,
        created_at: alert.created_at,
        planned_at: alert.planned_at,
        counts,
        timings,
    }
}
