//! The scoring maths of one evaluation: weighted percentage over the answered questions, N/A
//! questions out of the denominator, and any auto-fail item answered No taking the score to 0.
//!
//! Arithmetic is exact: every question's share is scaled to a common denominator (2520, which
//! every top mark 1..=10 divides) and the result is rounded once, to hundredths of a percent.
//! This module must never guess an answer: a missing, unknown or mistyped answer is an error.

use std::collections::BTreeMap;

use super::scorecard::{AnswerScale, Question, Scorecard};

/// Least common multiple of 1..=10: every points scale divides it.
const COMMON_DENOMINATOR: u64 = 2520;
/// 100.00 %, in hundredths.
pub const FULL_SCORE_HUNDREDTHS: u32 = 10_000;

/// An evaluator's answer to one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Points(u8),
    NotApplicable,
}

/// Answers by question key.
pub type Answers = BTreeMap<String, Answer>;

/// Why a set of answers could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoringError {
    #[error("question {0:?} is not on this scorecard")]
    UnknownQuestion(String),
    #[error("question {0:?} has no answer")]
    Unanswered(String),
    #[error("question {key:?} takes {expected}")]
    WrongAnswerType { key: String, expected: &'static str },
    #[error("question {key:?} was given {points} points; its top mark is {max}")]
    PointsOutOfRange { key: String, points: u8, max: u8 },
    #[error("question {0:?} cannot be answered N/A")]
    NotApplicableNotAllowed(String),
    #[error("every weighted question was answered N/A, so there is nothing to score")]
    NothingToScore,
}

/// One question's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionScore {
    pub key: String,
    /// Earned / possible for this question, `None` when N/A.
    pub earned: Option<(u8, u8)>,
}

/// One section's result, `None` when every question in it was N/A or weightless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionScore {
    pub title: String,
    pub percent_hundredths: Option<u32>,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreReport {
    /// The score that counts: 0 when an auto-fail item failed, else the weighted percentage.
    pub percent_hundredths: u32,
    /// The weighted percentage before auto-fail, for coaching.
    pub weighted_percent_hundredths: u32,
    /// Keys of the auto-fail items answered No.
    pub auto_failed: Vec<String>,
    pub sections: Vec<SectionScore>,
    pub questions: Vec<QuestionScore>,
}

impl ScoreReport {
    /// The score as a percentage, for display and averages.
    pub fn percent(&self) -> f64 {
        f64::from(self.percent_hundredths) / 100.0
    }
}

/// Weighted sums in units of 1/2520 of a weight point.
#[derive(Default)]
struct Tally {
    earned: u64,
    possible: u64,
}

impl Tally {
    fn percent_hundredths(&self) -> Option<u32> {
        // Rounded half up; possible > 0 so this cannot divide by zero.
        (self.possible > 0).then(|| {
            let v = (self.earned * 10_000 * 2 + self.possible) / (self.possible * 2);
            u32::try_from(v).unwrap_or(FULL_SCORE_HUNDREDTHS).min(FULL_SCORE_HUNDREDTHS)
        })
    }
}

/// Scores `answers` against `card`.
pub fn score(card: &Scorecard, answers: &Answers) -> Result<ScoreReport, ScoringError> {
    if let Some(unknown) = answers.keys().find(|k| card.question(k).is_none()) {
        return Err(ScoringError::UnknownQuestion(unknown.clone()));
    }
    let mut total = Tally::default();
    let mut auto_failed = Vec::new();
    let mut sections = Vec::with_capacity(card.sections().len());
    let mut questions = Vec::new();
    for section in card.sections() {
        let mut tally = Tally::default();
        for q in section.questions() {
            let answer = *answers.get(q.key()).ok_or_else(|| ScoringError::Unanswered(q.key().to_owned()))?;
            let earned = earned(q, answer)?;
            if q.auto_fail() && answer == Answer::No {
                auto_failed.push(q.key().to_owned());
            }
            if let Some((got, max)) = earned {
                let w = u64::from(q.weight());
                tally.earned += w * u64::from(got) * (COMMON_DENOMINATOR / u64::from(max));
                tally.possible += w * COMMON_DENOMINATOR;
            }
            questions.push(QuestionScore { key: q.key().to_owned(), earned });
        }
        total.earned += tally.earned;
        total.possible += tally.possible;
        sections
            .push(SectionScore { title: section.title().to_owned(), percent_hundredths: tally.percent_hundredths() });
    }
    let weighted = total.percent_hundredths().ok_or(ScoringError::NothingToScore)?;
    let percent_hundredths = if auto_failed.is_empty() { weighted } else { 0 };
    Ok(ScoreReport { percent_hundredths, weighted_percent_hundredths: weighted, auto_failed, sections, questions })
}

/// Checks one answer against its question; `None` for N/A.
fn earned(q: &Question, answer: Answer) -> Result<Option<(u8, u8)>, ScoringError> {
    let key = || q.key().to_owned();
    match (q.scale(), answer) {
        (_, Answer::NotApplicable) if q.allow_na() => Ok(None),
        (_, Answer::NotApplicable) => Err(ScoringError::NotApplicableNotAllowed(key())),
        (AnswerScale::YesNo, Answer::Yes) => Ok(Some((1, 1))),
        (AnswerScale::YesNo, Answer::No) => Ok(Some((0, 1))),
        (AnswerScale::YesNo, Answer::Points(_)) => {
            Err(ScoringError::WrongAnswerType { key: key(), expected: "yes or no" })
        }
        (AnswerScale::Points { max }, Answer::Points(p)) if p <= max => Ok(Some((p, max))),
        (AnswerScale::Points { max }, Answer::Points(p)) => {
            Err(ScoringError::PointsOutOfRange { key: key(), points: p, max })
        }
        (AnswerScale::Points { .. }, Answer::Yes | Answer::No) => {
            Err(ScoringError::WrongAnswerType { key: key(), expected: "points" })
        }
    }
}
