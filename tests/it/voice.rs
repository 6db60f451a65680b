//! Voice calls through Twilio Programmable Voice (its stand-in plays the callees): fixed lines
//! are called, the script is French and speakable, pressing 1 confirms, and every request of a
//! call is signed.

use std::time::Duration;

use serde_json::{Value, json};
use tocsin_standins::twilio::TwilioStandin;
use tocsin_standins::twilio_voice::{CallStatus, Callee};

use crate::{
    cli::{ok, tocsin},
    support::{Client, Daemon, Env},
};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";
const PUBLIC_URL: &str = "https://alertes.example.fr";
const CALLER_ID: &str = "+33937001234";

/// A daemon whose voice account is the stand-in, which reaches the daemon under its public URL.
async fn start(env: &Env, twilio: &TwilioStandin) -> Daemon {
    start_with(env, twilio, "").await
}

/// The same, with more of the configuration file's `[voice]` section.
async fn start_with(env: &Env, twilio: &TwilioStandin, voice: &str) -> Daemon {
    let daemon = Daemon::start(voice_config(env, twilio, voice)).await;
    twilio.route_public_url(PUBLIC_URL, &daemon.url);
    daemon
}

/// The configuration of a daemon whose voice account is the stand-in.
fn voice_config(env: &Env, twilio: &TwilioStandin, voice: &str) -> tocsin::Config {
    env.config_with_file(&format!(
        r#"
        public_url = "{PUBLIC_URL}"
        [voice]
        {voice}
        [voice.twilio]
        account_sid = "{SID}"
        auth_token = "{TOKEN}"
        caller_id = "{CALLER_ID}"
        base_url = "{}"
        "#,
        twilio.base_url()
    ))
}

async fn add(mairie: &Client, body: Value) -> crate::support::Answer {
    mairie.post("/v1/subscribers", body).await
}

/// A commune of fixed lines and one mobile: an urgent alert naming voice calls each of them
/// once, from the account's number, with a French script the callee hears twice; those who
/// press 1 are counted as confirming, an answering machine hears the message without the
/// prompt, and the list of those who did not confirm is exactly the others, masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_lines_are_called_and_pressing_1_confirms() {
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let daemon = start(&env, &twilio).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    let callees = [
        (
            "03 29 84 12 01",
            "+33329841201",
            Callee::AnswersAndPresses(Some('1')),
        ),
        (
            "03 29 84 12 02",
            "+33329841202",
            Callee::HangsUpAfter(Duration::from_secs(3)),
        ),
        ("03 29 84 12 03", "+33329841203", Callee::AnsweringMachine),
        ("03 29 84 12 04", "+33329841204", Callee::NoAnswer),
        ("09 72 10 20 05", "+33972102005", Callee::Busy),
    ];
    for (typed, e164, callee) in &callees {
        twilio.script_callee(e164, *callee);
        let added = add(
            &mairie,
            json!({ "landline": typed, "topics": ["intemperies"] }),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
        assert_eq!(added.body["landline"], *e164);
    }
    twilio.script_callee("+33612345606", Callee::AnswersAndPresses(Some('1')));
    mairie
        .subscriber(Some("06 12 34 56 06"), None, &["intemperies"])
        .await;

    // Numbers alerts do not call are refused at the door, naming the field.
    for (landline, why) in [
        ("06 12 34 56 78", "mobile"),
        ("08 99 12 34 56", "premium-rate"),
    ] {
        let refused = add(
            &mairie,
            json!({ "landline": landline, "topics": ["intemperies"] }),
        )
        .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.body["error"]["field"], "landline");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message}");
    }

    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["voice"],
                       "text": "Crue de la Meuse à 8h30 : évitez les berges." }),
        )
        .await;
    let calls = twilio.wait_for_calls(6, Duration::from_secs(20)).await;
    for call in &calls {
        assert_eq!(call.from, CALLER_ID);
    }
    // Every call ends; then the alert completes with the providers' last word.
    for call in &calls {
        twilio
            .wait_for_call_end(&call.sid, Duration::from_secs(20))
            .await;
    }
    let report = crate::support::eventually_value(Duration::from_secs(20), || {
        let mairie = mairie.clone();
        let path = format!("/v1/alerts/{id}");
        async move {
            let report = mairie.get(&path).await.body;
            let voice = &report["counts"]["voice"];
            (voice["delivered"].as_i64().unwrap_or(0) + voice["failed"].as_i64().unwrap_or(0) == 6)
                .then_some(report)
        }
    })
    .await;
    let voice = &report["counts"]["voice"];
    assert_eq!(voice["delivered"], 4, "{report}");
    assert_eq!(voice["failed"], 2, "{report}");
    assert_eq!(voice["acknowledged"], 2, "{report}");
    assert_eq!(report["acknowledged"], 2, "{report}");

    // What was said: French, the commune first, the time spoken, the prompt twice to a person,
    // no prompt to a machine.
    let played = twilio.played_calls();
    let of = |to: &str| played.iter().find(|c| c.to == to).unwrap().clone();
    let person = of("+33329841201");
    assert_eq!(person.status, CallStatus::Completed);
    assert_eq!(person.digits.as_deref(), Some("1"));
    let said: Vec<&str> = person.said.iter().map(|s| s.text.as_str()).collect();
    assert!(person.said.iter().all(|s| s.is_french()), "{said:?}");
    let spoken = said.join(" ");
    assert!(spoken.contains("Message de la mairie de bras"), "{spoken}");
    assert!(spoken.contains("8 heures 30"), "{spoken}");
    assert_eq!(spoken.matches("Tapez 1").count(), 2, "{spoken}");
    assert!(
        spoken.contains("Merci, votre confirmation est enregistrée"),
        "{spoken}"
    );
    let machine = of("+33329841203");
    let recorded: String = machine.said.iter().map(|s| s.text.clone()).collect();
    assert!(!recorded.contains("Tapez 1"), "{recorded}");
    assert_eq!(
        recorded.matches("Crue de la Meuse").count(),
        2,
        "{recorded}"
    );

    // Whom the mayor should check on: everyone who did not press 1, reached or not, masked.
    let page = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=unacknowledged"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut to: Vec<String> = page.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["to"].as_str().unwrap().to_owned())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "+33 3 ** ** ** 02",
            "+33 3 ** ** ** 03",
            "+33 3 ** ** ** 04",
            "+33 9 ** ** ** 05"
        ],
        "{}",
        page.body
    );

    // The same from the command line.
    let cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["status", &id, "--unacknowledged"])
        .env_clear()
        .env("TOCSIN_URL", &daemon.url)
        .env("TOCSIN_API_KEY", &mairie.key)
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(listed.lines().count(), 4, "{listed}");
    assert!(
        listed.contains("+33 9 ** ** ** 05") && listed.contains("busy"),
        "{listed}"
    );
    assert!(!listed.contains("** 01"), "{listed}");

    // The proof says who confirmed, and when, per recipient.
    let dir = tempfile::tempdir().unwrap();
    let (pdf, csv) = (dir.path().join("p.pdf"), dir.path().join("r.csv"));
    ok(tocsin(
        &env,
        &[],
        &[
            "alert",
            "proof",
            &id,
            "--pdf",
            pdf.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
    ));
    let text = crate::audit::pdf_text(&pdf);
    assert!(
        text.contains("Réception confirmée par 2 personne(s)"),
        "{text}"
    );
    assert!(
        text.contains("Appel, texte lu : Message de la mairie de bras."),
        "{text}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    let confirmed = csv.lines().skip(1).filter(|l| !l.ends_with(',')).count();
    assert_eq!(confirmed, 2, "{csv}");

    // A key press not signed by the account changes nothing.
    let hung_up = of("+33329841202");
    let keypad = twilio
        .call_events_of(&hung_up.sid)
        .iter()
        .find_map(|e| {
            (e.kind == tocsin_standins::twilio_voice::CallEventKind::Twiml)
                .then(|| format!("{}/keypad", e.url.split('?').next().unwrap()))
        })
        .expect("the hung-up call fetched its script");
    let forged = vec![
        ("AccountSid".to_owned(), SID.to_owned()),
        ("CallSid".to_owned(), hung_up.sid.clone()),
        ("Digits".to_owned(), "1".to_owned()),
    ];
    assert_eq!(twilio.post_forged(&keypad, &forged).await.unwrap(), 403);
    let again = mairie.get(&format!("/v1/alerts/{id}")).await.body;
    assert_eq!(again["acknowledged"], 2, "{again}");
    daemon.stop().await;
}

/// Calls cost more and wake people: an alert naming no channels calls nobody until the commune
/// turns voice on, and then calls fixed lines only (a mobile gets its SMS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_naming_no_channels_call_fixed_lines_once_the_commune_turns_voice_on() {
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let daemon = start(&env, &twilio).await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    add(
        &mairie,
        json!({ "landline": "03 29 84 12 01", "topics": ["intemperies"] }),
    )
    .await;
    mairie
        .subscriber(Some("06 12 34 56 06"), None, &["intemperies"])
        .await;
    let urgent = json!({ "topic": "intemperies", "urgent": true, "text": "Coupure d'eau" });

    let first = mairie.alert(urgent.clone()).await;
    mairie.wait_completed(&first).await;
    assert!(twilio.calls().is_empty(), "voice is off: nobody is called");
    assert_eq!(env.smsmode.request_count(), 1);

    ok(tocsin(
        &env,
        &[],
        &["tenant", "update", "bras", "--voice", "on"],
    ));
    let second = mairie.alert(urgent).await;
    let calls = twilio.wait_for_calls(1, Duration::from_secs(20)).await;
    mairie.wait_completed(&second).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].to, "+33329841201", "the mobile is not called");
    assert_eq!(env.smsmode.request_count(), 2);

    // A commune's own caller id follows the French rules.
    let refused = tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "bras",
            "--voice-caller-id",
            "06 12 34 56 78",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("06/07"));
    let warned = tocsin(
        &env,
        &[],
        &[
            "tenant",
            "update",
            "bras",
            "--voice-caller-id",
            "03 29 84 00 00",
        ],
    );
    assert!(warned.status.success());
    assert!(String::from_utf8_lossy(&warned.stderr).contains("verified multi-use number"));
    daemon.stop().await;
}

/// Calling again until heard: with `until_acknowledged`, a call that rang out, found the line
/// busy, was hung up before the message ended or reached an answering machine is placed again
/// after the interval, up to `max_calls`; whoever pressed 1, listened to the end or cannot be
/// called is not called again. Each call is an attempt of its delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfirmed_calls_are_placed_again_until_heard_up_to_the_limit() {
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let daemon = start_with(&env, &twilio, "recall_interval_s = 1\nmax_calls = 3").await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    // (fixed line, callee, calls expected, final state)
    let callees = [
        (
            "+33329841201",
            Callee::AnswersAndPresses(Some('1')),
            1,
            "delivered",
        ),
        (
            "+33329841202",
            Callee::HangsUpAfter(Duration::from_secs(2)),
            3,
            "delivered",
        ),
        ("+33329841203", Callee::AnsweringMachine, 3, "delivered"),
        ("+33329841204", Callee::NoAnswer, 3, "failed"),
        ("+33329841205", Callee::Busy, 3, "failed"),
        ("+33329841206", Callee::Fails, 1, "failed"),
        (
            "+33329841207",
            Callee::AnswersAndPresses(None),
            1,
            "delivered",
        ),
    ];
    for (number, callee, ..) in &callees {
        twilio.script_callee(number, *callee);
        let added = add(
            &mairie,
            json!({ "landline": number, "topics": ["intemperies"] }),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["voice"],
                       "until_acknowledged": true,
                       "text": "Canicule : appelez vos voisins âgés." }),
        )
        .await;
    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(90))
        .await;
    assert_eq!(report["acknowledged"], 1, "{report}");

    let calls = twilio.calls();
    let db = env.db.pool().await;
    for (number, _, expected_calls, state) in &callees {
        let placed = calls.iter().filter(|c| c.to == *number).count();
        assert_eq!(placed, *expected_calls, "calls to {number}");
        let (status, attempts, recorded): (String, i32, i64) = sqlx::query_as(
            "SELECT d.status, d.attempts,
                    (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id)
             FROM deliveries d WHERE d.address = $1",
        )
        .bind(number)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(status, *state, "{number}");
        assert_eq!(attempts, *expected_calls as i32, "{number}");
        assert!(
            recorded >= *expected_calls as i64 - 1,
            "{number}: {recorded} attempts kept"
        );
    }
    daemon.stop().await;
}

/// Confirming on any channel: an SMS answered "OK", the button of the page an e-mail links to
/// (not the link's GET, which a scanner makes too). Each citizen counts once, and nobody who
/// confirmed is called again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_who_confirms_by_sms_or_by_the_e_mail_s_button_is_not_called_again() {
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let daemon = start_with(&env, &twilio, "recall_interval_s = 5\nmax_calls = 3").await;
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for (body, landline) in [
        (json!({ "phone": "06 12 34 56 01" }), "+33329841201"),
        (json!({ "email": "anne@example.fr" }), "+33329841202"),
    ] {
        twilio.script_callee(landline, Callee::NoAnswer);
        let mut body = body;
        body["landline"] = json!(landline);
        body["topics"] = json!(["intemperies"]);
        assert_eq!(add(&mairie, body).await.status, 201);
    }
    let id = mairie
        .alert(json!({ "topic": "intemperies", "urgent": true,
                       "channels": ["sms", "email", "voice"], "until_acknowledged": true,
                       "text": "Crue : montez à l'étage." }))
        .await;

    // The SMS is answered "OK" from its number.
    env.smsmode.wait_for(1, Duration::from_secs(20)).await;
    let token = env.callback_token("bras").await;
    let answered = reqwest::Client::new()
        .post(format!("{}/cb/smsmode/{token}/inbound", daemon.url))
        .json(
            &json!({ "messageId": "mo-1", "type": "SMS", "direction": "MO",
                       "from": "33612345601", "recipient": { "to": "36034" },
                       "body": { "text": "OK merci" } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);

    // The e-mail's link: opening it shows a button and confirms nothing; the button does.
    let mail = env
        .smtp
        .wait_for(1, Duration::from_secs(20))
        .await
        .remove(0);
    let start = mail
        .text
        .find(&format!("{PUBLIC_URL}/a/"))
        .expect("the link");
    let link = mail.text[start..].split_whitespace().next().unwrap();
    let local = link.replacen(PUBLIC_URL, &daemon.url, 1);
    let page = reqwest::get(&local).await.unwrap().text().await.unwrap();
    assert!(page.contains("J'ai bien reçu ce message"), "{page}");
    let report = mairie.get(&format!("/v1/alerts/{id}")).await.body;
    assert_eq!(report["counts"]["email"]["acknowledged"], 0, "{report}");
    let clicked = reqwest::Client::new()
        .post(&local)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200);
    let thanked = clicked.text().await.unwrap();
    assert!(
        thanked.contains("votre confirmation de réception est enregistrée"),
        "{thanked}"
    );

    let report = mairie
        .wait_completed_within(&id, Duration::from_secs(60))
        .await;
    assert_eq!(report["counts"]["sms"]["acknowledged"], 1, "{report}");
    assert_eq!(report["counts"]["email"]["acknowledged"], 1, "{report}");
    assert_eq!(report["acknowledged"], 2, "{report}");
    for landline in ["+33329841201", "+33329841202"] {
        let calls = twilio.calls().iter().filter(|c| c.to == landline).count();
        assert_eq!(calls, 1, "{landline} was called again after confirming");
    }
    let unconfirmed = mairie
        .get(&format!("/v1/alerts/{id}/deliveries?status=unacknowledged"))
        .await;
    assert_eq!(
        unconfirmed.body["deliveries"],
        json!([]),
        "{}",
        unconfirmed.body
    );
    daemon.stop().await;
}

/// Calls per second hold across instances as SMS rates do: at Twilio's default of one call a
/// second, three instances together place 60 calls in 60 ± 3 s, never two in one second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_together_place_one_call_a_second() {
    use crate::support::ServeProcess;
    use std::time::Instant;

    const CALLS: usize = 60;
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    let toml = format!(
        "batch_size = 5\n[limits.twilio]\nper_second = 1.0\n[voice.twilio]\n\
         account_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\ncaller_id = \"{CALLER_ID}\"\n\
         base_url = \"{}\"\n",
        twilio.base_url()
    );
    let public = [("TOCSIN_PUBLIC_URL", PUBLIC_URL)];
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(ServeProcess::start(&env, &toml, &public).await);
    }
    twilio.route_public_url(PUBLIC_URL, &instances[0].url);
    let mairie = env.tenant_at(&instances[0].url, "bras").await;
    mairie.topic("intemperies").await;
    let rows: Vec<String> = (0..CALLS)
        .map(|i| format!(",,intemperies,03 29 84 {:02} {:02}", 10 + i / 100, i % 100))
        .collect();
    let csv = format!("phone,email,topics,landline\n{}\n", rows.join("\n"));
    let imported = mairie
        .post_raw("/v1/subscribers/import", "text/csv", csv)
        .await;
    assert_eq!(imported.body["created"], CALLS, "{}", imported.body);
    let id = mairie
        .alert(
            json!({ "topic": "intemperies", "urgent": true, "channels": ["voice"],
                       "text": "Alerte crue" }),
        )
        .await;
    let calls = twilio.wait_for_calls(CALLS, Duration::from_secs(120)).await;
    mairie
        .wait_completed_within(&id, Duration::from_secs(60))
        .await;
    let mut arrivals: Vec<Instant> = calls.iter().map(|c| c.at).collect();
    arrivals.sort();
    let span = *arrivals.last().unwrap() - arrivals[0];
    let busiest = arrivals
        .iter()
        .map(|&start| {
            arrivals
                .iter()
                .filter(|&&t| t >= start && t < start + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    eprintln!("{CALLS} calls over {span:?}; busiest second {busiest}");
    assert!(
        (57..=63).contains(&span.as_secs()),
        "{CALLS} calls at one a second took {span:?}"
    );
    assert!(busiest <= 2, "{busiest} calls in one second");
    let db = env.db.pool().await;
    let (owners,): (i64,) = sqlx::query_as("SELECT count(DISTINCT owner) FROM deliveries")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(owners, 3, "every instance placed its share");
}

/// A schedule naming voice calls each household once when it fires, as an alert naming voice
/// does: on its fixed line, or on its mobile when it has none; and sends no SMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_naming_voice_calls_when_it_fires() {
    let env = Env::new().await;
    let twilio = TwilioStandin::start(SID, TOKEN);
    // Monday 1 February 2027, 17:59 in Paris: the database's own now() cannot interfere.
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let clock = tocsin::clock::ManualClock::new(at("2027-02-01T17:59:00+01:00"));
    let mut config = voice_config(&env, &twilio, "");
    config.scheduler.tick = Duration::from_millis(100);
    let daemon = Daemon::start_with_clock(config, clock.clone().into()).await;
    twilio.route_public_url(PUBLIC_URL, &daemon.url);
    let mairie = env.tenant(&daemon, "bras").await;
    mairie.topic("intemperies").await;
    for household in [
        json!({ "landline": "03 29 84 12 01", "phone": "06 12 34 56 01", "topics": ["intemperies"] }),
        json!({ "phone": "06 12 34 56 02", "topics": ["intemperies"] }),
    ] {
        let added = add(&mairie, household).await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let created = mairie
        .post(
            "/v1/schedules",
            json!({ "topic": "intemperies", "cron": "0 18 * * 1", "urgent": true,
                    "channels": ["voice"], "text": "Exercice de sirène à 18h05." }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["channels"],
        json!(["voice"]),
        "{}",
        created.body
    );

    clock.set(at("2027-02-01T18:00:30+01:00"));
    let calls = twilio.wait_for_calls(2, Duration::from_secs(20)).await;
    let mut called: Vec<&str> = calls.iter().map(|c| c.to.as_str()).collect();
    called.sort_unstable();
    assert_eq!(called, ["+33329841201", "+33612345602"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(twilio.calls().len(), 2, "each number called once");
    assert!(env.smsmode.received().is_empty(), "voice only: no SMS");
}
