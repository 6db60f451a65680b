//! A drafter's alerts and their validation; alerts started from a template.

use reqwest::StatusCode;

use super::{another_commune, commune, signed_up};
use crate::{
    cli::{ok, tocsin},
    support::Env,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drafters_routine_alert_waits_for_a_senders_validation_and_an_urgent_one_does_not() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let mut drafter = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "redaction@bras.fr",
        "drafter",
        "les cloches de Bras sonnent",
    )
    .await;
    let mut mayor = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "maire@bras.fr",
        "sender",
        "le pont de Charny est fermé",
    )
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
async fn an_alert_starts_from_a_template_in_one_click() {
    let env = Env::new().await;
    let (daemon, _mairie, clock) = commune(&env).await;
    let mut drafter = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "redaction@bras.fr",
        "drafter",
        "les cloches de Bras sonnent",
    )
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
    let reader_csrf = reader.get("/console/templates").await.csrf();
    let refused = reader
        .post(
            "/console/templates",
            &[("csrf", &reader_csrf), ("name", "X"), ("text", "Y")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
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
    let hidden = neighbour
        .get(&format!("/console/alerts/new?template={key}"))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    daemon.stop().await;
}
