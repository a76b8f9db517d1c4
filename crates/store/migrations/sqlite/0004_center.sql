-- Hotline schema version 4 (SQLite): each agent's current state, kept by the live contact center
-- (`center` crate) beside the append-only agent_state_changes log, so the wallboard and a restart
-- read it in one probe. One row per (org, agent); times are unix ms.

CREATE TABLE IF NOT EXISTS agent_presence (
    org_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, agent_id)
);
