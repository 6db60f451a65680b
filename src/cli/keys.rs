//! API keys and the key versions behind them: `tocsin key` and `tocsin secrets`.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::ops::{database, load};
use crate::{
    api::KeyHasher,
    config::Config,
    model::{ApiKeyId, Role, keys::KeyRing},
    store::{self, key_versions},
};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key and print it, alone, on stdout; it is shown only this once.
    Create {
        /// Slug of the tenant the key belongs to.
        #[arg(long)]
        tenant: String,
        /// admin (everything of the tenant and those below it), sender (sends and cancels
        /// alerts), drafter (manages subscribers) or reader (reads alerts and their reports).
        #[arg(long)]
        role: String,
    },
    /// Revoke an API key by its id (printed on stderr by `key create`).
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// List the key versions: which secret each derives from, what still depends on it.
    Status {
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Start a new key version under `api_key_secret`, and seal every stored secret (DKIM keys,
    /// the platform's keys) with it. Nothing stops working: links, callback URLs and API keys
    /// of older versions keep opening until `secrets retire`. After changing the secret, keep
    /// the old one as `api_key_secret_previous` until then.
    Rotate,
    /// End every version older than the current one: unsubscribe and confirmation links sent
    /// before the rotation stop opening, providers must call the callback URLs `tenant show`
    /// prints now, and API keys not used since the rotation are revoked (they are listed).
    Retire,
}

/// The key ring of the configured database.
pub async fn ring(config: &Config, db: &sqlx::PgPool) -> anyhow::Result<KeyRing> {
    let secrets = config
        .server_secrets()
        .context("api_key_secret (TOCSIN_API_KEY_SECRET) is not set: every key derives from it")?;
    Ok(key_versions::open(db, secrets).await?)
}

pub async fn key(path: Option<&Path>, command: KeyCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    match command {
        KeyCommand::Create { tenant, role } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let db = database(&config).await?;
            let hasher = KeyHasher::new(ring(&config, &db).await?);
            let (key, id) = create_key(&db, &hasher, &tenant, role).await?;
            let node = store::tenants::find_by_slug(&db, &tenant)
                .await?
                .map(|t| t.id);
            let details = serde_json::json!({ "role": role.as_str() });
            super::audit::record(&db, node, "key.created", &id.to_string(), details).await?;
            println!("{key}");
            eprintln!(
                "API key {id} ({}) created for {tenant}; it is shown only once",
                role.as_str()
            );
        }
        KeyCommand::Revoke { id } => {
            let id: ApiKeyId = id.parse().map_err(|e| anyhow::anyhow!("key id: {e}"))?;
            let db = database(&config).await?;
            let Some(tenant) = store::tenants::revoke_key(&db, id).await? else {
                bail!("no live API key {id}");
            };
            let details = serde_json::json!({});
            let node = Some(tenant);
            super::audit::record(&db, node, "key.revoked", &id.to_string(), details).await?;
            eprintln!("API key {id} revoked");
        }
    }
    Ok(())
}

/// Creates a key for a tenant: shared by `key create` and the demo.
pub async fn create_key(
    db: &sqlx::PgPool,
    hasher: &KeyHasher,
    tenant: &str,
    role: Role,
) -> anyhow::Result<(String, ApiKeyId)> {
    let found = store::tenants::find_by_slug(db, tenant).await?;
    let tenant = found.with_context(|| format!("no tenant {tenant:?}"))?;
    let (key, hash) = hasher.generate();
    let id = store::tenants::create_key(db, tenant.id, role, &hash).await?;
    Ok((key, id))
}

pub async fn secrets(path: Option<&Path>, command: SecretsCommand) -> anyhow::Result<()> {
    let config = load(path)?;
    let db = database(&config).await?;
    // Opening claims version 0 on a database never opened since versions exist.
    ring(&config, &db).await?;
    let secrets = config.server_secrets().expect("checked by ring()");
    // Secrets are the platform's: their entries are on its node.
    let platform = Some(store::tree::platform(&db).await?.id);
    match command {
        SecretsCommand::Status { json } => {
            let versions = key_versions::status(&db, secrets).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&versions)?);
                return Ok(());
            }
            println!("version  secret    api keys  sealed  created           retired");
            for v in versions {
                println!(
                    "{:>7}  {:<8}  {:>8}  {:>6}  {}  {}",
                    v.version,
                    v.secret,
                    v.api_keys,
                    v.sealed,
                    v.created_at.format("%Y-%m-%d %H:%M"),
                    v.retired_at
                        .map_or("-".into(), |r| r.format("%Y-%m-%d %H:%M").to_string())
                );
            }
        }
        SecretsCommand::Rotate => {
            let rotation = key_versions::rotate(&db, secrets).await?;
            let details = serde_json::json!({ "resealed": rotation.resealed });
            let version = rotation.version.to_string();
            super::audit::record(&db, platform, "secrets.rotated", &version, details).await?;
            println!("key version {} is now current", rotation.version);
            println!(
                "  {} stored secrets sealed under it (platform and DKIM keys)",
                rotation.resealed
            );
            for slug in &rotation.unopened_dkim {
                println!(
                    "  warning: the DKIM key of {slug} opens under no configured secret; set it \
                     again (`tocsin tenant update {slug} --dkim-key`)"
                );
            }
            println!(
                "  {} API keys are on an older version; each moves to this one on its first use",
                rotation.keys_on_older_versions
            );
            println!(
                "Running instances take the new version within a minute. Give providers the \
                 callback URLs `tocsin tenant show` prints now; then `tocsin secrets retire`."
            );
        }
        SecretsCommand::Retire => {
            let retirement = key_versions::retire(&db).await?;
            if retirement.retired.is_empty() {
                println!("no older key version to retire");
                return Ok(());
            }
            println!("key versions {:?} retired", retirement.retired);
            let revoked: Vec<String> = retirement
                .revoked_keys
                .iter()
                .map(|k| k.id.to_string())
                .collect();
            let details =
                serde_json::json!({ "versions": retirement.retired, "revoked_keys": revoked });
            super::audit::record(&db, platform, "secrets.retired", "key versions", details).await?;
            for key in &retirement.revoked_keys {
                println!(
                    "  API key {} ({}, {}) was not used since the rotation: revoked",
                    key.id,
                    key.tenant,
                    key.role.as_str()
                );
            }
            if config.api_key_secret_previous.is_some() {
                println!("api_key_secret_previous may now be removed from the configuration");
            }
        }
    }
    Ok(())
}
