//! Calls: the B2BUA transaction user (RFC 3261 §13–15, RFC 3264, RFC 3515, RFC 3891) as a sans-IO
//! state machine, [`CallLayer`], sitting on a [`TransactionLayer`].
//!
//! Every call leg is one dialog between Hotline and one far end, named by a [`CallRef`]. An
//! inbound INVITE makes an inbound leg and a [`CallEvent::Incoming`]; the application answers it
//! with [`CallCommand`]s (ring, answer, reject...). [`CallCommand::Dial`] makes an outbound leg,
//! forked in parallel to every contact given (an agent's registered bindings): the first 2xx wins
//! and the other forks are cancelled. [`CallCommand::Link`] joins two legs into one call (the
//! B2BUA helper): BYE on one hangs up the other, CANCEL propagates, an answer or early media on
//! the outbound leg answers or rings the inbound one, and a re-INVITE (hold/unhold) is forwarded,
//! each description rewritten by the [`MediaAnchor`] ([`PassThrough`] relays it unchanged).
//!
//! # How a shell drives it
//! ```text
//! TransactionLayer::poll_event()
//!   ├─ Request{INVITE, ACK-less in-dialog BYE/INFO/REFER/NOTIFY/OPTIONS/UPDATE} ─┐
//!   ├─ Ack / Cancelled                                                            ├─> CallLayer::handle_transaction_event
//!   └─ Response / Timeout / TransportError / Terminated for a call transaction ──┘   (returns false: not a call's)
//! app command ─> CallLayer::handle_command(now, layer, cmd, lookup)
//! CallLayer::poll_timeout() ─> CallLayer::handle_timeout(now, layer)   (ring and answer timeouts)
//! CallLayer::poll_event() ─> the application
//! ```
//! The transaction layer does the retransmissions: of the INVITE (timer A), of our 2xx until the
//! ACK comes (RFC 6026 Accepted, timers G/H for 2xx at the TU, RFC 3261 §13.3.1.4), and of
//! requests; a 2xx without ACK ends the leg with a BYE ([`EndReason::NoAck`]).
//!
//! # Invariants
//! - No IO, no clock, no randomness of its own: time comes in, tags/branches/Call-IDs come from a
//!   seed given to [`CallLayer::new`].
//! - Never panics on what a peer sends: a request it cannot use is answered (400, 481, 488, 491,
//!   500) or dropped.
//! - Bounded: at most [`CallConfig::max_calls`] legs (beyond: 503 inbound, `Failed` 503 outbound),
//!   at most [`CallConfig::max_forks`] forks per dial, at most
//!   [`CallConfig::max_pending_events`] events waiting (the oldest is dropped and counted).
//! - Every leg ends exactly once: one `Ended` (inbound or answered) or one `Failed` (outbound
//!   never answered), then its [`CallRef`] is never used again.
//! - Unknown dialled numbers are all answered with the same 404, whether or not a user exists.

mod layer;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;

pub use layer::CallLayer;

use crate::message::{Request, StatusCode, Uri};
use crate::sdp::SessionDescription;
use crate::transaction::Peer;

/// One call leg (one dialog with one far end). Inbound legs are numbered by the [`CallLayer`];
/// outbound legs by whoever sends [`CallCommand::Dial`], from [`CallRef::FIRST_DIALLED`] up, so a
/// handle can return the reference before the layer has seen the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl CallRef {
    /// The first reference a dialling handle may mint; the layer numbers inbound legs below it.
    pub const FIRST_DIALLED: CallRef = CallRef(1 << 63);
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{:x}", self.0)
    }
}

/// Who is calling, as the INVITE says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// The user part of the From URI (`+8613800138000`, `1001`, `anonymous`).
    pub number: String,
    /// The From display name, when given.
    pub display: Option<String>,
    /// The identity of the first P-Asserted-Identity (RFC 3325) user part, when given. Only
    /// trustworthy when the source is a trusted trunk: the application decides.
    pub asserted: Option<String>,
}

/// Why a leg ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// BYE (from the far end when `by_remote`, else ours).
    Bye,
    /// The caller sent CANCEL before the answer (the INVITE got 487).
    Cancelled,
    /// Our 2xx was never acknowledged (64×T1); a BYE was sent.
    NoAck,
    /// An inbound call was not answered within [`CallConfig::max_unanswered_ms`] (480 sent).
    NotAnswered,
    /// The application hung up, cancelled or rejected the leg.
    Local,
    /// The leg it was linked to ended (B2BUA propagation).
    LinkedLegEnded,
    /// An INVITE with Replaces (RFC 3891) took its place; a BYE was sent.
    Replaced,
    /// A request in the dialog timed out or could not be sent: the far end is gone.
    Unreachable,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::Bye => "bye",
            EndReason::Cancelled => "cancelled",
            EndReason::NoAck => "no ack",
            EndReason::NotAnswered => "not answered",
            EndReason::Local => "local",
            EndReason::LinkedLegEnded => "linked leg ended",
            EndReason::Replaced => "replaced",
            EndReason::Unreachable => "unreachable",
        })
    }
}

/// What the call layer tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new inbound call (100 Trying is already sent). Answer with `Ring`, `Answer` or `Reject`;
    /// unanswered after [`CallConfig::max_unanswered_ms`] it is rejected 480 and `Ended`.
    Incoming {
        call: CallRef,
        /// The Request-URI user part ("4000", "1001", "+861012345678").
        dialled: String,
        caller: Caller,
        /// The caller's SDP offer (already checked: it parses and has a codec in common with the
        /// [`CallConfig::audio`] policy). `None`: an offer-less INVITE, answered with our offer.
        offer: Option<SessionDescription>,
        /// Where the INVITE came from (for trunk matching; the far end may be behind a proxy).
        source: SocketAddr,
        /// RFC 3891: this INVITE replaces that confirmed leg (attended transfer). Answering it
        /// ends the replaced leg with [`EndReason::Replaced`].
        replaces: Option<CallRef>,
        /// Headers the application may route on, as received (`X-*` headers, Diversion...).
        extra_headers: Vec<(String, String)>,
    },
    /// An outbound leg is ringing (180), or has early media (183 with SDP).
    Ringing { call: CallRef, early_sdp: Option<SessionDescription> },
    /// An outbound leg was answered (its 2xx ACKed). `sdp` is the far end's answer.
    Answered { call: CallRef, sdp: Option<SessionDescription> },
    /// An outbound leg never got answered: every fork rejected it, the ring timeout passed (408),
    /// or it was cancelled (487). Final for the leg.
    Failed { call: CallRef, status: u16, reason: String },
    /// A leg that existed ended. Final for the leg.
    Ended { call: CallRef, by_remote: bool, reason: EndReason },
    /// The far end sent a re-INVITE: `held` when its offer puts us on hold (sendonly, inactive or
    /// c=0.0.0.0), false when it resumes. Answer with `Answer` (the 200's SDP) or `Reject`. On a
    /// linked leg the layer forwards it to the other leg itself; the event is for information.
    Hold { call: CallRef, held: bool, offer: SessionDescription },
    /// The answer to our own `Reinvite` (`status` 200, or the error: 491 glare, 488...).
    Reinvited { call: CallRef, status: u16, sdp: Option<SessionDescription> },
    /// The far end asked for a transfer (REFER, RFC 3515; 202 is already sent). Report how the
    /// new call goes with `ReferProgress`; the first final status ends the subscription.
    Refer {
        call: CallRef,
        /// The Refer-To URI, without its `?headers`.
        target: String,
        /// Attended transfer: Refer-To carried `?Replaces=` naming this leg of ours.
        replaces: Option<CallRef>,
        /// The Referred-By value, when given.
        referred_by: Option<String>,
    },
    /// A DTMF key from SIP INFO (`application/dtmf-relay` or `application/dtmf`).
    Dtmf { call: CallRef, key: char, duration_ms: u32 },
}

impl CallEvent {
    /// The leg the event is about.
    pub fn call(&self) -> CallRef {
        match self {
            CallEvent::Incoming { call, .. }
            | CallEvent::Ringing { call, .. }
            | CallEvent::Answered { call, .. }
            | CallEvent::Failed { call, .. }
            | CallEvent::Ended { call, .. }
            | CallEvent::Hold { call, .. }
            | CallEvent::Reinvited { call, .. }
            | CallEvent::Refer { call, .. }
            | CallEvent::Dtmf { call, .. } => *call,
        }
    }
}

/// Where an outbound leg goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// An agent's extension: forked to every binding the registrar holds for it. No binding:
    /// `Failed` 480.
    Extension(String),
    /// One SIP URI; the host must be an IP literal (no DNS here), port 5060 when absent.
    Uri(Uri),
    /// A phone number as a person dialled it (`138 0013 8000`, `+1 415 555 0100`): out through
    /// the trunk [`CallConfig::trunks`] picks for it, written in that trunk's number format,
    /// with the trunk's caller id in From and P-Asserted-Identity (the request's
    /// `caller_number` when the trunk has none). A 401/407 from the provider is answered with
    /// the trunk's credentials once per challenge. Not a number: `Failed` 484; no trunk
    /// carries it: `Failed` 404; the trunk at its `max_calls`: `Failed` 503.
    Number(String),
}

/// Everything an outbound leg needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    pub target: DialTarget,
    /// The caller's number: user part of the From URI and of the P-Asserted-Identity.
    pub caller_number: String,
    /// From display name (the agent's phone shows it).
    pub caller_display: Option<String>,
    /// Extra headers to send (`X-Hotline-Queue: general`). Names that the layer writes itself
    /// (Via, From, To, Call-ID, CSeq, Contact, Content-*) are ignored.
    pub extra_headers: Vec<(String, String)>,
    /// Our SDP offer. `None` sends an offer-less INVITE (the answer then carries the offer).
    pub offer: Option<SessionDescription>,
    /// Cancel every fork after this long without a 2xx; `Failed` 408. Capped by
    /// [`CallConfig::max_ring_timeout_ms`].
    pub ring_timeout_ms: u64,
}

/// One destination of a dial: a contact URI (the Request-URI) and where to send it (the
/// registration's source address: it traverses the NAT the REGISTER came through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialContact {
    pub uri: Uri,
    pub destination: Peer,
}

/// What the application asks of the call layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCommand {
    /// Inbound leg: 180 Ringing, or 183 Session Progress with SDP for early media.
    Ring { call: CallRef, early_media: Option<SessionDescription> },
    /// Inbound leg: 200 OK to the INVITE with this SDP; or 200 to a pending re-INVITE (`Hold`).
    Answer { call: CallRef, sdp: SessionDescription },
    /// Inbound leg: a final error to the INVITE (486, 480, 603...), or to a pending re-INVITE
    /// (488, 491). Statuses below 300 are refused (answered 500 instead).
    Reject { call: CallRef, status: StatusCode },
    /// A new outbound leg named `call` (minted from [`CallRef::FIRST_DIALLED`] up).
    Dial { call: CallRef, request: Box<DialRequest> },
    /// Outbound leg not answered yet: CANCEL every fork (`Failed` 487).
    Cancel { call: CallRef },
    /// End the leg whatever its state: BYE when confirmed, CANCEL when ringing out, 480 when
    /// ringing in. `Ended { by_remote: false, reason: Local }` (or `Failed` 487 outbound).
    Hangup { call: CallRef },
    /// A re-INVITE with this SDP towards the leg (hold: `a=sendonly`; resume: `a=sendrecv`).
    /// The answer comes as `Reinvited`.
    Reinvite { call: CallRef, sdp: SessionDescription },
    /// Progress of the transfer asked by `Refer`: a NOTIFY with `message/sipfrag` `SIP/2.0
    /// <status>`; final statuses (≥ 200) terminate the subscription.
    ReferProgress { call: CallRef, status: StatusCode },
    /// Links two legs into one B2BUA call (see the module doc). Typically an inbound leg and the
    /// outbound leg dialled for it; an answered outbound leg answers the inbound one.
    Link { a: CallRef, b: CallRef },
}

/// Rewrites session descriptions between two linked legs: where the media goes. The layer calls
/// it on its own thread and never awaits it, so implementations must not block: a media server
/// allocates its ports before the legs are linked (e.g. before `Dial`) and only rewrites here.
pub trait MediaAnchor: Send {
    /// The description to send on leg `to`, made from the one received on leg `from` (an offer
    /// or an answer). `None` refuses it: the offer is answered 488.
    fn relay(&mut self, from: CallRef, to: CallRef, received: &SessionDescription) -> Option<SessionDescription>;

    /// The two legs were unlinked (one of them ended): release what was held for them.
    fn unlinked(&mut self, a: CallRef, b: CallRef);
}

/// The signalling-only anchor: media flows directly between the two far ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl MediaAnchor for PassThrough {
    fn relay(&mut self, _from: CallRef, _to: CallRef, received: &SessionDescription) -> Option<SessionDescription> {
        Some(received.clone())
    }

    fn unlinked(&mut self, _a: CallRef, _b: CallRef) {}
}

/// Limits and behaviour of the call layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallConfig {
    /// Our address as the far ends see it: the host and port of our Via, Contact and From.
    pub local: SocketAddr,
    /// Live legs; an INVITE beyond this is answered 503, a dial fails with 503.
    pub max_calls: usize,
    /// Contacts one dial forks to; further bindings are not rung.
    pub max_forks: usize,
    /// Events waiting for [`CallLayer::poll_event`]; beyond it the oldest is dropped and counted.
    pub max_pending_events: usize,
    /// An inbound call the application neither answered nor rejected for this long gets 480.
    pub max_unanswered_ms: u64,
    /// The longest ring timeout a dial may ask for.
    pub max_ring_timeout_ms: u64,
    /// Codecs an inbound offer must share with us (else 488).
    pub audio: crate::sdp::AudioPolicy,
    /// Direct dial: an INVITE for a registered extension is bridged to that extension's bindings
    /// by the layer itself (two linked legs, SDP through the anchor), with no `Incoming` event.
    pub direct_dial: bool,
    /// Numbers the application serves (entry points such as "4000"): `Incoming` for them.
    /// Registered extensions reach the application too when `direct_dial` is off. Any other
    /// number gets the same 404.
    pub entry_points: Vec<String>,
    /// Ring timeout of direct-dial legs.
    pub direct_dial_ring_timeout_ms: u64,
    /// SIP trunks for [`DialTarget::Number`].
    pub trunks: crate::trunk::TrunkTable,
}

impl CallConfig {
    pub fn new(local: SocketAddr) -> CallConfig {
        CallConfig {
            local,
            max_calls: 10_000,
            max_forks: 8,
            max_pending_events: 10_000,
            max_unanswered_ms: 120_000,
            max_ring_timeout_ms: 300_000,
            audio: crate::sdp::AudioPolicy::default(),
            direct_dial: true,
            entry_points: Vec::new(),
            direct_dial_ring_timeout_ms: 30_000,
            trunks: crate::trunk::TrunkTable::none(),
        }
    }
}

/// Counters for the shell's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounters {
    pub inbound_calls: u64,
    pub outbound_legs: u64,
    pub answered: u64,
    pub rejected_not_found: u64,
    pub rejected_bad_sdp: u64,
    pub rejected_over_limit: u64,
    /// Dials to a number no trunk could take (not a number, no trunk, trunk full).
    pub trunk_dials_refused: u64,
    /// INVITEs re-sent with credentials after a provider's 401/407.
    pub trunk_challenges_answered: u64,
    pub dropped_events: u64,
    /// Commands naming a leg that does not exist (any more) or unfit for its state.
    pub ignored_commands: u64,
}

/// A received request is for the call layer when it is an INVITE, or any request that names a
/// dialog (To tag), or a method that only makes sense in one.
pub fn is_call_request(request: &Request) -> bool {
    use crate::message::Method;
    let in_dialog = request.headers.to().is_some_and(|to| to.tag().is_some());
    matches!(request.method, Method::Invite | Method::Bye | Method::Info | Method::Refer | Method::Prack)
        || (in_dialog && !matches!(request.method, Method::Register))
}
