//! `breakeven run`: simulate a scenario and report every option's cost.

use super::common::{self, RunFlags};
use breakeven::analysis::payback::PaybackFold;
use breakeven::engine::{self, PathResult};
use breakeven::report::{
    files::AtomicFile,
    summary::{Provenance, RunSummary},
    table,
};
use breakeven::Catalogue;
use std::path::PathBuf;

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub run: RunFlags,
    /// Print the summary as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let engine = common::load_engine(catalogue, &a.scenario)?;
    let mut cfg = a.run.config(&engine)?;
    // Trace the first paths hour by hour for the fleet charts.
    cfg.trace_paths = cfg.samples.min(100);
    let dir = a.run.out_dir(&engine);
    breakeven::report::files::ensure_dir(&dir)?;
    let cancel = common::cancel_flag();
    let bar = common::progress(cfg.samples);
    let mut csv_file = AtomicFile::create(&dir.join("samples.csv"))?;
    let names: Vec<String> = engine
        .scenario
        .inputs
        .iter()
        .map(|i| i.name.clone())
        .collect();
    let ids: Vec<String> = engine.options.iter().map(|o| o.id.clone()).collect();
    let mut payback = PaybackFold::new(&engine);
    let result = {
        let mut w = csv::Writer::from_writer(csv_file.writer());
        let mut header = vec![
            "path",
            "option",
            "total_cost_usd",
            "monthly_cost_usd",
            "cost_per_image_usd",
            "assets",
            "fleet_images",
            "overflow_images",
            "utilisation",
            "p95_queue_delay_s",
            "licence_overage_images",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        header.extend(names.iter().cloned());
        w.write_record(&header)?;
        let mut sink = |batch: &[PathResult]| -> breakeven::Result<()> {
            for p in batch {
                payback.add(&engine, p);
                for (o, r) in p.options.iter().enumerate() {
                    let mut rec = vec![
                        p.path.to_string(),
                        ids[o].clone(),
                        r.total_usd.to_string(),
                        r.monthly_mean_usd().to_string(),
                        r.cost_per_asset_usd().to_string(),
                        r.assets.to_string(),
                        r.fleet_images.to_string(),
                        r.overflow_images.to_string(),
                        r.utilisation.to_string(),
                        r.p95_wait_s.to_string(),
                        r.licence_overage_images.to_string(),
                    ];
                    rec.extend(p.inputs.iter().map(|x| x.to_string()));
                    w.write_record(&rec).map_err(|e| breakeven::Error::Io {
                        path: "samples.csv".into(),
                        source: e.into(),
                    })?;
                }
            }
            Ok(())
        };
        let r = engine::run(
            &engine,
            &cfg,
            &cancel,
            &|n| bar.set_position(n),
            Some(&mut sink),
        )?;
        w.flush()?;
        r
    };
    bar.finish_and_clear();
    let mut summary = RunSummary::new(
        &engine,
        &result,
        Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler),
    );
    summary.payback = payback.finish(&engine);
    if result.interrupted {
        drop(csv_file);
        eprintln!("interrupted after {} of {} paths; nothing written, earlier results in {} are unchanged", result.samples, cfg.samples, dir.display());
        print!("{}", table::render(&summary));
        std::process::exit(130);
    }
    let json = serde_json::to_string_pretty(&summary)? + "\n";
    let csv_path = csv_file.commit()?;
    let summary_path =
        breakeven::report::files::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    let charts = breakeven::report::views::write_all(
        &breakeven::report::views::run_charts(&engine, &result, cfg.seed),
        &dir,
    )?;
    if a.json {
        print!("{json}");
    } else {
        print!("{}", table::render(&summary));
        eprintln!(
            "wrote {}, {} and {} charts (PNG and SVG) in {}",
            summary_path.display(),
            csv_path.display(),
            charts.len() / 2,
            dir.display()
        );
    }
    Ok(())
}
