//! One customer call: its task, its phases and what it writes.

use std::sync::Arc;
use std::time::Duration;

use center::{IvrTrail, NewContact, Offer, OfferSignal, Refusal};
use ivr::{Action, CallInfo, HangupReason, Input as IvrInput, LookupAnswer, Outcome, PromptRef, QueueTarget, Session};
use media::codec::Codec;
use media_server::{CallId as MediaCallId, LegId, LegSpec, MediaEvent};
use model::{
    AgentId, ContactEventKind, ContactId, ContactOutcome, Customer, DurationMs, Language, Recording, RecordingId,
    SurveyKind, SurveyResponse, SurveyResponseId, Timestamp,
};
use sip::StatusCode;
use sip::sdp::{
    AudioCodec, Direction, LocalMedia, Negotiated, SessionDescription, answer_offer, create_offer, read_answer,
};
use sip_server::{CallEvent, CallRef, DialRequest, DialTarget};
use tokio::sync::mpsc;

use crate::callback::{self, CallbackInfo};
use crate::{Ctx, Input, bump, selfservice};

#[path = "call_controls.rs"]
mod controls;

/// How much later than the center's ring timeout the SIP leg gives up by itself, in ms.
pub(crate) const RING_TIMEOUT_BACKSTOP_MS: u64 = 2_000;

/// What a finished call task leaves for the dispatcher to forget.
pub(crate) struct Finished {
    pub legs: Vec<CallRef>,
    pub media: Option<MediaCallId>,
    pub contact: Option<ContactId>,
}

/// Starts the task of an inbound call, or rejects it.
pub(crate) async fn spawn(ctx: Arc<Ctx>, event: CallEvent) {
    let CallEvent::Incoming { call, dialled, caller, offer, source, .. } = event else { return };
    let flow = ctx.flows.current().flow_for(&dialled);
    let Some(flow) = flow else {
        bump(&ctx.counters.calls_unknown_number);
        let _ = ctx.calls.reject(call, StatusCode::NOT_FOUND).await;
        return;
    };
    let Some(offer) = offer else {
        // An offer-less INVITE would need our offer in the 200 and the answer in the ACK.
        bump(&ctx.counters.calls_rejected_offer);
        let _ = ctx.calls.reject(call, StatusCode::NOT_ACCEPTABLE_HERE).await;
        return;
    };
    let (tx, rx) = mpsc::channel(ctx.config.max_queued_inputs_per_call);
    let admitted = {
        let mut routes = ctx.routes();
        let room = routes.live_calls < ctx.config.max_calls;
        if room {
            routes.live_calls += 1;
            routes.legs.insert(call, tx.clone());
        }
        room
    };
    if !admitted {
        bump(&ctx.counters.calls_rejected_busy);
        let _ = ctx.calls.reject(call, StatusCode::SERVICE_UNAVAILABLE).await;
        return;
    }
    let caller_number = caller.asserted.clone().unwrap_or_else(|| caller.number.clone());
    let language = flow.default_language().clone();
    tokio::spawn(async move {
        let mut c = Call::new(ctx, call, caller_number, dialled, language, tx, rx);
        c.source = source;
        if let Err(e) = c.answer(flow, &offer).await {
            tracing::warn!(error = %e, "could not answer the call");
            bump(&c.ctx.counters.errors);
            let _ = c.ctx.calls.reject(call, StatusCode::SERVICE_UNAVAILABLE).await;
        } else {
            c.run().await;
        }
        c.release().await;
        // A contact waiting for its callback is no longer this task's: its offers start the callback.
        let contact = if c.callback_chosen { None } else { c.contact };
        let _ = c.ctx.done.send(Finished { legs: c.legs_opened.clone(), media: c.media, contact });
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ivr,
    Queued,
    Connected,
    Survey,
    Voicemail,
    Done,
}

#[derive(Debug)]
struct AgentLeg {
    agent: AgentId,
    leg: CallRef,
    answered: bool,
    local_rtp_port: u16,
}

struct Call {
    ctx: Arc<Ctx>,
    leg: CallRef,
    caller: String,
    dialled: String,
    tx: mpsc::Sender<Input>,
    rx: mpsc::Receiver<Input>,
    media: Option<MediaCallId>,
    local_rtp_port: u16,
    customer: Option<Customer>,
    session: Option<Session>,
    language: Language,
    arrived_at: Timestamp,
    entry_point: String,
    contact: Option<ContactId>,
    /// Events decided before the contact existed (the reset-link message).
    pending_events: Vec<(Timestamp, ContactEventKind, String)>,
    agent: Option<AgentLeg>,
    phase: Phase,
    announcing: bool,
    recording_path: Option<String>,
    recording_started: Option<Timestamp>,
    deadline: Option<Timestamp>,
    legs_opened: Vec<CallRef>,
    customer_gone: bool,
    /// An agent answered: the call was bridged (its quality belongs on the contact).
    bridged: bool,
    session_version: u64,
    /// Where the INVITE came from (the callback dials the caller there).
    source: std::net::SocketAddr,
    /// The caller pressed 1 in the queue: the contact waits for its callback without this call.
    callback_chosen: bool,
    /// Hold, recording pause, consult and monitoring from the desktop and the wallboard.
    controls: controls::Controls,
}

impl Call {
    fn new(
        ctx: Arc<Ctx>,
        leg: CallRef,
        caller: String,
        dialled: String,
        language: Language,
        tx: mpsc::Sender<Input>,
        rx: mpsc::Receiver<Input>,
    ) -> Call {
        let arrived_at = ctx.clock.now();
        Call {
            ctx,
            leg,
            caller,
            dialled,
            tx,
            rx,
            media: None,
            local_rtp_port: 0,
            customer: None,
            session: None,
            language,
            arrived_at,
            entry_point: String::new(),
            contact: None,
            pending_events: Vec::new(),
            agent: None,
            phase: Phase::Ivr,
            announcing: false,
            recording_path: None,
            recording_started: None,
            deadline: None,
            legs_opened: vec![leg],
            customer_gone: false,
            bridged: false,
            session_version: 1,
            source: std::net::SocketAddr::from(([127, 0, 0, 1], 5060)),
            callback_chosen: false,
            controls: controls::Controls::default(),
        }
    }

    fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    fn local(&mut self, port: u16, direction: Direction) -> LocalMedia {
        self.session_version += 1;
        LocalMedia {
            address: self.ctx.config.advertise,
            rtp_port: port,
            direction,
            session_id: self.arrived_at.unix_ms().unsigned_abs(),
            session_version: self.session_version,
        }
    }

    /// Anchors the caller's media, answers, and starts the IVR.
    async fn answer(&mut self, flow: Arc<ivr::Flow>, offer: &SessionDescription) -> Result<(), String> {
        let (media, local) = self.ctx.media.allocate_call().await.map_err(|e| e.to_string())?;
        self.media = Some(media);
        self.ctx.route_media(media, &self.tx);
        self.local_rtp_port = local.port();
        let local = self.local(local.port(), Direction::SendRecv);
        let (answer, agreed) = match answer_offer(offer, &local, &self.ctx.config.audio) {
            Ok(ok) => ok,
            Err(e) => {
                bump(&self.ctx.counters.calls_rejected_offer);
                let _ = self.ctx.calls.reject(self.leg, e.status()).await;
                self.phase = Phase::Done;
                self.customer_gone = true;
                return Ok(());
            }
        };
        self.ctx.media.add_leg(media, LegId::Customer, leg_spec(&agreed), None).await.map_err(|e| e.to_string())?;
        self.ctx.calls.answer(self.leg, answer).await.map_err(|e| e.to_string())?;
        bump(&self.ctx.counters.calls_answered);

        let org = self.ctx.config.org;
        self.customer =
            selfservice::customer_by_caller(&self.ctx.store, org, &self.caller, self.ctx.config.default_country)
                .await
                .unwrap_or_default();
        self.entry_point = flow.entry_point().to_owned();
        let info = CallInfo {
            caller: self.caller.clone(),
            dialled: self.dialled.clone(),
            language: self.customer.as_ref().and_then(|c| c.language.clone()),
        };
        let now = self.now();
        let mut session = Session::new(flow, info, now);
        session.handle(now, IvrInput::Started);
        self.language = session.language().clone();
        self.session = Some(session);
        Ok(())
    }

    async fn run(&mut self) {
        self.drive_session().await;
        while self.phase != Phase::Done {
            let input = match self.next_deadline() {
                Some(at) => {
                    let wait = at.unix_ms().saturating_sub(self.now().unix_ms()).max(0).unsigned_abs();
                    tokio::select! {
                        input = self.rx.recv() => input,
                        () = tokio::time::sleep(Duration::from_millis(wait)) => {
                            self.on_timer().await;
                            continue;
                        }
                    }
                }
                None => self.rx.recv().await,
            };
            let Some(input) = input else { break };
            match input {
                Input::Sip(event) => self.on_sip(*event).await,
                Input::Media(event) => self.on_media(event).await,
                Input::Offer(signal) => self.on_offer(signal).await,
                Input::Control(control) => self.on_control(control).await,
            }
        }
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        match self.phase {
            Phase::Ivr => self.session.as_ref().and_then(Session::poll_timeout),
            Phase::Survey | Phase::Voicemail => self.deadline,
            _ => None,
        }
    }

    async fn on_timer(&mut self) {
        let now = self.now();
        match self.phase {
            Phase::Ivr => {
                if let Some(s) = self.session.as_mut() {
                    s.handle_timeout(now);
                }
                self.drive_session().await;
            }
            Phase::Survey => {
                // No rating: thank them anyway and end.
                self.deadline = None;
                self.goodbye().await;
            }
            Phase::Voicemail => {
                self.deadline = None;
                self.finish_voicemail().await;
            }
            _ => {}
        }
    }

    // ----- IVR -----

    /// Runs every action the IVR has queued; leaves the IVR when it queues or ends the call.
    async fn drive_session(&mut self) {
        while let Some(action) = self.session.as_mut().and_then(Session::poll_action) {
            self.run_action(action).await;
            if self.phase != Phase::Ivr {
                return;
            }
        }
        let ended = self.session.as_ref().and_then(|s| s.is_ended().then(|| s.outcome()));
        if let Some(outcome) = ended
            && self.phase == Phase::Ivr
        {
            self.ivr_ended(outcome).await;
        }
    }

    async fn run_action(&mut self, action: Action) {
        let Some(media) = self.media else { return };
        tracing::debug!(call = ?self.leg, ?action, "IVR action");
        match action {
            Action::Play { fragments, barge_in } => self.play(media, &fragments, barge_in).await,
            Action::StopPlayback => {
                let _ = self.ctx.media.stop_playback(media, LegId::Customer).await;
            }
            Action::Lookup { request, query, timeout } => {
                let limit = timeout.as_ms().min(self.ctx.config.lookup_timeout_ms);
                let lookup =
                    selfservice::lookup(&self.ctx.store, self.ctx.config.org, &query, self.ctx.config.default_country);
                let answer =
                    tokio::time::timeout(Duration::from_millis(limit), lookup).await.unwrap_or(LookupAnswer::Failed);
                self.ivr(IvrInput::LookupResult { request, answer });
            }
            Action::Http { request, url, params, timeout } => {
                let answer = match self.ctx.http.get(&url, &params, timeout.as_ms()).await {
                    feeds::LookupReply::Found(fields) => LookupAnswer::Found(fields),
                    feeds::LookupReply::NotFound => LookupAnswer::NotFound,
                    feeds::LookupReply::Failed(reason) => {
                        // The URL is not logged: it may carry credentials.
                        tracing::info!(%reason, "IVR HTTP lookup failed; the flow takes its error branch");
                        bump(&self.ctx.counters.http_lookups_failed);
                        LookupAnswer::Failed
                    }
                };
                bump(&self.ctx.counters.http_lookups);
                self.ivr(IvrInput::LookupResult { request, answer });
            }
            Action::SendResetLink { request, caller, language, .. } => {
                let (result, detail) = selfservice::reset_link(
                    &self.ctx.store,
                    self.ctx.config.org,
                    &caller,
                    &language,
                    self.ctx.config.default_country,
                )
                .await;
                if let Some(detail) = detail {
                    self.pending_events.push((self.now(), ContactEventKind::Message, detail));
                }
                self.ivr(IvrInput::ActionResult { request, result });
            }
            Action::Queue { target, attributes, language } => {
                self.language = language.clone();
                self.queue(target, attributes, language).await;
            }
            Action::Voicemail { mailbox, language } => {
                self.language = language;
                self.start_voicemail(&mailbox).await;
            }
            Action::Hangup { reason } => {
                let _ = self.ctx.calls.hangup(self.leg).await;
                self.customer_gone = true;
                let outcome = match reason {
                    HangupReason::Completed => ContactOutcome::SelfServed,
                    HangupReason::Error => ContactOutcome::Failed,
                };
                self.record_ivr_contact(outcome).await;
                self.phase = Phase::Done;
            }
        }
    }

    fn ivr(&mut self, input: IvrInput) {
        let now = self.now();
        if let Some(s) = self.session.as_mut() {
            s.handle(now, input);
        }
    }

    async fn ivr_ended(&mut self, outcome: Option<Outcome>) {
        let outcome = outcome.and_then(Outcome::contact_outcome).unwrap_or(ContactOutcome::SelfServed);
        self.record_ivr_contact(outcome).await;
        if !self.customer_gone {
            let _ = self.ctx.calls.hangup(self.leg).await;
            self.customer_gone = true;
        }
        self.phase = Phase::Done;
    }

    async fn play(&mut self, media: MediaCallId, fragments: &[PromptRef], barge_in: bool) {
        match self.ctx.prompts.resolve(fragments) {
            Ok(audio) if !audio.is_empty() => {
                if let Err(e) = self.ctx.media.play(media, LegId::Customer, audio, barge_in).await {
                    tracing::warn!(error = %e, "playback failed");
                    self.ivr(IvrInput::PlaybackDone);
                }
            }
            Ok(_) => self.ivr(IvrInput::PlaybackDone),
            Err(missing) => {
                tracing::warn!(%missing, "prompt missing; skipped");
                bump(&self.ctx.counters.errors);
                self.ivr(IvrInput::PlaybackDone);
            }
        }
    }

    fn trail(&self) -> IvrTrail {
        let (path, digits) =
            self.session.as_ref().map(|s| (s.path().to_vec(), s.digits().to_owned())).unwrap_or_default();
        IvrTrail { arrived_at: Some(self.arrived_at), path, digits }
    }

    fn new_contact(&self) -> NewContact {
        let mut c = NewContact::new(model::Channel::Voice, &self.entry_point, &self.caller);
        c.to_address = self.dialled.clone();
        c.customer = self.customer.as_ref().map(|c| c.id);
        c.language = Some(self.language.clone());
        c.ivr = Some(self.trail());
        c
    }

    /// Records a call the IVR finished (self-served, or left by the caller in the menu).
    async fn record_ivr_contact(&mut self, outcome: ContactOutcome) {
        if self.contact.is_some() {
            return;
        }
        let mut new = self.new_contact();
        new.attributes.insert("ivr_outcome".to_owned(), outcome.as_str().to_owned());
        match self.ctx.center.ivr_finished(new, outcome).await {
            Ok(id) => {
                self.contact = Some(id);
                self.write_pending_events().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the IVR contact");
                bump(&self.ctx.counters.errors);
            }
        }
    }

    async fn write_pending_events(&mut self) {
        let Some(contact) = self.contact else { return };
        for (at, kind, detail) in std::mem::take(&mut self.pending_events) {
            let event = selfservice::event(self.ctx.config.org, contact, at, kind, detail);
            if let Err(e) = self.ctx.store.insert_contact_event(&event).await {
                tracing::error!(error = %e, "could not record a contact event");
                bump(&self.ctx.counters.errors);
            }
        }
    }

    // ----- queue -----

    async fn queue(
        &mut self,
        target: QueueTarget,
        attributes: std::collections::BTreeMap<String, String>,
        language: Language,
    ) {
        let mut new = self.new_contact();
        new.entry = match target {
            QueueTarget::EntryPoint(e) => center::Entry::EntryPoint(e),
            QueueTarget::Queue(q) => match self.queue_id(&q).await {
                Some(id) => center::Entry::Queue(id),
                None => center::Entry::EntryPoint(self.entry_point.clone()),
            },
        };
        new.issue_type = attributes.get("issue_type").cloned();
        new.language = Some(language);
        new.attributes = attributes;
        match self.ctx.center.submit(new).await {
            Ok(id) => {
                self.contact = Some(id);
                self.ctx.route_contact(id, &self.tx);
                self.write_pending_events().await;
                self.phase = Phase::Queued;
                if self.callback_offered() {
                    self.play_in_queue(vec![PromptRef::new(&self.language, "callback_offer")]).await;
                } else {
                    self.hold_music().await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not queue the call");
                bump(&self.ctx.counters.errors);
                let _ = self.ctx.calls.hangup(self.leg).await;
                self.customer_gone = true;
                self.record_ivr_contact(ContactOutcome::Failed).await;
                self.phase = Phase::Done;
            }
        }
    }

    async fn queue_id(&self, name: &str) -> Option<model::QueueId> {
        let name = model::QueueName::parse(name).ok()?;
        self.ctx.store.find_queue_by_name(self.ctx.config.org, &name).await.ok().flatten().map(|q| q.id)
    }

    async fn hold_music(&mut self) {
        if let Some(media) = self.media {
            self.announcing = false;
            let _ = self.ctx.media.hold(media, vec![self.ctx.prompts.hold_music()]).await;
        }
    }

    async fn on_announce(&mut self, position: u32, ewt_ms: u64) {
        if self.phase != Phase::Queued || self.agent.is_some() {
            return;
        }
        if self.media.is_none() {
            return;
        }
        let minutes = ewt_ms.div_ceil(60_000).max(1);
        let l = &self.language;
        let mut fragments = vec![PromptRef::new(l, "queue_position")];
        fragments.extend(ivr::spoken_digits(l, &position.to_string()));
        fragments.push(PromptRef::new(l, "queue_wait"));
        fragments.extend(ivr::spoken_digits(l, &minutes.to_string()));
        fragments.push(PromptRef::new(l, "queue_minutes"));
        if self.callback_offered() {
            fragments.push(PromptRef::new(l, "callback_offer"));
        }
        self.play_in_queue(fragments).await;
    }

    /// Plays an announcement to the waiting caller; music on hold resumes when it ends.
    async fn play_in_queue(&mut self, fragments: Vec<PromptRef>) {
        let Some(media) = self.media else { return };
        if let Ok(audio) = self.ctx.prompts.resolve(&fragments) {
            self.announcing = true;
            let _ = self.ctx.media.play(media, LegId::Customer, audio, false).await;
        } else {
            self.hold_music().await;
        }
    }

    /// "Press 1 to be called back" is offered when its prompts exist in the caller's language.
    fn callback_offered(&self) -> bool {
        ["callback_offer", "callback_confirmed"].iter().all(|p| self.ctx.prompts.contains(&self.language, p))
    }

    /// The waiting caller pressed 1: the contact keeps its place as a callback, the caller hears
    /// the confirmation and the call ends. The callback task starts when the center offers it.
    async fn choose_callback(&mut self) {
        let Some(contact) = self.contact else { return };
        {
            let mut pending = self.ctx.callbacks();
            if pending.len() >= self.ctx.config.max_pending_callbacks {
                tracing::warn!(contact = %contact, "too many pending callbacks; the caller keeps waiting");
                bump(&self.ctx.counters.callbacks_refused);
                return;
            }
            pending.insert(
                contact,
                CallbackInfo {
                    number: self.caller.clone(),
                    source: self.source,
                    dialled: self.dialled.clone(),
                    display: self.customer.as_ref().map(|c| c.name.clone()),
                },
            );
        }
        // From now on the contact's offers go to the dispatcher, which starts the callback.
        self.callback_chosen = true;
        self.ctx.routes().contacts.remove(&contact);
        if let Err(e) = self.ctx.center.choose_callback(contact).await {
            tracing::warn!(error = %e, "the center refused the callback; the caller keeps waiting");
            self.ctx.callbacks().remove(&contact);
            self.callback_chosen = false;
            self.ctx.route_contact(contact, &self.tx);
            return;
        }
        bump(&self.ctx.counters.callbacks_chosen);
        let detail = serde_json::json!({ "callback": "chosen", "to": self.source.to_string() }).to_string();
        let event = selfservice::event(self.ctx.config.org, contact, self.now(), ContactEventKind::Message, detail);
        let _ = self.ctx.store.insert_contact_event(&event).await;
        if let Some(media) = self.media {
            let _ = self.ctx.media.unhold(media).await;
        }
        self.play_then_hangup("callback_confirmed").await;
    }

    async fn on_offer(&mut self, signal: OfferSignal) {
        match signal {
            OfferSignal::Offer(offer) if self.callback_chosen => {
                if !callback::start(&self.ctx, offer.clone()) {
                    let _ = self.ctx.center.reject(offer.agent, offer.contact).await;
                }
            }
            OfferSignal::Offer(offer) if self.accept_completed_consult(&offer).await => {}
            OfferSignal::Offer(offer) => {
                if self.phase == Phase::Connected && self.agent.as_ref().is_some_and(|a| a.answered) {
                    // The ACD offers a connected contact again only after it was transferred
                    // (from the desktop, to a queue or an agent): the agent it left is released
                    // here, as after a REFER, and the new agent is rung.
                    tracing::info!(agent = %offer.agent, "transferred while connected: ringing the new agent");
                    self.release_agent_after_transfer().await;
                }
                if self.phase != Phase::Queued || self.agent.is_some() {
                    let _ = self.ctx.center.reject(offer.agent, offer.contact).await;
                    return;
                }
                if let Err(e) = self.ring_agent(&offer).await {
                    tracing::warn!(error = %e, agent = %offer.agent, "could not ring the agent");
                    bump(&self.ctx.counters.errors);
                    let _ = self.ctx.center.reject(offer.agent, offer.contact).await;
                }
            }
            OfferSignal::Cancel { agent, .. } => {
                if let Some(a) = self.agent.as_ref().filter(|a| a.agent == agent && !a.answered) {
                    let leg = a.leg;
                    let _ = self.ctx.calls.cancel(leg).await;
                    self.drop_agent_leg().await;
                }
            }
            OfferSignal::Announce { position, ewt_ms, .. } => self.on_announce(position, ewt_ms).await,
            OfferSignal::Refused { refusal, .. } => self.refused(refusal).await,
        }
    }

    /// The center will not serve the contact (queue full or closed, waited too long): voicemail
    /// where the queue says so, otherwise the busy message and goodbye. The contact is already
    /// ended by the center.
    async fn refused(&mut self, refusal: Refusal) {
        if self.phase != Phase::Queued {
            return;
        }
        tracing::info!(?refusal, "the center refused the call");
        match refusal {
            Refusal::QueueFullVoicemail | Refusal::MaxWaitExceeded => {
                let mailbox = self.entry_point.clone();
                self.start_voicemail(&mailbox).await;
            }
            Refusal::QueueFullBusy | Refusal::QueueFullCallback | Refusal::Closed => {
                self.play_then_hangup("system_busy").await;
            }
        }
    }

    async fn ring_agent(&mut self, offer: &Offer) -> Result<(), String> {
        let media = self.media.ok_or("no media")?;
        let agent = self
            .ctx
            .store
            .get_agent(self.ctx.config.org, offer.agent)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("unknown agent")?;
        let queue = self
            .ctx
            .store
            .get_queue(self.ctx.config.org, offer.queue)
            .await
            .map_err(|e| e.to_string())?
            .map(|q| q.name.to_string())
            .unwrap_or_default();
        let rtp = self.ctx.media.allocate_leg(media, LegId::Agent).await.map_err(|e| e.to_string())?;
        let local = self.local(rtp.port(), Direction::SendRecv);
        let sdp = create_offer(&local, &self.ctx.config.audio);
        let display = self.customer.as_ref().map(|c| c.name.clone());
        let request = DialRequest {
            target: DialTarget::Extension(agent.extension.to_string()),
            caller_number: self.caller.clone(),
            caller_display: display,
            extra_headers: vec![
                ("X-Hotline-Queue".to_owned(), queue),
                ("X-Hotline-Contact".to_owned(), offer.contact.to_string()),
            ],
            offer: Some(sdp),
            // The center's ring timeout decides (it cancels the offer and counts the miss); the
            // leg's own is a backstop a little later, so a silent phone is `offer_timed_out`.
            ring_timeout_ms: offer.ring_timeout_ms.saturating_add(RING_TIMEOUT_BACKSTOP_MS),
        };
        let leg = self.ctx.calls.dial(request).await.map_err(|e| e.to_string())?;
        self.ctx.route_leg(leg, &self.tx);
        self.legs_opened.push(leg);
        bump(&self.ctx.counters.agent_legs_dialled);
        self.agent = Some(AgentLeg { agent: offer.agent, leg, answered: false, local_rtp_port: rtp.port() });
        Ok(())
    }

    async fn drop_agent_leg(&mut self) {
        if let Some(a) = self.agent.take() {
            self.ctx.forget_leg(a.leg);
            if let Some(media) = self.media {
                let _ = self.ctx.media.remove_leg(media, LegId::Agent).await;
            }
        }
    }

    async fn agent_answered(&mut self, sdp: Option<SessionDescription>) {
        let (Some(media), Some(contact)) = (self.media, self.contact) else { return };
        let Some(agent) = self.agent.as_ref().map(|a| a.agent) else { return };
        let agreed = sdp.as_ref().map(|s| read_answer(s, &self.ctx.config.audio, Direction::SendRecv));
        let Some(Ok(agreed)) = agreed else {
            tracing::warn!("agent phone answered without a usable SDP answer");
            bump(&self.ctx.counters.errors);
            if let Some(a) = self.agent.as_ref() {
                let _ = self.ctx.calls.hangup(a.leg).await;
            }
            self.drop_agent_leg().await;
            let _ = self.ctx.center.reject(agent, contact).await;
            return;
        };
        if let Some(a) = self.agent.as_mut() {
            a.answered = true;
        }
        self.bridged = true;
        bump(&self.ctx.counters.agent_legs_answered);
        if let Err(e) = self.ctx.media.add_leg(media, LegId::Agent, leg_spec(&agreed), None).await {
            tracing::warn!(error = %e, "could not add the agent's media");
        }
        let _ = self.ctx.media.connect(media).await;
        let now = self.now();
        let relative = format!("{}/{}.wav", date_folder(now), contact);
        match self.ctx.media.start_recording(media, &relative).await {
            Ok(_) => {
                self.recording_path = Some(relative.clone());
                self.recording_started = Some(now);
                let detail = serde_json::json!({ "path": relative }).to_string();
                self.pending_events.push((now, ContactEventKind::RecordingStarted, detail));
                self.write_pending_events().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "recording could not start");
                bump(&self.ctx.counters.errors);
            }
        }
        if let Err(e) = self.ctx.center.accept(agent, contact).await {
            tracing::warn!(error = %e, "the center refused the answer");
        }
        self.phase = Phase::Connected;
    }

    // ----- SIP and media events -----

    async fn on_sip(&mut self, event: CallEvent) {
        tracing::debug!(call = ?self.leg, ?event, phase = ?self.phase, "SIP event");
        if self.on_control_leg_event(&event).await {
            return;
        }
        let from_customer = event.call() == self.leg;
        let agent_leg = self.agent.as_ref().map(|a| a.leg);
        match event {
            CallEvent::Ended { .. } if from_customer => {
                self.customer_gone = true;
                self.customer_left().await;
            }
            CallEvent::Ended { call, .. } if Some(call) == agent_leg => self.agent_left().await,
            CallEvent::Answered { call, sdp } if Some(call) == agent_leg => self.agent_answered(sdp).await,
            CallEvent::Failed { call, status, reason } if Some(call) == agent_leg => {
                tracing::info!(status, %reason, "agent leg not answered");
                let agent = self.agent.as_ref().map(|a| a.agent);
                self.drop_agent_leg().await;
                // Unreachable, not registered, busy or declined before the ring timeout: a missed
                // offer, so a phone that keeps failing puts its agent Away instead of being
                // offered every waiting call in turn.
                if let (Some(agent), Some(contact)) = (agent, self.contact) {
                    let _ = self.ctx.center.ring_failed(agent, contact).await;
                }
            }
            CallEvent::Hold { call, held, offer } => self.on_hold(call, held, &offer, from_customer).await,
            CallEvent::Dtmf { call, key, duration_ms } if from_customer => {
                if let Some(media) = self.media {
                    let _ = self.ctx.media.sip_info_dtmf(media, LegId::Customer, key, duration_ms).await;
                }
                let _ = call;
            }
            CallEvent::Refer { call, target, .. } if Some(call) == agent_leg => {
                self.blind_transfer(call, &target).await
            }
            CallEvent::Refer { call, .. } => {
                let _ = self.ctx.calls.refer_progress(call, StatusCode::FORBIDDEN).await;
            }
            _ => {}
        }
    }

    async fn on_hold(&mut self, call: CallRef, held: bool, offer: &SessionDescription, from_customer: bool) {
        let port =
            if from_customer { self.local_rtp_port } else { self.agent.as_ref().map_or(0, |a| a.local_rtp_port) };
        let local = self.local(port, Direction::SendRecv);
        match answer_offer(offer, &local, &self.ctx.config.audio) {
            Ok((answer, _)) => {
                let _ = self.ctx.calls.answer(call, answer).await;
            }
            Err(e) => {
                let _ = self.ctx.calls.reject(call, e.status()).await;
                return;
            }
        }
        let Some(media) = self.media else { return };
        // The phone repeating the state the call is in (a desktop hold, then the phone's) changes
        // nothing and is not reported twice; during a consult the customer is held by it.
        let consulting = self.controls.consult.is_some();
        if from_customer || self.phase != Phase::Connected || self.controls.held == held || consulting {
            return;
        }
        let changed = if held {
            self.ctx.media.hold(media, vec![self.ctx.prompts.hold_music()]).await
        } else {
            self.ctx.media.unhold(media).await
        };
        if let Err(e) = changed {
            tracing::warn!(error = %e, held, "the agent phone's hold did not reach the media");
            return;
        }
        // The same path as the desktop's hold button: the center records it and publishes it.
        self.controls.held = held;
        self.report(if held { center::CallChange::Held } else { center::CallChange::Resumed }).await;
    }

    /// REFER from the agent's phone: to another agent's extension, or to a queue by name.
    async fn blind_transfer(&mut self, call: CallRef, target: &str) {
        let Some(contact) = self.contact else { return };
        let user = target.trim_start_matches("sip:").trim_start_matches("sips:").split(['@', ';']).next().unwrap_or("");
        let org = self.ctx.config.org;
        let result = match model::Extension::parse(user) {
            Ok(ext) => match self.ctx.store.find_agent_by_extension(org, &ext).await {
                Ok(Some(agent)) => {
                    self.ctx.center.transfer_to_agent(contact, agent.id).await.map_err(|e| e.to_string())
                }
                _ => Err(format!("no agent on extension {user}")),
            },
            Err(_) => match model::QueueName::parse(user) {
                Ok(name) => match self.ctx.store.find_queue_by_name(org, &name).await {
                    Ok(Some(q)) => self.ctx.center.transfer_to_queue(contact, q.id).await.map_err(|e| e.to_string()),
                    _ => Err(format!("no queue named {user}")),
                },
                Err(e) => Err(e.to_string()),
            },
        };
        match result {
            Ok(()) => {
                let _ = self.ctx.calls.refer_progress(call, StatusCode::OK).await;
                self.release_agent_after_transfer().await;
            }
            Err(e) => {
                tracing::info!(%target, error = %e, "transfer refused");
                let _ = self.ctx.calls.refer_progress(call, StatusCode::NOT_FOUND).await;
            }
        }
    }

    /// The contact left its agent by a transfer (REFER from the phone, or the desktop): the
    /// agent's phone is hung up, their part of the recording stored, and the customer waits with
    /// music on hold for the agent the ACD offers next.
    async fn release_agent_after_transfer(&mut self) {
        if let Some(leg) = self.agent.as_ref().map(|a| a.leg) {
            let _ = self.ctx.calls.hangup(leg).await;
        }
        self.stop_recording_and_store().await;
        self.drop_agent_leg().await;
        self.phase = Phase::Queued;
        self.hold_music().await;
    }

    async fn on_media(&mut self, event: MediaEvent) {
        tracing::debug!(call = ?self.leg, ?event, phase = ?self.phase, "media event");
        match event {
            MediaEvent::Dtmf { leg: LegId::Customer, digit, .. } => {
                let key = digit.as_char();
                match self.phase {
                    Phase::Ivr => {
                        self.ivr(IvrInput::Dtmf(key));
                        self.drive_session().await;
                    }
                    Phase::Survey => self.survey_answer(key).await,
                    Phase::Queued if key == '1' && self.agent.is_none() && self.callback_offered() => {
                        self.choose_callback().await;
                    }
                    _ => {}
                }
            }
            MediaEvent::PlaybackEnded { leg: LegId::Customer, .. } => match self.phase {
                Phase::Ivr => {
                    self.ivr(IvrInput::PlaybackDone);
                    self.drive_session().await;
                }
                Phase::Queued if self.announcing => self.hold_music().await,
                Phase::Survey if self.deadline.is_none() => {
                    self.deadline = Some(self.now().plus(DurationMs::from_ms(self.ctx.config.survey_timeout_ms)));
                }
                _ => {}
            },
            MediaEvent::MediaTimeout { leg, reason } => {
                tracing::warn!(?leg, ?reason, "no RTP: ending the call");
                let _ = self.ctx.calls.hangup(self.leg).await;
                self.customer_gone = true;
                if let Some(a) = self.agent.as_ref() {
                    let _ = self.ctx.calls.hangup(a.leg).await;
                }
                self.end_contact(ContactOutcome::Failed).await;
                self.phase = Phase::Done;
            }
            _ => {}
        }
    }

    // ----- endings -----

    async fn customer_left(&mut self) {
        match self.phase {
            Phase::Ivr => {
                self.ivr(IvrInput::Hangup);
                let outcome = self.session.as_ref().and_then(Session::outcome);
                self.ivr_ended(outcome).await;
            }
            Phase::Queued => {
                if let Some(a) = self.agent.as_ref() {
                    let _ = self.ctx.calls.cancel(a.leg).await;
                }
                self.drop_agent_leg().await;
                if let Some(contact) = self.contact {
                    let _ = self.ctx.center.abandon(contact).await;
                }
                self.phase = Phase::Done;
            }
            Phase::Connected => {
                if let Some(a) = self.agent.as_ref() {
                    let _ = self.ctx.calls.hangup(a.leg).await;
                }
                self.end_contact(ContactOutcome::Answered).await;
                self.phase = Phase::Done;
            }
            Phase::Voicemail => self.finish_voicemail().await,
            Phase::Survey | Phase::Done => self.phase = Phase::Done,
        }
    }

    async fn agent_left(&mut self) {
        if self.phase != Phase::Connected {
            self.drop_agent_leg().await;
            return;
        }
        self.end_contact(ContactOutcome::Answered).await;
        let survey = ["survey_question", "survey_thanks"].iter().all(|p| self.ctx.prompts.contains(&self.language, p));
        if self.ctx.config.survey && survey && !self.customer_gone {
            self.phase = Phase::Survey;
            self.deadline = None;
            let fragments = [PromptRef::new(&self.language, "survey_question")];
            if let (Some(media), Ok(audio)) = (self.media, self.ctx.prompts.resolve(&fragments)) {
                let _ = self.ctx.media.play(media, LegId::Customer, audio, true).await;
            }
        } else {
            self.goodbye().await;
        }
    }

    async fn survey_answer(&mut self, key: char) {
        let Some(score) = key.to_digit(10).filter(|d| (1..=5).contains(d)) else { return };
        if let Some(contact) = self.contact {
            let response = SurveyResponse {
                id: SurveyResponseId::from_uuid(uuid::Uuid::now_v7()),
                org: self.ctx.config.org,
                contact,
                kind: SurveyKind::Csat,
                score: u8::try_from(score).unwrap_or(1),
                comment: None,
                at: self.now(),
            };
            if let Err(e) = self.ctx.store.insert_survey_response(&response).await {
                tracing::error!(error = %e, "could not store the survey answer");
                bump(&self.ctx.counters.errors);
            }
            let detail = serde_json::json!({ "kind": "csat", "score": score }).to_string();
            let event =
                selfservice::event(self.ctx.config.org, contact, self.now(), ContactEventKind::SurveyAnswered, detail);
            let _ = self.ctx.store.insert_contact_event(&event).await;
        }
        self.goodbye().await;
    }

    /// Thanks the caller (when the prompt exists) and hangs up.
    async fn goodbye(&mut self) {
        let name = if self.phase == Phase::Survey { "survey_thanks" } else { "goodbye" };
        self.play_then_hangup(name).await;
    }

    /// Plays one prompt to the end (when it exists) and hangs up.
    async fn play_then_hangup(&mut self, name: &str) {
        let fragments = [PromptRef::new(&self.language, name)];
        if let (Some(media), Ok(audio), false) = (self.media, self.ctx.prompts.resolve(&fragments), self.customer_gone)
        {
            let length_ms = audio.iter().map(|a| a.len() as u64).sum::<u64>() / 8;
            let _ = self.ctx.media.play(media, LegId::Customer, audio, false).await;
            tokio::time::sleep(Duration::from_millis(length_ms.min(10_000))).await;
        }
        if !self.customer_gone {
            let _ = self.ctx.calls.hangup(self.leg).await;
            self.customer_gone = true;
        }
        self.phase = Phase::Done;
    }

    async fn start_voicemail(&mut self, mailbox: &str) {
        let Some(media) = self.media else { return };
        self.record_ivr_contact(ContactOutcome::Voicemail).await;
        let Some(contact) = self.contact else { return };
        let now = self.now();
        let relative = format!("voicemail/{mailbox}/{}/{}.wav", date_folder(now), contact);
        match self.ctx.media.start_recording(media, &relative).await {
            Ok(_) => {
                self.recording_path = Some(relative);
                self.recording_started = Some(now);
                self.phase = Phase::Voicemail;
                self.deadline = Some(now.plus(DurationMs::from_ms(self.ctx.config.max_voicemail_ms)));
            }
            Err(e) => {
                tracing::error!(error = %e, "voicemail could not be recorded");
                self.goodbye().await;
            }
        }
    }

    async fn finish_voicemail(&mut self) {
        self.stop_recording_and_store().await;
        if !self.customer_gone {
            let _ = self.ctx.calls.hangup(self.leg).await;
            self.customer_gone = true;
        }
        self.phase = Phase::Done;
    }

    /// Ends the contact in the center and stores the recording.
    async fn end_contact(&mut self, outcome: ContactOutcome) {
        self.stop_recording_and_store().await;
        if let Some(contact) = self.contact
            && let Err(e) = self.ctx.center.end(contact, outcome).await
        {
            tracing::warn!(error = %e, "the center refused the end of the contact");
        }
    }

    async fn stop_recording_and_store(&mut self) {
        let (Some(media), Some(path), Some(contact)) = (self.media, self.recording_path.take(), self.contact) else {
            return;
        };
        let started_at = self.recording_started.take().unwrap_or_else(|| self.now());
        store_recording(&self.ctx, media, path, contact, started_at).await;
    }

    /// Releases whatever the call still holds: legs, media, the contact.
    async fn release(&mut self) {
        // Offers that reached this task after it stopped reading: a callback's start, or back.
        while let Ok(input) = self.rx.try_recv() {
            if let Input::Offer(OfferSignal::Offer(offer)) = input
                && !(self.callback_chosen && callback::start(&self.ctx, offer.clone()))
            {
                let _ = self.ctx.center.reject(offer.agent, offer.contact).await;
            }
        }
        if !self.customer_gone {
            let _ = self.ctx.calls.hangup(self.leg).await;
        }
        self.release_controls().await;
        if let Some(a) = self.agent.take() {
            let _ = self.ctx.calls.hangup(a.leg).await;
        }
        self.stop_recording_and_store().await;
        if let Some(media) = self.media {
            let report = self.ctx.media.close(media).await;
            // The call's quality (the worst leg's E-model MOS) stays on a bridged contact; the
            // center still holds it while the agent wraps up.
            let mos = report.ok().filter(|_| self.bridged).and_then(|r| r.call_quality()).map(|q| q.mos as f32);
            if let (Some(mos), Some(contact)) = (mos, self.contact)
                && let Err(e) = self.ctx.center.set_quality(contact, mos.clamp(1.0, 5.0)).await
            {
                tracing::info!(error = %e, "call quality not kept on the contact");
            }
        }
    }
}

/// Finishes the media call's recording and stores its metadata as the contact's `Recording`.
pub(crate) async fn store_recording(
    ctx: &Ctx,
    media: MediaCallId,
    path: String,
    contact: ContactId,
    started_at: Timestamp,
) {
    match ctx.media.stop_recording(media).await {
        Ok(Some((_, info))) => {
            let recording = Recording {
                id: RecordingId::from_uuid(uuid::Uuid::now_v7()),
                org: ctx.config.org,
                contact,
                path,
                started_at,
                duration: DurationMs::from_ms(info.duration_ms),
                size_bytes: info.size_bytes,
                sha256: info.sha256,
                channels: info.channels,
                sample_rate_hz: info.sample_rate_hz,
                legal_hold: false,
                deleted_at: None,
            };
            match ctx.store.insert_recording(&recording).await {
                Ok(()) => bump(&ctx.counters.recordings_stored),
                Err(e) => {
                    tracing::error!(error = %e, path = %recording.path, "recording metadata not stored");
                    bump(&ctx.counters.errors);
                }
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "recording could not be finished");
            bump(&ctx.counters.errors);
        }
    }
}

pub(crate) fn leg_spec(agreed: &Negotiated) -> LegSpec {
    let codec = match agreed.codec {
        AudioCodec::Pcmu => Codec::Pcmu,
        AudioCodec::Pcma => Codec::Pcma,
    };
    // No usable address (0.0.0.0): learn it from the first RTP.
    let remote = agreed.remote_rtp.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 9)));
    let mut spec = LegSpec::new(codec, remote);
    spec.telephone_event_pt = agreed.telephone_event_payload_type;
    spec.inband_dtmf = agreed.telephone_event_payload_type.is_none();
    spec.latch_from_any_ip = agreed.remote_rtp.is_none();
    spec
}

/// `YYYY/MM/DD` of a timestamp (UTC), for recording folders.
pub(crate) fn date_folder(at: Timestamp) -> String {
    let days = at.unix_ms().div_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}/{m:02}/{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_folders_are_utc_calendar_dates() {
        assert_eq!(date_folder(Timestamp::from_unix_ms(0)), "1970/01/01");
        assert_eq!(date_folder(Timestamp::from_unix_ms(1_795_737_599_999)), "2026/11/26");
        assert_eq!(date_folder(Timestamp::from_unix_ms(1_795_737_600_000)), "2026/11/27");
        assert_eq!(date_folder(Timestamp::from_unix_ms(951_782_400_000)), "2000/02/29");
    }
}
