//! SMS length: encoding, units and segments of a text (3GPP TS 23.038 and TS 23.040), and the
//! length limit Tocsin enforces before sending.
//!
//! Texts are NFC-normalised first, since a decomposed `é` (e + U+0301) is not in the GSM-7 table
//! while the precomposed one is. A text made only of GSM-7 characters is counted in septets
//! (extension characters cost two); any other character makes the whole text UCS-2, counted in
//! UTF-16 code units. Rules and figures: the SMS encoding reference (sms-encoding.md) §1–4.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::gsm7_table;

/// Most segments Tocsin sends for one SMS (smsmode reports `messagePartCount` as 1 to 10).
pub const MAX_SMS_SEGMENTS: usize = 10;

/// The encoding an SMS text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsEncoding {
    /// The GSM 7-bit default alphabet and its extension table.
    Gsm7,
    /// UCS-2, in practice UTF-16 (handsets accept surrogate pairs).
    Ucs2,
}

impl SmsEncoding {
    /// Units that fit in a single, unsegmented SMS (140 octets of user data).
    pub const fn single_units(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Units per segment of a concatenated SMS, after the 6-octet UDH with an 8-bit reference.
    pub const fn segment_units(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }

    /// The nominal most units in [`MAX_SMS_SEGMENTS`] segments (slightly less can fit when an
    /// extension character or a surrogate pair would straddle a segment boundary).
    pub const fn max_units(self) -> usize {
        self.segment_units() * MAX_SMS_SEGMENTS
    }

    /// The usual name, `GSM-7` or `UCS-2`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gsm7 => "GSM-7",
            Self::Ucs2 => "UCS-2",
        }
    }
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How long a text is as an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SmsLength {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    /// Segments the text is sent in; 1 for a text that fits in a single SMS, even an empty one.
    pub segments: usize,
}

/// Measures `text` as an SMS, after NFC normalisation.
pub fn sms_length(text: &str) -> SmsLength {
    let text: String = text.nfc().collect();
    let gsm7: Option<Vec<usize>> = text.chars().map(gsm7_table::septets).collect();
    let (encoding, costs) = match gsm7 {
        Some(costs) => (SmsEncoding::Gsm7, costs),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
        ),
    };
    let units = costs.iter().sum();
    let segments = if units <= encoding.single_units() {
        1
    } else {
        count_segments(&costs, encoding.segment_units())
    };
    SmsLength {
        encoding,
        units,
        segments,
    }
}

/// Fills segments of `capacity` units character by character, so that an escape sequence or a
/// surrogate pair is never split (TS 23.038 §6.2.1.1; sms-encoding.md §4). This can need one
/// segment more than `ceil(units / capacity)`.
fn count_segments(costs: &[usize], capacity: usize) -> usize {
    let mut segments = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > capacity {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    segments
}

/// The first character of `text` (after NFC normalisation) that is not in the GSM-7 alphabet,
/// i.e. the one that makes the text UCS-2.
pub fn first_non_gsm7_char(text: &str) -> Option<char> {
    text.nfc().find(|&c| gsm7_table::septets(c).is_none())
}

/// Every distinct character of `text` (after NFC normalisation) outside GSM-7, in order: what
/// makes the text UCS-2, for a mayor to fix.
pub fn non_gsm7_chars(text: &str) -> Vec<char> {
    let mut found = Vec::new();
    for c in text.nfc().filter(|&c| gsm7_table::septets(c).is_none()) {
        if !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

/// The text rewritten to stay in GSM-7, when the sender asks for it (never silently): typographic
/// quotes, dashes, ellipses and no-break spaces become their plain forms, `œ` becomes `oe`, and
/// letters with accents GSM-7 lacks lose them (`ê` → `e`; `é è à ù` are GSM-7 and stay).
/// Anything else outside GSM-7 (an emoji) becomes `?`.
pub fn to_gsm7(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfc() {
        if gsm7_table::septets(c).is_some() {
            out.push(c);
            continue;
        }
        match c {
            '\u{2019}' | '\u{2018}' | '\u{201A}' | '\u{2032}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{AB}' | '\u{BB}' => out.push('"'),
            '\u{2026}' => out.push_str("..."),
            '\u{2013}' | '\u{2014}' | '\u{2212}' => out.push('-'),
            '\u{A0}' | '\u{202F}' | '\u{2009}' => out.push(' '),
            '\u{153}' => out.push_str("oe"),
            '\u{152}' => out.push_str("OE"),
            '\u{E6}' => out.push_str("ae"),
            _ => {
                // A letter with an accent GSM-7 lacks: its base letter, if that one is GSM-7.
                let base: Vec<char> = c.to_string().nfd().filter(|b| b.is_ascii()).collect();
                match base.as_slice() {
                    [b] if gsm7_table::septets(*b).is_some() => out.push(*b),
                    _ => out.push('?'),
                }
            }
        }
    }
    out
}

/// Why an SMS text cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsTextError {
    /// The text is empty or only whitespace.
    Empty,
    /// The text needs more than [`MAX_SMS_SEGMENTS`] segments.
    TooLong {
        length: SmsLength,
        /// For a UCS-2 text, the first character that is not GSM-7.
        first_non_gsm7: Option<char>,
    },
}

impl fmt::Display for SmsTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (length, first_non_gsm7) = match self {
            Self::Empty => return f.write_str("text is empty"),
            Self::TooLong {
                length,
                first_non_gsm7,
            } => (length, first_non_gsm7),
        };
        write!(
            f,
            "text needs {} SMS segments in {} ({} characters; ",
            length.segments, length.encoding, length.units
        )?;
        match (length.encoding, first_non_gsm7) {
            (SmsEncoding::Ucs2, Some(c)) => write!(
                f,
                "a character such as {} is not in the GSM-7 alphabet, so a segment holds 67 \
                 characters instead of 153",
                describe_char(*c)
            )?,
            (SmsEncoding::Ucs2, None) => f.write_str("a segment holds 67 characters")?,
            (SmsEncoding::Gsm7, _) => f.write_str(
                "a segment holds 153 characters, and each of € [ ] { } \\ ^ ~ | counts as 2",
            )?,
        }
        write!(
            f,
            "); at most {MAX_SMS_SEGMENTS} are allowed ({} characters in UCS-2, {} in GSM-7)",
            SmsEncoding::Ucs2.max_units(),
            SmsEncoding::Gsm7.max_units()
        )
    }
}

impl std::error::Error for SmsTextError {}

/// Names a character readably in an error: quoted when visible, by code point when not (a
/// no-break space in quotes would look like an ordinary one).
fn describe_char(c: char) -> String {
    let name = match c {
        '\u{A0}' => Some("no-break space"),
        '\u{202F}' => Some("narrow no-break space"),
        '\u{2009}' => Some("thin space"),
        '\u{200B}' => Some("zero-width space"),
        _ => None,
    };
    match name {
        Some(name) => format!("U+{:04X} ({name})", u32::from(c)),
        None if c.is_whitespace() || c.is_control() => format!("U+{:04X}", u32::from(c)),
        None => format!("'{c}'"),
    }
}

/// Checks that `text` can go out as one SMS of at most [`MAX_SMS_SEGMENTS`] segments and returns
/// its length.
pub fn validate_sms_text(text: &str) -> Result<SmsLength, SmsTextError> {
    if text.trim().is_empty() {
        return Err(SmsTextError::Empty);
    }
    let length = sms_length(text);
    if length.segments > MAX_SMS_SEGMENTS {
        let first_non_gsm7 = match length.encoding {
            SmsEncoding::Gsm7 => None,
            SmsEncoding::Ucs2 => first_non_gsm7_char(text),
        };
        return Err(SmsTextError::TooLong {
            length,
            first_non_gsm7,
        });
    }
    Ok(length)
}

#[cfg(test)]
mod rewrite_tests {
    use super::*;

    #[test]
    fn a_french_alert_is_rewritten_into_gsm7_keeping_the_accents_it_has() {
        let text = "Alerte orange : tempête et crues, fermeture de l\u{2019}école à 11\u{A0}h \u{AB}\u{A0}urgent\u{A0}\u{BB}\u{2026} c\u{153}ur \u{1F30A}";
        assert_eq!(
            non_gsm7_chars(text),
            [
                'ê',
                '\u{2019}',
                '\u{A0}',
                '\u{AB}',
                '\u{BB}',
                '\u{2026}',
                '\u{153}',
                '\u{1F30A}'
            ]
        );
        let rewritten = to_gsm7(text);
        assert_eq!(
            rewritten,
            "Alerte orange : tempete et crues, fermeture de l'école à 11 h \" urgent \"... coeur ?"
        );
        assert_eq!(sms_length(&rewritten).encoding, SmsEncoding::Gsm7);
        assert!(non_gsm7_chars(&rewritten).is_empty());
        assert_eq!(
            to_gsm7("Déjà prévenu"),
            "Déjà prévenu",
            "GSM-7 accents stay"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsm7(units: usize, segments: usize) -> SmsLength {
        SmsLength {
            encoding: SmsEncoding::Gsm7,
            units,
            segments,
        }
    }

    fn ucs2(units: usize, segments: usize) -> SmsLength {
        SmsLength {
            encoding: SmsEncoding::Ucs2,
            units,
            segments,
        }
    }

    #[test]
    fn plain_text_is_gsm7_one_septet_per_character() {
        assert_eq!(sms_length("Coupure d'eau demain"), gsm7(20, 1));
        assert_eq!(
            sms_length("Réunion à l'Église, rue Émile-Zola"),
            gsm7(34, 1)
        );
        assert_eq!(sms_length(""), gsm7(0, 1));
    }

    #[test]
    fn gsm7_segment_boundaries_match_the_usual_table() {
        for (len, segments) in [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)] {
            assert_eq!(sms_length(&"a".repeat(len)), gsm7(len, segments), "{len}");
        }
        assert_eq!(sms_length(&"a".repeat(1530)), gsm7(1530, 10));
    }

    #[test]
    fn extension_characters_count_two() {
        assert_eq!(sms_length("5 €"), gsm7(4, 1));
        assert_eq!(sms_length("[x] {y} \\ ^ ~ |"), gsm7(23, 1));
        assert_eq!(sms_length(&"€".repeat(80)), gsm7(160, 1));
        assert_eq!(sms_length(&"€".repeat(81)), gsm7(162, 2));
    }

    #[test]
    fn an_escape_sequence_is_never_split_across_segments() {
        // 306 septets fit in 2 × 153 by arithmetic, but the € would straddle the boundary.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(sms_length(&text), gsm7(306, 3));
        let text = format!("{}€{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(sms_length(&text), gsm7(306, 2));
    }

    #[test]
    fn one_non_gsm_character_makes_the_whole_text_ucs2() {
        assert_eq!(
            sms_length("Alerte crue : évacuez, hôpital fermé"),
            ucs2(36, 1)
        );
        assert_eq!(sms_length("garçon"), ucs2(6, 1));
        assert_eq!(sms_length("GARÇON"), gsm7(6, 1));
        assert_eq!(sms_length("l’école"), ucs2(7, 1));
        assert_eq!(sms_length("« crue »"), ucs2(8, 1));
        assert_eq!(sms_length("Attention\u{a0}!"), ucs2(11, 1));
        assert_eq!(sms_length("Attention\u{202f}!"), ucs2(11, 1));
        assert_eq!(sms_length("a`b"), ucs2(3, 1));
        assert_eq!(sms_length("5 € mais ô"), ucs2(10, 1));
    }

    #[test]
    fn ucs2_counts_utf16_units_and_segments_of_67() {
        for (len, segments) in [(70, 1), (71, 2), (134, 2), (135, 3), (670, 10), (671, 11)] {
            assert_eq!(sms_length(&"ê".repeat(len)), ucs2(len, segments), "{len}");
        }
        assert_eq!(sms_length("🌊 crue"), ucs2(7, 1));
    }

    #[test]
    fn a_surrogate_pair_is_never_split_across_segments() {
        let text = format!("{}🌊{}", "ê".repeat(66), "ê".repeat(66));
        assert_eq!(sms_length(&text), ucs2(134, 3));
        let text = format!("{}🌊{}", "ê".repeat(65), "ê".repeat(67));
        assert_eq!(sms_length(&text), ucs2(134, 2));
    }

    #[test]
    fn text_is_nfc_normalised_before_counting() {
        assert_eq!(sms_length("e\u{301}cole"), gsm7(5, 1));
        assert_eq!(sms_length("C\u{327}a"), gsm7(2, 1));
        assert_eq!(sms_length("c\u{327}a"), ucs2(2, 1));
        assert_eq!(first_non_gsm7_char("e\u{301}cole fermée"), None);
    }

    #[test]
    fn first_non_gsm7_character_is_found() {
        assert_eq!(first_non_gsm7_char("Évacuez l’école"), Some('’'));
        assert_eq!(first_non_gsm7_char("crue à 5 €"), None);
    }

    #[test]
    fn validation_refuses_empty_and_blank_text() {
        assert_eq!(validate_sms_text(""), Err(SmsTextError::Empty));
        assert_eq!(validate_sms_text(" \n\t\u{a0}"), Err(SmsTextError::Empty));
        assert_eq!(SmsTextError::Empty.to_string(), "text is empty");
    }

    #[test]
    fn validation_allows_up_to_ten_segments() {
        assert_eq!(validate_sms_text(&"a".repeat(1530)), Ok(gsm7(1530, 10)));
        assert_eq!(validate_sms_text(&"ê".repeat(670)), Ok(ucs2(670, 10)));
    }

    #[test]
    fn too_long_ucs2_text_names_the_culprit() {
        let text = format!("Fermeture {}", "ê".repeat(700));
        let err = validate_sms_text(&text).unwrap_err();
        assert_eq!(
            err,
            SmsTextError::TooLong {
                length: ucs2(710, 11),
                first_non_gsm7: Some('ê')
            }
        );
        assert_eq!(
            err.to_string(),
            "text needs 11 SMS segments in UCS-2 (710 characters; a character such as 'ê' is \
             not in the GSM-7 alphabet, so a segment holds 67 characters instead of 153); \
             at most 10 are allowed (670 characters in UCS-2, 1530 in GSM-7)"
        );
    }

    #[test]
    fn too_long_text_with_an_invisible_culprit_names_its_code_point() {
        let text = format!("{}\u{a0}!", "a".repeat(700));
        let err = validate_sms_text(&text).unwrap_err();
        assert!(
            err.to_string()
                .contains("a character such as U+00A0 (no-break space) is not"),
            "{err}"
        );
    }

    #[test]
    fn too_long_gsm7_text_explains_the_count() {
        let err = validate_sms_text(&"a".repeat(1531)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "text needs 11 SMS segments in GSM-7 (1531 characters; a segment holds 153 \
             characters, and each of € [ ] { } \\ ^ ~ | counts as 2); at most 10 are allowed \
             (670 characters in UCS-2, 1530 in GSM-7)"
        );
    }

    #[test]
    fn serde_form_of_the_length() {
        let json = serde_json::to_value(sms_length("ô")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"encoding": "ucs2", "units": 1, "segments": 1})
        );
    }
}
