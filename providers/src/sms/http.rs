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

/// Upper bound for an adapter's `timeout_ms`: past two minutes a hung request only holds a
/// permit.
pub(crate) const MAX_TIMEOUT_MS: u64 = 120_000;

/// A provider API's root from `base_url`: http(s) with a host, no query, fragment or
/// credentials (`use_instead` says what carries them), ending in `/` so that joining the API
/// path keeps any prefix (`http://host/prefix` → `/prefix/…`).
pub(crate) fn api_root(raw: &str, use_instead: &str) -> Result<url::Url, crate::ConfigError> {
    use crate::ConfigError;
    let mut base = url::Url::parse(raw)
        .map_err(|e| ConfigError::new("base_url", format!("not an absolute URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err(ConfigError::new(
            "base_url",
            "must be an http(s) URL with a host",
        ));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(ConfigError::new(
            "base_url",
            "must not have a query or a fragment",
        ));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(ConfigError::new(
            "base_url",
            format!("must not carry credentials; use {use_instead}"),
        ));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// Provider text made safe for a reason: one line, at most `max_chars`, with the recipient's
/// digits and every other run of at least `min_digits` digits (a phone number in any format)
/// masked as `<number>`.
pub(crate) fn mask_numbers(
    text: &str,
    recipient: &str,
    min_digits: usize,
    max_chars: usize,
) -> String {
    let recipient = recipient.trim_start_matches('+');
    let text = if recipient.is_empty() {
        text.to_owned()
    } else {
        text.replace(recipient, "<number>")
    };
    let mut out = String::with_capacity(text.len().min(max_chars + 8));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= min_digits {
            out.push_str("<number>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush(&mut run, &mut out);
        out.push(if c.is_control() { ' ' } else { c });
    }
    flush(&mut run, &mut out);
    if out.chars().count() > max_chars {
        let cut: String = out.chars().take(max_chars).collect();
        format!("{cut}…")
    } else {
        out
    }
}
