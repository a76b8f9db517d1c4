//! Customer merges (migration 0015): one customer found twice — by phone on a call, by email in
//! the mailbox, by WeChat openid — becomes one. [`Store::merge_customers`] moves everything that
//! names the merged customer (phones, emails, social ids and social senders, contacts — and
//! through them chat conversations, email and social messages —, tickets and orders) to the surviving customer, keeps the
//! higher VIP tier, deletes the merged row and leaves a `customer_merges` marker that answers
//! lookups of the old id. All in one transaction: a merge happens whole or not at all.
//!
//! Never: merge a customer into itself, merge an already merged customer, or leave a marker
//! pointing at a customer that no longer exists (a later merge of the survivor re-points it).

use model::{CustomerId, OrgId, SocialId, Timestamp, VipTier};
use sqlx::AnyConnection;

use crate::Store;
use crate::error::StoreError;
use crate::repo::customers::{CUSTOMERS, attach_contact_points, from_row, values};
use crate::repo::update_row_on;
use crate::sql::{self, RowReader, Value};

/// Longest `merged_by` (who merged) and stored former name kept, in characters.
pub const MAX_MERGE_TEXT_CHARS: usize = 200;

/// The marker a merge leaves for the merged customer's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMerge {
    pub org: OrgId,
    /// The customer that no longer exists.
    pub from: CustomerId,
    /// The customer it lives on as (re-pointed by later merges, so it always exists).
    pub into: CustomerId,
    /// The merged customer's name at the time of the merge.
    pub from_name: String,
    pub merged_at: Timestamp,
    /// Who merged (the actor as the audit log names them).
    pub merged_by: String,
}

/// What one merge moved onto the surviving customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub phones: u64,
    pub emails: u64,
    pub social_ids: u64,
    pub contacts: u64,
    pub tickets: u64,
    pub orders: u64,
    /// Social sender ids (WeChat openids, ...) mapped to the customer.
    pub social_senders: u64,
}

/// Gold above silver above normal.
fn vip_rank(v: VipTier) -> u8 {
    match v {
        VipTier::Gold => 2,
        VipTier::Silver => 1,
        VipTier::Normal => 0,
    }
}

fn merge_from_row(r: &RowReader<'_>) -> Result<CustomerMerge, StoreError> {
    Ok(CustomerMerge {
        org: r.parse("org_id")?,
        from: r.parse("from_id")?,
        into: r.parse("into_id")?,
        from_name: r.text("from_name")?,
        merged_at: r.time("merged_at_ms")?,
        merged_by: r.text("merged_by")?,
    })
}

async fn merge_marker(
    conn: &mut AnyConnection,
    store: &Store,
    org: OrgId,
    id: CustomerId,
) -> Result<Option<CustomerMerge>, StoreError> {
    let sql = "SELECT org_id, from_id, into_id, from_name, merged_at_ms, merged_by FROM customer_merges \
               WHERE org_id = ? AND from_id = ?";
    let args = vec![Value::from(org.to_string()), Value::from(id.to_string())];
    let row = sql::fetch_optional(conn, store.backend, "customer merge", sql, args).await?;
    row.map(|r| merge_from_row(&RowReader::new(&r, "customer_merges"))).transpose()
}

fn already_merged(m: &CustomerMerge) -> StoreError {
    StoreError::Conflict {
        what: "customer merge",
        detail: format!("customer {} was already merged into customer {}", m.from, m.into),
    }
}

/// Re-points every row of `table` that names `from` in `col` to `into`; the number of rows.
async fn repoint(
    conn: &mut AnyConnection,
    store: &Store,
    table: &str,
    col: &str,
    org: OrgId,
    from: CustomerId,
    into: CustomerId,
) -> Result<u64, StoreError> {
    let sql = format!("UPDATE {table} SET {col} = ? WHERE org_id = ? AND {col} = ?");
    let args = vec![into.to_string().into(), org.to_string().into(), from.to_string().into()];
    sql::execute(conn, store.backend, "customer merge", &sql, args).await
}

impl Store {
    /// Merges customer `from` into customer `into` (both of `org`), in one transaction: phones
    /// and emails move (after the survivor's own, in their order), social ids are joined, the
    /// survivor keeps its attributes and language and takes the merged customer's where it has
    /// none, the higher VIP tier wins, contacts, tickets and orders are re-pointed, the merged row
    /// is deleted and a [`CustomerMerge`] marker records it. Returns the surviving customer as
    /// stored and what moved.
    ///
    /// [`StoreError::InvalidInput`] for a merge into itself or a `merged_by` too long;
    /// [`StoreError::Conflict`] when either customer was already merged away;
    /// [`StoreError::NotFound`] when either does not exist in the org.
    pub async fn merge_customers(
        &self,
        org: OrgId,
        into: CustomerId,
        from: CustomerId,
        at: Timestamp,
        merged_by: &str,
    ) -> Result<(model::Customer, MergeCounts), StoreError> {
        if into == from {
            let reason = "a customer cannot be merged into itself".to_owned();
            return Err(StoreError::InvalidInput { what: "customer merge", reason });
        }
        if merged_by.chars().count() > MAX_MERGE_TEXT_CHARS {
            let reason = format!("merged_by is longer than {MAX_MERGE_TEXT_CHARS} characters");
            return Err(StoreError::InvalidInput { what: "customer merge", reason });
        }
        let what = "customer merge";
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(what, e))?;
        // Take the write locks on both rows first (the whole database on SQLite), so two merges
        // of the same customers run one after the other and the second sees the first's result.
        let lock = "UPDATE customers SET name = name WHERE org_id = ? AND id IN (?, ?)";
        let args = vec![org.to_string().into(), into.to_string().into(), from.to_string().into()];
        sql::execute(&mut tx, self.backend, what, lock, args).await?;
        for id in [from, into] {
            if let Some(m) = merge_marker(&mut tx, self, org, id).await? {
                return Err(already_merged(&m));
            }
        }
        let sql = format!("SELECT {} FROM customers WHERE org_id = ? AND id IN (?, ?)", CUSTOMERS.cols.join(", "));
        let args = vec![org.to_string().into(), into.to_string().into(), from.to_string().into()];
        let rows = sql::fetch_all(&mut tx, self.backend, "customer", &sql, args).await?;
        let mut both =
            rows.iter().map(|r| from_row(&RowReader::new(r, CUSTOMERS.name))).collect::<Result<Vec<_>, _>>()?;
        attach_contact_points(&mut tx, self, org, &mut both).await?;
        let take = |id: CustomerId, both: &mut Vec<model::Customer>| match both.iter().position(|c| c.id == id) {
            Some(i) => Ok(both.swap_remove(i)),
            None => Err(StoreError::NotFound { what: "customer", key: id.to_string() }),
        };
        let mut survivor = take(into, &mut both)?;
        let merged = take(from, &mut both)?;

        let mut counts = MergeCounts {
            phones: merged.phones.len() as u64,
            emails: merged.emails.len() as u64,
            ..MergeCounts::default()
        };
        if vip_rank(merged.vip) > vip_rank(survivor.vip) {
            survivor.vip = merged.vip;
        }
        for s in &merged.social_ids {
            if !survivor.social_ids.contains(s) {
                survivor.social_ids.push(SocialId { channel: s.channel, id: s.id.clone() });
                counts.social_ids += 1;
            }
        }
        for (k, v) in &merged.attributes {
            survivor.attributes.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if survivor.language.is_none() {
            survivor.language = merged.language.clone();
        }
        update_row_on(&mut tx, self.backend, &CUSTOMERS, org, into.to_string(), values(&survivor)).await?;

        // Phones and emails keep their (org, value) keys; they only change hands, after the
        // survivor's own.
        for (table, offset) in [("customer_phones", survivor.phones.len()), ("customer_emails", survivor.emails.len())]
        {
            let sql = format!(
                "UPDATE {table} SET customer_id = ?, position = position + ? WHERE org_id = ? AND customer_id = ?"
            );
            let args = vec![
                into.to_string().into(),
                Value::from(offset as i64),
                org.to_string().into(),
                from.to_string().into(),
            ];
            sql::execute(&mut tx, self.backend, what, &sql, args).await?;
        }
        counts.contacts = repoint(&mut tx, self, "contacts", "customer_id", org, from, into).await?;
        counts.tickets = repoint(&mut tx, self, "tickets", "customer_id", org, from, into).await?;
        counts.orders = repoint(&mut tx, self, "orders", "customer_id", org, from, into).await?;
        // WeChat openids and other social sender ids answer for the survivor. Their table comes
        // with migration 0014, which may land after this one (versions are assigned ahead).
        if crate::migrate::table_exists(&mut tx, self.backend, "social_senders").await? {
            counts.social_senders = repoint(&mut tx, self, "social_senders", "customer_id", org, from, into).await?;
        }
        // Customers merged into `from` earlier now live on as `into`.
        repoint(&mut tx, self, "customer_merges", "into_id", org, from, into).await?;

        let from_name: String = merged.name.chars().take(MAX_MERGE_TEXT_CHARS).collect();
        let sql = "INSERT INTO customer_merges (org_id, from_id, into_id, from_name, merged_at_ms, merged_by) \
                   VALUES (?, ?, ?, ?, ?, ?)";
        let args = vec![
            org.to_string().into(),
            from.to_string().into(),
            into.to_string().into(),
            from_name.into(),
            Value::from(at.unix_ms()),
            merged_by.into(),
        ];
        sql::execute(&mut tx, self.backend, what, sql, args).await?;
        let sql = "DELETE FROM customers WHERE org_id = ? AND id = ?";
        sql::execute(&mut tx, self.backend, what, sql, vec![org.to_string().into(), from.to_string().into()]).await?;
        tx.commit().await.map_err(|e| StoreError::from_query(what, e))?;

        survivor.phones.extend(merged.phones);
        survivor.emails.extend(merged.emails);
        Ok((survivor, counts))
    }

    /// The marker of a customer merged away, if `id` is one (its `into` always exists).
    pub async fn customer_merged_into(&self, org: OrgId, id: CustomerId) -> Result<Option<CustomerMerge>, StoreError> {
        let mut conn = self.conn().await?;
        merge_marker(&mut conn, self, org, id).await
    }
}
