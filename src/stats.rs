//! Streaming statistics over sample paths: mean with its standard error, and quantiles.
//!
//! Quantiles are exact (sorted values, linear interpolation between order statistics) up to
//! a cap of values ([`DEFAULT_EXACT_CAP`]); past it the values move into a histogram with
//! logarithmic bins 0.1% wide, so memory stays flat however many paths run and a quantile is
//! off by at most 0.05% of its value, far inside its own Monte Carlo error at that many paths
//! (about 1% for a 95th percentile from 10,000 paths). A histogram keeps at most a set number
//! of bins a sign ([`DEFAULT_MAX_BINS`]; [`Stream::monthly`] fewer, since a run keeps two of
//! those per option and month): values spread wider than that are counted in bins of two,
//! four, … base bins, and the bound on a quantile's error doubles with each such step
//! ([`Stream::quantile_error`]). The histogram is a function of the values alone (not of
//! their order, nor of how folds were split), and folds are merged in path order, so results
//! do not depend on the number of threads.
//!
//! Every accumulator serializes exactly (a part file of a sharded run holds them, see
//! [`crate::shard`]) and can be checked against an empty one of its kind before it is trusted
//! ([`crate::engine::fold::Validate`]).

use crate::engine::fold::{self, Checked, Unfit, Validate};
use serde::{Deserialize, Serialize};

/// Values kept exactly before switching to the histogram: W1's 10,000 paths stay exact.
pub const DEFAULT_EXACT_CAP: usize = 10_000;
/// Bins a histogram keeps a sign at most: 0.1% bins over a factor of e^8.2 ≈ 3,600 between
/// the smallest and largest value (64 KiB).
pub const DEFAULT_MAX_BINS: usize = 8192;
/// Values a month's stream keeps exactly (small runs stay exact).
pub const MONTHLY_EXACT_CAP: usize = 1000;
/// Bins a month's histogram keeps a sign at most (16 KiB): 0.1% bins over a factor of
/// e^2.05 ≈ 7.8 between the smallest and largest value, 0.2% over 60, 0.4% over 3,600.
pub const MONTHLY_MAX_BINS: usize = 2048;

/// Relative width of a histogram bin.
const BIN_WIDTH: f64 = 1e-3;
/// Smallest magnitude the histogram tells apart from zero.
const MIN_MAGNITUDE: f64 = 1e-9;

/// Mean and variance by Welford's method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Add one value.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }
    /// Add everything `other` saw (Chan et al.'s pairwise update).
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * (other.n as f64 / n as f64);
        self.m2 += other.m2 + delta * delta * (self.n as f64 * other.n as f64 / n as f64);
        self.n = n;
    }
    /// Values seen.
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// Sample variance.
    pub fn variance(&self) -> f64 {
        if self.n > 1 {
            self.m2 / (self.n - 1) as f64
        } else {
            0.0
        }
    }
    /// Standard error of the mean.
    pub fn std_error(&self) -> f64 {
        if self.n > 1 {
            (self.variance() / self.n as f64).sqrt()
        } else {
            0.0
        }
    }
}

/// A ratio of means, `Σx / Σy` over paths (cost per image is total cost over total images,
/// not the mean of each path's ratio), with its standard error by the delta method:
/// `var(x̄/ȳ) ≈ (s²ₓ − 2R·sₓᵧ + R²·s²ᵧ) / (n·ȳ²)` with `R = x̄/ȳ`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    n: u64,
    mean_x: f64,
    mean_y: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Ratio {
    /// Add one path's numerator and denominator.
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        let n = self.n as f64;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / n;
        self.mean_y += dy / n;
        self.sxx += dx * (x - self.mean_x);
        self.syy += dy * (y - self.mean_y);
        self.sxy += dx * (y - self.mean_y);
    }
    /// Add everything `other` saw (Chan et al.'s pairwise update, with the cross term).
    pub fn merge(&mut self, other: &Ratio) {
        if other.n == 0 {
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let dx = other.mean_x - self.mean_x;
        let dy = other.mean_y - self.mean_y;
        self.mean_x += dx * nb / n;
        self.mean_y += dy * nb / n;
        self.sxx += other.sxx + dx * dx * na * nb / n;
        self.syy += other.syy + dy * dy * na * nb / n;
        self.sxy += other.sxy + dx * dy * na * nb / n;
        self.n += other.n;
    }
    /// Paths seen.
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Mean numerator.
    pub fn mean_numerator(&self) -> f64 {
        self.mean_x
    }
    /// Mean denominator.
    pub fn mean_denominator(&self) -> f64 {
        self.mean_y
    }
    /// `Σx / Σy` (0 when the denominator is 0).
    pub fn value(&self) -> f64 {
        if self.mean_y == 0.0 {
            0.0
        } else {
            self.mean_x / self.mean_y
        }
    }
    /// Standard error of [`Ratio::value`] by the delta method (0 with fewer than two paths).
    pub fn std_error(&self) -> f64 {
        if self.n < 2 || self.mean_y == 0.0 {
            return 0.0;
        }
        let n = self.n as f64;
        let r = self.value();
        let (vx, vy, cxy) = (
            self.sxx / (n - 1.0),
            self.syy / (n - 1.0),
            self.sxy / (n - 1.0),
        );
        ((vx - 2.0 * r * cxy + r * r * vy).max(0.0) / (n * self.mean_y * self.mean_y)).sqrt()
    }
    /// The ratio and its standard error, for reports.
    pub fn estimate(&self) -> Estimate {
        Estimate {
            value: self.value(),
            std_error: self.std_error(),
        }
    }
}

/// A value with its Monte Carlo standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// Mean and variance, plus quantiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    moments: Moments,
    min: f64,
    max: f64,
    exact: Vec<f64>,
    cap: usize,
    max_bins: usize,
    hist: Option<LogHistogram>,
}

/// Summary of a quantity over sample paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Monte Carlo standard error of the mean.
    pub std_error: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Paths counted.
    pub n: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream::with_cap(DEFAULT_EXACT_CAP)
    }
}

impl Stream {
    /// A stream that keeps up to `cap` values exactly.
    pub fn with_cap(cap: usize) -> Stream {
        Stream::with_limits(cap, DEFAULT_MAX_BINS)
    }

    /// A stream for one month of a run's horizon: exact up to [`MONTHLY_EXACT_CAP`] values,
    /// then at most [`MONTHLY_MAX_BINS`] bins a sign, so that a run's memory does not grow
    /// with its horizon by more than a few KiB a month and option.
    pub fn monthly() -> Stream {
        Stream::with_limits(MONTHLY_EXACT_CAP, MONTHLY_MAX_BINS)
    }

    /// A stream that keeps up to `cap` values exactly, then at most `max_bins` (at least 2)
    /// histogram bins a sign.
    pub fn with_limits(cap: usize, max_bins: usize) -> Stream {
        assert!(max_bins >= 2, "a histogram needs at least two bins a sign");
        Stream {
            moments: Moments::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            exact: Vec::new(),
            cap,
            max_bins,
            hist: None,
        }
    }

    /// Add one value. Non-finite values are a bug upstream and are refused.
    pub fn push(&mut self, x: f64) -> Result<(), String> {
        if !x.is_finite() {
            return Err(format!("a sample was {x}"));
        }
        self.moments.push(x);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        match &mut self.hist {
            Some(h) => h.add(x, self.max_bins),
            None => {
                self.exact.push(x);
                if self.exact.len() > self.cap {
                    let mut h = LogHistogram::default();
                    for v in self.exact.drain(..) {
                        h.add(v, self.max_bins);
                    }
                    self.exact = Vec::new();
                    self.hist = Some(h);
                }
            }
        }
        Ok(())
    }

    /// Add everything `other` saw after what this one saw (Chan et al.'s pairwise update for
    /// the mean and variance), as if its values had been pushed here in order.
    pub fn merge(&mut self, other: &Stream) {
        if other.count() == 0 {
            return;
        }
        self.moments.merge(&other.moments);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if self.hist.is_none()
            && other.hist.is_none()
            && self.exact.len() + other.exact.len() <= self.cap
        {
            self.exact.extend_from_slice(&other.exact);
            return;
        }
        let h = self.hist.get_or_insert_with(LogHistogram::default);
        for v in self.exact.drain(..) {
            h.add(v, self.max_bins);
        }
        self.exact = Vec::new();
        for v in &other.exact {
            h.add(*v, self.max_bins);
        }
        if let Some(o) = &other.hist {
            h.merge(o, self.max_bins);
        }
    }

    /// Values seen.
    pub fn count(&self) -> u64 {
        self.moments.count()
    }
    /// Mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.moments.mean()
    }
    /// Sample variance.
    pub fn variance(&self) -> f64 {
        self.moments.variance()
    }
    /// Standard error of the mean.
    pub fn std_error(&self) -> f64 {
        self.moments.std_error()
    }
    /// True when quantiles are exact.
    pub fn is_exact(&self) -> bool {
        self.hist.is_none()
    }

    /// Bound on the relative error of a quantile (beyond the rank's rounding to a value
    /// seen): 0 while exact, half a bin's width once the histogram holds the values (0.05%,
    /// doubled for each coarsening).
    pub fn quantile_error(&self) -> f64 {
        match &self.hist {
            None => 0.0,
            Some(h) => (BIN_WIDTH.ln_1p() * h.width() * 0.5).exp_m1(),
        }
    }

    /// The `q` quantile, `q` in [0, 1].
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count() == 0 {
            return f64::NAN;
        }
        match &self.hist {
            None => {
                let mut v = self.exact.clone();
                v.sort_by(f64::total_cmp);
                quantile_sorted(&v, q)
            }
            Some(h) => h.quantile(q, self.count()).clamp(self.min, self.max),
        }
    }

    /// Several quantiles at once, sorting only once.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        if self.count() == 0 {
            return vec![f64::NAN; qs.len()];
        }
        match &self.hist {
            None => {
                let mut v = self.exact.clone();
                v.sort_by(f64::total_cmp);
                qs.iter().map(|q| quantile_sorted(&v, *q)).collect()
            }
            Some(h) => qs
                .iter()
                .map(|q| h.quantile(*q, self.count()).clamp(self.min, self.max))
                .collect(),
        }
    }

    /// Mean, standard error and the 5/50/95 percentiles.
    pub fn summary(&self) -> Summary {
        let q = self.quantiles(&[0.05, 0.5, 0.95]);
        Summary {
            mean: self.mean(),
            std_error: self.std_error(),
            p5: q[0],
            p50: q[1],
            p95: q[2],
            n: self.count(),
        }
    }

    /// Exactly kept values in arrival order (empty once the histogram took over).
    pub fn exact_values(&self) -> &[f64] {
        &self.exact
    }
}

/// The `q` quantile of sorted values, interpolating linearly between order statistics
/// (Hyndman & Fan type 7, as numpy's default).
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Counts in logarithmic bins, for both signs and zero. A bin holds 2^`shift` base bins
/// (each 0.1% wide): the least shift at which the values seen fit the stream's bins a sign.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogHistogram {
    pos: Bins,
    neg: Bins,
    zero: u64,
    shift: u32,
}

/// Counts of consecutive bins from `start`: only the range the values cover is kept (a total
/// in dollars sits some 30,000 bins above the smallest magnitude).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bins {
    start: usize,
    counts: Vec<u64>,
}

impl Bins {
    fn add(&mut self, bin: usize, count: u64) {
        if self.counts.is_empty() {
            self.start = bin;
        } else if bin < self.start {
            let grow = self.start - bin;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.start = bin;
        }
        let i = bin - self.start;
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += count;
    }
    /// Add `other`'s counts, its bins `down` shifts finer than these.
    fn merge(&mut self, other: &Bins, down: u32) {
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                self.add((other.start + i) >> down, c);
            }
        }
    }
    /// The same counts in bins twice as wide.
    fn halved(&self) -> Bins {
        let mut h = Bins::default();
        h.merge(self, 1);
        h
    }
    /// (bin, count), lowest bin first.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .map(move |(i, &c)| (self.start + i, c))
    }
}

impl LogHistogram {
    /// The base bin of magnitude `x`.
    fn bin(x: f64) -> usize {
        ((x / MIN_MAGNITUDE).ln() / BIN_WIDTH.ln_1p()) as usize
    }
    /// Base bins a bin holds.
    fn width(&self) -> f64 {
        (1u64 << self.shift) as f64
    }
    fn value(&self, bin: usize) -> f64 {
        // Geometric middle of the bin (of its base bins).
        MIN_MAGNITUDE * (BIN_WIDTH.ln_1p() * (bin as f64 + 0.5) * self.width()).exp()
    }
    fn add(&mut self, x: f64, max_bins: usize) {
        let a = x.abs();
        if a < MIN_MAGNITUDE {
            self.zero += 1;
            return;
        }
        let side = if x > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        side.add(Self::bin(a) >> self.shift, 1);
        self.fit(max_bins);
    }
    /// Widen the bins until each sign's fit in `max_bins`. Since the bins a set of values
    /// needs at a shift only grow as values come, the shift reached is that of all the values
    /// together, whatever their order.
    fn fit(&mut self, max_bins: usize) {
        while self.pos.counts.len() > max_bins || self.neg.counts.len() > max_bins {
            self.coarsen();
        }
    }
    fn coarsen(&mut self) {
        self.pos = self.pos.halved();
        self.neg = self.neg.halved();
        self.shift += 1;
    }
    fn merge(&mut self, other: &LogHistogram, max_bins: usize) {
        while self.shift < other.shift {
            self.coarsen();
        }
        let down = self.shift - other.shift;
        self.pos.merge(&other.pos, down);
        self.neg.merge(&other.neg, down);
        self.zero += other.zero;
        self.fit(max_bins);
    }
    fn quantile(&self, q: f64, n: u64) -> f64 {
        let target = (q.clamp(0.0, 1.0) * (n.saturating_sub(1)) as f64).round() as u64;
        let mut seen = 0u64;
        for (b, c) in self.neg.iter().rev() {
            seen += c;
            if seen > target {
                return -self.value(b);
            }
        }
        seen += self.zero;
        if seen > target {
            return 0.0;
        }
        for (b, c) in self.pos.iter() {
            seen += c;
            if seen > target {
                return self.value(b);
            }
        }
        f64::NAN
    }
}

/// A share of paths on which something held, with its standard error.
pub fn proportion(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let p = hits as f64 / n as f64;
    (p, (p * (1.0 - p) / n as f64).sqrt())
}

// ------------------------------------------------------------------------------------------
// Part files: the accumulators as they are written, and what a read one must satisfy.

/// A [`Stream`] as written: the extremes of an empty stream (±∞, which JSON cannot hold) are
/// absent.
#[derive(Serialize)]
struct StreamOut<'a> {
    moments: &'a Moments,
    min: Option<f64>,
    max: Option<f64>,
    exact: &'a [f64],
    cap: usize,
    max_bins: usize,
    hist: &'a Option<LogHistogram>,
}

/// A [`Stream`] as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamIn {
    moments: Moments,
    min: Option<f64>,
    max: Option<f64>,
    exact: Vec<f64>,
    cap: usize,
    max_bins: usize,
    hist: Option<LogHistogram>,
}

impl Serialize for Stream {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let Stream {
            moments,
            min,
            max,
            exact,
            cap,
            max_bins,
            hist,
        } = self;
        StreamOut {
            moments,
            min: min.is_finite().then_some(*min),
            max: max.is_finite().then_some(*max),
            exact,
            cap: *cap,
            max_bins: *max_bins,
            hist,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Stream {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w = StreamIn::deserialize(d)?;
        Ok(Stream {
            moments: w.moments,
            min: w.min.unwrap_or(f64::INFINITY),
            max: w.max.unwrap_or(f64::NEG_INFINITY),
            exact: w.exact,
            cap: w.cap,
            max_bins: w.max_bins,
            hist: w.hist,
        })
    }
}

/// Largest sum of squared deviations `n` values within [`fold::MAX_VALUE`] can have.
fn max_squares(n: u64) -> f64 {
    4.0 * fold::MAX_VALUE * fold::MAX_VALUE * n as f64
}

/// A sum of squared deviations: at least 0, at most what `n` values in range give.
fn squares(key: &str, v: f64, n: u64) -> Checked {
    if v.is_finite() && (0.0..=max_squares(n)).contains(&v) {
        Ok(())
    } else {
        Err(Unfit::new(format!(
            "is {v}; expected a sum of squares from 0 to {:e} over {n} values",
            max_squares(n)
        ))
        .under(key))
    }
}

impl Validate for Moments {
    fn validate(&self, _empty: &Self, paths: u64) -> Checked {
        let Moments { n, mean, m2 } = *self;
        fold::field("n", &n, &n, paths)?;
        fold::value(mean).map_err(|u| u.under("mean"))?;
        squares("m2", m2, n)?;
        if n == 0 && (mean != 0.0 || m2 != 0.0) {
            return Err(Unfit::new(
                "holds a mean or spread but no values; expected 0 for both",
            ));
        }
        Ok(())
    }
}

impl Validate for Ratio {
    fn validate(&self, _empty: &Self, paths: u64) -> Checked {
        let Ratio {
            n,
            mean_x,
            mean_y,
            sxx,
            syy,
            sxy,
        } = *self;
        fold::field("n", &n, &n, paths)?;
        fold::value(mean_x).map_err(|u| u.under("mean_x"))?;
        fold::value(mean_y).map_err(|u| u.under("mean_y"))?;
        squares("sxx", sxx, n)?;
        squares("syy", syy, n)?;
        squares("sxy", sxy.abs(), n).map_err(|u| u.under("sxy"))?;
        if n == 0 && [mean_x, mean_y, sxx, syy, sxy].iter().any(|v| *v != 0.0) {
            return Err(Unfit::new(
                "holds means or spreads but no values; expected 0 for all",
            ));
        }
        Ok(())
    }
}

/// The highest histogram bin a value within [`fold::MAX_VALUE`] falls in.
fn max_bin() -> usize {
    LogHistogram::bin(fold::MAX_VALUE)
}

impl Bins {
    /// Bins of a histogram of at most `n` values, `shift` coarsenings up: within the range
    /// values in bounds fall in.
    fn validate(&self, n: u64, shift: u32) -> std::result::Result<u64, Unfit> {
        let top = max_bin() >> shift;
        if self.start > top || self.counts.len() > top + 1 - self.start {
            return Err(Unfit::new(format!(
                "bins {} to {} are outside 0..={top}, where values of at most {:e} fall",
                self.start,
                self.start as u128 + self.counts.len() as u128,
                fold::MAX_VALUE
            )));
        }
        let mut total = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            fold::count(*c, n).map_err(|u| u.under(&format!("counts[{i}]")))?;
            total += c;
        }
        Ok(total)
    }
}

impl LogHistogram {
    /// Total count, when every bin is in range.
    fn validate(&self, n: u64, max_bins: usize) -> std::result::Result<u64, Unfit> {
        // The bins of base bins up to the largest value in bounds still differ.
        if self.shift >= usize::BITS - max_bin().leading_zeros() {
            return Err(Unfit::new(format!(
                "is {}; expected fewer coarsenings than the {} bits of the largest bin",
                self.shift,
                usize::BITS - max_bin().leading_zeros()
            ))
            .under("shift"));
        }
        let widest = self.pos.counts.len().max(self.neg.counts.len());
        if widest > max_bins {
            return Err(Unfit::new(format!(
                "spans {widest} bins; expected at most {max_bins} a sign"
            )));
        }
        // Coarsened only when the bins one step finer (about twice as many) did not fit.
        if self.shift > 0 && 2 * widest <= max_bins {
            return Err(Unfit::new(format!(
                "is {} with at most {widest} bins a sign; expected 0 coarsenings unless the finer bins (about {}) would pass {max_bins}",
                self.shift,
                2 * widest
            ))
            .under("shift"));
        }
        let pos = self
            .pos
            .validate(n, self.shift)
            .map_err(|u| u.under("pos"))?;
        let neg = self
            .neg
            .validate(n, self.shift)
            .map_err(|u| u.under("neg"))?;
        fold::count(self.zero, n).map_err(|u| u.under("zero"))?;
        Ok(pos + neg + self.zero)
    }
}

impl Validate for Stream {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let Stream {
            moments,
            min,
            max,
            exact,
            cap,
            max_bins,
            hist,
        } = self;
        fold::setting("cap", cap, &empty.cap)?;
        fold::setting("max_bins", max_bins, &empty.max_bins)?;
        fold::field("moments", moments, &empty.moments, paths)?;
        let n = moments.count();
        if n == 0 {
            if !exact.is_empty() || hist.is_some() || min.is_finite() || max.is_finite() {
                return Err(Unfit::new(
                    "holds values but counts none; expected an empty stream",
                ));
            }
            return Ok(());
        }
        fold::value(*min).map_err(|u| u.under("min"))?;
        fold::value(*max).map_err(|u| u.under("max"))?;
        match hist {
            None => {
                if exact.len() as u64 != n || exact.len() > *cap {
                    return Err(Unfit::new(format!("holds {} values but counts {n}; expected as many as it counts, at most {cap}", exact.len())).under("exact"));
                }
                for (i, v) in exact.iter().enumerate() {
                    fold::value(*v).map_err(|u| u.under(&format!("exact[{i}]")))?;
                }
                let lo = exact.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = exact.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if lo != *min || hi != *max {
                    return Err(Unfit::new(format!(
                        "min {min} and max {max} are not those of its values ({lo} and {hi})"
                    )));
                }
            }
            Some(h) => {
                if !exact.is_empty() || n <= *cap as u64 {
                    return Err(Unfit::new(format!("holds a histogram of {n} values beside {} exact ones (cap {cap}); expected exact values up to the cap, a histogram alone past it", exact.len())).under("hist"));
                }
                let total = h.validate(n, *max_bins).map_err(|u| u.under("hist"))?;
                if total != n {
                    return Err(
                        Unfit::new(format!("counts {total} values; expected {n}")).under("hist")
                    );
                }
                if min > max {
                    return Err(Unfit::new(format!("min {min} is above max {max}")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_standard_error_match_the_textbook() {
        let mut s = Stream::default();
        for x in [1.0, 2.0, 3.0, 4.0] {
            s.push(x).unwrap();
        }
        assert_eq!(s.mean(), 2.5);
        assert!((s.variance() - 5.0 / 3.0).abs() < 1e-12);
        assert!((s.std_error() - (5.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.quantile(0.5), 2.5);
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(s.quantile(1.0), 4.0);
    }

    #[test]
    fn non_finite_samples_are_refused() {
        let mut s = Stream::default();
        assert!(s.push(f64::NAN).is_err());
        assert!(s.push(f64::INFINITY).is_err());
        assert_eq!(s.count(), 0);
    }

    #[test]
    fn histogram_quantiles_are_within_a_bin_of_exact() {
        let mut exact = Stream::with_cap(usize::MAX);
        let mut sketch = Stream::with_cap(1000);
        // A deterministic spread over six orders of magnitude and both signs.
        for i in 0..50_000u64 {
            let x = ((i * 7919) % 50_000) as f64;
            let v = if i % 10 == 0 { -x } else { 0.01 * x * x };
            exact.push(v).unwrap();
            sketch.push(v).unwrap();
        }
        assert!(!sketch.is_exact());
        for q in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] {
            let (a, b) = (exact.quantile(q), sketch.quantile(q));
            assert!(
                (a - b).abs() <= 2e-3 * a.abs().max(1.0),
                "q={q}: exact {a} sketch {b}"
            );
        }
        assert_eq!(exact.mean(), sketch.mean());
    }

    /// Chunks folded on their own and merged in order give what pushing everything gives,
    /// whether the merged stream stays exact or moves to the histogram.
    #[test]
    fn merging_chunks_matches_pushing_in_order() {
        for cap in [usize::MAX, 500, 150] {
            let mut whole = Stream::with_cap(cap);
            let mut merged = Stream::with_cap(cap);
            for chunk in 0..10u64 {
                let mut part = Stream::with_cap(cap);
                for i in 0..100u64 {
                    let v = ((chunk * 100 + i) * 7919 % 1000) as f64 * 1.5 - 200.0;
                    whole.push(v).unwrap();
                    part.push(v).unwrap();
                }
                merged.merge(&part);
            }
            assert_eq!(merged.count(), whole.count());
            assert_eq!(merged.is_exact(), whole.is_exact(), "cap {cap}");
            assert!((merged.mean() - whole.mean()).abs() < 1e-9);
            assert!((merged.variance() / whole.variance() - 1.0).abs() < 1e-12);
            for q in [0.0, 0.05, 0.5, 0.95, 1.0] {
                assert_eq!(merged.quantile(q), whole.quantile(q), "cap {cap}, q {q}");
            }
        }
    }

    /// Values spread over a factor of `spread`, in a scrambled order, with some negatives.
    fn spread_values(n: u64, spread: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let u = ((i * 7919) % n) as f64 / n as f64;
                let v = spread.powf(u) * 3.7;
                if i % 7 == 0 {
                    -v
                } else {
                    v
                }
            })
            .collect()
    }

    /// A bounded histogram's quantiles against the sorted values (the reference): within
    /// the stated error of an order statistic next to the rank, at every coarsening.
    #[test]
    fn bounded_histograms_keep_quantiles_within_their_stated_error() {
        for (spread, max_bins, shift) in [
            (2.0, 1024, 0),
            (7.0, 1024, 1),
            (50.0, 1024, 2),
            (1e6, 1024, 4),
            (1e6, 64, 8),
        ] {
            let values = spread_values(20_000, spread);
            let mut sketch = Stream::with_limits(100, max_bins);
            for v in &values {
                sketch.push(*v).unwrap();
            }
            let h = sketch.hist.as_ref().unwrap();
            assert_eq!(h.shift, shift, "spread {spread}, {max_bins} bins");
            assert!(h.pos.counts.len() <= max_bins && h.neg.counts.len() <= max_bins);
            let err = sketch.quantile_error();
            // Half a bin of 2^shift base bins, each 0.1% wide.
            let half = 1.001f64.powf(2f64.powi(shift as i32) / 2.0) - 1.0;
            assert!((err / half - 1.0).abs() < 1e-9, "{err} vs {half}");
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            for q in [0.0, 0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0] {
                let rank = (q * (n - 1) as f64).round() as usize;
                let near = &sorted[rank.saturating_sub(1)..(rank + 2).min(n)];
                let got = sketch.quantile(q);
                assert!(
                    near.iter()
                        .any(|v| (got - v).abs() <= err * v.abs() * 1.000_001),
                    "spread {spread}, {max_bins} bins, q {q}: {got} vs {near:?} (error {err})"
                );
            }
        }
    }

    /// The histogram is a function of the values: pushed in any order, or folded in chunks of
    /// any size (each chunk coarsened on its own) and merged, it is the same, bin for bin,
    /// and it is the unbounded histogram's base bins taken 2^shift together.
    #[test]
    fn bounded_histograms_do_not_depend_on_order_or_folding() {
        let values = spread_values(6000, 1e4);
        let pushed = |vals: &mut dyn Iterator<Item = f64>| {
            let mut s = Stream::with_limits(0, 256);
            for v in vals {
                s.push(v).unwrap();
            }
            s
        };
        let forward = pushed(&mut values.iter().copied());
        let backward = pushed(&mut values.iter().rev().copied());
        assert_eq!(forward.hist, backward.hist);
        for chunk in [1, 7, 100, 2999] {
            let mut merged = Stream::with_limits(0, 256);
            for part in values.chunks(chunk) {
                merged.merge(&pushed(&mut part.iter().copied()));
            }
            assert_eq!(merged.hist, forward.hist, "chunks of {chunk}");
        }
        let h = forward.hist.unwrap();
        assert!(h.shift > 0);
        let mut fine = LogHistogram::default();
        for v in &values {
            fine.add(*v, usize::MAX);
        }
        for _ in 0..h.shift {
            fine.coarsen();
        }
        assert_eq!(fine, h);
    }

    /// A part file's histogram that is wider than its stream allows, or coarser than its
    /// values needed, is refused by name.
    #[test]
    fn histograms_outside_their_bounds_are_refused() {
        let empty = Stream::with_limits(0, 256);
        let mut s = empty.clone();
        for v in spread_values(3000, 1e4) {
            s.push(v).unwrap();
        }
        assert!(s.validate(&empty, 3000).is_ok());
        let mut wide = s.clone();
        wide.max_bins = 100_000;
        let e = wide.validate(&Stream::with_limits(0, 100_000), 3000);
        assert!(format!("{:?}", e.unwrap_err()).contains("shift"));
        let mut far = s.clone();
        far.hist.as_mut().unwrap().shift = 64;
        let e = far.validate(&empty, 3000);
        assert!(format!("{:?}", e.unwrap_err()).contains("is 64; expected fewer coarsenings"));
        let mut narrow = s.clone();
        narrow.hist.as_mut().unwrap().shift -= 1;
        narrow.hist.as_mut().unwrap().pos.counts.extend([0; 300]);
        let e = narrow.validate(&empty, 3000);
        assert!(format!("{:?}", e.unwrap_err()).contains("expected at most 256"));
    }

    #[test]
    fn constant_samples_have_exact_quantiles_even_in_the_histogram() {
        let mut s = Stream::with_cap(10);
        for _ in 0..100 {
            s.push(1963.7).unwrap();
        }
        assert_eq!(s.quantile(0.05), 1963.7);
        assert_eq!(s.quantile(0.95), 1963.7);
    }

    #[test]
    fn ratio_is_the_ratio_of_sums_and_merges_like_pushing() {
        let xs = [3.0, 10.0, 4.0, 8.0, 1.0];
        let ys = [100.0, 50.0, 200.0, 80.0, 10.0];
        let mut all = Ratio::default();
        for (x, y) in xs.iter().zip(&ys) {
            all.push(*x, *y);
        }
        // Σx / Σy, not the mean of x/y (which is 0.07 here).
        assert!((all.value() - 26.0 / 440.0).abs() < 1e-15);
        let (mut a, mut b) = (Ratio::default(), Ratio::default());
        for i in 0..2 {
            a.push(xs[i], ys[i]);
        }
        for i in 2..5 {
            b.push(xs[i], ys[i]);
        }
        a.merge(&b);
        assert!((a.value() - all.value()).abs() < 1e-15);
        assert!((a.std_error() - all.std_error()).abs() < 1e-12);
        // Delta method against a direct computation of the same formula.
        let n = 5.0;
        let (mx, my) = (26.0 / n, 440.0 / n);
        let r = mx / my;
        let var = |u: &[f64], mu: f64| u.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0);
        let cov = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (x - mx) * (y - my))
            .sum::<f64>()
            / (n - 1.0);
        let se = ((var(&xs, mx) - 2.0 * r * cov + r * r * var(&ys, my)) / (n * my * my)).sqrt();
        assert!(
            (all.std_error() - se).abs() < 1e-12,
            "{} vs {se}",
            all.std_error()
        );
    }
}

/// The ceiling of `x` when it is a count (0 or more, or not a number, which gives 0), without a
/// libm call: baseline x86-64 has no rounding instruction, and the engine takes ceilings in
/// every hour it steps.
#[inline(always)]
pub fn ceil_count(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x >= 4_503_599_627_370_496.0 {
        // 2^52 and above every f64 is whole.
        return x;
    }
    let t = x as u64 as f64;
    if t < x {
        t + 1.0
    } else {
        t
    }
}

#[cfg(test)]
mod ceil_tests {
    use super::ceil_count;

    #[test]
    fn ceil_count_is_the_ceiling_of_counts() {
        for x in [
            0.0,
            1e-300,
            0.3,
            1.0,
            1.0 + f64::EPSILON,
            2.5,
            7.0,
            1e15 + 0.5,
            4.6e15,
            1e300,
        ] {
            assert_eq!(ceil_count(x), x.ceil(), "{x}");
        }
        assert_eq!(ceil_count(-0.5), 0.0);
        assert_eq!(ceil_count(f64::NAN), 0.0);
    }
}
