//! A from-scratch recomputation, for tests only: de-duplicate, fold every event into facts, sort
//! each agent's changes, then add every contribution once. The property test checks that the
//! incremental aggregator, fed the same events shuffled with duplicates, ends up equal to this.

use std::collections::{BTreeMap, HashSet};

use model::{AgentId, AgentState, ContactId, Timestamp};

use super::agents::add_segment;
use super::buckets::Buckets;
use super::contacts::{ContactFacts, is_repeat};
use super::{AggregatorConfig, ContactEventKind, Input, Snapshot};
use crate::figures::Sign;

pub(super) fn recompute(config: &AggregatorConfig, inputs: &[Input]) -> Snapshot {
    let mut seen = HashSet::new();
    let mut facts: BTreeMap<ContactId, ContactFacts> = BTreeMap::new();
    let mut changes: BTreeMap<AgentId, BTreeMap<(Timestamp, u128), AgentState>> = BTreeMap::new();
    for input in inputs {
        if let Input::Contact(e) = input
            && let ContactEventKind::SurveyAnswered { kind, score } = e.kind
            && !(kind.score_range().0..=kind.score_range().1).contains(&score)
        {
            continue;
        }
        if !seen.insert(input.dedup_key()) {
            continue;
        }
        match input {
            Input::Contact(e) => {
                facts.entry(e.contact).or_default().apply(e, usize::MAX);
            }
            Input::AgentState(e) => {
                changes.entry(e.agent).or_default().insert((e.at, e.id.as_uuid().as_u128()), e.state);
            }
        }
    }
    let mut buckets = Buckets::new([usize::MAX; 3], config.utc_offset);
    for (id, f) in &facts {
        let repeated = f.repeat_group().is_some_and(|g| {
            facts.iter().any(|(other_id, other)| {
                other_id != id && other.repeat_group().as_ref() == Some(&g) && is_repeat(f, other, config.fcr_window_ms)
            })
        });
        f.contribute(&|q| config.thresholds(q), repeated, &mut |at, dim, d| buckets.apply(at, dim, d, Sign::Add));
    }
    for (agent, timeline) in &changes {
        let list: Vec<_> = timeline.iter().collect();
        for pair in list.windows(2) {
            add_segment(*agent, *pair[0].1, pair[0].0.0, pair[1].0.0, &mut buckets, Sign::Add);
        }
    }
    buckets.snapshot()
}
