-- Hotline schema version 15 (PostgreSQL): customer merges. Merging customer `from_id` into
-- `into_id` moves its phones, emails, contacts, tickets and orders to `into_id` and deletes its
-- row; this row stays as the marker that answers lookups of the old id (and keeps its name for
-- the record). Merging the survivor on into a third customer re-points these rows, so `into_id`
-- is always a customer that exists.

CREATE TABLE IF NOT EXISTS customer_merges (
    org_id VARCHAR(36) NOT NULL,
    from_id VARCHAR(36) NOT NULL,
    into_id VARCHAR(36) NOT NULL,
    from_name VARCHAR(200) NOT NULL,
    merged_at_ms BIGINT NOT NULL,
    merged_by VARCHAR(200) NOT NULL,
    PRIMARY KEY (org_id, from_id)
);
CREATE INDEX IF NOT EXISTS customer_merges_into ON customer_merges (org_id, into_id);
