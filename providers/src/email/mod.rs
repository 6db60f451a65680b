//! E-mail adapters.

mod dkim;
pub mod simulator;
pub mod smtp;

pub use dkim::DkimKey;

/// Checks a From mailbox as a commune gives it (`Mairie de Bras <alertes@bras.fr>`): one line,
/// a mailbox lettre can put in a header.
pub fn check_from(from: &str) -> Result<(), String> {
    if from.contains(['\r', '\n']) {
        return Err("must be one line".into());
    }
    from.parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|_| {
            format!("{from:?} is not a mailbox such as \"Mairie de Bras <alertes@bras.fr>\"")
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mailbox_with_or_without_a_name_is_a_from() {
        assert_eq!(
            super::check_from("Mairie de Bras-sur-Meuse <alertes@bras-sur-meuse.fr>"),
            Ok(())
        );
        assert_eq!(super::check_from("alertes@bras.fr"), Ok(()));
        for bad in ["Mairie", "a@b.fr\r\nBcc: x@y.z", "<>"] {
            assert!(super::check_from(bad).is_err(), "{bad}");
        }
    }
}
