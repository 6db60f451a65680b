//! SIRET numbers: the 14 digits INSEE gives each establishment (a mairie, an intercommunality),
//! which ProConnect hands as the `siret` claim of the agent signing in. Its key is the Luhn
//! check, except for La Poste's establishments (SIREN 356 000 000), whose digits add up to a
//! multiple of 5 instead. A wrong key is reported, not refused: numbers found in documents (the
//! examples of this project's own specification among them) do not always carry a valid one.

/// A SIRET: 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Siret(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SIRET: 14 digits (spaces allowed)")]
pub struct SiretError(String);

impl Siret {
    pub fn parse(text: &str) -> Result<Siret, SiretError> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SiretError(text.to_owned()));
        }
        Ok(Siret(digits))
    }

    /// Whether its key matches (a mismatch is most often a typo).
    pub fn key_matches(&self) -> bool {
        let values: Vec<u32> = self.0.bytes().map(|b| u32::from(b - b'0')).collect();
        if self.0.starts_with("356000000") {
            values.iter().sum::<u32>().is_multiple_of(5)
        } else {
            luhn(&values)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Siret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Luhn check: from the right, every second digit doubled (less 9 above 9), all summed to a
/// multiple of 10.
fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourteen_digits_are_a_siret_and_the_key_tells_typos() {
        assert_eq!(
            Siret::parse("215 500 290 00019").unwrap().as_str(),
            "21550029000019"
        );
        assert!(Siret::parse("2155002900001").is_err());
        assert!(Siret::parse("2155002900001a").is_err());
        // INSEE's own SIRET (SIREN 120 027 016): a valid key; one digit off is not.
        assert!(Siret::parse("12002701600563").unwrap().key_matches());
        assert!(!Siret::parse("12002701600564").unwrap().key_matches());
        // The example of our specification carries no valid key: accepted, reported.
        assert!(!Siret::parse("21550029000019").unwrap().key_matches());
        // La Poste: the digits add up to a multiple of 5.
        assert!(Siret::parse("35600000000001").unwrap().key_matches());
        assert!(!Siret::parse("35600000000002").unwrap().key_matches());
    }
}
