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
    /// 95th percentile wait of fleet images [s].
    pub p95_queue_delay_s: Summary,
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
    /// Cumulative cost at the end of each month.
    pub cumulative: Vec<MonthPoint>,
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
    /// The uncertain inputs.
    pub inputs: Vec<NamedInput>,
    /// Options, in scenario order.
    pub options: Vec<OptionSummary>,
    /// Winner and runner-up (None with one option).
    pub verdict: Option<Verdict>,
    /// Payback of owned options against each API option.
    pub payback: Vec<crate::analysis::payback::Payback>,
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
        licence_overage_images: st.licence_overage.summary(),
        p_over_capacity: r.p_over_capacity(OptionId(i)),
        p_cheapest: p,
        p_cheapest_std_error: se,
        breakdown_usd: r.mean_breakdown(OptionId(i)),
        by_month: month_points(&st.by_month),
        cumulative: month_points(&st.cumulative),
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
        RunSummary {
            provenance,
            samples: r.samples,
            horizon_months: engine.scenario.horizon_months,
            inputs: engine.scenario.inputs.clone(),
            options,
            verdict,
            payback: Vec::new(),
        }
    }
}
