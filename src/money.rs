//! Money. Prices and reported totals are exact `Decimal` US dollars; sampled quantities and
//! statistics are `f64`. This module is the one place where the two meet, so every rounding
//! that money goes through is written here and nowhere else.

use rust_decimal::prelude::*;

/// US dollars, exact.
pub type Usd = Decimal;

/// Sampled quantities (images, GPU-hours) are rounded to this many decimal places when they
/// are turned into `Decimal` to be priced: a millionth of an image is far below any bill, and
/// rounding makes a quantity like `3000 × 0.7` price as exactly 2,100 images.
pub const QUANTITY_DP: u32 = 6;

/// An `f64` quantity (images, hours, GPU-seconds) as an exact decimal, rounded to
/// [`QUANTITY_DP`] places. Non-finite or out-of-range quantities are a bug upstream: `None`.
pub fn quantity(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    // Fast path: round to whole millionths as an integer (exact below 2^53 millionths, about
    // nine billion images), which is what the general path gives too.
    let micro = x * 1e6;
    if micro.abs() < 9.0e15 {
        return Some(Decimal::new(micro.round() as i64, QUANTITY_DP).normalize());
    }
    Decimal::from_f64(x).map(|d| d.round_dp(QUANTITY_DP))
}

/// `quantity × price`, exact in the price; `None` when the quantity is not a finite number or
/// the product overflows (about 7.9e28 dollars).
pub fn cost(quantity_f64: f64, price: Usd) -> Option<Usd> {
    quantity(quantity_f64)?.checked_mul(price)
}

/// Decimal places a price multiplier (a month's drift and known changes) is rounded to before
/// it multiplies an exact price: a billionth, far below a cent on any bill.
pub const FACTOR_DP: u32 = 9;

/// `price × factor`, the factor rounded to [`FACTOR_DP`] places; `None` when the factor is
/// not finite or the product overflows.
pub fn moved_price(price: Usd, factor: f64) -> Option<Usd> {
    if !factor.is_finite() {
        return None;
    }
    let f = Decimal::from_f64(factor)?.round_dp(FACTOR_DP);
    price.checked_mul(f)
}

/// A dollar amount as `f64`, for statistics and charts. Loses nothing a chart can show.
pub fn to_f64(usd: Usd) -> f64 {
    usd.to_f64().unwrap_or(f64::NAN)
}

/// A plain number from a TOML file (a speed, a share) as a decimal, through its shortest
/// round-trip spelling, so `0.14` becomes exactly `0.14` and not the binary fraction behind it.
pub fn decimal_from_toml_float(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{x}"))
        .ok()
        .or_else(|| Decimal::from_scientific(&format!("{x:e}")).ok())
}

/// Dollars for people: `$1,963.70`, or more places for small unit prices (`$0.0072`).
pub fn format_usd(usd: Usd) -> String {
    let abs = usd.abs();
    let dp = if abs >= Decimal::ONE || abs.is_zero() {
        2
    } else {
        // Enough places to show three significant digits of a sub-dollar price.
        let mut dp = 2;
        let mut scaled = abs * Decimal::from(100);
        while scaled < Decimal::from(100) && dp < 8 {
            scaled *= Decimal::TEN;
            dp += 1;
        }
        dp
    };
    let r = usd.round_dp(dp);
    let s = format!("{:.*}", dp as usize, r.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let sign = if r.is_sign_negative() && !r.is_zero() {
        "-"
    } else {
        ""
    };
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    format!("{sign}${}{frac}", group_thousands(int))
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count or volume for people: `140,264`.
pub fn format_count(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let s = format!("{:.0}", x.abs());
    let sign = if x < -0.5 { "-" } else { "" };
    format!("{sign}{}", group_thousands(&s))
}

/// `$1,963.70` with k/M suffixes for chart axes: `$1.96k`, `$2.5M`.
pub fn format_usd_short(x: f64) -> String {
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}${:.3}B", a / 1e9).replace(".000B", "B")
    } else if a >= 1e6 {
        trim_suffix(format!("{sign}${:.2}M", a / 1e6))
    } else if a >= 1e5 - 50.0 {
        // Three significant digits: $169k, not $169.4k.
        format!("{sign}${:.0}k", a / 1e3)
    } else if a >= 1e3 {
        trim_suffix(format!("{sign}${:.1}k", a / 1e3))
    } else if a >= 1.0 || a == 0.0 {
        format!("{sign}${a:.0}")
    } else {
        format!("{sign}${a:.3}")
    }
}

/// Dollars on a linear axis whose ticks are about `step` apart: as [`format_usd_short`], with
/// more decimals where the ticks are closer than its rounding, so that neighbouring ticks never
/// read alike (`$1.96k`, `$1.98k`, `$2.00k` for costs that barely vary).
pub fn format_usd_tick(x: f64, step: f64) -> String {
    let a = x.abs();
    let (div, unit, least) = if a >= 1e9 {
        (1e9, "B", 3)
    } else if a >= 1e6 {
        (1e6, "M", 2)
    } else if a >= 1e3 {
        (1e3, "k", 1)
    } else if a >= 1.0 || a == 0.0 {
        (1.0, "", 0)
    } else {
        (1.0, "", 3)
    };
    let need = if step > 0.0 && step.is_finite() {
        (-(step / div).log10()).ceil().max(0.0) as usize
    } else {
        0
    };
    if need <= least {
        return format_usd_short(x);
    }
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}${:.*}{unit}", need.min(6), a / div)
}

/// Images for chart axes and labels, to about three significant digits: `10k`, `1.5M`,
/// `27.4k`, `271k` (not `270.6k`).
pub fn format_count_short(x: f64) -> String {
    let a = x.abs();
    let (div, unit) = if a >= 1e9 {
        (1e9, "B")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        return format!("{x:.0}");
    };
    let d = if (a / div).round() >= 100.0 { 0 } else { 1 };
    trim_suffix(format!("{:.*}{unit}", d, x / div))
}

fn trim_suffix(s: String) -> String {
    // "1.0k" reads worse than "1k".
    s.replace(".0k", "k")
        .replace(".0M", "M")
        .replace(".00M", "M")
        .replace(".0B", "B")
}

/// The largest dollar amount a file may hold, [`crate::limits::MAX_USD`], as a decimal.
pub fn max_usd() -> Usd {
    Decimal::from(crate::limits::MAX_USD)
}

/// `amount` when its size is at most [`max_usd`], else why not, for a file's reader: far
/// larger amounts make totals that no decimal holds.
pub fn bounded(amount: Usd) -> Result<Usd, String> {
    if amount.abs() > max_usd() {
        Err(format!(
            "{amount} is out of range; expected a price, fee or purchase of at most {} in size",
            format_usd(max_usd())
        ))
    } else {
        Ok(amount)
    }
}

/// `a + b`, or an error naming `what` when the sum leaves the decimal range (about 7.9e28
/// dollars): money never wraps, saturates or panics.
pub fn add(a: Usd, b: Usd, what: &dyn Fn() -> String) -> crate::Result<Usd> {
    a.checked_add(b).ok_or_else(|| {
        crate::Error::Invariant(format!(
            "{}: {a} + {b} does not fit a dollar amount",
            what()
        ))
    })
}

/// `a × b`, checked like [`add`].
pub fn mul(a: Usd, b: Usd, what: &dyn Fn() -> String) -> crate::Result<Usd> {
    a.checked_mul(b).ok_or_else(|| {
        crate::Error::Invariant(format!(
            "{}: {a} × {b} does not fit a dollar amount",
            what()
        ))
    })
}

/// Serde: a dollar amount written as a quoted decimal (`"0.014"`, exact) or a plain number
/// (taken by its spelling, so `0.014` is still exactly 0.014), at most [`max_usd`] in size.
pub fn de_usd<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Usd, D::Error> {
    let amount = de_usd_unbounded(d)?;
    bounded(amount).map_err(serde::de::Error::custom)
}

fn de_usd_unbounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Usd, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Usd;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a dollar amount as a decimal string like \"0.014\"")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Usd, E> {
            let t = s.trim().trim_start_matches('$').replace('_', "");
            Decimal::from_str_exact(&t)
                .or_else(|_| Decimal::from_scientific(&t))
                .map_err(|_| {
                    E::custom(format!(
                        "\"{s}\" is not a dollar amount; expected a decimal like \"0.014\""
                    ))
                })
        }
        fn visit_i64<E: serde::de::Error>(self, x: i64) -> Result<Usd, E> {
            Ok(Decimal::from(x))
        }
        fn visit_u64<E: serde::de::Error>(self, x: u64) -> Result<Usd, E> {
            Ok(Decimal::from(x))
        }
        fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<Usd, E> {
            decimal_from_toml_float(x).ok_or_else(|| {
                E::custom(format!(
                    "{x} is not a dollar amount; expected a finite decimal like \"0.014\""
                ))
            })
        }
    }
    d.deserialize_any(V)
}

/// Serde: an optional dollar amount (see [`de_usd`]).
pub fn de_usd_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Usd>, D::Error> {
    de_usd(d).map(Some)
}

#[cfg(test)]
mod tests {

    #[test]
    fn ticks_close_together_read_differently() {
        let labels: Vec<String> = (0..=10)
            .map(|i| format_usd_tick(1900.0 + 20.0 * i as f64, 20.0))
            .collect();
        for w in labels.windows(2) {
            assert_ne!(w[0], w[1], "{labels:?}");
        }
        assert_eq!(labels[5], "$2.00k");
        // Ticks far apart keep the short form.
        assert_eq!(format_usd_tick(2000.0, 2000.0), "$2k");
        assert_eq!(format_usd_tick(2500.0, 500.0), "$2.5k");
        assert_eq!(format_usd_tick(0.0, 20.0), "$0");
    }

    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn quantities_round_to_a_millionth_of_an_image() {
        assert_eq!(quantity(3000.0 * 0.7), Some(dec!(2100)));
        assert_eq!(quantity(0.1 + 0.2), Some(dec!(0.3)));
        assert_eq!(quantity(f64::NAN), None);
        assert_eq!(quantity(f64::INFINITY), None);
    }

    #[test]
    fn cost_is_exact_in_the_price() {
        assert_eq!(cost(730.0, dec!(2.69)), Some(dec!(1963.70)));
        assert_eq!(cost(140_000.0, dec!(0.014)), Some(dec!(1960.000)));
    }

    #[test]
    fn toml_floats_keep_their_spelling() {
        assert_eq!(decimal_from_toml_float(0.14), Some(dec!(0.14)));
        assert_eq!(decimal_from_toml_float(1e-7), Some(dec!(0.0000001)));
        assert_eq!(decimal_from_toml_float(f64::NAN), None);
    }

    #[test]
    fn dollars_read_like_a_bill() {
        assert_eq!(format_usd(dec!(1963.7)), "$1,963.70");
        assert_eq!(format_usd(dec!(0.0072)), "$0.00720");
        assert_eq!(format_usd(dec!(0.014)), "$0.0140");
        assert_eq!(format_usd(dec!(-1234567.891)), "-$1,234,567.89");
        assert_eq!(format_usd(dec!(0)), "$0.00");
        assert_eq!(format_count(140264.28), "140,264");
        assert_eq!(format_usd_short(2500000.0), "$2.50M");
        assert_eq!(format_count_short(10000.0), "10k");
        assert_eq!(format_count_short(1500000.0), "1.5M");
    }
}
