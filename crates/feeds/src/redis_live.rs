//! Live counters in Redis, shared by every node of a center: per org and queue the contacts
//! waiting, the agents by state and today's offered/answered/abandoned contacts. Each update is
//! one Lua script, so it is atomic whatever other nodes do at the same moment, and
//! [`LiveCounters::read_snapshot`] reads everything in one `MULTI`.
//!
//! Updates are idempotent and order-tolerant, because events arrive at least once and from
//! several nodes: a contact counts once per counter and day (a set of counted contacts beside
//! each day's counters), a waiting contact is a hash entry with its queued time that only a
//! later "left the queue" removes, and an agent's state is overwritten only by a change at the
//! same time or later.
//!
//! # Keys (`P` = `<key_prefix>:<org>`)
//! | key | type | TTL |
//! |---|---|---|
//! | `P:queues` | set of queue ids seen | live |
//! | `P:agents` | hash agent → `<at_ms>\|<state>` | live |
//! | `P:q:<queue>:agents` | hash agent → `<at_ms>\|<state>` | live |
//! | `P:q:<queue>:waiting` | hash contact → queued at (ms) | live |
//! | `P:q:<queue>:left:<day>` | hash contact → left the queue at (ms) | daily |
//! | `P:q:<queue>:day:<day>` | hash `offered`/`answered`/`abandoned` → count | daily |
//! | `P:q:<queue>:seen:<day>` | set `<counter>:<contact>` already counted | daily |
//!
//! `<day>` is the local date `YYYY-MM-DD` at `utc_offset_minutes`. TTLs restart at each write.
//!
//! Must never: count a contact twice in one counter and day, let a late event undo a newer
//! state, or return a value it could not parse (that is [`FeedError::Corrupt`]).

use std::collections::HashMap;
use std::time::Duration;

use model::{AgentState, AgentStateChange, ContactEvent, ContactEventKind, DurationMs, OrgId, QueueId, Timestamp};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{RedisConfig, redact};
use crate::error::FeedError;
use crate::snapshot::AgentCounts;

const CONTACT_SCRIPT: &str = r"
local contact, at = ARGV[1], tonumber(ARGV[2])
if ARGV[3] == 'add' then
  local left = redis.call('HGET', KEYS[2], contact)
  if not left or tonumber(left) < at then
    local cur = redis.call('HGET', KEYS[1], contact)
    if not cur or tonumber(cur) < at then redis.call('HSET', KEYS[1], contact, at) end
  end
elseif ARGV[3] == 'rem' then
  local cur = redis.call('HGET', KEYS[1], contact)
  if cur and tonumber(cur) <= at then redis.call('HDEL', KEYS[1], contact) end
  local left = redis.call('HGET', KEYS[2], contact)
  if not left or tonumber(left) < at then redis.call('HSET', KEYS[2], contact, at) end
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
local counted = 0
if ARGV[4] ~= '' then
  if redis.call('SADD', KEYS[4], ARGV[4] .. ':' .. contact) == 1 then
    redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
    counted = 1
  end
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  redis.call('EXPIRE', KEYS[4], ARGV[6])
end
redis.call('SADD', KEYS[5], ARGV[7])
redis.call('EXPIRE', KEYS[5], ARGV[5])
return counted
";

const AGENT_SCRIPT: &str = r"
local agent, at, value, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[2] .. '|' .. ARGV[3], ARGV[4]
local applied = 0
for i = 2, #KEYS do
  local cur = redis.call('HGET', KEYS[i], agent)
  local cur_at = cur and tonumber(string.match(cur, '^(-?%d+)|'))
  if not cur_at or cur_at <= at then
    redis.call('HSET', KEYS[i], agent, value)
    applied = 1
  end
  redis.call('EXPIRE', KEYS[i], ttl)
end
for i = 5, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ttl)
return applied
";

/// One queue's live values, merged over every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveQueue {
    pub queue: QueueId,
    pub waiting: u32,
    /// Since the oldest waiting contact was queued (zero when none waits).
    pub longest_wait: DurationMs,
    pub agents: AgentCounts,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
}

/// One org's live values, merged over every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub org: OrgId,
    /// The local day the daily counters are for, `YYYY-MM-DD`.
    pub day: String,
    pub agents: AgentCounts,
    /// Sorted by queue id; at most `max_snapshot_queues`.
    pub queues: Vec<LiveQueue>,
    /// More queues exist than `max_snapshot_queues`.
    pub truncated: bool,
}

/// What a contact event does to the counters of its queue.
fn effect(kind: ContactEventKind) -> Option<(&'static str, &'static str)> {
    match kind {
        ContactEventKind::Queued => Some(("add", "offered")),
        ContactEventKind::Answered => Some(("rem", "answered")),
        ContactEventKind::Abandoned => Some(("rem", "abandoned")),
        ContactEventKind::Overflowed | ContactEventKind::Ended => Some(("rem", "")),
        _ => None,
    }
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after H. Hinnant.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The local day of `at`, `YYYY-MM-DD`.
pub fn local_day(at: Timestamp, utc_offset_minutes: i32) -> String {
    let local_ms = at.unix_ms().saturating_add(i64::from(utc_offset_minutes) * 60_000);
    let (y, m, d) = civil_date(local_ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Live counters in Redis.
#[derive(Clone)]
pub struct LiveCounters {
    connection: ConnectionManager,
    config: RedisConfig,
    contact_script: redis::Script,
    agent_script: redis::Script,
}

impl LiveCounters {
    /// Validates the config and connects (an unreachable server is an error naming the URL).
    pub async fn connect(config: RedisConfig) -> Result<LiveCounters, FeedError> {
        config.validate()?;
        let failed = |reason: String| FeedError::Connect { peer: "Redis", url: redact(&config.url), reason };
        let client = redis::Client::open(config.url.as_str()).map_err(|e| failed(e.to_string()))?;
        // One plain connection first, so an unreachable server fails fast with its real reason
        // (the connection manager would retry it until the timeout).
        let probe = client.get_multiplexed_async_connection();
        tokio::time::timeout(Duration::from_millis(config.connect_timeout_ms), probe)
            .await
            .map_err(|_| failed(format!("no answer within {} ms", config.connect_timeout_ms)))?
            .map_err(|e| failed(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(config.connect_timeout_ms))
            .set_response_timeout(Duration::from_millis(config.command_timeout_ms))
            .set_number_of_retries(2);
        let connect = ConnectionManager::new_with_config(client, manager_config);
        let connection = tokio::time::timeout(Duration::from_millis(config.connect_timeout_ms), connect)
            .await
            .map_err(|_| failed(format!("no answer within {} ms", config.connect_timeout_ms)))?
            .map_err(|e| failed(e.to_string()))?;
        Ok(LiveCounters {
            connection,
            config,
            contact_script: redis::Script::new(CONTACT_SCRIPT),
            agent_script: redis::Script::new(AGENT_SCRIPT),
        })
    }

    fn org_key(&self, org: OrgId) -> String {
        format!("{}:{org}", self.config.key_prefix)
    }

    /// Applies one contact event; returns true when it raised one of today's counters (false
    /// for a duplicate, an event without a queue, or a kind that changes no counter).
    pub async fn apply_contact_event(&self, event: &ContactEvent) -> Result<bool, FeedError> {
        let (Some(queue), Some((op, counter))) = (event.queue, effect(event.kind)) else { return Ok(false) };
        let p = self.org_key(event.org);
        let day = local_day(event.at, self.config.utc_offset_minutes);
        let q = format!("{p}:q:{queue}");
        let counted: i64 = self
            .contact_script
            .key(format!("{q}:waiting"))
            .key(format!("{q}:left:{day}"))
            .key(format!("{q}:day:{day}"))
            .key(format!("{q}:seen:{day}"))
            .key(format!("{p}:queues"))
            .arg(event.contact.to_string())
            .arg(event.at.unix_ms())
            .arg(op)
            .arg(counter)
            .arg(self.config.live_key_ttl_s)
            .arg(self.config.daily_key_ttl_s)
            .arg(queue.to_string())
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(|e| FeedError::Redis(e.to_string()))?;
        Ok(counted == 1)
    }

    /// Applies one agent state change to the org and to each queue the agent serves; returns
    /// false when a newer change was already there.
    pub async fn apply_agent_state(&self, change: &AgentStateChange, queues: &[QueueId]) -> Result<bool, FeedError> {
        let p = self.org_key(change.org);
        let mut invocation = self.agent_script.key(format!("{p}:queues"));
        invocation.key(format!("{p}:agents"));
        for q in queues {
            invocation.key(format!("{p}:q:{q}:agents"));
        }
        invocation
            .arg(change.agent.to_string())
            .arg(change.at.unix_ms())
            .arg(change.to.as_str())
            .arg(self.config.live_key_ttl_s);
        for q in queues {
            invocation.arg(q.to_string());
        }
        let applied: i64 =
            invocation.invoke_async(&mut self.connection.clone()).await.map_err(|e| FeedError::Redis(e.to_string()))?;
        Ok(applied == 1)
    }

    /// Everything about one org, merged over every node, with today's counters for `now`.
    pub async fn read_snapshot(&self, org: OrgId, now: Timestamp) -> Result<LiveSnapshot, FeedError> {
        let p = self.org_key(org);
        let day = local_day(now, self.config.utc_offset_minutes);
        let mut con = self.connection.clone();
        let redis_err = |e: redis::RedisError| FeedError::Redis(e.to_string());
        let members: Vec<String> =
            redis::cmd("SMEMBERS").arg(format!("{p}:queues")).query_async(&mut con).await.map_err(redis_err)?;
        let mut queues = members
            .iter()
            .map(|m| m.parse::<QueueId>().map_err(|_| corrupt(&format!("{p}:queues"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        queues.sort();
        let truncated = queues.len() > self.config.max_snapshot_queues;
        queues.truncate(self.config.max_snapshot_queues);

        let mut pipe = redis::pipe();
        pipe.atomic().hgetall(format!("{p}:agents"));
        for q in &queues {
            pipe.hgetall(format!("{p}:q:{q}:waiting"))
                .hgetall(format!("{p}:q:{q}:agents"))
                .hgetall(format!("{p}:q:{q}:day:{day}"));
        }
        let maps: Vec<HashMap<String, String>> = pipe.query_async(&mut con).await.map_err(redis_err)?;
        let mut maps = maps.into_iter();
        let org_agents = count_agents(&format!("{p}:agents"), &maps.next().unwrap_or_default())?;
        let mut live = Vec::with_capacity(queues.len());
        for q in queues {
            let (waiting, agents, counters) =
                (maps.next().unwrap_or_default(), maps.next().unwrap_or_default(), maps.next().unwrap_or_default());
            live.push(live_queue(&format!("{p}:q:{q}"), q, &waiting, &agents, &counters, now)?);
        }
        Ok(LiveSnapshot { org, day, agents: org_agents, queues: live, truncated })
    }
}

fn corrupt(key: &str, value: &str) -> FeedError {
    FeedError::Corrupt { key: key.to_owned(), value: value.chars().take(80).collect() }
}

fn count_agents(key: &str, map: &HashMap<String, String>) -> Result<AgentCounts, FeedError> {
    let mut counts = AgentCounts::default();
    for value in map.values() {
        let state =
            value.split_once('|').and_then(|(_, s)| s.parse::<AgentState>().ok()).ok_or_else(|| corrupt(key, value))?;
        counts.add_one(state);
    }
    Ok(counts)
}

fn live_queue(
    key: &str,
    queue: QueueId,
    waiting: &HashMap<String, String>,
    agents: &HashMap<String, String>,
    counters: &HashMap<String, String>,
    now: Timestamp,
) -> Result<LiveQueue, FeedError> {
    let mut oldest: Option<i64> = None;
    for v in waiting.values() {
        let at: i64 = v.parse().map_err(|_| corrupt(key, v))?;
        oldest = Some(oldest.map_or(at, |o| o.min(at)));
    }
    let count = |name: &str| -> Result<u64, FeedError> {
        counters.get(name).map_or(Ok(0), |v| v.parse().map_err(|_| corrupt(key, v)))
    };
    Ok(LiveQueue {
        queue,
        waiting: u32::try_from(waiting.len()).unwrap_or(u32::MAX),
        longest_wait: oldest.map_or(DurationMs::ZERO, |o| now.since(Timestamp::from_unix_ms(o))),
        agents: count_agents(key, agents)?,
        offered: count("offered")?,
        answered: count("answered")?,
        abandoned: count("abandoned")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_follow_the_offset() {
        assert_eq!(local_day(Timestamp::from_unix_ms(0), 0), "1970-01-01");
        // 2026-11-27 16:30 UTC is already the 28th in Beijing (+8).
        let t = Timestamp::from_unix_ms(1_795_797_000_000);
        assert_eq!(local_day(t, 0), "2026-11-27");
        assert_eq!(local_day(t, 480), "2026-11-28");
        assert_eq!(local_day(Timestamp::from_unix_ms(951_782_400_000), 0), "2000-02-29");
        assert_eq!(local_day(Timestamp::from_unix_ms(-1), 0), "1969-12-31");
    }
}
