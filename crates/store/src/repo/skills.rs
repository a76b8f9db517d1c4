//! Skills: the names agents are rated on and queues require. Names are unique per org.

use model::{OrgId, Skill, SkillId, SkillName};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value};

const SKILLS: Table = Table { name: "skills", what: "skill", cols: &["id", "org_id", "name", "description"] };

fn values(s: &Skill) -> Vec<Value> {
    vec![Value::from(s.name.to_string()), Value::from(s.description.clone())]
}

fn from_row(r: &RowReader<'_>) -> Result<Skill, StoreError> {
    Ok(Skill {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        name: r.parse("name")?,
        description: r.text("description")?,
    })
}

impl Store {
    pub async fn insert_skill(&self, skill: &Skill) -> Result<(), StoreError> {
        let mut v = vec![Value::from(skill.id.to_string()), Value::from(skill.org.to_string())];
        v.extend(values(skill));
        self.insert_row(&SKILLS, v).await
    }

    pub async fn update_skill(&self, skill: &Skill) -> Result<(), StoreError> {
        self.update_row(&SKILLS, skill.org, skill.id.to_string(), values(skill)).await
    }

    pub async fn get_skill(&self, org: OrgId, id: SkillId) -> Result<Option<Skill>, StoreError> {
        self.get_row(&SKILLS, org, id.to_string(), from_row).await
    }

    pub async fn find_skill_by_name(&self, org: OrgId, name: &SkillName) -> Result<Option<Skill>, StoreError> {
        self.find_one(&SKILLS, org, "name = ?", vec![Value::from(name.as_str())], from_row).await
    }

    pub async fn list_skills(&self, org: OrgId, page: &Page) -> Result<PageOf<Skill>, StoreError> {
        self.list_rows(&SKILLS, org, None, Keyset::Id, page, from_row).await
    }
}
