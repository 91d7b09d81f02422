//! The shipped scenarios (`scenarios/*.toml`) load with the built-in catalogue, run, and give
//! answers that must hold: positive costs, ordered quantiles, and, where every input is pinned
//! and arrivals are fluid, totals exact to the cent from public price cards.

use breakeven::engine::ItemKind;
use breakeven::engine::{self, Engine, RunConfig, RunResult};
use breakeven::ids::OptionId;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use rust_decimal::prelude::ToPrimitive;
use std::path::{Path, PathBuf};

/// Every scenario shipped, so that a new file is not silently left untested.
const SHIPPED: [&str; 8] = [
    "agency",
    "app-feature",
    "bench-w1",
    "bench-w2",
    "closed-form",
    "editing",
    "startup-growth",
    "thumbnails",
];

/// Paths per smoke run: enough to order quantiles, few enough for a debug build.
const SMOKE_PATHS: u64 = 200;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn catalogue() -> Catalogue {
    Catalogue::builtin().expect("built-in catalogue")
}

fn load(name: &str) -> Engine {
    let cat = catalogue();
    let path = dir().join(format!("{name}.toml"));
    let s = Scenario::load(&path, &cat).unwrap_or_else(|e| panic!("{name} does not load:\n{e}"));
    Engine::new(s, &cat).unwrap_or_else(|e| panic!("{name} does not compile:\n{e}"))
}

/// The scenario with fluid arrivals (expected counts, no Poisson noise or bursts), so API
/// totals are exact once the demand inputs are pinned.
fn load_fluid(name: &str) -> Engine {
    let cat = catalogue();
    let text = std::fs::read_to_string(dir().join(format!("{name}.toml"))).expect("readable");
    assert!(!text.contains("arrivals"), "{name} already sets arrivals");
    let text = text.replacen("[demand]\n", "[demand]\narrivals = \"fluid\"\n", 1);
    let s = Scenario::parse(&text, name, name, &cat).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(s, &cat).expect("compiles")
}

fn run(e: &Engine, cfg: &RunConfig) -> RunResult {
    engine::run(e, cfg, engine::unwatched()).expect("run succeeds")
}

/// One path with month-0 volume `monthly` and no growth; every other input as sampled.
fn pinned_run(e: &Engine, monthly: f64) -> RunResult {
    let s = &e.scenario;
    let mut pins = vec![None; s.inputs.len()];
    pins[s.demand.monthly.0] = Some(monthly);
    pins[s.demand.growth.0] = Some(0.0);
    let mut cfg = RunConfig::new(1, 1);
    cfg.pins = pins;
    run(e, &cfg)
}

fn option(e: &Engine, id: &str) -> usize {
    e.options
        .iter()
        .position(|o| o.id == id)
        .unwrap_or_else(|| panic!("{}: no option {id}", e.scenario.name))
}

fn total(r: &RunResult, o: usize) -> f64 {
    r.options[o].total.mean()
}

fn breakdown(r: &RunResult, o: usize, kind: ItemKind) -> f64 {
    r.mean_breakdown(OptionId(o))
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| *v)
        .unwrap_or(0.0)
}

/// `a == b` to a millionth of a cent: the engine prices in exact decimals and rounds
/// quantities to micro-units, so only the final conversion to `f64` may differ.
fn assert_usd(what: &str, got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

// ---------------------------------------------------------------------------------------
// Every scenario.

#[test]
fn every_scenario_file_is_covered() {
    let mut found: Vec<String> = std::fs::read_dir(dir())
        .expect("scenarios/ exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "toml").then_some(stem)
        })
        .collect();
    found.sort();
    assert_eq!(
        found, SHIPPED,
        "scenarios/ changed: list the new file in SHIPPED (and in scenarios/README.md)"
    );
}

/// Load and run `name`, check what must hold of any scenario, and hand back the engine, the
/// result and each path's sampled inputs for checks of its own.
fn smoke(name: &str) -> (Engine, RunResult, Vec<Vec<f64>>) {
    let e = load(name);
    let s = &e.scenario;
    assert_eq!(s.name, name, "name should equal the file name");
    assert!(!s.description.is_empty(), "{name}: no description");
    assert!(s.options.len() >= 2, "{name}: nothing to compare");
    let mut inputs = Vec::new();
    let mut sink = |b: &[engine::PathResult]| {
        inputs.extend(b.iter().map(|p| p.inputs.clone()));
        Ok(())
    };
    let cfg = RunConfig::new(SMOKE_PATHS, 1);
    let r = engine::run_with(
        &e,
        &cfg,
        engine::unwatched(),
        &|| e.new_result(),
        Some(&mut sink),
    )
    .expect("runs");
    assert_eq!(r.samples, SMOKE_PATHS);
    let mut cheapest = 0;
    for (o, st) in e.options.iter().zip(&r.options) {
        let id = format!("{name}: {}", o.id);
        assert!(
            st.total.mean() > 0.0,
            "{id}: mean total {}",
            st.total.mean()
        );
        assert!(st.total.mean().is_finite(), "{id}: mean total not finite");
        for (what, q) in [("total", &st.total), ("monthly", &st.monthly)] {
            let (p5, p50, p95) = (q.quantile(0.05), q.quantile(0.5), q.quantile(0.95));
            assert!(
                p5 <= p50 && p50 <= p95,
                "{id}: {what} p5 {p5} p50 {p50} p95 {p95}"
            );
            assert!(p5 >= 0.0, "{id}: {what} p5 {p5} is negative");
        }
        assert!(st.per_asset.value() > 0.0, "{id}: cost per asset");
        let u = st.utilisation.value();
        assert!((0.0..=1.0).contains(&u), "{id}: utilisation {u}");
        if o.is_api() {
            assert_eq!(u, 0.0, "{id}: an api option has no utilisation");
        }
        let months: f64 = st.by_month.iter().map(|m| m.mean()).sum();
        assert!(
            (months - st.total.mean()).abs() <= 1e-6 * st.total.mean(),
            "{id}: months sum to {months}, total {}",
            st.total.mean()
        );
        cheapest += st.cheapest;
    }
    assert_eq!(
        cheapest, SMOKE_PATHS,
        "{name}: one cheapest option per path"
    );
    (e, r, inputs)
}

#[test]
fn agency_runs() {
    smoke("agency");
}

#[test]
fn app_feature_runs() {
    smoke("app-feature");
}

#[test]
fn bench_w1_runs() {
    smoke("bench-w1");
}

/// W2 is W1 served as a queue: the same sampled inputs, API costs that differ only by the
/// Poisson noise of the month counts (W2 draws them per month, W1 per busy hour), a hybrid
/// that overflows below saturation too (so at least W1's overflow), and latency figures.
#[test]
fn bench_w2_runs_and_differs_from_w1_only_in_serving() {
    let (e2, r2, in2) = smoke("bench-w2");
    let (_, r1, in1) = smoke("bench-w1");
    assert_eq!(in1, in2, "the same sampled inputs");
    let (a1, a2) = (r1.options[0].total.mean(), r2.options[0].total.mean());
    assert!((a1 / a2 - 1.0).abs() < 1e-3, "API {a1} vs {a2}");
    assert!(r2.options[1].overflow.value() >= r1.options[1].overflow.value());
    let q = e2
        .latency_quantiles(breakeven::ids::OptionId(1), &r2.options[1])
        .expect("the hybrid has latency");
    // Waits are cut at 10 s: no served image takes longer than 10 s plus the longest image.
    assert!(q[0] >= 0.19 && q[2] <= 10.0 + 2.75 + 0.05, "{q:?}");
}

#[test]
fn closed_form_runs() {
    smoke("closed-form");
}

#[test]
fn editing_runs() {
    smoke("editing");
}

#[test]
fn thumbnails_runs() {
    smoke("thumbnails");
}

// ---------------------------------------------------------------------------------------
// Answers known in closed form.

#[test]
fn closed_form_totals_are_exact() {
    let e = load("closed-form");
    let r = run(&e, &RunConfig::new(50, 3));
    let (api, h100) = (option(&e, "api-klein-4b"), option(&e, "h100-klein-4b"));
    // 140,000 × $0.014 (BFL klein 4B, first MP) and 730 h × $2.69 (RunPod community H100).
    assert_usd("api total", total(&r, api), 1960.00);
    assert_usd("h100 total", total(&r, h100), 1963.70);
    // Nothing is uncertain: every path is the same.
    for st in &r.options {
        assert_eq!(st.total.quantile(0.05), st.total.quantile(0.95));
    }
    assert_usd(
        "h100 gpu-hours",
        breakdown(&r, h100, ItemKind::GpuHours),
        1963.70,
    );
    assert_eq!(r.options[api].cheapest, 50, "the api is $3.70 cheaper");
}

#[test]
fn closed_form_breaks_even_at_140264_images() {
    // 1,963.70 / 0.014 = 140,264.29: the api is cheaper at 140,264 a month and dearer at 140,265.
    let e = load("closed-form");
    let (api, h100) = (option(&e, "api-klein-4b"), option(&e, "h100-klein-4b"));
    let below = pinned_run(&e, 140_264.0);
    assert_usd("api at 140,264", total(&below, api), 1963.696);
    assert!(total(&below, api) < total(&below, h100));
    let above = pinned_run(&e, 140_265.0);
    assert_usd("api at 140,265", total(&above, api), 1963.71);
    assert!(total(&above, api) > total(&above, h100));
    assert_usd("h100 at 140,265", total(&above, h100), 1963.70);
}

#[test]
fn thumbnails_reroll_is_billed_on_flux_1_1_pro_everywhere() {
    let e = load("thumbnails");
    let reroll = e
        .scenario
        .stages
        .iter()
        .position(|s| s.name == "reroll")
        .expect("a reroll stage");
    let mut seen = 0;
    for o in &e.options {
        for (i, st) in e.streams.iter().enumerate() {
            if st.stage != reroll {
                continue;
            }
            seen += 1;
            assert_eq!(st.per_asset, 0.1);
            let item = o.stream_api_item[i]
                .unwrap_or_else(|| panic!("{}: the reroll stage is not sent to an api", o.id));
            let item = &o.items[item];
            assert!(
                item.label.starts_with("bfl/flux-1.1-pro "),
                "{}",
                item.label
            );
            assert_eq!(
                item.unit_usd.to_f64(),
                Some(0.04),
                "{}: {}",
                o.id,
                item.label
            );
        }
    }
    assert_eq!(seen, e.options.len(), "one reroll stream per option");
}

#[test]
fn thumbnails_fluid_totals_follow_the_price_cards() {
    // 9,125 thumbnails a month for 12 months: 4 drafts and 0.1 re-rolls each.
    let e = load_fluid("thumbnails");
    let r = pinned_run(&e, 9125.0);
    let months = 12.0;
    // Re-rolls: $438.00 on every option.
    let reroll = months * 9125.0 * 0.1 * 0.04;
    // fal: 1280×720 rounds up to 1 MP at $0.003.
    let fal = option(&e, "fal-schnell");
    assert_usd(
        "fal",
        total(&r, fal),
        months * 9125.0 * 4.0 * 0.003 + reroll,
    );
    // Segmind bills GPU time: a 0.88 MP draft costs less than its $0.008 1 MP average.
    let seg = total(&r, option(&e, "segmind-schnell")) - reroll;
    let per_draft = seg / (months * 9125.0 * 4.0);
    assert!(
        per_draft > 0.006 && per_draft < 0.008,
        "segmind {per_draft}"
    );
    // Self-hosted options pay only the re-rolls to an api.
    for id in ["rtx4090-schnell", "serverless-4090-schnell"] {
        let o = option(&e, id);
        assert_usd(id, breakdown(&r, o, ItemKind::ApiImages), reroll);
    }
    // The always-on 4090 bills every hour: 12 × 730 h × $0.34 × the sampled price factor.
    let gpu = breakdown(&r, option(&e, "rtx4090-schnell"), ItemKind::GpuHours);
    let (lo, hi) = (0.9 * 2978.4 - 1e-6, 1.25 * 2978.4 + 1e-6);
    assert!((lo..=hi).contains(&gpu), "4090 {gpu}");
}

#[test]
fn agency_api_totals_follow_the_price_cards() {
    // 3,000 assets a month for 12 months: 70% 1 MP, 20% 1 MP edits with a 1 MP input, 10% 4 MP.
    let e = load_fluid("agency");
    let r = pinned_run(&e, 3000.0);
    let n = 12.0 * 3000.0;
    let pro = 0.7 * 0.030 + 0.2 * 0.045 + 0.1 * 0.075;
    let klein = 0.7 * 0.015 + 0.2 * 0.017 + 0.1 * 0.021;
    assert_usd("pro", total(&r, option(&e, "api-flux-2-pro")), n * pro);
    assert_usd("klein 9b", total(&r, option(&e, "api-klein-9b")), n * klein);
    // Self-hosting klein 9B pays the licence every month, and 3,000 is inside its quota.
    let cat = catalogue();
    let lic = cat.licence("bfl-flux-2-builder").expect("licence");
    let fee = 12.0 * lic.monthly_fee_usd.to_f64().expect("fee");
    for id in ["a100-klein-9b", "l40s-klein-9b", "serverless-a100-klein-9b"] {
        let o = option(&e, id);
        assert_usd(id, breakdown(&r, o, ItemKind::LicenceFee), fee);
        assert_eq!(breakdown(&r, o, ItemKind::LicenceOverage), 0.0, "{id}");
    }
}

#[test]
fn editing_api_totals_bill_inputs_per_megapixel() {
    // 5,000 edits a month: 60% one 1 MP input, 40% a 2 MP composite of two.
    let e = load_fluid("editing");
    let r = pinned_run(&e, 5000.0);
    let n = 12.0 * 5000.0;
    for (id, one, two) in [
        ("kontext-pro", 0.04, 0.04),
        ("flux-2-pro", 0.045, 0.060),
        ("bfl-klein-4b", 0.015, 0.016),
        ("fal-klein-4b", 0.010, 0.015),
    ] {
        assert_usd(id, total(&r, option(&e, id)), n * (0.6 * one + 0.4 * two));
    }
}

#[test]
fn app_feature_api_totals_round_portraits_up() {
    // 10,000 images a month: 75% 1 MP, 25% 1.5 MP billed as 2 MP.
    let e = load_fluid("app-feature");
    let r = pinned_run(&e, 10_000.0);
    let n = 12.0 * 10_000.0;
    assert_usd(
        "fal",
        total(&r, option(&e, "fal-klein-4b")),
        n * (0.75 * 0.005 + 0.25 * 0.010),
    );
    assert_usd(
        "bfl",
        total(&r, option(&e, "bfl-klein-4b")),
        n * (0.75 * 0.014 + 0.25 * 0.015),
    );
}

#[test]
fn startup_growth_runs_correlated_and_self_hosting_overtakes() {
    let (e, r, inputs) = smoke("startup-growth");
    let s = &e.scenario;
    let (m, g) = (s.demand.monthly, s.demand.growth);
    assert!(s.correlations.contains(&(m, g, 0.5)));
    let inputs: Vec<(f64, f64)> = inputs.iter().map(|x| (x[m.0], x[g.0])).collect();
    let rho = spearman(&inputs);
    assert!(rho > 0.3 && rho < 0.7, "rank correlation {rho}");
    // On the median path the api is far cheaper at launch and dearer by month 24.
    let (api, hybrid) = (option(&e, "api-klein-4b"), option(&e, "h100-plus-api"));
    let p50 = |o: usize, m: usize| r.options[o].by_month[m].quantile(0.5);
    assert!(p50(api, 0) < p50(hybrid, 0) / 5.0);
    assert!(p50(api, 23) > p50(hybrid, 23) * 2.0);
    // The owned card and its server share cost $35,000 less what they fetch after two
    // years, 40-45% of it (the catalogue's resale curve): on every path between the two.
    let owned = option(&e, "owned-h100-plus-api");
    let dep = breakdown(&r, owned, ItemKind::Depreciation);
    assert!(
        (35_000.0 * 0.55..=35_000.0 * 0.60).contains(&dep),
        "depreciation {dep}"
    );
}

fn spearman(xy: &[(f64, f64)]) -> f64 {
    let rank = |v: Vec<f64>| -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
        let mut r = vec![0.0; v.len()];
        for (k, i) in idx.into_iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let rx = rank(xy.iter().map(|p| p.0).collect());
    let ry = rank(xy.iter().map(|p| p.1).collect());
    let n = rx.len() as f64;
    let mean = (n - 1.0) / 2.0;
    let cov: f64 = rx
        .iter()
        .zip(&ry)
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    let var: f64 = rx.iter().map(|a| (a - mean).powi(2)).sum();
    cov / var
}
