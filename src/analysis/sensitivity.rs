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

use crate::engine::{self, Controls, Engine, Gather, PathResult, RunConfig};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::scenario::Arrivals;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

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

fn headline(p: &PathResult, a: OptionId, b: OptionId) -> f64 {
    p.options[b.0].total_usd - p.options[a.0].total_usd
}

/// A path's inputs and each option's total: what the rank correlations need.
type InputsAndTotals = (Vec<f64>, Vec<f64>);

fn inputs_and_totals(p: &PathResult) -> InputsAndTotals {
    (
        p.inputs.clone(),
        p.options.iter().map(|o| o.total_usd).collect(),
    )
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
    if e.options.len() < 2 {
        return Err(Error::input(
            &e.scenario.file,
            "option",
            "sensitivity compares options; this scenario has only one",
        ));
    }
    let n_in = e.scenario.inputs.len();
    let (joint, gathered) = engine::run_with(
        e,
        cfg,
        ctl,
        &|| (e.new_result(), Gather::new(inputs_and_totals)),
        None,
    )?;
    let hl = joint
        .headline(against)
        .ok_or_else(|| Error::Invariant("no headline pair".into()))?;
    let (a, b) = (hl.a, hl.b);
    let paths = gathered.items;
    let h: Vec<f64> = paths.iter().map(|(_, t)| t[b.0] - t[a.0]).collect();
    let mut inputs: Vec<Vec<f64>> = vec![Vec::with_capacity(paths.len()); n_in];
    for (x, _) in &paths {
        for (i, v) in x.iter().enumerate() {
            inputs[i].push(*v);
        }
    }

    // Tornado under fluid arrivals.
    let mut fluid = e.scenario.clone();
    fluid.demand.arrivals = Arrivals::Fluid;
    let fe = e.with_scenario(fluid);
    let medians: Vec<Option<f64>> = e
        .scenario
        .inputs
        .iter()
        .map(|i| Some(i.dist.median()))
        .collect();
    let eval = |pins: Vec<Option<f64>>| -> Result<f64> {
        let mut c = RunConfig::new(1, cfg.seed);
        c.pins = pins;
        let p = fe.simulate_path(
            0,
            &mut Xoshiro256PlusPlus::seed_from_u64(cfg.seed),
            &c,
            false,
        )?;
        Ok(headline(&p, a, b))
    };
    let baseline = eval(medians.clone())?;
    let mut tornado = Vec::new();
    let mut fixed_inputs = Vec::new();
    for (i, inp) in e.scenario.inputs.iter().enumerate() {
        if inp.dist.is_fixed() {
            fixed_inputs.push(inp.name.clone());
            continue;
        }
        let (lo, hi) = (inp.dist.quantile(0.1), inp.dist.quantile(0.9));
        let mut p = medians.clone();
        p[i] = Some(lo);
        let at_lo = eval(p.clone())?;
        p[i] = Some(hi);
        let at_hi = eval(p)?;
        tornado.push(Bar {
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
    tornado.sort_by(|x, y| y.swing.total_cmp(&x.swing).then(x.input.cmp(&y.input)));
    let top = tornado.first().map(|b| b.swing).unwrap_or(0.0);
    let all: f64 = tornado.iter().map(|b| b.swing).sum();
    let prices: f64 = tornado
        .iter()
        .filter(|b| is_price_input(&b.input))
        .map(|b| b.swing)
        .sum();
    let price_share = if all > 0.0 { prices / all } else { 0.0 };
    let never_matter = tornado
        .iter()
        .filter(|b| b.swing <= 1e-3 * top && b.spearman.abs() < 0.05)
        .map(|b| b.input.clone())
        .collect();
    Ok(SensitivityResult {
        provenance: crate::report::summary::Provenance::new(e, catalogue, cfg.seed, cfg.sampler),
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
        tornado,
        never_matter,
        fixed_inputs,
        price_share,
    })
}
