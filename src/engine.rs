//! The Monte Carlo engine: sample a path's inputs, step through its horizon hour by hour, price
//! what each option did, and fold the paths into statistics.
//!
//! Reproducibility: paths run in fixed batches of [`BATCH`]; batch `b` has its own
//! `Xoshiro256PlusPlus` seeded from `(seed, b)` through SplitMix64, which hands each of its
//! paths a seed for a generator of the path's own. Results are folded in path order, so the
//! output is the same bytes at any thread count.
//!
//! Two samplers give the same distribution:
//! - [`Sampler::Reference`] draws a Poisson count for every stream in every hour: plain and slow.
//! - [`Sampler::Fast`] first asks, for each hour, whether any fleet could leave its linear
//!   regime (its expected work plus seven standard deviations reaches the point where it
//!   saturates or rescales, or it carries a backlog). Hours that cannot are pooled: a sum of
//!   independent Poisson counts is one Poisson count, drawn once per stream and month. Hours
//!   that can are sampled one by one, with a normal approximation for counts whose mean is at
//!   least [`NORMAL_APPROX_MIN_MEAN`]. Streams no fleet serves are always pooled: their cost
//!   is linear in their count. A test checks both samplers agree within Monte Carlo error.

use crate::catalogue::Catalogue;
use crate::demand::month_shares;
use crate::error::{Error, Result};
use crate::fleet::{compile, streams, Compiled, FleetState, ItemKind, Stream};
use crate::money::{self, Usd};
use crate::projection::{FleetStreams, MonthSums, Projection, StatelessScratch, StatelessTotals};
use crate::scenario::{Arrivals, FleetPolicy, Scenario, HOURS_PER_MONTH};
use crate::stats;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

/// Paths per batch; each batch has its own generator.
pub const BATCH: u64 = 100;
/// Batches run between checks of `--precision`, progress and Ctrl-C; fixed so the stopping
/// point does not depend on the thread count.
pub const ROUND: u64 = 64;
/// A count whose mean is at least this is drawn from a normal approximation by the fast sampler.
pub const NORMAL_APPROX_MIN_MEAN: f64 = 500.0;
/// Standard deviations of headroom before an hour is treated as possibly non-linear.
pub const LINEAR_SIGMAS: f64 = 7.0;
/// Upper edges of the wait-time bins [s]: under 0.1 s, then log-spaced up to about 12 days.
const WAIT_BINS: usize = 72;

/// How arrivals are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Paths (from the first) traced hour by hour for the fleet chart.
    pub trace_paths: u64,
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
            trace_paths: 0,
        }
    }
}

/// What one option did on one path.
#[derive(Debug, Clone, Serialize)]
pub struct OptionPath {
    /// Total over the horizon [USD].
    pub total_usd: f64,
    /// Cost of each month [USD].
    pub monthly_usd: Vec<f64>,
    /// Delivered assets over the horizon.
    pub assets: f64,
    /// Images made on the self-hosted fleet.
    pub fleet_images: f64,
    /// Images sent to the overflow API.
    pub overflow_images: f64,
    /// GPU utilisation: work done over capacity (0 for API options).
    pub utilisation: f64,
    /// 95th percentile wait of fleet images [s].
    pub p95_wait_s: f64,
    /// Images above the licence's included volume.
    pub licence_overage_images: f64,
    /// Images still queued at the end of the horizon: the fleet could not keep up.
    pub backlog_images: f64,
    /// Cost by item kind [USD].
    pub breakdown: Vec<(ItemKind, f64)>,
}

impl OptionPath {
    /// Monthly cost averaged over the horizon [USD/month].
    pub fn monthly_mean_usd(&self) -> f64 {
        self.total_usd / self.monthly_usd.len().max(1) as f64
    }
    /// Total cost per delivered asset [USD] (0 when nothing was delivered).
    pub fn cost_per_asset_usd(&self) -> f64 {
        if self.assets > 0.0 {
            self.total_usd / self.assets
        } else {
            0.0
        }
    }
    /// True when the fleet left more than 1% of its images queued at the end: it cannot
    /// carry this demand, whatever it costs.
    pub fn over_capacity(&self) -> bool {
        self.backlog_images > 0.01 * (self.fleet_images + self.overflow_images).max(1.0)
    }

    /// Share of fleet-bound images overflowed.
    pub fn overflow_share(&self) -> f64 {
        let all = self.fleet_images + self.overflow_images;
        if all > 0.0 {
            self.overflow_images / all
        } else {
            0.0
        }
    }
}

/// One sample path.
#[derive(Debug, Clone, Serialize)]
pub struct PathResult {
    /// Path index from 0.
    pub path: u64,
    /// The sampled inputs, in the scenario's input order.
    pub inputs: Vec<f64>,
    /// Per option, in scenario order.
    pub options: Vec<OptionPath>,
    /// Hour-of-week trace (traced paths only): per option, utilisation and overflow share.
    #[serde(skip)]
    pub trace: Option<Vec<WeekTrace>>,
}

/// Mean utilisation and overflow share by hour of week on one path.
#[derive(Debug, Clone)]
pub struct WeekTrace {
    /// Utilisation by hour of week.
    pub utilisation: [f64; 168],
    /// Overflow share by hour of week.
    pub overflow: [f64; 168],
}

/// A scenario compiled against a catalogue, ready to run.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The scenario.
    pub scenario: Scenario,
    /// Streams (stage × bucket).
    pub streams: Vec<Stream>,
    /// Compiled options.
    pub options: Vec<Compiled>,
    shares: Vec<Vec<f64>>,
    month_share_total: Vec<f64>,
    /// Σ share² of each month's hours.
    month_share_sq: Vec<f64>,
    /// Streams some fleet serves; only these are sampled hour by hour.
    sampled_streams: Vec<usize>,
    /// Every stream (the reference sampler samples them all).
    all_streams: Vec<usize>,
    /// Fleet options.
    fleet_options: Vec<usize>,
    /// True when no fleet can ever hold a backlog (fixed fleets that overflow at once).
    never_queues: bool,
    /// Each month's hours, largest share first.
    sorted_hours: Vec<Vec<u16>>,
    /// Per fleet, when no fleet queues (else empty): capacity [GPU-s] and GPUs billed in an
    /// hour.
    stateless_capacity: Vec<f64>,
    stateless_gpus: Vec<f64>,
    /// Σ share over `sorted_hours[m][k..]`, for k = 0..=730.
    suffix_share: Vec<Vec<f64>>,
    /// Σ share² likewise.
    suffix_share_sq: Vec<Vec<f64>>,
    /// How the fast sampler draws an hour in which every sampled stream's count is large
    /// (None: the fleets see every direction, so it would save nothing).
    projection: Option<Projection>,
}

impl Engine {
    /// Compile a scenario.
    pub fn new(scenario: Scenario, catalogue: &Catalogue) -> Result<Engine> {
        let streams = streams(&scenario);
        let options = compile(&scenario, catalogue, &streams)?;
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
                crate::scenario::Normalise::Month => 1.0,
                crate::scenario::Normalise::Week => s.iter().sum(),
            })
            .collect();
        let month_share_sq = shares
            .iter()
            .map(|s| s.iter().map(|x| x * x).sum())
            .collect();
        let all_streams = (0..streams.len()).collect();
        let fleet_options = options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.fleet.is_some())
            .map(|(i, _)| i)
            .collect();
        // Fixed fleets that overflow at once carry nothing from hour to hour; when every fleet
        // is one, no fleet can hold a backlog.
        let stateless: Option<Vec<(f64, f64)>> = options
            .iter()
            .filter_map(|o| o.fleet.as_ref())
            .map(|f| Some((f.stateless_capacity()?, f.fixed_gpus()? as f64)))
            .collect();
        let never_queues = stateless.is_some();
        let (stateless_capacity, stateless_gpus) =
            stateless.unwrap_or_default().into_iter().unzip();
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
        let mut sampled_streams: Vec<usize> = options
            .iter()
            .filter_map(|o| o.fleet.as_ref())
            .flat_map(|f| f.fleet_streams.iter().copied())
            .collect();
        sampled_streams.sort_unstable();
        sampled_streams.dedup();
        let per_rate: Vec<f64> = streams.iter().map(|s| s.per_asset).collect();
        let fleet_rows: Vec<FleetStreams> = options
            .iter()
            .filter_map(|o| o.fleet.as_ref())
            .map(|f| FleetStreams {
                streams: &f.fleet_streams,
                seconds: &f.stream_seconds,
            })
            .collect();
        let projection = Projection::new(&sampled_streams, &per_rate, &fleet_rows);
        Ok(Engine {
            scenario,
            streams,
            options,
            shares,
            month_share_total,
            month_share_sq,
            sampled_streams,
            all_streams,
            fleet_options,
            never_queues,
            stateless_capacity,
            stateless_gpus,
            sorted_hours,
            suffix_share,
            suffix_share_sq,
            projection,
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

    /// The generator of batch `batch` under `seed`.
    pub fn batch_rng(seed: u64, batch: u64) -> Xoshiro256PlusPlus {
        let mut sm = SplitMix64::seed_from_u64(seed);
        let a = sm.next_u64();
        let mut sm2 = SplitMix64::seed_from_u64(a ^ batch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut s = [0u8; 32];
        for chunk in s.chunks_mut(8) {
            chunk.copy_from_slice(&sm2.next_u64().to_le_bytes());
        }
        Xoshiro256PlusPlus::from_seed(s)
    }

    /// Seeds of the paths of batch `batch`: the batch's generator hands each path a seed of
    /// its own, so a path's draws do not depend on how many the paths before it used, and a
    /// path can be replayed (at another volume, with an input pinned) from its seed alone.
    pub fn path_seeds(cfg: &RunConfig, batch: u64) -> Vec<(u64, [u8; 32])> {
        let first = batch * BATCH;
        let n = BATCH.min(cfg.samples.saturating_sub(first));
        let mut rng = Engine::batch_rng(cfg.seed, batch);
        (first..first + n)
            .map(|path| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                (path, s)
            })
            .collect()
    }

    /// Run the paths of batch `batch`.
    pub fn run_batch(&self, cfg: &RunConfig, batch: u64) -> Result<Vec<PathResult>> {
        Engine::path_seeds(cfg, batch)
            .into_iter()
            .map(|(path, seed)| {
                self.simulate_path(
                    path,
                    &mut Xoshiro256PlusPlus::from_seed(seed),
                    cfg,
                    path < cfg.trace_paths,
                )
            })
            .collect()
    }

    /// Sample one path's inputs: correlated through the copula where the scenario says so.
    /// Exactly one `u64` is drawn per input whether or not it is pinned or correlated, so
    /// pinning one input leaves every other input's draw unchanged.
    fn sample_inputs<R: Rng + ?Sized>(&self, rng: &mut R, pins: &[Option<f64>]) -> Vec<f64> {
        let n = self.scenario.inputs.len();
        let mut u = vec![0.0; n];
        match &self.scenario.copula {
            Some(c) => c.uniforms(rng, &mut u),
            None => u.iter_mut().for_each(|x| *x = crate::dist::open_unit(rng)),
        }
        self.scenario
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| {
                pins.get(i)
                    .copied()
                    .flatten()
                    .unwrap_or_else(|| inp.dist.quantile(u[i]))
            })
            .collect()
    }

    /// Simulate one path.
    pub fn simulate_path<R: Rng + ?Sized>(
        &self,
        path: u64,
        rng: &mut R,
        cfg: &RunConfig,
        traced: bool,
    ) -> Result<PathResult> {
        let s = &self.scenario;
        let x = self.sample_inputs(rng, &cfg.pins);
        let v0 = x[s.demand.monthly];
        let g = x[s.demand.growth];
        let fluid = s.demand.arrivals == Arrivals::Fluid;
        let cv = s.demand.burstiness;
        let pooled = cfg.sampler == Sampler::Fast && !traced;
        let burst = if cv > 0.0 && !fluid {
            Some(
                Gamma::new(1.0 / (cv * cv), cv * cv)
                    .map_err(|e| Error::Invariant(format!("burst distribution: {e}")))?,
            )
        } else {
            None
        };
        let n_opt = self.options.len();
        let n_streams = self.streams.len();
        let mut p = PathScratch::new(self, &x);
        // The most assets an hour can expect with each fleet, at rest, staying linear.
        let linear_assets: Vec<f64> = (0..n_opt)
            .map(|o| self.linear_assets(o, p.k1[o], p.k2[o], cv))
            .collect();
        let sampled: &[usize] = if pooled {
            &self.sampled_streams
        } else {
            &self.all_streams
        };
        let mut counts = vec![0.0; n_streams];
        // Projected hours need large counts and independent Poisson draws to stand for.
        let projection = self.projection.as_ref().filter(|_| pooled && !fluid);

        for m in 0..s.horizon_months as usize {
            let vm = v0 * (1.0 + g).powi(m as i32) * s.seasonality_at(m);
            if !vm.is_finite() || vm > crate::scenario::MAX_MONTHLY_IMAGES * 1e3 {
                // The scenario's check allows for its inputs' 99.9th percentiles; a draw
                // further out still stops the run, as bad input rather than a bug.
                return Err(Error::input(
                    &s.file,
                    "demand.growth",
                    format!(
                        "path {path} drew a month-0 volume of {v0:.3e} and growth {g:.4}, which reach \
                         {vm:.3e} assets in month {}; expected demand under {:.0e} a month \
                         (narrow the growth or volume distribution, or shorten the horizon)",
                        m + 1,
                        crate::scenario::MAX_MONTHLY_IMAGES * 1e3
                    ),
                ));
            }
            p.start_month();
            // Hour shares at or under this are pooled: every fleet is at rest and stays linear.
            let cutoffs: Vec<f64> = linear_assets
                .iter()
                .map(|a| if vm > 0.0 { a / vm } else { f64::INFINITY })
                .collect();
            let mut cutoff = if pooled {
                p.common_cutoff(self, &cutoffs)
            } else {
                -1.0
            };
            let (mut pooled_share, mut pooled_share_sq, mut pooled_hours) = (0.0, 0.0, 0.0);
            // The hour's rate: its share of the month, times the burst multiplier.
            let rate = |share: f64, rng: &mut R| match &burst {
                Some(b) => vm * share * b.sample(rng),
                None => vm * share,
            };
            let mut sample_hour =
                |t: usize, lam: f64, p: &mut PathScratch, rng: &mut R| -> Result<()> {
                    if let Some(pj) = projection {
                        if lam * pj.q_min >= NORMAL_APPROX_MIN_MEAN {
                            let PathScratch {
                                sums,
                                fleet_work,
                                fleet_requests,
                                ..
                            } = p;
                            pj.draw_hour(rng, lam, sums, fleet_work, fleet_requests);
                            p.step_fleets(self, None);
                            p.sums.add(lam, &p.fleet_share);
                            return Ok(());
                        }
                    }
                    for &i in sampled {
                        let mean = lam * self.streams[i].per_asset;
                        counts[i] = if fluid {
                            mean
                        } else {
                            draw_count(rng, mean, pooled)?
                        };
                    }
                    let how = traced.then(|| crate::demand::hour_of_week(m, t));
                    p.step_hour(self, sampled, &counts, how);
                    Ok(())
                };
            if pooled && self.never_queues {
                // No fleet can hold a backlog, so the linear hours are exactly those under the
                // cut-off: find the others by binary search among the month's hours sorted by
                // share, and take the pooled sums from suffix sums.
                let order = &self.sorted_hours[m];
                let k = order.partition_point(|&t| self.shares[m][t as usize] > cutoff);
                pooled_share = self.suffix_share[m][k];
                pooled_share_sq = self.suffix_share_sq[m][k];
                pooled_hours = (order.len() - k) as f64;
                // No fleet carries anything from hour to hour, so the hot hours can be taken in
                // any order, and those with large counts stepped together at the month's end.
                p.hot_rates.clear();
                p.hot_normals.iter_mut().for_each(Vec::clear);
                for &t in &order[..k] {
                    let t = t as usize;
                    let lam = rate(self.shares[m][t], rng);
                    match projection {
                        Some(pj) if lam * pj.q_min >= NORMAL_APPROX_MIN_MEAN => {
                            p.hot_rates.push(lam);
                            pj.push_normals(rng, &mut p.hot_normals);
                        }
                        _ => sample_hour(t, lam, &mut p, rng)?,
                    }
                }
                if let Some(pj) = projection {
                    p.step_stateless(self, pj);
                }
            } else {
                for (t, &share) in self.shares[m].iter().enumerate() {
                    if share <= cutoff {
                        pooled_share += share;
                        pooled_share_sq += share * share;
                        pooled_hours += 1.0;
                        continue;
                    }
                    sample_hour(t, rate(share, rng), &mut p, rng)?;
                    if pooled {
                        cutoff = p.common_cutoff(self, &cutoffs);
                    }
                }
            }
            if let Some(pj) = projection {
                pj.close_month(
                    rng,
                    &mut p.sums,
                    &self.fleet_options,
                    &mut p.month_counts,
                    &mut p.overflow_counts,
                );
            }
            // Pooled hours, and streams no fleet serves: one count per stream for the month.
            for (i, count) in counts.iter_mut().enumerate() {
                let is_sampled = sampled.binary_search(&i).is_ok();
                let (share, share_sq) = if is_sampled {
                    (pooled_share, pooled_share_sq)
                } else {
                    (self.month_share_total[m], self.month_share_sq[m])
                };
                if share <= 0.0 {
                    continue;
                }
                let mean = vm * share * self.streams[i].per_asset;
                let var_extra = (cv * vm * self.streams[i].per_asset).powi(2) * share_sq;
                *count = if fluid {
                    mean
                } else {
                    draw_pooled(rng, mean, var_extra)?
                };
            }
            p.add_pooled(self, &counts, sampled, pooled_hours);
            p.close_month(self, &x, m, vm * self.month_share_total[m])?;
        }
        p.finish(self, path, x)
    }

    fn at_rest(&self, o: usize, state: &FleetState) -> bool {
        self.options[o]
            .fleet
            .as_ref()
            .is_some_and(|f| f.linear_threshold(state).is_some())
    }

    /// The most assets `a` an hour can expect while fleet `o`, at rest, stays linear with
    /// near certainty: its work (mean `a·k1`, variance `a·k2 + (cv·a·k1)²`) plus
    /// [`LINEAR_SIGMAS`] standard deviations stays within the fleet's linear threshold.
    /// Infinite for API options, −1 when no hour is ever linear.
    fn linear_assets(&self, o: usize, k1: f64, k2: f64, cv: f64) -> f64 {
        let Some(f) = &self.options[o].fleet else {
            return f64::INFINITY;
        };
        let rest = match f.policy {
            FleetPolicy::Fixed { gpus } => Some(gpus as f64 * f.usable_seconds_per_gpu_hour),
            FleetPolicy::Autoscaled {
                min,
                target_utilisation,
                ..
            } if min > 0 => Some(min as f64 * f.usable_seconds_per_gpu_hour * target_utilisation),
            _ => None,
        };
        let Some(thr) = rest else { return -1.0 };
        if k1 <= 0.0 {
            return f64::INFINITY;
        }
        linear_limit(thr, k1, k2, cv)
    }
}

/// The `a ≥ 0` at which `a·k1 + L·√(a·k2 + (cv·a·k1)²) = thr` (L = [`LINEAR_SIGMAS`]): the
/// smaller root of `a²·k1²(1 − L²cv²) − a(2·thr·k1 + L²k2) + thr² = 0`, in the form that
/// stays accurate when the quadratic term vanishes.
fn linear_limit(thr: f64, k1: f64, k2: f64, cv: f64) -> f64 {
    let l2 = LINEAR_SIGMAS * LINEAR_SIGMAS;
    let a = k1 * k1 * (1.0 - l2 * cv * cv);
    let b = 2.0 * thr * k1 + l2 * k2;
    2.0 * thr * thr / (b + (b * b - 4.0 * a * thr * thr).max(0.0).sqrt())
}

/// One path's running state and accumulators, reused month to month.
struct PathScratch {
    speed: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    states: Vec<FleetState>,
    qty: Vec<Vec<f64>>,
    served: Vec<f64>,
    overflowed: Vec<f64>,
    busy: Vec<f64>,
    cap: Vec<f64>,
    billed_hours: Vec<f64>,
    billed_seconds: Vec<f64>,
    totals: Vec<Usd>,
    breakdown: Vec<Vec<(ItemKind, Usd)>>,
    busy_all: Vec<f64>,
    cap_all: Vec<f64>,
    waits: Vec<[f64; WAIT_BINS]>,
    outs: Vec<OptionPath>,
    trace: Option<Vec<[[f64; 168]; 3]>>,
    /// This month's count of each stream, all hours so far.
    month_counts: Vec<f64>,
    /// This month's pooled count of each stream.
    pooled_counts: Vec<f64>,
    /// This month's overflowed images by option and stream.
    overflow_counts: Vec<Vec<f64>>,
    /// The hour's work [GPU-s, before the speed factor] and requests, by fleet index.
    fleet_work: Vec<f64>,
    fleet_requests: Vec<f64>,
    /// The hour's overflow share, by fleet index.
    fleet_share: Vec<f64>,
    /// The path's speed factor, by fleet index.
    fleet_speed: Vec<f64>,
    /// This month's projected hours.
    sums: MonthSums,
    /// Hot hours of a stateless month, stepped together: their rates and normals.
    hot_rates: Vec<f64>,
    hot_normals: Vec<Vec<f64>>,
    /// Scratch for [`Projection::step_stateless`].
    hot_scratch: StatelessScratch,
    hot_totals: Vec<StatelessTotals>,
}

impl PathScratch {
    fn new(e: &Engine, x: &[f64]) -> PathScratch {
        let n = e.options.len();
        let speed: Vec<f64> = e
            .options
            .iter()
            .map(|o| o.fleet.as_ref().map(|f| x[f.speed_factor]).unwrap_or(1.0))
            .collect();
        // Work per asset [GPU-s] and its second moment, for the linear test.
        let moment = |power: i32| -> Vec<f64> {
            e.options
                .iter()
                .zip(&speed)
                .map(|(o, sp)| {
                    o.fleet
                        .as_ref()
                        .map(|f| {
                            f.fleet_streams
                                .iter()
                                .map(|&i| {
                                    e.streams[i].per_asset * (f.stream_seconds[i] * sp).powi(power)
                                })
                                .sum()
                        })
                        .unwrap_or(0.0)
                })
                .collect()
        };
        let states = e
            .options
            .iter()
            .map(|o| match o.fleet.as_ref().map(|f| &f.policy) {
                Some(FleetPolicy::Autoscaled { min, .. }) => FleetState {
                    active: *min,
                    ..Default::default()
                },
                _ => FleetState::default(),
            })
            .collect();
        let fleet_speed = e.fleet_options.iter().map(|&o| speed[o]).collect();
        PathScratch {
            k1: moment(1),
            k2: moment(2),
            speed,
            states,
            qty: e.options.iter().map(|o| vec![0.0; o.items.len()]).collect(),
            served: vec![0.0; n],
            overflowed: vec![0.0; n],
            busy: vec![0.0; n],
            cap: vec![0.0; n],
            billed_hours: vec![0.0; n],
            billed_seconds: vec![0.0; n],
            totals: vec![Decimal::ZERO; n],
            breakdown: vec![Vec::new(); n],
            busy_all: vec![0.0; n],
            cap_all: vec![0.0; n],
            waits: vec![[0.0; WAIT_BINS]; n],
            outs: (0..n)
                .map(|_| OptionPath {
                    total_usd: 0.0,
                    monthly_usd: Vec::with_capacity(e.scenario.horizon_months as usize),
                    assets: 0.0,
                    fleet_images: 0.0,
                    overflow_images: 0.0,
                    utilisation: 0.0,
                    p95_wait_s: 0.0,
                    licence_overage_images: 0.0,
                    backlog_images: 0.0,
                    breakdown: Vec::new(),
                })
                .collect(),
            trace: None,
            month_counts: vec![0.0; e.streams.len()],
            pooled_counts: vec![0.0; e.streams.len()],
            overflow_counts: vec![vec![0.0; e.streams.len()]; n],
            fleet_work: vec![0.0; e.fleet_options.len()],
            fleet_requests: vec![0.0; e.fleet_options.len()],
            fleet_share: vec![0.0; e.fleet_options.len()],
            fleet_speed,
            sums: e
                .projection
                .as_ref()
                .map(Projection::sums)
                .unwrap_or_default(),
            hot_rates: Vec::new(),
            hot_normals: e
                .projection
                .as_ref()
                .map(Projection::normal_lists)
                .unwrap_or_default(),
            hot_scratch: StatelessScratch::default(),
            hot_totals: vec![StatelessTotals::default(); e.fleet_options.len()],
        }
    }

    /// Step a stateless month's hot hours (in `hot_rates`, `hot_normals`) all at once.
    fn step_stateless(&mut self, e: &Engine, pj: &Projection) {
        self.hot_totals.fill(StatelessTotals::default());
        pj.step_stateless(
            &self.hot_rates,
            &self.hot_normals,
            &e.stateless_capacity,
            &self.fleet_speed,
            &mut self.sums,
            &mut self.hot_scratch,
            &mut self.hot_totals,
        );
        let hours = self.hot_rates.len() as f64;
        for (k, &o) in e.fleet_options.iter().enumerate() {
            let (cap, gpus) = (e.stateless_capacity[k], e.stateless_gpus[k]);
            let t = self.hot_totals[k];
            self.served[o] += t.served;
            self.busy[o] += t.busy;
            self.cap[o] += hours * cap;
            self.billed_hours[o] += hours * gpus;
            // Nothing queues: every image is made within the hour.
            add_wait(&mut self.waits[o], 0.0, t.served);
        }
    }

    fn start_month(&mut self) {
        for q in self.qty.iter_mut().chain(self.overflow_counts.iter_mut()) {
            q.fill(0.0);
        }
        self.month_counts.fill(0.0);
        for v in [
            &mut self.served,
            &mut self.overflowed,
            &mut self.busy,
            &mut self.cap,
            &mut self.billed_hours,
            &mut self.billed_seconds,
        ] {
            v.fill(0.0);
        }
    }

    /// The hour share at or under which every fleet is at rest and stays linear.
    fn common_cutoff(&self, e: &Engine, cutoffs: &[f64]) -> f64 {
        e.fleet_options
            .iter()
            .map(|&o| {
                if e.at_rest(o, &self.states[o]) {
                    cutoffs[o]
                } else {
                    -1.0
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Step every fleet through one hour drawn stream by stream. API-served streams only need
    /// the month's count, so the hour's counts are summed once for all options.
    fn step_hour(&mut self, e: &Engine, sampled: &[usize], counts: &[f64], how: Option<usize>) {
        for &i in sampled {
            self.month_counts[i] += counts[i];
        }
        for (k, &o) in e.fleet_options.iter().enumerate() {
            let Some(f) = &e.options[o].fleet else {
                continue;
            };
            let (mut work, mut requests) = (0.0, 0.0);
            for &i in &f.fleet_streams {
                work += counts[i] * f.stream_seconds[i];
                requests += counts[i];
            }
            self.fleet_work[k] = work;
            self.fleet_requests[k] = requests;
        }
        self.step_fleets(e, how);
        for (k, &o) in e.fleet_options.iter().enumerate() {
            let share = self.fleet_share[k];
            if let (Some(f), true) = (&e.options[o].fleet, share > 0.0) {
                let over = &mut self.overflow_counts[o];
                for &i in &f.fleet_streams {
                    over[i] += counts[i] * share;
                }
            }
        }
    }

    /// Step every fleet through one hour with the work and requests in `fleet_work` and
    /// `fleet_requests`, leaving each one's overflow share in `fleet_share`.
    fn step_fleets(&mut self, e: &Engine, how: Option<usize>) {
        for (k, &o) in e.fleet_options.iter().enumerate() {
            let Some(f) = &e.options[o].fleet else {
                continue;
            };
            let requests = self.fleet_requests[k];
            let out = f.step(
                &mut self.states[o],
                self.fleet_work[k] * self.speed[o],
                requests,
            );
            self.fleet_share[k] = out.overflow_share;
            let fleet_imgs = requests * (1.0 - out.overflow_share);
            self.served[o] += fleet_imgs;
            self.busy[o] += out.busy_seconds;
            self.cap[o] += out.capacity_seconds;
            self.billed_hours[o] += out.billed_gpu_hours;
            self.billed_seconds[o] += out.billed_gpu_seconds;
            add_wait(
                &mut self.waits[o],
                out.wait_seconds,
                fleet_imgs * (1.0 - out.cold_share),
            );
            if out.cold_share > 0.0 {
                let cold = f
                    .serverless
                    .as_ref()
                    .map(|sl| sl.cold_start_seconds)
                    .unwrap_or(0.0);
                add_wait(
                    &mut self.waits[o],
                    out.wait_seconds + cold,
                    fleet_imgs * out.cold_share,
                );
            }
            if let Some(h) = how {
                let tr = self
                    .trace
                    .get_or_insert_with(|| vec![[[0.0; 168]; 3]; e.options.len()]);
                tr[o][0][h] += if out.capacity_seconds > 0.0 {
                    out.busy_seconds / out.capacity_seconds
                } else {
                    0.0
                };
                tr[o][1][h] += out.overflow_share;
                tr[o][2][h] += 1.0;
            }
        }
    }

    /// Add the month's pooled counts (fleets at rest serve them whole), then route every
    /// count of the month to the items that bill it.
    fn add_pooled(&mut self, e: &Engine, counts: &[f64], sampled: &[usize], pooled_hours: f64) {
        for (i, n) in counts.iter().enumerate() {
            if pooled_hours > 0.0 || sampled.binary_search(&i).is_err() {
                self.month_counts[i] += n;
                self.pooled_counts[i] = *n;
            } else {
                self.pooled_counts[i] = 0.0;
            }
        }
        for (o, opt) in e.options.iter().enumerate() {
            for (i, item) in opt.stream_api_item.iter().enumerate() {
                if let Some(item) = item {
                    self.qty[o][*item] += self.month_counts[i];
                }
            }
            let Some(f) = &opt.fleet else { continue };
            for &i in &f.fleet_streams {
                let n = self.pooled_counts[i];
                self.served[o] += n;
                self.busy[o] += n * f.stream_seconds[i] * self.speed[o];
                add_wait(&mut self.waits[o], 0.0, n);
                if let Some(item) = f.overflow_item[i] {
                    self.qty[o][item] += self.overflow_counts[o][i];
                }
                self.overflowed[o] += self.overflow_counts[o][i];
            }
            let (gpus, cap) = match f.policy {
                FleetPolicy::Fixed { gpus } => {
                    (gpus as f64, gpus as f64 * f.usable_seconds_per_gpu_hour)
                }
                FleetPolicy::Autoscaled { min, .. } => {
                    (min as f64, min as f64 * f.usable_seconds_per_gpu_hour)
                }
                FleetPolicy::Serverless { .. } => (0.0, 0.0),
            };
            self.billed_hours[o] += pooled_hours * gpus;
            self.cap[o] += pooled_hours * cap;
        }
    }

    /// Price month `m` and add it to the path's totals.
    fn close_month(&mut self, e: &Engine, x: &[f64], m: usize, assets: f64) -> Result<()> {
        for (o, opt) in e.options.iter().enumerate() {
            let out = &mut self.outs[o];
            out.assets += assets;
            let qty = &mut self.qty[o];
            if let Some(pf) = opt.api_price_factor {
                qty.iter_mut().for_each(|q| *q *= x[pf]);
            }
            if let Some(f) = &opt.fleet {
                let gpu_factor = x[f.gpu_price_factor];
                if let Some(item) = f.gpu_item {
                    qty[item] += if f.serverless.is_some() {
                        self.billed_seconds[o]
                    } else {
                        self.billed_hours[o]
                    } * gpu_factor;
                }
                if let Some(ow) = &f.owned {
                    let gpus = f.fixed_gpus().unwrap_or(1) as f64;
                    if (m as u32) < ow.amortise_months {
                        qty[ow.amortisation] += gpus;
                    }
                    qty[ow.hosting] += gpus;
                    let gpu_hours = gpus * HOURS_PER_MONTH as f64;
                    let busy_h = (self.busy[o] / 3600.0).min(gpu_hours);
                    qty[ow.power] += f.power_watts / 1000.0
                        * ow.pue
                        * (busy_h + ow.idle_power_share * (gpu_hours - busy_h));
                }
                qty[f.ops_item] += x[f.ops_hours];
                qty[f.licence_fee_item] += 1.0;
                if let Some((item, included)) = f.licence_overage {
                    let over = (self.served[o] - included).max(0.0);
                    qty[item] += over;
                    out.licence_overage_images += over;
                }
                out.fleet_images += self.served[o];
                out.overflow_images += self.overflowed[o];
                self.busy_all[o] += self.busy[o];
                self.cap_all[o] += self.cap[o];
            }
            let mut month = Decimal::ZERO;
            for (item, q) in opt.items.iter().zip(qty.iter()) {
                if *q == 0.0 {
                    continue;
                }
                let c = money::cost(*q, item.unit_usd).ok_or_else(|| {
                    Error::Invariant(format!(
                        "option {}: {} × {} does not fit a dollar amount",
                        opt.id, q, item.label
                    ))
                })?;
                month += c;
                match self.breakdown[o].iter_mut().find(|(k, _)| *k == item.kind) {
                    Some((_, v)) => *v += c,
                    None => self.breakdown[o].push((item.kind, c)),
                }
            }
            self.totals[o] += month;
            out.monthly_usd.push(money::to_f64(month));
        }
        Ok(())
    }

    fn finish(mut self, e: &Engine, path: u64, x: Vec<f64>) -> Result<PathResult> {
        for o in 0..e.options.len() {
            let out = &mut self.outs[o];
            out.total_usd = money::to_f64(self.totals[o]);
            out.utilisation = if self.cap_all[o] > 0.0 {
                self.busy_all[o] / self.cap_all[o]
            } else {
                0.0
            };
            out.p95_wait_s = wait_quantile(&self.waits[o], 0.95);
            if let Some(f) = &e.options[o].fleet {
                // Backlog [GPU-s] in images, at the fleet's mean seconds per image.
                let secs_per_image = if self.k1[o] > 0.0 {
                    self.k1[o]
                        / f.fleet_streams
                            .iter()
                            .map(|&i| e.streams[i].per_asset)
                            .sum::<f64>()
                } else {
                    1.0
                };
                out.backlog_images = self.states[o].backlog / secs_per_image.max(1e-9);
            }
            out.breakdown = self.breakdown[o]
                .iter()
                .map(|(k, v)| (*k, money::to_f64(*v)))
                .collect();
            check_option_path(&e.options[o].id, out)?;
        }
        let trace = self.trace.map(|tr| {
            tr.into_iter()
                .map(|[u, ov, n]| {
                    let mut w = WeekTrace {
                        utilisation: [0.0; 168],
                        overflow: [0.0; 168],
                    };
                    for h in 0..168 {
                        if n[h] > 0.0 {
                            w.utilisation[h] = u[h] / n[h];
                            w.overflow[h] = ov[h] / n[h];
                        }
                    }
                    w
                })
                .collect()
        });
        Ok(PathResult {
            path,
            inputs: x,
            options: self.outs,
            trace,
        })
    }
}

/// A count with the given mean: Poisson, or its normal approximation at large means when
/// `approximate` is set.
fn draw_count<R: Rng + ?Sized>(rng: &mut R, mean: f64, approximate: bool) -> Result<f64> {
    if mean <= 0.0 {
        return Ok(0.0);
    }
    if approximate && mean >= NORMAL_APPROX_MIN_MEAN {
        let z: f64 = StandardNormal.sample(rng);
        return Ok((mean + mean.sqrt() * z).max(0.0));
    }
    let p =
        Poisson::new(mean).map_err(|e| Error::Invariant(format!("poisson mean {mean}: {e}")))?;
    Ok(p.sample(rng))
}

/// A pooled count: exact Poisson without bursts; with bursts, a normal with the mixture's
/// variance (mean plus the gamma multiplier's share) when large, else a negative binomial
/// drawn as gamma-Poisson.
fn draw_pooled<R: Rng + ?Sized>(rng: &mut R, mean: f64, var_extra: f64) -> Result<f64> {
    if mean <= 0.0 {
        return Ok(0.0);
    }
    if var_extra <= 0.0 {
        return draw_count(rng, mean, false);
    }
    let var = mean + var_extra;
    if mean >= NORMAL_APPROX_MIN_MEAN {
        let z: f64 = StandardNormal.sample(rng);
        return Ok((mean + var.sqrt() * z).max(0.0));
    }
    let shape = mean * mean / var_extra;
    let gm =
        Gamma::new(shape, mean / shape).map_err(|e| Error::Invariant(format!("gamma: {e}")))?;
    let lam: f64 = gm.sample(rng);
    draw_count(rng, lam, false)
}

fn wait_edge(b: usize) -> f64 {
    // Bin 0: under 0.1 s; then 10^(b/6) × 0.1 s.
    0.1 * 10f64.powf(b as f64 / 6.0)
}

fn add_wait(bins: &mut [f64; WAIT_BINS], wait: f64, weight: f64) {
    if weight <= 0.0 {
        return;
    }
    let b = if wait < 0.1 {
        0
    } else {
        ((wait / 0.1).log10() * 6.0).ceil() as usize
    };
    bins[b.min(WAIT_BINS - 1)] += weight;
}

/// The wait below which a share `q` of images fell, as the upper edge of its bin (0 for the
/// first bin).
fn wait_quantile(bins: &[f64; WAIT_BINS], q: f64) -> f64 {
    let total: f64 = bins.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mut seen = 0.0;
    for (b, w) in bins.iter().enumerate() {
        seen += w;
        if seen >= q * total {
            return if b == 0 { 0.0 } else { wait_edge(b) };
        }
    }
    wait_edge(WAIT_BINS - 1)
}

/// Numbers that cannot be right stop the run.
fn check_option_path(id: &str, o: &OptionPath) -> Result<()> {
    let bad = |what: &str, v: f64| Err(Error::Invariant(format!("option {id}: {what} is {v}")));
    if !o.total_usd.is_finite() || o.total_usd < 0.0 {
        return bad("total cost", o.total_usd);
    }
    if o.monthly_usd.iter().any(|m| !m.is_finite() || *m < 0.0) {
        return bad(
            "a monthly cost",
            o.monthly_usd
                .iter()
                .copied()
                .find(|m| !m.is_finite() || *m < 0.0)
                .unwrap_or(f64::NAN),
        );
    }
    if !(0.0..=1.0 + 1e-9).contains(&o.utilisation) {
        return bad("utilisation", o.utilisation);
    }
    if !(0.0..=1.0 + 1e-9).contains(&o.overflow_share()) {
        return bad("overflow share", o.overflow_share());
    }
    if !o.p95_wait_s.is_finite() && o.fleet_images > 0.0 {
        return bad("p95 wait", o.p95_wait_s);
    }
    Ok(())
}

/// Statistics of one option over all paths.
#[derive(Debug, Clone, Default)]
pub struct OptionStats {
    /// Total cost over the horizon [USD].
    pub total: stats::Stream,
    /// Monthly cost averaged over the horizon [USD/month].
    pub monthly: stats::Stream,
    /// Cost per delivered asset [USD].
    pub per_asset: stats::Stream,
    /// Utilisation.
    pub utilisation: stats::Stream,
    /// Overflow share.
    pub overflow: stats::Stream,
    /// 95th percentile wait [s].
    pub p95_wait: stats::Stream,
    /// Licence overage [images].
    pub licence_overage: stats::Stream,
    /// Paths on which this option was the cheapest.
    pub cheapest: u64,
    /// Paths on which the fleet could not keep up with demand.
    pub over_capacity: u64,
    /// Cost in each month [USD].
    pub by_month: Vec<stats::Stream>,
    /// Cumulative cost at the end of each month [USD].
    pub cumulative: Vec<stats::Stream>,
    /// Mean cost by item kind [USD].
    pub breakdown: Vec<(ItemKind, f64)>,
}

/// Two options compared path by path.
#[derive(Debug, Clone)]
pub struct Pair {
    /// First option.
    pub i: usize,
    /// Second option.
    pub j: usize,
    /// `total[i] − total[j]` [USD]: mean and spread (its quantiles are never asked for).
    pub difference: stats::Moments,
    /// Paths where `i` cost less.
    pub i_cheaper: u64,
    /// Paths where `j` cost less.
    pub j_cheaper: u64,
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Paths simulated.
    pub samples: u64,
    /// Per option, in scenario order.
    pub options: Vec<OptionStats>,
    /// Every pair of options (i < j): paired differences and who was cheaper how often.
    pub pairs: Vec<Pair>,
    /// Traced week profiles: per option, per traced path.
    pub traces: Vec<Vec<WeekTrace>>,
    /// True when Ctrl-C stopped the run early.
    pub interrupted: bool,
}

impl RunResult {
    fn new(n_opt: usize, horizon: usize) -> RunResult {
        // Every statistic keeps the default number of exact values.
        let monthly = || {
            (0..horizon)
                .map(|_| stats::Stream::default())
                .collect::<Vec<_>>()
        };
        RunResult {
            samples: 0,
            options: (0..n_opt)
                .map(|_| OptionStats {
                    by_month: monthly(),
                    cumulative: monthly(),
                    ..Default::default()
                })
                .collect(),
            pairs: (0..n_opt)
                .flat_map(|i| {
                    (i + 1..n_opt).map(move |j| Pair {
                        i,
                        j,
                        difference: stats::Moments::default(),
                        i_cheaper: 0,
                        j_cheaper: 0,
                    })
                })
                .collect(),
            traces: vec![Vec::new(); n_opt],
            interrupted: false,
        }
    }

    fn add(&mut self, p: &PathResult) -> Result<()> {
        let inv = |e: String| Error::Invariant(e);
        self.samples += 1;
        let cheapest = p
            .options
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_usd.total_cmp(&b.1.total_usd))
            .map(|(i, _)| i);
        for (i, (o, st)) in p.options.iter().zip(self.options.iter_mut()).enumerate() {
            st.total.push(o.total_usd).map_err(inv)?;
            st.monthly.push(o.monthly_mean_usd()).map_err(inv)?;
            st.per_asset.push(o.cost_per_asset_usd()).map_err(inv)?;
            st.utilisation.push(o.utilisation).map_err(inv)?;
            st.overflow.push(o.overflow_share()).map_err(inv)?;
            st.p95_wait.push(o.p95_wait_s).map_err(inv)?;
            st.licence_overage
                .push(o.licence_overage_images)
                .map_err(inv)?;
            if cheapest == Some(i) {
                st.cheapest += 1;
            }
            let mut cum = 0.0;
            for (m, c) in o.monthly_usd.iter().enumerate() {
                cum += c;
                st.by_month[m].push(*c).map_err(inv)?;
                st.cumulative[m].push(cum).map_err(inv)?;
            }
            for (k, v) in &o.breakdown {
                match st.breakdown.iter_mut().find(|(kk, _)| kk == k) {
                    Some((_, s)) => *s += v,
                    None => st.breakdown.push((*k, *v)),
                }
            }
        }
        for pair in self.pairs.iter_mut() {
            let d = p.options[pair.i].total_usd - p.options[pair.j].total_usd;
            pair.difference.push(d);
            // An option that cannot keep up is never the cheaper one.
            let (oi, oj) = (
                p.options[pair.i].over_capacity(),
                p.options[pair.j].over_capacity(),
            );
            pair.i_cheaper += (!oi && (d < 0.0 || oj)) as u64;
            pair.j_cheaper += (!oj && (d > 0.0 || oi)) as u64;
        }
        if let Some(tr) = &p.trace {
            for (o, w) in tr.iter().enumerate() {
                self.traces[o].push(w.clone());
            }
        }
        Ok(())
    }

    /// Add a later part of the run: what `other` folded comes after what this one folded.
    fn merge(&mut self, other: RunResult) {
        self.samples += other.samples;
        for (st, o) in self.options.iter_mut().zip(other.options) {
            for (mine, theirs) in [
                (&mut st.total, &o.total),
                (&mut st.monthly, &o.monthly),
                (&mut st.per_asset, &o.per_asset),
                (&mut st.utilisation, &o.utilisation),
                (&mut st.overflow, &o.overflow),
                (&mut st.p95_wait, &o.p95_wait),
                (&mut st.licence_overage, &o.licence_overage),
            ] {
                mine.merge(theirs);
            }
            for (mine, theirs) in st.by_month.iter_mut().zip(&o.by_month) {
                mine.merge(theirs);
            }
            for (mine, theirs) in st.cumulative.iter_mut().zip(&o.cumulative) {
                mine.merge(theirs);
            }
            st.cheapest += o.cheapest;
            st.over_capacity += o.over_capacity;
            for (k, v) in o.breakdown {
                match st.breakdown.iter_mut().find(|(kk, _)| *kk == k) {
                    Some((_, s)) => *s += v,
                    None => st.breakdown.push((k, v)),
                }
            }
        }
        for (mine, theirs) in self.pairs.iter_mut().zip(other.pairs) {
            mine.difference.merge(&theirs.difference);
            mine.i_cheaper += theirs.i_cheaper;
            mine.j_cheaper += theirs.j_cheaper;
        }
        for (mine, theirs) in self.traces.iter_mut().zip(other.traces) {
            mine.extend(theirs);
        }
    }

    /// The two options with the lowest mean total, cheapest first.
    pub fn leaders(&self) -> Option<(usize, usize)> {
        let mut idx: Vec<usize> = (0..self.options.len()).collect();
        idx.sort_by(|a, b| {
            self.options[*a]
                .total
                .mean()
                .total_cmp(&self.options[*b].total.mean())
        });
        (idx.len() >= 2).then(|| (idx[0], idx[1]))
    }

    /// Mean and standard error of `total[a] − total[b]` over paths.
    pub fn difference(&self, a: usize, b: usize) -> Option<(f64, f64)> {
        let (i, j, sign) = if a < b { (a, b, 1.0) } else { (b, a, -1.0) };
        self.pairs
            .iter()
            .find(|p| p.i == i && p.j == j)
            .map(|p| (sign * p.difference.mean(), p.difference.std_error()))
    }

    /// Share of paths on which option `a` cost strictly less than option `b`.
    pub fn p_cheaper(&self, a: usize, b: usize) -> f64 {
        let n = self.samples.max(1) as f64;
        self.pairs
            .iter()
            .find_map(|p| {
                if (p.i, p.j) == (a, b) {
                    Some(p.i_cheaper as f64 / n)
                } else if (p.i, p.j) == (b, a) {
                    Some(p.j_cheaper as f64 / n)
                } else {
                    None
                }
            })
            .unwrap_or(f64::NAN)
    }

    /// Relative standard error of the headline: the mean difference between the two leaders.
    pub fn headline_relative_error(&self) -> f64 {
        match self.leaders().and_then(|(a, b)| self.difference(a, b)) {
            Some((m, se)) if m != 0.0 => (se / m).abs(),
            Some(_) => f64::INFINITY,
            None => 0.0,
        }
    }

    fn finish(&mut self) {
        let n = self.samples.max(1) as f64;
        for st in &mut self.options {
            for (_, v) in st.breakdown.iter_mut() {
                *v /= n;
            }
        }
    }
}

/// What receives each round's paths, in path order.
pub type PathSink<'a> = dyn FnMut(&[PathResult]) -> Result<()> + 'a;

/// Run the engine, handing each round of paths to `sink` (in path order) as it completes;
/// without a sink, paths are dropped where they ran once folded.
/// `cancel` stops the run between rounds; what was done so far is returned, marked
/// interrupted. `progress` is told how many paths are done.
pub fn run(
    engine: &Engine,
    cfg: &RunConfig,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
    mut sink: Option<&mut PathSink<'_>>,
) -> Result<RunResult> {
    let keep_paths = sink.is_some();
    if cfg.samples == 0 {
        return Err(Error::input(
            "<command line>",
            "samples",
            "is 0; expected at least 1 sample path",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Invariant(format!("thread pool: {e}")))?;
    let batches = cfg.samples.div_ceil(BATCH);
    let (n_opt, horizon) = (
        engine.options.len(),
        engine.scenario.horizon_months as usize,
    );
    let mut result = RunResult::new(n_opt, horizon);
    let mut next = 0u64;
    while next < batches {
        if cancel.load(Ordering::SeqCst) {
            result.interrupted = true;
            break;
        }
        let end = (next + ROUND).min(batches);
        // Each batch is folded where it ran; the main thread only merges the folds in batch
        // order, so the result is the same at any thread count.
        let round: Vec<Result<(Vec<PathResult>, RunResult)>> = pool.install(|| {
            (next as usize..end as usize)
                .into_par_iter()
                // One batch per task, so an idle thread can always take the next one.
                .with_max_len(1)
                // A batch that has not started when Ctrl-C comes does not start, so a stop
                // takes at most one batch, not a round.
                .map(|b| {
                    let b = b as u64;
                    let paths = if cancel.load(Ordering::SeqCst) {
                        Vec::new()
                    } else {
                        engine.run_batch(cfg, b)?
                    };
                    let mut part = RunResult::new(n_opt, horizon);
                    for p in &paths {
                        part.add(p)?;
                    }
                    Ok((if keep_paths { paths } else { Vec::new() }, part))
                })
                .collect()
        });
        if cancel.load(Ordering::SeqCst) {
            result.interrupted = true;
            break;
        }
        for batch in round {
            let (paths, part) = batch?;
            result.merge(part);
            if let Some(sink) = sink.as_mut() {
                sink(&paths)?;
            }
        }
        next = end;
        progress(result.samples);
        if let Some(prec) = cfg.precision {
            if result.samples >= 2 * BATCH && result.headline_relative_error() < prec {
                break;
            }
        }
    }
    result.finish();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_limit_puts_the_bound_on_the_threshold() {
        for &(thr, k1, k2, cv) in &[
            (7200.0, 0.93, 1.33, 0.0),
            (7200.0, 0.93, 1.33, 0.3),
            (3600.0, 2.0, 5.0, 0.5),
            (100.0, 0.01, 0.0001, 0.0),
        ] {
            let a = linear_limit(thr, k1, k2, cv);
            let bound = a * k1 + LINEAR_SIGMAS * (a * k2 + (cv * a * k1).powi(2)).sqrt();
            assert!(
                a > 0.0 && (bound - thr).abs() <= 1e-9 * thr,
                "{thr} {k1} {k2} {cv}: a {a}, bound {bound}"
            );
        }
    }
}
