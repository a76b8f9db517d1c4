//! Signals that arrived before their call knew its contact.
//!
//! The call task learns its contact's id from `center.submit` and only then registers it with
//! the dispatcher; the center may already have sent the contact's first offer (or its first
//! announcement, or its refusal when the queue is full) by then. Such a signal is held here (at
//! most `max_pending_offers`, each for `pending_offer_ms`) and handed to the call, in order,
//! when it registers the contact; an offer that expires is given back to the center, anything
//! else that expires is dropped. Sans-IO: time is passed in, nothing here awaits or sends.

use std::collections::VecDeque;
use std::time::Duration;

use center::OfferSignal;
use model::{AgentId, ContactId};
use tokio::time::Instant;

/// Signals waiting for their contact, oldest first.
#[derive(Debug)]
pub(crate) struct PendingOffers {
    max_pending_offers: usize,
    pending_offer_ms: u64,
    waiting: VecDeque<(Instant, OfferSignal)>,
}

fn contact_of(signal: &OfferSignal) -> ContactId {
    match signal {
        OfferSignal::Offer(o) => o.contact,
        OfferSignal::Cancel { contact, .. }
        | OfferSignal::Announce { contact, .. }
        | OfferSignal::Refused { contact, .. } => *contact,
    }
}

impl PendingOffers {
    pub(crate) fn new(max_pending_offers: usize, pending_offer_ms: u64) -> Self {
        Self { max_pending_offers, pending_offer_ms, waiting: VecDeque::new() }
    }

    /// Holds `signal` until `now + pending_offer_ms`; gives it back when `max_pending_offers`
    /// are held already (the caller rejects an offer, drops anything else).
    pub(crate) fn hold(&mut self, signal: OfferSignal, now: Instant) -> Result<(), OfferSignal> {
        if self.waiting.len() >= self.max_pending_offers {
            return Err(signal);
        }
        self.waiting.push_back((now + Duration::from_millis(self.pending_offer_ms), signal));
        Ok(())
    }

    /// The signals held for `contact`, in arrival order (they leave the list).
    pub(crate) fn take(&mut self, contact: ContactId) -> Vec<OfferSignal> {
        if self.waiting.is_empty() {
            return Vec::new();
        }
        let (mine, rest): (VecDeque<_>, VecDeque<_>) =
            self.waiting.drain(..).partition(|(_, s)| contact_of(s) == contact);
        self.waiting = rest;
        mine.into_iter().map(|(_, s)| s).collect()
    }

    /// The center cancelled the offer of `contact` to `agent` before the call saw it: the held
    /// offer is forgotten (and the cancel has nothing left to stop).
    pub(crate) fn cancel(&mut self, contact: ContactId, agent: AgentId) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|(_, s)| !matches!(s, OfferSignal::Offer(o) if o.contact == contact && o.agent == agent));
        self.waiting.len() != before
    }

    /// The signals whose time ran out at `now` (they leave the list).
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<OfferSignal> {
        let mut out = Vec::new();
        while self.waiting.front().is_some_and(|(deadline, _)| *deadline <= now) {
            if let Some((_, signal)) = self.waiting.pop_front() {
                out.push(signal);
            }
        }
        out
    }

    /// When the oldest held offer expires.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.front().map(|(deadline, _)| *deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use center::{Offer, OfferKind, Refusal};
    use model::{Channel, OrgId, QueueId};

    fn offer(contact: ContactId, agent: AgentId) -> OfferSignal {
        OfferSignal::Offer(Offer {
            org: OrgId::from_u128(1),
            contact,
            agent,
            queue: QueueId::from_u128(2),
            channel: Channel::Voice,
            kind: OfferKind::Contact,
            ring_timeout_ms: 20_000,
            customer: None,
            from_address: "+8613800000000".to_owned(),
        })
    }

    #[test]
    fn an_offer_before_its_contact_registers_is_handed_over_on_registration() {
        let mut pending = PendingOffers::new(4, 500);
        let now = Instant::now();
        let (contact, other) = (ContactId::from_u128(10), ContactId::from_u128(11));
        let agent = AgentId::from_u128(20);
        pending.hold(offer(contact, agent), now).expect("room");
        pending.hold(offer(other, agent), now).expect("room");
        let got = pending.take(contact);
        assert_eq!(got, vec![offer(contact, agent)]);
        assert!(pending.take(contact).is_empty(), "handed over once");
        assert!(pending.expired(now + Duration::from_millis(499)).is_empty());
        assert_eq!(pending.expired(now + Duration::from_millis(500)).len(), 1, "the other one expires");
        assert_eq!(pending.next_deadline(), None);
    }

    #[test]
    fn held_offers_are_bounded_and_a_cancel_forgets_the_offer() {
        let mut pending = PendingOffers::new(1, 500);
        let now = Instant::now();
        let (contact, agent) = (ContactId::from_u128(10), AgentId::from_u128(20));
        pending.hold(offer(contact, agent), now).expect("room");
        assert!(pending.hold(offer(ContactId::from_u128(11), agent), now).is_err(), "max_pending_offers reached");
        assert_eq!(pending.next_deadline(), Some(now + Duration::from_millis(500)));
        assert!(pending.cancel(contact, agent));
        assert!(pending.take(contact).is_empty());
        assert!(pending.expired(now + Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn a_refusal_before_registration_reaches_the_call_after_the_signals_before_it() {
        let mut pending = PendingOffers::new(4, 500);
        let now = Instant::now();
        let contact = ContactId::from_u128(10);
        let refused = OfferSignal::Refused { contact, queue: None, refusal: Refusal::QueueFullBusy };
        let announce = OfferSignal::Announce { contact, queue: QueueId::from_u128(2), position: 1, ewt_ms: 0 };
        pending.hold(announce.clone(), now).expect("room");
        pending.hold(refused.clone(), now).expect("room");
        assert_eq!(pending.take(contact), vec![announce, refused]);
    }
}
