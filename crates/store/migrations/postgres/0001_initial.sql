-- Hotline schema version 1 (PostgreSQL). Applied in one transaction.
-- Conventions: ids VARCHAR(36) UUID text; times BIGINT unix ms (*_ms); booleans SMALLINT 0/1;
-- lists and maps JSON text; every row carries org_id and every index starts with it.

CREATE TABLE IF NOT EXISTS orgs (
    id VARCHAR(36) PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    default_country BIGINT NOT NULL,
    time_zone VARCHAR(64) NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    username VARCHAR(64) NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    role VARCHAR(16) NOT NULL,
    password_hash TEXT NOT NULL,
    email VARCHAR(254),
    language VARCHAR(16) NOT NULL,
    active SMALLINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT users_org_username UNIQUE (org_id, username)
);
CREATE INDEX IF NOT EXISTS users_org_id ON users (org_id, id);

CREATE TABLE IF NOT EXISTS agents (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    extension VARCHAR(10) NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    sip_secret VARCHAR(512) NOT NULL,
    skills TEXT NOT NULL,
    languages TEXT NOT NULL,
    capacity TEXT NOT NULL,
    queues TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT agents_org_extension UNIQUE (org_id, extension),
    CONSTRAINT agents_org_user UNIQUE (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS agents_org_id ON agents (org_id, id);

CREATE TABLE IF NOT EXISTS skills (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    name VARCHAR(64) NOT NULL,
    description TEXT NOT NULL,
    CONSTRAINT skills_org_name UNIQUE (org_id, name)
);
CREATE INDEX IF NOT EXISTS skills_org_id ON skills (org_id, id);

CREATE TABLE IF NOT EXISTS queues (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    name VARCHAR(64) NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    strategy VARCHAR(32) NOT NULL,
    required_skills TEXT NOT NULL,
    sl_percent SMALLINT NOT NULL,
    sl_threshold_ms BIGINT NOT NULL,
    wrap_up_ms BIGINT NOT NULL,
    ring_timeout_ms BIGINT NOT NULL,
    max_waiting BIGINT NOT NULL,
    max_wait_ms BIGINT NOT NULL,
    overflow_to VARCHAR(36),
    overflow_after_ms BIGINT,
    overflow_ewt_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT queues_org_name UNIQUE (org_id, name)
);
CREATE INDEX IF NOT EXISTS queues_org_id ON queues (org_id, id);

CREATE TABLE IF NOT EXISTS customers (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    name VARCHAR(200) NOT NULL,
    social_ids TEXT NOT NULL,
    vip VARCHAR(16) NOT NULL,
    attributes TEXT NOT NULL,
    language VARCHAR(16),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_org_id ON customers (org_id, id);

-- The IVR finds the customer by caller number: one indexed row per (org, number).
CREATE TABLE IF NOT EXISTS customer_phones (
    org_id VARCHAR(36) NOT NULL,
    phone VARCHAR(16) NOT NULL,
    customer_id VARCHAR(36) NOT NULL,
    position SMALLINT NOT NULL,
    PRIMARY KEY (org_id, phone)
);
CREATE INDEX IF NOT EXISTS customer_phones_customer ON customer_phones (customer_id);

-- email_key is the address lower-cased, so lookups behave the same on every backend.
CREATE TABLE IF NOT EXISTS customer_emails (
    org_id VARCHAR(36) NOT NULL,
    email_key VARCHAR(254) NOT NULL,
    email VARCHAR(254) NOT NULL,
    customer_id VARCHAR(36) NOT NULL,
    position SMALLINT NOT NULL,
    PRIMARY KEY (org_id, email_key)
);
CREATE INDEX IF NOT EXISTS customer_emails_customer ON customer_emails (customer_id);

CREATE TABLE IF NOT EXISTS contacts (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    direction VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    outcome VARCHAR(32),
    customer_id VARCHAR(36),
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    queue_id VARCHAR(36),
    agent_id VARCHAR(36),
    issue_type TEXT,
    language VARCHAR(16),
    arrived_at_ms BIGINT NOT NULL,
    ivr_left_at_ms BIGINT,
    queued_at_ms BIGINT,
    offered_at_ms BIGINT,
    answered_at_ms BIGINT,
    ended_at_ms BIGINT,
    wrap_up_ended_at_ms BIGINT,
    ivr_path TEXT NOT NULL,
    ivr_digits TEXT NOT NULL,
    disposition VARCHAR(64),
    notes TEXT NOT NULL,
    recording_id VARCHAR(36),
    ticket_id VARCHAR(36),
    csat SMALLINT,
    quality_mos DOUBLE PRECISION,
    transferred SMALLINT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_org_arrived ON contacts (org_id, arrived_at_ms, id);
CREATE INDEX IF NOT EXISTS contacts_org_customer ON contacts (org_id, customer_id, arrived_at_ms, id);
CREATE INDEX IF NOT EXISTS contacts_org_agent ON contacts (org_id, agent_id, arrived_at_ms);

CREATE TABLE IF NOT EXISTS contact_events (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    at_ms BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    agent_id VARCHAR(36),
    queue_id VARCHAR(36),
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_events_org_contact ON contact_events (org_id, contact_id, at_ms, id);

CREATE TABLE IF NOT EXISTS agent_state_changes (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    agent_id VARCHAR(36) NOT NULL,
    at_ms BIGINT NOT NULL,
    from_state VARCHAR(16) NOT NULL,
    to_state VARCHAR(16) NOT NULL,
    reason VARCHAR(64),
    forced_by VARCHAR(36)
);
CREATE INDEX IF NOT EXISTS agent_state_changes_org_agent ON agent_state_changes (org_id, agent_id, at_ms, id);
CREATE INDEX IF NOT EXISTS agent_state_changes_org_at ON agent_state_changes (org_id, at_ms, id);

CREATE TABLE IF NOT EXISTS tickets (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    number BIGINT NOT NULL,
    subject TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    priority VARCHAR(16) NOT NULL,
    customer_id VARCHAR(36),
    assignee_id VARCHAR(36),
    contacts TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT tickets_org_number UNIQUE (org_id, number)
);
CREATE INDEX IF NOT EXISTS tickets_org_customer ON tickets (org_id, customer_id, created_at_ms, id);
CREATE INDEX IF NOT EXISTS tickets_org_status ON tickets (org_id, status, created_at_ms, id);

-- The last ticket number handed out per org; bumped under a row lock.
CREATE TABLE IF NOT EXISTS ticket_numbers (
    org_id VARCHAR(36) PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS ticket_comments (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    ticket_id VARCHAR(36) NOT NULL,
    author_id VARCHAR(36),
    body TEXT NOT NULL,
    internal SMALLINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_comments_org_ticket ON ticket_comments (org_id, ticket_id, at_ms, id);

CREATE TABLE IF NOT EXISTS orders (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    number VARCHAR(64) NOT NULL,
    customer_id VARCHAR(36) NOT NULL,
    status VARCHAR(16) NOT NULL,
    total_cents BIGINT NOT NULL,
    currency VARCHAR(8) NOT NULL,
    placed_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT orders_org_number UNIQUE (org_id, number)
);
CREATE INDEX IF NOT EXISTS orders_org_customer ON orders (org_id, customer_id, placed_at_ms, id);
CREATE INDEX IF NOT EXISTS orders_org_id ON orders (org_id, id);

CREATE TABLE IF NOT EXISTS recordings (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    path TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    channels SMALLINT NOT NULL,
    sample_rate_hz BIGINT NOT NULL,
    legal_hold SMALLINT NOT NULL,
    deleted_at_ms BIGINT
);
CREATE INDEX IF NOT EXISTS recordings_org_contact ON recordings (org_id, contact_id, started_at_ms, id);

CREATE TABLE IF NOT EXISTS survey_responses (
    id VARCHAR(36) PRIMARY KEY,
    org_id VARCHAR(36) NOT NULL,
    contact_id VARCHAR(36) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    score SMALLINT NOT NULL,
    comment TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS survey_responses_org_contact ON survey_responses (org_id, contact_id, at_ms, id);
