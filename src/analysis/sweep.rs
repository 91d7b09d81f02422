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
//! Sharding: `--shard K/N` runs the batches `b` with `b mod N = K` and writes each batch's
//! [`SweepFold`] to a part file ([`crate::shard`]); merging the parts' batch folds in batch
//! order is exactly what a single run does, so the merged result is byte-identical.

use crate::engine::fold::{self, Checked, Validate};
use crate::engine::{drive, Controls, Engine, Fold, Merge, PathJob, RunConfig};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::scenario::Scenario;
use crate::stats::{Stream, Summary};
use crate::Catalogue;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Grid points of a sweep unless asked otherwise.
pub const DEFAULT_POINTS: usize = 25;

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
    let median = s.input(s.demand.monthly).dist.median().max(1.0);
    let growth = s.input(s.demand.growth).dist.median();
    let last = median * (1.0 + growth).max(0.0).powi(s.horizon_months as i32 - 1);
    let hi = (median * 50.0)
        .max(last * 5.0)
        .min(crate::scenario::MAX_MONTHLY_IMAGES);
    ((median / 50.0).max(100.0), hi)
}

/// The scenario as a sweep sees it: one month, no growth, no seasonality.
pub fn sweep_engine(s: &Scenario, cat: &Catalogue) -> Result<Engine> {
    sweep_engine_with(s, cat, Default::default())
}

/// [`sweep_engine`] keeping its queue tables in `tables` ([`Engine::with_tables`]).
pub fn sweep_engine_with(
    s: &Scenario,
    cat: &Catalogue,
    tables: std::sync::Arc<crate::fleet::QueueCache>,
) -> Result<Engine> {
    let mut s = s.clone();
    s.horizon_months = 1;
    s.demand.seasonality = [1.0; 12];
    Engine::with_tables(s, cat, tables)
}

/// One path's monthly cost of every option at every grid point: `costs[point][option]`.
/// An option that cannot keep up with the volume (see `OptionPath::over_capacity`) is
/// marked, so it never counts as cheaper; its plain cost is kept for the curves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepPath {
    /// Path index.
    pub path: u64,
    /// Monthly cost [USD] by point, then option.
    pub costs: Vec<Vec<f64>>,
    /// Whether each option was over capacity, by point, then option.
    pub over_capacity: Vec<Vec<bool>>,
}

/// A sweep's paths: each path replayed from its seed at every volume of the grid.
pub struct SweepJob<'a> {
    /// The one-month engine of [`sweep_engine`].
    pub engine: &'a Engine,
    /// The run configuration (pins beyond volume and growth are kept).
    pub cfg: &'a RunConfig,
    /// The grid.
    pub volumes: &'a [f64],
}

impl PathJob for SweepJob<'_> {
    type Path = SweepPath;
    fn simulate(&self, path: u64, seed: [u8; 32]) -> Result<SweepPath> {
        let e = self.engine;
        let mut costs = Vec::with_capacity(self.volumes.len());
        let mut over = Vec::with_capacity(self.volumes.len());
        let mut c = self.cfg.clone();
        c.pin(e.scenario.demand.growth, 0.0);
        for &v in self.volumes {
            c.pin(e.scenario.demand.monthly, v);
            let r = e.simulate_path(path, &mut Xoshiro256PlusPlus::from_seed(seed), &c, false)?;
            costs.push(r.options.iter().map(|o| o.total_usd).collect());
            over.push(r.options.iter().map(|o| o.over_capacity()).collect());
        }
        Ok(SweepPath {
            path,
            costs,
            over_capacity: over,
        })
    }
}

/// Where a path's self-host cost is at or below its API cost, over the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// Where self-hosting becomes cheaper.
    pub lower: End,
    /// Where it stops being cheaper again (None: it stays cheaper to the grid's end).
    pub upper: Option<(f64, UpperEnd)>,
}

/// The lower end of the range where self-hosting is cheaper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Already cheaper at the lowest volume.
    Below,
    /// At this volume.
    At(f64),
    /// Never cheaper within the grid.
    Above,
}

/// Why self-hosting stops being the cheaper option above some volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpperEnd {
    /// The fleet cannot keep up beyond it (the volume is the last grid point it kept up at).
    Capacity,
    /// The API becomes cheaper again (a hybrid's overflow, say).
    Cost,
}

/// The crossings of `self_cost − api_cost` over the grid; `None` marks a volume at which the
/// fleet cannot keep up (never cheaper there).
pub fn crossing(volumes: &[f64], diff: impl Fn(usize) -> Option<f64>) -> Crossing {
    let n = volumes.len();
    let cheaper = |k: usize| diff(k).is_some_and(|d| d <= 0.0);
    let Some(k0) = (0..n).find(|&k| cheaper(k)) else {
        return Crossing {
            lower: End::Above,
            upper: None,
        };
    };
    let at =
        |k: usize, d0: f64, d1: f64| volumes[k] + (volumes[k + 1] - volumes[k]) * d0 / (d0 - d1);
    let lower = if k0 == 0 {
        End::Below
    } else {
        match (diff(k0 - 1), diff(k0)) {
            (Some(d0), Some(d1)) => End::At(at(k0 - 1, d0, d1)),
            _ => End::At(volumes[k0]),
        }
    };
    let upper = (k0 + 1..n)
        .find(|&k| !cheaper(k))
        .map(|k1| match (diff(k1 - 1), diff(k1)) {
            (Some(d0), Some(d1)) => (at(k1 - 1, d0, d1), UpperEnd::Cost),
            _ => (volumes[k1 - 1], UpperEnd::Capacity),
        });
    Crossing { lower, upper }
}

/// Cost statistics of one option at one volume.
#[derive(Debug, Clone, Serialize)]
pub struct OptionAtVolume {
    /// Option id.
    pub id: String,
    /// Monthly cost [USD/month].
    #[serde(flatten)]
    pub cost: Summary,
    /// Share of paths on which the fleet could not keep up at this volume.
    pub p_over_capacity: f64,
}

/// A self-host/API pair at one volume.
#[derive(Debug, Clone, Serialize)]
pub struct PairAtVolume {
    /// Self-hosted option.
    pub selfhost: String,
    /// API option.
    pub api: String,
    /// Probability self-hosting is cheaper (and keeps up).
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

/// The volume above which self-hosting stops being cheaper, on the paths where it does.
#[derive(Debug, Clone, Serialize)]
pub struct UpperBreakeven {
    /// Share of paths on which self-hosting is cheaper somewhere and stops being so within the
    /// grid.
    pub share: f64,
    /// Quantiles of that volume over those paths [assets/month].
    pub volume: Summary,
    /// Share of those paths on which it stops because the fleet runs out of capacity.
    pub share_capacity: f64,
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
    /// Where self-hosting stops being cheaper again, if it does on any path.
    pub upper: Option<UpperBreakeven>,
    /// The lowest grid volume at which the fleet cannot keep up on most paths.
    pub runs_out_at: Option<f64>,
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
pub fn pairs(e: &Engine) -> Vec<(OptionId, OptionId)> {
    let apis: Vec<OptionId> = (0..e.options.len())
        .map(OptionId)
        .filter(|&i| e.option(i).is_api())
        .collect();
    (0..e.options.len())
        .map(OptionId)
        .filter(|&i| !e.option(i).is_api())
        .flat_map(|s| apis.iter().map(move |&a| (s, a)))
        .collect()
}

/// One pair's crossings over the paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairCrossings {
    /// Lower break-evens inside the grid.
    inside: Stream,
    /// Paths already cheaper at the lowest volume.
    below: u64,
    /// Paths never cheaper.
    above: u64,
    /// Upper ends inside the grid.
    upper: Stream,
    /// Of those, the ones where the fleet ran out of capacity.
    upper_capacity: u64,
}

impl Merge for PairCrossings {
    fn merge(&mut self, later: &Self) {
        let PairCrossings {
            inside,
            below,
            above,
            upper,
            upper_capacity,
        } = self;
        inside.merge(&later.inside);
        Merge::merge(below, &later.below);
        Merge::merge(above, &later.above);
        upper.merge(&later.upper);
        Merge::merge(upper_capacity, &later.upper_capacity);
    }
}

/// A sweep's statistics: the sweep's [`Fold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFold {
    volumes: Vec<f64>,
    pairs: Vec<(OptionId, OptionId)>,
    /// Monthly cost by point, then option.
    cost: Vec<Vec<Stream>>,
    /// Paths over capacity by point, then option.
    over: Vec<Vec<u64>>,
    /// Paths on which self-hosting is cheaper, by point, then pair.
    cheaper: Vec<Vec<u64>>,
    crossings: Vec<PairCrossings>,
    n: u64,
}

impl SweepFold {
    /// An empty fold.
    pub fn new(e: &Engine, volumes: &[f64]) -> SweepFold {
        let pairs = pairs(e);
        let n_opt = e.options.len();
        SweepFold {
            volumes: volumes.to_vec(),
            cost: volumes
                .iter()
                .map(|_| vec![Stream::default(); n_opt])
                .collect(),
            over: volumes.iter().map(|_| vec![0; n_opt]).collect(),
            cheaper: volumes.iter().map(|_| vec![0; pairs.len()]).collect(),
            crossings: vec![PairCrossings::default(); pairs.len()],
            pairs,
            n: 0,
        }
    }
}

impl Fold for SweepFold {
    type Path = SweepPath;

    fn add(&mut self, p: &SweepPath) -> Result<()> {
        let SweepFold {
            volumes,
            pairs,
            cost,
            over,
            cheaper,
            crossings,
            n,
        } = self;
        *n += 1;
        for (k, costs) in p.costs.iter().enumerate() {
            for (o, c) in costs.iter().enumerate() {
                cost[k][o].push(*c).map_err(Error::Invariant)?;
                over[k][o] += p.over_capacity[k][o] as u64;
            }
            for (j, (s, a)) in pairs.iter().enumerate() {
                cheaper[k][j] += (costs[s.0] < costs[a.0] && !p.over_capacity[k][s.0]) as u64;
            }
        }
        for ((s, a), c) in pairs.iter().zip(crossings.iter_mut()) {
            // A fleet over capacity is not cheaper, whatever its bill says.
            let diff =
                |k: usize| (!p.over_capacity[k][s.0]).then(|| p.costs[k][s.0] - p.costs[k][a.0]);
            let x = crossing(volumes, diff);
            match x.lower {
                End::Below => c.below += 1,
                End::Above => c.above += 1,
                End::At(v) => c.inside.push(v).map_err(Error::Invariant)?,
            }
            if let Some((v, why)) = x.upper {
                c.upper.push(v).map_err(Error::Invariant)?;
                c.upper_capacity += (why == UpperEnd::Capacity) as u64;
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        let SweepFold {
            volumes: _,
            pairs: _,
            cost,
            over,
            cheaper,
            crossings,
            n,
        } = self;
        cost.merge(&later.cost);
        over.merge(&later.over);
        cheaper.merge(&later.cheaper);
        crossings.merge(&later.crossings);
        Merge::merge(n, &later.n);
    }
}

impl Validate for PairCrossings {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let PairCrossings {
            inside,
            below,
            above,
            upper,
            upper_capacity,
        } = self;
        let e = empty;
        fold::field("inside", inside, &e.inside, paths)?;
        fold::field("below", below, &e.below, paths)?;
        fold::field("above", above, &e.above, paths)?;
        fold::field("upper", upper, &e.upper, paths)?;
        fold::field("upper_capacity", upper_capacity, &e.upper_capacity, paths)
    }
}

impl Validate for SweepFold {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let SweepFold {
            volumes,
            pairs,
            cost,
            over,
            cheaper,
            crossings,
            n,
        } = self;
        let e = empty;
        fold::setting("volumes", volumes, &e.volumes)?;
        fold::setting("pairs", pairs, &e.pairs)?;
        fold::field("cost", cost, &e.cost, paths)?;
        fold::field("over", over, &e.over, paths)?;
        fold::field("cheaper", cheaper, &e.cheaper, paths)?;
        fold::field("crossings", crossings, &e.crossings, paths)?;
        fold::all_paths("n", *n, paths)
    }
}

impl SweepFold {
    /// The result.
    pub fn finish(
        &self,
        e: &Engine,
        provenance: crate::report::summary::Provenance,
    ) -> SweepResult {
        let id = |i: OptionId| e.option(i).id.clone();
        let n = self.n.max(1) as f64;
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
                        id: id(OptionId(o)),
                        cost: s.summary(),
                        p_over_capacity: self.over[k][o] as f64 / n,
                    })
                    .collect(),
                pairs: self
                    .pairs
                    .iter()
                    .enumerate()
                    .map(|(j, (s, a))| PairAtVolume {
                        selfhost: id(*s),
                        api: id(*a),
                        p_selfhost_cheaper: self.cheaper[k][j] as f64 / n,
                    })
                    .collect(),
            })
            .collect();
        let lo = self.volumes.first().copied().unwrap_or(0.0);
        let hi = self.volumes.last().copied().unwrap_or(0.0);
        let breakeven = self
            .pairs
            .iter()
            .zip(&self.crossings)
            .map(|((s, a), c)| {
                let q = |q: f64| -> Option<f64> {
                    // Order: paths below the grid, then crossings inside it, then above it.
                    let h = q * (self.n.saturating_sub(1)) as f64;
                    let (nb, ni) = (c.below as f64, c.inside.count() as f64);
                    if h < nb || h > nb + ni - 1.0 || ni == 0.0 {
                        return None;
                    }
                    let qi = if ni > 1.0 { (h - nb) / (ni - 1.0) } else { 0.0 };
                    Some(c.inside.quantile(qi))
                };
                let qs = VolumeQuantiles {
                    p5: q(0.05),
                    p50: q(0.5),
                    p95: q(0.95),
                };
                let any = qs.p5.is_some() || qs.p50.is_some() || qs.p95.is_some();
                let upper = (c.upper.count() > 0).then(|| UpperBreakeven {
                    share: c.upper.count() as f64 / n,
                    volume: c.upper.summary(),
                    share_capacity: c.upper_capacity as f64 / c.upper.count() as f64,
                });
                let runs_out_at = self
                    .volumes
                    .iter()
                    .enumerate()
                    .find(|(k, _)| self.over[*k][s.0] as f64 / n > 0.5)
                    .map(|(_, v)| *v);
                let verdict = verdict(&id(*s), &id(*a), &qs, c, n, lo, hi, upper.as_ref());
                Breakeven {
                    selfhost: id(*s),
                    api: id(*a),
                    volume: any.then_some(qs),
                    share_below_grid: c.below as f64 / n,
                    share_above_grid: c.above as f64 / n,
                    upper,
                    runs_out_at,
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

/// A break-even in words.
#[allow(clippy::too_many_arguments)]
fn verdict(
    s: &str,
    a: &str,
    qs: &VolumeQuantiles,
    c: &PairCrossings,
    n: f64,
    lo: f64,
    hi: f64,
    upper: Option<&UpperBreakeven>,
) -> String {
    // Digits the spread supports: three significant ones when the break-even is uncertain,
    // every one when it is exact (all inputs fixed: p5 = p95).
    let exact = matches!((qs.p5, qs.p95), (Some(a), Some(b)) if (a - b).abs() <= 1e-9 * a.abs());
    let fmt = |x: f64| {
        if exact || x == 0.0 || !x.is_finite() {
            crate::money::format_count(x)
        } else {
            let scale = 10f64.powi(x.abs().log10().floor() as i32 - 2).max(1.0);
            crate::money::format_count((x / scale).round() * scale)
        }
    };
    // Self-hosting stops being cheaper within the grid on most of the paths where it ever is.
    let ever = n - c.above as f64;
    let ends = upper.filter(|u| u.share * n >= 0.5 * ever.max(1.0));
    let tail = |u: &UpperBreakeven| {
        let why = if u.share_capacity >= 0.5 {
            format!("where {s} runs out of capacity")
        } else {
            format!("where {a} is cheaper again")
        };
        format!(" to about {} images/month, {why}", fmt(u.volume.p50))
    };
    match (qs.p50, c.below as f64 / n, c.above as f64 / n) {
        (Some(m), _, _) => format!(
            "{s} beats {a} from about {}{} (p5–p95 of the lower end: {}–{})",
            fmt(m),
            ends.map(tail).unwrap_or_else(|| " images/month up".into()),
            qs.p5
                .map(fmt)
                .unwrap_or_else(|| format!("below {}", fmt(lo))),
            qs.p95
                .map(fmt)
                .unwrap_or_else(|| format!("above {}", fmt(hi)))
        ),
        (None, b, _) if b >= 0.5 => format!(
            "{s} is already cheaper than {a} at {} images/month on most paths{}",
            fmt(lo),
            ends.map(|u| format!(", up{}", tail(u))).unwrap_or_default()
        ),
        (None, _, ab) if ab >= 0.5 => format!(
            "{s} never becomes cheaper than {a} up to {} images/month on most paths",
            fmt(hi)
        ),
        _ => format!(
            "no clear break-even of {s} against {a} in {}–{} images/month",
            fmt(lo),
            fmt(hi)
        ),
    }
}

/// Run a sweep and fold its paths.
pub fn run(e: &Engine, cfg: &RunConfig, volumes: &[f64], ctl: Controls<'_>) -> Result<SweepFold> {
    let job = SweepJob {
        engine: e,
        cfg,
        volumes,
    };
    drive(
        &job,
        cfg,
        ctl,
        &|| SweepFold::new(e, volumes),
        &|_| false,
        None,
    )
}

/// Paths of the pilot sweep that decides where [`refined_grid`] adds points.
pub const PILOT_PATHS: u64 = 200;

/// `base` with up to `extra` more points, spread over its intervals in proportion to how far
/// the probability that self-hosting is cheaper moves across each (the largest move over the
/// pairs; `p[k][j]` is pair `j` at `base[k]`). Intervals where it moves less than 2 points get
/// none: the curve is already smooth there. New points are log- or linearly spaced inside
/// their interval, as the grid is.
pub fn refine(base: &[f64], p: &[Vec<f64>], extra: usize, log: bool) -> Vec<f64> {
    let n = base.len();
    if n < 2 || p.len() != n || extra == 0 {
        return base.to_vec();
    }
    let moves: Vec<f64> = (0..n - 1)
        .map(|k| {
            p[k].iter()
                .zip(&p[k + 1])
                .map(|(a, b)| (b - a).abs())
                .filter(|d| d.is_finite())
                .fold(0.0, f64::max)
        })
        .map(|d| if d < 0.02 { 0.0 } else { d })
        .collect();
    let total: f64 = moves.iter().sum();
    if total <= 0.0 {
        return base.to_vec();
    }
    // Largest remainder: every point goes where the curve moves most.
    let exact: Vec<f64> = moves.iter().map(|m| extra as f64 * m / total).collect();
    let mut alloc: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..n - 1).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = extra - alloc.iter().sum::<usize>();
    for k in order {
        if left == 0 {
            break;
        }
        if moves[k] > 0.0 {
            alloc[k] += 1;
            left -= 1;
        }
    }
    let mut out = Vec::with_capacity(n + extra);
    for k in 0..n - 1 {
        out.push(base[k]);
        let inside = grid(base[k], base[k + 1], alloc[k] + 2, log);
        out.extend_from_slice(&inside[1..inside.len() - 1]);
    }
    out.push(base[n - 1]);
    out
}

/// The grid a sweep runs: `base`, refined (see [`refine`]) with `base.len() / 2` more points
/// where a pilot sweep of [`PILOT_PATHS`] paths (the run's first, whatever its shard) finds
/// the probability that self-hosting is cheaper changing fastest. Every shard computes the
/// same grid.
pub fn refined_grid(
    e: &Engine,
    cfg: &RunConfig,
    base: &[f64],
    log: bool,
    ctl: Controls<'_>,
) -> Result<Vec<f64>> {
    if pairs(e).is_empty() || base.len() < 2 {
        return Ok(base.to_vec());
    }
    let mut pilot = cfg.clone();
    pilot.samples = cfg.samples.min(PILOT_PATHS);
    pilot.shard = None;
    pilot.precision = None;
    let fold = run(e, &pilot, base, ctl)?;
    let prov = crate::report::summary::Provenance::new(e, "", pilot.seed, pilot.sampler);
    let r = fold.finish(e, prov);
    let p: Vec<Vec<f64>> = r
        .points
        .iter()
        .map(|pt| pt.pairs.iter().map(|q| q.p_selfhost_cheaper).collect())
        .collect();
    Ok(refine(base, &p, base.len() / 2, log))
}

#[cfg(test)]
mod refine_tests {
    use super::*;

    #[test]
    fn points_go_where_the_probability_moves() {
        let base: Vec<f64> = (0..5).map(|k| 10f64.powi(k)).collect();
        // P jumps between the 2nd and 3rd point only.
        let p = vec![vec![0.0], vec![0.0], vec![0.9], vec![1.0], vec![1.0]];
        let g = refine(&base, &p, 4, true);
        assert_eq!(g.len(), 9);
        let inside = g.iter().filter(|v| **v > 10.0 && **v < 100.0).count();
        assert_eq!(inside, 4, "{g:?}");
        assert!(g.windows(2).all(|w| w[0] < w[1]));
        // Flat: nothing added.
        let flat = vec![vec![0.5]; 5];
        assert_eq!(refine(&base, &flat, 4, true), base);
        // Two pairs: the larger move decides.
        let p2 = vec![
            vec![0.0, 0.0],
            vec![0.5, 0.0],
            vec![0.5, 0.0],
            vec![0.5, 0.5],
            vec![0.5, 0.5],
        ];
        let g = refine(&base, &p2, 2, true);
        assert_eq!(g.iter().filter(|v| **v > 1.0 && **v < 10.0).count(), 1);
        assert_eq!(g.iter().filter(|v| **v > 100.0 && **v < 1000.0).count(), 1);
    }
}
