//! Conversation figures from the two channels' talk segments: talk time per side, overtalk,
//! silence (neither side talking), longest silence, talk ratio and interruptions. Pure
//! arithmetic on sorted, non-overlapping segment lists; never looks at audio.

use super::Segment;

/// One side's talk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SideTalk {
    /// Total talk time.
    pub talk_ms: u64,
    /// When this side talked, in time order, non-overlapping.
    pub segments: Vec<Segment>,
    /// Talk segments this side started while the other side was talking.
    pub interruptions: u32,
}

/// The figures QA sees for one recording.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TalkAnalysis {
    /// Length of the recording.
    pub duration_ms: u64,
    /// Left channel.
    pub customer: SideTalk,
    /// Right channel.
    pub agent: SideTalk,
    /// Time both sides talked at once.
    pub overtalk_ms: u64,
    /// Time neither side talked, from the start of the recording to its end.
    pub silence_ms: u64,
    /// The longest stretch in which neither side talked (edges of the recording included).
    pub longest_silence_ms: u64,
}

impl TalkAnalysis {
    /// Builds the figures from each side's segments (sorted, non-overlapping, within the duration).
    pub fn from_segments(duration_ms: u64, customer: Vec<Segment>, agent: Vec<Segment>) -> Self {
        let overtalk_ms = overlap_ms(&customer, &agent);
        let (silence_ms, longest_silence_ms) = silences(duration_ms, &customer, &agent);
        let customer_interruptions = interruptions(&customer, &agent);
        let agent_interruptions = interruptions(&agent, &customer);
        Self {
            duration_ms,
            customer: SideTalk {
                talk_ms: total_ms(&customer),
                segments: customer,
                interruptions: customer_interruptions,
            },
            agent: SideTalk { talk_ms: total_ms(&agent), segments: agent, interruptions: agent_interruptions },
            overtalk_ms,
            silence_ms,
            longest_silence_ms,
        }
    }

    /// Share of the recording in which neither side talked, 0.0 to 1.0 (0.0 for an empty recording).
    pub fn silence_ratio(&self) -> f64 {
        ratio(self.silence_ms, self.duration_ms)
    }

    /// Share of the recording in which both talked at once, 0.0 to 1.0.
    pub fn overtalk_ratio(&self) -> f64 {
        ratio(self.overtalk_ms, self.duration_ms)
    }

    /// The agent's share of all talk, 0.0 to 1.0; `None` when nobody talked.
    pub fn agent_talk_share(&self) -> Option<f64> {
        let total = self.agent.talk_ms + self.customer.talk_ms;
        (total > 0).then(|| ratio(self.agent.talk_ms, total))
    }

    /// Agent talk time divided by customer talk time; `None` when the customer never talked.
    pub fn agent_to_customer_talk_ratio(&self) -> Option<f64> {
        (self.customer.talk_ms > 0).then(|| self.agent.talk_ms as f64 / self.customer.talk_ms as f64)
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn total_ms(segments: &[Segment]) -> u64 {
    segments.iter().map(Segment::len_ms).sum()
}

/// Total time covered by both lists at once (two-pointer sweep).
fn overlap_ms(a: &[Segment], b: &[Segment]) -> u64 {
    let (mut i, mut j, mut total) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].start_ms.max(b[j].start_ms);
        let end = a[i].end_ms.min(b[j].end_ms);
        total += end.saturating_sub(start);
        if a[i].end_ms <= b[j].end_ms {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

/// Total and longest time covered by neither list within `[0, duration_ms)`.
fn silences(duration_ms: u64, a: &[Segment], b: &[Segment]) -> (u64, u64) {
    let (mut i, mut j) = (0, 0);
    let (mut cursor, mut total, mut longest) = (0u64, 0u64, 0u64);
    loop {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.start_ms <= y.start_ms => {
                i += 1;
                *x
            }
            (Some(_), Some(y)) | (None, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => break,
        };
        let gap = next.start_ms.min(duration_ms).saturating_sub(cursor);
        total += gap;
        longest = longest.max(gap);
        cursor = cursor.max(next.end_ms);
    }
    let tail = duration_ms.saturating_sub(cursor);
    (total + tail, longest.max(tail))
}

/// Segments of `side` that start strictly inside a segment of `other`.
fn interruptions(side: &[Segment], other: &[Segment]) -> u32 {
    let mut j = 0;
    let mut count = 0u32;
    for s in side {
        while j < other.len() && other[j].end_ms <= s.start_ms {
            j += 1;
        }
        if other.get(j).is_some_and(|o| o.start_ms < s.start_ms) {
            count = count.saturating_add(1);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_ms: u64, end_ms: u64) -> Segment {
        Segment { start_ms, end_ms }
    }

    #[test]
    fn silence_counts_the_gaps_no_side_covers_including_the_edges() {
        let t =
            TalkAnalysis::from_segments(10_000, vec![seg(1_000, 3_000)], vec![seg(2_000, 4_000), seg(7_000, 9_000)]);
        assert_eq!(t.silence_ms, 1_000 + 3_000 + 1_000);
        assert_eq!(t.longest_silence_ms, 3_000);
        assert_eq!(t.overtalk_ms, 1_000);
        assert_eq!(t.agent.interruptions, 1);
        assert_eq!(t.customer.interruptions, 0);
    }

    #[test]
    fn nobody_talking_is_one_long_silence_and_no_ratio() {
        let t = TalkAnalysis::from_segments(5_000, vec![], vec![]);
        assert_eq!((t.silence_ms, t.longest_silence_ms), (5_000, 5_000));
        assert_eq!(t.agent_talk_share(), None);
        assert_eq!(t.agent_to_customer_talk_ratio(), None);
    }

    #[test]
    fn talk_ratio_compares_agent_with_customer() {
        let t = TalkAnalysis::from_segments(10_000, vec![seg(0, 2_000)], vec![seg(3_000, 9_000)]);
        assert_eq!(t.agent_to_customer_talk_ratio(), Some(3.0));
        assert_eq!(t.agent_talk_share(), Some(0.75));
    }
}
