//! E-mail adapters behind one small trait.

pub mod simulator;
pub mod smtp;

use crate::{BoxFuture, Outcome};

/// One e-mail to hand to a provider.
#[derive(Debug, Clone, Copy)]
pub struct EmailMessage<'a> {
    /// Tocsin's reference for this delivery (e.g. `dlv_42`), sent as a header so that bounces
    /// can be matched later.
    pub reference: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// Plain-text body, UTF-8.
    pub text: &'a str,
}

/// An e-mail provider. Implementations do I/O and translation only.
pub trait EmailProvider: Send + Sync + 'static {
    /// The provider's name as used in configuration and queue names (`smtp`, `simulator`).
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, message: EmailMessage<'a>) -> BoxFuture<'a, Outcome>;
}
