//! HTTP details of the push adapter: `Retry-After` in both its forms (RFC 9110 §10.2.3), and a
//! transport failure's causes without the URL.
//!
//! The SMS adapters keep their own versions in `sms/http.rs`, private to `sms`; these follow
//! the same bounds. Push services do send HTTP dates (FCM documents both forms), which the SMS
//! helper ignores.

use std::{
    error::Error,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Upper bound for `timeout_ms`, as for the SMS adapters: past two minutes a hung request only
/// holds a permit.
pub(crate) const MAX_TIMEOUT_MS: u64 = 120_000;

/// The longest `Retry-After` honoured; a larger value is more likely a bug than a plan.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` as delay-seconds or as an HTTP date (measured from `now`), capped at
/// [`MAX_RETRY_AFTER`]. A date already past means "now" (zero). Anything unreadable is `None`.
pub(crate) fn parse_retry_after(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = UNIX_EPOCH + Duration::from_secs(parse_imf_fixdate(value)?);
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Seconds since the Unix epoch of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`
/// (RFC 9110 §5.6.7). Known limit: the obsolete RFC 850 and asctime forms are not read.
fn parse_imf_fixdate(value: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (weekday, rest) = value.split_once(", ")?;
    if weekday.len() != 3 {
        return None;
    }
    let fields: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = fields.as_slice() else {
        return None;
    };
    let number = |s: &str, len: usize| -> Option<u64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let day = number(day, 2)?;
    let month = MONTHS.iter().position(|m| m == month)? as u64 + 1;
    let year = number(year, 4)?;
    let mut hms = time.split(':');
    let (Some(h), Some(m), Some(s), None) = (hms.next(), hms.next(), hms.next(), hms.next()) else {
        return None;
    };
    let (h, m, s) = (number(h, 2)?, number(m, 2)?, number(s, 2)?);
    if year < 1970 || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, for years from 1970
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The causes of an error, outermost first, without the URL (reqwest's own message names it;
/// its causes do not).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn retry_after_takes_seconds_and_caps_them() {
        let now = SystemTime::now();
        assert_eq!(
            parse_retry_after(Some(" 7 "), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(Some("0"), now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(Some("999999"), now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after(Some("-5"), now), None);
        assert_eq!(parse_retry_after(Some("soon"), now), None);
        assert_eq!(parse_retry_after(None, now), None);
    }

    #[test]
    fn retry_after_takes_an_http_date_relative_to_now() {
        // RFC 9110's example date is 784111777 seconds after the epoch.
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let unix = 1_445_412_480;
        assert_eq!(parse_imf_fixdate(date), Some(unix));
        let date = Some(date);
        assert_eq!(
            parse_retry_after(date, at(unix - 120)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(date, at(unix + 5)), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(date, at(unix - 86_400)),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn malformed_or_obsolete_dates_are_ignored() {
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nvb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad}");
        }
    }
}
