-- Hotline schema version 7 (PostgreSQL): quality assurance. Scorecards (their sections and questions
-- as JSON text, validated by the `analytics` crate on the way in and out), evaluations of one
-- contact's handling by one agent (answers and comments as JSON maps, the score in hundredths of
-- a percent, the workflow state), disputes of an evaluation, calibration sessions (several
-- evaluators score one contact; one row per evaluator) and samples drawn for a period. Times are
-- unix ms.

CREATE TABLE IF NOT EXISTS qa_scorecards (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    archived SMALLINT NOT NULL,
    created_by VARCHAR(36) NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_scorecards_org ON qa_scorecards (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_evaluations (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    agent_id VARCHAR(36) NOT NULL,
    evaluator_id VARCHAR(36) NOT NULL,
    scorecard_id VARCHAR(36) NOT NULL,
    sample_id VARCHAR(36),
    answers TEXT NOT NULL,
    comments TEXT NOT NULL,
    percent_hundredths BIGINT NOT NULL,
    weighted_percent_hundredths BIGINT NOT NULL,
    auto_failed TEXT NOT NULL,
    state VARCHAR(16) NOT NULL,
    state_at_ms BIGINT NOT NULL,
    auto_acknowledged SMALLINT NOT NULL,
    disputes SMALLINT NOT NULL,
    published_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_created ON qa_evaluations (org_id, created_at_ms, id);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_agent ON qa_evaluations (org_id, agent_id, created_at_ms);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_contact ON qa_evaluations (org_id, contact_id);
CREATE INDEX IF NOT EXISTS qa_evaluations_org_published ON qa_evaluations (org_id, published_at_ms);

CREATE TABLE IF NOT EXISTS qa_disputes (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    evaluation_id VARCHAR(36) NOT NULL,
    disputed_by VARCHAR(36) NOT NULL,
    disputed_at_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    resolved_by VARCHAR(36),
    resolved_at_ms BIGINT,
    resolution VARCHAR(16),
    note TEXT,
    new_percent_hundredths BIGINT
);
CREATE INDEX IF NOT EXISTS qa_disputes_org_evaluation ON qa_disputes (org_id, evaluation_id, disputed_at_ms);

CREATE TABLE IF NOT EXISTS qa_calibrations (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    scorecard_id VARCHAR(36) NOT NULL,
    title TEXT NOT NULL,
    created_by VARCHAR(36) NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_calibrations_org ON qa_calibrations (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_calibration_scores (
    org_id VARCHAR(36) NOT NULL,
    calibration_id VARCHAR(36) NOT NULL,
    evaluator_id VARCHAR(36) NOT NULL,
    answers TEXT NOT NULL,
    percent_hundredths BIGINT NOT NULL,
    scored_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, calibration_id, evaluator_id)
);

CREATE TABLE IF NOT EXISTS qa_samples (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    period_start_ms BIGINT NOT NULL,
    period_end_ms BIGINT NOT NULL,
    seed VARCHAR(20) NOT NULL,
    per_agent BIGINT NOT NULL,
    include_flagged SMALLINT NOT NULL,
    created_by VARCHAR(36) NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_samples_org ON qa_samples (org_id, created_at_ms, id);

CREATE TABLE IF NOT EXISTS qa_sample_contacts (
    org_id VARCHAR(36) NOT NULL,
    sample_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    agent_id VARCHAR(36) NOT NULL,
    flagged SMALLINT NOT NULL,
    PRIMARY KEY (org_id, sample_id, contact_id)
);
