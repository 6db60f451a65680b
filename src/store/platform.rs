//! Keys of the platform itself, made by the migrations and shared by every instance.

use sqlx::PgPool;

use super::DbError;

/// The secret material behind public ids (`model::PublicIds`).
pub async fn public_ids_key(pool: &PgPool) -> Result<Vec<u8>, DbError> {
    let (key,): (Vec<u8>,) =
        sqlx::query_as("SELECT key FROM platform_keys WHERE name = 'public_ids'")
            .fetch_one(pool)
            .await?;
    Ok(key)
}
