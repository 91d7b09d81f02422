//! What every chart shares: palette, type sizes, the title block, the legend below the plot,
//! axis ranges and ticks, and labelled vertical markers in a strip kept free of data.

use super::DrawResult;
use plotters::chart::{ChartBuilder, ChartContext, MeshStyle};
use plotters::coord::ranged1d::Ranged;
use plotters::coord::Shift;
use plotters::prelude::*;
pub(super) use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// Okabe–Ito, in the order series take them. Yellow comes last: it is faint on white.
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

/// The `i`th series colour.
pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Text colour.
pub(super) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Secondary text (subtitle, notes).
pub(super) const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// Reference lines (baseline, 50%).
pub(super) const REFERENCE: RGBColor = RGBColor(0x44, 0x44, 0x44);

/// Type sizes [px].
pub(super) const TITLE_PX: f64 = 30.0;
pub(super) const SUBTITLE_PX: f64 = 19.0;
pub(super) const AXIS_PX: f64 = 19.0;
pub(super) const TICK_PX: f64 = 16.0;
pub(super) const LEGEND_PX: f64 = 17.0;
pub(super) const NOTE_PX: f64 = 15.0;

/// Series line width [px].
pub(super) const LINE_W: u32 = 3;
/// Opacity of p5–p95 bands.
pub(super) const BAND_ALPHA: f64 = 0.18;

/// Left and right margin of the whole chart [px].
const SIDE: i32 = 24;

/// Regular text of `size` px.
pub(super) fn text(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// Bold text of `size` px.
pub(super) fn bold(size: f64) -> TextStyle<'static> {
    ("sans-serif", size, FontStyle::Bold)
        .into_font()
        .color(&INK)
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    /// A solid (or dashed) line.
    Line { colour: RGBColor, dashed: bool },
    /// A line over its translucent band.
    Band { colour: RGBColor },
    /// A translucent vertical span with a dashed line through it.
    Span { colour: RGBColor },
    /// A solid block.
    Bar { colour: RGBColor },
    /// No swatch: an explanatory note in muted text.
    Note,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(super) struct LegendItem {
    pub label: String,
    pub swatch: Swatch,
}

impl LegendItem {
    pub(super) fn new(label: impl Into<String>, swatch: Swatch) -> Self {
        LegendItem {
            label: label.into(),
            swatch,
        }
    }
}

const SWATCH_W: i32 = 34;
const SWATCH_GAP: i32 = 8;
const ITEM_GAP: i32 = 30;
const LEGEND_ROW_H: i32 = 28;

/// Longest text drawn in a chart [characters]; a title or label past it is cut with "…".
pub(super) const MAX_CHART_TEXT: usize = 160;

/// Text as a chart draws it: control characters and direction overrides escaped (an SVG
/// cannot hold them, and they would reorder what a reader sees), and cut to
/// [`MAX_CHART_TEXT`], so that no label, however long its source, costs more than a line to
/// lay out. Ids and names are short by the load-time rule already; this holds for any text.
pub(super) fn fit_text(s: &str) -> String {
    let clean = crate::names::escape(s);
    if clean.chars().count() <= MAX_CHART_TEXT {
        return clean.into_owned();
    }
    let mut cut: String = clean.chars().take(MAX_CHART_TEXT - 1).collect();
    cut.push('…');
    cut
}

/// Fill the canvas white, draw the title block on top and the legend at the bottom, and return
/// the area left for the plot.
pub(super) fn frame<DB>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    legend: &[LegendItem],
) -> DrawResult<DrawingArea<DB, Shift>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);

    let mut top = 16;
    root.draw(&Text::new(fit_text(title), (SIDE, top), bold(TITLE_PX)))?;
    top += TITLE_PX as i32 + 8;
    if !subtitle.is_empty() {
        root.draw(&Text::new(
            fit_text(subtitle),
            (SIDE, top),
            text(SUBTITLE_PX).color(&MUTED),
        ))?;
        top += SUBTITLE_PX as i32 + 8;
    }
    top += 6;

    // The legend: entries left to right, wrapping, centred, under the plot.
    let style = text(LEGEND_PX);
    let mut rows: Vec<Vec<(&LegendItem, i32)>> = vec![Vec::new()];
    let mut row_w = 0;
    for item in legend {
        let (tw, _) = root.estimate_text_size(&fit_text(&item.label), &style)?;
        let iw = match item.swatch {
            Swatch::Note => tw as i32,
            _ => SWATCH_W + SWATCH_GAP + tw as i32,
        };
        let add = if row_w == 0 { iw } else { ITEM_GAP + iw };
        if row_w > 0 && row_w + add > w - 2 * SIDE {
            rows.push(Vec::new());
            row_w = 0;
        }
        let add = if row_w == 0 { iw } else { ITEM_GAP + iw };
        row_w += add;
        if let Some(r) = rows.last_mut() {
            r.push((item, iw));
        }
    }
    rows.retain(|r| !r.is_empty());
    let legend_h = if rows.is_empty() {
        8
    } else {
        rows.len() as i32 * LEGEND_ROW_H + 22
    };
    for (r, row) in rows.iter().enumerate() {
        let total: i32 =
            row.iter().map(|(_, iw)| iw).sum::<i32>() + ITEM_GAP * (row.len() as i32 - 1);
        let mut x = (w - total) / 2;
        let y = h - legend_h + 4 + r as i32 * LEGEND_ROW_H + LEGEND_ROW_H / 2;
        for (item, iw) in row {
            let (tx, colour) = match item.swatch {
                Swatch::Note => (x, MUTED),
                s => {
                    draw_swatch(root, s, x, y)?;
                    (x + SWATCH_W + SWATCH_GAP, INK)
                }
            };
            root.draw(&Text::new(
                fit_text(&item.label),
                (tx, y),
                style.color(&colour).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += iw + ITEM_GAP;
        }
    }

    Ok(root.margin(top, legend_h, 0, 0))
}

fn draw_swatch<DB>(root: &DrawingArea<DB, Shift>, s: Swatch, x: i32, y: i32) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (x0, x1) = (x, x + SWATCH_W);
    match s {
        Swatch::Line { colour, dashed } => {
            if dashed {
                let mut a = x0;
                while a < x1 {
                    let b = (a + 7).min(x1);
                    root.draw(&PathElement::new(
                        vec![(a, y), (b, y)],
                        colour.stroke_width(LINE_W),
                    ))?;
                    a += 11;
                }
            } else {
                root.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    colour.stroke_width(LINE_W),
                ))?;
            }
        }
        Swatch::Band { colour } => {
            root.draw(&Rectangle::new(
                [(x0, y - 8), (x1, y + 8)],
                colour.mix(BAND_ALPHA + 0.07).filled(),
            ))?;
            root.draw(&PathElement::new(
                vec![(x0, y), (x1, y)],
                colour.stroke_width(LINE_W),
            ))?;
        }
        Swatch::Span { colour } => {
            root.draw(&Rectangle::new(
                [(x0 + 6, y - 10), (x1 - 6, y + 10)],
                colour.mix(0.14).filled(),
            ))?;
            let xm = (x0 + x1) / 2;
            let mut a = y - 10;
            while a < y + 10 {
                root.draw(&PathElement::new(
                    vec![(xm, a), (xm, (a + 5).min(y + 10))],
                    colour.stroke_width(2),
                ))?;
                a += 8;
            }
        }
        Swatch::Bar { colour } => {
            root.draw(&Rectangle::new([(x0, y - 8), (x1, y + 8)], colour.filled()))?;
        }
        Swatch::Note => {}
    }
    Ok(())
}

/// A chart builder with the house margins and label areas: `left_px` for the y tick labels
/// and the y axis label.
pub(super) fn builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    left_px: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin_top(8)
        .margin_right(36)
        .margin_left(SIDE as u32 - 8)
        .margin_bottom(4)
        .x_label_area_size(62)
        .y_label_area_size(left_px);
    b
}

/// House style for a mesh: light grid, tick and axis label type sizes.
pub(super) fn style_mesh<'m, 'a, 'b, X, Y, DB>(
    m: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
    x_desc: &str,
    y_desc: &str,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    if !x_desc.is_empty() {
        m.x_desc(fit_text(x_desc));
    }
    if !y_desc.is_empty() {
        m.y_desc(fit_text(y_desc));
    }
    m.axis_desc_style(text(AXIS_PX))
        .label_style(text(TICK_PX))
        .bold_line_style(RGBColor(0xD9, 0xD9, 0xD9).stroke_width(1))
        .light_line_style(RGBColor(0xF0, 0xF0, 0xF0).stroke_width(1))
        .axis_style(RGBColor(0x88, 0x88, 0x88).stroke_width(1))
        .x_label_offset(0)
        .set_all_tick_mark_size(4)
}

/// Write "no data" in the middle of the plot area.
pub(super) fn no_data<DB>(area: &DrawingArea<DB, Shift>, what: &str) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(SIDE, 8), (w as i32 - SIDE, h as i32 - 8)],
        RGBColor(0xCC, 0xCC, 0xCC).stroke_width(1),
    ))?;
    area.draw(&Text::new(
        fit_text(what),
        (w as i32 / 2, h as i32 / 2),
        text(AXIS_PX)
            .color(&MUTED)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// `x` rounded up to a round number (1, 1.2, 1.4, 1.5, 1.6, 1.8, 2, 2.5, 3, 3.5, … 9 × 10ⁿ).
/// About the step between the labels plotters puts on a linear axis from `lo` to `hi` with at
/// most `n` labels: the smallest 1, 2 or 5 × 10^k that fits.
pub(super) fn tick_step(lo: f64, hi: f64, n: usize) -> f64 {
    let raw = (hi - lo) / n.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 0.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

pub(super) fn nice_ceil(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [
        1.0, 1.2, 1.4, 1.5, 1.6, 1.8, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
    ] {
        if m * p >= x * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

/// `x` (> 0) rounded down to 1, 2 or 5 × 10ⁿ.
pub(super) fn nice_floor(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [5.0, 2.0, 1.0] {
        if m * p <= x * (1.0 + 1e-12) {
            return m * p;
        }
    }
    p
}

/// A value axis with the ticks we choose: linear or logarithmic, labelled ("bold") ticks and
/// unlabelled ("light") grid lines. plotters' own f64 axes pick their ticks and cannot carry
/// a fixed list and a label formatter at once, hence this.
#[derive(Debug, Clone)]
pub(super) struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    bold: Vec<f64>,
    light: Vec<f64>,
}

/// A round step that divides `span` into at most about `n` parts.
fn nice_step(span: f64, n: usize) -> f64 {
    let raw = span / n.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= raw * (1.0 - 1e-9) {
            return m * p;
        }
    }
    10.0 * p
}

impl Axis {
    /// Linear from `lo` to `hi` with about `n` ticks at round steps.
    pub(super) fn linear(lo: f64, hi: f64, n: usize) -> Axis {
        let step = nice_step(hi - lo, n);
        let (first, last) = ((lo / step).ceil(), (hi / step + 1e-9).floor());
        // A span past f64's range (nice_step then falls back to 1) would ask for more ticks
        // than there are pixels, or than memory holds: such an axis gets none.
        if !(first.is_finite() && last.is_finite() && last - first <= 1000.0 + 10.0 * n as f64) {
            return Axis::with_ticks(lo, hi, Vec::new());
        }
        let (first, last) = (first as i64, last as i64);
        let ticks = (first..=last.max(first)).map(|k| k as f64 * step).collect();
        Axis::with_ticks(lo, hi, ticks)
    }

    /// Linear from `lo` to `hi` with ticks exactly at `ticks`.
    pub(super) fn with_ticks(lo: f64, hi: f64, ticks: Vec<f64>) -> Axis {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        Axis {
            lo,
            hi,
            log: false,
            bold: ticks
                .into_iter()
                .filter(|t| *t >= lo - 1e-9 * (hi - lo) && *t <= hi + 1e-9 * (hi - lo))
                .collect(),
            light: Vec::new(),
        }
    }

    /// Logarithmic from `lo` to `hi` (both > 0), labelled at 1-2-5 steps (whole decades when
    /// the range spans more than three), with grid lines at every integer step.
    pub(super) fn log(lo: f64, hi: f64) -> Axis {
        let (lo, hi) = if lo > 0.0 && hi > lo {
            (lo, hi)
        } else {
            (1.0, 10.0)
        };
        let decades = (hi / lo).log10();
        let steps: &[u32] = if decades <= 1.0 {
            &[1, 2, 3, 4, 5, 6, 7, 8, 9]
        } else if decades <= 3.2 {
            &[1, 2, 5]
        } else {
            &[1]
        };
        let (mut bold, mut light) = (Vec::new(), Vec::new());
        let mut p = 10f64.powf(lo.log10().floor());
        // Near f64::MAX, `hi * 1.000_001` is infinite: stop once the decade is, too.
        while p.is_finite() && p <= hi * 1.000_001 {
            for m in 1..10u32 {
                let v = f64::from(m) * p;
                if !v.is_finite() || v < lo * 0.999_999 || v > hi * 1.000_001 {
                    continue;
                }
                if steps.contains(&m) {
                    bold.push(v);
                } else {
                    light.push(v);
                }
            }
            p *= 10.0;
        }
        Axis {
            lo,
            hi,
            log: true,
            bold,
            light,
        }
    }

    fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.max(f64::MIN_POSITIVE).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

impl Ranged for Axis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let u = self.unit(*v);
        let u = if u.is_finite() {
            u.clamp(-10.0, 11.0)
        } else {
            0.0
        };
        limit.0 + (f64::from(limit.1 - limit.0) * u).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The part of the polyline `pts` (sorted by x) within `x0..=x1`, cut exactly at the edges:
/// plotters does not clip series to the plot area.
pub(super) fn clip_x(pts: &[(f64, f64)], x0: f64, x1: f64) -> Vec<(f64, f64)> {
    let at = |a: (f64, f64), b: (f64, f64), x: f64| {
        if b.0 == a.0 {
            (x, b.1)
        } else {
            (x, a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0))
        }
    };
    let mut out = Vec::with_capacity(pts.len());
    for (i, &p) in pts.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| pts[j]);
        if (x0..=x1).contains(&p.0) {
            if let Some(q) = prev.filter(|q| q.0 < x0) {
                out.push(at(q, p, x0));
            }
            out.push(p);
        } else if p.0 > x1 {
            if let Some(q) = prev.filter(|q| q.0 <= x1) {
                if q.0 >= x0 {
                    out.push(at(q, p, x1));
                } else {
                    out.push(at(q, p, x0));
                    out.push(at(q, p, x1));
                }
            }
            break;
        }
    }
    out
}

/// `v` (a share, 0–1) as a whole percentage.
pub(super) fn pct(v: f64) -> String {
    format!("{:.0}%", 100.0 * v)
}

/// Only the finite values of `v`.
pub(super) fn finite(v: &[f64]) -> impl Iterator<Item = f64> + '_ {
    v.iter().copied().filter(|x| x.is_finite())
}

/// A labelled vertical marker: a dashed line at `x`, optionally a shaded span.
#[derive(Debug, Clone)]
pub(super) struct VMark {
    /// Where the line is; `None` for a span or note without a line.
    pub x: Option<f64>,
    /// Shaded span `(from, to)`.
    pub span: Option<(f64, f64)>,
    /// The label.
    pub label: String,
    /// Line, span and label border colour.
    pub colour: RGBColor,
}

/// Where the marker labels go: rows in a strip at the top of the plot, kept free of data.
#[derive(Debug, Clone)]
pub(super) struct Strip {
    /// Per mark: left edge of its label [backend px] and its row.
    placed: Vec<(i32, usize)>,
    sizes: Vec<(u32, u32)>,
    rows: usize,
}

const LABEL_PAD: i32 = 5;
const ROW_GAP: i32 = 6;

impl Strip {
    /// Height of the strip [px].
    pub(super) fn height(&self) -> i32 {
        let h = self.sizes.iter().map(|s| s.1).max().unwrap_or(0) as i32 + 2 * LABEL_PAD;
        if self.rows == 0 {
            0
        } else {
            self.rows as i32 * (h + ROW_GAP) + ROW_GAP
        }
    }
}

/// Lay out the marker labels of `marks` on `chart`: each label beside its line (right if it
/// fits, else left), in the first row where it overlaps nothing. Marks without a line go at
/// the left edge.
pub(super) fn plan_strip<DB>(
    chart: &ChartContext<DB, Cartesian2d<Axis, Axis>>,
    marks: &[VMark],
) -> DrawResult<Strip>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let area = chart.plotting_area();
    let (px, _) = area.get_pixel_range();
    let y0 = chart.y_range().start;
    let style = text(NOTE_PX);
    let mut sizes = Vec::with_capacity(marks.len());
    for m in marks {
        let (w, h) = area.estimate_text_size(&fit_text(&m.label), &style)?;
        sizes.push((w + 2 * LABEL_PAD as u32, h));
    }
    let mut order: Vec<usize> = (0..marks.len()).collect();
    let anchor = |i: usize| -> i32 {
        match marks[i].x {
            Some(x) => chart.backend_coord(&(x, y0)).0,
            None => i32::MIN,
        }
    };
    order.sort_by_key(|&i| anchor(i));
    let mut occupied: Vec<Vec<(i32, i32)>> = Vec::new();
    let mut placed = vec![(0, 0); marks.len()];
    for i in order {
        let w = sizes[i].0 as i32;
        let left = match marks[i].x {
            None => px.start + 4,
            Some(_) => {
                let a = anchor(i);
                if a + 6 + w <= px.end - 4 {
                    a + 6
                } else {
                    (a - 6 - w).min(px.end - 4 - w).max(px.start + 4)
                }
            }
        };
        let span = (left - 4, left + w + 4);
        let row = occupied
            .iter()
            .position(|r| r.iter().all(|&(a, b)| span.1 <= a || span.0 >= b))
            .unwrap_or(occupied.len());
        if row == occupied.len() {
            occupied.push(Vec::new());
        }
        occupied[row].push(span);
        placed[i] = (left, row);
    }
    Ok(Strip {
        placed,
        sizes,
        rows: occupied.len(),
    })
}

/// The top of a linear y axis from `y0` that leaves `strip_px` free above `data_top` in a plot
/// `plot_px` tall.
pub(super) fn top_with_strip(y0: f64, data_top: f64, strip_px: i32, plot_px: i32) -> f64 {
    let free = (plot_px - strip_px - 6).max(plot_px / 3) as f64;
    let span = (data_top - y0).max(f64::MIN_POSITIVE);
    y0 + span * plot_px as f64 / free
}

/// The same for a logarithmic y axis from `y0` (> 0).
pub(super) fn log_top_with_strip(y0: f64, data_top: f64, strip_px: i32, plot_px: i32) -> f64 {
    let free = (plot_px - strip_px - 6).max(plot_px / 3) as f64;
    let decades = (data_top / y0).log10().max(0.1);
    y0 * 10f64.powf(decades * plot_px as f64 / free)
}

/// Draw the spans and dashed lines of `marks` on `chart`, and their labels as planned.
pub(super) fn draw_marks<DB>(
    chart: &mut ChartContext<DB, Cartesian2d<Axis, Axis>>,
    root: &DrawingArea<DB, Shift>,
    marks: &[VMark],
    strip: &Strip,
) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let (xlo, xhi) = (xr.start.min(xr.end), xr.start.max(xr.end));
    for m in marks {
        if let Some((a, b)) = m.span {
            let (a, b) = (a.clamp(xlo, xhi), b.clamp(xlo, xhi));
            if b > a {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, yr.start), (b, yr.end)],
                    m.colour.mix(0.12).filled(),
                )))?;
            }
        }
    }
    for m in marks {
        if let Some(x) = m.x.filter(|x| (xlo..=xhi).contains(x)) {
            chart.draw_series(DashedLineSeries::new(
                vec![(x, yr.start), (x, yr.end)],
                9,
                6,
                m.colour.stroke_width(2),
            ))?;
        }
    }
    let (_, py) = chart.plotting_area().get_pixel_range();
    let style = text(NOTE_PX);
    let row_h = strip.sizes.iter().map(|s| s.1).max().unwrap_or(0) as i32 + 2 * LABEL_PAD;
    for (i, m) in marks.iter().enumerate() {
        let (left, row) = strip.placed[i];
        let (w, _) = strip.sizes[i];
        let top = py.start + ROW_GAP + row as i32 * (row_h + ROW_GAP);
        root.draw(&Rectangle::new(
            [(left, top), (left + w as i32, top + row_h)],
            WHITE.mix(0.92).filled(),
        ))?;
        root.draw(&Rectangle::new(
            [(left, top), (left + w as i32, top + row_h)],
            m.colour.stroke_width(1),
        ))?;
        root.draw(&Text::new(
            fit_text(&m.label),
            (left + LABEL_PAD, top + row_h / 2),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polylines_are_cut_at_the_edges() {
        let p = [(0.0, 0.0), (10.0, 10.0), (20.0, 20.0)];
        assert_eq!(
            clip_x(&p, 5.0, 15.0),
            vec![(5.0, 5.0), (10.0, 10.0), (15.0, 15.0)]
        );
        assert_eq!(clip_x(&p, 2.0, 4.0), vec![(2.0, 2.0), (4.0, 4.0)]);
        assert_eq!(clip_x(&p, 0.0, 20.0), p.to_vec());
        assert!(clip_x(&p, 30.0, 40.0).is_empty());
    }

    /// Axes over huge finite values (a cost of 1.7e308 from a part file, say) are built in
    /// bounded time and memory, with a bounded number of ticks.
    #[test]
    fn huge_finite_ranges_give_bounded_axes() {
        let cases = [
            (1.0, 1.7e308),
            (1e-300, f64::MAX),
            (f64::MIN_POSITIVE, f64::MAX),
            (1.7e308, f64::MAX),
        ];
        for (lo, hi) in cases {
            let a = Axis::log(lo, hi);
            assert!(a.bold.len() + a.light.len() <= 9 * 700, "log {lo}..{hi}");
            assert!(a.bold.iter().chain(&a.light).all(|v| v.is_finite()));
        }
        for (lo, hi) in [
            (-f64::MAX, f64::MAX),
            (0.0, f64::MAX),
            (-1.7e308, 1.7e308),
            (1.7e308, f64::MAX),
            (0.0, 1e300),
        ] {
            for n in [1, 8, 12] {
                let a = Axis::linear(lo, hi, n);
                assert!(
                    a.bold.len() <= 1000 + 10 * n,
                    "linear {lo}..{hi}: {}",
                    a.bold.len()
                );
            }
        }
        // Ordinary ranges keep their ticks.
        assert_eq!(Axis::linear(0.0, 72_000.0, 8).bold.len(), 8);
        assert_eq!(Axis::log(100.0, 30_000.0).bold.len(), 8);
    }

    #[test]
    fn round_numbers() {
        assert_eq!(nice_ceil(72_000.0), 80_000.0);
        assert_eq!(nice_ceil(1.23), 1.4);
        assert_eq!(nice_floor(140.0), 100.0);
        assert_eq!(nice_floor(0.03), 0.02);
        let a = Axis::log(100.0, 30_000.0);
        assert_eq!(a.bold, vec![100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 2e4]);
        let l = Axis::linear(0.0, 72_000.0, 8);
        assert_eq!(l.bold.len(), 8);
    }
}
