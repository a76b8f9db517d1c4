//! Users, agents, skills and queues. Agents see only their own agent record.

use auth::policy::Grant;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::{AgentId, AgentSkill, Proficiency, QueueId, Skill, SkillId, SkillName};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiQuery, PageQuery, S, found, paged, parse_id, text_field, views};
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::new_uuid;

/// Most characters of a skill's description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Most skills one agent may have.
const MAX_SKILLS_PER_AGENT: usize = 64;

type JsonResult = Result<Json<Value>, Problem>;

pub(crate) async fn list_users(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    Ok(Json(paged(app.store.list_users(c.who.org, &q.page()).await?, views::user)))
}

pub(crate) async fn list_agents(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    if c.grant == Grant::Own {
        let own = match c.agent {
            Some(id) => app.store.get_agent(c.who.org, id).await?,
            None => None,
        };
        return Ok(Json(json!({"items": own.iter().map(views::agent).collect::<Vec<_>>(), "next": null})));
    }
    Ok(Json(paged(app.store.list_agents(c.who.org, &q.page()).await?, views::agent)))
}

pub(crate) async fn get_agent(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: AgentId = parse_id(&id, "agent")?;
    if !c.may_see(Some(id)) {
        return Err(Problem::not_found("agent"));
    }
    Ok(Json(views::agent(&found(app.store.get_agent(c.who.org, id).await?, "agent")?)))
}

#[derive(Deserialize)]
pub(crate) struct SkillLevel {
    skill: String,
    proficiency: i64,
}

#[derive(Deserialize)]
pub(crate) struct AgentSkillsBody {
    skills: Vec<SkillLevel>,
}

/// Replaces an agent's skills; every skill must exist in the org.
pub(crate) async fn set_agent_skills(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentSkillsBody>,
) -> JsonResult {
    let org = c.who.org;
    let mut agent = found(app.store.get_agent(org, parse_id(&id, "agent")?).await?, "agent")?;
    if body.skills.len() > MAX_SKILLS_PER_AGENT {
        return Err(Problem::of(
            ProblemKind::Validation,
            format!("an agent has at most {MAX_SKILLS_PER_AGENT} skills"),
        ));
    }
    let mut skills = Vec::with_capacity(body.skills.len());
    for s in &body.skills {
        let name = SkillName::parse(&s.skill)?;
        if app.store.find_skill_by_name(org, &name).await?.is_none() {
            return Err(Problem::of(ProblemKind::Validation, format!("skill {name} does not exist")));
        }
        if skills.iter().any(|x: &AgentSkill| x.skill == name) {
            return Err(Problem::of(ProblemKind::Validation, format!("skill {name} is listed twice")));
        }
        skills.push(AgentSkill { skill: name, proficiency: Proficiency::new(s.proficiency)? });
    }
    agent.skills = skills;
    app.store.update_agent(&agent).await?;
    Ok(Json(views::agent(&agent)))
}

pub(crate) async fn list_skills(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    Ok(Json(paged(app.store.list_skills(c.who.org, &q.page()).await?, views::skill)))
}

#[derive(Deserialize)]
pub(crate) struct SkillBody {
    name: String,
    #[serde(default)]
    description: String,
}

pub(crate) async fn create_skill(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<SkillBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let skill = Skill {
        id: SkillId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?),
        org: c.who.org,
        name: SkillName::parse(&body.name)?,
        description: text_field("description", &body.description, MAX_DESCRIPTION_CHARS, false)?,
    };
    app.store.insert_skill(&skill).await?;
    Ok((StatusCode::CREATED, Json(views::skill(&skill))))
}

pub(crate) async fn update_skill(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SkillBody>,
) -> JsonResult {
    let mut skill = found(app.store.get_skill(c.who.org, parse_id::<SkillId>(&id, "skill")?).await?, "skill")?;
    skill.name = SkillName::parse(&body.name)?;
    skill.description = text_field("description", &body.description, MAX_DESCRIPTION_CHARS, false)?;
    app.store.update_skill(&skill).await?;
    Ok(Json(views::skill(&skill)))
}

pub(crate) async fn list_queues(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    Ok(Json(paged(app.store.list_queues(c.who.org, &q.page()).await?, views::queue)))
}

pub(crate) async fn get_queue(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: QueueId = parse_id(&id, "queue")?;
    Ok(Json(views::queue(&found(app.store.get_queue(c.who.org, id).await?, "queue")?)))
}
