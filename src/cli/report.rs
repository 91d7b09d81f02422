//! `breakeven report`: run everything on a scenario and write one self-contained HTML page.

use super::common::{self, RunFlags};
use breakeven::analysis::plan::{plan, Objective, PlanConfig};
use breakeven::analysis::{sensitivity, sweep};
use breakeven::engine;
use breakeven::report::html::{render, ReportInputs};
use breakeven::report::summary::{Provenance, RunSummary};
use breakeven::report::{files, views};
use breakeven::Catalogue;
use std::path::PathBuf;

/// Flags of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunFlags,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario)?;
    let mut cfg = a.run.config(&engine)?;
    cfg.trace_paths = cfg.samples.min(100);
    let dir = a.run.out_dir(&engine);
    files::ensure_dir(&dir)?;
    let cancel = common::cancel_flag();
    eprintln!("running {} paths…", cfg.samples);
    let mut payback = breakeven::analysis::payback::PaybackFold::new(&engine);
    let result = engine::run(
        &engine,
        &cfg,
        &cancel,
        &|_| {},
        Some(&mut |b| {
            b.iter().for_each(|p| payback.add(&engine, p));
            Ok(())
        }),
    )?;
    if result.interrupted {
        eprintln!("interrupted; no report written");
        std::process::exit(130);
    }
    let mut summary = RunSummary::new(
        &engine,
        &result,
        Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler),
    );
    summary.payback = payback.finish(&engine);
    let run_charts = views::run_charts(&engine, &result, cfg.seed);

    let sweep_engine = sweep::sweep_engine(&engine.scenario, catalogue)?;
    let sweep_result = if sweep::pairs(&sweep_engine).is_empty() {
        None
    } else {
        eprintln!("sweeping volumes…");
        let (from, to) = sweep::default_range(&engine.scenario);
        let volumes = sweep::grid(from, to, 25, true);
        let mut scfg = cfg.clone();
        scfg.samples = cfg.samples.min(500);
        scfg.trace_paths = 0;
        let mut fold = sweep::Fold::new(&sweep_engine, &volumes);
        sweep::run(
            &sweep_engine,
            &scfg,
            &volumes,
            None,
            &cancel,
            &|_| {},
            &mut |b| b.iter().try_for_each(|p| fold.add(p)),
        )?;
        Some(fold.finish(
            &sweep_engine,
            Provenance::new(&sweep_engine, &catalogue.origin, scfg.seed, scfg.sampler),
        ))
    };
    let sweep_charts = sweep_result
        .as_ref()
        .map(|r| views::sweep_charts(r, engine.scenario.horizon_months))
        .unwrap_or_default();

    let sens = if engine.options.len() >= 2 {
        eprintln!("sensitivity…");
        let mut c = cfg.clone();
        c.samples = cfg.samples.min(1000);
        c.trace_paths = 0;
        Some(sensitivity::analyse(
            &engine,
            &catalogue.origin,
            &c,
            &cancel,
        )?)
    } else {
        None
    };
    let tornado = sens
        .as_ref()
        .map(|s| views::tornado_chart(s, engine.scenario.horizon_months));

    eprintln!("planning…");
    let mut pc = cfg.clone();
    pc.samples = cfg.samples.min(500);
    pc.trace_paths = 0;
    let plan_result = plan(
        &engine.scenario,
        catalogue,
        &PlanConfig {
            objective: Objective::Mean,
            latency_p95_s: Some(3600.0),
            screen_paths: 100,
            finalists: 6,
            run: pc,
        },
        &cancel,
    )
    .ok();

    let page = render(&ReportInputs {
        engine: &engine,
        catalogue,
        run: &summary,
        run_charts: &run_charts,
        sweep: sweep_result.as_ref().map(|r| (r, sweep_charts.as_slice())),
        sensitivity: sens.as_ref().zip(tornado.as_ref()),
        plan: plan_result.as_ref(),
    })?;
    let path = files::write_atomic(&dir.join("report.html"), page.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}
