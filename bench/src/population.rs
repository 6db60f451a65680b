//! The benchmark's commune: a tenant with N subscribers, each with a phone number, an address,
//! a browser subscribed to the push service stand-in and a fixed line, all following one topic;
//! written in
//! bulk, as an import of that size would be slow and is not what is measured.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sqlx::PgPool;
use tocsin_providers::push::crypto::VapidKey;

use tocsin::{
    model::{Role, Slug, TenantId, TopicId},
    store,
};

pub const TOPIC: &str = "intemperies";
/// A topic of a few subscribers, for the alert that warms the daemon up before the runs.
pub const WARM_UP_TOPIC: &str = "essai";
const WARM_UP_SUBSCRIBERS: i64 = 10;

/// Browser key pairs drawn for a commune. Drawing a million takes minutes and the push service
/// never sees them (the daemon only encrypts to them); what must be unique is the endpoint.
const BROWSER_KEYS: usize = 256;

pub struct Commune {
    pub tenant: TenantId,
    /// The tenant's name: the title of every push notification.
    pub name: String,
}

/// Creates the commune `slug` (replacing one of that slug) with `subscribers` subscribers whose
/// browsers are reached at `{push_base_url}/push/…`.
pub async fn create(
    db: &PgPool,
    slug: &str,
    subscribers: u64,
    push_base_url: &str,
) -> anyhow::Result<Commune> {
    let name = format!("Bench {subscribers}");
    store::tenants::delete(db, slug).await?;
    let tenant = store::tenants::create(db, &Slug::parse(slug)?, &name).await?;
    let topic = store::topics::create(db, tenant, &Slug::parse(TOPIC)?, "Intempéries")
        .await?
        .id;
    let warm_up = store::topics::create(db, tenant, &Slug::parse(WARM_UP_TOPIC)?, "Essai")
        .await?
        .id;
    fill(db, tenant, topic, subscribers, push_base_url).await?;
    sqlx::query(
        "INSERT INTO subscriptions (topic_id, subscriber_id)
         SELECT $1, id FROM subscribers WHERE tenant_id = $2 ORDER BY id LIMIT $3",
    )
    .bind(warm_up.0)
    .bind(tenant.0)
    .bind(WARM_UP_SUBSCRIBERS)
    .execute(db)
    .await?;
    settle(db).await?;
    Ok(Commune { tenant, name })
}

/// `BROWSER_KEYS` pairs of `keys.p256dh` (an uncompressed P-256 point) and `keys.auth` (16
/// octets), base64url, as browsers give them.
fn browser_keys() -> anyhow::Result<(Vec<String>, Vec<String>)> {
    (0..BROWSER_KEYS)
        .map(|_| {
            // A browser's ECDH pair is a P-256 pair like a VAPID key: drawn the same way.
            let p256dh = VapidKey::generate()?.public_key_base64url();
            let auth = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
            Ok((p256dh, auth))
        })
        .collect()
}

async fn fill(
    db: &PgPool,
    tenant: TenantId,
    topic: TopicId,
    subscribers: u64,
    push_base_url: &str,
) -> anyhow::Result<()> {
    let (p256dh, auth) = browser_keys()?;
    // Fictitious numbers (+33 6 1x xx xx xx, fixed lines +33 3 xx xx xx xx), reserved-domain
    // addresses, and a subscription in
    // the shape of `JSON.stringify(subscription)` (migrations/0014, src/store/push.rs) whose
    // endpoint is unique within the tenant, as the index on it requires.
    sqlx::query(
        "INSERT INTO subscribers (tenant_id, phone, email, push, landline)
         SELECT $1, '+3361' || lpad(i::text, 8, '0'), 'habitant' || i || '@example.org',
                jsonb_build_object(
                    'endpoint', $3 || '/push/bench-' || i,
                    'expirationTime', NULL,
                    'keys', jsonb_build_object(
                        'p256dh', ($4::text[])[1 + i % cardinality($4::text[])],
                        'auth', ($5::text[])[1 + i % cardinality($5::text[])])),
                '+333' || lpad(i::text, 8, '0')
         FROM generate_series(1, $2::bigint) AS i",
    )
    .bind(tenant.0)
    .bind(subscribers as i64)
    .bind(push_base_url.trim_end_matches('/'))
    .bind(&p256dh)
    .bind(&auth)
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
    Ok(())
}

/// A commune's subscribers arrive over months; written here all at once, they would leave
/// PostgreSQL catching up (autovacuum, dirty pages) during the first alert's run.
async fn settle(db: &PgPool) -> anyhow::Result<()> {
    for table in ["subscribers", "subscriptions"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
            .execute(db)
            .await?;
    }
    // Needs a superuser or pg_checkpoint; without it, the run starts with the pages unwritten.
    let _ = sqlx::query("CHECKPOINT").execute(db).await;
    Ok(())
}

/// An admin key for the commune.
pub async fn admin_key(
    db: &PgPool,
    hasher: &tocsin::api::KeyHasher,
    commune: &Commune,
) -> anyhow::Result<String> {
    let (key, hash) = hasher.generate();
    store::tenants::create_key(db, commune.tenant, Role::Admin, &hash).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use tocsin_providers::push::crypto::{parse_auth, parse_p256dh};

    use super::*;

    #[test]
    fn browser_keys_are_what_the_adapter_reads() {
        let (p256dh, auth) = browser_keys().unwrap();
        assert_eq!((p256dh.len(), auth.len()), (BROWSER_KEYS, BROWSER_KEYS));
        assert!(p256dh.iter().all(|k| parse_p256dh(k).is_ok()));
        assert!(auth.iter().all(|a| parse_auth(a).is_ok()));
    }
}
