//! The hours a path must simulate one by one: draw the hour's counts (or, under the normal
//! approximation, the few numbers the fleets see), step every fleet through the hour, and
//! keep what the month's bill needs.

use super::pooled::{Bin, HourBins, Part, POOLED_BELOW};
use super::projection::{Projection, StatelessTotals};
use super::state::{add_wait, OptionRun, PathScratch};
use super::{Engine, Stateless, NORMAL_APPROX_MIN_MEAN};
use crate::error::{Error, Result};
use crate::fleet::{serverless_bill, Fleet, HourOutcome};
use crate::ids::StreamId;
use rand::Rng;
use rand_distr::{Binomial, Distribution, Gamma, Poisson, StandardNormal};

impl PathScratch {
    /// Step the fleets through one hour drawn stream by stream: the fluid fleets, and the
    /// queue fleets too when `queues` (the reference sampler; the fast one takes queue fleets
    /// a month at a time, [`PathScratch::queue_month`]). API-served streams only need the
    /// month's count, so the hour's counts are summed once for all options.
    pub fn step_hour(
        &mut self,
        e: &Engine,
        sampled: &[StreamId],
        counts: &[f64],
        how: Option<(usize, usize)>,
        queues: bool,
    ) {
        for &i in sampled {
            self.month_counts[i.0] += counts[i.0];
        }
        let n = if queues { e.fleets.len() } else { e.n_fluid };
        for (k, &o) in e.fleets[..n].iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let (mut work, mut requests) = (0.0, 0.0);
            for &i in &f.fleet_streams {
                work += counts[i.0] * f.stream_seconds[i.0];
                requests += counts[i.0];
            }
            self.fleet_work[k] = work;
            self.fleet_requests[k] = requests;
        }
        self.step_fleets(e, how, queues);
        for (k, &o) in e.fleets[..n].iter().enumerate() {
            let share = self.fleet_share[k];
            if let (Some(f), true) = (&e.option(o).fleet, share > 0.0) {
                let over = &mut self.overflow_counts[k];
                for &i in &f.fleet_streams {
                    over[i.0] += counts[i.0] * share;
                }
            }
        }
    }

    /// Step every fluid fleet through month `hours` drawn hour by hour: `hours` holds each
    /// hour's counts of the `sampled` streams, one row an hour. Each fleet steps the month
    /// on its own, the fleets side by side on the pool, as [`PathScratch::step_hour`] steps
    /// them hour after hour (the same operations in the same order for each fleet, so the
    /// same figures at any thread count).
    pub fn step_fluid_month(&mut self, e: &Engine, sampled: &[StreamId], hours: &[f64]) {
        use rayon::prelude::*;
        let width = sampled.len().max(1);
        for row in hours.chunks(width) {
            for (j, &i) in sampled.iter().enumerate() {
                self.month_counts[i.0] += row[j];
            }
        }
        let n = e.n_fluid;
        let mut fleet_of = vec![usize::MAX; self.opts.len()];
        for (k, &o) in e.fleets[..n].iter().enumerate() {
            fleet_of[o.0] = k;
        }
        let mut overs: Vec<Option<&mut Vec<f64>>> =
            self.overflow_counts.iter_mut().map(Some).collect();
        let mut months: Vec<(&Fleet, &mut OptionRun, &mut Vec<f64>)> = Vec::with_capacity(n);
        for (o, run) in self.opts.iter_mut().enumerate() {
            let (k, Some(f)) = (fleet_of[o], e.options[o].fleet.as_ref()) else {
                continue;
            };
            if let Some(over) = overs.get_mut(k).and_then(Option::take) {
                months.push((f, run, over));
            }
        }
        months.into_par_iter().for_each(|(f, run, over)| {
            // The fleet's streams among the sampled ones.
            let cols: Vec<(usize, usize)> = f
                .fleet_streams
                .iter()
                .filter_map(|i| sampled.binary_search(i).ok().map(|j| (j, i.0)))
                .collect();
            let mut out = HourOutcome::default();
            for row in hours.chunks(width) {
                let (mut work, mut requests) = (0.0, 0.0);
                for &(j, i) in &cols {
                    work += row[j] * f.stream_seconds[i];
                    requests += row[j];
                }
                f.step_into(&mut run.state, work * run.speed, requests, &mut out);
                let share = out.overflow_share;
                record_hour(run, f, requests * (1.0 - share), &out, 1.0);
                if share > 0.0 {
                    for &(j, i) in &cols {
                        over[i] += row[j] * share;
                    }
                }
            }
        });
    }

    /// An hour drawn through the projection at rate `lam`: the fluid fleets see their work
    /// and requests; the rest of the hour's counts join the month's sums.
    pub fn projected_hour<R: Rng + ?Sized>(
        &mut self,
        e: &Engine,
        pj: &Projection,
        lam: f64,
        rng: &mut R,
    ) {
        let n = e.n_fluid;
        pj.draw_hour(
            rng,
            lam,
            &mut self.sums,
            &mut self.fleet_work[..n],
            &mut self.fleet_requests[..n],
        );
        self.step_fleets(e, None, false);
        self.sums.add(lam, &self.fleet_share[..n]);
    }

    /// Step the fluid fleets (and the queue fleets when `queues`) through one hour with the
    /// work and requests in `fleet_work` and `fleet_requests`, leaving each one's overflow
    /// share in `fleet_share`.
    pub fn step_fleets(&mut self, e: &Engine, how: Option<(usize, usize)>, queues: bool) {
        let n = if queues { e.fleets.len() } else { e.n_fluid };
        for (k, &o) in e.fleets[..n].iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let run = &mut self.opts[o.0];
            let requests = self.fleet_requests[k];
            let work = self.fleet_work[k] * run.speed;
            let out = &mut self.hour_out;
            if f.queued() {
                f.step_queue_into(&mut run.state, work, requests, &mut run.tables, out);
            } else {
                f.step_into(&mut run.state, work, requests, out);
            }
            self.fleet_share[k] = out.overflow_share;
            let fleet_imgs = requests * (1.0 - out.overflow_share);
            record_hour(run, f, fleet_imgs, out, 1.0);
            if let Some((m, h)) = how {
                // Hour-of-week sums per month, so the chart can show the month the fleet is
                // busiest rather than a week pooled over the horizon.
                let months = e.scenario.horizon_months as usize;
                let tr = self
                    .trace
                    .get_or_insert_with(|| vec![vec![[[0.0; 168]; 4]; months]; e.options.len()]);
                let w = &mut tr[o.0][m];
                w[0][h] += if out.capacity_seconds > 0.0 {
                    out.busy_seconds / out.capacity_seconds
                } else {
                    0.0
                };
                w[1][h] += out.overflow_share;
                w[2][h] += 1.0;
                w[3][h] += requests;
            }
        }
    }

    /// Take every queue fleet through month `m` of volume `vm` [assets] under the fast
    /// sampler: each hour at its expected rate (`vm` × its share × its burst, `bursts[t]`
    /// when drawn), which for the counts of busy hours is what the Poisson noise averages to.
    /// A fleet that carries nothing between hours (a fixed fleet that overflows, or one that
    /// never overflows and cannot fill up this month) is evaluated once per distinct share of
    /// the month's hours. The month's served and overflowed counts are drawn at its close
    /// ([`PathScratch::close_queued`]).
    pub fn queue_month(&mut self, e: &Engine, m: usize, vm: f64, bursts: Option<&[f64]>) {
        // How each queue fleet takes this month (None: not a queue fleet): the lean loop for
        // those with a stepping signature whose month is not grouped; a twin of an earlier
        // such fleet takes its month.
        let mut ways: Vec<Option<MonthWay>> = vec![None; e.options.len()];
        // The month's busiest hour, bursts included: a queue that never overflows stays
        // empty all month when that hour fits the fleet. Found only if such a queue asks.
        let peak = std::cell::OnceCell::new();
        let peak = || {
            *peak.get_or_init(|| match bursts {
                Some(b) => e.shares[m]
                    .iter()
                    .zip(b)
                    .map(|(s, g)| s * g)
                    .fold(0.0, f64::max),
                None => e.share_groups[m].first().map_or(0.0, |g| g.0),
            })
        };
        for &o in &e.fleets[e.n_fluid..] {
            if let Some(f) = &e.option(o).fleet {
                let run = &self.opts[o.0];
                ways[o.0] = Some(if grouped_month(e, f, run, m, vm, bursts) {
                    MonthWay::Grouped
                } else if e.lean_queue_months
                    && e.stepping[o.0].is_some()
                    && stays_empty(f, run, || vm * peak() * run.k1)
                {
                    MonthWay::Lean
                } else if e.lean_queue_months && pool_stays_empty(f, run, || vm * peak() * run.k1) {
                    MonthWay::LeanPool
                } else {
                    MonthWay::Hourly
                });
            }
        }
        // A bursty month's hours in bins of nearby rates, for the lean loops of the fleets that
        // may pool some (`may_pool`) to take once a bin; the first hours, which open an
        // autoscaler one by one, on their own.
        let mut pools = vec![false; e.options.len()];
        let mut range = (0.0, 0.0);
        if let (Some(b), true) = (bursts, e.pooled_queue_hours) {
            // The quietest and busiest hours, and the quietest with requests.
            let (lo, hi, some) = e.shares[m].iter().zip(b).map(|(s, g)| s * g).fold(
                (f64::INFINITY, 0.0f64, f64::INFINITY),
                |(lo, hi, some), u| {
                    (
                        lo.min(u),
                        hi.max(u),
                        if u > 0.0 { some.min(u) } else { some },
                    )
                },
            );
            range = (some, hi);
            for &o in &e.fleets[e.n_fluid..] {
                if let (Some(MonthWay::Lean | MonthWay::LeanPool), Some(f)) =
                    (ways[o.0], &e.option(o).fleet)
                {
                    let run = &self.opts[o.0];
                    pools[o.0] = may_pool(f, run, vm * lo * run.k1, vm * hi * run.k1);
                }
            }
        }
        let bins = match bursts {
            Some(b) if pools.iter().any(|&p| p) => {
                let head = e.fleets[e.n_fluid..]
                    .iter()
                    .filter(|o| pools[o.0])
                    .filter_map(|&o| e.option(o).fleet.as_ref()?.min_billed_hours())
                    .fold(1, |h, n| h.max(n as usize));
                self.hour_bins
                    .build(&e.shares[m], b, head, range.0, range.1)
                    .then_some(&self.hour_bins)
            }
            _ => None,
        };
        // Every queue fleet's month reads only the engine and the bursts and writes only its
        // own option, so they run side by side on the pool (a plan's screening is a single
        // batch of paths, which would otherwise keep one thread busy); the figures are the
        // same in any order and at any thread count. Twins take their month afterwards.
        let mut months: Vec<(&Fleet, MonthWay, &mut OptionRun, Option<&HourBins>)> = Vec::new();
        for (o, run) in self.opts.iter_mut().enumerate() {
            let Some(way) = ways[o] else { continue };
            let twin = way == MonthWay::Lean && self.twin_of[o].is_some();
            if let (false, Some(f)) = (twin, e.options[o].fleet.as_ref()) {
                months.push((f, way, run, bins.filter(|_| pools[o])));
            }
        }
        let month = |(f, way, run, bins): (&Fleet, MonthWay, &mut OptionRun, Option<&HourBins>)| {
            queue_fleet_month(
                e,
                f,
                run,
                QueueMonth {
                    m,
                    vm,
                    bursts,
                    bins,
                },
                way,
            );
        };
        if months.len() > 1 {
            use rayon::prelude::*;
            months.into_par_iter().for_each(month);
        } else {
            months.into_iter().for_each(month);
        }
        for &o in &e.fleets[e.n_fluid..] {
            if let (Some(MonthWay::Lean), Some(l)) = (ways[o.0], self.twin_of[o.0]) {
                let (head, tail) = self.opts.split_at_mut(o.0);
                tail[0].copy_lean_month(&head[l]);
            }
        }
    }

    /// Route the month's overflow of every queue fleet to its items. Under the fast sampler
    /// (`fast`), first split each stream's month count `N` into overflowed `O` and served:
    /// every request of the month overflows with the month's request-weighted overflow share
    /// p̄, independently given its hour, so `O ~ Binomial(N, p̄)` exactly (`N·p̄` when
    /// arrivals are fluid); busy time follows the served work.
    pub fn close_queued(&mut self, e: &Engine, fast: bool, fluid: bool) -> Result<()> {
        for (k, &o) in e.fleets.iter().enumerate().skip(e.n_fluid) {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let run = &mut self.opts[o.0];
            if fast {
                let [served, over, busy] = run.expected;
                let p = if served + over > 0.0 {
                    (over / (served + over)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (mut work, mut made) = (0.0, 0.0);
                for &i in &f.fleet_streams {
                    let n = self.month_counts[i.0];
                    let o_i = if fluid {
                        n * p
                    } else {
                        draw_binomial(&mut self.split_rngs[k], n, p)?
                    };
                    self.overflow_counts[k][i.0] = o_i;
                    made += n - o_i;
                    work += (n - o_i) * f.stream_seconds[i.0] * run.speed;
                }
                // The expected hours' busy time, scaled to the work the drawn counts bring.
                let expected_work = served * run.k1
                    / f.fleet_streams
                        .iter()
                        .map(|i| e.streams[i.0].per_asset)
                        .sum::<f64>()
                        .max(1e-300);
                run.month.served += made;
                run.month.busy += if expected_work > 0.0 {
                    (busy * work / expected_work).min(run.month.cap)
                } else {
                    busy
                };
            }
            let m = &mut run.month;
            for &i in &f.fleet_streams {
                let over = self.overflow_counts[k][i.0];
                if let Some(item) = f.overflow_item[i.0] {
                    m.qty[item] += over;
                }
                m.overflowed += over;
            }
        }
        Ok(())
    }

    /// Step a stateless month's hot hours (in `hot_rates`, `hot_normals`) all at once.
    pub fn step_stateless(&mut self, e: &Engine, pj: &Projection, fleets: &Stateless) {
        self.hot_totals.fill(StatelessTotals::default());
        pj.step_stateless(
            &self.hot_rates,
            &self.hot_normals,
            &fleets.capacity,
            &self.fleet_speed,
            &mut self.sums,
            &mut self.hot_scratch,
            &mut self.hot_totals,
        );
        let hours = self.hot_rates.len() as f64;
        for (k, &o) in e.fleets[..e.n_fluid].iter().enumerate() {
            let (cap, gpus) = (fleets.capacity[k], fleets.gpus[k]);
            let t = self.hot_totals[k];
            let run = &mut self.opts[o.0];
            run.month.served += t.served;
            run.month.busy += t.busy;
            run.month.cap += hours * cap;
            run.month.billed_hours += hours * gpus;
            // Nothing queues: every image is made within the hour, in its service time.
            add_wait(&mut run.waits, 0.0, t.served);
            run.service_only[0] += t.served;
        }
    }

    /// Add the month's projected hours to its counts and overflows.
    pub fn close_projected_month<R: Rng + ?Sized>(&mut self, pj: &Projection, rng: &mut R) {
        pj.close_month(
            rng,
            &mut self.sums,
            &mut self.month_counts,
            &mut self.overflow_counts,
        );
    }
}

/// How a queue fleet takes a month under the fast sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonthWay {
    /// Once per distinct hour share ([`grouped_month`]).
    Grouped,
    /// Every hour through the lean loop ([`stateless_queue_month`]).
    Lean,
    /// A serverless pool's every hour through its lean loop ([`pool_queue_month`]).
    LeanPool,
    /// Every hour through the general step.
    Hourly,
}

/// A month as a queue fleet's month loops read it: its index and volume [assets], its hours'
/// bursts when drawn, and the hours' bins when the fleet may pool them.
#[derive(Clone, Copy)]
struct QueueMonth<'a> {
    m: usize,
    vm: f64,
    bursts: Option<&'a [f64]>,
    bins: Option<&'a HourBins>,
}

/// One queue fleet's month `m` under the fast sampler (see [`PathScratch::queue_month`]), the
/// way `way` says.
fn queue_fleet_month(
    e: &Engine,
    f: &Fleet,
    run: &mut OptionRun,
    month: QueueMonth<'_>,
    way: MonthWay,
) {
    let QueueMonth { m, vm, bursts, .. } = month;
    let per_asset: f64 = f
        .fleet_streams
        .iter()
        .map(|i| e.streams[i.0].per_asset)
        .sum();
    match way {
        MonthWay::Lean => return stateless_queue_month(e, f, run, month, per_asset),
        MonthWay::LeanPool => return pool_queue_month(e, f, run, month, per_asset),
        MonthWay::Grouped | MonthWay::Hourly => {}
    }
    let k1 = run.k1;
    let mut out = HourOutcome::default();
    let mut step = |run: &mut OptionRun, share: f64, times: f64| {
        let requests = vm * share * per_asset;
        f.step_queue_into(
            &mut run.state,
            vm * share * k1,
            requests,
            &mut run.tables,
            &mut out,
        );
        let served = requests * (1.0 - out.overflow_share);
        run.expected[0] += served * times;
        run.expected[1] += requests * out.overflow_share * times;
        run.expected[2] += out.busy_seconds * times;
        record_hour(run, f, served, &out, times);
    };
    // The month's counts are drawn at its close and replace the expected served images and
    // work that `record_hour` counts.
    let kept = (run.month.served, run.month.busy);
    if way == MonthWay::Grouped {
        for &(share, hours) in &e.share_groups[m] {
            step(run, share, hours as f64);
        }
    } else {
        for (t, &share) in e.shares[m].iter().enumerate() {
            let g = bursts.map_or(1.0, |b| b[t]);
            step(run, share * g, 1.0);
        }
    }
    (run.month.served, run.month.busy) = kept;
}

/// What [`stateless_queue_month`] reads of fleet `f` besides the path's speed, as text: its
/// size rule, usable seconds per GPU-hour, serving shape, queue (service mix and policy) and
/// the streams it serves with their work; None when the lean loop never steps it (serverless
/// workers; a queue that never overflows takes it only in months it stays empty,
/// [`stays_empty`]). Prices,
/// items and people are not in it: options that rent the same fleet from different offers,
/// or own it, step alike and are stepped once a path (`PathScratch::twin_of`).
pub(crate) fn stepping_signature(f: &Fleet, streams: &[super::compile::Stream]) -> Option<String> {
    use crate::fleet::FleetKind;
    use crate::queue::Policy;
    let q = f.queue.as_ref()?;
    if !matches!(
        q.policy,
        Policy::OverflowAtOnce | Policy::OverflowAfter { .. } | Policy::NeverOverflow
    ) {
        return None;
    }
    let size = match &f.kind {
        FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => format!("fixed {gpus}"),
        FleetKind::Autoscaled { scaler, .. } => format!(
            "auto {} {} {:?} {:?} {}",
            scaler.min,
            scaler.max,
            scaler.target_utilisation.to_bits(),
            scaler.scale_up_delay_minutes.to_bits(),
            scaler.min_billed_hours
        ),
        FleetKind::Serverless { .. } => return None,
    };
    let work: Vec<(usize, u64, u64)> = f
        .fleet_streams
        .iter()
        .map(|i| {
            (
                i.0,
                f.stream_seconds[i.0].to_bits(),
                streams[i.0].per_asset.to_bits(),
            )
        })
        .collect();
    Some(format!(
        "{size} | {:?} | {} {:?} | {:?} | {work:?}",
        f.usable_seconds_per_gpu_hour.to_bits(),
        f.shape.gpus_per_replica,
        f.shape.servers_per_gpu().to_bits(),
        q.key(),
    ))
}

/// True when a queue fleet's month keeps nothing waiting from one hour to the next whatever
/// its hours bring up to `peak_work()` [GPU-s], asked only of a queue that never overflows: a
/// queue that overflows never does; one that never overflows does not while every hour fits
/// what runs in it. An always-on fleet fits up to its capacity; an autoscaler while the work asks for no more than its largest size (it then runs
/// at least work / (c·u) GPUs, whose capacity, less a scale-up delay d for each just started,
/// covers the work when u ≤ 1 − d/c).
fn stays_empty(f: &Fleet, run: &OptionRun, peak_work: impl FnOnce() -> f64) -> bool {
    use crate::fleet::FleetKind;
    let Some(q) = f.queue.as_ref() else {
        return false;
    };
    if q.policy != crate::queue::Policy::NeverOverflow {
        return true;
    }
    if run.state.backlog > 0.0 {
        return false;
    }
    let c = f.usable_seconds_per_gpu_hour;
    match &f.kind {
        FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
            f.servers(*gpus) > 0 && peak_work() <= *gpus as f64 * c
        }
        FleetKind::Autoscaled { scaler, .. } => {
            let u = scaler.target_utilisation;
            let g = f.shape.gpus_per_replica.max(1);
            let top = scaler.max / g * g;
            u <= 1.0 - scaler.scale_up_delay_minutes * 60.0 / c
                && f.servers(g) > 0
                && peak_work() <= top as f64 * c * u
        }
        FleetKind::Serverless { .. } => false,
    }
}

/// True when a lean month of fleet `f`, its hours' work within `lo..=hi` [GPU-s], may take
/// some hours a bin at a time ([`HourBins`]): its size does not move after the first hours
/// (always-on GPUs, a serverless pool, an autoscaler that holds its size,
/// [`Fleet::opened_alike_after`]) and its quietest hour is below [`POOLED_BELOW`] of its
/// capacity.
fn may_pool(f: &Fleet, run: &OptionRun, lo: f64, hi: f64) -> bool {
    let capacity = match f.steady_capacity() {
        Some(c) => c,
        None if f.opened_alike_after(&run.state, lo, hi).is_some() => {
            run.state.active as f64 * f.usable_seconds_per_gpu_hour
        }
        // Its size follows every hour's ask: some hours start nothing.
        None => return f.hourly_size(0.0).is_some(),
    };
    lo < POOLED_BELOW * capacity
}

/// True when a queue fleet's month is taken once per distinct hour share
/// ([`PathScratch::queue_month`]): no bursts, a fleet whose hours all have the same capacity
/// (always-on GPUs, or a serverless pool, whose hour bill reads only the hour's rate), and
/// nothing carried between hours (a fleet that overflows, or one that never overflows,
/// starts the month empty and cannot fill up).
fn grouped_month(
    e: &Engine,
    f: &Fleet,
    run: &OptionRun,
    m: usize,
    vm: f64,
    bursts: Option<&[f64]>,
) -> bool {
    let Some(cap) = f.steady_capacity() else {
        return false;
    };
    e.grouped_months
        && bursts.is_none()
        && match f.queue.as_ref().map(|q| q.policy) {
            Some(crate::queue::Policy::NeverOverflow) => {
                let peak = e.share_groups[m].first().map_or(0.0, |g| g.0);
                run.state.backlog == 0.0 && vm * peak * run.k1 <= cap
            }
            _ => true,
        }
}

/// The hours of month `m` of a fleet that [`stepping_signature`] admits (a queue on hourly GPUs,
/// fixed or autoscaled, that keeps no backlog: it overflows, or [`stays_empty`] this month), each
/// at its expected rate:
/// what [`Fleet::step_queue_into`] and [`record_hour`] do hour by hour, in one loop that builds
/// no outcome beyond the GPU-hours billed and adds to the month only what its close keeps (the
/// served images and busy time are replaced there). The same figures, operation for operation
/// (tests: `the_lean_queue_month_is_the_general_step`), when every hour is taken one by one;
/// with `bins`, hours below half load are taken a bin at a time ([`super::pooled`]).
#[inline(never)]
fn stateless_queue_month(
    e: &Engine,
    f: &Fleet,
    run: &mut OptionRun,
    month: QueueMonth<'_>,
    per_asset: f64,
) {
    let QueueMonth {
        m,
        vm,
        bursts,
        bins,
    } = month;
    let q = f.queue.as_ref().expect("a queue fleet");
    debug_assert_eq!(
        run.state.backlog, 0.0,
        "a fleet that overflows keeps no backlog"
    );
    let k1 = run.k1;
    let mut out = HourOutcome::default();
    // An autoscaler whose every hour this month asks for the GPUs it runs opens every hour
    // after the first few as the last: those hours take the last opening's capacity, size
    // and GPU-hours instead of asking again.
    let open_first = if f.autoscaled() && !e.shares[m].is_empty() {
        let (lo, hi) = e.shares[m]
            .iter()
            .enumerate()
            .map(|(t, &share)| share * bursts.map_or(1.0, |b| b[t]))
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
        f.opened_alike_after(&run.state, vm * lo * k1, vm * hi * k1)
    } else {
        None
    };
    let mut opened = 0;
    let mut last = (0.0, 0);
    // Hour `t`, or (`times` = [requests, hours]) that many hours of requests and hours at
    // `u` (share × burst): every figure of a request scales by the first, of an hour by the
    // second (both 1 for an hour, which leaves its figures as they were).
    // `opening`: the hour's capacity and GPUs when the caller has them (an autoscaler billed
    // by the hour, whose sizes are found in time order first).
    let mut hour = |run: &mut OptionRun, u: f64, times: [f64; 2], opening: Option<(f64, u32)>| {
        let x = vm * u;
        let (work, requests) = (x * k1, x * per_asset);
        let (capacity, running) = match (opening, open_first) {
            (Some((capacity, active)), _) => {
                out.billed_gpu_hours = active as f64;
                (capacity, active)
            }
            (None, Some(n)) if opened >= n => last,
            _ => {
                opened += 1;
                last = f.open_hour(&mut run.state, work, requests, &mut out);
                last
            }
        };
        let servers = f.servers(running);
        let (overflow, wait, place, busy) =
            lean_queue_hour(q, &mut run.tables, servers, capacity, work);
        let served = requests * (1.0 - overflow) * times[0];
        run.expected[0] += served;
        run.expected[1] += requests * overflow * times[0];
        run.expected[2] += busy * times[0];
        run.month.cap += capacity * times[1];
        run.month.billed_hours += out.billed_gpu_hours * times[1];
        add_wait(&mut run.waits, wait, served);
        if served > 0.0 {
            match place {
                Some(p) => run.add_rows(servers, p, served, 0.0),
                None => run.service_only[0] += served,
            }
        }
        capacity
    };
    // As `queue_month` has it: the burst scales the share.
    let u_at = |t: usize| e.shares[m][t] * bursts.map_or(1.0, |b| b[t]);
    // An autoscaler billed by the hour whose size moves pools the hours that start nothing.
    if let Some(b) = bins.filter(|_| open_first.is_none() && f.hourly_size(0.0).is_some()) {
        return scaled_month(f, run, vm * k1, &u_at, b, hour);
    }
    // Otherwise pooled only where every hour after the first few opens alike: always-on
    // GPUs, or an autoscaler that holds its size from within the hours taken one by one.
    match bins.filter(|b| !f.autoscaled() || open_first.is_some_and(|n| n <= b.head)) {
        Some(b) => {
            // Every hour after the first few opens as the first (a held autoscaler starts
            // nothing).
            let capacity = f
                .steady_capacity()
                .unwrap_or_else(|| f.capacity_after(run.state.active, run.state.active));
            b.take(
                |bin| vm * bin.max * k1 < POOLED_BELOW * capacity,
                |part| match part {
                    Part::Hour(t) => {
                        hour(run, u_at(t), [1.0, 1.0], None);
                    }
                    Part::Bin(bin) => {
                        let (u, requests) = bin.representative();
                        hour(run, u, [requests, bin.hours], None);
                    }
                },
            );
        }
        None => {
            for t in 0..e.shares[m].len() {
                hour(run, u_at(t), [1.0, 1.0], None);
            }
        }
    }
}

/// The hours of a lean month of an autoscaler billed by the hour whose size moves, some a bin
/// at a time: its size each hour is the hour's own ask, found first in time order (`u_at(t)`:
/// hour `t`'s share × burst; `work` [GPU-s] per unit of it), so an hour that starts no GPU
/// has the figures of any other hour of its bin at its size. A bin whose hours all ask for
/// one size, below [`POOLED_BELOW`] of its capacity, takes its hours that start nothing at
/// once; every other hour is taken one by one. The fleet ends the month at its last hour's
/// size, as opening every hour would leave it.
fn scaled_month<H: FnMut(&mut OptionRun, f64, [f64; 2], Option<(f64, u32)>) -> f64>(
    f: &Fleet,
    run: &mut OptionRun,
    work: f64,
    u_at: &impl Fn(usize) -> f64,
    b: &HourBins,
    mut hour: H,
) {
    let size = |u: f64| f.hourly_size(work * u).expect("an hourly autoscaler");
    let sizes: Vec<u32> = (0..b.len).map(|t| size(u_at(t))).collect();
    let start = run.state.active;
    let before = |t: usize| if t == 0 { start } else { sizes[t - 1] };
    let one = |hour: &mut H, run: &mut OptionRun, t: usize| {
        let opening = (f.capacity_after(before(t), sizes[t]), sizes[t]);
        hour(run, u_at(t), [1.0, 1.0], Some(opening));
    };
    // Each bin's size, when its hours all ask for one and it is pooled there.
    let sized: Vec<Option<u32>> = (b.bins.iter())
        .map(|bin| {
            let n = size(bin.min);
            (n == size(bin.max) && work * bin.max < POOLED_BELOW * f.capacity_after(n, n))
                .then_some(n)
        })
        .collect();
    let mut groups = vec![Bin::EMPTY; b.bins.len()];
    b.take(
        |_| false,
        |part| {
            let Part::Hour(t) = part else { return };
            match b.bin_at(t) {
                Some(k) if sized[k].is_some() && sizes[t] <= before(t) => groups[k].add(u_at(t)),
                _ => one(&mut hour, run, t),
            }
        },
    );
    for (g, n) in groups.iter().zip(&sized) {
        if let (Some(n), true) = (n, g.hours > 0.0) {
            let (u, requests) = g.representative();
            hour(
                run,
                u,
                [requests, g.hours],
                Some((f.capacity_after(*n, *n), *n)),
            );
        }
    }
    if let Some(&last) = sizes.last() {
        run.state.active = last;
        run.state.recent.clear();
        run.state.recent.push(last);
    }
}

/// True when a serverless pool served as a queue takes month `m` through
/// [`pool_queue_month`]: nothing waits at the month's start, the pool has workers, and a queue
/// that never overflows keeps nothing waiting from one hour to the next because every hour's
/// work, up to `peak_work()` [GPU-s], fits every worker all hour. (A queue that overflows
/// keeps no backlog.)
fn pool_stays_empty(f: &Fleet, run: &OptionRun, peak_work: impl FnOnce() -> f64) -> bool {
    use crate::fleet::FleetKind;
    let (FleetKind::Serverless { max_workers, .. }, Some(q)) = (&f.kind, f.queue.as_ref()) else {
        return false;
    };
    run.state.backlog == 0.0
        && f.servers(*max_workers) > 0
        && (q.policy != crate::queue::Policy::NeverOverflow
            || peak_work() <= *max_workers as f64 * 3600.0)
}

/// The hours of month `m` of a serverless pool that [`pool_stays_empty`] admits, each at its
/// expected rate: what [`Fleet::step_queue_into`] and [`record_hour`] do hour by hour for
/// such a pool (the hour's bill by its rate, the queue's overflow and wait at the pool's
/// utilisation, the waits with and without a cold start), in one loop that builds no outcome
/// and adds to the month only what its close keeps. The same figures, operation for
/// operation (test: `the_lean_pool_month_is_the_general_step`); app-feature's and agency's
/// bursty months spent much of their pools' time building and reading hour outcomes. With
/// `bins`, hours below half load are taken a bin at a time ([`super::pooled`]).
#[inline(never)]
fn pool_queue_month(
    e: &Engine,
    f: &Fleet,
    run: &mut OptionRun,
    month: QueueMonth<'_>,
    per_asset: f64,
) {
    let QueueMonth {
        m,
        vm,
        bursts,
        bins,
    } = month;
    use crate::fleet::FleetKind;
    let (
        FleetKind::Serverless {
            max_workers,
            billing,
        },
        Some(q),
    ) = (&f.kind, f.queue.as_ref())
    else {
        unreachable!("pool_stays_empty admits serverless queues only");
    };
    let (capacity, servers) = (*max_workers as f64 * 3600.0, f.servers(*max_workers));
    let cold_start = f.cold_start_seconds();
    let k1 = run.k1;
    // As the lean loop of always-on fleets has it, `times` scales the figures of a request
    // and of an hour: a bin's hours are billed their idle time at their mean rate, `u_hours`
    // (share × burst), and its requests their cold starts and waits at theirs, `u`.
    let hour = |run: &mut OptionRun, u: f64, u_hours: f64, times: [f64; 2]| {
        let x = vm * u;
        let (work, requests) = (x * k1, x * per_asset);
        let bill = serverless_bill(*max_workers, billing, &mut run.state, work, requests);
        run.state.active = (bill.billed_s / 3600.0).ceil() as u32;
        let idle = if u_hours == u {
            (bill.billed_s - bill.busy_s).max(0.0)
        } else {
            let x = vm * u_hours;
            let b = serverless_bill(*max_workers, billing, &mut run.state, x * k1, x * per_asset);
            (b.billed_s - b.busy_s).max(0.0)
        };
        let (overflow, wait, place, busy) =
            lean_queue_hour(q, &mut run.tables, servers, capacity, work);
        // The pool is billed its workers' time beyond the work, and the work.
        let billed = idle * times[1] + busy * times[0];
        let served = requests * (1.0 - overflow) * times[0];
        run.expected[0] += served;
        run.expected[1] += requests * overflow * times[0];
        run.expected[2] += busy * times[0];
        run.month.cap += billed;
        run.month.billed_seconds += billed;
        let cold = bill.cold_share;
        add_wait(&mut run.waits, wait, served * (1.0 - cold));
        if cold > 0.0 {
            add_wait(&mut run.waits, wait + cold_start, served * cold);
        }
        // As `OptionRun::record_latency` takes an hour with nothing waiting ahead of it.
        if served > 0.0 {
            let cold = cold.clamp(0.0, 1.0);
            match place {
                Some(p) => run.add_rows(servers, p, served * (1.0 - cold), served * cold),
                None => {
                    run.service_only[0] += served * (1.0 - cold);
                    run.service_only[1] += served * cold;
                }
            }
        }
    };
    // As `queue_month` has it: the burst scales the share.
    let u_at = |t: usize| e.shares[m][t] * bursts.map_or(1.0, |b| b[t]);
    match bins {
        Some(b) => b.take(
            |bin| vm * bin.max * k1 < POOLED_BELOW * capacity,
            // The last hour, taken last, leaves the bill's state for the next month.
            |part| match part {
                Part::Hour(t) => {
                    let u = u_at(t);
                    hour(run, u, u, [1.0, 1.0]);
                }
                Part::Bin(bin) => {
                    let (u, requests) = bin.representative();
                    hour(run, u, bin.sum / bin.hours, [requests, bin.hours]);
                }
            },
        ),
        None => {
            for t in 0..e.shares[m].len() {
                let u = u_at(t);
                hour(run, u, u, [1.0, 1.0]);
            }
        }
    }
}

/// The queue's part of an hour of the lean loops: the overflow share, mean wait, place among
/// the latency rows and busy time [GPU-s] of `work` [GPU-s] on `servers` servers of
/// `capacity` [GPU-s], as [`Fleet::step_queue_into`] takes an hour with nothing waiting
/// before it (a queue that never overflows only in a month it stays empty: its table is step
/// 0's, its waits on the path's clock).
#[inline(always)]
fn lean_queue_hour(
    q: &crate::fleet::FleetQueue,
    tables: &mut crate::fleet::PathTables,
    servers: u32,
    capacity: f64,
    work: f64,
) -> (f64, f64, Option<crate::queue::RowPlace>, f64) {
    use crate::queue::Policy;
    let never = q.policy == Policy::NeverOverflow;
    let (mut overflow, mut wait, mut place) = (0.0, 0.0, None);
    if work > 0.0 {
        if capacity <= 0.0 || servers == 0 {
            overflow = 1.0;
        } else if q.policy == Policy::OverflowAtOnce {
            overflow = crate::queue::erlang_b(servers, work / capacity * servers as f64);
        } else {
            let scale = tables.never_wait_scale;
            (overflow, wait, place) = tables.table(q, servers).locate_lean_at(work / capacity);
            if never {
                (overflow, wait) = (0.0, wait * scale);
            }
        }
    }
    debug_assert!(!never || work <= capacity, "a month that stays empty");
    if work > capacity {
        overflow = overflow.max(1.0 - capacity.max(0.0) / work);
    }
    let busy = (work * (1.0 - overflow)).min(capacity.max(0.0));
    (overflow, wait, place, busy)
}

/// Add an hour's outcome to an option's month (`times` such hours, `served` images each).
fn record_hour(run: &mut OptionRun, f: &Fleet, served: f64, out: &HourOutcome, times: f64) {
    let m = &mut run.month;
    let served = served * times;
    m.served += served;
    if times == 1.0 {
        // The common case, field by field: the outcome was just written, and reading two
        // fields at once would wait for both stores.
        m.busy += out.busy_seconds;
        m.cap += out.capacity_seconds;
        m.billed_hours += out.billed_gpu_hours;
        m.billed_seconds += out.billed_gpu_seconds;
    } else {
        m.busy += out.busy_seconds * times;
        m.cap += out.capacity_seconds * times;
        m.billed_hours += out.billed_gpu_hours * times;
        m.billed_seconds += out.billed_gpu_seconds * times;
    }
    add_wait(
        &mut run.waits,
        out.wait_seconds,
        served * (1.0 - out.cold_share),
    );
    if out.cold_share > 0.0 {
        add_wait(
            &mut run.waits,
            out.wait_seconds + f.cold_start_seconds(),
            served * out.cold_share,
        );
    }
    run.record_latency(served, out);
}

/// A count with the given mean: Poisson, or its normal approximation at large means when
/// `approximate` is set.
pub(super) fn draw_count<R: Rng + ?Sized>(
    rng: &mut R,
    mean: f64,
    approximate: bool,
) -> Result<f64> {
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

/// Successes among `n` trials (a count, possibly from a normal approximation, so not always
/// whole) of probability `p`: the normal approximation when the variance is at least 25,
/// else exact on the rounded count.
fn draw_binomial<R: Rng + ?Sized>(rng: &mut R, n: f64, p: f64) -> Result<f64> {
    if n.is_nan() || n <= 0.0 || p <= 0.0 {
        return Ok(0.0);
    }
    if p >= 1.0 {
        return Ok(n);
    }
    let var = n * p * (1.0 - p);
    if var >= 25.0 {
        let z: f64 = StandardNormal.sample(rng);
        return Ok((n * p + var.sqrt() * z).clamp(0.0, n));
    }
    let b = Binomial::new(n.round() as u64, p)
        .map_err(|e| Error::Invariant(format!("binomial({n}, {p}): {e}")))?;
    Ok(b.sample(rng) as f64)
}

/// A pooled count: exact Poisson without bursts; with bursts, a normal with the mixture's
/// variance (mean plus the gamma multiplier's share) when large, else a negative binomial
/// drawn as gamma-Poisson.
pub(super) fn draw_pooled<R: Rng + ?Sized>(rng: &mut R, mean: f64, var_extra: f64) -> Result<f64> {
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
