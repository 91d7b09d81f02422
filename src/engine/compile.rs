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
use crate::scenario::{
    FleetPolicy, Mover, OptionKind, Payment, PriceChange, Scenario, Serving, CHEAPEST,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a priced item is, for cost breakdowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Owned hardware's purchase less its resale at the horizon's end, spread over the
    /// horizon [USD].
    Depreciation,
    /// One-time set-up [USD].
    Setup,
    /// The part of a reservation's term that runs past the horizon, or its exit cost [USD].
    CommitmentLeft,
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
    /// Price of one unit today [USD].
    pub unit_usd: Usd,
    /// Kind.
    pub kind: ItemKind,
    /// How its price moves over the horizon.
    pub moves: Moves,
}

/// How an item's price moves month by month.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "with", rename_all = "snake_case")]
pub enum Moves {
    /// Not at all (a purchase, power, people, a licence).
    Fixed,
    /// With an API offering's prices: its drift, and the scenario's known changes to it.
    Api {
        /// The offering.
        api: String,
        /// Yearly drift input, if any.
        drift: Option<InputId>,
    },
    /// With a GPU's rents.
    Gpu {
        /// The GPU.
        gpu: String,
        /// Yearly drift input, if any.
        drift: Option<InputId>,
    },
}

impl Moves {
    /// The multiplier on today's price in month `m` (0-based) of a path with inputs `x`, or
    /// `None` when it is exactly 1: `(1 + drift)^(m/12)` times every known change in force.
    pub fn factor(&self, x: &[f64], m: usize, changes: &[PriceChange]) -> Option<f64> {
        let drift = match self {
            Moves::Fixed => return None,
            Moves::Api { drift, .. } | Moves::Gpu { drift, .. } => drift,
        };
        let mut f = 1.0;
        let mut moved = false;
        if let Some(d) = drift.map(|d| x[d.0]).filter(|d| *d != 0.0 && m > 0) {
            f *= (1.0 + d).powf(m as f64 / 12.0);
            moved = true;
        }
        for c in changes {
            let mine = match (&c.what, self) {
                (Mover::Api(a), Moves::Api { api, .. }) => a == api,
                (Mover::Gpu(g), Moves::Gpu { gpu, .. }) => g == gpu,
                _ => false,
            };
            if mine && m + 1 >= c.from_month as usize {
                f *= c.factor;
                moved = true;
            }
        }
        moved.then_some(f)
    }
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
    /// One-time cost of starting the option [USD], billed in the first month.
    pub setup_usd: Option<InputId>,
    /// A reservation's term, billed in full.
    pub commitment: Option<Commitment>,
}

/// A reserved fleet's committed term.
#[derive(Debug, Clone, Serialize)]
pub struct Commitment {
    /// Months committed.
    pub months: u32,
    /// GPUs reserved.
    pub gpus: u32,
    /// The GPU-hours item the term is billed at.
    pub gpu_hours_item: usize,
    /// What reselling or cancelling the rest costs, instead of paying it (None: paid).
    pub exit_usd: Option<Usd>,
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
        match compile_option(s, cat, streams, i, o, cache)
            .and_then(|c| check_money_range(s, streams, i, &c).map(|()| c))
        {
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

/// Refuse an option whose bills could leave the exact decimal range over the horizon, naming
/// it, instead of failing mid-run. Each item is taken at the most its quantity can be under
/// the limits ([`crate::limits`]): the peak demand the engine accepts, the largest fleet and
/// price factor, every GPU-hour of the month. Real scenarios are some fifteen orders of
/// magnitude inside; this catches prices that only absurd catalogues hold.
fn check_money_range(s: &Scenario, streams: &[Stream], index: usize, c: &Compiled) -> Result<()> {
    use crate::limits::{MAX_PEAK_MONTHLY_ASSETS, MAX_PRICE_FACTOR, MAX_TOTAL_USD};
    const MAX_GPUS: f64 = 10_000.0;
    const MAX_OPS_HOURS: f64 = 10_000.0;
    const MAX_PUE: f64 = 3.0;
    let hours = crate::scenario::HOURS_PER_MONTH as f64;
    let per_asset: f64 = streams.iter().map(|st| st.per_asset).sum::<f64>().max(1.0);
    let images = MAX_PEAK_MONTHLY_ASSETS * per_asset * MAX_PRICE_FACTOR;
    let power_kw = c.fleet.as_ref().map_or(0.0, |f| f.power_watts / 1000.0);
    let mut month = 0.0;
    for item in &c.items {
        let qty = match item.kind {
            ItemKind::ApiImages | ItemKind::OverflowImages | ItemKind::LicenceOverage => images,
            ItemKind::GpuHours => MAX_GPUS * hours * MAX_PRICE_FACTOR,
            ItemKind::GpuSeconds => MAX_GPUS * hours * 3600.0 * MAX_PRICE_FACTOR,
            ItemKind::Hosting => MAX_GPUS,
            // Billed outside the quantities (once, or spread): counted with the purchase.
            ItemKind::Depreciation | ItemKind::Setup | ItemKind::CommitmentLeft => 0.0,
            ItemKind::Power => MAX_GPUS * power_kw * MAX_PUE * hours,
            ItemKind::Ops => MAX_OPS_HOURS,
            ItemKind::LicenceFee => 1.0,
        };
        month += crate::money::to_f64(item.unit_usd).abs() * qty;
    }
    let purchase = c
        .fleet
        .as_ref()
        .and_then(|f| f.owned())
        .map_or(0.0, |o| crate::money::to_f64(o.capex_usd));
    // A reservation's term past the horizon is billed too.
    let months = c
        .commitment
        .as_ref()
        .map_or(s.horizon_months, |t| t.months.max(s.horizon_months));
    let worst = month * f64::from(months) + purchase;
    if worst.is_finite() && worst <= MAX_TOTAL_USD {
        return Ok(());
    }
    Err(Error::input(
        &s.file,
        &format!("option[{index}]"),
        format!(
            "its prices could add up to {worst:.1e} dollars over the horizon at the volumes the engine accepts, past the {MAX_TOTAL_USD:.0e} that totals are kept exact to; expected prices a thousand times smaller (see its api, gpu and licence prices)"
        ),
    ))
}

#[allow(clippy::too_many_arguments)]
fn api_item(
    items: &mut Vec<Item>,
    cat: &Catalogue,
    s: &Scenario,
    api: &str,
    stream: &Stream,
    kind: ItemKind,
    key: &str,
    drift: Option<InputId>,
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
        moves: Moves::Api {
            api: api.to_string(),
            drift,
        },
    });
    Ok(items.len() - 1)
}

/// The offering of `profile`'s model (or a substitute the market allows) that makes the
/// images of `stream` for the least today (the first by id among equals).
fn cheapest_api(
    cat: &Catalogue,
    s: &Scenario,
    profile: &str,
    stream: &Stream,
    key: &str,
) -> Result<String> {
    let b = &s.mix[stream.bucket];
    let models: Vec<&str> = std::iter::once(profile)
        .chain(s.market.substitutes.iter().map(String::as_str))
        .collect();
    // With `compare = "named"` only the offerings the scenario's file names are in the market.
    let named = &s.market.named_apis;
    cat.apis
        .values()
        .filter(|a| models.contains(&a.model_key()))
        .filter(|a| s.market.compare_all || named.contains(&a.id))
        .filter_map(|a| {
            unit_price(cat, a, stream.size, &b.inputs, b.steps, s.as_of)
                .ok()
                .map(|u| (u, &a.id))
        })
        .min_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(y.1)))
        .map(|(_, id)| id.clone())
        .ok_or_else(|| {
            Error::input(
                &s.file,
                key,
                format!(
                    "is \"cheapest\" but no hosted offering of {profile} can serve {}; expected an api id",
                    stream.label
                ),
            )
        })
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
        OptionKind::Api {
            api,
            price_factor,
            price_drift,
        } => {
            let market = s.market.api_price_drift;
            let mut stream_api_item = Vec::new();
            for st in streams {
                let (which, from, drift) = match stage_api(st) {
                    Some(a) => (a, field("stages"), market),
                    None => (api.clone(), field("api"), price_drift.or(market)),
                };
                stream_api_item.push(Some(api_item(
                    &mut items,
                    cat,
                    s,
                    &which,
                    st,
                    ItemKind::ApiImages,
                    &from,
                    drift,
                )?));
            }
            Ok(Compiled {
                id: o.id.clone(),
                items,
                stream_api_item,
                api_price_factor: *price_factor,
                fleet: None,
                setup_usd: o.setup_usd,
                commitment: None,
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
                        s.market.api_price_drift,
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
                    Some(ov) => {
                        let api = if ov.api == CHEAPEST {
                            cheapest_api(cat, s, &h.profile, st, &field("overflow"))?
                        } else {
                            ov.api.clone()
                        };
                        Some(api_item(
                            &mut items,
                            cat,
                            s,
                            &api,
                            st,
                            ItemKind::OverflowImages,
                            &field("overflow"),
                            s.market.api_price_drift,
                        )?)
                    }
                    None => None,
                });
            }
            let gpu_moves = Moves::Gpu {
                gpu: gpu.id.clone(),
                drift: h.gpu_price_drift.or(s.market.gpu_price_drift),
            };
            // The scenario check allows only these pairs: owned GPUs run fixed, a serverless
            // offer runs serverless workers, an hourly offer runs fixed or autoscaled GPUs.
            let mismatch = || {
                Error::Invariant(format!(
                    "option {}: fleet {:?} cannot be paid as {:?}",
                    o.id, h.fleet, h.payment
                ))
            };
            let mut commitment = None;
            let (kind, usable) = match (&h.payment, &h.fleet) {
                (
                    Payment::Hourly {
                        offer,
                        usd_per_hour,
                        interruptions_per_hour,
                        interruption_lost_seconds,
                        class,
                        commitment_months,
                        commitment_exit_usd,
                    },
                    policy,
                ) => {
                    items.push(Item {
                        label: format!("{} {} ({}) GPU-hours", gpu.id, offer, class.name()),
                        unit_usd: *usd_per_hour,
                        kind: ItemKind::GpuHours,
                        moves: gpu_moves.clone(),
                    });
                    let gpu_hours_item = items.len() - 1;
                    if let (Some(months), FleetPolicy::Fixed { gpus }) = (commitment_months, policy)
                    {
                        commitment = Some(Commitment {
                            months: *months,
                            gpus: *gpus,
                            gpu_hours_item,
                            exit_usd: *commitment_exit_usd,
                        });
                    }
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
                        moves: gpu_moves.clone(),
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
                        system_usd,
                        residual_share,
                        usd_per_kwh,
                        pue,
                        hosting_usd_per_month,
                        idle_power_share,
                        ..
                    },
                    FleetPolicy::Fixed { gpus },
                ) => {
                    let capex_usd = (purchase_usd + system_usd)
                        .checked_mul(Decimal::from(*gpus))
                        .ok_or_else(|| {
                            Error::input(
                                &s.file,
                                &field("owned.purchase_usd"),
                                "times the fleet's gpus does not fit a dollar amount",
                            )
                        })?;
                    items.push(Item {
                        label: format!("{gpus}× {} purchase less resale", gpu.id),
                        unit_usd: capex_usd,
                        kind: ItemKind::Depreciation,
                        moves: Moves::Fixed,
                    });
                    let depreciation = items.len() - 1;
                    items.push(Item {
                        label: "electricity [kWh]".into(),
                        unit_usd: *usd_per_kwh,
                        kind: ItemKind::Power,
                        moves: Moves::Fixed,
                    });
                    let power = items.len() - 1;
                    items.push(Item {
                        label: format!("{} hosting", gpu.id),
                        unit_usd: *hosting_usd_per_month,
                        kind: ItemKind::Hosting,
                        moves: Moves::Fixed,
                    });
                    let hosting = items.len() - 1;
                    let owned = OwnedItems {
                        capex_usd,
                        residual_share: *residual_share,
                        depreciation,
                        power,
                        hosting,
                        pue: *pue,
                        idle_power_share: *idle_power_share,
                    };
                    (FleetKind::Owned { gpus: *gpus, owned }, 3600.0)
                }
                _ => return Err(mismatch()),
            };
            items.push(Item {
                label: "operations [hours]".into(),
                unit_usd: h.ops_usd_per_hour,
                kind: ItemKind::Ops,
                moves: Moves::Fixed,
            });
            let ops_item = items.len() - 1;
            let licence = cat.licence(&h.licence)?;
            items.push(Item {
                label: format!("licence {}", licence.id),
                unit_usd: h.licence_fee_usd.unwrap_or(licence.monthly_fee_usd),
                kind: ItemKind::LicenceFee,
                moves: Moves::Fixed,
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
                        moves: Moves::Fixed,
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
                setup_usd: o.setup_usd,
                commitment,
            })
        }
    }
}
