//! The TwiML a call plays (reference/voice.md): the message and the prompt in French, twice,
//! inside a `<Gather>` that takes one key and posts it to Tocsin; then the closing sentence.
//! An answering machine gets the message without the prompt (nobody can press a key on it).

use crate::voice::CallScript;

/// What Twilio plays once the call is answered; `keypad_url` receives the key pressed.
pub fn document(script: &CallScript, keypad_url: &str, answered_by_machine: bool) -> String {
    let say = |text: &str| {
        format!(
            "<Say language=\"{}\">{}</Say>",
            escape(&script.language),
            escape(text)
        )
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    if answered_by_machine {
        out.push_str(&say(&script.message));
        out.push_str(&say(&script.message));
    } else {
        let spoken = format!("{} {}", script.message, script.prompt);
        out.push_str(&format!(
            "<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"5\" method=\"POST\" action=\"{}\">",
            escape(keypad_url)
        ));
        out.push_str(&say(&spoken));
        out.push_str(&say(&spoken));
        out.push_str("</Gather>");
    }
    out.push_str(&say(&script.closing));
    out.push_str("<Hangup/></Response>");
    out
}

/// The answer to a key pressed: thanks and goodbye when it confirmed, else the message again
/// (`again_url` is the call's document).
pub fn after_keypad(script: &CallScript, acknowledged: bool, again_url: &str) -> String {
    if acknowledged {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"{}\">{}</Say>\
             <Hangup/></Response>",
            escape(&script.language),
            escape(&script.thanks)
        )
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Redirect method=\"POST\">{}\
             </Redirect></Response>",
            escape(again_url)
        )
    }
}

/// XML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> CallScript {
        CallScript {
            message: "Message de la mairie de Bras. Crue <forte> & rapide.".into(),
            prompt: "Tapez 1 pour confirmer la réception de ce message.".into(),
            closing: "Fin du message. Au revoir.".into(),
            thanks: "Merci.".into(),
            language: "fr-FR".into(),
        }
    }

    #[test]
    fn a_person_hears_the_message_twice_and_can_press_one() {
        let twiml = document(&script(), "https://t.example/k?a=1&b=2", false);
        assert!(twiml.contains(
            "<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"5\" method=\"POST\" \
             action=\"https://t.example/k?a=1&amp;b=2\">"
        ));
        assert_eq!(twiml.matches("Tapez 1").count(), 2, "{twiml}");
        assert_eq!(twiml.matches("<Say language=\"fr-FR\">").count(), 3);
        assert!(
            twiml.contains("Crue &lt;forte&gt; &amp; rapide."),
            "{twiml}"
        );
        assert!(twiml.ends_with("<Hangup/></Response>"));
    }

    #[test]
    fn a_machine_records_the_message_without_the_prompt() {
        let twiml = document(&script(), "https://t.example/k", true);
        assert!(
            !twiml.contains("Gather") && !twiml.contains("Tapez"),
            "{twiml}"
        );
        assert_eq!(twiml.matches("Message de la mairie").count(), 2);
    }
}
