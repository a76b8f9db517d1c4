//! The agent state log: one row per change, with its reason and who forced it. Append-only.

use model::{AgentId, AgentStateChange, AgentStateChangeId, OrgId, ReasonCode};

use crate::Store;
use crate::TimeRange;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value, text_opt};

const CHANGES: Table = Table {
    name: "agent_state_changes",
    what: "agent state change",
    cols: &["id", "org_id", "agent_id", "at_ms", "from_state", "to_state", "reason", "forced_by"],
};

fn from_row(r: &RowReader<'_>) -> Result<AgentStateChange, StoreError> {
    Ok(AgentStateChange {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        agent: r.parse("agent_id")?,
        at: r.time("at_ms")?,
        from: r.parse("from_state")?,
        to: r.parse("to_state")?,
        reason: r.opt_with("reason", ReasonCode::parse)?,
        forced_by: r.opt_parse("forced_by")?,
    })
}

impl Store {
    pub async fn insert_agent_state_change(&self, change: &AgentStateChange) -> Result<(), StoreError> {
        let v = vec![
            Value::from(change.id.to_string()),
            Value::from(change.org.to_string()),
            Value::from(change.agent.to_string()),
            Value::from(change.at.unix_ms()),
            Value::from(change.from.as_str()),
            Value::from(change.to.as_str()),
            text_opt(change.reason.as_ref()),
            text_opt(change.forced_by.as_ref()),
        ];
        self.insert_row(&CHANGES, v).await
    }

    pub async fn get_agent_state_change(
        &self,
        org: OrgId,
        id: AgentStateChangeId,
    ) -> Result<Option<AgentStateChange>, StoreError> {
        self.get_row(&CHANGES, org, id.to_string(), from_row).await
    }

    /// An agent's state changes in `range`, oldest first.
    pub async fn list_agent_state_changes(
        &self,
        org: OrgId,
        agent: AgentId,
        range: TimeRange,
        page: &Page,
    ) -> Result<PageOf<AgentStateChange>, StoreError> {
        let (cond, mut args) = range.filter("at_ms");
        let cond = format!("agent_id = ? AND {cond}");
        args.insert(0, Value::from(agent.to_string()));
        self.list_rows(&CHANGES, org, Some((&cond, args)), Keyset::TimeAsc("at_ms"), page, from_row).await
    }

    /// Every agent's state changes in `range`, oldest first (the wallboard's and reports' source).
    pub async fn list_agent_state_changes_in_range(
        &self,
        org: OrgId,
        range: TimeRange,
        page: &Page,
    ) -> Result<PageOf<AgentStateChange>, StoreError> {
        let (cond, args) = range.filter("at_ms");
        self.list_rows(&CHANGES, org, Some((&cond, args)), Keyset::TimeAsc("at_ms"), page, from_row).await
    }
}
