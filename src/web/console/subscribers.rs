//! `/console/subscribers`: find a citizen by number or e-mail, add one, remove one, export their
//! data (RGPD), import a register with its report line by line, and the counts per topic.

use maud::{Markup, html};

use super::shell::{
    Input, Person, Section, counted, csrf_field, error_summary, number, page, scrolling,
};
use crate::web::pages::Field;

/// A subscriber found by the search.
pub struct Found<'a> {
    /// `sub_…`
    pub id: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub landline: Option<&'a str>,
    pub push: bool,
    pub topics: &'a [String],
}

/// One refused line of an import.
pub struct ImportLine {
    pub line: usize,
    pub field: Option<&'static str>,
    pub reason: String,
}

/// What an import did.
pub struct ImportOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub opted_out: u64,
    pub refused: Vec<ImportLine>,
}

pub struct SubscribersPage<'a> {
    pub person: &'a Person<'a>,
    /// Slug, name and subscribers of each topic.
    pub topics: &'a [(String, String, i64)],
    pub query: &'a str,
    /// The search's answer: `Some(None)` when nobody matched.
    pub found: Option<Option<Found<'a>>>,
    pub errors: &'a [Field<'a>],
    /// What the add form holds after an error.
    pub phone: &'a str,
    pub email: &'a str,
    pub landline: &'a str,
    pub notice: Option<&'a str>,
    pub import: Option<&'a ImportOutcome>,
}

pub fn subscribers_page(p: &SubscribersPage<'_>) -> Markup {
    let content = html! {
        h1 { "Abonnés" }
        @if let Some(text) = p.notice { (super::shell::notice(text, true)) }
        (error_summary(p.errors))
        form.search method="get" action="/console/subscribers" role="search" {
            (Input { value: p.query, required: false, kind: "search",
                     hint: Some("Un numéro (06 12 34 56 78) ou une adresse e-mail, en entier."),
                     ..Input::new("q", "Chercher un abonné") }.render(p.errors))
            button type="submit" { "Chercher" }
        }
        @match &p.found {
            None => {}
            Some(None) => { p role="status" { "Personne n'est abonné avec ce numéro ou cette adresse." } }
            Some(Some(f)) => {
                article aria-labelledby="abonne" {
                    h2 #abonne { (f.phone.or(f.email).or(f.landline).unwrap_or("Abonné")) }
                    ul {
                        @if let Some(phone) = f.phone { li { "SMS : " (phone) } }
                        @if let Some(email) = f.email { li { "E-mail : " (email) } }
                        @if let Some(landline) = f.landline { li { "Appel sur fixe : " (landline) } }
                        @if f.push { li { "Notifications du navigateur" } }
                        li { "Thèmes : " (f.topics.join(", ")) }
                    }
                    div.button-row {
                        a role="button" class="secondary outline" href={ "/console/subscribers/" (f.id) "/export" } download { "Exporter ses données (RGPD)" }
                        form method="post" action={ "/console/subscribers/" (f.id) "/remove" } {
                            (csrf_field(p.person.csrf))
                            button.secondary type="submit" { "Désabonner et effacer" }
                        }
                    }
                }
            }
        }
        h2 #ajouter { "Ajouter un abonné" }
        form method="post" action="/console/subscribers" novalidate {
            (csrf_field(p.person.csrf))
            (Input { kind: "tel", value: p.phone, required: false, autocomplete: Some("off"),
                     ..Input::new("phone", "Numéro de portable") }.render(p.errors))
            (Input { kind: "email", value: p.email, required: false, autocomplete: Some("off"),
                     ..Input::new("email", "Adresse e-mail") }.render(p.errors))
            (Input { kind: "tel", value: p.landline, required: false, autocomplete: Some("off"),
                     hint: Some("Appelé par une voix de synthèse lors des alertes (03 29 84 12 34, 09…)."),
                     ..Input::new("landline", "Numéro de téléphone fixe") }.render(p.errors))
            fieldset #topics {
                legend { "Thèmes" }
                @for (slug, name, _) in p.topics {
                    label { input type="checkbox" name="topics" value=(slug); " " (name) }
                }
            }
            button type="submit" { "Ajouter" }
        }
        h2 #importer { "Importer un fichier" }
        p { "Un fichier CSV en UTF-8, avec une ligne d'en-tête " code { "phone,email,topics" } " (thèmes séparés par « ; » ; une colonne " code { "landline" } " facultative pour les numéros fixes). Les lignes correctes sont importées, les autres signalées ; importer deux fois le même fichier ne change rien." }
        form method="post" action="/console/subscribers/import" enctype="multipart/form-data" {
            (csrf_field(p.person.csrf))
            label for="file" { "Fichier CSV" }
            input #file type="file" name="file" accept=".csv,text/csv" required;
            button type="submit" { "Importer" }
        }
        @if let Some(import) = p.import {
            section.notice role="status" aria-labelledby="rapport" {
                h3 #rapport { "Rapport d'import" }
                p { (number(import.created as i64)) " ajoutés, " (number(import.updated as i64)) " mis à jour, "
                    (number(import.unchanged as i64)) " inchangés, " (number(import.opted_out as i64))
                    " écartés (désinscrits), " (counted(import.refused.len(), "ligne refusée")) "." }
            }
            @if !import.refused.is_empty() {
                (scrolling("Lignes refusées", html! {
                    table {
                        thead { tr { th scope="col" { "Ligne" } th scope="col" { "Champ" } th scope="col" { "Raison" } } }
                        tbody { @for l in &import.refused { tr { td { (l.line) } td { (l.field.unwrap_or("–")) } td { (l.reason) } } } }
                    }
                }))
            }
        }
        h2 #par-theme { "Par thème" }
        (scrolling("Abonnés par thème", html! {
            table {
                thead { tr { th scope="col" { "Thème" } th scope="col" { "Abonnés" } } }
                tbody { @for (_, name, n) in p.topics { tr { th scope="row" { (name) } td { (number(*n)) } } } }
            }
        }))
    };
    page("Abonnés", Section::Subscribers, Some(p.person), content)
}
