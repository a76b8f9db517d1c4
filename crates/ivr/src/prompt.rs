//! Prompts: the catalogue of recorded prompts a flow may name, the [`PromptRef`] a `Play` action
//! carries, and spoken numbers and order statuses built from recorded fragments.
//!
//! Prompt names are file names (`prompts/<language>/<name>.wav`), so a name is 1 to
//! [`MAX_PROMPT_NAME_CHARS`] characters of `a-z`, `0-9` and `_`: it can never escape the prompt
//! directory. Must never: accept a name that is not such a word, or hold more than
//! [`MAX_CATALOG_PROMPTS`] prompts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use model::{Language, OrderStatus};
use serde::Deserialize;

/// Longest prompt name.
pub const MAX_PROMPT_NAME_CHARS: usize = 64;
/// Most prompts in one catalogue (over all languages).
pub const MAX_CATALOG_PROMPTS: usize = 4096;

/// The fragments `spoken_digits` uses: `digit_0` … `digit_9`.
pub const DIGIT_PROMPTS: [&str; 10] =
    ["digit_0", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "digit_6", "digit_7", "digit_8", "digit_9"];

/// One recorded prompt in one language: what a `Play` action names. The media shell finds the audio
/// at [`PromptRef::path`] (relative to the prompt directory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromptRef {
    pub language: Language,
    pub name: String,
}

impl PromptRef {
    pub fn new(language: &Language, name: &str) -> Self {
        Self { language: language.clone(), name: name.to_owned() }
    }

    /// `zh-CN/greeting.wav`: where the prompt lives under the prompt directory.
    pub fn path(&self) -> String {
        format!("{}/{}.wav", self.language, self.name)
    }
}

impl fmt::Display for PromptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.language, self.name)
    }
}

/// Whether `name` is a valid prompt name (also a safe file name).
pub fn is_prompt_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PROMPT_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The prompt fragment that says an order status: `status_shipped`.
pub fn status_prompt_name(status: OrderStatus) -> String {
    format!("status_{}", status.as_str())
}

/// The fragments that read `digits` out one digit at a time ("100001" → 1 0 0 0 0 1), in
/// `language`. Characters other than `0-9` are skipped. The fragment names are the same in every
/// language; each language's recording says the digit its own way (zh-CN reads 1 as 幺, as Chinese
/// call centers do for numbers).
pub fn spoken_digits(language: &Language, digits: &str) -> Vec<PromptRef> {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| PromptRef::new(language, DIGIT_PROMPTS[usize::from(b - b'0')]))
        .collect()
}

/// The fragment that says `status` in `language` ("已发货" / "shipped").
pub fn spoken_status(language: &Language, status: OrderStatus) -> PromptRef {
    PromptRef::new(language, &status_prompt_name(status))
}

/// Every fragment name spoken numbers and statuses need; a flow that speaks them requires these.
pub fn fragment_prompt_names() -> Vec<String> {
    let mut names: Vec<String> = DIGIT_PROMPTS.iter().map(|s| (*s).to_owned()).collect();
    names.extend(OrderStatus::ALL.iter().map(|s| status_prompt_name(*s)));
    names
}

/// A catalogue problem (file name and message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub message: String,
}

/// How a prompt's text is generated in one language: the text, and optionally another espeak-ng
/// voice (the zh-CN menu says "For English, press 9" in an English voice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptText {
    pub text: String,
    pub voice: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawText {
    Text(String),
    Voiced { text: String, voice: Option<String> },
}

/// The prompts available, per language: what flows are validated against. Built from
/// `prompts/catalog.toml` (name → text per language, the single source of the prompt texts) or
/// from names found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptCatalog {
    prompts: BTreeMap<String, BTreeMap<Language, Option<PromptText>>>,
}

impl PromptCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that `name` exists in `language` (text unknown). Refuses bad names and a full catalogue.
    pub fn add(&mut self, language: &Language, name: &str) -> Result<(), CatalogError> {
        self.insert(language, name, None, "catalogue")
    }

    fn insert(
        &mut self,
        language: &Language,
        name: &str,
        text: Option<PromptText>,
        file: &str,
    ) -> Result<(), CatalogError> {
        let err = |message: String| CatalogError { file: file.to_owned(), message };
        if !is_prompt_name(name) {
            return Err(err(format!(
                "prompt name {name:?} must be 1 to {MAX_PROMPT_NAME_CHARS} characters of a-z, 0-9 and _"
            )));
        }
        if !self.prompts.contains_key(name) && self.prompts.len() >= MAX_CATALOG_PROMPTS {
            return Err(err(format!("more than {MAX_CATALOG_PROMPTS} prompts")));
        }
        self.prompts.entry(name.to_owned()).or_default().insert(language.clone(), text);
        Ok(())
    }

    /// Parses a catalogue in the `prompts/catalog.toml` form:
    ///
    /// ```toml
    /// [greeting]
    /// zh-CN = "欢迎致电 Demo Shop 客服"
    /// en = "Welcome to Demo Shop"
    ///
    /// [language_option]
    /// zh-CN = { text = "For English, press 9", voice = "en" }
    /// ```
    pub fn parse_toml(file: &str, text: &str) -> Result<Self, CatalogError> {
        let err = |message: String| CatalogError { file: file.to_owned(), message };
        let raw: BTreeMap<String, BTreeMap<String, RawText>> =
            toml::from_str(text).map_err(|e| err(e.message().to_owned()))?;
        let mut catalog = Self::new();
        for (name, texts) in raw {
            for (lang, t) in texts {
                let language = Language::parse(&lang).map_err(|e| err(format!("prompt {name:?}: {e}")))?;
                let text = match t {
                    RawText::Text(text) => PromptText { text, voice: None },
                    RawText::Voiced { text, voice } => PromptText { text, voice },
                };
                if text.text.trim().is_empty() {
                    return Err(err(format!("prompt {name:?} has an empty {lang} text")));
                }
                catalog.insert(&language, &name, Some(text), file)?;
            }
        }
        Ok(catalog)
    }

    /// The prompts present on disk: every `<dir>/<language>/<name>.wav` whose language directory
    /// is a language tag and whose name is a prompt name (other files are skipped). Reads only `dir`.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, CatalogError> {
        let file = dir.display().to_string();
        let err = |e: std::io::Error| CatalogError { file: file.clone(), message: format!("cannot read: {e}") };
        let mut catalog = Self::new();
        for lang_dir in std::fs::read_dir(dir).map_err(err)? {
            let lang_dir = lang_dir.map_err(err)?.path();
            let Some(language) = lang_dir.file_name().and_then(|n| n.to_str()).and_then(|n| Language::parse(n).ok())
            else {
                continue;
            };
            if !lang_dir.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&lang_dir).map_err(err)? {
                let path = entry.map_err(err)?.path();
                let name = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".wav"));
                if let Some(name) = name.filter(|n| is_prompt_name(n)) {
                    catalog.insert(&language, name, None, &file)?;
                }
            }
        }
        Ok(catalog)
    }

    pub fn contains(&self, language: &Language, name: &str) -> bool {
        self.prompts.get(name).is_some_and(|l| l.contains_key(language))
    }

    /// The text of a prompt in a language, if the catalogue came with texts.
    pub fn text(&self, language: &Language, name: &str) -> Option<&PromptText> {
        self.prompts.get(name)?.get(language)?.as_ref()
    }

    /// Every prompt name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.prompts.keys().map(String::as_str)
    }

    /// The languages each prompt exists in.
    pub fn languages(&self) -> BTreeSet<Language> {
        self.prompts.values().flat_map(|l| l.keys().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zh() -> Language {
        Language::parse("zh-CN").expect("valid tag")
    }

    #[test]
    fn order_number_is_read_digit_by_digit() {
        let names: Vec<String> = spoken_digits(&zh(), "100001").into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["digit_1", "digit_0", "digit_0", "digit_0", "digit_0", "digit_1"]);
    }

    #[test]
    fn non_digits_are_not_spoken() {
        assert_eq!(spoken_digits(&zh(), "1-2#*x").len(), 2);
    }

    #[test]
    fn status_fragment_names_the_status_in_the_language() {
        let p = spoken_status(&zh(), OrderStatus::Shipped);
        assert_eq!(p.path(), "zh-CN/status_shipped.wav");
    }

    #[test]
    fn catalogue_refuses_names_that_are_not_safe_file_names() {
        let mut c = PromptCatalog::new();
        assert!(c.add(&zh(), "../etc/passwd").is_err());
        assert!(c.add(&zh(), "Greeting").is_err());
        assert!(c.add(&zh(), "").is_err());
        assert!(c.add(&zh(), "greeting_2").is_ok());
    }

    #[test]
    fn catalogue_toml_gives_texts_and_voices() {
        let c = PromptCatalog::parse_toml(
            "catalog.toml",
            "[hi]\nzh-CN = \"你好\"\nen = { text = \"For English, press 9\", voice = \"en\" }\n",
        )
        .expect("valid catalogue");
        let en = Language::parse("en").expect("valid tag");
        assert!(c.contains(&zh(), "hi") && c.contains(&en, "hi"));
        assert_eq!(c.text(&en, "hi").and_then(|t| t.voice.as_deref()), Some("en"));
    }
}
