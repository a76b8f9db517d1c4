//! `GET /api/search` over real HTTP against a real tantivy index on disk: transcript segments in
//! Chinese and English and an agent note, on contacts of agents 1001 and 1002.

mod common;

use std::sync::Arc;

use model::{Channel, ContactId, DurationMs};
use reqwest::Method;
use search::{DocumentKind, IndexConfig, KeywordRules, SearchDocument, SearchIndex, Speaker};
use serde_json::Value;

use common::{Activity, T0, TestServer, demo_agent, json, problem, problem_type};

struct Fixture {
    s: TestServer,
    a: Activity,
    _index_dir: tempfile::TempDir,
}

fn doc(
    contact: ContactId,
    ext: &str,
    kind: DocumentKind,
    ordinal: u32,
    offset_ms: Option<u64>,
    text: &str,
) -> SearchDocument {
    SearchDocument {
        org: demo::DEMO_ORG,
        contact,
        kind,
        ordinal,
        agent: Some(demo_agent(ext).id),
        queue: None,
        customer: Some(demo::customer_id(1)),
        channel: Channel::Voice,
        at: T0.plus(DurationMs::from_secs(u64::from(ordinal) + 1)),
        disposition: None,
        csat: None,
        recording_offset_ms: offset_ms,
        speaker: offset_ms.map(|_| Speaker::Customer),
        text: text.into(),
    }
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let index = Arc::new(SearchIndex::open_or_create_in_dir(dir.path(), IndexConfig::default()).expect("index"));
    let s = common::start_tuned({
        let index = index.clone();
        move |state| state.with_search(index)
    })
    .await;
    let a = common::seed_activity(&s.store).await;
    let rules = KeywordRules::standard();
    let t = DocumentKind::TranscriptSegment;
    for d in [
        doc(a.contact_1001, "1001", t, 0, Some(12_000), "您好，我要退款，东西坏了"),
        doc(a.contact_1001, "1001", t, 1, Some(15_500), "I want a refund for the broken kettle"),
        doc(a.contact_1002, "1002", t, 0, Some(3_000), "I want a refund today"),
        doc(a.contact_1002, "1002", DocumentKind::AgentNote, 0, None, "客户投诉物流太慢"),
    ] {
        index.index(&d, &rules).expect("index doc");
    }
    index.commit().expect("commit");
    Fixture { s, a, _index_dir: dir }
}

async fn search(s: &TestServer, who: &common::Browser, query: &str) -> reqwest::Response {
    s.as_browser(who, Method::GET, &format!("/api/search?{query}")).send().await.expect("request")
}

fn enc(q: &str) -> String {
    let mut out = String::new();
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn contacts(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["contact"].as_str().expect("contact").to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn chinese_word_finds_the_transcript_moment_with_a_highlight() {
    let f = fixture().await;
    let sup = f.s.supervisor().await;
    let body = json(search(&f.s, &sup, &format!("q={}", enc("退款"))).await).await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    let hit = &items[0];
    assert_eq!(hit["contact"], f.a.contact_1001.to_string());
    assert_eq!(hit["kind"], "transcript");
    assert_eq!(hit["speaker"], "customer");
    assert_eq!(hit["offset_ms"], 12_000);
    assert_eq!(hit["recording"], f.a.recording_1001.to_string());
    assert!(hit["snippet_html"].as_str().expect("snippet").contains("<mark>退款</mark>"), "{hit}");
    assert!(hit["score"].as_f64().is_some_and(|x| x > 0.0), "{hit}");
}

#[tokio::test]
async fn english_word_and_phrase_find_both_agents_contacts() {
    let f = fixture().await;
    let sup = f.s.supervisor().await;
    let body = json(search(&f.s, &sup, "q=refund").await).await;
    assert_eq!(body["total"], 2, "{body}");
    let mut expected = vec![f.a.contact_1001.to_string(), f.a.contact_1002.to_string()];
    expected.sort();
    assert_eq!(contacts(&body), expected);
    for hit in body["items"].as_array().expect("items") {
        assert!(hit["snippet_html"].as_str().expect("snippet").contains("<mark>refund</mark>"), "{hit}");
        let expected_offset = if hit["contact"] == f.a.contact_1001.to_string() { 15_500 } else { 3_000 };
        assert_eq!(hit["offset_ms"], expected_offset);
    }
    // A phrase must appear in that order: "refund today" only on 1002's call.
    let body = json(search(&f.s, &sup, &format!("q={}", enc("\"refund today\""))).await).await;
    assert_eq!(contacts(&body), vec![f.a.contact_1002.to_string()]);
    let body = json(search(&f.s, &sup, &format!("q={}", enc("\"today refund\""))).await).await;
    assert_eq!(body["total"], 0, "{body}");
}

#[tokio::test]
async fn a_note_is_found_and_kind_and_agent_filters_narrow() {
    let f = fixture().await;
    let sup = f.s.supervisor().await;
    let body = json(search(&f.s, &sup, &format!("q={}", enc("投诉"))).await).await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["kind"], "note");
    assert_eq!(items[0]["contact"], f.a.contact_1002.to_string());
    assert!(items[0]["recording"].is_null());
    assert!(items[0]["snippet_html"].as_str().expect("snippet").contains("<mark>投诉</mark>"));

    let body = json(search(&f.s, &sup, &format!("q={}&kind=transcript", enc("投诉"))).await).await;
    assert_eq!(body["total"], 0, "{body}");
    let body = json(search(&f.s, &sup, &format!("q={}&kind=note", enc("投诉"))).await).await;
    assert_eq!(body["total"], 1, "{body}");

    let agent_1002 = demo_agent("1002").id.to_string();
    let body = json(search(&f.s, &sup, &format!("q=refund&agent={agent_1002}")).await).await;
    assert_eq!(contacts(&body), vec![f.a.contact_1002.to_string()]);
}

#[tokio::test]
async fn an_agent_sees_only_their_own_contacts_hits() {
    let f = fixture().await;
    let agent = f.s.agent("1001").await;
    let body = json(search(&f.s, &agent, "q=refund").await).await;
    assert_eq!(contacts(&body), vec![f.a.contact_1001.to_string()]);
    assert_eq!(body["total"], 1);
    // The other agent's note stays invisible, even when asked for by agent id.
    let body = json(search(&f.s, &agent, &format!("q={}", enc("投诉"))).await).await;
    assert_eq!(body["total"], 0, "{body}");
    let other = demo_agent("1002").id.to_string();
    let body = json(search(&f.s, &agent, &format!("q=refund&agent={other}")).await).await;
    assert_eq!(body["total"], 0, "{body}");
    let agent_1002 = f.s.agent("1002").await;
    let body = json(search(&f.s, &agent_1002, &format!("q={}", enc("退款"))).await).await;
    assert_eq!(body["total"], 0, "{body}");
}

#[tokio::test]
async fn bad_queries_are_problems() {
    let f = fixture().await;
    let sup = f.s.supervisor().await;
    let oversized = "退".repeat(400);
    for query in [
        "q=".to_owned(),
        "q=%20%20".to_owned(),
        "kind=note".to_owned(),
        format!("q={}", enc(&oversized)),
        "q=refund&kind=fax".to_owned(),
        "q=refund&limit=0".to_owned(),
        "q=refund&limit=101".to_owned(),
        "q=refund&limit=abc".to_owned(),
        "q=refund&agent=nobody".to_owned(),
        "q=refund&from=2000&to=1000".to_owned(),
    ] {
        let (status, body) = problem(search(&f.s, &sup, &query).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["type"], problem_type("bad-request"), "{query}: {body}");
    }
}

#[tokio::test]
async fn without_an_index_search_is_unavailable() {
    let s = common::start().await;
    let sup = s.supervisor().await;
    let (status, _) = problem(search(&s, &sup, "q=refund").await).await;
    assert_eq!(status, 503);
    let (status, _) = problem(s.anon(Method::GET, "/api/search?q=refund").send().await.expect("request")).await;
    assert_eq!(status, 401);
}
