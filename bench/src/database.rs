//! The benchmark's database: the configured one's sibling (`…_bench`), reached the way the
//! package reaches a PostgreSQL on its own machine.

use anyhow::Context;
use tocsin::{reach::Service, store};

/// The sibling of the configured database. On the same machine (a loopback host) and with no
/// `sslmode` chosen in the URL or in `PGSSLMODE`, TLS is left off: the package names the Unix
/// socket (`deploy/debian/tocsin.toml`), where there is none, while TCP to 127.0.0.1 would
/// negotiate it (sqlx's default is `prefer`) and spend the daemon's and PostgreSQL's CPU
/// encrypting what never leaves the machine: a tenth of the daemon's, measured on e-mail.
pub fn url(configured: &str) -> anyhow::Result<String> {
    let sibling =
        store::sibling_database_url(configured, "bench").context("database_url is not a URL")?;
    Ok(without_loopback_tls(
        &sibling,
        std::env::var_os("PGSSLMODE").is_some(),
    ))
}

fn without_loopback_tls(url: &str, mode_from_environment: bool) -> String {
    let on_loopback = Service::postgres(url).is_ok_and(|db| db.is_loopback_tcp());
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let chosen = mode_from_environment || parsed.query_pairs().any(|(key, _)| key == "sslmode");
    if !on_loopback || chosen {
        return url.to_owned();
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_left_off_on_loopback_unless_a_mode_was_chosen() {
        let off = |url| without_loopback_tls(url, false);
        assert_eq!(
            off("postgres://postgres@127.0.0.1:5432/tocsin_bench"),
            "postgres://postgres@127.0.0.1:5432/tocsin_bench?sslmode=disable"
        );
        assert_eq!(
            off("postgres://u:p@localhost/t?application_name=b"),
            "postgres://u:p@localhost/t?application_name=b&sslmode=disable"
        );
        assert_eq!(
            off("postgres://[::1]/t"),
            "postgres://[::1]/t?sslmode=disable"
        );
        for kept in [
            "postgres://db.example.org/t",
            "postgres://10.0.0.5/t",
            "postgres://127.0.0.1/t?sslmode=require",
            "postgres:///t?host=/run/postgresql",
        ] {
            assert_eq!(off(kept), kept);
        }
        assert_eq!(
            without_loopback_tls("postgres://127.0.0.1/t", true),
            "postgres://127.0.0.1/t"
        );
    }
}
