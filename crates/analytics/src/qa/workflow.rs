//! The life of an evaluation after scoring: the evaluator publishes it, the agent acknowledges
//! or disputes it (once, within a window), a supervisor who did not score it resolves the
//! dispute by upholding the score or rescoring, and an evaluation the agent ignores is
//! acknowledged automatically when its window closes.
//!
//! Decide/evolve: [`Evaluation::decide`] checks a command against the state, the actor and the
//! time and returns the event (or why not); [`Evaluation::apply`] applies an event. The store
//! keeps the events, so replay gives the same state. This module must never read a clock (time
//! is passed in) and never let an actor of another org, or the wrong person, move an evaluation.

use model::{AgentId, ContactId, OrgId, Role, Timestamp, UserId};

use super::access::Viewer;
use super::scoring::FULL_SCORE_HUNDREDTHS;

/// Time limits of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowPolicy {
    /// How long after publication the agent may dispute.
    pub dispute_window_ms: u64,
    /// After this long without an answer the evaluation counts as acknowledged.
    pub acknowledge_window_ms: u64,
    /// Disputes per evaluation.
    pub max_disputes: u8,
    /// Longest dispute reason or resolution note, in characters.
    pub max_note_chars: usize,
}

impl Default for WorkflowPolicy {
    fn default() -> Self {
        Self {
            dispute_window_ms: 7 * 86_400_000,
            acknowledge_window_ms: 14 * 86_400_000,
            max_disputes: 1,
            max_note_chars: 2_000,
        }
    }
}

/// Where an evaluation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationState {
    /// Being scored; the agent cannot see it.
    Draft,
    /// Visible to the agent, waiting for acknowledgement or dispute.
    Published { at: Timestamp },
    /// The agent disputed it; a supervisor must resolve.
    Disputed { at: Timestamp },
    /// Final.
    Acknowledged { at: Timestamp, automatically: bool },
    /// Final: the dispute was rejected and the score stands.
    Upheld { at: Timestamp },
}

/// How a supervisor settles a dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The score stands; the evaluation is final.
    Uphold,
    /// New score; the agent is asked to acknowledge it again.
    Rescore { percent_hundredths: u32 },
}

/// What someone asks to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowCommand {
    Publish,
    Acknowledge,
    Dispute { reason: String },
    Resolve { resolution: Resolution, note: String },
}

/// What happened; the store appends these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowEvent {
    Published { at: Timestamp },
    Acknowledged { at: Timestamp, by: UserId },
    AutoAcknowledged { at: Timestamp },
    Disputed { at: Timestamp, by: UserId, reason: String },
    Upheld { at: Timestamp, by: UserId, note: String },
    Rescored { at: Timestamp, by: UserId, percent_hundredths: u32, note: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("the evaluation belongs to another organisation")]
    WrongOrg,
    #[error("only {0} may do that")]
    NotAllowed(&'static str),
    #[error("that cannot be done while the evaluation is {0}")]
    WrongState(&'static str),
    #[error("the dispute window closed at {closed_at:?}")]
    DisputeWindowClosed { closed_at: Timestamp },
    #[error("this evaluation was already disputed {0} time(s), the limit")]
    NoDisputesLeft(u8),
    #[error("the {what} must be 1 to {max_chars} characters")]
    BadNote { what: &'static str, max_chars: usize },
    #[error("a score must be 0 to 10000 hundredths of a percent")]
    BadScore,
}

/// An evaluation of one contact's handling by one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub org: OrgId,
    pub contact: ContactId,
    pub agent: AgentId,
    pub evaluator: UserId,
    pub percent_hundredths: u32,
    pub state: EvaluationState,
    pub disputes: u8,
}

impl Evaluation {
    /// A draft scored by `evaluator`.
    pub fn draft(org: OrgId, contact: ContactId, agent: AgentId, evaluator: UserId, percent_hundredths: u32) -> Self {
        Self { org, contact, agent, evaluator, percent_hundredths, state: EvaluationState::Draft, disputes: 0 }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            EvaluationState::Draft => "a draft",
            EvaluationState::Published { .. } => "published",
            EvaluationState::Disputed { .. } => "disputed",
            EvaluationState::Acknowledged { .. } => "acknowledged",
            EvaluationState::Upheld { .. } => "closed after a dispute",
        }
    }

    /// Decides what a command does, without changing anything.
    pub fn decide(
        &self,
        actor: &Viewer,
        command: WorkflowCommand,
        now: Timestamp,
        policy: &WorkflowPolicy,
    ) -> Result<WorkflowEvent, WorkflowError> {
        if actor.org != self.org {
            return Err(WorkflowError::WrongOrg);
        }
        let is_own_agent = actor.role == Role::Agent && actor.agent == Some(self.agent);
        let is_supervisor = matches!(actor.role, Role::Supervisor | Role::Admin);
        match (command, self.state) {
            (WorkflowCommand::Publish, EvaluationState::Draft) => {
                if actor.user != self.evaluator && !is_supervisor {
                    return Err(WorkflowError::NotAllowed("the evaluator or a supervisor"));
                }
                Ok(WorkflowEvent::Published { at: now })
            }
            (WorkflowCommand::Acknowledge, EvaluationState::Published { .. }) => {
                if !is_own_agent {
                    return Err(WorkflowError::NotAllowed("the evaluated agent"));
                }
                Ok(WorkflowEvent::Acknowledged { at: now, by: actor.user })
            }
            (WorkflowCommand::Dispute { reason }, EvaluationState::Published { at }) => {
                self.decide_dispute(actor, is_own_agent, reason, at, now, policy)
            }
            (WorkflowCommand::Resolve { resolution, note }, EvaluationState::Disputed { .. }) => {
                if !is_supervisor || actor.user == self.evaluator {
                    return Err(WorkflowError::NotAllowed("a supervisor other than the evaluator"));
                }
                check_note("resolution note", &note, policy)?;
                Ok(match resolution {
                    Resolution::Uphold => WorkflowEvent::Upheld { at: now, by: actor.user, note },
                    Resolution::Rescore { percent_hundredths } if percent_hundredths <= FULL_SCORE_HUNDREDTHS => {
                        WorkflowEvent::Rescored { at: now, by: actor.user, percent_hundredths, note }
                    }
                    Resolution::Rescore { .. } => return Err(WorkflowError::BadScore),
                })
            }
            _ => Err(WorkflowError::WrongState(self.state_name())),
        }
    }

    fn decide_dispute(
        &self,
        actor: &Viewer,
        is_own_agent: bool,
        reason: String,
        published_at: Timestamp,
        now: Timestamp,
        policy: &WorkflowPolicy,
    ) -> Result<WorkflowEvent, WorkflowError> {
        if !is_own_agent {
            return Err(WorkflowError::NotAllowed("the evaluated agent"));
        }
        if self.disputes >= policy.max_disputes {
            return Err(WorkflowError::NoDisputesLeft(self.disputes));
        }
        let closed_at = published_at.plus(model::DurationMs::from_ms(policy.dispute_window_ms));
        if now >= closed_at {
            return Err(WorkflowError::DisputeWindowClosed { closed_at });
        }
        check_note("dispute reason", &reason, policy)?;
        Ok(WorkflowEvent::Disputed { at: now, by: actor.user, reason })
    }

    /// Applies an event (from [`Evaluation::decide`] or from the store on replay).
    pub fn apply(&mut self, event: &WorkflowEvent) {
        self.state = match *event {
            WorkflowEvent::Published { at } => EvaluationState::Published { at },
            WorkflowEvent::Acknowledged { at, .. } => EvaluationState::Acknowledged { at, automatically: false },
            WorkflowEvent::AutoAcknowledged { at } => EvaluationState::Acknowledged { at, automatically: true },
            WorkflowEvent::Disputed { at, .. } => {
                self.disputes = self.disputes.saturating_add(1);
                EvaluationState::Disputed { at }
            }
            WorkflowEvent::Upheld { at, .. } => EvaluationState::Upheld { at },
            WorkflowEvent::Rescored { at, percent_hundredths, .. } => {
                self.percent_hundredths = percent_hundredths;
                EvaluationState::Published { at }
            }
        };
    }

    /// Decides and applies in one step.
    pub fn handle(
        &mut self,
        actor: &Viewer,
        command: WorkflowCommand,
        now: Timestamp,
        policy: &WorkflowPolicy,
    ) -> Result<WorkflowEvent, WorkflowError> {
        let event = self.decide(actor, command, now, policy)?;
        self.apply(&event);
        Ok(event)
    }

    /// When the evaluation will be acknowledged automatically, if it is waiting for the agent.
    pub fn acknowledge_deadline(&self, policy: &WorkflowPolicy) -> Option<Timestamp> {
        match self.state {
            EvaluationState::Published { at } => {
                Some(at.plus(model::DurationMs::from_ms(policy.acknowledge_window_ms)))
            }
            _ => None,
        }
    }

    /// Called by the shell's timer: acknowledges automatically once the deadline has passed.
    pub fn handle_timeout(&mut self, now: Timestamp, policy: &WorkflowPolicy) -> Option<WorkflowEvent> {
        let deadline = self.acknowledge_deadline(policy)?;
        (now >= deadline).then(|| {
            let event = WorkflowEvent::AutoAcknowledged { at: now };
            self.apply(&event);
            event
        })
    }
}

fn check_note(what: &'static str, note: &str, policy: &WorkflowPolicy) -> Result<(), WorkflowError> {
    let n = note.trim().chars().count();
    if n == 0 || n > policy.max_note_chars {
        return Err(WorkflowError::BadNote { what, max_chars: policy.max_note_chars });
    }
    Ok(())
}
