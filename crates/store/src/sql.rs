//! The small layer between repositories and sqlx: typed bind values, one way to run a query on a
//! pool or a transaction, and a row reader whose every parse failure becomes
//! [`StoreError::Corrupt`] naming the column. Never panics on a stored value.

use std::str::FromStr;

use model::ValueError;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::backend::Backend;
use crate::error::StoreError;

/// A value to bind. Nulls carry their type because PostgreSQL checks parameter types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(Some(i64::from(v)))
    }
}
impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        Value::Float(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

/// Turns any displayable id or word into a text value; `None` into a typed null.
pub(crate) fn text_opt<T: ToString>(v: Option<&T>) -> Value {
    Value::Text(v.map(ToString::to_string))
}

pub(crate) fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    args: Vec<Value>,
) -> Query<'q, Any, AnyArguments<'q>> {
    // sqlx's Any driver sends every NULL to PostgreSQL as an int4 parameter, and a prepared
    // statement keeps the parameter types of its first execution: a statement first run with a NULL
    // float then fails on a real one ("incorrect binary data format"). Statements carrying a float
    // are therefore prepared afresh each time.
    if args.iter().any(|v| matches!(v, Value::Float(_))) {
        q = q.persistent(false);
    }
    for v in args {
        q = match v {
            Value::Int(i) => q.bind(i),
            Value::Float(f) => q.bind(f),
            Value::Text(s) => q.bind(s),
        };
    }
    q
}

/// Runs one statement; returns the number of rows it changed.
pub(crate) async fn execute(
    conn: &mut AnyConnection,
    backend: Backend,
    what: &'static str,
    sql: &str,
    args: Vec<Value>,
) -> Result<u64, StoreError> {
    let sql = backend.adapt(sql);
    let q = bind_all(sqlx::query(&sql), args);
    q.execute(conn).await.map(|r| r.rows_affected()).map_err(|e| StoreError::from_query(what, e))
}

pub(crate) async fn fetch_all(
    conn: &mut AnyConnection,
    backend: Backend,
    what: &'static str,
    sql: &str,
    args: Vec<Value>,
) -> Result<Vec<AnyRow>, StoreError> {
    let sql = backend.adapt(sql);
    let q = bind_all(sqlx::query(&sql), args);
    q.fetch_all(conn).await.map_err(|e| StoreError::from_query(what, e))
}

pub(crate) async fn fetch_optional(
    conn: &mut AnyConnection,
    backend: Backend,
    what: &'static str,
    sql: &str,
    args: Vec<Value>,
) -> Result<Option<AnyRow>, StoreError> {
    let sql = backend.adapt(sql);
    let q = bind_all(sqlx::query(&sql), args);
    q.fetch_optional(conn).await.map_err(|e| StoreError::from_query(what, e))
}

/// Reads the columns of one row of `table`; every failure names `table.column`.
pub(crate) struct RowReader<'r> {
    pub row: &'r AnyRow,
    pub table: &'static str,
}

impl<'r> RowReader<'r> {
    pub fn new(row: &'r AnyRow, table: &'static str) -> Self {
        Self { row, table }
    }

    fn corrupt(&self, col: &str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt { what: format!("{}.{col}", self.table), reason: reason.to_string() }
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.row.try_get::<Option<String>, _>(col) {
            Ok(v) => Ok(v),
            // MySQL reports TEXT columns as BLOB through the Any driver: read the bytes as UTF-8.
            Err(first) => match self.row.try_get::<Option<Vec<u8>>, _>(col) {
                Ok(None) => Ok(None),
                Ok(Some(bytes)) => String::from_utf8(bytes).map(Some).map_err(|e| self.corrupt(col, e)),
                Err(_) => Err(self.corrupt(col, first)),
            },
        }
    }

    pub fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?.ok_or_else(|| self.corrupt(col, "is NULL"))
    }

    pub fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.row.try_get::<Option<i64>, _>(col).map_err(|e| self.corrupt(col, e))
    }

    pub fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?.ok_or_else(|| self.corrupt(col, "is NULL"))
    }

    /// A non-negative integer that must fit `T` (u8, u32, u64).
    pub fn uint<T: TryFrom<i64>>(&self, col: &str) -> Result<T, StoreError> {
        let v = self.int(col)?;
        T::try_from(v).map_err(|_| self.corrupt(col, format!("{v} is out of range")))
    }

    pub fn opt_uint<T: TryFrom<i64>>(&self, col: &str) -> Result<Option<T>, StoreError> {
        match self.opt_int(col)? {
            None => Ok(None),
            Some(v) => T::try_from(v).map(Some).map_err(|_| self.corrupt(col, format!("{v} is out of range"))),
        }
    }

    pub fn bool(&self, col: &str) -> Result<bool, StoreError> {
        match self.int(col)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.corrupt(col, format!("{v} is not 0 or 1"))),
        }
    }

    pub fn opt_float(&self, col: &str) -> Result<Option<f64>, StoreError> {
        // Unchecked: SQLite may report REAL columns as either float width; decoding widens safely.
        self.row.try_get_unchecked::<Option<f64>, _>(col).map_err(|e| self.corrupt(col, e))
    }

    /// A value the model parses from text (ids, words, names).
    pub fn parse<T: FromStr<Err = ValueError>>(&self, col: &str) -> Result<T, StoreError> {
        let s = self.text(col)?;
        s.parse().map_err(|e: ValueError| self.corrupt(col, e))
    }

    pub fn opt_parse<T: FromStr<Err = ValueError>>(&self, col: &str) -> Result<Option<T>, StoreError> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e: ValueError| self.corrupt(col, e)),
        }
    }

    /// A value parsed by a model constructor such as `E164::parse_strict`.
    pub fn with<T>(&self, col: &str, f: impl FnOnce(&str) -> Result<T, ValueError>) -> Result<T, StoreError> {
        let s = self.text(col)?;
        f(&s).map_err(|e| self.corrupt(col, e))
    }

    pub fn opt_with<T>(
        &self,
        col: &str,
        f: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<Option<T>, StoreError> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(s) => f(&s).map(Some).map_err(|e| self.corrupt(col, e)),
        }
    }

    /// A JSON column decoded into plain serde types (the caller then validates into model types).
    pub fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T, StoreError> {
        let s = self.text(col)?;
        serde_json::from_str(&s).map_err(|e| self.corrupt(col, e))
    }

    pub fn time(&self, col: &str) -> Result<model::Timestamp, StoreError> {
        self.int(col).map(model::Timestamp::from_unix_ms)
    }

    pub fn opt_time(&self, col: &str) -> Result<Option<model::Timestamp>, StoreError> {
        self.opt_int(col).map(|v| v.map(model::Timestamp::from_unix_ms))
    }

    /// Reports a value that parsed but broke a rule checked later (JSON element, cross-field).
    pub fn invalid(&self, col: &str, reason: impl ToString) -> StoreError {
        self.corrupt(col, reason)
    }
}

/// Converts an unsigned model number into the signed column type, refusing values that would wrap.
pub(crate) fn to_i64<T: TryInto<i64> + Copy + ToString>(what: &'static str, v: T) -> Result<i64, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::InvalidInput { what, reason: format!("{} does not fit a BIGINT", v.to_string()) })
}
