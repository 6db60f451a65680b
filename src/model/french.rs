//! Dates and times in French, as citizens and mairies read them: one set of names for the
//! citizen pages, the console and the reminders' descriptions.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// Monday first, as the French week counts.
pub const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// "5 décembre 2026 à 19:04", on `zone`'s clock.
pub fn date_time(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    format!(
        "{} {} {} à {:02}:{:02}",
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// "samedi 5 décembre 2026 à 19:04", on `zone`'s clock.
pub fn day_date_time(at: DateTime<Utc>, zone: Tz) -> String {
    let weekday = at.with_timezone(&zone).weekday().num_days_from_monday() as usize;
    format!("{} {}", WEEKDAYS[weekday], date_time(at, zone))
}

/// A number in French: "1 234" (a narrow no-break space between thousands).
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A length of time as it is said: "45 s", "34 min", "1 h 05".
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s.div_ceil(60)),
        s => {
            let minutes = s.div_ceil(60);
            format!("{} h {:02}", minutes / 60, minutes % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_time_are_said_in_their_largest_unit() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(2000), "34 min");
        assert_eq!(duration(3900), "1 h 05");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(number(0), "0");
        assert_eq!(number(612), "612");
        assert_eq!(number(1234), "1\u{202f}234");
        assert_eq!(number(1_180_000), "1\u{202f}180\u{202f}000");
    }

    #[test]
    fn dates_read_in_french_on_the_communes_clock() {
        let at = "2026-12-05T18:04:00Z".parse().unwrap();
        assert_eq!(
            date_time(at, chrono_tz::Europe::Paris),
            "5 décembre 2026 à 19:04"
        );
        assert_eq!(
            day_date_time(at, chrono_tz::Europe::Paris),
            "samedi 5 décembre 2026 à 19:04"
        );
        assert_eq!(
            date_time(at, chrono_tz::America::Cayenne),
            "5 décembre 2026 à 15:04"
        );
    }
}
