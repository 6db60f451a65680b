//! Console passwords: what is accepted (a minimum length, none of the passwords people choose
//! most), and how they are kept (argon2id, RFC 9106, in the PHC string form, so that its
//! parameters travel with each hash and can be raised later).

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// ANSSI's and NIST SP 800-63B's advice for a password that is the first factor: at least 12.
pub const MIN_LENGTH: usize = 12;
/// Hashing takes the whole input: a bound keeps a megabyte "password" from costing the daemon.
pub const MAX_LENGTH: usize = 128;

const COMMON: &str = include_str!("common_passwords.txt");

/// Why a password is refused, in the words the console shows (French).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Le mot de passe doit contenir au moins {MIN_LENGTH} caractères.")]
    TooShort,
    #[error("Le mot de passe doit contenir au plus {MAX_LENGTH} caractères.")]
    TooLong,
    #[error(
        "Ce mot de passe fait partie des plus courants : choisissez une phrase de plusieurs mots."
    )]
    Common,
    #[error("Le mot de passe ne doit pas reprendre votre adresse e-mail ou votre nom.")]
    Personal,
}

/// Checks a new password against the rules; `personal` are the person's e-mail and name, which a
/// password must not be built on.
pub fn check_new(password: &str, personal: &[&str]) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(PasswordError::Common);
    }
    let built_on = |word: &str| {
        let word = word.trim().to_lowercase();
        let local = word.split('@').next().unwrap_or_default();
        (local.chars().count() >= 5 && lower.contains(local))
            || word
                .split_whitespace()
                .any(|part| part.chars().count() >= 5 && lower.contains(part))
    };
    if personal.iter().any(|word| built_on(word)) {
        return Err(PasswordError::Personal);
    }
    Ok(())
}

/// A common password, or one of them with digits and symbols around it ("Azerty123!"),
/// repeated ("motdepassemotdepasse"), only digits, or made of fewer than 5 distinct characters.
fn is_common(lower: &str) -> bool {
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.is_empty()
        || lower
            .chars()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            < 5
    {
        return true;
    }
    let common = || {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
    };
    common().any(|word| {
        let unspaced = word.replace(' ', "");
        let repeats = |base: &str| {
            core.len() % base.len() == 0
                && core
                    .as_bytes()
                    .chunks(base.len())
                    .all(|c| c == base.as_bytes())
        };
        core == word || repeats(word) || repeats(&unspaced)
    })
}

/// The argon2id hash of a password (the crate's defaults: 19 MiB, 2 passes, 1 lane, OWASP's
/// recommendation), with a random salt. Takes tens of milliseconds on purpose: call it off the
/// async workers.
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2id with its default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches a stored hash. A hash that cannot be read matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of nothing anyone can type, verified when the e-mail is unknown, so that a wrong
/// address takes as long to refuse as a wrong password (the answer must not tell who has an
/// account).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&hex::encode(rand::random::<[u8; 32]>())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        let me = ["anne.martin@bras-sur-meuse.fr", "Anne Martin"];
        assert_eq!(check_new("court", &me), Err(PasswordError::TooShort));
        assert_eq!(
            check_new(&"x".repeat(129), &me),
            Err(PasswordError::TooLong)
        );
        for common in [
            "Azertyuiop123!",
            "motdepasse2026",
            "MotDePasseMotDePasse",
            "123456789012",
            "!!Soleil2025!!",
            "aaaaaaaaaaaaaaa",
            "abababababab12",
        ] {
            assert_eq!(
                check_new(common, &me),
                Err(PasswordError::Common),
                "{common}"
            );
        }
        assert_eq!(
            check_new("anne.martin-1974", &me),
            Err(PasswordError::Personal)
        );
        assert_eq!(
            check_new("Martin ouvre la mairie", &me),
            Err(PasswordError::Personal)
        );
        assert_eq!(check_new("la crue de la Meuse en 1947", &me), Ok(()));
        // Characters count, not bytes: 12 accented letters are enough.
        assert_eq!(check_new("éèêëàâäôöûüç", &me), Ok(()));
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("la crue de la Meuse en 1947");
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert!(verify("la crue de la Meuse en 1947", &stored));
        assert!(!verify("la crue de la Meuse en 1948", &stored));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(stored, hash("la crue de la Meuse en 1947"), "salted");
    }
}
