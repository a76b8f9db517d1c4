use super::*;

fn limits() -> PollLimits {
    PollLimits {
        max_message_bytes: 1000,
        max_messages_per_poll: 3,
        max_skipped_uids: 2,
        flood: SenderWindowLimits { max_events_per_window: 2, window_ms: 60_000, max_tracked_senders: 10 },
    }
}

fn state() -> PollState {
    PollState::new(limits(), AfterAccept::MarkSeen)
}

const T0: Timestamp = Timestamp::from_unix_ms(0);

#[test]
fn after_accept_parses_seen_delete_and_move_and_refuses_the_rest() {
    assert_eq!(AfterAccept::parse("seen"), Ok(AfterAccept::MarkSeen));
    assert_eq!(AfterAccept::parse("delete"), Ok(AfterAccept::Delete));
    assert_eq!(AfterAccept::parse("move:Done/2026"), Ok(AfterAccept::Move("Done/2026".into())));
    assert!(AfterAccept::parse("move:").is_err());
    assert!(AfterAccept::parse("archive").is_err());
}

#[test]
fn plan_takes_unseen_oldest_first_up_to_the_limit() {
    assert_eq!(state().plan([9, 2, 7, 2, 5]), vec![2, 5, 7]);
}

#[test]
fn oversized_message_is_skipped_once_and_not_planned_again() {
    let mut s = state();
    s.on_selected(Some(1));
    assert_eq!(s.on_size(4, Some(1001)), Err(Skip::Oversized { size_bytes: 1001 }));
    assert_eq!(s.on_size(5, Some(1000)), Ok(()));
    assert_eq!(s.plan([4, 5]), vec![5]);
}

#[test]
fn uid_validity_change_forgets_skipped_uids() {
    let mut s = state();
    assert_eq!(s.on_selected(Some(1)), Selected::First);
    let _ = s.on_size(4, Some(5000));
    assert_eq!(s.on_selected(Some(1)), Selected::Same);
    assert_eq!(s.plan([4]), Vec::<u32>::new());
    assert_eq!(s.on_selected(Some(2)), Selected::UidValidityChanged);
    assert_eq!(s.plan([4]), vec![4]);
}

#[test]
fn skipped_uids_are_bounded_forgetting_the_lowest() {
    let mut s = state();
    for uid in [1, 2, 3] {
        let _ = s.on_size(uid, None);
    }
    assert_eq!(s.skipped_uids(), 2);
    assert_eq!(s.plan([1, 2, 3]), vec![1]);
}

#[test]
fn only_an_accepted_message_is_marked_and_a_temporary_failure_stops_the_poll() {
    let mut s = state();
    assert_eq!(
        s.on_verdict(1, &Verdict::Accepted { queue_id: "q".into() }),
        AfterVerdict::Apply(AfterAccept::MarkSeen)
    );
    assert_eq!(s.on_verdict(2, &Verdict::TemporaryFailure("db".into())), AfterVerdict::StopPoll);
    assert_eq!(s.plan([2]), vec![2]);
    assert_eq!(s.on_verdict(3, &Verdict::Rejected("malformed".into())), AfterVerdict::Skipped);
    assert_eq!(s.plan([3]), Vec::<u32>::new());
}

#[test]
fn envelope_sender_is_the_return_path_else_the_from_address() {
    let mut s = state();
    let m = s.on_message(T0, 1, b"Return-Path: <b@y.test>\r\nFrom: a@x.test\r\n\r\nhi", "support@h.test").unwrap();
    assert_eq!(m.mail_from, "b@y.test");
    assert_eq!(m.rcpt_to, vec!["support@h.test"]);
    let m = s.on_message(T0, 2, b"Return-Path: <>\r\nFrom: MAILER-DAEMON@x.test\r\n\r\nbounce", "u").unwrap();
    assert_eq!(m.mail_from, "");
    assert!(m.rcpt_to.is_empty());
    let m = s.on_message(T0, 3, b"From: Ann <a@x.test>\r\n\r\nhi", "u").unwrap();
    assert_eq!(m.mail_from, "a@x.test");
}

#[test]
fn a_flooding_sender_is_skipped_past_its_window() {
    let mut s = state();
    let raw = b"From: a@x.test\r\n\r\nhi";
    assert!(s.on_message(T0, 1, raw, "u").is_ok());
    assert!(s.on_message(T0, 2, raw, "u").is_ok());
    assert_eq!(s.on_message(T0, 3, raw, "u"), Err(Skip::FloodLimited { sender: "a@x.test".into() }));
}

#[test]
fn garbage_bytes_never_panic() {
    let mut s = state();
    for raw in [&b""[..], b"\xff\xfe\x00", b"Return-Path:\r\n\r\n", b":::\r\n\r\n"] {
        let _ = s.on_message(T0, 1, raw, "u");
    }
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    assert_eq!(backoff_ms(1, 100, 1000), 100);
    assert_eq!(backoff_ms(2, 100, 1000), 200);
    assert_eq!(backoff_ms(5, 100, 1000), 1000);
    assert_eq!(backoff_ms(u32::MAX, 100, 1000), 1000);
}

#[test]
fn password_never_prints_itself() {
    assert_eq!(format!("{:?}", Password("hunter2".into())), "\"<redacted>\"");
}
