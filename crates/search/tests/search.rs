//! Behaviour of the index as the QA and supervisor pages use it: Chinese and English keyword
//! search, phrases, highlights, filters, org isolation and keyword-rule flags.

use model::{AgentId, Channel, ContactId, CustomerId, OrgId, QueueId, ReasonCode, Timestamp};
use search::{
    DocumentKind, Filters, IndexConfig, KeywordRule, KeywordRules, SearchDocument, SearchError, SearchIndex,
    SearchQuery, SortOrder, Speaker,
};

const ORG: OrgId = OrgId::from_u128(1);
const OTHER_ORG: OrgId = OrgId::from_u128(2);
const ALICE: AgentId = AgentId::from_u128(11);
const BOB: AgentId = AgentId::from_u128(12);
const SUPPORT: QueueId = QueueId::from_u128(21);
const SALES: QueueId = QueueId::from_u128(22);
const DAY_MS: i64 = 86_400_000;

fn doc(contact: u128, kind: DocumentKind, text: &str) -> SearchDocument {
    SearchDocument {
        org: ORG,
        contact: ContactId::from_u128(contact),
        kind,
        ordinal: 0,
        agent: Some(ALICE),
        queue: Some(SUPPORT),
        customer: Some(CustomerId::from_u128(31)),
        channel: match kind {
            DocumentKind::ChatMessage => Channel::Chat,
            DocumentKind::Email => Channel::Email,
            _ => Channel::Voice,
        },
        at: Timestamp::from_unix_ms(10 * DAY_MS),
        disposition: None,
        csat: None,
        recording_offset_ms: None,
        speaker: None,
        text: text.to_owned(),
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery { text: text.to_owned(), limit: 20, ..SearchQuery::default() }
}

fn filtered(text: &str, filters: Filters) -> SearchQuery {
    SearchQuery { filters, ..query(text) }
}

/// A small org with chats, emails, notes and a transcript, plus another org saying the same.
fn corpus() -> SearchIndex {
    let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
    let rules = KeywordRules::standard();
    let docs = vec![
        SearchDocument {
            csat: Some(1),
            disposition: Some(reason("complaint")),
            ..doc(1, DocumentKind::ChatMessage, "我要投诉你们的退款流程")
        },
        SearchDocument {
            agent: Some(BOB),
            queue: Some(SALES),
            at: Timestamp::from_unix_ms(12 * DAY_MS),
            csat: Some(5),
            ..doc(2, DocumentKind::Email, "Hello, I would like to cancel my order today. Where is my refund?")
        },
        SearchDocument {
            at: Timestamp::from_unix_ms(14 * DAY_MS),
            ..doc(3, DocumentKind::AgentNote, "客户询问发票，已解决。My order, cancel it later.")
        },
        SearchDocument {
            recording_offset_ms: Some(73_500),
            speaker: Some(Speaker::Customer),
            ordinal: 4,
            ..doc(4, DocumentKind::TranscriptSegment, "I want to make a complaint about the delivery")
        },
        doc(5, DocumentKind::ChatMessage, "流程很慢，退款还没到账"),
        SearchDocument {
            org: OTHER_ORG,
            ..doc(101, DocumentKind::ChatMessage, "我要投诉你们的退款流程 complaint refund")
        },
    ];
    for d in &docs {
        index.index(d, &rules).expect("indexed");
    }
    index.commit().expect("committed");
    index
}

fn reason(s: &str) -> ReasonCode {
    ReasonCode::parse(s).expect("valid reason code")
}

fn contacts(index: &SearchIndex, org: OrgId, q: &SearchQuery) -> Vec<u128> {
    let mut c: Vec<u128> =
        index.search(org, q).expect("search").hits.iter().map(|h| h.contact.as_uuid().as_u128()).collect();
    c.sort_unstable();
    c
}

#[test]
fn chinese_sentence_is_found_by_each_of_its_keywords() {
    let index = corpus();
    assert_eq!(contacts(&index, ORG, &query("投诉")), vec![1]);
    assert_eq!(contacts(&index, ORG, &query("退款")), vec![1, 5]);
}

#[test]
fn chinese_phrase_matches_only_in_order() {
    let index = corpus();
    assert_eq!(contacts(&index, ORG, &query("退款流程")), vec![1]);
    assert_eq!(contacts(&index, ORG, &query("“退款流程”")), vec![1]);
    assert_eq!(contacts(&index, ORG, &query("流程退款")), Vec::<u128>::new());
    // Both words, any order: two clauses.
    assert_eq!(contacts(&index, ORG, &query("流程 退款")), vec![1, 5]);
}

#[test]
fn english_phrase_needs_the_words_together_and_in_order() {
    let index = corpus();
    assert_eq!(contacts(&index, ORG, &query("\"cancel my order\"")), vec![2]);
    assert_eq!(contacts(&index, ORG, &query("cancel order")), vec![2, 3]);
    assert_eq!(contacts(&index, ORG, &query("REFUND")), vec![2]);
}

#[test]
fn excluded_word_removes_hits() {
    let index = corpus();
    assert_eq!(contacts(&index, ORG, &query("order -today")), vec![3]);
}

#[test]
fn hits_carry_highlighted_snippets() {
    let index = corpus();
    let results = index.search(ORG, &query("投诉")).expect("search");
    let snippet = &results.hits[0].snippet;
    assert_eq!(snippet.marked_words(), vec!["投诉"]);
    assert!(snippet.to_html().contains("<mark>投诉</mark>"), "{}", snippet.to_html());

    let results = index.search(ORG, &query("refund")).expect("search");
    assert_eq!(results.hits[0].snippet.marked_words(), vec!["refund"]);
}

#[test]
fn transcript_hit_links_to_the_moment_in_the_recording() {
    let index = corpus();
    let hit = &index.search(ORG, &query("complaint delivery")).expect("search").hits[0];
    assert_eq!(hit.kind, DocumentKind::TranscriptSegment);
    assert_eq!(hit.recording_offset_ms, Some(73_500));
    assert_eq!(hit.speaker, Some(Speaker::Customer));
    assert_eq!(hit.ordinal, 4);
}

#[test]
fn another_orgs_documents_are_never_returned() {
    let index = corpus();
    let other_contact = Filters { contact: Some(ContactId::from_u128(101)), ..Filters::default() };
    assert_eq!(contacts(&index, ORG, &filtered("投诉", other_contact.clone())), Vec::<u128>::new());
    assert_eq!(contacts(&index, ORG, &filtered("", other_contact)), Vec::<u128>::new());
    assert_eq!(contacts(&index, OTHER_ORG, &query("投诉")), vec![101]);
    assert_eq!(index.search(OTHER_ORG, &query("")).expect("search").total, 1);
}

#[test]
fn filters_narrow_by_agent_queue_channel_date_disposition_csat_and_kind() {
    let index = corpus();
    let all = || Filters::default();
    let by = |f: Filters| contacts(&index, ORG, &filtered("", f));
    assert_eq!(by(Filters { agents: vec![BOB], ..all() }), vec![2]);
    assert_eq!(by(Filters { queues: vec![SUPPORT], ..all() }), vec![1, 3, 4, 5]);
    assert_eq!(by(Filters { channels: vec![Channel::Email, Channel::Chat], ..all() }), vec![1, 2, 5]);
    let days = |from: i64, until: i64| Filters {
        from: Some(Timestamp::from_unix_ms(from * DAY_MS)),
        until: Some(Timestamp::from_unix_ms(until * DAY_MS)),
        ..all()
    };
    assert_eq!(by(days(11, 14)), vec![2]);
    assert_eq!(by(days(12, 15)), vec![2, 3]);
    assert_eq!(by(Filters { dispositions: vec![reason("complaint")], ..all() }), vec![1]);
    assert_eq!(by(Filters { max_csat: Some(2), ..all() }), vec![1]);
    assert_eq!(by(Filters { min_csat: Some(4), ..all() }), vec![2]);
    assert_eq!(by(Filters { kinds: vec![DocumentKind::AgentNote], ..all() }), vec![3]);
    assert_eq!(
        contacts(&index, ORG, &filtered("退款", Filters { channels: vec![Channel::Chat], max_csat: Some(3), ..all() })),
        vec![1]
    );
}

#[test]
fn keyword_rules_flag_documents_on_indexing() {
    let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
    let rules = KeywordRules::standard();
    let outcome = index.index(&doc(1, DocumentKind::ChatMessage, "我要投诉你们的退款流程"), &rules).expect("indexed");
    let names: Vec<&str> = outcome.rule_hits.iter().map(|h| h.rule.as_str()).collect();
    assert_eq!(names, vec!["complaint", "refund"]);
    let quiet = index.index(&doc(2, DocumentKind::Email, "thanks, all good"), &rules).expect("indexed");
    assert!(quiet.rule_hits.is_empty());
    index.commit().expect("commit");

    assert_eq!(contacts(&index, ORG, &filtered("", Filters { flagged_only: true, ..Filters::default() })), vec![1]);
    let hit = &index.search(ORG, &query("投诉")).expect("search").hits[0];
    assert_eq!(hit.rule_flags, vec!["complaint".to_owned(), "refund".to_owned()]);
}

#[test]
fn configured_rule_lists_replace_the_standard_ones() {
    let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
    let rules =
        KeywordRules::new(vec![KeywordRule::new("legal", &["律师", "lawyer*"]).expect("valid")]).expect("valid");
    let outcome =
        index.index(&doc(1, DocumentKind::AgentNote, "Customer mentioned lawyers. 我要投诉"), &rules).expect("ok");
    assert_eq!(outcome.rule_hits.len(), 1);
    assert_eq!(outcome.rule_hits[0].rule, "legal");
    index.commit().expect("commit");
    let only_legal = Filters { rules: vec!["legal".into()], ..Filters::default() };
    assert_eq!(contacts(&index, ORG, &filtered("", only_legal)), vec![1]);
}

#[test]
fn reindexing_a_document_replaces_it_and_deleting_a_contact_removes_it() {
    let index = corpus();
    let rules = KeywordRules::standard();
    index.index(&doc(1, DocumentKind::ChatMessage, "问题已解决，谢谢"), &rules).expect("indexed");
    index.commit().expect("commit");
    assert_eq!(contacts(&index, ORG, &query("投诉")), Vec::<u128>::new());
    assert_eq!(contacts(&index, ORG, &query("解决")), vec![1, 3]);

    index.delete_contact(ORG, ContactId::from_u128(3)).expect("deleted");
    index.delete_contact(ORG, ContactId::from_u128(101)).expect("no-op across orgs");
    index.commit().expect("commit");
    assert_eq!(contacts(&index, ORG, &query("解决")), vec![1]);
    assert_eq!(contacts(&index, OTHER_ORG, &query("投诉")), vec![101]);
}

#[test]
fn deleting_a_range_of_ordinals_removes_one_recordings_segments_only() {
    let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
    let rules = KeywordRules::standard();
    let segment = |ordinal: u32, text: &str| SearchDocument {
        ordinal,
        recording_offset_ms: Some(1_000),
        ..doc(7, DocumentKind::TranscriptSegment, text)
    };
    for d in [segment(0, "我想开发票"), segment(1, "发票抬头"), segment(10_000, "发票和退款")] {
        index.index(&d, &rules).expect("indexed");
    }
    index.index(&doc(7, DocumentKind::AgentNote, "客户要发票"), &rules).expect("note");
    index.commit().expect("commit");
    assert_eq!(index.search(ORG, &query("发票")).expect("search").total, 4);

    let contact = ContactId::from_u128(7);
    index.delete_ordinals(ORG, contact, DocumentKind::TranscriptSegment, 0..10_000).expect("deleted");
    index.delete_ordinals(OTHER_ORG, contact, DocumentKind::TranscriptSegment, 10_000..20_000).expect("other org");
    index.commit().expect("commit");
    let left = index.search(ORG, &query("发票")).expect("search").hits;
    let mut left: Vec<(DocumentKind, u32)> = left.iter().map(|h| (h.kind, h.ordinal)).collect();
    left.sort_by_key(|(_, o)| *o);
    assert_eq!(left, vec![(DocumentKind::AgentNote, 0), (DocumentKind::TranscriptSegment, 10_000)]);
    let too_many = index.delete_ordinals(ORG, contact, DocumentKind::TranscriptSegment, 0..u32::MAX);
    assert!(matches!(too_many, Err(SearchError::TooManyKeys { .. })), "{too_many:?}");
}

#[test]
fn index_in_a_directory_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let index = SearchIndex::open_or_create_in_dir(dir.path(), IndexConfig::default()).expect("create");
        index
            .index(&doc(7, DocumentKind::Email, "关于退款的投诉 refund complaint"), &KeywordRules::standard())
            .expect("ok");
        index.commit().expect("commit");
    }
    let index = SearchIndex::open_or_create_in_dir(dir.path(), IndexConfig::default()).expect("reopen");
    assert_eq!(contacts(&index, ORG, &query("退款")), vec![7]);
    assert_eq!(contacts(&index, ORG, &query("投诉")), vec![7]);
}

#[test]
fn newest_order_and_paging() {
    let index = corpus();
    let newest = SearchQuery { order: SortOrder::Newest, limit: 2, ..query("") };
    let page1 = index.search(ORG, &newest).expect("search");
    assert_eq!(page1.total, 5);
    let ats: Vec<i64> = page1.hits.iter().map(|h| h.at.unix_ms()).collect();
    assert_eq!(ats, vec![14 * DAY_MS, 12 * DAY_MS]);
    let page3 = index.search(ORG, &SearchQuery { offset: 4, ..newest }).expect("search");
    assert_eq!(page3.hits.len(), 1);
}

#[test]
fn over_limit_requests_are_refused_with_the_limit() {
    let index = corpus();
    let long = "退".repeat(IndexConfig::default().max_query_chars + 1);
    assert!(matches!(index.search(ORG, &query(&long)), Err(SearchError::QueryTooLong { what: "characters", .. })));
    assert!(matches!(index.search(ORG, &SearchQuery { limit: 0, ..query("x") }), Err(SearchError::BadPage { .. })));
    assert!(matches!(index.search(ORG, &SearchQuery { limit: 1000, ..query("x") }), Err(SearchError::BadPage { .. })));
    let huge = doc(9, DocumentKind::Email, &"a ".repeat(200_000));
    assert!(matches!(index.index(&huge, &KeywordRules::standard()), Err(SearchError::TextTooLong { .. })));
}

#[test]
fn odd_query_text_never_fails() {
    let index = corpus();
    for text in ["\"", "-", "“", "\"\"\"", "-\"投诉\"", "*?:()[]{}^~", "a\u{0}b", "🙂 退款"] {
        assert!(index.search(ORG, &query(text)).is_ok(), "{text:?}");
    }
}

#[test]
fn concurrent_reindexing_of_one_document_leaves_exactly_one_copy() {
    let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
    let rules = KeywordRules::standard();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (index, rules) = (&index, &rules);
            s.spawn(move || {
                for i in 0..25 {
                    let text = format!("退款 attempt {t} {i}");
                    index.index(&doc(1, DocumentKind::ChatMessage, &text), rules).expect("indexed");
                }
            });
        }
    });
    index.commit().expect("commit");
    assert_eq!(index.search(ORG, &query("退款")).expect("search").total, 1);
}
