//! Which member communes a group's alert goes to: `"communes": "all"` or a list of slugs.

use serde::{Deserialize, Serialize};

use super::Slug;

/// Most communes one list may name (a département has a few hundred).
pub const MAX_LISTED: usize = 1000;

/// `communes` as the API receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Communes {
    /// `"all"`: every commune below the group.
    Word(String),
    /// Slugs of communes below the group.
    List(Vec<String>),
}

/// `communes`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CommuneChoice {
    /// Every commune below the group that has the alert's topic.
    All,
    /// These communes, each of which must have the topic; deduplicated, in the order given.
    Only(Vec<Slug>),
}

impl Communes {
    pub fn validate(&self) -> Result<CommuneChoice, String> {
        match self {
            Communes::Word(word) if word.trim() == "all" => Ok(CommuneChoice::All),
            Communes::Word(word) => Err(format!(
                "{word:?}: give \"all\" or a list of the communes' slugs"
            )),
            Communes::List(slugs) if slugs.is_empty() => {
                Err("name at least one commune, or \"all\"".into())
            }
            Communes::List(slugs) if slugs.len() > MAX_LISTED => Err(format!(
                "{} communes named; at most {MAX_LISTED}",
                slugs.len()
            )),
            Communes::List(slugs) => {
                let mut checked: Vec<Slug> = Vec::with_capacity(slugs.len());
                for slug in slugs {
                    let slug = Slug::parse(slug.trim()).map_err(|e| format!("{slug:?}: {e}"))?;
                    if !checked.contains(&slug) {
                        checked.push(slug);
                    }
                }
                Ok(CommuneChoice::Only(checked))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<CommuneChoice, String> {
        serde_json::from_str::<Communes>(json).unwrap().validate()
    }

    #[test]
    fn all_or_a_list_of_slugs() {
        assert_eq!(parse(r#""all""#), Ok(CommuneChoice::All));
        let listed = parse(r#"["bras", "charny", "bras"]"#).unwrap();
        let CommuneChoice::Only(slugs) = listed else {
            panic!("a list")
        };
        let slugs: Vec<&str> = slugs.iter().map(Slug::as_str).collect();
        assert_eq!(slugs, ["bras", "charny"]);
        assert!(parse(r#""tous""#).unwrap_err().contains("\"all\""));
        assert!(parse("[]").unwrap_err().contains("at least one"));
        assert!(parse(r#"["Bras Sur Meuse"]"#).is_err());
        assert!(serde_json::from_str::<Communes>("3").is_err());
    }
}
