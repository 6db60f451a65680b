//! `tocsin schedule …`: recurring alerts, through the HTTP API.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    ApiArgs,
    client::{Api, parse_duration, print_json},
};

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// Send an alert at every occurrence of a cron expression, on the commune's local clock:
    /// `tocsin schedule add --topic dechets --cron "0 19 * * MON" --text "…"`.
    Add {
        /// Topic slug whose subscribers receive each alert.
        #[arg(long)]
        topic: String,
        /// Five fields: minute hour day-of-month month day-of-week ("0 19 * * MON").
        #[arg(long)]
        cron: String,
        /// The message.
        #[arg(long)]
        text: String,
        /// IANA time zone (Europe/Paris, Indian/Reunion…); the tenant's when absent.
        #[arg(long)]
        tz: Option<String>,
        /// Channels, comma-separated: sms, email (default: both).
        #[arg(long, value_delimiter = ',')]
        channels: Option<Vec<String>>,
        /// E-mail subject (default: derived from the text).
        #[arg(long)]
        subject: Option<String>,
        /// Urgent occurrences ignore quiet hours.
        #[arg(long)]
        urgent: bool,
        /// What is left unsent this long after each start expires: `30m`, `2h`, `1d`.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<u64>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List the tenant's schedules with their next occurrence.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Pause a schedule: nothing is sent until it is resumed.
    Pause {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Resume a paused schedule from now on.
    Resume {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Remove a schedule.
    Remove {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show the next occurrences in local time, to check a schedule before trusting it.
    Next {
        id: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show what became of past occurrences: fired (with the alert), missed or failed.
    Runs {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

pub async fn run(command: ScheduleCommand) -> anyhow::Result<()> {
    match command {
        ScheduleCommand::Add {
            topic,
            cron,
            text,
            tz,
            channels,
            subject,
            urgent,
            expires,
            api: args,
        } => {
            let body = json!({
                "topic": topic, "cron": cron, "text": text, "time_zone": tz,
                "channels": channels, "subject": subject, "urgent": urgent, "expires_in": expires,
            });
            let (_, schedule) = Api::new(&args)?.post("/v1/schedules", &body).await?;
            if args.json {
                print_json(&schedule);
            } else {
                println!(
                    "schedule {} created; next: {}",
                    schedule["id"].as_str().unwrap_or_default(),
                    schedule["next"].as_str().unwrap_or("never")
                );
            }
        }
        ScheduleCommand::List { api: args } => {
            let body = Api::new(&args)?.get("/v1/schedules").await?;
            if args.json {
                print_json(&body);
            } else {
                for s in body["schedules"].as_array().into_iter().flatten() {
                    print_line(s);
                }
            }
        }
        ScheduleCommand::Pause { id, api: args } => change(&args, &id, "pause").await?,
        ScheduleCommand::Resume { id, api: args } => change(&args, &id, "resume").await?,
        ScheduleCommand::Remove { id, api: args } => {
            let api = Api::new(&args)?;
            api.call(api.request(Method::DELETE, &format!("/v1/schedules/{id}"))?)
                .await?;
            if args.json {
                print_json(&json!({ "id": id, "removed": true }));
            } else {
                println!("schedule {id} removed");
            }
        }
        ScheduleCommand::Next {
            id,
            count,
            api: args,
        } => {
            let body = Api::new(&args)?
                .get(&format!("/v1/schedules/{id}/next?count={count}"))
                .await?;
            if args.json {
                print_json(&body);
            } else {
                for at in body["occurrences"].as_array().into_iter().flatten() {
                    println!("{}", at.as_str().unwrap_or_default());
                }
            }
        }
        ScheduleCommand::Runs { id, api: args } => {
            let body = Api::new(&args)?
                .get(&format!("/v1/schedules/{id}/runs"))
                .await?;
            if args.json {
                print_json(&body);
            } else {
                for r in body["runs"].as_array().into_iter().flatten() {
                    println!(
                        "{:<26} {:<7} {}",
                        r["occurrence"].as_str().unwrap_or_default(),
                        r["outcome"].as_str().unwrap_or_default(),
                        r["alert"]
                            .as_str()
                            .or(r["reason"].as_str())
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Pauses or resumes, and shows the schedule as it now is.
async fn change(args: &ApiArgs, id: &str, verb: &str) -> anyhow::Result<()> {
    let api = Api::new(args)?;
    let path = format!("/v1/schedules/{id}/{verb}");
    let (_, schedule) = api.call(api.request(Method::POST, &path)?).await?;
    if args.json {
        print_json(&schedule);
    } else {
        print_line(&schedule);
    }
    Ok(())
}

fn print_line(s: &Value) {
    println!(
        "{:<36} {:<7} {:<16} {:<20} {:<16} next {}",
        s["id"].as_str().unwrap_or_default(),
        s["state"].as_str().unwrap_or_default(),
        s["cron"].as_str().unwrap_or_default(),
        s["time_zone"].as_str().unwrap_or_default(),
        s["topic"].as_str().unwrap_or_default(),
        s["next"].as_str().unwrap_or("-")
    );
}
