//! The report's summaries and renderings, from made-up runs; `run` and `size` serve the other
//! modules' tests too.

use super::*;
use tocsin::model::AlertId;

use crate::{figures::StatusLatency, targets::check_targets};

pub(crate) const MB: u64 = 1 << 20;

/// A run whose every time and rate is derived from `rate`, so tests can tell runs apart.
pub(crate) fn run(channel: &'static str, n: u64, rate: f64, ceiling: f64) -> RunFigures {
    let bucket = (rate / 10.0) as u64;
    RunFigures {
        alert: AlertId(uuid::Uuid::nil()),
        channel,
        subscribers: n,
        deliveries: n,
        failed: 1,
        acknowledged: 0,
        first_delivery_ms: 1000.0 / rate,
        fanout_ms: n as f64 / rate,
        p10_ms: 10.0,
        p90_ms: 900.0,
        p100_ms: 1000.0,
        last_update_ms: 1000.0,
        rate_overall: rate,
        rate_steady: rate * 1.1,
        ceiling_rate: ceiling,
        status: StatusLatency {
            calls: 10,
            median_ms: 10_000.0 / rate,
            p95_ms: 20_000.0 / rate,
        },
        series: (0..30).map(|i| (i as f64 * BUCKET_MS, bucket)).collect(),
        pg_cpu_ms_per_1000: 100_000.0 / rate,
        daemon_cpu_ms_per_1000: 200_000.0 / rate,
    }
}

pub(crate) fn size(n: u64, daemon_peak_rss_bytes: u64, runs: Vec<RunFigures>) -> SizeFigures {
    SizeFigures {
        subscribers: n,
        daemon_peak_rss_bytes,
        runs,
    }
}

fn machine() -> Machine {
    let (cpu, os, memory_bytes) = ("Test CPU".into(), "Linux 6.8".into(), 16 << 30);
    Machine {
        cores: 8,
        memory_bytes,
        cpu,
        os,
        http_connections: 64,
        smtp_sessions: 16,
        push_connections: 64,
        call_connections: 32,
    }
}

fn pool_runs() -> Vec<PoolRun> {
    let account = |i: usize, accepted, rate_limited| PoolAccount {
        name: format!("pool-{i}"),
        accepted,
        rate_limited,
    };
    let one = |rate_steady, refused| PoolRun {
        subscribers: 9_000,
        per_second: 200.0,
        accounts: vec![
            account(1, 3_000, 0),
            account(2, 3_001, refused),
            account(3, 2_999, 0),
        ],
        deliveries: 9_000,
        failed: 0,
        first_delivery_ms: 12.5,
        p100_ms: 15_200.0,
        rate_steady,
        rate_first_to_last: rate_steady - 5.0,
        status: StatusLatency::of(vec![2.0, 3.0, 4.0]),
        daemon_peak_rss_bytes: 41 * MB,
    };
    vec![one(590.0, 2), one(594.0, 0), one(580.0, 1)]
}

/// Two paced runs at 1 call a second, 15 calls each, one failed and one unconfirmed in all.
fn paced_runs() -> Vec<PacedRun> {
    let one = |rate, busiest_second, failed, acknowledged| PacedRun {
        per_second: 1.0,
        calls: 15,
        deliveries: 15,
        failed,
        acknowledged,
        first_delivery_ms: 35.0,
        pace: rate,
        busiest_second,
        call_seconds: 41.0,
    };
    vec![one(0.96, 1, 1, 14), one(0.97, 2, 0, 15)]
}

fn three(s: Spread) -> (f64, f64, f64) {
    (s.median, s.min, s.max)
}

#[test]
fn spread_takes_the_middle_of_odd_and_the_mean_of_the_middle_two_of_even_counts() {
    assert_eq!(three(Spread::of([3.0, 1.0, 2.0])), (2.0, 1.0, 3.0));
    assert_eq!(three(Spread::of([4.0, 1.0, 3.0, 2.0])), (2.5, 1.0, 4.0));
    assert_eq!(Spread::of([f64::NAN, 5.0, f64::INFINITY]).median, 5.0);
    assert!(Spread::of([]).median.is_nan() && Spread::of([f64::NAN]).max.is_nan());
}

#[test]
fn summarize_groups_by_channel_then_subscribers_with_sms_first() {
    let small = vec![
        run("push", 1_000, 800.0, 1600.0),
        run("email", 1_000, 200.0, 400.0),
        run("sms", 1_000, 300.0, 1000.0),
        run("sms", 1_000, 100.0, 1000.0),
        run("sms", 1_000, 200.0, 500.0),
        run("email", 1_000, 400.0, 400.0),
    ];
    let big = vec![run("email", 100_000, 100.0, 0.0)];
    let s = summarize(&[size(100_000, 150 * MB, big), size(1_000, 90 * MB, small)]);
    let keys: Vec<_> = s.iter().map(|s| (s.channel, s.subscribers)).collect();
    assert_eq!(
        keys,
        [
            ("sms", 1_000),
            ("email", 1_000),
            ("email", 100_000),
            ("push", 1_000)
        ]
    );
    assert_eq!((s[0].runs, s[0].deliveries, s[0].failed), (3, 3_000, 3));
    assert_eq!(three(s[0].rate_overall), (200.0, 100.0, 300.0));
    // Shares are taken run by run: 0.3, 0.1 and 0.4.
    assert_eq!(three(s[0].ceiling_share), (0.3, 0.1, 0.4));
    // Status latencies: the spread of each run's median (10 000 / rate) and p95.
    assert_eq!(three(s[0].status_median_ms), (50.0, 10000.0 / 300.0, 100.0));
    assert_eq!(s[0].status_p95_ms.median, 100.0);
    assert_eq!(three(s[1].rate_overall), (300.0, 200.0, 400.0));
    assert_eq!(s[1].daemon_peak_rss_bytes, 90 * MB);
    // A zero ceiling means the ceiling was not measured: the share is unknown, and misses.
    assert!(s[2].ceiling_share.median.is_nan());
    assert!(!check_targets(&s[2..3], SideRuns::default())[0].pass);
    assert_eq!(s[3].ceiling_share.median, 0.5);
    assert!(summarize(&[]).is_empty());
}

#[test]
fn the_pool_summary_sums_accounts_and_refusals_over_runs() {
    let p = summarize_pool(&pool_runs()).unwrap();
    assert_eq!(
        (p.runs, p.limit, p.rate_limited, p.deliveries),
        (3, 600.0, 3, 27_000)
    );
    assert_eq!(three(p.rate_steady), (590.0, 580.0, 594.0));
    assert_eq!(p.share.median, 590.0 / 600.0);
    let accounts: Vec<_> = p
        .accounts
        .iter()
        .map(|a| (a.accepted, a.rate_limited))
        .collect();
    assert_eq!(accounts, [(9_000, 0), (9_003, 3), (8_997, 0)]);
    assert_eq!(p.status_median_ms.median, 3.0);
    assert!(summarize_pool(&[]).is_none());
}

#[test]
fn text_report_shows_the_figures_and_verdicts_in_narrow_lines() {
    let runs = vec![
        run("sms", 100_000, 12_345.0, 50_000.0),
        run("sms", 100_000, 11_000.0, 50_000.0),
        run("push", 100_000, 4_000.0, 10_000.0),
        run("voice", 100_000, 1_000.0, 2_500.0),
    ];
    let summaries = summarize(&[size(100_000, 123 * MB, runs)]);
    let pool = summarize_pool(&pool_runs());
    let paced = summarize_paced(&paced_runs(), &[100_000]);
    let side = SideRuns {
        pool: pool.as_ref(),
        paced: paced.as_ref(),
    };
    let targets = check_targets(&summaries, side);
    let text = render_text(&machine(), &summaries, side, &targets);
    for needle in [
        "8 cores, 16.0 GiB, Test CPU, Linux 6.8; 64 HTTP connections, 16 SMTP sessions, 64 push",
        "  100 000     2        11 672  (11 000–12 345)",
        "status ms  p95 ms  peak MB",
        // Median of the runs' status medians (0.81 and 0.89 ms) and p95s, then the memory.
        "0.9     1.7    123.0",
        "Web Push — ceiling: raw pushes of the same size to the push service stand-in over 64",
        "MISS  Daemon peak memory, 100 000 subscribers: 123.0 MB < 100.0 MB",
        "MISS  SMS share of the raw HTTP ceiling (median), 100 000 subscribers: 23.3 % ≥ 60.0 %",
        "MISS  Web Push share of the push service ceiling (median), 100 000 subscribers: 40.0 % ≥ 50.0 %",
        "Voice — ceiling: raw Calls API requests to the Twilio stand-in over 32 connections",
        "MISS  Voice share of the raw Calls API ceiling (median), 100 000 subscribers: 40.0 % ≥ 50.0 %",
        "SMS pool — 3 accounts × 200/s (600/s together)",
        "Voice at the account's limit ([limits.twilio] per_second = 1.0), callees pressing 1",
        "       15     2     0.965     96.5            2      35.0      29/30       1",
        "placing every call then one call of 41 s: 100 000 landlines 28 h 47 min",
        "PASS  Voice calls per second, share of the account's limit (median), 15 subscribers: 96.5 % ≥ 95.0 %",
        "PASS  Voice: calls in the busiest second (what the limiter lets through: the rate, and its floors below 100/s), 15 subscribers: 2 ≤ 3",
        "    9 000     3        590           585     98.3      3      12.5        3.0     4.0     41.0",
        "Targets: 6 of 11 met",
        "PostgreSQL CPU per 1 000 deliveries (median): 100 000: 8.6 ms",
        "Daemon CPU per 1 000 deliveries (median): 100 000: 17.2 ms",
        "pool-2         9 003     33.3      3",
        "PASS  SMS pool rate, share of its accounts' limits together (median), 9 000 subscribers: 98.3 % ≥ 97.0 %",
        "MISS  SMS pool: answers 429 (all accounts, all runs), 9 000 subscribers: 3 ≤ 0",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    assert!(text.lines().all(|l| l.chars().count() < 150), "{text}");
    // Grouped thousands, one decimal under 100, no "-0.0", and NaN said plainly.
    assert_eq!(
        (group(-0.04, 1, " "), group(-1234.5, 1, " ")),
        ("0.0".into(), "-1 234.5".into())
    );
    assert_eq!(
        (fmt_num(42.26, " "), fmt_num(f64::NAN, " ")),
        ("42.3".into(), "n/a".into())
    );
}

#[test]
fn json_keeps_raw_runs_with_at_most_200_series_points_and_the_same_total() {
    let mut long = run("email", 1_000, 100.0, 200.0);
    long.series = (0..1001).map(|i| (i as f64 * BUCKET_MS, 2)).collect();
    let sizes = [size(1_000, 1, vec![long])];
    let summaries = summarize(&sizes);
    let targets = check_targets(&summaries, SideRuns::default());
    let no_side = SideRuns::default();
    let v = render_json(
        &machine(),
        &sizes,
        &summaries,
        (&[], &[]),
        no_side,
        &targets,
    );
    let json_run = &v["sizes"][0]["runs"][0];
    let series = json_run["series"].as_array().unwrap();
    let total: u64 = series.iter().map(|p| p[1].as_u64().unwrap()).sum();
    let bucket_ms = json_run["series_bucket_ms"].as_f64();
    assert_eq!((series.len(), total, bucket_ms), (167, 2002, Some(600.0)));
    assert_eq!(json_run["rate_overall"], 100.0);
    assert_eq!(json_run["status"]["median_ms"], 100.0);
    assert_eq!(json_run["status"]["calls"], 10);
    assert_eq!(v["summaries"][0]["channel"], "email");
    assert_eq!(v["summaries"][0]["status_p95_ms"]["median"], 200.0);
    assert!(v["pool"].is_null() && v["voice_paced"].is_null());
    assert_eq!(v["machine"]["push_connections"], 64);
    let short = [(0.0, 1), (100.0, 2)];
    assert_eq!(rebucket(&short, 200), (100.0, short.to_vec()));

    let (runs, paced_runs) = (pool_runs(), paced_runs());
    let (pool, paced) = (
        summarize_pool(&runs),
        summarize_paced(&paced_runs, &[1_000]),
    );
    let side = SideRuns {
        pool: pool.as_ref(),
        paced: paced.as_ref(),
    };
    let targets = check_targets(&summaries, side);
    let raw = (runs.as_slice(), paced_runs.as_slice());
    let v = render_json(&machine(), &sizes, &summaries, raw, side, &targets);
    assert_eq!(v["pool"]["runs"].as_array().unwrap().len(), 3);
    assert_eq!(v["pool"]["runs"][0]["accounts"][1]["rate_limited"], 2);
    assert_eq!(v["pool"]["summary"]["rate_limited"], 3);
    assert_eq!(v["voice_paced"]["runs"][1]["busiest_second"], 2);
    let warned = &v["voice_paced"]["summary"]["time_to_warn"][0];
    assert_eq!(warned["landlines"], 1_000);
    let targets = v["targets"].as_array().unwrap();
    let answers_429 = targets
        .iter()
        .find(|t| t["name"].as_str().unwrap().contains("429"))
        .unwrap();
    assert_eq!(
        (answers_429["unit"].as_str(), answers_429["pass"].as_bool()),
        (Some("count"), Some(false))
    );
}

#[test]
fn markdown_has_one_table_per_channel_the_pool_and_the_targets() {
    let runs = vec![
        run("sms", 1_000, 400.0, 1000.0),
        run("email", 1_000, 400.0, 1000.0),
        run("push", 1_000, 400.0, 1000.0),
    ];
    let summaries = summarize(&[size(1_000, 1, runs)]);
    let pool = summarize_pool(&pool_runs());
    let paced = summarize_paced(&paced_runs(), &[1_000]);
    let side = SideRuns {
        pool: pool.as_ref(),
        paced: paced.as_ref(),
    };
    let targets = check_targets(&summaries, side);
    let md = render_markdown(&machine(), &summaries, side, &targets, "2025-06-01");
    assert!(md.starts_with("## 2025-06-01\n"));
    assert_eq!(md.matches("| N | runs | deliveries/s |").count(), 3);
    for title in [
        "### SMS",
        "### E-mail",
        "### Web Push",
        "### SMS pool",
        "### Voice at the account's limit",
        "### Targets",
    ] {
        assert!(md.contains(title), "{title} missing from\n{md}");
    }
    let row = "| 1\u{202F}000 | 1 | 400 |  | 440 | 1\u{202F}000 | 40.0 | 2.5 | 2.5 | 0.90 | 1.00 \
               | 25.0 | 50.0 | 0.0 |";
    assert!(md.contains(row), "{md}");
    assert!(
        md.contains("PostgreSQL CPU per 1\u{202F}000 deliveries (median): 1\u{202F}000: 250 ms"),
        "{md}"
    );
    assert!(
        md.contains("Daemon CPU per 1\u{202F}000 deliveries (median): 1\u{202F}000: 500 ms"),
        "{md}"
    );
    let pool_row = "| 9\u{202F}000 | 3 | 590 | 585 | 98.3 | 3 | 12.5 | 3.0 | 4.0 | 41.0 |";
    assert!(md.contains(pool_row), "{md}");
    assert!(
        md.contains("| account | accepted | share % | 429s |"),
        "{md}"
    );
    assert!(md.contains("| pool-1 | 9\u{202F}000 | 33.3 | 0 |"), "{md}");
    assert!(md.contains("| MISS | SMS pool: answers 429"), "{md}");
}
