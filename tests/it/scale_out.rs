use std::{collections::HashMap, time::Duration};

use serde_json::json;
use tocsin::Config;

use crate::support::{Daemon, Env};

/// A configuration file that names the instance in the SMS sender, so the stand-in can tell
/// which instance sent each message.
fn instance_config(env: &Env, sender: &str) -> Config {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!("[sms.smsmode]\napi_key = \"x\"\nsender = \"{sender}\"\n"),
    )
    .unwrap();
    let vars = env.vars();
    Config::load_with(Some(file.path()), |name| vars.get(name).cloned()).unwrap()
}

#[tokio::test]
async fn two_instances_share_the_work_without_sending_anything_twice() {
    let env = Env::new().await;
    let mut one = instance_config(&env, "MairieUn");
    let mut two = instance_config(&env, "MairieDeux");
    // Small batches, so that the work is spread over many messages.
    one.dispatch.batch_size = 10;
    two.dispatch.batch_size = 10;
    let first = Daemon::start(one).await;
    let second = Daemon::start(two).await;
    let mairie = env.tenant(&first, "bras").await;
    mairie.topic("intemperies").await;
    let csv: String = std::iter::once("phone,email,topics\n".to_string())
        .chain((0..400).map(|i| format!("06 10 00 {:02} {:02},,intemperies\n", i / 100, i % 100)))
        .collect();
    let import = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(import.body["imported"], 400, "{}", import.body);

    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true, "text": "Crue de la Meuse" }))
        .await;
    let report = mairie.wait_completed(&id).await;
    assert_eq!(report["counts"]["sms"]["sent"], 400, "{report}");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let received = env.smsmode.received();
    assert_eq!(received.len(), 400, "each subscriber exactly once");
    let mut per_number: HashMap<&str, usize> = HashMap::new();
    let mut per_instance: HashMap<&str, usize> = HashMap::new();
    for sms in &received {
        *per_number.entry(sms.to.as_str()).or_default() += 1;
        *per_instance
            .entry(sms.from.as_deref().unwrap_or("?"))
            .or_default() += 1;
    }
    assert_eq!(per_number.len(), 400);
    assert!(per_number.values().all(|&n| n == 1));
    assert_eq!(
        per_instance.len(),
        2,
        "both instances sent: {per_instance:?}"
    );
    first.stop().await;
    second.stop().await;
}
