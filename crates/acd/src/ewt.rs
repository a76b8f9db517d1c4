//! Expected wait time (EWT) per queue and position, from recent handle times and arrivals.
//!
//! Method, for a contact at position `p` (1 = next to be served) in a queue with `N` agents
//! serving it (logged in, not Away) and a recent average handle time `AHT_recent`:
//!
//! `EWT(p) = p × AHT_recent / N`, at most the queue's `max_wait`.
//!
//! This is exact for first-come-first-served with all `N` agents busy and exponential handle
//! times (agents free up one every `AHT/N` on average; a contact waits for the `p`-th), and a
//! contact is only announced when it has to wait, i.e. when the agents that could take it are
//! busy. With nobody serving, the EWT is the queue's `max_wait` (unknown, as long as allowed).
//!
//! Erlang C for the queue's staffed agents and recent load `A = λ × AHT_recent` is published
//! next to it ([`QueueLoad::erlang_c_asa`]): the steady-state average wait, `None` when
//! `N ≤ A` (the queue grows). Note on KPI.md's "bounded by Erlang C": Erlang C's mean wait of a
//! delayed contact, `AHT / (N − A)`, is never below `AHT / N`, so as an upper bound on `p × AHT / N`
//! it would never bind; the engine therefore does not pretend to apply it and reports the Erlang C
//! figure separately instead.
//!
//! Windows: `AHT_recent` is an exponentially weighted moving average of handle time (answer to
//! end of wrap-up) with weight 1/[`EWMA_SAMPLES`] per contact, starting from the queue's
//! `default_handle_time`; `λ` is the same kind of average over inter-arrival times.
//! This module never reads a clock: times come in as arguments.

use model::{DurationMs, Timestamp};

use crate::erlang;

/// Effective number of recent samples in the moving averages.
pub const EWMA_SAMPLES: f64 = 32.0;

/// Recent handle time and arrival rate of one queue.
#[derive(Debug, Clone)]
pub struct QueueLoad {
    aht_ms: f64,
    interarrival_ms: Option<f64>,
    last_arrival: Option<Timestamp>,
}

impl QueueLoad {
    pub fn new(default_handle_time: DurationMs) -> Self {
        Self { aht_ms: default_handle_time.as_ms() as f64, interarrival_ms: None, last_arrival: None }
    }

    pub fn record_handle_time(&mut self, handle: DurationMs) {
        self.aht_ms += (handle.as_ms() as f64 - self.aht_ms) / EWMA_SAMPLES;
    }

    pub fn record_arrival(&mut self, now: Timestamp) {
        if let Some(last) = self.last_arrival {
            let gap = now.since(last).as_ms() as f64;
            self.interarrival_ms = Some(match self.interarrival_ms {
                None => gap,
                Some(avg) => avg + (gap - avg) / EWMA_SAMPLES,
            });
        }
        self.last_arrival = Some(now);
    }

    pub fn aht(&self) -> DurationMs {
        DurationMs::from_ms(self.aht_ms.max(0.0) as u64)
    }

    /// Offered load in Erlangs, when enough arrivals were seen.
    pub fn traffic_erlangs(&self) -> Option<f64> {
        let gap = self.interarrival_ms?;
        (gap > 0.0).then(|| self.aht_ms / gap)
    }

    /// EWT for position `position` (1-based) with `serving` agents; see the module comment.
    pub fn ewt(&self, position: u32, serving: u32, max_wait: DurationMs) -> DurationMs {
        if serving == 0 {
            return max_wait;
        }
        let ms = f64::from(position) * self.aht_ms / f64::from(serving);
        DurationMs::from_ms((ms.max(0.0) as u64).min(max_wait.as_ms()))
    }

    /// Erlang C average speed of answer for `staffed` agents at the recent load; `None` before
    /// two arrivals were seen or when the queue is overloaded (`staffed ≤ A`).
    pub fn erlang_c_asa(&self, staffed: u32) -> Option<DurationMs> {
        let a = self.traffic_erlangs()?;
        let asa_s = erlang::asa_s(staffed, a, self.aht_ms / 1000.0)?;
        Some(DurationMs::from_ms((asa_s * 1000.0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewt_is_position_times_aht_over_serving_agents() {
        let load = QueueLoad::new(DurationMs::from_secs(120));
        assert_eq!(load.ewt(3, 6, DurationMs::from_secs(3600)), DurationMs::from_secs(60));
    }

    #[test]
    fn ewt_with_nobody_serving_is_the_max_wait() {
        let load = QueueLoad::new(DurationMs::from_secs(120));
        assert_eq!(load.ewt(1, 0, DurationMs::from_secs(600)), DurationMs::from_secs(600));
    }

    #[test]
    fn ewt_never_exceeds_max_wait() {
        let load = QueueLoad::new(DurationMs::from_secs(600));
        assert_eq!(load.ewt(100, 1, DurationMs::from_secs(900)), DurationMs::from_secs(900));
    }

    #[test]
    fn erlang_c_asa_uses_the_recent_load() {
        let mut load = QueueLoad::new(DurationMs::from_secs(60));
        for i in 0..100 {
            load.record_arrival(Timestamp::from_unix_ms(i * 7_500)); // 8 per minute
        }
        // 8 Erlangs on 10 agents: ASA = C(10, 8) × 60 s / 2 ≈ 12.3 s.
        let asa = load.erlang_c_asa(10).map(|d| d.as_ms());
        assert!(asa.is_some_and(|ms| (12_000..12_600).contains(&ms)), "{asa:?}");
        assert_eq!(load.erlang_c_asa(8), None);
    }

    #[test]
    fn recent_handle_times_pull_the_average() {
        let mut load = QueueLoad::new(DurationMs::from_secs(100));
        for _ in 0..200 {
            load.record_handle_time(DurationMs::from_secs(40));
        }
        assert!(load.aht().as_secs() <= 41, "{:?}", load.aht());
    }
}
