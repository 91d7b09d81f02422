//! The wait of an M/G/c queue, with or without a threshold on the wait, as an Erlang-type
//! idle part plus one pooled "virtual wait" for the time every server is busy.
//!
//! While fewer than c servers are busy a request starts at once, and the states 0..c−1 are
//! taken in the proportions of the loss system (a^n/n!, insensitive to the service law).
//! While all are busy, the virtual wait V (the wait a request arriving now would have) falls
//! at rate 1 and, when a request joins, jumps by its service time divided by c: the c servers
//! are pooled into one c times faster. Level crossing gives the density of V,
//!
//!   v(x) = κ·[G₀(x) + λ ∫₀^{min(x,X)} u(y) G(x − y) dy],   G(x) = P(S/c > x),
//!
//! with κ = λ·B(c−1, a)·β, where B(c−1, a)·λ is the rate of entering "all busy" per unit of
//! idle probability and β corrects that rate (see below). G₀ is the law of the wait that the
//! request making every server busy starts: the first of c servers to free, one just started
//! and c − 1 part-way through, G₀(x) = P(S > x)·P(R > x)^{c−1} with R the equilibrium
//! residual, P(R > x) = E[(S − x)⁺]/E[S]. Its mean is exactly E[S]/c (the derivative of
//! P(R > x)^c is −c·G₀(x)/E[S]), as insensitivity of the loss system requires, and its
//! integral over a grid step is exact. Arrivals that would wait more than X go to the API.
//! With X = ∞ and β = 1 the chance to wait is Erlang C's; the model is exact for M/M/c
//! (G₀ is then exponential of rate cμ) and for M/G/1 (G₀ = P(S > x)), has the exact M/G/c
//! tail decay rate (the non-zero root of s = λ(1 − E[e^{−sS/c}]), which for M/D/c is
//! Crommelin's), and with X = 0 it is Erlang B. Taking S/c for the entry too (the plain
//! pooled model) made the p95 4–8% short for regular service at c ≥ 2.
//!
//! β: Erlang C overstates the chance to wait when service is regular, because a queue's
//! departures leave the servers' remaining times staggered and the next one frees soon.
//! β is the ratio of the exact M/D/c odds of waiting to Erlang C's, scaled by (1 − SCV) for
//! mixtures (linear in the squared coefficient of variation between M/D/c and M/M/c, as
//! Cosmetatos's and Lee and Longton's corrections are), 1 for SCV ≥ 1, and faded in as
//! 1 − e^{−X/E[S]}: a loss system keeps Erlang B exactly, and staggering needs a queue (the
//! scale was chosen against the simulation; E[S]/c faded in too fast at c = 8).
//!
//! Method: the equation is U′ = G₀ + λ(U(x) − Σ pᵢ U(x − dᵢ)) in the cumulative U (dᵢ the
//! pooled times sᵢ/c), a linear delay equation integrated by the trapezoid rule on a grid of
//! 64 steps per shortest pooled time (G₀ integrated exactly, delayed values interpolated) up
//! to 30 longest pooled times, and continued beyond as the exponential e^{r x} of its
//! characteristic root r; masses beyond X follow from the identity U(∞) = E[S/c]·(1 + λU(X))
//! (every joining request adds its pooled work). Above saturation U grows like e^{r x} and is
//! rescaled as it goes. Grids are capped at 2¹⁶ steps, so mixes whose longest time is more
//! than about 500 times the shortest get a coarser grid (not tested).

use super::erlang::erlang_b;
use super::mdc::mdc_odds_over_erlang_c;
use super::mix::ServiceMix;

/// Grid steps per shortest pooled service time.
const STEPS_PER_SHORTEST: f64 = 64.0;
/// Longest pooled service times covered by the grid before the exponential takes over.
const GRID_LONGEST: f64 = 30.0;
/// Most grid steps (wide mixes get a coarser grid).
const MAX_STEPS: usize = 1 << 16;
/// Load above which a threshold hour is scaled from this load (accepted work saturates).
pub const MAX_LOAD: f64 = 1000.0;

/// The non-zero root r of s = λ(1 − Σ pᵢ e^{−s dᵢ}): negative below saturation (the tail
/// decays as e^{r x}), positive above, 0 at ρ = 1.
pub fn decay_root(arrival_rate: f64, shares: &[f64], pooled: &[f64]) -> f64 {
    let lam = arrival_rate;
    let m1: f64 = shares.iter().zip(pooled).map(|(p, d)| p * d).sum();
    let m2: f64 = shares.iter().zip(pooled).map(|(p, d)| p * d * d).sum();
    let rho = lam * m1;
    let f = |s: f64| {
        s - lam
            + lam
                * shares
                    .iter()
                    .zip(pooled)
                    .map(|(p, d)| p * (-s * d).exp())
                    .sum::<f64>()
    };
    let df = |s: f64| {
        1.0 - lam
            * shares
                .iter()
                .zip(pooled)
                .map(|(p, d)| p * d * (-s * d).exp())
                .sum::<f64>()
    };
    if (rho - 1.0).abs() < 1e-12 {
        return 0.0;
    }
    // f is convex with f(0) = 0, so Newton from the far side of the other root never
    // overshoots it: from twice the heavy-traffic guess below saturation (f > 0 there, as
    // every term of its series beyond the linear one is positive), from λ above.
    let mut s = if rho < 1.0 {
        -4.0 * (1.0 - rho) / (lam * m2)
    } else {
        lam
    };
    for _ in 0..200 {
        let step = f(s) / df(s);
        if !step.is_finite() {
            break;
        }
        s -= step;
        if step.abs() <= 1e-14 * s.abs() {
            break;
        }
    }
    s
}

/// `a` to the power `n` by repeated squaring, inline: the loop of the runtime's `powi` for a
/// positive power (compiler-rt's `__powidf2`, the same multiplications in the same order), without a
/// call per grid step of a row's solve.
#[inline(always)]
fn powi_by_squaring(mut a: f64, mut n: u32) -> f64 {
    let mut r = 1.0;
    loop {
        if n & 1 == 1 {
            r *= a;
        }
        n /= 2;
        if n == 0 {
            return r;
        }
        a *= a;
    }
}

/// The shape of the virtual wait while every server is busy, normalised by its mass up to X.
#[derive(Debug, Clone)]
pub struct BusyShape {
    /// Grid step [s].
    step: f64,
    /// U(kh)/U(X) on the grid, k = 0..=n.
    cumulative: Vec<f64>,
    /// Threshold X [s] (∞ for never).
    max_wait: f64,
    /// Characteristic root r [1/s].
    root: f64,
    /// Density at the grid's end over U(X), times e^{r(X − end)} when r > 0 (so it stays
    /// finite) [1/s].
    end_density: f64,
    /// U(∞)/U(X): 1 without threshold; beyond it, the share of busy mass sent away is 1 − 1/this.
    total_over_kept: f64,
    /// 1/U(X), the idle weight in the units of U before κ (0 when U(X) overflows).
    inv_kept: f64,
}

impl BusyShape {
    /// Solve for `servers` ≥ 1 servers, arrival rate λ > 0 [1/s], a service mix and a
    /// threshold X > 0 [s] (∞: no threshold, then λ·E[S] < c is required).
    pub fn solve(servers: u32, arrival_rate: f64, mix: &ServiceMix, max_wait: f64) -> BusyShape {
        Self::solve_with(servers, arrival_rate, mix, max_wait, false)
    }

    /// [`BusyShape::solve`]; `reference` steps the grid as the scheme reads (each step's two
    /// ends and every delayed value interpolated from its time), the fast form carries the
    /// step's start from the step before and reads each delay at its fixed offset on the
    /// grid. Test: `the_stepped_delays_are_the_interpolated_ones`.
    fn solve_with(
        servers: u32,
        arrival_rate: f64,
        mix: &ServiceMix,
        max_wait: f64,
        reference: bool,
    ) -> BusyShape {
        let c = servers as f64;
        let lam = arrival_rate;
        let shares: Vec<f64> = mix.buckets().iter().map(|b| b.share).collect();
        let pooled: Vec<f64> = mix.buckets().iter().map(|b| b.seconds / c).collect();
        let d_min = pooled[0];
        let d_max = pooled[pooled.len() - 1];
        let mean_pooled = mix.mean() / c;
        let root = decay_root(lam, &shares, &pooled);
        // Fine enough for the shortest time and for the arrival rate; the delayed values must
        // lie behind the current step (h ≤ d_min). Far above saturation the exponential shape
        // sets in within a few service times, so the grid may stop at 2·d_max.
        let mut h = (d_min / STEPS_PER_SHORTEST).min(0.1 / lam);
        let least_end = (2.0 * d_max).min(max_wait);
        let grid_end = (GRID_LONGEST * d_max)
            .min(max_wait)
            .min(MAX_STEPS as f64 * h)
            .max(least_end);
        if grid_end / h > MAX_STEPS as f64 {
            h = grid_end / MAX_STEPS as f64;
        }
        let n = (grid_end / h).ceil().max(1.0) as usize;
        let h = grid_end / n as f64;
        // The entry law G₀ and the residual survival P(R > x) = E[(S − x)⁺]/E[S].
        let residual_survival = |x: f64| -> f64 {
            mix.buckets()
                .iter()
                .map(|b| b.share * (b.seconds - x).max(0.0))
                .sum::<f64>()
                / mix.mean()
        };
        let entry_survival = |x: f64| -> f64 {
            let s: f64 = mix
                .buckets()
                .iter()
                .filter(|b| b.seconds > x)
                .map(|b| b.share)
                .sum();
            s * residual_survival(x).powi(servers as i32 - 1)
        };
        let mut u = vec![0.0; n + 1];
        let mut ln_scale = 0.0;
        let interp = |u: &[f64], y: f64| -> f64 {
            if y <= 0.0 {
                return 0.0;
            }
            let pos = y / h;
            // Truncation is the floor of a positive position (and not a libm call).
            let i = pos as usize;
            if i + 1 >= u.len() {
                return u[u.len() - 1];
            }
            u[i] + (u[i + 1] - u[i]) * (pos - i as f64)
        };
        let delayed = |u: &[f64], x: f64| -> f64 {
            shares
                .iter()
                .zip(&pooled)
                .map(|(p, d)| p * interp(u, x - d))
                .sum()
        };
        // Each delay on the grid, d/h = q + r (q whole, 0 ≤ r < 1): at x = (k + 1)·h the
        // delayed value lies between u[k + 1 − back] and the point after it, `back` and the
        // weight the same at every step. The delay loop's `delayed` without a division and
        // a truncation per delay and step (they were a third of a solve); `delayed` is kept
        // for the grid's end.
        let lags: Vec<(f64, usize, f64)> = shares
            .iter()
            .zip(&pooled)
            .map(|(&p, &d)| {
                let t = d / h;
                let q = t.floor();
                let r = t - q;
                if r > 0.0 {
                    (p, q as usize + 1, 1.0 - r)
                } else {
                    (p, q as usize, 0.0)
                }
            })
            .collect();
        let delayed_at_step = |u: &[f64], k: usize| -> f64 {
            lags.iter()
                .map(|&(p, back, w)| match (k + 1).checked_sub(back) {
                    Some(i) if i + 1 < u.len() => p * (u[i] + (u[i + 1] - u[i]) * w),
                    // (A delay under a step: as `interp` takes a point past the grid.)
                    Some(_) => p * u[u.len() - 1],
                    None => 0.0,
                })
                .sum()
        };
        let source_scale = |ln_scale: f64| (-ln_scale).exp();
        let half = 0.5 * h * lam;
        let mut l_prev = 0.0;
        // The source's scale, recomputed only when U is rescaled; P(R > x)^c at the step's
        // start, carried from the step before (x₁ of one step is x₀ of the next).
        let mut scale = source_scale(ln_scale);
        let mut tail0 = residual_survival(0.0).powi(servers as i32);
        for k in 0..n {
            // P(R > x₁)^c and the delayed values at the step's end x₁.
            let (tail1, l_next) = if reference {
                let x0 = k as f64 * h;
                let x1 = x0 + h;
                tail0 = residual_survival(x0).powi(servers as i32);
                (residual_survival(x1).powi(servers as i32), delayed(&u, x1))
            } else {
                let x1 = (k + 1) as f64 * h;
                (
                    powi_by_squaring(residual_survival(x1), servers),
                    delayed_at_step(&u, k),
                )
            };
            // ∫ G₀ over the step, exact; in the current scale.
            let ig = mean_pooled * (tail0 - tail1) * scale;
            tail0 = tail1;
            u[k + 1] = (u[k] + ig + half * (u[k] - l_prev - l_next)) / (1.0 - half);
            l_prev = l_next;
            if u[k + 1] > 1e250 {
                // Above saturation U grows like e^{r x}: rescale what is kept.
                for v in u.iter_mut().take(k + 2) {
                    *v *= 1e-250;
                }
                l_prev *= 1e-250;
                ln_scale += 250.0 * std::f64::consts::LN_10;
                scale = source_scale(ln_scale);
            }
        }
        let u_end = u[n];
        // Density at the end; G vanishes beyond d_max ≤ grid_end unless X cut the grid short.
        let g_end = entry_survival(grid_end) * source_scale(ln_scale);
        let dens_end = (g_end + lam * (u_end - delayed(&u, grid_end))).max(0.0);
        let rest = max_wait - grid_end;
        // U(X) and the density at the end over U(X), kept finite when r > 0.
        let (u_kept, end_density) = if rest <= 0.0 {
            (u_end, dens_end / u_end)
        } else if max_wait.is_infinite() {
            // Only below saturation: r < 0.
            let total = u_end - dens_end / root;
            (total, dens_end / total)
        } else if root.abs() < 1e-300 {
            let total = u_end + dens_end * rest;
            (total, dens_end / total)
        } else if root < 0.0 {
            let total = u_end + dens_end * ((root * rest).exp() - 1.0) / root;
            (total, dens_end / total)
        } else {
            // U(X) = u_end + dens·(e^{rR} − 1)/r; divide through by e^{rR}.
            let shrink = (-root * rest).exp();
            let denom = u_end * shrink + dens_end * (1.0 - shrink) / root;
            let ln_total = ln_scale + denom.ln() + root * rest;
            let inv = if ln_total < 700.0 {
                (-ln_total).exp()
            } else {
                0.0
            };
            let cumulative = u.iter().map(|v| v * shrink / denom).collect();
            return BusyShape {
                step: h,
                cumulative,
                max_wait,
                root,
                end_density: dens_end / denom,
                total_over_kept: mean_pooled * (inv + lam),
                inv_kept: inv,
            };
        };
        let ln_kept = ln_scale + u_kept.ln();
        let inv_kept = if ln_kept < 700.0 {
            (-ln_kept).exp()
        } else {
            0.0
        };
        let total_over_kept = if max_wait.is_infinite() {
            1.0
        } else {
            mean_pooled * (inv_kept + lam)
        };
        BusyShape {
            step: h,
            cumulative: u.iter().map(|v| v / u_kept).collect(),
            max_wait,
            root,
            end_density,
            total_over_kept,
            inv_kept,
        }
    }

    fn grid_end(&self) -> f64 {
        self.step * (self.cumulative.len() - 1) as f64
    }

    /// (U(X) − U(t)) / U(X): the share of the kept busy mass with a virtual wait above t [s].
    pub fn tail(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        if t >= self.max_wait {
            return 0.0;
        }
        let end = self.grid_end();
        let r = self.root;
        if t <= end {
            let pos = t / self.step;
            let i = (pos.floor() as usize).min(self.cumulative.len() - 2);
            let c = self.cumulative[i]
                + (self.cumulative[i + 1] - self.cumulative[i]) * (pos - i as f64);
            return (1.0 - c).clamp(0.0, 1.0);
        }
        let e = self.end_density;
        let v = if self.max_wait.is_infinite() {
            e * (r * (t - end)).exp() / -r
        } else if r.abs() < 1e-300 {
            e * (self.max_wait - t)
        } else if r < 0.0 {
            e * (r * (t - end)).exp() * ((r * (self.max_wait - t)).exp() - 1.0) / r
        } else {
            e * (1.0 - (-r * (self.max_wait - t)).exp()) / r
        };
        v.clamp(0.0, 1.0)
    }

    /// ∫₀^X tail(t) dt: the mean virtual wait of the kept busy mass [s].
    pub fn mean(&self) -> f64 {
        let end = self.grid_end();
        let n = self.cumulative.len() - 1;
        let mut s = 0.0;
        for k in 0..n {
            s += (2.0 - self.cumulative[k] - self.cumulative[k + 1]) * 0.5 * self.step;
        }
        if self.max_wait > end {
            let r = self.root;
            let e = self.end_density;
            let rest = self.max_wait - end;
            s += if self.max_wait.is_infinite() {
                e / (r * r)
            } else if r.abs() < 1e-300 {
                e * rest * rest / 2.0
            } else if r < 0.0 {
                // ∫₀^R e^{r y}(e^{r(R−y)} − 1)/r dy = (R e^{rR} − (e^{rR} − 1)/r)/r.
                let er = (r * rest).exp();
                e * (rest * er - (er - 1.0) / r) / r
            } else {
                // ∫₀^R (1 − e^{−r(R−y)})/r dy = (R − (1 − e^{−rR})/r)/r.
                e * (rest - (1.0 - (-r * rest).exp()) / r) / r
            };
        }
        s
    }

    /// U(∞)/U(X) [1 without threshold].
    pub fn total_over_kept(&self) -> f64 {
        self.total_over_kept
    }

    /// 1/U(X) in the units where one request entering "all busy" adds G to the density.
    pub fn inv_kept(&self) -> f64 {
        self.inv_kept
    }
}

/// The correction β to the rate of entering "all busy" (see the module doc), for `servers`
/// servers offered `offered_load` erlangs with a threshold `max_wait` [s].
pub fn entry_correction(servers: u32, offered_load: f64, mix: &ServiceMix, max_wait: f64) -> f64 {
    let scv = mix.scv();
    if servers <= 1 || scv >= 1.0 {
        return 1.0;
    }
    let full = mdc_odds_over_erlang_c(servers, offered_load);
    let fade = 1.0 - (-max_wait / mix.mean()).exp();
    1.0 + (full - 1.0) * (1.0 - scv) * fade
}

/// κ = λ·B(c−1, a)·β: the weight of "all busy" against the idle states' total of 1.
pub fn busy_weight(servers: u32, arrival_rate: f64, mix: &ServiceMix, max_wait: f64) -> f64 {
    let a = arrival_rate * mix.mean();
    arrival_rate * erlang_b(servers - 1, a) * entry_correction(servers, a, mix, max_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast solve (each step's start carried over, each delay read at its fixed offset on
    /// the grid) is the scheme as written within 10⁻⁹ relative: the mean virtual wait, the
    /// kept and sent-away mass, and the tail at a dozen waits, for 1–16 servers, three
    /// service mixes (one service time, agency's three, a spread of 0.2–20 s), loads from 5%
    /// to 98% without a threshold and to 3× saturation with thresholds of 1, 10 and 60 s.
    #[test]
    fn the_stepped_delays_are_the_interpolated_ones() {
        let mixes = [
            ServiceMix::new(&[(1.0, 1.2)]).unwrap(),
            ServiceMix::new(&[(0.7, 2.0), (0.2, 4.1), (0.1, 9.6)]).unwrap(),
            ServiceMix::new(&[(0.5, 0.2), (0.3, 1.7), (0.15, 6.0), (0.05, 20.0)]).unwrap(),
        ];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-300;
        let mut compared = 0;
        for mix in &mixes {
            for servers in [1, 2, 4, 16] {
                for (rho, max_wait) in [0.05, 0.5, 0.9, 0.98]
                    .into_iter()
                    .map(|r| (r, f64::INFINITY))
                    .chain(
                        [0.3, 0.9, 1.5, 3.0]
                            .into_iter()
                            .flat_map(|r| [1.0, 10.0, 60.0].into_iter().map(move |x| (r, x))),
                    )
                {
                    let lam = rho * servers as f64 / mix.mean();
                    let fast = BusyShape::solve_with(servers, lam, mix, max_wait, false);
                    let plain = BusyShape::solve_with(servers, lam, mix, max_wait, true);
                    let what = format!("{servers} servers, ρ {rho}, X {max_wait}, {mix:?}");
                    assert!(close(fast.mean(), plain.mean()), "mean: {what}");
                    assert!(
                        close(fast.total_over_kept(), plain.total_over_kept()),
                        "sent away: {what}"
                    );
                    assert!(close(fast.inv_kept(), plain.inv_kept()), "kept: {what}");
                    for t in [
                        0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 59.0, 100.0, 300.0,
                    ] {
                        assert!(
                            (fast.tail(t) - plain.tail(t)).abs() <= 1e-9,
                            "tail at {t} s: {what}"
                        );
                    }
                    assert!(fast.mean() > 0.0 && fast.mean().is_finite(), "{what}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 3 * 4 * (4 + 4 * 3));
    }

    /// Powers by the inline loop are `f64::powi`'s for every power a fleet has servers (1 to
    /// 10,000 are checked at 1–64 and every 97th) and bases over (0, 1], to the bit.
    #[test]
    fn powers_by_squaring_are_powi() {
        let mut checked = 0;
        for n in (1..=64).chain((65..=10_000).step_by(97)) {
            for k in 0..=200 {
                let a = if k == 0 {
                    1.0
                } else {
                    1.0 - k as f64 / 201.0 + 1e-3 * (k % 7) as f64
                };
                let a = a.clamp(f64::MIN_POSITIVE, 1.0);
                assert_eq!(
                    powi_by_squaring(a, n).to_bits(),
                    a.powi(n as i32).to_bits(),
                    "{a}^{n}"
                );
                checked += 1;
            }
        }
        assert!(checked > 20_000);
    }
}
