-- Hotline schema version 14 (PostgreSQL): the social channels' messages (WeChat, Weibo, webhooks),
-- inbound and outbound, on the contact that holds the conversation; and which customer a sender id
-- on a channel belongs to. An outbound message carries its delivery status (queued, sent, failed
-- with a reason) and the attempts made.

CREATE TABLE IF NOT EXISTS social_messages (
    org_id VARCHAR(36) NOT NULL,
    id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    direction VARCHAR(8) NOT NULL,
    peer_id VARCHAR(128) NOT NULL,
    body_text TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    failure_reason VARCHAR(500),
    attempts BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX IF NOT EXISTS social_messages_org_contact ON social_messages (org_id, contact_id, at_ms);
CREATE INDEX IF NOT EXISTS social_messages_org_peer ON social_messages (org_id, channel, peer_id, at_ms);

CREATE TABLE IF NOT EXISTS social_senders (
    org_id VARCHAR(36) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    sender_id VARCHAR(128) NOT NULL,
    customer_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (org_id, channel, sender_id)
);
