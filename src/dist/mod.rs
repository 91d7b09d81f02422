//! Uncertain scalar inputs: the distributions a planner uses to say "about 1000 a month, could be
//! 3000" instead of a single number, how they are written in TOML, how they are checked, and how
//! they are drawn.
//!
//! In a TOML file a value is either a plain number (known exactly) or an inline table tagged by
//! `dist`, in terms a planner can estimate:
//!
//! ```toml
//! a = 12.5                                              # fixed
//! b = { dist = "fixed", value = 12.5 }
//! c = { dist = "uniform", min = 1, max = 3 }
//! d = { dist = "triangular", min = 1, mode = 2, max = 5 }
//! e = { dist = "pert", min = 1, mode = 2, max = 5 }     # beta-PERT, lambda 4
//! f = { dist = "normal", mean = 10, sd = 2 }
//! g = { dist = "lognormal", median = 1000, p90 = 3000 } # or p5 + p95 (a 90% interval), or mu + sigma
//! h = { dist = "gamma", mean = 10, sd = 4 }             # or shape + rate
//! i = { dist = "poisson", mean = 4 }
//! j = { dist = "negbinomial", mean = 4, dispersion = 2 } # variance = mean + mean^2 / dispersion
//! k = { dist = "empirical", values = [3, 1, 2] }        # any order; sorted on load
//! ```
//!
//! Every draw is an inverse transform, `quantile(u)` with `u` uniform in (0, 1), so a [`Copula`] can
//! correlate inputs by handing each one a correlated uniform instead of an independent one.
//!
//! Random-number use is fixed and documented so seeded runs are reproducible: [`Dist::sample`] takes
//! exactly one `u64` from the generator (even for a fixed value), and [`Copula::uniforms`] takes
//! exactly one `u64` per input, in input order, whatever the correlations are.

use std::f64::consts::{PI, SQRT_2};

use rand::Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, Gamma};
use statrs::function::beta::checked_beta_reg;
use statrs::function::erf;
use statrs::function::gamma::{checked_gamma_lr, checked_gamma_ur};

use crate::error::Problems;

mod copula;
mod raw;

pub use copula::Copula;
pub use raw::RawDist;

/// An uncertain scalar input, in the unit of whatever it models (dollars, images, hours, ...).
///
/// Build one with the validating constructors ([`Dist::normal`], ...) or from TOML through
/// [`RawDist::validate`]; the variants are public for matching, and a value built by hand must keep
/// the invariants the constructors check (finite parameters, `min < max`, positive scales, a sorted
/// non-empty empirical list), or its quantiles are NaN.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawDist")]
pub enum Dist {
    /// Exactly this value.
    Fixed(f64),
    /// Every value in `[min, max]` equally likely.
    Uniform {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
    },
    /// Triangular density rising from `min` to a peak at `mode`, falling to `max`.
    Triangular {
        /// Lowest value.
        min: f64,
        /// Most likely value.
        mode: f64,
        /// Highest value.
        max: f64,
    },
    /// Beta-PERT with lambda 4: a smooth beta on `[min, max]` with mean `(min + 4 mode + max) / 6`.
    Pert {
        /// Lowest value.
        min: f64,
        /// Most likely value.
        mode: f64,
        /// Highest value.
        max: f64,
    },
    /// Normal (Gaussian); unbounded, so it can go negative.
    Normal {
        /// Mean, same unit as the value.
        mean: f64,
        /// Standard deviation, same unit as the value; > 0.
        sd: f64,
    },
    /// Log-normal: `ln X` is normal with mean `mu` and standard deviation `sigma`. Median `e^mu`.
    LogNormal {
        /// Mean of `ln X` (log of the value's unit).
        mu: f64,
        /// Standard deviation of `ln X`; > 0.
        sigma: f64,
    },
    /// Gamma with `shape` and `rate`: mean `shape / rate`, variance `shape / rate²`.
    Gamma {
        /// Shape (dimensionless); > 0.
        shape: f64,
        /// Rate, per unit of the value; > 0.
        rate: f64,
    },
    /// Poisson count with the given mean (events per period).
    Poisson {
        /// Mean count; > 0.
        mean: f64,
    },
    /// Negative-binomial (over-dispersed) count: variance `mean + mean² / dispersion`.
    NegBinomial {
        /// Mean count; > 0.
        mean: f64,
        /// Dispersion, the size parameter `r`; > 0. Large values approach Poisson.
        dispersion: f64,
    },
    /// The distribution of observed values, sorted ascending, interpolated linearly between them.
    Empirical(Vec<f64>),
}

/// Spread of sample uniforms: `open_unit` returns `(k + 0.5) / 2^52`, so it lies in
/// `[U_LO, 1 - U_LO]` and never hits 0 or 1, where quantiles of unbounded families are infinite.
const U_LO: f64 = 1.0 / (1u64 << 53) as f64;
const U_HI: f64 = 1.0 - U_LO;

/// Largest mean accepted for the count families; their quantile search works on whole numbers
/// that must stay exactly representable, and counts this large are better modelled as gamma.
const MAX_COUNT_MEAN: f64 = 1e12;

/// A uniform draw in the open interval (0, 1) from exactly one `u64` of `rng` (its top 52 bits).
///
/// Written here rather than taken from `rand` so the stream of draws does not change when `rand`
/// changes how it makes floats.
pub fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 12) as f64 + 0.5) * (2.0 * U_LO)
}

/// Standard normal quantile `Φ⁻¹(p)`; `-inf` at 0 and `+inf` at 1.
pub fn normal_quantile(p: f64) -> f64 {
    -SQRT_2 * erf::erfc_inv(2.0 * p)
}

/// Standard normal CDF `Φ(z)`, through `erfc` so the lower tail keeps its precision.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erf::erfc(-z / SQRT_2)
}

impl Dist {
    /// Exactly `value`.
    pub fn fixed(value: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        c.finite("value", value);
        c.done(Dist::Fixed(value))
    }

    /// Uniform on `[min, max]`; needs `min < max` (use [`Dist::fixed`] for a single value).
    pub fn uniform(min: f64, max: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("min", min), ("max", max)]) {
            c.above("max", max, "min", min);
        }
        c.done(Dist::Uniform { min, max })
    }

    /// Triangular on `[min, max]` peaking at `mode`; needs `min <= mode <= max` and `min < max`.
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        c.three_point(min, mode, max);
        c.done(Dist::Triangular { min, mode, max })
    }

    /// Beta-PERT (lambda 4) on `[min, max]` with most likely value `mode`; same rules as triangular.
    pub fn pert(min: f64, mode: f64, max: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        c.three_point(min, mode, max);
        c.done(Dist::Pert { min, mode, max })
    }

    /// Normal with `mean` and standard deviation `sd > 0`, both in the value's unit.
    pub fn normal(mean: f64, sd: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("mean", mean), ("sd", sd)]) {
            c.positive("sd", sd);
        }
        c.done(Dist::Normal { mean, sd })
    }

    /// Log-normal from the parameters of `ln X`: `mu` and `sigma > 0`.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("mu", mu), ("sigma", sigma)]) {
            c.positive("sigma", sigma);
        }
        c.done(Dist::LogNormal { mu, sigma })
    }

    /// Log-normal with the given median and 90th percentile; needs `0 < median < p90`.
    pub fn lognormal_median_p90(median: f64, p90: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("median", median), ("p90", p90)])
            && c.positive("median", median)
            && c.above("p90", p90, "median", median)
        {
            let mu = median.ln();
            let sigma = (p90 / median).ln() / normal_quantile(0.9);
            return c.done(Dist::LogNormal { mu, sigma });
        }
        Err(c.0)
    }

    /// Log-normal whose 90% interval is `[p5, p95]`; needs `0 < p5 < p95`.
    pub fn lognormal_p5_p95(p5: f64, p95: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("p5", p5), ("p95", p95)])
            && c.positive("p5", p5)
            && c.above("p95", p95, "p5", p5)
        {
            let mu = 0.5 * (p5.ln() + p95.ln());
            let sigma = (p95 / p5).ln() / (2.0 * normal_quantile(0.95));
            return c.done(Dist::LogNormal { mu, sigma });
        }
        Err(c.0)
    }

    /// Gamma with `shape > 0` and `rate > 0` (per unit of the value).
    pub fn gamma(shape: f64, rate: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("shape", shape), ("rate", rate)]) {
            if c.positive("shape", shape) {
                c.gamma_shape("shape", shape, &format!("{shape:.2e}"));
            }
            c.positive("rate", rate);
        }
        c.done(Dist::Gamma { shape, rate })
    }

    /// Gamma with the given mean and standard deviation, both > 0 and in the value's unit.
    pub fn gamma_mean_sd(mean: f64, sd: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("mean", mean), ("sd", sd)]) {
            let ok = c.positive("mean", mean);
            if c.positive("sd", sd) && ok {
                let shape = (mean / sd).powi(2);
                let rate = mean / (sd * sd);
                if c.gamma_shape("sd", shape, &format!("(mean / sd)² = {shape:.2e}"))
                    && c.finite("sd", rate)
                {
                    return c.done(Dist::Gamma { shape, rate });
                }
            }
        }
        Err(c.0)
    }

    /// Poisson count with `mean > 0` events per period.
    pub fn poisson(mean: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.finite("mean", mean) && c.positive("mean", mean) {
            c.count_mean(mean);
        }
        c.done(Dist::Poisson { mean })
    }

    /// Negative-binomial count with `mean > 0` and `dispersion > 0`; variance is
    /// `mean + mean² / dispersion`.
    pub fn negbinomial(mean: f64, dispersion: f64) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if c.all_finite(&[("mean", mean), ("dispersion", dispersion)]) {
            if c.positive("mean", mean) {
                c.count_mean(mean);
            }
            c.positive("dispersion", dispersion);
        }
        c.done(Dist::NegBinomial { mean, dispersion })
    }

    /// The distribution of observed `values` (any order, at least one, all finite).
    pub fn empirical(mut values: Vec<f64>) -> Result<Dist, Problems> {
        let mut c = Check::default();
        if values.is_empty() {
            c.0.push("values", "is empty; expected at least one number");
        }
        for (i, v) in values.iter().enumerate() {
            c.finite(&format!("values[{i}]"), *v);
        }
        values.sort_by(f64::total_cmp);
        c.done(Dist::Empirical(values))
    }

    /// The family's name as written after `dist =` in TOML.
    pub fn family(&self) -> &'static str {
        match self {
            Dist::Fixed(_) => "fixed",
            Dist::Uniform { .. } => "uniform",
            Dist::Triangular { .. } => "triangular",
            Dist::Pert { .. } => "pert",
            Dist::Normal { .. } => "normal",
            Dist::LogNormal { .. } => "lognormal",
            Dist::Gamma { .. } => "gamma",
            Dist::Poisson { .. } => "poisson",
            Dist::NegBinomial { .. } => "negbinomial",
            Dist::Empirical(_) => "empirical",
        }
    }

    /// The inverse CDF at probability `p`.
    ///
    /// For the count families (Poisson, negative binomial) this is the smallest whole `k` with
    /// `CDF(k) >= p`. For empirical it is the sorted-sample quantile with linear interpolation
    /// (Hyndman–Fan type 7, numpy's default): `x[h]` interpolated at `h = (n - 1) p`.
    /// `p <= 0` gives [`Dist::min_value`] and `p >= 1` gives [`Dist::max_value`] (possibly
    /// infinite); NaN gives NaN. Non-decreasing in `p`.
    ///
    /// Cost: closed forms for fixed, uniform, triangular, normal, lognormal and empirical (well
    /// under 0.1 µs); numerical inversion for pert, gamma and the count families (about 1–10 µs).
    pub fn quantile(&self, p: f64) -> f64 {
        // The families sampled on every path come first and use closed forms.
        match *self {
            Dist::Fixed(v) => return v,
            Dist::Normal { mean, sd } => return mean + sd * normal_quantile(p.clamp(0.0, 1.0)),
            Dist::LogNormal { mu, sigma } => {
                return (mu + sigma * normal_quantile(p.clamp(0.0, 1.0))).exp()
            }
            _ => {}
        }
        if p.is_nan() {
            return f64::NAN;
        }
        if p <= 0.0 {
            return self.min_value();
        }
        if p >= 1.0 {
            return self.max_value();
        }
        match *self {
            Dist::Uniform { min, max } => (min + p * (max - min)).min(max),
            Dist::Triangular { min, mode, max } => {
                let width = max - min;
                if p * width < mode - min {
                    min + (p * width * (mode - min)).sqrt()
                } else {
                    (max - ((1.0 - p) * width * (max - mode)).sqrt()).max(min)
                }
            }
            Dist::Pert { min, mode, max } => {
                let (a, b) = pert_shapes(min, mode, max);
                Beta::new(a, b).map_or(f64::NAN, |d| min + (max - min) * d.inverse_cdf(p))
            }
            Dist::Gamma { shape, rate } => {
                Gamma::new(shape, rate).map_or(f64::NAN, |d| d.inverse_cdf(p))
            }
            Dist::Poisson { mean } => count_quantile(
                p,
                mean,
                mean,
                mean,
                |k| checked_gamma_ur(k + 1.0, mean).unwrap_or(f64::NAN),
                |k| checked_gamma_lr(k + 1.0, mean).unwrap_or(f64::NAN),
            ),
            Dist::NegBinomial {
                mean,
                dispersion: r,
            } => {
                // statrs' parametrisation: success probability `r / (r + mean)`.
                let (succ, fail) = (r / (r + mean), mean / (r + mean));
                let var = mean + mean * mean / r;
                let k3 = mean + 3.0 * mean * mean / r + 2.0 * mean.powi(3) / (r * r);
                count_quantile(
                    p,
                    mean,
                    var,
                    k3,
                    |k| checked_beta_reg(r, k + 1.0, succ).unwrap_or(f64::NAN),
                    |k| checked_beta_reg(k + 1.0, r, fail).unwrap_or(f64::NAN),
                )
            }
            Dist::Empirical(ref xs) => {
                let h = (xs.len() - 1) as f64 * p;
                let i = h.floor() as usize;
                match xs.get(i + 1) {
                    Some(&next) => xs[i] + (h - i as f64) * (next - xs[i]),
                    None => xs[xs.len() - 1],
                }
            }
            Dist::Fixed(_) | Dist::Normal { .. } | Dist::LogNormal { .. } => unreachable!(),
        }
    }

    /// One draw, by inverse transform of one [`open_unit`] uniform: takes exactly one `u64` from
    /// `rng`, also for a fixed value, so changing one input's family never shifts later draws.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u = open_unit(rng);
        self.quantile(u)
    }

    /// The median, `quantile(0.5)`.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The mean of the distribution that is sampled (for empirical, of the interpolated one:
    /// the end values carry half the weight of the inner ones).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => 0.5 * (min + max),
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Pert { min, mode, max } => (min + 4.0 * mode + max) / 6.0,
            Dist::Normal { mean, .. } => mean,
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Gamma { shape, rate } => shape / rate,
            Dist::Poisson { mean } | Dist::NegBinomial { mean, .. } => mean,
            Dist::Empirical(ref xs) => match xs.len() {
                0 => f64::NAN,
                1 => xs[0],
                n => (xs.iter().sum::<f64>() - 0.5 * (xs[0] + xs[n - 1])) / (n - 1) as f64,
            },
        }
    }

    /// The standard deviation of the distribution that is sampled, in the value's unit.
    pub fn sd(&self) -> f64 {
        let var = match *self {
            Dist::Fixed(_) => 0.0,
            Dist::Uniform { min, max } => (max - min).powi(2) / 12.0,
            Dist::Triangular { min, mode, max } => {
                (min * min + mode * mode + max * max - min * mode - min * max - mode * max) / 18.0
            }
            Dist::Pert { min, mode, max } => {
                // Beta variance a b / ((a + b)² (a + b + 1)) with a + b = 6 for lambda 4.
                let (a, b) = pert_shapes(min, mode, max);
                (max - min).powi(2) * a * b / 252.0
            }
            Dist::Normal { sd, .. } => sd * sd,
            Dist::LogNormal { mu, sigma } => {
                (sigma * sigma).exp_m1() * (2.0 * mu + sigma * sigma).exp()
            }
            Dist::Gamma { shape, rate } => shape / (rate * rate),
            Dist::Poisson { mean } => mean,
            Dist::NegBinomial { mean, dispersion } => mean + mean * mean / dispersion,
            Dist::Empirical(ref xs) if xs.len() >= 2 => {
                // Each gap between neighbours is a uniform piece carrying 1 / (n - 1).
                let m = self.mean();
                let second: f64 = xs
                    .windows(2)
                    .map(|w| (w[0] * w[0] + w[0] * w[1] + w[1] * w[1]) / 3.0)
                    .sum();
                (second / (xs.len() - 1) as f64 - m * m).max(0.0)
            }
            Dist::Empirical(_) => 0.0,
        };
        var.sqrt()
    }

    /// True when every draw is the same value.
    pub fn is_fixed(&self) -> bool {
        match self {
            Dist::Fixed(_) => true,
            Dist::Empirical(xs) => xs.first() == xs.last(),
            _ => false,
        }
    }

    /// The lowest possible value; `-inf` when unbounded below.
    pub fn min_value(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, .. } | Dist::Triangular { min, .. } | Dist::Pert { min, .. } => {
                min
            }
            Dist::Normal { .. } => f64::NEG_INFINITY,
            Dist::LogNormal { .. }
            | Dist::Gamma { .. }
            | Dist::Poisson { .. }
            | Dist::NegBinomial { .. } => 0.0,
            Dist::Empirical(ref xs) => xs.first().copied().unwrap_or(f64::NAN),
        }
    }

    /// The highest possible value; `+inf` when unbounded above.
    pub fn max_value(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { max, .. } | Dist::Triangular { max, .. } | Dist::Pert { max, .. } => {
                max
            }
            Dist::Empirical(ref xs) => xs.last().copied().unwrap_or(f64::NAN),
            _ => f64::INFINITY,
        }
    }

    /// Check that values stay within `[lo, hi]` (either side optional), e.g. `lo = Some(0.0)` for a
    /// price. Families with stated bounds (fixed, uniform, triangular, pert, empirical) are checked
    /// at those bounds; the others at their 0.1% and 99.9% quantiles, so a normal far from zero
    /// passes a `>= 0` check. Problems have an empty key (the value itself).
    pub fn check_bounds(&self, lo: Option<f64>, hi: Option<f64>) -> Result<(), Problems> {
        let mut probs = Problems::default();
        let name = self.family();
        let stated = matches!(
            self,
            Dist::Uniform { .. } | Dist::Triangular { .. } | Dist::Pert { .. } | Dist::Empirical(_)
        );
        if let Dist::Fixed(v) = *self {
            if let Some(lo) = lo.filter(|&lo| v < lo) {
                probs.push(
                    "",
                    format!("value ({v}) is below {lo}; expected values >= {lo}"),
                );
            }
            if let Some(hi) = hi.filter(|&hi| v > hi) {
                probs.push(
                    "",
                    format!("value ({v}) is above {hi}; expected values <= {hi}"),
                );
            }
            return if probs.is_empty() { Ok(()) } else { Err(probs) };
        }
        if let Some(lo) = lo {
            let (at, v) = if stated {
                ("min", self.min_value())
            } else {
                ("p0.1%", self.quantile(0.001))
            };
            if v < lo {
                let hint = if matches!(self, Dist::Normal { .. }) && lo == 0.0 {
                    "; use lognormal or gamma"
                } else {
                    ""
                };
                probs.push(
                    "",
                    format!(
                        "{name} can go below {lo} ({at} = {}); expected values >= {lo}{hint}",
                        sig3(v)
                    ),
                );
            }
        }
        if let Some(hi) = hi {
            let (at, v) = if stated {
                ("max", self.max_value())
            } else {
                ("p99.9%", self.quantile(0.999))
            };
            if v > hi {
                probs.push(
                    "",
                    format!(
                        "{name} can go above {hi} ({at} = {}); expected values <= {hi}",
                        sig3(v)
                    ),
                );
            }
        }
        if probs.is_empty() {
            Ok(())
        } else {
            Err(probs)
        }
    }
}

/// Beta shapes of a lambda-4 PERT on `[min, max]`; they always sum to 6.
fn pert_shapes(min: f64, mode: f64, max: f64) -> (f64, f64) {
    let width = max - min;
    (
        1.0 + 4.0 * (mode - min) / width,
        1.0 + 4.0 * (max - mode) / width,
    )
}

/// Smallest whole `k` with `CDF(k) >= p`, for a count with the given mean, variance and third
/// cumulant. `cdf` and `sf` take `k` as a float.
///
/// Starts from the Cornish–Fisher guess so a typical call needs a handful of CDF evaluations, then
/// gallops and bisects, which stays correct however poor the guess. In the upper half it tests
/// `SF(k) <= 1 - p` instead, because the CDF rounds to 1 there and could not place the quantile.
fn count_quantile(
    p: f64,
    mean: f64,
    var: f64,
    k3: f64,
    cdf: impl Fn(f64) -> f64,
    sf: impl Fn(f64) -> f64,
) -> f64 {
    const MAX_K: u64 = 1 << 52;
    let q = 1.0 - p;
    let upper = p > 0.5;
    let reached = |k: u64| {
        if upper {
            sf(k as f64) <= q
        } else {
            cdf(k as f64) >= p
        }
    };
    let z = normal_quantile(p);
    let sd = var.sqrt();
    let guess = mean + sd * (z + k3 / (var * sd) * (z * z - 1.0) / 6.0);
    let start = if guess.is_finite() {
        guess.clamp(0.0, MAX_K as f64) as u64
    } else {
        0
    };
    // Find `lo < hi` with `!reached(lo)` and `reached(hi)`, then bisect.
    let (mut lo, mut hi);
    let mut step = 1;
    if reached(start) {
        hi = start;
        loop {
            if hi == 0 {
                return 0.0;
            }
            lo = hi.saturating_sub(step);
            if !reached(lo) {
                break;
            }
            hi = lo;
            step *= 2;
        }
    } else {
        lo = start;
        loop {
            hi = (lo + step).min(MAX_K);
            if hi == MAX_K || reached(hi) {
                break;
            }
            lo = hi;
            step *= 2;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi as f64
}

/// The problems found while building one distribution.
#[derive(Default)]
struct Check(Problems);

impl Check {
    fn finite(&mut self, key: &str, v: f64) -> bool {
        if !v.is_finite() {
            self.0
                .push(key, format!("must be a finite number (got {v})"));
        }
        v.is_finite()
    }

    fn all_finite(&mut self, values: &[(&str, f64)]) -> bool {
        values
            .iter()
            .fold(true, |ok, &(k, v)| self.finite(k, v) && ok)
    }

    /// Call only on finite values.
    fn positive(&mut self, key: &str, v: f64) -> bool {
        if v <= 0.0 {
            self.0.push(
                key,
                format!("{key} ({v}) is not positive; expected {key} > 0"),
            );
        }
        v > 0.0
    }

    /// A gamma shape inside [`MIN_GAMMA_SHAPE`, `MAX_GAMMA_SHAPE`]: the quantile's search
    /// takes longer the larger the shape (seconds past 1e10), and outside the range the
    /// family is better written as another one.
    fn gamma_shape(&mut self, key: &str, shape: f64, shown: &str) -> bool {
        use crate::limits::{MAX_GAMMA_SHAPE, MIN_GAMMA_SHAPE};
        if shape > MAX_GAMMA_SHAPE {
            self.0.push(
                key,
                format!("gamma's shape {shown} is above {MAX_GAMMA_SHAPE:e}: its spread is under 0.1% of its mean; expected a shape of at most {MAX_GAMMA_SHAPE:e} (a wider gamma), or a fixed value or a normal"),
            );
            return false;
        }
        if shape < MIN_GAMMA_SHAPE {
            self.0.push(
                key,
                format!("gamma's shape {shown} is below {MIN_GAMMA_SHAPE}: nearly every draw is 0; expected a shape of at least {MIN_GAMMA_SHAPE}"),
            );
            return false;
        }
        true
    }

    /// Call only on finite values.
    fn above(&mut self, hi_key: &str, hi: f64, lo_key: &str, lo: f64) -> bool {
        if hi <= lo {
            let how = if hi == lo { "equals" } else { "is below" };
            self.0.push(
                hi_key,
                format!("{hi_key} ({hi}) {how} {lo_key} ({lo}); expected {hi_key} > {lo_key}"),
            );
        }
        hi > lo
    }

    fn three_point(&mut self, min: f64, mode: f64, max: f64) {
        if self.all_finite(&[("min", min), ("mode", mode), ("max", max)])
            && self.above("max", max, "min", min)
        {
            let expected = "expected min <= mode <= max";
            if mode < min {
                self.0.push(
                    "mode",
                    format!("mode ({mode}) is below min ({min}); {expected}"),
                );
            } else if mode > max {
                self.0.push(
                    "mode",
                    format!("mode ({mode}) is above max ({max}); {expected}"),
                );
            }
        }
    }

    fn count_mean(&mut self, mean: f64) {
        if mean > MAX_COUNT_MEAN {
            self.0.push(
                "mean",
                format!(
                    "mean ({mean}) is too large for a count; expected mean <= 1e12 (use gamma)"
                ),
            );
        }
    }

    /// `d` if nothing was found and its quantiles are finite (huge parameters can overflow).
    fn done(mut self, d: Dist) -> Result<Dist, Problems> {
        if self.0.is_empty() {
            let (lo, hi) = (d.quantile(0.001), d.quantile(0.999));
            if !lo.is_finite() || !hi.is_finite() {
                self.0.push(
                    "",
                    format!(
                        "values overflow (p0.1% = {}, p99.9% = {}); expected parameters giving finite values",
                        sig3(lo),
                        sig3(hi)
                    ),
                );
            }
        }
        if self.0.is_empty() {
            Ok(d)
        } else {
            Err(self.0)
        }
    }
}

/// `x` to about three significant digits, for computed values in messages (`-2.09`, `1235`).
fn sig3(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    use statrs::distribution::{
        DiscreteCDF, LogNormal, NegativeBinomial, Normal, Poisson, Triangular, Uniform,
    };

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    /// Parse `x = <src>` and validate `x`.
    fn parse(src: &str) -> Result<Dist, Problems> {
        let t: toml::Table = toml::from_str(&format!("x = {src}")).expect("test toml parses");
        RawDist(t["x"].clone()).validate()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn closed_form_quantiles() {
        let u = Dist::uniform(2.0, 6.0).unwrap();
        assert_eq!(u.quantile(0.25), 3.0);
        let t = Dist::triangular(0.0, 0.0, 1.0).unwrap();
        assert!(close(t.quantile(0.75), 0.5, 1e-12));
        let t = Dist::triangular(0.0, 1.0, 2.0).unwrap();
        assert!(close(t.quantile(0.5), 1.0, 1e-12));
        assert!(close(t.quantile(0.125), 0.5, 1e-12));
        let n = Dist::normal(10.0, 2.0).unwrap();
        assert!(close(
            n.quantile(0.975),
            10.0 + 2.0 * 1.959_963_984_540_054,
            1e-12
        ));
        assert!(close(n.quantile(0.5), 10.0, 1e-15));
        // Gamma with shape 1 is exponential: q(p) = -ln(1 - p) / rate.
        let g = Dist::gamma(1.0, 2.0).unwrap();
        for p in [0.01, 0.3, 0.5, 0.9, 0.999] {
            assert!(close(g.quantile(p), -(1.0 - p).ln() / 2.0, 1e-9), "p {p}");
        }
        let g = Dist::gamma_mean_sd(10.0, 4.0).unwrap();
        assert!(close(g.mean(), 10.0, 1e-12) && close(g.sd(), 4.0, 1e-12));
        // PERT on [0, 1] with mode 0.5 is Beta(3, 3): symmetric, mean 0.5, sd sqrt(1/28).
        let pert = Dist::pert(0.0, 0.5, 1.0).unwrap();
        assert!(close(pert.quantile(0.5), 0.5, 1e-9));
        assert!(close(pert.sd(), (1.0f64 / 28.0).sqrt(), 1e-12));
        let beta = Beta::new(3.0, 3.0).unwrap();
        for p in [0.05, 0.2, 0.7, 0.95] {
            assert!(close(beta.cdf(pert.quantile(p)), p, 1e-9), "p {p}");
        }
        let e = Dist::empirical(vec![4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(e, Dist::Empirical(vec![1.0, 2.0, 3.0, 4.0]));
        assert_eq!(e.quantile(0.5), 2.5);
        assert!(close(e.quantile(1.0 / 3.0), 2.0, 1e-12));
        assert_eq!((e.quantile(0.0), e.quantile(1.0)), (1.0, 4.0));
        assert_eq!(e.mean(), 2.5);
        assert_eq!(Dist::empirical(vec![7.0]).unwrap().quantile(0.3), 7.0);
        assert_eq!(Dist::fixed(3.0).unwrap().quantile(0.9), 3.0);
    }

    #[test]
    fn lognormal_round_trips() {
        let d = Dist::lognormal_median_p90(1000.0, 3000.0).unwrap();
        assert!(close(d.quantile(0.5), 1000.0, 1e-9));
        assert!(close(d.quantile(0.9), 3000.0, 1e-9));
        assert!(close(d.median(), 1000.0, 1e-9));
        let d = Dist::lognormal_p5_p95(0.02, 0.5).unwrap();
        assert!(close(d.quantile(0.05), 0.02, 1e-9));
        assert!(close(d.quantile(0.95), 0.5, 1e-9));
        let d = Dist::lognormal(1.0, 0.5).unwrap();
        assert!(close(d.mean(), (1.0f64 + 0.125).exp(), 1e-12));
    }

    /// Smallest k with CDF(k) >= p, by walking up from 0.
    fn brute_count_quantile(p: f64, cdf: impl Fn(u64) -> f64) -> f64 {
        (0..).find(|&k| cdf(k) >= p).unwrap() as f64
    }

    #[test]
    fn count_quantiles_match_brute_force() {
        let ps = [1e-6, 0.001, 0.01, 0.1, 0.3, 0.5, 0.77, 0.9, 0.99, 0.999];
        for mean in [0.05, 3.0, 250.0] {
            let d = Dist::poisson(mean).unwrap();
            let s = Poisson::new(mean).unwrap();
            for p in ps {
                assert_eq!(
                    d.quantile(p),
                    brute_count_quantile(p, |k| s.cdf(k)),
                    "poisson {mean} p {p}"
                );
            }
        }
        for (mean, r) in [(20.0, 2.0), (3.0, 0.3), (500.0, 50.0)] {
            let d = Dist::negbinomial(mean, r).unwrap();
            let s = NegativeBinomial::new(r, r / (r + mean)).unwrap();
            for p in ps {
                assert_eq!(
                    d.quantile(p),
                    brute_count_quantile(p, |k| s.cdf(k)),
                    "nb {mean} {r} p {p}"
                );
            }
        }
        // Dispersion 1 is geometric: CDF(k) = 1 - (m / (1 + m))^(k + 1); with m = 1, 1 - 2^-(k+1).
        let g = Dist::negbinomial(1.0, 1.0).unwrap();
        assert_eq!(
            (g.quantile(0.3), g.quantile(0.7), g.quantile(0.9)),
            (0.0, 1.0, 3.0)
        );
        assert_eq!(g.sd(), 2f64.sqrt());
    }

    /// Kolmogorov–Smirnov distance between `n` sorted draws of `d` and the reference `cdf`. For the
    /// count families (`discrete`) only the jumps of the empirical CDF are compared, at the last
    /// copy of each value, where both CDFs are right-continuous.
    fn ks(d: &Dist, n: usize, seed: u64, discrete: bool, cdf: impl Fn(f64) -> f64) -> f64 {
        let mut r = rng(seed);
        let mut xs: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
        xs.sort_by(f64::total_cmp);
        let nf = n as f64;
        let mut worst: f64 = 0.0;
        for (i, &x) in xs.iter().enumerate() {
            let f = cdf(x);
            if !discrete || xs.get(i + 1) != Some(&x) {
                worst = worst.max(((i + 1) as f64 / nf - f).abs());
            }
            if !discrete {
                worst = worst.max(f - i as f64 / nf);
            }
        }
        worst
    }

    /// Critical value of the KS statistic at the 0.1% level: 1.949 / sqrt(n) for n = 20 000.
    /// Conservative for the count families.
    const KS_CRIT: f64 = 0.0138;

    #[test]
    fn samplers_match_statrs_cdfs() {
        let n = 20_000;
        type Cdf = Box<dyn Fn(f64) -> f64>;
        let cases: Vec<(Dist, Cdf)> = vec![
            (Dist::uniform(2.0, 5.0).unwrap(), {
                let s = Uniform::new(2.0, 5.0).unwrap();
                Box::new(move |x| s.cdf(x))
            }),
            (Dist::triangular(1.0, 2.0, 5.0).unwrap(), {
                let s = Triangular::new(1.0, 5.0, 2.0).unwrap();
                Box::new(move |x| s.cdf(x))
            }),
            (Dist::pert(1.0, 2.0, 5.0).unwrap(), {
                let s = Beta::new(2.0, 4.0).unwrap();
                Box::new(move |x| s.cdf((x - 1.0) / 4.0))
            }),
            (Dist::normal(10.0, 3.0).unwrap(), {
                let s = Normal::new(10.0, 3.0).unwrap();
                Box::new(move |x| s.cdf(x))
            }),
            (Dist::lognormal_median_p90(1000.0, 3000.0).unwrap(), {
                let sigma = 3f64.ln() / 1.281_551_565_544_600_4;
                let s = LogNormal::new(1000f64.ln(), sigma).unwrap();
                Box::new(move |x| s.cdf(x))
            }),
            (Dist::gamma(0.7, 0.1).unwrap(), {
                let s = Gamma::new(0.7, 0.1).unwrap();
                Box::new(move |x| s.cdf(x))
            }),
            (Dist::poisson(7.5).unwrap(), {
                let s = Poisson::new(7.5).unwrap();
                Box::new(move |x| s.cdf(x as u64))
            }),
            (Dist::negbinomial(30.0, 3.0).unwrap(), {
                let s = NegativeBinomial::new(3.0, 3.0 / 33.0).unwrap();
                Box::new(move |x| s.cdf(x as u64))
            }),
        ];
        for (seed, (d, cdf)) in cases.into_iter().enumerate() {
            let discrete = matches!(d, Dist::Poisson { .. } | Dist::NegBinomial { .. });
            let stat = ks(&d, n, seed as u64, discrete, cdf);
            assert!(stat < KS_CRIT, "{d:?}: ks {stat}");
        }
    }

    #[test]
    fn value_stability() {
        // open_unit is (top 52 bits + 0.5) / 2^52 of each u64: pinned exactly.
        let mut r = rng(42);
        let u: Vec<f64> = (0..3).map(|_| open_unit(&mut r)).collect();
        assert_eq!(
            u,
            [0.8143051451229099, 0.31882104006166123, 0.9838941681774888]
        );
        let mut r = rng(42);
        let d = Dist::lognormal_median_p90(1000.0, 3000.0).unwrap();
        let got: Vec<f64> = (0..3).map(|_| d.sample(&mut r)).collect();
        for (g, want) in got
            .iter()
            .zip([2151.734771771603, 667.8017392408668, 6271.650445011276])
        {
            assert!(close(*g, want, 1e-12), "{got:?}");
        }
        let mut r = rng(42);
        assert_eq!(Dist::poisson(4.0).unwrap().sample(&mut r), 6.0);
        assert!(close(
            Dist::normal(100.0, 15.0).unwrap().sample(&mut r),
            92.9350282563779,
            1e-12
        ));
        // The copula takes the same three u64s; input 2 is free and gets u[2] bit for bit.
        let mut r = rng(42);
        let mut out = [0.0; 3];
        Copula::new(3, &[(0, 1, 0.7)])
            .unwrap()
            .uniforms(&mut r, &mut out);
        assert_eq!(out[2], u[2]);
        for (g, want) in
            out.iter()
                .zip([0.8143051451060864, 0.6225644743054817, 0.9838941681774888])
        {
            assert!(close(*g, want, 1e-12), "{out:?}");
        }
    }

    #[test]
    fn toml_forms_parse() {
        assert_eq!(parse("12").unwrap(), Dist::Fixed(12.0));
        assert_eq!(parse("12.5").unwrap(), Dist::Fixed(12.5));
        assert_eq!(
            parse("{ dist = \"fixed\", value = 3 }").unwrap(),
            Dist::Fixed(3.0)
        );
        assert_eq!(
            parse("{ dist = \"uniform\", min = 1, max = 3 }").unwrap(),
            Dist::Uniform { min: 1.0, max: 3.0 }
        );
        assert_eq!(
            parse("{ dist = \"pert\", min = 1, mode = 2, max = 5 }").unwrap(),
            Dist::Pert {
                min: 1.0,
                mode: 2.0,
                max: 5.0
            }
        );
        assert_eq!(
            parse("{ dist = \"gamma\", shape = 2, rate = 0.5 }").unwrap(),
            Dist::Gamma {
                shape: 2.0,
                rate: 0.5
            }
        );
        assert_eq!(
            parse("{ dist = \"lognormal\", mu = 0, sigma = 1 }").unwrap(),
            Dist::LogNormal {
                mu: 0.0,
                sigma: 1.0
            }
        );
        let d = parse("{ dist = \"lognormal\", p5 = 10, p95 = 90 }").unwrap();
        assert!(close(d.median(), 30.0, 1e-12));
        assert_eq!(
            parse("{ dist = \"empirical\", values = [3, 1.5, 2] }").unwrap(),
            Dist::Empirical(vec![1.5, 2.0, 3.0])
        );
        assert_eq!(
            parse("{ dist = \"negbinomial\", mean = 4, dispersion = 2 }").unwrap(),
            Dist::NegBinomial {
                mean: 4.0,
                dispersion: 2.0
            }
        );
    }

    #[test]
    fn serializes_tagged_and_round_trips() {
        #[derive(Serialize, Deserialize)]
        struct Doc {
            a: Dist,
            b: Dist,
            c: Dist,
        }
        let doc = Doc {
            a: Dist::Fixed(2.5),
            b: Dist::lognormal_median_p90(1000.0, 3000.0).unwrap(),
            c: Dist::empirical(vec![1.0, 2.0]).unwrap(),
        };
        let text = toml::to_string(&doc).unwrap();
        assert!(text.contains("dist = \"lognormal\""), "{text}");
        assert!(text.contains("dist = \"fixed\""), "{text}");
        let back: Doc = toml::from_str(&text).unwrap();
        assert_eq!((back.a, back.b, back.c), (doc.a, doc.b, doc.c));
        // RawDist keeps the user's own form when echoed.
        let t: toml::Table =
            toml::from_str("x = { dist = \"lognormal\", median = 1000, p90 = 3000 }").unwrap();
        let raw = RawDist(t["x"].clone());
        let echoed = toml::Value::try_from(&raw).unwrap();
        assert_eq!(
            echoed.get("median").and_then(toml::Value::as_integer),
            Some(1000)
        );
        assert_eq!(
            RawDist::from(&Dist::Fixed(3.0)).validate().unwrap(),
            Dist::Fixed(3.0)
        );
        let n = Dist::normal(1.0, 2.0).unwrap();
        assert_eq!(RawDist::from(&n).validate().unwrap(), n);
        // A bad value fails deserialization with the problems as the message.
        let err =
            toml::from_str::<Doc>("a = 1\nb = { dist = \"normal\", mean = 1, sd = 0 }\nc = 2")
                .err()
                .unwrap();
        assert!(
            err.to_string()
                .contains("sd: sd (0) is not positive; expected sd > 0"),
            "{err}"
        );
    }

    #[test]
    fn bad_inputs_are_reported_exactly() {
        let families = "fixed, uniform, triangular, pert, normal, lognormal, gamma, poisson, negbinomial, empirical";
        let ln_needs = "median and p90, or p5 and p95, or mu and sigma";
        let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("{ dist = \"normal\", mean = nan, sd = 1 }", vec![("mean", "must be a finite number (got NaN)".into())]),
            ("inf", vec![("", "must be a finite number (got inf)".into())]),
            ("{ dist = \"normal\", mean = 1, sd = 0 }", vec![("sd", "sd (0) is not positive; expected sd > 0".into())]),
            ("{ dist = \"normal\", mean = 1, sd = -2 }", vec![("sd", "sd (-2) is not positive; expected sd > 0".into())]),
            (
                "{ dist = \"triangular\", min = 10, mode = 5, max = 20 }",
                vec![("mode", "mode (5) is below min (10); expected min <= mode <= max".into())],
            ),
            (
                "{ dist = \"pert\", min = 1, mode = 30, max = 20 }",
                vec![("mode", "mode (30) is above max (20); expected min <= mode <= max".into())],
            ),
            ("{ dist = \"uniform\", min = 5, max = 5 }", vec![("max", "max (5) equals min (5); expected max > min".into())]),
            ("{ dist = \"uniform\", min = 5, max = 1 }", vec![("max", "max (1) is below min (5); expected max > min".into())]),
            (
                "{ dist = \"lognormal\", median = 1000, p90 = 900 }",
                vec![("p90", "p90 (900) is below median (1000); expected p90 > median".into())],
            ),
            (
                "{ dist = \"lognormal\", median = 0, p90 = 900 }",
                vec![("median", "median (0) is not positive; expected median > 0".into())],
            ),
            ("{ dist = \"lognormal\", p5 = 9, p95 = 9 }", vec![("p95", "p95 (9) equals p5 (9); expected p95 > p5".into())]),
            ("{ dist = \"lognormal\", median = 1000 }", vec![("", format!("lognormal needs {ln_needs} (got median)"))]),
            (
                "{ dist = \"lognormal\", median = 1000, p90 = 2000, mu = 1 }",
                vec![("", format!("lognormal needs {ln_needs} (got median, p90 and mu)"))],
            ),
            (
                "{ dist = \"lognormal\", medain = 1000, p90 = 2000 }",
                vec![
                    ("medain", format!("unknown key for lognormal; expected {ln_needs}; did you mean \"median\"?")),
                    ("", format!("lognormal needs {ln_needs} (got p90)")),
                ],
            ),
            (
                "{ dist = \"lognormla\", median = 1, p90 = 2 }",
                vec![("dist", format!("unknown dist \"lognormla\"; expected one of {families}; did you mean \"lognormal\"?"))],
            ),
            ("{ mean = 1 }", vec![("dist", format!("missing; expected dist = one of {families}"))]),
            (
                "{ dist = \"gamma\", mean = 0, sd = -1 }",
                vec![
                    ("mean", "mean (0) is not positive; expected mean > 0".into()),
                    ("sd", "sd (-1) is not positive; expected sd > 0".into()),
                ],
            ),
            ("{ dist = \"gamma\", shape = 2, rate = 0 }", vec![("rate", "rate (0) is not positive; expected rate > 0".into())]),
            ("{ dist = \"poisson\", mean = -3 }", vec![("mean", "mean (-3) is not positive; expected mean > 0".into())]),
            (
                "{ dist = \"negbinomial\", mean = 3 }",
                vec![("dispersion", "negbinomial needs mean and dispersion; dispersion is missing".into())],
            ),
            ("{ dist = \"empirical\", values = [] }", vec![("values", "is empty; expected at least one number".into())]),
            (
                "{ dist = \"empirical\", values = [1, \"x\", nan] }",
                vec![
                    ("values[1]", "expected a number, got a string".into()),
                    ("values[2]", "must be a finite number (got NaN)".into()),
                ],
            ),
            (
                "{ dist = \"normal\", mean = \"5\", sd = 1 }",
                vec![("mean", "expected a number, got a string (\"5\"); write it without quotes".into())],
            ),
            (
                "\"12\"",
                vec![(
                    "",
                    "expected a number or a table such as { dist = \"normal\", mean = 10, sd = 2 }, got a string; write the number without quotes".into(),
                )],
            ),
            (
                "{ dist = \"lognormal\", mu = 800, sigma = 1 }",
                vec![("", "values overflow (p0.1% = inf, p99.9% = inf); expected parameters giving finite values".into())],
            ),
        ];
        for (src, want) in cases {
            let got = parse(src).expect_err(src);
            let got: Vec<(&str, &str)> = got
                .0
                .iter()
                .map(|p| (p.key.as_str(), p.message.as_str()))
                .collect();
            let want: Vec<(&str, &str)> = want.iter().map(|(k, m)| (*k, m.as_str())).collect();
            assert_eq!(got, want, "{src}");
        }
    }

    #[test]
    fn bounds_are_checked() {
        let n = parse("{ dist = \"normal\", mean = 1, sd = 1 }").unwrap();
        let err = n.check_bounds(Some(0.0), None).unwrap_err();
        assert_eq!(
            err.0[0].message,
            "normal can go below 0 (p0.1% = -2.09); expected values >= 0; use lognormal or gamma"
        );
        assert!(Dist::normal(100.0, 10.0)
            .unwrap()
            .check_bounds(Some(0.0), None)
            .is_ok());
        let t: toml::Table =
            toml::from_str("x = { dist = \"uniform\", min = 0.5, max = 1.2 }").unwrap();
        let err = RawDist(t["x"].clone())
            .validate_with(Some(0.0), Some(1.0))
            .unwrap_err();
        assert_eq!(
            err.0[0].message,
            "uniform can go above 1 (max = 1.2); expected values <= 1"
        );
        let err = Dist::Fixed(-1.0).check_bounds(Some(0.0), None).unwrap_err();
        assert_eq!(
            err.0[0].message,
            "value (-1) is below 0; expected values >= 0"
        );
        assert!(Dist::poisson(0.01)
            .unwrap()
            .check_bounds(Some(0.0), None)
            .is_ok());
        assert!(Dist::lognormal(0.0, 3.0)
            .unwrap()
            .check_bounds(Some(0.0), None)
            .is_ok());
        assert!(Dist::gamma(0.2, 1.0)
            .unwrap()
            .check_bounds(Some(0.0), None)
            .is_ok());
    }

    /// Spearman rank correlation of two equally long samples without ties.
    fn spearman(a: &[f64], b: &[f64]) -> f64 {
        let ranks = |x: &[f64]| {
            let mut idx: Vec<usize> = (0..x.len()).collect();
            idx.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
            let mut r = vec![0.0; x.len()];
            for (rank, i) in idx.into_iter().enumerate() {
                r[i] = rank as f64;
            }
            r
        };
        let (ra, rb) = (ranks(a), ranks(b));
        let n = a.len() as f64;
        let m = (n - 1.0) / 2.0;
        let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - m) * (y - m)).sum();
        let var: f64 = ra.iter().map(|x| (x - m) * (x - m)).sum();
        cov / var
    }

    #[test]
    fn copula_hits_target_spearman() {
        let c = Copula::new(3, &[(0, 1, 0.7), (2, 1, -0.3)]).unwrap();
        let mut r = rng(5);
        let n = 20_000;
        let mut cols: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
        let mut out = [0.0; 3];
        for _ in 0..n {
            c.uniforms(&mut r, &mut out);
            for (col, u) in cols.iter_mut().zip(out) {
                assert!(u > 0.0 && u < 1.0);
                col.push(u);
            }
        }
        let s01 = spearman(&cols[0], &cols[1]);
        let s12 = spearman(&cols[1], &cols[2]);
        let s02 = spearman(&cols[0], &cols[2]);
        // The sampling sd of Spearman's ρ over 20k draws is about 0.004 at ρ = 0.7 and 0.007 near
        // 0, so 0.02 and 0.03 are each over four standard errors.
        assert!((s01 - 0.7).abs() < 0.02, "{s01}");
        assert!((s12 + 0.3).abs() < 0.03, "{s12}");
        // 0 and 2 are linked only through 1: their Pearson r is 0 by construction.
        assert!(s02.abs() < 0.03, "{s02}");
        // Marginals stay uniform.
        let mut u0 = cols[0].clone();
        u0.sort_by(f64::total_cmp);
        let d = u0
            .iter()
            .enumerate()
            .map(|(i, u)| ((i + 1) as f64 / n as f64 - u).abs())
            .fold(0.0, f64::max);
        assert!(d < KS_CRIT, "{d}");
    }

    #[test]
    fn independent_copula_passes_draws_through() {
        let c = Copula::new(2, &[]).unwrap();
        assert!(c.is_independent());
        assert_eq!(c, Copula::independent(2));
        let (mut r1, mut r2) = (rng(9), rng(9));
        let mut out = [0.0; 2];
        c.uniforms(&mut r1, &mut out);
        assert_eq!(out, [open_unit(&mut r2), open_unit(&mut r2)]);
    }

    #[test]
    fn copula_rejects_bad_correlations() {
        let err = Copula::new(3, &[(0, 1, 0.9), (1, 2, 0.9), (0, 2, -0.9)]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].key, "");
        assert!(err.0[0].message.starts_with(
            "correlations do not form a valid correlation matrix (not positive definite"
        ));
        assert!(err.0[0]
            .message
            .contains("expected correlations that can hold together"));
        let err = Copula::new(
            3,
            &[
                (0, 1, 1.5),
                (0, 3, 0.1),
                (2, 2, 0.5),
                (1, 0, 0.2),
                (1, 2, f64::NAN),
            ],
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = err
            .0
            .iter()
            .map(|p| (p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "[0]",
                    "correlation (1.5) is outside [-1, 1]; expected -1 <= correlation <= 1"
                ),
                ("[1]", "input 3 is out of range; expected an index below 3"),
                (
                    "[2]",
                    "correlates input 2 with itself; expected two different inputs"
                ),
                ("[4]", "correlation must be a finite number (got NaN)"),
            ]
        );
        let err = Copula::new(2, &[(0, 1, 0.2), (1, 0, 0.3)]).unwrap_err();
        assert_eq!(
            err.0[0].message,
            "duplicate correlation between inputs 0 and 1 (first at [0])"
        );
        // A perfect correlation makes the matrix singular.
        assert!(Copula::new(2, &[(0, 1, 1.0)]).is_err());
    }

    /// Any valid distribution, with parameters over wide ranges.
    fn any_dist() -> impl Strategy<Value = Dist> {
        prop_oneof![
            (-1e6..1e6f64).prop_map(Dist::Fixed),
            (-1e3..1e3f64, 1e-3..1e3f64).prop_map(|(a, w)| Dist::uniform(a, a + w).unwrap()),
            (-1e3..1e3f64, 1e-3..1e3f64, 0.0..=1.0f64).prop_map(|(a, w, m)| Dist::triangular(
                a,
                a + m * w,
                a + w
            )
            .unwrap()),
            (-1e3..1e3f64, 1e-3..1e3f64, 0.0..=1.0f64).prop_map(|(a, w, m)| Dist::pert(
                a,
                a + m * w,
                a + w
            )
            .unwrap()),
            (-1e3..1e3f64, 1e-3..1e3f64).prop_map(|(m, s)| Dist::normal(m, s).unwrap()),
            (-5.0..10.0f64, 1e-3..3.0f64).prop_map(|(m, s)| Dist::lognormal(m, s).unwrap()),
            (1e-2..1e3f64, 1e-3..1e3f64).prop_map(|(a, r)| Dist::gamma(a, r).unwrap()),
            (1e-3..1e5f64).prop_map(|m| Dist::poisson(m).unwrap()),
            (1e-3..1e5f64, 1e-2..1e3f64).prop_map(|(m, r)| Dist::negbinomial(m, r).unwrap()),
            prop::collection::vec(-1e3..1e3f64, 1..20).prop_map(|v| Dist::empirical(v).unwrap()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn quantile_is_non_decreasing(d in any_dist(), mut ps in prop::collection::vec(0.0..=1.0f64, 2..40)) {
            ps.sort_by(f64::total_cmp);
            let qs: Vec<f64> = ps.iter().map(|&p| d.quantile(p)).collect();
            for (w, p) in qs.windows(2).zip(ps.windows(2)) {
                prop_assert!(w[0] <= w[1], "{d:?}: q({}) = {} > q({}) = {}", p[0], w[0], p[1], w[1]);
            }
            for q in qs {
                prop_assert!(q >= d.min_value() && q <= d.max_value(), "{d:?}: {q} outside bounds");
            }
        }
    }
}
