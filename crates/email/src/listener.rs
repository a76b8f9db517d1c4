//! The thin tokio shell around [`SmtpSession`]: accept, read, feed, write, hand over.
//!
//! Each accepted message goes to the application as a [`Delivery`] on an mpsc channel with a oneshot
//! for the [`Verdict`]; the client hears `250` only after the application answered `Accepted`. A
//! per-sender flood limit (a bounded [`SenderWindow`] counting transactions) answers 450 at MAIL FROM,
//! before any message bytes are transferred.
//! Connections are capped by `max_connections`, idle ones close after `idle_timeout_ms`, and
//! [`SmtpListener::shutdown`] stops accepting. No business rules here: parsing and threading live in
//! the cores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::rate::{SenderWindow, SenderWindowLimits};
use crate::smtp::{ReceivedMessage, SenderCheck, SmtpConfig, SmtpOutput, SmtpSession, Verdict};

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub bind: SocketAddr,
    pub smtp: SmtpConfig,
    pub max_connections: usize,
    pub idle_timeout_ms: u64,
    /// How long to wait for the application's verdict before answering 451.
    pub verdict_timeout_ms: u64,
    pub flood: SenderWindowLimits,
}

/// A message handed to the application; answer on `verdict`.
#[derive(Debug)]
pub struct Delivery {
    pub peer: SocketAddr,
    pub message: ReceivedMessage,
    pub verdict: oneshot::Sender<Verdict>,
}

/// Where the listener reads the time for flood windows (injected for tests).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Counters of what the listener did, readable while it runs.
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
    pub messages_accepted: AtomicU64,
    pub messages_flood_refused: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub messages_deferred: AtomicU64,
}

impl ListenerStats {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running listener. Dropping it does not stop it; call [`SmtpListener::shutdown`].
pub struct SmtpListener {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<ListenerStats>,
}

impl SmtpListener {
    pub async fn start(
        config: ListenerConfig,
        deliveries: mpsc::Sender<Delivery>,
        clock: Clock,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, stop) = watch::channel(false);
        let stats = Arc::new(ListenerStats::default());
        let flood = Mutex::new(SenderWindow::new(config.flood));
        let shared = Arc::new(Shared { config: Arc::new(config), deliveries, clock, flood, stats: stats.clone() });
        let task = tokio::spawn(accept_loop(listener, shared, stop));
        Ok(Self { local_addr, shutdown, task, stats })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> &ListenerStats {
        &self.stats
    }

    /// Stops accepting; connections in progress finish on their own (bounded by the idle timeout).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

struct Shared {
    config: Arc<ListenerConfig>,
    deliveries: mpsc::Sender<Delivery>,
    clock: Clock,
    flood: Mutex<SenderWindow>,
    stats: Arc<ListenerStats>,
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        ListenerStats::count(&shared.stats.connections_accepted);
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            serve(stream, peer, &shared).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        ListenerStats::count(&shared.stats.connections_refused);
                        let mut stream = stream;
                        let _ = stream.write_all(b"421 4.7.0 too many connections, try later\r\n").await;
                    }
                }
            }
        }
    }
}

async fn serve(mut stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let mut session = SmtpSession::new(shared.config.smtp.clone()).with_sender_check(flood_check(peer, shared));
    let idle = Duration::from_millis(shared.config.idle_timeout_ms);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                SmtpOutput::Transmit(bytes) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                SmtpOutput::Message(message) => {
                    let verdict = hand_over(peer, message, shared).await;
                    let stats = &shared.stats;
                    ListenerStats::count(match verdict {
                        Verdict::Accepted { .. } => &stats.messages_accepted,
                        Verdict::Rejected(_) => &stats.messages_rejected,
                        Verdict::TemporaryFailure(_) => &stats.messages_deferred,
                    });
                    session.handle_verdict(verdict);
                }
                SmtpOutput::Close => {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
        match tokio::time::timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => session.handle_input(buf.get(..n).unwrap_or_default()),
            Err(_) => session.handle_timeout(),
        }
    }
}

/// The per-sender flood limit as the session's MAIL FROM check.
fn flood_check(peer: SocketAddr, shared: &Arc<Shared>) -> SenderCheck {
    let shared = shared.clone();
    Box::new(move |reverse_path: &str| {
        // Bounces come from the null path: count those per peer address instead.
        let key = if reverse_path.is_empty() { format!("<>{}", peer.ip()) } else { reverse_path.to_ascii_lowercase() };
        let now = (shared.clock)();
        let allowed = match shared.flood.lock() {
            Ok(mut flood) => flood.try_record(now, &key).is_ok(),
            Err(_) => false,
        };
        if allowed {
            return Ok(());
        }
        ListenerStats::count(&shared.stats.messages_flood_refused);
        Err("too many messages from this sender, try later".into())
    })
}

async fn hand_over(peer: SocketAddr, message: ReceivedMessage, shared: &Shared) -> Verdict {
    let (tx, rx) = oneshot::channel();
    if shared.deliveries.send(Delivery { peer, message, verdict: tx }).await.is_err() {
        return Verdict::TemporaryFailure("mail intake unavailable, try later".into());
    }
    match tokio::time::timeout(Duration::from_millis(shared.config.verdict_timeout_ms), rx).await {
        Ok(Ok(verdict)) => verdict,
        _ => Verdict::TemporaryFailure("mail intake did not answer, try later".into()),
    }
}
