//! Texts and queries come from customers and users: any string must tokenize, index and search
//! without a panic, and every token must point at real text.

use model::{Channel, ContactId, OrgId, Timestamp};
use proptest::prelude::*;
use search::tokenizer::{Mode, analyse};
use search::{DocumentKind, IndexConfig, KeywordRules, SearchDocument, SearchError, SearchIndex, SearchQuery};

/// Strings mixing Han, Latin, digits, punctuation, emoji, combining marks and controls.
fn mixed_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(vec![
                "退款",
                "投诉",
                "流程",
                "refund",
                "Complaint",
                " ",
                "\"",
                "“",
                "-",
                "🙂",
                "e\u{301}",
                "\u{0}",
                "１２３",
                "ß",
                "İ",
            ])
            .prop_map(str::to_owned),
            "[\\PC]{0,3}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn tokens_are_sorted_and_point_at_their_text(text in mixed_text()) {
        for mode in [Mode::Index, Mode::Query] {
            let tokens = analyse(&text, mode);
            for pair in tokens.windows(2) {
                prop_assert!(pair[0].position <= pair[1].position);
            }
            for t in &tokens {
                let slice = text.get(t.offset_from..t.offset_to);
                prop_assert!(slice.is_some(), "offsets {}..{} are not char boundaries", t.offset_from, t.offset_to);
                prop_assert!(!t.text.is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_text_indexes_and_any_query_searches(text in mixed_text(), typed in mixed_text()) {
        let index = SearchIndex::in_ram(IndexConfig::default()).expect("index");
        let doc = SearchDocument {
            org: OrgId::from_u128(1),
            contact: ContactId::from_u128(1),
            kind: DocumentKind::ChatMessage,
            ordinal: 0,
            agent: None,
            queue: None,
            customer: None,
            channel: Channel::Chat,
            at: Timestamp::from_unix_ms(0),
            disposition: None,
            csat: None,
            recording_offset_ms: None,
            speaker: None,
            text: text.clone(),
        };
        index.index(&doc, &KeywordRules::standard()).expect("any text indexes");
        index.commit().expect("commit");
        let results = index.search(OrgId::from_u128(1), &SearchQuery { text: typed, limit: 10, ..SearchQuery::default() });
        prop_assert!(results.is_ok(), "{results:?}");
        // Searching the document's own words, as typed without quotes, finds it: the query side
        // reads the same runs the same way. Over the term limit the query is refused, by name.
        let own_words = text.replace(['"', '“', '”', '-'], " ");
        let terms = analyse(&own_words, Mode::Query).len();
        let own = index.search(OrgId::from_u128(1), &SearchQuery { text: own_words, limit: 10, ..SearchQuery::default() });
        if terms == 0 {
            prop_assert!(own.is_ok());
        } else if terms <= IndexConfig::default().max_query_terms {
            prop_assert_eq!(own.map(|r| r.total), Ok(1));
        } else {
            let refused = matches!(own, Err(SearchError::QueryTooLong { what: "terms", .. }));
            prop_assert!(refused);
        }
    }
}
