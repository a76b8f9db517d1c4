//! Users (web logins) for admins: create, change role or display name, deactivate, reset a
//! password. Changing a role, deactivating or resetting a password ends the user's sessions, so
//! the change takes effect at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::{Email, Language, Role, User, UserId, Username};
use serde::Deserialize;
use serde_json::Value;

use super::{S, found, parse_id, text_field, views};
use crate::guard::Caller;
use crate::hashing;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::new_uuid;

/// Most characters of a display name.
const MAX_DISPLAY_NAME_CHARS: usize = 200;

#[derive(Deserialize)]
pub(crate) struct NewUser {
    username: String,
    display_name: String,
    role: String,
    password: String,
    email: Option<String>,
    language: Option<String>,
}

pub(crate) async fn create_user(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let user = User {
        id: UserId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?),
        org: c.who.org,
        username: Username::parse(&body.username)?,
        display_name: text_field("display name", &body.display_name, MAX_DISPLAY_NAME_CHARS, true)?,
        role: body.role.parse::<Role>()?,
        password_hash: hashing::hash(&app, body.password).await?,
        email: body.email.as_deref().map(Email::parse).transpose()?,
        language: Language::parse(body.language.as_deref().unwrap_or("zh-CN"))?,
        active: true,
        created_at: app.clock.now(),
    };
    app.store.insert_user(&user).await?;
    Ok((StatusCode::CREATED, Json(views::user(&user))))
}

#[derive(Deserialize)]
pub(crate) struct UserPatch {
    display_name: Option<String>,
    role: Option<String>,
    active: Option<bool>,
    email: Option<String>,
}

pub(crate) async fn update_user(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<UserPatch>,
) -> Result<Json<Value>, Problem> {
    let org = c.who.org;
    let mut user = found(app.store.get_user(org, parse_id::<UserId>(&id, "user")?).await?, "user")?;
    let before = (user.role, user.active);
    if let Some(name) = &p.display_name {
        user.display_name = text_field("display name", name, MAX_DISPLAY_NAME_CHARS, true)?;
    }
    if let Some(role) = &p.role {
        user.role = role.parse()?;
    }
    if let Some(active) = p.active {
        user.active = active;
    }
    if let Some(email) = &p.email {
        user.email = if email.trim().is_empty() { None } else { Some(Email::parse(email)?) };
    }
    if c.who.user == Some(user.id) && (user.role, user.active) != before {
        return Err(Problem::of(ProblemKind::Conflict, "admins cannot change their own role or deactivate themselves"));
    }
    app.store.update_user(&user).await?;
    if (user.role, user.active) != before {
        app.auth.delete_user_sessions(org, user.id).await?;
    }
    Ok(Json(views::user(&user)))
}

#[derive(Deserialize)]
pub(crate) struct PasswordReset {
    new_password: String,
}

/// Sets a user's password (they forgot it) and ends their sessions.
pub(crate) async fn reset_password(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> Result<StatusCode, Problem> {
    let org = c.who.org;
    let mut user = found(app.store.get_user(org, parse_id::<UserId>(&id, "user")?).await?, "user")?;
    user.password_hash = hashing::hash(&app, body.new_password).await?;
    app.store.update_user(&user).await?;
    app.auth.delete_user_sessions(org, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
