//! A PostgreSQL server of one test's own, for tests that stop and start it: the shared server
//! serves every other test running in parallel and must stay up.

use std::{path::PathBuf, process::Command};

pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    pub port: u16,
}

fn bin(name: &str) -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL is installed");
    let mut versions: Vec<PathBuf> = versions.flatten().map(|e| e.path()).collect();
    versions.sort();
    versions.last().unwrap().join("bin").join(name)
}

/// Runs a PostgreSQL tool as the `postgres` user (the server refuses to run as root).
fn as_postgres(command: &str) {
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--", "sh", "-c", command])
        .status()
        .expect("runuser runs");
    assert!(status.success(), "{command}");
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Command::new("chown")
            .args(["postgres:postgres", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        let data = dir.path().join("data");
        as_postgres(&format!(
            "{} -D {} -A trust -U postgres >/dev/null",
            bin("initdb").display(),
            data.display()
        ));
        let server = PrivatePostgres { dir, port };
        server.start_again();
        server
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn start_again(&self) {
        as_postgres(&format!(
            "{} -D {} -l {} -w -o '-p {} -k {} -c listen_addresses=127.0.0.1' start >/dev/null",
            bin("pg_ctl").display(),
            self.dir.path().join("data").display(),
            self.dir.path().join("log").display(),
            self.port,
            self.dir.path().display()
        ));
    }

    pub fn stop(&self) {
        as_postgres(&format!(
            "{} -D {} -m fast -w stop >/dev/null",
            bin("pg_ctl").display(),
            self.dir.path().join("data").display()
        ));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin("pg_ctl"))
            .args(["-D", self.dir.path().join("data").to_str().unwrap()])
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
