//! Queue-aware serving (issue 12): the issue's table from `breakeven run`'s library and binary,
//! the fast sampler against the plain per-hour one for queue fleets, latency statistics in the
//! run's outputs, and the fluid rule kept where a scenario asks for it.

use crate::common::engine;
use breakeven::engine::{self, Engine, RunConfig, RunResult, Sampler};
use breakeven::ids::OptionId;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;

fn run(e: &Engine, cfg: &RunConfig) -> RunResult {
    engine::run(e, cfg, engine::unwatched()).expect("run succeeds")
}

/// klein 4B on H100 at 0.57 s, one 1 MP bucket, flat Poisson demand of `monthly` images.
fn klein(monthly: f64, gpus: u32, overflow: &str) -> String {
    format!(
        r#"
horizon_months = 2
[market]
compare = "named"
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

const W2: &str = include_str!("../../scenarios/bench-w2.toml");

/// W2's demand and mix with queue fleets of every kind: overflow at once and after 10 s
/// (stateless), never overflowing (waits, and a backlog when it fills), an autoscaler and
/// serverless workers (state from hour to hour, a cold start as waiting).
fn queue_fleets(burstiness: f64) -> Engine {
    let head = W2.split("[[option]]").next().expect("W2 has options");
    let head = head.replace(
        "normalise = \"week\"",
        &format!("normalise = \"week\"\nburstiness = {burstiness}"),
    );
    let fleet = |id: &str, fleet: &str, extra: &str| {
        format!(
            r#"
[[option]]
id = "{id}"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
usd_per_hour = "2.69"
fleet = {fleet}
bucket_seconds = [0.19, 0.57, 1.17, 2.75]
{extra}
"#
        )
    };
    let api = "overflow = \"bfl/flux-2-klein-4b\"";
    let options = [
        "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n".to_string(),
        fleet("at-once", "{ policy = \"fixed\", gpus = 2 }", api),
        fleet(
            "after-10s",
            "{ policy = \"fixed\", gpus = 2 }",
            &format!("{api}\nmax_queue_seconds = 10"),
        ),
        fleet("never", "{ policy = \"fixed\", gpus = 3 }", ""),
        fleet(
            "autoscaled",
            "{ policy = \"autoscaled\", min = 1, max = 4, target_utilisation = 0.8 }",
            &format!("{api}\nmax_queue_seconds = 60"),
        ),
        "[[option]]\nid = \"serverless\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-serverless-flex\"\nfleet = { policy = \"serverless\", max_workers = 4 }\nbucket_seconds = [0.19, 0.57, 1.17, 2.75]\noverflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 30\n".to_string(),
    ];
    engine(&format!("{head}{}", options.concat()))
}

/// The fast sampler (each hour's queue at its expected rate, month counts split binomially)
/// against the reference (every stream's Poisson count in every hour, each hour's queue at
/// its drawn count), with demand pinned where the fleets are busy, so that Poisson noise is
/// all the randomness left and any bias of the shortcut shows. Tolerances, stated: totals
/// within 0.5% (or 4 standard errors), overflow shares within 3% relative or 0.2 points,
/// utilisation within 1% relative, latency p50/p95/p99 within 5%. The gap that remains is
/// Jensen's: the reference evaluates each hour's (convex) overflow at a noisy rate.
fn fast_agrees_with_reference(burstiness: f64, paths: u64) {
    let e = queue_fleets(burstiness);
    let mut pins = vec![None; e.scenario.inputs.len()];
    pins[e.scenario.demand.monthly.0] = Some(2_400_000.0);
    pins[e.scenario.demand.growth.0] = Some(0.05);
    let mut results = Vec::new();
    for sampler in [Sampler::Fast, Sampler::Reference] {
        let mut cfg = RunConfig::new(paths, 11);
        cfg.sampler = sampler;
        cfg.pins = pins.clone();
        results.push(run(&e, &cfg));
    }
    let (fast, reference) = (&results[0], &results[1]);
    for o in 1..e.options.len() {
        let id = &e.options[o].id;
        let (a, b) = (&fast.options[o], &reference.options[o]);
        let (ma, mb) = (a.total.mean(), b.total.mean());
        let se = (a.total.std_error().powi(2) + b.total.std_error().powi(2)).sqrt();
        assert!(
            (ma / mb - 1.0).abs() <= 0.005 || (ma - mb).abs() <= 4.0 * se,
            "{id} total: fast {ma} vs reference {mb} (s.e. {se})"
        );
        let (oa, ob) = (a.overflow.value(), b.overflow.value());
        assert!(
            (oa - ob).abs() <= 0.002 || (oa / ob - 1.0).abs() <= 0.03,
            "{id} overflow: fast {oa} vs reference {ob}"
        );
        let (ua, ub) = (a.utilisation.value(), b.utilisation.value());
        assert!(
            (ua / ub - 1.0).abs() <= 0.01,
            "{id} utilisation: fast {ua} vs reference {ub}"
        );
        let (la, lb) = (
            e.latency_quantiles(OptionId(o), a).expect("fleet latency"),
            e.latency_quantiles(OptionId(o), b).expect("fleet latency"),
        );
        for q in 0..3 {
            assert!(
                (la[q] / lb[q] - 1.0).abs() <= 0.05,
                "{id} latency quantile {q}: fast {la:?} vs reference {lb:?}"
            );
        }
    }
}

#[test]
fn fast_sampler_agrees_with_the_reference_for_queue_fleets() {
    fast_agrees_with_reference(0.0, 40);
}

#[test]
fn fast_sampler_agrees_with_the_reference_for_queue_fleets_with_bursts() {
    fast_agrees_with_reference(0.3, 40);
}

/// Every input fixed and arrivals fluid (each hour exactly its expected requests), flat
/// profile, 1 MP images: the queue's closed forms.
fn fixed_fluid(volume: f64, options: &str) -> String {
    format!(
        r#"
horizon_months = 1
[market]
compare = "named"
[demand]
monthly = {volume}
profile = "flat"
arrivals = "fluid"
[[mix]]
size = "1024x1024"
share = 1.0
{options}
"#
    )
}

fn erlang_b(c: u32, a: f64) -> f64 {
    // The textbook recursion B(k) = a B(k−1) / (k + a B(k−1)).
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

/// A hybrid that overflows at once sends Erlang B's share of every hour to the API, at any
/// load (the fluid rule would send 1 − C/D above capacity and nothing below it), and pays
/// exactly its GPU-hours plus that share of the images at the API's price.
#[test]
fn overflow_at_once_is_erlang_b_in_closed_form() {
    for (gpus, load) in [(1u32, 2.0), (1, 0.3), (2, 0.4338), (4, 0.9)] {
        let per_hour = load * gpus as f64 * 3600.0 / 0.57;
        let volume = per_hour * 730.0;
        let opt = format!(
            "[[option]]\nid = \"hybrid\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = {gpus} }}\noverflow = \"bfl/flux-2-klein-4b\"\n"
        );
        let e = engine(&fixed_fluid(volume, &opt));
        let r = run(&e, &RunConfig::new(2, 1));
        let b = erlang_b(gpus, load * gpus as f64);
        let ov = r.options[0].overflow.value();
        assert!((ov - b).abs() < 1e-9, "{gpus} GPUs at {load}: {ov} vs {b}");
        let expected = gpus as f64 * 730.0 * 2.69 + volume * b * 0.014;
        let total = r.options[0].total.mean();
        assert!(
            (total / expected - 1.0).abs() < 1e-9,
            "{total} vs {expected}"
        );
        // Served images are never queued: latency is the service time.
        let q = e.latency_quantiles(OptionId(0), &r.options[0]).unwrap();
        for x in q {
            assert!((x / 0.57 - 1.0).abs() < 0.012, "{q:?}");
        }
    }
    assert!((erlang_b(1, 2.0) - 2.0 / 3.0).abs() < 1e-15);
}

/// `serving = "fluid"` (for the file, or for one option) keeps the fluid rule: below capacity
/// no image overflows or waits, over capacity the share 1 − C/D overflows.
#[test]
fn the_fluid_rule_is_kept_where_a_scenario_asks_for_it() {
    let fleet = |id: &str, serving: &str| {
        format!(
            "[[option]]\nid = \"{id}\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\noverflow = \"bfl/flux-2-klein-4b\"\n{serving}\n"
        )
    };
    for load in [0.5, 2.0] {
        let volume = load * 3600.0 / 0.57 * 730.0;
        let text = fixed_fluid(
            volume,
            &[fleet("queue", ""), fleet("fluid", "serving = \"fluid\"")].concat(),
        );
        let e = engine(&text);
        let r = run(&e, &RunConfig::new(2, 1));
        let fluid = if load < 1.0 { 0.0 } else { 1.0 - 1.0 / load };
        assert!((r.options[1].overflow.value() - fluid).abs() < 1e-12);
        assert!((r.options[0].overflow.value() - erlang_b(1, load)).abs() < 1e-9);
        // The file can say it for every option.
        let all = engine(&format!("serving = \"fluid\"\n{text}"));
        let r = run(&all, &RunConfig::new(2, 1));
        for o in 0..2 {
            assert!((r.options[o].overflow.value() - fluid).abs() < 1e-12);
        }
    }
}

/// A fleet that never overflows waits as M/D/c below saturation (the mean wait of M/D/1 is
/// ρ·D / (2(1 − ρ)), Pollaczek–Khinchine) and builds a backlog above it, whose images wait
/// without end in the latency figures when it never drains.
#[test]
fn a_fleet_that_never_overflows_waits_and_falls_behind() {
    let opt = "[[option]]\nid = \"h100\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = { policy = \"fixed\", gpus = 1 }\n";
    let e = engine(&fixed_fluid(0.5 * 3600.0 / 0.57 * 730.0, opt));
    let r = run(&e, &RunConfig::new(2, 1));
    let h = e.latency(OptionId(0), &r.options[0]).unwrap();
    // M/D/1 at 50%: P(wait > 0) = 0.5, so the median is the service time itself and the
    // p95 is a wait beyond it.
    assert!((h.quantile(0.4) / 0.57 - 1.0).abs() < 0.012);
    assert!(h.quantile(0.95) > 0.57 * 1.5, "{}", h.quantile(0.95));
    assert_eq!(h.unbounded(), 0.0);
    let e = engine(&fixed_fluid(1.2 * 3600.0 / 0.57 * 730.0, opt));
    let r = run(&e, &RunConfig::new(2, 1));
    let h = e.latency(OptionId(0), &r.options[0]).unwrap();
    // Over capacity every hour: the backlog grows by 720 s an hour, the fluid FIFO wait.
    assert!(h.quantile(0.5) > 3600.0 * 24.0, "{}", h.quantile(0.5));
    assert!(r.options[0].over_capacity > 0);
}

/// Serverless workers queue like any fleet, and a request that finds no warm worker waits its
/// cold start too: with one request every 36 s and a 5 s idle timeout, 87% wait the 20 s.
#[test]
fn a_cold_start_is_waiting_time() {
    let opt = "[[option]]\nid = \"serverless\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-serverless-flex\"\nfleet = { policy = \"serverless\", max_workers = 4 }\n";
    let e = engine(&fixed_fluid(100.0 * 730.0, opt));
    let r = run(&e, &RunConfig::new(2, 1));
    let h = e.latency(OptionId(0), &r.options[0]).unwrap();
    let cold = (-(100.0 / 3600.0) * 5.0f64).exp();
    assert!((0.85..0.9).contains(&cold));
    // Below the cold share's quantile, the service time; above it, 20 s more.
    assert!((h.quantile(0.5 * (1.0 - cold)) / 0.57 - 1.0).abs() < 0.02);
    let p95 = h.quantile(0.95);
    assert!((p95 / 20.57 - 1.0).abs() < 0.02, "{p95}");
}

/// Batching and co-located replicas: a GPU with k images in flight is k servers, each taking
/// k × t / gain(k), so a GPU's throughput is gain(k)/t (the profile's curve: 1.16 at batch 8
/// at 1 MP) and a lone image's latency is the full batch's time. A replica spanning two GPUs
/// serves with the fleet's GPUs in pairs.
#[test]
fn serving_shape_changes_servers_and_service_time() {
    let volume = 0.5 * 3600.0 / 0.57 * 730.0;
    let opt = |shape: &str| {
        format!(
            "[[option]]\nid = \"h100\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\n{shape}\n"
        )
    };
    let e = engine(&fixed_fluid(volume, &opt("max_batch = 8")));
    let r = run(&e, &RunConfig::new(2, 1));
    let util = r.options[0].utilisation.value();
    assert!((util - 0.5 / 1.16).abs() < 1e-9, "{util}");
    let q = e.latency_quantiles(OptionId(0), &r.options[0]).unwrap();
    assert!(q[0] >= 8.0 * 0.57 / 1.16 * 0.99, "{q:?}");
    // Two replicas on one GPU: the batch curve's gain for two images at once.
    let e = engine(&fixed_fluid(volume, &opt("replicas_per_gpu = 2")));
    let r = run(&e, &RunConfig::new(2, 1));
    assert!((r.options[0].utilisation.value() - 0.5 / 1.02).abs() < 1e-9);
    // FLUX.2 [dev] (90 GB) fits a 2-GPU replica of H100s, with a speed measured on it.
    let dev = |shape: &str| {
        format!(
            "[[option]]\nid = \"dev\"\nselfhost = \"flux-2-dev\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 4 }}\nlicence = \"bfl-flux-2-professional\"\n{shape}\n"
        )
    };
    let e = engine(&fixed_fluid(
        50_000.0,
        &dev("gpus_per_replica = 2\nseconds_at_1mp = 12.0"),
    ));
    let r = run(&e, &RunConfig::new(2, 1));
    // 50,000 images × 12 s on 2-GPU replicas = 24 GPU-seconds each, over 4 GPUs.
    let util = r.options[0].utilisation.value();
    assert!(
        (util - 50_000.0 * 24.0 / (4.0 * 730.0 * 3600.0)).abs() < 1e-9,
        "{util}"
    );
}

/// The same seed gives the same latency statistics, to the bit, at any thread count, and
/// folding paths one at a time agrees exactly with merging folds of the parts.
#[test]
fn latency_statistics_are_the_same_at_any_thread_count_and_merge_exactly() {
    let e = queue_fleets(0.3);
    let mut outs = Vec::new();
    let mut paths = Vec::new();
    for threads in [1, 2, 8] {
        let mut cfg = RunConfig::new(150, 4);
        cfg.threads = threads;
        let mut kept = Vec::new();
        let r = engine::run_with(
            &e,
            &cfg,
            engine::unwatched(),
            &|| e.new_result(),
            Some(&mut |b: &[engine::PathResult]| {
                kept.extend(b.iter().cloned());
                Ok(())
            }),
        )
        .unwrap();
        outs.push(r);
        paths = kept;
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    use breakeven::engine::Fold;
    let mut all = e.new_result();
    for p in &paths {
        all.add(p).unwrap();
    }
    let (mut first, mut later) = (e.new_result(), e.new_result());
    for p in &paths[..137] {
        first.add(p).unwrap();
    }
    for p in &paths[137..] {
        later.add(p).unwrap();
    }
    first.merge(later);
    for o in 0..e.options.len() {
        assert_eq!(
            all.options[o].latency, first.options[o].latency,
            "option {o}"
        );
        assert!(o == 0 || all.options[o].latency != Default::default());
    }
}

fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("breakeven").expect("the binary builds");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// `breakeven run` reports the issue's case through its files and its table: the overflow
/// share, and the latency quantiles of the images the fleet made (none for an API).
#[test]
fn run_reports_latency_in_summary_json_and_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml");
    let text = klein(at_load(0.8, 1), 1, "")
        + "\n[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n";
    std::fs::write(&s, text).unwrap();
    let out = dir.path().join("out");
    let r = bin()
        .args(["run", "--samples", "20", "--out"])
        .arg(&out)
        .arg(&s)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8_lossy(&r.stdout);
    assert!(table.contains("p95 latency"), "{table}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let opts = summary["options"].as_array().unwrap();
    let lat = &opts[0]["latency_s"];
    let p95 = lat["p95"].as_f64().unwrap();
    // M/D/1 at 80%: p95 wait 3.77 s, plus the 0.57 s image.
    assert!(((p95 - 0.57) / 3.77 - 1.0).abs() < 0.15, "{lat}");
    assert!(lat["p50"].as_f64().unwrap() <= p95 && p95 <= lat["p99"].as_f64().unwrap());
    assert_eq!(lat["unbounded_share"].as_f64().unwrap(), 0.0);
    assert!(
        opts[1]["latency_s"].is_null(),
        "an API has no fleet latency"
    );
    // The row of the fleet shows the p95 the JSON has.
    let row = table.lines().find(|l| l.starts_with("h100")).unwrap();
    assert!(row.contains(&format!("{p95:.1} s")), "{row}");
}

/// A FLUX.1 [dev] scenario at volume, so self-hosting wins on cost: an RTX 4090 takes 12 s an
/// image, an A100 22, an L40S 19 and an L4 58.5; only an H100 (3 s) can serve under 10 s.
fn dev_scenario(with_api: bool) -> String {
    let api = if with_api {
        "[[option]]\nid = \"api\"\napi = \"fal/flux-1-dev\"\n"
    } else {
        ""
    };
    format!(
        r#"
horizon_months = 2
[market]
compare = "named"
[demand]
monthly = 300000
profile = "flat"
[[mix]]
size = "1024x1024"
share = 1.0
{api}
[[option]]
id = "h100"
selfhost = "flux-1-dev"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = {{ policy = "fixed", gpus = 1 }}
"#
    )
}

fn plan(scenario: &str, target: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, scenario).unwrap();
    bin()
        .args([
            "plan",
            "--samples",
            "100",
            "--screen-paths",
            "20",
            "--finalists",
            "4",
            "--json",
            "--mix-setups",
            &format!("--latency-p95={target}"),
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg(&s)
        .output()
        .unwrap()
}

/// `plan --latency-p95 T` never recommends a fleet whose service time alone breaks T (the
/// issue's RTX 4090 at 12 s under a 10 s target), nor one whose end-to-end p95 does, at any
/// of several targets; and it names the GPUs that cannot meet T at any size. (Before issue
/// 12 the target bounded the queue delay only, and an RTX 4090 at 12 s an image passed 10 s.)
#[test]
fn plan_never_recommends_a_fleet_too_slow_for_the_latency_target() {
    for target in [4.0, 10.0, 30.0] {
        let r = plan(&dev_scenario(true), &target.to_string());
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let p: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        let rec = &p["recommended"];
        assert_eq!(rec["feasible"], true, "{rec}");
        if !rec["service_p95_s"].is_null() {
            assert!(rec["service_p95_s"].as_f64().unwrap() <= target, "{rec}");
            assert!(rec["latency_s"][1].as_f64().unwrap() <= target, "{rec}");
        }
        for f in p["finalists"].as_array().unwrap() {
            let slow = f["service_p95_s"].as_f64().is_some_and(|s| s > target);
            let late = f["latency_s"][1].as_f64().is_some_and(|l| l > target);
            if slow || late {
                assert_eq!(f["feasible"], false, "{f}");
            }
        }
        let unreachable: Vec<String> = p["latency_unreachable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let named = |gpu: &str| unreachable.iter().any(|u| u.contains(gpu));
        // The 4090 (12 s), the L40S (19 s), the A100 (22 s); the L4 cannot hold the model.
        assert_eq!(
            named("rtx-4090"),
            target < 12.0,
            "{target}: {unreachable:?}"
        );
        assert_eq!(named("l40s"), target < 19.0, "{target}: {unreachable:?}");
        assert_eq!(
            named("a100-80gb"),
            target < 22.0,
            "{target}: {unreachable:?}"
        );
        assert!(!named("h100"), "{unreachable:?}");
    }
}

/// With no option that meets the target (no API in the scenario, and every GPU slower than
/// it), `plan` says so (exit 2, naming the target and why) instead of recommending the least
/// bad.
#[test]
fn plan_says_when_no_fleet_can_meet_the_latency_target() {
    let r = plan(&dev_scenario(false), "2");
    assert_eq!(
        r.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("latency-p95"), "{err}");
    assert!(err.contains("p95 latency of at most 2 s"), "{err}");
    assert!(err.contains("service time alone"), "{err}");
    assert!(err.contains("flux-1-dev on h100-sxm"), "{err}");
    // With an API to fall back on, the API is recommended and the table says why.
    let r = plan(&dev_scenario(true), "2");
    assert!(r.status.success());
    let p: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(p["recommended"]["id"], "api", "{p}");
    assert!(!p["latency_unreachable"].as_array().unwrap().is_empty());
}

/// A latency target is validated like any input: not a number of seconds above 0, exit 2.
#[test]
fn plan_refuses_a_latency_target_that_is_not_seconds() {
    for bad in ["0", "-3", "inf", "NaN"] {
        let r = plan(&dev_scenario(true), bad);
        assert_eq!(r.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains("--latency-p95") && err.contains("expected seconds > 0"),
            "{bad}: {err}"
        );
    }
}

/// Batch gains: linear in the batch size between measured sizes (batch 1 is 1×), held past
/// the largest; linear in ln(megapixels) between the measured resolutions, held outside.
#[test]
fn batch_gains_interpolate_by_size_and_resolution() {
    let cat = Catalogue::builtin().unwrap();
    let p = &cat.selfhost["flux-2-klein-4b"];
    let g = |b: u32, mp: f64| p.batch_gain(b, mp).unwrap();
    assert_eq!(g(1, 0.7), 1.0);
    assert!((g(8, 1.0) - 1.16).abs() < 1e-12);
    assert!((g(2, 1.0) - 1.02).abs() < 1e-12);
    assert!((g(4, 1.0) - (1.03 + (4.0 - 3.0) / 5.0 * (1.16 - 1.03))).abs() < 1e-12);
    assert!((g(64, 4.0) - 1.16).abs() < 1e-12, "held beyond");
    assert!(
        (g(4, 0.1) - 2.77).abs() < 1e-12,
        "held below the lowest resolution"
    );
    let mid = (0.25f64.ln() + 1.0f64.ln()) / 2.0;
    assert!((g(4, mid.exp()) - (2.77 + g(4, 1.0)) / 2.0).abs() < 1e-12);
    // A scenario that asks for a batch the profile has no curve for is refused by key.
    let mut bare = cat.clone();
    bare.selfhost
        .get_mut("flux-2-klein-4b")
        .unwrap()
        .batch
        .clear();
    let text = klein(100_000.0, 1, "max_batch = 4");
    let err = Scenario::parse(&text, "s.toml", "s", &bare)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("option[0].max_batch: is 4 but flux-2-klein-4b has no batch curve"),
        "{err}"
    );
}
