use super::*;

#[test]
fn the_window_lets_r_through_refuses_the_next_and_slides() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut window = RateWindow::new(3);
    assert!(window.admit(ms(0)) && window.admit(ms(0)) && window.admit(ms(400)));
    assert!(!window.admit(ms(500)), "a fourth within the second");
    assert!(
        !window.admit(ms(999)),
        "still within a second of the first two"
    );
    // The two at 0 ms are a full second old: two places free, the one at 400 ms still counts.
    assert!(window.admit(ms(1000)) && window.admit(ms(1000)));
    assert!(!window.admit(ms(1000)));
    // Refusals did not count: at 1400 ms only the one at 400 ms has left.
    assert!(window.admit(ms(1400)) && !window.admit(ms(1401)));
}

async fn send(standin: &SmsmodeStandin, key: &str, n: u32) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/sms/v1/messages", standin.base_url()))
        .header("X-Api-Key", key)
        .json(&json!({"recipient": {"to": format!("3361234{n:04}")}, "body": {"text": "Crue"}}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_limited_key_gets_429_past_its_rate_and_is_served_again_a_second_later() {
    let standin = SmsmodeStandin::start_counting("k");
    standin.limit_per_second(5);
    let started = Instant::now();
    for n in 0..5 {
        assert_eq!(send(&standin, "k", n).await.0, 201, "request {n}");
    }
    let (status, body) = send(&standin, "k", 5).await;
    assert!(
        started.elapsed() < WINDOW,
        "too slow a machine for this test"
    );
    assert_eq!(status, 429);
    assert_eq!(
        (body["status"].as_str(), body["errorCode"].as_str()),
        (Some("429"), Some("429.000"))
    );
    // A wrong key is refused before the limit, and does not use it up.
    assert_eq!(send(&standin, "other", 6).await.0, 401);
    tokio::time::sleep(WINDOW.saturating_sub(started.elapsed()) + Duration::from_millis(50)).await;
    assert_eq!(send(&standin, "k", 7).await.0, 201);
    assert_eq!(
        (standin.accepted_count(), standin.rate_limited_count()),
        (6, 1)
    );
    let (first, last) = (
        standin.first_accepted_at().unwrap(),
        standin.last_accepted_at().unwrap(),
    );
    assert!(last.duration_since(first).unwrap() >= WINDOW);
    standin.reset();
    assert_eq!(
        (standin.accepted_count(), standin.rate_limited_count()),
        (0, 0)
    );
    assert_eq!(standin.last_accepted_at(), None);
    assert_eq!(
        send(&standin, "k", 8).await.0,
        201,
        "the reset emptied the window"
    );
}

#[tokio::test]
async fn without_a_limit_nothing_is_refused() {
    let standin = SmsmodeStandin::start_counting("k");
    for n in 0..20 {
        assert_eq!(send(&standin, "k", n).await.0, 201);
    }
    assert_eq!(
        (standin.accepted_count(), standin.rate_limited_count()),
        (20, 0)
    );
}

#[tokio::test]
async fn one_answer_in_n_carries_a_nul_in_its_message_id_and_is_otherwise_the_usual_201() {
    let standin = SmsmodeStandin::start("k");
    standin.nul_message_id_one_in(3);
    let mut answers = Vec::new();
    for n in 0..6 {
        answers.push(send(&standin, "k", n).await);
    }
    let corrupt: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, (_, body))| body["messageId"].as_str().unwrap().contains('\0'))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(corrupt, [2, 5]);
    for (status, body) in &answers {
        assert_eq!(*status, 201);
        assert_eq!(body["status"]["value"], "ENROUTE");
        assert_eq!(body["messageId"].as_str().unwrap().chars().count(), 36);
    }
    // Sent all the same: the provider took every one.
    assert_eq!(standin.received().len(), 6);
    assert!(standin.received()[2].message_id.contains('\0'));
}
