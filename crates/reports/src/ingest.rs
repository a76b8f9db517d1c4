//! Keeping the store's aggregates up to date: [`ingest`] for new events (live), [`rebuild`] for
//! recovery. Both replay events through the `kpi` aggregator, so there is one counting rule.
//!
//! `ingest(events)`:
//! 1. drops events whose id is already stored (per contact in `report_contacts.events`, per
//!    change in `report_agent_changes`) or repeated within the batch, and refuses survey
//!    scores off their scale;
//! 2. loads the touched contacts' stored events and the contacts of their first-contact-
//!    resolution groups (old and new) within two FCR windows of them, and for each touched agent the stored changes around the
//!    new ones (the last before, all between, the first after);
//! 3. replays the **old** events and the **old + new** events, each from scratch, with the same
//!    aggregator settings, and writes `new − old` per interval as `+delta` upserts, together with
//!    the contacts' new event lists and the new agent changes, in one transaction.
//!
//! Since a contact's contribution is a pure function of its (order-independent) facts, and an
//! agent's state time between two changes depends only on those two, the difference is exact
//! whatever the order events arrive in, however late, and a replayed batch adds nothing.
//!
//! One writer per org: two concurrent ingests touching the same contact or agent could both read
//! the old state. The live center calls `ingest` from one task; different orgs are independent.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kpi::aggregate::{AgentStateEvent, ContactEvent, ContactEventKind, Input};
use kpi::calendar::{DAY_MS, day_start, shift};
use model::{AgentId, AgentStateChangeId, ContactId, OrgId, Timestamp};
use store::{ReportAgentChange, ReportBatch, ReportContact, Store, TimeRange};

use crate::ReportError;
use crate::codec;
use crate::replay::{AggregateSettings, difference, replay, rows_in};

/// Most events one [`ingest`] call takes (split larger batches).
pub const MAX_EVENTS_PER_INGEST: usize = 100_000;
/// Most contacts a rebuilt day may hold.
pub const MAX_CONTACTS_PER_REBUILT_DAY: usize = 2_000_000;
/// Most agent state changes a rebuilt day (with a day either side) may hold.
pub const MAX_AGENT_CHANGES_PER_REBUILT_DAY: usize = 5_000_000;

/// What one [`ingest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestOutcome {
    /// Events counted now.
    pub counted: usize,
    /// Events already counted before (or twice in the batch): ignored.
    pub duplicates: usize,
    /// Survey answers off their scale: refused.
    pub refused: usize,
    /// Interval rows changed.
    pub intervals_changed: usize,
}

/// The FCR group of a contact's events, as the aggregator forms it: the customer of its
/// earliest queue entry and its smallest issue type.
fn repeat_group(events: &[ContactEvent]) -> Option<String> {
    let queued = events
        .iter()
        .filter_map(|e| match &e.kind {
            ContactEventKind::Queued { queue, customer } => Some((e.at, *queue, *customer)),
            _ => None,
        })
        .min()?;
    let issue = events
        .iter()
        .filter_map(|e| match &e.kind {
            ContactEventKind::IssueIdentified { issue_type } => Some(issue_type.clone()),
            _ => None,
        })
        .min()?;
    Some(format!("{}:{}", queued.2?, issue.as_str()))
}

fn record(contact: ContactId, events: &[ContactEvent]) -> Option<ReportContact> {
    let first_at = events.iter().map(|e| e.at).min()?;
    let last_at = events.iter().map(|e| e.at).max()?;
    Some(ReportContact {
        contact,
        repeat_group: repeat_group(events),
        first_at,
        last_at,
        events: codec::encode(contact, events),
    })
}

fn valid_score(e: &ContactEvent) -> bool {
    match &e.kind {
        ContactEventKind::SurveyAnswered { kind, score } => {
            let (lo, hi) = kind.score_range();
            (lo..=hi).contains(score)
        }
        _ => true,
    }
}

fn to_agent_event(c: &ReportAgentChange) -> AgentStateEvent {
    AgentStateEvent { id: c.id, agent: c.agent, at: c.at, state: c.state }
}

/// Counts new events into the store's aggregates (see the module doc). Events of any age within
/// [`crate::MAX_REPLAY_SPAN_MS`] of each other, in any order, with duplicates.
pub async fn ingest(
    store: &Store,
    org: OrgId,
    settings: &AggregateSettings,
    events: &[Input],
) -> Result<IngestOutcome, ReportError> {
    if events.len() > MAX_EVENTS_PER_INGEST {
        return Err(ReportError::TooMany { what: "events in one ingest", limit: MAX_EVENTS_PER_INGEST });
    }
    let mut outcome = IngestOutcome::default();
    let mut by_contact: BTreeMap<ContactId, Vec<ContactEvent>> = BTreeMap::new();
    let mut by_agent: BTreeMap<AgentId, Vec<AgentStateEvent>> = BTreeMap::new();
    for input in events {
        match input {
            Input::Contact(e) if !valid_score(e) => outcome.refused += 1,
            Input::Contact(e) => by_contact.entry(e.contact).or_default().push(e.clone()),
            Input::AgentState(e) => by_agent.entry(e.agent).or_default().push(e.clone()),
        }
    }
    let (contacts_old, contacts_new, records) = contact_sides(store, org, settings, by_contact, &mut outcome).await?;
    let (agents_old, agents_new, changes) = agent_sides(store, org, settings, by_agent, &mut outcome).await?;
    let old_refs: Vec<&[ContactEvent]> = contacts_old.iter().map(Vec::as_slice).collect();
    let new_refs: Vec<&[ContactEvent]> = contacts_new.iter().map(Vec::as_slice).collect();
    let before = replay(settings, &old_refs, &agents_old)?;
    let after = replay(settings, &new_refs, &agents_new)?;
    let deltas = difference(&before, &after);
    outcome.intervals_changed = deltas.len();
    if records.is_empty() && changes.is_empty() {
        return Ok(outcome);
    }
    store.apply_report_batch(org, &ReportBatch { contacts: records, agent_changes: changes, deltas }).await?;
    Ok(outcome)
}

type Sides = (Vec<Vec<ContactEvent>>, Vec<Vec<ContactEvent>>, Vec<ReportContact>);

/// The old and new event lists of every contact whose contribution may change, and the records
/// to write for the contacts that got new events.
///
/// Of the touched contacts' FCR groups, only the members whose event span comes within two FCR
/// windows of the touched contacts' events are loaded (`lo − 2w ..= hi + 2w`, `lo`/`hi` the
/// earliest/latest event of a touched contact, old or new; one window suffices, the second is
/// margin). That is exact: a member's count can
/// only change if a touched contact X reaches a queue within a window after the member's
/// handling end (so the member's span meets `[lo − w, hi]`), and whatever else repeats that member
/// reached a queue within a window after the same handling end (so its span meets
/// `[lo − w, hi + w]`); a touched contact's own repeats start within `[lo, hi + w]`. Members
/// further away count the same with and without the new events, and a group keeps growing with
/// the customer's history.
async fn contact_sides(
    store: &Store,
    org: OrgId,
    settings: &AggregateSettings,
    by_contact: BTreeMap<ContactId, Vec<ContactEvent>>,
    outcome: &mut IngestOutcome,
) -> Result<Sides, ReportError> {
    let ids: Vec<ContactId> = by_contact.keys().copied().collect();
    let mut stored: HashMap<ContactId, ReportContact> =
        store.report_contacts(org, &ids).await?.into_iter().map(|r| (r.contact, r)).collect();
    let mut old_sides = Vec::new();
    let mut new_sides = Vec::new();
    let mut records = Vec::new();
    let mut groups = BTreeSet::new();
    let mut touched = HashSet::new();
    let mut span: Option<(Timestamp, Timestamp)> = None;
    for (contact, incoming) in by_contact {
        let old = match stored.remove(&contact) {
            Some(r) => {
                groups.extend(r.repeat_group.clone());
                codec::decode(contact, &r.events)?
            }
            None => Vec::new(),
        };
        let mut seen: HashSet<_> = old.iter().map(|e| e.id).collect();
        let mut merged = old.clone();
        for e in incoming {
            if seen.insert(e.id) {
                merged.push(e);
                outcome.counted += 1;
            } else {
                outcome.duplicates += 1;
            }
        }
        if merged.len() == old.len() {
            continue;
        }
        merged.sort_by_key(|e| (e.at, e.id));
        for e in &merged {
            span = Some(match span {
                None => (e.at, e.at),
                Some((lo, hi)) => (lo.min(e.at), hi.max(e.at)),
            });
        }
        groups.extend(repeat_group(&merged));
        records.extend(record(contact, &merged));
        touched.insert(contact);
        old_sides.push(old);
        new_sides.push(merged);
    }
    let groups: Vec<String> = groups.into_iter().collect();
    let Some((lo, hi)) = span else { return Ok((old_sides, new_sides, records)) };
    let reach = i64::try_from(settings.fcr_window_ms.as_ms()).unwrap_or(i64::MAX / 4).saturating_mul(2);
    let during = TimeRange::new(shift(lo, reach.saturating_neg()), shift(hi, reach));
    for member in store.report_contacts_in_groups_during(org, &groups, during).await? {
        if touched.insert(member.contact) {
            let events = codec::decode(member.contact, &member.events)?;
            old_sides.push(events.clone());
            new_sides.push(events);
        }
    }
    Ok((old_sides, new_sides, records))
}

type AgentSides = (Vec<AgentStateEvent>, Vec<AgentStateEvent>, Vec<ReportAgentChange>);

/// Each touched agent's stored changes around its new ones (old side) plus the new ones.
async fn agent_sides(
    store: &Store,
    org: OrgId,
    settings: &AggregateSettings,
    by_agent: BTreeMap<AgentId, Vec<AgentStateEvent>>,
    outcome: &mut IngestOutcome,
) -> Result<AgentSides, ReportError> {
    let ids: Vec<AgentStateChangeId> = by_agent.values().flatten().map(|e| e.id).collect();
    let known: HashSet<AgentStateChangeId> = store.known_report_agent_changes(org, &ids).await?.into_iter().collect();
    let (mut old_side, mut new_side, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for (agent, incoming) in by_agent {
        let fresh: Vec<AgentStateEvent> = incoming
            .into_iter()
            .filter(|e| {
                let new = !known.contains(&e.id) && seen.insert(e.id);
                if !new {
                    outcome.duplicates += 1;
                }
                new
            })
            .collect();
        let (Some(from), Some(to)) = (fresh.iter().map(|e| e.at).min(), fresh.iter().map(|e| e.at).max()) else {
            continue;
        };
        outcome.counted += fresh.len();
        let window = store.report_agent_window(org, agent, from, to, settings.agent_lookback_ms).await?;
        old_side.extend(window.iter().map(to_agent_event));
        new_side.extend(window.iter().map(to_agent_event));
        for e in fresh {
            changes.push(ReportAgentChange { id: e.id, agent: e.agent, at: e.at, state: e.state });
            new_side.push(e);
        }
    }
    Ok((old_side, new_side, changes))
}

/// Recounts the aggregates of whole local days `[from, to)` from the stored events (recovery
/// after a bug, a lost batch, or a change of thresholds): each day's interval rows are replaced
/// by a from-scratch replay of the contacts active that day (with their FCR groups) and the
/// agent changes from a day before to a day after. `from` and `to` must be local midnights.
/// Returns the number of interval rows written.
pub async fn rebuild(
    store: &Store,
    org: OrgId,
    settings: &AggregateSettings,
    from: Timestamp,
    to: Timestamp,
) -> Result<usize, ReportError> {
    let offset = settings.utc_offset;
    if day_start(from, offset) != from || day_start(to, offset) != to || to < from {
        return Err(ReportError::BadPeriod("a rebuild covers whole local days: from and to must be local midnights"));
    }
    let mut written = 0;
    let mut day = from;
    while day < to {
        let next = shift(day, DAY_MS);
        written += rebuild_day(store, org, settings, day, next).await?;
        day = next;
    }
    Ok(written)
}

async fn rebuild_day(
    store: &Store,
    org: OrgId,
    settings: &AggregateSettings,
    from: Timestamp,
    to: Timestamp,
) -> Result<usize, ReportError> {
    let range = TimeRange::new(from, to);
    let active =
        store.report_contacts_active_in(org, range, settings.contact_lookback_ms, MAX_CONTACTS_PER_REBUILT_DAY).await?;
    let mut seen: HashSet<ContactId> = active.iter().map(|r| r.contact).collect();
    let groups: BTreeSet<String> = active.iter().filter_map(|r| r.repeat_group.clone()).collect();
    let groups: Vec<String> = groups.into_iter().collect();
    let mut records = active;
    for member in store.report_contacts_in_groups(org, &groups).await? {
        if seen.insert(member.contact) {
            records.push(member);
        }
    }
    let contacts: Vec<Vec<ContactEvent>> =
        records.iter().map(|r| codec::decode(r.contact, &r.events)).collect::<Result<_, _>>()?;
    let refs: Vec<&[ContactEvent]> = contacts.iter().map(Vec::as_slice).collect();
    let changes =
        store.report_agent_changes_around(org, range, DAY_MS, DAY_MS, MAX_AGENT_CHANGES_PER_REBUILT_DAY).await?;
    let agents: Vec<AgentStateEvent> = changes.iter().map(to_agent_event).collect();
    let snapshot = replay(settings, &refs, &agents)?;
    let rows = rows_in(&snapshot, from, to);
    store.replace_report_intervals(org, range, &rows).await?;
    Ok(rows.len())
}

/// The kpi input of a stored agent state change (for the center, after it persists one).
pub fn agent_state_input(change: &model::AgentStateChange) -> Input {
    Input::AgentState(AgentStateEvent { id: change.id, agent: change.agent, at: change.at, state: change.to })
}
