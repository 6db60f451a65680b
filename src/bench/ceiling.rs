//! The ceilings a run is compared with, measured on this machine just before it: raw HTTP
//! requests to the stand-in, raw SMTP sends to the sink. Nothing of Tocsin's pipeline runs in
//! them, so they bound what the pipeline could reach here and now.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::json;

/// Requests per second that `connections` clients, each looping on its own kept-alive
/// connection, get from the stand-in in `duration`, with requests of the adapter's shape.
pub async fn http_rate(
    base_url: &str,
    api_key: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .build()?;
    let url = format!("{base_url}/sms/v1/messages");
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let (http, url, done, key) = (http.clone(), url.clone(), done.clone(), api_key.to_string());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let body = json!({
                    "recipient": { "to": format!("3361{worker:04}{n:04}") },
                    "body": { "text": "Alerte orange orages cet apres-midi : evitez les deplacements." },
                    "refClient": format!("dlv_{worker}{n}"),
                });
                let response = http
                    .post(&url)
                    .header("X-Api-Key", &key)
                    .header("Accept", "application/json")
                    .json(&body)
                    .send()
                    .await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("the stand-in answered {status}");
                }
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Messages per second postfix's `smtp-source` sends to the sink over `sessions` parallel
/// sessions, each reusing its connection (`-d`), as Tocsin's pooled transport does.
pub fn smtp_rate(port: u16, sessions: usize, messages: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let status = Command::new("smtp-source")
        .args([
            "-d",
            "-s",
            &sessions.to_string(),
            "-m",
            &messages.to_string(),
            "-l",
            "600",
        ])
        .args([
            "-f",
            "alertes@bench.example.org",
            "-t",
            "habitant@example.org",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .status()
        .context("cannot run smtp-source (Debian package postfix)")?;
    if !status.success() {
        bail!("smtp-source failed: {status}");
    }
    Ok(messages as f64 / started.elapsed().as_secs_f64())
}
