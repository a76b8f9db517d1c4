//! Quality assurance records: scorecards, evaluations with their workflow state, disputes,
//! calibration sessions with each evaluator's sheet, and samples drawn for a period (migration
//! 0007). The rules (card validity, scoring, who may do what) live in the `analytics` crate; this
//! module only stores what the web shell decided, as plain values: a scorecard's definition and an
//! evaluation's answers and comments are JSON text the caller validates on the way in and out.
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, a stored state trusted
//! without parsing, or an evaluation's state written apart from the dispute that moved it (both
//! go in one transaction).

use std::collections::BTreeMap;

use model::{AgentId, CalibrationId, ContactId, EvaluationId, OrgId, QaSampleId, ScorecardId, Timestamp, UserId};

use crate::Store;
use crate::error::StoreError;
use crate::repo::to_json;
use crate::sql::{self, RowReader, Value, to_i64};

/// Most rows one QA listing returns.
pub const MAX_QA_ROWS: u32 = 5_000;
/// Longest scorecard definition kept, in bytes of JSON.
pub const MAX_SCORECARD_DEFINITION_BYTES: usize = 256 * 1024;
/// Longest answers or comments map of one evaluation, in bytes of JSON.
pub const MAX_EVALUATION_JSON_BYTES: usize = 128 * 1024;
/// Most contacts in one sample.
pub const MAX_SAMPLE_CONTACTS: usize = 20_000;

const SCORECARDS: &str = "qa_scorecards";
const SCORECARD_COLS: &str = "id, org_id, name, definition, archived, created_by, created_at_ms, updated_at_ms";
const EVALUATIONS: &str = "qa_evaluations";
const EVALUATION_COLS: &str = "id, org_id, contact_id, agent_id, evaluator_id, scorecard_id, sample_id, answers, \
     comments, percent_hundredths, weighted_percent_hundredths, auto_failed, state, state_at_ms, auto_acknowledged, \
     disputes, published_at_ms, created_at_ms, updated_at_ms";
const DISPUTES: &str = "qa_disputes";
const DISPUTE_COLS: &str = "id, org_id, evaluation_id, disputed_by, disputed_at_ms, reason, resolved_by, \
     resolved_at_ms, resolution, note, new_percent_hundredths";
const CALIBRATIONS: &str = "qa_calibrations";
const CALIBRATION_COLS: &str = "id, org_id, contact_id, scorecard_id, title, created_by, created_at_ms";
const SHEETS: &str = "qa_calibration_scores";
const SHEET_COLS: &str = "org_id, calibration_id, evaluator_id, answers, percent_hundredths, scored_at_ms";
const SAMPLES: &str = "qa_samples";
const SAMPLE_COLS: &str =
    "id, org_id, period_start_ms, period_end_ms, seed, per_agent, include_flagged, created_by, created_at_ms";
const SAMPLE_CONTACTS: &str = "qa_sample_contacts";

/// A scorecard as stored; `definition` is the card's JSON (sections and questions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScorecard {
    pub id: ScorecardId,
    pub org: OrgId,
    pub name: String,
    pub definition: String,
    /// Archived cards stay for old evaluations but are not offered for new ones.
    pub archived: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where an evaluation stands in the workflow (the `analytics` crate decides the moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvaluationStatus {
    Draft,
    Published,
    Disputed,
    Acknowledged,
    Upheld,
}

impl EvaluationStatus {
    pub const ALL: [EvaluationStatus; 5] =
        [Self::Draft, Self::Published, Self::Disputed, Self::Acknowledged, Self::Upheld];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Disputed => "disputed",
            Self::Acknowledged => "acknowledged",
            Self::Upheld => "upheld",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An evaluation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvaluation {
    pub id: EvaluationId,
    pub org: OrgId,
    pub contact: ContactId,
    pub agent: AgentId,
    pub evaluator: UserId,
    pub scorecard: ScorecardId,
    /// The sample that proposed the contact, if any.
    pub sample: Option<QaSampleId>,
    /// Question key → answer (`yes`, `no`, `na` or a number of points).
    pub answers: BTreeMap<String, String>,
    /// Question key (or `""` for the whole evaluation) → the evaluator's comment.
    pub comments: BTreeMap<String, String>,
    pub percent_hundredths: u32,
    pub weighted_percent_hundredths: u32,
    pub auto_failed: Vec<String>,
    pub status: EvaluationStatus,
    /// When the evaluation entered `status`.
    pub status_at: Timestamp,
    pub auto_acknowledged: bool,
    pub disputes: u8,
    pub published_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a listing of evaluations keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationFilter {
    pub agent: Option<AgentId>,
    pub contact: Option<ContactId>,
    pub evaluator: Option<UserId>,
    /// Drafts left out (what an agent may see, and what reports count).
    pub published_only: bool,
    /// `[from, to)` on the publication time (implies published ones).
    pub published_between: Option<(Timestamp, Timestamp)>,
}

/// A dispute of an evaluation and, once resolved, its resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDispute {
    pub id: String,
    pub org: OrgId,
    pub evaluation: EvaluationId,
    pub disputed_by: UserId,
    pub disputed_at: Timestamp,
    pub reason: String,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<Timestamp>,
    /// `uphold` or `rescore`.
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub new_percent_hundredths: Option<u32>,
}

/// A calibration session: several evaluators score one contact on one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCalibration {
    pub id: CalibrationId,
    pub org: OrgId,
    pub contact: ContactId,
    pub scorecard: ScorecardId,
    pub title: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// One evaluator's sheet in a calibration session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrationSheet {
    pub org: OrgId,
    pub calibration: CalibrationId,
    pub evaluator: UserId,
    pub answers: BTreeMap<String, String>,
    pub percent_hundredths: u32,
    pub scored_at: Timestamp,
}

/// A contact picked by a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleContact {
    pub contact: ContactId,
    pub agent: AgentId,
    /// Picked because a rule flagged it (else drawn at random).
    pub flagged: bool,
}

/// A sample drawn for a period, with the seed that reproduces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSample {
    pub id: QaSampleId,
    pub org: OrgId,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub seed: u64,
    pub per_agent: u32,
    pub include_flagged: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// In the order drawn.
    pub contacts: Vec<SampleContact>,
}

/// A finished contact with an agent, as sampling sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QaCandidate {
    pub contact: ContactId,
    pub agent: AgentId,
    pub ended_at: Timestamp,
    /// A keyword rule flagged its transcript, or speech analytics flagged one of its recordings
    /// (long silence, overtalk...).
    pub flagged: bool,
}

fn too_big(what: &'static str, max: usize) -> StoreError {
    StoreError::InvalidInput { what, reason: format!("is longer than {max} bytes") }
}

fn scorecard_from_row(r: &RowReader<'_>) -> Result<StoredScorecard, StoreError> {
    Ok(StoredScorecard {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        name: r.text("name")?,
        definition: r.text("definition")?,
        archived: r.bool("archived")?,
        created_by: r.parse("created_by")?,
        created_at: r.time("created_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
    })
}

fn evaluation_from_row(r: &RowReader<'_>) -> Result<StoredEvaluation, StoreError> {
    let state = r.text("state")?;
    Ok(StoredEvaluation {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        agent: r.parse("agent_id")?,
        evaluator: r.parse("evaluator_id")?,
        scorecard: r.parse("scorecard_id")?,
        sample: r.opt_parse("sample_id")?,
        answers: r.json("answers")?,
        comments: r.json("comments")?,
        percent_hundredths: r.uint("percent_hundredths")?,
        weighted_percent_hundredths: r.uint("weighted_percent_hundredths")?,
        auto_failed: r.json("auto_failed")?,
        status: EvaluationStatus::parse(&state)
            .ok_or_else(|| r.invalid("state", format!("{state:?} is not an evaluation state")))?,
        status_at: r.time("state_at_ms")?,
        auto_acknowledged: r.bool("auto_acknowledged")?,
        disputes: r.uint("disputes")?,
        published_at: r.opt_time("published_at_ms")?,
        created_at: r.time("created_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
    })
}

fn evaluation_values(e: &StoredEvaluation) -> Result<Vec<Value>, StoreError> {
    let answers = to_json(&e.answers);
    let comments = to_json(&e.comments);
    if answers.len() > MAX_EVALUATION_JSON_BYTES {
        return Err(too_big("evaluation answers", MAX_EVALUATION_JSON_BYTES));
    }
    if comments.len() > MAX_EVALUATION_JSON_BYTES {
        return Err(too_big("evaluation comments", MAX_EVALUATION_JSON_BYTES));
    }
    Ok(vec![
        e.id.to_string().into(),
        e.org.to_string().into(),
        e.contact.to_string().into(),
        e.agent.to_string().into(),
        e.evaluator.to_string().into(),
        e.scorecard.to_string().into(),
        sql::text_opt(e.sample.as_ref()),
        answers.into(),
        comments.into(),
        i64::from(e.percent_hundredths).into(),
        i64::from(e.weighted_percent_hundredths).into(),
        to_json(&e.auto_failed).into(),
        e.status.as_str().into(),
        e.status_at.unix_ms().into(),
        e.auto_acknowledged.into(),
        i64::from(e.disputes).into(),
        e.published_at.map(|t| t.unix_ms()).into(),
        e.created_at.unix_ms().into(),
        e.updated_at.unix_ms().into(),
    ])
}

fn dispute_from_row(r: &RowReader<'_>) -> Result<StoredDispute, StoreError> {
    Ok(StoredDispute {
        id: r.text("id")?,
        org: r.parse("org_id")?,
        evaluation: r.parse("evaluation_id")?,
        disputed_by: r.parse("disputed_by")?,
        disputed_at: r.time("disputed_at_ms")?,
        reason: r.text("reason")?,
        resolved_by: r.opt_parse("resolved_by")?,
        resolved_at: r.opt_time("resolved_at_ms")?,
        resolution: r.opt_text("resolution")?,
        note: r.opt_text("note")?,
        new_percent_hundredths: r.opt_uint("new_percent_hundredths")?,
    })
}

fn dispute_values(d: &StoredDispute) -> Vec<Value> {
    vec![
        d.id.clone().into(),
        d.org.to_string().into(),
        d.evaluation.to_string().into(),
        d.disputed_by.to_string().into(),
        d.disputed_at.unix_ms().into(),
        d.reason.clone().into(),
        sql::text_opt(d.resolved_by.as_ref()),
        d.resolved_at.map(|t| t.unix_ms()).into(),
        d.resolution.clone().into(),
        d.note.clone().into(),
        d.new_percent_hundredths.map(i64::from).into(),
    ]
}

fn calibration_from_row(r: &RowReader<'_>) -> Result<StoredCalibration, StoreError> {
    Ok(StoredCalibration {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        scorecard: r.parse("scorecard_id")?,
        title: r.text("title")?,
        created_by: r.parse("created_by")?,
        created_at: r.time("created_at_ms")?,
    })
}

fn sheet_from_row(r: &RowReader<'_>) -> Result<CalibrationSheet, StoreError> {
    Ok(CalibrationSheet {
        org: r.parse("org_id")?,
        calibration: r.parse("calibration_id")?,
        evaluator: r.parse("evaluator_id")?,
        answers: r.json("answers")?,
        percent_hundredths: r.uint("percent_hundredths")?,
        scored_at: r.time("scored_at_ms")?,
    })
}

fn sample_from_row(r: &RowReader<'_>) -> Result<StoredSample, StoreError> {
    let seed = r.text("seed")?;
    Ok(StoredSample {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        period_start: r.time("period_start_ms")?,
        period_end: r.time("period_end_ms")?,
        seed: seed.parse().map_err(|_| r.invalid("seed", format!("{seed:?} is not a u64")))?,
        per_agent: r.uint("per_agent")?,
        include_flagged: r.bool("include_flagged")?,
        created_by: r.parse("created_by")?,
        created_at: r.time("created_at_ms")?,
        contacts: Vec::new(),
    })
}

fn org_args(org: OrgId, more: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut args = vec![Value::from(org.to_string())];
    args.extend(more);
    args
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl Store {
    async fn qa_one<T>(
        &self,
        table: &'static str,
        cols: &str,
        what: &'static str,
        filter: &str,
        args: Vec<Value>,
        map: fn(&RowReader<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {cols} FROM {table} WHERE org_id = ? AND {filter}");
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, what, &sql, args).await?;
        row.map(|r| map(&RowReader::new(&r, table))).transpose()
    }

    #[allow(clippy::too_many_arguments)]
    async fn qa_many<T>(
        &self,
        table: &'static str,
        cols: &str,
        what: &'static str,
        filter: &str,
        order: &str,
        args: Vec<Value>,
        max_rows: u32,
        map: fn(&RowReader<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let limit = max_rows.clamp(1, MAX_QA_ROWS);
        let sql = format!("SELECT {cols} FROM {table} WHERE org_id = ? {filter} ORDER BY {order} LIMIT {limit}");
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, what, &sql, args).await?;
        rows.iter().map(|r| map(&RowReader::new(r, table))).collect()
    }

    // ---- scorecards ----

    pub async fn insert_scorecard(&self, card: &StoredScorecard) -> Result<(), StoreError> {
        if card.definition.len() > MAX_SCORECARD_DEFINITION_BYTES {
            return Err(too_big("scorecard definition", MAX_SCORECARD_DEFINITION_BYTES));
        }
        let sql = format!("INSERT INTO {SCORECARDS} ({SCORECARD_COLS}) VALUES ({})", marks(8));
        let args = vec![
            card.id.to_string().into(),
            card.org.to_string().into(),
            card.name.clone().into(),
            card.definition.clone().into(),
            card.archived.into(),
            card.created_by.to_string().into(),
            card.created_at.unix_ms().into(),
            card.updated_at.unix_ms().into(),
        ];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "scorecard", &sql, args).await.map(drop)
    }

    /// Replaces the name, definition and archived flag; [`StoreError::NotFound`] if the org has no
    /// such card.
    pub async fn update_scorecard(&self, card: &StoredScorecard) -> Result<(), StoreError> {
        if card.definition.len() > MAX_SCORECARD_DEFINITION_BYTES {
            return Err(too_big("scorecard definition", MAX_SCORECARD_DEFINITION_BYTES));
        }
        let sql = format!(
            "UPDATE {SCORECARDS} SET name = ?, definition = ?, archived = ?, updated_at_ms = ? \
             WHERE org_id = ? AND id = ?"
        );
        let args = vec![
            card.name.clone().into(),
            card.definition.clone().into(),
            card.archived.into(),
            card.updated_at.unix_ms().into(),
            card.org.to_string().into(),
            card.id.to_string().into(),
        ];
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, "scorecard", &sql, args).await? {
            0 if self.get_scorecard(card.org, card.id).await?.is_none() => {
                Err(StoreError::NotFound { what: "scorecard", key: card.id.to_string() })
            }
            _ => Ok(()),
        }
    }

    pub async fn get_scorecard(&self, org: OrgId, id: ScorecardId) -> Result<Option<StoredScorecard>, StoreError> {
        let args = org_args(org, [Value::from(id.to_string())]);
        self.qa_one(SCORECARDS, SCORECARD_COLS, "scorecard", "id = ?", args, scorecard_from_row).await
    }

    /// The org's scorecards, oldest first, at most `max_rows` (capped at [`MAX_QA_ROWS`]).
    pub async fn list_scorecards(
        &self,
        org: OrgId,
        include_archived: bool,
        max_rows: u32,
    ) -> Result<Vec<StoredScorecard>, StoreError> {
        let filter = if include_archived { "" } else { "AND archived = 0" };
        let order = "created_at_ms, id";
        let args = org_args(org, []);
        self.qa_many(SCORECARDS, SCORECARD_COLS, "scorecard", filter, order, args, max_rows, scorecard_from_row).await
    }

    // ---- evaluations and disputes ----

    pub async fn insert_evaluation(&self, e: &StoredEvaluation) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO {EVALUATIONS} ({EVALUATION_COLS}) VALUES ({})", marks(19));
        let args = evaluation_values(e)?;
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "evaluation", &sql, args).await.map(drop)
    }

    /// Writes every field of the evaluation but its id, org, contact, agent and creation time, and
    /// `dispute` (inserted or replaced by id) in the same transaction; [`StoreError::NotFound`] if
    /// the org has no such evaluation.
    pub async fn update_evaluation(
        &self,
        e: &StoredEvaluation,
        dispute: Option<&StoredDispute>,
    ) -> Result<(), StoreError> {
        if dispute.is_some_and(|d| d.org != e.org || d.evaluation != e.id) {
            return Err(StoreError::InvalidInput {
                what: "dispute",
                reason: "belongs to another evaluation".to_owned(),
            });
        }
        let mut values = evaluation_values(e)?;
        // Drop id, org, contact, agent: they never change (and key the row).
        let id = values.remove(0);
        let org = values.remove(0);
        values.drain(0..2);
        let cols = [
            "evaluator_id",
            "scorecard_id",
            "sample_id",
            "answers",
            "comments",
            "percent_hundredths",
            "weighted_percent_hundredths",
            "auto_failed",
            "state",
            "state_at_ms",
            "auto_acknowledged",
            "disputes",
            "published_at_ms",
            "created_at_ms",
            "updated_at_ms",
        ];
        debug_assert_eq!(cols.len(), values.len());
        let sets = cols.iter().map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ");
        let sql = format!("UPDATE {EVALUATIONS} SET {sets} WHERE org_id = ? AND id = ?");
        values.push(org.clone());
        values.push(id.clone());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("evaluation", e))?;
        sql::execute(&mut tx, self.backend, "evaluation", &sql, values).await?;
        // MySQL counts changed rows only, so existence is checked by a read.
        let probe = format!("SELECT id FROM {EVALUATIONS} WHERE org_id = ? AND id = ?");
        if sql::fetch_optional(&mut tx, self.backend, "evaluation", &probe, vec![org, id]).await?.is_none() {
            return Err(StoreError::NotFound { what: "evaluation", key: e.id.to_string() });
        }
        if let Some(d) = dispute {
            let delete = format!("DELETE FROM {DISPUTES} WHERE org_id = ? AND id = ?");
            let args = vec![d.org.to_string().into(), d.id.clone().into()];
            sql::execute(&mut tx, self.backend, "dispute", &delete, args).await?;
            let insert = format!("INSERT INTO {DISPUTES} ({DISPUTE_COLS}) VALUES ({})", marks(11));
            sql::execute(&mut tx, self.backend, "dispute", &insert, dispute_values(d)).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query("evaluation", e))
    }

    pub async fn get_evaluation(&self, org: OrgId, id: EvaluationId) -> Result<Option<StoredEvaluation>, StoreError> {
        let args = org_args(org, [Value::from(id.to_string())]);
        self.qa_one(EVALUATIONS, EVALUATION_COLS, "evaluation", "id = ?", args, evaluation_from_row).await
    }

    /// The org's evaluations passing `filter`, newest first, at most `max_rows` (capped at
    /// [`MAX_QA_ROWS`]).
    pub async fn list_evaluations(
        &self,
        org: OrgId,
        filter: &EvaluationFilter,
        max_rows: u32,
    ) -> Result<Vec<StoredEvaluation>, StoreError> {
        let mut cond = String::new();
        let mut args = org_args(org, []);
        if let Some(a) = filter.agent {
            cond.push_str(" AND agent_id = ?");
            args.push(a.to_string().into());
        }
        if let Some(c) = filter.contact {
            cond.push_str(" AND contact_id = ?");
            args.push(c.to_string().into());
        }
        if let Some(u) = filter.evaluator {
            cond.push_str(" AND evaluator_id = ?");
            args.push(u.to_string().into());
        }
        if filter.published_only || filter.published_between.is_some() {
            cond.push_str(" AND state <> 'draft' AND published_at_ms IS NOT NULL");
        }
        if let Some((from, to)) = filter.published_between {
            cond.push_str(" AND published_at_ms >= ? AND published_at_ms < ?");
            args.extend([Value::from(from.unix_ms()), Value::from(to.unix_ms())]);
        }
        let order = "created_at_ms DESC, id DESC";
        self.qa_many(EVALUATIONS, EVALUATION_COLS, "evaluation", &cond, order, args, max_rows, evaluation_from_row)
            .await
    }

    /// The disputes of one evaluation, oldest first.
    pub async fn list_disputes(&self, org: OrgId, evaluation: EvaluationId) -> Result<Vec<StoredDispute>, StoreError> {
        let args = org_args(org, [Value::from(evaluation.to_string())]);
        let order = "disputed_at_ms, id";
        self.qa_many(DISPUTES, DISPUTE_COLS, "dispute", "AND evaluation_id = ?", order, args, 100, dispute_from_row)
            .await
    }

    // ---- calibration ----

    pub async fn insert_calibration(&self, c: &StoredCalibration) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO {CALIBRATIONS} ({CALIBRATION_COLS}) VALUES ({})", marks(7));
        let args = vec![
            c.id.to_string().into(),
            c.org.to_string().into(),
            c.contact.to_string().into(),
            c.scorecard.to_string().into(),
            c.title.clone().into(),
            c.created_by.to_string().into(),
            c.created_at.unix_ms().into(),
        ];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "calibration", &sql, args).await.map(drop)
    }

    pub async fn get_calibration(
        &self,
        org: OrgId,
        id: CalibrationId,
    ) -> Result<Option<StoredCalibration>, StoreError> {
        let args = org_args(org, [Value::from(id.to_string())]);
        self.qa_one(CALIBRATIONS, CALIBRATION_COLS, "calibration", "id = ?", args, calibration_from_row).await
    }

    /// The org's calibration sessions, newest first, at most `max_rows`.
    pub async fn list_calibrations(&self, org: OrgId, max_rows: u32) -> Result<Vec<StoredCalibration>, StoreError> {
        let order = "created_at_ms DESC, id DESC";
        let args = org_args(org, []);
        self.qa_many(CALIBRATIONS, CALIBRATION_COLS, "calibration", "", order, args, max_rows, calibration_from_row)
            .await
    }

    /// Saves (or replaces) one evaluator's sheet; [`StoreError::NotFound`] if the org has no such
    /// session.
    pub async fn save_calibration_sheet(&self, s: &CalibrationSheet) -> Result<(), StoreError> {
        let answers = to_json(&s.answers);
        if answers.len() > MAX_EVALUATION_JSON_BYTES {
            return Err(too_big("calibration answers", MAX_EVALUATION_JSON_BYTES));
        }
        let (org, cal, who) = (s.org.to_string(), s.calibration.to_string(), s.evaluator.to_string());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("calibration", e))?;
        let probe = format!("SELECT id FROM {CALIBRATIONS} WHERE org_id = ? AND id = ?");
        let found = sql::fetch_optional(
            &mut tx,
            self.backend,
            "calibration",
            &probe,
            vec![org.clone().into(), cal.clone().into()],
        )
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound { what: "calibration", key: cal });
        }
        let delete = format!("DELETE FROM {SHEETS} WHERE org_id = ? AND calibration_id = ? AND evaluator_id = ?");
        let args = vec![org.clone().into(), cal.clone().into(), who.clone().into()];
        sql::execute(&mut tx, self.backend, "calibration sheet", &delete, args).await?;
        let insert = format!("INSERT INTO {SHEETS} ({SHEET_COLS}) VALUES ({})", marks(6));
        let args = vec![
            org.into(),
            cal.into(),
            who.into(),
            answers.into(),
            i64::from(s.percent_hundredths).into(),
            s.scored_at.unix_ms().into(),
        ];
        sql::execute(&mut tx, self.backend, "calibration sheet", &insert, args).await?;
        tx.commit().await.map_err(|e| StoreError::from_query("calibration", e))
    }

    /// The sheets of one session, in the order they were scored.
    pub async fn list_calibration_sheets(
        &self,
        org: OrgId,
        calibration: CalibrationId,
    ) -> Result<Vec<CalibrationSheet>, StoreError> {
        let args = org_args(org, [Value::from(calibration.to_string())]);
        let order = "scored_at_ms, evaluator_id";
        self.qa_many(
            SHEETS,
            SHEET_COLS,
            "calibration sheet",
            "AND calibration_id = ?",
            order,
            args,
            100,
            sheet_from_row,
        )
        .await
    }

    // ---- samples ----

    /// Stores a sample with its contacts, in one transaction.
    pub async fn insert_sample(&self, s: &StoredSample) -> Result<(), StoreError> {
        if s.contacts.len() > MAX_SAMPLE_CONTACTS {
            return Err(StoreError::InvalidInput {
                what: "sample",
                reason: format!("has {} contacts; at most {MAX_SAMPLE_CONTACTS}", s.contacts.len()),
            });
        }
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("sample", e))?;
        let sql = format!("INSERT INTO {SAMPLES} ({SAMPLE_COLS}) VALUES ({})", marks(9));
        let args = vec![
            s.id.to_string().into(),
            s.org.to_string().into(),
            s.period_start.unix_ms().into(),
            s.period_end.unix_ms().into(),
            s.seed.to_string().into(),
            i64::from(s.per_agent).into(),
            s.include_flagged.into(),
            s.created_by.to_string().into(),
            s.created_at.unix_ms().into(),
        ];
        sql::execute(&mut tx, self.backend, "sample", &sql, args).await?;
        let insert = format!(
            "INSERT INTO {SAMPLE_CONTACTS} (org_id, sample_id, contact_id, agent_id, flagged) VALUES (?, ?, ?, ?, ?)"
        );
        for c in &s.contacts {
            let args = vec![
                s.org.to_string().into(),
                s.id.to_string().into(),
                c.contact.to_string().into(),
                c.agent.to_string().into(),
                c.flagged.into(),
            ];
            sql::execute(&mut tx, self.backend, "sample contact", &insert, args).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query("sample", e))
    }

    /// A sample with its contacts in the order drawn (agent, flagged first, contact id).
    pub async fn get_sample(&self, org: OrgId, id: QaSampleId) -> Result<Option<StoredSample>, StoreError> {
        let args = org_args(org, [Value::from(id.to_string())]);
        let Some(mut sample) = self.qa_one(SAMPLES, SAMPLE_COLS, "sample", "id = ?", args, sample_from_row).await?
        else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT contact_id, agent_id, flagged FROM {SAMPLE_CONTACTS} WHERE org_id = ? AND sample_id = ? \
             ORDER BY agent_id, flagged DESC, contact_id LIMIT {MAX_SAMPLE_CONTACTS}"
        );
        let mut conn = self.conn().await?;
        let args = vec![Value::from(org.to_string()), Value::from(id.to_string())];
        let rows = sql::fetch_all(&mut conn, self.backend, "sample contact", &sql, args).await?;
        sample.contacts = rows
            .iter()
            .map(|r| {
                let r = RowReader::new(r, SAMPLE_CONTACTS);
                Ok(SampleContact {
                    contact: r.parse("contact_id")?,
                    agent: r.parse("agent_id")?,
                    flagged: r.bool("flagged")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(sample))
    }

    /// The org's samples (without their contacts), newest first, at most `max_rows`.
    pub async fn list_samples(&self, org: OrgId, max_rows: u32) -> Result<Vec<StoredSample>, StoreError> {
        let order = "created_at_ms DESC, id DESC";
        self.qa_many(SAMPLES, SAMPLE_COLS, "sample", "", order, org_args(org, []), max_rows, sample_from_row).await
    }

    /// Contacts of the org handled by an agent that ended in `[from, to)`, each with whether it is
    /// flagged — a keyword rule flagged its transcript or one of its texts (note, chat, email),
    /// or speech analytics flagged its call — at most `max_rows` + 1 (so the caller can tell the
    /// period holds more than it takes).
    pub async fn list_qa_candidates(
        &self,
        org: OrgId,
        from: Timestamp,
        to: Timestamp,
        max_rows: u32,
    ) -> Result<Vec<QaCandidate>, StoreError> {
        let limit = to_i64("max_rows", max_rows)? + 1;
        let sql = format!(
            "SELECT c.id AS id, c.agent_id AS agent_id, c.ended_at_ms AS ended_at_ms, j.rule_flags AS rule_flags, \
             CASE WHEN EXISTS (SELECT 1 FROM contact_speech s WHERE s.org_id = c.org_id AND s.contact_id = c.id \
             AND s.flags <> '') OR EXISTS (SELECT 1 FROM contact_text_flags t WHERE t.org_id = c.org_id \
             AND t.contact_id = c.id) THEN 1 ELSE 0 END AS also_flagged \
             FROM contacts c LEFT JOIN transcription_jobs j ON j.org_id = c.org_id AND j.recording_id = c.recording_id \
             WHERE c.org_id = ? AND c.agent_id IS NOT NULL AND c.ended_at_ms >= ? AND c.ended_at_ms < ? \
             ORDER BY c.ended_at_ms, c.id LIMIT {limit}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(from.unix_ms()), Value::from(to.unix_ms())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "contact", &sql, args).await?;
        rows.iter()
            .map(|r| {
                let r = RowReader::new(r, "contacts");
                let flags: Option<String> = r.opt_text("rule_flags")?;
                Ok(QaCandidate {
                    contact: r.parse("id")?,
                    agent: r.parse("agent_id")?,
                    ended_at: r.time("ended_at_ms")?,
                    flagged: flags.is_some_and(|f| !matches!(f.trim(), "" | "[]")) || r.int("also_flagged")? != 0,
                })
            })
            .collect()
    }
}
