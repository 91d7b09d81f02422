//! Charts drawn with plotters, as SVG strings and PNG files, with an embedded font.
//!
//! Each chart takes a plain input struct (no engine types: the caller maps its results into
//! them) and is drawn by one function generic over the plotters backend, in the shape of
//! plotters' examples: backend, fill, chart builder, mesh, series, legend, `present()`.
//! Every chart is 1200×750 px on white, with a title and subtitle above the plot, axis labels
//! with units, k/M tick labels ([`crate::money`]), the Okabe–Ito colour-blind-safe palette,
//! and the legend below the plot so that it never hides data.
//!
//! Text is laid out and rasterised with DejaVu Sans from the `dejavu` crate, registered with
//! plotters as `sans-serif`, so PNGs need no system fonts; SVGs carry `<text>` elements with
//! `font-family="sans-serif"` for the viewer to render.

mod breakeven;
mod cashflow;
mod cumulative;
mod distribution;
mod fleet;
mod frame;
mod probability;
mod tornado;

pub use breakeven::{BreakEvenChart, BreakEvenMark, CostCurve, VolumePoint};
pub use cashflow::{CashColumn, CashFlowChart};
pub use cumulative::{overtake_month, CumulativeChart, CumulativeCurve, MonthBand, Overtake};
pub use distribution::{CostSample, DistributionChart};
pub use fleet::{FleetChart, HourBand, HOURS_PER_WEEK};
pub use probability::{ProbabilityChart, ProbabilityCurve, ProbabilityPoint};
pub use tornado::{TickFormat, TornadoBar, TornadoChart};

use crate::error::{Error, Result};
use crate::report::files::write_atomic;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Width of every chart [px].
pub const WIDTH: u32 = 1200;
/// Height of every chart [px].
pub const HEIGHT: u32 = 750;

/// One chart, ready to draw.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Monthly cost against monthly volume, with break-even volumes.
    BreakEven(BreakEvenChart),
    /// Probability that self-hosting is cheaper, against monthly volume.
    Probability(ProbabilityChart),
    /// Cost distributions (CDFs) of one run, medians marked.
    Distribution(DistributionChart),
    /// Sensitivity of a headline number to each uncertain input.
    Tornado(TornadoChart),
    /// A fleet's utilisation and overflow hour by hour across the week.
    Fleet(FleetChart),
    /// Cumulative cost over the horizon.
    Cumulative(CumulativeChart),
    /// Cash paid out month by month.
    CashFlow(CashFlowChart),
}

impl Chart {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            Chart::BreakEven(c) => &c.title,
            Chart::Probability(c) => &c.title,
            Chart::Distribution(c) => &c.title,
            Chart::Tornado(c) => &c.title,
            Chart::Fleet(c) => &c.title,
            Chart::Cumulative(c) => &c.title,
            Chart::CashFlow(c) => &c.title,
        }
    }

    /// Draw the whole chart on `root` (any backend) and present it.
    pub fn draw<DB>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> DrawResult<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        match self {
            Chart::BreakEven(c) => breakeven::draw(c, root),
            Chart::Probability(c) => probability::draw(c, root),
            Chart::Distribution(c) => distribution::draw(c, root),
            Chart::Tornado(c) => tornado::draw(c, root),
            Chart::Fleet(c) => fleet::draw(c, root),
            Chart::Cumulative(c) => cumulative::draw(c, root),
            Chart::CashFlow(c) => cashflow::draw(c, root),
        }
    }
}

macro_rules! from_chart {
    ($($t:ident => $v:ident),*) => {$(
        impl From<$t> for Chart {
            fn from(c: $t) -> Chart {
                Chart::$v(c)
            }
        }
    )*};
}
from_chart!(BreakEvenChart => BreakEven, ProbabilityChart => Probability,
    DistributionChart => Distribution, TornadoChart => Tornado, FleetChart => Fleet,
    CumulativeChart => Cumulative, CashFlowChart => CashFlow);

/// What drawing returns: plotters' errors, boxed (a backend's I/O error or a font error).
pub type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Register DejaVu Sans (regular, bold, oblique) as plotters' `sans-serif`, once per process.
/// Every render function calls this; call it yourself only to draw with plotters directly.
pub fn register_fonts() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let fonts = [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
            (FontStyle::Oblique, dejavu::sans::oblique()),
            (FontStyle::Italic, dejavu::sans::oblique()),
        ];
        for (style, bytes) in fonts {
            plotters::style::register_font("sans-serif", style, bytes).map_err(|_| {
                format!(
                    "the embedded DejaVu Sans ({}) is not a valid font",
                    style.as_str()
                )
            })?;
        }
        Ok(())
    })
    .clone()
    .map_err(Error::Invariant)
}

fn draw_failed(title: &str, e: impl std::fmt::Display) -> Error {
    Error::Invariant(format!("drawing chart \"{title}\": {e}"))
}

/// The chart as an SVG document.
pub fn render_svg(chart: &Chart) -> Result<String> {
    register_fonts()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        chart
            .draw(&root)
            .map_err(|e| draw_failed(chart.title(), e))?;
    }
    Ok(svg)
}

/// The chart as PNG bytes (RGB, [`WIDTH`]×[`HEIGHT`]), e.g. to embed in HTML: drawn into a
/// pixel buffer and encoded with the `png` crate (plotters' own encoder brings the whole
/// `image` crate, a fifth of a fresh build's dependencies, for this one call).
pub fn render_png_bytes(chart: &Chart) -> Result<Vec<u8>> {
    register_fonts()?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        chart
            .draw(&root)
            .map_err(|e| draw_failed(chart.title(), e))?;
        root.present().map_err(|e| draw_failed(chart.title(), e))?;
    }
    let encoding = |e: png::EncodingError| draw_failed(chart.title(), e);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Default);
    enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut w = enc.write_header().map_err(encoding)?;
    w.write_image_data(&pixels).map_err(encoding)?;
    w.finish().map_err(encoding)?;
    Ok(out)
}

/// Write the chart as a PNG file at `path`, atomically (see [`write_atomic`]).
pub fn render_png(chart: &Chart, path: &Path) -> Result<PathBuf> {
    write_atomic(path, &render_png_bytes(chart)?)
}

/// Write `dir/stem.svg` and `dir/stem.png`, each atomically (a temporary file in `dir`, renamed
/// into place when complete), and return their paths. `dir` must exist.
pub fn write_chart(chart: &Chart, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf)> {
    if stem.is_empty() || stem.contains(['/', '\\']) {
        return Err(Error::Invariant(format!(
            "chart file stem \"{stem}\" must be a plain, non-empty file name"
        )));
    }
    // Draw the SVG first: if drawing fails, it fails before either file is touched.
    let svg = render_svg(chart)?;
    let svg_path = write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())?;
    let png_path = render_png(chart, &dir.join(format!("{stem}.png")))?;
    Ok((svg_path, png_path))
}
