//! Calibration: several evaluators score the same contact on the same card, and the spread of
//! their answers shows where the card or the evaluators disagree. Per question and overall:
//! mean, (population) variance, standard deviation and the largest deviation from the mean, in
//! percentage points. This module must never drop an evaluator silently: an invalid sheet is an
//! error naming its evaluator.

use model::UserId;

use super::scorecard::Scorecard;
use super::scoring::{Answers, ScoringError, score};

/// Most evaluators in one calibration session.
pub const MAX_CALIBRATION_EVALUATORS: usize = 50;

/// Spread of a set of percentages.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// How many values (evaluators who did not answer N/A).
    pub count: usize,
    pub mean: f64,
    /// Population variance, in squared percentage points.
    pub variance: f64,
    pub std_dev: f64,
    /// Largest |value − mean|, in percentage points.
    pub max_deviation: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let max_deviation = values.iter().map(|v| (v - mean).abs()).fold(0.0, f64::max);
        Some(Self { count: values.len(), mean, variance, std_dev: variance.sqrt(), max_deviation })
    }
}

/// One question's agreement.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionSpread {
    pub key: String,
    /// How many evaluators answered N/A.
    pub not_applicable: usize,
    /// Spread of the question's percentage (earned / possible × 100); `None` if all said N/A.
    pub spread: Option<Spread>,
}

/// The outcome of a calibration session.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationReport {
    /// Spread of the final scores (auto-fail included).
    pub overall: Spread,
    /// Each evaluator's final score minus the mean, in percentage points.
    pub evaluator_deviation: Vec<(UserId, f64)>,
    pub questions: Vec<QuestionSpread>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalibrationError {
    #[error("a calibration needs 2 to {MAX_CALIBRATION_EVALUATORS} evaluators, not {0}")]
    EvaluatorCount(usize),
    #[error("evaluator {0} scored twice")]
    DuplicateEvaluator(UserId),
    #[error("evaluator {evaluator}'s answers cannot be scored: {error}")]
    InvalidSheet { evaluator: UserId, error: ScoringError },
}

/// Compares the evaluators' answer sheets for one contact.
pub fn calibrate(card: &Scorecard, sheets: &[(UserId, Answers)]) -> Result<CalibrationReport, CalibrationError> {
    if !(2..=MAX_CALIBRATION_EVALUATORS).contains(&sheets.len()) {
        return Err(CalibrationError::EvaluatorCount(sheets.len()));
    }
    for (i, (who, _)) in sheets.iter().enumerate() {
        if sheets[..i].iter().any(|(other, _)| other == who) {
            return Err(CalibrationError::DuplicateEvaluator(*who));
        }
    }
    let reports = sheets
        .iter()
        .map(|(who, answers)| {
            score(card, answers).map_err(|error| CalibrationError::InvalidSheet { evaluator: *who, error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let finals: Vec<f64> = reports.iter().map(|r| r.percent()).collect();
    let overall = Spread::of(&finals).expect("at least two sheets were checked above");
    let evaluator_deviation = sheets.iter().zip(&finals).map(|((who, _), v)| (*who, v - overall.mean)).collect();
    let questions = card
        .questions()
        .enumerate()
        .map(|(i, q)| {
            // Reports list questions in card order, so index i is this question in every report.
            let earned: Vec<Option<(u8, u8)>> = reports.iter().map(|r| r.questions[i].earned).collect();
            let values: Vec<f64> =
                earned.iter().flatten().map(|&(got, max)| f64::from(got) * 100.0 / f64::from(max)).collect();
            QuestionSpread {
                key: q.key().to_owned(),
                not_applicable: earned.iter().filter(|e| e.is_none()).count(),
                spread: Spread::of(&values),
            }
        })
        .collect();
    Ok(CalibrationReport { overall, evaluator_deviation, questions })
}
