//! Agreement of the model with the request-level simulation (tests only): overflow share
//! within 10% relative (0.3 percentage points when under 3%) and p95 latency within 15%,
//! over utilisations, fleet sizes, deterministic and mixed service, and the three policies.
//!
//! The default grid is a representative part that runs in a few seconds; the full grid
//! (utilisations 0.3–0.98, c = 1, 2, 4, 8, 16) is `#[ignore]`d and run with
//! `cargo test --release --lib queue::agreement -- --ignored --nocapture`, which prints the
//! table summarised in the module doc.

use super::des::{simulate, DesConfig, DesResult};
use super::*;

fn w1() -> ServiceMix {
    ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).unwrap()
}

fn mixes() -> [(&'static str, ServiceMix); 2] {
    [
        ("0.57 s", ServiceMix::deterministic(0.57).unwrap()),
        ("W1 mix", w1()),
    ]
}

const POLICIES: [Policy; 3] = [
    Policy::OverflowAtOnce,
    Policy::OverflowAfter {
        max_wait_seconds: 10.0,
    },
    Policy::NeverOverflow,
];

/// Errors of one case: overflow (relative, or absolute below 3%) and p95 (relative), each
/// as a share of its tolerance, so ≤ 1 passes.
struct Errors {
    overflow: f64,
    p95: f64,
    p95_rel: f64,
    des: DesResult,
    model: QueueHour,
}

fn compare(
    c: u32,
    rho: f64,
    mix: &ServiceMix,
    policy: Policy,
    requests: usize,
    seed: u64,
) -> Errors {
    let lam = rho * c as f64 / mix.mean();
    let model = QueueHour::solve(c, lam, mix, policy);
    let des = simulate(&DesConfig {
        servers: c,
        arrival_rate: lam,
        mix: mix.clone(),
        policy,
        requests,
        warmup: requests / 20,
        batches: 20,
        seed,
    });
    let (m, d) = (model.overflow_share, des.overflow_share);
    let overflow = if d < 0.03 {
        (m - d).abs() / 0.003
    } else {
        (m / d - 1.0).abs() / 0.10
    };
    let p95_rel = model.latency_quantile(0.95) / des.latency_quantile(0.95) - 1.0;
    Errors {
        overflow,
        p95: p95_rel.abs() / 0.15,
        p95_rel,
        des,
        model,
    }
}

fn run_grid(
    servers: &[u32],
    rhos: &[f64],
    policies: &[Policy],
    requests: impl Fn(f64) -> usize,
    print: bool,
) {
    let mut worst: f64 = 0.0;
    for (mi, (name, mix)) in mixes().iter().enumerate() {
        for (pi, &policy) in policies.iter().enumerate() {
            for &c in servers {
                for &rho in rhos {
                    let seed = 1
                        + (mi * 1000 + pi * 100 + c as usize) as u64 * 1000
                        + (rho * 1000.0) as u64;
                    let e = compare(c, rho, mix, policy, requests(rho), seed);
                    if print {
                        println!(
                            "{name} | {policy:?} | c={c} | ρ={rho} | overflow {:.4}% vs {:.4}% ± {:.4} | p95 {:.3} vs {:.3} ± {:.3} s ({:+.1}%)",
                            100.0 * e.model.overflow_share,
                            100.0 * e.des.overflow_share,
                            100.0 * e.des.overflow_share_se,
                            e.model.latency_quantile(0.95),
                            e.des.latency_quantile(0.95),
                            e.des.p95_se(),
                            100.0 * e.p95_rel,
                        );
                    }
                    assert!(
                        e.overflow <= 1.0,
                        "{name} {policy:?} c={c} ρ={rho}: overflow {} vs {}",
                        e.model.overflow_share,
                        e.des.overflow_share
                    );
                    assert!(
                        e.p95 <= 1.0,
                        "{name} {policy:?} c={c} ρ={rho}: p95 {} vs {}",
                        e.model.latency_quantile(0.95),
                        e.des.latency_quantile(0.95)
                    );
                    worst = worst.max(e.overflow).max(e.p95);
                }
            }
        }
    }
    if print {
        println!("worst error as a share of its tolerance: {worst:.3}");
    }
}

/// Requests simulated in the default grid: the p95's standard error is at most about 4%
/// there (c = 1 at ρ = 0.9 with the W1 mix), the overflow's about 0.06 points.
const DEFAULT_REQUESTS: usize = 300_000;

#[test]
fn agrees_with_simulation_overflow_at_once() {
    run_grid(
        &[1, 4, 16],
        &[0.3, 0.9],
        &POLICIES[..1],
        |_| DEFAULT_REQUESTS,
        false,
    );
}

#[test]
fn agrees_with_simulation_after_ten_seconds() {
    run_grid(
        &[1, 4, 16],
        &[0.5, 0.9],
        &POLICIES[1..2],
        |_| DEFAULT_REQUESTS,
        false,
    );
}

#[test]
fn agrees_with_simulation_never() {
    run_grid(
        &[1, 4, 16],
        &[0.5, 0.9],
        &POLICIES[2..],
        |_| DEFAULT_REQUESTS,
        false,
    );
}

/// The full grid. Lengths grow near saturation so that the simulation's own standard error
/// stays at or under about 2% of the p95 (24M requests at ρ = 0.98, c = 1).
#[test]
#[ignore]
fn agrees_with_simulation_full_grid() {
    let requests = |rho: f64| {
        if rho >= 0.98 {
            24_000_000
        } else if rho >= 0.95 {
            8_000_000
        } else {
            2_000_000
        }
    };
    run_grid(
        &[1, 2, 4, 8, 16],
        &[0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
        &POLICIES,
        requests,
        true,
    );
}

/// Outside the brief's grid: a long-tailed mix (SCV 4.7, where β = 1 and Erlang C's chance
/// to wait is kept). The full grid of it agreed within 3% on the p95 (run by hand).
#[test]
fn agrees_with_simulation_high_variability() {
    let mix = ServiceMix::new(&[(0.9, 0.3), (0.1, 8.0)]).unwrap();
    for policy in POLICIES {
        let e = compare(4, 0.9, &mix, policy, DEFAULT_REQUESTS, 77);
        assert!(
            e.overflow <= 1.0 && e.p95 <= 1.0,
            "{policy:?}: {} {}",
            e.overflow,
            e.p95
        );
    }
}

/// Thresholds shorter than a service time, where β fades in (the worst place found: c = 8,
/// ρ = 0.7, X = 0.1 s, 5.8% low).
#[test]
fn agrees_with_simulation_short_thresholds() {
    let mix = ServiceMix::deterministic(0.57).unwrap();
    for (c, rho, x) in [(8u32, 0.7, 0.1), (4, 0.9, 0.3), (2, 0.9, 1.0)] {
        let policy = Policy::OverflowAfter {
            max_wait_seconds: x,
        };
        let e = compare(c, rho, &mix, policy, DEFAULT_REQUESTS, 31 + c as u64);
        assert!(
            e.overflow <= 1.0 && e.p95 <= 1.0,
            "c={c} ρ={rho} X={x}: {} {}",
            e.overflow,
            e.p95
        );
    }
}
