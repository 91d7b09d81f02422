//! The engine against answers known in closed form, against its own plain sampler, and against
//! itself at other thread counts.

use crate::common::engine;
use crate::common::flat_scenario;
use breakeven::engine::{self, Engine, RunConfig, RunResult, Sampler};
use breakeven::ids::OptionId;
use breakeven::Catalogue;

fn run(e: &Engine, cfg: &RunConfig) -> RunResult {
    engine::run(e, cfg, engine::unwatched()).expect("run succeeds")
}

fn totals(e: &Engine, samples: u64) -> Vec<f64> {
    let r = run(e, &RunConfig::new(samples, 7));
    r.options.iter().map(|o| o.total.mean()).collect()
}

/// Every input fixed and arrivals fluid: flat profile, 1 MP images, and fleets served by the
/// fluid rule (below capacity nothing waits, above it the excess overflows), whose closed forms
/// these are; the queue's are in tests/serving.rs.
fn fixed(volume: f64, months: u32, options: &str) -> String {
    flat_scenario(volume, months, "serving = \"fluid\"", options)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

#[test]
fn api_cost_is_volume_times_price_exactly() {
    let e = engine(&fixed(
        140_000.0,
        3,
        "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"",
    ));
    let t = totals(&e, 3);
    // 3 months × 140,000 × $0.014.
    assert_eq!(t[0], 5880.0);
}

#[test]
fn fixed_on_demand_fleet_costs_its_hours_and_people_exactly() {
    let opt = r#"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 2 }
ops_hours_per_month = 10
ops_usd_per_hour = "100"
"#;
    let e = engine(&fixed(500_000.0, 2, opt));
    let r = run(&e, &RunConfig::new(2, 1));
    // 2 GPUs × 730 h × $2.69 × 2 months + 10 h × $100 × 2 months.
    assert_eq!(r.options[0].total.mean(), 2.0 * 730.0 * 2.69 * 2.0 + 2000.0);
    assert_eq!(r.options[0].total.mean(), 9854.8);
    // 500,000 images × 0.57 s over 2 GPUs × 730 h × 3600 s.
    let util = 500_000.0 * 0.57 / (2.0 * 730.0 * 3600.0);
    assert!(close(r.options[0].utilisation.value(), util, 1e-12));
    assert_eq!(r.options[0].overflow.value(), 0.0);
}

#[test]
fn reserved_fleet_costs_its_committed_rate() {
    let opt = r#"
[[option]]
id = "l40s-reserved"
selfhost = "flux-2-klein-4b"
gpu = "l40s"
offer = "aws-reserved-1yr"
payment = "reserved"
fleet = { policy = "fixed", gpus = 1 }
seconds_at_1mp = 1.5
"#;
    let e = engine(&fixed(10_000.0, 12, opt));
    let t = totals(&e, 1);
    assert!(close(t[0], 12.0 * 730.0 * 1.17, 1e-12), "{}", t[0]);
}

#[test]
fn hybrid_overflows_exactly_the_share_over_capacity() {
    // One GPU: 3,600 s of capacity an hour; each hour brings 2 × that much work, so half of
    // every hour's images overflow to the API.
    let seconds = 0.57;
    let per_hour = 2.0 * 3600.0 / seconds;
    let volume = per_hour * 730.0;
    let opt = r#"
[[option]]
id = "hybrid"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
overflow = "bfl/flux-2-klein-4b"
"#;
    let e = engine(&fixed(volume, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    let expected = 730.0 * 2.69 + volume / 2.0 * 0.014;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
    assert!(close(r.options[0].overflow.value(), 0.5, 1e-12));
    assert!(close(r.options[0].utilisation.value(), 1.0, 1e-12));
}

#[test]
fn spot_interruptions_reduce_capacity_not_the_bill() {
    // 0.02 interruptions an hour × 600 s lost = 12 s of every GPU-hour lost.
    let opt = r#"
[[option]]
id = "spot"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "vast-interruptible"
payment = "spot"
fleet = { policy = "fixed", gpus = 1 }
overflow = "bfl/flux-2-klein-4b"
"#;
    let per_hour = 4000.0 / 0.57; // 4,000 GPU-seconds of work an hour
    let volume = per_hour * 730.0;
    let e = engine(&fixed(volume, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    let cat = Catalogue::builtin().unwrap();
    let rate: f64 = cat
        .gpu("h100-sxm")
        .unwrap()
        .offer("vast-interruptible")
        .unwrap()
        .usd_per_hour
        .unwrap()
        .try_into()
        .unwrap();
    let capacity = 3600.0 - 0.02 * 600.0;
    let overflow = (4000.0 - capacity) / 4000.0;
    let expected = 730.0 * rate + volume * overflow * 0.014;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
    assert!(close(r.options[0].overflow.value(), overflow, 1e-12));
}

#[test]
fn queue_without_overflow_builds_a_backlog_and_waits() {
    let opt = r#"
[[option]]
id = "queue"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
"#;
    // 10% more work than capacity every hour: the backlog grows by 360 s an hour.
    let volume = 1.1 * 3600.0 / 0.57 * 730.0;
    let e = engine(&fixed(volume, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    assert!(close(r.options[0].total.mean(), 730.0 * 2.69, 1e-12));
    assert!(close(r.options[0].utilisation.value(), 1.0, 1e-12));
    // By the last hours the backlog is ~262,800 s: waits far beyond a day.
    assert!(
        r.options[0].p95_wait.mean() > 86_400.0,
        "{}",
        r.options[0].p95_wait.mean()
    );
}

#[test]
fn autoscaled_fleet_bills_the_gpus_it_needs() {
    // 2.5 GPUs of work at a target of 0.8 → ceil(2.5 / 0.8) = 4 GPUs every hour. The first
    // hour starts 4 GPUs, which lose their 5-minute start-up, and still cope.
    let opt = r#"
[[option]]
id = "auto"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 0, max = 8, target_utilisation = 0.8, scale_up_delay_minutes = 5, min_billed_hours = 1 }
overflow = "bfl/flux-2-klein-4b"
"#;
    let volume = 2.5 * 3600.0 / 0.57 * 730.0;
    let e = engine(&fixed(volume, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    assert!(
        close(r.options[0].total.mean(), 4.0 * 730.0 * 2.69, 1e-12),
        "{}",
        r.options[0].total.mean()
    );
    assert_eq!(r.options[0].overflow.value(), 0.0);
}

#[test]
fn autoscaled_fleet_is_capped_at_its_maximum() {
    let opt = r#"
[[option]]
id = "auto"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 1, max = 2, target_utilisation = 1.0, scale_up_delay_minutes = 0 }
overflow = "bfl/flux-2-klein-4b"
"#;
    // 3 GPUs of work: 2 run, a third of the images overflow.
    let volume = 3.0 * 3600.0 / 0.57 * 730.0;
    let e = engine(&fixed(volume, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    let expected = 2.0 * 730.0 * 2.69 + volume / 3.0 * 0.014;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
}

/// One serverless worker's hour by hand: requests arrive every 1/λ s on average; a busy period
/// starts warm when the idle gap before it (exponential, mean 1/λ) was under the timeout T,
/// else after the cold start C (probability q = e^{−λT}); its mean is (S + qC)/(1 − λS). The
/// worker is billed the busy period and the idle gap up to T: a share
/// (busy + (1 − q)/λ) / (busy + 1/λ) of the hour, plus half an increment per start.
fn one_worker_bill(per_hour: f64, service: f64, timeout: f64, cold: f64) -> (f64, f64) {
    let lam = per_hour / 3600.0;
    let q = (-lam * timeout).exp();
    let busy = (service + q * cold) / (1.0 - lam * service);
    let cycle = busy + 1.0 / lam;
    let starts = 3600.0 * q / cycle;
    let billed = 3600.0 * (busy + (1.0 - q) / lam) / cycle + starts * 0.5;
    (billed, starts / per_hour)
}

fn serverless(extra: &str) -> String {
    format!(
        r#"
[[option]]
id = "serverless"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-serverless-flex"
fleet = {{ policy = "serverless", max_workers = 1 }}
{extra}
"#
    )
}

#[test]
fn serverless_bills_a_worker_from_its_start_to_its_stop() {
    // 100 images an hour, one every 36 s on average: with RunPod's 5 s idle timeout and a
    // 20 s cold start most busy periods start cold.
    let e = engine(&fixed(100.0 * 730.0, 1, &serverless("")));
    let r = run(&e, &RunConfig::new(1, 1));
    let (billed, cold_share) = one_worker_bill(100.0, 0.57, 5.0, 20.0);
    let expected = 730.0 * billed * 0.00116;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
    // 58% of requests start the worker and wait its 20 s; waits are binned 6 to a decade, so
    // the 95th percentile reads as the top of the bin holding 20 s.
    assert!((0.55..0.6).contains(&cold_share), "{cold_share}");
    let p95 = r.options[0].p95_wait.mean();
    assert!((20.0..=21.6).contains(&p95), "{p95}");
}

/// A team's own cold start and idle timeout replace the catalogue's, in the same closed form.
#[test]
fn serverless_cold_start_and_idle_timeout_can_be_overridden() {
    let e = engine(&fixed(
        100.0 * 730.0,
        1,
        &serverless("cold_start_seconds = 8\nidle_timeout_seconds = 60"),
    ));
    let r = run(&e, &RunConfig::new(1, 1));
    let expected = 730.0 * one_worker_bill(100.0, 0.57, 60.0, 8.0).0 * 0.00116;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
}

/// Issue 14's cases: at 36 requests an hour the gaps between warm requests are billed. With
/// a 300 s idle timeout one worker is billed 95% of the hour, $2,900 a month (the old rule
/// billed busy time plus one cold start and timeout per start: $502); with a 3,600 s timeout
/// it never sleeps, $3,048 a month, the hour's whole 3,600 s; and at 360 requests an hour no
/// worker is billed more than the hour (the old rule billed 5,748 s).
#[test]
fn serverless_bills_warm_gaps_and_never_more_than_the_hour() {
    for (timeout, month) in [(300.0, 2_900.0), (3600.0, 3_048.48)] {
        let e = engine(&fixed(
            36.0 * 730.0,
            1,
            &serverless(&format!("idle_timeout_seconds = {timeout}")),
        ));
        let r = run(&e, &RunConfig::new(1, 1));
        let got = r.options[0].total.mean();
        let by_hand = 730.0 * one_worker_bill(36.0, 0.57, timeout, 20.0).0 * 0.00116;
        assert!(close(got, by_hand, 1e-9), "{timeout}: {got} vs {by_hand}");
        assert!((got - month).abs() < 1.0, "{timeout}: {got} vs {month}");
    }
    for per_hour in [360.0, 3600.0, 20_000.0] {
        let e = engine(&fixed(
            per_hour * 730.0,
            1,
            &serverless("idle_timeout_seconds = 300"),
        ));
        let r = run(&e, &RunConfig::new(1, 1));
        let most = 730.0 * 3600.0 * 0.00116;
        let got = r.options[0].total.mean();
        assert!(
            got <= most + 1e-6,
            "{per_hour}/h: {got} > one worker all month {most}"
        );
    }
}

/// A spot offer's interruption rate can be set by the scenario: capacity shrinks by the work
/// lost, the bill does not.
#[test]
fn spot_interruption_rate_can_be_overridden() {
    let opt = |rate: &str| {
        format!(
            r#"
[[option]]
id = "spot"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
payment = "spot"
fleet = {{ policy = "fixed", gpus = 1 }}
overflow = "bfl/flux-2-klein-4b"
interruptions_per_hour = {rate}
interruption_lost_seconds = 600
"#
        )
    };
    // 3,000 GPU-seconds of 1 MP work an hour against 3600 − 2 × 600 = 2,400 usable: a fifth
    // of each hour's images overflows.
    let volume = 3000.0 / 0.57 * 730.0;
    let e = engine(&fixed(volume, 1, &opt("2")));
    let r = run(&e, &RunConfig::new(1, 1));
    let share = r.options[0].overflow.value();
    assert!(close(share, 0.2, 1e-9), "overflow share {share}");
    let e = engine(&fixed(volume, 1, &opt("0")));
    let r = run(&e, &RunConfig::new(1, 1));
    assert_eq!(r.options[0].overflow.value(), 0.0);
}

#[test]
fn owned_fleet_costs_purchase_less_resale_power_and_hosting() {
    let opt = r#"
[[option]]
id = "owned"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
payment = "owned"
fleet = { policy = "fixed", gpus = 2 }
owned = { purchase_usd = "27000", system_usd = "3000", residual_share = 0.7, usd_per_kwh = "0.10", pue = 1.5, hosting_usd_per_month = "200", idle_power_share = 0.25 }
"#;
    let volume = 1_000_000.0;
    let e = engine(&fixed(volume, 2, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    let busy_h = volume * 0.57 / 3600.0;
    let gpu_h = 2.0 * 730.0;
    let kwh = 0.7 * 1.5 * (busy_h + 0.25 * (gpu_h - busy_h));
    // Two GPUs × ($27,000 + $3,000) bought, 70% of it back after two months.
    let running = kwh * 0.10 + 2.0 * 200.0;
    let expected = 2.0 * 30_000.0 * 0.3 + 2.0 * running;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-9),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
}

#[test]
fn licence_fee_and_overage_are_billed() {
    let opt = r#"
[[option]]
id = "dev"
selfhost = "flux-1-dev"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 2 }
"#;
    // 150,000 images: 50,000 over the self-serve licence's 100,000 at $0.01.
    let e = engine(&fixed(150_000.0, 1, opt));
    let r = run(&e, &RunConfig::new(1, 1));
    let expected = 2.0 * 730.0 * 2.69 + 999.0 + 50_000.0 * 0.01;
    assert!(
        close(r.options[0].total.mean(), expected, 1e-12),
        "{} vs {expected}",
        r.options[0].total.mean()
    );
    assert!(close(r.options[0].licence_overage.mean(), 50_000.0, 1e-12));
}

#[test]
fn mean_cost_under_random_demand_matches_its_expectation() {
    // Gamma demand with mean 200,000 a month, Poisson arrivals, 6 months: the API costs
    // 6 × 200,000 × $0.014 in expectation.
    let text = r#"
horizon_months = 6
[demand]
monthly = { dist = "gamma", mean = 200000, sd = 60000 }
profile = "business-hours"
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
"#;
    let e = engine(text);
    let r = run(&e, &RunConfig::new(4000, 11));
    let expected = 6.0 * 200_000.0 * 0.014;
    let (m, se) = (r.options[0].total.mean(), r.options[0].total.std_error());
    assert!(
        (m - expected).abs() < 4.0 * se,
        "mean {m} ± {se} vs {expected}"
    );
    // The fleet never saturates at this volume: its cost is fixed on every path.
    assert_eq!(
        r.options[1].total.quantile(0.0),
        r.options[1].total.quantile(1.0)
    );
}

const W1: &str = include_str!("../../scenarios/bench-w1.toml");

#[test]
fn same_seed_same_numbers_at_any_thread_count() {
    let e = engine(W1);
    let mut outs = Vec::new();
    for threads in [1, 2, 8] {
        let mut cfg = RunConfig::new(600, 3);
        cfg.threads = threads;
        let mut rows = Vec::new();
        let r = engine::run_with(
            &e,
            &cfg,
            engine::unwatched(),
            &|| e.new_result(),
            Some(&mut |b: &[engine::PathResult]| {
                rows.extend(b.iter().map(|p| serde_json::to_string(p).unwrap()));
                Ok(())
            }),
        )
        .unwrap();
        let stats: Vec<String> = r
            .options
            .iter()
            .map(|o| format!("{:?}", o.total.summary()))
            .collect();
        outs.push((rows, stats));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

/// The fast sampler (pooled hours, normal approximation) against the plain per-hour Poisson
/// sampler on W1 with demand pinned high, where the fleet saturates often and the Poisson noise
/// is all the randomness left: a bias in the shortcut would show here first.
#[test]
fn fast_sampler_agrees_with_the_reference_on_w1() {
    let e = engine(W1);
    let pins = |v0: f64| {
        let mut p = vec![None; e.scenario.inputs.len()];
        p[e.scenario.demand.monthly.0] = Some(v0);
        p[e.scenario.demand.growth.0] = Some(0.05);
        p
    };
    for v0 in [2_500_000.0, 3_500_000.0] {
        let mut results = Vec::new();
        for sampler in [Sampler::Fast, Sampler::Reference] {
            let mut cfg = RunConfig::new(120, 5);
            cfg.sampler = sampler;
            cfg.pins = pins(v0);
            results.push(run(&e, &cfg));
        }
        for o in 0..2 {
            let (a, b) = (&results[0].options[o].total, &results[1].options[o].total);
            let z = (a.mean() - b.mean()) / (a.std_error().powi(2) + b.std_error().powi(2)).sqrt();
            assert!(
                z.abs() < 4.0,
                "v0 {v0} option {o}: fast {} ± {} vs reference {} ± {} (z = {z})",
                a.mean(),
                a.std_error(),
                b.mean(),
                b.std_error()
            );
        }
        // The hybrid's overflow is where the shortcut could matter: check its spread too.
        let (a, b) = (&results[0].options[1].total, &results[1].options[1].total);
        let ratio = a.variance().sqrt() / b.variance().sqrt();
        assert!((0.6..1.6).contains(&ratio), "v0 {v0}: sd ratio {ratio}");
    }
}

/// The same on W1 as specified (uncertain demand), comparing every reported statistic.
#[test]
fn fast_and_reference_w1_statistics_agree() {
    let e = engine(W1);
    let mut rs = Vec::new();
    for sampler in [Sampler::Fast, Sampler::Reference] {
        let mut cfg = RunConfig::new(500, 9);
        cfg.sampler = sampler;
        rs.push(run(&e, &cfg));
    }
    for o in 0..2 {
        let (a, b) = (&rs[0].options[o].total, &rs[1].options[o].total);
        let z = (a.mean() - b.mean()) / (a.std_error().powi(2) + b.std_error().powi(2)).sqrt();
        assert!(z.abs() < 4.0, "option {o}: z = {z}");
    }
    let (pf, pr) = (
        rs[0].p_cheaper(OptionId(1), OptionId(0)),
        rs[1].p_cheaper(OptionId(1), OptionId(0)),
    );
    assert!(
        (pf - pr).abs() < 0.05,
        "P(hybrid cheaper): fast {pf} reference {pr}"
    );
}

/// Fleets that carry state from hour to hour (a queue before overflow, an autoscaler) step
/// every hot hour through the drawn work and requests alone; against the reference sampler on
/// W1's demand pinned high, where they saturate and scale most.
#[test]
fn fast_sampler_agrees_with_the_reference_for_fleets_with_state() {
    let options = r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"

[[option]]
id = "queued"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
usd_per_hour = "2.69"
fleet = { policy = "fixed", gpus = 2 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 120

[[option]]
id = "autoscaled"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
usd_per_hour = "2.69"
fleet = { policy = "autoscaled", min = 1, max = 3, target_utilisation = 0.8 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 60
"#;
    let head = W1.split("[[option]]").next().expect("W1 has options");
    let e = engine(&format!("{head}{options}"));
    let mut pins = vec![None; e.scenario.inputs.len()];
    pins[e.scenario.demand.monthly.0] = Some(3_000_000.0);
    pins[e.scenario.demand.growth.0] = Some(0.05);
    let mut results = Vec::new();
    for sampler in [Sampler::Fast, Sampler::Reference] {
        let mut cfg = RunConfig::new(120, 11);
        cfg.sampler = sampler;
        cfg.pins = pins.clone();
        results.push(run(&e, &cfg));
    }
    for o in 1..3 {
        let (a, b) = (&results[0].options[o], &results[1].options[o]);
        for (what, x, y) in [
            (
                "total",
                (a.total.mean(), a.total.std_error()),
                (b.total.mean(), b.total.std_error()),
            ),
            (
                "overflow share",
                (a.overflow.value(), a.overflow.std_error()),
                (b.overflow.value(), b.overflow.std_error()),
            ),
            (
                "utilisation",
                (a.utilisation.value(), a.utilisation.std_error()),
                (b.utilisation.value(), b.utilisation.std_error()),
            ),
        ] {
            let se = (x.1.powi(2) + y.1.powi(2)).sqrt();
            let z = (x.0 - y.0) / se.max(1e-12 * y.0.abs());
            assert!(
                z.abs() < 4.0,
                "option {o} {what}: fast {} ± {} vs reference {} ± {} (z = {z})",
                x.0,
                x.1,
                y.0,
                y.1
            );
        }
        let ratio = a.total.variance().sqrt() / b.total.variance().sqrt();
        assert!((0.6..1.6).contains(&ratio), "option {o}: sd ratio {ratio}");
    }
}

/// Every path's result, field by field: its JSON line, and each option's latency tallies
/// (which the JSON leaves out).
fn path_rows(e: &Engine, samples: u64) -> Vec<String> {
    let mut rows = Vec::new();
    engine::run_with(
        e,
        &RunConfig::new(samples, 11),
        engine::unwatched(),
        &|| e.new_result(),
        Some(&mut |b: &[engine::PathResult]| {
            for p in b {
                rows.push(serde_json::to_string(p).unwrap());
                rows.extend(p.options.iter().map(|o| format!("{:?}", o.latency)));
            }
            Ok(())
        }),
    )
    .unwrap();
    rows
}

/// Every path's figures, option by option: total cost, fleet images, overflowed images, busy
/// and billed capacity [GPU-s].
fn option_figures(
    e: &Engine,
    sampler: Sampler,
    samples: u64,
    seed: u64,
    threads: usize,
) -> Vec<[f64; 5]> {
    let mut cfg = RunConfig::new(samples, seed);
    cfg.sampler = sampler;
    cfg.threads = threads;
    let mut rows = Vec::new();
    engine::run_with(
        e,
        &cfg,
        engine::unwatched(),
        &|| e.new_result(),
        Some(&mut |b: &[engine::PathResult]| {
            for p in b {
                rows.extend(p.options.iter().map(|o| {
                    [
                        o.total_usd,
                        o.fleet_images,
                        o.overflow_images,
                        o.busy_seconds,
                        o.capacity_seconds,
                    ]
                }));
            }
            Ok(())
        }),
    )
    .unwrap();
    rows
}

/// Two runs' figures row by row within `rel` (relative) and `abs`.
fn assert_figures_close(a: &[[f64; 5]], b: &[[f64; 5]], rel: f64, abs: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (r, (x, y)) in a.iter().zip(b).enumerate() {
        for (u, v) in x.iter().zip(y) {
            assert!(
                (u - v).abs() <= rel * v.abs() + abs,
                "{what} row {r}: {x:?} vs {y:?}"
            );
        }
    }
}

/// Option `o`'s mean cost in two runs over the same paths (`width` options a path), and the
/// z of their paired difference: the same inputs, so what differs is the hours' noise alone.
fn paired_cost_z(a: &[[f64; 5]], b: &[[f64; 5]], o: usize, width: usize) -> (f64, f64, f64) {
    let col = |rows: &[[f64; 5]]| -> Vec<f64> {
        rows.iter().skip(o).step_by(width).map(|r| r[0]).collect()
    };
    let (a, b) = (col(a), col(b));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    let sd = (d.iter().map(|x| (x - mean(&d)).powi(2)).sum::<f64>() / (d.len() - 1) as f64).sqrt();
    (
        mean(&a),
        mean(&b),
        mean(&d) / (sd / (d.len() as f64).sqrt()).max(1e-9),
    )
}

/// W1's options with fleets that carry state: autoscalers from zero and one GPU (with three
/// billed hours, a scale-up delay, two GPUs a replica) and a fixed fleet that queues.
const STATEFUL_FLEETS: &str = r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"

[[option]]
id = "from-zero"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 0, max = 6, target_utilisation = 0.7, scale_up_delay_minutes = 5, min_billed_hours = 3 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 60

[[option]]
id = "from-one"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 1, max = 8, target_utilisation = 0.8 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 60

[[option]]
id = "pairs"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
gpus_per_replica = 2
fleet = { policy = "autoscaled", min = 0, max = 8, target_utilisation = 0.6, scale_up_delay_minutes = 10 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 60

[[option]]
id = "queued"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 3 }
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 120
"#;

/// Hours pooled where the fluid fleets are (an autoscaler holding a size above its minimum,
/// or one from zero GPUs once it runs; a queue with nothing waiting) are the hours stepped one
/// by one: with fluid arrivals (no Poisson noise, so both samplers see the same work) every
/// path's cost, images, busy and billed capacity match the reference sampler's to rounding,
/// for autoscalers with one and three billed hours, a scale-up delay, two GPUs a replica, and
/// a fixed fleet that queues; with Poisson arrivals the pooling does change the draws (so the
/// comparison above is not vacuous), and the statistics agree within Monte Carlo error.
#[test]
fn hours_pooled_away_from_rest_are_the_hours_stepped() {
    let options = STATEFUL_FLEETS;
    let head = W1.split("[[option]]").next().expect("W1 has options");
    let head = head.replace("horizon_months = 12", "horizon_months = 4");
    assert!(head.contains("horizon_months = 4"));
    let fluid = head.replace("[demand]\n", "[demand]\narrivals = \"fluid\"\n");
    assert_ne!(fluid, head, "the variant sets fluid arrivals");
    let figures = |e: &Engine, sampler: Sampler| option_figures(e, sampler, 60, 4, 0);
    let e = engine(&format!("{fluid}{options}"));
    let (fast, reference) = (figures(&e, Sampler::Fast), figures(&e, Sampler::Reference));
    assert_figures_close(&fast, &reference, 1e-9, 1e-4, "pooled against stepped");
    // With Poisson arrivals: pooled away from rest or not, different draws, the same model.
    let mut e = engine(&format!("{head}{options}"));
    let on = figures(&e, Sampler::Fast);
    e.linear_hours = false;
    let off = figures(&e, Sampler::Fast);
    assert_ne!(on, off, "some hours were pooled away from rest");
    for o in 1..5 {
        let (a, b, z) = paired_cost_z(&on, &off, o, 5);
        assert!(
            z.abs() < 4.0,
            "option {o}: pooled {a} vs stepped {b} (z = {z})"
        );
        assert!((a / b - 1.0).abs() < 0.01, "option {o}");
    }
}

/// Fluid fleets stepping their months side by side (as a plan's screening, with a hundred of
/// them, does) are the fleets stepped hour by hour: over 18 fleets (fixed that queue,
/// autoscaled from 0–2 GPUs, at different speeds), with fluid arrivals every path's figures
/// match the reference sampler's to rounding; with Poisson arrivals the rows are the same at
/// one thread and at three, and the statistics agree with the hour-by-hour step's.
#[test]
fn fluid_months_side_by_side_are_the_hours_stepped() {
    let head = W1.split("[[option]]").next().expect("W1 has options");
    let head = head.replace("horizon_months = 12", "horizon_months = 3");
    let fluid = head.replace("[demand]\n", "[demand]\narrivals = \"fluid\"\n");
    assert_ne!(fluid, head, "the variant sets fluid arrivals");
    let mut options = String::from("[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n");
    let fleets = 18;
    for k in 0..fleets {
        let f = 1.0 + 0.15 * k as f64;
        let seconds: Vec<String> = [0.19, 0.57, 1.17, 2.75]
            .iter()
            .map(|s| format!("{:.3}", s * f))
            .collect();
        let fleet = if k % 2 == 0 {
            format!("{{ policy = \"fixed\", gpus = {} }}", 1 + k % 3)
        } else {
            format!(
                "{{ policy = \"autoscaled\", min = {}, max = {}, target_utilisation = 0.8, scale_up_delay_minutes = 5 }}",
                k % 3,
                3 + k % 4
            )
        };
        options += &format!(
            "[[option]]\nid = \"f{k}\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {fleet}\nbucket_seconds = [{}]\noverflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 60\n",
            seconds.join(", ")
        );
    }
    let width = fleets + 1;
    let rows =
        |e: &Engine, sampler: Sampler, threads: usize| option_figures(e, sampler, 30, 8, threads);
    let e = engine(&format!("{fluid}{options}"));
    assert!(
        e.fluid_months_from <= fleets,
        "18 fluid fleets step side by side"
    );
    let (side, reference) = (rows(&e, Sampler::Fast, 2), rows(&e, Sampler::Reference, 2));
    assert_figures_close(
        &side,
        &reference,
        1e-9,
        1e-4,
        "side by side against stepped",
    );
    let mut e = engine(&format!("{head}{options}"));
    let side = rows(&e, Sampler::Fast, 1);
    assert_eq!(
        side,
        rows(&e, Sampler::Fast, 3),
        "the same rows at any thread count"
    );
    e.fluid_months_from = usize::MAX;
    let serial = rows(&e, Sampler::Fast, 1);
    assert_ne!(side, serial, "the months went side by side");
    for o in 1..width {
        let (a, b, z) = paired_cost_z(&side, &serial, o, width);
        assert!(
            z.abs() < 4.5,
            "option {o}: side by side {a} vs hour by hour {b} (z = {z})"
        );
    }
}

/// Serverless hours read from the path's table of hour bills by rate are the hours settled
/// one by one: on app-feature and agency (serverless pools beside autoscaled and fixed
/// fleets, bursty demand), every path's every option costs the same within 10⁻⁴ (relative)
/// and makes the same images, with the tables and without.
#[test]
fn serverless_hours_from_the_bill_table_are_the_hours_settled() {
    for name in ["app-feature", "agency"] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
        )
        .unwrap();
        let mut e = engine(&text);
        assert!(
            e.options.iter().any(|o| matches!(
                o.fleet.as_ref().map(|f| &f.kind),
                Some(breakeven::fleet::FleetKind::Serverless { .. })
            )),
            "{name} has a serverless pool"
        );
        let tabled = option_figures(&e, Sampler::Fast, 40, 2, 0);
        e.serverless_tables = false;
        let settled = option_figures(&e, Sampler::Fast, 40, 2, 0);
        assert_figures_close(&tabled, &settled, 1e-4, 1e-6, name);
        let differ = tabled.iter().zip(&settled).filter(|(a, b)| a != b).count();
        assert!(differ > 0, "{name}: the table was read");
    }
}

/// Every path's latency tallies, option by option: the requests at known latencies and the
/// requests on each table's rows (plain and delayed by a cold start).
fn path_latencies(e: &Engine, samples: u64) -> Vec<Option<engine::PathLatency>> {
    let mut rows = Vec::new();
    engine::run_with(
        e,
        &RunConfig::new(samples, 5),
        engine::unwatched(),
        &|| e.new_result(),
        Some(&mut |b: &[engine::PathResult]| {
            rows.extend(
                b.iter()
                    .flat_map(|p| p.options.iter().map(|o| o.latency.clone())),
            );
            Ok(())
        }),
    )
    .unwrap();
    rows
}

/// Two runs' latency tallies path by path and option by option within `rel` (relative): the
/// same points and rows, masses close.
fn assert_latencies_close(
    a: &[Option<engine::PathLatency>],
    b: &[Option<engine::PathLatency>],
    rel: f64,
    what: &str,
) {
    let near = |u: f64, v: f64| (u - v).abs() <= rel * u.abs().max(v.abs()) + 1e-12;
    assert_eq!(a.len(), b.len(), "{what}");
    for (r, (x, y)) in a.iter().zip(b).enumerate() {
        let (Some(x), Some(y)) = (x, y) else {
            assert_eq!(x.is_some(), y.is_some(), "{what} row {r}");
            continue;
        };
        let mass = |l: &engine::PathLatency| -> f64 { l.points.iter().map(|p| p.1).sum() };
        assert!(
            near(mass(x), mass(y)),
            "{what} row {r}: points {x:?} vs {y:?}"
        );
        assert_eq!(x.rows.len(), y.rows.len(), "{what} row {r}");
        for (t, u) in x.rows.iter().zip(&y.rows) {
            assert_eq!((t.servers, t.step), (u.servers, u.step), "{what} row {r}");
            let longest = t.weights.len().max(u.weights.len());
            let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
            for i in 0..longest {
                assert!(
                    near(at(&t.weights, i), at(&u.weights, i))
                        && near(at(&t.delayed, i), at(&u.delayed, i)),
                    "{what} row {r}, table row {i}: {t:?} vs {u:?}"
                );
            }
        }
    }
}

/// A shipped scenario's text.
fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
    )
    .unwrap()
}

/// Editing (`text`: the shipped file or a variant of it) with its pool of two serverless
/// workers overflowing to an API at once, after a 5 s wait, and as a pool of one worker that
/// backs up at 180 times the volume.
fn editing_pools(text: &str) -> Vec<(&'static str, String)> {
    let pool = "fleet = { policy = \"serverless\", max_workers = 2 }";
    assert!(text.contains(pool));
    let overflow = |wait: u32| {
        text.replace(
            pool,
            &format!("{pool}\noverflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = {wait}"),
        )
    };
    let backs_up = text
        .replace(pool, "fleet = { policy = \"serverless\", max_workers = 1 }")
        .replace(
            "median = 5000, p90 = 7500",
            "median = 900000, p90 = 1200000",
        );
    let pools = vec![
        ("a pool that overflows at once", overflow(0)),
        ("a pool that overflows after a wait", overflow(5)),
        ("a pool of one worker that backs up", backs_up),
    ];
    for (what, t) in &pools {
        assert_ne!(t, text, "{what} edits editing");
    }
    pools
}

/// A month without bursts taken once per distinct hour share is the month stepped hour by
/// hour, for always-on fleets and serverless pools (whose hour bill reads only the hour's
/// rate): every path's cost, images, busy and billed time, and latency tallies within 10⁻⁹
/// (the grouped month multiplies where the hours add), on editing and thumbnails (a fixed
/// GPU and a serverless pool), agency without its bursts, and pools that overflow to an API
/// at once or after a wait, that back up (never overflowing, past their workers), and that
/// stay empty.
#[test]
fn months_taken_once_per_share_are_the_hours_stepped() {
    let mut variants = vec![
        ("editing", shipped("editing")),
        ("thumbnails", shipped("thumbnails")),
        (
            "agency without bursts",
            shipped("agency").replace("burstiness = 0.3", "burstiness = 0"),
        ),
    ];
    variants.extend(editing_pools(&shipped("editing")));
    for (what, text) in &variants {
        let mut e = engine(text);
        let grouped = option_figures(&e, Sampler::Fast, 60, 5, 0);
        let grouped_latency = path_latencies(&e, 60);
        e.grouped_months = false;
        let hourly = option_figures(&e, Sampler::Fast, 60, 5, 0);
        let hourly_latency = path_latencies(&e, 60);
        assert_figures_close(&grouped, &hourly, 1e-9, 1e-9, what);
        assert_latencies_close(&grouped_latency, &hourly_latency, 1e-9, what);
        // Grouping sums in another order: the figures are not the same bits everywhere, so
        // the grouped months were taken.
        assert!(
            grouped != hourly || grouped_latency != hourly_latency,
            "{what}: some month was grouped"
        );
    }
}

/// The lean month loop for serverless pools served as queues is the general hour-by-hour
/// step, operation for operation: every path's every figure and latency tally is the same to
/// the bit, on the bursty months of app-feature and agency and of editing and thumbnails made
/// bursty (pools that never overflow and stay empty), of a pool that overflows at once and one
/// that overflows after a wait, and of a pool of one worker that backs up in its busy months
/// (those step hour by hour in both engines).
#[test]
fn the_lean_pool_month_is_the_general_step() {
    // Editing's and thumbnails' hours are not bursty (their months are grouped): bursts of
    // ±40% hour to hour make every hour its own.
    let bursty = |text: String| {
        assert!(!text.contains("burstiness"));
        text.replace(
            "profile = \"consumer\"\n",
            "profile = \"consumer\"\nburstiness = 0.4\n",
        )
    };
    let editing = bursty(shipped("editing"));
    assert!(editing.contains("burstiness = 0.4"));
    let mut variants = vec![
        ("app-feature", shipped("app-feature")),
        ("agency", shipped("agency")),
        ("editing, bursty", editing.clone()),
        ("thumbnails, bursty", bursty(shipped("thumbnails"))),
    ];
    variants.extend(editing_pools(&editing));
    for (what, text) in &variants {
        let mut e = engine(text);
        // Hour by hour: pooling a bin's hours is held to these within tolerances.
        e.pooled_queue_hours = false;
        let lean = path_rows(&e, 40);
        e.lean_queue_months = false;
        let general = path_rows(&e, 40);
        assert_eq!(lean.len(), general.len(), "{what}");
        for (p, (a, b)) in lean.iter().zip(&general).enumerate() {
            assert_eq!(a, b, "{what}, row {p}");
        }
    }
}

/// Engines that keep their queue tables in one cache (the what-if server's updates) give the
/// figures a fresh engine gives: agency's fixed queues (a table a speed step) and serverless
/// pool, and startup-growth's autoscaler, run after other engines have solved and read the
/// shared tables at other volumes and seeds, match a fresh engine path by path to the bit.
#[test]
fn engines_sharing_queue_tables_give_a_fresh_engines_figures() {
    use breakeven::fleet::QueueCache;
    use std::sync::Arc;
    let cat = Catalogue::builtin().unwrap();
    let compile = |text: &str, tables: Arc<QueueCache>| {
        let s = breakeven::scenario::Scenario::parse(text, "test.toml", "test", &cat).unwrap();
        Engine::with_tables(s, &cat, tables).unwrap()
    };
    for name in ["agency", "startup-growth"] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
        )
        .unwrap();
        let shared = Arc::new(QueueCache::default());
        // Another volume first: its paths solve rows and grid points the next one reads.
        let (median, p90) = if name == "agency" {
            ("median = 3000, p90 = 4500", "median = 9000, p90 = 20000")
        } else {
            (
                "median = 10_000, p90 = 20_000",
                "median = 30_000, p90 = 60_000",
            )
        };
        assert!(text.contains(median), "{name}");
        let other = compile(&text.replace(median, p90), shared.clone());
        option_figures(&other, Sampler::Fast, 30, 9, 0);
        let held = shared.len();
        assert!(held > 0, "{name}: the first engine solved tables");
        let fresh = compile(&text, Arc::default());
        let sharing = compile(&text, shared.clone());
        assert_eq!(
            path_rows(&fresh, 60),
            path_rows(&sharing, 60),
            "{name}: every path's figures and latency"
        );
        assert!(
            shared.len() >= held,
            "{name}: the second engine kept its tables there"
        );
    }
}

/// The lean month loop for queue fleets that carry nothing between hours is the general
/// hour-by-hour step, operation for operation: every path's every figure is the same to the
/// bit, for fixed and autoscaled fleets (with a minimum of 0 and 1 and a scale-up delay) that
/// overflow at once or after a wait or never (staying empty, or backing up), bursty or not,
/// with two replicas a GPU, with a cold month (under 1% load) and a saturated one, and
/// autoscalers that hold their size all month (app-feature's, billed by the hour or for at
/// least three).
#[test]
fn the_lean_queue_month_is_the_general_step() {
    let growth = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/startup-growth.toml"),
    )
    .unwrap();
    let variants = [
        growth.clone(),
        // No bursts, steeper growth (the last months saturate the fixed fleets).
        growth
            .replace("burstiness = 0.3", "burstiness = 0")
            .replace("mean = 0.22, sd = 0.05", "mean = 0.4, sd = 0.05"),
        // Overflow at once, an autoscaler from one GPU, two replicas on each GPU.
        growth
            .replace("max_queue_seconds = 60", "max_queue_seconds = 0")
            .replace("min = 0, max = 8", "min = 1, max = 8")
            .replace(
                "offer = \"runpod-community\"\nfleet = { policy = \"autoscaled\"",
                "offer = \"runpod-community\"\nreplicas_per_gpu = 2\nfleet = { policy = \"autoscaled\"",
            ),
    ];
    // Queues that never overflow (no API to send work to): in months whose busiest hour fits
    // the fleet they stay empty and take the lean loop; with steeper growth the fixed fleets
    // fill up and back up, and step hour by hour.
    let never = growth.replace(
        "overflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 60\n",
        "",
    );
    // App-feature's autoscalers (0–2 GPUs at a few per cent load) hold one GPU all month, so
    // most hours take the month's first opening; with a minimum of three billed hours, the
    // first three hours move their history.
    let app = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/app-feature.toml"),
    )
    .unwrap();
    assert!(app.contains("min_billed_hours = 1"));
    let variants = [
        variants[0].clone(),
        variants[1].clone(),
        variants[2].clone(),
        never.clone(),
        never.replace("mean = 0.22, sd = 0.05", "mean = 0.5, sd = 0.05"),
        app.clone(),
        app.replace("min_billed_hours = 1", "min_billed_hours = 3"),
    ];
    assert!(
        !never.contains("max_queue_seconds"),
        "every fleet never overflows"
    );
    for v in &variants[1..] {
        assert_ne!(v, &growth, "a variant edits the scenario");
    }
    let mut lean_steps = 0;
    for (i, text) in variants.iter().enumerate() {
        let mut e = engine(text);
        e.pooled_queue_hours = false;
        let lean = path_rows(&e, 120);
        e.lean_queue_months = false;
        let general = path_rows(&e, 120);
        assert_eq!(lean.len(), general.len());
        for (p, (a, b)) in lean.iter().zip(&general).enumerate() {
            assert_eq!(a, b, "variant {i}, path {p}");
        }
        lean_steps += 1;
    }
    assert_eq!(lean_steps, variants.len());
}

/// A bursty month's hours pooled in bins of nearby rates (`Engine::pooled_queue_hours`) are
/// the hours taken one by one through the lean loops, within what the bins' width allows:
/// every path's cost, images, overflow, busy and billed time within 10⁻³ (an image or a
/// dollar-cent absolute), and every option's mean cost over the paths within 10⁻⁴ and its p50,
/// p95 and p99 latency within 10⁻³, far inside the Monte Carlo error of any of them. On the
/// shipped scenarios with bursty queue fleets (app-feature's held autoscalers and pool,
/// agency's fixed GPUs and pool, startup-growth's fixed fleets), startup-growth grown until
/// its fixed fleets pass half load (those bins are taken hour by hour), autoscalers billed
/// three hours at least, editing and thumbnails made bursty with pools that overflow at once
/// or after a wait or back up. Some month of each pooled but the pool that backs up (the
/// figures are not all the same bits).
#[test]
fn pooled_queue_hours_are_the_hours_taken_one_by_one() {
    let bursty = |text: String| {
        text.replace(
            "profile = \"consumer\"\n",
            "profile = \"consumer\"\nburstiness = 0.4\n",
        )
    };
    let editing = bursty(shipped("editing"));
    let growth = shipped("startup-growth");
    let mut variants = vec![
        ("app-feature", shipped("app-feature")),
        (
            "app-feature billed three hours",
            shipped("app-feature").replace("min_billed_hours = 1", "min_billed_hours = 3"),
        ),
        ("agency", shipped("agency")),
        ("startup-growth", growth.clone()),
        (
            "startup-growth past half load",
            growth.replace("mean = 0.22, sd = 0.05", "mean = 0.4, sd = 0.05"),
        ),
        ("editing, bursty", editing.clone()),
        ("thumbnails, bursty", bursty(shipped("thumbnails"))),
    ];
    variants.extend(editing_pools(&editing));
    for (what, text) in &variants {
        assert!(text.contains("burstiness = 0."), "{what} is bursty");
        let mut e = engine(text);
        let samples = 60;
        let pooled = option_figures(&e, Sampler::Fast, samples, 3, 0);
        let pooled_run = engine::run(&e, &RunConfig::new(samples, 3), engine::unwatched()).unwrap();
        e.pooled_queue_hours = false;
        let hourly = option_figures(&e, Sampler::Fast, samples, 3, 0);
        let hourly_run = engine::run(&e, &RunConfig::new(samples, 3), engine::unwatched()).unwrap();
        let mut worst = 0.0f64;
        for (x, y) in pooled.iter().zip(&hourly) {
            for (u, v) in x.iter().zip(y) {
                worst = worst.max((u - v).abs() / v.abs().max(1.0));
            }
        }
        eprintln!("{what}: worst path figure {worst:.2e}");
        assert_figures_close(&pooled, &hourly, 1e-3, 0.01, what);
        // A pool that backs up takes its busy months hour by hour in both engines.
        if !what.contains("backs up") {
            assert!(pooled != hourly, "{what}: some month was pooled");
        }
        let width = e.options.len();
        for o in 0..width {
            let (a, b, _) = paired_cost_z(&pooled, &hourly, o, width);
            assert!(
                (a - b).abs() <= 1e-4 * b.abs(),
                "{what}, option {o}: mean cost {a} vs {b}"
            );
        }
        let (sa, sb) = (
            breakeven::report::summary::RunSummary::new(
                &e,
                &pooled_run,
                breakeven::report::summary::Provenance::new(&e, "built-in", 3, Sampler::Fast),
                None,
            ),
            breakeven::report::summary::RunSummary::new(
                &e,
                &hourly_run,
                breakeven::report::summary::Provenance::new(&e, "built-in", 3, Sampler::Fast),
                None,
            ),
        );
        for (x, y) in sa.options.iter().zip(&sb.options) {
            match (&x.latency_s, &y.latency_s) {
                (Some(p), Some(h)) => {
                    for (u, v) in [(p.p50, h.p50), (p.p95, h.p95), (p.p99, h.p99)] {
                        eprintln!("{what} {}: latency {u} vs {v}", x.id);
                        assert!(
                            (u - v).abs() <= 1e-3 * v.abs(),
                            "{what} {}: latency {u} vs {v}",
                            x.id
                        );
                    }
                }
                (p, h) => assert_eq!(p.is_some(), h.is_some(), "{what} {}", x.id),
            }
        }
    }
}

/// The driver takes each batch's fold in batch order as soon as the batches before it are in
/// (so memory holds a few folds, not a round's, whatever the horizon): over many batches and
/// with an early stop, the result is the same at one, two and three threads, and
/// `--precision` still stops at a round's end.
#[test]
fn batches_taken_as_they_come_fold_to_the_same_result_at_any_thread_count() {
    let e = engine(
        r#"
horizon_months = 2
[demand]
monthly = { dist = "lognormal", median = 100000, p90 = 200000 }
burstiness = 0.3
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 0, max = 2, target_utilisation = 0.7 }
overflow = "bfl/flux-2-klein-4b"
max_queue_seconds = 30
"#,
    );
    // Many batches, queue fleets month by month: no early stop.
    let same = |e: &Engine, samples: u64, precision: Option<f64>| -> u64 {
        let results: Vec<RunResult> = [1, 2, 3]
            .iter()
            .map(|&threads| {
                let mut cfg = RunConfig::new(samples, 7);
                cfg.threads = threads;
                cfg.precision = precision;
                run(e, &cfg)
            })
            .collect();
        assert_eq!(results[0], results[1], "{precision:?}: 1 and 2 threads");
        assert_eq!(results[0], results[2], "{precision:?}: 1 and 3 threads");
        results[0].samples
    };
    assert_eq!(same(&e, 2_300, None), 2_300);
    // More than two rounds of cheap paths with a loose target: it stops at a round's end.
    let cheap = engine(&flat_scenario(
        100_000.0,
        1,
        "",
        r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = { dist = "triangular", min = 10, mode = 20, max = 40 }
ops_usd_per_hour = "100"
"#,
    ));
    let n = same(&cheap, 13_500, Some(0.05));
    let round = engine::ROUND * engine::BATCH;
    assert!(
        n < 13_500 && n % round == 0,
        "stopped after {n} paths, expected a whole round of {round}"
    );
}
