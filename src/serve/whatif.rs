//! One what-if from the page: a scenario (shipped, or pasted text), `--set` overrides and a
//! seed, turned into the same scenario, engine and run configuration the CLI builds from
//! `breakeven run FILE --set KEY=VALUE --seed S --samples N`, and run the way `run` runs it.
//! Nothing here reads or writes a file: a pasted scenario's name is shown in messages only.

use crate::analysis::api_price::ApiPriceFold;
use crate::analysis::payback::PaybackFold;
use crate::analysis::sweep;
use crate::engine::{self, Controls, Engine, RunConfig, RunResult};
use crate::error::{Error, Problem, Problems, Result};
use crate::fleet::QueueCache;
use crate::report::charts::render_svg;
use crate::report::summary::{Provenance, RunSummary};
use crate::report::{table, views, xlsx};
use crate::scenario::{Override, Scenario};
use crate::Catalogue;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Paths of a run when the scenario names none (the CLI's default).
pub const DEFAULT_SAMPLES: u64 = 2_000;
/// Seed when neither the page nor the scenario gives one (the CLI's default).
pub const DEFAULT_SEED: u64 = 42;
/// Volumes of the page's break-even chart (the `sweep` command's default grid has 25, refined).
pub const SWEEP_POINTS: usize = 12;
/// Paths per volume of the page's break-even chart, at most (one month each; as many as the
/// `sweep` command's pilot, which finds where the break-even lies).
pub const SWEEP_PATHS: u64 = 200;
/// The name a pasted scenario goes by in messages when the page gives none.
pub const PASTED: &str = "pasted.toml";

/// What the page asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    /// A shipped scenario by file stem (`agency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Or a scenario's TOML, pasted or uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The uploaded file's name, for messages only: never opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Overrides, each `KEY=VALUE` as `--set` takes it.
    #[serde(default)]
    pub sets: Vec<String>,
    /// Seed, as typed (default: the scenario's, else 42). Text, since a page's numbers lose
    /// the digits of seeds above 2^53.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

/// The scenario's text and how messages name it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The TOML.
    pub text: String,
    /// The file as messages name it.
    pub file: String,
    /// The name used when the file sets none.
    pub stem: String,
}

impl WhatIf {
    /// The scenario's text, before overrides.
    pub fn source(&self) -> Result<Source> {
        match (&self.scenario, &self.text) {
            (Some(name), None) => {
                let s = super::shipped::find(name).ok_or_else(|| {
                    let known: Vec<String> =
                        super::shipped::all().iter().map(|s| s.stem.to_string()).collect();
                    Error::input(
                        "",
                        "scenario",
                        format!(
                            "{}; expected one of {}",
                            crate::catalogue::unknown("shipped scenario", name, known.iter()),
                            known.join(", ")
                        ),
                    )
                })?;
                Ok(Source {
                    text: s.text.to_string(),
                    file: s.file(),
                    stem: s.stem.to_string(),
                })
            }
            (None, Some(text)) => {
                let file = shown_name(self.file.as_deref());
                let stem = file.strip_suffix(".toml").unwrap_or(&file).to_string();
                Ok(Source {
                    text: text.clone(),
                    file,
                    stem,
                })
            }
            _ => Err(Error::input(
                "",
                "scenario",
                "expected either a shipped scenario's name or a scenario's text, not both or neither",
            )),
        }
    }

    /// The overrides, parsed as `--set` parses them.
    pub fn overrides(&self) -> Result<Vec<Override>> {
        let mut p = Problems::default();
        let mut out = Vec::new();
        for s in &self.sets {
            match s.parse::<Override>() {
                Ok(o) => out.push(o),
                // clap's words for a bad `--set`, with no key, so the page reads as the
                // terminal does; the page places it by its `'--set <KEY=VALUE>'`.
                Err(why) => p.0.push(Problem {
                    file: String::new(),
                    key: String::new(),
                    message: format!("invalid value '{s}' for '--set <KEY=VALUE>': {why}"),
                }),
            }
        }
        p.into_result(out)
    }

    /// The scenario after the overrides, validated as the CLI validates it.
    pub fn scenario(&self, catalogue: &Catalogue) -> Result<Scenario> {
        let src = self.source()?;
        let sets = self.overrides()?;
        Scenario::parse_with(&src.text, &src.file, &src.stem, catalogue, &sets)
    }

    /// The scenario compiled, as `breakeven run` compiles it.
    pub fn engine(&self, catalogue: &Catalogue) -> Result<Engine> {
        self.engine_with(catalogue, Default::default())
    }

    /// [`WhatIf::engine`], its queue tables kept in `tables` ([`Engine::with_tables`]).
    pub fn engine_with(&self, catalogue: &Catalogue, tables: Arc<QueueCache>) -> Result<Engine> {
        Engine::with_tables(self.scenario(catalogue)?, catalogue, tables)
    }

    /// The seed asked for, parsed as `--seed` parses it.
    pub fn seed(&self) -> Result<Option<u64>> {
        match self.seed.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            // clap's words, with no key (the page places it by its `'--seed <SEED>'`).
            Some(s) => s.parse::<u64>().map(Some).map_err(|e| {
                Error::input(
                    "",
                    "",
                    format!("invalid value '{s}' for '--seed <SEED>': {e}"),
                )
            }),
        }
    }

    /// Everything a run needs: the engine, and its paths and seed (the scenario's, or the CLI's
    /// defaults; paths at most `max_paths`).
    pub fn prepare(&self, catalogue: &Catalogue, max_paths: u64) -> Result<(Engine, RunConfig)> {
        self.prepare_with(catalogue, max_paths, Default::default())
    }

    /// [`WhatIf::prepare`], the engine's queue tables kept in `tables` (the server's, shared
    /// by its updates).
    pub fn prepare_with(
        &self,
        catalogue: &Catalogue,
        max_paths: u64,
        tables: Arc<QueueCache>,
    ) -> Result<(Engine, RunConfig)> {
        let seed = self.seed();
        let engine = self.engine_with(catalogue, tables);
        let (seed, engine) = match (seed, engine) {
            (Ok(s), Ok(e)) => (s, e),
            // Every problem at once, the seed's with the scenario's.
            (Err(Error::Input(mut a)), Err(Error::Input(b))) => {
                a.0.extend(b.0);
                return Err(Error::Input(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let samples = engine
            .scenario
            .samples
            .unwrap_or(DEFAULT_SAMPLES)
            .clamp(1, max_paths.max(1));
        let seed = seed.or(engine.scenario.seed).unwrap_or(DEFAULT_SEED);
        Ok((engine, RunConfig::new(samples, seed)))
    }
}

/// A client's file name as messages show it: its last part, printable, or [`PASTED`].
fn shown_name(name: Option<&str>) -> String {
    let last = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(""))
        .unwrap_or("")
        .trim();
    if last.is_empty() {
        return PASTED.to_string();
    }
    let short: String = last.chars().take(80).collect();
    crate::names::escape(&short).into_owned()
}

/// What the page shows of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The run's summary: what `breakeven run --json` prints.
    pub summary: RunSummary,
    /// The terminal table, as `breakeven run` prints it.
    pub table: String,
    /// The verdict and the sentences after it, in words (the table's last paragraph).
    pub verdict: String,
    /// The paths the scenario asks for (the run is capped at the server's most).
    pub samples_asked: u64,
    /// Cost against monthly volume with the break-evens (`sweep`'s chart), when there are API
    /// and self-hosted options to compare.
    pub breakeven_svg: Option<String>,
    /// How the break-even chart was computed: volumes and paths per volume.
    pub sweep: Option<SweepShape>,
    /// Cumulative cash over the horizon (`run`'s chart), over more than one month.
    pub cumulative_svg: Option<String>,
}

/// The break-even chart's sweep, smaller than the `sweep` command's.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SweepShape {
    /// Volumes on its log grid.
    pub points: usize,
    /// Paths at each volume.
    pub paths: u64,
}

/// The run's summary as `run` makes it: the same folds, provenance and verdict.
pub fn summarise(
    e: &Engine,
    catalogue: &Catalogue,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<(RunResult, RunSummary)> {
    let (result, (payback, api_price)): (RunResult, (PaybackFold, ApiPriceFold)) =
        engine::run_with(
            e,
            cfg,
            ctl,
            &|| (e.new_result(), (PaybackFold::new(e), ApiPriceFold::new(e))),
            None,
        )?;
    let mut summary = RunSummary::new(
        e,
        &result,
        Provenance::new(e, &catalogue.origin, cfg.seed, cfg.sampler),
        None,
    );
    summary.payback = payback.finish(e);
    summary.api_price_breakeven = api_price.finish(e);
    Ok((result, summary))
}

/// Run a what-if: the run, its table and verdict, and the two charts.
pub fn compute(
    e: &Engine,
    catalogue: &Catalogue,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<Outcome> {
    let (result, summary) = summarise(e, catalogue, cfg, ctl)?;
    let table = table::render(&summary);
    // The table's paragraphs: the header line, the table with its notes, then the verdict.
    let verdict = table
        .splitn(3, "\n\n")
        .nth(2)
        .unwrap_or("")
        .trim()
        .to_string();
    let cumulative_svg = views::run_charts(e, &result, &[], &summary.payback, cfg.seed)
        .into_iter()
        .find(|(name, _)| name == "cumulative-cost")
        .map(|(_, c)| render_svg(&c).map(strip_prolog))
        .transpose()?;
    let (breakeven_svg, sweep) = match breakeven_chart(e, catalogue, cfg, ctl)? {
        Some((svg, shape)) => (Some(svg), Some(shape)),
        None => (None, None),
    };
    Ok(Outcome {
        samples_asked: e.scenario.samples.unwrap_or(DEFAULT_SAMPLES),
        summary,
        table,
        verdict,
        breakeven_svg,
        sweep,
        cumulative_svg,
    })
}

/// `sweep`'s break-even chart on a coarser grid: [`SWEEP_POINTS`] volumes over the command's
/// default range, [`SWEEP_PATHS`] paths each, the run's seed, no refinement near the crossings.
fn breakeven_chart(
    run: &Engine,
    catalogue: &Catalogue,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<Option<(String, SweepShape)>> {
    let s = &run.scenario;
    // Its tables are the run's (mostly the same keys).
    let e = sweep::sweep_engine_with(s, catalogue, run.tables.clone())?;
    if sweep::pairs(&e).is_empty() {
        return Ok(None);
    }
    let (from, to) = sweep::default_range(s);
    let volumes = sweep::grid(from, to, SWEEP_POINTS, true);
    let mut scfg = cfg.clone();
    scfg.samples = cfg.samples.min(SWEEP_PATHS);
    let fold = sweep::run(&e, &scfg, &volumes, ctl)?;
    let r = fold.finish(
        &e,
        Provenance::new(&e, &catalogue.origin, scfg.seed, scfg.sampler),
    );
    let chart = views::sweep_charts(&r, s.horizon_months)
        .into_iter()
        .find(|(name, _)| name == "breakeven");
    let Some((_, chart)) = chart else {
        return Ok(None);
    };
    Ok(Some((
        strip_prolog(render_svg(&chart)?),
        SweepShape {
            points: volumes.len(),
            paths: scfg.samples,
        },
    )))
}

/// An SVG document as an element to put in a page (as report.html does).
fn strip_prolog(svg: String) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    }
}

/// The workbook `run` writes (summary.xlsx), from the run's summary.
pub fn workbook(e: &Engine, catalogue: &Catalogue, summary: &RunSummary) -> Result<Vec<u8>> {
    xlsx::workbook(&xlsx::WorkbookInputs {
        engine: e,
        catalogue,
        run: summary,
        sweep: None,
        plan: None,
        sensitivity: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_file_names_are_only_shown() {
        assert_eq!(shown_name(None), PASTED);
        assert_eq!(shown_name(Some("  ")), PASTED);
        assert_eq!(shown_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(shown_name(Some("C:\\x\\mine.toml")), "mine.toml");
        assert_eq!(
            shown_name(Some("a\u{1b}[2Jb.toml")),
            crate::names::escape("a\u{1b}[2Jb.toml")
        );
    }

    #[test]
    fn a_bad_set_reads_as_clap_says_it() {
        let w = WhatIf {
            scenario: Some("agency".into()),
            sets: vec!["demand.monthly.median".into(), "seed=".into()],
            ..Default::default()
        };
        let Err(Error::Input(p)) = w.overrides() else {
            panic!("accepted")
        };
        assert_eq!(p.0.len(), 2);
        assert_eq!(p.0[0].key, "");
        assert!(p.0[0].message.starts_with("invalid value 'demand.monthly.median' for '--set <KEY=VALUE>': \"demand.monthly.median\" has no '='"), "{}", p.0[0].message);
        assert!(p.0[1]
            .message
            .starts_with("invalid value 'seed=' for '--set <KEY=VALUE>'"));
    }

    #[test]
    fn one_source_only() {
        for w in [
            WhatIf::default(),
            WhatIf {
                scenario: Some("agency".into()),
                text: Some("x".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(w.source(), Err(Error::Input(_))));
        }
        let Err(Error::Input(p)) = (WhatIf {
            scenario: Some("agancy".into()),
            ..Default::default()
        })
        .source() else {
            panic!()
        };
        assert!(p.to_string().contains("nearest: agency"), "{p}");
    }
}
