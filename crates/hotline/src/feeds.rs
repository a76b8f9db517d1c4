//! The center's live events out to the configured feeds: contact and agent events on NATS
//! JetStream (`[feeds] nats_url`) and live counters in Redis (`[feeds] redis_url`).
//!
//! Each `LiveEvent` becomes the store's vocabulary (`ContactEvent`, `AgentStateChange`) with an
//! id derived from what it says (UUID v5 of contact, kind and time), so a redelivery is the same
//! message and JetStream / Redis drop the duplicate. The bridge never slows the center: it reads
//! the center's bounded broadcast (a lag is logged with the number of events missed), publishes to
//! NATS without waiting (the feed's own bounded outbox retries), and awaits Redis per event.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use center::{CenterHandle, LiveEvent, OfferEndReason};
use config::FeedsConfig;
use model::{
    AgentId, AgentState, AgentStateChange, AgentStateChangeId, ContactEvent, ContactEventId, ContactEventKind, OrgId,
    QueueId, Timestamp,
};
use store::{Page, Store};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Namespace of the ids given to bridged events (a fixed random UUID).
const EVENT_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_2b9e_94a3_4d51_8a1e_3c7d_0b52_e8f4);

/// The running bridges.
pub struct Feeds {
    task: Option<JoinHandle<()>>,
    influx: Option<JoinHandle<()>>,
}

impl Feeds {
    /// Connects the configured feeds; `None` when none is configured.
    pub async fn start(
        cfg: &FeedsConfig,
        center: &CenterHandle,
        store: &Store,
        org: OrgId,
    ) -> anyhow::Result<Option<Feeds>> {
        let nats = match &cfg.nats_url {
            Some(url) => {
                let mut c = feeds::NatsConfig::new(url.clone());
                c.subject_prefix = cfg.nats_subject_prefix.clone();
                let stream =
                    format!("{}_EVENTS", cfg.nats_subject_prefix.to_ascii_uppercase().replace(['.', '-'], "_"));
                c.stream = Some(feeds::StreamSettings::new(stream));
                Some(feeds::EventFeed::connect(c).await.context("feeds.nats_url")?)
            }
            None => None,
        };
        let redis = match &cfg.redis_url {
            Some(url) => {
                let mut c = feeds::RedisConfig::new(url.clone());
                c.key_prefix = cfg.redis_key_prefix.clone();
                Some(feeds::LiveCounters::connect(c).await.context("feeds.redis_url")?)
            }
            None => None,
        };
        let influx = match &cfg.influx_url {
            Some(url) => {
                let export =
                    feeds::InfluxExport::start(feeds::InfluxConfig::new(url.clone(), cfg.influx_database.clone()))
                        .context("feeds.influx_url")?;
                if let Err(e) = export.create_database().await {
                    tracing::warn!(error = %e, "InfluxDB: could not create the database (it may exist already)");
                }
                let interval = cfg.influx_interval.as_std();
                Some(tokio::spawn(push_to_influx(center.clone(), export, interval)))
            }
            None => None,
        };
        let task = if nats.is_some() || redis.is_some() {
            let memberships = agent_queues(store, org).await?;
            Some(tokio::spawn(bridge(center.subscribe(), nats, redis, memberships)))
        } else {
            None
        };
        if task.is_none() && influx.is_none() {
            return Ok(None);
        }
        Ok(Some(Feeds { task, influx }))
    }

    /// Stops the bridges.
    pub async fn stop(self) {
        for task in [self.task, self.influx].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Every `interval`, the center's queues and agents (and the contacts ended so far) as InfluxDB
/// points; the export batches, bounds and retries on its own.
async fn push_to_influx(center: CenterHandle, export: feeds::InfluxExport, interval: Duration) {
    let mut events = center.subscribe();
    let mut tally = web::ContactTally::default();
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) => tally.observe(&e),
                Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(missed = n, "InfluxDB tally lagged"),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                let Ok(snapshot) = center.snapshot().await else { continue };
                let (queues, agents) = web::feed_snapshots(&snapshot);
                let now = Timestamp::from_unix_ms(snapshot.at_ms);
                if let Err(e) = export.push_snapshot(&queues, &agents, tally.counters(), now) {
                    tracing::warn!(error = %e, "InfluxDB: snapshot not queued");
                }
            }
        }
    }
    let _ = export.close(Duration::from_secs(2)).await;
}

/// Each agent's queues (Redis keeps agents by state per queue).
async fn agent_queues(store: &Store, org: OrgId) -> anyhow::Result<HashMap<AgentId, Vec<QueueId>>> {
    let mut out = HashMap::new();
    let mut page = Page::first(store::MAX_PAGE_SIZE);
    loop {
        let agents = store.list_agents(org, &page).await.context("reading agents for the feeds")?;
        for a in &agents.items {
            out.insert(a.id, a.queues.iter().map(|m| m.queue).collect());
        }
        match agents.next {
            Some(cursor) => page = Page::after(store::MAX_PAGE_SIZE, cursor),
            None => return Ok(out),
        }
    }
}

async fn bridge(
    mut events: broadcast::Receiver<LiveEvent>,
    nats: Option<feeds::EventFeed>,
    redis: Option<feeds::LiveCounters>,
    memberships: HashMap<AgentId, Vec<QueueId>>,
) {
    let mut last_state: HashMap<AgentId, AgentState> = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "feeds fell behind the center; events were skipped");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        match translate(&event, &mut last_state) {
            Some(Record::Contact(e)) => {
                if let Some(n) = &nats
                    && let Err(err) = n.publish_contact_event(&e)
                {
                    tracing::warn!(error = %err, "NATS: contact event not queued");
                }
                if let Some(r) = &redis
                    && let Err(err) = r.apply_contact_event(&e).await
                {
                    tracing::warn!(error = %err, "Redis: contact event not applied");
                }
            }
            Some(Record::Agent(c)) => {
                if let Some(n) = &nats
                    && let Err(err) = n.publish_agent_state(&c)
                {
                    tracing::warn!(error = %err, "NATS: agent state not queued");
                }
                let queues = memberships.get(&c.agent).map_or(&[][..], Vec::as_slice);
                if let Some(r) = &redis
                    && let Err(err) = r.apply_agent_state(&c, queues).await
                {
                    tracing::warn!(error = %err, "Redis: agent state not applied");
                }
            }
            None => {}
        }
    }
    if let Some(n) = nats {
        let _ = n.close(Duration::from_secs(2)).await;
    }
}

#[derive(Debug, PartialEq)]
enum Record {
    Contact(ContactEvent),
    Agent(AgentStateChange),
}

fn event_id(parts: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(&EVENT_NAMESPACE, parts.as_bytes())
}

/// The store's record of a live event; `None` for figures that are not events (queue stats).
fn translate(event: &LiveEvent, last_state: &mut HashMap<AgentId, AgentState>) -> Option<Record> {
    let contact_event = |org: OrgId,
                         contact: model::ContactId,
                         at_ms: i64,
                         kind: ContactEventKind,
                         agent: Option<AgentId>,
                         queue: Option<QueueId>,
                         detail: serde_json::Value| {
        let id = event_id(&format!(
            "{contact}:{}:{at_ms}:{}",
            kind.as_str(),
            agent.map(|a| a.to_string()).unwrap_or_default()
        ));
        Record::Contact(ContactEvent {
            id: ContactEventId::from_uuid(id),
            org,
            contact,
            at: Timestamp::from_unix_ms(at_ms),
            kind,
            agent,
            queue,
            detail: detail.to_string(),
        })
    };
    let empty = serde_json::json!({});
    Some(match event {
        LiveEvent::ContactQueued { org, contact, queue, position, ewt_ms, at_ms, .. } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::Queued,
            None,
            Some(*queue),
            serde_json::json!({ "position": position, "ewt_ms": ewt_ms }),
        ),
        LiveEvent::ContactOffered { org, contact, agent, queue, at_ms, .. } => {
            contact_event(*org, *contact, *at_ms, ContactEventKind::Offered, Some(*agent), Some(*queue), empty)
        }
        LiveEvent::OfferCancelled { org, contact, agent, queue, reason, at_ms } => {
            let kind = match reason {
                OfferEndReason::RingTimeout => ContactEventKind::OfferTimedOut,
                OfferEndReason::Rejected => ContactEventKind::OfferRejected,
                _ => return None,
            };
            contact_event(*org, *contact, *at_ms, kind, Some(*agent), Some(*queue), empty)
        }
        LiveEvent::ContactAnswered { org, contact, agent, queue, wait_ms, at_ms, .. } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::Answered,
            Some(*agent),
            Some(*queue),
            serde_json::json!({ "wait_ms": wait_ms }),
        ),
        LiveEvent::ContactTransferred { org, contact, from_agent, from_queue, to_queue, to_agent, at_ms } => {
            contact_event(
                *org,
                *contact,
                *at_ms,
                ContactEventKind::Transferred,
                *from_agent,
                Some(*from_queue),
                serde_json::json!({
                    "to_queue": to_queue.map(|q| q.to_string()),
                    "to_agent": to_agent.map(|a| a.to_string()),
                }),
            )
        }
        LiveEvent::ContactAbandoned { org, contact, queue, wait_ms, at_ms } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::Abandoned,
            None,
            *queue,
            serde_json::json!({ "wait_ms": wait_ms }),
        ),
        LiveEvent::ContactEnded { org, contact, queue, agent, outcome, at_ms, .. } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::Ended,
            *agent,
            *queue,
            serde_json::json!({ "outcome": outcome.as_str() }),
        ),
        LiveEvent::WrapUpEnded { org, contact, agent, queue, disposition, at_ms } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::WrapUpEnded,
            Some(*agent),
            *queue,
            serde_json::json!({ "disposition": disposition.as_ref().map(|d| d.as_str().to_owned()) }),
        ),
        LiveEvent::Announce { org, contact, queue, position, ewt_ms, at_ms } => contact_event(
            *org,
            *contact,
            *at_ms,
            ContactEventKind::Announced,
            None,
            Some(*queue),
            serde_json::json!({ "position": position, "ewt_ms": ewt_ms }),
        ),
        LiveEvent::AgentState { org, agent, state, reason, since_ms, forced_by } => {
            let from = last_state.insert(*agent, *state).unwrap_or(AgentState::Offline);
            let id = event_id(&format!("{agent}:{}:{since_ms}", state.as_str()));
            Record::Agent(AgentStateChange {
                id: AgentStateChangeId::from_uuid(id),
                org: *org,
                agent: *agent,
                at: Timestamp::from_unix_ms(*since_ms),
                from,
                to: *state,
                reason: reason.clone(),
                forced_by: *forced_by,
            })
        }
        _ => return None,
    })
}

/// Keeps the report aggregates (`reports` crate, migration 0005) current from the center's live
/// events: each ended or wrapped-up contact is re-read from the store (after the center's writes
/// are flushed) and ingested; each agent state change is ingested as it happens. Ingestion is
/// idempotent (event ids derived from the contact and kind), so a repeat counts nothing twice.
pub struct Aggregates {
    task: JoinHandle<()>,
}

impl Aggregates {
    pub fn start(
        center: &CenterHandle,
        store: &Store,
        org: OrgId,
        utc_offset_minutes: i32,
    ) -> anyhow::Result<Aggregates> {
        let settings = reports::AggregateSettings {
            utc_offset: kpi::calendar::UtcOffset::from_minutes(utc_offset_minutes)
                .map_err(|e| anyhow::anyhow!("reports.utc_offset_minutes: {e}"))?,
            ..reports::AggregateSettings::default()
        };
        let task = tokio::spawn(aggregate(center.clone(), center.subscribe(), store.clone(), org, settings));
        Ok(Aggregates { task })
    }

    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn aggregate(
    center: CenterHandle,
    mut events: broadcast::Receiver<LiveEvent>,
    store: Store,
    org: OrgId,
    settings: reports::AggregateSettings,
) {
    let mut last_state: HashMap<AgentId, AgentState> = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "report aggregates fell behind; run a rebuild for today");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        let inputs = match &event {
            LiveEvent::ContactEnded { contact, .. } | LiveEvent::WrapUpEnded { contact, .. } => {
                let _ = center.flush().await;
                match store.get_contact(org, *contact).await {
                    Ok(Some(c)) => reports::contact_inputs(&c),
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "report aggregates: contact not read");
                        continue;
                    }
                }
            }
            LiveEvent::AgentState { .. } => match translate(&event, &mut last_state) {
                Some(Record::Agent(change)) => vec![reports::agent_state_input(&change)],
                _ => continue,
            },
            _ => continue,
        };
        if let Err(e) = reports::ingest(&store, org, &settings, &inputs).await {
            tracing::warn!(error = %e, "report aggregates: ingest failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_live_event_always_gets_the_same_id_and_agents_remember_their_last_state() {
        let org = demo::DEMO_ORG;
        let contact = model::ContactId::from_u128(7);
        let agent = AgentId::from_u128(9);
        let ended = LiveEvent::ContactEnded {
            org,
            contact,
            queue: None,
            agent: Some(agent),
            outcome: model::ContactOutcome::Answered,
            at_ms: 1_000,
            refusal: None,
        };
        let mut states = HashMap::new();
        let (Some(Record::Contact(a)), Some(Record::Contact(b))) =
            (translate(&ended, &mut states), translate(&ended, &mut states))
        else {
            panic!("contact events expected");
        };
        assert_eq!(a.id, b.id);
        assert_eq!(
            (a.kind, a.agent, a.detail.as_str()),
            (ContactEventKind::Ended, Some(agent), r#"{"outcome":"answered"}"#)
        );

        let state = |s: AgentState, at: i64| LiveEvent::AgentState {
            org,
            agent,
            state: s,
            reason: None,
            since_ms: at,
            forced_by: None,
        };
        let Some(Record::Agent(first)) = translate(&state(AgentState::Available, 10), &mut states) else { panic!() };
        let Some(Record::Agent(second)) = translate(&state(AgentState::Busy, 20), &mut states) else { panic!() };
        assert_eq!((first.from, first.to), (AgentState::Offline, AgentState::Available));
        assert_eq!((second.from, second.to), (AgentState::Available, AgentState::Busy));
        assert_ne!(first.id, second.id);
    }
}
