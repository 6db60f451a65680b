//! Web Push (RFC 8030): the channel that reaches browsers through their push services.
//!
//! [`crypto`] holds the sans-I/O part: RFC 8291 `aes128gcm` message encryption, VAPID (RFC 8292)
//! tokens, and validation of the keys a browser subscription carries. It is shared by the
//! sender and by the test stand-in that plays the push service and the user agent.
//! [`webpush`] is the sender: the adapter that POSTs to push services.

pub mod crypto;
pub mod webpush;
