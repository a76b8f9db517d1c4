//! The WeChat official account's callback at `/wechat/callback` (public: WeChat signs each request
//! with the token from `[social] wechat_token`, checked by `social::wechat::CallbackVerifier`).
//! - `GET ?signature&timestamp&nonce&echostr` — the server-URL handshake: the `echostr` back.
//! - `POST ?signature&timestamp&nonce` with the message XML — a text message becomes a
//!   `Channel::WeChat` contact submitted to the center (the customer's openid as its address, the
//!   text as `wechat_text`); answered `success` (no passive reply). A redelivery (WeChat retries
//!   within seconds) is answered without a second contact. When the binary plugged in its social
//!   channels (`AppState::social`), the text goes to their intake instead: stored on the sender's
//!   open conversation or a new contact, and answerable by agents (`crate::social_channel`).
//!
//! Image, voice, video, location and link messages join the conversation as a text line
//! (`[图片 image] <PicUrl> (media <MediaId>)`, `[语音 voice] <Recognition>` or its media id,
//! `[视频 video] media <MediaId>`, `[位置 location] <Label> (<lat>, <lon>)`, `[链接 link] <Title>
//! <Url>`), so nothing the customer sent is dropped; a follow (`subscribe` event) is answered with the passive welcome reply when one is
//! configured (`[social] wechat_welcome`), and makes no contact; other events answer `success`.
//!
//! A bad or stale signature answers `403` before the body is parsed; a malformed body `400`. The
//! answers are plain text (WeChat reads no problem+json).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use center::NewContact;
use model::Channel;
use social::wechat::dedup::Deduplicator;
use social::wechat::{
    CallbackConfig, CallbackError, CallbackQuery, CallbackVerifier, PassiveReply, WeChatMessage, XmlLimits,
};

use crate::AppState;

/// How long a message's key is remembered against WeChat's retries.
pub const WECHAT_DEDUP_WINDOW_MS: u64 = 60_000;
/// Most message keys remembered.
pub const WECHAT_MAX_DEDUP_ENTRIES: usize = 10_000;
/// Longest text kept on the contact, in characters.
pub const WECHAT_MAX_TEXT_CHARS: usize = 2_000;

/// The callback's verifier, retry memory and where its contacts enter.
pub struct WeChatCallback {
    verifier: CallbackVerifier,
    dedup: Mutex<Deduplicator>,
    entry_point: String,
    welcome: Option<String>,
}

impl WeChatCallback {
    pub fn new(token: &str, max_clock_skew_ms: u64, entry_point: &str) -> Self {
        let config = CallbackConfig { token: token.to_owned(), max_clock_skew_ms, xml: XmlLimits::default() };
        Self {
            verifier: CallbackVerifier::new(config),
            dedup: Mutex::new(Deduplicator::new(WECHAT_DEDUP_WINDOW_MS, WECHAT_MAX_DEDUP_ENTRIES)),
            entry_point: entry_point.to_owned(),
            welcome: None,
        }
    }

    /// Answers a follow (`subscribe` event) with this text as a passive reply.
    pub fn with_welcome(mut self, text: Option<String>) -> Self {
        self.welcome = text;
        self
    }
}

/// The conversation line a customer's message stands for; `None` for events (no contact).
fn message_text(message: &WeChatMessage) -> Option<String> {
    match message {
        WeChatMessage::Text { content, .. } => Some(content.clone()),
        WeChatMessage::Image { pic_url, media_id, .. } => Some(format!("[图片 image] {pic_url} (media {media_id})")),
        WeChatMessage::Voice { recognition: Some(words), .. } if !words.trim().is_empty() => {
            Some(format!("[语音 voice] {}", words.trim()))
        }
        WeChatMessage::Voice { media_id, format, .. } => Some(format!("[语音 voice] media {media_id} ({format})")),
        WeChatMessage::Video { media_id, short: false, .. } => Some(format!("[视频 video] media {media_id}")),
        WeChatMessage::Video { media_id, short: true, .. } => Some(format!("[小视频 short video] media {media_id}")),
        WeChatMessage::Location { latitude, longitude, label, .. } => {
            Some(format!("[位置 location] {}({latitude}, {longitude})", then_space(label)))
        }
        WeChatMessage::Link { title, url, .. } => Some(format!("[链接 link] {}{url}", then_space(title))),
        WeChatMessage::Subscribe { .. } | WeChatMessage::Unsubscribe | WeChatMessage::Other { .. } => None,
    }
}

/// `text` and a space, or nothing when `text` is blank.
fn then_space(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() { String::new() } else { format!("{t} ") }
}

type Reply = (StatusCode, String);

fn refused(e: &CallbackError) -> Reply {
    match e {
        CallbackError::Body(_) => (StatusCode::BAD_REQUEST, e.to_string()),
        _ => (StatusCode::FORBIDDEN, e.to_string()),
    }
}

fn callback_of(app: &AppState) -> Result<&Arc<WeChatCallback>, Reply> {
    app.wechat.as_ref().ok_or((StatusCode::NOT_FOUND, "the WeChat callback is not configured".to_owned()))
}

/// `GET /wechat/callback`: the handshake.
pub(crate) async fn handshake(State(app): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Reply {
    let callback = match callback_of(&app) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let query = CallbackQuery::parse(query.as_deref().unwrap_or(""));
    match callback.verifier.handshake(app.clock.now(), &query) {
        Ok(echo) => (StatusCode::OK, echo),
        Err(e) => refused(&e),
    }
}

/// `POST /wechat/callback`: a message or event.
pub(crate) async fn receive(State(app): State<Arc<AppState>>, RawQuery(query): RawQuery, body: Bytes) -> Reply {
    let callback = match callback_of(&app) {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let now = app.clock.now();
    let query = CallbackQuery::parse(query.as_deref().unwrap_or(""));
    let message = match callback.verifier.receive(now, &query, &body) {
        Ok(m) => m,
        Err(e) => return refused(&e),
    };
    let first = callback.dedup.lock().map(|mut d| d.first_time(now, &message)).unwrap_or(true);
    if let (WeChatMessage::Subscribe { .. }, Some(welcome)) = (&message.message, &callback.welcome) {
        // The passive reply goes back in this response, also to a retry (WeChat shows it once).
        let reply = PassiveReply::Text { content: welcome.clone() };
        return (StatusCode::OK, reply.to_xml(&message, now.unix_ms().div_euclid(1_000)));
    }
    let Some(text) = message_text(&message.message) else {
        return (StatusCode::OK, "success".to_owned());
    };
    let content = &text;
    if !first {
        return (StatusCode::OK, "success".to_owned());
    }
    if let Some(web) = &app.social {
        // The binary's intake: stored on the sender's open conversation, or a new contact.
        let inbound = crate::social_channel::InboundSocial {
            channel: Channel::WeChat,
            sender_id: message.from_user.clone(),
            sender_name: None,
            to: message.to_user.clone(),
            text: content.clone(),
        };
        return match web.channels().intake(inbound).await {
            Ok(id) => {
                tracing::info!(contact = %id, "wechat: a text message was taken in");
                (StatusCode::OK, "success".to_owned())
            }
            Err(error) => {
                tracing::warn!(%error, "wechat: the message was not taken in");
                (StatusCode::SERVICE_UNAVAILABLE, "try later".to_owned())
            }
        };
    }
    let Some(center) = &app.center else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the contact center is not running".to_owned());
    };
    let mut contact = NewContact::new(Channel::WeChat, &callback.entry_point, &message.from_user);
    contact.to_address = message.to_user.clone();
    contact.attributes.insert("wechat_text".into(), content.chars().take(WECHAT_MAX_TEXT_CHARS).collect());
    match center.submit(contact).await {
        Ok(id) => {
            tracing::info!(contact = %id, "wechat: a text message was submitted as a contact");
            (StatusCode::OK, "success".to_owned())
        }
        Err(error) => {
            tracing::warn!(%error, "wechat: the center refused the message");
            // The message key is remembered: WeChat's retry of it is answered as a redelivery.
            (StatusCode::SERVICE_UNAVAILABLE, "try later".to_owned())
        }
    }
}
