//! The commune's topics, reminders, subscribers and settings at the console.

use reqwest::{StatusCode, header};

use super::{another_commune, commune, multipart, signed_up};
use crate::{
    cli::{ok, tocsin},
    support::Env,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_keeps_topics_and_reminders_checking_the_next_five_before_saving() {
    let env = Env::new().await;
    let (daemon, mairie, clock) = commune(&env).await;
    let mut admin = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "secretariat@bras.fr",
        "admin",
        "la crue de la Meuse en 1947",
    )
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
    let reader_csrf = reader.get("/console/schedules").await.csrf();
    let refused = reader
        .post(
            &format!("/console/schedules/{id}/pause"),
            &[("csrf", &reader_csrf)],
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
        "admin",
        "les cloches de Charny sonnent",
    )
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
async fn the_secretary_finds_adds_imports_exports_and_removes_subscribers() {
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
    let mut admin = signed_up(
        &env,
        &daemon,
        &clock,
        "bras",
        "secretariat@bras.fr",
        "admin",
        "la crue de la Meuse en 1947",
    )
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
    assert_eq!(
        reader.get("/console/settings").await.status,
        StatusCode::FORBIDDEN
    );
    daemon.stop().await;
}
