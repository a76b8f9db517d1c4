//! Calling a customer back: the center offers a contact whose caller chose "press 1 to be called
//! back" as [`center::OfferKind::Callback`]; this task rings the agent first and, once the agent
//! answered, dials the customer and bridges and records them like an inbound call.
//!
//! A customer who does not answer (no answer within `callback_ring_timeout_ms`, busy, declined,
//! unreachable) is dialled again after `callback_retry_interval_ms`, up to
//! `callback_max_attempts` dials in all; the agent stays on the line meanwhile (so the interval
//! is meant to be short). Each attempt is a contact event (`dialled`, `not_reached` with the
//! attempt and SIP status); after the last one the callback is recorded as `failed` and the
//! contact ends with outcome `failed`.
//!
//! Where the customer is dialled: `sip:<caller number>@<address the original INVITE came from>`
//! ([`CallbackInfo::source`]). That reaches phones and test peers that called us directly; calls
//! that arrive through a trunk or proxy must be dialled back through that trunk, which replaces
//! this address when trunks exist.

use std::net::SocketAddr;
use std::sync::Arc;

use center::Offer;
use media_server::{CallId as MediaCallId, LegId, MediaEvent};
use model::{ContactEventKind, ContactId, ContactOutcome};
use sip::StatusCode;
use sip::sdp::{Direction, LocalMedia, answer_offer, create_offer, read_answer};
use sip_server::{CallEvent, CallRef, DialRequest, DialTarget};
use tokio::sync::mpsc;

use crate::call::{Finished, RING_TIMEOUT_BACKSTOP_MS, date_folder, leg_spec, store_recording};
use crate::{Ctx, Input, bump, selfservice};

/// What the inbound call leaves for its callback (kept until the contact ends).
#[derive(Debug, Clone)]
pub(crate) struct CallbackInfo {
    /// The caller's number (From / P-Asserted-Identity of the original call).
    pub number: String,
    /// Where the original INVITE came from.
    pub source: SocketAddr,
    /// The number the customer had dialled: shown to them as the callback's caller.
    pub dialled: String,
    pub display: Option<String>,
}

impl CallbackInfo {
    /// The URI the customer is dialled at.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.number, self.source)
    }
}

/// Starts the callback task of `offer` when the contact's caller chose a callback here; `false`
/// when there is nothing to call back or no room (the caller then gives the offer back).
pub(crate) fn start(ctx: &Arc<Ctx>, offer: Offer) -> bool {
    let Some(info) = ctx.callbacks().get(&offer.contact).cloned() else { return false };
    let (tx, rx) = mpsc::channel(ctx.config.max_queued_inputs_per_call);
    {
        let mut routes = ctx.routes();
        if routes.live_calls >= ctx.config.max_calls || routes.contacts.contains_key(&offer.contact) {
            return false;
        }
        routes.live_calls += 1;
        routes.contacts.insert(offer.contact, tx.clone());
    }
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let mut cb = Callback {
            ctx,
            offer,
            info,
            tx,
            rx,
            media: None,
            agent_leg: None,
            agent_answered: false,
            agent_rtp_port: 0,
            agent_media: None,
            customer_leg: None,
            customer_rtp_port: 0,
            connected: false,
            recording: None,
            legs: Vec::new(),
            session_version: 1,
            attempts: 0,
            retry_at: None,
        };
        if let Err(e) = cb.ring_agent().await {
            tracing::warn!(error = %e, agent = %cb.offer.agent, "callback: could not ring the agent");
            bump(&cb.ctx.counters.errors);
            let _ = cb.ctx.center.reject(cb.offer.agent, cb.offer.contact).await;
        } else {
            cb.run().await;
        }
        cb.release().await;
        let finished = Finished { legs: cb.legs.clone(), media: cb.media, contact: Some(cb.offer.contact) };
        let _ = cb.ctx.done.send(finished);
    });
    true
}

struct Callback {
    ctx: Arc<Ctx>,
    offer: Offer,
    info: CallbackInfo,
    tx: mpsc::Sender<Input>,
    rx: mpsc::Receiver<Input>,
    media: Option<MediaCallId>,
    agent_leg: Option<CallRef>,
    agent_answered: bool,
    agent_rtp_port: u16,
    /// The agent's media, added once the customer's leg exists (the media server wants the
    /// customer's leg first).
    agent_media: Option<media_server::LegSpec>,
    customer_leg: Option<CallRef>,
    customer_rtp_port: u16,
    connected: bool,
    /// Relative path and start of the recording in progress.
    recording: Option<(String, model::Timestamp)>,
    legs: Vec<CallRef>,
    session_version: u64,
    /// Times the customer was dialled so far (at most `callback_max_attempts`).
    attempts: u32,
    /// When the customer is dialled again after an attempt that did not reach them.
    retry_at: Option<tokio::time::Instant>,
}

impl Callback {
    fn contact(&self) -> ContactId {
        self.offer.contact
    }

    fn local(&mut self, port: u16) -> LocalMedia {
        self.session_version += 1;
        LocalMedia {
            address: self.ctx.config.advertise,
            rtp_port: port,
            direction: Direction::SendRecv,
            session_id: self.ctx.clock.now().unix_ms().unsigned_abs(),
            session_version: self.session_version,
        }
    }

    async fn ring_agent(&mut self) -> Result<(), String> {
        let org = self.ctx.config.org;
        let agent =
            self.ctx.store.get_agent(org, self.offer.agent).await.map_err(|e| e.to_string())?.ok_or("unknown agent")?;
        let queue = self
            .ctx
            .store
            .get_queue(org, self.offer.queue)
            .await
            .map_err(|e| e.to_string())?
            .map(|q| q.name.to_string())
            .unwrap_or_default();
        let (media, customer_rtp) = self.ctx.media.allocate_call().await.map_err(|e| e.to_string())?;
        self.media = Some(media);
        self.ctx.route_media(media, &self.tx);
        self.customer_rtp_port = customer_rtp.port();
        let rtp = self.ctx.media.allocate_leg(media, LegId::Agent).await.map_err(|e| e.to_string())?;
        self.agent_rtp_port = rtp.port();
        let local = self.local(rtp.port());
        let request = DialRequest {
            target: DialTarget::Extension(agent.extension.to_string()),
            caller_number: self.info.number.clone(),
            caller_display: self.info.display.clone(),
            extra_headers: vec![
                ("X-Hotline-Queue".to_owned(), queue),
                ("X-Hotline-Contact".to_owned(), self.contact().to_string()),
                ("X-Hotline-Callback".to_owned(), "1".to_owned()),
            ],
            offer: Some(create_offer(&local, &self.ctx.config.audio)),
            ring_timeout_ms: self.offer.ring_timeout_ms.saturating_add(RING_TIMEOUT_BACKSTOP_MS),
        };
        let leg = self.ctx.calls.dial(request).await.map_err(|e| e.to_string())?;
        self.ctx.route_leg(leg, &self.tx);
        self.legs.push(leg);
        self.agent_leg = Some(leg);
        bump(&self.ctx.counters.agent_legs_dialled);
        Ok(())
    }

    /// Runs until both legs are gone or the offer ended.
    async fn run(&mut self) {
        loop {
            let input = match self.retry_at {
                Some(at) => tokio::select! {
                    input = self.rx.recv() => input,
                    () = tokio::time::sleep_until(at) => {
                        self.retry_at = None;
                        if self.dial_customer().await {
                            return;
                        }
                        continue;
                    }
                },
                None => self.rx.recv().await,
            };
            let Some(input) = input else { return };
            let done = match input {
                Input::Sip(event) => self.on_sip(*event).await,
                Input::Media(MediaEvent::MediaTimeout { leg, reason }) => {
                    tracing::warn!(?leg, ?reason, "callback: no RTP, ending the call");
                    self.end(ContactOutcome::Failed).await;
                    true
                }
                Input::Media(_) => false,
                Input::Control(control) => {
                    // Callbacks take no desktop call controls yet: said plainly, nothing changes.
                    let refusal = "call controls are not available on callbacks yet".to_owned();
                    control.done(Err(center::CenterError::Invalid(refusal)));
                    false
                }
                Input::Offer(center::OfferSignal::Cancel { agent, .. })
                    if agent == self.offer.agent && !self.agent_answered =>
                {
                    // The center's ring timeout (or a forced state): it offers the callback again.
                    if let Some(leg) = self.agent_leg.take() {
                        let _ = self.ctx.calls.cancel(leg).await;
                    }
                    true
                }
                Input::Offer(center::OfferSignal::Offer(o)) => {
                    // One callback task per contact: a second offer goes back.
                    let _ = self.ctx.center.reject(o.agent, o.contact).await;
                    false
                }
                Input::Offer(_) => false,
            };
            if done {
                return;
            }
        }
    }

    /// Returns `true` when the callback is over.
    async fn on_sip(&mut self, event: CallEvent) -> bool {
        let call = event.call();
        let is_agent = Some(call) == self.agent_leg;
        let is_customer = Some(call) == self.customer_leg;
        match event {
            CallEvent::Answered { sdp, .. } if is_agent => self.agent_answered(sdp).await,
            CallEvent::Failed { status, reason, .. } if is_agent => {
                tracing::info!(status, %reason, "callback: agent leg not answered");
                self.agent_leg = None;
                let _ = self.ctx.center.ring_failed(self.offer.agent, self.contact()).await;
                true
            }
            CallEvent::Answered { sdp, .. } if is_customer => self.customer_answered(sdp).await,
            CallEvent::Failed { status, reason, .. } if is_customer => {
                tracing::info!(status, %reason, attempt = self.attempts, "callback: the customer did not answer");
                self.customer_leg = None;
                let attempt = self.attempts;
                self.log(serde_json::json!({ "callback": "not_reached", "status": status, "attempt": attempt })).await;
                if attempt < self.ctx.config.callback_max_attempts {
                    let wait = std::time::Duration::from_millis(self.ctx.config.callback_retry_interval_ms);
                    self.retry_at = Some(tokio::time::Instant::now() + wait);
                    return false;
                }
                self.log(serde_json::json!({ "callback": "failed", "attempts": attempt })).await;
                self.end(ContactOutcome::Failed).await;
                true
            }
            CallEvent::Ended { .. } if is_agent || is_customer => {
                if is_agent {
                    self.agent_leg = None;
                } else {
                    self.customer_leg = None;
                }
                let outcome = if self.connected { ContactOutcome::Answered } else { ContactOutcome::Failed };
                self.end(outcome).await;
                true
            }
            CallEvent::Hold { call, offer, .. } => {
                let port = if is_customer { self.customer_rtp_port } else { self.agent_rtp_port };
                let local = self.local(port);
                match answer_offer(&offer, &local, &self.ctx.config.audio) {
                    Ok((answer, _)) => {
                        let _ = self.ctx.calls.answer(call, answer).await;
                    }
                    Err(e) => {
                        let _ = self.ctx.calls.reject(call, e.status()).await;
                    }
                }
                false
            }
            CallEvent::Refer { call, .. } => {
                let _ = self.ctx.calls.refer_progress(call, StatusCode::FORBIDDEN).await;
                false
            }
            _ => false,
        }
    }

    /// The agent picked up: the offer is accepted and the customer dialled.
    async fn agent_answered(&mut self, sdp: Option<sip::sdp::SessionDescription>) -> bool {
        if self.media.is_none() {
            return true;
        }
        let agreed = sdp.as_ref().map(|s| read_answer(s, &self.ctx.config.audio, Direction::SendRecv));
        let Some(Ok(agreed)) = agreed else {
            tracing::warn!("callback: agent phone answered without a usable SDP answer");
            bump(&self.ctx.counters.errors);
            if let Some(leg) = self.agent_leg.take() {
                let _ = self.ctx.calls.hangup(leg).await;
            }
            let _ = self.ctx.center.reject(self.offer.agent, self.contact()).await;
            return true;
        };
        self.agent_answered = true;
        bump(&self.ctx.counters.agent_legs_answered);
        self.agent_media = Some(leg_spec(&agreed));
        if let Err(e) = self.ctx.center.accept(self.offer.agent, self.contact()).await {
            tracing::warn!(error = %e, "callback: the center refused the answer");
        }
        self.dial_customer().await
    }

    /// Dials the customer (one attempt); returns `true` when the callback is over.
    async fn dial_customer(&mut self) -> bool {
        let (uri, target) = if self.ctx.config.callback_via_trunk {
            (format!("trunk:{}", self.info.number), DialTarget::Number(self.info.number.clone()))
        } else {
            let uri = self.info.uri();
            let Some(target) = sip::Uri::parse(&uri) else {
                tracing::warn!(%uri, "callback: the customer's address is not a SIP URI");
                bump(&self.ctx.counters.errors);
                self.end(ContactOutcome::Failed).await;
                return true;
            };
            (uri, DialTarget::Uri(target))
        };
        let local = self.local(self.customer_rtp_port);
        let request = DialRequest {
            target,
            caller_number: self.info.dialled.clone(),
            caller_display: None,
            extra_headers: vec![("X-Hotline-Contact".to_owned(), self.contact().to_string())],
            offer: Some(create_offer(&local, &self.ctx.config.audio)),
            ring_timeout_ms: self.ctx.config.callback_ring_timeout_ms,
        };
        match self.ctx.calls.dial(request).await {
            Ok(leg) => {
                self.ctx.route_leg(leg, &self.tx);
                self.legs.push(leg);
                self.customer_leg = Some(leg);
                bump(&self.ctx.counters.callbacks_dialled);
                self.attempts += 1;
                let attempt = self.attempts;
                self.log(serde_json::json!({ "callback": "dialled", "to": uri, "attempt": attempt })).await;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "callback: could not dial the customer");
                bump(&self.ctx.counters.errors);
                self.end(ContactOutcome::Failed).await;
                true
            }
        }
    }

    /// The customer picked up: both sides are connected and recorded.
    async fn customer_answered(&mut self, sdp: Option<sip::sdp::SessionDescription>) -> bool {
        let Some(media) = self.media else { return true };
        let agreed = sdp.as_ref().map(|s| read_answer(s, &self.ctx.config.audio, Direction::SendRecv));
        let Some(Ok(agreed)) = agreed else {
            tracing::warn!("callback: the customer answered without a usable SDP answer");
            bump(&self.ctx.counters.errors);
            self.end(ContactOutcome::Failed).await;
            return true;
        };
        if let Err(e) = self.ctx.media.add_leg(media, LegId::Customer, leg_spec(&agreed), None).await {
            tracing::warn!(error = %e, "callback: could not add the customer's media");
        }
        if let Some(spec) = self.agent_media.take()
            && let Err(e) = self.ctx.media.add_leg(media, LegId::Agent, spec, None).await
        {
            tracing::warn!(error = %e, "callback: could not add the agent's media");
        }
        let _ = self.ctx.media.connect(media).await;
        self.connected = true;
        bump(&self.ctx.counters.callbacks_answered);
        self.log(serde_json::json!({ "callback": "answered" })).await;
        let now = self.ctx.clock.now();
        let relative = format!("{}/{}.wav", date_folder(now), self.contact());
        match self.ctx.media.start_recording(media, &relative).await {
            Ok(_) => {
                let detail = serde_json::json!({ "path": relative }).to_string();
                self.recording = Some((relative, now));
                let event = selfservice::event(
                    self.ctx.config.org,
                    self.contact(),
                    now,
                    ContactEventKind::RecordingStarted,
                    detail,
                );
                let _ = self.ctx.store.insert_contact_event(&event).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "callback: recording could not start");
                bump(&self.ctx.counters.errors);
            }
        }
        false
    }

    async fn log(&self, detail: serde_json::Value) {
        let now = self.ctx.clock.now();
        let event =
            selfservice::event(self.ctx.config.org, self.contact(), now, ContactEventKind::Message, detail.to_string());
        if let Err(e) = self.ctx.store.insert_contact_event(&event).await {
            tracing::error!(error = %e, "could not record a contact event");
            bump(&self.ctx.counters.errors);
        }
    }

    /// Hangs up what is still up, stores the recording and ends the contact (agent to wrap-up).
    async fn end(&mut self, outcome: ContactOutcome) {
        for leg in [self.agent_leg.take(), self.customer_leg.take()].into_iter().flatten() {
            let _ = self.ctx.calls.hangup(leg).await;
        }
        self.finish_recording().await;
        if let Err(e) = self.ctx.center.end(self.contact(), outcome).await {
            tracing::warn!(error = %e, "callback: the center refused the end of the contact");
        }
        self.ctx.callbacks().remove(&self.contact());
    }

    async fn finish_recording(&mut self) {
        if let (Some(media), Some((path, started_at))) = (self.media, self.recording.take()) {
            store_recording(&self.ctx, media, path, self.contact(), started_at).await;
        }
    }

    /// Whatever path the task took: legs hung up, recording stored, media released.
    async fn release(&mut self) {
        if let Some(leg) = self.agent_leg.take() {
            if self.agent_answered {
                let _ = self.ctx.calls.hangup(leg).await;
            } else {
                let _ = self.ctx.calls.cancel(leg).await;
            }
        }
        if let Some(leg) = self.customer_leg.take() {
            let _ = self.ctx.calls.hangup(leg).await;
        }
        self.finish_recording().await;
        if let Some(media) = self.media {
            let _ = self.ctx.media.close(media).await;
        }
    }
}
