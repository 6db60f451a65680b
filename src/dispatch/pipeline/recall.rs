//! Calling again until heard (`"until_acknowledged": true`): a call that ends without the
//! citizen's confirmation is placed again after `[voice] recall_interval_s`, up to
//! `[voice] max_calls` calls, while the alert is in force and nobody of that household confirmed
//! on any channel. What calls again: no answer, a busy line, a hang-up before the message ended,
//! and an answering machine (which recorded the message: the alert products communes buy call
//! again too). A number that cannot be called, or a person who heard it all without pressing 1,
//! is not called again.
//!
//! A call to place again goes back to `retrying`, due after the interval, with the call's
//! outcome kept as a failed attempt; the sweeper hands it to a sender when it is due, as it does
//! any retry whose message is not on the broker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tocsin_providers::voice::{AnsweredBy, CallEnd};

/// `[voice]`: how calls are placed again.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub recall_interval: Duration,
    /// Calls in all to one number for one alert, the first included.
    pub max_calls: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recall_interval: Duration::from_secs(300),
            max_calls: 3,
        }
    }
}

/// What is known of a call when it ends.
#[derive(Debug, Clone)]
pub struct Ended {
    pub end: CallEnd,
    /// The alert asked to call again until confirmed.
    pub until_acknowledged: bool,
    /// Calls placed so far, this one included.
    pub calls: i32,
    /// Someone of the household confirmed, on any channel.
    pub acknowledged: bool,
    pub expires_at: DateTime<Utc>,
    /// How long the message speaks once.
    pub message_seconds: u64,
}

/// Whether to call again, and why.
pub fn again(ended: &Ended, settings: &Settings, now: DateTime<Utc>) -> Option<String> {
    if !ended.until_acknowledged || ended.acknowledged {
        return None;
    }
    if ended.calls >= i32::try_from(settings.max_calls).unwrap_or(i32::MAX) {
        return None;
    }
    let next = now + chrono::Duration::from_std(settings.recall_interval).ok()?;
    if next >= ended.expires_at {
        return None;
    }
    match &ended.end {
        CallEnd::Unanswered { reason } => Some(reason.clone()),
        CallEnd::Answered {
            by: AnsweredBy::Machine,
            ..
        } => Some("an answering machine took the message".into()),
        CallEnd::Answered { seconds, .. } if u64::from(*seconds) < ended.message_seconds => Some(
            format!("hung up after {seconds} s, before the message ended"),
        ),
        CallEnd::Answered { .. } | CallEnd::Failed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(end: CallEnd) -> Ended {
        Ended {
            end,
            until_acknowledged: true,
            calls: 1,
            acknowledged: false,
            expires_at: Utc::now() + chrono::Duration::hours(6),
            message_seconds: 20,
        }
    }

    #[test]
    fn unconfirmed_calls_are_placed_again_within_the_limits() {
        let settings = Settings::default();
        let now = Utc::now();
        let person = |seconds| CallEnd::Answered {
            by: AnsweredBy::Person,
            seconds,
        };
        let busy = CallEnd::Unanswered {
            reason: "busy".into(),
        };
        assert!(again(&ended(busy.clone()), &settings, now).is_some());
        assert!(again(&ended(person(3)), &settings, now).is_some());
        assert!(again(&ended(person(45)), &settings, now).is_none());
        let machine = CallEnd::Answered {
            by: AnsweredBy::Machine,
            seconds: 45,
        };
        assert!(again(&ended(machine), &settings, now).is_some());
        let failed = CallEnd::Failed {
            reason: "no such number".into(),
        };
        assert!(again(&ended(failed), &settings, now).is_none());
        // Confirmed, not asked, the last call, or past the alert's life: no call.
        for stop in [
            Ended {
                acknowledged: true,
                ..ended(busy.clone())
            },
            Ended {
                until_acknowledged: false,
                ..ended(busy.clone())
            },
            Ended {
                calls: 3,
                ..ended(busy.clone())
            },
            Ended {
                expires_at: now + chrono::Duration::minutes(2),
                ..ended(busy.clone())
            },
        ] {
            assert!(again(&stop, &settings, now).is_none(), "{stop:?}");
        }
    }
}
