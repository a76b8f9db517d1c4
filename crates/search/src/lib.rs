//! Hotline's full-text search over what was said and written on contacts: call transcript
//! segments, chat messages, emails and agent notes, in Chinese and English.
//!
//! - [`SearchIndex`]: a tantivy index in a directory or in RAM. [`SearchIndex::index`] adds or
//!   replaces a [`SearchDocument`] and applies [`KeywordRules`] (投诉, 退款, complain*, refund*...),
//!   returning the rules it matched so the caller can flag the contact for QA and raise the
//!   complaint alert; [`SearchIndex::search`] runs a [`SearchQuery`] (words, "phrases", -exclusions,
//!   and [`Filters`] on date, agent, queue, channel, disposition, CSAT, kind, flags) and returns
//!   [`SearchHit`]s with a highlighted snippet and, for transcript segments, the offset in the
//!   recording to jump to.
//! - [`tokenizer`]: the analyzer (jieba for Han text, with its dictionary compiled in; lower-cased
//!   words for the rest), shared by indexing, queries, highlights.
//!
//! Invariants:
//! - org isolation: `search` takes the org as a separate argument and the org clause is added
//!   inside this crate on every query; no query text or filter can widen it;
//! - this is the only crate that uses tantivy; no network and no download at run time (the jieba
//!   dictionary ships inside the `jieba-rs` crate);
//! - every input is bounded by a named limit in [`IndexConfig`] or in [`rules`] (text bytes,
//!   query characters and terms, page size, paging depth, rules and keywords) and checked before
//!   tantivy sees it; user input never panics: odd query text is read leniently, over-limit input
//!   is an error;
//! - a document's key is (org, contact, kind, ordinal): indexing the same key again replaces it,
//!   so re-running a transcription job never duplicates hits;
//! - searches see exactly what was committed before them ([`SearchIndex::commit`]).

mod document;
mod index;
mod query;
pub mod rules;
pub mod tokenizer;

use std::ops::Range;

use model::{AgentId, Channel, ContactId, CustomerId, QueueId, ReasonCode, Timestamp};

pub use document::{DocumentKind, SearchDocument, Speaker};
pub use index::{IndexConfig, IndexOutcome, MAX_KEYS_PER_DELETE, SearchIndex};
pub use query::{Filters, SearchQuery, SortOrder};
pub use rules::{KeywordRule, KeywordRules, RuleHit};

/// A part of a document's text around the matches, with the matched words marked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Highlight {
    pub fragment: String,
    /// Byte ranges of `fragment` to highlight, in order, non-overlapping.
    pub highlighted: Vec<Range<usize>>,
}

impl Highlight {
    /// The fragment as HTML, text escaped, matches in `<mark>`.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 16 * self.highlighted.len());
        let mut at = 0;
        for r in &self.highlighted {
            let (Some(before), Some(marked)) = (self.fragment.get(at..r.start), self.fragment.get(r.clone())) else {
                continue;
            };
            escape_into(&mut out, before);
            out.push_str("<mark>");
            escape_into(&mut out, marked);
            out.push_str("</mark>");
            at = r.end;
        }
        escape_into(&mut out, self.fragment.get(at..).unwrap_or_default());
        out
    }

    /// The highlighted words, as they appear in the text.
    pub fn marked_words(&self) -> Vec<&str> {
        self.highlighted.iter().filter_map(|r| self.fragment.get(r.clone())).collect()
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// One matching document.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub contact: ContactId,
    pub kind: DocumentKind,
    pub ordinal: u32,
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    pub customer: Option<CustomerId>,
    pub channel: Channel,
    pub at: Timestamp,
    pub disposition: Option<ReasonCode>,
    pub csat: Option<u8>,
    /// For transcript segments: where to start playing the recording.
    pub recording_offset_ms: Option<u64>,
    pub speaker: Option<Speaker>,
    /// Names of the keyword rules that flagged this document.
    pub rule_flags: Vec<String>,
    pub snippet: Highlight,
    /// The BM25 relevance score, when hits are ordered by relevance (`None` for newest first).
    pub score: Option<f32>,
}

/// A page of hits and how many documents matched in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

/// Why indexing or searching failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the text is {bytes} bytes long; the index takes at most {max_text_bytes} per document")]
    TextTooLong { bytes: usize, max_text_bytes: usize },
    #[error("the query has too many {what} (at most {max})")]
    QueryTooLong { what: &'static str, max: usize },
    #[error("the page {what} must be 1 to {max}")]
    BadPage { what: &'static str, max: usize },
    #[error("keyword rule {rule:?} {problem}")]
    BadRule { rule: String, problem: String },
    #[error("cannot open the index directory {path}: {reason}")]
    Directory { path: String, reason: String },
    #[error("at most {max} documents can be deleted at once")]
    TooManyKeys { max: u32 },
    #[error("a stored document has an unreadable {field} field")]
    CorruptDocument { field: &'static str },
    #[error("the index writer lock was poisoned by a panic in another thread")]
    Poisoned,
    #[error("index error: {0}")]
    Index(String),
}

impl SearchError {
    fn from_tantivy(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}
