//! Cash flow month by month: for one self-hosted option, stacked columns of the mean cash it
//! pays out each month (one-time outlays such as a purchase or set-up, running costs, API
//! bills; a resale coming back is a column below zero), against an API option's mean monthly
//! bill as a line. It answers the finance question the totals hide: when does the money go.

use super::frame::{self, LegendItem, Swatch};
use super::DrawResult;
use crate::money::format_usd_short;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Mean cash by month for one self-hosted option and one API.
#[derive(Debug, Clone, Default)]
pub struct CashFlowChart {
    /// What the chart shows.
    pub title: String,
    /// Context under the title; may be empty.
    pub subtitle: String,
    /// The self-hosted option's label.
    pub selfhost: String,
    /// Its months, in order.
    pub months: Vec<CashColumn>,
    /// The API's label and mean monthly bill, month by month (empty: none drawn).
    pub api: (String, Vec<f64>),
}

/// One month's mean cash of the self-hosted option [USD].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CashColumn {
    /// One-time outlays (negative when a resale comes back) [USD].
    pub capex: f64,
    /// Running costs [USD].
    pub opex: f64,
    /// API bills (overflow, stages) [USD].
    pub api: f64,
}

const X_DESC: &str = "month of the horizon";
const Y_DESC: &str = "cash paid out in the month ($, mean over paths)";

pub(super) fn draw<DB>(c: &CashFlowChart, root: &DrawingArea<DB, Shift>) -> DrawResult<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    let cols: Vec<CashColumn> = c
        .months
        .iter()
        .map(|m| CashColumn {
            capex: finite(m.capex),
            opex: finite(m.opex).max(0.0),
            api: finite(m.api).max(0.0),
        })
        .collect();
    let (one_off, running, api_col) = (frame::colour(5), frame::colour(1), frame::colour(0));
    let mut legend = vec![
        LegendItem::new(
            format!(
                "{}: one-time (purchase, set-up; resale below zero)",
                c.selfhost
            ),
            Swatch::Bar { colour: one_off },
        ),
        LegendItem::new(
            format!("{}: running (GPU time, power, hosting, people)", c.selfhost),
            Swatch::Bar { colour: running },
        ),
        LegendItem::new(
            format!("{}: API bills (overflow)", c.selfhost),
            Swatch::Bar { colour: api_col },
        ),
    ];
    if !c.api.1.is_empty() {
        legend.push(LegendItem::new(
            format!("{}: its monthly bill", c.api.0),
            Swatch::Line {
                colour: frame::REFERENCE,
                dashed: false,
            },
        ));
    }
    let area = frame::frame(root, &c.title, &c.subtitle, &legend)?;
    if cols.is_empty() {
        frame::no_data(&area, "no months to show")?;
        root.present()?;
        return Ok(());
    }
    let n = cols.len() as f64;
    let top = cols
        .iter()
        .map(|m| m.capex.max(0.0) + m.opex + m.api)
        .chain(c.api.1.iter().copied().map(finite))
        .fold(1.0, f64::max);
    let bottom = cols.iter().map(|m| m.capex.min(0.0)).fold(0.0, f64::min);
    let mut chart = frame::builder(&area, 104).build_cartesian_2d(
        frame::Axis::linear(0.5, n + 0.5, 12),
        frame::Axis::linear(
            if bottom < 0.0 {
                -frame::nice_ceil(-bottom)
            } else {
                0.0
            },
            frame::nice_ceil(top),
            8,
        ),
    )?;
    frame::style_mesh(&mut chart.configure_mesh(), X_DESC, Y_DESC)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format_usd_short(*v))
        .draw()?;
    let w = 0.38;
    for (i, m) in cols.iter().enumerate() {
        let x = i as f64 + 1.0;
        let mut y = 0.0;
        // Running costs, then API bills, stacked up from zero; one-time money on top (or, a
        // resale, below zero).
        for (v, col) in [
            (m.opex, running),
            (m.api, api_col),
            (m.capex.max(0.0), one_off),
        ] {
            if v > 0.0 {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - w, y), (x + w, y + v)],
                    col.filled(),
                )))?;
                y += v;
            }
        }
        if m.capex < 0.0 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - w, m.capex), (x + w, 0.0)],
                one_off.mix(0.6).filled(),
            )))?;
        }
    }
    if !c.api.1.is_empty() {
        chart.draw_series(LineSeries::new(
            c.api
                .1
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 + 1.0, finite(*v))),
            frame::REFERENCE.stroke_width(frame::LINE_W),
        ))?;
    }
    root.present()?;
    Ok(())
}
