//! Node types the demo does not use: business hours and holidays, voicemail, HTTP and customer
//! lookups with branches, attributes from variables, fixed language choice.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{Call, T0, at, catalog, last_play};
use ivr::{Action, Flow, Input, LookupAnswer, LookupQuery, Outcome, QueueTarget};
use model::DurationMs;

const HOURS_FLOW: &str = r#"version = 1
id = "hours"
numbers = ["4001"]
languages = ["zh-CN", "en"]
start = "hours"

[[node]]
id = "hours"
type = "hours"
utc_offset = "+08:00"
weekly = { mon = "09:00-18:00", tue = "09:00-18:00", wed = "09:00-18:00", thu = "09:00-18:00", fri = "09:00-18:00", sat = "10:00-12:00,13:00-16:00" }
holidays = ["2027-02-10", "2027-02-11"]
open = "customer"
closed = "closed"

[[node]]
id = "closed"
type = "voicemail"
say = ["system_busy"]
mailbox = "after_hours"

[[node]]
id = "customer"
type = "lookup"
lookup = "customer_by_caller"
store_as = "customer"
found = "remember_tier"
not_found = "english"
error = "english"

[[node]]
id = "remember_tier"
type = "set"
attributes = { tier = "{customer.tier}", source = "ivr", language = "{customer.language}" }
next = "english"

[[node]]
id = "english"
type = "language"
language = "en"
next = "crm"

[[node]]
id = "crm"
type = "lookup"
lookup = "http"
url = "https://crm.example.test/route"
params = { caller = "{caller}", dialled = "{dialled}" }
timeout = "2s"
branch_on = "segment"
branches = { vip = "vip_queue" }
found = "general"
not_found = "general"
error = "general"

[[node]]
id = "vip_queue"
type = "queue"
queue = "premium_support"

[[node]]
id = "general"
type = "queue"
"#;

fn flow() -> Arc<Flow> {
    Arc::new(Flow::parse("flows/hours.toml", HOURS_FLOW, &catalog()).expect("valid flow"))
}

fn call_at(ms: i64) -> Call {
    let mut call = Call::new(flow());
    call.now = ms;
    call
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[test]
fn open_on_a_weekday_morning_in_beijing() {
    let mut call = call_at(T0); // Wednesday 10:00 +08:00
    let actions = call.start();
    assert!(
        matches!(&actions[..], [Action::Lookup { query: LookupQuery::CustomerByCaller { .. }, .. }]),
        "{actions:?}"
    );
}

#[test]
fn closed_in_the_evening_leaves_a_voicemail_in_the_callers_language() {
    let mut call = call_at(T0 + 9 * HOUR); // 19:00 local
    assert_eq!(last_play(&call.start()), ["system_busy"]);
    let actions = call.played();
    assert_eq!(actions, [Action::Voicemail { mailbox: "after_hours".into(), language: common::lang("zh-CN") }]);
    assert_eq!(call.session.outcome(), Some(Outcome::Voicemail));
}

#[test]
fn saturday_has_a_lunch_break_and_sunday_is_closed() {
    let saturday = T0 + 3 * DAY; // 2027-01-09 10:00 local
    assert!(matches!(call_at(saturday).start()[0], Action::Lookup { .. }));
    assert!(matches!(call_at(saturday + 2 * HOUR + 30 * 60_000).start()[0], Action::Play { .. }), "12:30 is lunch");
    assert!(matches!(call_at(saturday + DAY).start()[0], Action::Play { .. }), "Sunday");
}

#[test]
fn holidays_close_a_working_day() {
    // 2027-02-10 is a Wednesday and a holiday; 2027-02-09 a normal Tuesday.
    let feb_9 = T0 + 34 * DAY;
    assert!(matches!(call_at(feb_9).start()[0], Action::Lookup { .. }));
    assert!(matches!(call_at(feb_9 + DAY).start()[0], Action::Play { .. }));
}

/// Starts an open call and answers the customer lookup.
fn through_customer(answer: LookupAnswer) -> (Call, Vec<Action>) {
    let mut call = call_at(T0);
    let request = match &call.start()[0] {
        Action::Lookup { request, .. } => *request,
        other => panic!("{other:?}"),
    };
    let actions = call.input(Input::LookupResult { request, answer });
    (call, actions)
}

#[test]
fn http_lookup_sends_variables_and_branches_on_the_answer() {
    let tier = BTreeMap::from([("tier".to_owned(), "gold".to_owned())]);
    let (mut call, actions) = through_customer(LookupAnswer::Found(tier));
    let [Action::Http { request, url, params, timeout }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(url, "https://crm.example.test/route");
    assert_eq!(params.get("caller").map(String::as_str), Some("+8613800000001"));
    assert_eq!(params.get("dialled").map(String::as_str), Some("4000"));
    assert_eq!(*timeout, DurationMs::from_secs(2));
    let answer = LookupAnswer::Found(BTreeMap::from([("segment".to_owned(), "vip".to_owned())]));
    let actions = call.input(Input::LookupResult { request: *request, answer });
    let [Action::Queue { target, attributes, language }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(*target, QueueTarget::Queue("premium_support".into()));
    assert_eq!(attributes.get("tier").map(String::as_str), Some("gold"), "set from the lookup's variable");
    assert_eq!(language.as_str(), "en", "the language node switched it");
    assert_eq!(call.session.variables().get("crm.segment").map(String::as_str), Some("vip"));
}

#[test]
fn http_answer_without_a_matching_branch_takes_found_and_a_timeout_takes_error() {
    let (mut call, actions) = through_customer(LookupAnswer::NotFound);
    let Action::Http { request, .. } = actions[0] else { panic!("{actions:?}") };
    let answer = LookupAnswer::Found(BTreeMap::from([("segment".to_owned(), "normal".to_owned())]));
    let actions = call.input(Input::LookupResult { request, answer });
    assert!(matches!(&actions[..], [Action::Queue { target: QueueTarget::EntryPoint(e), .. }] if e == "hours"));

    let (mut call, _) = through_customer(LookupAnswer::Failed);
    let actions = call.time_out();
    assert!(matches!(&actions[..], [Action::Queue { .. }]), "{actions:?}");
    assert!(!call.session.attributes().contains_key("tier"), "not found: nothing set");
}

#[test]
fn the_ivr_time_cap_hands_the_call_to_an_agent() {
    let mut call = call_at(T0);
    call.start();
    let cap = call.session.poll_timeout().expect("deadline");
    assert!(cap.unix_ms() <= T0 + 3_000, "the lookup timeout comes first");
    call.session.handle_timeout(at(T0 + 16 * 60_000));
    let actions = call.drain();
    let [Action::Queue { attributes, .. }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(attributes.get("ivr_limit").map(String::as_str), Some("duration"));
}

#[test]
fn set_can_take_the_language_from_a_lookup_and_ignores_one_the_flow_lacks() {
    let fields = |lang: &str| {
        LookupAnswer::Found(BTreeMap::from([
            ("tier".to_owned(), "gold".to_owned()),
            ("language".to_owned(), lang.to_owned()),
        ]))
    };
    let flow_text = HOURS_FLOW.replacen("next = \"english\"", "next = \"crm\"", 1);
    let flow = Arc::new(Flow::parse("flows/hours.toml", &flow_text, &catalog()).expect("valid"));
    for (given, expected) in [("en", "en"), ("fr", "zh-CN")] {
        let mut call = Call::new(Arc::clone(&flow));
        call.now = T0;
        let Action::Lookup { request, .. } = call.start()[0] else { panic!("customer lookup first") };
        call.input(Input::LookupResult { request, answer: fields(given) });
        assert_eq!(call.session.language().as_str(), expected, "customer language {given}");
        assert!(!call.session.attributes().contains_key("language"), "the language travels as the Queue's field");
    }
}

/// The hours flow with its hours written as a named calendar instead.
fn calendar_flow_text() -> String {
    let inline = "utc_offset = \"+08:00\"\nweekly = { mon = \"09:00-18:00\", tue = \"09:00-18:00\", wed = \"09:00-18:00\", thu = \"09:00-18:00\", fri = \"09:00-18:00\", sat = \"10:00-12:00,13:00-16:00\" }\nholidays = [\"2027-02-10\", \"2027-02-11\"]\n";
    assert!(HOURS_FLOW.contains(inline));
    HOURS_FLOW.replacen(inline, "calendar = \"support\"\n", 1)
}

fn shanghai(weekday_hours: &str, exceptions: &[(&str, &str)]) -> ivr::Calendar {
    let d = weekday_hours.to_owned();
    let weekly = [d.clone(), d.clone(), d.clone(), d.clone(), d, String::new(), String::new()];
    let ex: Vec<(String, String)> = exceptions.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect();
    ivr::Calendar::parse("Asia/Shanghai", &weekly, &ex).expect("valid calendar")
}

#[test]
fn a_named_calendar_decides_the_hours_and_an_edit_applies_to_the_next_call() {
    let flow = Flow::parse("flows/hours.toml", &calendar_flow_text(), &catalog()).expect("valid flow");
    let registry = ivr::FlowRegistry::new(ivr::FlowSet::new([flow]).expect("one flow"));
    let call = |ms: i64| {
        let mut c = Call::new(registry.current().flow_for("4001").expect("4001 served"));
        c.now = ms;
        c.start()
    };
    // No calendar of that name yet: closed.
    assert!(matches!(call(T0)[0], Action::Play { .. }));
    let book = registry.calendars();
    book.replace(BTreeMap::from([("support".to_owned(), shanghai("09:00-18:00", &[]))])).expect("fits");
    assert!(matches!(call(T0)[0], Action::Lookup { .. }), "Wednesday 10:00 Beijing is open");
    // The same calendar edited: 2027-01-06 made a holiday closes that Wednesday, without a reload.
    book.replace(BTreeMap::from([("support".to_owned(), shanghai("09:00-18:00", &[("2027-01-06", "closed")]))]))
        .expect("fits");
    assert!(matches!(call(T0)[0], Action::Play { .. }));
}

#[test]
fn a_calendar_and_inline_hours_together_are_refused() {
    let both = calendar_flow_text().replacen(
        "calendar = \"support\"\n",
        "calendar = \"support\"\nutc_offset = \"+08:00\"\n",
        1,
    );
    let err = Flow::parse("flows/hours.toml", &both, &catalog()).expect_err("refused");
    assert!(err.message.contains("not both"), "{err}");
    let bad = calendar_flow_text().replacen("\"support\"", "\"Support Desk\"", 1);
    assert!(Flow::parse("flows/hours.toml", &bad, &catalog()).is_err());
}
