//! `/console/settings`: the commune's senders, colour, logo, quiet hours, time zone, population,
//! whether drafters' alerts are validated, and the DKIM record to publish.

use maud::{Markup, html};

use super::shell::{Input, Person, Section, csrf_field, error_summary, notice, page};
use crate::web::pages::Field;

/// The settings as shown, and as typed after an error.
#[derive(Debug, Clone, Default)]
pub struct SettingsValues {
    pub sms_sender: String,
    pub email_from: String,
    pub colour: String,
    /// `21:00-08:00`, or empty: none.
    pub quiet_hours: String,
    pub time_zone: String,
    pub population: String,
    pub require_validation: bool,
}

pub struct SettingsPage<'a> {
    pub person: &'a Person<'a>,
    pub values: &'a SettingsValues,
    pub errors: &'a [Field<'a>],
    pub saved: bool,
    /// Where the current logo is served, when there is one.
    pub logo_url: Option<&'a str>,
    /// The DNS name and value to publish, when the commune signs its e-mail.
    pub dkim: Option<(String, String)>,
}

pub fn settings_page(p: &SettingsPage<'_>) -> Markup {
    let v = p.values;
    let content = html! {
        h1 { "Paramètres" }
        @if p.saved { (notice("Paramètres enregistrés.", true)) }
        (error_summary(p.errors))
        form method="post" action="/console/settings" novalidate {
            (csrf_field(p.person.csrf))
            (Input { value: &v.sms_sender, required: false,
                     hint: Some("Le nom affiché sur les SMS : 3 à 11 lettres ou chiffres, sans espace (MAIRIEBRAS). Vide : celui du compte."),
                     ..Input::new("sms_sender", "Expéditeur des SMS") }.render(p.errors))
            (Input { value: &v.email_from, required: false,
                     hint: Some("« Mairie de Bras <alertes@bras-sur-meuse.fr> ». Vide : celui de la plateforme."),
                     ..Input::new("email_from", "Expéditeur des e-mails") }.render(p.errors))
            (Input { value: &v.colour, required: false,
                     hint: Some("Au format #1f4e79, assez foncée pour un texte blanc. Vide : la couleur par défaut."),
                     ..Input::new("colour", "Couleur de la commune") }.render(p.errors))
            (Input { value: &v.quiet_hours, required: false,
                     hint: Some("Les alertes ordinaires attendent la fin de ces heures, pas les urgentes : 21:00-08:00. Vide : aucune."),
                     ..Input::new("quiet_hours", "Heures calmes") }.render(p.errors))
            (Input { value: &v.time_zone, hint: Some("Europe/Paris ; America/Cayenne, Indian/Reunion… outre-mer."),
                     ..Input::new("time_zone", "Fuseau horaire") }.render(p.errors))
            (Input { value: &v.population, required: false, inputmode: Some("numeric"),
                     hint: Some("Pour afficher la part de la population abonnée."),
                     ..Input::new("population", "Nombre d'habitants") }.render(p.errors))
            label { input type="checkbox" name="require_validation" value="on" checked[v.require_validation];
                " Les alertes ordinaires des rédacteurs attendent la validation d'un élu (jamais les urgentes)" }
            button type="submit" { "Enregistrer" }
        }
        h2 #logo { "Logo" }
        @if let Some(url) = p.logo_url { p { img src=(url) alt="Logo actuel de la commune" height="64"; } }
        form method="post" action="/console/settings/logo" enctype="multipart/form-data" {
            (csrf_field(p.person.csrf))
            label for="logo-file" { "Image PNG, JPEG ou WebP, 200 ko au plus" }
            input #logo-file type="file" name="logo" accept="image/png,image/jpeg,image/webp" required;
            button type="submit" { "Envoyer le logo" }
        }
        h2 #dkim { "Signature des e-mails (DKIM)" }
        @if let Some((name, value)) = &p.dkim {
            p { "Publiez cet enregistrement TXT dans la zone DNS du domaine de l'expéditeur :" }
            p { "Nom : " code.secret { (name) } }
            p { "Valeur : " code.secret { (value) } }
        } @else {
            p { "Les e-mails de la commune ne sont pas signés à son nom. L'hébergeur crée la clé (" code { "tocsin tenant update --dkim-generate" } ") ; l'enregistrement à publier s'affichera ici." }
        }
    };
    page("Paramètres", Section::Settings, Some(p.person), content)
}
