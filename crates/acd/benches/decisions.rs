//! Routing decisions under load: 10,000 agents, 200 queues, 100,000 waiting contacts.
//!
//! `agent_freed`: an agent ends a call and the engine picks its next contact among the waiting
//! ones (the decision), the agent accepts, and a new contact arrives so the backlog stays at
//! 100,000. `contact_arrived`: no backlog, agents available; a contact arrives and the engine
//! picks an agent (the decision), who accepts and ends it at once. Both run with 1,000 and
//! 10,000 agents to show the cost does not grow with the number of agents. p50/p99 latency of
//! the decision call (wall clock) is printed after each run, with the whole-cycle rate in
//! thread CPU time (the machine is shared: CPU time leaves out the time this thread was
//! preempted; it is read once per batch because reading it is a system call).
//!
//! `cargo bench -p acd --bench decisions -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use acd::rng::SeededRng;
use acd::{Acd, AgentProfile, ContactRequest, Entry, Input, Membership, Output, RawAcdConfig};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use model::{AgentId, Channel, ChannelCapacity, ContactId, Proficiency, QueueId, SkillName, Timestamp};

const QUEUES: usize = 200;
const SKILLS: usize = 20;
const WAITING: usize = 100_000;
/// Most latency samples kept per run.
const MAX_SAMPLES: usize = 2_000_000;

fn config() -> acd::AcdConfig {
    let mut text = String::from("seed = 1\nskills = [");
    text.push_str(&(0..SKILLS).map(|s| format!("\"s{s}\"")).collect::<Vec<_>>().join(", "));
    text.push_str("]\n");
    let strategies = ["longest_idle", "skills_best", "round_robin", "least_occupied"];
    for q in 0..QUEUES {
        text.push_str(&format!(
            "[[queues]]\nname = \"q{q}\"\nstrategy = \"{}\"\nmax_waiting = 100000\nmax_wait = \"1d\"\n\
             required_skills = [{{ skill = \"s{}\", min_proficiency = {} }}]\n\
             relaxation = [{{ after = \"10m\", min_proficiency = 1 }}]\n",
            strategies[q % strategies.len()],
            q % SKILLS,
            1 + q % 3
        ));
    }
    let raw: RawAcdConfig = parse(&text);
    raw.validate().expect("bench config is valid")
}

/// The bench builds its config from TOML text like an operator would.
fn parse(text: &str) -> RawAcdConfig {
    toml::from_str(text).expect("bench TOML parses")
}

struct Load {
    acd: Acd,
    queues: Vec<QueueId>,
    agents: Vec<AgentId>,
    /// The contact each agent is on, by agent number.
    current: Vec<Option<ContactId>>,
    next_contact: u128,
    now_ms: i64,
    rng: SeededRng,
    samples: Vec<u32>,
}

/// CPU time consumed by this thread so far, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    cpu_time::ThreadTime::try_now().map_or(0, |t| u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX))
}

fn skill(i: usize, level: i64) -> (SkillName, Proficiency) {
    (SkillName::parse(&format!("s{i}")).expect("valid"), Proficiency::new(level).expect("valid"))
}

impl Load {
    fn new(agents: usize, waiting: usize) -> Self {
        let cfg = config();
        let queues: Vec<QueueId> = cfg.queues.iter().map(|q| q.id).collect();
        let mut load = Self {
            acd: Acd::new(cfg),
            agents: Vec::new(),
            current: vec![None; agents],
            next_contact: 0,
            now_ms: 1_000_000,
            rng: SeededRng::new(9),
            samples: Vec::new(),
            queues,
        };
        for i in 0..agents {
            load.login(i);
        }
        for _ in 0..(waiting + agents) {
            load.arrive();
        }
        load
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(self.now_ms)
    }

    fn login(&mut self, i: usize) {
        let qs = [i % QUEUES, (i * 7 + 3) % QUEUES, (i * 13 + 5) % QUEUES];
        let mut skills: Vec<(SkillName, Proficiency)> = Vec::new();
        for &q in &qs {
            if !skills.iter().any(|(s, _)| s.as_str() == format!("s{}", q % SKILLS)) {
                skills.push(skill(q % SKILLS, 5 + (i % 6) as i64));
            }
        }
        let id = AgentId::from_u128(i as u128 + 1);
        let profile = AgentProfile {
            id,
            skills,
            languages: Vec::new(),
            capacity: ChannelCapacity { voice: 1, chat: 0, email: 0, social: 0, voice_blocks_others: true },
            queues: qs
                .iter()
                .enumerate()
                .map(|(p, &q)| Membership { queue: self.queues[q], penalty: p as u8, weight: 1 })
                .collect(),
        };
        self.agents.push(id);
        self.acd.handle(self.now(), Input::AgentLoggedIn(profile)).expect("agent logs in");
    }

    fn arrive(&mut self) {
        self.next_contact += 1;
        let q = self.rng.below(QUEUES as u64) as usize;
        let mut req =
            ContactRequest::new(ContactId::from_u128(self.next_contact), Channel::Voice, Entry::Queue(self.queues[q]));
        req.priority = (self.rng.below(3)) as i32;
        if self.rng.below(5) == 0 {
            req.required_skills.push(skill(q % SKILLS, 7));
        }
        self.acd.handle(self.now(), Input::ContactArrived(req)).expect("contact arrives");
        self.accept_offers();
    }

    /// Every offer is accepted at once; returns the agents who took one.
    fn accept_offers(&mut self) -> Vec<usize> {
        let mut offers = Vec::new();
        while let Some(out) = self.acd.poll_output() {
            if let Output::Offer { contact, agent, .. } = out {
                offers.push((contact, agent));
            }
        }
        let mut took = Vec::with_capacity(offers.len());
        for &(contact, agent) in &offers {
            self.acd.handle(self.now(), Input::OfferAccepted { agent, contact }).expect("offer accepted");
            let i = (agent.as_uuid().as_u128() - 1) as usize;
            self.current[i] = Some(contact);
            took.push(i);
        }
        while self.acd.poll_output().is_some() {}
        took
    }

    /// One decision with a backlog: agent `i` ends its call and gets the next contact.
    fn agent_freed(&mut self, i: usize) {
        let Some(contact) = self.current[i].take() else { return };
        self.now_ms += 1;
        let started = Instant::now();
        self.acd.handle(self.now(), Input::ContactEnded(contact)).expect("contact ends");
        self.sample(started.elapsed());
        self.accept_offers();
        self.arrive();
    }

    /// One decision without a backlog: a contact arrives and gets an agent.
    fn contact_arrived(&mut self) {
        self.now_ms += 1;
        self.next_contact += 1;
        let q = self.rng.below(QUEUES as u64) as usize;
        let req =
            ContactRequest::new(ContactId::from_u128(self.next_contact), Channel::Voice, Entry::Queue(self.queues[q]));
        let started = Instant::now();
        self.acd.handle(self.now(), Input::ContactArrived(req)).expect("contact arrives");
        self.sample(started.elapsed());
        for i in self.accept_offers() {
            if let Some(c) = self.current[i].take() {
                self.acd.handle(self.now(), Input::ContactEnded(c)).expect("contact ends");
            }
        }
        while self.acd.poll_output().is_some() {}
    }

    fn sample(&mut self, d: Duration) {
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(u32::try_from(d.as_nanos()).unwrap_or(u32::MAX));
        }
    }

    fn report(&mut self, name: &str) {
        let samples = &mut self.samples;
        samples.sort_unstable();
        let pct = |p: f64| samples.get(((samples.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
        let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / samples.len().max(1) as f64;
        eprintln!(
            "{name}: {} decisions, wall p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, mean {:.2} µs",
            samples.len(),
            f64::from(pct(0.50)) / 1000.0,
            f64::from(pct(0.99)) / 1000.0,
            f64::from(pct(0.999)) / 1000.0,
            mean / 1000.0,
        );
        samples.clear();
    }
}

/// Runs `cycles` and reports the whole-cycle rate in thread CPU time.
fn cpu_rate(name: &str, cycles: u64, cpu_ns: u64) {
    if cycles > 0 && cpu_ns > 0 {
        eprintln!(
            "{name}: whole cycle (decision + accept + next contact) {:.2} µs CPU → {:.0} per CPU-second",
            cpu_ns as f64 / cycles as f64 / 1000.0,
            cycles as f64 * 1e9 / cpu_ns as f64
        );
    }
}

fn agent_freed(c: &mut Criterion) {
    let mut group = c.benchmark_group("agent_freed_with_100k_waiting");
    group.sample_size(20);
    for agents in [1_000usize, 10_000] {
        let mut load = Load::new(agents, WAITING);
        let mut next = 0usize;
        let (mut cycles, mut cpu_total) = (0u64, 0u64);
        group.bench_with_input(BenchmarkId::from_parameter(agents), &agents, |b, _| {
            b.iter_custom(|iters| {
                let (started, cpu) = (Instant::now(), thread_cpu_ns());
                for _ in 0..iters {
                    // Walk the busy agents in order; skip the rare one left without work.
                    while load.current[next].is_none() {
                        next = (next + 1) % agents;
                    }
                    load.agent_freed(black_box(next));
                    next = (next + 1) % agents;
                }
                cycles += iters;
                cpu_total += thread_cpu_ns() - cpu;
                started.elapsed()
            });
        });
        let name = format!("agent_freed_with_100k_waiting/{agents} agents");
        load.report(&name);
        cpu_rate(&name, cycles, cpu_total);
        eprintln!("  still waiting: {}", load.acd.live_contacts() - agents);
    }
    group.finish();
}

fn contact_arrived(c: &mut Criterion) {
    let mut group = c.benchmark_group("contact_arrived_with_free_agents");
    group.sample_size(20);
    for agents in [1_000usize, 10_000] {
        let mut load = Load::new(agents, 0);
        for i in 0..agents {
            if let Some(c) = load.current[i].take() {
                load.acd.handle(load.now(), Input::ContactEnded(c)).expect("contact ends");
            }
        }
        while load.acd.poll_output().is_some() {}
        let (mut cycles, mut cpu_total) = (0u64, 0u64);
        group.bench_with_input(BenchmarkId::from_parameter(agents), &agents, |b, _| {
            b.iter_custom(|iters| {
                let (started, cpu) = (Instant::now(), thread_cpu_ns());
                for _ in 0..iters {
                    load.contact_arrived();
                }
                cycles += iters;
                cpu_total += thread_cpu_ns() - cpu;
                started.elapsed()
            });
        });
        let name = format!("contact_arrived_with_free_agents/{agents} agents");
        load.report(&name);
        cpu_rate(&name, cycles, cpu_total);
    }
    group.finish();
}

criterion_group!(benches, agent_freed, contact_arrived);
criterion_main!(benches);
