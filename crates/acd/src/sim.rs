//! A deterministic, seeded simulation of a day of traffic through the real engine: Poisson
//! arrivals, exponential handle times, exponential patience, agents who answer at once. Used
//! by tests (short runs) and the `day_simulation` example / benchmark (long runs). Reports the
//! KPI figures of `shared/guide/KPI.md` (SL, ASA, abandon rate, occupancy) with batch-means
//! confidence intervals. It never reads a clock: time is simulated.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use model::{AgentId, Channel, ChannelCapacity, ContactId, ContactOutcome, Timestamp};

use crate::config::{RawAcdConfig, RawQueue};
use crate::engine::Acd;
use crate::io::{AgentProfile, ContactRequest, Entry, EventKind, Input, Membership, Output};
use crate::rng::SeededRng;

/// Most contacts one simulation run may create.
pub const MAX_SIM_CONTACTS: u64 = 10_000_000;
/// Number of batches for the batch-means confidence intervals.
pub const BATCHES: usize = 20;
/// Student t quantile for a two-sided 99% interval with `BATCHES − 1` = 19 degrees of freedom.
pub const T_99_19: f64 = 2.861;

/// One simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub agents: u32,
    pub arrivals_per_s: f64,
    pub mean_handle_s: f64,
    /// `None`: customers never abandon.
    pub mean_patience_s: Option<f64>,
    /// Simulated time after the warm-up, in seconds.
    pub duration_s: f64,
    /// Contacts arriving in the first `warmup_s` are not counted.
    pub warmup_s: f64,
    pub sl_threshold_s: f64,
}

/// A figure with its 99% batch-means confidence half-width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
}

impl Estimate {
    pub fn contains(&self, value: f64) -> bool {
        (self.mean - value).abs() <= self.half_width
    }
}

/// The KPI figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Answered within T / (answered + abandoned after T).
    pub service_level: f64,
    pub asa_s: Estimate,
    /// Share of answered contacts that waited at all.
    pub p_wait: Estimate,
    /// Share of answered contacts answered within T (equals SL when nobody abandons).
    pub answered_within_t: Estimate,
    pub abandon_rate: f64,
    pub occupancy: f64,
    pub engine_calls: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SimEvent {
    Arrival,
    Abandon(u64),
    End(u64),
}

#[derive(Default, Clone, Copy)]
struct Batch {
    answered: u64,
    waited: u64,
    within_t: u64,
    wait_ms: u64,
}

struct Run {
    acd: Acd,
    rng: SeededRng,
    cfg: SimConfig,
    events: BinaryHeap<Reverse<(i64, u64, SimEvent)>>,
    seq: u64,
    arrived_at: HashMap<u64, i64>,
    batches: [Batch; BATCHES],
    answered: u64,
    answered_in_t: u64,
    abandoned: u64,
    abandoned_after_t: u64,
    offered: u64,
    busy_ms: f64,
    calls: u64,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
}

fn ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

impl Run {
    fn schedule(&mut self, at: i64, e: SimEvent) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, e)));
    }

    fn counted(&self, arrived: i64) -> bool {
        arrived >= self.start_ms && arrived < self.end_ms
    }

    fn drain(&mut self, now: Timestamp) {
        while let Some(out) = self.acd.poll_output() {
            match out {
                Output::Offer { contact, agent, .. } => {
                    self.calls += 1;
                    // A simulated agent answers at once; the engine said this offer is valid.
                    let _ = self.acd.handle(now, Input::OfferAccepted { agent, contact });
                    let n = contact.as_uuid().as_u128() as u64;
                    let handle = ms(self.rng.exponential(self.cfg.mean_handle_s)).max(1);
                    self.schedule(now.unix_ms() + handle, SimEvent::End(n));
                    if let Some(&arrived) = self.arrived_at.get(&n)
                        && self.counted(arrived)
                    {
                        self.busy_ms += handle as f64;
                    }
                }
                Output::Event(ev) => self.record(ev.kind),
                _ => {}
            }
        }
    }

    fn record(&mut self, kind: EventKind) {
        let threshold = ms(self.cfg.sl_threshold_s) as u64;
        match kind {
            EventKind::ContactAnswered { contact, wait, .. } => {
                let n = contact.as_uuid().as_u128() as u64;
                let Some(&arrived) = self.arrived_at.get(&n) else { return };
                if !self.counted(arrived) {
                    return;
                }
                self.answered += 1;
                self.answered_in_t += u64::from(wait.as_ms() <= threshold);
                let span = (self.end_ms - self.start_ms).max(1);
                let b = (((arrived - self.start_ms) as i128 * BATCHES as i128) / span as i128) as usize;
                let batch = &mut self.batches[b.min(BATCHES - 1)];
                batch.answered += 1;
                batch.waited += u64::from(wait.as_ms() > 0);
                batch.within_t += u64::from(wait.as_ms() <= threshold);
                batch.wait_ms += wait.as_ms();
            }
            EventKind::ContactFinished { contact, outcome: ContactOutcome::Abandoned } => {
                let n = contact.as_uuid().as_u128() as u64;
                if let Some(arrived) = self.arrived_at.remove(&n)
                    && self.counted(arrived)
                {
                    self.abandoned += 1;
                    let waited = self.now_ms - arrived;
                    self.abandoned_after_t += u64::from(waited > ms(self.cfg.sl_threshold_s));
                }
            }
            _ => {}
        }
    }
}

/// The engine config of a simulation: one queue, longest idle, no wrap-up, agents answer at once.
fn sim_engine(cfg: &SimConfig) -> Acd {
    let mut queue = RawQueue::named("sim");
    queue.max_waiting = u32::MAX;
    queue.max_wait = "30d".into();
    queue.default_handle_time = format!("{}ms", ms(cfg.mean_handle_s).max(1));
    let raw = RawAcdConfig { seed: cfg.seed, skills: Vec::new(), queues: vec![queue], entry_points: Vec::new() };
    let config = raw.validate().expect("the simulator's own config is valid");
    let queue_id = config.queues[0].id;
    let mut acd = Acd::new(config);
    for i in 0..cfg.agents {
        let profile = AgentProfile {
            id: AgentId::from_u128(u128::from(i) + 1),
            skills: Vec::new(),
            languages: Vec::new(),
            capacity: ChannelCapacity { voice: 1, chat: 0, email: 0, social: 0, voice_blocks_others: true },
            queues: vec![Membership { queue: queue_id, penalty: 0, weight: 1 }],
        };
        acd.handle(Timestamp::from_unix_ms(0), Input::AgentLoggedIn(profile)).expect("simulated agents are valid");
    }
    acd
}

/// Runs one simulation. Deterministic: the same config gives the same report.
pub fn simulate(cfg: &SimConfig) -> SimReport {
    let acd = sim_engine(cfg);
    let queue_id = acd.queues[0].cfg.id;
    let mut run = Run {
        acd,
        rng: SeededRng::new(cfg.seed ^ 0x5151_5151),
        cfg: cfg.clone(),
        events: BinaryHeap::new(),
        seq: 0,
        arrived_at: HashMap::new(),
        batches: [Batch::default(); BATCHES],
        answered: 0,
        answered_in_t: 0,
        abandoned: 0,
        abandoned_after_t: 0,
        offered: 0,
        busy_ms: 0.0,
        calls: 0,
        start_ms: ms(cfg.warmup_s),
        end_ms: ms(cfg.warmup_s + cfg.duration_s),
        now_ms: 0,
    };
    let first = ms(run.rng.exponential(1.0 / cfg.arrivals_per_s));
    run.schedule(first, SimEvent::Arrival);
    let mut next_id: u64 = 0;
    while let Some(Reverse((at, _, event))) = run.events.pop() {
        if let Some(t) = run.acd.poll_timeout()
            && t.unix_ms() < at
        {
            // Engine timers first (none fire in this setup, but keep time order honest).
            run.events.push(Reverse((at, 0, event)));
            run.now_ms = t.unix_ms();
            run.acd.handle_timeout(t);
            run.drain(t);
            continue;
        }
        run.now_ms = at;
        let now = Timestamp::from_unix_ms(at);
        run.calls += 1;
        match event {
            SimEvent::Arrival if at < run.end_ms && next_id < MAX_SIM_CONTACTS => {
                next_id += 1;
                run.arrived_at.insert(next_id, at);
                run.offered += u64::from(run.counted(at));
                let req = ContactRequest::new(
                    ContactId::from_u128(u128::from(next_id)),
                    Channel::Voice,
                    Entry::Queue(queue_id),
                );
                let _ = run.acd.handle(now, Input::ContactArrived(req));
                if let Some(p) = cfg.mean_patience_s {
                    let patience = ms(run.rng.exponential(p));
                    run.schedule(at + patience, SimEvent::Abandon(next_id));
                }
                let gap = ms(run.rng.exponential(1.0 / cfg.arrivals_per_s)).max(0);
                run.schedule(at + gap, SimEvent::Arrival);
            }
            SimEvent::Arrival => {}
            SimEvent::Abandon(n) => {
                // Already answered contacts refuse the abandon: that is the expected case.
                let _ = run.acd.handle(now, Input::ContactAbandoned(ContactId::from_u128(u128::from(n))));
            }
            SimEvent::End(n) => {
                run.arrived_at.remove(&n);
                let _ = run.acd.handle(now, Input::ContactEnded(ContactId::from_u128(u128::from(n))));
            }
        }
        run.drain(now);
    }
    report(&run)
}

fn batch_estimate(values: &[f64]) -> Estimate {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Estimate { mean, half_width: T_99_19 * (var / n).sqrt() }
}

fn report(run: &Run) -> SimReport {
    let asa: Vec<f64> = run.batches.iter().map(|b| b.wait_ms as f64 / 1000.0 / (b.answered.max(1) as f64)).collect();
    let p_wait: Vec<f64> = run.batches.iter().map(|b| b.waited as f64 / (b.answered.max(1) as f64)).collect();
    let within_t: Vec<f64> = run.batches.iter().map(|b| b.within_t as f64 / (b.answered.max(1) as f64)).collect();
    let span_ms = (run.end_ms - run.start_ms).max(1) as f64;
    let sl_den = run.answered + run.abandoned_after_t;
    SimReport {
        offered: run.offered,
        answered: run.answered,
        abandoned: run.abandoned,
        service_level: if sl_den == 0 { 1.0 } else { run.answered_in_t as f64 / sl_den as f64 },
        asa_s: batch_estimate(&asa),
        p_wait: batch_estimate(&p_wait),
        answered_within_t: batch_estimate(&within_t),
        abandon_rate: if run.offered == 0 { 0.0 } else { run.abandoned as f64 / run.offered as f64 },
        occupancy: run.busy_ms / (f64::from(run.cfg.agents) * span_ms),
        engine_calls: run.calls,
    }
}
