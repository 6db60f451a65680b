//! Counting what the platform sends for a commune outside its alerts (codes, confirmation links,
//! replies to keywords), for usage and budgets (`store::service_messages`).

use sqlx::PgPool;

use crate::{
    model::{Channel, TenantId, sms_text::sms_length},
    store::service_messages::{self, Kind, Sent},
};

/// Counts one service message of `tenant` that `account` took (`accepted`) or refused. Counting
/// never holds up the citizen: a failure is logged.
pub async fn count(
    db: &PgPool,
    tenant: TenantId,
    (channel, account): (Channel, &str),
    kind: Kind,
    text: &str,
    accepted: bool,
) {
    let units = match channel {
        Channel::Sms => i32::try_from(sms_length(text).segments).unwrap_or(i32::MAX),
        _ => 1,
    };
    let sent = Sent {
        tenant,
        channel,
        account,
        kind,
        units,
        accepted,
    };
    if let Err(error) = service_messages::record(db, &sent).await {
        tracing::warn!(%error, %tenant, kind = ?kind, "a service message was not counted");
    }
}
