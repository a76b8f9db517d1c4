//! Users: web logins with a role. Usernames are unique per org.

use model::{Email, Language, OrgId, User, UserId, Username};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value, text_opt};

pub(crate) const USERS: Table = Table {
    name: "users",
    what: "user",
    cols: &[
        "id",
        "org_id",
        "username",
        "display_name",
        "role",
        "password_hash",
        "email",
        "language",
        "active",
        "created_at_ms",
    ],
};

fn values(u: &User) -> Vec<Value> {
    vec![
        Value::from(u.username.to_string()),
        Value::from(u.display_name.clone()),
        Value::from(u.role.as_str()),
        Value::from(u.password_hash.clone()),
        text_opt(u.email.as_ref()),
        Value::from(u.language.to_string()),
        Value::from(u.active),
        Value::from(u.created_at.unix_ms()),
    ]
}

fn from_row(r: &RowReader<'_>) -> Result<User, StoreError> {
    Ok(User {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        username: r.parse("username")?,
        display_name: r.text("display_name")?,
        role: r.parse("role")?,
        password_hash: r.text("password_hash")?,
        email: r.opt_with("email", Email::parse)?,
        language: r.with("language", Language::parse)?,
        active: r.bool("active")?,
        created_at: r.time("created_at_ms")?,
    })
}

impl Store {
    /// [`StoreError::Conflict`] when the id or the username is taken in the org.
    pub async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let mut v = vec![Value::from(user.id.to_string()), Value::from(user.org.to_string())];
        v.extend(values(user));
        self.insert_row(&USERS, v).await
    }

    pub async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        self.update_row(&USERS, user.org, user.id.to_string(), values(user)).await
    }

    pub async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError> {
        self.get_row(&USERS, org, id.to_string(), from_row).await
    }

    pub async fn find_user_by_username(&self, org: OrgId, username: &Username) -> Result<Option<User>, StoreError> {
        self.find_one(&USERS, org, "username = ?", vec![Value::from(username.as_str())], from_row).await
    }

    /// The org's users, by id.
    pub async fn list_users(&self, org: OrgId, page: &Page) -> Result<PageOf<User>, StoreError> {
        self.list_rows(&USERS, org, None, Keyset::Id, page, from_row).await
    }
}
