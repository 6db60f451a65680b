//! People of the console: what makes a good password and how it is kept, and the second factor
//! (TOTP and recovery codes). Pure: the store keeps the results, the console asks.

pub mod invitation;
pub mod password;
pub mod totp;

pub use invitation::Invitation;
pub use password::PasswordError;
pub use totp::TotpSecret;
