//! Keys of the platform itself, made by the migrations and shared by every instance. They are
//! kept sealed under a key of the key ring (migrations/0024, 0025): a copy of the database alone
//! gives none of them. They are not rotated themselves (public ids are held by communes'
//! systems; opt-out hashes are of numbers no longer kept in clear); `tocsin secrets rotate`
//! seals them again under the new key version.

use sqlx::PgPool;

pub use super::key_versions::KeyError;
use crate::model::{
    keys::{KeyRing, Sealed},
    sealed::platform_key_context,
};

/// The secret material behind public ids (`model::PublicIds`).
pub async fn public_ids_key(pool: &PgPool, keys: &KeyRing) -> Result<Vec<u8>, KeyError> {
    key(pool, keys, "public_ids").await
}

/// The key of the opt-out list's hashes: each session gets it as `tocsin.opt_out_key`
/// (`store::connect_with_opt_out_key`).
pub async fn opt_out_key(pool: &PgPool, keys: &KeyRing) -> Result<Vec<u8>, KeyError> {
    key(pool, keys, "opt_outs").await
}

/// A platform key, opened; one still in clear (made by a migration, or kept by a version
/// before sealing) is sealed first, and its clear value removed.
async fn key(pool: &PgPool, keys: &KeyRing, name: &str) -> Result<Vec<u8>, KeyError> {
    let context = platform_key_context(name);
    let (clear, sealed, version): (Option<Vec<u8>>, Option<Vec<u8>>, i32) =
        sqlx::query_as("SELECT key, sealed, sealed_version FROM platform_keys WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?;
    if let Some(clear) = clear {
        // Several instances may start at once: each seals the same key, the last write wins,
        // and every sealed value opens to it.
        let sealed = keys.seal(&context, &clear);
        sqlx::query(
            "UPDATE platform_keys SET sealed = $2, sealed_version = $3, key = NULL
             WHERE name = $1",
        )
        .bind(name)
        .bind(&sealed.bytes)
        .bind(sealed.version)
        .execute(pool)
        .await?;
        return Ok(clear);
    }
    let sealed = Sealed {
        version,
        bytes: sealed.unwrap_or_default(),
    };
    keys.open(&context, &sealed)
        .ok_or_else(|| KeyError::Unopened(name.to_owned()))
}
