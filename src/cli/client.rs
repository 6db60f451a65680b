//! Client commands: thin wrappers over the HTTP API, with readable output or `--json`.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::ApiArgs;

#[derive(Subcommand)]
pub enum TopicsCommand {
    /// Create a topic: `tocsin topics add intemperies --name "Intempéries"`.
    Add {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List the tenant's topics.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Subcommand)]
pub enum SubscribersCommand {
    /// Add a subscriber (or add topics to the one with this phone, e-mail or fixed line).
    Add {
        /// Mobile number, French national form or international (+33…): SMS, and calls when an
        /// alert names voice.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Fixed line ("03 29 84 12 34", a home box's 09…): called by voice only.
        #[arg(long)]
        landline: Option<String>,
        /// Topic slug; repeat the flag or separate with commas.
        #[arg(long = "topic", required = true, value_delimiter = ',')]
        topics: Vec<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Import a CSV file with the header `phone,email,topics` (topics separated by `;`), and
    /// optionally a `landline` column.
    Import {
        file: PathBuf,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List every subscriber.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show a subscriber: addresses, topics, and their consents (when, how, for what).
    Show {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Print everything held about a subscriber as JSON (right of access): addresses, topics,
    /// consents and the messages sent to them.
    Export {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Remove a subscriber by id (sub_…).
    Remove {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Args)]
pub struct SendArgs {
    /// Topic slug whose subscribers receive the alert.
    #[arg(long)]
    topic: String,
    /// Urgent alerts travel in their own lane, ahead of routine messages.
    #[arg(long)]
    urgent: bool,
    /// The message.
    #[arg(long)]
    text: String,
    /// E-mail subject (default: derived from the text).
    #[arg(long)]
    subject: Option<String>,
    /// Channels, comma-separated: sms, email, push, voice (default: sms, email and push, and
    /// voice to fixed lines where the commune turned it on; naming voice calls mobiles too).
    #[arg(long, value_delimiter = ',')]
    channels: Option<Vec<String>>,
    /// Sending again with the same key returns the same alert instead of a second one.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// After this long nothing more is sent and what is left expires: `90s`, `30m`, `2h`, `1d`
    /// (default: 6h for urgent alerts, 24h for others).
    #[arg(long, value_parser = parse_duration)]
    expires: Option<u64>,
    /// Start later: "2026-12-01 07:00" (the commune's local time) or RFC 3339 with an offset.
    /// Until then `tocsin cancel ID` calls it off.
    #[arg(long)]
    at: Option<String>,
    /// Show progress until every delivery has left the queue, then print the report.
    #[arg(long)]
    wait: bool,
    /// Send nothing: print whom it would reach, the SMS encoding and segments, and the cost.
    #[arg(long)]
    dry_run: bool,
    /// Rewrite the text to stay in GSM-7 (ê→e, ’→', « »→", no-break spaces→spaces): more
    /// characters per SMS; with --dry-run, segments before and after are shown.
    #[arg(long)]
    gsm7: bool,
    /// With a group's key: `all`, or the member communes' slugs separated by commas. Each
    /// commune's subscribers of the topic get it from their commune's own sender.
    #[arg(long)]
    communes: Option<String>,
    /// A drill: every message begins with "EXERCICE – ", and it counts apart from real alerts.
    #[arg(long)]
    exercise: bool,
    /// Calls not confirmed (no answer, busy, hung up, an answering machine) are placed again
    /// until the citizen presses 1, up to `[voice] max_calls`.
    #[arg(long)]
    until_acknowledged: bool,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Args)]
pub struct CancelArgs {
    /// The alert id (alr_…).
    id: String,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// The alert id (alr_…).
    id: String,
    /// List the deliveries that failed, with their masked address and reason: whom to phone.
    #[arg(long, conflicts_with = "unacknowledged")]
    failed: bool,
    /// List the deliveries of everyone who did not confirm the alert (pressed 1), reached or
    /// not, masked: whom to check on.
    #[arg(long)]
    unacknowledged: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// An HTTP client for one API base URL and key.
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    /// Sent as `Tocsin-Tenant`.
    tenant: Option<String>,
}

impl Api {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Api> {
        let base = args.url.trim_end_matches('/').to_string();
        url::Url::parse(&base).with_context(|| format!("--url {base:?} is not a URL"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            http,
            base,
            key: args.api_key.clone(),
            tenant: args.tenant.clone(),
        })
    }

    pub fn request(&self, method: Method, path: &str) -> anyhow::Result<RequestBuilder> {
        let key = self
            .key
            .as_deref()
            .context("no API key: pass --api-key or set TOCSIN_API_KEY")?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(tenant) = &self.tenant {
            request = request.header("Tocsin-Tenant", tenant);
        }
        Ok(request)
    }

    /// Sends and returns the status and JSON body; an API error becomes a readable error.
    pub async fn call(&self, request: RequestBuilder) -> anyhow::Result<(StatusCode, Value)> {
        let (status, body, _) = self.exchange(request).await?;
        answered(status, body)
    }

    /// Sends and returns the status, the JSON body and the wait asked for (`Retry-After`, in
    /// seconds), whatever the status.
    async fn exchange(
        &self,
        request: RequestBuilder,
    ) -> anyhow::Result<(StatusCode, Value, Option<Duration>)> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the Tocsin API at {}", self.base))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .map(Duration::from_secs);
        let text = response.text().await?;
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, body, retry_after))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.call(self.request(Method::GET, path)?).await?.1)
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        self.call(self.request(Method::POST, path)?.json(body))
            .await
    }
}

/// The status and body of a success; an API error as a readable error.
fn answered(status: StatusCode, body: Value) -> anyhow::Result<(StatusCode, Value)> {
    if status.is_success() {
        return Ok((status, body));
    }
    let error = &body["error"];
    match (error["message"].as_str(), error["field"].as_str()) {
        (Some(message), Some(field)) => bail!("{message} (field {field}, HTTP {status})"),
        (Some(message), None) => bail!("{message} (HTTP {status})"),
        _ => bail!("HTTP {status}: {body}"),
    }
}

/// How long `subscribers import` keeps sending its register while the instance answers that
/// other imports are under way (503 `busy`).
const IMPORT_PATIENCE: Duration = Duration::from_secs(10 * 60);
/// The wait between two tries when the API's answer does not say (`Retry-After`).
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// Sends a register until the instance takes it: an instance takes two imports at a time and
/// answers any more 503 `busy` at once (with `Retry-After`), so a script need not try again by
/// itself.
async fn import_when_taken(api: &Api, csv: Vec<u8>) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        // A large register takes minutes to import; the default timeout would give up first.
        let request = api
            .request(Method::POST, "/v1/subscribers/import")?
            .header("Content-Type", "text/csv")
            .timeout(Duration::from_secs(30 * 60))
            .body(csv.clone());
        let (status, body, retry_after) = api.exchange(request).await?;
        let busy = status == StatusCode::SERVICE_UNAVAILABLE && body["error"]["code"] == "busy";
        if !busy || started.elapsed() > IMPORT_PATIENCE {
            return answered(status, body).map(|(_, report)| report);
        }
        let wait = retry_after.unwrap_or(BUSY_RETRY);
        eprintln!("other imports are under way on the instance; trying again in {wait:?}");
        tokio::time::sleep(wait).await;
    }
}

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON prints")
    );
}

pub async fn topics(command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Add {
            slug,
            name,
            api: args,
        } => {
            let api = Api::new(&args)?;
            let (_, topic) = api
                .post("/v1/topics", &json!({ "slug": slug, "name": name }))
                .await?;
            if args.json {
                print_json(&topic);
            } else {
                println!(
                    "topic {} created ({})",
                    topic["slug"].as_str().unwrap_or_default(),
                    topic["id"].as_str().unwrap_or_default()
                );
            }
        }
        TopicsCommand::List { api: args } => {
            let body = Api::new(&args)?.get("/v1/topics").await?;
            if args.json {
                print_json(&body);
            } else {
                for t in body["topics"].as_array().into_iter().flatten() {
                    println!(
                        "{:<24} {:>8} subscribers  {}",
                        t["slug"].as_str().unwrap_or_default(),
                        t["subscribers"],
                        t["name"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn subscribers(command: SubscribersCommand) -> anyhow::Result<()> {
    match command {
        SubscribersCommand::Add {
            phone,
            email,
            landline,
            topics,
            api: args,
        } => {
            let api = Api::new(&args)?;
            let body = json!({ "phone": phone, "email": email, "landline": landline,
                               "topics": topics });
            let (status, subscriber) = api.post("/v1/subscribers", &body).await?;
            if args.json {
                print_json(&subscriber);
            } else {
                let verb = if status == StatusCode::CREATED {
                    "created"
                } else {
                    "already known, updated"
                };
                println!(
                    "subscriber {} {verb}",
                    subscriber["id"].as_str().unwrap_or_default()
                );
            }
        }
        SubscribersCommand::Import { file, api: args } => {
            let csv =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let api = Api::new(&args)?;
            let report = import_when_taken(&api, csv).await?;
            let errors = report["errors"].as_array().cloned().unwrap_or_default();
            if args.json {
                print_json(&report);
            } else {
                println!(
                    "imported {} rows: {} new, {} updated, {} unchanged; {} rejected",
                    report["imported"],
                    report["created"],
                    report["updated"],
                    report["unchanged"],
                    errors.len()
                );
                for e in &errors {
                    let field = e["field"]
                        .as_str()
                        .map(|f| format!("{f}: "))
                        .unwrap_or_default();
                    eprintln!(
                        "line {}: {field}{}",
                        e["line"],
                        e["reason"].as_str().unwrap_or_default()
                    );
                }
            }
            if !errors.is_empty() {
                bail!("{} rows rejected (the others were imported)", errors.len());
            }
        }
        SubscribersCommand::List { api: args } => {
            let api = Api::new(&args)?;
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let path = match &after {
                    Some(a) => format!("/v1/subscribers?limit=1000&after={a}"),
                    None => "/v1/subscribers?limit=1000".to_string(),
                };
                let page = api.get(&path).await?;
                all.extend(page["subscribers"].as_array().cloned().unwrap_or_default());
                match page["next"].as_str() {
                    Some(next) => after = Some(next.to_string()),
                    None => break,
                }
            }
            if args.json {
                print_json(&json!({ "subscribers": all }));
            } else {
                for s in &all {
                    let topics: Vec<&str> = s["topics"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    println!(
                        "{:<36} {:<16} {:<32} {}",
                        s["id"].as_str().unwrap_or_default(),
                        s["phone"].as_str().unwrap_or("-"),
                        s["email"].as_str().unwrap_or("-"),
                        topics.join(";")
                    );
                }
                eprintln!("{} subscribers", all.len());
            }
        }
        SubscribersCommand::Export { id, api: args } => {
            let api = Api::new(&args)?;
            print_json(&api.get(&format!("/v1/subscribers/{id}/export")).await?);
        }
        SubscribersCommand::Show { id, api: args } => {
            let api = Api::new(&args)?;
            let data = api.get(&format!("/v1/subscribers/{id}/export")).await?;
            if args.json {
                print_json(
                    &json!({ "subscriber": data["subscriber"], "consents": data["consents"] }),
                );
            } else {
                let s = &data["subscriber"];
                println!("{}", s["id"].as_str().unwrap_or_default());
                println!("  phone   {}", s["phone"].as_str().unwrap_or("-"));
                println!("  e-mail  {}", s["email"].as_str().unwrap_or("-"));
                let topics: Vec<&str> = s["topics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!("  topics  {}", topics.join(", "));
                println!("  consents:");
                for c in data["consents"].as_array().into_iter().flatten() {
                    let topics: Vec<&str> = c["topics"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let withdrawn = c["withdrawn_at"]
                        .as_str()
                        .map(|at| format!(", withdrawn {at}"))
                        .unwrap_or_default();
                    println!(
                        "    {} {:<5} {:<12} {}{withdrawn}",
                        c["at"].as_str().unwrap_or_default(),
                        c["channel"].as_str().unwrap_or_default(),
                        c["method"].as_str().unwrap_or_default(),
                        topics.join(", "),
                    );
                }
            }
        }
        SubscribersCommand::Remove { id, api: args } => {
            let api = Api::new(&args)?;
            api.call(api.request(Method::DELETE, &format!("/v1/subscribers/{id}"))?)
                .await?;
            if args.json {
                print_json(&json!({ "id": id, "removed": true }));
            } else {
                println!("subscriber {id} removed");
            }
        }
    }
    Ok(())
}

pub async fn send(args: SendArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api)?;
    let mut body = json!({
        "topic": args.topic,
        "text": args.text,
        "subject": args.subject,
        "urgent": args.urgent,
        "channels": args.channels,
        "expires_in": args.expires,
        "scheduled_at": args.at,
        "gsm7": args.gsm7,
        "exercise": args.exercise,
        "until_acknowledged": args.until_acknowledged,
    });
    if let Some(communes) = &args.communes {
        body["communes"] = match communes.trim() {
            "all" => json!("all"),
            list => json!(list.split(',').map(str::trim).collect::<Vec<_>>()),
        };
    }
    if args.dry_run && args.communes.is_some() {
        let (_, estimates) = api.post("/v1/alerts?dry_run=true", &body).await?;
        print_json(&estimates);
        return Ok(());
    }
    if args.dry_run {
        return dry_run(&api, body, &args).await;
    }
    let mut request = api.request(Method::POST, "/v1/alerts")?.json(&body);
    if let Some(key) = &args.idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let (_, accepted) = api.call(request).await?;
    let id = accepted["id"]
        .as_str()
        .context("the API answered without an alert id")?
        .to_string();
    let summary = match accepted["starts_at"].as_str() {
        // Recipients are counted as the alert is planned, after this answer: `status` tells.
        Some(start) => format!(
            "alert {id} scheduled for {start}; `tocsin cancel {id}` calls it off until then"
        ),
        None => format!("alert {id} accepted; `tocsin status {id}` follows it"),
    };
    if !args.wait {
        if args.api.json {
            print_json(&accepted);
        } else {
            println!("{summary}");
        }
        return Ok(());
    }
    if !args.api.json {
        eprintln!("{summary}");
    }
    let report = wait_for_completion(&api, &id, !args.api.json).await?;
    print_report(&report.body, args.api.json, Some(report.elapsed));
    Ok(())
}

/// Prints what the alert would do; with --gsm7, beside what it would do without the rewrite, and
/// without it, what the rewrite would change when the text is UCS-2.
async fn dry_run(api: &Api, mut body: Value, args: &SendArgs) -> anyhow::Result<()> {
    let (_, estimate) = api.post("/v1/alerts?dry_run=true", &body).await?;
    let is_ucs2 = estimate["channels"]["sms"]["encoding"] == "ucs2";
    let other = if args.gsm7 || is_ucs2 {
        body["gsm7"] = json!(!args.gsm7);
        Some(api.post("/v1/alerts?dry_run=true", &body).await?.1)
    } else {
        None
    };
    if args.api.json {
        let mut shown = estimate.clone();
        if let Some(other) = &other {
            let key = if args.gsm7 {
                "without_gsm7"
            } else {
                "with_gsm7"
            };
            shown[key] = other["channels"]["sms"].clone();
        }
        print_json(&shown);
        return Ok(());
    }
    println!(
        "dry run for topic {}: nothing is sent",
        estimate["topic"].as_str().unwrap_or_default()
    );
    for (channel, c) in estimate["channels"].as_object().into_iter().flatten() {
        let mut line = format!(
            "  {channel:<6} {} recipients via {}",
            c["recipients"],
            c["account"].as_str().unwrap_or_default()
        );
        if channel == "sms" {
            line.push_str(&format!(
                ", {} segment(s) each ({}, {} characters), {} segments in all",
                c["segments"],
                c["encoding"].as_str().unwrap_or_default(),
                c["units"],
                c["total_segments"]
            ));
        }
        if channel == "voice" {
            line.push_str(&format!(
                ", {} s spoken each (about 150 words a minute), {} minutes in all",
                c["seconds_per_call"], c["total_minutes"]
            ));
            if let (Some(rate), Some(seconds)) = (
                c["calls_per_second"].as_f64(),
                c["placing_seconds"].as_u64(),
            ) {
                line.push_str(&format!(
                    ", placed in {} at {rate} a second",
                    crate::model::french::duration(seconds)
                ));
            }
        }
        if let Some(amount) = c["cost"]["amount"].as_f64() {
            line.push_str(&format!(
                ", {amount:.2} {}",
                c["cost"]["currency"].as_str().unwrap_or_default()
            ));
        }
        println!("{line}");
        if channel == "voice" {
            println!(
                "         spoken: {}",
                c["script"].as_str().unwrap_or_default()
            );
        }
        if channel == "sms" {
            let forcing: Vec<&str> = c["ucs2_characters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !forcing.is_empty() {
                println!("         UCS-2 because of: {}", forcing.join(" "));
            }
        }
    }
    if let Some(other) = other {
        let sms = &other["channels"]["sms"];
        if args.gsm7 {
            println!(
                "  without --gsm7: {} segment(s) each ({})",
                sms["segments"],
                sms["encoding"].as_str().unwrap_or_default()
            );
        } else {
            println!(
                "  with --gsm7: {} segment(s) each ({}), sent as: {}",
                sms["segments"],
                sms["encoding"].as_str().unwrap_or_default(),
                other["text"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

pub struct Completed {
    pub body: Value,
    pub elapsed: Duration,
}

/// Polls the alert until no delivery is left in the queue, with a progress bar on a terminal.
pub async fn wait_for_completion(api: &Api, id: &str, progress: bool) -> anyhow::Result<Completed> {
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(0);
    if !progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} deliveries out  {per_sec}  {msg}",
        )
        .expect("a valid template"),
    );
    loop {
        let body = api.get(&format!("/v1/alerts/{id}")).await?;
        let (mut total, mut done) = (0u64, 0u64);
        for counts in body["counts"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            let queued = counts["queued"].as_u64().unwrap_or(0);
            let out = counts["sent"].as_u64().unwrap_or(0)
                + counts["delivered"].as_u64().unwrap_or(0)
                + counts["failed"].as_u64().unwrap_or(0);
            total += queued + out;
            done += out;
        }
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(body["status"].as_str().unwrap_or_default().to_string());
        if body["status"] == "completed" {
            bar.finish_and_clear();
            return Ok(Completed {
                body,
                elapsed: started.elapsed(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn cancel(args: CancelArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api)?;
    let path = format!("/v1/alerts/{}/cancel", args.id);
    let (_, report) = api.call(api.request(Method::POST, &path)?).await?;
    if args.api.json {
        print_json(&report);
    } else {
        println!("alert {} cancelled: nothing of it will be sent", args.id);
    }
    Ok(())
}

/// Stops an alert under way (or cancels it if it has not started), then prints its report.
pub async fn stop(args: CancelArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api)?;
    let path = format!("/v1/alerts/{}/stop", args.id);
    let (_, report) = api.call(api.request(Method::POST, &path)?).await?;
    if args.api.json {
        print_json(&report);
    } else {
        println!(
            "alert {} stopped: nothing more of it leaves; what had not left counts as expired",
            args.id
        );
    }
    Ok(())
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api)?;
    if args.failed {
        return listed_deliveries(&api, &args, "failed").await;
    }
    if args.unacknowledged {
        return listed_deliveries(&api, &args, "unacknowledged").await;
    }
    let body = api.get(&format!("/v1/alerts/{}", args.id)).await?;
    print_report(&body, args.api.json, None);
    Ok(())
}

/// Every delivery of an alert of `status` (or `unacknowledged`), page after page.
async fn listed_deliveries(api: &Api, args: &StatusArgs, status: &str) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!(
            "/v1/alerts/{}/deliveries?status={status}&limit=1000",
            args.id
        );
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page = api.get(&path).await?;
        all.extend(page["deliveries"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    if args.api.json {
        print_json(&json!({ "deliveries": all }));
        return Ok(());
    }
    for d in &all {
        println!(
            "{:<6} {:<24} {:<10} {:>2} attempts  {}",
            d["channel"].as_str().unwrap_or_default(),
            d["to"].as_str().unwrap_or_default(),
            d["status"].as_str().unwrap_or_default(),
            d["attempts"],
            d["error"].as_str().unwrap_or_default()
        );
    }
    eprintln!("{} {status} deliveries", all.len());
    Ok(())
}

/// `90s`, `30m`, `2h`, `1d`, or plain seconds, as seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 30m, 2h or 1d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}: use s, m, h or d")),
    };
    Ok(number * scale)
}

pub fn print_report(body: &Value, json: bool, elapsed: Option<Duration>) {
    if json {
        print_json(body);
        return;
    }
    let recipients = match body["recipients"].as_i64() {
        Some(n) => format!("{n} recipients"),
        None => "recipients not counted yet".into(),
    };
    println!(
        "alert {}  [{}]  topic {}  {recipients}",
        body["id"].as_str().unwrap_or_default(),
        body["status"].as_str().unwrap_or_default(),
        body["topic"].as_str().unwrap_or_default(),
    );
    if body["exercise"] == true {
        println!("  exercise: its messages begin with \"EXERCICE – \"");
    }
    if let Some(start) = body["starts_at"].as_str() {
        println!("  starts at {start}");
    }
    println!(
        "  {:<8} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9}",
        "channel", "queued", "retrying", "sent", "delivered", "failed", "expired"
    );
    for (channel, c) in body["counts"].as_object().into_iter().flatten() {
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        println!(
            "  {:<8} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9}",
            channel,
            n("queued"),
            n("retrying"),
            n("sent"),
            n("delivered"),
            n("failed"),
            n("expired")
        );
    }
    for (channel, t) in body["timings"].as_object().into_iter().flatten() {
        let seconds = |key: &str| t[key].as_i64().map(|ms| ms as f64 / 1000.0);
        let mut line = format!(
            "  {channel:<8} first sent after {:.2} s, last after {:.2} s",
            seconds("first_sent_ms").unwrap_or_default(),
            seconds("last_sent_ms").unwrap_or_default()
        );
        if let Some(p90) = seconds("delivered_90_ms") {
            line.push_str(&format!("; 90 % of delivered within {p90:.2} s"));
        }
        println!("{line}");
    }
    for commune in body["communes"].as_array().into_iter().flatten() {
        let part = &commune["report"];
        println!(
            "  {:<20} {} [{}] {} recipients",
            commune["commune"].as_str().unwrap_or_default(),
            part["id"].as_str().unwrap_or_default(),
            part["status"].as_str().unwrap_or_default(),
            part["recipients"].as_i64().unwrap_or(0)
        );
    }
    for commune in body["left_out"].as_array().into_iter().flatten() {
        let commune = commune.as_str().unwrap_or_default();
        println!("  {commune:<20} left out: no such topic");
    }
    if let Some(elapsed) = elapsed {
        println!(
            "  every delivery left the queue after {:.2} s",
            elapsed.as_secs_f64()
        );
    }
}
