//! Helpers shared by the feeds' integration tests: unique names, event builders, free ports.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use model::{
    AgentId, AgentState, AgentStateChange, AgentStateChangeId, ContactEvent, ContactEventId, ContactEventKind,
    ContactId, OrgId, QueueId, Timestamp,
};

/// A name no other test (in this or another process) uses: pid, counter and clock.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{tag}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub const T0_MS: i64 = 1_795_737_600_000; // 2026-11-27 00:00 UTC

pub fn contact_event(n: u128, contact: u128, queue: u128, at_ms: i64, kind: ContactEventKind) -> ContactEvent {
    ContactEvent {
        id: ContactEventId::from_u128(n),
        org: OrgId::from_u128(1),
        contact: ContactId::from_u128(contact),
        at: Timestamp::from_unix_ms(at_ms),
        kind,
        agent: None,
        queue: Some(QueueId::from_u128(queue)),
        detail: "{}".into(),
    }
}

pub fn agent_change(n: u128, agent: u128, at_ms: i64, from: AgentState, to: AgentState) -> AgentStateChange {
    AgentStateChange {
        id: AgentStateChangeId::from_u128(n),
        org: OrgId::from_u128(1),
        agent: AgentId::from_u128(agent),
        at: Timestamp::from_unix_ms(at_ms),
        from,
        to,
        reason: None,
        forced_by: None,
    }
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// Waits until something accepts TCP connections on the port (bounded tries).
pub async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing listens on 127.0.0.1:{port} after 10 s");
}
