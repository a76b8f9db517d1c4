//! Orgs (tenants). The one table not scoped by `org_id`: its id is the org. Listing orgs is for
//! the hosted operator; everything else in the store takes an org.

use model::{CountryCode, Org, OrgId};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Cursor, Page, PageOf};
use crate::sql::{self, RowReader, Value};

const COLS: &str = "id, name, default_country, time_zone, created_at_ms";

fn values(o: &Org) -> Vec<Value> {
    vec![
        Value::from(o.name.clone()),
        Value::from(i64::from(o.default_country.get())),
        Value::from(o.time_zone.clone()),
        Value::from(o.created_at.unix_ms()),
        Value::from(o.id.to_string()),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<Org, StoreError> {
    let code: u16 = r.uint("default_country")?;
    Ok(Org {
        id: r.parse("id")?,
        name: r.text("name")?,
        default_country: CountryCode::new(code).map_err(|e| r.invalid("default_country", e))?,
        time_zone: r.text("time_zone")?,
        created_at: r.time("created_at_ms")?,
    })
}

impl Store {
    pub async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        let sql = "INSERT INTO orgs (name, default_country, time_zone, created_at_ms, id) VALUES (?, ?, ?, ?, ?)";
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "org", sql, values(org)).await.map(drop)
    }

    /// Updates name, default country and time zone (the creation time is kept as given).
    pub async fn update_org(&self, org: &Org) -> Result<(), StoreError> {
        let sql = "UPDATE orgs SET name = ?, default_country = ?, time_zone = ?, created_at_ms = ? WHERE id = ?";
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, "org", sql, values(org)).await? {
            0 => Err(StoreError::NotFound { what: "org", key: org.id.to_string() }),
            _ => Ok(()),
        }
    }

    pub async fn get_org(&self, id: OrgId) -> Result<Option<Org>, StoreError> {
        let sql = format!("SELECT {COLS} FROM orgs WHERE id = ?");
        let mut conn = self.conn().await?;
        let row = sql::fetch_optional(&mut conn, self.backend, "org", &sql, vec![Value::from(id.to_string())]).await?;
        row.map(|r| from_row(&RowReader::new(&r, "orgs"))).transpose()
    }

    /// All orgs, by id.
    pub async fn list_orgs(&self, page: &Page) -> Result<PageOf<Org>, StoreError> {
        let limit = page.effective_limit();
        let (cond, args) = match &page.after {
            Some(c) => (" WHERE id > ?", vec![Value::from(c.id()?)]),
            None => ("", vec![]),
        };
        let sql = format!("SELECT {COLS} FROM orgs{cond} ORDER BY id LIMIT {}", limit + 1);
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, "org", &sql, args).await?;
        let mut items = rows.iter().map(|r| from_row(&RowReader::new(r, "orgs"))).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|o| Cursor::for_id(&o.id.to_string()))
        } else {
            None
        };
        Ok(PageOf { items, next })
    }
}
