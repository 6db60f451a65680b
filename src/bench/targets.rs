//! The benchmark's targets, and the check of each against the figures of a run.

use serde::Serialize;

use super::report::{MIB, Summary, group};

/// What a target's figure and limit are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A fraction of the ceiling (0.3 is 30 %).
    Share,
    Millis,
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    AtLeast,
    AtMost,
    Below,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => "≥",
            Self::AtMost => "≤",
            Self::Below => "<",
        }
    }
}

/// One target checked against one figure. A figure that could not be measured (NaN) misses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    pub name: String,
    pub figure: f64,
    pub limit: f64,
    pub unit: Unit,
    pub comparison: Comparison,
    pub pass: bool,
}

/// A target as the brief states it. Shares compare with a ceiling measured in the same run, so
/// they hold on any machine; the absolute ones are what a prefecture asks of us.
struct Target(&'static str, f64, Unit, Comparison);

const SMS_SHARE: Target = Target(
    "SMS share of the raw HTTP ceiling (median)",
    0.30,
    Unit::Share,
    Comparison::AtLeast,
);
const EMAIL_SHARE: Target = Target(
    "E-mail share of the smtp-source ceiling (median)",
    0.50,
    Unit::Share,
    Comparison::AtLeast,
);
const FIRST_SMS: Target = Target(
    "First SMS delivery (median)",
    50.0,
    Unit::Millis,
    Comparison::AtMost,
);
const FIRST_SMS_AT: u64 = 10_000;
const FANOUT: Target = Target(
    "Fan-out (max over runs of all channels)",
    5_000.0,
    Unit::Millis,
    Comparison::AtMost,
);
const FANOUT_AT: u64 = 1_000_000;
const PEAK_RSS: Target = Target(
    "Daemon peak memory",
    200.0 * MIB,
    Unit::Bytes,
    Comparison::Below,
);

impl Target {
    fn check(&self, subscribers: u64, figure: f64) -> TargetCheck {
        let Self(what, limit, unit, comparison) = *self;
        // Every comparison with NaN is false, so an unmeasured figure misses by construction.
        let pass = match comparison {
            Comparison::AtLeast => figure >= limit,
            Comparison::AtMost => figure <= limit,
            Comparison::Below => figure < limit,
        };
        let name = format!("{what}, {} subscribers", group(subscribers as f64, 0, " "));
        TargetCheck {
            name,
            figure,
            limit,
            unit,
            comparison,
            pass,
        }
    }
}

/// Checks every target that the sizes run allow; a target tied to an N that was not run is left
/// out rather than reported as missed.
pub fn check_targets(summaries: &[Summary]) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    for (channel, target) in [("sms", &SMS_SHARE), ("email", &EMAIL_SHARE)] {
        for s in summaries.iter().filter(|s| s.channel == channel) {
            checks.push(target.check(s.subscribers, s.ceiling_share.median));
        }
    }
    let first = summaries
        .iter()
        .find(|s| s.channel == "sms" && s.subscribers == FIRST_SMS_AT);
    if let Some(s) = first {
        checks.push(FIRST_SMS.check(FIRST_SMS_AT, s.first_delivery_ms.median));
    }
    let at_million = summaries.iter().filter(|s| s.subscribers == FANOUT_AT);
    if at_million.clone().next().is_some() {
        // f64::max ignores NaN, so folding from NaN gives NaN only if nothing was measured.
        let worst = at_million.map(|s| s.fanout_ms.max).fold(f64::NAN, f64::max);
        checks.push(FANOUT.check(FANOUT_AT, worst));
    }
    let mut sizes: Vec<(u64, u64)> = summaries
        .iter()
        .map(|s| (s.subscribers, s.daemon_peak_rss_bytes))
        .collect();
    sizes.sort_unstable();
    sizes.dedup_by_key(|(n, _)| *n);
    for (n, rss) in sizes {
        // VmHWM of a live process is never 0: 0 means the measurement failed.
        checks.push(PEAK_RSS.check(n, if rss == 0 { f64::NAN } else { rss as f64 }));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{
        figures::RunFigures,
        report::{
            summarize,
            tests::{MB, run, size},
        },
    };

    fn checks_for(runs: Vec<RunFigures>, rss_bytes: u64) -> Vec<(String, bool)> {
        let sizes = [size(runs[0].subscribers, rss_bytes, runs)];
        check_targets(&summarize(&sizes))
            .into_iter()
            .map(|t| (t.name, t.pass))
            .collect()
    }

    #[test]
    fn targets_pass_exactly_at_their_limits_and_miss_just_past_them() {
        let mut sms = run("sms", 10_000, 300.0, 1000.0);
        sms.first_delivery_ms = 50.0;
        let email = run("email", 10_000, 500.0, 1000.0);
        let checks = checks_for(vec![sms.clone(), email], 200 * MB - 1);
        assert!(checks.iter().all(|(_, pass)| *pass), "{checks:?}");
        assert_eq!(checks.len(), 4, "two shares, first SMS, memory: {checks:?}");

        sms.first_delivery_ms = 50.1;
        let email = run("email", 10_000, 499.0, 1000.0);
        let checks = checks_for(vec![sms, email], 200 * MB);
        let passed: Vec<_> = checks.iter().filter(|(_, pass)| *pass).collect();
        let sms_share = "SMS share of the raw HTTP ceiling (median), 10 000 subscribers";
        assert_eq!(
            passed,
            [&(sms_share.to_string(), true)],
            "still exactly 30 %"
        );
    }

    #[test]
    fn fanout_target_takes_the_worst_run_of_any_channel_and_only_at_a_million() {
        let fanout = |sms_ms, email_ms| {
            let runs = [("sms", sms_ms), ("email", email_ms)].map(|(channel, ms)| RunFigures {
                fanout_ms: ms,
                ..run(channel, 1_000_000, 1000.0, 1000.0)
            });
            let checks = checks_for(runs.to_vec(), 1);
            checks
                .into_iter()
                .find(|(name, _)| name.starts_with("Fan-out"))
                .map(|c| c.1)
        };
        assert_eq!(fanout(5_000.0, 4_000.0), Some(true));
        assert_eq!(fanout(5_000.0, 5_001.0), Some(false));
        assert_eq!(fanout(f64::NAN, f64::NAN), Some(false));
        let small = checks_for(vec![run("sms", 1_000, 1.0, 1.0)], 1);
        assert_eq!(
            small.len(),
            2,
            "no first-SMS or fan-out check at 1 000: {small:?}"
        );
    }
}
