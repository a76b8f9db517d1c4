//! The UDP side: binding an RTP/RTCP port pair from the range, and receive futures that yield one
//! datagram each and end as soon as their leg is released (so a closed call's ports are freed even
//! if nothing is ever sent to them again). Must never: bind outside the range, or keep a socket
//! alive after its leg's `closed` sender is dropped.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use media::ports::PortAllocator;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::CallId;

/// The local sockets of one leg.
pub(crate) struct LocalLeg {
    pub port: u16,
    pub rtp: Arc<UdpSocket>,
    pub rtcp: Arc<UdpSocket>,
    /// Set from the SDP by `add_leg`: RTCP shares the RTP socket.
    pub rtcp_mux: bool,
    /// Dropping it ends this leg's receive futures.
    pub closed: watch::Sender<()>,
}

impl LocalLeg {
    pub fn rtp_addr(&self, ip: IpAddr) -> SocketAddr {
        SocketAddr::new(ip, self.port)
    }
}

fn bind_one(ip: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(ip, port))?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s)
}

/// Binds the next free even/odd pair. Ports another process holds are skipped (and counted in
/// `busy`); `None` when every pair of the range was tried.
pub(crate) fn bind_pair(ip: IpAddr, ports: &mut PortAllocator, capacity: usize, busy: &mut u64) -> Option<LocalLeg> {
    for _ in 0..capacity {
        let port = ports.allocate()?;
        match (bind_one(ip, port), bind_one(ip, port.wrapping_add(1))) {
            (Ok(rtp), Ok(rtcp)) => {
                let (closed, _) = watch::channel(());
                return Some(LocalLeg { port, rtp: Arc::new(rtp), rtcp: Arc::new(rtcp), rtcp_mux: false, closed });
            }
            _ => {
                *busy += 1;
                ports.release(port);
            }
        }
    }
    None
}

/// One received datagram, with what is needed to wait for the next one on the same socket.
pub(crate) struct Datagram {
    pub call: CallId,
    pub socket: Arc<UdpSocket>,
    pub closed: watch::Receiver<()>,
    pub buf: Vec<u8>,
    pub result: io::Result<(usize, SocketAddr)>,
}

pub(crate) type RecvFuture = Pin<Box<dyn Future<Output = Option<Datagram>> + Send>>;

/// Waits for one datagram on `socket`; `None` once the leg is released.
pub(crate) fn recv(
    call: CallId,
    socket: Arc<UdpSocket>,
    mut closed: watch::Receiver<()>,
    mut buf: Vec<u8>,
) -> RecvFuture {
    Box::pin(async move {
        tokio::select! {
            result = socket.recv_from(&mut buf) => Some(Datagram { call, socket, closed, buf, result }),
            _ = closed.changed() => None,
        }
    })
}
