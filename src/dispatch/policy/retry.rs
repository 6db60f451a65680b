//! When a transient failure is tried again: growing delays with jitter, the provider's
//! Retry-After honoured, a bounded number of attempts, and never past the alert's deadline.
//!
//! Delays are carried out by RabbitMQ retry tiers: one queue per configured delay whose messages
//! expire after it and dead-letter back to the work exchange (README.md, "Guarantees"). A retry
//! goes to the tier of its delay, or of the Retry-After when that is longer (the smallest tier
//! that covers it); jitter shortens each message's own expiration by up to a fifth, so that the
//! thousands of messages one provider outage fails together do not all come back at once.
//!
//! Urgent alerts retry within their urgency: no wait between their attempts is longer than
//! [`URGENT_MAX_WAIT`] (the longest tier within it, a Retry-After cut to it), and their attempts
//! go on until the alert expires, whatever `max_attempts` says.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Share of a tier's delay that jitter may take off.
const JITTER: f64 = 0.2;

/// The longest wait between two attempts of an urgent alert's delivery.
pub const URGENT_MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay before the 2nd, 3rd… attempt; the last one repeats. Also the tiers' TTLs.
    pub delays: Vec<Duration>,
    /// Attempts in all, the first included, before a transient failure is given up (routine
    /// alerts only: urgent ones try until they expire).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            delays: [5, 30, 120, 600, 3600].map(Duration::from_secs).to_vec(),
            max_attempts: 6,
        }
    }
}

/// The next attempt of a delivery that failed transiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The retry tier (its TTL) the message waits in.
    pub tier: Duration,
    /// This message's own wait, jitter applied: at most the tier's TTL.
    pub wait: Duration,
    pub at: DateTime<Utc>,
}

/// Why a transient failure is not retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `max_attempts` reached (routine alerts): the delivery fails.
    Exhausted,
    /// The next attempt would come after the alert's deadline: the delivery expires.
    PastDeadline,
}

impl RetryPolicy {
    /// After the `attempt`-th attempt (1-based) failed transiently at `now`, for an alert that
    /// is `urgent` or not.
    pub fn next(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        urgent: bool,
    ) -> Result<Retry, GiveUp> {
        if self.delays.is_empty() || (!urgent && attempt >= self.max_attempts) {
            return Err(GiveUp::Exhausted);
        }
        let index = (attempt as usize)
            .saturating_sub(1)
            .min(self.delays.len() - 1);
        let mut tier = self.delays[index];
        let retry_after = match (urgent, retry_after) {
            (true, Some(asked)) => Some(asked.min(URGENT_MAX_WAIT)),
            (_, asked) => asked,
        };
        if let Some(asked) = retry_after.filter(|&asked| asked > tier) {
            tier = self.tier_covering(asked);
        }
        if urgent && tier > URGENT_MAX_WAIT {
            tier = self.urgent_tier();
        }
        let floor = retry_after.unwrap_or_default().min(tier);
        let jitter = tier.mul_f64(JITTER * rand::random::<f64>());
        let wait = tier.saturating_sub(jitter).max(floor);
        let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        if at >= deadline {
            return Err(GiveUp::PastDeadline);
        }
        Ok(Retry { tier, wait, at })
    }

    /// The longest tier an urgent alert waits in: the longest within [`URGENT_MAX_WAIT`], or the
    /// shortest when none is (the configuration refuses that).
    pub fn urgent_tier(&self) -> Duration {
        let within = self
            .delays
            .iter()
            .copied()
            .filter(|&t| t <= URGENT_MAX_WAIT);
        within
            .max()
            .or_else(|| self.delays.iter().copied().min())
            .unwrap_or(URGENT_MAX_WAIT)
    }

    /// The tier a delivery not yet due waits in again: the smallest covering what remains.
    pub fn tier_covering(&self, wait: Duration) -> Duration {
        let mut tiers = self.delays.clone();
        tiers.sort();
        tiers
            .iter()
            .copied()
            .find(|&tier| tier >= wait)
            .or(tiers.last().copied())
            .unwrap_or(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    fn in_hours(h: i64) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::hours(h)
    }

    #[test]
    fn delays_grow_with_jitter_and_the_last_repeats() {
        let p = RetryPolicy {
            max_attempts: 10,
            ..policy()
        };
        let now = Utc::now();
        for (attempt, tier) in [(1, 5), (2, 30), (3, 120), (4, 600), (5, 3600), (7, 3600)] {
            let retry = p.next(attempt, None, now, in_hours(48), false).unwrap();
            assert_eq!(retry.tier, Duration::from_secs(tier), "attempt {attempt}");
            assert!(retry.wait <= retry.tier && retry.wait >= retry.tier.mul_f64(0.8));
        }
    }

    #[test]
    fn retry_after_is_honoured_by_a_tier_that_covers_it() {
        let retry = policy()
            .next(
                1,
                Some(Duration::from_secs(20)),
                Utc::now(),
                in_hours(6),
                false,
            )
            .unwrap();
        assert_eq!(retry.tier, Duration::from_secs(30));
        assert!(retry.wait >= Duration::from_secs(20), "{retry:?}");
        // A shorter Retry-After than the delay changes nothing.
        let retry = policy()
            .next(
                2,
                Some(Duration::from_secs(1)),
                Utc::now(),
                in_hours(6),
                false,
            )
            .unwrap();
        assert_eq!(retry.tier, Duration::from_secs(30));
    }

    #[test]
    fn attempts_are_bounded_and_the_deadline_holds() {
        let p = policy();
        assert_eq!(
            p.next(6, None, Utc::now(), in_hours(6), false),
            Err(GiveUp::Exhausted)
        );
        let soon = Utc::now() + chrono::Duration::seconds(3);
        assert_eq!(
            p.next(1, None, Utc::now(), soon, false),
            Err(GiveUp::PastDeadline)
        );
    }

    /// Regression: a tenth of transient failures left recipients of an urgent alert waiting
    /// for the 10-minute tier (reached after 562 s).
    #[test]
    fn urgent_alerts_never_wait_more_than_a_minute_and_try_until_they_expire() {
        let p = policy();
        let now = Utc::now();
        for attempt in 1..=500 {
            let retry = p.next(attempt, None, now, in_hours(6), true).unwrap();
            assert!(
                retry.tier <= URGENT_MAX_WAIT,
                "attempt {attempt}: {retry:?}"
            );
            assert!(
                retry.wait <= URGENT_MAX_WAIT,
                "attempt {attempt}: {retry:?}"
            );
        }
        assert_eq!(
            p.next(4, None, now, in_hours(6), true).unwrap().tier,
            Duration::from_secs(30)
        );
        // A provider asking for longer is asked again within the minute.
        let retry = p
            .next(1, Some(Duration::from_secs(600)), now, in_hours(6), true)
            .unwrap();
        assert!(
            retry.tier <= URGENT_MAX_WAIT && retry.wait <= URGENT_MAX_WAIT,
            "{retry:?}"
        );
        // Only the deadline stops it.
        let soon = now + chrono::Duration::seconds(20);
        assert_eq!(
            p.next(1000, None, now, soon, true),
            Err(GiveUp::PastDeadline)
        );
    }
}
