//! Keyword rules: named lists of words ("complaint": 投诉, complain*) that flag a document, and so
//! its contact, when it is indexed. The flag is stored with the document (so searches can filter
//! on it) and returned to the caller (so it can mark the contact for QA and raise the complaint
//! alert).
//!
//! Matching is on the lower-cased text, not on index tokens, so a rule never misses because
//! jieba cut a sentence differently: a keyword with Han characters matches anywhere as a
//! substring; any other keyword matches whole words, and a trailing `*` matches any ending
//! (`refund*` → refund, refunds, refunded). Rule sets are bounded by the limits below and must
//! never make indexing slower than linear in the text length times the number of keywords.
//!
//! Deployments write their own rules (`[[search.keyword_rules]]` in the configuration, each key
//! checked with [`check_rule_name`], [`check_keyword_count`] and [`check_keyword`], the same checks
//! [`KeywordRule::new`] makes); [`KeywordRules::standard`] applies when none are written.

use crate::SearchError;

/// Most rules in one set.
pub const MAX_RULES: usize = 64;
/// Most keywords in one rule.
pub const MAX_KEYWORDS_PER_RULE: usize = 64;
/// Longest keyword, in characters.
pub const MAX_KEYWORD_CHARS: usize = 64;
/// Longest rule name, in characters.
pub const MAX_RULE_NAME_CHARS: usize = 64;

/// One keyword, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Keyword {
    /// Lower-cased, without the `*`.
    text: String,
    /// Han keywords match as substrings.
    substring: bool,
    /// `refund*`: any word that starts with the text.
    prefix: bool,
}

/// A named list of keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordRule {
    name: String,
    keywords: Vec<Keyword>,
    written: Vec<String>,
}

/// What flagged a document: the rule's name and the keyword as configured.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleHit {
    pub rule: String,
    pub keyword: String,
}

impl KeywordRule {
    /// Validates a rule: a name of 1–64 characters (letters, digits, `_`, `-`) and 1–64
    /// non-empty keywords of at most 64 characters.
    pub fn new(name: &str, keywords: &[&str]) -> Result<Self, SearchError> {
        let bad =
            |problem: String| SearchError::BadRule { rule: name.chars().take(MAX_RULE_NAME_CHARS).collect(), problem };
        check_rule_name(name).map_err(bad)?;
        check_keyword_count(keywords.len()).map_err(bad)?;
        let mut parsed = Vec::with_capacity(keywords.len());
        for k in keywords {
            check_keyword(k).map_err(bad)?;
            let trimmed = k.trim();
            let (body, prefix) = match trimmed.strip_suffix('*') {
                Some(body) => (body, true),
                None => (trimmed, false),
            };
            let substring =
                body.chars().any(|c| matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F));
            parsed.push(Keyword { text: body.to_lowercase(), substring, prefix });
        }
        Ok(Self {
            name: name.to_owned(),
            keywords: parsed,
            written: keywords.iter().map(|k| k.trim().to_owned()).collect(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A validated set of rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeywordRules {
    rules: Vec<KeywordRule>,
}

impl KeywordRules {
    pub fn new(rules: Vec<KeywordRule>) -> Result<Self, SearchError> {
        if rules.len() > MAX_RULES {
            return Err(SearchError::BadRule { rule: String::new(), problem: format!("more than {MAX_RULES} rules") });
        }
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].iter().any(|o| o.name == r.name) {
                return Err(SearchError::BadRule { rule: r.name.clone(), problem: "is defined twice".into() });
            }
        }
        Ok(Self { rules })
    }

    /// The seed's rules: complaints and refunds, in Chinese and English.
    pub fn standard() -> Self {
        let rules = [("complaint", &["投诉", "举报", "complain*"][..]), ("refund", &["退款", "退钱", "refund*"][..])];
        Self {
            rules: rules
                .iter()
                .map(|(name, words)| KeywordRule::new(name, words).expect("the standard rules are valid"))
                .collect(),
        }
    }

    /// Every rule that matches `text`, with the first of its keywords that matched.
    pub fn matches(&self, text: &str) -> Vec<RuleHit> {
        let lower = text.to_lowercase();
        let mut hits = Vec::new();
        for rule in &self.rules {
            if let Some(i) = rule.keywords.iter().position(|k| keyword_matches(&lower, k)) {
                hits.push(RuleHit { rule: rule.name.clone(), keyword: rule.written[i].clone() });
            }
        }
        hits
    }
}

/// Why `name` cannot name a rule (for a person), or nothing: 1 to [`MAX_RULE_NAME_CHARS`]
/// letters, digits, `_` or `-`. [`KeywordRule::new`] checks this; configuration checks it per key.
pub fn check_rule_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_RULE_NAME_CHARS
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ok { Ok(()) } else { Err(format!("name must be 1 to {MAX_RULE_NAME_CHARS} letters, digits, _ or -")) }
}

/// Why a rule cannot have `count` keywords, or nothing: 1 to [`MAX_KEYWORDS_PER_RULE`].
pub fn check_keyword_count(count: usize) -> Result<(), String> {
    if (1..=MAX_KEYWORDS_PER_RULE).contains(&count) {
        Ok(())
    } else {
        Err(format!("must have 1 to {MAX_KEYWORDS_PER_RULE} keywords"))
    }
}

/// Why `keyword` cannot be a keyword, or nothing: once trimmed, 1 to [`MAX_KEYWORD_CHARS`]
/// characters with at most a trailing `*`.
pub fn check_keyword(keyword: &str) -> Result<(), String> {
    let trimmed = keyword.trim();
    let body = trimmed.strip_suffix('*').unwrap_or(trimmed);
    if body.is_empty() || body.chars().count() > MAX_KEYWORD_CHARS || body.contains('*') {
        return Err(format!(
            "keyword {trimmed:?} must be 1 to {MAX_KEYWORD_CHARS} characters with at most a trailing *"
        ));
    }
    Ok(())
}

fn keyword_matches(lower: &str, k: &Keyword) -> bool {
    if k.substring {
        return lower.contains(&k.text);
    }
    lower.match_indices(&k.text).any(|(at, m)| {
        let before_ok = lower[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = k.prefix || lower[at + m.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_names(text: &str) -> Vec<String> {
        KeywordRules::standard().matches(text).into_iter().map(|h| h.rule).collect()
    }

    #[test]
    fn chinese_keywords_match_inside_a_sentence() {
        assert_eq!(rule_names("我要投诉你们的退款流程"), vec!["complaint", "refund"]);
    }

    #[test]
    fn english_keywords_match_whole_words_and_prefixes() {
        assert_eq!(rule_names("I want to file a Complaint"), vec!["complaint"]);
        assert_eq!(rule_names("still no REFUNDS"), vec!["refund"]);
        assert!(rule_names("uncomplaining customer, prefund account").is_empty());
    }

    #[test]
    fn each_rule_reports_the_keyword_that_matched() {
        let hits = KeywordRules::standard().matches("he wants his money: refunded?");
        assert_eq!(hits, vec![RuleHit { rule: "refund".into(), keyword: "refund*".into() }]);
    }

    #[test]
    fn rule_with_an_empty_keyword_is_refused() {
        assert!(matches!(KeywordRule::new("x", &["ok", " "]), Err(SearchError::BadRule { .. })));
    }

    #[test]
    fn each_check_names_the_problem_the_rule_would_be_refused_for() {
        assert!(check_rule_name("cancel").is_ok() && check_rule_name("退订").is_ok());
        assert!(check_rule_name("has space").is_err() && check_rule_name("").is_err());
        assert!(check_keyword_count(0).is_err() && check_keyword_count(MAX_KEYWORDS_PER_RULE + 1).is_err());
        assert!(check_keyword("cancel*").is_ok() && check_keyword(" 退订 ").is_ok());
        for bad in ["", "*", "can*cel", &"x".repeat(MAX_KEYWORD_CHARS + 1)] {
            assert!(check_keyword(bad).is_err(), "{bad:?}");
            assert!(KeywordRule::new("r", &[bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn duplicate_rule_names_are_refused() {
        let r = || KeywordRule::new("complaint", &["投诉"]).expect("valid");
        assert!(KeywordRules::new(vec![r(), r()]).is_err());
    }
}
