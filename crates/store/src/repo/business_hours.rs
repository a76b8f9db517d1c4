//! Business-hours calendars and the editable route tables. Migration 0011.
//!
//! A calendar is stored as the operator wrote it: a name, an IANA time-zone name, one opening
//! text per weekday (`"09:00-12:00,13:00-18:00"`, `""` for closed) and dated exceptions (`"closed"`
//! or special hours). The store checks sizes and shapes only; what the texts mean (and whether
//! the zone exists) is the `ivr` crate's calendar, which the web checks before writing. Saving a
//! calendar replaces it and all its exceptions in one transaction.
//!
//! A route table is the org's entry points as JSON text (the `acd` crate's shape), one row per
//! org, replaced whole.
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, an unbounded text stored.

pub use model::{MAX_CALENDAR_NAME_CHARS, is_calendar_name};
use model::{OrgId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const WHAT: &str = "business calendar";
const CALENDARS: &str = "business_calendars";
const EXCEPTIONS: &str = "business_calendar_exceptions";
const CAL_COLS: &str = "org_id, name, time_zone, mon, tue, wed, thu, fri, sat, sun, updated_at_ms";
const EXC_COLS: &str = "org_id, calendar_name, local_date, hours, note";
const ROUTES_WHAT: &str = "route table";

/// Most calendars per org.
pub const MAX_CALENDARS: u32 = 256;
/// Most exceptions per calendar.
pub const MAX_CALENDAR_EXCEPTIONS: usize = 366;
/// Longest time-zone name, opening text or exception note, in characters.
pub const MAX_CALENDAR_TEXT_CHARS: usize = 200;
/// Longest stored route table (JSON), in bytes.
pub const MAX_ROUTE_TABLE_BYTES: usize = 256 * 1024;

/// A dated exception: closed all day (`hours` = `"closed"`) or special hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarException {
    /// Local date, `2027-02-10`.
    pub date: String,
    /// `"closed"` or ranges like `"10:00-14:00"`.
    pub hours: String,
    /// Why (`"Spring Festival"`), may be empty.
    pub note: String,
}

/// A named business-hours calendar as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub org: OrgId,
    pub name: String,
    /// IANA zone name, `Asia/Shanghai`.
    pub time_zone: String,
    /// Opening ranges per weekday, Monday first; `""` is closed.
    pub weekly: [String; 7],
    /// Sorted by date.
    pub exceptions: Vec<CalendarException>,
    pub updated_at: Timestamp,
}

/// The org's stored route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    pub org: OrgId,
    /// The entry points as JSON.
    pub entry_points: String,
    pub updated_at: Timestamp,
}

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidInput { what: WHAT, reason: reason.into() }
}

fn check(c: &BusinessCalendar) -> Result<(), StoreError> {
    if !is_calendar_name(&c.name) {
        return Err(invalid(format!("name must be 1 to {MAX_CALENDAR_NAME_CHARS} characters of a-z, 0-9, _ and -")));
    }
    let short = |s: &str| s.chars().count() <= MAX_CALENDAR_TEXT_CHARS;
    if c.time_zone.is_empty() || !short(&c.time_zone) || !c.weekly.iter().all(|d| short(d)) {
        return Err(invalid(format!(
            "time zone and opening texts must be at most {MAX_CALENDAR_TEXT_CHARS} characters"
        )));
    }
    if c.exceptions.len() > MAX_CALENDAR_EXCEPTIONS {
        return Err(invalid(format!("at most {MAX_CALENDAR_EXCEPTIONS} exceptions")));
    }
    for e in &c.exceptions {
        if e.date.len() != 10 || !short(&e.hours) || !short(&e.note) {
            return Err(invalid(format!("exception {:?}: a date like 2027-02-10 and short texts", e.date)));
        }
    }
    Ok(())
}

fn calendar_from_row(r: &RowReader<'_>) -> Result<BusinessCalendar, StoreError> {
    Ok(BusinessCalendar {
        org: r.parse("org_id")?,
        name: r.text("name")?,
        time_zone: r.text("time_zone")?,
        weekly: [
            r.text("mon")?,
            r.text("tue")?,
            r.text("wed")?,
            r.text("thu")?,
            r.text("fri")?,
            r.text("sat")?,
            r.text("sun")?,
        ],
        exceptions: Vec::new(),
        updated_at: r.time("updated_at_ms")?,
    })
}

fn exception_from_row(r: &RowReader<'_>) -> Result<(String, CalendarException), StoreError> {
    Ok((
        r.text("calendar_name")?,
        CalendarException { date: r.text("local_date")?, hours: r.text("hours")?, note: r.text("note")? },
    ))
}

impl Store {
    /// Creates or replaces the calendar `c.name` of `c.org` with all its exceptions.
    pub async fn put_calendar(&self, c: &BusinessCalendar) -> Result<(), StoreError> {
        check(c)?;
        let org = Value::from(c.org.to_string());
        let name = Value::from(c.name.clone());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        for table in [EXCEPTIONS, CALENDARS] {
            let key = if table == CALENDARS { "name" } else { "calendar_name" };
            let delete = format!("DELETE FROM {table} WHERE org_id = ? AND {key} = ?");
            sql::execute(&mut tx, self.backend, WHAT, &delete, vec![org.clone(), name.clone()]).await?;
        }
        let mut args = vec![org.clone(), name.clone(), Value::from(c.time_zone.clone())];
        args.extend(c.weekly.iter().map(|d| Value::from(d.clone())));
        args.push(Value::from(c.updated_at.unix_ms()));
        let insert = format!("INSERT INTO {CALENDARS} ({CAL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        sql::execute(&mut tx, self.backend, WHAT, &insert, args).await?;
        let insert = format!("INSERT INTO {EXCEPTIONS} ({EXC_COLS}) VALUES (?, ?, ?, ?, ?)");
        for e in &c.exceptions {
            let args = vec![
                org.clone(),
                name.clone(),
                Value::from(e.date.clone()),
                Value::from(e.hours.clone()),
                Value::from(e.note.clone()),
            ];
            sql::execute(&mut tx, self.backend, WHAT, &insert, args).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))
    }

    /// The org's calendars by name with their exceptions (by date), at most [`MAX_CALENDARS`].
    pub async fn list_calendars(&self, org: OrgId) -> Result<Vec<BusinessCalendar>, StoreError> {
        let org_v = Value::from(org.to_string());
        let mut conn = self.conn().await?;
        let sql = format!("SELECT {CAL_COLS} FROM {CALENDARS} WHERE org_id = ? ORDER BY name LIMIT {MAX_CALENDARS}");
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, vec![org_v.clone()]).await?;
        let mut out =
            rows.iter().map(|r| calendar_from_row(&RowReader::new(r, CALENDARS))).collect::<Result<Vec<_>, _>>()?;
        let max_exceptions = (MAX_CALENDARS as usize) * MAX_CALENDAR_EXCEPTIONS;
        let sql = format!(
            "SELECT {EXC_COLS} FROM {EXCEPTIONS} WHERE org_id = ? ORDER BY calendar_name, local_date LIMIT {max_exceptions}"
        );
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, vec![org_v]).await?;
        for row in &rows {
            let (calendar, e) = exception_from_row(&RowReader::new(row, EXCEPTIONS))?;
            if let Some(c) = out.iter_mut().find(|c| c.name == calendar) {
                c.exceptions.push(e);
            }
        }
        Ok(out)
    }

    /// One calendar with its exceptions; `None` when the org has no calendar of that name.
    pub async fn get_calendar(&self, org: OrgId, name: &str) -> Result<Option<BusinessCalendar>, StoreError> {
        let key = vec![Value::from(org.to_string()), Value::from(name.to_owned())];
        let mut conn = self.conn().await?;
        let sql = format!("SELECT {CAL_COLS} FROM {CALENDARS} WHERE org_id = ? AND name = ?");
        let Some(row) = sql::fetch_optional(&mut conn, self.backend, WHAT, &sql, key.clone()).await? else {
            return Ok(None);
        };
        let mut c = calendar_from_row(&RowReader::new(&row, CALENDARS))?;
        let sql = format!(
            "SELECT {EXC_COLS} FROM {EXCEPTIONS} WHERE org_id = ? AND calendar_name = ? \
             ORDER BY local_date LIMIT {MAX_CALENDAR_EXCEPTIONS}"
        );
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, key).await?;
        for row in &rows {
            c.exceptions.push(exception_from_row(&RowReader::new(row, EXCEPTIONS))?.1);
        }
        Ok(Some(c))
    }

    /// Deletes a calendar and its exceptions; `false` when there was none.
    pub async fn delete_calendar(&self, org: OrgId, name: &str) -> Result<bool, StoreError> {
        let key = vec![Value::from(org.to_string()), Value::from(name.to_owned())];
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let delete = format!("DELETE FROM {EXCEPTIONS} WHERE org_id = ? AND calendar_name = ?");
        sql::execute(&mut tx, self.backend, WHAT, &delete, key.clone()).await?;
        let delete = format!("DELETE FROM {CALENDARS} WHERE org_id = ? AND name = ?");
        let gone = sql::execute(&mut tx, self.backend, WHAT, &delete, key).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))?;
        Ok(gone > 0)
    }

    /// Stores the org's route table (entry points as JSON), replacing the previous one.
    pub async fn put_route_table(&self, t: &RouteTable) -> Result<(), StoreError> {
        if t.entry_points.len() > MAX_ROUTE_TABLE_BYTES {
            return Err(StoreError::InvalidInput {
                what: ROUTES_WHAT,
                reason: format!("at most {MAX_ROUTE_TABLE_BYTES} bytes"),
            });
        }
        let org = Value::from(t.org.to_string());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(ROUTES_WHAT, e))?;
        sql::execute(
            &mut tx,
            self.backend,
            ROUTES_WHAT,
            "DELETE FROM route_tables WHERE org_id = ?",
            vec![org.clone()],
        )
        .await?;
        let args = vec![org, Value::from(t.entry_points.clone()), Value::from(t.updated_at.unix_ms())];
        let insert = "INSERT INTO route_tables (org_id, entry_points, updated_at_ms) VALUES (?, ?, ?)";
        sql::execute(&mut tx, self.backend, ROUTES_WHAT, insert, args).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(ROUTES_WHAT, e))
    }

    /// The org's stored route table; `None` when none was saved (the routes file applies).
    pub async fn get_route_table(&self, org: OrgId) -> Result<Option<RouteTable>, StoreError> {
        let mut conn = self.conn().await?;
        let sql = "SELECT org_id, entry_points, updated_at_ms FROM route_tables WHERE org_id = ?";
        let row =
            sql::fetch_optional(&mut conn, self.backend, ROUTES_WHAT, sql, vec![Value::from(org.to_string())]).await?;
        row.map(|row| {
            let r = RowReader::new(&row, "route_tables");
            Ok(RouteTable {
                org: r.parse("org_id")?,
                entry_points: r.text("entry_points")?,
                updated_at: r.time("updated_at_ms")?,
            })
        })
        .transpose()
    }
}
