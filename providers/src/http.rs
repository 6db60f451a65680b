//! What every adapter over HTTP shares (SMS providers, push services): reading `Retry-After`,
//! telling a transport failure's causes without the URL, bounds and checks of settings.

use std::{
    error::Error,
    time::{Duration, SystemTime},
};

/// The longest `Retry-After` honoured; a larger value is more likely a bug than a plan.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` as delay-seconds or as an HTTP date (RFC 9110 §10.2.3; push services send
/// both), capped at [`MAX_RETRY_AFTER`]; a date already past means now. Unreadable: `None`.
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    retry_after_at(value, SystemTime::now())
}

/// [`parse_retry_after`] as of `now`.
pub(crate) fn retry_after_at(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
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
        // reqwest's own message names the URL; say only what kind of failure it was.
        parts.push(
            if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "connection failed"
            } else if error.is_body() {
                "request or response body failed"
            } else {
                "request failed"
            }
            .to_owned(),
        );
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

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_caps_them() {
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(Some("0")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(Some("999999")), Some(MAX_RETRY_AFTER));
        for bad in [
            Some("-5"),
            Some("soon"),
            None,
            Some("Sun, 32 Nov 1994 08:49:37 GMT"),
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_takes_an_http_date_relative_to_now() {
        let at = |unix: u64| UNIX_EPOCH + Duration::from_secs(unix);
        let date = Some("Wed, 21 Oct 2015 07:28:00 GMT");
        let unix = 1_445_412_480;
        assert_eq!(
            retry_after_at(date, at(unix - 120)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after_at(date, at(unix + 5)), Some(Duration::ZERO));
        assert_eq!(
            retry_after_at(date, at(unix - 86_400)),
            Some(MAX_RETRY_AFTER)
        );
    }
}
