//! The QA workflow core: what QA staff review and how it is scored.
//!
//! - [`scorecard`]: validated scorecards (sections, weighted questions, auto-fail items, N/A);
//! - [`scoring`]: the exact weighted-percentage maths of one evaluation;
//! - [`sampling`]: reproducible, fair random sampling per agent per period plus flagged contacts;
//! - [`calibration`]: spread of several evaluators' scores of one contact;
//! - [`workflow`]: publish → acknowledge / dispute → resolve, with automatic acknowledgement;
//! - [`access`]: agents see only their own published evaluations, nobody crosses orgs;
//! - [`report`]: weekly average scores per agent and for the team.
//!
//! Pure decisions on data handed in; this module must never read a clock or draw randomness of
//! its own (sampling takes a seed).

pub mod access;
pub mod calibration;
pub mod report;
pub mod sampling;
pub mod scorecard;
pub mod scoring;
pub mod workflow;

pub use access::{Viewer, can_evaluate, can_view, visible};
pub use calibration::{CalibrationError, CalibrationReport, QuestionSpread, Spread, calibrate};
pub use report::{ScoreTrend, ScoredEvaluation, WeeklyAverage, weekly_trend};
pub use sampling::{Period, SampleCandidate, SampleReason, SampledContact, SamplingError, SamplingPlan, sample};
pub use scorecard::{AnswerScale, QuestionDraft, Scorecard, ScorecardDraft, ScorecardError, SectionDraft};
pub use scoring::{Answer, Answers, ScoreReport, ScoringError, score};
pub use workflow::{
    Evaluation, EvaluationState, Resolution, WorkflowCommand, WorkflowError, WorkflowEvent, WorkflowPolicy,
};
