//! Alerts a drafter proposed, waiting for a sender's validation (when the commune asks for it,
//! `tenant update --require-validation on`, the default): listed for senders, shown with the
//! dry run's figures, validated (sent, under the draft's idempotency key: two senders clicking
//! at once send one alert) or refused. Each step is in the audit log.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use super::{
    ConsoleError,
    alerts::{AlertFields, checked, confirm_page},
    french_time, ok, see_other,
    session::{SignedIn, SignedInForm},
    sign_in::Empty,
};
use crate::{
    api::{AppState, alerts as api_alerts, audit},
    model::{AlertDraft, DraftId, Permission},
    store::{self, drafts::Draft},
    web::console::alerts::{self as pages, ConfirmAction, DraftLine},
};

/// A drafter's routine alert, kept for a sender; the drafter is taken to it.
pub(super) async fn propose(
    state: &AppState,
    who: &SignedIn,
    draft: &AlertDraft,
    subject: &str,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let id = store::drafts::create(
        &state.db,
        who.caller.tenant,
        who.user.id,
        draft,
        subject,
        now,
    )
    .await?;
    let details = serde_json::json!({ "topic": draft.topic });
    audit::record(state, &who.caller, "draft.proposed", id, details).await;
    Ok(see_other(&format!("/console/drafts/{id}")))
}

/// The drafts waiting in the caller's commune, each with its id and time as shown.
pub(super) async fn waiting(
    state: &AppState,
    who: &SignedIn,
) -> Result<Vec<(String, String, Draft)>, ConsoleError> {
    let zone = who.tenant.clock.time_zone;
    Ok(store::drafts::pending(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|d| (d.id.to_string(), french_time(d.created_at, zone), d))
        .collect())
}

pub(super) fn lines(drafts: &[(String, String, Draft)]) -> Vec<DraftLine<'_>> {
    drafts
        .iter()
        .map(|(id, created, d)| DraftLine {
            id,
            subject: &d.subject,
            author: &d.author_name,
            created: created.clone(),
        })
        .collect()
}

pub async fn list(State(state): State<AppState>, who: SignedIn) -> Result<Response, ConsoleError> {
    let drafts = waiting(&state, &who).await?;
    let person = who.person();
    Ok(ok(pages::drafts_page(&person, &lines(&drafts))))
}

async fn own_draft(state: &AppState, who: &SignedIn, id: &str) -> Result<Draft, ConsoleError> {
    let id: DraftId = id.parse().map_err(|_| ConsoleError::not_found())?;
    store::drafts::get(&state.db, who.caller.tenant, id)
        .await?
        .ok_or_else(ConsoleError::not_found)
}

pub async fn show(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let draft = own_draft(&state, &who, &id).await?;
    if let (Some(alert), "sent") = (draft.alert, draft.status.as_str()) {
        return Ok(see_other(&format!("/console/alerts/{alert}")));
    }
    let form = AlertFields::of(&draft.draft);
    let alert = checked(&state, &form)?;
    let dry_run = api_alerts::estimate(&state, &who.caller, &alert).await?;
    let url = format!("/console/drafts/{}/validate", draft.id);
    let action = match draft.status.as_str() {
        "rejected" => ConfirmAction::None {
            why: "Cette alerte a été refusée : elle ne partira pas.",
        },
        _ if who.caller.role.allows(Permission::Send) => ConfirmAction::Validate {
            url: &url,
            author: &draft.author_name,
        },
        _ => ConfirmAction::None {
            why: "En attente de validation : elle partira quand un élu d'astreinte l'aura validée.",
        },
    };
    Ok(ok(confirm_page(&who, &form, &dry_run, action, false)))
}

pub async fn validate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Send)?;
    let draft = own_draft(&state, &who, &id).await?;
    let alert = checked(&state, &AlertFields::of(&draft.draft))?;
    if !store::drafts::decide(&state.db, draft.id, "sent", who.user.id, state.clock.now()).await? {
        return Err(already_decided());
    }
    let key = format!("draft:{}", draft.id);
    let (alert, _) = api_alerts::submit(&state, &who.caller, alert, Some(&key)).await?;
    store::drafts::set_alert(&state.db, draft.id, alert.id).await?;
    let details =
        serde_json::json!({ "draft": draft.id, "author": format!("user:{}", draft.author) });
    audit::record(&state, &who.caller, "alert.validated", alert.id, details).await;
    Ok(see_other(&format!("/console/alerts/{}", alert.id)))
}

pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Send)?;
    let draft = own_draft(&state, &who, &id).await?;
    if !store::drafts::decide(
        &state.db,
        draft.id,
        "rejected",
        who.user.id,
        state.clock.now(),
    )
    .await?
    {
        return Err(already_decided());
    }
    audit::record(
        &state,
        &who.caller,
        "draft.rejected",
        draft.id,
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/console/drafts"))
}

fn already_decided() -> ConsoleError {
    ConsoleError::Page(
        StatusCode::CONFLICT,
        "Déjà traitée",
        "Quelqu'un a déjà validé ou refusé cette alerte.".into(),
    )
}
