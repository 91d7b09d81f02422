//! Break-even chart: monthly cost of each option against monthly volume, median lines over
//! p5–p95 bands, and each break-even volume as a dashed line at its median over a shaded
//! p5–p95 span, labelled with the three volumes. Both axes are logarithmic: a per-image price
//! is then a straight diagonal and a flat fleet cost a horizontal line, and the crossing
//! stays readable whether it sits at $200 or $20,000 a month.

use super::frame::{self, LegendItem, Swatch, VMark};
use super::DrawResult;
use crate::money::{format_count_short, format_usd_short};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Monthly cost against monthly volume, with break-even volumes.
#[derive(Debug, Clone, Default)]
pub struct BreakEvenChart {
    /// What the chart shows, e.g. `Monthly cost by volume`.
    pub title: String,
    /// Context under the title (scenario, horizon, samples); may be empty.
    pub subtitle: String,
    /// One curve per option, in legend order.
    pub options: Vec<CostCurve>,
    /// Break-even volumes to mark; `p50: None` is written as "no break-even in range".
    pub breakevens: Vec<BreakEvenMark>,
}

/// One option's monthly cost at each volume.
#[derive(Debug, Clone, Default)]
pub struct CostCurve {
    /// Legend label, e.g. `BFL API (flux-dev)`.
    pub label: String,
    /// Colour: the option's place in the scenario (the palette repeats after eight).
    pub colour: usize,
    /// Points in any order; non-positive or non-finite volumes are skipped.
    pub points: Vec<VolumePoint>,
}

/// Monthly cost statistics at one monthly volume.
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumePoint {
    /// Monthly volume [images/month].
    pub volume: f64,
    /// 5th percentile of monthly cost [USD/month].
    pub p5: f64,
    /// Median monthly cost [USD/month].
    pub p50: f64,
    /// 95th percentile of monthly cost [USD/month].
    pub p95: f64,
    /// Mean monthly cost [USD/month]; carried for the caller's tables, not drawn.
    pub mean: f64,
    /// Share of paths on which the option cannot keep up at this volume: its line is dashed
    /// above 5% and ends above 50%, where its cost says nothing.
    pub p_over_capacity: f64,
}

/// A line is dashed where its fleet cannot keep up on more than this share of paths.
pub const STRAINED: f64 = 0.05;
/// A line ends where its fleet cannot keep up on more than this share of paths.
pub const OVERWHELMED: f64 = 0.5;

/// A break-even volume with its uncertainty. A missing bound means "outside the swept range".
#[derive(Debug, Clone, Default)]
pub struct BreakEvenMark {
    /// What breaks even against what, e.g. `4× L40S vs BFL API`.
    pub label: String,
    /// 5th percentile [images/month].
    pub p5: Option<f64>,
    /// Median [images/month].
    pub p50: Option<f64>,
    /// 95th percentile [images/month].
    pub p95: Option<f64>,
}

const X_DESC: &str = "monthly volume (images/month, log scale)";
const Y_DESC: &str = "monthly cost ($/month, log scale)";

fn vol(x: Option<f64>, edge: &str) -> String {
    match x {
        Some(v) => format_count_short(v),
        None => edge.to_string(),
    }
}

pub(super) fn draw<DB>(c: &BreakEvenChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // One colour per option, from its place in the scenario, in every chart of a run.
    let cols: Vec<usize> = c.options.iter().map(|o| o.colour).collect();
    let curves: Vec<(&str, Vec<VolumePoint>)> = c
        .options
        .iter()
        .map(|o| {
            let mut pts: Vec<VolumePoint> = o
                .points
                .iter()
                .copied()
                .filter(|p| {
                    p.volume.is_finite()
                        && p.volume > 0.0
                        && p.p5.is_finite()
                        && p.p50.is_finite()
                        && p.p95.is_finite()
                        && p.p50 > 0.0
                })
                .collect();
            pts.sort_by(|a, b| a.volume.total_cmp(&b.volume));
            // Past the first volume at which it cannot keep up on most paths, a fleet's
            // cost is not a cost of serving the demand: the line ends there.
            if let Some(k) = pts.iter().position(|p| p.p_over_capacity > OVERWHELMED) {
                pts.truncate(k);
            }
            (o.label.as_str(), pts)
        })
        .collect();
    // Which lines end before the grid does, because the fleet cannot keep up.
    let ended: Vec<bool> = c
        .options
        .iter()
        .map(|o| o.points.iter().any(|p| p.p_over_capacity > OVERWHELMED))
        .collect();
    let ends_early = ended.iter().any(|e| *e);
    let strained = curves
        .iter()
        .any(|(_, pts)| pts.iter().any(|p| p.p_over_capacity > STRAINED));

    let all = || curves.iter().flat_map(|(_, p)| p.iter());
    let lo = all().map(|p| p.volume).fold(f64::INFINITY, f64::min);
    let hi = all().map(|p| p.volume).fold(f64::NEG_INFINITY, f64::max);
    let top = all().map(|p| p.p95.max(p.p50)).fold(0.0, f64::max);
    let bottom = all()
        .flat_map(|p| [p.p5, p.p50])
        .filter(|y| *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !(lo.is_finite() && hi.is_finite()) {
        let area = frame::frame(root, &c.title, &c.subtitle, &[])?;
        frame::no_data(&area, "no cost curves to show")?;
        root.present()?;
        return Ok(());
    }
    // One volume only: widen to a decade around it so the axis still reads.
    let (lo, hi) = if hi > lo * 1.01 {
        (lo, hi)
    } else {
        (lo / 3.0, lo * 3.0)
    };

    let ok = |x: Option<f64>| x.filter(|v| v.is_finite() && *v > 0.0);
    let marks: Vec<VMark> = c
        .breakevens
        .iter()
        .map(|b| BreakEvenMark {
            label: b.label.clone(),
            p5: ok(b.p5),
            p50: ok(b.p50),
            p95: ok(b.p95),
        })
        .map(|b| match b.p50 {
            Some(m) if m < lo || m > hi => VMark {
                x: None,
                span: None,
                label: format!(
                    "{}: {} images/month, outside the chart (p5–p95 {}–{})",
                    b.label,
                    format_count_short(m),
                    vol(b.p5, "below range"),
                    vol(b.p95, "beyond range")
                ),
                colour: frame::REFERENCE,
            },
            Some(m) => VMark {
                x: Some(m),
                span: Some((b.p5.unwrap_or(lo), b.p95.unwrap_or(hi))),
                label: format!(
                    "{}: {} images/month (p5–p95 {}–{})",
                    b.label,
                    format_count_short(m),
                    vol(b.p5, "below range"),
                    vol(b.p95, "beyond range")
                ),
                colour: frame::REFERENCE,
            },
            None => VMark {
                x: None,
                span: b.p5.map(|a| (a, b.p95.unwrap_or(hi))),
                label: match b.p5 {
                    Some(p5) => format!(
                        "{}: no median break-even in range ({}–{} images/month); p5 {}",
                        b.label,
                        format_count_short(lo),
                        format_count_short(hi),
                        format_count_short(p5)
                    ),
                    None => format!(
                        "{}: no break-even in range ({}–{} images/month)",
                        b.label,
                        format_count_short(lo),
                        format_count_short(hi)
                    ),
                },
                colour: frame::REFERENCE,
            },
        })
        .collect();

    let mut legend: Vec<LegendItem> = curves
        .iter()
        .enumerate()
        .map(|(i, (label, _))| {
            LegendItem::new(
                label.to_string(),
                Swatch::Band {
                    colour: frame::colour(cols[i]),
                },
            )
        })
        .collect();
    if marks.iter().any(|m| m.x.is_some() || m.span.is_some()) {
        legend.push(LegendItem::new(
            "break-even: median, p5–p95",
            Swatch::Span {
                colour: frame::REFERENCE,
            },
        ));
    }
    legend.push(LegendItem::new(
        "lines: median · bands: p5–p95 of monthly cost",
        Swatch::Note,
    ));
    if strained || ends_early {
        legend.push(LegendItem::new(
            "dashed: the fleet cannot keep up on over 5% of paths · ✕ line ends: on most paths",
            Swatch::Note,
        ));
    }
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;

    // Costs below a cent a month are not worth a decade of axis.
    let y0 = frame::nice_floor(bottom.max(0.01));
    let top = top.max(y0 * 10.0);
    let mut builder = frame::builder(&area, 104);
    let (strip, plot_px) = {
        let probe =
            builder.build_cartesian_2d(frame::Axis::log(lo, hi), frame::Axis::log(y0, top))?;
        let (_, py) = probe.plotting_area().get_pixel_range();
        (frame::plan_strip(&probe, &marks)?, py.end - py.start)
    };
    let y_top = frame::log_top_with_strip(y0, top, strip.height(), plot_px);
    let mut chart =
        builder.build_cartesian_2d(frame::Axis::log(lo, hi), frame::Axis::log(y0, y_top))?;
    let clamp = |y: f64| y.clamp(y0, y_top);

    frame::style_mesh(&mut chart.configure_mesh(), X_DESC, Y_DESC)
        .x_label_formatter(&|v| format_count_short(*v))
        .y_label_formatter(&|v| format_usd_short(*v))
        .draw()?;

    for (i, (_, pts)) in curves.iter().enumerate() {
        let col = frame::colour(cols[i]);
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.volume, clamp(p.p95)))
            .chain(pts.iter().rev().map(|p| (p.volume, clamp(p.p5))))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(
            band,
            col.mix(frame::BAND_ALPHA).filled(),
        )))?;
    }
    frame::draw_marks(&mut chart, root, &marks, &strip)?;
    for (i, (_, pts)) in curves.iter().enumerate() {
        let style = frame::colour(cols[i]).stroke_width(frame::LINE_W);
        // Solid while the fleet keeps up on 95% of paths, dashed from the last such point on.
        let solid = pts
            .iter()
            .position(|p| p.p_over_capacity > STRAINED)
            .unwrap_or(pts.len());
        chart.draw_series(LineSeries::new(
            pts[..solid].iter().map(|p| (p.volume, clamp(p.p50))),
            style,
        ))?;
        if solid < pts.len() {
            let from = solid.saturating_sub(1);
            chart.draw_series(DashedLineSeries::new(
                pts[from..].iter().map(|p| (p.volume, clamp(p.p50))),
                8,
                6,
                style,
            ))?;
        }
        if let (Some(last), true) = (pts.last(), ended[i]) {
            chart.draw_series(std::iter::once(Cross::new(
                (last.volume, clamp(last.p50)),
                7,
                frame::colour(cols[i]).stroke_width(frame::LINE_W),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}
