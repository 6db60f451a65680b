//! Which characters free text may hold, wherever it enters (alert text, subjects, names).
//!
//! Control characters reach no citizen usefully: PostgreSQL refuses NUL outright, SMS centres
//! and mail clients treat the rest unpredictably, and in a subject they can rewrite what the
//! reader sees. A single line (a subject, a name) also refuses what reorders or breaks a line on
//! screen: bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069, which can make
//! "moc.elpmaxe" read as "example.com"), Unicode line and paragraph separators, and RFC 2047
//! encoded words (`=?utf-8?b?…?=`), which a mail client decodes into anything, CR LF included.

/// Why a text was refused; the message names the character by its code point, never the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contains the control character U+{0:04X}, which no channel can carry")]
    Control(u32),
    #[error("must be a single line")]
    LineBreak,
    #[error("contains U+{0:04X}, a character that changes how the line is shown")]
    Formatting(u32),
    #[error("contains an RFC 2047 encoded word (=?…?=); give the text itself instead")]
    EncodedWord,
    #[error("is {0} characters long, more than {1}")]
    TooLong(usize, usize),
    #[error("is empty")]
    Empty,
}

/// Most characters kept of a provider's reason or error detail: enough for any documented one.
pub const MAX_REASON_CHARS: usize = 500;
/// Most characters of an identifier that comes from outside (a provider's message id, a
/// reference in a callback): providers' ids are a few dozen characters.
pub const MAX_ID_CHARS: usize = 128;

/// Text that came from outside (a provider's answer or report, a citizen's SMS), made safe to
/// store and to log: PostgreSQL refuses NUL, and a line break or an escape sequence in a log
/// line lets the sender forge a line of its own. Every control character, line separator and
/// bidirectional control becomes a space, everything else is kept as it came (a consent's
/// evidence is what the citizen sent), and the text is cut to `max_chars` characters (the last
/// of which is then `…`).
pub fn from_outside(text: &str, max_chars: usize) -> String {
    let safe = |c: char| {
        if c.is_control() || is_layout_control(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            ' '
        } else {
            c
        }
    };
    let mut chars = text.chars().map(safe);
    let mut clean: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() && max_chars > 0 {
        // Room for the mark that says the text was cut.
        clean.pop();
        clean.push('…');
    }
    clean
}

/// An identifier that came from outside, checked rather than cleaned: a cleaned id would name
/// another message. Refuses an empty one, one longer than `max_chars`, and any control, space
/// or layout character.
pub fn outside_id(id: &str, max_chars: usize) -> Result<&str, TextError> {
    if id.is_empty() {
        return Err(TextError::Empty);
    }
    if let Some(c) = id
        .chars()
        .find(|&c| c.is_control() || c.is_whitespace() || is_layout_control(c))
    {
        return Err(TextError::Control(c as u32));
    }
    let length = id.chars().count();
    if length > max_chars {
        return Err(TextError::TooLong(length, max_chars));
    }
    Ok(id)
}

/// Multi-line text (an alert's body): line breaks and tabs are fine, other controls are not.
pub fn check_body(text: &str) -> Result<(), TextError> {
    match text
        .chars()
        .find(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some(c) => Err(TextError::Control(c as u32)),
        None => Ok(()),
    }
}

/// One line shown as is (a subject, a topic's or a commune's name).
pub fn check_line(text: &str) -> Result<(), TextError> {
    for c in text.chars() {
        if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}') {
            return Err(TextError::LineBreak);
        }
        if c.is_control() {
            return Err(TextError::Control(c as u32));
        }
        if is_layout_control(c) {
            return Err(TextError::Formatting(c as u32));
        }
    }
    if has_encoded_word(text) {
        return Err(TextError::EncodedWord);
    }
    Ok(())
}

/// Makes a line that [`check_line`] accepts out of any text: what it would refuse becomes a
/// space (then runs of spaces collapse), and encoded words are broken up. For lines Tocsin makes
/// itself, such as a subject drawn from an alert's text.
pub fn to_safe_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            if c.is_control() || is_layout_control(c) || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let line = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    line.replace("=?", "= ?")
}

/// Bidirectional embeddings, overrides, isolates and marks (Unicode Bidi_Control).
fn is_layout_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `=?charset?encoding?text?=` (RFC 2047 §2), loosely: an opening `=?` with a later `?=`.
fn has_encoded_word(text: &str) -> bool {
    text.find("=?")
        .is_some_and(|start| text[start + 2..].contains("?="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_keeps_line_breaks_and_tabs_but_no_other_control() {
        assert_eq!(check_body("Crue.\r\nÉvacuez\tles quais."), Ok(()));
        assert_eq!(check_body("a\0b"), Err(TextError::Control(0)));
        assert_eq!(check_body("\u{1b}[31mrouge"), Err(TextError::Control(0x1b)));
        assert_eq!(check_body("x\u{9b}y"), Err(TextError::Control(0x9b)));
        assert_eq!(
            TextError::Control(0).to_string(),
            "contains the control character U+0000, which no channel can carry"
        );
    }

    #[test]
    fn a_line_refuses_what_rewrites_it_on_screen() {
        assert_eq!(check_line("Alerte orange : orages"), Ok(()));
        assert_eq!(check_line("a\u{1b}b"), Err(TextError::Control(0x1b)));
        assert_eq!(check_line("a\u{2028}b"), Err(TextError::LineBreak));
        assert_eq!(check_line("a\nb"), Err(TextError::LineBreak));
        assert_eq!(
            check_line("Facture \u{202E}fdp.exe"),
            Err(TextError::Formatting(0x202E))
        );
        assert_eq!(
            check_line("=?utf-8?b?QQ0KQmNjOiB4QHkuZnI=?="),
            Err(TextError::EncodedWord)
        );
        assert_eq!(check_line("Réunion à 18h = ? voir"), Ok(()));
    }

    #[test]
    fn a_safe_line_passes_the_line_rule() {
        for nasty in [
            "\u{1b}[2JAlerte",
            "a\u{202E}b\u{2066}c",
            "un\u{2028}deux",
            "=?utf-8?q?A=0D=0ABcc:_x@y.fr?=",
            "\0\t\u{7f}",
        ] {
            let line = to_safe_line(nasty);
            assert_eq!(check_line(&line), Ok(()), "{nasty:?} → {line:?}");
        }
        assert_eq!(to_safe_line("un\u{2028}deux"), "un deux");
    }

    #[test]
    fn outside_text_holds_no_control_and_is_bounded() {
        assert_eq!(from_outside("msg\0id", 50), "msg id");
        assert_eq!(
            from_outside("DELIVERED\n2026-12-05T01:00:00Z ERROR forged", 100),
            "DELIVERED 2026-12-05T01:00:00Z ERROR forged"
        );
        assert_eq!(
            from_outside("  \r\n\u{1b}[2J a\u{202E}b \t ", 50),
            "     [2J a b   "
        );
        assert_eq!(from_outside("  Alerte ", 50), "  Alerte ");
        assert_eq!(from_outside("Numéro invalide", 100), "Numéro invalide");
        let long = "é".repeat(1_000_000);
        let cut = from_outside(&long, 500);
        assert_eq!(cut.chars().count(), 500);
        assert!(cut.ends_with('…'));
        assert_eq!(from_outside("abc", 3), "abc");
        assert_eq!(from_outside("abcd", 3), "ab…");
        assert_eq!(from_outside("ab cd", 3), "ab…");
        assert_eq!(from_outside("abcd", 1), "…");
        assert_eq!(from_outside("abc", 0), "");
        for nasty in ["a\0b", "x\ny", "\u{85}z", "\u{2028}", "\u{9b}31m"] {
            let clean = from_outside(nasty, 10);
            assert!(
                !clean.chars().any(char::is_control),
                "{nasty:?} → {clean:?}"
            );
            assert_eq!(check_line(&clean), Ok(()), "{nasty:?} → {clean:?}");
        }
    }

    #[test]
    fn an_outside_id_is_refused_rather_than_cleaned() {
        assert_eq!(outside_id("SM0123abc", 128), Ok("SM0123abc"));
        assert_eq!(outside_id("ab\0cd", 128), Err(TextError::Control(0)));
        assert_eq!(outside_id("ab\ncd", 128), Err(TextError::Control(10)));
        assert_eq!(outside_id("", 128), Err(TextError::Empty));
        assert_eq!(
            outside_id(&"9".repeat(900_000), 128),
            Err(TextError::TooLong(900_000, 128))
        );
    }
}
