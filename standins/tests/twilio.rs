//! The Twilio stand-in answers as the reference documents (sms-providers.md §2), scripts
//! failures, and calls back signed as Twilio does.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::Request, http::Uri};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::Value;
use tocsin_standins::twilio::{TwilioStandin, post_status_callback, sign};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// POSTs a form to the stand-in's Messages endpoint as `user:password`; returns the status and
/// the JSON body.
async fn create(
    standin: &TwilioStandin,
    auth: (&str, &str),
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let response = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{SID}/Messages.json",
            standin.base_url()
        ))
        .header("authorization", basic(auth.0, auth.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

const GOOD: [(&str, &str); 3] = [
    ("To", "+33612345678"),
    ("From", "VilleDeX"),
    ("Body", "Crue : évitez les quais"),
];

#[tokio::test]
async fn a_valid_send_is_created_and_recorded() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let mut fields = GOOD.to_vec();
    fields.push(("StatusCallback", "https://tocsin.example/cb/twilio/t0k3n"));
    fields.push(("ValidityPeriod", "600"));
    let (status, resource) = create(&standin, (SID, TOKEN), &fields).await;
    assert_eq!(status, 201, "{resource}");
    let sid = resource["sid"].as_str().unwrap();
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(resource["status"], "queued");
    assert_eq!(resource["to"], "+33612345678");
    assert_eq!(resource["from"], "VilleDeX");
    assert_eq!(resource["num_segments"], "1");
    assert_eq!(resource["error_code"], Value::Null);
    assert_eq!(
        resource["uri"],
        format!("/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
    );

    let received = standin.received();
    assert_eq!(received.len(), 1);
    let sms = &received[0];
    assert_eq!(sms.sid, sid);
    assert_eq!(sms.to, "+33612345678");
    assert_eq!(sms.from.as_deref(), Some("VilleDeX"));
    assert_eq!(sms.messaging_service_sid, None);
    assert_eq!(sms.body, "Crue : évitez les quais");
    assert_eq!(
        sms.status_callback.as_deref(),
        Some("https://tocsin.example/cb/twilio/t0k3n")
    );
    assert_eq!(sms.validity_period, Some(600));
}

#[tokio::test]
async fn a_messaging_service_send_is_accepted_without_from() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let fields = [
        ("To", "+33612345678"),
        ("MessagingServiceSid", SERVICE),
        ("Body", "x"),
    ];
    let (status, resource) = create(&standin, (SID, TOKEN), &fields).await;
    assert_eq!(status, 201);
    assert_eq!(resource["status"], "accepted");
    assert_eq!(resource["messaging_service_sid"], SERVICE);
    assert_eq!(resource["from"], Value::Null);
}

#[tokio::test]
async fn wrong_credentials_get_20003_and_api_keys_work_once_allowed() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let (status, body) = create(&standin, (SID, "wrong"), &GOOD).await;
    assert_eq!((status, body["code"].as_u64()), (401, Some(20003)));
    assert_eq!(body["status"], 401);
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );

    let key = "SKfedcba9876543210fedcba9876543210";
    let (status, _) = create(&standin, (key, "s3cret"), &GOOD).await;
    assert_eq!(status, 401);
    standin.allow_api_key(key, "s3cret");
    let (status, _) = create(&standin, (key, "s3cret"), &GOOD).await;
    assert_eq!(status, 201);
    assert!(standin.received().len() == 1);
}

#[tokio::test]
async fn bad_forms_get_twilio_s_codes() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let cases: [(&[(&str, &str)], u64); 9] = [
        (&[("From", "VilleDeX"), ("Body", "x")], 21604),
        (
            &[("To", "0612345678"), ("From", "VilleDeX"), ("Body", "x")],
            21211,
        ),
        (&[("To", "+33612345678"), ("Body", "x")], 21603),
        (
            &[
                ("To", "+33612345678"),
                ("From", "VilleDeX"),
                ("MessagingServiceSid", SERVICE),
                ("Body", "x"),
            ],
            21603,
        ),
        (
            &[
                ("To", "+33612345678"),
                ("From", "Ville-De-X!"),
                ("Body", "x"),
            ],
            21212,
        ),
        (
            &[
                ("To", "+33612345678"),
                ("MessagingServiceSid", "MG1"),
                ("Body", "x"),
            ],
            21701,
        ),
        (&[("To", "+33612345678"), ("From", "VilleDeX")], 21602),
        (
            &[
                ("To", "+33612345678"),
                ("From", "VilleDeX"),
                ("Body", "x"),
                ("ValidityPeriod", "36001"),
            ],
            21624,
        ),
        (
            &[
                ("To", "+33612345678"),
                ("From", "VilleDeX"),
                ("Body", "x"),
                ("StatusCallback", "https://my_host.example/cb"),
            ],
            21609,
        ),
    ];
    for (fields, code) in cases {
        let (status, body) = create(&standin, (SID, TOKEN), fields).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (400, Some(code)),
            "{fields:?}"
        );
    }
    let long = "x".repeat(1601);
    let fields = [
        ("To", "+33612345678"),
        ("From", "VilleDeX"),
        ("Body", &long),
    ];
    let (status, body) = create(&standin, (SID, TOKEN), &fields).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(21617)));

    // JSON is not a form: Twilio finds no `To`.
    let response = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{SID}/Messages.json",
            standin.base_url()
        ))
        .header("authorization", basic(SID, TOKEN))
        .json(&serde_json::json!({"To": "+33612345678", "From": "VilleDeX", "Body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 21604);
    assert!(standin.received().is_empty());
    assert_eq!(standin.request_count(), 11);
}

#[tokio::test]
async fn another_account_s_path_is_not_found() {
    let standin = TwilioStandin::start(SID, TOKEN);
    let response = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json",
            standin.base_url()
        ))
        .header("authorization", basic(SID, TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("To=%2B33612345678&From=VilleDeX&Body=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn scripted_failures_last_as_long_as_asked() {
    let standin = TwilioStandin::start(SID, TOKEN);
    standin.fail_recipient("33612345678", 429, 20429, Some(2));
    for _ in 0..2 {
        let (status, body) = create(&standin, (SID, TOKEN), &GOOD).await;
        assert_eq!((status, body["code"].as_u64()), (429, Some(20429)));
    }
    assert_eq!(create(&standin, (SID, TOKEN), &GOOD).await.0, 201);

    standin.fail_recipient("+33612345678", 400, 21211, None);
    for _ in 0..3 {
        let (status, body) = create(&standin, (SID, TOKEN), &GOOD).await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(21211)));
        // Twilio echoes the number; the adapter must mask it.
        assert_eq!(
            body["message"],
            "The 'To' number +33612345678 is not a valid phone number."
        );
    }
    standin.accept_recipient("+33612345678");
    assert_eq!(create(&standin, (SID, TOKEN), &GOOD).await.0, 201);
    assert_eq!(standin.received().len(), 2);
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_get_20429() {
    let standin = Arc::new(TwilioStandin::start(SID, TOKEN));
    standin.set_concurrency_limit(2);
    standin.set_delay(Duration::from_millis(200));
    let sends: Vec<_> = (0..4)
        .map(|_| {
            let standin = standin.clone();
            tokio::spawn(async move { create(&standin, (SID, TOKEN), &GOOD).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        let (status, body) = send.await.unwrap();
        if status == 429 {
            assert_eq!(body["code"], 20429);
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, [201, 201, 429, 429]);
    assert_eq!(standin.received().len(), 2);
}

#[test]
fn sign_reproduces_the_reference_test_vector() {
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    .into_iter()
    .rev()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        sign(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params
        ),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
}

/// One callback as a receiver saw it.
#[derive(Debug, Clone)]
struct Called {
    uri: Uri,
    signature: String,
    content_type: String,
    body: Bytes,
}

#[tokio::test]
async fn status_callbacks_are_form_posts_signed_over_url_and_params() {
    let calls = Arc::new(Mutex::new(Vec::<Called>::new()));
    let app = Router::new().fallback({
        let calls = calls.clone();
        move |request: Request| {
            let calls = calls.clone();
            async move {
                let (parts, body) = request.into_parts();
                let header = |name: &str| parts.headers[name].to_str().unwrap().to_owned();
                let body = axum::body::to_bytes(body, 1 << 16).await.unwrap();
                calls.lock().unwrap().push(Called {
                    uri: parts.uri.clone(),
                    signature: header("x-twilio-signature"),
                    content_type: header("content-type"),
                    body,
                });
                ""
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let standin = TwilioStandin::start(SID, TOKEN);
    let callback_url = format!("{receiver}/cb/twilio/status?tenant=bras");
    let fields = [
        ("To", "+33612345678"),
        ("MessagingServiceSid", SERVICE),
        ("Body", "x"),
        ("StatusCallback", &callback_url),
    ];
    assert_eq!(create(&standin, (SID, TOKEN), &fields).await.0, 201);
    let sms = standin.received().remove(0);
    let answered = standin
        .send_status_callback(&sms, "undelivered", Some(30003))
        .await
        .unwrap();
    assert_eq!(answered, 200);

    let called = calls.lock().unwrap().remove(0);
    assert_eq!(called.uri.path(), "/cb/twilio/status");
    assert_eq!(called.uri.query(), Some("tenant=bras"));
    assert_eq!(called.content_type, "application/x-www-form-urlencoded");
    let params: Vec<(String, String)> = form_urlencoded::parse(&called.body).into_owned().collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("MessageSid"), Some(sms.sid.as_str()));
    assert_eq!(get("MessageStatus"), Some("undelivered"));
    assert_eq!(get("ErrorCode"), Some("30003"));
    assert_eq!(get("AccountSid"), Some(SID));
    assert_eq!(get("MessagingServiceSid"), Some(SERVICE));
    assert_eq!(get("RawDlrDoneDate").map(str::len), Some(10));
    assert_eq!(called.signature, sign(TOKEN, &callback_url, &params));

    // The free function signs whatever it is given.
    let params = vec![("MessageSid".to_owned(), "SM1".to_owned())];
    let answered = post_status_callback(&callback_url, "other-token", &params)
        .await
        .unwrap();
    assert_eq!(answered, 200);
    let called = calls.lock().unwrap().remove(0);
    assert_eq!(
        called.signature,
        sign("other-token", &callback_url, &params)
    );
    assert_ne!(called.signature, sign(TOKEN, &callback_url, &params));
}

// The Twilio adapter against the stand-in: each checks the other's reading of the reference.

mod adapter {
    use std::sync::{Arc, Mutex};

    use axum::{Router, extract::Request};
    use tocsin_providers::{
        Callback, Message, MessageRef, Outcome, Provider, ReportStatus, RetryClass,
        sms::twilio::{TwilioConfig, TwilioSms, parse_status_callback, validate_signature},
    };
    use tocsin_standins::twilio::TwilioStandin;

    use super::{SERVICE, SID, TOKEN};

    const TO: &str = "+33612345678";

    fn adapter(standin: &TwilioStandin, tweak: impl FnOnce(&mut TwilioConfig)) -> TwilioSms {
        let mut config = TwilioConfig::new(SID, TOKEN, "VilleDeX");
        config.base_url = standin.base_url();
        tweak(&mut config);
        TwilioSms::new(config.validate().unwrap()).unwrap()
    }

    fn message(status_callback: Option<&str>) -> Message<'_> {
        Message {
            reference: "dlv_1",
            to: TO,
            text: "Crue : évitez les quais",
            status_callback,
            validity: Some(std::time::Duration::from_secs(900)),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_adapter_s_sends_are_accepted_and_recorded() {
        let standin = TwilioStandin::start(SID, TOKEN);
        let sms = adapter(&standin, |c| {
            c.from = None;
            c.messaging_service_sid = Some(SERVICE.into());
        });
        let outcome = sms.send(message(Some("https://tocsin.example/cb/t"))).await;
        let received = standin.received();
        assert_eq!(
            outcome,
            Outcome::Accepted {
                provider_message_id: Some(received[0].sid.clone())
            }
        );
        assert_eq!(received[0].to, TO);
        assert_eq!(received[0].messaging_service_sid.as_deref(), Some(SERVICE));
        assert_eq!(received[0].from, None);
        assert_eq!(received[0].body, "Crue : évitez les quais");
        assert_eq!(received[0].validity_period, Some(900));

        let key = "SKfedcba9876543210fedcba9876543210";
        standin.allow_api_key(key, "k3y-s3cret");
        let with_key = adapter(&standin, |c| {
            c.api_key_sid = Some(key.into());
            c.api_key_secret = Some("k3y-s3cret".to_owned().into());
        });
        assert!(matches!(
            with_key.send(message(None)).await,
            Outcome::Accepted { .. }
        ));
        let wrong = adapter(&standin, |c| c.auth_token = Some("nope".to_owned().into()));
        let Outcome::Failed { class, reason } = wrong.send(message(None)).await else {
            panic!("a wrong token was accepted");
        };
        assert_eq!(class, RetryClass::Permanent);
        assert!(
            reason.starts_with("twilio error 20003 (HTTP 401)"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn the_adapter_classifies_the_stand_in_s_refusals() {
        let standin = TwilioStandin::start(SID, TOKEN);
        let sms = adapter(&standin, |_| {});
        for (status, code, expected) in [
            (400, 21211, RetryClass::Permanent),
            (400, 21610, RetryClass::OptedOut),
            (429, 20429, RetryClass::RateLimited { retry_after: None }),
            (503, 20503, RetryClass::Transient { retry_after: None }),
        ] {
            standin.fail_recipient(TO, status, code, Some(1));
            let error = sms.submit(message(None)).await.unwrap_err();
            assert_eq!(error.retry_class(), expected, "{code}");
            assert_eq!(error.is_opted_out(), code == 21610, "{code}");
            let reason = error.to_string();
            assert!(!reason.contains("612345678"), "{reason}");
        }
        assert!(sms.submit(message(None)).await.is_ok());
    }

    #[tokio::test]
    async fn the_stand_in_s_signed_callbacks_pass_the_adapter_s_check() {
        // A receiver that keeps each callback whole: URL, headers, body.
        type Seen = (String, Vec<(String, String)>, Vec<u8>);
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback({
            let (seen, base) = (seen.clone(), base.clone());
            move |request: Request| {
                let (seen, base) = (seen.clone(), base.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    let headers = parts
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                        .collect();
                    let body = axum::body::to_bytes(body, 1 << 16).await.unwrap().to_vec();
                    let url = format!("{base}{}", parts.uri);
                    seen.lock().unwrap().push((url, headers, body));
                    ""
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let standin = TwilioStandin::start(SID, TOKEN);
        let sms = adapter(&standin, |_| {});
        let callback_url = format!("{base}/cb/twilio/status?tenant=bras");
        let outcome = sms.send(message(Some(&callback_url))).await;
        assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        let sent = standin.received().remove(0);
        assert_eq!(
            standin
                .send_status_callback(&sent, "undelivered", Some(30005))
                .await
                .unwrap(),
            200
        );
        assert_eq!(
            standin
                .send_status_callback(&sent, "delivered", None)
                .await
                .unwrap(),
            200
        );

        let seen = seen.lock().unwrap().clone();
        let (url, headers, body) = &seen[0];
        let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let signature = &headers
            .iter()
            .find(|(n, _)| n == "x-twilio-signature")
            .unwrap()
            .1;
        assert!(validate_signature(TOKEN, url, &params, signature));
        assert!(!validate_signature("other", url, &params, signature));
        let report = parse_status_callback(&params).unwrap();
        assert_eq!(report.message_sid, sent.sid);
        assert_eq!(report.error_code, Some(30005));

        let reports: Vec<_> = seen
            .iter()
            .map(|(url, headers, body)| {
                let callback = Callback {
                    url,
                    method: "POST",
                    headers,
                    body,
                };
                sms.reports(&callback).unwrap().remove(0)
            })
            .collect();
        assert_eq!(reports[0].message, MessageRef::ProviderId(sent.sid.clone()));
        assert!(
            matches!(&reports[0].status, ReportStatus::Failed { reason }
                if reason == "twilio ErrorCode 30005 (undelivered): unknown destination handset"),
            "{:?}",
            reports[0]
        );
        assert_eq!(reports[1].status, ReportStatus::Delivered);
    }
}
