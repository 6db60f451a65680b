//! Schedules and timed alerts on a clock the tests move: whole days, both daylight saving nights
//! included, pass in seconds. The clock is set in the future (2027), where the database's own
//! `now()` (expiry, for one) cannot interfere.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tocsin::{
    clock::{Clock, ManualClock},
    scheduler::{Scheduler, Settings},
};

use crate::support::{Client, Daemon, Env, eventually};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// A daemon on `clock`, whose scheduler looks every 100 ms, and the commune "bras" (no quiet
/// hours, `subscribers` phone subscribers of "intemperies") with its admin client.
async fn commune_on(env: &Env, clock: &ManualClock, subscribers: usize) -> (Daemon, Client) {
    let mut config = env.config();
    config.scheduler.tick = Duration::from_millis(100);
    let daemon = Daemon::start_with_clock(config, clock.clone().into()).await;
    let mairie = env.commune(&daemon.url, subscribers).await;
    (daemon, mairie)
}

async fn schedule(mairie: &Client, body: Value) -> String {
    let created = mairie.post("/v1/schedules", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_string()
}

/// The instants at which a schedule's occurrences fired, each with its alert, in order.
async fn fired(db: &sqlx::PgPool, schedule: &str) -> Vec<(DateTime<Utc>, uuid::Uuid)> {
    let id: tocsin::model::ScheduleId = schedule.parse().unwrap();
    let rows: Vec<(DateTime<Utc>, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT due_at, alert_id FROM schedule_runs
         WHERE schedule_id = $1 AND outcome = 'fired' ORDER BY due_at",
    )
    .bind(id.0)
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(due, alert)| (due, alert.expect("a fired occurrence names its alert")))
        .collect()
}

/// Moves the clock from `from` to `to` by `step`; after each step, every scheduler runs a round,
/// all at once.
async fn run_days(
    clock: &ManualClock,
    schedulers: &[Scheduler],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: chrono::Duration,
) {
    clock.set(from);
    while clock.now() < to {
        clock.advance(step);
        let rounds = futures_util::future::join_all(schedulers.iter().map(|s| s.round())).await;
        for round in rounds {
            round.expect("a scheduler round");
        }
    }
}

#[tokio::test]
async fn three_schedulers_fire_each_occurrence_once_across_both_dst_nights() {
    let env = Env::new().await;
    let clock = ManualClock::new(at("2027-03-26T23:00:00Z"));
    let (daemon, mairie) = commune_on(&env, &clock, 0).await;
    // Besides the daemon's own, three more instances, each with its own connections.
    let mut schedulers = Vec::new();
    for _ in 0..3 {
        schedulers.push(Scheduler {
            db: env.db.pool().await,
            relay: Arc::new(tokio::sync::Notify::new()),
            clock: clock.clone().into(),
            settings: Settings::default(),
        });
    }
    let db = env.db.pool().await;
    let step = chrono::Duration::minutes(5);
    let every = |cron: &str, tz: &str| json!({ "topic": "intemperies", "cron": cron, "time_zone": tz, "text": "Rappel" });

    // Spring: Saturday 27 March 00:00 to Monday 29 March 00:00, Paris time; on Sunday the clock
    // jumps from 02:00 to 03:00.
    let night = schedule(&mairie, every("30 2 * * *", "Europe/Paris")).await;
    let half_hours = schedule(&mairie, every("*/30 * * * *", "Europe/Paris")).await;
    let reunion = schedule(&mairie, every("0 19 * * *", "Indian/Reunion")).await;
    run_days(
        &clock,
        &schedulers,
        at("2027-03-26T23:00:00Z"),
        at("2027-03-28T22:00:00Z"),
        step,
    )
    .await;
    let dues = |runs: &[(DateTime<Utc>, uuid::Uuid)]| -> Vec<DateTime<Utc>> {
        runs.iter().map(|r| r.0).collect()
    };
    // 02:30 does not exist on Sunday: it fires when the clock jumps, at 03:00 summer time.
    assert_eq!(
        dues(&fired(&db, &night).await),
        [
            at("2027-03-27T02:30:00+01:00"),
            at("2027-03-28T03:00:00+02:00")
        ]
    );
    // 96 half-hours on the wall clock, of which 02:00 and 02:30 on Sunday fire with 03:00, once.
    let spring = fired(&db, &half_hours).await;
    assert_eq!(spring.len(), 94);
    assert_eq!(
        dues(&fired(&db, &reunion).await),
        [
            at("2027-03-27T19:00:00+04:00"),
            at("2027-03-28T19:00:00+04:00")
        ]
    );
    for id in [&night, &half_hours, &reunion] {
        assert_eq!(
            mairie.delete(&format!("/v1/schedules/{id}")).await.status,
            StatusCode::NO_CONTENT
        );
    }

    // Autumn: Saturday 30 October 00:00 to Monday 1 November 00:00; on Sunday 02:00–02:59 comes
    // twice.
    clock.set(at("2027-10-30T00:00:00+02:00"));
    let night = schedule(&mairie, every("30 2 * * *", "Europe/Paris")).await;
    let half_hours = schedule(&mairie, every("*/30 * * * *", "Europe/Paris")).await;
    run_days(
        &clock,
        &schedulers,
        at("2027-10-30T00:00:00+02:00"),
        at("2027-11-01T00:00:00+01:00"),
        step,
    )
    .await;
    assert_eq!(
        dues(&fired(&db, &night).await),
        [
            at("2027-10-30T02:30:00+02:00"),
            at("2027-10-31T02:30:00+02:00")
        ]
    );
    // 49 hours of real time, 96 wall-clock half-hours: the repeated hour is silent.
    let autumn = fired(&db, &half_hours).await;
    assert_eq!(autumn.len(), 96);
    assert!(
        !autumn
            .iter()
            .any(|(due, _)| *due >= at("2027-10-31T02:00:00+01:00")
                && *due < at("2027-10-31T03:00:00+01:00")),
        "nothing fires in the repeated hour"
    );

    // Each occurrence made one alert, and no alert exists that an occurrence did not make.
    let (alerts,): (i64,) = sqlx::query_as("SELECT count(*) FROM alerts")
        .fetch_one(&db)
        .await
        .unwrap();
    let made: HashSet<uuid::Uuid> = spring.iter().chain(&autumn).map(|r| r.1).collect();
    assert_eq!(made.len(), 94 + 96);
    assert_eq!(alerts, 2 + 94 + 2 + 2 + 96);
    daemon.stop().await;
}

#[tokio::test]
async fn after_an_outage_an_occurrence_fires_once_within_the_grace_window_and_is_recorded_as_missed_beyond()
 {
    let env = Env::new().await;
    // Sunday 10 January 2027, noon in Paris.
    let clock = ManualClock::new(at("2027-01-10T12:00:00+01:00"));
    let (daemon, mairie) = commune_on(&env, &clock, 1).await;
    let id = schedule(
        &mairie,
        json!({ "topic": "intemperies", "cron": "0 7 * * *", "text": "Verglas : prudence",
                "channels": ["sms"] }),
    )
    .await;
    let runs = |mairie: Client, id: String| async move {
        mairie.get(&format!("/v1/schedules/{id}/runs")).await.body["runs"]
            .as_array()
            .unwrap()
            .clone()
    };

    // Every instance down over Monday's 07:00, back at 07:40: within the hour of grace.
    daemon.stop().await;
    clock.set(at("2027-01-11T07:40:00+01:00"));
    let (daemon, _) = restart(&env, &clock).await;
    eventually("Monday's occurrence", Duration::from_secs(10), || {
        let (mairie, id) = (mairie.at(&daemon.url), id.clone());
        async move { runs(mairie, id).await.len() == 1 }
    })
    .await;
    let mairie = mairie.at(&daemon.url);
    let monday = runs(mairie.clone(), id.clone()).await;
    assert_eq!(monday[0]["occurrence"], "2027-01-11T07:00:00+01:00");
    assert_eq!(monday[0]["outcome"], "fired", "{monday:?}");
    let alert = monday[0]["alert"].as_str().unwrap().to_string();
    mairie.wait_completed(&alert).await;
    assert_eq!(env.smsmode.received().len(), 1);

    // Down from Monday until Thursday 07:20: Tuesday's and Wednesday's are beyond the grace
    // window, Thursday's within it.
    daemon.stop().await;
    clock.set(at("2027-01-14T07:20:00+01:00"));
    let (daemon, _) = restart(&env, &clock).await;
    let mairie = mairie.at(&daemon.url);
    eventually(
        "the occurrences of the outage",
        Duration::from_secs(10),
        || {
            let (mairie, id) = (mairie.clone(), id.clone());
            async move { runs(mairie, id).await.len() == 4 }
        },
    )
    .await;
    let all = runs(mairie.clone(), id.clone()).await;
    let outcomes: Vec<(&str, &str)> = all
        .iter()
        .map(|r| {
            (
                r["occurrence"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("2027-01-14T07:00:00+01:00", "fired"),
            ("2027-01-13T07:00:00+01:00", "missed"),
            ("2027-01-12T07:00:00+01:00", "missed"),
            ("2027-01-11T07:00:00+01:00", "fired"),
        ]
    );
    assert!(
        all[1]["reason"]
            .as_str()
            .unwrap()
            .contains("beyond the grace window"),
        "{all:?}"
    );
    mairie
        .wait_completed(all[0]["alert"].as_str().unwrap())
        .await;
    // Restarting again changes nothing: each occurrence was dealt with once.
    daemon.stop().await;
    let (daemon, _) = restart(&env, &clock).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs(mairie.at(&daemon.url), id.clone()).await.len(), 4);
    assert_eq!(env.smsmode.received().len(), 2);
    daemon.stop().await;
}

/// The daemon again, on the same database and clock.
async fn restart(env: &Env, clock: &ManualClock) -> (Daemon, ()) {
    let mut config = env.config();
    config.scheduler.tick = Duration::from_millis(100);
    (
        Daemon::start_with_clock(config, Clock::from(clock.clone())).await,
        (),
    )
}

#[tokio::test]
async fn routine_alerts_wait_for_the_end_of_quiet_hours_and_urgent_ones_do_not() {
    let env = Env::new().await;
    // Monday 1 February 2027, 21:59 in Paris.
    let clock = ManualClock::new(at("2027-02-01T21:59:00+01:00"));
    let (daemon, mairie) = commune_on(&env, &clock, 2).await;
    let db = env.db.pool().await;
    let quiet = tocsin::store::tenants::SettingsChange {
        quiet_hours: Some(Some("21:00-08:00".parse().unwrap())),
        ..Default::default()
    };
    tocsin::store::tenants::update(&db, "bras", &quiet)
        .await
        .unwrap();
    let reminder = |urgent: bool| {
        json!({ "topic": "intemperies", "cron": "0 22 * * *", "urgent": urgent,
                "text": if urgent { "Crue : évacuez les quais" } else { "Collecte demain" } })
    };
    let routine = schedule(&mairie, reminder(false)).await;
    let urgent = schedule(&mairie, reminder(true)).await;

    clock.set(at("2027-02-01T22:00:30+01:00"));
    let alert_of = |id: String| {
        let mairie = mairie.clone();
        async move {
            let runs = mairie.get(&format!("/v1/schedules/{id}/runs")).await.body;
            runs["runs"][0]["alert"].as_str().map(str::to_string)
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (routine_alert, urgent_alert) = loop {
        if let (Some(r), Some(u)) = (
            alert_of(routine.clone()).await,
            alert_of(urgent.clone()).await,
        ) {
            break (r, u);
        }
        assert!(std::time::Instant::now() < deadline, "both schedules fire");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The urgent one goes at once, the routine one waits for 08:00.
    mairie.wait_completed(&urgent_alert).await;
    assert_eq!(env.smsmode.received().len(), 2);
    let waiting = mairie
        .get(&format!("/v1/alerts/{routine_alert}"))
        .await
        .body;
    assert_eq!(waiting["status"], "scheduled", "{waiting}");
    assert_eq!(
        at(waiting["starts_at"].as_str().unwrap()),
        at("2027-02-02T08:00:00+01:00")
    );

    // An alert sent by hand at night waits too, unless urgent.
    let by_hand = mairie
        .post(
            "/v1/alerts",
            json!({ "topic": "intemperies", "text": "Travaux rue Haute" }),
        )
        .await;
    assert_eq!(by_hand.status, StatusCode::ACCEPTED, "{}", by_hand.body);
    assert_eq!(by_hand.body["status"], "scheduled");
    let by_hand = by_hand.body["id"].as_str().unwrap().to_string();

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.smsmode.received().len(), 2, "nothing routine at night");
    clock.set(at("2027-02-02T07:59:59+01:00"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.smsmode.received().len(), 2, "nor at 07:59:59");
    clock.set(at("2027-02-02T08:00:00+01:00"));
    mairie.wait_completed(&routine_alert).await;
    mairie.wait_completed(&by_hand).await;
    let texts: Vec<String> = env.smsmode.received().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.iter().filter(|t| *t == "Collecte demain").count(), 2);
    assert_eq!(
        texts.iter().filter(|t| *t == "Travaux rue Haute").count(),
        2
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_timed_alert_leaves_at_its_hour_and_can_be_cancelled_until_then() {
    let env = Env::new().await;
    let clock = ManualClock::new(at("2027-02-02T09:00:00+01:00"));
    let (daemon, mairie) = commune_on(&env, &clock, 1).await;
    let timed =
        |at: &str| json!({ "topic": "intemperies", "text": "Coupure d'eau", "scheduled_at": at });
    let accepted = mairie.post("/v1/alerts", timed("2027-02-02 10:00")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "scheduled");
    assert_eq!(
        at(accepted.body["starts_at"].as_str().unwrap()),
        at("2027-02-02T10:00:00+01:00")
    );
    let kept = accepted.body["id"].as_str().unwrap().to_string();
    let dropped = mairie.alert(timed("2027-02-02T10:00:00+01:00")).await;

    let cancelled = mairie
        .post(&format!("/v1/alerts/{dropped}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    // Cancelling twice is no error.
    let again = mairie
        .post(&format!("/v1/alerts/{dropped}/cancel"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(env.smsmode.received().is_empty(), "nothing before its hour");
    clock.set(at("2027-02-02T10:00:00+01:00"));
    let report = mairie.wait_completed(&kept).await;
    assert_eq!(report["counts"]["sms"]["sent"], 1, "{report}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        env.smsmode.received().len(),
        1,
        "the cancelled alert never left"
    );
    let status = mairie.get(&format!("/v1/alerts/{dropped}")).await.body;
    assert_eq!(status["status"], "cancelled");
    // Once it started, it is too late.
    let late = mairie
        .post(&format!("/v1/alerts/{kept}/cancel"), json!({}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);

    // Bad times get a clear error naming the field.
    for (when, says) in [
        ("2027-02-02 09:30", "in the past"),
        ("2027-03-28 02:30", "does not exist"),
        ("demain 7h", "is not a time"),
        ("2029-01-01 07:00", "days ahead"),
    ] {
        let refused = mairie.post("/v1/alerts", timed(when)).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{when}: {}",
            refused.body
        );
        assert_eq!(
            refused.body["error"]["field"], "scheduled_at",
            "{}",
            refused.body
        );
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{when}: {message}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn schedules_are_checked_when_made_and_inspected_in_local_time() {
    let env = Env::new().await;
    // Thursday 29 October 2027: the clocks go back on Sunday.
    let clock = ManualClock::new(at("2027-10-28T12:00:00+02:00"));
    let (daemon, mairie) = commune_on(&env, &clock, 0).await;
    let base = json!({ "topic": "intemperies", "cron": "0 19 * * MON", "text": "Bacs jaunes" });
    for (change, field, says) in [
        (json!({ "cron": "0 19 * MON" }), "cron", "5 fields"),
        (json!({ "cron": "0 25 * * *" }), "cron", "hour"),
        (json!({ "cron": "0 9 30 2 *" }), "cron", "never fires"),
        (
            json!({ "time_zone": "Europe/Pari" }),
            "time_zone",
            "unknown time zone",
        ),
        (json!({ "topic": "dechets" }), "topic", "unknown topic"),
        (json!({ "text": " " }), "text", "empty"),
    ] {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let refused = mairie.post("/v1/schedules", body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(refused.body["error"]["field"], field, "{}", refused.body);
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }

    let id = schedule(&mairie, base.clone()).await;
    let next = mairie
        .get(&format!("/v1/schedules/{id}/next?count=3"))
        .await
        .body;
    // Mondays at 19:00 on the wall clock, summer time ended in between.
    assert_eq!(
        next,
        json!({ "occurrences": [
            "2027-11-01T19:00:00+01:00", "2027-11-08T19:00:00+01:00", "2027-11-15T19:00:00+01:00"
        ] })
    );
    let paused = mairie
        .post(&format!("/v1/schedules/{id}/pause"), json!({}))
        .await;
    assert_eq!(paused.body["state"], "paused", "{}", paused.body);
    assert_eq!(paused.body["next"], Value::Null);
    // Paused over Monday: nothing fires, and resuming does not send what was skipped.
    clock.set(at("2027-11-01T19:30:00+01:00"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resumed = mairie
        .post(&format!("/v1/schedules/{id}/resume"), json!({}))
        .await;
    assert_eq!(resumed.body["state"], "active");
    assert_eq!(resumed.body["next"], "2027-11-08T19:00:00+01:00");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = mairie.get(&format!("/v1/schedules/{id}/runs")).await.body;
    assert_eq!(runs["runs"], json!([]));

    // A tenant sees only its own schedules; a sender key may read them, not change them.
    let list = mairie.get("/v1/schedules").await.body;
    assert_eq!(list["schedules"].as_array().unwrap().len(), 1);
    let other = env.tenant(&daemon, "voisine").await;
    assert_eq!(
        other.get(&format!("/v1/schedules/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get("/v1/schedules").await.body["schedules"],
        json!([])
    );
    let sender = mairie.with_key(&env.key("bras", tocsin::model::Role::Sender).await);
    assert_eq!(
        sender.get(&format!("/v1/schedules/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        sender.delete(&format!("/v1/schedules/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        mairie.delete(&format!("/v1/schedules/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        mairie.get(&format!("/v1/schedules/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    daemon.stop().await;
}
