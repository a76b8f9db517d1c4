//! The agent's email reply: `POST /api/contacts/{id}/email/reply` `{"body": "..."}` → 201
//! `{"message_id": "..."}`. The agent holding the contact, or staff, may answer; the reply goes out
//! through the [`EmailOutbox`] the `hotline` binary plugs in (threaded as `Re:` with In-Reply-To and
//! References to the customer's last message) and is stored on the contact.
//! Without an outbox (no `email.smarthost`) the route answers 503.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use model::{ContactId, OrgId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};

/// Longest reply body, in characters.
pub const MAX_EMAIL_REPLY_CHARS: usize = 100_000;

/// Why a reply was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailReplyError {
    /// The contact has no email thread to answer.
    #[error("this contact has no email to answer")]
    NoThread,
    /// The relay refused or could not be reached; nothing was stored.
    #[error("the reply could not be sent: {0}")]
    Send(String),
    #[error("the reply could not be stored: {0}")]
    Store(String),
}

/// Future of one reply: the new message's Message-ID.
pub type ReplyFuture<'a> = Pin<Box<dyn Future<Output = Result<String, EmailReplyError>> + Send + 'a>>;

/// Sends an agent's reply on a contact's email thread and stores it.
pub trait EmailOutbox: Send + Sync {
    fn reply(&self, org: OrgId, contact: ContactId, body: String) -> ReplyFuture<'_>;
}

#[derive(Deserialize)]
pub(crate) struct ReplyBody {
    body: String,
}

/// `POST /api/contacts/{id}/email/reply`.
pub(crate) async fn reply(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReplyBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let contact = crate::live::ops::live_contact(&app, &c, &id).await?;
    let outbox = app
        .email
        .as_ref()
        .ok_or_else(|| Problem::of(ProblemKind::Unavailable, "email sending is not configured (email.smarthost)"))?;
    let body = req.body.trim();
    if body.is_empty() || body.chars().count() > MAX_EMAIL_REPLY_CHARS {
        return Err(Problem::of(
            ProblemKind::Validation,
            format!("body must be 1 to {MAX_EMAIL_REPLY_CHARS} characters"),
        ));
    }
    match outbox.reply(c.who.org, contact, body.to_owned()).await {
        Ok(message_id) => Ok((StatusCode::CREATED, Json(json!({ "message_id": message_id })))),
        Err(e @ EmailReplyError::NoThread) => Err(Problem::of(ProblemKind::Conflict, e.to_string())),
        Err(e @ EmailReplyError::Send(_)) => Err(Problem::of(ProblemKind::Unavailable, e.to_string())),
        Err(e @ EmailReplyError::Store(_)) => Err(Problem::of(ProblemKind::Unavailable, e.to_string())),
    }
}
