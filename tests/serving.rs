//! Queue-aware serving (issue 12): the issue's table from `breakeven run`'s library and binary,
//! the fast sampler against the plain per-hour one for queue fleets, latency statistics in the
//! run's outputs, and the fluid rule kept where a scenario asks for it.

use breakeven::engine::{self, Engine, RunConfig, RunResult, Sampler};
use breakeven::ids::OptionId;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;

fn engine(text: &str) -> Engine {
    let cat = Catalogue::builtin().expect("built-in catalogue");
    let s = match Scenario::parse(text, "test.toml", "test", &cat) {
        Ok(s) => s,
        Err(e) => panic!("scenario does not load:\n{e}"),
    };
    Engine::new(s, &cat).expect("scenario compiles")
}

fn run(e: &Engine, cfg: &RunConfig) -> RunResult {
    engine::run(e, cfg, engine::unwatched()).expect("run succeeds")
}

/// klein 4B on H100 at 0.57 s, one 1 MP bucket, flat Poisson demand of `monthly` images.
fn klein(monthly: f64, gpus: u32, overflow: &str) -> String {
    format!(
        r#"
horizon_months = 2
[demand]
monthly = {monthly}
profile = "flat"
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = {{ policy = "fixed", gpus = {gpus} }}
{overflow}
"#
    )
}

/// Images a month that load `gpus` H100s at `rho` with 0.57 s images.
fn at_load(rho: f64, gpus: u32) -> f64 {
    rho * gpus as f64 * 3600.0 / 0.57 * 730.0
}

const AT_ONCE: &str = "overflow = \"bfl/flux-2-klein-4b\"";
const AFTER_10: &str = "overflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 10";

/// The issue's tolerances (as the queueing module's agreement with its simulation): overflow
/// within 10% relative, or 0.3 points when under 3%; latency quantiles within 15%.
fn overflow_within(got: f64, want: f64) -> bool {
    if want < 0.03 {
        (got - want).abs() <= 0.003
    } else {
        (got / want - 1.0).abs() <= 0.10
    }
}

#[test]
fn issue_table_one_h100_overflow_at_once() {
    let e = engine(&klein(1_000_000.0, 1, AT_ONCE));
    let r = run(&e, &RunConfig::new(50, 1));
    let ov = r.options[0].overflow.value();
    // Erlang B: a = 1,000,000 / 730 / 3600 × 0.57 = 0.2169, B = a / (1 + a) = 17.8%.
    assert!(overflow_within(ov, 0.178), "{ov}");
    assert!((ov - 0.1784).abs() < 0.002, "{ov}");
}

#[test]
fn issue_table_two_h100_overflow_at_once() {
    let e = engine(&klein(4_000_000.0, 2, AT_ONCE));
    let r = run(&e, &RunConfig::new(50, 1));
    let ov = r.options[0].overflow.value();
    assert!(overflow_within(ov, 0.168), "{ov}");
}

#[test]
fn issue_table_one_h100_at_90_percent_after_ten_seconds() {
    let e = engine(&klein(at_load(0.9, 1), 1, AFTER_10));
    let r = run(&e, &RunConfig::new(50, 1));
    let ov = r.options[0].overflow.value();
    // The simulation in src/queue/des.rs: 0.26 ± 0.01%; the issue: ≈ 0.2%.
    assert!(overflow_within(ov, 0.0026), "{ov}");
    assert!(ov > 0.0015 && ov < 0.0035, "{ov}");
}

#[test]
fn issue_table_one_h100_at_80_percent_never_overflows_and_waits() {
    let e = engine(&klein(at_load(0.8, 1), 1, ""));
    let r = run(&e, &RunConfig::new(50, 1));
    assert_eq!(r.options[0].overflow.value(), 0.0);
    let [p50, p95, p99] = e
        .latency_quantiles(OptionId(0), &r.options[0])
        .expect("a fleet has latency");
    // M/D/1 at 80%: p95 wait ≈ 3.77 s; latency is the wait plus the 0.57 s image.
    let p95_wait = p95 - 0.57;
    assert!((p95_wait / 3.77 - 1.0).abs() < 0.15, "p95 wait {p95_wait}");
    assert!(p50 >= 0.57 && p50 < p95 && p95 < p99, "{p50} {p95} {p99}");
}
