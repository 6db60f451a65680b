//! `[oidc]`: signing in to the console through an OpenID Connect provider: ProConnect, the
//! State's sign-on for public agents, or any compliant provider.

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, invalid};
use crate::model::Role;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    acr_values: Vec<String>,
    auto_role: Option<String>,
    name: Option<String>,
}

/// `[oidc]`, checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer; its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: url::Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// What is asked for (`openid` always among them).
    pub scopes: Vec<String>,
    /// The authentication levels accepted (ProConnect: `eidas2`, or a two-factor `acr`); asked
    /// for as an essential `acr` claim and checked in the ID token. Empty: any.
    pub acr_values: Vec<String>,
    /// The role given to someone whose `siret` is a commune's but who was not invited; `None`:
    /// they are told whom to ask.
    pub auto_role: Option<Role>,
    /// The provider's name on the sign-in button ("ProConnect").
    pub name: String,
}

/// ProConnect's claims: who the agent is and which organisation (SIRET) they belong to.
const DEFAULT_SCOPES: &[&str] = &[
    "openid",
    "email",
    "given_name",
    "usual_name",
    "siret",
    "organization_label",
];

impl RawOidc {
    pub(super) fn validate(self) -> Result<OidcConfig, ConfigError> {
        let issuer = self
            .issuer
            .ok_or_else(|| invalid("oidc.issuer", "required with [oidc]"))?;
        let issuer = url::Url::parse(issuer.trim_end_matches('/'))
            .map_err(|e| invalid("oidc.issuer", format!("{issuer:?} is not a URL: {e}")))?;
        if !matches!(issuer.scheme(), "https" | "http") || issuer.host().is_none() {
            return Err(invalid("oidc.issuer", "must be an https URL"));
        }
        let client_id = self
            .client_id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| invalid("oidc.client_id", "required with [oidc]"))?;
        let client_secret = self.client_secret.ok_or_else(|| {
            invalid(
                "oidc.client_secret",
                "required with [oidc] (or TOCSIN_OIDC_CLIENT_SECRET_FILE)",
            )
        })?;
        let mut scopes = self
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"'))
        {
            return Err(invalid("oidc.scopes", format!("{bad:?} is not a scope")));
        }
        let auto_role = self
            .auto_role
            .filter(|r| r != "none")
            .map(|r| r.parse::<Role>())
            .transpose()
            .map_err(|e| invalid("oidc.auto_role", format!("{e}, or none")))?;
        Ok(OidcConfig {
            issuer,
            client_id,
            client_secret,
            scopes,
            acr_values: self.acr_values,
            auto_role,
            name: self.name.unwrap_or_else(|| "ProConnect".into()),
        })
    }
}
