//! Hotline's quality-assurance cores: speech analytics of call recordings and the QA workflow.
//!
//! - [`speech`]: from a stereo recording (customer left, agent right) computes talk time per
//!   side, silence ratio, longest silence, overtalk, talk ratio and interruptions with an
//!   energy-based voice activity detector, and flags outliers for QA.
//! - [`qa`]: scorecards and their scoring maths, reproducible fair sampling of contacts per agent
//!   per period, calibration statistics, the acknowledgement/dispute workflow of an evaluation and
//!   who may see which evaluation.
//!
//! Invariants:
//! - pure: no IO (the only input that comes from outside is WAV bytes handed in by the caller),
//!   no clock (time is a [`model::Timestamp`] argument), no randomness of its own (sampling takes
//!   a seed and uses an in-crate SplitMix64, so a seed gives the same sample on every version of
//!   every dependency);
//! - never panics on input from outside: malformed WAVs, scorecards and answers come back as
//!   errors naming what is wrong;
//! - every list it builds is bounded by a named limit or by the length of its input;
//! - org isolation: every QA record carries an [`model::OrgId`] and the permission helpers refuse
//!   anything across orgs.

pub mod qa;
pub mod speech;
