//! Senders: claim a batch of planned deliveries, hand each to the provider (a bounded number at
//! once), and record every outcome in one statement before the batch is acknowledged.

use std::{sync::Arc, time::Instant};

use futures_util::{StreamExt, stream};
use tocsin_providers::{
    Outcome, RetryClass,
    email::{EmailMessage, EmailProvider},
    sms::{SmsMessage, SmsProvider},
};
use tokio_util::sync::CancellationToken;

use super::{Dispatcher, Handled, load_alert, until_done};
use crate::{
    model::{AlertId, Channel, DeliveryId, DeliveryStatus},
    store::{
        self,
        alerts::Alert,
        deliveries::{Claimed, Transition},
    },
};

/// The provider a sender consumes for: one queue family per (channel, provider).
#[derive(Clone)]
pub enum Carrier {
    Sms(Arc<dyn SmsProvider>),
    Email(Arc<dyn EmailProvider>),
}

impl Carrier {
    pub fn channel(&self) -> Channel {
        match self {
            Carrier::Sms(_) => Channel::Sms,
            Carrier::Email(_) => Channel::Email,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Carrier::Sms(p) => p.name(),
            Carrier::Email(p) => p.name(),
        }
    }

    async fn send(&self, alert: &Alert, delivery: &Claimed, reference: &str) -> Outcome {
        match self {
            Carrier::Sms(provider) => {
                let message = SmsMessage {
                    reference,
                    to: &delivery.address,
                    text: &alert.body,
                };
                provider.send(message).await
            }
            Carrier::Email(provider) => {
                let message = EmailMessage {
                    reference,
                    to: &delivery.address,
                    subject: &alert.subject,
                    text: &alert.body,
                };
                provider.send(message).await
            }
        }
    }
}

pub async fn handle(
    dispatcher: &Dispatcher,
    carrier: &Carrier,
    alert: AlertId,
    ids: &[DeliveryId],
    redelivered: bool,
    shutdown: &CancellationToken,
) -> Handled {
    let db = &dispatcher.db;
    let alert = match load_alert(db, alert, shutdown).await {
        Ok(alert) => alert,
        Err(handled) => return handled,
    };
    let Some(claimed) = until_done(shutdown, "claiming deliveries", || {
        store::deliveries::claim(db, ids, redelivered)
    })
    .await
    else {
        return Handled::Abandoned;
    };
    if claimed.is_empty() {
        return Handled::Done;
    }
    let started = Instant::now();
    let alert = Arc::new(alert);
    // Owned values in the closure: borrowed ones make the future's lifetimes too general for
    // the compiler to prove it Send.
    let transitions: Vec<Transition> = stream::iter(claimed)
        .map(|delivery| {
            let (carrier, alert) = (carrier.clone(), alert.clone());
            let reference = dispatcher.ids.delivery(delivery.id);
            async move {
                let outcome = carrier.send(&alert, &delivery, &reference).await;
                transition(delivery.id, outcome)
            }
        })
        .buffer_unordered(dispatcher.settings.sends_per_batch.max(1))
        .collect()
        .await;
    // Once sent, an outcome must be recorded even during shutdown, or a restart would send the
    // batch again; so this step ignores the shutdown signal.
    let never = CancellationToken::new();
    until_done(&never, "recording outcomes", || {
        store::deliveries::record_outcomes(db, &transitions)
    })
    .await;
    let failed = transitions
        .iter()
        .filter(|t| t.status == DeliveryStatus::Failed)
        .count();
    tracing::debug!(
        alert = %alert.id,
        channel = carrier.channel().as_str(),
        provider = carrier.name(),
        sent = transitions.len() - failed,
        failed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "batch sent"
    );
    Handled::Done
}

/// Turns a provider's answer into the row's next state. Retrying transient failures is the job
/// of the retry tiers (a later stage); until then they are recorded as failed, with the reason.
fn transition(id: DeliveryId, outcome: Outcome) -> Transition {
    let answered_at = Some(chrono::Utc::now());
    match outcome {
        Outcome::Accepted {
            provider_message_id,
        } => Transition {
            id,
            status: DeliveryStatus::Sent,
            provider_message_id,
            error: None,
            answered_at,
        },
        Outcome::Failed { class, reason } => {
            let kind = match class {
                RetryClass::Permanent => "permanent",
                RetryClass::Transient { .. } => "transient",
                RetryClass::RateLimited { .. } => "rate limited",
            };
            Transition {
                id,
                status: DeliveryStatus::Failed,
                provider_message_id: None,
                error: Some(format!("{kind}: {reason}")),
                answered_at,
            }
        }
    }
}
