-- Hotline schema version 8 (MySQL/MariaDB): web chat conversations and their transcripts. A
-- conversation is keyed by (org, id) where id is the chat's public 32-hex id; only the SHA-256
-- digest of its resume token is kept. Messages are keyed by (org, conversation, seq): one row per
-- sequence number, so writing a message twice stores it once. An attachment's name, type and size
-- are kept on its message row (its bytes are not stored here). The customer's rating (CSAT) is
-- kept on the conversation; the contact's survey response is stored with the other survey answers.
-- Re-runnable (DDL commits at once on MySQL): IF NOT EXISTS and the indexes inline.

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
    PRIMARY KEY (org_id, id),
    INDEX chat_conversations_org_contact (org_id, contact_id),
    INDEX chat_conversations_org_started (org_id, started_at_ms, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
