//! The paced run of calls, summarized and rendered: how close the daemon keeps to the account's
//! calls per second, and what that makes the time to warn each size of commune that was run.

use serde::Serialize;

use super::{Spread, fmt_num, fmt_pct, group};
use crate::figures::PacedRun;

/// Every paced run together.
#[derive(Debug, Clone, Serialize)]
pub struct PacedSummary {
    /// `[limits.twilio] per_second`.
    pub per_second: f64,
    pub runs: usize,
    /// Landlines called in each run.
    pub landlines: u64,
    pub pace: Spread,
    /// `pace / per_second` of each run.
    pub share: Spread,
    /// The most calls within one second, over every run.
    pub busiest_second: u64,
    pub first_delivery_ms: Spread,
    /// Summed over the runs.
    pub calls: u64,
    pub acknowledged: u64,
    pub failed: u64,
    /// One call's length as spoken, in seconds.
    pub call_seconds: f64,
    /// For each size of commune run: placing that many calls at the median rate, then the last
    /// call's length.
    pub time_to_warn: Vec<TimeToWarn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeToWarn {
    pub landlines: u64,
    pub seconds: f64,
}

/// `None` when there was no paced run. `sizes`: the numbers of subscribers the other runs had.
pub fn summarize_paced(runs: &[PacedRun], sizes: &[u64]) -> Option<PacedSummary> {
    let first = runs.first()?;
    let spread = |metric: fn(&PacedRun) -> f64| Spread::of(runs.iter().map(metric));
    let pace = spread(|r| r.pace);
    let time_to_warn = sizes
        .iter()
        .map(|&landlines| TimeToWarn {
            landlines,
            seconds: landlines as f64 / pace.median + first.call_seconds,
        })
        .collect();
    Some(PacedSummary {
        per_second: first.per_second,
        runs: runs.len(),
        landlines: first.deliveries,
        pace,
        share: spread(|r| r.pace / r.per_second),
        busiest_second: runs.iter().map(|r| r.busiest_second).max().unwrap_or(0),
        first_delivery_ms: spread(|r| r.first_delivery_ms),
        calls: runs.iter().map(|r| r.calls).sum(),
        acknowledged: runs.iter().map(|r| r.acknowledged).sum(),
        failed: runs.iter().map(|r| r.failed).sum(),
        call_seconds: first.call_seconds,
        time_to_warn,
    })
}

pub(super) const PACED_COLUMNS: [(&str, usize); 8] = [
    ("N", 9),
    ("runs", 4),
    ("calls/s", 8),
    ("share %", 7),
    ("busiest 1 s", 11),
    ("first ms", 8),
    ("confirmed", 9),
    ("failed", 6),
];

pub(super) fn paced_cells(p: &PacedSummary, sep: &str) -> [String; 8] {
    [
        group(p.landlines as f64, 0, sep),
        p.runs.to_string(),
        group(p.pace.median, 3, sep),
        fmt_pct(p.share.median),
        group(p.busiest_second as f64, 0, sep),
        fmt_num(p.first_delivery_ms.median, sep),
        format!(
            "{}/{}",
            group(p.acknowledged as f64, 0, sep),
            group(p.calls as f64, 0, sep)
        ),
        group(p.failed as f64, 0, sep),
    ]
}

pub(super) fn paced_title(p: &PacedSummary, sep: &str) -> String {
    format!(
        "Voice at the account's limit ([limits.twilio] per_second = {}), callees pressing 1; calls/s: \
         one over the median interval",
        fmt_num(p.per_second, sep)
    )
}

/// "Time to warn, at the measured rate, then one call of 41 s: 10 000 landlines 2 h 52 min ·
/// …", or `None` when no size was run.
pub(super) fn time_to_warn_line(p: &PacedSummary, sep: &str) -> Option<String> {
    if p.time_to_warn.is_empty() {
        return None;
    }
    let each: Vec<String> = p
        .time_to_warn
        .iter()
        .map(|t| {
            format!(
                "{} landlines {}",
                group(t.landlines as f64, 0, sep),
                fmt_duration(t.seconds)
            )
        })
        .collect();
    Some(format!(
        "Time to warn at this rate, placing every call then one call of {}: {}",
        fmt_duration(p.call_seconds),
        each.join(" · ")
    ))
}

/// `2 h 52 min`, `34 min 10 s`, `41 s`; "n/a" when not measured.
fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "n/a".into();
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64, busiest: u64) -> PacedRun {
        PacedRun {
            per_second: 1.0,
            calls: 15,
            deliveries: 15,
            failed: 0,
            acknowledged: 15,
            first_delivery_ms: 40.0,
            pace: rate,
            busiest_second: busiest,
            call_seconds: 41.0,
        }
    }

    #[test]
    fn the_time_to_warn_is_every_call_placed_at_the_median_rate_then_one_call() {
        let runs = [run(0.96, 1), run(0.97, 2), run(0.98, 1)];
        let p = summarize_paced(&runs, &[2_000, 10_000]).unwrap();
        assert_eq!(
            (p.runs, p.calls, p.acknowledged, p.busiest_second),
            (3, 45, 45, 2)
        );
        assert_eq!(p.share.median, 0.97);
        let seconds: Vec<f64> = p.time_to_warn.iter().map(|t| t.seconds.round()).collect();
        assert_eq!(seconds, [2_103.0, 10_350.0]);
        assert_eq!(
            time_to_warn_line(&p, " ").unwrap(),
            "Time to warn at this rate, placing every call then one call of 41 s: \
             2 000 landlines 35 min 3 s · 10 000 landlines 2 h 52 min"
        );
        assert_eq!(paced_cells(&p, " ")[2], "0.970");
        assert_eq!(paced_cells(&p, " ")[6], "45/45");
        assert!(summarize_paced(&[], &[10]).is_none());
        let none = summarize_paced(&runs, &[]).unwrap();
        assert!(time_to_warn_line(&none, " ").is_none());
    }
}
