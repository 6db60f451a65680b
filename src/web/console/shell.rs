//! What every console page shares: the document, the header with the person signed in and the
//! navigation, the error summary and the form fields (each with its label, hint and error tied
//! by `aria-describedby`).

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::web::{asset_url, pages::Field};

/// The console's sections, to mark the one a page belongs to (`aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    NewAlert,
    Drafts,
    History,
    Topics,
    Schedules,
    Templates,
    Subscribers,
    Settings,
    Users,
    /// Signing in, invitations: no navigation.
    None,
}

/// The person signed in, as the header shows them, and what the navigation offers them.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub name: &'a str,
    /// "Administratrice ou administrateur", "Élu·e d'astreinte"…: see `role_label`.
    pub role: &'a str,
    pub commune: &'a str,
    pub may_send: bool,
    pub may_administer: bool,
    pub may_manage_subscribers: bool,
    /// The token of the log-out forms.
    pub csrf: &'a str,
    /// The slug of the tenant acted on.
    pub acting_on: &'a str,
    /// Slug and name of each tenant a person of a group may act on (empty for a commune's).
    pub choices: &'a [(String, String)],
}

/// The document around a page's content.
pub fn page(title: &str, section: Section, person: Option<&Person<'_>>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" data-theme="light" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " – Console Tocsin" }
                link rel="icon" href=(asset_url("icon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(asset_url("pico.min.css"));
                link rel="stylesheet" href=(asset_url("site.css"));
                link rel="stylesheet" href=(asset_url("console.css"));
                script src=(asset_url("console.js")) defer {}
            }
            body {
                a.skip-link href="#contenu" { "Aller au contenu" }
                header.container.site-header.console-header {
                    p { a href="/console" { "Tocsin" } " · console" }
                    @if let Some(person) = person {
                        p.person {
                            (person.name) " · " (person.role) " · " (person.commune)
                        }
                        @if !person.choices.is_empty() {
                            form.acting-on method="post" action="/console/acting-on" {
                                input type="hidden" name="csrf" value=(person.csrf);
                                label for="acting-on" { "Commune" }
                                select #acting-on name="tenant" {
                                    @for (slug, name) in person.choices {
                                        option value=(slug) selected[slug == person.acting_on] { (name) }
                                    }
                                }
                                button.secondary type="submit" { "Changer" }
                            }
                        }
                        (navigation(section, person))
                    }
                }
                main.container #contenu tabindex="-1" {
                    (content)
                }
                footer.container {
                    p { "Tocsin, alertes aux habitants. Une difficulté ? Adressez-vous à l'administrateur de votre commune ou de votre hébergeur." }
                }
            }
        }
    }
}

fn navigation(section: Section, person: &Person<'_>) -> Markup {
    let link = |href: &str, label: &str, this: Section| {
        html! {
            li { a href=(href) aria-current=[(section == this).then_some("page")] { (label) } }
        }
    };
    html! {
        nav.console-nav aria-label="Console" {
            ul {
                (link("/console", "Tableau de bord", Section::Dashboard))
                (link("/console/alerts/new", "Nouvelle alerte", Section::NewAlert))
                (link("/console/drafts", "À valider", Section::Drafts))
                (link("/console/alerts", "Historique", Section::History))
                (link("/console/schedules", "Rappels", Section::Schedules))
                (link("/console/topics", "Thèmes", Section::Topics))
                (link("/console/templates", "Modèles", Section::Templates))
                @if person.may_manage_subscribers {
                    (link("/console/subscribers", "Abonnés", Section::Subscribers))
                }
                @if person.may_administer {
                    (link("/console/users", "Utilisateurs", Section::Users))
                    (link("/console/settings", "Paramètres", Section::Settings))
                }
            }
            form method="post" action="/console/logout" {
                input type="hidden" name="csrf" value=(person.csrf);
                button.secondary.outline type="submit" { "Se déconnecter" }
            }
        }
    }
}

/// The errors of a form, listed first with a link to each field (`role="alert"`: read out when
/// the page opens).
pub fn error_summary(errors: &[Field<'_>]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" aria-labelledby="erreurs-titre" {
                h2 #erreurs-titre { "Le formulaire contient "
                    @if errors.len() == 1 { "une erreur" } @else { (errors.len()) " erreurs" } }
                ul {
                    @for error in errors {
                        li { a href={ "#" (error.name) } { (error.message) } }
                    }
                }
            }
        }
    }
}

/// A notice above a page's content (a success, a piece of information).
pub fn notice(text: &str, success: bool) -> Markup {
    html! {
        div.notice.notice-success[success] role="status" { p { (text) } }
    }
}

/// One input with its label, an optional hint and its error.
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
    pub required: bool,
    /// `inputmode`, for the keyboard a phone shows (`numeric` for codes).
    pub inputmode: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Input {
            name,
            label,
            kind: "text",
            value: "",
            hint: None,
            autocomplete: None,
            required: true,
            inputmode: None,
        }
    }

    pub fn render(&self, errors: &[Field<'_>]) -> Markup {
        let error = errors.iter().find(|e| e.name == self.name);
        let hint_id = format!("{}-aide", self.name);
        let error_id = format!("{}-erreur", self.name);
        let described: Vec<&str> = [
            self.hint.map(|_| hint_id.as_str()),
            error.map(|_| error_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        html! {
            label for=(self.name) { (self.label) }
            @if let Some(hint) = self.hint { small.hint #(hint_id) { (hint) } }
            @if let Some(error) = error { p.field-error #(error_id) { "Erreur : " (error.message) } }
            input #(self.name) name=(self.name) type=(self.kind) value=(self.value)
                autocomplete=[self.autocomplete] inputmode=[self.inputmode]
                required[self.required] aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described];
        }
    }
}

/// A table that scrolls sideways inside itself on a narrow screen, not the page: the scrolling
/// box takes the keyboard focus (WCAG 2.1.1), named for screen readers.
pub fn scrolling(label: &str, table: Markup) -> Markup {
    html! { div.table-scroll tabindex="0" role="region" aria-label=(label) { (table) } }
}

/// "1 personne", "2 personnes".
pub fn counted(n: usize, word: &str) -> String {
    format!(
        "{} {word}{}",
        number(n as i64),
        if n >= 2 { "s" } else { "" }
    )
}

pub use crate::model::french::number;

/// The hidden field carrying a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Raw markup we made ourselves (an SVG QR code): never anything from outside.
pub fn trusted(markup: String) -> Markup {
    PreEscaped(markup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_outside_are_escaped() {
        let field = Input {
            value: "\"><script>alert(1)</script>",
            ..Input::new("email", "Adresse e-mail")
        };
        let html = field.render(&[]).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    }
}
