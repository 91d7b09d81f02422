//! One path: its inputs, then its horizon month by month. In each month the hours that cannot
//! take any fleet out of its linear regime are pooled into one count per stream; the others
//! are simulated one by one ([`super::hour`]); then the month is priced ([`super::billing`]).

use super::hour::{draw_count, draw_pooled};
use super::state::PathScratch;
use super::{Engine, RunConfig, Sampler, LINEAR_SIGMAS, NORMAL_APPROX_MIN_MEAN};
use crate::error::{Error, Result};
use crate::ids::{OptionId, StreamId};
use crate::scenario::Arrivals;
use rand::Rng;
use rand_distr::{Distribution, Gamma};

use super::result::PathResult;

impl Engine {
    /// Sample one path's inputs: correlated through the copula where the scenario says so.
    /// Exactly one `u64` is drawn per input whether or not it is pinned or correlated, so
    /// pinning one input leaves every other input's draw unchanged.
    fn sample_inputs<R: Rng + ?Sized>(&self, rng: &mut R, pins: &[Option<f64>]) -> Vec<f64> {
        let n = self.scenario.inputs.len();
        let mut u = vec![0.0; n];
        match &self.scenario.copula {
            Some(c) => c.uniforms(rng, &mut u),
            None => u.iter_mut().for_each(|x| *x = crate::dist::open_unit(rng)),
        }
        self.scenario
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| {
                pins.get(i)
                    .copied()
                    .flatten()
                    .unwrap_or_else(|| inp.dist.quantile(u[i]))
            })
            .collect()
    }

    /// Simulate one path; `traced` keeps its hour-of-week profile for the fleet charts.
    pub fn simulate_path<R: Rng + ?Sized>(
        &self,
        path: u64,
        rng: &mut R,
        cfg: &RunConfig,
        traced: bool,
    ) -> Result<PathResult> {
        let s = &self.scenario;
        let x = self.sample_inputs(rng, &cfg.pins);
        // Drawn whatever the options are, so the path's own stream stays the same.
        let split_seed: u64 = rng.next_u64();
        let v0 = x[s.demand.monthly.0];
        let g = x[s.demand.growth.0];
        let fluid = s.demand.arrivals == Arrivals::Fluid;
        let cv = s.demand.burstiness;
        let pooled = cfg.sampler == Sampler::Fast && !traced;
        let burst = if cv > 0.0 && !fluid {
            Some(
                Gamma::new(1.0 / (cv * cv), cv * cv)
                    .map_err(|e| Error::Invariant(format!("burst distribution: {e}")))?,
            )
        } else {
            None
        };
        let mut p = PathScratch::new(self, &x, split_seed);
        // The most assets an hour can expect with each fleet, at rest, staying linear.
        let linear_assets: Vec<f64> = (0..self.options.len())
            .map(|o| self.linear_assets(OptionId(o), p.opts[o].k1, p.opts[o].k2, cv))
            .collect();
        let sampled: &[StreamId] = if pooled {
            &self.sampled_streams
        } else {
            &self.all_streams
        };
        let mut counts = vec![0.0; self.streams.len()];
        // Projected hours need large counts and independent Poisson draws to stand for.
        let projection = self.projection.as_ref().filter(|_| pooled && !fluid);
        // Queue fleets under the fast sampler see every hour's expected rate, bursts
        // included: with bursts, every hour's multiplier is drawn first, and the month's
        // pooled counts are Poisson given them.
        let queues = self.fleets.len() > self.n_fluid;
        let predraw = pooled && queues && burst.is_some();
        let mut bursts: Vec<f64> = Vec::new();
        // A month's hour counts, when the fluid fleets step their months side by side.
        let mut hours: Vec<f64> = Vec::new();

        for m in 0..s.horizon_months as usize {
            let vm = v0 * (1.0 + g).powi(m as i32) * s.seasonality_at(m);
            if !vm.is_finite() || vm > crate::scenario::MAX_MONTHLY_IMAGES * 1e3 {
                // The scenario's check allows for its inputs' 99.9th percentiles; a draw
                // further out still stops the run, as bad input rather than a bug.
                return Err(Error::input(
                    &s.file,
                    "demand.growth",
                    format!(
                        "path {path} drew a month-0 volume of {v0:.3e} and growth {g:.4}, which reach \
                         {vm:.3e} assets in month {}; expected demand under {:.0e} a month \
                         (narrow the growth or volume distribution, or shorten the horizon)",
                        m + 1,
                        crate::scenario::MAX_MONTHLY_IMAGES * 1e3
                    ),
                ));
            }
            p.start_month();
            // Hour shares at or under this are pooled: every fleet is at rest and stays linear.
            let cutoffs: Vec<f64> = linear_assets
                .iter()
                .map(|a| if vm > 0.0 { a / vm } else { f64::INFINITY })
                .collect();
            let mut cutoff = if pooled {
                p.common_cutoff(self, &cutoffs)
            } else {
                -1.0
            };
            let (mut pooled_share, mut pooled_share_sq, mut pooled_hours) = (0.0, 0.0, 0.0);
            // Hours pooled away from rest ([`PathScratch::linear_hour`]), billed as they went.
            let mut away_hours = false;
            if predraw {
                let b = burst.as_ref().expect("predraw needs bursts");
                bursts.clear();
                bursts.extend((0..self.shares[m].len()).map(|_| b.sample(rng)));
            }
            let drawn = predraw.then_some(bursts.as_slice());
            // The hour's rate: its share of the month, times the burst multiplier.
            let rate = |t: usize, share: f64, rng: &mut R| match (&burst, drawn) {
                (_, Some(g)) => vm * share * g[t],
                (Some(b), None) => vm * share * b.sample(rng),
                (None, None) => vm * share,
            };
            // Σ share × burst of the pooled hours, when the bursts are drawn.
            let mut pooled_burst_share = 0.0;
            let mut sample_hour =
                |t: usize, lam: f64, p: &mut PathScratch, rng: &mut R| -> Result<()> {
                    if let Some(pj) = projection {
                        if lam * pj.q_min >= NORMAL_APPROX_MIN_MEAN {
                            p.projected_hour(self, pj, lam, rng);
                            return Ok(());
                        }
                    }
                    for &i in sampled {
                        let mean = lam * self.streams[i.0].per_asset;
                        counts[i.0] = if fluid {
                            mean
                        } else {
                            draw_count(rng, mean, pooled)?
                        };
                    }
                    let how = traced.then(|| (m, crate::demand::hour_of_week(m, t)));
                    p.step_hour(self, sampled, &counts, how, !pooled);
                    Ok(())
                };
            if let (true, Some(stateless)) = (pooled, &self.stateless) {
                // No fleet can hold a backlog, so the linear hours are exactly those under the
                // cut-off: find the others by binary search among the month's hours sorted by
                // share, and take the pooled sums from suffix sums.
                let order = &self.sorted_hours[m];
                let k = order.partition_point(|&t| self.shares[m][t as usize] > cutoff);
                pooled_share = self.suffix_share[m][k];
                pooled_share_sq = self.suffix_share_sq[m][k];
                pooled_hours = (order.len() - k) as f64;
                if let Some(g) = drawn {
                    pooled_burst_share = order[k..]
                        .iter()
                        .map(|&t| self.shares[m][t as usize] * g[t as usize])
                        .sum();
                }
                // No fleet carries anything from hour to hour, so the hot hours can be taken in
                // any order, and those with large counts stepped together at the month's end.
                p.hot_rates.clear();
                p.hot_normals.iter_mut().for_each(Vec::clear);
                for &t in &order[..k] {
                    let t = t as usize;
                    let lam = rate(t, self.shares[m][t], rng);
                    match projection {
                        Some(pj) if lam * pj.q_min >= NORMAL_APPROX_MIN_MEAN => {
                            p.hot_rates.push(lam);
                            pj.push_normals(rng, &mut p.hot_normals);
                        }
                        _ => sample_hour(t, lam, &mut p, rng)?,
                    }
                }
                if let Some(pj) = projection {
                    p.step_stateless(self, pj, stateless);
                }
            } else if pooled && projection.is_none() && self.n_fluid >= self.fluid_months_from {
                // So many fluid fleets that hardly an hour holds them all: every hour is
                // drawn first, and each fleet steps the month on its own, side by side (a
                // plan's screening, a single batch, would otherwise keep one thread busy).
                hours.clear();
                for (t, &share) in self.shares[m].iter().enumerate() {
                    let lam = rate(t, share, rng);
                    for &i in sampled {
                        let mean = lam * self.streams[i.0].per_asset;
                        hours.push(if fluid {
                            mean
                        } else {
                            draw_count(rng, mean, true)?
                        });
                    }
                }
                p.step_fluid_month(self, sampled, &hours);
            } else {
                for (t, &share) in self.shares[m].iter().enumerate() {
                    // At rest and linear (no state to move), or linear where the fleets
                    // are (an autoscaler that holds its size): pooled either way.
                    let bands = pooled && self.linear_hours;
                    if bands {
                        // Within the band that holds every fleet where it is: pooled, billed
                        // in one go before anything steps a fleet.
                        let a = vm * share;
                        let (lo, hi) = p.hold_band(self, cv);
                        if lo < a && a <= hi {
                            p.add_held_hour();
                            away_hours = true;
                            pooled_share += share;
                            pooled_share_sq += share * share;
                            if let Some(g) = drawn {
                                pooled_burst_share += share * g[t];
                            }
                            continue;
                        }
                        p.bill_held(self);
                    }
                    let rest = !bands && share <= cutoff;
                    let mut moved = false;
                    if rest || (bands && p.linear_hour(self, vm * share, cv, &mut moved)) {
                        pooled_share += share;
                        pooled_share_sq += share * share;
                        if rest {
                            pooled_hours += 1.0;
                        } else {
                            away_hours = true;
                        }
                        if moved {
                            p.hold = None;
                        }
                        if let Some(g) = drawn {
                            pooled_burst_share += share * g[t];
                        }
                        continue;
                    }
                    sample_hour(t, rate(t, share, rng), &mut p, rng)?;
                    if bands {
                        p.hold = None;
                    } else if pooled {
                        cutoff = p.common_cutoff(self, &cutoffs);
                    }
                }
                p.bill_held(self);
            }
            if let Some(pj) = projection {
                p.close_projected_month(pj, rng);
            }
            if pooled && queues {
                p.queue_month(self, m, vm, drawn);
            }
            // With the bursts drawn, a month's count is Poisson given them.
            let all_burst_share = drawn.map(|g| {
                self.shares[m]
                    .iter()
                    .zip(g)
                    .map(|(s, g)| s * g)
                    .sum::<f64>()
            });
            // Pooled hours, and streams no fleet serves: one count per stream for the month.
            for (i, count) in counts.iter_mut().enumerate() {
                let is_sampled = sampled.binary_search(&StreamId(i)).is_ok();
                let (share, share_sq) = match (is_sampled, all_burst_share) {
                    (true, None) => (pooled_share, pooled_share_sq),
                    (false, None) => (self.month_share_total[m], self.month_share_sq[m]),
                    (true, Some(_)) => (pooled_burst_share, 0.0),
                    (false, Some(all)) => (all, 0.0),
                };
                if share <= 0.0 {
                    continue;
                }
                let mean = vm * share * self.streams[i].per_asset;
                let var_extra = (cv * vm * self.streams[i].per_asset).powi(2) * share_sq;
                *count = if fluid {
                    mean
                } else {
                    draw_pooled(rng, mean, var_extra)?
                };
            }
            p.add_pooled(self, &counts, sampled, pooled_hours, away_hours);
            p.close_queued(self, pooled, fluid)?;
            p.close_month(self, &x, m, vm * self.month_share_total[m])?;
        }
        p.finish(self, path, x)
    }

    /// The most assets `a` an hour can expect while fleet option `o`, at rest, stays linear
    /// with near certainty: its work (mean `a·k1`, variance `a·k2 + (cv·a·k1)²`) plus
    /// [`LINEAR_SIGMAS`] standard deviations stays within the fleet's linear threshold.
    /// Infinite for API options, −1 when no hour is ever linear.
    fn linear_assets(&self, o: OptionId, k1: f64, k2: f64, cv: f64) -> f64 {
        let Some(f) = &self.option(o).fleet else {
            return f64::INFINITY;
        };
        let Some(thr) = f.resting_threshold() else {
            return -1.0;
        };
        if k1 <= 0.0 {
            return f64::INFINITY;
        }
        linear_limit(thr, k1, k2, cv)
    }
}

/// The `a ≥ 0` at which `a·k1 + L·√(a·k2 + (cv·a·k1)²) = thr` (L = [`LINEAR_SIGMAS`]): the
/// smaller root of `a²·k1²(1 − L²cv²) − a(2·thr·k1 + L²k2) + thr² = 0`, in the form that
/// stays accurate when the quadratic term vanishes.
pub(super) fn linear_limit(thr: f64, k1: f64, k2: f64, cv: f64) -> f64 {
    let l2 = LINEAR_SIGMAS * LINEAR_SIGMAS;
    let a = k1 * k1 * (1.0 - l2 * cv * cv);
    let b = 2.0 * thr * k1 + l2 * k2;
    2.0 * thr * thr / (b + (b * b - 4.0 * a * thr * thr).max(0.0).sqrt())
}

/// The `a ≥ 0` above which `a·k1 − L·√(a·k2 + (cv·a·k1)²)` exceeds `floor ≥ 0` (the work's
/// mean less [`LINEAR_SIGMAS`] standard deviations stays over it): the larger root of the
/// quadratic of [`linear_limit`]; infinite when the bursts spread the work so wide (cv ≥ 1/L)
/// that no mean clears the floor with that margin.
pub(super) fn linear_floor(floor: f64, k1: f64, k2: f64, cv: f64) -> f64 {
    let l2 = LINEAR_SIGMAS * LINEAR_SIGMAS;
    let a = k1 * k1 * (1.0 - l2 * cv * cv);
    if a <= 0.0 {
        return f64::INFINITY;
    }
    let b = 2.0 * floor * k1 + l2 * k2;
    (b + (b * b - 4.0 * a * floor * floor).max(0.0).sqrt()) / (2.0 * a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_floor_puts_the_bound_on_the_floor() {
        for &(floor, k1, k2, cv) in &[
            (2520.0, 0.93, 1.33, 0.0),
            (0.0, 0.93, 1.33, 0.0),
            (7200.0, 2.0, 5.0, 0.1),
            (100.0, 0.01, 0.0001, 0.0),
        ] {
            let a = linear_floor(floor, k1, k2, cv);
            let bound = a * k1 - LINEAR_SIGMAS * (a * k2 + (cv * a * k1).powi(2)).sqrt();
            assert!(
                a > 0.0 && (bound - floor).abs() <= 1e-9 * floor.max(1.0),
                "{floor} {k1} {k2} {cv}: a {a}, bound {bound}"
            );
            // Above it the bound clears the floor; below it (and above the limit) it does not.
            let above = a * 1.01;
            let lower =
                above * k1 - LINEAR_SIGMAS * (above * k2 + (cv * above * k1).powi(2)).sqrt();
            assert!(lower > floor);
        }
        assert_eq!(linear_floor(100.0, 1.0, 1.0, 0.3), f64::INFINITY);
    }

    #[test]
    fn linear_limit_puts_the_bound_on_the_threshold() {
        for &(thr, k1, k2, cv) in &[
            (7200.0, 0.93, 1.33, 0.0),
            (7200.0, 0.93, 1.33, 0.3),
            (3600.0, 2.0, 5.0, 0.5),
            (100.0, 0.01, 0.0001, 0.0),
        ] {
            let a = linear_limit(thr, k1, k2, cv);
            let bound = a * k1 + LINEAR_SIGMAS * (a * k2 + (cv * a * k1).powi(2)).sqrt();
            assert!(
                a > 0.0 && (bound - thr).abs() <= 1e-9 * thr,
                "{thr} {k1} {k2} {cv}: a {a}, bound {bound}"
            );
        }
    }
}
