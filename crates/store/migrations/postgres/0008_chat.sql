-- Hotline schema version 8 (PostgreSQL): web chat conversations and their transcripts. A
-- conversation is keyed by (org, id) where id is the chat's public 32-hex id; only the SHA-256
-- digest of its resume token is kept. Messages are keyed by (org, conversation, seq): one row per
-- sequence number, so writing a message twice stores it once. An attachment's name, type and size
-- are kept on its message row (its bytes are not stored here). The customer's rating (CSAT) is
-- kept on the conversation; the contact's survey response is stored with the other survey answers.

CREATE TABLE IF NOT EXISTS chat_conversations (
    org_id VARCHAR(36) NOT NULL,
    id VARCHAR(32) NOT NULL,
    token_sha256 VARCHAR(64) NOT NULL,
    contact_id VARCHAR(36),
    customer_name VARCHAR(400) NOT NULL,
    issue_type VARCHAR(16) NOT NULL,
    language VARCHAR(35) NOT NULL,
    email VARCHAR(320),
    state VARCHAR(16) NOT NULL,
    agent_id VARCHAR(36),
    started_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT,
    customer_read_seq BIGINT NOT NULL,
    rating SMALLINT,
    rating_comment TEXT,
    rated_at_ms BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX IF NOT EXISTS chat_conversations_org_contact ON chat_conversations (org_id, contact_id);
CREATE INDEX IF NOT EXISTS chat_conversations_org_started ON chat_conversations (org_id, started_at_ms, id);

CREATE TABLE IF NOT EXISTS chat_messages (
    org_id VARCHAR(36) NOT NULL,
    conversation_id VARCHAR(32) NOT NULL,
    seq BIGINT NOT NULL,
    author VARCHAR(16) NOT NULL,
    text TEXT NOT NULL,
    client_msg_id VARCHAR(64),
    sent_at_ms BIGINT NOT NULL,
    attachment_name VARCHAR(400),
    attachment_mime VARCHAR(100),
    attachment_bytes BIGINT,
    PRIMARY KEY (org_id, conversation_id, seq)
);
