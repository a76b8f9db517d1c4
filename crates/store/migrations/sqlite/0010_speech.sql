-- Hotline schema version 10 (SQLite): speech analytics per recording of a contact, computed
-- offline from the two channels (customer left, agent right) when the contact ends. One row per
-- (org, contact, recording); analysing a recording again replaces its row. `flags` is a
-- space-separated list of QA outlier flag names, empty when the call is unremarkable.

CREATE TABLE IF NOT EXISTS contact_speech (
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    customer_talk_ms INTEGER NOT NULL,
    agent_talk_ms INTEGER NOT NULL,
    silence_ratio REAL NOT NULL,
    longest_silence_ms INTEGER NOT NULL,
    overtalk_ms INTEGER NOT NULL,
    talk_ratio REAL,
    agent_interruptions INTEGER NOT NULL,
    flags TEXT NOT NULL,
    analysed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, contact_id, recording_id)
);
