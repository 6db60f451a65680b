//! The commune page's forms as a browser posts them: the page first (its cookie and the token
//! its forms carry), then the form with both.

use reqwest::StatusCode;

/// One visitor of a commune's page: its cookie and its forms' token.
pub struct PageVisitor {
    base: String,
    cookie: String,
    token: String,
    http: reqwest::Client,
}

impl PageVisitor {
    /// Opens `/c/{tenant}` on the daemon at `base`, as a visitor with no cookie yet.
    pub async fn open(base: &str, tenant: &str) -> PageVisitor {
        Self::open_with(reqwest::Client::new(), base, tenant).await
    }

    /// The same, from a client of the test's choosing (bound to another loopback address).
    pub async fn open_with(http: reqwest::Client, base: &str, tenant: &str) -> PageVisitor {
        let page = http
            .get(format!("{base}/c/{tenant}"))
            .send()
            .await
            .expect("the page answers");
        assert_eq!(page.status(), StatusCode::OK);
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next()?.strip_prefix("tocsin_form="))
            .expect("the page sets its form cookie")
            .to_string();
        let html = page.text().await.unwrap();
        let token = token_in(&html);
        PageVisitor {
            base: base.to_string(),
            cookie,
            token,
            http,
        }
    }

    /// Posts a form (`path` under the base URL, an url-encoded body without the token).
    pub async fn post(&self, path: &str, body: &str) -> (StatusCode, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("tocsin_form={}", self.cookie))
            .body(format!("{body}&form_token={}", self.token))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

/// The token of the first form of a page.
pub fn token_in(html: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).expect("a form token in the page") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}
