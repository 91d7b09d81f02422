//! A self-hosted fleet and how it gets through an hour.
//!
//! # Inside an hour: a queue (the default) or the fluid rule
//! A fleet of `c` servers is a queue (`crate::queue`): requests arrive as a Poisson stream at
//! the hour's rate (bursts, as the demand model draws them, set that rate), and are served
//! first come first served with the hour's service-time mix (one deterministic time per
//! resolution bucket, in the buckets' shares). A server is one image in flight: a GPU holding
//! `r` replicas that each batch `b` images is `r·b` servers, a replica spanning `g` GPUs is
//! `b` servers per `g` GPUs; a server's time is the image's time × `r·b` over the batch gain
//! at that size (from the speed profile's curve), so throughput is exact and a lone image's
//! latency is an upper bound (a real batcher runs a lone image at batch 1). The hour's
//! utilisation is its work over its usable capacity (spot interruptions and an autoscaler's
//! start-up delay shrink the capacity, so they raise the load the queue sees).
//! - Overflow at once: the share Erlang B(c, a) goes to the API (exact for any service law).
//! - Overflow after X seconds of queue: the M/G/c threshold model; stable at any load, so a
//!   threshold fleet carries nothing from one hour to the next (at most X seconds of work,
//!   ignored: thresholds are seconds to minutes, hours are 3,600 s).
//! - Never overflow, below capacity: M/G/c waits. An hour that starts with a backlog first
//!   drains it: the requests that arrive while it drains wait the fluid FIFO wait, the others
//!   queue in the steady state of the hour's own load.
//! - Never overflow, over capacity (backlog plus work above capacity): the fluid backlog,
//!   carried to the next hour and served first in, first out; every request of the hour waits
//!   the fluid wait.
//!
//! Error: the queue figures agree with a request-level simulation within 4% on the p95
//! latency and 0.05 percentage points on overflow over utilisations 0.3–0.98 and 1–16 servers
//! (the table in `crate::queue`); tabulated hours are within 1% of exact solves. The hour is
//! taken in steady state: near saturation (ρ ≈ 0.98 and above for one server) steady state
//! takes about an hour to set in, so waits there are upper bounds. Autoscalers and serverless
//! pools are queues of the servers they run that hour; a cold start is waiting time for the
//! share of requests that find no warm worker (exponential gaps between requests, the idle
//! timeout as today), added to their queueing wait.
//!
//! # The fluid rule (`serving = "fluid"`)
//! The hour's work is `D` GPU-seconds and its capacity `C`: below capacity nothing waits and
//! nothing overflows; above it the share 1 − C/D of the hour's images overflows at once, or the
//! excess waits in the backlog up to `max_queue_seconds` of capacity and the rest overflows.
//! W1 is defined this way. Autoscaling reacts within the hour it sees demand, after its
//! scale-up delay; a serverless worker pool pays a cold start whenever a request finds no warm
//! worker, with gaps between requests taken as exponential.

use crate::ids::{InputId, StreamId};
use crate::money::Usd;
use crate::queue::{erlang_b, Policy, QueueTable, RowPlace, ServiceMix};
use crate::scenario::{Serving, ServingShape};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many GPUs a fleet runs and how they are paid: each kind with exactly the billing it has.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FleetKind {
    /// Always-on GPUs rented by the hour (on-demand, reserved, spot).
    Rented {
        /// GPUs.
        gpus: u32,
        /// Item of the GPU-hours.
        gpu_hours_item: usize,
    },
    /// Always-on GPUs bought outright.
    Owned {
        /// GPUs.
        gpus: u32,
        /// Its items and running figures.
        owned: OwnedItems,
    },
    /// GPUs rented by the hour that follow demand.
    Autoscaled {
        /// How it scales.
        scaler: Autoscaler,
        /// Item of the GPU-hours.
        gpu_hours_item: usize,
    },
    /// Serverless workers billed by the second.
    Serverless {
        /// Most concurrent workers.
        max_workers: u32,
        /// How they are billed.
        billing: ServerlessBilling,
    },
}

/// An hourly autoscaler.
#[derive(Debug, Clone, Serialize)]
pub struct Autoscaler {
    /// Fewest GPUs.
    pub min: u32,
    /// Most GPUs.
    pub max: u32,
    /// Utilisation the scaler aims for.
    pub target_utilisation: f64,
    /// Time for a new GPU to serve [minutes].
    pub scale_up_delay_minutes: f64,
    /// A started GPU is billed at least this long [hours].
    pub min_billed_hours: u32,
}

/// Serverless billing rules.
#[derive(Debug, Clone, Serialize)]
pub struct ServerlessBilling {
    /// Item of the GPU-seconds.
    pub gpu_seconds_item: usize,
    /// Billed cold start [s].
    pub cold_start_seconds: f64,
    /// Idle time billed before a worker stops [s].
    pub idle_timeout_seconds: f64,
    /// Billing increment [s].
    pub increment_seconds: f64,
}

/// Items of owned hardware.
#[derive(Debug, Clone, Serialize)]
pub struct OwnedItems {
    /// What the whole fleet costs to buy: cards and their share of servers and networking
    /// [USD], paid in the first month.
    pub capex_usd: Usd,
    /// Resale value at the horizon's end, as a share of `capex_usd`.
    pub residual_share: InputId,
    /// Item of the purchase less its resale, spread evenly over the horizon.
    pub depreciation: usize,
    /// Power item [kWh].
    pub power: usize,
    /// Hosting item [GPU-months].
    pub hosting: usize,
    /// Power usage effectiveness.
    pub pue: f64,
    /// Share of power drawn idle.
    pub idle_power_share: f64,
}

/// A self-hosted fleet ready to simulate.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    /// Size and billing.
    pub kind: FleetKind,
    /// Seconds per image for each stream, before the speed factor (0 for streams an API serves).
    pub stream_seconds: Vec<f64>,
    /// Streams the fleet serves.
    pub fleet_streams: Vec<StreamId>,
    /// For each stream, the overflow item (hybrid).
    pub overflow_item: Vec<Option<usize>>,
    /// Queue allowed before overflow [GPU-seconds per GPU-second of capacity, i.e. seconds];
    /// infinite when the fleet never overflows.
    pub max_queue_seconds: f64,
    /// Usable seconds per GPU-hour after interruptions.
    pub usable_seconds_per_gpu_hour: f64,
    /// Operations item.
    pub ops_item: usize,
    /// Operations hours per month.
    pub ops_hours: InputId,
    /// Licence fee item.
    pub licence_fee_item: usize,
    /// Licence overage item and included images (None: unlimited).
    pub licence_overage: Option<(usize, f64)>,
    /// Multiplier on seconds per image.
    pub speed_factor: InputId,
    /// Multiplier on the GPU's hourly or per-second price.
    pub gpu_price_factor: InputId,
    /// Board power [W].
    pub power_watts: f64,
    /// How an hour's requests are served.
    pub serving: Serving,
    /// Replicas, GPUs per replica and batch size.
    pub shape: ServingShape,
    /// The queue, for fleets that serve as one (`serving = "queue"` and a stream to serve).
    #[serde(skip)]
    pub queue: Option<FleetQueue>,
}

/// A fleet's queue: its service mix per server at the path's nominal speed, its policy, and
/// the engine's tables.
#[derive(Debug, Clone)]
pub struct FleetQueue {
    /// Service time of a server for each fleet stream, in the streams' shares [s].
    pub mix: ServiceMix,
    /// What a request that would wait does.
    pub policy: Policy,
    /// Tables shared by every path of the engine.
    pub cache: Arc<QueueCache>,
    /// The mix and policy as bits, for the cache key.
    key: Vec<u64>,
}

impl FleetQueue {
    /// Its mix and policy as bits (two queues with the same key serve alike).
    pub fn key(&self) -> &[u64] {
        &self.key
    }

    /// A queue of `mix` under `policy`, its tables kept in `cache`.
    pub fn new(mix: ServiceMix, policy: Policy, cache: Arc<QueueCache>) -> FleetQueue {
        let mut key = vec![policy.max_wait_seconds().to_bits()];
        for b in mix.buckets() {
            key.push(b.share.to_bits());
            key.push(b.seconds.to_bits());
        }
        FleetQueue {
            mix,
            policy,
            cache,
            key,
        }
    }
}

/// Tabulated queues of one engine, by mix, policy, servers and speed step: made on first use
/// and shared between threads (each table solves its own rows on first use).
#[derive(Debug, Default)]
pub struct QueueCache {
    tables: Mutex<HashMap<TableKey, Arc<QueueTable>>>,
}

/// A table's key: its mix and policy as bits, its servers, its speed step.
type TableKey = (Vec<u64>, u32, i32);

impl QueueCache {
    /// Tables held.
    pub fn len(&self) -> usize {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no table is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table of `servers` servers of `q` at speed step `step`, solved at that speed.
    pub fn table_at(&self, q: &FleetQueue, servers: u32, step: i32) -> Arc<QueueTable> {
        let mut map = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((q.key.clone(), servers, step))
            .or_insert_with(|| {
                let mix = q
                    .mix
                    .scaled(speed_of_step(step))
                    .unwrap_or_else(|_| q.mix.clone());
                Arc::new(QueueTable::new(servers, &mix, q.policy))
            })
            .clone()
    }

    /// The table a path at speed step `step` reads for `servers` servers of `q`. A queue
    /// that never overflows is the same queue at any speed on another clock: at a utilisation,
    /// its waits scale with the service times and its latency distribution moves along the
    /// log axis, one histogram bin a speed step (both 200 a decade). So such a fleet reads the
    /// table of step 0 at every speed, its waits times [`speed_of_step`] (`PathTables`), and
    /// its latency rows are written [`QueueTable::write_rows_shifted`] by the step: one table
    /// a size instead of one a size and step (a scenario whose speed factor spans 0.45–1.1
    /// solved rows for 78 steps, most of its run). A queue with a threshold is not the same
    /// on another clock (its threshold is in seconds) and keeps a table a step.
    pub fn table(&self, q: &FleetQueue, servers: u32, step: i32) -> Arc<QueueTable> {
        self.table_at(q, servers, Self::table_step(q, step))
    }

    /// The step whose table [`QueueCache::table`] gives a path at `step`.
    pub fn table_step(q: &FleetQueue, step: i32) -> i32 {
        if q.policy.normalised() == Policy::NeverOverflow {
            0
        } else {
            step
        }
    }
}

/// Speed steps per decade of the speed factor: a path's service times are those of its step,
/// within 0.58% (half a step), the width of the latency histogram's bins.
pub const SPEED_STEPS_PER_DECADE: f64 = 200.0;

/// The step of a speed factor (0 for 1).
pub fn speed_step(factor: f64) -> i32 {
    if factor > 0.0 && factor.is_finite() {
        (factor.log10() * SPEED_STEPS_PER_DECADE).round() as i32
    } else {
        0
    }
}

/// The speed factor of a step.
pub fn speed_of_step(step: i32) -> f64 {
    10f64.powf(step as f64 / SPEED_STEPS_PER_DECADE)
}

/// One path's tables of one fleet: at the path's speed step, by number of servers.
#[derive(Debug, Clone, Default)]
pub struct PathTables {
    /// Speed step of the path.
    pub step: i32,
    /// The factor on the waits a never-overflow table gives (read at step 0, see
    /// [`QueueCache::table`]): the speed of the path's step.
    pub never_wait_scale: f64,
    tables: Vec<Option<Arc<QueueTable>>>,
}

impl PathTables {
    /// Tables for a path whose speed factor is `factor`.
    pub fn new(factor: f64) -> PathTables {
        let step = speed_step(factor);
        PathTables {
            step,
            never_wait_scale: speed_of_step(step),
            tables: Vec::new(),
        }
    }

    /// The table of `servers` servers.
    pub fn table(&mut self, q: &FleetQueue, servers: u32) -> &QueueTable {
        let i = servers as usize;
        if self.tables.len() <= i {
            self.tables.resize(i + 1, None);
        }
        let step = self.step;
        self.tables[i].get_or_insert_with(|| q.cache.table(q, servers, step))
    }
}

/// The latency of an hour's served requests: a share waits a fixed time (the fluid rule, or a
/// backlog draining), the rest as a queue table's rows have it, or service alone.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HourLatency {
    /// Share of served requests that wait `fixed_wait`.
    pub fixed_share: f64,
    /// Their wait [s].
    pub fixed_wait: f64,
    /// The others: servers and place among that table's rows (None: no wait, service alone).
    pub rows: Option<(u32, RowPlace)>,
}

/// State a fleet carries from hour to hour.
#[derive(Debug, Clone, Default)]
pub struct FleetState {
    /// Work waiting [GPU-seconds].
    pub backlog: f64,
    /// GPUs running last hour (autoscaled) or warm workers (serverless).
    pub active: u32,
    /// Recent desired fleet sizes, newest last (autoscaled minimum billing).
    pub recent: Vec<u32>,
    /// Serverless workers: the path's hour bills by rate, when kept (None: each hour is
    /// settled on its own, the reference).
    pub bills: Option<Box<crate::serverless::BillTable>>,
}

/// What a fleet did in one hour.
#[derive(Debug, Clone, Copy, Default)]
pub struct HourOutcome {
    /// Share of this hour's fleet images sent to the overflow API.
    pub overflow_share: f64,
    /// Work done [GPU-seconds].
    pub busy_seconds: f64,
    /// Capacity [GPU-seconds] (billed seconds, for serverless).
    pub capacity_seconds: f64,
    /// GPU-hours billed (rented, hourly).
    pub billed_gpu_hours: f64,
    /// GPU-seconds billed (serverless).
    pub billed_gpu_seconds: f64,
    /// Mean wait of this hour's images [s].
    pub wait_seconds: f64,
    /// Share of this hour's images that waited for a cold start.
    pub cold_share: f64,
    /// Latency of the served images, before any cold start.
    pub latency: HourLatency,
}

/// The hour's bill of a pool of `max_workers` serverless workers with `work` GPU-s arriving
/// in `requests` images: workers billed from start to stop, idle tails and cold starts
/// included (src/serverless.rs), read from the path's bill table when it keeps one. A worker
/// is one GPU serving one request at a time.
#[inline(always)]
pub(crate) fn serverless_bill(
    max_workers: u32,
    billing: &ServerlessBilling,
    state: &mut FleetState,
    work: f64,
    requests: f64,
) -> crate::serverless::HourBill {
    if !(requests > 0.0 && work > 0.0) {
        return crate::serverless::HourBill::default();
    }
    let pool = crate::serverless::Pool {
        max_workers,
        idle_timeout_s: billing.idle_timeout_seconds,
        cold_start_s: billing.cold_start_seconds,
        increment_s: billing.increment_seconds,
    };
    let (rate, service) = (requests / 3600.0, work / requests);
    match state.bills.as_deref_mut() {
        Some(table) => table.bill(&pool, rate, service),
        None => crate::serverless::bill_hour(&pool, rate, service),
    }
}

impl Fleet {
    /// GPUs an always-on fleet has.
    pub fn fixed_gpus(&self) -> Option<u32> {
        match self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => Some(gpus),
            _ => None,
        }
    }

    /// The owned hardware's items, for owned fleets.
    pub fn owned(&self) -> Option<&OwnedItems> {
        match &self.kind {
            FleetKind::Owned { owned, .. } => Some(owned),
            _ => None,
        }
    }

    /// True when the fleet can send work to an API.
    pub fn overflows(&self) -> bool {
        self.max_queue_seconds.is_finite()
    }

    /// The state a path starts in: an autoscaler at its minimum, nothing queued.
    pub fn initial_state(&self) -> FleetState {
        FleetState {
            active: match &self.kind {
                FleetKind::Autoscaled { scaler, .. } => scaler.min,
                _ => 0,
            },
            ..Default::default()
        }
    }

    /// Capacity [GPU-s] and GPUs billed in an hour in which the fleet is at rest (always-on
    /// GPUs, or an autoscaler at its minimum); (0, 0) for serverless workers.
    pub fn resting_hour(&self) -> (f64, f64) {
        let gpus = match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => *gpus,
            FleetKind::Autoscaled { scaler, .. } => scaler.min,
            FleetKind::Serverless { .. } => 0,
        } as f64;
        (gpus * self.usable_seconds_per_gpu_hour, gpus)
    }

    /// Capacity [GPU-s] of each of its hours for a fleet whose size does not move from hour
    /// to hour: its always-on GPUs, or a serverless pool's ceiling of workers (as
    /// [`Fleet::open_hour`] opens them); None for an autoscaler.
    pub fn steady_capacity(&self) -> Option<f64> {
        match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                Some(*gpus as f64 * self.usable_seconds_per_gpu_hour)
            }
            FleetKind::Serverless { max_workers, .. } => Some(*max_workers as f64 * 3600.0),
            FleetKind::Autoscaled { .. } => None,
        }
    }

    /// Capacity [GPU-s per hour] of a fleet that carries nothing from one hour to the next (an
    /// always-on fleet that overflows at once): its hours can be stepped in any order, each by
    /// [`overflow_at_once`].
    pub fn stateless_capacity(&self) -> Option<f64> {
        match self.fixed_gpus() {
            Some(gpus) if self.max_queue_seconds == 0.0 => {
                Some(gpus as f64 * self.usable_seconds_per_gpu_hour)
            }
            _ => None,
        }
    }

    /// Work an hour may bring while the fleet, at rest, stays linear in its demand (no
    /// saturation, no rescaling); `None` when no hour is ever linear.
    pub fn resting_threshold(&self) -> Option<f64> {
        match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                Some(*gpus as f64 * self.usable_seconds_per_gpu_hour)
            }
            FleetKind::Autoscaled { scaler, .. } if scaler.min > 0 => Some(
                scaler.min as f64 * self.usable_seconds_per_gpu_hour * scaler.target_utilisation,
            ),
            _ => None,
        }
    }

    /// Work above which an hour stops being linear in its demand, when the fleet is at rest
    /// (no backlog, autoscaler at its minimum); `None` when this hour cannot be linear.
    pub fn linear_threshold(&self, state: &FleetState) -> Option<f64> {
        if state.backlog > 0.0 {
            return None;
        }
        if let FleetKind::Autoscaled { scaler, .. } = &self.kind {
            if state.active != scaler.min || state.recent.iter().any(|&r| r > scaler.min) {
                return None;
            }
        }
        self.resting_threshold()
    }

    /// True when the fleet serves its hours as a queue.
    pub fn queued(&self) -> bool {
        self.queue.is_some()
    }

    /// Servers the queue has with `gpus` GPUs running.
    pub fn servers(&self, gpus: u32) -> u32 {
        // Truncation is the floor of a count that is not negative (and not a libm call).
        (gpus as f64 * self.shape.servers_per_gpu()) as u32
    }

    /// Capacity [GPU-s] of the hour and the GPUs (or workers) running in it; bills the hour
    /// into `out` and moves an autoscaler or a worker pool to its size for the hour.
    #[inline(always)]
    pub(crate) fn open_hour(
        &self,
        state: &mut FleetState,
        work: f64,
        requests: f64,
        out: &mut HourOutcome,
    ) -> (f64, u32) {
        let per_gpu = self.usable_seconds_per_gpu_hour;
        let start_backlog = state.backlog;
        match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                out.billed_gpu_hours = *gpus as f64;
                (*gpus as f64 * per_gpu, *gpus)
            }
            FleetKind::Autoscaled { scaler, .. } => {
                let want = self.wanted_gpus(scaler, start_backlog + work);
                let keep = scaler.min_billed_hours as usize;
                // A started GPU stays (and is billed) for its minimum billed time.
                let active = if keep == 1 {
                    // Billed by the hour: this hour's size, and the history is this hour alone
                    // (as pushing and draining leave it, without moving the vector's contents).
                    state.recent.clear();
                    state.recent.push(want);
                    want
                } else {
                    state.recent.push(want);
                    if state.recent.len() > keep {
                        let drop = state.recent.len() - keep;
                        state.recent.drain(..drop);
                    }
                    state.recent.iter().copied().max().unwrap_or(scaler.min)
                };
                let capacity = self.scaled_capacity(scaler, state.active, active);
                state.active = active;
                out.billed_gpu_hours = active as f64;
                (capacity, active)
            }
            FleetKind::Serverless {
                max_workers,
                billing,
            } => {
                let bill = serverless_bill(*max_workers, billing, state, work, requests);
                out.cold_share = bill.cold_share;
                // `close_hour` adds the work done; here what is billed beyond it.
                out.billed_gpu_seconds = (bill.billed_s - bill.busy_s).max(0.0);
                state.active = (bill.billed_s / 3600.0).ceil() as u32;
                (*max_workers as f64 * 3600.0, *max_workers)
            }
        }
    }

    /// How many of a month's hours, all with work in `lo..=hi` [GPU-s] and nothing waiting,
    /// an autoscaler must open ([`Fleet::open_hour`]) one by one before every later hour opens
    /// as the last did (the same capacity, size and GPU-hours, the state unchanged): when it
    /// asks for the GPUs it runs at both ends (so at every work between: the size asked for is
    /// monotone in the work), its minimum billed hours (its history of recent sizes then holds
    /// only that size). None otherwise, and for other fleets (an always-on fleet's opening
    /// reads nothing).
    pub(crate) fn opened_alike_after(&self, state: &FleetState, lo: f64, hi: f64) -> Option<usize> {
        let FleetKind::Autoscaled { scaler, .. } = &self.kind else {
            return None;
        };
        let n = state.active;
        (state.backlog == 0.0
            && self.wanted_gpus(scaler, lo) == n
            && self.wanted_gpus(scaler, hi) == n)
            .then_some((scaler.min_billed_hours as usize).max(1))
    }

    /// An autoscaler's minimum billed hours (None for other fleets).
    pub(crate) fn min_billed_hours(&self) -> Option<u32> {
        match &self.kind {
            FleetKind::Autoscaled { scaler, .. } => Some(scaler.min_billed_hours),
            _ => None,
        }
    }

    /// Capacity [GPU-s] of an autoscaler's hour at `active` GPUs after an hour at `before`:
    /// the GPUs it starts serve after its scale-up delay.
    #[inline(always)]
    fn scaled_capacity(&self, scaler: &Autoscaler, before: u32, active: u32) -> f64 {
        let per_gpu = self.usable_seconds_per_gpu_hour;
        let started = active.saturating_sub(before) as f64;
        let delay = scaler.scale_up_delay_minutes * 60.0;
        (active as f64 - started) * per_gpu + started * (per_gpu - delay).max(0.0)
    }

    /// For an autoscaler billed by the hour (a minimum of one billed hour: its size is the
    /// hour's own ask, [`Fleet::open_hour`]), the GPUs an hour with `work` [GPU-s] and nothing
    /// waiting runs; None for other fleets.
    #[inline(always)]
    pub(crate) fn hourly_size(&self, work: f64) -> Option<u32> {
        match &self.kind {
            FleetKind::Autoscaled { scaler, .. } if scaler.min_billed_hours == 1 => {
                Some(self.wanted_gpus(scaler, work))
            }
            _ => None,
        }
    }

    /// Capacity [GPU-s] of an hour at `active` GPUs after an hour at `before`, as
    /// [`Fleet::open_hour`] opens an autoscaler's (always-on GPUs start none).
    #[inline(always)]
    pub(crate) fn capacity_after(&self, before: u32, active: u32) -> f64 {
        match &self.kind {
            FleetKind::Autoscaled { scaler, .. } => self.scaled_capacity(scaler, before, active),
            _ => active as f64 * self.usable_seconds_per_gpu_hour,
        }
    }

    /// True for an autoscaler.
    pub fn autoscaled(&self) -> bool {
        matches!(self.kind, FleetKind::Autoscaled { .. })
    }

    /// GPUs an autoscaler asks for with `work` [GPU-s] to do in the hour: enough for its
    /// target utilisation, in whole replicas, within its bounds.
    #[inline(always)]
    fn wanted_gpus(&self, scaler: &Autoscaler, work: f64) -> u32 {
        let want = crate::stats::ceil_count(
            work / (self.usable_seconds_per_gpu_hour * scaler.target_utilisation),
        );
        // GPUs come in whole replicas.
        let g = self.shape.gpus_per_replica.max(1);
        let want = want.max(0.0) as u32;
        // (An integer division an hour otherwise, for one GPU a replica.)
        let want = if g == 1 {
            want
        } else {
            want.div_ceil(g).saturating_mul(g)
        };
        want.clamp(scaler.min, scaler.max)
    }

    /// When an hour whose work [GPU-s] lies in `lo..=hi` is linear in its work from `state`
    /// by the fluid rule: nothing waiting before or after, nothing overflowed, no wait, and
    /// the same size (so the same next state) for any work in the range. Then its capacity
    /// [GPU-s] and GPU-hours billed; [`Fleet::rest_hour`] moves the state as such an hour
    /// does. An always-on fleet is linear up to its capacity; an autoscaler, at any size, while
    /// the work keeps it at that size and within what it has running (so a fleet that started
    /// from zero GPUs is linear once it runs). `None` for serverless workers.
    #[inline]
    pub fn linear_hour(&self, state: &FleetState, lo: f64, hi: f64) -> Option<(f64, f64)> {
        if state.backlog > 0.0 {
            return None;
        }
        let per_gpu = self.usable_seconds_per_gpu_hour;
        let (capacity, billed) = match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                (*gpus as f64 * per_gpu, *gpus as f64)
            }
            FleetKind::Autoscaled { scaler, .. } => {
                let want = self.wanted_gpus(scaler, hi);
                if self.wanted_gpus(scaler, lo) != want {
                    return None;
                }
                // As `open_hour` moves it: the GPUs still within their minimum billed time
                // stay.
                let keep = scaler.min_billed_hours as usize;
                let kept = if keep <= 1 {
                    0
                } else {
                    let r = &state.recent;
                    r[r.len().saturating_sub(keep - 1)..]
                        .iter()
                        .copied()
                        .max()
                        .unwrap_or(0)
                };
                let active = want.max(kept);
                let started = active.saturating_sub(state.active) as f64;
                let delay = scaler.scale_up_delay_minutes * 60.0;
                (
                    (active as f64 - started) * per_gpu + started * (per_gpu - delay).max(0.0),
                    active as f64,
                )
            }
            FleetKind::Serverless { .. } => return None,
        };
        (hi <= capacity).then_some((capacity, billed))
    }

    /// The work [GPU-s] an hour may bring, from `state`, and leave the fleet exactly as it
    /// is, linear in its work (nothing waits or overflows): `lo < work <= hi`, with the
    /// hour's capacity [GPU-s] and GPU-hours billed. An always-on fleet with nothing waiting
    /// holds up to its capacity; an autoscaler running `n` GPUs while the work asks for `n`
    /// (so a replica's worth below `n` is its lower edge, unless `n` is its minimum). `None`
    /// when no hour holds (a backlog, serverless workers). Such an hour still moves an
    /// autoscaler's recent sizes ([`Fleet::rest_hour`]).
    pub fn hold_band(&self, state: &FleetState) -> Option<(f64, f64, f64, f64)> {
        if state.backlog > 0.0 {
            return None;
        }
        let per_gpu = self.usable_seconds_per_gpu_hour;
        match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                let capacity = *gpus as f64 * per_gpu;
                Some((f64::NEG_INFINITY, capacity, capacity, *gpus as f64))
            }
            FleetKind::Autoscaled { scaler, .. } => {
                let n = state.active;
                let step = per_gpu * scaler.target_utilisation;
                let g = self.shape.gpus_per_replica.max(1);
                // The size asked for is a whole number of replicas of ⌈work / step⌉ GPUs,
                // within the bounds: n exactly when ⌈work / step⌉ is over the replica below n
                // (n above its minimum) and at most the whole replicas within n (n under its
                // maximum).
                let lo = if n > scaler.min {
                    (n.div_ceil(g) - 1) as f64 * g as f64 * step
                } else {
                    f64::NEG_INFINITY
                };
                let capacity = n as f64 * per_gpu;
                let hi = if n < scaler.max {
                    (n / g * g) as f64 * step
                } else {
                    capacity
                };
                (lo < hi).then_some((lo, hi, capacity, n as f64))
            }
            FleetKind::Serverless { .. } => None,
        }
    }

    /// Move `state` through an hour [`Fleet::linear_hour`] found linear, with `work` in its
    /// range.
    #[inline]
    pub fn rest_hour(&self, state: &mut FleetState, work: f64) {
        if let FleetKind::Autoscaled { .. } = self.kind {
            self.open_hour(state, work, 0.0, &mut HourOutcome::default());
        }
    }

    /// Close the hour: serverless pays for worker time, not for the cap, so its capacity is
    /// what it was billed.
    #[inline]
    fn close_hour(&self, out: &mut HourOutcome, capacity: f64) {
        out.capacity_seconds = if let FleetKind::Serverless { .. } = self.kind {
            out.billed_gpu_seconds += out.busy_seconds;
            out.billed_gpu_seconds
        } else {
            capacity
        };
    }

    /// Step the fleet through one hour with `work` GPU-seconds arriving in `requests` images,
    /// by the fluid rule.
    pub fn step(&self, state: &mut FleetState, work: f64, requests: f64) -> HourOutcome {
        let mut out = HourOutcome::default();
        self.step_into(state, work, requests, &mut out);
        out
    }

    /// [`Fleet::step`] into `out` (the engine reuses one: building the outcome in place
    /// avoids copying it out of every hour).
    pub fn step_into(
        &self,
        state: &mut FleetState,
        work: f64,
        requests: f64,
        out: &mut HourOutcome,
    ) {
        *out = HourOutcome::default();
        let start_backlog = state.backlog;
        let (capacity, _) = self.open_hour(state, work, requests, out);
        let mut excess = start_backlog + work - capacity;
        if excess > 0.0 && self.overflows() {
            // Hybrid: keep up to max_queue_seconds of waiting work, send the rest away.
            let cap = self.max_queue_seconds * capacity / 3600.0;
            let over = (excess - cap).max(0.0).min(work);
            out.overflow_share = if work > 0.0 { over / work } else { 0.0 };
            excess -= over;
        }
        state.backlog = excess.max(0.0);
        out.busy_seconds =
            (start_backlog + work * (1.0 - out.overflow_share) - state.backlog).max(0.0);
        self.close_hour(out, capacity);
        // Fluid FIFO: an image of this hour waits for the backlog ahead of it (most hours
        // have none, and skip the divisions).
        let queued = start_backlog + state.backlog;
        if capacity > 0.0 {
            if queued > 0.0 {
                out.wait_seconds = queued / 2.0 / (capacity / 3600.0);
            }
        } else if work > 0.0 {
            out.wait_seconds = f64::INFINITY;
        }
        out.latency.fixed_share = 1.0;
        out.latency.fixed_wait = out.wait_seconds;
    }

    /// Step the fleet through one hour as a queue (see the module doc); `tables` are the
    /// path's. A fleet without a queue steps by the fluid rule.
    pub fn step_queue(
        &self,
        state: &mut FleetState,
        work: f64,
        requests: f64,
        tables: &mut PathTables,
    ) -> HourOutcome {
        let mut out = HourOutcome::default();
        self.step_queue_into(state, work, requests, tables, &mut out);
        out
    }

    /// [`Fleet::step_queue`] into `out`.
    #[inline]
    pub fn step_queue_into(
        &self,
        state: &mut FleetState,
        work: f64,
        requests: f64,
        tables: &mut PathTables,
        out: &mut HourOutcome,
    ) {
        let Some(q) = &self.queue else {
            return self.step_into(state, work, requests, out);
        };
        *out = HourOutcome::default();
        let start_backlog = state.backlog;
        let (capacity, running) = self.open_hour(state, work, requests, out);
        let servers = self.servers(running);
        match q.policy {
            Policy::NeverOverflow if start_backlog + work > capacity => {
                // Over capacity: the fluid backlog.
                state.backlog = start_backlog + work - capacity;
                out.busy_seconds = (start_backlog + work - state.backlog).max(0.0);
                out.wait_seconds = if capacity > 0.0 {
                    (start_backlog + state.backlog) / 2.0 / (capacity / 3600.0)
                } else {
                    f64::INFINITY
                };
                out.latency.fixed_share = 1.0;
                out.latency.fixed_wait = out.wait_seconds;
            }
            Policy::NeverOverflow => {
                state.backlog = 0.0;
                out.busy_seconds = start_backlog + work;
                if start_backlog > 0.0 {
                    // The backlog drains at the capacity left after the hour's own work; the
                    // requests that arrive meanwhile wait the fluid FIFO wait.
                    let drain = start_backlog / ((capacity - work) / 3600.0);
                    out.latency.fixed_share = (drain / 3600.0).clamp(0.0, 1.0);
                    out.latency.fixed_wait = start_backlog / 2.0 / (capacity / 3600.0);
                }
                let mut queue_wait = 0.0;
                if work > 0.0 && servers > 0 {
                    let scale = tables.never_wait_scale;
                    let t = tables.table(q, servers);
                    let (_, wait, place) = t.locate_lean_at(work / capacity);
                    // The table is step 0's (QueueCache::table): waits on the path's clock.
                    queue_wait = wait * scale;
                    out.latency.rows = place.map(|p| (servers, p));
                }
                let f = out.latency.fixed_share;
                out.wait_seconds = f * out.latency.fixed_wait + (1.0 - f) * queue_wait;
            }
            Policy::OverflowAtOnce | Policy::OverflowAfter { .. } => {
                state.backlog = 0.0;
                if work > 0.0 {
                    if capacity <= 0.0 || servers == 0 {
                        out.overflow_share = 1.0;
                    } else if q.policy == Policy::OverflowAtOnce {
                        // Erlang B does not depend on the service law: no table.
                        out.overflow_share = erlang_b(servers, work / capacity * servers as f64);
                    } else {
                        let t = tables.table(q, servers);
                        let (overflow, wait, place) = t.locate_lean_at(work / capacity);
                        out.overflow_share = overflow;
                        out.wait_seconds = wait;
                        out.latency.rows = place.map(|p| (servers, p));
                    }
                }
                if work > capacity {
                    // No fleet serves more than its capacity; the threshold model's accepted
                    // load above saturation is within 10⁻³ of it, and never over it here.
                    out.overflow_share = out.overflow_share.max(1.0 - capacity.max(0.0) / work);
                }
                out.busy_seconds = (work * (1.0 - out.overflow_share)).min(capacity.max(0.0));
            }
        }
        self.close_hour(out, capacity);
    }

    /// Extra wait of an image that found no warm worker [s] (0 unless serverless).
    pub fn cold_start_seconds(&self) -> f64 {
        match &self.kind {
            FleetKind::Serverless { billing, .. } => billing.cold_start_seconds,
            _ => 0.0,
        }
    }
}

/// An hour of `work` [GPU-s] on a stateless fleet of `capacity` [GPU-s]: the fleet does what
/// fits and the hour's images above it overflow in proportion. Returns (busy seconds, overflow
/// share); [`Fleet::step`] gives the same for such a fleet.
pub fn overflow_at_once(work: f64, capacity: f64) -> (f64, f64) {
    if work > capacity {
        (capacity, 1.0 - capacity / work)
    } else {
        (work, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixed(gpus: u32, per_gpu: f64) -> Fleet {
        Fleet {
            kind: FleetKind::Rented {
                gpus,
                gpu_hours_item: 0,
            },
            stream_seconds: vec![1.0],
            fleet_streams: vec![StreamId(0)],
            overflow_item: vec![None],
            max_queue_seconds: 0.0,
            usable_seconds_per_gpu_hour: per_gpu,
            ops_item: 0,
            ops_hours: InputId(0),
            licence_fee_item: 0,
            licence_overage: None,
            speed_factor: InputId(0),
            gpu_price_factor: InputId(0),
            power_watts: 0.0,
            serving: Serving::Fluid,
            shape: ServingShape::default(),
            queue: None,
        }
    }

    /// A fixed fleet of `gpus` H100s serving 0.57 s images as a queue under `policy`.
    fn queued(gpus: u32, policy: Policy) -> Fleet {
        let mut f = fixed(gpus, 3600.0);
        f.stream_seconds = vec![0.57];
        f.serving = Serving::Queue;
        f.max_queue_seconds = policy.max_wait_seconds();
        f.queue = Some(FleetQueue::new(
            ServiceMix::deterministic(0.57).unwrap(),
            policy,
            Arc::new(QueueCache::default()),
        ));
        f
    }

    /// An autoscaled fleet of 3,600 s GPUs (replicas of `per_replica`) that overflows after
    /// 60 s of queue.
    fn autoscaled(min: u32, max: u32, keep: u32, delay_minutes: f64, per_replica: u32) -> Fleet {
        let mut f = fixed(0, 3600.0);
        f.kind = FleetKind::Autoscaled {
            scaler: Autoscaler {
                min,
                max,
                target_utilisation: 0.7,
                scale_up_delay_minutes: delay_minutes,
                min_billed_hours: keep,
            },
            gpu_hours_item: 0,
        };
        f.max_queue_seconds = 60.0;
        f.shape.gpus_per_replica = per_replica;
        f
    }

    /// Whenever `linear_hour` calls an hour linear, every work in its range steps as it says:
    /// nothing waits or overflows, capacity and GPU-hours as given, busy time the work itself,
    /// and the fleet left as `rest_hour` leaves it; over random fleets, histories and ranges,
    /// most of them away from rest, and enough of them called linear to mean something.
    #[test]
    fn a_linear_hour_steps_as_the_fleet_would() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let (mut linear, mut away) = (0, 0);
        for case in 0..20_000 {
            let f = match case % 4 {
                0 => fixed(rng.random_range(1..4), 3600.0),
                1 => autoscaled(0, 6, 1, 5.0, 1),
                2 => autoscaled(1, 8, rng.random_range(1..5), 10.0, 1),
                _ => autoscaled(0, 8, rng.random_range(1..4), 3.0, 2),
            };
            // A history an autoscaler could have: a few hours of random work.
            let mut state = f.initial_state();
            for _ in 0..rng.random_range(0..6) {
                let w = rng.random_range(0.0..20_000.0);
                f.step(&mut state, w, w);
            }
            if state.backlog > 0.0 {
                assert!(
                    f.linear_hour(&state, 0.0, 1.0).is_none(),
                    "a backlog is not linear"
                );
                continue;
            }
            let mid: f64 = rng.random_range(0.0..20_000.0);
            let half = mid * rng.random_range(0.0..0.3);
            let (lo, hi) = (mid - half, mid + half);
            let Some((capacity, billed)) = f.linear_hour(&state, lo, hi) else {
                continue;
            };
            linear += 1;
            away += usize::from(state.active > 0 && f.fixed_gpus().is_none());
            let mut rested = state.clone();
            f.rest_hour(&mut rested, mid);
            for work in [lo.max(0.0), mid, hi, rng.random_range(lo..=hi).max(0.0)] {
                let mut s = state.clone();
                let out = f.step(&mut s, work, work);
                assert_eq!(
                    out.overflow_share, 0.0,
                    "case {case}: work {work} overflowed"
                );
                assert_eq!(s.backlog, 0.0, "case {case}: work {work} left a backlog");
                assert_eq!(out.wait_seconds, 0.0, "case {case}: work {work} waited");
                assert_eq!(out.capacity_seconds, capacity, "case {case}: work {work}");
                assert_eq!(out.billed_gpu_hours, billed, "case {case}: work {work}");
                assert!((out.busy_seconds - work).abs() <= 1e-9 * work.max(1.0));
                assert_eq!((s.active, &s.recent), (rested.active, &rested.recent));
            }
        }
        assert!(
            linear > 3_000 && away > 1_000,
            "linear {linear}, away from rest {away}"
        );
        // The band that holds a fleet where it is: every work inside steps linearly and leaves
        // the size as it was; just outside a finite edge the size or the overflow changes.
        let mut held = 0;
        for case in 0..20_000 {
            let f = match case % 4 {
                0 => fixed(rng.random_range(1..4), 3600.0),
                1 => autoscaled(0, 6, 1, 5.0, 1),
                2 => autoscaled(1, 8, rng.random_range(1..5), 10.0, 1),
                _ => autoscaled(rng.random_range(0..3), 7, rng.random_range(1..4), 3.0, 2),
            };
            let mut state = f.initial_state();
            for _ in 0..rng.random_range(0..6) {
                let w = rng.random_range(0.0..20_000.0);
                f.step(&mut state, w, w);
            }
            let Some((lo, hi, capacity, billed)) = f.hold_band(&state) else {
                assert!(
                    state.backlog > 0.0,
                    "case {case}: only a backlog holds nowhere"
                );
                continue;
            };
            held += 1;
            // Where a hold leaves it (an autoscaler's recent sizes move on by one).
            let mut rested = state.clone();
            f.rest_hour(&mut rested, hi);
            let inside = [
                hi,
                if lo.is_finite() {
                    lo + 1e-6 * lo.abs().max(1.0)
                } else {
                    0.0
                },
                rng.random_range(lo.max(0.0)..=hi),
            ];
            for work in inside {
                if work <= lo || work < 0.0 {
                    continue;
                }
                let mut s = state.clone();
                let out = f.step(&mut s, work, work);
                assert_eq!(
                    out.overflow_share, 0.0,
                    "case {case}: {work} in ({lo}, {hi}]"
                );
                assert_eq!((s.backlog, out.wait_seconds), (0.0, 0.0), "case {case}");
                assert_eq!(
                    (out.capacity_seconds, out.billed_gpu_hours),
                    (capacity, billed)
                );
                assert_eq!(
                    s.active, state.active,
                    "case {case}: {work} in ({lo}, {hi}]"
                );
                assert_eq!(s.recent, rested.recent, "case {case}");
                // As linear_hour has it.
                assert_eq!(f.linear_hour(&state, work, work), Some((capacity, billed)));
            }
            for work in [hi * (1.0 + 1e-9) + 1e-9, lo - 1e-6 * lo.abs().max(1.0)] {
                if !work.is_finite() || work < 0.0 {
                    continue;
                }
                let mut s = state.clone();
                let out = f.step(&mut s, work, work);
                assert!(
                    out.overflow_share > 0.0
                        || s.backlog > 0.0
                        || (s.active, &s.recent) != (rested.active, &rested.recent),
                    "case {case}: {work} outside ({lo}, {hi}] held the fleet"
                );
            }
        }
        assert!(held > 10_000, "held {held}");
        // Serverless workers are never linear.
        let mut f = fixed(1, 3600.0);
        f.kind = FleetKind::Serverless {
            max_workers: 2,
            billing: ServerlessBilling {
                gpu_seconds_item: 0,
                cold_start_seconds: 10.0,
                idle_timeout_seconds: 5.0,
                increment_seconds: 1.0,
            },
        };
        assert!(f.linear_hour(&FleetState::default(), 0.0, 1.0).is_none());
    }

    #[test]
    fn a_queue_hour_overflows_and_waits_below_capacity() {
        let mut tables = PathTables::new(1.0);
        // One GPU at 21.7%, overflow at once: Erlang B = a / (1 + a).
        let f = queued(1, Policy::OverflowAtOnce);
        let work = 0.2169 * 3600.0;
        let out = f.step_queue(&mut FleetState::default(), work, work / 0.57, &mut tables);
        assert!((out.overflow_share - 0.2169 / 1.2169).abs() < 1e-12);
        assert_eq!(out.latency.rows, None, "served images do not wait");
        assert!((out.busy_seconds - work * (1.0 - out.overflow_share)).abs() < 1e-9);
        // Never overflowing at 80%: M/D/1, mean wait ρD / (2(1 − ρ)) = 0.57 × 2 s.
        let f = queued(1, Policy::NeverOverflow);
        let mut state = FleetState::default();
        let out = f.step_queue(&mut state, 0.8 * 3600.0, 0.8 * 3600.0 / 0.57, &mut tables);
        assert_eq!(out.overflow_share, 0.0);
        assert!((out.wait_seconds / (0.8 * 0.57 / 0.4) - 1.0).abs() < 0.02);
        assert!(out.latency.rows.is_some() && state.backlog == 0.0);
    }

    #[test]
    fn a_queue_over_capacity_carries_the_fluid_backlog_and_drains_it() {
        let mut tables = PathTables::new(1.0);
        let f = queued(1, Policy::NeverOverflow);
        let mut state = FleetState::default();
        // 20% over: 720 s of work left, every image waits the fluid wait.
        let out = f.step_queue(&mut state, 4320.0, 4320.0 / 0.57, &mut tables);
        assert!((state.backlog - 720.0).abs() < 1e-9);
        assert_eq!(out.latency.fixed_share, 1.0);
        assert!((out.wait_seconds - 360.0).abs() < 1e-9);
        // Next hour at 50%: the backlog drains at the 1,800 s spare in 1,440 s, while 40% of
        // the hour's images arrive and wait half of it on average.
        let out = f.step_queue(&mut state, 1800.0, 1800.0 / 0.57, &mut tables);
        assert_eq!(state.backlog, 0.0);
        assert!((out.latency.fixed_share - 0.4).abs() < 1e-12);
        assert!((out.latency.fixed_wait - 360.0).abs() < 1e-9);
        assert!((out.busy_seconds - 2520.0).abs() < 1e-9);
    }

    #[test]
    fn a_threshold_fleet_is_stable_at_any_load() {
        let mut tables = PathTables::new(1.0);
        let f = queued(
            2,
            Policy::OverflowAfter {
                max_wait_seconds: 10.0,
            },
        );
        for rho in [0.3, 0.95, 1.5, 4.0] {
            let mut state = FleetState::default();
            let work = rho * 7200.0;
            let out = f.step_queue(&mut state, work, work / 0.57, &mut tables);
            assert_eq!(state.backlog, 0.0, "nothing carried");
            assert!(out.busy_seconds <= 7200.0 + 1e-9);
            if rho > 1.0 {
                // At least the excess overflows, and little more.
                let excess = 1.0 - 1.0 / rho;
                assert!(
                    out.overflow_share >= excess - 1e-12,
                    "{rho}: {}",
                    out.overflow_share
                );
                assert!(
                    out.overflow_share < excess + 0.05,
                    "{rho}: {}",
                    out.overflow_share
                );
            }
            assert!(out.wait_seconds <= 10.0);
        }
    }

    proptest! {
        /// The shortcut for stateless fleets is the general step, hour for hour.
        #[test]
        fn overflow_at_once_is_the_general_step(
            gpus in 1u32..16,
            per_gpu in 100.0f64..3600.0,
            work in 0.0f64..200_000.0,
            requests in 0.0f64..100_000.0,
        ) {
            let f = fixed(gpus, per_gpu);
            let cap = f.stateless_capacity().unwrap();
            let mut state = FleetState::default();
            let out = f.step(&mut state, work, requests);
            let (busy, share) = overflow_at_once(work, cap);
            prop_assert!((out.busy_seconds - busy).abs() <= 1e-9 * cap);
            prop_assert!((out.overflow_share - share).abs() <= 1e-12);
            prop_assert_eq!(out.capacity_seconds, cap);
            prop_assert_eq!(out.billed_gpu_hours, gpus as f64);
            prop_assert_eq!(out.wait_seconds, 0.0);
            prop_assert_eq!(state.backlog, 0.0);
        }
    }
}
