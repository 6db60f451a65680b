//! Slow and numerous clients cannot take the daemon down: headers and bodies have deadlines,
//! connections are capped in all and per client address below the file limit, and the API's own
//! listener keeps answering while the public one is full.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};

use crate::support::{Answer, Daemon, Env, ServeProcess, eventually};

/// A connection from `from` (a loopback address) that sends `bytes` and waits.
async fn open_from(from: Ipv4Addr, to: SocketAddr, bytes: &[u8]) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(from.into(), 0)).ok()?;
    let mut stream = tokio::time::timeout(Duration::from_secs(2), socket.connect(to))
        .await
        .ok()?
        .ok()?;
    stream.write_all(bytes).await.ok()?;
    Some(stream)
}

/// What the server sends before closing, or `None` when it stays silent and open for `wait`.
async fn answer_within(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buffer = vec![0u8; 1024];
    match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
        Ok(Ok(n)) => Some(String::from_utf8_lossy(&buffer[..n]).into_owned()),
        Ok(Err(_)) => Some(String::new()),
        Err(_) => None,
    }
}

fn address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

const HALF_HEADER: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ";

#[tokio::test]
async fn late_headers_late_bodies_and_greedy_clients_are_cut_off() {
    let env = Env::new().await;
    let mut config = env.config();
    config.http.header_timeout = Duration::from_millis(500);
    config.http.body_timeout = Duration::from_millis(500);
    config.http.max_connections_per_client = 3;
    let daemon = Daemon::start(config).await;
    env.tenant(&daemon, "bras").await.topic("intemperies").await;
    let to = address(&daemon.url);
    let client = Ipv4Addr::new(127, 0, 0, 7);

    // Headers that never end: closed after the header deadline.
    let mut slow = open_from(client, to, HALF_HEADER).await.unwrap();
    let started = Instant::now();
    let answer = answer_within(&mut slow, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "a half-sent header kept its connection");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A body that never ends: the request fails after the body deadline.
    let mut slow = open_from(
        client,
        to,
        b"POST /c/bras/subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"pho",
    )
    .await
    .unwrap();
    let answer = answer_within(&mut slow, Duration::from_secs(5)).await;
    let answer = answer.expect("a half-sent body kept its connection");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );

    // A public route reads a few kilobytes, not the API's megabyte.
    let large = reqwest::Client::new()
        .post(format!("{}/c/bras/subscribe", daemon.url))
        .header("content-type", "application/json")
        .body(format!("{{\"phone\": \"{}\"}}", "0".repeat(100_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 413);

    // Three connections from one address are its share; the fourth is turned away at once,
    // another address is not.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open_from(client, to, b"").await.unwrap());
    }
    let mut fourth = open_from(client, to, b"").await.unwrap();
    let answer = answer_within(&mut fourth, Duration::from_millis(300)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 503")),
        "{answer:?}"
    );
    let mut other = open_from(
        Ipv4Addr::new(127, 0, 0, 8),
        to,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = answer_within(&mut other, Duration::from_secs(2)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200")),
        "{answer:?}"
    );
    drop(held);
}

/// 2,400 half-open connections from 50 addresses against a daemon allowed 2,048 files: the
/// public listener fills and turns the rest away, the daemon keeps its files for PostgreSQL,
/// RabbitMQ and the provider, and an urgent alert sent to the API's own listener is taken at
/// once and its first SMS leaves. The connections end at the header deadline; the memory they
/// took stays bounded and does not grow once they are gone.
#[tokio::test]
async fn slow_clients_holding_more_connections_than_files_do_not_hold_up_an_urgent_alert() {
    // This test holds thousands of sockets of its own.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let env = Env::new().await;
    let api_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let daemon = ServeProcess::start_with_file_limit(
        &env,
        &format!("\n[http]\napi_addr = \"127.0.0.1:{api_port}\"\n"),
        &[],
        2048,
    )
    .await;
    let api_url = format!("http://127.0.0.1:{api_port}");
    let mairie = env.commune(&api_url, 3).await;
    let before = daemon.resident_bytes();
    let (anon_before, files_before) = (daemon.anonymous_bytes(), daemon.open_files());

    let public = address(&daemon.url);
    // All at once, as a flood comes.
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..2400u32 {
        let from = Ipv4Addr::new(127, 0, 1, 10 + (i % 50) as u8);
        opening.spawn(async move { open_from(from, public, HALF_HEADER).await });
    }
    let mut slow = Vec::new();
    let mut not_connected = 0;
    while let Some(opened) = opening.join_next().await {
        match opened.unwrap() {
            Some(stream) => slow.push(stream),
            None => not_connected += 1,
        }
    }
    // Connections over the cap were answered 503 and closed: count them from our side.
    let mut turned_away = 0;
    for stream in &mut slow {
        if answer_within(stream, Duration::from_millis(1))
            .await
            .is_some()
        {
            turned_away += 1;
        }
    }
    let during = daemon.resident_bytes();
    let anon_during = daemon.anonymous_bytes();
    let files = daemon.open_files();

    let started = Instant::now();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["sms"],
                       "text": "Crue de la Meuse : évacuez les quais." }),
        )
        .await;
    let accepted_in = started.elapsed();
    assert!(
        accepted_in < Duration::from_secs(1),
        "the urgent alert took {accepted_in:?} to be accepted"
    );
    env.smsmode.wait_for(1, Duration::from_secs(10)).await;
    let first_sms_in = started.elapsed();
    mairie.wait_completed(&id).await;
    let metrics = crate::support::metrics(&api_url).await;
    let refused_line = metrics
        .lines()
        .find(|l| {
            l.starts_with("tocsin_http_connections_refused_total")
                && l.contains("listener=\"public\"")
        })
        .unwrap_or_default()
        .to_owned();
    println!(
        "connections: {} held, {turned_away} turned away, {not_connected} not connected; the \
         daemon's open files {files} of 2048; alert accepted in {accepted_in:?}, first SMS in \
         {first_sms_in:?}; memory {} MB before, {} MB during; {refused_line}",
        slow.len() - turned_away,
        before / 1_000_000,
        during / 1_000_000
    );
    assert!(
        files < 2048 - 64,
        "the daemon's files ran out ({files} open): nothing left for PostgreSQL or providers"
    );
    assert!(turned_away > 0, "2,400 connections fit under 2,048 files?");
    assert!(!refused_line.is_empty(), "no refusal counted:\n{metrics}");

    // The header deadline (10 s) ends every slow connection. The daemon's own memory (heap and
    // stacks, not the pages of its binary, which grow with its code) took what the flood took,
    // about 16 kB a held connection; glibc keeps what they freed for the next connections
    // rather than giving it back, so what holds is that it stays bounded and does not grow.
    drop(slow);
    eventually(
        "the slow connections closed",
        Duration::from_secs(30),
        || async { daemon.open_files() < files_before + 64 },
    )
    .await;
    let anon_after = daemon.anonymous_bytes();
    let mb = |bytes: u64| bytes / 1_000_000;
    assert!(
        anon_during < anon_before + 40_000_000,
        "the flood took {} MB of heap and stacks",
        mb(anon_during - anon_before)
    );
    assert!(
        anon_after < anon_during + 4_000_000,
        "heap and stacks grew after the flood: {} MB during, {} MB after",
        mb(anon_during),
        mb(anon_after)
    );
    let answer = reqwest::get(format!("{}/healthz", daemon.url))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// Keeps two trickling imports open (one turned away, as one is when it comes while an import
/// of the test holds a place, is opened again) and sends imports until one is turned away: the
/// trickling imports then hold the instance's two import places. The answer that turned it away.
async fn hold_both_places<O, I>(
    trickling: &mut Vec<TcpStream>,
    open: impl Fn() -> O,
    import: impl Fn() -> I,
) -> Answer
where
    O: Future<Output = TcpStream>,
    I: Future<Output = Answer>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut kept = Vec::new();
        for mut stream in trickling.drain(..) {
            if answer_within(&mut stream, Duration::from_millis(1))
                .await
                .is_none()
            {
                kept.push(stream);
            }
        }
        *trickling = kept;
        while trickling.len() < 2 {
            trickling.push(open().await);
        }
        // Time for the daemon to give them places.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answer = import().await;
        if answer.status == 503 {
            return answer;
        }
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            Instant::now() < deadline,
            "two trickling imports never held the instance's two places"
        );
    }
}

/// An import whose body trickles in holds up no other commune's import: it takes one of the
/// instance's two import places, not the turn to parse, so another import is read and imported
/// at once. With both places held, another import is answered 503 `busy` at once (its body
/// unread, not left stalled until the client gives up), and `tocsin subscribers import`, told
/// the same, tries again by itself until a place is given back.
#[tokio::test]
async fn an_import_whose_body_trickles_in_holds_up_no_other_import() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let attacker = env.tenant(&daemon, "attaquant").await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let to = address(&daemon.url);
    let head = format!(
        "POST /v1/subscribers/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nContent-Length: 1000000\r\n\r\nphone,email,topics\n",
        attacker.key
    );
    let trickle = || async {
        open_from(Ipv4Addr::LOCALHOST, to, head.as_bytes())
            .await
            .expect("the daemon takes the connection")
    };
    let register = "phone,email,topics\n0611111111,,intemperies\n0622222222,,intemperies\n";
    // Held up, an import would wait for a trickling body's deadline (30 s).
    let mairie = &mairie;
    let import = move || async move {
        tokio::time::timeout(
            Duration::from_secs(5),
            mairie.post_raw("/v1/subscribers/import", "text/csv", register),
        )
        .await
        .unwrap_or_else(|_| panic!("an import waited for the imports whose bodies trickle in"))
    };
    let mut trickling = Vec::new();
    let refused = hold_both_places(&mut trickling, trickle, import).await;
    assert_eq!(refused.body["error"]["code"], "busy", "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));

    // One trickling client gives up; the other still holds its place, its body unread whole,
    // yet the commune's import goes in at once.
    trickling.pop();
    eventually(
        "an import goes in beside a trickling one",
        Duration::from_secs(10),
        || async move { import().await.status == 200 },
    )
    .await;
    let listed = mairie.get("/v1/subscribers").await;
    assert_eq!(
        listed.body["subscribers"].as_array().unwrap().len(),
        2,
        "{}",
        listed.body
    );

    // Both places held again: the operator's command is told so, and tries again by itself
    // until a trickling client gives up.
    hold_both_places(&mut trickling, trickle, import).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "phone,email,topics\n0633333333,,intemperies\n").unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["subscribers", "import", file.path().to_str().unwrap()])
        .envs(env.vars())
        .env("TOCSIN_URL", &daemon.url)
        .env("TOCSIN_API_KEY", &mairie.key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(command.stderr.take().unwrap()).lines();
    let told = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if line.contains("other imports are under way") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        told,
        Ok(true),
        "the command was not told the instance was busy"
    );
    trickling.pop();
    let status = tokio::time::timeout(Duration::from_secs(60), command.wait())
        .await
        .expect("the command gave up or went on trying")
        .unwrap();
    assert!(status.success(), "the command failed");
    let listed = mairie.get("/v1/subscribers").await;
    assert_eq!(
        listed.body["subscribers"].as_array().unwrap().len(),
        3,
        "{}",
        listed.body
    );
    drop(trickling);
    daemon.stop().await;
}
