//! `samples.csv`: one row per path and option, with the path's inputs, for readers who want
//! to redo any statistic themselves.

use crate::engine::{Engine, PathResult};
use crate::error::{Error, Result};
use std::io::Write;

/// Writes the rows of `samples.csv` as paths arrive (in path order).
pub struct SamplesCsv<W: Write> {
    w: csv::Writer<W>,
    ids: Vec<String>,
}

fn io(e: csv::Error) -> Error {
    Error::Io {
        path: "samples.csv".into(),
        source: e.into(),
    }
}

impl<W: Write> SamplesCsv<W> {
    /// Start the file: the header, with one column per input of `engine`'s scenario.
    pub fn new(out: W, engine: &Engine) -> Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        let mut header: Vec<String> = [
            "path",
            "option",
            "total_cost_usd",
            "monthly_cost_usd",
            "cost_per_asset_usd",
            "assets",
            "fleet_images",
            "overflow_images",
            "busy_gpu_seconds",
            "capacity_gpu_seconds",
            "utilisation",
            "p95_queue_delay_s",
            "licence_overage_images",
            "over_capacity",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        header.extend(engine.scenario.inputs.iter().map(|i| i.name.clone()));
        w.write_record(&header).map_err(io)?;
        Ok(SamplesCsv {
            w,
            ids: engine.options.iter().map(|o| o.id.clone()).collect(),
        })
    }

    /// Add the rows of `paths`.
    pub fn write(&mut self, paths: &[PathResult]) -> Result<()> {
        for p in paths {
            for (o, r) in p.options.iter().enumerate() {
                let mut rec = vec![
                    p.path.to_string(),
                    self.ids[o].clone(),
                    r.total_usd.to_string(),
                    r.monthly_mean_usd().to_string(),
                    r.cost_per_asset_usd().to_string(),
                    r.assets.to_string(),
                    r.fleet_images.to_string(),
                    r.overflow_images.to_string(),
                    r.busy_seconds.to_string(),
                    r.capacity_seconds.to_string(),
                    r.utilisation().to_string(),
                    r.p95_wait_s.to_string(),
                    r.licence_overage_images.to_string(),
                    r.over_capacity().to_string(),
                ];
                rec.extend(p.inputs.iter().map(|x| x.to_string()));
                self.w.write_record(&rec).map_err(io)?;
            }
        }
        Ok(())
    }

    /// Flush and hand back the writer.
    pub fn finish(self) -> Result<W> {
        self.w
            .into_inner()
            .map_err(|e| io(csv::Error::from(e.into_error())))
    }
}
