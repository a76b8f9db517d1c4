-- Hotline schema version 6 (PostgreSQL): offline transcription jobs, transcript segments and
-- legal holds on recordings. A job is keyed by its recording (one job per recording; re-running
-- it reuses the row). Segments are keyed by (org, recording, ordinal); channel 0 is the
-- customer's (left), 1 the agent's (right). Times are unix ms, offsets ms from the recording's start.

CREATE TABLE IF NOT EXISTS transcription_jobs (
    org_id VARCHAR(36) NOT NULL,
    recording_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts BIGINT NOT NULL,
    progress_pct SMALLINT NOT NULL,
    failure_reason TEXT,
    rule_flags TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, recording_id)
);
CREATE INDEX IF NOT EXISTS transcription_jobs_org_status ON transcription_jobs (org_id, status, created_at_ms, recording_id);

CREATE TABLE IF NOT EXISTS transcript_segments (
    org_id VARCHAR(36) NOT NULL,
    recording_id VARCHAR(36) NOT NULL,
    ordinal BIGINT NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    channel SMALLINT NOT NULL,
    speaker VARCHAR(16) NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (org_id, recording_id, ordinal)
);
CREATE INDEX IF NOT EXISTS transcript_segments_org_contact ON transcript_segments (org_id, contact_id, start_ms);

CREATE TABLE IF NOT EXISTS recording_holds (
    org_id VARCHAR(36) NOT NULL,
    recording_id VARCHAR(36) NOT NULL,
    held_by VARCHAR(200) NOT NULL,
    held_at_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (org_id, recording_id)
);
