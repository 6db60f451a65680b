//! What a voice provider asks Tocsin during a call: what to say once the callee answered
//! (`/cb/{provider}/{token}/voice/{delivery}`, Twilio's TwiML), and the key the callee pressed
//! (`…/keypad`): 1 confirms the alert. Both are signed by the provider and name a call of the
//! token's commune; anything else is refused before the database is read.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use tocsin_providers::voice::{AnsweredBy, CallScript};

use super::{
    AppState, ErrorBody,
    callbacks::{Received, read},
    error::ApiError,
};
use crate::{
    model::{DeliveryId, speech::Script},
    store::{self, calls::Call},
};

/// The key that confirms.
const CONFIRM: &str = "1";

/// What a call says, once answered.
#[utoipa::path(post, operation_id = "call_script", path = "/cb/{provider}/{token}/voice/{delivery}",
    tag = "callbacks",
    params(("provider" = String, Path, description = "`twilio`, `vonage`"),
           ("token" = String, Path, description = "The tenant's callback secret"),
           ("delivery" = String, Path, description = "The call's delivery (`dlv_…`)")),
    request_body(content = String, description = "The provider's own format"),
    responses(
        (status = 200, description = "The provider's document (TwiML)"),
        (status = 403, description = "Unknown token, or a forged signature", body = ErrorBody),
        (status = 404, description = "No such call of this commune", body = ErrorBody),
    ))]
pub async fn script(
    State(state): State<AppState>,
    Path((provider, token, delivery)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = Received::new(&state, &method, &uri, &headers, body);
    let asked = asked(&state, (&provider, &token, &delivery), &request).await?;
    let keypad_url = format!("{}/keypad", without_query(&request.url));
    let machine = asked.event.answered_by == AnsweredBy::Machine;
    let document = asked
        .account
        .provider
        .call_document(&script_of(&asked.call), &keypad_url, machine)
        .ok_or_else(|| ApiError::not_found("callback"))?;
    tracing::debug!(delivery = %asked.id.0, machine, "call answered");
    Ok(document_response(document))
}

/// The key the callee pressed.
#[utoipa::path(post, operation_id = "call_keypad",
    path = "/cb/{provider}/{token}/voice/{delivery}/keypad", tag = "callbacks",
    params(("provider" = String, Path, description = "`twilio`, `vonage`"),
           ("token" = String, Path, description = "The tenant's callback secret"),
           ("delivery" = String, Path, description = "The call's delivery (`dlv_…`)")),
    request_body(content = String, description = "The provider's own format"),
    responses(
        (status = 200, description = "The provider's document: thanks, or the message again"),
        (status = 403, description = "Unknown token, or a forged signature", body = ErrorBody),
        (status = 404, description = "No such call of this commune", body = ErrorBody),
    ))]
pub async fn keypad(
    State(state): State<AppState>,
    Path((provider, token, delivery)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = Received::new(&state, &method, &uri, &headers, body);
    let asked = asked(&state, (&provider, &token, &delivery), &request).await?;
    let confirmed = asked.event.digits.as_deref().map(str::trim) == Some(CONFIRM);
    if confirmed {
        store::acknowledgements::acknowledge(&state.db, asked.id).await?;
        tracing::info!(delivery = %asked.id.0, "alert confirmed on its call");
    }
    let again_url = without_query(&request.url)
        .trim_end_matches("/keypad")
        .to_owned();
    let document = asked
        .account
        .provider
        .call_keypad_answer(&script_of(&asked.call), confirmed, &again_url)
        .ok_or_else(|| ApiError::not_found("callback"))?;
    Ok(document_response(document))
}

/// A provider's request about one call: the account that signed it, what it says, the call.
struct Asked {
    account: tocsin_providers::Account,
    event: tocsin_providers::voice::CallEvent,
    id: DeliveryId,
    call: Call,
}

/// Reads a provider's request about the call the path names: signed by an account of that
/// provider, about a call of the token's commune.
async fn asked(
    state: &AppState,
    (provider, token, delivery): (&str, &str, &str),
    request: &Received,
) -> Result<Asked, ApiError> {
    let (tenant, account, event) = read(state, provider, token, &request.callback(), |p, c| {
        p.call_event(c)
    })
    .await?;
    let (id, call) = find(state, tenant.id, delivery).await?;
    Ok(Asked {
        account,
        event,
        id,
        call,
    })
}

/// The call of the token's commune that the path names.
async fn find(
    state: &AppState,
    tenant: crate::model::TenantId,
    delivery: &str,
) -> Result<(DeliveryId, Call), ApiError> {
    let id = state
        .ids
        .parse_delivery(delivery)
        .map_err(|_| ApiError::not_found("call"))?;
    let call = store::calls::call(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    Ok((id, call))
}

/// The call's script in the providers' terms, in French.
fn script_of(call: &Call) -> CallScript {
    Script::new(&call.commune, &call.body).for_providers()
}

fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

fn document_response((content_type, body): (&'static str, String)) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, content_type)], body).into_response()
}
