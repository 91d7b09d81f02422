//! `breakeven merge`: combine the parts of a sharded `run`, `sweep`, `sensitivity` or `plan`
//! (`--shard K/N`) into exactly what one machine writes.

use super::common::{self, ChartFlags};
use breakeven::shard::{self, Command, PartSet};
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven merge out/startup-growth/sweep.part-*-of-8.jsonl
  breakeven merge /shared/run/run.part-*-of-100.jsonl --out /shared/run
  breakeven merge out/mine/plan-screen.part-*-of-4.jsonl     # a plan's screening round

The parts carry the scenario, the settings and a digest of the catalogue: nothing else is
read, from any folder. Give the catalogue the parts were made with (--catalogue DIR) if it
was not the built-in one.";

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The part files of one sharded command, all N of them, in any order
    /// (`out/NAME/sweep.part-*-of-8.jsonl`). Nothing else is read: the scenario and settings are
    /// inside.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Output folder (default: out/<scenario>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub charts: ChartFlags,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    open_files_for(a.parts.len());
    let set = PartSet::open(&a.parts)?;
    let command = set.header().command;
    // The scenario's name, for the default folder, and a check of --out before any work.
    let name = shard::scenario_of(&set, catalogue)?.name;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&name));
    let owner = match command {
        Command::Run => "run",
        Command::Sweep => "sweep",
        Command::Sensitivity => "sensitivity",
        Command::PlanScreen => "plan-screen",
        Command::Plan => "plan",
    };
    let out = common::stage(&dir, owner)?;
    let watch = common::watch(set.header().run_samples());
    let ctl = watch.controls();
    match command {
        Command::Run => {
            let m = shard::merge_run(set, catalogue, ctl)?;
            drop(watch);
            let summary = m.summary();
            let done = super::run::Done {
                engine: &m.engine,
                result: &m.result,
                summary: &summary,
                traces: &m.traces,
            };
            let how = super::run::Writing {
                json: a.json,
                charts: !a.charts.no_charts,
                samples_csv: false,
            };
            super::run::write(&done, catalogue, out, &dir, Vec::new(), how)
        }
        Command::Sweep => {
            let (e, r) = shard::merge_sweep(set, catalogue, ctl)?;
            drop(watch);
            super::sweep::write_result(
                &r,
                out,
                &dir,
                a.json,
                e.scenario.horizon_months,
                !a.charts.no_charts,
            )
        }
        Command::Sensitivity => {
            let (e, r) = shard::merge_sensitivity(set, catalogue, ctl)?;
            drop(watch);
            super::sensitivity::write(
                &r,
                out,
                a.json,
                e.scenario.horizon_months,
                !a.charts.no_charts,
            )
        }
        Command::PlanScreen => {
            let r = shard::merge_plan_screen(set, catalogue, ctl)?;
            drop(watch);
            super::plan::write_screen(&r, out, a.json)
        }
        Command::Plan => {
            let r = shard::merge_plan(set, catalogue, ctl)?;
            drop(watch);
            super::plan::write(&r, out, a.json)
        }
    }
}

/// Merge holds every part open at once (up to 1,000): raise the soft limit on open files to
/// the hard one when the parts would not fit under it (1,024 is a common default).
pub fn open_files_for(parts: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct given, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0
            && (lim.rlim_cur as u128) < parts as u128 + 64
            && lim.rlim_cur < lim.rlim_max
        {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
