//! The provider accounts of this process, by channel and name.

use std::collections::BTreeMap;

use tocsin_providers::Account;

use crate::model::Channel;

#[derive(Default, Clone)]
pub struct Providers {
    accounts: BTreeMap<(Channel, String), Account>,
}

impl Providers {
    pub fn add(&mut self, account: Account) {
        let key = (account.channel().into(), account.name.clone());
        self.accounts.insert(key, account);
    }

    pub fn get(&self, channel: Channel, name: &str) -> Option<&Account> {
        self.accounts.get(&(channel, name.to_string()))
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> + '_ {
        self.accounts.values()
    }

    /// Every (channel, account) pair: each has its send queues and consumers, since a tenant
    /// may be moved to any account without a restart.
    pub fn routes(&self) -> Vec<(Channel, &str)> {
        self.accounts
            .keys()
            .map(|(channel, name)| (*channel, name.as_str()))
            .collect()
    }
}
