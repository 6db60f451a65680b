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
