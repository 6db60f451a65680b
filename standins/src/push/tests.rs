use super::*;

/// A push in the shape the benchmark's daemon sends, with a body that is not ciphertext.
async fn send(
    standin: &PushStandin,
    method: &str,
    headers: &[(&str, &str)],
    body_len: usize,
) -> (u16, Option<String>) {
    let url = format!("{}/push/bench-1", standin.base_url());
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, url)
        .body(vec![7u8; body_len]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let location = response.headers().get(header::LOCATION);
    let location = location.map(|l| l.to_str().unwrap().to_owned());
    (response.status().as_u16(), location)
}

const VALID: [(&str, &str); 4] = [
    (
        "authorization",
        "vapid t=eyJ0eXAiOiJKV1QifQ.e30.c2ln, k=BPub",
    ),
    ("content-encoding", "aes128gcm"),
    ("ttl", "86400"),
    ("urgency", "high"),
];

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    VALID.into_iter().filter(|(n, _)| *n != name).collect()
}

#[tokio::test]
async fn counting_mode_accepts_well_shaped_pushes_without_decrypting_them() {
    let standin = PushStandin::start_counting().await;
    assert_eq!(standin.first_accepted_at(), None);
    let before = SystemTime::now();
    let (status, location) = send(&standin, "POST", &VALID, 400).await;
    assert_eq!(status, 201);
    let location = location.expect("a Location");
    assert!(location.starts_with(&format!("{}/message/", standin.base_url())));
    assert_eq!(send(&standin, "POST", &VALID, MAX_BODY_LEN).await.0, 201);
    assert_eq!(standin.accepted_count(), 2);
    assert!(standin.first_accepted_at().unwrap() >= before);
    // Nothing is kept but the count.
    assert!(standin.received_all().is_empty());

    standin.reset();
    assert_eq!(
        (standin.accepted_count(), standin.first_accepted_at()),
        (0, None)
    );
}

#[tokio::test]
async fn counting_mode_refuses_what_is_not_shaped_like_a_web_push() {
    let standin = PushStandin::start_counting().await;
    let refused = [
        (send(&standin, "PUT", &VALID, 100).await, 405),
        (
            send(&standin, "POST", &without("authorization"), 100).await,
            401,
        ),
        (send(&standin, "POST", &without("ttl"), 100).await, 400),
        (
            send(&standin, "POST", &without("content-encoding"), 100).await,
            415,
        ),
        (send(&standin, "POST", &VALID, MAX_BODY_LEN + 1).await, 413),
    ];
    for (i, ((status, _), expected)) in refused.into_iter().enumerate() {
        assert_eq!(status, expected, "case {i}");
    }
    let bearer = [("authorization", "Bearer abc"), VALID[1], VALID[2]];
    assert_eq!(send(&standin, "POST", &bearer, 100).await.0, 401);
    let no_key = [("authorization", "vapid t=abc"), VALID[1], VALID[2]];
    assert_eq!(send(&standin, "POST", &no_key, 100).await.0, 401);
    assert_eq!((standin.accepted_count(), standin.rejected_count()), (0, 7));
}

#[test]
fn vapid_parameters_are_read_in_any_order_and_case() {
    assert!(vapid_shaped("vapid t=a.b.c, k=B"));
    assert!(vapid_shaped("VAPID k=\"B\",t=a.b.c"));
    assert!(!vapid_shaped("vapid t=, k=B"));
    assert!(!vapid_shaped("vapid"));
    assert!(!vapid_shaped("WebPush t=a, k=B"));
}
