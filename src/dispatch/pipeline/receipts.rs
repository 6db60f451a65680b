//! Delivery receipts: what providers later say about messages they accepted, written in
//! batches (a busy alert brings thousands a second).
//!
//! Everything in a receipt or a report is outside text: references and message ids are checked
//! (one that is no usable id names no message of ours), reasons and unknown status values are
//! cleaned of control characters and bounded before they are stored or logged.

use std::{collections::BTreeMap, time::Duration};

use sqlx::PgPool;
use tocsin_providers::{MessageRef, Receipt, ReceiptStatus, Report, ReportStatus, voice::CallEnd};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    model::{
        DeliveryStatus, PublicIds, TenantId,
        speech::Script,
        text::{MAX_ID_CHARS, MAX_REASON_CHARS, from_outside, outside_id},
    },
    store::{self, deliveries::Transition},
};

/// Most characters of an unknown status value kept for the log.
const MAX_STATUS_CHARS: usize = 64;

const MAX_BATCH: usize = 1000;
const LINGER: Duration = Duration::from_millis(50);

/// Records receipts from `inbox` until it closes or shutdown.
pub async fn run(
    db: PgPool,
    ids: PublicIds,
    mut inbox: mpsc::Receiver<Receipt>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = inbox.recv() => match next { Some(r) => r, None => return },
        };
        batch.push(first);
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                _ = &mut deadline => break,
                next = inbox.recv() => match next { Some(r) => batch.push(r), None => break },
            }
        }
        let transitions: Vec<Transition> = batch
            .drain(..)
            .filter_map(|receipt| transition(&ids, receipt))
            .collect();
        // As for outcomes: a receipt PostgreSQL refuses whatever the wait is left out (logged),
        // and the others are recorded.
        let writing = crate::dispatch::pipeline::outcomes::write_rows(
            &db,
            "recording receipts",
            &transitions,
            |db, rows| Box::pin(store::deliveries::record_receipts(db, rows)),
        );
        let refused = tokio::select! {
            _ = shutdown.cancelled() => return,
            refused = writing => refused,
        };
        for (receipt, error) in refused {
            tracing::error!(delivery = receipt.id.0, error = %store::describe(&error),
                "a receipt was refused and left out");
        }
    }
}

fn transition(ids: &PublicIds, receipt: Receipt) -> Option<Transition> {
    let Ok(id) = ids.parse_delivery(&receipt.reference) else {
        tracing::warn!(
            reference = from_outside(&receipt.reference, MAX_ID_CHARS),
            "receipt for an unknown reference ignored"
        );
        return None;
    };
    let (status, error) = match receipt.status {
        ReceiptStatus::Delivered => (DeliveryStatus::Delivered, None),
        ReceiptStatus::Failed { reason } => (
            DeliveryStatus::Failed,
            Some(from_outside(&reason, MAX_REASON_CHARS)),
        ),
    };
    Some(Transition {
        provider_message_id: receipt
            .provider_message_id
            .filter(|m| outside_id(m, MAX_ID_CHARS).is_ok()),
        error,
        ..Transition::to(id, status)
    })
}

/// A report made safe to store and log: its reasons and unknown values cleaned and bounded.
/// `None` when the message it names is no usable id (a control character, an endless one): no
/// message of ours has such an id, and storing it would fail.
fn cleaned(report: Report, provider: &str) -> Option<Report> {
    let (MessageRef::Reference(id) | MessageRef::ProviderId(id)) = &report.message;
    if let Err(error) = outside_id(id, MAX_ID_CHARS) {
        tracing::warn!(%provider, %error, "report naming an unusable message id ignored");
        return None;
    }
    let reason = |reason: String| from_outside(&reason, MAX_REASON_CHARS);
    let status = match report.status {
        ReportStatus::Failed { reason: r } => ReportStatus::Failed { reason: reason(r) },
        ReportStatus::Expired { reason: r } => ReportStatus::Expired { reason: reason(r) },
        ReportStatus::OptedOut { reason: r } => ReportStatus::OptedOut { reason: reason(r) },
        ReportStatus::Call(CallEnd::Unanswered { reason: r }) => {
            ReportStatus::Call(CallEnd::Unanswered { reason: reason(r) })
        }
        ReportStatus::Call(CallEnd::Failed { reason: r }) => {
            ReportStatus::Call(CallEnd::Failed { reason: reason(r) })
        }
        ReportStatus::Unknown(value) => {
            ReportStatus::Unknown(from_outside(&value, MAX_STATUS_CHARS))
        }
        other => other,
    };
    Some(Report { status, ..report })
}

/// Most requests whose reports are written together.
const MAX_REQUESTS: usize = 500;

/// Provider reports arrive one HTTP request at a time: a delivery receipt per SMS, the end of
/// every call, thousands a second after a large alert. Written one request at a time, each
/// would wait for a commit of its own (a voice alert of 100,000 calls carried about 350 calls a
/// second that way). The writer records the reports of every request waiting, commune by
/// commune and provider by provider, in one pass, and answers each request once its reports
/// are written. Like the outcome writer it never waits for company: a request arriving while
/// nothing is written is written at once.
#[derive(Clone)]
pub struct ReportWriter {
    inbox: mpsc::Sender<ReportsToWrite>,
}

struct ReportsToWrite {
    tenant: TenantId,
    provider: String,
    reports: Vec<Report>,
    done: oneshot::Sender<Result<(), sqlx::Error>>,
}

impl ReportWriter {
    /// Starts the writer; it runs until shutdown, or until every handle is dropped.
    pub fn start(
        db: PgPool,
        ids: PublicIds,
        recall: crate::dispatch::pipeline::recall::Settings,
        shutdown: CancellationToken,
    ) -> (ReportWriter, tokio::task::JoinHandle<()>) {
        let (inbox, receiver) = mpsc::channel(MAX_REQUESTS);
        let task = tokio::spawn(write_reports(db, ids, recall, receiver, shutdown));
        (ReportWriter { inbox }, task)
    }

    /// Records the reports of one request; an error when PostgreSQL did not take them (the
    /// provider is answered so, and sends them again).
    pub async fn record(
        &self,
        tenant: TenantId,
        provider: &str,
        reports: Vec<Report>,
    ) -> Result<(), sqlx::Error> {
        let (done, written) = oneshot::channel();
        let request = ReportsToWrite {
            tenant,
            provider: provider.to_owned(),
            reports,
            done,
        };
        // A writer gone (shutting down) drops the request: the provider hears 503 and retries.
        if self.inbox.send(request).await.is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        written.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

async fn write_reports(
    db: PgPool,
    ids: PublicIds,
    recall: crate::dispatch::pipeline::recall::Settings,
    mut inbox: mpsc::Receiver<ReportsToWrite>,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = inbox.recv() => match next { Some(r) => r, None => return },
        };
        let mut waiting = vec![first];
        while waiting.len() < MAX_REQUESTS {
            match inbox.try_recv() {
                Ok(request) => waiting.push(request),
                Err(_) => break,
            }
        }
        let mut groups: BTreeMap<(TenantId, String), Vec<ReportsToWrite>> = BTreeMap::new();
        for request in waiting {
            groups
                .entry((request.tenant, request.provider.clone()))
                .or_default()
                .push(request);
        }
        for ((tenant, provider), group) in groups {
            let reports: Vec<Report> = group.iter().flat_map(|r| r.reports.clone()).collect();
            match record_reports(&db, &ids, tenant, &provider, reports, &recall).await {
                Ok(()) => {
                    for request in group {
                        let _ = request.done.send(Ok(()));
                    }
                }
                // Each request then on its own, so that each hears its own answer: one
                // request's bad report never fails another's.
                Err(_) => {
                    for request in group {
                        let written =
                            record_reports(&db, &ids, tenant, &provider, request.reports, &recall)
                                .await;
                        let _ = request.done.send(written);
                    }
                }
            }
        }
    }
}

/// Records reports a provider sent for one tenant's messages. Only that tenant's deliveries
/// change, and only from `sending` or `sent`: a repeated or late report changes nothing, and a
/// report that beat its send's outcome is applied now and stays (the outcome only moves rows
/// still `sending`).
pub async fn record_reports(
    db: &PgPool,
    ids: &PublicIds,
    tenant: crate::model::TenantId,
    provider: &str,
    reports: Vec<Report>,
    recall: &crate::dispatch::pipeline::recall::Settings,
) -> Result<(), sqlx::Error> {
    let mut transitions = Vec::new();
    // How each call that ended did: a call may be placed again (`recall`).
    let mut calls = Vec::new();
    for report in reports {
        let Some(report) = cleaned(report, provider) else {
            continue;
        };
        let opted_out = matches!(report.status, ReportStatus::OptedOut { .. });
        let call = match &report.status {
            ReportStatus::Call(end) => Some(end.clone()),
            _ => None,
        };
        let (status, error) = match report.status {
            ReportStatus::Call(CallEnd::Answered { .. }) => (DeliveryStatus::Delivered, None),
            ReportStatus::Call(CallEnd::Unanswered { reason } | CallEnd::Failed { reason }) => {
                (DeliveryStatus::Failed, Some(reason))
            }
            ReportStatus::OptedOut { reason } => (DeliveryStatus::Failed, Some(reason)),
            ReportStatus::Delivered => (DeliveryStatus::Delivered, None),
            ReportStatus::Failed { reason } => (DeliveryStatus::Failed, Some(reason)),
            ReportStatus::Expired { reason } => (DeliveryStatus::Expired, Some(reason)),
            ReportStatus::Pending => continue,
            ReportStatus::Unknown(value) => {
                // Never read as delivered: the delivery stays as it was, the value is logged.
                tracing::warn!(%provider, %value, message = ?report.message,
                    "report with an unknown status");
                continue;
            }
        };
        let id = match &report.message {
            MessageRef::Reference(reference) => ids.parse_delivery(reference).ok(),
            MessageRef::ProviderId(message_id) => {
                match store::deliveries::by_provider_id(db, provider, message_id).await? {
                    Some(id) => Some(id),
                    None => {
                        // Before its send's answer was recorded, or about no message of ours:
                        // kept, applied if the id becomes known, dropped after a day.
                        store::deliveries::keep_early_report(
                            db,
                            provider,
                            message_id,
                            tenant,
                            status,
                            error.as_deref(),
                        )
                        .await?;
                        continue;
                    }
                }
            }
        };
        let Some(id) = id else {
            tracing::warn!(%provider, message = ?report.message, "report about no message we know");
            continue;
        };
        if let Some(end) = call {
            calls.push((id, end));
        }
        transitions.push(Transition {
            error,
            opted_out,
            ..Transition::to(id, status)
        });
    }
    if transitions.is_empty() {
        // Nothing final (a call answered, a message still on its way): nothing to record.
        return Ok(());
    }
    let wanted: Vec<crate::model::DeliveryId> = transitions.iter().map(|t| t.id).collect();
    let own = store::deliveries::of_tenant(db, tenant, &wanted).await?;
    let before = transitions.len();
    transitions.retain(|t| own.contains(&t.id));
    if transitions.len() < before {
        tracing::warn!(%provider, count = before - transitions.len(),
            "reports about messages of no delivery of this tenant");
    }
    if !calls.is_empty() {
        call_again(db, provider, &mut transitions, &calls, recall).await?;
    }
    store::deliveries::record_receipts(db, &transitions).await?;
    let opted_out: Vec<_> = transitions
        .iter()
        .filter(|t| t.opted_out)
        .map(|t| t.id)
        .collect();
    store::deliveries::opt_out_recipients(db, &opted_out).await?;
    Ok(())
}

/// Turns the ends of calls to place again into retries, due after the recall interval, each
/// call's outcome kept as a failed attempt.
async fn call_again(
    db: &PgPool,
    provider: &str,
    transitions: &mut [Transition],
    calls: &[(crate::model::DeliveryId, CallEnd)],
    settings: &crate::dispatch::pipeline::recall::Settings,
) -> Result<(), sqlx::Error> {
    let ids: Vec<crate::model::DeliveryId> = calls.iter().map(|(id, _)| *id).collect();
    let known = store::calls::ended_calls(db, &ids).await?;
    let now = chrono::Utc::now();
    for transition in transitions.iter_mut() {
        let (Some((_, end)), Some(call)) = (
            calls.iter().find(|(id, _)| *id == transition.id),
            known.iter().find(|c| c.id == transition.id.0),
        ) else {
            continue;
        };
        let ended = crate::dispatch::pipeline::recall::Ended {
            end: end.clone(),
            until_acknowledged: call.until_acknowledged,
            calls: call.attempts,
            acknowledged: call.acknowledged,
            expires_at: call.expires_at,
            message_seconds: Script::new(&call.commune, &call.body)
                .message_duration()
                .as_secs(),
        };
        let Some(reason) = crate::dispatch::pipeline::recall::again(&ended, settings, now) else {
            continue;
        };
        let due = now + chrono::Duration::from_std(settings.recall_interval).unwrap_or_default();
        tracing::info!(delivery = transition.id.0, calls = call.attempts, %reason,
            "call placed again later");
        transition.status = DeliveryStatus::Retrying;
        transition.next_attempt_at = Some(due);
        transition.error = Some(reason.clone());
        transition.failed_attempt = Some(store::deliveries::FailedAttempt {
            attempt: call.attempts,
            provider: provider.to_owned(),
            outcome: "transient",
            reason,
        });
    }
    Ok(())
}
