//! What Tocsin forgets about citizens (RGPD): a subscriber who leaves a channel loses its
//! address everywhere, an opt-out keeps only a keyed hash of it, and past deliveries lose theirs
//! once their subscriber left or the retention period passed (the sweep).

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};

use super::DbError;
use crate::model::{Channel, SubscriberId, TenantId};

fn words(channels: &[Channel]) -> Vec<&'static str> {
    channels.iter().map(|c| c.as_str()).collect()
}

/// The subscriber leaves `channels`: their consents for them keep when, how and for what, not
/// the address; the subscriber loses those addresses, and goes altogether (with their
/// subscriptions) when nothing is left; their past deliveries on those channels are cleared by
/// the next sweep. True when the subscriber is gone altogether.
pub async fn forget(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    subscriber: SubscriberId,
    channels: &[Channel],
) -> Result<bool, DbError> {
    let channels = words(channels);
    sqlx::query(
        "UPDATE consents SET address = NULL, withdrawn_at = COALESCE(withdrawn_at, now())
         WHERE tenant_id = $1 AND subscriber_id = $2 AND channel = ANY($3)
           AND (address IS NOT NULL OR withdrawn_at IS NULL)",
    )
    .bind(tenant.0)
    .bind(subscriber.0)
    .bind(&channels)
    .execute(&mut **tx)
    .await?;
    if channels.contains(&"sms") {
        sqlx::query(
            "DELETE FROM phone_confirmations c USING subscribers s
             WHERE s.tenant_id = $1 AND s.id = $2 AND c.tenant_id = $1 AND c.phone = s.phone",
        )
        .bind(tenant.0)
        .bind(subscriber.0)
        .execute(&mut **tx)
        .await?;
    }
    let (gone,): (bool,) = sqlx::query_as(
        "WITH gone AS (
             DELETE FROM subscribers
             WHERE tenant_id = $1 AND id = $2
               AND (phone IS NULL OR 'sms' = ANY($3))
               AND (email IS NULL OR 'email' = ANY($3))
               AND (push IS NULL OR 'push' = ANY($3))
             RETURNING id),
         unsubscribed AS (DELETE FROM subscriptions s USING gone WHERE s.subscriber_id = gone.id),
         kept AS (
             UPDATE subscribers
             SET phone = CASE WHEN 'sms' = ANY($3) THEN NULL ELSE phone END,
                 email = CASE WHEN 'email' = ANY($3) THEN NULL ELSE email END,
                 push = CASE WHEN 'push' = ANY($3) THEN NULL ELSE push END
             WHERE tenant_id = $1 AND id = $2 AND id NOT IN (SELECT id FROM gone))
         SELECT EXISTS (SELECT 1 FROM gone)",
    )
    .bind(tenant.0)
    .bind(subscriber.0)
    .bind(&channels)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO erasures (subscriber_id, channel) SELECT $1, unnest($2::text[])
         ON CONFLICT (subscriber_id, channel) DO UPDATE SET at = now()",
    )
    .bind(subscriber.0)
    .bind(&channels)
    .execute(&mut **tx)
    .await?;
    Ok(gone)
}

/// The citizen asked not to be written to at this address any more: a later import or API call
/// that lists it is refused, until the citizen subscribes again themself.
pub async fn opt_out(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    channel: Channel,
    address: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO opt_outs (tenant_id, channel, address_hash) VALUES ($1, $2, address_hash($3))
         ON CONFLICT (tenant_id, channel, address_hash) DO UPDATE SET at = now()",
    )
    .bind(tenant.0)
    .bind(channel.as_str())
    .bind(address)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The citizen subscribed again themself (a keyword, a code, a link): their new consent lifts
/// the opt-out.
pub async fn opt_back_in(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    channel: Channel,
    address: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "DELETE FROM opt_outs WHERE tenant_id = $1 AND channel = $2
                                AND address_hash = address_hash($3)",
    )
    .bind(tenant.0)
    .bind(channel.as_str())
    .bind(address)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the citizen opted out of this channel at this address.
pub async fn opted_out(
    pool: &PgPool,
    tenant: TenantId,
    channel: Channel,
    address: &str,
) -> Result<bool, DbError> {
    let (out,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM opt_outs WHERE tenant_id = $1 AND channel = $2
                                                 AND address_hash = address_hash($3))",
    )
    .bind(tenant.0)
    .bind(channel.as_str())
    .bind(address)
    .fetch_one(pool)
    .await?;
    Ok(out)
}

/// What one sweep cleared.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Deliveries whose subscriber left that channel.
    pub left: u64,
    /// Deliveries older than the retention period.
    pub aged: u64,
}

/// Clears the addresses of past deliveries whose subscriber left (a delivery still waiting is
/// not sent: it fails, "the subscriber left"; one being sent is cleared by a later sweep), and of
/// those last changed more than `retention` ago; forgets the expired codes and request counters
/// of the public routes.
pub async fn sweep(pool: &PgPool, retention: Duration) -> Result<Swept, DbError> {
    let left = sqlx::query(
        "UPDATE deliveries d
         SET address = NULL, address_masked = mask_address(d.channel, d.address),
             status = CASE WHEN d.status IN ('queued', 'retrying') THEN 'failed' ELSE d.status END,
             error = CASE WHEN d.status IN ('queued', 'retrying') THEN 'the subscriber left'
                          ELSE d.error END,
             next_attempt_at = NULL, updated_at = now()
         FROM erasures e
         WHERE d.subscriber_id = e.subscriber_id AND d.channel = e.channel
           AND d.address IS NOT NULL AND d.status <> 'sending'",
    )
    .execute(pool)
    .await?
    .rows_affected();
    // Leases are minutes long: after a day no delivery of theirs is still being sent, and every
    // sweep since the erasure has cleared the rest.
    sqlx::query("DELETE FROM erasures WHERE at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    let aged = sqlx::query(
        "UPDATE deliveries SET address = NULL, address_masked = mask_address(channel, address)
         WHERE address IS NOT NULL AND status IN ('sent', 'delivered', 'failed', 'expired')
           AND updated_at < now() - $1 * interval '1 second'",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM phone_confirmations
         WHERE expires_at < now() - interval '1 hour' AND window_start < now() - interval '1 hour'",
    )
    .execute(pool)
    .await?;
    super::public_counters::purge(pool).await?;
    Ok(Swept { left, aged })
}
