//! GPUs: what they hold, what they draw, what they cost to buy, and where to rent them.

use super::{after_parse, check_provenance, parse_toml, Provenance};
use crate::error::Problems;
use crate::money::{de_usd, de_usd_opt, Usd};
use serde::{Deserialize, Serialize};

/// How an offer is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferClass {
    /// Billed per hour, no commitment.
    OnDemand,
    /// A provider's premium on-demand tier (RunPod "secure cloud").
    Secure,
    /// Community or marketplace capacity: cheaper, can go away.
    Community,
    /// Interruptible capacity.
    Spot,
    /// Committed for months at a lower hourly rate.
    Reserved,
    /// Billed per second of worker time.
    Serverless,
}

impl OfferClass {
    /// The name as written in the catalogue.
    pub fn name(self) -> &'static str {
        match self {
            OfferClass::OnDemand => "on-demand",
            OfferClass::Secure => "secure",
            OfferClass::Community => "community",
            OfferClass::Spot => "spot",
            OfferClass::Reserved => "reserved",
            OfferClass::Serverless => "serverless",
        }
    }
}

/// A way to rent the GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    /// Unique within the GPU (`runpod-community`).
    pub id: String,
    /// Who rents it out.
    pub provider: String,
    /// How it is paid.
    pub class: OfferClass,
    /// Hourly price [USD/hour], for every class but serverless.
    pub usd_per_hour: Option<Usd>,
    /// Per-second price [USD/s], serverless only.
    pub usd_per_second: Option<Usd>,
    /// Serverless bills in whole increments of this [s].
    pub billing_increment_seconds: Option<u32>,
    /// Time to start a worker, billed [s].
    pub cold_start_seconds: Option<f64>,
    /// A serverless worker stays up (billed) this long after its last request [s].
    pub idle_timeout_seconds: Option<f64>,
    /// Interruptions of spot or community capacity [per GPU-hour].
    pub interruptions_per_hour: Option<f64>,
    /// Minimum commitment of reserved capacity [months].
    pub commitment_months: Option<u32>,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// The purchase price of one card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    /// Price of one GPU [USD].
    #[serde(deserialize_with = "de_usd")]
    pub usd: Usd,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// A GPU model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gpu {
    /// `h100-sxm`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Memory [GB].
    pub memory_gb: f64,
    /// Board power [W].
    pub power_watts: f64,
    /// Dense BF16 peak [TFLOPS], when known.
    pub bf16_tflops: Option<f64>,
    /// Buying one.
    pub purchase: Option<Purchase>,
    /// Renting one.
    pub offers: Vec<Offer>,
    /// Set for a consumer (GeForce) card, whose driver licence does not allow datacentre
    /// deployment (NVIDIA GeForce driver licence §2.1.3, "No Datacenter Deployment"): where
    /// the rule comes from. Cloud marketplaces rent such cards nonetheless; a plan should say so.
    pub consumer: Option<Provenance>,
    /// What a used card fetches by age, when a source gives it.
    pub resale: Option<Resale>,
}

/// Resale value by age: a share of the purchase price after 1, 2, … years, as a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resale {
    /// Low end of the share after each whole year, from year 1.
    pub low: Vec<f64>,
    /// High end likewise.
    pub high: Vec<f64>,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl Resale {
    /// The low and high share after `months` of age, linear between whole years from a new
    /// card's full price at age 0, and flat past the last year given.
    pub fn share_at(&self, months: u32) -> (f64, f64) {
        let at = |v: &[f64]| {
            let y = months as f64 / 12.0;
            let k = y.floor() as usize;
            let point = |i: usize| {
                if i == 0 {
                    1.0
                } else {
                    v[(i - 1).min(v.len() - 1)]
                }
            };
            if k >= v.len() {
                return v[v.len() - 1];
            }
            let t = y - k as f64;
            point(k) + t * (point(k + 1) - point(k))
        };
        (at(&self.low), at(&self.high))
    }
}

impl Gpu {
    /// True for a consumer card that its driver licence keeps out of datacentres.
    pub fn is_consumer(&self) -> bool {
        self.consumer.is_some()
    }
    /// The offer `id`.
    pub fn offer(&self, id: &str) -> Option<&Offer> {
        self.offers.iter().find(|o| o.id == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpu {
    name: String,
    memory_gb: f64,
    power_watts: f64,
    bf16_tflops: Option<f64>,
    purchase: Option<RawPurchase>,
    #[serde(default)]
    offer: Vec<RawOffer>,
    consumer: Option<RawConsumer>,
    resale: Option<RawResale>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResale {
    low: Vec<f64>,
    high: Vec<f64>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

/// `consumer = { source = "…", as_of = "…" }`: the licence term that makes a card consumer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    source: String,
    as_of: chrono::NaiveDate,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurchase {
    #[serde(deserialize_with = "de_usd")]
    usd: Usd,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffer {
    id: String,
    provider: String,
    class: OfferClass,
    #[serde(default, deserialize_with = "de_usd_opt")]
    usd_per_hour: Option<Usd>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    usd_per_second: Option<Usd>,
    billing_increment_seconds: Option<u32>,
    cold_start_seconds: Option<f64>,
    idle_timeout_seconds: Option<f64>,
    interruptions_per_hour: Option<f64>,
    commitment_months: Option<u32>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

fn positive(x: f64, key: &str, unit: &str, problems: &mut Problems) {
    if !(x.is_finite() && x > 0.0) {
        problems.push(
            key,
            format!("{x} is not a positive number; expected {unit} > 0"),
        );
    }
}

fn non_negative(x: Option<f64>, key: &str, unit: &str, problems: &mut Problems) {
    if let Some(x) = x {
        if !(x.is_finite() && x >= 0.0) {
            problems.push(key, format!("{x} is not a number of {unit} >= 0"));
        }
    }
}

/// A figure the engine multiplies by fleet sizes and hours: bounded as a scenario's own
/// override of it is, so no product leaves the range of exact totals.
fn at_most(x: Option<f64>, hi: f64, key: &str, unit: &str, problems: &mut Problems) {
    if let Some(x) = x.filter(|x| x.is_finite() && *x > hi) {
        problems.push(
            key,
            format!("{x} is out of range; expected at most {hi} {unit}"),
        );
    }
}

pub(super) fn parse(id: &str, text: &str) -> Result<Gpu, Problems> {
    let (raw, parsed) = parse_toml::<RawGpu>(text)?;
    let _ = raw.note;
    let mut problems = Problems::default();
    positive(raw.memory_gb, "memory_gb", "GB", &mut problems);
    positive(raw.power_watts, "power_watts", "watts", &mut problems);
    at_most(
        Some(raw.power_watts),
        100_000.0,
        "power_watts",
        "watts a gpu",
        &mut problems,
    );
    at_most(
        Some(raw.memory_gb),
        100_000.0,
        "memory_gb",
        "GB",
        &mut problems,
    );
    if let Some(t) = raw.bf16_tflops {
        positive(t, "bf16_tflops", "TFLOPS", &mut problems);
    }
    let purchase = raw.purchase.map(|p| {
        if p.usd <= Usd::ZERO {
            problems.push("purchase.usd", format!("{} is not a positive price", p.usd));
        }
        let purchase = Purchase {
            usd: p.usd,
            provenance: Provenance {
                source: p.source,
                as_of: p.as_of,
                assumption: p.assumption,
                note: p.note,
            },
        };
        check_provenance(&purchase.provenance, "purchase", &mut problems);
        purchase
    });
    let mut offers = Vec::new();
    for (i, o) in raw.offer.into_iter().enumerate() {
        let key = format!("offer[{i}]");
        let k = |f: &str| format!("{key}.{f}");
        if let Some(why) = crate::names::id_problem(&o.id) {
            problems.push(k("id"), why);
        }
        at_most(
            o.cold_start_seconds,
            3_600.0,
            &k("cold_start_seconds"),
            "seconds",
            &mut problems,
        );
        at_most(
            o.idle_timeout_seconds,
            86_400.0,
            &k("idle_timeout_seconds"),
            "seconds",
            &mut problems,
        );
        at_most(
            o.interruptions_per_hour,
            60.0,
            &k("interruptions_per_hour"),
            "interruptions per hour",
            &mut problems,
        );
        at_most(
            o.billing_increment_seconds.map(f64::from),
            3_600.0,
            &k("billing_increment_seconds"),
            "seconds",
            &mut problems,
        );
        if offers.iter().any(|x: &Offer| x.id == o.id) {
            problems.push(
                k("id"),
                format!(
                    "\"{}\" is used twice; expected ids unique within the gpu",
                    o.id
                ),
            );
        }
        let serverless = o.class == OfferClass::Serverless;
        match (serverless, o.usd_per_hour, o.usd_per_second) {
            (true, _, None) => problems.push(
                k("usd_per_second"),
                "is missing; a serverless offer is priced per second",
            ),
            (true, Some(_), _) => problems.push(
                k("usd_per_hour"),
                "does not belong to a serverless offer; use usd_per_second",
            ),
            (false, None, _) => problems.push(
                k("usd_per_hour"),
                format!("is missing; a {} offer is priced per hour", o.class.name()),
            ),
            (false, _, Some(_)) => problems.push(
                k("usd_per_second"),
                "belongs only to serverless offers; use usd_per_hour",
            ),
            _ => {}
        }
        for (name, v) in [
            ("usd_per_hour", o.usd_per_hour),
            ("usd_per_second", o.usd_per_second),
        ] {
            if let Some(v) = v {
                if v <= Usd::ZERO {
                    problems.push(k(name), format!("{v} is not a positive price"));
                }
            }
        }
        if !serverless {
            for (name, present) in [
                (
                    "billing_increment_seconds",
                    o.billing_increment_seconds.is_some(),
                ),
                ("cold_start_seconds", o.cold_start_seconds.is_some()),
                ("idle_timeout_seconds", o.idle_timeout_seconds.is_some()),
            ] {
                if present {
                    problems.push(k(name), "belongs only to serverless offers");
                }
            }
        }
        if o.billing_increment_seconds == Some(0) {
            problems.push(
                k("billing_increment_seconds"),
                "is 0; expected at least 1 second",
            );
        }
        if o.class == OfferClass::Reserved && o.commitment_months.unwrap_or(0) == 0 {
            problems.push(
                k("commitment_months"),
                "is missing or 0; a reserved offer needs its commitment in months",
            );
        }
        non_negative(
            o.cold_start_seconds,
            &k("cold_start_seconds"),
            "seconds",
            &mut problems,
        );
        non_negative(
            o.idle_timeout_seconds,
            &k("idle_timeout_seconds"),
            "seconds",
            &mut problems,
        );
        non_negative(
            o.interruptions_per_hour,
            &k("interruptions_per_hour"),
            "interruptions per hour",
            &mut problems,
        );
        let provenance = Provenance {
            source: o.source,
            as_of: o.as_of,
            assumption: o.assumption,
            note: o.note,
        };
        check_provenance(&provenance, &key, &mut problems);
        offers.push(Offer {
            id: o.id,
            provider: o.provider,
            class: o.class,
            usd_per_hour: o.usd_per_hour,
            usd_per_second: o.usd_per_second,
            billing_increment_seconds: o.billing_increment_seconds,
            cold_start_seconds: o.cold_start_seconds,
            idle_timeout_seconds: o.idle_timeout_seconds,
            interruptions_per_hour: o.interruptions_per_hour,
            commitment_months: o.commitment_months,
            provenance,
        });
    }
    let consumer = raw.consumer.map(|c| {
        let provenance = Provenance {
            source: c.source,
            as_of: c.as_of,
            assumption: false,
            note: c.note,
        };
        check_provenance(&provenance, "consumer", &mut problems);
        provenance
    });
    let resale = raw.resale.map(|r| {
        let ok = |v: &[f64]| v.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x));
        if r.low.is_empty() || r.low.len() != r.high.len() || r.low.len() > 10 {
            problems.push(
                "resale",
                format!(
                    "low has {} and high {} shares; expected the same number (1 to 10), one per year of age",
                    r.low.len(),
                    r.high.len()
                ),
            );
        } else if !ok(&r.low) || !ok(&r.high) || r.low.iter().zip(&r.high).any(|(l, h)| l > h) {
            problems.push(
                "resale",
                "shares must be between 0 and 1, with low <= high each year",
            );
        } else if r.low.windows(2).any(|w| w[1] > w[0]) || r.high.windows(2).any(|w| w[1] > w[0]) {
            problems.push("resale", "shares must not grow with age");
        }
        let provenance = Provenance {
            source: r.source,
            as_of: r.as_of,
            assumption: r.assumption,
            note: r.note,
        };
        check_provenance(&provenance, "resale", &mut problems);
        Resale {
            low: r.low,
            high: r.high,
            provenance,
        }
    });
    let problems = after_parse(parsed, problems);
    problems.finish(Gpu {
        resale,
        id: id.to_string(),
        name: raw.name,
        memory_gb: raw.memory_gb,
        power_watts: raw.power_watts,
        bf16_tflops: raw.bf16_tflops,
        purchase,
        offers,
        consumer,
    })
}
