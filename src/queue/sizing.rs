//! The inverse question: how many servers keep a latency quantile under a target.

use super::hour::QueueHour;
use super::mix::ServiceMix;
use super::policy::Policy;

/// The fewest servers, at most `max_servers`, for which the `quantile` latency of served
/// requests at `arrival_rate` [requests/s] under `policy` is at most `target_seconds` [s];
/// `None` when `max_servers` are not enough (or the target is below that quantile of the
/// service time itself). Latency falls as servers are added, so this is a bisection over
/// exact solves: about log₂(max_servers) of them.
pub fn servers_for_latency(
    mix: &ServiceMix,
    policy: Policy,
    arrival_rate: f64,
    quantile: f64,
    target_seconds: f64,
    max_servers: u32,
) -> Option<u32> {
    let meets = |c: u32| {
        let h = QueueHour::solve(c, arrival_rate, mix, policy);
        !h.over_capacity && h.latency_quantile(quantile) <= target_seconds
    };
    if max_servers == 0 || !meets(max_servers) {
        return None;
    }
    // Below the offered load a never-overflow fleet is over capacity: start just above it.
    let load = (arrival_rate.max(0.0) * mix.mean()).min(max_servers as f64);
    let mut lo = (load.floor() as u32).max(1) - 1; // fails or is 0
    let mut hi = max_servers; // meets
    if lo >= 1 && meets(lo) {
        lo = 0;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if mid >= 1 && meets(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_fewest_servers_for_a_p95_target() {
        let mix = ServiceMix::deterministic(3.0).unwrap();
        // 2 GPUs' worth of work at 74% each: p95 ≤ 10 s needs exactly 2 (facts.md); at 80%
        // it needs 3.
        let lam = 0.73 * 2.0 / 3.0;
        assert_eq!(
            servers_for_latency(&mix, Policy::NeverOverflow, lam, 0.95, 10.0, 64),
            Some(2)
        );
        let lam = 0.80 * 2.0 / 3.0;
        assert_eq!(
            servers_for_latency(&mix, Policy::NeverOverflow, lam, 0.95, 10.0, 64),
            Some(3)
        );
        // The answer is the smallest that meets the target.
        for lam in [0.1, 1.0, 5.0, 20.0] {
            let c = servers_for_latency(&mix, Policy::NeverOverflow, lam, 0.95, 5.0, 400).unwrap();
            let p95 =
                |c| QueueHour::solve(c, lam, &mix, Policy::NeverOverflow).latency_quantile(0.95);
            assert!(p95(c) <= 5.0);
            assert!(c == 1 || p95(c - 1) > 5.0, "lam={lam}: {c}");
        }
    }

    #[test]
    fn impossible_targets_are_none() {
        let mix = ServiceMix::deterministic(3.0).unwrap();
        assert_eq!(
            servers_for_latency(&mix, Policy::NeverOverflow, 1.0, 0.95, 2.9, 100),
            None
        );
        assert_eq!(
            servers_for_latency(&mix, Policy::NeverOverflow, 100.0, 0.95, 10.0, 10),
            None
        );
        assert_eq!(
            servers_for_latency(&mix, Policy::NeverOverflow, 1.0, 0.95, 10.0, 0),
            None
        );
        // Overflow at once serves every accepted request in its service time.
        assert_eq!(
            servers_for_latency(&mix, Policy::OverflowAtOnce, 100.0, 0.95, 3.0, 10),
            Some(1)
        );
    }
}
