//! Admin configuration of queues (strategy, required skills, service level, timers, limits,
//! overflow) and of agents (name, languages, capacity, queue memberships). Everything a body
//! names must exist in the org; every number is bounded.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::{
    Agent, AgentId, ChannelCapacity, DurationMs, Language, OrgId, Overflow, Proficiency, Queue, QueueId,
    QueueMembership, QueueName, ServiceLevelTarget, SkillName, SkillRequirement,
};
use serde::Deserialize;
use serde_json::Value;

use super::{S, found, parse_id, text_field, views};
use crate::AppState;
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::new_uuid;

/// Longest a queue may ring one agent.
const MAX_RING_TIMEOUT_MS: u64 = 300_000;
/// Longest wrap-up time.
const MAX_WRAP_UP_MS: u64 = 3_600_000;
/// Longest a contact may be kept waiting.
const MAX_WAIT_MS: u64 = 24 * 3_600_000;
/// Most contacts one queue may hold.
const MAX_WAITING_CONTACTS: u32 = 10_000;
/// Most required skills per queue, languages and queue memberships per agent.
const MAX_LIST_ITEMS: usize = 32;
/// Most characters of a display name.
const MAX_DISPLAY_NAME_CHARS: usize = 200;

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Validation, detail)
}

fn bounded_ms(what: &str, ms: u64, max: u64) -> Result<DurationMs, Problem> {
    if ms > max { Err(invalid(format!("{what} must be at most {max} ms"))) } else { Ok(DurationMs::from_ms(ms)) }
}

#[derive(Deserialize)]
pub(crate) struct Requirement {
    skill: String,
    min_proficiency: i64,
}

#[derive(Deserialize)]
pub(crate) struct ServiceLevel {
    percent: u8,
    threshold_ms: u64,
}

#[derive(Deserialize)]
pub(crate) struct OverflowBody {
    to: String,
    after_ms: Option<u64>,
    when_ewt_exceeds_ms: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct QueueBody {
    name: String,
    display_name: String,
    strategy: String,
    #[serde(default)]
    required_skills: Vec<Requirement>,
    service_level: ServiceLevel,
    wrap_up_ms: u64,
    ring_timeout_ms: u64,
    max_waiting: u32,
    max_wait_ms: u64,
    overflow: Option<OverflowBody>,
}

async fn requirements(app: &AppState, org: OrgId, reqs: &[Requirement]) -> Result<Vec<SkillRequirement>, Problem> {
    if reqs.len() > MAX_LIST_ITEMS {
        return Err(invalid(format!("at most {MAX_LIST_ITEMS} required skills")));
    }
    let mut out = Vec::with_capacity(reqs.len());
    for r in reqs {
        let skill = SkillName::parse(&r.skill)?;
        if app.store.find_skill_by_name(org, &skill).await?.is_none() {
            return Err(invalid(format!("skill {skill} does not exist")));
        }
        out.push(SkillRequirement { skill, min_proficiency: Proficiency::new(r.min_proficiency)? });
    }
    Ok(out)
}

async fn overflow(
    app: &AppState,
    org: OrgId,
    own: QueueId,
    o: Option<&OverflowBody>,
) -> Result<Option<Overflow>, Problem> {
    let Some(o) = o else { return Ok(None) };
    let to: QueueId = o.to.parse()?;
    if to == own || app.store.get_queue(org, to).await?.is_none() {
        return Err(invalid("overflow.to must name another queue of this org"));
    }
    if o.after_ms.is_none() && o.when_ewt_exceeds_ms.is_none() {
        return Err(invalid("overflow needs after_ms, when_ewt_exceeds_ms or both"));
    }
    let after = o.after_ms.map(|ms| bounded_ms("overflow.after_ms", ms, MAX_WAIT_MS)).transpose()?;
    let ewt =
        o.when_ewt_exceeds_ms.map(|ms| bounded_ms("overflow.when_ewt_exceeds_ms", ms, MAX_WAIT_MS)).transpose()?;
    Ok(Some(Overflow { after, when_ewt_exceeds: ewt, to }))
}

/// Builds the queue `id` from a body, checking everything it names and every bound.
async fn queue_from(
    app: &AppState,
    org: OrgId,
    id: QueueId,
    b: &QueueBody,
    created: model::Timestamp,
) -> Result<Queue, Problem> {
    if b.max_waiting > MAX_WAITING_CONTACTS {
        return Err(invalid(format!("max_waiting must be at most {MAX_WAITING_CONTACTS}")));
    }
    if b.ring_timeout_ms == 0 {
        return Err(invalid("ring_timeout_ms must be more than zero"));
    }
    Ok(Queue {
        id,
        org,
        name: QueueName::parse(&b.name)?,
        display_name: text_field("display name", &b.display_name, MAX_DISPLAY_NAME_CHARS, true)?,
        strategy: b.strategy.parse()?,
        required_skills: requirements(app, org, &b.required_skills).await?,
        service_level: ServiceLevelTarget::new(
            b.service_level.percent,
            bounded_ms("service_level.threshold_ms", b.service_level.threshold_ms, MAX_WAIT_MS)?,
        )?,
        wrap_up: bounded_ms("wrap_up_ms", b.wrap_up_ms, MAX_WRAP_UP_MS)?,
        ring_timeout: bounded_ms("ring_timeout_ms", b.ring_timeout_ms, MAX_RING_TIMEOUT_MS)?,
        max_waiting: b.max_waiting,
        max_wait: bounded_ms("max_wait_ms", b.max_wait_ms, MAX_WAIT_MS)?,
        overflow: overflow(app, org, id, b.overflow.as_ref()).await?,
        created_at: created,
    })
}

pub(crate) async fn create_queue(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<QueueBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let id = QueueId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?);
    let queue = queue_from(&app, c.who.org, id, &body, app.clock.now()).await?;
    app.store.insert_queue(&queue).await?;
    Ok((StatusCode::CREATED, Json(views::queue(&queue))))
}

pub(crate) async fn update_queue(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<QueueBody>,
) -> Result<Json<Value>, Problem> {
    let old = found(app.store.get_queue(c.who.org, parse_id(&id, "queue")?).await?, "queue")?;
    let queue = queue_from(&app, c.who.org, old.id, &body, old.created_at).await?;
    app.store.update_queue(&queue).await?;
    Ok(Json(views::queue(&queue)))
}

#[derive(Deserialize)]
pub(crate) struct Capacity {
    voice: u8,
    chat: u8,
    email: u8,
    social: u8,
    voice_blocks_others: bool,
}

#[derive(Deserialize)]
pub(crate) struct Membership {
    queue_id: String,
    #[serde(default)]
    penalty: u8,
}

#[derive(Deserialize)]
pub(crate) struct AgentPatch {
    display_name: Option<String>,
    languages: Option<Vec<String>>,
    capacity: Option<Capacity>,
    queues: Option<Vec<Membership>>,
}

async fn memberships(app: &AppState, org: OrgId, list: &[Membership]) -> Result<Vec<QueueMembership>, Problem> {
    if list.len() > MAX_LIST_ITEMS {
        return Err(invalid(format!("at most {MAX_LIST_ITEMS} queues per agent")));
    }
    let mut out: Vec<QueueMembership> = Vec::with_capacity(list.len());
    for m in list {
        let queue: QueueId = m.queue_id.parse()?;
        if app.store.get_queue(org, queue).await?.is_none() {
            return Err(invalid(format!("queue {queue} does not exist")));
        }
        if out.iter().any(|x| x.queue == queue) {
            return Err(invalid(format!("queue {queue} is listed twice")));
        }
        out.push(QueueMembership { queue, penalty: m.penalty });
    }
    Ok(out)
}

/// Changes the fields given of an agent (skills have their own route).
pub(crate) async fn update_agent(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<AgentPatch>,
) -> Result<Json<Value>, Problem> {
    let org = c.who.org;
    let mut agent: Agent = found(app.store.get_agent(org, parse_id::<AgentId>(&id, "agent")?).await?, "agent")?;
    if let Some(name) = &p.display_name {
        agent.display_name = text_field("display name", name, MAX_DISPLAY_NAME_CHARS, true)?;
    }
    if let Some(langs) = &p.languages {
        if langs.len() > MAX_LIST_ITEMS {
            return Err(invalid(format!("at most {MAX_LIST_ITEMS} languages")));
        }
        agent.languages = langs.iter().map(|l| Language::parse(l)).collect::<Result<_, _>>()?;
    }
    if let Some(cap) = &p.capacity {
        let capacity = ChannelCapacity {
            voice: cap.voice,
            chat: cap.chat,
            email: cap.email,
            social: cap.social,
            voice_blocks_others: cap.voice_blocks_others,
        };
        capacity.validate()?;
        agent.capacity = capacity;
    }
    if let Some(list) = &p.queues {
        agent.queues = memberships(&app, org, list).await?;
    }
    app.store.update_agent(&agent).await?;
    Ok(Json(views::agent(&agent)))
}
