//! Queues: routing strategy, required skills, service-level target, timers, limits and
//! overflow. Names are unique per org.

use model::{
    DurationMs, OrgId, Overflow, Proficiency, Queue, QueueId, QueueName, ServiceLevelTarget, SkillName,
    SkillRequirement,
};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table, to_json};
use crate::sql::{RowReader, Value, to_i64};

const QUEUES: Table = Table {
    name: "queues",
    what: "queue",
    cols: &[
        "id",
        "org_id",
        "name",
        "display_name",
        "strategy",
        "required_skills",
        "sl_percent",
        "sl_threshold_ms",
        "wrap_up_ms",
        "ring_timeout_ms",
        "max_waiting",
        "max_wait_ms",
        "overflow_to",
        "overflow_after_ms",
        "overflow_ewt_ms",
        "created_at_ms",
    ],
};

#[derive(Serialize, Deserialize)]
struct RequirementDto {
    skill: String,
    min_proficiency: i64,
}

fn ms(what: &'static str, d: DurationMs) -> Result<i64, StoreError> {
    to_i64(what, d.as_ms())
}

fn values(q: &Queue) -> Result<Vec<Value>, StoreError> {
    let reqs: Vec<RequirementDto> = q
        .required_skills
        .iter()
        .map(|s| RequirementDto { skill: s.skill.to_string(), min_proficiency: i64::from(s.min_proficiency.get()) })
        .collect();
    let overflow = q.overflow.as_ref();
    Ok(vec![
        Value::from(q.name.to_string()),
        Value::from(q.display_name.clone()),
        Value::from(q.strategy.as_str()),
        Value::from(to_json(&reqs)),
        Value::from(i64::from(q.service_level.percent)),
        Value::from(ms("service level threshold", q.service_level.threshold)?),
        Value::from(ms("wrap-up time", q.wrap_up)?),
        Value::from(ms("ring timeout", q.ring_timeout)?),
        Value::from(i64::from(q.max_waiting)),
        Value::from(ms("max wait", q.max_wait)?),
        Value::Text(overflow.map(|o| o.to.to_string())),
        Value::Int(overflow.and_then(|o| o.after).map(|d| ms("overflow after", d)).transpose()?),
        Value::Int(overflow.and_then(|o| o.when_ewt_exceeds).map(|d| ms("overflow EWT", d)).transpose()?),
        Value::from(q.created_at.unix_ms()),
    ])
}

fn duration(r: &RowReader<'_>, col: &str) -> Result<DurationMs, StoreError> {
    r.uint::<u64>(col).map(DurationMs::from_ms)
}

fn from_row(r: &RowReader<'_>) -> Result<Queue, StoreError> {
    let required_skills = r
        .json::<Vec<RequirementDto>>("required_skills")?
        .into_iter()
        .map(|s| {
            Ok(SkillRequirement {
                skill: SkillName::parse(&s.skill).map_err(|e| r.invalid("required_skills", e))?,
                min_proficiency: Proficiency::new(s.min_proficiency).map_err(|e| r.invalid("required_skills", e))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let service_level = ServiceLevelTarget::new(r.uint("sl_percent")?, duration(r, "sl_threshold_ms")?)
        .map_err(|e| r.invalid("sl_percent", e))?;
    let overflow = match r.opt_parse::<QueueId>("overflow_to")? {
        None => None,
        Some(to) => Some(Overflow {
            after: r.opt_uint::<u64>("overflow_after_ms")?.map(DurationMs::from_ms),
            when_ewt_exceeds: r.opt_uint::<u64>("overflow_ewt_ms")?.map(DurationMs::from_ms),
            to,
        }),
    };
    Ok(Queue {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        name: r.parse("name")?,
        display_name: r.text("display_name")?,
        strategy: r.parse("strategy")?,
        required_skills,
        service_level,
        wrap_up: duration(r, "wrap_up_ms")?,
        ring_timeout: duration(r, "ring_timeout_ms")?,
        max_waiting: r.uint("max_waiting")?,
        max_wait: duration(r, "max_wait_ms")?,
        overflow,
        created_at: r.time("created_at_ms")?,
    })
}

impl Store {
    pub async fn insert_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        let mut v = vec![Value::from(queue.id.to_string()), Value::from(queue.org.to_string())];
        v.extend(values(queue)?);
        self.insert_row(&QUEUES, v).await
    }

    pub async fn update_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        self.update_row(&QUEUES, queue.org, queue.id.to_string(), values(queue)?).await
    }

    pub async fn get_queue(&self, org: OrgId, id: QueueId) -> Result<Option<Queue>, StoreError> {
        self.get_row(&QUEUES, org, id.to_string(), from_row).await
    }

    pub async fn find_queue_by_name(&self, org: OrgId, name: &QueueName) -> Result<Option<Queue>, StoreError> {
        self.find_one(&QUEUES, org, "name = ?", vec![Value::from(name.as_str())], from_row).await
    }

    pub async fn list_queues(&self, org: OrgId, page: &Page) -> Result<PageOf<Queue>, StoreError> {
        self.list_rows(&QUEUES, org, None, Keyset::Id, page, from_row).await
    }
}
