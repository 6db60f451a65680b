//! The Twilio voice stand-in answers Calls.json as the reference documents (voice.md), plays
//! each scripted callee against a small receiver standing for Tocsin, and signs what it sends.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::Request,
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::Value;
use tocsin_standins::{
    twilio::{TwilioStandin, post_signed, sign},
    twilio_voice::{CallEvent, CallEventKind, CallStatus, Callee, PlayedCall, StatusEvent},
};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const FROM: &str = "+33937000000";
const TO: &str = "+33612345678";
const WAIT: Duration = Duration::from_secs(5);

/// 14 + 9 words in the <Gather>, 8 after it.
const GATHER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather input="dtmf" numDigits="1" timeout="5" action="ack?alert=alr_1" method="POST">
    <Say language="fr-FR" voice="Polly.Lea">Message de la mairie de Bras. Crue de l'Argens : évitez les quais bas.</Say>
    <Say language="fr-FR" voice="Polly.Lea">Tapez 1 pour confirmer la réception de ce message.</Say>
  </Gather>
  <Say language="fr-FR" voice="Polly.Lea">Nous n'avons pas reçu votre confirmation. Au revoir.</Say>
  <Hangup/>
</Response>"#;
/// 7 words.
const ACK: &str = r#"<Response><Say language="fr-FR" voice="Polly.Lea">Merci, votre réception est confirmée. Au revoir.</Say></Response>"#;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    params: Vec<(String, String)>,
    signed: bool,
    user_agent: String,
    at: Instant,
}

/// Tocsin's side: serves TwiML at `/twiml` (a <Gather> and French <Say>s), thanks at `/ack`, a
/// broken document at `/broken`, an English one at `/english`, takes callbacks at `/status`
/// (204), and refuses (403) what is not signed with [`TOKEN`] over `public` + the request URI.
struct Receiver {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// `public`: the name Twilio was given for it, when not its own address.
    async fn start(public: Option<&str>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let signed_base = public.unwrap_or(&base).to_owned();
        let app = Router::new().fallback({
            let seen = seen.clone();
            move |request: Request| receive(request, signed_base.clone(), seen.clone())
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

async fn receive(request: Request, signed_base: String, seen: Arc<Mutex<Vec<Seen>>>) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
    let url = format!("{signed_base}{}", parts.uri);
    type Params = Vec<(String, String)>;
    let (params, signed_params): (Params, Params) = if parts.method == Method::GET {
        let query = parts.uri.query().unwrap_or("").as_bytes();
        (form_urlencoded::parse(query).into_owned().collect(), vec![])
    } else {
        let form: Vec<_> = form_urlencoded::parse(&body).into_owned().collect();
        (form.clone(), form)
    };
    let headers: &HeaderMap = &parts.headers;
    let header = |name: &str| {
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        value.unwrap_or("").to_owned()
    };
    let signed = header("x-twilio-signature") == sign(TOKEN, &url, &signed_params);
    seen.lock().unwrap().push(Seen {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        params,
        signed,
        user_agent: header("user-agent"),
        at: Instant::now(),
    });
    if !signed {
        return StatusCode::FORBIDDEN.into_response();
    }
    let xml = |body: &'static str| ([("content-type", "text/xml")], body).into_response();
    match parts.uri.path() {
        "/twiml" => xml(GATHER),
        "/ack" => xml(ACK),
        "/broken" => xml("<Response><Say language=\"fr-FR\">Alerte</Response>"),
        "/english" => {
            xml("<Response><Say>Flood warning, keep away from the river.</Say></Response>")
        }
        "/status" => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// POSTs a form to Calls.json as `user:password`; the status and the JSON body.
async fn create_as(
    standin: &TwilioStandin,
    auth: (&str, &str),
    account: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let url = format!(
        "{}/2010-04-01/Accounts/{account}/Calls.json",
        standin.base_url()
    );
    let response = reqwest::Client::new()
        .post(url)
        .header("authorization", basic(auth.0, auth.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn create(standin: &TwilioStandin, fields: &[(&str, &str)]) -> (u16, Value) {
    create_as(standin, (SID, TOKEN), SID, fields).await
}

/// Places a call to `to` with every status event, its TwiML at `receiver`'s `twiml_path`, plus
/// `more` fields; waits for its end.
async fn call(
    standin: &TwilioStandin,
    receiver: &Receiver,
    to: &str,
    twiml_path: &str,
    more: &[(&str, &str)],
) -> PlayedCall {
    let (url, status) = (receiver.url(twiml_path), receiver.url("/status"));
    let mut fields = vec![
        ("To", to),
        ("From", FROM),
        ("Url", url.as_str()),
        ("StatusCallback", status.as_str()),
        ("StatusCallbackEvent", "initiated ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ];
    fields.extend_from_slice(more);
    let (code, resource) = create(standin, &fields).await;
    assert_eq!(code, 201, "{resource}");
    let sid = resource["sid"].as_str().unwrap();
    standin.wait_for_call_end(sid, WAIT).await
}

/// The `CallStatus` of each status callback, in order.
fn statuses(events: &[CallEvent]) -> Vec<String> {
    let callbacks = events.iter().filter(|e| e.kind == CallEventKind::Status);
    callbacks
        .map(|e| e.param("CallStatus").unwrap().to_owned())
        .collect()
}

fn last_status(events: &[CallEvent]) -> &CallEvent {
    let mut callbacks = events.iter().filter(|e| e.kind == CallEventKind::Status);
    callbacks.next_back().expect("a status callback")
}

#[tokio::test]
async fn a_call_is_queued_answered_201_and_recorded_with_twilio_s_defaults() {
    let standin = TwilioStandin::start(SID, TOKEN);
    standin.set_default_callee(Callee::Busy);
    let fields = [
        ("To", TO),
        ("From", FROM),
        ("Url", "https://tocsin.example/voice/twiml?d=dlv_1"),
        ("AsyncAmd", "true"),
    ];
    let (status, resource) = create(&standin, &fields).await;
    assert_eq!(status, 201, "{resource}");
    let sid = resource["sid"].as_str().unwrap();
    assert!(
        sid.len() == 34 && sid.starts_with("CA") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{sid}"
    );
    assert_eq!(resource["account_sid"], SID);
    assert_eq!(resource["status"], "queued");
    assert_eq!(resource["direction"], "outbound-api");
    assert_eq!(resource["api_version"], "2010-04-01");
    assert_eq!(
        (&resource["to"], &resource["from"]),
        (&TO.into(), &FROM.into())
    );
    assert_eq!(resource["queue_time"], "0");
    assert_eq!(
        resource["uri"],
        format!("/2010-04-01/Accounts/{SID}/Calls/{sid}.json")
    );
    let date = resource["date_created"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc2822(date).is_ok(), "{date}");

    let calls = standin.wait_for_calls(1, WAIT).await;
    let call = &calls[0];
    assert_eq!((call.sid.as_str(), call.to.as_str()), (sid, TO));
    assert_eq!(call.method, "POST");
    assert_eq!(call.status_callback_method, "POST");
    assert_eq!(call.events, [StatusEvent::Completed]);
    assert_eq!(call.timeout, 60);
    assert_eq!(call.machine_detection, None);
    assert_eq!(call.twiml, None);
    assert_eq!(call.started_at, call.at, "no rate set: not queued");
    // No StatusCallback: the call is played, nothing is posted.
    let played = standin.wait_for_call_end(sid, WAIT).await;
    assert_eq!(played.status, CallStatus::Busy);
    assert!(standin.call_events().is_empty());
}

#[tokio::test]
async fn bad_requests_get_twilio_s_codes_and_nothing_is_called() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let url = "https://tocsin.example/voice/twiml";
    let cases: &[(&[(&str, &str)], u64)] = &[
        (&[("From", FROM), ("Url", url)], 21201),
        (&[("To", "0612345678"), ("From", FROM), ("Url", url)], 21211),
        (&[("To", TO), ("Url", url)], 21213),
        (&[("To", TO), ("From", "MAIRIE"), ("Url", url)], 21210),
        (&[("To", TO), ("From", FROM)], 21205),
        (
            &[("To", TO), ("From", FROM), ("Url", "/voice/twiml")],
            21205,
        ),
        (
            &[
                ("To", TO),
                ("From", FROM),
                ("Url", url),
                ("Twiml", "<Response/>"),
            ],
            21205,
        ),
        (
            &[("To", TO), ("From", FROM), ("Url", url), ("Method", "PUT")],
            21209,
        ),
        (
            &[("To", TO), ("From", FROM), ("Url", url), ("Timeout", "0")],
            21208,
        ),
        (
            &[
                ("To", TO),
                ("From", FROM),
                ("Url", url),
                ("Timeout", "soon"),
            ],
            21208,
        ),
        (
            &[
                ("To", TO),
                ("From", FROM),
                ("Url", url),
                ("StatusCallbackEvent", "hung-up"),
            ],
            21626,
        ),
        (
            &[
                ("To", TO),
                ("From", FROM),
                ("Url", url),
                ("MachineDetection", "Yes"),
            ],
            21234,
        ),
    ];
    for (fields, code) in cases {
        let (status, body) = create(&standin, fields).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (400, Some(*code)),
            "{fields:?}: {body}"
        );
        assert_eq!(body["status"], 400);
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
    }

    let good = [("To", TO), ("From", FROM), ("Url", url)];
    let (status, body) = create_as(&standin, (SID, "wrong"), SID, &good).await;
    assert_eq!((status, body["code"].as_u64()), (401, Some(20003)));
    let other = "ACfedcba9876543210fedcba9876543210";
    let (status, body) = create_as(&standin, (SID, TOKEN), other, &good).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(20404)));
    // A number Twilio refuses (the Messages mechanism, shared).
    standin.fail_recipient(TO, 400, 21211, Some(1));
    let (status, body) = create(&standin, &good).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (400, Some(21211)),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains(TO));
    assert!(standin.calls().is_empty());

    let key = "SKfedcba9876543210fedcba9876543210";
    standin.allow_api_key(key, "s3cret");
    standin.set_default_callee(Callee::Busy);
    let (status, _) = create_as(&standin, (key, "s3cret"), SID, &good).await;
    assert_eq!(status, 201);
    assert_eq!(standin.calls().len(), 1);
}

#[tokio::test]
async fn a_person_who_presses_1_is_heard_in_french_and_acknowledged() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    let played = call(&standin, &receiver, TO, "/twiml", &[]).await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(played.digits.as_deref(), Some("1"));
    assert_eq!(played.answered_by, None, "no machine detection asked");
    assert_eq!(played.error_code, None);
    assert_eq!(
        played.documents,
        [receiver.url("/twiml"), receiver.url("/ack?alert=alr_1")]
    );
    let texts: Vec<&str> = played.said.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Message de la mairie de Bras. Crue de l'Argens : évitez les quais bas.",
            "Tapez 1 pour confirmer la réception de ce message.",
            "Merci, votre réception est confirmée. Au revoir.",
        ]
    );
    assert!(
        played
            .said
            .iter()
            .all(|s| s.is_french() && s.voice.as_deref() == Some("Polly.Lea"))
    );
    assert_eq!(played.said.iter().filter(|s| s.in_gather).count(), 2);
    let gather = &played.gathers[0];
    assert_eq!(
        (
            gather.input.as_deref(),
            gather.num_digits.as_deref(),
            gather.timeout.as_deref()
        ),
        (Some("dtmf"), Some("1"), Some("5"))
    );
    assert_eq!(gather.action.as_deref(), Some("ack?alert=alr_1"));
    assert_eq!(gather.method.as_deref(), Some("POST"));
    // (14 + 9 + 7) words at 150 a minute.
    assert_eq!(played.duration, Some(12));

    let events = standin.call_events_of(&played.sid);
    assert_eq!(
        statuses(&events),
        ["initiated", "ringing", "in-progress", "completed"]
    );
    let kinds: Vec<CallEventKind> = events.iter().map(|e| e.kind).collect();
    use CallEventKind::{Gather, Status, Twiml};
    assert_eq!(kinds, [Status, Status, Status, Twiml, Gather, Status]);
    assert!(
        events
            .iter()
            .all(|e| matches!(e.answered_status, Some(200 | 204))),
        "{events:?}"
    );
    for (n, callback) in events.iter().filter(|e| e.kind == Status).enumerate() {
        assert_eq!(
            callback.param("SequenceNumber"),
            Some(n.to_string().as_str())
        );
        assert_eq!(
            callback.param("CallbackSource"),
            Some("call-progress-events")
        );
        assert_eq!(callback.param("Direction"), Some("outbound-api"));
        assert_eq!(
            (callback.param("Called"), callback.param("Caller")),
            (Some(TO), Some(FROM))
        );
        assert_eq!(callback.param("AccountSid"), Some(SID));
        let timestamp = callback.param("Timestamp").unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc2822(timestamp).is_ok(),
            "{timestamp}"
        );
    }
    let completed = last_status(&events);
    assert_eq!(completed.param("CallDuration"), Some("12"));
    assert_eq!(completed.param("AnsweredBy"), None);
    let twiml = &events[3];
    assert_eq!(twiml.param("CallStatus"), Some("in-progress"));
    assert_eq!(twiml.param("CallSid"), Some(played.sid.as_str()));
    let gathered = &events[4];
    assert_eq!(gathered.url, receiver.url("/ack?alert=alr_1"));
    assert_eq!(
        (gathered.param("Digits"), gathered.param("FinishedOnKey")),
        (Some("1"), Some(""))
    );

    // Tocsin's side saw the same, every request signed, as TwilioProxy.
    let seen = receiver.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/status", "/status", "/status", "/twiml", "/ack", "/status"]
    );
    assert!(
        seen.iter().all(|s| s.signed && s.method == Method::POST),
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| s.user_agent == "TwilioProxy/1.1"));
    let ack = &seen[4].params;
    for name in [
        "AccountSid",
        "CallSid",
        "From",
        "To",
        "CallStatus",
        "Direction",
        "ApiVersion",
    ] {
        assert!(
            ack.iter().any(|(n, _)| n == name),
            "{name} missing from {ack:?}"
        );
    }
}

#[tokio::test]
async fn a_person_who_presses_nothing_hears_what_follows_the_gather() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    standin.script_callee(TO, Callee::AnswersAndPresses(None));
    let played = call(&standin, &receiver, TO, "/twiml", &[]).await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(played.digits, None);
    assert_eq!(played.verbs, ["Gather", "Say", "Hangup"]);
    let last = played.said.last().unwrap();
    assert_eq!(
        last.text,
        "Nous n'avons pas reçu votre confirmation. Au revoir."
    );
    assert!(!last.in_gather);
    // (14 + 9) words, the Gather's 5 s, then 8 words: 17.4 s.
    assert_eq!(played.duration, Some(18));
    let events = standin.call_events_of(&played.sid);
    assert!(events.iter().all(|e| e.kind != CallEventKind::Gather));
    assert_eq!(last_status(&events).param("CallDuration"), Some("18"));
}

#[tokio::test]
async fn a_hang_up_mid_message_posts_no_digits_and_lasts_what_was_scripted() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    standin.script_callee(TO, Callee::HangsUpAfter(Duration::from_secs(3)));
    let played = call(&standin, &receiver, TO, "/twiml", &[]).await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(played.digits, None);
    assert_eq!(played.duration, Some(3));
    assert_eq!(
        played.said.len(),
        1,
        "gone during the first sentence: {:?}",
        played.said
    );
    let events = standin.call_events_of(&played.sid);
    assert_eq!(
        statuses(&events),
        ["initiated", "ringing", "in-progress", "completed"]
    );
    assert_eq!(last_status(&events).param("CallDuration"), Some("3"));
    assert!(events.iter().all(|e| e.kind != CallEventKind::Gather));
}

#[tokio::test]
async fn answering_machines_are_told_from_people() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    let (machine, person) = ("+33612345601", "+33612345602");
    standin.script_callee(machine, Callee::AnsweringMachine);
    for (to, detection, expected) in [
        (machine, "DetectMessageEnd", "machine_end_beep"),
        (machine, "Enable", "machine_start"),
        (person, "DetectMessageEnd", "human"),
    ] {
        let more = [("MachineDetection", detection)];
        let played = call(&standin, &receiver, to, "/twiml", &more).await;
        assert_eq!(played.answered_by.as_deref(), Some(expected));
        let events = standin.call_events_of(&played.sid);
        let twiml = events
            .iter()
            .find(|e| e.kind == CallEventKind::Twiml)
            .unwrap();
        assert_eq!(twiml.param("AnsweredBy"), Some(expected));
        let completed = last_status(&events);
        assert_eq!(completed.param("AnsweredBy"), Some(expected));
        if to == machine {
            // The machine takes it all, presses nothing: the same 18 s as a silent person.
            assert_eq!(played.digits, None);
            assert_eq!(completed.param("CallDuration"), Some("18"));
        } else {
            assert_eq!(played.digits.as_deref(), Some("1"));
        }
    }
}

#[tokio::test]
async fn no_answer_busy_and_failed_calls_fetch_no_twiml() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    for (n, callee, expected) in [
        (
            1,
            Callee::NoAnswer,
            vec!["initiated", "ringing", "no-answer"],
        ),
        (2, Callee::Busy, vec!["initiated", "busy"]),
        (3, Callee::Fails, vec!["initiated", "failed"]),
    ] {
        let to = format!("+3361234560{n}");
        standin.script_callee(&to, callee);
        let played = call(&standin, &receiver, &to, "/twiml", &[("Timeout", "25")]).await;
        assert_eq!(played.status.as_str(), *expected.last().unwrap());
        assert!(played.status.is_final());
        assert_eq!(played.duration, Some(0));
        assert!(played.documents.is_empty() && played.said.is_empty());
        let events = standin.call_events_of(&played.sid);
        assert_eq!(statuses(&events), expected);
        assert!(events.iter().all(|e| e.kind == CallEventKind::Status));
        assert_eq!(last_status(&events).param("CallDuration"), Some("0"));
    }
    assert!(receiver.seen().iter().all(|s| s.path == "/status"));
}

#[tokio::test]
async fn broken_twiml_fails_the_call_with_12100_and_english_says_are_recorded_as_such() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    let played = call(&standin, &receiver, TO, "/broken", &[]).await;
    assert_eq!(played.status, CallStatus::Failed);
    assert_eq!(played.error_code, Some(12100));
    let events = standin.call_events_of(&played.sid);
    let completed = last_status(&events);
    assert_eq!(completed.param("CallStatus"), Some("failed"));
    assert_eq!(completed.param("ErrorCode"), Some("12100"));

    let played = call(&standin, &receiver, TO, "/english", &[]).await;
    assert_eq!(played.status, CallStatus::Completed);
    assert_eq!(played.said[0].language, None, "Twilio reads it in en-US");
    assert!(!played.said[0].is_french());
}

#[tokio::test]
async fn get_requests_and_inline_twiml_are_signed_over_the_public_url() {
    let public = "https://alertes.example.fr";
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(Some(public)).await;
    standin.route_public_url(public, &receiver.base);
    let (url, status) = (
        format!("{public}/twiml?d=dlv_1"),
        format!("{public}/status?t=x"),
    );
    let fields = [
        ("To", TO),
        ("From", FROM),
        ("Url", url.as_str()),
        ("Method", "GET"),
        ("StatusCallback", status.as_str()),
        ("StatusCallbackMethod", "GET"),
        ("StatusCallbackEvent", "answered completed"),
    ];
    let (code, resource) = create(&standin, &fields).await;
    assert_eq!(code, 201, "{resource}");
    let played = standin
        .wait_for_call_end(resource["sid"].as_str().unwrap(), WAIT)
        .await;
    assert_eq!(played.digits.as_deref(), Some("1"));
    assert_eq!(played.documents[1], format!("{public}/ack?alert=alr_1"));
    let seen = receiver.seen();
    let methods: Vec<(&Method, &str)> = seen.iter().map(|s| (&s.method, s.path.as_str())).collect();
    assert_eq!(
        methods,
        [
            (&Method::GET, "/status"),
            (&Method::GET, "/twiml"),
            (&Method::POST, "/ack"),
            (&Method::GET, "/status")
        ]
    );
    assert!(seen.iter().all(|s| s.signed), "{seen:?}");
    let query = &seen[1].params;
    assert!(
        query.contains(&("d".to_owned(), "dlv_1".to_owned())),
        "{query:?}"
    );
    assert!(query.contains(&("CallStatus".to_owned(), "in-progress".to_owned())));

    // Inline TwiML: nothing fetched; an absolute action is posted to.
    let twiml = format!(
        "<Response><Gather numDigits=\"1\" action=\"{public}/ack\"><Say language=\"fr-FR\">Tapez 1.</Say></Gather></Response>"
    );
    let fields = [("To", TO), ("From", FROM), ("Twiml", twiml.as_str())];
    let (code, resource) = create(&standin, &fields).await;
    assert_eq!(code, 201, "{resource}");
    let played = standin
        .wait_for_call_end(resource["sid"].as_str().unwrap(), WAIT)
        .await;
    assert_eq!(
        played.documents,
        ["inline".to_owned(), format!("{public}/ack")]
    );
    assert_eq!(played.digits.as_deref(), Some("1"));
    assert_eq!(played.said.len(), 2);
}

#[tokio::test]
async fn forged_callbacks_are_refused_by_a_receiver_that_checks() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    let played = call(&standin, &receiver, TO, "/twiml", &[]).await;
    let events = standin.call_events_of(&played.sid);
    let completed = last_status(&events);
    assert_eq!(completed.answered_status, Some(204));
    let forged = standin.post_forged(&completed.url, &completed.params).await;
    assert_eq!(forged.unwrap(), 403);
    let replayed = post_signed(&completed.url, &completed.url, TOKEN, &completed.params).await;
    assert_eq!(replayed.unwrap(), 204);
}

#[tokio::test]
async fn calls_over_the_rate_are_queued_not_refused() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let receiver = Receiver::start(None).await;
    standin.set_calls_per_second(Some(2.0));
    standin.set_default_callee(Callee::Busy);
    let status = receiver.url("/status");
    let fields = [
        ("To", TO),
        ("From", FROM),
        ("Url", "https://tocsin.example/twiml"),
        ("StatusCallback", status.as_str()),
        ("StatusCallbackEvent", "initiated"),
    ];
    let mut queue_times = Vec::new();
    for _ in 0..3 {
        let (code, resource) = create(&standin, &fields).await;
        assert_eq!(code, 201, "{resource}");
        let ms: u64 = resource["queue_time"].as_str().unwrap().parse().unwrap();
        queue_times.push(ms);
    }
    assert_eq!(queue_times[0], 0);
    assert!((300..=500).contains(&queue_times[1]), "{queue_times:?}");
    assert!((800..=1000).contains(&queue_times[2]), "{queue_times:?}");
    let calls = standin.wait_for_calls(3, WAIT).await;
    for pair in calls.windows(2) {
        let spacing = pair[1].started_at - pair[0].started_at;
        assert!(spacing >= Duration::from_millis(499), "{spacing:?}");
    }
    for call in &calls {
        standin.wait_for_call_end(&call.sid, WAIT).await;
    }
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3);
    for pair in seen.windows(2) {
        let spacing = pair[1].at - pair[0].at;
        assert!(
            spacing >= Duration::from_millis(400),
            "initiated {spacing:?} apart"
        );
    }
}

/// Counting, as the benchmark runs it: callees still play every call against Tocsin's side, but
/// only the acceptance times and the calls over are kept.
#[tokio::test]
async fn a_counting_stand_in_plays_every_call_and_keeps_only_times() {
    let standin = TwilioStandin::start_counting(SID, TOKEN);
    standin.set_ring_time(Duration::from_millis(300));
    let receiver = Receiver::start(None).await;
    let (url, status) = (receiver.url("/twiml"), receiver.url("/status"));
    let fields = [
        ("To", TO),
        ("From", FROM),
        ("Url", url.as_str()),
        ("StatusCallback", status.as_str()),
        (
            "StatusCallbackEvent",
            "initiated ringing answered completed",
        ),
    ];
    let before = std::time::SystemTime::now();
    for _ in 0..3 {
        let (code, resource) = create(&standin, &fields).await;
        assert_eq!(code, 201, "{resource}");
    }
    let started = Instant::now();
    while standin.ended_call_count() < 3 {
        assert!(started.elapsed() < WAIT, "calls not over");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let times = standin.call_times();
    assert_eq!(times.len(), 3);
    assert!(times[0] >= before && times.is_sorted(), "{times:?}");
    assert!(standin.calls().is_empty() && standin.played_calls().is_empty());
    assert!(standin.call_events().is_empty());
    // Each call: four status callbacks, the TwiML, the gather's action.
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3 * 6, "{seen:?}");
    assert!(seen.iter().all(|s| s.signed));
    let pressed = seen.iter().filter(|s| s.path.starts_with("/ack")).count();
    assert_eq!(pressed, 3);
    // Each callee answered (fetched its TwiML) after the ring time.
    let first_ringing = seen.iter().find(|s| s.path == "/status").unwrap().at;
    let first_twiml = seen.iter().find(|s| s.path == "/twiml").unwrap().at;
    assert!(first_twiml - first_ringing >= Duration::from_millis(300));
    standin.reset_calls();
    assert_eq!(
        (standin.call_times().len(), standin.ended_call_count()),
        (0, 0)
    );
}
