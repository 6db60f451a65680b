//! `POST /v1/topics`, `GET /v1/topics`.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    auth::{Allowed, Caller, ToAdminister},
    error::ApiError,
    json::ApiJson,
};
use crate::{
    model::{Slug, text::check_line},
    store,
};

/// Longest topic name, in characters.
const MAX_NAME_CHARS: usize = 200;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTopic {
    /// Lower-case letters, digits and dashes: `intemperies`, `collecte-dechets`.
    slug: String,
    /// Shown to citizens; the slug when absent. One line, at most 200 characters.
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Topic {
    /// `top_…`
    id: String,
    slug: String,
    name: String,
    /// Subscribers following it.
    subscribers: i64,
    created_at: DateTime<Utc>,
}

impl From<store::topics::Topic> for Topic {
    fn from(t: store::topics::Topic) -> Self {
        Topic {
            id: t.id.to_string(),
            slug: t.slug,
            name: t.name,
            subscribers: t.subscribers,
            created_at: t.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TopicList {
    topics: Vec<Topic>,
}

/// Create a topic (admin).
#[utoipa::path(post, operation_id = "create_topic", path = "/v1/topics", tag = "topics", request_body = NewTopic,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = Topic),
        (status = 400, description = "A field is invalid", body = super::ErrorBody),
        (status = 403, description = "Not an admin key", body = super::ErrorBody),
        (status = 409, description = "The slug exists", body = super::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToAdminister>,
    ApiJson(body): ApiJson<NewTopic>,
) -> Result<(StatusCode, Json<Topic>), ApiError> {
    let topic = add(&state, &caller, &body.slug, body.name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(topic.into())))
}

/// Creates a topic of the caller's tenant: the API and the console create through here.
pub(super) async fn add(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    name: Option<&str>,
) -> Result<store::topics::Topic, ApiError> {
    let slug = Slug::parse(slug).map_err(|e| ApiError::invalid("slug", e.to_string()))?;
    let name = name.map(str::trim).unwrap_or_default();
    let name = if name.is_empty() { slug.as_str() } else { name };
    check_line(name).map_err(|e| ApiError::invalid("name", format!("name {e}")))?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    match store::topics::create(&state.db, caller.tenant, &slug, name).await {
        Ok(topic) => {
            let details = serde_json::json!({ "name": name });
            super::audit::record(state, caller, "topic.created", slug.as_str(), details).await;
            Ok(topic)
        }
        Err(e) if store::is_unique_violation(&e) => Err(ApiError::conflict(
            "slug",
            format!("topic {:?} already exists", slug.as_str()),
        )),
        Err(e) => Err(e.into()),
    }
}

/// List the tenant's topics.
#[utoipa::path(get, operation_id = "list_topics", path = "/v1/topics", tag = "topics", security(("api_key" = [])),
    responses((status = 200, description = "The topics", body = TopicList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TopicList>, ApiError> {
    let topics = store::topics::list(&state.db, caller.tenant).await?;
    Ok(Json(TopicList {
        topics: topics.into_iter().map(Topic::from).collect(),
    }))
}
