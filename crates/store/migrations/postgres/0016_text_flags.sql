-- Hotline schema version 16 (PostgreSQL): keyword-rule flags raised by what was written on a contact
-- (its wrap-up note, chat messages and emails). One row per (org, contact, rule): the first text
-- that matched the rule (its kind, its ordinal in the contact's texts, the keyword as configured)
-- and when the flag was stored; a rule that matches again keeps the first row. A flagged contact
-- is a flagged QA candidate, like one whose transcript a rule flagged (transcription_jobs).

CREATE TABLE IF NOT EXISTS contact_text_flags (
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    rule_name VARCHAR(64) NOT NULL,
    keyword VARCHAR(100) NOT NULL,
    text_kind VARCHAR(16) NOT NULL,
    text_ordinal BIGINT NOT NULL,
    flagged_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, contact_id, rule_name)
);
