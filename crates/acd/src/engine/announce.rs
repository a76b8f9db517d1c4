//! Position and EWT announcements: once when a contact starts waiting, then every
//! `announce_interval` of its queue while it keeps waiting (the IVR speaks them: "you are
//! number 3, expected wait 2 minutes").
//!
//! Repeats live in one ordered set, [`Acd::announcements`], of `(due ms, contact)` with at most
//! one entry per waiting contact, so 100,000 waiting contacts are 100,000 entries, never a timer
//! each per period. An entry is removed exactly when its contact stops waiting (offered,
//! abandoned, overflowed, transferred, timed out, finished, or turned into a callback: nobody is
//! on the line to hear it). Contacts waiting for a named agent have no queue position and are
//! not repeated. This module must never announce a contact that is not waiting in its queue.

use super::{Acd, ContactIdx, ContactState};
use crate::io::Output;

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

    /// Schedules the next repeat of a waiting contact at `due` (ms), if its queue repeats
    /// announcements and it is not a callback. Replaces any earlier schedule.
    pub(crate) fn schedule_announce(&mut self, c: ContactIdx, due: i64) {
        self.cancel_announce(c);
        let rec = self.contact(c);
        if rec.callback || !matches!(rec.state, ContactState::Waiting { .. }) {
            return;
        }
        if self.queues[rec.queue as usize].cfg.announce_interval.is_none() {
            return;
        }
        self.announcements.insert((due, c));
        self.contact_mut(c).announce_at = Some(due);
    }

    /// Schedules the first repeat one interval from now (a contact that just started waiting).
    pub(crate) fn schedule_announce_from_now(&mut self, c: ContactIdx) {
        let Some(interval) = self.queues[self.contact(c).queue as usize].cfg.announce_interval else { return };
        let due = self.now.plus(interval).unix_ms();
        self.schedule_announce(c, due);
    }

    /// Drops the contact's scheduled repeat, if any.
    pub(crate) fn cancel_announce(&mut self, c: ContactIdx) {
        if let Some(rec) = self.contacts[c as usize].as_mut()
            && let Some(due) = rec.announce_at.take()
        {
            self.announcements.remove(&(due, c));
        }
    }

    /// Fires the earliest due repeat and schedules the one after. If the shell called late and
    /// the next one would already be due, the cadence restarts from now (no burst of catch-ups).
    pub(crate) fn announce_next(&mut self) {
        let Some((due, c)) = self.announcements.pop_first() else { return };
        let Some(rec) = self.contacts[c as usize].as_mut() else { return };
        rec.announce_at = None;
        let Some(interval) = self.queues[rec.queue as usize].cfg.announce_interval else { return };
        self.announce(c);
        let now = self.now.unix_ms();
        let step = i64::try_from(interval.as_ms()).unwrap_or(i64::MAX);
        let next = due.saturating_add(step);
        let next = if next > now { next } else { now.saturating_add(step) };
        self.schedule_announce(c, next);
    }
}
