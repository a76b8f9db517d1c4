//! Erlang C: the M/M/N queue formulas used to check staffing, bound the EWT and verify the
//! simulator. Pure functions on `f64`; they never panic and return `None` where the formula has
//! no finite answer (N ≤ A, non-positive inputs).
//!
//! Stability: P(wait) is computed through the Erlang B recurrence
//! `B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1))`, then `C = N·B / (N − A·(1 − B))`, which never
//! forms `A^N` or `N!` and stays accurate for N in the thousands.

/// Most agents [`agents_needed`] will try before giving up.
pub const MAX_AGENTS_SEARCHED: u32 = 100_000;

/// Offered traffic in Erlangs: arrival rate (per second) × AHT (seconds).
pub fn traffic_erlangs(arrivals_per_s: f64, aht_s: f64) -> f64 {
    arrivals_per_s * aht_s
}

/// Erlang B blocking probability for `agents` servers and `traffic` Erlangs.
pub fn erlang_b(agents: u32, traffic: f64) -> Option<f64> {
    if !(traffic.is_finite() && traffic >= 0.0) {
        return None;
    }
    let mut b = 1.0_f64;
    for k in 1..=agents {
        b = traffic * b / (f64::from(k) + traffic * b);
    }
    Some(b)
}

/// Probability that an arriving contact has to wait, C(N, A). `None` when N ≤ A (the queue grows without bound).
pub fn p_wait(agents: u32, traffic: f64) -> Option<f64> {
    let n = f64::from(agents);
    if agents == 0 || traffic <= 0.0 || n <= traffic {
        return if agents > 0 && traffic == 0.0 { Some(0.0) } else { None };
    }
    let b = erlang_b(agents, traffic)?;
    Some((n * b / (n - traffic * (1.0 - b))).clamp(0.0, 1.0))
}

/// Service level: the share of contacts answered within `threshold_s`. `SL(T) = 1 − C · e^{−(N−A)·T/AHT}`.
pub fn service_level(agents: u32, traffic: f64, aht_s: f64, threshold_s: f64) -> Option<f64> {
    if aht_s <= 0.0 {
        return None;
    }
    let c = p_wait(agents, traffic)?;
    let n = f64::from(agents);
    Some((1.0 - c * (-(n - traffic) * threshold_s / aht_s).exp()).clamp(0.0, 1.0))
}

/// Average speed of answer in seconds: `ASA = C · AHT / (N − A)`.
pub fn asa_s(agents: u32, traffic: f64, aht_s: f64) -> Option<f64> {
    if aht_s <= 0.0 {
        return None;
    }
    let c = p_wait(agents, traffic)?;
    Some(c * aht_s / (f64::from(agents) - traffic))
}

/// Mean wait of the contacts that do wait: `AHT / (N − A)`.
pub fn mean_wait_of_delayed_s(agents: u32, traffic: f64, aht_s: f64) -> Option<f64> {
    let n = f64::from(agents);
    if aht_s <= 0.0 || n <= traffic {
        return None;
    }
    Some(aht_s / (n - traffic))
}

/// Fewest agents reaching `target_sl` (0..=1) within `threshold_s`. `None` for impossible inputs.
pub fn agents_needed(arrivals_per_s: f64, aht_s: f64, threshold_s: f64, target_sl: f64) -> Option<u32> {
    if !(0.0..1.0).contains(&target_sl) || aht_s <= 0.0 || arrivals_per_s < 0.0 {
        return None;
    }
    let traffic = traffic_erlangs(arrivals_per_s, aht_s);
    // Start just above the traffic: fewer agents can never keep up.
    let start = (traffic.floor() as u32).saturating_add(1).max(1);
    (start..=MAX_AGENTS_SEARCHED)
        .find(|&n| service_level(n, traffic, aht_s, threshold_s).is_some_and(|sl| sl >= target_sl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_wait_matches_the_textbook_value_for_ten_agents_at_eight_erlangs() {
        // Classic table value: C(10, 8) ≈ 0.4092.
        let c = p_wait(10, 8.0).unwrap_or(f64::NAN);
        assert!((c - 0.4092).abs() < 1e-3, "{c}");
    }

    #[test]
    fn agents_needed_for_80_20_matches_the_textbook_example() {
        // 360 calls per hour... (worked example: 10 calls/min, AHT 180 s, 20 s, 80%) needs 35 agents.
        let n = agents_needed(10.0 / 60.0, 180.0, 20.0, 0.8);
        assert_eq!(n, Some(35));
    }

    #[test]
    fn erlang_c_stays_finite_for_hundreds_of_agents() {
        let c = p_wait(500, 480.0).unwrap_or(f64::NAN);
        assert!(c.is_finite() && c > 0.0 && c < 1.0, "{c}");
        let sl = service_level(500, 480.0, 300.0, 20.0).unwrap_or(f64::NAN);
        assert!(sl.is_finite() && (0.0..=1.0).contains(&sl));
    }

    #[test]
    fn overloaded_queue_has_no_finite_wait() {
        assert_eq!(p_wait(5, 5.0), None);
        assert_eq!(asa_s(4, 5.0, 60.0), None);
    }

    #[test]
    fn asa_is_p_wait_times_delayed_mean_wait() {
        let asa = asa_s(10, 8.0, 60.0).unwrap_or(f64::NAN);
        let expected = p_wait(10, 8.0).unwrap_or(f64::NAN) * 60.0 / 2.0;
        assert!((asa - expected).abs() < 1e-9);
    }
}
