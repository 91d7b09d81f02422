//! Cumulative cost over the horizon: per option the median cumulative cost month by month
//! over its p5–p95 band, and the month in which self-hosting's median overtakes the API's.

use super::frame::{self, LegendItem, Swatch, VMark};
use super::DrawResult;
use crate::money::format_usd_short;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Cumulative cost over the horizon.
#[derive(Debug, Clone, Default)]
pub struct CumulativeChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// One curve per option, in legend order.
    pub options: Vec<CumulativeCurve>,
    /// Overtakes to mark ([`overtake_month`] finds them); `month: None` is written as
    /// "not within N months".
    pub overtakes: Vec<Overtake>,
}

/// One option's cumulative cost.
#[derive(Debug, Clone, Default)]
pub struct CumulativeCurve {
    /// Legend label.
    pub label: String,
    /// Cumulative cost at the end of each month, in any order.
    pub points: Vec<MonthBand>,
}

/// Cumulative cost statistics at the end of one month.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MonthBand {
    /// Month from 1 (0 for the start, before any spending).
    pub month: u32,
    /// 5th percentile [USD].
    pub p5: f64,
    /// Median [USD].
    pub p50: f64,
    /// 95th percentile [USD].
    pub p95: f64,
}

/// The month in which one option's median cumulative cost falls below another's.
#[derive(Debug, Clone, Default)]
pub struct Overtake {
    /// What overtakes what, e.g. `4× L40S overtakes BFL API` (the chart adds `: month 7`).
    pub label: String,
    /// Month, fractional where the medians cross between month ends; `None` if never.
    pub month: Option<f64>,
}

/// When `challenger`'s median cumulative cost first falls below `incumbent`'s and stays below
/// to the end, interpolated linearly between month ends; `None` if it never does or is
/// cheaper from the first month (nothing to overtake). Months present in only one series are
/// ignored.
pub fn overtake_month(challenger: &[MonthBand], incumbent: &[MonthBand]) -> Option<f64> {
    let mut pairs: Vec<(f64, f64)> = challenger
        .iter()
        .filter_map(|c| {
            incumbent
                .iter()
                .find(|i| i.month == c.month)
                .map(|i| (c.month as f64, c.p50 - i.p50))
        })
        .filter(|(_, d)| d.is_finite())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let last = pairs.last()?;
    if last.1 >= 0.0 {
        return None;
    }
    // Walk back from the end to the last month at which the challenger was not cheaper.
    let k = pairs.iter().rposition(|p| p.1 >= 0.0)?;
    let ((m0, d0), (m1, d1)) = (pairs[k], pairs[k + 1]);
    Some(if d0 == d1 {
        m1
    } else {
        m0 + (m1 - m0) * d0 / (d0 - d1)
    })
}

/// `5` or `5.5`.
fn month_text(m: f64) -> String {
    if (m - m.round()).abs() < 0.05 {
        format!("{:.0}", m)
    } else {
        format!("{m:.1}")
    }
}

const X_DESC: &str = "month of the horizon";
const Y_DESC: &str = "cumulative cash spent ($)";

pub(super) fn draw<DB>(c: &CumulativeChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let curves: Vec<Vec<MonthBand>> = c
        .options
        .iter()
        .map(|o| {
            let mut v: Vec<MonthBand> = o
                .points
                .iter()
                .copied()
                .filter(|p| p.p5.is_finite() && p.p50.is_finite() && p.p95.is_finite())
                .collect();
            v.sort_by_key(|p| p.month);
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
                Swatch::Band {
                    colour: frame::colour(i),
                },
            )
        })
        .collect();
    if c.overtakes.iter().any(|o| o.month.is_some()) {
        legend.push(LegendItem::new(
            "overtake: the median month over the paths that overtake",
            Swatch::Line {
                colour: frame::REFERENCE,
                dashed: true,
            },
        ));
    }
    legend.push(LegendItem::new(
        "lines: median · bands: p5–p95 of cumulative cash",
        Swatch::Note,
    ));
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;

    let months = || curves.iter().flatten().map(|p| p.month);
    let Some(m_hi) = months().max() else {
        frame::no_data(&area, "no cumulative costs to show")?;
        root.present()?;
        return Ok(());
    };
    // From month 0, so that month 1 is not on the edge.
    let x0 = 0.0;
    let x1 = f64::from(m_hi.max(1));
    let top = curves
        .iter()
        .flatten()
        .map(|p| p.p95.max(p.p50))
        .fold(0.0, f64::max)
        .max(1.0);

    let marks: Vec<VMark> = c
        .overtakes
        .iter()
        .map(|o| match o.month.filter(|m| m.is_finite()) {
            Some(m) => VMark {
                x: Some(m),
                span: None,
                label: format!("{}: month {}", o.label, month_text(m)),
                colour: frame::REFERENCE,
            },
            None => VMark {
                x: None,
                span: None,
                label: format!("{}: not within {m_hi} months", o.label),
                colour: frame::REFERENCE,
            },
        })
        .collect();

    let ticks: Vec<f64> = {
        let step = match m_hi {
            0..=12 => 1,
            13..=36 => 3,
            37..=72 => 6,
            _ => 12,
        };
        (0..=m_hi.max(1)).step_by(step).map(f64::from).collect()
    };
    let mut builder = frame::builder(&area, 104);
    let (strip, plot_px) = {
        let probe = builder.build_cartesian_2d(
            frame::Axis::linear(x0, x1, 8),
            frame::Axis::linear(0.0, top, 8),
        )?;
        let (_, py) = probe.plotting_area().get_pixel_range();
        (frame::plan_strip(&probe, &marks)?, py.end - py.start)
    };
    let y_top = frame::nice_ceil(frame::top_with_strip(0.0, top, strip.height(), plot_px));
    let mut chart = builder.build_cartesian_2d(
        frame::Axis::with_ticks(x0, x1, ticks),
        frame::Axis::linear(0.0, y_top, 8),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), X_DESC, Y_DESC)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format_usd_short(*v))
        .draw()?;

    for (i, pts) in curves.iter().enumerate() {
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (f64::from(p.month), p.p95))
            .chain(pts.iter().rev().map(|p| (f64::from(p.month), p.p5)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(
            band,
            frame::colour(i).mix(frame::BAND_ALPHA).filled(),
        )))?;
    }
    frame::draw_marks(&mut chart, root, &marks, &strip)?;
    for (i, pts) in curves.iter().enumerate() {
        chart.draw_series(LineSeries::new(
            pts.iter().map(|p| (f64::from(p.month), p.p50)),
            frame::colour(i).stroke_width(frame::LINE_W),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(v: &[f64]) -> Vec<MonthBand> {
        v.iter()
            .enumerate()
            .map(|(m, &x)| MonthBand {
                month: m as u32 + 1,
                p5: x,
                p50: x,
                p95: x,
            })
            .collect()
    }

    #[test]
    fn overtake_interpolates_between_month_ends() {
        // Self-host: 10k up front then 2k a month; API: 4k a month. Equal at month 5.
        let sh = series(&[12e3, 14e3, 16e3, 18e3, 20e3, 22e3]);
        let api = series(&[4e3, 8e3, 12e3, 16e3, 20e3, 24e3]);
        assert_eq!(overtake_month(&sh, &api), Some(5.0));
        let api = series(&[4e3, 8e3, 12e3, 16e3, 19e3, 23e3]);
        assert_eq!(overtake_month(&sh, &api), Some(5.5));
        assert_eq!(overtake_month(&api, &sh), None);
        assert_eq!(overtake_month(&sh, &[]), None);
    }
}
