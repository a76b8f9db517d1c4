-- Hotline schema version 3 (PostgreSQL): SIP registrar bindings, so a restart keeps registered
-- phones. One row per (org, extension, contact key); times are unix ms.

CREATE TABLE IF NOT EXISTS sip_bindings (
    org_id VARCHAR(36) NOT NULL,
    extension VARCHAR(10) NOT NULL,
    contact_key VARCHAR(512) NOT NULL,
    contact VARCHAR(1024) NOT NULL,
    call_id VARCHAR(256) NOT NULL,
    cseq BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    source VARCHAR(64) NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, extension, contact_key)
);
CREATE INDEX IF NOT EXISTS sip_bindings_org_expires ON sip_bindings (org_id, expires_at_ms);
