//! Scorecards: sections of questions, each with a weight, an answer scale, and optionally the
//! power to fail the whole evaluation (auto-fail). A [`Scorecard`] that exists is valid: the only
//! way in is [`Scorecard::new`], which checks a [`ScorecardDraft`] (as typed into the editor) and
//! names the offending field in its error. This module must never accept a card whose score could
//! divide by zero or whose question keys collide.

use std::collections::BTreeSet;

/// Most sections on one card.
pub const MAX_SECTIONS: usize = 20;
/// Most questions on one card, over all sections.
pub const MAX_QUESTIONS: usize = 100;
/// Highest weight of one question.
pub const MAX_WEIGHT: u32 = 100;
/// Highest top mark of a points question (the scoring maths relies on it dividing 2520).
pub const MAX_POINTS: u8 = 10;
/// Longest card name, section title or question text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest question key, in characters.
pub const MAX_KEY_CHARS: usize = 64;

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerScale {
    /// Yes earns the full weight, No earns nothing.
    YesNo,
    /// 0 to `max` points; earns `weight × points / max`.
    Points { max: u8 },
}

/// A question as typed into the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionDraft {
    /// Stable identifier used by answers and reports (`greeting`, `verified_identity`).
    pub key: String,
    pub text: String,
    pub weight: u32,
    pub scale: AnswerScale,
    /// Answering No fails the whole evaluation (score 0). Yes/No questions only.
    pub auto_fail: bool,
    /// The evaluator may answer N/A; the question then leaves the denominator.
    pub allow_na: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionDraft {
    pub title: String,
    pub questions: Vec<QuestionDraft>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardDraft {
    pub name: String,
    pub sections: Vec<SectionDraft>,
}

/// Why a scorecard was refused: the path of the field (`sections[1].questions[0].weight`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scorecard {field} {problem}")]
pub struct ScorecardError {
    pub field: String,
    pub problem: String,
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> ScorecardError {
    ScorecardError { field: field.into(), problem: problem.into() }
}

/// A validated question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub(crate) draft: QuestionDraft,
}

impl Question {
    pub fn key(&self) -> &str {
        &self.draft.key
    }
    pub fn text(&self) -> &str {
        &self.draft.text
    }
    pub fn weight(&self) -> u32 {
        self.draft.weight
    }
    pub fn scale(&self) -> AnswerScale {
        self.draft.scale
    }
    pub fn auto_fail(&self) -> bool {
        self.draft.auto_fail
    }
    pub fn allow_na(&self) -> bool {
        self.draft.allow_na
    }
}

/// A validated section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub(crate) title: String,
    pub(crate) questions: Vec<Question>,
}

impl Section {
    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn questions(&self) -> &[Question] {
        &self.questions
    }
}

/// A validated scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    name: String,
    sections: Vec<Section>,
}

impl Scorecard {
    /// Checks a draft; see the module docs for the rules.
    pub fn new(draft: ScorecardDraft) -> Result<Self, ScorecardError> {
        check_text("name", &draft.name)?;
        if draft.sections.is_empty() || draft.sections.len() > MAX_SECTIONS {
            return Err(err("sections", format!("must be 1 to {MAX_SECTIONS}")));
        }
        let total: usize = draft.sections.iter().map(|s| s.questions.len()).sum();
        if total > MAX_QUESTIONS {
            return Err(err("sections", format!("have {total} questions; a card has at most {MAX_QUESTIONS}")));
        }
        let mut keys = BTreeSet::new();
        let mut total_weight = 0u32;
        let mut sections = Vec::with_capacity(draft.sections.len());
        for (si, s) in draft.sections.into_iter().enumerate() {
            check_text(&format!("sections[{si}].title"), &s.title)?;
            if s.questions.is_empty() {
                return Err(err(format!("sections[{si}].questions"), "must not be empty"));
            }
            let mut questions = Vec::with_capacity(s.questions.len());
            for (qi, q) in s.questions.into_iter().enumerate() {
                let path = format!("sections[{si}].questions[{qi}]");
                check_question(&path, &q)?;
                if !keys.insert(q.key.clone()) {
                    return Err(err(format!("{path}.key"), format!("{:?} is used by another question", q.key)));
                }
                total_weight += q.weight;
                questions.push(Question { draft: q });
            }
            sections.push(Section { title: s.title, questions });
        }
        if total_weight == 0 {
            return Err(err("sections", "have no question with a weight above 0, so nothing can be scored"));
        }
        Ok(Self { name: draft.name, sections })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Every question, section by section.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions().find(|q| q.key() == key)
    }
}

fn check_text(field: &str, text: &str) -> Result<(), ScorecardError> {
    let n = text.trim().chars().count();
    if n == 0 || n > MAX_TEXT_CHARS {
        return Err(err(field, format!("must be 1 to {MAX_TEXT_CHARS} characters")));
    }
    Ok(())
}

fn check_question(path: &str, q: &QuestionDraft) -> Result<(), ScorecardError> {
    let key_ok = !q.key.is_empty()
        && q.key.len() <= MAX_KEY_CHARS
        && q.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(err(format!("{path}.key"), format!("must be 1 to {MAX_KEY_CHARS} of a-z, 0-9 and _")));
    }
    check_text(&format!("{path}.text"), &q.text)?;
    if q.weight > MAX_WEIGHT {
        return Err(err(format!("{path}.weight"), format!("must be 0 to {MAX_WEIGHT}")));
    }
    if q.weight == 0 && !q.auto_fail {
        return Err(err(format!("{path}.weight"), "may be 0 only on an auto-fail question"));
    }
    if let AnswerScale::Points { max } = q.scale
        && !(1..=MAX_POINTS).contains(&max)
    {
        return Err(err(format!("{path}.scale"), format!("top mark must be 1 to {MAX_POINTS}")));
    }
    if q.auto_fail && q.scale != AnswerScale::YesNo {
        return Err(err(format!("{path}.auto_fail"), "is only allowed on a yes/no question"));
    }
    Ok(())
}
