//! `report.html`: one self-contained page (inline SVG charts, inline CSS, no scripts, nothing
//! fetched) with the scenario's assumptions in plain words, the summary table, the
//! recommendation, every chart, and every price and speed used with its source and date.
//! It prints to PDF cleanly: charts never split across pages.

use super::charts::{render_svg, Chart};
use super::decision::Decision;
use super::summary::RunSummary;
use super::words;
use crate::analysis::plan::PlanResult;
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::catalogue::Catalogue;
use crate::engine::Engine;
use crate::error::Result;
use crate::money::format_usd_short;
use crate::scenario::{OptionKind, Payment};

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
.answer{border:1px solid #ccc;padding:.4em 1em;margin:1em 0}.answer h2{margin-top:.4em;border:none}.answer .decision{font-size:1.35em}.answer dt{font-weight:bold;margin-top:.5em}.answer dd{margin-left:1.2em}
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

/// Every financial assumption, in words: discounting, one-time costs, owned hardware and its
/// resale, reservations, prices that move, missing people costs.
fn finance(e: &Engine) -> String {
    let s = &e.scenario;
    let mut li: Vec<String> = Vec::new();
    li.push(if s.discount_rate_per_year == 0.0 {
        "Totals are not discounted (discount_rate_per_year = 0); the present values equal them."
            .into()
    } else {
        format!(
            "Present values discount month m (from 0) by (1 + {:.1}%)^(m/12).",
            100.0 * s.discount_rate_per_year
        )
    });
    let range = |i: crate::ids::InputId| {
        let d = &s.input(i).dist;
        if d.is_fixed() {
            format_usd_short(d.median())
        } else {
            format!(
                "{} (10th–90th percentile {}–{})",
                format_usd_short(d.median()),
                format_usd_short(d.quantile(0.1)),
                format_usd_short(d.quantile(0.9))
            )
        }
    };
    for o in &s.options {
        if let Some(i) = o.setup_usd {
            li.push(format!(
                "{}: a one-time set-up of {}, paid in month 1.",
                o.id,
                range(i)
            ));
        }
        if let OptionKind::SelfHost(h) = &o.kind {
            match &h.payment {
                Payment::Owned {
                    purchase_usd,
                    system_usd,
                    residual_share,
                    residual_from_catalogue,
                    ..
                } => {
                    let r = &s.input(*residual_share).dist;
                    li.push(format!(
                        "{}: each GPU bought in month 1 for ${purchase_usd} plus ${system_usd} of server and networking; at the end of month {} it fetches {:.0}–{:.0}% of that ({}), which comes back in the cash view; the cost is the difference, spread evenly over the horizon.",
                        o.id,
                        s.horizon_months,
                        100.0 * r.quantile(0.0),
                        100.0 * r.quantile(1.0),
                        if *residual_from_catalogue { "the catalogue's resale curve" } else { "the scenario's figure" }
                    ));
                }
                Payment::Hourly {
                    commitment_months: Some(c),
                    commitment_exit_usd,
                    ..
                } => li.push(match commitment_exit_usd {
                    Some(x) => format!("{}: reserved for {c} months; the term past the horizon is resold or cancelled for ${x}, billed in the last month.", o.id),
                    None if *c > s.horizon_months => format!("{}: reserved for {c} months, {} past the horizon: the whole term is billed (the rest in the last month).", o.id, c - s.horizon_months),
                    None => format!("{}: reserved for {c} months, within the horizon.", o.id),
                }),
                _ => {}
            }
            if !h.ops_given {
                li.push(format!(
                    "{}: no people cost is set (ops_hours_per_month); its totals leave people out.",
                    o.id
                ));
            }
        }
    }
    for (what, d) in [
        ("API prices", s.market.api_price_drift),
        ("GPU rents", s.market.gpu_price_drift),
    ] {
        if let Some(i) = d {
            let dist = &s.input(i).dist;
            li.push(format!(
                "{what} move by {:.0}% a year (median; 10th–90th percentile {:.0}% to {:.0}%), month by month.",
                100.0 * dist.median(),
                100.0 * dist.quantile(0.1),
                100.0 * dist.quantile(0.9)
            ));
        }
    }
    if s.market.api_price_drift.is_none() && s.market.gpu_price_drift.is_none() {
        li.push("Prices stay at today's for the whole horizon (no drift set).".into());
    }
    for c in &s.market.changes {
        let who = match &c.what {
            crate::scenario::Mover::Api(a) => a.clone(),
            crate::scenario::Mover::Gpu(g) => format!("{g} rents"),
        };
        li.push(format!(
            "From month {}, {who} × {}.",
            c.from_month, c.factor
        ));
    }
    let mut out = String::from("<ul>\n");
    for l in li {
        out.push_str(&format!("<li>{}</li>\n", esc(&l)));
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

/// A factor as a change: `×0.87 (13% lower)`.
fn factor(f: f64) -> String {
    let pct = (f - 1.0) * 100.0;
    let change = if pct.abs() < 0.05 {
        "as they are".to_string()
    } else if pct < 0.0 {
        format!("{}% lower", words::number(-pct))
    } else {
        format!("{}% higher", words::number(pct))
    };
    format!("×{} ({change})", words::number(f))
}

/// The answer before the detail: the decision, how sure it is, what drives it, and what
/// would flip it.
fn first_screen(d: &Decision, months: u32) -> String {
    let mut h = String::from("<section class=answer>\n<h2>The answer</h2>\n");
    let what = if d.choose_is_api {
        format!("Keep paying per image: <b>{}</b>", esc(&d.choose))
    } else {
        format!("Self-host: <b>{}</b>", esc(&d.choose))
    };
    h.push_str(&format!(
        "<p class=decision>{what}, rather than {}.</p>\n<dl>\n",
        esc(&d.over)
    ));
    let (save, se) = d.saving_per_month;
    h.push_str(&format!(
        "<dt>How sure</dt><dd>Cheaper on <b>{:.0}%</b> of the simulated futures; {} a month cheaper on average (± {}, one standard error; {} over {} months).{}",
        100.0 * d.p_cheaper,
        format_usd_short(save),
        format_usd_short(se),
        format_usd_short(save * f64::from(months)),
        months,
        if d.p_cheaper < 0.5 {
            " It has the lower mean cost yet is cheaper on fewer than half of the futures: it saves a lot on some and loses a little on more, so the answer depends on where demand lands."
        } else {
            ""
        }
    ));
    for (id, p5, p50, p95) in &d.ranges {
        h.push_str(&format!(
            " {}: {} a month (median), {}–{} on 90% of futures.",
            esc(id),
            format_usd_short(*p50),
            format_usd_short(*p5),
            format_usd_short(*p95)
        ));
    }
    h.push_str("</dd>\n");
    if !d.drivers.is_empty() {
        h.push_str(&format!(
            "<dt>What drives it</dt><dd>Each input from its p10 to its p90, the others at their medians, moves the {}:<ol>\n",
            esc(&d.headline)
        ));
        for x in &d.drivers {
            h.push_str(&format!(
                "<li>{}: {} → {} moves it from {} to {}</li>\n",
                esc(&x.input),
                words::number(x.values.0),
                words::number(x.values.1),
                format_usd_short(x.headline.0),
                format_usd_short(x.headline.1)
            ));
        }
        h.push_str("</ol></dd>\n");
    }
    h.push_str("<dt>What would flip it</dt><dd><ul>\n");
    let (v0, v1) = d.volume_now;
    let now = if (v1 / v0 - 1.0).abs() < 0.01 {
        format!(
            "this scenario's median volume is {} a month",
            words::count(v0)
        )
    } else {
        format!(
            "this scenario's median volume runs from {} a month to about {} in month {months}",
            words::count(v0),
            words::count(v1)
        )
    };
    match d.breakeven_volume {
        Some((Some(m), p5, p95)) => h.push_str(&format!(
            "<li>Volume: self-hosting is cheaper from about <b>{} images a month</b> (p5–p95 {}–{}); {now}.</li>\n",
            words::count(m),
            p5.map(words::count).unwrap_or_else(|| "below the swept range".into()),
            p95.map(words::count).unwrap_or_else(|| "above it".into())
        )),
        Some(_) => h.push_str(&format!(
            "<li>Volume: no median break-even in the swept range; {now}.</li>\n"
        )),
        None => {}
    }
    match d.api_price_flip {
        Some(f) => h.push_str(&format!(
            "<li>API prices {}: the two options' mean costs are then equal.</li>\n",
            factor(f)
        )),
        None => {
            h.push_str("<li>API prices: no change of API prices alone makes the two equal.</li>\n")
        }
    }
    match d.gpu_price_flip {
        Some(f) => h.push_str(&format!(
            "<li>GPU rents (by the hour or second) {}: the two options' mean costs are then equal.</li>\n",
            factor(f)
        )),
        None => h.push_str("<li>GPU rents: no change of GPU rents alone makes the two equal.</li>\n"),
    }
    h.push_str("</ul></dd>\n</dl>\n<p class=muted>± is one standard error of the mean (the Monte Carlo error) everywhere in this report. API prices scale every API image, overflow included; GPU rents scale every rented GPU-hour and GPU-second (a purchase does not move); the thresholds compare the two options' mean costs.</p>\n</section>\n");
    h
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
    if let Some(d) = Decision::new(
        r.engine,
        r.run,
        r.sensitivity.map(|(s, _)| s),
        r.sweep.map(|(s, _)| s),
    ) {
        h.push_str(&first_screen(&d, s.horizon_months));
    }
    h.push_str("<h2>The detail</h2>\n");
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
    h.push_str("<h3>Money: how each cost is counted</h3>\n");
    h.push_str(&finance(r.engine));
    h.push_str("<h2>What each option costs</h2>\n");
    h.push_str(&run_table(r.run));
    for ap in r.run.api_prices_to_tell() {
        h.push_str(&format!("<p>{}</p>\n", esc(&ap.sentence())));
    }
    for d in &r.run.dearer_named_apis {
        h.push_str(&format!(
            "<p>Note: {} (named in the scenario) costs {} more over the horizon than {}, for the same work.</p>\n",
            esc(&d.named),
            format_usd_short(d.more_usd),
            esc(&d.cheapest)
        ));
    }
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
        h.push_str(&format!(
            "<p>Prices (API price factors and drifts, GPU price factors and drifts) account for {:.0}% of the summed swings.</p>\n",
            100.0 * sens.price_share
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
