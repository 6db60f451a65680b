//! `/cb/{provider}/{token}/status`: delivery reports, and `/cb/{provider}/{token}/inbound`:
//! citizens' SMS (ALERTE, STOP), in each provider's own format. No API key:
//! the tenant's secret token in the path authenticates providers that do not sign (smsmode,
//! OVH), and those that sign (Twilio) are checked by their adapter. A forged or unknown caller
//! gets 403 and changes nothing; a report about a message we do not know gets 200, so that the
//! provider stops retrying, and is logged. What providers send is outside text: `receipts` and
//! `inbound` clean and bound it before it is stored or logged.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use tocsin_providers::{Account, Callback, CallbackError, MessageRef, Report};

use super::{AppState, ErrorBody, error::ApiError};
use crate::{
    dispatch::citizens::inbound,
    model::text::{MAX_REASON_CHARS, from_outside},
    store::{self, tenants::Tenant},
};

/// A provider's delivery report.
#[utoipa::path(post, operation_id = "delivery_report", path = "/cb/{provider}/{token}/status",
    tag = "callbacks",
    params(("provider" = String, Path, description = "`smsmode`, `twilio`, `ovh`"),
           ("token" = String, Path, description = "The tenant's callback secret")),
    request_body(content = String, description = "The provider's own format"),
    responses(
        (status = 200, description = "Recorded (or about no message we know)"),
        (status = 400, description = "Not in the provider's format", body = ErrorBody),
        (status = 403, description = "Unknown token, or a forged signature", body = ErrorBody),
        (status = 404, description = "No such provider here", body = ErrorBody),
    ))]
pub async fn status(
    state: State<AppState>,
    path: Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    report(state, path, method, uri, headers, body).await
}

/// A provider's delivery report by GET, its values in the query string (OVH's callBack).
#[utoipa::path(get, operation_id = "delivery_report_by_get", path = "/cb/{provider}/{token}/status",
    tag = "callbacks",
    params(("provider" = String, Path, description = "`smsmode`, `twilio`, `ovh`"),
           ("token" = String, Path, description = "The tenant's callback secret")),
    responses(
        (status = 200, description = "Recorded (or about no message we know)"),
        (status = 400, description = "Not in the provider's format", body = ErrorBody),
        (status = 403, description = "Unknown token, or a forged signature", body = ErrorBody),
        (status = 404, description = "No such provider here", body = ErrorBody),
    ))]
pub async fn status_by_get(
    state: State<AppState>,
    path: Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    report(state, path, method, uri, headers, Bytes::new()).await
}

async fn report(
    State(state): State<AppState>,
    Path((provider, token)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let request = Received::new(&state, &method, &uri, &headers, body);
    let (tenant, _, mut reports) = read(&state, &provider, &token, &request.callback(), |p, c| {
        p.reports(c)
    })
    .await?;
    with_reference_from_url(&mut reports, &request.callback());
    state.reports.record(tenant.id, &provider, reports).await?;
    Ok(StatusCode::OK)
}

/// A citizen's SMS to the commune's number (a keyword: ALERTE, STOP…), in the provider's
/// format. The reply goes back in the answer where the provider takes it there (Twilio's
/// TwiML), else as an SMS of its own through the same account.
#[utoipa::path(post, operation_id = "inbound_sms", path = "/cb/{provider}/{token}/inbound",
    tag = "callbacks",
    params(("provider" = String, Path, description = "`smsmode`, `twilio`"),
           ("token" = String, Path, description = "The tenant's callback secret")),
    request_body(content = String, description = "The provider's own format"),
    responses(
        (status = 200, description = "Acted on; the body is the provider's reply format, if any"),
        (status = 400, description = "Not in the provider's format", body = ErrorBody),
        (status = 403, description = "Unknown token, or a forged signature", body = ErrorBody),
        (status = 404, description = "No such provider here", body = ErrorBody),
    ))]
pub async fn inbound(
    State(state): State<AppState>,
    Path((provider, token)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = Received::new(&state, &method, &uri, &headers, body);
    let (tenant, account, messages) =
        read(&state, &provider, &token, &request.callback(), |p, c| {
            p.inbound(c)
        })
        .await?;
    let mut answer = None;
    for sms in messages {
        let handled = inbound::handle(&state.db, &state.public_caps, &tenant, &sms).await?;
        let Some(reply) = handled else { continue };
        match account.provider.answer_inbound(&reply) {
            Some(in_answer) if answer.is_none() => {
                inbound::count_reply(&state.db, tenant.id, &account, &reply, true).await;
                answer = Some(in_answer);
            }
            _ => {
                let (db, account) = (state.db.clone(), account.clone());
                tokio::spawn(async move {
                    inbound::send_reply(&db, tenant.id, &account, &sms.from, &reply).await
                });
            }
        }
    }
    Ok(match answer {
        Some((content_type, body)) => ([(CONTENT_TYPE, content_type)], body).into_response(),
        None => StatusCode::OK.into_response(),
    })
}

/// A callback request as received, with the URL the provider called.
pub(super) struct Received {
    pub(super) url: String,
    method: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Received {
    pub(super) fn new(
        state: &AppState,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Self {
        // The URL as the provider called it: signatures cover it, and it carries our reference.
        let url = format!(
            "{}{}",
            state.public_url.as_str().trim_end_matches('/'),
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let headers = headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        Received {
            url,
            method: method.to_string(),
            headers,
            body,
        }
    }

    pub(super) fn callback(&self) -> Callback<'_> {
        Callback {
            url: &self.url,
            method: &self.method,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// The tenant whose token the URL holds, and what the first account of `provider` able to read
/// the callback (its signature included) read in it: any account of that provider may have
/// sent the message, since a tenant may change accounts.
pub(super) async fn read<T>(
    state: &AppState,
    provider: &str,
    token: &str,
    callback: &Callback<'_>,
    read: impl Fn(&dyn tocsin_providers::Provider, &Callback<'_>) -> Result<T, CallbackError>,
) -> Result<(Tenant, Account, T), ApiError> {
    let forbidden = || ApiError::forbidden("not a callback of this platform's providers");
    let tenant = match state.callback_tokens.verify(token) {
        Some((tenant, version)) => {
            store::tenants::find_by_callback_version(&state.db, tenant, version).await?
        }
        None => {
            let hash = crate::model::callback_tokens::legacy_hash(token);
            store::tenants::find_by_legacy_callback(&state.db, &hash).await?
        }
    }
    .ok_or_else(forbidden)?;
    let mut refusal = None;
    let mut found = false;
    for account in state
        .providers
        .accounts()
        .filter(|a| a.kind.name == provider)
    {
        found = true;
        match read(account.provider.as_ref(), callback) {
            Ok(read) => return Ok((tenant, account.clone(), read)),
            Err(error) => refusal = Some(error),
        }
    }
    if !found {
        return Err(ApiError::not_found("provider"));
    }
    Err(match refusal {
        Some(CallbackError::Forged(reason)) => {
            // The reason may quote what the caller sent: cleaned, so it cannot forge a log line.
            let reason = from_outside(&reason, MAX_REASON_CHARS);
            tracing::warn!(%provider, tenant = %tenant.slug, %reason, "forged callback refused");
            forbidden()
        }
        Some(CallbackError::Malformed(reason)) => {
            ApiError::invalid("body", from_outside(&reason, MAX_REASON_CHARS))
        }
        _ => ApiError::not_found("callback"),
    })
}

/// A report naming only the provider's id takes the reference our callback URL carries
/// (`?ref=dlv_…`, put there at sending).
fn with_reference_from_url(reports: &mut [Report], callback: &Callback<'_>) {
    let [report] = reports else { return };
    if let MessageRef::ProviderId(_) = report.message
        && let Some((_, reference)) = callback.query().into_iter().find(|(k, _)| k == "ref")
    {
        report.message = MessageRef::Reference(reference);
    }
}
