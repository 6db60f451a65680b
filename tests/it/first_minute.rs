//! The first minute of a newcomer or an on-call engineer: a service that does not answer is
//! named at once, with where it was looked for and the command that starts it.

use std::{process::Command, time::Duration};

use crate::{
    cli::{ok, tocsin, tocsin_within},
    support::{Env, ServeProcess, TestDb},
};

/// A port on this machine where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_names_the_service_that_does_not_answer_within_ten_seconds() {
    let env = Env::new().await;
    let port = closed_port();
    let broker = format!("amqp://guest:secret-pw@127.0.0.1:{port}/%2f");
    let (passed, stderr) = tocsin_within(
        &env,
        &[("TOCSIN_AMQP_URL", broker)],
        &["demo", "--subscribers", "10"],
        Duration::from_secs(10),
    );
    assert!(!passed, "{stderr}");
    let told = format!("RabbitMQ does not answer at 127.0.0.1:{port}");
    assert!(stderr.contains(&told), "{stderr}");
    // Not this machine's own broker (another port): nothing is started, the fix is said.
    assert!(
        stderr.contains("start it there") && !stderr.contains("starting it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret-pw"),
        "credentials never printed: {stderr}"
    );

    let database = format!("postgres://postgres@127.0.0.1:{port}/tocsin");
    let (passed, stderr) = tocsin_within(
        &env,
        &[("TOCSIN_DATABASE_URL", database)],
        &["demo", "--subscribers", "10"],
        Duration::from_secs(10),
    );
    assert!(!passed, "{stderr}");
    assert!(
        stderr.contains(&format!("PostgreSQL does not answer at 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_once_what_it_waits_for_and_stops_at_once_without_its_database() {
    let env = Env::new().await;
    let port = closed_port();
    let database = format!("postgres://postgres@127.0.0.1:{port}/tocsin");
    let (passed, stderr) = tocsin_within(
        &env,
        &[("TOCSIN_DATABASE_URL", database)],
        &["serve"],
        Duration::from_secs(10),
    );
    assert!(!passed, "{stderr}");
    assert!(
        stderr.contains(&format!("PostgreSQL does not answer at 127.0.0.1:{port}")),
        "{stderr}"
    );

    // Without its broker the daemon runs, waits and says so once, not at every retry.
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("serve")
        .envs(env.vars())
        .env(
            "TOCSIN_AMQP_URL",
            format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        )
        .env("TOCSIN_HTTP_ADDR", "127.0.0.1:0")
        .env("TOCSIN_LOG", "info")
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    // Retries come after 0.2, 0.4, 0.8, 1.6, 3.2 s…: five or more in 8 s.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let running = serve.try_wait().unwrap().is_none();
    let _ = serve.kill();
    let _ = serve.wait();
    let log = std::fs::read_to_string(stderr.path()).unwrap();
    assert!(running, "the daemon waits for its broker: {log}");
    let waiting = log.matches("waiting for the broker").count();
    assert_eq!(waiting, 1, "{log}");
    assert!(
        log.contains(&format!("RabbitMQ does not answer at 127.0.0.1:{port}")),
        "{log}"
    );
    assert!(!log.contains("broker connection lost"), "{log}");
}

/// Under systemd (`Type=notify`): `READY=1` once it serves, `STOPPING=1` when SIGTERM stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tells_the_service_manager_when_it_is_ready_and_when_it_stops() {
    let env = Env::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let manager = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    manager
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let receive_until = |wanted: &str| {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 512];
        loop {
            let n = manager
                .recv(&mut buffer)
                .expect("a state before the timeout");
            let state = String::from_utf8_lossy(&buffer[..n]).into_owned();
            if state == wanted {
                return seen;
            }
            seen.push(state);
        }
    };
    let mut serve =
        ServeProcess::start(&env, "", &[("NOTIFY_SOCKET", path.to_str().unwrap())]).await;
    receive_until("READY=1");
    assert!(serve.terminate().success());
    let before_stopping = receive_until("STOPPING=1");
    assert!(
        before_stopping.iter().all(|s| s.starts_with("STATUS=")),
        "{before_stopping:?}"
    );
}

/// `tocsin doctor`'s lines, as (verdict, check, rest): `FAIL  RabbitMQ  does not answer…`,
/// with each `fix:` line joined to the check above it.
fn doctor_lines(stdout: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        match line.split_once("  ") {
            Some((verdict @ ("ok" | "warn" | "FAIL"), rest)) => {
                lines.push((verdict.to_owned(), rest.trim().to_owned()))
            }
            _ if line.trim_start().starts_with("fix:") => {
                let last = lines.last_mut().expect("a fix under a check");
                last.1.push_str(" | ");
                last.1.push_str(line.trim());
            }
            _ => panic!("not a doctor line: {line:?}\n{stdout}"),
        }
    }
    lines
}

fn doctor(env: &Env, extra: &[(&str, &str)]) -> (bool, Vec<(String, String)>) {
    let output = tocsin(env, extra, &["doctor"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.success(), doctor_lines(&stdout))
}

/// The line of the check starting with `check`.
fn line<'a>(lines: &'a [(String, String)], check: &str) -> &'a (String, String) {
    lines
        .iter()
        .find(|(_, rest)| rest.starts_with(check))
        .unwrap_or_else(|| panic!("no {check} line in {lines:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_what_a_running_tocsin_needs_and_gives_the_fix_of_what_fails() {
    let mut env = Env::new().await;
    // A database never migrated: the service refuses it, naming the step to take.
    env.db = TestDb::unmigrated().await;
    let (started, stderr) = tocsin_within(&env, &[], &["serve"], Duration::from_secs(10));
    assert!(!started, "{stderr}");
    assert!(
        stderr.contains("needs") && stderr.contains("run `tocsin migrate` first"),
        "{stderr}"
    );
    // And so do the operator commands.
    let (listed, stderr) = tocsin_within(&env, &[], &["tenant", "tree"], Duration::from_secs(10));
    assert!(
        !listed && stderr.contains("run `tocsin migrate` first"),
        "{stderr}"
    );
    let (passed, lines) = doctor(&env, &[]);
    assert!(!passed, "{lines:?}");
    let (verdict, said) = line(&lines, "PostgreSQL");
    assert_eq!(verdict, "FAIL");
    assert!(
        said.contains("migrations not applied") && said.ends_with("fix: tocsin migrate"),
        "{said}"
    );

    ok(tocsin(&env, &[], &["migrate"]));
    let (passed, lines) = doctor(&env, &[]);
    assert!(passed, "{lines:?}");
    for check in [
        "configuration",
        "PostgreSQL",
        "RabbitMQ",
        "provider smsmode",
        "provider smtp",
        "public URL",
        "file limit",
        "clock",
    ] {
        let (verdict, said) = line(&lines, check);
        assert_ne!(verdict, "FAIL", "{check}: {said}");
    }
    assert!(
        line(&lines, "RabbitMQ")
            .1
            .contains("quorum queue declared, written, read and deleted")
    );
    // http on this machine: fine to try it, not for citizens.
    assert_eq!(line(&lines, "public URL").0, "warn");

    // The broker elsewhere, our credentials refused, a provider that does not answer: each its
    // own line and fix, and the exit status says it.
    let port = closed_port();
    let away = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let (passed, lines) = doctor(&env, &[("TOCSIN_AMQP_URL", &away)]);
    let (verdict, said) = line(&lines, "RabbitMQ");
    assert!(!passed && verdict == "FAIL", "{lines:?}");
    assert!(
        said.contains(&format!("does not answer at 127.0.0.1:{port}")),
        "{said}"
    );
    let refused = "amqp://guest:not-the-password@127.0.0.1:5672/%2f";
    let (passed, lines) = doctor(&env, &[("TOCSIN_AMQP_URL", refused)]);
    let (verdict, said) = line(&lines, "RabbitMQ");
    assert!(
        !passed && verdict == "FAIL" && said.contains("refused us"),
        "{said}"
    );
    assert!(!said.contains("not-the-password"), "{said}");
    let silent = format!("http://127.0.0.1:{port}");
    let (passed, lines) = doctor(&env, &[("TOCSIN_SMSMODE_URL", &silent)]);
    let (verdict, said) = line(&lines, "provider smsmode");
    assert!(!passed && verdict == "FAIL", "{lines:?}");
    assert!(
        said.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{said}"
    );
    assert_eq!(line(&lines, "RabbitMQ").0, "ok");
}
