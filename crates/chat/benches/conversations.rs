//! Throughput of the chat core: customer messages (parse, de-duplicate, sequence, ack, fan-out,
//! event) and resumes, across many open conversations.
//!
//! `cargo bench -p chat --bench conversations`

use std::hint::black_box;

use chat::{ChatLimits, ClientFrame, ConnId, Conversations, IdSource, ServerFrame};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Timestamp;

struct CountingIds(u64);

impl IdSource for CountingIds {
    fn fresh(&mut self) -> Option<[u8; 32]> {
        self.0 += 1;
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&self.0.to_be_bytes());
        out[16..24].copy_from_slice(&self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        Some(out)
    }
}

const CONVERSATIONS: u64 = 10_000;

/// `CONVERSATIONS` conversations past the pre-chat form, each with one connection.
fn open_conversations() -> (Conversations, Vec<(String, String)>) {
    let limits =
        ChatLimits { max_messages_per_minute: u32::MAX, max_frames_per_minute: u32::MAX, ..Default::default() };
    let mut core = Conversations::new(limits, chat::BusinessHours::always(), Box::new(CountingIds(0)));
    core.set_agent_available(model::AgentId::from_u128(1), true).expect("room");
    let now = Timestamp::from_unix_ms(1_795_743_000_000);
    let hello = ClientFrame::Hello { v: 1, conversation_id: None, resume_after_seq: None, token: None }.to_json();
    let prechat = ClientFrame::Prechat {
        name: "王小明".into(),
        issue_type: "order".into(),
        language: "zh-CN".into(),
        email: None,
    }
    .to_json();
    let mut ids = Vec::new();
    for n in 0..CONVERSATIONS {
        let conn = ConnId(n);
        core.connect(conn, now);
        core.handle_text(now, conn, &hello);
        core.handle_text(now, conn, &prechat);
        while let Some(out) = core.poll_output() {
            if let chat::Output::Send { frame: ServerFrame::Welcome { conversation_id, token, .. }, .. } = out {
                ids.push((conversation_id, token));
            }
        }
    }
    (core, ids)
}

fn customer_messages(c: &mut Criterion) {
    let (mut core, _) = open_conversations();
    let now = Timestamp::from_unix_ms(1_795_743_000_000);
    let mut group = c.benchmark_group("chat");
    group.throughput(Throughput::Elements(1));
    let mut n: u64 = 0;
    group.bench_function("customer_message_across_10k_conversations", |b| {
        b.iter(|| {
            n += 1;
            let conn = ConnId(n % CONVERSATIONS);
            let frame = format!(r#"{{"type":"msg","client_msg_id":"m{n}","text":"我的订单 100001 什么时候发货?"}}"#);
            core.handle_text(now, conn, &frame);
            while let Some(out) = core.poll_output() {
                black_box(out);
            }
            // Keep the logs short so the limit on messages per conversation is never reached.
            if n.is_multiple_of(CONVERSATIONS * 500) {
                let (fresh, _) = open_conversations();
                core = fresh;
            }
        })
    });
    group.finish();
}

fn resumes(c: &mut Criterion) {
    let (mut core, ids) = open_conversations();
    let now = Timestamp::from_unix_ms(1_795_743_000_000);
    let mut n: u64 = CONVERSATIONS;
    c.bench_function("chat/resume_with_replay", |b| {
        b.iter(|| {
            n += 1;
            let (id, token) = &ids[(n % CONVERSATIONS) as usize];
            let conn = ConnId(n);
            core.connect(conn, now);
            let hello = ClientFrame::Hello {
                v: 1,
                conversation_id: Some(id.clone()),
                resume_after_seq: Some(0),
                token: Some(token.clone()),
            };
            core.handle_text(now, conn, &hello.to_json());
            core.disconnect(conn);
            while let Some(out) = core.poll_output() {
                black_box(out);
            }
        })
    });
}

criterion_group!(benches, customer_messages, resumes);
criterion_main!(benches);
