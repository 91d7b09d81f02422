//! Which assumptions move the answer.
//!
//! The headline is the total cost difference of the run's headline pair: the best API against
//! the best self-hosted option (or the two `--against` names), the dearer minus the cheaper
//! on average, so positive while the cheaper one stays ahead.
//! - Tornado: each uncertain input swings from its 10th to its 90th percentile with every other
//!   input at its median. Arrivals are taken as fluid (expected counts) so each bar is an exact
//!   function of the inputs, not a noisy estimate.
//! - Global: Spearman rank correlation of each input with the headline over the full joint
//!   distribution (inputs sampled together, correlations and Poisson noise included).
//!
//! Ranks need every path, so the joint run keeps each path's inputs and totals ([`Joint`]):
//! memory grows with paths, on one machine and in a merge of shards alike.

use crate::engine::fold::{self, Checked, Unfit, Validate};
use crate::engine::{self, Controls, Engine, Fold, PathResult, RunConfig, RunResult, Sampler};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::scenario::Arrivals;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// One bar of the tornado.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Input name.
    pub input: String,
    /// Its unit.
    pub unit: String,
    /// Input at its 10th percentile.
    pub low_value: f64,
    /// Input at its 90th percentile.
    pub high_value: f64,
    /// Headline with the input low [USD].
    pub headline_at_low: f64,
    /// Headline with the input high [USD].
    pub headline_at_high: f64,
    /// |high − low| [USD].
    pub swing: f64,
    /// Spearman rank correlation with the headline under the joint distribution.
    pub spearman: f64,
}

/// The result.
#[derive(Debug, Clone, Serialize)]
pub struct SensitivityResult {
    /// Reproduction data.
    #[serde(flatten)]
    pub provenance: crate::report::summary::Provenance,
    /// Paths of the joint run.
    pub samples: u64,
    /// What the headline is.
    pub headline: String,
    /// Leader and runner-up option ids.
    pub leader: String,
    /// Runner-up option id.
    pub runner_up: String,
    /// Headline with every input at its median [USD].
    pub baseline_usd: f64,
    /// Bars, largest swing first.
    pub tornado: Vec<Bar>,
    /// Uncertain inputs that moved the headline by less than 0.1% of the largest swing and
    /// show no rank correlation (|ρ| < 0.05).
    pub never_matter: Vec<String>,
    /// Inputs with a fixed value.
    pub fixed_inputs: Vec<String>,
    /// Share of the tornado's summed swings that comes from prices (API price factors, GPU
    /// price factors and price drifts): how much of the answer hangs on prices.
    pub price_share: f64,
}

/// True for the inputs that are prices: price factors and drifts.
pub fn is_price_input(name: &str) -> bool {
    name.ends_with("price_factor") || name.ends_with("price_drift")
}

/// The headline on a path of which `totals` are the options' totals [USD].
fn headline(totals: &[f64], a: OptionId, b: OptionId) -> f64 {
    totals[b.0] - totals[a.0]
}

/// Every option's total on a path [USD].
fn totals(p: &PathResult) -> Vec<f64> {
    p.options.iter().map(|o| o.total_usd).collect()
}

/// Each path's sampled inputs and options' totals, in path order: what the rank
/// correlations need, gathered by the joint run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joint {
    /// Inputs of the scenario.
    inputs: usize,
    /// Options of the scenario.
    options: usize,
    /// Per path: its inputs, in the scenario's order, and each option's total [USD].
    items: Vec<(Vec<f64>, Vec<f64>)>,
}

impl Joint {
    /// An empty fold for the scenario of `e`.
    pub fn new(e: &Engine) -> Joint {
        Joint {
            inputs: e.scenario.inputs.len(),
            options: e.options.len(),
            items: Vec::new(),
        }
    }
}

impl Fold for Joint {
    type Path = PathResult;
    fn add(&mut self, p: &PathResult) -> Result<()> {
        let Joint {
            inputs: _,
            options: _,
            items,
        } = self;
        items.push((p.inputs.clone(), totals(p)));
        Ok(())
    }
    fn merge(&mut self, later: Self) {
        let Joint {
            inputs: _,
            options: _,
            items,
        } = self;
        items.extend(later.items);
    }
}

impl Validate for Joint {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let Joint {
            inputs,
            options,
            items,
        } = self;
        fold::setting("inputs", inputs, &empty.inputs)?;
        fold::setting("options", options, &empty.options)?;
        fold::all_paths("items", items.len() as u64, paths)?;
        for (i, (x, t)) in items.iter().enumerate() {
            let at = |what: &str| format!("items[{i}].{what}");
            if x.len() != *inputs || t.len() != *options {
                return Err(Unfit::new(format!(
                    "has {} inputs and {} totals; expected {inputs} and {options}",
                    x.len(),
                    t.len()
                ))
                .under(&format!("items[{i}]")));
            }
            // Inputs only take part in ranks: finite is all they need to be.
            if let Some(k) = x.iter().position(|v| !v.is_finite()) {
                return Err(Unfit::new(format!("is {}; expected a finite number", x[k]))
                    .under(&at(&format!("0[{k}]"))));
            }
            for (k, v) in t.iter().enumerate() {
                fold::value(*v).map_err(|u| u.under(&at(&format!("1[{k}]"))))?;
            }
        }
        Ok(())
    }
}

/// The joint run's fold: the run's statistics (for the headline pair) and the paths.
pub type JointFold = (RunResult, Joint);

/// An empty [`JointFold`] of `e`.
pub fn joint_fold(e: &Engine) -> JointFold {
    (e.new_result(), Joint::new(e))
}

/// The tornado's evaluations under fluid arrivals, as every option's total: with every input
/// at its median, and for each uncertain input with it at its 10th and at its 90th percentile
/// (`None` for a fixed input). The bars are differences of these, once the headline pair is
/// known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tornado {
    /// Every option's total with every input at its median [USD].
    pub baseline: Vec<f64>,
    /// Per input: the totals with it low and with it high [USD].
    pub swings: Vec<Option<[Vec<f64>; 2]>>,
}

impl Tornado {
    /// Evaluate the tornado of `e` (each evaluation one fluid path from `seed`).
    pub fn evaluate(e: &Engine, seed: u64) -> Result<Tornado> {
        let mut fluid = e.scenario.clone();
        fluid.demand.arrivals = Arrivals::Fluid;
        let fe = e.with_scenario(fluid);
        let medians: Vec<Option<f64>> = e
            .scenario
            .inputs
            .iter()
            .map(|i| Some(i.dist.median()))
            .collect();
        let eval = |pins: Vec<Option<f64>>| -> Result<Vec<f64>> {
            let mut c = RunConfig::new(1, seed);
            c.pins = pins;
            let p = fe.simulate_path(0, &mut Xoshiro256PlusPlus::seed_from_u64(seed), &c, false)?;
            Ok(totals(&p))
        };
        let baseline = eval(medians.clone())?;
        let mut swings = Vec::new();
        for (i, inp) in e.scenario.inputs.iter().enumerate() {
            if inp.dist.is_fixed() {
                swings.push(None);
                continue;
            }
            let mut p = medians.clone();
            p[i] = Some(inp.dist.quantile(0.1));
            let at_lo = eval(p.clone())?;
            p[i] = Some(inp.dist.quantile(0.9));
            let at_hi = eval(p)?;
            swings.push(Some([at_lo, at_hi]));
        }
        Ok(Tornado { baseline, swings })
    }

    /// Shaped as the tornado of `e` is, every total finite and in range (one read from a part).
    pub fn validate(&self, e: &Engine) -> Checked {
        let n = e.options.len();
        let totals = |key: &str, t: &[f64]| -> Checked {
            if t.len() != n {
                return Err(Unfit::new(format!("has {} totals; expected {n}", t.len())).under(key));
            }
            for (k, v) in t.iter().enumerate() {
                fold::value(*v).map_err(|u| u.under(&format!("{key}[{k}]")))?;
            }
            Ok(())
        };
        totals("baseline", &self.baseline)?;
        let inputs = &e.scenario.inputs;
        if self.swings.len() != inputs.len() {
            return Err(Unfit::new(format!(
                "has {} inputs; expected {}",
                self.swings.len(),
                inputs.len()
            ))
            .under("swings"));
        }
        for (i, (sw, inp)) in self.swings.iter().zip(inputs).enumerate() {
            match sw {
                None if inp.dist.is_fixed() => {}
                Some([lo, hi]) if !inp.dist.is_fixed() => {
                    totals(&format!("swings[{i}][0]"), lo)?;
                    totals(&format!("swings[{i}][1]"), hi)?;
                }
                _ => {
                    return Err(Unfit::new(format!(
                        "does not match input {} (swung when uncertain, absent when fixed)",
                        inp.name
                    ))
                    .under(&format!("swings[{i}]")))
                }
            }
        }
        Ok(())
    }
}

/// Spearman rank correlation (Pearson correlation of ranks, ties averaged).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            let avg = (i + j) as f64 / 2.0;
            for k in i..=j {
                r[idx[k]] = avg;
            }
            i = j + 1;
        }
        r
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Run the analysis: `cfg` sets the joint run's paths, seed and threads; `against` names the
/// pair to compare (default: the best API against the best self-hosted option).
pub fn analyse(
    e: &Engine,
    catalogue: &str,
    cfg: &RunConfig,
    against: Option<(OptionId, OptionId)>,
    ctl: Controls<'_>,
) -> Result<SensitivityResult> {
    check_options(e)?;
    let (joint, gathered) = engine::run_with(e, cfg, ctl, &|| joint_fold(e), None)?;
    let tornado = Tornado::evaluate(e, cfg.seed)?;
    finish(
        e,
        catalogue,
        (cfg.seed, cfg.sampler),
        against,
        &(joint, gathered),
        &tornado,
    )
}

/// Sensitivity compares options: a scenario with one has none to compare.
pub fn check_options(e: &Engine) -> Result<()> {
    if e.options.len() < 2 {
        return Err(Error::input(
            &e.scenario.file,
            "option",
            "sensitivity compares options; this scenario has only one",
        ));
    }
    Ok(())
}

/// The result from the joint run's fold and the tornado's evaluations (a single run's, or
/// those merged from a sharded run's parts: the same numbers give the same bytes).
pub fn finish(
    e: &Engine,
    catalogue: &str,
    (seed, sampler): (u64, Sampler),
    against: Option<(OptionId, OptionId)>,
    (joint, gathered): &JointFold,
    tornado: &Tornado,
) -> Result<SensitivityResult> {
    check_options(e)?;
    let n_in = e.scenario.inputs.len();
    let hl = joint
        .headline(against)
        .ok_or_else(|| Error::Invariant("no headline pair".into()))?;
    let (a, b) = (hl.a, hl.b);
    let paths = &gathered.items;
    let h: Vec<f64> = paths.iter().map(|(_, t)| headline(t, a, b)).collect();
    let mut inputs: Vec<Vec<f64>> = vec![Vec::with_capacity(paths.len()); n_in];
    for (x, _) in paths {
        for (i, v) in x.iter().enumerate() {
            inputs[i].push(*v);
        }
    }

    // Tornado under fluid arrivals.
    let baseline = headline(&tornado.baseline, a, b);
    let mut bars = Vec::new();
    let mut fixed_inputs = Vec::new();
    for (i, (inp, sw)) in e.scenario.inputs.iter().zip(&tornado.swings).enumerate() {
        let Some([t_lo, t_hi]) = sw else {
            fixed_inputs.push(inp.name.clone());
            continue;
        };
        let (lo, hi) = (inp.dist.quantile(0.1), inp.dist.quantile(0.9));
        let (at_lo, at_hi) = (headline(t_lo, a, b), headline(t_hi, a, b));
        bars.push(Bar {
            input: inp.name.clone(),
            unit: inp.unit.to_string(),
            low_value: lo,
            high_value: hi,
            headline_at_low: at_lo,
            headline_at_high: at_hi,
            swing: (at_hi - at_lo).abs(),
            spearman: spearman(&inputs[i], &h),
        });
    }
    bars.sort_by(|x, y| y.swing.total_cmp(&x.swing).then(x.input.cmp(&y.input)));
    let top = bars.first().map(|b| b.swing).unwrap_or(0.0);
    let all: f64 = bars.iter().map(|b| b.swing).sum();
    let prices: f64 = bars
        .iter()
        .filter(|b| is_price_input(&b.input))
        .map(|b| b.swing)
        .sum();
    let price_share = if all > 0.0 { prices / all } else { 0.0 };
    let never_matter = bars
        .iter()
        .filter(|b| b.swing <= 1e-3 * top && b.spearman.abs() < 0.05)
        .map(|b| b.input.clone())
        .collect();
    Ok(SensitivityResult {
        provenance: crate::report::summary::Provenance::new(e, catalogue, seed, sampler),
        samples: joint.samples,
        headline: format!(
            "total cost of {} minus {} over {} months [USD]",
            e.option(b).id,
            e.option(a).id,
            e.scenario.horizon_months
        ),
        leader: e.option(a).id.clone(),
        runner_up: e.option(b).id.clone(),
        baseline_usd: baseline,
        tornado: bars,
        never_matter,
        fixed_inputs,
        price_share,
    })
}
