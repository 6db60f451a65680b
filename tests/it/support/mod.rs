//! Test support: a fresh database and queue prefix per test, the real daemon on port 0, a real
//! SMTP server, and the smsmode stand-in.

#![allow(dead_code)]

mod forms;
mod paused_link;
mod postgres;
mod process;
mod smtp;

use std::{
    collections::{BTreeSet, HashMap},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use lapin::options::QueueDeclareOptions;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tocsin::{
    Config,
    api::KeyHasher,
    broker::{self, Topology},
    model::{Channel, Role, Slug},
    store,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use forms::PageVisitor;
pub use paused_link::PausedLink;
pub use postgres::PrivatePostgres;
pub use process::ServeProcess;
pub use smtp::{ReceivedMail, SmtpServer};
pub use tocsin_standins::smsmode::SmsmodeStandin;

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const SMSMODE_KEY: &str = "test-smsmode-key";

/// Retry tiers, lease and sweep of the tests' daemons: short, so that retries, crashes and
/// sweeps play out in seconds. The same values in TOML, for daemons run as a binary.
pub const RETRY_DELAYS_MS: [u64; 3] = [300, 600, 1200];
pub const LEASE_MS: u64 = 2000;
pub const SWEEP_INTERVAL_MS: u64 = 300;
pub fn dispatch_toml() -> String {
    format!(
        "retry_delays_ms = {RETRY_DELAYS_MS:?}\nlease_ms = {LEASE_MS}\nsweep_interval_ms = {SWEEP_INTERVAL_MS}\n"
    )
}

/// The daemon's `/metrics` page at `base` (its URL), as Prometheus reads it.
pub async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .expect("the daemon answers /metrics")
        .text()
        .await
        .unwrap()
}

/// `n` rows of a made-up alert, straight into the ledger, for tests of the store's statements.
pub async fn delivery_rows(db: &sqlx::PgPool, n: i64) -> Vec<tocsin::model::DeliveryId> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "INSERT INTO deliveries (alert_id, subscriber_id, channel, provider, address)
         SELECT $1, g, 'sms', 'smsmode', '+336' || lpad(g::text, 8, '0')
         FROM generate_series(1, $2) g RETURNING id",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(n)
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id,)| tocsin::model::DeliveryId(id))
        .collect()
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}_{}_{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// A database of one test's own, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A database of the test's own, migrated as `tocsin migrate` leaves it.
    pub async fn new() -> TestDb {
        let db = TestDb::unmigrated().await;
        let pool = db.pool().await;
        tocsin::store::migrate(&pool)
            .await
            .expect("migrate the test database");
        pool.close().await;
        db
    }

    /// A database of the test's own, created empty.
    pub async fn unmigrated() -> TestDb {
        let name = unique("tocsin_test_");
        let admin = sqlx::PgPool::connect(ADMIN_URL)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create the test database");
        admin.close().await;
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        TestDb { name, url }
    }

    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async: a short-lived runtime of its own does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(ADMIN_URL).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

/// The environment a test's daemon runs with: the test's database, queue prefix, stand-ins.
pub struct Env {
    pub db: TestDb,
    pub prefix: String,
    pub secret: String,
    pub smsmode: SmsmodeStandin,
    pub smtp: SmtpServer,
    /// Every provider account of every configuration made here: their queues go at the end.
    accounts: std::sync::Mutex<BTreeSet<(Channel, String)>>,
}

impl Env {
    pub async fn new() -> Env {
        Env {
            db: TestDb::new().await,
            prefix: format!("{}.", unique("t")),
            secret: hex::encode(rand::random::<[u8; 16]>()),
            smsmode: SmsmodeStandin::start(SMSMODE_KEY),
            smtp: SmtpServer::start().await,
            accounts: Default::default(),
        }
    }

    /// The variables a deployment would set, pointing at this test's components.
    pub fn vars(&self) -> HashMap<&'static str, String> {
        HashMap::from([
            ("TOCSIN_DATABASE_URL", self.db.url.clone()),
            // As the README asks of deployments on glibc: freed connection buffers are reused
            // and returned instead of staying in per-thread arenas.
            ("MALLOC_ARENA_MAX", "2".to_string()),
            ("TOCSIN_AMQP_URL", AMQP_URL.to_string()),
            ("TOCSIN_QUEUE_PREFIX", self.prefix.clone()),
            ("TOCSIN_API_KEY_SECRET", self.secret.clone()),
            ("TOCSIN_SMS_PROVIDER", "smsmode".to_string()),
            ("TOCSIN_EMAIL_PROVIDER", "smtp".to_string()),
            ("TOCSIN_SMSMODE_API_KEY", SMSMODE_KEY.to_string()),
            ("TOCSIN_SMSMODE_URL", self.smsmode.base_url()),
            (
                "TOCSIN_SMTP_URL",
                format!("smtp://127.0.0.1:{}", self.smtp.port),
            ),
            (
                "TOCSIN_EMAIL_FROM",
                "Mairie de Test <alertes@mairie-test.fr>".to_string(),
            ),
        ])
    }

    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    /// The configuration, with some variables changed. With a VAPID key, pushes may go to
    /// loopback, where the tests' push services listen.
    pub fn config_with(&self, overrides: &[(&'static str, &str)]) -> Config {
        let mut overrides = overrides.to_vec();
        if overrides
            .iter()
            .any(|(name, _)| *name == "TOCSIN_VAPID_PRIVATE_KEY")
            && !overrides
                .iter()
                .any(|(name, _)| *name == "TOCSIN_PUSH_ALLOW_LOOPBACK")
        {
            overrides.push(("TOCSIN_PUSH_ALLOW_LOOPBACK", "true"));
        }
        self.load_config(None, &overrides)
    }

    /// The configuration, with a TOML file's settings under the variables.
    pub fn config_with_file(&self, toml: &str) -> Config {
        self.config_with_file_and(toml, &[])
    }

    /// The configuration, with a TOML file's settings under the variables, some changed.
    pub fn config_with_file_and(&self, toml: &str, overrides: &[(&'static str, &str)]) -> Config {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), toml).unwrap();
        self.load_config(Some(file.path()), overrides)
    }

    fn load_config(
        &self,
        file: Option<&std::path::Path>,
        overrides: &[(&'static str, &str)],
    ) -> Config {
        let mut vars = self.vars();
        for (k, v) in overrides {
            vars.insert(k, v.to_string());
        }
        let mut config = Config::load_with(file, |name| vars.get(name).cloned())
            .expect("a valid test configuration");
        self.accounts.lock().unwrap().extend(
            config
                .accounts
                .iter()
                .map(|a| (a.channel().into(), a.name.clone())),
        );
        let dispatch = &mut config.dispatch;
        dispatch.retry.delays = RETRY_DELAYS_MS.map(Duration::from_millis).to_vec();
        dispatch.lease = Duration::from_millis(LEASE_MS);
        dispatch.sweep_interval = Duration::from_millis(SWEEP_INTERVAL_MS);
        config
    }

    pub async fn start(&self) -> Daemon {
        Daemon::start(self.config()).await
    }

    /// Creates a tenant with an admin key, as `tocsin tenant create` and `key create` do.
    pub async fn tenant(&self, daemon: &Daemon, slug: &str) -> Client {
        self.tenant_at(&daemon.url, slug).await
    }

    /// [`Env::tenant`], for a daemon at `url` (one started as a process).
    pub async fn tenant_at(&self, url: &str, slug: &str) -> Client {
        let db = self.db.pool().await;
        let slug = Slug::parse(slug).unwrap();
        create_tenant(&db, &slug, slug.as_str()).await;
        let key = self.key(slug.as_str(), Role::Admin).await;
        Client::new(url, &key)
    }

    pub async fn key(&self, tenant: &str, role: Role) -> String {
        let db = self.db.pool().await;
        let hasher = KeyHasher::new(self.key_ring().await);
        let tenant = store::tenants::find_by_slug(&db, tenant)
            .await
            .unwrap()
            .unwrap();
        let (key, hash) = hasher.generate();
        store::tenants::create_key(&db, tenant.id, role, &hash)
            .await
            .unwrap();
        key
    }

    /// A daemon with the OVH account `bras-ovh` (a stand-in of its API), asking it for replies
    /// every 200 ms, and the commune "bras" texting through it: the stand-in, the daemon and the
    /// commune's admin client.
    pub async fn commune_on_ovh(&self) -> (tocsin_standins::ovh::OvhStandin, Daemon, Client) {
        let (ak, secret, ck, service) = ("ovh-app", "ovh-secret", "ovh-consumer", "sms-ab12345-1");
        let ovh = tocsin_standins::ovh::OvhStandin::start(ak, secret, ck, service);
        let mut config = self.config_with_file(&format!(
            r#"
            [sms.accounts.bras-ovh]
            provider = "ovh"
            application_key = "{ak}"
            application_secret = "{secret}"
            consumer_key = "{ck}"
            service_name = "{service}"
            sender_for_response = true
            base_url = "{}"
            "#,
            ovh.base_url()
        ));
        config.dispatch.inbound_poll = Duration::from_millis(200);
        let daemon = Daemon::start(config).await;
        let mairie = self.tenant(&daemon, "bras").await;
        let change = store::tenants::SettingsChange {
            sms_account: Some(Some("bras-ovh".into())),
            ..Default::default()
        };
        store::tenants::update(&self.db.pool().await, "bras", &change)
            .await
            .unwrap();
        (ovh, daemon, mairie)
    }

    /// The tenant's callback token, derived from the server's secret as the daemon derives it.
    pub async fn callback_token(&self, slug: &str) -> String {
        let db = self.db.pool().await;
        let tenant = store::tenants::find_by_slug(&db, slug)
            .await
            .unwrap()
            .expect("the tenant");
        tocsin::model::CallbackTokens::new(self.key_ring().await)
            .token(tenant.id, tenant.callback_token_version)
    }

    /// The key ring of this test's database, as `tocsin` commands open it.
    pub async fn key_ring(&self) -> tocsin::model::keys::KeyRing {
        let db = self.db.pool().await;
        let secrets = store::key_versions::Secrets {
            current: self.secret.as_bytes(),
            previous: None,
        };
        store::key_versions::open(&db, secrets).await.unwrap()
    }

    /// The commune "bras" with the topic "intemperies" and `n` subscribers by phone
    /// (06 00 00 00 00, 06 00 00 00 01…), made through the API at `url`; its admin client.
    pub async fn commune(&self, url: &str, n: usize) -> Client {
        let db = self.db.pool().await;
        let slug = Slug::parse("bras").unwrap();
        create_tenant(&db, &slug, "Bras").await;
        let mairie = Client::new(url, &self.key("bras", Role::Admin).await);
        mairie.topic("intemperies").await;
        let csv: String = std::iter::once("phone,email,topics\n".to_string())
            .chain((0..n).map(|i| format!("06{i:08},,intemperies\n")))
            .collect();
        let report = mairie
            .post_raw("/v1/subscribers/import", "text/csv", csv)
            .await;
        assert_eq!(report.body["created"], n, "{}", report.body);
        mairie
    }

    /// Messages waiting in one of this test's queues.
    pub async fn queue_depth(&self, key: &str) -> u32 {
        let connection = broker::connect(AMQP_URL).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        let queue = Topology::new(self.prefix.clone()).queue(key);
        let declared = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .unwrap();
        declared.message_count()
    }
}

impl Drop for Env {
    /// Deletes this test's queues and exchange, for every provider a test may have routed to,
    /// even when the test failed.
    fn drop(&mut self) {
        let tiers: Vec<Duration> = RETRY_DELAYS_MS
            .map(Duration::from_millis)
            .into_iter()
            .chain(tocsin::dispatch::RetryPolicy::default().delays)
            .collect();
        let topology = Topology::new(self.prefix.clone()).with_retry_tiers(&tiers);
        // The accounts of the default configuration too: processes started with it made queues.
        let _ = self.config();
        let accounts = self.accounts.lock().unwrap().clone();
        let keys = topology.keys(accounts.iter().map(|(c, name)| (*c, name.as_str())));
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(broker::remove_topology(AMQP_URL, &topology, &keys));
        })
        .join();
    }
}

/// Creates a tenant without quiet hours: tests send routine alerts at any hour, and expect them
/// to leave at once (quiet hours have tests of their own).
pub async fn create_tenant(db: &sqlx::PgPool, slug: &Slug, name: &str) {
    store::tenants::create(db, slug, name).await.unwrap();
    let change = store::tenants::SettingsChange {
        quiet_hours: Some(None),
        ..Default::default()
    };
    store::tenants::update(db, slug.as_str(), &change)
        .await
        .unwrap();
}

/// The real daemon, started the way `tocsin serve` starts it, on a free port.
pub struct Daemon {
    pub url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), tocsin::daemon::StartError>>>,
}

impl Daemon {
    pub async fn start(config: Config) -> Daemon {
        Self::start_with_clock(config, tocsin::clock::Clock::System).await
    }

    /// A daemon whose schedules and timed alerts go by `clock`.
    pub async fn start_with_clock(config: Config, clock: tocsin::clock::Clock) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, config, clock).await
    }

    /// A daemon on a listener bound beforehand: for a configuration that must know the
    /// daemon's own address (its public URL, a redirect URI registered elsewhere).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        config: Config,
        clock: tocsin::clock::Clock,
    ) -> Daemon {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(tocsin::daemon::run_with_clock(
            config,
            listener,
            shutdown.clone(),
            clock,
        ));
        let daemon = Daemon {
            url,
            shutdown,
            task: Some(task),
        };
        daemon.wait_healthy().await;
        daemon
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.url)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("daemon task")
                .expect("daemon ran cleanly");
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An API client holding one tenant's key.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub key: String,
    /// Sent as `Tocsin-Tenant`: the tenant of the key's subtree the calls act on.
    pub tenant: Option<String>,
    http: reqwest::Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Client {
    pub fn new(url: &str, key: &str) -> Client {
        Client {
            url: url.to_string(),
            key: key.to_string(),
            tenant: None,
            http: reqwest::Client::new(),
        }
    }

    /// The same key, acting on another tenant of its subtree.
    pub fn acting_on(&self, slug: &str) -> Client {
        Client {
            tenant: Some(slug.to_string()),
            ..self.clone()
        }
    }

    pub fn with_key(&self, key: &str) -> Client {
        Client::new(&self.url, key)
    }

    /// The same key, talking to another instance.
    pub fn at(&self, url: &str) -> Client {
        Client::new(url, &self.key)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.tenant {
            Some(slug) => request.header("Tocsin-Tenant", slug),
            None => request,
        };
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("the API answers: {error:?}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.url)).json(&body))
            .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        self.send(
            self.http
                .post(format!("{}{path}", self.url))
                .header("Content-Type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.http.delete(format!("{}{path}", self.url)))
            .await
    }

    pub async fn topic(&self, slug: &str) {
        let a = self
            .post("/v1/topics", json!({ "slug": slug, "name": slug }))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }

    pub async fn subscriber(
        &self,
        phone: Option<&str>,
        email: Option<&str>,
        topics: &[&str],
    ) -> Value {
        let a = self
            .post(
                "/v1/subscribers",
                json!({ "phone": phone, "email": email, "topics": topics }),
            )
            .await;
        assert!(a.status.is_success(), "{}", a.body);
        a.body
    }

    /// Sends an alert and returns its id.
    pub async fn alert(&self, body: Value) -> String {
        let a = self.post("/v1/alerts", body).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// Polls the alert until every delivery left the queue.
    pub async fn wait_completed(&self, id: &str) -> Value {
        self.wait_completed_within(id, Duration::from_secs(60))
            .await
    }

    pub async fn wait_completed_within(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let a = self.get(&format!("/v1/alerts/{id}")).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            if a.body["status"] == "completed" {
                return a.body;
            }
            assert!(
                Instant::now() < deadline,
                "alert not completed in time: {}",
                a.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Polls `check` until it holds, or fails the test with `what`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn secret_of(config: &Config) -> String {
    config
        .api_key_secret
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_string()
}

/// A RabbitMQ virtual host of one test's own, removed when dropped: a test may cut it off
/// (its connections closed, access refused) without disturbing the tests running beside it.
pub struct Vhost {
    pub name: String,
}

fn rabbitmqctl(args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Vhost {
    pub fn create() -> Vhost {
        let name = unique("tocsin_vhost_");
        rabbitmqctl(&["add_vhost", &name]);
        let vhost = Vhost { name };
        vhost.open();
        vhost
    }

    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }

    /// The broker, as this vhost's clients see it, goes away: connections closed, new ones
    /// refused.
    pub fn cut_off(&self) {
        rabbitmqctl(&["clear_permissions", "-p", &self.name, "guest"]);
        rabbitmqctl(&[
            "close_all_connections",
            "--vhost",
            &self.name,
            "broker outage (test)",
        ]);
    }

    /// The broker loses everything of the virtual host (as a lost disk does: its definitions and
    /// messages), then an admin restores it empty, with guest's permissions.
    pub fn lose_and_restore(&self) {
        rabbitmqctl(&["delete_vhost", &self.name]);
        rabbitmqctl(&["add_vhost", &self.name]);
        self.open();
    }

    /// The broker comes back.
    pub fn open(&self) {
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &self.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ]);
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["-q", "delete_vhost", &self.name])
            .output();
    }
}

/// Polls `check` until it gives a value, within `timeout`.
pub async fn eventually_value<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
