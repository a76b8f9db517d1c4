//! One RTP peer of a call: what we know about the far end (address, latching, SSRC, statistics,
//! RTCP) and the per-leg machinery (send stream, jitter buffer, DTMF in and out, in-band detector).
//!
//! Must never: accept RTP from an address other than the latched one, trust a packet before it
//! parsed, or emit RTCP more often than half of `rtcp_interval_ms` (intervals are randomised to
//! 0.5–1.5 × the nominal one, RFC 3550 §6.2, so calls set up together do not report in lockstep).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::{Codec, SAMPLES_PER_FRAME};
use crate::dtmf::{DtmfReceiver, DtmfReceiverConfig, DtmfSender, DtmfSenderConfig};
use crate::inband::{InbandConfig, InbandDetector};
use crate::jitter::{JitterBuffer, JitterBufferConfig, Playout};
use crate::quality::{QualityInputs, QualitySummary};
use crate::rtcp::{Goodbye, ReceiverReport, RtcpPacket, SdesChunk, SenderReport, parse_compound, write_compound};
use crate::rtp::RtpPacket;
use crate::stats::{NtpClock, ReceiveStats, SeqVerdict, round_trip_time};
use crate::stream::SendStream;

/// What the signalling layer negotiated for a leg, plus the injected random starting values.
#[derive(Debug, Clone)]
pub struct LegConfig {
    pub codec: Codec,
    /// Payload type of `telephone-event`, if negotiated.
    pub telephone_event_pt: Option<u8>,
    /// Where SDP says to send RTP (until latching learns better).
    pub remote_rtp: SocketAddr,
    /// Where to send RTCP; `None` means rtcp-mux (same as RTP).
    pub remote_rtcp: Option<SocketAddr>,
    /// Latch on the first valid packet from any IP (far end behind NAT with a private SDP address).
    /// When false, only packets from the SDP address's IP may latch.
    pub latch_from_any_ip: bool,
    /// Run the Goertzel detector on this leg's audio (trunks without RFC 4733).
    pub inband_dtmf: bool,
    pub ssrc: u32,
    pub initial_sequence: u16,
    pub initial_timestamp: u32,
    pub cname: String,
    pub jitter_buffer: JitterBufferConfig,
    pub dtmf_receiver: DtmfReceiverConfig,
    pub dtmf_sender: DtmfSenderConfig,
    pub inband: InbandConfig,
}

impl LegConfig {
    /// Defaults for everything but the negotiated codec, the remote address and the random values.
    pub fn new(codec: Codec, remote_rtp: SocketAddr, ssrc: u32, initial_sequence: u16, initial_timestamp: u32) -> Self {
        Self {
            codec,
            telephone_event_pt: Some(101),
            remote_rtp,
            remote_rtcp: None,
            latch_from_any_ip: false,
            inband_dtmf: false,
            ssrc,
            initial_sequence,
            initial_timestamp,
            cname: format!("hotline-{ssrc:08x}"),
            jitter_buffer: JitterBufferConfig::default(),
            dtmf_receiver: DtmfReceiverConfig::default(),
            dtmf_sender: DtmfSenderConfig::default(),
            inband: InbandConfig::default(),
        }
    }
}

/// Per-leg counters (drops are counted, never panicked on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegCounters {
    pub rtp_received: u64,
    pub rtcp_received: u64,
    pub malformed: u64,
    pub wrong_source: u64,
    pub unknown_payload_type: u64,
    /// Audio packets in the G.711 law that was not negotiated (decoded and transcoded as such).
    pub other_law_audio: u64,
    pub probation_or_jump: u64,
    pub rtp_sent: u64,
    pub rtcp_sent: u64,
}

/// An RTP packet that passed every check.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Accepted<'a> {
    /// G.711 audio and the law it is in (the payload type's, which may differ from the leg's).
    Audio(RtpPacket<'a>, Codec),
    Event(RtpPacket<'a>),
}

pub(crate) struct Leg {
    pub config: LegConfig,
    pub remote_rtp: SocketAddr,
    pub remote_rtcp: SocketAddr,
    pub latched: bool,
    rtcp_latched: bool,
    pub send: SendStream,
    recv: Option<(u32, ReceiveStats)>,
    pub jitter: JitterBuffer,
    pub dtmf_rx: DtmfReceiver,
    pub dtmf_tx: DtmfSender,
    pub inband: Option<InbandDetector>,
    pub last_rtp_at: Instant,
    pub expect_rtp: bool,
    pub timed_out: bool,
    next_rtcp_at: Instant,
    /// Xorshift state for RTCP interval randomisation, seeded from our (random) SSRC.
    rtcp_rng: u32,
    packets_sent_at_last_report: u32,
    rtt: Option<Duration>,
    jitter_sum_ms: f64,
    jitter_samples: u64,
    max_jitter_ms: f64,
    pub counters: LegCounters,
    decoded: Vec<i16>,
    /// Decoded samples not played yet: packets longer than 20 ms (ptime 30, as in sipp's
    /// `g711a.pcap`) leave some over for the next tick. Under one frame plus one packet's samples.
    pending: Vec<i16>,
    /// Last frame played and how many frames were concealed since (packet-loss concealment).
    last_frame: [i16; SAMPLES_PER_FRAME],
    concealed: u8,
}

/// Lost frames in a row concealed by repetition before falling back to silence.
pub const MAX_CONCEALED_FRAMES: u8 = 2;

/// Packets taken from the jitter buffer in one 20 ms tick at most (eight covers 2.5 ms packets).
pub const MAX_PACKETS_PER_TICK: usize = 8;

fn rtcp_default_addr(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
}

impl Leg {
    pub fn new(now: Instant, config: LegConfig, rtcp_interval: Duration) -> Self {
        let remote_rtcp = config.remote_rtcp.unwrap_or(config.remote_rtp);
        Self {
            remote_rtp: config.remote_rtp,
            remote_rtcp,
            latched: false,
            rtcp_latched: false,
            send: SendStream::new(config.ssrc, config.initial_sequence, config.initial_timestamp),
            recv: None,
            jitter: JitterBuffer::new(config.jitter_buffer),
            dtmf_rx: DtmfReceiver::new(config.dtmf_receiver),
            dtmf_tx: DtmfSender::new(config.dtmf_sender),
            inband: config.inband_dtmf.then(|| InbandDetector::new(config.inband)),
            last_rtp_at: now,
            expect_rtp: true,
            timed_out: false,
            next_rtcp_at: now,
            rtcp_rng: config.ssrc | 1,
            packets_sent_at_last_report: 0,
            rtt: None,
            jitter_sum_ms: 0.0,
            jitter_samples: 0,
            max_jitter_ms: 0.0,
            counters: LegCounters::default(),
            decoded: Vec::with_capacity(SAMPLES_PER_FRAME),
            pending: Vec::with_capacity(2 * SAMPLES_PER_FRAME),
            last_frame: [0; SAMPLES_PER_FRAME],
            concealed: 0,
            config,
        }
        .with_first_report(now, rtcp_interval)
    }

    fn with_first_report(mut self, now: Instant, interval: Duration) -> Self {
        self.next_rtcp_at = now + self.randomised(interval);
        self
    }

    /// `interval` × a factor in [0.5, 1.5).
    fn randomised(&mut self, interval: Duration) -> Duration {
        let mut x = self.rtcp_rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rtcp_rng = x;
        interval / 2 + interval.mul_f64(f64::from(x) / f64::from(u32::MAX) * 0.999_999)
    }

    /// A re-INVITE changed the far end's address or codec: latch again, restart the buffer.
    pub fn renegotiate(&mut self, remote_rtp: SocketAddr, codec: crate::codec::Codec) {
        self.config.remote_rtp = remote_rtp;
        self.remote_rtp = remote_rtp;
        if self.config.remote_rtcp.is_none() {
            self.remote_rtcp = remote_rtp;
        }
        self.latched = false;
        self.rtcp_latched = false;
        if codec != self.config.codec {
            self.config.codec = codec;
            self.jitter = JitterBuffer::new(self.config.jitter_buffer);
            self.pending.clear();
        }
    }

    /// Symmetric RTP: true when `from` may send to us, latching on the first acceptable packet.
    fn source_ok(&mut self, from: SocketAddr) -> Option<bool> {
        if self.latched {
            return Some(from == self.remote_rtp);
        }
        if self.config.latch_from_any_ip || from.ip() == self.config.remote_rtp.ip() {
            return Some(false);
        }
        None
    }

    /// Validates an incoming RTP datagram. Returns the packet and whether this packet latched.
    pub fn accept_rtp<'a>(&mut self, now: Instant, from: SocketAddr, bytes: &'a [u8]) -> Option<(Accepted<'a>, bool)> {
        let Ok(packet) = RtpPacket::parse(bytes) else {
            self.counters.malformed += 1;
            return None;
        };
        let Some(already_latched) = self.source_ok(from) else {
            self.counters.wrong_source += 1;
            return None;
        };
        if self.latched && !already_latched {
            self.counters.wrong_source += 1;
            return None;
        }
        let pt = packet.header.payload_type;
        let accepted = if Some(pt) == self.config.telephone_event_pt {
            Accepted::Event(packet)
        } else if let Some(codec) = Codec::from_payload_type(pt) {
            // The negotiated law, or the other one: a caller that offered PCMA and PCMU and was
            // answered with one may still send the other (static payload types 0 and 8 cannot
            // mean anything else). Dropping it left the customer silent in the recording.
            if codec != self.config.codec {
                self.counters.other_law_audio += 1;
            }
            Accepted::Audio(packet, codec)
        } else {
            self.counters.unknown_payload_type += 1;
            return None;
        };
        let h = packet.header;
        let stats = match &mut self.recv {
            Some((ssrc, stats)) if *ssrc == h.ssrc => stats,
            slot => &mut slot.insert((h.ssrc, ReceiveStats::new(h.sequence))).1,
        };
        if stats.update(now, h.sequence, h.timestamp) != SeqVerdict::Valid {
            // The first packets of a source (A.1 probation) still play so nothing is clipped; a
            // wild jump after the source was valid is dropped until the next packet confirms it.
            self.counters.probation_or_jump += 1;
            if stats.received() > 0 {
                return None;
            }
        }
        self.jitter_sum_ms += stats.jitter_ms();
        self.jitter_samples += 1;
        self.max_jitter_ms = self.max_jitter_ms.max(stats.jitter_ms());
        let newly_latched = !self.latched;
        if newly_latched {
            self.latched = true;
            self.remote_rtp = from;
            if self.config.remote_rtcp.is_none() {
                self.remote_rtcp = from;
            }
        }
        self.counters.rtp_received += 1;
        self.last_rtp_at = now;
        self.timed_out = false;
        Some((accepted, newly_latched))
    }

    /// Consumes an RTCP compound: SRs feed LSR/DLSR, report blocks about us give the RTT.
    pub fn handle_rtcp(&mut self, now: Instant, clock: &NtpClock, from: SocketAddr, bytes: &[u8]) {
        let Ok(packets) = parse_compound(bytes) else {
            self.counters.malformed += 1;
            return;
        };
        if from.ip() != self.remote_rtp.ip() && !self.config.latch_from_any_ip {
            self.counters.wrong_source += 1;
            return;
        }
        if !self.rtcp_latched && self.config.remote_rtcp.is_some() {
            self.remote_rtcp = from;
            self.rtcp_latched = true;
        }
        self.counters.rtcp_received += 1;
        let arrival = clock.ntp_middle(now);
        for p in &packets {
            let blocks = match p {
                RtcpPacket::SenderReport(sr) => {
                    if let Some((ssrc, stats)) = &mut self.recv
                        && *ssrc == sr.ssrc
                    {
                        stats.on_sender_report(now, sr.ntp_timestamp);
                    }
                    &sr.reports
                }
                RtcpPacket::ReceiverReport(rr) => &rr.reports,
                _ => continue,
            };
            for b in blocks.iter().filter(|b| b.ssrc == self.send.ssrc()) {
                if let Some(rtt) = round_trip_time(arrival, b) {
                    self.rtt = Some(rtt);
                }
            }
        }
    }

    pub fn rtcp_due(&self, now: Instant) -> bool {
        now >= self.next_rtcp_at
    }

    pub fn next_rtcp_at(&self) -> Instant {
        self.next_rtcp_at
    }

    /// Builds our compound report: SR if we sent since the last one, else RR; SDES CNAME; BYE last
    /// when closing.
    pub fn build_rtcp(&mut self, now: Instant, clock: &NtpClock, interval: Duration, bye: bool) -> Vec<u8> {
        self.next_rtcp_at = now + self.randomised(interval);
        let reports: Vec<_> = self.recv.iter_mut().map(|(ssrc, stats)| stats.report_block(now, *ssrc)).collect();
        let ssrc = self.send.ssrc();
        let first = if self.send.packets_sent != self.packets_sent_at_last_report {
            RtcpPacket::SenderReport(SenderReport {
                ssrc,
                ntp_timestamp: clock.ntp(now),
                rtp_timestamp: self.send.timestamp_at(now),
                packet_count: self.send.packets_sent,
                octet_count: self.send.octets_sent,
                reports,
            })
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports })
        };
        self.packets_sent_at_last_report = self.send.packets_sent;
        let mut packets = vec![first, RtcpPacket::SourceDescription(vec![SdesChunk::cname(ssrc, &self.config.cname)])];
        if bye {
            packets.push(RtcpPacket::Goodbye(Goodbye { sources: vec![ssrc], reason: None }));
        }
        let mut out = Vec::with_capacity(128);
        if write_compound(&packets, &mut out).is_err() {
            out.clear(); // cannot happen with one report block and a short CNAME; send nothing then
        }
        self.counters.rtcp_sent += 1;
        out
    }

    /// Takes this tick's 20 ms of audio from the jitter buffer, as many packets as that needs
    /// (one of 20 ms; two in three ticks for 30 ms packets; two of 10 ms), keeping what is left
    /// of a longer packet for the next tick. A lost frame is concealed by repeating the last one
    /// at half, then quarter level; after [`MAX_CONCEALED_FRAMES`] it is silence, as is an empty
    /// buffer; a frame only partly covered is completed with silence. Returns whether real audio
    /// was played.
    pub fn pull_audio(&mut self, frame: &mut [i16; SAMPLES_PER_FRAME]) -> bool {
        let mut lost = false;
        for _ in 0..MAX_PACKETS_PER_TICK {
            if self.pending.len() >= SAMPLES_PER_FRAME {
                break;
            }
            match self.jitter.pop() {
                Playout::Frame(f) => {
                    self.config.codec.decode(&f.payload, &mut self.decoded);
                    self.pending.extend_from_slice(&self.decoded);
                }
                Playout::Lost => {
                    lost = true;
                    break;
                }
                Playout::Empty => break,
            }
        }
        if self.pending.is_empty() {
            return self.conceal(frame, lost);
        }
        let n = self.pending.len().min(SAMPLES_PER_FRAME);
        frame[..n].copy_from_slice(&self.pending[..n]);
        frame[n..].fill(0);
        self.pending.drain(..n);
        self.last_frame = *frame;
        self.concealed = 0;
        true
    }

    /// No audio for this tick: a lost packet is the last frame fading out, then silence; an
    /// empty buffer is silence. Returns false.
    fn conceal(&mut self, frame: &mut [i16; SAMPLES_PER_FRAME], lost: bool) -> bool {
        if lost && self.concealed < MAX_CONCEALED_FRAMES {
            self.concealed += 1;
            for (o, s) in frame.iter_mut().zip(&self.last_frame) {
                *o = s >> self.concealed;
            }
        } else {
            frame.fill(0);
        }
        false
    }

    pub fn quality(&self) -> QualitySummary {
        let (expected, received) =
            self.recv.as_ref().map_or((0, 0), |(_, s)| (u64::from(s.expected()), u64::from(s.received())));
        QualitySummary::from_inputs(&QualityInputs {
            packets_expected: expected,
            packets_received: received,
            mean_jitter_ms: if self.jitter_samples == 0 {
                0.0
            } else {
                self.jitter_sum_ms / self.jitter_samples as f64
            },
            max_jitter_ms: self.max_jitter_ms,
            rtt_ms: self.rtt.map(|d| d.as_secs_f64() * 1000.0),
            jitter_buffer_ms: f64::from(self.jitter.target_delay_ms()),
        })
    }

    /// Where RTCP goes if the far end did not use rtcp-mux and never sent us RTCP.
    pub fn rtcp_destination(&self) -> SocketAddr {
        match (self.config.remote_rtcp, self.rtcp_latched) {
            (None, _) | (Some(_), true) => self.remote_rtcp,
            (Some(addr), false) if self.latched && addr.ip() != self.remote_rtp.ip() => {
                rtcp_default_addr(self.remote_rtp)
            }
            (Some(addr), false) => addr,
        }
    }
}
