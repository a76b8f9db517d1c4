//! DTMF over RTP (RFC 4733 `telephone-event`): the 4-byte payload codec, a receiver that turns a
//! stream of event packets into digits (deduplicating the redundant end packets) and a sender that
//! produces the start / continuation / 3× end packet sequence with correct timestamps and marker.
//!
//! Must never: panic on a payload, report one key press twice, or queue digits without a limit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::codec::{SAMPLE_RATE_HZ, SAMPLES_PER_FRAME};
use crate::error::DtmfError;

/// A DTMF key: RFC 4733 events 0..=15 (`0`-`9`, `*`, `#`, `A`-`D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfDigit(u8);

const DIGIT_CHARS: &[u8; 16] = b"0123456789*#ABCD";

impl DtmfDigit {
    /// The digit of an RFC 4733 event code, `None` for non-DTMF events (fax tones, ...).
    pub fn from_event(code: u8) -> Option<Self> {
        (code < 16).then_some(Self(code))
    }

    /// The digit of a key label (`'0'`..`'9'`, `'*'`, `'#'`, `'A'`..`'D'`, case-insensitive).
    pub fn from_char(c: char) -> Option<Self> {
        let upper = c.to_ascii_uppercase();
        DIGIT_CHARS.iter().position(|&d| char::from(d) == upper).and_then(|i| u8::try_from(i).ok()).map(Self)
    }

    pub fn event_code(self) -> u8 {
        self.0
    }

    pub fn as_char(self) -> char {
        char::from(DIGIT_CHARS[usize::from(self.0 & 0x0f)])
    }
}

/// The telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level as -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload (trailing redundant blocks of RFC 2198 are not used here).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(Self {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(DtmfError::Truncated(payload.len())),
        }
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, if self.end { 0x80 } else { 0 } | (self.volume & 0x3f), d[0], d[1]]
    }
}

/// What the receiver learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfNotice {
    /// A key went down (first packet of a new event): enough for barge-in.
    Started { digit: DtmfDigit },
    /// The key press is over: reported once per press however many end packets arrive.
    Ended { digit: DtmfDigit, duration_ms: u32, volume_dbm0: i8 },
}

/// Limits of the receiver.
#[derive(Debug, Clone, Copy)]
pub struct DtmfReceiverConfig {
    /// A started event with no packet for this long is ended (its end packets were all lost).
    pub end_timeout_ms: u64,
    /// Notices kept until polled; older ones are dropped.
    pub max_pending_notices: usize,
}

impl Default for DtmfReceiverConfig {
    fn default() -> Self {
        Self { end_timeout_ms: 500, max_pending_notices: 32 }
    }
}

#[derive(Debug, Clone, Copy)]
struct ActiveEvent {
    timestamp: u32,
    digit: DtmfDigit,
    volume: u8,
    duration: u16,
    last_packet_at: Instant,
}

/// How many finished event timestamps are remembered to drop their late duplicates.
const RECENT_ENDED: usize = 8;
/// A packet carrying a finished event's timestamp this long after its end, not marked as an end
/// and starting over (shorter duration), is a new key press from a sender that reuses timestamps
/// (replayed captures); anything else with that timestamp is a retransmission of the old event.
const REUSED_TIMESTAMP_GAP_MS: u64 = 150;

#[derive(Debug, Clone, Copy)]
struct Ended {
    timestamp: u32,
    duration: u16,
    at: Instant,
}

/// Turns telephone-event packets into [`DtmfNotice`]s.
#[derive(Debug)]
pub struct DtmfReceiver {
    config: DtmfReceiverConfig,
    active: Option<ActiveEvent>,
    recent_ended: [Option<Ended>; RECENT_ENDED],
    recent_next: usize,
    notices: VecDeque<DtmfNotice>,
    /// Packets ignored as duplicates of an event already ended.
    pub duplicates: u64,
    /// Notices dropped because nobody polled them.
    pub dropped_notices: u64,
}

fn samples_to_ms(samples: u16) -> u32 {
    u32::from(samples) * 1000 / SAMPLE_RATE_HZ
}

impl DtmfReceiver {
    pub fn new(config: DtmfReceiverConfig) -> Self {
        Self {
            config,
            active: None,
            recent_ended: [None; RECENT_ENDED],
            recent_next: 0,
            notices: VecDeque::new(),
            duplicates: 0,
            dropped_notices: 0,
        }
    }

    fn push(&mut self, notice: DtmfNotice) {
        if self.notices.len() >= self.config.max_pending_notices {
            self.notices.pop_front();
            self.dropped_notices += 1;
        }
        self.notices.push_back(notice);
    }

    fn finish(&mut self, a: ActiveEvent) {
        self.recent_ended[self.recent_next] =
            Some(Ended { timestamp: a.timestamp, duration: a.duration, at: a.last_packet_at });
        self.recent_next = (self.recent_next + 1) % RECENT_ENDED;
        let volume_dbm0 = -i8::try_from(a.volume).unwrap_or(63);
        self.push(DtmfNotice::Ended { digit: a.digit, duration_ms: samples_to_ms(a.duration), volume_dbm0 });
    }

    /// Feeds one telephone-event packet (its RTP timestamp and payload).
    pub fn handle_packet(&mut self, now: Instant, rtp_timestamp: u32, payload: &[u8]) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let Some(digit) = DtmfDigit::from_event(ev.event) else { return Ok(()) };
        let gap = Duration::from_millis(REUSED_TIMESTAMP_GAP_MS);
        let duplicate = self.recent_ended.iter().flatten().any(|e| {
            e.timestamp == rtp_timestamp
                && (ev.end || ev.duration >= e.duration || now.saturating_duration_since(e.at) < gap)
        });
        if duplicate {
            self.duplicates += 1;
            return Ok(());
        }
        // A new press reusing an old timestamp: forget the old one so its end is not mistaken.
        for slot in &mut self.recent_ended {
            if slot.is_some_and(|e| e.timestamp == rtp_timestamp) {
                *slot = None;
            }
        }
        if let Some(a) = self.active.filter(|a| a.timestamp != rtp_timestamp) {
            // A new event began before the old one's end packets arrived.
            self.active = None;
            self.finish(a);
        }
        let mut a = match self.active {
            Some(a) => a,
            None => {
                self.push(DtmfNotice::Started { digit });
                ActiveEvent { timestamp: rtp_timestamp, digit, volume: ev.volume, duration: 0, last_packet_at: now }
            }
        };
        a.duration = a.duration.max(ev.duration);
        a.volume = ev.volume;
        a.last_packet_at = now;
        if ev.end {
            self.active = None;
            self.finish(a);
        } else {
            self.active = Some(a);
        }
        Ok(())
    }

    /// Ends an event whose end packets never came.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(a) = self.active
            && now.saturating_duration_since(a.last_packet_at) >= Duration::from_millis(self.config.end_timeout_ms)
        {
            self.active = None;
            self.finish(a);
        }
    }

    /// When [`Self::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active.map(|a| a.last_packet_at + Duration::from_millis(self.config.end_timeout_ms))
    }

    pub fn poll_event(&mut self) -> Option<DtmfNotice> {
        self.notices.pop_front()
    }
}

/// One packet the sender wants on the wire this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub marker: bool,
    /// RTP timestamp: the event's start, the same for every packet of the event.
    pub timestamp: u32,
    pub payload: [u8; 4],
    /// The second or third copy of the end packet (carries no new tone time).
    pub retransmission: bool,
}

/// Limits of the sender.
#[derive(Debug, Clone, Copy)]
pub struct DtmfSenderConfig {
    pub max_queued_digits: usize,
    /// Tones longer than this are cut (the 16-bit duration field holds about 8 s).
    pub max_tone_ms: u32,
    /// Silence after the last end packet before the next digit starts.
    pub gap_ms: u32,
    /// Power level as -dBm0.
    pub volume: u8,
}

impl Default for DtmfSenderConfig {
    fn default() -> Self {
        Self { max_queued_digits: 64, max_tone_ms: 5000, gap_ms: 60, volume: 10 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sending {
    digit: DtmfDigit,
    start_timestamp: u32,
    total_samples: u32,
    sent_samples: u32,
    end_packets_sent: u8,
}

/// End packets are sent three times (RFC 4733 §2.5.1.4).
const END_PACKET_REPEATS: u8 = 3;

/// Produces RFC 4733 packets for queued digits, one call per 20 ms tick.
#[derive(Debug)]
pub struct DtmfSender {
    config: DtmfSenderConfig,
    queue: VecDeque<(DtmfDigit, u32)>,
    sending: Option<Sending>,
    gap_ticks_left: u32,
}

/// The queue of digits to send is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("DTMF send queue is full ({0} digits)")]
pub struct DtmfQueueFull(pub usize);

impl DtmfSender {
    pub fn new(config: DtmfSenderConfig) -> Self {
        Self { config, queue: VecDeque::new(), sending: None, gap_ticks_left: 0 }
    }

    /// Queues a key press of `duration_ms` (clamped to 40..=max_tone_ms).
    pub fn queue_digit(&mut self, digit: DtmfDigit, duration_ms: u32) -> Result<(), DtmfQueueFull> {
        if self.queue.len() >= self.config.max_queued_digits {
            return Err(DtmfQueueFull(self.config.max_queued_digits));
        }
        self.queue.push_back((digit, duration_ms.clamp(40, self.config.max_tone_ms)));
        Ok(())
    }

    /// True while an event is on the wire (audio must not be sent in the same tick).
    pub fn is_sending(&self) -> bool {
        self.sending.is_some()
    }

    /// Called once per 20 ms tick with the stream's media timestamp for that tick.
    pub fn next_packet(&mut self, stream_timestamp: u32) -> Option<DtmfPacket> {
        if self.sending.is_none() {
            if self.gap_ticks_left > 0 {
                self.gap_ticks_left -= 1;
                return None;
            }
            let (digit, ms) = self.queue.pop_front()?;
            let total_samples = ms.saturating_mul(SAMPLE_RATE_HZ / 1000);
            self.sending = Some(Sending {
                digit,
                start_timestamp: stream_timestamp,
                total_samples,
                sent_samples: 0,
                end_packets_sent: 0,
            });
        }
        let s = self.sending.as_mut()?;
        let first = s.sent_samples == 0;
        s.sent_samples = (s.sent_samples + SAMPLES_PER_FRAME as u32).min(s.total_samples);
        let end = s.sent_samples >= s.total_samples;
        if end {
            s.end_packets_sent += 1;
        }
        let ev = TelephoneEvent {
            event: s.digit.event_code(),
            end,
            volume: self.config.volume,
            duration: u16::try_from(s.sent_samples).unwrap_or(u16::MAX),
        };
        let packet = DtmfPacket {
            marker: first,
            timestamp: s.start_timestamp,
            payload: ev.to_bytes(),
            retransmission: s.end_packets_sent > 1,
        };
        if s.end_packets_sent >= END_PACKET_REPEATS {
            self.sending = None;
            self.gap_ticks_left = self.config.gap_ms.div_ceil(crate::codec::PTIME_MS);
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit(c: char) -> DtmfDigit {
        DtmfDigit::from_char(c).expect("a DTMF key")
    }

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent { event, end, volume: 10, duration }.to_bytes()
    }

    #[test]
    fn all_sixteen_keys_map_to_their_event_codes() {
        for (code, c) in "0123456789*#ABCD".chars().enumerate() {
            let d = digit(c);
            assert_eq!((d.event_code(), d.as_char()), (code as u8, c));
        }
        assert_eq!(DtmfDigit::from_event(16), None);
        assert_eq!(DtmfDigit::from_char('x'), None);
    }

    #[test]
    fn payload_layout_matches_rfc_4733() {
        let ev = TelephoneEvent { event: 11, end: true, volume: 10, duration: 800 };
        assert_eq!(ev.to_bytes(), [11, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::Truncated(3)));
    }

    #[test]
    fn three_end_packets_report_one_digit_with_its_duration_and_volume() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        for (i, d) in [160u16, 320, 480].iter().enumerate() {
            rx.handle_packet(t0 + Duration::from_millis(20 * i as u64), 1000, &payload(5, false, *d)).expect("ok");
        }
        for _ in 0..3 {
            rx.handle_packet(t0, 1000, &payload(5, true, 640)).expect("ok");
        }
        assert_eq!(rx.poll_event(), Some(DtmfNotice::Started { digit: digit('5') }));
        assert_eq!(rx.poll_event(), Some(DtmfNotice::Ended { digit: digit('5'), duration_ms: 80, volume_dbm0: -10 }));
        assert_eq!(rx.poll_event(), None);
        assert_eq!(rx.duplicates, 2);
    }

    #[test]
    fn the_same_key_pressed_twice_is_two_digits() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        rx.handle_packet(t0, 1000, &payload(1, true, 800)).expect("ok");
        rx.handle_packet(t0, 3000, &payload(1, true, 800)).expect("ok");
        let ended = std::iter::from_fn(|| rx.poll_event()).filter(|n| matches!(n, DtmfNotice::Ended { .. })).count();
        assert_eq!(ended, 2);
    }

    #[test]
    fn a_sender_reusing_a_timestamp_gets_new_digits_but_retransmissions_stay_dropped() {
        // sipp's play_pcap_audio replays the same capture: every press has the same timestamp.
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        let press = |rx: &mut DtmfReceiver, start: u64, key: u8| {
            for (i, d) in [160u16, 320, 480].iter().enumerate() {
                rx.handle_packet(at(start + 20 * i as u64), 7000, &payload(key, false, *d)).expect("ok");
            }
            for i in 0..3 {
                rx.handle_packet(at(start + 60 + 20 * i), 7000, &payload(key, true, 640)).expect("ok");
            }
        };
        press(&mut rx, 0, 1);
        // A late retransmitted end and a reordered continuation of the first press: dropped.
        rx.handle_packet(at(400), 7000, &payload(1, true, 640)).expect("ok");
        rx.handle_packet(at(150), 7000, &payload(1, false, 480)).expect("ok");
        press(&mut rx, 500, 0);
        press(&mut rx, 1000, 0);
        let digits: Vec<char> = std::iter::from_fn(|| rx.poll_event())
            .filter_map(|n| match n {
                DtmfNotice::Ended { digit, .. } => Some(digit.as_char()),
                DtmfNotice::Started { .. } => None,
            })
            .collect();
        assert_eq!(digits, vec!['1', '0', '0']);
        assert!(rx.duplicates >= 5, "{}", rx.duplicates);
    }

    #[test]
    fn lost_end_packets_end_the_digit_when_the_next_one_starts() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        rx.handle_packet(t0, 1000, &payload(2, false, 400)).expect("ok");
        rx.handle_packet(t0, 5000, &payload(3, false, 160)).expect("ok");
        let notices: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
        assert_eq!(notices[1], DtmfNotice::Ended { digit: digit('2'), duration_ms: 50, volume_dbm0: -10 });
        assert_eq!(notices[2], DtmfNotice::Started { digit: digit('3') });
    }

    #[test]
    fn a_silent_event_is_ended_by_the_timeout() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        rx.handle_packet(t0, 1000, &payload(9, false, 160)).expect("ok");
        assert_eq!(rx.poll_timeout(), Some(t0 + Duration::from_millis(500)));
        rx.handle_timeout(t0 + Duration::from_millis(499));
        rx.poll_event();
        assert_eq!(rx.poll_event(), None);
        rx.handle_timeout(t0 + Duration::from_millis(500));
        assert!(matches!(rx.poll_event(), Some(DtmfNotice::Ended { duration_ms: 20, .. })));
    }

    #[test]
    fn sender_emits_marker_then_continuations_then_three_ends_on_one_timestamp() {
        let mut tx = DtmfSender::new(DtmfSenderConfig::default());
        tx.queue_digit(digit('#'), 100).expect("room");
        let packets: Vec<_> = (0..8u32).filter_map(|tick| tx.next_packet(8000 + tick * 160)).collect();
        assert_eq!(packets.len(), 7, "4 tone packets, the end at 100 ms, then 2 end repeats");
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        assert!(packets.iter().all(|p| p.timestamp == 8000));
        let evs: Vec<_> = packets.iter().map(|p| TelephoneEvent::parse(&p.payload).expect("valid")).collect();
        let durations: Vec<u16> = evs.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends = evs.iter().filter(|e| e.end).count();
        assert_eq!(ends, 3);
        assert!(!tx.is_sending());
    }

    #[test]
    fn sent_packets_received_give_back_the_digits() {
        let t0 = Instant::now();
        let mut tx = DtmfSender::new(DtmfSenderConfig::default());
        let mut rx = DtmfReceiver::new(DtmfReceiverConfig::default());
        for c in "12#".chars() {
            tx.queue_digit(digit(c), 80).expect("room");
        }
        for tick in 0..60u32 {
            if let Some(p) = tx.next_packet(tick * 160) {
                rx.handle_packet(t0, p.timestamp, &p.payload).expect("ok");
            }
        }
        let got: String = std::iter::from_fn(|| rx.poll_event())
            .filter_map(|n| match n {
                DtmfNotice::Ended { digit, duration_ms: 80, .. } => Some(digit.as_char()),
                _ => None,
            })
            .collect();
        assert_eq!(got, "12#");
    }

    #[test]
    fn send_queue_is_bounded() {
        let mut tx = DtmfSender::new(DtmfSenderConfig { max_queued_digits: 2, ..Default::default() });
        tx.queue_digit(digit('1'), 100).expect("room");
        tx.queue_digit(digit('2'), 100).expect("room");
        assert_eq!(tx.queue_digit(digit('3'), 100), Err(DtmfQueueFull(2)));
    }
}
