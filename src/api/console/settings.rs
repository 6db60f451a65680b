//! The commune's settings at the console (admins), checked by the same rules as `tocsin tenant
//! update`: the SMS sender and the e-mail From as providers accept them, a colour dark enough
//! for white text, quiet hours, an IANA time zone, the logo by its content.

use axum::{
    extract::{Multipart, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    ConsoleError, html, see_other,
    session::{SignedIn, SignedInForm, uploaded_file},
};
use crate::{
    api::AppState,
    model::{Permission, QuietHours, local_time},
    store,
    web::{
        console::settings::{self as pages, SettingsPage, SettingsValues},
        logo::{LogoError, MAX_LOGO_BYTES, logo_kind},
        pages::Field,
    },
};

async fn current(state: &AppState, who: &SignedIn) -> Result<SettingsValues, ConsoleError> {
    let tenant = &who.tenant;
    let branding = store::branding::get(&state.db, tenant.id).await?;
    Ok(SettingsValues {
        sms_sender: tenant.senders.sms_sender.clone().unwrap_or_default(),
        email_from: tenant.senders.email_from.clone().unwrap_or_default(),
        colour: branding.colour.unwrap_or_default(),
        quiet_hours: tenant
            .clock
            .quiet_hours
            .map(|q| q.to_string())
            .unwrap_or_default(),
        time_zone: tenant.clock.time_zone.name().to_string(),
        population: store::tenants::population(&state.db, tenant.id)
            .await?
            .map(|p| p.to_string())
            .unwrap_or_default(),
        require_validation: store::drafts::validation_required(&state.db, tenant.id).await?,
    })
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    values: &SettingsValues,
    errors: &[Field<'_>],
    saved: bool,
) -> Result<Response, ConsoleError> {
    let branding = store::branding::get(&state.db, who.tenant.id).await?;
    let logo_url = branding
        .has_logo
        .then(|| format!("/c/{}/logo", who.tenant.slug));
    let dkim = state
        .dkim
        .of(&state.db, who.tenant.id)
        .await
        .ok()
        .flatten()
        .map(|key| key.dns_record());
    let person = who.person();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(
        status,
        pages::settings_page(&SettingsPage {
            person: &person,
            values,
            errors,
            saved,
            logo_url: logo_url.as_deref(),
            dkim,
        }),
    ))
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    who: SignedIn,
    axum::extract::Query(query): axum::extract::Query<Saved>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let values = current(&state, &who).await?;
    page(&state, &who, &values, &[], query.saved.is_some()).await
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    sms_sender: String,
    #[serde(default)]
    email_from: String,
    #[serde(default)]
    colour: String,
    #[serde(default)]
    quiet_hours: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    population: String,
    require_validation: Option<String>,
}

/// An empty field: back to the default.
fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

pub async fn save(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<SettingsForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let sms_sender = given(&form.sms_sender);
    if let Some(sender) = &sms_sender
        && let Err(e) = tocsin_providers::sms::check_sender(sender)
    {
        errors.push(("sms_sender", format!("Expéditeur refusé : {e}")));
    }
    let email_from = given(&form.email_from);
    if let Some(from) = &email_from
        && let Err(e) = tocsin_providers::email::check_from(from)
    {
        errors.push(("email_from", format!("Expéditeur refusé : {e}")));
    }
    let colour = match given(&form.colour) {
        None => None,
        Some(c) => match crate::web::colour::check_brand_colour(&c) {
            Ok(c) => Some(c.to_string()),
            Err(e) => {
                errors.push(("colour", format!("Couleur refusée : {e}")));
                None
            }
        },
    };
    let quiet_hours = match given(&form.quiet_hours) {
        None => None,
        Some(q) => match q.parse::<QuietHours>() {
            Ok(q) => Some(q),
            Err(e) => {
                errors.push(("quiet_hours", format!("Heures refusées : {e}")));
                None
            }
        },
    };
    let time_zone = local_time::time_zone(&form.time_zone)
        .map_err(|e| errors.push(("time_zone", format!("Fuseau refusé : {e}"))))
        .ok();
    let population = match given(&form.population) {
        None => None,
        Some(p) => match p.parse::<i32>().ok().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                errors.push(("population", "Un nombre d'habitants, sans espace.".into()));
                None
            }
        },
    };
    if !errors.is_empty() {
        let fields: Vec<Field<'_>> = errors
            .iter()
            .map(|(name, message)| Field { name, message })
            .collect();
        let values = SettingsValues {
            sms_sender: form.sms_sender.clone(),
            email_from: form.email_from.clone(),
            colour: form.colour.clone(),
            quiet_hours: form.quiet_hours.clone(),
            time_zone: form.time_zone.clone(),
            population: form.population.clone(),
            require_validation: form.require_validation.is_some(),
        };
        return page(&state, &who, &values, &fields, false).await;
    }
    let slug = &who.tenant.slug;
    let change = store::tenants::SettingsChange {
        time_zone,
        quiet_hours: Some(quiet_hours),
        sms_sender: Some(sms_sender),
        email_from: Some(email_from),
        ..Default::default()
    };
    store::tenants::update(&state.db, slug, &change).await?;
    store::branding::set_colour(&state.db, slug, colour.as_deref()).await?;
    store::tenants::set_population(&state.db, who.tenant.id, population).await?;
    store::drafts::set_validation_required(
        &state.db,
        who.tenant.id,
        form.require_validation.is_some(),
    )
    .await?;
    let details = serde_json::json!({ "changed": ["settings"] });
    crate::api::audit::record(&state, &who.caller, "tenant.updated", slug, details).await;
    Ok(see_other("/console/settings?saved=1"))
}

/// The logo, sent as a file.
pub async fn logo(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Response> {
    who.caller
        .require(Permission::Administer)
        .map_err(|e| ConsoleError::from(e).into_response())?;
    let file = uploaded_file(&state, &who, &headers, multipart, "logo", MAX_LOGO_BYTES).await?;
    let checked = file
        .ok_or(LogoError::TooLarge)
        .and_then(|bytes| Ok((logo_kind(&bytes)?, bytes)));
    let (kind, bytes) = match checked {
        Ok(logo) => logo,
        Err(e) => {
            let message = format!("Logo refusé : {e}.");
            let values = current(&state, &who)
                .await
                .map_err(IntoResponse::into_response)?;
            let errors = [Field {
                name: "logo-file",
                message: &message,
            }];
            return page(&state, &who, &values, &errors, false)
                .await
                .map_err(IntoResponse::into_response);
        }
    };
    store::branding::set_logo(&state.db, &who.tenant.slug, Some((&bytes, kind)))
        .await
        .map_err(|e| ConsoleError::from(e).into_response())?;
    let details = serde_json::json!({ "changed": ["logo"] });
    crate::api::audit::record(
        &state,
        &who.caller,
        "tenant.updated",
        &who.tenant.slug,
        details,
    )
    .await;
    Ok(see_other("/console/settings?saved=1"))
}
