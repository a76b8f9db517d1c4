-- Hotline schema version 2 (MySQL/MariaDB): sign-in records. DDL commits at once, so every
-- statement is re-runnable (IF NOT EXISTS, indexes inline).
-- Session ids and API tokens are stored only as SHA-256 hex digests (64 characters).

CREATE TABLE IF NOT EXISTS sessions (
    id VARCHAR(64) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    csrf_token VARCHAR(64) NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL,
    INDEX sessions_org_id (org_id, id),
    INDEX sessions_org_user (org_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS api_tokens (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    name VARCHAR(200) NOT NULL,
    role VARCHAR(16) NOT NULL,
    token_digest VARCHAR(64) NOT NULL,
    created_by VARCHAR(36),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    CONSTRAINT api_tokens_org_digest UNIQUE (org_id, token_digest),
    INDEX api_tokens_org_id (org_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS audit_log (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_user_id VARCHAR(36),
    actor VARCHAR(200) NOT NULL,
    role VARCHAR(16) NOT NULL,
    action VARCHAR(64) NOT NULL,
    method VARCHAR(16) NOT NULL,
    path VARCHAR(1024) NOT NULL,
    status INTEGER NOT NULL,
    client VARCHAR(64) NOT NULL,
    INDEX audit_log_org_time (org_id, at_ms, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
