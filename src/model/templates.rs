//! The starter set of alert texts every commune's console offers, one per common risk, written
//! as the prefectures' and Météo-France's public advice words them, in at most three SMS
//! segments; each commune adapts them (the place, the hour) before sending.

/// A text to start an alert from.
#[derive(Debug, Clone, Copy)]
pub struct Starter {
    /// In URLs: `/console/alerts/new?template=starter:canicule`.
    pub key: &'static str,
    pub name: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub urgent: bool,
}

pub const STARTERS: &[Starter] = &[
    Starter {
        key: "canicule",
        name: "Canicule",
        subject: "Canicule : protégez-vous",
        text: "Canicule annoncée ces prochains jours. Buvez de l'eau régulièrement, restez au frais, prenez des nouvelles de vos proches âgés. Personne isolée ? Appelez la mairie.",
        urgent: false,
    },
    Starter {
        key: "crue",
        name: "Crue",
        subject: "Alerte crue",
        text: "Alerte crue : montée rapide des eaux attendue. Ne vous approchez pas des berges, ne traversez pas les zones inondées, montez les objets de valeur à l'étage. Suivez les consignes de la mairie.",
        urgent: true,
    },
    Starter {
        key: "orages",
        name: "Orages",
        subject: "Vigilance orange orages",
        text: "Vigilance orange orages. Évitez les déplacements, ne vous abritez pas sous les arbres, rangez ou fixez les objets qui pourraient s'envoler.",
        urgent: true,
    },
    Starter {
        key: "coupure-eau",
        name: "Coupure d'eau",
        subject: "Coupure d'eau",
        text: "Coupure d'eau prévue pour travaux sur le réseau. Pensez à faire une réserve. L'eau peut être trouble au retour : laissez-la couler quelques minutes.",
        urgent: false,
    },
    Starter {
        key: "neige",
        name: "Neige et verglas",
        subject: "Neige et verglas",
        text: "Neige et verglas attendus. Limitez vos déplacements, équipez votre véhicule, dégagez le trottoir devant chez vous. Ramassage scolaire susceptible d'être annulé.",
        urgent: false,
    },
    Starter {
        key: "confinement",
        name: "Mise à l'abri",
        subject: "Alerte : mettez-vous à l'abri",
        text: "Alerte : mettez-vous immédiatement à l'abri dans un bâtiment, fermez portes et fenêtres, coupez ventilation et climatisation. N'allez pas chercher les enfants à l'école. Écoutez France Bleu.",
        urgent: true,
    },
];

/// A starter by its key.
pub fn starter(key: &str) -> Option<&'static Starter> {
    STARTERS.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertDraft, sms_length};

    #[test]
    fn every_starter_is_a_valid_alert_of_at_most_three_segments() {
        for s in STARTERS {
            let draft = AlertDraft {
                topic: "intemperies".into(),
                text: s.text.into(),
                subject: Some(s.subject.into()),
                urgent: s.urgent,
                ..Default::default()
            };
            draft
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e:?}", s.key));
            assert!(
                sms_length(s.text).segments <= 3,
                "{}: {:?}",
                s.key,
                sms_length(s.text)
            );
        }
    }
}
