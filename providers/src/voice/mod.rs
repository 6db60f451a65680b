//! Voice calls: a synthesised voice reads the alert and asks the callee to press 1. What every
//! voice adapter shares: the script a call plays, what a provider tells Tocsin during a call,
//! and the French rules on the number an automated call presents (reference/voice.md).

pub mod twilio;
pub mod vonage;

/// What a call says, in French, already made speakable by Tocsin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScript {
    /// Who calls and the alert, read twice to a person (with `prompt` after each).
    pub message: String,
    /// "Tapez 1 pour confirmer…": only where a key can be pressed (not to an answering machine).
    pub prompt: String,
    /// Said once at the end.
    pub closing: String,
    /// What is said when the callee pressed 1.
    pub thanks: String,
    /// BCP 47, e.g. `fr-FR`.
    pub language: String,
}

/// Who answered a call, as the provider's answering-machine detection tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    Person,
    /// An answering machine or voicemail; with detection of the message's end, the call speaks
    /// after the beep, so the whole message is recorded.
    Machine,
    /// No detection, or the provider could not tell.
    Unknown,
}

/// How a call ended, as its provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnd {
    /// Someone or something answered; the call lasted `seconds`.
    Answered { by: AnsweredBy, seconds: u32 },
    /// It rang out, or the line was engaged: worth calling again.
    Unanswered { reason: String },
    /// It could not be placed (a number that does not exist, a refused call).
    Failed { reason: String },
}

/// A request the provider makes during a call: fetching what to say, or the key pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The provider's id of the call.
    pub call_id: String,
    pub answered_by: AnsweredBy,
    /// The keys pressed, when the request carries them.
    pub digits: Option<String>,
}

/// What the French rules say of a number presented by automated calls (ARCEP decision
/// 2022-1583, reference/voice.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdRule {
    /// May be presented.
    Allowed,
    /// A geographic 01–05 number: only if it is a verified multi-use number (NPV); the operator
    /// declares it so.
    NeedsVerification,
    /// May not be presented (a 06/07 mobile number); the reason.
    Refused(&'static str),
}

/// Checks an E.164 caller id against the French rules; numbers of other countries pass.
pub fn caller_id_rule(e164: &str) -> CallerIdRule {
    let Some(national) = e164.strip_prefix("+33") else {
        return CallerIdRule::Allowed;
    };
    match national.as_bytes().first() {
        Some(b'6' | b'7') => CallerIdRule::Refused(
            "a 06/07 mobile number may not be presented by automated calls (ARCEP decision \
             2022-1583); use a 09 number or a verified one",
        ),
        Some(b'1'..=b'5') => CallerIdRule::NeedsVerification,
        _ => CallerIdRule::Allowed,
    }
}

/// Refuses a caller id no automated call may present, or that is no E.164 number.
pub(crate) fn check_caller_id(caller_id: &str) -> Result<(), crate::ConfigError> {
    let digits = caller_id.strip_prefix('+').unwrap_or_default();
    let e164 = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !e164 {
        return Err(crate::ConfigError::new(
            "caller_id",
            "must be a number in E.164 (+33937001234), not a sender name",
        ));
    }
    match caller_id_rule(caller_id) {
        CallerIdRule::Refused(why) => Err(crate::ConfigError::new("caller_id", why)),
        _ => Ok(()),
    }
}

/// What `config check` says of a caller id that is allowed but to be checked: a geographic
/// 01–05 number not declared verified.
pub(crate) fn caller_id_warnings(caller_id: &str, verified: bool) -> Vec<String> {
    if caller_id_rule(caller_id) == CallerIdRule::NeedsVerification && !verified {
        vec![format!(
            "caller_id {caller_id} is a geographic 01–05 number: automated calls may present it \
             only if it is a verified multi-use number (ARCEP decision 2022-1583), or French \
             operators cut them; set caller_id_verified = true once it is, or use a 09 number"
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_rules_on_presented_numbers() {
        assert!(matches!(
            caller_id_rule("+33612345678"),
            CallerIdRule::Refused(_)
        ));
        assert!(matches!(
            caller_id_rule("+33712345678"),
            CallerIdRule::Refused(_)
        ));
        assert_eq!(
            caller_id_rule("+33329841234"),
            CallerIdRule::NeedsVerification
        );
        assert_eq!(caller_id_rule("+33937001234"), CallerIdRule::Allowed);
        assert_eq!(caller_id_rule("+441632960961"), CallerIdRule::Allowed);
    }
}
