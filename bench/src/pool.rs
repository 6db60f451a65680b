//! The pool run (`--accounts N --rate R`): N smsmode accounts, each a stand-in that answers 429
//! past R requests a second, carried by the daemon as one pool. How close the pool comes to
//! N × R, and whether it stays under each account's limit, says whether fan-out spreads an
//! alert over the accounts in proportion to their limits and each account's token bucket holds.
//!
//! The daemon gets the pool in a configuration file of its own (config_file.rs).

use super::config_file::table;

/// The pool's name in routing, and the prefix of its accounts' names.
pub const POOL: &str = "bench";
/// How long the pool run sends at the pool's full rate: long enough that the 10 %–90 % part
/// (12 s) dwarfs the start and the tail, short enough to stay a side measurement.
pub const POOL_SECONDS: f64 = 15.0;

/// What `--accounts` and `--rate` asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolOptions {
    /// Accounts in the pool, at least 2.
    pub accounts: usize,
    /// Each account's limit, messages per second.
    pub per_second: f64,
}

impl PoolOptions {
    /// Recipients for [`POOL_SECONDS`] of sending at N × R (9,000 for 3 × 200/s), rounded up to
    /// a hundred.
    pub fn subscribers(&self) -> u64 {
        let n = (POOL_SECONDS * self.accounts as f64 * self.per_second).ceil() as u64;
        n.div_ceil(100).max(1) * 100
    }

    /// Each stand-in's limit: R, rounded down when R is not whole, so that the stand-in is
    /// never more lenient than the account's configured rate.
    pub fn standin_limit(&self) -> usize {
        (self.per_second.floor() as usize).max(1)
    }

    pub fn account_name(index: usize) -> String {
        format!("pool-{}", index + 1)
    }

    pub fn api_key(index: usize) -> String {
        format!("bench-pool-{}-key", index + 1)
    }
}

/// The pool's accounts, limits and routing added to `base` (the operator's configuration, or
/// an empty one): what `[sms.accounts.*]`, `[limits.*]`, `[sms.pools.bench]` and
/// `[routing] sms` say is the brief's configuration, one account per stand-in URL.
pub fn config_table(
    mut base: toml::Table,
    options: &PoolOptions,
    base_urls: &[String],
) -> anyhow::Result<toml::Table> {
    use toml::Value;
    let names: Vec<String> = (0..base_urls.len())
        .map(PoolOptions::account_name)
        .collect();
    for (i, (name, url)) in names.iter().zip(base_urls).enumerate() {
        let mut account = toml::Table::new();
        account.insert("provider".into(), "smsmode".into());
        account.insert("api_key".into(), PoolOptions::api_key(i).into());
        account.insert("base_url".into(), url.clone().into());
        let sms = table(&mut base, "sms")?;
        table(sms, "accounts")?.insert(name.clone(), Value::Table(account));
        let mut limit = toml::Table::new();
        limit.insert("per_second".into(), options.per_second.into());
        table(&mut base, "limits")?.insert(name.clone(), Value::Table(limit));
    }
    let mut pool = toml::Table::new();
    pool.insert(
        "accounts".into(),
        Value::Array(names.into_iter().map(Value::String).collect()),
    );
    let sms = table(&mut base, "sms")?;
    table(sms, "pools")?.insert(POOL.into(), Value::Table(pool));
    table(&mut base, "routing")?.insert("sms".into(), POOL.into());
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: PoolOptions = PoolOptions {
        accounts: 3,
        per_second: 200.0,
    };

    #[test]
    fn the_pool_run_sends_about_fifteen_seconds_at_the_pool_s_rate() {
        assert_eq!(THREE.subscribers(), 9_000);
        let odd = PoolOptions {
            accounts: 2,
            per_second: 33.3,
        };
        assert_eq!((odd.subscribers(), odd.standin_limit()), (1_000, 33));
        let slow = PoolOptions {
            accounts: 2,
            per_second: 5.0,
        };
        assert_eq!(slow.subscribers(), 200);
    }

    #[test]
    fn the_configuration_is_the_operator_s_with_the_pool_added() {
        let base: toml::Table = "queue_prefix = \"x.\"\n[routing]\nsms = \"smsmode\"\n\
                                 [sms.smsmode]\napi_key = \"k\"\n"
            .parse()
            .unwrap();
        let urls: Vec<String> = (1..=3).map(|p| format!("http://127.0.0.1:{p}")).collect();
        let table = config_table(base, &THREE, &urls).unwrap();
        let expected: toml::Table = r#"
            queue_prefix = "x."
            [routing]
            sms = "bench"
            [sms.smsmode]
            api_key = "k"
            [sms.accounts.pool-1]
            provider = "smsmode"
            api_key = "bench-pool-1-key"
            base_url = "http://127.0.0.1:1"
            [sms.accounts.pool-2]
            provider = "smsmode"
            api_key = "bench-pool-2-key"
            base_url = "http://127.0.0.1:2"
            [sms.accounts.pool-3]
            provider = "smsmode"
            api_key = "bench-pool-3-key"
            base_url = "http://127.0.0.1:3"
            [limits.pool-1]
            per_second = 200.0
            [limits.pool-2]
            per_second = 200.0
            [limits.pool-3]
            per_second = 200.0
            [sms.pools.bench]
            accounts = ["pool-1", "pool-2", "pool-3"]
        "#
        .parse()
        .unwrap();
        assert_eq!(table, expected);
        let bad: toml::Table = "sms = 3".parse().unwrap();
        assert!(config_table(bad, &THREE, &urls).is_err());
    }

    /// The accounts and limits are what today's configuration reads; the pool table itself is
    /// the pool code's to accept (the benchmark checks the whole file before it starts).
    #[test]
    fn the_accounts_and_limits_are_valid_configuration() {
        let urls: Vec<String> = (1..=3).map(|p| format!("http://127.0.0.1:{p}")).collect();
        let mut table = config_table(toml::Table::new(), &THREE, &urls).unwrap();
        table["sms"].as_table_mut().unwrap().remove("pools");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.toml");
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        let env = |name: &str| match name {
            "TOCSIN_SMS_PROVIDER" => Some("pool-2".to_string()),
            "TOCSIN_EMAIL_PROVIDER" => Some("simulator".to_string()),
            "TOCSIN_EMAIL_SIMULATOR_ENABLED" => Some("true".to_string()),
            _ => None,
        };
        let config = tocsin::config::Config::load_with(Some(&path), env).unwrap();
        let mut names: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
        names.retain(|n| n.starts_with("pool-"));
        assert_eq!(names, ["pool-1", "pool-2", "pool-3"]);
        assert_eq!(config.limits["pool-3"].per_second, Some(200.0));
    }
}
