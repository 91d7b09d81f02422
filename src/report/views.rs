//! Results as charts: which chart each command draws, from which numbers.

use super::charts::*;
use crate::analysis::payback::Payback;
use crate::analysis::sensitivity::SensitivityResult;
use crate::analysis::sweep::SweepResult;
use crate::engine::{Engine, RunResult, WeekTrace};
use crate::stats;

fn subtitle(scenario: &str, months: u32, samples: u64, seed: u64) -> String {
    format!(
        "scenario: {scenario} · {months} month{} · {} paths · seed {seed}",
        if months == 1 { "" } else { "s" },
        crate::money::format_count(samples as f64)
    )
}

/// A sample of a stream for a CDF: its exact values, or 199 quantiles once it is a histogram.
fn sample_of(s: &stats::Stream) -> Vec<f64> {
    if s.is_exact() {
        s.exact_values().to_vec()
    } else {
        s.quantiles(&(1..200).map(|i| i as f64 / 200.0).collect::<Vec<_>>())
    }
}

/// The charts of a run: cost distributions, each fleet's week, and (over several months) the
/// cumulative cost with the month self-hosting overtakes the cheapest API.
pub fn run_charts(
    e: &Engine,
    r: &RunResult,
    traces: &[Vec<WeekTrace>],
    paybacks: &[Payback],
    seed: u64,
) -> Vec<(String, Chart)> {
    let s = &e.scenario;
    let sub = subtitle(&s.name, s.horizon_months, r.samples, seed);
    let mut out = Vec::new();
    let dist = DistributionChart {
        title: format!(
            "Average monthly cost over {} months: distribution across paths",
            s.horizon_months
        ),
        subtitle: sub.clone(),
        x_label: "average monthly cost ($/month)".into(),
        options: e
            .options
            .iter()
            .zip(&r.options)
            .enumerate()
            .map(|(i, (o, st))| CostSample {
                label: o.id.clone(),
                colour: i,
                sample: sample_of(&st.monthly),
            })
            .collect(),
    };
    out.push(("cost-distribution".to_string(), Chart::from(dist)));
    for (i, (o, traces)) in e.options.iter().zip(traces).enumerate() {
        if o.fleet.is_none() || traces.is_empty() {
            continue;
        }
        let util: Vec<[f64; HOURS_PER_WEEK]> = traces.iter().map(|t| t.utilisation).collect();
        let over: Vec<[f64; HOURS_PER_WEEK]> = traces.iter().map(|t| t.overflow).collect();
        let has_overflow = o
            .fleet
            .as_ref()
            .is_some_and(|f| f.max_queue_seconds.is_finite());
        // Each traced path's busiest month; say which it mostly is.
        let mut months: Vec<u32> = traces.iter().map(|t| t.month).collect();
        months.sort_unstable();
        let (mode, n) = months
            .chunk_by(|a, b| a == b)
            .map(|g| (g[0], g.len()))
            .max_by_key(|&(m, n)| (n, m))
            .unwrap_or((0, 0));
        let which = if n == traces.len() {
            format!("month {}", mode + 1)
        } else {
            format!("month {} on {n} of {} paths", mode + 1, traces.len())
        };
        let chart = FleetChart {
            title: format!("{}: the fleet in its busiest month ({which})", o.id),
            subtitle: format!(
                "{} · {} traced paths, each in its month with the most requests",
                sub,
                traces.len()
            ),
            colour: i,
            utilisation: HourBand::across(&util),
            overflow: if has_overflow {
                HourBand::across(&over)
            } else {
                Vec::new()
            },
        };
        out.push((format!("fleet-{}", file_stem(&o.id)), Chart::from(chart)));
    }
    if s.horizon_months > 1 {
        let band = |m: usize, c: &stats::Stream| {
            let q = c.quantiles(&[0.05, 0.5, 0.95]);
            MonthBand {
                month: m as u32 + 1,
                p5: q[0],
                p50: q[1],
                p95: q[2],
            }
        };
        let start = MonthBand {
            month: 0,
            p5: 0.0,
            p50: 0.0,
            p95: 0.0,
        };
        let curves: Vec<CumulativeCurve> = e
            .options
            .iter()
            .zip(&r.options)
            .enumerate()
            .map(|(i, (o, st))| CumulativeCurve {
                label: o.id.clone(),
                colour: i,
                zoom: o.fleet.is_some(),
                points: std::iter::once(start)
                    .chain(st.cumulative.iter().enumerate().map(|(m, c)| band(m, c)))
                    .collect(),
            })
            .collect();
        // Each self-hosted option against the API option with the lowest mean: the month it
        // overtakes on each path (its payback, for owned hardware), as the run reports it.
        let best_api = r.best_api().map(|a| e.option(a).id.clone());
        let overtakes = paybacks
            .iter()
            .filter(|p| Some(&p.api) == best_api.as_ref())
            .map(|p| Overtake {
                label: match p.months {
                    Some(_) => format!(
                        "{} overtakes {} on {:.0}% of paths, median",
                        p.selfhost,
                        p.api,
                        100.0 * p.p_within_horizon
                    ),
                    None => format!("{} overtakes {}", p.selfhost, p.api),
                },
                month: p.months.map(|m| m.p50),
            })
            .collect();
        let chart = CumulativeChart {
            title: "Cumulative cash spent over the horizon".into(),
            subtitle: format!("{sub} · owned hardware paid up front"),
            y_label: String::new(),
            options: curves,
            overtakes,
        };
        out.push(("cumulative-cost".to_string(), Chart::from(chart)));
        // Cash month by month: the best self-hosted option against the best API.
        if let (Some(own), Some(api)) = (r.best_selfhost(), r.best_api()) {
            let st = &r.options[own.0];
            let months = (0..st.cash_by_month.len())
                .map(|m| {
                    let (cash, capex, api) = (
                        st.cash_by_month[m].mean(),
                        st.capex_by_month[m].mean(),
                        st.api_by_month[m].mean(),
                    );
                    CashColumn {
                        capex,
                        opex: cash - capex - api,
                        api,
                    }
                })
                .collect();
            let bill = r.options[api.0]
                .cash_by_month
                .iter()
                .map(|m| m.mean())
                .collect();
            let chart = CashFlowChart {
                title: format!(
                    "Cash out month by month: {} against {}",
                    e.option(own).id,
                    e.option(api).id
                ),
                subtitle: format!("{sub} · means over paths"),
                selfhost: e.option(own).id.clone(),
                months,
                api: (e.option(api).id.clone(), bill),
            };
            out.push(("cash-flow".to_string(), Chart::from(chart)));
        }
        let monthly: Vec<CumulativeCurve> = e
            .options
            .iter()
            .zip(&r.options)
            .enumerate()
            .map(|(i, (o, st))| CumulativeCurve {
                label: o.id.clone(),
                colour: i,
                zoom: o.fleet.is_some(),
                points: st
                    .by_month
                    .iter()
                    .enumerate()
                    .map(|(m, c)| band(m, c))
                    .collect(),
            })
            .collect();
        let chart = CumulativeChart {
            title: "Cost in each month".into(),
            subtitle: format!("{sub} · owned hardware: purchase less resale, spread evenly"),
            y_label: "cost in the month ($)".into(),
            options: monthly,
            overtakes: Vec::new(),
        };
        out.push(("monthly-cost".to_string(), Chart::from(chart)));
    }
    out
}

/// The charts of a sweep: cost against volume with the break-evens, and the probability that
/// self-hosting is cheaper.
pub fn sweep_charts(r: &SweepResult, months: u32) -> Vec<(String, Chart)> {
    let sub = format!(
        "{} · one month at a steady volume per point",
        subtitle(
            &r.provenance.scenario,
            months.min(1),
            r.samples,
            r.provenance.seed
        )
    );
    let n_opt = r.points.first().map(|p| p.options.len()).unwrap_or(0);
    let options = (0..n_opt)
        .map(|o| CostCurve {
            label: r.points[0].options[o].id.clone(),
            colour: o,
            points: r
                .points
                .iter()
                .map(|p| VolumePoint {
                    volume: p.volume,
                    p5: p.options[o].cost.p5,
                    p50: p.options[o].cost.p50,
                    p95: p.options[o].cost.p95,
                    mean: p.options[o].cost.mean,
                    p_over_capacity: p.options[o].p_over_capacity,
                })
                .collect(),
        })
        .collect();
    let breakevens = r
        .breakeven
        .iter()
        .map(|b| BreakEvenMark {
            label: format!("{} vs {}", b.selfhost, b.api),
            p5: b.volume.as_ref().and_then(|v| v.p5),
            p50: b.volume.as_ref().and_then(|v| v.p50),
            p95: b.volume.as_ref().and_then(|v| v.p95),
        })
        .collect();
    let be = BreakEvenChart {
        title: "Monthly cost by monthly volume".into(),
        subtitle: sub.clone(),
        options,
        breakevens,
    };
    let n_pairs = r.points.first().map(|p| p.pairs.len()).unwrap_or(0);
    let pairs = (0..n_pairs)
        .map(|j| ProbabilityCurve {
            colour: r.points[0]
                .options
                .iter()
                .position(|o| o.id == r.points[0].pairs[j].selfhost)
                .unwrap_or(j),
            label: format!(
                "{} cheaper than {}",
                r.points[0].pairs[j].selfhost, r.points[0].pairs[j].api
            ),
            points: r
                .points
                .iter()
                .map(|p| ProbabilityPoint {
                    volume: p.volume,
                    p: p.pairs[j].p_selfhost_cheaper,
                })
                .collect(),
        })
        .collect();
    let pc = ProbabilityChart {
        title: "Probability that self-hosting is cheaper, by monthly volume".into(),
        subtitle: sub,
        pairs,
    };
    vec![
        ("breakeven".into(), Chart::from(be)),
        ("p-selfhost-cheaper".into(), Chart::from(pc)),
    ]
}

/// The tornado of a sensitivity analysis (the twelve largest swings).
pub fn tornado_chart(r: &SensitivityResult, months: u32) -> Chart {
    let fmt = |x: f64| {
        if x.abs() >= 1000.0 {
            crate::money::format_count_short(x)
        } else {
            crate::report::words::number(x)
        }
    };
    Chart::from(TornadoChart {
        title: "What moves the answer: each input from p10 to p90".into(),
        subtitle: format!(
            "{} · others at their medians",
            subtitle(&r.provenance.scenario, months, r.samples, r.provenance.seed)
        ),
        headline: r.headline.trim_end_matches(" [USD]").to_string(),
        unit: "$".into(),
        format: TickFormat::Usd,
        baseline: r.baseline_usd,
        bars: r
            .tornado
            .iter()
            .take(12)
            .map(|b| TornadoBar {
                input: crate::report::words::input_label(&b.input),
                low_label: fmt(b.low_value),
                high_label: fmt(b.high_value),
                at_low: b.headline_at_low,
                at_high: b.headline_at_high,
            })
            .collect(),
    })
}

/// An option id as a file name part: the id itself, which [`crate::names`] keeps to
/// letters, digits, `-`, `_` and `.`, so two ids never share a file. Anything else (an id
/// built by hand, not loaded) is mapped to `-`, and [`write_all`] refuses a clash.
pub fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Write charts into `dir`, returning the paths written.
pub fn write_all(
    charts: &[(String, Chart)],
    dir: &std::path::Path,
) -> crate::Result<Vec<std::path::PathBuf>> {
    // Two charts under one file name would lose one while the output says both were written.
    for (i, (stem, _)) in charts.iter().enumerate() {
        if let Some((other, _)) = charts[..i]
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(stem))
        {
            return Err(crate::Error::Invariant(format!(
                "charts \"{other}\" and \"{stem}\" would share a file name"
            )));
        }
    }
    let mut out = Vec::new();
    for (stem, c) in charts {
        let (svg, png) = write_chart(c, dir, stem)?;
        out.push(png);
        out.push(svg);
    }
    Ok(out)
}
