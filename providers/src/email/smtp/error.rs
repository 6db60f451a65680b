//! Everything that can go wrong with one SMTP send, and what each failure means for a retry.
//! SMTP reply codes decide (RFC 5321 §4.2.1): 4yz is a transient negative completion, 5yz a
//! permanent one.

use std::{error::Error as _, time::Duration};

use super::session::{OpenError, TransactionError};
use crate::RetryClass;

/// Marks failures after which the e-mail may or may not have been taken by the relay.
const UNCERTAIN: &str = "uncertain (may have been sent)";

/// Longest server text kept in a reason.
const MAX_TEXT_CHARS: usize = 300;

/// One failed send. Its `Display` is the operator-facing reason: e-mail addresses are masked
/// (relays echo the recipient in their replies) and the relay's password never appears.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    /// The recipient is not an e-mail address lettre can put in an envelope.
    #[error("recipient is not a valid e-mail address")]
    InvalidRecipient,
    /// Our reference cannot be a header value.
    #[error("reference is not a header value (visible ASCII, at most 200 characters)")]
    InvalidReference,
    /// The recipient's unsubscribe URL cannot go in `List-Unsubscribe`.
    #[error("unsubscribe URL is not an http(s) URL of visible ASCII, at most 900 characters")]
    InvalidUnsubscribe,
    /// The tenant's From is not a mailbox (it is checked when set: only a changed rule brings
    /// this).
    #[error("the From of this commune is not a valid mailbox")]
    InvalidFrom,
    /// lettre refused before the relay could: the message cannot be built, or the relay lacks
    /// what it needs (SMTPUTF8 for a non-ASCII address, STARTTLS, a shared AUTH mechanism).
    /// Trying again meets the same refusal.
    #[error("SMTP client error: {0}")]
    Unsendable(String),
    /// The relay answered 5yz: the message was refused for good (550 mailbox unavailable, 554
    /// transaction failed, 535 authentication failed …).
    #[error("SMTP {code} refused: {text}")]
    Refused { code: u16, text: String },
    /// The relay answered 4yz: try again later (451 greylisting, 452 out of storage …).
    #[error("SMTP {code} deferred: {text}")]
    Deferred { code: u16, text: String },
    /// No session could be opened (unknown host, refused connection, connect timeout, TLS
    /// handshake, a greeting or EHLO that never came), or the session broke before the
    /// message's content was sent: nothing was sent.
    #[error("SMTP relay unreachable, not sent: {0}")]
    Unreachable(String),
    /// Every session stayed busy for the whole timeout: nothing was sent.
    #[error("all {0} SMTP sessions stayed busy for {1:?}, not sent")]
    Busy(u32, Duration),
    /// No final answer within the timeout; the relay may still take the message.
    #[error("SMTP relay did not answer within {:?}: {}", .0, UNCERTAIN)]
    Timeout(Duration),
    /// The session broke while the message's content was sent or its reply awaited (an I/O
    /// error, an unreadable reply): the relay may have taken it.
    #[error("SMTP session broke: {}: {}", UNCERTAIN, .0)]
    Broken(String),
}

impl SmtpError {
    /// Reads a failure to open a session. Whatever it was, nothing was sent.
    pub(super) fn from_open(error: OpenError, recipient: &str) -> Self {
        match error {
            OpenError::Io(what, error) => {
                SmtpError::Unreachable(clean_text(&format!("{what}: {error}"), recipient))
            }
            OpenError::Smtp(error) => match SmtpError::from_lettre(&error, recipient) {
                SmtpError::Broken(text) => SmtpError::Unreachable(text),
                other => other,
            },
        }
    }

    /// Reads a failed transaction: uncertain only once the content was on its way.
    pub(super) fn from_transaction(error: TransactionError, recipient: &str) -> Self {
        match error {
            TransactionError::Client(text) => SmtpError::Unsendable(text.to_owned()),
            TransactionError::Envelope { error, .. } => {
                match SmtpError::from_lettre(&error, recipient) {
                    SmtpError::Broken(text) => SmtpError::Unreachable(text),
                    other => other,
                }
            }
            TransactionError::Content(error) => SmtpError::from_lettre(&error, recipient),
        }
    }

    /// No session could be opened before the deadline.
    pub(super) fn no_session(timeout: Duration) -> Self {
        SmtpError::Unreachable(format!("no session opened within {timeout:?}"))
    }

    /// Reads a lettre error: the relay's reply code when there is one, lettre's own refusal,
    /// or a broken session (which the callers above narrow down by when it happened).
    fn from_lettre(error: &lettre::transport::smtp::Error, recipient: &str) -> Self {
        let text = || clean_text(&source_text(error), recipient);
        if let Some(code) = error.status() {
            let code = u16::from(code);
            if error.is_permanent() {
                return SmtpError::Refused { code, text: text() };
            }
            if error.is_transient() {
                return SmtpError::Deferred { code, text: text() };
            }
        }
        if error.is_client() {
            return SmtpError::Unsendable(text());
        }
        // An I/O error, an unreadable reply, a failed STARTTLS handshake.
        SmtpError::Broken(clean_text(&chain_text(error), recipient))
    }

    /// What the dispatcher may do next.
    pub fn retry_class(&self) -> RetryClass {
        let class = match self {
            SmtpError::InvalidRecipient
            | SmtpError::InvalidReference
            | SmtpError::InvalidFrom
            | SmtpError::InvalidUnsubscribe
            | SmtpError::Unsendable(_)
            | SmtpError::Refused { .. } => RetryClass::Permanent,
            SmtpError::Deferred { .. }
            | SmtpError::Unreachable(_)
            | SmtpError::Busy(..)
            | SmtpError::Timeout(_)
            | SmtpError::Broken(_) => RetryClass::Transient { retry_after: None },
        };
        class.uncertain_if(self.is_uncertain())
    }

    /// True when the relay may have taken the message despite the failure.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, SmtpError::Timeout(_) | SmtpError::Broken(_))
    }
}

/// The server's reply text (for code errors) or the direct cause.
fn source_text(error: &lettre::transport::smtp::Error) -> String {
    error
        .source()
        .map_or_else(|| error.to_string(), ToString::to_string)
}

/// lettre's message and its causes, e.g. "Connection error: Connection refused (os error 111)".
fn chain_text(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source().and_then(|s| s.source());
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Makes relay text safe for a reason: one line, bounded, every e-mail address (the recipient
/// above all) replaced by `<address>`.
pub(crate) fn clean_text(text: &str, recipient: &str) -> String {
    let mut text = text.to_owned();
    if !recipient.is_empty() {
        // Case-insensitive: relays often lower-case the address they echo. ASCII only, so
        // that offsets in the lower-cased copy are offsets in the text; `mask_addresses`
        // catches the rest.
        if text.is_ascii() {
            let lower = text.to_ascii_lowercase();
            let needle = recipient.to_ascii_lowercase();
            let mut out = String::new();
            let mut last = 0;
            for (at, _) in lower.match_indices(&needle) {
                out.push_str(&text[last..at]);
                last = at + needle.len();
                // `<jeanne@x.fr>` becomes `<address>`, not `<<address>>`.
                if out.ends_with('<') && text[last..].starts_with('>') {
                    out.pop();
                    last += 1;
                }
                out.push_str("<address>");
            }
            out.push_str(&text[last..]);
            text = out;
        }
    }
    let text = mask_addresses(&text);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX_TEXT_CHARS {
        format!("{}…", flat.chars().take(MAX_TEXT_CHARS).collect::<String>())
    } else {
        flat
    }
}

/// Replaces every `local@domain` run (and the angle brackets around it) with `<address>`.
fn mask_addresses(text: &str) -> String {
    let is_part = |c: char| !c.is_whitespace() && !"<>\"'(),;:[]".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Take back the local part already copied.
        let mut start = i;
        while start > 0 && is_part(chars[start - 1]) {
            start -= 1;
        }
        let local_len = i - start;
        for _ in 0..local_len {
            out.pop();
        }
        let mut end = i + 1;
        while end < chars.len() && is_part(chars[end]) {
            end += 1;
        }
        let bracketed = out.ends_with('<') && chars.get(end) == Some(&'>');
        if bracketed {
            out.pop();
            end += 1;
        }
        out.push_str("<address>");
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let refused = SmtpError::Refused {
            code: 550,
            text: String::new(),
        };
        assert_eq!(refused.retry_class(), RetryClass::Permanent);
        let deferred = SmtpError::Deferred {
            code: 451,
            text: String::new(),
        };
        assert_eq!(
            deferred.retry_class(),
            RetryClass::Transient { retry_after: None }
        );
        for e in [
            SmtpError::InvalidRecipient,
            SmtpError::InvalidReference,
            SmtpError::InvalidUnsubscribe,
        ] {
            assert_eq!(e.retry_class(), RetryClass::Permanent);
        }
        for e in [
            SmtpError::Unreachable(String::new()),
            SmtpError::Busy(8, Duration::from_secs(1)),
        ] {
            assert_eq!(e.retry_class(), RetryClass::Transient { retry_after: None });
        }
        for e in [
            SmtpError::Timeout(Duration::from_secs(1)),
            SmtpError::Broken(String::new()),
        ] {
            assert_eq!(e.retry_class(), RetryClass::Uncertain);
        }
        assert!(SmtpError::Timeout(Duration::from_secs(1)).is_uncertain());
        assert!(!SmtpError::Unreachable(String::new()).is_uncertain());
    }

    #[test]
    fn addresses_are_masked() {
        let recipient = "Jeanne.Dupont@Example.org";
        assert_eq!(
            clean_text(
                "5.1.1 <jeanne.dupont@example.org>: Recipient address rejected",
                recipient
            ),
            "5.1.1 <address>: Recipient address rejected"
        );
        assert_eq!(
            clean_text(
                "user other@x.fr unknown,\r\n see postmaster@x.fr",
                recipient
            ),
            "user <address> unknown, see <address>"
        );
        assert_eq!(clean_text("no address here", recipient), "no address here");
    }

    #[test]
    fn reasons_are_bounded() {
        let long = "x".repeat(1000);
        assert!(clean_text(&long, "a@b.c").chars().count() <= MAX_TEXT_CHARS + 1);
    }
}
