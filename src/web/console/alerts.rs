//! The console's alert pages: the form of a new alert, its confirmation with what it will cost,
//! the live follow-up of one alert, and the history.

use maud::{Markup, html};

use super::shell::{
    Input, Person, Section, counted, csrf_field, error_summary, number, page, scrolling,
};
use crate::web::pages::Field;

/// What the form holds, as typed (to show again after an error or from the confirmation).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertValues<'a> {
    pub topic: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub sms: bool,
    pub email: bool,
    pub push: bool,
    pub voice: bool,
    pub urgent: bool,
    pub gsm7: bool,
    pub exercise: bool,
    /// Calls are placed again until confirmed.
    pub until_acknowledged: bool,
    /// Hours before it expires, as typed; empty: the default.
    pub expires_hours: &'a str,
    /// `2026-12-05T19:00` (the commune's local time); empty: now.
    pub at: &'a str,
}

/// `/console/alerts/new`.
pub struct NewAlertPage<'a> {
    pub person: &'a Person<'a>,
    /// Slug and name of each topic.
    pub topics: &'a [(String, String)],
    pub values: AlertValues<'a>,
    pub push_offered: bool,
    /// A voice account is configured.
    pub voice_offered: bool,
    pub errors: &'a [Field<'a>],
    /// Key and name of each template, to start from in one click.
    pub templates: &'a [(String, String)],
}

pub fn new_alert_page(p: &NewAlertPage<'_>) -> Markup {
    let v = &p.values;
    let errors = p.errors;
    let content = html! {
        h1 { "Nouvelle alerte" }
        @if !p.templates.is_empty() && v.text.is_empty() {
            nav.templates aria-labelledby="partir-modele" {
                h2 #partir-modele { "Partir d'un modèle" }
                ul { @for (key, name) in p.templates { li { a href={ "/console/alerts/new?template=" (key) } { (name) } } } }
            }
        }
        (error_summary(errors))
        form method="post" action="/console/alerts/preview" novalidate #alert-form {
            (csrf_field(p.person.csrf))
            label for="topic" { "Thème" }
            select #topic name="topic" required {
                @for (slug, name) in p.topics {
                    option value=(slug) selected[slug == v.topic] { (name) }
                }
            }
            (Input { value: v.subject, required: false,
                     hint: Some("L'objet de l'e-mail et le titre de la notification. Tiré du texte s'il est vide."),
                     ..Input::new("subject", "Objet") }.render(errors))
            (text_area(v.text, errors))
            fieldset {
                legend { "Canaux" }
                (check("sms", "SMS", v.sms))
                (check("email", "E-mail", v.email))
                @if p.push_offered { (check("push", "Notification du navigateur", v.push)) }
                @if p.voice_offered { (check("voice", "Appel vocal (téléphones fixes et portables)", v.voice)) }
            }
            fieldset {
                legend { "Nature" }
                (check("urgent", "Urgent : envoyé en priorité, même la nuit", v.urgent))
                (check("gsm7", "Rester en GSM-7 (remplacer les caractères qui allongent les SMS)", v.gsm7))
                (check("exercise", "Exercice (chaque message commence par « EXERCICE – »)", v.exercise))
                @if p.voice_offered { (check("until_acknowledged", "Rappeler jusqu'à ce que la personne tape 1", v.until_acknowledged)) }
            }
            (Input { value: v.at, required: false, autocomplete: Some("off"),
                     hint: Some("Le jour et l'heure de la commune, par exemple 24/12/2026 18:30. Laisser vide pour envoyer tout de suite."),
                     ..Input::new("at", "Envoyer plus tard, le") }.render(errors))
            (Input { kind: "number", value: v.expires_hours, required: false, inputmode: Some("numeric"),
                     hint: Some("Après ce délai, plus rien n'est envoyé. Par défaut : 6 h pour une alerte urgente, 24 h sinon."),
                     ..Input::new("expires_hours", "Durée de validité (heures)") }.render(errors))
            button type="submit" { "Vérifier avant l'envoi" }
        }
    };
    page(
        "Nouvelle alerte",
        Section::NewAlert,
        Some(p.person),
        content,
    )
}

fn text_area(value: &str, errors: &[Field<'_>]) -> Markup {
    let error = errors.iter().find(|e| e.name == "text");
    let described = if error.is_some() {
        "text-aide text-compteur text-erreur"
    } else {
        "text-aide text-compteur"
    };
    html! {
        label for="text" { "Message" }
        small.hint #text-aide { "Envoyé tel quel par SMS (au plus 6 segments) et comme corps de l'e-mail." }
        @if let Some(error) = error { p.field-error #text-erreur { "Erreur : " (error.message) } }
        textarea #text name="text" rows="5" required aria-invalid=[error.map(|_| "true")]
            aria-describedby=(described) { (value) }
        // Filled while typing by console.js (characters, encoding, segments); the confirmation
        // page says the same without JavaScript.
        p.counter #text-compteur aria-live="polite" {}
    }
}

fn check(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        label { input type="checkbox" name=(name) value="on" checked[checked]; " " (label) }
    }
}

/// The values as hidden fields, for the confirmation's forms.
fn hidden(v: &AlertValues<'_>) -> Markup {
    let flag =
        |name: &str, on: bool| html! { @if on { input type="hidden" name=(name) value="on"; } };
    html! {
        input type="hidden" name="topic" value=(v.topic);
        input type="hidden" name="subject" value=(v.subject);
        input type="hidden" name="text" value=(v.text);
        input type="hidden" name="at" value=(v.at);
        input type="hidden" name="expires_hours" value=(v.expires_hours);
        (flag("sms", v.sms)) (flag("email", v.email)) (flag("push", v.push))
        (flag("voice", v.voice)) (flag("until_acknowledged", v.until_acknowledged))
        (flag("urgent", v.urgent)) (flag("gsm7", v.gsm7)) (flag("exercise", v.exercise))
    }
}

/// The SMS as it will be sent, and what it costs in segments.
pub struct SmsPreview<'a> {
    pub text: &'a str,
    /// `GSM-7` or `UCS-2`.
    pub encoding: &'a str,
    pub segments: usize,
    pub units: usize,
    pub ucs2_characters: &'a [String],
}

/// One channel's line of the confirmation.
pub struct ChannelLine {
    pub label: &'static str,
    pub recipients: i64,
    /// "2 segments par SMS, 2 360 segments, 141,60 €".
    pub detail: String,
}

/// `/console/alerts/preview`: the alert as citizens will get it, and the figures, before sending.
pub struct ConfirmPage<'a> {
    pub person: &'a Person<'a>,
    pub values: AlertValues<'a>,
    /// "Envoyer maintenant à 1 234 personnes : 1 180 SMS de 2 segments (141,60 €), 820 e-mails ?"
    pub question: String,
    pub people: i64,
    pub subject: &'a str,
    pub sms: Option<SmsPreview<'a>>,
    pub email_text: Option<&'a str>,
    pub push_text: Option<&'a str>,
    pub channels: Vec<ChannelLine>,
    /// Budgets the alert meets, in words.
    pub budgets: Vec<String>,
    pub commune: &'a str,
    /// The key that makes a second click (or a reload) answer the same alert.
    pub idempotency_key: &'a str,
    /// What the person may do with it.
    pub action: ConfirmAction<'a>,
    /// Whether "Modifier" takes it back to the form (not for a draft being validated).
    pub editable: bool,
}

/// The button of a confirmation.
#[derive(Debug, Clone, Copy)]
pub enum ConfirmAction<'a> {
    /// Send it now (a sender; a drafter when it is not held).
    Send,
    /// Propose it: it waits for a sender's validation (a drafter, a routine alert).
    Propose,
    /// Validate a drafter's alert and send it (a sender), at this address.
    Validate { url: &'a str, author: &'a str },
    /// Nothing (a reader; a drafter looking at their proposal).
    None { why: &'a str },
}

pub fn confirm_page(p: &ConfirmPage<'_>) -> Markup {
    let v = &p.values;
    let content = html! {
        h1 { "Vérifier l'alerte" }
        @if v.urgent { p { span.urgent { "Alerte urgente" } } }
        @if v.exercise { p { strong { "Exercice" } } }
        h2 { "Ce que recevront les habitants" }
        @if let Some(sms) = &p.sms {
            section.preview aria-labelledby="apercu-sms" {
                h3 #apercu-sms { "SMS" }
                blockquote.sms { (sms.text) }
                p { (sms.encoding) " · " (sms.units) " caractères · "
                    (sms.segments) @if sms.segments > 1 { " segments" } @else { " segment" } " par SMS" }
                @if !sms.ucs2_characters.is_empty() {
                    p.warning { "Ces caractères font passer le SMS en UCS-2 (70 caractères par segment au lieu de 160) : "
                        @for c in sms.ucs2_characters { mark { (c) } " " } }
                    form method="post" action="/console/alerts/preview" {
                        (csrf_field(p.person.csrf))
                        (hidden(&AlertValues { gsm7: true, ..*v }))
                        button.secondary type="submit" { "Rester en GSM-7" }
                    }
                }
            }
        }
        @if let Some(text) = p.email_text {
            section.preview aria-labelledby="apercu-email" {
                h3 #apercu-email { "E-mail" }
                p { strong { "Objet : " } (p.subject) }
                p { strong { "De : " } "Mairie de " (p.commune) }
                blockquote.email { (text) }
            }
        }
        @if let Some(text) = p.push_text {
            section.preview aria-labelledby="apercu-push" {
                h3 #apercu-push { "Notification" }
                div.push { strong { (p.subject) } br; (text) }
            }
        }
        h2 { "Destinataires" }
        (scrolling("Destinataires par canal", html! { table {
            thead { tr { th scope="col" { "Canal" } th scope="col" { "Destinataires" } th scope="col" { "Détail" } } }
            tbody {
                @for line in &p.channels {
                    tr { th scope="row" { (line.label) } td { (number(line.recipients)) } td { (line.detail) } }
                }
            }
        } }))
        @for budget in &p.budgets { p { (budget) } }
        @match p.action {
            ConfirmAction::Send | ConfirmAction::Propose => {
                form method="post" action="/console/alerts" {
                    (csrf_field(p.person.csrf))
                    (hidden(v))
                    input type="hidden" name="idempotency_key" value=(p.idempotency_key);
                    p.question #question { (p.question) }
                    @if v.urgent {
                        label { input type="checkbox" name="confirm_urgent" value="on" required aria-describedby="question";
                            " Je confirme l'envoi urgent à " (counted(usize::try_from(p.people).unwrap_or(0), "personne")) }
                    }
                    @if matches!(p.action, ConfirmAction::Propose) {
                        p { "Votre commune fait valider les alertes ordinaires : elle partira quand un élu d'astreinte l'aura validée." }
                        div.button-row { button type="submit" { "Soumettre pour validation" } }
                    } @else {
                        div.button-row { button type="submit" { "Envoyer" } }
                    }
                }
            }
            ConfirmAction::Validate { url, author } => {
                form method="post" action=(url) {
                    (csrf_field(p.person.csrf))
                    p { "Proposée par " (author) "." }
                    p.question #question { (p.question) }
                    div.button-row { button type="submit" { "Valider et envoyer" } }
                }
                form method="post" action={ (url.trim_end_matches("/validate")) "/reject" } {
                    (csrf_field(p.person.csrf))
                    button.secondary.outline type="submit" { "Refuser" }
                }
            }
            ConfirmAction::None { why } => {
                p.notice { (why) }
            }
        }
        @if p.editable {
        form method="post" action="/console/alerts/new" {
            (csrf_field(p.person.csrf))
            (hidden(v))
            button.secondary.outline type="submit" { "Modifier" }
        }
        }
    };
    page(
        "Vérifier l'alerte",
        Section::NewAlert,
        Some(p.person),
        content,
    )
}

/// One channel's figures on the live page.
pub struct LiveChannel {
    /// `sms`, `email`, `push`: the ids console.js updates.
    pub key: &'static str,
    pub label: &'static str,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub waiting: i64,
}

/// Someone the alert did not reach.
pub struct Unreached<'a> {
    pub channel: &'static str,
    /// Masked for readers.
    pub address: &'a str,
    pub reason: &'a str,
}

/// `/console/alerts/{id}`.
pub struct AlertPage<'a> {
    pub person: &'a Person<'a>,
    pub id: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub urgent: bool,
    pub exercise: bool,
    /// In French: "En cours d'envoi", "Terminée"…
    pub status: &'a str,
    /// The machine word, for console.js.
    pub status_word: &'a str,
    pub created: &'a str,
    pub channels: &'a [LiveChannel],
    /// Percentage done, 0 to 100.
    pub done_percent: i64,
    /// "312 messages par seconde · fin estimée 19:04".
    pub pace: Option<String>,
    pub unreached: &'a [Unreached<'a>],
    pub may_cancel: bool,
    /// Under way, and the person may send: it may be stopped.
    pub may_stop: bool,
}

pub fn alert_page(p: &AlertPage<'_>) -> Markup {
    let content = html! {
        h1 { (p.subject) }
        @if p.urgent { p { span.urgent { "Alerte urgente" } } }
        @if p.exercise { p { strong { "Exercice" } } }
        p { "Créée le " (p.created) ". " }
        div #live data-alert=(p.id) data-status=(p.status_word) {
            p { "État : " strong #status { (p.status) } }
            label for="avancement" { "Avancement" }
            progress #avancement max="100" value=(p.done_percent) { (p.done_percent) " %" }
            p #pace { @if let Some(pace) = &p.pace { (pace) } }
            (scrolling("Messages par canal", html! { table {
                caption { "Messages par canal" }
                thead { tr { th scope="col" { "Canal" } th scope="col" { "Envoyés" } th scope="col" { "Reçus" }
                             th scope="col" { "Échecs" } th scope="col" { "En attente" } } }
                tbody {
                    @for c in p.channels {
                        tr {
                            th scope="row" { (c.label) }
                            td #{ (c.key) "-sent" } { (number(c.sent)) }
                            td #{ (c.key) "-delivered" } { (number(c.delivered)) }
                            td #{ (c.key) "-failed" } { (number(c.failed)) }
                            td #{ (c.key) "-waiting" } { (number(c.waiting)) }
                        }
                    }
                }
            } }))
        }
        p.button-row {
            a role="button" class="secondary outline" href={ "/console/alerts/" (p.id) } { "Actualiser" }
            a role="button" class="secondary outline" href={ "/console/alerts/" (p.id) "/deliveries.csv" } download { "Télécharger les envois (CSV)" }
            a role="button" class="secondary outline" href={ "/console/alerts/" (p.id) "/proof.pdf" } download { "Preuve de l'alerte (PDF)" }
        }
        @if p.may_cancel {
            form method="post" action={ "/console/alerts/" (p.id) "/cancel" } {
                (csrf_field(p.person.csrf))
                button.secondary type="submit" { "Annuler cette alerte" }
            }
        }
        @if p.may_stop {
            details {
                summary { "Arrêter l'envoi (alerte envoyée par erreur)" }
                p { "Plus aucun message de cette alerte ne partira ; ceux en cours d'envoi se terminent. "
                    "Les habitants déjà prévenus l'ont reçue : envoyez-leur ensuite un rectificatif." }
                form method="post" action={ "/console/alerts/" (p.id) "/stop" } {
                    (csrf_field(p.person.csrf))
                    button.secondary type="submit" { "Oui, arrêter l'envoi" }
                }
            }
        }
        blockquote { (p.text) }
        h2 { "À rappeler" }
        @if p.unreached.is_empty() {
            p { "Personne pour l'instant : aucun échec." }
        } @else {
            p { "Ces personnes n'ont pas reçu l'alerte. Prévenez-les par un autre moyen." }
            (scrolling("À rappeler", html! { table {
                thead { tr { th scope="col" { "Canal" } th scope="col" { "Adresse" } th scope="col" { "Raison" } } }
                tbody {
                    @for u in p.unreached { tr { td { (u.channel) } td { (u.address) } td { (u.reason) } } }
                }
            } }))
        }
    };
    page(p.subject, Section::History, Some(p.person), content)
}

/// One line of the history.
pub struct HistoryLine<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub topic: &'a str,
    pub created: String,
    pub urgent: bool,
    pub status: &'a str,
    pub recipients: Option<i32>,
}

/// The history's filters, as typed.
#[derive(Default)]
pub struct HistoryFilter<'a> {
    pub topic: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub urgent: bool,
}

pub fn history_page(
    person: &Person<'_>,
    topics: &[(String, String)],
    filter: &HistoryFilter<'_>,
    lines: &[HistoryLine<'_>],
    errors: &[Field<'_>],
) -> Markup {
    let content = html! {
        h1 { "Historique des alertes" }
        (error_summary(errors))
        form.filters method="get" action="/console/alerts" {
            label for="topic" { "Thème" }
            select #topic name="topic" {
                option value="" { "Tous" }
                @for (slug, name) in topics { option value=(slug) selected[slug == filter.topic] { (name) } }
            }
            (Input { kind: "date", value: filter.from, required: false, ..Input::new("from", "Du") }.render(errors))
            (Input { kind: "date", value: filter.to, required: false, ..Input::new("to", "Au") }.render(errors))
            label { input type="checkbox" name="urgent" value="on" checked[filter.urgent]; " Urgentes seulement" }
            button type="submit" { "Filtrer" }
        }
        @if lines.is_empty() {
            p { "Aucune alerte." }
        } @else {
            (scrolling("Alertes", html! { table {
                caption { (counted(lines.len(), "alerte")) ", les plus récentes d'abord" }
                thead { tr { th scope="col" { "Date" } th scope="col" { "Objet" } th scope="col" { "Thème" }
                             th scope="col" { "Destinataires" } th scope="col" { "État" } } }
                tbody {
                    @for line in lines {
                        tr {
                            td { (line.created) }
                            td { a href={ "/console/alerts/" (line.id) } { (line.subject) }
                                 @if line.urgent { " " span.urgent { "urgente" } } }
                            td { (line.topic) }
                            td { @if let Some(n) = line.recipients { (number(n.into())) } @else { "–" } }
                            td { (line.status) }
                        }
                    }
                }
            } }))
        }
    };
    page("Historique", Section::History, Some(person), content)
}

/// One draft in a list.
pub struct DraftLine<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub author: &'a str,
    pub created: String,
}

/// `/console/drafts`: the alerts waiting for a sender's validation.
pub fn drafts_page(person: &Person<'_>, drafts: &[DraftLine<'_>]) -> Markup {
    let content = html! {
        h1 { "Alertes à valider" }
        (draft_list(drafts))
    };
    page("Alertes à valider", Section::Drafts, Some(person), content)
}

/// The list of drafts, on its page and on the dashboard.
pub fn draft_list(drafts: &[DraftLine<'_>]) -> Markup {
    html! {
        @if drafts.is_empty() {
            p { "Aucune alerte n'attend de validation." }
        } @else {
            ul {
                @for d in drafts {
                    li { a href={ "/console/drafts/" (d.id) } { (d.subject) } " — proposée par " (d.author) " le " (d.created) }
                }
            }
        }
    }
}
