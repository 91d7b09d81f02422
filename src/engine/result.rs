//! What a path gives ([`PathResult`]) and what a run gathers from its paths ([`RunResult`],
//! the run's [`Fold`]).
//!
//! Shares and per-image costs over a run are ratios of means (total cost over total images,
//! busy seconds over capacity), never means of each path's ratio: a path with few images and a
//! high cost per image must not weigh as much as one with many. A fleet that cannot keep up on
//! a path (see [`OptionPath::over_capacity`]) is never the cheapest there.

use super::fold::{self, Checked, Fold, Merge, Unfit, Validate};
use crate::engine::ItemKind;
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::queue::latency::{bin_of, edge, from_units, to_units, BINS, BINS_PER_DECADE};
use crate::queue::LatencyHistogram;
use crate::stats::{self, Moments, Ratio, Stream};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one option did on one path.
#[derive(Debug, Clone, Serialize)]
pub struct OptionPath {
    /// Total over the horizon [USD].
    pub total_usd: f64,
    /// Cost of each month [USD].
    pub monthly_usd: Vec<f64>,
    /// Cash paid out in each month [USD]: the cost, but owned hardware's purchase in full in
    /// the first month and its resale coming back in the last, instead of their difference
    /// spread over the horizon.
    pub monthly_cash_usd: Vec<f64>,
    /// Of each month's cash, one-time outlays (purchase less resale, set-up, a reservation's
    /// term past the horizon) [USD].
    pub monthly_capex_usd: Vec<f64>,
    /// Of each month's cash, API bills (the API's own, overflow, stages) [USD].
    pub monthly_api_usd: Vec<f64>,
    /// Present value of the cash at the scenario's discount rate [USD].
    pub present_value_usd: f64,
    /// What a reservation's term past the horizon would cost in full [USD] (0 without one).
    pub commitment_left_usd: f64,
    /// Delivered assets over the horizon.
    pub assets: f64,
    /// Images made on the self-hosted fleet.
    pub fleet_images: f64,
    /// Images sent to the overflow API.
    pub overflow_images: f64,
    /// GPU-seconds of work done on the fleet [s].
    pub busy_seconds: f64,
    /// GPU-seconds the fleet could have worked (billed time for serverless) [s].
    pub capacity_seconds: f64,
    /// 95th percentile wait of fleet images [s].
    pub p95_wait_s: f64,
    /// Images above the licence's included volume.
    pub licence_overage_images: f64,
    /// Images still queued at the end of the horizon: the fleet could not keep up.
    pub backlog_images: f64,
    /// Cost by item kind [USD].
    pub breakdown: Vec<(ItemKind, f64)>,
    /// End-to-end latency of the fleet's served images (self-hosted options).
    #[serde(skip)]
    pub latency: Option<PathLatency>,
}

/// What one path's fleet-served requests' latency (wait + service) is made of: requests at
/// known latencies, and requests recorded against queue tables' rows (written out once per
/// run, see [`crate::engine::Engine::latency`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathLatency {
    /// (latency [s], requests).
    pub points: Vec<(f64, f64)>,
    /// Requests by table and row.
    pub rows: Vec<RowTally>,
}

/// Requests recorded against the rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct RowTally {
    /// Servers of the table.
    pub servers: u32,
    /// Speed step of the table ([`crate::fleet::speed_step`]).
    pub step: i32,
    /// Requests with each row's latency.
    pub weights: Vec<f64>,
    /// Requests with each row's latency plus a cold start.
    pub delayed: Vec<f64>,
}

/// A run's fleet-served latency, request-weighted over hours and paths. Masses are the
/// histogram's fixed-point integers, so adding paths and merging folds are exact and
/// order-free: the same bytes at any thread count, and `add` and `merge` agree exactly. Kept
/// sparse (a path's images fall in few bins), so that the folds a round of batches holds at
/// once stay small.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "LatencyWire", try_from = "LatencyWire")]
pub struct LatencyStats {
    /// Requests at known latencies, by the latency histogram's bin ([`BINS`]: unbounded).
    pub points: BTreeMap<usize, u128>,
    /// Requests by (servers, speed step) and row: (weights, delayed weights), in units.
    pub rows: BTreeMap<(u32, i32), (Vec<u128>, Vec<u128>)>,
}

impl LatencyStats {
    fn add(&mut self, p: &PathLatency) {
        let LatencyStats { points, rows } = self;
        for &(t, n) in &p.points {
            let k = if t.is_finite() { bin_of(t) } else { BINS };
            *points.entry(k).or_default() += to_units(n);
        }
        for r in &p.rows {
            let e = rows.entry((r.servers, r.step)).or_default();
            let to = |v: &[f64]| -> Vec<u128> { v.iter().map(|x| to_units(*x)).collect() };
            add_into(&mut e.0, &to(&r.weights));
            add_into(&mut e.1, &to(&r.delayed));
        }
    }

    /// The requests at known latencies as a histogram.
    pub fn histogram(&self) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for (&k, &u) in &self.points {
            // The middle of bin k lands in bin k.
            let t = if k >= BINS {
                f64::INFINITY
            } else {
                edge(k) * 10f64.powf(0.5 / BINS_PER_DECADE as f64)
            };
            h.add_point(from_units(u), t);
        }
        h
    }

    /// Row weights of one table in requests.
    pub fn requests(units: &[u128]) -> Vec<f64> {
        units.iter().map(|u| from_units(*u)).collect()
    }
}

/// [`LatencyStats`] in a part file: JSON maps take string keys only, so both maps travel as
/// lists of entries in key order (a key given twice is refused on reading).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyWire {
    /// (bin, mass in units).
    points: Vec<(usize, u128)>,
    /// (servers, speed step, weights, delayed weights), in units.
    rows: Vec<(u32, i32, Vec<u128>, Vec<u128>)>,
}

impl From<LatencyStats> for LatencyWire {
    fn from(l: LatencyStats) -> LatencyWire {
        let LatencyStats { points, rows } = l;
        LatencyWire {
            points: points.into_iter().collect(),
            rows: rows
                .into_iter()
                .map(|((s, k), (w, d))| (s, k, w, d))
                .collect(),
        }
    }
}

impl TryFrom<LatencyWire> for LatencyStats {
    type Error = String;
    fn try_from(w: LatencyWire) -> std::result::Result<LatencyStats, String> {
        let LatencyWire { points, rows } = w;
        let n = (points.len(), rows.len());
        let l = LatencyStats {
            points: points.into_iter().collect(),
            rows: rows
                .into_iter()
                .map(|(s, k, w, d)| ((s, k), (w, d)))
                .collect(),
        };
        if (l.points.len(), l.rows.len()) != n {
            return Err("latency lists a bin or a table twice; expected each once".into());
        }
        Ok(l)
    }
}

/// Most servers a latency table of a part may have: a fleet's GPUs
/// ([`crate::engine::compile`]'s 10,000) times the most replicas a GPU holds.
const MAX_TABLE_SERVERS: u32 = 10_000 * crate::catalogue::MAX_GPUS_PER_REPLICA;
/// Largest speed step of a latency table (a speed factor of 10^±30).
const MAX_TABLE_STEP: i32 = 30 * crate::fleet::SPEED_STEPS_PER_DECADE as i32;
/// Most rows a latency table has ([`crate::queue::QueueTable`]).
const MAX_TABLE_ROWS: usize = 1_000;

impl Validate for LatencyStats {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let LatencyStats { points, rows } = self;
        let _ = empty;
        // A path's requests are at most its months' assets; in units, per batch of `paths`.
        let most = to_units(
            paths.max(1) as f64
                * crate::limits::MAX_PEAK_MONTHLY_ASSETS
                * crate::limits::MAX_HORIZON_MONTHS as f64,
        );
        let mass = |u: u128| -> Checked {
            if u <= most {
                Ok(())
            } else {
                Err(Unfit::new(format!(
                    "is {u}; expected at most {most} (the requests of {paths} paths, in units)"
                )))
            }
        };
        for (k, u) in points {
            if *k > BINS {
                return Err(
                    Unfit::new(format!("names bin {k}; expected a bin of 0 to {BINS}"))
                        .under("points"),
                );
            }
            mass(*u).map_err(|e| e.under(&format!("points[{k}]")))?;
        }
        for (i, ((servers, step), (w, d))) in rows.iter().enumerate() {
            let key = format!("rows[{i}]");
            if *servers > MAX_TABLE_SERVERS || step.abs() > MAX_TABLE_STEP {
                return Err(Unfit::new(format!("is a table of {servers} servers at speed step {step}; expected at most {MAX_TABLE_SERVERS} servers and steps of at most {MAX_TABLE_STEP} in size")).under(&key));
            }
            for (what, v) in [("weights", w), ("delayed", d)] {
                if v.len() > MAX_TABLE_ROWS {
                    return Err(Unfit::new(format!(
                        "has {} rows; expected at most {MAX_TABLE_ROWS}",
                        v.len()
                    ))
                    .under(&format!("{key}.{what}")));
                }
                for (r, u) in v.iter().enumerate() {
                    mass(*u).map_err(|e| e.under(&format!("{key}.{what}[{r}]")))?;
                }
            }
        }
        Ok(())
    }
}

fn add_into(a: &mut Vec<u128>, b: &[u128]) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

impl Merge for LatencyStats {
    fn merge(&mut self, later: &Self) {
        let LatencyStats { points, rows } = self;
        for (k, u) in &later.points {
            *points.entry(*k).or_default() += u;
        }
        for (k, (w, d)) in &later.rows {
            let e = rows.entry(*k).or_default();
            add_into(&mut e.0, w);
            add_into(&mut e.1, d);
        }
    }
}

impl OptionPath {
    /// Monthly cost averaged over the horizon [USD/month].
    pub fn monthly_mean_usd(&self) -> f64 {
        self.total_usd / self.monthly_usd.len().max(1) as f64
    }
    /// This path's total cost per delivered asset [USD] (0 when nothing was delivered); over a
    /// run, report [`OptionStats::per_asset`] instead, the ratio of the means.
    pub fn cost_per_asset_usd(&self) -> f64 {
        if self.assets > 0.0 {
            self.total_usd / self.assets
        } else {
            0.0
        }
    }
    /// GPU utilisation on this path: work done over capacity (0 for API options).
    pub fn utilisation(&self) -> f64 {
        if self.capacity_seconds > 0.0 {
            self.busy_seconds / self.capacity_seconds
        } else {
            0.0
        }
    }
    /// True when the fleet left more than 1% of its images queued at the end: it cannot
    /// carry this demand, whatever it costs.
    pub fn over_capacity(&self) -> bool {
        self.backlog_images > 0.01 * self.fleet_bound_images().max(1.0)
    }
    /// Images the fleet was asked to make (made there, or overflowed).
    pub fn fleet_bound_images(&self) -> f64 {
        self.fleet_images + self.overflow_images
    }
    /// Share of fleet-bound images overflowed.
    pub fn overflow_share(&self) -> f64 {
        let all = self.fleet_bound_images();
        if all > 0.0 {
            self.overflow_images / all
        } else {
            0.0
        }
    }
    /// Numbers that cannot be right stop the run.
    pub(super) fn check(&self, id: &str) -> Result<()> {
        let bad = |what: &str, v: f64| Err(Error::Invariant(format!("option {id}: {what} is {v}")));
        if !self.total_usd.is_finite() || self.total_usd < 0.0 {
            return bad("total cost", self.total_usd);
        }
        if let Some(m) = self
            .monthly_usd
            .iter()
            .find(|m| !m.is_finite() || **m < 0.0)
        {
            return bad("a monthly cost", *m);
        }
        if !(0.0..=1.0 + 1e-9).contains(&self.utilisation()) {
            return bad("utilisation", self.utilisation());
        }
        if !(0.0..=1.0 + 1e-9).contains(&self.overflow_share()) {
            return bad("overflow share", self.overflow_share());
        }
        if !self.p95_wait_s.is_finite() && self.fleet_images > 0.0 {
            return bad("p95 wait", self.p95_wait_s);
        }
        Ok(())
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

impl PathResult {
    /// The option cheapest on this path among those that keep up (None when none does).
    pub fn cheapest(&self) -> Option<OptionId> {
        self.options
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.over_capacity())
            .min_by(|a, b| a.1.total_usd.total_cmp(&b.1.total_usd))
            .map(|(i, _)| OptionId(i))
    }
}

/// Mean utilisation and overflow share by hour of week on one path, in the month in which its
/// fleet had the most requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekTrace {
    /// That month, from 0.
    pub month: u32,
    /// Utilisation by hour of week.
    #[serde(with = "week")]
    pub utilisation: [f64; 168],
    /// Overflow share by hour of week.
    #[serde(with = "week")]
    pub overflow: [f64; 168],
}

/// A week of hourly values as a list (serde's arrays stop at 32 items).
mod week {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64; 168], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 168], D::Error> {
        let v = Vec::<f64>::deserialize(d)?;
        let n = v.len();
        v.try_into()
            .map_err(|_| serde::de::Error::custom(format!("a week of {n} hours; expected 168")))
    }
}

impl WeekTrace {
    /// Every hour's share finite and in range (a trace read from a part file).
    pub fn validate(&self) -> Checked {
        for (key, v) in [
            ("utilisation", &self.utilisation),
            ("overflow", &self.overflow),
        ] {
            for (h, x) in v.iter().enumerate() {
                fold::value(*x).map_err(|u| u.under(&format!("{key}[{h}]")))?;
            }
        }
        Ok(())
    }
}

/// Statistics of one option over all paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionStats {
    /// Total cost over the horizon [USD].
    pub total: Stream,
    /// Monthly cost averaged over the horizon [USD/month].
    pub monthly: Stream,
    /// Total cost over delivered assets [USD/asset].
    pub per_asset: Ratio,
    /// Work done over capacity [GPU-s/GPU-s].
    pub utilisation: Ratio,
    /// Overflowed images over fleet-bound images.
    pub overflow: Ratio,
    /// 95th percentile wait [s].
    pub p95_wait: Stream,
    /// Licence overage [images].
    pub licence_overage: Stream,
    /// Paths on which this option was the cheapest of those that keep up.
    pub cheapest: u64,
    /// Paths on which the fleet could not keep up with demand.
    pub over_capacity: u64,
    /// Cost in each month [USD].
    pub by_month: Vec<Stream>,
    /// Cumulative cash paid out at the end of each month [USD] (owned hardware's purchase in
    /// the first month).
    pub cumulative: Vec<Stream>,
    /// Cost by item kind, summed over paths [USD].
    pub breakdown: Vec<(ItemKind, f64)>,
    /// Present value of the cash [USD].
    pub present_value: Stream,
    /// Cash paid out in each month [USD].
    pub cash_by_month: Vec<Moments>,
    /// Of it, one-time outlays (purchase less resale, set-up, a reservation's rest) [USD].
    pub capex_by_month: Vec<Moments>,
    /// Of it, API bills [USD].
    pub api_by_month: Vec<Moments>,
    /// A reservation's term past the horizon, in full [USD].
    pub commitment_left: Moments,
    /// End-to-end latency of fleet-served images over all paths (empty for APIs).
    pub latency: LatencyStats,
}

impl OptionStats {
    fn new(horizon: usize) -> OptionStats {
        OptionStats {
            by_month: vec![Stream::monthly(); horizon],
            cumulative: vec![Stream::monthly(); horizon],
            cash_by_month: vec![Moments::default(); horizon],
            capex_by_month: vec![Moments::default(); horizon],
            api_by_month: vec![Moments::default(); horizon],
            ..Default::default()
        }
    }

    fn add(&mut self, o: &OptionPath, cheapest: bool) -> Result<()> {
        let inv = Error::Invariant;
        // Every field is named, so one left out here is an unused binding (a build error).
        let OptionStats {
            total,
            monthly,
            per_asset,
            utilisation,
            overflow,
            p95_wait,
            licence_overage,
            cheapest: cheapest_paths,
            over_capacity,
            by_month,
            cumulative,
            breakdown,
            present_value,
            cash_by_month,
            capex_by_month,
            api_by_month,
            commitment_left,
            latency,
        } = self;
        if let Some(l) = &o.latency {
            latency.add(l);
        }
        total.push(o.total_usd).map_err(inv)?;
        present_value.push(o.present_value_usd).map_err(inv)?;
        commitment_left.push(o.commitment_left_usd);
        for m in 0..o.monthly_cash_usd.len() {
            cash_by_month[m].push(o.monthly_cash_usd[m]);
            capex_by_month[m].push(o.monthly_capex_usd[m]);
            api_by_month[m].push(o.monthly_api_usd[m]);
        }
        monthly.push(o.monthly_mean_usd()).map_err(inv)?;
        per_asset.push(o.total_usd, o.assets);
        utilisation.push(o.busy_seconds, o.capacity_seconds);
        overflow.push(o.overflow_images, o.fleet_bound_images());
        p95_wait.push(o.p95_wait_s).map_err(inv)?;
        licence_overage
            .push(o.licence_overage_images)
            .map_err(inv)?;
        *cheapest_paths += cheapest as u64;
        *over_capacity += o.over_capacity() as u64;
        let mut cum = 0.0;
        for (m, (c, cash)) in o.monthly_usd.iter().zip(&o.monthly_cash_usd).enumerate() {
            cum += cash;
            by_month[m].push(*c).map_err(inv)?;
            cumulative[m].push(cum).map_err(inv)?;
        }
        add_breakdown(breakdown, &o.breakdown);
        Ok(())
    }
}

fn add_breakdown(into: &mut Vec<(ItemKind, f64)>, from: &[(ItemKind, f64)]) {
    for (k, v) in from {
        match into.iter_mut().find(|(kk, _)| kk == k) {
            Some((_, s)) => *s += v,
            None => into.push((*k, *v)),
        }
    }
}

impl Merge for OptionStats {
    fn merge(&mut self, later: &Self) {
        let OptionStats {
            total,
            monthly,
            per_asset,
            utilisation,
            overflow,
            p95_wait,
            licence_overage,
            cheapest,
            over_capacity,
            by_month,
            cumulative,
            breakdown,
            present_value,
            cash_by_month,
            capex_by_month,
            api_by_month,
            commitment_left,
            latency,
        } = self;
        latency.merge(&later.latency);
        total.merge(&later.total);
        present_value.merge(&later.present_value);
        cash_by_month.merge(&later.cash_by_month);
        capex_by_month.merge(&later.capex_by_month);
        api_by_month.merge(&later.api_by_month);
        commitment_left.merge(&later.commitment_left);
        monthly.merge(&later.monthly);
        per_asset.merge(&later.per_asset);
        utilisation.merge(&later.utilisation);
        overflow.merge(&later.overflow);
        p95_wait.merge(&later.p95_wait);
        licence_overage.merge(&later.licence_overage);
        Merge::merge(cheapest, &later.cheapest);
        Merge::merge(over_capacity, &later.over_capacity);
        by_month.merge(&later.by_month);
        cumulative.merge(&later.cumulative);
        add_breakdown(breakdown, &later.breakdown);
    }
}

/// Two options compared path by path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// First option.
    pub i: OptionId,
    /// Second option.
    pub j: OptionId,
    /// `total[i] − total[j]` [USD]: mean and spread.
    pub difference: Moments,
    /// Paths where `i` cost less (and kept up), or `j` could not keep up and `i` could.
    pub i_cheaper: u64,
    /// Likewise for `j`.
    pub j_cheaper: u64,
}

impl Merge for Pair {
    fn merge(&mut self, later: &Self) {
        let Pair {
            i: _,
            j: _,
            difference,
            i_cheaper,
            j_cheaper,
        } = self;
        difference.merge(&later.difference);
        Merge::merge(i_cheaper, &later.i_cheaper);
        Merge::merge(j_cheaper, &later.j_cheaper);
    }
}

/// Everything a run found: the run's [`Fold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Paths simulated.
    pub samples: u64,
    /// Which options are pure APIs, in scenario order.
    pub is_api: Vec<bool>,
    /// Per option, in scenario order.
    pub options: Vec<OptionStats>,
    /// Every pair of options (i < j): paired differences and who was cheaper how often.
    pub pairs: Vec<Pair>,
}

/// The comparison a run leads with: the best API against the best self-hosted option (or the
/// two an `--against` names), `a` the one with the lower mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headline {
    /// The option with the lower mean total.
    pub a: OptionId,
    /// The other.
    pub b: OptionId,
}

impl RunResult {
    /// An empty fold for options of which `is_api` says which are APIs, over `horizon` months.
    pub fn new(is_api: Vec<bool>, horizon: usize) -> RunResult {
        let n = is_api.len();
        RunResult {
            samples: 0,
            options: (0..n).map(|_| OptionStats::new(horizon)).collect(),
            pairs: (0..n)
                .flat_map(|i| {
                    (i + 1..n).map(move |j| Pair {
                        i: OptionId(i),
                        j: OptionId(j),
                        difference: Moments::default(),
                        i_cheaper: 0,
                        j_cheaper: 0,
                    })
                })
                .collect(),
            is_api,
        }
    }

    /// Share of paths on which option `o` could not keep up.
    pub fn p_over_capacity(&self, o: OptionId) -> f64 {
        self.options[o.0].over_capacity as f64 / self.samples.max(1) as f64
    }

    /// True when option `o` keeps up on at least 95% of paths.
    pub fn keeps_up(&self, o: OptionId) -> bool {
        self.p_over_capacity(o) <= 0.05
    }

    /// Mean total of option `o` [USD].
    pub fn mean_total(&self, o: OptionId) -> f64 {
        self.options[o.0].total.mean()
    }

    fn lowest_mean(&self, which: impl Fn(OptionId) -> bool) -> Option<OptionId> {
        (0..self.options.len())
            .map(OptionId)
            .filter(|&o| which(o))
            .min_by(|a, b| self.mean_total(*a).total_cmp(&self.mean_total(*b)))
    }

    /// The API option with the lowest mean total.
    pub fn best_api(&self) -> Option<OptionId> {
        self.lowest_mean(|o| self.is_api[o.0])
    }

    /// The self-hosted option with the lowest mean total among those that keep up on 95% of
    /// paths (or among all self-hosted options when none does).
    pub fn best_selfhost(&self) -> Option<OptionId> {
        self.lowest_mean(|o| !self.is_api[o.0] && self.keeps_up(o))
            .or_else(|| self.lowest_mean(|o| !self.is_api[o.0]))
    }

    /// The two options with the lowest mean total, cheapest first.
    pub fn leaders(&self) -> Option<(OptionId, OptionId)> {
        let a = self.lowest_mean(|_| true)?;
        let b = self.lowest_mean(|o| o != a)?;
        Some((a, b))
    }

    /// The headline pair: `against` when given, else the best API against the best
    /// self-hosted option, else (all APIs, or all self-hosted) the two leaders.
    pub fn headline(&self, against: Option<(OptionId, OptionId)>) -> Option<Headline> {
        let (x, y) = match against {
            Some(p) => p,
            None => match (self.best_api(), self.best_selfhost()) {
                (Some(a), Some(s)) => (a, s),
                _ => self.leaders()?,
            },
        };
        Some(if self.mean_total(x) <= self.mean_total(y) {
            Headline { a: x, b: y }
        } else {
            Headline { a: y, b: x }
        })
    }

    /// Mean and standard error of `total[a] − total[b]` over paths.
    pub fn difference(&self, a: OptionId, b: OptionId) -> Option<(f64, f64)> {
        let (i, j, sign) = if a < b { (a, b, 1.0) } else { (b, a, -1.0) };
        self.pairs
            .iter()
            .find(|p| p.i == i && p.j == j)
            .map(|p| (sign * p.difference.mean(), p.difference.std_error()))
    }

    /// Share of paths on which option `a` was cheaper than option `b` (an option that cannot
    /// keep up never is).
    pub fn p_cheaper(&self, a: OptionId, b: OptionId) -> f64 {
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

    /// Relative standard error of the headline's mean difference (what `--precision` bounds).
    pub fn headline_relative_error(&self, against: Option<(OptionId, OptionId)>) -> f64 {
        match self
            .headline(against)
            .and_then(|h| self.difference(h.a, h.b))
        {
            Some((m, se)) if m != 0.0 => (se / m).abs(),
            Some(_) => f64::INFINITY,
            None => 0.0,
        }
    }

    /// Mean cost of option `o` by item kind over the horizon [USD].
    pub fn mean_breakdown(&self, o: OptionId) -> Vec<(ItemKind, f64)> {
        let n = self.samples.max(1) as f64;
        self.options[o.0]
            .breakdown
            .iter()
            .map(|(k, v)| (*k, v / n))
            .collect()
    }

    /// The share of paths on which option `o` was the cheapest, with its standard error.
    pub fn p_cheapest(&self, o: OptionId) -> (f64, f64) {
        stats::proportion(self.options[o.0].cheapest, self.samples)
    }
}

impl Fold for RunResult {
    type Path = PathResult;

    fn add(&mut self, p: &PathResult) -> Result<()> {
        let RunResult {
            samples,
            is_api: _,
            options,
            pairs,
        } = self;
        *samples += 1;
        let cheapest = p.cheapest();
        for (i, (o, st)) in p.options.iter().zip(options.iter_mut()).enumerate() {
            st.add(o, cheapest == Some(OptionId(i)))?;
        }
        for pair in pairs.iter_mut() {
            let (oi, oj) = (&p.options[pair.i.0], &p.options[pair.j.0]);
            let d = oi.total_usd - oj.total_usd;
            pair.difference.push(d);
            // An option that cannot keep up is never the cheaper one.
            let (fi, fj) = (oi.over_capacity(), oj.over_capacity());
            pair.i_cheaper += (!fi && (d < 0.0 || fj)) as u64;
            pair.j_cheaper += (!fj && (d > 0.0 || fi)) as u64;
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        let RunResult {
            samples,
            is_api: _,
            options,
            pairs,
        } = self;
        Merge::merge(samples, &later.samples);
        options.merge(&later.options);
        pairs.merge(&later.pairs);
    }
}

impl Validate for OptionStats {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        // Every field is named, so one added to the fold and not checked is a build error.
        let OptionStats {
            total,
            monthly,
            per_asset,
            utilisation,
            overflow,
            p95_wait,
            licence_overage,
            cheapest,
            over_capacity,
            by_month,
            cumulative,
            breakdown,
            present_value,
            cash_by_month,
            capex_by_month,
            api_by_month,
            commitment_left,
            latency,
        } = self;
        let e = empty;
        fold::field("latency", latency, &e.latency, paths)?;
        fold::field("total", total, &e.total, paths)?;
        fold::field("monthly", monthly, &e.monthly, paths)?;
        fold::field("per_asset", per_asset, &e.per_asset, paths)?;
        fold::field("utilisation", utilisation, &e.utilisation, paths)?;
        fold::field("overflow", overflow, &e.overflow, paths)?;
        fold::field("p95_wait", p95_wait, &e.p95_wait, paths)?;
        fold::field(
            "licence_overage",
            licence_overage,
            &e.licence_overage,
            paths,
        )?;
        fold::field("cheapest", cheapest, &e.cheapest, paths)?;
        fold::field("over_capacity", over_capacity, &e.over_capacity, paths)?;
        fold::field("by_month", by_month, &e.by_month, paths)?;
        fold::field("cumulative", cumulative, &e.cumulative, paths)?;
        fold::field("present_value", present_value, &e.present_value, paths)?;
        fold::field("cash_by_month", cash_by_month, &e.cash_by_month, paths)?;
        fold::field("capex_by_month", capex_by_month, &e.capex_by_month, paths)?;
        fold::field("api_by_month", api_by_month, &e.api_by_month, paths)?;
        fold::field(
            "commitment_left",
            commitment_left,
            &e.commitment_left,
            paths,
        )?;
        // The breakdown lists each item kind that occurred once, in order of appearance.
        for (i, (k, v)) in breakdown.iter().enumerate() {
            if breakdown[..i].iter().any(|(kk, _)| kk == k) {
                return Err(
                    Unfit::new(format!("lists {k:?} twice; expected each kind once"))
                        .under(&format!("breakdown[{i}]")),
                );
            }
            fold::field(&format!("breakdown[{i}]"), v, &0.0, paths)?;
        }
        Ok(())
    }
}

impl Validate for Pair {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let Pair {
            i,
            j,
            difference,
            i_cheaper,
            j_cheaper,
        } = self;
        fold::setting("i", i, &empty.i)?;
        fold::setting("j", j, &empty.j)?;
        fold::field("difference", difference, &empty.difference, paths)?;
        fold::field("i_cheaper", i_cheaper, &empty.i_cheaper, paths)?;
        fold::field("j_cheaper", j_cheaper, &empty.j_cheaper, paths)
    }
}

impl Validate for RunResult {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let RunResult {
            samples,
            is_api,
            options,
            pairs,
        } = self;
        fold::all_paths("samples", *samples, paths)?;
        fold::setting("is_api", is_api, &empty.is_api)?;
        fold::field("options", options, &empty.options, paths)?;
        fold::field("pairs", pairs, &empty.pairs, paths)
    }
}

#[cfg(test)]
mod latency_part_tests {
    use super::*;

    fn stats() -> LatencyStats {
        let mut l = LatencyStats::default();
        l.add(&PathLatency {
            points: vec![(0.5, 10.0), (f64::INFINITY, 1.0)],
            rows: vec![RowTally {
                servers: 4,
                step: -3,
                weights: vec![1.0, 2.0],
                delayed: vec![0.5],
            }],
        });
        l
    }

    #[test]
    fn latency_round_trips_through_a_part_exactly() {
        let l = stats();
        let text = serde_json::to_string(&l).unwrap();
        let back: LatencyStats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.validate(&LatencyStats::default(), 1), Ok(()));
    }

    #[test]
    fn latency_out_of_bounds_or_given_twice_is_refused() {
        let empty = LatencyStats::default();
        let mut far = stats();
        far.points.insert(BINS + 1, 1);
        assert!(far
            .validate(&empty, 1)
            .unwrap_err()
            .key
            .starts_with("points"));
        let mut heavy = stats();
        let most = to_units(
            crate::limits::MAX_PEAK_MONTHLY_ASSETS * crate::limits::MAX_HORIZON_MONTHS as f64,
        );
        heavy.points.insert(3, most + 1);
        assert_eq!(heavy.validate(&empty, 1).unwrap_err().key, "points[3]");
        let mut big = stats();
        big.rows
            .insert((MAX_TABLE_SERVERS + 1, 0), (vec![1], vec![]));
        assert!(big
            .validate(&empty, 1)
            .unwrap_err()
            .key
            .starts_with("rows["));
        let mut steep = stats();
        steep
            .rows
            .insert((1, MAX_TABLE_STEP + 1), (vec![1], vec![]));
        assert!(steep.validate(&empty, 1).is_err());
        let mut long = stats();
        long.rows
            .insert((1, 0), (vec![1; MAX_TABLE_ROWS + 1], vec![]));
        assert!(long.validate(&empty, 1).is_err());
        let twice = r#"{"points":[[3,1],[3,2]],"rows":[]}"#;
        let e = serde_json::from_str::<LatencyStats>(twice).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
