//! Exact per-request prices under each API's published rule.
//!
//! A megapixel is 1024 × 1024 = 1,048,576 pixels (BFL: "a 1024×1024 image is one megapixel"),
//! so megapixel counts are exact decimals. Per-megapixel rules round each image's megapixels,
//! output and every input separately, up to a whole number unless the catalogue says
//! `mp_rounding = "exact"` (fal and Runflow publish rounding up; Runflow's mirror of BFL's
//! FLUX.2 prices, $0.045 at ~2 MP and $0.075 at ~4 MP on [pro], matches it).
//! A batch of n images costs n times the single-image price (BFL pricing docs).
//!
//! Rules that price by steps bill the request's steps, or the rule's `default_steps` when the
//! request does not say, and refuse steps outside the rule's range:
//! - `per_step`: `steps × step_usd`, whatever the size (Fireworks FLUX.1 [schnell] FP8,
//!   $0.00035 a step).
//! - `per_mp_step`: `megapixels × steps × mp_step_usd` (DeepInfra FLUX.1 [schnell],
//!   "$0.0005 x (width / 1024) x (height / 1024) x iters": no rounding, so `exact`).
//! - `per_tile`: `out_tiles × (tile_usd + steps × tile_step_usd) + steps × step_usd +
//!   in_tiles × (input_tile_usd + steps × input_tile_step_usd)` (Cloudflare Workers AI, 512 px
//!   tiles). Cloudflare does not publish how it counts tiles; `cover` (the default) counts the
//!   tiles that cover the image, `ceil(w / 512) × ceil(h / 512)`, `area` counts `w × h / 512²`.
//! - `per_gpu_second`: a reference image cost scaled by steps and resolution.

use crate::catalogue::{ApiOffering, Catalogue, DatedPrice, MpRounding, PriceRule, TileCount};
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
    /// Output tiles billed, for per-tile rules.
    pub billed_output_tiles: Option<Decimal>,
    /// Input tiles billed (all inputs), for per-tile rules.
    pub billed_input_tiles: Option<Decimal>,
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

/// Megapixels billed for all of a request's inputs, each rounded on its own.
fn billed_inputs_mp(req: &Request, rounding: MpRounding) -> Decimal {
    req.inputs.iter().map(|s| billed_mp(s.mp(), rounding)).sum()
}

/// Tiles of `tile_px` × `tile_px` billed for an image of `size`, exact.
pub fn count_tiles(size: Size, tile_px: u32, count: TileCount) -> Decimal {
    count.tiles(size.width, size.height, tile_px)
}

/// `2 × 2 = 4 tiles of 512 px` or `3 tiles of 512 px by area`.
fn tiles_line(size: Size, tile_px: u32, count: TileCount, tiles: Decimal) -> String {
    let plural = if tiles == Decimal::ONE { "" } else { "s" };
    match count {
        TileCount::Cover => {
            let px = u64::from(tile_px.max(1));
            format!(
                "{} × {} = {} tile{plural} of {tile_px} px",
                u64::from(size.width).div_ceil(px),
                u64::from(size.height).div_ceil(px),
                tiles.normalize()
            )
        }
        TileCount::Area => format!(
            "{} tile{plural} of {tile_px} px by area",
            tiles.round_dp(6).normalize()
        ),
    }
}

/// The billed parts of a tiled price, in words: `4 tiles × $0.0000528 + 4 steps × $0.0001056`.
fn tile_parts(
    tiles: Decimal,
    tile_usd: Usd,
    tile_step_usd: Usd,
    steps: Option<u32>,
    step_usd: Usd,
) -> String {
    let f = format_usd_exact;
    let n = tiles.round_dp(6).normalize();
    let mut parts = Vec::new();
    if !tile_usd.is_zero() {
        parts.push(format!("{n} × {}", f(tile_usd)));
    }
    if let Some(s) = steps {
        if !tile_step_usd.is_zero() {
            parts.push(format!("{n} × {s} steps × {}", f(tile_step_usd)));
        }
        if !step_usd.is_zero() {
            parts.push(format!("{s} steps × {}", f(step_usd)));
        }
    }
    if parts.is_empty() {
        parts.push(format!("{n} × {}", f(Usd::ZERO)));
    }
    parts.join(" + ")
}

/// Dollars exactly as priced, for explanations: `$0.014`, `$15,000`, `$0.0048`. Amounts with
/// more than eight decimal places (per-GPU-second prices at odd resolutions) are shown rounded,
/// marked `≈`; the `Quote` itself keeps every digit.
pub fn format_usd_exact(usd: Usd) -> String {
    const SHOWN_DP: u32 = 8;
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
    match (price.rule.steps(), req.steps) {
        (Some(range), Some(s)) if !range.allows(s) => {
            p.push(
                "steps",
                format!(
                    "{s} is outside {}'s range of {} to {} steps",
                    api.id, range.min_steps, range.max_steps
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
    // Every product and sum below is checked: a catalogue may carry any decimal, and a
    // price that overflows is bad input, not a panic.
    let overflow = || {
        Error::input(
            "<command line>",
            "size",
            format!(
                "{} on {} overflows a dollar amount; expected a smaller request or price",
                req.size, api.id
            ),
        )
    };
    let mul = |a: Decimal, b: Decimal| a.checked_mul(b).ok_or_else(overflow);
    let add = |a: Decimal, b: Decimal| a.checked_add(b).ok_or_else(overflow);
    let mut tiles = None;
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
            let inp = billed_inputs_mp(req, *mp_rounding);
            let unit = add(
                add(*first_mp_usd, mul(extra, *extra_mp_usd)?)?,
                mul(inp, *input_mp_usd)?,
            )?;
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
            let inp = billed_inputs_mp(req, *mp_rounding);
            let unit = add(mul(out, *mp_usd)?, mul(inp, *input_mp_usd)?)?;
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
            let unit = add(*image_usd, mul(n_in, *input_image_usd)?)?;
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
            fixed_share,
            steps: range,
        } => {
            let steps = range.steps(req.steps);
            let default_steps = range.default_steps;
            let step_factor = fixed_share
                + (Decimal::ONE - fixed_share) * Decimal::from(steps)
                    / Decimal::from(default_steps);
            let res = resolution_factor(catalogue, api, out_mp);
            let unit = mul(mul(*reference_image_usd, step_factor)?, res)?;
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
        PriceRule::PerStep {
            step_usd,
            steps: range,
        } => {
            let steps = range.steps(req.steps);
            let unit = mul(Decimal::from(steps), *step_usd)?;
            lines.push(format!(
                "{steps} step{} × {}, whatever the size",
                if steps == 1 { "" } else { "s" },
                f(*step_usd)
            ));
            (unit, Decimal::ZERO, Decimal::ZERO, Some(steps), None)
        }
        PriceRule::PerMpStep {
            mp_step_usd,
            mp_rounding,
            steps: range,
        } => {
            let steps = range.steps(req.steps);
            let out = billed_mp(out_mp, *mp_rounding);
            let unit = mul(mul(out, Decimal::from(steps))?, *mp_step_usd)?;
            lines.push(format!(
                "output {} = {} MP, billed {} MP × {steps} step{} × {}",
                req.size,
                out_mp.normalize(),
                out.normalize(),
                if steps == 1 { "" } else { "s" },
                f(*mp_step_usd)
            ));
            (unit, out, Decimal::ZERO, Some(steps), None)
        }
        PriceRule::PerTile {
            tile_px,
            tile_count,
            tile_usd,
            tile_step_usd,
            step_usd,
            input_tile_usd,
            input_tile_step_usd,
            steps: range,
        } => {
            // Without a per-step part the steps multiply only zeros.
            let steps = range.map(|r| r.steps(req.steps));
            let s = Decimal::from(steps.unwrap_or(0));
            let out_tiles = count_tiles(req.size, *tile_px, *tile_count);
            let in_tiles = req.inputs.iter().try_fold(Decimal::ZERO, |acc, i| {
                add(acc, count_tiles(*i, *tile_px, *tile_count))
            })?;
            let per_out_tile = add(*tile_usd, mul(s, *tile_step_usd)?)?;
            let per_in_tile = add(*input_tile_usd, mul(s, *input_tile_step_usd)?)?;
            let unit = add(
                add(mul(out_tiles, per_out_tile)?, mul(s, *step_usd)?)?,
                mul(in_tiles, per_in_tile)?,
            )?;
            lines.push(format!(
                "output {} = {}: {}",
                req.size,
                tiles_line(req.size, *tile_px, *tile_count, out_tiles),
                tile_parts(out_tiles, *tile_usd, *tile_step_usd, steps, *step_usd)
            ));
            if !req.inputs.is_empty() {
                lines.push(format!(
                    "inputs: {}, {} tile{} of {tile_px} px: {}",
                    images(req.inputs.len() as u64),
                    in_tiles.normalize(),
                    if in_tiles == Decimal::ONE { "" } else { "s" },
                    tile_parts(
                        in_tiles,
                        *input_tile_usd,
                        *input_tile_step_usd,
                        steps,
                        Decimal::ZERO
                    )
                ));
            }
            tiles = Some((out_tiles.normalize(), in_tiles.normalize()));
            (unit, Decimal::ZERO, Decimal::ZERO, steps, None)
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
        billed_output_tiles: tiles.map(|t| t.0),
        billed_input_tiles: tiles.map(|t| t.1),
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
        assert_eq!(format_usd_exact(dec!(0.0162713671875)), "≈$0.01627137");
        assert_eq!(format_usd_exact(dec!(0.00028655)), "$0.00028655");
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
    fn tile_arithmetic_reads_as_the_bill() {
        let cover = TileCount::Cover;
        assert_eq!(
            tiles_line(Size::new(896, 1600), 512, cover, dec!(8)),
            "2 × 4 = 8 tiles of 512 px"
        );
        assert_eq!(
            tiles_line(Size::new(512, 512), 512, cover, dec!(1)),
            "1 × 1 = 1 tile of 512 px"
        );
        assert_eq!(
            tiles_line(Size::new(1024, 768), 512, TileCount::Area, dec!(3)),
            "3 tiles of 512 px by area"
        );
        assert_eq!(
            tile_parts(dec!(4), dec!(0.0000528), dec!(0), Some(4), dec!(0.0001056)),
            "4 × $0.0000528 + 4 steps × $0.0001056"
        );
        assert_eq!(
            tile_parts(dec!(4), dec!(0), dec!(0.0004125), Some(25), dec!(0)),
            "4 × 25 steps × $0.0004125"
        );
        // The steps of a price without a per-step part are never shown.
        assert_eq!(
            tile_parts(dec!(2), dec!(0.1), dec!(0), None, dec!(0)),
            "2 × $0.1"
        );
        assert_eq!(
            tile_parts(dec!(2), dec!(0), dec!(0), None, dec!(0)),
            "2 × $0"
        );
    }

    #[test]
    fn image_counts_read_naturally() {
        assert_eq!(images(1), "1 image");
        assert_eq!(images(4), "4 images");
    }
}
