//! `tocsin demo`: a rehearsal on this machine. It starts the daemon with simulated providers, in
//! a database and queues of its own (never a deployment's), creates a demo commune with a few
//! thousand subscribers, sends an urgent alert through the real pipeline and prints the report.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{
    ApiArgs,
    client::{self, Api},
    keys,
};
use crate::{
    api::KeyHasher,
    broker::{self, Topology},
    config::Config,
    model::{Role, Slug},
    reach::Service,
    store,
};

const TENANT: &str = "demo-bras-sur-meuse";
const TOPIC: &str = "intemperies";
const TEXT: &str = "Mairie de Bras-sur-Meuse : alerte orange orages cet après-midi. Évitez les déplacements et ne stationnez pas sous les arbres.";

#[derive(Args)]
pub struct DemoArgs {
    /// Number of demo subscribers (each has a phone number; two in three an e-mail too).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    subscribers: u32,
    /// Keep the daemon running after the alert, and print the console's address with a one-time
    /// link for a demo admin (Ctrl-C stops it).
    #[arg(long)]
    serve: bool,
}

pub async fn run(path: Option<&Path>, args: DemoArgs) -> anyhow::Result<()> {
    // The demo always uses the simulators, whatever the deployment routes to.
    let config = demo_config(Config::load_simulated(path).context("invalid configuration")?)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (database_url, amqp_url) = (config.database_url.clone(), config.amqp_url.clone());
    let secret = config
        .api_key_secret
        .clone()
        .expect("the demo sets a secret");
    let topology =
        Topology::new(config.queue_prefix.clone()).with_retry_tiers(&config.dispatch.retry.delays);
    let keys = topology.keys(config.account_routes());

    println!(
        "Tocsin demo: commune {TENANT}, {} subscribers, simulated SMS and e-mail providers",
        args.subscribers
    );
    // Said at once, or started when installed here, rather than retried for ever.
    crate::reach::ensure_running(&[
        Service::postgres(database_url.expose_secret())?,
        Service::rabbitmq(amqp_url.expose_secret())?,
    ])
    .await?;
    // The demo's database is its own: every rehearsal starts from an empty one.
    store::recreate_database(database_url.expose_secret())
        .await
        .context("cannot reach PostgreSQL")?;
    let db = store::connect_existing(database_url.expose_secret(), 1).await?;
    store::migrate(&db)
        .await
        .context("cannot migrate the demo's database")?;
    db.close().await;
    let shutdown = CancellationToken::new();
    let mut daemon = tokio::spawn(crate::run(config, listener, shutdown.clone()));
    let rehearsal = async {
        rehearse(
            &url,
            database_url.expose_secret(),
            &secret,
            args.subscribers,
        )
        .await?;
        if args.serve {
            let link = invite_demo_admin(&url, database_url.expose_secret()).await?;
            println!("\nThe console: {url}/console");
            println!(
                "A demo admin's one-time link (set a password, then a TOTP code from any authenticator app):\n  {link}"
            );
            println!("Ctrl-C stops the demo.");
            tokio::signal::ctrl_c().await?;
        }
        anyhow::Ok(())
    };
    // A daemon that stops early (it could not start) ends the demo with its own error.
    let (outcome, stopped) = tokio::select! {
        outcome = rehearsal => {
            shutdown.cancel();
            (outcome, daemon.await)
        }
        stopped = &mut daemon => (Ok(()), stopped),
    };
    // Leave the broker as we found it: the demo's queues are its own.
    broker::remove_topology(amqp_url.expose_secret(), &topology, &keys).await;
    outcome?;
    stopped
        .context("the daemon panicked")?
        .context("the daemon failed")?;
    Ok(())
}

/// A demo admin of the demo commune, and their invitation link.
async fn invite_demo_admin(url: &str, database_url: &str) -> anyhow::Result<String> {
    let db = store::connect(database_url, 1).await?;
    let tenant = store::tenants::find_by_slug(&db, TENANT)
        .await?
        .context("the demo commune")?;
    let invitation = crate::model::people::Invitation::new();
    let new = store::users::NewUser {
        tenant: tenant.id,
        email: "demo@bras-sur-meuse.example.org",
        name: "Admin de démonstration",
        role: Role::Admin,
        invited_by: "operator:demo",
    };
    store::users::create_invited(&db, &new, &invitation.digest, chrono::Utc::now()).await?;
    db.close().await;
    Ok(invitation.link(&url.parse()?))
}

/// The demo's own database (the configured name + `_demo`), queue prefix and providers.
fn demo_config(mut config: Config) -> anyhow::Result<Config> {
    let url = store::sibling_database_url(config.database_url.expose_secret(), "demo")
        .context("database_url is not a URL")?;
    config.database_url = SecretString::from(url);
    config.queue_prefix = format!("{}demo.", config.queue_prefix);
    config.routing.tenants.clear();
    config.api_key_secret = Some(SecretString::from(hex::encode(rand::random::<[u8; 32]>())));
    Ok(config)
}

async fn rehearse(
    url: &str,
    database_url: &str,
    secret: &SecretString,
    subscribers: u32,
) -> anyhow::Result<()> {
    let started = Instant::now();
    wait_until_up(url).await?;
    let db = store::connect(database_url, 2).await?;
    let slug = Slug::parse(TENANT).expect("a valid slug");
    store::tenants::create(&db, &slug, "Bras-sur-Meuse (démo)").await?;
    let secrets = store::key_versions::Secrets {
        current: secret.expose_secret().as_bytes(),
        previous: None,
    };
    let hasher = KeyHasher::new(store::key_versions::open(&db, secrets).await?);
    let (key, _) = keys::create_key(&db, &hasher, TENANT, Role::Admin).await?;
    db.close().await;
    let api = Api::new(&ApiArgs {
        url: url.to_string(),
        api_key: Some(key),
        tenant: None,
        json: false,
    })?;
    println!("  daemon up after {:.2} s", started.elapsed().as_secs_f64());

    api.post(
        "/v1/topics",
        &json!({ "slug": TOPIC, "name": "Intempéries" }),
    )
    .await?;
    let import_started = Instant::now();
    let csv = demo_csv(subscribers);
    let request = api
        .request(reqwest::Method::POST, "/v1/subscribers/import")?
        .header("Content-Type", "text/csv")
        .body(csv);
    let (_, report) = api.call(request).await?;
    println!(
        "  {} subscribers imported through the API in {:.2} s",
        report["imported"],
        import_started.elapsed().as_secs_f64()
    );

    let (_, accepted) = api
        .post(
            "/v1/alerts",
            &json!({ "topic": TOPIC, "urgent": true, "text": TEXT }),
        )
        .await?;
    let id = accepted["id"].as_str().context("no alert id")?.to_string();
    println!("  urgent alert {id} accepted; sending…");
    let done = client::wait_for_completion(&api, &id, true).await?;
    client::print_report(&done.body, false, Some(done.elapsed));
    for (channel, t) in done.body["timings"].as_object().into_iter().flatten() {
        let (first, last) = (
            t["first_sent_ms"].as_f64().unwrap_or(0.0),
            t["last_sent_ms"].as_f64().unwrap_or(0.0),
        );
        let counts = &done.body["counts"][channel];
        let n = counts["sent"].as_f64().unwrap_or(0.0)
            + counts["delivered"].as_f64().unwrap_or(0.0)
            + counts["failed"].as_f64().unwrap_or(0.0);
        let rate = if last > 0.0 { n / (last / 1000.0) } else { 0.0 };
        println!(
            "  {channel:<6} first handed to the provider {first:.0} ms after the API call, last after {last:.0} ms ({rate:.0}/s)"
        );
    }
    // Receipts trail the sends by a moment; show them once they are in.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let body = api.get(&format!("/v1/alerts/{id}")).await?;
    let delivered: Vec<String> = body["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(c, v)| format!("{c} {}", v["delivered"]))
        .collect();
    println!("  delivery receipts so far: {}", delivered.join(", "));
    Ok(())
}

/// Fictitious subscribers: numbers in the 06 99 range, addresses at example.org (reserved).
fn demo_csv(count: u32) -> String {
    let mut csv = String::from("phone,email,topics\n");
    for i in 0..count {
        let email = if i % 3 == 2 {
            String::new()
        } else {
            format!("habitant{i}@example.org")
        };
        csv.push_str(&format!(
            "06 99 {:02} {:02} {:02},{email},{TOPIC}\n",
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100
        ));
    }
    csv
}

async fn wait_until_up(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the daemon did not come up within 30 s (is PostgreSQL running?)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
