//! Five-field cron expressions, as in a crontab (minute hour day-of-month month day-of-week),
//! and their occurrences on a commune's local clock.
//!
//! Not the `cron` crate: it speaks the Quartz dialect (seconds first, day-of-week 1 = Sunday), and
//! in a time zone it skips wall times of the spring gap and yields autumn's repeated hour twice.
//! Here an occurrence has an identity, the local wall time it is scheduled for, and fires once:
//! - in the autumn overlap (Europe/Paris, last Sunday of October, 02:00–02:59 twice), at the first
//!   of the two instants (so an every-15-minutes schedule is silent during the repeated hour);
//! - in the spring gap (last Sunday of March, 02:00–02:59 do not exist), at the first instant
//!   after the gap (03:00 in Paris), as cronie and systemd timers do, rather than not at all: a
//!   reminder late by an hour beats a reminder lost. Occurrences that would fire at one instant
//!   (02:00 and 02:30 both moved to 03:00, or 02:30 moved onto a real 03:00) fire once.
//!
//! A day matches as in Vixie cron: when both day-of-month and day-of-week are restricted, either
//! may match; when one is `*`, only the other counts.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;

use super::local_time::instant_of;

/// How far ahead an expression is searched before it is judged never to fire (30 February).
const SEARCH_YEARS: i32 = 8;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Why an expression was refused: the field at fault, in words, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct CronError {
    pub field: &'static str,
    pub problem: String,
}

/// A parsed expression: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    any_day_of_month: bool,
    any_day_of_week: bool,
}

/// One firing: the local wall time it stands for (its identity) and when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub local: NaiveDateTime,
    pub at: DateTime<Utc>,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The first name stands for this value (`jan` = 1, `sun` = 0).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too, as in crontab(5).
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Field {
    fn value(&self, text: &str) -> Result<u32, CronError> {
        let lower = text.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|&n| n == lower) {
            return Ok(self.names_from + i as u32);
        }
        let value: u32 = text
            .parse()
            .map_err(|_| self.error(format!("{text:?} is not a value")))?;
        if !(self.min..=self.max).contains(&value) {
            return Err(self.error(format!("{value} is outside {}–{}", self.min, self.max)));
        }
        Ok(value)
    }

    fn error(&self, problem: String) -> CronError {
        CronError {
            field: self.name,
            problem,
        }
    }

    /// The allowed values as a bit set, and whether the field was `*`.
    fn parse(&self, text: &str) -> Result<(u64, bool), CronError> {
        let mut bits = 0u64;
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                        self.error(format!("step {step:?} must be a number above 0"))
                    })?;
                    (range, step)
                }
                None => (item, 1),
            };
            let (low, high) = match range {
                "*" => (self.min, self.max),
                _ => match range.split_once('-') {
                    Some((a, b)) => (self.value(a)?, self.value(b)?),
                    // `5/15` means from 5 to the end, every 15.
                    None if item.contains('/') => (self.value(range)?, self.max),
                    None => {
                        let v = self.value(range)?;
                        (v, v)
                    }
                },
            };
            if low > high {
                return Err(self.error(format!("range {range:?} runs backwards")));
            }
            for v in (low..=high).step_by(step as usize) {
                bits |= 1 << v;
            }
        }
        Ok((bits, text == "*"))
    }
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Self, CronError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError {
                field: "expression",
                problem: format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                    parts.len()
                ),
            });
        }
        let mut parsed = [(0u64, false); 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            parsed[i] = field.parse(part)?;
        }
        let weekdays = parsed[4].0;
        // Sunday may be written 0 or 7.
        let weekdays = ((weekdays | (weekdays >> 7)) & 0x7f) as u8;
        Ok(Cron {
            text: parts.join(" "),
            minutes: parsed[0].0,
            hours: parsed[1].0 as u32,
            days: parsed[2].0 as u32,
            months: parsed[3].0 as u16,
            weekdays,
            any_day_of_month: parsed[2].1,
            any_day_of_week: parsed[4].1,
        })
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Cron {
    fn day_matches(&self, day: NaiveDate) -> bool {
        if self.months & (1 << day.month()) == 0 {
            return false;
        }
        let by_date = self.days & (1 << day.day()) != 0;
        let by_weekday = self.weekdays & (1 << day.weekday().num_days_from_sunday()) != 0;
        match (self.any_day_of_month, self.any_day_of_week) {
            (true, true) => true,
            (true, false) => by_weekday,
            (false, true) => by_date,
            (false, false) => by_date || by_weekday,
        }
    }

    /// The local wall times it names, from `from` (included) on, in order.
    fn local_times(&self, from: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
        let last = from.date().with_year(from.year() + SEARCH_YEARS);
        from.date()
            .iter_days()
            .take_while(move |&day| Some(day) <= last)
            .filter(|&day| self.day_matches(day))
            .flat_map(move |day| {
                (0..24u32)
                    .filter(|h| self.hours & (1 << h) != 0)
                    .flat_map(move |h| {
                        (0..60u32)
                            .filter(|m| self.minutes & (1 << m) != 0)
                            .map(move |m| day.and_hms_opt(h, m, 0).expect("a valid time"))
                    })
            })
            .filter(move |&t| t >= from)
    }

    /// Its occurrences in `tz` that fire after `after`, in order (see the module for DST).
    pub fn occurrences_after(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
    ) -> impl Iterator<Item = Occurrence> + '_ {
        // Start one hour early on the local clock: in the autumn overlap, `after` may be in the
        // second pass of an hour whose wall times were already seen; `at > after` sorts it out.
        let from = after.with_timezone(&tz).naive_local() - Duration::hours(1);
        let from = from
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(from);
        let mut last_fired: Option<DateTime<Utc>> = None;
        self.local_times(from).filter_map(move |local| {
            let at = instant_of(tz, local)?;
            if at <= after || last_fired.is_some_and(|last| at <= last) {
                return None;
            }
            last_fired = Some(at);
            Some(Occurrence { local, at })
        })
    }
}

impl Cron {
    /// The repetition in French, for the mairie's console ("chaque lundi à 19 h", "le 1er du
    /// mois à 9 h"): the usual shapes, one time a day; `None` for anything else (the console
    /// then shows the expression and the next occurrences only).
    pub fn in_french(&self) -> Option<String> {
        let single = |bits: u64| (bits.count_ones() == 1).then(|| bits.trailing_zeros());
        let minute = single(self.minutes)?;
        let hour = single(u64::from(self.hours))?;
        let at = if minute == 0 {
            format!("à {hour} h")
        } else {
            format!("à {hour} h {minute:02}")
        };
        let every_month = self.months == ALL_MONTHS;
        let days = |bits: u32| (1..=31).filter(move |d| bits & (1 << d) != 0);
        let day = |d: u32| {
            if d == 1 {
                "1er".to_string()
            } else {
                d.to_string()
            }
        };
        match (self.any_day_of_month, self.any_day_of_week) {
            (true, true) if every_month => Some(format!("chaque jour {at}")),
            (true, false) if every_month => {
                let names: Vec<&str> = (0..7)
                    .filter(|d| self.weekdays & (1 << d) != 0)
                    // cron counts from Sunday, the French week from Monday.
                    .map(|d| super::french::WEEKDAYS[(d + 6) % 7])
                    .collect();
                let on = match names.as_slice() {
                    ["lundi", "mardi", "mercredi", "jeudi", "vendredi"] => {
                        "du lundi au vendredi".to_string()
                    }
                    [one] => format!("chaque {one}"),
                    [init @ .., last] => format!("chaque {} et {last}", init.join(", ")),
                    [] => return None,
                };
                Some(format!("{on} {at}"))
            }
            (false, true) => {
                let dates: Vec<String> = days(self.days).map(day).collect();
                let dates = match dates.as_slice() {
                    [one] => one.clone(),
                    [init @ .., last] => format!("{} et {last}", init.join(", ")),
                    [] => return None,
                };
                if every_month {
                    return Some(format!("le {dates} du mois {at}"));
                }
                let month = single(u64::from(self.months))?;
                Some(format!(
                    "chaque année le {dates} {} {at}",
                    super::french::MONTHS[month as usize - 1]
                ))
            }
            _ => None,
        }
    }
}

/// Months 1 to 12 as bits.
const ALL_MONTHS: u16 = 0b1_1111_1111_1110;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::local_time::time_zone;

    fn cron(text: &str) -> Cron {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The next `n` firings as RFC 3339 in the zone, as `tocsin schedule next` shows them.
    fn next(expr: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
        let tz = time_zone(zone).unwrap();
        cron(expr)
            .occurrences_after(tz, utc(after))
            .take(n)
            .map(|o| o.at.with_timezone(&tz).to_rfc3339())
            .collect()
    }

    #[test]
    fn the_usual_forms_are_read() {
        for text in [
            "0 19 * * MON",
            "*/15 * * * *",
            "0 8-18/2 * * mon-fri",
            "30 7 1,15 * *",
            "0 9 * sep *",
            "0 0 * * 7",
            "5/20 * * * *",
        ] {
            cron(text);
        }
        assert_eq!(
            cron("0 0 * * 7").weekdays,
            cron("0 0 * * 0").weekdays,
            "7 is Sunday too"
        );
    }

    #[test]
    fn faults_name_their_field() {
        let err = |text: &str| text.parse::<Cron>().unwrap_err();
        assert_eq!(err("0 19 * *").field, "expression");
        assert_eq!(err("60 19 * * *").field, "minute");
        assert_eq!(err("0 24 * * *").field, "hour");
        assert_eq!(err("0 0 0 * *").field, "day of month");
        assert_eq!(err("0 0 * 13 *").field, "month");
        assert_eq!(err("0 0 * * lundi").field, "day of week");
        assert_eq!(
            err("0 0 * * fri-mon").problem,
            "range \"fri-mon\" runs backwards"
        );
        assert_eq!(err("*/0 * * * *").field, "minute");
    }

    #[test]
    fn a_weekly_reminder_keeps_its_local_hour_across_the_seasons() {
        assert_eq!(
            next("0 19 * * MON", "Europe/Paris", "2026-10-18T12:00:00Z", 3),
            [
                "2026-10-19T19:00:00+02:00",
                "2026-10-26T19:00:00+01:00",
                "2026-11-02T19:00:00+01:00",
            ]
        );
    }

    #[test]
    fn in_the_spring_gap_an_occurrence_fires_when_the_clock_jumps() {
        // 28 March 2027: Paris goes from 02:00 to 03:00.
        assert_eq!(
            next("30 2 * * *", "Europe/Paris", "2027-03-26T12:00:00Z", 3),
            [
                "2027-03-27T02:30:00+01:00",
                "2027-03-28T03:00:00+02:00",
                "2027-03-29T02:30:00+02:00",
            ]
        );
        // 02:00 and 02:30 both land on 03:00, where a real 03:00 stands too: one firing.
        assert_eq!(
            next("0,30 2-3 * * *", "Europe/Paris", "2027-03-28T00:00:00Z", 3),
            [
                "2027-03-28T03:00:00+02:00",
                "2027-03-28T03:30:00+02:00",
                "2027-03-29T02:00:00+02:00",
            ]
        );
    }

    #[test]
    fn in_the_autumn_overlap_an_occurrence_fires_once() {
        // 25 October 2026: Paris lives 02:00–02:59 twice.
        assert_eq!(
            next("30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        // Asked from inside the second pass of the hour, the first firing is not repeated.
        assert_eq!(
            next("30 2 * * *", "Europe/Paris", "2026-10-25T01:10:00Z", 1),
            ["2026-10-26T02:30:00+01:00"]
        );
        // Every wall time fires once: the repeated 02:00–02:45 do not fire again.
        let every_quarter: Vec<String> =
            next("*/15 * * * *", "Europe/Paris", "2026-10-24T23:50:00Z", 5);
        assert_eq!(every_quarter[0], "2026-10-25T02:00:00+02:00");
        assert_eq!(every_quarter[3], "2026-10-25T02:45:00+02:00");
        assert_eq!(
            every_quarter[4], "2026-10-25T03:00:00+01:00",
            "{every_quarter:?}"
        );
    }

    #[test]
    fn overseas_communes_keep_their_own_clock() {
        assert_eq!(
            next("0 7 * * *", "Indian/Reunion", "2026-12-01T00:00:00Z", 1),
            ["2026-12-01T07:00:00+04:00"]
        );
        assert_eq!(
            next("0 7 * * *", "Pacific/Noumea", "2026-12-01T00:00:00Z", 1),
            ["2026-12-02T07:00:00+11:00"]
        );
        assert!(time_zone("Europe/Pari").is_err());
    }

    #[test]
    fn day_of_month_and_day_of_week_either_match_when_both_are_given() {
        assert_eq!(
            next("0 9 1 * MON", "Europe/Paris", "2026-11-29T12:00:00Z", 3),
            [
                "2026-11-30T09:00:00+01:00",
                "2026-12-01T09:00:00+01:00",
                "2026-12-07T09:00:00+01:00",
            ]
        );
    }

    #[test]
    fn an_expression_that_never_fires_ends() {
        let tz = time_zone("Europe/Paris").unwrap();
        assert!(
            cron("0 0 30 2 *")
                .occurrences_after(tz, utc("2026-01-01T00:00:00Z"))
                .next()
                .is_none()
        );
    }

    #[test]
    fn the_usual_repetitions_read_in_french() {
        let french = |text: &str| text.parse::<Cron>().unwrap().in_french();
        for (cron, said) in [
            ("0 19 * * MON", "chaque lundi à 19 h"),
            ("0 9 1 * *", "le 1er du mois à 9 h"),
            ("30 7 * * *", "chaque jour à 7 h 30"),
            ("0 18 * * 1-5", "du lundi au vendredi à 18 h"),
            ("5 20 * * 1,4", "chaque lundi et jeudi à 20 h 05"),
            ("0 8 * * 0", "chaque dimanche à 8 h"),
            ("0 8 * * 7", "chaque dimanche à 8 h"),
            ("0 10 1,15 * *", "le 1er et 15 du mois à 10 h"),
            ("0 11 14 7 *", "chaque année le 14 juillet à 11 h"),
        ] {
            assert_eq!(french(cron).as_deref(), Some(said), "{cron}");
        }
        for unusual in ["*/15 * * * *", "0 9,18 * * *", "0 9 1 * MON", "0 9 * 1-3 *"] {
            assert_eq!(french(unusual), None, "{unusual}");
        }
    }
}
