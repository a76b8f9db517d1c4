-- Hotline schema version 9 (PostgreSQL): the email channel's messages. One row per message, inbound
-- or outbound, keyed by (org, Message-ID without brackets): a redelivered message is stored once and
-- threading finds the contact (conversation) a Message-ID belongs to.

CREATE TABLE IF NOT EXISTS email_messages (
    org_id VARCHAR(36) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    direction VARCHAR(8) NOT NULL,
    from_address VARCHAR(320) NOT NULL,
    to_address VARCHAR(320) NOT NULL,
    subject TEXT NOT NULL,
    in_reply_to VARCHAR(255),
    references_text TEXT NOT NULL,
    body_text TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, message_id)
);
CREATE INDEX IF NOT EXISTS email_messages_org_contact ON email_messages (org_id, contact_id, at_ms);
