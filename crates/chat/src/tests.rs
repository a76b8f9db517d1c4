//! Behaviour of the conversation core, one intent per test.

use base64::Engine as _;

use crate::conversations::{ChatEvent, ChatLimits, ConnId, EndReason, Output};
use crate::hours::BusinessHours;
use crate::protocol::{Author, ClientFrame, ConversationState, ErrorCode, ServerFrame};
use crate::testkit::*;

const A: ConnId = ConnId(1);
const B: ConnId = ConnId(2);

fn with_agent(limits: ChatLimits) -> crate::Conversations {
    let mut c = core(limits);
    c.set_agent_available(agent(), true).expect("room for one agent");
    c
}

fn errors(outputs: &[Output], conn: ConnId) -> Vec<ErrorCode> {
    frames_to(outputs, conn)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .collect()
}

fn events(outputs: &[Output]) -> Vec<ChatEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

fn attachment(id: &str, mime: &str, bytes: &[u8], size: u64) -> ClientFrame {
    ClientFrame::Attachment {
        client_msg_id: id.into(),
        name: "shot.png".into(),
        mime: mime.into(),
        size,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

#[test]
fn prechat_with_an_agent_available_queues_the_conversation_for_routing() {
    let mut c = with_agent(ChatLimits::default());
    c.connect(A, at(0));
    send(&mut c, at(0), A, &hello_new());
    send(&mut c, at(0), A, &prechat("zh-CN"));
    let out = drain(&mut c);
    let frames = frames_to(&out, A);
    assert!(matches!(&frames[0], ServerFrame::Welcome { state: ConversationState::Prechat, last_seq: 0, .. }));
    assert!(matches!(&frames[1], ServerFrame::Msg { seq: 1, from: Author::System, text, .. } if text.contains("转接")));
    assert!(events(&out).iter().any(|e| matches!(e, ChatEvent::Started { offline: false, .. })));
}

#[test]
fn without_agents_the_conversation_is_left_as_a_message_emitted_when_it_ends() {
    let mut c = core(ChatLimits::default());
    let (id, _) = started(&mut c, A);
    assert_eq!(c.state(&id), Some(ConversationState::Offline));
    send(&mut c, at(1), A, &msg("m1", "我的订单没到"));
    send(&mut c, at(2), A, &ClientFrame::Leave);
    let out = drain(&mut c);
    let left = events(&out).into_iter().find_map(|e| match e {
        ChatEvent::LeaveMessage(m) => Some(m),
        _ => None,
    });
    let left = left.expect("a leave-a-message action");
    assert_eq!(left.prechat.email.map(|e| e.as_str().to_owned()).as_deref(), Some("xiaoming@example.com"));
    assert!(left.transcript.iter().any(|e| e.from == Author::Customer && e.text == "我的订单没到"));
    assert!(frames_to(&out, A).contains(&ServerFrame::Ended));
}

#[test]
fn outside_business_hours_is_offline_even_with_agents() {
    let mut c = crate::Conversations::new(ChatLimits::default(), BusinessHours::never(), Box::new(CountingIds(0)));
    c.set_agent_available(agent(), true).expect("room");
    let (id, _) = started(&mut c, A);
    assert_eq!(c.state(&id), Some(ConversationState::Offline));
}

/// Hours that an admin switches while the server runs (as the binary's named calendars).
#[derive(Debug, Default)]
struct Switch(std::sync::atomic::AtomicBool);

impl crate::OpenHours for Switch {
    fn is_open(&self, _now: model::Timestamp) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The system notice the customer on `conn` was sent, and whether the chat started offline.
fn notice(outputs: &[Output], conn: ConnId) -> (Option<String>, Option<bool>) {
    let text = frames_to(outputs, conn).into_iter().find_map(|f| match f {
        ServerFrame::Msg { from: Author::System, text, .. } => Some(text),
        _ => None,
    });
    let offline = outputs.iter().find_map(|o| match o {
        Output::Event(ChatEvent::Started { offline, .. }) => Some(*offline),
        _ => None,
    });
    (text, offline)
}

#[test]
fn hours_are_asked_per_chat_and_closed_hours_say_so_in_the_customers_language() {
    let hours = std::sync::Arc::new(Switch::default());
    let mut c = crate::Conversations::new(ChatLimits::default(), hours.clone(), Box::new(CountingIds(0)));
    c.set_agent_available(agent(), true).expect("room");
    c.connect(A, at(0));
    send(&mut c, at(0), A, &hello_new());
    send(&mut c, at(0), A, &prechat("zh-CN"));
    let out = drain(&mut c);
    let closed = "现在是非工作时间。请留言,我们会在工作时间通过邮件回复您。";
    assert_eq!(notice(&out, A), (Some(closed.to_owned()), Some(true)));

    // Opened (an admin edited the calendar): the next chat is answered live.
    hours.0.store(true, std::sync::atomic::Ordering::Relaxed);
    c.connect(B, at(1));
    send(&mut c, at(1), B, &hello_new());
    send(&mut c, at(1), B, &prechat("en"));
    let out = drain(&mut c);
    assert_eq!(notice(&out, B), (Some("Connecting you to an agent, please wait.".to_owned()), Some(false)));
}

#[test]
fn a_message_is_acknowledged_with_its_sequence_number_and_echoed() {
    let mut c = with_agent(ChatLimits::default());
    started(&mut c, A);
    send(&mut c, at(1), A, &msg("m1", "hello"));
    let frames = frames_to(&drain(&mut c), A);
    assert_eq!(frames[0], ServerFrame::Ack { client_msg_id: "m1".into(), seq: 2 });
    assert!(
        matches!(&frames[1], ServerFrame::Msg { seq: 2, from: Author::Customer, client_msg_id: Some(m), .. } if m == "m1")
    );
}

#[test]
fn a_repeated_client_msg_id_is_acknowledged_with_the_original_number_and_stored_once() {
    let mut c = with_agent(ChatLimits::default());
    let (id, _) = started(&mut c, A);
    send(&mut c, at(1), A, &msg("m1", "hello"));
    send(&mut c, at(2), A, &msg("m1", "hello"));
    let frames = frames_to(&drain(&mut c), A);
    assert_eq!(frames.last(), Some(&ServerFrame::Ack { client_msg_id: "m1".into(), seq: 2 }));
    let stored = c.transcript(&id, 0).expect("exists");
    assert_eq!(stored.iter().filter(|e| e.from == Author::Customer).count(), 1);
}

#[test]
fn resume_replays_everything_after_the_last_seen_number() {
    let mut c = with_agent(ChatLimits::default());
    let (id, token) = started(&mut c, A);
    c.accept(at(1), &id, agent()).expect("queued");
    c.agent_send(at(2), &id, agent(), "a1", "您好").expect("sent");
    c.disconnect(A);
    c.agent_send(at(3), &id, agent(), "a2", "请问订单号?").expect("sent while away");
    drain(&mut c);
    c.connect(B, at(4));
    let resume = ClientFrame::Hello {
        v: 1,
        conversation_id: Some(id.as_str().into()),
        resume_after_seq: Some(2),
        token: Some(token),
    };
    send(&mut c, at(4), B, &resume);
    let seqs: Vec<u64> = frames_to(&drain(&mut c), B)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Msg { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![3, 4]);
}

#[test]
fn an_unknown_conversation_and_a_wrong_token_get_the_same_answer() {
    let mut c = with_agent(ChatLimits::default());
    let (id, _) = started(&mut c, A);
    c.connect(B, at(1));
    let forged = |conversation_id: String| ClientFrame::Hello {
        v: 1,
        conversation_id: Some(conversation_id),
        resume_after_seq: None,
        token: Some("00".repeat(16)),
    };
    send(&mut c, at(1), B, &forged(id.as_str().into()));
    send(&mut c, at(1), B, &forged("ab".repeat(16)));
    let out = drain(&mut c);
    assert_eq!(errors(&out, B), vec![ErrorCode::UnknownConversation, ErrorCode::UnknownConversation]);
}

#[test]
fn frames_before_hello_are_refused_and_a_wrong_version_closes() {
    let mut c = core(ChatLimits::default());
    c.connect(A, at(0));
    send(&mut c, at(0), A, &msg("m1", "hi"));
    send(&mut c, at(0), A, &ClientFrame::Hello { v: 9, conversation_id: None, resume_after_seq: None, token: None });
    let out = drain(&mut c);
    assert_eq!(errors(&out, A), vec![ErrorCode::HelloFirst, ErrorCode::UnsupportedVersion]);
    assert!(out.contains(&Output::Close { conn: A }));
}

#[test]
fn a_message_before_the_prechat_form_is_refused() {
    let mut c = core(ChatLimits::default());
    c.connect(A, at(0));
    send(&mut c, at(0), A, &hello_new());
    send(&mut c, at(0), A, &msg("m1", "hi"));
    assert_eq!(errors(&drain(&mut c), A), vec![ErrorCode::PrechatRequired]);
}

#[test]
fn an_invalid_prechat_form_is_refused() {
    let mut c = core(ChatLimits::default());
    c.connect(A, at(0));
    send(&mut c, at(0), A, &hello_new());
    let bad =
        ClientFrame::Prechat { name: " ".into(), issue_type: "order".into(), language: "zh-CN".into(), email: None };
    send(&mut c, at(0), A, &bad);
    let bad_email = ClientFrame::Prechat {
        name: "Li".into(),
        issue_type: "order".into(),
        language: "en".into(),
        email: Some("no-at-sign".into()),
    };
    send(&mut c, at(0), A, &bad_email);
    assert_eq!(errors(&drain(&mut c), A), vec![ErrorCode::InvalidPrechat, ErrorCode::InvalidPrechat]);
}

#[test]
fn an_oversized_message_or_frame_is_refused_and_counted() {
    let limits = ChatLimits { max_message_bytes: 10, max_attachment_bytes: 30, ..ChatLimits::default() };
    let frame_limit = limits.max_frame_bytes();
    let mut c = with_agent(limits);
    started(&mut c, A);
    send(&mut c, at(1), A, &msg("m1", "01234567890"));
    c.handle_text(at(1), A, &"x".repeat(frame_limit + 1));
    assert_eq!(errors(&drain(&mut c), A), vec![ErrorCode::MessageTooLarge, ErrorCode::BadFrame]);
    assert_eq!(c.counters().oversized_refused, 2);
}

#[test]
fn a_flood_is_refused_until_the_next_minute() {
    let mut c = with_agent(ChatLimits { max_messages_per_minute: 3, ..ChatLimits::default() });
    started(&mut c, A);
    for i in 0..4 {
        send(&mut c, at(1_000 + i), A, &msg(&format!("m{i}"), "spam"));
    }
    assert_eq!(errors(&drain(&mut c), A), vec![ErrorCode::Flood]);
    send(&mut c, at(62_000), A, &msg("m4", "calm again"));
    assert_eq!(errors(&drain(&mut c), A), vec![]);
    assert_eq!(c.counters().floods_refused, 1);
}

#[test]
fn too_many_frames_close_the_connection() {
    let mut c = with_agent(ChatLimits { max_frames_per_minute: 5, ..ChatLimits::default() });
    started(&mut c, A);
    for _ in 0..4 {
        send(&mut c, at(1), A, &ClientFrame::Typing);
    }
    let out = drain(&mut c);
    assert_eq!(errors(&out, A), vec![ErrorCode::Flood]);
    assert!(out.contains(&Output::Close { conn: A }));
}

#[test]
fn a_real_png_is_stored_and_its_bytes_emitted_once() {
    let mut c = with_agent(ChatLimits::default());
    started(&mut c, A);
    let bytes = png(64);
    send(&mut c, at(1), A, &attachment("f1", "image/png", &bytes, 64));
    let out = drain(&mut c);
    assert!(frames_to(&out, A).contains(&ServerFrame::Ack { client_msg_id: "f1".into(), seq: 2 }));
    let received: Vec<_> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            ChatEvent::AttachmentReceived { bytes, meta, .. } => Some((bytes, meta.mime)),
            _ => None,
        })
        .collect();
    assert_eq!(received, vec![(bytes, "image/png".to_owned())]);
}

#[test]
fn forged_mismatched_and_oversized_attachments_are_refused() {
    let mut c = with_agent(ChatLimits { max_attachment_bytes: 100, ..ChatLimits::default() });
    started(&mut c, A);
    send(&mut c, at(1), A, &attachment("f1", "image/png", b"MZ\x90\0\x03\0\0\0", 8));
    send(&mut c, at(1), A, &attachment("f2", "application/x-msdownload", b"MZ\x90\0", 4));
    send(&mut c, at(1), A, &attachment("f3", "image/png", &png(20), 21));
    send(&mut c, at(1), A, &attachment("f4", "image/png", &png(101), 101));
    let out = drain(&mut c);
    assert_eq!(
        errors(&out, A),
        vec![
            ErrorCode::AttachmentType,
            ErrorCode::AttachmentType,
            ErrorCode::AttachmentMismatch,
            ErrorCode::AttachmentTooLarge
        ]
    );
    assert_eq!(c.counters().attachments_refused, 4);
}

#[test]
fn a_full_conversation_refuses_more_messages() {
    let mut c = with_agent(ChatLimits { max_conversation_messages: 3, ..ChatLimits::default() });
    let (id, _) = started(&mut c, A);
    send(&mut c, at(1), A, &msg("m1", "one"));
    send(&mut c, at(1), A, &msg("m2", "two"));
    send(&mut c, at(1), A, &msg("m3", "three"));
    assert_eq!(errors(&drain(&mut c), A), vec![ErrorCode::ConversationFull]);
    assert_eq!(c.transcript(&id, 0).map(|t| t.len()), Some(3));
}

#[test]
fn a_conversation_is_rated_once_with_a_score_from_one_to_five() {
    let mut c = with_agent(ChatLimits::default());
    started(&mut c, A);
    send(&mut c, at(1), A, &ClientFrame::Leave);
    send(&mut c, at(2), A, &ClientFrame::Rate { score: 6, comment: None });
    send(&mut c, at(2), A, &ClientFrame::Rate { score: 5, comment: Some("很好".into()) });
    send(&mut c, at(3), A, &ClientFrame::Rate { score: 1, comment: None });
    let out = drain(&mut c);
    assert_eq!(errors(&out, A), vec![ErrorCode::InvalidRating, ErrorCode::AlreadyRated]);
    let ratings: Vec<_> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            ChatEvent::Rated { score, comment, .. } => Some((score, comment)),
            _ => None,
        })
        .collect();
    assert_eq!(ratings, vec![(5, Some("很好".to_owned()))]);
}

#[test]
fn an_idle_conversation_ends_and_is_dropped_after_its_retention() {
    let limits = ChatLimits { idle_timeout_ms: 1_000, ended_retention_ms: 500, ..ChatLimits::default() };
    let mut c = with_agent(limits);
    let (id, _) = started(&mut c, A);
    c.accept(at(0), &id, agent()).expect("queued");
    drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(at(1_000)));
    c.handle_timeout(at(1_000));
    let out = drain(&mut c);
    assert!(events(&out).iter().any(|e| matches!(e, ChatEvent::Ended { reason: EndReason::IdleTimeout, .. })));
    c.handle_timeout(at(1_500));
    assert!(drain(&mut c).contains(&Output::Close { conn: A }));
    assert!(c.is_empty());
}

#[test]
fn a_queued_conversation_no_agent_takes_becomes_a_message_left_for_later() {
    let mut c = with_agent(ChatLimits { max_queue_wait_ms: 1_000, ..ChatLimits::default() });
    let (id, _) = started(&mut c, A);
    c.handle_timeout(at(1_000));
    assert_eq!(c.state(&id), Some(ConversationState::Offline));
    assert!(events(&drain(&mut c)).iter().any(|e| matches!(e, ChatEvent::WentOffline { .. })));
}

#[test]
fn with_an_acd_routing_chats_they_queue_without_a_local_agent_and_a_refusal_leaves_a_message() {
    let mut c = core(ChatLimits::default());
    c.set_external_routing(true);
    let (id, _) = started(&mut c, A);
    assert_eq!(c.state(&id), Some(ConversationState::Queued));
    c.leave_for_later(at(1), &id);
    assert_eq!(c.state(&id), Some(ConversationState::Offline));
    assert!(events(&drain(&mut c)).iter().any(|e| matches!(e, ChatEvent::WentOffline { .. })));
}

#[test]
fn an_agent_retry_is_stored_once_and_another_agent_cannot_write() {
    let mut c = with_agent(ChatLimits::default());
    let (id, _) = started(&mut c, A);
    c.accept(at(1), &id, agent()).expect("queued");
    let first = c.agent_send(at(2), &id, agent(), "a1", "hi");
    let retry = c.agent_send(at(3), &id, agent(), "a1", "hi");
    assert_eq!(first, retry);
    let intruder = model::AgentId::from_u128(1002);
    assert_eq!(c.agent_send(at(3), &id, intruder, "x1", "hi"), Err(crate::AgentError::NotYours));
    assert_eq!(c.accept(at(3), &id, intruder), Err(crate::AgentError::NotYours));
}

#[test]
fn read_marks_reach_the_customer_and_are_replayed_on_resume() {
    let mut c = with_agent(ChatLimits::default());
    let (id, token) = started(&mut c, A);
    c.accept(at(1), &id, agent()).expect("queued");
    send(&mut c, at(2), A, &msg("m1", "hi"));
    c.agent_read(&id, agent(), 99).expect("own");
    assert!(frames_to(&drain(&mut c), A).contains(&ServerFrame::Read { up_to_seq: 3 }));
    c.connect(B, at(3));
    let resume = ClientFrame::Hello {
        v: 1,
        conversation_id: Some(id.as_str().into()),
        resume_after_seq: Some(3),
        token: Some(token),
    };
    send(&mut c, at(3), B, &resume);
    assert!(frames_to(&drain(&mut c), B).contains(&ServerFrame::Read { up_to_seq: 3 }));
}

#[test]
fn past_max_conversations_a_new_visitor_is_told_busy() {
    let mut c = with_agent(ChatLimits { max_conversations: 1, ..ChatLimits::default() });
    started(&mut c, A);
    c.connect(B, at(1));
    send(&mut c, at(1), B, &hello_new());
    let out = drain(&mut c);
    assert_eq!(errors(&out, B), vec![ErrorCode::Busy]);
    assert!(out.contains(&Output::Close { conn: B }));
}

#[test]
fn a_fifth_connection_to_one_conversation_closes_the_oldest() {
    let mut c = with_agent(ChatLimits { max_connections_per_conversation: 2, ..ChatLimits::default() });
    let (id, token) = started(&mut c, A);
    for n in 2..=3 {
        c.connect(ConnId(n), at(1));
        let resume = ClientFrame::Hello {
            v: 1,
            conversation_id: Some(id.as_str().into()),
            resume_after_seq: None,
            token: Some(token.clone()),
        };
        send(&mut c, at(1), ConnId(n), &resume);
    }
    assert!(drain(&mut c).contains(&Output::Close { conn: A }));
}

proptest::proptest! {
    #[test]
    fn random_text_never_panics(texts in proptest::collection::vec(".{0,200}", 0..20)) {
        let mut c = with_agent(ChatLimits::default());
        started(&mut c, A);
        for t in &texts {
            c.handle_text(at(1), A, t);
        }
        drain(&mut c);
    }

    #[test]
    fn random_frames_never_panic(frames in proptest::collection::vec(proptest::prelude::any::<(u8, String, u64)>(), 0..30)) {
        let mut c = with_agent(ChatLimits::default());
        c.connect(A, at(0));
        for (kind, s, n) in frames {
            let frame = match kind % 8 {
                0 => ClientFrame::Hello { v: (n % 3) as u32, conversation_id: Some(s.clone()), resume_after_seq: Some(n), token: Some(s) },
                1 => ClientFrame::Prechat { name: s.clone(), issue_type: s.clone(), language: s, email: None },
                2 => ClientFrame::Msg { client_msg_id: s.clone(), text: s },
                3 => ClientFrame::Read { up_to_seq: n },
                4 => ClientFrame::Attachment { client_msg_id: "f".into(), name: s.clone(), mime: s.clone(), size: n, data: s },
                5 => ClientFrame::Rate { score: (n % 256) as u8, comment: Some(s) },
                6 => hello_new(),
                _ => ClientFrame::Leave,
            };
            send(&mut c, at(1), A, &frame);
        }
        drain(&mut c);
    }
}

/// The conversation `id` as a store would give it back after a restart.
fn stored_copy(c: &crate::Conversations, id: &crate::ConversationId, token: &str) -> crate::RestoredConversation {
    crate::RestoredConversation {
        id: id.clone(),
        token: token.to_owned(),
        state: c.state(id).expect("held"),
        prechat: crate::Prechat {
            name: "王小明".into(),
            issue_type: crate::IssueType::Order,
            language: model::Language::parse("zh-CN").expect("language"),
            email: None,
        },
        log: c.transcript(id, 0).expect("held"),
        customer_read_seq: 0,
        rated: false,
        ended_at: None,
    }
}

#[test]
fn a_restored_conversation_replays_its_log_recognises_repeats_and_continues_the_numbers() {
    let mut before = with_agent(ChatLimits::default());
    let (id, token) = started(&mut before, A);
    send(&mut before, at(1), A, &msg("m1", "我的订单"));
    before.accept(at(2), &id, agent()).expect("queued");
    before.agent_send(at(3), &id, agent(), "a1", "您好").expect("sent");
    drain(&mut before);
    let copy = stored_copy(&before, &id, &token);
    let last = copy.log.last().map(|e| e.seq).expect("messages");

    let mut after = with_agent(ChatLimits::default());
    after.restore(at(10), copy.clone()).expect("restored");
    let restored = events(&drain(&mut after));
    assert!(matches!(restored.first(), Some(ChatEvent::Restored { offline: false, .. })), "{restored:?}");
    assert_eq!(after.state(&id), Some(ConversationState::Queued), "routing was lost: it waits again");
    after.connect(B, at(11));
    let resume = ClientFrame::Hello {
        v: 1,
        conversation_id: Some(id.as_str().into()),
        resume_after_seq: Some(0),
        token: Some(token),
    };
    send(&mut after, at(11), B, &resume);
    send(&mut after, at(12), B, &msg("m1", "我的订单"));
    send(&mut after, at(13), B, &msg("m2", "还在吗"));
    let frames = frames_to(&drain(&mut after), B);
    let seqs: Vec<u64> =
        frames.iter().filter_map(|f| if let ServerFrame::Msg { seq, .. } = f { Some(*seq) } else { None }).collect();
    let expected: Vec<u64> = (1..=last + 2).collect();
    assert_eq!(seqs, expected, "the old log, the re-queue notice, then m2; m1 not stored again");
    assert!(frames.contains(&ServerFrame::Ack { client_msg_id: "m1".into(), seq: copy.log[1].seq }), "{frames:?}");
}

#[test]
fn a_restore_with_a_gap_in_the_log_or_of_a_held_conversation_is_refused() {
    let mut c = with_agent(ChatLimits::default());
    let (id, token) = started(&mut c, A);
    send(&mut c, at(1), A, &msg("m1", "hi"));
    drain(&mut c);
    let copy = stored_copy(&c, &id, &token);
    assert_eq!(c.restore(at(2), copy.clone()), Err(crate::RestoreError::AlreadyHeld));
    let mut gap = copy.clone();
    gap.log.remove(0);
    let mut fresh = with_agent(ChatLimits::default());
    assert_eq!(fresh.restore(at(2), gap), Err(crate::RestoreError::BrokenLog));
    let mut early = copy;
    early.state = ConversationState::Prechat;
    assert_eq!(fresh.restore(at(2), early), Err(crate::RestoreError::NotStarted));
    assert!(fresh.is_empty());
}

#[test]
fn an_ended_conversation_is_restored_ended_and_dropped_after_its_retention() {
    let limits = ChatLimits { ended_retention_ms: 1_000, ..ChatLimits::default() };
    let mut c = with_agent(limits.clone());
    let (id, token) = started(&mut c, A);
    send(&mut c, at(1), A, &ClientFrame::Leave);
    drain(&mut c);
    let mut copy = stored_copy(&c, &id, &token);
    copy.ended_at = Some(at(1));
    let mut after = with_agent(limits);
    after.restore(at(5), copy).expect("restored");
    assert!(events(&drain(&mut after)).is_empty(), "nothing to route");
    assert_eq!(after.state(&id), Some(ConversationState::Ended));
    after.handle_timeout(at(1_001));
    assert!(after.is_empty());
}
