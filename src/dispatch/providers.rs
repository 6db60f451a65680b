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

    /// Every account of a channel.
    pub fn names(&self, channel: Channel) -> impl Iterator<Item = &str> + '_ {
        self.accounts
            .keys()
            .filter(move |(c, _)| *c == channel)
            .map(|(_, name)| name.as_str())
    }
}
