//! The subscription page of a commune, `/c/{slug}`: SMS, e-mail, browser notifications, and how
//! to leave.
//!
//! Field ids are unique on the page (`sms-phone`, `email-address`, `leave-email`, …) although
//! several forms share field names; errors and typed values reach the form they belong to
//! through [`Form`].

use maud::{Markup, html};

use super::{CommunePage, Field, Form, FormValues, Layout, Notice, PhoneStep, Topic, layout};

/// What one form shows: its errors and values when it is the form submitted.
#[derive(Clone, Copy)]
struct State<'a> {
    errors: &'a [Field<'a>],
    values: FormValues<'a>,
}

impl<'a> State<'a> {
    fn of(page: &CommunePage<'a>, form: Form) -> Self {
        if submitted(page) == Some(form) {
            Self {
                errors: page.errors,
                values: page.values,
            }
        } else {
            Self {
                errors: &[],
                values: FormValues::default(),
            }
        }
    }

    fn error(&self, name: &str) -> Option<&'a str> {
        self.errors
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.message)
    }
}

/// The form that errors and values belong to: the one named, else the first error's.
fn submitted(page: &CommunePage<'_>) -> Option<Form> {
    page.form.or_else(|| {
        page.errors.iter().find_map(|field| match field.name {
            "phone" => Some(Form::Phone),
            "code" => Some(Form::PhoneConfirm),
            "email" | "topics" => Some(Form::Email),
            _ => None,
        })
    })
}

/// The id of the element a field's error points at, if that field is on the page.
fn field_id(page: &CommunePage<'_>, form: Form, name: &str) -> Option<String> {
    let asking_code = matches!(page.phone_step, PhoneStep::AskCode { .. });
    let first_topic = |prefix: &str| page.topics.first().map(|t| topic_id(prefix, t));
    match (form, name) {
        (Form::Phone, "phone") if !asking_code => Some("sms-phone".to_owned()),
        (Form::Phone, "topics") if !asking_code => first_topic("sms-topics"),
        (Form::PhoneConfirm, "code") if asking_code => Some("sms-code".to_owned()),
        (Form::Email, "email") => Some("email-address".to_owned()),
        (Form::Email, "topics") => first_topic("email-topics"),
        (Form::Leave, "email") => Some("leave-email".to_owned()),
        _ => None,
    }
}

fn topic_id(prefix: &str, topic: &Topic<'_>) -> String {
    format!("{prefix}-{}", topic.slug)
}

/// The subscription page.
pub fn commune_page(page: &CommunePage<'_>) -> String {
    let commune = &page.commune;
    let ways = if page.vapid_public_key.is_some() {
        "par SMS, par e-mail ou dans ce navigateur"
    } else {
        "par SMS ou par e-mail"
    };
    let main = html! {
        h1 { "Alertes de " (commune.name) }
        p {
            "Recevez les alertes de " (commune.name) " " (ways) ". L’inscription est gratuite, et \
             vous pouvez vous désinscrire à tout moment."
        }
        (error_summary(page))
        @match page.notice {
            Some(Notice::Info(text)) => div class="notice" role="status" { p { (text) } },
            Some(Notice::Success(text)) => {
                div class="notice notice-success" role="status" { p { (text) } }
            }
            None => {}
        }
        (sms_section(page))
        (email_section(page))
        @if let Some(key) = page.vapid_public_key {
            (push_section(page, key))
        }
        (leave_section(page))
    };

    let title = if page.errors.is_empty() {
        format!("Alertes de {}", commune.name)
    } else {
        format!("Erreur\u{a0}: alertes de {}", commune.name)
    };
    let push = page.vapid_public_key.is_some();
    layout(
        &Layout {
            title: &title,
            commune: Some(commune),
            home: true,
            push,
        },
        main,
    )
}

/// The list of errors, each a link to its field, announced as soon as the page loads.
fn error_summary(page: &CommunePage<'_>) -> Markup {
    if page.errors.is_empty() {
        return html! {};
    }
    let heading = match page.errors.len() {
        1 => "Le formulaire contient une erreur".to_owned(),
        n => format!("Le formulaire contient {n} erreurs"),
    };
    let form = submitted(page);
    html! {
        div class="error-summary" role="alert" aria-labelledby="erreurs-titre" {
            h2 id="erreurs-titre" { (heading) }
            ul {
                @for field in page.errors {
                    li {
                        @match form.and_then(|form| field_id(page, form, field.name)) {
                            Some(id) => a href={ "#" (id) } { (field.message) },
                            None => (field.message),
                        }
                    }
                }
            }
        }
    }
}

/// A labelled text field with an optional hint and error, shown in this order: label, hint,
/// error, field (so both are read before the field at any zoom).
struct Input<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
    /// The `inputmode` attribute, when the keyboard should differ from the `kind`'s.
    inputmode: Option<&'a str>,
    autocomplete: &'a str,
    value: &'a str,
    error: Option<&'a str>,
}

fn input(field: &Input<'_>) -> Markup {
    let id = field.id;
    let mut described = Vec::new();
    if field.error.is_some() {
        // Read first: it is what the citizen has to act on.
        described.push(format!("{id}-error"));
    }
    if field.hint.is_some() {
        described.push(format!("{id}-hint"));
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        label for=(id) { (field.label) }
        @if let Some(hint) = field.hint {
            small class="hint" id={ (id) "-hint" } { (hint) }
        }
        @if let Some(error) = field.error {
            (error_message(id, error))
        }
        input type=(field.kind) id=(id) name=(field.name) value=(field.value)
            inputmode=[field.inputmode] autocomplete=(field.autocomplete) required
            aria-invalid=[field.error.map(|_| "true")] aria-describedby=[described];
        // The field is inline, and so is a submit button right after it: the white space
        // between them is a space in their text (`innerText`), as it always was.
        "\n"
    }
}

fn error_message(id: &str, message: &str) -> Markup {
    html! {
        p class="field-error" id={ (id) "-error" } { "Erreur\u{a0}: " (message) }
    }
}

/// The topic checkboxes, ids prefixed by `prefix`; none when the commune has no topic (the
/// service then takes its default ones).
fn topics_fieldset(page: &CommunePage<'_>, prefix: &str, state: State<'_>) -> Markup {
    if page.topics.is_empty() {
        return html! {};
    }
    let error = state.error("topics");
    let error_id = error.map(|_| format!("{prefix}-error"));
    let chosen = state.values.topics;
    html! {
        fieldset id=(prefix) aria-describedby=[&error_id] {
            legend { "Thèmes des alertes" }
            @if let Some(message) = error {
                (error_message(prefix, message))
            }
            @for topic in page.topics {
                @let id = topic_id(prefix, topic);
                @let checked = if chosen.is_empty() {
                    topic.by_default
                } else {
                    chosen.contains(&topic.slug)
                };
                label for=(id) {
                    input type="checkbox" id=(id) name="topics" value=(topic.slug)
                        checked[checked] aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[&error_id];
                    " " (topic.name)
                }
            }
        }
    }
}

/// The token every form carries, first in the form.
fn form_token(page: &CommunePage<'_>) -> Markup {
    html! {
        input type="hidden" name="form_token" value=(page.form_token);
    }
}

fn sms_section(page: &CommunePage<'_>) -> Markup {
    let slug = page.commune.slug;
    html! {
        section id="sms" aria-labelledby="sms-titre" {
            h2 id="sms-titre" { "Recevoir les alertes par SMS" }
            @match page.phone_step {
                PhoneStep::AskNumber => {
                    @let state = State::of(page, Form::Phone);
                    form method="post" action={ "/c/" (slug) "/phone" } {
                        (form_token(page))
                        (input(&Input {
                            id: "sms-phone",
                            name: "phone",
                            kind: "tel",
                            label: "Numéro de téléphone mobile",
                            hint: Some(
                                "Par exemple\u{a0}: 06 12 34 56 78. Un code de confirmation vous \
                                 sera envoyé par SMS.",
                            ),
                            inputmode: None,
                            autocomplete: "tel",
                            value: state.values.phone,
                            error: state.error("phone"),
                        }))
                        (topics_fieldset(page, "sms-topics", state))
                        button type="submit" { "Recevoir un code" }
                    }
                }
                PhoneStep::AskCode { phone } => {
                    @let state = State::of(page, Form::PhoneConfirm);
                    p { "Un code de confirmation a été envoyé par SMS au " (phone) "." }
                    form method="post" action={ "/c/" (slug) "/phone/confirm" } {
                        (form_token(page))
                        input type="hidden" name="phone" value=(phone);
                        (input(&Input {
                            id: "sms-code",
                            name: "code",
                            kind: "text",
                            label: "Code reçu par SMS",
                            hint: Some("Le code est valable quelques minutes."),
                            inputmode: Some("numeric"),
                            autocomplete: "one-time-code",
                            value: state.values.code,
                            error: state.error("code"),
                        }))
                        button type="submit" { "Confirmer" }
                    }
                    p { a href={ "/c/" (slug) "#sms" } { "Recommencer avec un autre numéro" } }
                }
            }
        }
    }
}

fn email_section(page: &CommunePage<'_>) -> Markup {
    let state = State::of(page, Form::Email);
    html! {
        section id="email" aria-labelledby="email-titre" {
            h2 id="email-titre" { "Recevoir les alertes par e-mail" }
            form method="post" action={ "/c/" (page.commune.slug) "/email" } {
                (form_token(page))
                (input(&Input {
                    id: "email-address",
                    name: "email",
                    kind: "email",
                    label: "Adresse e-mail",
                    hint: Some(
                        "Nous vous enverrons un lien de confirmation, valable 48\u{a0}h. Votre \
                         inscription sera active une fois ce lien ouvert.",
                    ),
                    inputmode: None,
                    autocomplete: "email",
                    value: state.values.email,
                    error: state.error("email"),
                }))
                (topics_fieldset(page, "email-topics", state))
                button type="submit" { "S’inscrire" }
            }
        }
    }
}

fn push_section(page: &CommunePage<'_>, key: &str) -> Markup {
    let slug = page.commune.slug;
    // Nothing is posted from here (push.js reads the boxes), so no state to refill.
    let state = State {
        errors: &[],
        values: FormValues::default(),
    };
    html! {
        section id="push" aria-labelledby="push-titre" data-vapid-key=(key)
            data-push-url={ "/c/" (slug) "/push" } data-sw-url={ "/c/" (slug) "/sw.js" }
            data-sw-scope={ "/c/" (slug) "/" } {
            h2 id="push-titre" { "Recevoir les alertes dans ce navigateur" }
            p {
                "Une notification s’affiche sur cet appareil à chaque alerte, même lorsque cette \
                 page est fermée."
            }
            (topics_fieldset(page, "push-topics", state))
            div class="button-row" {
                button type="button" id="push-subscribe" { "Activer les notifications" }
                button type="button" id="push-unsubscribe" class="secondary" {
                    "Désactiver les notifications"
                }
            }
            p id="push-status" role="status" aria-live="polite" {}
            noscript {
                p {
                    "Les notifications ont besoin de JavaScript, qui est désactivé dans ce \
                     navigateur. Vous pouvez choisir le SMS ou l’e-mail."
                }
            }
            p {
                "Sur iPhone et iPad, les notifications ne fonctionnent qu’une fois cette page \
                 ajoutée à l’écran d’accueil\u{a0}: touchez Partager, puis «\u{a0}Sur l’écran \
                 d’accueil\u{a0}», puis ouvrez la page depuis l’icône créée."
            }
        }
    }
}

fn leave_section(page: &CommunePage<'_>) -> Markup {
    let state = State::of(page, Form::Leave);
    html! {
        section id="desinscription" aria-labelledby="desinscription-titre" {
            h2 id="desinscription-titre" { "Se désinscrire" }
            h3 { "E-mail" }
            form method="post" action={ "/c/" (page.commune.slug) "/leave" } {
                (form_token(page))
                (input(&Input {
                    id: "leave-email",
                    name: "email",
                    kind: "email",
                    label: "Adresse e-mail inscrite",
                    hint: Some("Nous vous enverrons un lien pour confirmer la désinscription."),
                    inputmode: None,
                    autocomplete: "email",
                    value: state.values.email,
                    error: state.error("email"),
                }))
                button type="submit" { "Recevoir le lien de désinscription" }
            }
            h3 { "SMS" }
            p { "Répondez STOP à l’un des SMS d’alerte que vous avez reçus." }
            @if page.vapid_public_key.is_some() {
                h3 { "Notifications" }
                p {
                    "Sur le navigateur concerné, utilisez le bouton «\u{a0}Désactiver les \
                     notifications\u{a0}» ci-dessus."
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
