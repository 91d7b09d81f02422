//! The terminal table of a run.

use super::summary::RunSummary;
use crate::money::{format_count, format_usd_short};

fn usd(x: f64) -> String {
    // Whole dollars with separators for totals; cents for small amounts.
    if x.abs() >= 100.0 {
        format!("${}", format_count(x))
    } else if x.abs() >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// A standard error at the precision of the figure it qualifies: whole dollars beside whole
/// dollars, cents beside cents.
fn usd_se(se: f64, of: f64) -> String {
    if of.abs() >= 100.0 {
        format!("${}", format_count(se))
    } else {
        format!("${se:.2}")
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// A latency for the table: seconds to two significant figures, ∞ when it never ended.
pub fn secs(x: f64) -> String {
    if !x.is_finite() {
        "∞".into()
    } else if x >= 100.0 {
        format!("{} s", format_count(x))
    } else if x >= 10.0 {
        format!("{x:.0} s")
    } else {
        format!("{x:.1} s")
    }
}

fn months(n: u32) -> String {
    if n == 1 {
        "1 month".into()
    } else {
        format!("{n} months")
    }
}

/// The table: one row per option, then the verdict.
pub fn render(s: &RunSummary) -> String {
    let header = [
        "option",
        "monthly cost p50 [p5–p95]",
        "mean ± s.e.",
        "per asset",
        "util.",
        "overflow",
        "p95 latency",
        "P(cheapest)",
    ];
    let mut rows: Vec<[String; 8]> = Vec::new();
    for o in &s.options {
        let m = &o.monthly_cost_usd;
        let fleet = o.kind != "api";
        rows.push([
            o.id.clone(),
            format!("{} [{}–{}]", usd(m.p50), usd(m.p5), usd(m.p95)),
            format!("{} ± {}", usd(m.mean), usd_se(m.std_error, m.mean)),
            usd(o.cost_per_asset_usd.value),
            if fleet {
                pct(o.utilisation.value)
            } else {
                "–".into()
            },
            if o.kind == "hybrid" {
                pct(o.overflow_share.value)
            } else {
                "–".into()
            },
            o.latency_s
                .as_ref()
                .map_or_else(|| "–".into(), |l| secs(l.p95)),
            format!("{:.0}%", 100.0 * o.p_cheapest),
        ]);
    }
    let mut w = header.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = w[i] - c.chars().count();
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} paths × {} months, seed {}, prices as of {} ({} catalogue)\n\n",
        s.provenance.scenario,
        s.samples,
        s.horizon_months,
        s.provenance.seed,
        s.provenance.as_of,
        s.provenance.catalogue
    ));
    out.push_str(&line(&header.map(String::from)));
    out.push('\n');
    out.push_str(&"-".repeat(w.iter().sum::<usize>() + 2 * (w.len() - 1)));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    for o in &s.options {
        out.push_str(&format!("  {}: {}\n", o.id, o.serves));
    }
    out.push_str("  per asset: total cost over all paths' delivered assets; util.: all work over all capacity\n");
    out.push_str("  p95 latency: wait + service of the images the fleet made, over the horizon and all paths (overflowed images are the API's)\n");
    for o in &s.options {
        if o.p_over_capacity > 0.0 {
            out.push_str(&format!(
                "  warning: {} cannot keep up on {:.0}% of paths (images still queued at the end); its cost there is not comparable\n",
                o.id,
                100.0 * o.p_over_capacity
            ));
        }
    }
    for o in &s.options {
        if o.ops_missing {
            out.push_str(&format!(
                "  warning: {} has no people cost (ops_hours_per_month is not set; set it, to 0 if none)\n",
                o.id
            ));
        }
        if o.commitment_left_usd > 0.0 {
            out.push_str(&format!(
                "  note: {}'s reservation runs past the horizon: its total includes {} for the rest of the term\n",
                o.id,
                format_usd_short(o.commitment_left_usd)
            ));
        }
    }
    if s.discount_rate_per_year != 0.0 {
        out.push_str(&format!(
            "  present value at {:.1}% a year (mean): {}\n",
            100.0 * s.discount_rate_per_year,
            s.options
                .iter()
                .map(|o| format!("{} {}", o.id, format_usd_short(o.present_value_usd.mean)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for d in &s.dearer_named_apis {
        out.push_str(&format!(
            "  note: {} (named in the scenario) costs {}/month more than {} for the same work (± {}; {} over {})\n",
            d.named,
            format_usd_short(d.more_usd / s.horizon_months as f64),
            d.cheapest,
            format_usd_short(d.more_std_error / s.horizon_months as f64),
            format_usd_short(d.more_usd),
            months(s.horizon_months)
        ));
    }
    if let Some(v) = &s.verdict {
        out.push('\n');
        let role = |id: &str| match s.options.iter().find(|o| o.id == id) {
            Some(o) if o.kind == "api" => "the best API",
            Some(_) if v.compared == "api-vs-selfhost" => "the best self-hosted option",
            _ => "",
        };
        let named = |id: &str| match role(id) {
            "" => id.to_string(),
            r => format!("{id} ({r})"),
        };
        out.push_str(&format!(
            "{} beats {}: {}/month cheaper on average (± {}; {} over {}), and cheaper on {:.0}% of paths.\n",
            named(&v.winner),
            named(&v.runner_up),
            format_usd_short(v.mean_saving_per_month_usd),
            format_usd_short(v.mean_saving_std_error / s.horizon_months as f64),
            format_usd_short(v.mean_saving_usd),
            months(s.horizon_months),
            100.0 * v.p_winner_cheaper
        ));
        if v.lowest_mean != v.winner && v.lowest_mean != v.runner_up {
            out.push_str(&format!(
                "The lowest mean cost of all is {}'s.\n",
                v.lowest_mean
            ));
        }
        // The lowest mean and the most frequent winner can differ when costs are skewed.
        if v.most_often_cheapest != v.winner {
            let most = s.options.iter().find(|o| o.id == v.most_often_cheapest);
            if let Some(most) = most {
                out.push_str(&format!(
                    "{} is the cheapest on the most paths ({:.0}%; {} on {:.0}%): the answer depends on where demand lands.\n",
                    most.id,
                    100.0 * most.p_cheapest,
                    v.winner,
                    100.0 * v.p_winner_cheapest
                ));
            }
        }
    }
    for p in s.api_prices_to_tell() {
        out.push_str(&p.sentence());
        out.push('\n');
    }
    for p in s.paybacks_to_tell() {
        out.push_str(&p.sentence(s.horizon_months));
        out.push('\n');
    }
    out
}
