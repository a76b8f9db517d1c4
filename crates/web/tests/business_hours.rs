//! Business-hours calendars and routing rules edited over real HTTP against a real server with
//! the real center and the IVR's flow registry: a calendar saved by an admin decides the next
//! call's `hours` node (no restart), validation errors are 422 problems naming the field,
//! supervisors read but do not write, writes are audited; a routing rule saved by an admin sends
//! the next contact to its queue, is stored, and an unknown queue is refused.

mod common;

use std::sync::Arc;

use center::LiveEvent;
use common::{Browser, T0, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const HOURS_FLOW: &str = r#"version = 1
id = "hours_line"
numbers = ["4200"]
entry_point = "hotline"
languages = ["zh-CN", "en"]
start = "hours"

[[node]]
id = "hours"
type = "hours"
calendar = "support"
open = "agent"
closed = "bye"

[[node]]
id = "agent"
type = "queue"

[[node]]
id = "bye"
type = "hangup"
say = ["goodbye"]
"#;

struct Rig {
    server: TestServer,
    center: center::CenterHandle,
    registry: Arc<ivr::FlowRegistry>,
}

async fn rig() -> Rig {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("prompts/catalog.toml")).expect("catalog");
    let catalog = ivr::PromptCatalog::parse_toml("prompts/catalog.toml", &text).expect("catalog parses");
    let flow = ivr::Flow::parse("hours_line.toml", HOURS_FLOW, &catalog).expect("flow valid");
    let registry = Arc::new(ivr::FlowRegistry::new(ivr::FlowSet::new([flow]).expect("set")));

    let book = Arc::clone(registry.calendars());
    let mut started = None;
    let server = common::start_tuned(|state| {
        let store = state.store.clone();
        // The center reads the same seeded store the server serves.
        let (center, _task) = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(center::Center::start(
                store,
                demo::DEMO_ORG,
                &center::demo_routes(),
                center::CenterConfig::default(),
                Arc::new(center::SystemClock),
            ))
        })
        .expect("center starts");
        started = Some(center.clone());
        state.with_center(center).with_calendars(book)
    })
    .await;
    let center = started.expect("center started");
    Rig { server, center, registry }
}

/// What the IVR does first for a call to 4200 at the server's time (2027-01-15 08:00Z, a Friday,
/// 16:00 in Shanghai): `true` when it queues the caller (open), `false` when it says goodbye.
fn ivr_queues_the_call(registry: &ivr::FlowRegistry) -> bool {
    let flow = registry.current().flow_for("4200").expect("4200 served");
    let info = ivr::CallInfo { caller: "+8613800000001".into(), dialled: "4200".into(), language: None };
    let mut session = ivr::Session::new(flow, info, T0);
    session.handle(T0, ivr::Input::Started);
    std::iter::from_fn(|| session.poll_action()).any(|a| matches!(a, ivr::Action::Queue { .. }))
}

async fn put(s: &TestServer, b: &Browser, path: &str, body: Value) -> reqwest::Response {
    s.as_browser(b, Method::PUT, path).json(&body).send().await.expect("put")
}

fn support(exceptions: Value) -> Value {
    let day = "09:00-12:00,13:00-18:00";
    json!({
        "time_zone": "Asia/Shanghai",
        "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        "exceptions": exceptions,
    })
}

async fn audit_actions(s: &TestServer) -> Vec<String> {
    let admin = s.admin().await;
    let audit = common::json(s.as_browser(&admin, Method::GET, "/api/audit").send().await.expect("audit")).await;
    audit["items"].as_array().expect("items").iter().map(|e| e["action"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_edited_over_http_changes_what_the_ivr_does_at_the_next_call() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    // No calendar "support" yet: the hours node is closed.
    assert!(!ivr_queues_the_call(&r.registry));

    let saved = put(s, &admin, "/api/calendars/support", support(json!([]))).await;
    assert_eq!(saved.status(), 200);
    let saved = common::json(saved).await;
    assert_eq!(saved["open_now"], true);
    // Friday 18:00 Shanghai = 10:00Z.
    assert_eq!(saved["next_change_ms"], T0.unix_ms() + 2 * 3_600_000);
    assert!(ivr_queues_the_call(&r.registry), "open on a Friday at 16:00 in Shanghai");

    // Today made a holiday: the very next call hears goodbye, without a restart or a reload.
    let holiday = support(json!([{"date": "2027-01-15", "hours": "closed", "note": "年会"}]));
    assert_eq!(put(s, &admin, "/api/calendars/support", holiday).await.status(), 200);
    assert!(!ivr_queues_the_call(&r.registry));
    let got =
        common::json(s.as_browser(&admin, Method::GET, "/api/calendars/support").send().await.expect("get")).await;
    assert_eq!(got["open_now"], false);
    assert_eq!(got["exceptions"][0]["note"], "年会");

    // Deleting the calendar closes the node again.
    let gone = s.as_browser(&admin, Method::DELETE, "/api/calendars/support").send().await.expect("delete");
    assert_eq!(gone.status(), 204);
    assert!(!ivr_queues_the_call(&r.registry));
    let actions = audit_actions(s).await;
    assert!(actions.iter().filter(|a| *a == "put_calendar").count() == 2, "{actions:?}");
    assert!(actions.contains(&"delete_calendar".to_owned()), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calendars_are_422_problems_naming_the_field_and_supervisors_only_read() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    let mut bad_zone = support(json!([]));
    bad_zone["time_zone"] = json!("Mars/Olympus");
    let cases = [
        (bad_zone, "time_zone"),
        (json!({"time_zone": "UTC", "weekly": {"wed": "18:00-09:00"}}), "weekly.wed"),
        (json!({"time_zone": "UTC", "weekly": {"someday": "09:00-18:00"}}), "weekly.someday"),
        (support(json!([{"date": "2027-02-30", "hours": "closed"}])), "exceptions[0].date"),
        (support(json!([{"date": "2027-02-10", "hours": "9-5"}])), "exceptions[0].hours"),
    ];
    for (body, field) in cases {
        let resp = put(s, &admin, "/api/calendars/support", body).await;
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let (status, problem) = common::problem(resp).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some(field)), "{problem}");
    }
    let (status, problem) =
        common::problem(put(s, &admin, "/api/calendars/Bad%20Name", support(json!([]))).await).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("name")));
    assert!(s.store.list_calendars(demo::DEMO_ORG).await.expect("list").is_empty(), "nothing stored");

    assert_eq!(put(s, &admin, "/api/calendars/support", support(json!([]))).await.status(), 200);
    let sup = s.supervisor().await;
    let list = common::json(s.as_browser(&sup, Method::GET, "/api/calendars").send().await.expect("list")).await;
    assert_eq!(list["items"][0]["name"], "support");
    assert_eq!(list["items"][0]["weekly"]["sat"], "");
    assert_eq!(put(s, &sup, "/api/calendars/support", support(json!([]))).await.status(), 403);
    let agent = s.agent("1001").await;
    assert_eq!(s.as_browser(&agent, Method::GET, "/api/calendars").send().await.expect("agent").status(), 403);
}

/// Submits a billing voice contact at entry point `hotline` and returns the name of the queue it
/// waits in.
async fn billing_contact_queue(r: &Rig, n: usize) -> String {
    let mut rx = r.center.subscribe();
    let mut new = center::NewContact::new(model::Channel::Voice, "hotline", &format!("+86139000000{n:02}"));
    new.issue_type = Some("billing".into());
    let id = r.center.submit(new).await.expect("submit");
    let queue = loop {
        match rx.recv().await.expect("event") {
            LiveEvent::ContactQueued { contact, queue, .. } if contact == id => break queue,
            _ => {}
        }
    };
    r.server.store.get_queue(demo::DEMO_ORG, queue).await.expect("queue").expect("exists").name.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_rule_saved_over_http_sends_the_next_contact_to_its_queue() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    assert_eq!(billing_contact_queue(&r, 1).await, "general");

    let table = common::json(s.as_browser(&admin, Method::GET, "/api/routes").send().await.expect("get")).await;
    let mut entry_points = table["entry_points"].clone();
    assert_eq!(entry_points[0]["name"], "hotline");
    let rules = entry_points[0]["rules"].as_array_mut().expect("rules");
    rules.push(json!({"name": "billing", "issue_type": "billing", "queue": "nowhere", "priority": 2}));

    // An unknown queue is refused and changes nothing.
    let refused = put(s, &admin, "/api/routes", json!({"entry_points": entry_points.clone()})).await;
    let (status, problem) = common::problem(refused).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("entry_points[0].rules[2].queue")), "{problem}");
    assert_eq!(billing_contact_queue(&r, 2).await, "general");

    entry_points[0]["rules"][2]["queue"] = json!("tech_support");
    let sup = s.supervisor().await;
    assert_eq!(put(s, &sup, "/api/routes", json!({"entry_points": entry_points.clone()})).await.status(), 403);
    let saved = put(s, &admin, "/api/routes", json!({"entry_points": entry_points.clone()})).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(common::json(saved).await["entry_points"][0]["rules"][2]["name"], "billing");
    assert_eq!(billing_contact_queue(&r, 3).await, "tech_support");

    let stored = s.store.get_route_table(demo::DEMO_ORG).await.expect("read").expect("stored");
    assert!(stored.entry_points.contains("\"billing\""), "{}", stored.entry_points);
    let read = common::json(s.as_browser(&sup, Method::GET, "/api/routes").send().await.expect("get")).await;
    assert_eq!(read["entry_points"][0]["rules"][2]["queue"], "tech_support");
    assert!(audit_actions(s).await.contains(&"put_routes".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_center_routes_by_the_saved_rules() {
    let r = rig().await;
    let s = &r.server;
    let admin = s.admin().await;
    let table = common::json(s.as_browser(&admin, Method::GET, "/api/routes").send().await.expect("get")).await;
    let mut entry_points = table["entry_points"].clone();
    entry_points[0]["default_queue"] = json!("tech_support");
    assert_eq!(put(s, &admin, "/api/routes", json!({"entry_points": entry_points})).await.status(), 200);

    let (restarted, _task) = center::Center::start(
        s.store.clone(),
        demo::DEMO_ORG,
        &center::demo_routes(),
        center::CenterConfig::default(),
        Arc::new(center::SystemClock),
    )
    .await
    .expect("center restarts");
    let routes = restarted.routes().await.expect("routes");
    assert_eq!(routes[0].default_queue, "tech_support");
}

/// Runs `node business_hours.mjs <base> <screenshots>` (playwright-core with Debian's Chromium)
/// and fails unless it ends with `@@ok`. Needs `node`, `/usr/bin/chromium` and `npm ci` in
/// `crates/web/browser`.
async fn run_browser_scenario(base: &str, shots: &std::path::Path) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(std::path::Path::new(&chromium).exists(), "{chromium} is missing: `apt-get install -y chromium`");
    assert!(dir.join("node_modules/playwright-core").exists(), "run `npm ci` in {}", dir.display());
    let run = tokio::process::Command::new("node")
        .arg("business_hours.mjs")
        .arg(base)
        .arg(shots)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the browser scenario finishes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("@@ok"), "business_hours.mjs failed:\n{stdout}");
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} is a real screenshot", path.display());
}

/// The admin page edits a calendar and a routing rule in Chromium; what it saved then decides
/// the IVR's next call and the next contact's queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_edits_a_calendar_and_a_routing_rule_in_chromium() {
    let r = rig().await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("screenshots");
    run_browser_scenario(&r.server.base, &shots).await;
    assert_png(&shots.join("admin-business-hours.png"));
    assert_png(&shots.join("admin-routing-rules.png"));

    let saved = r.server.store.get_calendar(demo::DEMO_ORG, "support").await.expect("read").expect("saved");
    assert_eq!(saved.time_zone, "Asia/Shanghai");
    assert_eq!(saved.exceptions[0].date, "2027-01-15");
    assert!(!ivr_queues_the_call(&r.registry), "today is the holiday the page added");
    assert_eq!(billing_contact_queue(&r, 4).await, "tech_support");
}
