//! Citizens' SMS that providers hold for pickup instead of calling back (OVH): every
//! `inbound_poll`, each SMS account is asked for them, one instance at a time per account (a
//! PostgreSQL advisory lock), and each is handled as if it had come by callback, for the
//! tenant the account serves.
//!
//! Each SMS is removed from the provider only once it was recorded: a database hiccup leaves it
//! there for the next poll, so that a STOP is never lost. The SMS of one fetch are handled in
//! order and the first that cannot be recorded stops the round (a later START must not overtake
//! an earlier STOP). Its reply is sent once it is removed, so that an SMS read again is not
//! answered twice.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use tocsin_providers::HeldInbound;

use crate::dispatch::{Providers, Routing, citizens::inbound, policy::public_caps::PublicCaps};
use crate::{model::Channel, store};

/// What polling works with: the accounts, the tenant each serves, and what a reply may cost.
pub struct InboundPoll<'a> {
    pub db: &'a PgPool,
    pub routing: &'a Routing,
    pub providers: &'a Providers,
    pub public_caps: &'a PublicCaps,
}

pub async fn run(poller: &InboundPoll<'_>, every: Duration, shutdown: &CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        for account in poller.providers.accounts() {
            if !account.kind.holds_inbound {
                continue;
            }
            if let Err(error) = poll(poller, account).await {
                tracing::warn!(account = %account.name, %error, "fetching inbound SMS failed");
            }
        }
    }
}

async fn poll(poller: &InboundPoll<'_>, account: &tocsin_providers::Account) -> Result<(), String> {
    let db = poller.db;
    // Held while this instance polls the account: two instances would read a message twice.
    let mut lock = db.acquire().await.map_err(|e| e.to_string())?;
    let (ours,): (bool,) =
        sqlx::query_as("SELECT pg_try_advisory_lock(hashtextextended('inbound:' || $1, 0))")
            .bind(&account.name)
            .fetch_one(&mut *lock)
            .await
            .map_err(|e| e.to_string())?;
    if !ours {
        return Ok(());
    }
    let result = handle_pending(poller, account).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended('inbound:' || $1, 0))")
        .bind(&account.name)
        .execute(&mut *lock)
        .await;
    if unlocked.is_err() {
        // Closed rather than pooled with the lock still held.
        let _ = sqlx::Connection::close(lock.detach()).await;
    }
    result
}

async fn handle_pending(
    poller: &InboundPoll<'_>,
    account: &tocsin_providers::Account,
) -> Result<(), String> {
    // The tenant the account serves (its own account, or the routing's for it), known before
    // anything is fetched: fetched messages are gone from the provider.
    let tenants = store::tenants::all(poller.db)
        .await
        .map_err(|e| e.to_string())?;
    let served: Vec<_> = tenants
        .into_iter()
        .filter(|t| {
            poller
                .routing
                .account_for(poller.providers, &t.slug, &t.senders, Channel::Sms)
                == account.name
        })
        .collect();
    // Left with the provider when no single tenant can be named: they cannot be attributed.
    let [tenant] = served.as_slice() else {
        return Ok(());
    };
    let held = account.provider.fetch_inbound().await?;
    for HeldInbound { id, sms } in held {
        let reply = match inbound::handle(poller.db, poller.public_caps, tenant, &sms).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(account = %account.name, %error,
                    "an inbound SMS could not be recorded; left at the provider for the next poll");
                return Ok(());
            }
        };
        match account.provider.remove_inbound(&id).await {
            Ok(()) => {
                if let Some(reply) = reply {
                    inbound::send_reply(poller.db, tenant.id, account, &sms.from, &reply).await;
                }
            }
            Err(reason) => tracing::warn!(account = %account.name, %reason,
                "an inbound SMS was recorded but not removed at the provider; the next poll \
                 reads it again"),
        }
    }
    Ok(())
}
