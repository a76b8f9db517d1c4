//! The guard every API route passes through: who is calling (session cookie or bearer token),
//! CSRF checks for cookie-authenticated unsafe requests, the route's access rule, and the audit
//! entry for admin and supervisor actions. Also the server-wide rate limit and body-size cap.
//!
//! Never: let a handler run before its rule allowed the caller, or treat a malformed credential
//! as anything but unauthenticated.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use auth::csrf;
use auth::policy::{Decision, Grant};
use auth::secret::Secret;
use auth::session::SessionStatus;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use model::{AgentId, OrgId, Role, UserId};

use crate::AppState;
use crate::authrepo::AuditEntry;
use crate::problem::{Problem, ProblemKind};
use crate::routes::Route;
use crate::runtime::new_uuid;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "hl_session";
/// Most bytes of a `Cookie` header looked at.
const MAX_COOKIE_HEADER_BYTES: usize = 8 * 1024;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org: OrgId,
    pub role: Role,
    /// The username, or `token:<name>` for an API token.
    pub actor: String,
    /// The user, when a person signed in (None for API tokens).
    pub user: Option<UserId>,
    /// The session's id digest and CSRF token, when authenticated by cookie.
    pub session: Option<(String, String)>,
}

/// What a handler knows about its caller: who, and what the route's rule grants them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub who: Principal,
    pub grant: Grant,
    /// The caller's agent record when the caller is a person with the agent role (None: the
    /// caller owns nothing, e.g. an agent-scoped API token, or is staff).
    pub agent: Option<AgentId>,
}

impl Caller {
    /// Whether an item belonging to `owner` is visible to the caller.
    pub fn may_see(&self, owner: Option<AgentId>) -> bool {
        match self.grant {
            Grant::All => true,
            Grant::Own => owner.is_some() && owner == self.agent,
            Grant::Deny => false,
        }
    }
}

/// The source address of the request (0.0.0.0 when the server was not started by [`crate::serve`]).
pub fn client_ip(req: &Request) -> IpAddr {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

fn header_str(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The session cookie's value, when it has the shape of one.
fn session_cookie(headers: &HeaderMap) -> Option<Option<Secret>> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        if text.len() > MAX_COOKIE_HEADER_BYTES {
            continue;
        }
        for pair in text.split(';') {
            if let Some((name, v)) = pair.trim().split_once('=')
                && name == SESSION_COOKIE
            {
                found = Some(Secret::parse(v.trim()));
            }
        }
    }
    found
}

/// The result of looking at the request's credentials.
struct Authn {
    principal: Option<Principal>,
    /// A session cookie was sent but is unknown or over.
    stale_cookie: bool,
}

async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<Authn, Problem> {
    if let Some(authz) = headers.get(header::AUTHORIZATION) {
        let text = authz.to_str().unwrap_or("");
        let digest = auth::token::digest_of_bearer(text)
            .map_err(|e| Problem::of(ProblemKind::Unauthenticated, e.to_string()))?;
        let token = app.auth.find_api_token(app.config.org, &digest).await?;
        return match token {
            Some(t) if t.revoked_at.is_none() => Ok(Authn {
                principal: Some(Principal {
                    org: t.org,
                    role: t.role,
                    actor: format!("token:{}", t.name),
                    user: None,
                    session: None,
                }),
                stale_cookie: false,
            }),
            _ => Err(Problem::of(ProblemKind::Unauthenticated, "the API token is unknown or revoked")),
        };
    }
    let Some(cookie) = session_cookie(headers) else { return Ok(Authn { principal: None, stale_cookie: false }) };
    let stale = Ok(Authn { principal: None, stale_cookie: true });
    let Some(secret) = cookie else { return stale };
    let org = app.config.org;
    let digest = secret.digest();
    let Some(session) = app.auth.get_session(org, &digest).await? else { return stale };
    let now = app.clock.now();
    match session.status(&app.config.session, now) {
        SessionStatus::Valid { touch } => {
            if touch {
                app.auth.touch_session(org, &digest, now).await?;
            }
        }
        SessionStatus::IdleExpired | SessionStatus::AbsoluteExpired => {
            app.auth.delete_session(org, &digest).await?;
            return stale;
        }
    }
    let user = app.store.get_user(org, session.user).await?;
    match user {
        Some(u) if u.active => Ok(Authn {
            principal: Some(Principal {
                org,
                role: u.role,
                actor: u.username.to_string(),
                user: Some(u.id),
                session: Some((digest, session.csrf_token)),
            }),
            stale_cookie: false,
        }),
        _ => stale,
    }
}

/// CSRF checks for unsafe methods: the Origin for everyone, the token for cookie sessions.
fn check_csrf(app: &AppState, req: &Request, principal: Option<&Principal>) -> Result<(), Problem> {
    if !csrf::is_unsafe_method(req.method().as_str()) {
        return Ok(());
    }
    let headers = req.headers();
    let bearer = headers.contains_key(header::AUTHORIZATION);
    if bearer {
        return Ok(());
    }
    let csrf_problem = |e: csrf::CsrfError| Problem::of(ProblemKind::Csrf, e.to_string());
    csrf::check_origin(
        header_str(headers, header::ORIGIN),
        header_str(headers, header::HOST),
        &app.config.allowed_origins,
    )
    .map_err(csrf_problem)?;
    if let Some((_, token)) = principal.and_then(|p| p.session.as_ref()) {
        csrf::check_token(header_str(headers, csrf::CSRF_HEADER), token).map_err(csrf_problem)?;
    }
    Ok(())
}

/// The per-route middleware: authenticate, CSRF, decide, run, audit.
pub async fn guard(
    State((app, route)): State<(Arc<AppState>, &'static Route)>,
    mut req: Request,
    next: Next,
) -> Response {
    let authn = match authenticate(&app, req.headers()).await {
        Ok(a) => a,
        Err(p) => return p.into_response(),
    };
    if let Err(p) = check_csrf(&app, &req, authn.principal.as_ref()) {
        return p.into_response();
    }
    let grant = match route.rule.decide(authn.principal.as_ref().map(|p| p.role)) {
        Decision::Allow(g) => g,
        Decision::Unauthenticated if authn.stale_cookie => {
            return Problem::of(ProblemKind::Unauthenticated, "your session has ended; sign in again").into_response();
        }
        Decision::Unauthenticated => {
            return Problem::of(ProblemKind::Unauthenticated, "sign in, or send an API token").into_response();
        }
        Decision::Forbidden => {
            let role = authn.principal.as_ref().map_or("anonymous", |p| p.role.as_str());
            return Problem::of(ProblemKind::Forbidden, format!("the {role} role may not {}", route.summary))
                .into_response();
        }
    };
    let Some(principal) = authn.principal else { return next.run(req).await };
    let agent = match (principal.role, principal.user) {
        (Role::Agent, Some(user)) => match app.store.find_agent_by_user(principal.org, user).await {
            Ok(a) => a.map(|a| a.id),
            Err(e) => return Problem::from(e).into_response(),
        },
        _ => None,
    };
    let audited =
        matches!(principal.role, Role::Admin | Role::Supervisor) && csrf::is_unsafe_method(req.method().as_str());
    let (method, path, client) = (req.method().to_string(), req.uri().path().to_owned(), client_ip(&req));
    req.extensions_mut().insert(Caller { who: principal.clone(), grant, agent });
    let resp = next.run(req).await;
    if audited {
        record(&app, &principal, route.op_id, method, path, resp.status().as_u16(), client).await;
    }
    resp
}

/// Appends an audit entry; a failure to write is logged, never hidden from the operator.
pub(crate) async fn record(
    app: &AppState,
    p: &Principal,
    action: &str,
    method: String,
    path: String,
    status: u16,
    client: IpAddr,
) {
    let id = match new_uuid(app.clock.as_ref(), app.entropy.as_ref()) {
        Ok(id) => id,
        Err(_) => {
            tracing::error!(action, actor = %p.actor, "audit entry lost: no randomness for its id");
            return;
        }
    };
    let entry = AuditEntry {
        id,
        org: p.org,
        at: app.clock.now(),
        actor_user: p.user,
        actor: p.actor.clone(),
        role: p.role,
        action: action.to_owned(),
        method,
        path,
        status,
        client: client.to_string(),
    };
    if let Err(e) = app.auth.insert_audit(&entry).await {
        tracing::error!(error = %e, action, actor = %p.actor, "audit entry could not be written");
    }
}

/// Server-wide: one token per request from the client's bucket, else 429.
pub async fn rate_limit(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let verdict = app.rate().check(app.clock.now(), client_ip(&req));
    match verdict {
        Ok(()) => next.run(req).await,
        Err(limited) => Problem::of(ProblemKind::RateLimited, "too many requests from this address")
            .retry_after_ms(limited.retry_after_ms)
            .into_response(),
    }
}

/// Server-wide: a declared body larger than the limit is refused before it is read (bodies
/// without a length are cut by the extractor's limit).
pub async fn body_limit(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let declared = header_str(req.headers(), header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.config.max_body_bytes as u64) {
        let detail = format!("the body is larger than {} bytes", app.config.max_body_bytes);
        return Problem::of(ProblemKind::PayloadTooLarge, detail).into_response();
    }
    next.run(req).await
}

/// The source address, as an extractor.
pub struct ClientIp(pub IpAddr);

impl<St: Send + Sync> axum::extract::FromRequestParts<St> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &St) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(ClientIp(ip))
    }
}
