//! `breakeven bench`: how fast the simulation runs, on the reference workload W1 or a given
//! scenario. Nothing is written to disk; the figures go to stdout.

use super::common;
use breakeven::engine::{self, Engine, RunConfig, Sampler};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The reference workload, compiled in so `bench` runs from any folder.
const W1: &str = include_str!("../../scenarios/bench-w1.toml");

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario to time (default: the reference workload W1, scenarios/bench-w1.toml).
    pub scenario: Option<PathBuf>,
    /// Sample paths (default: the scenario's; 10,000 for W1).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Time the plain per-hour Poisson sampler instead of the fast one.
    #[arg(long)]
    pub reference: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct OptionFigures {
    id: String,
    mean: f64,
    std_error: f64,
    p5: f64,
    p50: f64,
    p95: f64,
}

#[derive(Serialize)]
struct BenchReport {
    scenario: String,
    sampler: Sampler,
    paths: u64,
    months: u32,
    path_hours: u64,
    threads: usize,
    wall_s: f64,
    path_hours_per_s: f64,
    peak_memory_mb: Option<f64>,
    seed: u64,
    options: Vec<OptionFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p_hybrid_cheaper: Option<f64>,
}

/// Peak resident memory of this process [MB], from /proc (Linux only).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let scenario = match &a.scenario {
        Some(p) => Scenario::load(p, catalogue)?,
        None => Scenario::parse(
            W1,
            "scenarios/bench-w1.toml (built in)",
            "bench-w1",
            catalogue,
        )?,
    };
    let engine = Engine::new(scenario, catalogue)?;
    let paths = a
        .paths
        .or(engine.scenario.samples)
        .unwrap_or(common::DEFAULT_SAMPLES);
    if paths == 0 || paths > common::MAX_SAMPLES {
        return Err(super::InputError(format!(
            "--paths: {paths} is out of range; expected 1 to {}",
            common::MAX_SAMPLES
        ))
        .into());
    }
    let mut cfg = RunConfig::new(
        paths,
        a.seed
            .or(engine.scenario.seed)
            .unwrap_or(common::DEFAULT_SEED),
    );
    cfg.threads = a.threads;
    cfg.sampler = if a.reference {
        Sampler::Reference
    } else {
        Sampler::Fast
    };
    let threads = if a.threads == 0 {
        rayon::current_num_threads()
    } else {
        a.threads
    };
    let cancel = AtomicBool::new(false);
    let start = Instant::now();
    let result = engine::run(&engine, &cfg, &cancel, &|_| {}, &mut |_| Ok(()))?;
    let wall = start.elapsed().as_secs_f64();
    let path_hours = paths * engine.hours_per_path();
    let options: Vec<OptionFigures> = engine
        .options
        .iter()
        .zip(&result.options)
        .map(|(o, st)| {
            let s = st.total.summary();
            OptionFigures {
                id: o.id.clone(),
                mean: s.mean,
                std_error: s.std_error,
                p5: s.p5,
                p50: s.p50,
                p95: s.p95,
            }
        })
        .collect();
    let api = engine.options.iter().position(|o| o.is_api());
    let hybrid = engine.options.iter().position(|o| !o.is_api());
    let p_hybrid_cheaper = match (api, hybrid) {
        (Some(a), Some(h)) => Some(result.p_cheaper(h, a)),
        _ => None,
    };
    let report = BenchReport {
        scenario: engine.scenario.name.clone(),
        sampler: cfg.sampler,
        paths,
        months: engine.scenario.horizon_months,
        path_hours,
        threads,
        wall_s: wall,
        path_hours_per_s: path_hours as f64 / wall,
        peak_memory_mb: peak_memory_mb(),
        seed: cfg.seed,
        options,
        p_hybrid_cheaper,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} paths × {} months ({} path-hours), {} sampler, seed {}",
        report.scenario,
        paths,
        report.months,
        breakeven::money::format_count(path_hours as f64),
        if a.reference { "reference" } else { "fast" },
        report.seed
    );
    println!(
        "wall {:.3} s on {} thread(s): {:.3e} path-hours/s; peak memory {}",
        wall,
        threads,
        report.path_hours_per_s,
        report
            .peak_memory_mb
            .map(|m| format!("{m:.1} MB"))
            .unwrap_or_else(|| "n/a".into())
    );
    println!(
        "{:<10} {:>14} {:>10} {:>14} {:>14} {:>14}",
        "option", "mean", "s.e.", "p5", "p50", "p95"
    );
    for o in &report.options {
        println!(
            "{:<10} {:>14.2} {:>10.2} {:>14.2} {:>14.2} {:>14.2}",
            o.id, o.mean, o.std_error, o.p5, o.p50, o.p95
        );
    }
    if let Some(p) = report.p_hybrid_cheaper {
        println!("P(hybrid cheaper than API) = {p:.4}");
    }
    Ok(())
}
