//! The run summary written to `summary.json` and printed by `--json`.

use crate::engine::{Engine, OptionStats, RunResult, Sampler};
use crate::fleet::ItemKind;
use crate::scenario::{NamedInput, OptionKind};
use crate::stats::{proportion, Summary};
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
    /// Per delivered asset [USD].
    pub cost_per_image_usd: Summary,
    /// GPU utilisation (self-hosted).
    pub utilisation: Summary,
    /// Share overflowed to the API (hybrid).
    pub overflow_share: Summary,
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

/// The comparison in one sentence's worth of numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Option with the lowest mean total.
    pub winner: String,
    /// The next one.
    pub runner_up: String,
    /// Mean saving of the winner over the runner-up over the horizon [USD].
    pub mean_saving_usd: f64,
    /// Its standard error [USD].
    pub mean_saving_std_error: f64,
    /// Mean saving per month [USD/month].
    pub mean_saving_per_month_usd: f64,
    /// Probability the winner is cheaper than the runner-up on a path.
    pub p_winner_cheaper: f64,
    /// Probability the winner is the cheapest of all.
    pub p_winner_cheapest: f64,
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
    /// True when Ctrl-C stopped the run early.
    pub interrupted: bool,
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
    let (p, se) = proportion(st.cheapest, r.samples);
    OptionSummary {
        id: engine.options[i].id.clone(),
        kind,
        serves,
        total_cost_usd: st.total.summary(),
        monthly_cost_usd: st.monthly.summary(),
        cost_per_image_usd: st.per_asset.summary(),
        utilisation: st.utilisation.summary(),
        overflow_share: st.overflow.summary(),
        p95_queue_delay_s: st.p95_wait.summary(),
        licence_overage_images: st.licence_overage.summary(),
        p_over_capacity: st.over_capacity as f64 / r.samples.max(1) as f64,
        p_cheapest: p,
        p_cheapest_std_error: se,
        breakdown_usd: st.breakdown.clone(),
        by_month: month_points(&st.by_month),
        cumulative: month_points(&st.cumulative),
    }
}

impl RunSummary {
    /// Summarise a run.
    pub fn new(engine: &Engine, r: &RunResult, provenance: Provenance) -> RunSummary {
        let options: Vec<OptionSummary> = r
            .options
            .iter()
            .enumerate()
            .map(|(i, st)| option_summary(engine, r, i, st))
            .collect();
        let verdict = r.leaders().map(|(a, b)| {
            let (d, se) = r.difference(b, a).unwrap_or((0.0, 0.0));
            Verdict {
                winner: options[a].id.clone(),
                runner_up: options[b].id.clone(),
                mean_saving_usd: d,
                mean_saving_std_error: se,
                mean_saving_per_month_usd: d / engine.scenario.horizon_months as f64,
                p_winner_cheaper: r.p_cheaper(a, b),
                p_winner_cheapest: options[a].p_cheapest,
            }
        });
        RunSummary {
            provenance,
            samples: r.samples,
            horizon_months: engine.scenario.horizon_months,
            interrupted: r.interrupted,
            inputs: engine.scenario.inputs.clone(),
            options,
            verdict,
            payback: Vec::new(),
        }
    }
}
