-- Hotline schema version 14 (SQLite): the social channels' messages (WeChat, Weibo, webhooks),
-- inbound and outbound, on the contact that holds the conversation; and which customer a sender id
-- on a channel belongs to. An outbound message carries its delivery status (queued, sent, failed
-- with a reason) and the attempts made.

CREATE TABLE IF NOT EXISTS social_messages (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    attempts INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX IF NOT EXISTS social_messages_org_contact ON social_messages (org_id, contact_id, at_ms);
CREATE INDEX IF NOT EXISTS social_messages_org_peer ON social_messages (org_id, channel, peer_id, at_ms);

CREATE TABLE IF NOT EXISTS social_senders (
    org_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (org_id, channel, sender_id)
);
