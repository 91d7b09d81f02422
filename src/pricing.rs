//! Exact per-request prices under each API's published rule.
//!
//! A megapixel is 1024 × 1024 = 1,048,576 pixels (BFL: "a 1024×1024 image is one megapixel"),
//! so megapixel counts are exact decimals. Per-megapixel rules round each image's megapixels,
//! output and every input separately, up to a whole number unless the catalogue says
//! `mp_rounding = "exact"` (fal and Runflow publish rounding up; Runflow's mirror of BFL's
//! FLUX.2 prices, $0.045 at ~2 MP and $0.075 at ~4 MP on [pro], matches it).
//! A batch of n images costs n times the single-image price (BFL pricing docs).

use crate::catalogue::{ApiOffering, Catalogue, DatedPrice, MpRounding, PriceRule};
use crate::error::{Error, Problems, Result};
use crate::money::Usd;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Pixels in one megapixel.
pub const PIXELS_PER_MP: u64 = 1024 * 1024;

/// An image size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Size {
    /// Width [px].
    pub width: u32,
    /// Height [px].
    pub height: u32,
}

impl Size {
    /// A size.
    pub fn new(width: u32, height: u32) -> Size {
        Size { width, height }
    }
    /// Megapixels, exact.
    pub fn mp(self) -> Decimal {
        Decimal::from(self.width as u64 * self.height as u64) / Decimal::from(PIXELS_PER_MP)
    }
    /// Megapixels as `f64`, for speeds.
    pub fn mp_f64(self) -> f64 {
        (self.width as f64 * self.height as f64) / PIXELS_PER_MP as f64
    }
    /// The square size closest to `mp` megapixels with sides a multiple of 16.
    pub fn square_of_mp(mp: f64) -> Size {
        let side = ((mp * PIXELS_PER_MP as f64).sqrt() / 16.0).round().max(1.0) as u32 * 16;
        Size::new(side, side)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Size, String> {
        let bad =
            || format!("\"{s}\" is not a size; expected WIDTHxHEIGHT in pixels, like 1024x1024");
        let (w, h) = s.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let w: u32 = w.trim().parse().map_err(|_| bad())?;
        let h: u32 = h.trim().parse().map_err(|_| bad())?;
        if w == 0 || h == 0 {
            return Err(format!(
                "\"{s}\" has a zero side; expected positive width and height"
            ));
        }
        if w > 65_536 || h > 65_536 {
            return Err(format!(
                "\"{s}\" is larger than 65536 px on a side; expected an image size"
            ));
        }
        Ok(Size::new(w, h))
    }
}

/// One request: `count` images of `size`, each with the same input images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// Output size.
    pub size: Size,
    /// Input or reference images, each billed where the rule bills inputs.
    pub inputs: Vec<Size>,
    /// Steps, where the rule lets you choose; `None` = the default.
    pub steps: Option<u32>,
    /// Images in the batch.
    pub count: u64,
}

impl Request {
    /// One text-to-image request of `size`.
    pub fn image(size: Size) -> Request {
        Request {
            size,
            inputs: Vec::new(),
            steps: None,
            count: 1,
        }
    }
}

/// What a request costs, and why. Decimals are exact and written without trailing zeros
/// (`0.008`, not `0.00800`), so JSON readers see the price as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Offering id.
    pub model: String,
    /// The date of the price applied.
    pub as_of: NaiveDate,
    /// Where the price comes from.
    pub source: String,
    /// The rule applied.
    pub rule: &'static str,
    /// Output size.
    pub size: String,
    /// Output megapixels, exact.
    pub output_mp: Decimal,
    /// Output megapixels billed.
    pub billed_output_mp: Decimal,
    /// Input megapixels billed (all inputs).
    pub billed_input_mp: Decimal,
    /// Steps used, where the rule depends on them.
    pub steps: Option<u32>,
    /// GPU-seconds billed per image, for per-second rules.
    pub billed_gpu_seconds: Option<Decimal>,
    /// Price of one image [USD].
    pub unit_price_usd: Usd,
    /// Images.
    pub count: u64,
    /// `count × unit_price_usd` [USD].
    pub total_usd: Usd,
    /// The arithmetic, line by line.
    pub explanation: Vec<String>,
}

fn billed_mp(mp: Decimal, rounding: MpRounding) -> Decimal {
    match rounding {
        MpRounding::Ceil => mp.ceil(),
        MpRounding::Exact => mp,
    }
}

/// Dollars exactly as priced, for explanations: `$0.014`, `$15,000`, `$0.0048`. Amounts with
/// more than six decimal places (per-GPU-second prices at odd resolutions) are shown rounded,
/// marked `≈`; the `Quote` itself keeps every digit.
pub fn format_usd_exact(usd: Usd) -> String {
    const SHOWN_DP: u32 = 6;
    let n = usd.normalize();
    let (approx, n) = if n.scale() > SHOWN_DP {
        ("≈", n.round_dp(SHOWN_DP).normalize())
    } else {
        ("", n)
    };
    let s = n.abs().to_string();
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let sign = if n.is_sign_negative() && !n.is_zero() {
        "-"
    } else {
        ""
    };
    let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
    format!(
        "{approx}{sign}${}{frac}",
        crate::money::group_thousands(int)
    )
}

/// True when `size` is over `max_mp` megapixels, compared exactly: `max_mp` is written in the
/// catalogue as a short decimal (`4.0`), and a 2048 × 2048 image is exactly 4 MP.
fn over_mp_limit(size: Size, max_mp: f64) -> bool {
    match crate::money::decimal_from_toml_float(max_mp) {
        Some(max) => size.mp() > max,
        None => true,
    }
}

/// Check a request against the offering's published limits; every violation is reported.
pub fn check_limits(
    api: &ApiOffering,
    price: &DatedPrice,
    req: &Request,
) -> std::result::Result<(), Problems> {
    let mut p = Problems::default();
    if req.count == 0 {
        p.push("count", "is 0; expected at least 1 image");
    }
    if let Some(max) = api.max_mp {
        if over_mp_limit(req.size, max) {
            p.push(
                "size",
                format!(
                    "{} is {} MP, over {}'s limit of {max} MP",
                    req.size,
                    req.size.mp().round_dp(3).normalize(),
                    api.id
                ),
            );
        }
    }
    if let Some(m) = api.size_multiple_px {
        if req.size.width % m != 0 || req.size.height % m != 0 {
            p.push(
                "size",
                format!(
                    "{} has a side that is not a multiple of {m} px, as {} requires",
                    req.size, api.id
                ),
            );
        }
    }
    if let Some(min) = api.min_side_px {
        if req.size.width < min || req.size.height < min {
            p.push(
                "size",
                format!(
                    "{} has a side under {}'s minimum of {min} px",
                    req.size, api.id
                ),
            );
        }
    }
    let max_inputs = api.max_input_images.unwrap_or(u32::MAX);
    if req.inputs.len() as u64 > max_inputs as u64 {
        p.push(
            "input",
            format!(
                "{} input image{}; {} takes at most {max_inputs}",
                req.inputs.len(),
                if req.inputs.len() == 1 { "" } else { "s" },
                api.id
            ),
        );
    }
    if let Some(max) = api.max_mp {
        // Providers resize larger inputs down, so billing an input far over the output limit
        // would overstate the price; such a size is almost surely a typo.
        let limit = max.max(4.0) * 4.0;
        for (i, s) in req.inputs.iter().enumerate() {
            if over_mp_limit(*s, limit) {
                p.push(
                    format!("input[{i}]"),
                    format!(
                        "{s} is implausibly large for {}; expected at most {limit} MP",
                        api.id
                    ),
                );
            }
        }
    }
    match (&price.rule, req.steps) {
        (
            PriceRule::PerGpuSecond {
                min_steps,
                max_steps,
                ..
            },
            Some(s),
        ) if s < *min_steps || s > *max_steps => {
            p.push(
                "steps",
                format!(
                    "{s} is outside {}'s range of {min_steps} to {max_steps} steps",
                    api.id
                ),
            );
        }
        (_, Some(0)) => p.push("steps", "is 0; expected at least 1 step"),
        _ => {}
    }
    p.finish(())
}

/// What `req` costs on `api` under the price in force on `as_of` (the newest when `None`).
/// `catalogue` supplies the resolution scaling of per-GPU-second rules.
pub fn quote(
    catalogue: &Catalogue,
    api: &ApiOffering,
    req: &Request,
    as_of: Option<NaiveDate>,
) -> Result<Quote> {
    let price = api.price_on(as_of).ok_or_else(|| {
        let first = api
            .prices
            .first()
            .map(|p| p.provenance.as_of.to_string())
            .unwrap_or_default();
        Error::input(
            "<command line>",
            "as-of",
            format!(
                "{} is before {}'s first price ({first}); expected a date on or after it",
                as_of.map(|d| d.to_string()).unwrap_or_default(),
                api.id
            ),
        )
    })?;
    check_limits(api, price, req).map_err(|p| Error::Input(p.in_file("<command line>")))?;
    let out_mp = req.size.mp();
    let mut lines = Vec::new();
    let f = format_usd_exact;
    let (unit, billed_out, billed_in, steps, seconds) = match &price.rule {
        PriceRule::PerMpFirstExtra {
            first_mp_usd,
            extra_mp_usd,
            input_mp_usd,
            mp_rounding,
        } => {
            // The first megapixel is charged whole, however small the image.
            let out = billed_mp(out_mp, *mp_rounding).max(Decimal::ONE);
            let extra = out - Decimal::ONE;
            let inp: Decimal = req
                .inputs
                .iter()
                .map(|s| billed_mp(s.mp(), *mp_rounding))
                .sum();
            let unit = first_mp_usd + extra * extra_mp_usd + inp * input_mp_usd;
            lines.push(format!(
                "output {} = {} MP, billed {} MP: first MP {} + {} extra MP × {}",
                req.size,
                out_mp.normalize(),
                out,
                f(*first_mp_usd),
                extra,
                f(*extra_mp_usd)
            ));
            if !req.inputs.is_empty() {
                lines.push(input_line(req, inp, *input_mp_usd));
            }
            (unit, out, inp, None, None)
        }
        PriceRule::PerMp {
            mp_usd,
            input_mp_usd,
            mp_rounding,
        } => {
            let out = billed_mp(out_mp, *mp_rounding);
            let inp: Decimal = req
                .inputs
                .iter()
                .map(|s| billed_mp(s.mp(), *mp_rounding))
                .sum();
            let unit = out * mp_usd + inp * input_mp_usd;
            lines.push(format!(
                "output {} = {} MP, billed {} MP × {}",
                req.size,
                out_mp.normalize(),
                out,
                f(*mp_usd)
            ));
            if !req.inputs.is_empty() {
                lines.push(input_line(req, inp, *input_mp_usd));
            }
            (unit, out, inp, None, None)
        }
        PriceRule::PerImage {
            image_usd,
            input_image_usd,
        } => {
            let n_in = Decimal::from(req.inputs.len() as u64);
            let unit = image_usd + n_in * input_image_usd;
            let inputs = if req.inputs.is_empty() || input_image_usd.is_zero() {
                String::new()
            } else {
                format!(
                    " + {n_in} input{} × {}",
                    if n_in == Decimal::ONE { "" } else { "s" },
                    f(*input_image_usd)
                )
            };
            lines.push(format!(
                "flat {} per image{inputs}, whatever the size",
                f(*image_usd)
            ));
            (unit, Decimal::ZERO, Decimal::ZERO, None, None)
        }
        PriceRule::PerGpuSecond {
            gpu_second_usd,
            reference_image_usd,
            default_steps,
            fixed_share,
            ..
        } => {
            let steps = req.steps.unwrap_or(*default_steps);
            let step_factor = fixed_share
                + (Decimal::ONE - fixed_share) * Decimal::from(steps)
                    / Decimal::from(*default_steps);
            let res = resolution_factor(catalogue, api, out_mp);
            let unit = reference_image_usd * step_factor * res;
            // A zero rate would make GPU time meaningless, not the price wrong.
            let seconds = unit.checked_div(*gpu_second_usd);
            lines.push(format!(
                "{} at {} steps and 1 MP; × {} for {} steps ({} fixed + {} × {}/{} steps) × {} for {} MP",
                f(*reference_image_usd),
                default_steps,
                step_factor.normalize(),
                steps,
                fixed_share.normalize(),
                (Decimal::ONE - fixed_share).normalize(),
                steps,
                default_steps,
                res.round_dp(6).normalize(),
                out_mp.round_dp(4).normalize()
            ));
            if let Some(s) = seconds {
                lines.push(format!(
                    "= {} GPU-s × {}/s",
                    s.round_dp(4).normalize(),
                    f(*gpu_second_usd)
                ));
            }
            (
                unit,
                out_mp,
                Decimal::ZERO,
                Some(steps),
                seconds.map(|s| s.normalize()),
            )
        }
    };
    if let (Some(s), None) = (req.steps, steps) {
        lines.push(format!(
            "{s} steps asked for; {} does not price by steps",
            price.rule.name()
        ));
    }
    let unit = unit.normalize();
    let total = unit
        .checked_mul(Decimal::from(req.count))
        .ok_or_else(|| {
            Error::input(
                "<command line>",
                "count",
                format!(
                    "{} images at {} overflows a dollar amount; expected a smaller count",
                    req.count,
                    f(unit)
                ),
            )
        })?
        .normalize();
    lines.push(format!(
        "{} × {} = {}",
        images(req.count),
        f(unit),
        f(total)
    ));
    Ok(Quote {
        model: api.id.clone(),
        as_of: price.provenance.as_of,
        source: price.provenance.source.clone(),
        rule: price.rule.name(),
        size: req.size.to_string(),
        output_mp: out_mp.normalize(),
        billed_output_mp: billed_out.normalize(),
        billed_input_mp: billed_in.normalize(),
        steps,
        billed_gpu_seconds: seconds,
        unit_price_usd: unit,
        count: req.count,
        total_usd: total,
        explanation: lines,
    })
}

/// `inputs: 2 images, billed 3 MP × $0.015`.
fn input_line(req: &Request, billed: Decimal, rate: Usd) -> String {
    format!(
        "inputs: {}, billed {} MP × {}",
        images(req.inputs.len() as u64),
        billed.normalize(),
        format_usd_exact(rate)
    )
}

/// `1 image`, `4 images`.
pub fn images(n: u64) -> String {
    format!("{n} image{}", if n == 1 { "" } else { "s" })
}

/// Time at `mp` relative to 1 MP, from the offering's open model's stated scaling rule; exact
/// decimal arithmetic on the coefficients as written in the catalogue. An offering without an
/// open model is billed as if time were proportional to megapixels.
fn resolution_factor(catalogue: &Catalogue, api: &ApiOffering, mp: Decimal) -> Decimal {
    let Some(profile) = api
        .open_model
        .as_ref()
        .and_then(|m| catalogue.selfhost.get(m))
    else {
        return mp;
    };
    let s = &profile.resolution_scaling;
    let d = |x: f64| crate::money::decimal_from_toml_float(x).unwrap_or_default();
    d(s.fixed) + d(s.linear) * mp + d(s.quadratic) * mp * mp
}

/// The price of one image of `size` with the given input images on `api` [USD]: the engine's
/// entry point.
pub fn unit_price(
    catalogue: &Catalogue,
    api: &ApiOffering,
    size: Size,
    inputs: &[Size],
    steps: Option<u32>,
    as_of: Option<NaiveDate>,
) -> Result<Usd> {
    let req = Request {
        size,
        inputs: inputs.to_vec(),
        steps,
        count: 1,
    };
    Ok(quote(catalogue, api, &req, as_of)?.unit_price_usd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn exact_dollars_keep_the_catalogue_spelling() {
        assert_eq!(format_usd_exact(dec!(0.014)), "$0.014");
        assert_eq!(format_usd_exact(dec!(0.0150)), "$0.015");
        assert_eq!(format_usd_exact(dec!(15000.000)), "$15,000");
        assert_eq!(format_usd_exact(dec!(1234.5)), "$1,234.5");
        assert_eq!(format_usd_exact(dec!(0)), "$0");
        assert_eq!(format_usd_exact(dec!(-0.5)), "-$0.5");
        assert_eq!(format_usd_exact(dec!(0.0162713671875)), "≈$0.016271");
    }

    #[test]
    fn megapixel_limits_compare_exactly() {
        assert!(!over_mp_limit(Size::new(2048, 2048), 4.0));
        assert!(over_mp_limit(Size::new(2048, 2064), 4.0));
        assert!(!over_mp_limit(Size::new(1024, 1024), 1.0));
        assert!(over_mp_limit(Size::new(1024, 1025), 1.0));
        assert!(over_mp_limit(Size::new(16, 16), f64::NAN));
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!("1920x1080".parse(), Ok(Size::new(1920, 1080)));
        assert_eq!(" 512 × 768 ".parse(), Ok(Size::new(512, 768)));
        assert_eq!(Size::new(1024, 2048).mp(), dec!(2));
        assert_eq!(Size::new(1920, 1080).to_string(), "1920x1080");
        for bad in ["1024", "x", "10x-2", "0x5", "70000x16", "1.5x2"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }

    #[test]
    fn image_counts_read_naturally() {
        assert_eq!(images(1), "1 image");
        assert_eq!(images(4), "4 images");
    }
}
