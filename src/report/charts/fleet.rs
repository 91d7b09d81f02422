//! A self-hosted or hybrid fleet hour by hour across the week of its busiest month: GPU utilisation and the share
//! of images overflowed to an API, each as a median line over a band up to the 95th
//! percentile across traced paths. Two panels share the hour-of-week axis; the overflow panel
//! is left out when there is no overflow series.

use super::frame::{self, LegendItem, Swatch};
use super::DrawResult;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Hours in a week; hour 0 is Monday 00:00–01:00.
pub const HOURS_PER_WEEK: usize = 168;

/// A fleet's week.
#[derive(Debug, Clone, Default)]
pub struct FleetChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// Colour: the option's place in the scenario, as in the run's other charts.
    pub colour: usize,
    /// Utilisation by hour of week [share 0–1], [`HOURS_PER_WEEK`] entries from Monday 00:00.
    pub utilisation: Vec<HourBand>,
    /// Share of images overflowed to the API by hour of week [share 0–1]; empty when the
    /// option has no overflow.
    pub overflow: Vec<HourBand>,
}

/// One hour's median and 95th percentile across traced paths.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HourBand {
    /// Median [share 0–1].
    pub p50: f64,
    /// 95th percentile [share 0–1].
    pub p95: f64,
}

impl HourBand {
    /// Per hour, the median and 95th percentile across `paths` (each one week of hourly
    /// values, e.g. the engine's traced utilisation). Nearest-rank percentiles; non-finite
    /// values are skipped; hours with no values are 0.
    pub fn across(paths: &[[f64; HOURS_PER_WEEK]]) -> Vec<HourBand> {
        (0..HOURS_PER_WEEK)
            .map(|h| {
                let mut v: Vec<f64> = paths
                    .iter()
                    .map(|p| p[h])
                    .filter(|x| x.is_finite())
                    .collect();
                if v.is_empty() {
                    return HourBand::default();
                }
                v.sort_by(f64::total_cmp);
                let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
                HourBand {
                    p50: at(0.5),
                    p95: at(0.95),
                }
            })
            .collect()
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const X_DESC: &str = "hour of the week (day labels at noon; gridlines at midnight)";

fn day_at(x: &f64) -> String {
    let h = x.round();
    if (x - h).abs() < 1e-6 && h >= 0.0 && (h as usize) % 24 == 12 {
        DAYS.get(h as usize / 24).copied().unwrap_or("").to_string()
    } else {
        String::new()
    }
}

/// `(hour, p50, p95)`, with non-finite values as 0 and shares clamped to 0–1.
fn clean(v: &[HourBand]) -> Vec<(f64, f64, f64)> {
    let c = |x: f64| {
        if x.is_finite() {
            x.clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    v.iter()
        .take(HOURS_PER_WEEK)
        .enumerate()
        .map(|(h, b)| (h as f64 + 0.5, c(b.p50), c(b.p95).max(c(b.p50))))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn panel<DB>(
    area: &DrawingArea<DB, Shift>,
    pts: &[(f64, f64, f64)],
    colour: RGBColor,
    y_top: f64,
    y_desc: &str,
    x_desc: &str,
    bottom_px: u32,
) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let step = if y_top > 0.5 {
        0.2
    } else if y_top > 0.2 {
        0.1
    } else if y_top > 0.1 {
        0.05
    } else {
        0.02
    };
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= y_top + 1e-9)
        .collect();
    let mut b = frame::builder(area, 104);
    b.x_label_area_size(bottom_px);
    let mut chart = b.build_cartesian_2d(
        frame::Axis::with_ticks(
            0.0,
            HOURS_PER_WEEK as f64,
            (0..7).map(|d| (24 * d + 12) as f64).collect(),
        ),
        frame::Axis::with_ticks(0.0, y_top, ticks),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), x_desc, y_desc)
        .disable_x_mesh()
        .x_label_formatter(&day_at)
        .y_label_formatter(&|v| frame::pct(*v))
        .draw()?;
    // Midnight gridlines, bolder on Monday and Saturday, where the working week starts and ends.
    for d in 1..7 {
        let x = (24 * d) as f64;
        let col = if d == 5 {
            RGBColor(0xAA, 0xAA, 0xAA)
        } else {
            RGBColor(0xD9, 0xD9, 0xD9)
        };
        chart.draw_series(LineSeries::new(
            vec![(x, 0.0), (x, y_top)],
            col.stroke_width(1),
        ))?;
    }
    let band: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (p.0, p.2))
        .chain(pts.iter().rev().map(|p| (p.0, p.1)))
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(
        band,
        colour.mix(frame::BAND_ALPHA + 0.04).filled(),
    )))?;
    chart.draw_series(LineSeries::new(
        pts.iter().map(|p| (p.0, p.2)),
        colour.mix(0.7).stroke_width(1),
    ))?;
    chart.draw_series(LineSeries::new(
        pts.iter().map(|p| (p.0, p.1)),
        colour.stroke_width(frame::LINE_W),
    ))?;
    Ok(())
}

pub(super) fn draw<DB>(c: &FleetChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // The option's own colour in both panels, as in the run's other charts.
    let (util_colour, over_colour) = (frame::colour(c.colour), frame::colour(c.colour));
    let util = clean(&c.utilisation);
    let over = clean(&c.overflow);
    let mut legend = vec![LegendItem::new(
        "GPU utilisation: median, band to p95",
        Swatch::Band {
            colour: util_colour,
        },
    )];
    if !over.is_empty() {
        legend.push(LegendItem::new(
            "overflow to API (share of images): median, band to p95",
            Swatch::Band {
                colour: over_colour,
            },
        ));
    }
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;
    if util.is_empty() && over.is_empty() {
        frame::no_data(&area, "no hourly trace to show")?;
        root.present()?;
        return Ok(());
    }
    if over.is_empty() {
        panel(
            &area,
            &util,
            util_colour,
            1.0,
            "GPU utilisation (%)",
            X_DESC,
            62,
        )?;
    } else {
        // Overflow is often a few percent: give it its own scale rather than a flat line.
        let top = over.iter().map(|p| p.2).fold(0.0, f64::max);
        let o_top = if top <= 0.0 {
            0.1
        } else {
            frame::nice_ceil(top * 1.1).min(1.0)
        };
        let (_, h) = area.dim_in_pixel();
        let (upper, lower) = area.split_vertically((h as i32 - 62) * 55 / 100);
        panel(
            &upper,
            &util,
            util_colour,
            1.0,
            "GPU utilisation (%)",
            "",
            28,
        )?;
        panel(
            &lower,
            &over,
            over_colour,
            o_top,
            "overflow share (%)",
            X_DESC,
            62,
        )?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_across_paths() {
        let paths: Vec<[f64; HOURS_PER_WEEK]> = (1..=20)
            .map(|i| [i as f64 / 20.0; HOURS_PER_WEEK])
            .collect();
        let b = HourBand::across(&paths);
        assert_eq!(b.len(), HOURS_PER_WEEK);
        assert_eq!(
            b[0],
            HourBand {
                p50: 0.5,
                p95: 0.95
            }
        );
        assert_eq!(HourBand::across(&[])[3], HourBand::default());
    }
}
