//! Duplicate suppression for callbacks: WeChat retries a callback up to three times when it gets no
//! answer within 5 s, so the same message can arrive more than once.
//!
//! The key is the MsgId for messages and `FromUserName + CreateTime + Event` for events, as WeChat's
//! documentation recommends. Keys are remembered for `window_ms` and never more than `max_entries`
//! of them; when full, the oldest key is forgotten (a late duplicate then gets through, which the
//! store's own idempotency must absorb). Reads no clock.

use std::collections::{HashSet, VecDeque};

use model::Timestamp;

use super::xml::{InboundMessage, WeChatMessage};

/// The de-duplication key of a callback message.
pub fn dedup_key(message: &InboundMessage) -> String {
    let msg_id = match &message.message {
        WeChatMessage::Text { msg_id, .. }
        | WeChatMessage::Image { msg_id, .. }
        | WeChatMessage::Voice { msg_id, .. }
        | WeChatMessage::Video { msg_id, .. }
        | WeChatMessage::Location { msg_id, .. }
        | WeChatMessage::Link { msg_id, .. } => *msg_id,
        _ => None,
    };
    match msg_id {
        Some(id) => format!("msg:{id}"),
        None => {
            let event = match &message.message {
                WeChatMessage::Subscribe { .. } => "subscribe",
                WeChatMessage::Unsubscribe => "unsubscribe",
                WeChatMessage::Other { msg_type, event } => event.as_deref().unwrap_or(msg_type),
                _ => "message",
            };
            format!("evt:{}:{}:{event}", message.from_user, message.create_time_s)
        }
    }
}

pub struct Deduplicator {
    window_ms: u64,
    max_entries: usize,
    seen: HashSet<String>,
    order: VecDeque<(Timestamp, String)>,
}

impl Deduplicator {
    pub fn new(window_ms: u64, max_entries: usize) -> Self {
        Self { window_ms, max_entries, seen: HashSet::new(), order: VecDeque::new() }
    }

    /// True the first time `message` is seen within the window.
    pub fn first_time(&mut self, now: Timestamp, message: &InboundMessage) -> bool {
        while let Some((at, _)) = self.order.front() {
            let expired = now.since(*at).as_ms() >= self.window_ms;
            if !expired && self.order.len() < self.max_entries {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
        if self.max_entries == 0 {
            return true;
        }
        let key = dedup_key(message);
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.order.push_back((now, key));
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(msg_id: u64) -> InboundMessage {
        InboundMessage {
            to_user: "gh".into(),
            from_user: "o1".into(),
            create_time_s: 10,
            message: WeChatMessage::Text { content: "hi".into(), msg_id: Some(msg_id) },
        }
    }

    fn subscribe(create_time_s: i64) -> InboundMessage {
        InboundMessage {
            to_user: "gh".into(),
            from_user: "o1".into(),
            create_time_s,
            message: WeChatMessage::Subscribe { event_key: None },
        }
    }

    #[test]
    fn retried_callback_is_seen_once_within_the_window() {
        let mut d = Deduplicator::new(60_000, 10);
        let t = |ms| Timestamp::from_unix_ms(ms);
        assert!(d.first_time(t(0), &text(1)));
        assert!(!d.first_time(t(5_000), &text(1)));
        assert!(d.first_time(t(5_000), &text(2)));
        assert!(d.first_time(t(60_000), &text(1)), "forgotten after the window");
    }

    #[test]
    fn events_are_keyed_by_sender_time_and_kind() {
        let mut d = Deduplicator::new(60_000, 10);
        let t0 = Timestamp::from_unix_ms(0);
        assert!(d.first_time(t0, &subscribe(10)));
        assert!(!d.first_time(t0, &subscribe(10)));
        assert!(d.first_time(t0, &subscribe(11)));
    }

    #[test]
    fn memory_is_bounded_by_max_entries() {
        let mut d = Deduplicator::new(60_000, 3);
        let t0 = Timestamp::from_unix_ms(0);
        for id in 0..10 {
            assert!(d.first_time(t0, &text(id)));
        }
        assert_eq!(d.len(), 3);
    }
}
