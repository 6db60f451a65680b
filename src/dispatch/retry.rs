//! When a transient failure is tried again: growing delays with jitter, the provider's
//! Retry-After honoured, a bounded number of attempts, and never past the alert's deadline.
//!
//! Delays are carried out by RabbitMQ retry tiers: one queue per configured delay whose messages
//! expire after it and dead-letter back to the work exchange (README.md, "Guarantees"). A retry
//! goes to the tier of its delay, or of the Retry-After when that is longer (the smallest tier
//! that covers it); jitter shortens each message's own expiration by up to a fifth, so that the
//! thousands of messages one provider outage fails together do not all come back at once.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Share of a tier's delay that jitter may take off.
const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay before the 2nd, 3rd… attempt; the last one repeats. Also the tiers' TTLs.
    pub delays: Vec<Duration>,
    /// Attempts in all, the first included, before a transient failure is given up.
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
    /// `max_attempts` reached: the delivery fails.
    Exhausted,
    /// The next attempt would come after the alert's deadline: the delivery expires.
    PastDeadline,
}

impl RetryPolicy {
    /// After the `attempt`-th attempt (1-based) failed transiently at `now`.
    pub fn next(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<Retry, GiveUp> {
        if attempt >= self.max_attempts || self.delays.is_empty() {
            return Err(GiveUp::Exhausted);
        }
        let index = (attempt as usize)
            .saturating_sub(1)
            .min(self.delays.len() - 1);
        let mut tier = self.delays[index];
        if let Some(asked) = retry_after.filter(|&asked| asked > tier) {
            tier = self.tier_covering(asked);
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
            let retry = p.next(attempt, None, now, in_hours(48)).unwrap();
            assert_eq!(retry.tier, Duration::from_secs(tier), "attempt {attempt}");
            assert!(retry.wait <= retry.tier && retry.wait >= retry.tier.mul_f64(0.8));
        }
    }

    #[test]
    fn retry_after_is_honoured_by_a_tier_that_covers_it() {
        let retry = policy()
            .next(1, Some(Duration::from_secs(20)), Utc::now(), in_hours(6))
            .unwrap();
        assert_eq!(retry.tier, Duration::from_secs(30));
        assert!(retry.wait >= Duration::from_secs(20), "{retry:?}");
        // A shorter Retry-After than the delay changes nothing.
        let retry = policy()
            .next(2, Some(Duration::from_secs(1)), Utc::now(), in_hours(6))
            .unwrap();
        assert_eq!(retry.tier, Duration::from_secs(30));
    }

    #[test]
    fn attempts_are_bounded_and_the_deadline_holds() {
        let p = policy();
        assert_eq!(
            p.next(6, None, Utc::now(), in_hours(6)),
            Err(GiveUp::Exhausted)
        );
        let soon = Utc::now() + chrono::Duration::seconds(3);
        assert_eq!(p.next(1, None, Utc::now(), soon), Err(GiveUp::PastDeadline));
    }
}
