//! The time the daemon goes by: the system's, or in tests a manual clock that they move, so that
//! whole days (both daylight saving nights included) pass in seconds. The scheduler and the
//! outbox relay read it; timestamps the database writes itself (`now()`) stay real.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

#[derive(Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(ManualClock),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(clock) => clock.now(),
        }
    }
}

/// A clock that stands still until it is moved.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl From<ManualClock> for Clock {
    fn from(clock: ManualClock) -> Self {
        Clock::Manual(clock)
    }
}
