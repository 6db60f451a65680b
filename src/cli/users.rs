//! People of the console from the command line: `tocsin user add|list|remove|reset`.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;

use super::ops::{database, load};
use crate::{
    model::{EmailAddress, Role, UserId, people::Invitation},
    store::{self, users::NewUser},
};

/// The longest name shown in the console.
const NAME_MAX: usize = 100;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Invite a person: prints their one-time invitation link (valid 72 h) on stdout.
    Add {
        /// Slug of the tenant (commune, group or the platform) their role holds on, with
        /// everything below it.
        #[arg(long)]
        tenant: String,
        /// Their e-mail: it is their login.
        #[arg(long)]
        email: String,
        /// Their name, as the console shows it ("Anne Martin").
        #[arg(long)]
        name: String,
        /// admin (everything of the tenant: users, settings, topics, schedules), sender (sends
        /// and cancels alerts), drafter (drafts alerts, manages subscribers) or reader (history
        /// and status, addresses masked).
        #[arg(long)]
        role: String,
    },
    /// List the people of a tenant and of those below it (every one without --tenant).
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Remove a person: they can no longer sign in, their sessions end.
    Remove { id: String },
    /// Start a person over (a forgotten password, a lost phone): prints a new invitation link,
    /// their password and second factor are cleared and their sessions end.
    Reset { id: String },
}

#[derive(Serialize)]
struct Listed {
    id: UserId,
    tenant: String,
    email: String,
    name: String,
    role: Role,
    /// `invited` (no password yet), `active`, `locked`.
    state: &'static str,
    second_factor: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn user(path: Option<&Path>, command: UserCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    let db = database(&config).await?;
    let now = chrono::Utc::now();
    match command {
        UserCommand::Add {
            tenant,
            email,
            name,
            role,
        } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let email = EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > NAME_MAX || name.contains(['\n', '\r']) {
                bail!("--name: one line of 1 to {NAME_MAX} characters");
            }
            let node = store::tenants::find_by_slug(&db, &tenant)
                .await?
                .with_context(|| format!("--tenant: no tenant {tenant:?}"))?;
            let invitation = Invitation::new();
            let actor = super::audit::operator();
            let new = NewUser {
                tenant: node.id,
                email: email.as_str(),
                name,
                role,
                invited_by: &actor,
            };
            let id = store::users::create_invited(&db, &new, &invitation.digest, now)
                .await
                .map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let details = serde_json::json!({ "role": role.as_str() });
            super::audit::record(&db, Some(node.id), "user.invited", &id.to_string(), details)
                .await?;
            println!("{}", invitation.link(&config.public_url));
            eprintln!(
                "{id} ({}) invited to {tenant}: send them this link, valid 72 hours and once",
                role.as_str()
            );
        }
        UserCommand::List { tenant, json } => {
            let root = match tenant {
                Some(slug) => {
                    store::tenants::find_by_slug(&db, &slug)
                        .await?
                        .with_context(|| format!("--tenant: no tenant {slug:?}"))?
                        .id
                }
                None => store::tree::platform(&db).await?.id,
            };
            let people: Vec<Listed> = store::users::list_below(&db, root)
                .await?
                .into_iter()
                .map(|u| Listed {
                    state: if u.password_hash.is_none() {
                        "invited"
                    } else if u.locked_until.is_some_and(|until| until > now) {
                        "locked"
                    } else {
                        "active"
                    },
                    second_factor: u.totp.is_some(),
                    id: u.id,
                    tenant: u.tenant_slug,
                    email: u.email,
                    name: u.name,
                    role: u.role,
                    created_at: u.created_at,
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&people)?);
                return Ok(());
            }
            println!(
                "id                                    tenant            role     state    2FA  email / name"
            );
            for p in &people {
                println!(
                    "{:<36}  {:<16}  {:<7}  {:<7}  {:<3}  {} / {}",
                    p.id.to_string(),
                    p.tenant,
                    p.role.as_str(),
                    p.state,
                    if p.second_factor { "yes" } else { "no" },
                    p.email,
                    p.name
                );
            }
        }
        UserCommand::Remove { id } => {
            let id: UserId = id.parse().map_err(|e| anyhow::anyhow!("user id: {e}"))?;
            let person = store::users::get(&db, id)
                .await?
                .with_context(|| format!("no user {id}"))?;
            store::users::remove(&db, id, now).await?;
            super::audit::record(
                &db,
                Some(person.tenant),
                "user.removed",
                &id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            eprintln!("{id} removed: they can no longer sign in");
        }
        UserCommand::Reset { id } => {
            let id: UserId = id.parse().map_err(|e| anyhow::anyhow!("user id: {e}"))?;
            let person = store::users::get(&db, id)
                .await?
                .with_context(|| format!("no user {id}"))?;
            let invitation = Invitation::new();
            store::users::reset(&db, id, &invitation.digest, now).await?;
            super::audit::record(
                &db,
                Some(person.tenant),
                "user.reset",
                &id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            println!("{}", invitation.link(&config.public_url));
            eprintln!(
                "{id} reset: their sessions ended; they set a new password (and second factor) \
                 with this link, valid 72 hours and once"
            );
        }
    }
    Ok(())
}
