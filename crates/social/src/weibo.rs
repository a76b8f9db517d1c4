//! Weibo private messages (粉丝服务平台) in the webhook shape.
//!
//! Inbound pushes are verified exactly like the generic webhook ([`crate::webhook::WebhookVerifier`]:
//! HMAC-SHA256 over `timestamp.body`, replay window), then parsed from Weibo's JSON
//! (`type`, `sender_id`, `receiver_id`, `text`, `data`) into a [`WeiboMessage`]. Replies are the form
//! POST `{base}/2/messages/reply.json` with `access_token`, `type=text`, `data={"text":..}` and
//! `receiver_id`, queued in an [`Outbox`] with retries. The base URL is configuration.
//!
//! Note: Weibo's own push signature scheme differs (SHA-1 of the sorted app secret, timestamp and nonce,
//! like WeChat); a relay in front of Hotline re-signs in the webhook shape. Never parses an unverified body.

use model::Timestamp;
use serde::Deserialize;

use crate::http::with_query;
use crate::outbox::{DeliveryId, Outbox, OutboxFull};
use crate::webhook::{WebhookError, WebhookVerifier};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeiboMessage {
    Text { sender_id: u64, receiver_id: u64, text: String },
    Image { sender_id: u64, receiver_id: u64, fid: u64 },
    Follow { sender_id: u64, receiver_id: u64 },
    Unfollow { sender_id: u64, receiver_id: u64 },
    Other { sender_id: u64, receiver_id: u64, kind: String },
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "type")]
    kind: String,
    sender_id: u64,
    receiver_id: u64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Verifies a push with `verifier`, then parses it.
pub fn receive(
    verifier: &mut WebhookVerifier,
    now: Timestamp,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<WeiboMessage, WebhookError> {
    verifier.verify(now, headers, body)?;
    parse(body)
}

/// Parses a push body (already verified).
pub fn parse(body: &[u8]) -> Result<WeiboMessage, WebhookError> {
    let push: Push = serde_json::from_slice(body).map_err(|e| WebhookError::BadJson(e.to_string()))?;
    let (sender_id, receiver_id) = (push.sender_id, push.receiver_id);
    let subtype = push.data.get("subtype").and_then(|s| s.as_str()).unwrap_or("");
    Ok(match push.kind.as_str() {
        "text" => WeiboMessage::Text { sender_id, receiver_id, text: push.text },
        "image" => {
            let fid = push.data.get("tovfid").or_else(|| push.data.get("vfid")).and_then(serde_json::Value::as_u64);
            let fid = fid.ok_or_else(|| WebhookError::BadJson("image without data.vfid".into()))?;
            WeiboMessage::Image { sender_id, receiver_id, fid }
        }
        "event" if subtype == "follow" => WeiboMessage::Follow { sender_id, receiver_id },
        "event" if subtype == "unfollow" => WeiboMessage::Unfollow { sender_id, receiver_id },
        other => WeiboMessage::Other { sender_id, receiver_id, kind: other.to_owned() },
    })
}

/// Queues a text reply to `receiver_id` (the follower who wrote to us).
pub fn queue_text_reply(
    outbox: &mut Outbox,
    now: Timestamp,
    base_url: &str,
    access_token: &str,
    receiver_id: u64,
    text: &str,
) -> Result<DeliveryId, OutboxFull> {
    let data = serde_json::json!({ "text": text }).to_string();
    let receiver = receiver_id.to_string();
    let form = with_query(
        "",
        &[("access_token", access_token), ("type", "text"), ("data", &data), ("receiver_id", &receiver)],
    );
    let body = form.trim_start_matches('?').as_bytes().to_vec();
    let url = format!("{}/2/messages/reply.json", base_url.trim_end_matches('/'));
    let headers = vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    outbox.enqueue(now, url, headers, body)
}
