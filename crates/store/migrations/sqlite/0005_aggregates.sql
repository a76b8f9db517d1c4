-- Hotline schema version 5 (SQLite): reporting aggregates, kept incrementally by the `reports`
-- crate from contact events and agent state changes (see its crate doc for the design).
-- report_intervals: one row per (org, interval length in minutes, dimension, interval start),
-- holding the plain sums of `kpi::figures::KpiCounts`; rows are only ever added to (upsert with
-- +delta), so concurrent writers for different contacts never lose an update.
-- report_contacts: each contact's reporting events (the de-duplication memory and the input of
-- a replay), with its first-contact-resolution group (customer + issue type).
-- report_agent_changes: every agent state change counted, by id (de-duplication) and timeline.
-- Times are unix ms. WITHOUT ROWID: the primary key is the table (no second copy of the keys).

CREATE TABLE IF NOT EXISTS report_intervals (
    org_id TEXT NOT NULL,
    length_min INTEGER NOT NULL,
    dim_kind TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    dim_id TEXT NOT NULL,
    offered INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    answered_within_threshold INTEGER NOT NULL DEFAULT 0,
    abandoned INTEGER NOT NULL DEFAULT 0,
    abandoned_within_threshold INTEGER NOT NULL DEFAULT 0,
    abandoned_short INTEGER NOT NULL DEFAULT 0,
    abandoned_short_within_threshold INTEGER NOT NULL DEFAULT 0,
    answered_wait_ms INTEGER NOT NULL DEFAULT 0,
    abandoned_wait_ms INTEGER NOT NULL DEFAULT 0,
    transferred INTEGER NOT NULL DEFAULT 0,
    handled INTEGER NOT NULL DEFAULT 0,
    talk_ms INTEGER NOT NULL DEFAULT 0,
    hold_ms INTEGER NOT NULL DEFAULT 0,
    acw_ms INTEGER NOT NULL DEFAULT 0,
    fcr_handled INTEGER NOT NULL DEFAULT 0,
    fcr_repeated INTEGER NOT NULL DEFAULT 0,
    ivr_entered INTEGER NOT NULL DEFAULT 0,
    ivr_contained INTEGER NOT NULL DEFAULT 0,
    csat_responses INTEGER NOT NULL DEFAULT 0,
    csat_top_two INTEGER NOT NULL DEFAULT 0,
    csat_score_sum INTEGER NOT NULL DEFAULT 0,
    nps_responses INTEGER NOT NULL DEFAULT 0,
    nps_promoters INTEGER NOT NULL DEFAULT 0,
    nps_detractors INTEGER NOT NULL DEFAULT 0,
    offline_ms INTEGER NOT NULL DEFAULT 0,
    available_ms INTEGER NOT NULL DEFAULT 0,
    away_ms INTEGER NOT NULL DEFAULT 0,
    busy_ms INTEGER NOT NULL DEFAULT 0,
    wrap_up_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, length_min, dim_kind, start_ms, dim_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_contacts (
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    repeat_group TEXT,
    first_at_ms INTEGER NOT NULL,
    last_at_ms INTEGER NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (org_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS report_contacts_group ON report_contacts (org_id, repeat_group);
CREATE INDEX IF NOT EXISTS report_contacts_first ON report_contacts (org_id, first_at_ms);
CREATE TABLE IF NOT EXISTS report_agent_changes (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS report_agent_changes_timeline ON report_agent_changes (org_id, agent_id, at_ms);
CREATE INDEX IF NOT EXISTS report_agent_changes_at ON report_agent_changes (org_id, at_ms);
