//! Every kind of provider Tocsin knows, in one list. A kind brings its name in configuration, its
//! channel, and how an account of it is checked and built from its settings; the rest of Tocsin
//! reaches providers only through this list and the [`Provider`] trait. Adding a provider is
//! adding its directory and one line to [`KINDS`].

use std::sync::Arc;

use crate::{Channel, ConfigError, Provider, ReceiptSink, email, sms};

/// What building an account may use besides its settings.
#[derive(Clone, Default)]
pub struct Context {
    /// Where adapters that learn of receipts in-process (the simulators) report them.
    pub receipts: Option<ReceiptSink>,
}

/// Builds an account from its settings.
pub type Build = fn(toml::Value, &Context) -> Result<Arc<dyn Provider>, ConfigError>;

/// A kind of provider.
pub struct Kind {
    /// Its name in configuration: `provider = "smsmode"`, or the section `[sms.smsmode]`.
    pub name: &'static str,
    pub channel: Channel,
    /// Checks an account's settings (the keys of its section, without `provider`).
    pub check: fn(toml::Value) -> Result<(), ConfigError>,
    /// Builds an account from settings that passed `check`.
    pub build: Build,
    /// What an operator must set to use it, for configuration errors.
    pub needs: &'static str,
    /// Its delivery reports name a message only by the provider's own id (the callback URL is
    /// the account's, not the message's): Tocsin then keeps which delivery each id is.
    pub reports_by_id: bool,
    /// Its adapter reads citizens' SMS (`Provider::inbound`), at the tenant's inbound URL.
    pub inbound: bool,
    /// It holds citizens' SMS for pickup instead (`Provider::fetch_inbound`): the daemon asks.
    pub holds_inbound: bool,
    /// It reaches no one (a simulator): an account of it exists only when its section says
    /// `enabled = true`, so that no commune is routed to it by mistake and believes it warned
    /// its citizens.
    pub rehearsal: bool,
    /// What `config check` should tell the operator about an account's settings that are
    /// allowed but likely wrong.
    pub warnings: fn(&toml::Value) -> Vec<String>,
}

/// For kinds with nothing to warn about.
pub fn no_warnings(_: &toml::Value) -> Vec<String> {
    Vec::new()
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.channel.as_str(), self.name)
    }
}

pub const KINDS: &[Kind] = &[
    sms::smsmode::KIND,
    sms::simulator::KIND,
    sms::ovh::KIND,
    sms::twilio::KIND,
    email::smtp::KIND,
    email::simulator::KIND,
    crate::push::webpush::KIND,
    crate::voice::twilio::KIND,
    crate::voice::vonage::KIND,
];

/// The kind of this name on this channel.
pub fn kind(channel: Channel, name: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.channel == channel && k.name == name)
}

/// The names of the kinds of a channel, for error messages.
pub fn names(channel: Channel) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.channel == channel)
        .map(|k| k.name)
        .collect()
}

/// Reads settings into a kind's configuration type, naming the key at fault.
pub fn settings<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, ConfigError> {
    value
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new("", e.message().trim_end().to_string()))
}

/// A named account of a kind, built and ready to send.
#[derive(Clone)]
pub struct Account {
    /// Its name in configuration, routing, limits, queues and metrics.
    pub name: String,
    pub kind: &'static Kind,
    pub provider: Arc<dyn Provider>,
}

impl Account {
    pub fn channel(&self) -> Channel {
        self.kind.channel
    }
}
