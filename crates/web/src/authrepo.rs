//! Where sessions, API tokens and the audit log are kept: the [`AuthRepo`] trait, so the HTTP
//! layer does not care whether they live in the database (the `store` crate's auth tables) or in
//! memory ([`MemoryAuthRepo`], bounded, for tests and for a single process that may lose its
//! sessions on restart).
//!
//! Every method is org-scoped, like every store query. Never: keep a session id or token in clear.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use auth::session::Session;
use model::{OrgId, Role, Timestamp, UserId};
use store::{Cursor, Page, PageOf, StoreError};
use uuid::Uuid;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An API token as stored: only the digest of the token text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub org: OrgId,
    /// What the integration is ("crm sync").
    pub name: String,
    /// The role the token acts with.
    pub role: Role,
    pub digest: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One admin or supervisor action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub org: OrgId,
    pub at: Timestamp,
    /// The user who acted, when a person did (None for an API token).
    pub actor_user: Option<UserId>,
    /// A name for the actor: the username, or `token:<name>`.
    pub actor: String,
    pub role: Role,
    /// The operation id of the route ("create_skill").
    pub action: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The source address.
    pub client: String,
}

type Res<T> = Result<T, StoreError>;

pub trait AuthRepo: Send + Sync + 'static {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, Res<()>>;
    fn get_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<Option<Session>>>;
    fn touch_session<'a>(&'a self, org: OrgId, id_digest: &'a str, at: Timestamp) -> BoxFuture<'a, Res<()>>;
    fn delete_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<()>>;
    /// Ends every session of a user (password change, deactivation).
    fn delete_user_sessions(&self, org: OrgId, user: UserId) -> BoxFuture<'_, Res<u64>>;
    /// Removes sessions idle since before `idle_before` or started before `started_before`.
    fn sweep_sessions(&self, org: OrgId, idle_before: Timestamp, started_before: Timestamp) -> BoxFuture<'_, Res<u64>>;
    fn insert_api_token<'a>(&'a self, t: &'a ApiToken) -> BoxFuture<'a, Res<()>>;
    fn find_api_token<'a>(&'a self, org: OrgId, digest: &'a str) -> BoxFuture<'a, Res<Option<ApiToken>>>;
    fn list_api_tokens<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<ApiToken>>>;
    /// Marks the token revoked; [`StoreError::NotFound`] if the org has no such token.
    fn revoke_api_token(&self, org: OrgId, id: Uuid, at: Timestamp) -> BoxFuture<'_, Res<()>>;
    fn insert_audit<'a>(&'a self, e: &'a AuditEntry) -> BoxFuture<'a, Res<()>>;
    /// Newest first.
    fn list_audit<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<AuditEntry>>>;
}

/// Limits of the in-memory repository.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimits {
    /// Most live sessions; the oldest is ended to make room.
    pub max_sessions: usize,
    /// Most audit entries kept; the oldest are dropped (and counted) past it.
    pub max_audit_entries: usize,
    /// Most API tokens.
    pub max_api_tokens: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self { max_sessions: 10_000, max_audit_entries: 100_000, max_api_tokens: 1_000 }
    }
}

#[derive(Default)]
struct Memory {
    sessions: HashMap<(OrgId, String), Session>,
    tokens: BTreeMap<(OrgId, Uuid), ApiToken>,
    /// Keyed by (org, id); ids are UUIDv7 so key order is time order.
    audit: BTreeMap<(OrgId, Uuid), AuditEntry>,
    dropped_audit_entries: u64,
}

/// Sessions, tokens and audit in memory, bounded by [`MemoryLimits`].
pub struct MemoryAuthRepo {
    limits: MemoryLimits,
    inner: Mutex<Memory>,
}

impl MemoryAuthRepo {
    pub fn new(limits: MemoryLimits) -> Self {
        Self { limits, inner: Mutex::new(Memory::default()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Audit entries dropped because the log was full.
    pub fn dropped_audit_entries(&self) -> u64 {
        self.with(|m| m.dropped_audit_entries)
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

/// One page of `(org, uuid)`-keyed rows, ascending or descending by id.
fn page_of<T: Clone>(map: &BTreeMap<(OrgId, Uuid), T>, org: OrgId, page: &Page, newest_first: bool) -> Res<PageOf<T>> {
    let after = match &page.after {
        Some(c) => Some(Uuid::parse_str(c.as_str()).map_err(|_| StoreError::InvalidInput {
            what: "page cursor",
            reason: "was not made by this server".into(),
        })?),
        None => None,
    };
    let limit = page.effective_limit() as usize;
    let in_org = map.range((org, Uuid::nil())..=(org, Uuid::max()));
    let rows: Vec<(Uuid, T)> = if newest_first {
        in_org
            .rev()
            .filter(|((_, id), _)| after.is_none_or(|a| *id < a))
            .take(limit + 1)
            .map(|((_, id), v)| (*id, v.clone()))
            .collect()
    } else {
        in_org
            .filter(|((_, id), _)| after.is_none_or(|a| *id > a))
            .take(limit + 1)
            .map(|((_, id), v)| (*id, v.clone()))
            .collect()
    };
    let next = (rows.len() > limit).then(|| Cursor::from_text(&rows[limit - 1].0.to_string()));
    Ok(PageOf { items: rows.into_iter().take(limit).map(|(_, v)| v).collect(), next })
}

impl AuthRepo for MemoryAuthRepo {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, Res<()>> {
        let max = self.limits.max_sessions.max(1);
        ready(self.with(|m| {
            while m.sessions.len() >= max {
                let oldest = m.sessions.iter().min_by_key(|(_, s)| s.last_seen_at).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => m.sessions.remove(&k),
                    None => break,
                };
            }
            m.sessions.insert((s.org, s.id_digest.clone()), s.clone());
            Ok(())
        }))
    }

    fn get_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<Option<Session>>> {
        ready(Ok(self.with(|m| m.sessions.get(&(org, id_digest.to_owned())).cloned())))
    }

    fn touch_session<'a>(&'a self, org: OrgId, id_digest: &'a str, at: Timestamp) -> BoxFuture<'a, Res<()>> {
        self.with(|m| {
            if let Some(s) = m.sessions.get_mut(&(org, id_digest.to_owned())) {
                s.last_seen_at = at;
            }
        });
        ready(Ok(()))
    }

    fn delete_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<()>> {
        self.with(|m| m.sessions.remove(&(org, id_digest.to_owned())));
        ready(Ok(()))
    }

    fn delete_user_sessions(&self, org: OrgId, user: UserId) -> BoxFuture<'_, Res<u64>> {
        ready(Ok(self.with(|m| {
            let before = m.sessions.len();
            m.sessions.retain(|_, s| !(s.org == org && s.user == user));
            (before - m.sessions.len()) as u64
        })))
    }

    fn sweep_sessions(&self, org: OrgId, idle_before: Timestamp, started_before: Timestamp) -> BoxFuture<'_, Res<u64>> {
        ready(Ok(self.with(|m| {
            let before = m.sessions.len();
            m.sessions.retain(|_, s| s.org != org || (s.last_seen_at >= idle_before && s.created_at >= started_before));
            (before - m.sessions.len()) as u64
        })))
    }

    fn insert_api_token<'a>(&'a self, t: &'a ApiToken) -> BoxFuture<'a, Res<()>> {
        let max = self.limits.max_api_tokens;
        ready(self.with(|m| {
            if m.tokens.len() >= max {
                return Err(StoreError::InvalidInput { what: "API token", reason: format!("at most {max} tokens") });
            }
            if m.tokens.values().any(|x| x.digest == t.digest) || m.tokens.contains_key(&(t.org, t.id)) {
                return Err(StoreError::Conflict { what: "API token", detail: "duplicate".into() });
            }
            m.tokens.insert((t.org, t.id), t.clone());
            Ok(())
        }))
    }

    fn find_api_token<'a>(&'a self, org: OrgId, digest: &'a str) -> BoxFuture<'a, Res<Option<ApiToken>>> {
        ready(Ok(self.with(|m| m.tokens.values().find(|t| t.org == org && t.digest == digest).cloned())))
    }

    fn list_api_tokens<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<ApiToken>>> {
        ready(self.with(|m| page_of(&m.tokens, org, page, false)))
    }

    fn revoke_api_token(&self, org: OrgId, id: Uuid, at: Timestamp) -> BoxFuture<'_, Res<()>> {
        ready(self.with(|m| match m.tokens.get_mut(&(org, id)) {
            Some(t) => {
                t.revoked_at.get_or_insert(at);
                Ok(())
            }
            None => Err(StoreError::NotFound { what: "API token", key: id.to_string() }),
        }))
    }

    fn insert_audit<'a>(&'a self, e: &'a AuditEntry) -> BoxFuture<'a, Res<()>> {
        let max = self.limits.max_audit_entries.max(1);
        self.with(|m| {
            while m.audit.len() >= max {
                m.audit.pop_first();
                m.dropped_audit_entries += 1;
            }
            m.audit.insert((e.org, e.id), e.clone());
        });
        ready(Ok(()))
    }

    fn list_audit<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<AuditEntry>>> {
        ready(self.with(|m| page_of(&m.audit, org, page, true)))
    }
}
