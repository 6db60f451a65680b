//! The console's new alerts: the form (from a template in one click), the confirmation with the
//! dry run's figures, and sending through the API's own `submit` (or proposing, for a drafter
//! whose commune validates). Following them is `follow.rs`.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    ConsoleError, html, ok, see_other,
    session::{SignedIn, SignedInForm},
};
use crate::{
    api::{
        AppState,
        alerts::{self as api_alerts, DryRun},
        error::ApiError,
    },
    dispatch::policy::routing::PUSH_ACCOUNT,
    model::{AlertDraft, Channel, Lane, Permission, Role},
    store,
    web::{
        console::alerts::{
            self as pages, AlertValues, ChannelLine, ConfirmAction, ConfirmPage, SmsPreview,
        },
        console::shell::number,
        pages::Field,
    },
};

/// The alert form's fields, as posted.
#[derive(Deserialize, Default)]
pub struct AlertFields {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    sms: Option<String>,
    email: Option<String>,
    push: Option<String>,
    voice: Option<String>,
    urgent: Option<String>,
    gsm7: Option<String>,
    exercise: Option<String>,
    until_acknowledged: Option<String>,
    #[serde(default)]
    at: String,
    #[serde(default)]
    expires_hours: String,
    #[serde(default)]
    idempotency_key: String,
    confirm_urgent: Option<String>,
}

impl AlertFields {
    /// The form as a draft fills it.
    pub(super) fn of(draft: &AlertDraft) -> AlertFields {
        let on = |yes: bool| yes.then(|| "on".to_string());
        let channel = |name: &str| {
            on(draft
                .channels
                .as_ref()
                .is_none_or(|c| c.iter().any(|c| c == name)))
        };
        AlertFields {
            topic: draft.topic.clone(),
            subject: draft.subject.clone().unwrap_or_default(),
            text: draft.text.clone(),
            sms: channel("sms"),
            email: channel("email"),
            push: channel("push"),
            // Calls only when the draft named them: they cost more and wake people.
            voice: on(draft
                .channels
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c == "voice"))),
            urgent: on(draft.urgent),
            gsm7: on(draft.gsm7),
            exercise: on(draft.exercise),
            until_acknowledged: on(draft.until_acknowledged),
            at: draft.scheduled_at.clone().unwrap_or_default(),
            expires_hours: draft
                .expires_in
                .map(|s| (s / 3600).to_string())
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn values(&self) -> AlertValues<'_> {
        AlertValues {
            topic: &self.topic,
            subject: &self.subject,
            text: &self.text,
            sms: self.sms.is_some(),
            email: self.email.is_some(),
            push: self.push.is_some(),
            voice: self.voice.is_some(),
            urgent: self.urgent.is_some(),
            gsm7: self.gsm7.is_some(),
            exercise: self.exercise.is_some(),
            until_acknowledged: self.until_acknowledged.is_some(),
            expires_hours: &self.expires_hours,
            at: &self.at,
        }
    }

    /// The same draft the API takes: the console has no rules of its own.
    pub(super) fn draft(&self) -> Result<AlertDraft, ApiError> {
        let v = self.values();
        let channels: Vec<&str> = [
            (v.sms, "sms"),
            (v.email, "email"),
            (v.push, "push"),
            (v.voice, "voice"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let expires_in = match self.expires_hours.trim() {
            "" => None,
            hours => Some(
                hours
                    .parse::<u64>()
                    .ok()
                    .and_then(|h| h.checked_mul(3600))
                    .ok_or_else(|| ApiError::invalid("expires_in", "un nombre d'heures entier"))?,
            ),
        };
        let draft = serde_json::json!({
            "topic": self.topic,
            "text": self.text,
            "subject": Some(self.subject.trim()).filter(|s| !s.is_empty()),
            "urgent": v.urgent,
            "channels": channels,
            "expires_in": expires_in,
            "scheduled_at": Some(local_time_of(&self.at)).filter(|s| !s.is_empty()),
            "gsm7": v.gsm7,
            "exercise": v.exercise,
            "until_acknowledged": v.until_acknowledged,
        });
        serde_json::from_value(draft).map_err(|e| ApiError::invalid("text", e.to_string()))
    }
}

/// A time as people type it in France, "24/12/2026 18:30" (or "18h30"), in the form the API
/// reads, "2026-12-24 18:30"; anything else is passed on for the API to refuse with its reason.
fn local_time_of(typed: &str) -> String {
    let typed = typed.trim();
    let parsed = typed.split_once(' ').and_then(|(date, time)| {
        let mut date = date.split('/');
        let (day, month, year) = (date.next()?, date.next()?, date.next()?);
        let (hour, minute) = time.trim().split_once([':', 'h'])?;
        let number = |text: &str, max: u32| text.parse::<u32>().ok().filter(|n| *n <= max);
        Some(format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            number(year, 9999)?,
            number(month, 12)?,
            number(day, 31)?,
            number(hour, 23)?,
            number(if minute.is_empty() { "0" } else { minute }, 59)?
        ))
    });
    parsed.unwrap_or_else(|| typed.replace('T', " "))
}

/// The form field an API error names (the API's names differ for two of them).
fn form_field(api_field: Option<&str>) -> &'static str {
    match api_field.unwrap_or("text") {
        "topic" => "topic",
        "subject" => "subject",
        "scheduled_at" => "at",
        "expires_in" => "expires_hours",
        "channels" => "sms",
        _ => "text",
    }
}

pub(super) async fn topics(
    state: &AppState,
    who: &SignedIn,
) -> Result<Vec<(String, String)>, ConsoleError> {
    Ok(store::topics::list(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect())
}

fn push_offered(state: &AppState) -> bool {
    state.providers.get(Channel::Push, PUSH_ACCOUNT).is_some()
}

/// A voice account is configured.
fn voice_offered(state: &AppState) -> bool {
    state
        .providers
        .accounts()
        .any(|a| Channel::from(a.channel()) == Channel::Voice)
}

async fn form_page(
    state: &AppState,
    who: &SignedIn,
    fields: &AlertFields,
    errors: &[Field<'_>],
) -> Result<Response, ConsoleError> {
    let topics = topics(state, who).await?;
    let own = store::templates::list(&state.db, who.caller.tenant).await?;
    let templates: Vec<(String, String)> = own
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .chain(
            crate::model::templates::STARTERS
                .iter()
                .map(|s| (format!("starter:{}", s.key), s.name.to_string())),
        )
        .collect();
    let person = who.person();
    let page = pages::new_alert_page(&pages::NewAlertPage {
        templates: &templates,
        person: &person,
        topics: &topics,
        values: fields.values(),
        push_offered: push_offered(state),
        voice_offered: voice_offered(state),
        errors,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(status, page))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// `starter:canicule` (the starter set) or `tpl_…` (the commune's own).
    template: Option<String>,
}

/// The form again, with the API's refusal on its field.
async fn refused(
    state: &AppState,
    who: &SignedIn,
    form: &AlertFields,
    e: &ApiError,
) -> Result<Response, ConsoleError> {
    let errors = [Field {
        name: form_field(e.field.as_deref()),
        message: &e.message,
    }];
    form_page(state, who, form, &errors).await
}

pub async fn new_form(
    State(state): State<AppState>,
    who: SignedIn,
    Query(query): Query<NewQuery>,
) -> Result<Response, ConsoleError> {
    let mut fields = AlertFields {
        sms: Some("on".into()),
        email: Some("on".into()),
        push: push_offered(&state).then(|| "on".into()),
        // Calls go with alerts naming no channels where the commune turned voice on.
        voice: (voice_offered(&state) && who.tenant.senders.voice_enabled).then(|| "on".into()),
        ..Default::default()
    };
    let template = match query.template.as_deref() {
        None => None,
        Some(key) => Some(
            template(&state, &who, key)
                .await?
                .ok_or_else(ConsoleError::not_found)?,
        ),
    };
    if let Some((subject, text, urgent)) = template {
        fields.subject = subject;
        fields.text = text;
        fields.urgent = urgent.then(|| "on".into());
    }
    form_page(&state, &who, &fields, &[]).await
}

/// The subject, text and urgency of a template of the starter set or of the commune.
async fn template(
    state: &AppState,
    who: &SignedIn,
    key: &str,
) -> Result<Option<(String, String, bool)>, ConsoleError> {
    if let Some(starter) = key.strip_prefix("starter:") {
        return Ok(crate::model::templates::starter(starter)
            .map(|s| (s.subject.to_string(), s.text.to_string(), s.urgent)));
    }
    let Ok(id) = key.parse() else { return Ok(None) };
    Ok(store::templates::get(&state.db, who.caller.tenant, id)
        .await?
        .map(|t| (t.subject.unwrap_or_default(), t.text, t.urgent)))
}

/// "Modifier" on the confirmation: the form again, as it was.
pub async fn edit(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<AlertFields>,
) -> Result<Response, ConsoleError> {
    form_page(&state, &who, &form, &[]).await
}

pub async fn preview(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<AlertFields>,
) -> Result<Response, ConsoleError> {
    let dry_run = match checked(&state, &form) {
        Ok(alert) => api_alerts::estimate(&state, &who.caller, &alert).await,
        Err(e) => Err(e),
    };
    match dry_run {
        Ok(dry_run) => {
            let action = what_may_be_done(&state, &who, form.urgent.is_some()).await?;
            Ok(ok(confirm_page(&who, &form, &dry_run, action, true)))
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => refused(&state, &who, &form, &e).await,
        Err(e) => Err(e.into()),
    }
}

pub(super) fn checked(
    state: &AppState,
    form: &AlertFields,
) -> Result<crate::model::ValidAlert, ApiError> {
    api_alerts::checked(state, &form.draft()?)
}

fn money(amount: f64, currency: &str) -> String {
    let symbol = if currency == "EUR" { "€" } else { currency };
    format!("{} {symbol}", format!("{amount:.2}").replace('.', ","))
}

/// "1 personne", "0 personne", "1 234 personnes" (French: the plural from 2).
fn counted(n: i64, word: &str) -> String {
    let s = if n >= 2 { "s" } else { "" };
    format!("{} {word}{s}", number(n))
}

/// What the person may do with an alert they are about to send: a sender sends it; a drafter
/// proposes a routine one when the commune validates them, and sends it otherwise (an urgent
/// alert is never held); a reader looks.
pub(super) async fn what_may_be_done(
    state: &AppState,
    who: &SignedIn,
    urgent: bool,
) -> Result<ConfirmAction<'static>, ConsoleError> {
    if who.caller.role.allows(Permission::Send) {
        return Ok(ConfirmAction::Send);
    }
    if who.caller.role != Role::Drafter {
        return Ok(ConfirmAction::None {
            why: "Votre rôle permet de consulter les alertes, pas d'en envoyer.",
        });
    }
    let held = !urgent && store::drafts::validation_required(&state.db, who.caller.tenant).await?;
    Ok(if held {
        ConfirmAction::Propose
    } else {
        ConfirmAction::Send
    })
}

pub(super) fn confirm_page(
    who: &SignedIn,
    form: &AlertFields,
    dry_run: &DryRun,
    action: ConfirmAction<'_>,
    editable: bool,
) -> maud::Markup {
    let estimate = &dry_run.estimate;
    let values = form.values();
    let mut parts = Vec::new();
    let mut lines = Vec::new();
    let mut sms_preview = None;
    for (&channel, c) in &estimate.channels {
        let (label, detail, part) = match (channel, &c.sms) {
            (Channel::Sms, Some(sms)) => {
                let cost = sms.cost.as_ref().map(|c| money(c.amount, &c.currency));
                let segments = format!(
                    "{} segment{}",
                    sms.segments,
                    if sms.segments > 1 { "s" } else { "" }
                );
                sms_preview = Some(sms);
                (
                    "SMS",
                    format!(
                        "{segments} par SMS, {} segments en tout{}",
                        number(sms.total_segments),
                        cost.as_ref().map(|c| format!(", {c}")).unwrap_or_default()
                    ),
                    format!(
                        "{} SMS de {segments}{}",
                        number(c.recipients),
                        cost.map(|c| format!(" ({c})")).unwrap_or_default()
                    ),
                )
            }
            (Channel::Email, _) => ("E-mail", String::new(), counted(c.recipients, "e-mail")),
            (Channel::Voice, _) => {
                let voice = c.voice.as_ref();
                let cost = voice
                    .and_then(|v| v.cost.as_ref())
                    .map(|c| format!(", {}", money(c.amount, &c.currency)));
                let placing = voice
                    .and_then(|v| v.calls_per_second.zip(v.placing_seconds))
                    .map(|(rate, seconds)| {
                        format!(
                            " ; {} à {} par seconde : {}",
                            counted(c.recipients, "appel"),
                            rate,
                            crate::model::french::duration(seconds)
                        )
                    });
                (
                    "Appel",
                    format!(
                        "{} s de message par appel, {} minutes en tout{}{}",
                        voice.map_or(0, |v| v.seconds_per_call),
                        number(voice.map_or(0, |v| v.total_minutes)),
                        cost.unwrap_or_default(),
                        placing.unwrap_or_default()
                    ),
                    counted(c.recipients, "appel"),
                )
            }
            _ => (
                "Notification",
                String::new(),
                counted(c.recipients, "notification"),
            ),
        };
        lines.push(ChannelLine {
            label,
            recipients: c.recipients,
            detail,
        });
        parts.push(part);
    }
    let when = if values.at.trim().is_empty() {
        "maintenant".to_string()
    } else {
        format!("le {}", values.at.trim().replace(' ', " à "))
    };
    let question = format!(
        "Envoyer {when} à {} : {} ?",
        counted(estimate.people, "personne"),
        parts.join(", ")
    );
    let budgets = dry_run
        .budgets
        .iter()
        .map(|b| {
            format!(
                "Budget {} de {} : {} utilisés ce mois, {} pour cette alerte, {} restants sur {}.",
                b.channel.as_str(),
                b.tenant,
                number(b.used),
                number(b.this_alert),
                number(b.left),
                number(b.budget)
            )
        })
        .collect();
    let subject = if form.subject.trim().is_empty() {
        estimate.text.lines().next().unwrap_or_default()
    } else {
        form.subject.trim()
    };
    let key = hex::encode(rand::random::<[u8; 16]>());
    let person = who.person();
    let encoding = |e: crate::model::SmsEncoding| {
        if e == crate::model::SmsEncoding::Gsm7 {
            "GSM-7"
        } else {
            "UCS-2"
        }
    };
    pages::confirm_page(&ConfirmPage {
        person: &person,
        values,
        question,
        people: estimate.people,
        subject,
        sms: sms_preview.map(|sms| SmsPreview {
            text: &estimate.text,
            encoding: encoding(sms.encoding),
            segments: sms.segments,
            units: sms.units,
            ucs2_characters: &sms.ucs2_characters,
        }),
        email_text: estimate
            .channels
            .contains_key(&Channel::Email)
            .then_some(estimate.text.as_str()),
        push_text: estimate
            .channels
            .contains_key(&Channel::Push)
            .then_some(estimate.text.as_str()),
        channels: lines,
        budgets,
        commune: &who.tenant.name,
        idempotency_key: &key,
        action,
        editable,
    })
}

pub async fn send(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<AlertFields>,
) -> Result<Response, ConsoleError> {
    let action = what_may_be_done(&state, &who, form.urgent.is_some()).await?;
    if let ConfirmAction::None { .. } = action {
        who.caller.require(Permission::Send)?;
    }
    let alert = match checked(&state, &form) {
        Ok(alert) => alert,
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            return refused(&state, &who, &form, &e).await;
        }
        Err(e) => return Err(e.into()),
    };
    if alert.lane == Lane::Urgent && form.confirm_urgent.is_none() {
        // The second confirmation of an urgent alert: back to the confirmation.
        let dry_run = api_alerts::estimate(&state, &who.caller, &alert).await?;
        return Ok(html(
            StatusCode::BAD_REQUEST,
            confirm_page(&who, &form, &dry_run, action, true),
        ));
    }
    if let ConfirmAction::Propose = action {
        let draft = form.draft()?;
        return super::drafts::propose(&state, &who, &draft, &alert.subject).await;
    }
    let key = form.idempotency_key.trim();
    let key = (!key.is_empty() && key.len() <= 64).then(|| format!("console:{key}"));
    let unvalidated = who.caller.role == Role::Drafter;
    let urgent = alert.lane == Lane::Urgent;
    match api_alerts::submit(&state, &who.caller, alert, key.as_deref()).await {
        Ok((alert, replayed)) => {
            if unvalidated && !replayed {
                let why = if urgent { "urgent" } else { "validation off" };
                let details = serde_json::json!({ "why": why });
                crate::api::audit::record(
                    &state,
                    &who.caller,
                    "alert.sent_without_validation",
                    alert.id,
                    details,
                )
                .await;
            }
            Ok(see_other(&format!("/console/alerts/{}", alert.id)))
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => refused(&state, &who, &form, &e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TextOnly {
    #[serde(default)]
    text: String,
}

/// What the text costs as an SMS, for the counter under the message (console.js): the same
/// rules as the confirmation.
pub async fn measure(SignedInForm { form, .. }: SignedInForm<TextOnly>) -> Response {
    use crate::model::sms_text;
    let length = sms_text::sms_length(&form.text);
    let ucs2: Vec<String> = sms_text::non_gsm7_chars(&form.text)
        .into_iter()
        .map(String::from)
        .collect();
    axum::Json(serde_json::json!({
        "characters": form.text.chars().count(),
        "encoding": length.encoding,
        "units": length.units,
        "segments": length.segments,
        "ucs2_characters": ucs2,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_read_as_typed_in_france() {
        use super::local_time_of;
        assert_eq!(local_time_of("24/12/2026 18:30"), "2026-12-24 18:30");
        assert_eq!(local_time_of(" 5/1/2027 9h "), "2027-01-05 09:00");
        assert_eq!(local_time_of("5/1/2027 9h05"), "2027-01-05 09:05");
        assert_eq!(local_time_of("2026-12-24 18:30"), "2026-12-24 18:30");
        assert_eq!(local_time_of("2026-12-24T18:30"), "2026-12-24 18:30");
        assert_eq!(local_time_of("demain"), "demain");
    }
}
