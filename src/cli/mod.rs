//! The `tocsin` command line: operator commands talk to PostgreSQL directly, client commands to
//! the HTTP API. Arguments become validated values before any I/O.

mod audit;
mod bench;
mod client;
mod demo;
mod doctor;
mod keys;
mod log_line;
mod manual;
mod ops;
mod proof;
mod schedule;
mod tenants;
mod tree;
mod usage;
mod users;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Warn a whole commune in seconds: SMS, e-mail, Web Push and voice calls to subscribed \
             citizens"
)]
struct Cli {
    /// Configuration file (TOML); TOCSIN_* environment variables override it.
    #[arg(long, global = true, env = "TOCSIN_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed and apply its migrations: an explicit step, after
    /// installing and before restarting on each upgrade (`serve` refuses a database that needs
    /// them).
    Migrate,
    /// Run the daemon: HTTP API, fan-out and senders, consuming from RabbitMQ.
    Serve,
    /// Manage tenants (communes, intercommunalities, départements).
    #[command(subcommand)]
    Tenant(tenants::TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// People of the console: invite, list, remove, start over.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Rotate the keys derived from the server's secret, and retire the old ones.
    #[command(subcommand)]
    Secrets(keys::SecretsCommand),
    /// An alert's proof (`alert proof alr_… --pdf proof.pdf --csv recipients.csv`).
    #[command(subcommand)]
    Alert(proof::AlertCommand),
    /// The audit log: list its entries, verify its chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// A month's usage per tenant, for re-invoicing: alerts, messages, SMS segments, cost.
    Usage(usage::UsageArgs),
    /// Check what a running Tocsin needs, one line each, with the fix of what fails.
    ///
    /// Configuration, PostgreSQL (reachable, migrated), RabbitMQ (credentials, permissions,
    /// quorum queues), each provider's host (nothing sent), the public URL, the file limit, the
    /// clock. Exits with 1 when a check fails.
    Doctor,
    /// Ask this machine's instance whether it is ready (`/readyz`, at http_addr): exits with 0
    /// when it is. The container image's health check.
    Healthcheck {
        /// Ask this URL instead.
        #[arg(long)]
        url: Option<String>,
    },
    /// Check the configuration.
    #[command(subcommand)]
    Config(ops::ConfigCommand),
    /// Inspect and replay the dead-letter queue.
    #[command(subcommand)]
    Dead(ops::DeadCommand),
    /// Web Push identity (VAPID).
    #[command(subcommand)]
    Vapid(ops::VapidCommand),
    /// Manage topics (through the API).
    #[command(subcommand)]
    Topics(client::TopicsCommand),
    /// Manage subscribers (through the API).
    #[command(subcommand)]
    Subscribers(client::SubscribersCommand),
    /// Send an alert (through the API).
    Send(client::SendArgs),
    /// Show an alert's delivery report (through the API).
    Status(client::StatusArgs),
    /// Cancel an alert that has not started yet (timed with `send --at`, or waiting for the end
    /// of quiet hours).
    Cancel(client::CancelArgs),
    /// Stop an alert under way, sent by mistake: nothing more of it leaves (the batches being
    /// sent finish); one that has not started is cancelled.
    Stop(client::CancelArgs),
    /// Recurring alerts on the commune's local clock (through the API).
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Rehearse: a demo commune with a few thousand subscribers, an urgent alert through the real
    /// pipeline to simulated providers, and its delivery report.
    Demo(demo::DemoArgs),
    /// Print the completion script of a shell (bash, zsh, fish) on stdout.
    Completions(manual::CompletionsArgs),
    /// Write the man pages into a directory (the package's are made this way).
    #[command(hide = true)]
    ManPages {
        /// Where to write them.
        dir: PathBuf,
    },
    /// Measure how fast a whole commune is warned, against this machine's own ceilings
    /// (from a source checkout: runs `tocsin-bench`, built when stale; its options:
    /// `tocsin bench --help`).
    #[command(disable_help_flag = true)]
    Bench {
        /// The benchmark's options, passed on to `tocsin-bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// Options of every command that talks to the HTTP API.
#[derive(Args, Clone)]
pub struct ApiArgs {
    /// Base URL of the Tocsin API.
    #[arg(long, env = "TOCSIN_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API key of the tenant (printed once by `tocsin key create`).
    #[arg(long, env = "TOCSIN_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// With a key given on a group or the platform: the slug of the tenant of its subtree to
    /// act on (sent as `Tocsin-Tenant`). Default: the key's own tenant.
    #[arg(long, env = "TOCSIN_TENANT")]
    tenant: Option<String>,
    /// Print the API's JSON answer, for scripts.
    #[arg(long)]
    json: bool,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Bench { args } = cli.command {
        let error = bench::hand_over(cli.config.as_deref(), args).unwrap_err();
        eprintln!("error: {error:#}");
        return ExitCode::FAILURE;
    }
    init_logging(cli.log_format, matches!(cli.command, Command::Demo(_)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Migrate => ops::migrate(config).await,
        Command::Serve => ops::serve(config).await,
        Command::Tenant(command) => tenants::tenant(config, command).await,
        Command::Key(command) => keys::key(config, command).await,
        Command::User(command) => users::user(config, command).await,
        Command::Secrets(command) => keys::secrets(config, command).await,
        Command::Usage(args) => usage::run(config, args).await,
        Command::Audit(command) => audit::run(config, command).await,
        Command::Alert(command) => proof::run(config, command).await,
        Command::Config(command) => ops::config(config, command),
        Command::Doctor => doctor::run(config).await,
        Command::Healthcheck { url } => ops::healthcheck(config, url).await,
        Command::Dead(command) => ops::dead(config, command).await,
        Command::Vapid(command) => ops::vapid(command),
        Command::Topics(command) => client::topics(command).await,
        Command::Subscribers(command) => client::subscribers(command).await,
        Command::Send(args) => client::send(args).await,
        Command::Status(args) => client::status(args).await,
        Command::Cancel(args) => client::cancel(args).await,
        Command::Stop(args) => client::stop(args).await,
        Command::Schedule(command) => schedule::run(command).await,
        Command::Demo(args) => demo::run(config, args).await,
        Command::Completions(args) => {
            manual::completions(args);
            Ok(())
        }
        Command::ManPages { dir } => manual::man_pages(&dir),
        Command::Bench { .. } => unreachable!("handed over in main"),
    }
}

fn init_logging(format: LogFormat, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else {
        "info,tower_http=warn,sqlx=warn,lapin=warn"
    };
    let filter = EnvFilter::try_from_env("TOCSIN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => {
            // Colours only for a person at a terminal; a journal gets plain, escaped lines.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            builder
                .with_ansi(ansi)
                .with_writer(log_line::SingleLineStderr { ansi })
                .init()
        }
        LogFormat::Json => builder.json().with_writer(std::io::stderr).init(),
    }
}
