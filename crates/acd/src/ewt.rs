//! Expected wait time (EWT) per queue and position, from recent handle times and arrivals.
//!
//! Method, for a contact at position `p` (1 = next to be served) in a queue with `N` agents
//! serving it (logged in, not Away) and a recent average handle time `AHT_recent`:
//!
//! `EWT(p) = p × AHT_recent / N`
//!
//! This is exact for first-come-first-served with all `N` agents busy and exponential handle
//! times (agents free up one every `AHT/N` on average; a contact waits for the `p`-th).
//! It is then bounded by Erlang C for the queue's staffed agents: when the recent offered load
//! `A = λ × AHT_recent` is below `N`, a delayed contact waits on average `W = AHT / (N − A)`
//! (Erlang C), and the estimate is capped at `p × W`; it is always capped at the queue's
//! `max_wait`. With nobody serving, the EWT is the queue's `max_wait` (unknown, as long as allowed).
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
        let p = f64::from(position);
        let mut ms = p * self.aht_ms / f64::from(serving);
        if let Some(wait_s) =
            self.traffic_erlangs().and_then(|a| erlang::mean_wait_of_delayed_s(serving, a, self.aht_ms / 1000.0))
        {
            ms = ms.min(p * wait_s * 1000.0);
        }
        DurationMs::from_ms((ms.max(0.0) as u64).min(max_wait.as_ms()))
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
    fn recent_handle_times_pull_the_average() {
        let mut load = QueueLoad::new(DurationMs::from_secs(100));
        for _ in 0..200 {
            load.record_handle_time(DurationMs::from_secs(40));
        }
        assert!(load.aht().as_secs() <= 41, "{:?}", load.aht());
    }
}
