//! [`CenterHandle`]: the commands channels and the web layer send to the center's task. Each
//! command goes over one bounded queue (full: [`CenterError::Busy`], at once, never a wait) and
//! its answer comes back over a oneshot channel.

use acd::config::RawEntryPoint;
use model::{AgentId, Channel, ContactId, ContactOutcome, OrgId, QueueId, UserId};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::CenterError;
use crate::api::{Counters, Disposition, LiveEvent, NewContact, OfferSignal, Presence, Snapshot};
use crate::calls::{CallChange, CallCommand, CallControl, CallState};

type Reply<T> = oneshot::Sender<Result<T, CenterError>>;

/// Most entry points one route-table replacement may hold.
pub const MAX_ENTRY_POINTS: usize = 256;

/// Commands to the center's task.
pub(crate) enum Command {
    Submit(Box<NewContact>, Reply<ContactId>),
    SelfServed(Box<NewContact>, ContactOutcome, Reply<ContactId>),
    SetQuality { contact: ContactId, mos: f32, reply: Reply<()> },
    Abandon(ContactId, Reply<()>),
    ChooseCallback(ContactId, Reply<()>),
    SetAgentState { agent: AgentId, presence: Presence, forced_by: Option<UserId>, reply: Reply<()> },
    Accept { agent: AgentId, contact: ContactId, reply: Reply<()> },
    Reject { agent: AgentId, contact: ContactId, reply: Reply<()> },
    RingFailed { agent: AgentId, contact: ContactId, reply: Reply<()> },
    End { contact: ContactId, outcome: ContactOutcome, reply: Reply<()> },
    WrapUpDone { agent: AgentId, contact: ContactId, disposition: Disposition, reply: Reply<()> },
    TransferToQueue { contact: ContactId, queue: QueueId, reply: Reply<()> },
    TransferToAgent { contact: ContactId, agent: AgentId, reply: Reply<()> },
    UpsertAgent(Box<model::Agent>, Reply<()>),
    Snapshot(Reply<Snapshot>),
    TakeOffers(Channel, Reply<mpsc::Receiver<OfferSignal>>),
    TakeCallControls(Channel, Reply<mpsc::Receiver<CallControl>>),
    ControlCall(Box<CallControl>),
    CallChanged { contact: ContactId, change: CallChange, state: CallState, reply: Reply<()> },
    Flush(Reply<Counters>),
    ResetDay(Reply<()>),
    Routes(Reply<Vec<RawEntryPoint>>),
    CheckRoutes(Vec<RawEntryPoint>, Reply<model::Timestamp>),
    ReplaceRoutes(Vec<RawEntryPoint>, Reply<()>),
    Shutdown(Reply<()>),
}

/// A handle on the running center. Clone it freely; the center stops when the last handle is
/// dropped (or at [`CenterHandle::shutdown`]).
#[derive(Clone)]
pub struct CenterHandle {
    pub(crate) org: OrgId,
    pub(crate) store: store::Store,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) events: broadcast::Sender<LiveEvent>,
}

impl std::fmt::Debug for CenterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CenterHandle").field("org", &self.org).finish_non_exhaustive()
    }
}

impl CenterHandle {
    /// The org this center serves.
    pub fn org(&self) -> OrgId {
        self.org
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CenterError> {
        let (tx, rx) = oneshot::channel();
        self.commands.try_send(make(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CenterError::Busy(self.commands.max_capacity()),
            mpsc::error::TrySendError::Closed(_) => CenterError::Stopped,
        })?;
        rx.await.map_err(|_| CenterError::Stopped)?
    }

    /// Records a new contact and routes it (entry point's route table, or a queue). When
    /// `contact.vip` is `None` and a customer is given, the customer's tier is read from the
    /// store first (by the caller's task, not the center's). Returns the new contact's id; the
    /// contact is then queued, offered or refused (full, closed) as [`LiveEvent`]s say.
    pub async fn submit(&self, mut contact: NewContact) -> Result<ContactId, CenterError> {
        self.fill_vip(&mut contact).await?;
        self.ask(|r| Command::Submit(Box::new(contact), r)).await
    }

    /// Records a contact the IVR served by itself (outcome `self_served`, never routed).
    pub async fn self_served(&self, contact: NewContact) -> Result<ContactId, CenterError> {
        self.ivr_finished(contact, ContactOutcome::SelfServed).await
    }

    /// Records a contact that ended in the IVR, never routed: `self_served`, `abandoned` (the caller
    /// hung up in the menu), `voicemail` or `failed`. Any other outcome is refused.
    pub async fn ivr_finished(&self, contact: NewContact, outcome: ContactOutcome) -> Result<ContactId, CenterError> {
        if !matches!(
            outcome,
            ContactOutcome::SelfServed | ContactOutcome::Abandoned | ContactOutcome::Voicemail | ContactOutcome::Failed
        ) {
            return Err(CenterError::Invalid(format!(
                "a contact ends in the IVR self_served, abandoned, voicemail or failed, not {outcome}"
            )));
        }
        self.ask(|r| Command::SelfServed(Box::new(contact), outcome, r)).await
    }

    /// Records the call quality (E-model MOS, 1.0–4.5) measured by the media engine on a live
    /// contact (before `end`, or during its wrap-up). Values outside 1.0–5.0 are refused.
    pub async fn set_quality(&self, contact: ContactId, mos: f32) -> Result<(), CenterError> {
        if !(1.0..=5.0).contains(&mos) {
            return Err(CenterError::Invalid(format!("MOS {mos} is outside 1.0 to 5.0")));
        }
        self.ask(|r| Command::SetQuality { contact, mos, reply: r }).await
    }

    /// The customer left while queued or ringing: abandoned, with the wait time.
    pub async fn abandon(&self, contact: ContactId) -> Result<(), CenterError> {
        self.ask(|r| Command::Abandon(contact, r)).await
    }

    /// A waiting customer chose to be called back: the contact keeps its place and is offered as
    /// a callback ([`crate::OfferKind::Callback`]).
    pub async fn choose_callback(&self, contact: ContactId) -> Result<(), CenterError> {
        self.ask(|r| Command::ChooseCallback(contact, r)).await
    }

    /// The agent's own change: Available, Away with a reason, or Offline (signs them out).
    pub async fn set_agent_state(&self, agent: AgentId, presence: Presence) -> Result<(), CenterError> {
        self.ask(|r| Command::SetAgentState { agent, presence, forced_by: None, reply: r }).await
    }

    /// A supervisor forces an agent's state; offers ringing them are withdrawn and requeued.
    /// The change is recorded with `by`.
    pub async fn force_agent_state(&self, by: UserId, agent: AgentId, presence: Presence) -> Result<(), CenterError> {
        self.ask(|r| Command::SetAgentState { agent, presence, forced_by: Some(by), reply: r }).await
    }

    /// The agent accepts an offer (voice: they picked up; desktop: they clicked accept).
    pub async fn accept(&self, agent: AgentId, contact: ContactId) -> Result<(), CenterError> {
        self.ask(|r| Command::Accept { agent, contact, reply: r }).await
    }

    /// The agent declines an offer: it goes to the next agent.
    pub async fn reject(&self, agent: AgentId, contact: ContactId) -> Result<(), CenterError> {
        self.ask(|r| Command::Reject { agent, contact, reply: r }).await
    }

    /// The offer could not ring the agent at all (phone unreachable, not registered, busy, or
    /// the ring failed before the ring timeout): the contact goes to the next agent and the
    /// failure counts as a missed offer, so after the queue's `missed_offers_before_away` in a
    /// row the agent goes Away ("missed") instead of being offered every contact in turn.
    pub async fn ring_failed(&self, agent: AgentId, contact: ContactId) -> Result<(), CenterError> {
        self.ask(|r| Command::RingFailed { agent, contact, reply: r }).await
    }

    /// The conversation is over. A connected contact ends with `outcome` (normally `answered`;
    /// `failed` for a technical end) and its agent goes to the queue's wrap-up; a contact still
    /// waiting or ringing is abandoned instead (the customer hung up first).
    pub async fn end(&self, contact: ContactId, outcome: ContactOutcome) -> Result<(), CenterError> {
        self.ask(|r| Command::End { contact, outcome, reply: r }).await
    }

    /// The agent saves the disposition and finishes wrap-up (before the queue's wrap-up timer;
    /// after it, only the disposition is recorded).
    pub async fn wrap_up_done(
        &self,
        agent: AgentId,
        contact: ContactId,
        disposition: Disposition,
    ) -> Result<(), CenterError> {
        self.ask(|r| Command::WrapUpDone { agent, contact, disposition, reply: r }).await
    }

    /// Moves a waiting, ringing or connected contact to another queue, keeping its history,
    /// priority and first-queued time.
    pub async fn transfer_to_queue(&self, contact: ContactId, queue: QueueId) -> Result<(), CenterError> {
        self.ask(|r| Command::TransferToQueue { contact, queue, reply: r }).await
    }

    /// Moves a contact to a named agent (forced transfer to an expert); it waits for them.
    pub async fn transfer_to_agent(&self, contact: ContactId, agent: AgentId) -> Result<(), CenterError> {
        self.ask(|r| Command::TransferToAgent { contact, agent, reply: r }).await
    }

    /// An agent was added or changed in the store (admin pages): the center knows them from now
    /// on. Skills, languages, capacity and queues apply from their next sign-in (Available from
    /// Offline); their current state is kept. Queues are read at start only; route tables are
    /// replaced with [`CenterHandle::replace_routes`].
    pub async fn upsert_agent(&self, agent: model::Agent) -> Result<(), CenterError> {
        if agent.org != self.org {
            return Err(CenterError::Invalid(format!("agent {} belongs to another org", agent.id)));
        }
        self.ask(|r| Command::UpsertAgent(Box::new(agent), r)).await
    }

    /// Every queue's and agent's live figures.
    pub async fn snapshot(&self) -> Result<Snapshot, CenterError> {
        self.ask(Command::Snapshot).await
    }

    /// The live event stream (bounded: a subscriber that falls `max_live_events` behind gets
    /// `RecvError::Lagged` and should fetch a [`CenterHandle::snapshot`]).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// Takes the offers of `channel` for a consumer of its own (voice rings the phone and calls
    /// [`CenterHandle::accept`] / [`CenterHandle::reject`]). Once per channel; channels nobody
    /// took are offered through [`LiveEvent::ContactOffered`] only (the desktop). If the receiver
    /// is dropped or full, offers of that channel are rejected back to the engine (and counted).
    pub async fn take_offers(&self, channel: Channel) -> Result<mpsc::Receiver<OfferSignal>, CenterError> {
        self.ask(|r| Command::TakeOffers(channel, r)).await
    }

    /// Takes the controls of live calls of `channel` (voice carries hold, recording pause,
    /// consult and monitoring out). Once per channel, like [`CenterHandle::take_offers`].
    pub async fn take_call_controls(&self, channel: Channel) -> Result<mpsc::Receiver<CallControl>, CenterError> {
        self.ask(|r| Command::TakeCallControls(channel, r)).await
    }

    /// Sends `command` to the channel carrying `contact`, which must be connected, and waits
    /// for the channel's answer (at most `CALL_CONTROL_TIMEOUT_MS`).
    pub async fn control_call(&self, contact: ContactId, command: CallCommand) -> Result<(), CenterError> {
        let (tx, rx) = oneshot::channel();
        let control = CallControl { contact, agent: AgentId::from_u128(0), command, reply: tx };
        self.commands.try_send(Command::ControlCall(Box::new(control))).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CenterError::Busy(self.commands.max_capacity()),
            mpsc::error::TrySendError::Closed(_) => CenterError::Stopped,
        })?;
        let wait = std::time::Duration::from_millis(crate::calls::CALL_CONTROL_TIMEOUT_MS);
        match tokio::time::timeout(wait, rx).await {
            Ok(answer) => answer.map_err(|_| CenterError::Stopped)?,
            Err(_) => Err(CenterError::LimitReached("CALL_CONTROL_TIMEOUT_MS")),
        }
    }

    /// The channel changed a live call (hold, recording pause, consult, monitoring): recorded
    /// as a contact event and published as [`LiveEvent::CallUpdated`] with the call's `state`.
    pub async fn call_changed(
        &self,
        contact: ContactId,
        change: CallChange,
        state: CallState,
    ) -> Result<(), CenterError> {
        self.ask(|r| Command::CallChanged { contact, change, state, reply: r }).await
    }

    /// Waits until every store write decided so far is done; returns the counters.
    pub async fn flush(&self) -> Result<Counters, CenterError> {
        self.ask(Command::Flush).await
    }

    /// Midnight: the "today" figures start again (the caller decides when midnight is, in the
    /// org's time zone).
    pub async fn reset_day(&self) -> Result<(), CenterError> {
        self.ask(Command::ResetDay).await
    }

    /// The route tables of every entry point the engine routes by now, as written.
    pub async fn routes(&self) -> Result<Vec<RawEntryPoint>, CenterError> {
        self.ask(Command::Routes).await
    }

    /// Replaces the route tables of every entry point while running: checked against the
    /// engine's queues ([`CenterError::Routes`] names the entry point, rule and unknown queue;
    /// nothing changes then), saved in the store (so a restart keeps them), then applied. Only
    /// contacts arriving afterwards are routed by the new tables; queued ones stay where they are.
    pub async fn replace_routes(&self, entry_points: Vec<RawEntryPoint>) -> Result<(), CenterError> {
        if entry_points.len() > MAX_ENTRY_POINTS {
            return Err(CenterError::Routes(format!("at most {MAX_ENTRY_POINTS} entry points")));
        }
        let checked_at = self.ask(|r| Command::CheckRoutes(entry_points.clone(), r)).await?;
        let json = serde_json::to_string(&entry_points).map_err(|e| CenterError::Routes(e.to_string()))?;
        let table = store::RouteTable { org: self.org, entry_points: json, updated_at: checked_at };
        self.store.put_route_table(&table).await?;
        self.ask(|r| Command::ReplaceRoutes(entry_points, r)).await
    }

    /// Stops the center after writing what it decided. Live contacts stay as their rows say.
    pub async fn shutdown(&self) -> Result<(), CenterError> {
        self.ask(Command::Shutdown).await
    }

    async fn fill_vip(&self, contact: &mut NewContact) -> Result<(), CenterError> {
        if contact.vip.is_none()
            && let Some(customer) = contact.customer
        {
            let found = self.store.get_customer(self.org, customer).await?;
            contact.vip = found.map(|c| c.vip);
        }
        Ok(())
    }
}
