//! Quality assurance over HTTP: scorecards (staff edit, everyone reads), samples drawn for a
//! period (seeded, flagged contacts included), evaluations (score, publish, acknowledge, dispute,
//! resolve), calibration sessions (several evaluators score one contact; the spread is shown), the
//! weekly QA report, and a contact's transcript for the evaluator view.
//!
//! Every rule comes from `analytics::qa`: card validity and scoring maths, the workflow's
//! decide/apply, and the access rules (agents see only their own published evaluations). The
//! guard already applied the route's role rule and audits every supervisor and admin write.
//!
//! Never: show an agent a draft or another agent's evaluation (both answer 404, so existence is
//! not leaked), let an evaluator score a contact they handled, or read an unbounded listing.

use std::collections::BTreeMap;

use analytics::qa::{
    self, Answer, AnswerScale, Answers, Evaluation, EvaluationState, QuestionDraft, Resolution, SampleCandidate,
    SampleReason, SamplingPlan, Scorecard, ScorecardDraft, SectionDraft, Viewer, WorkflowCommand, WorkflowEvent,
    WorkflowPolicy,
};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use model::{
    AgentId, CalibrationId, Contact, ContactId, EvaluationId, OrgId, QaSampleId, ScorecardId, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{
    CalibrationSheet, EvaluationFilter, EvaluationStatus, StoredCalibration, StoredDispute, StoredEvaluation,
    StoredSample, StoredScorecard,
};

use super::{ApiQuery, S, found, parse_id, text_field};
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::{new_uuid, random};

/// Most rows a QA listing answers.
pub(crate) const MAX_LIST_ROWS: u32 = 500;
/// Most contacts one sampling run reads.
pub(crate) const MAX_SAMPLE_CANDIDATES: u32 = 200_000;
/// Most evaluations one report reads.
pub(crate) const MAX_REPORT_EVALUATIONS: u32 = store::MAX_QA_ROWS;
/// Longest report range, in weeks.
pub(crate) const MAX_REPORT_WEEKS: i64 = 53;
/// Longest comment on one question, in characters.
pub(crate) const MAX_COMMENT_CHARS: usize = 2_000;
/// Longest calibration title, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 200;
/// Most transcript segments answered for one contact.
pub(crate) const MAX_TRANSCRIPT_SEGMENTS: u32 = 2_000;
const WEEK_MS: i64 = 7 * 86_400_000;

// ---- scorecard wire format ----

/// A question on the wire: `max_points` absent or 0 is a yes/no question.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionBody {
    key: String,
    text: String,
    weight: u32,
    #[serde(default)]
    max_points: u8,
    #[serde(default)]
    auto_fail: bool,
    #[serde(default)]
    allow_na: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionBody {
    title: String,
    questions: Vec<QuestionBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScorecardBody {
    name: String,
    sections: Vec<SectionBody>,
}

impl ScorecardBody {
    fn card(&self) -> Result<Scorecard, qa::ScorecardError> {
        Scorecard::new(ScorecardDraft {
            name: self.name.clone(),
            sections: self
                .sections
                .iter()
                .map(|s| SectionDraft {
                    title: s.title.clone(),
                    questions: s
                        .questions
                        .iter()
                        .map(|q| QuestionDraft {
                            key: q.key.clone(),
                            text: q.text.clone(),
                            weight: q.weight,
                            scale: if q.max_points == 0 {
                                AnswerScale::YesNo
                            } else {
                                AnswerScale::Points { max: q.max_points }
                            },
                            auto_fail: q.auto_fail,
                            allow_na: q.allow_na,
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// A stored card, parsed and validated again (a card that no longer validates is a 500).
fn parse_card(stored: &StoredScorecard) -> Result<(ScorecardBody, Scorecard), Problem> {
    let corrupt = |e: String| {
        tracing::error!(scorecard = %stored.id, error = %e, "stored scorecard does not validate");
        Problem::of(ProblemKind::Internal, "a stored scorecard is damaged")
    };
    let body: ScorecardBody = serde_json::from_str(&stored.definition).map_err(|e| corrupt(e.to_string()))?;
    let card = body.card().map_err(|e| corrupt(e.to_string()))?;
    Ok((body, card))
}

fn scorecard_view(s: &StoredScorecard, body: &ScorecardBody) -> Value {
    json!({
        "id": s.id.to_string(),
        "name": s.name,
        "sections": body.sections,
        "archived": s.archived,
        "created_at_ms": s.created_at.unix_ms(),
        "updated_at_ms": s.updated_at.unix_ms(),
    })
}

// ---- answers ----

fn answer_from_wire(key: &str, v: &Value) -> Result<Answer, Problem> {
    match v {
        Value::String(s) if s == "yes" => Ok(Answer::Yes),
        Value::String(s) if s == "no" => Ok(Answer::No),
        Value::String(s) if s == "na" => Ok(Answer::NotApplicable),
        Value::Number(n) => n
            .as_u64()
            .and_then(|p| u8::try_from(p).ok())
            .map(Answer::Points)
            .ok_or_else(|| Problem::validation(format!("answer {key:?} must be 0 to 255 points"))),
        _ => Err(Problem::validation(format!("answer {key:?} must be \"yes\", \"no\", \"na\" or a number of points"))),
    }
}

fn answer_to_text(a: Answer) -> String {
    match a {
        Answer::Yes => "yes".into(),
        Answer::No => "no".into(),
        Answer::NotApplicable => "na".into(),
        Answer::Points(p) => p.to_string(),
    }
}

fn answer_from_text(s: &str) -> Option<Answer> {
    match s {
        "yes" => Some(Answer::Yes),
        "no" => Some(Answer::No),
        "na" => Some(Answer::NotApplicable),
        p => p.parse().ok().map(Answer::Points),
    }
}

fn answers_from_wire(map: &BTreeMap<String, Value>) -> Result<Answers, Problem> {
    map.iter().map(|(k, v)| Ok((k.clone(), answer_from_wire(k, v)?))).collect()
}

fn answers_to_wire(stored: &BTreeMap<String, String>) -> Value {
    Value::Object(
        stored
            .iter()
            .map(|(k, v)| {
                let wire = match answer_from_text(v) {
                    Some(Answer::Points(p)) => json!(p),
                    _ => json!(v),
                };
                (k.clone(), wire)
            })
            .collect(),
    )
}

fn stored_answers(answers: &Answers) -> BTreeMap<String, String> {
    answers.iter().map(|(k, a)| (k.clone(), answer_to_text(*a))).collect()
}

fn parse_stored_answers(stored: &BTreeMap<String, String>) -> Result<Answers, Problem> {
    stored
        .iter()
        .map(|(k, v)| {
            answer_from_text(v)
                .map(|a| (k.clone(), a))
                .ok_or_else(|| Problem::of(ProblemKind::Internal, "a stored answer is damaged"))
        })
        .collect()
}

fn check_comments(card: &Scorecard, comments: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Problem> {
    let mut out = BTreeMap::new();
    for (k, v) in comments {
        if !k.is_empty() && card.question(k).is_none() {
            return Err(Problem::validation(format!("comment on {k:?}, which is not on this scorecard")));
        }
        let text = text_field(&format!("comment on {k:?}"), v, MAX_COMMENT_CHARS, false)?;
        if !text.is_empty() {
            out.insert(k.clone(), text);
        }
    }
    Ok(out)
}

// ---- helpers ----

fn viewer(c: &Caller) -> Viewer {
    Viewer {
        org: c.who.org,
        // API tokens have no user: a nil id never matches an evaluator or an agent.
        user: c.who.user.unwrap_or(UserId::from_u128(0)),
        role: c.who.role,
        agent: c.agent,
    }
}

/// The person calling; API tokens cannot score or answer evaluations.
fn person(c: &Caller) -> Result<UserId, Problem> {
    c.who.user.ok_or_else(|| Problem::of(ProblemKind::Forbidden, "QA actions are done by a signed-in person"))
}

fn new_id(app: &S) -> Result<uuid::Uuid, Problem> {
    new_uuid(app.clock.as_ref(), app.entropy.as_ref())
}

fn core_state(e: &StoredEvaluation) -> EvaluationState {
    let at = e.status_at;
    match e.status {
        EvaluationStatus::Draft => EvaluationState::Draft,
        EvaluationStatus::Published => EvaluationState::Published { at },
        EvaluationStatus::Disputed => EvaluationState::Disputed { at },
        EvaluationStatus::Acknowledged => EvaluationState::Acknowledged { at, automatically: e.auto_acknowledged },
        EvaluationStatus::Upheld => EvaluationState::Upheld { at },
    }
}

fn core(e: &StoredEvaluation) -> Evaluation {
    Evaluation {
        org: e.org,
        contact: e.contact,
        agent: e.agent,
        evaluator: e.evaluator,
        percent_hundredths: e.percent_hundredths,
        state: core_state(e),
        disputes: e.disputes,
    }
}

/// Copies the core's state after an event back onto the stored row.
fn absorb(e: &mut StoredEvaluation, core: &Evaluation, now: Timestamp) {
    let (status, at, auto) = match core.state {
        EvaluationState::Draft => (EvaluationStatus::Draft, e.status_at, false),
        EvaluationState::Published { at } => (EvaluationStatus::Published, at, false),
        EvaluationState::Disputed { at } => (EvaluationStatus::Disputed, at, false),
        EvaluationState::Acknowledged { at, automatically } => (EvaluationStatus::Acknowledged, at, automatically),
        EvaluationState::Upheld { at } => (EvaluationStatus::Upheld, at, false),
    };
    e.status = status;
    e.status_at = at;
    e.auto_acknowledged = auto;
    e.percent_hundredths = core.percent_hundredths;
    e.disputes = core.disputes;
    e.updated_at = now;
    if e.published_at.is_none() && status != EvaluationStatus::Draft {
        e.published_at = Some(at);
    }
}

fn workflow_problem(e: qa::WorkflowError) -> Problem {
    match e {
        qa::WorkflowError::WrongOrg => Problem::not_found("evaluation"),
        qa::WorkflowError::NotAllowed(_) => Problem::of(ProblemKind::Forbidden, e.to_string()),
        qa::WorkflowError::WrongState(_)
        | qa::WorkflowError::DisputeWindowClosed { .. }
        | qa::WorkflowError::NoDisputesLeft(_) => Problem::of(ProblemKind::Conflict, e.to_string()),
        qa::WorkflowError::BadNote { .. } | qa::WorkflowError::BadScore => Problem::validation(e),
    }
}

/// An evaluation the caller may see, with the automatic acknowledgement applied when its window
/// has closed; 404 otherwise.
async fn visible_evaluation(app: &S, c: &Caller, id: &str) -> Result<StoredEvaluation, Problem> {
    let id: EvaluationId = parse_id(id, "evaluation")?;
    let mut e = found(app.store.get_evaluation(c.who.org, id).await?, "evaluation")?;
    settle(app, &mut e).await?;
    if !qa::can_view(&viewer(c), &core(&e)) {
        return Err(Problem::not_found("evaluation"));
    }
    Ok(e)
}

/// Applies the automatic acknowledgement once the agent's window has closed.
async fn settle(app: &S, e: &mut StoredEvaluation) -> Result<(), Problem> {
    let now = app.clock.now();
    let mut c = core(e);
    if c.handle_timeout(now, &WorkflowPolicy::default()).is_some() {
        absorb(e, &c, now);
        app.store.update_evaluation(e, None).await?;
    }
    Ok(())
}

async fn card_of(app: &S, org: OrgId, id: ScorecardId) -> Result<(StoredScorecard, ScorecardBody, Scorecard), Problem> {
    let stored = found(app.store.get_scorecard(org, id).await?, "scorecard")?;
    let (body, card) = parse_card(&stored)?;
    Ok((stored, body, card))
}

fn evaluation_view(e: &StoredEvaluation, disputes: Option<&[StoredDispute]>) -> Value {
    let mut v = json!({
        "id": e.id.to_string(),
        "contact": e.contact.to_string(),
        "agent": e.agent.to_string(),
        "evaluator": e.evaluator.to_string(),
        "scorecard": e.scorecard.to_string(),
        "sample": e.sample.map(|s| s.to_string()),
        "answers": answers_to_wire(&e.answers),
        "comments": e.comments,
        "percent": f64::from(e.percent_hundredths) / 100.0,
        "weighted_percent": f64::from(e.weighted_percent_hundredths) / 100.0,
        "auto_failed": e.auto_failed,
        "state": e.status.as_str(),
        "state_at_ms": e.status_at.unix_ms(),
        "auto_acknowledged": e.auto_acknowledged,
        "disputes_used": e.disputes,
        "published_at_ms": e.published_at.map(|t| t.unix_ms()),
        "created_at_ms": e.created_at.unix_ms(),
        "updated_at_ms": e.updated_at.unix_ms(),
    });
    if let Some(ds) = disputes {
        v["disputes"] = ds
            .iter()
            .map(|d| {
                json!({
                    "disputed_at_ms": d.disputed_at.unix_ms(),
                    "reason": d.reason,
                    "resolved_at_ms": d.resolved_at.map(|t| t.unix_ms()),
                    "resolution": d.resolution,
                    "note": d.note,
                    "new_percent": d.new_percent_hundredths.map(|p| f64::from(p) / 100.0),
                })
            })
            .collect();
    }
    v
}

// ---- scorecards ----

/// `GET /api/qa/scorecards?archived=true`.
#[derive(Debug, Deserialize)]
pub(crate) struct CardsQuery {
    archived: Option<bool>,
}

pub(crate) async fn list_scorecards(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<CardsQuery>,
) -> Result<Json<Value>, Problem> {
    let cards = app.store.list_scorecards(c.who.org, q.archived.unwrap_or(false), MAX_LIST_ROWS).await?;
    let items =
        cards.iter().map(|s| parse_card(s).map(|(body, _)| scorecard_view(s, &body))).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/qa/scorecards/{id}`.
pub(crate) async fn get_scorecard(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let (stored, body, _) = card_of(&app, c.who.org, parse_id(&id, "scorecard")?).await?;
    Ok(Json(scorecard_view(&stored, &body)))
}

/// `POST /api/qa/scorecards`.
pub(crate) async fn create_scorecard(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<ScorecardBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), Problem> {
    body.card().map_err(Problem::validation)?;
    let now = app.clock.now();
    let stored = StoredScorecard {
        id: ScorecardId::from_uuid(new_id(&app)?),
        org: c.who.org,
        name: body.name.trim().to_owned(),
        definition: serde_json::to_string(&body).map_err(|e| Problem::of(ProblemKind::Internal, e.to_string()))?,
        archived: false,
        created_by: c.who.user.unwrap_or(UserId::from_u128(0)),
        created_at: now,
        updated_at: now,
    };
    app.store.insert_scorecard(&stored).await?;
    Ok((axum::http::StatusCode::CREATED, Json(scorecard_view(&stored, &body))))
}

/// `PUT /api/qa/scorecards/{id}`: replaces the card. Evaluations keep the answers they were
/// scored with; a card already used should be archived and a new one made instead, but the
/// server only refuses changes that make the card invalid.
pub(crate) async fn update_scorecard(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScorecardBody>,
) -> Result<Json<Value>, Problem> {
    body.card().map_err(Problem::validation)?;
    let (mut stored, _, _) = card_of(&app, c.who.org, parse_id(&id, "scorecard")?).await?;
    stored.name = body.name.trim().to_owned();
    stored.definition = serde_json::to_string(&body).map_err(|e| Problem::of(ProblemKind::Internal, e.to_string()))?;
    stored.updated_at = app.clock.now();
    app.store.update_scorecard(&stored).await?;
    Ok(Json(scorecard_view(&stored, &body)))
}

/// `DELETE /api/qa/scorecards/{id}`: archives the card (its evaluations stay readable).
pub(crate) async fn archive_scorecard(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let (mut stored, body, _) = card_of(&app, c.who.org, parse_id(&id, "scorecard")?).await?;
    stored.archived = true;
    stored.updated_at = app.clock.now();
    app.store.update_scorecard(&stored).await?;
    Ok(Json(scorecard_view(&stored, &body)))
}

// ---- samples ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SampleBody {
    from_ms: i64,
    to_ms: i64,
    per_agent: u32,
    #[serde(default = "yes")]
    include_flagged: bool,
    /// Decimal text or a number; drawn at random when absent (and answered, to reproduce).
    seed: Option<u64>,
}

fn yes() -> bool {
    true
}

fn sample_view(s: &StoredSample) -> Value {
    json!({
        "id": s.id.to_string(),
        "from_ms": s.period_start.unix_ms(),
        "to_ms": s.period_end.unix_ms(),
        "seed": s.seed.to_string(),
        "per_agent": s.per_agent,
        "include_flagged": s.include_flagged,
        "created_at_ms": s.created_at.unix_ms(),
        "contacts": s.contacts.iter().map(|c| json!({
            "contact": c.contact.to_string(),
            "agent": c.agent.to_string(),
            "reason": if c.flagged { "flagged" } else { "random" },
        })).collect::<Vec<_>>(),
    })
}

/// `POST /api/qa/samples`: draws `per_agent` contacts per agent from those that ended in the
/// period, plus every flagged one; the same seed over the same contacts draws the same sample.
pub(crate) async fn create_sample(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<SampleBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), Problem> {
    let (from, to) = (Timestamp::from_unix_ms(body.from_ms), Timestamp::from_unix_ms(body.to_ms));
    let period = qa::Period::new(from, to).map_err(Problem::validation)?;
    let seed = match body.seed {
        Some(s) => s,
        None => u64::from_le_bytes(random::<8>(app.entropy.as_ref())?),
    };
    let rows = app.store.list_qa_candidates(c.who.org, from, to, MAX_SAMPLE_CANDIDATES).await?;
    if rows.len() > MAX_SAMPLE_CANDIDATES as usize {
        return Err(Problem::validation(format!(
            "the period holds more than {MAX_SAMPLE_CANDIDATES} contacts; sample a shorter period"
        )));
    }
    let candidates: Vec<SampleCandidate> = rows
        .iter()
        .map(|r| SampleCandidate { contact: r.contact, agent: r.agent, ended_at: r.ended_at, flagged: r.flagged })
        .collect();
    let plan = SamplingPlan { per_agent: body.per_agent, include_flagged: body.include_flagged };
    let picked = qa::sample(plan, period, &candidates, seed).map_err(Problem::validation)?;
    let sample = StoredSample {
        id: QaSampleId::from_uuid(new_id(&app)?),
        org: c.who.org,
        period_start: from,
        period_end: to,
        seed,
        per_agent: body.per_agent,
        include_flagged: body.include_flagged,
        created_by: c.who.user.unwrap_or(UserId::from_u128(0)),
        created_at: app.clock.now(),
        contacts: picked
            .iter()
            .map(|p| store::SampleContact {
                contact: p.contact,
                agent: p.agent,
                flagged: p.reason == SampleReason::Flagged,
            })
            .collect(),
    };
    app.store.insert_sample(&sample).await?;
    Ok((axum::http::StatusCode::CREATED, Json(sample_view(&sample))))
}

/// `GET /api/qa/samples`.
pub(crate) async fn list_samples(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Value>, Problem> {
    let samples = app.store.list_samples(c.who.org, MAX_LIST_ROWS).await?;
    Ok(Json(json!({ "items": samples.iter().map(sample_view).collect::<Vec<_>>() })))
}

/// `GET /api/qa/samples/{id}`.
pub(crate) async fn get_sample(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let s = found(app.store.get_sample(c.who.org, parse_id(&id, "sample")?).await?, "sample")?;
    Ok(Json(sample_view(&s)))
}

// ---- evaluations ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewEvaluationBody {
    contact: String,
    scorecard: String,
    answers: BTreeMap<String, Value>,
    #[serde(default)]
    comments: BTreeMap<String, String>,
    sample: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoreBody {
    answers: BTreeMap<String, Value>,
    #[serde(default)]
    comments: BTreeMap<String, String>,
}

fn score(card: &Scorecard, answers: &BTreeMap<String, Value>) -> Result<(Answers, qa::ScoreReport), Problem> {
    let answers = answers_from_wire(answers)?;
    let report = qa::score(card, &answers).map_err(Problem::validation)?;
    Ok((answers, report))
}

async fn contact_of(app: &S, org: OrgId, id: &str) -> Result<(Contact, AgentId), Problem> {
    let id: ContactId = id.parse().map_err(|_| Problem::validation("contact must be a contact id"))?;
    let contact = app.store.get_contact(org, id).await?.ok_or_else(|| Problem::validation("no such contact"))?;
    let agent = contact.agent.ok_or_else(|| Problem::validation("the contact was not handled by an agent"))?;
    Ok((contact, agent))
}

/// `POST /api/qa/evaluations`: a scored draft.
pub(crate) async fn create_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<NewEvaluationBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), Problem> {
    let evaluator = person(&c)?;
    let (contact, agent) = contact_of(&app, c.who.org, &body.contact).await?;
    if !qa::can_evaluate(&viewer(&c), c.who.org, agent) {
        return Err(Problem::of(ProblemKind::Forbidden, "nobody scores a contact they handled"));
    }
    let card_id: ScorecardId = body.scorecard.parse().map_err(|_| Problem::validation("no such scorecard"))?;
    let (stored_card, _, card) = card_of(&app, c.who.org, card_id).await?;
    if stored_card.archived {
        return Err(Problem::validation("the scorecard is archived"));
    }
    let sample = match body.sample.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<QaSampleId>().map_err(|_| Problem::validation("sample must be a sample id"))?),
        None => None,
    };
    let (answers, report) = score(&card, &body.answers)?;
    let comments = check_comments(&card, &body.comments)?;
    let now = app.clock.now();
    let e = StoredEvaluation {
        id: EvaluationId::from_uuid(new_id(&app)?),
        org: c.who.org,
        contact: contact.id,
        agent,
        evaluator,
        scorecard: card_id,
        sample,
        answers: stored_answers(&answers),
        comments,
        percent_hundredths: report.percent_hundredths,
        weighted_percent_hundredths: report.weighted_percent_hundredths,
        auto_failed: report.auto_failed,
        status: EvaluationStatus::Draft,
        status_at: now,
        auto_acknowledged: false,
        disputes: 0,
        published_at: None,
        created_at: now,
        updated_at: now,
    };
    app.store.insert_evaluation(&e).await?;
    Ok((axum::http::StatusCode::CREATED, Json(evaluation_view(&e, Some(&[])))))
}

/// `PUT /api/qa/evaluations/{id}`: rescoring a draft (by its evaluator or a supervisor).
pub(crate) async fn score_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScoreBody>,
) -> Result<Json<Value>, Problem> {
    person(&c)?;
    let mut e = visible_evaluation(&app, &c, &id).await?;
    if e.status != EvaluationStatus::Draft {
        return Err(Problem::of(ProblemKind::Conflict, "only a draft can be rescored; a published one is disputed"));
    }
    let (_, _, card) = card_of(&app, c.who.org, e.scorecard).await?;
    let (answers, report) = score(&card, &body.answers)?;
    e.comments = check_comments(&card, &body.comments)?;
    e.answers = stored_answers(&answers);
    e.percent_hundredths = report.percent_hundredths;
    e.weighted_percent_hundredths = report.weighted_percent_hundredths;
    e.auto_failed = report.auto_failed;
    e.updated_at = app.clock.now();
    app.store.update_evaluation(&e, None).await?;
    Ok(Json(evaluation_view(&e, None)))
}

/// `GET /api/qa/evaluations?agent=&contact=`: staff see the org's, agents their own published ones.
#[derive(Debug, Deserialize)]
pub(crate) struct EvaluationsQuery {
    agent: Option<String>,
    contact: Option<String>,
    limit: Option<u32>,
}

pub(crate) async fn list_evaluations(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<EvaluationsQuery>,
) -> Result<Json<Value>, Problem> {
    let mut filter = EvaluationFilter::default();
    if let Some(a) = q.agent.as_deref().filter(|s| !s.is_empty()) {
        filter.agent = Some(a.parse().map_err(|_| Problem::bad_request("agent must be an agent id"))?);
    }
    if let Some(x) = q.contact.as_deref().filter(|s| !s.is_empty()) {
        filter.contact = Some(x.parse().map_err(|_| Problem::bad_request("contact must be a contact id"))?);
    }
    if !matches!(c.grant, auth::policy::Grant::All) {
        // An agent: their own published evaluations only (a token without an agent sees none).
        let Some(own) = c.agent else { return Ok(Json(json!({ "items": [] }))) };
        filter.agent = Some(own);
        filter.published_only = true;
    }
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIST_ROWS);
    let mut rows = app.store.list_evaluations(c.who.org, &filter, limit).await?;
    let v = viewer(&c);
    let mut items = Vec::with_capacity(rows.len());
    for e in &mut rows {
        settle(&app, e).await?;
        if qa::can_view(&v, &core(e)) {
            items.push(evaluation_view(e, None));
        }
    }
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/qa/evaluations/{id}`: the evaluation with its disputes.
pub(crate) async fn get_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let e = visible_evaluation(&app, &c, &id).await?;
    let disputes = app.store.list_disputes(c.who.org, e.id).await?;
    Ok(Json(evaluation_view(&e, Some(&disputes))))
}

/// Runs one workflow command and stores the result (with the dispute it opens or closes).
async fn run(app: &S, c: &Caller, id: &str, command: WorkflowCommand) -> Result<Json<Value>, Problem> {
    let mut e = visible_evaluation(app, c, id).await?;
    let now = app.clock.now();
    let mut core = core(&e);
    let event = core.handle(&viewer(c), command, now, &WorkflowPolicy::default()).map_err(workflow_problem)?;
    absorb(&mut e, &core, now);
    let open = || async {
        let all = app.store.list_disputes(c.who.org, e.id).await?;
        Ok::<_, Problem>(all.into_iter().rev().find(|d| d.resolved_at.is_none()))
    };
    let dispute = match &event {
        WorkflowEvent::Disputed { at, by, reason } => Some(StoredDispute {
            id: new_id(app)?.to_string(),
            org: e.org,
            evaluation: e.id,
            disputed_by: *by,
            disputed_at: *at,
            reason: reason.trim().to_owned(),
            resolved_by: None,
            resolved_at: None,
            resolution: None,
            note: None,
            new_percent_hundredths: None,
        }),
        WorkflowEvent::Upheld { at, by, note } => open().await?.map(|d| StoredDispute {
            resolved_by: Some(*by),
            resolved_at: Some(*at),
            resolution: Some("uphold".into()),
            note: Some(note.trim().to_owned()),
            ..d
        }),
        WorkflowEvent::Rescored { at, by, percent_hundredths, note } => open().await?.map(|d| StoredDispute {
            resolved_by: Some(*by),
            resolved_at: Some(*at),
            resolution: Some("rescore".into()),
            note: Some(note.trim().to_owned()),
            new_percent_hundredths: Some(*percent_hundredths),
            ..d
        }),
        _ => None,
    };
    app.store.update_evaluation(&e, dispute.as_ref()).await?;
    let disputes = app.store.list_disputes(c.who.org, e.id).await?;
    Ok(Json(evaluation_view(&e, Some(&disputes))))
}

/// `POST /api/qa/evaluations/{id}/publish`.
pub(crate) async fn publish_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    person(&c)?;
    run(&app, &c, &id, WorkflowCommand::Publish).await
}

/// `POST /api/qa/evaluations/{id}/acknowledge`.
pub(crate) async fn acknowledge_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    person(&c)?;
    run(&app, &c, &id, WorkflowCommand::Acknowledge).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisputeBody {
    reason: String,
}

/// `POST /api/qa/evaluations/{id}/dispute`.
pub(crate) async fn dispute_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DisputeBody>,
) -> Result<Json<Value>, Problem> {
    person(&c)?;
    run(&app, &c, &id, WorkflowCommand::Dispute { reason: body.reason }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    /// `uphold` or `rescore`.
    resolution: String,
    note: String,
    /// The new score for `rescore`, in percent (0–100, two decimals kept).
    percent: Option<f64>,
}

/// `POST /api/qa/evaluations/{id}/resolve`.
pub(crate) async fn resolve_evaluation(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<Value>, Problem> {
    person(&c)?;
    let resolution = match (body.resolution.as_str(), body.percent) {
        ("uphold", _) => Resolution::Uphold,
        ("rescore", Some(p)) if (0.0..=100.0).contains(&p) => {
            Resolution::Rescore { percent_hundredths: (p * 100.0).round() as u32 }
        }
        ("rescore", _) => return Err(Problem::validation("a rescore needs percent, 0 to 100")),
        _ => return Err(Problem::validation("resolution must be \"uphold\" or \"rescore\"")),
    };
    run(&app, &c, &id, WorkflowCommand::Resolve { resolution, note: body.note }).await
}

// ---- calibration ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCalibrationBody {
    contact: String,
    scorecard: String,
    title: String,
}

fn calibration_view(s: &StoredCalibration) -> Value {
    json!({
        "id": s.id.to_string(),
        "contact": s.contact.to_string(),
        "scorecard": s.scorecard.to_string(),
        "title": s.title,
        "created_by": s.created_by.to_string(),
        "created_at_ms": s.created_at.unix_ms(),
    })
}

fn spread_view(s: &qa::Spread) -> Value {
    let r = |v: f64| (v * 100.0).round() / 100.0;
    json!({ "count": s.count, "mean": r(s.mean), "variance": r(s.variance), "std_dev": r(s.std_dev), "max_deviation": r(s.max_deviation) })
}

/// `POST /api/qa/calibrations`.
pub(crate) async fn create_calibration(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<NewCalibrationBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), Problem> {
    let (contact, _) = contact_of(&app, c.who.org, &body.contact).await?;
    let card_id: ScorecardId = body.scorecard.parse().map_err(|_| Problem::validation("no such scorecard"))?;
    card_of(&app, c.who.org, card_id).await?;
    let s = StoredCalibration {
        id: CalibrationId::from_uuid(new_id(&app)?),
        org: c.who.org,
        contact: contact.id,
        scorecard: card_id,
        title: text_field("title", &body.title, MAX_TITLE_CHARS, true)?,
        created_by: c.who.user.unwrap_or(UserId::from_u128(0)),
        created_at: app.clock.now(),
    };
    app.store.insert_calibration(&s).await?;
    Ok((axum::http::StatusCode::CREATED, Json(calibration_view(&s))))
}

/// `GET /api/qa/calibrations`.
pub(crate) async fn list_calibrations(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Value>, Problem> {
    let all = app.store.list_calibrations(c.who.org, MAX_LIST_ROWS).await?;
    Ok(Json(json!({ "items": all.iter().map(calibration_view).collect::<Vec<_>>() })))
}

/// `GET /api/qa/calibrations/{id}`: the session, every sheet, and the spread once two evaluators
/// have scored.
pub(crate) async fn get_calibration(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let id: CalibrationId = parse_id(&id, "calibration")?;
    let s = found(app.store.get_calibration(c.who.org, id).await?, "calibration")?;
    let (_, _, card) = card_of(&app, c.who.org, s.scorecard).await?;
    let sheets = app.store.list_calibration_sheets(c.who.org, id).await?;
    let parsed: Vec<(UserId, Answers)> = sheets
        .iter()
        .map(|sh| Ok((sh.evaluator, parse_stored_answers(&sh.answers)?)))
        .collect::<Result<_, Problem>>()?;
    let spread = if parsed.len() >= 2 {
        let r = qa::calibrate(&card, &parsed).map_err(Problem::validation)?;
        json!({
            "overall": spread_view(&r.overall),
            "evaluators": r.evaluator_deviation.iter().map(|(who, d)| json!({"evaluator": who.to_string(), "deviation": (d * 100.0).round() / 100.0})).collect::<Vec<_>>(),
            "questions": r.questions.iter().map(|q| json!({"key": q.key, "not_applicable": q.not_applicable, "spread": q.spread.as_ref().map(spread_view)})).collect::<Vec<_>>(),
        })
    } else {
        Value::Null
    };
    let mut v = calibration_view(&s);
    v["sheets"] = sheets
        .iter()
        .map(|sh| {
            json!({
                "evaluator": sh.evaluator.to_string(),
                "answers": answers_to_wire(&sh.answers),
                "percent": f64::from(sh.percent_hundredths) / 100.0,
                "scored_at_ms": sh.scored_at.unix_ms(),
            })
        })
        .collect();
    v["spread"] = spread;
    Ok(Json(v))
}

/// `PUT /api/qa/calibrations/{id}/sheet`: the caller's answers (replacing their earlier ones).
pub(crate) async fn score_calibration(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScoreBody>,
) -> Result<Json<Value>, Problem> {
    let evaluator = person(&c)?;
    let id: CalibrationId = parse_id(&id, "calibration")?;
    let s = found(app.store.get_calibration(c.who.org, id).await?, "calibration")?;
    let (_, _, card) = card_of(&app, c.who.org, s.scorecard).await?;
    let (answers, report) = score(&card, &body.answers)?;
    let sheet = CalibrationSheet {
        org: c.who.org,
        calibration: id,
        evaluator,
        answers: stored_answers(&answers),
        percent_hundredths: report.percent_hundredths,
        scored_at: app.clock.now(),
    };
    app.store.save_calibration_sheet(&sheet).await?;
    Ok(Json(json!({ "evaluator": evaluator.to_string(), "percent": report.percent() })))
}

// ---- report ----

#[derive(Debug, Deserialize)]
pub(crate) struct ReportQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// `GET /api/qa/report?from_ms=&to_ms=`: mean final score per agent and for the team per week
/// (weeks start Monday in the report time zone), from published and closed evaluations.
pub(crate) async fn report(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<Value>, Problem> {
    let offset = app.config.report_utc_offset_minutes;
    let to = q.to_ms.unwrap_or_else(|| app.clock.now().unix_ms() + 1);
    let from = q.from_ms.unwrap_or(to - 8 * WEEK_MS);
    if from >= to || to - from > MAX_REPORT_WEEKS * WEEK_MS {
        return Err(Problem::bad_request(format!("from_ms must be before to_ms, at most {MAX_REPORT_WEEKS} weeks")));
    }
    let filter = EvaluationFilter {
        published_between: Some((Timestamp::from_unix_ms(from), Timestamp::from_unix_ms(to))),
        ..Default::default()
    };
    let rows = app.store.list_evaluations(c.who.org, &filter, MAX_REPORT_EVALUATIONS).await?;
    let scores: Vec<qa::ScoredEvaluation> = rows
        .iter()
        .filter(|e| !matches!(e.status, EvaluationStatus::Draft | EvaluationStatus::Disputed))
        .filter_map(|e| {
            e.published_at.map(|at| qa::ScoredEvaluation {
                agent: e.agent,
                at,
                percent_hundredths: e.percent_hundredths,
            })
        })
        .collect();
    let trend = qa::weekly_trend(&scores, offset);
    let week = |w: &qa::WeeklyAverage| json!({"week_start_ms": w.week_start.unix_ms(), "evaluations": w.evaluations, "mean_percent": f64::from(w.mean_hundredths) / 100.0});
    let mut agents = Vec::new();
    for (agent, weeks) in &trend.agents {
        let a = app.store.get_agent(c.who.org, *agent).await?;
        agents.push(json!({
            "agent": agent.to_string(),
            "name": a.as_ref().map(|a| a.display_name.clone()),
            "extension": a.as_ref().map(|a| a.extension.as_str().to_owned()),
            "weeks": weeks.iter().map(week).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(json!({
        "from_ms": from,
        "to_ms": to,
        "utc_offset_minutes": offset,
        "truncated": rows.len() >= MAX_REPORT_EVALUATIONS as usize,
        "team": trend.team.iter().map(week).collect::<Vec<_>>(),
        "agents": agents,
    })))
}

// ---- transcript ----

/// `GET /api/contacts/{id}/transcript`: the transcript segments of the contact's recording (empty
/// when it has none yet), for the evaluator view.
pub(crate) async fn contact_transcript(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let id: ContactId = parse_id(&id, "contact")?;
    let contact = found(app.store.get_contact(c.who.org, id).await?, "contact")?;
    if !c.may_see(contact.agent) {
        return Err(Problem::not_found("contact"));
    }
    let recording = match contact.recording {
        Some(r) => Some(r),
        None => app
            .store
            .list_recordings_by_contact(c.who.org, contact.id, &store::Page::first(1))
            .await?
            .items
            .first()
            .map(|r| r.id),
    };
    let Some(recording) = recording else {
        return Ok(Json(json!({ "recording": null, "segments": [] })));
    };
    let segments = app.store.list_transcript_segments(c.who.org, recording, MAX_TRANSCRIPT_SEGMENTS).await?;
    Ok(Json(json!({
        "recording": recording.to_string(),
        "segments": segments.iter().map(|s| json!({
            "speaker": s.speaker.as_str(),
            "start_ms": s.start_ms,
            "end_ms": s.end_ms,
            "text": s.text,
        })).collect::<Vec<_>>(),
    })))
}
