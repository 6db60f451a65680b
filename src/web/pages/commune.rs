//! The subscription page of a commune, `/c/{slug}`: SMS, e-mail, browser notifications, and how
//! to leave.
//!
//! Field ids are unique on the page (`sms-phone`, `email-address`, `leave-email`, …) although
//! several forms share field names; errors and typed values reach the form they belong to
//! through [`Form`].

use super::{
    CommunePage, Field, Form, FormValues, Layout, Notice, PhoneStep, Topic, escape, layout,
};

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
    let name = escape(commune.name);
    let ways = if page.vapid_public_key.is_some() {
        "par SMS, par e-mail ou dans ce navigateur"
    } else {
        "par SMS ou par e-mail"
    };
    let mut main = format!(
        "<h1>Alertes de {name}</h1>\n\
         <p>Recevez les alertes de {name} {ways}. L’inscription est gratuite, et vous pouvez \
         vous désinscrire à tout moment.</p>\n"
    );
    main.push_str(&error_summary(page));
    match page.notice {
        Some(Notice::Info(text)) => main.push_str(&format!(
            "<div class=\"notice\" role=\"status\"><p>{}</p></div>\n",
            escape(text)
        )),
        Some(Notice::Success(text)) => main.push_str(&format!(
            "<div class=\"notice notice-success\" role=\"status\"><p>{}</p></div>\n",
            escape(text)
        )),
        None => {}
    }
    main.push_str(&sms_section(page));
    main.push_str(&email_section(page));
    if let Some(key) = page.vapid_public_key {
        main.push_str(&push_section(page, key));
    }
    main.push_str(&leave_section(page));

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
        &main,
    )
}

/// The list of errors, each a link to its field, announced as soon as the page loads.
fn error_summary(page: &CommunePage<'_>) -> String {
    if page.errors.is_empty() {
        return String::new();
    }
    let heading = match page.errors.len() {
        1 => "Le formulaire contient une erreur".to_owned(),
        n => format!("Le formulaire contient {n} erreurs"),
    };
    let mut out = format!(
        "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"erreurs-titre\">\n\
         <h2 id=\"erreurs-titre\">{heading}</h2>\n<ul>\n"
    );
    let form = submitted(page);
    for field in page.errors {
        let message = escape(field.message);
        match form.and_then(|form| field_id(page, form, field.name)) {
            Some(id) => out.push_str(&format!(
                "<li><a href=\"#{}\">{message}</a></li>\n",
                escape(&id)
            )),
            None => out.push_str(&format!("<li>{message}</li>\n")),
        }
    }
    out.push_str("</ul>\n</div>\n");
    out
}

/// A labelled text field with an optional hint and error, shown in this order: label, hint,
/// error, field (so both are read before the field at any zoom).
struct Input<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
    /// Plain-text attributes that need no escaping (`autocomplete="email"`).
    extra: &'a str,
    value: &'a str,
    error: Option<&'a str>,
}

fn input(field: &Input<'_>) -> String {
    let id = escape(field.id);
    let mut out = format!("<label for=\"{id}\">{}</label>\n", escape(field.label));
    let mut described = Vec::new();
    if let Some(hint) = field.hint {
        out.push_str(&format!(
            "<small class=\"hint\" id=\"{id}-hint\">{}</small>\n",
            escape(hint)
        ));
        described.push(format!("{id}-hint"));
    }
    if let Some(error) = field.error {
        out.push_str(&error_message(&id, error));
        // Read first: it is what the citizen has to act on.
        described.insert(0, format!("{id}-error"));
    }
    let mut attributes = String::new();
    if field.error.is_some() {
        attributes.push_str(" aria-invalid=\"true\"");
    }
    if !described.is_empty() {
        attributes.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
    }
    out.push_str(&format!(
        "<input type=\"{}\" id=\"{id}\" name=\"{}\" value=\"{}\" {} required{attributes}>\n",
        field.kind,
        escape(field.name),
        escape(field.value),
        field.extra,
    ));
    out
}

fn error_message(id: &str, message: &str) -> String {
    format!(
        "<p class=\"field-error\" id=\"{id}-error\">Erreur\u{a0}: {}</p>\n",
        escape(message)
    )
}

/// The topic checkboxes, ids prefixed by `prefix`; none when the commune has no topic (the
/// service then takes its default ones).
fn topics_fieldset(page: &CommunePage<'_>, prefix: &str, state: State<'_>) -> String {
    if page.topics.is_empty() {
        return String::new();
    }
    let error = state.error("topics");
    let error_id = format!("{prefix}-error");
    let mut out = format!("<fieldset id=\"{prefix}\"");
    if error.is_some() {
        out.push_str(&format!(" aria-describedby=\"{error_id}\""));
    }
    out.push_str(">\n<legend>Thèmes des alertes</legend>\n");
    if let Some(message) = error {
        out.push_str(&error_message(prefix, message));
    }
    let chosen = state.values.topics;
    for topic in page.topics {
        let id = escape(&topic_id(prefix, topic));
        let checked = if chosen.is_empty() {
            topic.by_default
        } else {
            chosen.contains(&topic.slug)
        };
        let mut attributes = String::new();
        if checked {
            attributes.push_str(" checked");
        }
        if error.is_some() {
            attributes.push_str(&format!(
                " aria-invalid=\"true\" aria-describedby=\"{error_id}\""
            ));
        }
        out.push_str(&format!(
            "<label for=\"{id}\"><input type=\"checkbox\" id=\"{id}\" name=\"topics\" \
             value=\"{}\"{attributes}> {}</label>\n",
            escape(topic.slug),
            escape(topic.name)
        ));
    }
    out.push_str("</fieldset>\n");
    out
}

fn sms_section(page: &CommunePage<'_>) -> String {
    let slug = escape(page.commune.slug);
    let token = escape(page.form_token);
    let mut out = "<section id=\"sms\" aria-labelledby=\"sms-titre\">\n\
                   <h2 id=\"sms-titre\">Recevoir les alertes par SMS</h2>\n"
        .to_owned();
    match page.phone_step {
        PhoneStep::AskNumber => {
            let state = State::of(page, Form::Phone);
            out.push_str(&format!(
                "<form method=\"post\" action=\"/c/{slug}/phone\">\n<input type=\"hidden\" name=\"form_token\" value=\"{token}\">\n"
            ));
            out.push_str(&input(&Input {
                id: "sms-phone",
                name: "phone",
                kind: "tel",
                label: "Numéro de téléphone mobile",
                hint: Some(
                    "Par exemple\u{a0}: 06 12 34 56 78. Un code de confirmation vous sera \
                     envoyé par SMS.",
                ),
                extra: "autocomplete=\"tel\"",
                value: state.values.phone,
                error: state.error("phone"),
            }));
            out.push_str(&topics_fieldset(page, "sms-topics", state));
            out.push_str("<button type=\"submit\">Recevoir un code</button>\n</form>\n");
        }
        PhoneStep::AskCode { phone } => {
            let state = State::of(page, Form::PhoneConfirm);
            out.push_str(&format!(
                "<p>Un code de confirmation a été envoyé par SMS au {}.</p>\n\
                 <form method=\"post\" action=\"/c/{slug}/phone/confirm\">\n\
                 <input type=\"hidden\" name=\"form_token\" value=\"{token}\">\n\
                 <input type=\"hidden\" name=\"phone\" value=\"{}\">\n",
                escape(phone),
                escape(phone)
            ));
            out.push_str(&input(&Input {
                id: "sms-code",
                name: "code",
                kind: "text",
                label: "Code reçu par SMS",
                hint: Some("Le code est valable quelques minutes."),
                extra: "inputmode=\"numeric\" autocomplete=\"one-time-code\"",
                value: state.values.code,
                error: state.error("code"),
            }));
            out.push_str(&format!(
                "<button type=\"submit\">Confirmer</button>\n</form>\n\
                 <p><a href=\"/c/{slug}#sms\">Recommencer avec un autre numéro</a></p>\n"
            ));
        }
    }
    out.push_str("</section>\n");
    out
}

fn email_section(page: &CommunePage<'_>) -> String {
    let slug = escape(page.commune.slug);
    let token = escape(page.form_token);
    let state = State::of(page, Form::Email);
    let mut out = format!(
        "<section id=\"email\" aria-labelledby=\"email-titre\">\n\
         <h2 id=\"email-titre\">Recevoir les alertes par e-mail</h2>\n\
         <form method=\"post\" action=\"/c/{slug}/email\">\n<input type=\"hidden\" name=\"form_token\" value=\"{token}\">\n"
    );
    out.push_str(&input(&Input {
        id: "email-address",
        name: "email",
        kind: "email",
        label: "Adresse e-mail",
        hint: Some(
            "Nous vous enverrons un lien de confirmation, valable 48\u{a0}h. Votre inscription \
             sera active une fois ce lien ouvert.",
        ),
        extra: "autocomplete=\"email\"",
        value: state.values.email,
        error: state.error("email"),
    }));
    out.push_str(&topics_fieldset(page, "email-topics", state));
    out.push_str("<button type=\"submit\">S’inscrire</button>\n</form>\n</section>\n");
    out
}

fn push_section(page: &CommunePage<'_>, key: &str) -> String {
    let slug = escape(page.commune.slug);
    let mut out = format!(
        "<section id=\"push\" aria-labelledby=\"push-titre\" data-vapid-key=\"{}\" \
         data-push-url=\"/c/{slug}/push\" data-sw-url=\"/c/{slug}/sw.js\" \
         data-sw-scope=\"/c/{slug}/\">\n\
         <h2 id=\"push-titre\">Recevoir les alertes dans ce navigateur</h2>\n\
         <p>Une notification s’affiche sur cet appareil à chaque alerte, même lorsque cette page \
         est fermée.</p>\n",
        escape(key)
    );
    // Nothing is posted from here (push.js reads the boxes), so no state to refill.
    out.push_str(&topics_fieldset(
        page,
        "push-topics",
        State {
            errors: &[],
            values: FormValues::default(),
        },
    ));
    out.push_str(
        "<div class=\"button-row\">\n\
         <button type=\"button\" id=\"push-subscribe\">Activer les notifications</button>\n\
         <button type=\"button\" id=\"push-unsubscribe\" class=\"secondary\">Désactiver les \
         notifications</button>\n\
         </div>\n\
         <p id=\"push-status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <noscript><p>Les notifications ont besoin de JavaScript, qui est désactivé dans ce \
         navigateur. Vous pouvez choisir le SMS ou l’e-mail.</p></noscript>\n\
         <p>Sur iPhone et iPad, les notifications ne fonctionnent qu’une fois cette page ajoutée \
         à l’écran d’accueil\u{a0}: touchez Partager, puis «\u{a0}Sur l’écran d’accueil\u{a0}», \
         puis ouvrez la page depuis l’icône créée.</p>\n\
         </section>\n",
    );
    out
}

fn leave_section(page: &CommunePage<'_>) -> String {
    let slug = escape(page.commune.slug);
    let token = escape(page.form_token);
    let state = State::of(page, Form::Leave);
    let mut out = format!(
        "<section id=\"desinscription\" aria-labelledby=\"desinscription-titre\">\n\
         <h2 id=\"desinscription-titre\">Se désinscrire</h2>\n\
         <h3>E-mail</h3>\n\
         <form method=\"post\" action=\"/c/{slug}/leave\">\n<input type=\"hidden\" name=\"form_token\" value=\"{token}\">\n"
    );
    out.push_str(&input(&Input {
        id: "leave-email",
        name: "email",
        kind: "email",
        label: "Adresse e-mail inscrite",
        hint: Some("Nous vous enverrons un lien pour confirmer la désinscription."),
        extra: "autocomplete=\"email\"",
        value: state.values.email,
        error: state.error("email"),
    }));
    out.push_str(
        "<button type=\"submit\">Recevoir le lien de désinscription</button>\n</form>\n\
         <h3>SMS</h3>\n\
         <p>Répondez STOP à l’un des SMS d’alerte que vous avez reçus.</p>\n",
    );
    if page.vapid_public_key.is_some() {
        out.push_str(
            "<h3>Notifications</h3>\n\
             <p>Sur le navigateur concerné, utilisez le bouton «\u{a0}Désactiver les \
             notifications\u{a0}» ci-dessus.</p>\n",
        );
    }
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests;
