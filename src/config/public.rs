//! `[public]`: the caps on what the public can make the platform send.

use serde::Deserialize;

use super::{ConfigError, invalid};
use crate::dispatch::policy::public_caps::PublicLimits;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPublic {
    codes_per_number_hour: u32,
    emails_per_address_hour: u32,
    replies_per_number_hour: u32,
    per_commune_hour: u32,
    per_commune_day: u32,
    platform_per_hour: u32,
    requests_per_client_hour: u32,
    tries_per_code_and_client: u32,
    tries_per_client_hour: u32,
}

impl Default for RawPublic {
    fn default() -> Self {
        let d = PublicLimits::default();
        RawPublic {
            codes_per_number_hour: d.codes_per_number_hour,
            emails_per_address_hour: d.emails_per_address_hour,
            replies_per_number_hour: d.replies_per_number_hour,
            per_commune_hour: d.per_commune_hour,
            per_commune_day: d.per_commune_day,
            platform_per_hour: d.platform_per_hour,
            requests_per_client_hour: d.requests_per_client_hour,
            tries_per_code_and_client: d.tries_per_code_and_client,
            tries_per_client_hour: d.tries_per_client_hour,
        }
    }
}

impl RawPublic {
    /// Every cap at least 1 (0 would close the public routes: say so by not publishing the
    /// page, not with a cap); a commune's day holds at least its hour.
    pub(super) fn validate(self) -> Result<PublicLimits, ConfigError> {
        for (name, value) in [
            ("codes_per_number_hour", self.codes_per_number_hour),
            ("emails_per_address_hour", self.emails_per_address_hour),
            ("replies_per_number_hour", self.replies_per_number_hour),
            ("per_commune_hour", self.per_commune_hour),
            ("per_commune_day", self.per_commune_day),
            ("platform_per_hour", self.platform_per_hour),
            ("requests_per_client_hour", self.requests_per_client_hour),
            ("tries_per_code_and_client", self.tries_per_code_and_client),
            ("tries_per_client_hour", self.tries_per_client_hour),
        ] {
            if value == 0 {
                return Err(invalid(format!("public.{name}"), "must be at least 1"));
            }
        }
        if self.per_commune_day < self.per_commune_hour {
            return Err(invalid(
                "public.per_commune_day",
                "must be at least per_commune_hour",
            ));
        }
        Ok(PublicLimits {
            codes_per_number_hour: self.codes_per_number_hour,
            emails_per_address_hour: self.emails_per_address_hour,
            replies_per_number_hour: self.replies_per_number_hour,
            per_commune_hour: self.per_commune_hour,
            per_commune_day: self.per_commune_day,
            platform_per_hour: self.platform_per_hour,
            requests_per_client_hour: self.requests_per_client_hour,
            tries_per_code_and_client: self.tries_per_code_and_client,
            tries_per_client_hour: self.tries_per_client_hour,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(toml: &str) -> Result<Config, String> {
        let file = tempfile::NamedTempFile::new().unwrap();
        let routed = format!(
            "[routing]\nsms = \"simulator\"\nemail = \"simulator\"\n\
             [sms.simulator]\nenabled = true\n[email.simulator]\nenabled = true\n{toml}"
        );
        std::fs::write(file.path(), routed).unwrap();
        Config::load_with(Some(file.path()), |_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn caps_and_trusted_proxies_are_read_and_faults_name_their_key() {
        let config = load(
            "[public]\nper_commune_hour = 5\n[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
        )
        .unwrap();
        assert_eq!(config.public_limits.per_commune_hour, 5);
        assert_eq!(config.public_limits.codes_per_number_hour, 3, "a default");
        assert_eq!(config.http.trusted_proxies.len(), 2);
        assert!(
            config.http.trusted_proxies[1].contains(&"::1".parse::<std::net::IpAddr>().unwrap())
        );
        for (toml, says) in [
            (
                "[public]\nplatform_per_hour = 0\n",
                "public.platform_per_hour",
            ),
            ("[public]\nper_commune_day = 10\n", "public.per_commune_day"),
            (
                "[http]\ntrusted_proxies = [\"10.0.0/8\"]\n",
                "http.trusted_proxies",
            ),
            ("[public]\ncodes_per_hour = 3\n", "codes_per_hour"),
        ] {
            let error = load(toml).unwrap_err();
            assert!(error.contains(says), "{toml}: {error}");
        }
    }
}
