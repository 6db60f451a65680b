//! Provider accounts' limits: a rate (messages per second) that holds across every running
//! instance, and a cap on concurrent requests per instance, with urgent alerts first.
//!
//! The rate is a token bucket in PostgreSQL (store::rates), chosen over RabbitMQ's
//! single-active-consumer because it leaves every instance sending (one consumer per account
//! would cap an account at one instance's throughput and stall it during a failover), needs no
//! extra queue per account, and measures exactly what providers count: requests per second.
//!
//! A provider counts over any one second, and answers 429 above its limit. So the bucket is
//! refilled at [`pace`] of the configured rate, holds at most `BURST_SECONDS` of it (two tokens at
//! least, so that a grab a little late loses nothing), and an instance takes at most
//! `BLOCK_SECONDS` of it at once: in any one second, what was in the bucket, what an instance
//! held and what was refilled add up to at most (0.98 + 0.015 + 0.005) of the rate, whatever the
//! number of instances. Below 150 per second the floors (two tokens in the bucket, one in a
//! block) outweigh those shares, and the bucket is refilled at 97 % instead: below 100 per
//! second the floors may add a message or two. (A bucket of a fifth of a second, as before, let
//! 1.2–1.4 times the rate through in the first second: 429s from a provider that counts
//! strictly.) Cost: one row-locking UPDATE per block, up to 200 per second per account at full
//! speed.
//!
//! Urgent first: an urgent request marks the bucket, and for the next second routine requests
//! get no tokens, so a routine campaign already running gives way while an urgent alert goes out
//! and resumes after. Connections: routine sends may hold at most three quarters of the
//! account's slots; the last quarter is only ever taken by urgent sends, which therefore never
//! wait behind routine ones.

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::{model::Lane, store};

/// How long routine sends give way after an urgent one asked for tokens, in milliseconds.
const URGENT_YIELD_MS: i64 = 1000;
/// The bucket holds at most this many seconds' worth of tokens (two at least).
const BURST_SECONDS: f64 = 0.015;
/// An instance takes at most this many seconds' worth of tokens at once (one at least).
const BLOCK_SECONDS: f64 = 0.005;
/// The share of the configured rate the bucket is refilled at (see the module's comment): 98 %
/// from 150 a second, where the bucket and a block hold 2 % of the rate, 97 % below, where
/// their floors of three tokens weigh more (98 % at 40 a second would let 42 through in a
/// second, 97 % lets 41).
fn pace(per_second: f64) -> f64 {
    if per_second >= 150.0 { 0.98 } else { 0.97 }
}

/// The most requests one instance may send in any one second at `per_second`: what the bucket
/// holds, a block taken, and what is refilled within the second (see the module's comment).
/// Below 100 a second the floors (two tokens in the bucket, one in a block) add up to two.
pub fn most_in_one_second(per_second: f64) -> u64 {
    let rate = per_second * pace(per_second);
    let burst = (rate * BURST_SECONDS).max(2.0);
    let block = (rate * BLOCK_SECONDS).floor().max(1.0);
    (rate + burst + block).floor() as u64
}

/// One account's limits, as configured (`[limits.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLimit {
    /// Messages per second across every instance; none when absent.
    pub per_second: Option<f64>,
    /// Requests in flight at once, per instance. Default 256.
    #[serde(default = "default_concurrency")]
    pub concurrency: u16,
}

/// High enough not to throttle what the senders already bound (`sender_concurrency` ×
/// `sends_per_batch` per lane and queue); set it to what the provider allows.
const fn default_concurrency() -> u16 {
    256
}

impl Default for AccountLimit {
    fn default() -> Self {
        AccountLimit {
            per_second: None,
            concurrency: default_concurrency(),
        }
    }
}

/// Every account's limiter, by provider name.
#[derive(Clone, Default)]
pub struct Limits {
    accounts: HashMap<String, Arc<AccountLimiter>>,
}

impl Limits {
    pub fn new(db: &PgPool, configured: &HashMap<String, AccountLimit>, names: &[&str]) -> Self {
        let accounts = names
            .iter()
            .map(|&name| {
                let limit = configured.get(name).copied().unwrap_or_default();
                let limiter = AccountLimiter::new(db.clone(), name, limit);
                (name.to_string(), Arc::new(limiter))
            })
            .collect();
        Limits { accounts }
    }

    /// The limiter of `account`; an unknown account is not limited.
    pub fn of(&self, account: &str) -> Arc<AccountLimiter> {
        self.accounts
            .get(account)
            .cloned()
            .unwrap_or_else(|| Arc::new(AccountLimiter::unlimited(account)))
    }
}

pub struct AccountLimiter {
    name: String,
    db: Option<PgPool>,
    rate: Option<f64>,
    /// All slots, and the routine sends' share of them.
    slots: Arc<Semaphore>,
    routine_slots: Arc<Semaphore>,
    /// Tokens this instance holds, per lane (urgent, routine).
    held: [Mutex<u32>; 2],
}

/// Held while a request to the provider is in flight.
pub struct Slot {
    _all: OwnedSemaphorePermit,
    _routine: Option<OwnedSemaphorePermit>,
}

impl AccountLimiter {
    fn new(db: PgPool, name: &str, limit: AccountLimit) -> Self {
        let all = usize::from(limit.concurrency.max(1));
        let reserved = all.div_ceil(4).min(all - 1);
        AccountLimiter {
            name: name.to_string(),
            db: Some(db),
            rate: limit.per_second.filter(|r| *r > 0.0).map(|r| r * pace(r)),
            slots: Arc::new(Semaphore::new(all)),
            routine_slots: Arc::new(Semaphore::new((all - reserved).max(1))),
            held: [Mutex::new(0), Mutex::new(0)],
        }
    }

    fn unlimited(name: &str) -> Self {
        AccountLimiter {
            name: name.to_string(),
            db: None,
            rate: None,
            slots: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            routine_slots: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            held: [Mutex::new(0), Mutex::new(0)],
        }
    }

    /// A connection slot for one request of `lane`.
    pub async fn slot(&self, lane: Lane) -> Slot {
        let routine = match lane {
            Lane::Urgent => None,
            Lane::Bulk => Some(
                self.routine_slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed"),
            ),
        };
        let all = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        Slot {
            _all: all,
            _routine: routine,
        }
    }

    /// Waits for one token of the account's rate; returns how long it waited.
    pub async fn token(&self, lane: Lane) -> Duration {
        let (Some(rate), Some(db)) = (self.rate, &self.db) else {
            return Duration::ZERO;
        };
        let started = tokio::time::Instant::now();
        let urgent = lane == Lane::Urgent;
        let mut held = self.held[usize::from(!urgent)].lock().await;
        loop {
            if *held > 0 {
                *held -= 1;
                return started.elapsed();
            }
            let burst = (rate * BURST_SECONDS).max(2.0);
            let want = (rate * BLOCK_SECONDS).floor().max(1.0) as u32;
            let pause = match store::rates::take(
                db,
                &self.name,
                rate,
                burst,
                want,
                urgent,
                URGENT_YIELD_MS,
            )
            .await
            {
                Ok(granted) if granted.tokens > 0 => {
                    *held = granted.tokens;
                    continue;
                }
                // Empty: wait for the next whole token; closed to routine: wait a while.
                Ok(granted) if granted.open => {
                    Duration::from_secs_f64(((1.0 - granted.left) / rate).clamp(0.001, 1.0))
                }
                Ok(_) => Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(%error, account = self.name, "rate bucket unreachable");
                    Duration::from_millis(500)
                }
            };
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_second_holds_more_than_the_rate_from_100_a_second_nor_two_more_below() {
        for per_second in 1..=2_000_u32 {
            let most = most_in_one_second(f64::from(per_second));
            let allowed = if per_second >= 100 {
                per_second
            } else {
                per_second + 2
            };
            assert!(
                most <= u64::from(allowed),
                "{most} in one second at {per_second}/s"
            );
        }
        // The pool's accounts at 200/s: 98 % refilled, 2.9 in the bucket, a block of one.
        assert_eq!(most_in_one_second(200.0), 199);
        assert_eq!(most_in_one_second(40.0), 41);
    }
}
