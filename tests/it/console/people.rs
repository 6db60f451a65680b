//! Invitations, signing in, sessions, CSRF, roles, and a group acting on its communes.

use reqwest::StatusCode;

use super::{Visitor, another_commune, commune, invite, signed_up, with_form};
use crate::{
    cli::{ok, tocsin},
    support::Env,
};

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
    // Over: neither cancelled nor stopped any more.
    assert!(
        !follow.body.contains("/cancel\"") && !follow.body.contains("/stop\""),
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
    // The proof, for after the event.
    let proof = mayor.get(&format!("{page}/proof.pdf")).await;
    assert_eq!(proof.status, StatusCode::OK);
    assert!(proof.body.starts_with("%PDF-"), "a PDF");
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
    let mut reader = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "lecture@bras.fr",
        "reader",
        "les cloches de Bras sonnent",
    )
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
    another_commune(&env).await;
    let mut neighbour = signed_up(
        &env,
        &daemon,
        &clock,
        "charny",
        "mairie@charny.fr",
        "reader",
        "les cloches de Charny sonnent",
    )
    .await;
    for path in [
        format!("/console/alerts/{id}"),
        format!("/console/alerts/{id}/deliveries.csv"),
        format!("/console/alerts/{id}/proof.pdf"),
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

    let mut group = signed_up(
        &env,
        &daemon,
        &clock,
        "cc-verdun",
        "sig@grandverdun.fr",
        "admin",
        "le grand Verdun veille sur ses communes",
    )
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
