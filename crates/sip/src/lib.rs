//! Sans-IO SIP core for Hotline: bytes and time in, bytes, timers and events out.
//!
//! Modules:
//! - [`message`]: the RFC 3261 codec. Parses requests and responses from datagrams or framed
//!   streams (compact and folded headers, quoted strings, IPv6 references, SIP/SIPS URIs,
//!   name-addr, Via, CSeq) and writes them back. [`message::answer_malformed`] turns a parse
//!   failure into a 400/505/513 answer or a drop.
//! - [`sdp`]: RFC 4566 session descriptions and RFC 3264 offer/answer for G.711 audio with
//!   telephone-event.
//! - [`transaction`]: RFC 3261 §17 client and server transactions (INVITE and non-INVITE) with
//!   timers A–K, owned by a [`transaction::TransactionLayer`] driven by `handle_*`/`poll_*`.
//! - [`digest`]: HTTP digest authentication (RFC 2617, RFC 7616, RFC 8760): server challenges with
//!   stateless HMAC nonces, verification with replay protection, and the client side for trunks.
//! - [`registrar`]: REGISTER handling as a pure state machine: bindings per address of record,
//!   expiry, throttling of failed authentication, OPTIONS keep-alive scheduling.
//!
//! Invariants of the whole crate:
//! - no IO, no sockets, no async runtime, no clock: time comes in as [`model::Timestamp`] and leaves
//!   as deadlines; randomness (tags, branches, cnonces) comes in from the caller;
//! - bytes from the network never cause a panic: they parse, or they yield an error that the shell
//!   answers or drops with a counter;
//! - every buffer, map and queue has a limit named with its unit (`max_message_bytes`,
//!   `max_transactions`, `max_bindings_per_aor`...).

pub mod digest;
pub mod message;
pub mod registrar;
pub mod sdp;
pub mod transaction;

pub use message::{
    CSeq, Contact, Header, HeaderName, Headers, Host, Limits, Message, Method, NameAddr, ParseError, Request, Response,
    StatusCode, Uri, Via,
};
