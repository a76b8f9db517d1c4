//! Customer merge and customer search over real HTTP: a supervisor merges the Demo Shop's gold
//! customer 1 (found by phone on a call) into customer 2 (found by WeChat and email); the
//! history, tickets and lookups answer for both, the old id redirects, refusals are problem
//! documents, agents may not merge, and the merge is in the audit log and the API document.

mod common;

use common::{TestServer, problem, problem_type};
use model::*;
use reqwest::Method;
use serde_json::{Value, json};

const AT: i64 = 1_790_000_000_000;

/// A voice contact of customer 1, and a WeChat and an email contact of customer 2.
async fn seed_history(s: &TestServer) -> [ContactId; 3] {
    let org = demo::DEMO_ORG;
    let rows = [
        (0xc1_0001, demo::customer_id(1), Channel::Voice, "+8613800000001"),
        (0xc1_0002, demo::customer_id(2), Channel::WeChat, "wx_openid_2"),
        (0xc1_0003, demo::customer_id(2), Channel::Email, "customer02@example.com"),
    ];
    let mut ids = [ContactId::from_u128(0); 3];
    for (i, (n, customer, channel, from)) in rows.into_iter().enumerate() {
        let id = ContactId::from_u128(n);
        let at = Timestamp::from_unix_ms(AT + i as i64 * 60_000);
        let mut c = Contact::arrived(id, org, channel, Direction::Inbound, from, "4000", at);
        c.customer = Some(customer);
        s.store.insert_contact(&c).await.expect("contact");
        ids[i] = id;
    }
    ids
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn merge(s: &TestServer, b: &common::Browser, into: CustomerId, from: &str) -> reqwest::Response {
    let path = format!("/api/customers/{into}/merge");
    s.as_browser(b, Method::POST, &path).json(&json!({"from": from})).send().await.expect("merge")
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|c| c["id"].as_str().expect("id").to_owned()).collect()
}

#[tokio::test]
async fn a_supervisor_merges_two_customers_and_the_history_shows_both() {
    let s = common::start().await;
    let contacts = seed_history(&s).await;
    let (gold, normal) = (demo::customer_id(1), demo::customer_id(2));
    let supervisor = s.supervisor().await;

    let done = common::json(merge(&s, &supervisor, normal, &gold.to_string()).await).await;
    assert_eq!(done["customer"]["id"], normal.to_string());
    assert_eq!(done["customer"]["vip"], "gold", "the higher VIP tier is kept");
    assert_eq!(done["customer"]["phones"], json!(["+8613800000002", "+8613800000001"]));
    assert_eq!(
        (&done["merged"]["from"], &done["merged"]["into"]),
        (&json!(gold.to_string()), &json!(normal.to_string()))
    );
    assert_eq!(done["moved"]["contacts"], 1);

    let history = common::json(
        s.as_browser(&supervisor, Method::GET, &format!("/api/customers/{normal}/contacts")).send().await.expect("get"),
    )
    .await;
    let want: Vec<String> = contacts.iter().rev().map(ToString::to_string).collect();
    assert_eq!(ids(&history), want, "the screen-pop history holds both customers' contacts, newest first");
    let by_phone = common::json(
        s.as_browser(&supervisor, Method::GET, "/api/customers?phone=13800000001").send().await.expect("get"),
    )
    .await;
    assert_eq!(ids(&by_phone), [normal.to_string()], "the merged customer's number finds the survivor");

    let log =
        common::json(s.as_browser(&s.admin().await, Method::GET, "/api/audit").send().await.expect("audit")).await;
    let entry = &log["items"][0];
    assert_eq!(
        (&entry["actor"], &entry["action"], &entry["path"], &entry["status"]),
        (
            &json!("supervisor"),
            &json!("merge_customers"),
            &json!(format!("/api/customers/{normal}/merge")),
            &json!(200)
        )
    );
}

#[tokio::test]
async fn the_merged_id_redirects_reads_and_refuses_writes() {
    let s = common::start().await;
    seed_history(&s).await;
    let (gold, normal) = (demo::customer_id(1), demo::customer_id(2));
    let supervisor = s.supervisor().await;
    common::json(merge(&s, &supervisor, normal, &gold.to_string()).await).await;

    let raw = no_redirects();
    for suffix in ["", "/contacts", "/tickets", "/orders"] {
        let resp = raw
            .get(s.url(&format!("/api/customers/{gold}{suffix}")))
            .header("cookie", &supervisor.cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 308, "{suffix}");
        assert_eq!(resp.headers()["location"], format!("/api/customers/{normal}{suffix}").as_str());
    }
    let followed = common::json(
        s.as_browser(&supervisor, Method::GET, &format!("/api/customers/{gold}")).send().await.expect("get"),
    )
    .await;
    assert_eq!(followed["id"], normal.to_string(), "a client that follows redirects lands on the survivor");

    let patch = s.as_browser(&supervisor, Method::PATCH, &format!("/api/customers/{gold}")).json(&json!({"name": "x"}));
    let (status, p) = problem(patch.send().await.expect("patch")).await;
    assert_eq!((status, p["type"].clone()), (409, json!(problem_type("conflict"))));
    assert!(p["detail"].as_str().unwrap_or("").contains(&normal.to_string()), "{p}");
}

#[tokio::test]
async fn refused_merges_are_problem_documents_and_agents_may_not_merge() {
    let s = common::start().await;
    let (gold, normal, third) = (demo::customer_id(1), demo::customer_id(2), demo::customer_id(3));
    let supervisor = s.supervisor().await;

    let agent = s.agent("1001").await;
    let (status, p) = problem(merge(&s, &agent, normal, &gold.to_string()).await).await;
    assert_eq!((status, p["type"].clone()), (403, json!(problem_type("forbidden"))));

    let (status, p) = problem(merge(&s, &supervisor, normal, &normal.to_string()).await).await;
    assert_eq!((status, p["type"].clone()), (422, json!(problem_type("validation"))), "into itself: {p}");
    let (status, _) = problem(merge(&s, &supervisor, normal, "not-a-uuid").await).await;
    assert_eq!(status, 422);
    let missing = "0190f5a0-0000-7000-8000-0000000000ff";
    let (status, _) = problem(merge(&s, &supervisor, normal, missing).await).await;
    assert_eq!(status, 404);

    let admin = s.admin().await;
    common::json(merge(&s, &admin, normal, &gold.to_string()).await).await;
    for (into, from) in [(third, gold), (gold, third)] {
        let (status, p) = problem(merge(&s, &supervisor, into, &from.to_string()).await).await;
        assert_eq!((status, p["type"].clone()), (409, json!(problem_type("conflict"))), "{p}");
        assert!(p["detail"].as_str().unwrap_or("").contains("already merged"), "{p}");
    }
    let third_now = common::json(
        s.as_browser(&supervisor, Method::GET, &format!("/api/customers/{third}")).send().await.expect("get"),
    )
    .await;
    assert_eq!(third_now["phones"], json!(["+8613800000003"]), "a refused merge changed nothing");
}

#[tokio::test]
async fn customers_are_searched_by_name_phone_or_email() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let search = |q: &str| {
        let req = s.as_browser(&b, Method::GET, "/api/customers").query(&[("q", q)]);
        async move { common::json(req.send().await.expect("search")).await }
    };
    assert_eq!(ids(&search("13800000007").await), [demo::customer_id(7).to_string()], "by phone digits");
    assert_eq!(ids(&search("CUSTOMER12@").await), [demo::customer_id(12).to_string()], "by email, any case");
    assert_eq!(ids(&search("customer 1").await), [demo::customer_id(14).to_string()], "by name, any case");
    assert_eq!(ids(&search("nobody-like-this").await), Vec::<String>::new());
    let (status, p) = problem(
        s.as_browser(&b, Method::GET, "/api/customers").query(&[("q", "x".repeat(101))]).send().await.expect("long"),
    )
    .await;
    assert_eq!((status, p["type"].clone()), (422, json!(problem_type("validation"))));
}

#[tokio::test]
async fn the_api_document_describes_the_merge_and_the_search() {
    let s = common::start().await;
    let doc = common::json(s.anon(Method::GET, "/api/openapi.json").send().await.expect("doc")).await;
    let op = &doc["paths"]["/api/customers/{id}/merge"]["post"];
    assert_eq!(op["operationId"], "merge_customers");
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["required"], json!(["from"]));
    assert_eq!(schema["properties"]["from"]["format"], "uuid");
    let params = doc["paths"]["/api/customers"]["get"]["parameters"].as_array().expect("params");
    assert!(params.iter().any(|p| p["name"] == "q"), "list_customers documents ?q=");
}
