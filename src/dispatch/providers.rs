//! The provider instances of this process, by channel and name.

use std::{collections::BTreeMap, sync::Arc};

use tocsin_providers::{email::EmailProvider, sms::SmsProvider};

#[derive(Default, Clone)]
pub struct Providers {
    sms: BTreeMap<&'static str, Arc<dyn SmsProvider>>,
    email: BTreeMap<&'static str, Arc<dyn EmailProvider>>,
}

impl Providers {
    pub fn add_sms(&mut self, provider: Arc<dyn SmsProvider>) {
        self.sms.insert(provider.name(), provider);
    }

    pub fn add_email(&mut self, provider: Arc<dyn EmailProvider>) {
        self.email.insert(provider.name(), provider);
    }

    pub fn sms(&self, name: &str) -> Option<&Arc<dyn SmsProvider>> {
        self.sms.get(name)
    }

    pub fn email(&self, name: &str) -> Option<&Arc<dyn EmailProvider>> {
        self.email.get(name)
    }

    pub fn sms_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sms.keys().copied()
    }

    pub fn email_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.email.keys().copied()
    }
}
