//! `breakeven run`: simulate a scenario and report every option's cost.

use super::common::{self, RunFlags};
use breakeven::analysis::api_price::ApiPriceFold;
use breakeven::analysis::payback::PaybackFold;
use breakeven::engine::{self, PathResult, RunResult};
use breakeven::report::{
    samples::SamplesCsv,
    summary::{Provenance, RunSummary},
    table, views,
};
use breakeven::Catalogue;
use std::path::PathBuf;

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunFlags,
    /// Lead with these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B")]
    pub against: Option<String>,
    /// Print the summary as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario)?;
    let against = common::against(&engine, a.against.as_deref())?;
    let cfg = a.run.config(&engine)?;
    let dir = a.run.out_dir(&engine);
    // The run's files are staged and swapped in whole at the end (src/report/output.rs).
    let mut out = common::stage(&dir, "run")?;
    let mut csv_file = out.create("samples.csv")?;
    let mut csv = SamplesCsv::new(csv_file.writer(), &engine)?;
    let watch = common::watch(cfg.samples);
    let (result, (payback, api_price)): (RunResult, (PaybackFold, ApiPriceFold)) =
        engine::run_with(
            &engine,
            &cfg,
            watch.controls(),
            &|| {
                (
                    engine.new_result(),
                    (PaybackFold::new(&engine), ApiPriceFold::new(&engine)),
                )
            },
            Some(&mut |b: &[PathResult]| csv.write(b)),
        )?;
    // The fleet charts' hour-by-hour profiles, from the first paths replayed on their own.
    let traces = engine::trace(&engine, &cfg, engine::TRACED_PATHS, watch.controls())?;
    drop(watch);
    csv.finish()?;
    let mut summary = RunSummary::new(
        &engine,
        &result,
        Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler),
        against,
    );
    summary.payback = payback.finish(&engine);
    summary.api_price_breakeven = api_price.finish(&engine);
    let json = serde_json::to_string_pretty(&summary)? + "\n";
    let csv_path = csv_file.finish()?;
    let summary_path = out.write("summary.json", json.as_bytes())?;
    out.write("monthly.csv", &summary.monthly_csv()?)?;
    let charts = views::write_all(
        &views::run_charts(&engine, &result, &traces, &summary.payback, cfg.seed),
        out.path(),
    )?;
    out.commit()?;
    if a.json {
        print!("{json}");
    } else {
        print!("{}", table::render(&summary));
        eprintln!(
            "wrote {}, {}, monthly.csv and {} charts (PNG and SVG) in {}",
            common::shown(&summary_path),
            common::shown(&csv_path),
            charts.len() / 2,
            common::shown(&dir)
        );
    }
    Ok(())
}
