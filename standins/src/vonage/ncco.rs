//! NCCO (Call Control Object) reading: the `talk` and `input` actions with the fields and ranges
//! Vonage documents, other actions kept by name and skipped. Used for the call's NCCO and for
//! those Tocsin answers to an input result.

use serde_json::{Map, Value};

/// A `talk` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talk {
    pub text: String,
    /// `language` as written (`fr-FR`); `None` is Vonage's default, `en-US`.
    pub language: Option<String>,
    /// `loop` (default 1; 0 means "until hang-up").
    pub loops: u32,
    /// `bargeIn` (default false).
    pub barge_in: bool,
}

impl Talk {
    /// Read in French (`language: "fr-FR"`).
    pub fn is_french(&self) -> bool {
        self.language.as_deref() == Some("fr-FR")
    }
}

/// An `input` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `type`: `dtmf`, `speech`.
    pub types: Vec<String>,
    /// `dtmf.maxDigits` (default 4).
    pub max_digits: u32,
    /// `dtmf.timeOut`, seconds (default 3).
    pub time_out: u32,
    /// `dtmf.submitOnHash` (default false).
    pub submit_on_hash: bool,
    /// `eventUrl[0]`; without it the result goes to the call's `event_url`.
    pub event_url: Option<String>,
    /// `eventMethod`: `POST`.
    pub event_method: String,
}

impl Input {
    pub fn takes_dtmf(&self) -> bool {
        self.types.iter().any(|t| t == "dtmf")
    }
}

/// One NCCO action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Talk(Talk),
    Input(Input),
    /// Any other action (`record`, `connect`, `notify` …): recorded, not played.
    Other {
        action: String,
        raw: Value,
    },
}

impl Action {
    /// `talk`, `input`, or the action's own name.
    pub fn name(&self) -> &str {
        match self {
            Action::Talk(_) => "talk",
            Action::Input(_) => "input",
            Action::Other { action, .. } => action,
        }
    }
}

/// One entry of `invalid_parameters`: the field's path and why.
pub(crate) type Invalid = (String, String);

/// Reads an NCCO (`field` names it in errors: `ncco`), or every reason it is not valid.
pub(crate) fn parse(field: &str, ncco: &Value) -> Result<Vec<Action>, Vec<Invalid>> {
    let Some(items) = ncco.as_array() else {
        return Err(vec![(
            field.to_owned(),
            "must be an array of actions".into(),
        )]);
    };
    if items.is_empty() {
        return Err(vec![(
            field.to_owned(),
            "must hold at least one action".into(),
        )]);
    }
    let mut actions = Vec::new();
    let mut invalid = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(object) = item.as_object() else {
            invalid.push((at, "must be an object".into()));
            continue;
        };
        let mut fields = Fields {
            at: &at,
            object,
            invalid: &mut invalid,
        };
        match object.get("action").and_then(Value::as_str) {
            Some("talk") => {
                if let Some(talk) = fields.talk() {
                    actions.push(Action::Talk(talk));
                }
            }
            Some("input") => {
                if let Some(input) = fields.input() {
                    actions.push(Action::Input(input));
                }
            }
            Some(other) => actions.push(Action::Other {
                action: other.to_owned(),
                raw: item.clone(),
            }),
            None => invalid.push((format!("{at}.action"), "is required (a string)".into())),
        }
    }
    if invalid.is_empty() {
        Ok(actions)
    } else {
        Err(invalid)
    }
}

/// The fields of one action, collecting what is wrong with them.
struct Fields<'a> {
    at: &'a str,
    object: &'a Map<String, Value>,
    invalid: &'a mut Vec<Invalid>,
}

impl Fields<'_> {
    fn refuse(&mut self, name: &str, reason: &str) {
        self.invalid
            .push((format!("{}.{name}", self.at), reason.to_owned()));
    }

    fn talk(&mut self) -> Option<Talk> {
        let before = self.invalid.len();
        let text = match self.object.get("text").and_then(Value::as_str) {
            Some(text) if !text.trim().is_empty() && text.chars().count() <= 1500 => text,
            Some(text) if !text.trim().is_empty() => {
                self.refuse("text", "must be at most 1500 characters");
                ""
            }
            _ => {
                self.refuse("text", "is required (a non-empty string)");
                ""
            }
        };
        let language = match self.object.get("language") {
            None => None,
            Some(Value::String(tag)) if is_language_tag(tag) => Some(tag.clone()),
            Some(_) => {
                self.refuse("language", "must be a BCP-47 tag such as fr-FR");
                None
            }
        };
        let loops = self.integer("loop", 0, u32::MAX, 1);
        let barge_in = self.boolean("bargeIn");
        (self.invalid.len() == before).then(|| Talk {
            text: text.to_owned(),
            language,
            loops,
            barge_in,
        })
    }

    fn input(&mut self) -> Option<Input> {
        let before = self.invalid.len();
        let types: Vec<String> = match self.object.get("type").and_then(Value::as_array) {
            Some(types) if !types.is_empty() => types
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let known = |t: &String| t == "dtmf" || t == "speech";
        if types.is_empty() || !types.iter().all(known) {
            self.refuse(
                "type",
                "must be a non-empty array of \"dtmf\" and \"speech\"",
            );
        }
        let (mut max_digits, mut time_out, mut submit_on_hash) = (4, 3, false);
        match self.object.get("dtmf") {
            None => {}
            Some(Value::Object(dtmf)) => {
                let at = format!("{}.dtmf", self.at);
                let mut nested = Fields {
                    at: &at,
                    object: dtmf,
                    invalid: self.invalid,
                };
                max_digits = nested.integer("maxDigits", 1, 20, 4);
                time_out = nested.integer("timeOut", 0, 10, 3);
                submit_on_hash = nested.boolean("submitOnHash");
            }
            Some(_) => self.refuse("dtmf", "must be an object"),
        }
        let event_url = match self.object.get("eventUrl") {
            None => None,
            Some(urls) => match one_url(urls) {
                Some(url) => Some(url),
                None => {
                    self.refuse("eventUrl", "must be an array of one http(s) URL");
                    None
                }
            },
        };
        let event_method = match self.object.get("eventMethod") {
            None => "POST".to_owned(),
            Some(Value::String(m)) if m.eq_ignore_ascii_case("POST") => "POST".to_owned(),
            Some(_) => {
                self.refuse(
                    "eventMethod",
                    "must be POST (GET is not supported by the stand-in)",
                );
                String::new()
            }
        };
        (self.invalid.len() == before).then_some(Input {
            types,
            max_digits,
            time_out,
            submit_on_hash,
            event_url,
            event_method,
        })
    }

    /// An integer in `min..=max`, or `default` when absent.
    fn integer(&mut self, name: &str, min: u32, max: u32, default: u32) -> u32 {
        match self.object.get(name) {
            None => default,
            Some(value) => match value.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) if (min..=max).contains(&v) => v,
                _ => {
                    self.refuse(name, &format!("must be an integer from {min} to {max}"));
                    default
                }
            },
        }
    }

    fn boolean(&mut self, name: &str) -> bool {
        match self.object.get(name) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.refuse(name, "must be a boolean");
                false
            }
        }
    }
}

/// `["https://…"]`: the one absolute http(s) URL.
pub(crate) fn one_url(urls: &Value) -> Option<String> {
    let [Value::String(url)] = urls.as_array()?.as_slice() else {
        return None;
    };
    let parsed = url::Url::parse(url).ok()?;
    let ok = matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some();
    ok.then(|| url.clone())
}

/// `fr-FR`, `en-US`, `cmn-CN`: letters, a dash, letters or digits.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}
