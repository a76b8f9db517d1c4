//! One transaction's state machine: the four machines of RFC 3261 §17 (figures 5–8) plus the
//! RFC 6026 Accepted state. Pure: the layer passes time in and sends what comes out.

use model::{DurationMs, Timestamp};

use super::key::TransactionKey;
use super::{Peer, TimerConfig, TransactionError, ack_for_error};
use crate::message::{Method, Request, Response, StatusCode};

// The four names are RFC 3261's own (§17): "client INVITE transaction" and so on.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ClientInvite,
    ClientNonInvite,
    ServerInvite,
    ServerNonInvite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Calling,
    Trying,
    Proceeding,
    /// RFC 6026: a 2xx was sent or received; absorbs retransmissions until timer L/M.
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct Transaction {
    pub(crate) kind: Kind,
    pub(crate) state: State,
    pub(crate) key: TransactionKey,
    /// Where this transaction sends (requests for a client, responses for a server).
    pub(crate) peer: Peer,
    pub(crate) request: Request,
    /// Client: the request. Server: the last response sent (empty before the first).
    pub(crate) last_sent: Vec<u8>,
    /// Client INVITE: the ACK sent for a non-2xx final response.
    ack: Option<Vec<u8>>,
    retransmit_at: Option<Timestamp>,
    interval_ms: u64,
    end_at: Option<Timestamp>,
    /// Whether reaching `end_at` is a failure the TU must hear about.
    end_is_timeout: bool,
    /// CANCEL held until the INVITE gets a provisional response (§9.1).
    pub(crate) cancel_pending: Option<Request>,
}

/// What a response did to a client transaction.
pub(crate) struct ResponseOutcome {
    pub(crate) send: Option<Vec<u8>>,
    pub(crate) deliver: bool,
}

/// What a timer did.
pub(crate) struct TimerOutcome {
    pub(crate) retransmit: Option<Vec<u8>>,
    pub(crate) timed_out: bool,
}

fn after(now: Timestamp, ms: u64) -> Timestamp {
    now.plus(DurationMs::from_ms(ms))
}

impl Transaction {
    pub(crate) fn server(_now: Timestamp, key: TransactionKey, request: Request, peer: Peer) -> Transaction {
        let invite = request.method == Method::Invite;
        Transaction {
            kind: if invite { Kind::ServerInvite } else { Kind::ServerNonInvite },
            state: if invite { State::Proceeding } else { State::Trying },
            key,
            peer,
            request,
            last_sent: Vec::new(),
            ack: None,
            retransmit_at: None,
            interval_ms: 0,
            end_at: None,
            end_is_timeout: false,
            cancel_pending: None,
        }
    }

    /// Starts a client transaction: timers A and B (INVITE) or E and F (non-INVITE).
    pub(crate) fn client(
        now: Timestamp,
        key: TransactionKey,
        request: Request,
        peer: Peer,
        t: &TimerConfig,
    ) -> Transaction {
        let invite = request.method == Method::Invite;
        let reliable = peer.is_reliable();
        Transaction {
            kind: if invite { Kind::ClientInvite } else { Kind::ClientNonInvite },
            state: if invite { State::Calling } else { State::Trying },
            key,
            peer,
            last_sent: request.to_bytes(),
            request,
            ack: None,
            retransmit_at: (!reliable).then(|| after(now, t.t1_ms)),
            interval_ms: t.t1_ms,
            end_at: Some(after(now, 64 * t.t1_ms)),
            end_is_timeout: true,
            cancel_pending: None,
        }
    }

    /// (Call-ID, CSeq number) of a server INVITE: how the ACK for its 2xx finds it.
    pub(crate) fn dialog_key(&self) -> Option<(String, u32)> {
        if self.kind != Kind::ServerInvite {
            return None;
        }
        Some((self.request.headers.call_id()?.to_owned(), self.request.headers.cseq()?.seq))
    }

    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        match (self.retransmit_at, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn reliable(&self) -> bool {
        self.peer.is_reliable()
    }

    /// Retransmissions every T1 doubling up to T2, over unreliable transports only.
    fn start_response_retransmission(&mut self, now: Timestamp, t: &TimerConfig) {
        self.interval_ms = t.t1_ms;
        self.retransmit_at = (!self.reliable()).then(|| after(now, t.t1_ms));
    }

    fn end_in(&mut self, now: Timestamp, ms: u64, is_timeout: bool) {
        self.end_at = Some(after(now, ms));
        self.end_is_timeout = is_timeout;
    }

    /// The TU sends a response on a server transaction.
    pub(crate) fn on_send_response(
        &mut self,
        now: Timestamp,
        status: StatusCode,
        bytes: Vec<u8>,
        t: &TimerConfig,
    ) -> Result<(), TransactionError> {
        let unreliable_ms = |ms: u64| if self.peer.is_reliable() { 0 } else { ms };
        match (self.kind, self.state) {
            (Kind::ServerInvite, State::Proceeding) if status.is_provisional() => {}
            (Kind::ServerInvite, State::Proceeding) if status.is_success() => {
                self.state = State::Accepted;
                self.start_response_retransmission(now, t);
                self.end_in(now, 64 * t.t1_ms, true);
            }
            (Kind::ServerInvite, State::Accepted) if status.is_success() => {}
            (Kind::ServerInvite, State::Proceeding) => {
                self.state = State::Completed;
                self.start_response_retransmission(now, t);
                self.end_in(now, 64 * t.t1_ms, true);
            }
            (Kind::ServerNonInvite, State::Trying | State::Proceeding) if status.is_provisional() => {
                self.state = State::Proceeding;
            }
            (Kind::ServerNonInvite, State::Trying | State::Proceeding) => {
                self.state = State::Completed;
                let j = unreliable_ms(64 * t.t1_ms);
                self.end_in(now, j, false);
            }
            _ => return Err(TransactionError::WrongState),
        }
        self.last_sent = bytes;
        Ok(())
    }

    /// The response to resend when a request retransmission arrives (none while Trying: absorbed).
    pub(crate) fn response_to_retransmit(&self) -> Option<Vec<u8>> {
        let resend = matches!(self.kind, Kind::ServerInvite | Kind::ServerNonInvite)
            && matches!(self.state, State::Proceeding | State::Completed | State::Accepted);
        (resend && !self.last_sent.is_empty()).then(|| self.last_sent.clone())
    }

    /// An ACK matched this server INVITE transaction. Returns whether the TU must see it (it must
    /// when it acknowledges a 2xx; the ACK for an error response is absorbed).
    pub(crate) fn on_ack(&mut self, now: Timestamp, t: &TimerConfig) -> bool {
        match (self.kind, self.state) {
            (Kind::ServerInvite, State::Completed) => {
                self.state = State::Confirmed;
                self.retransmit_at = None;
                let i = if self.reliable() { 0 } else { t.t4_ms };
                self.end_in(now, i, false);
                false
            }
            (Kind::ServerInvite, State::Accepted) => {
                self.stop_retransmitting();
                true
            }
            _ => false,
        }
    }

    pub(crate) fn terminate(&mut self) {
        self.state = State::Terminated;
        self.retransmit_at = None;
        self.end_at = None;
    }

    /// The 2xx was acknowledged: stop resending it; timer L now only absorbs retransmissions.
    pub(crate) fn stop_retransmitting(&mut self) {
        self.retransmit_at = None;
        self.end_is_timeout = false;
    }

    /// A response matched this client transaction.
    pub(crate) fn on_response(&mut self, now: Timestamp, response: &Response, t: &TimerConfig) -> ResponseOutcome {
        let status = response.status;
        let deliver = |send| ResponseOutcome { send, deliver: true };
        let absorb = |send| ResponseOutcome { send, deliver: false };
        match (self.kind, self.state) {
            (Kind::ClientInvite, State::Calling | State::Proceeding) if status.is_provisional() => {
                self.state = State::Proceeding;
                self.retransmit_at = None;
                self.end_at = None;
                deliver(None)
            }
            (Kind::ClientInvite, State::Calling | State::Proceeding) if status.is_success() => {
                self.state = State::Accepted;
                self.retransmit_at = None;
                self.end_in(now, 64 * t.t1_ms, false);
                deliver(None)
            }
            (Kind::ClientInvite, State::Calling | State::Proceeding) => {
                self.state = State::Completed;
                self.retransmit_at = None;
                let ack = ack_for_error(&self.request, response).to_bytes();
                self.ack = Some(ack.clone());
                let d = if self.reliable() { 0 } else { (64 * t.t1_ms).max(32_000) };
                self.end_in(now, d, false);
                deliver(Some(ack))
            }
            (Kind::ClientInvite, State::Accepted) if status.is_success() => deliver(None),
            (Kind::ClientInvite, State::Completed) if status.is_final() => absorb(self.ack.clone()),
            (Kind::ClientNonInvite, State::Trying | State::Proceeding) if status.is_provisional() => {
                self.state = State::Proceeding;
                deliver(None)
            }
            (Kind::ClientNonInvite, State::Trying | State::Proceeding) => {
                self.state = State::Completed;
                self.retransmit_at = None;
                let k = if self.reliable() { 0 } else { t.t4_ms };
                self.end_in(now, k, false);
                deliver(None)
            }
            _ => absorb(None),
        }
    }

    /// Fires the due timer: the end timer (B, D, F, H, I, J, K, L, M) wins over a retransmission
    /// (A, E, G, and 2xx resends).
    pub(crate) fn on_timer(&mut self, now: Timestamp, t: &TimerConfig) -> TimerOutcome {
        if self.end_at.is_some_and(|end| end <= now) {
            self.state = State::Terminated;
            self.retransmit_at = None;
            self.end_at = None;
            return TimerOutcome { retransmit: None, timed_out: self.end_is_timeout };
        }
        if self.retransmit_at.is_none_or(|at| at > now) {
            return TimerOutcome { retransmit: None, timed_out: false };
        }
        self.interval_ms = match (self.kind, self.state) {
            (Kind::ClientInvite, _) => self.interval_ms.saturating_mul(2),
            (Kind::ClientNonInvite, State::Proceeding) => t.t2_ms,
            _ => self.interval_ms.saturating_mul(2).min(t.t2_ms),
        };
        self.retransmit_at = Some(after(now, self.interval_ms));
        TimerOutcome { retransmit: Some(self.last_sent.clone()), timed_out: false }
    }
}
