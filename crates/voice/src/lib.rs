//! # voice — the voice path of a contact
//!
//! Connects the shells into the spine of a phone contact: **SIP server → IVR → center (ACD) →
//! the agent's phone → bridge and recording → records**. It owns no protocol: SIP is
//! `sip-server`'s, RTP is `media-server`'s, the menu is `ivr`'s, routing is `center`'s; this
//! crate decides what to do with each call and keeps the store's record of it.
//!
//! ## One call
//! 1. `CallEvent::Incoming` for a number a flow serves (`4000` in the demo): the media server
//!    allocates the call's RTP ports, the caller's SDP offer is answered (G.711 µ/A-law,
//!    RFC 4733 events) and the call is answered; the caller's customer record is looked up by
//!    number; an `ivr::Session` starts.
//! 2. IVR actions run against the media server (prompts, with barge-in) and the store (customer
//!    and order lookups, the password-reset message). A flow that ends (hang-up) is recorded as a
//!    self-served contact.
//! 3. `Queue` hands the call to the center (`NewContact` with the IVR's path, digits, issue type
//!    and language); the caller hears music on hold, and position / expected-wait announcements
//!    when the center sends them.
//! 4. A voice offer rings the agent's registered phone (`DialTarget::Extension`, caller's number
//!    in From and P-Asserted-Identity, `X-Hotline-Queue` and `X-Hotline-Contact` headers, the
//!    offer's ring timeout). No answer or a rejection → `center.reject` (the ACD offers the next
//!    agent and counts the miss); a cancelled offer cancels the ringing leg.
//! 5. The agent answers: the agent leg's media is added, both sides are connected and recorded
//!    (stereo: customer left, agent right), `center.accept`. Re-INVITE hold from either phone is
//!    answered; the agent phone's hold plays the customer music on hold and is reported to the
//!    center like the desktop's hold button (`call_changed`). A REFER from the agent's phone
//!    transfers the caller (blind) to an extension's agent or to a queue.
//! 6. Either side hangs up: the other leg is ended, the media call is closed (recording
//!    finalised), its metadata (path, duration, size, SHA-256) is written as a `Recording`, and
//!    the contact is ended (`answered`), which starts the agent's wrap-up in the center. A caller
//!    who leaves while queued or ringing is `abandoned`.
//!
//! ## Callbacks
//! "Press 1 to be called back" (announced when the caller queues and with each position
//! announcement, when the `callback_offer` / `callback_confirmed` prompts exist): the contact
//! keeps its place (`center.choose_callback`), the caller hears the confirmation and the call
//! ends. The caller's number and the address their INVITE came from are kept with the contact
//! (bounded, `max_pending_callbacks`). When the center offers it (`OfferKind::Callback`), a
//! callback task rings the agent first; once the agent answers (`center.accept`) it dials the
//! customer at `sip:<number>@<that address>` (calls through a trunk will be dialled back
//! through the trunk instead), then bridges and records like an inbound call.
//!
//! ## Call controls
//! The center forwards the desktop's and the wallboard's controls of a connected call
//! (`center::CallControl`, taken with `take_call_controls`) to the call's task: hold (music on
//! hold to the customer, the agent muted), PCI recording pause (the recording gets silence, so
//! both channels keep the wall clock), consult (the customer held, the second agent's phone rung as
//! the media call's consult leg; complete transfers the contact in the center and makes that phone
//! the agent leg, the first agent's phone is hung up and they wrap up; cancel returns to the
//! customer) and monitoring (the supervisor's registered phone rung as the supervisor leg,
//! listening or whispering to the agent). Each control is answered once; each change goes back
//! to the center (`call_changed`), which records it on the contact and publishes it.
//!
//! ## Invariants
//! - Every call is one task; the dispatcher never awaits a call (bounded per-call queues,
//!   `max_queued_inputs_per_call`; a full queue drops the input and counts it).
//! - Every leg this crate opened is ended by it: when a call task ends, its agent leg and media
//!   call are released whatever path it took (hang-up, error, shutdown).
//! - Every call the IVR answered ends with exactly one contact in the store (self-served,
//!   queued → answered/abandoned/failed), with its recording when it was bridged.
//! - Calls beyond `max_calls` are rejected 503; an unusable offer 488; nothing panics on peer
//!   input.

pub mod bundled;
mod call;
mod callback;
mod pending;
pub mod prompts;
pub mod selfservice;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use center::{CenterHandle, Clock, OfferSignal};
use ivr::FlowRegistry;
use media_server::{CallId as MediaCallId, MediaServerHandle, ServerEvent};
use model::{Channel, ContactId, CountryCode, OrgId};
use sip::sdp::AudioPolicy;
use sip_server::{CallControl, CallEvent, CallEvents, CallRef};
use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use prompts::{Prompts, PromptsError};

/// Settings of the voice path. Every limit names its unit.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    pub org: OrgId,
    /// The address written into our SDP (where phones send RTP).
    pub advertise: IpAddr,
    pub audio: AudioPolicy,
    /// For caller numbers written without a country code.
    pub default_country: CountryCode,
    /// Customer calls carried at once; beyond it `Incoming` is rejected 503.
    pub max_calls: usize,
    /// Inputs (SIP, media, offers) waiting for one call's task.
    pub max_queued_inputs_per_call: usize,
    /// Longest a built-in lookup may take before the IVR hears "failed".
    pub lookup_timeout_ms: u64,
    /// After the agent hangs up, ask the caller for a 1–5 rating (CSAT) when the prompts exist.
    pub survey: bool,
    /// How long the caller has to press a rating key.
    pub survey_timeout_ms: u64,
    /// Longest voicemail recorded.
    pub max_voicemail_ms: u64,
    /// Callers waiting for a callback at once (each keeps its number and address here); beyond
    /// it "press 1" is ignored and counted (`callbacks_refused`).
    pub max_pending_callbacks: usize,
    /// How long the customer's phone rings when they are called back.
    pub callback_ring_timeout_ms: u64,
    /// Dials of the customer per callback (at least 1); after the last one that does not reach
    /// them (no answer, busy, declined, unreachable) the callback is recorded as failed.
    pub callback_max_attempts: u32,
    /// Pause between two dials of the same callback, in ms (the agent stays on the line).
    pub callback_retry_interval_ms: u64,
    /// Callbacks dial the caller's number out through the SIP trunks (`DialTarget::Number`: the
    /// trunk the number's prefix picks, in its number format, with its authentication) instead of
    /// back to the address the call came from. `hotline serve` sets it when trunks are configured.
    pub callback_via_trunk: bool,
    /// Limits of the IVR's HTTP lookups (answer bytes, fields, longest timeout).
    pub http_lookup: feeds::HttpLookupConfig,
    /// Offers (and announcements, refusals) held for contacts whose call has not registered them
    /// yet (the center can signal a contact before `submit` has returned its id to the call);
    /// beyond it such an offer is given back at once (`offers_without_call`).
    pub max_pending_offers: usize,
    /// How long such a signal waits for its call to register the contact; an offer is then given
    /// back, anything else dropped.
    pub pending_offer_ms: u64,
}

impl VoiceConfig {
    pub fn new(org: OrgId, advertise: IpAddr, default_country: CountryCode) -> Self {
        Self {
            org,
            advertise,
            audio: AudioPolicy::default(),
            default_country,
            max_calls: 1_000,
            max_queued_inputs_per_call: 256,
            lookup_timeout_ms: 3_000,
            survey: true,
            survey_timeout_ms: 8_000,
            max_voicemail_ms: 120_000,
            max_pending_callbacks: 10_000,
            callback_ring_timeout_ms: 30_000,
            callback_max_attempts: 3,
            callback_retry_interval_ms: 15_000,
            callback_via_trunk: false,
            http_lookup: feeds::HttpLookupConfig::default(),
            max_pending_offers: 1_000,
            pending_offer_ms: 500,
        }
    }
}

/// What the voice path counted.
#[derive(Debug, Default)]
pub struct Counters {
    pub calls_answered: AtomicU64,
    pub calls_rejected_busy: AtomicU64,
    pub calls_rejected_offer: AtomicU64,
    pub calls_unknown_number: AtomicU64,
    pub agent_legs_dialled: AtomicU64,
    pub agent_legs_answered: AtomicU64,
    pub recordings_stored: AtomicU64,
    pub inputs_dropped: AtomicU64,
    pub errors: AtomicU64,
    pub offers_without_call: AtomicU64,
    pub callbacks_chosen: AtomicU64,
    pub callbacks_refused: AtomicU64,
    pub callbacks_dialled: AtomicU64,
    pub callbacks_answered: AtomicU64,
    pub http_lookups: AtomicU64,
    pub http_lookups_failed: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub calls_answered: u64,
    pub calls_rejected_busy: u64,
    pub calls_rejected_offer: u64,
    pub calls_unknown_number: u64,
    pub agent_legs_dialled: u64,
    pub agent_legs_answered: u64,
    pub recordings_stored: u64,
    pub inputs_dropped: u64,
    pub errors: u64,
    pub offers_without_call: u64,
    pub callbacks_chosen: u64,
    pub callbacks_refused: u64,
    pub callbacks_dialled: u64,
    pub callbacks_answered: u64,
    pub http_lookups: u64,
    pub http_lookups_failed: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CountersSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountersSnapshot {
            calls_answered: g(&self.calls_answered),
            calls_rejected_busy: g(&self.calls_rejected_busy),
            calls_rejected_offer: g(&self.calls_rejected_offer),
            calls_unknown_number: g(&self.calls_unknown_number),
            agent_legs_dialled: g(&self.agent_legs_dialled),
            agent_legs_answered: g(&self.agent_legs_answered),
            recordings_stored: g(&self.recordings_stored),
            inputs_dropped: g(&self.inputs_dropped),
            errors: g(&self.errors),
            offers_without_call: g(&self.offers_without_call),
            callbacks_chosen: g(&self.callbacks_chosen),
            callbacks_refused: g(&self.callbacks_refused),
            callbacks_dialled: g(&self.callbacks_dialled),
            callbacks_answered: g(&self.callbacks_answered),
            http_lookups: g(&self.http_lookups),
            http_lookups_failed: g(&self.http_lookups_failed),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What one call's task receives.
#[derive(Debug)]
pub(crate) enum Input {
    Sip(Box<CallEvent>),
    Media(media_server::MediaEvent),
    Offer(OfferSignal),
    Control(center::CallControl),
}

type CallTx = mpsc::Sender<Input>;

/// Which call task each leg, media call and contact belongs to.
pub(crate) struct Routes {
    legs: HashMap<CallRef, CallTx>,
    media: HashMap<MediaCallId, CallTx>,
    contacts: HashMap<ContactId, CallTx>,
    /// Signals for contacts not registered yet; handed over by [`Ctx::route_contact`].
    pending: pending::PendingOffers,
    live_calls: usize,
}

impl Routes {
    fn new(config: &VoiceConfig) -> Self {
        Self {
            legs: HashMap::new(),
            media: HashMap::new(),
            contacts: HashMap::new(),
            pending: pending::PendingOffers::new(config.max_pending_offers, config.pending_offer_ms),
            live_calls: 0,
        }
    }

    /// Registers the call of `contact` and hands it the signals held for the contact; returns
    /// how many of them its full queue dropped.
    fn register_contact(&mut self, contact: ContactId, tx: &CallTx) -> u64 {
        self.contacts.insert(contact, tx.clone());
        let mut dropped = 0;
        for signal in self.pending.take(contact) {
            if tx.try_send(Input::Offer(signal)).is_err() {
                dropped += 1;
            }
        }
        dropped
    }
}

/// Everything a call task uses.
pub(crate) struct Ctx {
    pub config: VoiceConfig,
    pub calls: CallControl,
    pub media: MediaServerHandle,
    pub center: CenterHandle,
    pub flows: Arc<FlowRegistry>,
    pub prompts: Arc<Prompts>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub routes: Mutex<Routes>,
    pub counters: Arc<Counters>,
    /// Contacts waiting for a callback: who to dial and where (bounded by `max_pending_callbacks`).
    pub callbacks: Mutex<HashMap<ContactId, callback::CallbackInfo>>,
    /// Finished call and callback tasks report here, so the dispatcher forgets their routes.
    pub done: mpsc::UnboundedSender<call::Finished>,
    /// The client of the IVR's HTTP lookups.
    pub http: feeds::HttpLookup,
}

impl Ctx {
    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        // A poisoned lock only means a call task panicked mid-update; the maps stay usable.
        self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn callbacks(&self) -> std::sync::MutexGuard<'_, HashMap<ContactId, callback::CallbackInfo>> {
        self.callbacks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn route_leg(&self, leg: CallRef, tx: &CallTx) {
        self.routes().legs.insert(leg, tx.clone());
    }

    pub(crate) fn route_media(&self, call: MediaCallId, tx: &CallTx) {
        self.routes().media.insert(call, tx.clone());
    }

    /// Registers the call of `contact` and hands it the signals that came before (same lock, so
    /// no signal slips between the two).
    pub(crate) fn route_contact(&self, contact: ContactId, tx: &CallTx) {
        let dropped = self.routes().register_contact(contact, tx);
        self.counters.inputs_dropped.fetch_add(dropped, Ordering::Relaxed);
    }

    pub(crate) fn forget_leg(&self, leg: CallRef) {
        self.routes().legs.remove(&leg);
    }

    fn deliver(&self, tx: Option<CallTx>, input: Input) -> bool {
        let Some(tx) = tx else { return false };
        self.deliver_to(&tx, input);
        true
    }

    fn deliver_to(&self, tx: &CallTx, input: Input) {
        if tx.try_send(input).is_err() {
            bump(&self.counters.inputs_dropped);
        }
    }
}

/// Everything the voice path is connected to.
pub struct VoiceDeps {
    pub calls: CallControl,
    pub call_events: CallEvents,
    pub media: MediaServerHandle,
    pub media_events: mpsc::Receiver<ServerEvent>,
    pub center: CenterHandle,
    pub flows: Arc<FlowRegistry>,
    pub prompts: Arc<Prompts>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

/// A running voice path.
pub struct Voice {
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Voice {
    /// Takes the center's voice offers and starts the dispatcher. It runs until the SIP server's
    /// event stream ends (the server stopped) or [`Voice::stop`].
    pub async fn start(deps: VoiceDeps, config: VoiceConfig) -> Result<Voice, center::CenterError> {
        let offers = deps.center.take_offers(Channel::Voice).await?;
        let controls = deps.center.take_call_controls(Channel::Voice).await?;
        let counters = Arc::new(Counters::default());
        let http =
            feeds::HttpLookup::new(config.http_lookup).map_err(|e| center::CenterError::Invalid(e.to_string()))?;
        let (done, done_rx) = mpsc::unbounded_channel::<call::Finished>();
        let routes = Mutex::new(Routes::new(&config));
        let ctx = Arc::new(Ctx {
            config,
            calls: deps.calls,
            media: deps.media,
            center: deps.center,
            flows: deps.flows,
            prompts: deps.prompts,
            store: deps.store,
            clock: deps.clock,
            routes,
            counters: counters.clone(),
            callbacks: Mutex::new(HashMap::new()),
            done,
            http,
        });
        let task = tokio::spawn(dispatch(ctx, deps.call_events, deps.media_events, offers, controls, done_rx));
        Ok(Voice { counters, task })
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.counters.snapshot()
    }

    /// Stops taking events (calls in progress keep their tasks until they end).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn dispatch(
    ctx: Arc<Ctx>,
    mut call_events: CallEvents,
    mut media_events: mpsc::Receiver<ServerEvent>,
    mut offers: mpsc::Receiver<OfferSignal>,
    mut controls: mpsc::Receiver<center::CallControl>,
    mut done_rx: mpsc::UnboundedReceiver<call::Finished>,
) {
    loop {
        let offers_expire = ctx.routes().pending.next_deadline();
        tokio::select! {
            event = call_events.recv() => {
                let Some(event) = event else { break };
                if let CallEvent::Incoming { .. } = event {
                    call::spawn(ctx.clone(), event).await;
                } else {
                    let tx = ctx.routes().legs.get(&event.call()).cloned();
                    ctx.deliver(tx, Input::Sip(Box::new(event)));
                }
            }
            Some(event) = media_events.recv() => {
                let tx = ctx.routes().media.get(&event.call).cloned();
                ctx.deliver(tx, Input::Media(event.event));
            }
            Some(signal) = offers.recv() => on_offer_signal(&ctx, signal).await,
            _ = tokio::time::sleep_until(offers_expire.unwrap_or_else(tokio::time::Instant::now)),
                if offers_expire.is_some() => {
                let expired = ctx.routes().pending.expired(tokio::time::Instant::now());
                for signal in expired {
                    if let OfferSignal::Offer(offer) = signal {
                        give_back(&ctx, &offer).await;
                    }
                }
            }
            Some(control) = controls.recv() => {
                let tx = ctx.routes().contacts.get(&control.contact).cloned();
                match tx {
                    None => {
                        let contact = control.contact;
                        control.done(Err(center::CenterError::UnknownContact(contact)));
                    }
                    Some(tx) => {
                        if let Err(e) = tx.try_send(Input::Control(control)) {
                            bump(&ctx.counters.inputs_dropped);
                            let busy = center::CenterError::Busy(ctx.config.max_queued_inputs_per_call);
                            match e {
                                mpsc::error::TrySendError::Full(Input::Control(c))
                                | mpsc::error::TrySendError::Closed(Input::Control(c)) => c.done(Err(busy)),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Some(finished) = done_rx.recv() => {
                let mut routes = ctx.routes();
                for leg in finished.legs {
                    routes.legs.remove(&leg);
                }
                if let Some(m) = finished.media {
                    routes.media.remove(&m);
                }
                if let Some(c) = finished.contact {
                    routes.contacts.remove(&c);
                }
                routes.live_calls = routes.live_calls.saturating_sub(1);
            }
        }
    }
}

/// Hands a signal of the center to the call holding its contact. An offer for a contact no call
/// holds starts its callback; otherwise an offer, announcement or refusal waits
/// (`pending_offer_ms`) for its call to register the contact (the center answers `submit` and
/// signals the contact at once, the call registers it only when the answer arrives).
async fn on_offer_signal(ctx: &Arc<Ctx>, signal: OfferSignal) {
    let contact = match &signal {
        OfferSignal::Offer(o) => o.contact,
        OfferSignal::Cancel { contact, agent, .. } => {
            ctx.routes().pending.cancel(*contact, *agent);
            *contact
        }
        OfferSignal::Announce { contact, .. } | OfferSignal::Refused { contact, .. } => *contact,
    };
    let tx = ctx.routes().contacts.get(&contact).cloned();
    let signal = match tx {
        Some(tx) => return ctx.deliver_to(&tx, Input::Offer(signal)),
        None => signal,
    };
    match &signal {
        OfferSignal::Offer(offer) if callback::start(ctx, offer.clone()) => return,
        // A cancel with no offer held has nothing to stop; the signals of a contact waiting for
        // its callback are no call's.
        OfferSignal::Cancel { .. } => return,
        OfferSignal::Announce { .. } | OfferSignal::Refused { .. } if ctx.callbacks().contains_key(&contact) => {
            return;
        }
        _ => {}
    }
    let refused = {
        let mut routes = ctx.routes();
        // The call may have registered the contact since the first look.
        match routes.contacts.get(&contact).cloned() {
            Some(tx) => {
                drop(routes);
                return ctx.deliver_to(&tx, Input::Offer(signal));
            }
            None => routes.pending.hold(signal, tokio::time::Instant::now()),
        }
    };
    if let Err(OfferSignal::Offer(offer)) = refused {
        give_back(ctx, &offer).await;
    }
}

/// No call holds this offer's contact and it is no callback of ours (the call ended, the
/// callback's address was lost with a restart, or the call never registered it): give it back so
/// the ACD does not wait for the ring timeout.
async fn give_back(ctx: &Ctx, offer: &center::Offer) {
    bump(&ctx.counters.offers_without_call);
    let _ = ctx.center.reject(offer.agent, offer.contact).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_that_came_before_the_call_registered_its_contact_reaches_the_call() {
        let config =
            VoiceConfig::new(OrgId::from_u128(1), IpAddr::from([127, 0, 0, 1]), CountryCode::new(86).expect("cc"));
        let mut routes = Routes::new(&config);
        let contact = ContactId::from_u128(10);
        let offer = center::Offer {
            org: config.org,
            contact,
            agent: model::AgentId::from_u128(20),
            queue: model::QueueId::from_u128(30),
            channel: Channel::Voice,
            kind: center::OfferKind::Contact,
            ring_timeout_ms: 20_000,
            customer: None,
            from_address: "+8613800000000".to_owned(),
        };
        // The center offered the contact while `submit`'s answer was still on its way to the call.
        assert!(!routes.contacts.contains_key(&contact));
        routes.pending.hold(OfferSignal::Offer(offer.clone()), tokio::time::Instant::now()).expect("room");
        let (tx, mut rx) = mpsc::channel(4);
        assert_eq!(routes.register_contact(contact, &tx), 0);
        match rx.try_recv() {
            Ok(Input::Offer(OfferSignal::Offer(got))) => assert_eq!(got, offer),
            other => panic!("the call did not get the offer: {other:?}"),
        }
        assert_eq!(routes.pending.next_deadline(), None, "nothing left to give back");
    }
}
