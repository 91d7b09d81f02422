//! One path's running state: one [`OptionRun`] per option (its fleet's state, this month's
//! quantities, the path's totals), plus the per-fleet numbers of the hour being stepped, kept
//! in arrays by fleet for the projected sampler's loops.

use super::projection::{MonthSums, StatelessScratch, StatelessTotals};
use super::result::{OptionPath, PathLatency, PathResult, RowTally, WeekTrace};
use super::{Engine, ItemKind, LINEAR_SIGMAS};
use crate::error::Result;
use crate::fleet::{Fleet, FleetState, HourOutcome, PathTables};
use crate::money::{self, Usd};
use crate::queue::latency::{BINS, BINS_PER_DECADE, MIN_SECONDS};
use crate::queue::RowPlace;
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
    /// The queue tables at this path's speed (queue fleets).
    pub tables: PathTables,
    /// Each fleet stream's share of the fleet's requests and its service time on a server at
    /// this path's speed [s].
    pub service: Vec<(f64, f64)>,
    /// Served requests that did not wait, without and with a cold start.
    pub service_only: [f64; 2],
    /// Served requests that waited a fixed time before service (fluid waits), by the
    /// latency histogram's bin of that wait, without and with a cold start: (bin, requests),
    /// sorted by bin (a path visits few bins; a dense array per option would not stay in
    /// cache when a plan runs a hundred options).
    pub waited: [Vec<(u32, f64)>; 2],
    /// Where in `waited` the last hour went (the next hour's wait is usually near).
    pub waited_hint: [usize; 2],
    /// The path's latency so far (service-only requests are added at the end).
    pub latency: PathLatency,
    /// This month's expected served and overflowed requests and busy GPU-seconds of a queue
    /// fleet under the fast sampler.
    pub expected: [f64; 3],
}

impl OptionRun {
    /// Record the latency of `served` requests of an hour that went as `out` says (the share
    /// `out.cold_share` waits a cold start too, added at the path's end).
    #[inline]
    pub fn record_latency(&mut self, served: f64, out: &HourOutcome) {
        let w = out.latency.fixed_wait;
        // Only a positive wait is binned by its logarithm: log10(0) is a pole error, which
        // glibc reports through a slow path that cost a queue hour more than its table, and
        // the compiler takes log10 to be free of effects and computed it ahead of the test
        // (profiles showed the error path), so the wait goes through `black_box`.
        let log10 = if w > 0.0 {
            std::hint::black_box(w).log10()
        } else {
            f64::NEG_INFINITY
        };
        self.record_latency_log(served, out, log10);
    }

    /// [`OptionRun::record_latency`] given `log10` of the hour's fixed wait.
    #[inline]
    fn record_latency_log(&mut self, served: f64, out: &HourOutcome, log10_wait: f64) {
        if served.is_nan() || served <= 0.0 {
            return;
        }
        // Most hours: nothing waits.
        let l = &out.latency;
        if l.rows.is_none() && (l.fixed_wait == 0.0 || l.fixed_share == 0.0) {
            let cold = out.cold_share.clamp(0.0, 1.0);
            self.service_only[0] += served * (1.0 - cold);
            self.service_only[1] += served * cold;
            return;
        }
        let cold = out.cold_share.clamp(0.0, 1.0);
        let l = &out.latency;
        let fixed = served * l.fixed_share.clamp(0.0, 1.0);
        let rest = served - fixed;
        if fixed > 0.0 {
            if l.fixed_wait == 0.0 {
                self.service_only[0] += fixed * (1.0 - cold);
                self.service_only[1] += fixed * cold;
            } else {
                // By the wait's bin: one logarithm an hour, not one per bucket, and at most a
                // bin's worth of points per bucket at the path's end.
                // bin_of(wait), from its logarithm.
                let k = if !l.fixed_wait.is_finite() {
                    BINS
                } else if l.fixed_wait <= MIN_SECONDS {
                    0
                } else {
                    // Positive here, so truncation is the floor.
                    (((log10_wait - MIN_SECONDS.log10()) * BINS_PER_DECADE as f64) as usize)
                        .min(BINS - 1)
                } as u32;
                let [plain, cold_v] = &mut self.waited;
                add_sorted(plain, &mut self.waited_hint[0], k, fixed * (1.0 - cold));
                if cold > 0.0 {
                    add_sorted(cold_v, &mut self.waited_hint[1], k, fixed * cold);
                }
            }
        }
        if rest > 0.0 {
            match l.rows {
                None => {
                    self.service_only[0] += rest * (1.0 - cold);
                    self.service_only[1] += rest * cold;
                }
                Some((servers, place)) => {
                    self.add_rows(servers, place, rest * (1.0 - cold), rest * cold);
                }
            }
        }
    }

    /// Take what the lean month loop wrote to `twin` this month (`hour::stateless_queue_month`)
    /// as this option's: its fleet's state, the month's expected figures, capacity and GPU-hours,
    /// and the path's waits and latency so far. Exact when this option's fleet steps as the
    /// twin's and both were equal before the month (as they are from a path's start: nothing
    /// else writes these for such fleets).
    pub fn copy_lean_month(&mut self, twin: &OptionRun) {
        self.state.clone_from(&twin.state);
        self.expected = twin.expected;
        self.month.cap = twin.month.cap;
        self.month.billed_hours = twin.month.billed_hours;
        self.waits = twin.waits;
        self.service_only = twin.service_only;
        self.latency.clone_from(&twin.latency);
    }

    /// Add `plain` served requests (and `cold` more that waited a cold start) with the latency
    /// at `place` among the rows of the table of `servers` servers.
    #[inline(always)]
    pub fn add_rows(&mut self, servers: u32, place: RowPlace, plain: f64, cold: f64) {
        let step = self.tables.step;
        let tally = match self.latency.rows.iter().position(|r| r.servers == servers) {
            Some(i) => &mut self.latency.rows[i],
            None => {
                // Enough rows for any table; `write_rows` reads only its own.
                let n = place.row + 2;
                self.latency.rows.push(RowTally {
                    servers,
                    step,
                    weights: vec![0.0; n],
                    delayed: vec![0.0; n],
                });
                self.latency.rows.last_mut().expect("just pushed")
            }
        };
        let need = place.row + 2;
        if tally.weights.len() < need {
            tally.weights.resize(need, 0.0);
            tally.delayed.resize(need, 0.0);
        }
        let (lo, hi) = (1.0 - place.weight, place.weight);
        tally.weights[place.row] += plain * lo;
        tally.weights[place.row + 1] += plain * hi;
        if cold > 0.0 {
            tally.delayed[place.row] += cold * lo;
            tally.delayed[place.row + 1] += cold * hi;
        }
    }

    /// The path's latency, with the service-only requests as points.
    fn take_latency(&mut self, cold_start: f64) -> PathLatency {
        let mut l = std::mem::take(&mut self.latency);
        for (v, delay) in self.waited.iter().zip([0.0, cold_start]) {
            for &(k, n) in v {
                let k = k as usize;
                // A bin's waits at its middle (within half a bin, 0.58%); unbounded ones stay so.
                let wait = if k == BINS {
                    f64::INFINITY
                } else {
                    // edge(k) × 10^(1/400), by exp (cheaper than powf, once per bin).
                    MIN_SECONDS
                        * ((k as f64 + 0.5) * std::f64::consts::LN_10 / BINS_PER_DECADE as f64)
                            .exp()
                };
                for &(share, secs) in &self.service {
                    l.points.push((wait + secs + delay, n * share));
                }
            }
        }
        let [plain, cold] = self.service_only;
        for &(share, secs) in &self.service {
            if plain > 0.0 {
                l.points.push((secs, plain * share));
            }
            if cold > 0.0 {
                l.points.push((secs + cold_start, cold * share));
            }
        }
        l
    }
}

/// One path's running state and accumulators, reused month to month.
pub(super) struct PathScratch {
    /// Per option.
    pub opts: Vec<OptionRun>,
    /// For each option, an earlier option whose fleet steps exactly as its own on this path
    /// (the same stepping signature, speed and work per asset): the lean month loop steps the
    /// first and copies what it wrote to the other.
    pub twin_of: Vec<Option<usize>>,
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
    /// The hour being stepped, reused.
    pub hour_out: HourOutcome,
    /// This month's bursty hours in bins of nearby rates, when a lean month pools them.
    pub hour_bins: super::pooled::HourBins,
    /// Each fluid fleet's capacity and GPU-hours in the hour [`PathScratch::linear_hour`]
    /// is deciding.
    linear: Vec<(f64, f64)>,
    /// The fluid fleet [`PathScratch::linear_hour`] found not linear last.
    linear_first: usize,
    /// Each fluid fleet's hold band ([`Fleet::hold_band`]) in expected assets an hour,
    /// `lo < a <= hi` with near certainty, and the work, capacity and GPU-hours of such an
    /// hour; None when no hour holds it.
    /// Kept with what of the state it was found for (backlog or not, GPUs running).
    holds: Vec<Option<(HoldKey, Option<Hold>)>>,
    /// The assets an hour may expect and hold every fluid fleet: `lo < a <= hi`; None when
    /// the states changed since they were found.
    pub hold: Option<(f64, f64)>,
    /// Hours held since the fleets' months were last billed for them.
    held: f64,
    /// Each fleet's own generator for splitting its month counts into served and overflowed
    /// (fast sampler), seeded from the path and the option: what one option draws never
    /// moves another's draws, so a what-if on one option leaves the others' paths exactly
    /// as they were (the paired differences of `compare` are then exactly zero).
    pub split_rngs: Vec<rand_xoshiro::Xoshiro256PlusPlus>,
}

impl PathScratch {
    pub fn new(e: &Engine, x: &[f64], split_seed: u64) -> PathScratch {
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
                let service = o
                    .fleet
                    .as_ref()
                    .map(|f| service_times(e, f, speed))
                    .unwrap_or_default();
                OptionRun {
                    tables: PathTables::new(speed),
                    service,
                    service_only: [0.0; 2],
                    waited: [Vec::new(), Vec::new()],
                    waited_hint: [0; 2],
                    latency: PathLatency::default(),
                    expected: [0.0; 3],
                    speed,
                    k1: moment(1),
                    k2: moment(2),
                    state: o
                        .fleet
                        .as_ref()
                        .map(|f| {
                            let mut state = f.initial_state();
                            if e.serverless_tables
                                && matches!(f.kind, crate::fleet::FleetKind::Serverless { .. })
                            {
                                state.bills = Some(Box::default());
                            }
                            state
                        })
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
                        monthly_capex_usd: Vec::with_capacity(e.scenario.horizon_months as usize),
                        monthly_api_usd: Vec::with_capacity(e.scenario.horizon_months as usize),
                        present_value_usd: 0.0,
                        commitment_left_usd: 0.0,
                        assets: 0.0,
                        fleet_images: 0.0,
                        overflow_images: 0.0,
                        busy_seconds: 0.0,
                        capacity_seconds: 0.0,
                        p95_wait_s: 0.0,
                        licence_overage_images: 0.0,
                        backlog_images: 0.0,
                        breakdown: Vec::new(),
                        latency: None,
                    },
                }
            })
            .collect::<Vec<_>>();
        let n_fleets = e.fleets.len();
        let twin_of = (0..opts.len())
            .map(|o| {
                let sig = e.stepping[o].as_ref()?;
                let same = |l: usize| {
                    e.stepping[l].as_ref() == Some(sig)
                        && opts[l].speed.to_bits() == opts[o].speed.to_bits()
                        && opts[l].k1.to_bits() == opts[o].k1.to_bits()
                };
                (0..o).find(|&l| same(l))
            })
            .collect();
        let fleet_speed = e.fleets.iter().map(|o| opts[o.0].speed).collect();
        let split_rngs = e
            .fleets
            .iter()
            .map(|o| super::seeds::option_rng(split_seed, o.0 as u64))
            .collect();
        PathScratch {
            split_rngs,
            opts,
            twin_of,
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
            hour_out: HourOutcome::default(),
            hour_bins: Default::default(),
            linear: vec![(0.0, 0.0); n_fleets],
            linear_first: 0,
            holds: vec![None; n_fleets],
            hold: None,
            held: 0.0,
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
            o.expected = [0.0; 3];
        }
    }

    /// The hour share at or under which every fluid fleet is at rest and stays linear (queue
    /// fleets are taken a month at a time and need no hour's counts).
    pub fn common_cutoff(&self, e: &Engine, cutoffs: &[f64]) -> f64 {
        e.fleets[..e.n_fluid]
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

    /// True when an hour expecting `assets` (burst coefficient of variation `cv`) is linear
    /// for every fluid fleet where it is now, its work within [`LINEAR_SIGMAS`] standard
    /// deviations of its mean ([`Fleet::linear_hour`]); then the hour is billed to each
    /// fleet's month and moves its state, and its counts are pooled with the month's.
    /// `moved` is set when some fleet's state changed (so the rest cut-off may have).
    pub fn linear_hour(&mut self, e: &Engine, assets: f64, cv: f64, moved: &mut bool) -> bool {
        let n = e.n_fluid;
        // The fleet that was not linear last time is the likeliest not to be now: ask it
        // first, so most hours that are not linear cost one fleet's check.
        let first = self.linear_first.min(n.saturating_sub(1));
        for k in (first..n).chain(0..first) {
            let o = e.fleets[k];
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            // A fleet the hour holds where it is needs no more asking.
            if let Some((_, Some(h))) = self.holds[k] {
                if h.lo < assets && assets <= h.hi {
                    self.linear[k] = (h.capacity, h.billed);
                    continue;
                }
            }
            let run = &self.opts[o.0];
            let mean = assets * run.k1;
            let var = assets * run.k2;
            let spread = LINEAR_SIGMAS
                * if cv == 0.0 {
                    var
                } else {
                    var + (cv * mean).powi(2)
                }
                .sqrt();
            match f.linear_hour(&run.state, mean - spread, mean + spread) {
                Some(hour) => self.linear[k] = hour,
                None => {
                    self.linear_first = k;
                    return false;
                }
            }
        }
        for (k, &o) in e.fleets[..n].iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let run = &mut self.opts[o.0];
            let (capacity, billed) = self.linear[k];
            run.month.cap += capacity;
            run.month.billed_hours += billed;
            if f.fixed_gpus().is_none() {
                let before = (run.state.active, run.state.recent.len());
                f.rest_hour(&mut run.state, assets * run.k1);
                *moved |= before != (run.state.active, run.state.recent.len())
                    || run.state.recent.len() > 1;
            }
        }
        true
    }

    /// The assets an hour may expect and hold every fluid fleet where it is, found anew
    /// when the states have changed (see [`PathScratch::hold`]).
    pub fn hold_band(&mut self, e: &Engine, cv: f64) -> (f64, f64) {
        if let Some(band) = self.hold {
            return band;
        }
        let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
        for (k, &o) in e.fleets[..e.n_fluid].iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let run = &self.opts[o.0];
            // A hold band depends on the state only through these: most hours that step a
            // fleet leave them as they were.
            let key = (run.state.backlog > 0.0, run.state.active);
            if let Some((cached, hold)) = self.holds[k] {
                if cached == key {
                    match hold {
                        Some(h) => (lo, hi) = (lo.max(h.lo), hi.min(h.hi)),
                        None => (lo, hi) = (f64::INFINITY, f64::NEG_INFINITY),
                    }
                    continue;
                }
            }
            let hold = f
                .hold_band(&run.state)
                .and_then(|(lo_w, hi_w, capacity, billed)| {
                    let (k1, k2) = (run.k1, run.k2);
                    let (lo_a, hi_a) = if k1 <= 0.0 {
                        // No work whatever the hour brings.
                        let holds = lo_w < 0.0 && hi_w >= 0.0;
                        (f64::NEG_INFINITY, if holds { f64::INFINITY } else { -1.0 })
                    } else {
                        let lo_a = if lo_w == f64::NEG_INFINITY {
                            f64::NEG_INFINITY
                        } else {
                            super::path::linear_floor(lo_w, k1, k2, cv)
                        };
                        (lo_a, super::path::linear_limit(hi_w, k1, k2, cv))
                    };
                    (lo_a < hi_a).then_some(Hold {
                        lo: lo_a,
                        hi: hi_a,
                        work: hi_w.min(capacity),
                        capacity,
                        billed,
                    })
                });
            self.holds[k] = Some((key, hold));
            match hold {
                Some(h) => (lo, hi) = (lo.max(h.lo), hi.min(h.hi)),
                None => (lo, hi) = (f64::INFINITY, f64::NEG_INFINITY),
            }
        }
        self.hold = Some((lo, hi));
        (lo, hi)
    }

    /// Count an hour that holds every fluid fleet where it is.
    #[inline]
    pub fn add_held_hour(&mut self) {
        self.held += 1.0;
    }

    /// Bill the hours held since the last call to each fluid fleet's month, and move the
    /// autoscalers' recent sizes as those hours did; before anything else steps a fleet and
    /// at the month's close.
    pub fn bill_held(&mut self, e: &Engine) {
        if self.held == 0.0 {
            return;
        }
        let held = self.held;
        self.held = 0.0;
        for (k, &o) in e.fleets[..e.n_fluid].iter().enumerate() {
            let (Some(f), Some((_, Some(h)))) = (&e.option(o).fleet, self.holds[k]) else {
                continue;
            };
            let run = &mut self.opts[o.0];
            run.month.cap += held * h.capacity;
            run.month.billed_hours += held * h.billed;
            if let crate::fleet::FleetKind::Autoscaled { scaler, .. } = &f.kind {
                // A hold keeps the size, so only a history longer than this hour moves.
                let keep = scaler.min_billed_hours as usize;
                if keep > 1 {
                    for _ in 0..(held as usize).min(keep) {
                        f.rest_hour(&mut run.state, h.work);
                    }
                }
            }
        }
    }

    /// The path's result.
    pub fn finish(self, e: &Engine, path: u64, x: Vec<f64>) -> Result<PathResult> {
        let mut options = Vec::with_capacity(self.opts.len());
        for (o, mut run) in self.opts.into_iter().enumerate() {
            let latency = e.options[o]
                .fleet
                .as_ref()
                .map(|f| run.take_latency(f.cold_start_seconds()));
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
            out.present_value_usd =
                present_value(&out.monthly_cash_usd, e.scenario.discount_rate_per_year);
            out.latency = latency;
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

/// Present value of monthly cash flows at a yearly rate: month `m` (from 0) is discounted by
/// `(1 + rate)^(m/12)`, so the first month's money counts in full.
pub fn present_value(cash: &[f64], rate: f64) -> f64 {
    if rate == 0.0 {
        return cash.iter().sum();
    }
    cash.iter()
        .enumerate()
        .map(|(m, c)| c / (1.0 + rate).powf(m as f64 / 12.0))
        .sum()
}

/// Add `n` to bin `k` of a list sorted by bin, looking first where `hint` says.
fn add_sorted(v: &mut Vec<(u32, f64)>, hint: &mut usize, k: u32, n: f64) {
    for i in [*hint, hint.wrapping_add(1), hint.wrapping_sub(1)] {
        if let Some(e) = v.get_mut(i) {
            if e.0 == k {
                e.1 += n;
                *hint = i;
                return;
            }
        }
    }
    match v.binary_search_by_key(&k, |e| e.0) {
        Ok(i) => {
            v[i].1 += n;
            *hint = i;
        }
        Err(i) => {
            v.insert(i, (k, n));
            *hint = i;
        }
    }
}

/// Each fleet stream's share of the fleet's requests and its service time on one server at
/// `speed` [s].
fn service_times(e: &Engine, f: &Fleet, speed: f64) -> Vec<(f64, f64)> {
    let total: f64 = f
        .fleet_streams
        .iter()
        .map(|i| e.streams[i.0].per_asset)
        .sum();
    let spg = f.shape.servers_per_gpu();
    f.fleet_streams
        .iter()
        .filter(|i| e.streams[i.0].per_asset > 0.0)
        .map(|i| {
            (
                e.streams[i.0].per_asset / total,
                f.stream_seconds[i.0] * spg * speed,
            )
        })
        .collect()
}

pub(super) fn wait_edge(b: usize) -> f64 {
    // Bin 0: under 0.1 s; then 10^(b/6) × 0.1 s.
    0.1 * 10f64.powf(b as f64 / 6.0)
}

/// Upper edges of the wait bins: bin 0 up to 0.1 s, bin b up to [`wait_edge`]`(b)`.
static WAIT_EDGES: std::sync::LazyLock<[f64; WAIT_BINS]> =
    std::sync::LazyLock::new(|| std::array::from_fn(wait_edge));

/// The bin of a wait: the first whose upper edge is at or above it (the last for longer
/// waits). What `⌈6·(log10(wait) + 1)⌉` gives, found from the wait's binary exponent and
/// one comparison or two with the edges instead of a logarithm: the engine bins a wait in
/// every queue hour it steps.
#[inline]
pub(super) fn wait_bin(wait: f64) -> usize {
    if wait.is_nan() || wait <= 0.1 {
        return 0;
    }
    if wait > wait_edge(WAIT_BINS - 2) {
        return WAIT_BINS - 1;
    }
    // log2(wait) to within 0.09 from its exponent and mantissa, so log10 to within 0.03 and
    // the bin to within a sixth of one.
    let bits = wait.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
    let mantissa = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let log10 = (exponent + mantissa - 1.0) * std::f64::consts::LOG10_2;
    let mut b = (crate::stats::ceil_count((log10 + 1.0) * 6.0) as usize).clamp(1, WAIT_BINS - 1);
    let edges = &*WAIT_EDGES;
    while b > 1 && wait <= edges[b - 1] {
        b -= 1;
    }
    while b < WAIT_BINS - 1 && wait > edges[b] {
        b += 1;
    }
    b
}

/// What of a fleet's state its hold band depends on: a backlog or not, and GPUs running.
type HoldKey = (bool, u32);

/// An hour that holds a fluid fleet where it is ([`PathScratch::hold_band`]).
#[derive(Debug, Clone, Copy)]
struct Hold {
    /// Expected assets an hour: `lo < a <= hi`.
    lo: f64,
    hi: f64,
    /// A work such an hour may bring [GPU-s].
    work: f64,
    /// Its capacity [GPU-s] and GPU-hours billed.
    capacity: f64,
    billed: f64,
}

/// Add `weight` images that waited `wait` seconds.
#[inline]
pub(super) fn add_wait(bins: &mut [f64; WAIT_BINS], wait: f64, weight: f64) {
    if weight <= 0.0 {
        return;
    }
    bins[wait_bin(wait)] += weight;
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

#[cfg(test)]
mod wait_bin_tests {
    use super::*;

    /// The bin by edges is the bin by the logarithm, `⌈6·(log10(w) + 1)⌉`, for waits spread
    /// log-uniformly over every bin and beyond, and for waits at and next to every edge (where
    /// the logarithm's own rounding may land on either side, the edges decide).
    #[test]
    fn wait_bins_by_edges_are_the_bins_by_logarithm() {
        let by_log = |w: f64| -> usize {
            if w < 0.1 {
                0
            } else {
                ((((w.log10() + 1.0) * 6.0).ceil()) as usize).min(WAIT_BINS - 1)
            }
        };
        let mut differ = 0;
        for i in 0..200_000 {
            let w = 10f64.powf(-2.0 + 12.0 * i as f64 / 200_000.0);
            let (a, b) = (wait_bin(w), by_log(w));
            if a != b {
                // Only next to an edge, by rounding.
                let e = wait_edge(a.min(b));
                assert!((w / e - 1.0).abs() < 1e-12, "{w}: {a} vs {b}");
                differ += 1;
            }
        }
        assert!(differ < 10, "{differ} waits binned differently");
        for b in 1..WAIT_BINS - 1 {
            let e = wait_edge(b);
            assert_eq!(wait_bin(e), b, "edge {b}");
            assert_eq!(wait_bin(e * (1.0 + 1e-15)), b + 1, "above edge {b}");
        }
        assert_eq!(wait_bin(0.0), 0);
        assert_eq!(wait_bin(0.1), 0);
        assert_eq!(wait_bin(f64::NAN), 0);
        assert_eq!(wait_bin(f64::INFINITY), WAIT_BINS - 1);
        assert_eq!(wait_bin(1e300), WAIT_BINS - 1);
    }
}
