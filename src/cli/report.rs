//! `breakeven report`: run everything on a scenario and write one self-contained HTML page, or
//! build the page from the parts of sharded runs (`--from DIR`) without simulating.

use super::common::{self, RunFlags, SetFlags};
use breakeven::report::full::{self, ReportConfig};
use breakeven::shard::{self, Command, PartSet};
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven report scenarios/startup-growth.toml
  breakeven report mine.toml --samples 5k --set option.h100.fleet.gpus=2
  breakeven report mine.toml --out reports/mine

Writes report.html (one self-contained page) and report.xlsx (the same figures as a workbook)
into out/<scenario>/.";

/// Flags of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub set: SetFlags,
    #[command(flatten)]
    pub run: RunFlags,
    /// Lead with these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B", conflicts_with = "from")]
    pub against: Option<String>,
    /// Build the page from the parts in DIR, without simulating: those of `run`, `sweep`,
    /// `sensitivity` and `plan` (its final round) `--shard K/N`, of one scenario, seed and
    /// number of paths. The scenario, settings and `--against` come from the parts.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    if let Some(from) = &a.from {
        return from_parts(catalogue, &a, from);
    }
    let Some(scenario) = &a.scenario else {
        return Err(
            super::InputError("report: expected a scenario file, or --from DIR".into()).into(),
        );
    };
    let engine = common::load_engine(catalogue, scenario, &a.set.set)?;
    let cfg = ReportConfig {
        run: a.run.config(&engine)?,
        against: common::against(&engine, a.against.as_deref())?,
    };
    let dir = a.run.out_dir(&engine);
    let out = common::stage(&dir, "report")?;
    let watch = common::watch(0);
    let samples = cfg.run.samples;
    let report = full::build(&engine, catalogue, &cfg, watch.controls(), &|phase| {
        common::note(format!("{phase}: {samples} paths…"))
    })?;
    drop(watch);
    write(&report, &engine, catalogue, out)
}

/// Write the page and its workbook into `out`, commit it, and say so.
fn write(
    report: &full::Report,
    engine: &breakeven::engine::Engine,
    catalogue: &Catalogue,
    mut out: breakeven::report::output::Staged,
) -> anyhow::Result<()> {
    let page = report.page(engine, catalogue)?;
    let book = report.workbook(engine, catalogue)?;
    let path = out.write("report.html", page.as_bytes())?;
    let xlsx = out.write("report.xlsx", &book)?;
    out.commit()?;
    if !common::quiet() {
        println!(
            "wrote {} and {}",
            common::shown(&path),
            common::shown(&xlsx)
        );
    }
    Ok(())
}

fn from_parts(catalogue: &Catalogue, a: &Args, from: &Path) -> anyhow::Result<()> {
    let r = &a.run;
    if r.samples.is_some()
        || r.seed.is_some()
        || r.precision.is_some()
        || r.reference
        || !a.set.set.is_empty()
    {
        return Err(super::InputError("--from: the scenario, paths, seed and sampler come from the parts; expected no --set, --samples, --seed, --precision or --reference with it".into()).into());
    }
    // The scenario's name, for the default folder, and a check of --out before any work.
    if !from.is_dir() {
        return Err(super::InputError(format!(
            "--from: {} is not a folder; expected the folder holding the parts of a sharded run, sweep, sensitivity analysis and plan",
            common::shown(from)
        ))
        .into());
    }
    let set = PartSet::find(from, Command::Run)?
        .ok_or_else(|| shard::missing_parts(from, Command::Run))?;
    let name = shard::scenario_of(&set, catalogue)?.name;
    drop(set);
    let dir = r
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&name));
    let out = common::stage(&dir, "report")?;
    let watch = common::watch(0);
    super::merge::open_files_for(shard::MAX_SHARDS as usize);
    let (engine, report) = shard::report_from(from, catalogue, watch.controls())?;
    drop(watch);
    write(&report, &engine, catalogue, out)
}
