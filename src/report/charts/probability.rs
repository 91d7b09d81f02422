//! Probability that self-hosting is cheaper than an API, against monthly volume (log axis):
//! one line per self-host/API pair, with the 50% line for reference.

use super::frame::{self, LegendItem, Swatch};
use super::DrawResult;
use crate::money::format_count_short;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Probability that self-hosting is cheaper, against monthly volume.
#[derive(Debug, Clone, Default)]
pub struct ProbabilityChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// One curve per self-host/API pair, in legend order.
    pub pairs: Vec<ProbabilityCurve>,
}

/// One pair's probability curve.
#[derive(Debug, Clone, Default)]
pub struct ProbabilityCurve {
    /// Legend label, e.g. `4× L40S cheaper than BFL API`.
    pub label: String,
    /// Colour: the self-hosted option's place in the scenario.
    pub colour: usize,
    /// Points in any order; non-positive or non-finite volumes are skipped.
    pub points: Vec<ProbabilityPoint>,
}

/// The probability at one volume.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProbabilityPoint {
    /// Monthly volume [images/month].
    pub volume: f64,
    /// Probability that the self-hosted option is cheaper [0–1].
    pub p: f64,
}

const X_DESC: &str = "monthly volume (images/month, log scale)";
const Y_DESC: &str = "probability self-hosting is cheaper (%)";

pub(super) fn draw<DB>(c: &ProbabilityChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // One colour per option, from its place in the scenario, in every chart of a run.
    let cols: Vec<usize> = c.pairs.iter().map(|o| o.colour).collect();
    let curves: Vec<Vec<(f64, f64)>> = c
        .pairs
        .iter()
        .map(|pair| {
            let mut pts: Vec<(f64, f64)> = pair
                .points
                .iter()
                .filter(|p| p.volume.is_finite() && p.volume > 0.0 && p.p.is_finite())
                .map(|p| (p.volume, p.p.clamp(0.0, 1.0)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts
        })
        .collect();
    let mut legend: Vec<LegendItem> = c
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            LegendItem::new(
                p.label.clone(),
                Swatch::Line {
                    colour: frame::colour(cols[i]),
                    dashed: false,
                },
            )
        })
        .collect();
    legend.push(LegendItem::new(
        "50%: as likely cheaper as not",
        Swatch::Line {
            colour: frame::REFERENCE,
            dashed: true,
        },
    ));
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;

    let lo = curves
        .iter()
        .flatten()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min);
    let hi = curves
        .iter()
        .flatten()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        frame::no_data(&area, "no probability curves to show")?;
        root.present()?;
        return Ok(());
    }
    let (lo, hi) = if hi > lo * 1.01 {
        (lo, hi)
    } else {
        (lo / 3.0, lo * 3.0)
    };

    let mut chart = frame::builder(&area, 104).build_cartesian_2d(
        frame::Axis::log(lo, hi),
        frame::Axis::with_ticks(0.0, 1.0, (0..=10).map(|i| i as f64 / 10.0).collect()),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), X_DESC, Y_DESC)
        .x_label_formatter(&|v| format_count_short(*v))
        .y_label_formatter(&|v| frame::pct(*v))
        .draw()?;

    chart.draw_series(DashedLineSeries::new(
        vec![(lo, 0.5), (hi, 0.5)],
        9,
        6,
        frame::REFERENCE.stroke_width(2),
    ))?;
    for (i, pts) in curves.iter().enumerate() {
        chart.draw_series(LineSeries::new(
            pts.iter().copied(),
            frame::colour(cols[i]).stroke_width(frame::LINE_W),
        ))?;
    }
    root.present()?;
    Ok(())
}
