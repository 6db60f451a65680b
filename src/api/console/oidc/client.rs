//! The OpenID Connect relying party, written against ProConnect and working with any compliant
//! provider: discovery, the authorization URL, the code exchanged at once (ProConnect's code
//! lives 30 s), the ID token's signature and claims checked (issuer, audience, expiry, nonce,
//! `acr`), and the userinfo answer, signed too, checked the same way.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::config::OidcConfig;

/// How long a call to the provider may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What goes wrong while signing in through the provider. Shown to the person in general terms,
/// logged in full (no token in it).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider is out of reach: {0}")]
    Unreachable(String),
    #[error("the provider answered something unexpected: {0}")]
    Protocol(String),
    #[error("a token did not verify: {0}")]
    Token(String),
    #[error("the authentication level {got:?} is not one of {wanted:?}")]
    Acr {
        got: Option<String>,
        wanted: Vec<String>,
    },
}

/// The endpoints of `<issuer>/.well-known/openid-configuration` Tocsin uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
}

/// Who signed in, from the ID token and the userinfo answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub usual_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub siret: Option<String>,
    #[serde(default)]
    pub organization_label: Option<String>,
}

impl Identity {
    /// "Jean Dupont", or the e-mail when the provider gave no name.
    pub fn name(&self) -> String {
        let name = [
            self.given_name.as_deref(),
            self.usual_name.as_deref().or(self.family_name.as_deref()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        if name.trim().is_empty() {
            self.email.clone().unwrap_or_else(|| self.sub.clone())
        } else {
            name
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    id_token: String,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    acr: Option<String>,
}

/// The provider, as the console talks to it.
pub struct OidcClient {
    pub config: OidcConfig,
    redirect_uri: String,
    http: reqwest::Client,
    discovery: RwLock<Option<Arc<Discovery>>>,
    keys: RwLock<Option<Arc<JwkSet>>>,
}

impl OidcClient {
    pub fn new(config: OidcConfig, public_url: &url::Url) -> Self {
        OidcClient {
            redirect_uri: format!(
                "{}/console/oidc/callback",
                public_url.as_str().trim_end_matches('/')
            ),
            config,
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
        }
    }

    /// The discovery document, fetched once (again after a failure).
    async fn discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        if let Some(found) = self.discovery.read().await.clone() {
            return Ok(found);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.as_str().trim_end_matches('/')
        );
        let found: Discovery = self.get_json(&url).await?;
        if found.issuer.trim_end_matches('/') != self.config.issuer.as_str().trim_end_matches('/') {
            return Err(OidcError::Protocol(format!(
                "the discovery document names the issuer {:?}",
                found.issuer
            )));
        }
        let found = Arc::new(found);
        *self.discovery.write().await = Some(found.clone());
        Ok(found)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let answer = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Protocol(format!(
                "{url} answered {}",
                answer.status()
            )));
        }
        answer
            .json()
            .await
            .map_err(|e| OidcError::Protocol(format!("{url}: {}", e.without_url())))
    }

    /// Where to send the browser: the authorization endpoint with exactly the parameters
    /// ProConnect knows (an unknown one is refused there).
    pub async fn authorization_url(&self, state: &str, nonce: &str) -> Result<String, OidcError> {
        let discovery = self.discovery().await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Protocol(format!("authorization_endpoint: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.config.scopes.join(" "))
                .append_pair("state", state)
                .append_pair("nonce", nonce);
            if !self.config.acr_values.is_empty() {
                let claims = serde_json::json!({
                    "id_token": { "acr": { "essential": true, "values": self.config.acr_values } }
                });
                query.append_pair("claims", &claims.to_string());
            }
        }
        Ok(url.into())
    }

    /// Exchanges the code at once, checks the ID token (with `nonce`) and reads userinfo.
    pub async fn sign_in(&self, code: &str, nonce: &str) -> Result<Identity, OidcError> {
        let discovery = self.discovery().await?;
        let answer = self
            .http
            .post(&discovery.token_endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(
                serde_urlencoded::to_string([
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("client_id", &self.config.client_id),
                    ("client_secret", self.config.client_secret.expose_secret()),
                ])
                .expect("form pairs encode"),
            )
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Protocol(format!(
                "the token endpoint answered {}",
                answer.status()
            )));
        }
        let tokens: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| OidcError::Protocol(format!("token answer: {}", e.without_url())))?;
        let id: IdClaims = self.verify(&discovery, &tokens.id_token, true).await?;
        if id.nonce.as_deref() != Some(nonce) {
            return Err(OidcError::Token("the ID token's nonce is not ours".into()));
        }
        check_acr(id.acr.as_deref(), &self.config.acr_values)?;

        let answer = self
            .http
            .get(&discovery.userinfo_endpoint)
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Protocol(format!(
                "userinfo answered {}",
                answer.status()
            )));
        }
        let signed = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/jwt"));
        if !signed {
            // ProConnect signs its userinfo; an unsigned answer could come from anywhere on the
            // way.
            return Err(OidcError::Protocol("userinfo is not a signed JWT".into()));
        }
        let body = answer
            .text()
            .await
            .map_err(|e| OidcError::Protocol(e.without_url().to_string()))?;
        let identity: Identity = self.verify(&discovery, body.trim(), false).await?;
        if identity.sub != id.sub {
            return Err(OidcError::Token("userinfo is about another subject".into()));
        }
        Ok(identity)
    }

    /// A JWT signed by the provider (or, for HS256, with the client secret), for this client,
    /// from this issuer; `expiring`: it must carry an unexpired `exp`.
    async fn verify<T: serde::de::DeserializeOwned>(
        &self,
        discovery: &Discovery,
        token: &str,
        expiring: bool,
    ) -> Result<T, OidcError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| OidcError::Token(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => {
                DecodingKey::from_secret(self.config.client_secret.expose_secret().as_bytes())
                    .map_err(|e| OidcError::Token(e.to_string()))?
            }
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256 => {
                self.key(discovery, header.kid.as_deref()).await?
            }
            other => {
                return Err(OidcError::Token(format!(
                    "the algorithm {other:?} is not accepted"
                )));
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&discovery.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.leeway = 60;
        if expiring {
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        } else {
            validation.validate_exp = false;
            validation.set_required_spec_claims(&["iss", "aud", "sub"]);
        }
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| OidcError::Token(e.to_string()))
    }

    /// The provider's key `kid`; the key set is fetched again once when it is not in it (the
    /// provider rotated its keys).
    async fn key(
        &self,
        discovery: &Discovery,
        kid: Option<&str>,
    ) -> Result<DecodingKey, OidcError> {
        for fresh in [false, true] {
            let cached = self.keys.read().await.clone();
            let keys = match cached {
                Some(keys) if !fresh => keys,
                _ => {
                    let keys: Arc<JwkSet> = Arc::new(self.get_json(&discovery.jwks_uri).await?);
                    *self.keys.write().await = Some(keys.clone());
                    keys
                }
            };
            let found = match kid {
                Some(kid) => keys.find(kid),
                None if keys.keys.len() == 1 => keys.keys.first(),
                None => None,
            };
            if let Some(jwk) = found {
                return DecodingKey::from_jwk(jwk).map_err(|e| OidcError::Token(e.to_string()));
            }
        }
        Err(OidcError::Token(format!(
            "no key {kid:?} in the provider's key set"
        )))
    }
}

/// The `acr` the ID token carries must be one asked for, when some were.
fn check_acr(got: Option<&str>, wanted: &[String]) -> Result<(), OidcError> {
    if wanted.is_empty() || got.is_some_and(|acr| wanted.iter().any(|w| w == acr)) {
        return Ok(());
    }
    Err(OidcError::Acr {
        got: got.map(str::to_owned),
        wanted: wanted.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(secret: &str) -> OidcClient {
        let config = crate::config::OidcConfig {
            issuer: "https://idp.example.fr/api/v2".parse().unwrap(),
            client_id: "tocsin".into(),
            client_secret: secret.to_string().into(),
            scopes: vec!["openid".into()],
            acr_values: vec![],
            auto_role: None,
            name: "ProConnect".into(),
        };
        OidcClient::new(config, &"https://alertes.example.fr".parse().unwrap())
    }

    fn discovery() -> Discovery {
        Discovery {
            issuer: "https://idp.example.fr/api/v2".into(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            userinfo_endpoint: String::new(),
            jwks_uri: String::new(),
        }
    }

    fn token(secret: &str, claims: serde_json::Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
        jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    /// Tokens signed with the client secret (HS256, one of ProConnect's choices): only one
    /// signed with it, for this client, from this issuer, unexpired, is believed.
    #[tokio::test]
    async fn only_a_token_of_the_provider_for_this_client_is_believed() {
        let secret = "the client secret of the tests, long enough";
        let client = client(secret);
        let now = chrono::Utc::now().timestamp();
        let good = serde_json::json!({"iss": "https://idp.example.fr/api/v2", "aud": "tocsin",
            "sub": "agent-1", "exp": now + 60, "nonce": "n"});
        let claims: IdClaims = client
            .verify(&discovery(), &token(secret, good.clone()), true)
            .await
            .unwrap();
        assert_eq!(claims.sub, "agent-1");
        let forged = token("another secret", good.clone());
        assert!(
            client
                .verify::<IdClaims>(&discovery(), &forged, true)
                .await
                .is_err(),
            "signature"
        );
        for (field, value) in [
            ("aud", serde_json::json!("another-client")),
            ("iss", serde_json::json!("https://elsewhere.example.fr")),
            ("exp", serde_json::json!(now - 3600)),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            let refused = client
                .verify::<IdClaims>(&discovery(), &token(secret, claims), true)
                .await;
            assert!(refused.is_err(), "{field}");
        }
        let unsigned = format!(
            "{}.{}.",
            data_encoding::BASE64URL_NOPAD.encode(br#"{"alg":"none"}"#),
            data_encoding::BASE64URL_NOPAD.encode(good.to_string().as_bytes())
        );
        assert!(
            client
                .verify::<IdClaims>(&discovery(), &unsigned, true)
                .await
                .is_err(),
            "alg none"
        );
    }

    #[test]
    fn the_authentication_level_must_be_one_asked_for() {
        let wanted = vec![
            "eidas2".to_string(),
            "https://proconnect.gouv.fr/assurance/self-asserted-2fa".to_string(),
        ];
        assert!(check_acr(Some("eidas2"), &wanted).is_ok());
        assert!(check_acr(Some("eidas1"), &wanted).is_err());
        assert!(check_acr(None, &wanted).is_err());
        assert!(check_acr(None, &[]).is_ok());
    }
}
