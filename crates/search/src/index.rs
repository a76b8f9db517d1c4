//! The index itself: create or open (in a directory or in RAM), add and replace documents,
//! delete a contact's documents, commit, and search within one org with highlighted snippets.
//!
//! Writes go through one tantivy writer behind a lock; readers are reloaded on commit, so a
//! search sees exactly what was committed before it. This module must never return a document
//! of another org than the one asked for, and never trust a stored field to parse: a stored
//! value that does not parse is reported as [`SearchError::CorruptDocument`], not unwrapped.

use std::path::Path;
use std::sync::Mutex;

use model::{Channel, OrgId, ReasonCode, Timestamp};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::document::{DocumentKind, Fields, SearchDocument, Speaker, document_key};
use crate::query::{SearchQuery, SortOrder, build, parse_text, term_count};
use crate::rules::{KeywordRules, RuleHit};
use crate::tokenizer::{ANALYZER_NAME, MixedTokenizer};
use crate::{Highlight, SearchError, SearchHit, SearchResults};

/// Limits of one index. Every one is checked before tantivy sees the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexConfig {
    /// Memory the writer buffers before flushing a segment (tantivy needs at least 15 MB per thread).
    pub writer_memory_bytes: usize,
    /// Indexing threads.
    pub writer_threads: usize,
    /// Longest text accepted in one document; split longer emails before indexing.
    pub max_text_bytes: usize,
    /// Longest query text accepted.
    pub max_query_chars: usize,
    /// Most terms over all clauses of one query.
    pub max_query_terms: usize,
    /// Most hits in one page.
    pub max_page_hits: usize,
    /// Deepest hit reachable by paging (offset + limit).
    pub max_hit_depth: usize,
    /// Longest highlighted snippet, in characters.
    pub snippet_max_chars: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            writer_memory_bytes: 64_000_000,
            writer_threads: 1,
            max_text_bytes: 256 * 1024,
            max_query_chars: 512,
            max_query_terms: 32,
            max_page_hits: 100,
            max_hit_depth: 10_000,
            snippet_max_chars: 160,
        }
    }
}

/// Most documents one [`SearchIndex::delete_ordinals`] removes (one recording has at most
/// 10 000 transcript segments).
pub const MAX_KEYS_PER_DELETE: u32 = 100_000;

/// What indexing one document found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexOutcome {
    /// The keyword rules the text matched; the caller flags the contact for QA with them.
    pub rule_hits: Vec<RuleHit>,
}

/// A full-text index of contact texts for every org of a deployment.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    /// One lock for add, delete and commit: a replace (delete + add) of one key is atomic with
    /// respect to another replace of the same key.
    writer: Mutex<IndexWriter>,
    fields: Fields,
    config: IndexConfig,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("config", &self.config).finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// A new index held in memory (tests, demos, benchmarks).
    pub fn in_ram(config: IndexConfig) -> Result<Self, SearchError> {
        let (schema, _) = Fields::schema();
        Self::wrap(Index::create_in_ram(schema), config)
    }

    /// Opens the index in `dir`, creating it when the directory is empty. The directory must exist.
    pub fn open_or_create_in_dir(dir: &Path, config: IndexConfig) -> Result<Self, SearchError> {
        let (schema, _) = Fields::schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| SearchError::Directory { path: dir.display().to_string(), reason: e.to_string() })?;
        let index = Index::open_or_create(directory, schema).map_err(SearchError::from_tantivy)?;
        Self::wrap(index, config)
    }

    fn wrap(index: Index, config: IndexConfig) -> Result<Self, SearchError> {
        index.tokenizers().register(ANALYZER_NAME, TextAnalyzer::from(MixedTokenizer::default()));
        let (_, fields) = Fields::schema();
        let writer = index
            .writer_with_num_threads(config.writer_threads.max(1), config.writer_memory_bytes)
            .map_err(SearchError::from_tantivy)?;
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(SearchError::from_tantivy)?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields, config })
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// Adds a document, replacing any earlier one with the same contact, kind and ordinal, and
    /// applies the keyword rules. Visible to searches after the next [`SearchIndex::commit`].
    pub fn index(&self, doc: &SearchDocument, rules: &KeywordRules) -> Result<IndexOutcome, SearchError> {
        if doc.text.len() > self.config.max_text_bytes {
            return Err(SearchError::TextTooLong { bytes: doc.text.len(), max_text_bytes: self.config.max_text_bytes });
        }
        let rule_hits = rules.matches(&doc.text);
        let f = &self.fields;
        let key = document_key(doc.org, doc.contact, doc.kind, doc.ordinal);
        let mut d = TantivyDocument::default();
        d.add_text(f.key, &key);
        d.add_text(f.org, doc.org.to_string());
        d.add_text(f.contact, doc.contact.to_string());
        d.add_text(f.kind, doc.kind.as_str());
        d.add_u64(f.ordinal, u64::from(doc.ordinal));
        doc.agent.inspect(|a| d.add_text(f.agent, a.to_string()));
        doc.queue.inspect(|q| d.add_text(f.queue, q.to_string()));
        doc.customer.inspect(|c| d.add_text(f.customer, c.to_string()));
        d.add_text(f.channel, doc.channel.as_str());
        d.add_i64(f.at, doc.at.unix_ms());
        if let Some(disp) = &doc.disposition {
            d.add_text(f.disposition, disp.as_str());
        }
        doc.csat.inspect(|c| d.add_u64(f.csat, u64::from(*c)));
        doc.recording_offset_ms.inspect(|o| d.add_u64(f.offset, *o));
        doc.speaker.inspect(|s| d.add_text(f.speaker, s.as_str()));
        for hit in &rule_hits {
            d.add_text(f.flag, &hit.rule);
        }
        if !rule_hits.is_empty() {
            d.add_text(f.flagged, "yes");
        }
        d.add_text(f.text, &doc.text);
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        writer.delete_term(Term::from_field_text(f.key, &key));
        writer.add_document(d).map_err(SearchError::from_tantivy)?;
        Ok(IndexOutcome { rule_hits })
    }

    /// Removes every document of one contact of `org` (retention, erasure, re-transcription).
    /// Documents of another org are never touched, whatever contact id is given.
    pub fn delete_contact(&self, org: OrgId, contact: model::ContactId) -> Result<(), SearchError> {
        let term = |field, value: String| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, &value), IndexRecordOption::Basic))
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, term(self.fields.org, org.to_string())),
            (Occur::Must, term(self.fields.contact, contact.to_string())),
        ]);
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        writer.delete_query(Box::new(query)).map_err(SearchError::from_tantivy)?;
        Ok(())
    }

    /// Removes the documents of one contact of `org` whose kind is `kind` and whose ordinal is in
    /// `ordinals` (one recording's transcript segments when a recording is deleted). At most
    /// [`MAX_KEYS_PER_DELETE`] ordinals per call; documents of another org are never touched.
    pub fn delete_ordinals(
        &self,
        org: OrgId,
        contact: model::ContactId,
        kind: DocumentKind,
        ordinals: std::ops::Range<u32>,
    ) -> Result<(), SearchError> {
        if ordinals.len() > MAX_KEYS_PER_DELETE as usize {
            return Err(SearchError::TooManyKeys { max: MAX_KEYS_PER_DELETE });
        }
        let writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        for ordinal in ordinals {
            writer.delete_term(Term::from_field_text(self.fields.key, &document_key(org, contact, kind, ordinal)));
        }
        Ok(())
    }

    /// Makes everything indexed so far durable and visible to searches.
    pub fn commit(&self) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        writer.commit().map_err(SearchError::from_tantivy)?;
        self.reader.reload().map_err(SearchError::from_tantivy)
    }

    /// Searches the documents of `org` only.
    pub fn search(&self, org: OrgId, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        self.check(query)?;
        let clauses = parse_text(&query.text);
        if term_count(&clauses) > self.config.max_query_terms {
            return Err(SearchError::QueryTooLong { what: "terms", max: self.config.max_query_terms });
        }
        let q = build(&self.fields, org, &clauses, &query.filters);
        let searcher = self.reader.searcher();
        let page = TopDocs::with_limit(query.limit.max(1)).and_offset(query.offset);
        let (addresses, total): (Vec<(Option<f32>, DocAddress)>, usize) = match query.order {
            SortOrder::Relevance => {
                let (hits, total) =
                    searcher.search(&q, &(page.order_by_score(), Count)).map_err(SearchError::from_tantivy)?;
                (hits.into_iter().map(|(score, a)| (Some(score), a)).collect(), total)
            }
            SortOrder::Newest => {
                let collector = (page.order_by_fast_field::<i64>("at", Order::Desc), Count);
                let (hits, total) = searcher.search(&q, &collector).map_err(SearchError::from_tantivy)?;
                (hits.into_iter().map(|(_, a)| (None, a)).collect(), total)
            }
        };
        let mut snippets =
            SnippetGenerator::create(&searcher, &*q, self.fields.text).map_err(SearchError::from_tantivy)?;
        snippets.set_max_num_chars(self.config.snippet_max_chars);
        let hits = addresses
            .into_iter()
            .map(|(score, a)| self.hit(&searcher, a, &snippets).map(|h| SearchHit { score, ..h }))
            .collect::<Result<Vec<_>, _>>()?;
        debug_assert!(hits.len() <= query.limit.max(1));
        Ok(SearchResults { total, hits })
    }

    fn check(&self, query: &SearchQuery) -> Result<(), SearchError> {
        if query.text.chars().count() > self.config.max_query_chars {
            return Err(SearchError::QueryTooLong { what: "characters", max: self.config.max_query_chars });
        }
        if query.limit == 0 || query.limit > self.config.max_page_hits {
            return Err(SearchError::BadPage { what: "limit", max: self.config.max_page_hits });
        }
        if query.offset.saturating_add(query.limit) > self.config.max_hit_depth {
            return Err(SearchError::BadPage { what: "offset + limit", max: self.config.max_hit_depth });
        }
        Ok(())
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        snippets: &SnippetGenerator,
    ) -> Result<SearchHit, SearchError> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(address).map_err(SearchError::from_tantivy)?;
        let text = |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned));
        let number = |field| doc.get_first(field).and_then(|v| v.as_u64());
        let corrupt = |what: &'static str| SearchError::CorruptDocument { field: what };
        let snippet = snippets.snippet_from_doc(&doc);
        Ok(SearchHit {
            contact: parse_stored(&doc, f.contact, "contact")?.ok_or(corrupt("contact"))?,
            kind: text(f.kind).and_then(|k| DocumentKind::parse(&k)).ok_or(corrupt("kind"))?,
            ordinal: number(f.ordinal).and_then(|o| u32::try_from(o).ok()).ok_or(corrupt("ordinal"))?,
            agent: parse_stored(&doc, f.agent, "agent")?,
            queue: parse_stored(&doc, f.queue, "queue")?,
            customer: parse_stored(&doc, f.customer, "customer")?,
            channel: text(f.channel).and_then(|c| c.parse::<Channel>().ok()).ok_or(corrupt("channel"))?,
            at: Timestamp::from_unix_ms(doc.get_first(f.at).and_then(|v| v.as_i64()).ok_or(corrupt("at"))?),
            disposition: text(f.disposition)
                .map(|d| ReasonCode::parse(&d).map_err(|_| corrupt("disposition")))
                .transpose()?,
            csat: number(f.csat).map(|c| u8::try_from(c).map_err(|_| corrupt("csat"))).transpose()?,
            recording_offset_ms: number(f.offset),
            speaker: text(f.speaker).map(|s| Speaker::parse(&s).ok_or(corrupt("speaker"))).transpose()?,
            rule_flags: doc.get_all(f.flag).filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            snippet: Highlight { fragment: snippet.fragment().to_owned(), highlighted: snippet.highlighted().to_vec() },
            score: None,
        })
    }

    /// The underlying tantivy index, for maintenance tools (merge policy, segment stats).
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

/// Parses an optional stored text field (an id); a value that does not parse is corruption.
fn parse_stored<T: std::str::FromStr>(
    doc: &TantivyDocument,
    field: tantivy::schema::Field,
    what: &'static str,
) -> Result<Option<T>, SearchError> {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .map(|s| s.parse().map_err(|_| SearchError::CorruptDocument { field: what }))
        .transpose()
}
