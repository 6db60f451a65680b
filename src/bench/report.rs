//! Turns the benchmark's raw figures into per-size summaries, checks them against our targets,
//! and renders them as text (terminal), JSON (archive) and Markdown (BENCHMARKS.md). Pure: no I/O.

use serde::Serialize;
use serde_json::{Value, json};

use super::{
    figures::{Machine, RunFigures, SizeFigures},
    targets::{TargetCheck, Unit},
};

/// Width of one bucket of `RunFigures::series`.
pub(crate) const BUCKET_MS: f64 = 100.0;
/// The JSON archive keeps the shape of each run, not every bucket: a million subscribers can make
/// thousands of buckets per run.
const JSON_SERIES_POINTS: usize = 200;
pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// Median, min and max of one metric across runs; all NaN when no run gave a finite value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// Non-finite values (a rate over a zero duration, a mark never reached) are left out rather
    /// than allowed to poison the median. The median of an even count is the mean of the middle
    /// two.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let median = match v.len() {
            0 => f64::NAN,
            n if n.is_multiple_of(2) => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            n => v[n / 2],
        };
        let (min, max) = (
            *v.first().unwrap_or(&f64::NAN),
            *v.last().unwrap_or(&f64::NAN),
        );
        Self { median, min, max }
    }
}

/// Every run of one channel for one number of subscribers. Times in ms from the API call, rates
/// per second.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `sms` or `email`.
    pub channel: &'static str,
    pub subscribers: u64,
    pub runs: usize,
    pub rate_overall: Spread,
    pub rate_steady: Spread,
    pub first_delivery_ms: Spread,
    pub fanout_ms: Spread,
    pub p90_ms: Spread,
    pub p100_ms: Spread,
    pub ceiling_rate: Spread,
    /// `rate_overall / ceiling_rate` of each run (a fraction, not a percentage).
    pub ceiling_share: Spread,
    /// Summed over the runs.
    pub deliveries: u64,
    pub failed: u64,
    /// The daemon's peak resident memory while this number of subscribers was run (all
    /// channels), in bytes; 0 when it was not measured.
    pub daemon_peak_rss_bytes: u64,
}

/// SMS first, then e-mail, then anything else by name: the order of every table and plot.
pub(crate) fn channel_rank(channel: &str) -> (u8, &str) {
    match channel {
        "sms" => (0, ""),
        "email" => (1, ""),
        other => (2, other),
    }
}

/// One summary per (channel, subscribers), ordered by channel then subscribers.
pub fn summarize(sizes: &[SizeFigures]) -> Vec<Summary> {
    let mut keys: Vec<(&'static str, u64)> = sizes
        .iter()
        .flat_map(|size| size.runs.iter().map(|run| (run.channel, size.subscribers)))
        .collect();
    keys.sort_by_key(|&(channel, n)| (channel_rank(channel), n));
    keys.dedup();
    keys.into_iter()
        .map(|(channel, subscribers)| {
            let same_size = sizes.iter().filter(|size| size.subscribers == subscribers);
            let runs: Vec<&RunFigures> = same_size
                .clone()
                .flat_map(|size| &size.runs)
                .filter(|run| run.channel == channel)
                .collect();
            let spread =
                |metric: fn(&RunFigures) -> f64| Spread::of(runs.iter().map(|r| metric(r)));
            let rss = same_size.map(|s| s.daemon_peak_rss_bytes).max();
            Summary {
                channel,
                subscribers,
                runs: runs.len(),
                rate_overall: spread(|r| r.rate_overall),
                rate_steady: spread(|r| r.rate_steady),
                first_delivery_ms: spread(|r| r.first_delivery_ms),
                fanout_ms: spread(|r| r.fanout_ms),
                p90_ms: spread(|r| r.p90_ms),
                p100_ms: spread(|r| r.p100_ms),
                ceiling_rate: spread(|r| r.ceiling_rate),
                ceiling_share: spread(ceiling_share),
                deliveries: runs.iter().map(|r| r.deliveries).sum(),
                failed: runs.iter().map(|r| r.failed).sum(),
                daemon_peak_rss_bytes: rss.unwrap_or(0),
            }
        })
        .collect()
}

fn ceiling_share(run: &RunFigures) -> f64 {
    // A zero ceiling means the ceiling measurement failed: the share is unknown, not infinite.
    if run.ceiling_rate > 0.0 {
        run.rate_overall / run.ceiling_rate
    } else {
        f64::NAN
    }
}

/// Groups the integer digits by three with `sep`, the French way (with a narrow space in print).
pub(crate) fn group(value: f64, decimals: usize, sep: &str) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    let text = format!("{:.*}", decimals, value);
    // No "-0.0" when a tiny negative value rounds to zero.
    let negative = text.bytes().any(|b| matches!(b, b'1'..=b'9')) && value < 0.0;
    let text = text.trim_start_matches('-');
    let int_len = text.find('.').unwrap_or(text.len());
    let mut out = String::from(if negative { "-" } else { "" });
    for (i, c) in text.char_indices() {
        if i > 0 && i < int_len && (int_len - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// Rates and times keep one decimal below 100, where it still says something.
fn fmt_num(value: f64, sep: &str) -> String {
    group(value, if value.abs() < 100.0 { 1 } else { 0 }, sep)
}

fn fmt_secs(ms: f64, sep: &str) -> String {
    let s = ms / 1000.0;
    group(s, if s < 10.0 { 2 } else { usize::from(s < 100.0) }, sep)
}

fn fmt_pct(share: f64) -> String {
    group(share * 100.0, 1, "")
}

fn fmt_mib(bytes: u64) -> String {
    // 0 means not measured (see `Summary::daemon_peak_rss_bytes`).
    if bytes == 0 {
        return "n/a".into();
    }
    group(bytes as f64 / MIB, 1, "")
}

fn fmt_target_value(value: f64, unit: Unit, sep: &str) -> String {
    match unit {
        Unit::Share => format!("{} %", fmt_pct(value)),
        Unit::Millis => format!("{} ms", fmt_num(value, sep)),
        Unit::Bytes => format!("{} MB", group(value / MIB, 1, sep)),
    }
}

/// Verdict, figure, and limit with its comparison.
fn target_cells(t: &TargetCheck, sep: &str) -> [String; 3] {
    let value = |v| fmt_target_value(v, t.unit, sep);
    let limit = format!("{} {}", t.comparison.symbol(), value(t.limit));
    let verdict = if t.pass { "PASS" } else { "MISS" };
    [verdict.into(), value(t.figure), limit]
}

/// The cells of one table row, shared by the text and Markdown renderers. The overall rate's
/// spread is a cell of its own so that medians line up.
fn row_cells(s: &Summary, sep: &str) -> [String; 12] {
    let (min, max) = (
        fmt_num(s.rate_overall.min, sep),
        fmt_num(s.rate_overall.max, sep),
    );
    let range = if s.runs > 1 {
        format!("({min}–{max})")
    } else {
        String::new()
    };
    [
        group(s.subscribers as f64, 0, sep),
        s.runs.to_string(),
        fmt_num(s.rate_overall.median, sep),
        range,
        fmt_num(s.rate_steady.median, sep),
        fmt_num(s.ceiling_rate.median, sep),
        fmt_pct(s.ceiling_share.median),
        fmt_num(s.first_delivery_ms.median, sep),
        fmt_num(s.fanout_ms.median, sep),
        fmt_secs(s.p90_ms.median, sep),
        fmt_secs(s.p100_ms.median, sep),
        fmt_mib(s.daemon_peak_rss_bytes),
    ]
}

/// Column headers (text and Markdown) and text widths; in text, the fourth column (the spread)
/// is the only left-aligned one.
const TEXT_COLUMNS: [(&str, usize); 12] = [
    ("N", 9),
    ("runs", 4),
    ("deliveries/s", 12),
    ("min–max", 17),
    ("steady/s", 9),
    ("ceiling/s", 9),
    ("share %", 7),
    ("first ms", 8),
    ("fan-out ms", 10),
    ("90 % s", 7),
    ("100 % s", 7),
    ("peak RSS MB", 11),
];

fn text_row(cells: &[String]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(TEXT_COLUMNS).enumerate() {
        let cell = if i == 3 {
            format!("{cell:<width$}")
        } else {
            format!("{cell:>width$}")
        };
        line.push_str(&cell);
        line.push_str("  ");
    }
    line.trim_end().to_string()
}

fn machine_line(m: &Machine) -> String {
    let Machine {
        cores,
        cpu,
        os,
        http_connections: http,
        smtp_sessions: smtp,
        ..
    } = m;
    let gib = group(m.memory_bytes as f64 / (1024.0 * MIB), 1, "");
    format!("{cores} cores, {gib} GiB, {cpu}, {os}; {http} HTTP connections, {smtp} SMTP sessions")
}

/// What each channel's ceiling is, so a reader knows what the share is a share of.
fn channel_title(channel: &str, m: &Machine) -> String {
    match channel {
        "sms" => format!(
            "SMS — ceiling: raw HTTP requests to the stand-in over {} connections",
            m.http_connections
        ),
        "email" => format!(
            "E-mail — ceiling: smtp-source to the sink over {} sessions",
            m.smtp_sessions
        ),
        other => other.to_string(),
    }
}

/// The fixed-width report for the terminal.
pub fn render_text(machine: &Machine, summaries: &[Summary], targets: &[TargetCheck]) -> String {
    let mut lines = vec![format!("Tocsin benchmark on {}", machine_line(machine))];
    for table in summaries.chunk_by(|a, b| a.channel == b.channel) {
        lines.push(String::new());
        lines.push(channel_title(table[0].channel, machine));
        lines.push(text_row(
            &TEXT_COLUMNS.map(|(header, _)| header.to_string()),
        ));
        lines.extend(table.iter().map(|s| text_row(&row_cells(s, " "))));
    }
    if !targets.is_empty() {
        let met = targets.iter().filter(|t| t.pass).count();
        lines.push(String::new());
        lines.push(format!("Targets: {met} of {} met", targets.len()));
        for t in targets {
            let [verdict, figure, limit] = target_cells(t, " ");
            lines.push(format!("  {verdict}  {}: {figure} {limit}", t.name));
        }
    }
    lines.push(String::new());
    lines.join("\n")
}

/// Everything, for the archive: raw runs with their series merged down to at most
/// `JSON_SERIES_POINTS` points (`series_bucket_ms` says how wide each point now is).
pub fn render_json(
    machine: &Machine,
    sizes: &[SizeFigures],
    summaries: &[Summary],
    targets: &[TargetCheck],
) -> Value {
    let sizes: Vec<Value> = sizes
        .iter()
        .map(|size| {
            let runs: Vec<Value> = size.runs.iter().map(run_json).collect();
            json!({
                "subscribers": size.subscribers,
                "daemon_peak_rss_bytes": size.daemon_peak_rss_bytes,
                "runs": runs,
            })
        })
        .collect();
    json!({ "machine": machine, "sizes": sizes, "summaries": summaries, "targets": targets })
}

fn run_json(run: &RunFigures) -> Value {
    let (bucket_ms, series) = rebucket(&run.series, JSON_SERIES_POINTS);
    // Serializing plain structs cannot fail; NaN becomes null.
    let mut value = json!(run);
    if let Value::Object(map) = &mut value {
        map.insert("series".into(), json!(series));
        map.insert("series_bucket_ms".into(), json!(bucket_ms));
    }
    value
}

/// Merges 100 ms buckets into windows aligned on the first bucket, wide enough that at most
/// `max_points` remain. Counts are summed, so the total survives. Returns the window width in ms.
fn rebucket(series: &[(f64, u64)], max_points: usize) -> (f64, Vec<(f64, u64)>) {
    let starts = series.iter().map(|(t, _)| *t).filter(|t| t.is_finite());
    let first = starts.clone().fold(f64::INFINITY, f64::min);
    let last = starts.fold(f64::NEG_INFINITY, f64::max);
    if max_points == 0 || first > last {
        return (BUCKET_MS, Vec::new());
    }
    let span = last - first + BUCKET_MS;
    let width = BUCKET_MS * (span / (BUCKET_MS * max_points as f64)).ceil().max(1.0);
    // span / width ≤ max_points, so every index is below max_points.
    let mut windows: Vec<Option<u64>> = vec![None; max_points];
    for &(t, count) in series.iter().filter(|(t, _)| t.is_finite()) {
        let i = (((t - first) / width).floor() as usize).min(max_points - 1);
        *windows[i].get_or_insert(0) += count;
    }
    let merged = windows
        .into_iter()
        .enumerate()
        .filter_map(|(i, count)| count.map(|c| (first + i as f64 * width, c)))
        .collect();
    (width, merged)
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The same report as Markdown, for BENCHMARKS.md. Thousands are grouped with a narrow no-break
/// space so table cells never wrap inside a number.
pub fn render_markdown(
    machine: &Machine,
    summaries: &[Summary],
    targets: &[TargetCheck],
    taken_at: &str,
) -> String {
    const SEP: &str = "\u{202F}";
    let mut lines = vec![
        format!("## {}", md_cell(taken_at)),
        String::new(),
        format!("Machine: {}.", md_cell(&machine_line(machine))),
    ];
    for table in summaries.chunk_by(|a, b| a.channel == b.channel) {
        lines.push(String::new());
        lines.push(format!(
            "### {}",
            md_cell(&channel_title(table[0].channel, machine))
        ));
        lines.push(String::new());
        lines.push(format!(
            "| {} |",
            TEXT_COLUMNS.map(|(header, _)| header).join(" | ")
        ));
        lines.push(format!("|{}", "--:|".repeat(TEXT_COLUMNS.len())));
        lines.extend(
            table
                .iter()
                .map(|s| format!("| {} |", row_cells(s, SEP).join(" | "))),
        );
    }
    if !targets.is_empty() {
        lines.extend([String::new(), "### Targets".into(), String::new()]);
        lines.push("| | target | figure | limit |".into());
        lines.push("|---|---|--:|--:|".into());
        for t in targets {
            let [verdict, figure, limit] = target_cells(t, SEP);
            lines.push(format!(
                "| {verdict} | {} | {figure} | {limit} |",
                md_cell(&t.name)
            ));
        }
    }
    lines.push(String::new());
    lines.join("\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::targets::check_targets;

    pub(crate) const MB: u64 = 1 << 20;

    /// A run whose every time and rate is derived from `rate`, so tests can tell runs apart.
    pub(crate) fn run(channel: &'static str, n: u64, rate: f64, ceiling: f64) -> RunFigures {
        let bucket = (rate / 10.0) as u64;
        RunFigures {
            channel,
            subscribers: n,
            deliveries: n,
            failed: 1,
            first_delivery_ms: 1000.0 / rate,
            fanout_ms: n as f64 / rate,
            p10_ms: 10.0,
            p90_ms: 900.0,
            p100_ms: 1000.0,
            rate_overall: rate,
            rate_steady: rate * 1.1,
            ceiling_rate: ceiling,
            series: (0..30).map(|i| (i as f64 * BUCKET_MS, bucket)).collect(),
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
        }
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
            run("email", 1_000, 200.0, 400.0),
            run("sms", 1_000, 300.0, 1000.0),
            run("sms", 1_000, 100.0, 1000.0),
            run("sms", 1_000, 200.0, 500.0),
            run("email", 1_000, 400.0, 400.0),
        ];
        let big = vec![run("email", 100_000, 100.0, 0.0)];
        let s = summarize(&[size(100_000, 150 * MB, big), size(1_000, 90 * MB, small)]);
        let keys: Vec<_> = s.iter().map(|s| (s.channel, s.subscribers)).collect();
        assert_eq!(keys, [("sms", 1_000), ("email", 1_000), ("email", 100_000)]);
        assert_eq!((s[0].runs, s[0].deliveries, s[0].failed), (3, 3_000, 3));
        assert_eq!(three(s[0].rate_overall), (200.0, 100.0, 300.0));
        // Shares are taken run by run: 0.3, 0.1 and 0.4.
        assert_eq!(three(s[0].ceiling_share), (0.3, 0.1, 0.4));
        assert_eq!(three(s[1].rate_overall), (300.0, 200.0, 400.0));
        assert_eq!(s[1].daemon_peak_rss_bytes, 90 * MB);
        // A zero ceiling means the ceiling was not measured: the share is unknown, and misses.
        assert!(s[2].ceiling_share.median.is_nan());
        assert!(!check_targets(&s[2..])[0].pass);
        assert!(summarize(&[]).is_empty());
    }

    #[test]
    fn text_report_shows_the_figures_and_verdicts_in_narrow_lines() {
        let runs = vec![
            run("sms", 100_000, 12_345.0, 50_000.0),
            run("sms", 100_000, 11_000.0, 50_000.0),
        ];
        let summaries = summarize(&[size(100_000, 123 * MB, runs)]);
        let text = render_text(&machine(), &summaries, &check_targets(&summaries));
        for needle in [
            "8 cores, 16.0 GiB, Test CPU, Linux 6.8; 64 HTTP connections",
            "  100 000     2        11 672  (11 000–12 345)",
            "PASS  Daemon peak memory, 100 000 subscribers: 123.0 MB < 200.0 MB",
            "MISS  SMS share of the raw HTTP ceiling (median), 100 000 subscribers: 23.3 % ≥ 30.0 %",
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
        let v = render_json(&machine(), &sizes, &summaries, &check_targets(&summaries));
        let json_run = &v["sizes"][0]["runs"][0];
        let series = json_run["series"].as_array().unwrap();
        let total: u64 = series.iter().map(|p| p[1].as_u64().unwrap()).sum();
        let bucket_ms = json_run["series_bucket_ms"].as_f64();
        assert_eq!((series.len(), total, bucket_ms), (167, 2002, Some(600.0)));
        assert_eq!(json_run["rate_overall"], 100.0);
        assert_eq!(v["summaries"][0]["channel"], "email");
        assert_eq!(v["targets"][0]["unit"], "share");
        assert_eq!(v["machine"]["cores"], 8);
        let short = [(0.0, 1), (100.0, 2)];
        assert_eq!(rebucket(&short, 200), (100.0, short.to_vec()));
    }

    #[test]
    fn markdown_has_one_table_per_channel_and_the_targets() {
        let runs = vec![
            run("sms", 1_000, 400.0, 1000.0),
            run("email", 1_000, 400.0, 1000.0),
        ];
        let summaries = summarize(&[size(1_000, 1, runs)]);
        let targets = check_targets(&summaries);
        let md = render_markdown(&machine(), &summaries, &targets, "2025-06-01");
        assert!(md.starts_with("## 2025-06-01\n"));
        assert_eq!(md.matches("| N | runs |").count(), 2);
        assert!(md.contains("### SMS") && md.contains("### E-mail") && md.contains("### Targets"));
        let row = "| 1\u{202F}000 | 1 | 400 |  | 440 | 1\u{202F}000 | 40.0 | 2.5 | 2.5 |";
        assert!(md.contains(row), "{md}");
    }
}
