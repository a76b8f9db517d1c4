//! [`Conversations`]: every live chat of one server as a sans-IO state machine.
//!
//! The shell feeds it connection events and text frames with the time (`connect`, `handle_text`,
//! `disconnect`, `handle_timeout`) and the agent side's commands (`set_agent_available`,
//! `accept`, `agent_send`, ...); it takes out frames to send, connections to close and
//! [`ChatEvent`]s for the store and routing with `poll_output`, and the next deadline with
//! `poll_timeout`. It does no IO, reads no clock and makes no randomness: ids and tokens come from
//! an injected [`IdSource`].
//!
//! Delivery: every stored message gets the conversation's next sequence number (1, 2, 3, ... no
//! gaps) and is kept until the conversation is dropped, so a resuming connection gets everything
//! after the last number it saw; a customer message is stored once per `client_msg_id` and a
//! repeat is acknowledged with its original number.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use model::{AgentId, Email, Language, Timestamp};

use crate::attachment;
use crate::hours::OpenHours;
use crate::protocol::{
    AttachmentMeta, Author, ClientFrame, ConversationState, ErrorCode, PROTOCOL_VERSION, ServerFrame,
};

const MS_PER_MINUTE: i64 = 60_000;

/// One WebSocket (or other) connection, numbered by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A conversation's public id: 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(String);

impl ConversationId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the id a client or an agent sent: exactly 32 lower-case hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Self(s.to_owned()))
    }
}

impl std::fmt::Display for ConversationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where ids and resume tokens come from: 32 unpredictable bytes per call in production (the
/// OS's randomness), a counter in tests. `None` (no randomness available) refuses the new
/// conversation as `busy`.
pub trait IdSource: Send {
    fn fresh(&mut self) -> Option<[u8; 32]>;
}

/// The topic a customer picked in the pre-chat form; routing uses it (technical → tech support).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueType {
    Order,
    Technical,
    Billing,
    Other,
}

impl IssueType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "order" => Some(Self::Order),
            "technical" => Some(Self::Technical),
            "billing" => Some(Self::Billing),
            "other" => Some(Self::Other),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Technical => "technical",
            Self::Billing => "billing",
            Self::Other => "other",
        }
    }
}

/// The validated pre-chat form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prechat {
    pub name: String,
    pub issue_type: IssueType,
    pub language: Language,
    pub email: Option<Email>,
}

impl Prechat {
    fn is_chinese(&self) -> bool {
        self.language.as_str().starts_with("zh")
    }
}

/// One stored (sequenced) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub from: Author,
    pub text: String,
    pub ts: Timestamp,
    /// The customer's id for it (customer messages), or the agent's (agent messages).
    pub client_msg_id: Option<String>,
    pub attachment: Option<AttachmentMeta>,
}

impl Entry {
    /// The frame that carries it to the customer.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Msg {
            seq: self.seq,
            from: self.from,
            text: self.text.clone(),
            ts: self.ts.unix_ms(),
            client_msg_id: if self.from == Author::Customer { self.client_msg_id.clone() } else { None },
            attachment: self.attachment.clone(),
        }
    }
}

/// Why a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CustomerLeft,
    AgentEnded,
    IdleTimeout,
}

/// A conversation kept as a message for later (outside business hours or with no agent): the
/// store turns it into an email-style contact or a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineMessage {
    pub conversation_id: ConversationId,
    pub prechat: Prechat,
    pub transcript: Vec<Entry>,
    pub at: Timestamp,
}

/// What happened, for the store, routing and the agent side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The pre-chat form is in. `offline` conversations collect a message for later; the others
    /// wait for an agent (hand them to the ACD as a chat contact).
    Started {
        conversation_id: ConversationId,
        prechat: Prechat,
        offline: bool,
        at: Timestamp,
    },
    /// A message was stored (every author, in sequence order, exactly once).
    Message {
        conversation_id: ConversationId,
        entry: Entry,
    },
    /// The bytes of an attachment stored as message `seq` (emitted once; not kept in memory).
    AttachmentReceived {
        conversation_id: ConversationId,
        seq: u64,
        meta: AttachmentMeta,
        bytes: Vec<u8>,
    },
    CustomerTyping {
        conversation_id: ConversationId,
    },
    CustomerRead {
        conversation_id: ConversationId,
        up_to_seq: u64,
    },
    AgentJoined {
        conversation_id: ConversationId,
        agent: AgentId,
        at: Timestamp,
    },
    /// No agent took a queued conversation in `max_queue_wait_ms`: it became offline.
    WentOffline {
        conversation_id: ConversationId,
        at: Timestamp,
    },
    /// Leave-a-message: create the offline contact or ticket from this.
    LeaveMessage(OfflineMessage),
    /// A conversation that was waiting for or talking to an agent was restored after a restart
    /// ([`Conversations::restore`]); its routing was lost with the old process, so it waits for
    /// an agent again (route it like `Started`), or, `offline`, collects a message for later.
    Restored {
        conversation_id: ConversationId,
        prechat: Prechat,
        offline: bool,
        at: Timestamp,
    },
    /// CSAT for the store.
    Rated {
        conversation_id: ConversationId,
        score: u8,
        comment: Option<String>,
        at: Timestamp,
    },
    Ended {
        conversation_id: ConversationId,
        reason: EndReason,
        at: Timestamp,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send {
        conn: ConnId,
        frame: ServerFrame,
    },
    /// Close the connection (after sending what was queued for it).
    Close {
        conn: ConnId,
    },
    Event(ChatEvent),
}

/// Every limit of the chat core, units in the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLimits {
    /// Longest message text, UTF-8 bytes.
    pub max_message_bytes: usize,
    /// Largest decoded attachment.
    pub max_attachment_bytes: usize,
    /// New messages (text or file) per conversation per minute; past it `flood`.
    pub max_messages_per_minute: u32,
    /// Frames of any kind per connection per minute; past it `flood` and the connection closes.
    pub max_frames_per_minute: u32,
    /// Sequenced messages a conversation keeps (system messages may add up to 4 more).
    pub max_conversation_messages: usize,
    /// Conversations held at once (ended ones included until dropped).
    pub max_conversations: usize,
    /// Connections attached to one conversation; the oldest is closed past it.
    pub max_connections_per_conversation: usize,
    /// Connections known to the core at once; past it new ones are closed at once.
    pub max_connections: usize,
    /// Agents in the available set.
    pub max_available_agents: usize,
    /// A conversation with no customer or agent activity this long ends.
    pub idle_timeout_ms: u64,
    /// A queued conversation no agent accepted this long becomes a message left for later.
    pub max_queue_wait_ms: u64,
    /// How long an ended conversation stays for replay and rating before it is dropped.
    pub ended_retention_ms: u64,
    pub max_name_chars: usize,
    pub max_client_msg_id_chars: usize,
    pub max_comment_chars: usize,
}

impl Default for ChatLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024,
            max_attachment_bytes: 2 * 1024 * 1024,
            max_messages_per_minute: 30,
            max_frames_per_minute: 300,
            max_conversation_messages: 1_000,
            max_conversations: 50_000,
            max_connections_per_conversation: 4,
            max_connections: 60_000,
            max_available_agents: 10_000,
            idle_timeout_ms: 30 * 60 * 1000,
            max_queue_wait_ms: 3 * 60 * 1000,
            ended_retention_ms: 10 * 60 * 1000,
            max_name_chars: 100,
            max_client_msg_id_chars: 64,
            max_comment_chars: 1_000,
        }
    }
}

impl ChatLimits {
    /// The largest text frame worth parsing: a full attachment in base64 plus room for the rest.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_attachment_bytes.div_ceil(3) * 4 + self.max_message_bytes + 4 * 1024
    }
}

/// Counters of refusals and bounds that bit, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatCounters {
    pub conversations_started: u64,
    pub messages_stored: u64,
    pub duplicates_acknowledged: u64,
    pub frames_refused: u64,
    pub floods_refused: u64,
    pub attachments_refused: u64,
    pub oversized_refused: u64,
    pub busy_refused: u64,
    pub connections_refused: u64,
    pub resumes: u64,
    pub offline_messages: u64,
    pub ratings: u64,
}

/// A conversation read back from the store after a restart, for [`Conversations::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredConversation {
    pub id: ConversationId,
    /// The token the customer's widget holds (the shell checked it against the stored digest).
    pub token: String,
    /// Where it stood when last stored; `Prechat` is refused (nothing to restore before the form).
    pub state: ConversationState,
    pub prechat: Prechat,
    /// Every stored message, sequence numbers 1, 2, 3, ... without a gap.
    pub log: Vec<Entry>,
    pub customer_read_seq: u64,
    pub rated: bool,
    pub ended_at: Option<Timestamp>,
}

/// Why a conversation could not be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("the conversation is already held")]
    AlreadyHeld,
    #[error("too many conversations")]
    Busy,
    #[error("a conversation is stored only after its pre-chat form")]
    NotStarted,
    #[error("the transcript's sequence numbers are not 1, 2, 3, ... without a gap")]
    BrokenLog,
    #[error("the transcript is longer than a conversation may be")]
    TooLong,
}

/// Why an agent-side command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("no such conversation")]
    UnknownConversation,
    #[error("the conversation has ended")]
    Ended,
    #[error("the conversation is not waiting for an agent")]
    NotQueued,
    #[error("another agent has this conversation")]
    NotYours,
    #[error("the message is empty, too long, or its id is invalid")]
    InvalidMessage,
    #[error("the conversation has reached its message limit")]
    ConversationFull,
    #[error("too many agents")]
    TooManyAgents,
}

struct Window {
    start_ms: i64,
    count: u32,
}

impl Window {
    /// Counts one more in the current minute; false when that makes more than `max`.
    fn admit(&mut self, now: Timestamp, max: u32) -> bool {
        if now.unix_ms() - self.start_ms >= MS_PER_MINUTE {
            self.start_ms = now.unix_ms();
            self.count = 0;
        }
        if self.count >= max {
            return false;
        }
        self.count += 1;
        true
    }
}

struct Connection {
    conversation: Option<ConversationId>,
    frames: Window,
}

struct Conversation {
    token: String,
    state: ConversationState,
    prechat: Option<Prechat>,
    log: Vec<Entry>,
    customer_ids: HashMap<String, u64>,
    agent_ids: HashMap<String, u64>,
    conns: Vec<ConnId>,
    agent: Option<AgentId>,
    last_activity: Timestamp,
    queued_at: Timestamp,
    ended_at: Option<Timestamp>,
    messages: Window,
    agent_read_seq: u64,
    customer_read_seq: u64,
    rated: bool,
}

impl Conversation {
    fn last_seq(&self) -> u64 {
        self.log.last().map_or(0, |e| e.seq)
    }

    fn chinese(&self) -> bool {
        self.prechat.as_ref().is_some_and(Prechat::is_chinese)
    }
}

/// Every conversation of this server. See the module docs.
pub struct Conversations {
    limits: ChatLimits,
    hours: Box<dyn OpenHours>,
    ids: Box<dyn IdSource>,
    conversations: HashMap<ConversationId, Conversation>,
    connections: HashMap<ConnId, Connection>,
    available_agents: std::collections::BTreeSet<AgentId>,
    /// An ACD decides who is available: the core does not need its own available set.
    external_routing: bool,
    outputs: VecDeque<Output>,
    counters: ChatCounters,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn valid_msg_id(id: &str, max_chars: usize) -> bool {
    !id.is_empty() && id.len() <= max_chars && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Conversations {
    pub fn new(limits: ChatLimits, hours: impl OpenHours + 'static, ids: Box<dyn IdSource>) -> Self {
        Self {
            limits,
            hours: Box::new(hours),
            ids,
            conversations: HashMap::new(),
            connections: HashMap::new(),
            available_agents: std::collections::BTreeSet::new(),
            external_routing: false,
            outputs: VecDeque::new(),
            counters: ChatCounters::default(),
        }
    }

    pub fn limits(&self) -> &ChatLimits {
        &self.limits
    }

    pub fn counters(&self) -> &ChatCounters {
        &self.counters
    }

    /// Conversations held (ended ones included until dropped).
    pub fn len(&self) -> usize {
        self.conversations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
    }

    pub fn state(&self, id: &ConversationId) -> Option<ConversationState> {
        self.conversations.get(id).map(|c| c.state)
    }

    /// Stored messages after `after_seq`, in order (the agent side's replay).
    pub fn transcript(&self, id: &ConversationId, after_seq: u64) -> Option<Vec<Entry>> {
        self.conversations.get(id).map(|c| c.log.iter().filter(|e| e.seq > after_seq).cloned().collect())
    }

    /// The agent talking to the customer, if any.
    pub fn agent(&self, id: &ConversationId) -> Option<AgentId> {
        self.conversations.get(id).and_then(|c| c.agent)
    }

    /// The customer has seen everything up to this sequence number (0: nothing yet).
    pub fn customer_read_seq(&self, id: &ConversationId) -> Option<u64> {
        self.conversations.get(id).map(|c| c.customer_read_seq)
    }

    /// The resume token of a held conversation (the shell stores only its digest).
    pub fn resume_token(&self, id: &ConversationId) -> Option<&str> {
        self.conversations.get(id).map(|c| c.token.as_str())
    }

    /// Takes back a conversation stored before a restart, so its widget resumes it with every
    /// message replayed and repeats still recognised by their ids. One that was queued or open
    /// lost its agent with the old process: it waits for an agent again (or, with nobody to take
    /// it, becomes a message for later), with a system message and [`ChatEvent::Restored`]. An
    /// ended one stays ended until its retention runs out.
    pub fn restore(&mut self, now: Timestamp, r: RestoredConversation) -> Result<(), RestoreError> {
        if self.conversations.contains_key(&r.id) {
            return Err(RestoreError::AlreadyHeld);
        }
        if self.conversations.len() >= self.limits.max_conversations {
            self.counters.busy_refused += 1;
            return Err(RestoreError::Busy);
        }
        if r.state == ConversationState::Prechat {
            return Err(RestoreError::NotStarted);
        }
        // System messages may add a few beyond the limit (see `max_conversation_messages`).
        if r.log.len() > self.limits.max_conversation_messages + 8 {
            return Err(RestoreError::TooLong);
        }
        if r.log.iter().zip(1u64..).any(|(e, n)| e.seq != n) {
            return Err(RestoreError::BrokenLog);
        }
        let ids_of = |author: Author| -> HashMap<String, u64> {
            r.log
                .iter()
                .filter(|e| e.from == author)
                .filter_map(|e| e.client_msg_id.clone().map(|id| (id, e.seq)))
                .collect()
        };
        let (customer_ids, agent_ids) = (ids_of(Author::Customer), ids_of(Author::Agent));
        let active = matches!(r.state, ConversationState::Queued | ConversationState::Open);
        let closed = active.then(|| self.closed_notice(now)).flatten();
        let offline = closed.is_some();
        let state = match r.state {
            ConversationState::Ended => ConversationState::Ended,
            ConversationState::Offline => ConversationState::Offline,
            _ if offline => ConversationState::Offline,
            _ => ConversationState::Queued,
        };
        let last_seq = r.log.last().map_or(0, |e| e.seq);
        let conversation = Conversation {
            token: r.token,
            state,
            prechat: Some(r.prechat.clone()),
            log: r.log,
            customer_ids,
            agent_ids,
            conns: Vec::new(),
            agent: None,
            last_activity: now,
            queued_at: now,
            ended_at: (state == ConversationState::Ended).then(|| r.ended_at.unwrap_or(now)),
            messages: Window { start_ms: now.unix_ms(), count: 0 },
            agent_read_seq: 0,
            customer_read_seq: r.customer_read_seq.min(last_seq),
            rated: r.rated,
        };
        self.conversations.insert(r.id.clone(), conversation);
        if active {
            let conversation_id = r.id.clone();
            let prechat = r.prechat;
            self.outputs.push_back(Output::Event(ChatEvent::Restored { conversation_id, prechat, offline, at: now }));
            self.system(now, &r.id, closed.unwrap_or(Notice::Queued));
        }
        Ok(())
    }

    /// The next output for the shell, in the order it must act on them.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// A new connection. Past `max_connections` it is closed at once.
    pub fn connect(&mut self, conn: ConnId, now: Timestamp) {
        if self.connections.len() >= self.limits.max_connections {
            self.counters.connections_refused += 1;
            self.refuse(conn, ErrorCode::Busy);
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        let frames = Window { start_ms: now.unix_ms(), count: 0 };
        self.connections.insert(conn, Connection { conversation: None, frames });
    }

    /// The connection is gone; its conversation stays for a resume.
    pub fn disconnect(&mut self, conn: ConnId) {
        if let Some(Connection { conversation: Some(id), .. }) = self.connections.remove(&conn)
            && let Some(c) = self.conversations.get_mut(&id)
        {
            c.conns.retain(|k| *k != conn);
        }
    }

    /// One text frame from a connection.
    pub fn handle_text(&mut self, now: Timestamp, conn: ConnId, text: &str) {
        let Some(connection) = self.connections.get_mut(&conn) else { return };
        if !connection.frames.admit(now, self.limits.max_frames_per_minute) {
            self.counters.floods_refused += 1;
            self.refuse(conn, ErrorCode::Flood);
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        if text.len() > self.limits.max_frame_bytes() {
            self.counters.oversized_refused += 1;
            self.refuse(conn, ErrorCode::BadFrame);
            return;
        }
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(code) => return self.refuse(conn, code),
        };
        let attached = connection.conversation.clone();
        match (frame, attached) {
            (ClientFrame::Hello { v, conversation_id, resume_after_seq, token }, None) => {
                self.hello(now, conn, v, conversation_id, resume_after_seq, token)
            }
            (ClientFrame::Hello { .. }, Some(_)) | (_, None) => self.refuse(conn, ErrorCode::HelloFirst),
            (frame, Some(id)) => self.handle_frame(now, conn, &id, frame),
        }
    }

    fn handle_frame(&mut self, now: Timestamp, conn: ConnId, id: &ConversationId, frame: ClientFrame) {
        let Some(c) = self.conversations.get_mut(id) else { return self.refuse(conn, ErrorCode::UnknownConversation) };
        if !matches!(frame, ClientFrame::Rate { .. } | ClientFrame::Read { .. }) {
            c.last_activity = now;
        }
        match frame {
            ClientFrame::Hello { .. } => self.refuse(conn, ErrorCode::HelloFirst),
            ClientFrame::Prechat { name, issue_type, language, email } => {
                self.prechat(now, conn, id, &name, &issue_type, &language, email.as_deref())
            }
            ClientFrame::Msg { client_msg_id, text } => self.customer_text(now, conn, id, client_msg_id, text),
            ClientFrame::Attachment { client_msg_id, name, mime, size, data } => {
                self.customer_attachment(now, conn, id, client_msg_id, &name, &mime, size, &data)
            }
            ClientFrame::Typing => {
                if c.state != ConversationState::Ended {
                    self.outputs.push_back(Output::Event(ChatEvent::CustomerTyping { conversation_id: id.clone() }));
                }
            }
            ClientFrame::Read { up_to_seq } => {
                let up_to_seq = up_to_seq.min(c.last_seq());
                if up_to_seq > c.customer_read_seq {
                    c.customer_read_seq = up_to_seq;
                    let conversation_id = id.clone();
                    self.outputs.push_back(Output::Event(ChatEvent::CustomerRead { conversation_id, up_to_seq }));
                }
            }
            ClientFrame::Rate { score, comment } => self.rate(now, conn, id, score, comment),
            ClientFrame::Leave => self.end(now, id, EndReason::CustomerLeft),
        }
    }

    fn hello(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        v: u32,
        conversation_id: Option<String>,
        resume_after_seq: Option<u64>,
        token: Option<String>,
    ) {
        if v != PROTOCOL_VERSION {
            self.refuse(conn, ErrorCode::UnsupportedVersion);
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        match conversation_id {
            Some(id) => self.resume(conn, &id, token.as_deref().unwrap_or_default(), resume_after_seq.unwrap_or(0)),
            None => self.start(now, conn),
        }
    }

    fn start(&mut self, now: Timestamp, conn: ConnId) {
        if self.conversations.len() >= self.limits.max_conversations {
            self.counters.busy_refused += 1;
            self.refuse(conn, ErrorCode::Busy);
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        let Some(fresh) = self.ids.fresh() else {
            self.counters.busy_refused += 1;
            return self.refuse(conn, ErrorCode::Busy);
        };
        let id = ConversationId(hex(&fresh[..16]));
        let token = hex(&fresh[16..]);
        if self.conversations.contains_key(&id) {
            // 128 random bits do not collide; a broken IdSource must not merge two customers.
            self.refuse(conn, ErrorCode::Busy);
            return;
        }
        let conversation = Conversation {
            token: token.clone(),
            state: ConversationState::Prechat,
            prechat: None,
            log: Vec::new(),
            customer_ids: HashMap::new(),
            agent_ids: HashMap::new(),
            conns: vec![conn],
            agent: None,
            last_activity: now,
            queued_at: now,
            ended_at: None,
            messages: Window { start_ms: now.unix_ms(), count: 0 },
            agent_read_seq: 0,
            customer_read_seq: 0,
            rated: false,
        };
        self.conversations.insert(id.clone(), conversation);
        self.attach(conn, &id);
        let state = ConversationState::Prechat;
        let welcome =
            ServerFrame::Welcome { v: PROTOCOL_VERSION, conversation_id: id.0.clone(), token, state, last_seq: 0 };
        self.outputs.push_back(Output::Send { conn, frame: welcome });
    }

    fn resume(&mut self, conn: ConnId, id: &str, token: &str, after_seq: u64) {
        let found = ConversationId::parse(id)
            .and_then(|id| self.conversations.get_mut(&id).map(|c| (id, c)))
            .filter(|(_, c)| same_token(&c.token, token));
        let Some((id, c)) = found else { return self.refuse(conn, ErrorCode::UnknownConversation) };
        self.counters.resumes += 1;
        c.conns.push(conn);
        let mut outputs = vec![ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            conversation_id: id.0.clone(),
            token: c.token.clone(),
            state: c.state,
            last_seq: c.last_seq(),
        }];
        outputs.extend(c.log.iter().filter(|e| e.seq > after_seq).map(Entry::to_frame));
        if c.agent_read_seq > 0 {
            outputs.push(ServerFrame::Read { up_to_seq: c.agent_read_seq });
        }
        if c.state == ConversationState::Ended {
            outputs.push(ServerFrame::Ended);
        }
        let evicted =
            if c.conns.len() > self.limits.max_connections_per_conversation { Some(c.conns.remove(0)) } else { None };
        self.attach(conn, &id);
        self.outputs.extend(outputs.into_iter().map(|frame| Output::Send { conn, frame }));
        if let Some(old) = evicted {
            self.connections.remove(&old);
            self.outputs.push_back(Output::Close { conn: old });
        }
    }

    fn attach(&mut self, conn: ConnId, id: &ConversationId) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.conversation = Some(id.clone());
        }
    }

    #[allow(clippy::too_many_arguments)] // the form's fields, each validated here
    fn prechat(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        id: &ConversationId,
        name: &str,
        issue_type: &str,
        language: &str,
        email: Option<&str>,
    ) {
        let Some(c) = self.conversations.get_mut(id) else { return };
        if c.state != ConversationState::Prechat {
            return self.refuse(conn, ErrorCode::InvalidPrechat);
        }
        let name: String = name.chars().filter(|ch| !ch.is_control()).collect();
        let name = name.trim();
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => Ok(None),
            Some(e) => Email::parse(e).map(Some),
        };
        let form = match (IssueType::parse(issue_type), Language::parse(language), email) {
            (Some(issue_type), Ok(language), Ok(email))
                if !name.is_empty() && name.chars().count() <= self.limits.max_name_chars =>
            {
                Prechat { name: name.to_owned(), issue_type, language, email }
            }
            _ => return self.refuse(conn, ErrorCode::InvalidPrechat),
        };
        let closed = self.closed_notice(now);
        let offline = closed.is_some();
        let Some(c) = self.conversations.get_mut(id) else { return };
        c.state = if offline { ConversationState::Offline } else { ConversationState::Queued };
        c.queued_at = now;
        c.prechat = Some(form.clone());
        self.counters.conversations_started += 1;
        self.outputs.push_back(Output::Event(ChatEvent::Started {
            conversation_id: id.clone(),
            prechat: form,
            offline,
            at: now,
        }));
        self.system(now, id, closed.unwrap_or(Notice::Queued));
    }

    /// Why a chat starting now cannot be answered live: outside business hours, or no agent
    /// (when this core keeps the available set); `None` when it can.
    fn closed_notice(&self, now: Timestamp) -> Option<Notice> {
        if !self.hours.is_open(now) {
            Some(Notice::Closed)
        } else if !self.external_routing && self.available_agents.is_empty() {
            Some(Notice::Offline)
        } else {
            None
        }
    }

    fn customer_text(&mut self, now: Timestamp, conn: ConnId, id: &ConversationId, msg_id: String, text: String) {
        if !valid_msg_id(&msg_id, self.limits.max_client_msg_id_chars) || text.trim().is_empty() {
            return self.refuse(conn, ErrorCode::InvalidMessage);
        }
        if text.len() > self.limits.max_message_bytes {
            self.counters.oversized_refused += 1;
            return self.refuse(conn, ErrorCode::MessageTooLarge);
        }
        match self.admit_customer_message(now, conn, id, &msg_id) {
            Admission::New => {}
            Admission::Repeat => return,
            Admission::Refused(code) => return self.refuse(conn, code),
        }
        self.store_customer(now, conn, id, msg_id, text, None);
    }

    #[allow(clippy::too_many_arguments)] // the frame's fields, each validated here
    fn customer_attachment(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        id: &ConversationId,
        msg_id: String,
        name: &str,
        mime: &str,
        size: u64,
        data: &str,
    ) {
        let max = self.limits.max_attachment_bytes;
        let Some(name) = attachment::clean_name(name, self.limits.max_name_chars * 2)
            .filter(|_| valid_msg_id(&msg_id, self.limits.max_client_msg_id_chars))
        else {
            return self.refuse(conn, ErrorCode::InvalidMessage);
        };
        if usize::try_from(size).map_or(true, |s| s > max) || data.len() > max.div_ceil(3) * 4 {
            self.counters.attachments_refused += 1;
            return self.refuse(conn, ErrorCode::AttachmentTooLarge);
        }
        let bytes = match base64::engine::general_purpose::STANDARD.decode(data) {
            Ok(bytes) if bytes.len() as u64 == size => bytes,
            _ => {
                self.counters.attachments_refused += 1;
                return self.refuse(conn, ErrorCode::AttachmentMismatch);
            }
        };
        if !attachment::content_matches(mime, &bytes) {
            self.counters.attachments_refused += 1;
            return self.refuse(conn, ErrorCode::AttachmentType);
        }
        match self.admit_customer_message(now, conn, id, &msg_id) {
            Admission::New => {}
            Admission::Repeat => return,
            Admission::Refused(code) => return self.refuse(conn, code),
        }
        let meta = AttachmentMeta { name: name.clone(), mime: attachment::normalise_declared(mime), size };
        if let Some(seq) = self.store_customer(now, conn, id, msg_id, name, Some(meta.clone())) {
            let conversation_id = id.clone();
            self.outputs.push_back(Output::Event(ChatEvent::AttachmentReceived { conversation_id, seq, meta, bytes }));
        }
    }

    /// Checks repeats, state, the size of the log and the flood window. A repeat is
    /// acknowledged again with its original sequence number and not stored.
    fn admit_customer_message(&mut self, now: Timestamp, conn: ConnId, id: &ConversationId, msg_id: &str) -> Admission {
        let Some(c) = self.conversations.get_mut(id) else { return Admission::Refused(ErrorCode::UnknownConversation) };
        if let Some(&seq) = c.customer_ids.get(msg_id) {
            self.counters.duplicates_acknowledged += 1;
            let frame = ServerFrame::Ack { client_msg_id: msg_id.to_owned(), seq };
            self.outputs.push_back(Output::Send { conn, frame });
            return Admission::Repeat;
        }
        match c.state {
            ConversationState::Prechat => return Admission::Refused(ErrorCode::PrechatRequired),
            ConversationState::Ended => return Admission::Refused(ErrorCode::Ended),
            ConversationState::Queued | ConversationState::Open | ConversationState::Offline => {}
        }
        if c.log.len() >= self.limits.max_conversation_messages {
            return Admission::Refused(ErrorCode::ConversationFull);
        }
        if !c.messages.admit(now, self.limits.max_messages_per_minute) {
            self.counters.floods_refused += 1;
            return Admission::Refused(ErrorCode::Flood);
        }
        Admission::New
    }

    fn store_customer(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        id: &ConversationId,
        msg_id: String,
        text: String,
        attachment: Option<AttachmentMeta>,
    ) -> Option<u64> {
        let c = self.conversations.get_mut(id)?;
        let seq = c.last_seq() + 1;
        c.customer_ids.insert(msg_id.clone(), seq);
        let frame = ServerFrame::Ack { client_msg_id: msg_id.clone(), seq };
        self.outputs.push_back(Output::Send { conn, frame });
        self.append(id, Author::Customer, text, now, Some(msg_id), attachment)
    }

    /// Stores a message with the next sequence number, sends it to every connection of the
    /// conversation and emits it. The only place sequence numbers are made.
    fn append(
        &mut self,
        id: &ConversationId,
        from: Author,
        text: String,
        ts: Timestamp,
        client_msg_id: Option<String>,
        attachment: Option<AttachmentMeta>,
    ) -> Option<u64> {
        let c = self.conversations.get_mut(id)?;
        let seq = c.last_seq() + 1;
        let entry = Entry { seq, from, text, ts, client_msg_id, attachment };
        c.log.push(entry.clone());
        self.counters.messages_stored += 1;
        let frame = entry.to_frame();
        for &conn in &c.conns {
            self.outputs.push_back(Output::Send { conn, frame: frame.clone() });
        }
        self.outputs.push_back(Output::Event(ChatEvent::Message { conversation_id: id.clone(), entry }));
        Some(seq)
    }

    fn system(&mut self, now: Timestamp, id: &ConversationId, notice: Notice) {
        let chinese = self.conversations.get(id).is_some_and(Conversation::chinese);
        self.append(id, Author::System, notice.text(chinese).to_owned(), now, None, None);
    }

    fn rate(&mut self, now: Timestamp, conn: ConnId, id: &ConversationId, score: u8, comment: Option<String>) {
        let max_comment_chars = self.limits.max_comment_chars;
        let Some(c) = self.conversations.get_mut(id) else { return };
        if c.state == ConversationState::Prechat {
            return self.refuse(conn, ErrorCode::PrechatRequired);
        }
        if !(1..=5).contains(&score) || comment.as_ref().is_some_and(|t| t.chars().count() > max_comment_chars) {
            return self.refuse(conn, ErrorCode::InvalidRating);
        }
        if c.rated {
            return self.refuse(conn, ErrorCode::AlreadyRated);
        }
        c.rated = true;
        self.counters.ratings += 1;
        let comment = comment.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        let conversation_id = id.clone();
        self.outputs.push_back(Output::Event(ChatEvent::Rated { conversation_id, score, comment, at: now }));
    }

    /// Ends a conversation: a closing system message, `ended` to the customer, the offline
    /// message when it was one, and `Ended`. Ending twice does nothing.
    fn end(&mut self, now: Timestamp, id: &ConversationId, reason: EndReason) {
        let Some(c) = self.conversations.get(id) else { return };
        if c.state == ConversationState::Ended {
            return;
        }
        let was_offline = c.state == ConversationState::Offline;
        self.system(now, id, Notice::Ended);
        let Some(c) = self.conversations.get_mut(id) else { return };
        c.state = ConversationState::Ended;
        c.ended_at = Some(now);
        for &conn in &c.conns {
            self.outputs.push_back(Output::Send { conn, frame: ServerFrame::Ended });
        }
        let has_customer_words = c.log.iter().any(|e| e.from == Author::Customer);
        if was_offline
            && has_customer_words
            && let Some(prechat) = c.prechat.clone()
        {
            self.counters.offline_messages += 1;
            let transcript = c.log.clone();
            let conversation_id = id.clone();
            self.outputs.push_back(Output::Event(ChatEvent::LeaveMessage(OfflineMessage {
                conversation_id,
                prechat,
                transcript,
                at: now,
            })));
        }
        self.outputs.push_back(Output::Event(ChatEvent::Ended { conversation_id: id.clone(), reason, at: now }));
    }

    fn refuse(&mut self, conn: ConnId, code: ErrorCode) {
        self.counters.frames_refused += 1;
        self.outputs.push_back(Output::Send { conn, frame: ServerFrame::error(code) });
    }
}

/// The agent side: what the desktop (or the ACD, once chats are routed through it) calls.
impl Conversations {
    /// Marks an agent able (or no longer able) to take chats. With none available, new
    /// conversations become messages left for later.
    pub fn set_agent_available(&mut self, agent: AgentId, available: bool) -> Result<(), AgentError> {
        if !available {
            self.available_agents.remove(&agent);
        } else if self.available_agents.len() >= self.limits.max_available_agents
            && !self.available_agents.contains(&agent)
        {
            return Err(AgentError::TooManyAgents);
        } else {
            self.available_agents.insert(agent);
        }
        Ok(())
    }

    /// With `true`, an ACD routes the chats: within business hours every conversation is queued
    /// (the available set is not consulted) and the ACD, or `max_queue_wait_ms`, decides.
    pub fn set_external_routing(&mut self, external: bool) {
        self.external_routing = external;
    }

    /// Routing could not take a queued conversation (the ACD refused it): it becomes a message
    /// left for later. Does nothing to a conversation in any other state.
    pub fn leave_for_later(&mut self, now: Timestamp, id: &ConversationId) {
        let Some(c) = self.conversations.get_mut(id) else { return };
        if c.state != ConversationState::Queued {
            return;
        }
        c.state = ConversationState::Offline;
        self.outputs.push_back(Output::Event(ChatEvent::WentOffline { conversation_id: id.clone(), at: now }));
        self.system(now, id, Notice::Offline);
    }

    /// The agent takes a queued (or left-for-later, not yet ended) conversation.
    pub fn accept(&mut self, now: Timestamp, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        let c = self.conversations.get_mut(id).ok_or(AgentError::UnknownConversation)?;
        match c.state {
            ConversationState::Queued | ConversationState::Offline => {}
            ConversationState::Open if c.agent == Some(agent) => return Ok(()),
            ConversationState::Open => return Err(AgentError::NotYours),
            ConversationState::Ended => return Err(AgentError::Ended),
            ConversationState::Prechat => return Err(AgentError::NotQueued),
        }
        c.state = ConversationState::Open;
        c.agent = Some(agent);
        c.last_activity = now;
        self.outputs.push_back(Output::Event(ChatEvent::AgentJoined { conversation_id: id.clone(), agent, at: now }));
        self.system(now, id, Notice::AgentJoined);
        Ok(())
    }

    /// An agent message; `agent_msg_id` de-duplicates a retry like a customer's `client_msg_id`.
    /// Returns its sequence number.
    pub fn agent_send(
        &mut self,
        now: Timestamp,
        id: &ConversationId,
        agent: AgentId,
        agent_msg_id: &str,
        text: &str,
    ) -> Result<u64, AgentError> {
        let limits = &self.limits;
        let c = self.conversations.get_mut(id).ok_or(AgentError::UnknownConversation)?;
        if c.agent != Some(agent) {
            return Err(AgentError::NotYours);
        }
        if let Some(&seq) = c.agent_ids.get(agent_msg_id) {
            self.counters.duplicates_acknowledged += 1;
            return Ok(seq);
        }
        if c.state == ConversationState::Ended {
            return Err(AgentError::Ended);
        }
        if !valid_msg_id(agent_msg_id, limits.max_client_msg_id_chars)
            || text.trim().is_empty()
            || text.len() > limits.max_message_bytes
        {
            return Err(AgentError::InvalidMessage);
        }
        if c.log.len() >= limits.max_conversation_messages {
            return Err(AgentError::ConversationFull);
        }
        c.last_activity = now;
        c.agent_ids.insert(agent_msg_id.to_owned(), c.last_seq() + 1);
        self.append(id, Author::Agent, text.to_owned(), now, Some(agent_msg_id.to_owned()), None)
            .ok_or(AgentError::UnknownConversation)
    }

    /// Shows "typing" to the customer.
    pub fn agent_typing(&mut self, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        let c = self.conversations.get(id).ok_or(AgentError::UnknownConversation)?;
        if c.agent != Some(agent) {
            return Err(AgentError::NotYours);
        }
        for &conn in &c.conns {
            self.outputs.push_back(Output::Send { conn, frame: ServerFrame::Typing });
        }
        Ok(())
    }

    /// The agent has read up to `up_to_seq`: a read mark for the customer.
    pub fn agent_read(&mut self, id: &ConversationId, agent: AgentId, up_to_seq: u64) -> Result<(), AgentError> {
        let c = self.conversations.get_mut(id).ok_or(AgentError::UnknownConversation)?;
        if c.agent != Some(agent) {
            return Err(AgentError::NotYours);
        }
        let up_to_seq = up_to_seq.min(c.last_seq());
        if up_to_seq > c.agent_read_seq {
            c.agent_read_seq = up_to_seq;
            for &conn in &c.conns {
                self.outputs.push_back(Output::Send { conn, frame: ServerFrame::Read { up_to_seq } });
            }
        }
        Ok(())
    }

    /// The agent ends the conversation (the customer can still rate it).
    pub fn agent_end(&mut self, now: Timestamp, id: &ConversationId, agent: AgentId) -> Result<(), AgentError> {
        let c = self.conversations.get(id).ok_or(AgentError::UnknownConversation)?;
        if c.agent != Some(agent) {
            return Err(AgentError::NotYours);
        }
        self.end(now, id, EndReason::AgentEnded);
        Ok(())
    }

    /// The earliest time `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.conversations.values().filter_map(|c| self.deadline(c)).min()
    }

    fn deadline(&self, c: &Conversation) -> Option<Timestamp> {
        let after = |t: Timestamp, ms: u64| Timestamp::from_unix_ms(t.unix_ms().saturating_add_unsigned(ms));
        let idle = after(c.last_activity, self.limits.idle_timeout_ms);
        match (c.state, c.ended_at) {
            (ConversationState::Ended, Some(ended)) => Some(after(ended, self.limits.ended_retention_ms)),
            (ConversationState::Ended, None) => None,
            (ConversationState::Queued, _) => Some(idle.min(after(c.queued_at, self.limits.max_queue_wait_ms))),
            _ => Some(idle),
        }
    }

    /// Ends idle conversations, sends unanswered queued ones to leave-a-message, and drops ended
    /// ones past their retention (closing their connections).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let due: Vec<ConversationId> = self
            .conversations
            .iter()
            .filter(|(_, c)| self.deadline(c).is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(c) = self.conversations.get_mut(&id) else { continue };
            let idle = now.unix_ms() - c.last_activity.unix_ms()
                >= i64::try_from(self.limits.idle_timeout_ms).unwrap_or(i64::MAX);
            match c.state {
                ConversationState::Ended => {
                    let conns = std::mem::take(&mut c.conns);
                    self.conversations.remove(&id);
                    for conn in conns {
                        self.connections.remove(&conn);
                        self.outputs.push_back(Output::Close { conn });
                    }
                }
                ConversationState::Queued if !idle => self.leave_for_later(now, &id),
                _ => self.end(now, &id, EndReason::IdleTimeout),
            }
        }
    }
}

enum Admission {
    New,
    Repeat,
    Refused(ErrorCode),
}

/// The system messages, in the customer's language.
#[derive(Debug, Clone, Copy)]
enum Notice {
    Queued,
    /// No agent is available.
    Offline,
    /// Outside business hours.
    Closed,
    AgentJoined,
    Ended,
}

impl Notice {
    const fn text(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Notice::Queued, true) => "正在为您转接客服,请稍候。",
            (Notice::Queued, false) => "Connecting you to an agent, please wait.",
            (Notice::Offline, true) => "现在没有客服在线。请留言,我们会通过邮件回复您。",
            (Notice::Offline, false) => "No agent is available right now. Leave a message and we will reply by email.",
            (Notice::Closed, true) => "现在是非工作时间。请留言,我们会在工作时间通过邮件回复您。",
            (Notice::Closed, false) => {
                "We are closed right now. Leave a message and we will reply by email during business hours."
            }
            (Notice::AgentJoined, true) => "客服已接入。",
            (Notice::AgentJoined, false) => "An agent has joined.",
            (Notice::Ended, true) => "会话已结束。",
            (Notice::Ended, false) => "The conversation has ended.",
        }
    }
}
