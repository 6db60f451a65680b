//! The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1), as mapped to
//! Unicode by the Unicode Consortium's GSM0338.TXT.
//!
//! Only the default tables: there is no national-language shift table for French, and French
//! networks use none (see the SMS encoding reference (sms-encoding.md) §2).

/// The escape septet that introduces an extension-table character.
pub const ESCAPE: u8 = 0x1B;

/// The basic table in septet order, 0x00 to 0x7F. Position 0x1B holds U+001B as a placeholder for
/// the escape septet, which is not a character of its own; [`basic_code`] never matches it.
/// 0x09 is capital `Ç` (GSM0338.TXT), so small `ç` is not in the alphabet.
const BASIC: &str = concat!(
    "@£$¥èéùìòÇ\nØø\rÅå",    // 0x00–0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\u{1B}ÆæßÉ", // 0x10–0x1F
    " !\"#¤%&'()*+,-./",     // 0x20–0x2F
    "0123456789:;<=>?",      // 0x30–0x3F
    "¡ABCDEFGHIJKLMNO",      // 0x40–0x4F
    "PQRSTUVWXYZÄÖÑÜ§",      // 0x50–0x5F
    "¿abcdefghijklmno",      // 0x60–0x6F
    "pqrstuvwxyzäöñüà",      // 0x70–0x7F
);

/// The extension table: the septet that follows [`ESCAPE`], and the character it stands for.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'), // form feed
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The septet of `c` in the basic table, if it is there.
pub fn basic_code(c: char) -> Option<u8> {
    if c == '\u{1B}' {
        return None;
    }
    let position = BASIC.chars().position(|b| b == c)?;
    u8::try_from(position).ok()
}

/// The septet that follows [`ESCAPE`] for `c`, if `c` is in the extension table.
pub fn extension_code(c: char) -> Option<u8> {
    EXTENSION
        .iter()
        .find(|&&(_, e)| e == c)
        .map(|&(code, _)| code)
}

/// True when every character of `text` is in the basic or the extension table: it can go as
/// GSM-7. A decomposed accent (e + U+0301) is not in the table, so an un-normalised text is not:
/// correct, only dearer.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| septets(c).is_some())
}

/// How many septets `c` costs in GSM-7: 1 in the basic table, 2 in the extension table (escape
/// plus code), `None` if the character cannot be sent in GSM-7 at all.
pub fn septets(c: char) -> Option<usize> {
    if basic_code(c).is_some() {
        Some(1)
    } else if extension_code(c).is_some() {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_table_has_128_positions_and_distinct_characters() {
        let chars: Vec<char> = BASIC.chars().collect();
        assert_eq!(chars.len(), 128);
        let mut sorted = chars.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 128);
    }

    #[test]
    fn landmarks_sit_at_their_septet() {
        assert_eq!(basic_code('@'), Some(0x00));
        assert_eq!(basic_code('$'), Some(0x02));
        assert_eq!(basic_code('Ç'), Some(0x09));
        assert_eq!(basic_code('\n'), Some(0x0A));
        assert_eq!(basic_code('\r'), Some(0x0D));
        assert_eq!(basic_code('_'), Some(0x11));
        assert_eq!(basic_code('É'), Some(0x1F));
        assert_eq!(basic_code(' '), Some(0x20));
        assert_eq!(basic_code('¤'), Some(0x24));
        assert_eq!(basic_code('0'), Some(0x30));
        assert_eq!(basic_code('¡'), Some(0x40));
        assert_eq!(basic_code('A'), Some(0x41));
        assert_eq!(basic_code('§'), Some(0x5F));
        assert_eq!(basic_code('¿'), Some(0x60));
        assert_eq!(basic_code('a'), Some(0x61));
        assert_eq!(basic_code('à'), Some(0x7F));
    }

    #[test]
    fn escape_is_not_a_character() {
        assert_eq!(basic_code('\u{1B}'), None);
        assert_eq!(septets('\u{1B}'), None);
        // GSM0338.TXT shows a lone escape as a no-break space; that must not make NBSP GSM-7.
        assert_eq!(septets('\u{A0}'), None);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        for c in ['€', '[', ']', '{', '}', '\\', '^', '~', '|', '\u{0C}'] {
            assert_eq!(septets(c), Some(2), "{c:?}");
            assert_eq!(basic_code(c), None, "{c:?}");
        }
        assert_eq!(extension_code('€'), Some(0x65));
        assert_eq!(extension_code('|'), Some(0x40));
    }

    #[test]
    fn french_characters_per_the_reference() {
        for c in "àäéèöùüæÄÇÉÖÜÆìòñÑßØøÅå".chars() {
            assert_eq!(septets(c), Some(1), "{c:?} should be GSM-7");
        }
        for c in "âçêëîïôûÿœÀÂÈÊËÎÏÔÙÛŸŒ’‘“”«»…–—\u{A0}\u{202F}°²·`".chars()
        {
            assert_eq!(septets(c), None, "{c:?} should force UCS-2");
        }
    }

    #[test]
    fn a_text_is_gsm7_when_every_character_is() {
        assert!(is_gsm7("Alerte crue : évacuez la zone basse. Tél 112"));
        assert!(is_gsm7("Cout 5€ [voir] {x} ~ | \\ ^"));
        assert!(is_gsm7(""));
        for c in ["ê", "’", "\u{a0}", "🌊", "e\u{301}"] {
            assert!(!is_gsm7(&format!("Crue {c}")), "{c:?}");
        }
    }

    #[test]
    fn printable_ascii_is_basic_except_the_extension_characters_and_backtick() {
        for c in (0x20u8..0x7F).map(char::from) {
            let expected = match c {
                '[' | '\\' | ']' | '^' | '{' | '|' | '}' | '~' => Some(2),
                '`' => None,
                _ => Some(1),
            };
            assert_eq!(septets(c), expected, "{c:?}");
        }
    }
}
