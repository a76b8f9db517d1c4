//! Turning what a user typed plus the filter panel into a tantivy query, always inside one org.
//!
//! The query language is deliberately small and never fails on odd input: words are all
//! required; `"quoted words"` (or “全角引号”) must appear together in that order; a word with a
//! leading `-` must not appear; a Chinese run typed without spaces (退款流程) is a phrase, since
//! that is how Chinese is written. Nothing the user types can reach another org: the org clause
//! is added here, not by callers.

use std::ops::Bound;

use model::{AgentId, Channel, ContactId, OrgId, QueueId, ReasonCode, Timestamp};
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::document::{DocumentKind, Fields};
use crate::tokenizer::{Mode, analyse};

/// Filters from the search page. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Inclusive start.
    pub from: Option<Timestamp>,
    /// Exclusive end.
    pub until: Option<Timestamp>,
    pub agents: Vec<AgentId>,
    pub queues: Vec<QueueId>,
    pub channels: Vec<Channel>,
    pub dispositions: Vec<ReasonCode>,
    pub kinds: Vec<DocumentKind>,
    /// Inclusive CSAT range; documents without a CSAT never match a CSAT filter.
    pub min_csat: Option<u8>,
    pub max_csat: Option<u8>,
    /// Only documents a keyword rule flagged; with `rules` non-empty, only those rules' flags.
    pub flagged_only: bool,
    pub rules: Vec<String>,
    pub contact: Option<ContactId>,
}

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first (BM25).
    #[default]
    Relevance,
    /// Most recent first.
    Newest,
}

/// A search request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// What the user typed; empty matches every document that passes the filters.
    pub text: String,
    pub filters: Filters,
    pub order: SortOrder,
    /// Hits to skip (paging).
    pub offset: usize,
    /// Hits to return.
    pub limit: usize,
}

/// One required or excluded piece of the typed text, as tokens with their unit positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    pub excluded: bool,
    pub terms: Vec<(usize, String)>,
}

/// Splits typed text into clauses. Pieces with no token (punctuation only) are dropped.
pub(crate) fn parse_text(text: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '"' || c == '“' {
            let body = &rest[c.len_utf8()..];
            let end = body.find(['"', '”']).unwrap_or(body.len());
            push_clause(&mut clauses, &body[..end], false);
            rest = body[end..].strip_prefix(['"', '”']).unwrap_or(&body[end..]);
        } else if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else {
            let end = rest.find(|ch: char| ch.is_whitespace() || ch == '"' || ch == '“').unwrap_or(rest.len());
            let word = &rest[..end];
            match word.strip_prefix('-') {
                Some(excluded) if !excluded.is_empty() => push_clause(&mut clauses, excluded, true),
                _ => push_clause(&mut clauses, word, false),
            }
            rest = &rest[end..];
        }
    }
    clauses
}

fn push_clause(clauses: &mut Vec<Clause>, piece: &str, excluded: bool) {
    let tokens = analyse(piece, Mode::Query);
    let Some(first) = tokens.first().map(|t| t.position) else { return };
    let terms = tokens.into_iter().map(|t| (t.position - first, t.text)).collect();
    clauses.push(Clause { excluded, terms });
}

/// Number of terms over all clauses, for the query-size limit.
pub(crate) fn term_count(clauses: &[Clause]) -> usize {
    clauses.iter().map(|c| c.terms.len()).sum()
}

fn clause_query(field: Field, clause: &Clause) -> Box<dyn Query> {
    let term = |t: &str| Term::from_field_text(field, t);
    match clause.terms.as_slice() {
        [(_, only)] => Box::new(TermQuery::new(term(only), IndexRecordOption::WithFreqs)),
        many => Box::new(PhraseQuery::new_with_offset(many.iter().map(|(p, t)| (*p, term(t))).collect())),
    }
}

fn any_of<T>(field: Field, values: &[T], text: impl Fn(&T) -> String) -> Option<Box<dyn Query>> {
    if values.is_empty() {
        return None;
    }
    let terms = values
        .iter()
        .map(|v| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(field, &text(v)), IndexRecordOption::Basic)))
        })
        .collect();
    Some(Box::new(BooleanQuery::new(terms)))
}

/// The whole query: org, then the typed clauses, then the filters.
pub(crate) fn build(fields: &Fields, org: OrgId, clauses: &[Clause], filters: &Filters) -> Box<dyn Query> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        Box::new(TermQuery::new(Term::from_field_text(fields.org, &org.to_string()), IndexRecordOption::Basic)),
    )];
    for c in clauses {
        let occur = if c.excluded { Occur::MustNot } else { Occur::Must };
        parts.push((occur, clause_query(fields.text, c)));
    }
    if clauses.iter().all(|c| c.excluded) {
        // A query of exclusions only still needs something to exclude from.
        parts.push((Occur::Must, Box::new(AllQuery)));
    }
    parts.extend(filter_queries(fields, filters).into_iter().map(|q| (Occur::Must, q)));
    Box::new(BooleanQuery::new(parts))
}

fn filter_queries(fields: &Fields, f: &Filters) -> Vec<Box<dyn Query>> {
    let mut out: Vec<Option<Box<dyn Query>>> = vec![
        any_of(fields.agent, &f.agents, ToString::to_string),
        any_of(fields.queue, &f.queues, ToString::to_string),
        any_of(fields.channel, &f.channels, |c| c.as_str().to_owned()),
        any_of(fields.disposition, &f.dispositions, |d| d.as_str().to_owned()),
        any_of(fields.kind, &f.kinds, |k| k.as_str().to_owned()),
        f.contact.and_then(|c| any_of(fields.contact, &[c], ToString::to_string)),
    ];
    if f.from.is_some() || f.until.is_some() {
        let lower = f.from.map_or(Bound::Unbounded, |t| Bound::Included(Term::from_field_i64(fields.at, t.unix_ms())));
        let upper = f.until.map_or(Bound::Unbounded, |t| Bound::Excluded(Term::from_field_i64(fields.at, t.unix_ms())));
        out.push(Some(Box::new(RangeQuery::new(lower, upper))));
    }
    if f.min_csat.is_some() || f.max_csat.is_some() {
        let lo = u64::from(f.min_csat.unwrap_or(0));
        let hi = u64::from(f.max_csat.unwrap_or(u8::MAX));
        out.push(Some(Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_u64(fields.csat, lo)),
            Bound::Included(Term::from_field_u64(fields.csat, hi)),
        ))));
    }
    if f.flagged_only || !f.rules.is_empty() {
        out.push(
            any_of(fields.flag, &f.rules, Clone::clone)
                .or_else(|| any_of(fields.flagged, &["yes"], |s| (*s).to_owned())),
        );
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clauses(text: &str) -> Vec<(bool, Vec<String>)> {
        parse_text(text).into_iter().map(|c| (c.excluded, c.terms.into_iter().map(|(_, t)| t).collect())).collect()
    }

    #[test]
    fn words_are_separate_clauses_and_quotes_make_one() {
        assert_eq!(
            clauses("Refund \"cancel my order\" -spam"),
            vec![
                (false, vec!["refund".into()]),
                (false, vec!["cancel".into(), "my".into(), "order".into()]),
                (true, vec!["spam".into()]),
            ]
        );
    }

    #[test]
    fn unbalanced_quote_and_lone_punctuation_never_fail() {
        assert_eq!(clauses("\"refund please"), vec![(false, vec!["refund".into(), "please".into()])]);
        assert!(clauses("!!! - \"\"").is_empty());
    }

    #[test]
    fn chinese_run_is_a_phrase_of_its_words() {
        let c = parse_text("退款流程");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].terms, vec![(0, "退款".to_owned()), (2, "流程".to_owned())]);
    }
}
