//! What a provider's answer to one send makes of the delivery: sent, retrying, failed or
//! expired, with the reason. The provider's words are outside text: its reason is cleaned and
//! bounded before it is stored or logged, and a message id that is no usable id is never stored.

use chrono::Utc;
use tocsin_providers::{Outcome, RetryClass};

use crate::dispatch::{
    pipeline::sender::Carrier,
    policy::retry::{GiveUp, Retry, RetryPolicy},
};
use crate::{
    model::{
        DeliveryStatus, Lane,
        text::{self, MAX_ID_CHARS, MAX_REASON_CHARS},
    },
    store::{
        alerts::Alert,
        deliveries::{Claimed, FailedAttempt, Fence, Transition},
    },
};

/// Turns a provider's answer (or the deadline, for `None`) into the row's next state, written
/// under `fence`, the claim the send was made under; a transient failure is retried as `retry`
/// says.
pub(super) fn settle(
    retry: &RetryPolicy,
    carrier: &Carrier,
    alert: &Alert,
    delivery: &Claimed,
    fence: Fence,
    outcome: Option<Outcome>,
) -> (Transition, Option<Retry>) {
    let now = Utc::now();
    let id = delivery.id;
    let to = |status| Transition {
        fence: Some(fence),
        ..Transition::to(id, status)
    };
    let Some(outcome) = outcome else {
        let transition = Transition {
            error: Some("not sent before the alert expired".into()),
            ..to(DeliveryStatus::Expired)
        };
        return (transition, None);
    };
    let (class, reason) = match outcome {
        Outcome::Accepted {
            provider_message_id,
        } => {
            let kind = carrier.0.kind;
            let usable = provider_message_id
                .as_deref()
                .map(|message_id| text::outside_id(message_id, MAX_ID_CHARS));
            if let Some(Err(unusable)) = usable {
                // Storing it would fail (PostgreSQL refuses NUL) or match no report: the row
                // fails, saying what is known. Not retried: the provider may have sent it.
                let reason = format!(
                    "unusable answer: the provider accepted the message but its message id \
                     {unusable}; whether it arrives is unknown"
                );
                let attempt = FailedAttempt {
                    attempt: delivery.attempts,
                    provider: carrier.name().to_string(),
                    outcome: "permanent",
                    reason: reason.clone(),
                };
                let transition = Transition {
                    error: Some(reason),
                    answered_at: Some(now),
                    failed_attempt: Some(attempt),
                    ..to(DeliveryStatus::Failed)
                };
                return (transition, None);
            }
            let transition = Transition {
                provider_message_id,
                answered_at: Some(now),
                remember_id_for: kind.reports_by_id.then_some(kind.name),
                ..to(DeliveryStatus::Sent)
            };
            return (transition, None);
        }
        Outcome::Failed { class, reason } => (class, text::from_outside(&reason, MAX_REASON_CHARS)),
    };
    let opted_out = class == RetryClass::OptedOut;
    let gone = class == RetryClass::Gone;
    let (kind, retry_after) = match class {
        RetryClass::Permanent | RetryClass::OptedOut | RetryClass::Gone => ("permanent", None),
        RetryClass::Transient { retry_after } => ("transient", Some(retry_after)),
        // Retried: for an alert a duplicate is better than a miss.
        RetryClass::Uncertain => ("uncertain", Some(None)),
        RetryClass::RateLimited { retry_after } => ("rate_limited", Some(retry_after)),
    };
    let attempt = FailedAttempt {
        attempt: delivery.attempts,
        provider: carrier.name().to_string(),
        outcome: kind,
        reason: reason.clone(),
    };
    let failed = |status, error: String| Transition {
        error: Some(error),
        answered_at: Some(now),
        failed_attempt: Some(attempt.clone()),
        opted_out,
        gone,
        ..to(status)
    };
    let label = kind.replace('_', " ");
    let Some(retry_after) = retry_after else {
        return (
            failed(DeliveryStatus::Failed, format!("{label}: {reason}")),
            None,
        );
    };
    let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
    match retry.next(
        attempts,
        retry_after,
        now,
        alert.expires_at,
        alert.lane == Lane::Urgent,
    ) {
        Ok(retry) => {
            let transition = Transition {
                next_attempt_at: Some(retry.at),
                ..failed(DeliveryStatus::Retrying, format!("{label}: {reason}"))
            };
            (transition, Some(retry))
        }
        Err(GiveUp::Exhausted) => {
            let error = format!("{label}: {reason} (gave up after {attempts} attempts)");
            (failed(DeliveryStatus::Failed, error), None)
        }
        Err(GiveUp::PastDeadline) => {
            let error = format!("{label}: {reason} (the alert expires before another attempt)");
            (failed(DeliveryStatus::Expired, error), None)
        }
    }
}
