//! What every SMS adapter over HTTP shares: reading `Retry-After`, and telling a transport
//! failure's causes without the URL.

use std::{error::Error, time::Duration};

/// The longest `Retry-After` honoured; a larger value is more likely a bug than a plan.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` in seconds (an HTTP date is rare from these APIs and is ignored), capped at
/// [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let seconds: u64 = value?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// The causes of an error, outermost first, without the URL (reqwest's own message is only
/// "error sending request").
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}
