//! Reporting aggregates: interval sums per queue, agent and channel (`report_intervals`), each
//! contact's reporting events (`report_contacts`) and the agent state changes counted
//! (`report_agent_changes`). The `reports` crate decides what goes in (it replays events through
//! the `kpi` crate and writes the difference); this module only stores and reads, org-scoped.
//!
//! What it keeps:
//! - interval rows are only ever **added to** (`+delta` upserts, one statement per chunk), so two
//!   writers touching different contacts never lose an update, and one batch (new contacts,
//!   agent changes, interval deltas) commits in **one transaction** or not at all;
//! - every read is bounded: id lists are chunked ([`MAX_IDS_PER_QUERY`]), interval reads stop at
//!   [`MAX_INTERVAL_ROWS`] and refuse a wider range with [`StoreError::InvalidInput`], contact
//!   and change reads take a row limit;
//! - never a query without `org_id = ?`.

use model::{AgentId, AgentState, AgentStateChangeId, Channel, Contact, ContactId, OrgId, QueueId, Timestamp};
use sqlx::AnyConnection;

use crate::Store;
use crate::TimeRange;
use crate::backend::Backend;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

/// The count columns of `report_intervals`, in the order of [`IntervalCounts`]: the fields of
/// `kpi::figures::KpiCounts`, agent state times last (offline, available, away, busy, wrap-up).
pub const INTERVAL_COUNT_COLUMNS: [&str; 29] = [
    "offered",
    "answered",
    "answered_within_threshold",
    "abandoned",
    "abandoned_within_threshold",
    "abandoned_short",
    "abandoned_short_within_threshold",
    "answered_wait_ms",
    "abandoned_wait_ms",
    "transferred",
    "handled",
    "talk_ms",
    "hold_ms",
    "acw_ms",
    "fcr_handled",
    "fcr_repeated",
    "ivr_entered",
    "ivr_contained",
    "csat_responses",
    "csat_top_two",
    "csat_score_sum",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "offline_ms",
    "available_ms",
    "away_ms",
    "busy_ms",
    "wrap_up_ms",
];

/// One interval's sums (or a change to them, when written), in [`INTERVAL_COUNT_COLUMNS`] order.
pub type IntervalCounts = [i64; 29];

/// Most ids bound in one `IN (...)` list.
pub const MAX_IDS_PER_QUERY: usize = 500;
/// Most interval rows one read returns; a wider read is refused (narrow the range or coarsen).
pub const MAX_INTERVAL_ROWS: usize = 200_000;
/// Rows per multi-row `INSERT` (interval rows bind 34 values each: under every dialect's limit).
const ROWS_PER_INSERT: usize = 200;

/// How long an interval is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntervalLength {
    QuarterHour,
    Hour,
    Day,
}

impl IntervalLength {
    pub const ALL: [IntervalLength; 3] = [IntervalLength::QuarterHour, IntervalLength::Hour, IntervalLength::Day];

    pub const fn minutes(self) -> i64 {
        match self {
            IntervalLength::QuarterHour => 15,
            IntervalLength::Hour => 60,
            IntervalLength::Day => 1440,
        }
    }

    fn from_minutes(m: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.minutes() == m)
    }
}

/// What an interval row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntervalDimension {
    Queue(QueueId),
    Agent(AgentId),
    Channel(Channel),
}

/// Which kind of dimension, for reads of all queues, all agents or all channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntervalDimensionKind {
    Queue,
    Agent,
    Channel,
}

impl IntervalDimensionKind {
    const fn as_str(self) -> &'static str {
        match self {
            IntervalDimensionKind::Queue => "queue",
            IntervalDimensionKind::Agent => "agent",
            IntervalDimensionKind::Channel => "channel",
        }
    }
}

impl IntervalDimension {
    pub const fn kind(&self) -> IntervalDimensionKind {
        match self {
            IntervalDimension::Queue(_) => IntervalDimensionKind::Queue,
            IntervalDimension::Agent(_) => IntervalDimensionKind::Agent,
            IntervalDimension::Channel(_) => IntervalDimensionKind::Channel,
        }
    }

    fn id_text(&self) -> String {
        match self {
            IntervalDimension::Queue(q) => q.to_string(),
            IntervalDimension::Agent(a) => a.to_string(),
            IntervalDimension::Channel(c) => c.as_str().to_owned(),
        }
    }

    fn parse(kind: &str, id: &str) -> Result<Self, String> {
        let bad = |e: model::ValueError| e.to_string();
        match kind {
            "queue" => id.parse().map(IntervalDimension::Queue).map_err(bad),
            "agent" => id.parse().map(IntervalDimension::Agent).map_err(bad),
            "channel" => id.parse().map(IntervalDimension::Channel).map_err(bad),
            other => Err(format!("{other:?} is not queue, agent or channel")),
        }
    }
}

/// One interval of one dimension, with its sums (a read) or the change to add (a write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalRow {
    pub length: IntervalLength,
    pub start: Timestamp,
    pub dimension: IntervalDimension,
    pub counts: IntervalCounts,
}

/// A contact's reporting record: its events in the `reports` crate's text form, its
/// first-contact-resolution group (`customer:issue`), and the span of its event times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportContact {
    pub contact: ContactId,
    pub repeat_group: Option<String>,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub events: String,
}

/// An agent state change that was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportAgentChange {
    pub id: AgentStateChangeId,
    pub agent: AgentId,
    pub at: Timestamp,
    pub state: AgentState,
}

/// What one ingest writes, in one transaction: contacts inserted or replaced, agent changes
/// added (new ids only), and interval deltas added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportBatch {
    pub contacts: Vec<ReportContact>,
    pub agent_changes: Vec<ReportAgentChange>,
    pub deltas: Vec<IntervalRow>,
}

/// An abandoned contact, for the abandoned-call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedContact {
    pub contact: ContactId,
    pub channel: Channel,
    pub queue: Option<QueueId>,
    /// Caller number, sender address or social id.
    pub from_address: String,
    pub queued_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

const CONTACT_COLS: &str = "contact_id, repeat_group, first_at_ms, last_at_ms, events";
const CHANGE_COLS: &str = "id, agent_id, at_ms, state";

fn contact_from_row(r: &RowReader<'_>) -> Result<ReportContact, StoreError> {
    Ok(ReportContact {
        contact: r.parse("contact_id")?,
        repeat_group: r.opt_text("repeat_group")?,
        first_at: r.time("first_at_ms")?,
        last_at: r.time("last_at_ms")?,
        events: r.text("events")?,
    })
}

fn change_from_row(r: &RowReader<'_>) -> Result<ReportAgentChange, StoreError> {
    Ok(ReportAgentChange {
        id: r.parse("id")?,
        agent: r.parse("agent_id")?,
        at: r.time("at_ms")?,
        state: r.parse("state")?,
    })
}

fn interval_from_row(r: &RowReader<'_>) -> Result<IntervalRow, StoreError> {
    let minutes = r.int("length_min")?;
    let length = IntervalLength::from_minutes(minutes).ok_or_else(|| r.invalid("length_min", minutes))?;
    let dimension =
        IntervalDimension::parse(&r.text("dim_kind")?, &r.text("dim_id")?).map_err(|e| r.invalid("dim_id", e))?;
    let mut counts = [0i64; 29];
    for (slot, col) in counts.iter_mut().zip(INTERVAL_COUNT_COLUMNS) {
        *slot = r.int(col)?;
    }
    Ok(IntervalRow { length, start: r.time("start_ms")?, dimension, counts })
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `INSERT ... VALUES (..), (..)` plus the dialect's upsert clause.
fn upsert_sql(backend: Backend, table: &str, cols: &[&str], rows: usize, key: &str, set: &[String]) -> String {
    let row = format!("({})", marks(cols.len()));
    let values = vec![row; rows].join(", ");
    let head = format!("INSERT INTO {table} ({}) VALUES {values}", cols.join(", "));
    match backend {
        Backend::MySql => format!("{head} ON DUPLICATE KEY UPDATE {}", set.join(", ")),
        _ => format!("{head} ON CONFLICT ({key}) DO UPDATE SET {}", set.join(", ")),
    }
}

/// `col = <new value>` for an upsert: `VALUES(col)` on MySQL, `excluded.col` elsewhere.
fn new_value(backend: Backend, col: &str) -> String {
    match backend {
        Backend::MySql => format!("VALUES({col})"),
        _ => format!("excluded.{col}"),
    }
}

async fn add_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    org: OrgId,
    rows: &[IntervalRow],
) -> Result<(), StoreError> {
    let mut cols = vec!["org_id", "length_min", "dim_kind", "start_ms", "dim_id"];
    cols.extend(INTERVAL_COUNT_COLUMNS);
    let set: Vec<String> = INTERVAL_COUNT_COLUMNS
        .iter()
        .map(|c| format!("{c} = report_intervals.{c} + {}", new_value(backend, c)))
        .collect();
    // MySQL's ON DUPLICATE KEY UPDATE cannot name the table in the target column's expression
    // the same way; `col = col + VALUES(col)` reads the old value there.
    let set: Vec<String> = match backend {
        Backend::MySql => INTERVAL_COUNT_COLUMNS.iter().map(|c| format!("{c} = {c} + VALUES({c})")).collect(),
        _ => set,
    };
    let key = "org_id, length_min, dim_kind, start_ms, dim_id";
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = upsert_sql(backend, "report_intervals", &cols, chunk.len(), key, &set);
        let mut args = Vec::with_capacity(chunk.len() * cols.len());
        for r in chunk {
            args.push(Value::from(org.to_string()));
            args.push(Value::from(r.length.minutes()));
            args.push(Value::from(r.dimension.kind().as_str()));
            args.push(Value::from(r.start.unix_ms()));
            args.push(Value::from(r.dimension.id_text()));
            args.extend(r.counts.iter().map(|v| Value::from(*v)));
        }
        sql::execute(conn, backend, "report interval", &sql, args).await?;
    }
    Ok(())
}

async fn put_contacts(
    conn: &mut AnyConnection,
    backend: Backend,
    org: OrgId,
    contacts: &[ReportContact],
) -> Result<(), StoreError> {
    let cols = ["org_id", "contact_id", "repeat_group", "first_at_ms", "last_at_ms", "events"];
    let set: Vec<String> = cols[2..].iter().map(|c| format!("{c} = {}", new_value(backend, c))).collect::<Vec<_>>();
    for chunk in contacts.chunks(ROWS_PER_INSERT) {
        let sql = upsert_sql(backend, "report_contacts", &cols, chunk.len(), "org_id, contact_id", &set);
        let mut args = Vec::with_capacity(chunk.len() * cols.len());
        for c in chunk {
            args.push(Value::from(org.to_string()));
            args.push(Value::from(c.contact.to_string()));
            args.push(Value::Text(c.repeat_group.clone()));
            args.push(Value::from(c.first_at.unix_ms()));
            args.push(Value::from(c.last_at.unix_ms()));
            args.push(Value::from(c.events.clone()));
        }
        sql::execute(conn, backend, "report contact", &sql, args).await?;
    }
    Ok(())
}

async fn add_changes(
    conn: &mut AnyConnection,
    backend: Backend,
    org: OrgId,
    changes: &[ReportAgentChange],
) -> Result<(), StoreError> {
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        let values = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO report_agent_changes (org_id, {CHANGE_COLS}) VALUES {values}");
        let mut args = Vec::with_capacity(chunk.len() * 5);
        for c in chunk {
            args.push(Value::from(org.to_string()));
            args.push(Value::from(c.id.to_string()));
            args.push(Value::from(c.agent.to_string()));
            args.push(Value::from(c.at.unix_ms()));
            args.push(Value::from(c.state.as_str()));
        }
        sql::execute(conn, backend, "report agent change", &sql, args).await?;
    }
    Ok(())
}

impl Store {
    /// Writes one ingest's contacts (insert or replace), new agent changes and interval deltas in
    /// one transaction. An agent change id already stored is [`StoreError::Conflict`] and nothing
    /// of the batch is kept.
    pub async fn apply_report_batch(&self, org: OrgId, batch: &ReportBatch) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx =
            sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("report batch", e))?;
        put_contacts(&mut tx, self.backend, org, &batch.contacts).await?;
        add_changes(&mut tx, self.backend, org, &batch.agent_changes).await?;
        add_intervals(&mut tx, self.backend, org, &batch.deltas).await?;
        tx.commit().await.map_err(|e| StoreError::from_query("report batch", e))
    }

    /// Replaces every interval row whose start is in `range` (all lengths and dimensions) by
    /// `rows`, in one transaction (recovery: `reports::rebuild`). Rows outside `range` are refused.
    pub async fn replace_report_intervals(
        &self,
        org: OrgId,
        range: TimeRange,
        rows: &[IntervalRow],
    ) -> Result<(), StoreError> {
        if let Some(r) = rows.iter().find(|r| r.start < range.from || r.start >= range.to) {
            let reason = format!("interval at {} is outside the range replaced", r.start.unix_ms());
            return Err(StoreError::InvalidInput { what: "report interval", reason });
        }
        let mut conn = self.conn().await?;
        let mut tx =
            sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("report interval", e))?;
        let (cond, mut args) = range.filter("start_ms");
        args.insert(0, Value::from(org.to_string()));
        let sql = format!("DELETE FROM report_intervals WHERE org_id = ? AND {cond}");
        sql::execute(&mut tx, self.backend, "report interval", &sql, args).await?;
        add_intervals(&mut tx, self.backend, org, rows).await?;
        tx.commit().await.map_err(|e| StoreError::from_query("report interval", e))
    }

    /// The interval rows of one length and dimension kind whose start is in `range`, oldest first.
    /// More than [`MAX_INTERVAL_ROWS`] is [`StoreError::InvalidInput`].
    pub async fn report_intervals(
        &self,
        org: OrgId,
        length: IntervalLength,
        kind: IntervalDimensionKind,
        range: TimeRange,
    ) -> Result<Vec<IntervalRow>, StoreError> {
        let (cond, time_args) = range.filter("start_ms");
        let sql = format!(
            "SELECT length_min, dim_kind, start_ms, dim_id, {} FROM report_intervals \
             WHERE org_id = ? AND length_min = ? AND dim_kind = ? AND {cond} ORDER BY start_ms, dim_id LIMIT {}",
            INTERVAL_COUNT_COLUMNS.join(", "),
            MAX_INTERVAL_ROWS + 1
        );
        let mut args = vec![Value::from(org.to_string()), Value::from(length.minutes()), Value::from(kind.as_str())];
        args.extend(time_args);
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "report interval", &sql, args).await?;
        if rows.len() > MAX_INTERVAL_ROWS {
            let reason = format!("more than {MAX_INTERVAL_ROWS} rows; narrow the range or use longer intervals");
            return Err(StoreError::InvalidInput { what: "report range", reason });
        }
        rows.iter().map(|r| interval_from_row(&RowReader::new(r, "report_intervals"))).collect()
    }

    /// The sums per dimension of the interval rows of one length and kind whose start is in
    /// `range`, added up by the database (one row per queue, agent or channel), in dimension order.
    pub async fn report_interval_totals(
        &self,
        org: OrgId,
        length: IntervalLength,
        kind: IntervalDimensionKind,
        range: TimeRange,
    ) -> Result<Vec<(IntervalDimension, IntervalCounts)>, StoreError> {
        // SUM of BIGINT is NUMERIC on PostgreSQL and DECIMAL on MySQL: cast back to a 64-bit integer.
        let sum = |c: &str| match self.backend {
            Backend::Postgres => format!("CAST(SUM({c}) AS BIGINT) AS {c}"),
            Backend::MySql => format!("CAST(SUM({c}) AS SIGNED) AS {c}"),
            Backend::Sqlite => format!("SUM({c}) AS {c}"),
        };
        let sums: Vec<String> = INTERVAL_COUNT_COLUMNS.iter().map(|c| sum(c)).collect();
        let (cond, time_args) = range.filter("start_ms");
        let sql = format!(
            "SELECT dim_kind, dim_id, {} FROM report_intervals WHERE org_id = ? AND length_min = ? AND dim_kind = ? \
             AND {cond} GROUP BY dim_kind, dim_id ORDER BY dim_id LIMIT {}",
            sums.join(", "),
            MAX_INTERVAL_ROWS + 1
        );
        let mut args = vec![Value::from(org.to_string()), Value::from(length.minutes()), Value::from(kind.as_str())];
        args.extend(time_args);
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "report interval", &sql, args).await?;
        if rows.len() > MAX_INTERVAL_ROWS {
            let reason = format!("more than {MAX_INTERVAL_ROWS} dimensions");
            return Err(StoreError::InvalidInput { what: "report range", reason });
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let r = RowReader::new(row, "report_intervals");
            let dimension = IntervalDimension::parse(&r.text("dim_kind")?, &r.text("dim_id")?)
                .map_err(|e| r.invalid("dim_id", e))?;
            let mut counts = [0i64; 29];
            for (slot, col) in counts.iter_mut().zip(INTERVAL_COUNT_COLUMNS) {
                *slot = r.int(col)?;
            }
            out.push((dimension, counts));
        }
        Ok(out)
    }

    /// The reporting records of these contacts (those that have one).
    pub async fn report_contacts(&self, org: OrgId, ids: &[ContactId]) -> Result<Vec<ReportContact>, StoreError> {
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.report_contacts_where("contact_id", &texts, org).await
    }

    /// The reporting records of every contact in these first-contact-resolution groups.
    pub async fn report_contacts_in_groups(
        &self,
        org: OrgId,
        groups: &[String],
    ) -> Result<Vec<ReportContact>, StoreError> {
        self.report_contacts_where("repeat_group", groups, org).await
    }

    /// The reporting records of the contacts in these first-contact-resolution groups whose event
    /// span meets `span` (first event at or before `span.to`, last event at or after `span.from`):
    /// a group keeps growing with the customer's history, while only the contacts near the ones
    /// an ingest touches can change its counts.
    pub async fn report_contacts_in_groups_during(
        &self,
        org: OrgId,
        groups: &[String],
        span: TimeRange,
    ) -> Result<Vec<ReportContact>, StoreError> {
        let bounds = (span.from.unix_ms(), span.to.unix_ms());
        self.report_contacts_matching("repeat_group", groups, org, Some(bounds)).await
    }

    async fn report_contacts_where(
        &self,
        col: &str,
        keys: &[String],
        org: OrgId,
    ) -> Result<Vec<ReportContact>, StoreError> {
        self.report_contacts_matching(col, keys, org, None).await
    }

    /// `span`: (least last event, greatest first event), both unix ms.
    async fn report_contacts_matching(
        &self,
        col: &str,
        keys: &[String],
        org: OrgId,
        span: Option<(i64, i64)>,
    ) -> Result<Vec<ReportContact>, StoreError> {
        let mut out = Vec::new();
        let mut conn = self.conn().await?;
        let during = if span.is_some() { " AND first_at_ms <= ? AND last_at_ms >= ?" } else { "" };
        // Without statistics SQLite reads a group lookup as a walk of the org's whole primary key
        // (every contact record, growing with the history) rather than the group index.
        let table = match (self.backend, col) {
            (Backend::Sqlite, "repeat_group") => "report_contacts INDEXED BY report_contacts_group",
            _ => "report_contacts",
        };
        for chunk in keys.chunks(MAX_IDS_PER_QUERY) {
            let sql = format!(
                "SELECT {CONTACT_COLS} FROM {table} WHERE org_id = ? AND {col} IN ({}){during}",
                marks(chunk.len())
            );
            let mut args = vec![Value::from(org.to_string())];
            args.extend(chunk.iter().map(|k| Value::from(k.clone())));
            if let Some((from, to)) = span {
                args.extend([Value::from(to), Value::from(from)]);
            }
            let rows = sql::fetch_all(&mut conn, self.backend, "report contact", &sql, args).await?;
            for r in &rows {
                out.push(contact_from_row(&RowReader::new(r, "report_contacts"))?);
            }
        }
        Ok(out)
    }

    /// Contacts whose events span reaches into `range` and whose first event is at most
    /// `lookback_ms` before it, oldest first, at most `max_rows` (more is `InvalidInput`).
    pub async fn report_contacts_active_in(
        &self,
        org: OrgId,
        range: TimeRange,
        lookback_ms: i64,
        max_rows: usize,
    ) -> Result<Vec<ReportContact>, StoreError> {
        let sql = format!(
            "SELECT {CONTACT_COLS} FROM report_contacts WHERE org_id = ? AND first_at_ms >= ? AND first_at_ms < ? \
             AND last_at_ms >= ? ORDER BY first_at_ms, contact_id LIMIT {}",
            max_rows + 1
        );
        let args = vec![
            Value::from(org.to_string()),
            Value::from(range.from.unix_ms().saturating_sub(lookback_ms)),
            Value::from(range.to.unix_ms()),
            Value::from(range.from.unix_ms()),
        ];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "report contact", &sql, args).await?;
        if rows.len() > max_rows {
            let reason = format!("more than {max_rows} contacts; rebuild a shorter range");
            return Err(StoreError::InvalidInput { what: "report range", reason });
        }
        rows.iter().map(|r| contact_from_row(&RowReader::new(r, "report_contacts"))).collect()
    }

    /// Which of these agent state change ids are already stored.
    pub async fn known_report_agent_changes(
        &self,
        org: OrgId,
        ids: &[AgentStateChangeId],
    ) -> Result<Vec<AgentStateChangeId>, StoreError> {
        let mut out = Vec::new();
        let mut conn = self.conn().await?;
        for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
            let sql =
                format!("SELECT id FROM report_agent_changes WHERE org_id = ? AND id IN ({})", marks(chunk.len()));
            let mut args = vec![Value::from(org.to_string())];
            args.extend(chunk.iter().map(|k| Value::from(k.to_string())));
            for r in sql::fetch_all(&mut conn, self.backend, "report agent change", &sql, args).await? {
                out.push(RowReader::new(&r, "report_agent_changes").parse("id")?);
            }
        }
        Ok(out)
    }

    /// An agent's counted changes around `[from, to]`: the last ones before `from` (all those at
    /// that same millisecond), every one in `[from, to]`, and the first ones after `to` — what a
    /// replay needs to recount the state time that changes in that window could move.
    /// `lookback_ms` bounds how far back the one before is searched.
    pub async fn report_agent_window(
        &self,
        org: OrgId,
        agent: AgentId,
        from: Timestamp,
        to: Timestamp,
        lookback_ms: i64,
    ) -> Result<Vec<ReportAgentChange>, StoreError> {
        let mut conn = self.conn().await?;
        let base = "FROM report_agent_changes WHERE org_id = ? AND agent_id = ?";
        let who = || vec![Value::from(org.to_string()), Value::from(agent.to_string())];
        let before = format!("SELECT MAX(at_ms) AS t {base} AND at_ms < ? AND at_ms >= ?");
        let mut args = who();
        args.extend([Value::from(from.unix_ms()), Value::from(from.unix_ms().saturating_sub(lookback_ms))]);
        let lo = scalar(&mut conn, self.backend, &before, args).await?.unwrap_or(from.unix_ms());
        let after = format!("SELECT MIN(at_ms) AS t {base} AND at_ms > ?");
        let mut args = who();
        args.push(Value::from(to.unix_ms()));
        let hi = scalar(&mut conn, self.backend, &after, args).await?.unwrap_or(to.unix_ms());
        let sql = format!("SELECT {CHANGE_COLS} {base} AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms, id");
        let mut args = who();
        args.extend([Value::from(lo), Value::from(hi)]);
        let rows = sql::fetch_all(&mut conn, self.backend, "report agent change", &sql, args).await?;
        rows.iter().map(|r| change_from_row(&RowReader::new(r, "report_agent_changes"))).collect()
    }

    /// Every agent's counted changes in `[range.from − lookback_ms, range.to + lookahead_ms)`,
    /// oldest first, at most `max_rows` (more is `InvalidInput`).
    pub async fn report_agent_changes_around(
        &self,
        org: OrgId,
        range: TimeRange,
        lookback_ms: i64,
        lookahead_ms: i64,
        max_rows: usize,
    ) -> Result<Vec<ReportAgentChange>, StoreError> {
        let sql = format!(
            "SELECT {CHANGE_COLS} FROM report_agent_changes WHERE org_id = ? AND at_ms >= ? AND at_ms < ? \
             ORDER BY at_ms, id LIMIT {}",
            max_rows + 1
        );
        let args = vec![
            Value::from(org.to_string()),
            Value::from(range.from.unix_ms().saturating_sub(lookback_ms)),
            Value::from(range.to.unix_ms().saturating_add(lookahead_ms)),
        ];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "report agent change", &sql, args).await?;
        if rows.len() > max_rows {
            let reason = format!("more than {max_rows} agent changes; rebuild a shorter range");
            return Err(StoreError::InvalidInput { what: "report range", reason });
        }
        rows.iter().map(|r| change_from_row(&RowReader::new(r, "report_agent_changes"))).collect()
    }

    /// Contacts that ended abandoned and arrived in `range`, oldest first, at most `max_rows`
    /// (the abandoned-call list; `truncated` tells when there were more).
    pub async fn list_abandoned_contacts(
        &self,
        org: OrgId,
        range: TimeRange,
        max_rows: usize,
    ) -> Result<(Vec<AbandonedContact>, bool), StoreError> {
        let (cond, time_args) = range.filter("arrived_at_ms");
        let sql = format!(
            "SELECT id, channel, queue_id, from_address, queued_at_ms, ended_at_ms FROM contacts \
             WHERE org_id = ? AND {cond} AND outcome = ? ORDER BY arrived_at_ms, id LIMIT {}",
            max_rows + 1
        );
        let mut args = vec![Value::from(org.to_string())];
        args.extend(time_args);
        args.push(Value::from(model::ContactOutcome::Abandoned.as_str()));
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "contact", &sql, args).await?;
        let truncated = rows.len() > max_rows;
        let mut out = Vec::with_capacity(rows.len().min(max_rows));
        for row in rows.iter().take(max_rows) {
            let r = RowReader::new(row, "contacts");
            out.push(AbandonedContact {
                contact: r.parse("id")?,
                channel: r.parse("channel")?,
                queue: r.opt_parse("queue_id")?,
                from_address: r.text("from_address")?,
                queued_at: r.opt_time("queued_at_ms")?,
                ended_at: r.opt_time("ended_at_ms")?,
            });
        }
        Ok((out, truncated))
    }

    /// Inserts many contacts in one transaction with multi-row inserts (imports and the volume
    /// generator); any failure keeps none of them.
    pub async fn insert_contacts(&self, contacts: &[Contact]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("contact", e))?;
        for chunk in contacts.chunks(ROWS_PER_INSERT) {
            let cols = super::contacts::CONTACTS.cols;
            let values = vec![format!("({})", marks(cols.len())); chunk.len()].join(", ");
            let sql = format!("INSERT INTO contacts ({}) VALUES {values}", cols.join(", "));
            let args: Vec<Value> = chunk.iter().flat_map(super::contacts::row_values).collect();
            sql::execute(&mut tx, self.backend, "contact", &sql, args).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query("contact", e))
    }
}

async fn scalar(
    conn: &mut AnyConnection,
    backend: Backend,
    sql: &str,
    args: Vec<Value>,
) -> Result<Option<i64>, StoreError> {
    let row = sql::fetch_optional(conn, backend, "report agent change", sql, args).await?;
    match row {
        Some(r) => RowReader::new(&r, "report_agent_changes").opt_int("t"),
        None => Ok(None),
    }
}
