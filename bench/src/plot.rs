//! Draws deliveries per second against time since the API call, one panel per number of
//! subscribers, as a self-contained SVG (no fonts, scripts or styles from outside) for
//! BENCHMARKS.md.

use super::figures::{RunFigures, SizeFigures};
use super::report::{BUCKET_MS, Spread, channel_rank, group};

const WIDTH: f64 = 900.0;
/// The title and the legend above the first panel.
const HEADER: f64 = 56.0;
const PANEL: f64 = 260.0;
// Margins of the plot area inside a panel: room for the title above, tick labels and the axis
// label below and to the left.
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;
/// About one point per pixel of the plot area: more would only make the file bigger.
const MAX_POINTS: usize = 800;

/// Okabe–Ito blue, vermillion and bluish green: distinct for colour-blind readers too.
fn colour(channel: &str) -> &'static str {
    match channel {
        "sms" => "#0072B2",
        "email" => "#D55E00",
        "push" => "#009E73",
        _ => "#555555",
    }
}

fn label(channel: &str) -> &str {
    match channel {
        "sms" => "SMS",
        "email" => "e-mail",
        "push" => "Web Push",
        other => other,
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn channels_of<'a>(runs: impl Iterator<Item = &'a RunFigures>) -> Vec<&'static str> {
    let mut channels: Vec<&'static str> = runs.map(|r| r.channel).collect();
    channels.sort_by(|a, b| channel_rank(a).cmp(&channel_rank(b)));
    channels.dedup();
    channels
}

/// A step of 1, 2 or 5 times a power of ten that cuts `range` into about `parts` parts.
fn nice_step(range: f64, parts: f64) -> f64 {
    let raw = range / parts;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let factor = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    factor * magnitude
}

/// Enough decimals for tick labels `step` apart to differ.
fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).max(0.0) as usize
    }
}

/// Deliveries per second in windows of `bin_ms` from the API call to the run's last bucket,
/// lightly smoothed (a centred mean over three windows) so that the scheduling jitter of single
/// 100 ms buckets does not hide the shape. Buckets missing from the series count as empty.
fn rates(series: &[(f64, u64)], bin_ms: f64) -> Vec<f64> {
    // Times before the API call would be clock skew; they count in the first window.
    let times = series
        .iter()
        .filter(|(t, _)| t.is_finite())
        .map(|&(t, c)| (t.max(0.0), c));
    let end_ms = times
        .clone()
        .map(|(t, _)| t + BUCKET_MS)
        .fold(0.0, f64::max);
    let bins = (end_ms / bin_ms).ceil() as usize;
    let mut counts = vec![0.0; bins];
    for (t, count) in times {
        counts[((t / bin_ms) as usize).min(bins - 1)] += count as f64;
    }
    let per_second = 1000.0 / bin_ms;
    (0..bins)
        .map(|i| {
            let window = &counts[i.saturating_sub(1)..(i + 2).min(bins)];
            window.iter().sum::<f64>() / window.len() as f64 * per_second
        })
        .collect()
}

/// One channel in one panel: its last run's curve and the median ceiling of all its runs.
struct Curve {
    channel: &'static str,
    rates: Vec<f64>,
    ceiling: f64,
}

/// The SVG: one panel per number of subscribers, smallest first, each drawing the last run of
/// every channel for that size.
pub fn render_svg(sizes: &[SizeFigures]) -> String {
    let mut panels: Vec<&SizeFigures> = sizes.iter().filter(|s| !s.runs.is_empty()).collect();
    panels.sort_by_key(|s| s.subscribers);
    let height = HEADER + PANEL * panels.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{WIDTH}\" height=\"{height}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Deliveries per second \
         after the API call (last run of each channel)</text>\n"
    );
    let mut x = LEFT;
    for channel in channels_of(panels.iter().flat_map(|s| &s.runs)) {
        svg += &format!(
            "<line x1=\"{x}\" y1=\"40\" x2=\"{}\" y2=\"40\" stroke=\"{}\" stroke-width=\"3\"/>\n\
             <text x=\"{}\" y=\"44\">{}</text>\n",
            x + 24.0,
            colour(channel),
            x + 30.0,
            escape(label(channel)),
        );
        x += 40.0 + 8.0 * label(channel).chars().count() as f64;
    }
    svg += &format!(
        "<line x1=\"{x}\" y1=\"40\" x2=\"{}\" y2=\"40\" stroke=\"#555555\" stroke-width=\"1.5\" \
         stroke-dasharray=\"6 4\"/>\n<text x=\"{}\" y=\"44\">ceiling measured in the same run \
         (median of the runs)</text>\n",
        x + 24.0,
        x + 30.0
    );
    if panels.is_empty() {
        svg += &format!(
            "<text x=\"{LEFT}\" y=\"{}\">No runs.</text>\n",
            HEADER + 40.0
        );
    }
    for (i, size) in panels.iter().enumerate() {
        panel(&mut svg, size, HEADER + PANEL * i as f64);
    }
    svg += "</svg>\n";
    svg
}

fn panel(svg: &mut String, size: &SizeFigures, top: f64) {
    let channels = channels_of(size.runs.iter());
    let last_runs: Vec<&RunFigures> = channels
        .iter()
        .filter_map(|c| size.runs.iter().rev().find(|r| r.channel == *c))
        .collect();
    // Time axis: until the last bucket of any channel ends, at least a second.
    let end_ms = last_runs
        .iter()
        .flat_map(|r| r.series.iter().map(|(t, _)| *t + BUCKET_MS))
        .filter(|t| t.is_finite())
        .fold(1000.0, f64::max);
    let bin_ms = BUCKET_MS * (end_ms / BUCKET_MS / MAX_POINTS as f64).ceil().max(1.0);
    let curves: Vec<Curve> = last_runs
        .iter()
        .map(|run| Curve {
            channel: run.channel,
            rates: rates(&run.series, bin_ms),
            ceiling: Spread::of(
                size.runs
                    .iter()
                    .filter(|r| r.channel == run.channel)
                    .map(|r| r.ceiling_rate),
            )
            .median,
        })
        .collect();

    let x_step = nice_step(end_ms / 1000.0, 8.0);
    let x_max = (end_ms / 1000.0 / x_step).ceil() * x_step;
    // The ceilings are part of the range: how far below them the curves stay is the point.
    let peak = curves
        .iter()
        .flat_map(|c| c.rates.iter().copied().chain([c.ceiling]))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.05;
    let y_step = nice_step(peak, 5.0);
    let y_max = (peak / y_step).ceil() * y_step;
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    let (y0, y1) = (top + TOP, top + PANEL - BOTTOM);
    let sx = |seconds: f64| x0 + seconds / x_max * (x1 - x0);
    let sy = |rate: f64| y1 - rate / y_max * (y1 - y0);

    *svg += &format!(
        "<g>\n<text x=\"{x0}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{} subscribers</text>\n",
        top + 22.0,
        escape(&group(size.subscribers as f64, 0, " "))
    );
    for i in 0..=(y_max / y_step).round() as usize {
        let v = i as f64 * y_step;
        let y = sy(v);
        *svg += &format!(
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#e6e6e6\"/>\n\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n",
            x0 - 6.0,
            y + 4.0,
            escape(&group(v, decimals(y_step), " "))
        );
    }
    for i in 0..=(x_max / x_step).round() as usize {
        let v = i as f64 * x_step;
        let x = sx(v);
        *svg += &format!(
            "<line x1=\"{x:.1}\" y1=\"{y1}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333333\"/>\n\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
            y1 + 4.0,
            y1 + 16.0,
            escape(&group(v, decimals(x_step), " "))
        );
    }
    *svg += &format!(
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#333333\"/>\n\
         <line x1=\"{x0}\" y1=\"{y1}\" x2=\"{x1}\" y2=\"{y1}\" stroke=\"#333333\"/>\n\
         <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">seconds since the API call</text>\n\
         <text x=\"18\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {:.1})\">\
         deliveries/s</text>\n",
        (x0 + x1) / 2.0,
        y1 + 36.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    for (i, curve) in curves.iter().enumerate() {
        let colour = colour(curve.channel);
        if curve.ceiling.is_finite() {
            let y = sy(curve.ceiling);
            // Labels alternate above and below their line so that two close ceilings stay legible.
            let label_y = if i % 2 == 0 { y - 4.0 } else { y + 13.0 };
            *svg += &format!(
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"{colour}\" \
                 stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n\
                 <text x=\"{}\" y=\"{label_y:.1}\" text-anchor=\"end\" font-size=\"11\" \
                 fill=\"{colour}\">ceiling ({})</text>\n",
                x1 - 4.0,
                escape(curve.channel)
            );
        }
        let points: Vec<String> = curve
            .rates
            .iter()
            .enumerate()
            .map(|(j, rate)| {
                // Each window's rate is drawn at its middle.
                let seconds = (j as f64 + 0.5) * bin_ms / 1000.0;
                format!("{:.1},{:.1}", sx(seconds), sy(*rate))
            })
            .collect();
        *svg += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\" \
             stroke-linejoin=\"round\" points=\"{}\"/>\n",
            points.join(" ")
        );
    }
    *svg += "</g>\n";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{run, size};

    /// Every tag closed in order, no stray `<` or `&` in text: enough of XML well-formedness for
    /// what this module writes (no comments, CDATA or processing instructions).
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open])?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            if tag.contains('<') {
                return Err(format!("'<' inside tag {tag:?}"));
            }
            let name = tag
                .trim_start_matches('/')
                .split_whitespace()
                .next()
                .unwrap_or("");
            if let Some(closing) = tag.strip_prefix('/') {
                if stack.pop() != Some(closing.trim()) {
                    return Err(format!("unbalanced </{closing}>"));
                }
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            if stack.is_empty() && !rest[close + 1..].trim().is_empty() {
                return Err("content after the root element".into());
            }
            rest = &rest[close + 1..];
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?}"))
        }
    }

    fn check_text(text: &str) -> Result<(), String> {
        let entities = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
        for (i, _) in text.match_indices('&') {
            if !entities.iter().any(|e| text[i..].starts_with(e)) {
                return Err(format!("bare '&' in {text:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn svg_is_well_formed_with_one_polyline_per_channel_per_panel() {
        let sizes = [
            size(
                100_000,
                1,
                vec![
                    run("sms", 100_000, 2000.0, 5000.0),
                    run("email", 100_000, 900.0, 1200.0),
                ],
            ),
            size(
                1_000,
                1,
                vec![
                    run("sms", 1_000, 500.0, 5000.0),
                    run("email", 1_000, 300.0, 1200.0),
                ],
            ),
            size(10_000, 1, vec![run("sms", 10_000, 1000.0, 5000.0)]),
        ];
        let svg = render_svg(&sizes);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        well_formed(&svg).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 5);
        assert_eq!(svg.matches("<g>").count(), 3);
        assert_eq!(svg.matches(">ceiling (sms)<").count(), 3);
        assert_eq!(svg.matches(">ceiling (email)<").count(), 2);
        // Smallest first.
        let order: Vec<usize> = [
            "1 000 subscribers",
            "10 000 subscribers",
            "100 000 subscribers",
        ]
        .iter()
        .map(|t| svg.find(&format!(">{t}<")).unwrap())
        .collect();
        assert!(order.is_sorted(), "{order:?}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn svg_escapes_text_and_survives_empty_or_odd_input() {
        let mut odd = run("a<b&c", 10, 10.0, f64::NAN);
        odd.series = vec![(f64::NAN, 3), (-5.0, 2)];
        let svg = render_svg(&[size(10, 1, vec![odd])]);
        well_formed(&svg).unwrap();
        assert!(svg.contains("a&lt;b&amp;c") && !svg.contains("ceiling (a"));
        let empty = render_svg(&[]);
        well_formed(&empty).unwrap();
        assert!(empty.contains("No runs.") && !empty.contains("<polyline"));
        assert!(well_formed("<svg><g></svg>").is_err() && well_formed("<svg>a & b</svg>").is_err());
    }

    #[test]
    fn rates_turn_100_ms_buckets_into_deliveries_per_second() {
        // 50 per 100 ms for a second, with one bucket missing from the series.
        let series: Vec<(f64, u64)> = (0..10)
            .filter(|i| *i != 5)
            .map(|i| (i as f64 * BUCKET_MS, 50))
            .collect();
        let r = rates(&series, BUCKET_MS);
        assert_eq!((r.len(), r[0], r[1], r[9]), (10, 500.0, 500.0, 500.0));
        assert!(
            (r[5] - 1000.0 / 3.0).abs() < 1e-9,
            "the gap is smoothed, not skipped: {r:?}"
        );
        // Wider windows give the same rate.
        assert_eq!(rates(&series, 200.0)[0], 500.0);
        assert!(rates(&[], BUCKET_MS).is_empty());
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(7.3, 8.0), 1.0);
        assert_eq!(nice_step(123_000.0, 5.0), 50_000.0);
        assert_eq!(nice_step(0.9, 8.0), 0.2);
        assert_eq!((decimals(0.2), decimals(0.05), decimals(5.0)), (1, 2, 0));
    }
}
