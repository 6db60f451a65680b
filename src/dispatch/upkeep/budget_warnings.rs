//! The e-mail a node's admins get when an alert takes one of its monthly budgets to 80 %: once
//! per node, channel and month. Intake notes the mark (`budget::note_near`, a row in
//! `budget_warnings`, written once whoever reaches it again); this loop sends what is noted,
//! through the e-mail account routing gives the node, each warning claimed by one instance. A
//! warning whose e-mail could not go is claimed again once its claim is stale.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use tocsin_providers::{Message, Outcome};
use tokio_util::sync::CancellationToken;

use crate::dispatch::{Providers, Routing};
use crate::{
    model::{Channel, TenantId, french},
    store::{self, budgets::Warning},
};

/// How often noted warnings are looked for: the mark is reached at an alert's acceptance, and
/// this is how late its e-mail may be.
const EVERY: Duration = Duration::from_secs(10);

/// A claim older than this is taken again (the e-mail failed, or its instance stopped).
const STALE_CLAIM: Duration = Duration::from_secs(300);

/// Sends the noted warnings every [`EVERY`], through the e-mail account `routing` gives each
/// node among `providers`, until `shutdown`.
pub async fn run(
    db: &PgPool,
    routing: &Routing,
    providers: &Providers,
    shutdown: &CancellationToken,
) {
    loop {
        match store::budgets::claim_warnings(db, STALE_CLAIM).await {
            Ok(warnings) => {
                for warning in warnings {
                    if let Err(error) = send(db, routing, providers, &warning).await {
                        tracing::warn!(%error, tenant = %warning.tenant_id,
                            channel = warning.channel, "budget warning not sent; tried again later");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "budget warnings not read"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

async fn send(
    db: &PgPool,
    routing: &Routing,
    providers: &Providers,
    warning: &Warning,
) -> anyhow::Result<()> {
    let node = TenantId(warning.tenant_id);
    let tenant = store::tenants::get(db, node).await?;
    let channel: Channel = warning
        .channel
        .parse()
        .map_err(|_| anyhow::anyhow!("channel {:?}", warning.channel))?;
    let today = chrono::Utc::now()
        .with_timezone(&tenant.clock.time_zone)
        .date_naive();
    let Some(&budget) = store::budgets::of(db, node).await?.get(&channel) else {
        // Lifted since: nothing to warn about.
        store::budgets::warning_sent(db, warning, 0).await?;
        return Ok(());
    };
    if today.with_day(1) != Some(warning.month) {
        // Noted last month and not sent then: its figures are gone with the month.
        tracing::warn!(tenant = %tenant.slug, %channel, "last month's budget warning dropped");
        store::budgets::warning_sent(db, warning, 0).await?;
        return Ok(());
    }
    let used =
        crate::dispatch::policy::budget::used_this_month(&mut *db.acquire().await?, node, &[])
            .await?
            .get(&channel)
            .copied()
            .unwrap_or(0);
    let admins = store::users::admin_addresses(db, node).await?;
    if admins.is_empty() {
        tracing::warn!(tenant = %tenant.slug, %channel,
            "budget at 80 %: no admin to tell (tocsin user add --role admin)");
        store::budgets::warning_sent(db, warning, 0).await?;
        return Ok(());
    }
    let name = routing.account_for(providers, &tenant.slug, &tenant.senders, Channel::Email);
    let Some(account) = providers.get(Channel::Email, &name) else {
        tracing::warn!(tenant = %tenant.slug, %channel,
            "budget at 80 %: no e-mail account to tell its admins");
        store::budgets::warning_sent(db, warning, 0).await?;
        return Ok(());
    };
    let (subject, text) = wording(&tenant.name, channel, warning.month, used, budget);
    let mut told = 0;
    for to in &admins {
        let reference = format!("bgt_{}", uuid::Uuid::now_v7().simple());
        let message = Message {
            reference: &reference,
            to,
            subject: &subject,
            text: &text,
            ..Default::default()
        };
        match account.provider.send(message).await {
            Outcome::Accepted { .. } => told += 1,
            Outcome::Failed { reason, .. } => {
                let reason =
                    crate::model::text::from_outside(&reason, crate::model::text::MAX_REASON_CHARS);
                tracing::warn!(tenant = %tenant.slug, %reason, "budget warning refused");
            }
        }
    }
    if told == 0 {
        anyhow::bail!("no admin's e-mail was accepted");
    }
    store::budgets::warning_sent(db, warning, told).await?;
    tracing::info!(tenant = %tenant.slug, %channel, used, budget, admins = told,
        "budget at 80 %: admins told");
    Ok(())
}

/// The e-mail's subject and text, in French.
fn wording(
    commune: &str,
    channel: Channel,
    month: NaiveDate,
    used: i64,
    budget: i64,
) -> (String, String) {
    let (what, units) = match channel {
        Channel::Sms => ("SMS", "segments SMS"),
        Channel::Email => ("courriels", "courriels"),
        Channel::Push => ("notifications", "notifications"),
        Channel::Voice => ("appels", "minutes d’appel"),
    };
    let month = format!(
        "{} {}",
        french::MONTHS[month.month0() as usize],
        month.year()
    );
    let percent = if budget > 0 { used * 100 / budget } else { 100 };
    let subject = format!("Budget {what} à {percent} % — {commune}, {month}");
    let text = format!(
        "Bonjour,\n\n\
         {commune} a utilisé {} {units} sur les {} de son budget de {month} ({percent} %).\n\n\
         Au-delà du budget, les alertes courantes sont refusées avant tout envoi ; les alertes \
         urgentes partent toujours et sont signalées hors budget.\n\n\
         Pour relever le budget, adressez-vous à l'hébergeur de votre plateforme d'alerte.\n\n\
         Ce message est envoyé une fois par mois et par canal.\n",
        french::number(used),
        french::number(budget),
    );
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_gives_the_figures_in_french() {
        let month = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (subject, text) = wording("Bras-sur-Meuse", Channel::Sms, month, 1620, 2000);
        assert_eq!(subject, "Budget SMS à 81 % — Bras-sur-Meuse, décembre 2026");
        assert!(
            text.contains(
                "Bras-sur-Meuse a utilisé 1\u{202f}620 segments SMS sur les 2\u{202f}000 de son \
                 budget de décembre 2026 (81 %)."
            ),
            "{text}"
        );
    }
}
