-- Hotline schema version 9 (MariaDB/MySQL): the email channel's messages. One row per message,
-- inbound or outbound, keyed by (org, Message-ID without brackets): a redelivered message is stored
-- once and threading finds the contact (conversation) a Message-ID belongs to.

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
    body_text MEDIUMTEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, message_id),
    INDEX email_messages_org_contact (org_id, contact_id, at_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
