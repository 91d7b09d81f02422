//! Everything a report shows, computed as the commands compute it: `run`, `sweep`,
//! `sensitivity` and `plan`, each with the same paths, seed and defaults as the command, so
//! every figure on the page is the figure the command prints.

use super::charts::Chart;
use super::html::{self, ReportInputs};
use super::summary::{Provenance, RunSummary};
use super::views;
use crate::analysis::api_price::ApiPriceFold;
use crate::analysis::payback::PaybackFold;
use crate::analysis::plan::{self, PlanConfig, PlanResult};
use crate::analysis::sensitivity::{self, SensitivityResult};
use crate::analysis::sweep::{self, SweepResult};
use crate::engine::{self, Controls, Engine, RunConfig, RunResult, WeekTrace};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::Catalogue;

/// What a report is built from.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// Paths, seed and threads of every section.
    pub run: RunConfig,
    /// The pair the run and the sensitivity lead with (default: best API against best
    /// self-hosted option).
    pub against: Option<(OptionId, OptionId)>,
}

/// Every section's results.
pub struct Report {
    /// The run.
    pub run: RunResult,
    /// Its summary.
    pub summary: RunSummary,
    /// The traced paths of the fleet charts.
    pub traces: Vec<Vec<WeekTrace>>,
    /// The sweep, when the scenario has self-hosted and API options.
    pub sweep: Option<SweepResult>,
    /// The sensitivity analysis, with two options or more.
    pub sensitivity: Option<SensitivityResult>,
    /// The plan, or why there is none (no GPU in the catalogue fits).
    pub plan: std::result::Result<PlanResult, String>,
}

/// Run every section; `phase` is told which one starts.
pub fn build(
    e: &Engine,
    catalogue: &Catalogue,
    cfg: &ReportConfig,
    ctl: Controls<'_>,
    phase: &dyn Fn(&str),
) -> Result<Report> {
    let provenance =
        |e: &Engine| Provenance::new(e, &catalogue.origin, cfg.run.seed, cfg.run.sampler);
    phase("run");
    let (run, (payback, api_price)) = engine::run_with(
        e,
        &cfg.run,
        ctl,
        &|| (e.new_result(), (PaybackFold::new(e), ApiPriceFold::new(e))),
        None,
    )?;
    let traces = engine::trace(e, &cfg.run, engine::TRACED_PATHS, ctl)?;
    let mut summary = RunSummary::new(e, &run, provenance(e), cfg.against);
    summary.payback = payback.finish(e);
    summary.api_price_breakeven = api_price.finish(e);

    let sweep_engine = sweep::sweep_engine(&e.scenario, catalogue)?;
    let sweep = if sweep::pairs(&sweep_engine).is_empty() {
        None
    } else {
        phase("sweep");
        let (from, to) = sweep::default_range(&e.scenario);
        let base = sweep::grid(from, to, sweep::DEFAULT_POINTS, true);
        let volumes = sweep::refined_grid(&sweep_engine, &cfg.run, &base, true, ctl)?;
        let fold = sweep::run(&sweep_engine, &cfg.run, &volumes, ctl)?;
        Some(fold.finish(&sweep_engine, provenance(&sweep_engine)))
    };

    let sensitivity = if e.options.len() >= 2 {
        phase("sensitivity");
        Some(sensitivity::analyse(
            e,
            &catalogue.origin,
            &cfg.run,
            cfg.against,
            ctl,
        )?)
    } else {
        None
    };

    phase("plan");
    let plan = match plan::plan(
        &e.scenario,
        catalogue,
        &PlanConfig::new(cfg.run.clone()),
        ctl,
    ) {
        Ok(p) => Ok(p),
        // No GPU fits the model: the page says so; anything else stops the report.
        Err(Error::Input(p)) => Err(p.to_string()),
        Err(other) => return Err(other),
    };
    Ok(Report {
        run,
        summary,
        traces,
        sweep,
        sensitivity,
        plan,
    })
}

impl Report {
    /// The workbook: the same figures as the page, as numbers a spreadsheet can use.
    pub fn workbook(&self, e: &Engine, catalogue: &Catalogue) -> Result<Vec<u8>> {
        super::xlsx::workbook(&super::xlsx::WorkbookInputs {
            engine: e,
            catalogue,
            run: &self.summary,
            sweep: self.sweep.as_ref(),
            plan: self.plan.as_ref().ok(),
            sensitivity: self.sensitivity.as_ref(),
        })
    }

    /// The page.
    pub fn page(&self, e: &Engine, catalogue: &Catalogue) -> Result<String> {
        let months = e.scenario.horizon_months;
        let run_charts = views::run_charts(
            e,
            &self.run,
            &self.traces,
            &self.summary.payback,
            self.summary.provenance.seed,
        );
        let sweep_charts: Vec<(String, Chart)> = self
            .sweep
            .as_ref()
            .map(|r| views::sweep_charts(r, months))
            .unwrap_or_default();
        let tornado = self
            .sensitivity
            .as_ref()
            .map(|s| views::tornado_chart(s, months));
        html::render(&ReportInputs {
            engine: e,
            catalogue,
            run: &self.summary,
            run_charts: &run_charts,
            sweep: self.sweep.as_ref().map(|r| (r, sweep_charts.as_slice())),
            sensitivity: self.sensitivity.as_ref().zip(tornado.as_ref()),
            plan: self.plan.as_ref().ok(),
        })
    }
}
