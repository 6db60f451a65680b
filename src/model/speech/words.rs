//! The words the speakable text knows: acronyms read as words, shouted words, abbreviations,
//! units, roads and the domains of web addresses.

/// Capitalised words the voice says as words and that stay as written: acronyms pronounced as
/// words, and the words of an alert that are written in capitals on purpose.
pub(super) const READ_AS_WORDS: &[&str] = &[
    "ALERTE", "STOP", "OK", "SAMU", "SMUR", "ONU", "OTAN", "ORSEC", "INSEE", "CAF", "ZAC", "CODIS",
    "CROSS", "EHPAD", "SIVOM", "UNESCO",
];

/// Short French words an SMS shouts in capitals: said as words (in lower case) and not spelt,
/// unlike the other capitalised words of two to five letters.
pub(super) const SHOUTED_WORDS: &[&str] = &[
    "À", "AU", "AUX", "AVEC", "AVIS", "CE", "CES", "CET", "CRUE", "DANS", "DE", "DES", "DU", "EAU",
    "ELLE", "EN", "EST", "ET", "FEU", "FIN", "FROID", "GAZ", "GEL", "ICI", "IL", "ILS", "INFO",
    "JOUR", "LA", "LE", "LES", "MATIN", "NE", "NEIGE", "NON", "NOUS", "NUIT", "ON", "ORAGE", "OU",
    "OUI", "PAR", "PAS", "PLUIE", "PLUS", "POUR", "ROUTE", "RUE", "SANS", "SE", "SI", "SOIR",
    "SONT", "SUR", "UN", "UNE", "VENT", "VOUS",
];

/// Whether a dot after an abbreviation belongs to it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dot {
    /// Never: a dot after it ends the sentence ("RDV.").
    No,
    /// It must be there ("M.", "env."), and is read with it.
    Must,
    /// It may be there ("av.", "bd."), and is read with it.
    May,
    /// It may be there, and also ends the sentence before a capital or at the end ("etc.").
    MayEnd,
}

/// Abbreviations read in full. An entry in lower case also matches the word capitalised or in
/// capitals ("Av.", "RDV", "MME"); "M" and "MM" match only as written, "m" and "mm" being units.
pub(super) const ABBREVIATIONS: &[(&str, &str, Dot)] = &[
    ("M", "Monsieur", Dot::Must),
    ("MM", "Messieurs", Dot::Must),
    ("mme", "Madame", Dot::No),
    ("mmes", "Mesdames", Dot::No),
    ("mlle", "Mademoiselle", Dot::No),
    ("mlles", "Mesdemoiselles", Dot::No),
    ("dr", "docteur", Dot::May),
    ("av", "avenue", Dot::May),
    ("bd", "boulevard", Dot::May),
    ("etc", "et cetera", Dot::MayEnd),
    ("cf", "voir", Dot::May),
    ("ex", "par exemple", Dot::Must),
    ("env", "environ", Dot::Must),
    // Without its dot, "tel" is the word ("tel que").
    ("tel", "téléphone", Dot::Must),
    ("tél", "téléphone", Dot::May),
    ("rdv", "rendez-vous", Dot::No),
    ("svp", "s’il vous plaît", Dot::No),
    ("n°", "numéro", Dot::No),
    // A voice reads "1er" as "un e r".
    ("1er", "premier", Dot::No),
    ("1re", "première", Dot::No),
    ("1ère", "première", Dot::No),
    ("&", "et", Dot::No),
    ("+", "plus", Dot::No),
];

/// Units read after a number, or alone in the plural: (as written, singular, plural). "m" is not
/// one: metres or minutes.
pub(super) const UNITS: &[(&str, &str, &str)] = &[
    ("km/h", "kilomètre heure", "kilomètres heure"),
    ("km", "kilomètre", "kilomètres"),
    ("cm", "centimètre", "centimètres"),
    ("mm", "millimètre", "millimètres"),
    ("°C", "degré", "degrés"),
    ("°", "degré", "degrés"),
    ("%", "pour cent", "pour cent"),
    ("€", "euro", "euros"),
];

pub(super) const ROADS: [(&str, &str); 2] =
    [("RD", "route départementale"), ("RN", "route nationale")];

/// Endings of a web address written without "www." or a scheme: enough to tell "meteo.fr" from
/// two sentences missing a space.
pub(super) const KNOWN_DOMAINS: [&str; 6] = [".fr", ".com", ".org", ".net", ".eu", ".info"];
