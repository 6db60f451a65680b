//! `POST /v1/alerts` (with an optional `Idempotency-Key` header), `GET /v1/alerts/{id}`, its
//! deliveries, and cancelling an alert that has not started.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AppState, ErrorBody,
    auth::{Allowed, Caller, ToSend},
    error::ApiError,
    json::ApiJson,
};
use crate::{
    dispatch::{
        estimate,
        pipeline::intake::{self, IntakeError, Submitted},
        policy::routing::PUSH_ACCOUNT,
    },
    model::{AlertDraft, AlertId, Channel, DeliveryStatus, ValidAlert},
    store::{self, alerts::Alert, deliveries::Listing},
};

const IDEMPOTENCY_KEY_MAX: usize = 200;

/// The answer to a submission: enough to follow the alert.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `alr_…`
    #[schema(value_type = String)]
    id: AlertId,
    /// `accepted`, or `scheduled` when it starts later (asked for, or quiet hours).
    status: &'static str,
    /// Subscribers of the topic reachable on at least one of the channels: `null` here, as the
    /// alert is answered before a million subscribers are counted; fan-out counts them as it
    /// plans, and `GET /v1/alerts/{id}` shows the count (final once `planned_at` is set).
    recipients: Option<i32>,
    topic: String,
    urgent: bool,
    #[schema(value_type = Vec<String>)]
    channels: Vec<Channel>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// When it was asked to start.
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it starts, if not at once: the time asked for, or for a routine alert the end of the
    /// commune's quiet hours.
    starts_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Send an alert to the subscribers of a topic.
///
/// With an `Idempotency-Key`, the same request sent again answers the same alert
/// (`Idempotent-Replayed: true`) instead of sending it twice; the key with a different request
/// is refused (422).
#[utoipa::path(post, operation_id = "send_alert", path = "/v1/alerts", tag = "alerts", request_body = AlertDraftSchema,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 200 visible ASCII characters, chosen by the caller"), SendQuery),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Accepted for sending", body = Accepted,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 200, description = "`dry_run=true`: what it would do; nothing created",
            body = EstimateSchema),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "The key's role may not send (reader, drafter)", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Idempotency key used for another request", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SendingCaller(caller): SendingCaller,
    headers: HeaderMap,
    super::json::ApiQuery(query): super::json::ApiQuery<SendQuery>,
    ApiJson(draft): ApiJson<AlertDraft>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let alert = checked(&state, &draft)?;
    let dry_run = query.dry_run.unwrap_or(false);
    if let Some(communes) = alert.communes.clone() {
        return super::group_alerts::create(&state, &caller, &alert, &communes, key, dry_run).await;
    }
    if dry_run {
        return Ok(Json(estimate(&state, &caller, &alert).await?).into_response());
    }
    let (alert, replayed) = submit(&state, &caller, alert, key.as_deref()).await?;
    let body = Accepted {
        id: alert.id,
        status: if alert.starts_at.is_some() {
            "scheduled"
        } else {
            "accepted"
        },
        recipients: alert.recipients,
        topic: alert.topic,
        urgent: alert.lane == crate::model::Lane::Urgent,
        channels: alert.channels,
        created_at: alert.created_at,
        scheduled_at: alert.scheduled_at,
        starts_at: alert.starts_at,
    };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A draft checked, with the channels this platform offers: push asked for by name must be
/// configured; by default, the alert goes to the channels there are.
pub(super) fn checked(state: &AppState, draft: &AlertDraft) -> Result<ValidAlert, ApiError> {
    let mut alert = draft
        .validate()
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    if alert.channels.contains(&Channel::Push)
        && state.providers.get(Channel::Push, PUSH_ACCOUNT).is_none()
    {
        if draft.channels.is_some() {
            return Err(ApiError::invalid(
                "channels",
                "this platform sends no browser notifications: configure [push] \
                 (TOCSIN_VAPID_PRIVATE_KEY, TOCSIN_VAPID_SUBJECT)",
            ));
        }
        alert.channels.retain(|&c| c != Channel::Push);
    }
    Ok(alert)
}

/// What a dry run answers: the estimate, and the budgets the alert meets.
#[derive(Serialize)]
pub(super) struct DryRun {
    #[serde(flatten)]
    pub estimate: estimate::Estimate,
    pub budgets: Vec<crate::dispatch::policy::budget::BudgetLine>,
}

/// What an alert of the caller's commune would do (recipients, SMS segments, cost, budgets),
/// creating nothing: the API's dry run and the console's confirmation.
pub(super) async fn estimate(
    state: &AppState,
    caller: &Caller,
    alert: &ValidAlert,
) -> Result<DryRun, ApiError> {
    let topic =
        store::topics::resolve(&state.db, caller.tenant, std::slice::from_ref(&alert.topic))
            .await?
            .map(|ids| ids[0]);
    // An unknown topic is refused by the estimate, with its reason.
    let parts: Vec<_> = topic.iter().map(|&t| (caller.tenant, t)).collect();
    let context = estimate::Context {
        db: &state.db,
        routing: &state.routing,
        providers: &state.providers,
        pricing: &state.pricing,
        limits: &state.limits,
    };
    let estimate = estimate::estimate(&context, caller.tenant, alert)
        .await
        .map_err(intake_error)?;
    let budgets = super::budget::lines(state, &parts, alert, &[]).await?;
    Ok(DryRun { estimate, budgets })
}

/// Sends an alert of the caller's commune: budget, intake (idempotent under `key`), the urgent
/// over-budget mark and the audit entry. The API and the console send through here. Returns the
/// alert and whether it was there already (a replay).
pub(super) async fn submit(
    state: &AppState,
    caller: &Caller,
    alert: ValidAlert,
    key: Option<&str>,
) -> Result<(Alert, bool), ApiError> {
    let topic =
        store::topics::resolve(&state.db, caller.tenant, std::slice::from_ref(&alert.topic))
            .await?
            .map(|ids| ids[0])
            .map_err(|missing| intake_error(IntakeError::UnknownTopic(missing.join(", "))))?;
    let parts = [(caller.tenant, topic)];
    let submitted = intake::submit(
        &state.db,
        &state.relay,
        &state.clock,
        caller.tenant,
        topic,
        &alert,
        key,
    )
    .await
    .map_err(intake_error)?;
    let valid = alert;
    let (alert, replayed) = match submitted {
        Submitted::Created(alert) => (alert, false),
        Submitted::Existing(alert) => (alert, true),
    };
    if !replayed {
        let marked = parts
            .iter()
            .map(|&(tenant, topic)| (tenant, topic, alert.id))
            .collect();
        super::budget::mark_urgent_over(state, marked, &valid);
        let details = serde_json::json!({
            "topic": alert.topic, "urgent": alert.lane == crate::model::Lane::Urgent,
            "channels": alert.channels, "exercise": alert.exercise,
            "scheduled_at": alert.scheduled_at,
        });
        super::audit::record(state, caller, "alert.created", alert.id, details).await;
    }
    Ok((alert, replayed))
}

/// The caller of `POST /v1/alerts`, checked before the body is read: any role for a dry run
/// (it creates nothing), a role that may send otherwise.
pub struct SendingCaller(Caller);

impl axum::extract::FromRequestParts<AppState> for SendingCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let dry_run = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair == "dry_run=true"));
        if !dry_run {
            caller.require(crate::model::Permission::Send)?;
        }
        Ok(SendingCaller(caller))
    }
}

pub(super) fn intake_error(error: IntakeError) -> ApiError {
    match error {
        IntakeError::UnknownTopic(topic) => {
            ApiError::invalid("topic", format!("unknown topic {topic}"))
        }
        e @ IntakeError::KeyReused(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_conflict",
            format!("{e}: send the same request to replay it, or use a new key for a new alert"),
        )
        .on("Idempotency-Key"),
        IntakeError::Invalid { field, message } => ApiError::invalid(field, message),
        e @ IntakeError::OverBudget(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "budget_exceeded", e.to_string()).on("budget")
        }
        IntakeError::Db(e) => e.into(),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SendQuery {
    /// `true`: answer what the alert would do (recipients, SMS segments, cost) and create
    /// nothing.
    dry_run: Option<bool>,
}

/// The answer of a dry run (see `dispatch::estimate`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EstimateSchema {
    /// Always true.
    dry_run: bool,
    topic: String,
    /// The text as it would be sent.
    text: String,
    /// Per channel: `recipients`, `account`; for SMS also `encoding` (`gsm7`, `ucs2`),
    /// `segments` per message, `units`, `ucs2_characters`, `total_segments`, `cost`
    /// (`{amount, currency}` or null) and `max_segments`.
    #[schema(value_type = Object)]
    channels: serde_json::Value,
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

/// The body of `POST /v1/alerts` (see `model::AlertDraft`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertDraftSchema {
    /// The topic's slug.
    topic: String,
    /// The message: sent as is by SMS (at most 6 segments) and as the e-mail body.
    text: String,
    /// The e-mail subject; drawn from the text when absent. One line.
    subject: Option<String>,
    /// Urgent alerts go first and say "Alerte" in their default subject.
    #[schema(default = false)]
    urgent: Option<bool>,
    /// `sms` and/or `email`; both when absent.
    channels: Option<Vec<String>>,
    /// Seconds (60 to 604800) after which nothing more is sent: a storm warning must not arrive
    /// the next day. 21600 (6 h) for urgent alerts, 86400 (24 h) for others, counted from its
    /// start.
    expires_in: Option<u64>,
    /// Start later: `2026-12-01 07:00` (the commune's local time) or RFC 3339 with an offset.
    /// In the future, within a year; cancellable until it starts.
    scheduled_at: Option<String>,
    /// Rewrite the text to stay in GSM-7 (`ê` → `e`, `’` → `'`, `«` → `"`, no-break spaces →
    /// spaces): more characters per SMS segment.
    #[schema(default = false)]
    gsm7: Option<bool>,
    /// For a key of a group (or the platform): `"all"` or the slugs of member communes. Each
    /// commune's subscribers of the topic (by slug) get the alert with the commune's own sender
    /// and From, once per channel for a citizen of several; the answer is a `GroupReport`.
    #[schema(value_type = Option<Object>)]
    communes: Option<serde_json::Value>,
    /// A drill: every message begins with "EXERCICE – " (`gsm7` makes the dash `-`), and the
    /// alert counts apart from real ones.
    #[schema(default = false)]
    exercise: Option<bool>,
    /// Calls that end unconfirmed (no answer, busy, hung up before the end, an answering
    /// machine) are placed again every `[voice] recall_interval_s`, up to `[voice] max_calls`,
    /// until the citizen presses 1 or the alert expires.
    #[schema(default = false)]
    until_acknowledged: Option<bool>,
}

/// Deliveries of one channel by state.
#[derive(Serialize, Default, Clone, Copy, ToSchema)]
pub struct Counts {
    /// Waiting for, or being handed to, the provider.
    pub(super) queued: i64,
    /// Failed transiently; waiting for their next attempt.
    pub(super) retrying: i64,
    /// Accepted by the provider.
    pub(super) sent: i64,
    /// Confirmed by a delivery receipt.
    pub(super) delivered: i64,
    /// Refused for good, or given up after the last attempt.
    pub(super) failed: i64,
    /// Not sent before the alert's deadline.
    pub(super) expired: i64,
    /// Confirmed by the citizen (pressed 1 on the call), among those reached.
    pub(super) acknowledged: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.queued += other.queued;
        self.retrying += other.retrying;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.expired += other.expired;
        self.acknowledged += other.acknowledged;
    }
}

#[derive(Serialize, ToSchema)]
pub struct Report {
    #[schema(value_type = String)]
    id: AlertId,
    /// `scheduled` (waiting for its start), `cancelled`, `pending`, `planning`, `sending` or
    /// `completed`.
    pub(super) status: &'static str,
    topic: String,
    urgent: bool,
    subject: String,
    /// Subscribers reachable on at least one of the channels, counted as fan-out plans (final
    /// once `planned_at` is set); `null` before it starts.
    pub(super) recipients: Option<i32>,
    pub(super) created_at: chrono::DateTime<chrono::Utc>,
    /// When it was asked to start.
    scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it starts, if not at once (asked for, or the end of quiet hours).
    starts_at: Option<chrono::DateTime<chrono::Utc>>,
    cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was stopped under way (`POST /v1/alerts/{id}/stop`): what had not left by then
    /// counts as expired.
    stopped_at: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) planned_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Nothing is sent after this; what is left then counts as expired.
    expires_at: chrono::DateTime<chrono::Utc>,
    /// Per channel (`sms`, `email`, `push`, `voice`).
    #[schema(value_type = BTreeMap<String, Counts>)]
    pub(super) counts: BTreeMap<Channel, Counts>,
    /// People who confirmed the alert, whatever the channel (each counts once).
    pub(super) acknowledged: i64,
    /// Per channel: when providers answered the first and the last delivery.
    #[schema(value_type = BTreeMap<String, Timing>)]
    timings: BTreeMap<Channel, store::alerts::Timing>,
    /// A drill (`"exercise": true`): its messages begin with "EXERCICE – ".
    exercise: bool,
    /// An urgent alert sent although it went over a monthly budget (a routine one is refused).
    over_budget: bool,
    /// For a commune's part of a group's alert: the group that sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_by: Option<String>,
    /// For a commune's part of a group's alert: the group alert (`alr_…`), which the group
    /// follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    group_alert: Option<AlertId>,
}

/// Milliseconds from the alert's start to the first and the last provider answer, and to when
/// 90 % of the deliveries confirmed by receipts were delivered (null before any receipt, and
/// while the alert is still sending: it reads every row of the alert).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Timing {
    first_sent_ms: i64,
    last_sent_ms: i64,
    delivered_90_ms: Option<i64>,
}

/// An alert's progress and delivery counts.
#[utoipa::path(get, operation_id = "get_alert", path = "/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "`alr_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The report; for a group's alert to its member communes, \
            a `GroupReport`", body = Report),
        (status = 400, description = "Not an alert id", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AlertId = id
        .parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))?;
    let Some(alert) = store::alerts::get(&state.db, caller.tenant, id).await? else {
        let group = super::group_alerts::report(&state, caller.tenant, id).await?;
        return Ok(Json(group).into_response());
    };
    Ok(Json(full_report(&state, alert).await?).into_response())
}

/// An alert's report with its counts and timings.
pub(super) async fn full_report(state: &AppState, alert: Alert) -> Result<Report, ApiError> {
    let (id, start) = (alert.id, alert.starts_at.unwrap_or(alert.created_at));
    let rows = store::tallies::counts(&state.db, id).await?;
    let mut report = report(alert, &rows, BTreeMap::new(), state.clock.now());
    let acknowledged = store::acknowledgements::acknowledged(&state.db, id).await?;
    for (channel, n) in acknowledged.by_channel {
        report.counts.entry(channel).or_default().acknowledged = n;
    }
    report.acknowledged = acknowledged.people;
    let completed = report.status == "completed";
    report.timings = store::alerts::timings(&state.db, id, start, completed)
        .await?
        .into_iter()
        .collect();
    Ok(report)
}

/// Cancel an alert that has not started: a timed one before its hour, or one waiting for the end
/// of quiet hours.
#[utoipa::path(post, operation_id = "cancel_alert", path = "/v1/alerts/{id}/cancel",
    tag = "alerts",
    params(("id" = String, Path, description = "`alr_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Cancelled (or it already was)", body = Report),
        (status = 400, description = "Not an alert id", body = ErrorBody),
        (status = 403, description = "The key's role may not cancel (reader, drafter)", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "It has started: too late to cancel", body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToSend>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AlertId = id
        .parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))?;
    let Some(alert) = store::alerts::get(&state.db, caller.tenant, id).await? else {
        let group = super::group_alerts::cancel(&state, &caller, id).await?;
        return Ok(Json(group).into_response());
    };
    if alert.cancelled_at.is_none() {
        let mut tx = state.db.begin().await?;
        withdraw(&mut tx, id).await?;
        tx.commit().await?;
        tracing::info!(alert = %id, "alert cancelled");
        super::audit::record(
            &state,
            &caller,
            "alert.cancelled",
            id,
            serde_json::json!({}),
        )
        .await;
    }
    let alert = store::alerts::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    Ok(Json(report(alert, &[], BTreeMap::new(), state.clock.now())).into_response())
}

/// Withdraws an alert that has not started, in `tx`; 409 when it has.
pub(super) async fn withdraw(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: AlertId,
) -> Result<(), ApiError> {
    if !cancel_if_not_started(tx, id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_started",
            "the alert has started: it can no longer be cancelled",
        ));
    }
    Ok(())
}

/// Withdraws and cancels an alert that has not started, in `tx`; false when it has.
pub(super) async fn cancel_if_not_started(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: AlertId,
) -> Result<bool, sqlx::Error> {
    if !store::outbox::withdraw(tx, id).await? {
        return Ok(false);
    }
    store::alerts::mark_cancelled(tx, id).await?;
    Ok(true)
}

pub(super) fn report(
    alert: Alert,
    rows: &[(Channel, DeliveryStatus, i64)],
    timings: BTreeMap<Channel, store::alerts::Timing>,
    now: chrono::DateTime<chrono::Utc>,
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
            DeliveryStatus::Retrying => {
                c.retrying += n;
                in_flight += n;
            }
            DeliveryStatus::Sent => {
                c.sent += n;
                // A call placed has not ended: its outcome, and maybe another call, are to come
                // (until the alert's deadline, after which nothing more is placed).
                if channel == Channel::Voice && now < alert.expires_at {
                    in_flight += n;
                }
            }
            DeliveryStatus::Delivered => c.delivered += n,
            DeliveryStatus::Failed => c.failed += n,
            DeliveryStatus::Expired => c.expired += n,
        }
    }
    let waiting = alert.starts_at.is_some_and(|start| start > now);
    let status = match (alert.planned_at, rows.is_empty()) {
        _ if alert.cancelled_at.is_some() => "cancelled",
        (None, true) if waiting => "scheduled",
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
        scheduled_at: alert.scheduled_at,
        starts_at: alert.starts_at,
        cancelled_at: alert.cancelled_at,
        stopped_at: alert.stopped_at,
        planned_at: alert.planned_at,
        expires_at: alert.expires_at,
        counts,
        acknowledged: 0,
        timings,
        exercise: alert.exercise,
        over_budget: alert.over_budget,
        sent_by: alert.sent_by,
        group_alert: alert.group_alert_id,
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only deliveries in this state: queued, sending, retrying, sent, delivered, failed,
    /// expired; or `unacknowledged`: those of people who did not confirm the alert on any
    /// channel (reached or not), whom the mayor should check on.
    status: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1 to 1000; 100 when absent.
    limit: Option<i64>,
}

/// One delivery of an alert, its address masked.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_…`, the reference given to the provider.
    id: String,
    /// `sub_…`
    subscriber: String,
    channel: String,
    /// The phone number or address, masked: `+33 6 ** ** ** 78`, `a•••@example.fr`; for push,
    /// the browser's push service (`push: fcm.googleapis.com`); `(erased)` once the subscriber
    /// left or the retention period passed.
    to: String,
    status: String,
    /// Attempts made.
    attempts: i32,
    /// The last provider error, if any.
    error: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
    /// When the citizen confirmed the alert on it (pressed 1 on the call).
    acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    deliveries: Vec<DeliveryView>,
    /// Give it as `after` for the next page; null on the last.
    next: Option<String>,
}

/// An alert's deliveries, for example the failed ones with their reasons: whom the mayor should
/// phone.
#[utoipa::path(get, operation_id = "list_deliveries", path = "/v1/alerts/{id}/deliveries",
    tag = "alerts",
    params(("id" = String, Path, description = "`alr_…`"), DeliveryQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page", body = DeliveryPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    super::json::ApiQuery(query): super::json::ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let id: AlertId = id
        .parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))?;
    let filter = match query.status.as_deref() {
        None => Listing::All,
        Some("unacknowledged") => Listing::Unacknowledged,
        Some(s) => Listing::Status(
            s.parse::<DeliveryStatus>()
                .map_err(|e| ApiError::invalid("status", format!("{e}, or unacknowledged")))?,
        ),
    };
    let after = query
        .after
        .as_deref()
        .map(|a| {
            state
                .ids
                .parse_delivery(a)
                .map_err(|e| ApiError::invalid("after", e.to_string()))
        })
        .transpose()?;
    let limit = super::json::page_limit(query.limit)?;
    store::alerts::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    let rows = store::deliveries::list(&state.db, id, filter, after, limit).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|d| state.ids.delivery(d.id)))
        .flatten();
    let deliveries = rows
        .into_iter()
        .map(|d| DeliveryView {
            id: state.ids.delivery(d.id),
            subscriber: state.ids.subscriber(d.subscriber),
            channel: d.channel.as_str().to_string(),
            to: d.address.map_or_else(
                || "(erased)".into(),
                |a| crate::model::masked::address(d.channel, &a),
            ),
            status: d.status.as_str().to_string(),
            attempts: d.attempts,
            error: d.error,
            updated_at: d.updated_at,
            acknowledged_at: d.acknowledged_at,
        })
        .collect();
    Ok(Json(DeliveryPage { deliveries, next }))
}
