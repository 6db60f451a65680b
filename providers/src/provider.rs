//! The one trait every adapter implements, whatever its channel, and the message it carries.

use crate::{
    BoxFuture, Callback, CallbackError, HeldInbound, Inbound, Outcome, Report,
    voice::{CallEvent, CallScript},
};

/// How a message reaches a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Sms,
    Email,
    /// Web Push (RFC 8030) to a browser subscription.
    Push,
    /// A call read by a synthesised voice, to a fixed line or a mobile.
    Voice,
}

impl Channel {
    /// The word used in configuration (`[sms.…]`, `[email.…]`) and queue names.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Push => "push",
            Channel::Voice => "voice",
        }
    }
}

/// One message to one recipient. Each adapter takes what its channel uses (an SMS has no
/// subject).
#[derive(Debug, Clone, Copy, Default)]
pub struct Message<'a> {
    /// Tocsin's reference for this delivery (`dlv_…`), given to the provider where it echoes one
    /// back (smsmode `refClient`, an e-mail header), so that receipts can be matched.
    pub reference: &'a str,
    /// The recipient: E.164 for SMS (`+33612345678`, each adapter formats it as its provider
    /// wants), an address for e-mail.
    pub to: &'a str,
    /// The e-mail subject; one line.
    pub subject: &'a str,
    /// The text, UTF-8; its length was validated before it got here.
    pub text: &'a str,
    /// The sender shown on phones (the commune's own SMS sender id), over the account's.
    pub sender: Option<&'a str>,
    /// The e-mail From mailbox (the commune's own), over the account's.
    pub from: Option<&'a str>,
    /// Where the provider should report this message's delivery, over the account's.
    pub status_callback: Option<&'a str>,
    /// How long the provider may keep trying: what is left of the alert's life.
    pub validity: Option<std::time::Duration>,
    /// An urgent alert (Web Push `Urgency: high`), rather than routine news.
    pub urgent: bool,
    /// The commune's name, shown with the message where the channel has no sender of its own
    /// (a browser notification's title).
    pub commune: Option<&'a str>,
    /// The public page of the alert (`…/a/{alert}`), which a notification opens.
    pub link: Option<&'a str>,
    /// Identifies the alert across its messages, so that a newer message of the same alert
    /// replaces one still waiting on the device (Web Push `Topic`): at most 32 URL-safe
    /// base64 characters.
    pub collapse_key: Option<&'a str>,
    /// The recipient's one-click unsubscribe URL (RFC 8058 `List-Unsubscribe`).
    pub unsubscribe: Option<&'a str>,
    /// The commune's DKIM key, which signs its e-mail for its own From domain.
    pub dkim: Option<&'a crate::email::DkimKey>,
    /// Where the provider fetches what a call says once it is answered (Twilio's TwiML `Url`),
    /// for providers that fetch it.
    pub call_url: Option<&'a str>,
}

/// A provider account, ready to send. Implementations do I/O and translation only.
pub trait Provider: Send + Sync + 'static {
    fn send<'a>(&'a self, message: Message<'a>) -> BoxFuture<'a, Outcome>;

    /// The most sends this account runs at once from this process (its connection pool), when
    /// it bounds them itself.
    fn connections(&self) -> Option<usize> {
        None
    }

    /// Where this account's requests go, without credentials (`https://api.smsmode.com/…`,
    /// `smtp://relay.example.fr:587`), for `tocsin doctor` to check that its host resolves and
    /// answers; `None` for accounts that reach many hosts (Web Push) or none (simulators).
    fn endpoint(&self) -> Option<url::Url> {
        None
    }

    /// Reads a delivery-report callback in this provider's format, checking its signature where
    /// the provider signs.
    fn reports(&self, callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
        let _ = callback;
        Err(CallbackError::Unsupported)
    }

    /// Reads an inbound-SMS callback (a citizen's reply) in this provider's format, checking
    /// its signature where the provider signs.
    fn inbound(&self, callback: &Callback<'_>) -> Result<Vec<Inbound>, CallbackError> {
        let _ = callback;
        Err(CallbackError::Unsupported)
    }

    /// Reads the citizens' SMS this account holds for pickup, oldest first, leaving them at the
    /// provider: for providers that pass none on by callback (OVH documents no push format, and
    /// a pull API). The daemon records each, then removes it ([`Provider::remove_inbound`]), so
    /// that a database hiccup never loses one. Providers that call back have nothing here.
    fn fetch_inbound(&self) -> BoxFuture<'_, Result<Vec<HeldInbound>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Removes one SMS that [`Provider::fetch_inbound`] gave, by its id, once recorded; one that
    /// is gone already counts as removed.
    fn remove_inbound<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        let _ = id;
        Box::pin(async { Ok(()) })
    }

    /// The answer to an inbound-SMS callback, as `(content type, body)`, when this provider
    /// takes the reply to the citizen in it (Twilio's TwiML); `None` when the reply must be sent
    /// as a message of its own and the answer is an empty 200.
    fn answer_inbound(&self, reply: &str) -> Option<(&'static str, String)> {
        let _ = reply;
        None
    }

    /// Reads a request a voice provider makes during a call (fetching what to say, posting the
    /// key pressed), checking its signature.
    fn call_event(&self, callback: &Callback<'_>) -> Result<CallEvent, CallbackError> {
        let _ = callback;
        Err(CallbackError::Unsupported)
    }

    /// What a call says, as `(content type, body)` in this provider's language (Twilio's
    /// TwiML), for providers that fetch it when the call is answered; `keypad_url` receives the
    /// key pressed. An answering machine gets the message without the prompt.
    fn call_document(
        &self,
        script: &CallScript,
        keypad_url: &str,
        answered_by_machine: bool,
    ) -> Option<(&'static str, String)> {
        let _ = (script, keypad_url, answered_by_machine);
        None
    }

    /// The answer to a key pressed during a call: thanks when it confirmed the message, else
    /// the message again (`again_url`, the call's document).
    fn call_keypad_answer(
        &self,
        script: &CallScript,
        acknowledged: bool,
        again_url: &str,
    ) -> Option<(&'static str, String)> {
        let _ = (script, acknowledged, again_url);
        None
    }
}
