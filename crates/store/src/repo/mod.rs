//! Repositories: one module per entity, each a block of `impl Store` methods. This module holds
//! the shared shape of a table (its columns) and the generic insert / update / get / list that
//! every repository uses, so org scoping and keyset pagination are written once.
//!
//! Never: a query without `org_id = ?`, or a cursor or limit that reaches SQL unchecked.

pub(crate) mod agent_states;
pub(crate) mod agents;
pub(crate) mod aggregates;
pub(crate) mod auth;
pub(crate) mod business_hours;
pub(crate) mod chat;
pub(crate) mod contacts;
pub(crate) mod customer_merges;
pub(crate) mod customers;
pub(crate) mod email;
pub(crate) mod live;
pub(crate) mod orders;
pub(crate) mod orgs;
pub(crate) mod qa;
pub(crate) mod queues;
pub(crate) mod recording_retention;
pub(crate) mod recordings;
pub(crate) mod sip_bindings;
pub(crate) mod skills;
pub(crate) mod social;
pub(crate) mod speech;
pub(crate) mod surveys;
pub(crate) mod text_flags;
pub(crate) mod tickets;
pub(crate) mod transcripts;
pub(crate) mod users;

use model::OrgId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::StoreError;
use crate::page::{Cursor, Page, PageOf};
use crate::sql::{self, RowReader, Value};

/// A table as the generic functions see it. `cols[0]` is `id` and `cols[1]` is `org_id`
/// (except for `orgs`, whose id is the org).
pub(crate) struct Table {
    pub name: &'static str,
    /// The entity's name in errors ("user", "order").
    pub what: &'static str,
    pub cols: &'static [&'static str],
}

impl Table {
    fn select(&self) -> String {
        format!("SELECT {} FROM {}", self.cols.join(", "), self.name)
    }
}

/// The order of a listing; every variant ends with `id` so the order is total and keyset
/// pagination never skips or repeats a row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keyset {
    /// By id, ascending (ids are time-ordered UUIDv7 in production).
    Id,
    /// By a time column then id, oldest first.
    TimeAsc(&'static str),
    /// By a time column then id, newest first.
    TimeDesc(&'static str),
}

pub(crate) type MapRow<T> = fn(&RowReader<'_>) -> Result<T, StoreError>;

impl Store {
    pub(crate) async fn insert_row(&self, t: &Table, values: Vec<Value>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        insert_row_on(&mut conn, self.backend, t, values).await
    }

    /// Updates every column but `id` and `org_id` (given as `values` in `cols[2..]` order) of the
    /// row with this id in this org; [`StoreError::NotFound`] if there is none.
    pub(crate) async fn update_row(
        &self,
        t: &Table,
        org: OrgId,
        id: String,
        values: Vec<Value>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        update_row_on(&mut conn, self.backend, t, org, id, values).await
    }

    pub(crate) async fn get_row<T>(
        &self,
        t: &Table,
        org: OrgId,
        id: String,
        map: MapRow<T>,
    ) -> Result<Option<T>, StoreError> {
        self.find_one(t, org, "id = ?", vec![Value::from(id)], map).await
    }

    /// The one row of this org matching `filter` (an SQL condition with `?` placeholders).
    pub(crate) async fn find_one<T>(
        &self,
        t: &Table,
        org: OrgId,
        filter: &str,
        args: Vec<Value>,
        map: MapRow<T>,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("{} WHERE org_id = ? AND {filter}", t.select());
        let mut all = vec![Value::from(org.to_string())];
        all.extend(args);
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, t.what, &sql, all).await?;
        row.map(|r| map(&RowReader::new(&r, t.name))).transpose()
    }

    /// One page of this org's rows matching `filter` (`None`: all), in `order`.
    pub(crate) async fn list_rows<T>(
        &self,
        t: &Table,
        org: OrgId,
        filter: Option<(&str, Vec<Value>)>,
        order: Keyset,
        page: &Page,
        map: MapRow<T>,
    ) -> Result<PageOf<T>, StoreError> {
        let mut conn = self.conn().await?;
        let (rows, next) = list_raw(&mut conn, self, t, org, filter, order, page).await?;
        let items = rows.iter().map(|r| map(&RowReader::new(r, t.name))).collect::<Result<Vec<_>, _>>()?;
        Ok(PageOf { items, next })
    }
}

pub(crate) async fn insert_row_on(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    t: &Table,
    values: Vec<Value>,
) -> Result<(), StoreError> {
    debug_assert_eq!(values.len(), t.cols.len(), "{} values", t.name);
    let marks = vec!["?"; t.cols.len()].join(", ");
    let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", t.name, t.cols.join(", "));
    sql::execute(conn, backend, t.what, &sql, values).await.map(drop)
}

pub(crate) async fn update_row_on(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    t: &Table,
    org: OrgId,
    id: String,
    mut values: Vec<Value>,
) -> Result<(), StoreError> {
    debug_assert_eq!(values.len() + 2, t.cols.len(), "{} values", t.name);
    let sets = t.cols[2..].iter().map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ");
    let sql = format!("UPDATE {} SET {sets} WHERE org_id = ? AND id = ?", t.name);
    values.push(Value::from(org.to_string()));
    values.push(Value::from(id.clone()));
    match sql::execute(conn, backend, t.what, &sql, values).await? {
        0 => Err(StoreError::NotFound { what: t.what, key: id }),
        _ => Ok(()),
    }
}

/// Fetches one page of raw rows (at most the page's limit) and the next page's cursor.
async fn list_raw(
    conn: &mut AnyConnection,
    store: &Store,
    t: &Table,
    org: OrgId,
    filter: Option<(&str, Vec<Value>)>,
    order: Keyset,
    page: &Page,
) -> Result<(Vec<AnyRow>, Option<Cursor>), StoreError> {
    let mut sql = format!("{} WHERE org_id = ?", t.select());
    let mut args = vec![Value::from(org.to_string())];
    if let Some((cond, values)) = filter {
        sql.push_str(&format!(" AND ({cond})"));
        args.extend(values);
    }
    let limit = page.effective_limit();
    match (order, &page.after) {
        (Keyset::Id, after) => {
            if let Some(c) = after {
                sql.push_str(" AND id > ?");
                args.push(Value::from(c.id()?));
            }
            sql.push_str(" ORDER BY id");
        }
        (Keyset::TimeAsc(col) | Keyset::TimeDesc(col), after) => {
            let (cmp, dir) = if matches!(order, Keyset::TimeAsc(_)) { (">", "ASC") } else { ("<", "DESC") };
            if let Some(c) = after {
                let (ms, id) = c.time_and_id()?;
                sql.push_str(&format!(" AND ({col} {cmp} ? OR ({col} = ? AND id {cmp} ?))"));
                args.extend([Value::from(ms), Value::from(ms), Value::from(id)]);
            }
            sql.push_str(&format!(" ORDER BY {col} {dir}, id {dir}"));
        }
    }
    sql.push_str(&format!(" LIMIT {}", limit + 1));
    let mut rows = sql::fetch_all(conn, store.backend, t.what, &sql, args).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        match rows.last() {
            Some(last) => Some(cursor_of(&RowReader::new(last, t.name), order)?),
            None => None,
        }
    } else {
        None
    };
    Ok((rows, next))
}

fn cursor_of(r: &RowReader<'_>, order: Keyset) -> Result<Cursor, StoreError> {
    let id = r.text("id")?;
    Ok(match order {
        Keyset::Id => Cursor::for_id(&id),
        Keyset::TimeAsc(col) | Keyset::TimeDesc(col) => Cursor::for_time_and_id(r.int(col)?, &id),
    })
}

/// A JSON text of plain serde values; serialising these cannot fail.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}
