//! Who may see which evaluation. Agents see only their own evaluations, and only once published;
//! supervisors and admins see every evaluation of their org; nobody sees another org's. This
//! module must never widen access: every rule is an allow-list and unknown cases are refused.

use model::{AgentId, OrgId, Role, UserId};

use super::workflow::{Evaluation, EvaluationState};

/// The signed-in user asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
    /// The agent record of this user, if they are an agent.
    pub agent: Option<AgentId>,
}

/// Whether `viewer` may see `evaluation` (its score, answers and comments).
pub fn can_view(viewer: &Viewer, evaluation: &Evaluation) -> bool {
    if viewer.org != evaluation.org {
        return false;
    }
    match viewer.role {
        Role::Admin | Role::Supervisor => true,
        Role::Agent => viewer.agent == Some(evaluation.agent) && !matches!(evaluation.state, EvaluationState::Draft),
    }
}

/// Whether `viewer` may score a contact handled by `agent`: supervisors and admins of the org,
/// never on their own contacts.
pub fn can_evaluate(viewer: &Viewer, org: OrgId, agent: AgentId) -> bool {
    viewer.org == org && matches!(viewer.role, Role::Admin | Role::Supervisor) && viewer.agent != Some(agent)
}

/// The evaluations `viewer` may see, in the order given.
pub fn visible<'a>(viewer: &'a Viewer, evaluations: &'a [Evaluation]) -> impl Iterator<Item = &'a Evaluation> + 'a {
    evaluations.iter().filter(move |e| can_view(viewer, e))
}
