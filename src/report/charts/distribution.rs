//! Cost distributions of one run: per option the empirical CDF of a cost (total over the
//! horizon, or an average month), each median marked by a dashed line and a label.

use super::frame::{self, LegendItem, Swatch, VMark};
use super::DrawResult;
use crate::money::format_usd_tick;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Cost distributions of one run, as CDFs.
#[derive(Debug, Clone, Default)]
pub struct DistributionChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// The cost on the x axis with its unit, e.g. `total cost over 24 months ($)` or
    /// `average monthly cost ($/month)`.
    pub x_label: String,
    /// One sample per option, in legend order.
    pub options: Vec<CostSample>,
}

/// One option's simulated costs.
#[derive(Debug, Clone, Default)]
pub struct CostSample {
    /// Legend label.
    pub label: String,
    /// Colour: the option's place in the scenario (the palette repeats after eight).
    pub colour: usize,
    /// Costs of the simulated paths [USD], in any order; non-finite values are skipped.
    pub sample: Vec<f64>,
}

/// Points drawn per CDF: a smooth curve at 1200 px, whatever the sample size. More, shorter
/// segments draw ragged in the bitmap backend, whose thick lines have no joins.
const CDF_POINTS: usize = 160;

const Y_DESC: &str = "share of simulated paths costing at most x (%)";

/// `(cost, share)` points of the empirical CDF of sorted `v` at `CDF_POINTS + 1` evenly
/// spaced shares (fewer for small samples), joined by straight lines: the staircase of a
/// large sample is finer than a pixel, and drawn step by step it only looks ragged.
fn cdf(v: &[f64]) -> Vec<(f64, f64)> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![(v[0], 0.0), (v[0], 1.0)];
    }
    let m = CDF_POINTS.min(n - 1);
    (0..=m)
        .map(|k| {
            let q = k as f64 / m as f64;
            (v[((n - 1) as f64 * q).round() as usize], q)
        })
        .collect()
}

/// The `q` quantile of sorted non-empty `v` (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Median of sorted non-empty `v`.
fn median(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

pub(super) fn draw<DB>(c: &DistributionChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // One colour per option, from its place in the scenario, in every chart of a run.
    let cols: Vec<usize> = c.options.iter().map(|o| o.colour).collect();
    let samples: Vec<Vec<f64>> = c
        .options
        .iter()
        .map(|o| {
            let mut v: Vec<f64> = frame::finite(&o.sample).collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let mut legend: Vec<LegendItem> = c
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            LegendItem::new(
                o.label.clone(),
                Swatch::Line {
                    colour: frame::colour(cols[i]),
                    dashed: false,
                },
            )
        })
        .collect();
    legend.push(LegendItem::new(
        "dashed: medians · x axis: 0.5th–99.5th percentiles",
        Swatch::Note,
    ));
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;

    // Far tails of thousands of paths would squeeze the bulk into a corner: show the middle
    // 99% of every sample; the curves run on off the edge.
    let lo = samples
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| quantile(v, 0.005))
        .fold(f64::INFINITY, f64::min);
    let hi = samples
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| quantile(v, 0.995))
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        frame::no_data(&area, "no simulated costs to show")?;
        root.present()?;
        return Ok(());
    }
    // Costs are not negative: start at zero when the data come near it, else pad a little.
    let pad = ((hi - lo) * 0.04).max(hi.abs() * 0.02).max(1.0);
    let x0 = if lo >= 0.0 && lo < 0.25 * hi {
        0.0
    } else if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    let x1 = hi + pad;

    let step = frame::tick_step(x0, x1, 10);
    let marks: Vec<VMark> = c
        .options
        .iter()
        .zip(&samples)
        .enumerate()
        .filter(|(_, (_, v))| !v.is_empty())
        .map(|(i, (o, v))| {
            let m = median(v);
            VMark {
                x: Some(m),
                span: None,
                label: format!("{} median: {}", o.label, format_usd_tick(m, step / 10.0)),
                colour: frame::colour(cols[i]),
            }
        })
        .collect();

    let ticks: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    let mut builder = frame::builder(&area, 104);
    let (strip, plot_px) = {
        let probe = builder.build_cartesian_2d(
            frame::Axis::linear(x0, x1, 10),
            frame::Axis::with_ticks(0.0, 1.0, ticks.clone()),
        )?;
        let (_, py) = probe.plotting_area().get_pixel_range();
        (frame::plan_strip(&probe, &marks)?, py.end - py.start)
    };
    // The y axis runs past 100% only to make room for the median labels; ticks stop at 100%.
    let y_top = frame::top_with_strip(0.0, 1.0, strip.height(), plot_px).max(1.0);
    let mut chart = builder.build_cartesian_2d(
        frame::Axis::linear(x0, x1, 10),
        frame::Axis::with_ticks(0.0, y_top, ticks),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), &c.x_label, Y_DESC)
        .x_label_formatter(&|v| format_usd_tick(*v, step))
        .y_label_formatter(&|v| frame::pct(*v))
        .x_labels(10)
        .draw()?;

    frame::draw_marks(&mut chart, root, &marks, &strip)?;
    for (i, v) in samples.iter().enumerate() {
        chart.draw_series(LineSeries::new(
            frame::clip_x(&cdf(v), x0, x1),
            frame::colour(cols[i]).stroke_width(frame::LINE_W),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_runs_from_zero_to_one() {
        let v: Vec<f64> = (0..10_000).map(f64::from).collect();
        let c = cdf(&v);
        assert_eq!(c.len(), CDF_POINTS + 1);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(9_999.0, 1.0)));
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(median(&[1.0, 2.0, 4.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 8.0]), 3.0);
    }
}
