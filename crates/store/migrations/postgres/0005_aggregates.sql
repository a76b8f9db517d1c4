-- Hotline schema version 5 (PostgreSQL): reporting aggregates, kept incrementally by the
-- `reports` crate (see its crate doc). report_intervals: sums per (org, interval length in
-- minutes, dimension, interval start), only ever added to; report_contacts: each contact's
-- reporting events and FCR group; report_agent_changes: agent state changes counted. Unix ms.

CREATE TABLE IF NOT EXISTS report_intervals (
    org_id VARCHAR(36) NOT NULL,
    length_min BIGINT NOT NULL,
    dim_kind VARCHAR(8) NOT NULL,
    start_ms BIGINT NOT NULL,
    dim_id VARCHAR(36) NOT NULL,
    offered BIGINT NOT NULL DEFAULT 0,
    answered BIGINT NOT NULL DEFAULT 0,
    answered_within_threshold BIGINT NOT NULL DEFAULT 0,
    abandoned BIGINT NOT NULL DEFAULT 0,
    abandoned_within_threshold BIGINT NOT NULL DEFAULT 0,
    abandoned_short BIGINT NOT NULL DEFAULT 0,
    abandoned_short_within_threshold BIGINT NOT NULL DEFAULT 0,
    answered_wait_ms BIGINT NOT NULL DEFAULT 0,
    abandoned_wait_ms BIGINT NOT NULL DEFAULT 0,
    transferred BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    talk_ms BIGINT NOT NULL DEFAULT 0,
    hold_ms BIGINT NOT NULL DEFAULT 0,
    acw_ms BIGINT NOT NULL DEFAULT 0,
    fcr_handled BIGINT NOT NULL DEFAULT 0,
    fcr_repeated BIGINT NOT NULL DEFAULT 0,
    ivr_entered BIGINT NOT NULL DEFAULT 0,
    ivr_contained BIGINT NOT NULL DEFAULT 0,
    csat_responses BIGINT NOT NULL DEFAULT 0,
    csat_top_two BIGINT NOT NULL DEFAULT 0,
    csat_score_sum BIGINT NOT NULL DEFAULT 0,
    nps_responses BIGINT NOT NULL DEFAULT 0,
    nps_promoters BIGINT NOT NULL DEFAULT 0,
    nps_detractors BIGINT NOT NULL DEFAULT 0,
    offline_ms BIGINT NOT NULL DEFAULT 0,
    available_ms BIGINT NOT NULL DEFAULT 0,
    away_ms BIGINT NOT NULL DEFAULT 0,
    busy_ms BIGINT NOT NULL DEFAULT 0,
    wrap_up_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, length_min, dim_kind, start_ms, dim_id)
);
CREATE TABLE IF NOT EXISTS report_contacts (
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    repeat_group VARCHAR(140),
    first_at_ms BIGINT NOT NULL,
    last_at_ms BIGINT NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id)
);
CREATE INDEX IF NOT EXISTS report_contacts_group ON report_contacts (org_id, repeat_group);
CREATE INDEX IF NOT EXISTS report_contacts_first ON report_contacts (org_id, first_at_ms);
CREATE TABLE IF NOT EXISTS report_agent_changes (
    org_id VARCHAR(36) NOT NULL,
    id VARCHAR(36) NOT NULL,
    agent_id VARCHAR(36) NOT NULL,
    at_ms BIGINT NOT NULL,
    state VARCHAR(16) NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX IF NOT EXISTS report_agent_changes_timeline ON report_agent_changes (org_id, agent_id, at_ms);
CREATE INDEX IF NOT EXISTS report_agent_changes_at ON report_agent_changes (org_id, at_ms);
