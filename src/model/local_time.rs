//! Wall-clock times in a commune's time zone: which zone, which instant a local time stands for
//! across daylight saving changes, and the local forms people type (`2026-12-01 07:00`).

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A time zone by its IANA name (`Europe/Paris`, `Indian/Reunion`, `Pacific/Noumea`).
pub fn time_zone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone {name:?}; use an IANA name such as Europe/Paris"))
}

/// The instant a local wall time stands for: its only instant, the first of two (autumn
/// overlap), or the first instant after the gap it falls in (spring: 02:30 in Paris is 03:00).
pub fn instant_of(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => (1..=180).find_map(|minutes| {
            match tz.from_local_datetime(&(local + Duration::minutes(minutes))) {
                // The first wall time that exists is where the clock jumped to.
                LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
                LocalResult::None => None,
            }
        }),
    }
}

/// A moment as a person or a script writes it: RFC 3339 with its offset
/// (`2026-12-01T07:00:00+01:00`), or a local time of the commune (`2026-12-01 07:00`,
/// `2026-12-01T07:00`, with or without seconds), which needs its time zone to become an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Absolute(DateTime<Utc>),
    Local(NaiveDateTime),
}

impl std::str::FromStr for Moment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(Moment::Absolute(t.with_timezone(&Utc)));
        }
        [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(Moment::Local)
        .ok_or_else(|| {
            format!(
                "{text:?} is not a time: write it as 2026-12-01 07:00 (the commune's local \
                     time) or 2026-12-01T07:00:00+01:00"
            )
        })
    }
}

impl Moment {
    /// The instant, a local time being read on `tz`'s clock.
    pub fn in_zone(self, tz: Tz) -> Result<DateTime<Utc>, String> {
        let local = match self {
            Moment::Absolute(t) => return Ok(t),
            Moment::Local(local) => local,
        };
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            // Said the way a person says it: the first time the clock shows it.
            LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
            LocalResult::None => Err(format!(
                "{} does not exist in {tz}: the clock skips that hour that night",
                local.format("%Y-%m-%d %H:%M")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_moment(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
        text.parse::<Moment>()?.in_zone(tz)
    }

    #[test]
    fn local_and_offset_forms_are_read() {
        let paris = time_zone("Europe/Paris").unwrap();
        let expected = "2026-12-01T06:00:00Z";
        for text in [
            "2026-12-01 07:00",
            "2026-12-01T07:00",
            " 2026-12-01 07:00:00 ",
            "2026-12-01T07:00:00+01:00",
            "2026-12-01T06:00:00Z",
        ] {
            assert_eq!(
                parse_moment(text, paris)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{text}"
            );
        }
        let reunion = time_zone("Indian/Reunion").unwrap();
        assert_eq!(
            parse_moment("2026-12-01 07:00", reunion)
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T03:00:00+00:00"
        );
    }

    #[test]
    fn a_local_time_the_clock_skips_is_refused_and_a_repeated_one_is_the_first() {
        let paris = time_zone("Europe/Paris").unwrap();
        let error = parse_moment("2027-03-28 02:30", paris).unwrap_err();
        assert!(error.contains("does not exist"), "{error}");
        assert_eq!(
            parse_moment("2027-10-31 02:30", paris)
                .unwrap()
                .to_rfc3339(),
            "2027-10-31T00:30:00+00:00"
        );
        assert!(
            parse_moment("tomorrow", paris)
                .unwrap_err()
                .contains("2026-12-01 07:00")
        );
        assert!(time_zone("Mars/Olympus").unwrap_err().contains("IANA"));
    }
}
