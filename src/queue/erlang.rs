//! Erlang's loss and delay formulas for c servers offered `a` erlangs (arrival rate × mean
//! service time), by the recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which adds and divides
//! positive numbers only: no factorials, no powers, stable for any c and any finite load.
//! Erlang B is insensitive to the service distribution (Sevastyanov 1957); Erlang C is exact
//! for exponential service only and is the starting point of the M/G/c model in `mgc`.

/// Erlang B: the share of arrivals that find all `servers` busy in a loss system offered
/// `offered_load` erlangs. 1 for no servers, 0 for no load.
pub fn erlang_b(servers: u32, offered_load: f64) -> f64 {
    if servers == 0 {
        return 1.0;
    }
    // NaN and negative loads mean no arrivals; an infinite load blocks everything.
    if offered_load.is_nan() || offered_load <= 0.0 {
        return 0.0;
    }
    if offered_load.is_infinite() {
        return 1.0;
    }
    // 1/B by its own recursion, 1/B_k = 1 + (k/a)/B_{k-1}: a multiply and an add a server
    // instead of a division (a fleet of hundreds of GPUs takes one such chain an hour), two
    // servers a turn so the chain is one multiply-add per pair. Every term is positive; past
    // the largest double 1/B is infinite and B is 0, as the division form underflows to.
    // Reference: `erlang_b_by_division` (tests: `the_inverse_recursion_is_the_division_form`).
    let inv_a = 1.0 / offered_load;
    let mut inv_b = 1.0f64;
    let mut k = 1u32;
    while k < servers {
        let (r1, r2) = (k as f64 * inv_a, (k + 1) as f64 * inv_a);
        // 1/B_{k+1} = 1 + r2 (1 + r1 /B_{k-1}) = (1 + r2) + (r2 r1) /B_{k-1}.
        inv_b = (1.0 + r2) + (r2 * r1) * inv_b;
        if inv_b == f64::INFINITY {
            return 0.0;
        }
        k += 2;
    }
    if k == servers {
        inv_b = 1.0 + k as f64 * inv_a * inv_b;
    }
    1.0 / inv_b
}

/// Erlang B by the textbook recursion B_k = a·B_{k-1} / (k + a·B_{k-1}): the reference for
/// [`erlang_b`].
#[cfg(test)]
pub(crate) fn erlang_b_by_division(servers: u32, offered_load: f64) -> f64 {
    if servers == 0 {
        return 1.0;
    }
    if offered_load.is_nan() || offered_load <= 0.0 {
        return 0.0;
    }
    if offered_load.is_infinite() {
        return 1.0;
    }
    let a = offered_load;
    let mut b = 1.0;
    for k in 1..=servers {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue offered `offered_load`
/// erlangs on `servers` servers; 1 at or above saturation (load ≥ servers).
pub fn erlang_c(servers: u32, offered_load: f64) -> f64 {
    if offered_load.is_nan() || offered_load <= 0.0 {
        return if servers == 0 { 1.0 } else { 0.0 };
    }
    let c = servers as f64;
    if offered_load >= c {
        return 1.0;
    }
    let b = erlang_b(servers, offered_load);
    // C = B / (1 − ρ(1 − B)) = B / ((1 − ρ) + ρB): positive terms only, nothing cancels.
    let rho = offered_load / c;
    b / ((1.0 - rho) + rho * b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// λ of n images a month of 730 hours, flat [requests/s].
    fn per_second(images_per_month: f64) -> f64 {
        images_per_month / (730.0 * 3600.0)
    }

    #[test]
    fn issue_overflow_at_once_figures() {
        // klein 4B at 0.57 s on one H100, 1M images a month: a/(1 + a) = 17.8%.
        let b1 = erlang_b(1, per_second(1e6) * 0.57);
        assert!((b1 - 0.1782).abs() < 5e-4, "{b1}");
        // Two H100 at 4M a month: 16.8%.
        let b2 = erlang_b(2, per_second(4e6) * 0.57);
        assert!((b2 - 0.1677).abs() < 5e-4, "{b2}");
    }

    #[test]
    fn the_inverse_recursion_is_the_division_form() {
        // Every fleet size to 3,000 servers (odd and even: the pairs' tail), loads from a
        // thousandth of a server to three times the fleet: within 1e-12 relative, or both
        // below 1e-290 (the division form underflows there, the inverse one overflows).
        let mut worst = 0.0f64;
        for c in (1..=60).chain((61..=3000).step_by(7)) {
            for &f in &[
                1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0, 1.2, 2.0, 3.0,
            ] {
                let a = f * c as f64;
                let (fast, slow) = (erlang_b(c, a), erlang_b_by_division(c, a));
                if slow < 1e-290 {
                    assert!(fast < 1e-280, "c {c} a {a}: {fast} vs {slow}");
                    continue;
                }
                let rel = (fast - slow).abs() / slow;
                worst = worst.max(rel);
                assert!(rel < 1e-12, "c {c} a {a}: {fast} vs {slow} ({rel:e})");
            }
        }
        assert!(
            worst > 0.0,
            "the two forms should round differently somewhere"
        );
    }

    #[test]
    fn small_cases_in_closed_form() {
        assert_eq!(erlang_b(1, 1.0), 0.5);
        // B(2, 1) = (1/2)/(1 + 1 + 1/2) = 0.2; C(2, 1) = 1/3.
        assert!((erlang_b(2, 1.0) - 0.2).abs() < 1e-15);
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn edges_are_documented_values() {
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(0, 0.0), 1.0);
        assert_eq!(erlang_b(5, 0.0), 0.0);
        assert_eq!(erlang_b(5, -1.0), 0.0);
        assert_eq!(erlang_b(5, f64::NAN), 0.0);
        assert_eq!(erlang_b(5, f64::INFINITY), 1.0);
        assert_eq!(erlang_c(5, 5.0), 1.0);
        assert_eq!(erlang_c(5, 0.0), 0.0);
        assert_eq!(erlang_c(0, 1.0), 1.0);
    }

    #[test]
    fn large_fleets_and_loads_stay_finite_and_ordered() {
        for &c in &[50u32, 300, 1000] {
            let mut last = 0.0;
            for &a in &[1.0, 10.0, 100.0, 1e3, 1e4] {
                let b = erlang_b(c, a);
                assert!(b.is_finite() && (0.0..=1.0).contains(&b));
                assert!(b >= last, "B grows with load");
                last = b;
                let cc = erlang_c(c, a);
                assert!(cc >= b && cc <= 1.0, "C ≥ B");
            }
        }
        // Far above capacity almost everything is lost: B → 1 − c/a.
        let b = erlang_b(300, 1e4);
        assert!((b - (1.0 - 300.0 / 1e4)).abs() < 1e-3, "{b}");
    }
}
