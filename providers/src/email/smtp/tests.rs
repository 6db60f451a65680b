//! The SMTP client against a scripted relay on 127.0.0.1: what it sends and how (pipelined or
//! not), how each reply is classified, and that `max_connections` really caps open sessions. The
//! real SMTP server is exercised by the main crate's integration tests.

mod dkim;
mod relay;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use relay::{ACCEPT_ALL, HANG_UP, Script, relay};

use super::*;
use crate::{Message, Outcome, Provider, RetryClass};

const FROM: &str = "Mairie de Exemple <alertes@exemple.fr>";
const TO: &str = "jeanne.dupont@example.org";

/// With and without PIPELINING: the same replies must mean the same outcome.
const BOTH: [bool; 2] = [true, false];

fn client(url: &str, tweak: impl FnOnce(&mut SmtpConfig)) -> SmtpEmail {
    let mut config = SmtpConfig::new(url, FROM);
    tweak(&mut config);
    SmtpEmail::new(config.validate().unwrap()).unwrap()
}

async fn send(smtp: &SmtpEmail) -> Outcome {
    let provider: &dyn Provider = smtp;
    provider
        .send(Message {
            reference: "dlv_42",
            to: TO,
            subject: "Alerte crue : évacuez les quais",
            text: "Rendez-vous au gymnase.\nMairie de Exemple",
            ..Default::default()
        })
        .await
}

/// Unwraps a failure and checks the reason never leaks the address.
fn failure(outcome: Outcome) -> (RetryClass, String) {
    let Outcome::Failed { class, reason } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        !reason.to_lowercase().contains("jeanne"),
        "reason leaks the address: {reason}"
    );
    (class, reason)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn accepted_mail_is_plain_text_with_our_reference_and_message_id() {
    let relay = relay(ACCEPT_ALL).await;
    let smtp = client(&relay.url, |_| {});
    let Outcome::Accepted {
        provider_message_id: Some(id),
    } = send(&smtp).await
    else {
        panic!("expected Accepted");
    };
    assert!(
        id.starts_with("<dlv_42.") && id.ends_with("@exemple.fr>"),
        "{id}"
    );

    let messages = relay.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let raw = &messages[0];
    assert!(raw.contains("X-Tocsin-Reference: dlv_42\r\n"), "{raw}");
    assert!(raw.contains(&format!("Message-ID: {id}\r\n")), "{raw}");
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{raw}"
    );
    assert!(
        raw.contains("From: \"Mairie de Exemple\" <alertes@exemple.fr>\r\n"),
        "{raw}"
    );
    assert!(raw.contains(&format!("To: {TO}\r\n")), "{raw}");
    assert!(
        raw.contains("Subject: Alerte crue : =?utf-8?b?"),
        "RFC 2047 encoded: {raw}"
    );
    assert!(raw.contains("Rendez-vous au gymnase."), "{raw}");
}

#[tokio::test]
async fn mailbox_unavailable_is_permanent_with_the_code_and_text() {
    for pipelining in BOTH {
        let relay = relay(Script {
            pipelining,
            rcpt_reply: "550 5.1.1 <jeanne.dupont@example.org>: Recipient address rejected: \
                         User unknown",
            ..ACCEPT_ALL
        })
        .await;
        let (class, reason) = failure(send(&client(&relay.url, |_| {})).await);
        assert_eq!(class, RetryClass::Permanent);
        assert_eq!(
            reason,
            "SMTP 550 refused: 5.1.1 <address>: Recipient address rejected: User unknown"
        );
        assert!(relay.messages.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn greylisting_is_transient() {
    for pipelining in BOTH {
        let relay = relay(Script {
            pipelining,
            rcpt_reply: "451 4.7.1 <JEANNE.DUPONT@EXAMPLE.ORG>: Greylisted, try again later",
            ..ACCEPT_ALL
        })
        .await;
        let (class, reason) = failure(send(&client(&relay.url, |_| {})).await);
        assert_eq!(class, RetryClass::Transient { retry_after: None });
        assert_eq!(
            reason,
            "SMTP 451 deferred: 4.7.1 <address>: Greylisted, try again later"
        );
    }
}

#[tokio::test]
async fn refused_connection_is_transient_and_not_sent() {
    let smtp = client(&format!("smtp://127.0.0.1:{}", free_port()), |_| {});
    let (class, reason) = failure(send(&smtp).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("SMTP relay unreachable, not sent: "),
        "{reason}"
    );
}

#[tokio::test]
async fn a_relay_that_does_not_answer_is_uncertain() {
    let relay = relay(Script {
        data_delay: Duration::from_secs(5),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = client(&relay.url, |c| c.timeout_ms = 200);
    let (class, reason) = failure(send(&smtp).await);
    assert_eq!(class, RetryClass::Uncertain);
    assert_eq!(
        reason,
        "SMTP relay did not answer within 200ms: uncertain (may have been sent)"
    );
}

#[tokio::test]
async fn busy_sessions_fail_without_sending() {
    let relay = relay(Script {
        data_delay: Duration::from_secs(2),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = Arc::new(client(&relay.url, |c| {
        c.max_connections = 1;
        c.timeout_ms = 300;
    }));
    let first = tokio::spawn({
        let smtp = smtp.clone();
        async move { send(&smtp).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (class, reason) = failure(send(&smtp).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(
        reason,
        "all 1 SMTP sessions stayed busy for 300ms, not sent"
    );
    let (_, first_reason) = failure(first.await.unwrap());
    assert!(first_reason.contains("uncertain"), "{first_reason}");
}

#[tokio::test]
async fn open_sessions_never_exceed_max_connections() {
    let relay = relay(Script {
        data_delay: Duration::from_millis(30),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = Arc::new(client(&relay.url, |c| c.max_connections = 2));
    let sends: Vec<_> = (0..10)
        .map(|_| {
            let smtp = smtp.clone();
            tokio::spawn(async move { send(&smtp).await })
        })
        .collect();
    for send in sends {
        assert!(matches!(send.await.unwrap(), Outcome::Accepted { .. }));
    }
    assert_eq!(relay.messages.lock().unwrap().len(), 10);
    assert!(
        relay.peak_open.load(Ordering::SeqCst) <= 2,
        "sessions were not capped"
    );
    assert!(
        relay.connections.load(Ordering::SeqCst) <= 4,
        "pooled sessions were not reused"
    );
}

#[tokio::test]
async fn bad_recipients_and_references_fail_before_any_connection() {
    let relay = relay(ACCEPT_ALL).await;
    let smtp = client(&relay.url, |_| {});
    let outcome = smtp
        .send(Message {
            reference: "dlv_1",
            to: "jeanne at example",
            subject: "s",
            text: "t",
            ..Default::default()
        })
        .await;
    assert_eq!(
        failure(outcome),
        (
            RetryClass::Permanent,
            "recipient is not a valid e-mail address".into()
        )
    );
    let outcome = smtp
        .send(Message {
            reference: "dlv 1\r\nBcc: x@y.z",
            to: TO,
            subject: "s",
            text: "t",
            ..Default::default()
        })
        .await;
    assert_eq!(failure(outcome).0, RetryClass::Permanent);
    assert_eq!(relay.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn debug_never_shows_the_password() {
    let smtp = client("smtps://user:hunter2@smtp.example.fr", |_| {});
    let debug = format!("{smtp:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[tokio::test]
async fn a_session_the_relay_closed_while_idle_is_replaced_without_failing_the_send() {
    // With and without the 421 a relay may send as it closes an idle session (RFC 5321 §4.2.2).
    let last_words = [HANG_UP, "421 4.4.2 fake.test Error: timeout exceeded"];
    for (last_word, pipelining) in last_words.into_iter().flat_map(|w| BOTH.map(|p| (w, p))) {
        let relay = relay(Script {
            pipelining,
            after_message: last_word,
            ..ACCEPT_ALL
        })
        .await;
        let smtp = client(&relay.url, |c| c.max_connections = 1);
        for _ in 0..3 {
            let outcome = send(&smtp).await;
            assert!(
                matches!(outcome, Outcome::Accepted { .. }),
                "{last_word}: {outcome:?}"
            );
            // Let the relay's goodbye arrive before the session is reused.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(relay.messages.lock().unwrap().len(), 3, "{last_word}");
        assert_eq!(relay.connections.load(Ordering::SeqCst), 3, "{last_word}");
    }
}

#[tokio::test]
async fn a_relay_that_never_greets_is_unreachable_not_uncertain() {
    let relay = relay(Script {
        greeting_delay: Duration::from_secs(5),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = client(&relay.url, |c| c.timeout_ms = 200);
    let (class, reason) = failure(send(&smtp).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(
        reason,
        "SMTP relay unreachable, not sent: no session opened within 200ms"
    );
}

#[tokio::test]
async fn a_session_lost_before_the_content_is_not_sent_and_after_it_is_uncertain() {
    for pipelining in BOTH {
        for rcpt_or_mail in ["rcpt", "mail"] {
            let lost_before = relay(Script {
                pipelining,
                mail_reply: if rcpt_or_mail == "mail" {
                    HANG_UP
                } else {
                    ACCEPT_ALL.mail_reply
                },
                rcpt_reply: HANG_UP,
                ..ACCEPT_ALL
            })
            .await;
            let (class, reason) = failure(send(&client(&lost_before.url, |_| {})).await);
            assert_eq!(class, RetryClass::Transient { retry_after: None });
            assert!(
                reason.starts_with("SMTP relay unreachable, not sent: "),
                "{rcpt_or_mail}: {reason}"
            );
        }

        let lost_after = relay(Script {
            pipelining,
            data_reply: HANG_UP,
            ..ACCEPT_ALL
        })
        .await;
        let (class, reason) = failure(send(&client(&lost_after.url, |_| {})).await);
        assert_eq!(class, RetryClass::Uncertain);
        assert!(
            reason.starts_with("SMTP session broke: uncertain"),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn the_url_names_the_ehlo_host_and_the_credentials() {
    let relay = relay(ACCEPT_ALL).await;
    let url = relay.url.replace("smtp://", "smtp://us%65r:p%40ss@") + "/mairie.exemple.fr";
    assert!(matches!(
        send(&client(&url, |_| {})).await,
        Outcome::Accepted { .. }
    ));
    let commands = relay.commands.lock().unwrap().clone();
    // lettre's EHLO, then ours, which learns whether the relay offers PIPELINING.
    assert_eq!(commands[0], "EHLO mairie.exemple.fr");
    assert_eq!(commands[1], "EHLO mairie.exemple.fr");
    // PLAIN (RFC 4616): NUL, user, NUL, password, in base64.
    assert_eq!(commands[2], "AUTH PLAIN AHVzZXIAcEBzcw==");
    assert!(commands[3].starts_with("MAIL FROM:<alertes@exemple.fr>"));
}

#[tokio::test]
async fn tls_that_the_relay_cannot_speak_fails_before_anything_is_sent() {
    let relay = relay(ACCEPT_ALL).await;
    // STARTTLS required, and this relay does not offer it: refused for good, as lettre would.
    let starttls = format!("{}?tls=required", relay.url);
    let (class, reason) = failure(send(&client(&starttls, |_| {})).await);
    assert_eq!(class, RetryClass::Permanent);
    assert_eq!(
        reason,
        "SMTP client error: STARTTLS is not supported on this server"
    );
    // Implicit TLS against a cleartext greeting: the handshake fails.
    let implicit = relay.url.replace("smtp://", "smtps://");
    let (class, reason) = failure(send(&client(&implicit, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("SMTP relay unreachable, not sent: TLS handshake failed"),
        "{reason}"
    );
    assert!(relay.messages.lock().unwrap().is_empty());
}

#[tokio::test]
async fn mail_rcpt_and_data_go_in_one_write_only_when_the_relay_offers_pipelining() {
    let ehlo = || vec!["EHLO".to_owned()];
    let group = |verbs: &[&str]| verbs.iter().map(|&v| v.to_owned()).collect::<Vec<_>>();
    for pipelining in BOTH {
        let relay = relay(Script {
            pipelining,
            ..ACCEPT_ALL
        })
        .await;
        let smtp = client(&relay.url, |c| c.max_connections = 1);
        for _ in 0..2 {
            assert!(matches!(send(&smtp).await, Outcome::Accepted { .. }));
        }
        assert_eq!(relay.messages.lock().unwrap().len(), 2);
        assert_eq!(relay.connections.load(Ordering::SeqCst), 1);
        let commands = relay.commands.lock().unwrap().clone();
        assert_eq!(commands[3], format!("RCPT TO:<{TO}>"));
        assert_eq!(commands[4], "DATA");
        let message = if pipelining {
            vec![group(&["MAIL", "RCPT", "DATA"])]
        } else {
            vec![group(&["MAIL"]), group(&["RCPT"]), group(&["DATA"])]
        };
        // Twice on the same session: what the relay offers is remembered with the session.
        let expected = [vec![ehlo(), ehlo()], message.clone(), message].concat();
        assert_eq!(relay.verbs(), expected, "pipelining: {pipelining}");
    }
}

/// Sends `n` messages at once on `smtp`; their outcomes in the order they were started.
async fn send_together(smtp: &Arc<SmtpEmail>, n: usize) -> Vec<Outcome> {
    let sends: Vec<_> = (0..n)
        .map(|_| {
            let smtp = smtp.clone();
            tokio::spawn(async move { send(&smtp).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for send in sends {
        outcomes.push(send.await.unwrap());
    }
    outcomes
}

#[tokio::test]
async fn a_message_waiting_for_the_session_has_its_envelope_sent_behind_the_content_before_it() {
    for pipelining in BOTH {
        let relay = relay(Script {
            pipelining,
            data_delay: Duration::from_millis(20),
            ..ACCEPT_ALL
        })
        .await;
        let smtp = Arc::new(client(&relay.url, |c| c.max_connections = 1));
        for outcome in send_together(&smtp, 6).await {
            assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        }
        let messages = relay.messages.lock().unwrap().clone();
        assert_eq!(messages.len(), 6);
        assert!(
            messages
                .iter()
                .all(|m| m.contains("X-Tocsin-Reference: dlv_42"))
        );
        assert_eq!(relay.connections.load(Ordering::SeqCst), 1);
        let followed = relay.followed_by_commands.load(Ordering::SeqCst);
        if pipelining {
            // Each message but the first waited behind another: at least the second was taken
            // along by the first (the others may reach the line a moment too late).
            assert!(followed >= 1, "no envelope followed a content");
        } else {
            assert_eq!(followed, 0);
        }
    }
}

#[tokio::test]
async fn a_message_sent_behind_one_whose_session_broke_is_sent_again_on_a_new_session() {
    let relay = relay(Script {
        first_data_reply: Some(HANG_UP),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = Arc::new(client(&relay.url, |c| c.max_connections = 1));
    let outcomes = send_together(&smtp, 2).await;
    // The relay had the first message's content when it went away: maybe taken.
    let (class, _) = failure(outcomes[0].clone());
    assert_eq!(class, RetryClass::Uncertain);
    // The second had only its envelope there, which no relay delivers: it went again.
    assert!(
        matches!(outcomes[1], Outcome::Accepted { .. }),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(relay.followed_by_commands.load(Ordering::SeqCst), 1);
    assert_eq!(relay.messages.lock().unwrap().len(), 2);
    assert_eq!(relay.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_message_sent_behind_another_gets_its_own_refusal() {
    let relay = relay(Script {
        later_rcpt_reply: Some("452 4.5.3 Error: too many recipients"),
        ..ACCEPT_ALL
    })
    .await;
    let smtp = Arc::new(client(&relay.url, |c| c.max_connections = 1));
    let outcomes = send_together(&smtp, 2).await;
    assert!(
        matches!(outcomes[0], Outcome::Accepted { .. }),
        "{:?}",
        outcomes[0]
    );
    // The second's envelope went behind the first's content, and its refusal is its own.
    let (class, reason) = failure(outcomes[1].clone());
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert_eq!(
        reason,
        "SMTP 452 deferred: 4.5.3 Error: too many recipients"
    );
    assert_eq!(relay.followed_by_commands.load(Ordering::SeqCst), 1);
    relay.closed().await;
    assert_eq!(relay.messages.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_relay_that_refuses_a_second_ehlo_gets_its_mail_unpipelined() {
    let relay = relay(Script {
        refuses_second_ehlo: true,
        ..ACCEPT_ALL
    })
    .await;
    assert!(matches!(
        send(&client(&relay.url, |_| {})).await,
        Outcome::Accepted { .. }
    ));
    let verbs = relay.verbs();
    assert_eq!(verbs[2..], [["MAIL"], ["RCPT"], ["DATA"]]);
}

#[tokio::test]
async fn a_refused_recipient_stops_a_pipelined_message_before_its_content() {
    // A real relay then refuses DATA (554, no valid recipients); a sloppy one answers 354 and
    // waits for content that must never come.
    for sloppy in [false, true] {
        let relay = relay(Script {
            rcpt_reply: "550 5.1.1 <jeanne.dupont@example.org>: Recipient address rejected: \
                         User unknown",
            sloppy,
            ..ACCEPT_ALL
        })
        .await;
        let (class, reason) = failure(send(&client(&relay.url, |_| {})).await);
        assert_eq!(class, RetryClass::Permanent);
        // The recipient's refusal, not DATA's.
        assert_eq!(
            reason,
            "SMTP 550 refused: 5.1.1 <address>: Recipient address rejected: User unknown"
        );
        relay.closed().await;
        assert!(
            relay.messages.lock().unwrap().is_empty(),
            "sloppy: {sloppy}"
        );
        assert_eq!(relay.verbs().last().unwrap(), &["MAIL", "RCPT", "DATA"]);
        assert_eq!(relay.commands.lock().unwrap().last().unwrap(), "DATA");
    }
}

#[tokio::test]
async fn a_refused_sender_fails_with_its_own_reply_and_is_not_retried() {
    for pipelining in BOTH {
        let relay = relay(Script {
            pipelining,
            mail_reply: "553 5.7.1 <alertes@exemple.fr>: Sender address rejected: not owned",
            ..ACCEPT_ALL
        })
        .await;
        let smtp = client(&relay.url, |c| c.max_connections = 1);
        let (class, reason) = failure(send(&smtp).await);
        assert_eq!(class, RetryClass::Permanent);
        assert_eq!(
            reason,
            "SMTP 553 refused: 5.7.1 <address>: Sender address rejected: not owned"
        );
        relay.closed().await;
        assert!(relay.messages.lock().unwrap().is_empty());
        assert_eq!(relay.connections.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_commune_s_from_replaces_the_account_s() {
    let relay = relay(ACCEPT_ALL).await;
    let smtp = client(&relay.url, |c| c.max_connections = 1);
    let provider: &dyn Provider = &smtp;
    // Two communes in turn, then a message naming none: each carries its own sender, in its
    // headers and in its envelope (the client keeps the last one parsed).
    let bras = "Mairie de Bras-sur-Meuse <alertes@bras-sur-meuse.fr>";
    let vacherauville = "Mairie de Vacherauville <info@vacherauville.fr>";
    let mut ids = Vec::new();
    for from in [Some(bras), Some(bras), Some(vacherauville), None] {
        let outcome = provider
            .send(Message {
                reference: "dlv_43",
                to: TO,
                subject: "Coupure d'eau",
                text: "Demain",
                from,
                ..Default::default()
            })
            .await;
        let Outcome::Accepted {
            provider_message_id: Some(id),
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        ids.push(id);
    }
    let domains: Vec<&str> = ids.iter().map(|id| id.split('@').nth(1).unwrap()).collect();
    assert_eq!(
        domains,
        [
            "bras-sur-meuse.fr>",
            "bras-sur-meuse.fr>",
            "vacherauville.fr>",
            "exemple.fr>"
        ]
    );
    let messages = relay.messages.lock().unwrap().clone();
    let from_headers: Vec<&str> = messages
        .iter()
        .map(|raw| raw.lines().find(|l| l.starts_with("From: ")).unwrap())
        .collect();
    assert_eq!(
        from_headers,
        [
            "From: \"Mairie de Bras-sur-Meuse\" <alertes@bras-sur-meuse.fr>",
            "From: \"Mairie de Bras-sur-Meuse\" <alertes@bras-sur-meuse.fr>",
            "From: \"Mairie de Vacherauville\" <info@vacherauville.fr>",
            "From: \"Mairie de Exemple\" <alertes@exemple.fr>",
        ]
    );
    let senders: Vec<String> = relay
        .commands
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.starts_with("MAIL FROM:"))
        // Up to the address's end: its parameters (BODY=8BITMIME…) are not the point here.
        .map(|c| c[..=c.find('>').unwrap()].to_owned())
        .collect();
    assert_eq!(
        senders,
        [
            "MAIL FROM:<alertes@bras-sur-meuse.fr>",
            "MAIL FROM:<alertes@bras-sur-meuse.fr>",
            "MAIL FROM:<info@vacherauville.fr>",
            "MAIL FROM:<alertes@exemple.fr>",
        ]
    );
}
