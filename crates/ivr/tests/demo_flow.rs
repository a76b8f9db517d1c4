//! The demo flow on 4000 driven through every branch with injected time and digits.

mod common;

use std::collections::BTreeMap;

use common::{Call, demo_flow, last_play};
use ivr::{Action, HangupReason, Input, LookupAnswer, LookupQuery, Outcome, QueueTarget, RequestId, ResetLinkResult};

const GREETING: [&str; 2] = ["greeting", "language_option"];

fn found(status: &str) -> LookupAnswer {
    LookupAnswer::Found(BTreeMap::from([("status".to_owned(), status.to_owned())]))
}

/// The request id and query of the single Lookup among `actions`.
fn lookup_request(actions: &[Action]) -> (RequestId, LookupQuery) {
    let mut found = actions.iter().filter_map(|a| match a {
        Action::Lookup { request, query, .. } => Some((*request, query.clone())),
        _ => None,
    });
    let first = found.next().unwrap_or_else(|| panic!("no Lookup in {actions:?}"));
    assert!(found.next().is_none(), "one lookup at a time");
    first
}

fn queue_of(actions: &[Action]) -> (QueueTarget, BTreeMap<String, String>, String) {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Queue { target, attributes, language } => {
                Some((target.clone(), attributes.clone(), language.to_string()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Queue in {actions:?}"))
}

/// A call that pressed 1 and typed `order` + `#` and is waiting for the lookup.
fn call_looking_up(order: &str) -> (Call, RequestId) {
    let mut call = Call::new(demo_flow());
    call.start();
    call.press("1");
    call.played();
    let actions = call.press(&format!("{order}#"));
    let (request, query) = lookup_request(&actions);
    assert_eq!(query, LookupQuery::OrderStatus { order_number: order.into() });
    (call, request)
}

#[test]
fn call_starts_with_the_chinese_greeting_that_offers_english() {
    let mut call = Call::new(demo_flow());
    let actions = call.start();
    assert_eq!(last_play(&actions), GREETING);
    let Action::Play { fragments, barge_in } = &actions[0] else { panic!("{actions:?}") };
    assert!(*barge_in, "a menu prompt can be interrupted by a key");
    assert_eq!(fragments[0].path(), "zh-CN/greeting.wav");
}

#[test]
fn order_status_is_spoken_from_digit_and_status_fragments() {
    let (mut call, request) = call_looking_up("100001");
    let actions = call.input(Input::LookupResult { request, answer: found("shipped") });
    assert_eq!(
        last_play(&actions),
        [
            "order_prefix",
            "digit_1",
            "digit_0",
            "digit_0",
            "digit_0",
            "digit_0",
            "digit_1",
            "order_is",
            "status_shipped"
        ]
    );
    // Then the caller hears the options, presses 2 and the call ends served.
    assert_eq!(last_play(&call.played()), ["after_status_options"]);
    assert_eq!(last_play(&call.press("2")), ["goodbye"]);
    assert_eq!(call.played(), [Action::Hangup { reason: HangupReason::Completed }]);
    assert_eq!(call.session.outcome(), Some(Outcome::SelfServed));
    assert_eq!(call.session.digits(), "1100001#2");
    assert_eq!(
        call.session.path(),
        ["main_menu", "order_issue", "order_entry", "order_lookup", "order_status", "after_status", "goodbye"]
    );
}

#[test]
fn after_the_status_the_caller_can_go_back_to_the_main_menu() {
    let (mut call, request) = call_looking_up("100002");
    call.input(Input::LookupResult { request, answer: found("processing") });
    call.played();
    assert_eq!(last_play(&call.press("1")), GREETING);
}

#[test]
fn unknown_order_is_announced_and_asked_again_then_an_agent_helps() {
    let (mut call, request) = call_looking_up("999999");
    let actions = call.input(Input::LookupResult { request, answer: LookupAnswer::NotFound });
    assert_eq!(last_play(&actions), ["order_not_found"]);
    assert_eq!(last_play(&call.played()), ["enter_order_number"]);
    // Two more unknown orders: the third visit to the entry is the last one allowed.
    for attempt in 0..2 {
        call.played();
        let (request, _) = lookup_request(&call.press("888888#"));
        call.input(Input::LookupResult { request, answer: LookupAnswer::NotFound });
        let after = call.played();
        if attempt == 0 {
            assert_eq!(last_play(&after), ["enter_order_number"]);
        } else {
            assert_eq!(last_play(&after), ["transfer_agent"], "after three unknown orders");
        }
    }
    let (target, attributes, _) = queue_of(&call.played());
    assert_eq!(target, QueueTarget::EntryPoint("hotline".into()));
    assert_eq!(attributes.get("issue_type").map(String::as_str), Some("order"));
}

#[test]
fn an_order_number_too_short_is_asked_again() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.press("1");
    call.played();
    let actions = call.press("12#");
    assert_eq!(last_play(&actions), ["invalid_order_number", "enter_order_number"]);
}

#[test]
fn an_order_number_without_the_pound_key_is_taken_after_the_inter_digit_timeout() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.press("1");
    call.played();
    call.press("100001");
    let (_, query) = lookup_request(&call.time_out());
    assert_eq!(query, LookupQuery::OrderStatus { order_number: "100001".into() });
}

#[test]
fn a_lookup_that_does_not_answer_in_time_goes_to_an_agent_and_a_late_answer_is_ignored() {
    let (mut call, request) = call_looking_up("100001");
    assert_eq!(last_play(&call.time_out()), ["system_busy"]);
    assert!(call.input(Input::LookupResult { request, answer: found("shipped") }).is_empty());
    let (_, attributes, _) = queue_of(&call.played().into_iter().chain(call.played()).collect::<Vec<_>>());
    assert_eq!(attributes.get("ivr_reason").map(String::as_str), Some("system_busy"));
    assert_eq!(call.session.outcome(), Some(Outcome::Queued));
}

#[test]
fn a_lookup_answer_with_an_unknown_status_is_an_error_branch() {
    let (mut call, request) = call_looking_up("100001");
    assert_eq!(last_play(&call.input(Input::LookupResult { request, answer: found("lost") })), ["system_busy"]);
}

fn call_resetting_password() -> (Call, RequestId) {
    let mut call = Call::new(demo_flow());
    call.start();
    let actions = call.press("2");
    let request = actions
        .iter()
        .find_map(|a| match a {
            Action::SendResetLink { request, caller, language, .. } => {
                assert_eq!((caller.as_str(), language.as_str()), ("+8613800000001", "zh-CN"));
                Some(*request)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SendResetLink in {actions:?}"));
    (call, request)
}

#[test]
fn option_2_sends_a_reset_link_and_says_so() {
    let (mut call, request) = call_resetting_password();
    let actions = call.input(Input::ActionResult { request, result: ResetLinkResult::Sent });
    assert_eq!(last_play(&actions), ["reset_link_sent", "after_reset_options"]);
    call.played();
    call.press("2");
    call.played();
    assert_eq!(call.session.outcome(), Some(Outcome::SelfServed));
}

#[test]
fn option_2_without_an_email_on_file_offers_an_agent() {
    let (mut call, request) = call_resetting_password();
    let actions = call.input(Input::ActionResult { request, result: ResetLinkResult::NoEmail });
    assert_eq!(last_play(&actions), ["reset_no_email"]);
    assert_eq!(last_play(&call.press("1")), ["transfer_agent"]);
    let (_, attributes, _) = queue_of(&call.played());
    assert_eq!(attributes.get("issue_type").map(String::as_str), Some("password"));
}

#[test]
fn option_2_for_an_unknown_caller_offers_an_agent_or_the_menu() {
    let (mut call, request) = call_resetting_password();
    let actions = call.input(Input::ActionResult { request, result: ResetLinkResult::NoCustomer });
    assert_eq!(last_play(&actions), ["reset_no_customer"]);
    assert_eq!(last_play(&call.press("2")), GREETING);
}

#[test]
fn option_3_queues_with_the_issue_type_and_language() {
    let mut call = Call::new(demo_flow());
    call.start();
    let actions = call.press("3");
    assert_eq!(actions[0], Action::StopPlayback, "the key interrupts the greeting");
    assert_eq!(last_play(&actions), ["transfer_agent"]);
    let (target, attributes, language) = queue_of(&call.played());
    assert_eq!(target, QueueTarget::EntryPoint("hotline".into()));
    assert_eq!(attributes, BTreeMap::from([("issue_type".to_owned(), "general".to_owned())]));
    assert_eq!(language, "zh-CN");
    assert_eq!(call.session.outcome(), Some(Outcome::Queued));
    assert_eq!(call.session.poll_timeout(), None, "an ended session waits for nothing");
}

#[test]
fn invalid_digits_are_retried_then_an_agent_takes_the_call() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.played();
    assert_eq!(last_play(&call.press("7")), ["invalid_choice", "greeting", "language_option"]);
    call.played();
    assert_eq!(last_play(&call.press("#")), ["invalid_choice", "greeting", "language_option"]);
    call.played();
    assert_eq!(last_play(&call.press("0")), ["transfer_agent"]);
    let (_, attributes, _) = queue_of(&call.played());
    assert_eq!(attributes.get("ivr_reason").map(String::as_str), Some("menu_retries"));
}

#[test]
fn silence_is_retried_with_the_no_input_prompt_then_an_agent_takes_the_call() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.played();
    assert_eq!(last_play(&call.time_out()), ["no_input", "greeting", "language_option"]);
    call.played();
    assert_eq!(last_play(&call.time_out()), ["no_input", "greeting", "language_option"]);
    call.played();
    assert_eq!(last_play(&call.time_out()), ["transfer_agent"]);
    queue_of(&call.played());
}

#[test]
fn the_menu_timeout_runs_from_the_end_of_the_prompt() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.now += 30_000;
    let played_at = call.now + 1_000;
    call.played();
    let deadline = call.session.poll_timeout().expect("waiting for a key");
    assert_eq!(deadline.unix_ms(), played_at + 6_000, "6 s after the greeting ended");
}

#[test]
fn media_that_never_reports_the_end_of_a_prompt_does_not_hang_the_call() {
    let mut call = Call::new(demo_flow());
    call.start();
    // The play wait expires, then the menu timeout, and the retries go on.
    assert!(call.time_out().is_empty());
    assert_eq!(last_play(&call.time_out()), ["no_input", "greeting", "language_option"]);
}

#[test]
fn nine_switches_to_english_and_the_queue_hears_it() {
    let mut call = Call::new(demo_flow());
    call.start();
    let actions = call.press("9");
    let Some(Action::Play { fragments, .. }) = actions.last() else { panic!("{actions:?}") };
    assert_eq!(fragments.iter().map(|f| f.path()).collect::<Vec<_>>(), ["en/greeting.wav", "en/language_option.wav"]);
    call.press("3");
    let (_, _, language) = queue_of(&call.played());
    assert_eq!(language, "en");
    // And 9 again goes back to Chinese.
    let mut call = Call::new(demo_flow());
    call.start();
    call.press("9");
    let actions = call.press("9");
    let Some(Action::Play { fragments, .. }) = actions.last() else { panic!("{actions:?}") };
    assert_eq!(fragments[0].language.as_str(), "zh-CN");
}

#[test]
fn english_order_status_names_english_fragments() {
    let mut call = Call::new(demo_flow());
    call.start();
    call.press("9");
    call.press("1");
    call.played();
    let (request, _) = lookup_request(&call.press("100001#"));
    let actions = call.input(Input::LookupResult { request, answer: found("delivered") });
    let Some(Action::Play { fragments, .. }) = actions.last() else { panic!("{actions:?}") };
    assert!(fragments.iter().all(|f| f.language.as_str() == "en"));
    assert_eq!(fragments.last().map(|f| f.path()), Some("en/status_delivered.wav".to_owned()));
}

#[test]
fn hanging_up_mid_flow_is_abandoned_and_ends_everything() {
    let (mut call, request) = call_looking_up("100001");
    assert!(call.input(Input::Hangup).is_empty());
    assert_eq!(call.session.outcome(), Some(Outcome::Abandoned));
    assert_eq!(call.session.outcome().and_then(Outcome::contact_outcome), Some(model::ContactOutcome::Abandoned));
    assert!(call.input(Input::LookupResult { request, answer: found("shipped") }).is_empty());
    assert!(call.input(Input::Dtmf('1')).is_empty());
    assert_eq!(call.session.poll_timeout(), None);
    assert_eq!(call.session.path().last().map(String::as_str), Some("order_lookup"));
}

#[test]
fn keys_before_the_call_starts_and_non_dtmf_characters_are_ignored() {
    let mut call = Call::new(demo_flow());
    assert!(call.input(Input::Dtmf('1')).is_empty());
    assert_eq!(call.session.poll_timeout(), None, "nothing runs before Started");
    call.start();
    assert!(call.input(Input::Dtmf('x')).is_empty());
    assert!(call.input(Input::Started).is_empty(), "a second Started changes nothing");
    assert_eq!(call.session.counters().ignored_inputs, 3);
    assert_eq!(call.session.digits(), "");
}

#[test]
fn a_caller_who_keeps_going_round_is_handed_to_an_agent_at_the_path_limit() {
    let mut call = Call::new(demo_flow());
    call.start();
    let mut queued = None;
    for _ in 0..200 {
        let actions = call.press("9");
        if let Some(q) = actions.iter().find(|a| matches!(a, Action::Queue { .. })) {
            queued = Some(q.clone());
            break;
        }
    }
    let Some(Action::Queue { attributes, .. }) = queued else { panic!("never handed over") };
    assert_eq!(attributes.get("ivr_limit").map(String::as_str), Some("path"));
    assert!(call.session.path().len() <= ivr::Limits::default().max_path_len);
}
