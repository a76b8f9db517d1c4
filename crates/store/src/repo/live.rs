//! What the live contact center (`center` crate) needs beyond the entity repositories: each
//! agent's current state (`agent_presence`, one row per agent, replaced on every change; the
//! history stays in `agent_state_changes`), and the contacts a previous run left unfinished.
//!
//! Never: a query without `org_id = ?`, or a listing without a row limit.

use model::{AgentId, AgentState, Contact, OrgId, ReasonCode, Timestamp};

use crate::Store;
use crate::error::StoreError;
use crate::sql::{self, RowReader, Value, text_opt};

/// Most rows one call of this module returns, whatever the caller asks for.
pub const MAX_LIVE_ROWS: u32 = 10_000;

const WHAT: &str = "agent presence";
const COLS: &str = "org_id, agent_id, state, reason, since_ms";

/// An agent's state now, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPresence {
    pub org: OrgId,
    pub agent: AgentId,
    pub state: AgentState,
    /// Why Away (break, lunch, missed, ...).
    pub reason: Option<ReasonCode>,
    pub since: Timestamp,
}

fn from_row(r: &RowReader<'_>) -> Result<AgentPresence, StoreError> {
    Ok(AgentPresence {
        org: r.parse("org_id")?,
        agent: r.parse("agent_id")?,
        state: r.parse("state")?,
        reason: r.opt_with("reason", ReasonCode::parse)?,
        since: r.time("since_ms")?,
    })
}

impl Store {
    /// Makes `p` the agent's current state (replacing the previous one), in one transaction.
    pub async fn save_agent_presence(&self, p: &AgentPresence) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let key = vec![Value::from(p.org.to_string()), Value::from(p.agent.to_string())];
        sql::execute(&mut tx, self.backend, WHAT, "DELETE FROM agent_presence WHERE org_id = ? AND agent_id = ?", key)
            .await?;
        let values = vec![
            Value::from(p.org.to_string()),
            Value::from(p.agent.to_string()),
            Value::from(p.state.as_str()),
            text_opt(p.reason.as_ref()),
            Value::from(p.since.unix_ms()),
        ];
        let insert = format!("INSERT INTO agent_presence ({COLS}) VALUES (?, ?, ?, ?, ?)");
        sql::execute(&mut tx, self.backend, WHAT, &insert, values).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))
    }

    pub async fn get_agent_presence(&self, org: OrgId, agent: AgentId) -> Result<Option<AgentPresence>, StoreError> {
        let mut conn = self.conn().await?;
        let sql = format!("SELECT {COLS} FROM agent_presence WHERE org_id = ? AND agent_id = ?");
        let args = vec![Value::from(org.to_string()), Value::from(agent.to_string())];
        let row = sql::fetch_optional(&mut conn, self.backend, WHAT, &sql, args).await?;
        row.map(|r| from_row(&RowReader::new(&r, "agent_presence"))).transpose()
    }

    /// Every agent's current state in the org (at most `limit`, capped at [`MAX_LIVE_ROWS`]),
    /// by agent id.
    pub async fn list_agent_presence(&self, org: OrgId, limit: u32) -> Result<Vec<AgentPresence>, StoreError> {
        let mut conn = self.conn().await?;
        let limit = limit.clamp(1, MAX_LIVE_ROWS);
        let sql = format!("SELECT {COLS} FROM agent_presence WHERE org_id = ? ORDER BY agent_id LIMIT {limit}");
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, vec![Value::from(org.to_string())]).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, "agent_presence"))).collect()
    }

    /// Contacts that arrived at or after `since` and are not `ended` (what a stopped center left
    /// behind), oldest first, at most `limit` (capped at [`MAX_LIVE_ROWS`]).
    pub async fn list_unfinished_contacts(
        &self,
        org: OrgId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        let limit = limit.clamp(1, MAX_LIVE_ROWS);
        let ids = {
            let mut conn = self.conn().await?;
            let sql = format!(
                "SELECT id FROM contacts WHERE org_id = ? AND arrived_at_ms >= ? AND status <> 'ended' \
                 ORDER BY arrived_at_ms, id LIMIT {limit}"
            );
            let args = vec![Value::from(org.to_string()), Value::from(since.unix_ms())];
            let rows = sql::fetch_all(&mut conn, self.backend, "contact", &sql, args).await?;
            rows.iter().map(|r| RowReader::new(r, "contacts").parse("id")).collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.get_contact(org, id).await? {
                out.push(c);
            }
        }
        Ok(out)
    }
}
