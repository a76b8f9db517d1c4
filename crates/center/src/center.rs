//! The center's task: owns the engine and the center's mirror of contacts, agents and queues;
//! turns commands and timers into engine inputs, and engine outputs into records, live events
//! and offers ([`crate::outputs`]). It never awaits the store: writes go to [`Writer`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use acd::config::RawEntryPoint;
use acd::{Acd, AcdConfig, AgentProfile, ContactRequest, Input};
use model::{
    Agent, AgentId, AgentState, Channel, Contact, ContactEvent, ContactEventId, ContactEventKind, ContactId,
    ContactOutcome, ContactStatus, Direction, OrgId, QueueId, ReasonCode, Timestamp, UserId,
};
use store::{AgentPresence, Page, Store};
use tokio::sync::{broadcast, mpsc};

use crate::api::{
    Disposition, LiveEvent, MAX_ADDRESS_BYTES, MAX_IVR_DIGITS_BYTES, MAX_IVR_PATH_NODES, MAX_NOTES_BYTES, NewContact,
    OfferSignal, Presence,
};
use crate::handle::{CenterHandle, Command};
use crate::persist::{SharedCounters, Write, Writer};
use crate::{CenterConfig, CenterError, Clock, Routes};

/// Most agents, queues or skills loaded from the store at start.
pub const MAX_LOADED_ROWS: usize = 10_000;
/// How far back a start looks for contacts a previous run left unfinished.
const UNFINISHED_LOOKBACK_MS: i64 = 7 * 24 * 3_600_000;

/// A contact the center holds: its row as last written, and where it is.
#[derive(Debug)]
pub(crate) struct LiveContact {
    pub row: Contact,
    /// When it entered its current queue (its place and wait there count from here).
    pub entered_queue_at: Option<Timestamp>,
    /// Agents it rings now.
    pub ringing: Vec<AgentId>,
    /// What `end` asked for (answered or failed), used when the engine finishes it.
    pub end_outcome: Option<ContactOutcome>,
    /// Agents in wrap-up on it, and when the wrap-up ends by itself.
    pub wrap_ups: Vec<(AgentId, Timestamp)>,
    /// Why the engine refused it, until its end is recorded.
    pub refusal: Option<crate::api::Refusal>,
}

#[derive(Debug)]
pub(crate) struct AgentLive {
    pub row: Agent,
    pub state: AgentState,
    pub reason: Option<ReasonCode>,
    pub since: Timestamp,
    pub logged_in: bool,
    /// Ringing, connected or in wrap-up.
    pub contacts: BTreeSet<ContactId>,
}

/// Today's figures of a queue.
#[derive(Debug, Default, Clone)]
pub(crate) struct DayStats {
    pub offered: u32,
    pub answered: u32,
    pub abandoned: u32,
    pub answered_within_sl: u32,
    pub answered_wait_ms: u64,
}

#[derive(Debug)]
pub(crate) struct QueueLive {
    pub name: String,
    pub wrap_up_ms: u64,
    pub sl_threshold_ms: u64,
    pub sl_percent: u8,
    /// Waiting contacts by (entered queue at ms, id): the first is the longest waiting.
    pub waiting: BTreeSet<(i64, ContactId)>,
    pub today: DayStats,
}

pub(crate) struct Core {
    pub org: OrgId,
    pub acd: Acd,
    pub clock: Arc<dyn Clock>,
    pub config: CenterConfig,
    pub contacts: HashMap<ContactId, LiveContact>,
    pub agents: BTreeMap<AgentId, AgentLive>,
    pub queues: BTreeMap<QueueId, QueueLive>,
    /// (due, agent, contact) of wrap-ups that end by themselves.
    pub wrap_up_due: BTreeSet<(Timestamp, AgentId, ContactId)>,
    pub events: broadcast::Sender<LiveEvent>,
    pub offers: HashMap<Channel, mpsc::Sender<OfferSignal>>,
    /// Consumers of live-call controls, per channel.
    pub controls: HashMap<Channel, mpsc::Sender<crate::calls::CallControl>>,
    pub writer: Writer,
    pub counters: Arc<SharedCounters>,
    /// The supervisor whose force is being applied (for the state change rows).
    pub forcing: Option<UserId>,
    /// Queues whose figures changed in this pass.
    pub touched: BTreeSet<QueueId>,
    /// Offers to hand back to the engine after this pass (no consumer could take them).
    pub undeliverable: Vec<(AgentId, ContactId)>,
    /// The route tables the engine runs on, as written (answered by [`CenterHandle::routes`]).
    pub routes: Vec<RawEntryPoint>,
    ids: uuid::ContextV7,
}

/// Every row of a paged store listing, at most [`MAX_LOADED_ROWS`].
macro_rules! load_all {
    ($store:expr, $list:ident, $org:expr) => {{
        let mut out = Vec::new();
        let mut page = Page::first(store::MAX_PAGE_SIZE);
        loop {
            let got = $store.$list($org, &page).await?;
            out.extend(got.items);
            if out.len() > MAX_LOADED_ROWS {
                return Err(CenterError::LimitReached("MAX_LOADED_ROWS (agents, queues or skills of one org)"));
            }
            match got.next {
                Some(cursor) => page = Page::after(store::MAX_PAGE_SIZE, cursor),
                None => break out,
            }
        }
    }};
}

pub(crate) async fn start(
    store: Store,
    org: OrgId,
    routes: &Routes,
    config: CenterConfig,
    clock: Arc<dyn Clock>,
) -> Result<(CenterHandle, tokio::task::JoinHandle<()>), CenterError> {
    let queues = load_all!(store, list_queues, org);
    let skills = load_all!(store, list_skills, org);
    let agents = load_all!(store, list_agents, org);
    let (acd_config, entry_points) = match stored_routes(&store, org, routes, &queues, &skills).await? {
        Some(found) => found,
        None => (routes.acd_config(&queues, &skills)?, routes.entry_points.clone()),
    };
    let presence = store.list_agent_presence(org, store::MAX_LIVE_ROWS).await?;
    let now = clock.now();
    let since = Timestamp::from_unix_ms(now.unix_ms().saturating_sub(UNFINISHED_LOOKBACK_MS));
    let unfinished = store.list_unfinished_contacts(org, since, store::MAX_LIVE_ROWS).await?;

    let counters = Arc::new(SharedCounters::default());
    let (writer, writer_task) = Writer::spawn(
        store.clone(),
        config.max_pending_writes,
        config.store_retries,
        config.store_retry_backoff_ms,
        counters.clone(),
    );
    let (events, _) = broadcast::channel(config.max_live_events.max(1));
    let mut core = Core::new(org, &acd_config, &queues, agents, clock, config, events.clone(), writer, counters);
    core.routes = entry_points;
    core.close_previous_run(now, &presence, unfinished);

    let (tx, rx) = mpsc::channel(config.max_queued_commands.max(1));
    let task = tokio::spawn(async move {
        core.run(rx).await;
        drop(core);
        let _ = writer_task.await;
    });
    Ok((CenterHandle { org, store, commands: tx, events }, task))
}

/// The route tables an admin saved through the API (they replace the routes text's), with the
/// engine configuration they give; `None` when none was saved, or when the saved ones no longer
/// fit the store's queues (logged; the routes text applies then).
async fn stored_routes(
    store: &Store,
    org: OrgId,
    routes: &Routes,
    queues: &[model::Queue],
    skills: &[model::Skill],
) -> Result<Option<(AcdConfig, Vec<RawEntryPoint>)>, CenterError> {
    let Some(table) = store.get_route_table(org).await? else { return Ok(None) };
    let entry_points: Vec<RawEntryPoint> = match serde_json::from_str(&table.entry_points) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "stored route table unreadable; using the routes file's");
            return Ok(None);
        }
    };
    let with_stored = Routes { entry_points: entry_points.clone(), ..routes.clone() };
    match with_stored.acd_config(queues, skills) {
        Ok(config) => Ok(Some((config, entry_points))),
        Err(e) => {
            tracing::warn!(error = %e, "stored route table does not fit the queues; using the routes file's");
            Ok(None)
        }
    }
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    fn new(
        org: OrgId,
        acd_config: &AcdConfig,
        queues: &[model::Queue],
        agents: Vec<Agent>,
        clock: Arc<dyn Clock>,
        config: CenterConfig,
        events: broadcast::Sender<LiveEvent>,
        writer: Writer,
        counters: Arc<SharedCounters>,
    ) -> Self {
        let now = clock.now();
        let queues = queues
            .iter()
            .map(|q| {
                let live = QueueLive {
                    name: q.name.to_string(),
                    wrap_up_ms: acd_config.queue_by_name(q.name.as_str()).map_or(0, |c| c.wrap_up.as_ms()),
                    sl_threshold_ms: q.service_level.threshold.as_ms(),
                    sl_percent: q.service_level.percent,
                    waiting: BTreeSet::new(),
                    today: DayStats::default(),
                };
                (q.id, live)
            })
            .collect();
        let agents = agents
            .into_iter()
            .map(|row| {
                let live = AgentLive {
                    row,
                    state: AgentState::Offline,
                    reason: None,
                    since: now,
                    logged_in: false,
                    contacts: BTreeSet::new(),
                };
                (live.row.id, live)
            })
            .collect();
        Self {
            org,
            acd: Acd::new(acd_config.clone()),
            clock,
            config,
            contacts: HashMap::new(),
            agents,
            queues,
            wrap_up_due: BTreeSet::new(),
            events,
            offers: HashMap::new(),
            controls: HashMap::new(),
            writer,
            counters,
            forcing: None,
            touched: BTreeSet::new(),
            undeliverable: Vec::new(),
            routes: Vec::new(),
            ids: uuid::ContextV7::new(),
        }
    }

    /// Agents start Offline: close the states a previous run left, and end its unfinished contacts.
    fn close_previous_run(&mut self, now: Timestamp, presence: &[AgentPresence], unfinished: Vec<Contact>) {
        let restart = ReasonCode::parse("restart").expect("\"restart\" is a valid reason code");
        for p in presence {
            if p.state == AgentState::Offline || !self.agents.contains_key(&p.agent) {
                continue;
            }
            let change = model::AgentStateChange {
                id: model::AgentStateChangeId::from_uuid(self.new_id(now)),
                org: self.org,
                agent: p.agent,
                at: now,
                from: p.state,
                to: AgentState::Offline,
                reason: Some(restart.clone()),
                forced_by: None,
            };
            let presence = AgentPresence { state: AgentState::Offline, reason: None, since: now, ..p.clone() };
            self.writer.push(Write::AgentState(change, presence));
        }
        for mut row in unfinished {
            row.status = ContactStatus::Ended;
            row.outcome = Some(ContactOutcome::Failed);
            row.ended_at = Some(now);
            let event = self.event(&row, now, ContactEventKind::Ended, serde_json::json!({"reason": "restart"}));
            self.writer.push(Write::Contact(Box::new(row)));
            self.writer.push(Write::Event(event));
        }
    }

    async fn run(&mut self, mut rx: mpsc::Receiver<Command>) {
        loop {
            let deadline = self.next_deadline();
            let sleep = sleep_until(deadline.map(|at| self.clock.sleep_until(at)));
            // Timers first: a command queued after the clock passed a timer sees its effects.
            tokio::select! {
                biased;
                () = sleep => {
                    let now = self.clock.now();
                    self.acd.handle_timeout(now);
                    self.settle(now);
                }
                cmd = rx.recv() => match cmd {
                    None => break,
                    Some(Command::Shutdown(reply)) => {
                        self.writer.push(Write::Flush(flush_then(reply)));
                        break;
                    }
                    Some(cmd) => self.command(cmd),
                },
            }
        }
    }

    /// When the next timer (engine or wrap-up) is due.
    fn next_deadline(&self) -> Option<Timestamp> {
        let engine = self.acd.poll_timeout();
        let wrap_up = self.wrap_up_due.first().map(|(at, _, _)| *at);
        engine.into_iter().chain(wrap_up).min()
    }

    /// A fresh time-ordered id (monotonic within the center, so same-millisecond rows sort in
    /// the order they were decided).
    pub fn new_id(&self, at: Timestamp) -> uuid::Uuid {
        let ms = u64::try_from(at.unix_ms()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(&self.ids, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
        uuid::Uuid::new_v7(ts)
    }

    /// A contact event of `row` (its queue and agent as they are now).
    pub fn event(
        &self,
        row: &Contact,
        at: Timestamp,
        kind: ContactEventKind,
        detail: serde_json::Value,
    ) -> ContactEvent {
        ContactEvent {
            id: ContactEventId::from_uuid(self.new_id(at)),
            org: self.org,
            contact: row.id,
            at,
            kind,
            agent: row.agent,
            queue: row.queue,
            detail: detail.to_string(),
        }
    }

    pub fn publish(&self, event: LiveEvent) {
        // No subscriber is not an error: the event is in the store anyway.
        let _ = self.events.send(event);
    }

    fn command(&mut self, cmd: Command) {
        let now = self.clock.now();
        match cmd {
            Command::Submit(new, reply) => {
                let result = self.submit(now, *new);
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::SelfServed(new, outcome, reply) => {
                let _ = reply.send(self.self_served(now, *new, outcome));
            }
            Command::SetQuality { contact, mos, reply } => {
                let result = match self.contacts.get_mut(&contact) {
                    Some(live) => {
                        live.row.quality_mos = Some(mos);
                        self.writer.push(Write::Contact(Box::new(live.row.clone())));
                        Ok(())
                    }
                    None => Err(CenterError::UnknownContact(contact)),
                };
                let _ = reply.send(result);
            }
            Command::Abandon(contact, reply) => {
                let result = self.known(contact).and_then(|()| self.engine(now, Input::ContactAbandoned(contact)));
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::ChooseCallback(contact, reply) => {
                let result = self.known(contact).and_then(|()| self.engine(now, Input::CallbackChosen(contact)));
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::SetAgentState { agent, presence, forced_by, reply } => {
                let result = self.set_agent_state(now, agent, presence, forced_by);
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::Accept { agent, contact, reply } => {
                let result = self.engine(now, Input::OfferAccepted { agent, contact });
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::Reject { agent, contact, reply } => {
                let result = self.engine(now, Input::OfferRejected { agent, contact });
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::RingFailed { agent, contact, reply } => {
                let result = self.engine(now, Input::OfferFailed { agent, contact });
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::End { contact, outcome, reply } => {
                let result = self.end(now, contact, outcome);
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::WrapUpDone { agent, contact, disposition, reply } => {
                let result = self.wrap_up_done(now, agent, contact, disposition);
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::TransferToQueue { contact, queue, reply } => {
                let result = self.transfer(now, contact, Input::TransferToQueue { contact, queue });
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::TransferToAgent { contact, agent, reply } => {
                let result = self.transfer(now, contact, Input::TransferToAgent { contact, agent });
                self.settle(now);
                let _ = reply.send(result);
            }
            other => self.query(now, other),
        }
    }

    /// Commands that read or configure rather than route.
    fn query(&mut self, now: Timestamp, cmd: Command) {
        match cmd {
            Command::Snapshot(reply) => {
                let _ = reply.send(Ok(self.snapshot(now)));
            }
            Command::UpsertAgent(agent, reply) => {
                let _ = reply.send(self.upsert_agent(now, *agent));
            }
            Command::TakeOffers(channel, reply) => {
                let _ = reply.send(self.take_offers(channel));
            }
            Command::TakeCallControls(channel, reply) => {
                let _ = reply.send(self.take_call_controls(channel));
            }
            Command::ControlCall(control) => self.control_call(*control),
            Command::CallChanged { contact, change, state, reply } => {
                let _ = reply.send(self.call_changed(now, contact, &change, state));
            }
            Command::Flush(reply) => self.writer.push(Write::Flush(reply)),
            Command::Routes(reply) => {
                let _ = reply.send(Ok(self.routes.clone()));
            }
            Command::CheckRoutes(entry_points, reply) => {
                let checked = self.acd.config().entry_points_from(&entry_points).map(|_| now);
                let _ = reply.send(checked.map_err(|e| CenterError::Routes(e.to_string())));
            }
            Command::ReplaceRoutes(entry_points, reply) => {
                let replaced = self.acd.replace_entry_points(&entry_points);
                if replaced.is_ok() {
                    self.routes = entry_points;
                }
                let _ = reply.send(replaced.map_err(|e| CenterError::Routes(e.to_string())));
            }
            Command::ResetDay(reply) => {
                for q in self.queues.values_mut() {
                    q.today = DayStats::default();
                }
                let result = self.engine(now, Input::ResetDailyCounters);
                self.touched.extend(self.queues.keys().copied());
                self.settle(now);
                let _ = reply.send(result);
            }
            Command::Shutdown(reply) => {
                let _ = reply.send(Ok(()));
            }
            _ => {}
        }
    }

    fn upsert_agent(&mut self, now: Timestamp, row: Agent) -> Result<(), CenterError> {
        if let Some(live) = self.agents.get_mut(&row.id) {
            live.row = row;
            return Ok(());
        }
        if self.agents.len() >= MAX_LOADED_ROWS {
            return Err(CenterError::LimitReached("MAX_LOADED_ROWS (agents of one org)"));
        }
        let live = AgentLive {
            row,
            state: AgentState::Offline,
            reason: None,
            since: now,
            logged_in: false,
            contacts: BTreeSet::new(),
        };
        self.agents.insert(live.row.id, live);
        Ok(())
    }

    fn known(&self, contact: ContactId) -> Result<(), CenterError> {
        if self.contacts.contains_key(&contact) { Ok(()) } else { Err(CenterError::UnknownContact(contact)) }
    }

    /// Feeds the engine; a refusal is counted and returned.
    pub fn engine(&mut self, now: Timestamp, input: Input) -> Result<(), CenterError> {
        self.acd.handle(now, input).map_err(|e| {
            SharedCounters::bump(&self.counters.commands_refused);
            CenterError::Refused(e)
        })
    }

    fn submit(&mut self, now: Timestamp, new: NewContact) -> Result<ContactId, CenterError> {
        check_new(&new)?;
        if self.contacts.len() >= self.config.max_live_contacts {
            return Err(CenterError::LimitReached("max_live_contacts"));
        }
        let id = ContactId::from_uuid(self.new_id(now));
        let row = self.new_row(id, now, &new);
        let mut req = ContactRequest::new(id, new.channel, new.entry.clone());
        req.vip = new.vip.unwrap_or(model::VipTier::Normal);
        req.issue_type = new.issue_type;
        req.language = new.language;
        req.required_skills = new.required_skills;
        req.priority = new.priority;
        req.attributes = new.attributes;
        // Timers due now first, so their outputs are not mixed with a contact not yet recorded.
        self.acd.handle_timeout(now);
        self.settle(now);
        self.engine(now, Input::ContactArrived(req))?;
        let mut arrived = self.event(&row, row.arrived_at, ContactEventKind::Arrived, serde_json::json!({}));
        arrived.at = row.arrived_at;
        self.writer.push(Write::Contact(Box::new(row.clone())));
        self.writer.push(Write::Event(arrived));
        let live = LiveContact {
            row,
            entered_queue_at: None,
            ringing: Vec::new(),
            end_outcome: None,
            wrap_ups: Vec::new(),
            refusal: None,
        };
        self.contacts.insert(id, live);
        Ok(id)
    }

    fn new_row(&self, id: ContactId, now: Timestamp, new: &NewContact) -> Contact {
        let arrived_at = new.ivr.as_ref().and_then(|i| i.arrived_at).unwrap_or(now);
        let mut row = Contact::arrived(
            id,
            self.org,
            new.channel,
            Direction::Inbound,
            &new.from_address,
            &new.to_address,
            arrived_at,
        );
        row.customer = new.customer;
        row.issue_type = new.issue_type.clone();
        row.language = new.language.clone();
        if let Some(ivr) = &new.ivr {
            row.ivr_left_at = Some(now);
            row.ivr_path = ivr.path.clone();
            row.ivr_digits = ivr.digits.clone();
        }
        row
    }

    fn self_served(
        &mut self,
        now: Timestamp,
        new: NewContact,
        outcome: ContactOutcome,
    ) -> Result<ContactId, CenterError> {
        check_new(&new)?;
        let id = ContactId::from_uuid(self.new_id(now));
        let mut row = self.new_row(id, now, &new);
        row.status = ContactStatus::Ended;
        row.outcome = Some(outcome);
        row.ended_at = Some(now);
        let event = self.event(&row, now, ContactEventKind::Ended, serde_json::json!({"outcome": outcome.as_str()}));
        self.writer.push(Write::Contact(Box::new(row)));
        self.writer.push(Write::Event(event));
        self.publish(LiveEvent::ContactEnded {
            org: self.org,
            contact: id,
            queue: None,
            agent: None,
            outcome,
            refusal: None,
            at_ms: now.unix_ms(),
        });
        Ok(id)
    }

    fn set_agent_state(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        presence: Presence,
        forced_by: Option<UserId>,
    ) -> Result<(), CenterError> {
        let live = self.agents.get(&agent).ok_or(CenterError::UnknownAgent(agent))?;
        let logged_in = live.logged_in;
        let profile = AgentProfile::from_agent(&live.row);
        self.forcing = forced_by;
        let result = match (logged_in, presence) {
            (false, Presence::Offline) => Ok(()),
            (false, presence) => self.engine(now, Input::AgentLoggedIn(profile)).and_then(|()| match presence {
                Presence::Away(_) => self.presence_input(now, agent, presence, forced_by.is_some()),
                _ => Ok(()),
            }),
            (true, presence) => self.presence_input(now, agent, presence, forced_by.is_some()),
        };
        if result.is_ok()
            && let Some(a) = self.agents.get_mut(&agent)
        {
            a.logged_in = self.acd.agent_state(agent).is_some_and(|s| s != AgentState::Offline);
        }
        self.settle(now);
        self.forcing = None;
        result
    }

    fn presence_input(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        presence: Presence,
        forced: bool,
    ) -> Result<(), CenterError> {
        let input = if forced {
            Input::SupervisorForce { agent, presence }
        } else if presence == Presence::Offline {
            Input::AgentLoggedOut(agent)
        } else {
            Input::AgentPresence { agent, presence }
        };
        self.engine(now, input)
    }

    fn end(&mut self, now: Timestamp, contact: ContactId, outcome: ContactOutcome) -> Result<(), CenterError> {
        let live = self.contacts.get_mut(&contact).ok_or(CenterError::UnknownContact(contact))?;
        if live.row.status == ContactStatus::Ended {
            return Err(CenterError::Refused(acd::AcdError::WrongContactState(contact)));
        }
        if live.row.status == ContactStatus::Connected {
            if !matches!(outcome, ContactOutcome::Answered | ContactOutcome::Failed) {
                return Err(CenterError::Invalid(format!(
                    "a connected contact ends answered or failed, not {outcome}"
                )));
            }
            live.end_outcome = Some(outcome);
        }
        self.engine(now, Input::ContactEnded(contact))
    }

    fn wrap_up_done(
        &mut self,
        now: Timestamp,
        agent: AgentId,
        contact: ContactId,
        disposition: Disposition,
    ) -> Result<(), CenterError> {
        if disposition.notes.len() > MAX_NOTES_BYTES {
            return Err(CenterError::Invalid(format!("notes are longer than {MAX_NOTES_BYTES} bytes")));
        }
        if !self.agents.contains_key(&agent) {
            return Err(CenterError::UnknownAgent(agent));
        }
        let detail = serde_json::json!({"code": disposition.code.as_str()});
        let Some(live) = self.contacts.get_mut(&contact) else {
            // Wrap-up already over: the writer records the disposition on the stored row.
            let event = ContactEvent {
                id: ContactEventId::from_uuid(self.new_id(now)),
                org: self.org,
                contact,
                at: now,
                kind: ContactEventKind::Dispositioned,
                agent: Some(agent),
                queue: None,
                detail: detail.to_string(),
            };
            let (code, notes) = (disposition.code, disposition.notes);
            self.writer.push(Write::LateDisposition { org: self.org, agent, contact, code, notes, event });
            return Ok(());
        };
        let in_wrap_up = live.wrap_ups.iter().any(|(a, _)| *a == agent);
        let is_final = live.row.agent == Some(agent) && live.row.status == ContactStatus::Ended;
        if !in_wrap_up && !is_final {
            return Err(if live.row.agent == Some(agent) {
                CenterError::Refused(acd::AcdError::WrongContactState(contact))
            } else {
                CenterError::Invalid(format!("contact {contact} is not agent {agent}'s"))
            });
        }
        if is_final {
            live.row.disposition = Some(disposition.code);
            live.row.notes = disposition.notes;
        }
        let row = live.row.clone();
        let mut event = self.event(&row, now, ContactEventKind::Dispositioned, detail);
        event.agent = Some(agent);
        self.writer.push(Write::Event(event));
        if in_wrap_up {
            self.engine(now, Input::WrapUpDone { agent, contact })?;
            self.finish_wrap_up(now, agent, contact);
        } else {
            self.writer.push(Write::Contact(Box::new(row)));
        }
        Ok(())
    }

    fn transfer(&mut self, now: Timestamp, contact: ContactId, input: Input) -> Result<(), CenterError> {
        self.known(contact)?;
        self.engine(now, input)
    }

    fn take_call_controls(
        &mut self,
        channel: Channel,
    ) -> Result<mpsc::Receiver<crate::calls::CallControl>, CenterError> {
        if self.controls.get(&channel).is_some_and(|tx| !tx.is_closed()) {
            return Err(CenterError::OffersTaken(channel));
        }
        let (tx, rx) = mpsc::channel(crate::calls::MAX_QUEUED_CALL_CONTROLS);
        self.controls.insert(channel, tx);
        Ok(rx)
    }

    /// Forwards a control of a connected contact to its channel; refusals are answered here.
    fn control_call(&mut self, mut control: crate::calls::CallControl) {
        let Some(live) = self.contacts.get(&control.contact) else {
            let contact = control.contact;
            return control.done(Err(CenterError::UnknownContact(contact)));
        };
        let (Some(agent), ContactStatus::Connected) = (live.row.agent, live.row.status) else {
            let what = control.command.name();
            return control
                .done(Err(CenterError::Invalid(format!("{what}: the contact is not connected to an agent"))));
        };
        control.agent = agent;
        let channel = live.row.channel;
        let Some(tx) = self.controls.get(&channel) else {
            return control.done(Err(CenterError::Invalid(format!("{channel} contacts have no call controls"))));
        };
        if let Err(e) = tx.try_send(control) {
            let (control, err) = match e {
                mpsc::error::TrySendError::Full(c) => (c, CenterError::Busy(crate::calls::MAX_QUEUED_CALL_CONTROLS)),
                mpsc::error::TrySendError::Closed(c) => (c, CenterError::Stopped),
            };
            control.done(Err(err));
        }
    }

    /// Records and publishes what a channel did to a live call.
    fn call_changed(
        &mut self,
        now: Timestamp,
        contact: ContactId,
        change: &crate::calls::CallChange,
        state: crate::calls::CallState,
    ) -> Result<(), CenterError> {
        let live = self.contacts.get(&contact).ok_or(CenterError::UnknownContact(contact))?;
        let (kind, detail) = change.record();
        let event = self.event(&live.row, now, kind, detail);
        let (agent, queue) = (live.row.agent, live.row.queue);
        self.writer.push(Write::Event(event));
        self.publish(LiveEvent::CallUpdated {
            org: self.org,
            contact,
            agent,
            queue,
            change: change.name(),
            state,
            at_ms: now.unix_ms(),
        });
        Ok(())
    }

    fn take_offers(&mut self, channel: Channel) -> Result<mpsc::Receiver<OfferSignal>, CenterError> {
        if self.offers.get(&channel).is_some_and(|tx| !tx.is_closed()) {
            return Err(CenterError::OffersTaken(channel));
        }
        let (tx, rx) = mpsc::channel(self.config.max_pending_offers.max(1));
        self.offers.insert(channel, tx);
        Ok(rx)
    }

    /// After engine calls at `now`: takes every output, hands undeliverable offers back, ends
    /// due wrap-ups, and publishes the figures of the queues touched.
    pub fn settle(&mut self, now: Timestamp) {
        loop {
            while let Some(output) = self.acd.poll_output() {
                self.output(now, output);
            }
            let back = std::mem::take(&mut self.undeliverable);
            if back.is_empty() {
                break;
            }
            for (agent, contact) in back {
                let _ = self.engine(now, Input::OfferRejected { agent, contact });
            }
        }
        self.end_due_wrap_ups(now);
        for queue in std::mem::take(&mut self.touched) {
            if let Some(figures) = self.queue_figures(queue, now) {
                self.publish(LiveEvent::QueueStats(figures));
            }
        }
    }

    fn end_due_wrap_ups(&mut self, now: Timestamp) {
        while let Some(&(due, agent, contact)) = self.wrap_up_due.first() {
            if due > now {
                break;
            }
            self.finish_wrap_up(due, agent, contact);
        }
    }
}

/// Replies to a shutdown once the writer reached it.
fn flush_then(
    reply: tokio::sync::oneshot::Sender<Result<(), CenterError>>,
) -> tokio::sync::oneshot::Sender<Result<crate::Counters, CenterError>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result =
            rx.await.map_err(|_| CenterError::Stopped).and_then(|r: Result<crate::Counters, CenterError>| r.map(drop));
        let _ = reply.send(result);
    });
    tx
}

async fn sleep_until(sleep: Option<crate::Sleep>) {
    match sleep {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

fn check_new(new: &NewContact) -> Result<(), CenterError> {
    if new.from_address.len() > MAX_ADDRESS_BYTES || new.to_address.len() > MAX_ADDRESS_BYTES {
        return Err(CenterError::Invalid(format!("addresses are at most {MAX_ADDRESS_BYTES} bytes")));
    }
    if let Some(ivr) = &new.ivr {
        if ivr.path.len() > MAX_IVR_PATH_NODES {
            return Err(CenterError::Invalid(format!("an IVR path has at most {MAX_IVR_PATH_NODES} nodes")));
        }
        if ivr.digits.len() > MAX_IVR_DIGITS_BYTES {
            return Err(CenterError::Invalid(format!("IVR digits are at most {MAX_IVR_DIGITS_BYTES} bytes")));
        }
    }
    Ok(())
}
