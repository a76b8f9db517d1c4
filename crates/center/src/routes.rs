//! Route tables for the ACD, and the engine configuration built from them plus the store's
//! queues and skills.
//!
//! Queues and skills are the store's (ids, names, strategy, required skills, wrap-up, ring
//! timeout, limits, overflow): the admin pages edit them there. A routes text (TOML) adds what
//! the store does not hold: the entry points' route tables and ACD-only tuning per queue
//! (announcement interval, missed offers before Away, relaxation, ...). The text is given as a
//! string: reading files is the `config` crate's job.

use std::collections::BTreeMap;

use acd::config::{RawEntryPoint, RawQueue, RawRelaxation, RawSkillRequirement};
use acd::{AcdConfig, RawAcdConfig};
use model::{Queue, Skill};
use serde::Deserialize;

use crate::CenterError;

/// The demo's route table (`routes.toml` beside this crate): on entry point `hotline`, gold VIP
/// → `premium_support`, issue type `technical` → `tech_support`, everything else → `general`.
pub const DEMO_ROUTES_TOML: &str = include_str!("../routes.toml");

/// Longest routes text accepted, in bytes.
pub const MAX_ROUTES_BYTES: usize = 1 << 20;

/// Route tables and ACD-only queue tuning, as an operator writes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// Seed of the engine's random number generator (weighted random strategy).
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub entry_points: Vec<RawEntryPoint>,
    /// By queue name: settings the store does not hold.
    #[serde(default)]
    pub queues: BTreeMap<String, QueueTuning>,
}

/// ACD settings of one queue beyond the store's columns; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTuning {
    pub announce_interval: Option<String>,
    pub missed_offers_before_away: Option<u8>,
    pub when_full: Option<String>,
    pub priority_step: Option<String>,
    pub relaxation: Option<Vec<RawRelaxation>>,
    pub match_language: Option<bool>,
    pub default_handle_time: Option<String>,
    pub least_occupied_by: Option<String>,
}

impl Routes {
    /// Parses a routes text. Errors name the line and key (TOML) — validation against the
    /// store's queues happens in [`Routes::acd_config`].
    pub fn from_toml(text: &str) -> Result<Routes, CenterError> {
        if text.len() > MAX_ROUTES_BYTES {
            return Err(CenterError::Routes(format!("routes text is longer than {MAX_ROUTES_BYTES} bytes")));
        }
        toml::from_str(text).map_err(|e| CenterError::Routes(e.to_string().trim().replace('\n', " ")))
    }

    /// The engine configuration: the store's `queues` and `skills` with these route tables and
    /// tunings. Errors name the entry point, rule, queue or skill.
    pub fn acd_config(&self, queues: &[Queue], skills: &[Skill]) -> Result<AcdConfig, CenterError> {
        if let Some(unknown) = self.queues.keys().find(|name| !queues.iter().any(|q| q.name.as_str() == name.as_str()))
        {
            return Err(CenterError::Routes(format!("queues.{unknown}: no such queue in the store")));
        }
        let mut raw_queues = Vec::with_capacity(queues.len());
        for q in queues {
            let mut raw = RawQueue::named(q.name.as_str());
            raw.id = Some(q.id.to_string());
            raw.strategy = q.strategy.as_str().to_owned();
            raw.required_skills = q
                .required_skills
                .iter()
                .map(|s| RawSkillRequirement {
                    skill: s.skill.to_string(),
                    min_proficiency: i64::from(s.min_proficiency.get()),
                })
                .collect();
            raw.max_waiting = q.max_waiting;
            raw.max_wait = format!("{}ms", q.max_wait.as_ms());
            raw.wrap_up = format!("{}ms", q.wrap_up.as_ms());
            raw.ring_timeout = format!("{}ms", q.ring_timeout.as_ms());
            if let Some(o) = &q.overflow {
                let to = queues.iter().find(|t| t.id == o.to).ok_or_else(|| {
                    CenterError::Routes(format!("queue {:?}: overflow to an unknown queue {}", q.name.as_str(), o.to))
                })?;
                raw.overflow = Some(acd::config::RawOverflow {
                    to: to.name.to_string(),
                    after: o.after.map(|d| format!("{}ms", d.as_ms())),
                    when_ewt_exceeds: o.when_ewt_exceeds.map(|d| format!("{}ms", d.as_ms())),
                });
            }
            if let Some(t) = self.queues.get(q.name.as_str()) {
                t.apply(&mut raw);
            }
            raw_queues.push(raw);
        }
        let raw = RawAcdConfig {
            seed: self.seed,
            skills: skills.iter().map(|s| s.name.to_string()).collect(),
            queues: raw_queues,
            entry_points: self.entry_points.clone(),
        };
        raw.validate().map_err(|e| CenterError::Routes(e.to_string()))
    }
}

impl QueueTuning {
    fn apply(&self, raw: &mut RawQueue) {
        if let Some(v) = &self.announce_interval {
            raw.announce_interval = Some(v.clone());
        }
        if let Some(v) = self.missed_offers_before_away {
            raw.missed_offers_before_away = v;
        }
        if let Some(v) = &self.when_full {
            raw.when_full = v.clone();
        }
        if let Some(v) = &self.priority_step {
            raw.priority_step = v.clone();
        }
        if let Some(v) = &self.relaxation {
            raw.relaxation = v.clone();
        }
        if let Some(v) = self.match_language {
            raw.match_language = v;
        }
        if let Some(v) = &self.default_handle_time {
            raw.default_handle_time = v.clone();
        }
        if let Some(v) = &self.least_occupied_by {
            raw.least_occupied_by = v.clone();
        }
    }
}

/// The demo's route tables ([`DEMO_ROUTES_TOML`]).
pub fn demo_routes() -> Routes {
    Routes::from_toml(DEMO_ROUTES_TOML).expect("the bundled demo routes.toml parses (tested)")
}
