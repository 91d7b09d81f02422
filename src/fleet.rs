//! A self-hosted fleet and how it gets through an hour.
//!
//! The fleet is a fluid model inside each hour: the hour's work is `D` GPU-seconds, its
//! capacity `C` GPU-seconds, and work beyond capacity either waits (a backlog carried to the
//! next hour, served first-in first-out) or overflows to an API. It ignores queueing inside
//! an hour below saturation (an M/D/c queue at 80% load waits a fraction of a service time),
//! so delays are those of sustained overload, not of chance clustering. Autoscaling reacts
//! within the hour it sees demand, after its scale-up delay; a serverless worker pool pays a
//! cold start whenever a request finds no warm worker, with gaps between requests taken as
//! exponential.

use crate::ids::{InputId, StreamId};
use crate::money::Usd;
use serde::Serialize;

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

    /// Step the fleet through one hour with `work` GPU-seconds arriving in `requests` images.
    pub fn step(&self, state: &mut FleetState, work: f64, requests: f64) -> HourOutcome {
        let mut out = HourOutcome::default();
        let per_gpu = self.usable_seconds_per_gpu_hour;
        let start_backlog = state.backlog;
        let capacity = match &self.kind {
            FleetKind::Rented { gpus, .. } | FleetKind::Owned { gpus, .. } => {
                out.billed_gpu_hours = *gpus as f64;
                *gpus as f64 * per_gpu
            }
            FleetKind::Autoscaled { scaler, .. } => {
                let want = ((start_backlog + work) / (per_gpu * scaler.target_utilisation)).ceil();
                let want = (want.max(0.0) as u32).clamp(scaler.min, scaler.max);
                state.recent.push(want);
                let keep = scaler.min_billed_hours as usize;
                if state.recent.len() > keep {
                    let drop = state.recent.len() - keep;
                    state.recent.drain(..drop);
                }
                // A started GPU stays (and is billed) for its minimum billed time.
                let active = state.recent.iter().copied().max().unwrap_or(scaler.min);
                let started = active.saturating_sub(state.active) as f64;
                let delay = scaler.scale_up_delay_minutes * 60.0;
                state.active = active;
                out.billed_gpu_hours = active as f64;
                (active as f64 - started) * per_gpu + started * (per_gpu - delay).max(0.0)
            }
            FleetKind::Serverless {
                max_workers,
                billing,
            } => {
                // A request starts a worker when the gap since the previous one exceeds the
                // idle timeout: with exponential gaps, a share exp(−rate × timeout).
                let rate = requests / 3600.0;
                let cold_share = if requests > 0.0 {
                    (-rate * billing.idle_timeout_seconds).exp()
                } else {
                    0.0
                };
                let workers = ((start_backlog + work) / 3600.0)
                    .ceil()
                    .clamp(0.0, *max_workers as f64) as u32;
                let scale_ups = workers.saturating_sub(state.active.max(1)) as f64;
                state.active = workers;
                let starts = requests * cold_share + scale_ups;
                out.cold_share = cold_share;
                out.billed_gpu_seconds = starts
                    * (billing.cold_start_seconds
                        + billing.idle_timeout_seconds
                        + billing.increment_seconds / 2.0);
                *max_workers as f64 * 3600.0
            }
        };
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
        // Serverless pays for worker time, not for the cap: utilisation is busy over billed.
        out.capacity_seconds = if let FleetKind::Serverless { .. } = self.kind {
            out.billed_gpu_seconds += out.busy_seconds;
            out.billed_gpu_seconds
        } else {
            capacity
        };
        // Fluid FIFO: an image of this hour waits for the backlog ahead of it.
        if capacity > 0.0 {
            out.wait_seconds = (start_backlog + state.backlog) / 2.0 / (capacity / 3600.0);
        } else if work > 0.0 {
            out.wait_seconds = f64::INFINITY;
        }
        out
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
