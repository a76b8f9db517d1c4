//! The social channels' HTTP surface beside the WeChat callback (`crate::wechat`):
//! - `POST /webhooks/{channel}` (public, signed): `weibo` takes Weibo pushes in the webhook shape
//!   (`social::weibo`), `{[social] webhook_name}` the generic channel's JSON (`social::webhook`).
//!   The HMAC signature over `timestamp.body` and the timestamp's skew are checked before the body is
//!   parsed: missing, forged, stale or replayed → `401`, counted; a body over `[social]
//!   max_body_bytes` → `413`; more than `max_messages_per_sender_per_minute` from one sender →
//!   `429`. An accepted text message goes to the [`SocialChannels`] intake the binary plugs in (the
//!   same path as WeChat's): stored, and a contact on the channel through the center's ACD.
//! - `GET /api/contacts/{id}/social/messages`: the contact's messages, inbound and outbound, with
//!   each reply's delivery status (agents: their own contacts; staff: all).
//! - `POST /api/contacts/{id}/social/reply` `{"text"}` → `202` with the queued message: the agent
//!   holding the contact (or staff) answers on the contact's channel; delivery (with retries) is the
//!   binary's, and its outcome lands on the stored message.
//!
//! Without the binary's channels every route here answers `404` (webhooks) or `503`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use model::{Channel, ContactId, OrgId};
use serde::Deserialize;
use serde_json::{Value, json};
use social::flood::{FloodLimits, Flooded, SenderLimiter};
use social::webhook::{WebhookConfig, WebhookError, WebhookVerifier};
use social::weibo::{self, WeiboMessage};

use crate::AppState;
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};

/// Longest reply, in characters (WeChat's customer-service text limit is 2048 bytes of UTF-8 in
/// practice; Weibo's is shorter than this too, so the channel may still refuse and say why).
pub const MAX_SOCIAL_REPLY_CHARS: usize = 2_000;
/// Longest inbound text kept on the contact's attributes, in characters.
pub const MAX_SOCIAL_ATTRIBUTE_CHARS: usize = 2_000;
/// Most senders the flood control remembers at once.
pub const MAX_TRACKED_SENDERS: usize = 100_000;
/// Signatures remembered against replays, per channel.
pub const MAX_REMEMBERED_SIGNATURES: usize = 100_000;
/// Most messages one listing returns.
pub const MAX_LISTED_MESSAGES: u32 = 1_000;

/// A verified, parsed inbound text message for the intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSocial {
    pub channel: Channel,
    /// The customer's id on the channel (openid, Weibo uid, webhook participant id).
    pub sender_id: String,
    pub sender_name: Option<String>,
    /// Our account on the channel, as the message named it.
    pub to: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the message could not be stored: {0}")]
    Store(String),
    #[error("the contact center refused the message: {0}")]
    Center(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SocialReplyError {
    /// The contact holds no social conversation to answer.
    #[error("this contact has no social message to answer")]
    NoConversation,
    /// The contact's channel has no reply path configured.
    #[error("replies on {0} are not configured")]
    NotConfigured(Channel),
    #[error("the reply could not be queued: {0}")]
    Queue(String),
    #[error("the reply could not be stored: {0}")]
    Store(String),
}

pub type IntakeFuture<'a> = Pin<Box<dyn Future<Output = Result<ContactId, IntakeError>> + Send + 'a>>;
pub type SocialReplyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<store::SocialMessage, SocialReplyError>> + Send + 'a>>;

/// What the binary plugs in: where inbound messages go and how agents' replies leave.
pub trait SocialChannels: Send + Sync {
    /// Stores an inbound message on its conversation's contact (a new contact through the center
    /// when the sender has none open); the contact.
    fn intake(&self, message: InboundSocial) -> IntakeFuture<'_>;
    /// Stores an agent's reply as queued and hands it to the channel's outbox.
    fn reply(&self, org: OrgId, contact: ContactId, text: String) -> SocialReplyFuture<'_>;
}

/// The inbound webhook channels' settings (from `[social]`).
#[derive(Debug, Clone)]
pub struct WebhookChannels {
    /// The secret Weibo pushes are signed with (relayed in the webhook shape); `None`: off.
    pub weibo_secret: Option<Vec<u8>>,
    /// The generic channel's path name and secret; `None`: off.
    pub generic: Option<(String, Vec<u8>)>,
    pub max_clock_skew_ms: u64,
    pub max_body_bytes: usize,
    pub max_messages_per_sender_per_minute: u32,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused_signature: AtomicU64,
    refused_too_large: AtomicU64,
    refused_flood: AtomicU64,
    refused_body: AtomicU64,
}

/// The social channels as the web serves them.
pub struct SocialWeb {
    channels: Arc<dyn SocialChannels>,
    weibo: Option<Mutex<WebhookVerifier>>,
    generic: Option<(String, Mutex<WebhookVerifier>)>,
    max_body_bytes: usize,
    flood: Mutex<SenderLimiter>,
    counters: Counters,
}

impl SocialWeb {
    pub fn new(channels: Arc<dyn SocialChannels>, hooks: &WebhookChannels) -> Self {
        let verifier = |secret: &[u8]| {
            let mut config = WebhookConfig::with_secret(secret);
            config.replay_window_ms = hooks.max_clock_skew_ms;
            config.max_body_bytes = hooks.max_body_bytes;
            config.max_remembered_signatures = MAX_REMEMBERED_SIGNATURES;
            Mutex::new(WebhookVerifier::new(config))
        };
        Self {
            channels,
            weibo: hooks.weibo_secret.as_deref().map(verifier),
            generic: hooks.generic.as_ref().map(|(name, secret)| (name.clone(), verifier(secret))),
            max_body_bytes: hooks.max_body_bytes,
            flood: Mutex::new(SenderLimiter::new(FloodLimits {
                max_messages_per_window: hooks.max_messages_per_sender_per_minute,
                window_ms: 60_000,
                max_tracked_senders: MAX_TRACKED_SENDERS,
            })),
            counters: Counters::default(),
        }
    }

    pub fn channels(&self) -> &Arc<dyn SocialChannels> {
        &self.channels
    }

    /// The webhook counters in Prometheus text (for `/api/metrics`).
    pub fn render_metrics(&self) -> String {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE hotline_social_webhook_accepted_total counter\nhotline_social_webhook_accepted_total {}\n\
             # TYPE hotline_social_webhook_refused_total counter\n\
             hotline_social_webhook_refused_total{{reason=\"signature\"}} {}\n\
             hotline_social_webhook_refused_total{{reason=\"too_large\"}} {}\n\
             hotline_social_webhook_refused_total{{reason=\"flood\"}} {}\n\
             hotline_social_webhook_refused_total{{reason=\"body\"}} {}\n",
            get(&c.accepted),
            get(&c.refused_signature),
            get(&c.refused_too_large),
            get(&c.refused_flood),
            get(&c.refused_body),
        )
    }

    fn refused(&self, e: &WebhookError) -> Problem {
        let c = &self.counters;
        let (counter, kind) = match e {
            WebhookError::TooLarge { .. } => (&c.refused_too_large, ProblemKind::PayloadTooLarge),
            WebhookError::BadJson(_) => (&c.refused_body, ProblemKind::BadRequest),
            WebhookError::ReplayMemoryFull(_) => (&c.refused_flood, ProblemKind::Unavailable),
            _ => (&c.refused_signature, ProblemKind::Unauthenticated),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %e, "social webhook: refused");
        Problem::of(kind, e.to_string())
    }
}

fn social_of(app: &AppState) -> Result<&Arc<SocialWeb>, Problem> {
    app.social.as_ref().ok_or_else(|| Problem::of(ProblemKind::Unavailable, "no social channel is configured"))
}

/// `POST /webhooks/{channel}`.
pub(crate) async fn webhook(
    State(app): State<Arc<AppState>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let web = app.social.as_ref().ok_or_else(|| Problem::not_found("webhook channel"))?;
    let now = app.clock.now();
    let pairs: Vec<(&str, &str)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).take(100).collect();
    if body.len() > web.max_body_bytes {
        let e = WebhookError::TooLarge { size_bytes: body.len(), max_body_bytes: web.max_body_bytes };
        return Err(web.refused(&e));
    }
    let inbound = if channel == "weibo" {
        let verifier = web.weibo.as_ref().ok_or_else(|| Problem::not_found("webhook channel"))?;
        let parsed = {
            let mut v = verifier.lock().map_err(|_| Problem::of(ProblemKind::Internal, "verifier poisoned"))?;
            weibo::receive(&mut v, now, &pairs, &body)
        };
        match parsed.map_err(|e| web.refused(&e))? {
            WeiboMessage::Text { sender_id, receiver_id, text } => InboundSocial {
                channel: Channel::Weibo,
                sender_id: sender_id.to_string(),
                sender_name: None,
                to: receiver_id.to_string(),
                text,
            },
            // Images, follows and other events are acknowledged without a contact.
            _ => return Ok((StatusCode::OK, Json(json!({"accepted": false})))),
        }
    } else {
        let (_, verifier) = web
            .generic
            .as_ref()
            .filter(|(name, _)| *name == channel)
            .ok_or_else(|| Problem::not_found("webhook channel"))?;
        let parsed = {
            let mut v = verifier.lock().map_err(|_| Problem::of(ProblemKind::Internal, "verifier poisoned"))?;
            v.receive(now, &pairs, &body)
        };
        let message = parsed.map_err(|e| web.refused(&e))?;
        let Some(text) = message.text.filter(|t| !t.trim().is_empty()) else {
            return Ok((StatusCode::OK, Json(json!({"accepted": false}))));
        };
        InboundSocial {
            channel: Channel::Webhook,
            sender_id: message.from.id,
            sender_name: message.from.name,
            to: channel.clone(),
            text,
        }
    };
    if inbound.sender_id.is_empty() || inbound.sender_id.chars().count() > store::MAX_SOCIAL_PEER_ID_CHARS {
        web.counters.refused_body.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::validation(format!(
            "the sender id must be 1 to {} characters",
            store::MAX_SOCIAL_PEER_ID_CHARS
        )));
    }
    let flood_key = format!("{}:{}", inbound.channel, inbound.sender_id);
    let flooded = web.flood.lock().map(|mut f| f.check(now, &flood_key)).unwrap_or(Ok(()));
    if let Err(e) = flooded {
        web.counters.refused_flood.fetch_add(1, Ordering::Relaxed);
        let retry_after_ms = match e {
            Flooded::Sender { retry_after_ms, .. } => retry_after_ms,
            Flooded::TooManySenders { .. } => 60_000,
        };
        return Err(Problem::of(ProblemKind::RateLimited, e.to_string()).retry_after_ms(retry_after_ms));
    }
    match web.channels.intake(inbound).await {
        Ok(contact) => {
            web.counters.accepted.fetch_add(1, Ordering::Relaxed);
            Ok((StatusCode::OK, Json(json!({"accepted": true, "contact_id": contact.to_string()}))))
        }
        Err(e) => {
            tracing::warn!(error = %e, "social webhook: intake failed");
            Err(Problem::of(ProblemKind::Unavailable, e.to_string()))
        }
    }
}

/// The contact `id` if the caller may read its messages: staff always; an agent when the stored
/// contact is theirs or they hold it live.
async fn readable_contact(app: &AppState, c: &Caller, id: &str) -> Result<ContactId, Problem> {
    let contact: ContactId = id.parse().map_err(|_| Problem::not_found("contact"))?;
    if c.may_see(None) {
        return Ok(contact);
    }
    let stored = app.store.get_contact(c.who.org, contact).await?;
    if stored.is_some_and(|s| c.may_see(s.agent)) {
        return Ok(contact);
    }
    crate::live::ops::live_contact(app, c, id).await.map_err(|_| Problem::not_found("contact"))
}

fn message_view(m: &store::SocialMessage) -> Value {
    json!({
        "id": m.id,
        "contact_id": m.contact.to_string(),
        "channel": m.channel.to_string(),
        "direction": m.direction.as_str(),
        "peer_id": m.peer_id,
        "text": m.text,
        "status": m.status.as_str(),
        "failure_reason": m.failure_reason,
        "attempts": m.attempts,
        "at_ms": m.at.unix_ms(),
        "updated_at_ms": m.updated_at.unix_ms(),
    })
}

/// `GET /api/contacts/{id}/social/messages`.
pub(crate) async fn messages(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let contact = readable_contact(&app, &c, &id).await?;
    let items = app.store.list_social_messages(c.who.org, contact, MAX_LISTED_MESSAGES).await?;
    Ok(Json(json!({ "items": items.iter().map(message_view).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
pub(crate) struct ReplyBody {
    text: String,
}

/// `POST /api/contacts/{id}/social/reply`.
pub(crate) async fn reply(
    State(app): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReplyBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let contact = crate::live::ops::live_contact(&app, &c, &id).await?;
    let web = social_of(&app)?;
    let text = req.text.trim();
    if text.is_empty() || text.chars().count() > MAX_SOCIAL_REPLY_CHARS {
        return Err(Problem::validation(format!("text must be 1 to {MAX_SOCIAL_REPLY_CHARS} characters")));
    }
    match web.channels.reply(c.who.org, contact, text.to_owned()).await {
        Ok(message) => Ok((StatusCode::ACCEPTED, Json(message_view(&message)))),
        Err(e @ SocialReplyError::NoConversation) => Err(Problem::of(ProblemKind::Conflict, e.to_string())),
        Err(e) => Err(Problem::of(ProblemKind::Unavailable, e.to_string())),
    }
}
