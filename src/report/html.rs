//! `report.html`: one self-contained page (inline SVG charts, inline CSS, no scripts, nothing
//! fetched) with the scenario's assumptions in plain words, the summary table, the
//! recommendation, every chart, and every price and speed used with its source and date.
//! It prints to PDF cleanly: charts never split across pages.

use super::charts::{render_svg, Chart};
use super::summary::RunSummary;
use super::words;
use crate::analysis::plan::PlanResult;
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::catalogue::Catalogue;
use crate::engine::Engine;
use crate::error::Result;
use crate::money::format_usd_short;

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Everything the page shows.
pub struct ReportInputs<'a> {
    /// The run's engine.
    pub engine: &'a Engine,
    /// The catalogue used.
    pub catalogue: &'a Catalogue,
    /// The run.
    pub run: &'a RunSummary,
    /// The run's charts.
    pub run_charts: &'a [(String, Chart)],
    /// The sweep, when the scenario has self-host and API options.
    pub sweep: Option<(&'a SweepResult, &'a [(String, Chart)])>,
    /// Sensitivity.
    pub sensitivity: Option<(&'a SensitivityResult, &'a Chart)>,
    /// The plan.
    pub plan: Option<&'a PlanResult>,
}

const CSS: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right;vertical-align:top}
th{background:#f2f2f2}td.l,th.l{text-align:left}.muted{color:#666;font-size:.9em}.verdict{font-size:1.1em;background:#eef6fb;padding:.6em .8em;border-left:4px solid #0072B2}
figure{margin:1em 0;page-break-inside:avoid;break-inside:avoid}figure svg{width:100%;height:auto}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}table{page-break-inside:avoid}}";

fn chart(c: &Chart) -> Result<String> {
    let svg = render_svg(c)?;
    // Drop any XML prologue so the SVG sits inline in the page.
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => &svg,
    };
    Ok(format!("<figure>{svg}</figure>\n"))
}

fn assumptions(e: &Engine) -> String {
    let mut out = String::from("<ul>\n");
    for (label, text) in words::assumptions(e) {
        out.push_str(&format!(
            "<li><b>{}</b>: {}</li>\n",
            esc(&label),
            esc(&text)
        ));
    }
    out.push_str("</ul>\n");
    out
}

fn run_table(r: &RunSummary) -> String {
    let mut t = String::from("<table><tr><th class=l>option</th><th class=l>what it is</th><th>monthly cost p50</th><th>p5–p95</th><th>mean ± s.e.</th><th>per asset</th><th>utilisation</th><th>overflow</th><th>P(cheapest)</th></tr>\n");
    for o in &r.options {
        let m = &o.monthly_cost_usd;
        t.push_str(&format!(
            "<tr><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}–{}</td><td>{} ± {}</td><td>${:.4}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>\n",
            esc(&o.id),
            esc(&o.serves),
            format_usd_short(m.p50),
            format_usd_short(m.p5),
            format_usd_short(m.p95),
            format_usd_short(m.mean),
            format_usd_short(m.std_error),
            o.cost_per_asset_usd.value,
            if o.kind == "api" { "–".into() } else { format!("{:.0}%", 100.0 * o.utilisation.value) },
            if o.kind == "hybrid" { format!("{:.1}%", 100.0 * o.overflow_share.value) } else { "–".into() },
            100.0 * o.p_cheapest
        ));
    }
    t.push_str("</table>\n");
    t
}

/// Every dated figure the scenario's options rest on.
fn prices(e: &Engine, cat: &Catalogue) -> String {
    let mut t = String::from("<table><tr><th class=l>figure</th><th class=l>value</th><th class=l>as of</th><th class=l>source</th></tr>\n");
    for r in words::price_rows(e, cat) {
        t.push_str(&format!("<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td></tr>\n", esc(&r.what), esc(&r.value), esc(&r.as_of), esc(&r.source)));
    }
    t.push_str("</table>\n");
    t
}

/// The page.
pub fn render(r: &ReportInputs) -> Result<String> {
    let s = &r.engine.scenario;
    let p = &r.run.provenance;
    let mut h = format!("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{} — breakeven report</title><style>{CSS}</style></head><body>\n", esc(&s.name));
    h.push_str(&format!(
        "<h1>{}: keep the API, or self-host?</h1>\n",
        esc(&s.name)
    ));
    h.push_str(&format!("<p class=muted>{}<br>breakeven {} · seed {} · {} paths · catalogue {} · prices as of {} · scenario file {}</p>\n", esc(&s.description), p.version, p.seed, r.run.samples, esc(&p.catalogue), esc(&p.as_of), esc(&p.scenario_file)));
    if let Some(v) = &r.run.verdict {
        let kind = |id: &str| {
            r.run
                .options
                .iter()
                .find(|o| o.id == id)
                .map(|o| {
                    if o.kind == "api" {
                        "the best API"
                    } else {
                        "the best self-hosted option"
                    }
                })
                .unwrap_or("")
        };
        let pair = if v.compared == "api-vs-selfhost" {
            format!(
                "<b>{}</b> ({}) against <b>{}</b> ({})",
                esc(&v.winner),
                kind(&v.winner),
                esc(&v.runner_up),
                kind(&v.runner_up)
            )
        } else {
            format!(
                "<b>{}</b> against <b>{}</b>",
                esc(&v.winner),
                esc(&v.runner_up)
            )
        };
        h.push_str(&format!(
            "<p class=verdict>{pair}: {} is {}/month cheaper on average (± {}; {} over {} months) and cheaper on {:.0}% of simulated futures.</p>\n",
            esc(&v.winner),
            format_usd_short(v.mean_saving_per_month_usd),
            format_usd_short(v.mean_saving_std_error / s.horizon_months as f64),
            format_usd_short(v.mean_saving_usd),
            s.horizon_months,
            100.0 * v.p_winner_cheaper
        ));
        if v.most_often_cheapest != v.winner {
            h.push_str(&format!(
                "<p>{} is the cheapest option on the most paths: the answer depends on where demand lands.</p>\n",
                esc(&v.most_often_cheapest)
            ));
        }
    }
    for o in &r.run.options {
        if o.p_over_capacity > 0.0 {
            h.push_str(&format!(
                "<p class=verdict><b>Warning:</b> {} cannot keep up on {:.0}% of paths (images still queued at the end); it never counts as the cheaper option there.</p>\n",
                esc(&o.id),
                100.0 * o.p_over_capacity
            ));
        }
    }
    h.push_str("<h2>What we assumed</h2>\n");
    h.push_str(&assumptions(r.engine));
    h.push_str("<h2>What each option costs</h2>\n");
    h.push_str(&run_table(r.run));
    for pb in r.run.paybacks_to_tell() {
        h.push_str(&format!("<p>{}</p>\n", esc(&pb.sentence(s.horizon_months))));
    }
    for (_, c) in r.run_charts {
        h.push_str(&chart(c)?);
    }
    if let Some(plan) = r.plan {
        h.push_str("<h2>What to buy</h2>\n");
        let e = &plan.recommended;
        h.push_str(&format!("<p class=verdict>Recommended: <b>{}</b> ({}): expected {} over the horizon, 90th percentile {}, 95th-percentile delay {:.1} s.</p>\n", esc(&e.id), esc(&e.serves), format_usd_short(e.mean_usd), format_usd_short(e.p90_usd), e.p95_delay_s));
        if let (Some(b), Some(sv)) = (&plan.best_api, plan.saving_vs_best_api_usd) {
            if b.id != e.id {
                h.push_str(&format!(
                    "<p>Against the best API option, {}, it saves {} over the horizon.</p>\n",
                    esc(&b.id),
                    format_usd_short(sv)
                ));
            } else {
                h.push_str("<p>No self-hosted plan beats the best API option.</p>\n");
            }
        }
        if let Some(u) = &plan.runner_up {
            h.push_str(&format!(
                "<p>Runner-up: {} ({}), expected {}.</p>\n",
                esc(&u.id),
                esc(&u.serves),
                format_usd_short(u.mean_usd)
            ));
        }
        h.push_str(&format!("<p class=muted>{} candidate fleets screened on {} paths each; the best {} re-run on {} paths. Prices used: {}</p>\n", plan.screened, plan.screen_paths, plan.finalists.len(), plan.samples, esc(&e.prices.join("; "))));
    }
    if let Some((sw, charts)) = r.sweep {
        h.push_str("<h2>From what volume does self-hosting pay?</h2>\n<ul>\n");
        for b in &sw.breakeven {
            h.push_str(&format!("<li>{}</li>\n", esc(&b.verdict)));
        }
        h.push_str("</ul>\n");
        for (_, c) in charts {
            h.push_str(&chart(c)?);
        }
    }
    if let Some((sens, c)) = r.sensitivity {
        h.push_str("<h2>What moves the answer</h2>\n");
        h.push_str(&format!(
            "<p>Headline: {}. With every input at its median it is {}.</p>\n",
            esc(&sens.headline),
            format_usd_short(sens.baseline_usd)
        ));
        h.push_str(&chart(c)?);
        if !sens.never_matter.is_empty() {
            h.push_str(&format!(
                "<p class=muted>Never matter here: {}.</p>\n",
                esc(&sens.never_matter.join(", "))
            ));
        }
    }
    h.push_str("<h2>Every price and speed used</h2>\n");
    h.push_str(&prices(r.engine, r.catalogue));
    h.push_str("<p class=muted>Figures come from copies of public pages; check the live price pages before you publish a decision. Rerun this report with the seed above to get exactly these numbers.</p>\n</body></html>\n");
    Ok(h)
}
