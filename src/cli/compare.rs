//! `breakeven compare A B`: two scenarios, or two saved runs, side by side.
//!
//! Each side is a scenario (`.toml`, simulated here) or a saved run (a `summary.json`, or the
//! folder holding one). Options are matched by id. The difference of each option's mean
//! monthly cost comes with its standard error: from the paired per-path differences when both
//! sides are simulated here (the same seed and paths, so path i of A and path i of B form an
//! independent pair), else from the two runs' own errors as if they were independent. When
//! both sides have a sweep (saved next to the run as sweep.json, or `--sweep`), the shift of
//! each break-even volume is shown too.

use super::common::{self, RunFlags, SetFlags};
use super::{style, InputError};
use breakeven::analysis::sweep;
use breakeven::engine::{self, Engine, PathResult, RunResult};
use breakeven::money::{format_count_short, format_usd_short};
use breakeven::scenario::Override;
use breakeven::Catalogue;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:
  breakeven compare scenarios/agency.toml scenarios/app-feature.toml
  breakeven compare mine.toml mine.toml --set-b option.h100.fleet.gpus=2    # a what-if
  breakeven compare out/before/summary.json out/after/                       # two saved runs
  breakeven compare mine.toml theirs.toml --sweep --samples 1k --json

\u{b1} is one standard error of the mean; differences are B minus A.";

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A scenario (.toml) or a saved run (summary.json, or the folder holding it).
    pub a: PathBuf,
    /// The same for the other side.
    pub b: PathBuf,
    /// Overrides for both scenarios.
    #[command(flatten)]
    pub set: SetFlags,
    /// Overrides for A only (KEY=VALUE, repeatable).
    #[arg(long = "set-a", value_name = "KEY=VALUE", value_parser = common::parse_override)]
    pub set_a: Vec<Override>,
    /// Overrides for B only (KEY=VALUE, repeatable).
    #[arg(long = "set-b", value_name = "KEY=VALUE", value_parser = common::parse_override)]
    pub set_b: Vec<Override>,
    #[command(flatten)]
    pub run: RunFlags,
    /// Also sweep both scenarios to compare break-even volumes.
    #[arg(long)]
    pub sweep: bool,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One option's cost on one side.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Mean monthly cost [USD/month].
    pub monthly_mean_usd: f64,
    /// Its standard error [USD/month].
    pub monthly_std_error_usd: f64,
    /// Median monthly cost [USD/month].
    pub monthly_p50_usd: f64,
    /// Probability it is the cheapest of its side's options.
    pub p_cheapest: f64,
}

/// One option in both.
#[derive(Debug, Clone, Serialize)]
pub struct OptionRow {
    /// Option id.
    pub id: String,
    /// On side A (None if A has no such option).
    pub a: Option<Side>,
    /// On side B.
    pub b: Option<Side>,
    /// B − A of the mean monthly cost [USD/month].
    pub difference_usd: Option<f64>,
    /// Its standard error [USD/month].
    pub difference_std_error_usd: Option<f64>,
    /// `paired` (per-path differences) or `independent`.
    pub error_from: Option<&'static str>,
}

/// A break-even volume on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct BreakevenRow {
    /// Self-hosted option.
    pub selfhost: String,
    /// API option.
    pub api: String,
    /// Median break-even volume on A [images/month].
    pub a_p50: Option<f64>,
    /// Median break-even volume on B.
    pub b_p50: Option<f64>,
    /// p5–p95 on A.
    pub a_range: (Option<f64>, Option<f64>),
    /// p5–p95 on B.
    pub b_range: (Option<f64>, Option<f64>),
    /// B / A of the median.
    pub ratio: Option<f64>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// What A is.
    pub a: String,
    /// What B is.
    pub b: String,
    /// Paths per side.
    pub samples: (u64, u64),
    /// Per option.
    pub options: Vec<OptionRow>,
    /// Per break-even pair, when both sides have a sweep.
    pub breakevens: Vec<BreakevenRow>,
}

/// One side as read or simulated.
struct Loaded {
    label: String,
    samples: u64,
    options: Vec<(String, Side)>,
    /// Per option, each path's mean monthly cost (simulated sides only), by path.
    paths: Option<Vec<Vec<f64>>>,
    seed: Option<u64>,
    breakevens: Vec<(String, String, sweep::VolumeQuantiles)>,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn read_saved(path: &Path) -> anyhow::Result<Loaded> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        InputError(format!(
            "{}: cannot be read ({e}); expected a scenario .toml, a summary.json or a folder holding one",
            file.display()
        ))
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        InputError(format!(
            "{}: is not JSON ({e}); expected a summary.json written by breakeven run",
            file.display()
        ))
    })?;
    let options = v.get("options").and_then(Value::as_array).ok_or_else(|| {
        InputError(format!(
            "{}: has no \"options\"; expected a summary.json written by breakeven run",
            file.display()
        ))
    })?;
    let mut out = Vec::new();
    for o in options {
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let m = o.get("monthly_cost_usd").cloned().unwrap_or(Value::Null);
        out.push((
            id,
            Side {
                monthly_mean_usd: num(&m, "mean"),
                monthly_std_error_usd: num(&m, "std_error"),
                monthly_p50_usd: num(&m, "p50"),
                p_cheapest: num(o, "p_cheapest"),
            },
        ));
    }
    // A sweep saved beside the run.
    let mut breakevens = Vec::new();
    if let Some(dir) = file.parent() {
        if let Ok(t) = std::fs::read_to_string(dir.join("sweep.json")) {
            if let Ok(sw) = serde_json::from_str::<Value>(&t) {
                for b in sw
                    .get("breakeven")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let q = |k: &str| {
                        b.get("volume")
                            .and_then(|v| v.get(k))
                            .and_then(Value::as_f64)
                    };
                    breakevens.push((
                        b.get("selfhost")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .into(),
                        b.get("api").and_then(Value::as_str).unwrap_or("").into(),
                        sweep::VolumeQuantiles {
                            p5: q("p5"),
                            p50: q("p50"),
                            p95: q("p95"),
                        },
                    ));
                }
            }
        }
    }
    Ok(Loaded {
        label: format!(
            "{} (saved run, {})",
            v.get("scenario").and_then(Value::as_str).unwrap_or("?"),
            file.display()
        ),
        samples: v.get("samples").and_then(Value::as_u64).unwrap_or(0),
        options: out,
        paths: None,
        seed: v.get("seed").and_then(Value::as_u64),
        breakevens,
    })
}

fn simulate(
    catalogue: &Catalogue,
    path: &Path,
    sets: &[Override],
    flags: &RunFlags,
    do_sweep: bool,
) -> anyhow::Result<Loaded> {
    let e: Engine = common::load_engine(catalogue, path, sets)?;
    let cfg = flags.config(&e)?;
    let n_opt = e.options.len();
    let months = f64::from(e.scenario.horizon_months);
    let mut per_path: Vec<Vec<f64>> = vec![vec![f64::NAN; cfg.samples as usize]; n_opt];
    let watch = common::watch(cfg.samples);
    let mut keep = |b: &[PathResult]| {
        for p in b {
            for (o, op) in p.options.iter().enumerate() {
                if let Some(slot) = per_path[o].get_mut(p.path as usize) {
                    *slot = op.total_usd / months;
                }
            }
        }
        Ok(())
    };
    let r: RunResult = engine::run_with(
        &e,
        &cfg,
        watch.controls(),
        &|| e.new_result(),
        Some(&mut keep),
    )?;
    let mut breakevens = Vec::new();
    if do_sweep {
        let se = sweep::sweep_engine(&e.scenario, catalogue)?;
        if !sweep::pairs(&se).is_empty() {
            let (from, to) = sweep::default_range(&e.scenario);
            let base = sweep::grid(from, to, sweep::DEFAULT_POINTS, true);
            let grid = sweep::refined_grid(&se, &cfg, &base, true, watch.controls())?;
            let fold = sweep::run(&se, &cfg, &grid, watch.controls())?;
            let prov = breakeven::report::summary::Provenance::new(
                &se,
                &catalogue.origin,
                cfg.seed,
                cfg.sampler,
            );
            let res = fold.finish(&se, prov);
            for b in res.breakeven {
                if let Some(v) = b.volume {
                    breakevens.push((b.selfhost, b.api, v));
                }
            }
        }
    }
    drop(watch);
    // Paths the driver did not reach (--precision stopped early) are dropped.
    let done = r.samples as usize;
    for v in &mut per_path {
        v.truncate(done);
    }
    let options = e
        .options
        .iter()
        .zip(&r.options)
        .enumerate()
        .map(|(i, (o, st))| {
            let s = st.monthly.summary();
            (
                o.id.clone(),
                Side {
                    monthly_mean_usd: s.mean,
                    monthly_std_error_usd: s.std_error,
                    monthly_p50_usd: s.p50,
                    p_cheapest: r.p_cheapest(breakeven::ids::OptionId(i)).0,
                },
            )
        })
        .collect();
    Ok(Loaded {
        label: format!(
            "{} ({}{})",
            e.scenario.name,
            path.display(),
            if sets.is_empty() {
                String::new()
            } else {
                format!(
                    ", --set {}",
                    sets.iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" --set ")
                )
            }
        ),
        samples: r.samples,
        options,
        paths: Some(per_path),
        seed: Some(cfg.seed),
        breakevens,
    })
}

fn is_saved(p: &Path) -> bool {
    p.is_dir() || p.extension().is_some_and(|x| x == "json")
}

/// Mean and standard error of `b[i] − a[i]`.
fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let n = d.len() as f64;
    if n < 2.0 {
        return (d.first().copied().unwrap_or(f64::NAN), f64::NAN);
    }
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Compare two loaded sides.
fn compare(a: Loaded, b: Loaded) -> Comparison {
    let mut ids: Vec<String> = a.options.iter().map(|(id, _)| id.clone()).collect();
    for (id, _) in &b.options {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let find = |l: &Loaded, id: &str| l.options.iter().position(|(x, _)| x == id);
    let options = ids
        .into_iter()
        .map(|id| {
            let (ia, ib) = (find(&a, &id), find(&b, &id));
            let sa = ia.map(|i| a.options[i].1.clone());
            let sb = ib.map(|i| b.options[i].1.clone());
            let (difference, se, from) = match (ia, ib, &sa, &sb) {
                (Some(i), Some(j), Some(x), Some(y)) => match (&a.paths, &b.paths) {
                    (Some(pa), Some(pb)) if pa[i].len() == pb[j].len() => {
                        let (d, se) = paired(&pa[i], &pb[j]);
                        (Some(d), Some(se), Some("paired"))
                    }
                    _ => (
                        Some(y.monthly_mean_usd - x.monthly_mean_usd),
                        Some(x.monthly_std_error_usd.hypot(y.monthly_std_error_usd)),
                        Some("independent"),
                    ),
                },
                _ => (None, None, None),
            };
            OptionRow {
                id,
                a: sa,
                b: sb,
                difference_usd: difference,
                difference_std_error_usd: se,
                error_from: from,
            }
        })
        .collect();
    let breakevens = a
        .breakevens
        .iter()
        .filter_map(|(s, api, qa)| {
            let (_, _, qb) = b
                .breakevens
                .iter()
                .find(|(s2, a2, _)| s2 == s && a2 == api)?;
            Some(BreakevenRow {
                selfhost: s.clone(),
                api: api.clone(),
                a_p50: qa.p50,
                b_p50: qb.p50,
                a_range: (qa.p5, qa.p95),
                b_range: (qb.p5, qb.p95),
                ratio: qa.p50.zip(qb.p50).map(|(x, y)| y / x),
            })
        })
        .collect();
    Comparison {
        a: a.label,
        b: b.label,
        samples: (a.samples, b.samples),
        options,
        breakevens,
    }
}

/// The comparison as a table.
pub fn render(c: &Comparison) -> String {
    let mut out = format!(
        "A: {} — {} paths\nB: {} — {} paths\n\n",
        c.a, c.samples.0, c.b, c.samples.1
    );
    let side = |s: &Option<Side>| match s {
        Some(s) => format!(
            "{} ± {}",
            format_usd_short(s.monthly_mean_usd),
            format_usd_short(s.monthly_std_error_usd)
        ),
        None => "–".into(),
    };
    let rows: Vec<[String; 4]> = c
        .options
        .iter()
        .map(|o| {
            [
                o.id.clone(),
                side(&o.a),
                side(&o.b),
                match (o.difference_usd, o.difference_std_error_usd) {
                    // The same costs on every path: the option is untouched by the change.
                    (Some(d), Some(se)) if d == 0.0 && se == 0.0 => "the same on every path".into(),
                    (Some(d), Some(se)) => format!(
                        "{}{} ± {}{}",
                        if d >= 0.0 { "+" } else { "−" },
                        format_usd_short(d.abs()),
                        format_usd_short(se),
                        if se.is_finite() && d.abs() > 2.0 * se {
                            ""
                        } else {
                            " (within noise)"
                        }
                    ),
                    _ => "–".into(),
                },
            ]
        })
        .collect();
    let head = [
        "option".to_string(),
        "A: mean monthly cost".into(),
        "B: mean monthly cost".into(),
        "B − A".into(),
    ];
    let mut w = head.clone().map(|h| h.chars().count());
    for r in &rows {
        for (i, x) in r.iter().enumerate() {
            w[i] = w[i].max(x.chars().count());
        }
    }
    let line = |r: &[String; 4]| {
        r.iter()
            .enumerate()
            .map(|(i, x)| {
                let pad = " ".repeat(w[i] - x.chars().count());
                if i == 0 {
                    format!("{x}{pad}")
                } else {
                    format!("{pad}{x}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    out.push_str(&style::bold(&line(&head)));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    let paired = c.options.iter().any(|o| o.error_from == Some("paired"));
    out.push_str(if paired {
        "± one standard error; the difference's from per-path pairs (same seed and paths on both sides)\n"
    } else {
        "± one standard error; the difference's as if the two runs were independent\n"
    });
    if !c.breakevens.is_empty() {
        out.push_str("\nbreak-even volume (images/month), median [p5–p95]:\n");
        let v = |x: Option<f64>| {
            x.map(format_count_short)
                .unwrap_or_else(|| "out of range".into())
        };
        for b in &c.breakevens {
            out.push_str(&format!(
                "  {} vs {}: A {} [{}–{}], B {} [{}–{}]{}\n",
                b.selfhost,
                b.api,
                v(b.a_p50),
                v(b.a_range.0),
                v(b.a_range.1),
                v(b.b_p50),
                v(b.b_range.0),
                v(b.b_range.1),
                b.ratio
                    .map(|r| format!(", B at {}× A's", breakeven::report::words::number(r)))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let load = |p: &Path, own: &[Override]| -> anyhow::Result<Loaded> {
        if is_saved(p) {
            if !a.set.set.is_empty() || !own.is_empty() {
                return Err(InputError(format!(
                    "{}: a saved run cannot take --set; expected a scenario .toml to change",
                    p.display()
                ))
                .into());
            }
            read_saved(p)
        } else {
            let mut sets = a.set.set.clone();
            sets.extend(own.iter().cloned());
            simulate(catalogue, p, &sets, &a.run, a.sweep)
        }
    };
    let la = load(&a.a, &a.set_a)?;
    let lb = load(&a.b, &a.set_b)?;
    if let (Some(x), Some(y)) = (la.seed, lb.seed) {
        if la.paths.is_none() && lb.paths.is_none() && x == y && la.samples == lb.samples {
            common::note("note: both saved runs used the same seed and paths; the standard errors of the differences treat them as independent, which overstates them");
        }
    }
    let c = compare(la, lb);
    if a.json {
        print!("{}", serde_json::to_string_pretty(&c)? + "\n");
    } else {
        style::print(&render(&c));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_have_their_own_error() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 4.0, 5.0];
        assert_eq!(paired(&a, &b), (1.0, 0.0));
        let (d, se) = paired(&[0.0, 0.0, 0.0], &[1.0, 2.0, 3.0]);
        assert_eq!(d, 2.0);
        assert!((se - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }
}
