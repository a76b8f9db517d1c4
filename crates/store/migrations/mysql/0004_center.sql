-- Hotline schema version 4 (MySQL/MariaDB): each agent's current state, kept by the live contact
-- center (`center` crate) beside the append-only agent_state_changes log, so the wallboard and a
-- restart read it in one probe. One row per (org, agent); times are unix ms. Re-runnable (DDL
-- commits at once on MySQL): IF NOT EXISTS.

CREATE TABLE IF NOT EXISTS agent_presence (
    org_id VARCHAR(36) NOT NULL,
    agent_id VARCHAR(36) NOT NULL,
    state VARCHAR(16) NOT NULL,
    reason VARCHAR(64),
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, agent_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
