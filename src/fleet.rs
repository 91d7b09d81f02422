//! Options compiled for simulation: which API or fleet serves each stream of images, what
//! each priced item costs, and how a self-hosted fleet gets through an hour.
//!
//! The fleet is a fluid model inside each hour: the hour's work is `D` GPU-seconds, its
//! capacity `C` GPU-seconds, and work beyond capacity either waits (a backlog carried to the
//! next hour, served first-in first-out) or overflows to an API. It ignores queueing inside
//! an hour below saturation (an M/D/c queue at 80% load waits a fraction of a service time),
//! so delays are those of sustained overload, not of chance clustering. Autoscaling reacts
//! within the hour it sees demand, after its scale-up delay; a serverless worker pool pays a
//! cold start whenever a request finds no warm worker, with gaps between requests taken as
//! exponential.

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::money::Usd;
use crate::pricing::{unit_price, Size};
use crate::scenario::{FleetPolicy, OptionKind, Payment, Scenario};
use rust_decimal::Decimal;
use serde::Serialize;

/// What a priced item is, for cost breakdowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Images generated on an API [images].
    ApiImages,
    /// Images overflowed from a fleet to an API [images].
    OverflowImages,
    /// Rented GPU time [GPU-hours].
    GpuHours,
    /// Serverless GPU time [GPU-seconds].
    GpuSeconds,
    /// Purchase spread over months [GPU-months].
    Amortisation,
    /// Electricity [kWh].
    Power,
    /// Rack space and hosting [GPU-months].
    Hosting,
    /// Operations work [hours].
    Ops,
    /// Licence fee [months].
    LicenceFee,
    /// Licence overage [images].
    LicenceOverage,
}

/// A priced item of an option.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// What it is, for people (`bfl/flux-2-klein-4b 1024x1024`).
    pub label: String,
    /// Price of one unit [USD].
    pub unit_usd: Usd,
    /// Kind.
    pub kind: ItemKind,
}

/// A stream of images: one pipeline stage of one mix bucket.
#[derive(Debug, Clone, Serialize)]
pub struct Stream {
    /// Stage index.
    pub stage: usize,
    /// Bucket index.
    pub bucket: usize,
    /// Images per delivered asset in this stream: the stage's images per asset × bucket share.
    pub per_asset: f64,
    /// Output size.
    pub size: Size,
    /// Label for reports.
    pub label: String,
}

/// An option ready to simulate.
#[derive(Debug, Clone, Serialize)]
pub struct Compiled {
    /// Id from the scenario.
    pub id: String,
    /// Priced items.
    pub items: Vec<Item>,
    /// For each stream, the item billed for it when an API serves it (None: the fleet does).
    pub stream_api_item: Vec<Option<usize>>,
    /// Input index of a multiplier on the API items' quantities (negotiated or moved prices).
    pub api_price_factor: Option<usize>,
    /// The fleet, for self-hosted options.
    pub fleet: Option<Fleet>,
}

/// A self-hosted fleet ready to simulate.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    /// Seconds per image for each stream, before the speed factor (0 for streams an API serves).
    pub stream_seconds: Vec<f64>,
    /// Streams the fleet serves.
    pub fleet_streams: Vec<usize>,
    /// For each stream, the overflow item (hybrid).
    pub overflow_item: Vec<Option<usize>>,
    /// Queue allowed before overflow [GPU-seconds per GPU-second of capacity, i.e. seconds].
    pub max_queue_seconds: f64,
    /// Fleet policy.
    pub policy: FleetPolicy,
    /// Usable seconds per GPU-hour after interruptions.
    pub usable_seconds_per_gpu_hour: f64,
    /// Item of the GPU time (hours or seconds).
    pub gpu_item: Option<usize>,
    /// Serverless billing.
    pub serverless: Option<ServerlessBilling>,
    /// Owned hardware items.
    pub owned: Option<OwnedItems>,
    /// Operations item and its hours input.
    pub ops_item: usize,
    /// Input index of operations hours per month.
    pub ops_hours: usize,
    /// Licence fee item.
    pub licence_fee_item: usize,
    /// Licence overage item and included images (None: unlimited).
    pub licence_overage: Option<(usize, f64)>,
    /// Input index of the speed multiplier.
    pub speed_factor: usize,
    /// Input index of the GPU price multiplier.
    pub gpu_price_factor: usize,
    /// Board power [W].
    pub power_watts: f64,
}

/// Serverless billing rules.
#[derive(Debug, Clone, Serialize)]
pub struct ServerlessBilling {
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
    /// Amortisation item [GPU-months].
    pub amortisation: usize,
    /// Months of amortisation.
    pub amortise_months: u32,
    /// Power item [kWh].
    pub power: usize,
    /// Hosting item [GPU-months].
    pub hosting: usize,
    /// Power usage effectiveness.
    pub pue: f64,
    /// Share of power drawn idle.
    pub idle_power_share: f64,
    /// Purchase of the whole fleet [USD].
    pub purchase_usd: Usd,
}

impl Compiled {
    /// True for a pure API option.
    pub fn is_api(&self) -> bool {
        self.fleet.is_none()
    }
}

/// The streams of a scenario: every stage × bucket with a positive rate.
pub fn streams(s: &Scenario) -> Vec<Stream> {
    let mut out = Vec::new();
    for (si, st) in s.stages.iter().enumerate() {
        for (bi, b) in s.mix.iter().enumerate() {
            let per_asset = st.per_asset * b.share;
            let size = st.size.unwrap_or(b.size);
            let label = if s.stages.len() > 1 {
                format!("{} {}", st.name, b.name)
            } else {
                b.name.clone()
            };
            out.push(Stream {
                stage: si,
                bucket: bi,
                per_asset,
                size,
                label,
            });
        }
    }
    out
}

/// Compile every option of a scenario against the catalogue.
pub fn compile(s: &Scenario, cat: &Catalogue, streams: &[Stream]) -> Result<Vec<Compiled>> {
    // Every option's problems are reported together, as the scenario reader does.
    let mut out = Vec::new();
    let mut problems = crate::error::Problems::default();
    for (i, o) in s.options.iter().enumerate() {
        match compile_option(s, cat, streams, i, o) {
            Ok(c) => out.push(c),
            Err(Error::Input(p)) => problems.0.extend(p.0),
            Err(other) => return Err(other),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Input(problems))
    }
}

fn api_item(
    items: &mut Vec<Item>,
    cat: &Catalogue,
    s: &Scenario,
    api: &str,
    stream: &Stream,
    kind: ItemKind,
    key: &str,
) -> Result<usize> {
    let off = cat.api(api)?;
    let b = &s.mix[stream.bucket];
    let unit =
        unit_price(cat, off, stream.size, &b.inputs, b.steps, s.as_of).map_err(|e| match e {
            Error::Input(p) => {
                let mut q = crate::error::Problems::default();
                for x in p.0 {
                    q.push(
                        key,
                        format!("{api} cannot serve {}: {}", stream.label, x.message),
                    );
                }
                Error::Input(q.in_file(&s.file))
            }
            other => other,
        })?;
    let label = format!("{api} {}", stream.label);
    if let Some(i) = items
        .iter()
        .position(|it| it.label == label && it.kind == kind)
    {
        return Ok(i);
    }
    items.push(Item {
        label,
        unit_usd: unit,
        kind,
    });
    Ok(items.len() - 1)
}

fn compile_option(
    s: &Scenario,
    cat: &Catalogue,
    streams: &[Stream],
    index: usize,
    o: &crate::scenario::OptionSpec,
) -> Result<Compiled> {
    let mut items = Vec::new();
    // Keys as the scenario file has them: the option's place in the list, then the field.
    let key = format!("option[{index}]");
    let field = |f: &str| format!("{key}.{f}");
    let stage_api = |st: &Stream| o.stage_apis.get(&s.stages[st.stage].name).cloned();
    match &o.kind {
        OptionKind::Api { api, price_factor } => {
            let mut stream_api_item = Vec::new();
            for st in streams {
                let (which, from) = match stage_api(st) {
                    Some(a) => (a, field("stages")),
                    None => (api.clone(), field("api")),
                };
                stream_api_item.push(Some(api_item(
                    &mut items,
                    cat,
                    s,
                    &which,
                    st,
                    ItemKind::ApiImages,
                    &from,
                )?));
            }
            Ok(Compiled {
                id: o.id.clone(),
                items,
                stream_api_item,
                api_price_factor: *price_factor,
                fleet: None,
            })
        }
        OptionKind::SelfHost(h) => {
            let profile = cat.profile(&h.profile)?;
            let gpu = cat.gpu(&h.gpu)?;
            let mut stream_api_item = Vec::new();
            let mut stream_seconds = Vec::new();
            let mut fleet_streams = Vec::new();
            let mut overflow_item = Vec::new();
            for (i, st) in streams.iter().enumerate() {
                if let Some(api) = stage_api(st) {
                    stream_api_item.push(Some(api_item(
                        &mut items,
                        cat,
                        s,
                        &api,
                        st,
                        ItemKind::ApiImages,
                        &field("stages"),
                    )?));
                    stream_seconds.push(0.0);
                    overflow_item.push(None);
                    continue;
                }
                stream_api_item.push(None);
                fleet_streams.push(i);
                let b = &s.mix[st.bucket];
                let steps = b.steps.unwrap_or(profile.default_steps);
                // Input images' tokens go through every step with the output's (FLUX.2 and
                // Kontext edit by attending to them), so an edit takes as long as an image of
                // output plus input megapixels.
                let work_mp =
                    |size: Size| size.mp_f64() + b.inputs.iter().map(|i| i.mp_f64()).sum::<f64>();
                let secs = match (&h.bucket_seconds, h.seconds_at_1mp) {
                    (Some(bs), _) => {
                        // Measured per bucket at default steps; steps still scale it, and a
                        // stage at another size scales it by the profile's resolution rule.
                        let step_factor = 1.0 - profile.step_share
                            + profile.step_share * steps as f64 / profile.default_steps as f64;
                        let rule = &profile.resolution_scaling;
                        bs[st.bucket] * step_factor * rule.factor(work_mp(st.size))
                            / rule.factor(work_mp(b.size))
                    }
                    (None, Some(t)) => profile.seconds_from(t, work_mp(st.size), steps),
                    (None, None) => profile
                        .seconds(&gpu.id, work_mp(st.size), steps)
                        .ok_or_else(|| {
                            Error::input(
                                &s.file,
                                &field("gpu"),
                                format!("no speed for {} on {}", profile.id, gpu.id),
                            )
                        })?,
                };
                stream_seconds.push(secs);
                overflow_item.push(match &h.overflow {
                    Some(ov) => Some(api_item(
                        &mut items,
                        cat,
                        s,
                        &ov.api,
                        st,
                        ItemKind::OverflowImages,
                        &field("overflow"),
                    )?),
                    None => None,
                });
            }
            let (gpu_item, serverless, owned, usable) = match &h.payment {
                Payment::Hourly {
                    offer,
                    usd_per_hour,
                    interruptions_per_hour,
                    interruption_lost_seconds,
                    class,
                    ..
                } => {
                    items.push(Item {
                        label: format!("{} {} ({}) GPU-hours", gpu.id, offer, class.name()),
                        unit_usd: *usd_per_hour,
                        kind: ItemKind::GpuHours,
                    });
                    let usable =
                        (3600.0 - interruptions_per_hour * interruption_lost_seconds).max(0.0);
                    (Some(items.len() - 1), None, None, usable)
                }
                Payment::Serverless {
                    offer,
                    usd_per_second,
                    increment_seconds,
                    cold_start_seconds,
                    idle_timeout_seconds,
                } => {
                    items.push(Item {
                        label: format!("{} {} GPU-seconds", gpu.id, offer),
                        unit_usd: *usd_per_second,
                        kind: ItemKind::GpuSeconds,
                    });
                    let billing = ServerlessBilling {
                        cold_start_seconds: *cold_start_seconds,
                        idle_timeout_seconds: *idle_timeout_seconds,
                        increment_seconds: *increment_seconds as f64,
                    };
                    (Some(items.len() - 1), Some(billing), None, 3600.0)
                }
                Payment::Owned {
                    purchase_usd,
                    amortise_months,
                    usd_per_kwh,
                    pue,
                    hosting_usd_per_month,
                    idle_power_share,
                } => {
                    let gpus = match h.fleet {
                        FleetPolicy::Fixed { gpus } => gpus,
                        _ => 1,
                    };
                    items.push(Item {
                        label: format!("{} purchase over {amortise_months} months", gpu.id),
                        unit_usd: purchase_usd / Decimal::from(*amortise_months),
                        kind: ItemKind::Amortisation,
                    });
                    let amortisation = items.len() - 1;
                    items.push(Item {
                        label: "electricity [kWh]".into(),
                        unit_usd: *usd_per_kwh,
                        kind: ItemKind::Power,
                    });
                    let power = items.len() - 1;
                    items.push(Item {
                        label: format!("{} hosting", gpu.id),
                        unit_usd: *hosting_usd_per_month,
                        kind: ItemKind::Hosting,
                    });
                    let hosting = items.len() - 1;
                    let o = OwnedItems {
                        amortisation,
                        amortise_months: *amortise_months,
                        power,
                        hosting,
                        pue: *pue,
                        idle_power_share: *idle_power_share,
                        purchase_usd: purchase_usd * Decimal::from(gpus),
                    };
                    (None, None, Some(o), 3600.0)
                }
            };
            items.push(Item {
                label: "operations [hours]".into(),
                unit_usd: h.ops_usd_per_hour,
                kind: ItemKind::Ops,
            });
            let ops_item = items.len() - 1;
            let licence = cat.licence(&h.licence)?;
            items.push(Item {
                label: format!("licence {}", licence.id),
                unit_usd: h.licence_fee_usd.unwrap_or(licence.monthly_fee_usd),
                kind: ItemKind::LicenceFee,
            });
            let licence_fee_item = items.len() - 1;
            let licence_overage = match licence.included_images_per_month {
                None => None,
                Some(inc) => {
                    // A hard cap (no overage price) is priced at zero and reported as overage
                    // images, so a run still says how far over the cap it went.
                    items.push(Item {
                        label: format!("licence {} overage [images]", licence.id),
                        unit_usd: licence.overage_usd_per_image.unwrap_or(Usd::ZERO),
                        kind: ItemKind::LicenceOverage,
                    });
                    Some((items.len() - 1, inc as f64))
                }
            };
            let fleet = Fleet {
                stream_seconds,
                fleet_streams,
                overflow_item,
                max_queue_seconds: h
                    .overflow
                    .as_ref()
                    .map(|o| o.max_queue_seconds)
                    .unwrap_or(f64::INFINITY),
                policy: h.fleet.clone(),
                usable_seconds_per_gpu_hour: usable,
                gpu_item,
                serverless,
                owned,
                ops_item,
                ops_hours: h.ops_hours,
                licence_fee_item,
                licence_overage,
                speed_factor: h.speed_factor,
                gpu_price_factor: h.gpu_price_factor,
                power_watts: gpu.power_watts,
            };
            Ok(Compiled {
                id: o.id.clone(),
                items,
                stream_api_item,
                api_price_factor: None,
                fleet: Some(fleet),
            })
        }
    }
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
    /// Capacity [GPU-seconds].
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
    /// GPUs a fixed or owned fleet has.
    pub fn fixed_gpus(&self) -> Option<u32> {
        match self.policy {
            FleetPolicy::Fixed { gpus } => Some(gpus),
            _ => None,
        }
    }

    /// Capacity [GPU-s per hour] of a fleet that carries nothing from one hour to the next (a
    /// fixed fleet that overflows at once): its hours can be stepped in any order, each by
    /// [`overflow_at_once`].
    pub fn stateless_capacity(&self) -> Option<f64> {
        match self.policy {
            FleetPolicy::Fixed { gpus } if self.max_queue_seconds == 0.0 => {
                Some(gpus as f64 * self.usable_seconds_per_gpu_hour)
            }
            _ => None,
        }
    }

    /// Work above which an hour stops being linear in its demand, when the fleet is at rest
    /// (no backlog, autoscaler at its minimum); `None` when no hour is ever linear.
    pub fn linear_threshold(&self, state: &FleetState) -> Option<f64> {
        if state.backlog > 0.0 {
            return None;
        }
        match self.policy {
            FleetPolicy::Fixed { gpus } => Some(gpus as f64 * self.usable_seconds_per_gpu_hour),
            FleetPolicy::Autoscaled {
                min,
                target_utilisation,
                ..
            } => {
                if min == 0 || state.active != min || state.recent.iter().any(|&r| r > min) {
                    None
                } else {
                    Some(min as f64 * self.usable_seconds_per_gpu_hour * target_utilisation)
                }
            }
            FleetPolicy::Serverless { .. } => None,
        }
    }

    /// Step the fleet through one hour with `work` GPU-seconds arriving in `requests` images.
    pub fn step(&self, state: &mut FleetState, work: f64, requests: f64) -> HourOutcome {
        let mut out = HourOutcome::default();
        let per_gpu = self.usable_seconds_per_gpu_hour;
        let start_backlog = state.backlog;
        let capacity = match self.policy {
            FleetPolicy::Fixed { gpus } => {
                out.billed_gpu_hours = gpus as f64;
                gpus as f64 * per_gpu
            }
            FleetPolicy::Autoscaled {
                min,
                max,
                target_utilisation,
                scale_up_delay_minutes,
                min_billed_hours,
            } => {
                let want = ((start_backlog + work) / (per_gpu * target_utilisation)).ceil();
                let want = (want.max(0.0) as u32).clamp(min, max);
                state.recent.push(want);
                let keep = min_billed_hours as usize;
                if state.recent.len() > keep {
                    let drop = state.recent.len() - keep;
                    state.recent.drain(..drop);
                }
                // A started GPU stays (and is billed) for its minimum billed time.
                let active = state.recent.iter().copied().max().unwrap_or(min);
                let prev = state.active;
                let started = active.saturating_sub(prev) as f64;
                let delay = scale_up_delay_minutes * 60.0;
                state.active = active;
                out.billed_gpu_hours = active as f64;
                (active as f64 - started) * per_gpu + started * (per_gpu - delay).max(0.0)
            }
            FleetPolicy::Serverless { max_workers } => {
                let sl = self
                    .serverless
                    .as_ref()
                    .expect("a serverless fleet has serverless billing");
                // A request starts a worker when the gap since the previous one exceeds the
                // idle timeout: with exponential gaps, a share exp(−rate × timeout).
                let rate = requests / 3600.0;
                let cold_share = if requests > 0.0 {
                    (-rate * sl.idle_timeout_seconds).exp()
                } else {
                    0.0
                };
                let workers = ((start_backlog + work) / 3600.0)
                    .ceil()
                    .clamp(0.0, max_workers as f64) as u32;
                let scale_ups = workers.saturating_sub(state.active.max(1)) as f64;
                state.active = workers;
                let starts = requests * cold_share + scale_ups;
                out.cold_share = cold_share;
                out.billed_gpu_seconds = starts
                    * (sl.cold_start_seconds
                        + sl.idle_timeout_seconds
                        + sl.increment_seconds / 2.0);
                max_workers as f64 * 3600.0
            }
        };
        // Serverless pays for worker time, not for the cap: utilisation is busy over billed.
        out.capacity_seconds = if self.serverless.is_some() {
            0.0
        } else {
            capacity
        };
        let mut excess = start_backlog + work - capacity;
        if excess > 0.0 && self.max_queue_seconds.is_finite() {
            // Hybrid: keep up to max_queue_seconds of waiting work, send the rest away.
            let cap = self.max_queue_seconds * capacity / 3600.0;
            let over = (excess - cap).max(0.0).min(work);
            out.overflow_share = if work > 0.0 { over / work } else { 0.0 };
            excess -= over;
        }
        state.backlog = excess.max(0.0);
        out.busy_seconds =
            (start_backlog + work * (1.0 - out.overflow_share) - state.backlog).max(0.0);
        if let FleetPolicy::Serverless { .. } = self.policy {
            out.billed_gpu_seconds += out.busy_seconds;
            out.capacity_seconds = out.billed_gpu_seconds;
        }
        // Fluid FIFO: an image of this hour waits for the backlog ahead of it.
        if capacity > 0.0 {
            out.wait_seconds = (start_backlog + state.backlog) / 2.0 / (capacity / 3600.0);
        } else if work > 0.0 {
            out.wait_seconds = f64::INFINITY;
        }
        out
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
            stream_seconds: vec![1.0],
            fleet_streams: vec![0],
            overflow_item: vec![None],
            max_queue_seconds: 0.0,
            policy: FleetPolicy::Fixed { gpus },
            usable_seconds_per_gpu_hour: per_gpu,
            gpu_item: None,
            serverless: None,
            owned: None,
            ops_item: 0,
            ops_hours: 0,
            licence_fee_item: 0,
            licence_overage: None,
            speed_factor: 0,
            gpu_price_factor: 0,
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
