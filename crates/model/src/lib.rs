//! Hotline's vocabulary: the words every other crate speaks.
//!
//! Typed ids ([`AgentId`], [`QueueId`], ...), validated values ([`E164`], [`Email`], [`SkillName`],
//! [`Proficiency`], [`Language`], [`Timestamp`], [`DurationMs`]) and the domain entities of a contact
//! center ([`Agent`], [`Queue`], [`Customer`], [`Contact`], [`Ticket`], ...).
//!
//! Rules of this crate:
//! - no IO, no async, no clock and no randomness: time and ids come in from the caller;
//! - parse, don't validate: a value of a validated type that exists is valid, so constructors are
//!   the only way in and they return [`ValueError`] with a message a user can act on;
//! - every entity carries an [`OrgId`] (tenant) so a hosted multi-tenant deployment stays possible.

mod entities;
mod enums;
mod ids;
mod values;

pub use entities::*;
pub use enums::*;
pub use ids::*;
pub use values::*;
