//! The finance-true ledger, case by case against hand computations to the cent: reservations
//! billed for their whole term, owned hardware paid up front and resold at the end, one-time
//! set-up, present values, the cash view, and the bad inputs of each.

use crate::common::engine;
use crate::common::flat_scenario;
use assert_cmd::Command;
use breakeven::engine::{self, Engine, ItemKind, RunConfig};
use breakeven::ids::OptionId;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use serde_json::Value;

/// Fixed demand, fluid arrivals, 1 MP images, named options only.
fn fixed(volume: f64, months: u32, top: &str, options: &str) -> String {
    let top = format!("{top}\n[market]\ncompare = \"named\"");
    flat_scenario(volume, months, &top, options)
}

fn cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

fn breakdown(r: &engine::RunResult, o: usize, kind: ItemKind) -> f64 {
    r.mean_breakdown(OptionId(o))
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| *v)
        .unwrap_or(0.0)
}

/// A 36-month L40S reservation (AWS, $0.80/h) on a 3-month horizon: $1,752 in the horizon,
/// the commitment $21,024.
#[test]
fn a_reservation_bills_its_whole_term() {
    let opt = r#"
[[option]]
id = "l40s-3yr"
selfhost = "flux-2-klein-4b"
gpu = "l40s"
offer = "aws-reserved-3yr"
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 0
"#;
    let e = engine(&fixed(50_000.0, 3, "", opt));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    assert_eq!(cents(r.options[0].total.mean()), 2_102_400);
    assert_eq!(cents(breakdown(&r, 0, ItemKind::GpuHours)), 175_200);
    assert_eq!(cents(breakdown(&r, 0, ItemKind::CommitmentLeft)), 1_927_200);
    assert_eq!(cents(r.options[0].commitment_left.mean()), 1_927_200);
    // The rest of the term is owed at the horizon's end: in the last month's bill.
    assert_eq!(cents(r.options[0].by_month[2].mean()), 58_400 + 1_927_200);

    // Resold for $2,000 instead: the exit cost is billed, the full rest still reported.
    let opt = format!("{opt}commitment_exit_usd = \"2000\"\n");
    let e = engine(&fixed(50_000.0, 3, "", &opt));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    assert_eq!(cents(r.options[0].total.mean()), 175_200 + 200_000);
    assert_eq!(cents(r.options[0].commitment_left.mean()), 1_927_200);

    // A term that fits the horizon is only its hours.
    let e = engine(&fixed(
        50_000.0,
        36,
        "",
        opt.split("commitment_exit").next().unwrap(),
    ));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    assert_eq!(cents(r.options[0].total.mean()), 2_102_400);
    assert_eq!(breakdown(&r, 0, ItemKind::CommitmentLeft), 0.0);
}

/// An owned RTX 4090 on a 3-month horizon: $1,799 paid in month 1, 90% of it back in month
/// 3; its cost over the horizon is the 10% it lost plus power.
#[test]
fn owned_hardware_is_paid_up_front_and_resold_at_the_end() {
    let opt = r#"
[[option]]
id = "owned-4090"
selfhost = "flux-2-klein-4b"
gpu = "rtx-4090"
payment = "owned"
owned = { residual_share = 0.9, usd_per_kwh = "0.10", pue = 1.0, idle_power_share = 0.0 }
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 0
"#;
    let e = engine(&fixed(0.0, 3, "", opt));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    let o = &r.options[0];
    // No work, no idle power: the cost is the purchase less resale, $179.90, spread evenly.
    assert_eq!(cents(o.total.mean()), 17_990);
    for m in 0..3 {
        assert!((o.by_month[m].mean() - 179.90 / 3.0).abs() < 1e-9);
    }
    // Cash: $1,799 out in month 1, $1,619.10 back in month 3.
    assert_eq!(cents(o.cash_by_month[0].mean()), 179_900);
    assert_eq!(cents(o.cash_by_month[1].mean()), 0);
    assert_eq!(cents(o.cash_by_month[2].mean()), -161_910);
    assert_eq!(cents(o.cumulative[0].mean()), 179_900);
    assert_eq!(cents(o.cumulative[2].mean()), 17_990);
}

/// The default resale is the catalogue's curve at the horizon's age: an H100 after 24 months
/// fetches 40–45% of its price.
#[test]
fn the_default_resale_follows_the_catalogue_curve() {
    let opt = r#"
[[option]]
id = "owned"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
payment = "owned"
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 0
"#;
    let e = engine(&fixed(0.0, 24, "", opt));
    let input = e
        .scenario
        .inputs
        .iter()
        .find(|i| i.name == "option.owned.residual_share")
        .unwrap();
    assert!((input.dist.quantile(0.0) - 0.40).abs() < 1e-12);
    assert!((input.dist.quantile(1.0) - 0.45).abs() < 1e-12);
}

/// Set-up is paid in the first month, in the totals, the cumulative cash and the payback.
#[test]
fn set_up_costs_count_in_totals_cumulative_and_payback() {
    let opts = r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
setup_usd = 1000
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 0
setup_usd = 20000
"#;
    // 1M images a month: the API $14,000 a month, the H100 $1,963.70.
    let e = engine(&fixed(1_000_000.0, 6, "", opts));
    let mut paybacks = Vec::new();
    let (r, pb) = engine::run_with(
        &e,
        &RunConfig::new(1, 1),
        engine::unwatched(),
        &|| {
            (
                e.new_result(),
                breakeven::analysis::payback::PaybackFold::new(&e),
            )
        },
        None,
    )
    .unwrap();
    paybacks.extend(pb.finish(&e));
    assert_eq!(cents(r.options[0].total.mean()), 6 * 1_400_000 + 100_000);
    assert_eq!(cents(r.options[1].total.mean()), 6 * 196_370 + 2_000_000);
    assert_eq!(cents(breakdown(&r, 1, ItemKind::Setup)), 2_000_000);
    assert_eq!(cents(r.options[1].cumulative[0].mean()), 2_196_370);
    // Cumulative: H100 20,000 + 1,963.70 m; API 1,000 + 14,000 m: equal past m = 1.578.
    let p = paybacks.iter().find(|p| p.selfhost == "h100").unwrap();
    assert_eq!(p.months.unwrap().p50, 2.0);
}

/// Present value at 10% a year: month m's cash divided by 1.1^(m/12).
#[test]
fn present_values_discount_each_month() {
    let e = engine(&fixed(
        100_000.0,
        24,
        "discount_rate_per_year = 0.1",
        "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n",
    ));
    let r = engine::run(&e, &RunConfig::new(1, 1), engine::unwatched()).unwrap();
    let want: f64 = (0..24).map(|m| 1400.0 / 1.1f64.powf(m as f64 / 12.0)).sum();
    assert_eq!(cents(r.options[0].present_value.mean()), cents(want));
    assert!(r.options[0].present_value.mean() < r.options[0].total.mean());
}

/// The cash view in summary.json splits each month into one-time, running and API money.
#[test]
fn summary_has_the_cash_view_and_warns_of_a_missing_people_cost() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    let opts = r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "owned"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
payment = "owned"
owned = { purchase_usd = "25000", residual_share = 0.5, usd_per_kwh = "0.10", pue = 1.0, idle_power_share = 1.0 }
fleet = { policy = "fixed", gpus = 1 }
overflow = "bfl/flux-2-klein-4b"
"#;
    std::fs::write(&file, fixed(200_000.0, 3, "", opts)).unwrap();
    let out = Command::cargo_bin("breakeven")
        .unwrap()
        .args(["run", "--samples", "10", "--json", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let owned = &s["options"][1];
    let cash = owned["cash_by_month"].as_array().unwrap();
    // Month 1: the $25,000 purchase; month 3: $12,500 back. Power 0.7 kW × 730 h × $0.10.
    let power = 0.7 * 730.0 * 0.10;
    assert_eq!(cents(cash[0]["capex"].as_f64().unwrap()), 2_500_000);
    assert_eq!(cents(cash[2]["capex"].as_f64().unwrap()), -1_250_000);
    assert_eq!(cents(cash[1]["opex"].as_f64().unwrap()), cents(power));
    assert_eq!(owned["ops_missing"], true);
    let table = Command::cargo_bin("breakeven")
        .unwrap()
        .args(["run", "--samples", "10", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("warning: owned has no people cost"), "{text}");
    // monthly.csv: a row per option and month, the cash split adding up.
    let mut rows = csv::Reader::from_path(dir.path().join("out").join("monthly.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2 * 3);
    for r in &rows {
        let f = |i: usize| r[i].parse::<f64>().unwrap();
        assert!((f(6) - (f(7) + f(8) + f(9))).abs() < 1e-6, "{r:?}");
    }
    assert_eq!(&rows[3][0], "owned");
    assert_eq!(cents(rows[3][7].parse().unwrap()), 2_500_000);
}

#[test]
fn ledger_inputs_are_checked() {
    let cat = Catalogue::builtin().unwrap();
    let owned = |extra: &str| {
        format!(
            "[[option]]\nid = \"o\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\npayment = \"owned\"\nowned = {{ {extra} }}\nfleet = {{ policy = \"fixed\", gpus = 1 }}\n"
        )
    };
    let reserved = |extra: &str| {
        format!(
            "[[option]]\nid = \"r\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"l40s\"\noffer = \"aws-reserved-3yr\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\n{extra}\n"
        )
    };
    for (top, opts, expect) in [
        (
            "",
            reserved("commitment_months = 61"),
            "option[0].commitment_months: 61 is out of range; expected 1 to 60 months",
        ),
        (
            "",
            owned("residual_share = -0.1"),
            "option[0].owned.residual_share: value (-0.1) is below 0",
        ),
        (
            "",
            owned("residual_share = 1.5"),
            "option[0].owned.residual_share: value (1.5) is above 1",
        ),
        (
            "",
            owned("system_usd = \"-5\""),
            "option[0].owned.system_usd: -5 is negative",
        ),
        (
            "discount_rate_per_year = -0.6",
            owned(""),
            "discount_rate_per_year: -0.6 is out of range",
        ),
        (
            "discount_rate_per_year = 1.0",
            owned(""),
            "discount_rate_per_year: 1 is out of range",
        ),
        (
            "",
            format!("{}setup_usd = -100\n", owned("")),
            "option[0].setup_usd",
        ),
        (
            "",
            format!("{}setup_usd = \"lots\"\n", owned("")),
            "option[0].setup_usd",
        ),
        (
            "",
            reserved("commitment_exit_usd = \"-1\""),
            "option[0].commitment_exit_usd: -1 is negative",
        ),
    ] {
        let err = Scenario::parse(&fixed(1000.0, 3, top, &opts), "t.toml", "t", &cat)
            .err()
            .unwrap_or_else(|| panic!("{top} {opts} loads"))
            .to_string();
        assert!(err.contains(expect), "{opts}:\n{err}");
    }
}

/// The report states every financial assumption and shows the cash-flow chart.
#[test]
fn the_report_states_the_money_assumptions_and_shows_the_cash_flow() {
    let cat = Catalogue::builtin().unwrap();
    let opts = r#"
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "owned"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
payment = "owned"
owned = { system_usd = "7500" }
fleet = { policy = "fixed", gpus = 1 }
ops_hours_per_month = 10
ops_usd_per_hour = "100"
setup_usd = 30000
[[option]]
id = "l40s-3yr"
selfhost = "flux-2-klein-4b"
gpu = "l40s"
offer = "aws-reserved-3yr"
fleet = { policy = "fixed", gpus = 1 }
"#;
    let text = fixed(1_500_000.0, 12, "discount_rate_per_year = 0.08", opts).replace(
        "[market]\ncompare = \"named\"",
        "[market]\ncompare = \"named\"\napi_price_drift = -0.2",
    );
    let s = Scenario::parse(&text, "t.toml", "t", &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let cfg = breakeven::report::full::ReportConfig {
        run: RunConfig::new(100, 1),
        against: None,
    };
    let report =
        breakeven::report::full::build(&e, &cat, &cfg, engine::unwatched(), &|_| {}).unwrap();
    let page = report.page(&e, &cat).unwrap();
    for want in [
        "Present values discount month m (from 0) by (1 + 8.0%)^(m/12).",
        "owned: a one-time set-up of $30k, paid in month 1.",
        "owned: each GPU bought in month 1 for $27500 plus $7500 of server and networking; at the end of month 12 it fetches 60–65% of that (the catalogue&#39;s resale curve)",
        "l40s-3yr: reserved for 36 months, 24 past the horizon: the whole term is billed",
        "l40s-3yr: no people cost is set",
        "API prices move by -20% a year",
        "Cash out month by month: ",
    ] {
        assert!(page.contains(want), "the report lacks: {want}");
    }
}

/// `plan` on a horizon shorter than a reservation's term bills the whole term and says what
/// is left past the horizon; a horizon the term fits needs no such note.
#[test]
fn plan_says_what_a_reservation_leaves_past_the_horizon() {
    use breakeven::analysis::plan::{plan, PlanConfig};
    let api = "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n[[option]]\nid = \"l40s\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"l40s\"\noffer = \"runpod-community\"\n";
    let cat = Catalogue::builtin().unwrap();
    for (months, noted) in [(3, true), (36, false)] {
        let e = engine(&fixed(300_000.0, months, "", api));
        let mut cfg = PlanConfig::new(RunConfig::new(40, 1));
        cfg.screen_paths = 10;
        cfg.finalists = 2;
        let r = plan(&e.scenario, &cat, &cfg, engine::unwatched()).unwrap();
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("aws-reserved-3yr") && n.contains("36-month reservation"));
        assert_eq!(note.is_some(), noted, "{months} months: {:?}", r.notes);
        if let Some(n) = note {
            assert!(
                n.contains(&format!("{} months past the horizon", 36 - months)),
                "{n}"
            );
        }
    }
}
