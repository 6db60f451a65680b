//! `POST /v1/topics`, `GET /v1/topics`.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, auth::Caller, error::ApiError, json::ApiJson};
use crate::{model::Slug, store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTopic {
    slug: String,
    name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTopic>,
) -> Result<(StatusCode, Json<store::topics::Topic>), ApiError> {
    caller.require_admin()?;
    let slug = Slug::parse(&body.slug).map_err(|e| ApiError::invalid("slug", e.to_string()))?;
    let name = body.name.as_deref().map(str::trim).unwrap_or_default();
    let name = if name.is_empty() { slug.as_str() } else { name };
    if name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be at most 200 characters"));
    }
    match store::topics::create(&state.db, caller.tenant, &slug, name).await {
        Ok(topic) => Ok((StatusCode::CREATED, Json(topic))),
        Err(e) if store::is_unique_violation(&e) => Err(ApiError::conflict(
            "slug",
            format!("topic {:?} already exists", slug.as_str()),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let topics = store::topics::list(&state.db, caller.tenant).await?;
    Ok(Json(json!({ "topics": topics })))
}
