//! The whole market on both sides, and prices that move over the horizon: every hosted
//! offering of a scenario's model is compared, overflow goes to the cheapest, a named API that
//! is not the cheapest is called out, drifts and known changes price month by month exactly,
//! and the break-even API price is where the totals meet.

use crate::common::engine;
use crate::common::flat_scenario;
use assert_cmd::Command;
use breakeven::engine::{self, ItemKind, RunConfig};
use breakeven::ids::OptionId;
use breakeven::pricing::{unit_price, Size};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use serde_json::Value;

fn bin() -> Command {
    Command::cargo_bin("breakeven").unwrap()
}

fn fixed(volume: f64, months: u32, market: &str, options: &str) -> String {
    flat_scenario(volume, months, market, options)
}

const API: &str = "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n";

#[test]
fn every_hosted_offering_of_the_model_is_compared() {
    let cat = Catalogue::builtin().unwrap();
    let e = engine(&fixed(100_000.0, 2, "", API));
    // Every klein 4B offering that can make a 1 MP image, once.
    let mut want: Vec<String> = cat
        .apis
        .values()
        .filter(|a| a.model_key() == "flux-2-klein-4b")
        .filter(|a| unit_price(&cat, a, Size::new(1024, 1024), &[], None, None).is_ok())
        .map(|a| a.id.clone())
        .collect();
    want.sort();
    let mut got: Vec<String> = e
        .scenario
        .options
        .iter()
        .filter_map(|o| match &o.kind {
            breakeven::scenario::OptionKind::Api { api, .. } => Some(api.clone()),
            _ => None,
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(want.len() >= 4, "{want:?}");
    assert!(e.scenario.options[1..].iter().all(|o| o.from_market));
    // `compare = "named"` keeps to the file.
    let named = engine(&fixed(100_000.0, 2, "[market]\ncompare = \"named\"", API));
    assert_eq!(named.scenario.options.len(), 1);
}

#[test]
fn a_named_api_that_is_not_the_cheapest_is_called_out_with_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, fixed(1_000_000.0, 1, "", API)).unwrap();
    let out = dir.path().join("out");
    let r = bin()
        .args(["run", "--samples", "50", "--json", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s: Value = serde_json::from_slice(&r.stdout).unwrap();
    let d = &s["dearer_named_apis"][0];
    assert_eq!(d["named"], "api");
    // At 1M 1 MP images: BFL $14,000; the cheapest klein 4B offering in the catalogue at
    // $0.001/MP (Replicate) $1,000.
    assert_eq!(d["cheapest"], "replicate-flux-2-klein-4b");
    assert!(
        (d["more_usd"].as_f64().unwrap() - 13_000.0).abs() < 1e-6,
        "{d}"
    );
    let table = bin()
        .args(["run", "--samples", "50", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("note: api (named in the scenario) costs $13k/month more than replicate-flux-2-klein-4b"),
        "{text}"
    );
}

#[test]
fn overflow_to_the_cheapest_picks_the_cheapest_offering_for_each_bucket() {
    let cat = Catalogue::builtin().unwrap();
    let text = r#"
horizon_months = 1
[demand]
monthly = 100000
[[mix]]
size = "1024x1024"
share = 0.5
[[mix]]
size = "2048x2048"
share = 0.5
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
overflow = "cheapest"
"#;
    let e = engine(text);
    let f = e.option(OptionId(0)).fleet.as_ref().unwrap();
    for (i, size) in [Size::new(1024, 1024), Size::new(2048, 2048)]
        .iter()
        .enumerate()
    {
        let (best_price, best_id) = cat
            .apis
            .values()
            .filter(|a| a.model_key() == "flux-2-klein-4b")
            .filter_map(|a| {
                unit_price(&cat, a, *size, &[], None, None)
                    .ok()
                    .map(|u| (u, a.id.clone()))
            })
            .min()
            .unwrap();
        let item = &e.option(OptionId(0)).items[f.overflow_item[i].unwrap()];
        assert_eq!(item.unit_usd, best_price, "{size}");
        assert!(
            item.label.starts_with(&best_id),
            "{} vs {best_id}",
            item.label
        );
    }
}

/// 140,000 images a month at $0.014 with API prices falling 30% a year: month m (from 0) is
/// billed 1,960 × 0.7^(m/12), by hand; from month 7 a known 20% cut applies on top.
#[test]
fn a_price_decline_bills_month_by_month_as_by_hand() {
    let e = engine(&fixed(
        140_000.0,
        24,
        "[market]\ncompare = \"named\"\napi_price_drift = -0.3",
        API,
    ));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    let mut total = 0.0;
    for m in 0..24 {
        let want = 1960.0 * 0.7f64.powf(m as f64 / 12.0);
        let got = r.options[0].by_month[m].mean();
        assert!(
            (got - want).abs() < 0.005,
            "month {}: {got} vs {want}",
            m + 1
        );
        total += want;
    }
    assert!((r.options[0].total.mean() - total).abs() < 0.01);
    // Month 13 is exactly 30% cheaper than month 1.
    assert!((r.options[0].by_month[12].mean() - 1372.0).abs() < 1e-6);

    let e = engine(&fixed(
        140_000.0,
        12,
        "[market]\ncompare = \"named\"\n[[market.price_change]]\napi = \"bfl/flux-2-klein-4b\"\nfrom_month = 7\nfactor = 0.8",
        API,
    ));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    for m in 0..12 {
        let want = if m < 6 { 1960.0 } else { 1568.0 };
        assert!(
            (r.options[0].by_month[m].mean() - want).abs() < 1e-9,
            "month {}",
            m + 1
        );
    }
}

/// A GPU rent drift moves GPU-hours and nothing else (not people, not overflow).
#[test]
fn a_gpu_rent_drift_moves_only_the_gpu_hours() {
    let opt = r#"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 10
ops_usd_per_hour = "100"
price_drift = 0.5
"#;
    let e = engine(&fixed(100_000.0, 13, "[market]\ncompare = \"named\"", opt));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    // Month 13: 730 h × $2.69 × 1.5, plus $1,000 of people.
    let m13 = r.options[0].by_month[12].mean();
    assert!((m13 - (730.0 * 2.69 * 1.5 + 1000.0)).abs() < 1e-6, "{m13}");
    let ops = r
        .mean_breakdown(OptionId(0))
        .iter()
        .find(|(k, _)| *k == ItemKind::Ops)
        .map(|(_, v)| *v)
        .unwrap();
    assert!((ops - 13_000.0).abs() < 1e-9);
}

/// Drifts are inputs like any other: they appear in the tornado and the rank correlations.
#[test]
fn price_drifts_enter_the_sensitivity() {
    let text = fixed(
        300_000.0,
        24,
        "[market]\ncompare = \"named\"\napi_price_drift = { dist = \"triangular\", min = -0.5, mode = -0.2, max = 0.0 }",
        &format!(
            "{API}\n[[option]]\nid = \"h100\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\n"
        ),
    );
    let e = engine(&text);
    let r = breakeven::analysis::sensitivity::analyse(
        &e,
        "built-in",
        &RunConfig::new(200, 1),
        None,
        engine::unwatched(),
    )
    .unwrap();
    let bar = r
        .tornado
        .iter()
        .find(|b| b.input == "market.api_price_drift")
        .expect("the drift has a bar");
    assert!(bar.swing > 0.0);
    assert_eq!(r.tornado[0].input, "market.api_price_drift");
}

/// With every input fixed, the break-even API price is the fleet's cost over the API's.
#[test]
fn the_break_even_api_price_is_where_the_totals_meet() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    let opt = format!(
        "{API}\n[[option]]\nid = \"h100\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\n"
    );
    std::fs::write(
        &file,
        fixed(100_000.0, 3, "[market]\ncompare = \"named\"", &opt),
    )
    .unwrap();
    let r = bin()
        .args(["run", "--samples", "20", "--json", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s: Value = serde_json::from_slice(&r.stdout).unwrap();
    let b = &s["api_price_breakeven"][0];
    assert_eq!(b["selfhost"], "h100");
    // 730 h × $2.69 a month against 100,000 × $0.014.
    let want = 1963.7 / 1400.0;
    let got = b["factor"]["p50"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
}

#[test]
fn plan_holds_self_hosting_against_the_cheapest_api_in_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let r = bin()
        .args([
            "plan",
            "scenarios/startup-growth.toml",
            "--samples",
            "40",
            // The cheapest API per image does not depend on the horizon.
            "--set",
            "horizon_months=6",
            "--json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let plan: Value = serde_json::from_slice(&r.stdout).unwrap();
    let best = plan["best_api"]["id"].as_str().unwrap();
    // The cheapest klein 4B API at 1 and 2 MP is Replicate's $0.001/MP.
    assert_eq!(best, "replicate-flux-2-klein-4b", "{plan}");
    let text = bin()
        .args([
            "plan",
            "scenarios/startup-growth.toml",
            "--samples",
            "40",
            "--set",
            "horizon_months=6",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("best API:    replicate-flux-2-klein-4b"),
        "{text}"
    );
}

#[test]
fn consumer_cards_are_flagged_and_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    // Six months: which cards are candidates does not depend on the horizon.
    let text = std::fs::read_to_string("scenarios/startup-growth.toml")
        .unwrap()
        .replace("horizon_months = 24", "horizon_months = 6")
        + "\n[market]\ncompare = \"named\"\n";
    std::fs::write(&file, text).unwrap();
    let plan = |extra: &[&str]| -> Value {
        let r = bin()
            .arg("plan")
            .arg(&file)
            .args(["--samples", "40", "--mix-setups", "--json", "--out"])
            .arg(dir.path().join("out"))
            .args(extra)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        serde_json::from_slice(&r.stdout).unwrap()
    };
    let all = plan(&[]);
    let geforce = |v: &Value| {
        v["finalists"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                let id = f["id"].as_str().unwrap();
                id.contains("rtx-4090") || id.contains("rtx-5090")
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let flagged = geforce(&all);
    assert!(
        !flagged.is_empty(),
        "a GeForce card is a finalist with --mix-setups"
    );
    for f in &flagged {
        assert!(
            f["consumer_gpu"].as_str().unwrap().contains("datacentre"),
            "{f}"
        );
    }
    let without = plan(&["--no-consumer-gpus"]);
    assert!(geforce(&without).is_empty());
    assert!(without["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("left out as consumer cards")));
}

#[test]
fn market_keys_are_checked_like_every_other() {
    let cat = Catalogue::builtin().unwrap();
    for (market, expect) in [
        ("[market]\nsubstitutes = [\"flux-2-klien-4b\"]", "market.substitutes[0]: unknown model \"flux-2-klien-4b\""),
        ("[market]\napi_price_drift = -1.5", "market.api_price_drift"),
        ("[market]\n[[market.price_change]]\napi = \"bfl/flux-2-klein-4b\"\ngpu = \"h100-sxm\"\nfrom_month = 1\nfactor = 0.5", "market.price_change[0]: names both or neither"),
        ("[market]\n[[market.price_change]]\napi = \"bfl/flux-2-klein-4b\"\nfrom_month = 9\nfactor = 0.5", "market.price_change[0].from_month: 9 is outside the horizon"),
        ("[market]\n[[market.price_change]]\ngpu = \"h100\"\nfrom_month = 1\nfactor = 0.5", "market.price_change[0].gpu: unknown gpu \"h100\""),
        ("[market]\ncompare = \"every\"", "market.compare: unknown value \"every\""),
    ] {
        let err = Scenario::parse(&fixed(1000.0, 3, market, API), "t.toml", "t", &cat)
            .err()
            .unwrap_or_else(|| panic!("{market} loads"))
            .to_string();
        assert!(err.contains(expect), "{market}:\n{err}");
    }
}
