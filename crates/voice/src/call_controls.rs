//! The controls of a connected call that come from the desktop and the wallboard through the
//! center ([`center::CallControl`]): hold with music, PCI recording pause, consult (attended
//! transfer) and silent monitoring (the supervisor's registered phone is rung and added as the
//! media call's supervisor leg, listening or whispering to the agent).
//!
//! Every control is answered exactly once; what changed is reported back to the center
//! (`call_changed`), which records it on the contact and publishes it. Every leg opened here is
//! ended here or by the call's release.

use center::{CallChange, CallCommand, CallControl, CallState, CenterError};
use media_server::{LegId, MonitorMode as MediaMonitor};
use model::{AgentId, UserId};
use sip::sdp::{Direction, create_offer, read_answer};
use sip_server::{CallEvent, CallRef, DialRequest, DialTarget};

use super::{Call, Phase, RING_TIMEOUT_BACKSTOP_MS, leg_spec};
use crate::bump;

/// How long a supervisor's or consulted agent's phone rings before the attempt is given up, in ms.
pub(crate) const CONTROL_RING_TIMEOUT_MS: u64 = 30_000;

/// A phone leg the controls opened (the supervisor's or the consulted agent's).
#[derive(Debug)]
pub(crate) struct ExtraLeg {
    pub leg: CallRef,
    pub answered: bool,
    /// Our RTP port for it (re-INVITEs are answered with it).
    pub local_rtp_port: u16,
}

#[derive(Debug)]
pub(crate) struct Monitor {
    pub phone: ExtraLeg,
    pub supervisor: UserId,
    pub mode: center::MonitorMode,
}

#[derive(Debug)]
pub(crate) struct Consult {
    pub phone: ExtraLeg,
    pub agent: AgentId,
    /// The customer was on hold before the consult (and stays so when it is cancelled).
    pub was_held: bool,
}

/// What the controls changed on this call.
#[derive(Debug, Default)]
pub(crate) struct Controls {
    pub held: bool,
    pub recording_paused: bool,
    pub monitor: Option<Monitor>,
    pub consult: Option<Consult>,
    /// The consult was completed: the ACD's offer of the contact to this agent is accepted at
    /// once (their phone is already in the call).
    pub completed_to: Option<AgentId>,
}

fn invalid(m: impl Into<String>) -> CenterError {
    CenterError::Invalid(m.into())
}

fn media_mode(mode: center::MonitorMode) -> MediaMonitor {
    match mode {
        center::MonitorMode::Listen => MediaMonitor::Listen,
        center::MonitorMode::Whisper => MediaMonitor::Whisper,
    }
}

impl Call {
    fn call_state(&self) -> CallState {
        let c = &self.controls;
        CallState {
            held: c.held,
            recording_paused: c.recording_paused,
            consulting: c.consult.as_ref().map(|k| k.agent),
            monitor: c.monitor.as_ref().filter(|m| m.phone.answered).map(|m| m.mode),
        }
    }

    pub(super) async fn report(&self, change: CallChange) {
        let Some(contact) = self.contact else { return };
        if let Err(e) = self.ctx.center.call_changed(contact, change, self.call_state()).await {
            tracing::info!(error = %e, "call change not recorded");
        }
    }

    /// A control from the center, answered exactly once.
    pub(super) async fn on_control(&mut self, control: CallControl) {
        let result = if self.phase != Phase::Connected || self.agent.as_ref().is_none_or(|a| !a.answered) {
            Err(invalid(format!("{}: the call is not connected to an agent", control.command.name())))
        } else {
            self.apply(control.command.clone()).await
        };
        control.done(result);
    }

    async fn apply(&mut self, command: CallCommand) -> Result<(), CenterError> {
        let media = self.media.ok_or_else(|| invalid("the call has no media"))?;
        let failed = |e: media_server::MediaServerError| invalid(format!("media: {e}"));
        match command {
            CallCommand::Hold | CallCommand::Resume => {
                let hold = command == CallCommand::Hold;
                if self.controls.consult.is_some() {
                    return Err(invalid("the customer is held while a consult is on"));
                }
                if self.controls.held == hold {
                    return Err(invalid(if hold { "the call is on hold already" } else { "the call is not on hold" }));
                }
                if hold {
                    self.ctx.media.hold(media, vec![self.ctx.prompts.hold_music()]).await.map_err(failed)?;
                } else {
                    self.ctx.media.unhold(media).await.map_err(failed)?;
                }
                self.controls.held = hold;
                self.report(if hold { CallChange::Held } else { CallChange::Resumed }).await;
            }
            CallCommand::PauseRecording | CallCommand::ResumeRecording => {
                let pause = command == CallCommand::PauseRecording;
                if self.recording_path.is_none() {
                    return Err(invalid("the call is not being recorded"));
                }
                if self.controls.recording_paused == pause {
                    return Err(invalid(if pause {
                        "the recording is paused already"
                    } else {
                        "the recording is not paused"
                    }));
                }
                self.ctx.media.pause_recording(media, pause).await.map_err(failed)?;
                self.controls.recording_paused = pause;
                self.report(if pause { CallChange::RecordingPaused } else { CallChange::RecordingResumed }).await;
            }
            CallCommand::Monitor { supervisor, extension, mode } => {
                self.monitor(media, supervisor, extension.as_str(), mode).await?;
            }
            CallCommand::StopMonitor => {
                let Some(m) = self.controls.monitor.take() else { return Err(invalid("nobody monitors the call")) };
                self.end_extra_leg(&m.phone, LegId::Supervisor).await;
                if m.phone.answered {
                    self.report(CallChange::MonitorEnded { supervisor: m.supervisor }).await;
                }
            }
            CallCommand::Consult { agent } => self.consult(media, agent).await?,
            CallCommand::CancelConsult => {
                let Some(k) = self.controls.consult.take() else { return Err(invalid("no consult is on")) };
                self.end_extra_leg(&k.phone, LegId::Consult).await;
                self.back_to_customer(media, &k).await;
            }
            CallCommand::CompleteConsult => self.complete_consult(media).await?,
        }
        Ok(())
    }

    async fn monitor(
        &mut self,
        media: media_server::CallId,
        supervisor: UserId,
        extension: &str,
        mode: center::MonitorMode,
    ) -> Result<(), CenterError> {
        if let Some(m) = self.controls.monitor.as_mut() {
            if m.supervisor != supervisor {
                return Err(invalid("another supervisor monitors the call"));
            }
            m.mode = mode;
            if m.phone.answered {
                let _ = self.ctx.media.set_monitor_mode(media, media_mode(mode)).await;
                self.report(CallChange::MonitorStarted { supervisor, mode }).await;
            }
            return Ok(());
        }
        let phone = self.dial_extra(media, LegId::Supervisor, extension, "Hotline monitor").await?;
        self.controls.monitor = Some(Monitor { phone, supervisor, mode });
        Ok(())
    }

    /// Holds the customer and rings the other agent's phone as the consult leg.
    async fn consult(&mut self, media: media_server::CallId, agent: AgentId) -> Result<(), CenterError> {
        if self.controls.consult.is_some() {
            return Err(invalid("a consult is on already"));
        }
        if self.agent.as_ref().is_some_and(|a| a.agent == agent) {
            return Err(invalid("an agent cannot consult themselves"));
        }
        let org = self.ctx.config.org;
        let target = self.ctx.store.get_agent(org, agent).await.map_err(|e| CenterError::Store(e.to_string()))?;
        let target = target.ok_or(CenterError::UnknownAgent(agent))?;
        let was_held = self.controls.held;
        if !was_held {
            let music = vec![self.ctx.prompts.hold_music()];
            self.ctx.media.hold(media, music).await.map_err(|e| invalid(format!("media: {e}")))?;
        }
        let phone = match self.dial_extra(media, LegId::Consult, target.extension.as_str(), "Hotline consult").await {
            Ok(phone) => phone,
            Err(e) => {
                if !was_held {
                    let _ = self.ctx.media.unhold(media).await;
                }
                return Err(e);
            }
        };
        self.controls.held = true;
        self.controls.consult = Some(Consult { phone, agent, was_held });
        self.report(CallChange::ConsultRinging { agent }).await;
        Ok(())
    }

    /// The consult is over without a transfer: the agent talks with the customer again (unless
    /// the customer was on hold before it).
    async fn back_to_customer(&mut self, media: media_server::CallId, k: &Consult) {
        if !k.was_held {
            let _ = self.ctx.media.unhold(media).await;
            self.controls.held = false;
        }
        self.report(CallChange::ConsultEnded { agent: k.agent, completed: false }).await;
    }

    /// The consulted agent takes the customer: the contact is transferred to them in the center
    /// (the first agent goes to wrap-up; the ACD's offer to the new agent is accepted at once),
    /// their phone becomes the call's agent leg and the first agent's phone is hung up.
    async fn complete_consult(&mut self, media: media_server::CallId) -> Result<(), CenterError> {
        let contact = self.contact.ok_or_else(|| invalid("the call has no contact"))?;
        let answered = self.controls.consult.as_ref().map(|k| k.phone.answered);
        match answered {
            None => return Err(invalid("no consult is on")),
            Some(false) => return Err(invalid("the consulted agent has not answered yet")),
            Some(true) => {}
        }
        let Some(k) = self.controls.consult.take() else { return Err(invalid("no consult is on")) };
        self.controls.completed_to = Some(k.agent);
        if let Err(e) = self.ctx.center.transfer_to_agent(contact, k.agent).await {
            self.controls.completed_to = None;
            self.controls.consult = Some(k);
            return Err(e);
        }
        if let Err(e) = self.ctx.media.complete_consult(media).await {
            tracing::warn!(error = %e, "consult media could not be completed");
            bump(&self.ctx.counters.errors);
        }
        if let Some(first) = self.agent.take() {
            let _ = self.ctx.calls.hangup(first.leg).await;
            self.ctx.forget_leg(first.leg);
        }
        self.agent = Some(super::AgentLeg {
            agent: k.agent,
            leg: k.phone.leg,
            answered: true,
            local_rtp_port: k.phone.local_rtp_port,
        });
        self.controls.held = false;
        self.report(CallChange::ConsultEnded { agent: k.agent, completed: true }).await;
        Ok(())
    }

    /// The ACD offers the contact to the agent a consult was completed to: accepted at once.
    /// `true` when the offer was that one.
    pub(super) async fn accept_completed_consult(&mut self, offer: &center::Offer) -> bool {
        if self.controls.completed_to != Some(offer.agent) {
            return false;
        }
        self.controls.completed_to = None;
        if let Err(e) = self.ctx.center.accept(offer.agent, offer.contact).await {
            tracing::warn!(error = %e, "the center refused the consulted agent's answer");
        }
        true
    }

    /// Rings a phone for a leg of the media call (`Supervisor`), caller id the customer's.
    async fn dial_extra(
        &mut self,
        media: media_server::CallId,
        leg_id: LegId,
        extension: &str,
        display: &str,
    ) -> Result<ExtraLeg, CenterError> {
        let rtp = self.ctx.media.allocate_leg(media, leg_id).await.map_err(|e| invalid(format!("media: {e}")))?;
        let local = self.local(rtp.port(), Direction::SendRecv);
        let request = DialRequest {
            target: DialTarget::Extension(extension.to_owned()),
            caller_number: self.caller.clone(),
            caller_display: Some(display.to_owned()),
            extra_headers: self.contact.map(|c| ("X-Hotline-Contact".to_owned(), c.to_string())).into_iter().collect(),
            offer: Some(create_offer(&local, &self.ctx.config.audio)),
            ring_timeout_ms: CONTROL_RING_TIMEOUT_MS + RING_TIMEOUT_BACKSTOP_MS,
        };
        let leg = match self.ctx.calls.dial(request).await {
            Ok(leg) => leg,
            Err(e) => {
                let _ = self.ctx.media.remove_leg(media, leg_id).await;
                return Err(invalid(format!("could not ring {extension}: {e}")));
            }
        };
        self.ctx.route_leg(leg, &self.tx);
        self.legs_opened.push(leg);
        Ok(ExtraLeg { leg, answered: false, local_rtp_port: rtp.port() })
    }

    /// Hangs up (or cancels) a control leg and frees its media.
    async fn end_extra_leg(&mut self, phone: &ExtraLeg, leg_id: LegId) {
        if phone.answered {
            let _ = self.ctx.calls.hangup(phone.leg).await;
        } else {
            let _ = self.ctx.calls.cancel(phone.leg).await;
        }
        self.ctx.forget_leg(phone.leg);
        if let Some(media) = self.media {
            let _ = self.ctx.media.remove_leg(media, leg_id).await;
        }
    }

    /// SIP events of the control legs; `true` when the event was one of theirs.
    pub(super) async fn on_control_leg_event(&mut self, event: &CallEvent) -> bool {
        let call = event.call();
        if self.controls.monitor.as_ref().is_some_and(|m| m.phone.leg == call) {
            self.on_monitor_event(event).await;
            return true;
        }
        if self.controls.consult.as_ref().is_some_and(|k| k.phone.leg == call) {
            self.on_consult_event(event).await;
            return true;
        }
        false
    }

    async fn on_monitor_event(&mut self, event: &CallEvent) {
        match event {
            CallEvent::Answered { sdp, .. } => {
                let Some(media) = self.media else { return };
                let agreed = sdp.as_ref().map(|s| read_answer(s, &self.ctx.config.audio, Direction::SendRecv));
                let Some(m) = self.controls.monitor.as_mut() else { return };
                let Some(Ok(agreed)) = agreed else {
                    tracing::warn!("supervisor phone answered without a usable SDP answer");
                    bump(&self.ctx.counters.errors);
                    if let Some(m) = self.controls.monitor.take() {
                        let phone = ExtraLeg { answered: true, ..m.phone };
                        self.end_extra_leg(&phone, LegId::Supervisor).await;
                    }
                    return;
                };
                m.phone.answered = true;
                let (supervisor, mode) = (m.supervisor, m.mode);
                let added = self.ctx.media.add_leg(media, LegId::Supervisor, leg_spec(&agreed), Some(media_mode(mode)));
                if let Err(e) = added.await {
                    tracing::warn!(error = %e, "could not add the supervisor's media");
                }
                self.report(CallChange::MonitorStarted { supervisor, mode }).await;
            }
            CallEvent::Ended { .. } | CallEvent::Failed { .. } => {
                let Some(m) = self.controls.monitor.take() else { return };
                self.ctx.forget_leg(m.phone.leg);
                if let Some(media) = self.media {
                    let _ = self.ctx.media.remove_leg(media, LegId::Supervisor).await;
                }
                if m.phone.answered {
                    self.report(CallChange::MonitorEnded { supervisor: m.supervisor }).await;
                }
            }
            _ => {}
        }
    }

    async fn on_consult_event(&mut self, event: &CallEvent) {
        let Some(media) = self.media else { return };
        match event {
            CallEvent::Answered { sdp, .. } => {
                let agreed = sdp.as_ref().map(|s| read_answer(s, &self.ctx.config.audio, Direction::SendRecv));
                let Some(Ok(agreed)) = agreed else {
                    tracing::warn!("consulted agent's phone answered without a usable SDP answer");
                    bump(&self.ctx.counters.errors);
                    if let Some(k) = self.controls.consult.take() {
                        let phone = ExtraLeg { answered: true, ..k.phone };
                        self.end_extra_leg(&phone, LegId::Consult).await;
                        self.back_to_customer(media, &k).await;
                    }
                    return;
                };
                if let Err(e) = self.ctx.media.add_leg(media, LegId::Consult, leg_spec(&agreed), None).await {
                    tracing::warn!(error = %e, "could not add the consulted agent's media");
                }
                let _ = self.ctx.media.connect_consult(media).await;
                let Some(k) = self.controls.consult.as_mut() else { return };
                k.phone.answered = true;
                let agent = k.agent;
                self.report(CallChange::ConsultAnswered { agent }).await;
            }
            CallEvent::Ended { .. } | CallEvent::Failed { .. } => {
                let Some(k) = self.controls.consult.take() else { return };
                self.ctx.forget_leg(k.phone.leg);
                let _ = self.ctx.media.remove_leg(media, LegId::Consult).await;
                self.back_to_customer(media, &k).await;
            }
            _ => {}
        }
    }

    /// The call is over: every control leg still up is ended.
    pub(super) async fn release_controls(&mut self) {
        if let Some(m) = self.controls.monitor.take() {
            self.end_extra_leg(&m.phone, LegId::Supervisor).await;
        }
        if let Some(k) = self.controls.consult.take() {
            self.end_extra_leg(&k.phone, LegId::Consult).await;
        }
    }
}
