//! What a citizen texts to the commune's number: `ALERTE` or `INSCRIPTION` (maybe followed by a
//! topic word, `ALERTE COLLECTE`) to subscribe, `STOP`, `ARRET`, `ARRÊT` or `DESINSCRIPTION` to
//! leave; `OK`, `1` or `RECU` to confirm they received the alerts in force; case, accents and
//! surrounding spaces do not matter. And the short replies they get, in French.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// What a text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyword {
    /// Subscribe to the tenant's default topics, or to the one this word names (lower case,
    /// without accents).
    Subscribe { topic: Option<String> },
    /// Leave everything of this tenant.
    Stop,
    /// "I received it": confirms the alerts in force.
    Acknowledge,
    /// Anything else: the citizen gets the help reply.
    Unknown,
}

const SUBSCRIBE: &[&str] = &["ALERTE", "ALERTES", "INSCRIPTION"];
const STOP: &[&str] = &["STOP", "ARRET", "DESINSCRIPTION"];
const ACKNOWLEDGE: &[&str] = &["OK", "1", "RECU"];

/// Upper case without accents: `Arrêt` → `ARRET`.
fn folded(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_uppercase()
}

pub fn read(text: &str) -> Keyword {
    let folded = folded(text);
    let mut words = folded
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return Keyword::Unknown;
    };
    if STOP.contains(&first) {
        return Keyword::Stop;
    }
    // Alone: "OK merci" confirms too, but "1 rue…" is no answer to an alert.
    if ACKNOWLEDGE.contains(&first) && (first != "1" || words.next().is_none()) {
        return Keyword::Acknowledge;
    }
    if SUBSCRIBE.contains(&first) {
        return Keyword::Subscribe {
            topic: words.next().map(str::to_lowercase),
        };
    }
    Keyword::Unknown
}

/// A topic's slug or name, folded the way a citizen's word is: `Collecte des déchets` →
/// `collecte des dechets`.
pub fn topic_word(text: &str) -> String {
    folded(text).to_lowercase()
}

pub fn reply_acknowledged(commune: &str) -> String {
    format!("{commune} : merci, votre confirmation de réception est enregistrée.")
}

pub fn reply_nothing_to_acknowledge(commune: &str) -> String {
    format!(
        "{commune} : aucune alerte en cours à confirmer. Pour recevoir les alertes, répondez \
         ALERTE ; pour ne plus les recevoir, STOP."
    )
}

pub fn reply_subscribed(commune: &str, topics: &[String]) -> String {
    format!(
        "{commune} : vous recevrez les alertes par SMS ({}). Pour ne plus les recevoir, \
         répondez STOP.",
        topics.join(", ")
    )
}

pub fn reply_stopped(commune: &str) -> String {
    format!(
        "{commune} : vous ne recevrez plus d'alertes par SMS. Pour vous réinscrire, répondez \
         ALERTE."
    )
}

pub fn reply_unknown_topic(commune: &str, topics: &[String]) -> String {
    format!(
        "{commune} : thème inconnu. Répondez ALERTE, ou ALERTE suivi d'un thème : {}.",
        topics.join(", ")
    )
}

pub fn reply_help(commune: &str) -> String {
    format!(
        "{commune} : répondez ALERTE pour recevoir les alertes de la commune, STOP pour ne plus \
         les recevoir."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_ignore_case_accents_and_spaces() {
        for stop in [
            "STOP",
            " stop ",
            "Stop.",
            "ARRET",
            "arrêt",
            "Arrêt svp",
            "désinscription",
        ] {
            assert_eq!(read(stop), Keyword::Stop, "{stop:?}");
        }
        assert_eq!(read("alerte"), Keyword::Subscribe { topic: None });
        assert_eq!(read(" Inscription "), Keyword::Subscribe { topic: None });
        assert_eq!(
            read("ALERTE Collecte"),
            Keyword::Subscribe {
                topic: Some("collecte".into())
            }
        );
        assert_eq!(
            read("alerte intempéries"),
            Keyword::Subscribe {
                topic: Some("intemperies".into())
            }
        );
        for other in ["", "bonjour", "STOPPER", "alertez-moi"] {
            assert_eq!(read(other), Keyword::Unknown, "{other:?}");
        }
    }

    #[test]
    fn a_citizen_confirms_with_ok_1_or_recu() {
        for yes in ["OK", "ok merci", "1", " Reçu ", "RECU."] {
            assert_eq!(read(yes), Keyword::Acknowledge, "{yes:?}");
        }
        for no in ["1 rue de la Gare", "okay", "reçue"] {
            assert_ne!(read(no), Keyword::Acknowledge, "{no:?}");
        }
    }

    #[test]
    fn replies_are_short_enough_for_one_or_two_sms() {
        let topics = vec!["intemperies".to_string(), "collecte".to_string()];
        for reply in [
            reply_subscribed("Mairie de Bras-sur-Meuse", &topics),
            reply_stopped("Mairie de Bras-sur-Meuse"),
            reply_help("Mairie de Bras-sur-Meuse"),
            reply_unknown_topic("Mairie de Bras-sur-Meuse", &topics),
            reply_acknowledged("Mairie de Bras-sur-Meuse"),
            reply_nothing_to_acknowledge("Mairie de Bras-sur-Meuse"),
        ] {
            let segments = crate::model::sms_length(&reply).segments;
            assert!(segments <= 2, "{reply}: {segments} segments");
        }
        assert_eq!(topic_word("Intempéries"), "intemperies");
    }
}
