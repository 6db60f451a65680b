//! A small XML reader for TwiML: elements, attributes, text, the five predefined entities and
//! character references, comments, CDATA and processing instructions. It refuses what an XML
//! parser refuses and Twilio reports as 12100 ("Document parse failure"): unclosed or mismatched
//! elements, unquoted or repeated attributes, a bare `&` or `<`, anything after the root, an XML
//! declaration not at the very start, and a root that is not `<Response>`. No DTDs.

/// An element and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attrs: Vec<(String, String)>,
    pub(super) children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        let found = self.attrs.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str())
    }

    /// The child elements, in order.
    pub(super) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|child| match child {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    /// All the text inside, nested elements' (SSML) included.
    pub(super) fn text(&self) -> String {
        let mut text = String::new();
        for child in &self.children {
            match child {
                Node::Text(t) => text.push_str(t),
                Node::Element(e) => {
                    // `<break/>` and the like separate words.
                    text.push(' ');
                    text.push_str(&e.text());
                    text.push(' ');
                }
            }
        }
        text
    }
}

/// Reads a TwiML document: its `<Response>` root, or why it is not one.
pub(super) fn parse(document: &str) -> Result<Element, String> {
    let document = document.strip_prefix('\u{feff}').unwrap_or(document);
    let mut reader = Reader {
        rest: document,
        whole: document.len(),
    };
    if reader.rest.starts_with("<?xml") && reader.rest[5..].starts_with(char::is_whitespace) {
        reader.skip_past("?>")?;
    }
    reader.misc()?;
    if !reader.rest.starts_with('<') {
        return Err(reader.error("a root element"));
    }
    let root = reader.element()?;
    reader.misc()?;
    if !reader.rest.is_empty() {
        return Err(reader.error("the end of the document"));
    }
    if root.name != "Response" {
        return Err(format!(
            "the root element is <{}>, not <Response>",
            root.name
        ));
    }
    Ok(root)
}

struct Reader<'a> {
    rest: &'a str,
    whole: usize,
}

impl Reader<'_> {
    fn error(&self, expected: &str) -> String {
        let at = self.whole - self.rest.len();
        let found: String = self.rest.chars().take(20).collect();
        format!("at byte {at}: expected {expected}, found {found:?}")
    }

    fn skip_past(&mut self, end: &str) -> Result<(), String> {
        match self.rest.find(end) {
            Some(i) => {
                self.rest = &self.rest[i + end.len()..];
                Ok(())
            }
            None => Err(self.error(end)),
        }
    }

    fn skip_whitespace(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\r', '\n']);
    }

    /// White space, comments and processing instructions around the root.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_whitespace();
            if self.rest.starts_with("<!--") {
                self.comment()?;
            } else if self.rest.starts_with("<?") {
                self.instruction()?;
            } else {
                return Ok(());
            }
        }
    }

    fn comment(&mut self) -> Result<(), String> {
        self.rest = &self.rest[4..];
        let end = self.rest.find("-->").ok_or_else(|| self.error("-->"))?;
        if self.rest[..end].contains("--") {
            return Err(self.error("no -- inside a comment"));
        }
        self.rest = &self.rest[end + 3..];
        Ok(())
    }

    fn instruction(&mut self) -> Result<(), String> {
        self.rest = &self.rest[2..];
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.error("the XML declaration at the very start only"));
        }
        self.skip_past("?>")
    }

    fn name(&mut self) -> Result<String, String> {
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '>' | '=' | '<' | '?'))
            .unwrap_or(self.rest.len());
        let name = &self.rest[..end];
        let starts_well = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':');
        if !starts_well
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "_:.-".contains(c))
        {
            return Err(self.error("a name"));
        }
        self.rest = &self.rest[end..];
        Ok(name.to_owned())
    }

    /// An element, from its `<`.
    fn element(&mut self) -> Result<Element, String> {
        self.rest = &self.rest[1..];
        let name = self.name()?;
        let mut attrs: Vec<(String, String)> = Vec::new();
        loop {
            let before = self.rest.len();
            self.skip_whitespace();
            if let Some(rest) = self.rest.strip_prefix("/>") {
                self.rest = rest;
                let children = Vec::new();
                return Ok(Element {
                    name,
                    attrs,
                    children,
                });
            }
            if let Some(rest) = self.rest.strip_prefix('>') {
                self.rest = rest;
                break;
            }
            if self.rest.len() == before {
                return Err(self.error("white space before an attribute"));
            }
            let attr = self.name()?;
            self.skip_whitespace();
            self.rest = self.rest.strip_prefix('=').ok_or_else(|| self.error("="))?;
            self.skip_whitespace();
            let quote = match self.rest.chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(self.error("a quoted value")),
            };
            self.rest = &self.rest[1..];
            let end = self.rest.find(quote).ok_or_else(|| self.error("a quote"))?;
            let raw = &self.rest[..end];
            if raw.contains('<') {
                return Err(self.error("no < in an attribute"));
            }
            let value = self.unescape(raw)?;
            self.rest = &self.rest[end + 1..];
            if attrs.iter().any(|(n, _)| *n == attr) {
                return Err(format!("attribute {attr} repeated on <{name}>"));
            }
            attrs.push((attr, value));
        }

        let mut children = Vec::new();
        loop {
            if let Some(rest) = self.rest.strip_prefix("</") {
                self.rest = rest;
                let closing = self.name()?;
                if closing != name {
                    return Err(format!("</{closing}> closes <{name}>"));
                }
                self.skip_whitespace();
                self.rest = self.rest.strip_prefix('>').ok_or_else(|| self.error(">"))?;
                return Ok(Element {
                    name,
                    attrs,
                    children,
                });
            } else if self.rest.starts_with("<!--") {
                self.comment()?;
            } else if let Some(rest) = self.rest.strip_prefix("<![CDATA[") {
                let end = rest.find("]]>").ok_or_else(|| self.error("]]>"))?;
                children.push(Node::Text(rest[..end].to_owned()));
                self.rest = &rest[end + 3..];
            } else if self.rest.starts_with("<?") {
                self.instruction()?;
            } else if self.rest.starts_with('<') {
                children.push(Node::Element(self.element()?));
            } else if self.rest.is_empty() {
                return Err(format!("<{name}> is not closed"));
            } else {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                let text = self.unescape(&self.rest[..end])?;
                children.push(Node::Text(text));
                self.rest = &self.rest[end..];
            }
        }
    }

    /// Replaces entity and character references.
    fn unescape(&self, raw: &str) -> Result<String, String> {
        let mut text = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            text.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let end = after.find(';').ok_or_else(|| self.error("a reference"))?;
            let reference = &after[..end];
            let c = match reference {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = reference.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = reference.strip_prefix('#') {
                        dec.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32)
                        .ok_or_else(|| format!("unknown reference &{reference};"))?
                }
            };
            text.push(c);
            rest = &after[end + 1..];
        }
        text.push_str(rest);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gather_with_a_french_say_is_read() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- alerte -->\n<Response>\
                   <Gather input='dtmf' numDigits=\"1\" action=\"/ack?d=1&amp;x=2\">\
                   <Say language=\"fr-FR\">Crue&#160;: <break time=\"1s\"/>évitez les quais</Say>\
                   </Gather><Hangup/></Response>\n";
        let root = parse(doc).unwrap();
        let verbs: Vec<_> = root.elements().map(|e| e.name.as_str()).collect();
        assert_eq!(verbs, ["Gather", "Hangup"]);
        let gather = root.elements().next().unwrap();
        assert_eq!(gather.attr("action"), Some("/ack?d=1&x=2"));
        let say = gather.elements().next().unwrap();
        assert_eq!(say.attr("language"), Some("fr-FR"));
        let text = say
            .text()
            .split_ascii_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(text, "Crue\u{a0}: évitez les quais");
    }

    #[test]
    fn broken_documents_are_refused() {
        for broken in [
            "",
            "Bonjour",
            " <?xml version=\"1.0\"?><Response/>",
            "<Response><Say>oops</Response>",
            "<Response><Say>a</Say>",
            "<Response><Say language=fr-FR>a</Say></Response>",
            "<Response><Say>a & b</Say></Response>",
            "<Response><Say a=\"1\" a=\"2\"/></Response>",
            "<Response/><Response/>",
            "<Reponse><Say>a</Say></Reponse>",
        ] {
            assert!(parse(broken).is_err(), "{broken:?} was read");
        }
    }
}
