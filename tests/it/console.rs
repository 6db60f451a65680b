//! The mairie's console over HTTP, as a browser without JavaScript uses it: invitations,
//! passwords and TOTP (the test computes the codes), sessions, CSRF, roles, sending an alert and
//! following it to the end, the CSV of its deliveries.

use std::collections::BTreeMap;

use chrono::Utc;
use reqwest::{StatusCode, header};
use tocsin::{clock::ManualClock, model::people::TotpSecret};

use crate::{
    cli::{ok, tocsin},
    support::{Client, Daemon, Env, create_tenant},
};

/// One person's browser: its cookies, no redirects followed (the tests check where each answer
/// leads), and the CSRF token of the last page.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// An answer: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Page {
    /// The value of the hidden field `name` (the first one).
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].replace("&amp;", "&")
    }

    fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    fn assert_leads_to(&self, path: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location.as_deref(), Some(path));
    }
}

/// A request carrying a form, as a browser posts it.
fn with_form(request: reqwest::RequestBuilder, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
    request
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
}

impl Visitor {
    fn new(daemon: &Daemon) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: daemon.url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request
            .header(header::COOKIE, cookie.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            assert!(attributes.contains("HttpOnly"), "{set}");
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_string()),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = with_form(self.http.post(format!("{}{path}", self.base)), form);
        self.send(request).await
    }

    /// Accepts an invitation link: a password, then for senders and admins the second factor,
    /// whose secret it returns with the recovery codes.
    async fn accept(
        &mut self,
        link: &str,
        password: &str,
        clock: &ManualClock,
    ) -> Option<(TotpSecret, Vec<String>)> {
        let path = &link[link
            .find("/console/invitation/")
            .expect("an invitation link")..];
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        let weak = self
            .post(
                path,
                &[
                    ("csrf", &csrf),
                    ("password", "azerty123456"),
                    ("confirmation", "azerty123456"),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::BAD_REQUEST);
        assert!(weak.body.contains("plus courants"), "{}", weak.body);
        let set = self
            .post(
                path,
                &[
                    ("csrf", &csrf),
                    ("password", password),
                    ("confirmation", password),
                ],
            )
            .await;
        if set.location.as_deref() == Some("/console") {
            return None;
        }
        set.assert_leads_to("/console/second-factor");
        let enrol = self.get("/console/second-factor").await;
        assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
        assert!(enrol.body.contains("<svg"), "a QR code");
        let field = enrol.hidden("secret");
        let secret =
            TotpSecret::from_bytes(&hex::decode(field.split('.').next().unwrap()).unwrap())
                .unwrap();
        let code = secret.code_at(clock.now().timestamp());
        let done = self
            .post(
                "/console/second-factor",
                &[("csrf", &enrol.csrf()), ("secret", &field), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let codes: Vec<String> = done
            .body
            .split("<li><code>")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect();
        assert_eq!(codes.len(), 10, "{}", done.body);
        Some((secret, codes))
    }

    /// Signs in with a password, then a code if asked; returns the last answer.
    async fn sign_in(&mut self, email: &str, password: &str, code: Option<&str>) -> Page {
        let form = self.get("/console/login").await;
        let page = self
            .post(
                "/console/login",
                &[
                    ("csrf", &form.csrf()),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        match (page.location.as_deref(), code) {
            (Some("/console/login/code"), Some(code)) => {
                let asked = self.get("/console/login/code").await;
                self.post(
                    "/console/login/code",
                    &[("csrf", &asked.csrf()), ("code", code)],
                )
                .await
            }
            _ => page,
        }
    }
}

/// A daemon on a manual clock (TOTP codes and session times go by it) with the commune "bras":
/// the topic "intemperies" and three subscribers; its admin API client.
async fn commune(env: &Env) -> (Daemon, Client, ManualClock) {
    let clock = ManualClock::new(Utc::now());
    let daemon = Daemon::start_with_clock(env.config(), clock.clone().into()).await;
    let mairie = env.commune(&daemon.url, 0).await;
    mairie
        .subscriber(
            Some("0611111111"),
            Some("anne@example.org"),
            &["intemperies"],
        )
        .await;
    mairie
        .subscriber(Some("0622222222"), None, &["intemperies"])
        .await;
    mairie
        .subscriber(None, Some("paul@example.org"), &["intemperies"])
        .await;
    (daemon, mairie, clock)
}

fn invite(env: &Env, tenant: &str, email: &str, role: &str) -> String {
    let out = ok(tocsin(
        env,
        &[],
        &[
            "user",
            "add",
            "--tenant",
            tenant,
            "--email",
            email,
            "--name",
            "Anne Martin",
            "--role",
            role,
        ],
    ));
    out.trim().to_string()
}

// Multi-threaded: the test blocks on the binary while the daemon runs on the same runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_admin_invites_the_mayor_who_sends_an_urgent_alert_and_follows_it() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;

    // The admin, invited from the command line, sets a password and a second factor.
    let link = invite(&env, "bras", "secretariat@bras.fr", "admin");
    let mut admin = Visitor::new(&daemon);
    let (_, codes) = admin
        .accept(&link, "la crue de la Meuse en 1947", &clock)
        .await
        .unwrap();
    let home = admin.get("/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Tableau de bord") && home.body.contains("Anne Martin"));
    assert!(
        home.body.contains("<strong>3</strong> personnes abonnées"),
        "{}",
        home.body
    );

    // The link is spent.
    let again = Visitor::new(&daemon)
        .get(&link[link.find("/console").unwrap()..])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // The admin invites the mayor from the console.
    let users = admin.get("/console/users").await;
    let invited = admin
        .post(
            "/console/users",
            &[
                ("csrf", &users.csrf()),
                ("name", "Jean Dupont"),
                ("email", "maire@bras.fr"),
                ("role", "sender"),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let start = invited.body.find("id=\"invitation-link\">").unwrap() + 21;
    let mayor_link =
        invited.body[start..start + invited.body[start..].find('<').unwrap()].to_string();

    let mut mayor = Visitor::new(&daemon);
    let (secret, _) = mayor
        .accept(&mayor_link, "le pont de Charny est fermé", &clock)
        .await
        .unwrap();

    // An urgent alert: the confirmation gives the figures, then asks once more.
    let form = mayor.get("/console/alerts/new").await;
    let alert = [
        ("csrf", form.csrf()),
        ("topic", "intemperies".into()),
        (
            "text",
            "Alerte orange orages : restez chez vous ce soir.".into(),
        ),
        ("sms", "on".into()),
        ("email", "on".into()),
        ("urgent", "on".into()),
    ];
    let fields: Vec<(&str, &str)> = alert.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = mayor.post("/console/alerts/preview", &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview
            .body
            .contains("Envoyer maintenant à 3 personnes : 2 SMS de 1 segment, 2 e-mails ?"),
        "{}",
        preview.body
    );
    let key = preview.hidden("idempotency_key");
    let mut send: Vec<(&str, &str)> = fields.clone();
    send.push(("idempotency_key", &key));
    let unconfirmed = mayor.post("/console/alerts", &send).await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::BAD_REQUEST,
        "asked once more"
    );
    send.push(("confirm_urgent", "on"));
    let sent = mayor.post("/console/alerts", &send).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let page = sent.location.unwrap();
    // The same confirmation posted twice (a double click) is the same alert.
    let twice = mayor.post("/console/alerts", &send).await;
    assert_eq!(twice.location.as_deref(), Some(page.as_str()));

    let id = page.trim_start_matches("/console/alerts/").to_string();
    mairie.wait_completed(&id).await;
    let follow = mayor.get(&page).await;
    assert!(
        follow.body.contains("Terminée") && follow.body.contains("value=\"100\""),
        "{}",
        follow.body
    );
    let csv = mayor.get(&format!("{page}/deliveries.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows: Vec<&str> = csv.body.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{}", csv.body);
    // The mayor is no admin: addresses are masked.
    assert!(
        !csv.body.contains("0611111111") && !csv.body.contains("+33611111111"),
        "{}",
        csv.body
    );
    let admin_csv = admin.get(&format!("{page}/deliveries.csv")).await;
    for whole in [
        "+33611111111",
        "+33622222222",
        "anne@example.org",
        "paul@example.org",
    ] {
        assert!(
            admin_csv.body.contains(whole),
            "{whole} in {}",
            admin_csv.body
        );
    }

    // The audit log names the person.
    let audit = mairie.get("/v1/audit").await;
    let created = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "alert.created")
        .unwrap();
    assert!(
        created["actor"].as_str().unwrap().starts_with("user:usr_"),
        "{created}"
    );

    // Signing in again asks for a code; a code is good once; a recovery code stands in for it.
    let mut again = Visitor::new(&daemon);
    clock.advance(chrono::Duration::seconds(30));
    let code = secret.code_at(clock.now().timestamp());
    let signed = again
        .sign_in("maire@bras.fr", "le pont de Charny est fermé", Some(&code))
        .await;
    signed.assert_leads_to("/console");
    let replay = Visitor::new(&daemon)
        .sign_in("maire@bras.fr", "le pont de Charny est fermé", Some(&code))
        .await;
    assert_eq!(
        replay.status,
        StatusCode::BAD_REQUEST,
        "a spent code: {}",
        replay.body
    );
    let recovered = Visitor::new(&daemon)
        .sign_in(
            "secretariat@bras.fr",
            "la crue de la Meuse en 1947",
            Some(&codes[0]),
        )
        .await;
    recovered.assert_leads_to("/console");
    let spent = Visitor::new(&daemon)
        .sign_in(
            "secretariat@bras.fr",
            "la crue de la Meuse en 1947",
            Some(&codes[0]),
        )
        .await;
    assert_eq!(spent.status, StatusCode::BAD_REQUEST);

    // The command line sees them; a reset ends their sessions.
    let listed: serde_json::Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["user", "list", "--tenant", "bras", "--json"],
    )))
    .unwrap();
    let mayor_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "maire@bras.fr")
        .unwrap();
    assert_eq!(mayor_row["role"], "sender");
    assert_eq!(mayor_row["state"], "active");
    assert_eq!(mayor_row["second_factor"], true);
    let reset_link = ok(tocsin(
        &env,
        &[],
        &["user", "reset", mayor_row["id"].as_str().unwrap()],
    ));
    assert!(reset_link.contains("/console/invitation/"));
    mayor
        .get("/console")
        .await
        .assert_leads_to("/console/login");

    // The admin manages people from the console too: a new link, then removal; not their own.
    let mayor_id = mayor_row["id"].as_str().unwrap();
    let mut admin = Visitor::new(&daemon);
    let signed = admin
        .sign_in(
            "secretariat@bras.fr",
            "la crue de la Meuse en 1947",
            Some(&codes[1]),
        )
        .await;
    signed.assert_leads_to("/console");
    let users = admin.get("/console/users").await;
    let csrf = users.csrf();
    let renewed = admin
        .post(
            &format!("/console/users/{mayor_id}/reset"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(renewed.body.contains("invitation-link"), "{}", renewed.body);
    admin
        .post(
            &format!("/console/users/{mayor_id}/remove"),
            &[("csrf", &csrf)],
        )
        .await
        .assert_leads_to("/console/users");
    let gone = Visitor::new(&daemon)
        .sign_in("maire@bras.fr", "le pont de Charny est fermé", None)
        .await;
    assert_eq!(
        gone.status,
        StatusCode::BAD_REQUEST,
        "removed: {}",
        gone.body
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(tocsin(&env, &[], &["user", "list", "--json"]))).unwrap();
    let admin_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "secretariat@bras.fr")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let itself = admin
        .post(
            &format!("/console/users/{admin_id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(itself.status, StatusCode::CONFLICT);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_sessions_and_forms_hold_at_the_console() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let id = mairie
        .alert(serde_json::json!({"topic": "intemperies", "text": "Coupure d'eau demain", "urgent": true}))
        .await;
    mairie.wait_completed(&id).await;

    // A drafter proposes; the alert waits (see the test of validation below).
    let link = invite(&env, "bras", "redaction@bras.fr", "drafter");
    let mut drafter = Visitor::new(&daemon);
    assert!(
        drafter
            .accept(&link, "les cloches de Bras sonnent", &clock)
            .await
            .is_none()
    );
    let form = drafter.get("/console/alerts/new").await;
    let fields = [
        ("csrf", form.csrf()),
        ("topic", "intemperies".to_string()),
        ("text", "Essai".to_string()),
        ("sms", "on".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = drafter.post("/console/alerts/preview", &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("Soumettre pour validation"),
        "{}",
        preview.body
    );
    let mut send = fields.clone();
    send.push(("idempotency_key", "k1"));
    let proposed = drafter.post("/console/alerts", &send).await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    assert!(
        proposed
            .location
            .unwrap()
            .starts_with("/console/drafts/drf_")
    );

    // A reader sees masked numbers only.
    let link = invite(&env, "bras", "lecture@bras.fr", "reader");
    let mut reader = Visitor::new(&daemon);
    reader
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    let csv = reader
        .get(&format!("/console/alerts/{id}/deliveries.csv"))
        .await;
    let reader_csrf = reader.get("/console").await.csrf();
    let refused = reader
        .post(
            "/console/alerts",
            &[&[("csrf", reader_csrf.as_str())][..], &send[1..]].concat(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a reader sends nothing: {}",
        refused.body
    );
    assert_eq!(csv.body.lines().count(), 5, "{}", csv.body);
    assert!(
        !csv.body.contains("+33611111111") && !csv.body.contains("anne@example.org"),
        "{}",
        csv.body
    );

    // Someone of another commune: the alert does not exist for them.
    create_tenant(
        &env.db.pool().await,
        &tocsin::model::Slug::parse("charny").unwrap(),
        "Charny",
    )
    .await;
    let link = invite(&env, "charny", "mairie@charny.fr", "reader");
    let mut neighbour = Visitor::new(&daemon);
    neighbour
        .accept(&link, "les cloches de Charny sonnent", &clock)
        .await;
    for path in [
        format!("/console/alerts/{id}"),
        format!("/console/alerts/{id}/deliveries.csv"),
    ] {
        assert_eq!(
            neighbour.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // A form without its token, or from another site, is refused.
    let without = drafter.post("/console/alerts/preview", &fields[1..]).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert!(without.body.contains("Formulaire expiré"));
    let cross = drafter
        .send(
            with_form(
                drafter
                    .http
                    .post(format!("{}/console/alerts/preview", daemon.url)),
                &fields,
            )
            .header("Sec-Fetch-Site", "cross-site"),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // Half an hour idle: back to the sign-in page.
    assert_eq!(reader.get("/console").await.status, StatusCode::OK);
    clock.advance(chrono::Duration::minutes(31));
    reader
        .get("/console")
        .await
        .assert_leads_to("/console/login");

    // Ten wrong passwords lock the account, and the page says for how long.
    let mut stranger = Visitor::new(&daemon);
    for _ in 0..9 {
        let wrong = stranger
            .sign_in("lecture@bras.fr", "pas le bon mot de passe", None)
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        assert!(
            wrong
                .body
                .contains("Adresse e-mail ou mot de passe incorrect")
        );
    }
    let tenth = stranger
        .sign_in("lecture@bras.fr", "pas le bon mot de passe", None)
        .await;
    assert_eq!(
        tenth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        tenth.body
    );
    assert!(
        tenth.body.contains("Réessayez dans 15 min"),
        "{}",
        tenth.body
    );
    let right = Visitor::new(&daemon)
        .sign_in("lecture@bras.fr", "les cloches de Bras sonnent", None)
        .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked, even with the right password"
    );
    clock.advance(chrono::Duration::minutes(16));
    let later = Visitor::new(&daemon)
        .sign_in("lecture@bras.fr", "les cloches de Bras sonnent", None)
        .await;
    later.assert_leads_to("/console");

    // Removed: no more signing in.
    let listed: serde_json::Value =
        serde_json::from_str(&ok(tocsin(&env, &[], &["user", "list", "--json"]))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let reader_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "lecture@bras.fr")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(tocsin(&env, &[], &["user", "remove", &reader_id]));
    let gone = Visitor::new(&daemon)
        .sign_in("lecture@bras.fr", "les cloches de Bras sonnent", None)
        .await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drafters_routine_alert_waits_for_a_senders_validation_and_an_urgent_one_does_not() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let mut drafter = Visitor::new(&daemon);
    let link = invite(&env, "bras", "redaction@bras.fr", "drafter");
    drafter
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    let mut mayor = Visitor::new(&daemon);
    let link = invite(&env, "bras", "maire@bras.fr", "sender");
    mayor
        .accept(&link, "le pont de Charny est fermé", &clock)
        .await;
    let db = env.db.pool().await;
    let alerts = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM alerts")
            .fetch_one(&db)
            .await
            .unwrap();
        n
    };

    let propose = |text: &'static str, urgent: bool| {
        let mut fields = vec![
            ("topic", "intemperies"),
            ("text", text),
            ("sms", "on"),
            ("email", "on"),
        ];
        if urgent {
            fields.extend([("urgent", "on"), ("confirm_urgent", "on")]);
        }
        fields
    };
    let csrf = drafter.get("/console/alerts/new").await.csrf();
    let routine = [
        &[("csrf", csrf.as_str()), ("idempotency_key", "r1")][..],
        &propose("Collecte des encombrants lundi", false),
    ]
    .concat();
    let proposed = drafter.post("/console/alerts", &routine).await;
    let draft = proposed.location.clone().unwrap();
    assert!(
        draft.starts_with("/console/drafts/drf_"),
        "{}",
        proposed.body
    );
    assert_eq!(alerts().await, 0, "nothing sent before a sender validates");
    assert!(
        drafter
            .get(&draft)
            .await
            .body
            .contains("En attente de validation")
    );

    // The mayor sees it waiting, validates it once; a second validation finds it done.
    let home = mayor.get("/console").await;
    assert!(home.body.contains("Alertes à valider (1)"), "{}", home.body);
    let shown = mayor.get(&draft).await;
    assert!(
        shown.body.contains("Valider et envoyer")
            && shown.body.contains("Collecte des encombrants"),
        "{}",
        shown.body
    );
    let validated = mayor
        .post(&format!("{draft}/validate"), &[("csrf", &shown.csrf())])
        .await;
    let alert = validated.location.clone().expect("the alert's page");
    assert!(
        alert.starts_with("/console/alerts/alr_"),
        "{}",
        validated.body
    );
    let again = mayor
        .post(&format!("{draft}/validate"), &[("csrf", &shown.csrf())])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(alerts().await, 1);
    mairie
        .wait_completed(alert.trim_start_matches("/console/alerts/"))
        .await;
    // The drafter cannot validate their own.
    let second = drafter
        .post(
            "/console/alerts",
            &[
                &[("csrf", csrf.as_str()), ("idempotency_key", "r2")][..],
                &propose("Marché de Noël samedi", false),
            ]
            .concat(),
        )
        .await;
    let second = second.location.unwrap();
    let forbidden = drafter
        .post(&format!("{second}/validate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let refused = mayor
        .post(&format!("{second}/reject"), &[("csrf", &shown.csrf())])
        .await;
    refused.assert_leads_to("/console/drafts");
    assert_eq!(alerts().await, 1, "a refused draft sends nothing");

    // An urgent alert is never held.
    let urgent = drafter
        .post(
            "/console/alerts",
            &[
                &[("csrf", csrf.as_str()), ("idempotency_key", "u1")][..],
                &propose("Crue : évacuez le quai", true),
            ]
            .concat(),
        )
        .await;
    assert!(urgent.location.unwrap().starts_with("/console/alerts/alr_"));
    assert_eq!(alerts().await, 2);

    // Without validation, a routine alert goes at once.
    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--require-validation", "off"],
    ));
    let direct = drafter
        .post(
            "/console/alerts",
            &[
                &[("csrf", csrf.as_str()), ("idempotency_key", "r3")][..],
                &propose("Vide-grenier dimanche", false),
            ]
            .concat(),
        )
        .await;
    assert!(direct.location.unwrap().starts_with("/console/alerts/alr_"));
    assert_eq!(alerts().await, 3);

    let audit = mairie.get("/v1/audit").await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "draft.proposed",
        "alert.validated",
        "draft.rejected",
        "alert.sent_without_validation",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_keeps_topics_and_reminders_checking_the_next_five_before_saving() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let mut admin = Visitor::new(&daemon);
    let link = invite(&env, "bras", "secretariat@bras.fr", "admin");
    admin
        .accept(&link, "la crue de la Meuse en 1947", &clock)
        .await;

    let page = admin.get("/console/topics").await;
    let csrf = page.csrf();
    let bad = admin
        .post(
            "/console/topics",
            &[("csrf", &csrf), ("name", "Collecte"), ("slug", "Collecte!")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Lettres minuscules"), "{}", bad.body);
    admin
        .post(
            "/console/topics",
            &[
                ("csrf", &csrf),
                ("name", "Collecte des déchets"),
                ("slug", "collecte"),
            ],
        )
        .await
        .assert_leads_to("/console/topics");
    let again = admin
        .post(
            "/console/topics",
            &[("csrf", &csrf), ("name", "Collecte"), ("slug", "collecte")],
        )
        .await;
    assert!(again.body.contains("existe déjà"), "{}", again.body);
    assert_eq!(
        mairie.get("/v1/topics").await.body["topics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Checked before it is saved: the repetition in French and the next five.
    let reminder = [
        ("csrf", csrf.as_str()),
        ("topic", "collecte"),
        ("cron", "0 19 * * MON"),
        ("text", "Sortez les bacs ce soir"),
    ];
    let checked = admin
        .post(
            "/console/schedules",
            &[&reminder[..], &[("step", "check")]].concat(),
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(
        checked
            .body
            .contains("Ce rappel partira chaque lundi à 19 h"),
        "{}",
        checked.body
    );
    let listed = checked
        .body
        .split("Les cinq prochains envois")
        .nth(1)
        .unwrap();
    let next: Vec<&str> = listed.split("<li>").skip(1).take(5).collect();
    assert_eq!(next.len(), 5);
    assert!(next.iter().all(|n| n.contains("à 19:00")), "{next:?}");
    assert_eq!(
        mairie.get("/v1/schedules").await.body["schedules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let unread = admin
        .post(
            "/console/schedules",
            &[
                &reminder[..2],
                &[
                    ("cron", "tous les lundis"),
                    ("text", "x"),
                    ("step", "check"),
                ],
            ]
            .concat(),
        )
        .await;
    assert_eq!(unread.status, StatusCode::BAD_REQUEST);
    admin
        .post(
            "/console/schedules",
            &[&reminder[..], &[("step", "save")]].concat(),
        )
        .await
        .assert_leads_to("/console/schedules");
    let schedules = mairie.get("/v1/schedules").await.body["schedules"].clone();
    let id = schedules[0]["id"].as_str().unwrap().to_string();
    assert_eq!(schedules[0]["cron"], "0 19 * * MON");

    let shown = admin.get("/console/schedules").await;
    assert!(shown.body.contains("chaque lundi à 19 h") && shown.body.contains("Prochain envoi"));
    admin
        .post(
            &format!("/console/schedules/{id}/pause"),
            &[("csrf", &csrf)],
        )
        .await
        .assert_leads_to("/console/schedules");
    assert_eq!(
        mairie.get(&format!("/v1/schedules/{id}")).await.body["state"],
        "paused"
    );
    admin
        .post(
            &format!("/console/schedules/{id}/resume"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        mairie.get(&format!("/v1/schedules/{id}")).await.body["state"],
        "active"
    );

    // A reader reads, changes nothing; another commune's admin does not find it.
    let mut reader = Visitor::new(&daemon);
    let link = invite(&env, "bras", "lecture@bras.fr", "reader");
    reader
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    let reader_csrf = reader.get("/console/schedules").await.csrf();
    let refused = reader
        .post(
            &format!("/console/schedules/{id}/pause"),
            &[("csrf", &reader_csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    create_tenant(
        &env.db.pool().await,
        &tocsin::model::Slug::parse("charny").unwrap(),
        "Charny",
    )
    .await;
    let mut neighbour = Visitor::new(&daemon);
    let link = invite(&env, "charny", "mairie@charny.fr", "admin");
    neighbour
        .accept(&link, "les cloches de Charny sonnent", &clock)
        .await;
    let neighbour_csrf = neighbour.get("/console").await.csrf();
    let hidden = neighbour
        .post(
            &format!("/console/schedules/{id}/remove"),
            &[("csrf", &neighbour_csrf)],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    admin
        .post(
            &format!("/console/schedules/{id}/remove"),
            &[("csrf", &csrf)],
        )
        .await
        .assert_leads_to("/console/schedules");
    assert_eq!(
        mairie.get("/v1/schedules").await.body["schedules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_starts_from_a_template_in_one_click() {
    let env = Env::new().await;
    let (daemon, _mairie, clock) = commune(&env).await;
    let mut drafter = Visitor::new(&daemon);
    let link = invite(&env, "bras", "redaction@bras.fr", "drafter");
    drafter
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;

    // The starter set is there for every commune; "Crue" is urgent.
    let list = drafter.get("/console/templates").await;
    for name in [
        "Canicule",
        "Crue",
        "Orages",
        "Coupure d'eau",
        "Neige et verglas",
        "Mise à l'abri",
    ] {
        assert!(list.body.contains(name), "{name} in {}", list.body);
    }
    let new = drafter.get("/console/alerts/new").await;
    assert!(
        new.body
            .contains("href=\"/console/alerts/new?template=starter:crue\""),
        "{}",
        new.body
    );
    let crue = drafter
        .get("/console/alerts/new?template=starter:crue")
        .await;
    assert!(
        crue.body.contains("montée rapide des eaux"),
        "{}",
        crue.body
    );
    assert!(
        crue.body.contains("name=\"urgent\" value=\"on\" checked"),
        "{}",
        crue.body
    );

    // The commune's own template.
    let csrf = list.csrf();
    let empty = drafter
        .post(
            "/console/templates",
            &[("csrf", &csrf), ("name", "Marché"), ("text", "")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    drafter
        .post(
            "/console/templates",
            &[
                ("csrf", &csrf),
                ("name", "Marché"),
                ("subject", "Marché de Noël"),
                (
                    "text",
                    "Le marché de Noël ouvre samedi à 10 h sur la place.",
                ),
            ],
        )
        .await
        .assert_leads_to("/console/templates");
    let list = drafter.get("/console/templates").await;
    let start = list
        .body
        .find("template=tpl_")
        .expect("the commune's template")
        + 9;
    let key = &list.body[start..start + 36];
    let used = drafter
        .get(&format!("/console/alerts/new?template={key}"))
        .await;
    assert!(
        used.body.contains("Le marché de Noël ouvre samedi"),
        "{}",
        used.body
    );

    // A reader uses templates but does not keep them; another commune does not see them.
    let mut reader = Visitor::new(&daemon);
    let link = invite(&env, "bras", "lecture@bras.fr", "reader");
    reader
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    let reader_csrf = reader.get("/console/templates").await.csrf();
    let refused = reader
        .post(
            "/console/templates",
            &[("csrf", &reader_csrf), ("name", "X"), ("text", "Y")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    create_tenant(
        &env.db.pool().await,
        &tocsin::model::Slug::parse("charny").unwrap(),
        "Charny",
    )
    .await;
    let mut neighbour = Visitor::new(&daemon);
    let link = invite(&env, "charny", "mairie@charny.fr", "reader");
    neighbour
        .accept(&link, "les cloches de Charny sonnent", &clock)
        .await;
    let hidden = neighbour
        .get(&format!("/console/alerts/new?template={key}"))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    daemon.stop().await;
}

/// A `multipart/form-data` body as a browser sends a form with a file.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----tocsin-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"file\"\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretary_finds_adds_imports_exports_and_removes_subscribers() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let mut drafter = Visitor::new(&daemon);
    let link = invite(&env, "bras", "redaction@bras.fr", "drafter");
    drafter
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    let page = drafter.get("/console/subscribers").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf();

    let no_topic = drafter
        .post(
            "/console/subscribers",
            &[("csrf", &csrf), ("phone", "06 33 33 33 33")],
        )
        .await;
    assert_eq!(no_topic.status, StatusCode::BAD_REQUEST);
    assert!(
        no_topic.body.contains("Cochez au moins un thème"),
        "{}",
        no_topic.body
    );
    let added = drafter
        .post(
            "/console/subscribers",
            &[
                ("csrf", &csrf),
                ("phone", "06 33 33 33 33"),
                ("topics", "intemperies"),
            ],
        )
        .await;
    assert!(added.body.contains("Abonné enregistré"), "{}", added.body);

    let found = drafter.get("/console/subscribers?q=0633333333").await;
    assert!(
        found.body.contains("SMS : +33633333333") && found.body.contains("intemperies"),
        "{}",
        found.body
    );
    let nobody = drafter
        .get("/console/subscribers?q=nobody%40example.org")
        .await;
    assert!(
        nobody.body.contains("Personne n&#39;est abonné")
            || nobody.body.contains("Personne n'est abonné"),
        "{}",
        nobody.body
    );
    let start =
        found.body.find("/console/subscribers/sub_").unwrap() + "/console/subscribers/".len();
    let id = &found.body[start..start + found.body[start..].find('/').unwrap()];
    let export = drafter
        .get(&format!("/console/subscribers/{id}/export"))
        .await;
    let data: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(data["subscriber"]["phone"], "+33633333333");

    // A register: the good lines in, the bad one reported with its line.
    let csv = "phone,email,topics\n0644444444,,intemperies\n12,,intemperies\n,zoe@example.org,intemperies\n";
    let (content_type, body) = multipart(&[("csrf", &csrf)], ("file", csv.as_bytes()));
    let request = drafter
        .http
        .post(format!("{}/console/subscribers/import", daemon.url))
        .header(header::CONTENT_TYPE, content_type.clone())
        .body(body.clone());
    let report = drafter.send(request).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.body.contains("2 ajoutés") && report.body.contains("1 ligne refusée"),
        "{}",
        report.body
    );
    assert!(
        report.body.contains("<td>3</td><td>phone</td>"),
        "line 3, the phone: {}",
        report.body
    );
    let (_, forged) = multipart(&[("csrf", "not-the-token")], ("file", csv.as_bytes()));
    let request = drafter
        .http
        .post(format!("{}/console/subscribers/import", daemon.url))
        .header(header::CONTENT_TYPE, content_type)
        .body(forged);
    assert_eq!(drafter.send(request).await.status, StatusCode::FORBIDDEN);

    drafter
        .post(
            &format!("/console/subscribers/{id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    let gone = drafter.get("/console/subscribers?q=0633333333").await;
    assert!(gone.body.contains("abonné avec ce numéro"), "{}", gone.body);
    let total = mairie.get("/v1/subscribers").await.body["subscribers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        total, 5,
        "three at the start, two imported, one added and removed"
    );

    // A reader has no access to personal data.
    let mut reader = Visitor::new(&daemon);
    let link = invite(&env, "bras", "lecture@bras.fr", "reader");
    reader
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    assert_eq!(
        reader.get("/console/subscribers").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reader
            .get(&format!("/console/subscribers/{id}/export"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_the_communes_senders_clock_population_and_logo() {
    let env = Env::new().await;
    let (daemon, _mairie, clock) = commune(&env).await;
    let mut admin = Visitor::new(&daemon);
    let link = invite(&env, "bras", "secretariat@bras.fr", "admin");
    admin
        .accept(&link, "la crue de la Meuse en 1947", &clock)
        .await;
    let page = admin.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("value=\"Europe/Paris\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();

    let refused = admin
        .post(
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("sms_sender", "MAIRIE DE BRAS SUR MEUSE"),
                ("colour", "#ffff00"),
                ("quiet_hours", "21h"),
                ("time_zone", "Mars/Olympus"),
                ("population", "beaucoup"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    for field in [
        "sms_sender",
        "colour",
        "quiet_hours",
        "time_zone",
        "population",
    ] {
        assert!(
            refused.body.contains(&format!("href=\"#{field}\"")),
            "{field}: {}",
            refused.body
        );
    }
    admin
        .post(
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("sms_sender", "MAIRIEBRAS"),
                ("email_from", "Mairie de Bras <alertes@bras-sur-meuse.fr>"),
                ("colour", "#1f4e79"),
                ("quiet_hours", "21:00-08:00"),
                ("time_zone", "Europe/Paris"),
                ("population", "612"),
            ],
        )
        .await
        .assert_leads_to("/console/settings?saved=1");
    let shown: serde_json::Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["tenant", "show", "bras", "--json"],
    )))
    .unwrap();
    assert_eq!(shown["sms_sender"], "MAIRIEBRAS");
    assert_eq!(
        shown["email_from"],
        "Mairie de Bras <alertes@bras-sur-meuse.fr>"
    );
    assert_eq!(shown["quiet_hours"], "21:00-08:00");
    assert_eq!(shown["population"], 612);
    assert_eq!(shown["require_validation"], false, "the box was not ticked");
    let home = admin.get("/console").await;
    assert!(
        home.body
            .contains("soit <strong>0,5 %</strong> des 612 habitants"),
        "{}",
        home.body
    );

    // The logo, checked by its content.
    let http = admin.http.clone();
    let send_logo = |bytes: &[u8]| {
        let (content_type, body) = multipart(&[("csrf", &csrf)], ("logo", bytes));
        http.post(format!("{}/console/settings/logo", daemon.url))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
    };
    let svg = send_logo(b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>");
    let svg = admin.send(svg).await;
    assert_eq!(svg.status, StatusCode::BAD_REQUEST);
    assert!(svg.body.contains("Logo refusé"), "{}", svg.body);
    let png = send_logo(b"\x89PNG\r\n\x1a\n fake png");
    admin
        .send(png)
        .await
        .assert_leads_to("/console/settings?saved=1");
    let served = reqwest::get(format!("{}/c/bras/logo", daemon.url))
        .await
        .unwrap();
    assert_eq!(served.headers()[header::CONTENT_TYPE], "image/png");

    let mut reader = Visitor::new(&daemon);
    let link = invite(&env, "bras", "lecture@bras.fr", "reader");
    reader
        .accept(&link, "les cloches de Bras sonnent", &clock)
        .await;
    assert_eq!(
        reader.get("/console/settings").await.status,
        StatusCode::FORBIDDEN
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_admin_acts_on_each_member_commune_and_nothing_outside() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "create",
            "cc-verdun",
            "--kind",
            "group",
            "--name",
            "CA du Grand Verdun",
        ],
    ));
    ok(tocsin(
        &env,
        &[],
        &["tenant", "move", "bras", "--parent", "cc-verdun"],
    ));
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "create",
            "charny",
            "--parent",
            "cc-verdun",
            "--name",
            "Charny",
        ],
    ));
    ok(tocsin(
        &env,
        &[],
        &["tenant", "create", "ailleurs", "--name", "Ailleurs"],
    ));
    let id = mairie
        .alert(serde_json::json!({"topic": "intemperies", "text": "Route coupée", "urgent": true}))
        .await;

    let mut group = Visitor::new(&daemon);
    let link = invite(&env, "cc-verdun", "sig@grandverdun.fr", "admin");
    group
        .accept(&link, "le grand Verdun veille sur ses communes", &clock)
        .await;
    let home = group.get("/console").await;
    assert!(home.body.contains("CA du Grand Verdun"), "{}", home.body);
    assert!(
        home.body
            .contains("<option value=\"charny\">Charny</option>"),
        "{}",
        home.body
    );
    assert!(
        !home.body.contains("ailleurs"),
        "a commune outside the group is not offered"
    );
    let csrf = home.csrf();
    assert_eq!(
        group.get(&format!("/console/alerts/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "the group's own node first"
    );

    group
        .post("/console/acting-on", &[("csrf", &csrf), ("tenant", "bras")])
        .await
        .assert_leads_to("/console");
    assert_eq!(
        group.get(&format!("/console/alerts/{id}")).await.status,
        StatusCode::OK
    );
    let topics = group.get("/console/topics").await;
    assert!(topics.body.contains("intemperies"), "{}", topics.body);
    let users = group.get("/console/users").await;
    let invited = group
        .post(
            "/console/users",
            &[
                ("csrf", &users.csrf()),
                ("name", "Jean Dupont"),
                ("email", "maire@bras.fr"),
                ("role", "sender"),
            ],
        )
        .await;
    assert!(invited.body.contains("invitation-link"), "{}", invited.body);
    let listed: serde_json::Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["user", "list", "--tenant", "bras", "--json"],
    )))
    .unwrap();
    assert_eq!(
        listed[0]["email"], "maire@bras.fr",
        "invited on the commune acted on"
    );

    group
        .post(
            "/console/acting-on",
            &[("csrf", &csrf), ("tenant", "charny")],
        )
        .await
        .assert_leads_to("/console");
    assert_eq!(
        group.get(&format!("/console/alerts/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "a sibling's alert"
    );
    let outside = group
        .post(
            "/console/acting-on",
            &[("csrf", &csrf), ("tenant", "ailleurs")],
        )
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    // A commune's person has no choice to make, and cannot make one.
    let mut mayor = Visitor::new(&daemon);
    let link = invited
        .body
        .split("id=\"invitation-link\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    mayor
        .accept(&link, "le pont de Charny est fermé", &clock)
        .await;
    let own = mayor.get("/console").await;
    assert!(!own.body.contains("acting-on"), "{}", own.body);
    let sibling = mayor
        .post(
            "/console/acting-on",
            &[("csrf", &own.csrf()), ("tenant", "charny")],
        )
        .await;
    assert_eq!(sibling.status, StatusCode::NOT_FOUND);
    daemon.stop().await;
}
