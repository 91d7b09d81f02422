//! `breakeven sweep`: monthly cost against volume, and break-even volumes with their spread.

use super::common::{self, ChartFlags, RunFlags, SetFlags};
use super::InputError;
use breakeven::analysis::sweep::{self, SweepResult};
use breakeven::report::output::Staged;
use breakeven::report::summary::Provenance;
use breakeven::shard::{self, Command, Header, Settings};
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven sweep scenarios/startup-growth.toml --samples 1000
  breakeven sweep mine.toml --volumes 10k..1M --points 40
  breakeven sweep mine.toml --set option.h100.gpu_price_factor=1.2     # GPUs 20% dearer
  breakeven sweep mine.toml --samples 80k --shard 3/8 --out /shared/sweep

Writes sweep.json, sweep.csv and the charts into out/<scenario>/.";

/// Flags of `sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetFlags,
    /// Monthly volumes to sweep, as FROM..TO, like 10k..1M (default: 1/50 of the scenario's
    /// median to 50 × it, or 5 × the last month's median if that is more).
    #[arg(long, value_name = "FROM..TO")]
    pub volumes: Option<String>,
    /// Grid points; half as many again are added where the probability that self-hosting is
    /// cheaper changes fastest (see --no-refine).
    #[arg(long, default_value_t = breakeven::analysis::sweep::DEFAULT_POINTS, value_parser = common::count_usize)]
    pub points: usize,
    /// Log-spaced grid (the default).
    #[arg(long, conflicts_with = "linear")]
    pub log: bool,
    /// Linearly spaced grid.
    #[arg(long)]
    pub linear: bool,
    /// Exactly the --points grid, without the extra points where the probability that
    /// self-hosting is cheaper changes fastest (found by a pilot sweep of 200 paths).
    #[arg(long)]
    pub no_refine: bool,
    /// Run only part K of N (e.g. 2/8: the batches b with b mod 8 = 2) and write it as a part
    /// file for `breakeven merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub charts: ChartFlags,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_volumes(s: &str) -> anyhow::Result<(f64, f64)> {
    let bad = || {
        InputError(format!("--volumes: \"{s}\" is not a range; expected FROM..TO in images a month, like 10k..1M or 1000..5000000"))
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let parse = |x: &str| breakeven::count::parse_count(x).map_err(|_| bad());
    let (a, b) = (parse(a)?, parse(b)?);
    if !(a.is_finite()
        && b.is_finite()
        && a > 0.0
        && b > a
        && b <= breakeven::scenario::MAX_MONTHLY_IMAGES)
    {
        return Err(InputError(format!(
            "--volumes: {a}..{b} is not a range of volumes; expected 0 < FROM < TO <= {:e}",
            breakeven::scenario::MAX_MONTHLY_IMAGES
        ))
        .into());
    }
    Ok((a, b))
}

pub(super) fn write_result(
    r: &SweepResult,
    mut out: Staged,
    dir: &Path,
    json: bool,
    months: u32,
    charts: bool,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(r)? + "\n";
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "volume",
        "option",
        "mean_usd",
        "std_error_usd",
        "p5_usd",
        "p50_usd",
        "p95_usd",
    ])?;
    for p in &r.points {
        for o in &p.options {
            csv.write_record([
                p.volume.to_string(),
                o.id.clone(),
                o.cost.mean.to_string(),
                o.cost.std_error.to_string(),
                o.cost.p5.to_string(),
                o.cost.p50.to_string(),
                o.cost.p95.to_string(),
            ])?;
        }
    }
    let csv = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = out.write("sweep.json", text.as_bytes())?;
    let b = out.write("sweep.csv", &csv)?;
    let charts = if charts {
        breakeven::report::views::write_all(
            &breakeven::report::views::sweep_charts(r, months),
            out.path(),
        )?
    } else {
        Vec::new()
    };
    out.commit()?;
    if json {
        print!("{text}");
    } else {
        super::style::print(&render(r));
        common::note(format!(
            "wrote {}, {}{} in {}",
            common::shown(&a),
            common::shown(&b),
            if charts.is_empty() {
                String::new()
            } else {
                format!(" and {} charts (PNG and SVG)", charts.len() / 2)
            },
            common::shown(dir)
        ));
    }
    Ok(())
}

/// The sweep as a terminal table: median monthly cost per option at each volume, then the
/// break-evens.
pub fn render(r: &SweepResult) -> String {
    use breakeven::money::{format_count, format_usd_short};
    let mut out = format!(
        "{}: sweep of {} paths, seed {}, prices as of {}\n\n",
        r.provenance.scenario, r.samples, r.provenance.seed, r.provenance.as_of
    );
    let ids: Vec<&str> = r
        .points
        .first()
        .map(|p| p.options.iter().map(|o| o.id.as_str()).collect())
        .unwrap_or_default();
    let w = ids.iter().map(|s| s.len()).max().unwrap_or(8).max(18);
    out.push_str(&format!("{:>14}", "images/month"));
    for id in &ids {
        out.push_str(&format!("  {:>w$}", id));
    }
    out.push('\n');
    for p in &r.points {
        out.push_str(&format!("{:>14}", format_count(p.volume)));
        for o in &p.options {
            let cell = if o.p_over_capacity > 0.5 {
                "cannot keep up".to_string()
            } else {
                format!(
                    "{} [{}–{}]{}",
                    format_usd_short(o.cost.p50),
                    format_usd_short(o.cost.p5),
                    format_usd_short(o.cost.p95),
                    if o.p_over_capacity > 0.05 { " †" } else { "" }
                )
            };
            out.push_str(&format!("  {cell:>w$}"));
        }
        out.push('\n');
    }
    out.push_str("(median monthly cost [p5–p95]; † cannot keep up on 5–50% of paths; \"cannot keep up\": on most paths)\n\n");
    for b in &r.breakeven {
        out.push_str(&format!("{}\n", b.verdict));
    }
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let (source, base) = common::load(catalogue, &a.scenario, &a.set.set)?;
    let engine = sweep::sweep_engine(&base.scenario, catalogue)?;
    if sweep::pairs(&engine).is_empty() {
        return Err(InputError(format!("{}: a sweep compares self-hosted options with API options; this scenario needs at least one of each", a.scenario.display())).into());
    }
    let (from, to) = match &a.volumes {
        Some(v) => parse_volumes(v)?,
        None => sweep::default_range(&base.scenario),
    };
    if a.points < 2 || a.points > 1000 {
        return Err(InputError(format!(
            "--points: {} is out of range; expected 2 to 1000",
            a.points
        ))
        .into());
    }
    let grid = sweep::grid(from, to, a.points, !a.linear);
    let part = common::parse_shard(a.shard.as_deref())?;
    let cfg = a.run.config_for(&engine, part)?;
    let dir = a.run.out_dir(&engine);
    let watch = common::watch(breakeven::engine::shard_paths(cfg.samples, cfg.shard));
    // The pilot that refines the grid runs whole on every shard (200 paths), so that every
    // part sweeps the same points.
    let volumes = if a.no_refine {
        grid
    } else {
        sweep::refined_grid(&engine, &cfg, &grid, !a.linear, watch.controls())?
    };
    let provenance = Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler);
    if let Some(part) = part {
        let mut settings = Settings::of(&cfg, &engine, None);
        settings.volumes = Some(volumes.clone());
        let header = Header::new(Command::Sweep, &source, catalogue, settings, part);
        return common::write_part(&dir, &header, &mut |w, shown| {
            shard::write_sweep(w, shown, &header, &engine, &cfg, &volumes, watch.controls())
        });
    }
    let out = common::stage(&dir, "sweep")?;
    let fold = sweep::run(&engine, &cfg, &volumes, watch.controls())?;
    drop(watch);
    let result = fold.finish(&engine, provenance);
    write_result(
        &result,
        out,
        &dir,
        a.json,
        engine.scenario.horizon_months,
        !a.charts.no_charts,
    )
}
