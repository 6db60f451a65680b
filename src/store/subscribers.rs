//! Subscribers and their subscriptions to topics.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::{DbError, erasure};
use crate::model::{Channel, EmailAddress, PhoneNumber, SubscriberId, TenantId, TopicId};

#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// A fixed line, called by voice only.
    pub landline: Option<String>,
    /// For a browser: its push service's host (the endpoint itself is a secret of the browser).
    pub push_service: Option<String>,
    pub topics: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What an upsert did: a new subscriber, an existing one (possibly given new topics or a missing
/// address), or nothing at all because everything was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(SubscriberId),
    Updated(SubscriberId),
    Unchanged(SubscriberId),
}

impl Upserted {
    pub fn id(self) -> SubscriberId {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) | Upserted::Unchanged(id) => id,
        }
    }
}

/// One subscriber to add or complete, with the topics to subscribe them to.
pub struct Incoming<'a> {
    pub phone: Option<&'a PhoneNumber>,
    pub email: Option<&'a EmailAddress>,
    /// A fixed line (voice only).
    pub landline: Option<&'a PhoneNumber>,
    pub topics: Vec<TopicId>,
}

/// Who adds subscribers, and so how their consent is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The commune, through its API or an import of a register it holds: consent recorded as
    /// given to the commune.
    CommuneApi,
    CommuneImport,
    /// The citizen themself, whose consent the caller records with its evidence.
    Citizen,
}

impl Source {
    fn evidence(self) -> Option<&'static str> {
        match self {
            Source::CommuneApi => Some("added by the commune (API)"),
            Source::CommuneImport => Some("imported by the commune"),
            Source::Citizen => None,
        }
    }
}

/// What an import did, row by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Numbers and addresses left out because the citizen opted out of them (STOP, an
    /// unsubscribe link): only the citizen can subscribe them again.
    pub opted_out: u64,
}

/// Adds a subscriber, or completes the one who already has this phone number or e-mail address
/// within the tenant (see [`import`]).
pub async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    incoming: Incoming<'_>,
    source: Source,
) -> Result<Upserted, DbError> {
    let counts = import(tx, tenant, &[incoming], source).await?;
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM import_matched")
        .fetch_one(&mut **tx)
        .await?;
    let id = SubscriberId(id);
    Ok(if counts.created > 0 {
        Upserted::Created(id)
    } else if counts.updated > 0 {
        Upserted::Updated(id)
    } else {
        Upserted::Unchanged(id)
    })
}

/// Adds or completes many subscribers in a few set-based statements: the rows are copied into a
/// temporary table (COPY), matched against the tenant's subscribers (by phone number first, then
/// by e-mail address regardless of case), the new ones inserted at once, the known ones given
/// the phone number or address they lacked (unless another subscriber holds it) and every row's
/// subscriptions added. Importing the same rows again changes nothing. The rows must not repeat a
/// phone number or an address (the CSV parser refuses such rows). Imports and upserts of one
/// tenant take turns (an advisory lock), so two at once cannot insert the same person twice.
pub async fn import(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    rows: &[Incoming<'_>],
    source: Source,
) -> Result<ImportCounts, DbError> {
    lock_tenant(tx, tenant).await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE import_rows (
             line int NOT NULL, phone text, email text, landline text, topics uuid[] NOT NULL
         ) ON COMMIT DROP",
    )
    .execute(&mut **tx)
    .await?;
    let mut copy = tx
        .copy_in_raw("COPY import_rows (line, phone, email, landline, topics) FROM STDIN")
        .await?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    for (line, row) in rows.iter().enumerate() {
        copy_line(&mut buffer, line, row);
        if buffer.len() >= 60 * 1024 {
            copy.send(std::mem::take(&mut buffer)).await?;
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer).await?;
    }
    copy.finish().await?;
    let opted_out = if source == Source::Citizen {
        0
    } else {
        leave_out_opted_out(tx, tenant).await?
    };

    // New subscribers get their ids here, so that their rows and subscriptions need no join
    // back on their addresses.
    sqlx::query(
        "CREATE TEMPORARY TABLE import_matched ON COMMIT DROP AS
         SELECT line, phone, email, landline, topics,
                COALESCE(known, nextval(pg_get_serial_sequence('subscribers', 'id'))) AS id,
                known IS NULL AS created
         FROM (SELECT r.*, COALESCE(p.id, e.id, l.id) AS known
               FROM import_rows r
               LEFT JOIN subscribers p ON p.tenant_id = $1 AND p.phone = r.phone
               LEFT JOIN subscribers e
                      ON e.tenant_id = $1 AND lower(e.email) = lower(r.email)
               LEFT JOIN subscribers l
                      ON l.tenant_id = $1 AND l.landline = r.landline) matched",
    )
    .bind(tenant.0)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO subscribers (id, tenant_id, phone, email, landline) OVERRIDING SYSTEM VALUE
         SELECT id, $1, phone, email, landline FROM import_matched WHERE created ORDER BY line",
    )
    .bind(tenant.0)
    .execute(&mut **tx)
    .await?;
    // Known subscribers get what they lacked, unless another subscriber already holds it (the
    // row keeps its gap rather than breaking uniqueness); then every row's subscriptions.
    let (created, updated, unchanged): (i64, i64, i64) = sqlx::query_as(
        "WITH fillable AS (
             SELECT m.id,
                    CASE WHEN s.phone IS NULL AND NOT EXISTS (SELECT 1 FROM subscribers o
                         WHERE o.tenant_id = $1 AND o.phone = m.phone) THEN m.phone END AS phone,
                    CASE WHEN s.email IS NULL AND NOT EXISTS (SELECT 1 FROM subscribers o
                         WHERE o.tenant_id = $1 AND lower(o.email) = lower(m.email))
                         THEN m.email END AS email,
                    CASE WHEN s.landline IS NULL AND NOT EXISTS (SELECT 1 FROM subscribers o
                         WHERE o.tenant_id = $1 AND o.landline = m.landline)
                         THEN m.landline END AS landline
             FROM import_matched m JOIN subscribers s ON s.id = m.id
             WHERE NOT m.created
               AND ((s.phone IS NULL AND m.phone IS NOT NULL)
                 OR (s.email IS NULL AND m.email IS NOT NULL)
                 OR (s.landline IS NULL AND m.landline IS NOT NULL))
         ),
         filled AS (
             UPDATE subscribers s
             SET phone = COALESCE(s.phone, f.phone), email = COALESCE(s.email, f.email),
                 landline = COALESCE(s.landline, f.landline)
             FROM fillable f
             WHERE s.id = f.id
               AND (f.phone IS NOT NULL OR f.email IS NOT NULL OR f.landline IS NOT NULL)
             RETURNING s.id
         ),
         subscribed AS (
             INSERT INTO subscriptions (topic_id, subscriber_id)
             SELECT t.topic, m.id FROM import_matched m, unnest(m.topics) AS t(topic)
             ON CONFLICT DO NOTHING
             RETURNING subscriber_id
         ),
         changed AS (
             SELECT id FROM filled
             UNION SELECT subscriber_id FROM subscribed
         ),
         -- What the commune added itself is trusted: consent given to the commune, per channel,
         -- for the rows that changed something.
         consented AS (
             INSERT INTO consents (tenant_id, subscriber_id, channel, address, method, topics,
                                   evidence)
             SELECT $1, m.id, c.channel, c.address, 'commune',
                    ARRAY(SELECT t.slug FROM topics t WHERE t.id = ANY(m.topics) ORDER BY 1),
                    $2
             FROM import_matched m
             CROSS JOIN LATERAL (VALUES ('sms', m.phone), ('email', m.email),
                                        ('voice', m.landline))
                  AS c(channel, address)
             WHERE $2 IS NOT NULL AND c.address IS NOT NULL
               AND (m.created OR m.id IN (SELECT id FROM changed))
         )
         SELECT count(*) FILTER (WHERE m.created),
                count(*) FILTER (WHERE NOT m.created AND c.id IS NOT NULL),
                count(*) FILTER (WHERE NOT m.created AND c.id IS NULL)
         FROM import_matched m LEFT JOIN changed c ON c.id = m.id",
    )
    .bind(tenant.0)
    .bind(source.evidence())
    .fetch_one(&mut **tx)
    .await?;
    // Opt-outs reported while this import held the lock: applied before it commits, so that
    // none of its rows outlives a STOP.
    super::pending_opt_outs::apply_locked(tx, tenant).await?;
    Ok(ImportCounts {
        created: created as u64,
        updated: updated as u64,
        unchanged: unchanged as u64,
        opted_out,
    })
}

/// Drops from `import_rows` the numbers and addresses on the tenant's opt-out list (rows left
/// with neither go), and counts them. Tenants without opt-outs pay nothing for it.
async fn leave_out_opted_out(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
) -> Result<u64, DbError> {
    let (dropped,): (i64,) = sqlx::query_as(
        "WITH flagged AS (
             SELECT line,
                    phone IS NOT NULL AND EXISTS (SELECT 1 FROM opt_outs o
                        WHERE o.tenant_id = $1 AND o.channel = 'sms'
                          AND o.address_hash = address_hash(phone)) AS phone_out,
                    email IS NOT NULL AND EXISTS (SELECT 1 FROM opt_outs o
                        WHERE o.tenant_id = $1 AND o.channel = 'email'
                          AND o.address_hash = address_hash(email)) AS email_out
             FROM import_rows
             WHERE EXISTS (SELECT 1 FROM opt_outs WHERE tenant_id = $1)),
         cleared AS (
             UPDATE import_rows r
             SET phone = CASE WHEN f.phone_out THEN NULL ELSE r.phone END,
                 email = CASE WHEN f.email_out THEN NULL ELSE r.email END
             FROM flagged f WHERE f.line = r.line AND (f.phone_out OR f.email_out))
         SELECT COALESCE(sum(phone_out::int + email_out::int), 0) FROM flagged",
    )
    .bind(tenant.0)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM import_rows WHERE phone IS NULL AND email IS NULL AND landline IS NULL",
    )
    .execute(&mut **tx)
    .await?;
    Ok(dropped as u64)
}

/// Imports, upserts and removals of one tenant's subscribers take turns.
pub(super) async fn lock_tenant(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
) -> Result<(), DbError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One line of COPY's text format: tab-separated, `\N` for NULL. Phone numbers (E.164),
/// validated addresses and UUIDs hold no tab, newline or backslash; they are escaped anyway.
fn copy_line(buffer: &mut Vec<u8>, line: usize, row: &Incoming<'_>) {
    use std::io::Write;
    let _ = write!(buffer, "{line}\t");
    copy_field(buffer, row.phone.map(PhoneNumber::as_str));
    buffer.push(b'\t');
    copy_field(buffer, row.email.map(EmailAddress::as_str));
    buffer.push(b'\t');
    copy_field(buffer, row.landline.map(PhoneNumber::as_str));
    buffer.push(b'\t');
    buffer.push(b'{');
    for (i, topic) in row.topics.iter().enumerate() {
        if i > 0 {
            buffer.push(b',');
        }
        let _ = write!(buffer, "{}", topic.0);
    }
    buffer.extend_from_slice(b"}\n");
}

fn copy_field(buffer: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        buffer.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => buffer.extend_from_slice(b"\\\\"),
            b'\t' => buffer.extend_from_slice(b"\\t"),
            b'\n' => buffer.extend_from_slice(b"\\n"),
            b'\r' => buffer.extend_from_slice(b"\\r"),
            other => buffer.push(other),
        }
    }
}

type SubscriberRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
    DateTime<Utc>,
);

/// One page of a tenant's subscribers, in id order, after `after`.
pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<SubscriberId>,
    limit: i64,
) -> Result<Vec<Subscriber>, DbError> {
    let rows: Vec<SubscriberRow> = sqlx::query_as(
        "SELECT b.id, b.phone, b.email, b.landline, b.push ->> 'endpoint',
                COALESCE(array_agg(t.slug ORDER BY t.slug) FILTER (WHERE t.slug IS NOT NULL), '{}'),
                b.created_at
         FROM subscribers b
         LEFT JOIN subscriptions s ON s.subscriber_id = b.id
         LEFT JOIN topics t ON t.id = s.topic_id
         WHERE b.tenant_id = $1 AND b.id > $2
         GROUP BY b.id ORDER BY b.id LIMIT $3",
    )
    .bind(tenant.0)
    .bind(after.map_or(0, |id| id.0))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, phone, email, landline, endpoint, topics, created_at)| Subscriber {
                id: SubscriberId(id),
                phone,
                email,
                landline,
                push_service: endpoint
                    .and_then(|e| Some(url::Url::parse(&e).ok()?.host_str()?.to_string())),
                topics,
                created_at,
            },
        )
        .collect())
}

pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: SubscriberId,
) -> Result<Option<Subscriber>, DbError> {
    let page = list(pool, tenant, Some(SubscriberId(id.0 - 1)), 1).await?;
    Ok(page.into_iter().find(|s| s.id == id))
}

/// Removes a subscriber, their subscriptions and every address of theirs (see
/// [`erasure::forget`]); false when the tenant has no such subscriber. Past delivery rows stay
/// for the alerts' reports, without the address.
pub async fn remove(pool: &PgPool, tenant: TenantId, id: SubscriberId) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    let removed = erasure::forget(&mut tx, tenant, id, &Channel::ALL).await?;
    tx.commit().await?;
    Ok(removed)
}

/// How a citizen gave their consent for their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneConsent {
    /// They texted a keyword (ALERTE) to the commune's number.
    Keyword,
    /// They gave the number on a public route and confirmed the code sent to it.
    Code,
}

/// A citizen subscribed their own number (by SMS, or by confirming a code): added or completed
/// with these topics, the number off the opt-out list, and their consent recorded with what
/// they sent.
pub async fn subscribe_by_phone(
    pool: &PgPool,
    tenant: TenantId,
    phone: &PhoneNumber,
    topics: &[(TopicId, String)],
    consent: PhoneConsent,
    message: &str,
) -> Result<SubscriberId, DbError> {
    let method = match consent {
        PhoneConsent::Keyword => "sms_keyword",
        PhoneConsent::Code => "sms_code",
    };
    subscribe_citizen(pool, tenant, Own::Phone(phone), topics, method, message).await
}

/// A citizen confirmed their address with the link sent to it: as [`subscribe_by_phone`].
pub async fn subscribe_by_email(
    pool: &PgPool,
    tenant: TenantId,
    email: &EmailAddress,
    topics: &[(TopicId, String)],
    evidence: &str,
) -> Result<SubscriberId, DbError> {
    subscribe_citizen(
        pool,
        tenant,
        Own::Email(email),
        topics,
        "email_link",
        evidence,
    )
    .await
}

/// The number or address a citizen subscribes themself.
enum Own<'a> {
    Phone(&'a PhoneNumber),
    Email(&'a EmailAddress),
}

/// A citizen subscribed one address of theirs: it comes off the opt-out list, is added or
/// completed, and the consent is recorded with its evidence.
async fn subscribe_citizen(
    pool: &PgPool,
    tenant: TenantId,
    own: Own<'_>,
    topics: &[(TopicId, String)],
    method: &str,
    evidence: &str,
) -> Result<SubscriberId, DbError> {
    let (channel, address, incoming) = match own {
        Own::Phone(phone) => (
            Channel::Sms,
            phone.as_str(),
            Incoming {
                phone: Some(phone),
                email: None,
                landline: None,
                topics: topics.iter().map(|(id, _)| *id).collect(),
            },
        ),
        Own::Email(email) => (
            Channel::Email,
            email.as_str(),
            Incoming {
                phone: None,
                email: Some(email),
                landline: None,
                topics: topics.iter().map(|(id, _)| *id).collect(),
            },
        ),
    };
    let mut tx = pool.begin().await?;
    erasure::opt_back_in(&mut tx, tenant, channel, address).await?;
    let id = upsert(&mut tx, tenant, incoming, Source::Citizen)
        .await?
        .id();
    let slugs: Vec<&str> = topics.iter().map(|(_, slug)| slug.as_str()).collect();
    let evidence: String = evidence.chars().take(320).collect();
    sqlx::query(
        "INSERT INTO consents (tenant_id, subscriber_id, channel, address, method, topics,
                               evidence)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant.0)
    .bind(id.0)
    .bind(channel.as_str())
    .bind(address)
    .bind(method)
    .bind(&slugs)
    .bind(evidence)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The subscriber with this number, as their mobile or their fixed line.
pub async fn by_number(
    pool: &PgPool,
    tenant: TenantId,
    number: &str,
) -> Result<Option<SubscriberId>, DbError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM subscribers WHERE tenant_id = $1 AND (phone = $2 OR landline = $2)
         ORDER BY phone = $2 DESC LIMIT 1",
    )
    .bind(tenant.0)
    .bind(number)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id,)| SubscriberId(id)))
}

/// The subscriber of the tenant with this address, if any.
pub async fn by_email(
    pool: &PgPool,
    tenant: TenantId,
    email: &EmailAddress,
) -> Result<Option<SubscriberId>, DbError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM subscribers WHERE tenant_id = $1 AND lower(email) = lower($2)",
    )
    .bind(tenant.0)
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id,)| SubscriberId(id)))
}

/// The subscriber leaves e-mail altogether (an unsubscribe link): the address is forgotten and
/// its keyed hash goes on the opt-out list. Returns their tenant when they had an address.
pub async fn unsubscribe_email(
    pool: &PgPool,
    subscriber: SubscriberId,
) -> Result<Option<TenantId>, DbError> {
    let mut tx = pool.begin().await?;
    let row: Option<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT tenant_id, email FROM subscribers WHERE id = $1 AND email IS NOT NULL",
    )
    .bind(subscriber.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((tenant, email)) = row else {
        return Ok(None);
    };
    let tenant = TenantId(tenant);
    lock_tenant(&mut tx, tenant).await?;
    erasure::forget(&mut tx, tenant, subscriber, &[Channel::Email]).await?;
    erasure::opt_out(&mut tx, tenant, Channel::Email, &email).await?;
    tx.commit().await?;
    Ok(Some(tenant))
}

/// A citizen said STOP by SMS: their number is forgotten (a subscriber who also has an address
/// keeps it, without the number) and its keyed hash goes on the opt-out list, which imports and
/// the API honour until the citizen subscribes again themself.
pub async fn stop_by_sms(
    pool: &PgPool,
    tenant: TenantId,
    phone: &PhoneNumber,
) -> Result<(), DbError> {
    stop_number(pool, tenant, phone.as_str()).await
}

/// [`stop_by_sms`] for a number known to be E.164 (one Tocsin texted).
pub async fn stop_number(pool: &PgPool, tenant: TenantId, phone: &str) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    lock_tenant(&mut tx, tenant).await?;
    stop_locked(&mut tx, tenant, phone).await?;
    tx.commit().await?;
    Ok(())
}

/// The number leaves: its subscriber forgets it and it goes on the opt-out list. The caller
/// holds the tenant's lock ([`lock_tenant`]).
pub(super) async fn stop_locked(
    tx: &mut Transaction<'_, Postgres>,
    tenant: TenantId,
    phone: &str,
) -> Result<(), DbError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM subscribers WHERE tenant_id = $1 AND phone = $2")
            .bind(tenant.0)
            .bind(phone)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some((id,)) = found {
        erasure::forget(tx, tenant, SubscriberId(id), &[Channel::Sms]).await?;
    }
    erasure::opt_out(tx, tenant, Channel::Sms, phone).await
}

/// One consent as recorded: when, how, on which channel, for which topics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Consent {
    pub channel: String,
    /// The number or address it was given for; null once withdrawn.
    pub address: Option<String>,
    /// `sms_keyword`, `sms_code`, `email_link`, `browser` or `commune`.
    pub method: String,
    pub topics: Vec<String>,
    pub evidence: Option<String>,
    pub at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A subscriber's consents, oldest first.
pub async fn consents(
    pool: &PgPool,
    tenant: TenantId,
    id: SubscriberId,
) -> Result<Vec<Consent>, DbError> {
    type Row = (
        String,
        Option<String>,
        String,
        Vec<String>,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT channel, address, method, topics, evidence, at, withdrawn_at FROM consents
         WHERE tenant_id = $1 AND subscriber_id = $2 ORDER BY at, id",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(channel, address, method, topics, evidence, at, withdrawn_at)| Consent {
                channel,
                address,
                method,
                topics,
                evidence,
                at,
                withdrawn_at,
            },
        )
        .collect())
}

/// One message sent to a subscriber, as their export lists it.
#[derive(Debug, Clone)]
pub struct Received {
    pub alert: crate::model::AlertId,
    pub channel: String,
    pub address: Option<String>,
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Every delivery to a subscriber. Deliveries have no index on the subscriber (planning pays
/// for none): this reads the table, which a right-of-access request, rare, can afford.
pub async fn received(
    pool: &PgPool,
    tenant: TenantId,
    id: SubscriberId,
) -> Result<Vec<Received>, DbError> {
    type Row = (
        uuid::Uuid,
        String,
        Option<String>,
        String,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.alert_id, d.channel, d.address, d.status, d.sent_at
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.subscriber_id = $2 AND a.tenant_id = $1 ORDER BY d.id",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(alert, channel, address, status, sent_at)| Received {
            alert: crate::model::AlertId(alert),
            channel,
            address,
            status,
            sent_at,
        })
        .collect())
}

/// A tenant's subscribers: in all, and reachable by SMS, by e-mail and by push.
pub async fn counts(pool: &PgPool, tenant: TenantId) -> Result<(i64, i64, i64, i64), DbError> {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE phone IS NOT NULL),
                count(*) FILTER (WHERE email IS NOT NULL), count(*) FILTER (WHERE push IS NOT NULL)
         FROM subscribers WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await
}
