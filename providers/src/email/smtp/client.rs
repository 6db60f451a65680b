//! The SMTP client: builds each message with lettre, sends it on a pooled session of our own
//! under a semaphore that caps sessions, and turns the answer into an [`Outcome`].

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use lettre::{
    Address, Message,
    address::Envelope,
    message::{
        Mailbox,
        header::{ContentType, HeaderName, HeaderValue},
    },
};
use rand::Rng;
use tokio::{sync::Semaphore, time::Instant};

use super::{
    ValidatedSmtpConfig,
    error::SmtpError,
    pool::{Gate, Pool},
    session::{Connector, Transaction},
};
use crate::{BoxFuture, ConfigError, Message as Outgoing, Outcome, Provider};

/// The header that carries Tocsin's reference, so bounces can be matched to a delivery.
const REFERENCE_HEADER: &str = "X-Tocsin-Reference";
const MAX_REFERENCE_LEN: usize = 200;
/// A header line holds at most 998 octets (RFC 5322 §2.1.1): room for the URL, its name and
/// its angle brackets.
const MAX_UNSUBSCRIBE_LEN: usize = 900;
/// What one-click unsubscription posts (RFC 8058 §3.1).
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";
/// Ends the text when the recipient can unsubscribe, before the URL. "-- " is the signature
/// separator mail clients recognise (RFC 3676 §4.3).
const UNSUBSCRIBE_FOOTER: &str = "\n\n-- \nVous recevez ce message parce que vous êtes inscrit \
                                  aux alertes de votre commune.\nPour vous désinscrire : ";

/// Sends e-mail through one SMTP relay. Cheap to share behind an `Arc`.
pub struct SmtpEmail {
    pool: Arc<Pool>,
    from: Mailbox,
    /// The sender a commune last asked for, parsed: an alert's messages all name the same one.
    last_from: Mutex<Option<(String, Mailbox)>>,
    /// Messages in the pool: one on each session and one waiting behind it, whose envelope
    /// can then follow the content before it (see `pool`).
    in_flight: Arc<Semaphore>,
    max_connections: u32,
    timeout: Duration,
    /// `smtp://host:port`, without credentials.
    endpoint: Option<url::Url>,
}

impl fmt::Debug for SmtpEmail {
    // Keep to what is safe to print: the relay's URL may hold its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpEmail")
            .field("from", &self.from.to_string())
            .field("max_connections", &self.max_connections)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Marks the send abandoned when the caller's future is dropped (a shutdown), so that a send
/// whose transaction has not begun does not begin.
struct AbandonOnDrop(Arc<Gate>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

impl SmtpEmail {
    /// Prepares the relay's TLS settings (reading the system's root certificates when the URL
    /// asks for TLS). No connection is opened until the first send.
    pub fn new(config: ValidatedSmtpConfig) -> Result<Self, ConfigError> {
        let host = match config.relay.host.parse::<std::net::Ipv6Addr>() {
            Ok(v6) => format!("[{v6}]"),
            Err(_) => config.relay.host.clone(),
        };
        let endpoint = url::Url::parse(&format!("smtp://{host}:{}", config.relay.port)).ok();
        let connector = Connector::new(config.relay)
            .map_err(|problem| ConfigError::new("url", format!("unusable SMTP URL: {problem}")))?;
        Ok(SmtpEmail {
            endpoint,
            pool: Arc::new(Pool::new(connector, config.max_connections as usize)),
            from: config.from,
            last_from: Mutex::new(None),
            in_flight: Arc::new(Semaphore::new(2 * config.max_connections as usize)),
            max_connections: config.max_connections,
            timeout: config.timeout,
        })
    }

    /// Sends one e-mail; `Ok` holds the `Message-ID` it carried, which bounces quote.
    pub async fn submit(&self, message: Outgoing<'_>) -> Result<String, SmtpError> {
        let email = if message.dkim.is_some() && multi_threaded() {
            // An RSA signature takes about a millisecond of CPU: the worker hands its other
            // tasks to the runtime for that long, so that signing never holds up the API or
            // other sends.
            tokio::task::block_in_place(|| self.build(&message))?
        } else {
            self.build(&message)?
        };
        let message_id = message_id_of(&email);
        // Exactly the bytes a DKIM signature covers: nothing may change `email` after `build`.
        let content = String::from_utf8(email.formatted())
            .map_err(|_| SmtpError::Unsendable("the message is not UTF-8".to_owned()))?;
        let transaction = Arc::new(Transaction {
            envelope: email.envelope().clone(),
            content,
        });

        let deadline = Instant::now() + self.timeout;
        let busy = SmtpError::Busy(self.max_connections, self.timeout);
        let permit = tokio::time::timeout_at(deadline, self.in_flight.clone().acquire_owned())
            .await
            .map_err(|_| busy.clone())?
            .expect("semaphore never closed");

        // lettre has no timeout on SMTP commands. The send runs in a task of its own, which
        // holds its session for as long as it is in use; we only stop *waiting* at the
        // deadline. So a slow relay gets no extra sessions piled onto it, a late answer still
        // leaves a session worth reusing, and a relay that stops answering has the session
        // closed one timeout later, which frees its slot. The gate keeps the verdict true:
        // "not sent" if the transaction had not begun by the deadline, "uncertain" otherwise.
        let gate = Arc::new(Gate::default());
        let _abandon = AbandonOnDrop(gate.clone());
        let send = tokio::spawn({
            let (pool, gate, timeout) = (self.pool.clone(), gate.clone(), self.timeout);
            let recipient = message.to.to_owned();
            let busy = busy.clone();
            async move {
                let send = pool.send(&gate, &transaction, &recipient, deadline, timeout, busy);
                let result = tokio::time::timeout_at(deadline + timeout, send).await;
                drop(permit);
                result.unwrap_or(Err(SmtpError::Timeout(timeout)))
            }
        });
        match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(Ok(()))) => Ok(message_id),
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(join_error)) => {
                Err(SmtpError::Broken(format!("send task failed: {join_error}")))
            }
            // Nothing was sent, and now nothing will be.
            Err(_) if gate.abandon() => Err(if gate.waited_in_line() {
                busy
            } else {
                SmtpError::no_session(self.timeout)
            }),
            Err(_) => Err(SmtpError::Timeout(self.timeout)),
        }
    }

    /// A plain-text UTF-8 message with our reference header and a Message-ID of our own; with
    /// one-click unsubscription (RFC 8058) and a footer saying how when the recipient has an
    /// unsubscribe URL; DKIM-signed when the commune has a key, once every header is set.
    pub(super) fn build(&self, message: &Outgoing<'_>) -> Result<Message, SmtpError> {
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
        let from = match message.from {
            Some(text) => self.parse_from(text)?,
            None => self.from.clone(),
        };
        // Given rather than read back from the headers, which lettre would parse again.
        let envelope = Envelope::new(Some(from.email.clone()), vec![to.clone()])
            .map_err(|_| SmtpError::InvalidRecipient)?;
        let domain = from.email.domain();
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
        let unsubscribe = message.unsubscribe.map(check_unsubscribe).transpose()?;

        let mut builder = Message::builder()
            .envelope(envelope)
            .from(from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject)
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(REFERENCE_HEADER),
                reference.to_owned(),
            ));
        let text = match unsubscribe {
            Some(url) => {
                builder = builder
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{url}>"),
                    ))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        ONE_CLICK.to_owned(),
                    ));
                format!("{}{UNSUBSCRIBE_FOOTER}{url}", message.text.trim_end())
            }
            None => message.text.to_owned(),
        };
        let mut email = builder.body(text).map_err(|e| {
            SmtpError::Unsendable(super::error::clean_text(&e.to_string(), message.to))
        })?;
        if let Some(key) = message.dkim {
            key.sign(&mut email).map_err(SmtpError::Unsendable)?;
        }
        Ok(email)
    }

    /// The commune's sender (`Name <address>`), parsed once for as long as messages name it.
    fn parse_from(&self, text: &str) -> Result<Mailbox, SmtpError> {
        let mut last = self.last_from.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, mailbox)) = last.as_ref()
            && seen == text
        {
            return Ok(mailbox.clone());
        }
        let mailbox = text
            .parse::<Mailbox>()
            .map_err(|_| SmtpError::InvalidFrom)?;
        *last = Some((text.to_owned(), mailbox.clone()));
        Ok(mailbox)
    }
}

/// `block_in_place` needs a runtime with other workers to hand tasks to.
fn multi_threaded() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// An unsubscribe URL fit for `List-Unsubscribe: <…>`: absolute http(s) with a host, visible
/// ASCII only, so no CR or LF can start a header of its own and no `>` can end the brackets.
/// RFC 8058 asks for HTTPS; mailbox providers ignore a plain http one.
fn check_unsubscribe(url: &str) -> Result<&str, SmtpError> {
    let visible = url.len() <= MAX_UNSUBSCRIBE_LEN
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    // Checked first: `Url::parse` would silently drop CR, LF and tabs.
    if !visible {
        return Err(SmtpError::InvalidUnsubscribe);
    }
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.has_host() => Ok(url),
        _ => Err(SmtpError::InvalidUnsubscribe),
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

impl Provider for SmtpEmail {
    fn endpoint(&self) -> Option<url::Url> {
        self.endpoint.clone()
    }

    fn send<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.submit(message).await {
                Ok(id) => Outcome::Accepted {
                    provider_message_id: Some(id),
                },
                Err(error) => Outcome::failed(error.retry_class(), error.to_string()),
            }
        })
    }

    fn connections(&self) -> Option<usize> {
        Some(self.max_connections as usize)
    }
}
