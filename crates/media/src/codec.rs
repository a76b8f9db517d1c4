//! Audio codecs a leg can negotiate (G.711 µ-law and A-law at 8 kHz) and the 20 ms framing
//! constants every stream uses. Must never: allocate per sample, or guess a codec from a payload.

use crate::g711;

/// Sample rate of narrowband telephony.
pub const SAMPLE_RATE_HZ: u32 = 8000;
/// Packetisation interval.
pub const PTIME_MS: u32 = 20;
/// Samples in one 20 ms frame at 8 kHz.
pub const SAMPLES_PER_FRAME: usize = 160;
/// Static payload type of PCMU (RFC 3551).
pub const PT_PCMU: u8 = 0;
/// Static payload type of PCMA (RFC 3551).
pub const PT_PCMA: u8 = 8;

/// A G.711 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, payload type 0.
    Pcmu,
    /// A-law, payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => PT_PCMU,
            Codec::Pcma => PT_PCMA,
        }
    }

    /// The codec for a static payload type, if it is one we speak.
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            PT_PCMU => Some(Codec::Pcmu),
            PT_PCMA => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The code of silence.
    pub fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => g711::ULAW_SILENCE,
            Codec::Pcma => g711::ALAW_SILENCE,
        }
    }

    /// Decodes `payload` into `out` (cleared first): one sample per byte.
    pub fn decode(self, payload: &[u8], out: &mut Vec<i16>) {
        out.clear();
        match self {
            Codec::Pcmu => out.extend(payload.iter().map(|&c| g711::ulaw_to_linear(c))),
            Codec::Pcma => out.extend(payload.iter().map(|&c| g711::alaw_to_linear(c))),
        }
    }

    /// Encodes `samples` and appends them to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        match self {
            Codec::Pcmu => out.extend(samples.iter().map(|&s| g711::linear_to_ulaw(s))),
            Codec::Pcma => out.extend(samples.iter().map(|&s| g711::linear_to_alaw(s))),
        }
    }

    /// Converts a payload of codec `self` into codec `to` in place.
    pub fn transcode_in_place(self, to: Codec, payload: &mut [u8]) {
        match (self, to) {
            (Codec::Pcmu, Codec::Pcma) => payload.iter_mut().for_each(|c| *c = g711::ulaw_to_alaw(*c)),
            (Codec::Pcma, Codec::Pcmu) => payload.iter_mut().for_each(|c| *c = g711::alaw_to_ulaw(*c)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_map_both_ways() {
        for c in [Codec::Pcmu, Codec::Pcma] {
            assert_eq!(Codec::from_payload_type(c.payload_type()), Some(c));
        }
        assert_eq!(Codec::from_payload_type(101), None);
    }

    #[test]
    fn silence_decodes_to_near_zero() {
        let mut out = Vec::new();
        for c in [Codec::Pcmu, Codec::Pcma] {
            c.decode(&[c.silence()], &mut out);
            assert!(out[0].abs() <= 8);
        }
    }

    #[test]
    fn transcoding_a_payload_keeps_the_waveform() {
        let samples: Vec<i16> = (0..160).map(|i| ((i as f64 / 8.0).sin() * 8000.0) as i16).collect();
        let mut payload = Vec::new();
        Codec::Pcmu.encode(&samples, &mut payload);
        Codec::Pcmu.transcode_in_place(Codec::Pcma, &mut payload);
        let mut back = Vec::new();
        Codec::Pcma.decode(&payload, &mut back);
        for (a, b) in samples.iter().zip(&back) {
            assert!((i32::from(*a) - i32::from(*b)).abs() < 400, "{a} vs {b}");
        }
    }
}
