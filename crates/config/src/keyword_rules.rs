//! `[search]`: the keyword rules (`[[search.keyword_rules]]`) that flag a contact when its call
//! transcript, chat, email or wrap-up note says one of their words. Each key is checked with the
//! `search` crate's own rule checks, so a rule the configuration accepts is one the index takes;
//! an error names the key (`search.keyword_rules[1].keywords[3]: keyword "" must be ...`).
//! With no rules configured, `search::KeywordRules::standard()` applies (complaint: 投诉, 举报,
//! complain*; refund: 退款, 退钱, refund*); configured rules replace those whole.

use serde::Deserialize;

use crate::ConfigError;
use crate::validate::bad;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    pub keyword_rules: Vec<RawKeywordRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeywordRule {
    pub name: String,
    pub keywords: Vec<String>,
}

/// Keyword search (`[search]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// The rules applied to every indexed text: the configured ones, or the standard ones.
    pub keyword_rules: search::KeywordRules,
    /// Whether `keyword_rules` came from `[[search.keyword_rules]]` (false: the standard ones).
    pub keyword_rules_configured: bool,
}

pub fn search(raw: &RawSearch) -> Result<SearchConfig, ConfigError> {
    let max = search::rules::MAX_RULES;
    if raw.keyword_rules.len() > max {
        let n = raw.keyword_rules.len();
        return Err(bad("search.keyword_rules", format!("lists {n} rules; at most {max}")));
    }
    if raw.keyword_rules.is_empty() {
        return Ok(SearchConfig { keyword_rules: search::KeywordRules::standard(), keyword_rules_configured: false });
    }
    let mut rules: Vec<search::KeywordRule> = Vec::with_capacity(raw.keyword_rules.len());
    for (i, r) in raw.keyword_rules.iter().enumerate() {
        let key = |k: &str| format!("search.keyword_rules[{i}].{k}");
        let name = r.name.trim();
        search::rules::check_rule_name(name).map_err(|p| bad(key("name"), format!("{:?}: {p}", r.name)))?;
        if rules.iter().any(|o| o.name() == name) {
            return Err(bad(key("name"), format!("{name:?} is used by another rule")));
        }
        search::rules::check_keyword_count(r.keywords.len()).map_err(|p| bad(key("keywords"), p))?;
        for (j, k) in r.keywords.iter().enumerate() {
            search::rules::check_keyword(k).map_err(|p| bad(format!("search.keyword_rules[{i}].keywords[{j}]"), p))?;
        }
        let words: Vec<&str> = r.keywords.iter().map(String::as_str).collect();
        // The checks above are the ones `KeywordRule::new` makes; this cannot refuse the rule.
        rules.push(search::KeywordRule::new(name, &words).map_err(|e| bad(key("keywords"), e.to_string()))?);
    }
    let keyword_rules = search::KeywordRules::new(rules).map_err(|e| bad("search.keyword_rules", e.to_string()))?;
    Ok(SearchConfig { keyword_rules, keyword_rules_configured: true })
}
