//! The subscription page: its forms, its errors, its steps, and push only when offered.

use super::super::tests::{input_by_id, page, tags};
use super::super::*;

#[test]
fn subscription_forms_post_the_expected_fields() {
    let html = commune_page(&page());
    let forms: Vec<String> = tags(&html, "form")
        .iter()
        .map(|f| f["action"].clone())
        .collect();
    assert_eq!(
        forms,
        [
            "/c/saint-martin/phone",
            "/c/saint-martin/email",
            "/c/saint-martin/leave"
        ]
    );
    assert!(tags(&html, "form").iter().all(|f| f["method"] == "post"));

    let by_id = |id: &str| input_by_id(&html, id);
    let phone = by_id("sms-phone");
    assert_eq!(
        (phone["name"].as_str(), phone["type"].as_str()),
        ("phone", "tel")
    );
    assert_eq!(phone["autocomplete"], "tel");
    assert_eq!(phone["aria-describedby"], "sms-phone-hint");
    assert!(html.contains("Un code de confirmation vous sera envoyé par SMS."));
    assert!(!phone.contains_key("aria-invalid"));
    let email = by_id("email-address");
    assert_eq!(
        (email["name"].as_str(), email["type"].as_str()),
        ("email", "email")
    );
    assert_eq!(email["autocomplete"], "email");
    assert!(html.contains("48\u{a0}h"));
    assert_eq!(by_id("leave-email")["name"], "email");

    // Default topics come checked, in each of the three groups.
    for prefix in ["sms-topics", "email-topics", "push-topics"] {
        let crues = by_id(&format!("{prefix}-crues"));
        assert_eq!(
            (crues["name"].as_str(), crues["value"].as_str()),
            ("topics", "crues")
        );
        assert!(crues.contains_key("checked"));
        assert!(!by_id(&format!("{prefix}-travaux")).contains_key("checked"));
    }
    for button in [
        "Recevoir un code",
        "S’inscrire",
        "Recevoir le lien de désinscription",
    ] {
        assert!(
            html.contains(&format!("<button type=\"submit\">{button}</button>")),
            "{button}"
        );
    }
    assert!(html.contains("Répondez STOP"));
    assert!(html.contains("<footer class=\"container\"><p>Service d’alerte de Saint-Martin</p>"));
    assert!(html.contains("<img src=\"/c/saint-martin/logo\" alt=\"Logo de Saint-Martin\">"));
    assert!(html.contains("<link rel=\"manifest\" href=\"/c/saint-martin/manifest.webmanifest\">"));
}

#[test]
fn errors_are_summarised_announced_and_tied_to_their_fields() {
    let errors = [
        Field {
            name: "email",
            message: "Cette adresse e-mail n’est pas valide.",
        },
        Field {
            name: "topics",
            message: "Choisissez au moins un thème.",
        },
        Field {
            name: "",
            message: "Trop de demandes. Réessayez dans une heure.",
        },
    ];
    let values = FormValues {
        email: "jean@",
        topics: &["travaux"],
        ..FormValues::default()
    };
    let html = commune_page(&CommunePage {
        errors: &errors,
        values,
        form: Some(Form::Email),
        ..page()
    });

    assert!(html.contains("<title>Erreur\u{a0}: alertes de Saint-Martin</title>"));
    let summary = &tags(&html, "div")[0];
    assert_eq!(summary["class"], "error-summary");
    assert_eq!(summary["role"], "alert");
    assert!(html.contains("<h2 id=\"erreurs-titre\">Le formulaire contient 3 erreurs</h2>"));
    assert!(html.contains(
        "<li><a href=\"#email-address\">Cette adresse e-mail n’est pas valide.</a></li>"
    ));
    assert!(
        html.contains("<li><a href=\"#email-topics-crues\">Choisissez au moins un thème.</a></li>")
    );
    assert!(html.contains("<li>Trop de demandes. Réessayez dans une heure.</li>"));
    // The summary comes before the first form.
    assert!(html.find("error-summary").unwrap() < html.find("<form").unwrap());

    let by_id = |id: &str| input_by_id(&html, id);
    let email = by_id("email-address");
    assert_eq!(email["aria-invalid"], "true");
    assert_eq!(
        email["aria-describedby"],
        "email-address-error email-address-hint"
    );
    assert_eq!(email["value"], "jean@");
    assert!(html.contains(
        "<p class=\"field-error\" id=\"email-address-error\">Erreur\u{a0}: Cette adresse"
    ));
    let travaux = by_id("email-topics-travaux");
    assert_eq!(travaux["aria-invalid"], "true");
    assert_eq!(travaux["aria-describedby"], "email-topics-error");
    assert!(travaux.contains_key("checked"));
    assert!(
        !by_id("email-topics-crues").contains_key("checked"),
        "typed choice wins"
    );

    // The other forms keep their defaults and show no error.
    let leave = by_id("leave-email");
    assert!(!leave.contains_key("aria-invalid"));
    assert_eq!(leave["value"], "");
    assert!(!by_id("sms-phone").contains_key("aria-invalid"));
    assert!(by_id("sms-topics-crues").contains_key("checked"));
}

#[test]
fn an_error_without_a_named_form_goes_to_its_fields_form() {
    let errors = [Field {
        name: "phone",
        message: "Ce numéro n’est pas un mobile.",
    }];
    let values = FormValues {
        phone: "01 23",
        email: "x@example.org",
        ..FormValues::default()
    };
    let html = commune_page(&CommunePage {
        errors: &errors,
        values,
        ..page()
    });
    assert!(html.contains("<a href=\"#sms-phone\">"));
    let phone = input_by_id(&html, "sms-phone");
    assert_eq!(
        (phone["value"].as_str(), phone["aria-invalid"].as_str()),
        ("01 23", "true")
    );
    assert!(
        !html.contains("x@example.org"),
        "values belong to the phone form only"
    );

    let html = commune_page(&page());
    assert!(!html.contains("role=\"alert\"") && !html.contains("aria-invalid"));
}

#[test]
fn asking_for_the_code_replaces_the_number_form() {
    let errors = [Field {
        name: "code",
        message: "Ce code n’est pas le bon.",
    }];
    let html = commune_page(&CommunePage {
        phone_step: PhoneStep::AskCode {
            phone: "06 12 34 56 78",
        },
        errors: &errors,
        values: FormValues {
            code: "12345",
            ..FormValues::default()
        },
        ..page()
    });
    assert!(!html.contains("action=\"/c/saint-martin/phone\""));
    assert!(html.contains("<form method=\"post\" action=\"/c/saint-martin/phone/confirm\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"phone\" value=\"06 12 34 56 78\">"));
    let code = input_by_id(&html, "sms-code");
    assert_eq!(code["name"], "code");
    assert_eq!(code["inputmode"], "numeric");
    assert_eq!(code["autocomplete"], "one-time-code");
    assert_eq!(
        (code["value"].as_str(), code["aria-invalid"].as_str()),
        ("12345", "true")
    );
    assert!(html.contains("<a href=\"#sms-code\">Ce code n’est pas le bon.</a>"));
    assert!(html.contains("<button type=\"submit\">Confirmer</button>"));
}

#[test]
fn notices_are_status_messages() {
    let html = commune_page(&CommunePage {
        notice: Some(Notice::Success("C’est fait.")),
        ..page()
    });
    assert!(
        html.contains(
            "<div class=\"notice notice-success\" role=\"status\"><p>C’est fait.</p></div>"
        )
    );
    let html = commune_page(&CommunePage {
        notice: Some(Notice::Info("<b>")),
        ..page()
    });
    assert!(html.contains("<div class=\"notice\" role=\"status\"><p>&lt;b&gt;</p></div>"));
}

#[test]
fn push_is_offered_only_with_a_vapid_key() {
    let html = commune_page(&page());
    let push = &tags(&html, "section")
        .into_iter()
        .find(|s| s["id"] == "push")
        .unwrap();
    assert_eq!(push["data-vapid-key"], "BKey-_1");
    assert_eq!(push["data-push-url"], "/c/saint-martin/push");
    assert_eq!(push["data-sw-url"], "/c/saint-martin/sw.js");
    assert_eq!(push["data-sw-scope"], "/c/saint-martin/");
    assert!(html.contains("<button type=\"button\" id=\"push-subscribe\">"));
    assert!(html.contains("id=\"push-unsubscribe\""));
    assert!(html.contains("<p id=\"push-status\" role=\"status\" aria-live=\"polite\"></p>"));
    assert!(html.contains("<noscript>") && html.contains("«\u{a0}Sur l’écran d’accueil\u{a0}»"));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        html.contains("<script src=\"/assets/push.js?v=") && html.contains("\" defer></script>")
    );

    let html = commune_page(&CommunePage {
        vapid_public_key: None,
        ..page()
    });
    for absent in [
        "id=\"push\"",
        "push-subscribe",
        "<script",
        "<noscript",
        "dans ce navigateur",
    ] {
        assert!(!html.contains(absent), "{absent}");
    }
}

/// A text field and a submit button right after it are both inline: the white space between
/// them is a space in the form's text (`innerText`). The move to maud, which writes no white
/// space of its own, nearly dropped it.
#[test]
fn a_field_and_the_button_after_it_stay_apart() {
    let html = commune_page(&CommunePage {
        topics: &[],
        ..page()
    });
    for button in [
        "Recevoir un code",
        "S’inscrire",
        "Recevoir le lien de désinscription",
    ] {
        let at = html.find(&format!("<button type=\"submit\">{button}<"));
        let before = &html[..at.unwrap()];
        let field = &before[before.rfind("<input").unwrap()..];
        assert!(field.ends_with(">\n"), "{button} after {field}");
    }
}
