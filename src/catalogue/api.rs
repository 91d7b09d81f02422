//! Hosted API offerings and their pricing rules, as published.

use super::{after_parse, check_provenance, parse_toml, Provenance};
use crate::error::Problems;
use crate::money::{de_usd_opt, Usd};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a megapixel count becomes a billed number of megapixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MpRounding {
    /// Round each image up to a whole megapixel (fal and Runflow publish this; BFL's own rule
    /// was not captured, and Runflow's mirror of BFL prices matches it).
    #[default]
    Ceil,
    /// Bill fractional megapixels.
    Exact,
}

/// How an image's pixels become a number of billed tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileCount {
    /// Tiles that cover the image: `ceil(width / tile) × ceil(height / tile)`, so 1024 × 768 is
    /// 2 × 2 = 4 tiles of 512 px. Cloudflare does not say how it counts; this reading matches a
    /// user's published arithmetic (896 × 1600 = 8 tiles).
    #[default]
    Cover,
    /// Fractional tiles by area: `width × height / tile²`, so 1024 × 768 is 3 tiles.
    Area,
}

impl TileCount {
    /// Tiles of `tile_px` × `tile_px` billed for a `width` × `height` image, exact.
    pub fn tiles(self, width: u32, height: u32, tile_px: u32) -> Decimal {
        let px = u64::from(tile_px.max(1));
        match self {
            TileCount::Cover => {
                Decimal::from(u64::from(width).div_ceil(px) * u64::from(height).div_ceil(px))
            }
            TileCount::Area => {
                Decimal::from(u64::from(width) * u64::from(height)) / Decimal::from(px * px)
            }
        }
    }
}

/// The steps a step-priced rule assumes and allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepRange {
    /// Steps a request gets when it does not ask for a number.
    pub default_steps: u32,
    /// Fewest steps allowed.
    pub min_steps: u32,
    /// Most steps allowed.
    pub max_steps: u32,
}

impl StepRange {
    /// The steps a request with `asked` steps is billed for.
    pub fn steps(&self, asked: Option<u32>) -> u32 {
        asked.unwrap_or(self.default_steps)
    }
    /// True when `steps` is within the range.
    pub fn allows(&self, steps: u32) -> bool {
        (self.min_steps..=self.max_steps).contains(&steps)
    }
}

/// A published pricing rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PriceRule {
    /// FLUX.2: first megapixel, then each extra; inputs per megapixel [USD].
    PerMpFirstExtra {
        /// Price of the first output megapixel [USD].
        first_mp_usd: Usd,
        /// Price of each extra output megapixel [USD].
        extra_mp_usd: Usd,
        /// Price of each input megapixel [USD].
        input_mp_usd: Usd,
        /// Rounding of megapixels.
        mp_rounding: MpRounding,
    },
    /// A flat rate per megapixel [USD/MP].
    PerMp {
        /// Price per output megapixel [USD].
        mp_usd: Usd,
        /// Price per input megapixel [USD].
        input_mp_usd: Usd,
        /// Rounding of megapixels.
        mp_rounding: MpRounding,
    },
    /// A flat price per image [USD].
    PerImage {
        /// Price per generated image [USD].
        image_usd: Usd,
        /// Price per input image [USD].
        input_image_usd: Usd,
    },
    /// Billed GPU time: `seconds = overhead + steps × seconds per step`, scaled by resolution.
    PerGpuSecond {
        /// Price of a GPU-second [USD].
        gpu_second_usd: Usd,
        /// The card's average cost of a 1 MP image at `default_steps` [USD].
        reference_image_usd: Usd,
        /// Share of the reference time that does not depend on the number of steps.
        fixed_share: Decimal,
        /// Steps the reference cost assumes, and those allowed.
        #[serde(flatten)]
        steps: StepRange,
    },
    /// A price per denoising step, whatever the size (Fireworks): `steps × step_usd`.
    PerStep {
        /// Price of one step [USD].
        step_usd: Usd,
        /// Steps billed when a request does not say, and those allowed.
        #[serde(flatten)]
        steps: StepRange,
    },
    /// A price per output megapixel per step (DeepInfra): `mp × steps × mp_step_usd`.
    PerMpStep {
        /// Price of one megapixel for one step [USD].
        mp_step_usd: Usd,
        /// Rounding of megapixels.
        mp_rounding: MpRounding,
        /// Steps billed when a request does not say, and those allowed.
        #[serde(flatten)]
        steps: StepRange,
    },
    /// Square tiles of output and input, each with a flat part and a per-step part, plus a
    /// per-step part for the image (Cloudflare Workers AI):
    /// `out_tiles × (tile_usd + steps × tile_step_usd) + steps × step_usd
    ///  + in_tiles × (input_tile_usd + steps × input_tile_step_usd)`.
    PerTile {
        /// Side of a tile [px].
        tile_px: u32,
        /// How pixels become tiles.
        tile_count: TileCount,
        /// Price of an output tile [USD].
        tile_usd: Usd,
        /// Price of an output tile for one step [USD].
        tile_step_usd: Usd,
        /// Price of one step of the image, whatever its size [USD].
        step_usd: Usd,
        /// Price of an input tile [USD].
        input_tile_usd: Usd,
        /// Price of an input tile for one step [USD].
        input_tile_step_usd: Usd,
        /// Steps billed and allowed, when the price has a per-step part.
        #[serde(flatten)]
        steps: Option<StepRange>,
    },
}

impl PriceRule {
    /// The rule's name as written in the catalogue.
    pub fn name(&self) -> &'static str {
        match self {
            PriceRule::PerMpFirstExtra { .. } => "per_mp_first_extra",
            PriceRule::PerMp { .. } => "per_mp",
            PriceRule::PerImage { .. } => "per_image",
            PriceRule::PerGpuSecond { .. } => "per_gpu_second",
            PriceRule::PerStep { .. } => "per_step",
            PriceRule::PerMpStep { .. } => "per_mp_step",
            PriceRule::PerTile { .. } => "per_tile",
        }
    }
    /// The steps the price depends on, for rules that price by steps.
    pub fn steps(&self) -> Option<&StepRange> {
        match self {
            PriceRule::PerGpuSecond { steps, .. }
            | PriceRule::PerStep { steps, .. }
            | PriceRule::PerMpStep { steps, .. } => Some(steps),
            PriceRule::PerTile { steps, .. } => steps.as_ref(),
            PriceRule::PerMpFirstExtra { .. }
            | PriceRule::PerMp { .. }
            | PriceRule::PerImage { .. } => None,
        }
    }
    /// The headline price in a few words: `$0.014 first MP + $0.001/extra MP`.
    pub fn headline(&self) -> String {
        use crate::money::format_usd as f;
        // Step and tile rates are small and published to many places: shown as written.
        use crate::pricing::format_usd_exact as x;
        // A catalogue may carry any decimal; a product too large to hold is shown, not a panic.
        let shown = |v: Option<Usd>| v.map_or_else(|| "too large to show".to_string(), x);
        match self {
            PriceRule::PerMpFirstExtra {
                first_mp_usd,
                extra_mp_usd,
                ..
            } => {
                format!(
                    "{} first MP + {}/extra MP",
                    f(*first_mp_usd),
                    f(*extra_mp_usd)
                )
            }
            PriceRule::PerMp { mp_usd, .. } => format!("{}/MP", f(*mp_usd)),
            PriceRule::PerImage { image_usd, .. } => format!("{}/image", f(*image_usd)),
            PriceRule::PerGpuSecond {
                gpu_second_usd,
                reference_image_usd,
                steps,
                ..
            } => {
                format!(
                    "{}/GPU-s (≈{} at {} steps)",
                    f(*gpu_second_usd),
                    f(*reference_image_usd),
                    steps.default_steps
                )
            }
            PriceRule::PerStep { step_usd, steps } => format!(
                "{}/step ({} at {})",
                x(*step_usd),
                shown(step_usd.checked_mul(Decimal::from(steps.default_steps))),
                step_count(steps.default_steps)
            ),
            PriceRule::PerMpStep {
                mp_step_usd, steps, ..
            } => format!(
                "{}/MP/step ({} for 1 MP at {})",
                x(*mp_step_usd),
                shown(mp_step_usd.checked_mul(Decimal::from(steps.default_steps))),
                step_count(steps.default_steps)
            ),
            PriceRule::PerTile {
                tile_px,
                tile_count,
                tile_usd,
                tile_step_usd,
                step_usd,
                steps,
                ..
            } => {
                let mut parts = Vec::new();
                if !tile_usd.is_zero() {
                    parts.push(format!("{}/tile", x(*tile_usd)));
                }
                if !tile_step_usd.is_zero() {
                    parts.push(format!("{}/tile/step", x(*tile_step_usd)));
                }
                if !step_usd.is_zero() {
                    parts.push(format!("{}/step", x(*step_usd)));
                }
                if parts.is_empty() {
                    parts.push(format!("{}/tile", x(Usd::ZERO)));
                }
                // What a 1 MP text-to-image costs, so tiled prices read against per-MP ones.
                let s = Decimal::from(steps.map_or(0, |r| r.default_steps));
                let tiles = tile_count.tiles(1024, 1024, *tile_px);
                let one_mp = s
                    .checked_mul(*tile_step_usd)
                    .and_then(|v| v.checked_add(*tile_usd))
                    .and_then(|v| v.checked_mul(tiles))
                    .and_then(|v| v.checked_add(s.checked_mul(*step_usd)?));
                let at = steps.map_or(String::new(), |r| {
                    format!(" at {}", step_count(r.default_steps))
                });
                format!(
                    "{}, {tile_px} px tiles ({} for 1 MP{at})",
                    parts.join(" + "),
                    shown(one_mp)
                )
            }
        }
    }
}

/// `1 step`, `4 steps`.
fn step_count(n: u32) -> String {
    format!("{n} step{}", if n == 1 { "" } else { "s" })
}

/// A price in force from a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatedPrice {
    /// The rule and its figures.
    #[serde(flatten)]
    pub rule: PriceRule,
    /// Where the price comes from and when.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// A hosted offering of one model by one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiOffering {
    /// `<provider>/<model>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Who hosts it.
    pub provider: String,
    /// The self-host profile serving the same weights, if any.
    pub open_model: Option<String>,
    /// Largest output [megapixels].
    pub max_mp: Option<f64>,
    /// Width and height must be multiples of this [px].
    pub size_multiple_px: Option<u32>,
    /// Smallest side [px].
    pub min_side_px: Option<u32>,
    /// Most input images per request.
    pub max_input_images: Option<u32>,
    /// Concurrent requests allowed.
    pub concurrency: Option<u32>,
    /// Caveats.
    pub note: Option<String>,
    /// Prices, oldest first.
    pub prices: Vec<DatedPrice>,
}

impl ApiOffering {
    /// What work it does, to find other offerings of the same model: the open model it
    /// serves when it has one (`flux-2-klein-4b`), else its id without the provider
    /// (`flux-2-pro` for `bfl/flux-2-pro` and `fal/flux-2-pro`).
    pub fn model_key(&self) -> &str {
        match &self.open_model {
            Some(m) => m,
            None => self.id.split_once('/').map(|(_, m)| m).unwrap_or(&self.id),
        }
    }

    /// The price in force on `date` (the newest price when `None`).
    pub fn price_on(&self, date: Option<NaiveDate>) -> Option<&DatedPrice> {
        match date {
            None => self.prices.last(),
            Some(d) => self.prices.iter().rev().find(|p| p.provenance.as_of <= d),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    name: String,
    provider: String,
    open_model: Option<String>,
    max_mp: Option<f64>,
    size_multiple_px: Option<u32>,
    min_side_px: Option<u32>,
    max_input_images: Option<u32>,
    concurrency: Option<u32>,
    note: Option<String>,
    #[serde(default)]
    price: Vec<RawPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    rule: String,
    #[serde(default, deserialize_with = "de_usd_opt")]
    first_mp_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    extra_mp_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    input_mp_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    mp_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    image_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    input_image_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    gpu_second_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    reference_image_usd: Option<Usd>,
    default_steps: Option<u32>,
    fixed_share: Option<f64>,
    min_steps: Option<u32>,
    max_steps: Option<u32>,
    mp_rounding: Option<MpRounding>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    step_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    mp_step_usd: Option<Usd>,
    tile_px: Option<u32>,
    tile_count: Option<TileCount>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    tile_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    tile_step_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    input_tile_usd: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    input_tile_step_usd: Option<Usd>,
    source: String,
    as_of: NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

const RULES: [&str; 7] = [
    "per_mp_first_extra",
    "per_mp",
    "per_image",
    "per_gpu_second",
    "per_step",
    "per_mp_step",
    "per_tile",
];

/// The side of a Cloudflare tile, the only tiled price published so far [px].
const DEFAULT_TILE_PX: u32 = 512;

pub(super) fn parse(id: &str, text: &str) -> Result<ApiOffering, Problems> {
    let (raw, parsed) = parse_toml::<RawApi>(text)?;
    let mut problems = Problems::default();
    if raw.price.is_empty() {
        problems.push(
            "price",
            "no [[price]] entries; expected at least one dated price",
        );
    }
    if let Some(mp) = raw.max_mp {
        if !(mp.is_finite() && mp > 0.0) {
            problems.push(
                "max_mp",
                format!("{mp} is not a positive number of megapixels"),
            );
        }
    }
    if raw.size_multiple_px == Some(0) {
        problems.push(
            "size_multiple_px",
            "is 0; expected a positive number of pixels",
        );
    }
    if raw.concurrency == Some(0) {
        problems.push(
            "concurrency",
            "is 0; expected at least 1 concurrent request",
        );
    }
    let mut prices = Vec::new();
    for (i, p) in raw.price.into_iter().enumerate() {
        let key = format!("price[{i}]");
        let provenance = Provenance {
            source: p.source.clone(),
            as_of: p.as_of,
            assumption: p.assumption,
            note: p.note.clone(),
        };
        check_provenance(&provenance, &key, &mut problems);
        if let Some(rule) = price_rule(&p, &key, &mut problems) {
            prices.push(DatedPrice { rule, provenance });
        }
    }
    prices.sort_by_key(|p| p.provenance.as_of);
    for w in prices.windows(2) {
        if w[0].provenance.as_of == w[1].provenance.as_of {
            problems.push(
                "price",
                format!(
                    "two prices dated {}; expected one price per date",
                    w[0].provenance.as_of
                ),
            );
        }
    }
    let problems = after_parse(parsed, problems);
    problems.finish(ApiOffering {
        id: id.to_string(),
        name: raw.name,
        provider: raw.provider,
        open_model: raw.open_model,
        max_mp: raw.max_mp,
        size_multiple_px: raw.size_multiple_px,
        min_side_px: raw.min_side_px,
        max_input_images: raw.max_input_images,
        concurrency: raw.concurrency,
        note: raw.note,
        prices,
    })
}

/// Validate one raw price into a rule: required keys present, keys of other rules absent,
/// amounts not negative.
fn price_rule(p: &RawPrice, key: &str, problems: &mut Problems) -> Option<PriceRule> {
    let k = |f: &str| format!("{key}.{f}");
    let before = problems.0.len();
    let not_negative = |name: &str, x: Usd, problems: &mut Problems| -> Usd {
        if x.is_sign_negative() && !x.is_zero() {
            problems.push(
                k(name),
                format!("{x} is negative; expected a price of 0 or more"),
            );
        }
        x
    };
    let need = |name: &str, v: Option<Usd>, problems: &mut Problems| -> Usd {
        match v {
            None => {
                problems.push(k(name), format!("is missing; rule {} needs it", p.rule));
                Usd::ZERO
            }
            Some(x) => not_negative(name, x, problems),
        }
    };
    let optional = |name: &str, v: Option<Usd>, problems: &mut Problems| -> Usd {
        v.map(|x| not_negative(name, x, problems))
            .unwrap_or(Usd::ZERO)
    };
    // Keys that belong to other rules are a sign of a mix-up, not something to ignore.
    let present: Vec<(&str, bool)> = vec![
        ("first_mp_usd", p.first_mp_usd.is_some()),
        ("extra_mp_usd", p.extra_mp_usd.is_some()),
        ("input_mp_usd", p.input_mp_usd.is_some()),
        ("mp_usd", p.mp_usd.is_some()),
        ("image_usd", p.image_usd.is_some()),
        ("input_image_usd", p.input_image_usd.is_some()),
        ("gpu_second_usd", p.gpu_second_usd.is_some()),
        ("reference_image_usd", p.reference_image_usd.is_some()),
        ("fixed_share", p.fixed_share.is_some()),
        ("step_usd", p.step_usd.is_some()),
        ("mp_step_usd", p.mp_step_usd.is_some()),
        ("tile_px", p.tile_px.is_some()),
        ("tile_count", p.tile_count.is_some()),
        ("tile_usd", p.tile_usd.is_some()),
        ("tile_step_usd", p.tile_step_usd.is_some()),
        ("input_tile_usd", p.input_tile_usd.is_some()),
        ("input_tile_step_usd", p.input_tile_step_usd.is_some()),
        ("default_steps", p.default_steps.is_some()),
        ("min_steps", p.min_steps.is_some()),
        ("max_steps", p.max_steps.is_some()),
        ("mp_rounding", p.mp_rounding.is_some()),
    ];
    const STEPS: [&str; 3] = ["default_steps", "min_steps", "max_steps"];
    let allowed: Vec<&str> = match p.rule.as_str() {
        "per_mp_first_extra" => vec![
            "first_mp_usd",
            "extra_mp_usd",
            "input_mp_usd",
            "mp_rounding",
        ],
        "per_mp" => vec!["mp_usd", "input_mp_usd", "mp_rounding"],
        "per_image" => vec!["image_usd", "input_image_usd"],
        "per_gpu_second" => [
            &["gpu_second_usd", "reference_image_usd", "fixed_share"][..],
            &STEPS,
        ]
        .concat(),
        "per_step" => [&["step_usd"][..], &STEPS].concat(),
        "per_mp_step" => [&["mp_step_usd", "mp_rounding"][..], &STEPS].concat(),
        "per_tile" => [
            &[
                "tile_px",
                "tile_count",
                "tile_usd",
                "tile_step_usd",
                "step_usd",
                "input_tile_usd",
                "input_tile_step_usd",
            ][..],
            &STEPS,
        ]
        .concat(),
        other => {
            let known: Vec<String> = RULES.iter().map(|s| s.to_string()).collect();
            problems.push(
                k("rule"),
                super::unknown("pricing rule", other, known.iter()).replace(
                    "; nearest:",
                    &format!("; expected one of {}; nearest:", RULES.join(", ")),
                ),
            );
            return None;
        }
    };
    for (name, is) in &present {
        if *is && !allowed.contains(name) {
            problems.push(
                k(name),
                format!(
                    "does not belong to rule {}; its keys are {}",
                    p.rule,
                    allowed.join(", ")
                ),
            );
        }
    }
    let rounding = p.mp_rounding.unwrap_or_default();
    let rule = match p.rule.as_str() {
        "per_mp_first_extra" => {
            let first = need("first_mp_usd", p.first_mp_usd, problems);
            let extra = need("extra_mp_usd", p.extra_mp_usd, problems);
            let input = p
                .input_mp_usd
                .map(|x| not_negative("input_mp_usd", x, problems));
            PriceRule::PerMpFirstExtra {
                first_mp_usd: first,
                extra_mp_usd: extra,
                input_mp_usd: input.unwrap_or(extra),
                mp_rounding: rounding,
            }
        }
        "per_mp" => PriceRule::PerMp {
            mp_usd: need("mp_usd", p.mp_usd, problems),
            input_mp_usd: optional("input_mp_usd", p.input_mp_usd, problems),
            mp_rounding: rounding,
        },
        "per_image" => PriceRule::PerImage {
            image_usd: need("image_usd", p.image_usd, problems),
            input_image_usd: optional("input_image_usd", p.input_image_usd, problems),
        },
        "per_gpu_second" => {
            let rate = need("gpu_second_usd", p.gpu_second_usd, problems);
            let reference = need("reference_image_usd", p.reference_image_usd, problems);
            let share = match p
                .fixed_share
                .and_then(crate::money::decimal_from_toml_float)
            {
                Some(s) if s >= Decimal::ZERO && s <= Decimal::ONE => s,
                other => {
                    problems.push(
                        k("fixed_share"),
                        format!(
                            "{} is not a share; expected a number from 0 to 1",
                            other
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "missing".into())
                        ),
                    );
                    Decimal::ZERO
                }
            };
            PriceRule::PerGpuSecond {
                gpu_second_usd: rate,
                reference_image_usd: reference,
                fixed_share: share,
                steps: step_range(p, key, "the steps the reference cost assumes", problems),
            }
        }
        "per_step" => PriceRule::PerStep {
            step_usd: need("step_usd", p.step_usd, problems),
            steps: step_range(p, key, "the steps a request gets by default", problems),
        },
        "per_mp_step" => PriceRule::PerMpStep {
            mp_step_usd: need("mp_step_usd", p.mp_step_usd, problems),
            mp_rounding: rounding,
            steps: step_range(p, key, "the steps a request gets by default", problems),
        },
        _ => {
            let tile_px = match p.tile_px {
                Some(0) => {
                    problems.push(
                        k("tile_px"),
                        "is 0; expected the side of a tile in pixels, like 512",
                    );
                    1
                }
                Some(px) => px,
                None => DEFAULT_TILE_PX,
            };
            if p.tile_usd.is_none() && p.tile_step_usd.is_none() {
                problems.push(
                    k("tile_usd"),
                    "is missing; rule per_tile needs tile_usd or tile_step_usd (or both) to price the output",
                );
            }
            let per_step = [p.tile_step_usd, p.step_usd, p.input_tile_step_usd]
                .iter()
                .any(Option::is_some);
            let steps = if per_step {
                Some(step_range(
                    p,
                    key,
                    "the steps a request gets by default",
                    problems,
                ))
            } else {
                for name in STEPS {
                    if present.iter().any(|(n, is)| *n == name && *is) {
                        problems.push(k(name), "does not apply: this per_tile price has no per-step part (tile_step_usd, step_usd, input_tile_step_usd), so steps do not change it");
                    }
                }
                None
            };
            PriceRule::PerTile {
                tile_px,
                tile_count: p.tile_count.unwrap_or_default(),
                tile_usd: optional("tile_usd", p.tile_usd, problems),
                tile_step_usd: optional("tile_step_usd", p.tile_step_usd, problems),
                step_usd: optional("step_usd", p.step_usd, problems),
                input_tile_usd: optional("input_tile_usd", p.input_tile_usd, problems),
                input_tile_step_usd: optional(
                    "input_tile_step_usd",
                    p.input_tile_step_usd,
                    problems,
                ),
                steps,
            }
        }
    };
    (problems.0.len() == before).then_some(rule)
}

/// The steps of a step-priced rule: `default_steps` required, `min_steps` 1 and `max_steps`
/// `default_steps` unless given, and `min_steps <= default_steps <= max_steps`.
fn step_range(p: &RawPrice, key: &str, what: &str, problems: &mut Problems) -> StepRange {
    let k = |f: &str| format!("{key}.{f}");
    let default_steps = match p.default_steps {
        Some(0) | None => {
            problems.push(
                k("default_steps"),
                format!("is missing or 0; rule {} needs {what}, 1 or more", p.rule),
            );
            1
        }
        Some(s) => s,
    };
    if p.min_steps == Some(0) {
        problems.push(k("min_steps"), "is 0; expected at least 1 step");
    }
    let min_steps = p.min_steps.unwrap_or(1).max(1);
    let max_steps = p.max_steps.unwrap_or(default_steps.max(min_steps));
    if min_steps > max_steps || default_steps < min_steps || default_steps > max_steps {
        problems.push(
            k("default_steps"),
            format!("steps must satisfy min_steps ({min_steps}) <= default_steps ({default_steps}) <= max_steps ({max_steps})"),
        );
    }
    StepRange {
        default_steps,
        min_steps,
        max_steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn tiles_cover_or_divide_the_area() {
        assert_eq!(TileCount::Cover.tiles(1024, 768, 512), dec!(4));
        assert_eq!(TileCount::Cover.tiles(1, 1, 512), dec!(1));
        assert_eq!(TileCount::Cover.tiles(65536, 65536, 1), dec!(4294967296));
        assert_eq!(TileCount::Area.tiles(1024, 768, 512), dec!(3));
        assert_eq!(TileCount::Area.tiles(256, 512, 512), dec!(0.5));
    }

    #[test]
    fn step_ranges_bill_the_default_and_bound_requests() {
        let r = StepRange {
            default_steps: 4,
            min_steps: 1,
            max_steps: 8,
        };
        assert_eq!((r.steps(None), r.steps(Some(7))), (4, 7));
        assert!(r.allows(1) && r.allows(8) && !r.allows(0) && !r.allows(9));
    }

    #[test]
    fn headlines_name_each_part_and_a_1_mp_example() {
        let steps = StepRange {
            default_steps: 4,
            min_steps: 1,
            max_steps: 8,
        };
        let tile = |tile_usd, tile_step_usd, step_usd, steps| PriceRule::PerTile {
            tile_px: 512,
            tile_count: TileCount::Cover,
            tile_usd,
            tile_step_usd,
            step_usd,
            input_tile_usd: Usd::ZERO,
            input_tile_step_usd: Usd::ZERO,
            steps,
        };
        assert_eq!(
            tile(dec!(0.0000528), Usd::ZERO, dec!(0.0001056), Some(steps)).headline(),
            "$0.0000528/tile + $0.0001056/step, 512 px tiles ($0.0006336 for 1 MP at 4 steps)"
        );
        assert_eq!(
            tile(dec!(0.00028655), Usd::ZERO, Usd::ZERO, None).headline(),
            "$0.00028655/tile, 512 px tiles ($0.0011462 for 1 MP)"
        );
        assert_eq!(
            PriceRule::PerStep {
                step_usd: dec!(0.00035),
                steps
            }
            .headline(),
            "$0.00035/step ($0.0014 at 4 steps)"
        );
        assert_eq!(
            PriceRule::PerMpStep {
                mp_step_usd: dec!(0.0005),
                mp_rounding: MpRounding::Exact,
                steps: StepRange {
                    default_steps: 1,
                    ..steps
                }
            }
            .headline(),
            "$0.0005/MP/step ($0.0005 for 1 MP at 1 step)"
        );
    }
}
