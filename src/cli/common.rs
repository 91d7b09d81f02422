//! Flags and steps shared by the commands that simulate.

use breakeven::engine::{Controls, Engine, RunConfig, Sampler};
use breakeven::ids::OptionId;
use breakeven::scenario::{Override, Source};
use breakeven::shard::{self, Header, MAX_SHARDS};
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
pub use breakeven::limits::MAX_SAMPLES;

/// A count as people write it: `20000`, `20_000`, `20k`, `1.5M`.
pub fn count_u64(s: &str) -> Result<u64, String> {
    breakeven::count::parse_whole(s)
}

/// [`count_u64`] for sizes.
pub fn count_usize(s: &str) -> Result<usize, String> {
    let n = count_u64(s)?;
    usize::try_from(n).map_err(|_| format!("\"{s}\" is too large"))
}

/// `KEY=VALUE`.
pub fn parse_override(s: &str) -> Result<Override, String> {
    s.parse()
}

/// What-ifs on the scenario, without editing it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SetFlags {
    /// Override a scenario value: dotted keys as in the file, options by id
    /// (`demand.monthly.median=60k`, `option.h100.fleet.gpus=2`); repeatable. Checked exactly as
    /// the file is; the effective scenario is recorded in the JSON outputs.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub set: Vec<Override>,
}

/// Flags of every command that writes charts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ChartFlags {
    /// Write no chart files (PNG and SVG).
    #[arg(long)]
    pub no_charts: bool,
}

/// Flags of every sampling command.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// Sample paths, like 2000, 20k or 1.5M (default: the scenario's, else 2000).
    #[arg(long, value_parser = count_u64)]
    pub samples: Option<u64>,
    /// Stop once the headline comparison's relative standard error is below this (e.g. 0.01);
    /// --samples is then the most paths run.
    #[arg(long)]
    pub precision: Option<f64>,
    /// Seed (default: the scenario's, else 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = count_usize)]
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
        self.config_for(engine, None)
    }

    /// The engine configuration of shard `shard` (`--shard K/N`) of the run these flags ask
    /// for: the path cap and the run-time estimate apply to the shard's own paths, and
    /// `--precision` cannot apply (when to stop depends on every shard).
    pub fn config_for(
        &self,
        engine: &Engine,
        shard: Option<(u64, u64)>,
    ) -> anyhow::Result<RunConfig> {
        if shard.is_some() && self.precision.is_some() {
            return Err(super::InputError("--precision: cannot stop a shard early (when to stop depends on every shard's paths); expected --samples alone with --shard".into()).into());
        }
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
        // Where the number came from, to point at it.
        let label = match self.samples {
            Some(_) => "--samples".to_string(),
            None => format!("{}: samples", engine.scenario.file),
        };
        // Each part is capped, so a sharded run may take up to the cap on every machine.
        let (samples, total) = (breakeven::engine::shard_paths(samples, shard), samples);
        if samples > MAX_SAMPLES {
            let estimate = engine
                .estimate_seconds(samples, self.threads)
                .map(|s| format!(" (about {} on this machine)", duration(s)))
                .unwrap_or_default();
            if let Some((k, n)) = shard {
                return Err(super::InputError(format!("{label}: {total} paths put {samples} in shard {k}/{n}, more than {MAX_SAMPLES} paths a part{estimate}; expected at most {MAX_SAMPLES} paths in each part: more shards, or fewer paths")).into());
            }
            return Err(super::InputError(format!("{label}: {samples} is more than {MAX_SAMPLES} paths; a run that size would take too long{estimate}; expected at most {MAX_SAMPLES}, or use --precision to stop when the answer is precise enough, or --shard K/N to split it over machines")).into());
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
        self.check_out(engine)?;
        // Say up front how long a big run will take; refuse one that would take more than a day.
        if samples.saturating_mul(u64::from(engine.scenario.horizon_months)) >= ESTIMATE_FROM {
            if let Some(secs) = engine.estimate_seconds(samples, self.threads) {
                if secs > MAX_RUN_SECONDS && self.precision.is_none() {
                    return Err(super::InputError(format!(
                        "{label}: {samples} paths of {} months would take about {} on this machine; expected a run under {}: use fewer samples, or --precision to stop when the answer is precise enough",
                        engine.scenario.horizon_months,
                        duration(secs),
                        duration(MAX_RUN_SECONDS)
                    ))
                    .into());
                }
                if secs > 30.0 && !quiet() {
                    eprintln!(
                        "note: one pass of {samples} paths over {} months takes about {}{} here; Ctrl-C stops the run",
                        engine.scenario.horizon_months,
                        duration(secs),
                        if self.precision.is_some() { " at most" } else { "" }
                    );
                }
            }
        }
        let mut cfg = RunConfig::new(
            total,
            self.seed.or(engine.scenario.seed).unwrap_or(DEFAULT_SEED),
        );
        cfg.shard = shard;
        cfg.threads = self.threads;
        cfg.precision = self.precision;
        cfg.sampler = if self.reference {
            Sampler::Reference
        } else {
            Sampler::Fast
        };
        Ok(cfg)
    }

    /// A `--out` that cannot be a folder is bad input: say so before any work, not after it.
    fn check_out(&self, engine: &Engine) -> anyhow::Result<()> {
        let dir = self.out_dir(engine);
        let mut at = dir.as_path();
        loop {
            match std::fs::metadata(at) {
                Ok(m) if m.is_dir() => return Ok(()),
                Ok(_) => {
                    let what = if at == dir {
                        "exists and is not a folder".to_string()
                    } else {
                        format!("{} is a file, not a folder", at.display())
                    };
                    return Err(super::InputError(format!(
                        "--out: {}: {what}; expected a folder that exists or can be made",
                        dir.display()
                    ))
                    .into());
                }
                Err(_) => match at.parent() {
                    Some(p) if !p.as_os_str().is_empty() => at = p,
                    _ => return Ok(()),
                },
            }
        }
    }

    /// Where files go.
    pub fn out_dir(&self, engine: &Engine) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| Path::new("out").join(&engine.scenario.name))
    }
}

/// Start replacing `owner`'s files in output folder `dir`: checked now, before any work, and
/// swapped in whole by [`breakeven::report::output::Staged::commit`].
pub fn stage(dir: &Path, owner: &str) -> anyhow::Result<breakeven::report::output::Staged> {
    Ok(breakeven::report::output::Staged::begin(dir, owner)?)
}

/// A path for a message: control characters escaped, so a name cannot move the cursor.
pub fn shown(p: &Path) -> String {
    breakeven::names::escape(&p.display().to_string()).into_owned()
}

/// Runs of at least this many path-months are timed before they start.
const ESTIMATE_FROM: u64 = 1_000_000;
/// Longest run accepted without --precision [s].
const MAX_RUN_SECONDS: f64 = 24.0 * 3600.0;

/// `40 s`, `12 min`, `3.5 h`, `9 days`.
pub fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 3.0 * 86400.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.0} days", secs / 86400.0)
    }
}

/// Load a scenario, apply its `--set` overrides, and compile it.
pub fn load_engine(
    catalogue: &Catalogue,
    path: &Path,
    sets: &[Override],
) -> anyhow::Result<Engine> {
    Ok(load(catalogue, path, sets)?.1)
}

/// Load a scenario, apply its `--set` overrides and compile it, keeping the text simulated
/// (after the overrides, for a part file).
pub fn load(
    catalogue: &Catalogue,
    path: &Path,
    sets: &[Override],
) -> anyhow::Result<(Source, Engine)> {
    let file = Source::read(path)?;
    let scenario = file.parse_with(catalogue, sets)?;
    let source = Source {
        text: scenario.text.clone(),
        overrides: scenario.overrides.clone(),
        ..file
    };
    // Input problems name the file already; anything else gets the step that failed.
    let engine = Engine::new(scenario, catalogue).map_err(|e| match e {
        breakeven::Error::Input(_) => anyhow::Error::from(e),
        other => {
            anyhow::Error::from(other).context(format!("{}: compiling the options", path.display()))
        }
    })?;
    Ok((source, engine))
}

/// `--shard K/N`, parsed: `(K, N)` with `0 <= K < N <=` [`MAX_SHARDS`].
pub fn parse_shard(flag: Option<&str>) -> anyhow::Result<Option<(u64, u64)>> {
    let Some(s) = flag else { return Ok(None) };
    let bad = || {
        super::InputError(format!(
            "--shard: \"{}\" is not a shard; expected K/N with 0 <= K < N <= {MAX_SHARDS}, like 0/4",
            breakeven::names::escape(s)
        ))
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n || n > MAX_SHARDS {
        return Err(bad().into());
    }
    Ok(Some((k, n)))
}

/// Write the part `header` describes into output folder `dir`, as its own owner (so parts of
/// many machines in one shared folder each replace only their own file); `write` writes the
/// part's lines to the open file, named as given in messages.
pub fn write_part(
    dir: &Path,
    header: &Header,
    write: &mut dyn FnMut(&mut dyn std::io::Write, &str) -> breakeven::Result<()>,
) -> anyhow::Result<()> {
    let (c, k, n) = (header.command, header.shard, header.shards);
    let mut out = stage(dir, &shard::owner(c, k, n))?;
    let name = shard::file_name(c, k, n);
    let mut file = out.create(&name)?;
    let shown_path = shown(&out.final_path(&name));
    write(file.writer(), &shown_path)?;
    file.finish()?;
    out.commit()?;
    let all = shown(&dir.join(shard::file_name(c, 0, n).replace("-0-of-", "-*-of-")));
    let next = match c {
        shard::Command::PlanScreen => format!(
            "run the final round with `breakeven plan SCENARIO --shard K/N --screened {}`",
            shown(dir)
        ),
        _ => format!("combine them with `breakeven merge {all}`"),
    };
    note(format!(
        "wrote {shown_path} ({} of {} batches); once all {n} parts are written, {next}",
        header.batch_count(),
        header.total_batches(),
    ));
    Ok(())
}

/// The pair `--against A,B` names, as option ids of `engine`.
pub fn against(
    engine: &Engine,
    flag: Option<&str>,
) -> anyhow::Result<Option<(OptionId, OptionId)>> {
    let Some(text) = flag else { return Ok(None) };
    let ids: Vec<String> = engine.options.iter().map(|o| o.id.clone()).collect();
    let bad = |why: String| {
        super::InputError(format!(
            "--against: {why}; expected two option ids of {} separated by a comma (options: {})",
            engine.scenario.file,
            ids.join(", ")
        ))
    };
    let (a, b) = text
        .split_once(',')
        .ok_or_else(|| bad(format!("\"{text}\" is not two ids")))?;
    let find = |id: &str| {
        engine.option_id(id.trim()).ok_or_else(|| {
            bad(breakeven::catalogue::unknown(
                "option",
                id.trim(),
                ids.iter(),
            ))
        })
    };
    let (a, b) = (find(a)?, find(b)?);
    if a == b {
        return Err(bad(format!("\"{text}\" names one option twice")).into());
    }
    Ok(Some((a, b)))
}

/// Ctrl-C and a progress bar of `total` paths, for the engine's driver.
pub fn watch(total: u64) -> Watch {
    let bar = Arc::new(progress(total));
    let shown = bar.clone();
    Watch {
        cancel: cancel_flag(),
        bar,
        progress: Box::new(move |n| shown.set_position(n)),
    }
}

/// What [`watch`] sets up.
pub struct Watch {
    cancel: Arc<AtomicBool>,
    bar: Arc<DelayedBar>,
    progress: Box<dyn Fn(u64) + Sync + Send>,
}

impl Watch {
    /// The driver's view of it.
    pub fn controls(&self) -> Controls<'_> {
        Controls {
            cancel: &self.cancel,
            progress: &*self.progress,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The flag Ctrl-C sets; the engine checks it between batches of paths. One per process,
/// since a signal handler can be installed only once; a second Ctrl-C ends the process at
/// once (exit 130), which still leaves no half-written file.
pub fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        flag
    })
    .clone()
}

/// Whether `-q/--quiet` was given: print results only (no progress, no notes).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Set by `-q/--quiet` before the command runs.
pub static QUIET: AtomicBool = AtomicBool::new(false);

/// A note on stderr (files written, time estimates), unless `--quiet`.
pub fn note(text: impl AsRef<str>) {
    if !quiet() {
        eprintln!("{}", text.as_ref());
    }
}

/// A progress bar on stderr, shown only on a terminal, not with `--quiet`, and only once a run
/// has taken a second.
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
            && !quiet()
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
