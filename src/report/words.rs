//! The scenario in words, for people: what `check` prints, the report's assumptions, the
//! workbook's assumptions sheet, and the names of inputs in charts and tables. One place, so
//! that the page, the workbook and the terminal say the same thing.

use crate::catalogue::Catalogue;
use crate::engine::Engine;
use crate::money::format_count;
use crate::scenario::{OptionKind, Payment, Scenario};

/// An input's name for people: `monthly volume at the start`, `ops hours per month,
/// h100-autoscaled`. Names this does not know are returned as they are.
pub fn input_label(name: &str) -> String {
    match name {
        "demand.monthly" => return "monthly volume at the start".into(),
        "demand.growth" => return "growth per month".into(),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix("option.") {
        for (field, words) in [
            ("ops_hours_per_month", "ops hours per month"),
            ("speed_factor", "seconds per image (× catalogue)"),
            ("gpu_price_factor", "GPU price (× catalogue)"),
            ("price_factor", "API price (× catalogue)"),
        ] {
            if let Some(id) = rest.strip_suffix(&format!(".{field}")) {
                return format!("{words}, {id}");
            }
        }
    }
    name.to_string()
}

/// A number for people: thousands grouped (`12,500`), smaller numbers to three significant
/// digits (`11.3`, `0.57`, `0.0128`), trailing zeros dropped.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.abs() >= 1000.0 {
        return format_count(x);
    }
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (2 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A count to three significant digits, thousands grouped: `307,000`, `1,960,000`, `12.5`:
/// the digits a Monte Carlo estimate supports.
pub fn count(x: f64) -> String {
    if !x.is_finite() || x.abs() < 1000.0 {
        return number(x);
    }
    let scale = 10f64.powi(x.abs().log10().floor() as i32 - 2);
    format_count((x / scale).round() * scale)
}

/// One dated figure an option rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    /// What it is (`h100-sxm runpod-community`).
    pub what: String,
    /// Its value with unit (`$2.69/hour`).
    pub value: String,
    /// Its date, or `scenario` when the scenario set its own.
    pub as_of: String,
    /// Where it comes from.
    pub source: String,
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

/// Every dated figure the scenario's options rest on, once each.
pub fn price_rows(e: &Engine, cat: &Catalogue) -> Vec<PriceRow> {
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
    rows.into_iter()
        .map(|(what, value, as_of, source)| PriceRow {
            what,
            value,
            as_of,
            source,
        })
        .collect()
}

/// One input in words: `lognormal distribution, median 10,000, 10th–90th percentile
/// 5,000–20,000 (assets/month)`, or `20 (hours/month)` when fixed.
pub fn input_in_words(inp: &crate::scenario::NamedInput) -> String {
    let d = &inp.dist;
    if d.is_fixed() {
        format!("{} ({})", number(d.median()), inp.unit)
    } else {
        format!(
            "{} distribution, median {}, 10th–90th percentile {}–{} ({})",
            d.family(),
            number(d.median()),
            number(d.quantile(0.1)),
            number(d.quantile(0.9)),
            inp.unit
        )
    }
}

/// The scenario's assumptions, one sentence each, as `(label, text)`: horizon, every input,
/// the week, the mix, the pipeline, each option, the correlations and the overrides.
pub fn assumptions(e: &Engine) -> Vec<(String, String)> {
    let s: &Scenario = &e.scenario;
    let mut out = Vec::new();
    out.push((
        "horizon".to_string(),
        format!(
            "{} from calendar month {}; prices as of {}",
            if s.horizon_months == 1 {
                "1 month".to_string()
            } else {
                format!("{} months", s.horizon_months)
            },
            s.start_month,
            s.as_of
                .map(|d| d.to_string())
                .unwrap_or_else(|| "the newest in the catalogue".into())
        ),
    ));
    for inp in &s.inputs {
        out.push((
            format!("{} ({})", input_label(&inp.name), inp.name),
            input_in_words(inp),
        ));
    }
    out.push((
        "week".into(),
        format!(
            "the “{}” profile; arrivals {}{}",
            s.demand.profile.name,
            match s.demand.arrivals {
                crate::scenario::Arrivals::Poisson => "Poisson",
                crate::scenario::Arrivals::Fluid => "fluid (expected counts, no noise)",
            },
            if s.demand.burstiness > 0.0 {
                format!(
                    ", bursts with coefficient of variation {}",
                    number(s.demand.burstiness)
                )
            } else {
                String::new()
            }
        ),
    ));
    let mix: Vec<String> = s
        .mix
        .iter()
        .map(|b| {
            format!(
                "{}% {}{}",
                number(100.0 * b.share),
                b.size,
                if b.inputs.is_empty() {
                    String::new()
                } else {
                    format!(" with {} input image(s)", b.inputs.len())
                }
            )
        })
        .collect();
    out.push(("request mix".into(), mix.join(", ")));
    if s.stages.len() > 1 || s.stages[0].per_asset != 1.0 {
        let st: Vec<String> = s
            .stages
            .iter()
            .map(|x| format!("{} × {} per asset", x.name, number(x.per_asset)))
            .collect();
        out.push(("pipeline".into(), st.join("; ")));
    }
    for (i, o) in s.options.iter().enumerate() {
        out.push((format!("option {}", o.id), super::summary::describe(e, i).1));
    }
    if !s.correlations.is_empty() {
        let c: Vec<String> = s
            .correlations
            .iter()
            .map(|(a, b, r)| {
                format!(
                    "{} ~ {} (ρ = {})",
                    input_label(&s.input(*a).name),
                    input_label(&s.input(*b).name),
                    number(*r)
                )
            })
            .collect();
        out.push(("rank correlations".into(), c.join("; ")));
    }
    if !s.overrides.is_empty() {
        out.push((
            "overrides".into(),
            format!("--set {}", s.overrides.join(", --set ")),
        ));
    }
    out
}
