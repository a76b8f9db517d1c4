-- Hotline schema version 12 (PostgreSQL): the attachments of email messages. One row per attachment
-- part of a message, kept or refused: a kept one has its SHA-256 and the path of its file under the
-- data directory's `email-attachments`; a refused one (over a size or count limit, or of a type not
-- allowed) has no file and says why in `refused_reason`. The id is derived from (org, Message-ID,
-- part index), so a redelivered message writes the same rows again, never twice.

CREATE TABLE IF NOT EXISTS email_attachments (
    org_id VARCHAR(36) NOT NULL,
    attachment_id VARCHAR(36) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    part_index INTEGER NOT NULL,
    filename TEXT,
    content_type VARCHAR(255) NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 VARCHAR(64),
    storage_path VARCHAR(512),
    refused_reason TEXT,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, attachment_id)
);
CREATE INDEX IF NOT EXISTS email_attachments_org_message ON email_attachments (org_id, message_id, part_index);
CREATE INDEX IF NOT EXISTS email_attachments_org_contact ON email_attachments (org_id, contact_id, at_ms);
