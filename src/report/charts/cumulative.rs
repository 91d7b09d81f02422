//! Cost month by month (cumulative cash, or each month's own cost): per option the median
//! over its p5–p95 band, and the month in which self-hosting's median overtakes the API's.
//! An API's band is often ten times wider than a fleet's, which flattens the self-hosted
//! lines into one; then a second panel shows the same curves scaled to the self-hosted
//! options (the API's median cut at its top). A zoom keeps dollars linear, so differences read
//! straight off the axis, where a log axis would squeeze the months that matter.

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
    /// The y axis label with its unit; empty for cumulative cash.
    pub y_label: String,
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
    /// Colour: the option's place in the scenario (the palette repeats after eight).
    pub colour: usize,
    /// Whether the zoomed panel's scale is fitted to this curve (self-hosted options, whose
    /// lines a wide API band would otherwise flatten).
    pub zoom: bool,
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

/// The pieces of polyline `pts` at or under `top` (the parts above are cut away exactly at
/// `top`): plotters does not clip series to the plot area.
fn clip_top(pts: &[(f64, f64)], top: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let cut = |a: (f64, f64), b: (f64, f64)| (a.0 + (b.0 - a.0) * (top - a.1) / (b.1 - a.1), top);
    for (i, &p) in pts.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| pts[j]);
        match (prev, p.1 <= top) {
            (None, true) => cur.push(p),
            (None, false) => {}
            (Some(q), true) => {
                if q.1 > top {
                    cur.push(cut(q, p));
                }
                cur.push(p);
            }
            (Some(q), false) => {
                if q.1 <= top {
                    cur.push(cut(q, p));
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|v| v.len() > 1);
    out
}

/// One panel: every curve's band and median up to `y_top`; `only` limits the bands to the
/// curves it marks (the others' medians are drawn, cut at the top).
#[allow(clippy::too_many_arguments)]
fn panel<DB>(
    area: &DrawingArea<DB, Shift>,
    root: &DrawingArea<DB, Shift>,
    curves: &[Vec<MonthBand>],
    cols: &[usize],
    marks: &[VMark],
    top: f64,
    m_hi: u32,
    y_desc: &str,
    x_desc: &str,
    only: Option<&[bool]>,
    bottom_px: u32,
) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (x0, x1) = (0.0, f64::from(m_hi.max(1)));
    let ticks: Vec<f64> = {
        let step = match m_hi {
            0..=12 => 1,
            13..=36 => 3,
            37..=72 => 6,
            _ => 12,
        };
        (0..=m_hi.max(1)).step_by(step).map(f64::from).collect()
    };
    let mut builder = frame::builder(area, 104);
    builder.x_label_area_size(bottom_px);
    let (strip, plot_px) = {
        let probe = builder.build_cartesian_2d(
            frame::Axis::linear(x0, x1, 8),
            frame::Axis::linear(0.0, top, 6),
        )?;
        let (_, py) = probe.plotting_area().get_pixel_range();
        (frame::plan_strip(&probe, marks)?, py.end - py.start)
    };
    let y_top = frame::nice_ceil(frame::top_with_strip(0.0, top, strip.height(), plot_px));
    let mut chart = builder.build_cartesian_2d(
        frame::Axis::with_ticks(x0, x1, ticks),
        frame::Axis::linear(0.0, y_top, 6),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), x_desc, y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format_usd_short(*v))
        .draw()?;
    let in_band = |i: usize| only.is_none_or(|o| o[i]);
    for (i, pts) in curves.iter().enumerate() {
        if !in_band(i) {
            continue;
        }
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (f64::from(p.month), p.p95.min(y_top)))
            .chain(
                pts.iter()
                    .rev()
                    .map(|p| (f64::from(p.month), p.p5.min(y_top))),
            )
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(
            band,
            frame::colour(cols[i]).mix(frame::BAND_ALPHA).filled(),
        )))?;
    }
    frame::draw_marks(&mut chart, root, marks, &strip)?;
    for (i, pts) in curves.iter().enumerate() {
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (f64::from(p.month), p.p50)).collect();
        for piece in clip_top(&line, y_top) {
            chart.draw_series(LineSeries::new(
                piece,
                frame::colour(cols[i]).stroke_width(frame::LINE_W),
            ))?;
        }
    }
    Ok(())
}

pub(super) fn draw<DB>(c: &CumulativeChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // One colour per option, from its place in the scenario, in every chart of a run.
    let cols: Vec<usize> = c.options.iter().map(|o| o.colour).collect();
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
    let top_of = |keep: &dyn Fn(usize) -> bool| {
        curves
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .flat_map(|(_, v)| v.iter())
            .map(|p| p.p95.max(p.p50))
            .fold(0.0, f64::max)
            .max(1.0)
    };
    let top = top_of(&|_| true);
    let zoom: Vec<bool> = c.options.iter().map(|o| o.zoom).collect();
    // The zoomed scale fits the self-hosted medians (their bands are cut at its top): it is
    // the lines that a wide API band flattens.
    let zoom_top = curves
        .iter()
        .enumerate()
        .filter(|(i, _)| zoom[*i])
        .flat_map(|(_, v)| v.iter())
        .map(|p| p.p50)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.15;
    // A second panel when the zoomed curves would fill under 60% of the full scale.
    let two = zoom.iter().any(|z| *z) && zoom.iter().any(|z| !*z) && zoom_top < 0.6 * top;
    let y_desc = if c.y_label.is_empty() {
        Y_DESC
    } else {
        c.y_label.as_str()
    };
    let mut legend: Vec<LegendItem> = c
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            LegendItem::new(
                o.label.clone(),
                Swatch::Band {
                    colour: frame::colour(cols[i]),
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
        if two {
            "lines: median · bands: p5–p95 · lower panel: scaled to the self-hosted medians"
        } else {
            "lines: median · bands: p5–p95"
        },
        Swatch::Note,
    ));
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;

    let Some(m_hi) = curves.iter().flatten().map(|p| p.month).max() else {
        frame::no_data(
            &area,
            if c.y_label.is_empty() {
                "no cumulative costs to show"
            } else {
                "no costs to show"
            },
        )?;
        root.present()?;
        return Ok(());
    };
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
    if two {
        let (_, h) = area.dim_in_pixel();
        let (upper, lower) = area.split_vertically((h as i32 - 62) * 38 / 100);
        panel(
            &upper,
            root,
            &curves,
            &cols,
            &[],
            top,
            m_hi,
            "all options",
            "",
            None,
            28,
        )?;
        panel(
            &lower,
            root,
            &curves,
            &cols,
            &marks,
            zoom_top,
            m_hi,
            "self-hosted, zoomed",
            X_DESC,
            Some(&zoom),
            62,
        )?;
    } else {
        panel(
            &area, root, &curves, &cols, &marks, top, m_hi, y_desc, X_DESC, None, 62,
        )?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_at_the_top() {
        let p = [(0.0, 0.0), (1.0, 10.0), (2.0, 0.0), (3.0, 20.0)];
        assert_eq!(
            clip_top(&p, 5.0),
            vec![
                vec![(0.0, 0.0), (0.5, 5.0)],
                vec![(1.5, 5.0), (2.0, 0.0), (2.25, 5.0)]
            ]
        );
        assert_eq!(clip_top(&p, 100.0), vec![p.to_vec()]);
    }

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
