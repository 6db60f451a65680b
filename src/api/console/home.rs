//! The dashboard, and the people of a commune (admins invite from here).

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use super::{
    ConsoleError, french_time, html, ok, role_label,
    session::{SignedIn, SignedInForm},
};
use crate::{
    api::AppState,
    model::{EmailAddress, Permission, Role, people::Invitation},
    store::{self, users::NewUser},
    web::{
        console::home::{self as pages, Dashboard, PersonLine, UsersPage},
        pages::Field,
    },
};

pub async fn dashboard(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, ConsoleError> {
    let tenant = who.caller.tenant;
    let zone = who.tenant.clock.time_zone;
    let (total, sms, email, push) = store::subscribers::counts(&state.db, tenant).await?;
    let by_topic: Vec<(String, i64)> = store::topics::list(&state.db, tenant)
        .await?
        .into_iter()
        .map(|t| (t.name, t.subscribers))
        .collect();
    let alerts = store::alerts::history(&state.db, tenant, &Default::default(), 5).await?;
    let ids: Vec<String> = alerts.iter().map(|a| a.id.to_string()).collect();
    let last_alerts = super::follow::history_lines(&alerts, &ids, zone, &state);
    let mut schedules: Vec<_> = store::schedules::list(&state.db, tenant)
        .await?
        .into_iter()
        .filter(|s| s.paused_at.is_none())
        .filter_map(|s| Some((s.next_at?, s.alert.subject.clone().unwrap_or(s.topic))))
        .collect();
    schedules.sort_by_key(|(at, _)| *at);
    let next_schedules: Vec<(String, String)> = schedules
        .into_iter()
        .take(5)
        .map(|(at, what)| (french_time(at, zone), what))
        .collect();
    let drafts = super::drafts::waiting(&state, &who).await?;
    let draft_lines = super::drafts::lines(&drafts);
    let person = who.person();
    Ok(ok(pages::dashboard_page(&Dashboard {
        drafts: &draft_lines,
        person: &person,
        by_channel: [
            ("par SMS", sms),
            ("par e-mail", email),
            ("par notification", push),
        ],
        subscribers: total,
        population: store::tenants::population(&state.db, tenant).await?,
        by_topic: &by_topic,
        last_alerts: &last_alerts,
        next_schedules: &next_schedules,
    })))
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn users(State(state): State<AppState>, who: SignedIn) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    users_page(&state, &who, &InviteForm::default(), &[], None).await
}

async fn users_page(
    state: &AppState,
    who: &SignedIn,
    form: &InviteForm,
    errors: &[Field<'_>],
    invitation: Option<&str>,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let zone = who.tenant.clock.time_zone;
    let people = store::users::list_below(&state.db, who.caller.tenant).await?;
    let ids: Vec<String> = people.iter().map(|u| u.id.to_string()).collect();
    let lines: Vec<PersonLine<'_>> = people
        .iter()
        .zip(&ids)
        .map(|(u, id)| PersonLine {
            id,
            name: &u.name,
            email: &u.email,
            role: role_label(u.role),
            state: match (
                u.password_hash.is_some(),
                u.locked_until.filter(|t| *t > now),
            ) {
                (false, _) => "Invitation envoyée".into(),
                (true, Some(until)) => format!("Bloqué jusqu'au {}", french_time(until, zone)),
                (true, None) => "Actif".into(),
            },
        })
        .collect();
    let person = who.person();
    let page = pages::users_page(&UsersPage {
        person: &person,
        people: &lines,
        errors,
        name: &form.name,
        email: &form.email,
        role: &form.role,
        invitation,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(status, page))
}

pub async fn invite(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<InviteForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let name = form.name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(Field {
            name: "name",
            message: "Indiquez le nom de la personne (100 caractères au plus).",
        });
    }
    let email = EmailAddress::parse(form.email.trim());
    if email.is_err() {
        errors.push(Field {
            name: "email",
            message: "Indiquez une adresse e-mail valide, comme prenom.nom@mairie.fr.",
        });
    }
    let role = form.role.parse::<Role>();
    if role.is_err() {
        errors.push(Field {
            name: "role",
            message: "Choisissez un rôle.",
        });
    }
    let (Ok(email), Ok(role), true) = (email, role, errors.is_empty()) else {
        return users_page(&state, &who, &form, &errors, None).await;
    };
    let invitation = Invitation::new();
    let actor = who.caller.actor.to_string();
    let new = NewUser {
        tenant: who.caller.tenant,
        email: email.as_str(),
        name,
        role,
        invited_by: &actor,
    };
    let now = state.clock.now();
    match store::users::create_invited(&state.db, &new, &invitation.digest, now).await {
        Ok(id) => {
            let details = serde_json::json!({ "role": role.as_str() });
            crate::api::audit::record(&state, &who.caller, "user.invited", id, details).await;
            let link = invitation.link(&state.public_url);
            users_page(&state, &who, &InviteForm::default(), &[], Some(&link)).await
        }
        Err(store::users::UserError::EmailTaken(_)) => {
            let errors = [Field {
                name: "email",
                message: "Cette adresse a déjà un compte.",
            }];
            users_page(&state, &who, &form, &errors, None).await
        }
        Err(store::users::UserError::Db(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ActOn {
    #[serde(default)]
    tenant: String,
}

/// A person of a group chooses the tenant of their subtree they act on; anything outside it
/// does not exist for them.
pub async fn act_on(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    SignedInForm { who, form, .. }: SignedInForm<ActOn>,
) -> Result<Response, ConsoleError> {
    let slug = form.tenant.trim();
    let found = if slug.is_empty() || slug.len() > 64 {
        None
    } else {
        store::tree::find_in_subtree(&state.db, who.user.tenant, slug).await?
    };
    let tenant = found.ok_or_else(ConsoleError::not_found)?;
    if let Some(id) = super::session::session_id(&state, &headers) {
        store::console_sessions::act_on(&state.db, &id, tenant).await?;
    }
    Ok(super::see_other("/console"))
}

/// "Nouveau lien" (a forgotten password, a lost phone) or "Retirer", for a person of the
/// subtree acted on; the admin's own account is not removed from here.
pub async fn change_user(
    State(state): State<AppState>,
    axum::extract::Path((id, what)): axum::extract::Path<(String, String)>,
    SignedInForm { who, .. }: SignedInForm<super::sign_in::Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let id: crate::model::UserId = id.parse().map_err(|_| ConsoleError::not_found())?;
    let person = store::users::get(&state.db, id)
        .await?
        .ok_or_else(ConsoleError::not_found)?;
    if !store::tree::within(&state.db, who.caller.tenant, person.tenant).await? {
        return Err(ConsoleError::not_found());
    }
    let now = state.clock.now();
    match what.as_str() {
        "reset" => {
            let invitation = Invitation::new();
            store::users::reset(&state.db, id, &invitation.digest, now).await?;
            crate::api::audit::record(&state, &who.caller, "user.reset", id, serde_json::json!({})).await;
            let link = invitation.link(&state.public_url);
            users_page(&state, &who, &InviteForm::default(), &[], Some(&link)).await
        }
        "remove" if id == who.user.id => Err(ConsoleError::Page(
            StatusCode::CONFLICT,
            "Impossible",
            "Vous ne pouvez pas retirer votre propre compte : demandez-le à un autre administrateur.".into(),
        )),
        "remove" => {
            store::users::remove(&state.db, id, now).await?;
            crate::api::audit::record(&state, &who.caller, "user.removed", id, serde_json::json!({})).await;
            Ok(super::see_other("/console/users"))
        }
        _ => Err(ConsoleError::not_found()),
    }
}
