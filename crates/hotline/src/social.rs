//! The social channels in the running server (WeChat, Weibo, the generic webhook): the intake every
//! inbound text goes through, and the outbound driver that delivers agents' replies.
//!
//! Intake (the web's WeChat callback and `/webhooks/{channel}` call it once a message verified):
//! the customer is found by the sender id on the channel (`social_senders`) or created and linked;
//! the message joins the sender's open conversation (the contact of their last message on the
//! channel, while it has not ended) or a new contact is submitted to the center at
//! `social.entry_point` on the channel; then the message is stored (`received`). A failed store
//! write abandons a contact it just made, and the sender is answered 503 so it retries.
//!
//! Replies: [`SocialChannels::reply`] stores the reply `queued` and hands it to one driver task that
//! owns the sans-IO cores: `social::wechat::api::CustomerServiceClient` (access token fetched, cached
//! until shortly before `expires_in`, refreshed on errcode 40001/40014/42001), a `social::outbox::Outbox`
//! for Weibo's `2/messages/reply.json`, and a `social::webhook::WebhookSender` signing each attempt to
//! `social.webhook_reply_url`. The driver performs their HTTP requests (reqwest, at most
//! [`MAX_IN_FLIGHT_REQUESTS`] at once, each within [`HTTP_TIMEOUT_MS`]) and writes each outcome on
//! the stored message: `sent`, or `failed` with the reason, with the attempts made.
//!
//! A stop (SIGTERM or crash) leaves unsettled replies `queued` in the store. At start the driver
//! first loads them (oldest first, at most [`MAX_RESUMED_REPLIES`]) and hands them to the cores again
//! in that order with the same retry policy, counting on from the attempts already made; one queued
//! longer than `social.max_reply_age_ms` is marked `failed` with the reason instead. A resumed reply
//! that also arrives over the queue (accepted while the driver was loading) is sent once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ::social::http::{HttpRequest, HttpResponse, Method, RequestId};
use ::social::outbox::{DeliveryId, Outbox, OutboxEvent, OutboxLimits, RetryPolicy};
use ::social::webhook::{WebhookConfig, WebhookReply, WebhookSender};
use ::social::wechat::api::{ApiConfig, ApiEvent, CustomerServiceClient, OutboundContent, OutboundId};
use center::{CenterHandle, NewContact};
use model::{Channel, ContactId, Customer, CustomerId, OrgId, SocialId, Timestamp, VipTier};
use store::{SocialDirection, SocialMessage, SocialStatus, Store};
use tokio::sync::{mpsc, oneshot};
use web::social_channel::{
    InboundSocial, IntakeError, IntakeFuture, SocialReplyError, SocialReplyFuture, WebhookChannels,
};

/// Replies waiting for the driver task.
pub const MAX_QUEUED_REPLIES: usize = 1_000;
/// HTTP requests the driver has out at once (token, send and webhook requests together).
pub const MAX_IN_FLIGHT_REQUESTS: usize = 32;
/// How long one outbound HTTP exchange may take.
pub const HTTP_TIMEOUT_MS: u64 = 10_000;
/// Largest response body read from a channel's API.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Stored `queued` replies the driver loads at start to send again (the oldest first); more stay
/// queued in the store until the next start.
pub const MAX_RESUMED_REPLIES: u32 = 1_000;
/// Messages of one conversation read to find the one to answer.
const MAX_MESSAGES_READ: u32 = store::MAX_SOCIAL_MESSAGES_PER_READ;
/// The access token is refreshed this long before WeChat says it expires.
const TOKEN_MARGIN_MS: u64 = 300_000;
/// Wait after a refused or failed token request before asking again.
const TOKEN_RETRY_MS: u64 = 5_000;
/// Longest the driver sleeps without a due request (it wakes earlier for commands and answers).
const MAX_IDLE_MS: u64 = 60_000;
/// Shortest sleep when a core reports something already due (no busy loop while requests are out).
const MIN_WAKE_MS: u64 = 10;

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A random version-4 UUID (message and customer ids).
fn new_uuid() -> u128 {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without OS randomness the clock and a counter still keep ids distinct in this process.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes[..8].copy_from_slice(&now().unix_ms().to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    (u128::from_le_bytes(bytes) & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

/// One reply for the driver.
struct Outgoing {
    message_id: String,
    channel: Channel,
    peer: String,
    contact: ContactId,
    text: String,
    /// Attempts already made before a restart (0 for a new reply).
    attempts: u32,
}

/// The running social channels.
pub struct SocialChannels {
    shared: Arc<Shared>,
    webhooks: WebhookChannels,
    driver: tokio::task::JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

struct Shared {
    store: Store,
    org: OrgId,
    center: CenterHandle,
    entry_point: String,
    replies: mpsc::Sender<Outgoing>,
    /// Channels with a configured reply path.
    can_reply: Vec<Channel>,
}

impl SocialChannels {
    /// Starts what `[social]` configures; `None` when it configures no social channel.
    pub fn start(
        cfg: &config::SocialConfig,
        store: &Store,
        org: OrgId,
        center: &CenterHandle,
    ) -> anyhow::Result<Option<Self>> {
        if cfg.wechat_token.is_none() && cfg.wechat_api.is_none() && cfg.weibo.is_none() && cfg.webhook.is_none() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(HTTP_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let driver = Driver::new(cfg, store.clone(), org, http);
        let mut can_reply = Vec::new();
        if driver.wechat.is_some() {
            can_reply.push(Channel::WeChat);
        }
        if driver.weibo.is_some() {
            can_reply.push(Channel::Weibo);
        }
        if driver.webhook.is_some() {
            can_reply.push(Channel::Webhook);
        }
        let (tx, rx) = mpsc::channel(MAX_QUEUED_REPLIES);
        let (stop, stopped) = oneshot::channel();
        let driver = tokio::spawn(driver.run(rx, stopped));
        let shared = Arc::new(Shared {
            store: store.clone(),
            org,
            center: center.clone(),
            entry_point: cfg.entry_point.clone(),
            replies: tx,
            can_reply,
        });
        let webhooks = WebhookChannels {
            weibo_secret: cfg.weibo.as_ref().map(|w| w.secret.as_bytes().to_vec()),
            generic: cfg.webhook.as_ref().map(|w| (w.name.clone(), w.secret.as_bytes().to_vec())),
            max_clock_skew_ms: cfg.max_clock_skew_ms,
            max_body_bytes: cfg.max_body_bytes,
            max_messages_per_sender_per_minute: cfg.max_messages_per_sender_per_minute,
        };
        tracing::info!(replies = ?shared.can_reply, "social: channels are running");
        Ok(Some(Self { shared, webhooks, driver, stop }))
    }

    /// The web's view: intake, replies and the webhooks' settings.
    pub fn web(&self) -> web::social_channel::SocialWeb {
        let channels: Arc<dyn web::social_channel::SocialChannels> = self.shared.clone();
        web::social_channel::SocialWeb::new(channels, &self.webhooks)
    }

    /// Stops the driver; replies still queued stay `queued` in the store and are resumed at the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.driver).await;
    }
}

impl Shared {
    async fn customer(&self, m: &InboundSocial, at: Timestamp) -> Result<CustomerId, store::StoreError> {
        if let Some(found) = self.store.social_sender_customer(self.org, m.channel, &m.sender_id).await? {
            return Ok(found);
        }
        let name = m.sender_name.clone().filter(|n| !n.trim().is_empty());
        let customer = Customer {
            id: CustomerId::from_u128(new_uuid()),
            org: self.org,
            name: name.unwrap_or_else(|| format!("{} {}", m.channel, m.sender_id)),
            phones: Vec::new(),
            emails: Vec::new(),
            social_ids: vec![SocialId { channel: m.channel, id: m.sender_id.clone() }],
            vip: VipTier::Normal,
            attributes: Default::default(),
            language: None,
            created_at: at,
        };
        self.store.insert_customer(&customer).await?;
        if self.store.link_social_sender(self.org, m.channel, &m.sender_id, customer.id).await? {
            return Ok(customer.id);
        }
        // Another message from the same sender linked a customer first.
        Ok(self.store.social_sender_customer(self.org, m.channel, &m.sender_id).await?.unwrap_or(customer.id))
    }

    /// The sender's conversation still open on this channel, if any.
    async fn open_conversation(&self, m: &InboundSocial) -> Result<Option<ContactId>, store::StoreError> {
        let Some(last) = self.store.last_social_message_with(self.org, m.channel, &m.sender_id).await? else {
            return Ok(None);
        };
        // A contact not yet written by the center is still live.
        let stored = self.store.get_contact(self.org, last.contact).await?;
        Ok(stored.is_none_or(|c| c.ended_at.is_none()).then_some(last.contact))
    }

    async fn take(&self, m: InboundSocial) -> Result<ContactId, IntakeError> {
        let at = now();
        let store_err = |e: store::StoreError| IntakeError::Store(e.to_string());
        let open = self.open_conversation(&m).await.map_err(store_err)?;
        let contact = match open {
            Some(contact) => contact,
            None => {
                let customer = self.customer(&m, at).await.map_err(store_err)?;
                let mut new = NewContact::new(m.channel, &self.entry_point, &m.sender_id);
                new.customer = Some(customer);
                new.to_address = m.to.clone();
                let text: String = m.text.chars().take(web::social_channel::MAX_SOCIAL_ATTRIBUTE_CHARS).collect();
                if m.channel == Channel::WeChat {
                    new.attributes.insert("wechat_text".into(), text.clone());
                }
                new.attributes.insert("social_text".into(), text);
                self.center.submit(new).await.map_err(|e| IntakeError::Center(e.to_string()))?
            }
        };
        let row = SocialMessage {
            org: self.org,
            id: uuid::Uuid::from_u128(new_uuid()).to_string(),
            contact,
            channel: m.channel,
            direction: SocialDirection::Inbound,
            peer_id: m.sender_id.clone(),
            text: m.text,
            status: SocialStatus::Received,
            failure_reason: None,
            attempts: 0,
            at,
            updated_at: at,
        };
        if let Err(e) = self.store.insert_social_message(&row).await {
            if open.is_none()
                && let Err(error) = self.center.abandon(contact).await
            {
                tracing::warn!(%error, %contact, "social: abandoning the contact of an unstored message failed");
            }
            return Err(store_err(e));
        }
        tracing::info!(%contact, channel = %m.channel, joined = open.is_some(), "social: message stored");
        Ok(contact)
    }

    async fn answer(&self, org: OrgId, contact: ContactId, text: String) -> Result<SocialMessage, SocialReplyError> {
        let store_err = |e: store::StoreError| SocialReplyError::Store(e.to_string());
        let messages = self.store.list_social_messages(org, contact, MAX_MESSAGES_READ).await.map_err(store_err)?;
        let last = messages
            .iter()
            .rev()
            .find(|m| m.direction == SocialDirection::Inbound)
            .ok_or(SocialReplyError::NoConversation)?;
        if !self.can_reply.contains(&last.channel) {
            return Err(SocialReplyError::NotConfigured(last.channel));
        }
        let at = now();
        let row = SocialMessage {
            org,
            id: uuid::Uuid::from_u128(new_uuid()).to_string(),
            contact,
            channel: last.channel,
            direction: SocialDirection::Outbound,
            peer_id: last.peer_id.clone(),
            text,
            status: SocialStatus::Queued,
            failure_reason: None,
            attempts: 0,
            at,
            updated_at: at,
        };
        self.store.insert_social_message(&row).await.map_err(store_err)?;
        let outgoing = Outgoing {
            message_id: row.id.clone(),
            channel: row.channel,
            peer: row.peer_id.clone(),
            contact,
            text: row.text.clone(),
            attempts: 0,
        };
        if let Err(e) = self.replies.try_send(outgoing) {
            let reason = format!("the reply queue is full ({MAX_QUEUED_REPLIES} replies)");
            let _ =
                self.store.set_social_message_status(org, &row.id, SocialStatus::Failed, Some(&reason), 0, at).await;
            return Err(SocialReplyError::Queue(match e {
                mpsc::error::TrySendError::Full(_) => reason,
                mpsc::error::TrySendError::Closed(_) => "the social channels are stopping".to_owned(),
            }));
        }
        Ok(row)
    }
}

impl web::social_channel::SocialChannels for Shared {
    fn intake(&self, message: InboundSocial) -> IntakeFuture<'_> {
        Box::pin(self.take(message))
    }

    fn reply(&self, org: OrgId, contact: ContactId, text: String) -> SocialReplyFuture<'_> {
        Box::pin(self.answer(org, contact, text))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Core {
    WeChat,
    Weibo,
    Webhook,
}

struct WeiboOut {
    outbox: Outbox,
    access_token: String,
    api_base: String,
}

struct WebhookOut {
    sender: WebhookSender,
    url: String,
}

/// A settled reply: its message id, status, reason and attempts.
type Settled = (String, SocialStatus, Option<String>, u32);

/// The task that owns the outbound cores and performs their requests.
struct Driver {
    store: Store,
    org: OrgId,
    http: reqwest::Client,
    wechat: Option<CustomerServiceClient>,
    weibo: Option<WeiboOut>,
    webhook: Option<WebhookOut>,
    /// Message id and attempts so far of each queued WeChat reply.
    wechat_ids: HashMap<OutboundId, (String, u32)>,
    /// Message id and attempts made before a restart of each queued Weibo or webhook reply.
    weibo_ids: HashMap<DeliveryId, (String, u32)>,
    webhook_ids: HashMap<DeliveryId, (String, u32)>,
    in_flight: usize,
    /// `social.max_reply_age_ms`: the oldest reply resumed at start.
    max_reply_age_ms: u64,
    /// Ids of the replies resumed from the store, so one also on the queue is not sent twice.
    resumed: std::collections::HashSet<String>,
}

impl Driver {
    fn new(cfg: &config::SocialConfig, store: Store, org: OrgId, http: reqwest::Client) -> Self {
        let retry = RetryPolicy {
            max_attempts: cfg.retry.max_attempts,
            initial_backoff_ms: cfg.retry.initial_backoff_ms,
            max_backoff_ms: cfg.retry.max_backoff_ms,
        };
        let limits = OutboxLimits { max_queued: MAX_QUEUED_REPLIES, max_in_flight: MAX_IN_FLIGHT_REQUESTS };
        let wechat = cfg.wechat_api.as_ref().map(|api| {
            CustomerServiceClient::new(ApiConfig {
                base_url: api.api_base.clone(),
                app_id: api.app_id.clone(),
                app_secret: api.app_secret.clone(),
                token_margin_ms: TOKEN_MARGIN_MS,
                token_retry_ms: TOKEN_RETRY_MS,
                max_queued_messages: MAX_QUEUED_REPLIES,
                retry,
                max_response_bytes: MAX_RESPONSE_BYTES,
            })
        });
        let weibo = cfg.weibo.as_ref().filter(|w| !w.access_token.is_empty()).map(|w| WeiboOut {
            outbox: Outbox::new(retry, limits),
            access_token: w.access_token.clone(),
            api_base: w.api_base.clone(),
        });
        let webhook = cfg.webhook.as_ref().and_then(|w| {
            let url = w.reply_url.clone()?;
            let mut config = WebhookConfig::with_secret(w.secret.as_bytes());
            config.max_body_bytes = cfg.max_body_bytes;
            Some(WebhookOut { sender: WebhookSender::new(config, retry, limits), url })
        });
        Self {
            store,
            org,
            http,
            wechat,
            weibo,
            webhook,
            wechat_ids: HashMap::new(),
            weibo_ids: HashMap::new(),
            webhook_ids: HashMap::new(),
            in_flight: 0,
            max_reply_age_ms: cfg.max_reply_age_ms,
            resumed: std::collections::HashSet::new(),
        }
    }

    /// Hands the replies a stop left `queued` to the cores again, oldest first; one older than
    /// `max_reply_age_ms` is marked `failed` instead.
    async fn resume(&mut self, at: Timestamp) {
        let pending = match self.store.pending_social_replies(self.org, MAX_RESUMED_REPLIES).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "social: the replies left queued could not be read; they stay queued");
                return;
            }
        };
        if pending.len() >= MAX_RESUMED_REPLIES as usize {
            tracing::warn!(
                max_replies = MAX_RESUMED_REPLIES,
                "social: more replies are left queued than one start resumes; the rest wait for the next start"
            );
        }
        for m in pending {
            let age_ms = u64::try_from(at.unix_ms().saturating_sub(m.at.unix_ms())).unwrap_or(0);
            if age_ms > self.max_reply_age_ms {
                let reason = format!(
                    "not sent: still queued {age_ms} ms after it was accepted when Hotline started again \
                     (longer than social.max_reply_age_ms = {} ms)",
                    self.max_reply_age_ms
                );
                self.record((m.id, SocialStatus::Failed, Some(reason), m.attempts)).await;
                continue;
            }
            tracing::info!(message = %m.id, contact = %m.contact, attempts = m.attempts, "social: resuming a queued reply");
            self.resumed.insert(m.id.clone());
            let reply = Outgoing {
                message_id: m.id,
                channel: m.channel,
                peer: m.peer_id,
                contact: m.contact,
                text: m.text,
                attempts: m.attempts,
            };
            self.queue(at, reply).await;
        }
    }

    async fn run(mut self, mut replies: mpsc::Receiver<Outgoing>, mut stop: oneshot::Receiver<()>) {
        let (answers_tx, mut answers) =
            mpsc::channel::<(Core, RequestId, Option<HttpResponse>)>(MAX_IN_FLIGHT_REQUESTS);
        self.resume(now()).await;
        loop {
            self.pump(now(), &answers_tx);
            self.settle().await;
            let wake = self.next_wake(now());
            tokio::select! {
                _ = &mut stop => break,
                reply = replies.recv() => match reply {
                    // Accepted while the driver loaded the stored queue: already resumed.
                    Some(reply) if self.resumed.remove(&reply.message_id) => {}
                    Some(reply) => self.queue(now(), reply).await,
                    None => break,
                },
                Some((core, id, response)) = answers.recv() => {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    self.answer(now(), core, id, response);
                }
                () = tokio::time::sleep(wake) => {}
            }
        }
    }

    /// Hands a reply to its channel's core; a reply the core refuses fails at once with the reason.
    async fn queue(&mut self, at: Timestamp, r: Outgoing) {
        let refused: Option<String> = match r.channel {
            Channel::WeChat => match self.wechat.as_mut() {
                Some(client) => match client.send(&r.peer, OutboundContent::Text(r.text)) {
                    Ok(id) => {
                        self.wechat_ids.insert(id, (r.message_id.clone(), r.attempts));
                        None
                    }
                    Err(e) => Some(e.to_string()),
                },
                None => Some("WeChat replies are not configured".into()),
            },
            Channel::Weibo => match (self.weibo.as_mut(), r.peer.parse::<u64>()) {
                (Some(w), Ok(receiver)) => {
                    match ::social::weibo::queue_text_reply(
                        &mut w.outbox,
                        at,
                        &w.api_base,
                        &w.access_token,
                        receiver,
                        &r.text,
                    ) {
                        Ok(id) => {
                            self.weibo_ids.insert(id, (r.message_id.clone(), r.attempts));
                            None
                        }
                        Err(e) => Some(e.to_string()),
                    }
                }
                (None, _) => Some("Weibo replies are not configured (social.weibo_access_token)".into()),
                (_, Err(_)) => Some(format!("{:?} is not a Weibo user id", r.peer)),
            },
            Channel::Webhook => match self.webhook.as_mut() {
                Some(w) => {
                    let body = WebhookReply {
                        id: r.message_id.clone(),
                        to: r.peer.clone(),
                        conversation: r.contact.to_string(),
                        text: r.text,
                    };
                    match w.sender.send(at, &w.url, body.to_json()) {
                        Ok(id) => {
                            self.webhook_ids.insert(id, (r.message_id.clone(), r.attempts));
                            None
                        }
                        Err(e) => Some(e.to_string()),
                    }
                }
                None => Some("webhook replies are not configured (social.webhook_reply_url)".into()),
            },
            other => Some(format!("{other} is not a social channel")),
        };
        if let Some(reason) = refused {
            self.record((r.message_id, SocialStatus::Failed, Some(reason), r.attempts)).await;
        }
    }

    /// Starts every request the cores have due, within [`MAX_IN_FLIGHT_REQUESTS`].
    fn pump(&mut self, at: Timestamp, answers: &mpsc::Sender<(Core, RequestId, Option<HttpResponse>)>) {
        while self.in_flight < MAX_IN_FLIGHT_REQUESTS {
            let next = if let Some(req) = self.wechat.as_mut().and_then(|c| c.poll_request(at)) {
                if let Some(id) = self.wechat.as_ref().and_then(|c| c.outbound_of(req.id))
                    && let Some((_, attempts)) = self.wechat_ids.get_mut(&id)
                {
                    *attempts += 1;
                }
                Some((Core::WeChat, req))
            } else if let Some(req) = self.weibo.as_mut().and_then(|w| w.outbox.poll_request(at)) {
                Some((Core::Weibo, req))
            } else {
                self.webhook.as_mut().and_then(|w| w.sender.poll_request(at)).map(|req| (Core::Webhook, req))
            };
            let Some((core, request)) = next else { break };
            self.in_flight += 1;
            let (http, answers) = (self.http.clone(), answers.clone());
            tokio::spawn(async move {
                let id = request.id;
                let response = perform(&http, request).await;
                let _ = answers.send((core, id, response)).await;
            });
        }
    }

    fn answer(&mut self, at: Timestamp, core: Core, id: RequestId, response: Option<HttpResponse>) {
        match core {
            Core::WeChat => {
                if let Some(c) = self.wechat.as_mut() {
                    c.handle_response(at, id, response);
                }
            }
            Core::Weibo => {
                if let Some(w) = self.weibo.as_mut() {
                    w.outbox.handle_response(at, id, response.as_ref());
                }
            }
            Core::Webhook => {
                if let Some(w) = self.webhook.as_mut() {
                    w.sender.handle_response(at, id, response.as_ref());
                }
            }
        }
    }

    /// Writes every settled reply on its stored message.
    async fn settle(&mut self) {
        let mut settled: Vec<Settled> = Vec::new();
        while let Some(event) = self.wechat.as_mut().and_then(CustomerServiceClient::poll_event) {
            match event {
                ApiEvent::Delivered { id } => {
                    if let Some((message, attempts)) = self.wechat_ids.remove(&id) {
                        settled.push((message, SocialStatus::Sent, None, attempts));
                    }
                }
                ApiEvent::Failed { id, errcode, errmsg } => {
                    if let Some((message, attempts)) = self.wechat_ids.remove(&id) {
                        let reason = format!("WeChat errcode {errcode}: {errmsg}");
                        settled.push((message, SocialStatus::Failed, Some(reason), attempts));
                    }
                }
                ApiEvent::TokenRefused { errcode, errmsg } => {
                    tracing::warn!(errcode, %errmsg, "social: WeChat refused the access token request (app id, secret, IP whitelist?)");
                }
            }
        }
        while let Some(event) = self.weibo.as_mut().and_then(|w| w.outbox.poll_event()) {
            settled.extend(outbox_outcome(&mut self.weibo_ids, event));
        }
        while let Some(event) = self.webhook.as_mut().and_then(|w| w.sender.poll_event()) {
            settled.extend(outbox_outcome(&mut self.webhook_ids, event));
        }
        for s in settled {
            self.record(s).await;
        }
    }

    async fn record(&self, (message, status, reason, attempts): Settled) {
        tracing::info!(%message, status = status.as_str(), reason = reason.as_deref().unwrap_or(""), attempts, "social: reply settled");
        let written =
            self.store.set_social_message_status(self.org, &message, status, reason.as_deref(), attempts, now()).await;
        if let Err(error) = written {
            tracing::warn!(%error, %message, "social: a reply's delivery status was not stored");
        }
    }

    /// How long to sleep before a core has something due.
    fn next_wake(&self, at: Timestamp) -> Duration {
        let due = [
            self.wechat.as_ref().and_then(CustomerServiceClient::poll_timeout),
            self.weibo.as_ref().and_then(|w| w.outbox.poll_timeout()),
            self.webhook.as_ref().and_then(|w| w.sender.poll_timeout()),
        ];
        let wait_ms = due
            .into_iter()
            .flatten()
            .map(|t| u64::try_from(t.unix_ms().saturating_sub(at.unix_ms())).unwrap_or(0))
            .min()
            .unwrap_or(MAX_IDLE_MS);
        Duration::from_millis(wait_ms.clamp(MIN_WAKE_MS, MAX_IDLE_MS))
    }
}

/// The settled reply of an outbox event; its attempts count on from those made before a restart.
fn outbox_outcome(ids: &mut HashMap<DeliveryId, (String, u32)>, event: OutboxEvent) -> Option<Settled> {
    Some(match event {
        OutboxEvent::Delivered { id, attempts } => {
            let (message, before) = ids.remove(&id)?;
            (message, SocialStatus::Sent, None, before.saturating_add(attempts))
        }
        OutboxEvent::Rejected { id, status } => {
            let (message, before) = ids.remove(&id)?;
            (message, SocialStatus::Failed, Some(format!("refused with HTTP {status}")), before.saturating_add(1))
        }
        OutboxEvent::GaveUp { id, attempts, last_status } => {
            let (message, before) = ids.remove(&id)?;
            let last = last_status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
            (
                message,
                SocialStatus::Failed,
                Some(format!("gave up after {attempts} attempts ({last})")),
                before.saturating_add(attempts),
            )
        }
    })
}

/// Performs one request; `None` when no response came (connect error, timeout, oversized body).
async fn perform(http: &reqwest::Client, r: HttpRequest) -> Option<HttpResponse> {
    let mut request = match r.method {
        Method::Get => http.get(&r.url),
        Method::Post => http.post(&r.url).body(r.body),
    };
    for (name, value) in &r.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "social: an outbound request got no response");
            return None;
        }
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_RESPONSE_BYTES => body.extend_from_slice(&chunk),
            Ok(Some(_)) => {
                tracing::warn!(max_bytes = MAX_RESPONSE_BYTES, "social: a channel's answer was too large");
                return None;
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%error, "social: reading a channel's answer failed");
                return None;
            }
        }
    }
    Some(HttpResponse { status, body })
}
