//! Cost against monthly volume, and the break-even volume of every self-hosted option against
//! every API option, as distributions.
//!
//! A sweep simulates one month at a steady volume (growth and seasonality set aside) at each
//! point of a grid. Each sample path keeps its seed across the grid, so its other inputs (prices,
//! speeds) are the same at every volume: common random numbers make the curves smooth and each
//! path's break-even well defined. A path's break-even is where its self-host cost curve
//! crosses below its API cost curve, interpolated linearly in volume between grid points
//! (exact when both costs are linear there, as they are between saturation points).
//!
//! Sharding: `--shard K/N` runs the batches `b` with `b mod N = K` and writes their per-path
//! costs; merging the parts folds the paths in path order, exactly as a single run does, so
//! the merged result is byte-identical.

use crate::engine::{Engine, RunConfig, BATCH, ROUND};
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::stats::{self, Summary};
use crate::Catalogue;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

/// Volumes from `a` to `b` in `n` points, log- or linearly spaced.
pub fn grid(a: f64, b: f64, n: usize, log: bool) -> Vec<f64> {
    if n <= 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            if log {
                (a.ln() + t * (b.ln() - a.ln())).exp()
            } else {
                a + t * (b - a)
            }
        })
        .collect()
}

/// The default grid: from a fiftieth of the scenario's median month-0 volume up to fifty times
/// it, or five times the median last month's volume if growth takes demand further.
pub fn default_range(s: &Scenario) -> (f64, f64) {
    let median = s.inputs[s.demand.monthly].dist.median().max(1.0);
    let growth = s.inputs[s.demand.growth].dist.median();
    let last = median * (1.0 + growth).max(0.0).powi(s.horizon_months as i32 - 1);
    let hi = (median * 50.0)
        .max(last * 5.0)
        .min(crate::scenario::MAX_MONTHLY_IMAGES);
    ((median / 50.0).max(100.0), hi)
}

/// The scenario as a sweep sees it: one month, no growth, no seasonality.
pub fn sweep_engine(s: &Scenario, cat: &Catalogue) -> Result<Engine> {
    let mut s = s.clone();
    s.horizon_months = 1;
    s.demand.seasonality = [1.0; 12];
    Engine::new(s, cat)
}

/// One path's monthly cost of every option at every grid point: `costs[point][option]`.
/// An option that cannot keep up with the volume (see `OptionPath::over_capacity`) has its
/// cost recorded as infinite for comparisons, and its plain cost kept for the curves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepPath {
    /// Path index.
    pub path: u64,
    /// Monthly cost [USD] by point, then option.
    pub costs: Vec<Vec<f64>>,
    /// Whether each option was over capacity, by point, then option.
    pub over_capacity: Vec<Vec<bool>>,
}

/// Simulate the paths of batch `b` at every volume.
pub fn run_batch(e: &Engine, cfg: &RunConfig, volumes: &[f64], b: u64) -> Result<Vec<SweepPath>> {
    let monthly = e.scenario.demand.monthly;
    let growth = e.scenario.demand.growth;
    Engine::path_seeds(cfg, b)
        .into_iter()
        .map(|(path, seed)| {
            let mut costs = Vec::with_capacity(volumes.len());
            let mut over = Vec::with_capacity(volumes.len());
            for &v in volumes {
                let mut c = cfg.clone();
                if c.pins.len() < e.scenario.inputs.len() {
                    c.pins.resize(e.scenario.inputs.len(), None);
                }
                c.pins[monthly] = Some(v);
                c.pins[growth] = Some(0.0);
                let r =
                    e.simulate_path(path, &mut Xoshiro256PlusPlus::from_seed(seed), &c, false)?;
                costs.push(r.options.iter().map(|o| o.total_usd).collect());
                over.push(r.options.iter().map(|o| o.over_capacity()).collect());
            }
            Ok(SweepPath {
                path,
                costs,
                over_capacity: over,
            })
        })
        .collect()
}

/// Where a path's self-host cost first falls to or below its API cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossing {
    /// Already cheaper at the lowest volume.
    Below,
    /// At this volume.
    At(f64),
    /// Never cheaper within the grid.
    Above,
}

/// The crossing of `self_cost − api_cost` over the grid.
pub fn crossing(volumes: &[f64], diff: impl Fn(usize) -> f64) -> Crossing {
    if diff(0) <= 0.0 {
        return Crossing::Below;
    }
    for k in 0..volumes.len().saturating_sub(1) {
        let (d0, d1) = (diff(k), diff(k + 1));
        if d0 > 0.0 && d1 <= 0.0 {
            if !d0.is_finite() {
                return Crossing::At(volumes[k + 1]);
            }
            return Crossing::At(volumes[k] + (volumes[k + 1] - volumes[k]) * d0 / (d0 - d1));
        }
    }
    Crossing::Above
}

/// Cost statistics of one option at one volume.
#[derive(Debug, Clone, Serialize)]
pub struct OptionAtVolume {
    /// Option id.
    pub id: String,
    /// Monthly cost [USD/month].
    #[serde(flatten)]
    pub cost: Summary,
}

/// A self-host/API pair at one volume.
#[derive(Debug, Clone, Serialize)]
pub struct PairAtVolume {
    /// Self-hosted option.
    pub selfhost: String,
    /// API option.
    pub api: String,
    /// Probability self-hosting is cheaper.
    pub p_selfhost_cheaper: f64,
}

/// One grid point.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Monthly volume [assets/month].
    pub volume: f64,
    /// Per option.
    pub options: Vec<OptionAtVolume>,
    /// Per pair.
    pub pairs: Vec<PairAtVolume>,
}

/// Quantiles of a break-even volume; `None` where the quantile falls outside the grid.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeQuantiles {
    /// 5th percentile [assets/month].
    pub p5: Option<f64>,
    /// Median [assets/month].
    pub p50: Option<f64>,
    /// 95th percentile [assets/month].
    pub p95: Option<f64>,
}

/// The break-even of one pair.
#[derive(Debug, Clone, Serialize)]
pub struct Breakeven {
    /// Self-hosted option.
    pub selfhost: String,
    /// API option.
    pub api: String,
    /// Break-even volume quantiles (null when none of the paths' break-evens at that quantile fall in the grid).
    pub volume: Option<VolumeQuantiles>,
    /// Share of paths on which self-hosting is already cheaper at the lowest volume.
    pub share_below_grid: f64,
    /// Share of paths on which self-hosting never becomes cheaper within the grid.
    pub share_above_grid: f64,
    /// In words.
    pub verdict: String,
}

/// A finished sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    /// Reproduction data.
    #[serde(flatten)]
    pub provenance: crate::report::summary::Provenance,
    /// Paths.
    pub samples: u64,
    /// Grid points.
    pub points: Vec<Point>,
    /// Every self-host/hybrid option against every API option.
    pub breakeven: Vec<Breakeven>,
}

/// The (self-host, API) option pairs of an engine.
pub fn pairs(e: &Engine) -> Vec<(usize, usize)> {
    let apis: Vec<usize> = (0..e.options.len())
        .filter(|&i| e.options[i].is_api())
        .collect();
    (0..e.options.len())
        .filter(|&i| !e.options[i].is_api())
        .flat_map(|s| apis.iter().map(move |&a| (s, a)))
        .collect()
}

/// Statistics folded from paths in path order.
pub struct Fold {
    volumes: Vec<f64>,
    pairs: Vec<(usize, usize)>,
    cost: Vec<Vec<stats::Stream>>,
    cheaper: Vec<Vec<u64>>,
    crossings: Vec<(stats::Stream, u64, u64)>,
    n: u64,
}

impl Fold {
    /// An empty fold.
    pub fn new(e: &Engine, volumes: &[f64]) -> Fold {
        let pairs = pairs(e);
        Fold {
            volumes: volumes.to_vec(),
            cost: volumes
                .iter()
                .map(|_| e.options.iter().map(|_| stats::Stream::default()).collect())
                .collect(),
            cheaper: volumes.iter().map(|_| vec![0; pairs.len()]).collect(),
            crossings: pairs
                .iter()
                .map(|_| (stats::Stream::default(), 0, 0))
                .collect(),
            pairs,
            n: 0,
        }
    }

    /// Add a path.
    pub fn add(&mut self, p: &SweepPath) -> Result<()> {
        self.n += 1;
        for (k, costs) in p.costs.iter().enumerate() {
            for (o, c) in costs.iter().enumerate() {
                self.cost[k][o].push(*c).map_err(Error::Invariant)?;
            }
            for (j, (s, a)) in self.pairs.iter().enumerate() {
                self.cheaper[k][j] += (costs[*s] < costs[*a] && !p.over_capacity[k][*s]) as u64;
            }
        }
        for (j, (s, a)) in self.pairs.iter().enumerate() {
            // A fleet over capacity is not cheaper, whatever its bill says.
            let diff = |k: usize| {
                if p.over_capacity[k][*s] {
                    f64::INFINITY
                } else {
                    p.costs[k][*s] - p.costs[k][*a]
                }
            };
            match crossing(&self.volumes, diff) {
                Crossing::Below => self.crossings[j].1 += 1,
                Crossing::Above => self.crossings[j].2 += 1,
                Crossing::At(v) => self.crossings[j].0.push(v).map_err(Error::Invariant)?,
            }
        }
        Ok(())
    }

    /// The result.
    pub fn finish(
        &self,
        e: &Engine,
        provenance: crate::report::summary::Provenance,
    ) -> SweepResult {
        let id = |i: usize| e.options[i].id.clone();
        let points = self
            .volumes
            .iter()
            .enumerate()
            .map(|(k, v)| Point {
                volume: *v,
                options: self.cost[k]
                    .iter()
                    .enumerate()
                    .map(|(o, s)| OptionAtVolume {
                        id: id(o),
                        cost: s.summary(),
                    })
                    .collect(),
                pairs: self
                    .pairs
                    .iter()
                    .enumerate()
                    .map(|(j, (s, a))| PairAtVolume {
                        selfhost: id(*s),
                        api: id(*a),
                        p_selfhost_cheaper: self.cheaper[k][j] as f64 / self.n.max(1) as f64,
                    })
                    .collect(),
            })
            .collect();
        let breakeven = self
            .pairs
            .iter()
            .zip(&self.crossings)
            .map(|((s, a), (inside, below, above))| {
                let n = self.n.max(1) as f64;
                let q = |q: f64| -> Option<f64> {
                    // Order: paths below the grid, then crossings inside it, then above it.
                    let h = q * (self.n.saturating_sub(1)) as f64;
                    let (nb, ni) = (*below as f64, inside.count() as f64);
                    if h < nb || h > nb + ni - 1.0 || ni == 0.0 {
                        return None;
                    }
                    let qi = if ni > 1.0 { (h - nb) / (ni - 1.0) } else { 0.0 };
                    Some(inside.quantile(qi))
                };
                let qs = VolumeQuantiles {
                    p5: q(0.05),
                    p50: q(0.5),
                    p95: q(0.95),
                };
                let any = qs.p5.is_some() || qs.p50.is_some() || qs.p95.is_some();
                let lo = self.volumes.first().copied().unwrap_or(0.0);
                let hi = self.volumes.last().copied().unwrap_or(0.0);
                let fmt = crate::money::format_count;
                let verdict = match (qs.p50, *below as f64 / n, *above as f64 / n) {
                    (Some(m), _, _) => format!(
                        "{} beats {} above about {} images/month (p5–p95: {}–{})",
                        id(*s),
                        id(*a),
                        fmt(m),
                        qs.p5
                            .map(fmt)
                            .unwrap_or_else(|| format!("below {}", fmt(lo))),
                        qs.p95
                            .map(fmt)
                            .unwrap_or_else(|| format!("above {}", fmt(hi)))
                    ),
                    (None, b, _) if b >= 0.5 => format!(
                        "{} is already cheaper than {} at {} images/month on most paths",
                        id(*s),
                        id(*a),
                        fmt(lo)
                    ),
                    (None, _, ab) if ab >= 0.5 => format!(
                        "{} never becomes cheaper than {} up to {} images/month on most paths",
                        id(*s),
                        id(*a),
                        fmt(hi)
                    ),
                    _ => format!(
                        "no clear break-even of {} against {} in {}–{} images/month",
                        id(*s),
                        id(*a),
                        fmt(lo),
                        fmt(hi)
                    ),
                };
                Breakeven {
                    selfhost: id(*s),
                    api: id(*a),
                    volume: any.then_some(qs),
                    share_below_grid: *below as f64 / n,
                    share_above_grid: *above as f64 / n,
                    verdict,
                }
            })
            .collect();
        SweepResult {
            provenance,
            samples: self.n,
            points,
            breakeven,
        }
    }
}

/// Run the batches `shard.0 mod shard.1` (all when `None`) of a sweep, handing each round's
/// paths to `sink` in path order.
pub fn run(
    e: &Engine,
    cfg: &RunConfig,
    volumes: &[f64],
    shard: Option<(u64, u64)>,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&[SweepPath]) -> Result<()>,
) -> Result<bool> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Invariant(format!("thread pool: {e}")))?;
    let (k, n) = shard.unwrap_or((0, 1));
    let batches: Vec<u64> = (0..cfg.samples.div_ceil(BATCH))
        .filter(|b| b % n == k)
        .collect();
    let mut done = 0;
    for round in batches.chunks(ROUND as usize) {
        if cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let results: Vec<Result<Vec<SweepPath>>> = pool.install(|| {
            round
                .par_iter()
                .map(|&b| {
                    if cancel.load(Ordering::SeqCst) {
                        Ok(Vec::new())
                    } else {
                        run_batch(e, cfg, volumes, b)
                    }
                })
                .collect()
        });
        if cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        for r in results {
            let r = r?;
            done += r.len() as u64;
            sink(&r)?;
        }
        progress(done);
    }
    Ok(true)
}

/// A shard's paths, as written by `sweep --shard K/N`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Part {
    /// `breakeven sweep part`.
    pub kind: String,
    /// Tool version.
    pub version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub scenario_file: String,
    /// Catalogue.
    pub catalogue: String,
    /// Seed.
    pub seed: u64,
    /// Paths in the whole sweep.
    pub samples: u64,
    /// Grid.
    pub volumes: Vec<f64>,
    /// This shard.
    pub shard: u64,
    /// Shards in all.
    pub shards: u64,
    /// The shard's paths.
    pub paths: Vec<SweepPath>,
}

/// The kind tag of a part file.
pub const PART_KIND: &str = "breakeven sweep part";
