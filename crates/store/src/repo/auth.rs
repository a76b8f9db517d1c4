//! Sign-in records: browser sessions, API tokens and the audit log of admin and supervisor
//! actions. The web layer decides (the `auth` crate); this module only keeps the rows.
//!
//! Never: store a session id or an API token in clear — rows carry their SHA-256 digests, which
//! the caller computes. The audit log is append-only: there is no update or delete of an entry.

use model::{OrgId, Role, Timestamp, UserId};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{self, RowReader, Value, text_opt};

/// A browser session. `id_digest` (the SHA-256 hex of the cookie value) is its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub id_digest: String,
    pub org: OrgId,
    pub user: UserId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// An API token for an integration, scoped to a role; only the digest of the token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiToken {
    /// UUID text chosen by the caller.
    pub id: String,
    pub org: OrgId,
    pub name: String,
    pub role: Role,
    pub token_digest: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One admin or supervisor action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// UUID text chosen by the caller.
    pub id: String,
    pub org: OrgId,
    pub at: Timestamp,
    pub actor_user: Option<UserId>,
    /// The username, or `token:<name>`.
    pub actor: String,
    pub role: Role,
    /// The operation ("create_skill").
    pub action: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The source address.
    pub client: String,
}

/// Most characters of an audited path (longer ones are cut, never refused: the entry matters more).
pub const MAX_AUDIT_PATH_CHARS: usize = 1024;

const SESSIONS: Table = Table {
    name: "sessions",
    what: "session",
    cols: &["id", "org_id", "user_id", "csrf_token", "created_at_ms", "last_seen_at_ms"],
};

const API_TOKENS: Table = Table {
    name: "api_tokens",
    what: "API token",
    cols: &["id", "org_id", "name", "role", "token_digest", "created_by", "created_at_ms", "revoked_at_ms"],
};

const AUDIT: Table = Table {
    name: "audit_log",
    what: "audit entry",
    cols: &["id", "org_id", "at_ms", "actor_user_id", "actor", "role", "action", "method", "path", "status", "client"],
};

fn session_from_row(r: &RowReader<'_>) -> Result<StoredSession, StoreError> {
    Ok(StoredSession {
        id_digest: r.text("id")?,
        org: r.parse("org_id")?,
        user: r.parse("user_id")?,
        csrf_token: r.text("csrf_token")?,
        created_at: r.time("created_at_ms")?,
        last_seen_at: r.time("last_seen_at_ms")?,
    })
}

fn token_from_row(r: &RowReader<'_>) -> Result<StoredApiToken, StoreError> {
    Ok(StoredApiToken {
        id: r.text("id")?,
        org: r.parse("org_id")?,
        name: r.text("name")?,
        role: r.parse("role")?,
        token_digest: r.text("token_digest")?,
        created_by: r.opt_parse("created_by")?,
        created_at: r.time("created_at_ms")?,
        revoked_at: r.opt_time("revoked_at_ms")?,
    })
}

fn audit_from_row(r: &RowReader<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: r.text("id")?,
        org: r.parse("org_id")?,
        at: r.time("at_ms")?,
        actor_user: r.opt_parse("actor_user_id")?,
        actor: r.text("actor")?,
        role: r.parse("role")?,
        action: r.text("action")?,
        method: r.text("method")?,
        path: r.text("path")?,
        status: r.uint("status")?,
        client: r.text("client")?,
    })
}

impl Store {
    /// [`StoreError::Conflict`] when the digest is already a session (never, with 256-bit ids).
    pub async fn insert_session(&self, s: &StoredSession) -> Result<(), StoreError> {
        let v = vec![
            Value::from(s.id_digest.clone()),
            Value::from(s.org.to_string()),
            Value::from(s.user.to_string()),
            Value::from(s.csrf_token.clone()),
            Value::from(s.created_at.unix_ms()),
            Value::from(s.last_seen_at.unix_ms()),
        ];
        self.insert_row(&SESSIONS, v).await
    }

    pub async fn get_session(&self, org: OrgId, id_digest: &str) -> Result<Option<StoredSession>, StoreError> {
        self.get_row(&SESSIONS, org, id_digest.to_owned(), session_from_row).await
    }

    /// Records that the session was used at `at`; a session that is gone is not an error.
    pub async fn touch_session(&self, org: OrgId, id_digest: &str, at: Timestamp) -> Result<(), StoreError> {
        let sql = "UPDATE sessions SET last_seen_at_ms = ? WHERE org_id = ? AND id = ?";
        let args = vec![Value::from(at.unix_ms()), Value::from(org.to_string()), Value::from(id_digest)];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "session", sql, args).await.map(drop)
    }

    /// Ends one session; ending one that is gone is not an error.
    pub async fn delete_session(&self, org: OrgId, id_digest: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM sessions WHERE org_id = ? AND id = ?";
        let mut conn = self.conn().await?;
        let args = vec![Value::from(org.to_string()), Value::from(id_digest)];
        sql::execute(&mut conn, self.backend, "session", sql, args).await.map(drop)
    }

    /// Ends every session of a user (password change, deactivation); returns how many.
    pub async fn delete_user_sessions(&self, org: OrgId, user: UserId) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE org_id = ? AND user_id = ?";
        let mut conn = self.conn().await?;
        let args = vec![Value::from(org.to_string()), Value::from(user.to_string())];
        sql::execute(&mut conn, self.backend, "session", sql, args).await
    }

    /// Removes sessions last used before `idle_before` or started before `started_before`, so the
    /// table holds only live sessions; returns how many went.
    pub async fn delete_expired_sessions(
        &self,
        org: OrgId,
        idle_before: Timestamp,
        started_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM sessions WHERE org_id = ? AND (last_seen_at_ms < ? OR created_at_ms < ?)";
        let args = vec![
            Value::from(org.to_string()),
            Value::from(idle_before.unix_ms()),
            Value::from(started_before.unix_ms()),
        ];
        let mut conn = self.conn().await?;
        sql::execute(&mut conn, self.backend, "session", sql, args).await
    }

    /// [`StoreError::Conflict`] when the id or the digest is taken in the org.
    pub async fn insert_api_token(&self, t: &StoredApiToken) -> Result<(), StoreError> {
        let v = vec![
            Value::from(t.id.clone()),
            Value::from(t.org.to_string()),
            Value::from(t.name.clone()),
            Value::from(t.role.as_str()),
            Value::from(t.token_digest.clone()),
            text_opt(t.created_by.as_ref()),
            Value::from(t.created_at.unix_ms()),
            Value::Int(t.revoked_at.map(Timestamp::unix_ms)),
        ];
        self.insert_row(&API_TOKENS, v).await
    }

    /// The token whose digest this is, revoked or not (the caller decides).
    pub async fn find_api_token_by_digest(
        &self,
        org: OrgId,
        digest: &str,
    ) -> Result<Option<StoredApiToken>, StoreError> {
        self.find_one(&API_TOKENS, org, "token_digest = ?", vec![Value::from(digest)], token_from_row).await
    }

    /// The org's tokens, by id (ids are time-ordered UUIDv7, so oldest first).
    pub async fn list_api_tokens(&self, org: OrgId, page: &Page) -> Result<PageOf<StoredApiToken>, StoreError> {
        self.list_rows(&API_TOKENS, org, None, Keyset::Id, page, token_from_row).await
    }

    /// Marks the token revoked at `at` (a second revocation keeps the first time);
    /// [`StoreError::NotFound`] when the org has no such token.
    pub async fn revoke_api_token(&self, org: OrgId, id: &str, at: Timestamp) -> Result<(), StoreError> {
        let sql = "UPDATE api_tokens SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE org_id = ? AND id = ?";
        let args = vec![Value::from(at.unix_ms()), Value::from(org.to_string()), Value::from(id)];
        let mut conn = self.conn().await?;
        match sql::execute(&mut conn, self.backend, "API token", sql, args).await? {
            0 => match self.get_row(&API_TOKENS, org, id.to_owned(), token_from_row).await? {
                // MySQL counts only changed rows: an already revoked token matched but changed nothing.
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound { what: "API token", key: id.to_owned() }),
            },
            _ => Ok(()),
        }
    }

    /// Appends to the audit log.
    pub async fn insert_audit_entry(&self, e: &AuditRecord) -> Result<(), StoreError> {
        let path: String = e.path.chars().take(MAX_AUDIT_PATH_CHARS).collect();
        let v = vec![
            Value::from(e.id.clone()),
            Value::from(e.org.to_string()),
            Value::from(e.at.unix_ms()),
            text_opt(e.actor_user.as_ref()),
            Value::from(e.actor.clone()),
            Value::from(e.role.as_str()),
            Value::from(e.action.clone()),
            Value::from(e.method.clone()),
            Value::from(path),
            Value::from(i64::from(e.status)),
            Value::from(e.client.clone()),
        ];
        self.insert_row(&AUDIT, v).await
    }

    /// The org's audit log, newest first.
    pub async fn list_audit_entries(&self, org: OrgId, page: &Page) -> Result<PageOf<AuditRecord>, StoreError> {
        self.list_rows(&AUDIT, org, None, Keyset::TimeDesc("at_ms"), page, audit_from_row).await
    }
}
