//! What the Calls API's ceiling sends its callbacks to: a receiver on this machine that answers
//! each of a call's requests as the daemon would (its TwiML, its thanks, 204 to a status
//! callback) and does nothing else: no signature, no database. A call's whole exchange then
//! costs the machine what it costs without Tocsin's pipeline.

use std::sync::Arc;

use anyhow::Context;
use axum::{
    Router,
    extract::{OriginalUri, State},
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::post,
};
use tocsin_providers::voice::{CallScript, twilio};

/// A running receiver; it stops when dropped.
pub struct CallReceiver {
    pub base_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CallReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl CallReceiver {
    /// Serves, under the daemon's paths (`/cb/twilio/{token}/…`), the documents of `script`.
    pub async fn start(script: CallScript) -> anyhow::Result<CallReceiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the ceiling's call receiver")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/cb/twilio/{token}/voice/{delivery}", post(document))
            .route("/cb/twilio/{token}/voice/{delivery}/keypad", post(thanks))
            .route("/cb/twilio/{token}/status", post(StatusCode::NO_CONTENT))
            .with_state(Arc::new(script));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallReceiver { base_url, server })
    }
}

async fn document(
    State(script): State<Arc<CallScript>>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let keypad = format!("{}/keypad", uri.path());
    twiml(twilio::document(&script, &keypad, false))
}

async fn thanks(State(script): State<Arc<CallScript>>, OriginalUri(uri): OriginalUri) -> Response {
    let again = uri.path().trim_end_matches("/keypad").to_owned();
    twiml(twilio::after_keypad(&script, true, &again))
}

fn twiml(body: String) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "text/xml")], body).into_response()
}
