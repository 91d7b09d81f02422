//! The exact probability of waiting in the M/D/c queue (Crommelin 1932), from the roots of
//! z^c = e^{a(z−1)} inside the unit disc.
//!
//! Seen every D seconds the number in system follows N′ = max(N − c, 0) + Poisson(a), so its
//! generating function is P(z) = Q(z)·e^{a(z−1)} / (z^c − e^{a(z−1)}) with
//! Q(z) = Σ_{n<c} p_n (z^c − z^n). Q must vanish at the c roots of z^c = e^{a(z−1)} in the
//! closed unit disc (z₀ = 1 and z_k = ω^k e^{ρ(z_k−1)}, ω = e^{2πi/c}), so
//! Q(z) = S·Π_k (z − z_k) with S = P(N < c); P(1) = 1 gives S = (c − a) / Π_{k≥1} (1 − z_k).
//! Only a product of c − 1 factors of modulus below 2 is needed: no polynomial expansion,
//! nothing cancels, fine for any c. Each root is a fixed point of a contraction (ρ < 1),
//! polished by Newton's method.

/// A complex number, only as much of one as the roots need.
#[derive(Debug, Clone, Copy)]
struct Complex {
    re: f64,
    im: f64,
}

impl Complex {
    fn mul(self, o: Complex) -> Complex {
        Complex {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    fn div(self, o: Complex) -> Complex {
        let d = o.re * o.re + o.im * o.im;
        Complex {
            re: (self.re * o.re + self.im * o.im) / d,
            im: (self.im * o.re - self.re * o.im) / d,
        }
    }
    fn exp(self) -> Complex {
        let m = self.re.exp();
        Complex {
            re: m * self.im.cos(),
            im: m * self.im.sin(),
        }
    }
}

/// The root of z = w·e^{ρ(z−1)} inside the unit disc for a c-th root of unity w ≠ 1.
fn root(w: Complex, rho: f64) -> Complex {
    let mut z = Complex { re: 0.0, im: 0.0 };
    // A few contraction steps land near the root, where Newton converges fast.
    for _ in 0..8 {
        z = w.mul(
            Complex {
                re: rho * (z.re - 1.0),
                im: rho * z.im,
            }
            .exp(),
        );
    }
    for _ in 0..100 {
        let e = w.mul(
            Complex {
                re: rho * (z.re - 1.0),
                im: rho * z.im,
            }
            .exp(),
        );
        let f = Complex {
            re: z.re - e.re,
            im: z.im - e.im,
        };
        let df = Complex {
            re: 1.0 - rho * e.re,
            im: -rho * e.im,
        };
        let step = f.div(df);
        z.re -= step.re;
        z.im -= step.im;
        if step.re.abs() + step.im.abs() < 1e-15 {
            break;
        }
    }
    z
}

/// Π_{k=1}^{c−1} (1 − z_k) over the roots inside the unit disc; real, as roots pair up.
fn product(servers: u32, rho: f64) -> f64 {
    let c = servers as usize;
    let mut prod = 1.0;
    // Roots k and c − k are conjugates: take k < c/2 twice and the real root at k = c/2 once.
    for k in 1..=c / 2 {
        let angle = 2.0 * std::f64::consts::PI * k as f64 / c as f64;
        let z = root(
            Complex {
                re: angle.cos(),
                im: angle.sin(),
            },
            rho,
        );
        let m2 = (1.0 - z.re) * (1.0 - z.re) + z.im * z.im;
        if 2 * k == c {
            prod *= 1.0 - z.re;
        } else {
            prod *= m2;
        }
    }
    prod
}

/// P(wait > 0) in M/D/c with `servers` servers offered `offered_load` erlangs (exact); 1 at
/// or above saturation, 0 without load.
pub fn mdc_delay_probability(servers: u32, offered_load: f64) -> f64 {
    if servers == 0 {
        return 1.0;
    }
    if offered_load.is_nan() || offered_load <= 0.0 {
        return 0.0;
    }
    let c = servers as f64;
    if offered_load >= c {
        return 1.0;
    }
    let s = (c - offered_load) / product(servers, offered_load / c);
    (1.0 - s).clamp(0.0, 1.0)
}

/// The ratio of the M/D/c odds of waiting, P/(1 − P), to the M/M/c (Erlang C) odds, written
/// without the 1/(1 − ρ) both share, so it stays finite up to and at ρ = 1 (used there for
/// loads above 1).
pub fn mdc_odds_over_erlang_c(servers: u32, offered_load: f64) -> f64 {
    if servers <= 1 || offered_load.is_nan() || offered_load <= 0.0 {
        return 1.0;
    }
    let c = servers as f64;
    let a = offered_load.min(c);
    let rho = a / c;
    // Below this the difference Π − c(1 − ρ) is lost to rounding, and waiting is too rare to
    // matter: keep Erlang C.
    if super::erlang::erlang_c(servers, a) < 1e-9 {
        return 1.0;
    }
    // Odds of M/D/c: (Π − c(1 − ρ)) / (c(1 − ρ)); of M/M/c: ρ·B(c−1, a) / (1 − ρ).
    let p = product(servers, rho);
    let b = super::erlang::erlang_b(servers - 1, a);
    let ratio = (p - c * (1.0 - rho)) / (c * rho * b);
    if ratio.is_finite() && ratio > 0.0 {
        ratio.min(1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::erlang::erlang_c;
    use super::*;

    #[test]
    fn one_server_waits_with_probability_rho() {
        for &rho in &[0.1, 0.5, 0.9, 0.999] {
            assert!((mdc_delay_probability(1, rho) - rho).abs() < 1e-12);
        }
    }

    #[test]
    fn regular_service_waits_less_than_exponential() {
        for &c in &[2u32, 4, 16, 64, 300] {
            for &rho in &[0.2, 0.5, 0.8, 0.95, 0.999] {
                let a = rho * c as f64;
                let d = mdc_delay_probability(c, a);
                let m = erlang_c(c, a);
                if m < 1e-9 {
                    // 1 − S is lost to rounding there.
                    assert!(d <= m, "c={c} rho={rho}: {d} vs {m}");
                    continue;
                }
                assert!(d > 0.0 && d < m, "c={c} rho={rho}: {d} vs {m}");
                let ratio = mdc_odds_over_erlang_c(c, a);
                let odds = |p: f64| p / (1.0 - p);
                assert!(
                    (ratio - odds(d) / odds(m)).abs() < 1e-6 * ratio,
                    "c={c} rho={rho}"
                );
            }
        }
    }

    #[test]
    fn matches_the_simulated_delay_probability() {
        // From des.rs runs of 2M requests (standard error about 0.001): M/D/4 at 70% and
        // M/D/16 at 90%.
        assert!((mdc_delay_probability(4, 2.8) - 0.4092).abs() < 0.004);
        assert!((mdc_delay_probability(16, 14.4) - 0.5612).abs() < 0.008);
    }

    #[test]
    fn edges() {
        assert_eq!(mdc_delay_probability(0, 1.0), 1.0);
        assert_eq!(mdc_delay_probability(3, 0.0), 0.0);
        assert_eq!(mdc_delay_probability(3, 3.0), 1.0);
        assert_eq!(mdc_delay_probability(3, f64::NAN), 0.0);
        assert!(mdc_odds_over_erlang_c(8, 8.0).is_finite());
        assert!(mdc_odds_over_erlang_c(8, 80.0).is_finite());
    }
}
