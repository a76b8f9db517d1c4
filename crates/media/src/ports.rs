//! The configurable RTP port range: hands out even local ports (RTP on even, RTCP on the odd one
//! above when not muxed, RFC 3550 §11) round-robin so a port just released is not reused at once.
//! Pure bookkeeping; the UDP shell binds what it is given. Must never: hand out a port twice or
//! one outside the range.

use std::collections::BTreeSet;

/// A validated inclusive port range with at least one even/odd pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPortRange {
    first: u16,
    last: u16,
}

/// Why a port range is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RTP port range {first}-{last} must be within 1024-65535 and hold at least one even/odd pair")]
pub struct BadPortRange {
    pub first: u16,
    pub last: u16,
}

impl RtpPortRange {
    pub fn new(first: u16, last: u16) -> Result<Self, BadPortRange> {
        let even_first = first.saturating_add(first % 2);
        if first < 1024 || last < first || even_first >= last {
            return Err(BadPortRange { first, last });
        }
        Ok(Self { first: even_first, last })
    }

    /// How many RTP ports (pairs) the range holds.
    pub fn capacity(&self) -> usize {
        usize::from((self.last - self.first).div_ceil(2))
    }
}

/// Allocates RTP ports from a range.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    range: RtpPortRange,
    in_use: BTreeSet<u16>,
    next: u16,
}

impl PortAllocator {
    pub fn new(range: RtpPortRange) -> Self {
        Self { range, in_use: BTreeSet::new(), next: range.first }
    }

    /// An even port whose odd neighbour is also in range, or `None` when all are in use.
    pub fn allocate(&mut self) -> Option<u16> {
        for _ in 0..self.range.capacity() {
            let port = self.next;
            self.next = if port.saturating_add(3) > self.range.last { self.range.first } else { port + 2 };
            if self.in_use.insert(port) {
                return Some(port);
            }
        }
        None
    }

    /// Returns a port; unknown ports are ignored.
    pub fn release(&mut self, port: u16) {
        self.in_use.remove(&port);
    }

    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_even_in_range_and_never_handed_out_twice() {
        let mut a = PortAllocator::new(RtpPortRange::new(10001, 10010).expect("valid"));
        let got: Vec<u16> = std::iter::from_fn(|| a.allocate()).collect();
        assert_eq!(got, [10002, 10004, 10006, 10008]);
        assert_eq!(a.allocate(), None);
        a.release(10004);
        assert_eq!(a.allocate(), Some(10004));
    }

    #[test]
    fn a_released_port_is_not_reused_at_once() {
        let mut a = PortAllocator::new(RtpPortRange::new(20000, 20009).expect("valid"));
        let p = a.allocate().expect("free");
        a.release(p);
        assert_ne!(a.allocate(), Some(p));
    }

    #[test]
    fn unusable_ranges_are_rejected() {
        assert!(RtpPortRange::new(80, 2000).is_err());
        assert!(RtpPortRange::new(3000, 2000).is_err());
        assert!(RtpPortRange::new(3001, 3002).is_err());
        assert_eq!(RtpPortRange::new(3000, 3001).expect("one pair").capacity(), 1);
    }
}
