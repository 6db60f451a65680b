//! The processes the benchmark runs beside itself: postfix's SMTP sink and the daemon under
//! test, each a real process so that its memory can be read.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A free TCP port on the loopback interface.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts connections on `addr`.
pub async fn wait_for_port(addr: &str, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not start listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Kills the child when dropped, whatever happened.
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// postfix's `smtp-sink`: an SMTP server that accepts and discards, as fast as it can.
pub async fn start_smtp_sink() -> anyhow::Result<(Guarded, u16)> {
    let port = free_port()?;
    let child = Command::new("smtp-sink")
        // smtp-sink refuses to run as root without a user to switch to.
        .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "1024"])
        .stdout(Stdio::null())
        .spawn()
        .context(
            "cannot run smtp-sink: install Debian's postfix package (apt-get install postfix)",
        )?;
    let sink = Guarded(child);
    wait_for_port(&format!("127.0.0.1:{port}"), "smtp-sink").await?;
    Ok((sink, port))
}

/// `tocsin serve` as a child process: the `tocsin` binary beside this one, of the same build.
pub struct DaemonProcess {
    child: Guarded,
    pub url: String,
    pub pid: u32,
}

impl DaemonProcess {
    pub async fn start(
        config: Option<&Path>,
        env: &[(&str, String)],
        log: &Path,
    ) -> anyhow::Result<DaemonProcess> {
        let port = free_port()?;
        let exe = std::env::current_exe()?.with_file_name("tocsin");
        anyhow::ensure!(
            exe.exists(),
            "no daemon to measure at {}: build it first (cargo build --release)",
            exe.display()
        );
        let mut command = Command::new(exe);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        command
            .args(["--log-format", "json", "serve"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
            // The stand-ins call back here (TwiML, status callbacks), whatever the operator's
            // file says the public URL is.
            .env("TOCSIN_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(log)
                    .with_context(|| format!("cannot write {}", log.display()))?,
            );
        let child = command.spawn()?;
        let daemon = DaemonProcess {
            pid: child.id(),
            child: Guarded(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", daemon.url)).send().await
                && r.status().is_success()
            {
                return Ok(daemon);
            }
            if Instant::now() > deadline {
                bail!("the daemon did not come up; see {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The daemon's peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.0.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .context("no VmHWM line")?;
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .context("VmHWM value")?
            .parse()?;
        Ok(kb * 1024)
    }

    /// Asks the daemon to stop (SIGTERM) and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.0.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.0.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("the daemon did not stop within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}
