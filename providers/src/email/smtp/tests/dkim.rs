//! One-click unsubscription (RFC 8058) and DKIM signatures (RFC 6376) on what `build` makes
//! and the adapter sends, checked by an independent verifier: Python's dkimpy
//! (`python3 -m pip install dkimpy`). Without it the verifying tests say so and pass, unless
//! `TOCSIN_REQUIRE_DKIMPY` is set.

use std::{
    io::Write,
    process::{Command, Stdio},
    sync::Once,
};

use super::{TO, client, relay};
use crate::{
    Message, Outcome, Provider, RetryClass,
    email::{DkimKey, dkim::tests::test_key, smtp::SmtpError},
};

const COMMUNE: &str = "Mairie de Bras-sur-Meuse <alertes@bras-sur-meuse.fr>";
const UNSUBSCRIBE: &str = "https://alertes.bras-sur-meuse.fr/u/sub_01J9ZK3Q?t=Zm9v-YmFy_YmF6";
const FOOTER: &str = "\r\n\r\n-- \r\nVous recevez ce message parce que vous êtes inscrit aux \
                      alertes de votre commune.\r\nPour vous désinscrire : ";

/// Asks dkimpy whether `raw` carries a valid signature, answering DNS with `key`'s record
/// (and nothing for any other name). `None` when there is no verifier to ask.
fn dkimpy(raw: &[u8], key: &DkimKey) -> Option<Result<(), String>> {
    dkimpy_with(raw, key.dns_record())
}

/// The same, answering DNS with the record `(name, value)`.
fn dkimpy_with(raw: &[u8], (name, record): (String, String)) -> Option<Result<(), String>> {
    const SCRIPT: &str = r#"
import io, logging, sys
try:
    import dkim
except ImportError as error:
    print(error, file=sys.stderr)
    sys.exit(3)
name, record = sys.argv[1].encode(), sys.argv[2].encode()
def dns(qname, timeout=5):
    return record if qname.rstrip(b".").lower() == name else None
log = io.StringIO()
logger = logging.getLogger("dkim")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.DEBUG)
if dkim.verify(sys.stdin.buffer.read(), logger=logger, dnsfunc=dns):
    sys.exit(0)
print(log.getvalue() or "signature invalid", file=sys.stderr)
sys.exit(1)
"#;
    let absent = |why: String| {
        let required = std::env::var_os("TOCSIN_REQUIRE_DKIMPY").is_some();
        assert!(!required, "TOCSIN_REQUIRE_DKIMPY is set but {why}");
        // Once, and straight to stderr, past the test harness's capture, so that a skip shows.
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED every DKIM check with dkimpy: {why} (python3 -m pip install dkimpy)"
            );
        });
        None
    };
    let spawned = Command::new("python3")
        .args(["-c", SCRIPT, &name, &record])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return absent(format!("python3 cannot run: {error}")),
    };
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(0) => Some(Ok(())),
        Some(3) => absent(format!("dkimpy is not installed ({})", stderr.trim())),
        _ => Some(Err(stderr)),
    }
}

/// Panics unless dkimpy (when there is one) accepts the signature.
fn assert_verifies(raw: &[u8], key: &DkimKey, case: &str) {
    if let Some(Err(why)) = dkimpy(raw, key) {
        panic!(
            "{case}: dkimpy refused the signature: {why}\n{}",
            String::from_utf8_lossy(raw)
        );
    }
}

fn message<'a>(subject: &'a str, text: &'a str) -> Message<'a> {
    Message {
        reference: "dlv_42",
        to: TO,
        subject,
        text,
        from: Some(COMMUNE),
        ..Default::default()
    }
}

/// The header lines of a raw message, unfolded: `(name, value)`.
fn headers(raw: &str) -> Vec<(String, String)> {
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (name, value) = line.split_once(": ").unwrap();
            out.push((name.to_owned(), value.to_owned()));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let value = found.next().map(|(_, v)| v.as_str());
    assert!(found.next().is_none(), "{name} twice");
    value
}

/// The body of a raw message, its quoted-printable (RFC 2045 §6.7) decoded.
fn body_text(raw: &str) -> String {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    if !head.contains("Content-Transfer-Encoding: quoted-printable") {
        return body.to_owned();
    }
    let mut bytes = Vec::new();
    let mut rest = body.replace("=\r\n", "").into_bytes().into_iter();
    while let Some(b) = rest.next() {
        if b == b'=' {
            let hex = [rest.next().unwrap(), rest.next().unwrap()];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn without_unsubscribe_or_dkim_the_message_is_as_before() {
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let email = smtp
        .build(&Message {
            reference: "dlv_42",
            to: TO,
            subject: "Alerte crue : évacuez",
            text: "Rendez-vous au gymnase.\nMairie",
            ..Default::default()
        })
        .unwrap();
    let raw = String::from_utf8(email.formatted()).unwrap();
    let names: Vec<String> = headers(&raw).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "From",
            "To",
            "Subject",
            "Message-ID",
            "Content-Type",
            "X-Tocsin-Reference",
            "Content-Transfer-Encoding",
            "Date"
        ]
    );
    assert!(raw.starts_with(&format!(
        "From: \"Mairie de Exemple\" <alertes@exemple.fr>\r\nTo: {TO}\r\nSubject: Alerte crue : \
         =?utf-8?b?w6l2YWN1ZXo=?=\r\nMessage-ID: <dlv_42."
    )));
    assert!(raw.contains("\r\nContent-Transfer-Encoding: 7bit\r\nDate: "));
    assert!(
        raw.ends_with("\r\n\r\nRendez-vous au gymnase.\r\nMairie"),
        "{raw}"
    );
}

#[test]
fn an_unsubscribe_url_gives_one_click_headers_and_a_footer() {
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let text = "Coupure d'eau demain de 8 h à 12 h.\n";
    let email = smtp
        .build(&Message {
            unsubscribe: Some(UNSUBSCRIBE),
            ..message("Coupure d'eau", text)
        })
        .unwrap();
    let raw = String::from_utf8(email.formatted()).unwrap();
    let headers = headers(&raw);
    assert_eq!(
        header(&headers, "List-Unsubscribe"),
        Some(format!("<{UNSUBSCRIBE}>").as_str())
    );
    assert_eq!(
        header(&headers, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(raw.contains(&format!("\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n")));
    assert_eq!(header(&headers, "DKIM-Signature"), None);
    assert_eq!(
        body_text(&raw),
        format!("Coupure d'eau demain de 8 h à 12 h.{FOOTER}{UNSUBSCRIBE}")
    );
}

#[tokio::test]
async fn an_unsubscribe_url_that_could_inject_a_header_is_refused_before_any_connection() {
    let relay = relay::relay(relay::ACCEPT_ALL).await;
    let smtp = client(&relay.url, |_| {});
    let long = format!("https://exemple.fr/{}", "u".repeat(900));
    for url in [
        "https://exemple.fr/u/1\r\nBcc: victime@exemple.org",
        "https://exemple.fr/u/1\nBcc: victime@exemple.org",
        "https://exemple.fr/u/1\r",
        "https://exemple.fr/u/1>, <https://ailleurs.example/",
        "https://exemple.fr/u/1 2",
        "https://exemple.fr/désinscription",
        "javascript:alert(1)",
        "mailto:desinscription@exemple.fr",
        "ftp://exemple.fr/u/1",
        "/u/1",
        "",
        &long,
    ] {
        let outgoing = Message {
            unsubscribe: Some(url),
            ..message("s", "t")
        };
        assert_eq!(
            smtp.build(&outgoing).unwrap_err(),
            SmtpError::InvalidUnsubscribe,
            "{url:?}"
        );
        let outcome = Provider::send(&smtp, outgoing).await;
        let Outcome::Failed { class, reason } = outcome else {
            panic!("{url:?}: {outcome:?}");
        };
        assert_eq!(class, RetryClass::Permanent);
        assert_eq!(
            reason,
            "unsubscribe URL is not an http(s) URL of visible ASCII, at most 900 characters"
        );
    }
    assert_eq!(
        relay.connections.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[test]
fn signed_messages_verify_whatever_their_body_and_headers() {
    let key = test_key();
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let long_line = "Les habitants des quais, des rues basses et du lotissement des Saules \
                     doivent rejoindre le gymnase municipal avant 18 h, munis de leurs \
                     médicaments et de papiers d'identité.";
    let long_url = format!("{UNSUBSCRIBE}&x={}", "a".repeat(700));
    let cases: [(&str, &str, &str, Option<&str>); 10] = [
        (
            "accents",
            "Alerte crue : évacuez",
            "Rendez-vous au gymnase.\nMairie",
            Some(UNSUBSCRIBE),
        ),
        (
            "accents, no unsubscribe",
            "Crue",
            "Rendez-vous au gymnase, à 18 h.",
            None,
        ),
        (
            "ascii 7bit",
            "Coupure",
            "Coupure d'eau demain.\nMerci.",
            None,
        ),
        // Quoted-printable soft line breaks, and the folded encoded words of a long subject.
        (
            "long lines",
            "Alerte météo : vigilance orange « orages » sur la commune et les communes voisines",
            long_line,
            Some(UNSUBSCRIBE),
        ),
        // Spaces the relaxed canonicalisation folds away or strips, and blank lines at the end.
        (
            "whitespace",
            "Espaces",
            "Avis  à\tla  population   \n\n\tfin \n\n\n",
            None,
        ),
        // A line that SMTP dot-stuffs, and one that mbox would mangle.
        (
            "dots",
            "Points",
            ".\n.. suite\nFrom the mayor\n.",
            Some(UNSUBSCRIBE),
        ),
        ("crlf", "Fin de ligne", "Ligne un\r\nLigne deux\r\n", None),
        // Mostly non-Latin text, which lettre sends as base64.
        (
            "base64",
            "Μήνυμα",
            "Προσοχή: πλημμύρα. ⚠️🌊 Εκκενώστε αμέσως.",
            None,
        ),
        ("long url", "Lien", "Texte", Some(&long_url)),
        // Blank but for the footer: lettre signs a blank body wrongly, the footer saves it.
        ("footer only", "Lien", " \n", Some(UNSUBSCRIBE)),
    ];
    for (case, subject, text, unsubscribe) in cases {
        let outgoing = Message {
            unsubscribe,
            dkim: Some(&key),
            ..message(subject, text)
        };
        let raw = smtp.build(&outgoing).unwrap().formatted();
        let headers = headers(std::str::from_utf8(&raw).unwrap());
        let signature = header(&headers, "DKIM-Signature").unwrap();
        let listed = if unsubscribe.is_some() {
            "from:to:subject:date:message-id:content-type:content-transfer-encoding:\
             list-unsubscribe:list-unsubscribe-post"
        } else {
            "from:to:subject:date:message-id:content-type:content-transfer-encoding"
        };
        assert!(
            signature.contains(&format!(" h={listed};")),
            "{case}: {signature}"
        );
        assert!(
            signature.starts_with("v=1; a=rsa-sha256; d=bras-sur-meuse.fr; s=tocsin2026;")
                && signature.contains(" c=relaxed/relaxed;"),
            "{case}: {signature}"
        );
        // As built, and as a receiving server reads it once the DATA's end is taken off.
        assert_verifies(&raw, &key, case);
        assert_verifies(&[&raw[..], b"\r\n"].concat(), &key, case);
    }
}

#[test]
fn a_signed_message_changed_afterwards_fails_verification() {
    let key = test_key();
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let outgoing = Message {
        unsubscribe: Some(UNSUBSCRIBE),
        dkim: Some(&key),
        ..message("Alerte crue", "Rendez-vous au gymnase.")
    };
    let raw = String::from_utf8(smtp.build(&outgoing).unwrap().formatted()).unwrap();
    if dkimpy(raw.as_bytes(), &key).is_none() {
        return;
    }
    assert_verifies(raw.as_bytes(), &key, "unchanged");
    let changes = [
        ("Subject: Alerte crue", "Subject: Alerte levée"),
        ("gymnase", "stade"),
        (UNSUBSCRIBE, "https://ailleurs.example/u"),
        ("One-Click", "one-click"),
    ];
    for (from, to) in changes {
        assert!(raw.contains(from), "{from}");
        let changed = raw.replacen(from, to, 1);
        assert!(
            matches!(dkimpy(changed.as_bytes(), &key), Some(Err(_))),
            "dkimpy accepted a message whose {from:?} became {to:?}"
        );
    }
    // Nor does a record whose public key differs (one character of the modulus changed), nor
    // the record under another name.
    let (name, record) = key.dns_record();
    let at = record.len() - 60;
    let flipped = if &record[at..=at] == "A" { "B" } else { "A" };
    let other = format!("{}{flipped}{}", &record[..at], &record[at + 1..]);
    assert!(matches!(
        dkimpy_with(raw.as_bytes(), (name.clone(), other)),
        Some(Err(_))
    ));
    let elsewhere = name.replace("tocsin2026", "autre");
    assert!(matches!(
        dkimpy_with(raw.as_bytes(), (elsewhere, record)),
        Some(Err(_))
    ));
}

#[tokio::test]
async fn the_adapter_sends_the_message_it_signed() {
    let key = test_key();
    let relay = relay::relay(relay::ACCEPT_ALL).await;
    let smtp = client(&relay.url, |_| {});
    let outcome = Provider::send(
        &smtp,
        Message {
            unsubscribe: Some(UNSUBSCRIBE),
            dkim: Some(&key),
            ..message(
                "Alerte crue : évacuez",
                "Rendez-vous au gymnase.\n.\nMairie",
            )
        },
    )
    .await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let received = relay.messages.lock().unwrap()[0].clone();
    // The relay keeps the transparency dots of SMTP (RFC 5321 §4.5.2); a server takes them off.
    let received = received
        .split_inclusive("\r\n")
        .map(|line| line.strip_prefix('.').unwrap_or(line))
        .collect::<String>();
    let headers = headers(&received);
    assert!(header(&headers, "DKIM-Signature").is_some(), "{received}");
    assert!(header(&headers, "List-Unsubscribe").is_some(), "{received}");
    assert_verifies(received.as_bytes(), &key, "sent");
}

#[test]
fn a_blank_text_is_not_signed_wrongly_but_refused() {
    let key = test_key();
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let error = smtp
        .build(&Message {
            dkim: Some(&key),
            ..message("Alerte", " \n")
        })
        .unwrap_err();
    assert_eq!(
        error,
        SmtpError::Unsendable("DKIM: a blank body cannot be signed".into())
    );
    assert_eq!(error.retry_class(), RetryClass::Permanent);
}

#[test]
fn a_commune_without_a_key_sends_unsigned_and_a_key_signs_its_own_domain() {
    let key = DkimKey::new("s1", "exemple.fr", crate::email::dkim::tests::test_pem()).unwrap();
    let smtp = client("smtp://127.0.0.1:1", |_| {});
    let unsigned = smtp.build(&message("s", "t")).unwrap();
    assert!(unsigned.headers().get_raw("DKIM-Signature").is_none());
    let signed = smtp
        .build(&Message {
            dkim: Some(&key),
            ..message("s", "t")
        })
        .unwrap();
    let signature = signed.headers().get_raw("DKIM-Signature").unwrap();
    assert!(signature.contains("d=exemple.fr; s=s1;"), "{signature}");
    assert_verifies(&signed.formatted(), &key, "s1");
}
