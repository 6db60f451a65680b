//! The Vonage voice stand-in answers `POST /v1/calls` as the contract in voice.md says, plays each
//! scripted callee against a small receiver standing for Tocsin, and signs what it sends.

use std::{
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair, KeySize},
    signature::KeyPair as _,
};
use axum::{
    Router,
    body::Bytes,
    extract::Request,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tocsin_standins::vonage::{
    Action, CallEvent, CallEventKind, CallStatus, Callee, PlayedCall, VonageStandin,
};

const APP: &str = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";
const SECRET: &str = "a-signature-secret-of-32-bytes!!";
const FROM: &str = "33937001234";
const TO: &str = "33329841201";
const WAIT: Duration = Duration::from_secs(5);

/// 14 words, read twice.
const MESSAGE: &str = "Message de la mairie de Bras. Crue de l'Argens : évitez les quais bas.";
/// 9 words.
const PRESS_1: &str = "Tapez 1 pour confirmer la réception de ce message.";
/// 7 words.
const THANKS: &str = "Merci, votre réception est confirmée. Au revoir.";
/// 8 words.
const NOT_CONFIRMED: &str = "Nous n'avons pas reçu votre confirmation. Au revoir.";

/// A PKCS#8 private key and its SPKI public key, both PEM.
struct Keys {
    private_pem: String,
    public_pem: String,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn generate_keys() -> Keys {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key()).unwrap();
    Keys {
        private_pem: pem("PRIVATE KEY", private.as_ref()),
        public_pem: pem("PUBLIC KEY", public.as_ref()),
    }
}

/// The application's key pair, made once for every test.
static KEYS: LazyLock<Keys> = LazyLock::new(generate_keys);

fn standin() -> VonageStandin {
    VonageStandin::start(APP, &KEYS.public_pem, SECRET)
}

/// A call JWT with these claims, signed RS256 with `private_pem`.
fn jwt_with(private_pem: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    let jti = uuid::Uuid::now_v7().to_string();
    json!({"application_id": APP, "iat": now, "exp": now + 900, "jti": jti})
}

fn jwt() -> String {
    jwt_with(&KEYS.private_pem, &claims())
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    body: Value,
    signed: bool,
}

/// Tocsin's side: takes events at `/events` (204), input results at `/input` (a `talk` NCCO:
/// thanks for a 1, "not confirmed" otherwise) and `/input-empty` (204); refuses (401) what is not
/// signed with [`SECRET`] or whose `payload_hash` does not match the body.
struct Receiver {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback({
            let seen = seen.clone();
            move |request: Request| receive(request, seen.clone())
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The webhook's token is HS256 with [`SECRET`], names the application and the stand-in's API
/// key, and its `payload_hash` is the SHA-256 of `body`.
fn signed(authorization: Option<&str>, body: &[u8]) -> bool {
    let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::HS256);
    // Vonage's webhook tokens carry no `exp`.
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let Ok(data) = jsonwebtoken::decode::<Value>(token, &key, &validation) else {
        return false;
    };
    let claims = data.claims;
    claims["application_id"] == APP
        && claims["api_key"] == "stand-in"
        && claims["iat"].is_i64()
        && claims["jti"].as_str().is_some_and(|j| !j.is_empty())
        && claims["payload_hash"] == hex::encode(Sha256::digest(body))
}

async fn receive(request: Request, seen: Arc<Mutex<Vec<Seen>>>) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let is_json = parts
        .headers
        .get("content-type")
        .is_some_and(|v| v == "application/json");
    let signed = is_json && signed(authorization, &body);
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(Seen {
        path: parts.uri.path().to_owned(),
        body: json.clone(),
        signed,
    });
    if !signed {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let talk = |text: &str| json!([{"action": "talk", "text": text, "language": "fr-FR"}]);
    match parts.uri.path() {
        "/events" => StatusCode::NO_CONTENT.into_response(),
        "/input" if json["dtmf"]["digits"] == "1" => axum::Json(talk(THANKS)).into_response(),
        "/input" => axum::Json(talk(NOT_CONFIRMED)).into_response(),
        "/input-empty" => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The NCCO Tocsin sends: the message twice, then "press 1" with barge-in, then the input.
fn script(input_url: &str) -> Value {
    json!([
        {"action": "talk", "text": MESSAGE, "language": "fr-FR", "loop": 2},
        {"action": "talk", "text": PRESS_1, "language": "fr-FR", "bargeIn": true},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1, "timeOut": 5},
         "eventUrl": [input_url], "eventMethod": "POST"},
    ])
}

fn body(to: &str, receiver: &Receiver, more: Value) -> Value {
    let mut body = json!({
        "to": [{"type": "phone", "number": to}],
        "from": {"type": "phone", "number": FROM},
        "ncco": script(&receiver.url("/input")),
        "event_url": [receiver.url("/events")],
    });
    body.as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    body
}

/// POSTs `body` to `/v1/calls` with `authorization`; the status and the JSON answer.
async fn create_as(
    standin: &VonageStandin,
    authorization: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/calls", standin.base_url()))
        .json(body);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn create(standin: &VonageStandin, body: &Value) -> (u16, Value) {
    create_as(standin, Some(&format!("Bearer {}", jwt())), body).await
}

/// Places a call to `to` answered by `callee` with `more` fields; waits for its end.
async fn call(
    standin: &VonageStandin,
    receiver: &Receiver,
    callee: Callee,
    more: Value,
) -> PlayedCall {
    standin.script_callee(TO, callee);
    let (status, answer) = create(standin, &body(TO, receiver, more)).await;
    assert_eq!(status, 201, "{answer}");
    let uuid = answer["uuid"].as_str().unwrap();
    standin.wait_for_call_end(uuid, WAIT).await
}

fn statuses(events: &[CallEvent]) -> Vec<&str> {
    let events = events.iter().filter(|e| e.kind == CallEventKind::Event);
    events.map(|e| e.status().unwrap()).collect()
}

fn inputs(events: &[CallEvent]) -> Vec<&CallEvent> {
    events
        .iter()
        .filter(|e| e.kind == CallEventKind::Input)
        .collect()
}

fn texts(played: &PlayedCall) -> Vec<&str> {
    played.talks.iter().map(|t| t.text.as_str()).collect()
}

#[tokio::test]
async fn a_call_is_answered_201_started_and_recorded() {
    let standin = standin();
    let receiver = Receiver::start().await;
    standin.set_default_callee(Callee::Busy);
    let more = json!({"machine_detection": "continue", "ringing_timer": 45, "length_timer": 300});
    let (status, answer) = create(&standin, &body(TO, &receiver, more)).await;
    assert_eq!(status, 201, "{answer}");
    let uuid = answer["uuid"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{uuid}");
    assert_eq!(answer["status"], "started");
    assert_eq!(answer["direction"], "outbound");
    let conversation = answer["conversation_uuid"].as_str().unwrap();
    let conversation = conversation.strip_prefix("CON-").unwrap();
    assert!(uuid::Uuid::parse_str(conversation).is_ok(), "{answer}");

    let calls = standin.wait_for_calls(1, WAIT).await;
    let call = &calls[0];
    assert_eq!(
        (call.uuid.as_str(), call.to.as_str(), call.from.as_str()),
        (uuid, TO, FROM)
    );
    assert_eq!(call.conversation_uuid, answer["conversation_uuid"]);
    assert_eq!(call.event_url, receiver.url("/events"));
    assert_eq!(call.event_method, "POST");
    assert_eq!(call.ringing_timer, Some(45));
    assert_eq!(call.length_timer, Some(300));
    assert!(!call.jti.is_empty());
    assert_eq!(call.started_at, call.at, "no rate set: not queued");
    assert_eq!(call.ncco_json, script(&receiver.url("/input")));
    let names: Vec<&str> = call.ncco.iter().map(Action::name).collect();
    assert_eq!(names, ["talk", "talk", "input"]);
    let Action::Talk(first) = &call.ncco[0] else {
        panic!("{:?}", call.ncco)
    };
    assert_eq!(
        (first.text.as_str(), first.loops, first.barge_in),
        (MESSAGE, 2, false)
    );
    assert!(first.is_french());
    let Action::Input(input) = &call.ncco[2] else {
        panic!("{:?}", call.ncco)
    };
    assert_eq!((input.max_digits, input.time_out), (1, 5));
    assert_eq!(
        input.event_url.as_deref(),
        Some(receiver.url("/input").as_str())
    );
    assert_eq!(input.event_method, "POST");
    standin.wait_for_call_end(uuid, WAIT).await;
}

#[tokio::test]
async fn a_person_who_presses_1_is_heard_in_french_and_answered() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let played = call(
        &standin,
        &receiver,
        Callee::AnswersAndPresses(Some('1')),
        json!({}),
    )
    .await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(
        (played.digits.as_deref(), played.timed_out),
        (Some("1"), Some(false))
    );
    assert_eq!(texts(&played), [MESSAGE, PRESS_1, THANKS]);
    assert!(played.talks.iter().all(|t| t.is_french()));
    assert!(played.talks[1].barge_in);
    assert_eq!(played.actions, ["talk", "talk", "input", "talk"]);
    assert_eq!(
        played.answers,
        [json!([{"action": "talk", "text": THANKS, "language": "fr-FR"}])]
    );
    // (14 × 2 + 9 + 7) words at 150 a minute: 17.6 s.
    assert_eq!(played.duration, Some(18));

    let events = standin.events_of(&played.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "completed"]
    );
    assert!(events.iter().all(|e| e.answered_status
        == Some(if e.kind == CallEventKind::Input {
            200
        } else {
            204
        })));
    for event in events.iter().filter(|e| e.kind == CallEventKind::Event) {
        let body = &event.body;
        assert_eq!(
            (&body["uuid"], &body["direction"]),
            (&json!(played.uuid), &json!("outbound"))
        );
        assert_eq!((&body["from"], &body["to"]), (&json!(FROM), &json!(TO)));
        assert!(
            body["conversation_uuid"]
                .as_str()
                .unwrap()
                .starts_with("CON-")
        );
        let timestamp = body["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
        assert_eq!(event.url, receiver.url("/events"));
    }
    let completed = &events.last().unwrap().body;
    assert_eq!(completed["duration"], "18");
    assert_eq!(
        (&completed["rate"], &completed["price"]),
        (&json!("0.01400000"), &json!("0.00420000"))
    );
    let start =
        chrono::DateTime::parse_from_rfc3339(completed["start_time"].as_str().unwrap()).unwrap();
    let end =
        chrono::DateTime::parse_from_rfc3339(completed["end_time"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_seconds(), 18);

    let input = inputs(&events);
    assert_eq!(input.len(), 1);
    assert_eq!(input[0].url, receiver.url("/input"));
    let body = &input[0].body;
    assert_eq!(body["dtmf"], json!({"digits": "1", "timed_out": false}));
    assert_eq!(
        (&body["uuid"], &body["conversation_uuid"]),
        (&json!(played.uuid), &events[0].body["conversation_uuid"])
    );
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    // What Tocsin received: all signed, in this order.
    let seen = receiver.seen();
    assert!(seen.iter().all(|s| s.signed), "{seen:?}");
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/events", "/events", "/events", "/input", "/events"]
    );
    assert_eq!(seen[3].body["dtmf"]["digits"], "1");
}

#[tokio::test]
async fn a_person_who_presses_nothing_times_out_with_no_digits() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let played = call(
        &standin,
        &receiver,
        Callee::AnswersAndPresses(None),
        json!({}),
    )
    .await;
    assert_eq!(
        (played.digits.as_deref(), played.timed_out),
        (Some(""), Some(true))
    );
    assert_eq!(texts(&played), [MESSAGE, PRESS_1, NOT_CONFIRMED]);
    // (28 + 9 + 8) words, 18 s, and the input's 5 s.
    assert_eq!(played.duration, Some(23));
    let events = standin.events_of(&played.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "completed"]
    );
    assert_eq!(
        inputs(&events)[0].body["dtmf"],
        json!({"digits": "", "timed_out": true})
    );
}

#[tokio::test]
async fn an_input_without_its_own_url_posts_to_event_url_and_an_empty_answer_goes_on() {
    let standin = standin();
    let receiver = Receiver::start().await;
    // maxDigits 4: one key, then Vonage waits timeOut (default 3 s) for more.
    let ncco = json!([
        {"action": "record", "eventUrl": [receiver.url("/events")]},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 4}},
        {"action": "input", "type": ["dtmf"], "eventUrl": [receiver.url("/input-empty")]},
        {"action": "talk", "text": NOT_CONFIRMED, "loop": 3},
    ]);
    let played = call(
        &standin,
        &receiver,
        Callee::AnswersAndPresses(Some('7')),
        json!({"ncco": ncco}),
    )
    .await;
    assert_eq!(played.actions, ["record", "input", "input", "talk"]);
    let events = standin.events_of(&played.uuid);
    let posted: Vec<(&str, &Value)> = inputs(&events)
        .iter()
        .map(|e| (e.url.as_str(), &e.body["dtmf"]))
        .collect();
    let (events_url, empty_url) = (receiver.url("/events"), receiver.url("/input-empty"));
    assert_eq!(
        posted,
        [
            (
                events_url.as_str(),
                &json!({"digits": "7", "timed_out": true})
            ),
            (
                empty_url.as_str(),
                &json!({"digits": "", "timed_out": true})
            ),
        ]
    );
    assert!(
        played.answers.is_empty(),
        "204 is no NCCO: the call goes on"
    );
    assert_eq!(played.talks[0].language, None);
    // 3 s + 3 s of inputs, 8 words × 3.
    assert_eq!(played.duration, Some(16));
}

#[tokio::test]
async fn a_hang_up_mid_message_posts_no_input_and_lasts_what_was_scripted() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let played = call(
        &standin,
        &receiver,
        Callee::HangsUpAfter(Duration::from_secs(3)),
        json!({}),
    )
    .await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(played.duration, Some(3));
    assert_eq!(texts(&played), [MESSAGE]);
    assert_eq!(played.digits, None);
    let events = standin.events_of(&played.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "completed"]
    );
    assert!(inputs(&events).is_empty());
    assert_eq!(events.last().unwrap().body["duration"], "3");
}

#[tokio::test]
async fn answering_machines_get_the_whole_message_and_post_no_input() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let machine = Callee::AnsweringMachine;

    let detected = call(
        &standin,
        &receiver,
        machine,
        json!({"machine_detection": "continue"}),
    )
    .await;
    let events = standin.events_of(&detected.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "machine", "completed"]
    );
    assert_eq!(events[3].body["sub_state"], "beep_start");
    assert!(inputs(&events).is_empty());
    assert_eq!(texts(&detected), [MESSAGE, PRESS_1]);
    assert_eq!(detected.inputs.len(), 1);
    assert_eq!(detected.digits, None);
    // 37 words, 14.8 s, and the input's 5 s of silence.
    assert_eq!(detected.duration, Some(20));
    assert_eq!(events[4].body["duration"], "20");

    let hung_up = call(
        &standin,
        &receiver,
        machine,
        json!({"machine_detection": "hangup"}),
    )
    .await;
    let events = standin.events_of(&hung_up.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "machine", "completed"]
    );
    assert!(hung_up.talks.is_empty());
    assert_eq!(hung_up.duration, Some(1));

    let undetected = call(&standin, &receiver, machine, json!({})).await;
    let events = standin.events_of(&undetected.uuid);
    assert_eq!(
        statuses(&events),
        ["started", "ringing", "answered", "completed"]
    );
    assert!(inputs(&events).is_empty());
    assert_eq!(undetected.duration, Some(20));
}

#[tokio::test]
async fn no_answer_busy_and_failed_are_never_answered() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let cases = [
        (Callee::NoAnswer, CallStatus::Unanswered, "unanswered"),
        (Callee::Busy, CallStatus::Busy, "busy"),
        (Callee::Fails, CallStatus::Failed, "failed"),
    ];
    for (callee, status, name) in cases {
        let played = call(&standin, &receiver, callee, json!({})).await;
        assert_eq!(played.status, status);
        assert!(status.is_final());
        assert!(played.talks.is_empty() && played.actions.is_empty());
        assert_eq!(played.duration, Some(0));
        let events = standin.events_of(&played.uuid);
        assert_eq!(statuses(&events), ["started", "ringing", name]);
        assert_eq!(events[2].body["duration"], "0");
        assert!(inputs(&events).is_empty());
    }
}

#[tokio::test]
async fn a_call_without_a_valid_application_jwt_is_refused_401() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let body = body(TO, &receiver, json!({}));
    let now = chrono::Utc::now().timestamp();
    let other_keys = generate_keys();
    let hs256 = {
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &key).unwrap()
    };
    let with = |change: Value| {
        let mut claims = claims();
        claims
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        claims.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        format!("Bearer {}", jwt_with(&KEYS.private_pem, &claims))
    };
    let cases = [
        None,
        Some(jwt()),
        Some(format!(
            "Bearer {}",
            jwt_with(&other_keys.private_pem, &claims())
        )),
        Some(format!("Bearer {hs256}")),
        Some(with(json!({"exp": now - 10}))),
        Some(with(json!({"exp": null}))),
        Some(with(
            json!({"application_id": "bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab"}),
        )),
        Some(with(json!({"jti": null}))),
        Some(with(json!({"iat": null}))),
        Some("Bearer not.a.jwt".to_owned()),
    ];
    for authorization in &cases {
        let (status, answer) = create_as(&standin, authorization.as_deref(), &body).await;
        assert_eq!(status, 401, "{authorization:?}: {answer}");
        assert_eq!(
            answer["type"],
            "https://developer.nexmo.com/api-errors#unauthorized"
        );
        assert_eq!(answer["title"], "Unauthorized");
        assert!(answer["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert!(standin.calls().is_empty());
    assert!(receiver.seen().is_empty());
    assert_eq!(standin.request_count(), cases.len());
}

#[tokio::test]
async fn bad_bodies_are_refused_400_naming_the_parameter() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let good = body(TO, &receiver, json!({}));
    let without = |name: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(name);
        body
    };
    let with = |more: Value| body(TO, &receiver, more);
    let talk_input = |dtmf: Value| {
        let input = json!({"action": "input", "type": ["dtmf"], "dtmf": dtmf});
        json!([{"action": "talk", "text": MESSAGE}, input])
    };
    let cases: Vec<(Value, &str)> = vec![
        (without("to"), "to"),
        (without("from"), "from"),
        (without("ncco"), "ncco"),
        (without("event_url"), "event_url"),
        (body("+33329841201", &receiver, json!({})), "to[0]"),
        (body("0329841201", &receiver, json!({})), "to[0]"),
        (
            with(json!({"to": [{"type": "phone", "number": TO}, {"type": "phone", "number": TO}]})),
            "to",
        ),
        (
            with(json!({"to": [{"type": "sip", "uri": "sip:a@b"}]})),
            "to[0]",
        ),
        (
            with(json!({"answer_url": ["https://tocsin.example/answer"]})),
            "answer_url",
        ),
        (
            with(json!({"event_url": "https://tocsin.example/events"})),
            "event_url",
        ),
        (with(json!({"event_method": "GET"})), "event_method"),
        (
            with(json!({"machine_detection": "detect"})),
            "machine_detection",
        ),
        (with(json!({"ringing_timer": 0})), "ringing_timer"),
        (with(json!({"length_timer": 7201})), "length_timer"),
        (with(json!({"ncco": []})), "ncco"),
        (with(json!({"ncco": [{"text": MESSAGE}]})), "ncco[0].action"),
        (with(json!({"ncco": [{"action": "talk"}]})), "ncco[0].text"),
        (
            with(json!({"ncco": [{"action": "talk", "text": MESSAGE, "loop": "2"}]})),
            "ncco[0].loop",
        ),
        (
            with(json!({"ncco": talk_input(json!({"timeOut": 11}))})),
            "ncco[1].dtmf.timeOut",
        ),
        (
            with(json!({"ncco": talk_input(json!({"maxDigits": 0}))})),
            "ncco[1].dtmf.maxDigits",
        ),
        (
            with(json!({"ncco": [{"action": "input", "type": ["keys"]}]})),
            "ncco[0].type",
        ),
        (
            with(json!({"ncco": [{"action": "input", "type": ["dtmf"], "eventUrl": "/ack"}]})),
            "ncco[0].eventUrl",
        ),
    ];
    for (body, name) in &cases {
        let (status, answer) = create(&standin, body).await;
        assert_eq!(status, 400, "{name}: {answer}");
        assert_eq!(
            answer["type"],
            "https://developer.nexmo.com/api-errors#validation"
        );
        assert_eq!(answer["title"], "Bad Request");
        let names: Vec<&str> = answer["invalid_parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [*name], "{answer}");
        assert!(
            answer["invalid_parameters"][0]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    // Several faults are listed together.
    let mut two = without("to");
    two.as_object_mut().unwrap().remove("from");
    let (status, answer) = create(&standin, &two).await;
    assert_eq!(
        (
            status,
            answer["invalid_parameters"].as_array().unwrap().len()
        ),
        (400, 2)
    );
    // A body that is not JSON.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/calls", standin.base_url()))
        .header("authorization", format!("Bearer {}", jwt()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("to=33329841201")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    assert!(standin.calls().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.seen().is_empty());
}

#[tokio::test]
async fn forged_posts_are_refused_by_a_receiver_that_checks() {
    let standin = standin();
    let receiver = Receiver::start().await;
    let played = call(&standin, &receiver, Callee::default(), json!({})).await;
    let events = standin.events_of(&played.uuid);
    let before = receiver.seen().len();
    for event in [&events[0], inputs(&events)[0]] {
        assert_eq!(standin.post_forged(&event.url, &event.body).await, 401);
    }
    let seen = receiver.seen();
    assert_eq!(seen.len(), before + 2);
    assert!(seen[before..].iter().all(|s| !s.signed));
    // The genuine requests, same bodies and URLs, were taken: only the secret differs.
    assert!(seen[..before].iter().all(|s| s.signed));
}

#[tokio::test]
async fn public_urls_are_posted_to_the_local_receiver_unchanged() {
    let standin = standin();
    let receiver = Receiver::start().await;
    standin.route_public_url("https://alertes.example.fr/", &receiver.base);
    let mut body = body(
        TO,
        &receiver,
        json!({"event_url": ["https://alertes.example.fr/events"]}),
    );
    body["ncco"] = script("https://alertes.example.fr/input?d=dlv_1");
    let (status, answer) = create(&standin, &body).await;
    assert_eq!(status, 201, "{answer}");
    let played = standin
        .wait_for_call_end(answer["uuid"].as_str().unwrap(), WAIT)
        .await;
    assert_eq!(played.digits.as_deref(), Some("1"));
    assert_eq!(texts(&played).last(), Some(&THANKS));
    let events = standin.events_of(&played.uuid);
    assert!(
        events
            .iter()
            .all(|e| e.url.starts_with("https://alertes.example.fr/"))
    );
    assert_eq!(
        inputs(&events)[0].url,
        "https://alertes.example.fr/input?d=dlv_1"
    );
    let seen = receiver.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.signed));
    assert_eq!(
        standin
            .post_forged("https://alertes.example.fr/events", &events[0].body)
            .await,
        401
    );
}

#[tokio::test]
async fn calls_over_the_rate_are_queued_not_refused() {
    let standin = standin();
    let receiver = Receiver::start().await;
    standin.set_default_callee(Callee::Busy);
    standin.set_calls_per_second(Some(10.0));
    let started = Instant::now();
    for _ in 0..3 {
        let (status, answer) = create(&standin, &body(TO, &receiver, json!({}))).await;
        assert_eq!(status, 201, "{answer}");
    }
    let calls = standin.wait_for_calls(3, WAIT).await;
    for pair in calls.windows(2) {
        let gap = pair[1].started_at - pair[0].started_at;
        assert!(gap >= Duration::from_millis(100), "{gap:?}");
    }
    for call in &calls {
        standin.wait_for_call_end(&call.uuid, WAIT).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(standin.played_calls().len(), 3);
    standin.reset_calls();
    assert!(standin.calls().is_empty() && standin.events().is_empty());
}
