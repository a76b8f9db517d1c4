//! Hotline's web chat core: the conversation protocol between the embeddable widget and the
//! server, as a sans-IO state machine that the web crate's WebSocket shell drives.
//!
//! Modules:
//! - [`protocol`]: the versioned JSON frames (client → server `hello`, `prechat`, `msg`, `typing`,
//!   `read`, `attachment`, `rate`, `leave`; server → client `welcome`, `ack`, `msg`, `typing`,
//!   `read`, `error`, `ended`).
//! - [`conversations`]: [`Conversations`], every chat of one server: frames and time in; frames,
//!   closes and [`ChatEvent`]s (for the store and routing) out; the agent side's commands.
//! - [`attachment`]: allowed file types, checked by magic bytes.
//! - [`hours`]: business hours in a fixed UTC offset.
//!
//! Invariants:
//! - **No IO, no clock, no randomness**: time comes in as [`model::Timestamp`], ids and tokens
//!   from an injected [`IdSource`].
//! - **Nothing lost, nothing twice**: every stored message has the conversation's next sequence
//!   number (no gaps) and stays for replay until the conversation is dropped; a customer message
//!   is stored once per `client_msg_id` (an agent message once per `agent_msg_id`), a repeat is
//!   acknowledged with its original number. Property-tested against random disconnect,
//!   reconnect, duplicate and reorder schedules.
//! - **Never panics on a frame**: malformed, oversized or out-of-order frames get an `error`
//!   frame with a stable [`ErrorCode`] and a counter, never a panic.
//! - **Bounded**: message and attachment bytes, messages and frames per minute, messages per
//!   conversation, conversations, connections per conversation and in all, available agents,
//!   and how long idle, queued and ended conversations live ([`ChatLimits`]).
//! - An attachment is accepted only when its declared type is allowed *and* its bytes are that
//!   type; a conversation's token is compared in constant time and an unknown id and a wrong token
//!   get the same answer.

pub mod attachment;
pub mod conversations;
pub mod hours;
pub mod protocol;

pub use conversations::{
    AgentError, ChatCounters, ChatEvent, ChatLimits, ConnId, ConversationId, Conversations, EndReason, Entry, IdSource,
    IssueType, OfflineMessage, Output, Prechat, RestoreError, RestoredConversation,
};
pub use hours::{BusinessHours, OpenHours};
pub use protocol::{AttachmentMeta, Author, ClientFrame, ConversationState, ErrorCode, PROTOCOL_VERSION, ServerFrame};

#[cfg(test)]
mod delivery_proptest;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
