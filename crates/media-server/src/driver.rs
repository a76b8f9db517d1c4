//! The media task: owns every call (its `Bridge` and local sockets), one receive future per socket
//! in a `FuturesUnordered` (only sockets with traffic are polled), and a min-heap of call
//! deadlines from `Bridge::poll_timeout`. Each input is followed by draining the call's transmits
//! to its sockets and its events to the bounded event queue.
//!
//! Must never: await on a socket or a full queue while holding calls (sends use `try_send_to`,
//! events `try_send`; failures are counted), run media logic of its own, or do file IO beyond
//! what the `Bridge` does (closing a call moves its `Bridge` to the blocking pool).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use media::bridge::{Bridge, BridgeConfig, LEGS, PacketKind, Transmit};
use media::leg::LegConfig;
use media::ports::{PortAllocator, RtpPortRange};
use media::stats::NtpClock;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::handle::CallOp;
use crate::recording::Recording;
use crate::sockets::{self, Datagram, LocalLeg, RecvFuture};
use crate::{
    CallId, CloseReport, LegId, LegSpec, MediaServerConfig, MediaServerError, MonitorMode, ServerCounters, ServerEvent,
};

type Reply<T> = oneshot::Sender<Result<T, MediaServerError>>;

/// What the handle asks of the media task.
pub(crate) enum Command {
    Allocate { reply: Reply<(CallId, SocketAddr)> },
    AllocateLeg { call: CallId, leg: LegId, reply: Reply<SocketAddr> },
    AddLeg { call: CallId, leg: LegId, spec: LegSpec, monitor: Option<MonitorMode>, reply: Reply<()> },
    RemoveLeg { call: CallId, leg: LegId, reply: Reply<()> },
    CompleteConsult { call: CallId, reply: Reply<()> },
    WithCall { call: CallId, op: CallOp },
    Close { call: CallId, reply: Reply<CloseReport> },
    Counters { reply: oneshot::Sender<ServerCounters> },
    Shutdown,
}

/// A call whose customer leg is configured: its engine and what it records to.
pub(crate) struct ActiveCall {
    pub bridge: Bridge,
    pub recording: Option<Recording>,
    legs_present: [bool; LEGS],
}

impl ActiveCall {
    pub fn has_leg(&self, call: CallId, leg: LegId) -> Result<(), MediaServerError> {
        if self.legs_present[index(leg)] { Ok(()) } else { Err(MediaServerError::NoLeg { call, leg }) }
    }
}

struct Call {
    local: [Option<LocalLeg>; LEGS],
    active: Option<ActiveCall>,
    /// The deadline this call has in the timer heap (other heap entries for it are stale).
    armed_at: Option<Instant>,
}

fn index(leg: LegId) -> usize {
    match leg {
        LegId::Customer => 0,
        LegId::Agent => 1,
        LegId::Supervisor => 2,
        LegId::Consult => 3,
    }
}

/// The leg each slot of `Call::local` serves.
const SLOTS: [LegId; LEGS] = [LegId::Customer, LegId::Agent, LegId::Supervisor, LegId::Consult];

/// Datagrams read from a ready socket before going back to the other inputs.
const MAX_DATAGRAMS_PER_WAKE: usize = 16;
/// Deadline used when no call has one (the loop still wakes on commands and datagrams).
const IDLE_WAKE: Duration = Duration::from_secs(3600);

pub(crate) struct Driver {
    config: MediaServerConfig,
    capacity: usize,
    first_port: u16,
    last_port: u16,
    ports: PortAllocator,
    calls: HashMap<CallId, Call>,
    next_call: u64,
    /// Call deadlines. A call has one live entry (`armed_at`); entries it no longer matches are
    /// stale and popped when due. Deadlines are at most one 20 ms tick ahead, so the heap holds
    /// about one entry per call plus those pushed in the last tick.
    timers: BinaryHeap<Reverse<(Instant, CallId)>>,
    recvs: FuturesUnordered<RecvFuture>,
    closing: JoinSet<()>,
    events: mpsc::Sender<ServerEvent>,
    counters: ServerCounters,
    rng: u64,
}

impl Driver {
    pub fn new(config: MediaServerConfig, range: RtpPortRange, events: mpsc::Sender<ServerEvent>) -> Self {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let hashed = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), seed);
        Self {
            capacity: range.capacity(),
            first_port: config.rtp_port_min,
            last_port: config.rtp_port_max,
            config,
            ports: PortAllocator::new(range),
            calls: HashMap::new(),
            next_call: 1,
            timers: BinaryHeap::new(),
            recvs: FuturesUnordered::new(),
            closing: JoinSet::new(),
            events,
            counters: ServerCounters::default(),
            rng: hashed | 1,
        }
    }

    /// xorshift64: SSRCs and initial sequence/timestamps (RFC 3550 wants them unpredictable, not secret).
    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> ServerCounters {
        let sleep = tokio::time::sleep(IDLE_WAKE);
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            // Re-arm the one timer only when the earliest deadline moved (not once per datagram).
            let deadline = self.timers.peek().map(|Reverse((t, _))| *t);
            if deadline != armed || sleep.is_elapsed() {
                sleep.as_mut().reset(deadline.unwrap_or_else(|| Instant::now() + IDLE_WAKE).into());
                armed = deadline;
            }
            // Unbiased: a flood of datagrams cannot starve commands, nor commands the media.
            tokio::select! {
                _ = &mut sleep => self.on_timers(Instant::now()),
                Some(d) = self.recvs.next(), if !self.recvs.is_empty() => {
                    if let Some(d) = d {
                        self.on_datagram(d);
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown) | None => break,
                    Some(cmd) => self.on_command(cmd),
                },
                Some(_) = self.closing.join_next(), if !self.closing.is_empty() => {}
            }
        }
        self.shutdown().await
    }

    async fn shutdown(mut self) -> ServerCounters {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let (reply, _) = oneshot::channel();
            self.close(id, reply);
        }
        self.recvs.clear();
        while self.closing.join_next().await.is_some() {}
        let c = &self.counters;
        tracing::info!(
            calls = c.calls_allocated,
            received = c.datagrams_received,
            sent = c.datagrams_sent,
            send_errors = c.send_errors,
            dropped_events = c.dropped_events,
            "media server stopped"
        );
        self.counters
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Allocate { reply } => {
                let _ = reply.send(self.allocate());
            }
            Command::AllocateLeg { call, leg, reply } => {
                let _ = reply.send(self.allocate_leg(call, leg));
            }
            Command::AddLeg { call, leg, spec, monitor, reply } => {
                let r = self.add_leg(call, leg, &spec, monitor);
                self.after_input(call);
                let _ = reply.send(r);
            }
            Command::RemoveLeg { call, leg, reply } => {
                let _ = reply.send(self.remove_leg(call, leg));
                self.after_input(call);
            }
            Command::CompleteConsult { call, reply } => {
                let _ = reply.send(self.complete_consult(call));
                self.after_input(call);
            }
            Command::WithCall { call, op } => {
                let now = Instant::now();
                match self.calls.get_mut(&call) {
                    None => op(Err(MediaServerError::NoSuchCall(call)), now),
                    Some(Call { active: None, .. }) => op(Err(MediaServerError::NoCustomerLeg(call)), now),
                    Some(Call { active: Some(a), .. }) => op(Ok(a), now),
                }
                self.after_input(call);
            }
            Command::Close { call, reply } => self.close(call, reply),
            Command::Counters { reply } => {
                let _ = reply.send(self.counters.clone());
            }
            Command::Shutdown => {}
        }
    }

    fn allocate(&mut self) -> Result<(CallId, SocketAddr), MediaServerError> {
        if self.calls.len() >= self.config.max_calls {
            return Err(MediaServerError::TooManyCalls { max_calls: self.config.max_calls });
        }
        let id = CallId(self.next_call);
        let local = self.bind(id)?;
        self.next_call += 1;
        let addr = local.rtp_addr(self.config.bind);
        self.calls.insert(id, Call { local: [Some(local), None, None, None], active: None, armed_at: None });
        self.counters.calls_allocated += 1;
        Ok((id, addr))
    }

    fn allocate_leg(&mut self, call: CallId, leg: LegId) -> Result<SocketAddr, MediaServerError> {
        if !self.calls.contains_key(&call) {
            return Err(MediaServerError::NoSuchCall(call));
        }
        let local = self.bind(call)?;
        let addr = local.rtp_addr(self.config.bind);
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(old) = c.local[index(leg)].replace(local)
        {
            self.ports.release(old.port);
        }
        Ok(addr)
    }

    /// Binds a port pair for a leg and starts receiving on both sockets.
    fn bind(&mut self, call: CallId) -> Result<LocalLeg, MediaServerError> {
        let Some(local) =
            sockets::bind_pair(self.config.bind, &mut self.ports, self.capacity, &mut self.counters.ports_busy)
        else {
            tracing::warn!(
                first = self.first_port,
                last = self.last_port,
                calls = self.calls.len(),
                "RTP ports exhausted"
            );
            return Err(MediaServerError::PortsExhausted { first: self.first_port, last: self.last_port });
        };
        for socket in [&local.rtp, &local.rtcp] {
            let buf = vec![0; self.config.max_datagram_bytes];
            self.recvs.push(sockets::recv(call, socket.clone(), local.closed.subscribe(), buf));
        }
        Ok(local)
    }

    fn leg_config(&mut self, spec: &LegSpec) -> LegConfig {
        let r = self.random();
        let mut c = LegConfig::new(spec.codec, spec.remote_rtp, r as u32, (r >> 32) as u16, (r >> 48) as u32);
        c.telephone_event_pt = spec.telephone_event_pt;
        c.remote_rtcp = if spec.rtcp_mux {
            None
        } else {
            Some(
                spec.remote_rtcp
                    .unwrap_or(SocketAddr::new(spec.remote_rtp.ip(), spec.remote_rtp.port().wrapping_add(1))),
            )
        };
        c.latch_from_any_ip = spec.latch_from_any_ip;
        c.inband_dtmf = spec.inband_dtmf;
        c
    }

    fn add_leg(
        &mut self,
        id: CallId,
        leg: LegId,
        spec: &LegSpec,
        monitor: Option<MonitorMode>,
    ) -> Result<(), MediaServerError> {
        let config = self.leg_config(spec);
        let bridge_config = self.bridge_config();
        let now = Instant::now();
        let call = self.calls.get_mut(&id).ok_or(MediaServerError::NoSuchCall(id))?;
        let Some(local) = call.local[index(leg)].as_mut() else {
            return Err(MediaServerError::LegNotAllocated { call: id, leg });
        };
        local.rtcp_mux = spec.rtcp_mux;
        match (leg, call.active.as_mut()) {
            (LegId::Customer, None) => {
                let bridge = Bridge::new(now, bridge_config, config);
                call.active = Some(ActiveCall { bridge, recording: None, legs_present: [true, false, false, false] });
                return Ok(());
            }
            (_, None) => return Err(MediaServerError::NoCustomerLeg(id)),
            (LegId::Customer, Some(a)) => a.bridge.renegotiate(leg, spec.remote_rtp, spec.codec),
            (LegId::Agent, Some(a)) => a.bridge.add_agent(now, config),
            (LegId::Supervisor, Some(a)) => {
                a.bridge.add_supervisor(now, config, monitor.ok_or(MediaServerError::NoMonitorMode)?)
            }
            (LegId::Consult, Some(a)) => a.bridge.add_consult(now, config),
        }
        if let Some(a) = call.active.as_mut() {
            a.legs_present[index(leg)] = true;
        }
        Ok(())
    }

    /// The consulted agent takes the call: the consult leg's sockets and media become the agent
    /// leg's, the first agent's ports are freed.
    fn complete_consult(&mut self, id: CallId) -> Result<(), MediaServerError> {
        let call = self.calls.get_mut(&id).ok_or(MediaServerError::NoSuchCall(id))?;
        let a = call.active.as_mut().ok_or(MediaServerError::NoCustomerLeg(id))?;
        a.has_leg(id, LegId::Consult)?;
        if !a.bridge.complete_consult() {
            return Err(MediaServerError::NoLeg { call: id, leg: LegId::Consult });
        }
        a.legs_present[index(LegId::Consult)] = false;
        a.legs_present[index(LegId::Agent)] = true;
        let consult = call.local[index(LegId::Consult)].take();
        if let Some(old) = std::mem::replace(&mut call.local[index(LegId::Agent)], consult) {
            self.ports.release(old.port);
        }
        Ok(())
    }

    fn remove_leg(&mut self, id: CallId, leg: LegId) -> Result<(), MediaServerError> {
        let call = self.calls.get_mut(&id).ok_or(MediaServerError::NoSuchCall(id))?;
        if leg == LegId::Customer {
            return Err(MediaServerError::CustomerLegStays(id));
        }
        let local = call.local[index(leg)].take().ok_or(MediaServerError::LegNotAllocated { call: id, leg })?;
        self.ports.release(local.port);
        if let Some(a) = call.active.as_mut() {
            match leg {
                LegId::Agent => a.bridge.remove_agent(),
                LegId::Consult => a.bridge.remove_consult(),
                _ => a.bridge.remove_supervisor(),
            }
            a.legs_present[index(leg)] = false;
        }
        Ok(())
    }

    fn bridge_config(&self) -> BridgeConfig {
        let now = Instant::now();
        let since_1970 = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // NTP counts from 1900: 70 years, 17 of them leap.
        let secs = since_1970.as_secs() + 2_208_988_800;
        let frac = (u64::from(since_1970.subsec_nanos()) << 32) / 1_000_000_000;
        let mut c = BridgeConfig::new(NtpClock::new(now, (secs << 32) | frac));
        c.media_timeout_ms = self.config.media_timeout_ms;
        c.rtcp_interval_ms = self.config.rtcp_interval_ms;
        c
    }

    fn on_datagram(&mut self, d: Datagram) {
        let Datagram { call, socket, closed, mut buf, result, .. } = d;
        // The slot that holds this socket now (a completed consult moves its sockets to the agent's).
        let slot = self.calls.get(&call).and_then(|c| {
            c.local
                .iter()
                .position(|l| l.as_ref().is_some_and(|l| Arc::ptr_eq(&l.rtp, &socket) || Arc::ptr_eq(&l.rtcp, &socket)))
        });
        let Some(slot) = slot else {
            return; // the leg was released or re-allocated: let the socket go
        };
        let leg = SLOTS[slot];
        let now = Instant::now();
        match result {
            Ok((n, from)) => self.handle_datagram(now, call, leg, from, &buf[..n]),
            Err(_) => self.counters.recv_errors += 1,
        }
        for _ in 1..MAX_DATAGRAMS_PER_WAKE {
            match socket.try_recv_from(&mut buf) {
                Ok((n, from)) => self.handle_datagram(now, call, leg, from, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => self.counters.recv_errors += 1,
            }
        }
        self.after_input(call);
        self.recvs.push(sockets::recv(call, socket, closed, buf));
    }

    fn handle_datagram(&mut self, now: Instant, call: CallId, leg: LegId, from: SocketAddr, bytes: &[u8]) {
        self.counters.datagrams_received += 1;
        match self.calls.get_mut(&call).and_then(|c| c.active.as_mut()) {
            Some(a) => a.bridge.handle_packet(now, leg, from, bytes),
            None => self.counters.datagrams_before_leg += 1,
        }
    }

    fn on_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(call) = self.calls.get_mut(&id) else { continue };
            if call.armed_at != Some(t) {
                continue; // stale entry
            }
            call.armed_at = None;
            if let Some(a) = call.active.as_mut() {
                a.bridge.handle_timeout(now);
            }
            self.after_input(id);
        }
    }

    /// After any input to a call: send what it produced, pass its events on, re-arm its timer.
    fn after_input(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(active) = call.active.as_mut() else { return };
        while let Some(t) = active.bridge.poll_transmit() {
            let sent = socket_for(&call.local, &t).map(|s| s.try_send_to(&t.contents, t.destination));
            match sent {
                Some(Ok(_)) => self.counters.datagrams_sent += 1,
                _ => self.counters.send_errors += 1,
            }
        }
        while let Some(event) = active.bridge.poll_event() {
            if self.events.try_send(ServerEvent { call: id, event }).is_err() {
                self.counters.dropped_events += 1;
            }
        }
        if let Some(t) = active.bridge.poll_timeout()
            && call.armed_at != Some(t)
        {
            call.armed_at = Some(t);
            self.timers.push(Reverse((t, id)));
        }
    }

    /// Frees the call's ports at once and stops receiving; the `Bridge` is closed on the blocking
    /// pool (recording flush + hash), then its BYEs go out and the report is returned.
    fn close(&mut self, id: CallId, reply: Reply<CloseReport>) {
        let Some(call) = self.calls.remove(&id) else {
            let _ = reply.send(Err(MediaServerError::NoSuchCall(id)));
            return;
        };
        self.counters.calls_closed += 1;
        let mut local: [Option<LocalLeg>; LEGS] = call.local;
        for l in local.iter().flatten() {
            self.ports.release(l.port);
        }
        let Some(active) = call.active else {
            let _ = reply.send(Ok(CloseReport { quality: Vec::new(), recording: None }));
            return;
        };
        let sockets = local.each_mut().map(|l| l.take().map(|l| (l.rtp, l.rtcp, l.rtcp_mux)));
        let events = self.events.clone();
        self.closing.spawn(async move {
            let mut bridge = active.bridge;
            let closed = tokio::task::spawn_blocking(move || {
                let report = bridge.close(Instant::now());
                (report, bridge)
            })
            .await;
            let Ok((report, mut bridge)) =
                closed.inspect_err(|e| tracing::error!(call = %id, error = %e, "closing a call panicked"))
            else {
                let _ = reply.send(Err(MediaServerError::Stopped));
                return;
            };
            while let Some(t) = bridge.poll_transmit() {
                let socket = sockets[index(t.leg)].as_ref().map(|(rtp, rtcp, mux)| pick(rtp, rtcp, *mux, &t));
                if let Some(s) = socket {
                    let _ = s.try_send_to(&t.contents, t.destination);
                }
            }
            while let Some(event) = bridge.poll_event() {
                let _ = events.try_send(ServerEvent { call: id, event });
            }
            let _ = reply.send(Ok(report));
        });
    }
}

fn socket_for<'a>(local: &'a [Option<LocalLeg>; LEGS], t: &Transmit) -> Option<&'a UdpSocket> {
    local[index(t.leg)].as_ref().map(|l| pick(&l.rtp, &l.rtcp, l.rtcp_mux, t))
}

/// RTCP leaves from the RTCP socket unless the leg negotiated rtcp-mux.
fn pick<'a>(rtp: &'a Arc<UdpSocket>, rtcp: &'a Arc<UdpSocket>, rtcp_mux: bool, t: &Transmit) -> &'a UdpSocket {
    match t.kind {
        PacketKind::Rtcp if !rtcp_mux => rtcp,
        _ => rtp,
    }
}
