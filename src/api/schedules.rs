//! `/v1/schedules`: recurring alerts on the commune's local clock, their next occurrences and
//! what became of past ones.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState, ErrorBody,
    auth::{Allowed, Caller, ToAdminister},
    error::ApiError,
    json::{ApiJson, ApiQuery},
};
use crate::{
    model::{AlertDraft, ScheduleId, cron::Cron, local_time},
    store::{self, schedules::Schedule},
};

/// Most occurrences `next` lists at once.
const MAX_NEXT: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// The topic's slug.
    pub(super) topic: String,
    /// Five fields, as in a crontab: minute hour day-of-month month day-of-week
    /// (`0 19 * * MON`: Mondays at 19:00). Names (MON, JAN) and ranges, lists and steps are read.
    pub(super) cron: String,
    /// IANA time zone the expression is read in; the tenant's when absent.
    #[serde(alias = "tz")]
    pub(super) time_zone: Option<String>,
    /// The message, as for an alert.
    pub(super) text: String,
    pub(super) subject: Option<String>,
    /// Urgent occurrences ignore quiet hours; routine ones (the default) wait for their end.
    #[serde(default)]
    pub(super) urgent: bool,
    /// `sms` and/or `email`; both when absent.
    pub(super) channels: Option<Vec<String>>,
    /// Seconds after each occurrence's start after which what is left expires.
    pub(super) expires_in: Option<u64>,
    /// Rewrite the text to stay in GSM-7, as for an alert.
    #[serde(default)]
    pub(super) gsm7: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    /// `sch_…`
    id: String,
    topic: String,
    cron: String,
    time_zone: String,
    text: String,
    subject: Option<String>,
    urgent: bool,
    channels: Option<Vec<String>>,
    /// `active` or `paused`.
    state: &'static str,
    /// The next occurrence, in local time with its offset; null when paused or never again.
    next: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    schedules: Vec<ScheduleView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NextQuery {
    /// 1 to 100; 5 when absent.
    count: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct Occurrences {
    /// RFC 3339 local times with their UTC offset (`2026-12-07T19:00:00+01:00`).
    occurrences: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RunView {
    /// The local time it stands for, with the offset of the instant it was due.
    occurrence: String,
    /// `fired`, `missed` or `failed`.
    outcome: String,
    /// The alert it sent (`alr_…`).
    alert: Option<String>,
    /// Why it was missed or failed.
    reason: Option<String>,
    recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    runs: Vec<RunView>,
}

pub(super) fn zone_of(schedule: &Schedule) -> Tz {
    local_time::time_zone(&schedule.time_zone).unwrap_or(chrono_tz::Europe::Paris)
}

/// An instant on a clock, as RFC 3339 with that clock's offset.
fn local_text(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn view(schedule: Schedule) -> ScheduleView {
    let tz = zone_of(&schedule);
    let active = schedule.paused_at.is_none();
    ScheduleView {
        id: schedule.id.to_string(),
        topic: schedule.topic,
        cron: schedule.cron,
        time_zone: schedule.time_zone,
        text: schedule.alert.text,
        subject: schedule.alert.subject,
        urgent: schedule.alert.urgent,
        channels: schedule.alert.channels,
        state: if active { "active" } else { "paused" },
        next: schedule
            .next_at
            .filter(|_| active)
            .map(|at| local_text(at, tz)),
        created_at: schedule.created_at,
    }
}

fn parse_id(id: &str) -> Result<ScheduleId, ApiError> {
    id.parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))
}

async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Schedule, ApiError> {
    store::schedules::get(&state.db, caller.tenant, parse_id(id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("schedule"))
}

/// Create a schedule (admin): an alert sent at each occurrence of a cron expression, on the
/// commune's local clock.
#[utoipa::path(post, operation_id = "create_schedule", path = "/v1/schedules", tag = "schedules",
    request_body = NewSchedule, security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = ScheduleView),
        (status = 400, description = "A field is invalid (cron, time zone, topic, text…)",
            body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    ApiJson(body): ApiJson<NewSchedule>,
) -> Result<(StatusCode, Json<ScheduleView>), ApiError> {
    let schedule = add(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(view(schedule))))
}

/// Creates a schedule of the caller's tenant: the API and the console create through here.
pub(super) async fn add(
    state: &AppState,
    caller: &Caller,
    body: NewSchedule,
) -> Result<store::schedules::Schedule, ApiError> {
    let cron: Cron = body
        .cron
        .parse()
        .map_err(|e: crate::model::cron::CronError| {
            ApiError::invalid("cron", format!("{} (in {:?})", e, body.cron))
        })?;
    let tz = match &body.time_zone {
        Some(name) => local_time::time_zone(name).map_err(|e| ApiError::invalid("time_zone", e))?,
        None => {
            store::tenants::get(&state.db, caller.tenant)
                .await?
                .clock
                .time_zone
        }
    };
    let alert = AlertDraft {
        topic: body.topic,
        text: body.text,
        subject: body.subject,
        urgent: body.urgent,
        channels: body.channels,
        expires_in: body.expires_in,
        scheduled_at: None,
        gsm7: body.gsm7,
        communes: None,
        exercise: false,
        until_acknowledged: false,
    };
    let valid = alert
        .validate()
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let topic =
        store::topics::resolve(&state.db, caller.tenant, std::slice::from_ref(&valid.topic))
            .await?
            .map_err(|missing| {
                ApiError::invalid("topic", format!("unknown topic {}", missing.join(", ")))
            })?[0];
    let now = state.clock.now();
    let next_at = cron.occurrences_after(tz, now).next().map(|o| o.at);
    if next_at.is_none() {
        return Err(ApiError::invalid(
            "cron",
            format!(
                "{:?} never fires (no such date in the coming years)",
                body.cron
            ),
        ));
    }
    let new = store::schedules::NewSchedule {
        tenant_id: caller.tenant,
        topic_id: topic,
        cron: &cron.to_string(),
        time_zone: tz.name(),
        alert: &alert,
        from: now,
        next_at,
    };
    let schedule = store::schedules::create(&state.db, &new).await?;
    tracing::info!(schedule = %schedule.id, cron = %schedule.cron, tz = %schedule.time_zone,
        "schedule created");
    let details = serde_json::json!({ "topic": schedule.topic, "cron": schedule.cron });
    super::audit::record(state, caller, "schedule.created", schedule.id, details).await;
    Ok(schedule)
}

/// List the tenant's schedules.
#[utoipa::path(get, operation_id = "list_schedules", path = "/v1/schedules", tag = "schedules",
    security(("api_key" = [])),
    responses((status = 200, description = "The schedules", body = ScheduleList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ScheduleList>, ApiError> {
    let schedules = store::schedules::list(&state.db, caller.tenant).await?;
    Ok(Json(ScheduleList {
        schedules: schedules.into_iter().map(view).collect(),
    }))
}

/// One schedule.
#[utoipa::path(get, operation_id = "get_schedule", path = "/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "`sch_…`")), security(("api_key" = [])),
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    Ok(Json(view(find(&state, &caller, &id).await?)))
}

/// Remove a schedule (admin); alerts it already sent stay.
#[utoipa::path(delete, operation_id = "remove_schedule", path = "/v1/schedules/{id}",
    tag = "schedules", params(("id" = String, Path, description = "`sch_…`")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove_one(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a schedule of the caller's tenant (the API and the console).
pub(super) async fn remove_one(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(), ApiError> {
    if !store::schedules::remove(&state.db, caller.tenant, parse_id(id)?).await? {
        return Err(ApiError::not_found("schedule"));
    }
    let details = serde_json::json!({});
    super::audit::record(state, caller, "schedule.removed", id, details).await;
    Ok(())
}

/// Pause a schedule (admin): nothing is sent until it is resumed.
#[utoipa::path(post, operation_id = "pause_schedule", path = "/v1/schedules/{id}/pause",
    tag = "schedules", params(("id" = String, Path, description = "`sch_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Paused", body = ScheduleView),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn pause(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    pause_one(&state, &caller, &id).await?;
    Ok(Json(view(find(&state, &caller, &id).await?)))
}

/// Pauses a schedule of the caller's tenant (the API and the console).
pub(super) async fn pause_one(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let schedule = find(state, caller, id).await?;
    store::schedules::pause(&state.db, caller.tenant, schedule.id).await?;
    super::audit::record(state, caller, "schedule.paused", id, serde_json::json!({})).await;
    Ok(())
}

/// Resume a paused schedule (admin) from now on: occurrences that passed while it was paused
/// are not sent.
#[utoipa::path(post, operation_id = "resume_schedule", path = "/v1/schedules/{id}/resume",
    tag = "schedules", params(("id" = String, Path, description = "`sch_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Running", body = ScheduleView),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    Path(id): Path<String>,
) -> Result<Json<ScheduleView>, ApiError> {
    resume_one(&state, &caller, &id).await?;
    Ok(Json(view(find(&state, &caller, &id).await?)))
}

/// Resumes a paused schedule of the caller's tenant from now on (the API and the console).
pub(super) async fn resume_one(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(), ApiError> {
    let schedule = find(state, caller, id).await?;
    let now = state.clock.now();
    let next_at = schedule
        .cron
        .parse::<Cron>()
        .ok()
        .and_then(|cron| cron.occurrences_after(zone_of(&schedule), now).next())
        .map(|o| o.at);
    store::schedules::resume(&state.db, caller.tenant, schedule.id, now, next_at).await?;
    super::audit::record(state, caller, "schedule.resumed", id, serde_json::json!({})).await;
    Ok(())
}

/// The next occurrences, in local time: check a schedule before trusting it.
#[utoipa::path(get, operation_id = "next_occurrences", path = "/v1/schedules/{id}/next",
    tag = "schedules", params(("id" = String, Path, description = "`sch_…`"), NextQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The next occurrences", body = Occurrences),
        (status = 400, description = "count is out of range", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn next(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> Result<Json<Occurrences>, ApiError> {
    let count = query.count.unwrap_or(5);
    if !(1..=MAX_NEXT).contains(&count) {
        return Err(ApiError::invalid(
            "count",
            format!("must be between 1 and {MAX_NEXT}"),
        ));
    }
    let schedule = find(&state, &caller, &id).await?;
    let tz = zone_of(&schedule);
    let cron: Cron = schedule
        .cron
        .parse()
        .map_err(|e: crate::model::cron::CronError| ApiError::invalid("cron", e.to_string()))?;
    let occurrences = cron
        .occurrences_after(tz, state.clock.now())
        .take(count)
        .map(|o| local_text(o.at, tz))
        .collect();
    Ok(Json(Occurrences { occurrences }))
}

/// What became of past occurrences, newest first: fired (with the alert), missed (every
/// instance was down beyond the grace window) or failed (with the reason).
#[utoipa::path(get, operation_id = "schedule_runs", path = "/v1/schedules/{id}/runs",
    tag = "schedules", params(("id" = String, Path, description = "`sch_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The latest 100 occurrences", body = RunList),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunList>, ApiError> {
    let schedule = find(&state, &caller, &id).await?;
    let tz = zone_of(&schedule);
    let runs = store::schedules::runs(&state.db, schedule.id, 100).await?;
    Ok(Json(RunList {
        runs: runs
            .into_iter()
            .map(|run| RunView {
                occurrence: local_text(run.due_at, tz),
                outcome: run.outcome,
                alert: run.alert.map(|a| a.to_string()),
                reason: run.reason,
                recorded_at: run.recorded_at,
            })
            .collect(),
    }))
}
