//! The mairie's console over HTTP, as a browser without JavaScript uses it: invitations,
//! passwords and TOTP (the test computes the codes), sessions, CSRF, roles, sending an alert and
//! following it to the end, validation, the commune's topics, reminders, templates, subscribers
//! and settings, and groups. What a person of each role can do, and what they cannot.

/// Alerts: validation of drafters' alerts, templates.
mod alerts;
/// The commune's topics, reminders, subscribers and settings.
mod commune;
/// Invitations, signing in, sessions, CSRF, roles, groups.
mod people;

use std::collections::BTreeMap;

use chrono::Utc;
use reqwest::{StatusCode, header};
use tocsin::{clock::ManualClock, model::people::TotpSecret};

use crate::{
    cli::{ok, tocsin},
    support::{Client, Daemon, Env},
};

/// One person's browser: its cookies, no redirects followed (the tests check where each answer
/// leads), and the CSRF token of the last page.
pub(super) struct Visitor {
    pub(super) http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// An answer: status, `Location`, body.
pub(super) struct Page {
    pub(super) status: StatusCode,
    pub(super) location: Option<String>,
    pub(super) body: String,
}

impl Page {
    /// The value of the hidden field `name` (the first one).
    pub(super) fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].replace("&amp;", "&")
    }

    pub(super) fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    pub(super) fn assert_leads_to(&self, path: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location.as_deref(), Some(path));
    }
}

/// A request carrying a form, as a browser posts it.
pub(super) fn with_form(
    request: reqwest::RequestBuilder,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    request
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
}

impl Visitor {
    pub(super) fn new(daemon: &Daemon) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: daemon.url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub(super) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request
            .header(header::COOKIE, cookie.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            assert!(attributes.contains("HttpOnly"), "{set}");
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_string()),
            body: response.text().await.unwrap(),
        }
    }

    pub(super) async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(super) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = with_form(self.http.post(format!("{}{path}", self.base)), form);
        self.send(request).await
    }

    /// Accepts an invitation link: a password, then for senders and admins the second factor,
    /// whose secret it returns with the recovery codes.
    pub(super) async fn accept(
        &mut self,
        link: &str,
        password: &str,
        clock: &ManualClock,
    ) -> Option<(TotpSecret, Vec<String>)> {
        let path = &link[link
            .find("/console/invitation/")
            .expect("an invitation link")..];
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        let weak = self
            .post(
                path,
                &[
                    ("csrf", &csrf),
                    ("password", "azerty123456"),
                    ("confirmation", "azerty123456"),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::BAD_REQUEST);
        assert!(weak.body.contains("plus courants"), "{}", weak.body);
        let set = self
            .post(
                path,
                &[
                    ("csrf", &csrf),
                    ("password", password),
                    ("confirmation", password),
                ],
            )
            .await;
        if set.location.as_deref() == Some("/console") {
            return None;
        }
        set.assert_leads_to("/console/second-factor");
        let enrol = self.get("/console/second-factor").await;
        assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
        assert!(enrol.body.contains("<svg"), "a QR code");
        let field = enrol.hidden("secret");
        let secret =
            TotpSecret::from_bytes(&hex::decode(field.split('.').next().unwrap()).unwrap())
                .unwrap();
        let code = secret.code_at(clock.now().timestamp());
        let done = self
            .post(
                "/console/second-factor",
                &[("csrf", &enrol.csrf()), ("secret", &field), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let codes: Vec<String> = done
            .body
            .split("<li><code>")
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect();
        assert_eq!(codes.len(), 10, "{}", done.body);
        Some((secret, codes))
    }

    /// Signs in with a password, then a code if asked; returns the last answer.
    pub(super) async fn sign_in(
        &mut self,
        email: &str,
        password: &str,
        code: Option<&str>,
    ) -> Page {
        let form = self.get("/console/login").await;
        let page = self
            .post(
                "/console/login",
                &[
                    ("csrf", &form.csrf()),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        match (page.location.as_deref(), code) {
            (Some("/console/login/code"), Some(code)) => {
                let asked = self.get("/console/login/code").await;
                self.post(
                    "/console/login/code",
                    &[("csrf", &asked.csrf()), ("code", code)],
                )
                .await
            }
            _ => page,
        }
    }
}

/// A daemon on a manual clock (TOTP codes and session times go by it) with the commune "bras":
/// the topic "intemperies" and three subscribers; its admin API client.
pub(super) async fn commune(env: &Env) -> (Daemon, Client, ManualClock) {
    let clock = ManualClock::new(Utc::now());
    let daemon = Daemon::start_with_clock(env.config(), clock.clone().into()).await;
    let mairie = env.commune(&daemon.url, 0).await;
    mairie
        .subscriber(
            Some("0611111111"),
            Some("anne@example.org"),
            &["intemperies"],
        )
        .await;
    mairie
        .subscriber(Some("0622222222"), None, &["intemperies"])
        .await;
    mairie
        .subscriber(None, Some("paul@example.org"), &["intemperies"])
        .await;
    (daemon, mairie, clock)
}

/// Someone invited from the command line who accepted (a password; TOTP for senders and admins),
/// in their own browser.
#[allow(clippy::too_many_arguments)]
pub(super) async fn signed_up(
    env: &Env,
    daemon: &Daemon,
    clock: &ManualClock,
    tenant: &str,
    email: &str,
    role: &str,
    password: &str,
) -> Visitor {
    let mut visitor = Visitor::new(daemon);
    let link = invite(env, tenant, email, role);
    visitor.accept(&link, password, clock).await;
    visitor
}

/// The commune "charny", beside "bras".
pub(super) async fn another_commune(env: &Env) {
    let slug = tocsin::model::Slug::parse("charny").unwrap();
    crate::support::create_tenant(&env.db.pool().await, &slug, "Charny").await;
}

pub(super) fn invite(env: &Env, tenant: &str, email: &str, role: &str) -> String {
    let out = ok(tocsin(
        env,
        &[],
        &[
            "user",
            "add",
            "--tenant",
            tenant,
            "--email",
            email,
            "--name",
            "Anne Martin",
            "--role",
            role,
        ],
    ));
    out.trim().to_string()
}

// Multi-threaded: the test blocks on the binary while the daemon runs on the same runtime.
/// A `multipart/form-data` body as a browser sends a form with a file.
pub(super) fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----tocsin-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"file\"\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
