//! The run summary written to `summary.json` and printed by `--json`.

use crate::engine::ItemKind;
use crate::engine::{Engine, OptionStats, RunResult, Sampler};
use crate::ids::OptionId;
use crate::scenario::{NamedInput, OptionKind};
use crate::stats::{Estimate, Summary};
use serde::Serialize;

/// Where a result came from: enough to reproduce it exactly.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// `breakeven`.
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file as given.
    pub scenario_file: String,
    /// `built-in` or the catalogue folder.
    pub catalogue: String,
    /// Price date requested (`newest` when none).
    pub as_of: String,
    /// Seed.
    pub seed: u64,
    /// Sampler.
    pub sampler: Sampler,
    /// The `--set KEY=VALUE` overrides applied to the scenario file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// The scenario as simulated: the file's TOML after the overrides. Run it again with
    /// `breakeven run` on this text saved to a file.
    pub scenario_toml: String,
}

impl Provenance {
    /// Provenance of a run of `engine`.
    pub fn new(engine: &Engine, catalogue: &str, seed: u64, sampler: Sampler) -> Provenance {
        let s = &engine.scenario;
        Provenance {
            tool: "breakeven",
            version: env!("CARGO_PKG_VERSION"),
            scenario: s.name.clone(),
            scenario_file: s.file.clone(),
            catalogue: catalogue.to_string(),
            as_of: s
                .as_of
                .map(|d| d.to_string())
                .unwrap_or_else(|| "newest".into()),
            seed,
            sampler,
            overrides: s.overrides.clone(),
            scenario_toml: s.text.clone(),
        }
    }
}

/// Monthly statistics of a series.
#[derive(Debug, Clone, Serialize)]
pub struct MonthPoint {
    /// Month from 1.
    pub month: usize,
    /// Mean [USD].
    pub mean: f64,
    /// 5th percentile [USD].
    pub p5: f64,
    /// Median [USD].
    pub p50: f64,
    /// 95th percentile [USD].
    pub p95: f64,
}

/// One option's results.
#[derive(Debug, Clone, Serialize)]
pub struct OptionSummary {
    /// Id.
    pub id: String,
    /// `api` or `selfhost` or `hybrid`.
    pub kind: &'static str,
    /// What serves it, in words.
    pub serves: String,
    /// Added from the catalogue (the whole market), not named in the scenario.
    pub from_market: bool,
    /// Total over the horizon [USD].
    pub total_cost_usd: Summary,
    /// Average month [USD/month].
    pub monthly_cost_usd: Summary,
    /// Total cost over all paths' delivered assets [USD/asset] (a ratio of means), with its
    /// standard error by the delta method.
    pub cost_per_asset_usd: Estimate,
    /// Total cost over all paths' generated images [USD/image] (assets × images per asset).
    pub cost_per_image_usd: Estimate,
    /// GPU utilisation: all paths' work over all paths' capacity (self-hosted).
    pub utilisation: Estimate,
    /// Share of all paths' fleet-bound images overflowed to the API (hybrid).
    pub overflow_share: Estimate,
    /// 95th percentile wait of fleet images [s]: over paths, each path's 95th percentile of
    /// its hours' mean waits, request-weighted.
    pub p95_queue_delay_s: Summary,
    /// End-to-end latency (wait + service) of the images the fleet made, request-weighted over
    /// the horizon and pooled over paths (self-hosted; overflowed images are the API's and not
    /// in it).
    pub latency_s: Option<LatencySummary>,
    /// Licence overage [images over the horizon].
    pub licence_overage_images: Summary,
    /// Probability the fleet cannot keep up (more than 1% of its images still queued at the end).
    pub p_over_capacity: f64,
    /// Probability this option is the cheapest (an option over capacity never is).
    pub p_cheapest: f64,
    /// Standard error of `p_cheapest`.
    pub p_cheapest_std_error: f64,
    /// Mean cost by kind over the horizon [USD].
    pub breakdown_usd: Vec<(ItemKind, f64)>,
    /// Cost in each month.
    pub by_month: Vec<MonthPoint>,
    /// Cumulative cash paid out at the end of each month (owned hardware paid up front).
    pub cumulative: Vec<MonthPoint>,
    /// Present value of the cash at the scenario's discount rate [USD].
    pub present_value_usd: Summary,
    /// Mean cash by month, split into one-time outlays, running costs and API bills [USD].
    pub cash_by_month: Vec<CashMonth>,
    /// Mean of a reservation's term past the horizon, in full [USD] (0 without one).
    pub commitment_left_usd: f64,
    /// True for a self-hosted option that sets no people cost (ops_hours_per_month).
    pub ops_missing: bool,
}

/// One month's mean cash, split.
#[derive(Debug, Clone, Serialize)]
pub struct CashMonth {
    /// Month from 1.
    pub month: usize,
    /// All cash paid out [USD] (negative when a resale comes back).
    pub cash: f64,
    /// One-time outlays: purchase (less resale, in the last month), set-up, a reservation's
    /// rest [USD].
    pub capex: f64,
    /// Running costs: GPU time, power, hosting, people, licences [USD].
    pub opex: f64,
    /// API bills: the API's own, overflow and stages [USD].
    pub api: f64,
}

/// Quantiles of a fleet's end-to-end latency [s]; a quantile that falls among images that
/// waited without end (a fleet that fell behind for good) is `null`, with their share given.
#[derive(Debug, Clone, Serialize)]
pub struct LatencySummary {
    /// Median [s].
    pub p50: f64,
    /// 95th percentile [s].
    pub p95: f64,
    /// 99th percentile [s].
    pub p99: f64,
    /// Images the fleet made over all paths.
    pub images: f64,
    /// Share of them that waited without end (hours over capacity with no steady state).
    pub unbounded_share: f64,
}

impl LatencySummary {
    /// The summary of option `o` of a run, or `None` for an API or a fleet that made nothing.
    pub fn of(engine: &Engine, o: OptionId, st: &OptionStats) -> Option<LatencySummary> {
        let h = engine.latency(o, st)?;
        let images = h.total();
        (images > 0.0).then(|| LatencySummary {
            p50: h.quantile(0.5),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
            images,
            unbounded_share: h.unbounded() / images,
        })
    }
}

/// The comparison a run leads with, in one sentence's worth of numbers: the best API against
/// the best self-hosted option that keeps up (or the pair `--against` names).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// What is compared: `api-vs-selfhost`, `against` (chosen), or `leaders` (no API, or no
    /// self-hosted option, so the two lowest means).
    pub compared: &'static str,
    /// The option of the pair with the lower mean total.
    pub winner: String,
    /// The other.
    pub runner_up: String,
    /// Mean saving of the winner over the runner-up over the horizon [USD].
    pub mean_saving_usd: f64,
    /// Its standard error [USD].
    pub mean_saving_std_error: f64,
    /// Mean saving per month [USD/month].
    pub mean_saving_per_month_usd: f64,
    /// Probability the winner is cheaper than the runner-up on a path (a fleet that cannot
    /// keep up never is).
    pub p_winner_cheaper: f64,
    /// Probability the winner is the cheapest of all.
    pub p_winner_cheapest: f64,
    /// The option with the lowest mean total of all (may be outside the pair).
    pub lowest_mean: String,
    /// The option that is the cheapest on the most paths.
    pub most_often_cheapest: String,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Reproduction data.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Paths simulated.
    pub samples: u64,
    /// Months simulated.
    pub horizon_months: u32,
    /// Yearly discount rate of the present values.
    pub discount_rate_per_year: f64,
    /// The uncertain inputs.
    pub inputs: Vec<NamedInput>,
    /// Options, in scenario order.
    pub options: Vec<OptionSummary>,
    /// Winner and runner-up (None with one option).
    pub verdict: Option<Verdict>,
    /// Payback of owned options against each API option.
    pub payback: Vec<crate::analysis::payback::Payback>,
    /// The multiple of today's API prices below which each self-hosted option stops paying,
    /// against each API option.
    pub api_price_breakeven: Vec<crate::analysis::api_price::ApiPriceBreakeven>,
    /// The scenario's named API options that are not the cheapest hosted way to do the same
    /// work, with what they cost more.
    pub dearer_named_apis: Vec<DearerApi>,
}

/// A named API option that costs more than the cheapest hosted offering of the same work.
#[derive(Debug, Clone, Serialize)]
pub struct DearerApi {
    /// The named option.
    pub named: String,
    /// The cheapest API option (named or from the catalogue).
    pub cheapest: String,
    /// What the named option costs more over the horizon, mean [USD].
    pub more_usd: f64,
    /// Its standard error [USD].
    pub more_std_error: f64,
}

fn month_points(v: &[crate::stats::Stream]) -> Vec<MonthPoint> {
    v.iter()
        .enumerate()
        .map(|(m, s)| {
            let q = s.quantiles(&[0.05, 0.5, 0.95]);
            MonthPoint {
                month: m + 1,
                mean: s.mean(),
                p5: q[0],
                p50: q[1],
                p95: q[2],
            }
        })
        .collect()
}

/// What an option is, in words and as a kind.
pub fn describe(engine: &Engine, i: usize) -> (&'static str, String) {
    match &engine.scenario.options[i].kind {
        OptionKind::Api { api, .. } if engine.scenario.options[i].from_market => {
            ("api", format!("{api} (from the catalogue: same work)"))
        }
        OptionKind::Api { api, .. } => ("api", api.clone()),
        OptionKind::SelfHost(h) => {
            let fleet = match &h.fleet {
                crate::scenario::FleetPolicy::Fixed { gpus } => format!("{gpus}× {}", h.gpu),
                crate::scenario::FleetPolicy::Autoscaled { min, max, .. } => {
                    format!("{min}–{max}× {} autoscaled", h.gpu)
                }
                crate::scenario::FleetPolicy::Serverless { max_workers } => {
                    format!("≤{max_workers}× {} serverless", h.gpu)
                }
            };
            let pay = match &h.payment {
                crate::scenario::Payment::Hourly { offer, .. }
                | crate::scenario::Payment::Serverless { offer, .. } => offer.clone(),
                crate::scenario::Payment::Owned { .. } => "owned".into(),
            };
            match &h.overflow {
                Some(o) if o.api == crate::scenario::CHEAPEST => (
                    "hybrid",
                    format!(
                        "{} on {fleet} ({pay}), overflow to the cheapest API for each image",
                        h.profile
                    ),
                ),
                Some(o) => (
                    "hybrid",
                    format!("{} on {fleet} ({pay}), overflow to {}", h.profile, o.api),
                ),
                None => ("selfhost", format!("{} on {fleet} ({pay})", h.profile)),
            }
        }
    }
}

fn option_summary(engine: &Engine, r: &RunResult, i: usize, st: &OptionStats) -> OptionSummary {
    let (kind, serves) = describe(engine, i);
    let (p, se) = r.p_cheapest(OptionId(i));
    let per_asset = st.per_asset.estimate();
    let images_per_asset: f64 = engine.scenario.stages.iter().map(|s| s.per_asset).sum();
    OptionSummary {
        id: engine.options[i].id.clone(),
        kind,
        serves,
        from_market: engine.scenario.options[i].from_market,
        total_cost_usd: st.total.summary(),
        monthly_cost_usd: st.monthly.summary(),
        cost_per_asset_usd: per_asset,
        cost_per_image_usd: Estimate {
            value: per_asset.value / images_per_asset,
            std_error: per_asset.std_error / images_per_asset,
        },
        utilisation: st.utilisation.estimate(),
        overflow_share: st.overflow.estimate(),
        p95_queue_delay_s: st.p95_wait.summary(),
        latency_s: LatencySummary::of(engine, OptionId(i), st),
        licence_overage_images: st.licence_overage.summary(),
        p_over_capacity: r.p_over_capacity(OptionId(i)),
        p_cheapest: p,
        p_cheapest_std_error: se,
        breakdown_usd: r.mean_breakdown(OptionId(i)),
        by_month: month_points(&st.by_month),
        cumulative: month_points(&st.cumulative),
        present_value_usd: st.present_value.summary(),
        cash_by_month: (0..st.cash_by_month.len())
            .map(|m| {
                let (cash, capex, api) = (
                    st.cash_by_month[m].mean(),
                    st.capex_by_month[m].mean(),
                    st.api_by_month[m].mean(),
                );
                CashMonth {
                    month: m + 1,
                    cash,
                    capex,
                    opex: cash - capex - api,
                    api,
                }
            })
            .collect(),
        commitment_left_usd: st.commitment_left.mean(),
        ops_missing: match &engine.scenario.options[i].kind {
            OptionKind::SelfHost(h) => !h.ops_given,
            _ => false,
        },
    }
}

impl RunSummary {
    /// The API option with the lowest mean total.
    pub fn best_api(&self) -> Option<&OptionSummary> {
        self.options
            .iter()
            .filter(|o| o.kind == "api")
            .min_by(|a, b| a.total_cost_usd.mean.total_cmp(&b.total_cost_usd.mean))
    }

    /// The break-even API prices worth a sentence: the headline's self-hosted option against
    /// the best API.
    pub fn api_prices_to_tell(
        &self,
    ) -> impl Iterator<Item = &crate::analysis::api_price::ApiPriceBreakeven> {
        let api = self.best_api().map(|o| o.id.clone());
        let own = self.verdict.as_ref().and_then(|v| {
            [&v.winner, &v.runner_up]
                .into_iter()
                .find(|id| self.options.iter().any(|o| &o.id == *id && o.kind != "api"))
                .cloned()
        });
        self.api_price_breakeven
            .iter()
            .filter(move |p| Some(&p.api) == api.as_ref() && Some(&p.selfhost) == own.as_ref())
    }

    /// The paybacks worth a sentence: owned hardware against the best API.
    pub fn paybacks_to_tell(&self) -> impl Iterator<Item = &crate::analysis::payback::Payback> {
        let api = self.best_api().map(|o| o.id.clone());
        self.payback
            .iter()
            .filter(move |p| p.upfront_usd > 0.0 && Some(&p.api) == api.as_ref())
    }

    /// Summarise a run; `against` names the pair to lead with (default: the best API against
    /// the best self-hosted option).
    pub fn new(
        engine: &Engine,
        r: &RunResult,
        provenance: Provenance,
        against: Option<(OptionId, OptionId)>,
    ) -> RunSummary {
        let options: Vec<OptionSummary> = r
            .options
            .iter()
            .enumerate()
            .map(|(i, st)| option_summary(engine, r, i, st))
            .collect();
        let compared = match (against, r.best_api(), r.best_selfhost()) {
            (Some(_), _, _) => "against",
            (None, Some(_), Some(_)) => "api-vs-selfhost",
            _ => "leaders",
        };
        let verdict = r.headline(against).map(|h| {
            let (d, se) = r.difference(h.b, h.a).unwrap_or((0.0, 0.0));
            let lowest = r.leaders().map(|l| l.0).unwrap_or(h.a);
            let most = (0..options.len())
                .max_by(|a, b| options[*a].p_cheapest.total_cmp(&options[*b].p_cheapest))
                .unwrap_or(h.a.0);
            Verdict {
                compared,
                winner: options[h.a.0].id.clone(),
                runner_up: options[h.b.0].id.clone(),
                mean_saving_usd: d,
                mean_saving_std_error: se,
                mean_saving_per_month_usd: d / engine.scenario.horizon_months as f64,
                p_winner_cheaper: r.p_cheaper(h.a, h.b),
                p_winner_cheapest: options[h.a.0].p_cheapest,
                lowest_mean: options[lowest.0].id.clone(),
                most_often_cheapest: options[most].id.clone(),
            }
        });
        let dearer_named_apis = match r.best_api() {
            Some(best) => (0..options.len())
                .filter(|&i| {
                    r.is_api[i] && !engine.scenario.options[i].from_market && OptionId(i) != best
                })
                .filter_map(|i| {
                    let (d, se) = r.difference(OptionId(i), best)?;
                    Some(DearerApi {
                        named: options[i].id.clone(),
                        cheapest: options[best.0].id.clone(),
                        more_usd: d,
                        more_std_error: se,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        RunSummary {
            api_price_breakeven: Vec::new(),
            dearer_named_apis,
            provenance,
            samples: r.samples,
            horizon_months: engine.scenario.horizon_months,
            discount_rate_per_year: engine.scenario.discount_rate_per_year,
            inputs: engine.scenario.inputs.clone(),
            options,
            verdict,
            payback: Vec::new(),
        }
    }
}

impl RunSummary {
    /// `monthly.csv`: per option and month, the cost (mean, p5, p50, p95) and the mean cash
    /// split into one-time outlays, running costs and API bills [USD].
    pub fn monthly_csv(&self) -> crate::Result<Vec<u8>> {
        let io = |e: csv::Error| crate::Error::Io {
            path: "monthly.csv".into(),
            source: e.into(),
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "option",
            "month",
            "cost_mean_usd",
            "cost_p5_usd",
            "cost_p50_usd",
            "cost_p95_usd",
            "cash_mean_usd",
            "one_time_mean_usd",
            "running_mean_usd",
            "api_mean_usd",
            "cumulative_cash_p50_usd",
        ])
        .map_err(io)?;
        for o in &self.options {
            for ((cost, cash), cum) in o.by_month.iter().zip(&o.cash_by_month).zip(&o.cumulative) {
                w.write_record([
                    o.id.clone(),
                    cost.month.to_string(),
                    cost.mean.to_string(),
                    cost.p5.to_string(),
                    cost.p50.to_string(),
                    cost.p95.to_string(),
                    cash.cash.to_string(),
                    cash.capex.to_string(),
                    cash.opex.to_string(),
                    cash.api.to_string(),
                    cum.p50.to_string(),
                ])
                .map_err(io)?;
            }
        }
        w.into_inner()
            .map_err(|e| io(csv::Error::from(e.into_error())))
    }
}
