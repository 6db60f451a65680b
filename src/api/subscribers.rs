//! `POST/GET /v1/subscribers`, `GET/DELETE /v1/subscribers/{id}`, and
//! `POST /v1/subscribers/import` (a CSV file with the header `phone,email,topics`).

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, auth::Caller, error::ApiError, json::ApiJson};
use crate::{
    model::{EmailAddress, PhoneNumber, Slug, SubscriberId, TopicId, import},
    store::{self, subscribers::Upserted},
};

/// Largest CSV file an import takes, in bytes (about a million lines).
pub const MAX_IMPORT_BODY: usize = 64 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriber {
    phone: Option<String>,
    email: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
}

pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewSubscriber>,
) -> Result<(StatusCode, Json<store::subscribers::Subscriber>), ApiError> {
    caller.require_admin()?;
    let phone = non_empty(body.phone.as_deref())
        .map(|p| PhoneNumber::parse(p).map_err(|e| ApiError::invalid("phone", e.to_string())))
        .transpose()?;
    let email = non_empty(body.email.as_deref())
        .map(|e| EmailAddress::parse(e).map_err(|e| ApiError::invalid("email", e.to_string())))
        .transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(ApiError::invalid(
            "phone",
            "give a phone number, an e-mail address, or both",
        ));
    }
    if body.topics.is_empty() {
        return Err(ApiError::invalid("topics", "give at least one topic"));
    }
    let slugs = body
        .topics
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Slug::parse(t).map_err(|e| ApiError::invalid(format!("topics[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let topics = store::topics::resolve(&state.db, caller.tenant, &slugs)
        .await?
        .map_err(|missing| {
            ApiError::invalid("topics", format!("unknown topic: {}", missing.join(", ")))
        })?;
    let mut tx = state.db.begin().await?;
    let done = store::subscribers::upsert(
        &mut tx,
        caller.tenant,
        phone.as_ref(),
        email.as_ref(),
        &topics,
    )
    .await?;
    tx.commit().await?;
    let subscriber = store::subscribers::get(&state.db, caller.tenant, done.id())
        .await?
        .ok_or_else(|| ApiError::internal("subscriber vanished after upsert"))?;
    let status = if matches!(done, Upserted::Created(_)) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(subscriber)))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
pub struct Page {
    after: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let after = page
        .after
        .as_deref()
        .map(|a| {
            a.parse::<SubscriberId>()
                .map_err(|e| ApiError::invalid("after", e.to_string()))
        })
        .transpose()?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let subscribers = store::subscribers::list(&state.db, caller.tenant, after, limit).await?;
    let next = (subscribers.len() as i64 == limit)
        .then(|| subscribers.last().map(|s| s.id))
        .flatten();
    Ok(Json(json!({ "subscribers": subscribers, "next": next })))
}

fn parse_id(id: &str) -> Result<SubscriberId, ApiError> {
    id.parse()
        .map_err(|e: crate::model::IdParseError| ApiError::invalid("id", e.to_string()))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<store::subscribers::Subscriber>, ApiError> {
    let id = parse_id(&id)?;
    store::subscribers::get(&state.db, caller.tenant, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("subscriber"))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let id = parse_id(&id)?;
    if store::subscribers::remove(&state.db, caller.tenant, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("subscriber"))
    }
}

/// Imports every good row and reports every bad one with its line number; importing the same
/// file again changes nothing.
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("body", "the CSV file must be UTF-8"))?;
    let parsed = import::parse_subscribers_csv(text);
    let mut errors: Vec<Value> = parsed
        .errors
        .iter()
        .map(|e| json!({ "line": e.line, "field": e.field, "reason": e.reason }))
        .collect();
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    let known: HashMap<String, TopicId> = store::topics::list(&state.db, caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.id))
        .collect();
    let mut tx = state.db.begin().await?;
    for row in &parsed.rows {
        let missing: Vec<&str> = row
            .topics
            .iter()
            .map(Slug::as_str)
            .filter(|t| !known.contains_key(*t))
            .collect();
        if !missing.is_empty() {
            errors.push(json!({ "line": row.line, "field": "topics", "reason": format!("unknown topic: {}", missing.join(", ")) }));
            continue;
        }
        let topics: Vec<TopicId> = row.topics.iter().map(|t| known[t.as_str()]).collect();
        match store::subscribers::upsert(
            &mut tx,
            caller.tenant,
            row.phone.as_ref(),
            row.email.as_ref(),
            &topics,
        )
        .await?
        {
            Upserted::Created(_) => created += 1,
            Upserted::Updated(_) => updated += 1,
            Upserted::Unchanged(_) => unchanged += 1,
        }
    }
    tx.commit().await?;
    errors.sort_by_key(|e| e["line"].as_u64());
    Ok(Json(json!({
        "imported": created + updated + unchanged,
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "errors": errors,
    })))
}
