//! `POST/GET /v1/subscribers`, `GET/DELETE /v1/subscribers/{id}`, and
//! `POST /v1/subscribers/import` (a CSV file with the header `phone,email,topics`). Subscribers
//! are personal data: every route here is for admin keys only.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState, ErrorBody,
    auth::{Allowed, Caller, ToManageSubscribers},
    error::ApiError,
    json::{ApiJson, ApiQuery},
};
use crate::{
    model::{
        Channel, EmailAddress, PhoneNumber, Slug, SubscriberId, TopicId,
        import::{self, MAX_TOPICS_PER_SUBSCRIBER},
    },
    store::{
        self,
        subscribers::{Incoming, Upserted},
    },
};

/// Largest CSV file an import takes, in bytes (about a million lines).
pub const MAX_IMPORT_BODY: usize = 64 * 1024 * 1024;

/// Longest an import, read whole, waits for the one ahead of it to be parsed.
const IMPORT_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How an instance takes subscriber imports: one parsed at a time (parsing a large register is
/// CPU work done off the async workers; on two cores, more than one at a time would only slow
/// every other request), and one more read and waiting its turn. An import beyond those two is
/// answered 503 at once. None waits with its body unread: a client whose request stops being
/// read gives up on its own (reqwest's default `TCP_USER_TIMEOUT` is 30 s), long before the
/// import ahead of it could be done.
#[derive(Clone)]
pub struct ImportGate {
    /// Imports being read, or read and waiting, or parsed (two registers in memory at most).
    places: Arc<Semaphore>,
    /// The import being parsed.
    parsing: Arc<Semaphore>,
}

impl ImportGate {
    pub fn new() -> Self {
        ImportGate {
            places: Arc::new(Semaphore::new(2)),
            parsing: Arc::new(Semaphore::new(1)),
        }
    }

    /// A place for one more import, or 503 `busy` at once.
    fn enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.places.clone().try_acquire_owned().map_err(|_| busy())
    }

    /// The turn to parse, once the import ahead is parsed; 503 `busy` past `IMPORT_QUEUE_WAIT`.
    async fn turn(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        tokio::time::timeout(IMPORT_QUEUE_WAIT, self.parsing.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(ApiError::internal)
    }
}

impl Default for ImportGate {
    fn default() -> Self {
        Self::new()
    }
}

/// The error code of an import the instance cannot take now.
pub const BUSY: &str = "busy";

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        BUSY,
        "other imports are under way: try again shortly",
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriber {
    /// The mobile: French forms (`06 12 34 56 78`) or E.164.
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    /// A fixed line (`03 29 84 12 34`, a home box's 09…), called by voice only.
    #[serde(default)]
    pub(super) landline: Option<String>,
    /// Topic slugs, at least one, at most 100.
    #[serde(default)]
    pub(super) topics: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Subscriber {
    /// `sub_…`, opaque.
    pub(super) id: String,
    /// The mobile, E.164.
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    /// The fixed line, E.164.
    pub(super) landline: Option<String>,
    /// A browser subscribed on the commune's page: its push service (`fcm.googleapis.com`).
    pub(super) push_service: Option<String>,
    pub(super) topics: Vec<String>,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriberPage {
    subscribers: Vec<Subscriber>,
    /// Give it as `after` for the next page; null on the last.
    next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows kept: created + updated + unchanged.
    pub(super) imported: u64,
    pub(super) created: u64,
    pub(super) updated: u64,
    pub(super) unchanged: u64,
    /// Numbers and addresses left out because their owner opted out (STOP, an unsubscribe
    /// link): only they can subscribe them again.
    pub(super) opted_out: u64,
    pub(super) errors: Vec<ImportError>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportError {
    /// Line of the file (the header is line 1).
    pub(super) line: usize,
    /// `phone`, `email`, `topics`, or null for the row as a whole.
    pub(super) field: Option<&'static str>,
    pub(super) reason: String,
}

impl AppState {
    fn subscriber_view(&self, s: store::subscribers::Subscriber) -> Subscriber {
        Subscriber {
            id: self.ids.subscriber(s.id),
            phone: s.phone,
            email: s.email,
            landline: s.landline,
            push_service: s.push_service,
            topics: s.topics,
            created_at: s.created_at,
        }
    }

    fn subscriber_id(&self, field: &str, text: &str) -> Result<SubscriberId, ApiError> {
        self.ids
            .parse_subscriber(text)
            .map_err(|e| ApiError::invalid(field, e.to_string()))
    }
}

/// Add a subscriber, or complete the one with this phone number or address (admin).
#[utoipa::path(post, operation_id = "add_subscriber", path = "/v1/subscribers", tag = "subscribers", request_body = NewSubscriber,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = Subscriber),
        (status = 200, description = "Already known; completed", body = Subscriber),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 409, description = "The number or address opted out; only its owner can \
            subscribe it again", body = ErrorBody),
    ))]
pub async fn add(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    ApiJson(body): ApiJson<NewSubscriber>,
) -> Result<(StatusCode, Json<Subscriber>), ApiError> {
    let (view, created) = add_one(&state, &caller, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

/// Adds (or updates) a subscriber of the caller's tenant: the API and the console add through
/// here. Returns them, and whether they are new.
pub(super) async fn add_one(
    state: &AppState,
    caller: &Caller,
    body: NewSubscriber,
) -> Result<(Subscriber, bool), ApiError> {
    let region = store::tenants::get(&state.db, caller.tenant).await?.region;
    let phone = non_empty(body.phone.as_deref())
        .map(|p| {
            PhoneNumber::parse_for_sms(p, region)
                .map_err(|e| ApiError::invalid("phone", e.to_string()))
        })
        .transpose()?;
    let email = non_empty(body.email.as_deref())
        .map(|e| EmailAddress::parse(e).map_err(|e| ApiError::invalid("email", e.to_string())))
        .transpose()?;
    let landline = non_empty(body.landline.as_deref())
        .map(|l| {
            PhoneNumber::parse_for_voice(l, region)
                .map_err(|e| ApiError::invalid("landline", e.to_string()))
        })
        .transpose()?;
    if phone.is_none() && email.is_none() && landline.is_none() {
        return Err(ApiError::invalid(
            "phone",
            "give a phone number, an e-mail address or a fixed line (landline)",
        ));
    }
    if body.topics.is_empty() {
        return Err(ApiError::invalid("topics", "give at least one topic"));
    }
    if body.topics.len() > MAX_TOPICS_PER_SUBSCRIBER {
        return Err(ApiError::invalid(
            "topics",
            format!("give at most {MAX_TOPICS_PER_SUBSCRIBER} topics"),
        ));
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
    // Someone who opted out comes back only by their own new consent.
    if let Some(phone) = &phone
        && store::erasure::opted_out(&state.db, caller.tenant, Channel::Sms, phone.as_str()).await?
    {
        return Err(ApiError::conflict(
            "phone",
            "this number asked to receive no more SMS (STOP): only its owner can subscribe it \
             again (ALERTE by SMS, or the commune's page)",
        ));
    }
    if let Some(email) = &email
        && store::erasure::opted_out(&state.db, caller.tenant, Channel::Email, email.as_str())
            .await?
    {
        return Err(ApiError::conflict(
            "email",
            "this address unsubscribed: only its owner can subscribe it again (the commune's \
             page)",
        ));
    }
    let mut tx = state.db.begin().await?;
    let incoming = Incoming {
        phone: phone.as_ref(),
        email: email.as_ref(),
        landline: landline.as_ref(),
        topics,
    };
    let source = store::subscribers::Source::CommuneApi;
    let done = store::subscribers::upsert(&mut tx, caller.tenant, incoming, source).await?;
    tx.commit().await?;
    let subscriber = store::subscribers::get(&state.db, caller.tenant, done.id())
        .await?
        .ok_or_else(|| ApiError::internal("subscriber vanished after upsert"))?;
    let created = matches!(done, Upserted::Created(_));
    let action = if created {
        "subscriber.added"
    } else {
        "subscriber.updated"
    };
    let view = state.subscriber_view(subscriber);
    let details = serde_json::json!({ "topics": body.topics });
    super::audit::record(state, caller, action, &view.id, details).await;
    Ok((view, created))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1 to 1000; 100 when absent.
    limit: Option<i64>,
}

/// List subscribers, a page at a time (admin).
#[utoipa::path(get, operation_id = "list_subscribers", path = "/v1/subscribers", tag = "subscribers", params(Page),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "One page", body = SubscriberPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<SubscriberPage>, ApiError> {
    let after = page
        .after
        .as_deref()
        .map(|a| state.subscriber_id("after", a))
        .transpose()?;
    let limit = super::json::page_limit(page.limit)?;
    let subscribers = store::subscribers::list(&state.db, caller.tenant, after, limit).await?;
    let next = (subscribers.len() as i64 == limit)
        .then(|| subscribers.last().map(|s| state.ids.subscriber(s.id)))
        .flatten();
    let subscribers = subscribers
        .into_iter()
        .map(|s| state.subscriber_view(s))
        .collect();
    Ok(Json(SubscriberPage { subscribers, next }))
}

/// One subscriber (admin).
#[utoipa::path(get, operation_id = "get_subscriber", path = "/v1/subscribers/{id}", tag = "subscribers",
    params(("id" = String, Path, description = "`sub_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The subscriber", body = Subscriber),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    Path(id): Path<String>,
) -> Result<Json<Subscriber>, ApiError> {
    let id = state.subscriber_id("id", &id)?;
    let subscriber = store::subscribers::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("subscriber"))?;
    Ok(Json(state.subscriber_view(subscriber)))
}

/// Everything Tocsin holds about a subscriber (right of access, RGPD art. 15).
#[derive(Serialize, ToSchema)]
pub struct SubscriberExport {
    subscriber: Subscriber,
    /// When, how and for which topics they agreed, per channel; withdrawn ones without address.
    #[schema(value_type = Vec<Object>)]
    consents: Vec<store::subscribers::Consent>,
    /// The messages sent to them: alert, channel, address (until erased), status, time.
    deliveries: Vec<ExportedDelivery>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedDelivery {
    alert: String,
    channel: String,
    address: Option<String>,
    status: String,
    sent_at: Option<DateTime<Utc>>,
}

/// A subscriber's data as JSON: their addresses, topics, consents and the messages sent to
/// them (admin; `tocsin subscribers export ID`).
#[utoipa::path(get, operation_id = "export_subscriber", path = "/v1/subscribers/{id}/export",
    tag = "subscribers",
    params(("id" = String, Path, description = "`sub_…`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The subscriber's data", body = SubscriberExport),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    Path(id): Path<String>,
) -> Result<Json<SubscriberExport>, ApiError> {
    Ok(Json(export_one(&state, &caller, &id).await?))
}

/// Everything held about a subscriber of the caller's tenant (the API and the console).
pub(super) async fn export_one(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<SubscriberExport, ApiError> {
    let id = state.subscriber_id("id", id)?;
    let subscriber = store::subscribers::get(&state.db, caller.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("subscriber"))?;
    let consents = store::subscribers::consents(&state.db, caller.tenant, id).await?;
    let deliveries = store::subscribers::received(&state.db, caller.tenant, id)
        .await?
        .into_iter()
        .map(|d| ExportedDelivery {
            alert: d.alert.to_string(),
            channel: d.channel,
            address: d.address,
            status: d.status,
            sent_at: d.sent_at,
        })
        .collect();
    Ok(SubscriberExport {
        subscriber: state.subscriber_view(subscriber),
        consents,
        deliveries,
    })
}

/// Remove a subscriber and their subscriptions (admin).
#[utoipa::path(delete, operation_id = "remove_subscriber", path = "/v1/subscribers/{id}", tag = "subscribers",
    params(("id" = String, Path, description = "`sub_…`")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove_one(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a subscriber of the caller's tenant (the API and the console).
pub(super) async fn remove_one(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(), ApiError> {
    let id = state.subscriber_id("id", id)?;
    if !store::subscribers::remove(&state.db, caller.tenant, id).await? {
        return Err(ApiError::not_found("subscriber"));
    }
    let shown = state.ids.subscriber(id);
    super::audit::record(
        state,
        caller,
        "subscriber.removed",
        shown,
        serde_json::json!({}),
    )
    .await;
    Ok(())
}

/// Import a register (admin): every good row is imported and every bad one reported with its
/// line; importing the same file again changes nothing.
#[utoipa::path(post, operation_id = "import_subscribers", path = "/v1/subscribers/import", tag = "subscribers",
    request_body(content = String, content_type = "text/csv",
        description = "Header `phone,email,topics` (any order); topics separated by `;`; up to 64 MB"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The import report", body = ImportReport),
        (status = 400, description = "Not UTF-8, or not received whole", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 413, description = "Larger than 64 MB", body = ErrorBody),
        (status = 503, description = "Two other imports are being taken (Retry-After)", body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    Allowed { caller, .. }: Allowed<ToManageSubscribers>,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    Ok(Json(import_csv(&state, &caller, body).await?))
}

/// Imports a register into the caller's tenant (the API and the console).
pub(super) async fn import_csv(
    state: &AppState,
    caller: &Caller,
    body: Body,
) -> Result<ImportReport, ApiError> {
    // The place comes before the body is read (two registers in memory at most, whatever number
    // of imports are sent at once, each up to 64 MB); the turn to parse, after.
    let place = state.imports.enter()?;
    let body = axum::body::to_bytes(body, MAX_IMPORT_BODY)
        .await
        .map_err(|error| {
            if std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>())
            {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the CSV file is larger than {MAX_IMPORT_BODY} bytes"),
                )
                .on("body")
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body_incomplete",
                    "the CSV file was not received whole (interrupted, or slower than the \
                     body deadline)",
                )
                .on("body")
            }
        })?;
    let turn = state.imports.turn().await?;
    let region = store::tenants::get(&state.db, caller.tenant).await?.region;
    let known: HashMap<String, TopicId> = store::topics::list(&state.db, caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.id))
        .collect();
    // Parsing is CPU work proportional to the file: off the async workers, one at a time.
    let parsed = tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::invalid("body", "the CSV file must be UTF-8"))?;
        Ok::<_, ApiError>(resolve_topics(
            import::parse_subscribers_csv_in(text, region),
            &known,
        ))
    })
    .await
    .map_err(ApiError::internal)??;
    drop((turn, place));
    let Resolved { rows, mut errors } = parsed;
    let incoming: Vec<Incoming> = rows
        .iter()
        .map(|(row, topics)| Incoming {
            phone: row.phone.as_ref(),
            email: row.email.as_ref(),
            landline: row.landline.as_ref(),
            topics: topics.clone(),
        })
        .collect();
    let mut tx = state.db.begin().await?;
    let source = store::subscribers::Source::CommuneImport;
    let counts = store::subscribers::import(&mut tx, caller.tenant, &incoming, source).await?;
    tx.commit().await?;
    errors.sort_by_key(|e| e.line);
    // Counts, not the list: the log holds no personal data.
    let details = serde_json::json!({
        "created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
        "opted_out": counts.opted_out, "refused": errors.len(),
    });
    super::audit::record(state, caller, "subscribers.imported", "csv", details).await;
    Ok(ImportReport {
        imported: counts.created + counts.updated + counts.unchanged,
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        opted_out: counts.opted_out,
        errors,
    })
}

/// Rows whose topics all exist, with their ids; the others become errors.
struct Resolved {
    rows: Vec<(import::ImportRow, Vec<TopicId>)>,
    errors: Vec<ImportError>,
}

fn resolve_topics(parsed: import::ImportParse, known: &HashMap<String, TopicId>) -> Resolved {
    let mut errors: Vec<ImportError> = parsed
        .errors
        .into_iter()
        .map(|e| ImportError {
            line: e.line,
            field: e.field,
            reason: e.reason,
        })
        .collect();
    let mut rows = Vec::with_capacity(parsed.rows.len());
    for row in parsed.rows {
        let missing: Vec<&str> = row
            .topics
            .iter()
            .map(Slug::as_str)
            .filter(|t| !known.contains_key(*t))
            .collect();
        if missing.is_empty() {
            let topics = row.topics.iter().map(|t| known[t.as_str()]).collect();
            rows.push((row, topics));
        } else {
            errors.push(ImportError {
                line: row.line,
                field: Some("topics"),
                reason: format!("unknown topic: {}", missing.join(", ")),
            });
        }
    }
    Resolved { rows, errors }
}
