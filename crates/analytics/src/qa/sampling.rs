//! Which contacts QA reviews: for each agent, `per_agent` contacts drawn at random from the
//! period, plus every contact a rule flagged (keyword, speech outlier).
//!
//! Reproducible: the same seed, plan, period and candidate *set* give the same sample, whatever
//! order the candidates come in and whatever version of any dependency (the generator is an
//! in-crate SplitMix64). Fair: every agent gets `min(per_agent, their unflagged contacts)`
//! random picks, drawn uniformly among their own contacts by a generator seeded from the seed and
//! the agent, so one agent's volume never changes another agent's sample. This module must never
//! read a clock or an OS random source.

use std::collections::BTreeMap;

use model::{AgentId, ContactId, Timestamp};

/// Most candidates in one sampling run (a busy center's month).
pub const MAX_CANDIDATES: usize = 2_000_000;
/// Most random picks per agent per period.
pub const MAX_PER_AGENT: u32 = 1_000;
/// Longest period sampled at once.
pub const MAX_PERIOD_MS: i64 = 366 * DAY_MS;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;

/// `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    start: Timestamp,
    end: Timestamp,
}

impl Period {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, SamplingError> {
        let len = end.unix_ms().saturating_sub(start.unix_ms());
        if len <= 0 || len > MAX_PERIOD_MS {
            return Err(SamplingError::BadPeriod);
        }
        Ok(Self { start, end })
    }

    /// The Monday-to-Monday week containing `at` in a zone `utc_offset_minutes` from UTC.
    pub fn week_containing(at: Timestamp, utc_offset_minutes: i32) -> Self {
        let offset_ms = i64::from(utc_offset_minutes) * 60_000;
        let local_day = (at.unix_ms() + offset_ms).div_euclid(DAY_MS);
        // 1970-01-01 was a Thursday: Monday is 3 days before day 0.
        let monday = local_day - (local_day + 3).rem_euclid(7);
        let start = monday * DAY_MS - offset_ms;
        Self { start: Timestamp::from_unix_ms(start), end: Timestamp::from_unix_ms(start + WEEK_MS) }
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }
    pub fn end(&self) -> Timestamp {
        self.end
    }
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// A finished contact that could be reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleCandidate {
    pub contact: ContactId,
    pub agent: AgentId,
    pub ended_at: Timestamp,
    /// A keyword rule or the speech outlier policy flagged it.
    pub flagged: bool,
}

/// How many contacts to review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingPlan {
    /// Random picks per agent per period (flagged contacts come on top).
    pub per_agent: u32,
    /// Add every flagged contact.
    pub include_flagged: bool,
}

/// Why a contact is in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SampleReason {
    Flagged,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampledContact {
    pub contact: ContactId,
    pub agent: AgentId,
    pub reason: SampleReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    #[error("the sampling period must end after it starts and last at most 366 days")]
    BadPeriod,
    #[error("{count} candidates is more than the {MAX_CANDIDATES} one run takes; sample a shorter period")]
    TooManyCandidates { count: usize },
    #[error("per_agent {0} is above the limit of {MAX_PER_AGENT}")]
    TooManyPerAgent(u32),
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever in this crate.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift with rejection, no modulo bias). `n` > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// The generator for one agent: the run's seed mixed with the agent's id.
fn agent_rng(seed: u64, agent: AgentId) -> SplitMix64 {
    let id = agent.as_uuid().as_u128();
    let mut mix = SplitMix64::new(seed ^ (id as u64));
    let folded = mix.next_u64() ^ ((id >> 64) as u64);
    SplitMix64::new(SplitMix64::new(folded).next_u64())
}

/// Draws the sample. Output is ordered by agent, then flagged before random, then contact id.
pub fn sample(
    plan: SamplingPlan,
    period: Period,
    candidates: &[SampleCandidate],
    seed: u64,
) -> Result<Vec<SampledContact>, SamplingError> {
    if candidates.len() > MAX_CANDIDATES {
        return Err(SamplingError::TooManyCandidates { count: candidates.len() });
    }
    if plan.per_agent > MAX_PER_AGENT {
        return Err(SamplingError::TooManyPerAgent(plan.per_agent));
    }
    // agent → (flagged, unflagged), each sorted and deduplicated so input order cannot matter.
    let mut by_agent: BTreeMap<AgentId, (Vec<ContactId>, Vec<ContactId>)> = BTreeMap::new();
    for c in candidates.iter().filter(|c| period.contains(c.ended_at)) {
        let entry = by_agent.entry(c.agent).or_default();
        if c.flagged { entry.0.push(c.contact) } else { entry.1.push(c.contact) }
    }
    let mut out = Vec::new();
    for (agent, (mut flagged, mut pool)) in by_agent {
        flagged.sort_unstable();
        flagged.dedup();
        pool.sort_unstable();
        pool.dedup();
        pool.retain(|c| flagged.binary_search(c).is_err());
        if plan.include_flagged {
            out.extend(flagged.iter().map(|&contact| SampledContact { contact, agent, reason: SampleReason::Flagged }));
        }
        let picks = pick(&mut pool, plan.per_agent as usize, &mut agent_rng(seed, agent));
        let mut picks = picks.to_vec();
        picks.sort_unstable();
        out.extend(picks.into_iter().map(|contact| SampledContact { contact, agent, reason: SampleReason::Random }));
    }
    Ok(out)
}

/// Partial Fisher–Yates: moves `k` uniformly chosen items to the front and returns them.
fn pick<'a, T>(items: &'a mut [T], k: usize, rng: &mut SplitMix64) -> &'a [T] {
    let k = k.min(items.len());
    for i in 0..k {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
    &items[..k]
}
