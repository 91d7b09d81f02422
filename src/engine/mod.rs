//! The Monte Carlo engine: compile a scenario's options, simulate paths (sample the inputs,
//! step through the horizon month by month and hour by hour, price each month exactly), and
//! fold the paths into statistics through the one driver every command uses.
//!
//! - [`compile`]: options as priced items and fleets.
//! - [`path`]: one path, month by month; [`hour`]: the hours that must be simulated one by one;
//!   `pooled`: a bursty month's hours in bins of nearby rates.
//! - [`billing`]: a month's quantities priced in exact decimals (with [`crate::money`], the one
//!   place where sampled `f64` quantities become money).
//! - [`seeds`], [`driver`], [`fold`]: reproducible batches, threads, and what is gathered.
//! - [`result`]: what a path gives and what a run gathers.
//!
//! Two samplers give the same distribution:
//! - [`Sampler::Reference`] draws a Poisson count for every stream in every hour: plain and slow.
//! - [`Sampler::Fast`] first asks, for each hour, whether any fleet could leave its linear
//!   regime (its expected work plus seven standard deviations reaches the point where it
//!   saturates or rescales, or it carries a backlog). Hours that cannot are pooled: a sum of
//!   independent Poisson counts is one Poisson count, drawn once per stream and month. Hours
//!   that can are sampled one by one, with a normal approximation for counts whose mean is at
//!   least [`NORMAL_APPROX_MIN_MEAN`], drawn through the few numbers the fleets see
//!   (`projection`). Streams no fleet serves are always pooled: their cost is linear in their
//!   count. Tests check both samplers agree within Monte Carlo error.
//!
//! That pooling is for fleets served by the fluid rule. A queue's overflow and waits
//! ([`crate::fleet`]) are nonlinear in the hour's rate at every load, so under the fast sampler
//! queue fleets see each hour at its expected rate (month volume × the hour's share × its
//! burst, the bursts then drawn for every hour), once per distinct hour share when the fleet
//! carries nothing from hour to hour, and in bursty months once per bin of nearby rates below
//! half load (`pooled`); their streams' month counts are pooled Poisson draws
//! (given the bursts), split into overflowed and served as Binomial(N, p̄) with p̄ the month's
//! request-weighted overflow share. The reference sampler draws every hour's counts and
//! evaluates each queue at them; `tests/suite/serving.rs` holds the two to stated tolerances.
//! Latency is folded per option as exact fixed-point masses ([`result::LatencyStats`]):
//! requests at known latencies, and requests recorded against queue tables' rows, written into
//! one histogram when a report asks ([`Engine::latency`]).
//!
//! # Example
//!
//! ```
//! use breakeven::engine::{self, Engine, RunConfig};
//! use breakeven::{scenario::Scenario, Catalogue};
//!
//! let catalogue = Catalogue::builtin()?;
//! let text = r#"
//! horizon_months = 3
//! [demand]
//! monthly = 140000
//! arrivals = "fluid"
//! [[mix]]
//! size = "1024x1024"
//! share = 1.0
//! [[option]]
//! id = "api"
//! api = "bfl/flux-2-klein-4b"
//! "#;
//! let scenario = Scenario::parse(text, "example.toml", "example", &catalogue)?;
//! let engine = Engine::new(scenario, &catalogue)?;
//! let result = engine::run(&engine, &RunConfig::new(200, 1), engine::unwatched())?;
//! // Fixed demand, expected counts: 3 months × 140,000 images × $0.014 on every path.
//! assert_eq!(result.options[0].total.mean(), 5880.0);
//! # Ok::<(), breakeven::Error>(())
//! ```

mod billing;
pub mod compile;
pub mod driver;
pub mod fold;
mod hour;
mod path;
mod pooled;
mod projection;
pub mod result;
pub mod seeds;
mod state;

pub use compile::{Compiled, Item, ItemKind, Stream};
pub use driver::{
    drive, drive_shard, shard_paths, unwatched, Controls, PathJob, Sink, BATCH, ROUND,
};
pub use fold::{Fold, Gather, Merge};
pub use result::{
    Headline, LatencyStats, OptionPath, OptionStats, Pair, PathLatency, PathResult, RowTally,
    RunResult, WeekTrace,
};

use crate::catalogue::Catalogue;
use crate::demand::month_shares;
use crate::error::Result;
use crate::fleet::QueueCache;
use crate::ids::{InputId, OptionId, StreamId};
use crate::queue::LatencyHistogram;
use crate::scenario::{Normalise, Scenario, HOURS_PER_MONTH};
use projection::{FleetStreams, Projection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A count whose mean is at least this is drawn from a normal approximation by the fast sampler.
pub const NORMAL_APPROX_MIN_MEAN: f64 = 500.0;
/// Standard deviations of headroom before an hour is treated as possibly non-linear.
pub const LINEAR_SIGMAS: f64 = 7.0;
/// Fluid fleets from which their months are stepped side by side ([`Engine::fluid_months_from`]).
pub const FLUID_MONTHS_FROM: usize = 16;

/// How arrivals are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Pool linear hours, normal approximation at large means.
    Fast,
    /// Every stream, every hour, exact Poisson.
    Reference,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Paths to simulate (the most, with `precision`).
    pub samples: u64,
    /// Seed.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Stop early once the headline comparison's relative standard error is below this.
    pub precision: Option<f64>,
    /// Sampler.
    pub sampler: Sampler,
    /// Inputs pinned to a value (sensitivity, sweeps); `None` = sampled.
    pub pins: Vec<Option<f64>>,
    /// Only the batches `b ≡ k (mod n)` of shard `(k, n)`.
    pub shard: Option<(u64, u64)>,
}

impl RunConfig {
    /// A plain run of `samples` paths from `seed`.
    pub fn new(samples: u64, seed: u64) -> RunConfig {
        RunConfig {
            samples,
            seed,
            threads: 0,
            precision: None,
            sampler: Sampler::Fast,
            pins: Vec::new(),
            shard: None,
        }
    }

    /// Pin input `i` to `value` for every path.
    pub fn pin(&mut self, i: InputId, value: f64) {
        if self.pins.len() <= i.0 {
            self.pins.resize(i.0 + 1, None);
        }
        self.pins[i.0] = Some(value);
    }
}

/// A scenario compiled against a catalogue, ready to run.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The scenario.
    pub scenario: Scenario,
    /// Streams (stage × bucket).
    pub streams: Vec<Stream>,
    /// Compiled options, in scenario order.
    pub options: Vec<Compiled>,
    /// The options that run a fleet, by fleet: the fluid ones first, then the queues.
    pub(crate) fleets: Vec<OptionId>,
    /// How many of `fleets` serve by the fluid rule.
    pub(crate) n_fluid: usize,
    /// Each month's distinct hour shares and how many hours have each, largest first (queue
    /// fleets that carry nothing between hours are evaluated once per distinct share).
    share_groups: Vec<Vec<(f64, u32)>>,
    /// Hour shares of each month.
    shares: Vec<Vec<f64>>,
    month_share_total: Vec<f64>,
    /// Σ share² of each month's hours.
    month_share_sq: Vec<f64>,
    /// Streams some fleet serves; only these are sampled hour by hour.
    sampled_streams: Vec<StreamId>,
    /// Every stream (the reference sampler samples them all).
    all_streams: Vec<StreamId>,
    /// When no fleet can hold a backlog (always-on fleets that overflow at once), their
    /// hourly capacity and GPUs. None otherwise.
    stateless: Option<Stateless>,
    /// Each month's hours, largest share first.
    sorted_hours: Vec<Vec<u16>>,
    /// Σ share over `sorted_hours[m][k..]`, for k = 0..=730.
    suffix_share: Vec<Vec<f64>>,
    /// Σ share² likewise.
    suffix_share_sq: Vec<Vec<f64>>,
    /// How the fast sampler draws an hour in which every sampled stream's count is large
    /// (None: the fleets see every direction, so it would save nothing).
    projection: Option<Projection>,
    /// Step queue fleets that carry nothing between hours through the lean month loop
    /// (`hour::stateless_queue_month`); false steps them hour by hour through the general
    /// `Fleet::step_queue_into`, its reference (the same figures, tested).
    #[doc(hidden)]
    pub lean_queue_months: bool,
    /// Take a queue fleet's month without bursts once per distinct hour share when nothing
    /// carries between its hours (`hour::grouped_month`); false steps every hour, the
    /// reference (tests compare the two).
    #[doc(hidden)]
    pub grouped_months: bool,
    /// Take a bursty month's hours of a fleet that carries nothing between hours once per bin
    /// of nearby rates (`pooled`), where its queue is below half load; false takes every hour
    /// through the lean loops, the reference (tests compare the two within stated tolerances).
    #[doc(hidden)]
    pub pooled_queue_hours: bool,
    /// Pool the fluid fleets' hours that are linear where the fleets are (an autoscaler that
    /// holds its size, `PathScratch::linear_hour`), not only those at rest; false samples
    /// them, as the reference sampler does every hour (tests compare the two).
    #[doc(hidden)]
    pub linear_hours: bool,
    /// Read serverless hours from a table of the path's hour bills by rate
    /// (`serverless::BillTable`); false settles every hour on its own (the reference).
    #[doc(hidden)]
    pub serverless_tables: bool,
    /// From this many fluid fleets on, the fast sampler draws every hour of a month first
    /// and steps each fluid fleet through it on its own, the fleets side by side
    /// (`PathScratch::step_fluid_month`): past a dozen fleets hardly an hour holds them all,
    /// so pooling saves little and one thread would step them all.
    #[doc(hidden)]
    pub fluid_months_from: usize,
    /// For each option, what the lean month loop's steps depend on (None for options it does
    /// not step): two options with the same steps them alike, hour for hour, whatever they
    /// pay (`hour::stepping_signature`).
    pub(crate) stepping: Vec<Option<String>>,
    /// Where its queue fleets' tables are kept (see [`Engine::with_tables`]).
    pub tables: Arc<QueueCache>,
}

impl Engine {
    /// Compile a scenario.
    pub fn new(scenario: Scenario, catalogue: &Catalogue) -> Result<Engine> {
        Engine::with_tables(scenario, catalogue, Arc::default())
    }

    /// Compile a scenario whose queue fleets keep their tables in `tables`, which other
    /// engines may share: a table depends only on its key, and its rows and grid points are
    /// the same whoever solves them first, so sharing changes no figure, only how often a
    /// table is solved (the what-if server's updates share one cache).
    pub fn with_tables(
        scenario: Scenario,
        catalogue: &Catalogue,
        tables: Arc<QueueCache>,
    ) -> Result<Engine> {
        let streams = compile::streams(&scenario);
        let options = compile::compile(&scenario, catalogue, &streams, &tables)?;
        let shares = month_shares(
            &scenario.demand.profile,
            scenario.horizon_months,
            scenario.demand.normalise,
        );
        // Month-normalised shares sum to 1 by construction; say so exactly rather than trust
        // a floating-point sum, so fixed volumes price exactly.
        let month_share_total = shares
            .iter()
            .map(|s| match scenario.demand.normalise {
                Normalise::Month => 1.0,
                Normalise::Week => s.iter().sum(),
            })
            .collect();
        let month_share_sq = shares
            .iter()
            .map(|s| s.iter().map(|x| x * x).sum())
            .collect();
        let all_streams = (0..streams.len()).map(StreamId).collect();
        // Fluid fleets first: the pooling, projection and stateless shortcuts below are theirs
        // (by fleet index, from 0); queue fleets follow.
        let fleet_of = |queued: bool| {
            options
                .iter()
                .enumerate()
                .filter(move |(_, o)| o.fleet.as_ref().is_some_and(|f| f.queued() == queued))
                .map(|(i, _)| OptionId(i))
        };
        let fleets: Vec<OptionId> = fleet_of(false).chain(fleet_of(true)).collect();
        let n_fluid = fleet_of(false).count();
        let fluid_fleets = || {
            options
                .iter()
                .filter_map(|o| o.fleet.as_ref())
                .filter(|f| !f.queued())
        };
        // Fixed fleets that overflow at once carry nothing from hour to hour; when every fluid
        // fleet is one, no fluid fleet can hold a backlog.
        let stateless = fluid_fleets()
            .map(|f| Some((f.stateless_capacity()?, f.fixed_gpus()? as f64)))
            .collect::<Option<Vec<(f64, f64)>>>()
            .map(|v| {
                let (capacity, gpus) = v.into_iter().unzip();
                Stateless { capacity, gpus }
            });
        let sorted_hours: Vec<Vec<u16>> = shares
            .iter()
            .map(|s| {
                let mut idx: Vec<u16> = (0..s.len() as u16).collect();
                idx.sort_by(|a, b| s[*b as usize].total_cmp(&s[*a as usize]).then(a.cmp(b)));
                idx
            })
            .collect();
        let suffix = |f: fn(f64) -> f64| -> Vec<Vec<f64>> {
            shares
                .iter()
                .zip(&sorted_hours)
                .map(|(s, order)| {
                    let mut out = vec![0.0; order.len() + 1];
                    for k in (0..order.len()).rev() {
                        out[k] = out[k + 1] + f(s[order[k] as usize]);
                    }
                    out
                })
                .collect()
        };
        let suffix_share = suffix(|x| x);
        let suffix_share_sq = suffix(|x| x * x);
        // Only fluid fleets need an hour's counts; queue fleets are evaluated at the hour's
        // expected rate by the fast sampler.
        let mut sampled_streams: Vec<StreamId> = fluid_fleets()
            .flat_map(|f| f.fleet_streams.iter().copied())
            .collect();
        sampled_streams.sort_unstable();
        sampled_streams.dedup();
        let per_rate: Vec<f64> = streams.iter().map(|s| s.per_asset).collect();
        let fleet_rows: Vec<FleetStreams> = fluid_fleets()
            .map(|f| FleetStreams {
                streams: &f.fleet_streams,
                seconds: &f.stream_seconds,
            })
            .collect();
        let projection = Projection::new(&sampled_streams, &per_rate, &fleet_rows);
        let share_groups = shares.iter().map(|s| group_shares(s)).collect();
        let stepping = options
            .iter()
            .map(|o| {
                o.fleet
                    .as_ref()
                    .and_then(|f| hour::stepping_signature(f, &streams))
            })
            .collect();
        Ok(Engine {
            n_fluid,
            share_groups,
            scenario,
            streams,
            options,
            fleets,
            shares,
            month_share_total,
            month_share_sq,
            sampled_streams,
            all_streams,
            stateless,
            sorted_hours,
            suffix_share,
            suffix_share_sq,
            projection,
            lean_queue_months: true,
            grouped_months: true,
            pooled_queue_hours: true,
            linear_hours: true,
            serverless_tables: true,
            fluid_months_from: FLUID_MONTHS_FROM,
            stepping,
            tables,
        })
    }

    /// The same compiled options with a changed scenario (arrivals, demand shape); the
    /// scenario's options, mix and stages must be the ones the engine was compiled from.
    pub fn with_scenario(&self, scenario: Scenario) -> Engine {
        Engine {
            scenario,
            ..self.clone()
        }
    }

    /// Path-hours one path simulates.
    pub fn hours_per_path(&self) -> u64 {
        self.scenario.horizon_months as u64 * HOURS_PER_MONTH as u64
    }

    /// Option `o`.
    pub fn option(&self, o: OptionId) -> &Compiled {
        &self.options[o.0]
    }

    /// Which options are pure APIs, in scenario order.
    pub fn is_api(&self) -> Vec<bool> {
        self.options.iter().map(Compiled::is_api).collect()
    }

    /// An empty fold of a run of this engine.
    pub fn new_result(&self) -> RunResult {
        RunResult::new(self.is_api(), self.scenario.horizon_months as usize)
    }

    /// Seconds `samples` paths would take on `threads` threads (0 = all cores) on this
    /// machine, from timing a few paths; `None` when a timed path fails.
    pub fn estimate_seconds(&self, samples: u64, threads: usize) -> Option<f64> {
        use rand::SeedableRng;
        const PILOT_PATHS: u64 = 4;
        let cfg = RunConfig::new(PILOT_PATHS, 0);
        let start = std::time::Instant::now();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        for path in 0..PILOT_PATHS {
            self.simulate_path(path, &mut rng, &cfg, false).ok()?;
        }
        let per_path = start.elapsed().as_secs_f64() / PILOT_PATHS as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = if threads == 0 {
            cores
        } else {
            threads.min(cores)
        };
        Some(per_path * samples as f64 / threads as f64)
    }

    /// The end-to-end latency (wait + service, and a cold start where one is waited for) of
    /// option `o`'s fleet-served images over a run's paths, request-weighted over hours and
    /// paths; `None` for an API option. Overflowed images are not in it: they take the API's
    /// latency, which the catalogue does not have.
    pub fn latency(&self, o: OptionId, stats: &OptionStats) -> Option<LatencyHistogram> {
        let f = self.option(o).fleet.as_ref()?;
        let mut h = stats.latency.histogram();
        if let Some(q) = &f.queue {
            for ((servers, step), (w, d)) in &stats.latency.rows {
                let (servers, step) = (*servers, *step);
                let shift = step - crate::fleet::QueueCache::table_step(q, step);
                let read = q.cache.table(q, servers, step);
                let w = LatencyStats::requests(w);
                // A shared table's rows moved by the step; where that would leave the
                // histogram, the table solved at the step.
                if !read.write_rows_shifted(&mut h, &w, shift) {
                    q.cache
                        .table_at(q, servers, step)
                        .write_rows(&mut h, &w, 0.0);
                }
                // A cold start is added in seconds, so those requests take the table of
                // their own step.
                let d = LatencyStats::requests(d);
                if d.iter().any(|&x| x > 0.0) {
                    q.cache.table_at(q, servers, step).write_rows(
                        &mut h,
                        &d,
                        f.cold_start_seconds(),
                    );
                }
            }
        }
        Some(h)
    }

    /// The p50, p95 and p99 of option `o`'s fleet-served latency [s] ([`Engine::latency`]);
    /// `None` for an API option or a fleet that served nothing. ∞ where the quantile falls
    /// among images that waited without end (a fleet that never caught up).
    pub fn latency_quantiles(&self, o: OptionId, stats: &OptionStats) -> Option<[f64; 3]> {
        let h = self.latency(o, stats)?;
        (h.total() > 0.0).then(|| [h.quantile(0.5), h.quantile(0.95), h.quantile(0.99)])
    }

    /// The option named `id`.
    pub fn option_id(&self, id: &str) -> Option<OptionId> {
        self.options.iter().position(|o| o.id == id).map(OptionId)
    }
}

/// A month's hour shares grouped by value: (share, hours), largest share first.
fn group_shares(shares: &[f64]) -> Vec<(f64, u32)> {
    let mut v: Vec<f64> = shares.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let mut out: Vec<(f64, u32)> = Vec::new();
    for x in v {
        match out.last_mut() {
            Some((y, n)) if *y == x => *n += 1,
            _ => out.push((x, 1)),
        }
    }
    out
}

/// Fleets that carry nothing from hour to hour, by fleet.
#[derive(Debug, Clone)]
struct Stateless {
    /// Capacity [GPU-s per hour].
    capacity: Vec<f64>,
    /// GPUs billed per hour.
    gpus: Vec<f64>,
}

/// Simulating this engine's paths under a run configuration.
pub struct Paths<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The configuration (pins, sampler).
    pub cfg: &'a RunConfig,
    /// Simulate every hour one by one and keep its hour-of-week profile (for the fleet
    /// charts; the statistics never come from traced paths, so charts change no figure).
    pub traced: bool,
}

impl PathJob for Paths<'_> {
    type Path = PathResult;
    fn simulate(&self, path: u64, seed: [u8; 32]) -> Result<PathResult> {
        use rand::SeedableRng;
        self.engine.simulate_path(
            path,
            &mut rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed),
            self.cfg,
            self.traced,
        )
    }
}

/// Run the engine and fold every path into a [`RunResult`]; with `--precision`, stop once the
/// headline's relative standard error is below it.
pub fn run(engine: &Engine, cfg: &RunConfig, ctl: Controls<'_>) -> Result<RunResult> {
    run_with(engine, cfg, ctl, &|| engine.new_result(), None)
}

/// Run the engine with any fold over its paths (and an optional sink of the paths themselves,
/// in path order); `--precision` is read from the fold's first part when it is a run.
pub fn run_with<F: Fold<Path = PathResult> + AsRunResult>(
    engine: &Engine,
    cfg: &RunConfig,
    ctl: Controls<'_>,
    new_fold: &(dyn Fn() -> F + Sync),
    sink: Option<&mut Sink<'_, PathResult>>,
) -> Result<F> {
    let settled = |f: &F| {
        cfg.precision
            .is_some_and(|p| f.run_result().headline_relative_error(None) < p)
    };
    let job = Paths {
        engine,
        cfg,
        traced: false,
    };
    drive(&job, cfg, ctl, new_fold, &settled, sink)
}

/// The hour-of-week profiles of the first `paths` paths of a run (at most its samples), per
/// option then path, each path simulated hour by hour.
pub fn trace(
    engine: &Engine,
    cfg: &RunConfig,
    paths: u64,
    ctl: Controls<'_>,
) -> Result<Vec<Vec<WeekTrace>>> {
    let mut c = cfg.clone();
    c.samples = paths.min(cfg.samples);
    c.shard = None;
    let job = Paths {
        engine,
        cfg: &c,
        traced: true,
    };
    let take = |p: &PathResult| p.trace.clone().unwrap_or_default();
    let per_path = drive(&job, &c, ctl, &|| Gather::new(take), &|_| false, None)?.items;
    Ok((0..engine.options.len())
        .map(|o| per_path.iter().filter_map(|t| t.get(o).cloned()).collect())
        .collect())
}

/// Paths traced for the fleet charts.
pub const TRACED_PATHS: u64 = 100;

/// A fold that holds a run's [`RunResult`] (for `--precision`).
pub trait AsRunResult {
    /// The run's statistics.
    fn run_result(&self) -> &RunResult;
}

impl AsRunResult for RunResult {
    fn run_result(&self) -> &RunResult {
        self
    }
}

impl<B> AsRunResult for (RunResult, B) {
    fn run_result(&self) -> &RunResult {
        &self.0
    }
}
