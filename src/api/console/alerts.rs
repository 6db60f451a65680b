//! The console's alerts: the form, the confirmation with the dry run's figures, sending through
//! the API's own `submit`, the live follow-up (server-sent events, or a reload without
//! JavaScript), the history and the CSV of an alert's deliveries.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use serde::Deserialize;

use super::{
    ConsoleError, french_time, html, ok, see_other,
    session::{SignedIn, SignedInForm},
};
use crate::{
    api::{
        AppState,
        alerts::{self as api_alerts, DryRun},
        error::ApiError,
    },
    dispatch::routing::PUSH_ACCOUNT,
    model::{AlertDraft, AlertId, Channel, DeliveryStatus, Lane, Permission, Role, masked},
    store::{self, alerts::Alert},
    web::{
        console::alerts::{
            self as pages, AlertValues, ChannelLine, ConfirmAction, ConfirmPage, HistoryFilter,
            HistoryLine, LiveChannel, SmsPreview, Unreached,
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
    urgent: Option<String>,
    gsm7: Option<String>,
    exercise: Option<String>,
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
            urgent: on(draft.urgent),
            gsm7: on(draft.gsm7),
            exercise: on(draft.exercise),
            at: draft
                .scheduled_at
                .clone()
                .unwrap_or_default()
                .replace(' ', "T"),
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
            urgent: self.urgent.is_some(),
            gsm7: self.gsm7.is_some(),
            exercise: self.exercise.is_some(),
            expires_hours: &self.expires_hours,
            at: &self.at,
        }
    }

    /// The same draft the API takes: the console has no rules of its own.
    pub(super) fn draft(&self) -> Result<AlertDraft, ApiError> {
        let v = self.values();
        let channels: Vec<&str> = [(v.sms, "sms"), (v.email, "email"), (v.push, "push")]
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
            "scheduled_at": Some(self.at.trim().replace('T', " ")).filter(|s| !s.is_empty()),
            "gsm7": v.gsm7,
            "exercise": v.exercise,
        });
        serde_json::from_value(draft).map_err(|e| ApiError::invalid("text", e.to_string()))
    }
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

async fn topics(state: &AppState, who: &SignedIn) -> Result<Vec<(String, String)>, ConsoleError> {
    Ok(store::topics::list(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect())
}

fn push_offered(state: &AppState) -> bool {
    state.providers.get(Channel::Push, PUSH_ACCOUNT).is_some()
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
        format!("le {}", values.at.replace('T', " à "))
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

/// The caller's alert, or 404 (another commune's alerts do not exist here).
async fn own_alert(state: &AppState, who: &SignedIn, id: &str) -> Result<Alert, ConsoleError> {
    let id: AlertId = id.parse().map_err(|_| ConsoleError::not_found())?;
    store::alerts::get(&state.db, who.caller.tenant, id)
        .await?
        .ok_or_else(ConsoleError::not_found)
}

fn status_label(status: &str) -> &'static str {
    match status {
        "scheduled" => "Programmée",
        "pending" => "En attente",
        "planning" => "Préparation des envois",
        "sending" => "En cours d'envoi",
        "completed" => "Terminée",
        "cancelled" => "Annulée",
        _ => "Inconnu",
    }
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "SMS",
        Channel::Email => "E-mail",
        Channel::Push => "Notification",
    }
}

/// The figures of the live page and of its events.
#[derive(serde::Serialize)]
struct Live {
    status: &'static str,
    label: &'static str,
    done_percent: i64,
    pace: Option<String>,
    channels: Vec<(&'static str, i64, i64, i64, i64)>,
}

async fn live(state: &AppState, alert: Alert) -> Result<Live, ConsoleError> {
    let zone = alert_zone(state, &alert).await?;
    let report = api_alerts::full_report(state, alert).await?;
    let mut channels = Vec::new();
    let (mut done, mut all) = (0, 0);
    for (&channel, c) in &report.counts {
        let waiting = c.queued + c.retrying;
        let failed = c.failed + c.expired;
        channels.push((channel.as_str(), c.sent, c.delivered, failed, waiting));
        done += c.sent + c.delivered + failed;
        all += c.sent + c.delivered + failed + waiting;
    }
    let done_percent = if all == 0 { 0 } else { done * 100 / all };
    let pace = (report.status == "sending").then(|| {
        let elapsed = (state.clock.now() - report.planned_at.unwrap_or(report.created_at))
            .num_milliseconds()
            .max(1);
        let rate = done * 1000 / elapsed;
        let left = all - done;
        let eta =
            (rate > 0).then(|| state.clock.now() + chrono::Duration::seconds(left / rate.max(1)));
        format!(
            "{} messages par seconde{}",
            number(rate),
            eta.map(|at| format!(" · fin estimée le {}", french_time(at, zone)))
                .unwrap_or_default()
        )
    });
    Ok(Live {
        status: report.status,
        label: status_label(report.status),
        done_percent,
        pace,
        channels,
    })
}

async fn alert_zone(state: &AppState, alert: &Alert) -> Result<chrono_tz::Tz, ConsoleError> {
    Ok(store::tenants::get(&state.db, alert.tenant_id)
        .await?
        .clock
        .time_zone)
}

/// What the person may see of an address: the whole of it for admins, masked otherwise.
fn shown_address(role: Role, channel: Channel, address: Option<&str>) -> String {
    match address {
        None => "effacée".into(),
        Some(a) if role == Role::Admin => a.to_string(),
        Some(a) => masked::address(channel, a),
    }
}

pub async fn follow(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let alert = own_alert(&state, &who, &id).await?;
    let (id, subject, text) = (alert.id, alert.subject.clone(), alert.body.clone());
    let (urgent, exercise) = (alert.lane == Lane::Urgent, alert.exercise);
    let created = french_time(alert.created_at, alert_zone(&state, &alert).await?);
    let live = live(&state, alert).await?;
    let mut failed = Vec::new();
    for status in [DeliveryStatus::Failed, DeliveryStatus::Expired] {
        failed.extend(store::deliveries::list(&state.db, id, Some(status), None, 200).await?);
    }
    let addresses: Vec<String> = failed
        .iter()
        .map(|d| shown_address(who.user.role, d.channel, d.address.as_deref()))
        .collect();
    let unreached: Vec<Unreached<'_>> = failed
        .iter()
        .zip(&addresses)
        .map(|(d, address)| Unreached {
            channel: channel_label(d.channel),
            address,
            reason: d
                .error
                .as_deref()
                .unwrap_or(if d.status == DeliveryStatus::Expired {
                    "pas envoyé avant la fin de validité"
                } else {
                    "refusé"
                }),
        })
        .collect();
    let channels: Vec<LiveChannel> = live
        .channels
        .iter()
        .map(|&(key, sent, delivered, failed, waiting)| LiveChannel {
            key,
            label: channel_label(key.parse().unwrap_or(Channel::Sms)),
            sent,
            delivered,
            failed,
            waiting,
        })
        .collect();
    let person = who.person();
    let id_text = id.to_string();
    let may_cancel = person.may_send && matches!(live.status, "scheduled" | "pending");
    Ok(ok(pages::alert_page(&pages::AlertPage {
        person: &person,
        id: &id_text,
        subject: &subject,
        text: &text,
        urgent,
        exercise,
        status: live.label,
        status_word: live.status,
        created: &created,
        channels: &channels,
        done_percent: live.done_percent,
        pace: live.pace.clone(),
        unreached: &unreached,
        may_cancel,
    })))
}

/// The live figures as server-sent events, every second until the alert is over.
pub async fn events(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let alert = own_alert(&state, &who, &id).await?;
    let id = alert.id;
    let tenant = who.caller.tenant;
    let stream = futures_util::stream::unfold(Some(()), move |going| {
        let state = state.clone();
        async move {
            going?;
            let alert = store::alerts::get(&state.db, tenant, id).await.ok()??;
            let live = live(&state, alert).await.ok()?;
            let over = matches!(live.status, "completed" | "cancelled");
            let event = Event::default().event("progress").json_data(&live).ok()?;
            if !over {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Some((Ok::<_, Infallible>(event), (!over).then_some(())))
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub async fn deliveries_csv(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let alert = own_alert(&state, &who, &id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, record: &[&str]| {
        out.write_record(record)
            .map_err(|e| ConsoleError::Api(ApiError::internal(e)))
    };
    write(
        &mut out,
        &[
            "delivery",
            "channel",
            "address",
            "status",
            "attempts",
            "updated_at",
            "reason",
        ],
    )?;
    let mut after = None;
    loop {
        let page = store::deliveries::list(&state.db, alert.id, None, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for d in &page {
            let address = shown_address(who.user.role, d.channel, d.address.as_deref());
            write(
                &mut out,
                &[
                    &d.id.to_string(),
                    d.channel.as_str(),
                    &address,
                    d.status.as_str(),
                    &d.attempts.to_string(),
                    &d.updated_at.to_rfc3339(),
                    d.error.as_deref().unwrap_or(""),
                ],
            )?;
        }
    }
    let body = out
        .into_inner()
        .map_err(|e| ConsoleError::Api(ApiError::internal(e)))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"envois-{}.csv\"", alert.id))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<super::sign_in::Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Send)?;
    let alert = own_alert(&state, &who, &id).await?;
    if alert.cancelled_at.is_none() {
        let mut tx = state.db.begin().await?;
        api_alerts::withdraw(&mut tx, alert.id).await?;
        tx.commit().await?;
        crate::api::audit::record(
            &state,
            &who.caller,
            "alert.cancelled",
            alert.id,
            serde_json::json!({}),
        )
        .await;
    }
    Ok(see_other(&format!("/console/alerts/{}", alert.id)))
}

#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    urgent: Option<String>,
}

pub async fn history(
    State(state): State<AppState>,
    who: SignedIn,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, ConsoleError> {
    let zone = who.tenant.clock.time_zone;
    let day = |text: &str,
               field: &'static str|
     -> Result<Option<chrono::DateTime<chrono::Utc>>, Field<'static>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let date =
            chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| Field {
                name: field,
                message: "Une date au format jj/mm/aaaa.",
            })?;
        Ok(date
            .and_hms_opt(0, 0, 0)
            .and_then(|d| d.and_local_timezone(zone).earliest())
            .map(|d| d.with_timezone(&chrono::Utc)))
    };
    let mut errors = Vec::new();
    let from = day(&query.from, "from").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let to = day(&query.to, "to").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let filter = store::alerts::HistoryFilter {
        topic: Some(query.topic.clone()).filter(|t| !t.is_empty()),
        from,
        until: to.map(|t| t + chrono::Duration::days(1)),
        urgent_only: query.urgent.is_some(),
    };
    let alerts = store::alerts::history(&state.db, who.caller.tenant, &filter, 200).await?;
    let ids: Vec<String> = alerts.iter().map(|a| a.id.to_string()).collect();
    let lines = history_lines(&alerts, &ids, zone, &state);
    let topics = topics(&state, &who).await?;
    let person = who.person();
    let shown = HistoryFilter {
        topic: &query.topic,
        from: &query.from,
        to: &query.to,
        urgent: query.urgent.is_some(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(
        status,
        pages::history_page(&person, &topics, &shown, &lines, &errors),
    ))
}

/// History lines of alerts (`ids` their text form, kept by the caller).
pub fn history_lines<'a>(
    alerts: &'a [Alert],
    ids: &'a [String],
    zone: chrono_tz::Tz,
    state: &AppState,
) -> Vec<HistoryLine<'a>> {
    let now = state.clock.now();
    alerts
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            let status = if a.cancelled_at.is_some() {
                "Annulée"
            } else if a.starts_at.is_some_and(|s| s > now) {
                "Programmée"
            } else if a.closed_at.is_some() {
                "Terminée"
            } else {
                "En cours"
            };
            HistoryLine {
                id,
                subject: &a.subject,
                topic: &a.topic,
                created: french_time(a.created_at, zone),
                urgent: a.lane == Lane::Urgent,
                status,
                recipients: a.recipients,
            }
        })
        .collect()
}
