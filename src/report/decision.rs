//! The answer on one screen: which way to go, how sure it is, the three inputs that drive it,
//! and the thresholds that would flip it.
//!
//! The decision is the run's headline: the best API option against the best self-hosted one
//! (or the pair `--against` names), by mean total cost over the horizon. The flip thresholds
//! are exact for that comparison of means, because costs are linear in prices: every API image
//! (served or overflowed) is billed at the API's price, so scaling API prices by `f` scales
//! those items by `f` and nothing else; likewise GPU rental (hours, seconds) and the owned
//! GPUs' amortised purchase scale with the GPU price. Solving `mean A(f) = mean B(f)` for `f`
//! gives the factor at which the two means are equal. What it does not capture: a price change
//! that makes another option the best of its kind, and fleets that cannot keep up (never
//! counted as cheaper on a path, which a comparison of means ignores). The volume threshold is
//! the sweep's median break-even, where the probability that self-hosting is cheaper crosses
//! one half, with its p5–p95 over the paths.

use super::summary::{OptionSummary, RunSummary};
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::engine::{Engine, ItemKind};

/// One of the inputs that move the answer most.
#[derive(Debug, Clone, PartialEq)]
pub struct Driver {
    /// The input in words (`growth per month`).
    pub input: String,
    /// Its p10 and p90 values.
    pub values: (f64, f64),
    /// The headline saving with the input at its p10 and at its p90 [USD over the horizon].
    pub headline: (f64, f64),
}

/// The first screen of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The option of the pair with the lower mean total.
    pub choose: String,
    /// Whether it is an API option.
    pub choose_is_api: bool,
    /// The other option of the pair.
    pub over: String,
    /// Probability that `choose` is cheaper on a path.
    pub p_cheaper: f64,
    /// Mean saving a month [USD/month] and its standard error.
    pub saving_per_month: (f64, f64),
    /// p5, p50, p95 of each option's average monthly cost [USD/month]: `choose`, then `over`.
    pub ranges: [(String, f64, f64, f64); 2],
    /// Up to three inputs, the widest swing first.
    pub drivers: Vec<Driver>,
    /// What the drivers' figures are, in words (`total cost of A minus B over 24 months`).
    pub headline: String,
    /// Median break-even volume of the pair, p5 and p95 [images/month], when there is a sweep.
    pub breakeven_volume: Option<(Option<f64>, Option<f64>, Option<f64>)>,
    /// The scenario's median monthly volume at the start and in the last month.
    pub volume_now: (f64, f64),
    /// API prices × this make the two means equal (`None`: no positive factor does).
    pub api_price_flip: Option<f64>,
    /// GPU rents (by the hour or second) × this make the two means equal.
    pub gpu_price_flip: Option<f64>,
}

fn spend(o: &OptionSummary, kinds: &[ItemKind]) -> f64 {
    o.breakdown_usd
        .iter()
        .filter(|(k, _)| kinds.contains(k))
        .map(|(_, v)| v)
        .sum()
}

const API: [ItemKind; 2] = [ItemKind::ApiImages, ItemKind::OverflowImages];
// What `gpu_price_factor` multiplies: rent by the hour or second (not a purchase).
const GPU: [ItemKind; 2] = [ItemKind::GpuHours, ItemKind::GpuSeconds];

/// The factor `f > 0` at which `fixed_a + f·var_a = fixed_b + f·var_b`, if there is one.
fn flip(fixed_a: f64, var_a: f64, fixed_b: f64, var_b: f64) -> Option<f64> {
    let d = var_a - var_b;
    if d.abs() < 1e-9 * (var_a.abs() + var_b.abs()).max(1e-9) {
        return None;
    }
    let f = (fixed_b - fixed_a) / d;
    (f.is_finite() && f > 0.0).then_some(f)
}

impl Decision {
    /// The decision of a run, with the sensitivity and sweep when the report has them.
    pub fn new(
        e: &Engine,
        run: &RunSummary,
        sensitivity: Option<&SensitivityResult>,
        sweep: Option<&SweepResult>,
    ) -> Option<Decision> {
        let v = run.verdict.as_ref()?;
        let find = |id: &str| run.options.iter().find(|o| o.id == id);
        let (win, lose) = (find(&v.winner)?, find(&v.runner_up)?);
        let months = f64::from(run.horizon_months.max(1));
        let range = |o: &OptionSummary| {
            let m = &o.monthly_cost_usd;
            (o.id.clone(), m.p5, m.p50, m.p95)
        };
        let total = |o: &OptionSummary| o.total_cost_usd.mean;
        let api_flip = flip(
            total(win) - spend(win, &API),
            spend(win, &API),
            total(lose) - spend(lose, &API),
            spend(lose, &API),
        );
        let gpu_flip = flip(
            total(win) - spend(win, &GPU),
            spend(win, &GPU),
            total(lose) - spend(lose, &GPU),
            spend(lose, &GPU),
        );
        let mut drivers: Vec<Driver> = sensitivity
            .map(|s| {
                s.tornado
                    .iter()
                    .filter(|b| b.swing > 0.0)
                    .map(|b| Driver {
                        input: super::words::input_label(&b.input),
                        values: (b.low_value, b.high_value),
                        headline: (b.headline_at_low, b.headline_at_high),
                    })
                    .collect()
            })
            .unwrap_or_default();
        drivers.sort_by(|a, b| {
            (b.headline.1 - b.headline.0)
                .abs()
                .total_cmp(&(a.headline.1 - a.headline.0).abs())
        });
        drivers.truncate(3);
        let (api, sh) = if win.kind == "api" {
            (&win.id, &lose.id)
        } else {
            (&lose.id, &win.id)
        };
        let breakeven_volume = sweep.and_then(|s| {
            s.breakeven
                .iter()
                .find(|b| &b.selfhost == sh && &b.api == api)
                .map(|b| match &b.volume {
                    Some(q) => (q.p50, q.p5, q.p95),
                    None => (None, None, None),
                })
        });
        let sc = &e.scenario;
        let start = sc.input(sc.demand.monthly).dist.median();
        let g = sc.input(sc.demand.growth).dist.median();
        let end = start * (1.0 + g).powi(sc.horizon_months as i32 - 1);
        Some(Decision {
            choose: win.id.clone(),
            choose_is_api: win.kind == "api",
            over: lose.id.clone(),
            p_cheaper: v.p_winner_cheaper,
            saving_per_month: (
                v.mean_saving_per_month_usd,
                v.mean_saving_std_error / months,
            ),
            ranges: [range(win), range(lose)],
            drivers,
            headline: sensitivity
                .map(|s| s.headline.trim_end_matches(" [USD]").to_string())
                .unwrap_or_default(),
            breakeven_volume,
            volume_now: (start, end),
            api_price_flip: api_flip,
            gpu_price_flip: gpu_flip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_solves_the_linear_equation() {
        // API: 0 fixed + 10,000 of API spend; self-host: 8,000 fixed + 1,000 overflow spend.
        // Equal when 10,000 f = 8,000 + 1,000 f: f = 8/9.
        let f = flip(0.0, 10_000.0, 8_000.0, 1_000.0).unwrap();
        assert!((f - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!(flip(0.0, 1.0, 5.0, 1.0), None, "parallel: never equal");
        assert_eq!(flip(10.0, 2.0, 5.0, 1.0), None, "only at a negative price");
        assert_eq!(flip(10.0, 1.0, 5.0, 2.0), Some(5.0));
    }
}
