//! Position and EWT announcements: once when a contact starts waiting, then every
//! `announce_interval` of its queue while it keeps waiting (the IVR speaks them: "you are
//! number 3, expected wait 2 minutes").
//!
//! Repeats are one FIFO per queue of `(due ms, contact, ticket)`: every repeat of a queue is
//! scheduled `now + interval`, so each FIFO is already in due order and scheduling is a push,
//! not a sorted insert. [`Acd::announce_heads`] orders the queues by their FIFO's head, so the
//! next repeat of the whole engine is one lookup among at most one entry per queue. A contact
//! holds the `(due, ticket)` of its live repeat; leaving the queue (offered, abandoned,
//! overflowed, transferred, timed out, finished, or turned into a callback: nobody is on the line
//! to hear it) just forgets it, and the stale FIFO entry is skipped when it reaches the head (or
//! swept when a FIFO holds more than twice its waiting contacts plus [`MIN_REPEATS_BEFORE_SWEEP`]).
//! So 100,000 waiting contacts are at most 100,000 live entries, never a timer each per period.
//! Contacts waiting for a named agent have no queue position and are not repeated. This module
//! must never announce a contact that is not waiting in its queue.

use super::{Acd, ContactIdx, ContactState, MIN_REPEATS_BEFORE_SWEEP};
use crate::config::QueueIdx;
use crate::io::Output;

/// One scheduled repeat: `(due ms, contact, ticket)`.
pub(crate) type Repeat = (i64, ContactIdx, u64);

impl Acd {
    /// Emits `Announce` for a waiting contact: its position and the EWT for that position.
    pub(crate) fn announce(&mut self, c: ContactIdx) {
        let rec = self.contact(c);
        let ContactState::Waiting { key, .. } = rec.state else { return };
        let (id, q) = (rec.id, rec.queue);
        let position = self.position_of(q, key);
        let queue = &self.queues[q as usize];
        let ewt = queue.load.ewt(position, queue.serving, queue.cfg.max_wait);
        self.outputs.push_back(Output::Announce { contact: id, queue: queue.cfg.id, position, ewt });
    }

    /// Records (or forgets) a contact's live repeat, keeping the count of scheduled repeats.
    pub(crate) fn set_announce_at(&mut self, c: ContactIdx, at: Option<(i64, u64)>) {
        let Some(rec) = self.contacts[c as usize].as_mut() else { return };
        match (rec.announce_at.is_some(), at.is_some()) {
            (false, true) => self.scheduled_repeats += 1,
            (true, false) => self.scheduled_repeats = self.scheduled_repeats.saturating_sub(1),
            _ => {}
        }
        rec.announce_at = at;
    }

    /// Schedules the next repeat of a waiting contact one interval from now, if its queue
    /// repeats announcements and it is not a callback. Replaces any earlier schedule.
    pub(crate) fn schedule_announce_from_now(&mut self, c: ContactIdx) {
        self.cancel_announce(c);
        let rec = self.contact(c);
        if rec.callback || !matches!(rec.state, ContactState::Waiting { .. }) {
            return;
        }
        let q = rec.queue;
        let Some(interval) = self.queues[q as usize].cfg.announce_interval else { return };
        let due = self.now.plus(interval).unix_ms();
        self.next_seq += 1;
        let ticket = self.next_seq;
        self.push_repeat(q, (due, c, ticket));
        self.set_announce_at(c, Some((due, ticket)));
    }

    /// Forgets the contact's scheduled repeat, if any (its FIFO entry goes stale).
    pub(crate) fn cancel_announce(&mut self, c: ContactIdx) {
        self.set_announce_at(c, None);
    }

    fn repeat_is_live(&self, &(due, c, ticket): &Repeat) -> bool {
        self.contacts.get(c as usize).and_then(|r| r.as_ref()).is_some_and(|r| r.announce_at == Some((due, ticket)))
    }

    fn push_repeat(&mut self, q: QueueIdx, repeat: Repeat) {
        let queue = &mut self.queues[q as usize];
        if queue.repeats.is_empty() {
            self.announce_heads.insert((repeat.0, q));
        }
        queue.repeats.push_back(repeat);
        if queue.repeats.len() > 2 * queue.waiting as usize + MIN_REPEATS_BEFORE_SWEEP {
            self.sweep_repeats(q);
        }
    }

    /// Drops the stale entries of a queue's FIFO (linear, but only when stale ones outnumber
    /// the waiting contacts, so amortised constant per repeat).
    fn sweep_repeats(&mut self, q: QueueIdx) {
        let mut repeats = std::mem::take(&mut self.queues[q as usize].repeats);
        let old_head = repeats.front().map(|r| r.0);
        repeats.retain(|r| self.repeat_is_live(r));
        let new_head = repeats.front().map(|r| r.0);
        self.queues[q as usize].repeats = repeats;
        self.move_head(q, old_head, new_head);
    }

    fn move_head(&mut self, q: QueueIdx, old: Option<i64>, new: Option<i64>) {
        if old == new {
            return;
        }
        if let Some(at) = old {
            self.announce_heads.remove(&(at, q));
        }
        if let Some(at) = new {
            self.announce_heads.insert((at, q));
        }
    }

    /// When the earliest repeat (live or stale) is due.
    pub(crate) fn next_repeat_at(&self) -> Option<i64> {
        self.announce_heads.first().map(|&(at, _)| at)
    }

    /// Takes the earliest repeat; if it is live, announces it and schedules the one after, one
    /// interval from now. Returns whether something was announced.
    pub(crate) fn announce_next(&mut self) -> bool {
        let Some(&(due, q)) = self.announce_heads.first() else { return false };
        let Some(repeat) = self.queues[q as usize].repeats.pop_front() else {
            self.announce_heads.remove(&(due, q));
            return false;
        };
        let new_head = self.queues[q as usize].repeats.front().map(|r| r.0);
        self.move_head(q, Some(due), new_head);
        if !self.repeat_is_live(&repeat) {
            return false;
        }
        let c = repeat.1;
        self.set_announce_at(c, None);
        self.announce(c);
        self.schedule_announce_from_now(c);
        true
    }
}
