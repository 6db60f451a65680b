//! The shared answer of every adapter: accepted, or failed with a retry class, plus the delivery
//! receipts some providers report later.

use std::{future::Future, pin::Pin, time::Duration};

/// A boxed future, so that adapters can sit behind `dyn` traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the dispatcher may do after a failure. Errors decide their own retry; the dispatcher
/// never matches on strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Worth trying again later (a 503, a refused connection, an SMTP 4xx): nothing was sent.
    Transient { retry_after: Option<Duration> },
    /// The provider may have taken the message (a timeout after the request was written, a
    /// connection lost mid-request, a 500, 502 or 504): retried, since for an alert a
    /// duplicate is better than a miss, but counted apart (a possible duplicate).
    Uncertain,
    /// The provider asked us to slow down (HTTP 429, Vonage status 1).
    RateLimited { retry_after: Option<Duration> },
    /// Trying again will not help (a bad number, a refused mailbox, a wrong API key).
    Permanent,
    /// Permanent, because the recipient opted out with the provider (replied STOP): Tocsin
    /// stops texting the number too, until the citizen subscribes again.
    OptedOut,
    /// Permanent, because the address no longer exists (a browser's push subscription that its
    /// push service answers 404 or 410 for): Tocsin removes it and never uses it again.
    Gone,
}

impl RetryClass {
    /// A transient failure becomes uncertain when the message may have been taken; a refusal
    /// the provider stated stays what it is.
    pub fn uncertain_if(self, uncertain: bool) -> RetryClass {
        match self {
            RetryClass::Transient { .. } if uncertain => RetryClass::Uncertain,
            class => class,
        }
    }
}

/// The result of handing one message to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took the message; `provider_message_id` is its own id when it gives one.
    Accepted { provider_message_id: Option<String> },
    /// The provider did not take it. `reason` is for operators: it never holds the recipient's
    /// address or a secret.
    Failed { class: RetryClass, reason: String },
}

impl Outcome {
    pub fn failed(class: RetryClass, reason: impl Into<String>) -> Self {
        Outcome::Failed {
            class,
            reason: reason.into(),
        }
    }
}

/// A delivery receipt: what the provider later learnt about a message it had accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Tocsin's own reference for the delivery, as given in the message (`SmsMessage::reference`).
    pub reference: String,
    pub provider_message_id: Option<String>,
    pub status: ReceiptStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptStatus {
    Delivered,
    Failed { reason: String },
}

/// Where adapters that learn about receipts in-process (the simulator) send them.
pub type ReceiptSink = tokio::sync::mpsc::Sender<Receipt>;
