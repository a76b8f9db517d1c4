//! A long seeded simulation through the real engine, printing the KPI figures next to Erlang C.
//! `cargo run --release -p acd --example day_simulation [agents] [days]`

use acd::erlang;
use acd::sim::{SimConfig, simulate};

fn main() {
    let mut args = std::env::args().skip(1);
    let agents: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let days: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30.0);
    for patience in [None, Some(90.0)] {
        let cfg = SimConfig {
            seed: 42,
            agents,
            arrivals_per_s: 8.0 / 60.0 * f64::from(agents) / 10.0,
            mean_handle_s: 60.0,
            mean_patience_s: patience,
            duration_s: days * 86_400.0,
            warmup_s: 3_600.0,
            sl_threshold_s: 20.0,
        };
        let started = std::time::Instant::now();
        let r = simulate(&cfg);
        let a = erlang::traffic_erlangs(cfg.arrivals_per_s, cfg.mean_handle_s);
        println!("patience {patience:?} s, {agents} agents, {a:.2} Erlangs, {days} days");
        println!("  offered {} answered {} abandoned {}", r.offered, r.answered, r.abandoned);
        println!(
            "  SL(20s) {:.4} (Erlang C {:.4})",
            r.service_level,
            erlang::service_level(agents, a, cfg.mean_handle_s, 20.0).unwrap_or(f64::NAN)
        );
        println!(
            "  ASA {:.3} ± {:.3} s (Erlang C {:.3})",
            r.asa_s.mean,
            r.asa_s.half_width,
            erlang::asa_s(agents, a, cfg.mean_handle_s).unwrap_or(f64::NAN)
        );
        println!(
            "  P(wait) {:.4} ± {:.4} (Erlang C {:.4})",
            r.p_wait.mean,
            r.p_wait.half_width,
            erlang::p_wait(agents, a).unwrap_or(f64::NAN)
        );
        println!("  abandon rate {:.4}, occupancy {:.4}", r.abandon_rate, r.occupancy);
        println!("  {} engine calls in {:?}", r.engine_calls, started.elapsed());
    }
}
