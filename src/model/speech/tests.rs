use super::*;

/// (as written by the mairie, as the voice should read it)
const CASES: &[(&str, &str)] = &[
    // Times.
    ("8h30", "8 heures 30"),
    ("8h", "8 heures"),
    ("8 h", "8 heures"),
    ("8H30", "8 heures 30"),
    ("18h00", "18 heures"),
    ("1h15", "1 heure 15"),
    ("8:30", "8 heures 30"),
    ("0h30", "0 heure 30"),
    ("12h", "12 heures"),
    ("8 h 05.", "8 heures 5."),
    ("coupure de 48h", "coupure de 48 heures"),
    ("25h30", "25h30"),
    ("8h-12h", "de 8 heures à 12 heures"),
    (
        "fermé 8h30 – 12h, puis",
        "fermé de 8 heures 30 à 12 heures, puis",
    ),
    ("de 14h à 18h", "de 14 heures à 18 heures"),
    // Dates.
    ("05/12/2026", "5 décembre 2026"),
    ("5/12/2026", "5 décembre 2026"),
    ("1/12", "premier décembre"),
    ("01/05/2026", "premier mai 2026"),
    ("05.12.26", "5 décembre 2026"),
    ("le 5/3", "le 5 mars"),
    ("32/13/2026", "32/13/2026"),
    ("31/04/2026", "31/04/2026"),
    ("ouvert 7/7, 1/2 journée", "ouvert 7/7, 1/2 journée"),
    ("le 1er", "le premier"),
    // Abbreviations.
    ("M. Dupont", "Monsieur Dupont"),
    ("MM. Dupont", "Messieurs Dupont"),
    ("Mme Martin", "Madame Martin"),
    ("Mlle Petit", "Mademoiselle Petit"),
    ("MME DUPONT", "Madame dupont"),
    ("RD 603", "route départementale 603"),
    ("RD603 coupée", "route départementale 603 coupée"),
    ("RN 3", "route nationale 3"),
    ("12 av. de la Gare", "12 avenue de la Gare"),
    ("bd Poincaré", "boulevard Poincaré"),
    ("St Mihiel", "Saint Mihiel"),
    ("Ste-Menehould", "Sainte-Menehould"),
    ("la st de", "la st de"),
    ("n° 12", "numéro 12"),
    ("N°12", "numéro 12"),
    ("arrêté n°2026-12", "arrêté numéro 2026-12"),
    ("50 km/h", "50 kilomètres heure"),
    ("50km/h", "50 kilomètres heure"),
    ("à 5 km", "à 5 kilomètres"),
    ("1,5 km", "1,5 kilomètre"),
    ("3 m", "3 m"),
    ("-5°C", "moins 5 degrés"),
    ("5 °C", "5 degrés"),
    ("°C", "degrés"),
    ("Pluie : 20 mm", "Pluie : 20 millimètres"),
    ("2 €", "2 euros"),
    ("80 %", "80 pour cent"),
    ("80%", "80 pour cent"),
    ("pompiers & gendarmes", "pompiers et gendarmes"),
    ("A&B", "A et B"),
    ("sacs, pelles, etc.", "sacs, pelles, et cetera."),
    ("sacs, etc., puis", "sacs, et cetera, puis"),
    ("cf. arrêté", "voir arrêté"),
    ("Tél. : 03 29 84 12 34", "téléphone : 03, 29, 84, 12, 34"),
    ("RDV salle des fêtes", "rendez-vous salle des fêtes"),
    // Capitals.
    ("SMS", "S M S"),
    ("EDF", "E D F"),
    ("PCS", "P C S"),
    ("SDIS.", "S D I S."),
    ("d’EDF", "d’E D F"),
    ("SAMU", "SAMU"),
    ("ORSEC", "ORSEC"),
    ("OK", "OK"),
    ("URGENT", "urgent"),
    ("INONDATION", "inondation"),
    ("ALERTE CRUE", "ALERTE crue"),
    ("ÉVACUEZ LES BERGES", "évacuez les berges"),
    ("L’ÉCOLE", "L’école"),
    ("A31", "A31"),
    // Numbers.
    ("03 29 84 12 34", "03, 29, 84, 12, 34"),
    ("0329841234", "03, 29, 84, 12, 34"),
    ("03.29.84.12.34.", "03, 29, 84, 12, 34."),
    ("+33 3 29 84 12 34", "03, 29, 84, 12, 34"),
    ("+33329841234", "03, 29, 84, 12, 34"),
    ("0 800 123 456", "0, 800, 123, 456"),
    (
        "appelez le 112, le 18, le 15 ou le 17",
        "appelez le 112, le 18, le 15 ou le 17",
    ),
    ("2026 12 34", "2026 12 34"),
    // Addresses.
    (
        "https://www.bras-sur-meuse.fr/alerte",
        "bras-sur-meuse point fr",
    ),
    ("https://meteo.fr/?a=1&b=<2>", "meteo point fr"),
    (
        "Infos : vigicrues.gouv.fr.",
        "Infos : vigicrues point gouv point fr.",
    ),
    ("mairie@bras.fr", "mairie arobase bras point fr"),
    (
        "Jean.Dupont@Bras.fr",
        "jean point dupont arobase bras point fr",
    ),
    ("Fin.Merci", "Fin.Merci"),
    // Punctuation and pauses.
    ("Crue\nÉvacuez", "Crue. Évacuez"),
    ("Crue.\r\n\r\nÉvacuez", "Crue. Évacuez"),
    (
        "Consignes :\n- restez chez vous\n- écoutez la radio",
        "Consignes : restez chez vous. écoutez la radio",
    ),
    ("Attention !!!", "Attention !"),
    ("Attention?!", "Attention?"),
    ("🌊 !!! Crue", "Crue"),
    ("Crue 🌊 ⚠️ en cours 👉 berges", "Crue en cours berges"),
    ("Crue 🌊.", "Crue."),
    ("a   b\tc", "a b c"),
    ("lundi - mardi", "lundi, mardi"),
    ("x < 5 > y", "x 5 y"),
    ("a\u{7}b\u{0}c", "a b c"),
    ("*URGENT*", "urgent"),
    (
        "EXERCICE – Crue de la Meuse.",
        "Exercice. Crue de la Meuse.",
    ),
    ("EXERCICE - Crue", "Exercice. Crue"),
    ("EXERCICE – ", "Exercice."),
    ("- note", "note"),
    ("– Crue –", "Crue"),
    ("Infos :", "Infos"),
    ("", ""),
];

#[test]
fn alert_texts_are_read_in_french() {
    let wrong: Vec<String> = CASES
        .iter()
        .filter(|(written, spoken)| speakable(written) != *spoken)
        .map(|(written, spoken)| {
            format!("{written:?}: {:?}, expected {spoken:?}", speakable(written))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_whole_alert_reads_as_sentences() {
    let text = "URGENT : RD 603 fermée le 05/12/2026 de 8h à 12h !!!\n\
                Infos mairie 03 29 84 12 34 ou www.bras-sur-meuse.fr";
    assert_eq!(
        speakable(text),
        "urgent : route départementale 603 fermée le 5 décembre 2026 de 8 heures à \
         12 heures ! Infos mairie 03, 29, 84, 12, 34 ou bras-sur-meuse point fr"
    );
}

#[test]
fn nothing_xml_or_control_reaches_the_voice() {
    for text in [
        "<Say>&amp;</Say>",
        "a\u{1b}[31mb",
        "R&D <b>",
        "\u{202e}x\u{7f}",
        "&&&",
    ] {
        let spoken = speakable(text);
        let bad = |c: char| c.is_control() || matches!(c, '<' | '>' | '&');
        assert!(!spoken.contains(bad), "{text:?} gave {spoken:?}");
    }
}

#[test]
fn the_intro_names_the_commune_as_french_says_it() {
    let intro = |commune| Script::new(commune, "Crue.").intro;
    assert_eq!(
        intro("Bras-sur-Meuse"),
        "Message de la mairie de Bras-sur-Meuse."
    );
    assert_eq!(intro("Étain"), "Message de la mairie d’Étain.");
    assert_eq!(intro("Ornes"), "Message de la mairie d’Ornes.");
    assert_eq!(
        intro("Haudainville"),
        "Message de la mairie d’Haudainville."
    );
    assert_eq!(intro("Les Éparges"), "Message de la mairie des Éparges.");
    assert_eq!(
        intro("Le Bouchon-sur-Saulx"),
        "Message de la mairie du Bouchon-sur-Saulx."
    );
    assert_eq!(intro("La Chalade"), "Message de la mairie de La Chalade.");
}

#[test]
fn the_message_and_prompt_play_twice_then_the_call_closes() {
    let script = Script::new("Étain", "Crue de la Meuse");
    let once = "Message de la mairie d’Étain. Crue de la Meuse. \
                Tapez 1 pour confirmer la réception de ce message.";
    assert_eq!(
        script.spoken(),
        format!("{once} {once} Fin du message. Au revoir.")
    );
}

#[test]
fn duration_counts_words_at_150_a_minute_rounded_up() {
    let script = Script::new("Étain", "Crue de la Meuse.");
    // (5 intro + 4 message + 9 prompt) twice, 5 closing.
    assert_eq!(script.words(), 41);
    // 41 words at 150 a minute: 16.4 s.
    assert_eq!(script.duration(), Duration::from_secs(17));
}

#[test]
fn an_empty_message_is_not_a_silent_sentence() {
    let script = Script::new("Étain", "🌊");
    assert_eq!(script.message, "");
    assert!(!script.spoken().contains(". ."));
}
