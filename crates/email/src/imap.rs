//! IMAP polling: inbound mail fetched from a mailbox instead of received by the SMTP listener.
//!
//! Two halves, as everywhere in this crate:
//! - [`PollState`], the sans-IO decisions: which UIDs to fetch given the mailbox's UIDVALIDITY and
//!   what was skipped before, whether a message is too large to fetch, the envelope a fetched message
//!   gets, and what to do once the application answered its [`Verdict`]. No IO, no clock.
//! - [`ImapPoller`], the thin tokio shell (`async-imap` over TCP, TLS through rustls when `tls` is
//!   set): every `poll_interval_ms` it connects, logs in, selects the mailbox, asks for `UNSEEN`
//!   UIDs, and hands each message to the application as a [`Delivery`] on the same channel the SMTP
//!   listener uses, so there is one way to accept an email (`intake::receive` in the receiver).
//!
//! Invariants:
//! - a message is marked `\Seen`, deleted or moved only after the application answered
//!   [`Verdict::Accepted`]: delivery is at-least-once (a crash between acceptance and the flag
//!   re-delivers; intake drops the duplicate by Message-ID);
//! - a message over `max_message_bytes` is never downloaded: it stays unseen on the server and is
//!   counted once; so are refused (`Rejected`) and flood-limited messages;
//! - a `TemporaryFailure` stops the poll, leaving that message and the later ones for the next poll;
//! - a UIDVALIDITY change forgets every remembered UID (they name other messages now) and re-scans
//!   the unseen messages;
//! - `delete` needs the server's UIDPLUS (`UID EXPUNGE`), `move:` its MOVE extension (dovecot has both);
//! - connection and login errors never panic: they are counted, kept as `last_error`, and retried
//!   after a doubling back-off capped at `max_backoff_ms`;
//! - every set is bounded: at most `max_messages_per_poll` messages per poll, at most
//!   `max_skipped_uids` remembered skips, the per-sender window of [`crate::rate`].

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_imap::Client;
use futures_util::TryStreamExt;
use model::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::listener::{Clock, Delivery};
use crate::rate::{SenderWindow, SenderWindowLimits};
use crate::smtp::{ReceivedMessage, Verdict};

/// What happens to a message on the server once the application accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAccept {
    /// Set `\Seen`; the message stays in the mailbox.
    MarkSeen,
    /// Set `\Deleted` and `UID EXPUNGE` it.
    Delete,
    /// `UID MOVE` it to this folder.
    Move(String),
}

impl AfterAccept {
    /// `seen`, `delete` or `move:<folder>`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "seen" => Ok(AfterAccept::MarkSeen),
            "delete" => Ok(AfterAccept::Delete),
            other => match other.strip_prefix("move:").map(str::trim) {
                Some(folder) if !folder.is_empty() && folder.len() <= 255 && !folder.contains(['\r', '\n', '"']) => {
                    Ok(AfterAccept::Move(folder.to_owned()))
                }
                Some(_) => Err(format!("{value:?} names no usable folder (move:<folder>)")),
                None => Err(format!("{value:?} is not one of seen, delete, move:<folder>")),
            },
        }
    }
}

/// The bounds of the decisions in [`PollState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollLimits {
    /// Larger messages (by `RFC822.SIZE`) are not downloaded.
    pub max_message_bytes: u32,
    pub max_messages_per_poll: usize,
    /// Skipped UIDs remembered so they are not fetched and counted again; the lowest is forgotten first.
    pub max_skipped_uids: usize,
    /// Per-sender flood limit, the same kind the SMTP listener applies at MAIL FROM.
    pub flood: SenderWindowLimits,
}

/// What [`PollState::on_selected`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// The first selection of this mailbox.
    First,
    Same,
    /// UIDVALIDITY changed: everything remembered was forgotten.
    UidValidityChanged,
}

/// Why a message was left on the server untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Oversized {
        size_bytes: u32,
    },
    /// The server did not say how large it is; we do not fetch blind.
    SizeUnknown,
    FloodLimited {
        sender: String,
    },
    Rejected(String),
}

/// What to do after the application's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterVerdict {
    /// Accepted: apply this to the message on the server.
    Apply(AfterAccept),
    /// Refused for good: leave it on the server, do not fetch it again.
    Skipped,
    /// Not now: stop this poll, this message and the later ones come again next poll.
    StopPoll,
}

/// The sans-IO state of one poller: UIDVALIDITY, remembered skips, the flood window.
#[derive(Debug)]
pub struct PollState {
    limits: PollLimits,
    after: AfterAccept,
    uid_validity: Option<u32>,
    skipped: BTreeSet<u32>,
    flood: SenderWindow,
}

impl PollState {
    pub fn new(limits: PollLimits, after: AfterAccept) -> Self {
        Self { limits, after, uid_validity: None, skipped: BTreeSet::new(), flood: SenderWindow::new(limits.flood) }
    }

    /// The mailbox was selected with this UIDVALIDITY (`None` if the server did not say: treated as a change).
    pub fn on_selected(&mut self, uid_validity: Option<u32>) -> Selected {
        let previous = self.uid_validity;
        self.uid_validity = uid_validity;
        match previous {
            None if uid_validity.is_some() => Selected::First,
            Some(p) if Some(p) == uid_validity => Selected::Same,
            _ => {
                self.skipped.clear();
                Selected::UidValidityChanged
            }
        }
    }

    /// The UIDs to look at this poll: the unseen ones not skipped before, oldest first, at most
    /// `max_messages_per_poll`.
    pub fn plan(&self, unseen: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut uids: Vec<u32> = unseen.into_iter().filter(|uid| !self.skipped.contains(uid)).collect();
        uids.sort_unstable();
        uids.dedup();
        uids.truncate(self.limits.max_messages_per_poll);
        uids
    }

    /// Whether to download the message of `uid`, given the size the server reported.
    pub fn on_size(&mut self, uid: u32, size_bytes: Option<u32>) -> Result<(), Skip> {
        let skip = match size_bytes {
            Some(size_bytes) if size_bytes > self.limits.max_message_bytes => Skip::Oversized { size_bytes },
            Some(_) => return Ok(()),
            None => Skip::SizeUnknown,
        };
        self.remember_skip(uid);
        Err(skip)
    }

    /// The message the application gets for the downloaded bytes of `uid`, or why it is skipped.
    /// The envelope sender is the `Return-Path` the delivering server wrote, else the From address.
    pub fn on_message(
        &mut self,
        now: Timestamp,
        uid: u32,
        raw: &[u8],
        recipient: &str,
    ) -> Result<ReceivedMessage, Skip> {
        let mail_from = envelope_sender(raw);
        let key = if mail_from.is_empty() { "<>".to_owned() } else { mail_from.to_ascii_lowercase() };
        if self.flood.try_record(now, &key).is_err() {
            self.remember_skip(uid);
            return Err(Skip::FloodLimited { sender: key });
        }
        let rcpt_to = if recipient.contains('@') { vec![recipient.to_owned()] } else { Vec::new() };
        Ok(ReceivedMessage { helo: "imap".to_owned(), mail_from, rcpt_to, data: raw.to_vec() })
    }

    /// What to do with `uid` after the application's `verdict`.
    pub fn on_verdict(&mut self, uid: u32, verdict: &Verdict) -> AfterVerdict {
        match verdict {
            Verdict::Accepted { .. } => AfterVerdict::Apply(self.after.clone()),
            Verdict::Rejected(_) => {
                self.remember_skip(uid);
                AfterVerdict::Skipped
            }
            Verdict::TemporaryFailure(_) => AfterVerdict::StopPoll,
        }
    }

    pub fn skipped_uids(&self) -> usize {
        self.skipped.len()
    }

    fn remember_skip(&mut self, uid: u32) {
        if self.limits.max_skipped_uids == 0 {
            return;
        }
        while self.skipped.len() >= self.limits.max_skipped_uids {
            self.skipped.pop_first();
        }
        self.skipped.insert(uid);
    }
}

/// `Return-Path` (brackets removed, empty for `<>`), else the first From address, else empty.
fn envelope_sender(raw: &[u8]) -> String {
    let Some(message) = mail_parser::MessageParser::default().parse_headers(raw) else { return String::new() };
    let return_path = message
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Return-Path"))
        .and_then(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
        .map(|v| String::from_utf8_lossy(v).trim().trim_matches(|c| c == '<' || c == '>').trim().to_owned());
    if let Some(path) = return_path {
        return path;
    }
    message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_owned).unwrap_or_default()
}

/// The doubling back-off after `failures` consecutive failures (1 → `base_ms`), capped at `max_ms`.
pub fn backoff_ms(failures: u32, base_ms: u64, max_ms: u64) -> u64 {
    let shift = failures.saturating_sub(1).min(30);
    base_ms.saturating_mul(1 << shift).min(max_ms)
}

/// A password that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Everything [`ImapPoller`] needs.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (port 993 style) through rustls with the webpki roots; plain TCP otherwise.
    pub tls: bool,
    pub username: String,
    pub password: Password,
    pub mailbox: String,
    pub poll_interval_ms: u64,
    pub after: AfterAccept,
    pub limits: PollLimits,
    /// Longest one IMAP step (connect, login, one command) may take.
    pub command_timeout_ms: u64,
    /// How long to wait for the application's verdict on one message.
    pub verdict_timeout_ms: u64,
    /// First back-off after a failed poll; doubles up to `max_backoff_ms`.
    pub min_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

/// Counters of what the poller did, readable while it runs.
#[derive(Debug, Default)]
pub struct ImapStats {
    pub polls_completed: AtomicU64,
    pub polls_failed: AtomicU64,
    pub messages_fetched: AtomicU64,
    pub messages_accepted: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub messages_deferred: AtomicU64,
    pub messages_oversized: AtomicU64,
    pub messages_flood_limited: AtomicU64,
    pub uid_validity_changes: AtomicU64,
    /// The poll's error while it is failing; cleared by a poll that completes.
    pub last_error: Mutex<Option<String>>,
}

impl ImapStats {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    fn set_last_error(&self, error: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
    }
}

/// Why one poll failed. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("imap {host}:{port}: cannot connect: {reason}")]
    Connect { host: String, port: u16, reason: String },
    #[error("imap: login as {username} refused: {reason}")]
    Login { username: String, reason: String },
    #[error("imap: {step}: {reason}")]
    Command { step: &'static str, reason: String },
    #[error("imap: {step}: no answer within {timeout_ms} ms")]
    Timeout { step: &'static str, timeout_ms: u64 },
}

/// A running poller. [`ImapPoller::shutdown`] (or dropping it) stops it.
pub struct ImapPoller {
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<ImapStats>,
}

impl ImapPoller {
    /// Starts polling at once, then every `poll_interval_ms`; messages go to `deliveries`.
    pub fn start(config: ImapConfig, deliveries: mpsc::Sender<Delivery>, clock: Clock) -> Self {
        let (shutdown, stop) = watch::channel(false);
        let stats = Arc::new(ImapStats::default());
        let task = tokio::spawn(run(config, deliveries, clock, stats.clone(), stop));
        Self { shutdown, task, stats }
    }

    pub fn stats(&self) -> &ImapStats {
        &self.stats
    }

    /// Stops at once, even in the middle of a poll: a message accepted but not yet marked comes again
    /// on the next start, and intake recognises it by its Message-ID.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    config: ImapConfig,
    deliveries: mpsc::Sender<Delivery>,
    clock: Clock,
    stats: Arc<ImapStats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = PollState::new(config.limits, config.after.clone());
    let mut failures = 0u32;
    loop {
        let poll = Poll { config: &config, deliveries: &deliveries, clock: &clock, stats: &stats };
        let wait_ms = tokio::select! {
            _ = stop.changed() => return,
            result = poll.once(&mut state) => match result {
                Ok(()) => {
                    failures = 0;
                    ImapStats::count(&stats.polls_completed);
                    stats.set_last_error(None);
                    config.poll_interval_ms
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    ImapStats::count(&stats.polls_failed);
                    stats.set_last_error(Some(error.to_string()));
                    backoff_ms(failures, config.min_backoff_ms, config.max_backoff_ms).max(config.poll_interval_ms)
                }
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
        }
    }
}

struct Poll<'a> {
    config: &'a ImapConfig,
    deliveries: &'a mpsc::Sender<Delivery>,
    clock: &'a Clock,
    stats: &'a ImapStats,
}

type Session<T> = async_imap::Session<T>;

impl Poll<'_> {
    async fn once(&self, state: &mut PollState) -> Result<(), PollError> {
        let config = self.config;
        let address = (config.host.as_str(), config.port);
        let tcp = self.step("connect", TcpStream::connect(address)).await?.map_err(|e| PollError::Connect {
            host: config.host.clone(),
            port: config.port,
            reason: e.to_string(),
        })?;
        let peer = tcp.peer_addr().map_err(|e| PollError::Command { step: "connect", reason: e.to_string() })?;
        if config.tls {
            let tls = self.step("tls handshake", tls_connect(&config.host, tcp)).await??;
            self.session(state, peer, tls).await
        } else {
            self.session(state, peer, tcp).await
        }
    }

    async fn session<T>(&self, state: &mut PollState, peer: SocketAddr, stream: T) -> Result<(), PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let config = self.config;
        let mut client = Client::new(stream);
        match self.step("greeting", client.read_response()).await? {
            Ok(Some(_)) => {}
            Ok(None) => return Err(command("greeting", "connection closed")),
            Err(e) => return Err(command("greeting", e)),
        }
        let mut session = match self.step("login", client.login(&config.username, &config.password.0)).await? {
            Ok(session) => session,
            Err((e, _)) => return Err(PollError::Login { username: config.username.clone(), reason: e.to_string() }),
        };
        let result = self.mailbox(state, peer, &mut session).await;
        let _ = self.step("logout", session.logout()).await;
        result
    }

    async fn mailbox<T>(
        &self,
        state: &mut PollState,
        peer: SocketAddr,
        session: &mut Session<T>,
    ) -> Result<(), PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let selected =
            self.step("select", session.select(&self.config.mailbox)).await?.map_err(|e| command("select", e))?;
        if state.on_selected(selected.uid_validity) == Selected::UidValidityChanged {
            ImapStats::count(&self.stats.uid_validity_changes);
        }
        let unseen = self.step("search", session.uid_search("UNSEEN")).await?.map_err(|e| command("search", e))?;
        let plan = state.plan(unseen);
        if plan.is_empty() {
            return Ok(());
        }
        let sizes = self.sizes(session, &plan).await?;
        for uid in plan {
            let size = sizes.iter().find(|(u, _)| *u == uid).and_then(|(_, s)| *s);
            if state.on_size(uid, size).is_err() {
                ImapStats::count(&self.stats.messages_oversized);
                continue;
            }
            let Some(raw) = self.body(session, uid).await? else { continue };
            ImapStats::count(&self.stats.messages_fetched);
            let message = match state.on_message((self.clock)(), uid, &raw, &self.config.username) {
                Ok(message) => message,
                Err(_) => {
                    ImapStats::count(&self.stats.messages_flood_limited);
                    continue;
                }
            };
            let verdict = self.hand_over(peer, message).await;
            match state.on_verdict(uid, &verdict) {
                AfterVerdict::Apply(after) => {
                    self.apply(session, uid, &after).await?;
                    ImapStats::count(&self.stats.messages_accepted);
                }
                AfterVerdict::Skipped => ImapStats::count(&self.stats.messages_rejected),
                AfterVerdict::StopPoll => {
                    ImapStats::count(&self.stats.messages_deferred);
                    break;
                }
            }
        }
        Ok(())
    }

    async fn sizes<T>(&self, session: &mut Session<T>, uids: &[u32]) -> Result<Vec<(u32, Option<u32>)>, PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let fetches = async {
            let stream = session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
            stream.try_collect::<Vec<_>>().await
        };
        let fetches = self.step("fetch sizes", fetches).await?.map_err(|e| command("fetch sizes", e))?;
        Ok(fetches.iter().filter_map(|f| f.uid.map(|uid| (uid, f.size))).collect())
    }

    /// The whole message, without setting `\Seen` (`BODY.PEEK`); `None` if it was expunged meanwhile.
    async fn body<T>(&self, session: &mut Session<T>, uid: u32) -> Result<Option<Vec<u8>>, PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let fetches = async {
            let stream = session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?;
            stream.try_collect::<Vec<_>>().await
        };
        let fetches = self.step("fetch message", fetches).await?.map_err(|e| command("fetch message", e))?;
        Ok(fetches.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body()).map(<[u8]>::to_vec))
    }

    async fn apply<T>(&self, session: &mut Session<T>, uid: u32, after: &AfterAccept) -> Result<(), PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let uid = uid.to_string();
        let done = async {
            match after {
                AfterAccept::MarkSeen => {
                    session.uid_store(&uid, "+FLAGS.SILENT (\\Seen)").await?.try_collect::<Vec<_>>().await?;
                }
                AfterAccept::Delete => {
                    session.uid_store(&uid, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await?;
                    session.uid_expunge(&uid).await?.try_collect::<Vec<_>>().await?;
                }
                AfterAccept::Move(folder) => session.uid_mv(&uid, folder).await?,
            }
            Ok::<(), async_imap::error::Error>(())
        };
        self.step("mark accepted message", done).await?.map_err(|e| command("mark accepted message", e))
    }

    async fn hand_over(&self, peer: SocketAddr, message: ReceivedMessage) -> Verdict {
        let (tx, rx) = oneshot::channel();
        if self.deliveries.send(Delivery { peer, message, verdict: tx }).await.is_err() {
            return Verdict::TemporaryFailure("mail intake unavailable".into());
        }
        match tokio::time::timeout(Duration::from_millis(self.config.verdict_timeout_ms), rx).await {
            Ok(Ok(verdict)) => verdict,
            _ => Verdict::TemporaryFailure("mail intake did not answer".into()),
        }
    }

    async fn step<F: Future>(&self, step: &'static str, future: F) -> Result<F::Output, PollError> {
        let timeout_ms = self.config.command_timeout_ms;
        tokio::time::timeout(Duration::from_millis(timeout_ms), future)
            .await
            .map_err(|_| PollError::Timeout { step, timeout_ms })
    }
}

fn command(step: &'static str, reason: impl fmt::Display) -> PollError {
    PollError::Command { step, reason: reason.to_string() }
}

async fn tls_connect(host: &str, tcp: TcpStream) -> Result<tokio_rustls::client::TlsStream<TcpStream>, PollError> {
    use tokio_rustls::rustls::{self, pki_types::ServerName};
    let tls_error = |reason: String| PollError::Command { step: "tls handshake", reason };
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| tls_error(e.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| tls_error(e.to_string()))
}

#[cfg(test)]
mod tests;
