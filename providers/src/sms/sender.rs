//! The sender a phone shows (an alphanumeric OADC), by the French operators' rules
//! (sms-encoding.md §5.1, smsmode's notice of March 2025): every SMS provider's, and every
//! commune's own sender, is checked by the same rule.

/// Senders that French operators block or rewrite as generic, compared case-insensitively. The
/// list is the notice's examples plus French forms of "alert"; it is not exhaustive.
const GENERIC_SENDERS: &[&str] = &[
    "alert", "alerts", "alerte", "alertes", "rdv", "payment", "bank", "parcel",
];

/// 3–11 ASCII letters or digits, not all digits (numeric senders other than operator short codes
/// are forbidden), not a generic word. The error says what is wrong, in words.
pub fn check_sender(sender: &str) -> Result<(), String> {
    let len = sender.chars().count();
    if !(3..=11).contains(&len) {
        return Err(format!("must be 3 to 11 characters long, not {len}"));
    }
    if !sender.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(
            "may contain only letters A-Z/a-z and digits (no spaces, accents or punctuation)"
                .into(),
        );
    }
    if sender.chars().all(|c| c.is_ascii_digit()) {
        return Err("must not be all digits (French operators forbid numeric senders)".into());
    }
    if GENERIC_SENDERS
        .iter()
        .any(|g| sender.eq_ignore_ascii_case(g))
    {
        return Err("is a generic word that French operators block; use the commune's name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_sender;

    #[test]
    fn a_commune_s_name_passes_and_generic_or_numeric_senders_do_not() {
        for fine in ["MAIRIEBRAS", "Bras55", "VilleDeX"] {
            assert_eq!(check_sender(fine), Ok(()), "{fine}");
        }
        for (bad, says) in [
            ("AB", "3 to 11"),
            ("MAIRIEDEBRAS1", "3 to 11"),
            ("Mairie Bras", "only letters"),
            ("Crèche", "only letters"),
            ("0612345678", "all digits"),
            ("ALERTE", "generic"),
            ("alerts", "generic"),
        ] {
            assert!(check_sender(bad).unwrap_err().contains(says), "{bad}");
        }
    }
}
