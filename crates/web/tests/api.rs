//! REST resources over real HTTP: pagination, filters, tickets, own-data scoping, the error
//! documents for bad bodies, the audit log, and the API document.

mod common;

use std::collections::BTreeSet;

use common::{problem, problem_type};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn customers_page_through_with_keyset_cursors_without_gaps_or_repeats() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let mut seen = BTreeSet::new();
    let mut path = "/api/customers?limit=20".to_owned();
    let mut pages = 0;
    loop {
        let page = common::json(s.as_browser(&b, Method::GET, &path).send().await.expect("page")).await;
        pages += 1;
        for c in page["items"].as_array().expect("items") {
            assert!(seen.insert(c["id"].as_str().expect("id").to_owned()), "repeated {c}");
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/api/customers?limit=20&after={next}"),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, demo::CUSTOMER_COUNT));
}

#[tokio::test]
async fn forged_cursor_and_bad_limit_are_bad_requests() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let (status, p) =
        problem(s.as_browser(&b, Method::GET, "/api/customers?after=1%20OR%201=1").send().await.expect("get")).await;
    assert_eq!((status, p["type"].clone()), (400, json!(problem_type("bad-request"))));
    let (status, _) =
        problem(s.as_browser(&b, Method::GET, "/api/customers?limit=lots").send().await.expect("get")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn customer_is_found_by_national_phone_and_by_email_in_any_case() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let by_phone =
        common::json(s.as_browser(&b, Method::GET, "/api/customers?phone=13800000001").send().await.expect("get"))
            .await;
    assert_eq!(by_phone["items"][0]["vip"], "gold");
    let by_email = common::json(
        s.as_browser(&b, Method::GET, "/api/customers?email=CUSTOMER01@example.com").send().await.expect("get"),
    )
    .await;
    assert_eq!(by_email["items"][0]["id"], by_phone["items"][0]["id"]);
    let none =
        common::json(s.as_browser(&b, Method::GET, "/api/customers?phone=13899999999").send().await.expect("get"))
            .await;
    assert_eq!(none["items"], json!([]));
    let (status, p) =
        problem(s.as_browser(&b, Method::GET, "/api/customers?phone=12ab").send().await.expect("get")).await;
    assert_eq!((status, p["type"].clone()), (422, json!(problem_type("validation"))));
}

#[tokio::test]
async fn order_lookup_by_number() {
    let s = common::start().await;
    let b = s.agent("1005").await;
    let found =
        common::json(s.as_browser(&b, Method::GET, "/api/orders?number=100001").send().await.expect("get")).await;
    assert_eq!(found["items"][0]["status"], "shipped");
    let customer = found["items"][0]["customer_id"].as_str().expect("customer");
    let orders = common::json(
        s.as_browser(&b, Method::GET, &format!("/api/customers/{customer}/orders")).send().await.expect("get"),
    )
    .await;
    assert!(orders["items"].as_array().expect("items").iter().any(|o| o["number"] == "100001"));
}

#[tokio::test]
async fn ticket_is_created_numbered_updated_and_commented() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let customer = demo::customer_id(2).to_string();
    let created =
        s.as_browser(&b, Method::POST, "/api/tickets").json(&json!({"subject": "Refund", "customer_id": customer}));
    let t = common::json(created.send().await.expect("create")).await;
    assert_eq!((t["number"].clone(), t["status"].clone()), (json!(1), json!("open")));
    assert_eq!(t["assignee_id"], common::demo_agent("1001").id.to_string(), "the creating agent is assignee");
    let id = t["id"].as_str().expect("id");

    let patched = s
        .as_browser(&b, Method::PATCH, &format!("/api/tickets/{id}"))
        .json(&json!({"status": "pending", "priority": "high"}));
    let t = common::json(patched.send().await.expect("patch")).await;
    assert_eq!((t["status"].clone(), t["priority"].clone()), (json!("pending"), json!("high")));

    let comment =
        s.as_browser(&b, Method::POST, &format!("/api/tickets/{id}/comments")).json(&json!({"body": "called back"}));
    assert_eq!(comment.send().await.expect("comment").status(), 201);
    let comments =
        common::json(s.as_browser(&b, Method::GET, &format!("/api/tickets/{id}/comments")).send().await.expect("list"))
            .await;
    assert_eq!(comments["items"][0]["body"], "called back");

    let by_customer = common::json(
        s.as_browser(&b, Method::GET, &format!("/api/tickets?customer={customer}")).send().await.expect("list"),
    )
    .await;
    assert_eq!(by_customer["items"][0]["id"], id);
    let bad_status = s.as_browser(&b, Method::PATCH, &format!("/api/tickets/{id}")).json(&json!({"status": "lost"}));
    let (status, p) = problem(bad_status.send().await.expect("patch")).await;
    assert_eq!(status, 422);
    assert_eq!(p["detail"], "ticket status \"lost\" is not one of: open, pending, solved, closed");
}

#[tokio::test]
async fn agents_see_only_their_own_contacts_agent_record_and_recordings() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let agent = s.agent("1001").await;
    let supervisor = s.supervisor().await;
    let range = format!("/api/contacts?from_ms={}&to_ms={}", common::T0.unix_ms(), common::T0.unix_ms() + 60_000);

    let own = common::json(s.as_browser(&agent, Method::GET, &range).send().await.expect("list")).await;
    let ids: Vec<&str> =
        own["items"].as_array().expect("items").iter().map(|c| c["id"].as_str().expect("id")).collect();
    assert_eq!(ids, vec![a.contact_1001.to_string()]);
    let all = common::json(s.as_browser(&supervisor, Method::GET, &range).send().await.expect("list")).await;
    assert_eq!(all["items"].as_array().expect("items").len(), 2);

    let theirs =
        s.as_browser(&agent, Method::GET, &format!("/api/contacts/{}", a.contact_1002)).send().await.expect("get");
    assert_eq!(problem(theirs).await.0, 404);
    let mine = s
        .as_browser(&agent, Method::GET, &format!("/api/contacts/{}/events", a.contact_1001))
        .send()
        .await
        .expect("get");
    assert_eq!(common::json(mine).await["items"][0]["kind"], "arrived");
    let rec =
        s.as_browser(&agent, Method::GET, &format!("/api/recordings/{}", a.recording_1001)).send().await.expect("get");
    assert_eq!(common::json(rec).await["duration_ms"], 60_000);

    let agents = common::json(s.as_browser(&agent, Method::GET, "/api/agents").send().await.expect("list")).await;
    assert_eq!(agents["items"].as_array().expect("items").len(), 1);
    assert_eq!(agents["items"][0]["extension"], "1001");
    assert!(!agents.to_string().contains("demo1001"), "SIP secrets are never shown");
    let other = common::demo_agent("1002").id;
    assert_eq!(
        problem(s.as_browser(&agent, Method::GET, &format!("/api/agents/{other}")).send().await.expect("get")).await.0,
        404
    );
    let staff = common::json(s.as_browser(&supervisor, Method::GET, "/api/agents").send().await.expect("list")).await;
    assert_eq!(staff["items"].as_array().expect("items").len(), 6);
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_shape_is_422() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let malformed = s
        .as_browser(&b, Method::POST, "/api/tickets")
        .header("content-type", "application/json")
        .body("{\"subject\": ");
    let (status, p) = problem(malformed.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (400, json!(problem_type("bad-request"))));
    assert!(p["detail"].as_str().expect("detail").starts_with("malformed JSON"), "{p}");

    let wrong_shape = s.as_browser(&b, Method::POST, "/api/tickets").json(&json!({"subject": 5}));
    let (status, p) = problem(wrong_shape.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (422, json!(problem_type("validation"))));

    let not_json =
        s.as_browser(&b, Method::POST, "/api/tickets").header("content-type", "text/plain").body("subject=x");
    let (status, p) = problem(not_json.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (415, json!(problem_type("unsupported-media-type"))));

    let login_garbage = s
        .anon(Method::POST, "/api/auth/login")
        .header("content-type", "application/json")
        .body(vec![0xffu8, 0xfe, 0x00]);
    assert_eq!(problem(login_garbage.send().await.expect("post")).await.0, 400);
}

#[tokio::test]
async fn oversized_bodies_are_413_whether_declared_or_streamed() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    let big = json!({"subject": "x".repeat(20 * 1024)});
    let declared = s.as_browser(&b, Method::POST, "/api/tickets").json(&big);
    let (status, p) = problem(declared.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (413, json!(problem_type("payload-too-large"))));

    let body = serde_json::to_vec(&big).expect("bytes");
    let answer = chunked_post(&s, &b, "/api/tickets", &body).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

/// Sends a POST with `Transfer-Encoding: chunked` (no Content-Length) over a raw socket, in 1 KiB
/// chunks, and returns the response head and whatever body arrived.
async fn chunked_post(s: &common::TestServer, b: &common::Browser, path: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        b.cookie, b.csrf
    );
    sock.write_all(head.as_bytes()).await.expect("head");
    for chunk in body.chunks(1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if sock.write_all(&framed).await.is_err() {
            break; // the server may answer and close before the whole body is sent
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn duplicate_skill_is_a_conflict_and_bad_name_a_validation_error() {
    let s = common::start().await;
    let admin = s.admin().await;
    let dup = s.as_browser(&admin, Method::POST, "/api/skills").json(&json!({"name": "tech_support"}));
    let (status, p) = problem(dup.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (409, json!(problem_type("conflict"))));
    let bad = s.as_browser(&admin, Method::POST, "/api/skills").json(&json!({"name": "has space"}));
    let (status, p) = problem(bad.send().await.expect("post")).await;
    assert_eq!(status, 422);
    assert_eq!(p["detail"], "skill name \"has space\" has ' '; use letters, digits, _, - or .");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_problems() {
    let s = common::start().await;
    let b = s.supervisor().await;
    for path in ["/api/customers/not-a-uuid", "/api/tickets/00000000-0000-0000-0000-000000000009", "/api/queues/x"] {
        let (status, p) = problem(s.as_browser(&b, Method::GET, path).send().await.expect("get")).await;
        assert_eq!((status, p["type"].clone()), (404, json!(problem_type("not-found"))), "{path}");
    }
}

#[tokio::test]
async fn admin_and_supervisor_actions_are_audited_and_agent_actions_are_not() {
    let s = common::start().await;
    let admin = s.admin().await;
    let supervisor = s.supervisor().await;
    let agent = s.agent("1001").await;
    let created =
        s.as_browser(&admin, Method::POST, "/api/skills").json(&json!({"name": "billing", "description": "Invoices"}));
    assert_eq!(created.send().await.expect("post").status(), 201);
    s.clock.advance_ms(1_000);
    let denied = s.as_browser(&supervisor, Method::POST, "/api/skills").json(&json!({"name": "sneaky"}));
    assert_eq!(denied.send().await.expect("post").status(), 403);
    let sup_ticket = s.as_browser(&supervisor, Method::POST, "/api/tickets").json(&json!({"subject": "Escalation"}));
    assert_eq!(sup_ticket.send().await.expect("post").status(), 201);
    s.clock.advance_ms(1_000);
    let agent_ticket = s.as_browser(&agent, Method::POST, "/api/tickets").json(&json!({"subject": "Question"}));
    assert_eq!(agent_ticket.send().await.expect("post").status(), 201);

    let log = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    let entries: Vec<(String, String, u64)> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["action"].as_str().unwrap_or("").to_owned(),
                e["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("supervisor".to_owned(), "create_ticket".to_owned(), 201),
            ("admin".to_owned(), "create_skill".to_owned(), 201)
        ],
        "newest first; the refused attempt never reached the guard's audit, the agent is not audited"
    );
    assert_eq!(log["items"][0]["client"], "127.0.0.1");
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_the_docs_page_renders_it_offline() {
    let s = common::start().await;
    let doc: Value = common::json(s.anon(Method::GET, "/api/openapi.json").send().await.expect("get")).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for r in web::routes::ROUTES {
        let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
        assert_eq!(op["operationId"], r.op_id, "{} {}", r.method, r.path);
    }
    let types = doc["x-problem-types"].as_array().expect("problem types");
    assert!(types.iter().any(|t| t["type"] == problem_type("csrf")));
    let page = s.anon(Method::GET, "/api/docs").send().await.expect("docs");
    assert!(page.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
    let html = page.text().await.expect("html");
    assert!(html.contains("/api/openapi.json"));
    assert!(!html.contains("http://") && !html.contains("https://"), "no CDN or other network use");
}

#[tokio::test]
async fn agent_scoped_api_token_owns_no_contacts_or_agent_record() {
    let s = common::start().await;
    common::seed_activity(&s.store).await;
    let admin = s.admin().await;
    let created = s.as_browser(&admin, Method::POST, "/api/tokens").json(&json!({"name": "bot", "role": "agent"}));
    let token = common::json(created.send().await.expect("create")).await["token"].as_str().expect("token").to_owned();
    let range = format!("/api/contacts?from_ms={}&to_ms={}", common::T0.unix_ms(), common::T0.unix_ms() + 60_000);
    let contacts = common::json(s.as_token(&token, Method::GET, &range).send().await.expect("list")).await;
    assert_eq!(contacts["items"], json!([]));
    let agents = common::json(s.as_token(&token, Method::GET, "/api/agents").send().await.expect("list")).await;
    assert_eq!(agents["items"], json!([]));
    let me = common::json(s.as_token(&token, Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!((me["role"].clone(), me["api_token"].clone()), (json!("agent"), json!(true)));
}

fn queue_body(name: &str, overflow_to: &str) -> Value {
    json!({
        "name": name, "display_name": "Billing 账单", "strategy": "longest_idle",
        "required_skills": [{"skill": "general_support", "min_proficiency": 3}],
        "service_level": {"percent": 80, "threshold_ms": 20_000},
        "wrap_up_ms": 15_000, "ring_timeout_ms": 20_000, "max_waiting": 50, "max_wait_ms": 600_000,
        "overflow": {"to": overflow_to, "after_ms": 120_000},
    })
}

#[tokio::test]
async fn admin_configures_a_queue_and_an_agents_membership() {
    let s = common::start().await;
    let admin = s.admin().await;
    let general = demo::queue_id("general").to_string();
    let created = s.as_browser(&admin, Method::POST, "/api/queues").json(&queue_body("billing", &general));
    let q = common::json(created.send().await.expect("create")).await;
    assert_eq!((q["overflow"]["to"].clone(), q["service_level"]["percent"].clone()), (json!(general), json!(80)));
    let id = q["id"].as_str().expect("id").to_owned();

    let mut changed = queue_body("billing", &general);
    changed["strategy"] = json!("skills_best");
    let q = common::json(
        s.as_browser(&admin, Method::PUT, &format!("/api/queues/{id}")).json(&changed).send().await.expect("put"),
    )
    .await;
    assert_eq!(q["strategy"], "skills_best");

    let agent = common::demo_agent("1001").id;
    let patch = json!({"queues": [{"queue_id": id, "penalty": 2}], "capacity": {"voice": 1, "chat": 4, "email": 2, "social": 3, "voice_blocks_others": true}});
    let a = common::json(
        s.as_browser(&admin, Method::PATCH, &format!("/api/agents/{agent}")).json(&patch).send().await.expect("patch"),
    )
    .await;
    assert_eq!((a["queues"][0]["queue_id"].clone(), a["capacity"]["chat"].clone()), (json!(id), json!(4)));
}

#[tokio::test]
async fn queue_and_agent_bodies_naming_missing_things_or_out_of_bounds_are_422() {
    let s = common::start().await;
    let admin = s.admin().await;
    let general = demo::queue_id("general").to_string();
    let cases = [
        ("strategy", json!("fastest"), "routing strategy \"fastest\" is not one of"),
        ("required_skills", json!([{"skill": "klingon", "min_proficiency": 3}]), "skill klingon does not exist"),
        (
            "service_level",
            json!({"percent": 0, "threshold_ms": 20_000}),
            "service level percent \"0\" must be 1 to 100",
        ),
        ("ring_timeout_ms", json!(3_600_000), "ring_timeout_ms must be at most 300000 ms"),
        (
            "overflow",
            json!({"to": "00000000-0000-0000-0000-000000000000", "after_ms": 1}),
            "overflow.to must name another queue",
        ),
    ];
    for (field, value, detail) in cases {
        let mut body = queue_body("billing", &general);
        body[field] = value;
        let resp = s.as_browser(&admin, Method::POST, "/api/queues").json(&body).send().await.expect("post");
        let (status, p) = problem(resp).await;
        assert_eq!(status, 422, "{field}");
        assert!(p["detail"].as_str().expect("detail").starts_with(detail), "{field}: {p}");
    }
    let agent = common::demo_agent("1002").id;
    let too_much = json!({"capacity": {"voice": 1, "chat": 99, "email": 2, "social": 3, "voice_blocks_others": true}});
    let resp = s
        .as_browser(&admin, Method::PATCH, &format!("/api/agents/{agent}"))
        .json(&too_much)
        .send()
        .await
        .expect("patch");
    let (status, p) = problem(resp).await;
    assert_eq!((status, p["detail"].clone()), (422, json!("channel capacity \"chat=99\" must be at most 20")));
}

#[tokio::test]
async fn metrics_count_requests_errors_and_latency_for_staff() {
    let s = common::start().await;
    let supervisor = s.supervisor().await;
    let _ = s.anon(Method::GET, "/nope").send().await.expect("404");
    let resp = s.as_browser(&supervisor, Method::GET, "/api/metrics").send().await.expect("metrics");
    assert!(resp.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let text = resp.text().await.expect("text");
    let requests: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("hotline_http_requests_total "))
        .and_then(|v| v.parse().ok())
        .expect("requests counter");
    assert!(requests >= 2, "{text}");
    assert!(text.contains("hotline_http_client_errors_total 1"), "{text}");
    assert!(text.contains("hotline_http_latency_ms_bucket{le=\"+Inf\"}"), "{text}");
}

#[tokio::test]
async fn agent_edits_a_customers_contact_points_and_staff_sets_the_vip_tier() {
    let s = common::start().await;
    let agent = s.agent("1002").await;
    let supervisor = s.supervisor().await;
    let id = demo::customer_id(3);
    let patch = json!({"phones": ["13900000003", "+14155550100"], "emails": ["New@Example.com"]});
    let c = common::json(
        s.as_browser(&agent, Method::PATCH, &format!("/api/customers/{id}")).json(&patch).send().await.expect("patch"),
    )
    .await;
    assert_eq!(c["phones"], json!(["+8613900000003", "+14155550100"]));
    let found =
        common::json(s.as_browser(&agent, Method::GET, "/api/customers?phone=13900000003").send().await.expect("get"))
            .await;
    assert_eq!(found["items"][0]["id"], id.to_string());
    let taken = json!({"phones": ["13800000001"]});
    let (status, _) = problem(
        s.as_browser(&agent, Method::PATCH, &format!("/api/customers/{id}")).json(&taken).send().await.expect("patch"),
    )
    .await;
    assert_eq!(status, 409, "another customer's phone");

    let vip = json!({"vip": "gold"});
    assert_eq!(
        problem(
            s.as_browser(&agent, Method::PUT, &format!("/api/customers/{id}/vip"))
                .json(&vip)
                .send()
                .await
                .expect("put")
        )
        .await
        .0,
        403
    );
    let c = common::json(
        s.as_browser(&supervisor, Method::PUT, &format!("/api/customers/{id}/vip"))
            .json(&vip)
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(c["vip"], "gold");
}
