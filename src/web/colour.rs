//! A commune's colour: parsing `#rrggbb`, and the WCAG 2.1 contrast check that keeps its pages
//! readable.
//!
//! The colour is the background of buttons under white text and the colour of links and headings
//! on white, so one ratio against white decides both (WCAG 2.1, 1.4.3 Contrast (Minimum), and the
//! definitions of "relative luminance" and "contrast ratio").

use std::fmt;
use std::str::FromStr;

/// Smallest contrast against white that a commune colour may have: WCAG 2.1 AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// The colour used when a commune has none: a dark blue, about 9:1 against white.
pub const DEFAULT_BRAND: Colour = Colour::rgb(0x1f, 0x4e, 0x79);

/// An sRGB colour with 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour {
    r: u8,
    g: u8,
    b: u8,
}

impl Colour {
    pub const WHITE: Colour = Colour::rgb(0xff, 0xff, 0xff);
    pub const BLACK: Colour = Colour::rgb(0, 0, 0);

    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    /// Reads `#rrggbb` or `#rgb`, in either case. Nothing else (no names, no `rgb()`), since the
    /// value ends up in a style sheet.
    pub fn parse(input: &str) -> Result<Self, String> {
        let invalid = || format!("{input:?} is not a colour; expected #rrggbb or #rgb");
        let digits = input.strip_prefix('#').ok_or_else(invalid)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        // Only ASCII hex digits from here on, so slicing by bytes is safe.
        let channel = |s: &str| u8::from_str_radix(s, 16).map_err(|_| invalid());
        match digits.len() {
            6 => Ok(Self::rgb(
                channel(&digits[0..2])?,
                channel(&digits[2..4])?,
                channel(&digits[4..6])?,
            )),
            3 => {
                let short = |i: usize| channel(&digits[i..=i]).map(|v| v * 0x11);
                Ok(Self::rgb(short(0)?, short(1)?, short(2)?))
            }
            _ => Err(invalid()),
        }
    }

    /// WCAG 2.1 relative luminance, from 0 (black) to 1 (white).
    pub fn relative_luminance(self) -> f64 {
        // sRGB to linear light. WCAG 2.1 prints 0.03928 as the threshold, a leftover of an old
        // sRGB draft; 0.04045 is the sRGB standard's, and no 8-bit value falls between the two.
        fn linear(channel: u8) -> f64 {
            let c = f64::from(channel) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }

    /// WCAG 2.1 contrast ratio, from 1 to 21, whichever colour is lighter.
    pub fn contrast_ratio(self, other: Colour) -> f64 {
        let (a, b) = (self.relative_luminance(), other.relative_luminance());
        let (lighter, darker) = if a >= b { (a, b) } else { (b, a) };
        (lighter + 0.05) / (darker + 0.05)
    }

    /// This colour mixed with black: `amount` 0 keeps it, 1 gives black. A darker colour only
    /// gains contrast against white, so a checked colour stays valid.
    pub fn darken(self, amount: f64) -> Colour {
        let keep = 1.0 - amount.clamp(0.0, 1.0);
        // In range: the product of a u8 and a factor in [0, 1], rounded.
        let scale = |c: u8| (f64::from(c) * keep).round() as u8;
        Colour::rgb(scale(self.r), scale(self.g), scale(self.b))
    }
}

/// `#rrggbb`, lower case.
impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl FromStr for Colour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Parses a commune colour and refuses one that white text on it, or it on white, would not read:
/// under [`MIN_CONTRAST`] against white. The message is for the operator, in English.
pub fn check_brand_colour(hex: &str) -> Result<Colour, String> {
    let colour = Colour::parse(hex)?;
    let ratio = colour.contrast_ratio(Colour::WHITE);
    if ratio < MIN_CONTRAST {
        return Err(format!(
            "{colour} has a contrast of {}:1 with white; at least {MIN_CONTRAST}:1 is needed \
             (WCAG 2.1 AA)",
            shown_ratio(ratio)
        ));
    }
    Ok(colour)
}

/// The ratio rounded down to two decimals, so that 4.499 never reads as the 4.5 it misses.
fn shown_ratio(ratio: f64) -> String {
    let floored = (ratio * 100.0).floor() / 100.0;
    format!("{floored}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(hex: &str) -> f64 {
        Colour::parse(hex).unwrap().contrast_ratio(Colour::WHITE)
    }

    #[test]
    fn parses_long_and_short_forms_in_either_case() {
        assert_eq!(Colour::parse("#005a9c"), Ok(Colour::rgb(0x00, 0x5a, 0x9c)));
        assert_eq!(Colour::parse("#005A9C"), Ok(Colour::rgb(0x00, 0x5a, 0x9c)));
        assert_eq!(Colour::parse("#fc0"), Ok(Colour::rgb(0xff, 0xcc, 0x00)));
        assert_eq!(Colour::parse("#FC0").unwrap().to_string(), "#ffcc00");
    }

    #[test]
    fn refuses_anything_but_hex_digits() {
        for bad in [
            "",
            "#",
            "005a9c",
            "#005a9",
            "#005a9cc",
            "#gggggg",
            "red",
            "#+12345",
            "#ééé",
            "#fff;}",
            "rgb(0,0,0)",
        ] {
            assert!(Colour::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn luminance_and_contrast_match_known_values() {
        assert_eq!(Colour::WHITE.relative_luminance(), 1.0);
        assert_eq!(Colour::BLACK.relative_luminance(), 0.0);
        assert!((Colour::BLACK.contrast_ratio(Colour::WHITE) - 21.0).abs() < 1e-9);
        assert!((Colour::WHITE.contrast_ratio(Colour::BLACK) - 21.0).abs() < 1e-9);
        assert!(
            (ratio("#005a9c") - 7.1).abs() < 0.05,
            "{}",
            ratio("#005a9c")
        );
        assert!(
            (ratio("#767676") - 4.54).abs() < 0.01,
            "{}",
            ratio("#767676")
        );
        assert!(
            (ratio("#777777") - 4.48).abs() < 0.01,
            "{}",
            ratio("#777777")
        );
        assert!(
            (ratio("#ffcc00") - 1.51).abs() < 0.01,
            "{}",
            ratio("#ffcc00")
        );
    }

    #[test]
    fn brand_colour_needs_four_and_a_half_to_one_against_white() {
        assert_eq!(
            check_brand_colour("#005a9c").unwrap().to_string(),
            "#005a9c"
        );
        assert!(check_brand_colour("#767676").is_ok());
        assert!(check_brand_colour(&DEFAULT_BRAND.to_string()).is_ok());

        let err = check_brand_colour("#ffcc00").unwrap_err();
        assert_eq!(
            err,
            "#ffcc00 has a contrast of 1.51:1 with white; at least 4.5:1 is needed (WCAG 2.1 AA)"
        );
        // 4.48 must not be rounded up into a pass, nor shown as 4.5.
        let err = check_brand_colour("#777").unwrap_err();
        assert!(err.starts_with("#777777 has a contrast of 4.47:1"), "{err}");
        assert!(check_brand_colour("blue").unwrap_err().contains("#rrggbb"));
    }

    #[test]
    fn darkening_keeps_a_checked_colour_valid() {
        let brand = Colour::parse("#767676").unwrap();
        let darker = brand.darken(0.2);
        assert!(darker.contrast_ratio(Colour::WHITE) > brand.contrast_ratio(Colour::WHITE));
        assert_eq!(brand.darken(0.0), brand);
        assert_eq!(brand.darken(1.0), Colour::BLACK);
    }
}
