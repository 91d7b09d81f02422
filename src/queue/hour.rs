//! One hour of one fleet in steady state: overflow share, the wait of served requests and
//! their latency (wait + service), computed exactly from the models (the reference that the
//! tabulated fast path in `table` is checked against).

use super::erlang::erlang_b;
use super::mgc::{busy_weight, BusyShape, MAX_LOAD};
use super::mix::ServiceMix;
use super::policy::Policy;

/// What one hour of a fleet looks like in steady state.
#[derive(Debug, Clone)]
pub struct QueueHour {
    /// Servers (replicas).
    pub servers: u32,
    /// Arrival rate [requests/s].
    pub arrival_rate: f64,
    /// Utilisation offered, λ·E[S]/c (∞ without servers).
    pub utilisation: f64,
    /// The policy, edge cases named ([`Policy::normalised`]).
    pub policy: Policy,
    /// Share of requests sent to the API.
    pub overflow_share: f64,
    /// True when the fleet never overflows and is offered as much work as it can do or more
    /// (ρ ≥ 1): no steady state, the hour's backlog grows; the wait figures are then ∞.
    pub over_capacity: bool,
    /// Share of served requests that wait at all.
    pub prob_wait: f64,
    /// Mean wait of served requests [s].
    pub mean_wait: f64,
    mix: ServiceMix,
    busy: Option<BusyShape>,
}

impl QueueHour {
    /// Solve an hour of `servers` servers receiving `arrival_rate` requests/s with service
    /// times `mix` under `policy`. Never panics: no (or a negative or NaN) rate is an idle
    /// hour; without servers every request overflows, or the hour is over capacity when it
    /// never overflows.
    pub fn solve(servers: u32, arrival_rate: f64, mix: &ServiceMix, policy: Policy) -> Self {
        let policy = policy.normalised();
        let lam = if arrival_rate > 0.0 {
            arrival_rate
        } else {
            0.0
        };
        let mut out = QueueHour {
            servers,
            arrival_rate: lam,
            utilisation: if servers == 0 {
                if lam > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            } else {
                lam * mix.mean() / servers as f64
            },
            policy,
            overflow_share: 0.0,
            over_capacity: false,
            prob_wait: 0.0,
            mean_wait: 0.0,
            mix: mix.clone(),
            busy: None,
        };
        if lam == 0.0 {
            return out;
        }
        let rho = out.utilisation;
        let max_wait = policy.max_wait_seconds();
        if servers == 0 || lam.is_infinite() {
            if max_wait.is_infinite() {
                out.set_over_capacity();
            } else {
                out.overflow_share = 1.0;
            }
            return out;
        }
        match policy {
            Policy::OverflowAtOnce => {
                out.overflow_share = erlang_b(servers, lam * mix.mean());
            }
            Policy::NeverOverflow => {
                if rho >= 1.0 {
                    out.set_over_capacity();
                } else {
                    out.fill(servers, lam, f64::INFINITY);
                }
            }
            Policy::OverflowAfter { max_wait_seconds } => {
                if rho > MAX_LOAD {
                    // Far above saturation the accepted rate no longer grows: solve at the
                    // cap and send the rest away.
                    let cap = MAX_LOAD * servers as f64 / mix.mean();
                    out.fill(servers, cap, max_wait_seconds);
                    out.overflow_share = 1.0 - (1.0 - out.overflow_share) * cap / lam;
                } else {
                    out.fill(servers, lam, max_wait_seconds);
                }
            }
        }
        out
    }

    fn set_over_capacity(&mut self) {
        self.over_capacity = true;
        self.prob_wait = 1.0;
        self.mean_wait = f64::INFINITY;
    }

    fn fill(&mut self, servers: u32, lam: f64, max_wait: f64) {
        let shape = BusyShape::solve(servers, lam, &self.mix, max_wait);
        let kappa = busy_weight(servers, lam, &self.mix, max_wait);
        // Idle weight over kept busy weight; ∞ when nothing is ever busy.
        let idle = if kappa > 0.0 {
            shape.inv_kept() / kappa
        } else {
            f64::INFINITY
        };
        let ratio = shape.total_over_kept();
        self.prob_wait = if idle.is_finite() {
            1.0 / (1.0 + idle)
        } else {
            0.0
        };
        self.overflow_share = if idle.is_finite() {
            ((ratio - 1.0) / (idle + ratio)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.mean_wait = self.prob_wait * shape.mean();
        self.busy = Some(shape);
    }

    /// The service times of this hour.
    pub fn mix(&self) -> &ServiceMix {
        &self.mix
    }

    /// P(wait > t) for a served request [t in s].
    pub fn wait_tail(&self, t: f64) -> f64 {
        if self.over_capacity {
            return 1.0;
        }
        if t < 0.0 {
            return 1.0;
        }
        match &self.busy {
            Some(b) => self.prob_wait * b.tail(t),
            None => 0.0,
        }
    }

    /// P(latency > t) for a served request, latency = wait + service [t in s].
    pub fn latency_tail(&self, t: f64) -> f64 {
        self.mix
            .buckets()
            .iter()
            .map(|b| b.share * self.wait_tail(t - b.seconds))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }

    /// P(latency ≤ t) for a served request [t in s].
    pub fn latency_cdf(&self, t: f64) -> f64 {
        1.0 - self.latency_tail(t)
    }

    /// The `q` quantile of the wait of served requests [s] (∞ over capacity).
    pub fn wait_quantile(&self, q: f64) -> f64 {
        quantile_of(|t| self.wait_tail(t), q, 0.0, self.over_capacity)
    }

    /// The `q` quantile of the latency of served requests [s] (∞ over capacity).
    pub fn latency_quantile(&self, q: f64) -> f64 {
        let t = quantile_of(|t| self.latency_tail(t), q, 0.0, self.over_capacity);
        // Requests that do not wait put atoms at the service times: land on them exactly.
        self.mix
            .buckets()
            .iter()
            .map(|b| b.seconds)
            .find(|&s| (t - s).abs() <= 1e-8 * s && self.latency_tail(s) <= 1.0 - q)
            .unwrap_or(t)
    }
}

/// The smallest t ≥ `lo` with tail(t) ≤ 1 − q, by doubling then bisection (relative 1e-9).
fn quantile_of(tail: impl Fn(f64) -> f64, q: f64, lo: f64, infinite: bool) -> f64 {
    if infinite {
        return f64::INFINITY;
    }
    let target = 1.0 - q.clamp(0.0, 1.0);
    if tail(lo) <= target {
        return lo;
    }
    let mut hi = 1e-3_f64.max(lo);
    let mut steps = 0;
    while tail(hi) > target {
        hi *= 2.0;
        steps += 1;
        if steps > 200 {
            return f64::INFINITY;
        }
    }
    let mut a = lo;
    for _ in 0..200 {
        let mid = 0.5 * (a + hi);
        if tail(mid) > target {
            a = mid;
        } else {
            hi = mid;
        }
        if hi - a <= 1e-9 * hi {
            break;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn klein() -> ServiceMix {
        ServiceMix::deterministic(0.57).unwrap()
    }

    fn w1() -> ServiceMix {
        ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).unwrap()
    }

    fn after(x: f64) -> Policy {
        Policy::OverflowAfter {
            max_wait_seconds: x,
        }
    }

    #[test]
    fn issue_threshold_and_wait_figures() {
        // One H100 at 90% load, overflow after 10 s of queue: ≈ 0.2% (des.rs: 0.26 ± 0.01%).
        let h = QueueHour::solve(1, 0.9 / 0.57, &klein(), after(10.0));
        assert!(
            (h.overflow_share - 0.0025).abs() < 0.0003,
            "{}",
            h.overflow_share
        );
        // One H100 at 80% load, never overflow: p95 wait ≈ 3.8 s (M/D/1).
        let h = QueueHour::solve(1, 0.8 / 0.57, &klein(), Policy::NeverOverflow);
        let p95 = h.wait_quantile(0.95);
        assert!((p95 - 3.77).abs() < 0.05, "{p95}");
    }

    #[test]
    fn facts_p95_under_ten_seconds_thresholds() {
        // FLUX.1 [dev] at 3 s: p95 latency ≤ 10 s up to about 53, 74, 86, 92% utilisation
        // with 1, 2, 4, 8 GPUs (shared/facts.md).
        let mix = ServiceMix::deterministic(3.0).unwrap();
        for (c, expected) in [(1u32, 0.53), (2, 0.74), (4, 0.86), (8, 0.92)] {
            let p95 = |rho: f64| {
                QueueHour::solve(c, rho * c as f64 / 3.0, &mix, Policy::NeverOverflow)
                    .latency_quantile(0.95)
            };
            let (mut lo, mut hi) = (0.01, 0.999);
            for _ in 0..40 {
                let mid = 0.5 * (lo + hi);
                if p95(mid) > 10.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            assert!((lo - expected).abs() < 0.02, "c={c}: {lo} vs {expected}");
        }
    }

    #[test]
    fn one_server_mean_wait_is_pollaczek_khinchine() {
        for mix in [klein(), w1()] {
            for &rho in &[0.3, 0.8, 0.98] {
                let lam = rho / mix.mean();
                let h = QueueHour::solve(1, lam, &mix, Policy::NeverOverflow);
                let pk = lam * mix.second_moment() / (2.0 * (1.0 - rho));
                assert!(
                    (h.mean_wait / pk - 1.0).abs() < 2e-3,
                    "rho={rho}: {} vs {pk}",
                    h.mean_wait
                );
                assert!((h.prob_wait - rho).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn exponential_tail_continues_the_grid() {
        // Far in the tail the wait of M/D/1 decays at Crommelin's rate: the ratio of tails a
        // service time apart is e^{r D} with λ(e^{−rD} − 1) = −r.
        let h = QueueHour::solve(1, 0.9 / 0.57, &klein(), Policy::NeverOverflow);
        let (t1, t2) = (40.0, 40.57);
        let ratio = h.wait_tail(t2) / h.wait_tail(t1);
        let lam = 0.9 / 0.57;
        let r = super::super::mgc::decay_root(lam, &[1.0], &[0.57]);
        assert!((lam * ((-r * 0.57).exp() - 1.0) + r).abs() < 1e-10);
        assert!((ratio / (r * 0.57).exp() - 1.0).abs() < 1e-3, "{ratio}");
    }

    #[test]
    fn threshold_edges_are_the_other_policies() {
        for &c in &[1u32, 3, 16] {
            for &rho in &[0.5, 0.95, 1.5] {
                let lam = rho * c as f64 / w1().mean();
                let at_once = QueueHour::solve(c, lam, &w1(), Policy::OverflowAtOnce);
                let zero = QueueHour::solve(c, lam, &w1(), after(0.0));
                assert_eq!(zero.overflow_share, at_once.overflow_share);
                // A tiny threshold is continuous with overflow at once.
                let tiny = QueueHour::solve(c, lam, &w1(), after(1e-6));
                assert!((tiny.overflow_share - at_once.overflow_share).abs() < 1e-4);
                if rho < 1.0 {
                    let never = QueueHour::solve(c, lam, &w1(), Policy::NeverOverflow);
                    let inf = QueueHour::solve(c, lam, &w1(), after(f64::INFINITY));
                    assert_eq!(inf.mean_wait, never.mean_wait);
                    // A long threshold converges to never.
                    let long = QueueHour::solve(c, lam, &w1(), after(1e4));
                    assert!(long.overflow_share < 1e-9);
                    assert!(
                        (long.latency_quantile(0.95) / never.latency_quantile(0.95) - 1.0).abs()
                            < 1e-3
                    );
                }
            }
        }
    }

    #[test]
    fn overflow_falls_as_the_threshold_grows() {
        for &rho in &[0.7, 1.0, 2.0] {
            let lam = rho * 4.0 / w1().mean();
            let mut last = 1.0;
            for &x in &[0.0, 0.1, 0.5, 2.0, 10.0, 60.0] {
                let h = QueueHour::solve(4, lam, &w1(), after(x));
                assert!(h.overflow_share <= last + 1e-12, "rho={rho} x={x}");
                last = h.overflow_share;
                assert!(h.latency_quantile(1.0) <= x + w1().max_seconds() + 1e-6);
            }
        }
    }

    #[test]
    fn far_above_saturation_the_fleet_serves_its_capacity() {
        // Accepted work cannot exceed c servers' worth: overflow → 1 − 1/ρ.
        for &rho in &[3.0, 50.0, 1e4] {
            let lam = rho * 4.0 / 0.57;
            let h = QueueHour::solve(4, lam, &klein(), after(10.0));
            assert!(
                (h.overflow_share - (1.0 - 1.0 / rho)).abs() < 0.01 / rho,
                "rho={rho}: {}",
                h.overflow_share
            );
            assert!(h.prob_wait > 0.99);
            assert!(h.mean_wait > 9.0 && h.mean_wait <= 10.0);
        }
    }

    #[test]
    fn never_overflow_at_or_above_capacity_says_so() {
        let h = QueueHour::solve(2, 2.0 / 0.57, &klein(), Policy::NeverOverflow);
        assert!(h.over_capacity);
        assert_eq!(h.mean_wait, f64::INFINITY);
        assert_eq!(h.latency_quantile(0.5), f64::INFINITY);
        assert_eq!(h.overflow_share, 0.0);
        let h = QueueHour::solve(2, 1.99 / 0.57, &klein(), Policy::NeverOverflow);
        assert!(!h.over_capacity && h.mean_wait.is_finite());
    }

    #[test]
    fn degenerate_inputs_give_documented_results() {
        for pol in [Policy::OverflowAtOnce, after(5.0), Policy::NeverOverflow] {
            for lam in [0.0, -1.0, f64::NAN] {
                let h = QueueHour::solve(3, lam, &klein(), pol);
                assert_eq!(h.overflow_share, 0.0);
                assert!(!h.over_capacity);
                assert_eq!(h.mean_wait, 0.0);
                assert_eq!(h.latency_quantile(0.95), 0.57);
            }
            let h = QueueHour::solve(0, 1.0, &klein(), pol);
            if pol == Policy::NeverOverflow {
                assert!(h.over_capacity);
            } else {
                assert_eq!(h.overflow_share, 1.0);
            }
            let h = QueueHour::solve(3, f64::INFINITY, &klein(), pol);
            assert!(h.over_capacity || h.overflow_share == 1.0);
            let h = QueueHour::solve(3, 1e-12, &klein(), pol);
            assert!(h.prob_wait < 1e-9 && h.overflow_share < 1e-9);
        }
    }

    #[test]
    fn many_servers_and_heavy_loads_stay_finite() {
        for &c in &[100u32, 400] {
            for &rho in &[0.5, 0.99, 1.3, 30.0] {
                let lam = rho * c as f64 / w1().mean();
                for pol in [Policy::OverflowAtOnce, after(10.0), Policy::NeverOverflow] {
                    let h = QueueHour::solve(c, lam, &w1(), pol);
                    assert!((0.0..=1.0).contains(&h.overflow_share));
                    assert!((0.0..=1.0).contains(&h.prob_wait));
                    if !h.over_capacity {
                        let q = h.latency_quantile(0.99);
                        assert!(
                            q.is_finite() && q >= w1().min_seconds(),
                            "c={c} rho={rho} {pol:?}: {q}"
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any finite input gives shares in [0, 1], ordered quantiles at least the shortest
        /// service time, and overflow that falls as the threshold grows.
        #[test]
        fn figures_are_sane(
            servers in 0u32..40,
            rho in 0.0f64..3.0,
            x in 0.0f64..60.0,
            times in proptest::collection::vec((0.01f64..1.0, 0.05f64..5.0), 1..4),
        ) {
            let mix = ServiceMix::new(&times).unwrap();
            let lam = rho * servers.max(1) as f64 / mix.mean();
            let mut last_overflow = 1.0;
            for pol in [Policy::OverflowAtOnce, Policy::OverflowAfter { max_wait_seconds: x }, Policy::NeverOverflow] {
                let h = QueueHour::solve(servers, lam, &mix, pol);
                prop_assert!((0.0..=1.0).contains(&h.overflow_share));
                prop_assert!((0.0..=1.0).contains(&h.prob_wait));
                prop_assert!(h.overflow_share <= last_overflow + 1e-9);
                last_overflow = h.overflow_share;
                if !h.over_capacity && h.overflow_share < 1.0 {
                    let (a, b, c) = (h.latency_quantile(0.5), h.latency_quantile(0.95), h.latency_quantile(0.99));
                    prop_assert!(a >= mix.min_seconds() * (1.0 - 1e-9));
                    prop_assert!(a <= b && b <= c && c.is_finite());
                }
            }
        }
    }
}
