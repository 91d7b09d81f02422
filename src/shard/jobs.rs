//! What each sharded command writes in its parts and makes of them when merged: the fold of
//! its batches, what shard 0 adds beside them (extras), and the finish that turns the merged
//! fold into the command's result, the same finish a single machine's run ends with.

use super::{write_part, Command, Fields, Header, PartSet, PlanSettings, Screened, Settings};
use crate::analysis::api_price::ApiPriceFold;
use crate::analysis::payback::PaybackFold;
use crate::analysis::plan::{PlanConfig, PlanResult, Prepared, Screening, Search};
use crate::analysis::sensitivity::{self, SensitivityResult, Tornado};
use crate::analysis::sweep::{self, SweepFold, SweepJob, SweepResult};
use crate::engine::fold::{Checked, Unfit};
use crate::engine::{self, Controls, Engine, Paths, RunConfig, RunResult, WeekTrace};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::report::full::Report;
use crate::report::summary::{Provenance, RunSummary};
use crate::scenario::Scenario;
use crate::Catalogue;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// A run's fold: its statistics, and each self-hosted option's payback and break-even API
/// price against each API.
pub type RunFold = (RunResult, (PaybackFold, ApiPriceFold));

/// An empty [`RunFold`] of `e`.
pub fn run_fold(e: &Engine) -> RunFold {
    (e.new_result(), (PaybackFold::new(e), ApiPriceFold::new(e)))
}

impl Settings {
    /// The settings of a run of `cfg`, with the pair `against` names (ids of `e`).
    pub fn of(cfg: &RunConfig, e: &Engine, against: Option<(OptionId, OptionId)>) -> Settings {
        Settings {
            samples: cfg.samples,
            seed: cfg.seed,
            sampler: cfg.sampler,
            against: against.map(|(a, b)| [e.option(a).id.clone(), e.option(b).id.clone()]),
            volumes: None,
            plan: None,
        }
    }
}

impl PlanSettings {
    /// The settings of a plan searched as `cfg` says.
    pub fn of(cfg: &PlanConfig) -> PlanSettings {
        PlanSettings {
            objective: cfg.objective,
            latency_p95_s: cfg.latency_p95_s,
            screen_paths: cfg.screen_paths,
            finalists: cfg.finalists,
            mix_setups: cfg.search.mix_setups,
            no_consumer_gpus: cfg.search.no_consumer_gpus,
            screening: None,
        }
    }

    /// The search these settings describe, over the paths of `run`.
    pub fn config(&self, run: RunConfig) -> PlanConfig {
        PlanConfig {
            objective: self.objective,
            latency_p95_s: self.latency_p95_s,
            screen_paths: self.screen_paths,
            finalists: self.finalists,
            search: Search {
                mix_setups: self.mix_setups,
                no_consumer_gpus: self.no_consumer_gpus,
            },
            run,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Writing.

/// Write shard `header.shard` of a run of `e` as a part to `out` (named `shown`); shard 0
/// adds the traced paths of the fleet charts.
pub fn write_run(
    out: &mut dyn Write,
    shown: &str,
    header: &Header,
    e: &Engine,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<()> {
    let traces = if header.shard == 0 {
        Some(engine::trace(e, cfg, engine::TRACED_PATHS, ctl)?)
    } else {
        None
    };
    let job = Paths {
        engine: e,
        cfg,
        traced: false,
    };
    write_part(out, shown, header, traces.as_ref(), &job, cfg, ctl, &|| {
        run_fold(e)
    })
}

/// Write a shard of a sweep of the one-month engine `e` over `volumes`.
pub fn write_sweep(
    out: &mut dyn Write,
    shown: &str,
    header: &Header,
    e: &Engine,
    cfg: &RunConfig,
    volumes: &[f64],
    ctl: Controls<'_>,
) -> Result<()> {
    let job = SweepJob {
        engine: e,
        cfg,
        volumes,
    };
    write_part::<_, _, ()>(out, shown, header, None, &job, cfg, ctl, &|| {
        SweepFold::new(e, volumes)
    })
}

/// Write a shard of a sensitivity analysis of `e`; shard 0 adds the tornado's evaluations.
pub fn write_sensitivity(
    out: &mut dyn Write,
    shown: &str,
    header: &Header,
    e: &Engine,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<()> {
    sensitivity::check_options(e)?;
    let tornado = if header.shard == 0 {
        Some(Tornado::evaluate(e, cfg.seed)?)
    } else {
        None
    };
    let job = Paths {
        engine: e,
        cfg,
        traced: false,
    };
    write_part(
        out,
        shown,
        header,
        tornado.as_ref(),
        &job,
        cfg,
        ctl,
        &|| sensitivity::joint_fold(e),
    )
}

/// Write a shard of a round of a plan: the screening (every candidate on the screening
/// paths, `e` from [`Prepared::screen_engine`]) or the final round (the finalists the
/// screening chose, named in the header, and the API options on every path, `e` from
/// [`Prepared::final_engine`]).
pub fn write_plan_round(
    out: &mut dyn Write,
    shown: &str,
    header: &Header,
    e: &Engine,
    cfg: &RunConfig,
    ctl: Controls<'_>,
) -> Result<()> {
    let job = Paths {
        engine: e,
        cfg,
        traced: false,
    };
    write_part::<_, _, ()>(out, shown, header, None, &job, cfg, ctl, &|| e.new_result())
}

// ------------------------------------------------------------------------------------------
// Merging.

/// The parts must be of `command`.
fn expect(set: &PartSet, command: Command) -> Result<()> {
    let got = set.header().command;
    if got == command {
        return Ok(());
    }
    Err(set.first().bad(
        "header.command",
        format!(
            "is {}; expected parts of `{}`",
            got.name(),
            command.writer()
        ),
    ))
}

/// A library error about what a part holds, said about the part.
fn about(set: &PartSet, key: &str, e: Error) -> Error {
    match e {
        Error::Input(p) => {
            let first = p.0.first().map(|x| x.to_string()).unwrap_or_default();
            let more = match p.0.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more problems)", n - 1),
            };
            set.first().bad(
                key,
                format!("does not load with this catalogue: {first}{more}; expected the scenario the part was made from"),
            )
        }
        other => other,
    }
}

/// The scenario of the parts, against `catalogue`, which must be the one they were made with.
pub fn scenario_of(set: &PartSet, catalogue: &Catalogue) -> Result<Scenario> {
    let h = set.header();
    if h.catalogue.sha256 != catalogue.digest {
        let short = |s: &str| s.chars().take(12).collect::<String>();
        return Err(set.first().bad(
            "header.catalogue.sha256",
            format!(
                "is {}… (the catalogue {}), but this merge has {}… ({}); expected the catalogue the parts were made with (give it with --catalogue DIR)",
                short(&h.catalogue.sha256),
                crate::names::escape(&h.catalogue.origin),
                short(&catalogue.digest),
                crate::names::escape(&catalogue.origin)
            ),
        ));
    }
    h.scenario
        .parse(catalogue)
        .map_err(|e| about(set, "header.scenario.text", e))
}

fn engine_of(set: &PartSet, s: Scenario, catalogue: &Catalogue) -> Result<Engine> {
    Engine::new(s, catalogue).map_err(|e| about(set, "header.scenario.text", e))
}

/// The pair `--against` named, as options of `e`.
fn against_of(set: &PartSet, e: &Engine) -> Result<Option<(OptionId, OptionId)>> {
    let Some([a, b]) = &set.header().settings.against else {
        return Ok(None);
    };
    let find = |id: &str| {
        e.option_id(id).ok_or_else(|| {
            set.first().bad(
                "header.settings.against",
                format!(
                    "names {}, not an option of the scenario; expected two of its option ids",
                    crate::names::escape(id)
                ),
            )
        })
    };
    let (x, y) = (find(a)?, find(b)?);
    if x == y {
        return Err(set.first().bad(
            "header.settings.against",
            "names one option twice; expected two options",
        ));
    }
    Ok(Some((x, y)))
}

fn provenance(set: &PartSet, e: &Engine) -> Provenance {
    let h = set.header();
    Provenance::new(e, &h.catalogue.origin, h.settings.seed, h.settings.sampler)
}

/// A run merged from its parts.
pub struct MergedRun {
    /// The scenario's engine.
    pub engine: Engine,
    /// The run's statistics.
    pub result: RunResult,
    /// Paybacks.
    pub payback: PaybackFold,
    /// Break-even API prices.
    pub api_price: ApiPriceFold,
    /// The fleet charts' traced paths, per option then path.
    pub traces: Vec<Vec<WeekTrace>>,
    /// Provenance, as the run's own.
    pub provenance: Provenance,
    /// The pair `--against` named.
    pub against: Option<(OptionId, OptionId)>,
}

impl MergedRun {
    /// The run's summary, as `breakeven run` makes it.
    pub fn summary(&self) -> RunSummary {
        let e = &self.engine;
        let mut summary = RunSummary::new(e, &self.result, self.provenance.clone(), self.against);
        summary.payback = self.payback.finish(e);
        summary.api_price_breakeven = self.api_price.finish(e);
        summary
    }
}

/// Merge the parts of a sharded `run`.
pub fn merge_run(set: PartSet, catalogue: &Catalogue, ctl: Controls<'_>) -> Result<MergedRun> {
    expect(&set, Command::Run)?;
    let e = engine_of(&set, scenario_of(&set, catalogue)?, catalogue)?;
    let against = against_of(&set, &e)?;
    let provenance = provenance(&set, &e);
    let traced = engine::TRACED_PATHS.min(set.header().settings.samples) as usize;
    let options = e.options.len();
    let check = |t: &Vec<Vec<WeekTrace>>| -> Checked {
        if t.len() != options {
            return Err(Unfit::new(format!(
                "traces {} options; expected {options}",
                t.len()
            )));
        }
        for (o, paths) in t.iter().enumerate() {
            if paths.len() != traced {
                return Err(
                    Unfit::new(format!("traces {} paths; expected {traced}", paths.len()))
                        .under(&format!("[{o}]")),
                );
            }
            for (k, w) in paths.iter().enumerate() {
                w.validate().map_err(|u| u.under(&format!("[{o}][{k}]")))?;
            }
        }
        Ok(())
    };
    let ((result, (payback, api_price)), traces) =
        set.merge(&|| run_fold(&e), true, &check, ctl)?;
    Ok(MergedRun {
        engine: e,
        result,
        payback,
        api_price,
        traces: traces.unwrap_or_default(),
        provenance,
        against,
    })
}

/// Merge the parts of a sharded `sweep`: the one-month engine and the result.
pub fn merge_sweep(
    set: PartSet,
    catalogue: &Catalogue,
    ctl: Controls<'_>,
) -> Result<(Engine, SweepResult)> {
    expect(&set, Command::Sweep)?;
    let s = scenario_of(&set, catalogue)?;
    let e =
        sweep::sweep_engine(&s, catalogue).map_err(|e| about(&set, "header.scenario.text", e))?;
    if sweep::pairs(&e).is_empty() {
        return Err(set.first().bad(
            "header.scenario.text",
            "has no pair of a self-hosted and an API option to sweep; expected the scenario of a sweep",
        ));
    }
    let volumes = set.header().settings.volumes.clone().unwrap_or_default();
    let provenance = provenance(&set, &e);
    let (fold, _) =
        set.merge::<_, ()>(&|| SweepFold::new(&e, &volumes), false, &|_| Ok(()), ctl)?;
    let r = fold.finish(&e, provenance);
    Ok((e, r))
}

/// Merge the parts of a sharded `sensitivity`.
pub fn merge_sensitivity(
    set: PartSet,
    catalogue: &Catalogue,
    ctl: Controls<'_>,
) -> Result<(Engine, SensitivityResult)> {
    expect(&set, Command::Sensitivity)?;
    let e = engine_of(&set, scenario_of(&set, catalogue)?, catalogue)?;
    sensitivity::check_options(&e).map_err(|x| about(&set, "header.scenario.text", x))?;
    let against = against_of(&set, &e)?;
    let h = set.header().clone();
    let (fold, tornado) = set.merge(
        &|| sensitivity::joint_fold(&e),
        true,
        &|t: &Tornado| t.validate(&e),
        ctl,
    )?;
    let tornado = tornado.ok_or_else(|| Error::Invariant("no tornado".into()))?;
    let r = sensitivity::finish(
        &e,
        &h.catalogue.origin,
        (h.settings.seed, h.settings.sampler),
        against,
        &fold,
        &tornado,
    )?;
    Ok((e, r))
}

/// A plan's search as its parts describe it.
fn plan_of(set: &PartSet, catalogue: &Catalogue) -> Result<(Prepared, PlanConfig)> {
    let h = set.header();
    let s = scenario_of(set, catalogue)?;
    let mut run = RunConfig::new(h.settings.samples, h.settings.seed);
    run.sampler = h.settings.sampler;
    let cfg = h
        .settings
        .plan
        .as_ref()
        .ok_or_else(|| Error::Invariant("a plan part without plan settings".into()))?
        .config(run);
    let prepared =
        Prepared::new(&s, catalogue, &cfg).map_err(|e| about(set, "header.scenario.text", e))?;
    Ok((prepared, cfg))
}

/// A plan's screening, merged from its parts: what `merge` writes as `plan-screen.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanScreen {
    /// Reproduction data.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Candidates screened.
    pub screened: usize,
    /// Of those, the ones that could not keep up on more than 5% of the screening paths.
    pub screened_over_capacity: usize,
    /// What screening found.
    #[serde(flatten)]
    pub screening: Screening,
}

impl PlanScreen {
    /// What the final round's parts carry of it.
    pub fn screened(&self) -> Screened {
        Screened {
            finalists: self.screening.finalists.clone(),
            screened: self.screened,
            screened_over_capacity: self.screened_over_capacity,
            notes: self.screening.notes.clone(),
        }
    }
}

/// Merge the parts of a plan's screening round.
pub fn merge_plan_screen(
    set: PartSet,
    catalogue: &Catalogue,
    ctl: Controls<'_>,
) -> Result<PlanScreen> {
    expect(&set, Command::PlanScreen)?;
    let (prepared, cfg) = plan_of(&set, catalogue)?;
    let e = prepared
        .screen_engine(catalogue)
        .map_err(|x| about(&set, "header.scenario.text", x))?;
    let provenance = provenance(&set, &e);
    let (screened, _) = set.merge::<_, ()>(&|| e.new_result(), false, &|_| Ok(()), ctl)?;
    let screening = prepared.screening(&e, &screened, &cfg, catalogue);
    Ok(PlanScreen {
        provenance,
        screened: screening.ranked.len(),
        screened_over_capacity: screening.over_capacity(),
        screening,
    })
}

/// The screening parts `screen` must be of the plan `header` describes (but for the round and
/// the shards): the same scenario, catalogue, version and settings.
pub fn check_screening(screen: &PartSet, header: &Header) -> Result<()> {
    let skip = ["command", "shard", "shards", "settings.plan.screening"];
    match super::first_difference(screen.header(), header, Fields::AllBut(&skip)) {
        None => Ok(()),
        Some((key, what)) => Err(screen.first().bad(
            &format!("header.{key}"),
            format!("{what} in this plan; expected the screening of this plan (the same scenario, catalogue, settings and version)"),
        )),
    }
}

/// Merge the parts of a plan's final round.
pub fn merge_plan(set: PartSet, catalogue: &Catalogue, ctl: Controls<'_>) -> Result<PlanResult> {
    expect(&set, Command::Plan)?;
    let (prepared, cfg) = plan_of(&set, catalogue)?;
    let h = set.header().clone();
    let screened = h
        .settings
        .plan
        .as_ref()
        .and_then(|p| p.screening.clone())
        .ok_or_else(|| Error::Invariant("a final plan part without its screening".into()))?;
    let e = prepared
        .final_engine(&screened.finalists, catalogue)
        .map_err(|x| about(&set, "header.settings.plan.screening.finalists", x))?;
    let (full, _) = set.merge::<_, ()>(&|| e.new_result(), false, &|_| Ok(()), ctl)?;
    prepared.finish(
        &e,
        &full,
        (screened.screened, screened.screened_over_capacity),
        &screened.notes,
        &cfg,
        catalogue,
        &h.catalogue.origin,
    )
}

/// Folder `dir` holds no parts of `command`, which a report needs (exit code 2).
pub fn missing_parts(dir: &Path, command: Command) -> Error {
    let shown = crate::names::escape(&dir.display().to_string()).into_owned();
    Error::input(
        &shown,
        "",
        format!(
            "holds no {} parts ({}); expected them, from `breakeven {}` with --out {shown}",
            command.name(),
            super::file_name(command, 0, 1).replace("-0-of-1", "-K-of-N"),
            command.writer()
        ),
    )
}

/// The report of folder `dir`'s parts, as `breakeven report` builds it, without simulating:
/// the parts of `run`, and of `sweep`, `sensitivity` and `plan` (its final round) where the
/// scenario has them, all of one scenario, catalogue, version, seed and number of paths.
pub fn report_from(
    dir: &Path,
    catalogue: &Catalogue,
    ctl: Controls<'_>,
) -> Result<(Engine, Report)> {
    let shown = crate::names::escape(&dir.display().to_string()).into_owned();
    if !dir.is_dir() {
        return Err(Error::input(
            &shown,
            "",
            "is not a folder; expected a folder holding the parts of a sharded run, sweep, sensitivity analysis and plan",
        ));
    }
    let missing = |c: Command| missing_parts(dir, c);
    let run_set = PartSet::find(dir, Command::Run)?.ok_or_else(|| missing(Command::Run))?;
    let reference = run_set.header().clone();
    let same = |set: &PartSet, also: &[&str]| -> Result<()> {
        let mut keys = vec![
            "format_version",
            "tool_version",
            "scenario",
            "catalogue",
            "settings.seed",
            "settings.samples",
            "settings.sampler",
        ];
        keys.extend_from_slice(also);
        match super::first_difference(set.header(), &reference, Fields::Only(&keys)) {
            None => Ok(()),
            Some((key, what)) => Err(set.first().bad(
                &format!("header.{key}"),
                format!("{what} in the run's parts; expected the parts of one report (the same scenario, catalogue, version, seed and paths)"),
            )),
        }
    };
    let run = merge_run(run_set, catalogue, ctl)?;
    let summary = run.summary();
    let s = run.engine.scenario.clone();

    let sweep_engine = sweep::sweep_engine(&s, catalogue)?;
    let sweep = if sweep::pairs(&sweep_engine).is_empty() {
        None
    } else {
        let set = PartSet::find(dir, Command::Sweep)?.ok_or_else(|| missing(Command::Sweep))?;
        same(&set, &[])?;
        Some(merge_sweep(set, catalogue, ctl)?.1)
    };

    let sensitivity = if run.engine.options.len() >= 2 {
        let set = PartSet::find(dir, Command::Sensitivity)?
            .ok_or_else(|| missing(Command::Sensitivity))?;
        same(&set, &["settings.against"])?;
        Some(merge_sensitivity(set, catalogue, ctl)?.1)
    } else {
        None
    };

    let plan = match PartSet::find(dir, Command::Plan)? {
        Some(set) => {
            same(&set, &[])?;
            Ok(merge_plan(set, catalogue, ctl)?)
        }
        // No GPU fits the model: the page says so, as `report` does; else the parts are missing.
        None => match Prepared::new(&s, catalogue, &PlanConfig::new(reference.run_config())) {
            Err(Error::Input(p)) => Err(p.to_string()),
            Err(other) => return Err(other),
            Ok(_) => return Err(missing(Command::Plan)),
        },
    };
    let MergedRun {
        engine,
        result,
        traces,
        ..
    } = run;
    Ok((
        engine,
        Report {
            run: result,
            summary,
            traces,
            sweep,
            sensitivity,
            plan,
        },
    ))
}
