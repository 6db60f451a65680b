//! The second voice provider: the Vonage Voice API (its stand-in plays the callees). The NCCO
//! goes with the call, the key pressed and the events come back as JSON signed with a JWT over
//! the body.

use std::time::Duration;

use serde_json::json;
use tocsin_standins::vonage::{Callee, VonageStandin};

use crate::support::{Daemon, Env};

const APPLICATION: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const SECRET: &str = "vonage-signature-secret";
const PUBLIC_URL: &str = "https://alertes.example.fr";

/// An RSA key pair: the private key (PEM) for Tocsin, the public one (PEM) for the stand-in.
fn key_pair() -> (String, String) {
    let private = tocsin_providers::email::DkimKey::generate_pem();
    let key = tocsin_providers::email::DkimKey::new("s", "example.fr", &private).unwrap();
    let (_, record) = key.dns_record();
    let spki = record
        .split("p=")
        .nth(1)
        .expect("the record's public key")
        .trim();
    let lines: Vec<&str> = spki
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let public = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    (private, public)
}

/// Fixed lines called through Vonage: the French script goes with the call and may be cut by
/// a key, pressing 1 confirms (the key comes back signed), calls not confirmed are placed again
/// until the limit, and a key press not signed by the account changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_vonage_are_confirmed_by_a_signed_key_press() {
    let env = Env::new().await;
    let (private, public) = key_pair();
    let vonage = VonageStandin::start(APPLICATION, &public, SECRET);
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), &private).unwrap();
    let config = env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [routing]
        voice = "vonage"
        [voice]
        recall_interval_s = 1
        max_calls = 2
        [voice.vonage]
        application_id = "{APPLICATION}"
        private_key_file = "{}"
        signature_secret = "{SECRET}"
        caller_id = "+33937001234"
        base_url = "{}"
        "#,
        key_file.path().display(),
        vonage.base_url()
    ));
    let daemon = Daemon::start(config).await;
    vonage.route_public_url(PUBLIC_URL, &daemon.url);
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let callees = [
        ("+33329841201", Callee::AnswersAndPresses(Some('1')), 1),
        ("+33329841202", Callee::NoAnswer, 2),
        ("+33329841203", Callee::AnsweringMachine, 2),
    ];
    for (number, callee, _) in &callees {
        vonage.script_callee(number, *callee);
        let added = mairie
            .post(
                "/v1/subscribers",
                json!({ "landline": number, "topics": ["intemperies"] }),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["voice"],
                       "until_acknowledged": true,
                       "text": "Coupure d'eau de 8h à 12h." }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(60))
        .await;
    assert_eq!(report["acknowledged"], 1, "{report}");
    let voice = &report["counts"]["voice"];
    assert_eq!(voice["acknowledged"], 1, "{report}");

    let calls = vonage.calls();
    for (number, _, expected) in &callees {
        let digits = number.trim_start_matches('+');
        let placed = calls.iter().filter(|c| c.to == digits).count();
        assert_eq!(placed, *expected, "calls to {number}");
    }
    let first = &calls[0];
    assert_eq!(first.from, "33937001234");
    let played = vonage.played_calls();
    let person = played
        .iter()
        .find(|c| c.to == "33329841201")
        .expect("the person's call");
    assert_eq!(person.digits.as_deref(), Some("1"));
    let said: Vec<&str> = person.talks.iter().map(|t| t.text.as_str()).collect();
    assert!(
        person
            .talks
            .iter()
            .all(|t| t.language.as_deref() == Some("fr-FR")),
        "{said:?}"
    );
    let spoken = said.join(" ");
    assert!(spoken.contains("de 8 heures à 12 heures"), "{spoken}");
    assert!(
        spoken.contains("Merci, votre confirmation est enregistrée"),
        "{spoken}"
    );

    // A key press signed with another secret: refused, nothing confirmed.
    let unanswered = played
        .iter()
        .find(|c| c.to == "33329841202")
        .expect("the unanswered call");
    let keypad = calls
        .iter()
        .find(|c| c.uuid == unanswered.uuid)
        .and_then(|c| {
            c.ncco_json
                .as_array()?
                .iter()
                .find_map(|a| a["eventUrl"][0].as_str().map(str::to_owned))
        })
        .expect("the call's key press URL");
    let forged = json!({ "uuid": unanswered.uuid, "dtmf": { "digits": "1", "timed_out": false } });
    assert_eq!(vonage.post_forged(&keypad, &forged).await, 403);
    let again = mairie.get(&format!("/v1/alerts/{id}")).await.body;
    assert_eq!(again["acknowledged"], 1, "{again}");
    daemon.stop().await;
}
