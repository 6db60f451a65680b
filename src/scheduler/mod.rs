//! The scheduler: turns each due occurrence of a schedule into exactly one alert.
//!
//! Every instance runs one; they need no leader. An occurrence's identity is its schedule and the
//! local wall time it stands for, and the alert is written in the same transaction as the row
//! that records that identity (`schedule_runs`, keyed by it): a second scheduler, a restart or a
//! clock running ahead finds the row and sends nothing.
//!
//! An occurrence is due when the clock passes the instant it fires (see `model::cron` for
//! daylight saving). Due within the grace window, it fires; later than that (every instance was
//! down), it is recorded as missed. When several are overdue at once, only the latest fires, the
//! others are recorded as superseded: a commune back after a night's outage sends one
//! reminder, not a burst of identical ones.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::Clock,
    dispatch::{
        pipeline::intake::{self, IntakeError},
        policy::budget,
    },
    model::{cron::Cron, cron::Occurrence, local_time},
    store::{
        self,
        schedules::{Outcome, Schedule},
    },
};

/// Schedules taken per round; the rest wait for the next one.
const SCHEDULES_PER_ROUND: i64 = 200;
/// Overdue occurrences of one schedule dealt with per round (a per-minute schedule back from a
/// week's outage has ten thousand).
const OCCURRENCES_PER_ROUND: usize = 1000;

#[derive(Debug, Clone)]
pub struct Settings {
    /// How late an occurrence may still fire.
    pub grace: Duration,
    /// How often due schedules are looked for.
    pub tick: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace: Duration::from_secs(3600),
            tick: Duration::from_secs(1),
        }
    }
}

pub struct Scheduler {
    pub db: PgPool,
    /// Woken when an alert was written, so that it leaves at once.
    pub relay: Arc<Notify>,
    pub clock: Clock,
    pub settings: Settings,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub fired: u64,
    pub missed: u64,
    pub failed: u64,
}

impl Scheduler {
    /// Runs rounds every `tick` until shutdown; a failed round (database away) is logged and
    /// the next one tries again.
    pub async fn run(&self, shutdown: &CancellationToken) {
        loop {
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "scheduler round failed; trying again");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.settings.tick) => {}
            }
        }
    }

    /// Deals with every occurrence due by now.
    pub async fn round(&self) -> Result<Round, sqlx::Error> {
        let now = self.clock.now();
        let mut round = Round::default();
        for schedule in store::schedules::due(&self.db, now, SCHEDULES_PER_ROUND).await? {
            self.catch_up(&schedule, now, &mut round).await?;
        }
        if round.fired > 0 {
            self.relay.notify_one();
        }
        Ok(round)
    }

    async fn catch_up(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
        round: &mut Round,
    ) -> Result<(), sqlx::Error> {
        let (cron, tz) = match (
            schedule.cron.parse::<Cron>(),
            local_time::time_zone(&schedule.time_zone),
        ) {
            (Ok(cron), Ok(tz)) => (cron, tz),
            // Both were checked when it was made; only a changed rule could bring this.
            (cron, tz) => {
                tracing::error!(schedule = %schedule.id, ?cron, ?tz, "schedule cannot be read");
                return Ok(());
            }
        };
        let due: Vec<Occurrence> = cron
            .occurrences_after(tz, schedule.considered_until)
            .take_while(|o| o.at <= now)
            .take(OCCURRENCES_PER_ROUND)
            .collect();
        for (i, occurrence) in due.iter().enumerate() {
            let next_at = match due.get(i + 1) {
                Some(next) => Some(next.at),
                None => cron
                    .occurrences_after(tz, occurrence.at)
                    .next()
                    .map(|o| o.at),
            };
            let late = (now - occurrence.at).to_std().unwrap_or_default();
            let verdict = if late > self.settings.grace {
                Verdict::Missed(format!(
                    "due {} ago, beyond the grace window of {}",
                    minutes(late),
                    minutes(self.settings.grace)
                ))
            } else if next_at.is_some_and(|next| next <= now) {
                Verdict::Missed("superseded by a later occurrence, sent instead".into())
            } else {
                Verdict::Fire
            };
            match self
                .settle(schedule, occurrence, next_at, verdict, now)
                .await?
            {
                Some(Outcome::Fired) => round.fired += 1,
                Some(Outcome::Missed) => round.missed += 1,
                Some(Outcome::Failed) => round.failed += 1,
                None => {}
            }
        }
        Ok(())
    }

    /// Records the occurrence with its verdict, writing its alert if it fires, and moves the
    /// schedule past it; all in one transaction. `None` when it was already recorded.
    async fn settle(
        &self,
        schedule: &Schedule,
        occurrence: &Occurrence,
        next_at: Option<DateTime<Utc>>,
        verdict: Verdict,
        now: DateTime<Utc>,
    ) -> Result<Option<Outcome>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let (outcome, reason) = match &verdict {
            Verdict::Fire => (Outcome::Fired, None),
            Verdict::Missed(reason) => (Outcome::Missed, Some(reason.as_str())),
        };
        let claimed = store::schedules::claim(
            &mut tx,
            schedule.id,
            occurrence.local,
            occurrence.at,
            outcome,
            reason,
        )
        .await?;
        let mut settled = claimed.then_some(outcome);
        if claimed && verdict == Verdict::Fire {
            match self.write_alert(&mut tx, schedule, now).await {
                Ok(alert) => {
                    store::schedules::set_alert(&mut tx, schedule.id, occurrence.local, alert)
                        .await?;
                    tracing::info!(schedule = %schedule.id, occurrence = %occurrence.local,
                        %alert, "schedule fired");
                }
                Err(IntakeError::Db(error)) => return Err(error),
                Err(error) => {
                    // Record why instead of trying again every round: the next occurrence is
                    // another chance, and the operator sees the reason in the runs.
                    tx.rollback().await?;
                    tx = self.db.begin().await?;
                    let reason = error.to_string();
                    let recorded = store::schedules::claim(
                        &mut tx,
                        schedule.id,
                        occurrence.local,
                        occurrence.at,
                        Outcome::Failed,
                        Some(&reason),
                    )
                    .await?;
                    tracing::warn!(schedule = %schedule.id, occurrence = %occurrence.local,
                        %reason, "schedule could not send");
                    settled = recorded.then_some(Outcome::Failed);
                }
            }
        } else if claimed {
            tracing::warn!(schedule = %schedule.id, occurrence = %occurrence.local,
                reason = reason.unwrap_or_default(), "schedule occurrence missed");
        }
        store::schedules::advance(&mut tx, schedule.id, occurrence.at, next_at).await?;
        tx.commit().await?;
        Ok(settled)
    }

    async fn write_alert(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<crate::model::AlertId, IntakeError> {
        let alert = schedule
            .alert
            .validate()
            .map_err(|e| IntakeError::Invalid {
                field: e.field,
                message: e.message,
            })?;
        let part = (schedule.tenant_id, schedule.topic_id);
        let hold = budget::hold(tx, &[part], &alert).await?;
        let written = intake::write(tx, part.0, part.1, &alert, None, None, now)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        if let Some(hold) = hold {
            hold.keep(tx, part.0, written.id).await?;
        }
        Ok(written.id)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Fire,
    Missed(String),
}

fn minutes(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h", minutes / 60)
    }
}
