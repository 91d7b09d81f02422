//! Tornado chart: how far a headline number moves when one uncertain input goes from its p10
//! to its p90 value with the others held at their medians. One horizontal bar per input, the
//! widest swing on top, drawn from the baseline to the headline at each end and labelled
//! with the input's value there.

use super::frame::{self, HPos, LegendItem, Pos, Swatch, VPos};
use super::DrawResult;
use crate::money::{format_count_short, format_usd_tick};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Sensitivity of a headline number to each uncertain input.
#[derive(Debug, Clone, Default)]
pub struct TornadoChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// The headline number in words, e.g. `median monthly saving of self-hosting`.
    pub headline: String,
    /// Its unit as written in the axis label, e.g. `$/month`.
    pub unit: String,
    /// How to write tick labels.
    pub format: TickFormat,
    /// The headline with every input at its median [unit].
    pub baseline: f64,
    /// One bar per input, in any order (they are ranked by swing).
    pub bars: Vec<TornadoBar>,
}

/// How tick labels of a value axis are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TickFormat {
    /// Dollars with k/M suffixes: `$1.5k`.
    #[default]
    Usd,
    /// Counts with k/M suffixes: `140k`.
    Count,
    /// A share 0–1 as a percentage: `40%`.
    Percent,
    /// A plain number.
    Number,
}

impl TickFormat {
    /// A tick `v` on an axis whose ticks are about `step` apart.
    fn format(self, v: f64, step: f64) -> String {
        match self {
            TickFormat::Usd => format_usd_tick(v, step),
            TickFormat::Count => format_count_short(v),
            TickFormat::Percent => frame::pct(v),
            TickFormat::Number => {
                let s = format!("{v:.3}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
    }
}

/// One input's bar.
#[derive(Debug, Clone, Default)]
pub struct TornadoBar {
    /// The input's name, e.g. `monthly volume`.
    pub input: String,
    /// The input's p10 value, written for people, e.g. `800k images/month`.
    pub low_label: String,
    /// The input's p90 value, written for people.
    pub high_label: String,
    /// The headline with this input at its p10 [unit].
    pub at_low: f64,
    /// The headline with this input at its p90 [unit].
    pub at_high: f64,
}

/// The labels at a bar's ends: `(where, text)`. When both ends fall on the same side of the
/// baseline, one label at the far end names both, the far one first, so that the near one is
/// not written over the longer bar.
fn end_labels(b: &TornadoBar, base: f64) -> Vec<(f64, String)> {
    let low = format!("p10: {}", b.low_label);
    let high = format!("p90: {}", b.high_label);
    if (b.at_low < base) != (b.at_high < base) {
        return vec![(b.at_low, low), (b.at_high, high)];
    }
    if (b.at_low - base).abs() >= (b.at_high - base).abs() {
        vec![(b.at_low, format!("{low} · {high}"))]
    } else {
        vec![(b.at_high, format!("{high} · {low}"))]
    }
}

/// Colour of the segment to the headline at the input's p10, and at its p90: greys, since the
/// palette's colours stand for options in the other charts of a run.
const LOW: RGBColor = RGBColor(0xA6, 0xA6, 0xA6);
const HIGH: RGBColor = RGBColor(0x4D, 0x4D, 0x4D);

pub(super) fn draw<DB>(c: &TornadoChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut bars: Vec<&TornadoBar> = c
        .bars
        .iter()
        .filter(|b| b.at_low.is_finite() && b.at_high.is_finite())
        .collect();
    // Widest swing first; ties keep the caller's order.
    bars.sort_by(|a, b| {
        (b.at_high - b.at_low)
            .abs()
            .total_cmp(&(a.at_high - a.at_low).abs())
    });
    let base = if c.baseline.is_finite() {
        c.baseline
    } else {
        0.0
    };
    let fmt = c.format;
    let legend = vec![
        LegendItem::new("with the input at its p10", Swatch::Bar { colour: LOW }),
        LegendItem::new("with the input at its p90", Swatch::Bar { colour: HIGH }),
        LegendItem::new(
            format!(
                "baseline, every input at its median: {}",
                fmt.format(c.baseline, 0.0)
            ),
            Swatch::Line {
                colour: frame::REFERENCE,
                dashed: false,
            },
        ),
    ];
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;
    if bars.is_empty() {
        frame::no_data(&area, "no inputs to rank")?;
        root.present()?;
        return Ok(());
    }

    // Room on the left for the input names; on the sides for the value labels at bar ends.
    let tick = frame::text(frame::TICK_PX);
    let note = frame::text(frame::NOTE_PX);
    let mut name_w = 0;
    for b in &bars {
        name_w = name_w.max(
            area.estimate_text_size(&frame::fit_text(&b.input), &tick)?
                .0,
        );
    }
    let left_px = name_w + 24;
    let (mut lo, mut hi) = (base, base);
    for b in &bars {
        lo = lo.min(b.at_low).min(b.at_high);
        hi = hi.max(b.at_low).max(b.at_high);
    }
    if hi - lo <= f64::EPSILON * base.abs().max(1.0) {
        lo -= base.abs().max(1.0) * 0.1;
        hi += base.abs().max(1.0) * 0.1;
    }
    // Widest label sticking out past each end, in px.
    let (mut out_l, mut out_r) = (0u32, 0u32);
    for b in &bars {
        for (v, label) in end_labels(b, base) {
            let w = area.estimate_text_size(&label, &note)?.0 + 22;
            if v < base {
                out_l = out_l.max(w);
            } else {
                out_r = out_r.max(w);
            }
        }
    }
    // The plot is about this wide; solve for the padding that leaves the labels room.
    let plot_w = area.dim_in_pixel().0 as f64 - left_px as f64 - 52.0;
    let free = (plot_w - (out_l + out_r) as f64).max(plot_w * 0.4);
    let per_px = (hi - lo) / free;
    let (x0, x1) = (lo - out_l as f64 * per_px, hi + out_r as f64 * per_px);

    let n = bars.len();
    let names: Vec<String> = bars.iter().map(|b| frame::fit_text(&b.input)).collect();
    // Largest swing at the top: rank r sits at y = n - 1 - r.
    let y_of = |r: usize| (n - 1 - r) as f64;
    let name_at = move |y: &f64| {
        let r = n as f64 - 1.0 - y.round();
        if r >= 0.0 && (r as usize) < n && (y - y.round()).abs() < 1e-6 {
            names[r as usize].clone()
        } else {
            String::new()
        }
    };
    let mut chart = frame::builder(&area, left_px).build_cartesian_2d(
        frame::Axis::linear(x0, x1, 10),
        frame::Axis::with_ticks(-0.6, n as f64 - 0.4, (0..n).map(|i| i as f64).collect()),
    )?;
    let x_desc = format!("{} ({})", c.headline, c.unit);
    frame::style_mesh(&mut chart.configure_mesh(), &x_desc, "")
        .disable_y_mesh()
        .x_label_formatter(&|v| fmt.format(*v, frame::tick_step(x0, x1, 10)))
        .y_label_formatter(&name_at)
        .x_labels(10)
        .draw()?;

    let half = 0.3;
    for (r, b) in bars.iter().enumerate() {
        let y = y_of(r);
        // Longer segment first, so that a shorter one on the same side stays visible.
        let mut segs = [(b.at_low, LOW), (b.at_high, HIGH)];
        segs.sort_by(|a, b| (b.0 - base).abs().total_cmp(&(a.0 - base).abs()));
        for (v, col) in segs {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(base.min(v), y - half), (base.max(v), y + half)],
                col.filled(),
            )))?;
        }
        for (v, label) in end_labels(b, base) {
            let (dx, h) = if v < base {
                (-6, HPos::Right)
            } else {
                (6, HPos::Left)
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((v, y))
                    + Text::new(label, (dx, 0), note.clone().pos(Pos::new(h, VPos::Center))),
            ))?;
        }
    }
    chart.draw_series(LineSeries::new(
        vec![(base, -0.6), (base, n as f64 - 0.4)],
        frame::REFERENCE.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}
