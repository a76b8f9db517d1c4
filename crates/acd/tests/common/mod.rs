//! Builders shared by the integration tests: a TOML config, agents, contacts, and an output log.
#![allow(dead_code)]

use acd::{Acd, AcdConfig, AgentProfile, ContactRequest, Entry, EventKind, Input, Membership, Output, RawAcdConfig};
use model::{AgentId, Channel, ChannelCapacity, ContactId, Language, Proficiency, QueueId, SkillName, Timestamp};

pub fn config(toml_text: &str) -> AcdConfig {
    let raw: RawAcdConfig = toml::from_str(toml_text).expect("test TOML parses");
    raw.validate().expect("test config is valid")
}

pub fn queue_id(cfg: &AcdConfig, name: &str) -> QueueId {
    cfg.queue_by_name(name).expect("queue exists in the test config").id
}

pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_000_000 + secs * 1000)
}

pub fn agent_id(n: u128) -> AgentId {
    AgentId::from_u128(n)
}

pub fn contact_id(n: u128) -> ContactId {
    ContactId::from_u128(1_000_000 + n)
}

pub fn skill(name: &str, level: i64) -> (SkillName, Proficiency) {
    (SkillName::parse(name).expect("valid skill"), Proficiency::new(level).expect("valid level"))
}

pub fn voice_only() -> ChannelCapacity {
    ChannelCapacity { voice: 1, chat: 0, email: 0, social: 0, voice_blocks_others: true }
}

/// An agent builder: in `queues` with penalty 0, voice capacity 1.
pub struct AgentB(pub AgentProfile);

impl AgentB {
    pub fn new(n: u128, queues: &[QueueId]) -> Self {
        Self(AgentProfile {
            id: agent_id(n),
            skills: Vec::new(),
            languages: Vec::new(),
            capacity: voice_only(),
            queues: queues.iter().map(|&q| Membership { queue: q, penalty: 0, weight: 1 }).collect(),
        })
    }
    pub fn skill(mut self, name: &str, level: i64) -> Self {
        self.0.skills.push(skill(name, level));
        self
    }
    pub fn language(mut self, tag: &str) -> Self {
        self.0.languages.push(Language::parse(tag).expect("valid language"));
        self
    }
    pub fn capacity(mut self, cap: ChannelCapacity) -> Self {
        self.0.capacity = cap;
        self
    }
    pub fn penalty(mut self, queue: QueueId, penalty: u8) -> Self {
        for m in &mut self.0.queues {
            if m.queue == queue {
                m.penalty = penalty;
            }
        }
        self
    }
    pub fn weight(mut self, weight: u32) -> Self {
        for m in &mut self.0.queues {
            m.weight = weight;
        }
        self
    }
}

pub fn contact(n: u128, channel: Channel, queue: QueueId) -> ContactRequest {
    ContactRequest::new(contact_id(n), channel, Entry::Queue(queue))
}

/// An engine plus everything it said, for assertions.
pub struct Harness {
    pub acd: Acd,
    pub log: Vec<Output>,
}

impl Harness {
    pub fn new(cfg: AcdConfig) -> Self {
        Self { acd: Acd::new(cfg), log: Vec::new() }
    }

    pub fn send(&mut self, at: Timestamp, input: Input) -> Vec<Output> {
        self.acd.handle(at, input).expect("input accepted");
        self.drain()
    }

    pub fn tick(&mut self, at: Timestamp) -> Vec<Output> {
        self.acd.handle_timeout(at);
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let out = self.drain_unchecked();
        self.acd.check_invariants().expect("invariants hold");
        out
    }

    /// Takes the outputs without checking invariants (the caller checks and reports).
    pub fn drain_unchecked(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(o) = self.acd.poll_output() {
            out.push(o);
        }
        self.log.extend(out.iter().cloned());
        out
    }

    pub fn login(&mut self, at: Timestamp, agent: AgentB) -> Vec<Output> {
        self.send(at, Input::AgentLoggedIn(agent.0))
    }

    pub fn arrive(&mut self, at: Timestamp, req: ContactRequest) -> Vec<Output> {
        self.send(at, Input::ContactArrived(req))
    }
}

/// The agents offered something, in order, as (contact, agent).
pub fn offers(out: &[Output]) -> Vec<(ContactId, AgentId)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Offer { contact, agent, .. } => Some((*contact, *agent)),
            _ => None,
        })
        .collect()
}

pub fn events(out: &[Output]) -> Vec<EventKind> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.kind.clone()),
            _ => None,
        })
        .collect()
}

/// Two queues, no skills, longest idle: the smallest useful config.
pub const SIMPLE: &str = r#"
seed = 7
skills = ["billing", "technical", "vip"]

[[queues]]
name = "general_support"
ring_timeout = "20s"

[[queues]]
name = "tech_support"
"#;

pub fn arrived_input(req: ContactRequest) -> Input {
    Input::ContactArrived(req)
}

pub fn entry(name: &str) -> Entry {
    Entry::EntryPoint(name.to_owned())
}
