//! One path's running state: one [`OptionRun`] per option (its fleet's state, this month's
//! quantities, the path's totals), plus the per-fleet numbers of the hour being stepped, kept
//! in arrays by fleet for the projected sampler's loops.

use super::projection::{MonthSums, StatelessScratch, StatelessTotals};
use super::result::{OptionPath, PathResult, WeekTrace};
use super::{Engine, ItemKind};
use crate::error::Result;
use crate::fleet::FleetState;
use crate::money::{self, Usd};
use rust_decimal::Decimal;

/// Upper edges of the wait-time bins [s]: under 0.1 s, then log-spaced up to about 12 days.
pub(super) const WAIT_BINS: usize = 72;

/// What an option did this month, before pricing.
#[derive(Debug, Clone, Default)]
pub(super) struct MonthTally {
    /// Quantity of each priced item.
    pub qty: Vec<f64>,
    /// Images made on the fleet.
    pub served: f64,
    /// Images overflowed to the API.
    pub overflowed: f64,
    /// Busy GPU-seconds.
    pub busy: f64,
    /// Capacity GPU-seconds.
    pub cap: f64,
    /// Rented GPU-hours billed.
    pub billed_hours: f64,
    /// Serverless GPU-seconds billed.
    pub billed_seconds: f64,
}

/// One option along one path.
#[derive(Debug, Clone)]
pub(super) struct OptionRun {
    /// The path's speed factor (1 for APIs).
    pub speed: f64,
    /// Work per asset [GPU-s], after the speed factor.
    pub k1: f64,
    /// Its second moment [GPU-s²].
    pub k2: f64,
    /// The fleet's state from hour to hour.
    pub state: FleetState,
    /// This month.
    pub month: MonthTally,
    /// Busy and capacity GPU-seconds over the path.
    pub busy_all: f64,
    pub cap_all: f64,
    /// Fleet images by wait bin.
    pub waits: [f64; WAIT_BINS],
    /// Total so far, exact.
    pub total: Usd,
    /// Cost by item kind so far, exact.
    pub breakdown: Vec<(ItemKind, Usd)>,
    /// What the path reports.
    pub out: OptionPath,
}

/// One path's running state and accumulators, reused month to month.
pub(super) struct PathScratch {
    /// Per option.
    pub opts: Vec<OptionRun>,
    /// Hour-of-week sums of utilisation, overflow share, hours and fleet-bound requests, per
    /// option and month (traced paths).
    pub trace: Option<Vec<Vec<[[f64; 168]; 4]>>>,
    /// This month's count of each stream, all hours so far.
    pub month_counts: Vec<f64>,
    /// This month's pooled count of each stream.
    pub pooled_counts: Vec<f64>,
    /// This month's overflowed images by fleet and stream.
    pub overflow_counts: Vec<Vec<f64>>,
    /// The hour's work [GPU-s, before the speed factor] and requests, by fleet.
    pub fleet_work: Vec<f64>,
    pub fleet_requests: Vec<f64>,
    /// The hour's overflow share, by fleet.
    pub fleet_share: Vec<f64>,
    /// The path's speed factor, by fleet.
    pub fleet_speed: Vec<f64>,
    /// This month's projected hours.
    pub sums: MonthSums,
    /// Hot hours of a stateless month, stepped together: their rates and normals.
    pub hot_rates: Vec<f64>,
    pub hot_normals: Vec<Vec<f64>>,
    /// Scratch for the stateless step.
    pub hot_scratch: StatelessScratch,
    pub hot_totals: Vec<StatelessTotals>,
}

impl PathScratch {
    pub fn new(e: &Engine, x: &[f64]) -> PathScratch {
        let opts = e
            .options
            .iter()
            .map(|o| {
                let speed = o.fleet.as_ref().map(|f| x[f.speed_factor.0]).unwrap_or(1.0);
                // Work per asset [GPU-s] and its second moment, for the linear test.
                let moment = |power: i32| -> f64 {
                    o.fleet
                        .as_ref()
                        .map(|f| {
                            f.fleet_streams
                                .iter()
                                .map(|&i| {
                                    e.streams[i.0].per_asset
                                        * (f.stream_seconds[i.0] * speed).powi(power)
                                })
                                .sum()
                        })
                        .unwrap_or(0.0)
                };
                OptionRun {
                    speed,
                    k1: moment(1),
                    k2: moment(2),
                    state: o
                        .fleet
                        .as_ref()
                        .map(|f| f.initial_state())
                        .unwrap_or_default(),
                    month: MonthTally {
                        qty: vec![0.0; o.items.len()],
                        ..Default::default()
                    },
                    busy_all: 0.0,
                    cap_all: 0.0,
                    waits: [0.0; WAIT_BINS],
                    total: Decimal::ZERO,
                    breakdown: Vec::new(),
                    out: OptionPath {
                        total_usd: 0.0,
                        monthly_usd: Vec::with_capacity(e.scenario.horizon_months as usize),
                        monthly_cash_usd: Vec::with_capacity(e.scenario.horizon_months as usize),
                        assets: 0.0,
                        fleet_images: 0.0,
                        overflow_images: 0.0,
                        busy_seconds: 0.0,
                        capacity_seconds: 0.0,
                        p95_wait_s: 0.0,
                        licence_overage_images: 0.0,
                        backlog_images: 0.0,
                        breakdown: Vec::new(),
                    },
                }
            })
            .collect::<Vec<_>>();
        let n_fleets = e.fleets.len();
        let fleet_speed = e.fleets.iter().map(|o| opts[o.0].speed).collect();
        PathScratch {
            opts,
            trace: None,
            month_counts: vec![0.0; e.streams.len()],
            pooled_counts: vec![0.0; e.streams.len()],
            overflow_counts: vec![vec![0.0; e.streams.len()]; n_fleets],
            fleet_work: vec![0.0; n_fleets],
            fleet_requests: vec![0.0; n_fleets],
            fleet_share: vec![0.0; n_fleets],
            fleet_speed,
            sums: e.projection.as_ref().map(|p| p.sums()).unwrap_or_default(),
            hot_rates: Vec::new(),
            hot_normals: e
                .projection
                .as_ref()
                .map(|p| p.normal_lists())
                .unwrap_or_default(),
            hot_scratch: StatelessScratch::default(),
            hot_totals: vec![StatelessTotals::default(); n_fleets],
        }
    }

    pub fn start_month(&mut self) {
        for q in &mut self.overflow_counts {
            q.fill(0.0);
        }
        self.month_counts.fill(0.0);
        for o in &mut self.opts {
            let MonthTally {
                qty,
                served,
                overflowed,
                busy,
                cap,
                billed_hours,
                billed_seconds,
            } = &mut o.month;
            qty.fill(0.0);
            for v in [served, overflowed, busy, cap, billed_hours, billed_seconds] {
                *v = 0.0;
            }
        }
    }

    /// The hour share at or under which every fleet is at rest and stays linear.
    pub fn common_cutoff(&self, e: &Engine, cutoffs: &[f64]) -> f64 {
        e.fleets
            .iter()
            .map(|&o| {
                let at_rest = e
                    .option(o)
                    .fleet
                    .as_ref()
                    .is_some_and(|f| f.linear_threshold(&self.opts[o.0].state).is_some());
                if at_rest {
                    cutoffs[o.0]
                } else {
                    -1.0
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The path's result.
    pub fn finish(self, e: &Engine, path: u64, x: Vec<f64>) -> Result<PathResult> {
        let mut options = Vec::with_capacity(self.opts.len());
        for (o, run) in self.opts.into_iter().enumerate() {
            let OptionRun {
                k1,
                state,
                busy_all,
                cap_all,
                waits,
                total,
                breakdown,
                mut out,
                ..
            } = run;
            out.total_usd = money::to_f64(total);
            out.busy_seconds = busy_all;
            out.capacity_seconds = cap_all;
            out.p95_wait_s = wait_quantile(&waits, 0.95);
            if let Some(f) = &e.options[o].fleet {
                // Backlog [GPU-s] in images, at the fleet's mean seconds per image.
                let secs_per_image = if k1 > 0.0 {
                    k1 / f
                        .fleet_streams
                        .iter()
                        .map(|&i| e.streams[i.0].per_asset)
                        .sum::<f64>()
                } else {
                    1.0
                };
                out.backlog_images = state.backlog / secs_per_image.max(1e-9);
            }
            out.breakdown = breakdown
                .iter()
                .map(|(k, v)| (*k, money::to_f64(*v)))
                .collect();
            out.check(&e.options[o].id)?;
            options.push(out);
        }
        let trace = self.trace.map(|tr| {
            tr.into_iter()
                .map(|months| {
                    // The month with the most requests for the fleet: where it saturates, if
                    // it does anywhere (the later month on a tie, as demand grows).
                    let busiest = months
                        .iter()
                        .map(|w| w[3].iter().sum::<f64>())
                        .enumerate()
                        .fold((0, f64::NEG_INFINITY), |best, (m, r)| {
                            if r >= best.1 {
                                (m, r)
                            } else {
                                best
                            }
                        })
                        .0;
                    let mut w = WeekTrace {
                        month: busiest as u32,
                        utilisation: [0.0; 168],
                        overflow: [0.0; 168],
                    };
                    if let Some([u, ov, n, _]) = months.get(busiest) {
                        for h in 0..168 {
                            if n[h] > 0.0 {
                                w.utilisation[h] = u[h] / n[h];
                                w.overflow[h] = ov[h] / n[h];
                            }
                        }
                    }
                    w
                })
                .collect()
        });
        Ok(PathResult {
            path,
            inputs: x,
            options,
            trace,
        })
    }
}

fn wait_edge(b: usize) -> f64 {
    // Bin 0: under 0.1 s; then 10^(b/6) × 0.1 s.
    0.1 * 10f64.powf(b as f64 / 6.0)
}

/// Add `weight` images that waited `wait` seconds.
pub(super) fn add_wait(bins: &mut [f64; WAIT_BINS], wait: f64, weight: f64) {
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
