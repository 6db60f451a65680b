//! The SMTP client against a scripted relay on 127.0.0.1: what it sends, how each reply is
//! classified, and that `max_connections` really caps open sessions. The real SMTP server is
//! exercised by the main crate's integration tests.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use super::*;
use crate::{
    Outcome, RetryClass,
    email::{EmailMessage, EmailProvider},
};

const FROM: &str = "Mairie de Exemple <alertes@exemple.fr>";
const TO: &str = "jeanne.dupont@example.org";

/// How the scripted relay answers.
#[derive(Clone, Copy)]
struct Script {
    /// Time before the 220 greeting.
    greeting_delay: Duration,
    /// The reply to RCPT, or [`HANG_UP`].
    rcpt_reply: &'static str,
    /// Time between the end of DATA and the final reply.
    data_delay: Duration,
    /// The reply to the end of DATA, or [`HANG_UP`].
    data_reply: &'static str,
    /// What the relay does once a message is taken.
    after_message: &'static str,
}

/// Instead of a reply: close the connection.
const HANG_UP: &str = "(hang up)";
/// After a message: keep the session.
const STAY: &str = "(stay)";

const ACCEPT_ALL: Script = Script {
    greeting_delay: Duration::ZERO,
    rcpt_reply: "250 2.1.5 Ok",
    data_delay: Duration::ZERO,
    data_reply: "250 2.0.0 Ok: queued as 4F2C8",
    after_message: STAY,
};

struct Relay {
    url: String,
    /// Every message received after DATA, as raw text.
    messages: Arc<Mutex<Vec<String>>>,
    /// Every command line received, without its CRLF.
    commands: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    peak_open: Arc<AtomicUsize>,
}

async fn relay(script: Script) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let relay = Relay {
        url,
        messages: Arc::default(),
        commands: Arc::default(),
        connections: Arc::default(),
        peak_open: Arc::default(),
    };
    let (messages, commands, connections, peak) = (
        relay.messages.clone(),
        relay.commands.clone(),
        relay.connections.clone(),
        relay.peak_open.clone(),
    );
    let open = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            connections.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let (messages, commands, open) = (messages.clone(), commands.clone(), open.clone());
            tokio::spawn(async move {
                let _ = session(stream, script, messages, commands).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    relay
}

async fn session(
    stream: TcpStream,
    script: Script,
    messages: Arc<Mutex<Vec<String>>>,
    commands: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    tokio::time::sleep(script.greeting_delay).await;
    write.write_all(b"220 fake.test ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        commands.lock().unwrap().push(line.trim_end().to_owned());
        let command = line.trim_end().to_ascii_uppercase();
        let reply = if command.starts_with("EHLO") {
            "250-fake.test\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8".to_owned()
        } else if command.starts_with("AUTH") {
            "235 2.7.0 Authentication successful".to_owned()
        } else if command.starts_with("MAIL") {
            "250 2.1.0 Ok".to_owned()
        } else if command.starts_with("RCPT") {
            script.rcpt_reply.to_owned()
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                read.read_line(&mut line).await?;
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            tokio::time::sleep(script.data_delay).await;
            messages.lock().unwrap().push(data);
            if script.data_reply != HANG_UP && script.after_message != STAY {
                // Taken, then the session is closed (with a last word, if any), as a relay
                // does with a session it finds idle too long.
                let last_word = match script.after_message {
                    HANG_UP => String::new(),
                    word => format!("{word}\r\n"),
                };
                let bytes = format!("{}\r\n{last_word}", script.data_reply);
                write.write_all(bytes.as_bytes()).await?;
                return Ok(());
            }
            script.data_reply.to_owned()
        } else if command == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "250 2.0.0 Ok".to_owned()
        };
        if reply == HANG_UP {
            return Ok(());
        }
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

fn client(url: &str, tweak: impl FnOnce(&mut SmtpConfig)) -> SmtpEmail {
    let mut config = SmtpConfig::new(url, FROM);
    tweak(&mut config);
    SmtpEmail::new(config.validate().unwrap()).unwrap()
}

async fn send(smtp: &SmtpEmail) -> Outcome {
    let provider: &dyn EmailProvider = smtp;
    provider
        .send(EmailMessage {
            reference: "dlv_42",
            to: TO,
            subject: "Alerte crue : évacuez les quais",
            text: "Rendez-vous au gymnase.\nMairie de Exemple",
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
    let relay = relay(Script {
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

#[tokio::test]
async fn greylisting_is_transient() {
    let relay = relay(Script {
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
    assert_eq!(class, RetryClass::Transient { retry_after: None });
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
        .send(EmailMessage {
            reference: "dlv_1",
            to: "jeanne at example",
            subject: "s",
            text: "t",
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
        .send(EmailMessage {
            reference: "dlv 1\r\nBcc: x@y.z",
            to: TO,
            subject: "s",
            text: "t",
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
    assert_eq!(smtp.name(), "smtp");
}

#[tokio::test]
async fn a_session_the_relay_closed_while_idle_is_replaced_without_failing_the_send() {
    // With and without the 421 a relay may send as it closes an idle session (RFC 5321 §4.2.2).
    for last_word in [HANG_UP, "421 4.4.2 fake.test Error: timeout exceeded"] {
        let relay = relay(Script {
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
    let relay_a = relay(Script {
        rcpt_reply: HANG_UP,
        ..ACCEPT_ALL
    })
    .await;
    let (class, reason) = failure(send(&client(&relay_a.url, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("SMTP relay unreachable, not sent: "),
        "{reason}"
    );

    let relay_b = relay(Script {
        data_reply: HANG_UP,
        ..ACCEPT_ALL
    })
    .await;
    let (class, reason) = failure(send(&client(&relay_b.url, |_| {})).await);
    assert_eq!(class, RetryClass::Transient { retry_after: None });
    assert!(
        reason.starts_with("SMTP session broke: uncertain"),
        "{reason}"
    );
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
    assert_eq!(commands[0], "EHLO mairie.exemple.fr");
    // PLAIN (RFC 4616): NUL, user, NUL, password, in base64.
    assert_eq!(commands[1], "AUTH PLAIN AHVzZXIAcEBzcw==");
    assert!(commands[2].starts_with("MAIL FROM:<alertes@exemple.fr>"));
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
