//! The dashboard and the people of a commune.

use maud::{Markup, html};

use super::alerts::{DraftLine, HistoryLine, draft_list};
use super::shell::{
    Input, Person, Section, counted, csrf_field, error_summary, notice, number, page, scrolling,
};
use crate::web::pages::Field;

/// `/console`.
pub struct Dashboard<'a> {
    pub person: &'a Person<'a>,
    /// Subscribers reachable by SMS, e-mail and push, and in all.
    pub by_channel: [(&'static str, i64); 3],
    pub subscribers: i64,
    /// Inhabitants, when the commune gave the figure.
    pub population: Option<i32>,
    /// Name and subscribers of each topic.
    pub by_topic: &'a [(String, i64)],
    pub last_alerts: &'a [HistoryLine<'a>],
    /// Drafters' alerts waiting for a sender.
    pub drafts: &'a [DraftLine<'a>],
    /// When and what of the next scheduled reminders.
    pub next_schedules: &'a [(String, String)],
}

pub fn dashboard_page(d: &Dashboard<'_>) -> Markup {
    let content = html! {
        h1 { "Tableau de bord" }
        @if d.person.may_send {
            p { a role="button" href="/console/alerts/new" { "Envoyer une alerte" } }
        }
        @if !d.drafts.is_empty() {
            section aria-labelledby="a-valider" {
                h2 #a-valider { "Alertes à valider (" (d.drafts.len()) ")" }
                (draft_list(d.drafts))
            }
        }
        section aria-labelledby="abonnes" {
            h2 #abonnes { "Abonnés" }
            p { strong { (number(d.subscribers)) } " personnes abonnées"
                @if let Some(population) = d.population {
                    ", soit " strong { (coverage(d.subscribers, population)) } " des " (number(population.into())) " habitants"
                } "." }
            ul.tiles {
                @for (label, n) in d.by_channel { li { strong { (number(n)) } " " (label) } }
            }
            @if !d.by_topic.is_empty() {
                (scrolling("Abonnés par thème", html! { table {
                    caption { "Par thème" }
                    thead { tr { th scope="col" { "Thème" } th scope="col" { "Abonnés" } } }
                    tbody { @for (name, n) in d.by_topic { tr { th scope="row" { (name) } td { (number(*n)) } } } }
                } }))
            }
        }
        section aria-labelledby="dernieres" {
            h2 #dernieres { "Dernières alertes" }
            @if d.last_alerts.is_empty() {
                p { "Aucune alerte envoyée." }
            } @else {
                ul {
                    @for a in d.last_alerts {
                        li { a href={ "/console/alerts/" (a.id) } { (a.subject) } " — " (a.created) " — " (a.status) }
                    }
                }
                p { a href="/console/alerts" { "Tout l'historique" } }
            }
        }
        section aria-labelledby="rappels" {
            h2 #rappels { "Prochains rappels" }
            @if d.next_schedules.is_empty() {
                p { "Aucun rappel programmé." }
            } @else {
                ul { @for (when, what) in d.next_schedules { li { (when) " : " (what) } } }
            }
        }
    };
    page(
        "Tableau de bord",
        Section::Dashboard,
        Some(d.person),
        content,
    )
}

/// The share of the population subscribed, in French: "12,5 %" (one decimal).
fn coverage(subscribers: i64, population: i32) -> String {
    let tenths = (subscribers * 1000 + i64::from(population) / 2) / i64::from(population.max(1));
    format!("{},{} %", tenths / 10, tenths % 10)
}

/// One person on the users page.
pub struct PersonLine<'a> {
    /// `usr_…`
    pub id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    /// "Invitation envoyée", "Actif", "Bloqué jusqu'à 19:40".
    pub state: String,
}

/// `/console/users`.
pub struct UsersPage<'a> {
    pub person: &'a Person<'a>,
    pub people: &'a [PersonLine<'a>],
    pub errors: &'a [Field<'a>],
    /// Values typed in the invitation form, after an error.
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    /// The link of the invitation just made: shown once, for the admin to pass on.
    pub invitation: Option<&'a str>,
}

pub fn users_page(p: &UsersPage<'_>) -> Markup {
    let roles = [
        ("reader", "Lecture : historique et suivi"),
        (
            "drafter",
            "Rédaction : prépare les alertes, gère les abonnés",
        ),
        (
            "sender",
            "Envoi : envoie et annule les alertes (élu d'astreinte)",
        ),
        ("admin", "Administration : tout, y compris les utilisateurs"),
    ];
    let content = html! {
        h1 { "Utilisateurs" }
        @if let Some(link) = p.invitation {
            (notice("Lien créé. Transmettez-le à la personne : il sert une fois, pendant 72 heures.", true))
            p { code.invitation #invitation-link { (link) } }
        }
        (scrolling("Utilisateurs", html! { table {
            caption { (counted(p.people.len(), "personne")) }
            thead { tr { th scope="col" { "Nom" } th scope="col" { "Adresse e-mail" } th scope="col" { "Rôle" }
                         th scope="col" { "État" } th scope="col" { "Actions" } } }
            tbody {
                @for u in p.people {
                    tr {
                        th scope="row" { (u.name) } td { (u.email) } td { (u.role) } td { (u.state) }
                        td {
                            form.inline method="post" action={ "/console/users/" (u.id) "/reset" } {
                                (csrf_field(p.person.csrf))
                                button.secondary.outline type="submit" { "Nouveau lien" span.visually-hidden { " pour " (u.name) } }
                            }
                            form.inline method="post" action={ "/console/users/" (u.id) "/remove" } {
                                (csrf_field(p.person.csrf))
                                button.secondary.outline type="submit" { "Retirer" span.visually-hidden { " " (u.name) } }
                            }
                        }
                    }
                }
            }
        } }))
        h2 #inviter { "Inviter une personne" }
        (error_summary(p.errors))
        form method="post" action="/console/users" novalidate {
            (csrf_field(p.person.csrf))
            (Input { value: p.name, autocomplete: Some("off"), ..Input::new("name", "Nom") }.render(p.errors))
            (Input { kind: "email", value: p.email, autocomplete: Some("off"), ..Input::new("email", "Adresse e-mail") }.render(p.errors))
            fieldset {
                legend { "Rôle" }
                @for (value, label) in roles {
                    label { input type="radio" name="role" value=(value) checked[p.role == value] required; " " (label) }
                }
            }
            button type="submit" { "Inviter" }
        }
    };
    page("Utilisateurs", Section::Users, Some(p.person), content)
}

#[cfg(test)]
mod tests {
    #[test]
    fn coverage_is_a_french_percentage() {
        assert_eq!(super::coverage(77, 612), "12,6 %");
        assert_eq!(super::coverage(612, 612), "100,0 %");
        assert_eq!(super::coverage(0, 612), "0,0 %");
    }
}
