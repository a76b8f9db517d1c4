//! Where sessions, API tokens and the audit log are kept: the [`AuthRepo`] trait, implemented for
//! the database ([`store::Store`], schema version 2's `sessions`, `api_tokens` and `audit_log`
//! tables), so sessions survive restarts and are shared by every Hotline process on the database.
//! The trait keeps the HTTP layer testable with another implementation and names exactly what the
//! web layer needs from storage.
//!
//! Every method is org-scoped, like every store query. Never: keep a session id or token in clear.

use std::future::Future;
use std::pin::Pin;

use auth::session::Session;
use model::{OrgId, Role, Timestamp, UserId};
use store::{AuditRecord, Page, PageOf, Store, StoreError, StoredApiToken, StoredSession};
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

/// Sessions, tokens and the audit log in the database (the store's schema version 2 tables):
/// they survive restarts and are shared by every Hotline process on the same database.
impl AuthRepo for Store {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, Res<()>> {
        Box::pin(async move { Store::insert_session(self, &stored_session(s)).await })
    }

    fn get_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<Option<Session>>> {
        Box::pin(async move {
            Ok(Store::get_session(self, org, id_digest).await?.map(|s| Session {
                id_digest: s.id_digest,
                org: s.org,
                user: s.user,
                csrf_token: s.csrf_token,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            }))
        })
    }

    fn touch_session<'a>(&'a self, org: OrgId, id_digest: &'a str, at: Timestamp) -> BoxFuture<'a, Res<()>> {
        Box::pin(Store::touch_session(self, org, id_digest, at))
    }

    fn delete_session<'a>(&'a self, org: OrgId, id_digest: &'a str) -> BoxFuture<'a, Res<()>> {
        Box::pin(Store::delete_session(self, org, id_digest))
    }

    fn delete_user_sessions(&self, org: OrgId, user: UserId) -> BoxFuture<'_, Res<u64>> {
        Box::pin(Store::delete_user_sessions(self, org, user))
    }

    fn sweep_sessions(&self, org: OrgId, idle_before: Timestamp, started_before: Timestamp) -> BoxFuture<'_, Res<u64>> {
        Box::pin(self.delete_expired_sessions(org, idle_before, started_before))
    }

    fn insert_api_token<'a>(&'a self, t: &'a ApiToken) -> BoxFuture<'a, Res<()>> {
        Box::pin(async move {
            let stored = StoredApiToken {
                id: t.id.to_string(),
                org: t.org,
                name: t.name.clone(),
                role: t.role,
                token_digest: t.digest.clone(),
                created_by: t.created_by,
                created_at: t.created_at,
                revoked_at: t.revoked_at,
            };
            Store::insert_api_token(self, &stored).await
        })
    }

    fn find_api_token<'a>(&'a self, org: OrgId, digest: &'a str) -> BoxFuture<'a, Res<Option<ApiToken>>> {
        Box::pin(async move { self.find_api_token_by_digest(org, digest).await?.map(api_token).transpose() })
    }

    fn list_api_tokens<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<ApiToken>>> {
        Box::pin(async move {
            let p = Store::list_api_tokens(self, org, page).await?;
            Ok(PageOf { items: p.items.into_iter().map(api_token).collect::<Res<_>>()?, next: p.next })
        })
    }

    fn revoke_api_token(&self, org: OrgId, id: Uuid, at: Timestamp) -> BoxFuture<'_, Res<()>> {
        Box::pin(async move { Store::revoke_api_token(self, org, &id.to_string(), at).await })
    }

    fn insert_audit<'a>(&'a self, e: &'a AuditEntry) -> BoxFuture<'a, Res<()>> {
        Box::pin(async move {
            let record = AuditRecord {
                id: e.id.to_string(),
                org: e.org,
                at: e.at,
                actor_user: e.actor_user,
                actor: e.actor.clone(),
                role: e.role,
                action: e.action.clone(),
                method: e.method.clone(),
                path: e.path.clone(),
                status: e.status,
                client: e.client.clone(),
            };
            self.insert_audit_entry(&record).await
        })
    }

    fn list_audit<'a>(&'a self, org: OrgId, page: &'a Page) -> BoxFuture<'a, Res<PageOf<AuditEntry>>> {
        Box::pin(async move {
            let p = self.list_audit_entries(org, page).await?;
            let items = p
                .items
                .into_iter()
                .map(|r| {
                    Ok(AuditEntry {
                        id: stored_uuid("audit_log.id", &r.id)?,
                        org: r.org,
                        at: r.at,
                        actor_user: r.actor_user,
                        actor: r.actor,
                        role: r.role,
                        action: r.action,
                        method: r.method,
                        path: r.path,
                        status: r.status,
                        client: r.client,
                    })
                })
                .collect::<Res<_>>()?;
            Ok(PageOf { items, next: p.next })
        })
    }
}

fn stored_session(s: &Session) -> StoredSession {
    StoredSession {
        id_digest: s.id_digest.clone(),
        org: s.org,
        user: s.user,
        csrf_token: s.csrf_token.clone(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
    }
}

fn stored_uuid(what: &str, text: &str) -> Res<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| StoreError::Corrupt { what: what.to_owned(), reason: format!("{text:?} is not a UUID") })
}

fn api_token(t: StoredApiToken) -> Res<ApiToken> {
    Ok(ApiToken {
        id: stored_uuid("api_tokens.id", &t.id)?,
        org: t.org,
        name: t.name,
        role: t.role,
        digest: t.token_digest,
        created_by: t.created_by,
        created_at: t.created_at,
        revoked_at: t.revoked_at,
    })
}
