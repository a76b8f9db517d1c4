//! Deterministic seeded simulation through the real engine: a day of traffic reports the KPI
//! figures, and an M/M/N queue without abandons agrees with Erlang C within the simulation's
//! 99% confidence interval. Kept small so it runs in a few seconds in debug builds; the long
//! run is the `day_simulation` example.

use acd::erlang;
use acd::sim::{SimConfig, simulate};

fn day() -> SimConfig {
    SimConfig {
        seed: 2026,
        agents: 10,
        arrivals_per_s: 8.0 / 60.0,
        mean_handle_s: 60.0,
        mean_patience_s: Some(90.0),
        duration_s: 8.0 * 3600.0,
        warmup_s: 600.0,
        sl_threshold_s: 20.0,
    }
}

#[test]
fn a_day_of_traffic_reports_service_level_asa_abandons_and_occupancy() {
    let r = simulate(&day());
    assert!(r.offered > 3_000, "{r:?}");
    assert_eq!(r.offered, r.answered + r.abandoned + (r.offered - r.answered - r.abandoned));
    assert!(r.abandoned > 0 && r.abandon_rate < 0.2, "{r:?}");
    assert!((0.5..1.0).contains(&r.service_level), "{r:?}");
    assert!(r.asa_s.mean > 0.0 && r.asa_s.mean < 60.0, "{r:?}");
    // Offered load 8 Erlangs on 10 agents, minus abandons: occupancy a bit under 80%.
    assert!((0.65..0.82).contains(&r.occupancy), "{r:?}");
}

#[test]
fn the_same_seed_gives_the_same_day() {
    let mut short = day();
    short.duration_s = 3600.0;
    assert_eq!(simulate(&short), simulate(&short));
}

#[test]
fn patience_makes_customers_abandon_more_when_understaffed() {
    let mut few = day();
    few.duration_s = 4.0 * 3600.0;
    few.agents = 8;
    let mut many = few.clone();
    many.agents = 12;
    assert!(simulate(&few).abandon_rate > simulate(&many).abandon_rate);
}

#[test]
fn mmn_without_abandons_agrees_with_erlang_c() {
    let cfg = SimConfig {
        seed: 7,
        agents: 10,
        arrivals_per_s: 8.0 / 60.0,
        mean_handle_s: 60.0,
        mean_patience_s: None,
        duration_s: 600_000.0,
        warmup_s: 3_600.0,
        sl_threshold_s: 20.0,
    };
    let r = simulate(&cfg);
    let traffic = erlang::traffic_erlangs(cfg.arrivals_per_s, cfg.mean_handle_s);
    let p_wait = erlang::p_wait(cfg.agents, traffic).unwrap_or(f64::NAN);
    let asa = erlang::asa_s(cfg.agents, traffic, cfg.mean_handle_s).unwrap_or(f64::NAN);
    assert_eq!(r.abandoned, 0);
    assert!(r.p_wait.contains(p_wait), "P(wait) Erlang C {p_wait:.4}, simulated {:?}", r.p_wait);
    assert!(r.asa_s.contains(asa), "ASA Erlang C {asa:.2} s, simulated {:?}", r.asa_s);
    let sl = erlang::service_level(cfg.agents, traffic, cfg.mean_handle_s, cfg.sl_threshold_s).unwrap_or(f64::NAN);
    assert!(r.answered_within_t.contains(sl), "SL Erlang C {sl:.4}, simulated {:?}", r.answered_within_t);
    // The interval must be tight enough to mean something.
    assert!(r.asa_s.half_width < 0.25 * asa, "{:?}", r.asa_s);
}
