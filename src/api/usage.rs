//! `GET /v1/usage`: what the caller's tenant and everything below it used in a month.

use axum::{Json, extract::State};
use utoipa::ToSchema;

use super::{
    AppState,
    auth::{Allowed, ToAdminister},
    error::ApiError,
    json::ApiQuery,
};
use crate::dispatch::usage;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// The month, as `2026-11`: alerts that started in it on their commune's clock.
    month: String,
}

/// The answer (see `dispatch::usage::UsageReport`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageSchema {
    month: String,
    /// Per tenant, parents before members: `tenant`, `name`, `kind`, `parent`, `alerts`
    /// (`urgent`, `routine`, `exercise`), `channels` (per channel `pending`, `sent`,
    /// `delivered`, `failed`, `expired`, `segments`) and `cost` (by currency). A group's row
    /// includes its members'.
    #[schema(value_type = Vec<Object>)]
    tenants: Vec<serde_json::Value>,
    /// The caller's tenant's row: everything the report covers.
    #[schema(value_type = Object)]
    total: serde_json::Value,
}

/// A month's usage of the caller's tenant and its subtree, for re-invoicing (admin keys).
#[utoipa::path(get, operation_id = "usage", path = "/v1/usage", tag = "usage",
    params(UsageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The month's usage", body = UsageSchema),
        (status = 400, description = "Not a month", body = super::ErrorBody),
        (status = 403, description = "Not an admin key", body = super::ErrorBody),
    ))]
pub async fn month(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Json<usage::UsageReport>, ApiError> {
    let month = usage::parse_month(&query.month).map_err(|e| ApiError::invalid("month", e))?;
    Ok(Json(
        usage::report(&state.db, &state.pricing, caller.tenant, month).await?,
    ))
}
