//! `breakeven check`: validate a scenario and say in words what it describes.

use super::common::{self, SetFlags};
use super::style;
use breakeven::report::{summary, words};
use breakeven::Catalogue;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:
  breakeven check scenarios/startup-growth.toml
  breakeven check mine.toml --set option.h100.fleet.gpus=2
  breakeven check mine.toml -q && breakeven run mine.toml     # exit 0 only if it is valid";

/// Flags of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetFlags,
}

/// What `check` prints for a valid scenario.
pub fn render(engine: &breakeven::engine::Engine, catalogue: &Catalogue) -> String {
    let s = &engine.scenario;
    let mut out = format!(
        "{} {}: {}\n",
        style::good("ok"),
        style::bold(&s.file),
        if s.description.is_empty() {
            "a valid scenario".to_string()
        } else {
            s.description.clone()
        }
    );
    out.push_str(&format!(
        "  name {} (results go to out/{}/)\n\n",
        s.name, s.name
    ));
    let w = words::assumptions(engine);
    let width = w.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (k, v) in &w {
        out.push_str(&format!(
            "  {k}{}  {v}\n",
            " ".repeat(width - k.chars().count())
        ));
    }
    out.push_str("\nprices and speeds it uses:\n");
    for p in words::price_rows(engine, catalogue) {
        out.push_str(&format!(
            "  {}: {} (as of {}; {})\n",
            p.what, p.value, p.as_of, p.source
        ));
    }
    let kinds: Vec<&str> = (0..engine.options.len())
        .map(|i| summary::describe(engine, i).0)
        .collect();
    let apis = kinds.iter().filter(|k| **k == "api").count();
    out.push_str(&format!(
        "\n{} option(s): {} API, {} self-hosted{}\n",
        kinds.len(),
        apis,
        kinds.len() - apis,
        if apis == 0 || apis == kinds.len() {
            "; a sweep needs at least one of each"
        } else {
            ""
        }
    ));
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    // Every problem is reported the way `run` would report it, with exit code 2.
    let engine = common::load_engine(catalogue, &a.scenario, &a.set.set)?;
    if !common::quiet() {
        style::print(&render(&engine, catalogue));
    }
    Ok(())
}
