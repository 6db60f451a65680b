//! The citizen pages of a commune, in French, rendered to HTML strings: the subscription page,
//! an alert, a message (with an optional button), "not found", and the web app manifest.
//!
//! Pure functions over page models: handlers fetch, decide, then render with maud, which
//! escapes every value spliced in; only the commune colour's style is `PreEscaped`. The pages
//! aim at WCAG 2.1 AA / RGAA 4: `lang`, one `h1`, landmarks and a skip link, a label for every
//! field, errors listed in a summary with `role="alert"` and tied to their fields with
//! `aria-invalid` and `aria-describedby`, no fixed width. They load nothing from another host
//! and hold no inline script; the only inline style is the commune colour, which
//! [`content_security_policy`] allows by its hash.

mod commune;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use super::assets::asset_url;
use super::colour::{Colour, DEFAULT_BRAND, check_brand_colour};

pub use commune::commune_page;

/// The commune a page belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Commune<'a> {
    /// A validated slug (`a-z`, `0-9`, `-`), so it needs no percent-encoding in paths.
    pub slug: &'a str,
    pub name: &'a str,
    /// `#rrggbb`, checked by [`check_brand_colour`]. Checked again here: a colour that does not
    /// pass is ignored for the default one.
    pub colour: Option<&'a str>,
    /// Whether a logo is served at `/c/{slug}/logo`.
    pub has_logo: bool,
}

/// A topic a citizen may choose.
#[derive(Debug, Clone, Copy)]
pub struct Topic<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    /// Checked until the citizen says otherwise.
    pub by_default: bool,
}

/// An error on one form field, named as in the form (`phone`, `code`, `email`, `topics`). An
/// error whose name matches no field shown is listed in the summary only.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub name: &'a str,
    pub message: &'a str,
}

/// A message shown above the forms.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    Info(&'a str),
    Success(&'a str),
}

/// The forms of the commune page, to say which one the citizen submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `POST /c/{slug}/phone`: `phone`, `topics`.
    Phone,
    /// `POST /c/{slug}/phone/confirm`: `phone` (hidden), `code`.
    PhoneConfirm,
    /// `POST /c/{slug}/email`: `email`, `topics`.
    Email,
    /// `POST /c/{slug}/leave`: `email`.
    Leave,
}

/// The subscription page, `/c/{slug}`.
#[derive(Debug, Clone, Copy)]
pub struct CommunePage<'a> {
    pub commune: Commune<'a>,
    pub topics: &'a [Topic<'a>],
    /// The VAPID public key (base64url); `None`: notifications are not offered.
    pub vapid_public_key: Option<&'a str>,
    pub phone_step: PhoneStep<'a>,
    pub errors: &'a [Field<'a>],
    pub notice: Option<Notice<'a>>,
    /// What the citizen typed, to fill the form in again after an error.
    pub values: FormValues<'a>,
    /// The form that `errors` and `values` belong to. `None`: the form of the first error's
    /// field (`phone`, `code`, or `email` and `topics` of the e-mail subscription); with no
    /// error either, `values` are not shown.
    pub form: Option<Form>,
    /// The token every form carries, bound to the visitor's cookie (a post from another site
    /// cannot have it).
    pub form_token: &'a str,
}

/// Where the SMS subscription stands.
#[derive(Debug, Clone, Copy)]
pub enum PhoneStep<'a> {
    AskNumber,
    /// A code was sent to `phone` (as the citizen typed it).
    AskCode {
        phone: &'a str,
    },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct FormValues<'a> {
    pub phone: &'a str,
    pub email: &'a str,
    pub code: &'a str,
    /// Topic slugs; empty: the default topics are checked.
    pub topics: &'a [&'a str],
}

/// One alert, `/c/{slug}/…`, for the link in an SMS, an e-mail or a notification.
#[derive(Debug, Clone, Copy)]
pub struct AlertPage<'a> {
    pub commune: Commune<'a>,
    pub subject: &'a str,
    pub text: &'a str,
    /// Already in French local time: "lundi 30 novembre 2026 à 19:00".
    pub sent_at: &'a str,
    pub urgent: bool,
    /// The alert is over; it is shown for the record.
    pub expired: bool,
    /// Opened through a recipient's link: whether they confirmed yet, and where the button
    /// confirms.
    pub acknowledgement: Option<Acknowledgement<'a>>,
}

/// The confirmation part of an alert page opened through a recipient's link.
#[derive(Debug, Clone, Copy)]
pub struct Acknowledgement<'a> {
    pub done: bool,
    /// Where the button posts.
    pub url: &'a str,
}

/// A short page: "Inscription confirmée", "Confirmer votre inscription" with a button, etc.
#[derive(Debug, Clone, Copy)]
pub struct MessagePage<'a> {
    pub commune: Commune<'a>,
    pub title: &'a str,
    pub text: &'a str,
    pub action: Option<FormAction<'a>>,
}

/// A form of one button posting hidden fields, such as a confirmation that a link in an e-mail
/// leads to (a GET must not change anything: mail scanners follow links).
#[derive(Debug, Clone, Copy)]
pub struct FormAction<'a> {
    pub url: &'a str,
    pub button: &'a str,
    /// Name and value of each hidden field.
    pub hidden: &'a [(&'a str, &'a str)],
}

/// The `Content-Security-Policy` to send with a page of `commune` (`None` for
/// [`not_found_page`]). Nothing inline runs; the commune colour's `<style>` element is allowed
/// by its hash. `data:` images are Pico's icons (check marks, select arrows), drawn as inline
/// SVG in its style sheet.
pub fn content_security_policy(commune: Option<&Commune<'_>>) -> String {
    let style_hash = commune
        .and_then(brand_style)
        .map(|style| {
            format!(
                " 'sha256-{}'",
                BASE64.encode(Sha256::digest(style.as_bytes()))
            )
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'{style_hash}; \
         script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The web app manifest, `/c/{slug}/manifest.webmanifest` (`application/manifest+json`), so
/// that the page can be added to a home screen: iOS delivers Web Push only to such an app.
///
/// The scope is `/c/{slug}` without a final slash, since the start URL `/c/{slug}` must lie in
/// it. Known limit: scopes match by prefix, so `/c/saint` also covers `/c/saint-denis/…`; it
/// only decides which links stay inside the installed app.
pub fn manifest(commune: &Commune<'_>) -> String {
    let home = format!("/c/{}", commune.slug);
    let icon = |size: u32| {
        serde_json::json!({
            "src": format!("/assets/icon-{size}.png"),
            "sizes": format!("{size}x{size}"),
            "type": "image/png",
            "purpose": "any",
        })
    };
    serde_json::json!({
        "id": home,
        "name": format!("Alertes – {}", commune.name),
        "short_name": commune.name,
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "lang": "fr",
        "dir": "ltr",
        "background_color": "#ffffff",
        "theme_color": brand(commune).to_string(),
        "icons": [icon(192), icon(512)],
    })
    .to_string()
}

/// One alert, with its date, its urgency and whether it is over.
pub fn alert_page(page: &AlertPage<'_>) -> String {
    let commune = &page.commune;
    let subject = if page.subject.trim().is_empty() {
        "Alerte"
    } else {
        page.subject
    };
    let main = html! {
        h1 { (subject) }
        @if page.urgent {
            p { strong class="urgent" { "Alerte urgente" } }
        }
        p { "Envoyée par " (commune.name) " le " (page.sent_at) "." }
        @if page.expired {
            div class="notice" {
                p { "Cette alerte est terminée. Son contenu reste affiché pour information." }
            }
        }
        (paragraphs(page.text))
        @match page.acknowledgement {
            Some(Acknowledgement { done: true, .. }) => {
                div class="notice" role="status" {
                    p { "Merci, votre confirmation de réception est enregistrée." }
                }
            }
            Some(Acknowledgement { url, .. }) if !page.expired => {
                form method="post" action=(url) {
                    button type="submit" { "J'ai bien reçu ce message" }
                }
            }
            _ => {}
        }
        (back_link(commune, "Recevoir les alertes de"))
    };
    let title = format!("{subject} – Alertes de {}", commune.name);
    layout(
        &Layout {
            title: &title,
            commune: Some(commune),
            home: false,
            push: false,
        },
        main,
    )
}

/// A short message, with a button when there is something to confirm.
pub fn message_page(page: &MessagePage<'_>) -> String {
    let commune = &page.commune;
    let main = html! {
        h1 { (page.title) }
        (paragraphs(page.text))
        @if let Some(action) = &page.action {
            form method="post" action=(action.url) {
                @for (name, value) in action.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" { (action.button) }
            }
        }
        (back_link(commune, "Retour à la page des alertes de"))
    };
    let title = format!("{} – Alertes de {}", page.title, commune.name);
    layout(
        &Layout {
            title: &title,
            commune: Some(commune),
            home: false,
            push: false,
        },
        main,
    )
}

/// For an unknown commune or address. It names no commune, so it gives nothing away.
pub fn not_found_page() -> String {
    let main = html! {
        h1 { "Page introuvable" }
        p {
            "Cette adresse ne correspond à aucune page. Vérifiez-la, ou reprenez le lien donné \
             par votre commune."
        }
    };
    layout(
        &Layout {
            title: "Page introuvable",
            commune: None,
            home: false,
            push: false,
        },
        main,
    )
}

/// An unsubscribe link followed again, once its subscriber is gone: nothing is left to do, and
/// nothing tells which commune it was.
pub fn unsubscribed_page() -> String {
    let main = html! {
        h1 { "Désinscription faite" }
        p {
            "Cette adresse ne reçoit plus d’alertes par e-mail et a été effacée. Pour recevoir \
             de nouveau les alertes, inscrivez-vous sur la page de votre commune."
        }
    };
    layout(
        &Layout {
            title: "Désinscription faite",
            commune: None,
            home: false,
            push: false,
        },
        main,
    )
}

/// What the page frame needs to know.
struct Layout<'a> {
    /// Plain text.
    title: &'a str,
    commune: Option<&'a Commune<'a>>,
    /// The commune page itself: links its manifest, and names the commune without a link.
    home: bool,
    /// Loads `push.js`.
    push: bool,
}

/// The frame of every page: head, skip link, header, `main` and footer.
fn layout(page: &Layout<'_>, main: Markup) -> String {
    let theme = page.commune.map_or(DEFAULT_BRAND, brand);
    html! {
        (DOCTYPE)
        html lang="fr" data-theme="light" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) }
                link rel="stylesheet" href=(asset_url("pico.min.css"));
                link rel="stylesheet" href=(asset_url("site.css"));
                @if let Some(style) = page.commune.and_then(brand_style) {
                    // Not escaped: built from a parsed colour, and allowed by the hash of these
                    // very bytes (`content_security_policy`).
                    style { (PreEscaped(style)) }
                }
                meta name="theme-color" content=(theme);
                link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
                link rel="apple-touch-icon" href="/assets/icon-192.png";
                @if let (true, Some(commune)) = (page.home, page.commune) {
                    link rel="manifest" href={ "/c/" (commune.slug) "/manifest.webmanifest" };
                }
                @if page.push {
                    script src=(asset_url("push.js")) defer {}
                }
            }
            body {
                a class="skip-link" href="#contenu" { "Aller au contenu" }
                header class="container site-header" {
                    @match page.commune {
                        Some(commune) => (commune_header(commune, page.home)),
                        None => p { "Service d’alerte" },
                    }
                }
                main id="contenu" class="container" { (main) }
                // A page of no commune has nothing to say in a footer, and an empty landmark is
                // noise.
                @if let Some(commune) = page.commune {
                    footer class="container" { (commune_footer(commune)) }
                }
            }
        }
    }
    .into_string()
}

fn commune_header(commune: &Commune<'_>, home: bool) -> Markup {
    html! {
        @if commune.has_logo {
            img src={ "/c/" (commune.slug) "/logo" } alt={ "Logo de " (commune.name) };
        }
        @if home {
            p { (commune.name) }
        } @else {
            p { a href={ "/c/" (commune.slug) } { (commune.name) } }
        }
    }
}

fn commune_footer(commune: &Commune<'_>) -> Markup {
    let name = commune.name;
    html! {
        p { "Service d’alerte de " (name) }
        p {
            small {
                "Vos coordonnées servent uniquement à vous envoyer les alertes de " (name)
                ". Elles sont supprimées lorsque vous vous désinscrivez."
            }
        }
    }
}

/// A paragraph with a link to the commune page, after `lead` and the commune's name.
fn back_link(commune: &Commune<'_>, lead: &str) -> Markup {
    html! {
        p { a href={ "/c/" (commune.slug) } { (lead) " " (commune.name) } }
    }
}

/// Plain text as paragraphs: a blank line starts a new one, a line break stays one.
fn paragraphs(text: &str) -> Markup {
    let text = text.replace("\r\n", "\n");
    let paragraphs = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    html! {
        @for paragraph in paragraphs {
            p {
                @for (n, line) in paragraph.lines().enumerate() {
                    // The text keeps its line break too (`textContent`, reader modes).
                    @if n > 0 { br; "\n" }
                    (line)
                }
            }
        }
    }
}

/// The commune colour if it is valid and readable, else the default.
fn brand(commune: &Commune<'_>) -> Colour {
    commune
        .colour
        .and_then(|c| check_brand_colour(c).ok())
        .unwrap_or(DEFAULT_BRAND)
}

/// The content of the `<style>` element that gives the page the commune colour, when it has
/// one. Built only from a parsed [`Colour`], so nothing from outside reaches the style sheet.
fn brand_style(commune: &Commune<'_>) -> Option<String> {
    let colour = commune.colour.and_then(|c| check_brand_colour(c).ok())?;
    Some(format!(
        ":root{{--brand:{colour};--brand-hover:{}}}",
        colour.darken(0.2)
    ))
}

#[cfg(test)]
mod tests;
