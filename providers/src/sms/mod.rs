//! SMS adapters behind one small trait.

pub mod simulator;
pub mod smsmode;

use crate::{BoxFuture, Outcome};

/// One SMS to hand to a provider.
#[derive(Debug, Clone, Copy)]
pub struct SmsMessage<'a> {
    /// Tocsin's reference for this delivery (e.g. `dlv_42`), passed where the provider echoes one
    /// back (smsmode `refClient`), so that receipts can be matched.
    pub reference: &'a str,
    /// The recipient in E.164 (`+33612345678`); each adapter formats it as its provider wants.
    pub to: &'a str,
    /// The text, UTF-8; length is validated before it gets here.
    pub text: &'a str,
}

/// An SMS provider. Implementations do I/O and translation only.
pub trait SmsProvider: Send + Sync + 'static {
    /// The provider's name as used in configuration and queue names (`smsmode`, `simulator`).
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, message: SmsMessage<'a>) -> BoxFuture<'a, Outcome>;
}
