//! Whether the services Tocsin stands on (PostgreSQL, RabbitMQ) answer, said plainly: which
//! one, where, and the command that starts it. A newcomer's first `tocsin demo` on a machine
//! where one is installed but stopped either starts it (as tests/run does) or says so at once,
//! instead of retrying for ever.

use std::{
    net::IpAddr,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// How long a probe waits for a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a service started here gets to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A service named by its URL: what it is and where, never its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub host: String,
    pub port: u16,
    default_port: u16,
    /// PostgreSQL's Unix socket, when the URL names a directory (`?host=/run/postgresql`).
    socket: Option<PathBuf>,
}

impl Service {
    /// PostgreSQL at `database_url` (`postgres://…`).
    pub fn postgres(database_url: &str) -> anyhow::Result<Service> {
        Service::at("PostgreSQL", database_url, 5432)
    }

    /// RabbitMQ at `amqp_url` (`amqp://…`).
    pub fn rabbitmq(amqp_url: &str) -> anyhow::Result<Service> {
        Service::at("RabbitMQ", amqp_url, 5672)
    }

    fn at(name: &'static str, url: &str, default_port: u16) -> anyhow::Result<Service> {
        // Never quote the URL: it may hold a password.
        let parsed = url::Url::parse(url).with_context(|| format!("{name}'s URL is not a URL"))?;
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .unwrap_or("localhost")
            .trim_matches(['[', ']'])
            .to_owned();
        // Parameters win over the URL's parts, as in libpq and sqlx: a `host` that is a path
        // names the socket's directory.
        let parameter = |name: &str| {
            parsed
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let port = parameter("port")
            .and_then(|port| port.parse().ok())
            .or(parsed.port())
            .unwrap_or(default_port);
        let socket = parameter("host")
            .filter(|host| host.starts_with('/'))
            .map(|dir| PathBuf::from(dir).join(format!(".s.PGSQL.{port}")));
        Ok(Service {
            name,
            port,
            host,
            default_port,
            socket,
        })
    }

    /// `127.0.0.1:5672`, or the socket's path.
    pub fn address(&self) -> String {
        if let Some(socket) = &self.socket {
            return socket.display().to_string();
        }
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// The machine's own service at its usual port: the one an installed package runs, which
    /// this machine may start.
    pub fn is_local_default(&self) -> bool {
        (self.socket.is_some() || self.is_loopback_tcp()) && self.port == self.default_port
    }

    /// Reached over TCP on this machine's loopback (`localhost`, 127.0.0.0/8, `::1`), not
    /// through a Unix socket.
    pub fn is_loopback_tcp(&self) -> bool {
        self.socket.is_none()
            && (self.host == "localhost"
                || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
    }

    /// The command that starts it on a Debian machine, as an operator would type it.
    pub fn start_command(&self) -> String {
        match self.name {
            "PostgreSQL" => format!(
                "pg_ctlcluster {} main start (or: systemctl start postgresql)",
                postgres_version().unwrap_or_else(|| "<version>".into())
            ),
            _ => "rabbitmq-server -detached (or: systemctl start rabbitmq-server)".into(),
        }
    }

    /// What to tell someone for whom it does not answer.
    pub fn unreachable(&self, why: &str) -> String {
        let fix = if self.is_local_default() {
            format!("start it: {}", self.start_command())
        } else {
            "start it there, or point the configuration at one that runs".to_string()
        };
        format!(
            "{} does not answer at {} ({why}); {fix}",
            self.name,
            self.address()
        )
    }

    /// Whether something accepts connections at its address, within a few seconds.
    pub async fn probe(&self) -> Result<(), String> {
        let connect = async {
            match &self.socket {
                Some(socket) => tokio::net::UnixStream::connect(socket).await.map(drop),
                None => tokio::net::TcpStream::connect(self.address())
                    .await
                    .map(drop),
            }
        };
        match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        }
    }

    /// Starts the machine's own service, installed but stopped, and waits until it accepts
    /// connections.
    async fn start_here(&self) -> anyhow::Result<()> {
        let mut command = match self.name {
            "PostgreSQL" => {
                let version = postgres_version().context("no cluster in /etc/postgresql")?;
                let mut command = Command::new("pg_ctlcluster");
                command.args(["--skip-systemctl-redirect", &version, "main", "start"]);
                command
            }
            _ => {
                let mut command = Command::new("rabbitmq-server");
                command.arg("-detached");
                command
            }
        };
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", self.start_command()))?;
        if !status.success() {
            bail!("{} failed: {status}", self.start_command());
        }
        let started = Instant::now();
        while self.probe().await.is_err() {
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "{} was started but does not answer at {} after {} s",
                    self.name,
                    self.address(),
                    START_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }
}

/// The first PostgreSQL cluster version installed (`/etc/postgresql/15`).
fn postgres_version() -> Option<String> {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions.into_iter().next()
}

/// For the demo: each service answers, or is started here when it is this machine's own,
/// installed and stopped; otherwise an error naming what is missing and how to start it.
pub async fn ensure_running(services: &[Service]) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for service in services {
        let Err(why) = service.probe().await else {
            continue;
        };
        if service.is_local_default() {
            eprintln!(
                "{} does not answer at {}: starting it ({})",
                service.name,
                service.address(),
                service.start_command()
            );
            match service.start_here().await {
                Ok(()) => continue,
                Err(error) => eprintln!("  could not start it: {error:#}"),
            }
        }
        missing.push(service.unreachable(&why));
    }
    if !missing.is_empty() {
        bail!("{}", missing.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_named_by_where_it_is_never_by_its_credentials() {
        let rabbit = Service::rabbitmq("amqp://guest:s3cret@127.0.0.1:5672/%2f").unwrap();
        assert_eq!(rabbit.address(), "127.0.0.1:5672");
        assert!(rabbit.is_local_default());
        let told = rabbit.unreachable("Connection refused");
        assert!(
            told.starts_with("RabbitMQ does not answer at 127.0.0.1:5672 (Connection refused)")
        );
        assert!(told.contains("rabbitmq-server -detached") && !told.contains("s3cret"));

        let pg = Service::postgres("postgres://tocsin:pw@localhost/tocsin").unwrap();
        assert_eq!(
            (pg.address(), pg.is_local_default()),
            ("localhost:5432".into(), true)
        );
        assert!(pg.unreachable("refused").contains("pg_ctlcluster"));

        // Another port or another machine is not this machine's service: nothing is started.
        let other_port = Service::rabbitmq("amqp://127.0.0.1:5999/%2f").unwrap();
        let remote = Service::postgres("postgres://db.example.org/tocsin").unwrap();
        let v6 = Service::postgres("postgres://[::1]:5432/tocsin").unwrap();
        assert!(!other_port.is_local_default() && !remote.is_local_default());
        assert!(other_port.unreachable("refused").contains("start it there"));
        assert_eq!(
            (v6.address(), v6.is_local_default()),
            ("[::1]:5432".into(), true)
        );
        assert!(Service::postgres("not a url").is_err());
    }

    /// The Debian package's database URL: the local socket, peer authentication.
    #[tokio::test]
    async fn a_socket_directory_is_probed_at_its_socket() {
        let pg = Service::postgres("postgres:///tocsin?host=/run/postgresql").unwrap();
        assert_eq!(
            (pg.address(), pg.is_local_default()),
            ("/run/postgresql/.s.PGSQL.5432".into(), true)
        );
        let dir = tempfile::tempdir().unwrap();
        let url = format!("postgres:///tocsin?host={}&port=5999", dir.path().display());
        let pg = Service::postgres(&url).unwrap();
        assert!(pg.probe().await.is_err());
        let _listening =
            std::os::unix::net::UnixListener::bind(dir.path().join(".s.PGSQL.5999")).unwrap();
        assert_eq!(pg.probe().await, Ok(()));
    }
}
