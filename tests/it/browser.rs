//! The citizen's page in a real browser: headless Chromium (Debian's `chromium`), driven by
//! playwright-core through the scripts of `tests/browser/`, one step at a time, with the daemon's
//! side checked between steps. A citizen subscribes by e-mail, confirms, gets an alert and
//! leaves; a browser turns notifications on, its service worker shows an alert, and it turns
//! them off; axe-core audits every page and error state met on the way (WCAG 2.1 AA and axe's
//! best practices). Screenshots go to `target/browser-artifacts/`.
//!
//! Chromium cannot reach a real push service here (its `pushManager.subscribe()` asks Google's
//! FCM): the push stand-in plays that service, as `tests/browser/push-service.mjs` explains.
//!
//! Without `node` or Chromium these tests say so loudly and pass, unless `CI` is set: then they
//! fail. `tests/run` installs both, and the npm packages.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tocsin_providers::push::crypto::VapidKey;
use tocsin_standins::push::PushStandin;

use crate::support::{Client, Daemon, Env, ReceivedMail, eventually};

/// Where links in mails and pushes point; the browser is sent to the daemon instead (see
/// [`local`]). It keeps the page's own origin, `http://127.0.0.1:port`, which Chromium counts as
/// secure: service workers and push need a secure context.
const PUBLIC_URL: &str = "https://alertes.example.fr";
const COMMUNE: &str = "Bras-sur-Meuse";
/// A whole step (one Chromium, several pages): each wait inside has half of it.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Node and Chromium, found; or `None` when a developer's machine lacks them.
struct Browser {
    chromium: String,
    scripts: PathBuf,
}

fn browser() -> Option<Browser> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!node).then_some("node"),
        (!Path::new(&chromium).exists()).then_some(chromium.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        let what = missing.join(" and ");
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser tests need {what}, and CI is set: they must run (tests/run installs them)"
        );
        eprintln!(
            "\n**********\nSKIPPED: the browser tests need {what}, missing here. \
             tests/run installs them.\n**********\n"
        );
        return None;
    }
    let scripts = root.join("tests/browser");
    assert!(
        scripts.join("node_modules/playwright-core").is_dir()
            && scripts.join("node_modules/axe-core").is_dir(),
        "the browser tests' npm packages are missing: run `npm ci --prefix tests/browser` \
         (tests/run does)"
    );
    Some(Browser { chromium, scripts })
}

/// Where a test's screenshots go: `target/browser-artifacts/<test>/`, made afresh.
fn artifacts(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/browser-artifacts")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// One citizen's browser: the steps of `tests/browser/citizen.mjs`, run against one daemon,
/// with a profile kept from one step to the next (the service worker and its registration).
struct Citizen {
    browser: Browser,
    base_url: String,
    artifacts: PathBuf,
    profile: tempfile::TempDir,
}

impl Citizen {
    fn new(browser: Browser, daemon: &Daemon, test: &str) -> Citizen {
        Citizen {
            browser,
            base_url: daemon.url.clone(),
            artifacts: artifacts(test),
            profile: tempfile::tempdir().expect("a profile directory"),
        }
    }

    /// Runs one step and returns its result; fails the test with the step's own words.
    async fn step(&self, name: &str, params: &[(&str, &str)]) -> Value {
        self.step_of("citizen.mjs", name, params).await
    }

    /// Runs one step of one of the scripts.
    async fn step_of(&self, script: &str, name: &str, params: &[(&str, &str)]) -> Value {
        let started = Instant::now();
        let mut command = tokio::process::Command::new("node");
        command
            .arg(self.browser.scripts.join(script))
            .arg(name)
            .current_dir(&self.browser.scripts)
            .env("BASE_URL", &self.base_url)
            .env("SLUG", "bras")
            .env("TOPIC", "intemperies")
            .env("CHROMIUM", &self.browser.chromium)
            .env("USER_DATA_DIR", self.profile.path())
            .env("ARTIFACTS", &self.artifacts)
            .env(
                "STEP_TIMEOUT_MS",
                (STEP_TIMEOUT.as_millis() / 2).to_string(),
            )
            .envs(params.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(STEP_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("browser step {name}: still running after {STEP_TIMEOUT:?}"))
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "browser step {name} failed ({}):\n{stderr}{stdout}",
            output.status
        );
        let result = stdout
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| panic!("browser step {name}: no JSON result in {stdout}{stderr}"));
        eprintln!(
            "browser step {name}: {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert_accessible(name, &result);
        result
    }
}

/// Fails with every axe violation a step's audits found: rule, impact, and the elements at fault.
/// What axe left undecided ("incomplete": it needs a person's eye) is printed, not failed on.
fn assert_accessible(step: &str, result: &Value) {
    let mut report = String::new();
    for audit in result["audits"].as_array().into_iter().flatten() {
        let review: Vec<String> = audit["incomplete"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|rule| format!("{} on {} ({})", rule["id"], rule["targets"], rule["why"]))
            .collect();
        eprintln!(
            "axe: {}: {} violations; to review by eye: {}",
            audit["name"].as_str().unwrap_or("?"),
            audit["violations"].as_array().map_or(0, Vec::len),
            if review.is_empty() {
                "nothing".to_string()
            } else {
                review.join("; ")
            },
        );
        for violation in audit["violations"].as_array().into_iter().flatten() {
            report.push_str(&format!(
                "\n{} ({}): {} [{}] {}\n",
                audit["name"].as_str().unwrap_or("?"),
                audit["url"].as_str().unwrap_or("?"),
                violation["id"].as_str().unwrap_or("?"),
                violation["impact"].as_str().unwrap_or("?"),
                violation["help"].as_str().unwrap_or("?"),
            ));
            for node in violation["nodes"].as_array().into_iter().flatten() {
                report.push_str(&format!(
                    "  at {}: {}\n    {}\n",
                    node["target"].as_str().unwrap_or("?"),
                    node["html"].as_str().unwrap_or("?"),
                    node["summary"]
                        .as_str()
                        .unwrap_or("?")
                        .replace('\n', "\n    "),
                ));
            }
        }
    }
    assert!(
        report.is_empty(),
        "axe-core found violations in step {step}:{report}"
    );
}

/// The daemon's URL for a link under [`PUBLIC_URL`].
fn local(daemon: &Daemon, link: &str) -> String {
    let path = link
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{link}: not under {PUBLIC_URL}"));
    format!("{}{path}", daemon.url)
}

fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn mail_to(env: &Env, to: &str, n: usize) -> Vec<ReceivedMail> {
    let mut mails = Vec::new();
    eventually(
        &format!("{n} mails to {to}"),
        Duration::from_secs(20),
        || {
            mails = env
                .smtp
                .received()
                .into_iter()
                .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
                .collect();
            let enough = mails.len() >= n;
            async move { enough }
        },
    )
    .await;
    mails
}

/// A commune "bras" named [`COMMUNE`], with the topic "intemperies", on a daemon that offers
/// notifications; the push stand-in, for the browser's push service.
struct Commune {
    env: Env,
    daemon: Daemon,
    mairie: Client,
    service: PushStandin,
    vapid_public: String,
}

async fn commune() -> Commune {
    let env = Env::new().await;
    let service = PushStandin::start().await;
    let vapid = VapidKey::generate().unwrap();
    let private = secrecy::ExposeSecret::expose_secret(&vapid.private_key_base64url()).to_string();
    let daemon = Daemon::start(env.config_with(&[
        ("TOCSIN_PUBLIC_URL", PUBLIC_URL),
        ("TOCSIN_VAPID_PRIVATE_KEY", &private),
        ("TOCSIN_VAPID_SUBJECT", "mailto:alertes@bras-sur-meuse.fr"),
    ]))
    .await;
    let mairie = env.tenant(&daemon, "bras").await;
    sqlx::query("UPDATE tenants SET name = $1 WHERE slug = 'bras'")
        .bind(COMMUNE)
        .execute(&env.db.pool().await)
        .await
        .unwrap();
    let topic = mairie
        .post(
            "/v1/topics",
            json!({ "slug": "intemperies", "name": "Intempéries" }),
        )
        .await;
    assert_eq!(topic.status, StatusCode::CREATED, "{}", topic.body);
    Commune {
        env,
        daemon,
        mairie,
        service,
        vapid_public: vapid.public_key_base64url(),
    }
}

#[tokio::test]
async fn in_chromium_a_citizen_subscribes_by_e_mail_confirms_gets_the_alert_and_leaves() {
    let Some(browser) = browser() else { return };
    let Commune {
        env,
        daemon,
        mairie,
        ..
    } = commune().await;
    let marie = Citizen::new(browser, &daemon, "e-mail");

    let subscribed = marie
        .step("email-subscribe", &[("EMAIL", "marie@example.fr")])
        .await;
    let notice = subscribed["notice"].as_str().unwrap();
    assert!(notice.contains("Si cette adresse est valide"), "{notice}");

    let confirmation = &mail_to(&env, "marie@example.fr", 1).await[0];
    let link = link_in(
        &confirmation.text,
        &format!("{PUBLIC_URL}/c/bras/email/confirm?token="),
    );
    let confirmed = marie
        .step(
            "follow-link",
            &[
                ("LINK", &local(&daemon, &link)),
                ("BUTTON", "Confirmer mon inscription"),
            ],
        )
        .await;
    assert_eq!(
        confirmed["after"]["heading"], "Inscription confirmée",
        "{confirmed}"
    );
    let listed = mairie.get("/v1/subscribers").await;
    let subscribers = listed.body["subscribers"].as_array().unwrap();
    assert_eq!(subscribers.len(), 1, "{}", listed.body);
    assert_eq!(subscribers[0]["email"], "marie@example.fr");
    assert_eq!(
        subscribers[0]["topics"],
        json!(["intemperies"]),
        "{}",
        listed.body
    );

    let text = "Crue de la Meuse : évacuez les berges avant 18 h.";
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "channels": ["email"], "subject": "Crue",
                       "text": text }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["email"]["sent"], 1, "{report}");
    let alert = mail_to(&env, "marie@example.fr", 2).await.pop().unwrap();
    assert!(alert.text.contains(text), "{}", alert.text);

    // She leaves from the link of the alert e-mail, in the browser too.
    let header = alert
        .headers
        .get("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let unsubscribe = header.trim_matches(|c| c == '<' || c == '>');
    let left = marie
        .step(
            "follow-link",
            &[
                ("LINK", &local(&daemon, unsubscribe)),
                ("BUTTON", "Me désinscrire"),
            ],
        )
        .await;
    assert_eq!(left["after"]["heading"], "Désinscription faite", "{left}");
    let listed = mairie.get("/v1/subscribers").await;
    assert_eq!(listed.body["subscribers"], json!([]), "{}", listed.body);
    daemon.stop().await;
}

#[tokio::test]
async fn in_chromium_notifications_turned_on_from_the_page_show_the_alert_via_the_service_worker() {
    let Some(browser) = browser() else { return };
    let Commune {
        env,
        daemon,
        mairie,
        service,
        vapid_public,
    } = commune().await;
    let citizen = Citizen::new(browser, &daemon, "push");
    // What Chromium's push service would hand the browser (see push-service.mjs).
    let subscription = service.subscribe_with_key(&vapid_public);
    let subscription_json = subscription.json();

    let on = citizen
        .step(
            "push-subscribe",
            &[("PUSH_SUBSCRIPTION", &subscription_json)],
        )
        .await;
    assert_eq!(on["arrival"], "unsubscribed", "{on}");
    assert_eq!(
        on["status"], "Notifications activées sur ce navigateur.",
        "{on}"
    );
    assert_eq!(
        on["askedKeys"],
        json!([vapid_public]),
        "subscribed with the daemon's VAPID key"
    );
    assert_eq!(
        on["worker"]["scope"],
        format!("{}/c/bras/", daemon.url),
        "{on}"
    );
    assert_eq!(
        on["worker"]["script"],
        format!("{}/c/bras/sw.js", daemon.url),
        "{on}"
    );
    assert_eq!(on["worker"]["state"], "activated", "{on}");
    let db = env.db.pool().await;
    let stored: Vec<(Value,)> =
        sqlx::query_as("SELECT push FROM subscribers WHERE push IS NOT NULL")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        stored[0].0["endpoint"],
        subscription.endpoint(),
        "{stored:?}"
    );
    let listed = mairie.get("/v1/subscribers").await;
    assert_eq!(
        listed.body["subscribers"][0]["topics"],
        json!(["intemperies"]),
        "the topic ticked on the page: {}",
        listed.body
    );

    let text = "Crue de la Meuse : évacuez les berges avant 18 h.";
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["push"],
                       "subject": "Vigilance rouge", "text": text, "expires_in": 3600 }),
        )
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["push"]["sent"], 1, "{report}");
    let received = service.received(&subscription);
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(message.urgency.as_deref(), Some("high"));
    assert!(
        (3400..=3600).contains(&message.ttl),
        "TTL until the alert expires: {}",
        message.ttl
    );
    assert_eq!(message.vapid_key, vapid_public);
    let payload = message.payload.clone().expect("a JSON payload");
    assert_eq!(payload["commune"], COMMUNE, "{payload}");
    let alert_url = payload["url"].as_str().unwrap().to_string();
    assert!(
        alert_url.starts_with(&format!("{PUBLIC_URL}/a/")),
        "{payload}"
    );

    // The very message the push service decrypted, handed to the service worker.
    let got = citizen
        .step(
            "push-receive",
            &[
                ("PUSH_SUBSCRIPTION", &subscription_json),
                ("PUSH_PAYLOAD", &message.raw),
                ("ALERT_URL", &local(&daemon, &alert_url)),
                ("ALERT_TEXT", text),
            ],
        )
        .await;
    assert_eq!(got["arrival"], "subscribed", "the browser remembers: {got}");
    assert_eq!(
        got["arrivalStatus"], "Les notifications sont activées sur ce navigateur.",
        "{got}"
    );
    let shown = got["notifications"].as_array().unwrap();
    assert_eq!(shown.len(), 1, "{got}");
    let notification = &shown[0];
    assert_eq!(notification["title"], COMMUNE, "{notification}");
    let body = notification["body"].as_str().unwrap();
    assert!(
        body.starts_with("Vigilance rouge\n") && body.ends_with(text),
        "{body}"
    );
    assert_eq!(
        notification["data"]["url"],
        alert_url.as_str(),
        "{notification}"
    );
    assert_eq!(
        notification["requireInteraction"], true,
        "urgent: {notification}"
    );
    assert_eq!(notification["lang"], "fr");
    if let Some(tag) = payload["tag"].as_str() {
        assert_eq!(notification["tag"], tag);
    }

    let off = citizen
        .step(
            "push-unsubscribe",
            &[("PUSH_SUBSCRIPTION", &subscription_json)],
        )
        .await;
    assert_eq!(off["arrival"], "subscribed", "{off}");
    assert_eq!(off["outcome"], "unsubscribed", "{off}");
    assert_eq!(
        off["status"], "Notifications désactivées sur ce navigateur.",
        "{off}"
    );
    assert_eq!(off["left"], true, "{off}");
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM subscribers WHERE push IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    eprintln!("browser screenshots: {}", citizen.artifacts.display());
    daemon.stop().await;
}

#[tokio::test]
async fn in_chromium_the_page_and_its_error_states_pass_axe_at_320_px_and_by_keyboard() {
    let Some(browser) = browser() else { return };
    // The whole commune lives as long as the test: its database goes with `env`.
    let Commune {
        env: _env, daemon, ..
    } = commune().await;
    let citizen = Citizen::new(browser, &daemon, "page");
    let page = citizen.step("page", &[]).await;

    // Reflow (WCAG 1.4.10): nothing scrolls sideways at 320 CSS pixels.
    for (state, layout) in page["narrow"].as_object().unwrap() {
        assert!(
            layout["scrollWidth"].as_u64() <= layout["innerWidth"].as_u64(),
            "{state} at 320 px scrolls sideways: {layout}"
        );
    }
    // Keyboard: Tab from the top reaches the e-mail field, every stop on the way visibly focused.
    let keyboard = &page["keyboard"];
    assert_eq!(keyboard["reached"], true, "{keyboard}");
    let first = keyboard["stops"][0]["label"].as_str().unwrap_or_default();
    assert!(
        first.contains("Aller au contenu"),
        "the skip link first: {keyboard}"
    );
    let hidden: Vec<&Value> = keyboard["stops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|stop| stop["visible"] != true)
        .collect();
    assert!(hidden.is_empty(), "focus cannot be seen on {hidden:?}");

    // Error states: a summary whose links lead to the fields, marked invalid and described.
    let errors = &page["errors"];
    assert_eq!(
        errors["push"], "Cochez au moins un thème, puis réessayez.",
        "{errors}"
    );
    for (form, field) in [("phone", "sms-phone"), ("email", "email-address")] {
        let error = &errors[form];
        assert!(
            error["title"].as_str().unwrap().starts_with("Erreur"),
            "{error}"
        );
        assert_eq!(error["links"], json!([format!("#{field}")]), "{error}");
        assert_eq!(error["field"]["invalid"], "true", "{error}");
        let described = error["field"]["describedBy"][0]
            .as_str()
            .unwrap_or_default();
        assert!(described.starts_with("Erreur"), "{error}");
    }
    eprintln!(
        "browser screenshots: {}",
        page["screenshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(", ")
    );
    daemon.stop().await;
}

/// The console in Chromium: an admin invited from the command line accepts the invitation, sets
/// up TOTP, sends an urgent alert and sees it reach 100 % live; axe-core audits every page and
/// state met (errors included) at 1280 and 360 px, none scrolls sideways, the sign-in form is
/// reached by keyboard with a visible focus.
#[tokio::test]
async fn in_chromium_the_console_takes_an_admin_from_the_invitation_to_a_sent_alert() {
    let Some(browser) = browser() else { return };
    let env = Env::new().await;
    let daemon = env.start().await;
    let mairie = env.commune(&daemon.url, 0).await;
    mairie
        .subscriber(
            Some("0611111111"),
            Some("anne@example.org"),
            &["intemperies"],
        )
        .await;
    let output = crate::cli::tocsin(
        &env,
        &[],
        &[
            "user",
            "add",
            "--tenant",
            "bras",
            "--email",
            "secretariat@bras.fr",
            "--name",
            "Anne Martin",
            "--role",
            "admin",
        ],
    );
    let link = crate::cli::ok(output);
    let path = &link[link.find("/console/invitation/").unwrap()..]
        .trim()
        .to_string();
    let visitor = Citizen::new(browser, &daemon, "console");
    let tour = visitor
        .step_of("console.mjs", "tour", &[("LINK", path)])
        .await;
    assert_eq!(tour["done"], "100", "{tour}");
    assert_eq!(tour["notFound"], 404);
    let counter = tour["counter"].as_str().unwrap();
    assert!(
        counter.contains("UCS-2") && counter.contains("’"),
        "{counter}"
    );
    let question = tour["question"].as_str().unwrap();
    assert!(
        question.contains("Envoyer maintenant à 1 personne : 1 SMS de 2 segments, 1 e-mail ?"),
        "{question}"
    );
    for (page, layout) in tour["narrow"].as_object().unwrap() {
        assert!(
            layout["scrollWidth"].as_i64() <= layout["innerWidth"].as_i64(),
            "{page} scrolls sideways at 360 px: {layout}"
        );
    }
    // By keyboard alone: the sign-in form, the alert's form to its button, the confirmation to
    // "Envoyer", every stop with a visible focus.
    for keyboard in tour["keyboard"].as_array().unwrap() {
        assert_eq!(keyboard["reached"], true, "{keyboard}");
        assert!(
            keyboard["stops"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["visible"] == true),
            "every focus visible: {keyboard}"
        );
    }
    daemon.stop().await;
}

/// The OpenID provider of `tests/browser/oidc-provider.mjs` (the `oidc-provider` package), for
/// a console whose callback is `redirect_uri`; killed when dropped.
struct OpenIdProvider {
    issuer: String,
    _process: tokio::process::Child,
}

const OIDC_CLIENT_ID: &str = "tocsin-console";
const OIDC_CLIENT_SECRET: &str = "a-secret-of-the-tests-0123456789abcdef";
const SIRET: &str = "21550029000019";

impl OpenIdProvider {
    async fn start(browser: &Browser, redirect_uri: &str) -> OpenIdProvider {
        use tokio::io::AsyncBufReadExt;
        let mut process = tokio::process::Command::new("node")
            .arg(browser.scripts.join("oidc-provider.mjs"))
            .current_dir(&browser.scripts)
            .env("REDIRECT_URI", redirect_uri)
            .env("CLIENT_ID", OIDC_CLIENT_ID)
            .env("CLIENT_SECRET", OIDC_CLIENT_SECRET)
            .env("SIRET", SIRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the OpenID provider");
        let stdout = process.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the OpenID provider starts within 30 s")
        .unwrap();
        let started: Value = serde_json::from_str(&line).expect("the provider's issuer");
        OpenIdProvider {
            issuer: started["issuer"].as_str().unwrap().to_string(),
            _process: process,
        }
    }
}

/// A mayor invited by e-mail signs in to the console through a real OpenID provider (with a
/// `siret` claim, signed ID token and userinfo), writes an urgent alert, sees its segments and
/// cost, confirms, watches it reach 100 % live and finds every recipient in the CSV; an agent of
/// the same SIRET whom nobody invited is told their SIRET and whom to ask.
#[tokio::test]
async fn in_chromium_a_mayor_signs_in_through_an_openid_provider_and_sends_an_urgent_alert() {
    let Some(browser) = browser() else { return };
    let env = Env::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = OpenIdProvider::start(&browser, &format!("{url}/console/oidc/callback")).await;
    let config = env.config_with_file_and(
        "[pricing.smsmode]\nper_segment = 0.045\n",
        &[
            ("TOCSIN_PUBLIC_URL", &url),
            ("TOCSIN_OIDC_ISSUER", &provider.issuer),
            ("TOCSIN_OIDC_CLIENT_ID", OIDC_CLIENT_ID),
            ("TOCSIN_OIDC_CLIENT_SECRET", OIDC_CLIENT_SECRET),
        ],
    );
    let daemon = Daemon::start_on(listener, config, tocsin::clock::Clock::System).await;
    let mairie = env.commune(&daemon.url, 0).await;
    for (phone, email) in [
        (Some("0611111111"), Some("anne@example.org")),
        (Some("0622222222"), None),
        (None, Some("paul@example.org")),
    ] {
        mairie.subscriber(phone, email, &["intemperies"]).await;
    }
    crate::cli::ok(crate::cli::tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--siret", SIRET],
    ));
    crate::cli::ok(crate::cli::tocsin(
        &env,
        &[],
        &[
            "user",
            "add",
            "--tenant",
            "bras",
            "--email",
            "maire@bras.fr",
            "--name",
            "Jean Dupont",
            "--role",
            "sender",
        ],
    ));

    let mayor = Citizen::new(browser, &daemon, "console-oidc");
    let text = "Alerte orange orages ce soir : évitez les déplacements et restez à l’abri des arbres, merci.";
    let result = mayor
        .step_of(
            "console.mjs",
            "mayor",
            &[("LOGIN", "maire@bras.fr"), ("ALERT_TEXT", text)],
        )
        .await;
    assert!(
        result["signedIn"].as_str().unwrap().ends_with("/console"),
        "{result}"
    );
    assert!(
        result["header"].as_str().unwrap().contains("Jean Dupont"),
        "{result}"
    );
    let question = result["question"].as_str().unwrap();
    assert!(
        question.contains("à 3 personnes : 2 SMS de 2 segments (0,18 €), 2 e-mails ?"),
        "{question}"
    );
    assert_eq!(result["done"], "100");
    let csv = result["csv"].as_str().unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "every recipient, once per channel: {csv}");
    assert!(
        rows.iter()
            .all(|r| r.contains(",sent,") || r.contains(",delivered,")),
        "{csv}"
    );
    assert!(
        !csv.contains("0611111111") && !csv.contains("anne@example.org"),
        "masked: {csv}"
    );

    let db = env.db.pool().await;
    let (bound,): (Option<String>,) =
        sqlx::query_as("SELECT oidc_subject FROM users WHERE email = 'maire@bras.fr'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        bound.as_deref(),
        Some("maire@bras.fr"),
        "bound to the provider's subject"
    );

    let stranger = mayor
        // A browser of its own (an empty profile): no session at the provider.
        .step_of(
            "console.mjs",
            "stranger",
            &[("LOGIN", "agent@bras.fr"), ("USER_DATA_DIR", "")],
        )
        .await;
    let said = stranger["text"].as_str().unwrap();
    assert!(
        said.contains("SIRET 21550029000019") && said.contains("agent@bras.fr"),
        "{said}"
    );
    daemon.stop().await;
}
