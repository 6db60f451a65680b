//! `tocsin audit`: the audit log read and its chain verified; and what operator commands
//! record in it.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::ops::{database, load};
use crate::{
    model::TenantId,
    store::{self, audit::Entry},
};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Show the entries, oldest first: of a tenant and its subtree, or all of them.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Entries from this time on (RFC 3339, or a date: 2026-11-01).
        #[arg(long)]
        since: Option<String>,
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the chain of hashes and name the first entry that no longer matches.
    Verify,
}

/// Records an operator's action (the command line's user is the actor).
/// The operator at the command line, as the audit log names actors: `operator:$USER`, or the
/// person behind `sudo -u tocsin` (`SUDO_USER`, as tocsin-admin runs commands) rather than the
/// service account.
pub fn operator() -> String {
    let user = ["SUDO_USER", "USER"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("operator:{user}")
}

pub async fn record(
    db: &sqlx::PgPool,
    tenant: Option<TenantId>,
    action: &str,
    object: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let actor = operator();
    let entry = Entry {
        actor: &actor,
        tenant,
        action,
        object: Some(object.to_owned()),
        details,
        request_id: None,
    };
    store::audit::record(db, &entry)
        .await
        .context("the audit entry of this change was not written")
}

fn parse_since(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.into());
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("--since {text:?}: give 2026-11-01 or an RFC 3339 time"))?;
    Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

pub async fn run(path: Option<&Path>, command: AuditCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    let db = database(&config).await?;
    match command {
        AuditCommand::List {
            tenant,
            since,
            json,
        } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let root = match tenant {
                Some(slug) => {
                    store::tenants::find_by_slug(&db, &slug)
                        .await?
                        .with_context(|| format!("no tenant {slug:?}"))?
                        .id
                }
                None => store::tree::platform(&db).await?.id,
            };
            let (mut after, mut all) = (0, Vec::new());
            loop {
                let page = store::audit::list(&db, root, since, after, 1000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                all.extend(page);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            for e in all {
                println!(
                    "{:>6}  {}  {:<24} {:<20} {:<22} {}  {}",
                    e.seq,
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.tenant.as_deref().unwrap_or("-"),
                    e.action,
                    e.object.as_deref().unwrap_or("-"),
                    e.details
                );
            }
        }
        AuditCommand::Verify => {
            let found = store::audit::verify(&db).await?;
            if let Some(seq) = found.first_broken {
                bail!(
                    "the audit chain is broken at entry {seq}: it was changed, or an entry \
                     before it was removed, after it was written"
                );
            }
            match (found.first, found.last) {
                (Some(first), Some(last)) => println!(
                    "the audit chain holds: {} entries, {first} to {last}",
                    found.entries
                ),
                _ => println!("the audit log is empty"),
            }
        }
    }
    Ok(())
}
