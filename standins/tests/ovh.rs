//! The OVH stand-in: its protocol checked with hand-signed requests, then Tocsin's OVH adapter
//! against it (signature, OVH's clock, refusals, receipts, citizens' SMS fetched).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::RawQuery, routing::get};
use serde_json::{Value, json};
use tocsin_providers::{
    Callback, Inbound, Message, MessageRef, Outcome, Provider, Report, ReportStatus, RetryClass,
    sms::ovh::{OvhConfig, OvhReceipt, OvhSms, PttStatus},
};
use tocsin_standins::ovh::{OvhDlr, OvhStandin, call_receipt_url, ovh_signature};

const AK: &str = "EXAMPLEappKey000";
const AS: &str = "EXAMPLEappSecret0000000000000000";
const CK: &str = "EXAMPLEconsumerKey00000000000000";
const SERVICE: &str = "sms-ab12345-1";
const TO: &str = "+33612345678";

fn standin() -> OvhStandin {
    OvhStandin::start(AK, AS, CK, SERVICE)
}

/// A signed `POST {base}/sms/{service}/jobs`, signed over `signed_url` and `signed_body` (by
/// default what is sent), at the stand-in's clock plus `skew`.
struct Post<'a> {
    service: &'a str,
    body: Value,
    secret: &'a str,
    application_key: &'a str,
    signed_url: Option<String>,
    signed_body: Option<Vec<u8>>,
    skew: i64,
}

impl<'a> Post<'a> {
    fn job(body: Value) -> Self {
        Post {
            service: SERVICE,
            body,
            secret: AS,
            application_key: AK,
            signed_url: None,
            signed_body: None,
            skew: 0,
        }
    }

    async fn send(self, standin: &OvhStandin) -> (u16, Value) {
        let url = format!("{}/sms/{}/jobs", standin.base_url(), self.service);
        let body = serde_json::to_vec(&self.body).unwrap();
        let timestamp = (standin.now() + self.skew).to_string();
        let signature = ovh_signature(
            self.secret,
            CK,
            "POST",
            self.signed_url.as_deref().unwrap_or(&url),
            self.signed_body.as_deref().unwrap_or(&body),
            &timestamp,
        );
        let response = reqwest::Client::new()
            .post(&url)
            .header("X-Ovh-Application", self.application_key)
            .header("X-Ovh-Consumer", CK)
            .header("X-Ovh-Timestamp", timestamp)
            .header("X-Ovh-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn alert(receivers: &[&str]) -> Value {
    json!({"message": "Alerte crue", "receivers": receivers, "sender": "VILLEDEX",
           "noStopClause": true, "priority": "high", "coding": "7bit", "charset": "UTF-8",
           "class": "phoneDisplay", "validityPeriod": 240, "tag": "dlv_42"})
}

#[tokio::test]
async fn auth_time_is_the_stand_in_s_clock_in_plain_unix_seconds() {
    let standin = standin();
    let url = format!("{}/auth/time", standin.base_url());
    let read = || async { reqwest::get(&url).await.unwrap().text().await.unwrap() };
    let now: i64 = read().await.trim().parse().unwrap();
    assert!((now - standin.now()).abs() <= 1);
    standin.set_clock_offset(-3600);
    let behind: i64 = read().await.trim().parse().unwrap();
    assert!((now - 3600 - behind).abs() <= 1);
    assert_eq!(standin.time_request_count(), 2);
}

#[tokio::test]
async fn a_signed_job_gets_the_sending_report_and_is_recorded() {
    let standin = standin();
    let (status, report) = Post::job(alert(&[TO, "+262692123456"]))
        .send(&standin)
        .await;
    assert_eq!(status, 200, "{report}");
    let ids = report["ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids[0].as_u64().unwrap() != ids[1].as_u64().unwrap());
    assert_eq!(report["validReceivers"], json!([TO, "+262692123456"]));
    assert_eq!(report["invalidReceivers"], json!([]));
    assert_eq!(report["totalCreditsRemoved"], 2);

    let received = standin.received();
    assert_eq!(received.len(), 2);
    let sms = &received[0];
    assert_eq!(sms.receiver, TO);
    assert_eq!(sms.id, ids[0].as_u64().unwrap());
    assert_eq!(
        (
            sms.message.as_str(),
            sms.sender.as_deref(),
            sms.tag.as_deref()
        ),
        ("Alerte crue", Some("VILLEDEX"), Some("dlv_42"))
    );
    assert!(sms.no_stop_clause && !sms.sender_for_response);
    assert_eq!(sms.priority.as_deref(), Some("high"));
    assert_eq!(sms.coding.as_deref(), Some("7bit"));
    assert_eq!(sms.validity_period, Some(240));
    assert_eq!(sms.service_name, SERVICE);
}

#[tokio::test]
async fn signatures_over_anything_else_than_what_was_sent_are_refused() {
    let standin = standin();
    let refused = json!({"message": "Invalid signature", "httpCode": "400 Bad Request",
                         "errorCode": "INVALID_SIGNATURE"});
    let cases = [
        Post {
            secret: "another-secret",
            ..Post::job(alert(&[TO]))
        },
        Post {
            signed_body: Some(b"{}".to_vec()),
            ..Post::job(alert(&[TO]))
        },
        Post {
            signed_url: Some(format!("https://eu.api.ovh.com/1.0/sms/{SERVICE}/jobs")),
            ..Post::job(alert(&[TO]))
        },
    ];
    for post in cases {
        assert_eq!(post.send(&standin).await, (400, refused.clone()));
    }
    assert!(standin.received().is_empty());
}

#[tokio::test]
async fn credentials_and_the_clock_are_checked_like_ovh() {
    let standin = standin();
    let wrong_key = Post {
        application_key: "unknown",
        ..Post::job(alert(&[TO]))
    };
    let (status, body) = wrong_key.send(&standin).await;
    assert_eq!((status, &body["errorCode"]), (403, &json!("INVALID_KEY")));

    let stale = Post {
        skew: -120,
        ..Post::job(alert(&[TO]))
    };
    let (status, body) = stale.send(&standin).await;
    assert_eq!(status, 400);
    assert_eq!(body["errorCode"], "QUERY_TIME_OUT");
    assert_eq!(body["message"], "Query out of time");

    let response = reqwest::Client::new()
        .post(format!("{}/sms/{SERVICE}/jobs", standin.base_url()))
        .json(&alert(&[TO]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(standin.received().is_empty());
}

#[tokio::test]
async fn unknown_services_and_bad_fields_are_refused() {
    let standin = standin();
    let other = Post {
        service: "sms-zz99999-9",
        ..Post::job(alert(&[TO]))
    };
    assert_eq!(other.send(&standin).await.0, 404);

    let mut empty = alert(&[TO]);
    empty["message"] = json!("");
    let mut unknown = alert(&[TO]);
    unknown["noStopClaus"] = json!(true);
    let mut priority = alert(&[TO]);
    priority["priority"] = json!("urgent");
    let mut both = alert(&[TO]);
    both["senderForResponse"] = json!(true);
    for body in [empty, unknown, priority, both, json!({"message": "x"})] {
        let (status, answer) = Post::job(body.clone()).send(&standin).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert!(standin.received().is_empty());
}

#[tokio::test]
async fn local_or_scripted_invalid_numbers_are_listed_as_invalid_receivers() {
    let standin = standin();
    standin.invalid_receiver("+33699999999");
    let (status, report) = Post::job(alert(&["0612345678", "+33699999999", TO]))
        .send(&standin)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        report["invalidReceivers"],
        json!(["0612345678", "+33699999999"])
    );
    assert_eq!(report["validReceivers"], json!([TO]));
    assert_eq!(report["ids"].as_array().unwrap().len(), 1);
    assert_eq!(standin.received().len(), 1);
}

#[tokio::test]
async fn scripted_failures_answer_their_status_then_stop() {
    let standin = standin();
    standin.fail_receiver(TO, 403, Some("NOT_GRANTED_CALL"), 2);
    for _ in 0..2 {
        let (status, body) = Post::job(alert(&[TO])).send(&standin).await;
        assert_eq!(status, 403);
        assert_eq!(body["errorCode"], "NOT_GRANTED_CALL");
    }
    assert_eq!(Post::job(alert(&[TO])).send(&standin).await.0, 200);

    standin.fail_receiver(TO, 503, None, 1);
    let (status, body) = Post::job(alert(&[TO])).send(&standin).await;
    assert_eq!(status, 503);
    assert_eq!(body.get("errorCode"), None);
    assert_eq!(standin.request_count(), 4);
}

/// A hand-signed call without a body to `{base}{path}`, signed as `signed_method` (by default
/// the method sent) over an empty body.
async fn call(
    standin: &OvhStandin,
    method: reqwest::Method,
    path: &str,
    signed_method: Option<&str>,
) -> (u16, Value) {
    let url = format!("{}{path}", standin.base_url());
    let timestamp = standin.now().to_string();
    let signature = ovh_signature(
        AS,
        CK,
        signed_method.unwrap_or(method.as_str()),
        &url,
        b"",
        &timestamp,
    );
    let response = reqwest::Client::new()
        .request(method, &url)
        .header("X-Ovh-Application", AK)
        .header("X-Ovh-Consumer", CK)
        .header("X-Ovh-Timestamp", timestamp)
        .header("X-Ovh-Signature", signature)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn received_sms_are_listed_read_and_deleted_by_signed_calls() {
    use reqwest::Method;
    let standin = standin();
    let first = standin.receive(TO, "STOP");
    let second = standin.receive("0033698765432", "ALERTE");
    assert!(second > first);
    assert_eq!(standin.incoming_count(), 2);

    let list = format!("/sms/{SERVICE}/incoming");
    assert_eq!(
        call(&standin, Method::GET, &list, None).await,
        (200, json!([first, second]))
    );
    let one = format!("{list}/{first}");
    let (status, sms) = call(&standin, Method::GET, &one, None).await;
    assert_eq!(status, 200, "{sms}");
    assert_eq!(
        (&sms["id"], &sms["sender"], &sms["message"]),
        (&json!(first), &json!(TO), &json!("STOP"))
    );
    assert_eq!((&sms["credits"], &sms["tag"]), (&json!(1), &json!("")));
    let created = sms["creationDatetime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert_eq!(standin.incoming_count(), 2, "reading leaves it");

    // A signature for another method is refused, and deletes nothing.
    let (status, body) = call(&standin, Method::DELETE, &one, Some("GET")).await;
    assert_eq!(
        (status, &body["errorCode"]),
        (400, &json!("INVALID_SIGNATURE"))
    );
    let unsigned = reqwest::Client::new()
        .delete(format!("{}{one}", standin.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!(standin.incoming_count(), 2);

    assert_eq!(
        call(&standin, Method::DELETE, &one, None).await,
        (200, Value::Null)
    );
    assert_eq!(standin.incoming_count(), 1);
    assert_eq!(call(&standin, Method::GET, &one, None).await.0, 404);
    assert_eq!(call(&standin, Method::DELETE, &one, None).await.0, 404);
    assert_eq!(
        call(&standin, Method::GET, &list, None).await,
        (200, json!([second]))
    );
    let other = "/sms/sms-zz99999-9/incoming";
    assert_eq!(call(&standin, Method::GET, other, None).await.0, 404);
    assert_eq!(standin.incoming_request_count(), 9);
    assert_eq!(standin.request_count(), 0, "no job was asked");
}

// Tocsin's adapter against the stand-in.

fn adapter(standin: &OvhStandin, tweak: impl FnOnce(&mut OvhConfig)) -> OvhSms {
    let mut config = OvhConfig::new(AK, AS, CK, SERVICE);
    config.base_url = standin.base_url();
    tweak(&mut config);
    OvhSms::new(config.validate().unwrap()).unwrap()
}

async fn send(sms: &OvhSms, text: &str) -> Outcome {
    let provider: &dyn Provider = sms;
    provider
        .send(Message {
            reference: "dlv_42",
            to: TO,
            text,
            validity: Some(Duration::from_secs(2 * 3600)),
            ..Default::default()
        })
        .await
}

#[tokio::test]
async fn the_adapter_s_signed_jobs_are_accepted() {
    let standin = standin();
    let sms = adapter(&standin, |c| c.sender = Some("VilleDeX".into()));
    let outcome = send(&sms, "Crue : hôpital fermé").await;
    let received = standin.received();
    assert_eq!(received.len(), 1, "{outcome:?}");
    let sms = &received[0];
    assert_eq!(
        outcome,
        Outcome::Accepted {
            provider_message_id: Some(sms.id.to_string())
        }
    );
    assert_eq!(sms.receiver, TO);
    assert_eq!(sms.sender.as_deref(), Some("VilleDeX"));
    assert!(sms.no_stop_clause);
    assert_eq!(sms.priority.as_deref(), Some("high"));
    assert_eq!(sms.coding.as_deref(), Some("8bit"));
    assert_eq!(sms.charset.as_deref(), Some("UTF-8"));
    assert_eq!(sms.class.as_deref(), Some("phoneDisplay"));
    assert_eq!(sms.validity_period, Some(120));
    assert_eq!(sms.tag.as_deref(), Some("dlv_42"));
}

#[tokio::test]
async fn the_adapter_reads_ovh_s_clock_again_when_it_moved() {
    let standin = standin();
    standin.set_clock_offset(600);
    let sms = adapter(&standin, |_| {});
    assert!(matches!(send(&sms, "Crue").await, Outcome::Accepted { .. }));
    // OVH's clock jumps: the offset the adapter learnt is now stale.
    standin.set_clock_offset(-3600);
    assert!(matches!(send(&sms, "Crue").await, Outcome::Accepted { .. }));
    assert_eq!(standin.time_request_count(), 2);
    assert_eq!(standin.request_count(), 3, "one refused job, retried once");
    assert_eq!(standin.received().len(), 2);
}

#[tokio::test]
async fn a_wrong_application_secret_is_permanent_after_one_resync() {
    let standin = standin();
    let mut config = OvhConfig::new(AK, "not-the-secret", CK, SERVICE);
    config.base_url = standin.base_url();
    let sms = OvhSms::new(config.validate().unwrap()).unwrap();
    let Outcome::Failed { class, reason } = send(&sms, "Crue").await else {
        panic!("a wrong secret must fail");
    };
    assert_eq!(class, RetryClass::Permanent);
    assert!(reason.contains("INVALID_SIGNATURE"), "{reason}");
    assert!(!reason.contains("not-the-secret"), "{reason}");
    assert_eq!(standin.request_count(), 2);
}

#[tokio::test]
async fn the_adapter_maps_the_stand_in_s_refusals() {
    let standin = standin();
    let sms = adapter(&standin, |_| {});

    standin.invalid_receiver(TO);
    assert_eq!(
        send(&sms, "Crue").await,
        Outcome::failed(
            RetryClass::Permanent,
            "OVH refused the number (listed in invalidReceivers)"
        )
    );
    standin.accept_receiver(TO);

    standin.fail_receiver(TO, 503, None, 1);
    let Outcome::Failed { class, .. } = send(&sms, "Crue").await else {
        panic!("503 must fail");
    };
    assert_eq!(class, RetryClass::Transient { retry_after: None });

    standin.fail_receiver(TO, 403, Some("INVALID_CREDENTIAL"), 1);
    let Outcome::Failed { class, reason } = send(&sms, "Crue").await else {
        panic!("403 must fail");
    };
    assert_eq!(class, RetryClass::Permanent);
    assert!(
        reason.starts_with("OVH HTTP 403 INVALID_CREDENTIAL"),
        "{reason}"
    );

    assert!(matches!(send(&sms, "Crue").await, Outcome::Accepted { .. }));
}

#[tokio::test]
async fn receipts_reach_the_callback_url_as_ovh_sends_them() {
    // A callback endpoint that keeps the raw query strings it is called with.
    let queries = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().route(
        "/cb/ovh/{token}",
        get({
            let queries = queries.clone();
            move |RawQuery(query): RawQuery| async move {
                queries.lock().unwrap().push(query.unwrap_or_default());
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cb/ovh/t0k3n?tenant=bras",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let standin = standin();
    let sms = adapter(&standin, |_| {});
    let Outcome::Accepted {
        provider_message_id: Some(id),
    } = send(&sms, "Crue").await
    else {
        panic!("not accepted");
    };
    let sent = &standin.received()[0];
    assert_eq!(call_receipt_url(&url, &sent.receipt(4)).await, Ok(200));
    assert_eq!(call_receipt_url(&url, &OvhDlr::new(&id, 5)).await, Ok(200));

    let queries = queries.lock().unwrap().clone();
    assert!(queries[0].starts_with("tenant=bras&id="), "{}", queries[0]);
    let delivered = OvhReceipt::from_query(&queries[0]).unwrap();
    assert_eq!(delivered.id, id);
    assert_eq!(delivered.status, PttStatus::Delivered);
    assert_eq!(delivered.description.as_deref(), Some("Delivered"));
    assert!(delivered.date.is_some());
    // As the daemon hands it to the adapter.
    let called = format!("https://tocsin.example/cb/ovh/t0k3n/status?{}", queries[0]);
    let callback = Callback {
        url: &called,
        method: "GET",
        headers: &[],
        body: b"",
    };
    assert_eq!(
        sms.reports(&callback),
        Ok(vec![Report {
            message: MessageRef::ProviderId(id.clone()),
            status: ReportStatus::Delivered,
        }])
    );
    let failed = OvhReceipt::from_query(&queries[1]).unwrap();
    assert!(matches!(
        failed.status.report_status(),
        ReportStatus::Failed { .. }
    ));
}

#[tokio::test]
async fn the_adapter_fetches_received_sms_and_the_stand_in_then_holds_none() {
    let standin = standin();
    // OVH's clock is ahead: the fetch's calls must carry OVH's time.
    standin.set_clock_offset(900);
    standin.receive(TO, "STOP");
    standin.receive("0033698765432", "ALERTE bien reçue");
    let sms = adapter(&standin, |_| {});
    let provider: &dyn Provider = &sms;

    let held = provider.fetch_inbound().await.unwrap();
    assert_eq!(
        held.iter().map(|h| h.sms.clone()).collect::<Vec<_>>(),
        [
            Inbound {
                from: TO.into(),
                text: "STOP".into()
            },
            Inbound {
                from: "+33698765432".into(),
                text: "ALERTE bien reçue".into()
            },
        ]
    );
    // Read, not taken: they wait at OVH until the daemon recorded them.
    assert_eq!(standin.incoming_count(), 2);
    for h in &held {
        provider.remove_inbound(&h.id).await.unwrap();
    }
    assert_eq!(standin.incoming_count(), 0);
    // One list, then a read and a delete for each.
    assert_eq!(standin.incoming_request_count(), 5);
    assert_eq!(provider.fetch_inbound().await, Ok(vec![]));
}

#[tokio::test]
async fn a_fetch_with_a_wrong_secret_fails_and_takes_nothing() {
    let standin = standin();
    standin.receive(TO, "STOP");
    let mut config = OvhConfig::new(AK, "not-the-secret", CK, SERVICE);
    config.base_url = standin.base_url();
    let sms = OvhSms::new(config.validate().unwrap()).unwrap();
    let reason = sms.fetch_inbound().await.unwrap_err();
    assert!(
        reason.starts_with("GET /sms/{serviceName}/incoming: OVH HTTP 400 INVALID_SIGNATURE"),
        "{reason}"
    );
    assert!(!reason.contains("not-the-secret"), "{reason}");
    // Refused for its signature, asked again once after reading OVH's clock.
    assert_eq!(standin.incoming_request_count(), 2);
    assert_eq!(standin.incoming_count(), 1);
}
