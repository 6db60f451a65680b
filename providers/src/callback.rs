//! What providers tell Tocsin by calling it back: delivery reports. Each adapter reads its own
//! provider's documented format (and checks its signature, where the provider signs); the
//! daemon authenticates unsigned callbacks by the secret in their URL and records the result.

/// An HTTP call a provider made to Tocsin, as received.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    /// The URL the provider called, as the provider knows it (Tocsin's public URL, path and
    /// query): the URL signatures cover.
    pub url: &'a str,
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Headers, names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Callback<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query string's parameters.
    pub fn query(&self) -> Vec<(String, String)> {
        url::Url::parse(self.url)
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    /// The body's parameters, for `application/x-www-form-urlencoded` callbacks.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body)
            .into_owned()
            .collect()
    }
}

/// Why a callback was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// This provider sends no such callback (or the adapter does not read it yet).
    #[error("this provider sends no such callback")]
    Unsupported,
    /// The provider's signature is missing or wrong: not from the provider.
    #[error("callback not signed by the provider: {0}")]
    Forged(String),
    /// Not in the provider's documented format.
    #[error("callback not in the provider's format: {0}")]
    Malformed(String),
}

/// Which message a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRef {
    /// Tocsin's own reference (`dlv_…`), echoed by the provider or carried in the callback URL.
    Reference(String),
    /// Only the provider's id of the message, as its send answer gave it.
    ProviderId(String),
}

/// What a delivery report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportStatus {
    Delivered,
    /// Not delivered, for good; the provider's reason.
    Failed {
        reason: String,
    },
    /// The network gave up trying within the message's validity.
    Expired {
        reason: String,
    },
    /// Not delivered because the recipient opted out with the provider (STOP, blacklist): failed,
    /// and the number is not texted again.
    OptedOut {
        reason: String,
    },
    /// Still on its way (queued, sent to the carrier, being retried by the network): no change.
    Pending,
    /// A call ended: how (voice).
    Call(crate::voice::CallEnd),
    /// A value the adapter does not know: recorded as such, never read as delivered.
    Unknown(String),
}

/// One delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub message: MessageRef,
    pub status: ReportStatus,
}

/// An SMS a citizen sent to the commune's number (a keyword: ALERTE, STOP…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The citizen's number, E.164 (`+33612345678`).
    pub from: String,
    pub text: String,
}

/// A citizen's SMS a provider holds for pickup, with the provider's id for it: it stays there
/// until the daemon recorded it and removes it ([`crate::Provider::remove_inbound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldInbound {
    pub id: String,
    pub sms: Inbound,
}

/// `+` and digits: what every provider's "from" becomes (smsmode gives digits only).
pub(crate) fn e164_of(number: &str) -> Option<String> {
    let digits = number.trim().trim_start_matches('+');
    let fine = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    fine.then(|| format!("+{digits}"))
}
