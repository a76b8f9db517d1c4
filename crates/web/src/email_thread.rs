//! A contact's email thread for the agent desktop:
//! `GET /api/contacts/{id}/email/messages` → `{"contact": id, "messages": [...]}`, oldest first,
//! each message with its Message-ID, direction (`inbound` from the customer, `outbound` our
//! replies and acknowledgements), from, to, subject, when it was received or sent (`at_ms`), the
//! text body, its threading headers and its attachments' metadata.
//!
//! The body is plain text (`text`): an HTML-only message was turned into text when it was
//! received (`email::mime`), and no HTML is ever served here, so the desktop shows it as text.
//!
//! Attachments: each message lists its attachment parts, kept (`stored`, with size, SHA-256 and
//! a download path) or refused by a limit or the type lists (`refused`, with the reason).
//! `GET /api/contacts/{id}/email/attachments/{attachment_id}` downloads a kept one: its bytes as
//! received, `Content-Disposition: attachment` with the decoded (e.g. Chinese) file name, never
//! rendered by the browser (`nosniff`, a sandboxing CSP). Every download, allowed or not, is
//! written to the audit log.
//!
//! Staff read every contact's thread; an agent only the threads of contacts they handled; anyone
//! else gets 404 (the contact's existence is not revealed), like the other contact routes.
//!
//! Never: serve more than [`store::MAX_EMAIL_MESSAGES_PER_READ`] messages, a message or
//! attachment of another org or another contact, a file outside the attachments directory, or a
//! whole attachment from memory (it is streamed).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use model::{Contact, ContactId};
use serde_json::{Value, json};
use store::{AttachmentFate, EmailAttachment, EmailDirection, EmailMessage};

use crate::AppState;
use crate::api::recordings::{chunks, file_under};
use crate::api::{found, parse_id};
use crate::guard::{Caller, client_ip, record};
use crate::problem::{Problem, ProblemKind};

/// The contact `id` names, when the caller may see it; 404 otherwise.
pub(crate) async fn visible_contact(app: &AppState, c: &Caller, id: &str) -> Result<Contact, Problem> {
    let id: ContactId = parse_id(id, "contact")?;
    let contact = found(app.store.get_contact(c.who.org, id).await?, "contact")?;
    if c.may_see(contact.agent) { Ok(contact) } else { Err(Problem::not_found("contact")) }
}

/// `GET /api/contacts/{id}/email/messages`.
pub(crate) async fn messages(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let contact = visible_contact(&app, &c, &id).await?;
    let messages = app.store.list_email_messages(c.who.org, contact.id, store::MAX_EMAIL_MESSAGES_PER_READ).await?;
    let attachments =
        app.store.list_email_attachments(c.who.org, contact.id, store::MAX_EMAIL_ATTACHMENTS_PER_READ).await?;
    let mut by_message: HashMap<&str, Vec<Value>> = HashMap::new();
    for a in &attachments {
        by_message.entry(a.message_id.as_str()).or_default().push(attachment_view(contact.id, a));
    }
    Ok(Json(json!({
        "contact": contact.id.to_string(),
        "messages": messages
            .iter()
            .map(|m| message_view(m, by_message.remove(m.message_id.as_str()).unwrap_or_default()))
            .collect::<Vec<_>>(),
    })))
}

fn attachment_view(contact: ContactId, a: &EmailAttachment) -> Value {
    let (status, sha256, reason, download) = match &a.fate {
        AttachmentFate::Stored { sha256, .. } => {
            ("stored", Some(sha256.as_str()), None, Some(format!("/api/contacts/{contact}/email/attachments/{}", a.id)))
        }
        AttachmentFate::Refused { reason } => ("refused", None, Some(reason.as_str()), None),
    };
    json!({
        "id": a.id.to_string(),
        "filename": a.filename,
        "content_type": a.content_type,
        "size_bytes": a.size_bytes,
        "sha256": sha256,
        "status": status,
        "refused_reason": reason,
        "download": download,
    })
}

fn message_view(m: &EmailMessage, attachments: Vec<Value>) -> Value {
    json!({
        "message_id": m.message_id,
        "direction": match m.direction {
            EmailDirection::Inbound => "inbound",
            EmailDirection::Outbound => "outbound",
        },
        "from": m.from_address,
        "to": m.to_address,
        "subject": m.subject,
        "at_ms": m.at.unix_ms(),
        "text": m.body_text,
        "in_reply_to": m.in_reply_to,
        "references": m.references,
        "attachments": attachments,
    })
}

/// `GET /api/contacts/{id}/email/attachments/{attachment_id}`, audited.
pub(crate) async fn download_attachment(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path((id, attachment)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (path, client) = (req.uri().path().to_owned(), client_ip(&req));
    let resp = match serve_attachment(&app, &c, &id, &attachment).await {
        Ok(r) => r,
        Err(p) => p.into_response(),
    };
    record(&app, &c.who, "download_email_attachment", "GET".into(), path, resp.status().as_u16(), client).await;
    resp
}

async fn serve_attachment(app: &AppState, c: &Caller, id: &str, attachment: &str) -> Result<Response, Problem> {
    let contact = visible_contact(app, c, id).await?;
    let attachment_id: uuid::Uuid = parse_id(attachment, "attachment")?;
    let a = found(app.store.get_email_attachment(c.who.org, attachment_id).await?, "attachment")?;
    if a.contact != contact.id {
        return Err(Problem::not_found("attachment"));
    }
    let stored = match &a.fate {
        AttachmentFate::Stored { path, .. } => path,
        AttachmentFate::Refused { reason } => {
            return Err(Problem::of(ProblemKind::NotFound, format!("this attachment was not kept: {reason}")));
        }
    };
    let Some(dir) = &app.config.email_attachments_dir else {
        return Err(Problem::of(ProblemKind::NotFound, "this server keeps no attachment files"));
    };
    let Some(file_path) = file_under(dir, stored) else {
        tracing::error!(attachment = %a.id, "stored attachment path leaves the attachments directory");
        return Err(Problem::not_found("attachment file"));
    };
    let file = tokio::fs::File::open(&file_path).await.map_err(|e| {
        tracing::warn!(attachment = %a.id, error = %e, "attachment file cannot be opened");
        Problem::not_found("attachment file")
    })?;
    let size = file.metadata().await.map_err(|_| Problem::not_found("attachment file"))?.len();
    let mut resp = (StatusCode::OK, Body::from_stream(chunks(file, size))).into_response();
    let h = resp.headers_mut();
    let content_type =
        HeaderValue::from_str(&a.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    let disposition = content_disposition(a.filename.as_deref().unwrap_or("attachment"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266).
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|ch| if (ch.is_ascii_graphic() && ch != '"' && ch != '\\') || ch == ' ' { ch } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The OpenAPI `200` response of this module's routes.
pub(crate) fn response_doc(op_id: &str) -> Option<Value> {
    let text = |d: &str| json!({"type": "string", "description": d});
    let attachment = json!({"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"},
        "filename": text("decoded file name (RFC 2231 / RFC 2047, GBK and other charsets); null when the part had none"),
        "content_type": text("type/subtype as the sender declared it"),
        "size_bytes": {"type": "integer"},
        "sha256": {"type": ["string", "null"], "description": "hex SHA-256 of the stored bytes; null when refused"},
        "status": {"enum": ["stored", "refused"]},
        "refused_reason": {"type": ["string", "null"], "description": "why a refused attachment was not kept (too large, too many, type not allowed)"},
        "download": {"type": ["string", "null"], "description": "the download path, for stored attachments"},
    }});
    let message = json!({"type": "object", "properties": {
        "message_id": text("Message-ID without angle brackets"),
        "direction": {"enum": ["inbound", "outbound"], "description": "inbound: from the customer; outbound: an agent's reply or the acknowledgement"},
        "from": text("sender address"),
        "to": text("recipient address"),
        "subject": text("subject, decoded"),
        "at_ms": {"type": "integer", "description": "when it was received or sent, unix ms"},
        "text": text("plain-text body (HTML turned into text on receipt; never HTML)"),
        "in_reply_to": {"type": ["string", "null"]},
        "references": {"type": "array", "items": {"type": "string"}},
        "attachments": {"type": "array", "items": attachment},
    }});
    match op_id {
        "download_email_attachment" => Some(json!({
            "description": "the attachment's bytes as received, with Content-Disposition: attachment and its decoded file name; a refused attachment is 404 with the reason",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        })),
        "email_messages" => Some(json!({
            "description": "the contact's email thread, oldest first (at most 1000 messages)",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "contact": {"type": "string", "format": "uuid"},
                "messages": {"type": "array", "items": message},
            }}}},
        })),
        _ => None,
    }
}
