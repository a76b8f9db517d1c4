//! The sans-IO media engine of one call: a customer leg, optionally an agent leg and a supervisor
//! leg, and what each of them hears. Packets and time go in (`handle_packet`, `handle_timeout`),
//! packets, timers and events come out (`poll_transmit`, `poll_timeout`, `poll_event`).
//!
//! - **Relay**: when connected, RTP from one leg is forwarded to the other at once (no jitter
//!   buffer on that path), re-stamped with the far side's SSRC/sequence/timestamp line and
//!   transcoded µ↔A when the packet's law differs from the other leg's codec; RFC 4733 events are
//!   passed through too. A leg takes audio in either G.711 law (payload type 0 or 8), whichever
//!   was negotiated: a caller answered PCMU may still send the PCMA it offered.
//! - **Prompts / music on hold**: a leg's feed can be a [`Playback`]; frames are generated every
//!   20 ms tick. Switching feeds keeps the far end's sequence/timestamps monotonic (marker set).
//! - **NAT latching**: each leg learns its remote address from the first valid RTP packet
//!   (see [`LegConfig::latch_from_any_ip`]); later packets from elsewhere are dropped and counted.
//! - **Media timeout**: no RTP on a leg for `media_timeout_ms` → [`MediaEvent::MediaTimeout`].
//! - **Monitoring**: a supervisor leg hears customer + agent mixed (listen); in whisper mode its
//!   audio is mixed into what the agent hears, never into the customer's leg.
//! - **Consult** (attended transfer): a consult leg (a second agent) talks with the agent while
//!   the customer is held; completing it makes the consult leg the agent leg (the first agent's
//!   leg is dropped), cancelling it drops the consult leg.
//! - **Recording**: each tick, what the customer said (left) and the agent said (right), taken
//!   from the legs' jitter buffers, goes to a [`RecordingSink`].
//!
//! Must never: do IO itself, read a clock, panic on a datagram, or queue without limit.
//!
//! The loop a UDP shell runs around it:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media::bridge::{Bridge, BridgeConfig, LegId};
//! use media::codec::Codec;
//! use media::leg::LegConfig;
//! use media::prompt::Playback;
//! use media::stats::NtpClock;
//!
//! let t0 = Instant::now();
//! let customer = LegConfig::new(Codec::Pcmu, "192.0.2.1:4000".parse().expect("literal"), 0x1234, 1, 160);
//! let mut call = Bridge::new(t0, BridgeConfig::new(NtpClock::new(t0, 0)), customer);
//! call.play(LegId::Customer, Playback::new(vec![vec![0i16; 1600].into()], true));
//! // socket.recv_from → call.handle_packet(now, LegId::Customer, from, &buf[..n]);
//! let mut sent = 0;
//! let mut now = t0;
//! while now < t0 + Duration::from_millis(200) {
//!     now = call.poll_timeout().expect("a call always has a next tick");
//!     call.handle_timeout(now);
//!     while let Some(t) = call.poll_transmit() {
//!         sent += 1; // socket(t.leg, t.kind).send_to(&t.contents, t.destination)
//!     }
//!     while let Some(_event) = call.poll_event() {}
//! }
//! assert_eq!(sent, 10); // 200 ms of prompt = ten 20 ms packets
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::SAMPLES_PER_FRAME;
use crate::dtmf::{DtmfDigit, DtmfQueueFull};
use crate::error::AudioError;
use crate::leg::{Leg, LegConfig, LegCounters};
use crate::prompt::{Playback, PlaybackEnd};
use crate::quality::QualitySummary;
use crate::recorder::{RecordingInfo, StereoRecorder};
use crate::stats::NtpClock;

mod io;

/// The parties of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegId {
    Customer,
    Agent,
    Supervisor,
    /// The agent consulted during an attended transfer.
    Consult,
}

impl LegId {
    fn index(self) -> usize {
        match self {
            LegId::Customer => 0,
            LegId::Agent => 1,
            LegId::Supervisor => 2,
            LegId::Consult => 3,
        }
    }
    const ALL: [LegId; LEGS] = [LegId::Customer, LegId::Agent, LegId::Supervisor, LegId::Consult];
}

/// Legs a call can have at once.
pub const LEGS: usize = 4;

/// RTP or RTCP: which local socket a datagram leaves from (the same one under rtcp-mux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Rtp,
    Rtcp,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The leg whose local socket sends it.
    pub leg: LegId,
    pub kind: PacketKind,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSource {
    Rfc4733,
    Inband,
    SipInfo,
}

/// Why a leg's media is considered dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTimeoutReason {
    /// No RTP for this long.
    NoRtp { silent_ms: u64 },
}

/// Something the signalling / contact layer should know.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// A key went down (RFC 4733 start or in-band confirmation): barge-in already applied.
    DtmfStarted {
        leg: LegId,
        digit: DtmfDigit,
        source: DtmfSource,
    },
    /// A key press finished (`duration_ms` unknown for in-band).
    Dtmf {
        leg: LegId,
        digit: DtmfDigit,
        source: DtmfSource,
        duration_ms: Option<u32>,
    },
    PlaybackEnded {
        leg: LegId,
        end: PlaybackEnd,
    },
    Latched {
        leg: LegId,
        remote: SocketAddr,
    },
    MediaTimeout {
        leg: LegId,
        reason: MediaTimeoutReason,
    },
    RecordingFailed {
        reason: String,
    },
}

/// Supervisor modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// Hears both sides; nobody hears the supervisor.
    Listen,
    /// Hears both sides; the agent also hears the supervisor.
    Whisper,
}

/// Where recorded frames go (a [`StereoRecorder`] on a file or in memory).
pub trait RecordingSink: Send {
    fn write_frame(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), AudioError>;
    fn set_paused(&mut self, paused: bool);
    fn finish(self: Box<Self>) -> Result<RecordingInfo, AudioError>;
}

impl<W: std::io::Read + std::io::Write + std::io::Seek + Send> RecordingSink for StereoRecorder<W> {
    fn write_frame(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), AudioError> {
        self.write(customer, agent)
    }
    fn set_paused(&mut self, paused: bool) {
        if paused { self.pause() } else { self.resume() }
    }
    fn finish(self: Box<Self>) -> Result<RecordingInfo, AudioError> {
        self.close().map(|(info, _)| info)
    }
}

/// Why a digit could not be queued for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendDtmfError {
    #[error("the call has no {0:?} leg")]
    NoLeg(LegId),
    #[error(transparent)]
    QueueFull(#[from] DtmfQueueFull),
}

/// Limits and timers of a call's media.
#[derive(Debug, Clone, Copy)]
pub struct BridgeConfig {
    pub media_timeout_ms: u64,
    pub rtcp_interval_ms: u64,
    pub max_queued_transmits: usize,
    pub max_queued_events: usize,
    /// Maps the injected monotonic clock to NTP for sender reports.
    pub ntp: NtpClock,
}

impl BridgeConfig {
    pub fn new(ntp: NtpClock) -> Self {
        Self {
            media_timeout_ms: 30_000,
            rtcp_interval_ms: 5_000,
            max_queued_transmits: 512,
            max_queued_events: 128,
            ntp,
        }
    }
}

/// What a leg hears when it is not being relayed to.
enum Feed {
    Silence,
    Relay,
    Prompt(Playback),
    Hold(Playback),
}

const SOURCE_SILENCE: u32 = 1;
const SOURCE_PROMPT: u32 = 2;
const SOURCE_HOLD: u32 = 3;
const SOURCE_MIX: u32 = 4;
const SOURCE_TONE: u32 = 5;

/// Counters of the whole call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeCounters {
    pub relayed: u64,
    pub transcoded: u64,
    pub dropped_transmits: u64,
    pub dropped_events: u64,
}

/// The media of one call.
pub struct Bridge {
    config: BridgeConfig,
    legs: [Option<Leg>; LEGS],
    feeds: [Feed; LEGS],
    monitor: Option<MonitorMode>,
    recording: Option<Box<dyn RecordingSink>>,
    next_tick_at: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    frames: [[i16; SAMPLES_PER_FRAME]; LEGS],
    heard: [bool; LEGS],
    scratch: Vec<u8>,
    pub counters: BridgeCounters,
}

/// Tick period.
const TICK: Duration = Duration::from_millis(20);

fn mix_into(acc: &mut [i16; SAMPLES_PER_FRAME], other: &[i16; SAMPLES_PER_FRAME]) {
    for (a, b) in acc.iter_mut().zip(other) {
        *a = a.saturating_add(*b);
    }
}

impl Bridge {
    /// A call with its customer leg, hearing silence until told otherwise.
    pub fn new(now: Instant, config: BridgeConfig, customer: LegConfig) -> Self {
        let mut b = Self {
            config,
            legs: [None, None, None, None],
            feeds: [Feed::Silence, Feed::Silence, Feed::Silence, Feed::Silence],
            monitor: None,
            recording: None,
            next_tick_at: now + TICK,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            frames: [[0; SAMPLES_PER_FRAME]; LEGS],
            heard: [false; LEGS],
            scratch: Vec::with_capacity(SAMPLES_PER_FRAME),
            counters: BridgeCounters::default(),
        };
        b.legs[0] = Some(Leg::new(now, customer, b.rtcp_interval()));
        b
    }

    fn rtcp_interval(&self) -> Duration {
        Duration::from_millis(self.config.rtcp_interval_ms)
    }

    fn leg(&self, id: LegId) -> Option<&Leg> {
        self.legs[id.index()].as_ref()
    }

    fn leg_mut(&mut self, id: LegId) -> Option<&mut Leg> {
        self.legs[id.index()].as_mut()
    }

    fn push_event(&mut self, e: MediaEvent) {
        if self.events.len() >= self.config.max_queued_events {
            self.events.pop_front();
            self.counters.dropped_events += 1;
        }
        self.events.push_back(e);
    }

    fn push_transmit(&mut self, t: Transmit) {
        if self.transmits.len() >= self.config.max_queued_transmits {
            self.transmits.pop_front();
            self.counters.dropped_transmits += 1;
        }
        self.transmits.push_back(t);
    }

    // ----- commands -----

    /// Adds (or replaces) the agent leg. It hears silence until [`Self::connect`].
    pub fn add_agent(&mut self, now: Instant, config: LegConfig) {
        self.legs[1] = Some(Leg::new(now, config, self.rtcp_interval()));
        self.feeds[1] = Feed::Silence;
    }

    /// Removes the agent leg (it hung up); the customer hears silence.
    pub fn remove_agent(&mut self) {
        self.legs[1] = None;
        self.feeds[1] = Feed::Silence;
        if matches!(self.feeds[0], Feed::Relay) {
            self.feeds[0] = Feed::Silence;
        }
    }

    /// Adds a supervisor leg in the given mode.
    pub fn add_supervisor(&mut self, now: Instant, config: LegConfig, mode: MonitorMode) {
        self.legs[2] = Some(Leg::new(now, config, self.rtcp_interval()));
        self.monitor = Some(mode);
    }

    pub fn set_monitor_mode(&mut self, mode: MonitorMode) {
        if self.legs[2].is_some() {
            self.monitor = Some(mode);
        }
    }

    pub fn remove_supervisor(&mut self) {
        self.legs[2] = None;
        self.monitor = None;
    }

    /// Adds (or replaces) the consult leg; it hears silence until [`Self::connect_consult`].
    pub fn add_consult(&mut self, now: Instant, config: LegConfig) {
        self.legs[3] = Some(Leg::new(now, config, self.rtcp_interval()));
        self.feeds[3] = Feed::Silence;
    }

    /// Agent and consult leg hear each other; the customer stays where they are (on hold).
    pub fn connect_consult(&mut self) {
        if self.legs[3].is_some() {
            self.feeds[1] = Feed::Relay;
            self.feeds[3] = Feed::Relay;
        }
    }

    /// Whether a consult leg is talking with the agent (the customer is then never relayed).
    pub(crate) fn consulting(&self) -> bool {
        self.legs[3].is_some() && matches!(self.feeds[3], Feed::Relay)
    }

    /// Drops the consult leg (cancelled or hung up); the agent hears silence until reconnected.
    pub fn remove_consult(&mut self) {
        self.legs[3] = None;
        self.feeds[3] = Feed::Silence;
        if matches!(self.feeds[1], Feed::Relay) {
            self.feeds[1] = Feed::Silence;
        }
    }

    /// The consulted agent takes the call: their leg becomes the agent leg (the first agent's
    /// is dropped) and customer and agent hear each other. False when there is no consult leg.
    pub fn complete_consult(&mut self) -> bool {
        let Some(consult) = self.legs[3].take() else { return false };
        self.legs[1] = Some(consult);
        self.feeds[3] = Feed::Silence;
        self.connect();
        true
    }

    /// Customer and agent hear each other (ends prompts and hold on both).
    pub fn connect(&mut self) {
        self.feeds[0] = Feed::Relay;
        self.feeds[1] = Feed::Relay;
    }

    /// Plays a prompt to a leg, replacing what it heard. Ends any previous prompt as interrupted.
    pub fn play(&mut self, leg: LegId, playback: Playback) {
        self.end_prompt(leg, PlaybackEnd::Interrupted);
        self.feeds[leg.index()] = Feed::Prompt(playback);
    }

    /// Stops a prompt on a leg; it hears silence.
    pub fn stop_playback(&mut self, leg: LegId) {
        self.end_prompt(leg, PlaybackEnd::Interrupted);
        self.feeds[leg.index()] = Feed::Silence;
    }

    fn end_prompt(&mut self, leg: LegId, end: PlaybackEnd) {
        if matches!(self.feeds[leg.index()], Feed::Prompt(_)) {
            self.feeds[leg.index()] = Feed::Silence;
            self.push_event(MediaEvent::PlaybackEnded { leg, end });
        }
    }

    /// Puts the customer on hold with music (a looped playback); the agent hears silence.
    pub fn hold(&mut self, music: Playback) {
        self.feeds[0] = Feed::Hold(music);
        self.feeds[1] = Feed::Silence;
    }

    /// Takes the customer off hold: back to talking with the agent if there is one.
    pub fn unhold(&mut self) {
        if self.legs[1].is_some() {
            self.connect();
        } else {
            self.feeds[0] = Feed::Silence;
        }
    }

    /// Queues a digit to send to a leg: RFC 4733 events when the leg negotiated telephone-event,
    /// in-band dual tones otherwise.
    pub fn send_dtmf(&mut self, leg: LegId, digit: DtmfDigit, duration_ms: u32) -> Result<(), SendDtmfError> {
        let l = self.leg_mut(leg).ok_or(SendDtmfError::NoLeg(leg))?;
        Ok(l.dtmf_tx.queue_digit(digit, duration_ms)?)
    }

    /// A digit that came by SIP INFO: handled exactly like one from RTP.
    pub fn handle_sip_info_dtmf(&mut self, leg: LegId, digit: DtmfDigit, duration_ms: u32) {
        self.on_digit_started(leg, digit, DtmfSource::SipInfo);
        self.push_event(MediaEvent::Dtmf { leg, digit, source: DtmfSource::SipInfo, duration_ms: Some(duration_ms) });
    }

    /// A re-INVITE gave a leg a new address and/or codec: it latches again from that address and
    /// what it is sent is encoded (or transcoded) for the new codec.
    pub fn renegotiate(&mut self, leg: LegId, remote_rtp: SocketAddr, codec: crate::codec::Codec) {
        if let Some(l) = self.leg_mut(leg) {
            l.renegotiate(remote_rtp, codec);
        }
    }

    /// Whether RTP is expected from a leg (false while the far end holds us: sendonly/inactive).
    pub fn set_expect_rtp(&mut self, now: Instant, leg: LegId, expect: bool) {
        if let Some(l) = self.leg_mut(leg) {
            l.expect_rtp = expect;
            l.last_rtp_at = now;
        }
    }

    /// Starts recording (customer left, agent right).
    pub fn start_recording(&mut self, sink: Box<dyn RecordingSink>) {
        self.recording = Some(sink);
    }

    /// PCI pause: the recording gets silence until resumed.
    pub fn set_recording_paused(&mut self, paused: bool) {
        if let Some(r) = self.recording.as_mut() {
            r.set_paused(paused);
        }
    }

    /// Stops recording and closes the sink.
    pub fn stop_recording(&mut self) -> Option<Result<RecordingInfo, AudioError>> {
        self.recording.take().map(|r| r.finish())
    }

    pub fn leg_counters(&self, leg: LegId) -> Option<&LegCounters> {
        self.leg(leg).map(|l| &l.counters)
    }

    pub fn quality(&self, leg: LegId) -> Option<QualitySummary> {
        self.leg(leg).map(Leg::quality)
    }

    /// Where a leg currently sends RTP (after latching, the learnt address).
    pub fn remote(&self, leg: LegId) -> Option<SocketAddr> {
        self.leg(leg).map(|l| l.remote_rtp)
    }

    /// Ends the call's media: RTCP BYE on every leg, recording closed, quality per leg.
    pub fn close(&mut self, now: Instant) -> CloseReport {
        let mut quality = Vec::new();
        for id in LegId::ALL {
            let ntp = self.config.ntp;
            let interval = self.rtcp_interval();
            let Some(l) = self.leg_mut(id) else { continue };
            let bytes = l.build_rtcp(now, &ntp, interval, true);
            let destination = l.rtcp_destination();
            quality.push((id, l.quality()));
            if !bytes.is_empty() {
                self.push_transmit(Transmit { leg: id, kind: PacketKind::Rtcp, destination, contents: bytes });
            }
        }
        CloseReport { quality, recording: self.stop_recording() }
    }
}

/// What [`Bridge::close`] hands back for the contact record.
#[derive(Debug)]
pub struct CloseReport {
    pub quality: Vec<(LegId, QualitySummary)>,
    pub recording: Option<Result<RecordingInfo, AudioError>>,
}

impl CloseReport {
    /// The call's quality for the contact record: the worst leg's summary (lowest MOS).
    pub fn call_quality(&self) -> Option<QualitySummary> {
        self.quality.iter().map(|(_, q)| *q).min_by(|a, b| a.mos.total_cmp(&b.mos))
    }
}
