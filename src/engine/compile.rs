//! Options compiled for simulation: which API or fleet serves each stream of images, and what
//! each priced item costs, exactly.

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::fleet::{
    Autoscaler, Fleet, FleetKind, FleetQueue, OwnedItems, QueueCache, ServerlessBilling,
};
use crate::ids::{InputId, StreamId};
use crate::money::Usd;
use crate::pricing::{unit_price, Size};
use crate::queue::{Policy, ServiceMix};
use crate::scenario::{FleetPolicy, OptionKind, Payment, Scenario, Serving};
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::Arc;

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
    pub api_price_factor: Option<InputId>,
    /// The fleet, for self-hosted options.
    pub fleet: Option<Fleet>,
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

/// Compile every option of a scenario against the catalogue; queue-serving fleets keep their
/// tables in `cache`.
pub fn compile(
    s: &Scenario,
    cat: &Catalogue,
    streams: &[Stream],
    cache: &Arc<QueueCache>,
) -> Result<Vec<Compiled>> {
    // Every option's problems are reported together, as the scenario reader does.
    let mut out = Vec::new();
    let mut problems = crate::error::Problems::default();
    for (i, o) in s.options.iter().enumerate() {
        match compile_option(s, cat, streams, i, o, cache) {
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
    cache: &Arc<QueueCache>,
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
                fleet_streams.push(StreamId(i));
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
                // Serving shape: `k` images in flight per replica slot share the GPU at the
                // batch gain for `k` at this resolution; a replica spanning g GPUs uses all of
                // them for its time. GPU-seconds per image: t·g / gain.
                let k = h.shape.concurrency();
                let gain = profile.batch_gain(k, work_mp(st.size)).ok_or_else(|| {
                    Error::input(
                        &s.file,
                        &field("max_batch"),
                        format!("{} has no batch curve for {k} images at once", profile.id),
                    )
                })?;
                stream_seconds.push(secs * h.shape.gpus_per_replica as f64 / gain);
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
            // The scenario check allows only these pairs: owned GPUs run fixed, a serverless
            // offer runs serverless workers, an hourly offer runs fixed or autoscaled GPUs.
            let mismatch = || {
                Error::Invariant(format!(
                    "option {}: fleet {:?} cannot be paid as {:?}",
                    o.id, h.fleet, h.payment
                ))
            };
            let (kind, usable) = match (&h.payment, &h.fleet) {
                (
                    Payment::Hourly {
                        offer,
                        usd_per_hour,
                        interruptions_per_hour,
                        interruption_lost_seconds,
                        class,
                    },
                    policy,
                ) => {
                    items.push(Item {
                        label: format!("{} {} ({}) GPU-hours", gpu.id, offer, class.name()),
                        unit_usd: *usd_per_hour,
                        kind: ItemKind::GpuHours,
                    });
                    let gpu_hours_item = items.len() - 1;
                    let usable =
                        (3600.0 - interruptions_per_hour * interruption_lost_seconds).max(0.0);
                    let kind = match policy {
                        FleetPolicy::Fixed { gpus } => FleetKind::Rented {
                            gpus: *gpus,
                            gpu_hours_item,
                        },
                        FleetPolicy::Autoscaled {
                            min,
                            max,
                            target_utilisation,
                            scale_up_delay_minutes,
                            min_billed_hours,
                        } => FleetKind::Autoscaled {
                            scaler: Autoscaler {
                                min: *min,
                                max: *max,
                                target_utilisation: *target_utilisation,
                                scale_up_delay_minutes: *scale_up_delay_minutes,
                                min_billed_hours: *min_billed_hours,
                            },
                            gpu_hours_item,
                        },
                        FleetPolicy::Serverless { .. } => return Err(mismatch()),
                    };
                    (kind, usable)
                }
                (
                    Payment::Serverless {
                        offer,
                        usd_per_second,
                        increment_seconds,
                        cold_start_seconds,
                        idle_timeout_seconds,
                    },
                    FleetPolicy::Serverless { max_workers },
                ) => {
                    items.push(Item {
                        label: format!("{} {} GPU-seconds", gpu.id, offer),
                        unit_usd: *usd_per_second,
                        kind: ItemKind::GpuSeconds,
                    });
                    let billing = ServerlessBilling {
                        gpu_seconds_item: items.len() - 1,
                        cold_start_seconds: *cold_start_seconds,
                        idle_timeout_seconds: *idle_timeout_seconds,
                        increment_seconds: *increment_seconds as f64,
                    };
                    (
                        FleetKind::Serverless {
                            max_workers: *max_workers,
                            billing,
                        },
                        3600.0,
                    )
                }
                (
                    Payment::Owned {
                        purchase_usd,
                        amortise_months,
                        usd_per_kwh,
                        pue,
                        hosting_usd_per_month,
                        idle_power_share,
                    },
                    FleetPolicy::Fixed { gpus },
                ) => {
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
                    let owned = OwnedItems {
                        amortisation,
                        amortise_months: *amortise_months,
                        power,
                        hosting,
                        pue: *pue,
                        idle_power_share: *idle_power_share,
                        purchase_usd: purchase_usd * Decimal::from(*gpus),
                    };
                    (FleetKind::Owned { gpus: *gpus, owned }, 3600.0)
                }
                _ => return Err(mismatch()),
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
            // The queue's service mix: a server's time per image (GPU-seconds per image ×
            // servers per GPU), in the streams' shares.
            let servers_per_gpu = h.shape.servers_per_gpu();
            let pairs: Vec<(f64, f64)> = fleet_streams
                .iter()
                .map(|i| {
                    (
                        streams[i.0].per_asset,
                        stream_seconds[i.0] * servers_per_gpu,
                    )
                })
                .collect();
            let policy = match &h.overflow {
                None => Policy::NeverOverflow,
                Some(ov) if ov.max_queue_seconds <= 0.0 => Policy::OverflowAtOnce,
                Some(ov) => Policy::OverflowAfter {
                    max_wait_seconds: ov.max_queue_seconds,
                },
            };
            let queue = match (h.serving, ServiceMix::new(&pairs)) {
                (Serving::Queue, Ok(mix)) => Some(FleetQueue::new(mix, policy, cache.clone())),
                // Fluid by choice, or nothing for the fleet to serve.
                _ => None,
            };
            let fleet = Fleet {
                serving: h.serving,
                shape: h.shape,
                queue,
                stream_seconds,
                fleet_streams,
                overflow_item,
                max_queue_seconds: h
                    .overflow
                    .as_ref()
                    .map(|o| o.max_queue_seconds)
                    .unwrap_or(f64::INFINITY),
                kind,
                usable_seconds_per_gpu_hour: usable,
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
