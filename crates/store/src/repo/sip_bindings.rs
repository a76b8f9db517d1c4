//! SIP registrar bindings: the phones registered as each agent's extension, kept so a restart of
//! the SIP server restores them. One row per (org, extension, contact key), written on every
//! binding event of the registrar (added, refreshed: replaced whole; removed: deleted).
//!
//! Never: a query without `org_id = ?`, or a listing without a row limit.

use std::net::SocketAddr;

use model::{Extension, OrgId, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};

const TABLE: &str = "sip_bindings";
const WHAT: &str = "sip binding";
const COLS: &str = "org_id, extension, contact_key, contact, call_id, cseq, expires_at_ms, source, updated_at_ms";

/// One registered contact of an extension, as the registrar hands it to the store. Text fields
/// are kept as the SIP server wrote them (it parses them back when it restores the binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipBinding {
    pub org: OrgId,
    pub extension: Extension,
    /// The registrar's comparable form of the Contact URI (at most 512 bytes).
    pub contact_key: String,
    /// The Contact header value (name-addr with its parameters, at most 1024 bytes).
    pub contact: String,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Timestamp,
    /// Where the REGISTER came from (for NAT traversal).
    pub source: SocketAddr,
    pub updated_at: Timestamp,
}

fn row_values(b: &SipBinding) -> Vec<Value> {
    vec![
        Value::from(b.org.to_string()),
        Value::from(b.extension.as_str()),
        Value::from(b.contact_key.clone()),
        Value::from(b.contact.clone()),
        Value::from(b.call_id.clone()),
        Value::from(i64::from(b.cseq)),
        Value::from(b.expires_at.unix_ms()),
        Value::from(b.source.to_string()),
        Value::from(b.updated_at.unix_ms()),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<SipBinding, StoreError> {
    let source = r.text("source")?;
    Ok(SipBinding {
        org: r.parse("org_id")?,
        extension: r.with("extension", Extension::parse)?,
        contact_key: r.text("contact_key")?,
        contact: r.text("contact")?,
        call_id: r.text("call_id")?,
        cseq: r.uint("cseq")?,
        expires_at: r.time("expires_at_ms")?,
        source: source.parse().map_err(|_| r.invalid("source", format!("{source:?} is not an address")))?,
        updated_at: r.time("updated_at_ms")?,
    })
}

impl Store {
    /// Inserts the binding or replaces the one with the same (org, extension, contact key), in one
    /// transaction.
    pub async fn save_sip_binding(&self, b: &SipBinding) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let delete = format!("DELETE FROM {TABLE} WHERE org_id = ? AND extension = ? AND contact_key = ?");
        let key = vec![b.org.to_string().into(), b.extension.as_str().into(), b.contact_key.clone().into()];
        sql::execute(&mut tx, self.backend, WHAT, &delete, key).await?;
        let insert = format!("INSERT INTO {TABLE} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        sql::execute(&mut tx, self.backend, WHAT, &insert, row_values(b)).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))
    }

    /// Makes `bindings` the whole set of `ext`'s bindings in the org, in one transaction (the
    /// registrar's view after a change: nothing stale survives, whatever the contacts' keys).
    /// Every binding must belong to this org and extension.
    pub async fn replace_sip_bindings(
        &self,
        org: OrgId,
        ext: &Extension,
        bindings: &[SipBinding],
    ) -> Result<(), StoreError> {
        if let Some(b) = bindings.iter().find(|b| b.org != org || b.extension != *ext) {
            return Err(StoreError::InvalidInput {
                what: WHAT,
                reason: format!("binding of {}/{} given for {org}/{}", b.org, b.extension.as_str(), ext.as_str()),
            });
        }
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let delete = format!("DELETE FROM {TABLE} WHERE org_id = ? AND extension = ?");
        sql::execute(&mut tx, self.backend, WHAT, &delete, vec![org.to_string().into(), ext.as_str().into()]).await?;
        for b in bindings {
            let insert = format!("INSERT INTO {TABLE} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
            sql::execute(&mut tx, self.backend, WHAT, &insert, row_values(b)).await?;
        }
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))
    }

    /// Deletes one binding; `false` when there was none.
    pub async fn delete_sip_binding(&self, org: OrgId, ext: &Extension, contact_key: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {TABLE} WHERE org_id = ? AND extension = ? AND contact_key = ?");
        let args = vec![org.to_string().into(), ext.as_str().into(), contact_key.into()];
        let mut conn = self.conn().await?;
        Ok(sql::execute(&mut conn, self.backend, WHAT, &sql, args).await? > 0)
    }

    /// The org's bindings still valid after `now`, soonest expiry first, at most `max_rows`.
    pub async fn list_live_sip_bindings(
        &self,
        org: OrgId,
        now: Timestamp,
        max_rows: u32,
    ) -> Result<Vec<SipBinding>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM {TABLE} WHERE org_id = ? AND expires_at_ms > ? \
             ORDER BY expires_at_ms, extension, contact_key LIMIT {max_rows}"
        );
        let args = vec![org.to_string().into(), now.unix_ms().into()];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, TABLE))).collect()
    }

    /// Deletes the org's bindings that expired at or before `now`; returns how many.
    pub async fn delete_expired_sip_bindings(&self, org: OrgId, now: Timestamp) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {TABLE} WHERE org_id = ? AND expires_at_ms <= ?");
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, WHAT, &sql, vec![org.to_string().into(), now.unix_ms().into()]).await
    }
}
