//! Following the console's alerts: an alert's page, live (server-sent events, or a reload
//! without JavaScript), what did not reach whom, the CSV of its deliveries, cancelling it, and
//! the history.

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
    ConsoleError,
    alerts::topics,
    french_time, html, ok, see_other,
    session::{SignedIn, SignedInForm},
};
use crate::{
    api::{AppState, alerts as api_alerts, error::ApiError},
    model::{AlertId, Channel, DeliveryStatus, Lane, Permission, Role, masked},
    store::{self, alerts::Alert, deliveries::Listing},
    web::{
        console::alerts::{self as pages, HistoryFilter, HistoryLine, LiveChannel, Unreached},
        console::shell::number,
        pages::Field,
    },
};

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
        Channel::Voice => "Appel",
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

/// The figures of `alert`, its times on `zone`'s clock (the commune's: an alert is shown only
/// to its own commune).
async fn live(state: &AppState, alert: Alert, zone: chrono_tz::Tz) -> Result<Live, ConsoleError> {
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
    let zone = who.tenant.clock.time_zone;
    let created = french_time(alert.created_at, zone);
    let live = live(&state, alert, zone).await?;
    let mut failed = Vec::new();
    for status in [DeliveryStatus::Failed, DeliveryStatus::Expired] {
        failed.extend(
            store::deliveries::list(&state.db, id, Listing::Status(status), None, 200).await?,
        );
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
    let may_stop = person.may_send && matches!(live.status, "planning" | "sending");
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
        may_stop,
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
    let (tenant, zone) = (who.caller.tenant, who.tenant.clock.time_zone);
    let stream = futures_util::stream::unfold(Some(()), move |going| {
        let state = state.clone();
        async move {
            going?;
            let alert = store::alerts::get(&state.db, tenant, id).await.ok()??;
            let live = live(&state, alert, zone).await.ok()?;
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
        let page = store::deliveries::list(&state.db, alert.id, Listing::All, after, 1000).await?;
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

/// The alert's proof (`tocsin alert proof`'s PDF, in French, from the ledger and the audit log),
/// for the mayor after the event.
pub async fn proof(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let alert = own_alert(&state, &who, &id).await?;
    let proof = crate::proof::make(&state.db, &state.ids, alert.id, state.clock.now())
        .await
        .map_err(|e| ConsoleError::Api(ApiError::internal(e)))?;
    let details = serde_json::json!({ "through": "console" });
    crate::api::audit::record(&state, &who.caller, "alert.proof", alert.id, details).await;
    let mut response = proof.pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"preuve-{}.pdf\"", alert.id))
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

/// Stops the alert under way (`POST /v1/alerts/{id}/stop`'s twin).
pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<super::sign_in::Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Send)?;
    let alert = own_alert(&state, &who, &id).await?;
    crate::api::stopping::stop_one(&state, &who.caller, alert.id, None).await?;
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
