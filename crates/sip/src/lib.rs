//! Sans-IO SIP core for Hotline: bytes and time in; bytes, deadlines and events out.
//!
//! # Modules
//! - [`message`]: the RFC 3261 codec. [`message::parse_datagram`] (UDP) and
//!   [`message::frame_stream`] + [`message::parse_stream_message`] (TCP/TLS, framed by
//!   Content-Length) read requests and responses: compact and folded headers, comma lists split
//!   outside quotes and `<>`, quoted strings with escapes, SIP/SIPS URIs with IPv6 references,
//!   name-addr, Via with `received`/`rport`, CSeq. Writing derives Content-Length from the body.
//!   [`message::answer_malformed`] turns a parse failure into a 400/505/513 answer, or a drop.
//! - [`sdp`]: RFC 4566 session descriptions and RFC 3264 offer/answer for G.711 audio (PCMU, PCMA)
//!   with RFC 4733 telephone-event, including hold detection and 488 when no codec is common.
//! - [`transaction`]: RFC 3261 §17 client and server transactions (INVITE and non-INVITE, timers
//!   A–K plus RFC 6026 L/M), owned by [`transaction::TransactionLayer`]: `handle_request`,
//!   `handle_response`, `handle_timeout`, `send_request`, `send_response`, then `poll_transmit`,
//!   `poll_event`, `poll_timeout`.
//! - [`calls`]: the B2BUA transaction user, [`calls::CallLayer`]: inbound and outbound call legs
//!   (RFC 3261 §13–15), parallel forking to an agent's bindings with CANCEL of the losers, ring
//!   and answer timeouts, re-INVITE hold/unhold, INFO DTMF, REFER (RFC 3515) with sipfrag
//!   NOTIFYs, Replaces (RFC 3891), linked legs with SDP rewritten by a [`calls::MediaAnchor`],
//!   and direct dial. Its [`calls::CallEvent`]/[`calls::CallCommand`] are the call-control API.
//! - [`dialog`]: RFC 3261 §12 dialogs (UAS and UAC side): route set, remote target, CSeq
//!   ordering, and the in-dialog requests (BYE, re-INVITE, REFER, ACK for 2xx) the B2BUA sends.
//! - [`digest`]: Digest authentication (RFC 2617, RFC 7616, RFC 8760): MD5 and SHA-256, qop=auth,
//!   stateless HMAC nonces with expiry (`stale=true`), bounded replay tracking; the client side
//!   answers a trunk's 401/407.
//! - [`guard`]: per-source admission: a token-bucket rate limit per IP address (bounded map,
//!   trusted sources such as trunks exempt) and silent dropping of SIP scanner user-agents.
//! - [`registrar`]: REGISTER as a pure state machine: bindings per extension, expiry limits (423),
//!   un-registration, Call-ID/CSeq ordering, failed-auth throttling per source address, binding
//!   events for the store, OPTIONS keep-alive scheduling.
//! - [`trunk`]: SIP trunks to a provider: routing a dialled number to a trunk (E.164
//!   normalisation, longest prefix, default trunk, the provider's number format) and
//!   [`trunk::RegistrationClient`], REGISTER with digest auth, refresh, back-off, un-register.
//!
//! # How a shell drives it
//! ```text
//! datagram from addr
//!   └─ SourceGuard::admit_source(now, ip)        Drop → count
//!   └─ parse_datagram(bytes, &limits)
//!        ├─ Err(e) → answer_malformed(bytes, &e) → Respond(400/505/513) → send | Drop → count
//!        └─ Ok(msg) → SourceGuard::admit (scanner UA) → TransactionLayer::handle_message(now, msg, peer)
//! TransactionLayer::poll_event()
//!   ├─ Request{REGISTER} → Registrar::handle_register → send_response; poll_event → store
//!   └─ INVITE, in-dialog requests, their responses → CallLayer::handle_transaction_event
//!        → CallEvent to the application; CallCommand back → CallLayer::handle_command
//! loop { poll_transmit() → socket; poll_timeout() → sleep until; handle_timeout(now) }
//! ```
//!
//! # Invariants
//! - No IO, no sockets, no async runtime, no clock, no randomness: time comes in as
//!   [`model::Timestamp`], and tags, branches, nonce salts and cnonces come in from the caller.
//! - Bytes from the network never cause a panic: they parse, or they yield an error that the shell
//!   answers or drops with a counter. Fuzzed (`fuzz/`) and property-tested (`tests/`).
//! - Every buffer, map and queue has a limit named with its unit (`max_message_bytes`,
//!   `max_headers`, `max_transactions`, `max_tracked_nonces`, `max_bindings_per_aor`...).
//! - Everything unknown is kept, not refused: extension methods and headers, non-SIP URI schemes
//!   (so a UAS can answer 416/501), SDP lines it does not model.

pub mod calls;
pub mod dialog;
pub mod digest;
pub mod guard;
pub mod message;
pub mod registrar;
pub mod sdp;
pub mod transaction;
pub mod trunk;

pub use message::{
    CSeq, Contact, Header, HeaderName, Headers, Host, Limits, Message, Method, NameAddr, ParseError, Request, Response,
    StatusCode, Uri, Via,
};
