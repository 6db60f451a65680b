//! Turns the benchmark's raw figures into per-size summaries, checks them against our targets,
//! and renders them as text (terminal), JSON (archive) and Markdown (BENCHMARKS.md). Pure: no I/O.

use serde::Serialize;
use serde_json::{Value, json};

mod paced;

pub use self::paced::{PacedSummary, TimeToWarn, summarize_paced};
use super::{
    figures::{Machine, PacedRun, PoolAccount, PoolRun, RunFigures, SizeFigures},
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
    /// `sms`, `email`, `push` or `voice`.
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
    /// Each run's median and 95th percentile of the status calls made while it was sending.
    pub status_median_ms: Spread,
    pub status_p95_ms: Spread,
    /// PostgreSQL's and the daemon's CPU milliseconds per 1,000 deliveries, each run's.
    pub pg_cpu_ms_per_1000: Spread,
    pub daemon_cpu_ms_per_1000: Spread,
    /// Summed over the runs.
    pub deliveries: u64,
    pub failed: u64,
    /// The daemon's peak resident memory while this number of subscribers was run (all
    /// channels), in bytes; 0 when it was not measured.
    pub daemon_peak_rss_bytes: u64,
}

/// SMS first, then e-mail, push and voice, then anything else by name: the order of every
/// table and plot.
pub(crate) fn channel_rank(channel: &str) -> (u8, &str) {
    match channel {
        "sms" => (0, ""),
        "email" => (1, ""),
        "push" => (2, ""),
        "voice" => (3, ""),
        other => (4, other),
    }
}

/// The runs beside those of each size, when they were run: the SMS pool, the paced calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideRuns<'a> {
    pub pool: Option<&'a PoolSummary>,
    pub paced: Option<&'a PacedSummary>,
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
                status_median_ms: spread(|r| r.status.median_ms),
                status_p95_ms: spread(|r| r.status.p95_ms),
                pg_cpu_ms_per_1000: spread(|r| r.pg_cpu_ms_per_1000),
                daemon_cpu_ms_per_1000: spread(|r| r.daemon_cpu_ms_per_1000),
                deliveries: runs.iter().map(|r| r.deliveries).sum(),
                failed: runs.iter().map(|r| r.failed).sum(),
                daemon_peak_rss_bytes: rss.unwrap_or(0),
            }
        })
        .collect()
}

/// Every pool run together: the pool of `--accounts` accounts at `--rate` each.
#[derive(Debug, Clone, Serialize)]
pub struct PoolSummary {
    pub subscribers: u64,
    pub runs: usize,
    /// Each account's limit, per second.
    pub per_second: f64,
    /// The accounts' limits together, per second.
    pub limit: f64,
    pub rate_steady: Spread,
    pub rate_first_to_last: Spread,
    /// `rate_steady / limit` of each run.
    pub share: Spread,
    pub first_delivery_ms: Spread,
    pub status_median_ms: Spread,
    pub status_p95_ms: Spread,
    /// Each account's acceptances and 429 answers, summed over the runs.
    pub accounts: Vec<PoolAccount>,
    /// 429 answers of every account in every run.
    pub rate_limited: u64,
    pub deliveries: u64,
    pub failed: u64,
    pub daemon_peak_rss_bytes: u64,
}

/// `None` when there was no pool run.
pub fn summarize_pool(runs: &[PoolRun]) -> Option<PoolSummary> {
    let first = runs.first()?;
    let spread = |metric: fn(&PoolRun) -> f64| Spread::of(runs.iter().map(metric));
    let mut accounts: Vec<PoolAccount> = first
        .accounts
        .iter()
        .map(|a| PoolAccount {
            accepted: 0,
            rate_limited: 0,
            ..a.clone()
        })
        .collect();
    for run in runs {
        for (sum, account) in accounts.iter_mut().zip(&run.accounts) {
            sum.accepted += account.accepted;
            sum.rate_limited += account.rate_limited;
        }
    }
    Some(PoolSummary {
        subscribers: first.subscribers,
        runs: runs.len(),
        per_second: first.per_second,
        limit: first.limit(),
        rate_steady: spread(|r| r.rate_steady),
        rate_first_to_last: spread(|r| r.rate_first_to_last),
        share: spread(|r| {
            if r.limit() > 0.0 {
                r.rate_steady / r.limit()
            } else {
                f64::NAN
            }
        }),
        first_delivery_ms: spread(|r| r.first_delivery_ms),
        status_median_ms: spread(|r| r.status.median_ms),
        status_p95_ms: spread(|r| r.status.p95_ms),
        rate_limited: runs.iter().map(PoolRun::rate_limited).sum(),
        accounts,
        deliveries: runs.iter().map(|r| r.deliveries).sum(),
        failed: runs.iter().map(|r| r.failed).sum(),
        daemon_peak_rss_bytes: runs
            .iter()
            .map(|r| r.daemon_peak_rss_bytes)
            .max()
            .unwrap_or(0),
    })
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
        Unit::Count => group(value, 0, sep),
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
fn row_cells(s: &Summary, sep: &str) -> [String; 14] {
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
        fmt_num(s.status_median_ms.median, sep),
        fmt_num(s.status_p95_ms.median, sep),
        fmt_mib(s.daemon_peak_rss_bytes),
    ]
}

/// Column headers (text and Markdown) and text widths; in text, the fourth column (the spread)
/// is the only left-aligned one.
const TEXT_COLUMNS: [(&str, usize); 14] = [
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
    ("status ms", 9),
    ("p95 ms", 6),
    ("peak MB", 7),
];

/// PostgreSQL's and the daemon's CPU per 1,000 deliveries of each size of a channel's table
/// (medians), where they were measured: what the ledger costs the database and a delivery costs
/// the daemon, whatever the machine's speed.
fn cpu_lines(table: &[Summary], sep: &str) -> Vec<String> {
    let line = |whose: &str, metric: fn(&Summary) -> f64| {
        let sizes: Vec<String> = table
            .iter()
            .filter(|s| metric(s).is_finite())
            .map(|s| {
                let n = group(s.subscribers as f64, 0, sep);
                format!("{n}: {} ms", fmt_num(metric(s), sep))
            })
            .collect();
        (!sizes.is_empty()).then(|| {
            format!(
                "{whose} CPU per 1{sep}000 deliveries (median): {}",
                sizes.join(" · ")
            )
        })
    };
    [
        line("PostgreSQL", |s| s.pg_cpu_ms_per_1000.median),
        line("Daemon", |s| s.daemon_cpu_ms_per_1000.median),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn text_row(cells: &[String]) -> String {
    text_line(cells, &TEXT_COLUMNS, Some(3))
}

/// Cells right-aligned in their columns' widths, but for the `left` one.
fn text_line(cells: &[String], columns: &[(&str, usize)], left: Option<usize>) -> String {
    let mut line = String::new();
    for (i, (cell, &(_, width))) in cells.iter().zip(columns).enumerate() {
        let cell = if Some(i) == left {
            format!("{cell:<width$}")
        } else {
            format!("{cell:>width$}")
        };
        line.push_str(&cell);
        line.push_str("  ");
    }
    line.trim_end().to_string()
}

fn headers<const N: usize>(columns: &[(&str, usize); N]) -> [String; N] {
    columns.map(|(header, _)| header.to_string())
}

/// The pool's table: one row for all its runs.
const POOL_COLUMNS: [(&str, usize); 10] = [
    ("N", 9),
    ("runs", 4),
    ("steady/s", 9),
    ("first→last/s", 12),
    ("share %", 7),
    ("429s", 5),
    ("first ms", 8),
    ("status ms", 9),
    ("p95 ms", 6),
    ("peak MB", 7),
];

fn pool_cells(p: &PoolSummary, sep: &str) -> [String; 10] {
    [
        group(p.subscribers as f64, 0, sep),
        p.runs.to_string(),
        fmt_num(p.rate_steady.median, sep),
        fmt_num(p.rate_first_to_last.median, sep),
        fmt_pct(p.share.median),
        group(p.rate_limited as f64, 0, sep),
        fmt_num(p.first_delivery_ms.median, sep),
        fmt_num(p.status_median_ms.median, sep),
        fmt_num(p.status_p95_ms.median, sep),
        fmt_mib(p.daemon_peak_rss_bytes),
    ]
}

/// Each account of the pool: what its stand-in accepted and refused, over every run.
const ACCOUNT_COLUMNS: [(&str, usize); 4] =
    [("account", 9), ("accepted", 9), ("share %", 7), ("429s", 5)];

fn account_cells(p: &PoolSummary, sep: &str) -> Vec<[String; 4]> {
    let total: u64 = p.accounts.iter().map(|a| a.accepted).sum();
    p.accounts
        .iter()
        .map(|a| {
            let share = if total > 0 {
                a.accepted as f64 / total as f64
            } else {
                f64::NAN
            };
            [
                a.name.clone(),
                group(a.accepted as f64, 0, sep),
                fmt_pct(share),
                group(a.rate_limited as f64, 0, sep),
            ]
        })
        .collect()
}

fn pool_title(p: &PoolSummary, sep: &str) -> String {
    format!(
        "SMS pool — {} accounts × {}/s ({}/s together), each stand-in answering 429 past its \
         limit; share of the limits together",
        p.accounts.len(),
        fmt_num(p.per_second, sep),
        fmt_num(p.limit, sep),
    )
}

fn machine_line(m: &Machine) -> String {
    let Machine {
        cores,
        cpu,
        os,
        http_connections: http,
        smtp_sessions: smtp,
        push_connections: push,
        call_connections: calls,
        ..
    } = m;
    let gib = group(m.memory_bytes as f64 / (1024.0 * MIB), 1, "");
    format!(
        "{cores} cores, {gib} GiB, {cpu}, {os}; {http} HTTP connections, {smtp} SMTP sessions, \
         {push} push connections, {calls} call connections"
    )
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
        "push" => format!(
            "Web Push — ceiling: raw pushes of the same size to the push service stand-in over \
             {} connections",
            m.push_connections
        ),
        "voice" => format!(
            "Voice — ceiling: raw Calls API requests to the Twilio stand-in over {} connections; \
             a call counts when placed, its callee answering {} s later",
            m.call_connections,
            super::voice::RING_TIME.as_secs()
        ),
        other => other.to_string(),
    }
}

/// The fixed-width report for the terminal.
pub fn render_text(
    machine: &Machine,
    summaries: &[Summary],
    side: SideRuns<'_>,
    targets: &[TargetCheck],
) -> String {
    let mut lines = vec![format!("Tocsin benchmark on {}", machine_line(machine))];
    for table in summaries.chunk_by(|a, b| a.channel == b.channel) {
        lines.push(String::new());
        lines.push(channel_title(table[0].channel, machine));
        lines.push(text_row(&headers(&TEXT_COLUMNS)));
        lines.extend(table.iter().map(|s| text_row(&row_cells(s, " "))));
        lines.extend(cpu_lines(table, " "));
    }
    if let Some(pool) = side.pool {
        lines.push(String::new());
        lines.push(pool_title(pool, " "));
        lines.push(text_line(&headers(&POOL_COLUMNS), &POOL_COLUMNS, None));
        lines.push(text_line(&pool_cells(pool, " "), &POOL_COLUMNS, None));
        let left = Some(0);
        lines.push(text_line(
            &headers(&ACCOUNT_COLUMNS),
            &ACCOUNT_COLUMNS,
            left,
        ));
        for cells in account_cells(pool, " ") {
            lines.push(text_line(&cells, &ACCOUNT_COLUMNS, left));
        }
    }
    if let Some(paced) = side.paced {
        use paced::PACED_COLUMNS as COLUMNS;
        lines.push(String::new());
        lines.push(paced::paced_title(paced, " "));
        lines.push(text_line(&headers(&COLUMNS), &COLUMNS, None));
        lines.push(text_line(&paced::paced_cells(paced, " "), &COLUMNS, None));
        lines.extend(paced::time_to_warn_line(paced, " "));
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
/// `JSON_SERIES_POINTS` points (`series_bucket_ms` says how wide each point now is), and the
/// side runs' raw runs and summaries (`null` when not run).
pub fn render_json(
    machine: &Machine,
    sizes: &[SizeFigures],
    summaries: &[Summary],
    (pool_runs, paced_runs): (&[PoolRun], &[PacedRun]),
    side: SideRuns<'_>,
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
    let pool = side
        .pool
        .map(|summary| json!({ "runs": pool_runs, "summary": summary }));
    let paced = side
        .paced
        .map(|summary| json!({ "runs": paced_runs, "summary": summary }));
    json!({
        "machine": machine,
        "sizes": sizes,
        "summaries": summaries,
        "pool": pool,
        "voice_paced": paced,
        "targets": targets,
    })
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

/// A right-aligned Markdown table of `rows` under the headers of `columns`.
fn md_table<const N: usize>(
    lines: &mut Vec<String>,
    columns: &[(&str, usize); N],
    rows: impl IntoIterator<Item = [String; N]>,
) {
    lines.push(format!(
        "| {} |",
        columns.map(|(header, _)| header).join(" | ")
    ));
    lines.push(format!("|{}", "--:|".repeat(N)));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        lines.push(format!("| {} |", cells.join(" | ")));
    }
}

/// The same report as Markdown, for BENCHMARKS.md. Thousands are grouped with a narrow no-break
/// space so table cells never wrap inside a number.
pub fn render_markdown(
    machine: &Machine,
    summaries: &[Summary],
    side: SideRuns<'_>,
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
        md_table(
            &mut lines,
            &TEXT_COLUMNS,
            table.iter().map(|s| row_cells(s, SEP)),
        );
        for line in cpu_lines(table, SEP) {
            lines.extend([String::new(), line]);
        }
    }
    if let Some(pool) = side.pool {
        lines.extend([
            String::new(),
            format!("### {}", md_cell(&pool_title(pool, SEP))),
        ]);
        lines.push(String::new());
        md_table(&mut lines, &POOL_COLUMNS, [pool_cells(pool, SEP)]);
        lines.push(String::new());
        md_table(&mut lines, &ACCOUNT_COLUMNS, account_cells(pool, SEP));
    }
    if let Some(paced) = side.paced {
        let title = paced::paced_title(paced, SEP);
        lines.extend([String::new(), format!("### {}", md_cell(&title))]);
        lines.push(String::new());
        md_table(
            &mut lines,
            &paced::PACED_COLUMNS,
            [paced::paced_cells(paced, SEP)],
        );
        if let Some(line) = paced::time_to_warn_line(paced, SEP) {
            lines.extend([String::new(), format!("{}.", md_cell(&line))]);
        }
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
pub(crate) mod tests;
