//! `breakeven sensitivity`: which assumptions move the answer.

use super::common::{self, RunFlags};
use breakeven::analysis::sensitivity::{analyse, SensitivityResult};
use breakeven::money::format_usd_short;
use breakeven::Catalogue;
use std::path::PathBuf;

/// Flags of `sensitivity`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunFlags,
    /// Compare these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B")]
    pub against: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The tornado as a table.
pub fn render(r: &SensitivityResult) -> String {
    let mut out = format!(
        "{}: headline = {}\nwith every input at its median: {}\n\n",
        r.provenance.scenario,
        r.headline,
        format_usd_short(r.baseline_usd)
    );
    let w = r
        .tornado
        .iter()
        .map(|b| b.input.len())
        .max()
        .unwrap_or(10)
        .max(10);
    out.push_str(&format!(
        "{:<w$}  {:>24}  {:>22}  {:>10}  {:>8}\n",
        "input (p10 → p90)", "values", "headline", "swing", "rank ρ"
    ));
    for b in &r.tornado {
        out.push_str(&format!(
            "{:<w$}  {:>24}  {:>22}  {:>10}  {:>8.2}\n",
            b.input,
            format!("{:.4} → {:.4}", b.low_value, b.high_value),
            format!(
                "{} → {}",
                format_usd_short(b.headline_at_low),
                format_usd_short(b.headline_at_high)
            ),
            format_usd_short(b.swing),
            b.spearman
        ));
    }
    if !r.never_matter.is_empty() {
        out.push_str(&format!(
            "\nnever matter here: {}\n",
            r.never_matter.join(", ")
        ));
    }
    if !r.fixed_inputs.is_empty() {
        out.push_str(&format!(
            "fixed (not swung): {}\n",
            r.fixed_inputs.join(", ")
        ));
    }
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario)?;
    let cfg = a.run.config(&engine)?;
    let dir = a.run.out_dir(&engine);
    let mut out = common::stage(&dir, "sensitivity")?;
    let against = common::against(&engine, a.against.as_deref())?;
    let watch = common::watch(cfg.samples);
    let r = analyse(&engine, &catalogue.origin, &cfg, against, watch.controls())?;
    drop(watch);
    let text = serde_json::to_string_pretty(&r)? + "\n";
    let path = out.write("sensitivity.json", text.as_bytes())?;
    breakeven::report::charts::write_chart(
        &breakeven::report::views::tornado_chart(&r, engine.scenario.horizon_months),
        out.path(),
        "tornado",
    )?;
    let chart = (out.final_path("tornado.svg"), out.final_path("tornado.png"));
    out.commit()?;
    if a.json {
        print!("{text}");
    } else {
        print!("{}", render(&r));
        eprintln!(
            "wrote {}, {} and {}",
            common::shown(&path),
            common::shown(&chart.0),
            common::shown(&chart.1)
        );
    }
    Ok(())
}
