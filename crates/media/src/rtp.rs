//! RTP packet codec (RFC 3550 §5.1): parse a datagram into a borrowed [`RtpPacket`] view and
//! serialise one back, plus the in-place header rewrite that relaying needs.
//!
//! Must never: panic or read out of bounds on any input (every length is checked, errors are
//! typed [`RtpError`]s), allocate while parsing, or accept a header whose lengths disagree.

use crate::error::RtpError;

/// The only RTP version in use (RFC 3550).
pub const RTP_VERSION: u8 = 2;
/// Fixed header length before CSRCs and extension.
pub const RTP_FIXED_HEADER_BYTES: usize = 12;
/// A 4-bit CSRC count allows at most 15 contributing sources.
pub const MAX_CSRC_COUNT: usize = 15;
/// Largest datagram we serialise (an Ethernet MTU leaves room for IP/UDP headers).
pub const MAX_RTP_PACKET_BYTES: usize = 1500;

/// Contributing sources of a packet, stored inline (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsrcList {
    len: u8,
    items: [u32; MAX_CSRC_COUNT],
}

impl CsrcList {
    /// A list from a slice; `None` when it has more than [`MAX_CSRC_COUNT`] entries.
    pub fn from_slice(csrcs: &[u32]) -> Option<Self> {
        if csrcs.len() > MAX_CSRC_COUNT {
            return None;
        }
        let mut list = Self::default();
        list.items[..csrcs.len()].copy_from_slice(csrcs);
        list.len = u8::try_from(csrcs.len()).ok()?;
        Some(list)
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.items[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The fields of an RTP header that a stream decides (version is always 2; padding, extension and
/// CSRC count are derived from the packet body when writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    pub marker: bool,
    /// 0..=127.
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc: CsrcList,
}

/// A header extension (RFC 3550 §5.3.1): a 16-bit profile word and a body of whole 32-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub extension: Option<RtpExtension<'a>>,
    pub payload: &'a [u8],
    /// Padding octets after the payload, including the count octet (0 when the P bit is clear).
    pub padding_bytes: u8,
}

fn be_u16(b: &[u8], at: usize) -> Result<u16, RtpError> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(RtpError::Truncated { needed: at + 2, got: b.len() }),
    }
}

fn be_u32(b: &[u8], at: usize) -> Result<u32, RtpError> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(RtpError::Truncated { needed: at + 4, got: b.len() }),
    }
}

/// True when a datagram on a muxed port is RTCP rather than RTP (RFC 5761 §4: second octet 192..=223).
pub fn looks_like_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && (192..=223).contains(&datagram[1])
}

impl<'a> RtpPacket<'a> {
    /// Parses one RTP datagram, checking every length against the buffer.
    /// A datagram over [`MAX_RTP_PACKET_BYTES`] is refused, so whatever parses can also be written
    /// (relayed or recorded); found by the `packets` fuzz target.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() > MAX_RTP_PACKET_BYTES {
            return Err(RtpError::TooLarge { bytes: buf.len(), max: MAX_RTP_PACKET_BYTES });
        }
        if buf.len() < RTP_FIXED_HEADER_BYTES {
            return Err(RtpError::Truncated { needed: RTP_FIXED_HEADER_BYTES, got: buf.len() });
        }
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0f);
        let mut csrcs = [0u32; MAX_CSRC_COUNT];
        for (i, slot) in csrcs.iter_mut().enumerate().take(csrc_count) {
            *slot = be_u32(buf, RTP_FIXED_HEADER_BYTES + 4 * i)?;
        }
        let mut offset = RTP_FIXED_HEADER_BYTES + 4 * csrc_count;
        let extension = if has_extension {
            let profile = be_u16(buf, offset)?;
            let words = usize::from(be_u16(buf, offset + 2)?);
            let start = offset + 4;
            let end = start + 4 * words;
            let data = buf.get(start..end).ok_or(RtpError::Truncated { needed: end, got: buf.len() })?;
            offset = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let mut end = buf.len();
        let mut padding_bytes = 0u8;
        if has_padding {
            let count = buf[buf.len() - 1];
            if count == 0 || usize::from(count) > buf.len() - offset {
                return Err(RtpError::BadPadding { count, available: buf.len() - offset });
            }
            padding_bytes = count;
            end -= usize::from(count);
        }
        let csrc = CsrcList { len: buf[0] & 0x0f, items: csrcs };
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7f,
            sequence: be_u16(buf, 2)?,
            timestamp: be_u32(buf, 4)?,
            ssrc: be_u32(buf, 8)?,
            csrc,
        };
        Ok(Self { header, extension, payload: &buf[offset..end], padding_bytes })
    }

    /// Bytes this packet takes when serialised.
    pub fn encoded_len(&self) -> usize {
        RTP_FIXED_HEADER_BYTES
            + 4 * self.header.csrc.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding_bytes)
    }

    /// Appends the packet to `out`. Fails (writing nothing) on a payload type above 127, an
    /// extension body that is not whole words or too long, or a packet over [`MAX_RTP_PACKET_BYTES`].
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        let h = &self.header;
        if h.payload_type > 127 {
            return Err(RtpError::BadPayloadType(h.payload_type));
        }
        let len = self.encoded_len();
        if len > MAX_RTP_PACKET_BYTES {
            return Err(RtpError::TooLarge { bytes: len, max: MAX_RTP_PACKET_BYTES });
        }
        let ext_words = match self.extension {
            Some(e) if e.data.len() % 4 != 0 => return Err(RtpError::BadExtensionLength(e.data.len())),
            Some(e) => Some(u16::try_from(e.data.len() / 4).map_err(|_| RtpError::BadExtensionLength(e.data.len()))?),
            None => None,
        };
        let csrc_count = u8::try_from(h.csrc.len()).unwrap_or(0) & 0x0f;
        let first = (RTP_VERSION << 6)
            | if self.padding_bytes > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | csrc_count;
        out.reserve(len);
        out.push(first);
        out.push(if h.marker { 0x80 } else { 0 } | h.payload_type);
        out.extend_from_slice(&h.sequence.to_be_bytes());
        out.extend_from_slice(&h.timestamp.to_be_bytes());
        out.extend_from_slice(&h.ssrc.to_be_bytes());
        for c in h.csrc.as_slice() {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let (Some(e), Some(words)) = (self.extension, ext_words) {
            out.extend_from_slice(&e.profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(e.data);
        }
        out.extend_from_slice(self.payload);
        if self.padding_bytes > 0 {
            out.extend(std::iter::repeat_n(0u8, usize::from(self.padding_bytes) - 1));
            out.push(self.padding_bytes);
        }
        Ok(())
    }
}

/// Writes a plain packet (no CSRC, extension or padding): the common case for audio we send.
pub fn write_simple(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
    let header = RtpHeader { csrc: CsrcList::default(), ..*header };
    RtpPacket { header, extension: None, payload, padding_bytes: 0 }.write_to(out)
}

/// New values for the fields a relay rewrites for the far side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRewrite {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Rewrites marker, payload type, sequence, timestamp and SSRC of an already valid RTP datagram in
/// place. Fails without touching `buf` if it is shorter than the fixed header or not version 2.
pub fn rewrite_in_place(buf: &mut [u8], rw: &HeaderRewrite) -> Result<(), RtpError> {
    if buf.len() < RTP_FIXED_HEADER_BYTES {
        return Err(RtpError::Truncated { needed: RTP_FIXED_HEADER_BYTES, got: buf.len() });
    }
    if buf[0] >> 6 != RTP_VERSION {
        return Err(RtpError::BadVersion(buf[0] >> 6));
    }
    buf[1] = if rw.marker { 0x80 } else { 0 } | (rw.payload_type & 0x7f);
    buf[2..4].copy_from_slice(&rw.sequence.to_be_bytes());
    buf[4..8].copy_from_slice(&rw.timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&rw.ssrc.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut v = vec![0x80 | 0x20 | 0x10 | 0x02, 0x80 | 8, 0x12, 0x34, 0, 0, 0x01, 0x40, 0xde, 0xad, 0xbe, 0xef];
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // two CSRCs
        v.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, one word
        v.extend_from_slice(&[9, 9, 9]); // payload
        v.extend_from_slice(&[0, 0, 3]); // padding of 3
        v
    }

    #[test]
    fn parses_every_header_field() {
        let buf = sample();
        let p = RtpPacket::parse(&buf).expect("valid");
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 8);
        assert_eq!(p.header.sequence, 0x1234);
        assert_eq!(p.header.timestamp, 320);
        assert_eq!(p.header.ssrc, 0xdead_beef);
        assert_eq!(p.header.csrc.as_slice(), &[1, 2]);
        assert_eq!(p.extension, Some(RtpExtension { profile: 0xbede, data: &[1, 2, 3, 4] }));
        assert_eq!(p.payload, &[9, 9, 9]);
        assert_eq!(p.padding_bytes, 3);
    }

    #[test]
    fn serialising_a_parsed_packet_gives_the_same_bytes() {
        let buf = sample();
        let mut out = Vec::new();
        RtpPacket::parse(&buf).expect("valid").write_to(&mut out).expect("writable");
        assert_eq!(out, buf);
    }

    #[test]
    fn padding_longer_than_the_body_is_rejected() {
        let mut buf = vec![0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 40];
        assert!(matches!(RtpPacket::parse(&buf), Err(RtpError::BadPadding { .. })));
        buf.pop();
        buf.push(0);
        assert!(matches!(RtpPacket::parse(&buf), Err(RtpError::BadPadding { count: 0, .. })));
    }

    #[test]
    fn csrc_count_beyond_the_buffer_is_truncated_error() {
        let buf = [0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5];
        assert!(matches!(RtpPacket::parse(&buf), Err(RtpError::Truncated { .. })));
    }

    #[test]
    fn extension_length_beyond_the_buffer_is_truncated_error() {
        let buf = [0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9, 1, 2, 3, 4];
        assert!(matches!(RtpPacket::parse(&buf), Err(RtpError::Truncated { .. })));
    }

    #[test]
    fn datagram_over_the_packet_limit_is_refused_so_what_parses_can_be_written() {
        // The fuzz target's finding: a 1,740-byte datagram parsed but could not be written back.
        let mut big = vec![0u8; MAX_RTP_PACKET_BYTES + 1];
        big[0] = 0x80;
        assert_eq!(
            RtpPacket::parse(&big),
            Err(RtpError::TooLarge { bytes: MAX_RTP_PACKET_BYTES + 1, max: MAX_RTP_PACKET_BYTES })
        );
        let at_limit = &big[..MAX_RTP_PACKET_BYTES];
        let packet = RtpPacket::parse(at_limit).expect("a datagram at the limit parses");
        let mut out = Vec::new();
        packet.write_to(&mut out).expect("and can be written");
        assert_eq!(out, at_limit);
    }

    #[test]
    fn version_other_than_two_is_rejected() {
        let buf = [0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(RtpPacket::parse(&buf), Err(RtpError::BadVersion(1)));
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp_on_a_muxed_port() {
        assert!(looks_like_rtcp(&[0x80, 200]));
        assert!(!looks_like_rtcp(&[0x80, 0x80]));
        assert!(!looks_like_rtcp(&[0x80, 8]));
    }

    #[test]
    fn rewrite_changes_only_the_relay_fields() {
        let mut buf = sample();
        let rw = HeaderRewrite { marker: false, payload_type: 0, sequence: 7, timestamp: 99, ssrc: 5 };
        rewrite_in_place(&mut buf, &rw).expect("valid");
        let p = RtpPacket::parse(&buf).expect("still valid");
        assert_eq!((p.header.marker, p.header.payload_type, p.header.sequence), (false, 0, 7));
        assert_eq!((p.header.timestamp, p.header.ssrc), (99, 5));
        assert_eq!(p.payload, &[9, 9, 9]);
    }

    #[test]
    fn extension_body_must_be_whole_words() {
        let p = RtpPacket {
            header: RtpHeader::default(),
            extension: Some(RtpExtension { profile: 1, data: &[1, 2, 3] }),
            payload: &[],
            padding_bytes: 0,
        };
        assert_eq!(p.write_to(&mut Vec::new()), Err(RtpError::BadExtensionLength(3)));
    }
}
