//! Hotline's reporting core: contact-center KPIs exactly as `shared/guide/KPI.md` defines them,
//! period comparison, incremental interval aggregates and complaint alerts. Pure and sans-IO:
//! the store, web pages, Prometheus, InfluxDB and NATS shells drive it; it never touches them.
//!
//! # Modules
//! - [`figures`]: every KPI (service level and its two variants, answer and abandon rate with the
//!   short-abandon rule, ASA, average wait of abandoned, AHT, occupancy, utilisation, transfer
//!   rate, FCR, IVR containment, CSAT top-2-box and mean, NPS, longest waiting, EWT inputs) from
//!   [`figures::KpiCounts`], a struct of plain sums. One code path for the live wallboard,
//!   historical reports and exports: merge the counts of the intervals shown, then compute.
//!   An empty denominator gives `None`, never NaN.
//! - [`compare`]: periods (today so far vs yesterday up to the same time, closed day vs the day
//!   before, week so far vs last week, same weekday last week, any two ranges) and the typed
//!   change between them: percentage points for rates (92% vs 88% → +4 pp), relative % for
//!   quantities (120 s vs 135 s → −11%), points for scores (NPS); labels in English and zh-CN.
//! - [`aggregate`]: an incremental aggregator fed contact events and agent state changes (with
//!   `model`'s ids and enums) that keeps 15-minute, hourly and daily buckets per queue, agent and
//!   channel. Buckets hold only counts and sums; figures come from [`figures`].
//! - [`alert`]: named rules "more than N contacts with a complaint disposition or keyword flag
//!   within W seconds" per org and queue, raised once, cleared, held back by a cooldown.
//! - [`calendar`]: interval boundaries and local days (fixed UTC offset).
//!
//! # Attribution rules (where a fact is counted)
//! - A contact counts (offered, answered, abandoned, waits, service level, transfer, surveys) in
//!   the interval where it was **offered to the queue**, the industry norm, even if answered or
//!   abandoned in a later interval. The answering agent gets the answered part there too.
//! - Handling time (talk + hold + wrap-up; one "handled" per agent segment, so a transferred
//!   contact is handled twice, once by each agent) counts in the interval where that handling
//!   **ended**; FCR counts where the contact's last handling ended.
//! - IVR entry and containment count where the contact **entered the IVR**, per channel.
//! - Agent state time is **split across interval boundaries**; the current, still open state is
//!   counted when the next change arrives (live views add `now − since`). Offline time is not kept.
//! - Thresholds (service level T, short abandon, both per queue) classify a contact when it is
//!   counted; formula choices (SL variant, whether short abandons are excluded) apply at compute
//!   time, so one set of buckets serves every variant.
//!
//! # Invariants
//! - **Pure**: no IO, no async, no clock, no randomness. Time is injected (`now` arguments).
//! - **Order-independent**: a contact's facts merge commutatively and its contribution is a
//!   pure function of them; each event retracts the old contribution and adds the new one, so
//!   the same events in any order, with duplicates, give the same buckets (property-tested
//!   against a from-scratch recomputation).
//! - **Bounded**: every map, window and queue has a named limit (`max_open_quarter_hours`,
//!   `max_tracked_contacts`, `max_remembered_event_ids`, `max_tracked_scopes`, ...); when one
//!   bites, the event is dropped or the oldest state forgotten, and a counter says so.
//! - **Never panics on input**: refused input is reported ([`aggregate::Applied`]) and counted.
//!
//! # Example
//! ```
//! use kpi::aggregate::{Aggregator, AggregatorConfig, ContactEvent, ContactEventKind, Dimension, Input, IntervalQuery};
//! use kpi::calendar::{Granularity, HOUR_MS};
//! use kpi::compare::Period;
//! use kpi::figures::{FigureSettings, Figures};
//! use model::{AgentId, Channel, ContactEventId, ContactId, QueueId, Timestamp};
//!
//! let queue = QueueId::from_u128(1);
//! let mut agg = Aggregator::new(AggregatorConfig::default())?;
//! let event = |id: u128, at_ms: i64, kind| {
//!     let (id, contact) = (ContactEventId::from_u128(id), ContactId::from_u128(7));
//!     Input::Contact(ContactEvent { id, contact, channel: Channel::Voice, at: Timestamp::from_unix_ms(at_ms), kind })
//! };
//! let now = Timestamp::from_unix_ms(60_000);
//! // The answer arrives first; the queue entry (12 s earlier) comes late. Both count.
//! agg.handle(now, event(2, 42_000, ContactEventKind::Answered { agent: AgentId::from_u128(3) }));
//! agg.handle(now, event(1, 30_000, ContactEventKind::Queued { queue, customer: None }));
//!
//! let period = Period { start: Timestamp::from_unix_ms(0), end: Timestamp::from_unix_ms(HOUR_MS) };
//! let query = IntervalQuery { granularity: Granularity::QuarterHour, dimension: Dimension::Queue(queue), period };
//! let figures = Figures::compute(&agg.total(query), &FigureSettings::default());
//! assert_eq!(figures.service_level, Some(1.0)); // answered within 20 s
//! assert_eq!(figures.average_speed_of_answer_s, Some(12.0));
//! assert_eq!(figures.average_handle_time_s, None); // nothing handled yet: None, not NaN
//! # Ok::<(), kpi::KpiError>(())
//! ```

pub mod aggregate;
pub mod alert;
pub mod calendar;
pub mod compare;
pub mod figures;

mod error;

pub use error::KpiError;
