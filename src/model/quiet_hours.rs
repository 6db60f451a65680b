//! Quiet hours: the part of the night (21:00–08:00 by default) when a commune sends nothing
//! routine. A reminder due inside waits for the end of the window; urgent alerts do not wait.

use std::{fmt, str::FromStr};

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::local_time::instant_of;

/// A daily window of local time, `[start, end)`, which wraps midnight when `end < start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, String> {
        if start == end {
            return Err("the window starts and ends at the same time".into());
        }
        Ok(QuietHours { start, end })
    }

    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// When something routine due at `at` may go out in `tz`: `at` itself outside the window,
    /// else the window's end (on the next morning's clock, DST included).
    pub fn release(&self, tz: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&tz).naive_local();
        if !self.contains(local.time()) {
            return at;
        }
        let ends_next_day = self.start > self.end && local.time() >= self.start;
        let day = if ends_next_day {
            local.date().succ_opt().unwrap_or(local.date())
        } else {
            local.date()
        };
        instant_of(tz, day.and_time(self.end)).unwrap_or(at).max(at)
    }
}

impl FromStr for QuietHours {
    type Err = String;

    /// `21:00-08:00`.
    fn from_str(text: &str) -> Result<Self, String> {
        let form = || format!("{text:?} is not a window such as 21:00-08:00 (or none)");
        let (start, end) = text.trim().split_once('-').ok_or_else(form)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| form());
        QuietHours::new(time(start)?, time(end)?)
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::local_time::{Moment, time_zone};

    fn release(window: &str, zone: &str, at: &str) -> String {
        let tz = time_zone(zone).unwrap();
        let window: QuietHours = window.parse().unwrap();
        window
            .release(tz, at.parse::<Moment>().unwrap().in_zone(tz).unwrap())
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string()
    }

    #[test]
    fn a_routine_alert_due_at_night_waits_for_the_morning() {
        let w = "21:00-08:00";
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-07 20:59"),
            "2026-12-07 20:59 +01:00"
        );
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-07 21:00"),
            "2026-12-08 08:00 +01:00"
        );
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-08 03:10"),
            "2026-12-08 08:00 +01:00"
        );
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-08 08:00"),
            "2026-12-08 08:00 +01:00"
        );
        // The night the clocks go forward, the morning is on summer time.
        assert_eq!(
            release(w, "Europe/Paris", "2027-03-27 22:00"),
            "2027-03-28 08:00 +02:00"
        );
        assert_eq!(
            release(w, "Indian/Reunion", "2026-12-07 23:00"),
            "2026-12-08 08:00 +04:00"
        );
    }

    #[test]
    fn a_window_inside_one_day_works_too() {
        let w = "12:00-14:00";
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-07 13:00"),
            "2026-12-07 14:00 +01:00"
        );
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-07 14:00"),
            "2026-12-07 14:00 +01:00"
        );
        assert_eq!(
            release(w, "Europe/Paris", "2026-12-07 11:59"),
            "2026-12-07 11:59 +01:00"
        );
    }

    #[test]
    fn windows_are_read_and_printed_as_written() {
        let w: QuietHours = " 21:00 - 08:00 ".parse().unwrap();
        assert_eq!(w.to_string(), "21:00-08:00");
        for bad in ["21:00", "21h-8h", "25:00-08:00", "08:00-08:00", ""] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad}");
        }
    }
}
