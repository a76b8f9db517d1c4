//! Agents: extension, SIP secret, skills, languages, capacity and queue memberships. Extensions
//! are unique per org, and a user is at most one agent. Skills, languages, capacity and queue
//! memberships are JSON text, read back through the model's validated constructors.

use model::{
    Agent, AgentId, AgentSkill, ChannelCapacity, Extension, Language, OrgId, Proficiency, QueueMembership, SipSecret,
    SkillName, UserId,
};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table, to_json};
use crate::sql::{RowReader, Value};

const AGENTS: Table = Table {
    name: "agents",
    what: "agent",
    cols: &[
        "id",
        "org_id",
        "user_id",
        "extension",
        "display_name",
        "sip_secret",
        "skills",
        "languages",
        "capacity",
        "queues",
        "created_at_ms",
    ],
};

#[derive(Serialize, Deserialize)]
struct SkillDto {
    skill: String,
    proficiency: i64,
}

#[derive(Serialize, Deserialize)]
struct CapacityDto {
    voice: u8,
    chat: u8,
    email: u8,
    social: u8,
    voice_blocks_others: bool,
}

#[derive(Serialize, Deserialize)]
struct MembershipDto {
    queue: String,
    penalty: u8,
}

fn values(a: &Agent) -> Vec<Value> {
    let skills: Vec<SkillDto> = a
        .skills
        .iter()
        .map(|s| SkillDto { skill: s.skill.to_string(), proficiency: i64::from(s.proficiency.get()) })
        .collect();
    let languages: Vec<String> = a.languages.iter().map(ToString::to_string).collect();
    let c = a.capacity;
    let capacity = CapacityDto {
        voice: c.voice,
        chat: c.chat,
        email: c.email,
        social: c.social,
        voice_blocks_others: c.voice_blocks_others,
    };
    let queues: Vec<MembershipDto> =
        a.queues.iter().map(|m| MembershipDto { queue: m.queue.to_string(), penalty: m.penalty }).collect();
    vec![
        Value::from(a.user.to_string()),
        Value::from(a.extension.to_string()),
        Value::from(a.display_name.clone()),
        Value::from(a.sip_secret.expose()),
        Value::from(to_json(&skills)),
        Value::from(to_json(&languages)),
        Value::from(to_json(&capacity)),
        Value::from(to_json(&queues)),
        Value::from(a.created_at.unix_ms()),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<Agent, StoreError> {
    let skills = r
        .json::<Vec<SkillDto>>("skills")?
        .into_iter()
        .map(|s| {
            Ok(AgentSkill {
                skill: SkillName::parse(&s.skill).map_err(|e| r.invalid("skills", e))?,
                proficiency: Proficiency::new(s.proficiency).map_err(|e| r.invalid("skills", e))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let languages = r
        .json::<Vec<String>>("languages")?
        .iter()
        .map(|l| Language::parse(l).map_err(|e| r.invalid("languages", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let c: CapacityDto = r.json("capacity")?;
    let capacity = ChannelCapacity {
        voice: c.voice,
        chat: c.chat,
        email: c.email,
        social: c.social,
        voice_blocks_others: c.voice_blocks_others,
    };
    capacity.validate().map_err(|e| r.invalid("capacity", e))?;
    let queues = r
        .json::<Vec<MembershipDto>>("queues")?
        .into_iter()
        .map(|m| {
            Ok(QueueMembership { queue: m.queue.parse().map_err(|e| r.invalid("queues", e))?, penalty: m.penalty })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Agent {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        user: r.parse("user_id")?,
        extension: r.with("extension", Extension::parse)?,
        display_name: r.text("display_name")?,
        sip_secret: r.with("sip_secret", SipSecret::new)?,
        skills,
        languages,
        capacity,
        queues,
        created_at: r.time("created_at_ms")?,
    })
}

impl Store {
    /// [`StoreError::Conflict`] when the id or extension is taken in the org, or the user already
    /// is an agent.
    pub async fn insert_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        let mut v = vec![Value::from(agent.id.to_string()), Value::from(agent.org.to_string())];
        v.extend(values(agent));
        self.insert_row(&AGENTS, v).await
    }

    pub async fn update_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        self.update_row(&AGENTS, agent.org, agent.id.to_string(), values(agent)).await
    }

    pub async fn get_agent(&self, org: OrgId, id: AgentId) -> Result<Option<Agent>, StoreError> {
        self.get_row(&AGENTS, org, id.to_string(), from_row).await
    }

    /// The agent whose phone registers as this extension (the SIP registrar's lookup).
    pub async fn find_agent_by_extension(&self, org: OrgId, ext: &Extension) -> Result<Option<Agent>, StoreError> {
        self.find_one(&AGENTS, org, "extension = ?", vec![Value::from(ext.as_str())], from_row).await
    }

    /// The agent a signed-in user is.
    pub async fn find_agent_by_user(&self, org: OrgId, user: UserId) -> Result<Option<Agent>, StoreError> {
        self.find_one(&AGENTS, org, "user_id = ?", vec![Value::from(user.to_string())], from_row).await
    }

    pub async fn list_agents(&self, org: OrgId, page: &Page) -> Result<PageOf<Agent>, StoreError> {
        self.list_rows(&AGENTS, org, None, Keyset::Id, page, from_row).await
    }
}
