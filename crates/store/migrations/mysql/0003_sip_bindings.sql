-- Hotline schema version 3 (MySQL/MariaDB): SIP registrar bindings, so a restart keeps registered
-- phones. One row per (org, extension, contact key); times are unix ms. Re-runnable (DDL commits
-- at once on MySQL): IF NOT EXISTS and the index inline.

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
    PRIMARY KEY (org_id, extension, contact_key),
    INDEX sip_bindings_org_expires (org_id, expires_at_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
