//! The plain reference: a request-level discrete-event simulation of one fleet in steady state.
//!
//! Poisson arrivals at a constant rate, service times drawn from the mix, `c` identical servers
//! taking requests first come first served, and the three policies (a request that would wait
//! more than the policy allows goes to the API on arrival and never occupies a server). Under
//! FIFO a request starts at max(arrival, earliest time a server frees), so the state is the
//! `c` times at which the servers free (Kiefer and Wolfowitz 1955); no event list is needed.
//!
//! The simulation starts empty and drops a warm-up; the rest is cut into equal batches whose
//! spread gives the standard errors (batch means). Seeded with `Xoshiro256PlusPlus`, so a
//! seed gives the same numbers on every machine.

use super::mix::ServiceMix;
use super::policy::Policy;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How long and how to simulate.
#[derive(Debug, Clone)]
pub struct DesConfig {
    /// Servers (replicas).
    pub servers: u32,
    /// Arrival rate [requests/s].
    pub arrival_rate: f64,
    /// Service times.
    pub mix: ServiceMix,
    /// What happens to a request that would wait.
    pub policy: Policy,
    /// Requests measured, after the warm-up.
    pub requests: usize,
    /// Requests simulated first and not measured.
    pub warmup: usize,
    /// Batches for the standard errors (at least 2).
    pub batches: usize,
    /// Seed of the generator.
    pub seed: u64,
}

/// What the simulation measured.
#[derive(Debug, Clone)]
pub struct DesResult {
    /// Share of requests sent to the API.
    pub overflow_share: f64,
    /// Standard error of `overflow_share` (batch means).
    pub overflow_share_se: f64,
    /// Share of served requests that waited at all.
    pub prob_wait: f64,
    /// Mean wait of served requests [s].
    pub mean_wait: f64,
    /// Standard error of `mean_wait` [s].
    pub mean_wait_se: f64,
    /// Latency (wait + service) of every served request, sorted [s].
    latencies: Vec<f64>,
    /// Waits of every served request, sorted [s].
    waits: Vec<f64>,
    /// 95th percentile of latency in each batch [s].
    batch_p95: Vec<f64>,
}

/// A simulation time that sorts (times are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The `q` quantile of sorted values (linear interpolation between order statistics).
fn sorted_quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = (i + 1).min(v.len() - 1);
    v[i] + (v[j] - v[i]) * (pos - i as f64)
}

fn mean_and_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

impl DesResult {
    /// The `q` quantile of the latency of served requests [s].
    pub fn latency_quantile(&self, q: f64) -> f64 {
        sorted_quantile(&self.latencies, q)
    }

    /// The `q` quantile of the wait of served requests [s].
    pub fn wait_quantile(&self, q: f64) -> f64 {
        sorted_quantile(&self.waits, q)
    }

    /// Share of served requests that waited longer than `t` seconds.
    pub fn wait_tail(&self, t: f64) -> f64 {
        let n = self.waits.len();
        if n == 0 {
            return 0.0;
        }
        let at_most = self.waits.partition_point(|&w| w <= t);
        (n - at_most) as f64 / n as f64
    }

    /// Standard error of the latency's 95th percentile, from its spread over batches [s].
    pub fn p95_se(&self) -> f64 {
        mean_and_se(&self.batch_p95).1
    }
}

/// Run the simulation.
pub fn simulate(cfg: &DesConfig) -> DesResult {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let buckets = cfg.mix.buckets();
    let mut cumulative = Vec::with_capacity(buckets.len());
    let mut acc = 0.0;
    for b in buckets {
        acc += b.share;
        cumulative.push(acc);
    }
    let max_wait = cfg.policy.max_wait_seconds();
    let batches = cfg.batches.max(2);
    let per_batch = (cfg.requests / batches).max(1);
    let measured = per_batch * batches;
    let mut free: BinaryHeap<Reverse<Time>> =
        (0..cfg.servers).map(|_| Reverse(Time(0.0))).collect();
    let mut t = 0.0;
    let mut latencies = Vec::with_capacity(measured);
    let mut waits = Vec::with_capacity(measured);
    let mut batch_overflow = vec![0.0; batches];
    let mut batch_wait = vec![0.0; batches];
    let mut batch_p95 = Vec::with_capacity(batches);
    let mut overflowed = 0usize;
    let mut waited = 0usize;
    let mut batch_lat: Vec<f64> = Vec::with_capacity(per_batch);
    let (mut b_over, mut b_wait, mut b_served) = (0usize, 0.0, 0usize);
    // Without a finite positive rate nothing arrives: an empty result.
    if cfg.arrival_rate.is_nan() || cfg.arrival_rate <= 0.0 || !cfg.arrival_rate.is_finite() {
        return DesResult {
            overflow_share: 0.0,
            overflow_share_se: 0.0,
            prob_wait: 0.0,
            mean_wait: 0.0,
            mean_wait_se: 0.0,
            latencies,
            waits,
            batch_p95: vec![0.0; 2],
        };
    }
    for n in 0..cfg.warmup + measured {
        // 1 − U lies in (0, 1], so the logarithm is finite.
        t += -(1.0 - rng.random::<f64>()).ln() / cfg.arrival_rate;
        let u: f64 = rng.random();
        let k = cumulative
            .partition_point(|&c| c <= u)
            .min(buckets.len() - 1);
        let service = buckets[k].seconds;
        let earliest = free.peek().map(|f| f.0 .0).unwrap_or(f64::INFINITY);
        let wait = (earliest - t).max(0.0);
        let accepted = wait <= max_wait && earliest.is_finite();
        if accepted {
            let mut top = free
                .peek_mut()
                .expect("a fleet with a finite free time has a server");
            top.0 = Time(t + wait + service);
        }
        if n < cfg.warmup {
            continue;
        }
        let m = n - cfg.warmup;
        if accepted {
            let lat = wait + service;
            latencies.push(lat);
            waits.push(wait);
            batch_lat.push(lat);
            b_wait += wait;
            b_served += 1;
            if wait > 0.0 {
                waited += 1;
            }
        } else {
            overflowed += 1;
            b_over += 1;
        }
        if (m + 1) % per_batch == 0 {
            let bi = m / per_batch;
            batch_overflow[bi] = b_over as f64 / per_batch as f64;
            batch_wait[bi] = if b_served > 0 {
                b_wait / b_served as f64
            } else {
                0.0
            };
            batch_lat.sort_by(f64::total_cmp);
            batch_p95.push(sorted_quantile(&batch_lat, 0.95));
            batch_lat.clear();
            (b_over, b_wait, b_served) = (0, 0.0, 0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    waits.sort_by(f64::total_cmp);
    let served = latencies.len();
    let (_, overflow_share_se) = mean_and_se(&batch_overflow);
    let (_, mean_wait_se) = mean_and_se(&batch_wait);
    DesResult {
        overflow_share: overflowed as f64 / measured as f64,
        overflow_share_se,
        prob_wait: if served > 0 {
            waited as f64 / served as f64
        } else {
            0.0
        },
        mean_wait: if served > 0 {
            waits.iter().sum::<f64>() / served as f64
        } else {
            0.0
        },
        mean_wait_se,
        latencies,
        waits,
        batch_p95,
    }
}
