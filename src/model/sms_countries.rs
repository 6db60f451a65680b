//! The countries and territories a commune's public routes and SMS keywords may text
//! (`tenant update --sms-countries FR,RE,GP…`). A code or a reply to a number elsewhere is what
//! toll fraud is made of (satellite, premium and far-away mobile termination rates), so the
//! public may only reach numbers of the commune's list; the commune's own additions (API,
//! imports) are not limited by it.

use std::fmt;

use super::phone::{PhoneNumber, Region};

/// France and its overseas departments and collectivities: the default list.
pub const FRANCE_AND_OVERSEAS: &[&str] = &[
    "FR", "RE", "GP", "MQ", "GF", "YT", "PM", "NC", "PF", "WF", "BL", "MF",
];

/// A non-empty list of ISO 3166 region codes, each known to the numbering plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCountries(Vec<Region>);

/// Why a number may not be texted by the public routes of a commune. The texts carry no digit
/// of the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryRefusal {
    #[error(
        "this commune texts only numbers of {allowed}; this number belongs to no country \
         (satellite or international service)"
    )]
    NoCountry { allowed: String },
    #[error("this commune texts only numbers of {allowed}; this number is of {country}")]
    Elsewhere { country: String, allowed: String },
}

impl SmsCountries {
    /// `FR,RE,GP` (spaces and case do not matter); every code must be a region the numbering
    /// plans know, and the list must name one at least.
    pub fn parse(text: &str) -> Result<SmsCountries, String> {
        let mut regions: Vec<Region> = Vec::new();
        for code in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let region = Region::parse(code)?;
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
        if regions.is_empty() {
            return Err("name at least one country, e.g. FR,RE,GP".into());
        }
        Ok(SmsCountries(regions))
    }

    /// Read back from the database: codes that do not parse any more are left out; an empty
    /// list falls back to the default rather than opening every country.
    pub fn from_stored(codes: &[String]) -> SmsCountries {
        let regions: Vec<Region> = codes.iter().filter_map(|c| Region::parse(c).ok()).collect();
        if regions.is_empty() {
            SmsCountries::default()
        } else {
            SmsCountries(regions)
        }
    }

    pub fn codes(&self) -> Vec<String> {
        self.0.iter().map(|r| r.code()).collect()
    }

    /// Whether the public may have this number texted.
    pub fn check(&self, number: &PhoneNumber) -> Result<(), CountryRefusal> {
        let allowed = self.to_string();
        match number.region() {
            Some(region) if self.0.contains(&region) => Ok(()),
            Some(region) => Err(CountryRefusal::Elsewhere {
                country: region.code(),
                allowed,
            }),
            None => Err(CountryRefusal::NoCountry { allowed }),
        }
    }
}

impl Default for SmsCountries {
    fn default() -> Self {
        SmsCountries(
            FRANCE_AND_OVERSEAS
                .iter()
                .map(|c| Region::parse(c).expect("a known region"))
                .collect(),
        )
    }
}

impl fmt::Display for SmsCountries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.codes().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn france_and_its_overseas_are_the_default_and_the_rest_is_refused() {
        let countries = SmsCountries::default();
        for mine in [
            "06 12 34 56 78",
            "0692 12 34 56",    // Réunion
            "0639 01 23 45",    // Mayotte
            "0690 12 34 56",    // Guadeloupe
            "+687 75 12 34",    // New Caledonia
            "+689 87 12 34 56", // French Polynesia
            "+508 55 12 34",    // Saint-Pierre-et-Miquelon
        ] {
            assert_eq!(countries.check(&number(mine)), Ok(()), "{mine}");
        }
        let refused = countries.check(&number("+32 470 12 34 56")).unwrap_err();
        assert!(
            refused.to_string().contains("this number is of BE"),
            "{refused}"
        );
        for satellite in ["+881 6 1234 5678", "+870 772 123 456"] {
            let refused = countries.check(&number(satellite)).unwrap_err();
            assert!(
                matches!(refused, CountryRefusal::NoCountry { .. }),
                "{satellite}: {refused}"
            );
        }
    }

    #[test]
    fn a_list_is_read_checked_and_written_back() {
        let countries = SmsCountries::parse(" fr, RE ,fr").unwrap();
        assert_eq!(countries.to_string(), "FR,RE");
        assert!(countries.check(&number("0690 12 34 56")).is_err());
        assert!(SmsCountries::parse("FR,XX").unwrap_err().contains("XX"));
        assert!(SmsCountries::parse(" , ").is_err());
        assert_eq!(
            SmsCountries::from_stored(&["ZZ".into()]),
            SmsCountries::default()
        );
    }
}
