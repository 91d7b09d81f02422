//! Subcommands, one file each. Each turns its flags into library calls and prints the result.

mod bench;
mod check;
mod common;
mod compare;
mod init;
mod merge;
mod models;
mod plan;
mod price;
mod report;
mod run;
mod sensitivity;
mod serve;
pub mod style;
mod sweep;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Keep paying per image for a hosted FLUX API, or self-host the open weights, and from what
/// volume on? A Monte Carlo cost model with exact prices.
#[derive(Debug, Parser)]
#[command(name = "breakeven", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Load the catalogue from this folder instead of the built-in one (laid out like models/).
    #[arg(long, global = true, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
    /// Print results only: no progress bar, no notes on files written.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour: on a terminal unless NO_COLOR is set (auto), always, or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: style::ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  breakeven init --model flux-2-klein-4b --monthly 40k --gpus h100-sxm,l40s > mine.toml
  breakeven check mine.toml
  breakeven run mine.toml --set demand.monthly.median=60k
  breakeven compare mine.toml mine.toml --set-b option.h100-sxm.fleet.gpus=2
  breakeven report mine.toml

Counts take suffixes (20k, 1.5M). \u{b1} is one standard error of the mean everywhere.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the catalogue: API offerings, GPUs, self-host profiles, licences.
    #[command(after_help = models::EXAMPLES)]
    Models(models::Args),
    /// What one request costs on one API, and why.
    #[command(after_help = price::EXAMPLES)]
    Price(price::Args),
    /// Write a commented starter scenario from a model, a monthly volume and GPUs to consider.
    #[command(after_help = init::EXAMPLES)]
    Init(init::Args),
    /// Validate a scenario and say in words what it describes (exit 0 if valid, 2 if not).
    #[command(after_help = check::EXAMPLES)]
    Check(check::Args),
    /// Simulate a scenario: every option's cost distribution and which wins how often.
    #[command(after_help = run::EXAMPLES)]
    Run(run::Args),
    /// Two scenarios, or two saved runs, side by side: each option's cost and the difference.
    #[command(after_help = compare::EXAMPLES)]
    Compare(compare::Args),
    /// Time the simulation on the reference workload W1 (or a scenario).
    #[command(after_help = bench::EXAMPLES)]
    Bench(bench::Args),
    /// Cost against monthly volume, and break-even volumes with their spread.
    #[command(after_help = sweep::EXAMPLES)]
    Sweep(sweep::Args),
    /// Which assumptions move the answer: a tornado and rank correlations.
    #[command(after_help = sensitivity::EXAMPLES)]
    Sensitivity(sensitivity::Args),
    /// What to buy: the cheapest plan over GPUs, payment, fleet policy and overflow.
    #[command(after_help = plan::EXAMPLES)]
    Plan(plan::Args),
    /// Run everything on a scenario and write out/<scenario>/report.html, one self-contained page.
    #[command(after_help = report::EXAMPLES)]
    Report(report::Args),
    /// The what-if page: a local web server (127.0.0.1) for changing inputs and seeing the answer.
    #[command(after_help = serve::EXAMPLES)]
    Serve(serve::Args),
    /// Combine the parts of a sharded run, sweep, sensitivity or plan (`--shard K/N`) into
    /// exactly the single-machine result.
    #[command(after_help = merge::EXAMPLES)]
    Merge(merge::Args),
}

/// The command line, parsed. A flag given twice is refused (exit code 2) rather than one
/// occurrence silently winning: clap refuses repeats at one level, and `--catalogue`, which
/// may stand before or after the subcommand, is counted across both here.
pub fn parse() -> Cli {
    let given = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .filter(|a| {
            let a = a.to_string_lossy();
            a == "--catalogue" || a.starts_with("--catalogue=")
        })
        .count();
    if given > 1 {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the argument '--catalogue <DIR>' was given {given} times; expected it once"
                ),
            )
            .exit();
    }
    Cli::parse()
}

/// Run the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // Ctrl-C from the first moment on stops the run the same way, never half-way through a file.
    common::cancel_flag();
    common::QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    style::init(cli.color);
    let catalogue = load_catalogue(cli.catalogue.as_deref())?;
    match cli.command {
        Command::Models(a) => models::run(&catalogue, a),
        Command::Price(a) => price::run(&catalogue, a),
        Command::Init(a) => init::run(&catalogue, a),
        Command::Check(a) => check::run(&catalogue, a),
        Command::Compare(a) => compare::run(&catalogue, a),
        Command::Run(a) => run::run(&catalogue, a),
        Command::Bench(a) => bench::run(&catalogue, a),
        Command::Sweep(a) => sweep::run(&catalogue, a),
        Command::Merge(a) => merge::run(&catalogue, a),
        Command::Sensitivity(a) => sensitivity::run(&catalogue, a),
        Command::Plan(a) => plan::run(&catalogue, a),
        Command::Report(a) => report::run(&catalogue, a),
        Command::Serve(a) => serve::run(&catalogue, a),
    }
}

/// The built-in catalogue, or the one in `dir`.
pub fn load_catalogue(dir: Option<&std::path::Path>) -> anyhow::Result<breakeven::Catalogue> {
    Ok(match dir {
        Some(d) => breakeven::Catalogue::from_dir(d)?,
        None => breakeven::Catalogue::builtin()?,
    })
}

/// 2 for bad input, 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(be) = cause.downcast_ref::<breakeven::Error>() {
            return be.exit_code() as u8;
        }
        if cause.downcast_ref::<InputError>().is_some() {
            return 2;
        }
    }
    1
}

/// A bad flag or argument found by the CLI itself (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
