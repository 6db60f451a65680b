//! The audit log from the API: what each handler records once its action succeeded, and
//! `GET /v1/audit`, the entries of the caller's subtree.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::{Allowed, Caller, ToAdminister},
    error::ApiError,
    json::ApiQuery,
};
use crate::store::{self, audit::Entry};

/// Records what the caller did. The action is done already: an entry that cannot be written is
/// logged as an error (the log line names the action and the request), not turned into a
/// failure of the action a mayor is waiting on.
pub(super) async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    object: impl ToString,
    details: serde_json::Value,
) {
    let actor = caller.actor.to_string();
    let entry = Entry {
        actor: &actor,
        tenant: Some(caller.tenant),
        action,
        object: Some(object.to_string()),
        details,
        request_id: caller.request_id.as_deref(),
    };
    if let Err(error) = store::audit::record(&state.db, &entry).await {
        tracing::error!(%error, action, "audit entry not written");
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries from this time on (RFC 3339).
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// The `next` of the previous page.
    after: Option<i64>,
    /// 1 to 1000; 100 when absent.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Oldest first: `seq`, `at`, `actor` (`key:…`, `operator:…`), `tenant`, `action`,
    /// `object`, `details`, `request_id`, `hash` (the chain's SHA-256 once it was written).
    #[schema(value_type = Vec<Object>)]
    entries: Vec<store::audit::Stored>,
    /// Give it as `after` for the next page; null on the last.
    next: Option<i64>,
}

/// The audit log of the caller's tenant and its subtree (admin keys).
#[utoipa::path(get, operation_id = "audit", path = "/v1/audit", tag = "audit",
    params(AuditQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Entries, oldest first", body = AuditPage),
        (status = 400, description = "A parameter is invalid", body = super::ErrorBody),
        (status = 403, description = "Not an admin key", body = super::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let entries = store::audit::list(
        &state.db,
        caller.tenant,
        query.since,
        query.after.unwrap_or(0),
        limit,
    )
    .await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage { entries, next }))
}
