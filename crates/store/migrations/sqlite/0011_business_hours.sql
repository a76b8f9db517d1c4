-- Hotline schema version 11 (SQLite): business-hours calendars and the editable route tables.
-- A calendar is named per org, has an IANA time zone and one opening text per weekday
-- ("09:00-12:00,13:00-18:00" or "" for closed); its exceptions are dated (local date) with
-- "closed" or special hours. A route table is the org's entry points as JSON (the acd crate's
-- shape); it replaces the routes file's entry points when the center starts.

CREATE TABLE IF NOT EXISTS business_calendars (
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    mon TEXT NOT NULL,
    tue TEXT NOT NULL,
    wed TEXT NOT NULL,
    thu TEXT NOT NULL,
    fri TEXT NOT NULL,
    sat TEXT NOT NULL,
    sun TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);

CREATE TABLE IF NOT EXISTS business_calendar_exceptions (
    org_id TEXT NOT NULL,
    calendar_name TEXT NOT NULL,
    local_date TEXT NOT NULL,
    hours TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (org_id, calendar_name, local_date)
);

CREATE TABLE IF NOT EXISTS route_tables (
    org_id TEXT NOT NULL,
    entry_points TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id)
);
