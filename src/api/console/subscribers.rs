//! The commune's subscribers at the console (roles drafter and admin), through the API's own
//! functions: the same checks (numbering plans, opt-outs), the same import and its report, the
//! same RGPD export, the same audit entries.

use axum::{
    extract::{Multipart, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    ConsoleError, html,
    session::{SignedIn, SignedInForm, uploaded_file},
    sign_in::Empty,
};
use crate::{
    api::{AppState, error::ApiError, subscribers as api},
    model::{EmailAddress, Permission, PhoneNumber},
    store,
    web::{
        console::subscribers::{self as pages, Found, ImportLine, ImportOutcome, SubscribersPage},
        pages::Field,
    },
};

#[derive(Default)]
struct Shown<'a> {
    query: &'a str,
    found: Option<Option<store::subscribers::Subscriber>>,
    errors: Vec<Field<'a>>,
    phone: &'a str,
    email: &'a str,
    landline: &'a str,
    notice: Option<&'a str>,
    import: Option<ImportOutcome>,
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    shown: Shown<'_>,
) -> Result<Response, ConsoleError> {
    let topics: Vec<(String, String, i64)> = store::topics::list(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name, t.subscribers))
        .collect();
    let ids: Option<String> = shown
        .found
        .as_ref()
        .and_then(|f| f.as_ref())
        .map(|s| state.ids.subscriber(s.id));
    let found = shown.found.as_ref().map(|f| {
        f.as_ref().map(|s| Found {
            id: ids.as_deref().unwrap_or_default(),
            phone: s.phone.as_deref(),
            email: s.email.as_deref(),
            landline: s.landline.as_deref(),
            push: s.push_service.is_some(),
            topics: &s.topics,
        })
    });
    let person = who.person();
    let status = if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(
        status,
        pages::subscribers_page(&SubscribersPage {
            person: &person,
            topics: &topics,
            query: shown.query,
            found,
            errors: &shown.errors,
            phone: shown.phone,
            email: shown.email,
            landline: shown.landline,
            notice: shown.notice,
            import: shown.import.as_ref(),
        }),
    ))
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    Query(search): Query<Search>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageSubscribers)?;
    let q = search.q.trim();
    if q.is_empty() {
        return page(&state, &who, Shown::default()).await;
    }
    let tenant = who.caller.tenant;
    let id = if q.contains('@') {
        match EmailAddress::parse(q) {
            Ok(email) => store::subscribers::by_email(&state.db, tenant, &email).await?,
            Err(_) => None,
        }
    } else {
        match PhoneNumber::parse_in(q, who.tenant.region) {
            Ok(number) => store::subscribers::by_number(&state.db, tenant, number.as_str()).await?,
            Err(_) => {
                let errors = vec![Field {
                    name: "q",
                    message: "Ce n'est ni un numéro ni une adresse e-mail complète.",
                }];
                return page(
                    &state,
                    &who,
                    Shown {
                        query: q,
                        errors,
                        ..Default::default()
                    },
                )
                .await;
            }
        }
    };
    let found = match id {
        Some(id) => store::subscribers::get(&state.db, tenant, id).await?,
        None => None,
    };
    page(
        &state,
        &who,
        Shown {
            query: q,
            found: Some(found),
            ..Default::default()
        },
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    landline: String,
}

pub async fn add(
    State(state): State<AppState>,
    SignedInForm { who, form, pairs }: SignedInForm<AddForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageSubscribers)?;
    let topics: Vec<String> = pairs
        .into_iter()
        .filter(|(n, _)| n == "topics")
        .map(|(_, v)| v)
        .collect();
    let new = api::NewSubscriber {
        phone: Some(form.phone.clone()),
        email: Some(form.email.clone()),
        landline: Some(form.landline.clone()),
        topics,
    };
    match api::add_one(&state, &who.caller, new).await {
        Ok(_) => {
            let notice = Some("Abonné enregistré.");
            page(
                &state,
                &who,
                Shown {
                    notice,
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) if matches!(e.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let name = match e.field.as_deref() {
                Some("email") => "email",
                Some("landline") => "landline",
                Some(f) if f.starts_with("topics") => "topics",
                _ => "phone",
            };
            let message = french(&e);
            let errors = vec![Field {
                name,
                message: &message,
            }];
            page(
                &state,
                &who,
                Shown {
                    errors,
                    phone: &form.phone,
                    email: &form.email,
                    landline: &form.landline,
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The API's reason, in French for the cases a mairie meets.
fn french(e: &ApiError) -> String {
    let m = e.message.as_str();
    if e.status == StatusCode::CONFLICT && e.field.as_deref() == Some("phone") {
        "Ce numéro a demandé à ne plus recevoir de SMS (STOP) : seul son titulaire peut se réabonner.".into()
    } else if e.status == StatusCode::CONFLICT {
        "Cette adresse s'est désinscrite : seule la personne peut se réabonner.".into()
    } else if m.contains("give a phone number, an e-mail address or a fixed line") {
        "Indiquez un numéro de portable, une adresse e-mail ou un numéro fixe.".into()
    } else if m.contains("at least one topic") {
        "Cochez au moins un thème.".into()
    } else {
        format!("Refusé : {m}")
    }
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageSubscribers)?;
    api::remove_one(&state, &who.caller, &id)
        .await
        .map_err(not_found_if_unknown)?;
    let notice = Some("Abonné désinscrit ; ses coordonnées sont effacées.");
    page(
        &state,
        &who,
        Shown {
            notice,
            ..Default::default()
        },
    )
    .await
}

pub async fn export(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageSubscribers)?;
    let data = api::export_one(&state, &who.caller, &id)
        .await
        .map_err(not_found_if_unknown)?;
    let mut response = axum::Json(data).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"abonne-{id}.json\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// Another commune's subscriber, or a mistyped id: not here.
fn not_found_if_unknown(e: ApiError) -> ConsoleError {
    if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST) {
        ConsoleError::not_found()
    } else {
        e.into()
    }
}

/// The register as a file (`multipart/form-data`).
pub async fn import(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Response> {
    who.caller
        .require(Permission::ManageSubscribers)
        .map_err(|e| ConsoleError::from(e).into_response())?;
    let file = uploaded_file(
        &state,
        &who,
        &headers,
        multipart,
        "file",
        api::MAX_IMPORT_BODY,
    )
    .await?;
    let shown = match file {
        None => Shown {
            errors: vec![Field {
                name: "file",
                message: "Fichier refusé : plus de 64 Mo.",
            }],
            ..Default::default()
        },
        Some(bytes) => {
            match api::import_csv(&state, &who.caller, axum::body::Body::from(bytes)).await {
                Ok(report) => Shown {
                    import: Some(ImportOutcome {
                        created: report.created,
                        updated: report.updated,
                        unchanged: report.unchanged,
                        opted_out: report.opted_out,
                        refused: report
                            .errors
                            .into_iter()
                            .map(|e| ImportLine {
                                line: e.line,
                                field: e.field,
                                reason: e.reason,
                            })
                            .collect(),
                    }),
                    ..Default::default()
                },
                Err(e)
                    if (e.status.is_client_error() && e.status != StatusCode::FORBIDDEN)
                        || e.code == api::BUSY =>
                {
                    let message = if e.code == api::BUSY {
                        "Fichier non importé : d'autres imports sont en cours sur la plateforme. \
                         Réessayez dans une minute."
                            .to_string()
                    } else {
                        format!("Fichier refusé : {}", e.message)
                    };
                    let errors = vec![Field {
                        name: "file",
                        message: &message,
                    }];
                    return page(
                        &state,
                        &who,
                        Shown {
                            errors,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(IntoResponse::into_response);
                }
                Err(e) => return Err(ConsoleError::from(e).into_response()),
            }
        }
    };
    page(&state, &who, shown)
        .await
        .map_err(IntoResponse::into_response)
}
