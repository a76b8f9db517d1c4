//! The ACD's configuration: a raw serde shape (what operators write, TOML/JSON) and the validated
//! domain config the engine runs on. Route tables are declared here, not coded.
//!
//! Validation happens once, at start, and names the rule, queue or skill at fault. This module
//! must never be consulted with unvalidated data by the engine: [`AcdConfig`] only comes from
//! [`RawAcdConfig::validate`].

use std::collections::{BTreeMap, HashMap};

use model::{Channel, DurationMs, Language, Proficiency, QueueId, QueueName, RoutingStrategy, SkillName, VipTier};
use serde::{Deserialize, Serialize};

/// Most queues one engine serves.
pub const MAX_QUEUES: usize = 4_096;
/// Most skills one engine knows.
pub const MAX_SKILLS: usize = 1_024;
/// Most rules in one entry point's route table.
pub const MAX_RULES_PER_ENTRY_POINT: usize = 256;
/// Most relaxation steps per queue.
pub const MAX_RELAXATION_STEPS: usize = 8;
/// Longest entry point name, in characters.
pub const MAX_ENTRY_POINT_NAME_CHARS: usize = 64;
/// Shortest allowed `announce_interval`: more often would talk over the queue music.
pub const MIN_ANNOUNCE_INTERVAL: DurationMs = DurationMs::from_secs(5);

/// Why a configuration was refused. Each message names the entry point, rule, queue or skill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{place}: {problem}")]
    Invalid { place: String, problem: String },
    #[error("{place}: unknown queue {queue:?}")]
    UnknownQueue { place: String, queue: String },
    #[error("{place}: unknown skill {skill:?} (declare it in `skills`)")]
    UnknownSkill { place: String, skill: String },
    #[error(
        "entry point {entry_point:?}: rule {rule:?} can never match because rule {catch_all:?} before it matches everything"
    )]
    UnreachableRule { entry_point: String, rule: String, catch_all: String },
    #[error("{place}: {what} is duplicated: {name:?}")]
    Duplicate { place: String, what: &'static str, name: String },
}

fn invalid(place: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { place: place.into(), problem: problem.into() }
}

// ---------------------------------------------------------------------------------------------
// Raw shape (serde).
// ---------------------------------------------------------------------------------------------

/// The configuration as written by an operator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcdConfig {
    /// Seed of the engine's random number generator (weighted random strategy).
    #[serde(default)]
    pub seed: u64,
    /// Every skill a queue or a contact may require.
    #[serde(default)]
    pub skills: Vec<String>,
    pub queues: Vec<RawQueue>,
    #[serde(default)]
    pub entry_points: Vec<RawEntryPoint>,
}

/// One queue's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub name: String,
    /// UUID; when omitted it is derived from the name (stable: same name, same id).
    pub id: Option<String>,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    #[serde(default)]
    pub required_skills: Vec<RawSkillRequirement>,
    #[serde(default)]
    pub relaxation: Vec<RawRelaxation>,
    /// One priority point is worth this much waiting; a waiting contact gains one point per this much wait.
    #[serde(default = "default_priority_step")]
    pub priority_step: String,
    #[serde(default = "default_max_waiting")]
    pub max_waiting: u32,
    #[serde(default = "default_max_wait")]
    pub max_wait: String,
    #[serde(default = "default_wrap_up")]
    pub wrap_up: String,
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout: String,
    #[serde(default = "default_missed")]
    pub missed_offers_before_away: u8,
    /// `busy`, `voicemail` or `callback`: what the shell does with a contact refused because the queue is full.
    #[serde(default = "default_when_full")]
    pub when_full: String,
    /// Handle time assumed before any contact of this queue was handled (EWT).
    #[serde(default = "default_aht")]
    pub default_handle_time: String,
    /// Whether a contact's language must be spoken by the agent (before relaxation).
    #[serde(default = "default_true")]
    pub match_language: bool,
    #[serde(default = "default_true")]
    pub open: bool,
    pub overflow: Option<RawOverflow>,
    /// Every waiting contact hears its position and EWT again this often (e.g. "30s"); none when omitted.
    pub announce_interval: Option<String>,
    /// What `least_occupied` compares: `contacts` (fewest handled today) or `occupancy`
    /// (handling / (handling + available idle) time today).
    #[serde(default = "default_least_occupied_by")]
    pub least_occupied_by: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSkillRequirement {
    pub skill: String,
    #[serde(default = "default_min_proficiency")]
    pub min_proficiency: i64,
}

/// After waiting `after`, lower the bar: cap the minimum proficiency, or drop skills (any agent
/// speaking the language), or drop the language too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelaxation {
    pub after: String,
    pub min_proficiency: Option<i64>,
    #[serde(default)]
    pub drop_skills: bool,
    #[serde(default)]
    pub drop_language: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverflow {
    pub to: String,
    pub after: Option<String>,
    pub when_ewt_exceeds: Option<String>,
}

/// A route table: ordered rules, first match wins, then the default queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntryPoint {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    pub default_queue: String,
}

/// Every condition given must hold; a rule with no condition matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Added to the contact's priority when this rule routes it.
    #[serde(default)]
    pub priority: i32,
}

impl RawQueue {
    /// A queue with every setting at its default, for code-built configs (tests, simulator).
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            id: None,
            strategy: default_strategy(),
            required_skills: Vec::new(),
            relaxation: Vec::new(),
            priority_step: default_priority_step(),
            max_waiting: default_max_waiting(),
            max_wait: default_max_wait(),
            wrap_up: default_wrap_up(),
            ring_timeout: default_ring_timeout(),
            missed_offers_before_away: default_missed(),
            when_full: default_when_full(),
            default_handle_time: default_aht(),
            match_language: true,
            open: true,
            overflow: None,
            announce_interval: None,
            least_occupied_by: default_least_occupied_by(),
        }
    }
}

fn default_strategy() -> String {
    "longest_idle".into()
}
fn default_priority_step() -> String {
    "60s".into()
}
fn default_max_waiting() -> u32 {
    10_000
}
fn default_max_wait() -> String {
    "1h".into()
}
fn default_wrap_up() -> String {
    "0s".into()
}
fn default_ring_timeout() -> String {
    "20s".into()
}
fn default_missed() -> u8 {
    3
}
fn default_when_full() -> String {
    "busy".into()
}
fn default_aht() -> String {
    "3m".into()
}
fn default_least_occupied_by() -> String {
    "contacts".into()
}
fn default_true() -> bool {
    true
}
fn default_min_proficiency() -> i64 {
    1
}

// ---------------------------------------------------------------------------------------------
// Validated shape.
// ---------------------------------------------------------------------------------------------

/// Dense index of a skill in [`AcdConfig::skills`].
pub type SkillIdx = u16;
/// Dense index of a queue in [`AcdConfig::queues`].
pub type QueueIdx = u32;

/// What the shell should do with a contact refused because the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullFallback {
    Busy,
    Voicemail,
    Callback,
}

/// What the least-occupied strategy compares between agents ("so far today").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccupancyMeasure {
    /// Fewest contacts handled today, then longest idle.
    Contacts,
    /// Lowest handling time / (handling + available idle time) today, then longest idle.
    Occupancy,
}

/// A relaxation step, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relaxation {
    pub after: DurationMs,
    pub max_min_proficiency: Option<Proficiency>,
    pub drop_skills: bool,
    pub drop_language: bool,
}

/// Overflow, validated; `to` is a queue index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverflowRule {
    pub to: QueueIdx,
    pub after: Option<DurationMs>,
    pub when_ewt_exceeds: Option<DurationMs>,
}

/// A queue's validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub id: QueueId,
    pub name: QueueName,
    pub strategy: RoutingStrategy,
    pub required_skills: Vec<(SkillIdx, Proficiency)>,
    /// Sorted by `after`, strictly increasing.
    pub relaxation: Vec<Relaxation>,
    pub priority_step: DurationMs,
    pub max_waiting: u32,
    pub max_wait: DurationMs,
    pub wrap_up: DurationMs,
    pub ring_timeout: DurationMs,
    pub missed_offers_before_away: u8,
    pub when_full: FullFallback,
    pub default_handle_time: DurationMs,
    pub match_language: bool,
    pub open: bool,
    pub overflow: Option<OverflowRule>,
    /// Period of the repeated position/EWT announcement to each waiting contact.
    pub announce_interval: Option<DurationMs>,
    pub least_occupied_by: OccupancyMeasure,
}

/// What a rule looks at. `None` means "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub vip: Option<VipTier>,
    pub issue_type: Option<String>,
    pub language: Option<Language>,
    pub channel: Option<Channel>,
    pub attributes: BTreeMap<String, String>,
}

impl RuleMatch {
    fn is_catch_all(&self) -> bool {
        self.vip.is_none()
            && self.issue_type.is_none()
            && self.language.is_none()
            && self.channel.is_none()
            && self.attributes.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub name: String,
    pub when: RuleMatch,
    pub queue: QueueIdx,
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub rules: Vec<RouteRule>,
    pub default_queue: QueueIdx,
}

/// The validated configuration the engine runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfig {
    pub seed: u64,
    pub skills: Vec<SkillName>,
    pub queues: Vec<QueueConfig>,
    pub entry_points: Vec<EntryPoint>,
}

impl AcdConfig {
    /// Validates route tables against this configuration's queues (by name), as
    /// [`RawAcdConfig::validate`] does: unknown queues, unreachable rules and duplicate names are
    /// refused, naming the entry point and rule.
    pub fn entry_points_from(&self, raw: &[RawEntryPoint]) -> Result<Vec<EntryPoint>, ConfigError> {
        let lookup = |place: &str, name: &str| -> Result<QueueIdx, ConfigError> {
            let wanted = name.trim().to_ascii_lowercase();
            self.queues
                .iter()
                .position(|q| q.name.as_str() == wanted)
                .and_then(|i| QueueIdx::try_from(i).ok())
                .ok_or_else(|| ConfigError::UnknownQueue { place: place.to_owned(), queue: name.to_owned() })
        };
        let mut out: Vec<EntryPoint> = Vec::with_capacity(raw.len());
        for ep in raw {
            let validated = validate_entry_point(ep, &lookup)?;
            if out.iter().any(|e| e.name == validated.name) {
                return Err(ConfigError::Duplicate {
                    place: "entry_points".into(),
                    what: "entry point name",
                    name: ep.name.clone(),
                });
            }
            out.push(validated);
        }
        Ok(out)
    }

    pub fn skill_index(&self, name: &SkillName) -> Option<SkillIdx> {
        self.skills.iter().position(|s| s == name).and_then(|i| SkillIdx::try_from(i).ok())
    }

    pub fn queue_index(&self, id: QueueId) -> Option<QueueIdx> {
        self.queues.iter().position(|q| q.id == id).and_then(|i| QueueIdx::try_from(i).ok())
    }

    pub fn queue_by_name(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.name.as_str() == name)
    }
}

fn duration(place: &str, key: &str, text: &str) -> Result<DurationMs, ConfigError> {
    text.parse::<DurationMs>().map_err(|e| invalid(place, format!("{key}: {e}")))
}

fn proficiency(place: &str, level: i64) -> Result<Proficiency, ConfigError> {
    Proficiency::new(level).map_err(|e| invalid(place, e.to_string()))
}

/// A stable UUID-sized id from a name (FNV-1a 128), used when a queue's id is not written.
fn id_from_name(name: &str) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    name.bytes().fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

impl RawAcdConfig {
    /// Checks everything and builds the domain config. Errors name the rule, queue or skill.
    pub fn validate(&self) -> Result<AcdConfig, ConfigError> {
        let skills = self.validate_skills()?;
        if self.queues.is_empty() {
            return Err(invalid("queues", "at least one queue is needed"));
        }
        if self.queues.len() > MAX_QUEUES {
            return Err(invalid("queues", format!("at most {MAX_QUEUES} queues")));
        }
        let mut names: HashMap<String, QueueIdx> = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            let name = QueueName::parse(&q.name).map_err(|e| invalid("queues", e.to_string()))?;
            let idx = QueueIdx::try_from(i).map_err(|_| invalid("queues", "too many queues"))?;
            if names.insert(name.as_str().to_owned(), idx).is_some() {
                return Err(ConfigError::Duplicate {
                    place: "queues".into(),
                    what: "queue name",
                    name: q.name.clone(),
                });
            }
        }
        let lookup = |place: &str, name: &str| -> Result<QueueIdx, ConfigError> {
            names
                .get(&name.trim().to_ascii_lowercase())
                .copied()
                .ok_or_else(|| ConfigError::UnknownQueue { place: place.to_owned(), queue: name.to_owned() })
        };
        let mut queues = Vec::with_capacity(self.queues.len());
        for q in &self.queues {
            queues.push(validate_queue(q, &skills, &lookup)?);
        }
        let mut ids = HashMap::new();
        for q in &queues {
            if let Some(other) = ids.insert(q.id, q.name.clone()) {
                return Err(ConfigError::Duplicate {
                    place: format!("queue {:?}", q.name.as_str()),
                    what: "queue id (also used by queue)",
                    name: other.to_string(),
                });
            }
        }
        let mut entry_points: Vec<EntryPoint> = Vec::new();
        for ep in &self.entry_points {
            let validated = validate_entry_point(ep, &lookup)?;
            if entry_points.iter().any(|e| e.name == validated.name) {
                return Err(ConfigError::Duplicate {
                    place: "entry_points".into(),
                    what: "entry point name",
                    name: ep.name.clone(),
                });
            }
            entry_points.push(validated);
        }
        Ok(AcdConfig { seed: self.seed, skills, queues, entry_points })
    }

    fn validate_skills(&self) -> Result<Vec<SkillName>, ConfigError> {
        if self.skills.len() > MAX_SKILLS {
            return Err(invalid("skills", format!("at most {MAX_SKILLS} skills")));
        }
        let mut skills: Vec<SkillName> = Vec::with_capacity(self.skills.len());
        for s in &self.skills {
            let name = SkillName::parse(s).map_err(|e| invalid("skills", e.to_string()))?;
            if skills.contains(&name) {
                return Err(ConfigError::Duplicate { place: "skills".into(), what: "skill", name: s.clone() });
            }
            skills.push(name);
        }
        Ok(skills)
    }
}

fn validate_queue(
    q: &RawQueue,
    skills: &[SkillName],
    lookup: &dyn Fn(&str, &str) -> Result<QueueIdx, ConfigError>,
) -> Result<QueueConfig, ConfigError> {
    let name = QueueName::parse(&q.name).map_err(|e| invalid("queues", e.to_string()))?;
    let place = format!("queue {:?}", name.as_str());
    let id = match &q.id {
        Some(text) => text.parse::<QueueId>().map_err(|e| invalid(&place, e.to_string()))?,
        None => QueueId::from_u128(id_from_name(name.as_str())),
    };
    let strategy = q.strategy.parse::<RoutingStrategy>().map_err(|e| invalid(&place, e.to_string()))?;
    let mut required_skills = Vec::new();
    for r in &q.required_skills {
        let idx = find_skill(skills, &r.skill)
            .ok_or_else(|| ConfigError::UnknownSkill { place: place.clone(), skill: r.skill.clone() })?;
        if required_skills.iter().any(|(s, _)| *s == idx) {
            return Err(ConfigError::Duplicate { place: place.clone(), what: "required skill", name: r.skill.clone() });
        }
        required_skills.push((idx, proficiency(&format!("{place}, skill {:?}", r.skill), r.min_proficiency)?));
    }
    let relaxation = validate_relaxation(&place, &q.relaxation)?;
    let priority_step = duration(&place, "priority_step", &q.priority_step)?;
    if priority_step == DurationMs::ZERO {
        return Err(invalid(&place, "priority_step must be more than zero"));
    }
    let when_full = match q.when_full.as_str() {
        "busy" => FullFallback::Busy,
        "voicemail" => FullFallback::Voicemail,
        "callback" => FullFallback::Callback,
        other => return Err(invalid(&place, format!("when_full {other:?} is not one of: busy, voicemail, callback"))),
    };
    let overflow = q.overflow.as_ref().map(|o| validate_overflow(&place, &q.name, o, lookup)).transpose()?;
    let ring_timeout = duration(&place, "ring_timeout", &q.ring_timeout)?;
    if ring_timeout == DurationMs::ZERO {
        return Err(invalid(&place, "ring_timeout must be more than zero"));
    }
    if q.max_waiting == 0 {
        return Err(invalid(&place, "max_waiting must be at least 1 (close the queue instead)"));
    }
    if q.missed_offers_before_away == 0 {
        return Err(invalid(&place, "missed_offers_before_away must be at least 1"));
    }
    let announce_interval =
        q.announce_interval.as_deref().map(|t| duration(&place, "announce_interval", t)).transpose()?;
    if announce_interval.is_some_and(|d| d < MIN_ANNOUNCE_INTERVAL) {
        return Err(invalid(
            &place,
            format!("announce_interval must be at least {}s", MIN_ANNOUNCE_INTERVAL.as_ms() / 1000),
        ));
    }
    let least_occupied_by = match q.least_occupied_by.as_str() {
        "contacts" => OccupancyMeasure::Contacts,
        "occupancy" => OccupancyMeasure::Occupancy,
        other => {
            return Err(invalid(&place, format!("least_occupied_by {other:?} is not one of: contacts, occupancy")));
        }
    };
    Ok(QueueConfig {
        id,
        name,
        strategy,
        required_skills,
        relaxation,
        priority_step,
        max_waiting: q.max_waiting,
        max_wait: duration(&place, "max_wait", &q.max_wait)?,
        wrap_up: duration(&place, "wrap_up", &q.wrap_up)?,
        ring_timeout,
        missed_offers_before_away: q.missed_offers_before_away,
        when_full,
        default_handle_time: duration(&place, "default_handle_time", &q.default_handle_time)?,
        match_language: q.match_language,
        open: q.open,
        overflow,
        announce_interval,
        least_occupied_by,
    })
}

fn validate_overflow(
    place: &str,
    queue_name: &str,
    o: &RawOverflow,
    lookup: &dyn Fn(&str, &str) -> Result<QueueIdx, ConfigError>,
) -> Result<OverflowRule, ConfigError> {
    let to = lookup(&format!("{place}, overflow"), &o.to)?;
    let after = o.after.as_deref().map(|t| duration(place, "overflow.after", t)).transpose()?;
    let when_ewt_exceeds =
        o.when_ewt_exceeds.as_deref().map(|t| duration(place, "overflow.when_ewt_exceeds", t)).transpose()?;
    if after.is_none() && when_ewt_exceeds.is_none() {
        return Err(invalid(place, "overflow needs `after` or `when_ewt_exceeds`"));
    }
    if lookup(place, queue_name)? == to {
        return Err(invalid(place, "overflow cannot go to the same queue"));
    }
    Ok(OverflowRule { to, after, when_ewt_exceeds })
}

fn find_skill(skills: &[SkillName], name: &str) -> Option<SkillIdx> {
    let parsed = SkillName::parse(name).ok()?;
    skills.iter().position(|s| *s == parsed).and_then(|i| SkillIdx::try_from(i).ok())
}

fn validate_relaxation(place: &str, steps: &[RawRelaxation]) -> Result<Vec<Relaxation>, ConfigError> {
    if steps.len() > MAX_RELAXATION_STEPS {
        return Err(invalid(place, format!("at most {MAX_RELAXATION_STEPS} relaxation steps")));
    }
    let mut out: Vec<Relaxation> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let step_place = format!("{place}, relaxation step {}", i + 1);
        let after = duration(&step_place, "after", &s.after)?;
        if out.last().is_some_and(|prev| prev.after >= after) {
            return Err(invalid(&step_place, "steps must be in increasing `after` order"));
        }
        let max_min_proficiency = s.min_proficiency.map(|p| proficiency(&step_place, p)).transpose()?;
        if max_min_proficiency.is_none() && !s.drop_skills && !s.drop_language {
            return Err(invalid(&step_place, "relaxes nothing: set min_proficiency, drop_skills or drop_language"));
        }
        out.push(Relaxation { after, max_min_proficiency, drop_skills: s.drop_skills, drop_language: s.drop_language });
    }
    Ok(out)
}

fn validate_entry_point(
    ep: &RawEntryPoint,
    lookup: &dyn Fn(&str, &str) -> Result<QueueIdx, ConfigError>,
) -> Result<EntryPoint, ConfigError> {
    let name = ep.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_ENTRY_POINT_NAME_CHARS {
        return Err(invalid("entry_points", format!("name must be 1 to {MAX_ENTRY_POINT_NAME_CHARS} characters")));
    }
    let place = format!("entry point {name:?}");
    if ep.rules.len() > MAX_RULES_PER_ENTRY_POINT {
        return Err(invalid(&place, format!("at most {MAX_RULES_PER_ENTRY_POINT} rules")));
    }
    let mut rules: Vec<RouteRule> = Vec::new();
    for r in &ep.rules {
        let rule_place = format!("{place}, rule {:?}", r.name);
        if let Some(catch_all) = rules.iter().find(|prev| prev.when.is_catch_all()) {
            return Err(ConfigError::UnreachableRule {
                entry_point: name.clone(),
                rule: r.name.clone(),
                catch_all: catch_all.name.clone(),
            });
        }
        if rules.iter().any(|prev| prev.name == r.name) {
            return Err(ConfigError::Duplicate { place: place.clone(), what: "rule name", name: r.name.clone() });
        }
        let when = RuleMatch {
            vip: r.vip.as_deref().map(str::parse).transpose().map_err(|e| invalid(&rule_place, format!("{e}")))?,
            issue_type: r.issue_type.as_ref().map(|s| s.trim().to_ascii_lowercase()),
            language: r
                .language
                .as_deref()
                .map(Language::parse)
                .transpose()
                .map_err(|e| invalid(&rule_place, e.to_string()))?,
            channel: r
                .channel
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| invalid(&rule_place, format!("{e}")))?,
            attributes: r.attributes.clone(),
        };
        if let Some(prev) = rules.iter().find(|prev| prev.when == when) {
            return Err(ConfigError::UnreachableRule {
                entry_point: name.clone(),
                rule: r.name.clone(),
                catch_all: prev.name.clone(),
            });
        }
        rules.push(RouteRule {
            name: r.name.clone(),
            when,
            queue: lookup(&rule_place, &r.queue)?,
            priority: r.priority,
        });
    }
    let default_queue = lookup(&format!("{place}, default_queue"), &ep.default_queue)?;
    Ok(EntryPoint { name, rules, default_queue })
}
