//! `/cb/{provider}/{token}/status`: delivery reports, in each provider's own format. No API key:
//! the tenant's secret token in the path authenticates providers that do not sign (smsmode,
//! OVH), and those that sign (Twilio) are checked by their adapter. A forged or unknown caller
//! gets 403 and changes nothing; a report about a message we do not know gets 200, so that the
//! provider stops retrying, and is logged.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri},
};
use tocsin_providers::{Callback, CallbackError, MessageRef, Report};

use super::{AppState, ErrorBody, error::ApiError};
use crate::{dispatch::receipts, store};

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
    let forbidden = || ApiError::forbidden("not a callback of this platform's providers");
    let tenant = store::tenants::find_by_callback_token(&state.db, &token)
        .await?
        .ok_or_else(forbidden)?;
    // The URL as the provider called it: signatures cover it, and it carries our reference.
    let url = format!(
        "{}{}",
        state.public_url.as_str().trim_end_matches('/'),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let callback = Callback {
        url: &url,
        method: method.as_str(),
        headers: &headers,
        body: &body,
    };
    let accounts: Vec<_> = state
        .providers
        .accounts()
        .filter(|a| a.kind.name == provider)
        .collect();
    if accounts.is_empty() {
        return Err(ApiError::not_found("provider"));
    }
    // Any account of that provider may have sent the message (a tenant may have changed
    // accounts since): the first that reads the callback, signature included, does.
    let mut refusal = None;
    let mut reports = None;
    for account in accounts {
        match account.provider.reports(&callback) {
            Ok(read) => {
                reports = Some(read);
                break;
            }
            Err(error) => refusal = Some(error),
        }
    }
    let Some(mut reports) = reports else {
        return Err(match refusal {
            Some(CallbackError::Forged(reason)) => {
                tracing::warn!(%provider, tenant = %tenant.slug, %reason, "forged callback refused");
                forbidden()
            }
            Some(CallbackError::Malformed(reason)) => ApiError::invalid("body", reason),
            _ => ApiError::not_found("callback"),
        });
    };
    with_reference_from_url(&mut reports, &callback);
    receipts::record_reports(&state.db, &state.ids, tenant.id, &provider, reports).await?;
    Ok(StatusCode::OK)
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
