//! What to buy: search GPU × payment × fleet policy × size × overflow threshold over the
//! catalogue for the plan with the lowest expected (or 90th-percentile) cost that carries the
//! demand and meets the latency target.
//!
//! The search screens every candidate on a few paths, all candidates sharing each path's
//! demand (common random numbers, so their differences are sharp even when each estimate is
//! rough), then re-runs the leaders with the full number of paths. Candidates are pruned before
//! screening: a GPU must hold the model and have a speed for it, and each GPU keeps only its
//! cheapest offer of each payment class.

use crate::catalogue::{Catalogue, OfferClass};
use crate::engine::{self, Controls, Engine, RunConfig, RunResult};
use crate::error::{Error, Result};
use crate::ids::{InputId, OptionId};
use crate::scenario::{
    FleetPolicy, NamedInput, OptionKind, OptionSpec, Overflow, Payment, Scenario, SelfHost,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the plan minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Expected total cost.
    Mean,
    /// 90th percentile of total cost.
    P90,
}

/// Default largest acceptable 95th-percentile latency [s]: without a target a fleet that
/// queues for weeks would look cheapest.
pub const DEFAULT_LATENCY_P95_S: f64 = 3600.0;
/// Default paths per candidate when screening.
pub const DEFAULT_SCREEN_PATHS: u64 = 100;
/// Default candidates re-run with all paths.
pub const DEFAULT_FINALISTS: usize = 6;

/// How to search.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// Objective.
    pub objective: Objective,
    /// Largest acceptable 95th-percentile end-to-end latency (wait + service) of the images a
    /// fleet makes, request-weighted over the horizon and pooled over paths [s].
    pub latency_p95_s: Option<f64>,
    /// Paths per candidate when screening, at most the final round's (`run.samples`): a quick
    /// look at 20 paths should not screen on 100.
    pub screen_paths: u64,
    /// Candidates re-run at full size.
    pub finalists: usize,
    /// What may be searched.
    pub search: Search,
    /// Full run.
    pub run: RunConfig,
}

/// The paths a candidate is screened on: `asked`, but never more than the final round runs.
pub fn screening_paths(asked: u64, run: &RunConfig) -> u64 {
    asked.min(run.samples.max(1))
}

impl PlanConfig {
    /// The defaults `breakeven plan` uses, over the paths of `run`.
    pub fn new(run: RunConfig) -> PlanConfig {
        PlanConfig {
            objective: Objective::Mean,
            latency_p95_s: Some(DEFAULT_LATENCY_P95_S),
            screen_paths: screening_paths(DEFAULT_SCREEN_PATHS, &run),
            finalists: DEFAULT_FINALISTS,
            search: Search::default(),
            run,
        }
    }
}

/// One evaluated plan.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    /// Option id.
    pub id: String,
    /// In words.
    pub serves: String,
    /// Mean total [USD].
    pub mean_usd: f64,
    /// Its standard error [USD].
    pub std_error_usd: f64,
    /// 90th percentile total [USD].
    pub p90_usd: f64,
    /// Mean of the paths' 95th-percentile delay [s].
    pub p95_delay_s: f64,
    /// End-to-end latency of the fleet's images, p50, p95 and p99 [s] (None for an API).
    pub latency_s: Option<[f64; 3]>,
    /// 95th percentile of the service time alone, at the median speed [s] (None for an API):
    /// no fleet size brings the latency under it.
    pub service_p95_s: Option<f64>,
    /// Share of the fleet-bound images overflowed to the API.
    pub overflow_share: f64,
    /// Probability the fleet cannot keep up.
    pub p_over_capacity: f64,
    /// Meets the constraints.
    pub feasible: bool,
    /// Why not, when it does not.
    pub infeasible: Option<String>,
    /// The objective's value [USD].
    pub objective_usd: f64,
    /// Dated prices and speeds it rests on.
    pub prices: Vec<String>,
    /// Set when it runs on a GeForce card: what its driver licence says.
    pub consumer_gpu: Option<String>,
}

/// The recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    /// Reproduction data.
    #[serde(flatten)]
    pub provenance: crate::report::summary::Provenance,
    /// Objective.
    pub objective: Objective,
    /// Latency target [s].
    pub latency_p95_s: Option<f64>,
    /// Candidates screened.
    pub screened: usize,
    /// Of those, the ones that could not keep up on more than 5% of the screening paths.
    pub screened_over_capacity: usize,
    /// Paths per candidate in screening.
    pub screen_paths: u64,
    /// Paths in the final comparison.
    pub samples: u64,
    /// The best plan (self-hosted or not).
    pub recommended: Evaluated,
    /// The next best.
    pub runner_up: Option<Evaluated>,
    /// The best of the scenario's API options.
    pub best_api: Option<Evaluated>,
    /// What the recommendation saves against the best API option [USD over the horizon].
    pub saving_vs_best_api_usd: Option<f64>,
    /// Every finalist, best first.
    pub finalists: Vec<Evaluated>,
    /// What the search compared and left out, in words.
    pub notes: Vec<String>,
    /// Models on GPUs whose service time alone breaks the latency target: no fleet of them,
    /// of any size, meets it.
    pub latency_unreachable: Vec<String>,
}

/// Longest overflow threshold a plan tries [s].
pub const MAX_PLAN_THRESHOLD_S: f64 = 60.0;

/// Which candidates the search may consider.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Consider speeds of any setup (optimised, eager, unstated) side by side; by default
    /// only the setup of the scenario's own self-hosted option (else the profile's most
    /// common one) is used, so GPUs are compared like with like.
    pub mix_setups: bool,
    /// Leave out GeForce cards, whose driver licence forbids datacentre deployment.
    pub no_consumer_gpus: bool,
}

/// The candidates, and what the search left out or assumed, in words.
pub struct Candidates {
    /// Candidate self-hosted options.
    pub options: Vec<OptionSpec>,
    /// Notes for the reader (setups compared, GPUs left out).
    pub notes: Vec<String>,
}

/// The speed setup candidates of `profile` are compared at: the scenario's own option's, else
/// the most common among the profile's speeds.
fn setup_for(
    s: &Scenario,
    profile: &crate::catalogue::SpeedProfile,
) -> Option<crate::catalogue::Setup> {
    use crate::catalogue::Setup;
    let own = s.options.iter().find_map(|o| match &o.kind {
        OptionKind::SelfHost(h) if h.profile == profile.id => profile.speed_on(&h.gpu),
        _ => None,
    });
    if let Some(sp) = own {
        return Some(sp.setup);
    }
    [Setup::Optimised, Setup::Eager, Setup::Unstated]
        .into_iter()
        .map(|st| (profile.speeds_with(st).count(), st))
        .filter(|(n, _)| *n > 0)
        // The most common; among equals, the first listed.
        .fold(None, |best: Option<(usize, Setup)>, x| match best {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        })
        .map(|(_, st)| st)
}

/// Candidate self-hosted options for a scenario. A hybrid tries overflow at once, and after a
/// threshold of queue that leaves room for the longest image within `latency_p95_s` (at most
/// [`MAX_PLAN_THRESHOLD_S`]): a request that waits at most that long and is then served meets
/// the target.
pub fn candidates(
    s: &Scenario,
    cat: &Catalogue,
    inputs: &mut Vec<NamedInput>,
    search: &Search,
    latency_p95_s: Option<f64>,
) -> Candidates {
    let mut notes = Vec::new();
    let mut profiles: Vec<String> = Vec::new();
    let mut api_for: BTreeMap<String, String> = BTreeMap::new();
    let mut template: Option<&SelfHost> = None;
    for o in &s.options {
        match &o.kind {
            OptionKind::SelfHost(h) => {
                if !profiles.contains(&h.profile) {
                    profiles.push(h.profile.clone());
                }
                template.get_or_insert(h);
            }
            OptionKind::Api { api, .. } => {
                if let Some(m) = cat.apis.get(api).and_then(|a| a.open_model.clone()) {
                    if !profiles.contains(&m) {
                        profiles.push(m.clone());
                    }
                    api_for.entry(m).or_insert_with(|| api.clone());
                }
            }
        }
    }
    let first_api = s.options.iter().find_map(|o| match &o.kind {
        OptionKind::Api { api, .. } => Some(api.clone()),
        _ => None,
    });
    // People, speed and GPU-price uncertainty come from the scenario's own self-hosted option.
    let mut fixed_input = |name: &str, v: f64, unit: &'static str| {
        inputs.push(NamedInput {
            name: name.into(),
            dist: crate::dist::Dist::Fixed(v),
            unit,
        });
        InputId(inputs.len() - 1)
    };
    // Candidates serve as the scenario's own self-hosted option does (queue unless it says fluid).
    let serving = template.map_or(crate::scenario::Serving::Queue, |h| h.serving);
    let (ops_hours, ops_rate, speed_factor, gpu_price_factor) = match template {
        Some(h) => (
            h.ops_hours,
            h.ops_usd_per_hour,
            h.speed_factor,
            h.gpu_price_factor,
        ),
        None => (
            fixed_input("plan.ops_hours_per_month", 0.0, "hours/month"),
            Default::default(),
            fixed_input("plan.speed_factor", 1.0, "× seconds"),
            fixed_input("plan.gpu_price_factor", 1.0, "× GPU price"),
        ),
    };
    // Set-up comes from the scenario's own self-hosted option too; owned figures from its
    // own owned option where the GPU is the same.
    let setup_usd = s
        .options
        .iter()
        .find(|o| matches!(o.kind, OptionKind::SelfHost(_)))
        .and_then(|o| o.setup_usd);
    let own_owned = s.options.iter().find_map(|o| match &o.kind {
        OptionKind::SelfHost(h) if matches!(h.payment, Payment::Owned { .. }) => {
            Some((h.gpu.clone(), h.payment.clone()))
        }
        _ => None,
    });
    let mut assumed: Vec<String> = Vec::new();
    if template.is_none() {
        assumed
            .push("no people cost (the scenario has no self-hosted option to take it from)".into());
    } else if template.is_some_and(|h| !h.ops_given) {
        assumed.push("no people cost (the scenario's self-hosted option sets none)".into());
    }
    // Peak work per GPU-hour decides how many GPUs are worth trying.
    let median_v = s.input(s.demand.monthly).dist.median();
    let growth = s.input(s.demand.growth).dist.median();
    let last = median_v * (1.0 + growth).powi(s.horizon_months as i32 - 1).max(1.0);
    let peak_share = s.demand.profile.weights.iter().cloned().fold(0.0, f64::max)
        / crate::scenario::HOURS_PER_MONTH as f64;
    let images_per_asset: f64 = s.stages.iter().map(|x| x.per_asset).sum();
    let mut out = Vec::new();
    for profile_id in &profiles {
        let Some(profile) = cat.selfhost.get(profile_id) else {
            continue;
        };
        // Overflow to the cheapest hosted offering of the model for each image, when the
        // market has one (with `compare = "named"`, among the file's); else to the scenario's
        // first API, else none.
        let overflow_api = if cat.apis.values().any(|a| {
            a.model_key() == profile_id
                && (s.market.compare_all || s.market.named_apis.contains(&a.id))
        }) {
            Some(crate::scenario::CHEAPEST.to_string())
        } else {
            api_for
                .get(profile_id)
                .cloned()
                .or_else(|| first_api.clone())
        };
        let setup = (!search.mix_setups)
            .then(|| setup_for(s, profile))
            .flatten();
        let mut left_out: Vec<String> = Vec::new();
        let mut consumer: Vec<String> = Vec::new();
        let Some(licence) = cat.licences_for(profile_id).first().map(|l| l.id.clone()) else {
            continue;
        };
        for speed in &profile.speeds {
            let Some(gpu) = cat.gpus.get(&speed.gpu) else {
                continue;
            };
            if setup.is_some_and(|st| st != speed.setup) {
                left_out.push(format!("{} ({})", gpu.id, speed.setup.name()));
                continue;
            }
            if gpu.is_consumer() && search.no_consumer_gpus {
                consumer.push(gpu.id.clone());
                continue;
            }
            if profile.memory_on(&gpu.id) > gpu.memory_gb {
                continue;
            }
            let peak_gpus = last * peak_share * images_per_asset * speed.seconds_at_1mp / 3600.0;
            let g = speed.gpus_per_replica.max(1);
            let n_max = (peak_gpus.ceil() as u32 + 1).clamp(1, 16).div_ceil(g) * g;
            // The longest image at the median speed, and the threshold that leaves room for it.
            let speed_median = inputs[speed_factor.0].dist.median();
            let longest = s
                .mix
                .iter()
                .map(|b| {
                    let mp = b.size.mp_f64() + b.inputs.iter().map(|i| i.mp_f64()).sum::<f64>();
                    profile.seconds_from(
                        speed.seconds_at_1mp,
                        mp,
                        b.steps.unwrap_or(profile.default_steps),
                    )
                })
                .fold(0.0, f64::max)
                * speed_median;
            let threshold = latency_p95_s.map_or(MAX_PLAN_THRESHOLD_S, |t| {
                (t - longest).min(MAX_PLAN_THRESHOLD_S).floor()
            });
            // Cheapest offer of each class.
            let mut best: BTreeMap<&'static str, &crate::catalogue::Offer> = BTreeMap::new();
            for o in &gpu.offers {
                let class = match o.class {
                    OfferClass::OnDemand | OfferClass::Secure | OfferClass::Community => {
                        "on-demand"
                    }
                    OfferClass::Spot => "spot",
                    OfferClass::Reserved => "reserved",
                    OfferClass::Serverless => "serverless",
                };
                let price = o.usd_per_hour.or(o.usd_per_second).unwrap_or_default();
                if best
                    .get(class)
                    .is_none_or(|b| price < b.usd_per_hour.or(b.usd_per_second).unwrap_or_default())
                {
                    best.insert(class, o);
                }
            }
            let base = |id: String,
                        payment: Payment,
                        fleet: FleetPolicy,
                        overflow: Option<Overflow>| OptionSpec {
                id,
                from_market: false,
                setup_usd,
                kind: OptionKind::SelfHost(Box::new(SelfHost {
                    profile: profile_id.clone(),
                    gpu: gpu.id.clone(),
                    payment,
                    fleet,
                    overflow,
                    licence: licence.clone(),
                    licence_fee_usd: None,
                    ops_hours,
                    ops_given: true,
                    ops_usd_per_hour: ops_rate,
                    speed_factor,
                    bucket_seconds: None,
                    seconds_at_1mp: None,
                    gpu_price_factor,
                    gpu_price_drift: None,
                    serving,
                    shape: crate::scenario::ServingShape {
                        gpus_per_replica: speed.gpus_per_replica,
                        ..Default::default()
                    },
                })),
                stage_apis: s
                    .options
                    .iter()
                    .find_map(|o| (!o.stage_apis.is_empty()).then(|| o.stage_apis.clone()))
                    .unwrap_or_default(),
            };
            let hybrid = |q: f64| {
                overflow_api.as_ref().map(|api| Overflow {
                    api: api.clone(),
                    max_queue_seconds: q,
                })
            };
            for (class, o) in &best {
                if *class == "serverless" {
                    let pay = Payment::Serverless {
                        offer: o.id.clone(),
                        usd_per_second: o.usd_per_second.unwrap_or_default(),
                        increment_seconds: o.billing_increment_seconds.unwrap_or(1),
                        cold_start_seconds: o.cold_start_seconds.unwrap_or(0.0),
                        idle_timeout_seconds: o.idle_timeout_seconds.unwrap_or(0.0),
                    };
                    out.push(base(
                        format!("{profile_id}/{}/{}/serverless", gpu.id, o.id),
                        pay,
                        FleetPolicy::Serverless { max_workers: n_max },
                        None,
                    ));
                    continue;
                }
                if let Some(c) = o.commitment_months.filter(|c| *c > s.horizon_months) {
                    // Billed for the whole term: the plan says what is left past the horizon.
                    assumed.push(format!(
                        "{} {}: a {c}-month reservation on a {}-month horizon is billed in full ({} months past the horizon, in the last month's cash, as no resale or cancellation is known)",
                        gpu.id,
                        o.id,
                        s.horizon_months,
                        c - s.horizon_months
                    ));
                }
                let pay = Payment::Hourly {
                    offer: o.id.clone(),
                    usd_per_hour: o.usd_per_hour.unwrap_or_default(),
                    class: o.class,
                    interruptions_per_hour: o.interruptions_per_hour.unwrap_or(0.0),
                    interruption_lost_seconds: 600.0,
                    commitment_months: o.commitment_months,
                    commitment_exit_usd: None,
                };
                for n in (g..=n_max).step_by(g as usize) {
                    let fixed = FleetPolicy::Fixed { gpus: n };
                    out.push(base(
                        format!("{profile_id}/{}/{}/fixed-{n}", gpu.id, o.id),
                        pay.clone(),
                        fixed.clone(),
                        None,
                    ));
                    if overflow_api.is_some() {
                        out.push(base(
                            format!("{profile_id}/{}/{}/fixed-{n}+api", gpu.id, o.id),
                            pay.clone(),
                            fixed.clone(),
                            hybrid(0.0),
                        ));
                        if threshold > 0.0 {
                            out.push(base(
                                format!(
                                    "{profile_id}/{}/{}/fixed-{n}+api-after-{threshold}s",
                                    gpu.id, o.id
                                ),
                                pay.clone(),
                                fixed,
                                hybrid(threshold),
                            ));
                        }
                    }
                }
                if *class == "on-demand" {
                    for min in [0, 1] {
                        let auto = FleetPolicy::Autoscaled {
                            min,
                            max: n_max.max(2),
                            target_utilisation: 0.8,
                            scale_up_delay_minutes: 5.0,
                            min_billed_hours: 1,
                        };
                        out.push(base(
                            format!(
                                "{profile_id}/{}/{}/autoscaled-{min}-{}+api",
                                gpu.id,
                                o.id,
                                n_max.max(2)
                            ),
                            pay.clone(),
                            auto,
                            hybrid(threshold.max(0.0)),
                        ));
                    }
                }
            }
            let owned_pay = match (&own_owned, &gpu.purchase) {
                // The scenario's own figures for this GPU: purchase, system, resale, power.
                (Some((g, pay)), _) if *g == gpu.id => Some(pay.clone()),
                (_, Some(purchase)) => {
                    // The catalogue's card price; the rest from the scenario's owned option,
                    // or defaults, and every assumption said.
                    let like = own_owned.as_ref().map(|(_, p)| p);
                    let (system, kwh, pue, hosting, idle) = match like {
                        Some(Payment::Owned {
                            system_usd,
                            usd_per_kwh,
                            pue,
                            hosting_usd_per_month,
                            idle_power_share,
                            ..
                        }) => (
                            *system_usd,
                            *usd_per_kwh,
                            *pue,
                            *hosting_usd_per_month,
                            *idle_power_share,
                        ),
                        _ => {
                            assumed.push(format!(
                                "owned {}: the card alone (${}), no server share or hosting, power at ${}/kWh, PUE 1.3",
                                gpu.id,
                                purchase.usd,
                                crate::scenario::DEFAULT_USD_PER_KWH
                            ));
                            (
                                Default::default(),
                                crate::scenario::DEFAULT_USD_PER_KWH
                                    .parse()
                                    .unwrap_or_default(),
                                1.3,
                                Default::default(),
                                0.3,
                            )
                        }
                    };
                    let curve = gpu
                        .resale
                        .as_ref()
                        .or_else(|| cat.gpus.get("h100-sxm").and_then(|g| g.resale.as_ref()));
                    curve.map(|c| {
                        if gpu.resale.is_none() {
                            assumed.push(format!(
                                "owned {}: resale follows the H100's curve (the catalogue has none for it)",
                                gpu.id
                            ));
                        }
                        let (lo, hi) = c.share_at(s.horizon_months);
                        inputs.push(NamedInput {
                            name: format!("plan.{}.residual_share", gpu.id),
                            dist: if hi > lo {
                                crate::dist::Dist::Uniform { min: lo, max: hi }
                            } else {
                                crate::dist::Dist::Fixed(lo)
                            },
                            unit: "share of purchase",
                        });
                        Payment::Owned {
                            purchase_usd: purchase.usd,
                            system_usd: system,
                            residual_share: InputId(inputs.len() - 1),
                            residual_from_catalogue: true,
                            usd_per_kwh: kwh,
                            pue,
                            hosting_usd_per_month: hosting,
                            idle_power_share: idle,
                        }
                    })
                }
                _ => None,
            };
            if let Some(pay) = owned_pay {
                for n in (g..=n_max.min(4 * g)).step_by(g as usize) {
                    let pay = pay.clone();
                    out.push(base(
                        format!("{profile_id}/{}/owned-{n}+api", gpu.id),
                        pay,
                        FleetPolicy::Fixed { gpus: n },
                        hybrid(threshold.max(0.0)),
                    ));
                }
            }
        }
        if let Some(st) = setup {
            notes.push(if left_out.is_empty() {
                format!("{profile_id}: every GPU's speed is {} (like with like)", st.name())
            } else {
                format!(
                    "{profile_id}: speeds compared like with like ({}); left out, measured another way: {} (--mix-setups to include them)",
                    st.name(),
                    left_out.join(", ")
                )
            });
        } else if search.mix_setups {
            let setups: std::collections::BTreeSet<&str> =
                profile.speeds.iter().map(|sp| sp.setup.name()).collect();
            if setups.len() > 1 {
                notes.push(format!(
                    "{profile_id}: speeds of different setups are compared side by side ({})",
                    setups.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if !consumer.is_empty() {
            notes.push(format!(
                "{profile_id}: left out as consumer cards (--no-consumer-gpus): {}",
                consumer.join(", ")
            ));
        }
    }
    notes.extend(assumed.into_iter().map(|a| format!("assumed: {a}")));
    Candidates {
        options: out,
        notes,
    }
}

fn evaluate(e: &Engine, r: &RunResult, i: usize, cfg: &PlanConfig, cat: &Catalogue) -> Evaluated {
    let st = &r.options[i];
    let p95_delay = st.p95_wait.mean();
    let p_over = r.p_over_capacity(OptionId(i));
    let latency = e.latency_quantiles(OptionId(i), st);
    let service_p95 = service_p95(e, i);
    let too_slow = |t: f64| -> Option<String> {
        if let Some(sv) = service_p95.filter(|sv| *sv > t) {
            return Some(format!(
                "its service time alone is {sv:.2} s at p95, over the {t} s target: no fleet size meets it"
            ));
        }
        match latency {
            Some([_, p95, _]) if p95 > t || p95.is_nan() => Some(format!(
                "its p95 latency is {p95:.1} s, over the {t} s target"
            )),
            _ => None,
        }
    };
    let infeasible = if !r.keeps_up(OptionId(i)) {
        Some(format!(
            "it cannot keep up on {:.0}% of paths",
            100.0 * p_over
        ))
    } else if e.options[i].is_api() {
        None
    } else {
        cfg.latency_p95_s.and_then(too_slow)
    };
    let p90 = st.total.quantile(0.9);
    let objective_usd = match cfg.objective {
        Objective::Mean => st.total.mean(),
        Objective::P90 => p90,
    };
    Evaluated {
        id: e.options[i].id.clone(),
        serves: crate::report::summary::describe(e, i).1,
        mean_usd: st.total.mean(),
        std_error_usd: st.total.std_error(),
        p90_usd: p90,
        p95_delay_s: p95_delay,
        latency_s: latency,
        service_p95_s: service_p95,
        overflow_share: st.overflow.value(),
        p_over_capacity: p_over,
        feasible: infeasible.is_none(),
        infeasible,
        objective_usd,
        prices: price_dates(e, i, cat),
        consumer_gpu: consumer_note(&e.scenario.options[i], cat),
    }
}

/// What a GeForce card's driver licence says, when option `o` runs on one.
fn consumer_note(o: &OptionSpec, cat: &Catalogue) -> Option<String> {
    let OptionKind::SelfHost(h) = &o.kind else {
        return None;
    };
    let g = cat.gpus.get(&h.gpu)?;
    let c = g.consumer.as_ref()?;
    Some(format!(
        "{} is a GeForce card: NVIDIA's driver licence does not allow it to be deployed in a datacentre ({}, as of {})",
        g.id, c.source, c.as_of
    ))
}

/// The 95th percentile of option `i`'s service time on one server at its speed factor's
/// median [s] (None for an API).
fn service_p95(e: &Engine, i: usize) -> Option<f64> {
    let f = e.options[i].fleet.as_ref()?;
    let speed = e.scenario.input(f.speed_factor).dist.median();
    let spg = f.shape.servers_per_gpu();
    let mut times: Vec<(f64, f64)> = f
        .fleet_streams
        .iter()
        .map(|s| {
            (
                f.stream_seconds[s.0] * spg * speed,
                e.streams[s.0].per_asset,
            )
        })
        .filter(|(_, w)| *w > 0.0)
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = times.iter().map(|t| t.1).sum();
    let mut seen = 0.0;
    for (secs, w) in &times {
        seen += w;
        if seen >= 0.95 * total * (1.0 - 1e-12) {
            return Some(*secs);
        }
    }
    times.last().map(|t| t.0)
}

/// The dated figures an option rests on, for the reader to check.
fn price_dates(e: &Engine, i: usize, cat: &Catalogue) -> Vec<String> {
    let mut v = Vec::new();
    let s = &e.scenario;
    match &s.options[i].kind {
        OptionKind::Api { api, .. } => {
            if let Some(p) = cat.apis.get(api).and_then(|a| a.price_on(s.as_of)) {
                v.push(format!(
                    "{api}: {} as of {} ({})",
                    p.rule.headline(),
                    p.provenance.as_of,
                    p.provenance.source
                ));
            }
        }
        OptionKind::SelfHost(h) => {
            if let Some(g) = cat.gpus.get(&h.gpu) {
                match &h.payment {
                    Payment::Hourly { offer, .. } | Payment::Serverless { offer, .. } => {
                        if let Some(o) = g.offer(offer) {
                            let price = o
                                .usd_per_hour
                                .map(|p| format!("${p}/hour"))
                                .or(o.usd_per_second.map(|p| format!("${p}/s")))
                                .unwrap_or_default();
                            v.push(format!(
                                "{} {offer}: {price} as of {} ({})",
                                g.id, o.provenance.as_of, o.provenance.source
                            ));
                        }
                    }
                    Payment::Owned { purchase_usd, .. } => {
                        let when = g
                            .purchase
                            .as_ref()
                            .map(|p| {
                                format!("as of {} ({})", p.provenance.as_of, p.provenance.source)
                            })
                            .unwrap_or_default();
                        v.push(format!("{} purchase ${purchase_usd} {when}", g.id));
                    }
                }
            }
            if let Some(sp) = cat
                .selfhost
                .get(&h.profile)
                .and_then(|p| p.speed_on(&h.gpu))
            {
                v.push(format!(
                    "{} on {}: {} s per 1 MP image as of {} ({})",
                    h.profile, h.gpu, sp.seconds_at_1mp, sp.provenance.as_of, sp.provenance.source
                ));
            }
            if let Some(o) = &h.overflow {
                if let Some(p) = cat.apis.get(&o.api).and_then(|a| a.price_on(s.as_of)) {
                    v.push(format!(
                        "overflow {}: {} as of {}",
                        o.api,
                        p.rule.headline(),
                        p.provenance.as_of
                    ));
                }
            }
        }
    }
    v
}

fn rank(v: &mut [Evaluated]) {
    v.sort_by(|a, b| {
        b.feasible
            .cmp(&a.feasible)
            .then(a.objective_usd.total_cmp(&b.objective_usd))
            .then(a.id.cmp(&b.id))
    });
}

/// A plan's search, set up: the scenario's API options, the candidates, and the scenario
/// they run in (with the inputs the candidates brought).
#[derive(Debug, Clone)]
pub struct Prepared {
    apis: Vec<OptionSpec>,
    candidates: Vec<OptionSpec>,
    notes: Vec<String>,
    scenario: Scenario,
}

/// What screening found: every candidate ranked, and the ones re-run with all paths.
#[derive(Debug, Clone, Serialize)]
pub struct Screening {
    /// Paths per candidate.
    pub screen_paths: u64,
    /// Every candidate, best first.
    pub ranked: Vec<Evaluated>,
    /// The ids of the finalists, best first.
    pub finalists: Vec<String>,
    /// Candidates left out of the final round as twins of one kept, in words.
    pub notes: Vec<String>,
}

impl Screening {
    /// Candidates that could not keep up on more than 5% of the screening paths.
    pub fn over_capacity(&self) -> usize {
        self.ranked
            .iter()
            .filter(|c| c.p_over_capacity > 0.05)
            .count()
    }
}

impl Prepared {
    /// Find the candidates of `s` in `cat` (bad input when no GPU fits).
    pub fn new(s: &Scenario, cat: &Catalogue, cfg: &PlanConfig) -> Result<Prepared> {
        let mut scen = s.clone();
        let mut inputs = scen.inputs.clone();
        let Candidates {
            options: candidates,
            notes,
        } = candidates(s, cat, &mut inputs, &cfg.search, cfg.latency_p95_s);
        if candidates.is_empty() {
            return Err(Error::input(&s.file, "option", "no self-host plan fits: no GPU in the catalogue has a speed for this scenario's models and holds them in memory"));
        }
        scen.inputs = inputs;
        // The candidates brought inputs of their own (uncorrelated): the copula grows with them.
        if !scen.correlations.is_empty() {
            let pairs: Vec<(usize, usize, f64)> = scen
                .correlations
                .iter()
                .map(|(a, b, r)| (a.0, b.0, *r))
                .collect();
            scen.copula = Some(
                crate::dist::Copula::new(scen.inputs.len(), &pairs)
                    .map_err(|p| Error::Invariant(format!("copula: {p}")))?,
            );
        }
        let apis: Vec<OptionSpec> = s
            .options
            .iter()
            .filter(|o| matches!(o.kind, OptionKind::Api { .. }))
            .cloned()
            .collect();
        Ok(Prepared {
            apis,
            candidates,
            notes,
            scenario: scen,
        })
    }

    /// Every candidate beside the API options, for screening on a few paths sharing the same
    /// demand.
    pub fn screen_engine(&self, cat: &Catalogue) -> Result<Engine> {
        let mut scen = self.scenario.clone();
        scen.options = self.apis.iter().chain(&self.candidates).cloned().collect();
        Engine::new(scen, cat)
    }

    /// The screening run's configuration: `cfg`'s, on its screening paths.
    pub fn screen_config(&self, cfg: &PlanConfig) -> RunConfig {
        let mut c = cfg.run.clone();
        c.samples = cfg.screen_paths;
        c.precision = None;
        c.pins.resize(self.scenario.inputs.len(), None);
        c
    }

    /// Rank the screened candidates and keep the finalists.
    pub fn screening(
        &self,
        screen_engine: &Engine,
        screened: &RunResult,
        cfg: &PlanConfig,
        cat: &Catalogue,
    ) -> Screening {
        let mut ranked: Vec<Evaluated> = (self.apis.len()..screen_engine.options.len())
            .map(|i| evaluate(screen_engine, screened, i, cfg, cat))
            .collect();
        rank(&mut ranked);
        // A candidate whose screening figures equal, to the bit, those of one ranked above it
        // (an autoscaler from 0 GPUs that never drops below 1, say) costs a final-round slot
        // and says nothing new: the next distinct candidate takes its place.
        let from_zero = |id: &str| {
            self.candidates.iter().any(|c| {
                c.id == id
                    && matches!(&c.kind, OptionKind::SelfHost(h)
                        if matches!(h.fleet, FleetPolicy::Autoscaled { min: 0, .. }))
            })
        };
        let mut keep: Vec<String> = Vec::new();
        let mut kept: Vec<&Evaluated> = Vec::new();
        let mut notes = Vec::new();
        for e in &ranked {
            if kept.len() == cfg.finalists {
                break;
            }
            let same = |k: &&&Evaluated| {
                k.mean_usd.to_bits() == e.mean_usd.to_bits()
                    && k.std_error_usd.to_bits() == e.std_error_usd.to_bits()
                    && k.p90_usd.to_bits() == e.p90_usd.to_bits()
                    && k.overflow_share.to_bits() == e.overflow_share.to_bits()
                    && k.p_over_capacity.to_bits() == e.p_over_capacity.to_bits()
            };
            if let Some(i) = kept.iter().position(|k| same(&k)) {
                // Of twins, the one that never scales to zero goes on: its quiet hours pool,
                // where a fleet that may stop must be stepped hour by hour.
                let (out, kept_id) = if from_zero(&kept[i].id) && !from_zero(&e.id) {
                    let out = kept[i].id.clone();
                    kept[i] = e;
                    keep[i] = e.id.clone();
                    (out, e.id.clone())
                } else {
                    (e.id.clone(), kept[i].id.clone())
                };
                notes.push(format!(
                    "{out} did exactly as {kept_id} on every screening path; only {kept_id} went to the final round"
                ));
                continue;
            }
            keep.push(e.id.clone());
            kept.push(e);
        }
        Screening {
            screen_paths: cfg.screen_paths,
            ranked,
            finalists: keep,
            notes,
        }
    }

    /// The finalists named by `keep` and the API options, for the run with all paths; bad
    /// input when `keep` names a candidate there is not.
    pub fn final_engine(&self, keep: &[String], cat: &Catalogue) -> Result<Engine> {
        if let Some(k) = keep
            .iter()
            .find(|k| !self.candidates.iter().any(|c| &c.id == *k))
        {
            return Err(Error::input(
                &self.scenario.file,
                "finalists",
                format!("\"{}\" is not a candidate of this scenario's plan; expected finalists chosen by its screening", crate::names::escape(k)),
            ));
        }
        let mut scen = self.scenario.clone();
        scen.options = self
            .apis
            .iter()
            .cloned()
            .chain(
                self.candidates
                    .iter()
                    .filter(|c| keep.contains(&c.id))
                    .cloned(),
            )
            .collect();
        Engine::new(scen, cat)
    }

    /// The final run's configuration: `cfg`'s.
    pub fn final_config(&self, final_engine: &Engine, cfg: &PlanConfig) -> RunConfig {
        let mut c = cfg.run.clone();
        c.pins.resize(final_engine.scenario.inputs.len(), None);
        c
    }

    /// The recommendation from the final run's fold; `catalogue` names the catalogue in the
    /// result's provenance.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &self,
        final_engine: &Engine,
        full: &RunResult,
        (screened, screened_over_capacity): (usize, usize),
        screening_notes: &[String],
        cfg: &PlanConfig,
        cat: &Catalogue,
        catalogue: &str,
    ) -> Result<PlanResult> {
        let mut all: Vec<Evaluated> = (0..final_engine.options.len())
            .map(|i| evaluate(final_engine, full, i, cfg, cat))
            .collect();
        rank(&mut all);
        let api_ids: Vec<String> = self.apis.iter().map(|a| a.id.clone()).collect();
        let best_api = all.iter().find(|e| api_ids.contains(&e.id)).cloned();
        let recommended = all
            .first()
            .cloned()
            .ok_or_else(|| Error::Invariant("no plan evaluated".into()))?;
        // Models on GPUs that no size can bring under the target, screened or not (from the
        // options alone: nothing is simulated).
        let mut latency_unreachable: Vec<String> = Vec::new();
        if let Some(t) = cfg.latency_p95_s {
            let screen_engine = self.screen_engine(cat)?;
            for (i, o) in screen_engine
                .options
                .iter()
                .enumerate()
                .skip(self.apis.len())
            {
                let (Some(sv), OptionKind::SelfHost(h)) = (
                    service_p95(&screen_engine, i),
                    &screen_engine.scenario.options[i].kind,
                ) else {
                    continue;
                };
                let what = format!(
                    "{} on {}: {sv:.2} s at p95 before any wait",
                    h.profile, h.gpu
                );
                if sv > t && !latency_unreachable.contains(&what) && o.fleet.is_some() {
                    latency_unreachable.push(what);
                }
            }
        }
        if !recommended.feasible {
            // Say so rather than recommend the least bad.
            let t = cfg
                .latency_p95_s
                .map(|t| format!(" and a p95 latency of at most {t} s"))
                .unwrap_or_default();
            let why = if latency_unreachable.is_empty() {
                String::new()
            } else {
                format!(
                    "; the service time alone breaks the target for {}",
                    latency_unreachable.join("; ")
                )
            };
            return Err(Error::input(
                "<command line>",
                "latency-p95",
                format!(
                    "no plan keeps up with demand on 95% of paths{t}: the best, {}, fails because {}{why}; expected a looser --latency-p95, a faster GPU in the catalogue, or an api option in the scenario",
                    recommended.id,
                    recommended.infeasible.clone().unwrap_or_default()
                ),
            ));
        }
        let runner_up = all.get(1).cloned();
        let saving = best_api
            .as_ref()
            .map(|b| b.objective_usd - recommended.objective_usd);
        Ok(PlanResult {
            provenance: crate::report::summary::Provenance::new(
                final_engine,
                catalogue,
                cfg.run.seed,
                cfg.run.sampler,
            ),
            objective: cfg.objective,
            latency_p95_s: cfg.latency_p95_s,
            screened,
            screened_over_capacity,
            screen_paths: cfg.screen_paths,
            samples: full.samples,
            recommended,
            runner_up,
            best_api,
            saving_vs_best_api_usd: saving,
            finalists: all,
            notes: self.notes.iter().chain(screening_notes).cloned().collect(),
            latency_unreachable,
        })
    }
}

/// Search for the best plan.
pub fn plan(
    s: &Scenario,
    cat: &Catalogue,
    cfg: &PlanConfig,
    ctl: Controls<'_>,
) -> Result<PlanResult> {
    let prepared = Prepared::new(s, cat, cfg)?;
    // Screening: every candidate on a few paths sharing the same demand.
    let screen_engine = prepared.screen_engine(cat)?;
    let screened = engine::run(&screen_engine, &prepared.screen_config(cfg), ctl)?;
    let screening = prepared.screening(&screen_engine, &screened, cfg, cat);
    // Refinement: the leaders and the API options at full size.
    let final_engine = prepared.final_engine(&screening.finalists, cat)?;
    let full = engine::run(
        &final_engine,
        &prepared.final_config(&final_engine, cfg),
        ctl,
    )?;
    prepared.finish(
        &final_engine,
        &full,
        (screening.ranked.len(), screening.over_capacity()),
        &screening.notes,
        cfg,
        cat,
        &cat.origin,
    )
}
