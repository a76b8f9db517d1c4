//! IVR flows through the API over real HTTP: an admin lists, reads, validates and uploads flows;
//! a valid upload is written to the flows directory and swapped into the registry the voice path
//! reads (the next call to its number gets it); an invalid one is a 422 problem with the line,
//! column and node; an agent is refused.

mod common;

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

const TIER_FLOW: &str = r#"version = 1
id = "tier_line"
numbers = ["4100"]
entry_point = "hotline"
languages = ["zh-CN", "en"]
start = "bye"

[[node]]
id = "bye"
type = "hangup"
say = ["goodbye"]
"#;

struct Rig {
    server: common::TestServer,
    registry: Arc<ivr::FlowRegistry>,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("flows dir");
    std::fs::copy(repo.join("flows/demo.toml"), dir.path().join("demo.toml")).expect("demo flow");
    let text = std::fs::read_to_string(repo.join("prompts/catalog.toml")).expect("catalog");
    let catalog = Arc::new(ivr::PromptCatalog::parse_toml("prompts/catalog.toml", &text).expect("catalog parses"));
    let set = ivr::FlowSet::load_dir(dir.path(), &catalog).expect("demo flows");
    let registry = Arc::new(ivr::FlowRegistry::new(set));
    let flows = Arc::new(web::ivr_flows::IvrFlows::new(dir.path().to_owned(), catalog, registry.clone()));
    let server = common::start_tuned(|state| state.with_ivr_flows(flows)).await;
    Rig { server, registry, dir }
}

#[tokio::test]
async fn an_admin_uploads_a_valid_flow_and_the_next_call_to_its_number_gets_it() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    assert!(r.registry.current().flow_for("4100").is_none());

    let list = common::json(s.as_browser(&admin, Method::GET, "/api/ivr/flows").send().await.expect("list")).await;
    assert_eq!(list["items"][0]["name"], "demo");
    assert_eq!(list["items"][0]["numbers"], json!(["4000"]));
    let before = list["items"][0]["revision"].as_str().expect("revision").to_owned();

    let check = s
        .as_browser(&admin, Method::POST, "/api/ivr/flows/validate")
        .json(&json!({"name": "tier_line", "source": TIER_FLOW}))
        .send()
        .await
        .expect("validate");
    let check = common::json(check).await;
    assert_eq!(check["valid"], true, "{check}");

    let put = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": TIER_FLOW}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 201);
    // Written to the directory, and what the voice path reads for the number.
    let on_disk = std::fs::read_to_string(r.dir.path().join("tier_line.toml")).expect("written");
    assert_eq!(on_disk, TIER_FLOW);
    let flow = r.registry.current().flow_for("4100").expect("4100 now has a flow");
    assert_eq!(flow.id(), "tier_line");
    assert!(r.registry.current().flow_for("4000").is_some(), "the demo flow stays");

    let got =
        common::json(s.as_browser(&admin, Method::GET, "/api/ivr/flows/tier_line").send().await.expect("get")).await;
    assert_eq!(got["source"], TIER_FLOW);
    let list = common::json(s.as_browser(&admin, Method::GET, "/api/ivr/flows").send().await.expect("list")).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list["items"][0]["revision"], before.as_str(), "the demo file is unchanged");

    // Replacing it is a 200; the audit log names the operation.
    let changed = TIER_FLOW.replace("\"goodbye\"", "\"goodbye\", \"goodbye\"");
    let put = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": changed}))
        .send()
        .await
        .expect("put again");
    assert_eq!(put.status(), 200);
    let audit = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    let text = audit.to_string();
    assert!(text.contains("put_ivr_flow"), "{text}");
}

#[tokio::test]
async fn an_invalid_upload_is_a_422_problem_with_line_and_node_and_changes_nothing() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    let broken = TIER_FLOW.replace("say = [\"goodbye\"]", "say = [\"no_such_prompt\"]");
    let resp = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": broken}))
        .send()
        .await
        .expect("put");
    let (status, body) = common::problem(resp).await;
    assert_eq!(status, 422);
    assert_eq!(body["type"], common::problem_type("validation"));
    let error = &body["errors"][0];
    assert_eq!(error["node"], "bye", "{body}");
    assert_eq!(error["line"], 11, "{body}");
    assert!(error["column"].as_u64().is_some_and(|c| c > 0), "{body}");
    assert!(!r.dir.path().join("tier_line.toml").exists());
    assert!(r.registry.current().flow_for("4100").is_none());

    // A flow that takes a number another file serves is refused as a whole set.
    let clash = TIER_FLOW.replace("4100", "4000");
    let resp = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": clash}))
        .send()
        .await
        .expect("put");
    let (status, body) = common::problem(resp).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("4000")), "{body}");

    // Validation answers 200 with the errors.
    let check = s
        .as_browser(&admin, Method::POST, "/api/ivr/flows/validate")
        .json(&json!({"source": broken}))
        .send()
        .await
        .expect("validate");
    let check = common::json(check).await;
    assert_eq!(check["valid"], false);
    assert_eq!(check["errors"][0]["node"], "bye");
    assert_eq!(check["errors"][0]["line"], 11);
}

#[tokio::test]
async fn agents_may_not_read_or_change_flows_and_names_cannot_leave_the_directory() {
    let r = rig().await;
    let s = &r.server;
    let agent = s.agent("1001").await;
    let resp = s.as_browser(&agent, Method::GET, "/api/ivr/flows").send().await.expect("list");
    assert_eq!(common::problem(resp).await.0, 403);
    let resp = s
        .as_browser(&agent, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": TIER_FLOW}))
        .send()
        .await
        .expect("put");
    assert_eq!(common::problem(resp).await.0, 403);

    let admin = s.admin().await;
    let resp = s.as_browser(&admin, Method::GET, "/api/ivr/flows/..%2Fdemo").send().await.expect("get");
    assert_eq!(common::problem(resp).await.0, 404);
    let resp = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/Bad.Name")
        .json(&json!({"source": TIER_FLOW}))
        .send()
        .await
        .expect("put");
    assert_eq!(common::problem(resp).await.0, 422);
}

#[tokio::test]
async fn with_built_in_flows_the_list_says_they_are_not_managed_and_changes_are_unavailable() {
    let s = common::start().await;
    let admin = s.admin().await;
    let resp = s.as_browser(&admin, Method::GET, "/api/ivr/flows").send().await.expect("list");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"items": [], "managed": false}));
    let resp = s
        .as_browser(&admin, Method::PUT, "/api/ivr/flows/tier_line")
        .json(&json!({"source": TIER_FLOW}))
        .send()
        .await
        .expect("put");
    assert_eq!(common::problem(resp).await.0, 503);
}

/// The admin page's IVR section in Debian's Chromium (`browser/ivr_admin.mjs`, playwright-core):
/// show, validate with a line/column/node error, save, zh-CN and English. Needs `node`,
/// `/usr/bin/chromium` and `npm ci` in `crates/web/browser`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_shows_validates_and_uploads_flows_in_chromium() {
    common::browser::require_tools();
    let r = rig().await;
    common::browser::run_scenario("ivr_admin.mjs", &r.server.base, &[], std::time::Duration::from_secs(120)).await;
    let saved = std::fs::read_to_string(r.dir.path().join("tier_line.toml")).expect("saved");
    assert!(saved.contains("id = \"tier_line\""), "{saved}");
    assert_eq!(r.registry.current().flow_for("4100").map(|f| f.id().to_owned()).as_deref(), Some("tier_line"));
}
