//! Phone numbers: parsing what citizens and town halls type into E.164 (`+33612345678`).
//!
//! French national forms (`06 12 34 56 78`) become `+33…`, except the overseas departments, which
//! share the French national dialling plan but have their own country codes (ITU-T E.164
//! assignments): a number written `0692 12 34 56` is `+262 692 12 34 56`. Numbers from other
//! countries are accepted when written with `+` or `00`; for them only the overall length
//! (8–15 digits, country code included) is checked, since Tocsin ships no per-country plan.

use std::fmt;
use std::str::FromStr;

/// Overseas prefixes written in French national form, with the country code they belong to.
/// The key is the national significant number's first three digits (the `0` dropped).
/// Mobile ranges from the brief; fixed ranges added so landlines do not get a wrong `+33`.
const OVERSEAS: &[(&str, &str)] = &[
    ("639", "262"), // Mayotte, mobile
    ("269", "262"), // Mayotte, fixed
    ("262", "262"), // Réunion, fixed
    ("692", "262"), // Réunion, mobile
    ("693", "262"), // Réunion, mobile
    ("590", "590"), // Guadeloupe, Saint-Martin, Saint-Barthélemy, fixed
    ("690", "590"), // Guadeloupe, mobile
    ("691", "590"), // Guadeloupe, mobile
    ("594", "594"), // Guyane, fixed
    ("694", "594"), // Guyane, mobile
    ("596", "596"), // Martinique, fixed
    ("696", "596"), // Martinique, mobile
    ("697", "596"), // Martinique, mobile
];

/// Why a phone number was refused. Display texts are meant for API users and carry no digits of
/// the number itself, so they can be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number contains letters; use digits only, e.g. 06 12 34 56 78")]
    ContainsLetters,
    #[error(
        "phone number contains {0:?}; only digits, spaces, dots, dashes, slashes, parentheses \
         and a leading + are allowed"
    )]
    InvalidCharacter(char),
    #[error("phone number may contain + only at its start")]
    MisplacedPlus,
    #[error(
        "phone number must have 10 digits in French national form (e.g. 06 12 34 56 78) or \
         start with +; found {digits} digits"
    )]
    NationalLength { digits: usize },
    #[error(
        "French number cannot start with 0 after the leading 0 or +33; 00 introduces an \
         international number, e.g. 0033 6 12 34 56 78"
    )]
    NationalStartsWithZero,
    #[error("country code cannot start with 0 (after + or 00)")]
    CountryCodeStartsWithZero,
    #[error(
        "international phone number must have 8 to 15 digits including the country code; \
         found {digits}"
    )]
    InternationalLength { digits: usize },
    #[error(
        "French phone number must have 9 digits after +{country_code} \
         (e.g. +33 6 12 34 56 78); found {digits}"
    )]
    FrenchLength {
        country_code: &'static str,
        digits: usize,
    },
    #[error("phone number is not a number of its country's numbering plan")]
    NotInPlan,
    #[error("phone number is {kind}: it cannot receive SMS; give a mobile number")]
    CannotReceiveSms { kind: &'static str },
    #[error("{kind}: give it as the mobile (phone), which is called too when an alert asks")]
    MobileAsLandline { kind: &'static str },
    #[error("phone number is {kind}: alerts do not call it; give a fixed line")]
    CannotBeCalled { kind: &'static str },
}

/// Where a commune is, for numbers written in national form: an ISO 3166 code of a territory
/// the numbering plans know (`FR`, `RE`, `GP`, `MQ`, `GF`, `YT`, `PM`, `NC`, `PF`, `WF`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub const FRANCE: Region = Region(phonenumber::country::Id::FR);

    pub fn parse(code: &str) -> Result<Region, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| format!("{code:?} is not a region code such as FR, RE, GP or NC"))
    }

    pub fn code(self) -> String {
        let code: &str = self.0.as_ref();
        code.to_string()
    }

    /// Regions whose numbers are written in France's 10-digit national form (`06…`, `0692…`):
    /// the French front end reads them.
    fn french_plan(self) -> bool {
        use phonenumber::country::Id::*;
        matches!(self.0, FR | RE | YT | GP | MQ | GF | BL | MF)
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a phone number as typed by a person (see the module documentation for the forms).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(PhoneError::Empty);
        }
        if text.chars().any(char::is_alphabetic) {
            return Err(PhoneError::ContainsLetters);
        }
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        // "+33 (0)6 …": the bracketed zero is the trunk prefix, dialled only from inside France.
        let rest = if plus {
            rest.replacen("(0)", "", 1)
        } else {
            rest.to_owned()
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' => return Err(PhoneError::MisplacedPlus),
                '.' | '-' | '/' | '(' | ')' => {}
                c if c.is_whitespace() => {}
                c => return Err(PhoneError::InvalidCharacter(c)),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }

        if plus {
            international(&digits)
        } else if let Some(after) = digits.strip_prefix("00") {
            international(after)
        } else if let Some(national) = digits.strip_prefix('0') {
            french_national(national, digits.len())
        } else {
            Err(PhoneError::NationalLength {
                digits: digits.len(),
            })
        }
    }

    /// Parses a number typed in a commune of `region`: national forms are the region's
    /// (`75 12 34` in Nouméa is `+687 751234`); France and the overseas departments share the
    /// French national form, which [`parse`](Self::parse) reads.
    pub fn parse_in(input: &str, region: Region) -> Result<Self, PhoneError> {
        let text = input.trim();
        let international = text.starts_with('+') || text.starts_with("00");
        if region.french_plan() || international || text.is_empty() {
            return Self::parse(input);
        }
        if text.chars().any(char::is_alphabetic) {
            return Err(PhoneError::ContainsLetters);
        }
        let number = phonenumber::parse(Some(region.0), text).map_err(|_| PhoneError::NotInPlan)?;
        if !number.is_valid() {
            return Err(PhoneError::NotInPlan);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Self::parse(&e164)
    }

    /// A number as typed in `region` that can receive SMS (see [`check_mobile`](Self::check_mobile)).
    pub fn parse_for_sms(input: &str, region: Region) -> Result<Self, PhoneError> {
        let number = Self::parse_in(input, region)?;
        number.check_mobile()?;
        Ok(number)
    }

    /// Checks, with the numbering plans (libphonenumber's metadata), that the number exists and
    /// is a mobile one: fixed lines, premium-rate, toll-free and shared-cost numbers cannot
    /// receive SMS. Foreign mobiles pass.
    pub fn check_mobile(&self) -> Result<(), PhoneError> {
        use phonenumber::Type;
        let number = phonenumber::parse(None, &self.0).map_err(|_| PhoneError::NotInPlan)?;
        if !number.is_valid() {
            return Err(PhoneError::NotInPlan);
        }
        let kind = match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => return Ok(()),
            Type::FixedLine => "a fixed line",
            Type::PremiumRate => "a premium-rate number",
            Type::TollFree => "a toll-free number",
            Type::SharedCost => "a shared-cost number",
            Type::Voip => "a VoIP number",
            Type::Pager => "a pager number",
            _ => "not a mobile number",
        };
        Err(PhoneError::CannotReceiveSms { kind })
    }

    /// A fixed line as typed in `region`, for voice calls (see
    /// [`check_landline`](Self::check_landline)).
    pub fn parse_for_voice(input: &str, region: Region) -> Result<Self, PhoneError> {
        let number = Self::parse_in(input, region)?;
        number.check_landline()?;
        Ok(number)
    }

    /// Checks that the number is a fixed line alerts may call: a geographic number, or a
    /// non-geographic one of a home box (09 in France, typed VoIP by the plans). Mobiles are
    /// given as the phone instead; premium-rate, shared-cost, toll-free and numbers of no
    /// country are refused, for calls as for SMS.
    pub fn check_landline(&self) -> Result<(), PhoneError> {
        use phonenumber::Type;
        let number = phonenumber::parse(None, &self.0).map_err(|_| PhoneError::NotInPlan)?;
        if !number.is_valid() || self.region().is_none() {
            return Err(PhoneError::NotInPlan);
        }
        let kind = match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::FixedLine | Type::FixedLineOrMobile | Type::Voip => return Ok(()),
            Type::Mobile => {
                return Err(PhoneError::MobileAsLandline {
                    kind: "this is a mobile number",
                });
            }
            Type::PremiumRate => "a premium-rate number",
            Type::TollFree => "a toll-free number",
            Type::SharedCost => "a shared-cost number",
            Type::Pager => "a pager number",
            _ => "not a fixed line",
        };
        Err(PhoneError::CannotBeCalled { kind })
    }

    /// The country or territory whose numbering plan the number belongs to (`FR`, `RE`, `YT`,
    /// `GB`…); `None` for numbers of no country (satellite services, +881, +870) and numbers
    /// the plans do not know.
    pub fn region(&self) -> Option<Region> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        number.country().id().map(Region)
    }

    /// The E.164 form, e.g. `+33612345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The E.164 digits without `+`, e.g. `33612345678`, as some SMS APIs want them.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// A form safe for logs and screens: the `+`, three leading digits and the last two, e.g.
    /// `+336••••••78`.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let hidden = digits.len() - 5;
        format!(
            "+{}{}{}",
            &digits[..3],
            "•".repeat(hidden),
            &digits[digits.len() - 2..]
        )
    }
}

/// A stored E.164 number as a mayor may see it in a list of people to phone: the country code,
/// the first national digit and the last two, e.g. `+33 6 ** ** ** 78`. Text that is not E.164
/// keeps only its last two characters.
pub fn mask_for_people(e164: &str) -> String {
    let Some(digits) = e164.strip_prefix('+').filter(|d| d.len() > 6) else {
        let tail: String = e164
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return format!("** {tail}");
    };
    let (country, national) = match digits.strip_prefix("33") {
        Some(national) => ("33", national),
        None => digits.split_at(digits.len() - 9.min(digits.len() - 1)),
    };
    let first = &national[..1];
    let last = &national[national.len() - 2..];
    format!("+{country} {first} ** ** ** {last}")
}

/// Digits after `+` or `00`: the country code and the national significant number.
fn international(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if digits.starts_with('0') {
        return Err(PhoneError::CountryCodeStartsWithZero);
    }
    if let Some(national) = digits.strip_prefix("33") {
        // "+33 06 12 34 56 78" is a frequent slip: drop the trunk zero when exactly one is left
        // over, since no French national significant number starts with 0.
        let national = match national.strip_prefix('0') {
            Some(rest) if rest.len() == 9 => rest,
            _ => national,
        };
        if national.len() != 9 {
            return Err(PhoneError::FrenchLength {
                country_code: "33",
                digits: national.len(),
            });
        }
        return french_significant(national);
    }
    for &(_, code) in OVERSEAS {
        if let Some(national) = digits.strip_prefix(code) {
            if national.len() != 9 {
                return Err(PhoneError::FrenchLength {
                    country_code: code,
                    digits: national.len(),
                });
            }
            return Ok(PhoneNumber(format!("+{digits}")));
        }
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(PhoneError::InternationalLength {
            digits: digits.len(),
        });
    }
    Ok(PhoneNumber(format!("+{digits}")))
}

/// A national form without its leading `0`; `total` counts the digits typed, `0` included.
fn french_national(national: &str, total: usize) -> Result<PhoneNumber, PhoneError> {
    if total != 10 {
        return Err(PhoneError::NationalLength { digits: total });
    }
    french_significant(national)
}

/// Nine digits of the French numbering plan, routed to the overseas country code if they belong
/// to an overseas range.
fn french_significant(national: &str) -> Result<PhoneNumber, PhoneError> {
    if national.starts_with('0') {
        return Err(PhoneError::NationalStartsWithZero);
    }
    let code = OVERSEAS
        .iter()
        .find(|(range, _)| national.starts_with(range))
        .map_or("33", |&(_, code)| code);
    Ok(PhoneNumber(format!("+{code}{national}")))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_for_people_as_the_mayor_reads_them() {
        assert_eq!(mask_for_people("+33612345678"), "+33 6 ** ** ** 78");
        assert_eq!(mask_for_people("+262692123456"), "+262 6 ** ** ** 56");
        assert_eq!(mask_for_people("12"), "** 12");
    }

    fn e164(input: &str) -> String {
        match PhoneNumber::parse(input) {
            Ok(number) => number.as_str().to_owned(),
            Err(err) => panic!("{input:?} refused: {err}"),
        }
    }

    fn refused(input: &str) -> PhoneError {
        PhoneNumber::parse(input).expect_err(input)
    }

    #[test]
    fn french_national_and_international_forms_give_the_same_number() {
        for input in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "  06 12 34 56 78 ",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
            "+33 6 12 34 56 78",
            "+33612345678",
            "+33 (0)6 12 34 56 78",
            "+33(0)612345678",
            "0033 6 12 34 56 78",
            "00 33 6 12 34 56 78",
            "+33 06 12 34 56 78",
        ] {
            assert_eq!(e164(input), "+33612345678", "{input:?}");
        }
    }

    #[test]
    fn landlines_and_other_french_ranges_are_accepted() {
        assert_eq!(e164("01 23 45 67 89"), "+33123456789");
        assert_eq!(e164("07 98 76 54 32"), "+33798765432");
        assert_eq!(e164("09 70 00 00 00"), "+33970000000");
    }

    #[test]
    fn overseas_mobiles_written_nationally_get_their_own_country_code() {
        assert_eq!(e164("0692 12 34 56"), "+262692123456");
        assert_eq!(e164("0693 12 34 56"), "+262693123456");
        assert_eq!(e164("0639 12 34 56"), "+262639123456");
        assert_eq!(e164("0690 12 34 56"), "+590690123456");
        assert_eq!(e164("0691 12 34 56"), "+590691123456");
        assert_eq!(e164("0694 12 34 56"), "+594694123456");
        assert_eq!(e164("0696 12 34 56"), "+596696123456");
        assert_eq!(e164("0697 12 34 56"), "+596697123456");
    }

    #[test]
    fn overseas_landlines_and_mistaken_plus_33_forms_are_routed_too() {
        assert_eq!(e164("0262 12 34 56"), "+262262123456");
        assert_eq!(e164("0596 12 34 56"), "+596596123456");
        assert_eq!(e164("+33 692 12 34 56"), "+262692123456");
    }

    #[test]
    fn overseas_numbers_in_international_form_are_kept() {
        assert_eq!(e164("+262 692 12 34 56"), "+262692123456");
        assert_eq!(e164("00590 690 12 34 56"), "+590690123456");
        assert_eq!(
            refused("+262 692 12 34"),
            PhoneError::FrenchLength {
                country_code: "262",
                digits: 7
            }
        );
    }

    #[test]
    fn metropolitan_mobiles_near_the_overseas_ranges_stay_french() {
        assert_eq!(e164("06 38 12 34 56"), "+33638123456");
        assert_eq!(e164("06 95 12 34 56"), "+33695123456");
        assert_eq!(e164("06 98 12 34 56"), "+33698123456");
    }

    #[test]
    fn other_international_numbers_are_accepted() {
        assert_eq!(e164("+32 470 12 34 56"), "+32470123456");
        assert_eq!(e164("0041 79 123 45 67"), "+41791234567");
        assert_eq!(e164("+1 (212) 555-0123"), "+12125550123");
        assert_eq!(e164("+49 1512 3456789"), "+4915123456789");
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert_eq!(
            refused("06 12 34 56 7"),
            PhoneError::NationalLength { digits: 9 }
        );
        assert_eq!(
            refused("06 12 34 56 78 9"),
            PhoneError::NationalLength { digits: 11 }
        );
        assert_eq!(
            refused("6 12 34 56 78"),
            PhoneError::NationalLength { digits: 9 }
        );
        assert_eq!(
            refused("33612345678"),
            PhoneError::NationalLength { digits: 11 }
        );
        assert_eq!(
            refused("+33 6 12 34 56"),
            PhoneError::FrenchLength {
                country_code: "33",
                digits: 7
            }
        );
        assert_eq!(
            refused("+32 12 34"),
            PhoneError::InternationalLength { digits: 6 }
        );
        assert_eq!(
            refused("+49 1512 3456789 0123"),
            PhoneError::InternationalLength { digits: 17 }
        );
    }

    #[test]
    fn zeros_in_the_wrong_place_are_refused() {
        assert_eq!(
            refused("000 12 34 56 78"),
            PhoneError::CountryCodeStartsWithZero
        );
        assert_eq!(
            refused("+0 612 34 56 78"),
            PhoneError::CountryCodeStartsWithZero
        );
        assert_eq!(
            refused("+33 00 12 34 56 78"),
            PhoneError::NationalStartsWithZero
        );
        assert_eq!(
            refused("+33 0 0123 45 67"),
            PhoneError::NationalStartsWithZero
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(refused(""), PhoneError::Empty);
        assert_eq!(refused("   "), PhoneError::Empty);
        assert_eq!(refused("+"), PhoneError::Empty);
        assert_eq!(refused("-- .."), PhoneError::Empty);
        assert_eq!(refused("06 12 AB 56 78"), PhoneError::ContainsLetters);
        assert_eq!(refused("tel:0612345678"), PhoneError::ContainsLetters);
        assert_eq!(refused("06 12 34 56 78 é"), PhoneError::ContainsLetters);
        assert_eq!(refused("06*12*34*56*78"), PhoneError::InvalidCharacter('*'));
        assert_eq!(refused("06 12 34 56 78+"), PhoneError::MisplacedPlus);
        assert_eq!(refused("++33612345678"), PhoneError::MisplacedPlus);
        assert_eq!(refused("٠٦١٢٣٤٥٦٧٨"), PhoneError::InvalidCharacter('٠'));
    }

    #[test]
    fn error_messages_explain_the_expected_form() {
        assert_eq!(
            refused("12345").to_string(),
            "phone number must have 10 digits in French national form (e.g. 06 12 34 56 78) \
             or start with +; found 5 digits"
        );
        assert_eq!(
            refused("06 x").to_string(),
            "phone number contains letters; use digits only, e.g. 06 12 34 56 78"
        );
        assert_eq!(refused("").to_string(), "phone number is empty");
    }

    #[test]
    fn accessors_and_masking() {
        let number = PhoneNumber::parse("06 12 34 56 78").unwrap();
        assert_eq!(number.as_str(), "+33612345678");
        assert_eq!(number.digits(), "33612345678");
        assert_eq!(number.to_string(), "+33612345678");
        assert_eq!(number.masked(), "+336••••••78");
        assert_eq!(
            PhoneNumber::parse("0692123456").unwrap().masked(),
            "+262•••••••56"
        );
    }

    #[test]
    fn e164_output_parses_back_to_itself() {
        for input in ["0612345678", "0692123456", "+4915123456789", "+12125550123"] {
            let number = PhoneNumber::parse(input).unwrap();
            assert_eq!(PhoneNumber::parse(number.as_str()), Ok(number.clone()));
        }
    }

    #[test]
    fn serde_uses_e164_and_validates() {
        let number: PhoneNumber = serde_json::from_str("\"06 12 34 56 78\"").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"+33612345678\"");
        let err = serde_json::from_str::<PhoneNumber>("\"06 12\"").unwrap_err();
        assert!(err.to_string().contains("10 digits"), "{err}");
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    fn region(code: &str) -> Region {
        Region::parse(code).unwrap()
    }

    #[test]
    fn numbers_are_read_in_the_commune_s_region() {
        let fr = Region::FRANCE;
        assert_eq!(
            PhoneNumber::parse_in("06 12 34 56 78", fr)
                .unwrap()
                .as_str(),
            "+33612345678"
        );
        // Réunion shares the French national form, with its own country code.
        assert_eq!(
            PhoneNumber::parse_in("0692 12 34 56", region("RE"))
                .unwrap()
                .as_str(),
            "+262692123456"
        );
        // New Caledonia has six-digit national numbers.
        assert_eq!(
            PhoneNumber::parse_in("75 12 34", region("NC"))
                .unwrap()
                .as_str(),
            "+687751234"
        );
        assert_eq!(
            PhoneNumber::parse_in("+33 6 12 34 56 78", region("NC"))
                .unwrap()
                .as_str(),
            "+33612345678"
        );
        assert!(Region::parse("XX").is_err());
        assert_eq!(region("re").code(), "RE");
    }

    #[test]
    fn fixed_lines_and_home_boxes_can_be_called_and_paid_numbers_cannot() {
        let france = Region::FRANCE;
        for landline in [
            "03 29 84 12 34",
            "01 44 55 66 77",
            "09 72 10 20 30",
            "+262 262 21 23 45",
        ] {
            assert!(
                PhoneNumber::parse_for_voice(landline, france).is_ok(),
                "{landline}"
            );
        }
        assert!(matches!(
            PhoneNumber::parse_for_voice("06 12 34 56 78", france),
            Err(PhoneError::MobileAsLandline { .. })
        ));
        for paid in ["08 99 12 34 56", "08 10 12 34 56", "08 00 12 34 56"] {
            assert!(
                matches!(
                    PhoneNumber::parse_for_voice(paid, france),
                    Err(PhoneError::CannotBeCalled { .. })
                ),
                "{paid}"
            );
        }
    }

    #[test]
    fn only_mobiles_can_receive_sms() {
        let fr = Region::FRANCE;
        for mobile in [
            "06 12 34 56 78",
            "07 81 23 45 67",
            "0692 12 34 56",
            "+49 151 23456789",
            "+44 7911 123456",
        ] {
            assert!(PhoneNumber::parse_for_sms(mobile, fr).is_ok(), "{mobile}");
        }
        for (number, says) in [
            ("01 42 27 12 34", "a fixed line"),
            ("0262 12 34 56", "a fixed line"),
            ("08 99 12 34 56", "premium-rate"),
            ("08 00 12 34 56", "toll-free"),
            ("+33 6 00 00", "9 digits"),
        ] {
            let error = PhoneNumber::parse_for_sms(number, fr)
                .unwrap_err()
                .to_string();
            assert!(error.contains(says), "{number}: {error}");
        }
    }
}
