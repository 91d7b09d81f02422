//! `report.html`: one self-contained page (inline SVG charts, inline CSS, no scripts, nothing
//! fetched) with the scenario's assumptions in plain words, the summary table, the
//! recommendation, every chart, and every price and speed used with its source and date.
//! It prints to PDF cleanly: charts never split across pages.

use super::charts::{render_svg, Chart};
use super::summary::RunSummary;
use crate::analysis::plan::PlanResult;
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::catalogue::Catalogue;
use crate::engine::Engine;
use crate::error::Result;
use crate::money::{format_count, format_usd_short};
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
    let s = &e.scenario;
    let mut out = String::from("<ul>\n");
    out.push_str(&format!(
        "<li>Horizon: {} month(s) from calendar month {}; prices as of {}.</li>\n",
        s.horizon_months,
        s.start_month,
        s.as_of
            .map(|d| d.to_string())
            .unwrap_or_else(|| "the newest in the catalogue".into())
    ));
    for inp in &s.inputs {
        let d = &inp.dist;
        let text = if d.is_fixed() {
            format!("{} ({})", fmt_num(d.median()), inp.unit)
        } else {
            format!(
                "{} distribution, median {}, 10th–90th percentile {}–{} ({})",
                d.family(),
                fmt_num(d.median()),
                fmt_num(d.quantile(0.1)),
                fmt_num(d.quantile(0.9)),
                inp.unit
            )
        };
        out.push_str(&format!(
            "<li><b>{}</b>: {}</li>\n",
            esc(&inp.name),
            esc(&text)
        ));
    }
    out.push_str(&format!(
        "<li>Week shape: the “{}” profile; arrivals {:?}{}.</li>\n",
        esc(&s.demand.profile.name),
        s.demand.arrivals,
        if s.demand.burstiness > 0.0 {
            format!(
                ", bursts with coefficient of variation {}",
                s.demand.burstiness
            )
        } else {
            String::new()
        }
    ));
    let mix: Vec<String> = s
        .mix
        .iter()
        .map(|b| {
            format!(
                "{:.0}% {}{}",
                100.0 * b.share,
                b.size,
                if b.inputs.is_empty() {
                    String::new()
                } else {
                    format!(" with {} input image(s)", b.inputs.len())
                }
            )
        })
        .collect();
    out.push_str(&format!(
        "<li>Request mix: {}.</li>\n",
        esc(&mix.join(", "))
    ));
    if s.stages.len() > 1 || s.stages[0].per_asset != 1.0 {
        let st: Vec<String> = s
            .stages
            .iter()
            .map(|x| format!("{} × {} per asset", x.name, x.per_asset))
            .collect();
        out.push_str(&format!("<li>Pipeline: {}.</li>\n", esc(&st.join("; "))));
    }
    for (i, o) in s.options.iter().enumerate() {
        out.push_str(&format!(
            "<li>Option <b>{}</b>: {}.</li>\n",
            esc(&o.id),
            esc(&super::summary::describe(e, i).1)
        ));
    }
    if !s.correlations.is_empty() {
        let c: Vec<String> = s
            .correlations
            .iter()
            .map(|(a, b, r)| format!("{} ~ {} (ρ = {r})", s.input(*a).name, s.input(*b).name))
            .collect();
        out.push_str(&format!(
            "<li>Rank correlations: {}.</li>\n",
            esc(&c.join(", "))
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

fn fmt_num(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format_count(x)
    } else {
        format!("{}", (x * 10_000.0).round() / 10_000.0)
    }
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

/// Where a figure came from: the catalogue's dated source when the scenario uses the
/// catalogue's figure, else the scenario file that set its own.
fn credit(
    from_catalogue: bool,
    p: &crate::catalogue::Provenance,
    scenario_file: &str,
) -> (String, String) {
    if from_catalogue {
        (p.as_of.to_string(), p.source.clone())
    } else {
        (
            "scenario".into(),
            format!("{scenario_file} (the scenario's own figure)"),
        )
    }
}

/// Every dated figure the scenario's options rest on.
fn prices(e: &Engine, cat: &Catalogue) -> String {
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut add = |what: String, value: String, date: String, source: String| {
        let row = (what, value, date, source);
        if !rows.contains(&row) {
            rows.push(row);
        }
    };
    let s = &e.scenario;
    let mut apis: Vec<String> = Vec::new();
    for o in &s.options {
        apis.extend(o.stage_apis.values().cloned());
        match &o.kind {
            OptionKind::Api { api, .. } => apis.push(api.clone()),
            OptionKind::SelfHost(h) => {
                if let Some(ov) = &h.overflow {
                    apis.push(ov.api.clone());
                }
                if let Some(g) = cat.gpus.get(&h.gpu) {
                    match &h.payment {
                        Payment::Hourly {
                            offer,
                            usd_per_hour,
                            ..
                        } => {
                            if let Some(of) = g.offer(offer) {
                                let (d, src) = credit(
                                    of.usd_per_hour == Some(*usd_per_hour),
                                    &of.provenance,
                                    &s.file,
                                );
                                add(
                                    format!("{} {}", g.id, offer),
                                    format!("${usd_per_hour}/hour"),
                                    d,
                                    src,
                                );
                            }
                        }
                        Payment::Serverless {
                            offer,
                            usd_per_second,
                            ..
                        } => {
                            if let Some(of) = g.offer(offer) {
                                let (d, src) = credit(
                                    of.usd_per_second == Some(*usd_per_second),
                                    &of.provenance,
                                    &s.file,
                                );
                                add(
                                    format!("{} {}", g.id, offer),
                                    format!("${usd_per_second}/s"),
                                    d,
                                    src,
                                );
                            }
                        }
                        Payment::Owned {
                            purchase_usd,
                            system_usd,
                            residual_share,
                            residual_from_catalogue,
                            ..
                        } => {
                            let (d, src) = match &g.purchase {
                                Some(p) => credit(p.usd == *purchase_usd, &p.provenance, &s.file),
                                None => ("scenario".into(), s.file.clone()),
                            };
                            add(
                                format!("{} purchase (per GPU)", g.id),
                                format!("${purchase_usd}"),
                                d,
                                src,
                            );
                            if !system_usd.is_zero() {
                                add(
                                    format!("{} server and networking share (per GPU)", g.id),
                                    format!("${system_usd}"),
                                    "scenario".into(),
                                    format!("{} (the scenario's own figure)", s.file),
                                );
                            }
                            let r = s.input(*residual_share);
                            let resale = g.resale.as_ref().map(|r| &r.provenance).or_else(|| {
                                cat.gpus
                                    .get("h100-sxm")
                                    .and_then(|h| h.resale.as_ref())
                                    .map(|r| &r.provenance)
                            });
                            let (d, src) = match (resale, residual_from_catalogue) {
                                (Some(p), true) => (
                                    p.as_of.to_string(),
                                    format!(
                                        "{}{}",
                                        p.source,
                                        if g.resale.is_none() {
                                            " (the H100's curve, assumed)"
                                        } else {
                                            ""
                                        }
                                    ),
                                ),
                                _ => (
                                    "scenario".into(),
                                    format!("{} (the scenario's own figure)", s.file),
                                ),
                            };
                            add(
                                format!("{} resale after {} months", g.id, s.horizon_months),
                                format!(
                                    "{:.0}–{:.0}% of purchase",
                                    100.0 * r.dist.quantile(0.0),
                                    100.0 * r.dist.quantile(1.0)
                                ),
                                d,
                                src,
                            );
                        }
                    }
                }
                if let Some(p) = cat.selfhost.get(&h.profile) {
                    match (h.seconds_at_1mp, &h.bucket_seconds, p.speed_on(&h.gpu)) {
                        (Some(t), _, _) => add(
                            format!("{} on {}", p.id, h.gpu),
                            format!("{t} s per 1 MP image"),
                            "scenario".into(),
                            s.file.clone(),
                        ),
                        (_, Some(b), _) => add(
                            format!("{} on {}", p.id, h.gpu),
                            format!("{b:?} s per bucket"),
                            "scenario".into(),
                            s.file.clone(),
                        ),
                        (_, _, Some(sp)) => add(
                            format!("{} on {}", p.id, h.gpu),
                            format!("{} s per 1 MP image", sp.seconds_at_1mp),
                            sp.provenance.as_of.to_string(),
                            sp.provenance.source.clone(),
                        ),
                        _ => {}
                    }
                }
                if let Some(l) = cat.licences.get(&h.licence) {
                    add(
                        format!("licence {}", l.id),
                        format!(
                            "${}/month{}",
                            h.licence_fee_usd.unwrap_or(l.monthly_fee_usd),
                            if l.provenance.assumption {
                                " (assumption)"
                            } else {
                                ""
                            }
                        ),
                        l.provenance.as_of.to_string(),
                        l.provenance.source.clone(),
                    );
                }
            }
        }
    }
    for api in apis {
        if let Some(p) = cat.apis.get(&api).and_then(|a| a.price_on(s.as_of)) {
            add(
                api.clone(),
                p.rule.headline(),
                p.provenance.as_of.to_string(),
                p.provenance.source.clone(),
            );
        }
    }
    let mut t = String::from("<table><tr><th class=l>figure</th><th class=l>value</th><th class=l>as of</th><th class=l>source</th></tr>\n");
    for (w, v, d, src) in rows {
        t.push_str(&format!("<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td></tr>\n", esc(&w), esc(&v), esc(&d), esc(&src)));
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
