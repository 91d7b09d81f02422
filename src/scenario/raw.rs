//! The scenario file as written: serde structures that reject unknown keys, before any check.

use super::*;

// Raw file format.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) horizon_months: u32,
    pub(super) start_month: Option<u32>,
    pub(super) as_of: Option<NaiveDate>,
    pub(super) samples: Option<u64>,
    pub(super) seed: Option<u64>,
    pub(super) serving: Option<Serving>,
    pub(super) demand: RawDemand,
    #[serde(default)]
    pub(super) mix: Vec<RawBucket>,
    #[serde(default)]
    pub(super) stage: Vec<RawStage>,
    #[serde(default)]
    pub(super) option: Vec<RawOption>,
    #[serde(default)]
    pub(super) correlations: Vec<(String, String, f64)>,
    pub(super) market: Option<RawMarket>,
    pub(super) discount_rate_per_year: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMarket {
    pub(super) compare: Option<RawCompare>,
    #[serde(default)]
    pub(super) substitutes: Vec<String>,
    pub(super) api_price_drift: Option<RawDist>,
    pub(super) gpu_price_drift: Option<RawDist>,
    #[serde(default)]
    pub(super) price_change: Vec<RawPriceChange>,
}

/// Which hosted offerings a run compares.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawCompare {
    /// Every offering of the scenario's models.
    All,
    /// Only the API options the file names.
    Named,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriceChange {
    pub(super) api: Option<String>,
    pub(super) gpu: Option<String>,
    pub(super) from_month: u32,
    pub(super) factor: f64,
    #[serde(default)]
    pub(super) note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDemand {
    pub(super) monthly: RawDist,
    pub(super) growth: Option<RawDist>,
    pub(super) seasonality: Option<Vec<f64>>,
    pub(super) profile: Option<RawProfile>,
    pub(super) normalise: Option<Normalise>,
    pub(super) arrivals: Option<Arrivals>,
    pub(super) burstiness: Option<f64>,
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "expected a weekly profile name such as \"business-hours\", or a table { hour_of_day = [24 numbers], day_of_week = [7 numbers] }"
)]
pub(super) enum RawProfile {
    Named(String),
    Custom {
        hour_of_day: Vec<f64>,
        day_of_week: Vec<f64>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBucket {
    pub(super) name: Option<String>,
    pub(super) size: Option<String>,
    pub(super) mp: Option<f64>,
    pub(super) share: f64,
    #[serde(default)]
    pub(super) inputs: u32,
    pub(super) input_size: Option<String>,
    pub(super) steps: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub(super) name: String,
    pub(super) per_asset: f64,
    pub(super) size: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOption {
    pub(super) id: String,
    pub(super) api: Option<String>,
    pub(super) price_factor: Option<RawDist>,
    pub(super) selfhost: Option<String>,
    pub(super) gpu: Option<String>,
    pub(super) offer: Option<String>,
    pub(super) payment: Option<RawPayment>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) usd_per_hour: Option<Usd>,
    pub(super) gpu_price_factor: Option<RawDist>,
    pub(super) price_drift: Option<RawDist>,
    pub(super) setup_usd: Option<RawDist>,
    pub(super) commitment_months: Option<u32>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) commitment_exit_usd: Option<Usd>,
    pub(super) fleet: Option<RawFleet>,
    pub(super) overflow: Option<String>,
    pub(super) max_queue_seconds: Option<f64>,
    pub(super) licence: Option<String>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) licence_fee_usd: Option<Usd>,
    pub(super) ops_hours_per_month: Option<RawDist>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) ops_usd_per_hour: Option<Usd>,
    pub(super) speed_factor: Option<RawDist>,
    pub(super) seconds_at_1mp: Option<f64>,
    pub(super) bucket_seconds: Option<Vec<f64>>,
    pub(super) interruption_lost_seconds: Option<f64>,
    pub(super) interruptions_per_hour: Option<f64>,
    pub(super) cold_start_seconds: Option<f64>,
    pub(super) idle_timeout_seconds: Option<f64>,
    pub(super) owned: Option<RawOwned>,
    pub(super) serving: Option<Serving>,
    pub(super) gpus_per_replica: Option<u32>,
    pub(super) replicas_per_gpu: Option<u32>,
    pub(super) max_batch: Option<u32>,
    #[serde(default)]
    pub(super) stages: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    pub(super) policy: RawPolicy,
    pub(super) gpus: Option<u32>,
    pub(super) min: Option<u32>,
    pub(super) max: Option<u32>,
    pub(super) target_utilisation: Option<f64>,
    pub(super) scale_up_delay_minutes: Option<f64>,
    pub(super) min_billed_hours: Option<u32>,
    pub(super) max_workers: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOwned {
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) purchase_usd: Option<Usd>,
    pub(super) amortise_months: Option<u32>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) system_usd: Option<Usd>,
    pub(super) residual_share: Option<RawDist>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) usd_per_kwh: Option<Usd>,
    pub(super) pue: Option<f64>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    pub(super) hosting_usd_per_month: Option<Usd>,
    pub(super) idle_power_share: Option<f64>,
}

/// Electricity price used when an owned option names none: the US figure TCO posts use
/// (workflowlab.dev self-hosted TCO, 2026-05).
pub const DEFAULT_USD_PER_KWH: &str = "0.12";

/// A fleet policy as written.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawPolicy {
    Fixed,
    Autoscaled,
    Serverless,
}

/// A payment as written.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawPayment {
    OnDemand,
    Reserved,
    Spot,
    Serverless,
    Owned,
}

impl RawPayment {
    /// As written in the file.
    pub(super) fn name(self) -> &'static str {
        match self {
            RawPayment::OnDemand => "on-demand",
            RawPayment::Reserved => "reserved",
            RawPayment::Spot => "spot",
            RawPayment::Serverless => "serverless",
            RawPayment::Owned => "owned",
        }
    }
}
