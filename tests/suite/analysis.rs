//! Sweeps, sensitivity and determinism, through the binary as a user runs them.

use crate::common::read;
use assert_cmd::Command;
use breakeven::analysis::{sensitivity, sweep};
use breakeven::engine::{self, Engine, PathJob, RunConfig};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use proptest::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("breakeven").unwrap()
}

// Sharded sweeps and their merge: tests/shards.rs.

#[test]
fn every_sampling_command_gives_the_same_bytes_at_any_thread_count() {
    let runs: [&[&str]; 4] = [
        &[
            "run",
            "scenarios/bench-w1.toml",
            "--samples",
            "300",
            "--samples-csv",
        ],
        &[
            "sweep",
            "scenarios/bench-w1.toml",
            "--samples",
            "200",
            "--points",
            "5",
        ],
        &[
            "sensitivity",
            "scenarios/startup-growth.toml",
            "--samples",
            "120",
        ],
        &[
            "plan",
            "scenarios/editing.toml",
            "--samples",
            "120",
            "--screen-paths",
            "30",
        ],
    ];
    let files = [
        "summary.json",
        "summary.csv",
        "summary.xlsx",
        "samples.csv",
        "sweep.json",
        "sweep.csv",
        "sensitivity.json",
        "plan.json",
    ];
    for args in runs {
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        for (d, threads) in dirs.iter().zip(["1", "2", "8"]) {
            bin()
                .args(args)
                .args(["--threads", threads, "--out"])
                .arg(d.path())
                .assert()
                .success();
        }
        let mut compared = 0;
        for f in files {
            if dirs[0].path().join(f).exists() {
                let a = read(&dirs[0].path().join(f));
                assert_eq!(
                    a,
                    read(&dirs[1].path().join(f)),
                    "{args:?}: {f} differs at 1 and 2 threads"
                );
                assert_eq!(
                    a,
                    read(&dirs[2].path().join(f)),
                    "{args:?}: {f} differs at 1 and 8 threads"
                );
                compared += 1;
            }
        }
        assert!(compared >= 1, "{args:?} wrote none of {files:?}");
    }
}

#[test]
fn sensitivity_ranks_a_dominant_input_first() {
    // The GPU price is wildly uncertain, everything else barely: it must top the tornado.
    let text = r#"
horizon_months = 3
[demand]
monthly = { dist = "lognormal", median = 300000, p90 = 330000 }
growth = { dist = "normal", mean = 0.0, sd = 0.005 }
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
price_factor = { dist = "uniform", min = 0.98, max = 1.02 }
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
gpu_price_factor = { dist = "uniform", min = 0.3, max = 3.0 }
ops_hours_per_month = { dist = "uniform", min = 4, max = 5 }
"#;
    let cat = Catalogue::builtin().unwrap();
    let s = Scenario::parse(text, "dominant.toml", "dominant", &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let r = sensitivity::analyse(
        &e,
        "built-in",
        &RunConfig::new(400, 3),
        None,
        engine::unwatched(),
    )
    .unwrap();
    assert_eq!(
        r.tornado[0].input,
        "option.h100.gpu_price_factor",
        "{:?}",
        r.tornado
            .iter()
            .map(|b| (&b.input, b.swing))
            .collect::<Vec<_>>()
    );
    assert!(r.tornado[0].swing > 3.0 * r.tornado[1].swing);
    assert!(r.tornado[0].spearman.abs() > 0.9);
}

fn w1_sweep_engine() -> Engine {
    let cat = Catalogue::builtin().unwrap();
    let s = Scenario::parse(
        include_str!("../../scenarios/bench-w1.toml"),
        "w1",
        "w1",
        &cat,
    )
    .unwrap();
    sweep::sweep_engine(&s, &cat).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Along one path (common random numbers), an API's monthly cost never falls as volume
    /// grows, nor does a fixed fleet's with overflow: more images can only add to either bill.
    #[test]
    fn sweep_costs_never_fall_as_volume_grows(seed in 0u64..1000, lo in 50_000.0f64..500_000.0, factor in 2.0f64..40.0) {
        let e = w1_sweep_engine();
        let volumes = sweep::grid(lo, lo * factor, 6, true);
        let mut cfg = RunConfig::new(3, seed);
        cfg.threads = 1;
        let job = sweep::SweepJob { engine: &e, cfg: &cfg, volumes: &volumes };
        let paths: Vec<sweep::SweepPath> = engine::seeds::path_seeds(cfg.seed, cfg.samples, 0)
            .into_iter()
            .map(|(path, seed)| job.simulate(path, seed).unwrap())
            .collect();
        for p in &paths {
            for o in 0..e.options.len() {
                for k in 1..volumes.len() {
                    // Poisson noise at different volumes is drawn afresh; allow it (0.5%).
                    prop_assert!(p.costs[k][o] >= p.costs[k - 1][o] * 0.995, "option {o}: {} then {}", p.costs[k - 1][o], p.costs[k][o]);
                }
            }
        }
    }
}
