//! Provider accounts' health, as this instance sees it: the share of sends that failed
//! transiently (errors, timeouts) over a sliding window. A tenant with a secondary SMS account
//! has its new sends go there while its primary is failing, and back once it recovers: while
//! failing, one batch in `probe_one_in` still goes to the primary, whose outcomes tell when.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::Deserialize;

/// `[failover]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverSettings {
    /// Share of transient failures (0 to 1) over the window above which an account is failing.
    pub failure_share: f64,
    /// The sliding window, in seconds.
    pub window_s: u64,
    /// Fewest sends in the window before an account can be judged.
    pub min_samples: usize,
    /// While failing over, one batch in this many still goes to the primary, to see it recover.
    pub probe_one_in: u64,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings {
            failure_share: 0.5,
            window_s: 60,
            min_samples: 20,
            probe_one_in: 10,
        }
    }
}

/// Outcomes are counted in slices of this length: at thousands of sends a second, keeping each
/// one and counting the window at every send cost a third of the daemon's CPU (perf).
const SLICE: Duration = Duration::from_millis(100);

/// Sends that ended within one slice, from `start`.
struct Slice {
    start: Instant,
    sends: usize,
    failed: usize,
}

#[derive(Default)]
struct Account {
    /// The window's slices, oldest first, and their sums.
    slices: VecDeque<Slice>,
    sends: usize,
    failed: usize,
    failing: bool,
    batches: u64,
}

pub struct Health {
    settings: FailoverSettings,
    accounts: Mutex<HashMap<String, Account>>,
}

impl Health {
    pub fn new(settings: FailoverSettings) -> Self {
        Health {
            settings,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one send's outcome on `account`, logging when it starts or stops failing.
    pub fn record(&self, account: &str, failed_transiently: bool) {
        let now = Instant::now();
        let window = Duration::from_secs(self.settings.window_s);
        let mut accounts = self.accounts.lock().expect("health lock");
        let state = accounts.entry(account.to_string()).or_default();
        let failure = usize::from(failed_transiently);
        match state.slices.back_mut() {
            Some(slice) if now.duration_since(slice.start) < SLICE => {
                slice.sends += 1;
                slice.failed += failure;
            }
            _ => state.slices.push_back(Slice {
                start: now,
                sends: 1,
                failed: failure,
            }),
        }
        state.sends += 1;
        state.failed += failure;
        while let Some(old) = state.slices.front()
            && now.duration_since(old.start) > window
        {
            state.sends -= old.sends;
            state.failed -= old.failed;
            state.slices.pop_front();
        }
        let (total, failed) = (state.sends, state.failed);
        let failing = total >= self.settings.min_samples
            && failed as f64 >= self.settings.failure_share * total as f64;
        if failing != state.failing {
            state.failing = failing;
            if failing {
                tracing::warn!(%account, failed, total,
                    "SMS account failing: tenants with a secondary account switch to it");
            } else {
                tracing::info!(%account, failed, total,
                    "SMS account recovered: tenants switch back to it");
            }
        }
    }

    /// Whether a batch for `primary` should go to the secondary instead: the primary is failing
    /// and this is not one of the batches that probe it.
    pub fn divert(&self, primary: &str) -> bool {
        let mut accounts = self.accounts.lock().expect("health lock");
        let Some(state) = accounts.get_mut(primary) else {
            return false;
        };
        if !state.failing {
            return false;
        }
        state.batches += 1;
        state.batches % self.settings.probe_one_in.max(1) != 0
    }

    pub fn failing(&self, account: &str) -> bool {
        let accounts = self.accounts.lock().expect("health lock");
        accounts.get(account).is_some_and(|a| a.failing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new(FailoverSettings {
            failure_share: 0.5,
            window_s: 60,
            min_samples: 4,
            probe_one_in: 3,
        })
    }

    #[test]
    fn an_account_fails_past_the_share_and_recovers_below_it() {
        let h = health();
        for _ in 0..3 {
            h.record("a", true);
        }
        assert!(!h.failing("a"), "too few samples to judge");
        h.record("a", true);
        assert!(h.failing("a"));
        // Probing: one batch in three still goes to the failing primary.
        let diverted: Vec<bool> = (0..6).map(|_| h.divert("a")).collect();
        assert_eq!(diverted, [true, true, false, true, true, false]);
        for _ in 0..5 {
            h.record("a", false);
        }
        assert!(!h.failing("a"), "4 failures in 9 is below half");
        assert!(!h.divert("a"));
        assert!(!h.divert("unknown"));
    }

    #[test]
    fn outcomes_older_than_the_window_no_longer_count() {
        let h = Health::new(FailoverSettings {
            window_s: 1,
            min_samples: 4,
            ..health().settings
        });
        for _ in 0..4 {
            h.record("a", true);
        }
        assert!(h.failing("a"));
        std::thread::sleep(Duration::from_millis(1100));
        for _ in 0..4 {
            h.record("a", false);
        }
        assert!(!h.failing("a"), "the failures left the window");
        let accounts = h.accounts.lock().unwrap();
        assert_eq!((accounts["a"].sends, accounts["a"].failed), (4, 0));
    }
}
