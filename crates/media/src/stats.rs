//! Receive statistics of RFC 3550 appendix A (sequence validation A.1, loss A.3, interarrival
//! jitter A.8), round-trip time from LSR/DLSR (§6.4.1) and the NTP clock that SRs need.
//!
//! Must never: read the system clock (the NTP mapping is injected), divide by zero, or let a
//! hostile sequence jump corrupt the counters (A.1 probation and resync are followed).

use std::time::{Duration, Instant};

use crate::codec::SAMPLE_RATE_HZ;
use crate::rtcp::ReportBlock;

const RTP_SEQ_MOD: u32 = 1 << 16;
/// A.1: a forward jump larger than this is treated as a restart candidate.
const MAX_DROPOUT: u32 = 3000;
/// A.1: a backward jump smaller than this is a late packet.
const MAX_MISORDER: u32 = 100;
/// A.1: packets in sequence needed before a new source is valid.
const MIN_SEQUENTIAL: u32 = 2;

/// Maps the injected monotonic clock onto 64-bit NTP time.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    base: Instant,
    base_ntp: u64,
}

impl NtpClock {
    /// `base_ntp` is the NTP time (seconds since 1900 << 32 | fraction) at `base`.
    pub fn new(base: Instant, base_ntp: u64) -> Self {
        Self { base, base_ntp }
    }

    pub fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.base);
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        self.base_ntp.wrapping_add((d.as_secs() << 32) | frac)
    }

    /// The middle 32 bits, the unit of LSR and of RTT arithmetic (1/65536 s).
    pub fn ntp_middle(&self, now: Instant) -> u32 {
        (self.ntp(now) >> 16) as u32
    }
}

/// What [`ReceiveStats::update`] decided about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Counted.
    Valid,
    /// Source still on probation (A.1): not yet counted as valid.
    Probation,
    /// Large jump: dropped, unless the next packet confirms the new numbering.
    BadJump,
}

/// Receive statistics of one incoming source.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Jitter in timestamp units, scaled by 16 (A.8 integer form).
    jitter_q4: u32,
    last_transit: Option<i64>,
    epoch: Option<Instant>,
    last_sr_middle: u32,
    last_sr_at: Option<Instant>,
    /// Highest jitter seen, in timestamp units.
    pub max_jitter: u32,
}

impl ReceiveStats {
    /// Starts on the first packet of a source (A.1 `init_seq` plus probation).
    pub fn new(first_seq: u16) -> Self {
        let mut s = Self {
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            last_transit: None,
            epoch: None,
            last_sr_middle: 0,
            last_sr_at: None,
            max_jitter: 0,
        };
        s.init_seq(first_seq);
        s.max_seq = first_seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`.
    pub fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        let udelta = u32::from(seq.wrapping_sub(self.max_seq));
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqVerdict::Probation;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta <= RTP_SEQ_MOD - MAX_MISORDER {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: the other side restarted without telling us.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqVerdict::BadJump;
            }
        }
        // else: duplicate or reordered packet, counted.
        self.received += 1;
        SeqVerdict::Valid
    }

    /// A.8: updates interarrival jitter with a packet's RTP timestamp and arrival time.
    pub fn update_jitter(&mut self, now: Instant, rtp_timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = now.saturating_duration_since(epoch).as_micros() as i64 * i64::from(SAMPLE_RATE_HZ) / 1_000_000;
        // Transit modulo 2^32 as a signed value keeps timestamp wrap harmless.
        let transit = i64::from((arrival as u32).wrapping_sub(rtp_timestamp) as i32);
        if let Some(last) = self.last_transit {
            let d = i64::from(((transit - last) as i32).unsigned_abs().min(u32::MAX >> 5));
            // J += (|D| - J) / 16, kept scaled by 16: Jq4 += |D| - (Jq4 + 8) / 16.
            let j = i64::from(self.jitter_q4) + d - ((i64::from(self.jitter_q4) + 8) >> 4);
            self.jitter_q4 = u32::try_from(j.max(0)).unwrap_or(u32::MAX);
        }
        self.last_transit = Some(transit);
        self.max_jitter = self.max_jitter.max(self.jitter());
    }

    /// Counts a packet: sequence first, then jitter for packets that count.
    pub fn update(&mut self, now: Instant, seq: u16, rtp_timestamp: u32) -> SeqVerdict {
        let v = self.update_seq(seq);
        if v == SeqVerdict::Valid {
            self.update_jitter(now, rtp_timestamp);
        }
        v
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    pub fn jitter_ms(&self) -> f64 {
        f64::from(self.jitter()) * 1000.0 / f64::from(SAMPLE_RATE_HZ)
    }

    pub fn extended_max_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    pub fn expected(&self) -> u32 {
        self.extended_max_seq().wrapping_sub(self.base_seq).wrapping_add(1)
    }

    pub fn received(&self) -> u32 {
        self.received
    }

    /// A.3 cumulative loss, clamped to the signed 24-bit field.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7f_ffff) as i32
    }

    /// A.3 fraction lost since the previous call, in 1/256; starts a new interval.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            u8::try_from((lost_interval << 8) / i64::from(expected_interval)).unwrap_or(255)
        }
    }

    /// Remembers an SR from this source, for LSR/DLSR in our next report.
    pub fn on_sender_report(&mut self, now: Instant, ntp_timestamp: u64) {
        self.last_sr_middle = (ntp_timestamp >> 16) as u32;
        self.last_sr_at = Some(now);
    }

    /// The report block about this source (takes the fraction-lost interval).
    pub fn report_block(&mut self, now: Instant, ssrc: u32) -> ReportBlock {
        let delay_since_last_sr = self.last_sr_at.map_or(0, |at| duration_to_q16(now.saturating_duration_since(at)));
        ReportBlock {
            ssrc,
            fraction_lost: self.take_fraction_lost(),
            cumulative_lost: self.cumulative_lost(),
            extended_highest_seq: self.extended_max_seq(),
            jitter: self.jitter(),
            last_sr: self.last_sr_middle,
            delay_since_last_sr,
        }
    }
}

fn duration_to_q16(d: Duration) -> u32 {
    u32::try_from(d.as_micros() * 65536 / 1_000_000).unwrap_or(u32::MAX)
}

/// Round-trip time from a report block about our stream, received at `arrival_ntp_middle`
/// (RFC 3550 §6.4.1: A − LSR − DLSR). `None` when the peer has not yet seen an SR of ours.
pub fn round_trip_time(arrival_ntp_middle: u32, block: &ReportBlock) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = arrival_ntp_middle.wrapping_sub(block.last_sr).wrapping_sub(block.delay_since_last_sr);
    // A negative result (clock skew) shows up as a huge value: treat anything over 60 s as unknown.
    (rtt < 60 * 65536).then(|| Duration::from_micros(u64::from(rtt) * 1_000_000 / 65536))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_stats(first: u16) -> ReceiveStats {
        let mut s = ReceiveStats::new(first);
        s.update_seq(first);
        s.update_seq(first.wrapping_add(1));
        s
    }

    #[test]
    fn a_new_source_needs_two_sequential_packets() {
        let mut s = ReceiveStats::new(10);
        assert_eq!(s.update_seq(10), SeqVerdict::Probation);
        assert_eq!(s.update_seq(11), SeqVerdict::Valid);
        assert_eq!((s.received(), s.expected()), (1, 1));
    }

    #[test]
    fn extended_sequence_counts_wraps() {
        let mut s = valid_stats(65534);
        for seq in [0u16, 1, 2] {
            s.update_seq(seq);
        }
        assert_eq!(s.extended_max_seq(), 65536 + 2);
        assert_eq!((s.expected(), s.received(), s.cumulative_lost()), (4, 4, 0));
    }

    #[test]
    fn loss_fixture_matches_hand_computation() {
        // Valid from 100; then 102..=109 arrive except 104 and 107: expected 10, received 8.
        let mut s = valid_stats(100);
        for seq in [102u16, 103, 105, 106, 108, 109] {
            s.update_seq(seq);
        }
        assert_eq!(s.expected(), 9);
        assert_eq!(s.received(), 7);
        assert_eq!(s.cumulative_lost(), 2);
        // fraction = floor(2 * 256 / 9) = 56
        assert_eq!(s.take_fraction_lost(), 56);
        // Next interval without loss: 0.
        s.update_seq(110);
        assert_eq!(s.take_fraction_lost(), 0);
    }

    #[test]
    fn duplicates_make_loss_negative_as_rfc_3550_allows() {
        let mut s = valid_stats(1);
        s.update_seq(2); // a duplicate of the packet that ended probation
        assert_eq!(s.cumulative_lost(), -1);
    }

    #[test]
    fn a_big_jump_is_ignored_once_and_accepted_when_confirmed() {
        let mut s = valid_stats(1000);
        assert_eq!(s.update_seq(30000), SeqVerdict::BadJump);
        assert_eq!(s.update_seq(30001), SeqVerdict::Valid);
        assert_eq!((s.expected(), s.received()), (1, 1));
    }

    #[test]
    fn jitter_fixture_matches_a8_by_hand() {
        // Packets every 20 ms (160 ts units) arriving 0, 30, 40, 70 ms: transits 0, +80, 0, +80 units.
        // J1 = 0 + (80-0)/16 = 5; J2 = 5 + (80-5)/16 = 9.6875; J3 = 9.6875 + (80-9.6875)/16 = 14.08.
        let t0 = Instant::now();
        let mut s = valid_stats(1);
        let arrivals = [0u64, 30, 40, 70];
        for (i, a) in arrivals.iter().enumerate() {
            s.update_jitter(t0 + Duration::from_millis(*a), 160 * i as u32);
        }
        assert_eq!(s.jitter(), 14);
        assert_eq!(s.max_jitter, 14);
    }

    #[test]
    fn steady_arrival_has_zero_jitter() {
        let t0 = Instant::now();
        let mut s = valid_stats(1);
        for i in 0..50u32 {
            s.update_jitter(t0 + Duration::from_millis(20 * u64::from(i)), 5000 + 160 * i);
        }
        assert_eq!(s.jitter(), 0);
    }

    #[test]
    fn rtt_is_arrival_minus_lsr_minus_dlsr() {
        // RFC 3550 §6.4.1 example: A=0xb710:8000 (46864.5 s), LSR=0xb705:2000, DLSR=0x0005:4000 (5.25 s).
        let block = ReportBlock { last_sr: 0xb705_2000, delay_since_last_sr: 0x0005_4000, ..Default::default() };
        let rtt = round_trip_time(0xb710_8000, &block).expect("known");
        assert_eq!(rtt, Duration::from_micros(6_125_000));
        assert_eq!(round_trip_time(0xb710_8000, &ReportBlock::default()), None);
    }

    #[test]
    fn report_block_carries_dlsr_since_the_last_sr() {
        let t0 = Instant::now();
        let mut s = valid_stats(1);
        s.on_sender_report(t0, 0x0000_1234_5678_0000);
        let b = s.report_block(t0 + Duration::from_millis(500), 42);
        assert_eq!((b.ssrc, b.last_sr, b.delay_since_last_sr), (42, 0x1234_5678, 32768));
    }

    #[test]
    fn ntp_clock_advances_with_the_injected_instant() {
        let t0 = Instant::now();
        let c = NtpClock::new(t0, 100 << 32);
        assert_eq!(c.ntp(t0 + Duration::from_millis(1500)), (101 << 32) | (1 << 31));
        assert_eq!(c.ntp_middle(t0 + Duration::from_millis(500)), (100 << 16) | 0x8000);
    }
}
