//! The flow file as written: serde structs with source spans, before validation. Every node type
//! shares one flat struct so each field keeps its span; `flow.rs` checks which fields a type uses.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    pub version: S<i64>,
    pub id: S<String>,
    pub numbers: S<Vec<S<String>>>,
    pub entry_point: Option<S<String>>,
    pub languages: S<Vec<S<String>>>,
    pub default_language: Option<S<String>>,
    pub start: S<String>,
    #[serde(default)]
    pub node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOffsetChange {
    pub from: String,
    pub offset: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub id: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub max_visits: Option<S<u32>>,
    pub after_visits: Option<S<String>>,
    pub next: Option<S<String>>,
    pub say: Option<S<Vec<S<String>>>>,
    pub barge_in: Option<S<bool>>,
    pub choices: Option<S<BTreeMap<String, S<String>>>>,
    pub timeout: Option<S<String>>,
    pub max_retries: Option<S<u32>>,
    pub invalid_prompt: Option<S<String>>,
    pub timeout_prompt: Option<S<String>>,
    pub after_retries: Option<S<String>>,
    pub min_digits: Option<S<u32>>,
    pub max_digits: Option<S<u32>>,
    pub terminator: Option<S<String>>,
    pub first_digit_timeout: Option<S<String>>,
    pub inter_digit_timeout: Option<S<String>>,
    pub variable: Option<S<String>>,
    pub lookup: Option<S<String>>,
    pub order_number: Option<S<String>>,
    pub store_as: Option<S<String>>,
    pub url: Option<S<String>>,
    pub params: Option<S<BTreeMap<String, String>>>,
    pub branch_on: Option<S<String>>,
    pub branches: Option<S<BTreeMap<String, S<String>>>>,
    pub found: Option<S<String>>,
    pub not_found: Option<S<String>>,
    pub error: Option<S<String>>,
    pub attributes: Option<S<BTreeMap<String, String>>>,
    pub calendar: Option<S<String>>,
    pub utc_offset: Option<S<String>>,
    pub utc_offsets: Option<S<Vec<RawOffsetChange>>>,
    pub weekly: Option<S<BTreeMap<String, String>>>,
    pub holidays: Option<S<Vec<S<String>>>>,
    pub open: Option<S<String>>,
    pub closed: Option<S<String>>,
    pub language: Option<S<String>>,
    pub queue: Option<S<String>>,
    pub mailbox: Option<S<String>>,
    pub outcome: Option<S<String>>,
    pub sent: Option<S<String>>,
    pub no_customer: Option<S<String>>,
    pub no_email: Option<S<String>>,
}

fn sp<T>(name: &'static str, f: &Option<S<T>>) -> Option<(&'static str, Range<usize>)> {
    f.as_ref().map(|s| (name, s.span()))
}

impl RawNode {
    /// The optional fields present, with their spans (for "field not used by this type").
    pub fn present_fields(&self) -> Vec<(&'static str, Range<usize>)> {
        [
            sp("next", &self.next),
            sp("say", &self.say),
            sp("barge_in", &self.barge_in),
            sp("choices", &self.choices),
            sp("timeout", &self.timeout),
            sp("max_retries", &self.max_retries),
            sp("invalid_prompt", &self.invalid_prompt),
            sp("timeout_prompt", &self.timeout_prompt),
            sp("after_retries", &self.after_retries),
            sp("min_digits", &self.min_digits),
            sp("max_digits", &self.max_digits),
            sp("terminator", &self.terminator),
            sp("first_digit_timeout", &self.first_digit_timeout),
            sp("inter_digit_timeout", &self.inter_digit_timeout),
            sp("variable", &self.variable),
            sp("lookup", &self.lookup),
            sp("order_number", &self.order_number),
            sp("store_as", &self.store_as),
            sp("url", &self.url),
            sp("params", &self.params),
            sp("branch_on", &self.branch_on),
            sp("branches", &self.branches),
            sp("found", &self.found),
            sp("not_found", &self.not_found),
            sp("error", &self.error),
            sp("attributes", &self.attributes),
            sp("calendar", &self.calendar),
            sp("utc_offset", &self.utc_offset),
            sp("utc_offsets", &self.utc_offsets),
            sp("weekly", &self.weekly),
            sp("holidays", &self.holidays),
            sp("open", &self.open),
            sp("closed", &self.closed),
            sp("language", &self.language),
            sp("queue", &self.queue),
            sp("mailbox", &self.mailbox),
            sp("outcome", &self.outcome),
            sp("sent", &self.sent),
            sp("no_customer", &self.no_customer),
            sp("no_email", &self.no_email),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
