//! Influx points for the live values: queue gauges, agent states and contact counters. Pure.
//!
//! | measurement | tags | fields |
//! |---|---|---|
//! | `hotline_queue` | `org`, `queue` (id), `queue_name` | `waiting` i, `longest_wait_ms` i, `agents_<state>` i for each state |
//! | `hotline_agent` | `org`, `agent`, `state` | `in_state_ms` i, `state` string |
//! | `hotline_contacts` | `channel`, `outcome` | `total` i (monotonic since the node started) |

use model::Timestamp;

use crate::line_protocol::{FieldValue, LineError, Point};
use crate::snapshot::{AgentSnapshot, ContactCounters, QueueSnapshot};

fn int(n: impl TryInto<i64>) -> FieldValue {
    FieldValue::Int(n.try_into().unwrap_or(i64::MAX))
}

pub fn queue_point(q: &QueueSnapshot, now: Timestamp) -> Result<Point, LineError> {
    let mut p = Point::at_ms("hotline_queue", now.unix_ms())?
        .tag("org", q.org.to_string())
        .tag("queue", q.queue.to_string())
        .tag("queue_name", q.name.as_str())
        .field("waiting", int(q.waiting))
        .field("longest_wait_ms", int(q.longest_wait.as_ms()));
    for (state, n) in q.agents.iter() {
        p = p.field(format!("agents_{}", state.as_str()), int(n));
    }
    Ok(p)
}

pub fn agent_point(a: &AgentSnapshot, now: Timestamp) -> Result<Point, LineError> {
    Ok(Point::at_ms("hotline_agent", now.unix_ms())?
        .tag("org", a.org.to_string())
        .tag("agent", a.agent.to_string())
        .tag("state", a.state.as_str())
        .field("in_state_ms", int(now.since(a.since).as_ms()))
        .field("state", FieldValue::Str(a.state.as_str().to_owned())))
}

pub fn contact_points(counters: &ContactCounters, now: Timestamp) -> Result<Vec<Point>, LineError> {
    counters
        .iter()
        .map(|(channel, outcome, n)| {
            Ok(Point::at_ms("hotline_contacts", now.unix_ms())?
                .tag("channel", channel.as_str())
                .tag("outcome", outcome.as_str())
                .field("total", int(n)))
        })
        .collect()
}

/// Every point of one export tick.
pub fn snapshot_points(
    queues: &[QueueSnapshot],
    agents: &[AgentSnapshot],
    counters: &ContactCounters,
    now: Timestamp,
) -> Result<Vec<Point>, LineError> {
    let mut points = Vec::with_capacity(queues.len() + agents.len() + 8);
    for q in queues {
        points.push(queue_point(q, now)?);
    }
    for a in agents {
        points.push(agent_point(a, now)?);
    }
    points.extend(contact_points(counters, now)?);
    Ok(points)
}
