//! Toll fraud through the public routes (issue 18 §3): a script rotating client addresses,
//! texting satellite and premium numbers, posting the commune's forms from another site and
//! texting keywords from numbers that should get no answer, cannot make the platform send past
//! its caps. The SMS are counted where they land, at the provider stand-in.
//!
//! Clients are told apart by their address: each simulated client binds its socket to an
//! address of its own in 127.0.0.0/8 (loopback only).

use std::{net::IpAddr, time::Duration};

use futures_util::{StreamExt, stream};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, Daemon, Env, PageVisitor};

/// A client whose requests leave from `127.0.a.b`.
fn client_at(n: u32) -> reqwest::Client {
    let address: IpAddr = format!("127.0.{}.{}", 1 + n / 250, 1 + n % 250)
        .parse()
        .unwrap();
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .unwrap()
}

async fn ask_code(http: &reqwest::Client, daemon: &Daemon, tenant: &str, phone: &str) -> u16 {
    http.post(format!("{}/c/{tenant}/subscribe", daemon.url))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The SMS of one kind the stand-in carried so far (our references start with `prefix`), by
/// recipient (digits).
fn carried(env: &Env, prefix: &str) -> Vec<String> {
    env.smsmode
        .received()
        .into_iter()
        .filter(|m| {
            m.ref_client
                .as_deref()
                .is_some_and(|r| r.starts_with(prefix))
        })
        .map(|m| m.to)
        .collect()
}

/// The confirmation codes carried so far.
fn codes(env: &Env) -> Vec<String> {
    carried(env, "cnf_")
}

/// The replies to citizens' SMS carried so far.
fn replies(env: &Env) -> Vec<String> {
    carried(env, "rep_")
}

async fn commune(env: &Env, daemon: &Daemon, slug: &str) -> Client {
    let mairie = env.tenant(daemon, slug).await;
    mairie.topic("intemperies").await;
    mairie
}

async fn inbound_url(env: &Env, daemon: &Daemon, slug: &str) -> String {
    let token = env.callback_token(slug).await;
    format!("{}/cb/smsmode/{token}/inbound", daemon.url)
}

async fn text_in(url: &str, from_digits: &str, text: &str) -> StatusCode {
    let sms = json!({"messageId": format!("mo-{}", rand::random::<u32>()), "type": "SMS",
        "direction": "MO", "from": from_digits, "recipient": {"to": "36034"},
        "body": {"text": text}});
    reqwest::Client::new()
        .post(url)
        .json(&sms)
        .send()
        .await
        .unwrap()
        .status()
}

/// The stand-in settles: what was accepted is counted.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

#[tokio::test]
async fn the_fraud_script_sends_no_sms_past_the_caps() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let bras = commune(&env, &daemon, "bras").await;
    for slug in ["verdun", "dun", "stenay"] {
        commune(&env, &daemon, slug).await;
    }

    // 60 numbers from 60 client addresses, one request each, to one commune.
    for i in 0..60u32 {
        ask_code(
            &client_at(i),
            &daemon,
            "bras",
            &format!("06 10 00 00 {i:02}"),
        )
        .await;
    }
    settle().await;
    let rotating = codes(&env).len();

    // A load: 400 requests, 100 addresses asking for 4 numbers each, 16 at a time.
    env.smsmode.reset();
    let statuses: Vec<u16> = stream::iter(0..400u32)
        .map(|i| {
            let http = client_at(100 + i / 4);
            let daemon = &daemon;
            async move {
                ask_code(
                    &http,
                    daemon,
                    "verdun",
                    &format!("06 20 00 {:02} {:02}", i / 100, i % 100),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    settle().await;
    let load = codes(&env).len();
    let refused_by_caps = statuses.iter().filter(|s| **s == 429).count();

    // Satellite, premium-rate and foreign numbers, each from an address of its own.
    env.smsmode.reset();
    let mut far: Vec<(String, u16, Value)> = Vec::new();
    for (n, phone) in [
        "+881 6 1234 5678",
        "+870 772 123 456",
        "08 99 12 34 56",
        "+32 470 12 34 56",
        "+44 7400 123456",
    ]
    .into_iter()
    .enumerate()
    {
        let answer = client_at(600 + n as u32)
            .post(format!("{}/c/dun/subscribe", daemon.url))
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        far.push((
            phone.into(),
            status,
            answer.json().await.unwrap_or(Value::Null),
        ));
    }
    settle().await;
    let far_codes = codes(&env).len();

    // One number, asked for again and again by rotating clients, of two communes.
    env.smsmode.reset();
    for n in 0..8u32 {
        let tenant = if n % 2 == 0 { "dun" } else { "stenay" };
        ask_code(&client_at(700 + n), &daemon, tenant, "06 30 00 00 01").await;
    }
    settle().await;
    let one_number = codes(&env).len();

    // Another site's page posts the commune's forms and its JSON route for its visitors.
    env.smsmode.reset();
    let cross_form = reqwest::Client::new()
        .post(format!("{}/c/stenay/phone", daemon.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body("phone=06+40+00+00+01&topics=intemperies")
        .send()
        .await
        .unwrap()
        .status();
    let cross_json = reqwest::Client::new()
        .post(format!("{}/c/stenay/subscribe", daemon.url))
        .header("origin", "https://evil.example")
        .json(&json!({ "phone": "06 40 00 00 02" }))
        .send()
        .await
        .unwrap()
        .status();
    // An old browser sending neither header: the form's token is missing.
    let tokenless = reqwest::Client::new()
        .post(format!("{}/c/stenay/phone", daemon.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("phone=06+40+00+00+03&topics=intemperies")
        .send()
        .await
        .unwrap()
        .status();
    settle().await;
    let cross_site = codes(&env).len();
    // The commune's own page still works.
    let (status, html) = PageVisitor::open(&daemon.url, "stenay")
        .await
        .post("/c/stenay/phone", "phone=06+40+00+00+04&topics=intemperies")
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // Keywords texted from a satellite, a premium-rate and a fixed number, and one mobile
    // texting again and again.
    env.smsmode.reset();
    let url = inbound_url(&env, &daemon, "dun").await;
    for from in ["881612345678", "33899123456", "33142271234", "32470123456"] {
        assert_eq!(text_in(&url, from, "ALERTE").await, StatusCode::OK);
    }
    for _ in 0..10 {
        text_in(&url, "33650000001", "bonjour").await;
    }
    settle().await;
    let reply_count = replies(&env).len();
    let dun = env.key("dun", tocsin::model::Role::Admin).await;
    let listed = bras.with_key(&dun).get("/v1/subscribers").await.body;
    let subscribed_by_sms = listed["subscribers"].as_array().unwrap().len();

    println!(
        "SMS at the stand-in: rotating clients {rotating} codes for 60 numbers; load {load} codes \
         for 400 requests ({refused_by_caps} refused 429); far numbers {far_codes}; one number \
         {one_number}; cross-site {cross_site}; inbound replies {reply_count}, subscribed by \
         keyword {subscribed_by_sms}"
    );
    assert_eq!(rotating, 30, "a commune's public SMS per hour");
    assert_eq!(load, 30, "a commune's public SMS per hour, under load");
    assert_eq!(far_codes, 0, "{far:?}");
    for (phone, status, body) in &far {
        assert_eq!(*status, 400, "{phone}: {body}");
        assert_eq!(body["error"]["field"], "phone", "{phone}: {body}");
    }
    assert!(
        far.iter()
            .filter(|(p, ..)| p.starts_with("+8"))
            .all(|(_, _, b)| b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no country")),
        "{far:?}"
    );
    assert_eq!(
        one_number, 3,
        "a number's codes per hour, from every commune"
    );
    assert_eq!(
        (cross_form, cross_json, tokenless),
        (
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN
        )
    );
    assert_eq!(cross_site, 0);
    assert_eq!(
        reply_count, 3,
        "replies to one number per hour; none to the others"
    );
    assert_eq!(subscribed_by_sms, 0);

    // Every hit is counted, by route and cap, with no number in sight.
    let metrics = crate::support::metrics(&daemon.url).await;
    for line in [
        "tocsin_public_limit_hits_total{limit=\"commune_hour\",route=\"subscribe\"} 400",
        "tocsin_public_limit_hits_total{limit=\"number\",route=\"subscribe\"} 5",
        "tocsin_public_limit_hits_total{limit=\"replies\",route=\"inbound\"} 7",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(
        !metrics.contains("3361") && !metrics.contains("+33"),
        "no number in the metrics"
    );
    daemon.stop().await;
}

/// Behind a trusted proxy, each citizen is counted by the address the proxy names (IPv6 by
/// /64); anyone else's `X-Forwarded-For` is ignored.
#[tokio::test]
async fn clients_are_read_from_trusted_proxies_only_and_ipv6_counts_by_64() {
    let env = Env::new().await;
    let daemon =
        Daemon::start(env.config_with_file("[http]\ntrusted_proxies = [\"127.0.0.1/32\"]\n")).await;
    commune(&env, &daemon, "bras").await;
    // 35 requests (an invalid number: nothing is sent), each naming `forwarded(i)`, from `peer`;
    // how many were refused for the client's allowance (30 an hour).
    let limited = |peer: u32, forwarded: fn(u32) -> String| {
        let daemon = &daemon;
        async move {
            let http = match peer {
                0 => reqwest::Client::new(),
                n => client_at(n),
            };
            let mut refused = 0;
            for i in 0..35 {
                let status = http
                    .post(format!("{}/c/bras/subscribe", daemon.url))
                    .header("x-forwarded-for", forwarded(i))
                    .json(&json!({ "phone": "x" }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                if status == StatusCode::TOO_MANY_REQUESTS {
                    refused += 1;
                }
            }
            refused
        }
    };
    // Through the trusted proxy (127.0.0.1): 35 citizens, none refused.
    assert_eq!(limited(0, |i| format!("198.51.100.{i}")).await, 0);
    // An untrusted client naming 35 addresses is one client: 5 refused.
    assert_eq!(limited(900, |i| format!("192.0.2.{i}")).await, 5);
    // 35 addresses of one IPv6 /64 are one client; of 35 /64s, 35 clients.
    assert_eq!(limited(0, |i| format!("2001:db8:1:2::{i:x}")).await, 5);
    assert_eq!(limited(0, |i| format!("2001:db8:2:{i:x}::1")).await, 0);
    daemon.stop().await;
}

/// A stranger guessing a citizen's code uses up the stranger's tries, never the citizen's.
#[tokio::test]
async fn a_stranger_s_wrong_guesses_cannot_lock_a_citizen_s_code_out() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = commune(&env, &daemon, "bras").await;
    let (citizen, stranger) = (client_at(1), client_at(2));
    assert_eq!(
        ask_code(&citizen, &daemon, "bras", "06 55 00 00 01").await,
        202
    );
    let sms = env
        .smsmode
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    let code: String = sms
        .text
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |http: &reqwest::Client, code: &str| {
        let request = http
            .post(format!("{}/c/bras/confirm", daemon.url))
            .json(&json!({ "phone": "0655000001", "code": code }));
        async move { request.send().await.unwrap().status() }
    };
    let mut stranger_saw = Vec::new();
    for _ in 0..8 {
        stranger_saw.push(confirm(&stranger, wrong).await.as_u16());
    }
    assert_eq!(stranger_saw, [400, 400, 400, 400, 400, 429, 429, 429]);
    assert_eq!(confirm(&citizen, &code).await, StatusCode::OK);
    let listed = mairie.get("/v1/subscribers").await.body;
    assert_eq!(listed["subscribers"][0]["phone"], "+33655000001");

    // The stranger's 5 counted tries and 15 more on three other numbers make 20 this hour: the
    // next one is refused whatever the number.
    let mut statuses = Vec::new();
    for n in 2..=5 {
        for _ in 0..5 {
            let status = stranger
                .post(format!("{}/c/bras/confirm", daemon.url))
                .json(&json!({ "phone": format!("06550000{n:02}"), "code": wrong }))
                .send()
                .await
                .unwrap()
                .status();
            statuses.push(status.as_u16());
        }
    }
    assert_eq!(statuses[..15], [400; 15]);
    assert_eq!(statuses[15..], [429; 5]);
    daemon.stop().await;
}

/// The platform's hourly cap holds over every commune together.
#[tokio::test]
async fn the_platform_s_cap_holds_across_communes() {
    let env = Env::new().await;
    let daemon = Daemon::start(env.config_with_file(
        "[public]
platform_per_hour = 4
",
    ))
    .await;
    for slug in ["bras", "dun"] {
        commune(&env, &daemon, slug).await;
    }
    let mut statuses = Vec::new();
    for n in 0..6u32 {
        let tenant = if n % 2 == 0 { "bras" } else { "dun" };
        let phone = format!("06 56 00 00 {n:02}");
        statuses.push(ask_code(&client_at(n), &daemon, tenant, &phone).await);
    }
    settle().await;
    assert_eq!(statuses, [202, 202, 202, 202, 429, 429]);
    assert_eq!(codes(&env).len(), 4);
    daemon.stop().await;
}

/// Leaving by e-mail answers at once whether the address is known or not: the e-mail leaves
/// after the answer (here the mail server never answers, and nobody waits for it).
#[tokio::test]
async fn leaving_by_e_mail_answers_as_fast_for_a_known_address_as_for_an_unknown_one() {
    let env = Env::new().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp = format!("smtp://{}", silent.local_addr().unwrap());
    // Takes connections and never says a word.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let daemon = Daemon::start(env.config_with(&[("TOCSIN_SMTP_URL", &smtp)])).await;
    let mairie = commune(&env, &daemon, "bras").await;
    mairie
        .subscriber(None, Some("paul@example.fr"), &["intemperies"])
        .await;
    let visitor = PageVisitor::open(&daemon.url, "bras").await;
    let mut took = Vec::new();
    for email in ["paul%40example.fr", "nobody%40example.fr"] {
        let started = std::time::Instant::now();
        let (status, html) = visitor
            .post("/c/bras/leave", &format!("email={email}"))
            .await;
        took.push(started.elapsed());
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Si cette adresse est inscrite"), "{html}");
    }
    assert!(
        took.iter().all(|t| *t < Duration::from_secs(2)),
        "known and unknown answered in {took:?}"
    );
    held.abort();
    daemon.stop().await;
}

/// Plus-address and dot variants of one address are one address, across communes.
#[tokio::test]
async fn variants_of_one_address_get_three_e_mails_an_hour_from_the_whole_platform() {
    let env = Env::new().await;
    let daemon = env.start().await;
    commune(&env, &daemon, "bras").await;
    commune(&env, &daemon, "dun").await;
    for (n, email) in [
        "anne.marie%40example.fr",
        "annemarie%2Balertes%40example.fr",
        "Anne.Marie%40Example.fr",
        "a.n.n.e.marie%2B2%40example.fr",
        "annemarie%40example.fr",
    ]
    .into_iter()
    .enumerate()
    {
        let tenant = if n % 2 == 0 { "bras" } else { "dun" };
        let visitor = PageVisitor::open_with(client_at(n as u32), &daemon.url, tenant).await;
        let (status, _) = visitor
            .post(
                &format!("/c/{tenant}/email"),
                &format!("email={email}&topics=intemperies"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let to: Vec<Vec<String>> = env
        .smtp
        .received()
        .into_iter()
        .map(|m| m.rcpt_tos)
        .collect();
    assert_eq!(to.len(), 3, "{to:?}");
    daemon.stop().await;
}

/// A commune's hour refills when the hour is over; its day does not.
#[tokio::test]
async fn a_commune_s_hourly_cap_refills_and_its_daily_cap_holds() {
    let env = Env::new().await;
    let daemon = Daemon::start(
        env.config_with_file("[public]\nper_commune_hour = 2\nper_commune_day = 3\n"),
    )
    .await;
    commune(&env, &daemon, "bras").await;
    let mut statuses = Vec::new();
    let ask = |n: u32| {
        let phone = format!("06 57 00 00 {n:02}");
        let (http, daemon) = (client_at(n), &daemon);
        async move { ask_code(&http, daemon, "bras", &phone).await }
    };
    for n in 0..3 {
        statuses.push(ask(n).await);
    }
    // An hour later (the hour's window ended), the day still counts what was sent.
    sqlx::query(
        "UPDATE public_counters SET window_end = now() - interval '1 second'
         WHERE scope = 'sms_commune_hour'",
    )
    .execute(&env.db.pool().await)
    .await
    .unwrap();
    for n in 3..5 {
        statuses.push(ask(n).await);
    }
    settle().await;
    assert_eq!(statuses, [202, 202, 429, 202, 429]);
    assert_eq!(codes(&env).len(), 3);
    let metrics = crate::support::metrics(&daemon.url).await;
    for line in [
        "tocsin_public_limit_hits_total{limit=\"commune_hour\",route=\"subscribe\"} 1",
        "tocsin_public_limit_hits_total{limit=\"commune_day\",route=\"subscribe\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    daemon.stop().await;
}
