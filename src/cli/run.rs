//! `breakeven run`: simulate a scenario and report every option's cost.

use super::common::{self, RunFlags};
use breakeven::analysis::api_price::ApiPriceFold;
use breakeven::analysis::payback::PaybackFold;
use breakeven::engine::{self, Engine, PathResult, RunResult, WeekTrace};
use breakeven::report::output::Staged;
use breakeven::report::{
    samples::SamplesCsv,
    summary::{Provenance, RunSummary},
    table, views,
};
use breakeven::shard::{self, Command, Header, Settings};
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

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
    /// Run only part K of N (e.g. 2/8: the batches b with b mod 8 = 2) and write it as a part
    /// file for `breakeven merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Print the summary as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let (source, engine) = common::load(catalogue, &a.scenario)?;
    let against = common::against(&engine, a.against.as_deref())?;
    let dir = a.run.out_dir(&engine);
    if let Some(part) = common::parse_shard(a.shard.as_deref())? {
        let cfg = a.run.config_for(&engine, Some(part))?;
        let settings = Settings::of(&cfg, &engine, against);
        let header = Header::new(Command::Run, &source, catalogue, settings, part);
        let watch = common::watch(engine::shard_paths(cfg.samples, cfg.shard));
        return common::write_part(&dir, &header, &mut |w, shown| {
            shard::write_run(w, shown, &header, &engine, &cfg, watch.controls())
        });
    }
    let cfg = a.run.config(&engine)?;
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
            &|| shard::run_fold(&engine),
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
    let csv_path = csv_file.finish()?;
    let done = Done {
        engine: &engine,
        result: &result,
        summary: &summary,
        traces: &traces,
    };
    write(&done, out, &dir, Some(&csv_path), a.json)
}

/// A run's results, from one machine or merged from parts.
pub struct Done<'a> {
    /// The scenario's engine.
    pub engine: &'a Engine,
    /// The run's statistics.
    pub result: &'a RunResult,
    /// Its summary.
    pub summary: &'a RunSummary,
    /// The fleet charts' traced paths.
    pub traces: &'a [Vec<WeekTrace>],
}

/// Write a run's summary and charts into `out` (which may hold `samples.csv` already), commit
/// it, and print the table or the JSON.
pub fn write(
    r: &Done<'_>,
    mut out: Staged,
    dir: &Path,
    csv: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(r.summary)? + "\n";
    let summary_path = out.write("summary.json", text.as_bytes())?;
    let charts = views::write_all(
        &views::run_charts(
            r.engine,
            r.result,
            r.traces,
            &r.summary.payback,
            r.summary.provenance.seed,
        ),
        out.path(),
    )?;
    out.commit()?;
    if json {
        print!("{text}");
    } else {
        print!("{}", table::render(r.summary));
        let files = match csv {
            Some(c) => format!("{}, {}", common::shown(&summary_path), common::shown(c)),
            None => common::shown(&summary_path),
        };
        eprintln!(
            "wrote {files} and {} charts (PNG and SVG) in {}",
            charts.len() / 2,
            common::shown(dir)
        );
    }
    Ok(())
}
