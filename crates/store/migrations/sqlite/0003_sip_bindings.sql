-- Hotline schema version 3 (SQLite): SIP registrar bindings, so a restart keeps registered phones.
-- One row per (org, extension, contact key); the key is the registrar's comparable form of the
-- Contact URI. Times are unix ms.

CREATE TABLE IF NOT EXISTS sip_bindings (
    org_id TEXT NOT NULL,
    extension TEXT NOT NULL,
    contact_key TEXT NOT NULL,
    contact TEXT NOT NULL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, extension, contact_key)
);
CREATE INDEX IF NOT EXISTS sip_bindings_org_expires ON sip_bindings (org_id, expires_at_ms);
