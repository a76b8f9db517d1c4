//! RTCP codec (RFC 3550 §6): compound packets made of sender reports, receiver reports with report
//! blocks, source descriptions (CNAME and friends) and BYE; other types are kept opaque.
//!
//! Must never: panic or read past the buffer on any input, accept a length field that disagrees with
//! the datagram, or grow without bound (packets per compound, items per chunk are capped).

use crate::error::RtcpError;

/// Sender report packet type.
pub const PT_SR: u8 = 200;
/// Receiver report packet type.
pub const PT_RR: u8 = 201;
/// Source description packet type.
pub const PT_SDES: u8 = 202;
/// Goodbye packet type.
pub const PT_BYE: u8 = 203;
/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;
/// A hostile compound cannot make us build more packets than this.
pub const MAX_PACKETS_PER_COMPOUND: usize = 32;
/// 5-bit count field.
pub const MAX_COUNT: usize = 31;
/// Items per SDES chunk we keep (a chunk rarely has more than CNAME, NAME and TOOL).
pub const MAX_SDES_ITEMS_PER_CHUNK: usize = 16;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a signed 24-bit value (duplicates can make it negative).
    pub cumulative_lost: i32,
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    pub ssrc: u32,
    /// 64-bit NTP timestamp (seconds since 1900 in the high word, fraction in the low word).
    pub ntp_timestamp: u64,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    pub kind: u8,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// A chunk with only a CNAME.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Self { ssrc, items: vec![SdesItem { kind: SDES_CNAME, value: cname.as_bytes().to_vec() }] }
    }

    /// The CNAME item, if present and UTF-8.
    pub fn cname_str(&self) -> Option<&str> {
        self.items.iter().find(|i| i.kind == SDES_CNAME).and_then(|i| std::str::from_utf8(&i.value).ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goodbye {
    pub sources: Vec<u32>,
    pub reason: Option<Vec<u8>>,
}

/// One packet of a compound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    SourceDescription(Vec<SdesChunk>),
    Goodbye(Goodbye),
    /// APP, feedback and anything else, kept as is: count field and body after the 4-byte header.
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RtcpError> {
        let end = self.pos.checked_add(n).ok_or(RtcpError::Truncated { needed: usize::MAX, got: self.buf.len() })?;
        let s = self.buf.get(self.pos..end).ok_or(RtcpError::Truncated { needed: end, got: self.buf.len() })?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, RtcpError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, RtcpError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

fn read_block(r: &mut Reader<'_>) -> Result<ReportBlock, RtcpError> {
    let ssrc = r.u32()?;
    let word = r.u32()?;
    let fraction_lost = (word >> 24) as u8;
    // Sign-extend the 24-bit cumulative loss.
    let cumulative_lost = ((word << 8) as i32) >> 8;
    Ok(ReportBlock {
        ssrc,
        fraction_lost,
        cumulative_lost,
        extended_highest_seq: r.u32()?,
        jitter: r.u32()?,
        last_sr: r.u32()?,
        delay_since_last_sr: r.u32()?,
    })
}

fn read_blocks(r: &mut Reader<'_>, count: u8, pt: u8) -> Result<Vec<ReportBlock>, RtcpError> {
    if r.remaining() < usize::from(count) * 24 {
        return Err(RtcpError::BadCount { packet_type: pt, count });
    }
    (0..count).map(|_| read_block(r)).collect()
}

fn read_sdes(body: &[u8], count: u8) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut r = Reader { buf: body, pos: 0 };
    let mut chunks = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let ssrc = r.u32()?;
        let mut items = Vec::new();
        loop {
            let kind = r.u8()?;
            if kind == 0 {
                // End of list, then pad to the next 32-bit boundary.
                let pad = (4 - r.pos % 4) % 4;
                r.take(pad)?;
                break;
            }
            let len = usize::from(r.u8()?);
            let value = r.take(len)?.to_vec();
            if items.len() >= MAX_SDES_ITEMS_PER_CHUNK {
                return Err(RtcpError::TooManyEntries {
                    what: "SDES chunk",
                    got: items.len() + 1,
                    max: MAX_SDES_ITEMS_PER_CHUNK,
                });
            }
            items.push(SdesItem { kind, value });
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

fn read_bye(body: &[u8], count: u8) -> Result<Goodbye, RtcpError> {
    let mut r = Reader { buf: body, pos: 0 };
    let sources = (0..count).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
    let reason = if r.remaining() > 0 {
        let len = usize::from(r.u8()?);
        Some(r.take(len)?.to_vec())
    } else {
        None
    };
    Ok(Goodbye { sources, reason })
}

fn parse_one(pt: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let mut r = Reader { buf: body, pos: 0 };
    Ok(match pt {
        PT_SR => {
            let ssrc = r.u32()?;
            let ntp_hi = u64::from(r.u32()?);
            let ntp_lo = u64::from(r.u32()?);
            let rtp_timestamp = r.u32()?;
            let packet_count = r.u32()?;
            let octet_count = r.u32()?;
            let reports = read_blocks(&mut r, count, pt)?;
            RtcpPacket::SenderReport(SenderReport {
                ssrc,
                ntp_timestamp: (ntp_hi << 32) | ntp_lo,
                rtp_timestamp,
                packet_count,
                octet_count,
                reports,
            })
        }
        PT_RR => {
            let ssrc = r.u32()?;
            RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports: read_blocks(&mut r, count, pt)? })
        }
        PT_SDES => RtcpPacket::SourceDescription(read_sdes(body, count)?),
        PT_BYE => RtcpPacket::Goodbye(read_bye(body, count)?),
        _ => RtcpPacket::Other { packet_type: pt, count, body: body.to_vec() },
    })
}

/// Parses a compound RTCP datagram. Reduced-size RTCP (RFC 5506, not starting with SR/RR) is
/// accepted; padding is only honoured on the last packet, as RFC 3550 §6.4.1 requires.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        if packets.len() >= MAX_PACKETS_PER_COMPOUND {
            return Err(RtcpError::TooManyPackets { max: MAX_PACKETS_PER_COMPOUND });
        }
        let head = buf.get(pos..pos + 4).ok_or(RtcpError::Truncated { needed: pos + 4, got: buf.len() })?;
        if head[0] >> 6 != 2 {
            return Err(RtcpError::BadVersion(head[0] >> 6));
        }
        let padded = head[0] & 0x20 != 0;
        let count = head[0] & 0x1f;
        let pt = head[1];
        let len = (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1) * 4;
        let packet = buf.get(pos..pos + len).ok_or(RtcpError::Truncated { needed: pos + len, got: buf.len() })?;
        let mut body = &packet[4..];
        if padded {
            let last = pos + len == buf.len();
            let pad = usize::from(*packet.last().unwrap_or(&0));
            if !last || pad == 0 || pad > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - pad];
        }
        packets.push(parse_one(pt, count, body)?);
        pos += len;
    }
    Ok(packets)
}

fn write_block(b: &ReportBlock, out: &mut Vec<u8>) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
    out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
    for w in [b.extended_highest_seq, b.jitter, b.last_sr, b.delay_since_last_sr] {
        out.extend_from_slice(&w.to_be_bytes());
    }
}

fn count_of(what: &'static str, n: usize) -> Result<u8, RtcpError> {
    if n > MAX_COUNT {
        return Err(RtcpError::TooManyEntries { what, got: n, max: MAX_COUNT });
    }
    Ok(n as u8)
}

fn write_body(p: &RtcpPacket, out: &mut Vec<u8>) -> Result<(u8, u8), RtcpError> {
    Ok(match p {
        RtcpPacket::SenderReport(sr) => {
            let count = count_of("sender report blocks", sr.reports.len())?;
            out.extend_from_slice(&sr.ssrc.to_be_bytes());
            out.extend_from_slice(&sr.ntp_timestamp.to_be_bytes());
            for w in [sr.rtp_timestamp, sr.packet_count, sr.octet_count] {
                out.extend_from_slice(&w.to_be_bytes());
            }
            sr.reports.iter().for_each(|b| write_block(b, out));
            (PT_SR, count)
        }
        RtcpPacket::ReceiverReport(rr) => {
            let count = count_of("receiver report blocks", rr.reports.len())?;
            out.extend_from_slice(&rr.ssrc.to_be_bytes());
            rr.reports.iter().for_each(|b| write_block(b, out));
            (PT_RR, count)
        }
        RtcpPacket::SourceDescription(chunks) => {
            let count = count_of("SDES chunks", chunks.len())?;
            for c in chunks {
                let start = out.len();
                out.extend_from_slice(&c.ssrc.to_be_bytes());
                for item in &c.items {
                    let len = u8::try_from(item.value.len()).map_err(|_| RtcpError::ItemTooLong(item.value.len()))?;
                    out.extend_from_slice(&[item.kind, len]);
                    out.extend_from_slice(&item.value);
                }
                out.push(0);
                while !(out.len() - start).is_multiple_of(4) {
                    out.push(0);
                }
            }
            (PT_SDES, count)
        }
        RtcpPacket::Goodbye(bye) => {
            let count = count_of("BYE sources", bye.sources.len())?;
            bye.sources.iter().for_each(|s| out.extend_from_slice(&s.to_be_bytes()));
            if let Some(reason) = &bye.reason {
                let len = u8::try_from(reason.len()).map_err(|_| RtcpError::ItemTooLong(reason.len()))?;
                out.push(len);
                out.extend_from_slice(reason);
            }
            (PT_BYE, count)
        }
        RtcpPacket::Other { packet_type, count, body } => {
            if body.len() % 4 != 0 {
                return Err(RtcpError::Unaligned(body.len()));
            }
            out.extend_from_slice(body);
            (*packet_type, *count & 0x1f)
        }
    })
}

/// Appends a compound packet to `out`. On error `out` is left as it was.
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    let original_len = out.len();
    let result = packets.iter().try_for_each(|p| write_packet(p, out));
    if result.is_err() {
        out.truncate(original_len);
    }
    result
}

fn write_packet(p: &RtcpPacket, out: &mut Vec<u8>) -> Result<(), RtcpError> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    let (pt, count) = write_body(p, out)?;
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0); // only a BYE reason can leave the body unaligned
    }
    let words = (out.len() - start) / 4 - 1;
    let words =
        u16::try_from(words).map_err(|_| RtcpError::TooManyEntries { what: "RTCP words", got: words, max: 65535 })?;
    out[start] = 0x80 | count;
    out[start + 1] = pt;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32, lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: lost,
            extended_highest_seq: 0x0001_0005,
            jitter: 42,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    fn compound() -> Vec<RtcpPacket> {
        vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 1,
                ntp_timestamp: 0xe000_0000_8000_0000,
                rtp_timestamp: 160,
                packet_count: 10,
                octet_count: 1600,
                reports: vec![block(2, 3)],
            }),
            RtcpPacket::SourceDescription(vec![SdesChunk::cname(1, "hotline@10.0.0.1")]),
            RtcpPacket::Goodbye(Goodbye { sources: vec![1], reason: Some(b"hangup".to_vec()) }),
        ]
    }

    #[test]
    fn compound_round_trips_sr_sdes_bye() {
        let mut out = Vec::new();
        write_compound(&compound(), &mut out).expect("writable");
        assert_eq!(out.len() % 4, 0);
        assert_eq!(parse_compound(&out).expect("valid"), compound());
    }

    #[test]
    fn receiver_report_with_negative_cumulative_loss_round_trips() {
        let rr = vec![RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 9,
            reports: vec![block(3, -2), block(4, 0x7f_ffff)],
        })];
        let mut out = Vec::new();
        write_compound(&rr, &mut out).expect("writable");
        assert_eq!(out.len(), 8 + 2 * 24);
        assert_eq!(parse_compound(&out).expect("valid"), rr);
    }

    #[test]
    fn wire_layout_of_a_receiver_report_matches_rfc_3550() {
        let rr = vec![RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 0x0102_0304, reports: vec![] })];
        let mut out = Vec::new();
        write_compound(&rr, &mut out).expect("writable");
        assert_eq!(out, [0x80, 201, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn cname_is_found_in_sdes() {
        let chunk = SdesChunk::cname(7, "abc");
        assert_eq!(chunk.cname_str(), Some("abc"));
    }

    #[test]
    fn length_past_the_datagram_is_truncated_error() {
        let buf = [0x80, 201, 0, 9, 0, 0, 0, 1];
        assert!(matches!(parse_compound(&buf), Err(RtcpError::Truncated { .. })));
    }

    #[test]
    fn report_count_larger_than_the_body_is_rejected() {
        let buf = [0x83, 201, 0, 1, 0, 0, 0, 1];
        assert_eq!(parse_compound(&buf), Err(RtcpError::BadCount { packet_type: 201, count: 3 }));
    }

    #[test]
    fn padding_on_a_packet_that_is_not_last_is_rejected() {
        let mut buf = vec![0xa0, 201, 0, 1, 0, 0, 0, 4];
        buf.extend_from_slice(&[0x80, 201, 0, 1, 0, 0, 0, 1]);
        assert_eq!(parse_compound(&buf), Err(RtcpError::BadPadding));
    }

    #[test]
    fn unknown_packet_types_are_kept_opaque() {
        let buf = [0x81, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
        let parsed = parse_compound(&buf).expect("valid");
        assert_eq!(parsed, vec![RtcpPacket::Other { packet_type: 204, count: 1, body: buf[4..].to_vec() }]);
    }

    #[test]
    fn more_than_31_report_blocks_cannot_be_written() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 1, reports: vec![block(1, 0); 32] });
        let mut out = vec![1, 2];
        assert!(write_compound(&[rr], &mut out).is_err());
        assert_eq!(out, [1, 2]);
    }
}
