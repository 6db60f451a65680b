//! The commune's topics and reminders (recurring alerts): lists, and the forms admins use.

use maud::{Markup, html};

use super::shell::{
    Input, Person, Section, counted, csrf_field, error_summary, number, page, scrolling,
};
use crate::web::pages::Field;

/// `/console/topics`.
pub struct TopicsPage<'a> {
    pub person: &'a Person<'a>,
    /// Name, slug and subscribers of each topic.
    pub topics: &'a [(String, String, i64)],
    pub errors: &'a [Field<'a>],
    pub slug: &'a str,
    pub name: &'a str,
}

pub fn topics_page(p: &TopicsPage<'_>) -> Markup {
    let content = html! {
        h1 { "Thèmes" }
        p { "Les habitants s'abonnent à des thèmes ; chaque alerte est envoyée aux abonnés d'un thème." }
        (scrolling("Thèmes", html! {
            table {
                caption { (counted(p.topics.len(), "thème")) }
                thead { tr { th scope="col" { "Nom" } th scope="col" { "Identifiant" } th scope="col" { "Abonnés" } } }
                tbody { @for (name, slug, n) in p.topics { tr { th scope="row" { (name) } td { code { (slug) } } td { (number(*n)) } } } }
            }
        }))
        @if p.person.may_administer {
            h2 #ajouter { "Ajouter un thème" }
            (error_summary(p.errors))
            form method="post" action="/console/topics" novalidate {
                (csrf_field(p.person.csrf))
                (Input { value: p.name, ..Input::new("name", "Nom") }.render(p.errors))
                (Input { value: p.slug, hint: Some("Lettres minuscules, chiffres et tirets, sans accent : canicule, collecte-dechets."),
                         ..Input::new("slug", "Identifiant") }.render(p.errors))
                button type="submit" { "Ajouter" }
            }
        }
    };
    page("Thèmes", Section::Topics, Some(p.person), content)
}

/// One reminder in the list.
pub struct ScheduleLine<'a> {
    pub id: &'a str,
    pub topic: &'a str,
    pub cron: &'a str,
    /// "chaque lundi à 19 h", when the expression has a usual shape.
    pub french: Option<String>,
    pub text: &'a str,
    pub paused: bool,
    /// The next occurrence, in French.
    pub next: Option<String>,
}

/// What the reminder form holds, as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduleValues<'a> {
    pub topic: &'a str,
    pub cron: &'a str,
    pub text: &'a str,
    pub subject: &'a str,
}

/// `/console/schedules`.
pub struct SchedulesPage<'a> {
    pub person: &'a Person<'a>,
    pub schedules: &'a [ScheduleLine<'a>],
    pub topics: &'a [(String, String)],
    pub values: ScheduleValues<'a>,
    pub errors: &'a [Field<'a>],
    /// After "Vérifier": the repetition in French and the next five occurrences, before saving.
    pub preview: Option<(Option<String>, Vec<String>)>,
}

pub fn schedules_page(p: &SchedulesPage<'_>) -> Markup {
    let v = p.values;
    let content = html! {
        h1 { "Rappels" }
        p { "Les rappels partent seuls, à l'heure de la commune : collecte des déchets, marché, conseil municipal." }
        @if p.schedules.is_empty() {
            p { "Aucun rappel." }
        }
        @for s in p.schedules {
            article {
                header {
                    strong { @if let Some(french) = &s.french { (french) } @else { "Selon l'expression" } }
                    " · " code { (s.cron) } " · thème " (s.topic)
                    @if s.paused { " · " strong { "en pause" } }
                }
                p { (s.text) }
                @if let Some(next) = &s.next { p { "Prochain envoi : " (next) } }
                @if p.person.may_administer {
                    div.button-row {
                        form method="post" action={ "/console/schedules/" (s.id) (if s.paused { "/resume" } else { "/pause" }) } {
                            (csrf_field(p.person.csrf))
                            button.secondary type="submit" { @if s.paused { "Reprendre" } @else { "Mettre en pause" } }
                        }
                        form method="post" action={ "/console/schedules/" (s.id) "/remove" } {
                            (csrf_field(p.person.csrf))
                            button.secondary.outline type="submit" { "Supprimer" }
                        }
                    }
                }
            }
        }
        @if p.person.may_administer {
            h2 #nouveau { "Nouveau rappel" }
            (error_summary(p.errors))
            @if let Some((french, next)) = &p.preview {
                section.notice aria-labelledby="apercu-rappel" {
                    h3 #apercu-rappel { "Ce rappel partira "
                        @if let Some(french) = french { (french) } @else { "selon l'expression " code { (v.cron) } } }
                    p { "Les cinq prochains envois :" }
                    ol { @for at in next { li { (at) } } }
                }
            }
            form method="post" action="/console/schedules" novalidate {
                (csrf_field(p.person.csrf))
                label for="topic" { "Thème" }
                select #topic name="topic" required {
                    @for (slug, name) in p.topics { option value=(slug) selected[slug == v.topic] { (name) } }
                }
                (Input { value: v.cron,
                         hint: Some("Minute, heure, jour du mois, mois, jour de la semaine. « 0 19 * * MON » : chaque lundi à 19 h ; « 0 9 1 * * » : le 1er du mois à 9 h."),
                         ..Input::new("cron", "Quand") }.render(p.errors))
                (Input { value: v.subject, required: false, ..Input::new("subject", "Objet") }.render(p.errors))
                label for="text" { "Message" }
                @let error = p.errors.iter().find(|e| e.name == "text");
                @if let Some(error) = error { p.field-error #text-erreur { "Erreur : " (error.message) } }
                textarea #text name="text" rows="3" required aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "text-erreur")] { (v.text) }
                div.button-row {
                    button.secondary type="submit" name="step" value="check" { "Vérifier" }
                    @if p.preview.is_some() { button type="submit" name="step" value="save" { "Enregistrer" } }
                }
            }
        }
    };
    page("Rappels", Section::Schedules, Some(p.person), content)
}

/// One template in the list: its name, text, and where "Utiliser" leads.
pub struct TemplateLine<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub urgent: bool,
    /// `starter:canicule`, `tpl_…`.
    pub key: &'a str,
    /// The commune's own (it may remove it), or the starter set.
    pub own: bool,
}

/// `/console/templates`.
pub struct TemplatesPage<'a> {
    pub person: &'a Person<'a>,
    pub templates: &'a [TemplateLine<'a>],
    pub may_manage: bool,
    pub errors: &'a [Field<'a>],
    pub name: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

pub fn templates_page(p: &TemplatesPage<'_>) -> Markup {
    let content = html! {
        h1 { "Modèles" }
        p { "Un modèle préremplit une nouvelle alerte : adaptez-la (le lieu, l'heure) avant de l'envoyer." }
        @for t in p.templates {
            article {
                header { strong { (t.name) } @if t.urgent { " " span.urgent { "urgente" } } @if !t.own { " · modèle proposé" } }
                p { (t.text) }
                div.button-row {
                    a role="button" href={ "/console/alerts/new?template=" (t.key) } { "Utiliser" span.visually-hidden { " le modèle " (t.name) } }
                    @if t.own && p.may_manage {
                        form method="post" action={ "/console/templates/" (t.key) "/remove" } {
                            (csrf_field(p.person.csrf))
                            button.secondary.outline type="submit" { "Supprimer" span.visually-hidden { " le modèle " (t.name) } }
                        }
                    }
                }
            }
        }
        @if p.may_manage {
            h2 #nouveau-modele { "Nouveau modèle" }
            (error_summary(p.errors))
            form method="post" action="/console/templates" novalidate {
                (csrf_field(p.person.csrf))
                (Input { value: p.name, ..Input::new("name", "Nom") }.render(p.errors))
                (Input { value: p.subject, required: false, ..Input::new("subject", "Objet") }.render(p.errors))
                label for="text" { "Message" }
                @let error = p.errors.iter().find(|e| e.name == "text");
                @if let Some(error) = error { p.field-error #text-erreur { "Erreur : " (error.message) } }
                textarea #text name="text" rows="4" required aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "text-erreur")] { (p.text) }
                label { input type="checkbox" name="urgent" value="on"; " Alerte urgente" }
                button type="submit" { "Enregistrer le modèle" }
            }
        }
    };
    page("Modèles", Section::Templates, Some(p.person), content)
}
