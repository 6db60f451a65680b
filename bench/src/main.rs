//! `tocsin-bench`: runs the benchmark and prints its figures. A binary of its own, so that the
//! benchmark and the provider stand-ins stay out of the daemon a host installs; `tocsin bench`
//! hands over to it in a source checkout.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use clap::{Args, Parser};
use tocsin::model::Channel;
use tocsin_bench::{self as bench, plot, report, targets};

#[derive(Parser)]
#[command(
    name = "tocsin-bench",
    version,
    about = "How fast Tocsin warns a whole commune, against the limits of this machine measured \
             in the same run"
)]
struct Cli {
    /// Configuration file (TOML) of the daemons under test; the benchmark brings its own
    /// providers and database (the configured one's sibling, `…_bench`).
    #[arg(long, env = "TOCSIN_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Quiet: the figures are the output; TOCSIN_LOG asks for more.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(cli.config.as_deref(), cli.args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    /// Sizes of the commune, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    subscribers: Vec<u64>,
    /// Channels to measure, comma-separated: sms, email, push, voice (calls to landlines,
    /// with a paced run at --calls-per-second).
    #[arg(long, value_delimiter = ',', default_value = "sms,email,push")]
    channels: Vec<String>,
    /// Runs per channel and size (default: 5 up to 10,000 subscribers, 3 up to 100,000, else 1;
    /// the pool run: 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: Option<u64>,
    /// Also send one alert through a pool of this many SMS accounts, each held to --rate by its
    /// stand-in (429 past it), with recipients for about 15 s of sending.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=32))]
    accounts: Option<u64>,
    /// Each pool account's limit, messages per second (with --accounts).
    #[arg(long, requires = "accounts", default_value_t = 200.0)]
    rate: f64,
    /// With voice: the account's calls per second in the paced run, as `[limits.twilio]
    /// per_second` (Twilio's default is 1); the run calls for about 15 s at it.
    #[arg(long, default_value_t = 1.0)]
    calls_per_second: f64,
    /// Print the figures as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Draw deliveries over time for each channel into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write the results as Markdown into this file (BENCHMARKS.md keeps the latest).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Where the daemon under test writes its log.
    #[arg(long, default_value = "tocsin-bench-daemon.log")]
    daemon_log: PathBuf,
}

async fn run(config: Option<&Path>, args: BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.subscribers.is_empty(),
        "--subscribers needs at least one size"
    );
    anyhow::ensure!(
        args.subscribers.iter().all(|&n| n > 0),
        "--subscribers: sizes must be positive"
    );
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; benchmark a release build (cargo run --release -- bench, or cargo run --release -p tocsin-bench)"
        );
    }
    let mut channels = args
        .channels
        .iter()
        .map(|c| c.parse::<Channel>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--channels: {e}"))?;
    // Each channel once, in the order given.
    let mut seen = Vec::new();
    channels.retain(|c| {
        !seen.contains(c) && {
            seen.push(*c);
            true
        }
    });
    anyhow::ensure!(
        args.rate.is_finite() && args.rate >= 1.0,
        "--rate: at least 1 message per second"
    );
    let pool = args.accounts.map(|accounts| bench::pool::PoolOptions {
        accounts: accounts as usize,
        per_second: args.rate,
    });
    anyhow::ensure!(
        args.calls_per_second.is_finite() && (0.1..=1000.0).contains(&args.calls_per_second),
        "--calls-per-second: between 0.1 and 1000 calls a second"
    );
    let pace = channels
        .contains(&Channel::Voice)
        .then_some(bench::voice::PaceOptions {
            per_second: args.calls_per_second,
        });
    let options = bench::Options {
        config: config.map(Path::to_path_buf),
        subscribers: args.subscribers.clone(),
        channels,
        runs: args.runs.map(|r| r as usize),
        log: args.daemon_log.clone(),
        pool,
        pace,
    };
    let results = bench::run(options).await?;
    let summaries = report::summarize(&results.sizes);
    let pool = report::summarize_pool(&results.pool);
    let paced = report::summarize_paced(&results.paced, &args.subscribers);
    let side = report::SideRuns {
        pool: pool.as_ref(),
        paced: paced.as_ref(),
    };
    let targets = targets::check_targets(&summaries, side);
    if args.json {
        let raw = (results.pool.as_slice(), results.paced.as_slice());
        let value = report::render_json(
            &results.machine,
            &results.sizes,
            &summaries,
            raw,
            side,
            &targets,
        );
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let text = report::render_text(&results.machine, &summaries, side, &targets);
        print!("{text}");
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::render_svg(&results.sizes))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("plot written to {}", path.display());
    }
    if let Some(path) = &args.markdown {
        let taken_at = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        let markdown =
            report::render_markdown(&results.machine, &summaries, side, &targets, &taken_at);
        std::fs::write(path, markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}
