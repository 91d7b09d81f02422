//! `breakeven sensitivity`: which assumptions move the answer.

use super::common::{self, ChartFlags, RunFlags, SetFlags};
use breakeven::analysis::sensitivity::{analyse, SensitivityResult};
use breakeven::money::format_usd_short;
use breakeven::report::output::Staged;
use breakeven::shard::{self, Command, Header, Settings};
use breakeven::Catalogue;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:
  breakeven sensitivity scenarios/startup-growth.toml
  breakeven sensitivity mine.toml --against api-klein-4b,h100-plus-api
  breakeven sensitivity mine.toml --set demand.growth.mean=0.1 --samples 5k

Writes sensitivity.json and the tornado chart into out/<scenario>/.";

/// Flags of `sensitivity`.
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
    /// Compare these two options (ids, comma-separated) instead of the best API against the
    /// best self-hosted option.
    #[arg(long, value_name = "A,B")]
    pub against: Option<String>,
    /// Run only part K of N of the joint run (e.g. 2/8) and write it as a part file for
    /// `breakeven merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
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
    let labels: Vec<String> = r
        .tornado
        .iter()
        .map(|b| breakeven::report::words::input_label(&b.input))
        .collect();
    let w = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(10)
        .max(18);
    out.push_str(&format!(
        "{:<w$}  {:>24}  {:>22}  {:>10}  {:>8}\n",
        "input (p10 → p90)", "values", "headline", "swing", "rank ρ"
    ));
    for (b, label) in r.tornado.iter().zip(&labels) {
        let pad = w - label.chars().count();
        out.push_str(&format!(
            "{label}{}  {:>24}  {:>22}  {:>10}  {:>8.2}\n",
            " ".repeat(pad),
            format!(
                "{} → {}",
                breakeven::report::words::number(b.low_value),
                breakeven::report::words::number(b.high_value)
            ),
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
            r.never_matter
                .iter()
                .map(|n| breakeven::report::words::input_label(n))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !r.fixed_inputs.is_empty() {
        out.push_str(&format!(
            "fixed (not swung): {}\n",
            r.fixed_inputs
                .iter()
                .map(|n| breakeven::report::words::input_label(n))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let (source, engine) = common::load(catalogue, &a.scenario, &a.set.set)?;
    let part = common::parse_shard(a.shard.as_deref())?;
    let cfg = a.run.config_for(&engine, part)?;
    let dir = a.run.out_dir(&engine);
    let against = common::against(&engine, a.against.as_deref())?;
    if let Some(part) = part {
        let settings = Settings::of(&cfg, &engine, against);
        let header = Header::new(Command::Sensitivity, &source, catalogue, settings, part);
        let watch = common::watch(breakeven::engine::shard_paths(cfg.samples, cfg.shard));
        return common::write_part(&dir, &header, &mut |w, shown| {
            shard::write_sensitivity(w, shown, &header, &engine, &cfg, watch.controls())
        });
    }
    let out = common::stage(&dir, "sensitivity")?;
    let watch = common::watch(cfg.samples);
    let r = analyse(&engine, &catalogue.origin, &cfg, against, watch.controls())?;
    drop(watch);
    write(
        &r,
        out,
        a.json,
        engine.scenario.horizon_months,
        !a.charts.no_charts,
    )
}

/// Write the result and its tornado into `out`, commit it, and print the table or the JSON.
pub fn write(
    r: &SensitivityResult,
    mut out: Staged,
    json: bool,
    months: u32,
    charts: bool,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(r)? + "\n";
    let path = out.write("sensitivity.json", text.as_bytes())?;
    let chart = if charts {
        breakeven::report::charts::write_chart(
            &breakeven::report::views::tornado_chart(r, months),
            out.path(),
            "tornado",
        )?;
        Some((out.final_path("tornado.svg"), out.final_path("tornado.png")))
    } else {
        None
    };
    out.commit()?;
    if json {
        print!("{text}");
    } else {
        super::style::print(&render(r));
        common::note(match chart {
            Some((svg, png)) => format!(
                "wrote {}, {} and {}",
                common::shown(&path),
                common::shown(&svg),
                common::shown(&png)
            ),
            None => format!("wrote {}", common::shown(&path)),
        });
    }
    Ok(())
}
