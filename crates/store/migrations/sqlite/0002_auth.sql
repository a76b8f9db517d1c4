-- Hotline schema version 2 (SQLite): sign-in records. Applied in one transaction.
-- Session ids and API tokens are stored only as SHA-256 hex digests (64 characters).

CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_org_id ON sessions (org_id, id);
CREATE INDEX IF NOT EXISTS sessions_org_user ON sessions (org_id, user_id);

CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    created_by TEXT,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    CONSTRAINT api_tokens_org_digest UNIQUE (org_id, token_digest)
);
CREATE INDEX IF NOT EXISTS api_tokens_org_id ON api_tokens (org_id, id);

CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    actor_user_id TEXT,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_org_time ON audit_log (org_id, at_ms, id);
