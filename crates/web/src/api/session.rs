//! Sign-in, sign-out, the caller's profile, password change, API tokens and the audit log.
//!
//! Never: say whether a username exists (unknown users cost the same argon2 verification as
//! known ones and get the same answer), or return a token or session id more than once.

use std::sync::OnceLock;

use auth::session::{self, NewSession};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use model::{Role, User, Username};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{ApiQuery, PageQuery, S, paged, text_field, views};
use crate::authrepo::ApiToken;
use crate::guard::{Caller, ClientIp, SESSION_COOKIE};
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::{new_uuid, random};
use crate::{AppState, hashing};

/// Most characters of an API token's name.
const MAX_TOKEN_NAME_CHARS: usize = 100;

#[derive(Deserialize)]
pub(crate) struct LoginBody {
    username: String,
    password: String,
}

/// A hash to verify against when the username is unknown, so both cases take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("not-a-real-password", [0x5a; 16]).unwrap_or_default())
}

fn session_cookie(app: &AppState, value: &str, max_age_secs: u64) -> Result<HeaderValue, Problem> {
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    let text = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&text).map_err(|_| Problem::of(ProblemKind::Internal, "cookie could not be formed"))
}

/// Starts and stores a session for `user`; the response carries the cookie and the CSRF token.
async fn signed_in(app: &AppState, user: &User, status: StatusCode) -> Result<Response, Problem> {
    let NewSession { cookie_value, session } =
        session::start(app.config.org, user.id, app.clock.now(), random(app.entropy.as_ref())?);
    app.auth.insert_session(&session).await?;
    let cookie = session_cookie(app, cookie_value.expose(), app.config.session.absolute_timeout_ms / 1_000)?;
    let body = json!({
        "user": views::user(user),
        "csrf_token": session.csrf_token,
        "expires_at_ms": session.expires_at(&app.config.session).unix_ms(),
    });
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

pub(crate) async fn login(
    State(app): State<S>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, Problem> {
    let now = app.clock.now();
    if let Err(t) = app.throttle().check(now, &body.username, ip) {
        return Err(Problem::of(ProblemKind::RateLimited, "too many failed sign-ins; wait and try again")
            .retry_after_ms(t.retry_after_ms));
    }
    let user = match Username::parse(&body.username) {
        Ok(name) => app.store.find_user_by_username(app.config.org, &name).await?,
        Err(_) => None,
    };
    let phc = user.as_ref().filter(|u| u.active).map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = hashing::verify(&app, body.password, phc).await?;
    match user.filter(|u| u.active && ok) {
        Some(user) => {
            app.throttle().record_success(&body.username);
            sweep_expired_sessions(&app, now).await;
            signed_in(&app, &user, StatusCode::OK).await
        }
        None => {
            app.throttle().record_failure(now, &body.username, ip);
            tracing::info!(%ip, "sign-in failed");
            Err(Problem::of(ProblemKind::InvalidCredentials, "the username or the password is wrong"))
        }
    }
}

/// Sign-ins remove the org's expired sessions, so the session table holds only live ones
/// (sessions are otherwise removed when next presented after they ended).
async fn sweep_expired_sessions(app: &AppState, now: model::Timestamp) {
    let policy = &app.config.session;
    let back =
        |ms: u64| model::Timestamp::from_unix_ms(now.unix_ms().saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX)));
    let swept =
        app.auth.sweep_sessions(app.config.org, back(policy.idle_timeout_ms), back(policy.absolute_timeout_ms)).await;
    match swept {
        Ok(n) if n > 0 => tracing::debug!(swept = n, "expired sessions removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "expired sessions could not be removed"),
    }
}

pub(crate) async fn logout(State(app): State<S>, Extension(caller): Extension<Caller>) -> Result<Response, Problem> {
    if let Some((digest, _)) = &caller.who.session {
        app.auth.delete_session(caller.who.org, digest).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, "", 0)?);
    Ok(resp)
}

pub(crate) async fn me(State(app): State<S>, Extension(caller): Extension<Caller>) -> Result<Response, Problem> {
    let who = &caller.who;
    let Some(user_id) = who.user else {
        return Ok(Json(json!({"actor": who.actor, "role": who.role.as_str(), "api_token": true})).into_response());
    };
    let user = super::found(app.store.get_user(who.org, user_id).await?, "user")?;
    let agent = app.store.find_agent_by_user(who.org, user_id).await?;
    Ok(Json(json!({
        "user": views::user(&user),
        "agent": agent.as_ref().map(views::agent),
        "csrf_token": who.session.as_ref().map(|(_, csrf)| csrf),
        "api_token": false,
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// Changes the caller's password, ends all their sessions, and signs this client in again.
pub(crate) async fn change_password(
    State(app): State<S>,
    ClientIp(ip): ClientIp,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, Problem> {
    let who = &caller.who;
    let Some(user_id) = who.user.filter(|_| who.session.is_some()) else {
        return Err(Problem::of(ProblemKind::Forbidden, "only a signed-in person can change their password"));
    };
    let now = app.clock.now();
    if let Err(t) = app.throttle().check(now, &who.actor, ip) {
        return Err(Problem::of(ProblemKind::RateLimited, "too many failed attempts").retry_after_ms(t.retry_after_ms));
    }
    let mut user = super::found(app.store.get_user(who.org, user_id).await?, "user")?;
    if !hashing::verify(&app, body.current_password, user.password_hash.clone()).await? {
        app.throttle().record_failure(now, &who.actor, ip);
        return Err(Problem::of(ProblemKind::InvalidCredentials, "the current password is wrong"));
    }
    user.password_hash = hashing::hash(&app, body.new_password).await?;
    app.store.update_user(&user).await?;
    app.auth.delete_user_sessions(who.org, user_id).await?;
    signed_in(&app, &user, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct TokenBody {
    name: String,
    role: String,
}

pub(crate) async fn create_token(
    State(app): State<S>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Response, Problem> {
    let name = text_field("token name", &body.name, MAX_TOKEN_NAME_CHARS, true)?;
    let role: Role = body.role.parse()?;
    let minted = auth::token::mint(random(app.entropy.as_ref())?);
    let token = ApiToken {
        id: new_uuid(app.clock.as_ref(), app.entropy.as_ref())?,
        org: caller.who.org,
        name,
        role,
        digest: minted.digest,
        created_by: caller.who.user,
        created_at: app.clock.now(),
        revoked_at: None,
    };
    app.auth.insert_api_token(&token).await?;
    let mut body = views::api_token(&token);
    body["token"] = json!(minted.token);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(crate) async fn list_tokens(
    State(app): State<S>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let page = app.auth.list_api_tokens(caller.who.org, &q.page()).await?;
    Ok(Json(paged(page, views::api_token)))
}

pub(crate) async fn revoke_token(
    State(app): State<S>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id: Uuid = Uuid::parse_str(&id).map_err(|_| Problem::not_found("API token"))?;
    app.auth.revoke_api_token(caller.who.org, id, app.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_audit(
    State(app): State<S>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let page = app.auth.list_audit(caller.who.org, &q.page()).await?;
    Ok(Json(paged(page, views::audit)))
}
