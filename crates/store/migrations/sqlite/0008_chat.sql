-- Hotline schema version 8 (SQLite): web chat conversations and their transcripts. A conversation
-- is keyed by (org, id) where id is the chat's public 32-hex id; only the SHA-256 digest of its
-- resume token is kept. Messages are keyed by (org, conversation, seq): one row per sequence
-- number, so writing a message twice stores it once. An attachment's name, type and size are kept
-- on its message row (its bytes are not stored here). The customer's rating (CSAT) is kept on the
-- conversation; the contact's survey response is stored with the other survey answers.

CREATE TABLE IF NOT EXISTS chat_conversations (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    contact_id TEXT,
    customer_name TEXT NOT NULL,
    issue_type TEXT NOT NULL,
    language TEXT NOT NULL,
    email TEXT,
    state TEXT NOT NULL,
    agent_id TEXT,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    customer_read_seq INTEGER NOT NULL,
    rating INTEGER,
    rating_comment TEXT,
    rated_at_ms INTEGER,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX IF NOT EXISTS chat_conversations_org_contact ON chat_conversations (org_id, contact_id);
CREATE INDEX IF NOT EXISTS chat_conversations_org_started ON chat_conversations (org_id, started_at_ms, id);

CREATE TABLE IF NOT EXISTS chat_messages (
    org_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    client_msg_id TEXT,
    sent_at_ms INTEGER NOT NULL,
    attachment_name TEXT,
    attachment_mime TEXT,
    attachment_bytes INTEGER,
    PRIMARY KEY (org_id, conversation_id, seq)
);
