-- Hotline schema version 10 (PostgreSQL): speech analytics per recording of a contact, computed
-- offline from the two channels (customer left, agent right) when the contact ends. One row per
-- (org, contact, recording); analysing a recording again replaces its row. `flags` is a
-- space-separated list of QA outlier flag names, empty when the call is unremarkable.

CREATE TABLE IF NOT EXISTS contact_speech (
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    recording_id VARCHAR(36) NOT NULL,
    duration_ms BIGINT NOT NULL,
    customer_talk_ms BIGINT NOT NULL,
    agent_talk_ms BIGINT NOT NULL,
    silence_ratio DOUBLE PRECISION NOT NULL,
    longest_silence_ms BIGINT NOT NULL,
    overtalk_ms BIGINT NOT NULL,
    talk_ratio DOUBLE PRECISION,
    agent_interruptions BIGINT NOT NULL,
    flags TEXT NOT NULL,
    analysed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, contact_id, recording_id)
);
