//! QA score reports over time: average final score per agent per week and for the whole team,
//! from the scores of evaluations that count (published or final). Pure aggregation; it must
//! never include a draft, since drafts can still change.

use std::collections::BTreeMap;

use model::{AgentId, Timestamp};

use super::sampling::Period;

/// One counted evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoredEvaluation {
    pub agent: AgentId,
    /// When it was published.
    pub at: Timestamp,
    pub percent_hundredths: u32,
}

/// Averages over one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyAverage {
    /// Monday 00:00 in the org's time zone.
    pub week_start: Timestamp,
    pub evaluations: u32,
    /// Mean score in hundredths of a percent, rounded half up.
    pub mean_hundredths: u32,
}

/// Per-agent and team trends, weeks in time order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScoreTrend {
    pub agents: BTreeMap<AgentId, Vec<WeeklyAverage>>,
    pub team: Vec<WeeklyAverage>,
}

#[derive(Default, Clone, Copy)]
struct Sum {
    count: u64,
    total: u64,
}

impl Sum {
    fn add(&mut self, v: u32) {
        self.count += 1;
        self.total += u64::from(v);
    }
    fn average(self, week_start: Timestamp) -> WeeklyAverage {
        let mean = (self.total * 2 + self.count) / (self.count * 2).max(1);
        WeeklyAverage {
            week_start,
            evaluations: u32::try_from(self.count).unwrap_or(u32::MAX),
            mean_hundredths: u32::try_from(mean).unwrap_or(u32::MAX),
        }
    }
}

/// Weekly averages per agent and for the team, weeks starting Monday in a zone
/// `utc_offset_minutes` from UTC.
pub fn weekly_trend(scores: &[ScoredEvaluation], utc_offset_minutes: i32) -> ScoreTrend {
    let mut per_agent: BTreeMap<(AgentId, Timestamp), Sum> = BTreeMap::new();
    let mut team: BTreeMap<Timestamp, Sum> = BTreeMap::new();
    for s in scores {
        let week = Period::week_containing(s.at, utc_offset_minutes).start();
        per_agent.entry((s.agent, week)).or_default().add(s.percent_hundredths);
        team.entry(week).or_default().add(s.percent_hundredths);
    }
    let mut trend = ScoreTrend::default();
    for ((agent, week), sum) in per_agent {
        trend.agents.entry(agent).or_default().push(sum.average(week));
    }
    trend.team = team.into_iter().map(|(week, sum)| sum.average(week)).collect();
    trend
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn scored(agent: u128, day: i64, percent_hundredths: u32) -> ScoredEvaluation {
        // 1970-01-05 was a Monday.
        ScoredEvaluation {
            agent: AgentId::from_u128(agent),
            at: Timestamp::from_unix_ms((4 + day) * DAY_MS),
            percent_hundredths,
        }
    }

    #[test]
    fn weekly_averages_per_agent_and_for_the_team() {
        let trend =
            weekly_trend(&[scored(1, 0, 8_000), scored(1, 3, 9_000), scored(2, 1, 6_000), scored(1, 8, 7_000)], 0);
        let alice = &trend.agents[&AgentId::from_u128(1)];
        assert_eq!(alice.len(), 2);
        assert_eq!((alice[0].evaluations, alice[0].mean_hundredths), (2, 8_500));
        assert_eq!(alice[1].week_start, Timestamp::from_unix_ms(11 * DAY_MS));
        assert_eq!((trend.team[0].evaluations, trend.team[0].mean_hundredths), (3, 7_667));
    }
}
