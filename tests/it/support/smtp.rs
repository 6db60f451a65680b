//! A real SMTP server for the tests: aiosmtpd (Python) in a child process, one per test.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Deserialize;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The whole message as received (headers and body).
    pub data: String,
    /// The plain-text body, decoded.
    #[serde(default)]
    pub text: String,
    /// The headers, decoded (the first of each name).
    #[serde(default)]
    pub headers: std::collections::HashMap<String, String>,
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    _child: Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/support/smtp_server.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP server starts")
            .unwrap()
            .expect("the SMTP server prints READY (is aiosmtpd installed?)");
        let port = first
            .strip_prefix("READY ")
            .expect("READY <port>")
            .trim()
            .parse()
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mail) = serde_json::from_str::<ReceivedMail>(&line) {
                    sink.lock().unwrap().push(mail);
                }
            }
        });
        SmtpServer {
            port,
            received,
            _child: child,
        }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} e-mails, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
