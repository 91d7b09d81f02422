//! Scenarios: what a team expects (demand, its growth and shape, the request mix, pipelines)
//! and the options it wants compared. Parsed from TOML, then validated against the catalogue
//! into typed values; every problem in a file is reported at once.
//!
//! Every uncertain number is registered as a named input (`demand.monthly`,
//! `option.self-h100.seconds_per_image`), so the engine can sample them jointly (with rank
//! correlations) and sensitivity analysis can pin them one at a time.

use crate::catalogue::{Catalogue, OfferClass};
use crate::dist::{Copula, Dist, RawDist};
use crate::error::{join_key, Error, Problems, Result};
use crate::ids::InputId;
use crate::money::{de_usd_opt, Usd};
use crate::pricing::Size;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub mod overrides;
mod raw;
mod validate;

pub use overrides::Override;

use raw::RawScenario;
pub use raw::DEFAULT_USD_PER_KWH;
use validate::validate;
pub use validate::{models_of, CHEAPEST};

/// Hours in a simulated month: 365 × 24 / 12.
pub const HOURS_PER_MONTH: usize = 730;
pub use crate::limits::{MAX_HORIZON_MONTHS, MAX_MONTHLY_IMAGES};

/// A validated scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Short name, used for the output folder (`out/<name>/`).
    pub name: String,
    /// What the scenario describes.
    pub description: String,
    /// The file it was read from.
    pub file: String,
    /// Months simulated.
    pub horizon_months: u32,
    /// Calendar month (1–12) of the first simulated month, for seasonality.
    pub start_month: u32,
    /// Prices in force on this date (newest when `None`).
    pub as_of: Option<NaiveDate>,
    /// Default number of sample paths.
    pub samples: Option<u64>,
    /// Default seed.
    pub seed: Option<u64>,
    /// Demand.
    pub demand: Demand,
    /// Resolution and editing buckets.
    pub mix: Vec<Bucket>,
    /// Pipeline stages (one `final` stage when the file has none).
    pub stages: Vec<Stage>,
    /// Options compared.
    pub options: Vec<OptionSpec>,
    /// Every uncertain input, in sampling order.
    pub inputs: Vec<NamedInput>,
    /// Rank correlations between inputs, as `(i, j, spearman)`.
    pub correlations: Vec<(InputId, InputId, f64)>,
    /// Which hosted offerings are compared, and how prices move over the horizon.
    pub market: Market,
    /// Yearly discount rate for present values (0: none).
    pub discount_rate_per_year: f64,
    /// The copula that realises them (None when there are none).
    #[serde(skip)]
    pub copula: Option<Copula>,
    /// The scenario as simulated: the file's TOML after any `--set` overrides.
    #[serde(skip)]
    pub text: String,
    /// The `--set KEY=VALUE` overrides applied to the file, in order.
    #[serde(skip)]
    pub overrides: Vec<String>,
}

/// One uncertain input.
#[derive(Debug, Clone, Serialize)]
pub struct NamedInput {
    /// Dotted name (`demand.monthly`).
    pub name: String,
    /// Its distribution.
    pub dist: Dist,
    /// Unit, for reports (`images/month`).
    pub unit: &'static str,
}

/// Demand for delivered assets.
#[derive(Debug, Clone, Serialize)]
pub struct Demand {
    /// Input index of the month-0 volume [assets/month].
    pub monthly: InputId,
    /// Input index of month-over-month growth [fraction/month].
    pub growth: InputId,
    /// Multipliers by calendar month, January first.
    pub seasonality: [f64; 12],
    /// Shape of the week.
    pub profile: WeeklyProfile,
    /// Whether each month's hours sum to its volume (`month`) or the profile has mean 1 over
    /// a week and each hour gets `volume / 730 × w(h)` (`week`).
    pub normalise: Normalise,
    /// How arrivals are drawn within an hour.
    pub arrivals: Arrivals,
    /// Coefficient of variation of a gamma multiplier on each hour's rate (bursts); 0 = Poisson.
    pub burstiness: f64,
}

/// Hour-of-week weights.
#[derive(Debug, Clone, Serialize)]
pub struct WeeklyProfile {
    /// Name, for reports.
    pub name: String,
    /// 168 weights from Monday 00:00, mean 1.
    pub weights: Vec<f64>,
}

/// See [`Demand::normalise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalise {
    /// Each month's hours sum to the month's volume.
    Month,
    /// The weekly profile has mean 1; month totals follow the calendar.
    Week,
}

/// See [`Demand::arrivals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Poisson counts per hour and bucket.
    Poisson,
    /// Expected counts, no noise (for closed-form checks).
    Fluid,
}

/// A resolution/editing bucket of the request mix.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Name for reports.
    pub name: String,
    /// Output size.
    pub size: Size,
    /// Share of requests.
    pub share: f64,
    /// Input images per request.
    pub inputs: Vec<Size>,
    /// Steps, where an option lets you choose.
    pub steps: Option<u32>,
}

/// A pipeline stage: images made per delivered asset.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Name, used by options to route the stage.
    pub name: String,
    /// Images per delivered asset (4 candidates = 4; a 10% re-roll = 0.1).
    pub per_asset: f64,
    /// Output size for this stage, overriding the bucket's.
    pub size: Option<Size>,
}

/// The market around a scenario's options: which other hosted offerings to compare, and how
/// API prices and GPU rents move over the horizon.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Market {
    /// Compare every hosted offering of the scenario's models (the default), not only the
    /// API options the file names.
    pub compare_all: bool,
    /// The API offerings the file's own options name: with `compare = "named"` the whole
    /// market. Kept apart from the options, which commands such as `plan` replace.
    pub named_apis: Vec<String>,
    /// Other models acceptable for the same work (model keys, e.g. `flux-1-schnell`).
    pub substitutes: Vec<String>,
    /// Yearly drift of every API price [share per year; −0.3 = 30% cheaper a year], unless an
    /// option has its own.
    pub api_price_drift: Option<InputId>,
    /// Yearly drift of every GPU rent [share per year], unless an option has its own.
    pub gpu_price_drift: Option<InputId>,
    /// Known changes on known months.
    pub changes: Vec<PriceChange>,
}

/// A known price change: from month `from_month` (1-based) on, the prices of `what` are
/// multiplied by `factor` (on top of any drift).
#[derive(Debug, Clone, Serialize)]
pub struct PriceChange {
    /// Whose prices.
    pub what: Mover,
    /// First month it applies to, from 1.
    pub from_month: u32,
    /// Multiplier on today's price.
    pub factor: f64,
}

/// Whose price moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Mover {
    /// An API offering's prices.
    Api(String),
    /// A GPU's rents (hourly and per-second offers; a purchase does not move).
    Gpu(String),
}

/// An option to compare.
#[derive(Debug, Clone, Serialize)]
pub struct OptionSpec {
    /// Short id, unique in the scenario.
    pub id: String,
    /// Added from the catalogue because it does the same work as an option the file names.
    pub from_market: bool,
    /// One-time cost of starting the option: integration, MLOps, load tests [USD], billed in
    /// the first month.
    pub setup_usd: Option<InputId>,
    /// What serves it.
    pub kind: OptionKind,
    /// Stages served by an API whatever the main server is: stage name → API id.
    pub stage_apis: BTreeMap<String, String>,
}

/// What serves an option's images.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptionKind {
    /// A hosted API.
    Api {
        /// Offering id.
        api: String,
        /// Input index of a multiplier on its prices (1 = the catalogue's price).
        price_factor: Option<InputId>,
        /// Its own yearly price drift (else the market's).
        price_drift: Option<InputId>,
    },
    /// A self-hosted fleet, optionally with overflow to an API.
    SelfHost(Box<SelfHost>),
}

/// A self-hosted option.
#[derive(Debug, Clone, Serialize)]
pub struct SelfHost {
    /// Speed profile id.
    pub profile: String,
    /// GPU id.
    pub gpu: String,
    /// How the GPUs are paid.
    pub payment: Payment,
    /// How many GPUs run when.
    pub fleet: FleetPolicy,
    /// Overflow to an API (hybrid).
    pub overflow: Option<Overflow>,
    /// Licence id.
    pub licence: String,
    /// Override of the licence fee [USD/month].
    pub licence_fee_usd: Option<Usd>,
    /// Input index of operations hours per month.
    pub ops_hours: InputId,
    /// True when the file sets `ops_hours_per_month` (0 is a choice; missing is a gap the
    /// table warns about).
    pub ops_given: bool,
    /// Operations rate [USD/hour].
    pub ops_usd_per_hour: Usd,
    /// Input index of a multiplier on the catalogue's seconds per image.
    pub speed_factor: InputId,
    /// Measured seconds per image for each mix bucket, replacing the catalogue's rule.
    pub bucket_seconds: Option<Vec<f64>>,
    /// Seconds per 1 MP image at default steps replacing the catalogue's.
    pub seconds_at_1mp: Option<f64>,
    /// Input index of a multiplier on the GPU's hourly or per-second price.
    pub gpu_price_factor: InputId,
    /// Its own yearly drift of the GPU rent (else the market's).
    pub gpu_price_drift: Option<InputId>,
    /// How the fleet serves an hour's requests.
    pub serving: Serving,
    /// Replicas, GPUs and batches.
    pub shape: ServingShape,
}

/// How a fleet serves the requests of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Serving {
    /// A queue of servers with Poisson arrivals (Erlang B, M/G/c with a threshold, M/G/c):
    /// overflow and waits happen below saturation too. The default.
    Queue,
    /// The fluid rule: below capacity nothing waits or overflows; above it the share 1 − C/D
    /// of the hour's images overflows (or waits in a backlog). W1's definition.
    Fluid,
}

/// How the model is laid out on the GPUs: replicas, GPUs per replica, batch size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServingShape {
    /// GPUs one replica spans (a model split across GPUs); the fleet's GPUs come in multiples.
    pub gpus_per_replica: u32,
    /// Replicas sharing one GPU (each runs at the GPU's speed divided among them).
    pub replicas_per_gpu: u32,
    /// Most images a replica runs at once.
    pub max_batch: u32,
}

impl Default for ServingShape {
    fn default() -> Self {
        ServingShape {
            gpus_per_replica: 1,
            replicas_per_gpu: 1,
            max_batch: 1,
        }
    }
}

impl ServingShape {
    /// Images in flight on one replica slot at once: replicas per GPU × batch.
    pub fn concurrency(&self) -> u32 {
        self.replicas_per_gpu * self.max_batch
    }
    /// Queue servers per GPU: each in-flight slot is a server [servers/GPU].
    pub fn servers_per_gpu(&self) -> f64 {
        self.concurrency() as f64 / self.gpus_per_replica as f64
    }
}

/// How GPUs are paid for.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "payment", rename_all = "snake_case")]
pub enum Payment {
    /// Rented by the hour (on-demand, secure, community, reserved).
    Hourly {
        /// Offer id on the GPU.
        offer: String,
        /// Price [USD/hour].
        usd_per_hour: Usd,
        /// The offer's class.
        class: OfferClass,
        /// Interruptions [per GPU-hour] (spot and community).
        interruptions_per_hour: f64,
        /// Work lost and restart time per interruption [s].
        interruption_lost_seconds: f64,
        /// A reservation's committed term [months]: billed in full, also past the horizon.
        commitment_months: Option<u32>,
        /// What it costs to resell or cancel the term left at the horizon's end (None: it is
        /// paid in full) [USD].
        commitment_exit_usd: Option<Usd>,
    },
    /// Rented by the second, workers come and go with demand.
    Serverless {
        /// Offer id.
        offer: String,
        /// Price [USD/s].
        usd_per_second: Usd,
        /// Billing increment [s].
        increment_seconds: u32,
        /// Cold start [s], billed.
        cold_start_seconds: f64,
        /// Idle time billed before a worker stops [s].
        idle_timeout_seconds: f64,
    },
    /// Bought outright.
    Owned {
        /// Purchase price per GPU [USD].
        purchase_usd: Usd,
        /// Per GPU, its share of the rest of the system: server, networking [USD].
        system_usd: Usd,
        /// Resale value at the horizon's end, as a share of purchase + system.
        residual_share: InputId,
        /// True when the resale comes from the catalogue's curve, not the scenario.
        residual_from_catalogue: bool,
        /// Electricity [USD/kWh].
        usd_per_kwh: Usd,
        /// Power usage effectiveness of the room (1.0 = none lost).
        pue: f64,
        /// Hosting, per GPU [USD/month].
        hosting_usd_per_month: Usd,
        /// Share of full power drawn when idle.
        idle_power_share: f64,
    },
}

/// How many GPUs run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum FleetPolicy {
    /// Always on.
    Fixed {
        /// GPUs.
        gpus: u32,
    },
    /// Follows demand, hour by hour.
    Autoscaled {
        /// Fewest GPUs.
        min: u32,
        /// Most GPUs.
        max: u32,
        /// Utilisation the scaler aims for.
        target_utilisation: f64,
        /// Time for a new GPU to serve [minutes].
        scale_up_delay_minutes: f64,
        /// A started GPU is billed at least this long [hours].
        min_billed_hours: u32,
    },
    /// Serverless workers, up to a cap.
    Serverless {
        /// Most concurrent workers.
        max_workers: u32,
    },
}

/// Overflow from a self-hosted fleet to an API.
#[derive(Debug, Clone, Serialize)]
pub struct Overflow {
    /// Offering id.
    pub api: String,
    /// Queue delay allowed before overflowing [s]; 0 = overflow as soon as the fleet is full.
    pub max_queue_seconds: f64,
}

// ---------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------

/// A scenario file as read: its text, with the names [`Scenario::parse`] takes. A part file of
/// a sharded run carries it, so that merging needs no file but the parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The file as given, for messages and provenance only (never opened again).
    pub file: String,
    /// The name used when the file sets none (the file's stem).
    pub default_name: String,
    /// The text, after any `--set` overrides.
    pub text: String,
    /// The `--set KEY=VALUE` overrides already applied to `text`, for provenance.
    #[serde(default)]
    pub overrides: Vec<String>,
}

impl Source {
    /// Read a scenario file: bad input (exit code 2) when it is missing, a folder, not a
    /// regular file, too large or not UTF-8.
    pub fn read(path: &Path) -> Result<Source> {
        let text = Scenario::read_text(path)?;
        let default_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Ok(Source {
            file: path.display().to_string(),
            default_name,
            text,
            overrides: Vec::new(),
        })
    }

    /// Validate the scenario against `catalogue`.
    pub fn parse(&self, catalogue: &Catalogue) -> Result<Scenario> {
        let mut s = Scenario::parse(&self.text, &self.file, &self.default_name, catalogue)?;
        s.overrides = self.overrides.clone();
        Ok(s)
    }

    /// Validate the scenario after `sets` (see [`Scenario::parse_with`]).
    pub fn parse_with(&self, catalogue: &Catalogue, sets: &[Override]) -> Result<Scenario> {
        Scenario::parse_with(&self.text, &self.file, &self.default_name, catalogue, sets)
    }
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path, catalogue: &Catalogue) -> Result<Scenario> {
        Scenario::load_with(path, catalogue, &[])
    }

    /// Read a scenario file, apply `--set` overrides to its TOML document, and validate the
    /// result as a file (see [`overrides`]).
    pub fn load_with(path: &Path, catalogue: &Catalogue, sets: &[Override]) -> Result<Scenario> {
        let display = path.display().to_string();
        let text = Scenario::read_text(path)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Scenario::parse_with(&text, &display, &stem, catalogue, sets)
    }

    /// Validate a scenario from its text after `sets`; problems name the override they came
    /// from and the file's own lines.
    pub fn parse_with(
        text: &str,
        file: &str,
        default_name: &str,
        catalogue: &Catalogue,
        sets: &[Override],
    ) -> Result<Scenario> {
        if sets.is_empty() {
            return Scenario::parse(text, file, default_name, catalogue);
        }
        let applied = overrides::apply(text, file, sets).map_err(Error::Input)?;
        match Scenario::parse(&applied.text, file, default_name, catalogue) {
            Ok(mut s) => {
                s.overrides = applied.overrides();
                Ok(s)
            }
            Err(Error::Input(p)) => Err(Error::Input(applied.explain(p))),
            Err(e) => Err(e),
        }
    }

    /// The text of a scenario file, or why it cannot be read.
    pub fn read_text(path: &Path) -> Result<String> {
        let display = path.display().to_string();
        // A path that cannot be read is bad input (exit code 2), not a failure while running.
        let unreadable = |e: std::io::Error| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "does not exist".to_string(),
                _ => format!("cannot be read ({e})"),
            };
            Error::input(
                &display,
                "",
                format!("{what}; expected a scenario .toml file"),
            )
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(Error::input(
                &display,
                "",
                "is a folder; expected a scenario .toml file",
            ));
        }
        let bytes = crate::catalogue::read_capped(path)
            .map_err(unreadable)?
            .ok_or_else(|| Error::input(&display, "", crate::catalogue::too_big("a scenario")))?;
        String::from_utf8(bytes).map_err(|_| {
            Error::input(
                &display,
                "",
                "is not UTF-8 text; expected a TOML scenario file",
            )
        })
    }

    /// Validate a scenario from its text. `file` names it in messages; `default_name` is used
    /// when the file sets no `name`.
    pub fn parse(
        text: &str,
        file: &str,
        default_name: &str,
        catalogue: &Catalogue,
    ) -> Result<Scenario> {
        if text.trim().is_empty() {
            return Err(Error::input(
                file,
                "",
                "is empty; expected a scenario with horizon_months, [demand] and [[option]]s",
            ));
        }
        let (raw, parsed) = crate::catalogue::parse_toml::<RawScenario>(text)
            .map_err(|p| Error::Input(p.in_file(file)))?;
        let mut p = Problems::default();
        let scenario = validate(raw, default_name, catalogue, &mut p);
        let p = crate::catalogue::after_parse(parsed, p);
        match scenario {
            Some(mut s) if p.is_empty() => {
                s.file = file.to_string();
                s.text = text.to_string();
                Ok(s)
            }
            _ => Err(Error::Input(p.in_file(file))),
        }
    }

    /// Input `i`.
    pub fn input(&self, i: InputId) -> &NamedInput {
        &self.inputs[i.0]
    }

    /// Seasonal multiplier of simulated month `m` (0-based).
    pub fn seasonality_at(&self, m: usize) -> f64 {
        self.demand.seasonality[(self.start_month as usize - 1 + m) % 12]
    }

    /// The input index named `name`.
    pub fn input_index(&self, name: &str) -> Option<InputId> {
        self.inputs.iter().position(|i| i.name == name).map(InputId)
    }
}
