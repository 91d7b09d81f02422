//! The hours a path must simulate one by one: draw the hour's counts (or, under the normal
//! approximation, the few numbers the fleets see), step every fleet through the hour, and
//! keep what the month's bill needs.

use super::projection::{Projection, StatelessTotals};
use super::state::{add_wait, PathScratch};
use super::{Engine, Stateless, NORMAL_APPROX_MIN_MEAN};
use crate::error::{Error, Result};
use crate::ids::StreamId;
use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};

impl PathScratch {
    /// Step every fleet through one hour drawn stream by stream. API-served streams only need
    /// the month's count, so the hour's counts are summed once for all options.
    pub fn step_hour(
        &mut self,
        e: &Engine,
        sampled: &[StreamId],
        counts: &[f64],
        how: Option<(usize, usize)>,
    ) {
        for &i in sampled {
            self.month_counts[i.0] += counts[i.0];
        }
        for (k, &o) in e.fleets.iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let (mut work, mut requests) = (0.0, 0.0);
            for &i in &f.fleet_streams {
                work += counts[i.0] * f.stream_seconds[i.0];
                requests += counts[i.0];
            }
            self.fleet_work[k] = work;
            self.fleet_requests[k] = requests;
        }
        self.step_fleets(e, how);
        for (k, &o) in e.fleets.iter().enumerate() {
            let share = self.fleet_share[k];
            if let (Some(f), true) = (&e.option(o).fleet, share > 0.0) {
                let over = &mut self.overflow_counts[k];
                for &i in &f.fleet_streams {
                    over[i.0] += counts[i.0] * share;
                }
            }
        }
    }

    /// An hour drawn through the projection at rate `lam`: the fleets see their work and
    /// requests; the rest of the hour's counts join the month's sums.
    pub fn projected_hour<R: Rng + ?Sized>(
        &mut self,
        e: &Engine,
        pj: &Projection,
        lam: f64,
        rng: &mut R,
    ) {
        pj.draw_hour(
            rng,
            lam,
            &mut self.sums,
            &mut self.fleet_work,
            &mut self.fleet_requests,
        );
        self.step_fleets(e, None);
        self.sums.add(lam, &self.fleet_share);
    }

    /// Step every fleet through one hour with the work and requests in `fleet_work` and
    /// `fleet_requests`, leaving each one's overflow share in `fleet_share`.
    pub fn step_fleets(&mut self, e: &Engine, how: Option<(usize, usize)>) {
        for (k, &o) in e.fleets.iter().enumerate() {
            let Some(f) = &e.option(o).fleet else {
                continue;
            };
            let run = &mut self.opts[o.0];
            let requests = self.fleet_requests[k];
            let out = f.step(&mut run.state, self.fleet_work[k] * run.speed, requests);
            self.fleet_share[k] = out.overflow_share;
            let fleet_imgs = requests * (1.0 - out.overflow_share);
            let m = &mut run.month;
            m.served += fleet_imgs;
            m.busy += out.busy_seconds;
            m.cap += out.capacity_seconds;
            m.billed_hours += out.billed_gpu_hours;
            m.billed_seconds += out.billed_gpu_seconds;
            add_wait(
                &mut run.waits,
                out.wait_seconds,
                fleet_imgs * (1.0 - out.cold_share),
            );
            if out.cold_share > 0.0 {
                add_wait(
                    &mut run.waits,
                    out.wait_seconds + f.cold_start_seconds(),
                    fleet_imgs * out.cold_share,
                );
            }
            if let Some((m, h)) = how {
                // Hour-of-week sums per month, so the chart can show the month the fleet is
                // busiest rather than a week pooled over the horizon.
                let months = e.scenario.horizon_months as usize;
                let tr = self
                    .trace
                    .get_or_insert_with(|| vec![vec![[[0.0; 168]; 4]; months]; e.options.len()]);
                let w = &mut tr[o.0][m];
                w[0][h] += if out.capacity_seconds > 0.0 {
                    out.busy_seconds / out.capacity_seconds
                } else {
                    0.0
                };
                w[1][h] += out.overflow_share;
                w[2][h] += 1.0;
                w[3][h] += requests;
            }
        }
    }

    /// Step a stateless month's hot hours (in `hot_rates`, `hot_normals`) all at once.
    pub fn step_stateless(&mut self, e: &Engine, pj: &Projection, fleets: &Stateless) {
        self.hot_totals.fill(StatelessTotals::default());
        pj.step_stateless(
            &self.hot_rates,
            &self.hot_normals,
            &fleets.capacity,
            &self.fleet_speed,
            &mut self.sums,
            &mut self.hot_scratch,
            &mut self.hot_totals,
        );
        let hours = self.hot_rates.len() as f64;
        for (k, &o) in e.fleets.iter().enumerate() {
            let (cap, gpus) = (fleets.capacity[k], fleets.gpus[k]);
            let t = self.hot_totals[k];
            let run = &mut self.opts[o.0];
            run.month.served += t.served;
            run.month.busy += t.busy;
            run.month.cap += hours * cap;
            run.month.billed_hours += hours * gpus;
            // Nothing queues: every image is made within the hour.
            add_wait(&mut run.waits, 0.0, t.served);
        }
    }

    /// Add the month's projected hours to its counts and overflows.
    pub fn close_projected_month<R: Rng + ?Sized>(&mut self, pj: &Projection, rng: &mut R) {
        pj.close_month(
            rng,
            &mut self.sums,
            &mut self.month_counts,
            &mut self.overflow_counts,
        );
    }
}

/// A count with the given mean: Poisson, or its normal approximation at large means when
/// `approximate` is set.
pub(super) fn draw_count<R: Rng + ?Sized>(
    rng: &mut R,
    mean: f64,
    approximate: bool,
) -> Result<f64> {
    if mean <= 0.0 {
        return Ok(0.0);
    }
    if approximate && mean >= NORMAL_APPROX_MIN_MEAN {
        let z: f64 = StandardNormal.sample(rng);
        return Ok((mean + mean.sqrt() * z).max(0.0));
    }
    let p =
        Poisson::new(mean).map_err(|e| Error::Invariant(format!("poisson mean {mean}: {e}")))?;
    Ok(p.sample(rng))
}

/// A pooled count: exact Poisson without bursts; with bursts, a normal with the mixture's
/// variance (mean plus the gamma multiplier's share) when large, else a negative binomial
/// drawn as gamma-Poisson.
pub(super) fn draw_pooled<R: Rng + ?Sized>(rng: &mut R, mean: f64, var_extra: f64) -> Result<f64> {
    if mean <= 0.0 {
        return Ok(0.0);
    }
    if var_extra <= 0.0 {
        return draw_count(rng, mean, false);
    }
    let var = mean + var_extra;
    if mean >= NORMAL_APPROX_MIN_MEAN {
        let z: f64 = StandardNormal.sample(rng);
        return Ok((mean + var.sqrt() * z).max(0.0));
    }
    let shape = mean * mean / var_extra;
    let gm =
        Gamma::new(shape, mean / shape).map_err(|e| Error::Invariant(format!("gamma: {e}")))?;
    let lam: f64 = gm.sample(rng);
    draw_count(rng, lam, false)
}
