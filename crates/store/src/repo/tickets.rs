//! Tickets, their comments, and the per-org ticket counter. Ticket numbers are unique per org;
//! [`Store::next_ticket_number`] hands them out atomically.

use model::{ContactId, CustomerId, OrgId, Ticket, TicketComment, TicketCommentId, TicketId, TicketStatus};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table, to_json};
use crate::sql::{self, RowReader, Value, text_opt};

const TICKETS: Table = Table {
    name: "tickets",
    what: "ticket",
    cols: &[
        "id",
        "org_id",
        "number",
        "subject",
        "status",
        "priority",
        "customer_id",
        "assignee_id",
        "contacts",
        "created_at_ms",
        "updated_at_ms",
    ],
};

/// How many times [`Store::next_ticket_number`] retries when another writer created the org's
/// counter at the same moment.
const MAX_TICKET_NUMBER_ATTEMPTS: u32 = 5;

fn values(t: &Ticket) -> Vec<Value> {
    let contacts: Vec<String> = t.contacts.iter().map(ToString::to_string).collect();
    vec![
        Value::from(t.number),
        Value::from(t.subject.clone()),
        Value::from(t.status.as_str()),
        Value::from(t.priority.as_str()),
        text_opt(t.customer.as_ref()),
        text_opt(t.assignee.as_ref()),
        Value::from(to_json(&contacts)),
        Value::from(t.created_at.unix_ms()),
        Value::from(t.updated_at.unix_ms()),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<Ticket, StoreError> {
    let contacts = r
        .json::<Vec<String>>("contacts")?
        .iter()
        .map(|c| c.parse::<ContactId>().map_err(|e| r.invalid("contacts", e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ticket {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        number: r.int("number")?,
        subject: r.text("subject")?,
        status: r.parse("status")?,
        priority: r.parse("priority")?,
        customer: r.opt_parse("customer_id")?,
        assignee: r.opt_parse("assignee_id")?,
        contacts,
        created_at: r.time("created_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
    })
}

const COMMENTS: Table = Table {
    name: "ticket_comments",
    what: "ticket comment",
    cols: &["id", "org_id", "ticket_id", "author_id", "body", "internal", "at_ms"],
};

fn comment_from_row(r: &RowReader<'_>) -> Result<TicketComment, StoreError> {
    Ok(TicketComment {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        ticket: r.parse("ticket_id")?,
        author: r.opt_parse("author_id")?,
        body: r.text("body")?,
        internal: r.bool("internal")?,
        at: r.time("at_ms")?,
    })
}

impl Store {
    /// [`StoreError::Conflict`] when the id or the number is taken in the org.
    pub async fn insert_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let mut v = vec![Value::from(ticket.id.to_string()), Value::from(ticket.org.to_string())];
        v.extend(values(ticket));
        self.insert_row(&TICKETS, v).await
    }

    pub async fn update_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        self.update_row(&TICKETS, ticket.org, ticket.id.to_string(), values(ticket)).await
    }

    pub async fn get_ticket(&self, org: OrgId, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.get_row(&TICKETS, org, id.to_string(), from_row).await
    }

    /// The ticket people quote by number.
    pub async fn find_ticket_by_number(&self, org: OrgId, number: i64) -> Result<Option<Ticket>, StoreError> {
        self.find_one(&TICKETS, org, "number = ?", vec![Value::from(number)], from_row).await
    }

    /// A customer's tickets, newest first.
    pub async fn list_tickets_by_customer(
        &self,
        org: OrgId,
        customer: CustomerId,
        page: &Page,
    ) -> Result<PageOf<Ticket>, StoreError> {
        let filter = ("customer_id = ?", vec![Value::from(customer.to_string())]);
        self.list_rows(&TICKETS, org, Some(filter), Keyset::TimeDesc("created_at_ms"), page, from_row).await
    }

    /// The org's tickets in one status, newest first.
    pub async fn list_tickets_by_status(
        &self,
        org: OrgId,
        status: TicketStatus,
        page: &Page,
    ) -> Result<PageOf<Ticket>, StoreError> {
        let filter = ("status = ?", vec![Value::from(status.as_str())]);
        self.list_rows(&TICKETS, org, Some(filter), Keyset::TimeDesc("created_at_ms"), page, from_row).await
    }

    /// The next free ticket number of the org: 1 for its first ticket (or one past the highest
    /// number already stored), then one more on every call. Atomic: concurrent callers never get
    /// the same number, on any backend.
    pub async fn next_ticket_number(&self, org: OrgId) -> Result<i64, StoreError> {
        let mut last_err = None;
        for _ in 0..MAX_TICKET_NUMBER_ATTEMPTS {
            match self.try_next_ticket_number(org).await {
                Ok(n) => return Ok(n),
                // Another caller created the counter first, or the database broke a deadlock
                // between two first callers: the next attempt bumps the counter.
                Err(e @ (StoreError::Conflict { .. } | StoreError::Busy(_))) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| StoreError::Database("ticket counter kept conflicting".into())))
    }

    async fn try_next_ticket_number(&self, org: OrgId) -> Result<i64, StoreError> {
        let what = "ticket number";
        let org_id = Value::from(org.to_string());
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(what, e))?;
        let bump = "UPDATE ticket_numbers SET last_number = last_number + 1 WHERE org_id = ?";
        if sql::execute(&mut tx, self.backend, what, bump, vec![org_id.clone()]).await? == 0 {
            let seed = "INSERT INTO ticket_numbers (org_id, last_number) \
                        SELECT ?, COALESCE(MAX(number), 0) + 1 FROM tickets WHERE org_id = ?";
            sql::execute(&mut tx, self.backend, what, seed, vec![org_id.clone(), org_id.clone()]).await?;
        }
        let read = "SELECT last_number FROM ticket_numbers WHERE org_id = ?";
        let row = sql::fetch_optional(&mut tx, self.backend, what, read, vec![org_id]).await?;
        let n = match row {
            Some(row) => RowReader::new(&row, "ticket_numbers").int("last_number")?,
            None => return Err(StoreError::Database("ticket counter row vanished".into())),
        };
        tx.commit().await.map_err(|e| StoreError::from_query(what, e))?;
        Ok(n)
    }

    /// Comments are append-only.
    pub async fn insert_ticket_comment(&self, comment: &TicketComment) -> Result<(), StoreError> {
        let v = vec![
            Value::from(comment.id.to_string()),
            Value::from(comment.org.to_string()),
            Value::from(comment.ticket.to_string()),
            text_opt(comment.author.as_ref()),
            Value::from(comment.body.clone()),
            Value::from(comment.internal),
            Value::from(comment.at.unix_ms()),
        ];
        self.insert_row(&COMMENTS, v).await
    }

    pub async fn get_ticket_comment(
        &self,
        org: OrgId,
        id: TicketCommentId,
    ) -> Result<Option<TicketComment>, StoreError> {
        self.get_row(&COMMENTS, org, id.to_string(), comment_from_row).await
    }

    /// A ticket's comments, oldest first.
    pub async fn list_ticket_comments(
        &self,
        org: OrgId,
        ticket: TicketId,
        page: &Page,
    ) -> Result<PageOf<TicketComment>, StoreError> {
        let filter = ("ticket_id = ?", vec![Value::from(ticket.to_string())]);
        self.list_rows(&COMMENTS, org, Some(filter), Keyset::TimeAsc("at_ms"), page, comment_from_row).await
    }
}
