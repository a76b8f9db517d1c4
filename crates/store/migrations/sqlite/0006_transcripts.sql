-- Hotline schema version 6 (SQLite): offline transcription jobs, transcript segments and legal
-- holds on recordings. A job is keyed by its recording (one job per recording; re-running it
-- reuses the row). Segments are keyed by (org, recording, ordinal); channel 0 is the customer's
-- (left), 1 the agent's (right). Times are unix ms, offsets ms from the recording's start.

CREATE TABLE IF NOT EXISTS transcription_jobs (
    org_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    progress_pct INTEGER NOT NULL,
    failure_reason TEXT,
    rule_flags TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, recording_id)
);
CREATE INDEX IF NOT EXISTS transcription_jobs_org_status ON transcription_jobs (org_id, status, created_at_ms, recording_id);

CREATE TABLE IF NOT EXISTS transcript_segments (
    org_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    contact_id TEXT NOT NULL,
    channel INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (org_id, recording_id, ordinal)
);
CREATE INDEX IF NOT EXISTS transcript_segments_org_contact ON transcript_segments (org_id, contact_id, start_ms);

CREATE TABLE IF NOT EXISTS recording_holds (
    org_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    held_by TEXT NOT NULL,
    held_at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (org_id, recording_id)
);
