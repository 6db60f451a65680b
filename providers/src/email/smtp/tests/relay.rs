//! The scripted relay the tests send to: a fake SMTP server on 127.0.0.1 that answers as its
//! [`Script`] says and records what it received, and how it arrived.

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

/// How the scripted relay answers.
#[derive(Clone, Copy)]
pub(super) struct Script {
    /// Time before the 220 greeting.
    pub(super) greeting_delay: Duration,
    /// Whether EHLO offers PIPELINING (RFC 2920), as postfix and most relays do.
    pub(super) pipelining: bool,
    /// Whether a second EHLO in a session is refused ("503 Duplicate HELO/EHLO"), as some
    /// servers do.
    pub(super) refuses_second_ehlo: bool,
    /// The reply to MAIL, or [`HANG_UP`].
    pub(super) mail_reply: &'static str,
    /// The reply to RCPT, or [`HANG_UP`].
    pub(super) rcpt_reply: &'static str,
    /// The reply to RCPT once the relay has taken a message, if not `rcpt_reply`.
    pub(super) later_rcpt_reply: Option<&'static str>,
    /// Whether RCPT and DATA are answered whatever came before. A real relay refuses RCPT
    /// after a refused MAIL, and DATA when no recipient was accepted (RFC 5321 §3.3); a sloppy
    /// one answers DATA with 354 anyway.
    pub(super) sloppy: bool,
    /// Time between the end of DATA and the final reply.
    pub(super) data_delay: Duration,
    /// The reply to the end of DATA, or [`HANG_UP`].
    pub(super) data_reply: &'static str,
    /// The reply to the end of the first message the relay gets, if not `data_reply`.
    pub(super) first_data_reply: Option<&'static str>,
    /// What the relay does once a message is taken.
    pub(super) after_message: &'static str,
}

/// Instead of a reply: close the connection.
pub(super) const HANG_UP: &str = "(hang up)";
/// After a message: keep the session.
pub(super) const STAY: &str = "(stay)";

pub(super) const ACCEPT_ALL: Script = Script {
    greeting_delay: Duration::ZERO,
    pipelining: true,
    refuses_second_ehlo: false,
    mail_reply: "250 2.1.0 Ok",
    rcpt_reply: "250 2.1.5 Ok",
    later_rcpt_reply: None,
    sloppy: false,
    data_delay: Duration::ZERO,
    data_reply: "250 2.0.0 Ok: queued as 4F2C8",
    first_data_reply: None,
    after_message: STAY,
};

pub(super) struct Relay {
    pub(super) url: String,
    /// Every message received after DATA, as raw text.
    pub(super) messages: Arc<Mutex<Vec<String>>>,
    /// Every command line received, without its CRLF.
    pub(super) commands: Arc<Mutex<Vec<String>>>,
    /// The same lines, grouped by arrival: lines that were already waiting together when the
    /// relay read the first of them share a group (one write of a pipelining client).
    pub(super) groups: Arc<Mutex<Vec<Vec<String>>>>,
    pub(super) connections: Arc<AtomicUsize>,
    pub(super) peak_open: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    /// Messages whose final "." arrived with more behind it in the same write: the next
    /// message's envelope, pipelined.
    pub(super) followed_by_commands: Arc<AtomicUsize>,
}

impl Relay {
    /// The first four letters of each line of each group: `[["EHLO"], ["MAIL", "RCPT", …]]`.
    pub(super) fn verbs(&self) -> Vec<Vec<String>> {
        let groups = self.groups.lock().unwrap();
        groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|line| line.get(..4).unwrap_or(line).to_owned())
                    .collect()
            })
            .collect()
    }

    /// Waits until every session has ended, so that what was recorded is all there will be.
    /// Panics if one stays open (a guard against a hung test, not a measure of speed).
    pub(super) async fn closed(&self) {
        let all_closed = async {
            while self.open.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), all_closed)
            .await
            .expect("the client closed its sessions");
    }
}

/// Starts a relay on a free port.
pub(super) async fn relay(script: Script) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let relay = Relay {
        url,
        messages: Arc::default(),
        commands: Arc::default(),
        groups: Arc::default(),
        connections: Arc::default(),
        peak_open: Arc::default(),
        open: Arc::default(),
        followed_by_commands: Arc::default(),
    };
    let record = Record {
        messages: relay.messages.clone(),
        commands: relay.commands.clone(),
        groups: relay.groups.clone(),
        followed_by_commands: relay.followed_by_commands.clone(),
    };
    let (connections, peak, open) = (
        relay.connections.clone(),
        relay.peak_open.clone(),
        relay.open.clone(),
    );
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            connections.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let (record, open) = (record.clone(), open.clone());
            tokio::spawn(async move {
                let _ = session(stream, script, record).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    relay
}

#[derive(Clone)]
struct Record {
    messages: Arc<Mutex<Vec<String>>>,
    commands: Arc<Mutex<Vec<String>>>,
    groups: Arc<Mutex<Vec<Vec<String>>>>,
    followed_by_commands: Arc<AtomicUsize>,
}

async fn session(stream: TcpStream, script: Script, record: Record) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    tokio::time::sleep(script.greeting_delay).await;
    write.write_all(b"220 fake.test ESMTP\r\n").await?;
    let mut line = String::new();
    let (mut greeted, mut has_sender, mut has_recipient) = (false, false, false);
    let mut group = 0;
    loop {
        line.clear();
        // Nothing waiting in the buffer: this line comes from a new read.
        let fresh = read.buffer().is_empty();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let text = line.trim_end().to_owned();
        record.commands.lock().unwrap().push(text.clone());
        {
            let mut groups = record.groups.lock().unwrap();
            if fresh {
                group = groups.len();
                groups.push(Vec::new());
            }
            groups[group].push(text);
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply = if command.starts_with("EHLO") {
            if greeted && script.refuses_second_ehlo {
                "503 5.5.1 Duplicate HELO/EHLO".to_owned()
            } else {
                greeted = true;
                let pipelining = if script.pipelining {
                    "250-PIPELINING\r\n"
                } else {
                    ""
                };
                format!(
                    "250-fake.test\r\n{pipelining}250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8"
                )
            }
        } else if command.starts_with("AUTH") {
            "235 2.7.0 Authentication successful".to_owned()
        } else if command.starts_with("MAIL") {
            has_sender = script.mail_reply.starts_with('2');
            script.mail_reply.to_owned()
        } else if command.starts_with("RCPT") {
            if !has_sender && !script.sloppy {
                "503 5.5.1 Error: need MAIL command".to_owned()
            } else {
                let reply = match script.later_rcpt_reply {
                    Some(reply) if !record.messages.lock().unwrap().is_empty() => reply,
                    _ => script.rcpt_reply,
                };
                has_recipient |= reply.starts_with('2');
                reply.to_owned()
            }
        } else if command == "DATA" && !has_recipient && !script.sloppy {
            // Postfix's words.
            "554 5.5.1 Error: no valid recipients".to_owned()
        } else if command == "DATA" {
            (has_sender, has_recipient) = (false, false);
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if read.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    if !read.buffer().is_empty() {
                        record.followed_by_commands.fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
                data.push_str(&line);
            }
            tokio::time::sleep(script.data_delay).await;
            let data_reply = {
                let mut messages = record.messages.lock().unwrap();
                messages.push(data);
                match script.first_data_reply {
                    Some(reply) if messages.len() == 1 => reply,
                    _ => script.data_reply,
                }
            };
            if data_reply != HANG_UP && script.after_message != STAY {
                // Taken, then the session is closed (with a last word, if any), as a relay
                // does with a session it finds idle too long.
                let last_word = match script.after_message {
                    HANG_UP => String::new(),
                    word => format!("{word}\r\n"),
                };
                let bytes = format!("{data_reply}\r\n{last_word}");
                write.write_all(bytes.as_bytes()).await?;
                return Ok(());
            }
            data_reply.to_owned()
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
