//! `breakeven run`: simulate a scenario and report every option's cost.

use super::common::{self, ChartFlags, RunFlags, SetFlags};
use breakeven::analysis::api_price::ApiPriceFold;
use breakeven::analysis::payback::PaybackFold;
use breakeven::engine::{self, Engine, PathResult, RunResult, WeekTrace};
use breakeven::report::output::Staged;
use breakeven::report::{
    export,
    samples::SamplesCsv,
    summary::{Provenance, RunSummary},
    table, views, xlsx,
};
use breakeven::shard::{self, Command, Header, Settings};
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven run scenarios/startup-growth.toml
  breakeven run mine.toml --samples 20k --seed 7
  breakeven run mine.toml --set demand.monthly.median=60k --set option.h100.fleet.gpus=2
  breakeven run mine.toml --precision 0.01 --samples 1M    # stop once the answer is that precise
  breakeven run mine.toml --json -q | jq .verdict

Writes summary.json, summary.csv, summary.xlsx and the charts into out/<scenario>/;
samples.csv (one row per path and option) only with --samples-csv.";

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetFlags,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub charts: ChartFlags,
    /// Lead with these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B")]
    pub against: Option<String>,
    /// Run only part K of N (e.g. 2/8: the batches b with b mod 8 = 2) and write it as a part
    /// file for `breakeven merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Also write samples.csv: one row per path and option (large: about 150 bytes a row).
    #[arg(long, conflicts_with = "shard")]
    pub samples_csv: bool,
    /// Print the summary as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let (source, engine) = common::load(catalogue, &a.scenario, &a.set.set)?;
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
    // The run's files are staged and swapped in whole at the end (src/report/output.rs): a
    // samples.csv of an earlier run, which would not match this summary, goes with the rest.
    let mut out = common::stage(&dir, "run")?;
    let mut csv_file = if a.samples_csv {
        Some(out.create("samples.csv")?)
    } else {
        None
    };
    let mut csv = match csv_file.as_mut() {
        Some(f) => Some(SamplesCsv::new(f.writer(), &engine)?),
        None => None,
    };
    let watch = common::watch(cfg.samples);
    let mut rows = |b: &[PathResult]| match csv.as_mut() {
        Some(c) => c.write(b),
        None => Ok(()),
    };
    let (result, (payback, api_price)): (RunResult, (PaybackFold, ApiPriceFold)) =
        engine::run_with(
            &engine,
            &cfg,
            watch.controls(),
            &|| shard::run_fold(&engine),
            Some(&mut rows),
        )?;
    // The fleet charts' hour-by-hour profiles, from the first paths replayed on their own.
    let traces = if a.charts.no_charts {
        Vec::new()
    } else {
        engine::trace(&engine, &cfg, engine::TRACED_PATHS, watch.controls())?
    };
    drop(watch);
    // Consumed whole, so that the file is free to commit below.
    csv.map(|c| c.finish()).transpose()?;
    let mut summary = RunSummary::new(
        &engine,
        &result,
        Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler),
        against,
    );
    summary.payback = payback.finish(&engine);
    summary.api_price_breakeven = api_price.finish(&engine);
    let mut written = Vec::new();
    if let Some(f) = csv_file {
        written.push(f.finish()?);
    }
    let done = Done {
        engine: &engine,
        result: &result,
        summary: &summary,
        traces: &traces,
    };
    let how = Writing {
        json: a.json,
        charts: !a.charts.no_charts,
        samples_csv: a.samples_csv,
    };
    write(&done, catalogue, out, &dir, written, how)
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

/// What to write and print beside the summary.
pub struct Writing {
    /// Print JSON instead of the table.
    pub json: bool,
    /// Write the charts.
    pub charts: bool,
    /// samples.csv was asked for (and is among the files written already).
    pub samples_csv: bool,
}

/// Write a run's summary, tables, workbook and charts into `out` (beside the files `written`
/// already), commit it, and print the table or the JSON.
pub fn write(
    r: &Done<'_>,
    catalogue: &Catalogue,
    mut out: Staged,
    dir: &Path,
    mut written: Vec<PathBuf>,
    how: Writing,
) -> anyhow::Result<()> {
    let summary = r.summary;
    let json = serde_json::to_string_pretty(summary)? + "\n";
    let book = xlsx::workbook(&xlsx::WorkbookInputs {
        engine: r.engine,
        catalogue,
        run: summary,
        sweep: None,
        plan: None,
        sensitivity: None,
    })?;
    written.push(out.write("summary.json", json.as_bytes())?);
    written.push(out.write("summary.csv", &export::summary_csv(summary)?)?);
    written.push(out.write("monthly.csv", &summary.monthly_csv()?)?);
    written.push(out.write("summary.xlsx", &book)?);
    let charts = if how.charts {
        views::write_all(
            &views::run_charts(
                r.engine,
                r.result,
                r.traces,
                &summary.payback,
                summary.provenance.seed,
            ),
            out.path(),
        )?
    } else {
        Vec::new()
    };
    out.commit()?;
    if how.json {
        print!("{json}");
    } else {
        let text = table::render(summary).replace(
            "  warning:",
            &format!("  {}", super::style::warning("warning:")),
        );
        super::style::print(&text);
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        common::note(format!(
            "wrote {}{} in {}{}",
            names.join(", "),
            if charts.is_empty() {
                String::new()
            } else {
                format!(" and {} charts (PNG and SVG)", charts.len() / 2)
            },
            common::shown(dir),
            if how.samples_csv {
                ""
            } else {
                "; samples.csv (one row per path) only with --samples-csv"
            }
        ));
    }
    Ok(())
}
