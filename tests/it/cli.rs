use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::support::Env;

/// Runs the `tocsin` binary with this test's environment, as an operator's script would.
pub fn tocsin(env: &Env, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tocsin"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env.vars() {
        command.env(name, value);
    }
    for (name, value) in extra {
        command.env(name, value);
    }
    command.output().expect("the tocsin binary runs")
}

pub fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `tocsin args` with the test's environment and `extra`; its exit status and stderr, or
/// a failure if it is still running after `limit`.
pub fn tocsin_within(
    env: &Env,
    extra: &[(&str, String)],
    args: &[&str],
    limit: Duration,
) -> (bool, String) {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(args)
        .envs(env.vars())
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .env("TOCSIN_HTTP_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!(
                "tocsin {args:?} still running after {limit:?}; stderr: {}",
                std::fs::read_to_string(stderr.path()).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.success(),
        std::fs::read_to_string(stderr.path()).unwrap(),
    )
}

// Multi-threaded: the test blocks on the binary while the daemon runs on the same runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sets_up_a_commune_and_a_mayor_sends_from_the_command_line() {
    let env = Env::new().await;
    ok(tocsin(&env, &[], &["config", "check"]));
    ok(tocsin(&env, &[], &["migrate"]));
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "create",
            "bras-sur-meuse",
            "--name",
            "Bras-sur-Meuse",
        ],
    ));
    let key = ok(tocsin(
        &env,
        &[],
        &[
            "key",
            "create",
            "--tenant",
            "bras-sur-meuse",
            "--role",
            "admin",
        ],
    ));
    let key = key.trim();
    assert!(
        key.starts_with("tsk_") && !key.contains('\n'),
        "the key alone on stdout: {key:?}"
    );
    let taken = tocsin(
        &env,
        &[],
        &["tenant", "create", "bras-sur-meuse", "--name", "Encore"],
    );
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));

    let daemon = env.start().await;
    let client = [("TOCSIN_URL", daemon.url.as_str()), ("TOCSIN_API_KEY", key)];
    ok(tocsin(
        &env,
        &client,
        &["topics", "add", "intemperies", "--name", "Intempéries"],
    ));
    ok(tocsin(
        &env,
        &client,
        &[
            "subscribers",
            "add",
            "--phone",
            "06 12 34 56 78",
            "--email",
            "a@b.fr",
            "--topic",
            "intemperies",
        ],
    ));
    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        csv.path(),
        "phone,email,topics\n0780000001,,intemperies\nbad,,intemperies\n",
    )
    .unwrap();
    let import = tocsin(
        &env,
        &client,
        &["subscribers", "import", csv.path().to_str().unwrap()],
    );
    assert!(
        !import.status.success(),
        "a rejected row makes the exit status non-zero"
    );
    assert!(
        String::from_utf8_lossy(&import.stderr).contains("line 3"),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let list: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &client,
        &["subscribers", "list", "--json"],
    )))
    .unwrap();
    assert_eq!(list["subscribers"].as_array().unwrap().len(), 2);

    let sent = ok(tocsin(
        &env,
        &client,
        &[
            "send",
            "--topic",
            "intemperies",
            "--urgent",
            "--text",
            "Alerte orange orages",
            "--idempotency-key",
            "k1",
            "--wait",
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(report["status"], "completed");
    assert_eq!(report["counts"]["sms"]["sent"], 2, "{report}");
    assert_eq!(report["counts"]["email"]["sent"], 1, "{report}");

    let id = report["id"].as_str().unwrap();
    let status: Value =
        serde_json::from_str(&ok(tocsin(&env, &client, &["status", id, "--json"]))).unwrap();
    assert_eq!(status["id"], id);
    let human = ok(tocsin(&env, &client, &["status", id]));
    assert!(
        human.contains("completed") && human.contains("sms") && human.contains("first sent after"),
        "{human}"
    );

    let wrong_key = tocsin(
        &env,
        &[
            ("TOCSIN_URL", daemon.url.as_str()),
            ("TOCSIN_API_KEY", "tsk_nope"),
        ],
        &["topics", "list"],
    );
    assert!(!wrong_key.status.success());
    assert!(String::from_utf8_lossy(&wrong_key.stderr).contains("unknown API key"));
    daemon.stop().await;
}

#[tokio::test]
async fn config_check_names_the_field_at_fault() {
    let env = Env::new().await;
    let bad = tocsin(
        &env,
        &[("TOCSIN_HTTP_ADDR", "not-an-address")],
        &["config", "check"],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("http_addr"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let no_provider = tocsin(
        &env,
        &[("TOCSIN_SMS_PROVIDER", "carrier-pigeon")],
        &["config", "check"],
    );
    assert!(String::from_utf8_lossy(&no_provider.stderr).contains("routing.sms"));
}

/// A mistyped database name must not start an empty, healthy instance: only `migrate` creates a
/// database; `serve` and the other operator commands stop with a clear error.
#[tokio::test]
async fn only_migrate_creates_the_database() {
    let env = Env::new().await;
    let missing = format!("{}_typo", env.db.name);
    let url = env.db.url.replace(&env.db.name, &missing);
    let vars = [
        ("TOCSIN_DATABASE_URL", url.as_str()),
        ("TOCSIN_HTTP_ADDR", "127.0.0.1:0"),
    ];
    for args in [
        &["serve"][..],
        &["tenant", "create", "bras", "--name", "Bras"],
    ] {
        let refused = tocsin(&env, &vars, args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("does not exist") && stderr.contains("tocsin migrate"),
            "{args:?}: {stderr}"
        );
    }
    let admin = sqlx::PgPool::connect(crate::support::ADMIN_URL)
        .await
        .unwrap();
    let exists = |admin: sqlx::PgPool, name: String| async move {
        sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&admin)
            .await
            .unwrap()
            .is_some()
    };
    assert!(!exists(admin.clone(), missing.clone()).await);
    ok(tocsin(&env, &vars, &["migrate"]));
    assert!(exists(admin.clone(), missing.clone()).await);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {missing} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// With debug logs on, a key a careless client put in the query string is not logged (request
/// spans carry the path only), while the request id is; the server secret comes from a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_the_query_string_never_reaches_the_logs() {
    let env = Env::new().await;
    ok(tocsin(&env, &[], &["migrate"]));
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), format!("{}\n", env.secret)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env.vars() {
        if name != "TOCSIN_API_KEY_SECRET" {
            command.env(name, value);
        }
    }
    let serve = command
        .env("TOCSIN_API_KEY_SECRET_FILE", secret_file.path())
        .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("TOCSIN_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    crate::support::eventually(
        "serve is up",
        std::time::Duration::from_secs(30),
        || async { reqwest::get(format!("{url}/healthz")).await.is_ok() },
    )
    .await;
    let answer = reqwest::Client::new()
        .get(format!("{url}/v1/topics?api_key=tsk_leakedkey123&x=1"))
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    // SIGTERM: a clean shutdown that flushes the logs.
    std::process::Command::new("kill")
        .arg(serve.id().to_string())
        .status()
        .unwrap();
    let output = serve.wait_with_output().unwrap();
    let output = String::from_utf8_lossy(&output.stderr);
    assert!(output.contains("trace-me-42"), "{output}");
    assert!(output.contains("/v1/topics"), "{output}");
    assert!(!output.contains("tsk_leakedkey123"), "{output}");
    assert!(
        !output.contains(&env.secret),
        "the server secret was logged"
    );
}

/// The README's recurring reminder, from scratch: a commune overseas on its own clock, a weekly
/// schedule checked before it is trusted, paused, resumed and removed; a timed alert cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mayor_sets_up_a_weekly_reminder_from_the_command_line() {
    let env = Env::new().await;
    ok(tocsin(&env, &[], &["migrate"]));
    ok(tocsin(
        &env,
        &[],
        &["tenant", "create", "saint-paul", "--name", "Saint-Paul"],
    ));
    for (flag, value, says) in [
        ("--timezone", "Mars/Olympus", "unknown time zone"),
        ("--quiet-hours", "21h-8h", "21:00-08:00"),
        ("--sms-sender", "ALERTE", "generic word"),
        ("--sms-sender", "St-Paul", "only letters"),
        ("--sms-account", "saint-paul", "no SMS account"),
        ("--email-from", "mairie", "not a mailbox"),
        ("--sms-countries", "RE,XX", "\"XX\" is not a region"),
    ] {
        let refused = tocsin(&env, &[], &["tenant", "update", "saint-paul", flag, value]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(says),
            "{stderr}"
        );
    }
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "saint-paul",
            "--timezone",
            "Indian/Reunion",
            "--quiet-hours",
            "21:30-07:00",
            "--sms-sender",
            "STPAUL974",
            "--email-from",
            "Mairie de Saint-Paul <alertes@saintpaul.re>",
            "--sms-countries",
            "re, fr",
        ],
    ));
    let shown: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["tenant", "show", "saint-paul", "--json"],
    )))
    .unwrap();
    assert_eq!(shown["timezone"], "Indian/Reunion");
    assert_eq!(shown["quiet_hours"], "21:30-07:00");
    assert_eq!(shown["sms_account"], "smsmode", "the routing's");
    assert_eq!(shown["sms_sender"], "STPAUL974");
    assert_eq!(shown["sms_countries"], json!(["RE", "FR"]));
    assert_eq!(
        shown["email_from"],
        "Mairie de Saint-Paul <alertes@saintpaul.re>"
    );
    let key = ok(tocsin(
        &env,
        &[],
        &["key", "create", "--tenant", "saint-paul", "--role", "admin"],
    ));
    let daemon = env.start().await;
    let client = [
        ("TOCSIN_URL", daemon.url.as_str()),
        ("TOCSIN_API_KEY", key.trim()),
    ];
    ok(tocsin(&env, &client, &["topics", "add", "dechets"]));
    // Its page texts codes to Réunion and metropolitan mobiles only.
    let guadeloupe = reqwest::Client::new()
        .post(format!("{}/c/saint-paul/subscribe", daemon.url))
        .json(&json!({ "phone": "0690 01 23 45" }))
        .send()
        .await
        .unwrap();
    assert_eq!(guadeloupe.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: Value = guadeloupe.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "country_not_served", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("of GP"),
        "{refused}"
    );

    let created: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &client,
        &[
            "schedule",
            "add",
            "--topic",
            "dechets",
            "--cron",
            "0 19 * * MON",
            "--text",
            "Collecte des bacs jaunes demain matin : sortez-les ce soir.",
            "--channels",
            "sms",
            "--json",
        ],
    )))
    .unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["time_zone"], "Indian/Reunion", "the tenant's clock");
    let next: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &client,
        &["schedule", "next", id, "--count", "5", "--json"],
    )))
    .unwrap();
    let occurrences = next["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 5);
    for at in occurrences {
        let at = chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
        assert_eq!(at.format("%a %H:%M %:z").to_string(), "Mon 19:00 +04:00");
    }
    let bad = tocsin(
        &env,
        &client,
        &[
            "schedule",
            "add",
            "--topic",
            "dechets",
            "--cron",
            "0 19 * * LUN",
            "--text",
            "x",
        ],
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("field cron"),
        "{stderr}"
    );

    ok(tocsin(&env, &client, &["schedule", "pause", id]));
    let listed = ok(tocsin(&env, &client, &["schedule", "list"]));
    assert!(listed.contains(id) && listed.contains("paused"), "{listed}");
    ok(tocsin(&env, &client, &["schedule", "resume", id]));
    let listed: Value =
        serde_json::from_str(&ok(tocsin(&env, &client, &["schedule", "list", "--json"]))).unwrap();
    assert_eq!(listed["schedules"][0]["state"], "active");
    ok(tocsin(&env, &client, &["schedule", "remove", id]));
    let listed: Value =
        serde_json::from_str(&ok(tocsin(&env, &client, &["schedule", "list", "--json"]))).unwrap();
    assert_eq!(listed["schedules"], serde_json::json!([]));

    let dry = ok(tocsin(
        &env,
        &client,
        &[
            "send",
            "--topic",
            "dechets",
            "--text",
            "Collecte avancée à lundi : sortez les bacs dès dimanche soir « svp »",
            "--dry-run",
            "--gsm7",
        ],
    ));
    assert!(
        dry.contains("nothing is sent")
            && dry.contains("0 recipients via smsmode")
            && dry.contains("(gsm7, ")
            && dry.contains("without --gsm7: 1 segment(s) each (ucs2)"),
        "{dry}"
    );

    // Tomorrow 10:00 on the commune's clock.
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Indian::Reunion)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d 10:00")
    .to_string();
    let timed: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &client,
        &[
            "send",
            "--topic",
            "dechets",
            "--text",
            "Coupure d'eau de 10 h à 12 h",
            "--at",
            &tomorrow,
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(timed["status"], "scheduled", "{timed}");
    assert!(
        timed["starts_at"].as_str().unwrap().contains("T06:00:00"),
        "10:00 in Réunion is 06:00 UTC: {timed}"
    );
    let alert = timed["id"].as_str().unwrap();
    let cancelled = ok(tocsin(&env, &client, &["cancel", alert]));
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    let status: Value =
        serde_json::from_str(&ok(tocsin(&env, &client, &["status", alert, "--json"]))).unwrap();
    assert_eq!(status["status"], "cancelled");
    daemon.stop().await;
}

/// `tocsin vapid generate` makes the Web Push identity the configuration then reads, checked.
#[tokio::test]
async fn a_vapid_key_pair_is_generated_and_read_back_from_the_environment() {
    let env = Env::new().await;
    let keys: Value =
        serde_json::from_str(&ok(tocsin(&env, &[], &["vapid", "generate", "--json"]))).unwrap();
    let (public, private) = (
        keys["public_key"].as_str().unwrap(),
        keys["private_key"].as_str().unwrap(),
    );
    assert_eq!(public.len(), 87, "65 octets in base64url: {public}");
    let human = ok(tocsin(&env, &[], &["vapid", "generate"]));
    assert!(human.contains("Public key:") && human.contains("TOCSIN_VAPID_PRIVATE_KEY"));

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{private}\n")).unwrap();
    let path = file.path().to_str().unwrap();
    let checked = ok(tocsin(
        &env,
        &[
            ("TOCSIN_VAPID_PRIVATE_KEY_FILE", path),
            ("TOCSIN_VAPID_SUBJECT", "mailto:alertes@bras.fr"),
        ],
        &["config", "check"],
    ));
    assert!(
        checked.contains(&format!("VAPID public key {public}")),
        "{checked}"
    );
    assert!(
        !checked.contains(private),
        "the private key is never printed"
    );

    for (vars, says) in [
        (
            [
                ("TOCSIN_VAPID_PRIVATE_KEY", "not-a-key"),
                ("TOCSIN_VAPID_SUBJECT", "mailto:a@b.fr"),
            ],
            "push.vapid_private_key",
        ),
        (
            [
                ("TOCSIN_VAPID_PRIVATE_KEY", private),
                ("TOCSIN_VAPID_SUBJECT", "http://bras.fr"),
            ],
            "push.vapid_subject",
        ),
    ] {
        let refused = tocsin(&env, &vars, &["config", "check"]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(says),
            "{stderr}"
        );
        assert!(!stderr.contains(private), "{stderr}");
    }
    let half = tocsin(
        &env,
        &[("TOCSIN_VAPID_PRIVATE_KEY", private)],
        &["config", "check"],
    );
    assert!(
        String::from_utf8_lossy(&half.stderr)
            .contains("set both vapid_private_key and vapid_subject")
    );
}

/// Verifies a received message's DKIM signature with dkimpy, an independent verifier, against
/// the TXT record `name` → `value` (no DNS here).
pub fn dkim_verifies(message: &str, name: &str, value: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("message.eml");
    std::fs::write(&path, message).unwrap();
    let script = r#"
import sys, dkim
name, value, path = sys.argv[1], sys.argv[2], sys.argv[3]
def dns(qname, timeout=5):
    return value.encode() if qname.decode().rstrip('.') == name else None
message = open(path, 'rb').read()
sys.exit(0 if dkim.verify(message, dnsfunc=dns) else 1)
"#;
    let out = Command::new("python3")
        .args(["-c", script, name, value, path.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn a_commune_s_alert_e_mails_are_dkim_signed_for_its_own_domain() {
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    mairie
        .subscriber(None, Some("marie@example.fr"), &["intemperies"])
        .await;
    let out = tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "bras",
            "--email-from",
            "Mairie de Bras <alertes@bras-sur-meuse.fr>",
            "--dkim-selector",
            "tocsin",
            "--dkim-generate",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = tocsin(&env, &[], &["tenant", "show", "bras", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let name = shown["dkim"]["dns_name"].as_str().unwrap().to_string();
    let value = shown["dkim"]["dns_value"].as_str().unwrap().to_string();
    assert_eq!(name, "tocsin._domainkey.bras-sur-meuse.fr");
    assert!(value.starts_with("v=DKIM1; k=rsa; p="), "{value}");
    // The private key is stored sealed, and printed nowhere.
    let all = String::from_utf8_lossy(&shown.to_string().into_bytes()).into_owned();
    assert!(!all.contains("PRIVATE KEY"));
    let db = env.db.pool().await;
    let (sealed,): (Vec<u8>,) =
        sqlx::query_as("SELECT dkim_key_sealed FROM tenants WHERE slug = 'bras'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(!sealed.windows(7).any(|w| w == b"PRIVATE"));

    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["email"], "subject": "Crue",
                       "text": "La Meuse déborde : évitez les berges." }),
        )
        .await;
    mairie.wait_completed(&id).await;
    let mail = env
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    let signature = mail.headers.get("DKIM-Signature").expect("signed");
    for header in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            signature.to_ascii_lowercase().contains(header),
            "{header} not signed: {signature}"
        );
    }
    dkim_verifies(&mail.data, &name, &value).expect("a valid DKIM signature");
    // Altered in transit, it fails: the verifier is really checking.
    let altered = mail.data.replacen("Subject: Crue", "Subject: Crue!", 1);
    assert!(dkim_verifies(&altered, &name, &value).is_err());

    // A key that no longer opens (damaged, or sealed under another server secret) never lets
    // the commune's mail go out unsigned: it waits, is retried, and fails with the reason.
    sqlx::query("UPDATE tenants SET dkim_key_sealed = set_byte(dkim_key_sealed, 20, 0)")
        .execute(&db)
        .await
        .unwrap();
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["email"], "subject": "Crue",
                       "text": "Second message." }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(60))
        .await;
    assert_eq!(report["counts"]["email"]["failed"], 1, "{report}");
    let failed = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=failed"))
        .await;
    let reason = failed.body["deliveries"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("not sent unsigned"), "{}", failed.body);
    assert_eq!(env.smtp.received().len(), 1, "an unsigned e-mail went out");
    daemon.stop().await;
}

/// The secret of a tenant's callback URLs is stored nowhere: `tenant show` derives it from the
/// server's secret, a copy of the database does not hold it, and rotating it refuses the URLs
/// given to providers before (the old random form, kept as a hash since the upgrade, included).
#[tokio::test]
async fn a_callback_token_is_stored_nowhere_and_rotates() {
    let env = Env::new().await;
    let daemon = env.start().await;
    env.tenant(&daemon, "bras").await;
    let status_path = |env: &Env| {
        let shown = ok(tocsin(env, &[], &["tenant", "show", "bras", "--json"]));
        let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
        let url = shown["callbacks"]["smsmode"]["status"]
            .as_str()
            .unwrap()
            .to_owned();
        url::Url::parse(&url).unwrap().path().to_owned()
    };
    // Accepted (400: the body is no report) or refused (403: the token is not one of ours).
    let call = |path: String| {
        let url = format!("{}{path}", daemon.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!("not a report"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let first = status_path(&env);
    assert_eq!(call(first.clone()).await, 400, "{first}");
    let token = first.split('/').nth(3).unwrap().to_owned();
    let db = env.db.pool().await;
    let (row,): (String,) =
        sqlx::query_as("SELECT row_to_json(t)::text FROM tenants t WHERE slug = 'bras'")
            .fetch_one(&db)
            .await
            .unwrap();
    let mac = token.rsplit('.').next().unwrap();
    assert!(!row.contains(mac), "the token is in the database: {row}");

    // A token of the old random form, as the upgrade kept it (its SHA-256), still works.
    let legacy = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    sqlx::query(
        "UPDATE tenants SET legacy_callback_token_hash = sha256(convert_to($1, 'UTF8'))
         WHERE slug = 'bras'",
    )
    .bind(legacy)
    .execute(&db)
    .await
    .unwrap();
    let legacy_path = first.replace(&token, legacy);
    assert_eq!(call(legacy_path.clone()).await, 400);

    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--rotate-callback-token"],
    ));
    let rotated = status_path(&env);
    assert_ne!(rotated, first);
    assert_eq!(call(rotated).await, 400);
    assert_eq!(call(first).await, 403, "the token before rotation");
    assert_eq!(call(legacy_path).await, 403, "the old random token");
    daemon.stop().await;
}

/// What must never run in production is named by `config check` while it is on: a simulator a
/// commune may be routed to (it reaches no one), and push endpoints allowed on this machine.
#[tokio::test]
async fn config_check_warns_while_a_simulator_or_loopback_pushes_are_enabled() {
    let env = Env::new().await;
    let plain = ok(tocsin(&env, &[], &["config", "check"]));
    assert!(!plain.contains("warning"), "{plain}");
    let key = tocsin_providers::push::crypto::VapidKey::generate().unwrap();
    let private = secrecy::ExposeSecret::expose_secret(&key.private_key_base64url()).to_string();
    let risky = ok(tocsin(
        &env,
        &[
            ("TOCSIN_SMS_SIMULATOR_ENABLED", "true"),
            ("TOCSIN_VAPID_PRIVATE_KEY", &private),
            ("TOCSIN_VAPID_SUBJECT", "mailto:alertes@bras.fr"),
            ("TOCSIN_PUSH_ALLOW_LOOPBACK", "true"),
        ],
        &["config", "check"],
    ));
    assert!(
        risky.contains("warning: sms.simulator is enabled"),
        "{risky}"
    );
    assert!(
        risky.contains("warning: [push] allow_loopback is on"),
        "{risky}"
    );
}
