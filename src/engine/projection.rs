//! Sampling a busy hour through the few numbers the fleets see.
//!
//! An hour that has to be simulated on its own (a fleet may saturate in it) matters to each
//! fleet only through two numbers: the work that arrived [GPU-s] and the requests. Under the
//! normal approximation (every stream's mean at least `NORMAL_APPROX_MIN_MEAN`) the hour's
//! counts are a Gaussian vector `n ~ N(λq, λ·diag(q))`, where `q` holds each stream's images
//! per unit of the hour's rate `λ`. Write `n = λq + √λ·diag(√q)·U·z` with `U` orthonormal and
//! `z` standard normal, and choose `U` so that its first `rank` columns span what the fleets'
//! work and request rows see. Then every fleet's work and requests depend only on
//! `z[..rank]`, and `z[rank..]` is independent of everything the fleets do.
//!
//! So an hour draws `rank` normals (2 for one fleet, whatever the number of streams). The
//! other directions enter the month only through sums: the month's count of each stream
//! (weight 1 in every hour) and each fleet's overflowed count of each stream (weight: that
//! fleet's overflow share in the hour). Those sums are Gaussian with a covariance the month
//! accumulates, and are drawn once at its end. The joint distribution of everything the
//! engine prices is the same as drawing every stream's count in every hour.

use crate::ids::StreamId;
use crate::linalg::{add_orthonormal, cholesky, SmallPivot};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Most fleet options the month's sums are kept for: their cross terms grow as the square.
pub const MAX_FLEETS: usize = 16;

/// One fleet's work and request rows in the projected coordinates.
#[derive(Debug, Clone)]
struct Rows {
    /// Work per unit rate [GPU-s], before the path's speed factor.
    work_mean: f64,
    /// Work's coefficient on each of the first `rank` normals.
    work: Vec<f64>,
    /// Requests per unit rate.
    requests_mean: f64,
    /// Requests' coefficient on each of the first `rank` normals.
    requests: Vec<f64>,
    /// For each projected stream: served by this fleet.
    serves: Vec<bool>,
}

/// The projection of one engine's sampled streams onto what its fleets see.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Projected streams (engine stream indices).
    streams: Vec<usize>,
    /// Images per unit rate of each projected stream.
    q: Vec<f64>,
    /// The smallest positive `q`: an hour is projected when `λ × q_min` reaches the normal
    /// approximation's threshold.
    pub q_min: f64,
    /// Normals drawn per hour.
    rank: usize,
    /// `basis[s][j] = √q_s · U[s][j]`: stream `s`'s count per unit of normal `j` (times √λ).
    basis: Vec<Vec<f64>>,
    /// Per fleet, in the engine's fleet order.
    fleets: Vec<Rows>,
}

/// One fleet as the projection needs it: the streams it serves and seconds per image.
pub struct FleetStreams<'a> {
    /// Engine streams served.
    pub streams: &'a [StreamId],
    /// Seconds per image by engine stream index.
    pub seconds: &'a [f64],
}

impl Projection {
    /// The projection of `streams` (engine indices, with `per_rate[i]` images per unit rate of
    /// stream `i`) for `fleets`; `None` when it would save nothing (the fleets see as many
    /// directions as there are streams) or the fleets are too many.
    pub fn new(
        streams: &[StreamId],
        per_rate: &[f64],
        fleets: &[FleetStreams<'_>],
    ) -> Option<Projection> {
        let streams: Vec<usize> = streams.iter().map(|s| s.0).collect();
        let n = streams.len();
        if fleets.is_empty() || fleets.len() > MAX_FLEETS || n == 0 {
            return None;
        }
        let q: Vec<f64> = streams.iter().map(|&i| per_rate[i].max(0.0)).collect();
        let q_min = q
            .iter()
            .copied()
            .filter(|x| *x > 0.0)
            .fold(f64::INFINITY, f64::min);
        if !q_min.is_finite() {
            return None;
        }
        let sq: Vec<f64> = q.iter().map(|x| x.sqrt()).collect();
        let rows: Vec<(Vec<f64>, Vec<f64>)> = fleets
            .iter()
            .map(|f| {
                let serves = |i: usize| f.streams.contains(&StreamId(i));
                let work = streams
                    .iter()
                    .map(|&i| if serves(i) { f.seconds[i] } else { 0.0 })
                    .collect();
                let req = streams
                    .iter()
                    .map(|&i| if serves(i) { 1.0 } else { 0.0 })
                    .collect();
                (work, req)
            })
            .collect();
        let mut cols: Vec<Vec<f64>> = Vec::with_capacity(n);
        for (w, r) in &rows {
            for row in [w, r] {
                add_orthonormal(&mut cols, row.iter().zip(&sq).map(|(a, b)| a * b).collect());
            }
        }
        let rank = cols.len();
        if rank >= n {
            return None;
        }
        for k in 0..n {
            let mut e = vec![0.0; n];
            e[k] = 1.0;
            add_orthonormal(&mut cols, e);
        }
        if cols.len() != n {
            return None;
        }
        let basis: Vec<Vec<f64>> = (0..n)
            .map(|s| (0..n).map(|j| sq[s] * cols[j][s]).collect())
            .collect();
        let coef = |row: &[f64]| -> Vec<f64> {
            (0..rank)
                .map(|j| (0..n).map(|s| row[s] * basis[s][j]).sum())
                .collect()
        };
        let mean = |row: &[f64]| -> f64 { row.iter().zip(&q).map(|(a, b)| a * b).sum() };
        let fleets = rows
            .iter()
            .map(|(w, r)| Rows {
                work_mean: mean(w),
                work: coef(w),
                requests_mean: mean(r),
                requests: coef(r),
                serves: r.iter().map(|x| *x > 0.0).collect(),
            })
            .collect();
        Some(Projection {
            streams,
            q,
            q_min,
            rank,
            basis,
            fleets,
        })
    }

    /// Normals drawn per hour.
    #[cfg(test)]
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Empty month sums for this projection.
    pub fn sums(&self) -> MonthSums {
        let k = self.fleets.len();
        MonthSums {
            rate: 0.0,
            z: vec![0.0; self.rank],
            over_rate: vec![0.0; k],
            over_z: vec![0.0; k * self.rank],
            cross: vec![0.0; (k + 1) * (k + 1)],
            normals: vec![0.0; self.rank],
        }
    }

    /// Draw an hour at rate `rate`: each fleet's work (before its speed factor) and requests,
    /// by fleet index. The hour's normals stay in `sums` for [`MonthSums::add`].
    pub fn draw_hour<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        rate: f64,
        sums: &mut MonthSums,
        work: &mut [f64],
        requests: &mut [f64],
    ) {
        for z in sums.normals.iter_mut() {
            *z = StandardNormal.sample(rng);
        }
        let root = rate.sqrt();
        let dot = |c: &[f64]| -> f64 { c.iter().zip(&sums.normals).map(|(a, b)| a * b).sum() };
        for (f, rows) in self.fleets.iter().enumerate() {
            // A count is never negative; at ≥ 500 images a stream is 22 s.d. from zero.
            work[f] = (rate * rows.work_mean + root * dot(&rows.work)).max(0.0);
            requests[f] = (rate * rows.requests_mean + root * dot(&rows.requests)).max(0.0);
        }
    }

    /// Draw a projected hour's normals, one onto each of the `rank` lists in `normals`, to
    /// be stepped later by [`Projection::step_stateless`].
    pub fn push_normals<R: Rng + ?Sized>(&self, rng: &mut R, normals: &mut [Vec<f64>]) {
        for list in &mut normals[..self.rank] {
            list.push(StandardNormal.sample(rng));
        }
    }

    /// Lists for [`Projection::push_normals`].
    pub fn normal_lists(&self) -> Vec<Vec<f64>> {
        vec![Vec::new(); self.rank]
    }

    /// Step stateless fleets (see [`crate::fleet::Fleet::stateless_capacity`]) through a
    /// month's projected hours at once: hour `h` has rate `rates[h]` and normals
    /// `normals[j][h]`. `capacity` and `speed` are by fleet index; each fleet's busy seconds
    /// and served images are added to `totals`, and the hours to `sums`. The loops run over
    /// hours, the long dimension, so they vectorise.
    #[allow(clippy::too_many_arguments)]
    pub fn step_stateless(
        &self,
        rates: &[f64],
        normals: &[Vec<f64>],
        capacity: &[f64],
        speed: &[f64],
        sums: &mut MonthSums,
        scratch: &mut StatelessScratch,
        totals: &mut [StatelessTotals],
    ) {
        let (hours, k) = (rates.len(), self.fleets.len());
        if hours == 0 {
            return;
        }
        let d = k + 1;
        let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
        let StatelessScratch {
            roots,
            work,
            requests,
            shares,
            weighted,
        } = scratch;
        roots.clear();
        roots.extend(rates.iter().map(|r| r.sqrt()));
        sums.rate += rates.iter().sum::<f64>();
        for (acc, z) in sums.z.iter_mut().zip(normals) {
            *acc += dot(roots, z);
        }
        shares.resize(k * hours, 0.0);
        for (f, rows) in self.fleets.iter().enumerate() {
            let (cap, sp) = (capacity[f], speed[f]);
            // Each hour's work and requests: mean plus the seen normals' share.
            for (out, mean, coef) in [
                (&mut *work, rows.work_mean, &rows.work),
                (&mut *requests, rows.requests_mean, &rows.requests),
            ] {
                out.clear();
                out.extend(rates.iter().map(|r| r * mean));
                for (c, z) in coef.iter().zip(normals) {
                    for ((o, root), zh) in out.iter_mut().zip(roots.iter()).zip(z) {
                        *o += c * root * zh;
                    }
                }
            }
            let share = &mut shares[f * hours..(f + 1) * hours];
            let tot = &mut totals[f];
            for h in 0..hours {
                // A count is never negative; at ≥ 500 images a stream is 22 s.d. from zero.
                let (busy, s) = crate::fleet::overflow_at_once(work[h].max(0.0) * sp, cap);
                tot.busy += busy;
                tot.served += requests[h].max(0.0) * (1.0 - s);
                share[h] = s;
            }
            // Σ share·rate, and Σ share·√rate·z for each seen normal.
            let over_rate = dot(share, rates);
            sums.over_rate[f] += over_rate;
            sums.cross[1 + f] += over_rate;
            weighted.clear();
            weighted.extend(share.iter().zip(roots.iter()).map(|(s, r)| s * r));
            let over_z = &mut sums.over_z[f * self.rank..(f + 1) * self.rank];
            for (acc, z) in over_z.iter_mut().zip(normals) {
                *acc += dot(weighted, z);
            }
        }
        for f in 0..k {
            for g in f..k {
                let (a, b) = (&shares[f * hours..(f + 1) * hours], &shares[g * hours..]);
                sums.cross[(1 + f) * d + 1 + g] += a
                    .iter()
                    .zip(b)
                    .zip(rates)
                    .map(|((x, y), rate)| x * y * rate)
                    .sum::<f64>();
            }
        }
    }

    /// Add this month's projected hours to the month's counts (`month_counts`, by engine
    /// stream) and to each fleet's overflowed counts (`overflow[fleet][stream]`), drawing the
    /// directions no fleet sees; then clear `sums`. Draws nothing if no hour was projected.
    pub fn close_month<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        sums: &mut MonthSums,
        month_counts: &mut [f64],
        overflow: &mut [Vec<f64>],
    ) {
        if sums.rate <= 0.0 {
            return;
        }
        let k = self.fleets.len();
        let d = k + 1;
        sums.cross[0] = sums.rate;
        for a in 0..d {
            for b in 0..a {
                sums.cross[a * d + b] = sums.cross[b * d + a];
            }
        }
        let chol = cholesky(&sums.cross, d, SmallPivot::Zero(1e-12))
            .expect("a semi-definite factor always exists");
        let (n, rank) = (self.streams.len(), self.rank);
        for s in 0..n {
            let i = self.streams[s];
            let b = &self.basis[s][..rank];
            let seen: f64 = b.iter().zip(&sums.z).map(|(x, y)| x * y).sum();
            month_counts[i] += sums.rate * self.q[s] + seen;
            for (f, rows) in self.fleets.iter().enumerate() {
                if rows.serves[s] {
                    let z = &sums.over_z[f * rank..(f + 1) * rank];
                    let seen: f64 = b.iter().zip(z).map(|(x, y)| x * y).sum();
                    overflow[f][i] += sums.over_rate[f] * self.q[s] + seen;
                }
            }
        }
        let mut e = vec![0.0; d];
        let mut v = vec![0.0; d];
        for j in rank..n {
            for x in e.iter_mut() {
                *x = StandardNormal.sample(rng);
            }
            for a in 0..d {
                v[a] = (0..=a).map(|b| chol[a * d + b] * e[b]).sum();
            }
            for s in 0..n {
                let i = self.streams[s];
                let b = self.basis[s][j];
                month_counts[i] += b * v[0];
                for (f, rows) in self.fleets.iter().enumerate() {
                    if rows.serves[s] {
                        overflow[f][i] += b * v[1 + f];
                    }
                }
            }
        }
        // Counts are never negative and never overflow more than arrived; only a draw tens
        // of standard deviations out could say otherwise.
        for s in 0..n {
            let i = self.streams[s];
            month_counts[i] = month_counts[i].max(0.0);
            for (f, rows) in self.fleets.iter().enumerate() {
                if rows.serves[s] {
                    let o = &mut overflow[f][i];
                    *o = o.clamp(0.0, month_counts[i]);
                }
            }
        }
        sums.clear();
    }
}

/// Reused buffers for [`Projection::step_stateless`].
#[derive(Debug, Clone, Default)]
pub struct StatelessScratch {
    roots: Vec<f64>,
    work: Vec<f64>,
    requests: Vec<f64>,
    shares: Vec<f64>,
    weighted: Vec<f64>,
}

/// What a stateless fleet did in a month's projected hours.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatelessTotals {
    /// Busy GPU-seconds.
    pub busy: f64,
    /// Images the fleet made.
    pub served: f64,
}

/// What a month's projected hours add up to.
#[derive(Debug, Clone, Default)]
pub struct MonthSums {
    /// Σ rate.
    rate: f64,
    /// Σ √rate · z, for the first `rank` normals.
    z: Vec<f64>,
    /// Per fleet: Σ share · rate.
    over_rate: Vec<f64>,
    /// Per fleet: Σ share · √rate · z.
    over_z: Vec<f64>,
    /// Covariance of (Σ √rate ζ, Σ share_f √rate ζ ...) per unit-variance direction ζ:
    /// upper triangle of a (1 + fleets)² matrix.
    cross: Vec<f64>,
    /// The current hour's normals.
    normals: Vec<f64>,
}

impl MonthSums {
    /// Add the hour just drawn at `rate`, after the fleets stepped: `share[f]` is fleet `f`'s
    /// overflow share in it.
    pub fn add(&mut self, rate: f64, share: &[f64]) {
        let root = rate.sqrt();
        self.rate += rate;
        for (acc, z) in self.z.iter_mut().zip(&self.normals) {
            *acc += root * z;
        }
        let rank = self.normals.len();
        let d = share.len() + 1;
        for (a, &sa) in share.iter().enumerate() {
            // Most hours overflow nowhere: only shares above zero add anything.
            if sa <= 0.0 {
                continue;
            }
            self.over_rate[a] += sa * rate;
            let over = &mut self.over_z[a * rank..(a + 1) * rank];
            for (acc, z) in over.iter_mut().zip(&self.normals) {
                *acc += sa * root * z;
            }
            self.cross[1 + a] += sa * rate;
            let row = &mut self.cross[(1 + a) * d..(2 + a) * d];
            for (cell, &sb) in row[1 + a..].iter_mut().zip(&share[a..]) {
                *cell += sa * sb * rate;
            }
        }
    }

    fn clear(&mut self) {
        self.rate = 0.0;
        for v in [
            &mut self.z,
            &mut self.over_rate,
            &mut self.over_z,
            &mut self.cross,
        ] {
            v.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Four streams, one fleet: the W1 shape.
    fn w1() -> (Vec<f64>, Vec<f64>) {
        (vec![0.1, 0.5, 0.3, 0.1], vec![0.19, 0.57, 1.17, 2.75])
    }

    #[test]
    fn one_fleet_needs_two_normals_and_the_basis_reproduces_the_covariance() {
        let (q, s) = w1();
        let streams = [StreamId(0), StreamId(1), StreamId(2), StreamId(3)];
        let f = FleetStreams {
            streams: &streams,
            seconds: &s,
        };
        let p = Projection::new(&streams, &q, &[f]).expect("four streams, two rows");
        assert_eq!(p.rank(), 2);
        // basis · basisᵀ = diag(q): the counts keep their Poisson variance and independence.
        for (a, qa) in q.iter().enumerate() {
            for b in 0..4 {
                let c: f64 = (0..4).map(|j| p.basis[a][j] * p.basis[b][j]).sum();
                let want = if a == b { *qa } else { 0.0 };
                assert!((c - want).abs() < 1e-12, "cov[{a}][{b}] = {c}, want {want}");
            }
        }
        // The unseen directions move neither work nor requests.
        for j in 2..4 {
            let w: f64 = (0..4).map(|x| s[x] * p.basis[x][j]).sum();
            let r: f64 = (0..4).map(|x| p.basis[x][j]).sum();
            assert!(w.abs() < 1e-12 && r.abs() < 1e-12, "direction {j}: {w} {r}");
        }
    }

    #[test]
    fn fleets_that_see_every_direction_are_not_projected() {
        let (q, s) = w1();
        let streams = [StreamId(0), StreamId(1)];
        let f = FleetStreams {
            streams: &streams,
            seconds: &s,
        };
        assert!(Projection::new(&streams, &q, &[f]).is_none());
    }

    #[test]
    fn semidefinite_factor_of_a_repeated_variable() {
        // Overflow share 1 in every hour: the overflow sum is the count sum itself.
        let l = cholesky(&[4.0, 4.0, 4.0, 4.0], 2, SmallPivot::Zero(1e-12)).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 2.0, 0.0]);
    }

    /// Month sums drawn through the projection have the mean and variance of summing
    /// independent per-stream normal counts hour by hour, with overflow in some hours.
    #[test]
    fn month_sums_match_per_stream_sums() {
        let (q, s) = w1();
        let streams = [StreamId(0), StreamId(1), StreamId(2), StreamId(3)];
        let f = FleetStreams {
            streams: &streams,
            seconds: &s,
        };
        let p = Projection::new(&streams, &q, &[f]).unwrap();
        let rates = [6000.0, 9000.0, 12000.0];
        let share = |work: f64| (1.0 - 7200.0 / work).max(0.0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 20_000;
        let (mut proj, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let mut sums = p.sums();
            let (mut w, mut r) = ([0.0], [0.0]);
            for &rate in &rates {
                p.draw_hour(&mut rng, rate, &mut sums, &mut w, &mut r);
                sums.add(rate, &[share(w[0])]);
            }
            let mut counts = vec![0.0; 4];
            let mut over = vec![vec![0.0; 4]];
            p.close_month(&mut rng, &mut sums, &mut counts, &mut over);
            proj.push((counts[0], over[0][3]));
            let (mut c0, mut o3) = (0.0, 0.0);
            for &rate in &rates {
                let n: Vec<f64> = q
                    .iter()
                    .map(|qi: &f64| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        rate * qi + (rate * qi).sqrt() * z
                    })
                    .collect();
                let work: f64 = n.iter().zip(&s).map(|(a, b)| a * b).sum();
                c0 += n[0];
                o3 += share(work) * n[3];
            }
            plain.push((c0, o3));
        }
        let moments = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            (m, var)
        };
        for pick in [|t: &(f64, f64)| t.0, |t: &(f64, f64)| t.1] {
            let a: Vec<f64> = proj.iter().map(pick).collect();
            let b: Vec<f64> = plain.iter().map(pick).collect();
            let ((ma, va), (mb, vb)) = (moments(&a), moments(&b));
            let se = ((va + vb) / n as f64).sqrt();
            assert!((ma - mb).abs() < 4.0 * se, "means {ma} vs {mb} (s.e. {se})");
            assert!((va / vb - 1.0).abs() < 0.06, "variances {va} vs {vb}");
        }
    }
}
