//! The JSON shapes of entities as the API shows them. Secrets never appear: not a password hash,
//! not a SIP secret, not a token digest. Times are unix milliseconds (`*_ms`), durations `*_ms`.

use model::*;
use serde_json::{Value, json};

use crate::authrepo::{ApiToken, AuditEntry};

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::unix_ms)
}

fn s<T: ToString>(v: Option<&T>) -> Option<String> {
    v.map(ToString::to_string)
}

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id.to_string(), "username": u.username.as_str(), "display_name": u.display_name,
        "role": u.role.as_str(), "email": s(u.email.as_ref()), "language": u.language.as_str(),
        "active": u.active, "created_at_ms": u.created_at.unix_ms(),
    })
}

pub fn agent(a: &Agent) -> Value {
    json!({
        "id": a.id.to_string(), "user_id": a.user.to_string(), "extension": a.extension.as_str(),
        "display_name": a.display_name,
        "skills": a.skills.iter().map(|s| json!({"skill": s.skill.as_str(), "proficiency": s.proficiency.get()})).collect::<Vec<_>>(),
        "languages": a.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "capacity": {
            "voice": a.capacity.voice, "chat": a.capacity.chat, "email": a.capacity.email,
            "social": a.capacity.social, "voice_blocks_others": a.capacity.voice_blocks_others,
        },
        "queues": a.queues.iter().map(|m| json!({"queue_id": m.queue.to_string(), "penalty": m.penalty})).collect::<Vec<_>>(),
        "created_at_ms": a.created_at.unix_ms(),
    })
}

pub fn skill(s: &Skill) -> Value {
    json!({"id": s.id.to_string(), "name": s.name.as_str(), "description": s.description})
}

pub fn queue(q: &Queue) -> Value {
    json!({
        "id": q.id.to_string(), "name": q.name.as_str(), "display_name": q.display_name,
        "strategy": q.strategy.as_str(),
        "required_skills": q.required_skills.iter().map(|r| json!({"skill": r.skill.as_str(), "min_proficiency": r.min_proficiency.get()})).collect::<Vec<_>>(),
        "service_level": {"percent": q.service_level.percent, "threshold_ms": q.service_level.threshold.as_ms()},
        "wrap_up_ms": q.wrap_up.as_ms(), "ring_timeout_ms": q.ring_timeout.as_ms(),
        "max_waiting": q.max_waiting, "max_wait_ms": q.max_wait.as_ms(),
        "overflow": q.overflow.as_ref().map(|o| json!({
            "to": o.to.to_string(), "after_ms": o.after.map(DurationMs::as_ms),
            "when_ewt_exceeds_ms": o.when_ewt_exceeds.map(DurationMs::as_ms),
        })),
        "created_at_ms": q.created_at.unix_ms(),
    })
}

pub fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id.to_string(), "name": c.name,
        "phones": c.phones.iter().map(E164::as_str).collect::<Vec<_>>(),
        "emails": c.emails.iter().map(Email::as_str).collect::<Vec<_>>(),
        "social_ids": c.social_ids.iter().map(|s| json!({"channel": s.channel.as_str(), "id": s.id})).collect::<Vec<_>>(),
        "vip": c.vip.as_str(), "attributes": c.attributes, "language": s(c.language.as_ref()),
        "created_at_ms": c.created_at.unix_ms(),
    })
}

pub fn contact(c: &Contact) -> Value {
    json!({
        "id": c.id.to_string(), "channel": c.channel.as_str(), "direction": c.direction.as_str(),
        "status": c.status.as_str(), "outcome": c.outcome.map(ContactOutcome::as_str),
        "customer_id": s(c.customer.as_ref()), "from": c.from_address, "to": c.to_address,
        "queue_id": s(c.queue.as_ref()), "agent_id": s(c.agent.as_ref()), "issue_type": c.issue_type,
        "language": s(c.language.as_ref()), "arrived_at_ms": c.arrived_at.unix_ms(),
        "queued_at_ms": ms(c.queued_at), "offered_at_ms": ms(c.offered_at), "answered_at_ms": ms(c.answered_at),
        "ended_at_ms": ms(c.ended_at), "wrap_up_ended_at_ms": ms(c.wrap_up_ended_at),
        "ivr_path": c.ivr_path, "disposition": s(c.disposition.as_ref()), "notes": c.notes,
        "recording_id": s(c.recording.as_ref()), "ticket_id": s(c.ticket.as_ref()), "csat": c.csat,
        "quality_mos": c.quality_mos, "transferred": c.transferred,
    })
}

pub fn contact_event(e: &ContactEvent) -> Value {
    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    json!({
        "id": e.id.to_string(), "contact_id": e.contact.to_string(), "at_ms": e.at.unix_ms(),
        "kind": e.kind.as_str(), "agent_id": s(e.agent.as_ref()), "queue_id": s(e.queue.as_ref()), "detail": detail,
    })
}

pub fn recording(r: &Recording) -> Value {
    json!({
        "id": r.id.to_string(), "contact_id": r.contact.to_string(), "started_at_ms": r.started_at.unix_ms(),
        "duration_ms": r.duration.as_ms(), "size_bytes": r.size_bytes, "sha256": r.sha256,
        "channels": r.channels, "sample_rate_hz": r.sample_rate_hz, "legal_hold": r.legal_hold,
        "deleted_at_ms": ms(r.deleted_at),
    })
}

pub fn ticket(t: &Ticket) -> Value {
    json!({
        "id": t.id.to_string(), "number": t.number, "subject": t.subject, "status": t.status.as_str(),
        "priority": t.priority.as_str(), "customer_id": s(t.customer.as_ref()), "assignee_id": s(t.assignee.as_ref()),
        "contact_ids": t.contacts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "created_at_ms": t.created_at.unix_ms(), "updated_at_ms": t.updated_at.unix_ms(),
    })
}

pub fn comment(c: &TicketComment) -> Value {
    json!({
        "id": c.id.to_string(), "ticket_id": c.ticket.to_string(), "author_id": s(c.author.as_ref()),
        "body": c.body, "internal": c.internal, "at_ms": c.at.unix_ms(),
    })
}

pub fn order(o: &Order) -> Value {
    json!({
        "id": o.id.to_string(), "number": o.number, "customer_id": o.customer.to_string(),
        "status": o.status.as_str(), "total_cents": o.total_cents, "currency": o.currency,
        "placed_at_ms": o.placed_at.unix_ms(), "updated_at_ms": o.updated_at.unix_ms(),
    })
}

pub fn api_token(t: &ApiToken) -> Value {
    json!({
        "id": t.id.to_string(), "name": t.name, "role": t.role.as_str(),
        "created_by": s(t.created_by.as_ref()), "created_at_ms": t.created_at.unix_ms(),
        "revoked_at_ms": ms(t.revoked_at),
    })
}

pub fn audit(e: &AuditEntry) -> Value {
    json!({
        "id": e.id.to_string(), "at_ms": e.at.unix_ms(), "actor": e.actor, "actor_user_id": s(e.actor_user.as_ref()),
        "role": e.role.as_str(), "action": e.action, "method": e.method, "path": e.path,
        "status": e.status, "client": e.client,
    })
}
