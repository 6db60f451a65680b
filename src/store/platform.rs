//! Keys of the platform itself, made by the migrations and shared by every instance. They are
//! kept sealed under a key derived from the server's secret (migrations/0024): a copy of the
//! database alone gives none of them.

use sqlx::PgPool;

use super::DbError;
use crate::model::sealed::Sealer;

/// The secret material behind public ids (`model::PublicIds`).
pub async fn public_ids_key(pool: &PgPool, sealer: &Sealer) -> Result<Vec<u8>, KeyError> {
    key(pool, sealer, "public_ids").await
}

/// The key of the opt-out list's hashes: each session gets it as `tocsin.opt_out_key`
/// (`store::connect_with_opt_out_key`).
pub async fn opt_out_key(pool: &PgPool, sealer: &Sealer) -> Result<Vec<u8>, KeyError> {
    key(pool, sealer, "opt_outs").await
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error(
        "the platform key {0:?} does not open with this api_key_secret: the database was \
         sealed under another secret"
    )]
    Unopened(String),
}

/// A platform key, opened; one still in clear (made by a migration, or kept by a version
/// before sealing) is sealed first, and its clear value removed.
async fn key(pool: &PgPool, sealer: &Sealer, name: &str) -> Result<Vec<u8>, KeyError> {
    let context = format!("platform key {name}");
    let (clear, sealed): (Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT key, sealed FROM platform_keys WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?;
    if let Some(clear) = clear {
        // Several instances may start at once: each seals the same key, the last write wins,
        // and every sealed value opens to it.
        sqlx::query("UPDATE platform_keys SET sealed = $2, key = NULL WHERE name = $1")
            .bind(name)
            .bind(sealer.seal(&context, &clear))
            .execute(pool)
            .await?;
        return Ok(clear);
    }
    let sealed = sealed.unwrap_or_default();
    sealer
        .open(&context, &sealed)
        .ok_or_else(|| KeyError::Unopened(name.to_owned()))
}
