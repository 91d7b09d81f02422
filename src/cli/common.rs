//! Flags and steps shared by the commands that simulate.

use anyhow::Context;
use breakeven::engine::{Engine, RunConfig, Sampler};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default sample paths when neither the flag nor the scenario says.
pub const DEFAULT_SAMPLES: u64 = 2_000;
/// Default seed when neither the flag nor the scenario says.
pub const DEFAULT_SEED: u64 = 42;
/// Most sample paths a run may ask for.
pub const MAX_SAMPLES: u64 = 10_000_000;

/// Flags of every sampling command.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// Sample paths (default: the scenario's, else 2000).
    #[arg(long)]
    pub samples: Option<u64>,
    /// Stop once the headline comparison's relative standard error is below this (e.g. 0.01);
    /// --samples is then the most paths run.
    #[arg(long)]
    pub precision: Option<f64>,
    /// Seed (default: the scenario's, else 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: out/<scenario>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Use the plain per-hour Poisson sampler (slow; for checking the fast one).
    #[arg(long, hide = true)]
    pub reference: bool,
}

impl RunFlags {
    /// The engine configuration these flags ask for.
    pub fn config(&self, engine: &Engine) -> anyhow::Result<RunConfig> {
        let samples = self
            .samples
            .or(engine.scenario.samples)
            .unwrap_or(DEFAULT_SAMPLES);
        if samples == 0 {
            return Err(super::InputError(
                "--samples: 0 is not a number of sample paths; expected at least 1".into(),
            )
            .into());
        }
        if samples > MAX_SAMPLES {
            return Err(super::InputError(format!("--samples: {samples} is more than {MAX_SAMPLES} paths; a run that size would take hours; use --precision to stop when the answer is precise enough")).into());
        }
        if let Some(p) = self.precision {
            if !(p.is_finite() && p > 0.0 && p < 1.0) {
                return Err(super::InputError(format!("--precision: {p} is not a relative error; expected a number between 0 and 1, like 0.01")).into());
            }
        }
        if self.threads > 1024 {
            return Err(super::InputError(format!(
                "--threads: {} is too many; expected 0 (all cores) to 1024",
                self.threads
            ))
            .into());
        }
        let mut cfg = RunConfig::new(
            samples,
            self.seed.or(engine.scenario.seed).unwrap_or(DEFAULT_SEED),
        );
        cfg.threads = self.threads;
        cfg.precision = self.precision;
        cfg.sampler = if self.reference {
            Sampler::Reference
        } else {
            Sampler::Fast
        };
        Ok(cfg)
    }

    /// Where files go.
    pub fn out_dir(&self, engine: &Engine) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("out").join(&engine.scenario.name))
    }
}

/// Load and compile a scenario.
pub fn load_engine(catalogue: &Catalogue, path: &Path) -> anyhow::Result<Engine> {
    let scenario = Scenario::load(path, catalogue)?;
    Engine::new(scenario, catalogue)
        .with_context(|| format!("{}: compiling the options", path.display()))
}

/// A flag set by Ctrl-C; the engine checks it between rounds of paths.
pub fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // A second handler cannot be installed (tests run commands in one process): then Ctrl-C
    // simply ends the process, which still leaves no half-written file.
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    flag
}

/// A progress bar on stderr, shown only on a terminal and only once a run has taken a second.
pub fn progress(total: u64) -> DelayedBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} paths, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    DelayedBar {
        bar,
        start: Instant::now(),
        shown: AtomicBool::new(false),
    }
}

/// See [`progress`].
pub struct DelayedBar {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
}

impl DelayedBar {
    /// Paths done.
    pub fn set_position(&self, n: u64) {
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.store(true, Ordering::Relaxed);
        }
        self.bar.set_position(n);
    }
    /// Remove the bar.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}
