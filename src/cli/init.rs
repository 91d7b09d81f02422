//! `breakeven init`: a commented starter scenario from a model, a monthly volume and the GPUs
//! to consider, built from the catalogue: the model's cheapest API at 1 MP, and per GPU one
//! always-on GPU that overflows to that API. It is checked before it is written, so it loads
//! and runs as it is.

use super::common;
use super::InputError;
use breakeven::catalogue::OfferClass;
use breakeven::money::format_count;
use breakeven::pricing::{quote, Request, Size};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:
  breakeven init > mine.toml                                       # klein 4B, 10k a month, H100
  breakeven init --model flux-2-dev --monthly 40k --gpus h100-sxm,l40s --out print-shop.toml
  breakeven init --monthly 1.5M --growth 0.05 --months 24 --name launch

The model is a self-host profile (`breakeven models --kind selfhost`); GPUs are GPU ids
(`breakeven models --kind gpu`). Edit the file, then `breakeven check` and `breakeven run` it.";

/// Flags of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Open model to self-host (a self-host profile id).
    #[arg(long, default_value = "flux-2-klein-4b")]
    pub model: String,
    /// Expected images a month at the start (the median; one month in ten above twice it).
    #[arg(long, default_value = "10k", value_parser = common::count_u64)]
    pub monthly: u64,
    /// GPUs to consider, comma-separated ids (default: the fastest GPU with a measured speed,
    /// else with a derived one).
    #[arg(long, value_delimiter = ',')]
    pub gpus: Vec<String>,
    /// Expected growth a month (0.05 = 5%).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub growth: f64,
    /// Months to simulate.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Scenario name (default: from --out's file name, else "my-scenario").
    #[arg(long)]
    pub name: Option<String>,
    /// Write here instead of to stdout (an existing file is not overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn bad(s: String) -> anyhow::Error {
    InputError(s).into()
}

/// The scenario text.
pub fn starter(catalogue: &Catalogue, a: &Args) -> anyhow::Result<String> {
    let profile = catalogue.selfhost.get(&a.model).ok_or_else(|| {
        bad(format!(
            "--model: {}; expected a self-host profile id",
            breakeven::catalogue::unknown("model", &a.model, catalogue.selfhost.keys())
        ))
    })?;
    if a.monthly == 0 || a.monthly as f64 > breakeven::scenario::MAX_MONTHLY_IMAGES {
        return Err(bad(format!(
            "--monthly: {} is out of range; expected 1 to {:e} images a month",
            a.monthly,
            breakeven::scenario::MAX_MONTHLY_IMAGES
        )));
    }
    if !(a.growth.is_finite() && a.growth > -0.99 && a.growth <= 10.0) {
        return Err(bad(format!(
            "--growth: {} is out of range; expected a share a month from -0.99 to 10, like 0.05",
            a.growth
        )));
    }
    if a.months == 0 || a.months > breakeven::scenario::MAX_HORIZON_MONTHS {
        return Err(bad(format!(
            "--months: {} is out of range; expected 1 to {}",
            a.months,
            breakeven::scenario::MAX_HORIZON_MONTHS
        )));
    }
    // The model's APIs, cheapest 1 MP image first.
    let one_mp = Request::image(Size::new(1024, 1024));
    let mut apis: Vec<(rust_decimal::Decimal, &str)> = catalogue
        .apis
        .values()
        .filter(|x| x.open_model.as_deref() == Some(profile.id.as_str()))
        .filter_map(|x| {
            quote(catalogue, x, &one_mp, None)
                .ok()
                .map(|q| (q.unit_price_usd, x.id.as_str()))
        })
        .collect();
    apis.sort();
    let Some(&(api_price, api)) = apis.first() else {
        return Err(bad(format!(
            "--model: no API in the catalogue serves {} to compare with; expected a model with an API offering (`breakeven models --kind api`)",
            profile.id
        )));
    };
    let gpus: Vec<String> = if a.gpus.is_empty() {
        // Measured speeds first; a derived one only when there is nothing else.
        let mut s: Vec<_> = profile.speeds.iter().collect();
        s.sort_by(|x, y| {
            x.derived
                .cmp(&y.derived)
                .then(x.seconds_at_1mp.total_cmp(&y.seconds_at_1mp))
        });
        s.first().map(|p| vec![p.gpu.clone()]).unwrap_or_default()
    } else {
        a.gpus.iter().map(|g| g.trim().to_string()).collect()
    };
    if gpus.is_empty() {
        return Err(bad(format!(
            "{} has no speed on any GPU in the catalogue; pass --gpus",
            profile.id
        )));
    }
    let name = a.name.clone().unwrap_or_else(|| {
        a.out
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "my-scenario".into())
    });
    let m = a.monthly as f64;
    let mut t = format!(
        "# Starter scenario written by `breakeven init`: {model} at about {vol} images a month.
# Every number below is a guess to replace with your own. Check it with `breakeven check {file}`,
# run it with `breakeven run {file}`, and try what-ifs with --set (e.g. --set demand.monthly.median=60k).
# The file format: scenarios/README.md in the breakeven repository.
name = \"{name}\"
description = \"{model}: about {vol} images a month; the API against {gpu_list}\"
horizon_months = {months}
samples = 2000
seed = 1

[demand]
# Images a month at the start: median {vol}, one month in ten above {p90}.
monthly = {{ dist = \"lognormal\", median = {median}, p90 = {p90_raw} }}
# Month-over-month growth: {growth_pct}% on average, give or take {sd_pct} percentage points.
growth = {{ dist = \"normal\", mean = {growth}, sd = {sd} }}
# When requests come: business-hours, consumer, flat, ... (scenarios/README.md).
profile = \"business-hours\"

# One 1 MP square image per request; add [[mix]] entries for other sizes.
[[mix]]
name = \"square 1 MP\"
size = \"1024x1024\"
share = 1.0

# --- The API: {api}, ${api_price} per 1 MP image (the cheapest for this model in the catalogue)
[[option]]
id = \"api\"
api = \"{api}\"
",
        model = profile.id,
        vol = format_count(m),
        file = a
            .out
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "FILE".into()),
        gpu_list = gpus.join(", "),
        months = a.months,
        median = a.monthly,
        p90 = format_count(2.0 * m),
        p90_raw = 2 * a.monthly,
        growth = a.growth,
        growth_pct = breakeven::report::words::number(100.0 * a.growth),
        sd = breakeven::report::words::number(a.growth.abs() / 4.0 + 0.01),
        sd_pct = breakeven::report::words::number(100.0 * (a.growth.abs() / 4.0 + 0.01)),
    );
    for g in &gpus {
        let gpu = catalogue.gpus.get(g).ok_or_else(|| {
            bad(format!(
                "--gpus: {}; expected GPU ids (`breakeven models --kind gpu`)",
                breakeven::catalogue::unknown("GPU", g, catalogue.gpus.keys())
            ))
        })?;
        let Some(speed) = profile.speed_on(g) else {
            let have: Vec<String> = profile.speeds.iter().map(|s| s.gpu.clone()).collect();
            return Err(bad(format!(
                "--gpus: {} has no speed for {} in the catalogue; expected one of {}",
                g,
                profile.id,
                have.join(", ")
            )));
        };
        // The cheapest hourly offer that is not interruptible.
        let offer = gpu
            .offers
            .iter()
            .filter(|o| {
                matches!(o.class, OfferClass::OnDemand | OfferClass::Secure)
                    && o.usd_per_hour.is_some()
            })
            .min_by_key(|o| o.usd_per_hour);
        let Some(offer) = offer else {
            return Err(bad(format!(
                "--gpus: {g} has no on-demand hourly offer in the catalogue; expected a GPU you can rent by the hour"
            )));
        };
        let rate = offer.usd_per_hour.unwrap_or_default();
        let per_month = 3600.0 / speed.seconds_at_1mp * 730.0;
        t.push_str(&format!(
            "
# --- One always-on {name}: ${rate}/hour at {provider} ({class}), {secs} s per 1 MP image, so
# about {cap} images a month at full load. Work that would wait over a minute goes to the API.
[[option]]
id = \"{g}\"
selfhost = \"{model}\"
gpu = \"{g}\"
offer = \"{offer}\"
fleet = {{ policy = \"fixed\", gpus = 1 }}
overflow = \"{api}\"
max_queue_seconds = 60
# People to run it: hours a month, and what an hour costs you.
ops_hours_per_month = {{ dist = \"triangular\", min = 5, mode = 10, max = 20 }}
ops_usd_per_hour = \"100\"
",
            name = gpu.name,
            rate = rate,
            provider = offer.provider,
            class = offer.class.name(),
            secs = speed.seconds_at_1mp,
            cap = format_count(per_month),
            model = profile.id,
            offer = offer.id,
        ));
    }
    // Whatever it wrote must load: a starter that fails its own check is a bug.
    Scenario::parse(&t, "the starter scenario", &name, catalogue)?;
    Ok(t)
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let text = starter(catalogue, &a)?;
    match &a.out {
        None => print!("{text}"),
        Some(p) => {
            if p.exists() {
                return Err(bad(format!(
                    "--out: {} exists; expected a new file (init never overwrites one)",
                    p.display()
                )));
            }
            let path = breakeven::report::files::write_atomic(p, text.as_bytes())?;
            common::note(format!(
                "wrote {}; next: breakeven check {}",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}
