//! Contacts (one interaction each) and their event logs. Contacts list newest first for a
//! customer's history, oldest first for a time range (reports); events list in time order.

use model::{
    AgentId, Contact, ContactEvent, ContactEventId, ContactId, CustomerId, Language, OrgId, ReasonCode, Timestamp,
};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table, to_json};
use crate::sql::{RowReader, Value, text_opt};

/// A span of time: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl TimeRange {
    pub fn new(from: Timestamp, to: Timestamp) -> Self {
        Self { from, to }
    }

    pub(crate) fn filter(&self, col: &str) -> (String, Vec<Value>) {
        (format!("{col} >= ? AND {col} < ?"), vec![Value::from(self.from.unix_ms()), Value::from(self.to.unix_ms())])
    }
}

pub(super) const CONTACTS: Table = Table {
    name: "contacts",
    what: "contact",
    cols: &[
        "id",
        "org_id",
        "channel",
        "direction",
        "status",
        "outcome",
        "customer_id",
        "from_address",
        "to_address",
        "queue_id",
        "agent_id",
        "issue_type",
        "language",
        "arrived_at_ms",
        "ivr_left_at_ms",
        "queued_at_ms",
        "offered_at_ms",
        "answered_at_ms",
        "ended_at_ms",
        "wrap_up_ended_at_ms",
        "ivr_path",
        "ivr_digits",
        "disposition",
        "notes",
        "recording_id",
        "ticket_id",
        "csat",
        "quality_mos",
        "transferred",
    ],
};

fn ms(t: Option<Timestamp>) -> Value {
    Value::Int(t.map(Timestamp::unix_ms))
}

fn values(c: &Contact) -> Vec<Value> {
    vec![
        Value::from(c.channel.as_str()),
        Value::from(c.direction.as_str()),
        Value::from(c.status.as_str()),
        Value::Text(c.outcome.map(|o| o.as_str().to_owned())),
        text_opt(c.customer.as_ref()),
        Value::from(c.from_address.clone()),
        Value::from(c.to_address.clone()),
        text_opt(c.queue.as_ref()),
        text_opt(c.agent.as_ref()),
        Value::Text(c.issue_type.clone()),
        text_opt(c.language.as_ref()),
        Value::from(c.arrived_at.unix_ms()),
        ms(c.ivr_left_at),
        ms(c.queued_at),
        ms(c.offered_at),
        ms(c.answered_at),
        ms(c.ended_at),
        ms(c.wrap_up_ended_at),
        Value::from(to_json(&c.ivr_path)),
        Value::from(c.ivr_digits.clone()),
        text_opt(c.disposition.as_ref()),
        Value::from(c.notes.clone()),
        text_opt(c.recording.as_ref()),
        text_opt(c.ticket.as_ref()),
        Value::Int(c.csat.map(i64::from)),
        Value::Float(c.quality_mos.map(f64::from)),
        Value::from(c.transferred),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<Contact, StoreError> {
    let csat = r.opt_uint::<u8>("csat")?;
    if let Some(score) = csat
        && !(1..=5).contains(&score)
    {
        return Err(r.invalid("csat", format!("{score} is not 1 to 5")));
    }
    Ok(Contact {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        channel: r.parse("channel")?,
        direction: r.parse("direction")?,
        status: r.parse("status")?,
        outcome: r.opt_parse("outcome")?,
        customer: r.opt_parse("customer_id")?,
        from_address: r.text("from_address")?,
        to_address: r.text("to_address")?,
        queue: r.opt_parse("queue_id")?,
        agent: r.opt_parse("agent_id")?,
        issue_type: r.opt_text("issue_type")?,
        language: r.opt_with("language", Language::parse)?,
        arrived_at: r.time("arrived_at_ms")?,
        ivr_left_at: r.opt_time("ivr_left_at_ms")?,
        queued_at: r.opt_time("queued_at_ms")?,
        offered_at: r.opt_time("offered_at_ms")?,
        answered_at: r.opt_time("answered_at_ms")?,
        ended_at: r.opt_time("ended_at_ms")?,
        wrap_up_ended_at: r.opt_time("wrap_up_ended_at_ms")?,
        ivr_path: r.json("ivr_path")?,
        ivr_digits: r.text("ivr_digits")?,
        disposition: r.opt_with("disposition", ReasonCode::parse)?,
        notes: r.text("notes")?,
        recording: r.opt_parse("recording_id")?,
        ticket: r.opt_parse("ticket_id")?,
        csat,
        // Stored as a double from an f32; narrowing back is exact.
        quality_mos: r.opt_float("quality_mos")?.map(|v| v as f32),
        transferred: r.bool("transferred")?,
    })
}

const EVENTS: Table = Table {
    name: "contact_events",
    what: "contact event",
    cols: &["id", "org_id", "contact_id", "at_ms", "kind", "agent_id", "queue_id", "detail"],
};

fn event_from_row(r: &RowReader<'_>) -> Result<ContactEvent, StoreError> {
    Ok(ContactEvent {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        at: r.time("at_ms")?,
        kind: r.parse("kind")?,
        agent: r.opt_parse("agent_id")?,
        queue: r.opt_parse("queue_id")?,
        detail: r.text("detail")?,
    })
}

/// Every column of a contact's row, id and org first, in `CONTACTS.cols` order.
pub(super) fn row_values(contact: &Contact) -> Vec<Value> {
    let mut v = vec![Value::from(contact.id.to_string()), Value::from(contact.org.to_string())];
    v.extend(values(contact));
    v
}

impl Store {
    pub async fn insert_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.insert_row(&CONTACTS, row_values(contact)).await
    }

    /// Stores every field of the contact as it is now (status, timestamps, disposition, ...).
    pub async fn update_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.update_row(&CONTACTS, contact.org, contact.id.to_string(), values(contact)).await
    }

    pub async fn get_contact(&self, org: OrgId, id: ContactId) -> Result<Option<Contact>, StoreError> {
        self.get_row(&CONTACTS, org, id.to_string(), from_row).await
    }

    /// A customer's contacts on every channel, newest first (the screen-pop history).
    pub async fn list_contacts_by_customer(
        &self,
        org: OrgId,
        customer: CustomerId,
        page: &Page,
    ) -> Result<PageOf<Contact>, StoreError> {
        let filter = ("customer_id = ?", vec![Value::from(customer.to_string())]);
        self.list_rows(&CONTACTS, org, Some(filter), Keyset::TimeDesc("arrived_at_ms"), page, from_row).await
    }

    /// Contacts that arrived in `range`, oldest first (reports).
    pub async fn list_contacts_in_range(
        &self,
        org: OrgId,
        range: TimeRange,
        page: &Page,
    ) -> Result<PageOf<Contact>, StoreError> {
        let (cond, args) = range.filter("arrived_at_ms");
        self.list_rows(&CONTACTS, org, Some((&cond, args)), Keyset::TimeAsc("arrived_at_ms"), page, from_row).await
    }

    /// An agent's contacts that arrived in `range`, oldest first (agent reports).
    pub async fn list_contacts_by_agent(
        &self,
        org: OrgId,
        agent: AgentId,
        range: TimeRange,
        page: &Page,
    ) -> Result<PageOf<Contact>, StoreError> {
        let (cond, mut args) = range.filter("arrived_at_ms");
        let cond = format!("agent_id = ? AND {cond}");
        args.insert(0, Value::from(agent.to_string()));
        self.list_rows(&CONTACTS, org, Some((&cond, args)), Keyset::TimeAsc("arrived_at_ms"), page, from_row).await
    }

    /// Appends to a contact's log. The log is append-only: there is no update.
    pub async fn insert_contact_event(&self, event: &ContactEvent) -> Result<(), StoreError> {
        let v = vec![
            Value::from(event.id.to_string()),
            Value::from(event.org.to_string()),
            Value::from(event.contact.to_string()),
            Value::from(event.at.unix_ms()),
            Value::from(event.kind.as_str()),
            text_opt(event.agent.as_ref()),
            text_opt(event.queue.as_ref()),
            Value::from(event.detail.clone()),
        ];
        self.insert_row(&EVENTS, v).await
    }

    pub async fn get_contact_event(&self, org: OrgId, id: ContactEventId) -> Result<Option<ContactEvent>, StoreError> {
        self.get_row(&EVENTS, org, id.to_string(), event_from_row).await
    }

    /// A contact's log in time order.
    pub async fn list_contact_events(
        &self,
        org: OrgId,
        contact: ContactId,
        page: &Page,
    ) -> Result<PageOf<ContactEvent>, StoreError> {
        let filter = ("contact_id = ?", vec![Value::from(contact.to_string())]);
        self.list_rows(&EVENTS, org, Some(filter), Keyset::TimeAsc("at_ms"), page, event_from_row).await
    }
}
