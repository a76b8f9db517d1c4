//! The delivery guarantee under a hostile network: random schedules of typing, agent replies
//! (with agent retries), lost connections (frames in flight both ways are dropped), reconnects
//! with resume, duplicated and reordered client frames. At the end the customer's view (built
//! only from frames it received) and the agent's view (built only from events) are identical,
//! gap-free, in sequence order, and hold every message exactly once.

use std::collections::VecDeque;

use proptest::prelude::*;

use crate::conversations::{ChatEvent, ChatLimits, ConnId, ConversationId, Conversations, Output};
use crate::protocol::{Author, ClientFrame, ServerFrame};
use crate::testkit::*;

#[derive(Debug, Clone)]
enum Step {
    CustomerTypes,
    AgentSends {
        retry: bool,
    },
    /// Delivers up to n frames server → client.
    Downlink(u8),
    /// Delivers up to n frames client → server.
    Uplink(u8),
    /// Swaps two queued client frames.
    Reorder(u8, u8),
    /// Re-sends an already sent message (acknowledged or not).
    Duplicate(u8),
    Disconnect,
    Reconnect,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::CustomerTypes),
        2 => any::<bool>().prop_map(|retry| Step::AgentSends { retry }),
        4 => (1u8..6).prop_map(Step::Downlink),
        4 => (1u8..6).prop_map(Step::Uplink),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Step::Reorder(a, b)),
        1 => any::<u8>().prop_map(Step::Duplicate),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Reconnect),
    ]
}

/// The widget's logic, as in `widget.js`: a view by sequence number, an outbox of unacknowledged
/// messages re-sent on every resume.
struct Customer {
    conn: Option<ConnId>,
    next_conn: u64,
    view: Vec<(u64, Author, String)>,
    outbox: Vec<(String, String)>,
    sent: Vec<(String, String)>,
    uplink: VecDeque<ClientFrame>,
    typed: usize,
}

impl Customer {
    fn last_seq(&self) -> u64 {
        self.view.last().map_or(0, |v| v.0)
    }

    fn receive(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Msg { seq, from, text, client_msg_id, .. } => {
                if seq <= self.last_seq() {
                    return; // already shown (a resume overlapping a live frame)
                }
                assert_eq!(seq, self.last_seq() + 1, "gap in the customer's view");
                if let Some(id) = client_msg_id {
                    self.outbox.retain(|(m, _)| *m != id);
                }
                self.view.push((seq, from, text));
            }
            ServerFrame::Ack { client_msg_id, .. } => self.outbox.retain(|(m, _)| *m != client_msg_id),
            ServerFrame::Error { code, .. } => panic!("unexpected error {code:?}"),
            _ => {}
        }
    }
}

struct World {
    core: Conversations,
    id: ConversationId,
    token: String,
    customer: Customer,
    /// Frames queued to each connection, not yet delivered.
    downlink: VecDeque<(ConnId, ServerFrame)>,
    agent_view: Vec<(u64, Author, String)>,
    agent_sent: usize,
    now_ms: i64,
}

impl World {
    fn new() -> Self {
        let limits =
            ChatLimits { max_messages_per_minute: 10_000, max_frames_per_minute: 100_000, ..ChatLimits::default() };
        let mut core = core(limits);
        core.set_agent_available(agent(), true).expect("room");
        let conn = ConnId(1);
        let (id, token) = started(&mut core, conn);
        core.accept(at(0), &id, agent()).expect("queued");
        let mut world = World {
            core,
            id,
            token,
            customer: Customer {
                conn: Some(conn),
                next_conn: 2,
                view: Vec::new(),
                outbox: Vec::new(),
                sent: Vec::new(),
                uplink: VecDeque::new(),
                typed: 0,
            },
            downlink: VecDeque::new(),
            agent_view: Vec::new(),
            agent_sent: 0,
            now_ms: 1,
        };
        // The agent's view starts from the transcript (the join happened before it watched).
        world.agent_view = world.transcript_view();
        world.customer.view = Vec::new();
        world.collect();
        // started() drained the welcome and the first system messages: replay them by resuming.
        world.disconnect();
        world.reconnect();
        world
    }

    fn transcript_view(&self) -> Vec<(u64, Author, String)> {
        self.core.transcript(&self.id, 0).expect("exists").into_iter().map(|e| (e.seq, e.from, e.text)).collect()
    }

    fn collect(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Send { conn, frame } => self.downlink.push_back((conn, frame)),
                Output::Event(ChatEvent::Message { entry, .. }) => {
                    let last = self.agent_view.last().map_or(0, |v| v.0);
                    if entry.seq > last {
                        assert_eq!(entry.seq, last + 1, "gap in the agent's events");
                        self.agent_view.push((entry.seq, entry.from, entry.text));
                    }
                }
                Output::Close { conn } => self.downlink.retain(|(c, _)| *c != conn),
                Output::Event(_) => {}
            }
        }
    }

    fn tick(&mut self) -> model::Timestamp {
        self.now_ms += 10;
        at(self.now_ms)
    }

    fn disconnect(&mut self) {
        if let Some(conn) = self.customer.conn.take() {
            self.core.disconnect(conn);
            self.downlink.retain(|(c, _)| *c != conn);
            self.customer.uplink.clear();
        }
    }

    fn reconnect(&mut self) {
        if self.customer.conn.is_some() {
            return;
        }
        let conn = ConnId(self.customer.next_conn);
        self.customer.next_conn += 1;
        let now = self.tick();
        self.core.connect(conn, now);
        self.customer.conn = Some(conn);
        let hello = ClientFrame::Hello {
            v: 1,
            conversation_id: Some(self.id.as_str().to_owned()),
            resume_after_seq: Some(self.customer.last_seq()),
            token: Some(self.token.clone()),
        };
        self.core.handle_text(now, conn, &hello.to_json());
        let resend: Vec<ClientFrame> = self
            .customer
            .outbox
            .iter()
            .map(|(m, t)| ClientFrame::Msg { client_msg_id: m.clone(), text: t.clone() })
            .collect();
        self.customer.uplink.extend(resend);
        self.collect();
    }

    fn run(&mut self, step: Step) {
        match step {
            Step::CustomerTypes => {
                self.customer.typed += 1;
                let m = (format!("c{}", self.customer.typed), format!("customer says {}", self.customer.typed));
                self.customer.outbox.push(m.clone());
                self.customer.sent.push(m.clone());
                if self.customer.conn.is_some() {
                    self.customer.uplink.push_back(ClientFrame::Msg { client_msg_id: m.0, text: m.1 });
                }
            }
            Step::AgentSends { retry } => {
                self.agent_sent += 1;
                let (id, text) = (format!("a{}", self.agent_sent), format!("agent says {}", self.agent_sent));
                let now = self.tick();
                let first = self.core.agent_send(now, &self.id, agent(), &id, &text).expect("agent send");
                if retry {
                    let again = self.core.agent_send(now, &self.id, agent(), &id, &text).expect("agent retry");
                    assert_eq!(first, again);
                }
                self.collect();
            }
            Step::Downlink(n) => {
                for _ in 0..n {
                    let Some((conn, frame)) = self.downlink.pop_front() else { break };
                    if Some(conn) == self.customer.conn {
                        self.customer.receive(frame);
                    }
                }
            }
            Step::Uplink(n) => {
                for _ in 0..n {
                    let (Some(conn), Some(frame)) = (self.customer.conn, self.customer.uplink.pop_front()) else {
                        break;
                    };
                    let now = self.tick();
                    self.core.handle_text(now, conn, &frame.to_json());
                    self.collect();
                }
            }
            Step::Reorder(a, b) => {
                let len = self.customer.uplink.len();
                if len > 1 {
                    self.customer.uplink.swap(usize::from(a) % len, usize::from(b) % len);
                }
            }
            Step::Duplicate(k) => {
                if self.customer.conn.is_some() && !self.customer.sent.is_empty() {
                    let (m, t) = self.customer.sent[usize::from(k) % self.customer.sent.len()].clone();
                    self.customer.uplink.push_back(ClientFrame::Msg { client_msg_id: m, text: t });
                }
            }
            Step::Disconnect => self.disconnect(),
            Step::Reconnect => self.reconnect(),
        }
    }

    /// A calm network at the end: reconnect and deliver everything both ways.
    fn settle(&mut self) {
        self.disconnect();
        self.reconnect();
        while !self.customer.uplink.is_empty() || !self.downlink.is_empty() {
            self.run(Step::Uplink(u8::MAX));
            self.run(Step::Downlink(u8::MAX));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn customer_and_agent_views_end_identical_with_every_message_exactly_once(
        steps in proptest::collection::vec(step(), 0..120)
    ) {
        let mut w = World::new();
        for s in steps {
            w.run(s);
        }
        w.settle();
        let customer_view = w.customer.view.clone();
        prop_assert_eq!(&customer_view, &w.agent_view);
        prop_assert_eq!(&customer_view, &w.transcript_view());
        let seqs: Vec<u64> = customer_view.iter().map(|v| v.0).collect();
        prop_assert_eq!(seqs, (1..=customer_view.len() as u64).collect::<Vec<_>>());
        for (_, text) in &w.customer.sent {
            prop_assert_eq!(customer_view.iter().filter(|v| v.1 == Author::Customer && &v.2 == text).count(), 1);
        }
        for n in 1..=w.agent_sent {
            let text = format!("agent says {n}");
            prop_assert_eq!(customer_view.iter().filter(|v| v.1 == Author::Agent && v.2 == text).count(), 1);
        }
        prop_assert!(w.customer.outbox.is_empty());
    }
}
