//! The workbook a finance person opens: one `.xlsx` with a sheet per view of a run, written
//! with `rust_xlsxwriter`. Numbers are cells with number formats (dollars, counts, shares),
//! not text, so they sum and chart in a spreadsheet; every sheet starts with where its
//! figures come from. Sheets: Summary (the table and the verdict), Monthly (each option's cost
//! in each month and cumulative, mean and p5/p50/p95), Sweep and Plan when the run has them,
//! Sensitivity, Assumptions (the scenario in words, then every price and speed with its source
//! and date), and Scenario (the TOML simulated, after any `--set`).

use super::summary::RunSummary;
use super::words;
use crate::analysis::plan::PlanResult;
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::catalogue::Catalogue;
use crate::engine::Engine;
use crate::error::{Error, Result};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

/// What the workbook holds; the sweep, plan and sensitivity sheets only when given.
pub struct WorkbookInputs<'a> {
    /// The run's engine.
    pub engine: &'a Engine,
    /// The catalogue used.
    pub catalogue: &'a Catalogue,
    /// The run.
    pub run: &'a RunSummary,
    /// The sweep.
    pub sweep: Option<&'a SweepResult>,
    /// The plan.
    pub plan: Option<&'a PlanResult>,
    /// The sensitivity analysis.
    pub sensitivity: Option<&'a SensitivityResult>,
}

/// One cell.
enum Cell {
    Text(String),
    /// Dollars.
    Usd(f64),
    /// Dollars with cents, for prices per image.
    UsdFine(f64),
    /// A count (images, paths).
    Count(f64),
    /// A share 0–1, shown as a percentage.
    Share(f64),
    /// A plain number.
    Num(f64),
    Empty,
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

struct Formats {
    head: Format,
    title: Format,
    usd: Format,
    usd_fine: Format,
    count: Format,
    share: Format,
    num: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            head: Format::new().set_bold(),
            title: Format::new().set_bold().set_font_size(13),
            usd: Format::new().set_num_format("$#,##0"),
            usd_fine: Format::new().set_num_format("$0.0000"),
            count: Format::new().set_num_format("#,##0"),
            share: Format::new().set_num_format("0.0%"),
            num: Format::new().set_num_format("0.####"),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// A sheet being written row by row.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    f: &'a Formats,
    row: u32,
}

impl Sheet<'_> {
    fn title(&mut self, text: &str) -> std::result::Result<(), XlsxError> {
        self.ws
            .write_string_with_format(self.row, 0, text, &self.f.title)?;
        self.row += 1;
        Ok(())
    }

    fn header(&mut self, names: &[&str]) -> std::result::Result<(), XlsxError> {
        for (c, n) in names.iter().enumerate() {
            self.ws
                .write_string_with_format(self.row, c as u16, *n, &self.f.head)?;
        }
        self.row += 1;
        Ok(())
    }

    fn line(&mut self, cells: Vec<Cell>) -> std::result::Result<(), XlsxError> {
        for (c, cell) in cells.into_iter().enumerate() {
            let (r, c) = (self.row, c as u16);
            let num = |ws: &mut Worksheet, x: f64, fmt: &Format| {
                // A spreadsheet has no NaN: an undefined statistic is an empty cell.
                if x.is_finite() {
                    ws.write_number_with_format(r, c, x, fmt).map(|_| ())
                } else {
                    Ok(())
                }
            };
            match cell {
                Cell::Text(s) => {
                    self.ws.write_string(r, c, s)?;
                }
                Cell::Usd(x) => num(self.ws, x, &self.f.usd)?,
                Cell::UsdFine(x) => num(self.ws, x, &self.f.usd_fine)?,
                Cell::Count(x) => num(self.ws, x, &self.f.count)?,
                Cell::Share(x) => num(self.ws, x, &self.f.share)?,
                Cell::Num(x) => num(self.ws, x, &self.f.num)?,
                Cell::Empty => {}
            }
        }
        self.row += 1;
        Ok(())
    }

    fn gap(&mut self) {
        self.row += 1;
    }

    fn widths(&mut self, w: &[f64]) -> std::result::Result<(), XlsxError> {
        for (c, x) in w.iter().enumerate() {
            self.ws.set_column_width(c as u16, *x)?;
        }
        Ok(())
    }
}

fn provenance_lines(s: &mut Sheet, r: &RunSummary) -> std::result::Result<(), XlsxError> {
    let p = &r.provenance;
    for (k, v) in [
        ("scenario", format!("{} ({})", p.scenario, p.scenario_file)),
        (
            "paths × months",
            format!("{} × {}", r.samples, r.horizon_months),
        ),
        ("seed", p.seed.to_string()),
        ("prices as of", p.as_of.clone()),
        ("catalogue", p.catalogue.clone()),
        ("breakeven version", p.version.to_string()),
        (
            "overrides",
            if p.overrides.is_empty() {
                "none".into()
            } else {
                p.overrides.join("; ")
            },
        ),
        (
            "±",
            "one standard error of the mean (Monte Carlo error), everywhere".into(),
        ),
    ] {
        s.line(vec![t(k), t(v)])?;
    }
    s.gap();
    Ok(())
}

fn summary_sheet(s: &mut Sheet, r: &RunSummary) -> std::result::Result<(), XlsxError> {
    s.title("What each option costs")?;
    provenance_lines(s, r)?;
    s.header(&[
        "option",
        "what it is",
        "monthly cost p50",
        "monthly p5",
        "monthly p95",
        "monthly mean",
        "monthly mean s.e.",
        "total mean",
        "total mean s.e.",
        "total p5",
        "total p95",
        "per asset",
        "per image",
        "utilisation",
        "overflow",
        "P(cheapest)",
        "P(cannot keep up)",
    ])?;
    for o in &r.options {
        let m = &o.monthly_cost_usd;
        let tot = &o.total_cost_usd;
        s.line(vec![
            t(&o.id),
            t(&o.serves),
            Cell::Usd(m.p50),
            Cell::Usd(m.p5),
            Cell::Usd(m.p95),
            Cell::Usd(m.mean),
            Cell::Usd(m.std_error),
            Cell::Usd(tot.mean),
            Cell::Usd(tot.std_error),
            Cell::Usd(tot.p5),
            Cell::Usd(tot.p95),
            Cell::UsdFine(o.cost_per_asset_usd.value),
            Cell::UsdFine(o.cost_per_image_usd.value),
            if o.kind == "api" {
                Cell::Empty
            } else {
                Cell::Share(o.utilisation.value)
            },
            if o.kind == "hybrid" {
                Cell::Share(o.overflow_share.value)
            } else {
                Cell::Empty
            },
            Cell::Share(o.p_cheapest),
            Cell::Share(o.p_over_capacity),
        ])?;
    }
    if let Some(v) = &r.verdict {
        s.gap();
        s.line(vec![
            t("verdict"),
            t(format!(
                "{} beats {} by {:.0} $/month on average (± {:.0}), cheaper on {:.0}% of paths",
                v.winner,
                v.runner_up,
                v.mean_saving_per_month_usd,
                v.mean_saving_std_error / r.horizon_months.max(1) as f64,
                100.0 * v.p_winner_cheaper
            )),
        ])?;
    }
    for p in r.paybacks_to_tell() {
        s.line(vec![t("payback"), t(p.sentence(r.horizon_months))])?;
    }
    s.widths(&[24.0, 48.0])
}

fn monthly_sheet(s: &mut Sheet, r: &RunSummary) -> std::result::Result<(), XlsxError> {
    s.title("Cost month by month (each month's own cost, and cumulative cash)")?;
    s.header(&[
        "month",
        "option",
        "mean",
        "p5",
        "p50",
        "p95",
        "cumulative mean",
        "cumulative p5",
        "cumulative p50",
        "cumulative p95",
    ])?;
    for o in &r.options {
        for (m, c) in o.by_month.iter().zip(&o.cumulative) {
            s.line(vec![
                Cell::Count(m.month as f64),
                t(&o.id),
                Cell::Usd(m.mean),
                Cell::Usd(m.p5),
                Cell::Usd(m.p50),
                Cell::Usd(m.p95),
                Cell::Usd(c.mean),
                Cell::Usd(c.p5),
                Cell::Usd(c.p50),
                Cell::Usd(c.p95),
            ])?;
        }
    }
    s.ws.set_freeze_panes(1, 0)?;
    s.widths(&[8.0, 24.0])
}

fn sweep_sheet(s: &mut Sheet, w: &SweepResult) -> std::result::Result<(), XlsxError> {
    s.title("Monthly cost by monthly volume (one month at a steady volume per point)")?;
    s.line(vec![t("paths"), Cell::Count(w.samples as f64)])?;
    s.gap();
    s.header(&[
        "images/month",
        "option",
        "mean",
        "mean s.e.",
        "p5",
        "p50",
        "p95",
        "P(cannot keep up)",
    ])?;
    for p in &w.points {
        for o in &p.options {
            s.line(vec![
                Cell::Count(p.volume),
                t(&o.id),
                Cell::Usd(o.cost.mean),
                Cell::Usd(o.cost.std_error),
                Cell::Usd(o.cost.p5),
                Cell::Usd(o.cost.p50),
                Cell::Usd(o.cost.p95),
                Cell::Share(o.p_over_capacity),
            ])?;
        }
    }
    s.gap();
    s.title("Break-even volumes")?;
    s.header(&[
        "self-hosted",
        "API",
        "p5",
        "p50",
        "p95",
        "share already cheaper at the lowest volume",
        "share never cheaper",
        "in words",
    ])?;
    for b in &w.breakeven {
        let q = |f: fn(&crate::analysis::sweep::VolumeQuantiles) -> Option<f64>| {
            b.volume
                .as_ref()
                .and_then(f)
                .map(Cell::Count)
                .unwrap_or(Cell::Empty)
        };
        s.line(vec![
            t(&b.selfhost),
            t(&b.api),
            q(|v| v.p5),
            q(|v| v.p50),
            q(|v| v.p95),
            Cell::Share(b.share_below_grid),
            Cell::Share(b.share_above_grid),
            t(&b.verdict),
        ])?;
    }
    s.widths(&[16.0, 24.0])
}

fn plan_sheet(s: &mut Sheet, p: &PlanResult) -> std::result::Result<(), XlsxError> {
    s.title("What to buy: the finalists, cheapest first by the objective")?;
    s.line(vec![
        t("objective"),
        t(format!("{:?}", p.objective).to_lowercase()),
    ])?;
    s.line(vec![
        t("screened"),
        t(format!(
            "{} candidates on {} paths each; finalists on {} paths",
            p.screened, p.screen_paths, p.samples
        )),
    ])?;
    s.gap();
    s.header(&[
        "role",
        "plan",
        "what it is",
        "mean total",
        "mean s.e.",
        "p90 total",
        "p95 delay (s)",
        "P(cannot keep up)",
        "meets the constraints",
        "prices used",
    ])?;
    let mut rows: Vec<(&str, &crate::analysis::plan::Evaluated)> =
        vec![("recommended", &p.recommended)];
    if let Some(u) = &p.runner_up {
        rows.push(("runner-up", u));
    }
    if let Some(b) = &p.best_api {
        rows.push(("best API", b));
    }
    for f in &p.finalists {
        if !rows.iter().any(|(_, e)| e.id == f.id) {
            rows.push(("finalist", f));
        }
    }
    for (role, e) in rows {
        s.line(vec![
            t(role),
            t(&e.id),
            t(&e.serves),
            Cell::Usd(e.mean_usd),
            Cell::Usd(e.std_error_usd),
            Cell::Usd(e.p90_usd),
            Cell::Num(e.p95_delay_s),
            Cell::Share(e.p_over_capacity),
            t(if e.feasible { "yes" } else { "no" }),
            t(e.prices.join("; ")),
        ])?;
    }
    s.widths(&[12.0, 28.0, 48.0])
}

fn sensitivity_sheet(s: &mut Sheet, r: &SensitivityResult) -> std::result::Result<(), XlsxError> {
    s.title("What moves the answer: each input from p10 to p90, the others at their medians")?;
    s.line(vec![t("headline"), t(&r.headline)])?;
    s.line(vec![
        t("with every input at its median"),
        Cell::Usd(r.baseline_usd),
    ])?;
    s.gap();
    s.header(&[
        "input",
        "key",
        "p10 value",
        "p90 value",
        "headline at p10",
        "headline at p90",
        "swing",
        "rank correlation",
    ])?;
    for b in &r.tornado {
        s.line(vec![
            t(words::input_label(&b.input)),
            t(&b.input),
            Cell::Num(b.low_value),
            Cell::Num(b.high_value),
            Cell::Usd(b.headline_at_low),
            Cell::Usd(b.headline_at_high),
            Cell::Usd(b.swing),
            Cell::Num(b.spearman),
        ])?;
    }
    s.widths(&[40.0, 36.0])
}

fn assumptions_sheet(
    s: &mut Sheet,
    e: &Engine,
    cat: &Catalogue,
) -> std::result::Result<(), XlsxError> {
    s.title("What we assumed")?;
    for (k, v) in words::assumptions(e) {
        s.line(vec![t(k), t(v)])?;
    }
    s.gap();
    s.title("Every price and speed used, with its source")?;
    s.header(&["figure", "value", "as of", "source"])?;
    for p in words::price_rows(e, cat) {
        s.line(vec![t(p.what), t(p.value), t(p.as_of), t(p.source)])?;
    }
    s.widths(&[44.0, 60.0, 12.0, 90.0])?;
    s.ws.set_column_format(1, &s.f.wrap)?;
    Ok(())
}

fn scenario_sheet(s: &mut Sheet, text: &str) -> std::result::Result<(), XlsxError> {
    s.title("The scenario as simulated (TOML, after any --set)")?;
    for l in text.lines() {
        s.line(vec![t(l)])?;
    }
    s.widths(&[120.0])
}

/// The workbook, as the bytes of an `.xlsx` file.
pub fn workbook(w: &WorkbookInputs) -> Result<Vec<u8>> {
    build(w).map_err(|e| Error::Invariant(format!("writing the workbook: {e}")))
}

fn build(w: &WorkbookInputs) -> std::result::Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut book = Workbook::new();
    // Same run, same bytes: the workbook is dated by the newest price it uses, not by the
    // clock (a spreadsheet shows it as the creation date).
    let newest = words::price_rows(w.engine, w.catalogue)
        .iter()
        .filter_map(|p| chrono::NaiveDate::parse_from_str(&p.as_of, "%Y-%m-%d").ok())
        .max()
        .unwrap_or_else(|| chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date"));
    use chrono::Datelike;
    let date = ExcelDateTime::from_ymd(
        newest.year() as u16,
        newest.month() as u8,
        newest.day() as u8,
    )?;
    book.set_properties(
        &DocProperties::new()
            .set_title(format!("breakeven: {}", w.run.provenance.scenario))
            .set_creation_datetime(&date),
    );
    type Fill<'a> = Box<dyn Fn(&mut Sheet) -> std::result::Result<(), XlsxError> + 'a>;
    let mut sheets: Vec<(&str, Fill)> = vec![
        ("Summary", Box::new(|s: &mut Sheet| summary_sheet(s, w.run))),
        ("Monthly", Box::new(|s: &mut Sheet| monthly_sheet(s, w.run))),
    ];
    if let Some(sw) = w.sweep {
        sheets.push(("Sweep", Box::new(move |s: &mut Sheet| sweep_sheet(s, sw))));
    }
    if let Some(p) = w.plan {
        sheets.push(("Plan", Box::new(move |s: &mut Sheet| plan_sheet(s, p))));
    }
    if let Some(r) = w.sensitivity {
        sheets.push((
            "Sensitivity",
            Box::new(move |s: &mut Sheet| sensitivity_sheet(s, r)),
        ));
    }
    sheets.push((
        "Assumptions",
        Box::new(|s: &mut Sheet| assumptions_sheet(s, w.engine, w.catalogue)),
    ));
    sheets.push((
        "Scenario",
        Box::new(|s: &mut Sheet| scenario_sheet(s, &w.run.provenance.scenario_toml)),
    ));
    for (name, fill) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(name)?;
        let mut s = Sheet { ws, f: &f, row: 0 };
        fill(&mut s)?;
    }
    book.save_to_buffer()
}
