//! `tocsin usage`: a month's usage per tenant, for re-invoicing.

use std::path::Path;

use anyhow::Context;
use clap::Args;

use super::ops::{database, load};
use crate::{
    dispatch::usage,
    model::Channel,
    store::{tenants, tree},
};

#[derive(Args)]
pub struct UsageArgs {
    /// The month, as 2026-11: alerts that started in it on their commune's clock.
    #[arg(long)]
    month: String,
    /// Only this tenant and what is below it; the whole platform when not given.
    #[arg(long)]
    tenant: Option<String>,
    /// One line per tenant, comma-separated, with a header.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// One JSON document, as `GET /v1/usage` gives it.
    #[arg(long)]
    json: bool,
}

pub async fn run(path: Option<&Path>, args: UsageArgs) -> anyhow::Result<()> {
    let month = usage::parse_month(&args.month).map_err(|e| anyhow::anyhow!("--month: {e}"))?;
    let config = load(path)?;
    let db = database(&config).await?;
    let root = match &args.tenant {
        Some(slug) => {
            tenants::find_by_slug(&db, slug)
                .await?
                .with_context(|| format!("no tenant {slug:?}"))?
                .id
        }
        None => tree::platform(&db).await?.id,
    };
    let report = usage::report(&db, &config.pricing, root, month).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.csv {
        print!("{}", usage::csv(&report));
        return Ok(());
    }
    println!(
        "{:<28} {:>6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
        format!("usage {}", report.month),
        "urgent",
        "routine",
        "exercise",
        "SMS",
        "segments",
        "e-mails",
        "service",
        "cost"
    );
    // "service": SMS segments sent outside alerts (codes, replies to keywords).
    let levels = super::tree::depths(
        report
            .tenants
            .iter()
            .map(|t| (t.tenant.as_str(), t.parent.as_deref())),
    );
    for (t, level) in report.tenants.iter().zip(levels) {
        let channel = |c| t.usage.channels.get(&c).cloned().unwrap_or_default();
        let (sms, email) = (channel(Channel::Sms), channel(Channel::Email));
        let cost: Vec<String> = t
            .usage
            .cost
            .iter()
            .map(|(currency, amount)| format!("{amount:.2} {currency}"))
            .collect();
        println!(
            "{:<28} {:>6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
            format!("{}{}", "  ".repeat(level), t.tenant),
            t.usage.alerts.urgent,
            t.usage.alerts.routine,
            t.usage.alerts.exercise,
            sms.sent + sms.delivered,
            sms.segments,
            email.sent + email.delivered,
            t.usage.service.get(&Channel::Sms).map_or(0, |s| s.segments),
            cost.join(" ")
        );
    }
    Ok(())
}
