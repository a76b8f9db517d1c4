//! The routing queue against a burst: more chat events than the broadcast holds, with nobody
//! reading, must not push a chat's start out of what [`route_through`] reads.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use super::{ChatEvent, ChatHub, ChatSettings};

/// More events than the broadcast keeps (`ChatSettings::max_buffered_events`, 4,096).
const BURST: usize = 5_000;

fn started(e: Option<ChatEvent>) -> Option<String> {
    match e {
        Some(ChatEvent::Started { conversation_id, offline: false, .. }) => Some(conversation_id.as_str().to_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn a_burst_of_messages_cannot_push_a_start_out_of_the_routing_queue() {
    let mut settings = ChatSettings::default();
    settings.limits.max_messages_per_minute = 100_000;
    settings.limits.max_frames_per_minute = 100_000;
    settings.limits.max_conversation_messages = 10_000;
    // The customer's own frames (ack and echo per message) wait unread in this test.
    settings.max_queued_frames = 4 * BURST;
    let hub = ChatHub::new(settings, Arc::new(crate::SystemClock), Arc::new(crate::OsEntropy));
    hub.set_external_routing(true);
    let (tx, mut routing) = mpsc::channel(16);
    assert!(hub.routing.set(tx).is_ok());
    let mut watcher = hub.subscribe();

    let (a, _a_frames) = hub.open_conn();
    hub.conn_text(a, true, r#"{"type":"hello","v":1}"#).await;
    hub.conn_text(a, false, r#"{"type":"prechat","name":"A","issue_type":"order","language":"en"}"#).await;
    for i in 0..BURST {
        hub.conn_text(a, false, &format!(r#"{{"type":"msg","client_msg_id":"m{i}","text":"message {i}"}}"#)).await;
    }
    let (b, _b_frames) = hub.open_conn();
    hub.conn_text(b, true, r#"{"type":"hello","v":1}"#).await;
    hub.conn_text(b, false, r#"{"type":"prechat","name":"B","issue_type":"order","language":"en"}"#).await;

    // The broadcast dropped events for its slow reader ...
    assert!(matches!(watcher.recv().await, Err(broadcast::error::RecvError::Lagged(n)) if n > 0));
    // ... the routing queue has both starts, in order, and none of the messages.
    let first = started(routing.try_recv().ok()).expect("A's start");
    let second = started(routing.try_recv().ok()).expect("B's start, after the burst");
    assert_ne!(first, second);
    assert!(routing.try_recv().is_err(), "only the events routing acts on");
}
