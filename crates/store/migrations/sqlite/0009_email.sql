-- Hotline schema version 9 (SQLite): the email channel's messages. One row per message, inbound or
-- outbound, keyed by (org, Message-ID without brackets): a redelivered message is stored once and
-- threading finds the contact (conversation) a Message-ID belongs to.

CREATE TABLE IF NOT EXISTS email_messages (
    org_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    in_reply_to TEXT,
    references_text TEXT NOT NULL,
    body_text TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, message_id)
);
CREATE INDEX IF NOT EXISTS email_messages_org_contact ON email_messages (org_id, contact_id, at_ms);
