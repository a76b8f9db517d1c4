//! The QA outlier policy: which talk figures make a call worth a reviewer's time. Thresholds are
//! plain data with their units in their names; the policy never looks at audio, only at a
//! [`TalkAnalysis`].

use super::{SpeechError, TalkAnalysis};

/// Limits beyond which a call is flagged for QA.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierPolicy {
    /// Calls shorter than this are never flagged (too little to judge).
    pub min_call_ms: u64,
    /// Flag when neither side talks for more than this share of the call (0.0 to 1.0).
    pub max_silence_ratio: f64,
    /// Flag a single silence (dead air) longer than this.
    pub max_longest_silence_ms: u64,
    /// Flag when both talk at once for more than this share of the call (0.0 to 1.0).
    pub max_overtalk_ratio: f64,
    /// Flag when the agent interrupts the customer more often than this.
    pub max_agent_interruptions: u32,
    /// Flag when the agent's share of all talk is outside this range (0.0 to 1.0).
    pub min_agent_talk_share: f64,
    pub max_agent_talk_share: f64,
}

impl Default for OutlierPolicy {
    fn default() -> Self {
        Self {
            min_call_ms: 30_000,
            max_silence_ratio: 0.40,
            max_longest_silence_ms: 30_000,
            max_overtalk_ratio: 0.10,
            max_agent_interruptions: 5,
            min_agent_talk_share: 0.20,
            max_agent_talk_share: 0.80,
        }
    }
}

/// Why a call was flagged, with the figure and the limit it crossed.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechFlag {
    TooMuchSilence {
        silence_ratio: f64,
        limit_ratio: f64,
    },
    LongSilence {
        longest_silence_ms: u64,
        limit_ms: u64,
    },
    TooMuchOvertalk {
        overtalk_ratio: f64,
        limit_ratio: f64,
    },
    AgentInterrupts {
        interruptions: u32,
        limit: u32,
    },
    AgentTalksTooMuch {
        agent_talk_share: f64,
        limit_share: f64,
    },
    AgentTalksTooLittle {
        agent_talk_share: f64,
        limit_share: f64,
    },
    /// Nobody talked at all in a call long enough to judge: a dead line or a broken recording.
    NoTalk,
}

impl OutlierPolicy {
    /// Checks that ratios are within 0..=1 and that the share range is not empty.
    pub fn validate(&self) -> Result<(), SpeechError> {
        let in_unit = |v: f64| (0.0..=1.0).contains(&v);
        for (field, v) in [
            ("max_silence_ratio", self.max_silence_ratio),
            ("max_overtalk_ratio", self.max_overtalk_ratio),
            ("min_agent_talk_share", self.min_agent_talk_share),
            ("max_agent_talk_share", self.max_agent_talk_share),
        ] {
            if !in_unit(v) {
                return Err(SpeechError::BadConfig { field, problem: "must be between 0.0 and 1.0" });
            }
        }
        if self.min_agent_talk_share > self.max_agent_talk_share {
            return Err(SpeechError::BadConfig {
                field: "min_agent_talk_share",
                problem: "must not be above max_agent_talk_share",
            });
        }
        Ok(())
    }

    /// The flags a call earns; empty when it is unremarkable or too short to judge.
    pub fn flags(&self, talk: &TalkAnalysis) -> Vec<SpeechFlag> {
        let mut flags = Vec::new();
        if talk.duration_ms < self.min_call_ms {
            return flags;
        }
        let silence_ratio = talk.silence_ratio();
        if silence_ratio > self.max_silence_ratio {
            flags.push(SpeechFlag::TooMuchSilence { silence_ratio, limit_ratio: self.max_silence_ratio });
        }
        if talk.longest_silence_ms > self.max_longest_silence_ms {
            flags.push(SpeechFlag::LongSilence {
                longest_silence_ms: talk.longest_silence_ms,
                limit_ms: self.max_longest_silence_ms,
            });
        }
        let overtalk_ratio = talk.overtalk_ratio();
        if overtalk_ratio > self.max_overtalk_ratio {
            flags.push(SpeechFlag::TooMuchOvertalk { overtalk_ratio, limit_ratio: self.max_overtalk_ratio });
        }
        if talk.agent.interruptions > self.max_agent_interruptions {
            flags.push(SpeechFlag::AgentInterrupts {
                interruptions: talk.agent.interruptions,
                limit: self.max_agent_interruptions,
            });
        }
        match talk.agent_talk_share() {
            None => flags.push(SpeechFlag::NoTalk),
            Some(share) if share > self.max_agent_talk_share => flags.push(SpeechFlag::AgentTalksTooMuch {
                agent_talk_share: share,
                limit_share: self.max_agent_talk_share,
            }),
            Some(share) if share < self.min_agent_talk_share => flags.push(SpeechFlag::AgentTalksTooLittle {
                agent_talk_share: share,
                limit_share: self.min_agent_talk_share,
            }),
            Some(_) => {}
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::super::Segment;
    use super::*;

    fn seg(start_ms: u64, end_ms: u64) -> Segment {
        Segment { start_ms, end_ms }
    }

    #[test]
    fn balanced_call_is_not_flagged() {
        let talk = TalkAnalysis::from_segments(
            60_000,
            vec![seg(0, 14_000), seg(30_000, 44_000)],
            vec![seg(15_000, 29_000), seg(45_000, 59_000)],
        );
        assert_eq!(OutlierPolicy::default().flags(&talk), vec![]);
    }

    #[test]
    fn dead_air_longer_than_the_limit_is_flagged_with_its_length() {
        let talk = TalkAnalysis::from_segments(120_000, vec![seg(0, 30_000)], vec![seg(75_000, 120_000)]);
        let flags = OutlierPolicy::default().flags(&talk);
        assert!(flags.contains(&SpeechFlag::LongSilence { longest_silence_ms: 45_000, limit_ms: 30_000 }));
    }

    #[test]
    fn agent_monologue_is_flagged() {
        let talk = TalkAnalysis::from_segments(60_000, vec![seg(0, 5_000)], vec![seg(6_000, 59_000)]);
        let flags = OutlierPolicy::default().flags(&talk);
        assert!(flags.iter().any(|f| matches!(f, SpeechFlag::AgentTalksTooMuch { .. })));
    }

    #[test]
    fn short_calls_are_never_flagged() {
        let talk = TalkAnalysis::from_segments(10_000, vec![], vec![]);
        assert!(OutlierPolicy::default().flags(&talk).is_empty());
    }

    #[test]
    fn silent_call_long_enough_to_judge_is_flagged_as_no_talk() {
        let talk = TalkAnalysis::from_segments(60_000, vec![], vec![]);
        assert!(OutlierPolicy::default().flags(&talk).contains(&SpeechFlag::NoTalk));
    }

    #[test]
    fn ratio_outside_zero_to_one_is_refused_by_name() {
        let p = OutlierPolicy { max_silence_ratio: 40.0, ..OutlierPolicy::default() };
        assert_eq!(
            p.validate(),
            Err(SpeechError::BadConfig { field: "max_silence_ratio", problem: "must be between 0.0 and 1.0" })
        );
    }
}
