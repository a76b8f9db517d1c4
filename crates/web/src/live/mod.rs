//! The live contact center as the browser sees it: the WebSocket event stream
//! ([`stream`], `GET /api/events`), the REST commands agents and supervisors send to the
//! `center` crate's [`center::CenterHandle`] ([`ops`]), and the wallboard's figures
//! ([`wallboard`]: live queue state from the center, today-vs-yesterday KPIs from the store's
//! contacts through the `kpi` crate).
//!
//! Role filtering lives here, in one pure function ([`visible`]), used for every event frame and
//! every snapshot a client receives: an agent sees their own offers, contacts and state and the
//! stats of the queues they belong to; supervisors and admins see the whole org. Nothing of
//! another org is ever sent.

pub(crate) mod calls;
pub(crate) mod ops;
pub(crate) mod stream;
pub(crate) mod wallboard;

use std::collections::BTreeSet;

use center::{CenterError, LiveEvent, Snapshot};
use model::{AgentId, OrgId, QueueId, Role};

use crate::problem::{Problem, ProblemKind};

/// Who receives a frame, as far as filtering is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Viewer {
    pub org: OrgId,
    pub role: Role,
    /// The viewer's agent record (agents only).
    pub agent: Option<AgentId>,
    /// The queues the viewer's agent belongs to (agents only).
    pub queues: BTreeSet<QueueId>,
}

impl Viewer {
    fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }

    fn is_me(&self, agent: Option<AgentId>) -> bool {
        agent.is_some() && agent == self.agent
    }
}

/// Whether `viewer` may receive `event`.
pub(crate) fn visible(event: &LiveEvent, viewer: &Viewer) -> bool {
    if event.org() != viewer.org {
        return false;
    }
    if viewer.is_staff() {
        return true;
    }
    match event {
        LiveEvent::QueueStats(q) => viewer.queues.contains(&q.queue),
        LiveEvent::ContactTransferred { from_agent, to_agent, .. } => {
            viewer.is_me(*from_agent) || viewer.is_me(*to_agent)
        }
        LiveEvent::ContactOffered { agent, .. }
        | LiveEvent::OfferCancelled { agent, .. }
        | LiveEvent::ContactAnswered { agent, .. }
        | LiveEvent::WrapUpEnded { agent, .. }
        | LiveEvent::AgentState { agent, .. } => viewer.is_me(Some(*agent)),
        LiveEvent::ContactEnded { agent, .. } | LiveEvent::CallUpdated { agent, .. } => viewer.is_me(*agent),
        // Waiting contacts are the queue's business; an agent sees the counts in QueueStats.
        LiveEvent::ContactQueued { .. } | LiveEvent::ContactAbandoned { .. } | LiveEvent::Announce { .. } => false,
    }
}

/// The part of a snapshot `viewer` may see: staff everything, an agent their own record and the
/// figures of their queues.
pub(crate) fn visible_snapshot(mut snap: Snapshot, viewer: &Viewer) -> Snapshot {
    if snap.org != viewer.org {
        snap.queues.clear();
        snap.agents.clear();
        return snap;
    }
    if !viewer.is_staff() {
        snap.queues.retain(|q| viewer.queues.contains(&q.queue));
        snap.agents.retain(|a| viewer.is_me(Some(a.agent)));
        snap.live_contacts = 0;
        snap.counters = center::Counters::default();
    }
    snap
}

/// The running center, or 503 when this server runs without one.
pub(crate) fn center_of(app: &crate::AppState) -> Result<&center::CenterHandle, Problem> {
    app.center.as_ref().ok_or_else(|| Problem::of(ProblemKind::Unavailable, "the live contact center is not running"))
}

impl From<CenterError> for Problem {
    fn from(e: CenterError) -> Self {
        match e {
            CenterError::Busy(_) => {
                Problem::of(ProblemKind::Unavailable, "the contact center is busy; retry").retry_after_ms(1)
            }
            CenterError::Stopped => Problem::of(ProblemKind::Unavailable, "the contact center has stopped"),
            CenterError::LimitReached(what) => {
                Problem::of(ProblemKind::Unavailable, format!("limit reached: {what}")).retry_after_ms(1_000)
            }
            CenterError::UnknownContact(_) => Problem::not_found("live contact"),
            CenterError::UnknownAgent(_) => Problem::not_found("agent"),
            CenterError::Invalid(m) => Problem::of(ProblemKind::Validation, m),
            CenterError::Refused(e) => Problem::of(ProblemKind::Conflict, e.to_string()),
            CenterError::OffersTaken(c) => {
                Problem::of(ProblemKind::Conflict, format!("the offers of channel {c} are already taken"))
            }
            CenterError::Store(m) | CenterError::Routes(m) => {
                tracing::error!(error = %m, "center error");
                Problem::of(ProblemKind::Internal, "the contact center failed; the error is logged")
            }
        }
    }
}

#[cfg(test)]
mod tests;
