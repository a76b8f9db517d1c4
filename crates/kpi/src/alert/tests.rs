//! The complaint rule with injected time: raise once, clear with hysteresis, per scope, bounded.

use model::{ContactId, DurationMs, OrgId, QueueId, ReasonCode, Timestamp};

use super::*;

const MINUTE: i64 = 60_000;

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
    ComplaintAlerts::new(rule).unwrap_or_else(|e| panic!("{e}"))
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
    assert_eq!(drain(&mut a), vec![AlertEvent::Raised { scope: scope(1), at: at(4), complaints: 4 }]);
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
    assert!(!a.is_raised(scope(1)));
}

#[test]
fn a_contact_counts_once_whatever_marks_it() {
    let mut a = alerts();
    for _ in 0..5 {
        complain(&mut a, 1, 1, 7);
    }
    let counted = a.handle_signal(at(2), scope(1), ContactId::from_u128(7), Signal::Transcript("我要投诉你们"));
    assert!(counted);
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
    assert!(a.is_raised(scope(1)));
    assert!(drain(&mut a).is_empty());
    a.handle_timeout(at(17)); // 1 remains
    assert_eq!(drain(&mut a), vec![AlertEvent::Cleared { scope: scope(1), at: at(17), complaints: 1 }]);
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
fn transcript_keyword_marks_a_complaint_and_other_dispositions_do_not() {
    let a = alerts();
    assert!(a.is_complaint(Signal::Transcript("客户说要投诉")));
    assert!(!a.is_complaint(Signal::Transcript("谢谢")));
    let billing = code("billing");
    assert!(!a.is_complaint(Signal::Disposition(&billing)));
}

#[test]
fn only_the_first_bytes_of_a_long_transcript_are_searched() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.max_transcript_bytes = 10;
    let a = ComplaintAlerts::new(rule).unwrap_or_else(|e| panic!("{e}"));
    // "投" is 3 bytes: the cut falls inside a character and must not panic.
    assert!(!a.is_complaint(Signal::Transcript("aaaaaaaaa投诉")));
    assert!(a.is_complaint(Signal::Transcript("a投诉")));
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
    let mut a = ComplaintAlerts::new(rule).unwrap_or_else(|e| panic!("{e}"));
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
    let mut a = ComplaintAlerts::new(rule).unwrap_or_else(|e| panic!("{e}"));
    for q in 0..3 {
        complain(&mut a, 1, q, q * 10);
        complain(&mut a, 1, q, q * 10 + 1);
    }
    assert_eq!(drain(&mut a).len(), 1);
    assert_eq!(a.counters().events_dropped, 2);
}

#[test]
fn rule_without_hysteresis_is_refused() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.clear_at_or_below = 3;
    let err = ComplaintAlerts::new(rule).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("clear_at_or_below must be less than raise_above (hysteresis)"));
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
        let mut a = ComplaintAlerts::new(rule).unwrap_or_else(|e| panic!("{e}"));
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
            proptest::prop_assert_eq!(a.is_raised(scope(1)), raised);
        }
    }
}

#[test]
fn per_scope_list_must_hold_more_than_the_threshold() {
    let mut rule = ComplaintRule::more_than(3, DurationMs::from_secs(900), code("complaint"));
    rule.max_complaints_per_scope = 3;
    let err = ComplaintAlerts::new(rule).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("max_complaints_per_scope must be more than raise_above"));
}
