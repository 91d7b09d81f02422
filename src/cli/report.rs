//! `breakeven report`: run everything on a scenario and write one self-contained HTML page.

use super::common::{self, RunFlags};
use breakeven::report::full::{self, ReportConfig};
use breakeven::Catalogue;
use std::path::PathBuf;

/// Flags of `report`.
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
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario)?;
    let cfg = ReportConfig {
        run: a.run.config(&engine)?,
        against: common::against(&engine, a.against.as_deref())?,
    };
    let dir = a.run.out_dir(&engine);
    let mut out = common::stage(&dir, "report")?;
    let watch = common::watch(0);
    let samples = cfg.run.samples;
    let report = full::build(&engine, catalogue, &cfg, watch.controls(), &|phase| {
        eprintln!("{phase}: {samples} paths…")
    })?;
    drop(watch);
    let page = report.page(&engine, catalogue)?;
    let path = out.write("report.html", page.as_bytes())?;
    out.commit()?;
    println!("wrote {}", common::shown(&path));
    Ok(())
}
