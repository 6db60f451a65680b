//! The one error every provider's `validate()` returns: which field is at fault, and why.

use std::fmt;

/// A provider configuration value that cannot be used.
///
/// `field` is the key inside the provider's own section (`sender`, `base_url` …); the caller
/// prefixes the section (`sms.smsmode.`) when it reports the error. `problem` never holds a
/// secret: validators describe what is wrong without echoing API keys or passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            field,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}
