-- Hotline schema version 1 (SQLite). Applied in one transaction.
-- Conventions: ids TEXT UUID text; times INTEGER unix ms (*_ms); booleans INTEGER 0/1;
-- lists and maps JSON text; every row carries org_id and every index starts with it.

CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    default_country INTEGER NOT NULL,
    time_zone TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email TEXT,
    language TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    CONSTRAINT users_org_username UNIQUE (org_id, username)
);
CREATE INDEX IF NOT EXISTS users_org_id ON users (org_id, id);

CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    extension TEXT NOT NULL,
    display_name TEXT NOT NULL,
    sip_secret TEXT NOT NULL,
    skills TEXT NOT NULL,
    languages TEXT NOT NULL,
    capacity TEXT NOT NULL,
    queues TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    CONSTRAINT agents_org_extension UNIQUE (org_id, extension),
    CONSTRAINT agents_org_user UNIQUE (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS agents_org_id ON agents (org_id, id);

CREATE TABLE IF NOT EXISTS skills (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    CONSTRAINT skills_org_name UNIQUE (org_id, name)
);
CREATE INDEX IF NOT EXISTS skills_org_id ON skills (org_id, id);

CREATE TABLE IF NOT EXISTS queues (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    strategy TEXT NOT NULL,
    required_skills TEXT NOT NULL,
    sl_percent INTEGER NOT NULL,
    sl_threshold_ms INTEGER NOT NULL,
    wrap_up_ms INTEGER NOT NULL,
    ring_timeout_ms INTEGER NOT NULL,
    max_waiting INTEGER NOT NULL,
    max_wait_ms INTEGER NOT NULL,
    overflow_to TEXT,
    overflow_after_ms INTEGER,
    overflow_ewt_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    CONSTRAINT queues_org_name UNIQUE (org_id, name)
);
CREATE INDEX IF NOT EXISTS queues_org_id ON queues (org_id, id);

CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    social_ids TEXT NOT NULL,
    vip TEXT NOT NULL,
    attributes TEXT NOT NULL,
    language TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_org_id ON customers (org_id, id);

-- The IVR finds the customer by caller number: one indexed row per (org, number).
CREATE TABLE IF NOT EXISTS customer_phones (
    org_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (org_id, phone)
);
CREATE INDEX IF NOT EXISTS customer_phones_customer ON customer_phones (customer_id);

-- email_key is the address lower-cased, so lookups behave the same on every backend.
CREATE TABLE IF NOT EXISTS customer_emails (
    org_id TEXT NOT NULL,
    email_key TEXT NOT NULL,
    email TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (org_id, email_key)
);
CREATE INDEX IF NOT EXISTS customer_emails_customer ON customer_emails (customer_id);

CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    customer_id TEXT,
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    queue_id TEXT,
    agent_id TEXT,
    issue_type TEXT,
    language TEXT,
    arrived_at_ms INTEGER NOT NULL,
    ivr_left_at_ms INTEGER,
    queued_at_ms INTEGER,
    offered_at_ms INTEGER,
    answered_at_ms INTEGER,
    ended_at_ms INTEGER,
    wrap_up_ended_at_ms INTEGER,
    ivr_path TEXT NOT NULL,
    ivr_digits TEXT NOT NULL,
    disposition TEXT,
    notes TEXT NOT NULL,
    recording_id TEXT,
    ticket_id TEXT,
    csat INTEGER,
    quality_mos REAL,
    transferred INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_org_arrived ON contacts (org_id, arrived_at_ms, id);
CREATE INDEX IF NOT EXISTS contacts_org_customer ON contacts (org_id, customer_id, arrived_at_ms, id);
CREATE INDEX IF NOT EXISTS contacts_org_agent ON contacts (org_id, agent_id, arrived_at_ms);

CREATE TABLE IF NOT EXISTS contact_events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    agent_id TEXT,
    queue_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_events_org_contact ON contact_events (org_id, contact_id, at_ms, id);

CREATE TABLE IF NOT EXISTS agent_state_changes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT,
    forced_by TEXT
);
CREATE INDEX IF NOT EXISTS agent_state_changes_org_agent ON agent_state_changes (org_id, agent_id, at_ms, id);
CREATE INDEX IF NOT EXISTS agent_state_changes_org_at ON agent_state_changes (org_id, at_ms, id);

CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    customer_id TEXT,
    assignee_id TEXT,
    contacts TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    CONSTRAINT tickets_org_number UNIQUE (org_id, number)
);
CREATE INDEX IF NOT EXISTS tickets_org_customer ON tickets (org_id, customer_id, created_at_ms, id);
CREATE INDEX IF NOT EXISTS tickets_org_status ON tickets (org_id, status, created_at_ms, id);

-- The last ticket number handed out per org; bumped under a row lock.
CREATE TABLE IF NOT EXISTS ticket_numbers (
    org_id TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS ticket_comments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    author_id TEXT,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_comments_org_ticket ON ticket_comments (org_id, ticket_id, at_ms, id);

CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    number TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    placed_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    CONSTRAINT orders_org_number UNIQUE (org_id, number)
);
CREATE INDEX IF NOT EXISTS orders_org_customer ON orders (org_id, customer_id, placed_at_ms, id);
CREATE INDEX IF NOT EXISTS orders_org_id ON orders (org_id, id);

CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    path TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    channels INTEGER NOT NULL,
    sample_rate_hz INTEGER NOT NULL,
    legal_hold INTEGER NOT NULL,
    deleted_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS recordings_org_contact ON recordings (org_id, contact_id, started_at_ms, id);

CREATE TABLE IF NOT EXISTS survey_responses (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS survey_responses_org_contact ON survey_responses (org_id, contact_id, at_ms, id);
