//! The complaint rules with injected time: raise once, clear (with hysteresis), cooldown, per
//! rule and scope, bounded.

use model::{ContactId, DurationMs, OrgId, QueueId, ReasonCode, Timestamp};

use super::*;

const MINUTE: i64 = 60_000;
const R0: RuleIndex = RuleIndex(0);

fn code(text: &str) -> ReasonCode {
    ReasonCode::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_795_737_600_000 + minutes * MINUTE)
}

fn scope(queue: u128) -> Scope {
    Scope { org: OrgId::from_u128(1), queue: Some(QueueId::from_u128(queue)) }
}

/// More than 3 complaints in 15 minutes; clears at 1 or fewer.
fn alerts() -> ComplaintAlerts {
    let rule = ComplaintRule::more_than(3, DurationMs::from_secs(15 * 60), code("complaint"));
    ComplaintAlerts::new(vec![rule]).unwrap_or_else(|e| panic!("{e}"))
}

fn engine(rule: ComplaintRule) -> ComplaintAlerts {
    ComplaintAlerts::new(vec![rule]).unwrap_or_else(|e| panic!("{e}"))
}

fn complain(a: &mut ComplaintAlerts, minute: i64, queue: u128, contact: u128) {
    let complaint = code("complaint");
    a.handle_signal(at(minute), scope(queue), ContactId::from_u128(contact), Signal::Disposition(&complaint));
}

fn drain(a: &mut ComplaintAlerts) -> Vec<AlertEvent> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

#[test]
fn raises_once_when_more_than_n_complaints_fall_in_the_window() {
    let mut a = alerts();
    for c in 0..3 {
        complain(&mut a, c, 1, c as u128);
    }
    assert!(drain(&mut a).is_empty(), "exactly N is not more than N");
    complain(&mut a, 4, 1, 10);
    assert_eq!(drain(&mut a), vec![AlertEvent::Raised { rule: R0, scope: scope(1), at: at(4), complaints: 4 }]);
    complain(&mut a, 5, 1, 11);
    complain(&mut a, 6, 1, 12);
    assert!(drain(&mut a).is_empty(), "raised once, not once per complaint");
}

#[test]
fn complaints_spread_wider_than_the_window_do_not_raise() {
    let mut a = alerts();
    for c in 0..10 {
        complain(&mut a, c * 6, 1, c as u128);
    }
    assert!(drain(&mut a).is_empty());
    assert!(!a.is_raised(R0, scope(1)));
}

#[test]
fn a_contact_counts_once_whatever_marks_it() {
    let mut a = alerts();
    for _ in 0..5 {
        complain(&mut a, 1, 1, 7);
    }
    let flags = ["complaint".to_owned()];
    let counted = a.handle_signal(at(2), scope(1), ContactId::from_u128(7), Signal::KeywordFlags(&flags));
    assert_eq!(counted, 1);
    assert!(drain(&mut a).is_empty());
    assert_eq!(a.counters().complaints, 1);
}

#[test]
fn clears_only_when_the_count_falls_to_the_lower_threshold() {
    let mut a = alerts();
    for (minute, contact) in [(0, 1), (1, 2), (2, 3), (3, 4)] {
        complain(&mut a, minute, 1, contact);
    }
    drain(&mut a);
    a.handle_timeout(at(16)); // two left the window: 2 remain, above the clear threshold 1
    assert!(a.is_raised(R0, scope(1)));
    assert!(drain(&mut a).is_empty());
    a.handle_timeout(at(17)); // 1 remains
    assert_eq!(drain(&mut a), vec![AlertEvent::Cleared { rule: R0, scope: scope(1), at: at(17), complaints: 1 }]);
}

#[test]
fn raises_again_after_clearing() {
    let mut a = alerts();
    for c in 0..4 {
        complain(&mut a, c, 1, c as u128);
    }
    a.handle_timeout(at(30));
    for c in 0..4 {
        complain(&mut a, 31 + c, 1, 100 + c as u128);
    }
    let kinds: Vec<_> = drain(&mut a).into_iter().map(|e| matches!(e, AlertEvent::Raised { .. })).collect();
    assert_eq!(kinds, vec![true, false, true]);
}

#[test]
fn queues_are_counted_apart() {
    let mut a = alerts();
    for c in 0..4 {
        complain(&mut a, c, 1 + (c as u128 % 2), c as u128);
    }
    assert!(drain(&mut a).is_empty());
}

#[test]
fn keyword_flag_marks_a_complaint_and_other_flags_and_dispositions_do_not() {
    let a = alerts();
    assert!(a.is_complaint(Signal::KeywordFlags(&["refund".to_owned(), "complaint".to_owned()])));
    assert!(!a.is_complaint(Signal::KeywordFlags(&["refund".to_owned()])));
    assert!(!a.is_complaint(Signal::KeywordFlags(&[])));
    let billing = code("billing");
    assert!(!a.is_complaint(Signal::Disposition(&billing)));
}

/// More than 3 in 15 minutes, clearing at 3 (no hysteresis), cooldown 60 minutes.
fn cooled() -> ComplaintAlerts {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(15 * 60), code("complaint"));
    rule.clear_at_or_below = 3;
    rule.cooldown_ms = DurationMs::from_secs(60 * 60);
    engine(rule)
}

#[test]
fn clears_as_soon_as_the_count_is_back_at_the_threshold_without_hysteresis() {
    let mut a = cooled();
    for c in 0..4 {
        complain(&mut a, c, 1, c as u128);
    }
    drain(&mut a);
    a.handle_timeout(at(15)); // the first left the window: 3, not more than 3
    assert_eq!(drain(&mut a), vec![AlertEvent::Cleared { rule: R0, scope: scope(1), at: at(15), complaints: 3 }]);
}

#[test]
fn one_burst_raises_one_alert_within_the_cooldown() {
    let mut a = cooled();
    // A burst in three waves of four complaints, each wave above the threshold, 20 minutes apart.
    for (c, minute) in [0, 1, 2, 3, 20, 21, 22, 23, 40, 41, 42, 43].into_iter().enumerate() {
        a.handle_timeout(at(minute));
        complain(&mut a, minute, 1, c as u128);
    }
    let raised = drain(&mut a).into_iter().filter(|e| matches!(e, AlertEvent::Raised { .. })).count();
    assert_eq!(raised, 1);
    assert!(a.counters().raises_cooled_down > 0, "the count went above 3 again while cooling down");
}

#[test]
fn raises_again_when_still_above_the_threshold_at_the_end_of_the_cooldown() {
    let mut a = cooled();
    for c in 0..4 {
        complain(&mut a, c, 1, c as u128);
    }
    a.handle_timeout(at(20)); // cleared
    for c in 0..4 {
        complain(&mut a, 50 + c, 1, 100 + c as u128);
    }
    assert!(!a.is_raised(R0, scope(1)), "minute 53 is within the hour after the raise at minute 3");
    assert_eq!(a.poll_timeout(), Some(at(63)), "the cooldown's end, before the complaints leave at 65");
    a.handle_timeout(at(63));
    let events = drain(&mut a);
    assert_eq!(events.last(), Some(&AlertEvent::Raised { rule: R0, scope: scope(1), at: at(63), complaints: 4 }));
}

#[test]
fn rules_count_apart_and_a_contact_may_count_for_several() {
    let by_code = ComplaintRule::more_than(1, DurationMs::from_secs(900), code("complaint"));
    let mut by_flag = ComplaintRule::more_than(1, DurationMs::from_secs(900), code("complaint"));
    by_flag.name = "投诉关键词".to_owned();
    by_flag.dispositions.clear();
    let mut a = ComplaintAlerts::new(vec![by_code, by_flag]).unwrap_or_else(|e| panic!("{e}"));
    let flags = ["complaint".to_owned()];
    for c in 0..2 {
        a.handle_signal(at(c), scope(1), ContactId::from_u128(c as u128), Signal::KeywordFlags(&flags));
    }
    let rules: Vec<RuleIndex> = drain(&mut a).iter().map(AlertEvent::rule).collect();
    assert_eq!(rules, vec![RuleIndex(0), RuleIndex(1)]);
    complain(&mut a, 3, 2, 10);
    complain(&mut a, 3, 2, 11);
    let rules: Vec<RuleIndex> = drain(&mut a).iter().map(AlertEvent::rule).collect();
    assert_eq!(rules, vec![RuleIndex(0)], "a disposition does not count for a keyword-only rule");
}

#[test]
fn rule_names_must_be_unique_and_rules_must_name_a_mark() {
    let rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    let err = ComplaintAlerts::new(vec![rule.clone(), rule.clone()]).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("name \"complaints\" is used twice"));
    let mut markless = rule;
    markless.dispositions.clear();
    markless.keyword_flags.clear();
    let err = ComplaintAlerts::new(vec![markless]).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("dispositions or keyword_flags must name at least one complaint mark"));
    assert!(ComplaintAlerts::new(Vec::new()).is_err());
}

#[test]
fn next_timeout_is_when_the_oldest_complaint_leaves_its_window() {
    let mut a = alerts();
    assert_eq!(a.poll_timeout(), None);
    complain(&mut a, 2, 1, 1);
    complain(&mut a, 5, 2, 2);
    assert_eq!(a.poll_timeout(), Some(at(17)));
    a.handle_timeout(at(17));
    assert_eq!(a.poll_timeout(), Some(at(20)));
    assert_eq!(a.tracked_scopes(), 1, "quiet scopes are forgotten");
}

#[test]
fn scopes_beyond_the_limit_are_dropped_and_counted() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.max_tracked_scopes = 2;
    let mut a = engine(rule);
    for q in 0..5 {
        complain(&mut a, 1, q, q);
    }
    assert_eq!(a.tracked_scopes(), 2);
    assert_eq!(a.counters().scopes_full, 3);
}

#[test]
fn undelivered_alerts_are_bounded() {
    let mut rule = ComplaintRule::more_than(1, DurationMs::from_secs(900), code("complaint"));
    rule.clear_at_or_below = 0;
    rule.max_pending_events = 1;
    let mut a = engine(rule);
    for q in 0..3 {
        complain(&mut a, 1, q, q * 10);
        complain(&mut a, 1, q, q * 10 + 1);
    }
    assert_eq!(drain(&mut a).len(), 1);
    assert_eq!(a.counters().events_dropped, 2);
}

#[test]
fn rule_clearing_above_its_raise_threshold_is_refused() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.clear_at_or_below = 4;
    let err = ComplaintAlerts::new(vec![rule]).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("clear_at_or_below must be at most raise_above"));
}

// ---- property: the bounded state machine agrees with a naive recount ----

proptest::proptest! {
    #[test]
    fn raised_state_matches_a_naive_recount_with_hysteresis(
        gaps in proptest::collection::vec((0..240i64, 0..30u128, proptest::bool::ANY), 1..200),
        n in 1..6u32,
    ) {
        let window_s = 15 * 60;
        let mut rule = ComplaintRule::more_than(n, DurationMs::from_secs(window_s as u64), code("complaint"));
        rule.clear_at_or_below = n / 2;
        let mut a = engine(rule);
        let base = at(0).unix_ms();
        let (mut now_s, mut seen, mut raised) = (0i64, Vec::<(i64, u128)>::new(), false);
        for (gap_s, contact, is_timeout) in gaps {
            now_s += gap_s;
            let now = Timestamp::from_unix_ms(base + now_s * 1000);
            // Naive model: every complaint kept, a contact counted once while its first mark is in the window.
            seen.retain(|(t, _)| *t > now_s - window_s);
            if is_timeout {
                a.handle_timeout(now);
            } else {
                if !seen.iter().any(|(_, c)| *c == contact) {
                    seen.push((now_s, contact));
                }
                let complaint = code("complaint");
                a.handle_signal(now, scope(1), ContactId::from_u128(contact), Signal::Disposition(&complaint));
            }
            let count = seen.len() as u32;
            if !raised && count > n && !is_timeout {
                raised = true;
            } else if raised && count <= n / 2 {
                raised = false;
            }
            proptest::prop_assert_eq!(a.is_raised(R0, scope(1)), raised);
        }
    }
}

#[test]
fn per_scope_list_must_hold_more_than_the_threshold() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.max_complaints_per_scope = 3;
    let err = ComplaintAlerts::new(vec![rule]).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("max_complaints_per_scope must be more than raise_above"));
}
