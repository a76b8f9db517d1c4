-- Hotline schema version 7 (SQLite): quality assurance. Scorecards (their sections and questions
-- as JSON text, validated by the `analytics` crate on the way in and out), evaluations of one
-- contact's handling by one agent (answers and comments as JSON maps, the score in hundredths of
-- a percent, the workflow state), disputes of an evaluation, calibration sessions (several
-- evaluators score one contact; one row per evaluator) and samples drawn for a period. Times are
-- unix ms.

CREATE TABLE IF NOT EXISTS qa_scorecards (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    archived INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_scorecards_org ON qa_scorecards (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_evaluations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    sample_id TEXT,
    answers TEXT NOT NULL,
    comments TEXT NOT NULL,
    percent_hundredths INTEGER NOT NULL,
    weighted_percent_hundredths INTEGER NOT NULL,
    auto_failed TEXT NOT NULL,
    state TEXT NOT NULL,
    state_at_ms INTEGER NOT NULL,
    auto_acknowledged INTEGER NOT NULL,
    disputes INTEGER NOT NULL,
    published_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_created ON qa_evaluations (org_id, created_at_ms, id);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_agent ON qa_evaluations (org_id, agent_id, created_at_ms);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_contact ON qa_evaluations (org_id, contact_id);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_published ON qa_evaluations (org_id, published_at_ms);

CREATE TABLE IF NOT EXISTS qa_disputes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    evaluation_id TEXT NOT NULL,
    disputed_by TEXT NOT NULL,
    disputed_at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    resolved_by TEXT,
    resolved_at_ms INTEGER,
    resolution TEXT,
    note TEXT,
    new_percent_hundredths INTEGER
);
CREATE INDEX IF NOT EXISTS qa_disputes_org_evaluation ON qa_disputes (org_id, evaluation_id, disputed_at_ms);

CREATE TABLE IF NOT EXISTS qa_calibrations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_calibrations_org ON qa_calibrations (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_calibration_scores (
    org_id TEXT NOT NULL,
    calibration_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    answers TEXT NOT NULL,
    percent_hundredths INTEGER NOT NULL,
    scored_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, calibration_id, evaluator_id)
);

CREATE TABLE IF NOT EXISTS qa_samples (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER NOT NULL,
    seed TEXT NOT NULL,
    per_agent INTEGER NOT NULL,
    include_flagged INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_samples_org ON qa_samples (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_sample_contacts (
    org_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    PRIMARY KEY (org_id, sample_id, contact_id)
);
