//! The SMTP client: lettre's pooled async transport, a semaphore in front of it, and the
//! translation of each answer into an [`Outcome`].

use std::{fmt, sync::Arc, time::Duration};

use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox,
        header::{ContentType, HeaderName, HeaderValue},
    },
    transport::smtp::PoolConfig,
};
use rand::Rng;
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use super::{ValidatedSmtpConfig, error::SmtpError};
use crate::{
    BoxFuture, ConfigError, Outcome,
    email::{EmailMessage, EmailProvider},
};

/// The header that carries Tocsin's reference, so bounces can be matched to a delivery.
const REFERENCE_HEADER: &str = "X-Tocsin-Reference";
const MAX_REFERENCE_LEN: usize = 200;

/// Sends e-mail through one SMTP relay. Cheap to share behind an `Arc`.
pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// lettre's pool `max_size` caps only *idle* sessions: under load it opens new ones without
    /// bound (reference/rust-crates.md). These permits cap sessions in use.
    sessions: Arc<Semaphore>,
    max_connections: u32,
    timeout: Duration,
}

impl fmt::Debug for SmtpEmail {
    // The transport's own Debug shows the relay's settings; keep to what is safe to print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpEmail")
            .field("from", &self.from.to_string())
            .field("max_connections", &self.max_connections)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpEmail {
    /// Builds the pooled transport. Call it inside a Tokio runtime: lettre's pool spawns its
    /// idle-session reaper at once. No connection is opened until the first send.
    pub fn new(config: ValidatedSmtpConfig) -> Result<Self, ConfigError> {
        // lettre's errors here name the scheme or the TLS setup, never the URL itself.
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose_secret())
            .map_err(|e| ConfigError::new("url", format!("unusable SMTP URL: {e}")))?;
        let transport = builder
            .timeout(Some(config.timeout))
            .pool_config(PoolConfig::new().max_size(config.max_connections))
            .build();
        Ok(SmtpEmail {
            transport,
            from: config.from,
            sessions: Arc::new(Semaphore::new(config.max_connections as usize)),
            max_connections: config.max_connections,
            timeout: config.timeout,
        })
    }

    /// How many sessions this adapter opens at most (`max_connections`).
    pub fn max_in_flight(&self) -> u32 {
        self.max_connections
    }

    /// Sends one e-mail; `Ok` holds the `Message-ID` it carried, which bounces quote.
    pub async fn submit(&self, message: EmailMessage<'_>) -> Result<String, SmtpError> {
        let email = self.build(&message)?;
        let message_id = message_id_of(&email);

        let deadline = tokio::time::Instant::now() + self.timeout;
        let permit = tokio::time::timeout_at(deadline, self.sessions.clone().acquire_owned())
            .await
            .map_err(|_| SmtpError::Busy(self.max_connections, self.timeout))?
            .expect("semaphore never closed");

        // lettre's async transport has no timeout on SMTP commands, only on connect, and
        // dropping its send mid-transaction would hand a half-used session back to its pool.
        // So the send runs to its end in its own task, which holds the permit; we only stop
        // *waiting* at the deadline.
        let transport = self.transport.clone();
        let send = tokio::spawn(async move {
            let result = transport.send(email).await;
            drop(permit);
            result
        });
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(Ok(_response))) => Ok(message_id),
            Ok(Ok(Err(error))) => Err(SmtpError::from_lettre(&error, message.to)),
            Ok(Err(join_error)) => {
                Err(SmtpError::Broken(format!("send task failed: {join_error}")))
            }
            Err(_) => Err(SmtpError::Timeout(self.timeout)),
        }
    }

    /// A plain-text UTF-8 message with our reference header and a Message-ID of our own.
    fn build(&self, message: &EmailMessage<'_>) -> Result<Message, SmtpError> {
        let to: Address = message
            .to
            .parse()
            .map_err(|_| SmtpError::InvalidRecipient)?;
        let reference = message.reference;
        if reference.is_empty()
            || reference.len() > MAX_REFERENCE_LEN
            || !reference.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(SmtpError::InvalidReference);
        }
        let domain = self.from.email.domain();
        // RFC 5322 msg-id: keep the reference readable but within dot-atom characters.
        let id_part: String = reference
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let message_id = format!("<{id_part}.{:016x}@{domain}>", rand::rng().random::<u64>());

        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject)
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(REFERENCE_HEADER),
                reference.to_owned(),
            ))
            .body(message.text.to_owned())
            .map_err(|e| {
                SmtpError::Unsendable(super::error::clean_text(&e.to_string(), message.to))
            })
    }
}

fn message_id_of(email: &Message) -> String {
    email
        .headers()
        .get_raw("Message-ID")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl EmailProvider for SmtpEmail {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, message: EmailMessage<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.submit(message).await {
                Ok(id) => Outcome::Accepted {
                    provider_message_id: Some(id),
                },
                Err(error) => Outcome::failed(error.retry_class(), error.to_string()),
            }
        })
    }
}
