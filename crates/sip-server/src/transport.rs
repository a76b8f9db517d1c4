//! Sockets: one UDP socket and one TCP listener on the same address and port, the per-connection
//! tasks that frame TCP streams with the core's `frame_stream`, and [`Outbound`], which sends the
//! core's transmits on the right socket.
//!
//! No SIP logic here beyond framing: received bytes go to the engine as [`Inbound`] (parsing,
//! admission and answers happen there). Every queue and buffer is bounded by the config; a full
//! queue drops and counts, it never waits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip::message::{StreamFrame, frame_stream};
use sip::transaction::Peer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use crate::config::SipServerConfig;
use crate::counters::Metrics;

/// Largest UDP payload.
const MAX_DATAGRAM_BYTES: usize = 65_535;
/// Bytes read from a TCP stream at once.
const TCP_READ_CHUNK_BYTES: usize = 16 * 1024;

/// Bytes received, for the engine.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub bytes: Vec<u8>,
    pub peer: Peer,
}

type Connections = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

fn lock(c: &Connections) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>> {
    // The map stays consistent even if a holder panicked: each operation is one insert/remove.
    c.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends bytes to a peer over UDP, or over the TCP connection it opened to us.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    udp: Arc<UdpSocket>,
    tcp: Connections,
}

impl Outbound {
    /// False when the bytes could not be handed to a socket (the caller reports a transport error).
    pub fn send(&self, destination: &Peer, bytes: Vec<u8>) -> bool {
        if destination.is_reliable() {
            let sender = lock(&self.tcp).get(&destination.addr).cloned();
            return sender.is_some_and(|s| s.try_send(bytes).is_ok());
        }
        self.udp.try_send_to(&bytes, destination.addr).is_ok()
    }

    /// True when `addr` has an open TCP connection to us.
    pub fn has_connection(&self, addr: &SocketAddr) -> bool {
        lock(&self.tcp).contains_key(addr)
    }
}

/// The bound sockets, before their tasks start.
pub(crate) struct Bound {
    pub udp: Arc<UdpSocket>,
    pub tcp: TcpListener,
}

/// Binds UDP and TCP on `addr`. With port 0, UDP picks a free port and TCP takes the same one
/// (retried a few times in case another program took it in between).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    const ATTEMPTS_FOR_A_FREE_PORT: usize = 8;
    let mut last_error = None;
    for _ in 0..ATTEMPTS_FOR_A_FREE_PORT {
        let udp = UdpSocket::bind(addr).await.map_err(|e| with_context(e, "udp", addr))?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok(Bound { udp: Arc::new(udp), tcp }),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(with_context(e, "tcp", addr)),
        }
    }
    let e = last_error.unwrap_or_else(|| std::io::Error::other("no free port"));
    Err(with_context(e, "tcp", addr))
}

fn with_context(e: std::io::Error, transport: &str, addr: SocketAddr) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{transport} {addr}: {e}"))
}

/// Starts the UDP receive task and the TCP accept task; returns the sender side for the engine.
pub(crate) fn start(
    bound: Bound,
    config: &SipServerConfig,
    inbound: mpsc::Sender<Inbound>,
    metrics: Metrics,
    stop: watch::Receiver<bool>,
) -> (Outbound, Vec<tokio::task::JoinHandle<()>>) {
    let outbound = Outbound { udp: bound.udp.clone(), tcp: Arc::default() };
    let udp = tokio::spawn(udp_loop(bound.udp, inbound.clone(), metrics.clone(), stop.clone()));
    let accept = AcceptLoop {
        listener: bound.tcp,
        connections: outbound.tcp.clone(),
        inbound,
        metrics,
        limits: config.limits(),
        max_tcp_connections: config.max_tcp_connections,
        tcp_idle_timeout_ms: config.tcp_idle_timeout_ms,
        max_queued_writes: config.max_queued_writes_per_connection,
    };
    let tcp = tokio::spawn(accept.run(stop));
    (outbound, vec![udp, tcp])
}

fn forward(inbound: &mpsc::Sender<Inbound>, metrics: &Metrics, message: Inbound) {
    if inbound.try_send(message).is_err() {
        metrics.add(|c| c.dropped_input_queue_full += 1);
    }
}

async fn udp_loop(
    socket: Arc<UdpSocket>,
    inbound: mpsc::Sender<Inbound>,
    metrics: Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) => forward(&inbound, &metrics, Inbound { bytes: buf[..n].to_vec(), peer: Peer::udp(from) }),
                // ICMP errors of earlier sends surface here on some systems: not fatal.
                Err(e) => tracing::debug!(error = %e, "udp receive"),
            },
            _ = stop.changed() => return,
        }
    }
}

struct AcceptLoop {
    listener: TcpListener,
    connections: Connections,
    inbound: mpsc::Sender<Inbound>,
    metrics: Metrics,
    limits: sip::Limits,
    max_tcp_connections: usize,
    tcp_idle_timeout_ms: u64,
    max_queued_writes: usize,
}

impl AcceptLoop {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        loop {
            tokio::select! {
                accepted = this.listener.accept() => match accepted {
                    Ok((stream, peer)) => this.clone().open(stream, peer, stop.clone()),
                    Err(e) => {
                        tracing::warn!(error = %e, "tcp accept");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }

    fn open(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, stop: watch::Receiver<bool>) {
        let (tx, rx) = mpsc::channel(self.max_queued_writes);
        {
            let mut map = lock(&self.connections);
            if map.len() >= self.max_tcp_connections {
                self.metrics.add(|c| c.tcp_connections_refused += 1);
                return;
            }
            map.insert(peer, tx.clone());
        }
        tokio::spawn(async move {
            connection(&self, stream, peer, tx, rx, stop).await;
            lock(&self.connections).remove(&peer);
        });
    }
}

/// Reads and frames one TCP connection until it closes, goes idle, breaks framing or the server stops.
async fn connection(
    ctx: &AcceptLoop,
    stream: TcpStream,
    peer: SocketAddr,
    pong: mpsc::Sender<Vec<u8>>,
    mut writes: mpsc::Receiver<Vec<u8>>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = writes.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let idle = Duration::from_millis(ctx.tcp_idle_timeout_ms);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; TCP_READ_CHUNK_BYTES];
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout(idle, reader.read(&mut chunk)) => r,
            _ = stop.changed() => break,
        };
        let n = match read {
            Err(_) => {
                ctx.metrics.add(|c| c.tcp_idle_closed += 1);
                break;
            }
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if !drain_frames(ctx, &mut buf, peer, &pong) {
            ctx.metrics.add(|c| c.tcp_framing_errors += 1);
            break;
        }
    }
    write_task.abort();
}

/// Forwards every whole message at the front of `buf`; false when the stream cannot be framed.
fn drain_frames(ctx: &AcceptLoop, buf: &mut Vec<u8>, peer: SocketAddr, pong: &mpsc::Sender<Vec<u8>>) -> bool {
    loop {
        match frame_stream(buf, &ctx.limits) {
            Ok(StreamFrame::Incomplete) => return true,
            Ok(StreamFrame::KeepAlive { len }) => {
                // RFC 5626 §4.4.1: a double-CRLF ping is answered with a single CRLF pong.
                if len >= 4 {
                    let _ = pong.try_send(b"\r\n".to_vec());
                }
                buf.drain(..len);
            }
            Ok(StreamFrame::Message { len }) => {
                let bytes: Vec<u8> = buf.drain(..len).collect();
                forward(&ctx.inbound, &ctx.metrics, Inbound { bytes, peer: Peer::tcp(peer) });
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "tcp stream cannot be framed; closing");
                return false;
            }
        }
    }
}
