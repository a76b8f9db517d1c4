//! The call layer's state: legs, forks, links, timers. See the module doc of [`super`].
//!
//! Inbound requests arrive as transaction events; each leg is found by (Call-ID, our tag), which
//! is the To tag of every request a far end sends in the dialog. Client transactions the layer
//! opened are kept in `client` with what they are for (a fork of a dial, a BYE, a re-INVITE...),
//! so a late answer still finds its purpose after the leg is gone (a late 2xx gets ACK + BYE).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use model::{DurationMs, Timestamp};

use super::{
    CallCommand, CallConfig, CallCounters, CallEvent, CallRef, Caller, DialContact, DialRequest, DialTarget, EndReason,
    MediaAnchor, is_call_request,
};
use crate::dialog::Dialog;
use crate::digest::{Challenge, pick_challenge, respond};
use crate::message::{
    HeaderName, Host, Method, NameAddr, Request, Response, StatusCode, Transport, Uri, Via, branch_from,
};
use crate::sdp::{Direction, LocalMedia, SessionDescription, answer_offer};
use crate::transaction::{Event, Peer, TransactionId, TransactionLayer};

const SDP: &str = "application/sdp";
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Inbound: INVITE received, no final answer yet.
    Offered,
    /// Inbound: 2xx sent, waiting for the ACK.
    AwaitingAck,
    /// Outbound: forks out, no 2xx yet.
    Dialling,
    /// In a confirmed dialog.
    Confirmed,
}

/// Our re-INVITE in flight on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OurReinvite {
    tx: TransactionId,
    /// The linked leg whose re-INVITE this forwards (it gets our answer).
    forwarded_for: Option<CallRef>,
}

#[derive(Debug)]
struct Leg {
    phase: Phase,
    call_id: String,
    local_tag: String,
    dialog: Option<Dialog>,
    /// Where in-dialog requests go: the INVITE's source (inbound), the winning fork's (outbound).
    peer: Peer,
    /// Inbound: the INVITE and its server transaction.
    invite: Option<(TransactionId, Request)>,
    replaces: Option<CallRef>,
    /// Outbound: the fork transactions still in progress, and the best final status so far.
    forks: Vec<TransactionId>,
    best_failure: Option<(u16, String)>,
    ringing_reported: bool,
    early_sdp_reported: bool,
    /// Outbound: the ACK of the 2xx, resent when the 2xx is.
    ack: Option<Request>,
    /// A re-INVITE the far end sent that is not answered yet.
    pending_reinvite: Option<(TransactionId, Request)>,
    our_reinvite: Option<OurReinvite>,
    /// A REFER subscription waiting for a final progress report.
    refer_active: bool,
    link: Option<CallRef>,
    deadline: Option<Timestamp>,
    /// Outbound through this trunk (index into [`CallConfig::trunks`]).
    trunk: Option<usize>,
    /// Hung up by us before our 2xx was ACKed: the BYE waits for the ACK or its timeout (RFC 3261
    /// §15: the callee must not send BYE on a dialog before the ACK for its 2xx), then the leg ends
    /// with this reason.
    bye_on_ack: Option<EndReason>,
}

impl Leg {
    /// A leg with no dialog, transactions, link or deadline yet.
    fn new(phase: Phase, call_id: String, local_tag: String, peer: Peer) -> Leg {
        Leg {
            phase,
            call_id,
            local_tag,
            dialog: None,
            peer,
            invite: None,
            replaces: None,
            forks: Vec::new(),
            best_failure: None,
            ringing_reported: false,
            early_sdp_reported: false,
            ack: None,
            pending_reinvite: None,
            our_reinvite: None,
            refer_active: false,
            link: None,
            deadline: None,
            trunk: None,
            bye_on_ack: None,
        }
    }
}

/// What a client transaction of ours is for.
#[derive(Debug)]
enum Role {
    Fork {
        call: CallRef,
        request: Request,
        peer: Peer,
        /// Provider challenges answered so far on this fork (a trunk's 401/407).
        auth_rounds: u8,
    },
    Reinvite {
        call: CallRef,
        ack: Option<Request>,
    },
    /// BYE, NOTIFY, CANCEL: the answer changes nothing.
    Fire,
}

/// Owns every call leg of one SIP endpoint. Driven by the shell next to its
/// [`TransactionLayer`], which it is handed on every call.
pub struct CallLayer {
    config: CallConfig,
    anchor: Box<dyn MediaAnchor>,
    salt: u64,
    next_inbound: u64,
    legs: HashMap<CallRef, Leg>,
    /// (Call-ID, our tag) → leg.
    dialogs: HashMap<(String, String), CallRef>,
    /// Initial INVITE server transactions → inbound leg (for CANCEL and no-ACK timeouts).
    server_invites: HashMap<TransactionId, CallRef>,
    client: HashMap<TransactionId, Role>,
    deadlines: BTreeSet<(Timestamp, CallRef)>,
    events: VecDeque<CallEvent>,
    counters: CallCounters,
    /// Live legs per trunk (same indexes as [`CallConfig::trunks`]).
    trunk_calls: Vec<usize>,
}

impl std::fmt::Debug for CallLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLayer").field("legs", &self.legs.len()).field("counters", &self.counters).finish()
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Vec<DialContact>;

impl CallLayer {
    /// A layer with no calls. `seed` feeds tags, branches and Call-IDs.
    pub fn new(config: CallConfig, seed: u64, anchor: Box<dyn MediaAnchor>) -> CallLayer {
        CallLayer {
            trunk_calls: vec![0; config.trunks.len()],
            config,
            anchor,
            salt: seed,
            next_inbound: 1,
            legs: HashMap::new(),
            dialogs: HashMap::new(),
            server_invites: HashMap::new(),
            client: HashMap::new(),
            deadlines: BTreeSet::new(),
            events: VecDeque::new(),
            counters: CallCounters::default(),
        }
    }

    pub fn counters(&self) -> CallCounters {
        self.counters
    }

    /// Live legs out of each trunk, in the order of [`CallConfig::trunks`].
    pub fn trunk_calls(&self) -> &[usize] {
        &self.trunk_calls
    }

    /// Live legs.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    /// The earliest time [`CallLayer::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// Feeds a transaction event. Returns false when the event is not a call's (the shell handles
    /// it: REGISTER, OPTIONS, keep-alive responses...). `lookup` gives the bindings of an
    /// extension (for direct dial).
    pub fn handle_transaction_event(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        event: &Event,
        lookup: Lookup<'_>,
    ) -> bool {
        match event {
            Event::Request { id, request, source } => {
                if !is_call_request(request) {
                    return false;
                }
                self.on_request(now, layer, *id, request, source, lookup);
                true
            }
            Event::Ack { request, .. } => {
                self.on_ack(now, layer, request);
                true
            }
            Event::Cancelled { invite, .. } => {
                let Some(call) = self.server_invites.get(invite).copied() else { return false };
                self.on_cancelled(now, layer, call);
                true
            }
            Event::Response { id, response } => {
                if !self.client.contains_key(id) {
                    return false;
                }
                self.on_response(now, layer, *id, response);
                true
            }
            Event::Timeout { id } | Event::TransportError { id } => self.on_failure(now, layer, *id),
            Event::Terminated { id } => {
                let server = self.server_invites.remove(id).is_some();
                let client = self.client.remove(id).is_some();
                server || client
            }
            Event::StrayResponse { response, .. } => self.on_stray(layer, response),
        }
    }

    /// Applies an application command.
    pub fn handle_command(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        command: CallCommand,
        lookup: Lookup<'_>,
    ) {
        let done = match command {
            CallCommand::Ring { call, early_media } => self.ring(now, layer, call, early_media),
            CallCommand::Answer { call, sdp } => self.answer(now, layer, call, sdp),
            CallCommand::Reject { call, status } => self.reject(now, layer, call, status),
            CallCommand::Dial { call, request } => self.dial(now, layer, call, *request, lookup),
            CallCommand::Cancel { call } => {
                let dialling = self.legs.get(&call).is_some_and(|l| l.phase == Phase::Dialling);
                dialling && self.hangup(now, layer, call, EndReason::Local)
            }
            CallCommand::Hangup { call } => self.hangup(now, layer, call, EndReason::Local),
            CallCommand::Reinvite { call, sdp } => self.reinvite(now, layer, call, &sdp, None),
            CallCommand::ReferProgress { call, status } => self.refer_progress(now, layer, call, status),
            CallCommand::Link { a, b } => self.link(a, b),
        };
        if !done {
            self.counters.ignored_commands += 1;
        }
    }

    /// Fires the ring and answer timeouts due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, layer: &mut TransactionLayer) {
        while let Some(&(at, call)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, call));
            let Some(leg) = self.legs.get_mut(&call) else { continue };
            leg.deadline = None;
            match leg.phase {
                Phase::Offered => {
                    self.final_to_invite(now, layer, call, StatusCode::TEMPORARILY_UNAVAILABLE);
                    self.end(now, layer, call, false, EndReason::NotAnswered);
                }
                Phase::Dialling => {
                    self.cancel_forks(now, layer, call);
                    self.fail(now, layer, call, 408, "ring timeout");
                }
                Phase::AwaitingAck | Phase::Confirmed => {}
            }
        }
    }

    // ----- helpers: randomness, addresses, events -----

    fn fresh(&mut self) -> u64 {
        self.salt = self.salt.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.salt;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn local_host(&self) -> Host {
        host_of(self.config.local.ip())
    }

    fn via(&mut self, peer: &Peer) -> Via {
        let branch = branch_from(self.fresh());
        let transport = if peer.is_reliable() { Transport::tcp() } else { Transport::udp() };
        let mut via = Via::new(transport, self.local_host(), Some(self.config.local.port()), &branch);
        via.params.set("rport", None);
        via
    }

    fn contact(&self, peer: &Peer) -> NameAddr {
        let mut uri = Uri::sip(Some("hotline"), self.local_host(), Some(self.config.local.port()));
        if peer.is_reliable() {
            uri.params.set("transport", Some("tcp"));
        }
        NameAddr::new(uri)
    }

    fn emit(&mut self, event: CallEvent) {
        if self.events.len() >= self.config.max_pending_events {
            self.events.pop_front();
            self.counters.dropped_events += 1;
        }
        self.events.push_back(event);
    }

    fn set_deadline(&mut self, call: CallRef, at: Option<Timestamp>) {
        let Some(leg) = self.legs.get_mut(&call) else { return };
        if let Some(old) = leg.deadline.take() {
            self.deadlines.remove(&(old, call));
        }
        if let Some(at) = at {
            leg.deadline = Some(at);
            self.deadlines.insert((at, call));
        }
    }

    fn send_response(&mut self, now: Timestamp, layer: &mut TransactionLayer, tx: TransactionId, response: Response) {
        // A refused send means the transaction is already gone (timed out): nothing to do.
        let _ = layer.send_response(now, tx, response);
    }

    /// Sends a request inside the leg's dialog; returns its transaction.
    fn send_in_dialog(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        method: Method,
        body: Option<(&str, String)>,
        extra: &[(HeaderName, String)],
    ) -> Option<TransactionId> {
        let peer = self.legs.get(&call)?.peer.clone();
        let via = self.via(&peer);
        let leg = self.legs.get_mut(&call)?;
        let dialog = leg.dialog.as_mut()?;
        let mut request = dialog.request(method, &via);
        for (name, value) in extra {
            request.headers.push(name.clone(), value.clone());
        }
        if let Some((content_type, text)) = body {
            request.headers.push(HeaderName::ContentType, content_type);
            request.body = text.into_bytes();
        }
        layer.send_request(now, request, peer).ok()
    }

    // ----- requests from far ends -----

    fn on_request(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: &Request,
        source: &Peer,
        lookup: Lookup<'_>,
    ) {
        let to_tag = request.headers.to().and_then(|t| t.tag().map(str::to_owned));
        let Some(to_tag) = to_tag else {
            if request.method == Method::Invite {
                return self.on_new_invite(now, layer, id, request, source, lookup);
            }
            let answer = request.response(StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.send_response(now, layer, id, answer);
        };
        let key = (request.headers.call_id().unwrap_or_default().to_owned(), to_tag);
        let call = self.dialogs.get(&key).copied();
        let Some(call) = call.filter(|c| self.legs.contains_key(c)) else {
            let answer = request.response(StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.send_response(now, layer, id, answer);
        };
        if let Err(status) = self.check_in_dialog(call, request) {
            let answer = request.response(status, None);
            return self.send_response(now, layer, id, answer);
        }
        match request.method {
            Method::Bye => self.on_bye(now, layer, call, id, request),
            Method::Invite => self.on_reinvite(now, layer, call, id, request),
            Method::Info => self.on_info(now, layer, call, id, request),
            Method::Refer => self.on_refer(now, layer, call, id, request),
            Method::Notify | Method::Options => {
                let answer = request.response(StatusCode::OK, None);
                self.send_response(now, layer, id, answer);
            }
            _ => {
                let mut answer = request.response(StatusCode::NOT_IMPLEMENTED, None);
                answer.headers.push(HeaderName::Allow, ALLOW);
                self.send_response(now, layer, id, answer);
            }
        }
    }

    /// RFC 3261 §12.2.2: CSeq order and target refresh, once the dialog exists. Before (a BYE on
    /// an early inbound leg) only the tags were checked.
    fn check_in_dialog(&mut self, call: CallRef, request: &Request) -> Result<(), StatusCode> {
        let Some(leg) = self.legs.get_mut(&call) else { return Err(StatusCode::CALL_DOES_NOT_EXIST) };
        match leg.dialog.as_mut() {
            Some(dialog) => {
                // The remote tag of a forked leg is the winner's: other branches find no dialog.
                if Dialog::id_of_received(request).is_some_and(|id| id.remote_tag != dialog.id.remote_tag) {
                    return Err(StatusCode::CALL_DOES_NOT_EXIST);
                }
                dialog.handle_remote_request(request).map_err(|e| e.status())
            }
            None if request.method == Method::Bye && leg.phase == Phase::Offered => Ok(()),
            None => Err(StatusCode::CALL_DOES_NOT_EXIST),
        }
    }

    fn on_new_invite(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: &Request,
        source: &Peer,
        lookup: Lookup<'_>,
    ) {
        self.counters.inbound_calls += 1;
        let refuse = |this: &mut Self, layer: &mut TransactionLayer, status: StatusCode| {
            let answer = request.response(status, Some(&format!("{:x}", this.fresh())));
            this.send_response(now, layer, id, answer);
        };
        if self.legs.len() >= self.config.max_calls {
            self.counters.rejected_over_limit += 1;
            return refuse(self, layer, StatusCode::SERVICE_UNAVAILABLE);
        }
        if request.headers.get(&HeaderName::Require).is_some() {
            let mut answer = request.response(StatusCode::new(420).unwrap_or(StatusCode::BAD_REQUEST), None);
            let required: Vec<&str> = request.headers.get_all(&HeaderName::Require).collect();
            answer.headers.push(HeaderName::Unsupported, required.join(", "));
            return self.send_response(now, layer, id, answer);
        }
        let has_contact = request.headers.contacts().is_some_and(|c| !c.is_empty());
        if !has_contact || request.headers.from().is_none() {
            return refuse(self, layer, StatusCode::BAD_REQUEST);
        }
        let offer = match self.read_offer(request) {
            Ok(offer) => offer,
            Err(status) => {
                self.counters.rejected_bad_sdp += 1;
                return refuse(self, layer, status);
            }
        };
        let replaces = match request.headers.get(&HeaderName::Replaces) {
            None => None,
            Some(value) => match self.find_replaced(value) {
                Some(call) => Some(call),
                None => return refuse(self, layer, StatusCode::CALL_DOES_NOT_EXIST),
            },
        };
        let dialled = dialled_number(&request.uri);
        let for_app = replaces.is_some() || self.config.entry_points.contains(&dialled);
        let contacts = if for_app { Vec::new() } else { lookup(&dialled) };
        if !for_app && contacts.is_empty() {
            // The same answer for every number we do not serve: nothing tells users apart.
            self.counters.rejected_not_found += 1;
            return refuse(self, layer, StatusCode::NOT_FOUND);
        }
        let call = CallRef(self.next_inbound);
        self.next_inbound += 1;
        let leg = self.new_inbound_leg(id, request, source, replaces);
        self.dialogs.insert((leg.call_id.clone(), leg.local_tag.clone()), call);
        self.legs.insert(call, leg);
        self.server_invites.insert(id, call);
        let unanswered = now.plus(DurationMs::from_ms(self.config.max_unanswered_ms));
        self.set_deadline(call, Some(unanswered));
        if !for_app && self.config.direct_dial {
            return self.direct_dial(now, layer, call, request, offer, contacts);
        }
        let caller = caller_of(request);
        let extra_headers = request
            .headers
            .iter()
            .filter(|h| matches!(h.name, HeaderName::Other(_)))
            .map(|h| (h.name.as_str().to_owned(), h.value.clone()))
            .collect();
        self.emit(CallEvent::Incoming { call, dialled, caller, offer, source: source.addr, replaces, extra_headers });
    }

    fn new_inbound_leg(
        &mut self,
        id: TransactionId,
        request: &Request,
        source: &Peer,
        replaces: Option<CallRef>,
    ) -> Leg {
        let call_id = request.headers.call_id().unwrap_or_default().to_owned();
        // In-dialog requests go where the INVITE came from (the NAT binding), not to its Contact.
        let mut leg = Leg::new(Phase::Offered, call_id, format!("{:x}", self.fresh()), source.clone());
        leg.invite = Some((id, request.clone()));
        leg.replaces = replaces;
        leg
    }

    /// The SDP body of a request: `Ok(None)` when there is none; 415 for another content type,
    /// 400 when it does not parse, 488 when no codec is common.
    fn read_offer(&self, request: &Request) -> Result<Option<SessionDescription>, StatusCode> {
        if request.body.is_empty() {
            return Ok(None);
        }
        let sdp = parse_sdp_body(request)?;
        let probe = LocalMedia {
            address: self.config.local.ip(),
            rtp_port: 9,
            direction: Direction::SendRecv,
            session_id: 0,
            session_version: 0,
        };
        answer_offer(&sdp, &probe, &self.config.audio).map_err(|e| e.status())?;
        Ok(Some(sdp))
    }

    /// RFC 3891: `Replaces: call-id;to-tag=..;from-tag=..` names one of our confirmed dialogs,
    /// seen from the sender: its to-tag is our tag.
    fn find_replaced(&self, value: &str) -> Option<CallRef> {
        let mut parts = value.split(';').map(str::trim);
        let call_id = parts.next()?.to_owned();
        let mut to_tag = None;
        let mut from_tag = None;
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("to-tag") => to_tag = Some(v),
                Some((k, v)) if k.eq_ignore_ascii_case("from-tag") => from_tag = Some(v),
                _ => {}
            }
        }
        let call = *self.dialogs.get(&(call_id, to_tag?.to_owned()))?;
        let leg = self.legs.get(&call)?;
        let dialog = leg.dialog.as_ref()?;
        (dialog.id.remote_tag == from_tag? && leg.phase == Phase::Confirmed).then_some(call)
    }

    fn direct_dial(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        inbound: CallRef,
        request: &Request,
        offer: Option<SessionDescription>,
        contacts: Vec<DialContact>,
    ) {
        let outbound = CallRef(self.next_inbound);
        self.next_inbound += 1;
        let caller = caller_of(request);
        let offer = match offer {
            Some(sdp) => match self.anchor.relay(inbound, outbound, &sdp) {
                Some(relayed) => Some(relayed),
                None => {
                    self.final_to_invite(now, layer, inbound, StatusCode::NOT_ACCEPTABLE_HERE);
                    return self.end(now, layer, inbound, false, EndReason::Local);
                }
            },
            None => None,
        };
        if let Some(leg) = self.legs.get_mut(&inbound) {
            leg.link = Some(outbound);
        }
        let dial = DialRequest {
            target: DialTarget::Extension(dialled_number(&request.uri)),
            caller_number: caller.number,
            caller_display: caller.display,
            extra_headers: Vec::new(),
            offer,
            ring_timeout_ms: self.config.direct_dial_ring_timeout_ms,
        };
        self.start_dial(now, layer, outbound, dial, contacts, Some(inbound), None);
    }

    fn on_ack(&mut self, now: Timestamp, layer: &mut TransactionLayer, request: &Request) {
        let Some(id) = Dialog::id_of_received(request) else { return };
        let Some(call) = self.dialogs.get(&(id.call_id, id.local_tag)).copied() else { return };
        let mut hung_up = None;
        if let Some(leg) = self.legs.get_mut(&call)
            && leg.phase == Phase::AwaitingAck
        {
            leg.phase = Phase::Confirmed;
            hung_up = leg.bye_on_ack.take();
        }
        if let Some(reason) = hung_up {
            self.bye(now, layer, call);
            self.end(now, layer, call, false, reason);
        }
    }

    fn on_cancelled(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef) {
        if self.legs.get(&call).is_some_and(|l| l.phase == Phase::Offered) {
            self.final_to_invite(now, layer, call, StatusCode::REQUEST_TERMINATED);
            self.end(now, layer, call, true, EndReason::Cancelled);
        }
    }

    fn on_bye(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        id: TransactionId,
        bye: &Request,
    ) {
        let answer = bye.response(StatusCode::OK, None);
        self.send_response(now, layer, id, answer);
        if self.legs.get(&call).is_some_and(|l| l.phase == Phase::Offered) {
            self.final_to_invite(now, layer, call, StatusCode::REQUEST_TERMINATED);
        }
        self.end(now, layer, call, true, EndReason::Bye);
    }

    fn on_reinvite(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        id: TransactionId,
        request: &Request,
    ) {
        let Some(leg) = self.legs.get(&call) else { return };
        let busy = if leg.our_reinvite.is_some() {
            Some(StatusCode::new(491).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR))
        } else if leg.pending_reinvite.is_some() || !matches!(leg.phase, Phase::Confirmed | Phase::AwaitingAck) {
            Some(StatusCode::SERVER_INTERNAL_ERROR)
        } else {
            None
        };
        if let Some(status) = busy {
            let mut answer = request.response(status, None);
            answer.headers.push(HeaderName::RetryAfter, "1");
            return self.send_response(now, layer, id, answer);
        }
        let offer = match parse_sdp_body(request) {
            Ok(sdp) => sdp,
            Err(status) => {
                let answer = request.response(status, None);
                return self.send_response(now, layer, id, answer);
            }
        };
        let link = leg.link;
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.pending_reinvite = Some((id, request.clone()));
        }
        let held = is_hold(&offer);
        self.emit(CallEvent::Hold { call, held, offer: offer.clone() });
        let Some(other) = link else { return };
        let relayed = self.anchor.relay(call, other, &offer);
        let forwarded = relayed.is_some_and(|sdp| self.reinvite(now, layer, other, &sdp, Some(call)));
        if !forwarded {
            self.answer_reinvite(now, layer, call, StatusCode::new(491).unwrap_or(StatusCode::BAD_REQUEST), None);
        }
    }

    fn on_info(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        id: TransactionId,
        info: &Request,
    ) {
        let content_type = info.headers.get(&HeaderName::ContentType).unwrap_or_default().to_ascii_lowercase();
        let body = String::from_utf8_lossy(&info.body);
        let dtmf = if content_type.starts_with("application/dtmf-relay") {
            dtmf_relay(&body)
        } else if content_type.starts_with("application/dtmf") {
            body.trim().chars().next().filter(|c| is_dtmf_key(*c)).map(|k| (k, 250))
        } else {
            None
        };
        let status = match dtmf {
            Some(_) => StatusCode::OK,
            None if info.body.is_empty() => StatusCode::OK,
            None => StatusCode::new(415).unwrap_or(StatusCode::BAD_REQUEST),
        };
        let answer = info.response(status, None);
        self.send_response(now, layer, id, answer);
        if let Some((key, duration_ms)) = dtmf {
            self.emit(CallEvent::Dtmf { call, key, duration_ms });
        }
    }

    fn on_refer(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        id: TransactionId,
        refer: &Request,
    ) {
        let refer_to = refer.headers.get(&HeaderName::ReferTo).and_then(NameAddr::parse);
        let Some(refer_to) = refer_to else {
            let answer = refer.response(StatusCode::BAD_REQUEST, None);
            return self.send_response(now, layer, id, answer);
        };
        let replaces = refer_to
            .uri
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Replaces"))
            .and_then(|(_, v)| self.find_replaced(&percent_decode(v)));
        let mut target_uri = refer_to.uri.clone();
        target_uri.headers.clear();
        let referred_by = refer.headers.get(&HeaderName::ReferredBy).map(str::to_owned);
        let accepted = refer.response(StatusCode::new(202).unwrap_or(StatusCode::OK), None);
        self.send_response(now, layer, id, accepted);
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.refer_active = true;
        }
        self.emit(CallEvent::Refer { call, target: target_uri.to_string(), replaces, referred_by });
        self.refer_progress(now, layer, call, StatusCode::TRYING);
    }

    // ----- responses to our requests -----

    fn on_response(&mut self, now: Timestamp, layer: &mut TransactionLayer, id: TransactionId, response: &Response) {
        match self.client.get(&id) {
            Some(Role::Fork { call, .. }) => {
                let call = *call;
                self.on_fork_response(now, layer, id, call, response);
            }
            Some(Role::Reinvite { call, .. }) => {
                let call = *call;
                self.on_reinvite_response(now, layer, id, call, response);
            }
            Some(Role::Fire) | None => {}
        }
    }

    fn on_fork_response(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        call: CallRef,
        response: &Response,
    ) {
        let status = response.status.as_u16();
        let dialling = self.legs.get(&call).is_some_and(|l| l.phase == Phase::Dialling && l.forks.contains(&id));
        if response.status.is_success() {
            return if dialling {
                self.fork_answered(now, layer, id, call, response)
            } else {
                self.late_2xx(now, layer, id, call, response)
            };
        }
        if !dialling || status == 100 {
            return;
        }
        if response.status.is_provisional() {
            return self.fork_ringing(now, layer, call, response);
        }
        if matches!(status, 401 | 407) && self.answer_challenge(now, layer, id, call, response) {
            return;
        }
        let Some(leg) = self.legs.get_mut(&call) else { return };
        leg.forks.retain(|f| *f != id);
        let better = leg.best_failure.as_ref().is_none_or(|(best, _)| rank(status) < rank(*best));
        if better {
            leg.best_failure = Some((status, response.reason.clone()));
        }
        if leg.forks.is_empty() {
            let (status, reason) = leg.best_failure.clone().unwrap_or((status, response.reason.clone()));
            self.fail(now, layer, call, status, &reason);
        }
    }

    /// A trunk's provider challenged our INVITE (401/407): the same INVITE again (same Call-ID
    /// and tags, next CSeq, new branch; the transaction layer already ACKed the challenge) with
    /// Authorization or Proxy-Authorization. Once per challenge: a second challenge right after
    /// our credentials means they were refused, unless it says `stale=true` (answered once
    /// more). False when it was not answered (the fork then fails with the challenge's status).
    fn answer_challenge(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        call: CallRef,
        response: &Response,
    ) -> bool {
        const MAX_AUTH_ROUNDS: u8 = 2;
        let Some(trunk) = self.legs.get(&call).and_then(|l| l.trunk).and_then(|t| self.config.trunks.get(t)) else {
            return false;
        };
        let (username, password) = (trunk.username.clone(), trunk.password.clone());
        let proxy = response.status.as_u16() == 407;
        let header = if proxy { HeaderName::ProxyAuthenticate } else { HeaderName::WwwAuthenticate };
        let offered: Vec<Challenge> = response
            .headers
            .get_all(&header)
            .filter_map(Challenge::parse)
            .filter(|c| trunk.answers_realm(&c.realm))
            .collect();
        let Some(challenge) = pick_challenge(&offered).cloned() else { return false };
        let Some(Role::Fork { request, peer, auth_rounds, .. }) = self.client.get(&id) else { return false };
        let rounds = *auth_rounds;
        if !(rounds == 0 || (challenge.stale && rounds < MAX_AUTH_ROUNDS)) {
            return false;
        }
        let (mut invite, peer) = (request.clone(), peer.clone());
        let seq = invite.headers.cseq().map_or(1, |c| c.seq).saturating_add(1);
        let via = self.via(&peer);
        invite.headers.set(HeaderName::Via, via.to_string());
        invite.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
        invite.headers.remove(&HeaderName::Authorization);
        invite.headers.remove(&HeaderName::ProxyAuthorization);
        let cnonce = format!("{:016x}", self.fresh());
        let uri = invite.uri.to_string();
        let creds = respond(&challenge, &username, &password, &Method::Invite, &uri, &cnonce, 1);
        let name = if proxy { HeaderName::ProxyAuthorization } else { HeaderName::Authorization };
        invite.headers.push(name, creds.to_string());
        let Ok(tx) = layer.send_request(now, invite.clone(), peer.clone()) else { return false };
        self.client.insert(tx, Role::Fork { call, request: invite, peer, auth_rounds: rounds + 1 });
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.forks.retain(|f| *f != id);
            leg.forks.push(tx);
        }
        self.counters.trunk_challenges_answered += 1;
        true
    }

    fn fork_ringing(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, response: &Response) {
        let early_sdp = parse_sdp_body_of(response);
        let Some(leg) = self.legs.get_mut(&call) else { return };
        let new_sdp = early_sdp.is_some() && !leg.early_sdp_reported;
        if leg.ringing_reported && !new_sdp {
            return;
        }
        leg.ringing_reported = true;
        leg.early_sdp_reported |= early_sdp.is_some();
        let link = leg.link;
        self.emit(CallEvent::Ringing { call, early_sdp: early_sdp.clone() });
        if let Some(other) = link {
            let relayed = early_sdp.and_then(|sdp| self.anchor.relay(call, other, &sdp));
            self.ring(now, layer, other, relayed);
        }
    }

    fn fork_answered(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        call: CallRef,
        response: &Response,
    ) {
        let Some(Role::Fork { request, peer, .. }) = self.client.get(&id) else { return };
        let (request, peer) = (request.clone(), peer.clone());
        let Ok(dialog) = Dialog::new_uac(&request, response) else {
            return self.late_2xx(now, layer, id, call, response);
        };
        let via = self.via(&peer);
        let ack = dialog.ack(request.headers.cseq().map_or(1, |c| c.seq), &via);
        layer.send_ack(&ack, peer.clone());
        let sdp = parse_sdp_body_of(response);
        let others: Vec<TransactionId> = match self.legs.get_mut(&call) {
            Some(leg) => {
                leg.phase = Phase::Confirmed;
                leg.dialog = Some(dialog);
                leg.peer = peer;
                leg.ack = Some(ack);
                std::mem::take(&mut leg.forks).into_iter().filter(|f| *f != id).collect()
            }
            None => Vec::new(),
        };
        for fork in others {
            let _ = layer.send_cancel(now, fork);
        }
        self.set_deadline(call, None);
        self.counters.answered += 1;
        let link = self.legs.get(&call).and_then(|l| l.link);
        self.emit(CallEvent::Answered { call, sdp: sdp.clone() });
        if let Some(other) = link {
            let relayed = sdp.as_ref().and_then(|s| self.anchor.relay(call, other, s));
            match relayed {
                Some(answer) => {
                    self.answer(now, layer, other, answer);
                }
                None => {
                    self.hangup(now, layer, call, EndReason::Local);
                }
            }
        }
    }

    /// A 2xx that does not answer a dialling leg: the retransmission of the winner's (ACK it
    /// again), or another fork's late answer, or one for a leg already gone (ACK, then BYE).
    fn late_2xx(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        call: CallRef,
        response: &Response,
    ) {
        let remote_tag = response.headers.to().and_then(|t| t.tag().map(str::to_owned)).unwrap_or_default();
        if let Some(leg) = self.legs.get(&call)
            && let (Some(dialog), Some(ack)) = (&leg.dialog, &leg.ack)
            && dialog.id.remote_tag == remote_tag
        {
            layer.send_ack(ack, leg.peer.clone());
            return;
        }
        let Some(Role::Fork { request, peer, .. }) = self.client.get(&id) else { return };
        let (request, peer) = (request.clone(), peer.clone());
        let Ok(mut dialog) = Dialog::new_uac(&request, response) else { return };
        let via = self.via(&peer);
        layer.send_ack(&dialog.ack(request.headers.cseq().map_or(1, |c| c.seq), &via), peer.clone());
        let via = self.via(&peer);
        let bye = dialog.request(Method::Bye, &via);
        if let Ok(tx) = layer.send_request(now, bye, peer) {
            self.client.insert(tx, Role::Fire);
        }
    }

    fn on_reinvite_response(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        id: TransactionId,
        call: CallRef,
        response: &Response,
    ) {
        if response.status.is_provisional() {
            return;
        }
        let sdp = parse_sdp_body_of(response);
        if response.status.is_success() {
            let already = match self.client.get(&id) {
                Some(Role::Reinvite { ack: Some(ack), .. }) => Some(ack.clone()),
                _ => None,
            };
            let peer = self.legs.get(&call).map(|l| l.peer.clone());
            if let (Some(ack), Some(peer)) = (already, peer.clone()) {
                return layer.send_ack(&ack, peer);
            }
            let seq = self.legs.get(&call).and_then(|l| l.dialog.as_ref()).map(|d| d.local_seq);
            if let (Some(seq), Some(peer)) = (seq, peer) {
                let via = self.via(&peer);
                if let Some(dialog) = self.legs.get(&call).and_then(|l| l.dialog.as_ref()) {
                    let ack = dialog.ack(seq, &via);
                    layer.send_ack(&ack, peer);
                    if let Some(Role::Reinvite { ack: slot, .. }) = self.client.get_mut(&id) {
                        *slot = Some(ack);
                    }
                }
            }
        }
        let Some(ours) = self.legs.get_mut(&call).and_then(|l| l.our_reinvite.take_if(|r| r.tx == id)) else {
            return;
        };
        let status = response.status.as_u16();
        self.emit(CallEvent::Reinvited { call, status, sdp: sdp.clone() });
        if let Some(first) = ours.forwarded_for {
            let relayed = sdp.and_then(|s| self.anchor.relay(call, first, &s));
            let status = if response.status.is_success() && relayed.is_none() {
                StatusCode::NOT_ACCEPTABLE_HERE
            } else {
                response.status
            };
            self.answer_reinvite(now, layer, first, status, relayed);
        }
    }

    /// A transaction of ours timed out or could not be sent; or our 2xx was never ACKed.
    fn on_failure(&mut self, now: Timestamp, layer: &mut TransactionLayer, id: TransactionId) -> bool {
        if let Some(call) = self.server_invites.get(&id).copied() {
            if let Some(leg) = self.legs.get(&call).filter(|l| l.phase == Phase::AwaitingAck) {
                let hung_up = leg.bye_on_ack;
                self.bye(now, layer, call);
                match hung_up {
                    Some(reason) => self.end(now, layer, call, false, reason),
                    None => self.end(now, layer, call, true, EndReason::NoAck),
                }
            }
            return true;
        }
        let status = StatusCode::REQUEST_TIMEOUT;
        match self.client.get(&id) {
            Some(Role::Fork { call, .. }) => {
                let call = *call;
                let mut timeout = Response {
                    status,
                    reason: status.default_reason().to_owned(),
                    headers: crate::message::Headers::new(),
                    body: Vec::new(),
                };
                timeout.reason = "no answer from the contact".into();
                self.on_fork_response(now, layer, id, call, &timeout);
                true
            }
            Some(Role::Reinvite { call, .. }) => {
                let call = *call;
                self.end(now, layer, call, true, EndReason::Unreachable);
                true
            }
            Some(Role::Fire) => true,
            None => false,
        }
    }

    /// A 2xx for an INVITE whose transaction is gone: ACK it again if it is a leg's.
    fn on_stray(&mut self, layer: &mut TransactionLayer, response: &Response) -> bool {
        let is_invite_2xx =
            response.status.is_success() && response.headers.cseq().is_some_and(|c| c.method == Method::Invite);
        if !is_invite_2xx {
            return false;
        }
        let key = (
            response.headers.call_id().unwrap_or_default().to_owned(),
            response.headers.from().and_then(|f| f.tag().map(str::to_owned)).unwrap_or_default(),
        );
        let Some(leg) = self.dialogs.get(&key).and_then(|c| self.legs.get(c)) else { return false };
        if let Some(ack) = &leg.ack {
            layer.send_ack(ack, leg.peer.clone());
        }
        true
    }

    // ----- commands -----

    fn ring(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        early: Option<SessionDescription>,
    ) -> bool {
        let Some(leg) = self.legs.get(&call).filter(|l| l.phase == Phase::Offered) else { return false };
        let Some((tx, invite)) = leg.invite.clone() else { return false };
        let status = if early.is_some() { StatusCode::SESSION_PROGRESS } else { StatusCode::RINGING };
        let mut response = invite.response(status, Some(&leg.local_tag));
        response.headers.push(HeaderName::Contact, self.contact(&leg.peer).to_string());
        if let Some(sdp) = early {
            response.headers.push(HeaderName::ContentType, SDP);
            response.body = sdp.to_string().into_bytes();
        }
        self.send_response(now, layer, tx, response);
        true
    }

    fn answer(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, sdp: SessionDescription) -> bool {
        let Some(leg) = self.legs.get(&call) else { return false };
        if leg.pending_reinvite.is_some() {
            return self.answer_reinvite(now, layer, call, StatusCode::OK, Some(sdp));
        }
        if leg.phase != Phase::Offered {
            return false;
        }
        let Some((tx, invite)) = leg.invite.clone() else { return false };
        let mut response = invite.response(StatusCode::OK, Some(&leg.local_tag));
        response.headers.push(HeaderName::Contact, self.contact(&leg.peer).to_string());
        response.headers.push(HeaderName::Allow, ALLOW);
        response.headers.push(HeaderName::ContentType, SDP);
        response.body = sdp.to_string().into_bytes();
        let Ok(dialog) = Dialog::new_uas(&invite, &response) else {
            self.final_to_invite(now, layer, call, StatusCode::BAD_REQUEST);
            self.end(now, layer, call, false, EndReason::Local);
            return true;
        };
        self.send_response(now, layer, tx, response);
        let replaces = match self.legs.get_mut(&call) {
            Some(leg) => {
                leg.phase = Phase::AwaitingAck;
                leg.dialog = Some(dialog);
                leg.replaces.take()
            }
            None => None,
        };
        self.set_deadline(call, None);
        self.counters.answered += 1;
        if let Some(old) = replaces {
            self.bye(now, layer, old);
            self.end(now, layer, old, false, EndReason::Replaced);
        }
        true
    }

    /// Answers the leg's pending re-INVITE (200 with `sdp`, or an error).
    fn answer_reinvite(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        status: StatusCode,
        sdp: Option<SessionDescription>,
    ) -> bool {
        let Some(leg) = self.legs.get_mut(&call) else { return false };
        let Some((tx, request)) = leg.pending_reinvite.take() else { return false };
        let peer = leg.peer.clone();
        let mut response = request.response(status, None);
        if status.is_success() {
            response.headers.push(HeaderName::Contact, self.contact(&peer).to_string());
            if let Some(sdp) = sdp {
                response.headers.push(HeaderName::ContentType, SDP);
                response.body = sdp.to_string().into_bytes();
            }
        }
        self.send_response(now, layer, tx, response);
        true
    }

    fn reject(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, status: StatusCode) -> bool {
        let status = if status.as_u16() < 300 { StatusCode::SERVER_INTERNAL_ERROR } else { status };
        let Some(leg) = self.legs.get(&call) else { return false };
        if leg.pending_reinvite.is_some() {
            return self.answer_reinvite(now, layer, call, status, None);
        }
        if leg.phase != Phase::Offered {
            return false;
        }
        self.final_to_invite(now, layer, call, status);
        self.end(now, layer, call, false, EndReason::Local);
        true
    }

    fn dial(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        request: DialRequest,
        lookup: Lookup<'_>,
    ) -> bool {
        if self.legs.contains_key(&call) || call < CallRef::FIRST_DIALLED {
            return false;
        }
        let (contacts, trunk) = match &request.target {
            DialTarget::Extension(ext) => (lookup(ext), None),
            DialTarget::Uri(uri) => (contact_of_uri(uri).into_iter().collect(), None),
            DialTarget::Number(number) => match self.trunk_contact(number) {
                Ok((contact, trunk)) => (vec![contact], Some(trunk)),
                Err((status, reason)) => {
                    self.counters.outbound_legs += 1;
                    self.counters.trunk_dials_refused += 1;
                    self.emit(CallEvent::Failed { call, status, reason });
                    return true;
                }
            },
        };
        self.start_dial(now, layer, call, request, contacts, None, trunk);
        true
    }

    /// Where a number goes out: the Request-URI at the trunk's provider, and the trunk. Refused
    /// with the status and reason for `Failed` when no trunk can take it.
    fn trunk_contact(&self, number: &str) -> Result<(DialContact, usize), (u16, String)> {
        let route = self.config.trunks.route(number).map_err(|e| (e.status(), e.to_string()))?;
        let trunk = self.config.trunks.get(route.trunk).ok_or((500, "trunk table changed".to_owned()))?;
        if self.trunk_calls.get(route.trunk).copied().unwrap_or(0) >= trunk.max_calls {
            let reason = format!("trunk {} is at its max_calls ({})", trunk.name, trunk.max_calls);
            return Err((503, reason));
        }
        let host = host_of(trunk.address.ip());
        let uri = Uri::sip(Some(&route.dialled), host, Some(trunk.address.port()));
        Ok((DialContact { uri, destination: Peer::udp(trunk.address) }, route.trunk))
    }

    #[allow(clippy::too_many_arguments)] // the leg's whole description, used once per dial
    fn start_dial(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        request: DialRequest,
        contacts: Vec<DialContact>,
        link: Option<CallRef>,
        trunk: Option<usize>,
    ) {
        self.counters.outbound_legs += 1;
        let call_id = format!("{:016x}@hotline", self.fresh());
        let from_tag = format!("{:x}", self.fresh());
        let peer = contacts.first().map_or_else(|| Peer::udp(self.config.local), |c| c.destination.clone());
        let mut leg = self.new_outbound_leg(call_id.clone(), from_tag.clone(), peer);
        leg.link = link;
        leg.trunk = trunk;
        if let Some(count) = trunk.and_then(|t| self.trunk_calls.get_mut(t)) {
            *count += 1;
        }
        self.dialogs.insert((call_id.clone(), from_tag.clone()), call);
        self.legs.insert(call, leg);
        if self.legs.len() > self.config.max_calls {
            self.counters.rejected_over_limit += 1;
            return self.fail(now, layer, call, 503, "too many calls");
        }
        if contacts.is_empty() {
            return self.fail(now, layer, call, 480, "no registered contact");
        }
        for contact in contacts.into_iter().take(self.config.max_forks) {
            let invite = self.build_invite(&request, &contact, &call_id, &from_tag, trunk);
            if let Ok(tx) = layer.send_request(now, invite.clone(), contact.destination.clone()) {
                let role = Role::Fork { call, request: invite, peer: contact.destination, auth_rounds: 0 };
                self.client.insert(tx, role);
                if let Some(leg) = self.legs.get_mut(&call) {
                    leg.forks.push(tx);
                }
            }
        }
        if self.legs.get(&call).is_some_and(|l| l.forks.is_empty()) {
            return self.fail(now, layer, call, 503, "could not send");
        }
        let ring_ms = request.ring_timeout_ms.min(self.config.max_ring_timeout_ms);
        self.set_deadline(call, Some(now.plus(DurationMs::from_ms(ring_ms))));
    }

    fn new_outbound_leg(&self, call_id: String, local_tag: String, peer: Peer) -> Leg {
        Leg::new(Phase::Dialling, call_id, local_tag, peer)
    }

    fn build_invite(
        &mut self,
        dial: &DialRequest,
        contact: &DialContact,
        call_id: &str,
        from_tag: &str,
        trunk: Option<usize>,
    ) -> Request {
        let mut via = self.via(&contact.destination);
        let mut our_contact = self.contact(&contact.destination);
        let host = self.local_host();
        let mut invite = Request::new(Method::Invite, contact.uri.clone());
        // Out of a trunk, the caller is the trunk's number at the provider's domain.
        let trunk = trunk.and_then(|t| self.config.trunks.get(t));
        if let Some(local) = trunk.and_then(|t| t.local) {
            via.host = host_of(local.ip());
            via.port = Some(local.port());
            our_contact.uri.host = host_of(local.ip());
            our_contact.uri.port = Some(local.port());
        }
        let caller_number =
            trunk.map(|t| t.caller_id.as_str()).filter(|c| !c.is_empty()).unwrap_or(&dial.caller_number);
        let caller_host = trunk.map_or_else(|| host.clone(), |t| host_of(t.address.ip()));
        let caller_uri = Uri::sip(Some(caller_number), caller_host, None);
        let mut from = NameAddr::new(caller_uri.clone());
        from.display_name = dial.caller_display.clone();
        let mut asserted = from.clone();
        from.set_tag(from_tag);
        let to = match &dial.target {
            DialTarget::Extension(ext) => NameAddr::new(Uri::sip(Some(ext), host, None)),
            DialTarget::Uri(uri) => NameAddr::new(uri.clone()),
            DialTarget::Number(_) => NameAddr::new(contact.uri.clone()),
        };
        asserted.params = crate::message::Params::new();
        let h = &mut invite.headers;
        h.push(HeaderName::Via, via.to_string());
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, from.to_string());
        h.push(HeaderName::To, to.to_string());
        h.push(HeaderName::CallId, call_id);
        h.push(HeaderName::CSeq, "1 INVITE");
        h.push(HeaderName::Contact, our_contact.to_string());
        h.push(HeaderName::PAssertedIdentity, asserted.to_string());
        h.push(HeaderName::Allow, ALLOW);
        for (name, value) in &dial.extra_headers {
            let name = HeaderName::parse(name);
            let reserved = !matches!(name, HeaderName::Other(_)) || value.contains(['\r', '\n']);
            if !reserved {
                h.push(name, value.clone());
            }
        }
        if let Some(sdp) = &dial.offer {
            h.push(HeaderName::ContentType, SDP);
            invite.body = sdp.to_string().into_bytes();
        }
        invite
    }

    /// Ends a leg from our side: 480 while ringing in, CANCEL while dialling, BYE once answered.
    fn hangup(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, reason: EndReason) -> bool {
        let Some(phase) = self.legs.get(&call).map(|l| l.phase) else { return false };
        match phase {
            Phase::Offered => {
                self.final_to_invite(now, layer, call, StatusCode::TEMPORARILY_UNAVAILABLE);
                self.end(now, layer, call, false, reason);
            }
            Phase::Dialling => {
                self.cancel_forks(now, layer, call);
                self.fail(now, layer, call, 487, "cancelled");
            }
            Phase::AwaitingAck => {
                if let Some(leg) = self.legs.get_mut(&call) {
                    leg.bye_on_ack.get_or_insert(reason);
                }
            }
            Phase::Confirmed => {
                self.bye(now, layer, call);
                self.end(now, layer, call, false, reason);
            }
        }
        true
    }

    fn reinvite(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        sdp: &SessionDescription,
        forwarded_for: Option<CallRef>,
    ) -> bool {
        let ready = self.legs.get(&call).is_some_and(|l| {
            matches!(l.phase, Phase::Confirmed | Phase::AwaitingAck)
                && l.our_reinvite.is_none()
                && l.pending_reinvite.is_none()
        });
        if !ready {
            return false;
        }
        let Some(tx) = self.send_in_dialog(now, layer, call, Method::Invite, Some((SDP, sdp.to_string())), &[]) else {
            return false;
        };
        self.client.insert(tx, Role::Reinvite { call, ack: None });
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.our_reinvite = Some(OurReinvite { tx, forwarded_for });
        }
        true
    }

    fn refer_progress(
        &mut self,
        now: Timestamp,
        layer: &mut TransactionLayer,
        call: CallRef,
        status: StatusCode,
    ) -> bool {
        if !self.legs.get(&call).is_some_and(|l| l.refer_active) {
            return false;
        }
        let final_status = status.as_u16() >= 200;
        let state = if final_status { "terminated;reason=noresource" } else { "active;expires=60" };
        let extra = [
            (HeaderName::Event, "refer".to_owned()),
            (HeaderName::Other("Subscription-State".into()), state.to_owned()),
        ];
        let body = format!("SIP/2.0 {} {}\r\n", status, status.default_reason());
        let tx =
            self.send_in_dialog(now, layer, call, Method::Notify, Some(("message/sipfrag;version=2.0", body)), &extra);
        if let Some(tx) = tx {
            self.client.insert(tx, Role::Fire);
        }
        if final_status && let Some(leg) = self.legs.get_mut(&call) {
            leg.refer_active = false;
        }
        true
    }

    fn link(&mut self, a: CallRef, b: CallRef) -> bool {
        let free = |l: &Leg| l.link.is_none();
        if a == b || !self.legs.get(&a).is_some_and(free) || !self.legs.get(&b).is_some_and(free) {
            return false;
        }
        for (x, y) in [(a, b), (b, a)] {
            if let Some(leg) = self.legs.get_mut(&x) {
                leg.link = Some(y);
            }
        }
        true
    }

    // ----- endings -----

    fn final_to_invite(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, status: StatusCode) {
        let Some(leg) = self.legs.get(&call) else { return };
        let Some((tx, invite)) = &leg.invite else { return };
        let response = invite.response(status, Some(&leg.local_tag));
        let tx = *tx;
        self.send_response(now, layer, tx, response);
    }

    fn bye(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef) {
        if let Some(tx) = self.send_in_dialog(now, layer, call, Method::Bye, None, &[]) {
            self.client.insert(tx, Role::Fire);
        }
    }

    fn cancel_forks(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef) {
        let forks = self.legs.get_mut(&call).map(|l| std::mem::take(&mut l.forks)).unwrap_or_default();
        for fork in forks {
            let _ = layer.send_cancel(now, fork);
        }
    }

    /// An outbound leg that was never answered is over.
    fn fail(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, status: u16, reason: &str) {
        let Some(link) = self.remove(call) else { return };
        self.emit(CallEvent::Failed { call, status, reason: reason.to_owned() });
        if let Some(other) = link {
            self.anchor.unlinked(call, other);
            self.end_linked(now, layer, other, Some(status));
        }
    }

    /// A leg is over: the event, then the linked leg follows.
    fn end(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, by_remote: bool, reason: EndReason) {
        let Some(link) = self.remove(call) else { return };
        self.emit(CallEvent::Ended { call, by_remote, reason });
        if let Some(other) = link {
            self.anchor.unlinked(call, other);
            self.end_linked(now, layer, other, None);
        }
    }

    /// Ends the leg linked to one that ended. An inbound leg still ringing gets the failed
    /// leg's status when it is a rejection the caller can use (486, 603...), else 480.
    fn end_linked(&mut self, now: Timestamp, layer: &mut TransactionLayer, call: CallRef, failed: Option<u16>) {
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.link = None;
        }
        let Some(phase) = self.legs.get(&call).map(|l| l.phase) else { return };
        if phase == Phase::Offered {
            let status = failed
                .filter(|s| matches!(s, 486 | 600 | 603 | 404 | 488))
                .and_then(StatusCode::new)
                .unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE);
            self.final_to_invite(now, layer, call, status);
            return self.end(now, layer, call, false, EndReason::LinkedLegEnded);
        }
        if phase == Phase::Dialling {
            self.cancel_forks(now, layer, call);
            return self.fail(now, layer, call, 487, "linked leg ended");
        }
        self.bye(now, layer, call);
        self.end(now, layer, call, false, EndReason::LinkedLegEnded);
    }

    /// Forgets a leg; returns its link (`None` when the leg did not exist).
    fn remove(&mut self, call: CallRef) -> Option<Option<CallRef>> {
        self.set_deadline(call, None);
        let leg = self.legs.remove(&call)?;
        self.dialogs.remove(&(leg.call_id, leg.local_tag));
        if let Some(count) = leg.trunk.and_then(|t| self.trunk_calls.get_mut(t)) {
            *count = count.saturating_sub(1);
        }
        Some(leg.link)
    }
}

fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(a) => Host::V4(a),
        IpAddr::V6(a) => Host::V6(a),
    }
}

/// The user part of a Request-URI, without `;phone-context` style user parameters.
fn dialled_number(uri: &Uri) -> String {
    let user = uri.user.as_deref().unwrap_or_default();
    user.split(';').next().unwrap_or_default().to_owned()
}

fn caller_of(request: &Request) -> Caller {
    let from = request.headers.from();
    let asserted =
        request.headers.get(&HeaderName::PAssertedIdentity).and_then(NameAddr::parse).and_then(|a| a.uri.user.clone());
    Caller {
        number: from.as_ref().and_then(|f| f.uri.user.clone()).unwrap_or_default(),
        display: from.and_then(|f| f.display_name),
        asserted,
    }
}

fn parse_sdp_body(request: &Request) -> Result<SessionDescription, StatusCode> {
    let content_type = request.headers.get(&HeaderName::ContentType).unwrap_or_default();
    if !content_type.trim().to_ascii_lowercase().starts_with(SDP) {
        return Err(StatusCode::new(415).unwrap_or(StatusCode::BAD_REQUEST));
    }
    let text = std::str::from_utf8(&request.body).map_err(|_| StatusCode::BAD_REQUEST)?;
    SessionDescription::parse(text).map_err(|_| StatusCode::BAD_REQUEST)
}

fn parse_sdp_body_of(response: &Response) -> Option<SessionDescription> {
    if response.body.is_empty() {
        return None;
    }
    std::str::from_utf8(&response.body).ok().and_then(|t| SessionDescription::parse(t).ok())
}

/// An offer that puts us on hold: no stream we may send to (sendonly/inactive, RFC 3264 §8.4,
/// or c=0.0.0.0, RFC 2543).
fn is_hold(offer: &SessionDescription) -> bool {
    offer.media.iter().filter(|m| m.port != 0).all(|m| {
        let direction = offer.direction_of(m);
        let zero = offer.connection_of(m).and_then(|c| c.ip()).is_some_and(|ip| ip.is_unspecified());
        !direction.receives() || zero
    })
}

fn is_dtmf_key(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A' | 'B' | 'C' | 'D')
}

/// `Signal=5\r\nDuration=160` (application/dtmf-relay).
fn dtmf_relay(body: &str) -> Option<(char, u32)> {
    let mut key = None;
    let mut duration = 250;
    for line in body.lines() {
        let Some((k, v)) = line.split_once('=') else { continue };
        match k.trim().to_ascii_lowercase().as_str() {
            "signal" => key = v.trim().chars().next().map(|c| c.to_ascii_uppercase()).filter(|c| is_dtmf_key(*c)),
            "duration" => duration = v.trim().parse().unwrap_or(duration),
            _ => {}
        }
    }
    key.map(|k| (k, duration))
}

/// `%3B` → `;` and friends, for a Replaces header carried in a Refer-To URI. Bad escapes stay.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The one destination of a URI dial: an IP literal host (no DNS in the core), 5060 by default.
fn contact_of_uri(uri: &Uri) -> Option<DialContact> {
    let ip = match &uri.host {
        Host::V4(a) => IpAddr::V4(*a),
        Host::V6(a) => IpAddr::V6(*a),
        _ => return None,
    };
    let addr = SocketAddr::new(ip, uri.port.unwrap_or(5060));
    let tcp = uri.params.value("transport").is_some_and(|t| t.eq_ignore_ascii_case("tcp"));
    Some(DialContact { uri: uri.clone(), destination: if tcp { Peer::tcp(addr) } else { Peer::udp(addr) } })
}

/// RFC 3261 §16.7 in short: 6xx beats everything, then the lowest class; 487 and 408 last.
fn rank(status: u16) -> u16 {
    match status {
        600..=699 => 0,
        487 | 408 => 900,
        s => s,
    }
}

#[cfg(test)]
pub(super) fn dtmf_relay_for_tests(body: &str) -> Option<(char, u32)> {
    dtmf_relay(body)
}
