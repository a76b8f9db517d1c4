//! Complaint alerts for supervisors and admins.
//!
//! - [`AlertService`]: one task owning the `kpi::alert` rule engine, fed the center's wrap-ups
//!   (their disposition) and transcription keyword flags ([`AlertService::keyword_flags`]); it
//!   sleeps until the engine's next timeout (time from the center's clock) and sends each raised
//!   or cleared alert to the [`AlertBoard`] and, when configured, to the signed webhook
//!   (`feeds::WebhookPoster`). It reads the center's bounded broadcast ([`AlertService::start`])
//!   or a queue the binary's event dispatcher feeds ([`AlertService::start_fed`]) and never slows
//!   the center (a lag or a full queue is logged with what was missed).
//! - [`AlertBoard`]: the recent alerts for `GET /api/alerts` (newest first, and the ones raised
//!   now), and `{"type":"alert","alert":{...}}` frames on the event stream of staff (never agents).
//!
//! Bounded: the board keeps the last `max_recent` alerts; the broadcast to event streams holds
//! [`ALERT_BROADCAST_CAPACITY`] (a stream that falls behind skips alerts, never blocks); at most
//! [`MAX_QUEUED_FLAGS`] keyword flags wait for the engine; queue names cached for at most
//! [`MAX_CACHED_QUEUE_NAMES`] queues.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use center::{CenterHandle, LiveEvent};
use kpi::alert::{AlertEvent, ComplaintAlerts, ComplaintRule, Scope, Signal};
use model::{ContactId, OrgId, QueueId};
use serde::Serialize;
use serde_json::{Value, json};
use store::Store;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::AppState;
use crate::problem::Problem;

/// Alerts buffered for event streams that have not sent them yet.
pub const ALERT_BROADCAST_CAPACITY: usize = 64;
/// Keyword flags waiting for the engine.
pub const MAX_QUEUED_FLAGS: usize = 1_000;
/// The center's wrap-ups waiting for the engine.
pub const MAX_QUEUED_EVENTS: usize = 1_000;
/// Queues whose display name is cached.
pub const MAX_CACHED_QUEUE_NAMES: usize = 1_000;
/// Recent alerts the board keeps.
pub const MAX_RECENT_ALERTS: usize = 200;
/// How long the webhook gets to deliver what is queued when the service stops.
const WEBHOOK_STOP_GRACE_MS: u64 = 2_000;

/// Whether the alert began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Raised,
    Cleared,
}

/// One alert as the API, the event stream and the webhook show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertNotice {
    /// Unique per process, increasing.
    pub id: u64,
    /// The rule's name (`[[alerts.rules]] name`).
    pub rule: String,
    pub state: AlertState,
    pub org: String,
    /// The queue's id and name; `None` for contacts without a queue.
    pub queue: Option<String>,
    pub queue_name: Option<String>,
    /// Distinct complaining contacts in the window now.
    pub complaints: u32,
    /// The rule's N: raised when more than this many.
    pub threshold: u32,
    pub window_s: u64,
    pub at_ms: i64,
}

/// The alerts shown to staff.
pub struct AlertBoard {
    recent: Mutex<VecDeque<AlertNotice>>,
    max_recent: usize,
    tx: broadcast::Sender<AlertNotice>,
}

impl AlertBoard {
    /// A board keeping the last `max_recent` alerts (at least 1).
    pub fn new(max_recent: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(ALERT_BROADCAST_CAPACITY);
        Arc::new(Self { recent: Mutex::new(VecDeque::new()), max_recent: max_recent.max(1), tx })
    }

    /// Records an alert and sends it to every open staff event stream.
    pub fn publish(&self, notice: AlertNotice) {
        {
            let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if recent.len() >= self.max_recent {
                recent.pop_front();
            }
            recent.push_back(notice.clone());
        }
        let _ = self.tx.send(notice);
    }

    /// The kept alerts, newest first.
    pub fn recent(&self) -> Vec<AlertNotice> {
        let recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.iter().rev().cloned().collect()
    }

    /// The alerts raised and not cleared since (by rule and queue), newest first.
    pub fn active(&self) -> Vec<AlertNotice> {
        let mut seen = std::collections::HashSet::new();
        self.recent()
            .into_iter()
            .filter(|n| seen.insert((n.rule.clone(), n.org.clone(), n.queue.clone())))
            .filter(|n| n.state == AlertState::Raised)
            .collect()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<AlertNotice> {
        self.tx.subscribe()
    }
}

/// The event-stream frame of an alert.
pub(crate) fn frame(notice: &AlertNotice) -> String {
    json!({"type": "alert", "alert": notice}).to_string()
}

/// The next alert for a staff stream; pending forever without a board or for an agent. A stream
/// that fell behind skips the alerts it missed (`GET /api/alerts` still lists them).
pub(crate) async fn next(rx: &mut Option<broadcast::Receiver<AlertNotice>>) -> Option<AlertNotice> {
    let Some(r) = rx.as_mut() else { return std::future::pending().await };
    loop {
        match r.recv().await {
            Ok(n) => return Some(n),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => {
                *rx = None;
                return None;
            }
        }
    }
}

/// `GET /api/alerts`: `{"active":[...], "recent":[...]}`, empty when no rule is configured.
pub(crate) async fn list(State(app): State<Arc<AppState>>) -> Result<Json<Value>, Problem> {
    let (active, recent) = match &app.alerts {
        Some(board) => (board.active(), board.recent()),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Json(json!({"configured": app.alerts.is_some(), "active": active, "recent": recent})))
}

/// A contact whose transcript or written texts (note, chat, email) matched keyword rules (the
/// `search` crate's rule names, as `transcribe::Transcriber::subscribe_flags` and the binary's
/// text indexer announce them). It counts in the queue the stored contact was in (none: the
/// org-wide scope).
#[derive(Debug, Clone)]
pub struct KeywordFlags {
    pub org: OrgId,
    pub contact: ContactId,
    pub flags: Vec<String>,
}

/// The running alert task (see the module doc).
pub struct AlertService {
    pub board: Arc<AlertBoard>,
    flags: mpsc::Sender<KeywordFlags>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Option<feeds::WebhookPoster>>,
}

impl AlertService {
    /// Starts the task on these rules (refused as `kpi::alert` refuses them), reading the
    /// center's broadcast itself.
    pub fn start(
        rules: Vec<ComplaintRule>,
        webhook: Option<feeds::WebhookPoster>,
        center: &CenterHandle,
        store: &Store,
        clock: Arc<dyn center::Clock>,
    ) -> Result<AlertService, kpi::KpiError> {
        let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
        let service = Self::start_fed(rules, webhook, rx, store, clock)?;
        tokio::spawn(forward(center.subscribe(), tx));
        Ok(service)
    }

    /// Starts the task on these rules, fed the center's events by the caller (the binary's one
    /// reader of the broadcast); it needs only `WrapUpEnded`.
    pub fn start_fed(
        rules: Vec<ComplaintRule>,
        webhook: Option<feeds::WebhookPoster>,
        events: mpsc::Receiver<LiveEvent>,
        store: &Store,
        clock: Arc<dyn center::Clock>,
    ) -> Result<AlertService, kpi::KpiError> {
        let engine = ComplaintAlerts::new(rules)?;
        let board = AlertBoard::new(MAX_RECENT_ALERTS);
        let (flags, flags_rx) = mpsc::channel(MAX_QUEUED_FLAGS);
        let (stop, stop_rx) = oneshot::channel();
        let run = Run {
            engine,
            board: Arc::clone(&board),
            webhook,
            store: store.clone(),
            clock,
            queue_names: HashMap::new(),
            next_id: 1,
        };
        let task = tokio::spawn(run.run(events, flags_rx, stop_rx));
        Ok(AlertService { board, flags, stop, task })
    }

    /// Feeds a transcript's keyword flags in; dropped (and logged) when [`MAX_QUEUED_FLAGS`] wait.
    pub fn keyword_flags(&self, flags: KeywordFlags) {
        keyword_flags_into(&self.flags, flags);
    }

    /// Where a bridge task sends keyword flags (see [`keyword_flags_into`]).
    pub fn keyword_flag_sink(&self) -> mpsc::Sender<KeywordFlags> {
        self.flags.clone()
    }

    /// Stops the task and gives the webhook a moment to deliver what is queued.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Ok(Some(webhook)) = self.task.await {
            webhook.stop(WEBHOOK_STOP_GRACE_MS).await;
        }
    }
}

/// Sends keyword flags to the service without waiting: dropped (and logged) when
/// [`MAX_QUEUED_FLAGS`] wait. Returns `false` once the service has stopped.
pub fn keyword_flags_into(sink: &mpsc::Sender<KeywordFlags>, flags: KeywordFlags) -> bool {
    match sink.try_send(flags) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("complaint alerts: keyword flags dropped (queue full)");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Copies the center's wrap-ups into the service's queue until either side closes; a lag or a
/// full queue is logged with what was missed.
async fn forward(mut events: broadcast::Receiver<LiveEvent>, tx: mpsc::Sender<LiveEvent>) {
    loop {
        match events.recv().await {
            Ok(e @ LiveEvent::WrapUpEnded { .. }) => match tx.try_send(e) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("complaint alerts: a wrap-up dropped (queue full)")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            },
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "complaint alerts fell behind the center's events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

struct Run {
    engine: ComplaintAlerts,
    board: Arc<AlertBoard>,
    webhook: Option<feeds::WebhookPoster>,
    store: Store,
    clock: Arc<dyn center::Clock>,
    queue_names: HashMap<QueueId, String>,
    next_id: u64,
}

impl Run {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<LiveEvent>,
        mut flags: mpsc::Receiver<KeywordFlags>,
        mut stop: oneshot::Receiver<()>,
    ) -> Option<feeds::WebhookPoster> {
        loop {
            let wake = self.engine.poll_timeout().map(|at| self.clock.sleep_until(at));
            let sleep = async {
                match wake {
                    Some(s) => s.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut stop => break,
                ev = events.recv() => match ev {
                    Some(LiveEvent::WrapUpEnded { org, contact, queue, disposition: Some(code), .. }) => {
                        let now = self.clock.now();
                        self.engine.handle_signal(now, Scope { org, queue }, contact, Signal::Disposition(&code));
                    }
                    Some(_) => {}
                    None => break,
                },
                Some(f) = flags.recv() => {
                    let queue = match self.store.get_contact(f.org, f.contact).await {
                        Ok(c) => c.and_then(|c| c.queue),
                        Err(e) => {
                            tracing::warn!(contact = %f.contact, error = %e, "keyword flags counted org-wide");
                            None
                        }
                    };
                    let now = self.clock.now();
                    let scope = Scope { org: f.org, queue };
                    self.engine.handle_signal(now, scope, f.contact, Signal::KeywordFlags(&f.flags));
                }
                () = sleep => self.engine.handle_timeout(self.clock.now()),
            }
            while let Some(event) = self.engine.poll_event() {
                self.publish(event).await;
            }
        }
        self.webhook
    }

    async fn publish(&mut self, event: AlertEvent) {
        let (state, rule, scope, at, complaints) = match event {
            AlertEvent::Raised { rule, scope, at, complaints } => (AlertState::Raised, rule, scope, at, complaints),
            AlertEvent::Cleared { rule, scope, at, complaints } => (AlertState::Cleared, rule, scope, at, complaints),
        };
        let Some(r) = self.engine.rule(rule) else { return };
        let (name, threshold, window_s) = (r.name.clone(), r.raise_above, r.window_ms.as_ms() / 1000);
        let queue_name = match scope.queue {
            Some(q) => self.queue_name(scope.org, q).await,
            None => None,
        };
        let notice = AlertNotice {
            id: self.next_id,
            rule: name,
            state,
            org: scope.org.to_string(),
            queue: scope.queue.map(|q| q.to_string()),
            queue_name,
            complaints,
            threshold,
            window_s,
            at_ms: at.unix_ms(),
        };
        self.next_id += 1;
        tracing::warn!(rule = %notice.rule, ?state, queue = ?notice.queue_name, complaints, "complaint alert");
        if let Some(webhook) = &self.webhook
            && let Err(e) = webhook.send(frame(&notice).into_bytes())
        {
            tracing::warn!(error = %e, "complaint alert not sent to the webhook");
        }
        self.board.publish(notice);
    }

    async fn queue_name(&mut self, org: OrgId, queue: QueueId) -> Option<String> {
        if let Some(name) = self.queue_names.get(&queue) {
            return Some(name.clone());
        }
        let q = self.store.get_queue(org, queue).await.ok().flatten()?;
        let name = if q.display_name.is_empty() { q.name.as_str().to_owned() } else { q.display_name };
        if self.queue_names.len() < MAX_CACHED_QUEUE_NAMES {
            self.queue_names.insert(queue, name.clone());
        }
        Some(name)
    }
}
