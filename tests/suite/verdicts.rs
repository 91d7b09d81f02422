//! Verdicts a planner can put in a deck: a fleet that cannot keep up is never the cheapest,
//! per-image figures are ratios of totals, the headline is the best API against the best
//! self-hosted option, sweeps say where a fleet runs out, and the report agrees with the
//! commands. Each of these was wrong once; these tests fail on that code.

use assert_cmd::Command;
use breakeven::engine::{self, Engine, RunConfig};
use breakeven::report::full::{self, ReportConfig};
use breakeven::report::summary::{Provenance, RunSummary};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use serde_json::Value;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("breakeven").unwrap()
}

/// One H100 with no overflow, and the klein 4B API, at a fixed monthly volume.
fn one_gpu(volume: &str, extra: &str) -> String {
    format!(
        r#"
name = "one-gpu"
description = "one H100 without overflow against the API"
horizon_months = 2
[market]
compare = "named"
[demand]
monthly = {volume}
profile = "flat"
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = {{ policy = "fixed", gpus = 1 }}
ops_hours_per_month = 0
{extra}
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn option<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no option {id}"))
}

/// At 10M images a month one H100 (about 4.6M at full load) falls behind every hour: its
/// bill is the cheapest, but it is not serving the demand.
#[test]
fn a_fleet_that_cannot_keep_up_is_never_the_cheapest_in_run() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", &one_gpu("10_000_000", ""));
    let out = dir.path().join("out");
    let r = bin()
        .args(["run", "--samples", "200", "--out"])
        .arg(&out)
        .arg(&s)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8_lossy(&r.stdout);
    let summary = json(&out.join("summary.json"));
    let h100 = option(&summary, "h100");
    assert_eq!(h100["p_over_capacity"], 1.0, "{h100}");
    assert_eq!(h100["p_cheapest"], 0.0, "{h100}");
    assert_eq!(option(&summary, "api")["p_cheapest"], 1.0);
    assert!(
        table.contains("warning: h100 cannot keep up on 100% of paths"),
        "{table}"
    );
    // Its bill is lower, yet the verdict never calls it cheaper on a path.
    assert!(
        h100["total_cost_usd"]["mean"].as_f64().unwrap()
            < option(&summary, "api")["total_cost_usd"]["mean"]
                .as_f64()
                .unwrap()
    );
    assert_eq!(
        summary["verdict"]["p_winner_cheaper"], 0.0,
        "{}",
        summary["verdict"]
    );
}

/// The class, not one example: across volumes and fleet sizes, an option is the cheapest on
/// at most the paths on which it keeps up, and the samples say which those are.
#[test]
fn no_option_is_cheapest_on_paths_where_it_cannot_keep_up() {
    let cat = Catalogue::builtin().unwrap();
    for (volume, gpus) in [(3e6, 1), (6e6, 1), (8e6, 2), (2e7, 3), (1.2e7, 2)] {
        let text = one_gpu(
            &format!(
                "{{ dist = \"lognormal\", median = {volume}, p90 = {} }}",
                volume * 1.6
            ),
            "",
        )
        .replace("gpus = 1", &format!("gpus = {gpus}"));
        let s = Scenario::parse(&text, "s.toml", "s", &cat).unwrap();
        let e = Engine::new(s, &cat).unwrap();
        let mut rows = Vec::new();
        let r = engine::run_with(
            &e,
            &RunConfig::new(300, 5),
            engine::unwatched(),
            &|| e.new_result(),
            Some(&mut |b: &[engine::PathResult]| {
                rows.extend(
                    b.iter()
                        .map(|p| (p.cheapest(), p.options[1].over_capacity())),
                );
                Ok(())
            }),
        )
        .unwrap();
        let over = rows.iter().filter(|(_, o)| *o).count() as u64;
        assert_eq!(r.options[1].over_capacity, over, "{volume} on {gpus}");
        for (cheapest, over) in &rows {
            if *over {
                assert_ne!(cheapest.map(|c| c.0), Some(1), "{volume} on {gpus}");
            }
        }
        assert!(
            r.options[1].cheapest + r.options[1].over_capacity <= r.samples,
            "{volume} on {gpus}"
        );
    }
}

#[test]
fn plan_drops_fleets_that_cannot_keep_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", &one_gpu("10_000_000", ""));
    let out = dir.path().join("out");
    let r = bin()
        .args(["plan", "--samples", "200", "--json", "--out"])
        .arg(&out)
        .arg(&s)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let plan: Value = serde_json::from_slice(&r.stdout).unwrap();
    let fin = plan["finalists"].as_array().unwrap();
    // Small fleets without overflow cannot carry 10M images a month.
    assert!(
        plan["screened_over_capacity"].as_u64().unwrap() > 0,
        "{plan}"
    );
    for f in fin {
        if f["p_over_capacity"].as_f64().unwrap() > 0.05 {
            assert_eq!(f["feasible"], false, "{f}");
        }
    }
    assert!(plan["recommended"]["p_over_capacity"].as_f64().unwrap() <= 0.05);
}

/// A sweep says where a fleet runs out: the table, the break-even's upper end, and the chart.
#[test]
fn sweep_marks_where_a_fleet_runs_out_and_gives_the_break_even_an_upper_end() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", &one_gpu("1_000_000", ""));
    let out = dir.path().join("out");
    let r = bin()
        .args([
            "sweep",
            "--samples",
            "100",
            "--volumes",
            "50000..20000000",
            "--points",
            "30",
            "--out",
        ])
        .arg(&out)
        .arg(&s)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let table = String::from_utf8_lossy(&r.stdout);
    assert!(table.contains("cannot keep up"), "{table}");
    let sweep = json(&out.join("sweep.json"));
    let b = &sweep["breakeven"][0];
    assert_eq!(b["selfhost"], "h100");
    // 1,963.70 a month over $0.014 an image: 140,264 images; one H100 at 0.57 s an image
    // makes at most 730 × 3600 / 0.57 ≈ 4.61M a month.
    let lower = b["volume"]["p50"].as_f64().unwrap();
    assert!((120_000.0..170_000.0).contains(&lower), "{b}");
    let upper = b["upper"]["volume"]["p50"].as_f64().unwrap();
    assert!((3.0e6..4.7e6).contains(&upper), "{b}");
    assert_eq!(b["upper"]["share_capacity"], 1.0, "{b}");
    let verdict = b["verdict"].as_str().unwrap();
    assert!(verdict.contains("runs out of capacity"), "{verdict}");
    assert!(table.contains(verdict), "{table}");
    // Above its capacity the fleet is never cheaper, whatever its flat bill.
    for p in sweep["points"].as_array().unwrap() {
        if p["volume"].as_f64().unwrap() > 5e6 {
            assert_eq!(p["pairs"][0]["p_selfhost_cheaper"], 0.0, "{p}");
            assert!(p["options"][1]["p_over_capacity"].as_f64().unwrap() > 0.5);
        }
    }
    let svg = std::fs::read_to_string(out.join("breakeven.svg")).unwrap();
    assert!(
        svg.contains("cannot keep up"),
        "the chart's legend explains the mark"
    );
}

/// Per asset, utilisation and overflow are totals over totals, with delta-method errors.
#[test]
fn per_asset_figures_are_ratios_of_totals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = bin()
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "300",
            "--samples-csv",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let summary = json(&out.join("summary.json"));
    let mut rows = csv::Reader::from_path(out.join("samples.csv")).unwrap();
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (c_opt, c_total, c_assets, c_busy, c_cap, c_fleet, c_over) = (
        col("option"),
        col("total_cost_usd"),
        col("assets"),
        col("busy_gpu_seconds"),
        col("capacity_gpu_seconds"),
        col("fleet_images"),
        col("overflow_images"),
    );
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    for id in [
        "api-klein-4b",
        "h100-autoscaled",
        "h100-plus-api",
        "owned-h100-plus-api",
    ] {
        let mine: Vec<&csv::StringRecord> = records.iter().filter(|r| &r[c_opt] == id).collect();
        let f = |r: &csv::StringRecord, c: usize| r[c].parse::<f64>().unwrap();
        let sum = |c: usize| mine.iter().map(|r| f(r, c)).sum::<f64>();
        let o = option(&summary, id);
        let ratio = sum(c_total) / sum(c_assets);
        let got = o["cost_per_asset_usd"]["value"].as_f64().unwrap();
        assert!(
            (got - ratio).abs() <= 1e-9 * ratio,
            "{id}: {got} vs {ratio}"
        );
        // Delta method from the rows themselves.
        let n = mine.len() as f64;
        let (mx, my) = (sum(c_total) / n, sum(c_assets) / n);
        let var = |a: usize, ma: f64, b: usize, mb: f64| {
            mine.iter()
                .map(|r| (f(r, a) - ma) * (f(r, b) - mb))
                .sum::<f64>()
                / (n - 1.0)
        };
        let se = ((var(c_total, mx, c_total, mx) - 2.0 * ratio * var(c_total, mx, c_assets, my)
            + ratio * ratio * var(c_assets, my, c_assets, my))
            / (n * my * my))
            .sqrt();
        let got_se = o["cost_per_asset_usd"]["std_error"].as_f64().unwrap();
        assert!(
            (got_se - se).abs() <= 1e-6 * se,
            "{id}: s.e. {got_se} vs {se}"
        );
        if id != "api-klein-4b" {
            let util = sum(c_busy) / sum(c_cap);
            let got = o["utilisation"]["value"].as_f64().unwrap();
            assert!(
                (got - util).abs() <= 1e-9,
                "{id}: utilisation {got} vs {util}"
            );
            let share = sum(c_over) / (sum(c_fleet) + sum(c_over));
            let got = o["overflow_share"]["value"].as_f64().unwrap();
            assert!(
                (got - share).abs() <= 1e-9,
                "{id}: overflow {got} vs {share}"
            );
        }
    }
    // And it matters here: the mean of per-path ratios of the autoscaled fleet is far off.
    let auto: Vec<f64> = records
        .iter()
        .filter(|r| &r[c_opt] == "h100-autoscaled")
        .map(|r| r[c_total].parse::<f64>().unwrap() / r[c_assets].parse::<f64>().unwrap())
        .collect();
    let mean_of_ratios = auto.iter().sum::<f64>() / auto.len() as f64;
    let ratio = option(&summary, "h100-autoscaled")["cost_per_asset_usd"]["value"]
        .as_f64()
        .unwrap();
    assert!(mean_of_ratios > 2.0 * ratio, "{mean_of_ratios} vs {ratio}");
}

/// startup-growth's two lowest means are both self-hosted; the headline is still the best
/// API against the best self-hosted option, in the table, the JSON and the tornado.
#[test]
fn the_headline_is_the_best_api_against_the_best_self_hosted_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = bin()
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "300",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success());
    let summary = json(&out.join("summary.json"));
    let v = &summary["verdict"];
    assert_eq!(v["compared"], "api-vs-selfhost");
    let best = |kind: &dyn Fn(&str) -> bool| {
        summary["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| kind(o["kind"].as_str().unwrap()))
            .min_by(|a, b| {
                a["total_cost_usd"]["mean"]
                    .as_f64()
                    .unwrap()
                    .total_cmp(&b["total_cost_usd"]["mean"].as_f64().unwrap())
            })
            .map(|o| o["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let best_api = best(&|k| k == "api");
    let best_self = best(&|k| k != "api");
    let pair = [
        v["winner"].as_str().unwrap(),
        v["runner_up"].as_str().unwrap(),
    ];
    assert!(pair.contains(&best_api.as_str()), "{v}");
    assert!(pair.contains(&best_self.as_str()), "{v}");
    let table = String::from_utf8_lossy(&r.stdout);
    assert!(table.contains("(the best API)"), "{table}");

    let s = bin()
        .args([
            "sensitivity",
            "scenarios/startup-growth.toml",
            "--samples",
            "300",
            "--json",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let sens: Value = serde_json::from_slice(&s.stdout).unwrap();
    let headline = sens["headline"].as_str().unwrap();
    assert!(
        headline.contains(&best_api) && headline.contains(&best_self),
        "{headline}"
    );

    // --against chooses the pair; a wrong id is bad input naming the options.
    let a = bin()
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "300",
            "--against",
            "h100-plus-api,api-klein-4b",
            "--json",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(a.status.success());
    let j: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(j["verdict"]["compared"], "against");
    let pair = [
        j["verdict"]["winner"].as_str().unwrap(),
        j["verdict"]["runner_up"].as_str().unwrap(),
    ];
    assert!(
        pair.contains(&"h100-plus-api") && pair.contains(&"api-klein-4b"),
        "{pair:?}"
    );
    let bad = bin()
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--against",
            "h100,api",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--against") && err.contains("h100-autoscaled"),
        "{err}"
    );
}

/// The report's sections are the commands' results: same paths, same seed, same figures.
/// (startup-growth held against its named API only, so that the owned GPU pays back.)
#[test]
fn the_report_shows_the_figures_the_commands_print() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let text = std::fs::read_to_string("scenarios/startup-growth.toml")
        .unwrap()
        .replace("purchase_usd = \"27500\"", "purchase_usd = \"30000\"")
        + "\n[market]\ncompare = \"named\"\n";
    let file = write(dir.path(), "startup-growth.toml", &text);
    for cmd in ["run", "sweep", "sensitivity", "plan"] {
        let r = bin()
            .arg(cmd)
            .arg(&file)
            .args(["--samples", "20", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let cat = Catalogue::builtin().unwrap();
    let s = Scenario::load(&file, &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let mut run = RunConfig::new(20, 1);
    run.threads = 2;
    let cfg = ReportConfig { run, against: None };
    let report = full::build(&e, &cat, &cfg, engine::unwatched(), &|_| {}).unwrap();
    let same = |file: &str, ours: Value| {
        let theirs = json(&out.join(file));
        assert_eq!(ours, theirs, "{file} differs from the report's section");
    };
    same(
        "summary.json",
        serde_json::to_value(&report.summary).unwrap(),
    );
    same(
        "sweep.json",
        serde_json::to_value(report.sweep.as_ref().unwrap()).unwrap(),
    );
    same(
        "sensitivity.json",
        serde_json::to_value(report.sensitivity.as_ref().unwrap()).unwrap(),
    );
    same(
        "plan.json",
        serde_json::to_value(report.plan.as_ref().unwrap()).unwrap(),
    );

    let page = report.page(&e, &cat).unwrap();
    // The scenario's own figures ($30,000 for the card, not the catalogue's $27,500; its
    // server share) are credited to the scenario, the catalogue's resale curve to its source.
    let row = |what: &str| {
        page.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no row {what}"))
            .to_string()
    };
    let purchase = row("h100-sxm purchase");
    assert!(
        purchase.contains("$30000") && purchase.contains("own figure"),
        "{purchase}"
    );
    let system = row("h100-sxm server and networking share");
    assert!(
        system.contains("$7500") && system.contains("own figure"),
        "{system}"
    );
    let resale = row("h100-sxm resale after 24 months");
    assert!(
        resale.contains("40–45%") && resale.contains("v2-pseo-ai"),
        "{resale}"
    );
    // The cumulative chart marks the month the text gives for the owned GPU's payback.
    let pb = report
        .summary
        .paybacks_to_tell()
        .next()
        .expect("the owned option pays back on some paths");
    let month = pb.months.unwrap().p50;
    assert!(page.contains(&pb.sentence(e.scenario.horizon_months)));
    assert!(
        page.contains(&format!(
            "owned-h100-plus-api overtakes api-klein-4b on {:.0}% of paths, median: month {month:.0}",
            100.0 * pb.p_within_horizon
        )),
        "the chart's mark and the payback sentence disagree"
    );
}

/// The summary a run writes is the one the library builds from the same result.
#[test]
fn summary_is_built_from_the_run_alone() {
    let cat = Catalogue::builtin().unwrap();
    let s = Scenario::load(Path::new("scenarios/closed-form.toml"), &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let r = engine::run(&e, &RunConfig::new(100, 1), engine::unwatched()).unwrap();
    let a = RunSummary::new(
        &e,
        &r,
        Provenance::new(&e, "built-in", 1, engine::Sampler::Fast),
        None,
    );
    let b = RunSummary::new(
        &e,
        &r,
        Provenance::new(&e, "built-in", 1, engine::Sampler::Fast),
        None,
    );
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}
