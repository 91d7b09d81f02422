//! Latency mass accumulated over many hours, request-weighted, in a fixed histogram with
//! logarithmic bins, so that hours, paths and threads can be added in any order and give the
//! same bytes.
//!
//! Bins are 1/200 of a decade wide (1.16%) from 0.1 ms to 10⁶ s, with one bin for "never
//! in steady state" (hours over capacity) at the end; latencies below 0.1 ms count in the first
//! bin and those above 10⁶ s in the last finite one. Masses are fixed-point integers (2⁻⁴⁰
//! request a unit, in `u128`), so adding and merging are exact integer sums: associative,
//! commutative, with no drift however many hours. A quantile is read by interpolating within
//! its bin on the log scale, within one bin (1.2%) of the distribution's.

use super::hour::QueueHour;

/// Bins per decade of latency.
pub const BINS_PER_DECADE: usize = 200;
/// Lower edge of the first bin [s].
pub const MIN_SECONDS: f64 = 1e-4;
/// Decades covered from [`MIN_SECONDS`].
pub const DECADES: usize = 10;
/// Finite bins.
pub const BINS: usize = BINS_PER_DECADE * DECADES;
/// Requests per unit of stored mass.
const UNIT: f64 = 1.0 / (1u64 << 40) as f64;

/// The lower edge of bin `k` [s] (`k = BINS` is the upper edge of the last finite bin).
pub fn edge(k: usize) -> f64 {
    MIN_SECONDS * 10f64.powf(k as f64 / BINS_PER_DECADE as f64)
}

/// The bin holding latency `t` [s], clamped to the finite bins.
pub fn bin_of(t: f64) -> usize {
    // NaN lands here too.
    if t.is_nan() || t <= MIN_SECONDS {
        return 0;
    }
    let k = ((t / MIN_SECONDS).log10() * BINS_PER_DECADE as f64).floor();
    if k >= BINS as f64 {
        BINS - 1
    } else {
        k as usize
    }
}

/// Request-weighted latency over many hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Mass of each finite bin, then of "unbounded", in units of 2⁻⁴⁰ request.
    mass: Vec<u128>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn units(requests: f64) -> u128 {
    if requests > 0.0 && requests.is_finite() {
        (requests / UNIT).round() as u128
    } else {
        0
    }
}

/// `requests` in the histogram's fixed-point units (2⁻⁴⁰ request; 0 for none, negative or
/// not finite), for other accumulators that must add and merge exactly.
pub fn to_units(requests: f64) -> u128 {
    units(requests)
}

/// Requests in `u` fixed-point units.
pub fn from_units(u: u128) -> f64 {
    u as f64 * UNIT
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            mass: vec![0; BINS + 1],
        }
    }

    /// Requests recorded.
    pub fn total(&self) -> f64 {
        self.mass.iter().sum::<u128>() as f64 * UNIT
    }

    /// Requests recorded as never served in steady state (hours over capacity).
    pub fn unbounded(&self) -> f64 {
        self.mass[BINS] as f64 * UNIT
    }

    /// Add `requests` all at latency `seconds` (∞ or NaN: unbounded), e.g. requests
    /// overflowed to an API at its latency.
    pub fn add_point(&mut self, requests: f64, seconds: f64) {
        let k = if seconds.is_finite() {
            bin_of(seconds)
        } else {
            BINS
        };
        self.mass[k] += units(requests);
    }

    /// Add `requests` whose latency has CDF `cdf` [s → probability], which the histogram reads
    /// at the bin edges from `first` to `last` (mass below `first` goes to its bin, above
    /// `last` to that bin).
    pub fn add_cdf_between(
        &mut self,
        requests: f64,
        first: usize,
        last: usize,
        cdf: impl Fn(f64) -> f64,
    ) {
        if requests.is_nan() || requests <= 0.0 {
            return;
        }
        let last = last.min(BINS - 1).max(first);
        let mut below = 0.0;
        for k in first..=last {
            let upper = if k == last { 1.0 } else { cdf(edge(k + 1)) };
            let p = (upper - below).max(0.0);
            self.mass[k] += units(requests * p);
            below = upper.max(below);
        }
    }

    /// Add an hour's requests served by the fleet: `requests` arriving, of which the
    /// overflow share is left out (add it with [`add_point`](Self::add_point) at the API's
    /// latency if wanted). An hour over capacity adds its requests as unbounded.
    pub fn add_hour(&mut self, requests: f64, hour: &QueueHour) {
        self.add_hour_delayed(requests, hour, 0.0, 0.0);
    }

    /// [`add_hour`](Self::add_hour) with a share `delayed_share` of the served requests
    /// waiting `delay_seconds` more, e.g. for a cold start of a serverless worker.
    pub fn add_hour_delayed(
        &mut self,
        requests: f64,
        hour: &QueueHour,
        delayed_share: f64,
        delay_seconds: f64,
    ) {
        let served = requests * (1.0 - hour.overflow_share);
        if hour.over_capacity {
            self.add_point(served, f64::INFINITY);
            return;
        }
        let share = delayed_share.clamp(0.0, 1.0);
        let delay = if delay_seconds > 0.0 {
            delay_seconds
        } else {
            0.0
        };
        let first = bin_of(hour.mix().min_seconds());
        let last = bin_of(hour.latency_quantile(1.0 - 1e-12));
        self.add_cdf_between(served * (1.0 - share), first, last, |t| hour.latency_cdf(t));
        if share > 0.0 {
            self.add_cdf_between(
                served * share,
                bin_of(edge(first) + delay),
                bin_of(edge(last + 1) + delay),
                |t| hour.latency_cdf(t - delay),
            );
        }
    }

    /// Add `requests` whose latency CDF at the upper edge of bin k is `cdf_at(k)` for bins
    /// `first..=last` (all mass below `first` in it, the rest above `last` in that one).
    pub(super) fn add_binned(
        &mut self,
        requests: f64,
        first: usize,
        last: usize,
        cdf_at: impl Fn(usize) -> f64,
    ) {
        if requests.is_nan() || requests <= 0.0 {
            return;
        }
        let last = last.min(BINS - 1).max(first);
        let mut below = 0.0;
        for k in first..=last {
            let upper = if k == last { 1.0 } else { cdf_at(k).max(below) };
            self.mass[k] += units(requests * (upper - below));
            below = upper;
        }
    }

    /// Add everything `other` recorded (exact).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.mass.iter_mut().zip(&other.mass) {
            *a += b;
        }
    }

    /// The `q` quantile of latency over the recorded requests [s]; ∞ when it falls among the
    /// unbounded ones, NaN when nothing is recorded.
    pub fn quantile(&self, q: f64) -> f64 {
        let total: u128 = self.mass.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let target = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0.0;
        for (k, &m) in self.mass.iter().enumerate().take(BINS) {
            let m = m as f64;
            if m > 0.0 && below + m >= target {
                let frac = ((target - below) / m).clamp(0.0, 1.0);
                return edge(k) * 10f64.powf(frac / BINS_PER_DECADE as f64);
            }
            below += m;
        }
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::super::mix::ServiceMix;
    use super::super::policy::Policy;
    use super::*;

    fn w1() -> ServiceMix {
        ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).unwrap()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a / b - 1.0).abs() <= rel
    }

    #[test]
    fn bins_are_where_they_say() {
        assert_eq!(bin_of(MIN_SECONDS), 0);
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(f64::NAN), 0);
        assert_eq!(bin_of(1e9), BINS - 1);
        for t in [0.19, 0.57, 1.0, 2.75, 10.0, 3600.0] {
            let k = bin_of(t);
            assert!(edge(k) <= t * (1.0 + 1e-12) && t < edge(k + 1), "{t}");
        }
    }

    #[test]
    fn one_hour_reads_back_its_quantiles() {
        let mix = w1();
        for pol in [
            Policy::OverflowAtOnce,
            Policy::OverflowAfter {
                max_wait_seconds: 10.0,
            },
            Policy::NeverOverflow,
        ] {
            let h = QueueHour::solve(4, 0.9 * 4.0 / mix.mean(), &mix, pol);
            let mut hist = LatencyHistogram::new();
            hist.add_hour(1000.0, &h);
            assert!(close(hist.total(), 1000.0 * (1.0 - h.overflow_share), 1e-9));
            for q in [0.5, 0.95, 0.99] {
                let (a, b) = (hist.quantile(q), h.latency_quantile(q));
                assert!(close(a, b, 0.012), "{pol:?} q={q}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn hours_are_weighted_by_requests() {
        // One request in 1000 at 0.19 s and the rest at 2.75 s: p50 is 2.75 s; with the
        // weights the other way round it is 0.19 s.
        let fast = QueueHour::solve(
            1,
            1e-9,
            &ServiceMix::deterministic(0.19).unwrap(),
            Policy::NeverOverflow,
        );
        let slow = QueueHour::solve(
            1,
            1e-9,
            &ServiceMix::deterministic(2.75).unwrap(),
            Policy::NeverOverflow,
        );
        let mut h = LatencyHistogram::new();
        h.add_hour(1.0, &fast);
        h.add_hour(999.0, &slow);
        assert!(close(h.quantile(0.5), 2.75, 0.012));
        let mut h = LatencyHistogram::new();
        h.add_hour(999.0, &fast);
        h.add_hour(1.0, &slow);
        assert!(close(h.quantile(0.5), 0.19, 0.012));
        assert!(close(h.quantile(0.9999), 2.75, 0.012));
    }

    #[test]
    fn merge_is_exact_and_order_free() {
        let mix = w1();
        let hours: Vec<QueueHour> = [0.2, 0.7, 0.95, 0.5]
            .iter()
            .map(|&r| QueueHour::solve(2, r * 2.0 / mix.mean(), &mix, Policy::NeverOverflow))
            .collect();
        let weights = [1234.5, 0.001, 77.0, 1e6];
        let mut forward = LatencyHistogram::new();
        for (h, w) in hours.iter().zip(weights) {
            forward.add_hour(w, h);
        }
        // Backwards, in two halves merged the other way round.
        let (mut a, mut b) = (LatencyHistogram::new(), LatencyHistogram::new());
        for i in (0..2).rev() {
            a.add_hour(weights[i], &hours[i]);
        }
        for i in (2..4).rev() {
            b.add_hour(weights[i], &hours[i]);
        }
        b.merge(&a);
        assert_eq!(forward, b);
    }

    #[test]
    fn over_capacity_and_delays() {
        let mix = ServiceMix::deterministic(0.57).unwrap();
        let over = QueueHour::solve(1, 10.0, &mix, Policy::NeverOverflow);
        let fine = QueueHour::solve(1, 0.1, &mix, Policy::OverflowAtOnce);
        let mut h = LatencyHistogram::new();
        h.add_hour(10.0, &over);
        h.add_hour(90.0, &fine);
        assert!(close(h.unbounded(), 10.0, 1e-12));
        assert_eq!(h.quantile(0.95), f64::INFINITY);
        assert!(h.quantile(0.5).is_finite());
        // A cold start of 60 s for a fifth of the served requests.
        let mut h = LatencyHistogram::new();
        h.add_hour_delayed(100.0, &fine, 0.2, 60.0);
        assert!(close(h.quantile(0.5), 0.57, 0.012));
        assert!(close(h.quantile(0.9), 60.57, 0.012));
        assert!(close(h.total(), 100.0 * (1.0 - fine.overflow_share), 1e-9));
        // Nothing recorded: no quantile.
        assert!(LatencyHistogram::new().quantile(0.5).is_nan());
    }
}
