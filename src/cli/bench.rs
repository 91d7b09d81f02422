//! `breakeven bench`: how fast the simulation runs, on the reference workloads (W1, the fluid
//! rule; W2, the same served as a queue; or both side by side, alternating) or a given
//! scenario. Nothing is written to disk; the figures go to stdout.

use super::common;
use breakeven::engine::{self, Engine, RunConfig, Sampler};
use breakeven::ids::OptionId;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The reference workloads, compiled in so `bench` runs from any folder.
const W1: &str = include_str!("../../scenarios/bench-w1.toml");
const W2: &str = include_str!("../../scenarios/bench-w2.toml");
/// The planner's workloads run on the shipped scenarios they are measured on.
const STARTUP_GROWTH: &str = include_str!("../../scenarios/startup-growth.toml");

/// Which reference workload to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// W1: the hybrid by the fluid rule (scenarios/bench-w1.toml).
    W1,
    /// W2: W1 served as a queue that overflows after 10 s (scenarios/bench-w2.toml).
    W2,
    /// W1 and W2 alternately, each run against the other's, and W2's time over W1's.
    Both,
    /// `plan` on W1's scenario: screening every candidate and the final round.
    Plan,
    /// `report` on startup-growth: run, sweep, sensitivity and plan, without writing.
    Report,
    /// `run` on startup-growth (2,000 paths): an autoscaled fleet and queue fleets hour by
    /// hour, bursty demand, small counts.
    Run,
}

pub const EXAMPLES: &str = "Examples:
  breakeven bench                                  # W1: 10k paths × 12 months
  breakeven bench --threads 2 --repeat 15 --scaling
  breakeven bench --paths 100k --json
  breakeven bench mine.toml --set demand.monthly.median=1M";

/// Flags of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario to time (default: the reference workload --workload names).
    pub scenario: Option<PathBuf>,
    /// Reference workload when no scenario is given.
    #[arg(long, value_enum, default_value = "w1", conflicts_with = "scenario")]
    pub workload: Workload,
    #[command(flatten)]
    pub set: super::common::SetFlags,
    /// Sample paths, like 10000 or 10k (default: the scenario's; 10,000 for W1).
    #[arg(long, value_parser = common::count_u64)]
    pub paths: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0, value_parser = common::count_usize)]
    pub threads: usize,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Time the plain per-hour Poisson sampler instead of the fast one.
    #[arg(long)]
    pub reference: bool,
    /// Run this many times and report the median (the machine may be shared and noisy).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Also time one thread, alternating with the --threads runs, and report the speed-up.
    #[arg(long)]
    pub scaling: bool,
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
    /// Share of fleet-bound images overflowed (fleets).
    #[serde(skip_serializing_if = "Option::is_none")]
    overflow_share: Option<f64>,
    /// End-to-end latency of fleet-served images [s] (fleets).
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_p50_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_p95_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_p99_s: Option<f64>,
}

#[derive(Serialize)]
struct BenchReport {
    scenario: String,
    sampler: Sampler,
    paths: u64,
    months: u32,
    path_hours: u64,
    threads: usize,
    /// Median wall time of the runs [s].
    wall_s: f64,
    /// Every run's wall time [s].
    walls_s: Vec<f64>,
    /// Median CPU time of the process per run (all threads) [s].
    cpu_s: f64,
    path_hours_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling: Option<Scaling>,
    peak_memory_mb: Option<f64>,
    seed: u64,
    options: Vec<OptionFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p_hybrid_cheaper: Option<f64>,
}

/// One thread against `threads`, timed alternately.
#[derive(Serialize)]
struct Scaling {
    /// Median wall time on one thread [s].
    one_thread_wall_s: f64,
    /// Every one-thread run's wall time [s].
    one_thread_walls_s: Vec<f64>,
    /// One-thread median over the --threads median.
    speedup: f64,
}

/// CPU time this process has used, all threads [s].
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    breakeven::stats::quantile_sorted(&s, 0.5)
}

/// Peak resident memory of this process [MB], from /proc (Linux only).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    if a.repeat == 0 || a.repeat > 1000 {
        return Err(super::InputError(format!(
            "--repeat: {} is out of range; expected 1 to 1000",
            a.repeat
        ))
        .into());
    }
    let builtin = |text: &str, name: &str| {
        Scenario::parse_with(
            text,
            &format!("scenarios/{name}.toml (built in)"),
            name,
            catalogue,
            &a.set.set,
        )
    };
    let engines: Vec<Engine> = match (&a.scenario, a.workload) {
        (Some(p), _) => vec![Engine::new(
            Scenario::load_with(p, catalogue, &a.set.set)?,
            catalogue,
        )?],
        (None, Workload::W1) => vec![Engine::new(builtin(W1, "bench-w1")?, catalogue)?],
        (None, Workload::W2) => vec![Engine::new(builtin(W2, "bench-w2")?, catalogue)?],
        (None, Workload::Both) => vec![
            Engine::new(builtin(W1, "bench-w1")?, catalogue)?,
            Engine::new(builtin(W2, "bench-w2")?, catalogue)?,
        ],
        (None, Workload::Run) => vec![Engine::new(
            builtin(STARTUP_GROWTH, "startup-growth")?,
            catalogue,
        )?],
        (None, Workload::Plan | Workload::Report) => return time_command(catalogue, &a, builtin),
    };
    let mut timings: Vec<Timing> = Vec::new();
    for e in &engines {
        timings.push(Timing::new(e, &a)?);
    }
    // Runs alternate between the workloads (and one thread, with --scaling), so that each
    // sees the same noise of a shared machine.
    for _ in 0..a.repeat {
        for t in timings.iter_mut() {
            t.once(&a)?;
        }
    }
    let reports: Vec<BenchReport> = timings.into_iter().map(|t| t.report(&a)).collect();
    if a.json {
        if let [w1, w2] = &reports[..] {
            let both = serde_json::json!({
                "w1": w1,
                "w2": w2,
                "w2_over_w1": w2.wall_s / w1.wall_s,
            });
            println!("{}", serde_json::to_string_pretty(&both)?);
        } else {
            println!("{}", serde_json::to_string_pretty(&reports[0])?);
        }
        return Ok(());
    }
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_report(r, &a);
    }
    if let [w1, w2] = &reports[..] {
        println!(
            "\nW2 / W1 wall time: {:.2} ({:.3} s / {:.3} s, medians of {} alternating runs each)",
            w2.wall_s / w1.wall_s,
            w2.wall_s,
            w1.wall_s,
            a.repeat
        );
    }
    Ok(())
}

/// A whole command's figures: `plan` on W1's scenario or `report` on startup-growth.
#[derive(Serialize)]
struct CommandReport {
    workload: &'static str,
    scenario: String,
    paths: u64,
    threads: usize,
    /// Median wall time of the runs [s].
    wall_s: f64,
    walls_s: Vec<f64>,
    /// Median CPU time per run (all threads) [s].
    cpu_s: f64,
    peak_memory_mb: Option<f64>,
    seed: u64,
    /// What the command answered, so a faster build can be checked to answer the same.
    answer: String,
}

/// Time `plan` (on bench-w1) or `report` (on startup-growth) as the commands run them, at
/// their default paths unless --paths is given; nothing is written.
fn time_command(
    catalogue: &Catalogue,
    a: &Args,
    builtin: impl Fn(&str, &str) -> breakeven::Result<Scenario>,
) -> anyhow::Result<()> {
    use breakeven::analysis::plan::{plan, PlanConfig};
    use breakeven::report::full::{build, ReportConfig};
    let (workload, scenario) = match a.workload {
        Workload::Plan => ("plan", builtin(W1, "bench-w1")?),
        _ => ("report", builtin(STARTUP_GROWTH, "startup-growth")?),
    };
    let engine = Engine::new(scenario, catalogue)?;
    let paths = a
        .paths
        .or(engine.scenario.samples)
        .unwrap_or(common::DEFAULT_SAMPLES);
    let seed = a
        .seed
        .or(engine.scenario.seed)
        .unwrap_or(common::DEFAULT_SEED);
    let mut run = RunConfig::new(paths, seed);
    run.threads = a.threads;
    let threads = if a.threads == 0 {
        rayon::current_num_threads()
    } else {
        a.threads
    };
    let (mut walls, mut cpus, mut answer) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..a.repeat {
        let (cpu0, start) = (cpu_seconds(), Instant::now());
        answer = match a.workload {
            Workload::Plan => {
                let r = plan(
                    &engine.scenario,
                    catalogue,
                    &PlanConfig::new(run.clone()),
                    engine::unwatched(),
                )?;
                format!(
                    "recommended {} at a mean ${:.0} ± {:.0}",
                    r.recommended.id, r.recommended.mean_usd, r.recommended.std_error_usd
                )
            }
            _ => {
                let cfg = ReportConfig {
                    run: run.clone(),
                    against: None,
                };
                let r = build(&engine, catalogue, &cfg, engine::unwatched(), &|_| {})?;
                match &r.summary.verdict {
                    Some(v) => format!(
                        "{} beats {} by ${:.0} ± {:.0} over the horizon",
                        v.winner, v.runner_up, v.mean_saving_usd, v.mean_saving_std_error
                    ),
                    None => "no verdict".into(),
                }
            }
        };
        walls.push(start.elapsed().as_secs_f64());
        cpus.push(cpu_seconds() - cpu0);
    }
    let report = CommandReport {
        workload,
        scenario: engine.scenario.name.clone(),
        paths,
        threads,
        wall_s: median(&walls),
        walls_s: walls,
        cpu_s: median(&cpus),
        peak_memory_mb: peak_memory_mb(),
        seed,
        answer,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} on {}: {} paths, seed {}\nwall {:.3} s (median of {} runs) on {} thread(s), CPU {:.3} s; peak memory {}\n{}",
            report.workload,
            report.scenario,
            report.paths,
            report.seed,
            report.wall_s,
            a.repeat,
            report.threads,
            report.cpu_s,
            report
                .peak_memory_mb
                .map(|m| format!("{m:.1} MB"))
                .unwrap_or_else(|| "n/a".into()),
            report.answer
        );
    }
    Ok(())
}

/// One workload's timed runs.
struct Timing<'a> {
    engine: &'a Engine,
    cfg: RunConfig,
    paths: u64,
    threads: usize,
    walls: Vec<f64>,
    cpus: Vec<f64>,
    one_thread: Vec<f64>,
    last: Option<engine::RunResult>,
}

impl<'a> Timing<'a> {
    fn new(engine: &'a Engine, a: &Args) -> anyhow::Result<Timing<'a>> {
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
        Ok(Timing {
            engine,
            cfg,
            paths,
            threads,
            walls: Vec::new(),
            cpus: Vec::new(),
            one_thread: Vec::new(),
            last: None,
        })
    }

    /// Every run is the same paths from the same seed; the last one's figures are printed.
    fn timed(&self, threads: usize) -> anyhow::Result<(f64, f64, engine::RunResult)> {
        let cfg = RunConfig {
            threads,
            ..self.cfg.clone()
        };
        let (cpu0, start) = (cpu_seconds(), Instant::now());
        let result = engine::run(self.engine, &cfg, engine::unwatched())?;
        Ok((start.elapsed().as_secs_f64(), cpu_seconds() - cpu0, result))
    }

    fn once(&mut self, a: &Args) -> anyhow::Result<()> {
        if a.scaling {
            self.one_thread.push(self.timed(1)?.0);
        }
        // Let the previous run's results go first, so they do not add to peak memory.
        drop(self.last.take());
        let (w, c, r) = self.timed(a.threads)?;
        self.walls.push(w);
        self.cpus.push(c);
        self.last = Some(r);
        Ok(())
    }

    fn report(self, a: &Args) -> BenchReport {
        let engine = self.engine;
        let result = self.last.expect("at least one run");
        let wall = median(&self.walls);
        let scaling = a.scaling.then(|| Scaling {
            one_thread_wall_s: median(&self.one_thread),
            speedup: median(&self.one_thread) / wall,
            one_thread_walls_s: self.one_thread.clone(),
        });
        let path_hours = self.paths * engine.hours_per_path();
        let options: Vec<OptionFigures> = engine
            .options
            .iter()
            .zip(&result.options)
            .enumerate()
            .map(|(i, (o, st))| {
                let s = st.total.summary();
                let latency = engine.latency_quantiles(OptionId(i), st);
                OptionFigures {
                    id: o.id.clone(),
                    mean: s.mean,
                    std_error: s.std_error,
                    p5: s.p5,
                    p50: s.p50,
                    p95: s.p95,
                    overflow_share: o.fleet.as_ref().map(|_| st.overflow.value()),
                    latency_p50_s: latency.map(|l| l[0]),
                    latency_p95_s: latency.map(|l| l[1]),
                    latency_p99_s: latency.map(|l| l[2]),
                }
            })
            .collect();
        let api = engine.options.iter().position(|o| o.is_api());
        let hybrid = engine.options.iter().position(|o| !o.is_api());
        let p_hybrid_cheaper = match (api, hybrid) {
            (Some(a), Some(h)) => Some(result.p_cheaper(OptionId(h), OptionId(a))),
            _ => None,
        };
        BenchReport {
            scenario: engine.scenario.name.clone(),
            sampler: self.cfg.sampler,
            paths: self.paths,
            months: engine.scenario.horizon_months,
            path_hours,
            threads: self.threads,
            wall_s: wall,
            walls_s: self.walls.clone(),
            cpu_s: median(&self.cpus),
            path_hours_per_s: path_hours as f64 / wall,
            peak_memory_mb: peak_memory_mb(),
            scaling,
            seed: self.cfg.seed,
            options,
            p_hybrid_cheaper,
        }
    }
}

fn print_report(report: &BenchReport, a: &Args) {
    println!(
        "{}: {} paths × {} months ({} path-hours), {} sampler, seed {}",
        report.scenario,
        report.paths,
        report.months,
        breakeven::money::format_count(report.path_hours as f64),
        if a.reference { "reference" } else { "fast" },
        report.seed
    );
    let of_runs = if a.repeat > 1 {
        format!(" (median of {} runs)", a.repeat)
    } else {
        String::new()
    };
    println!(
        "wall {:.3} s{of_runs} on {} thread(s), CPU {:.3} s: {:.3e} path-hours/s; peak memory {}",
        report.wall_s,
        report.threads,
        report.cpu_s,
        report.path_hours_per_s,
        report
            .peak_memory_mb
            .map(|m| format!("{m:.1} MB"))
            .unwrap_or_else(|| "n/a".into())
    );
    if let Some(s) = &report.scaling {
        println!(
            "one thread {:.3} s{of_runs}, alternating with the runs above: {:.2}× faster on {} threads",
            s.one_thread_wall_s, s.speedup, report.threads
        );
    }
    println!(
        "{:<10} {:>14} {:>10} {:>14} {:>14} {:>14} {:>9} {:>22}",
        "option", "mean", "s.e.", "p5", "p50", "p95", "overflow", "latency p50/p95/p99"
    );
    for o in &report.options {
        let overflow = o
            .overflow_share
            .map_or_else(|| "–".into(), |v| format!("{:.2}%", 100.0 * v));
        let latency = match (o.latency_p50_s, o.latency_p95_s, o.latency_p99_s) {
            (Some(a), Some(b), Some(c)) => format!("{a:.2}/{b:.2}/{c:.2} s"),
            _ => "–".into(),
        };
        println!(
            "{:<10} {:>14.2} {:>10.2} {:>14.2} {:>14.2} {:>14.2} {:>9} {:>22}",
            o.id, o.mean, o.std_error, o.p5, o.p50, o.p95, overflow, latency
        );
    }
    if let Some(p) = report.p_hybrid_cheaper {
        println!("P(hybrid cheaper than API) = {p:.4}");
    }
}
