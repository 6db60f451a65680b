//! The pages' accessibility and safety promises, checked on the rendered HTML.

use std::collections::{HashMap, HashSet};

use super::*;

pub(super) const SAINT_MARTIN: Commune<'static> = Commune {
    slug: "saint-martin",
    name: "Saint-Martin",
    colour: Some("#005a9c"),
    has_logo: true,
};

pub(super) const TOPICS: &[Topic<'static>] = &[
    Topic {
        slug: "crues",
        name: "Crues",
        by_default: true,
    },
    Topic {
        slug: "travaux",
        name: "Travaux",
        by_default: false,
    },
];

pub(super) fn page<'a>() -> CommunePage<'a> {
    CommunePage {
        commune: SAINT_MARTIN,
        topics: TOPICS,
        vapid_public_key: Some("BKey-_1"),
        phone_step: PhoneStep::AskNumber,
        errors: &[],
        notice: None,
        values: FormValues::default(),
        form: None,
        form_token: "0123abcd",
    }
}

/// Every page kind, for the checks that hold on all of them.
fn all_pages() -> Vec<String> {
    let errors = [Field {
        name: "email",
        message: "Adresse invalide.",
    }];
    vec![
        commune_page(&page()),
        commune_page(&CommunePage {
            errors: &errors,
            vapid_public_key: None,
            ..page()
        }),
        commune_page(&CommunePage {
            phone_step: PhoneStep::AskCode {
                phone: "06 12 34 56 78",
            },
            notice: Some(Notice::Success("Code envoyé.")),
            ..page()
        }),
        alert_page(&AlertPage {
            commune: SAINT_MARTIN,
            subject: "Crue",
            text: "Montez à l’étage.",
            sent_at: "lundi 30 novembre 2026 à 19:00",
            urgent: true,
            expired: true,
            acknowledgement: None,
        }),
        message_page(&MessagePage {
            commune: SAINT_MARTIN,
            title: "Confirmer votre inscription",
            text: "Un clic suffit.",
            action: Some(FormAction {
                url: "/c/saint-martin/email/confirm",
                button: "Confirmer",
                hidden: &[("token", "t")],
            }),
        }),
        not_found_page(),
    ]
}

/// The attributes of each `<{name} …>` tag, in order. Enough for our own output: attribute
/// values are always double-quoted and escaped.
pub(super) fn tags(html: &str, name: &str) -> Vec<HashMap<String, String>> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    for (at, _) in html.match_indices(&open) {
        let rest = &html[at + open.len()..];
        if !rest.starts_with([' ', '>']) {
            continue;
        }
        let body = &rest[..rest.find('>').expect("unclosed tag")];
        let mut attributes = HashMap::new();
        let mut chars = body.trim();
        while !chars.is_empty() {
            let end = chars.find([' ', '=']).unwrap_or(chars.len());
            let key = chars[..end].to_owned();
            chars = &chars[end..];
            if let Some(quoted) = chars.strip_prefix("=\"") {
                let close = quoted.find('"').expect("unclosed attribute");
                attributes.insert(key, quoted[..close].to_owned());
                chars = &quoted[close + 1..];
            } else {
                attributes.insert(key, String::new());
            }
            chars = chars.trim_start();
        }
        found.push(attributes);
    }
    found
}

/// The attributes of the `<input>` whose id is `id`.
pub(super) fn input_by_id(html: &str, id: &str) -> HashMap<String, String> {
    tags(html, "input")
        .into_iter()
        .find(|i| i.get("id").is_some_and(|v| v == id))
        .unwrap_or_else(|| panic!("no input {id}"))
}

pub(super) fn ids(html: &str) -> Vec<String> {
    html.match_indices(" id=\"")
        .map(|(at, _)| {
            let rest = &html[at + 5..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn every_page_is_french_with_landmarks_a_skip_link_and_ordered_headings() {
    for html in all_pages() {
        assert!(
            html.starts_with("<!DOCTYPE html><html lang=\"fr\""),
            "{html}"
        );
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            )
        );
        for landmark in ["<header", "<main id=\"contenu\""] {
            assert_eq!(html.matches(landmark).count(), 1, "{landmark}");
        }
        // A footer on every page of a commune.
        assert_eq!(
            html.matches("<footer").count(),
            usize::from(html.contains("/c/"))
        );
        assert!(html.contains("<a class=\"skip-link\" href=\"#contenu\">"));
        assert_eq!(html.matches("<h1").count(), 1);
        // No level is skipped on the way down.
        let mut level = 0;
        for (at, _) in html.match_indices("<h") {
            if let Some(n) = html[at + 2..].chars().next().and_then(|c| c.to_digit(10)) {
                assert!(n <= level + 1, "h{n} after h{level}");
                level = n;
            }
        }
        // Blocks are closed.
        for tag in [
            "section", "form", "fieldset", "label", "div", "ul", "p", "noscript",
        ] {
            let opened = tags(&html, tag).len();
            assert_eq!(
                opened,
                html.matches(&format!("</{tag}>")).count(),
                "<{tag}> in {html}"
            );
        }
        let all = ids(&html);
        assert_eq!(
            all.len(),
            all.iter().collect::<HashSet<_>>().len(),
            "duplicate id"
        );
        assert!(html.contains("/assets/pico.min.css?v=") && html.contains("/assets/site.css?v="));
        assert!(html.contains("<meta name=\"theme-color\""));
        assert!(html.contains("<link rel=\"apple-touch-icon\" href=\"/assets/icon-192.png\">"));
        assert!(!html.contains(" style="), "inline style attribute");
    }
}

#[test]
fn every_field_has_a_label_whose_for_matches_its_id() {
    for html in all_pages() {
        let labels: HashSet<String> = tags(&html, "label")
            .into_iter()
            .filter_map(|l| l.get("for").cloned())
            .collect();
        let ids: HashSet<String> = ids(&html).into_iter().collect();
        for input in tags(&html, "input") {
            if input["type"] == "hidden" {
                continue;
            }
            let id = input.get("id").expect("input without id");
            assert!(labels.contains(id), "no label for {id}");
        }
        for target in &labels {
            assert!(ids.contains(target), "label for missing {target}");
        }
        // Whatever the fields describe themselves with exists.
        for input in tags(&html, "input")
            .into_iter()
            .chain(tags(&html, "fieldset"))
        {
            for id in input
                .get("aria-describedby")
                .into_iter()
                .flat_map(|d| d.split(' '))
            {
                assert!(ids.contains(id), "aria-describedby to missing {id}");
            }
        }
    }
}

/// No page sends the browser to another host: no CDN, no font, no tracker. (The static files
/// are checked in `assets`.)
#[test]
fn pages_name_no_other_host() {
    for html in all_pages() {
        assert!(!html.contains("http://") && !html.contains("https://"));
        for attribute in ["src", "href", "action"] {
            for (at, _) in html.match_indices(&format!(" {attribute}=\"")) {
                let value = &html[at + attribute.len() + 3..];
                assert!(
                    value.starts_with('/') || value.starts_with('#'),
                    "{attribute} {value:.40}"
                );
                assert!(!value.starts_with("//"), "protocol-relative {value:.40}");
            }
        }
    }
}

#[test]
fn everything_from_outside_is_escaped() {
    let evil = Commune {
        slug: "x",
        name: "<script>alert(1)</script>",
        colour: None,
        has_logo: true,
    };
    let topics = [Topic {
        slug: "a\"b",
        name: "<i>",
        by_default: true,
    }];
    let errors = [Field {
        name: "email",
        message: "<img src=x onerror=alert(1)>",
    }];
    let values = FormValues {
        email: "\"><script>",
        ..FormValues::default()
    };
    let pages = [
        commune_page(&CommunePage {
            commune: evil,
            topics: &topics,
            vapid_public_key: Some("\"><script>"),
            phone_step: PhoneStep::AskCode {
                phone: "\"><script>",
            },
            errors: &errors,
            notice: Some(Notice::Info("<script>")),
            values,
            form: Some(Form::Email),
            form_token: "\"><script>",
        }),
        alert_page(&AlertPage {
            commune: evil,
            subject: "<script>",
            text: "a <script>\nb",
            sent_at: "<script>",
            urgent: false,
            expired: false,
            acknowledgement: None,
        }),
        message_page(&MessagePage {
            commune: evil,
            title: "<script>",
            text: "<script>",
            action: Some(FormAction {
                url: "/\"><script>",
                button: "<script>",
                hidden: &[("<script>", "\"><script>")],
            }),
        }),
    ];
    for html in &pages {
        assert!(
            !html.contains("<script>") && !html.contains("<i>") && !html.contains("<img src=x")
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
    assert!(pages[0].contains("alt=\"Logo de &lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(pages[0].contains("value=\"a&quot;b\""));
}

#[test]
fn the_commune_colour_is_a_checked_style_allowed_by_its_hash() {
    let html = commune_page(&page());
    let style = ":root{--brand:#005a9c;--brand-hover:#00487d}";
    assert!(html.contains(&format!("<style>{style}</style>")));
    assert!(html.contains("<meta name=\"theme-color\" content=\"#005a9c\">"));
    let csp = content_security_policy(Some(&SAINT_MARTIN));
    let hash = BASE64.encode(Sha256::digest(style.as_bytes()));
    assert!(
        csp.contains(&format!("style-src 'self' 'sha256-{hash}';")),
        "{csp}"
    );
    assert!(csp.starts_with("default-src 'self';") && csp.contains("script-src 'self';"));

    // A colour that does not parse, or reads badly on white, never reaches the page.
    for colour in ["red;}body{display:none", "#ffcc00"] {
        let commune = Commune {
            colour: Some(colour),
            ..SAINT_MARTIN
        };
        let html = commune_page(&CommunePage { commune, ..page() });
        assert!(!html.contains("<style>") && !html.contains(colour));
        assert!(html.contains("<meta name=\"theme-color\" content=\"#1f4e79\">"));
        assert!(!content_security_policy(Some(&commune)).contains("sha256"));
    }
    assert!(!not_found_page().contains("<style>"));
    assert!(!content_security_policy(None).contains("sha256"));
}

#[test]
fn the_manifest_starts_inside_its_scope() {
    let manifest: serde_json::Value = serde_json::from_str(&manifest(&SAINT_MARTIN)).unwrap();
    let start = manifest["start_url"].as_str().unwrap();
    let scope = manifest["scope"].as_str().unwrap();
    assert_eq!(start, "/c/saint-martin");
    assert!(start.starts_with(scope), "{start} outside {scope}");
    assert_eq!(manifest["name"], "Alertes – Saint-Martin");
    assert_eq!(manifest["short_name"], "Saint-Martin");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["lang"], "fr");
    assert_eq!(manifest["theme_color"], "#005a9c");
    let icons = manifest["icons"].as_array().unwrap();
    assert_eq!(icons[0]["src"], "/assets/icon-192.png");
    assert_eq!(icons[1]["sizes"], "512x512");
    assert!(
        icons
            .iter()
            .all(|icon| icon["purpose"] == "any" && icon["type"] == "image/png")
    );

    let plain = Commune {
        colour: None,
        name: "Le \"Bourg\"",
        ..SAINT_MARTIN
    };
    let manifest: serde_json::Value = serde_json::from_str(&super::manifest(&plain)).unwrap();
    assert_eq!(manifest["theme_color"], "#1f4e79");
    assert_eq!(manifest["name"], "Alertes – Le \"Bourg\"");
}

#[test]
fn an_alert_shows_its_urgency_date_and_end() {
    let alert = AlertPage {
        commune: SAINT_MARTIN,
        subject: "Crue de la Garonne",
        text: "Montez à l’étage.\nCoupez le gaz.\r\n\r\nÉcoutez la radio.",
        sent_at: "lundi 30 novembre 2026 à 19:00",
        urgent: true,
        expired: false,
        acknowledgement: None,
    };
    let html = alert_page(&alert);
    assert!(html.contains("<title>Crue de la Garonne – Alertes de Saint-Martin</title>"));
    assert!(html.contains(
        "<h1>Crue de la Garonne</h1><p><strong class=\"urgent\">Alerte urgente</strong></p>"
    ));
    assert!(html.contains("<p>Envoyée par Saint-Martin le lundi 30 novembre 2026 à 19:00.</p>"));
    assert!(html.contains("<p>Montez à l’étage.<br>\nCoupez le gaz.</p><p>Écoutez la radio.</p>"));
    assert!(!html.contains("terminée"));
    assert!(html.contains("<a href=\"/c/saint-martin\">Recevoir les alertes de Saint-Martin</a>"));
    assert!(!html.contains("rel=\"manifest\"") && !html.contains("<script"));

    let html = alert_page(&AlertPage {
        urgent: false,
        expired: true,
        acknowledgement: None,
        subject: " ",
        ..alert
    });
    assert!(!html.contains("Alerte urgente"));
    assert!(html.contains("<h1>Alerte</h1>") && html.contains("Cette alerte est terminée."));
}

#[test]
fn a_message_can_carry_a_confirmation_button() {
    let hidden = [("token", "abc"), ("topics", "crues")];
    let html = message_page(&MessagePage {
        commune: SAINT_MARTIN,
        title: "Confirmer votre inscription",
        text: "Cliquez sur le bouton pour recevoir les alertes par e-mail.",
        action: Some(FormAction {
            url: "/c/saint-martin/email/confirm",
            button: "Confirmer",
            hidden: &hidden,
        }),
    });
    assert!(html.contains("<h1>Confirmer votre inscription</h1>"));
    assert!(html.contains(
        "<form method=\"post\" action=\"/c/saint-martin/email/confirm\">\
         <input type=\"hidden\" name=\"token\" value=\"abc\">\
         <input type=\"hidden\" name=\"topics\" value=\"crues\">\
         <button type=\"submit\">Confirmer</button></form>"
    ));
    let html = message_page(&MessagePage {
        commune: SAINT_MARTIN,
        title: "Inscription confirmée",
        text: "Merci.",
        action: None,
    });
    assert!(!html.contains("<form"));
}

#[test]
fn not_found_names_no_commune() {
    let html = not_found_page();
    assert!(
        html.contains("<title>Page introuvable</title>")
            && html.contains("<h1>Page introuvable</h1>")
    );
    assert!(!html.contains("/c/"));
}
