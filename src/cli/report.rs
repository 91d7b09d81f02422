//! `breakeven report`: run everything on a scenario and write one self-contained HTML page.

use super::common::{self, RunFlags, SetFlags};
use breakeven::report::full::{self, ReportConfig};
use breakeven::Catalogue;
use std::path::PathBuf;

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
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetFlags,
    #[command(flatten)]
    pub run: RunFlags,
    /// Lead with these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B")]
    pub against: Option<String>,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario, &a.set.set)?;
    let cfg = ReportConfig {
        run: a.run.config(&engine)?,
        against: common::against(&engine, a.against.as_deref())?,
    };
    let dir = a.run.out_dir(&engine);
    let mut out = common::stage(&dir, "report")?;
    let watch = common::watch(0);
    let samples = cfg.run.samples;
    let report = full::build(&engine, catalogue, &cfg, watch.controls(), &|phase| {
        common::note(format!("{phase}: {samples} paths…"))
    })?;
    drop(watch);
    let page = report.page(&engine, catalogue)?;
    let book = report.workbook(&engine, catalogue)?;
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
