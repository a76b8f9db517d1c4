//! # acd — Hotline's automatic contact distribution (routing engine)
//!
//! A sans-IO state machine: no sockets, no async, no clock, no global randomness. The shell
//! (voice, chat, email, social adapters) feeds commands in and carries decisions out.
//!
//! ## Inputs
//! [`Acd::handle`]`(now, `[`Input`]`)`: contact arrived (channel, entry point or queue, VIP tier,
//! issue type, language, required skills, priority, attributes, callback), abandoned, callback
//! chosen, ended; agent logged in / out, presence (Available, Away with a reason code, Offline),
//! supervisor force; offer accepted / rejected; wrap-up done; transfer to a queue or a named
//! agent; queue open/closed. [`Acd::handle_timeout`]`(now)` is the passing of time: ring
//! timeouts, wrap-up ends, skill relaxation, overflow after N s, max wait. Timers due at `now`
//! also fire at the start of every `handle`, so effects happen in time order.
//!
//! ## Outputs
//! [`Acd::poll_output`] yields [`Output`]s: `Offer` (contact → agent, with ring timeout; one per
//! agent under ring-all), `CancelOffer`, `Requeue`, `Overflow`, `Announce` (position and EWT),
//! `Reject` (queue full → busy/voicemail/callback, closed, max wait), and an `Event` for every
//! change (queued, offered, answered, relaxed, transferred, finished with its outcome, agent
//! state changed). [`Acd::poll_timeout`] says when to call `handle_timeout` next.
//!
//! `Announce` goes out when a contact starts waiting and, if its queue sets `announce_interval`
//! (at least [`config::MIN_ANNOUNCE_INTERVAL`]), again every interval while it waits (counted
//! from the previous announcement), with its current position and EWT; repeats stop when it
//! leaves the queue (offered, abandoned, overflowed, transferred, timed out) or becomes a
//! callback placeholder, and restart one interval after a requeue. Repeats are a FIFO per queue
//! (already in due order: every entry is `now + interval`) plus an ordered set of the FIFOs'
//! heads, at most one live entry per waiting contact, never a timer per period; one call emits
//! at most [`engine::MAX_ANNOUNCEMENTS_PER_CALL`] of them (the rest stay due).
//!
//! ## Routing
//! Route tables are declared in config ([`config::RawAcdConfig`] → [`AcdConfig`]): per entry
//! point, ordered rules on VIP tier, issue type, language, channel and attributes, then a
//! default queue. Each queue has a strategy (round-robin with memory, least-occupied,
//! longest-idle, skills-best, ring-all for voice, weighted random from the seeded RNG),
//! see *Strategies* below,
//! required skills with minimum proficiency, relaxation steps over wait time, priority with
//! aging (`priority_step`: one priority point is worth that much waiting), max waiting, max
//! wait, overflow after N s or when EWT exceeds X, wrap-up, ring timeout and missed offers
//! before Away. Agents belong to several queues with a penalty (lower served first) and have
//! per-channel capacity ([`model::ChannelCapacity`]; a voice call may block other channels).
//! Ringing, connected and wrap-up contacts each hold one slot of their channel; wrap-up is per
//! queue. N missed offers in a row (per queue) put the agent Away with reason `missed`; an
//! agent who declined or missed a contact is not offered that same contact again for
//! [`engine::REOFFER_AFTER_DECLINE`].
//!
//! Callback placeholders keep their place in the queue (and its max wait, but not its overflow)
//! and are offered as [`OfferKind::Callback`]. Transfers to a queue or to a named agent keep the
//! contact's history, priority and first-queued time (so its place by wait); a contact waiting
//! for a named agent goes back to its queue if that agent rejects, misses or logs out.
//!
//! ## Strategies
//! Within the lowest penalty tier that has a fitting agent:
//! - round-robin: the next agent (by login ordinal) after the last one offered;
//! - longest-idle: idle longest since its last contact (or since becoming Available);
//! - least-occupied, `least_occupied_by = "contacts"` (default): fewest contacts handled today,
//!   then longest idle; `"occupancy"`: lowest handling / (handling + available idle) time today
//!   from the engine's own timeline (handling = a connected or wrap-up contact in hand; idle =
//!   Available with none; Away/Offline time counts for neither), then longest idle. The index
//!   holds each agent's occupancy when it last became free; the first
//!   [`engine::MAX_OCCUPANCY_CANDIDATES`] fitting agents are re-scored at `now` (an idle agent's
//!   occupancy keeps falling), so the pick is exact among those. Counters restart at
//!   [`Input::ResetDailyCounters`];
//! - skills-best: ranks by every skill the contact requires (its queue's and its own, before
//!   relaxation: relaxing lowers who may take it, not who is best): highest *lowest*
//!   proficiency across those skills (a 9/2 agent is worse than a 6/6 one), then highest sum,
//!   then longest idle. The index orders agents by that score over the queue's skills, which is
//!   exact when the contact adds no skill; otherwise it bounds the full score from above, so the
//!   walk stops as soon as no later agent can win, and after
//!   [`engine::MAX_SKILLS_BEST_CANDIDATES`] fitting agents at most;
//! - ring-all (voice; longest-idle on other channels): up to [`engine::MAX_RING_ALL_AGENTS`];
//! - weighted random: among the first [`engine::MAX_WEIGHTED_CANDIDATES`] fitting agents.
//!
//! ## Invariants (checked by the property test after every step)
//! - an agent never holds more ringing + connected + wrap-up contacts of a channel than its capacity;
//! - a contact rings at most one agent at a time, except under ring-all;
//! - Away and Offline agents get no offers (forcing one Away withdraws its ringing offers);
//! - within one queue, contacts of equal priority and equal requirements are offered first-in first-out;
//! - no contact is lost: each contact that arrives ends with exactly one `ContactFinished`
//!   (answered, abandoned, rejected or timed out); overflow moves it to another queue.
//!
//! ## Expected wait (EWT)
//! `EWT(p) = p × AHT_recent / agents_serving`, at most the queue's max wait (exact for FIFO with
//! every agent busy and exponential handle times); the Erlang C average wait for the staffed
//! agents at the recent load is published next to it in [`QueueSnapshot`]. See [`ewt`] for the
//! windows and why Erlang C is not used as an upper bound. [`erlang`] has the Erlang C helper
//! (P(wait), SL(T), ASA, agents needed), numerically stable for hundreds of agents.
//!
//! - liveness: no contact waits while an available agent of its queue could take it (except
//!   agents it is pausing from after they declined it).
//!
//! ## Cost
//! Decisions read per-queue indexes (waiting contacts by class and wait key, available agents by
//! penalty and strategy key); nothing scans all agents or all contacts. A free agent looks at
//! the head of each waiting class of its queues (lowest penalty tier first). A new contact
//! walks its queue's available agents for its channel in strategy order until one fits; agents
//! below the queue's most relaxed skill floor are never in that index, and a walk that found
//! nobody is not repeated until an agent joins the index. Positions come from a blocked rank
//! index (`O(n/64)`), timers from a heap swept of stale entries when it outgrows the live items.
//! Scheduling a repeat is a FIFO push; announcing it, a FIFO pop plus one position; the
//! skills-best (extra skills) and least-occupied (occupancy) walks are bounded by the constants
//! named above. See [`engine`].

pub mod config;
pub mod engine;
pub mod erlang;
pub mod ewt;
pub mod io;
pub mod rng;
pub mod routing;
pub mod sim;

pub use config::{AcdConfig, ConfigError, FullFallback, RawAcdConfig};
pub use engine::{Acd, AcdError, HistoryEntry, QueueSnapshot};
pub use io::{
    AgentProfile, CancelReason, ContactRequest, Entry, Event, EventKind, Input, Membership, OfferKind, Output,
    Presence, RejectReason, RequeueReason,
};
