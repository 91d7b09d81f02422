//! `breakeven sweep`: monthly cost against volume, and break-even volumes with their spread.
//! `breakeven merge`: combine the parts of a sharded sweep.

use super::common::{self, ChartFlags, RunFlags, SetFlags};
use super::InputError;
use breakeven::analysis::sweep::{self, Part, SweepFold, SweepPath, SweepResult, PART_KIND};
use breakeven::engine::{Engine, Fold};
use breakeven::report::files::{ensure_dir, write_atomic};
use breakeven::report::output::Staged;
use breakeven::report::summary::Provenance;
use breakeven::Catalogue;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven sweep scenarios/startup-growth.toml --samples 1000
  breakeven sweep mine.toml --volumes 10k..1M --points 40
  breakeven sweep mine.toml --set option.h100.gpu_price_factor=1.2     # GPUs 20% dearer
  breakeven sweep mine.toml --samples 80k --shard 3/8 --out /shared/sweep

Writes sweep.json, sweep.csv and the charts into out/<scenario>/.";

pub const MERGE_EXAMPLES: &str = "Examples:
  breakeven merge out/startup-growth/sweep.part-*-of-8.json
  breakeven merge /shared/sweep/sweep.part-*-of-8.json --out /shared/sweep";

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
    /// Compute only part K of N (e.g. 2/8) and write it as a part file for `breakeven merge`.
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

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Part files written by `sweep --shard K/N`, all N of them.
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

fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let bad = || {
        InputError(format!(
            "--shard: \"{s}\" is not a shard; expected K/N with 0 <= K < N, like 0/4"
        ))
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n || n > 100_000 {
        return Err(bad().into());
    }
    Ok((k, n))
}

fn write_result(
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
    let base = common::load_engine(catalogue, &a.scenario, &a.set.set)?;
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
    let base = sweep::grid(from, to, a.points, !a.linear);
    let mut cfg = a.run.config(&engine)?;
    let dir = a.run.out_dir(&engine);
    cfg.shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let watch = common::watch(cfg.samples / cfg.shard.map(|s| s.1).unwrap_or(1));
    let volumes = if a.no_refine {
        base
    } else {
        sweep::refined_grid(&engine, &cfg, &base, !a.linear, watch.controls())?
    };
    let provenance = Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler);
    if let Some((k, n)) = cfg.shard {
        let paths = sweep::run_shard(&engine, &cfg, &volumes, watch.controls())?;
        drop(watch);
        let part = Part {
            kind: PART_KIND.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            scenario: provenance.scenario.clone(),
            scenario_file: provenance.scenario_file.clone(),
            scenario_toml: provenance.scenario_toml.clone(),
            overrides: provenance.overrides.clone(),
            catalogue: provenance.catalogue.clone(),
            seed: cfg.seed,
            samples: cfg.samples,
            volumes,
            shard: k,
            shards: n,
            paths,
        };
        ensure_dir(&dir)?;
        let path = dir.join(format!("sweep.part-{k}-of-{n}.json"));
        write_atomic(&path, serde_json::to_string(&part)?.as_bytes())?;
        common::note(format!("wrote {} ({} paths); combine all {n} parts with `breakeven merge {}/sweep.part-*-of-{n}.json`", path.display(), part.paths.len(), dir.display()));
        return Ok(());
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

pub fn merge(catalogue: &Catalogue, a: MergeArgs) -> anyhow::Result<()> {
    let mut parts: Vec<(PathBuf, Part)> = Vec::new();
    for p in &a.parts {
        if p.is_dir() {
            return Err(InputError(format!(
                "{}: is a folder; expected a part file written by `sweep --shard K/N`",
                common::shown(p)
            ))
            .into());
        }
        let text = std::fs::read_to_string(p).map_err(|e| breakeven::Error::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        let part: Part = serde_json::from_str(&text)
            .map_err(|e| InputError(format!("{}: not a sweep part file: {e}", p.display())))?;
        if part.kind != PART_KIND {
            return Err(InputError(format!(
                "{}: kind is \"{}\"; expected \"{PART_KIND}\"",
                p.display(),
                part.kind
            ))
            .into());
        }
        parts.push((p.clone(), part));
    }
    let (first_path, first) = &parts[0];
    for (p, part) in &parts[1..] {
        let same = part.scenario == first.scenario
            && part.seed == first.seed
            && part.samples == first.samples
            && part.volumes == first.volumes
            && part.shards == first.shards
            && part.catalogue == first.catalogue
            && part.version == first.version;
        if !same {
            return Err(InputError(format!("{}: is from another sweep than {} (scenario, seed, samples, grid, shard count, catalogue and version must all match)", p.display(), first_path.display())).into());
        }
    }
    let mut have: Vec<u64> = parts.iter().map(|(_, p)| p.shard).collect();
    have.sort_unstable();
    let want: Vec<u64> = (0..first.shards).collect();
    if have != want {
        return Err(InputError(format!(
            "parts cover shards {have:?} of {}; expected each of 0..{} exactly once",
            first.shards, first.shards
        ))
        .into());
    }
    // Rebuild the engine from the scenario the parts simulated (with its --set overrides);
    // parts of older versions name only the file.
    let base = if first.scenario_toml.is_empty() {
        common::load_engine(catalogue, Path::new(&first.scenario_file), &[])?
    } else {
        let stem = Path::new(&first.scenario_file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        let mut s = breakeven::scenario::Scenario::parse(
            &first.scenario_toml,
            &first.scenario_file,
            &stem,
            catalogue,
        )?;
        s.overrides = first.overrides.clone();
        Engine::new(s, catalogue)?
    };
    let engine: Engine = sweep::sweep_engine(&base.scenario, catalogue)?;
    let mut paths: Vec<&SweepPath> = parts.iter().flat_map(|(_, p)| p.paths.iter()).collect();
    paths.sort_by_key(|p| p.path);
    if paths.len() as u64 != first.samples
        || paths.iter().enumerate().any(|(i, p)| p.path != i as u64)
    {
        return Err(InputError(format!(
            "the parts hold {} paths; expected paths 0..{} each once",
            paths.len(),
            first.samples
        ))
        .into());
    }
    // Fold batch by batch and merge the batch folds in order, exactly as the driver does.
    let mut fold = SweepFold::new(&engine, &first.volumes);
    for batch in paths.chunks(breakeven::engine::BATCH as usize) {
        let mut part = SweepFold::new(&engine, &first.volumes);
        for p in batch {
            part.add(p)?;
        }
        fold.merge(part);
    }
    let provenance = Provenance::new(
        &engine,
        &first.catalogue,
        first.seed,
        breakeven::engine::Sampler::Fast,
    );
    let result = fold.finish(&engine, provenance);
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&engine.scenario.name));
    let out = common::stage(&dir, "sweep")?;
    write_result(
        &result,
        out,
        &dir,
        a.json,
        engine.scenario.horizon_months,
        !a.charts.no_charts,
    )
}
