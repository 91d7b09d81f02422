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
        /// Steps the reference cost assumes.
        default_steps: u32,
        /// Share of the reference time that does not depend on the number of steps.
        fixed_share: Decimal,
        /// Fewest steps allowed.
        min_steps: u32,
        /// Most steps allowed.
        max_steps: u32,
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
        }
    }
    /// The headline price in a few words: `$0.014 first MP + $0.001/extra MP`.
    pub fn headline(&self) -> String {
        use crate::money::format_usd as f;
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
                default_steps,
                ..
            } => {
                format!(
                    "{}/GPU-s (≈{} at {} steps)",
                    f(*gpu_second_usd),
                    f(*reference_image_usd),
                    default_steps
                )
            }
        }
    }
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
    source: String,
    as_of: NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

const RULES: [&str; 4] = [
    "per_mp_first_extra",
    "per_mp",
    "per_image",
    "per_gpu_second",
];

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
    let need = |name: &str, v: Option<Usd>, problems: &mut Problems| -> Usd {
        match v {
            None => {
                problems.push(k(name), format!("is missing; rule {} needs it", p.rule));
                Usd::ZERO
            }
            Some(x) if x.is_sign_negative() => {
                problems.push(
                    k(name),
                    format!("{x} is negative; expected a price of 0 or more"),
                );
                x
            }
            Some(x) => x,
        }
    };
    let optional = |name: &str, v: Option<Usd>, problems: &mut Problems| {
        if let Some(x) = v {
            if x.is_sign_negative() {
                problems.push(
                    k(name),
                    format!("{x} is negative; expected a price of 0 or more"),
                );
            }
        }
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
        ("default_steps", p.default_steps.is_some()),
        ("fixed_share", p.fixed_share.is_some()),
        ("min_steps", p.min_steps.is_some()),
        ("max_steps", p.max_steps.is_some()),
        ("mp_rounding", p.mp_rounding.is_some()),
    ];
    let allowed: &[&str] = match p.rule.as_str() {
        "per_mp_first_extra" => &[
            "first_mp_usd",
            "extra_mp_usd",
            "input_mp_usd",
            "mp_rounding",
        ],
        "per_mp" => &["mp_usd", "input_mp_usd", "mp_rounding"],
        "per_image" => &["image_usd", "input_image_usd"],
        "per_gpu_second" => &[
            "gpu_second_usd",
            "reference_image_usd",
            "default_steps",
            "fixed_share",
            "min_steps",
            "max_steps",
        ],
        other => {
            let known: Vec<String> = RULES.iter().map(|s| s.to_string()).collect();
            problems.push(k("rule"), super::unknown("pricing rule", other, known.iter()).replace("; nearest:", "; expected one of per_mp_first_extra, per_mp, per_image, per_gpu_second; nearest:"));
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
            optional("input_mp_usd", p.input_mp_usd, problems);
            PriceRule::PerMpFirstExtra {
                first_mp_usd: first,
                extra_mp_usd: extra,
                input_mp_usd: p.input_mp_usd.unwrap_or(extra),
                mp_rounding: rounding,
            }
        }
        "per_mp" => {
            let mp = need("mp_usd", p.mp_usd, problems);
            optional("input_mp_usd", p.input_mp_usd, problems);
            PriceRule::PerMp {
                mp_usd: mp,
                input_mp_usd: p.input_mp_usd.unwrap_or(Usd::ZERO),
                mp_rounding: rounding,
            }
        }
        "per_image" => {
            let img = need("image_usd", p.image_usd, problems);
            optional("input_image_usd", p.input_image_usd, problems);
            PriceRule::PerImage {
                image_usd: img,
                input_image_usd: p.input_image_usd.unwrap_or(Usd::ZERO),
            }
        }
        _ => {
            let rate = need("gpu_second_usd", p.gpu_second_usd, problems);
            let reference = need("reference_image_usd", p.reference_image_usd, problems);
            let steps = match p.default_steps {
                Some(0) | None => {
                    problems.push(
                        k("default_steps"),
                        "is missing or 0; expected the steps the reference cost assumes",
                    );
                    1
                }
                Some(s) => s,
            };
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
            let min_steps = p.min_steps.unwrap_or(1).max(1);
            let max_steps = p.max_steps.unwrap_or(steps.max(min_steps));
            if min_steps > max_steps || steps < min_steps || steps > max_steps {
                problems.push(k("default_steps"), format!("steps must satisfy min_steps ({min_steps}) <= default_steps ({steps}) <= max_steps ({max_steps})"));
            }
            PriceRule::PerGpuSecond {
                gpu_second_usd: rate,
                reference_image_usd: reference,
                default_steps: steps,
                fixed_share: share,
                min_steps,
                max_steps,
            }
        }
    };
    (problems.0.len() == before).then_some(rule)
}
