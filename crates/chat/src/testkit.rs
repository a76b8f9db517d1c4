//! Small builders shared by the unit tests and the property test (compiled for tests only).

use model::{AgentId, Timestamp};

use crate::conversations::{ChatLimits, ConnId, ConversationId, Conversations, IdSource, Output};
use crate::hours::BusinessHours;
use crate::protocol::{ClientFrame, ServerFrame};

/// Ids from a counter: deterministic and distinct.
pub struct CountingIds(pub u64);

impl IdSource for CountingIds {
    fn fresh(&mut self) -> Option<[u8; 32]> {
        self.0 += 1;
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&self.0.to_be_bytes());
        out[16..24].copy_from_slice(&(self.0 ^ 0xA5A5).to_be_bytes());
        Some(out)
    }
}

pub const T0: i64 = 1_795_743_000_000;

pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + ms)
}

pub fn agent() -> AgentId {
    AgentId::from_u128(1001)
}

pub fn core(limits: ChatLimits) -> Conversations {
    Conversations::new(limits, BusinessHours::always(), Box::new(CountingIds(0)))
}

/// Frames sent to `conn` among the pending outputs (the others are kept in `rest`).
pub fn drain(core: &mut Conversations) -> Vec<Output> {
    std::iter::from_fn(|| core.poll_output()).collect()
}

pub fn frames_to(outputs: &[Output], conn: ConnId) -> Vec<ServerFrame> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, frame } if *c == conn => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

pub fn send(core: &mut Conversations, now: Timestamp, conn: ConnId, frame: &ClientFrame) {
    core.handle_text(now, conn, &frame.to_json());
}

pub fn hello_new() -> ClientFrame {
    ClientFrame::Hello { v: 1, conversation_id: None, resume_after_seq: None, token: None }
}

pub fn prechat(language: &str) -> ClientFrame {
    ClientFrame::Prechat {
        name: "王小明".into(),
        issue_type: "order".into(),
        language: language.into(),
        email: Some("xiaoming@example.com".into()),
    }
}

pub fn msg(id: &str, text: &str) -> ClientFrame {
    ClientFrame::Msg { client_msg_id: id.into(), text: text.into() }
}

/// Connects, says hello, fills the pre-chat form: returns the conversation id and token.
pub fn started(core: &mut Conversations, conn: ConnId) -> (ConversationId, String) {
    core.connect(conn, at(0));
    send(core, at(0), conn, &hello_new());
    send(core, at(0), conn, &prechat("zh-CN"));
    let out = drain(core);
    match frames_to(&out, conn).first() {
        Some(ServerFrame::Welcome { conversation_id, token, .. }) => {
            (ConversationId::parse(conversation_id).expect("hex id"), token.clone())
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}
