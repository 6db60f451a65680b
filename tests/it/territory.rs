use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tocsin::model::Role;

use crate::{
    cli::{ok, tocsin},
    support::{Client, Env},
};

/// The territory of these tests, made with `tocsin tenant create` as a host would:
/// platform → meuse (département) → cc-verdun (bras, charny, belleville) and cc-argonne
/// (clermont, varennes).
fn make_tree(env: &Env) {
    let create = |slug: &str, kind: &str, parent: Option<&str>| {
        let mut args = vec!["tenant", "create", slug, "--name", slug, "--kind", kind];
        if let Some(parent) = parent {
            args.extend(["--parent", parent]);
        }
        ok(tocsin(env, &[], &args));
    };
    create("meuse", "group", None);
    create("cc-verdun", "group", Some("meuse"));
    create("cc-argonne", "group", Some("meuse"));
    for commune in ["bras", "charny", "belleville"] {
        create(commune, "commune", Some("cc-verdun"));
    }
    for commune in ["clermont", "varennes"] {
        create(commune, "commune", Some("cc-argonne"));
    }
}

/// Every operation of the API that takes a key, from its own OpenAPI document: a route added
/// later is tried too.
async fn keyed_operations(url: &str) -> Vec<(Method, String)> {
    let document: Value = reqwest::get(format!("{url}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_some() {
                operations.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    assert!(operations.len() >= 20, "{operations:?}");
    operations
}

/// A tenant's objects, for the `{id}` of each route.
struct Objects {
    alert: String,
    subscriber: String,
    schedule: String,
}

impl Objects {
    async fn make(client: &Client) -> Objects {
        client.topic("intemperies").await;
        let subscriber = client
            .subscriber(Some("0612345678"), None, &["intemperies"])
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Timed for later: it stays cancellable for the routes that cancel.
        let later = (chrono::Utc::now() + chrono::Duration::days(300)).to_rfc3339();
        let alert = client
            .alert(json!({ "topic": "intemperies", "text": "Crue", "scheduled_at": later }))
            .await;
        let schedule = client
            .post(
                "/v1/schedules",
                json!({ "topic": "intemperies", "cron": "0 19 * * 1", "text": "Collecte" }),
            )
            .await;
        assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.body);
        Objects {
            alert,
            subscriber,
            schedule: schedule.body["id"].as_str().unwrap().to_owned(),
        }
    }

    fn path(&self, template: &str) -> String {
        let id = if template.starts_with("/v1/alerts") {
            &self.alert
        } else if template.starts_with("/v1/subscribers") {
            &self.subscriber
        } else {
            &self.schedule
        };
        template.replace("{id}", id)
    }
}

/// Tries every keyed operation as `client` on `objects`; the operations that did not answer 404.
async fn reachable(
    client: &Client,
    operations: &[(Method, String)],
    objects: &Objects,
) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut reached = Vec::new();
    for (method, template) in operations {
        let path = objects.path(template);
        let request = http
            .request(method.clone(), format!("{}{path}", client.url))
            .json(&json!({}));
        let answer = client.send(request).await;
        if answer.status != StatusCode::NOT_FOUND {
            reached.push(format!(
                "{method} {path}: {} {}",
                answer.status, answer.body
            ));
        }
    }
    reached
}

/// A role given on a node holds on its subtree and nowhere else: every keyed route of the API,
/// tried by keys of each level on their own branch and across branches, reaches only the
/// subtree; a moved commune goes with its new group; the tree refuses what would break it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_on_a_node_holds_on_its_subtree_and_nowhere_else() {
    let env = Env::new().await;
    let daemon = env.start().await;
    make_tree(&env);
    let key = |slug: &'static str| {
        let env = &env;
        let url = daemon.url.clone();
        async move { Client::new(&url, &env.key(slug, Role::Admin).await) }
    };
    let platform = key("platform").await;
    let meuse = key("meuse").await;
    let verdun = key("cc-verdun").await;
    let argonne = key("cc-argonne").await;
    let bras = key("bras").await;

    let tree: Value =
        serde_json::from_str(&ok(tocsin(&env, &[], &["tenant", "tree", "--json"]))).unwrap();
    let shown: Vec<(String, String, Option<String>)> = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["slug"].as_str().unwrap().to_owned(),
                n["kind"].as_str().unwrap().to_owned(),
                n["parent"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let node = |slug: &str, kind: &str, parent: Option<&str>| {
        (slug.to_owned(), kind.to_owned(), parent.map(str::to_owned))
    };
    assert_eq!(
        shown,
        vec![
            node("platform", "platform", None),
            node("meuse", "group", Some("platform")),
            node("cc-argonne", "group", Some("meuse")),
            node("clermont", "commune", Some("cc-argonne")),
            node("varennes", "commune", Some("cc-argonne")),
            node("cc-verdun", "group", Some("meuse")),
            node("belleville", "commune", Some("cc-verdun")),
            node("bras", "commune", Some("cc-verdun")),
            node("charny", "commune", Some("cc-verdun")),
        ]
    );

    // Down the tree: the platform, the département and the intercommunality act on a commune
    // below them, through the same routes as its own key.
    let clermont = Objects::make(&platform.acting_on("clermont")).await;
    let charny = Objects::make(&meuse.acting_on("charny")).await;
    let topics = verdun.acting_on("charny").get("/v1/topics").await;
    assert_eq!(topics.status, 200, "{}", topics.body);
    assert_eq!(
        topics.body["topics"][0]["slug"], "intemperies",
        "{}",
        topics.body
    );
    Objects::make(&bras).await;

    // Across branches and up the tree: every keyed route answers 404, as for what does not
    // exist, whether the other tenant is named in the header or its objects' ids are used.
    let operations = keyed_operations(&daemon.url).await;
    let by_id: Vec<(Method, String)> = operations
        .iter()
        .filter(|(_, path)| path.contains("{id}"))
        .cloned()
        .collect();
    let across = |label, client, objects| (label, client, objects, operations.as_slice());
    type Try<'a> = (&'a str, Client, &'a Objects, &'a [(Method, String)]);
    let tries: [Try; 5] = [
        across(
            "cc-verdun → clermont",
            verdun.acting_on("clermont"),
            &clermont,
        ),
        across("cc-argonne → charny", argonne.acting_on("charny"), &charny),
        across("bras → charny (sibling)", bras.acting_on("charny"), &charny),
        across(
            "bras → cc-verdun (its group)",
            bras.acting_on("cc-verdun"),
            &charny,
        ),
        // On its own node, by the ids of another branch's objects.
        (
            "cc-verdun, clermont's ids",
            verdun.clone(),
            &clermont,
            &by_id,
        ),
    ];
    let mut found = Vec::new();
    for (label, client, objects, operations) in &tries {
        for reached in reachable(client, operations, objects).await {
            found.push(format!("{label}: {reached}"));
        }
    }
    assert!(
        found.is_empty(),
        "reached across branches:\n{}",
        found.join("\n")
    );
    // An unknown slug answers the same as a tenant of another branch.
    let unknown = verdun.acting_on("nowhere").get("/v1/topics").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        verdun.acting_on("clermont").get("/v1/topics").await.body["error"]["message"],
        "tenant \"clermont\" not found"
    );
    eprintln!(
        "{} keyed operations ({} by id) tried across branches by {} keys: none reached",
        operations.len(),
        by_id.len(),
        tries.len()
    );

    // A commune moved to another group goes with it: its old group loses it, its new one has it.
    ok(tocsin(
        &env,
        &[],
        &["tenant", "move", "charny", "--parent", "cc-argonne"],
    ));
    assert_eq!(
        verdun.acting_on("charny").get("/v1/topics").await.status,
        404
    );
    assert_eq!(
        argonne.acting_on("charny").get("/v1/topics").await.status,
        200
    );
    // What would break the tree is refused, with the reason.
    let refused = |args: &[&str]| {
        let out = tocsin(&env, &[], args);
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let under_commune = refused(&["tenant", "move", "cc-verdun", "--parent", "bras"]);
    assert!(
        under_commune.contains("a commune has no members"),
        "{under_commune}"
    );
    let below_itself = refused(&["tenant", "move", "meuse", "--parent", "cc-verdun"]);
    assert!(below_itself.contains("cannot go below"), "{below_itself}");
    let platform_moved = refused(&["tenant", "move", "platform", "--parent", "meuse"]);
    assert!(
        platform_moved.contains("the platform is the root"),
        "{platform_moved}"
    );
    let second_platform = refused(&["tenant", "create", "x", "--name", "X", "--kind", "platform"]);
    assert!(second_platform.contains("--kind"), "{second_platform}");
    let no_parent = refused(&[
        "tenant", "create", "y", "--name", "Y", "--parent", "nowhere",
    ]);
    assert!(no_parent.contains("no tenant \"nowhere\""), "{no_parent}");

    // The command line acts on a member with a group's key, as a script would.
    let listed = ok(tocsin(
        &env,
        &[
            ("TOCSIN_URL", &daemon.url),
            ("TOCSIN_API_KEY", &meuse.key),
            ("TOCSIN_TENANT", "bras"),
        ],
        &["topics", "list"],
    ));
    assert!(listed.contains("intemperies"), "{listed}");
    daemon.stop().await;
}

/// An intercommunality warns its member communes in one alert: each commune's subscribers of
/// the topic get it from their commune's own sender, a citizen subscribed in two communes gets
/// it once per channel, a commune of another group gets nothing; the group follows it per
/// commune and in all, and each commune finds it in its history, marked as sent by the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_alert_reaches_its_member_communes_once_per_citizen() {
    use std::time::Duration;

    let env = Env::new().await;
    let daemon = env.start().await;
    make_tree(&env);
    let verdun = Client::new(&daemon.url, &env.key("cc-verdun", Role::Admin).await);
    for (commune, sender) in [("bras", "MAIRIEBRAS"), ("charny", "CHARNY")] {
        ok(tocsin(
            &env,
            &[],
            &["tenant", "update", commune, "--sms-sender", sender],
        ));
        verdun.acting_on(commune).topic("intemperies").await;
    }
    let argonne = Client::new(&daemon.url, &env.key("cc-argonne", Role::Admin).await);
    argonne.acting_on("clermont").topic("intemperies").await;
    // Anne lives in Bras and works in Charny: she subscribed in both, with the same number
    // and address.
    let bras = verdun.acting_on("bras");
    let charny = verdun.acting_on("charny");
    bras.subscriber(Some("0600000001"), None, &["intemperies"])
        .await;
    bras.subscriber(
        Some("0600000002"),
        Some("anne@example.fr"),
        &["intemperies"],
    )
    .await;
    charny
        .subscriber(
            Some("0600000002"),
            Some("anne@example.fr"),
            &["intemperies"],
        )
        .await;
    charny
        .subscriber(Some("0600000003"), None, &["intemperies"])
        .await;
    argonne
        .acting_on("clermont")
        .subscriber(Some("0600000009"), None, &["intemperies"])
        .await;

    // What cannot be sent is refused before anything is, with the reason.
    let alert = |communes: Value| {
        json!({ "topic": "intemperies", "urgent": true, "text": "Crue de la Meuse : évitez les berges.",
                "communes": communes })
    };
    let refused = verdun
        .post("/v1/alerts", alert(json!(["bras", "clermont"])))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "communes");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("clermont is not a commune of this group")
    );
    let refused = verdun
        .post("/v1/alerts", alert(json!(["bras", "belleville"])))
        .await;
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no topic intemperies in belleville"),
        "{}",
        refused.body
    );
    let refused = bras.post("/v1/alerts", alert(json!("all"))).await;
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a commune has no member communes"),
        "{}",
        refused.body
    );
    let dry = verdun
        .post("/v1/alerts?dry_run=true", alert(json!("all")))
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["communes"][0]["commune"], "bras");
    assert_eq!(
        dry.body["communes"][0]["estimate"]["channels"]["sms"]["recipients"],
        2
    );
    assert_eq!(dry.body["left_out"], json!(["belleville"]));
    assert_eq!(env.smsmode.request_count(), 0);

    let sent = verdun
        .send(
            reqwest::Client::new()
                .post(format!("{}/v1/alerts", daemon.url))
                .header("Idempotency-Key", "crue-1")
                .json(&alert(json!("all"))),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let id = sent.body["id"].as_str().unwrap().to_owned();
    assert_eq!(sent.body["left_out"], json!(["belleville"]));
    let parts: Vec<(String, String)> = sent.body["communes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["commune"].as_str().unwrap().to_owned(),
                c["report"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        parts.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["bras", "charny"]
    );
    // The same request again is the same alert.
    let again = verdun
        .send(
            reqwest::Client::new()
                .post(format!("{}/v1/alerts", daemon.url))
                .header("Idempotency-Key", "crue-1")
                .json(&alert(json!("all"))),
        )
        .await;
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.headers["Idempotent-Replayed"], "true");

    let report = crate::support::eventually_value(Duration::from_secs(30), || async {
        let report = verdun.get(&format!("/v1/alerts/{id}")).await.body;
        (report["status"] == "completed").then_some(report)
    })
    .await;
    let mut received: Vec<(String, String)> = env
        .smsmode
        .received()
        .into_iter()
        .map(|sms| (sms.to, sms.from.unwrap_or_default()))
        .collect();
    received.sort();
    assert_eq!(received.len(), 3, "one SMS per number: {received:?}");
    assert_eq!(received[0], ("33600000001".into(), "MAIRIEBRAS".into()));
    assert_eq!(received[1].0, "33600000002");
    assert_eq!(received[2], ("33600000003".into(), "CHARNY".into()));
    let mails = env.smtp.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.smtp.received().len(),
        1,
        "Anne got one e-mail: {mails:?}"
    );
    assert_eq!(report["counts"]["sms"]["sent"], 3, "{report}");
    assert_eq!(report["counts"]["email"]["sent"], 1, "{report}");
    let per_commune: u64 = report["communes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["report"]["counts"]["sms"]["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(per_commune, 3, "{report}");

    // Each commune finds its part in its history, marked as the group's; the group's alert is
    // the group's own.
    let bras_key = Client::new(&daemon.url, &env.key("bras", Role::Admin).await);
    let part = bras_key.get(&format!("/v1/alerts/{}", parts[0].1)).await;
    assert_eq!(part.status, 200, "{}", part.body);
    assert_eq!(part.body["sent_by"], "cc-verdun");
    assert_eq!(part.body["group_alert"], id.as_str());
    assert_eq!(bras_key.get(&format!("/v1/alerts/{id}")).await.status, 404);
    let too_late = verdun
        .post(&format!("/v1/alerts/{id}/cancel"), json!({}))
        .await;
    assert_eq!(too_late.status, 409, "{}", too_late.body);

    // The month's usage, for re-invoicing: each commune's, the group's sum, as the stand-ins
    // counted; the same once retention has erased every address.
    let month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%Y-%m")
        .to_string();
    let db = env.db.pool().await;
    for erased in [false, true] {
        if erased {
            tocsin::store::erasure::sweep(&db, Duration::ZERO)
                .await
                .unwrap();
            let (left,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM deliveries WHERE address IS NOT NULL")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            assert_eq!(left, 0);
        }
        let usage = verdun.get(&format!("/v1/usage?month={month}")).await;
        assert_eq!(usage.status, 200, "{}", usage.body);
        let row = |slug: &str| {
            usage.body["tenants"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["tenant"] == slug)
                .unwrap_or_else(|| panic!("{slug} in {}", usage.body))
                .clone()
        };
        let accepted = |row: &Value, channel: &str| {
            row["channels"][channel]["sent"].as_i64().unwrap_or(0)
                + row["channels"][channel]["delivered"].as_i64().unwrap_or(0)
        };
        let (group, bras, charny) = (row("cc-verdun"), row("bras"), row("charny"));
        assert_eq!(group["alerts"]["urgent"], 2, "one per commune: {group}");
        assert_eq!(accepted(&group, "sms"), 3, "{group}");
        assert_eq!(accepted(&bras, "sms") + accepted(&charny, "sms"), 3);
        assert_eq!(group["channels"]["sms"]["segments"], 3, "{group}");
        assert_eq!(accepted(&group, "email"), 1, "{group}");
        assert_eq!(usage.body["total"]["channels"], group["channels"]);
        let tenants = usage.body["tenants"].as_array().unwrap();
        assert!(
            tenants.iter().all(|t| t["tenant"] != "clermont"),
            "another branch in the report: {}",
            usage.body
        );
    }
    // The operator's view, at the account's price, for a spreadsheet.
    let priced = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(priced.path(), "[pricing.smsmode]\nper_segment = 0.045\n").unwrap();
    let config = priced.path().to_str().unwrap();
    let csv = ok(tocsin(
        &env,
        &[("TOCSIN_CONFIG", config)],
        &["usage", "--month", &month, "--csv"],
    ));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let cost = |slug: &str| {
        let line = csv
            .lines()
            .find(|l| l.split(',').nth(1) == Some(slug))
            .unwrap_or_else(|| panic!("{slug} in {csv}"));
        let column = |name| {
            let at = header.iter().position(|h| *h == name).unwrap();
            line.split(',').nth(at).unwrap().to_owned()
        };
        (column("cost"), column("currency"))
    };
    let priced = ("0.14".to_owned(), "EUR".to_owned());
    assert_eq!(cost("cc-verdun"), priced, "3 segments at 0.045: {csv}");
    assert_eq!(cost("platform"), priced, "{csv}");
    daemon.stop().await;
}

/// Monthly budgets: a routine alert that would go over its commune's budget, or its group's, is
/// refused before anything is sent, with the figures; an urgent one is sent anyway and marked.
/// At 80 % of a budget, the admins of its node get one e-mail that month.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routine_alert_over_budget_is_refused_and_an_urgent_one_is_sent_and_marked() {
    use std::time::Duration;

    let env = Env::new().await;
    let daemon = env.start().await;
    make_tree(&env);
    let verdun = Client::new(&daemon.url, &env.key("cc-verdun", Role::Admin).await);
    let bras = verdun.acting_on("bras");
    bras.topic("intemperies").await;
    for i in 1..=3 {
        bras.subscriber(Some(&format!("060000000{i}")), None, &["intemperies"])
            .await;
    }
    // Admins of the commune and of its group: each hears of its own budget.
    for (node, email) in [("bras", "maire@bras.fr"), ("cc-verdun", "dgs@cc-verdun.fr")] {
        ok(tocsin(
            &env,
            &[],
            &[
                "user", "add", "--tenant", node, "--email", email, "--name", "Admin", "--role",
                "admin",
            ],
        ));
    }
    // No quiet hours: routine alerts leave at once, whatever the hour of the test.
    ok(tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "bras",
            "--budget",
            "sms=5",
            "--quiet-hours",
            "none",
        ],
    ));
    let shown: Value = serde_json::from_str(&ok(tocsin(
        &env,
        &[],
        &["tenant", "show", "bras", "--json"],
    )))
    .unwrap();
    assert_eq!(shown["budgets"]["sms"], 5, "{shown}");
    let routine = json!({ "topic": "intemperies", "channels": ["sms"], "text": "Collecte" });

    // 3 segments of 5: sent (60 %: no warning).
    let first = bras.alert(routine.clone()).await;
    bras.wait_completed(&first).await;
    assert_eq!(env.smsmode.request_count(), 3);

    // 3 more would make 6 of 5: refused with the figures, and the dry run shows it.
    let dry = bras.post("/v1/alerts?dry_run=true", routine.clone()).await;
    let line = &dry.body["budgets"][0];
    assert_eq!(
        (
            &line["tenant"],
            &line["used"],
            &line["this_alert"],
            &line["left"]
        ),
        (&json!("bras"), &json!(3), &json!(3), &json!(-1)),
        "{}",
        dry.body
    );
    let refused = bras.post("/v1/alerts", routine.clone()).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "budget_exceeded");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("bras: this alert needs 3 SMS segments, 3 of its 5 this month are used"),
        "{message}"
    );

    // Urgent: never held by a budget; sent, then marked.
    let urgent = bras
        .alert(
            json!({ "topic": "intemperies", "channels": ["sms"], "urgent": true,
                       "text": "Crue" }),
        )
        .await;
    bras.wait_completed(&urgent).await;
    assert_eq!(
        env.smsmode.request_count(),
        6,
        "nothing of the refused alert went out"
    );
    crate::support::eventually("the urgent alert marked", Duration::from_secs(10), || {
        let bras = bras.clone();
        let path = format!("/v1/alerts/{urgent}");
        async move { bras.get(&path).await.body["over_budget"] == true }
    })
    .await;
    // 6 of 5: the commune's admin is told, once.
    let mail = env
        .smtp
        .wait_for(1, Duration::from_secs(30))
        .await
        .remove(0);
    assert_eq!(mail.rcpt_tos, ["maire@bras.fr"]);
    assert!(
        mail.headers["Subject"].starts_with("Budget SMS à 120 % — bras, "),
        "{:?}",
        mail.headers
    );
    assert!(
        mail.text
            .contains("bras a utilisé 6 segments SMS sur les 5 de son budget"),
        "{}",
        mail.text
    );

    // The group's budget bounds its communes' sum: 6 used below cc-verdun, 3 more of 7.
    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--budget", "none"],
    ));
    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "cc-verdun", "--budget", "sms=7"],
    ));
    let refused = bras.post("/v1/alerts", routine.clone()).await;
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message
            .contains("cc-verdun: this alert needs 3 SMS segments, 6 of its 7 this month are used"),
        "{}",
        refused.body
    );
    // 9 fits 9: sent, and the group's admin (not the commune's again) hears of its budget.
    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "cc-verdun", "--budget", "sms=9"],
    ));
    let last = bras.alert(routine).await;
    bras.wait_completed(&last).await;
    let mails = env.smtp.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(mails[1].rcpt_tos, ["dgs@cc-verdun.fr"]);
    assert!(
        mails[1].headers["Subject"].starts_with("Budget SMS à 100 % — cc-verdun, "),
        "{:?}",
        mails[1].headers
    );
    // Over it again this month: no second e-mail (the loop looks every 10 s).
    let again = bras
        .alert(
            json!({ "topic": "intemperies", "channels": ["sms"], "urgent": true,
                       "text": "Crue" }),
        )
        .await;
    bras.wait_completed(&again).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        env.smtp.received().len(),
        2,
        "one e-mail per budget and month"
    );
    daemon.stop().await;
}

/// Routine alerts accepted together are counted against a budget one after the other, each
/// with what the ones before it hold although their fan-out has not planned a message yet: of
/// sixteen alerts sent at once where the budget holds two, two are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routine_alerts_sent_at_once_cannot_all_fit_a_budget_that_holds_two() {
    use std::time::Duration;

    let env = Env::new().await;
    let daemon = env.start().await;
    let bras = env.tenant(&daemon, "bras").await;
    bras.topic("intemperies").await;
    for i in 1..=2 {
        bras.subscriber(Some(&format!("060000000{i}")), None, &["intemperies"])
            .await;
    }
    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--budget", "sms=5"],
    ));
    // Timed a few minutes ahead, so that none is planned while the test runs: only what each
    // alert holds from its acceptance counts (in this month of the commune's clock).
    let paris = chrono_tz::Europe::Paris;
    let month_of = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&paris).format("%Y-%m");
    let mut at = chrono::Utc::now() + chrono::Duration::minutes(3);
    if month_of(at).to_string() != month_of(chrono::Utc::now()).to_string() {
        tokio::time::sleep(Duration::from_secs(200)).await;
        at = chrono::Utc::now() + chrono::Duration::minutes(3);
    }
    let routine = json!({ "topic": "intemperies", "channels": ["sms"], "text": "Collecte",
                          "scheduled_at": at.to_rfc3339() });
    let tries = (0..16).map(|_| {
        let (bras, routine) = (bras.clone(), routine.clone());
        tokio::spawn(async move { bras.post("/v1/alerts", routine).await })
    });
    let mut statuses = Vec::new();
    for answer in futures_util::future::join_all(tries).await {
        let answer = answer.unwrap();
        assert!(
            answer.status == 202 || answer.body["error"]["code"] == "budget_exceeded",
            "{}",
            answer.body
        );
        statuses.push(answer.status);
    }
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    assert_eq!(
        accepted, 2,
        "2 segments each, 5 in the budget: {statuses:?}"
    );
    let dry = bras.post("/v1/alerts?dry_run=true", routine).await;
    assert_eq!(dry.body["budgets"][0]["used"], 4, "{}", dry.body);
    assert_eq!(env.smsmode.request_count(), 0);
    daemon.stop().await;
}
