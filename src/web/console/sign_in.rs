//! The pages before the console: signing in (password, then the second factor), accepting an
//! invitation (choosing a password), setting up the second factor, and the recovery codes shown
//! once.

use maud::{Markup, html};

use super::shell::{Input, Section, csrf_field, error_summary, notice, page, trusted};
use crate::web::pages::Field;

/// `/console/login`.
pub struct LoginPage<'a> {
    pub email: &'a str,
    pub errors: &'a [Field<'a>],
    pub notice: Option<&'a str>,
    pub form_token: &'a str,
    /// The OpenID provider's name ("ProConnect"), when the platform has one.
    pub provider: Option<&'a str>,
}

pub fn login_page(p: &LoginPage<'_>) -> Markup {
    let content = html! {
        h1 { "Se connecter" }
        @if let Some(text) = p.notice { (notice(text, false)) }
        @if let Some(provider) = p.provider {
            p { a role="button" href="/console/oidc/start" { "Se connecter avec " (provider) } }
            p { "Ou avec votre adresse e-mail et votre mot de passe :" }
        }
        (error_summary(p.errors))
        form method="post" action="/console/login" novalidate {
            (csrf_field(p.form_token))
            (Input { kind: "email", value: p.email, autocomplete: Some("username"),
                     ..Input::new("email", "Adresse e-mail") }.render(p.errors))
            (Input { kind: "password", autocomplete: Some("current-password"),
                     ..Input::new("password", "Mot de passe") }.render(p.errors))
            button type="submit" { "Continuer" }
        }
        p { "Mot de passe oublié ou téléphone perdu ? L'administrateur de votre commune vous envoie un nouveau lien d'invitation." }
    };
    page("Se connecter", Section::None, None, content)
}

/// `/console/login/code`: the TOTP code, or a recovery code.
pub fn code_page(errors: &[Field<'_>], csrf: &str) -> Markup {
    let content = html! {
        h1 { "Code de vérification" }
        (error_summary(errors))
        form method="post" action="/console/login/code" novalidate {
            (csrf_field(csrf))
            (Input { autocomplete: Some("one-time-code"), inputmode: Some("numeric"),
                     hint: Some("Les 6 chiffres affichés par votre application d'authentification, ou l'un de vos codes de secours."),
                     ..Input::new("code", "Code") }.render(errors))
            button type="submit" { "Se connecter" }
        }
    };
    page("Code de vérification", Section::None, None, content)
}

/// `/console/invitation/{token}`: choosing a password.
pub struct InvitationPage<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub commune: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub errors: &'a [Field<'a>],
    pub form_token: &'a str,
}

pub fn invitation_page(p: &InvitationPage<'_>) -> Markup {
    let content = html! {
        h1 { "Bienvenue, " (p.name) }
        p { "Vous êtes invité·e à la console d'alerte de " strong { (p.commune) }
            " comme " (p.role) ". Choisissez votre mot de passe." }
        (error_summary(p.errors))
        form method="post" action=(p.action) novalidate {
            (csrf_field(p.form_token))
            // For password managers: the account the password belongs to.
            input type="hidden" name="username" value=(p.email) autocomplete="username";
            (Input { kind: "password", autocomplete: Some("new-password"),
                     hint: Some("Au moins 12 caractères. Une phrase de plusieurs mots se retient mieux qu'un mot compliqué."),
                     ..Input::new("password", "Mot de passe") }.render(p.errors))
            (Input { kind: "password", autocomplete: Some("new-password"),
                     ..Input::new("confirmation", "Le même mot de passe, une seconde fois") }.render(p.errors))
            button type="submit" { "Enregistrer mon mot de passe" }
        }
    };
    page("Invitation", Section::None, None, content)
}

/// An invitation link that no longer opens.
pub fn invitation_gone() -> Markup {
    let content = html! {
        h1 { "Ce lien n'est plus valable" }
        p { "Un lien d'invitation sert une seule fois et pendant 72 heures. Demandez-en un nouveau à l'administrateur de votre commune." }
        p { a href="/console/login" { "Se connecter" } }
    };
    page("Lien expiré", Section::None, None, content)
}

/// `/console/second-factor`: setting up TOTP.
pub struct EnrolPage<'a> {
    /// The QR code of the `otpauth://` URI, as SVG made here.
    pub qr_svg: String,
    /// The secret in groups of 4, to type by hand.
    pub secret: &'a str,
    /// The secret as the form sends it back, and its MAC.
    pub sealed: &'a str,
    pub errors: &'a [Field<'a>],
    pub csrf: &'a str,
}

pub fn enrol_page(p: EnrolPage<'_>) -> Markup {
    let content = html! {
        h1 { "Sécuriser votre compte" }
        p { "Votre rôle permet d'envoyer des alertes : une deuxième vérification est demandée à chaque connexion. Installez une application d'authentification sur votre téléphone (par exemple FreeOTP, Aegis ou celle de votre choix), puis :" }
        ol {
            li { "scannez ce code avec l'application ;" }
            li { "ou saisissez-y cette clé : " code.secret { (p.secret) } " ;" }
            li { "tapez ci-dessous les 6 chiffres qu'elle affiche." }
        }
        figure.qr {
            (trusted(p.qr_svg))
            figcaption { "Code QR de la clé de votre compte" }
        }
        (error_summary(p.errors))
        form method="post" action="/console/second-factor" novalidate {
            (csrf_field(p.csrf))
            input type="hidden" name="secret" value=(p.sealed);
            (Input { autocomplete: Some("one-time-code"), inputmode: Some("numeric"),
                     ..Input::new("code", "Code à 6 chiffres") }.render(p.errors))
            button type="submit" { "Vérifier et continuer" }
        }
    };
    page("Deuxième vérification", Section::None, None, content)
}

/// The recovery codes, shown once after the second factor is set up.
pub fn recovery_codes_page(codes: &[String]) -> Markup {
    let content = html! {
        h1 { "Vos codes de secours" }
        p { "Si vous perdez votre téléphone, chacun de ces codes remplace une fois le code de l'application. Notez-les ou imprimez-les et gardez-les à l'abri : ils ne seront plus jamais affichés." }
        ul.recovery-codes {
            @for code in codes { li { code { (code) } } }
        }
        p { a role="button" href="/console" { "J'ai noté mes codes, continuer" } }
    };
    page("Codes de secours", Section::None, None, content)
}
