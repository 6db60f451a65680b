//! Communes' DKIM keys, opened once: they are stored sealed (`model::sealed`), and reading an
//! RSA key costs more than sending a mail, so each is kept here until its tenant changes it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sqlx::PgPool;
use tocsin_providers::email::DkimKey;

use crate::{
    model::{
        TenantId,
        keys::{KeyRing, Sealed},
        sealed::dkim_context,
    },
    store::{self, branding::Dkim},
};

/// An opened key and the sealed key it was opened from (to see a change).
type Opened = (Sealed, Arc<DkimKey>);

pub struct DkimKeys {
    keys: KeyRing,
    opened: Mutex<HashMap<TenantId, Opened>>,
}

impl DkimKeys {
    pub fn new(keys: KeyRing) -> Self {
        DkimKeys {
            keys,
            opened: Mutex::default(),
        }
    }

    /// The tenant's key, or `None` when it has none. A tenant with a key never sends unsigned
    /// (its domain's DMARC policy may tell receivers to reject unsigned mail, and a commune's
    /// alert would silently land in spam): a key that cannot be read now, or does not open
    /// with this server's secret, is an error, and its mail waits and is retried.
    pub async fn of(
        &self,
        db: &PgPool,
        tenant: TenantId,
    ) -> Result<Option<Arc<DkimKey>>, DkimUnavailable> {
        let dkim = match store::branding::dkim(db, tenant).await {
            Ok(Some(dkim)) => dkim,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::warn!(%tenant, %error, "DKIM key not read; its mail waits");
                return Err(DkimUnavailable::Unread);
            }
        };
        self.open(tenant, &dkim).map(Some)
    }

    fn open(&self, tenant: TenantId, dkim: &Dkim) -> Result<Arc<DkimKey>, DkimUnavailable> {
        let mut opened = self.opened.lock().expect("not poisoned");
        if let Some((sealed, key)) = opened.get(&tenant)
            && *sealed == dkim.sealed_key
        {
            return Ok(key.clone());
        }
        let pem = self.keys.open(&dkim_context(tenant), &dkim.sealed_key);
        let key = pem
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| DkimKey::new(&dkim.selector, &dkim.domain, &pem).ok());
        let Some(key) = key else {
            tracing::error!(
                %tenant,
                "DKIM key does not open with this server's secret; the commune's mail waits \
                 (set the key again with `tocsin tenant update --dkim-key`, or remove it)"
            );
            return Err(DkimUnavailable::Unopened);
        };
        let key = Arc::new(key);
        opened.insert(tenant, (dkim.sealed_key.clone(), key.clone()));
        Ok(key)
    }
}

/// Why a commune's mail cannot be signed now; it is not sent unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DkimUnavailable {
    #[error("not sent unsigned: the commune's DKIM key could not be read")]
    Unread,
    #[error("not sent unsigned: the commune's DKIM key does not open with this server's secret")]
    Unopened,
}
