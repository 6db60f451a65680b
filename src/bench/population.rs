//! The benchmark's commune: a tenant with N subscribers, each with a phone number and an
//! address, all following one topic; written in bulk, as an import of that size would be slow
//! and is not what is measured.

use sqlx::PgPool;

use crate::{
    model::{Role, Slug, TenantId, TopicId},
    store,
};

pub const TOPIC: &str = "intemperies";

pub struct Commune {
    pub tenant: TenantId,
}

pub async fn create(db: &PgPool, subscribers: u64) -> anyhow::Result<Commune> {
    let slug = format!("bench-{subscribers}");
    store::tenants::delete(db, &slug).await?;
    let tenant =
        store::tenants::create(db, &Slug::parse(&slug)?, &format!("Bench {subscribers}")).await?;
    let topic = store::topics::create(db, tenant, &Slug::parse(TOPIC)?, "Intempéries")
        .await?
        .id;
    fill(db, tenant, topic, subscribers).await?;
    Ok(Commune { tenant })
}

async fn fill(
    db: &PgPool,
    tenant: TenantId,
    topic: TopicId,
    subscribers: u64,
) -> anyhow::Result<()> {
    // Fictitious numbers (+33 6 1x xx xx xx) and reserved-domain addresses.
    sqlx::query(
        "INSERT INTO subscribers (tenant_id, phone, email)
         SELECT $1, '+3361' || lpad(i::text, 8, '0'), 'habitant' || i || '@example.org'
         FROM generate_series(1, $2::bigint) AS i",
    )
    .bind(tenant.0)
    .bind(subscribers as i64)
    .execute(db)
    .await?;
    sqlx::query(
        "INSERT INTO subscriptions (topic_id, subscriber_id)
         SELECT $1, id FROM subscribers WHERE tenant_id = $2",
    )
    .bind(topic.0)
    .bind(tenant.0)
    .execute(db)
    .await?;
    sqlx::query("ANALYZE subscribers").execute(db).await?;
    sqlx::query("ANALYZE subscriptions").execute(db).await?;
    Ok(())
}

/// An admin key for the commune.
pub async fn admin_key(
    db: &PgPool,
    hasher: &crate::api::KeyHasher,
    commune: &Commune,
) -> anyhow::Result<String> {
    let (key, hash) = hasher.generate();
    store::tenants::create_key(db, commune.tenant, Role::Admin, &hash).await?;
    Ok(key)
}
