//! Communes' DKIM keys, opened once: they are stored sealed (`model::sealed`), and reading an
//! RSA key costs more than sending a mail, so each is kept here until its tenant changes it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sqlx::PgPool;
use tocsin_providers::email::DkimKey;

use crate::{
    model::{TenantId, sealed::Sealer},
    store::{self, branding::Dkim},
};

/// An opened key and the sealed key it was opened from (to see a change).
type Opened = (Vec<u8>, Arc<DkimKey>);

pub struct DkimKeys {
    sealer: Sealer,
    opened: Mutex<HashMap<TenantId, Opened>>,
}

/// Where a tenant's sealed DKIM key belongs: sealed for one tenant, it opens for no other.
pub fn seal_context(tenant: TenantId) -> String {
    format!("dkim:{tenant}")
}

impl DkimKeys {
    pub fn new(sealer: Sealer) -> Self {
        DkimKeys {
            sealer,
            opened: Mutex::default(),
        }
    }

    /// The tenant's key, if it has one that opens; a key that does not (another server
    /// secret) is logged and mail goes unsigned rather than not at all.
    pub async fn of(&self, db: &PgPool, tenant: TenantId) -> Option<Arc<DkimKey>> {
        let dkim = match store::branding::dkim(db, tenant).await {
            Ok(dkim) => dkim?,
            Err(error) => {
                tracing::warn!(%tenant, %error, "DKIM key not read; sending unsigned");
                return None;
            }
        };
        self.open(tenant, &dkim)
    }

    fn open(&self, tenant: TenantId, dkim: &Dkim) -> Option<Arc<DkimKey>> {
        let mut opened = self.opened.lock().expect("not poisoned");
        if let Some((sealed, key)) = opened.get(&tenant)
            && *sealed == dkim.sealed_key
        {
            return Some(key.clone());
        }
        let pem = self.sealer.open(&seal_context(tenant), &dkim.sealed_key);
        let key = pem
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| DkimKey::new(&dkim.selector, &dkim.domain, &pem).ok());
        let Some(key) = key else {
            tracing::warn!(%tenant, "DKIM key does not open with this server's secret; sending unsigned");
            return None;
        };
        let key = Arc::new(key);
        opened.insert(tenant, (dkim.sealed_key.clone(), key.clone()));
        Some(key)
    }
}
