//! `tocsin serve` run as a process, as in production: for the tests that kill it, stop it with
//! SIGTERM, or run several at once.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use super::{Env, dispatch_toml, eventually};

/// A running `tocsin serve`; killed when dropped.
pub struct ServeProcess {
    child: Child,
    pub url: String,
    _config: tempfile::NamedTempFile,
}

impl ServeProcess {
    /// Starts one with the environment's variables plus `extra`, and a configuration file of
    /// the tests' dispatch settings followed by `toml` (more `[dispatch]` keys first, then any
    /// other section); returns once it answers.
    pub async fn start(env: &Env, toml: &str, extra: &[(&str, &str)]) -> ServeProcess {
        Self::start_limited(env, toml, extra, None).await
    }

    /// [`ServeProcess::start`], with the process's open files limited to `files` (soft and
    /// hard), as a host's `LimitNOFILE` would.
    pub async fn start_with_file_limit(
        env: &Env,
        toml: &str,
        extra: &[(&str, &str)],
        files: u64,
    ) -> ServeProcess {
        Self::start_limited(env, toml, extra, Some(files)).await
    }

    async fn start_limited(
        env: &Env,
        toml: &str,
        extra: &[(&str, &str)],
        files: Option<u64>,
    ) -> ServeProcess {
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            config.path(),
            format!("[dispatch]\n{}{toml}", dispatch_toml()),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = match files {
            // prlimit sets the limit, then runs the daemon in its place (same pid).
            Some(files) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--nofile={files}:{files}"));
                command.arg(env!("CARGO_BIN_EXE_tocsin"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_tocsin")),
        };
        let child = command
            .args(["--config", config.path().to_str().unwrap(), "serve"])
            .envs(env.vars())
            .envs(extra.iter().copied())
            .env("TOCSIN_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        eventually("tocsin serve is up", Duration::from_secs(30), || async {
            reqwest::get(format!("{url}/healthz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        ServeProcess {
            child,
            url,
            _config: config,
        }
    }

    /// Files the daemon has open now.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("the daemon's /proc fd")
            .count()
    }

    /// The daemon's resident memory, in bytes (VmRSS).
    pub fn resident_bytes(&self) -> u64 {
        self.status_bytes("VmRSS:")
    }

    /// The daemon's own resident memory, heap and stacks (RssAnon): unlike VmRSS, without the
    /// pages of its binary, which grow with its code.
    pub fn anonymous_bytes(&self) -> u64 {
        self.status_bytes("RssAnon:")
    }

    /// A `kB` line of the daemon's /proc status, in bytes.
    fn status_bytes(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the daemon's /proc status");
        let kb: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"));
        kb * 1024
    }

    /// SIGKILL: no shutdown at all, as a crash or an out-of-memory kill.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator stops it; waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
