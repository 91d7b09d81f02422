//! `summary.csv`: the run's table as a spreadsheet reads it, one row per option, every figure
//! a plain number (dollars, shares 0–1) with its unit in the column name.

use super::summary::RunSummary;
use crate::error::{Error, Result};

/// The columns of `summary.csv`, in order.
pub const SUMMARY_COLUMNS: [&str; 17] = [
    "option",
    "kind",
    "serves",
    "monthly_p50_usd",
    "monthly_p5_usd",
    "monthly_p95_usd",
    "monthly_mean_usd",
    "monthly_mean_std_error_usd",
    "total_mean_usd",
    "total_mean_std_error_usd",
    "per_asset_usd",
    "per_image_usd",
    "utilisation",
    "overflow_share",
    "p_cheapest",
    "p_cheapest_std_error",
    "p_over_capacity",
];

/// `summary.csv` of `r`.
pub fn summary_csv(r: &RunSummary) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| Error::Invariant(format!("writing summary.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(SUMMARY_COLUMNS).map_err(fail)?;
    // Figures that do not apply (an API's utilisation) are empty, not 0.
    let opt = |applies: bool, x: f64| {
        if applies {
            x.to_string()
        } else {
            String::new()
        }
    };
    for o in &r.options {
        let m = &o.monthly_cost_usd;
        w.write_record([
            o.id.clone(),
            o.kind.to_string(),
            o.serves.clone(),
            m.p50.to_string(),
            m.p5.to_string(),
            m.p95.to_string(),
            m.mean.to_string(),
            m.std_error.to_string(),
            o.total_cost_usd.mean.to_string(),
            o.total_cost_usd.std_error.to_string(),
            o.cost_per_asset_usd.value.to_string(),
            o.cost_per_image_usd.value.to_string(),
            opt(o.kind != "api", o.utilisation.value),
            opt(o.kind == "hybrid", o.overflow_share.value),
            o.p_cheapest.to_string(),
            o.p_cheapest_std_error.to_string(),
            o.p_over_capacity.to_string(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Invariant(format!("writing summary.csv: {e}")))
}
