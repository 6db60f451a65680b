//! `POST /v1/alerts/{id}/stop`: an alert sent by mistake, stopped while it is under way. Its
//! deadline becomes now: senders take nothing more of it, the sends already started finish,
//! batches under way notice the stop within a second (`sender::watch_for_stop`) and expire what
//! they had not sent, and the sweeper expires the rest. An alert that has not started
//! is cancelled instead, as `cancel` would; a group's alert stops in every commune.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{
    AppState, ErrorBody,
    alerts::{self, Report},
    auth::{Allowed, Caller, ToSend},
    error::ApiError,
};
use crate::{model::AlertId, store};

/// Stop an alert under way: what has not left yet is not sent (it counts as expired).
#[utoipa::path(post, operation_id = "stop_alert", path = "/v1/alerts/{id}/stop",
    tag = "alerts",
    params(("id" = String, Path, description = "`alr_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Stopped, or cancelled if it had not started (or it already was)", body = Report),
        (status = 400, description = "Not an alert id", body = ErrorBody),
        (status = 403, description = "The key's role may not stop alerts (reader, drafter)", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "It is over: nothing is left to stop", body = ErrorBody),
    ))]
pub async fn stop(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToSend>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AlertId = id
        .parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))?;
    if store::alerts::get(&state.db, caller.tenant, id)
        .await?
        .is_some()
    {
        if stop_one(&state, &caller, id, None).await? == Outcome::Over {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_over",
                "the alert is over: nothing is left to stop",
            ));
        }
        let alert = store::alerts::get(&state.db, caller.tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("alert"))?;
        return Ok(Json(alerts::full_report(&state, alert).await?).into_response());
    }
    let group = store::group_alerts::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    // Every commune's part that is not over yet.
    for (_, part) in &group.members {
        stop_one(&state, &caller, *part, Some(id)).await?;
    }
    Ok(Json(super::group_alerts::report(&state, caller.tenant, id).await?).into_response())
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It had not started: cancelled.
    Cancelled,
    Stopped,
    /// Stopped or cancelled before.
    Already,
    /// Every delivery has its outcome: nothing to stop.
    Over,
}

/// Cancels `id` if it has not started, else stops it. Recorded in the audit log, with the group
/// whose alert it is part of.
pub(super) async fn stop_one(
    state: &AppState,
    caller: &Caller,
    id: AlertId,
    group: Option<AlertId>,
) -> Result<Outcome, ApiError> {
    let details = serde_json::json!({ "group_alert": group.map(|g| g.to_string()) });
    let mut tx = state.db.begin().await?;
    if alerts::cancel_if_not_started(&mut tx, id).await? {
        tx.commit().await?;
        tracing::info!(alert = %id, "alert cancelled before it started");
        super::audit::record(state, caller, "alert.cancelled", id, details).await;
        return Ok(Outcome::Cancelled);
    }
    tx.rollback().await?;
    if store::alerts::stop(&state.db, id).await? {
        tracing::warn!(alert = %id, "alert stopped under way");
        super::audit::record(state, caller, "alert.stopped", id, details).await;
        return Ok(Outcome::Stopped);
    }
    let alert = store::alerts::get_for_dispatch(&state.db, id).await?;
    Ok(match alert {
        Some(a) if a.stopped_at.is_some() || a.cancelled_at.is_some() => Outcome::Already,
        _ => Outcome::Over,
    })
}
