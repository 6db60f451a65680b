//! Whether a text fits the GSM 7-bit alphabet (3GPP TS 23.038), which decides OVH's `coding`:
//! `7bit` when every character is in the basic table or its extension, `8bit` otherwise
//! (sms-encoding.md §1–3, sms-providers.md §3.2).

/// The basic table in septet order, ESC (0x1B) left out (sms-encoding.md §1). 0x09 is the
/// capital Ç only: a lowercase ç forces Unicode.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table, reached through ESC: form feed, `^ { } \ [ ~ ] |` and `€` (§2).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// True when every character of `text` is in the basic or the extension table. No national
/// shift tables: there is none for French (§2). A decomposed accent (e + U+0301) is not in the
/// table, so an un-normalised text is sent as Unicode: correct, only dearer.
pub(crate) fn is_gsm7(text: &str) -> bool {
    text.chars()
        .all(|c| BASIC.contains(c) || EXTENSION.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_have_their_documented_sizes() {
        assert_eq!(BASIC.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn french_letters_in_the_basic_table_stay_gsm7() {
        assert!(is_gsm7("Alerte crue : évacuez la zone basse. Tél 112"));
        assert!(is_gsm7("àäéèöùüæÄÇÉÖÜÆ"));
        assert!(is_gsm7("Cout 5€ [voir] {x} ~ | \\ ^"));
        assert!(is_gsm7(""));
    }

    #[test]
    fn french_letters_outside_the_table_force_unicode() {
        for c in [
            "â", "ç", "ê", "ë", "î", "ï", "ô", "û", "ÿ", "œ", "À", "È", "Ê", "Ù", "Œ",
        ] {
            assert!(!is_gsm7(&format!("Alerte {c}")), "{c}");
        }
    }

    #[test]
    fn typography_and_emoji_force_unicode() {
        for c in [
            "’", "«", "»", "…", "–", "—", "\u{a0}", "\u{202f}", "°", "🌊", "e\u{301}",
        ] {
            assert!(!is_gsm7(&format!("Crue {c}")), "{c:?}");
        }
    }
}
