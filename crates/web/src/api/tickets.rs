//! Tickets: list by status or customer, create (numbered atomically by the store), update,
//! comment. Every signed-in role works tickets; comments are append-only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::{
    AgentId, ContactId, CustomerId, Ticket, TicketComment, TicketCommentId, TicketId, TicketPriority, TicketStatus,
};
use serde::Deserialize;
use serde_json::Value;

use super::{ApiQuery, PageQuery, S, found, paged, parse_id, text_field, views};
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::new_uuid;

/// Most characters of a ticket's subject.
const MAX_SUBJECT_CHARS: usize = 200;
/// Most characters of one comment.
const MAX_COMMENT_CHARS: usize = 10_000;
/// Most contacts linked to one ticket.
const MAX_LINKED_CONTACTS: usize = 100;

type JsonResult = Result<Json<Value>, Problem>;

#[derive(Deserialize)]
pub(crate) struct TicketFilter {
    status: Option<String>,
    customer: Option<String>,
}

/// `?customer=<id>` or `?status=<status>` (default `open`), newest first.
pub(crate) async fn list_tickets(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(f): ApiQuery<TicketFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let org = c.who.org;
    let page = match (&f.customer, &f.status) {
        (Some(customer), _) => {
            let id: CustomerId = customer.parse()?;
            app.store.list_tickets_by_customer(org, id, &q.page()).await?
        }
        (None, status) => {
            let status = status.as_deref().map_or(Ok(TicketStatus::Open), str::parse)?;
            app.store.list_tickets_by_status(org, status, &q.page()).await?
        }
    };
    Ok(Json(paged(page, views::ticket)))
}

#[derive(Deserialize)]
pub(crate) struct NewTicket {
    subject: String,
    priority: Option<String>,
    customer_id: Option<String>,
    assignee_id: Option<String>,
    #[serde(default)]
    contact_ids: Vec<String>,
}

pub(crate) async fn create_ticket(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let org = c.who.org;
    if body.contact_ids.len() > MAX_LINKED_CONTACTS {
        return Err(Problem::of(ProblemKind::Validation, format!("at most {MAX_LINKED_CONTACTS} contacts per ticket")));
    }
    let customer = body.customer_id.as_deref().map(str::parse::<CustomerId>).transpose()?;
    if let Some(id) = customer {
        found(app.store.get_customer(org, id).await?, "customer")
            .map_err(|_| Problem::validation("customer_id names no customer"))?;
    }
    let subject = text_field("subject", &body.subject, MAX_SUBJECT_CHARS, true)?;
    let now = app.clock.now();
    let ticket = Ticket {
        id: TicketId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?),
        org,
        number: app.store.next_ticket_number(org).await?,
        subject,
        status: TicketStatus::Open,
        priority: body.priority.as_deref().map_or(Ok(TicketPriority::Normal), str::parse)?,
        customer,
        assignee: body.assignee_id.as_deref().map(str::parse::<AgentId>).transpose()?.or(c.agent),
        contacts: body.contact_ids.iter().map(|s| s.parse::<ContactId>()).collect::<Result<_, _>>()?,
        created_at: now,
        updated_at: now,
    };
    app.store.insert_ticket(&ticket).await?;
    Ok((StatusCode::CREATED, Json(views::ticket(&ticket))))
}

pub(crate) async fn get_ticket(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: TicketId = parse_id(&id, "ticket")?;
    Ok(Json(views::ticket(&found(app.store.get_ticket(c.who.org, id).await?, "ticket")?)))
}

#[derive(Deserialize)]
pub(crate) struct TicketPatch {
    subject: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    contact_id: Option<String>,
}

/// Changes the fields given; `contact_id` links one more contact.
pub(crate) async fn update_ticket(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<TicketPatch>,
) -> JsonResult {
    let mut t = found(app.store.get_ticket(c.who.org, parse_id::<TicketId>(&id, "ticket")?).await?, "ticket")?;
    if let Some(subject) = &p.subject {
        t.subject = text_field("subject", subject, MAX_SUBJECT_CHARS, true)?;
    }
    if let Some(status) = &p.status {
        t.status = status.parse()?;
    }
    if let Some(priority) = &p.priority {
        t.priority = priority.parse()?;
    }
    if let Some(assignee) = &p.assignee_id {
        t.assignee = Some(assignee.parse()?);
    }
    if let Some(contact) = &p.contact_id {
        let contact: ContactId = contact.parse()?;
        if t.contacts.len() >= MAX_LINKED_CONTACTS {
            return Err(Problem::of(
                ProblemKind::Validation,
                format!("at most {MAX_LINKED_CONTACTS} contacts per ticket"),
            ));
        }
        if !t.contacts.contains(&contact) {
            t.contacts.push(contact);
        }
    }
    t.updated_at = app.clock.now();
    app.store.update_ticket(&t).await?;
    Ok(Json(views::ticket(&t)))
}

pub(crate) async fn list_comments(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let t = found(app.store.get_ticket(c.who.org, parse_id::<TicketId>(&id, "ticket")?).await?, "ticket")?;
    Ok(Json(paged(app.store.list_ticket_comments(c.who.org, t.id, &q.page()).await?, views::comment)))
}

#[derive(Deserialize)]
pub(crate) struct NewComment {
    body: String,
    #[serde(default)]
    internal: bool,
}

pub(crate) async fn add_comment(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let mut t = found(app.store.get_ticket(c.who.org, parse_id::<TicketId>(&id, "ticket")?).await?, "ticket")?;
    let comment = TicketComment {
        id: TicketCommentId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?),
        org: c.who.org,
        ticket: t.id,
        author: c.who.user,
        body: text_field("comment", &body.body, MAX_COMMENT_CHARS, true)?,
        internal: body.internal,
        at: app.clock.now(),
    };
    app.store.insert_ticket_comment(&comment).await?;
    t.updated_at = comment.at;
    app.store.update_ticket(&t).await?;
    Ok((StatusCode::CREATED, Json(views::comment(&comment))))
}
