//! The ceilings a run is compared with, measured on this machine just before it: raw HTTP
//! requests to the stand-ins, raw SMTP sends to the sink. Nothing of Tocsin's pipeline runs in
//! them, so they bound what the pipeline could reach here and now.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::json;
use tocsin_providers::push::crypto::VapidKey;

/// Requests per second that `connections` clients, each looping on its own kept-alive
/// connection, get from the SMS stand-in in `duration`, with requests of the adapter's shape.
pub async fn http_rate(
    base_url: &str,
    api_key: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let url = format!("{base_url}/sms/v1/messages");
    let api_key = api_key.to_string();
    request_rate(connections, duration, move |http, worker, n| {
        let body = json!({
            "recipient": { "to": format!("3361{worker:04}{n:04}") },
            "body": { "text": "Alerte orange orages cet apres-midi : evitez les deplacements." },
            "refClient": format!("dlv_{worker}{n}"),
        });
        http.post(&url)
            .header("X-Api-Key", &api_key)
            .header("Accept", "application/json")
            .json(&body)
    })
    .await
}

/// Calls per second that `connections` clients, each looping on its own kept-alive connection,
/// get from the Twilio stand-in's Calls API in `duration`, with requests of the adapter's shape
/// (providers/src/voice/twilio/client.rs: the same fields, URLs of about the same length). The
/// calls' TwiML and callbacks go to `callback_base`; their callees keep playing after this
/// returns (see voice::ceiling).
pub async fn call_rate(
    base_url: &str,
    (account_sid, auth_token): (&str, &str),
    callback_base: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let url = format!("{base_url}/2010-04-01/Accounts/{account_sid}/Calls.json");
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{auth_token}"))
    );
    // The daemon's URLs: /cb/twilio/{callback token, ~80 characters}/voice/{delivery} and
    // /status?ref={delivery}.
    let callback = format!("{callback_base}/cb/twilio/{}", "0".repeat(80));
    request_rate(connections, duration, move |http, worker, n| {
        let reference = format!("dlv_{:032}", worker as u64 * 1_000_000 + n);
        let form = [
            ("To", format!("+3332{worker:03}{n:04}")),
            ("From", "+33937000000".to_string()),
            ("Url", format!("{callback}/voice/{reference}")),
            ("Method", "POST".into()),
            (
                "StatusCallback",
                format!("{callback}/status?ref={reference}"),
            ),
            ("StatusCallbackMethod", "POST".into()),
            ("StatusCallbackEvent", "answered".into()),
            ("StatusCallbackEvent", "completed".into()),
            ("Timeout", "30".into()),
            ("MachineDetection", "DetectMessageEnd".into()),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        http.post(&url)
            .header("Authorization", &authorization)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    })
    .await
}

/// What one push of the benchmark's alert looks like on the wire, so that the ceiling's
/// requests weigh what the daemon's do.
pub struct PushShape {
    /// A real `vapid t=…, k=…` value for the stand-in's origin: the same length as the
    /// daemon's, whose JWT carries the same claims.
    pub authorization: String,
    /// Octets of the encrypted body (see [`push_body_len`]).
    pub body_len: usize,
}

impl PushShape {
    pub fn new(push_base_url: &str, subject: &str, body_len: usize) -> anyhow::Result<PushShape> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let endpoint = url::Url::parse(&format!("{push_base_url}/push/ceiling"))?;
        let authorization =
            VapidKey::generate()?.vapid_header(&endpoint, subject, now + 12 * 3600, now)?;
        Ok(PushShape {
            authorization,
            body_len,
        })
    }
}

/// The octets of one encrypted push of the benchmark's alert: the JSON payload the adapter
/// builds (providers/src/push/webpush/request.rs: commune, subject, text, the alert's page,
/// urgent, the alert id as tag), plus RFC 8291's 86-octet header, the padding delimiter and the
/// 16-octet tag of its one record. Exact when the fields are the daemon's; the alert's page URL
/// is guessed from the daemon's address, within a few octets.
pub fn push_body_len(commune: &str, subject: &str, text: &str, public_url: &str) -> usize {
    // Ids are 32 hex digits (a UUID's simple form), in the page URL and the tag alike.
    let id = "0".repeat(32);
    let payload = json!({
        "commune": commune,
        "subject": subject,
        "text": text,
        "url": format!("{}/a/{id}", public_url.trim_end_matches('/')),
        "urgent": true,
        "tag": id,
    });
    payload.to_string().len() + 86 + 1 + 16
}

/// Pushes per second that `connections` clients, each looping on its own kept-alive
/// connection, get from the push service stand-in in `duration`, with requests of `shape`:
/// the adapter's headers and a body of the same length (not ciphertext: the counting stand-in
/// does not decrypt, and neither does a real push service).
pub async fn push_rate(
    base_url: &str,
    shape: &PushShape,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let base_url = base_url.to_string();
    let authorization = shape.authorization.clone();
    let body = vec![0x5a_u8; shape.body_len];
    request_rate(connections, duration, move |http, worker, n| {
        http.post(format!("{base_url}/push/ceiling-{worker}-{n}"))
            .header("Authorization", &authorization)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("TTL", "86399")
            .header("Urgency", "high")
            .header("Topic", "0123456789abcdef0123456789abcdef")
            .body(body.clone())
    })
    .await
}

/// Requests per second that `connections` workers, each looping on its own kept-alive HTTP/1.1
/// connection with requests from `request(client, worker, n)`, get in `duration`. Any answer
/// but a 2xx fails the measurement: a ceiling of refusals would mean nothing.
async fn request_rate<F>(connections: usize, duration: Duration, request: F) -> anyhow::Result<f64>
where
    F: Fn(&reqwest::Client, usize, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let http = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .build()?;
    let request = Arc::new(request);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let (http, done, request) = (http.clone(), done.clone(), request.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let response = request(&http, worker, n).send().await?;
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

#[cfg(test)]
mod tests {
    use tocsin_providers::push::crypto::{encrypt, parse_auth, parse_p256dh};

    use super::*;

    #[test]
    fn the_push_body_length_is_that_of_the_payload_encrypted() {
        let (commune, subject, text) = ("Bench 10000", "Alerte orages", "Évitez les quais.");
        let url = "http://127.0.0.1:41234/";
        let payload = json!({
            "commune": commune, "subject": subject, "text": text,
            "url": format!("http://127.0.0.1:41234/a/{}", "f".repeat(32)),
            "urgent": true, "tag": "f".repeat(32),
        });
        let key = VapidKey::generate().unwrap();
        let p256dh = parse_p256dh(&key.public_key_base64url()).unwrap();
        let auth = parse_auth("BTBZMqHH6r4Tts7J_aSIgg").unwrap();
        let body = encrypt(&p256dh, &auth, payload.to_string().as_bytes(), 4096).unwrap();
        assert_eq!(push_body_len(commune, subject, text, url), body.len());
    }
}
