//! The everyday loop of a planner, driven as a user would: what-ifs with `--set` (checked
//! exactly as the file is), `check`, `init`, `compare`, the exports (summary.csv and an .xlsx
//! read back with calamine), and the command-line habits (-q, colour, --no-charts, counts
//! with suffixes, examples in every --help).

use assert_cmd::cargo::cargo_bin_cmd;
use calamine::{Data, Reader, Xlsx};
use serde_json::Value;
use std::path::Path;

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/startup-growth.toml");

fn cmd(args: &[&str]) -> assert_cmd::Command {
    let mut c = cargo_bin_cmd!("breakeven");
    c.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

fn ok(args: &[&str]) -> (String, String) {
    let out = cmd(args).assert().success().get_output().clone();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn refused(args: &[&str]) -> String {
    let out = cmd(args).assert().code(2).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

/// The problems of an error message, without their positions and without the `--set` note, in
/// a canonical order.
fn problems(stderr: &str, file: &str) -> Vec<String> {
    let mut v: Vec<String> = stderr
        .replace(file, "FILE")
        .lines()
        .map(|l| {
            let l = l.trim_start_matches("error: ").trim();
            let l = match l.find(" (from --set") {
                Some(i) => &l[..i],
                None => l,
            };
            let l = match l.rfind(" (line ") {
                Some(i) => &l[..i],
                None => l,
            };
            l.to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

/// `(key=value, what the file says instead, the line of the file it replaces)`: one bad value
/// of each kind the file can hold (a number out of range, a wrong type, an unknown key, a bad
/// distribution, an unknown id, a semantic clash between keys).
const BAD: [(&str, &str, &str); 9] = [
    ("horizon_months=0", "horizon_months = 0", "horizon_months = 24"),
    (
        "horizon_months=\"two years\"",
        "horizon_months = \"two years\"",
        "horizon_months = 24",
    ),
    ("horizon=24", "horizon = 24", "horizon_months = 24"),
    ("demand.burstiness=9", "burstiness = 9", "burstiness = 0.3"),
    (
        "demand.monthly.p90=5000",
        "monthly = { dist = \"lognormal\", median = 10_000, p90 = 5000 }",
        "monthly = { dist = \"lognormal\", median = 10_000, p90 = 20_000 }",
    ),
    (
        "demand.monthly.medain=3",
        "monthly = { dist = \"lognormal\", median = 10_000, p90 = 20_000, medain = 3 }",
        "monthly = { dist = \"lognormal\", median = 10_000, p90 = 20_000 }",
    ),
    (
        "option.h100-plus-api.fleet.gpus=0",
        "fleet = { policy = \"fixed\", gpus = 0 }\noverflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 60\ngpu_price_factor = { dist = \"triangular\", min = 0.9, mode = 1.0, max = 1.25 }\nops_hours_per_month = { dist = \"triangular\", min = 8,",
        "fleet = { policy = \"fixed\", gpus = 1 }\noverflow = \"bfl/flux-2-klein-4b\"\nmax_queue_seconds = 60\ngpu_price_factor = { dist = \"triangular\", min = 0.9, mode = 1.0, max = 1.25 }\nops_hours_per_month = { dist = \"triangular\", min = 8,",
    ),
    (
        "option.api-klein-4b.api=bfl/flux-2-klien-4b",
        "api = \"bfl/flux-2-klien-4b\"",
        "api = \"bfl/flux-2-klein-4b\"",
    ),
    (
        "option.h100-autoscaled.fleet.min=9",
        "fleet = { policy = \"autoscaled\", min = 9, max = 8,",
        "fleet = { policy = \"autoscaled\", min = 0, max = 8,",
    ),
];

#[test]
fn set_fails_exactly_as_the_file_would() {
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (set, bad, good) in BAD {
        assert!(text.contains(good), "{good}");
        let edited = dir.path().join("startup-growth.toml");
        std::fs::write(&edited, text.replacen(good, bad, 1)).unwrap();
        let edited = edited.display().to_string();
        let from_file = refused(&["check", &edited]);
        let from_set = refused(&["check", SCENARIO, "--set", set]);
        assert_eq!(
            problems(&from_set, SCENARIO),
            problems(&from_file, &edited),
            "--set {set}:\n{from_set}\nthe file:\n{from_file}"
        );
        assert!(
            from_set.contains(&format!("(from --set {set})")),
            "--set {set} does not say where it came from:\n{from_set}"
        );
    }
}

#[test]
fn set_names_unknown_options_and_malformed_keys() {
    let e = refused(&["check", SCENARIO, "--set", "option.h100.fleet.gpus=2"]);
    assert!(e.contains("unknown option \"h100\""), "{e}");
    assert!(e.contains("nearest: h100-"), "{e}");
    let e = refused(&["check", SCENARIO, "--set", "horizon_months"]);
    assert!(e.contains("expected KEY=VALUE"), "{e}");
    let e = refused(&["check", SCENARIO, "--set", "mix[7].share=1"]);
    assert!(e.contains("expected an index from 0 to 1"), "{e}");
    let e = refused(&["check", SCENARIO, "--set", "horizon_months.median=1"]);
    assert!(e.contains("is a number, not a table"), "{e}");
}

#[test]
fn positions_after_an_inserted_key_are_the_files() {
    // start_month is not in the file: it is inserted, and a problem further down still points at
    // the file's own line.
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("burstiness"))
        .unwrap()
        + 1;
    let e = refused(&[
        "check",
        SCENARIO,
        "--set",
        "start_month=3",
        "--set",
        "demand.burstiness=\"high\"",
    ]);
    assert!(e.contains("demand.burstiness"), "{e}");
    assert!(
        !e.contains("(line"),
        "a replaced value has no position in the file: {e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("s.toml");
    std::fs::write(
        &edited,
        text.replacen("burstiness = 0.3", "burstiness = \"high\"", 1),
    )
    .unwrap();
    let e = refused(&["check", &edited.display().to_string()]);
    assert!(e.contains(&format!("(line {line}, column")), "{e}");
}

#[test]
fn the_effective_scenario_is_recorded_and_reruns_to_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a");
    let out = out.to_str().unwrap();
    ok(&[
        "run",
        SCENARIO,
        "--samples",
        "300",
        "--set",
        "demand.monthly.median=15k",
        "--set",
        "option.h100-plus-api.fleet.gpus=2",
        "--out",
        out,
        "-q",
    ]);
    let a: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(out).join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        a["overrides"],
        serde_json::json!([
            "demand.monthly.median=15k",
            "option.h100-plus-api.fleet.gpus=2"
        ])
    );
    let toml = a["scenario_toml"].as_str().unwrap();
    assert!(toml.contains("median = 15000"), "{toml}");
    assert!(toml.contains("gpus = 2"), "{toml}");
    // The comments of the file are kept.
    assert!(toml.contains("# A startup whose product makes images"));
    // Saved and run again, the recorded text gives the same numbers.
    let again = dir.path().join("startup-growth.toml");
    std::fs::write(&again, toml).unwrap();
    let out_b = dir.path().join("b");
    ok(&[
        "run",
        again.to_str().unwrap(),
        "--samples",
        "300",
        "--out",
        out_b.to_str().unwrap(),
        "-q",
    ]);
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(out_b.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(a["options"], b["options"]);
    // And differ from the file without the overrides.
    let out_c = dir.path().join("c");
    ok(&[
        "run",
        SCENARIO,
        "--samples",
        "300",
        "--out",
        out_c.to_str().unwrap(),
        "-q",
    ]);
    let c: Value =
        serde_json::from_str(&std::fs::read_to_string(out_c.join("summary.json")).unwrap())
            .unwrap();
    assert_ne!(a["options"], c["options"]);
    assert!(c.get("overrides").is_none());
}

#[test]
fn set_reaches_every_scenario_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for sub in [
        "run",
        "sweep",
        "sensitivity",
        "plan",
        "report",
        "bench",
        "check",
        "compare",
    ] {
        let mut args = vec![sub, SCENARIO];
        if sub == "compare" {
            args.push(SCENARIO);
        }
        args.extend(["--set", "horizon_months=0"]);
        if sub != "check" && sub != "bench" {
            args.extend(["--out", out]);
        }
        let e = refused(&args);
        assert!(
            e.contains("horizon_months: 0 is out of range") && e.contains("(from --set"),
            "{sub}: {e}"
        );
    }
}

#[test]
fn check_says_what_it_understood_and_exits_0_or_2() {
    let (out, _) = ok(&["check", SCENARIO]);
    for words in [
        "ok ",
        "24 months",
        "monthly volume at the start",
        "lognormal distribution, median 10,000",
        "option h100-plus-api",
        "overflow to bfl/flux-2-klein-4b",
        "prices and speeds it uses",
        "$0.014",
    ] {
        assert!(out.contains(words), "missing {words:?}:\n{out}");
    }
    let (quiet, _) = ok(&["check", SCENARIO, "-q"]);
    assert!(quiet.is_empty());
    let e = refused(&["check", "does/not/exist.toml"]);
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn init_writes_a_starter_that_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("print-shop.toml");
    let f = file.to_str().unwrap();
    ok(&[
        "init",
        "--model",
        "flux-2-klein-4b",
        "--monthly",
        "40k",
        "--gpus",
        "h100-sxm,l40s",
        "--out",
        f,
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("median = 40000"), "{text}");
    assert!(text.contains("id = \"l40s\"") && text.contains("id = \"h100-sxm\""));
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() > 5,
        "commented"
    );
    ok(&["check", f]);
    let out = dir.path().join("out");
    let (table, _) = ok(&[
        "run",
        f,
        "--samples",
        "200",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        table.contains("l40s") && table.contains("h100-sxm"),
        "{table}"
    );
    // Never overwrites.
    let e = refused(&["init", "--out", f]);
    assert!(e.contains("exists"), "{e}");
    // Bad flags name the flag and what was expected.
    assert!(refused(&["init", "--model", "flux-3"]).contains("--model: unknown model"));
    assert!(refused(&["init", "--gpus", "h300"]).contains("--gpus: unknown GPU"));
    // Every model with an API and a measured GPU gets a starter that loads.
    for model in ["flux-2-klein-9b", "flux-2-dev", "flux-1-schnell"] {
        let (text, _) = ok(&["init", "--model", model, "--monthly", "1.5M"]);
        assert!(text.contains(model), "{model}");
    }
}

#[test]
fn compare_two_scenarios_pairs_paths_and_two_saved_runs_do_not() {
    // A what-if against itself: the paired difference of an unchanged option is exactly 0 ± 0.
    let (json, _) = ok(&[
        "compare",
        SCENARIO,
        SCENARIO,
        "--set-b",
        "option.h100-plus-api.fleet.gpus=2",
        "--samples",
        "150",
        "--json",
        "-q",
    ]);
    let c: Value = serde_json::from_str(&json).unwrap();
    let row = |id: &str| {
        c["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()
            .clone()
    };
    let same = row("api-klein-4b");
    assert_eq!(same["difference_usd"], 0.0);
    assert_eq!(same["difference_std_error_usd"], 0.0);
    assert_eq!(same["error_from"], "paired");
    let changed = row("h100-plus-api");
    let d = changed["difference_usd"].as_f64().unwrap();
    let se = changed["difference_std_error_usd"].as_f64().unwrap();
    // A second always-on H100 costs about $1,964 a month more at the catalogue's rate, less
    // the overflow it saves; far beyond the noise either way.
    assert!(d > 500.0 && se < d / 5.0, "d {d} se {se}");
    let expect = changed["b"]["monthly_mean_usd"].as_f64().unwrap()
        - changed["a"]["monthly_mean_usd"].as_f64().unwrap();
    assert!((d - expect).abs() < 1e-6 * expect.abs());

    // Two saved runs: matched by id, independent errors.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (out, seed) in [(&a, "1"), (&b, "2")] {
        ok(&[
            "run",
            SCENARIO,
            "--samples",
            "300",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
    }
    let (text, _) = ok(&[
        "compare",
        a.join("summary.json").to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(
        text.contains("as if the two runs were independent"),
        "{text}"
    );
    assert!(text.contains("h100-autoscaled"), "{text}");
    let e = refused(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--set",
        "seed=3",
    ]);
    assert!(e.contains("a saved run cannot take --set"), "{e}");
}

#[test]
fn compare_shows_the_breakeven_shift_when_both_have_sweeps() {
    let (text, _) = ok(&[
        "compare",
        SCENARIO,
        SCENARIO,
        "--set-b",
        "option.h100-plus-api.gpu_price_factor=1.5",
        "--samples",
        "200",
        "--sweep",
        "-q",
    ]);
    let line = text
        .lines()
        .find(|l| l.contains("h100-plus-api vs api-klein-4b"))
        .unwrap_or_else(|| panic!("{text}"));
    // Dearer GPUs move the break-even up.
    let ratio: f64 = line
        .rsplit("B at ")
        .next()
        .and_then(|r| r.strip_suffix("× A's"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(ratio > 1.1, "{line}");
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_workbook_and_summary_csv_hold_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    ok(&["run", SCENARIO, "--samples", "300", "--out", out, "-q"]);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook(dir.path().join("summary.xlsx")).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Summary", "Monthly", "Assumptions", "Scenario"]
    );
    // Summary: one row per option under the header, every figure a number equal to the JSON's.
    let s = book.worksheet_range("Summary").unwrap();
    let header = s
        .rows()
        .position(|r| r.first().map(cell_text).as_deref() == Some("option"))
        .unwrap();
    let cols: Vec<String> = s
        .rows()
        .nth(header)
        .unwrap()
        .iter()
        .map(cell_text)
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name).unwrap();
    for (i, o) in summary["options"].as_array().unwrap().iter().enumerate() {
        let row: Vec<Data> = s.rows().nth(header + 1 + i).unwrap().to_vec();
        assert_eq!(cell_text(&row[0]), o["id"].as_str().unwrap());
        for (c, key) in [
            ("monthly mean", "mean"),
            ("monthly mean s.e.", "std_error"),
            ("monthly cost p50", "p50"),
            ("monthly p95", "p95"),
        ] {
            assert_eq!(
                number(&row[col(c)]),
                o["monthly_cost_usd"][key].as_f64().unwrap(),
                "{c}"
            );
        }
        assert_eq!(
            number(&row[col("P(cheapest)")]),
            o["p_cheapest"].as_f64().unwrap()
        );
    }
    // Monthly: every option's every month, mean and p5/p50/p95.
    let m = book.worksheet_range("Monthly").unwrap();
    let n_opt = summary["options"].as_array().unwrap().len();
    assert_eq!(m.rows().count(), 2 + n_opt * 24);
    let first = &summary["options"][0]["by_month"][0];
    let r: Vec<Data> = m.rows().nth(2).unwrap().to_vec();
    assert_eq!(number(&r[0]), 1.0);
    assert_eq!(number(&r[2]), first["mean"].as_f64().unwrap());
    assert_eq!(number(&r[3]), first["p5"].as_f64().unwrap());
    assert_eq!(number(&r[5]), first["p95"].as_f64().unwrap());
    // Assumptions: the inputs in words and every price with its source and date.
    let a = book.worksheet_range("Assumptions").unwrap();
    let text: String = a
        .rows()
        .flat_map(|r| r.iter().map(cell_text))
        .collect::<Vec<_>>()
        .join("|");
    assert!(text.contains("monthly volume at the start"), "{text}");
    assert!(text.contains("bfl/flux-2-klein-4b"));
    assert!(text.contains("source"));
    assert!(text.contains("2026-"), "dates");
    // summary.csv: the same numbers.
    let mut csv = csv::Reader::from_path(dir.path().join("summary.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), n_opt);
    let hdr = csv.headers().unwrap().clone();
    let k = hdr.iter().position(|h| h == "monthly_mean_usd").unwrap();
    assert_eq!(
        rows[1][k].parse::<f64>().unwrap(),
        summary["options"][1]["monthly_cost_usd"]["mean"]
            .as_f64()
            .unwrap()
    );
}

#[test]
fn the_report_workbook_has_the_sweep_the_plan_and_the_sensitivity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    ok(&["report", SCENARIO, "--samples", "20", "--out", out, "-q"]);
    let mut book: Xlsx<_> = calamine::open_workbook(dir.path().join("report.xlsx")).unwrap();
    for sheet in [
        "Summary",
        "Monthly",
        "Sweep",
        "Plan",
        "Sensitivity",
        "Assumptions",
        "Scenario",
    ] {
        assert!(book.sheet_names().contains(&sheet.to_string()), "{sheet}");
    }
    let sw = book.worksheet_range("Sweep").unwrap();
    let text: Vec<String> = sw.rows().flat_map(|r| r.iter().map(cell_text)).collect();
    assert!(text.iter().any(|t| t == "Break-even volumes"));
    assert!(text.iter().any(|t| t == "h100-plus-api"));
    let plan = book.worksheet_range("Plan").unwrap();
    assert!(plan
        .rows()
        .any(|r| r.first().map(cell_text).as_deref() == Some("recommended")));
}

#[test]
fn samples_csv_is_opt_in_and_a_stale_one_goes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (_, err) = ok(&["run", SCENARIO, "--samples", "200", "--out", out]);
    assert!(!dir.path().join("samples.csv").exists());
    assert!(err.contains("only with --samples-csv"), "{err}");
    ok(&[
        "run",
        SCENARIO,
        "--samples",
        "200",
        "--out",
        out,
        "--samples-csv",
        "-q",
    ]);
    let rows = std::fs::read_to_string(dir.path().join("samples.csv")).unwrap();
    assert!(rows.lines().count() > 200);
    ok(&["run", SCENARIO, "--samples", "200", "--out", out, "-q"]);
    assert!(
        !dir.path().join("samples.csv").exists(),
        "a stale samples.csv would not match"
    );
}

#[test]
fn quiet_no_charts_and_colour_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (table, err) = ok(&[
        "run",
        SCENARIO,
        "--samples",
        "200",
        "--out",
        out,
        "-q",
        "--no-charts",
    ]);
    assert!(err.is_empty(), "{err}");
    assert!(table.contains("P(cheapest)"));
    let pngs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs, 0);
    // Not a terminal: no escapes; --color always: escapes; NO_COLOR wins over auto.
    assert!(!table.contains('\u{1b}'));
    let (check, _) = ok(&["check", SCENARIO, "--color", "always"]);
    assert!(check.contains('\u{1b}'), "{check}");
    let out = cmd(&["check", SCENARIO])
        .env("NO_COLOR", "1")
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains('\u{1b}'));
    let e = cmd(&["check", "nope.toml", "--color", "always"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&e.get_output().stderr).contains("\u{1b}["));
}

#[test]
fn counts_take_suffixes_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (json, _) = ok(&[
        "run",
        SCENARIO,
        "--samples",
        "0.3k",
        "--out",
        out,
        "--json",
        "-q",
        "--no-charts",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["samples"], 300);
    let (json, _) = ok(&[
        "sweep",
        SCENARIO,
        "--samples",
        "100",
        "--volumes",
        "10k..1M",
        "--points",
        "5",
        "--out",
        out,
        "--json",
        "-q",
        "--no-charts",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let vols: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["volume"].as_f64().unwrap())
        .collect();
    assert!((vols[0] - 1e4).abs() < 1e-6, "{vols:?}");
    assert!((vols.last().unwrap() - 1e6).abs() < 1e-6);
    let (json, _) = ok(&["bench", "--paths", "0.2k", "--json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["paths"], 200);
    let e = refused(&["run", SCENARIO, "--samples", "1.5x"]);
    assert!(e.contains("20k or 1.5M"), "{e}");
    let e = refused(&["sweep", SCENARIO, "--volumes", "10k..abc"]);
    assert!(e.contains("like 10k..1M"), "{e}");
}

#[test]
fn every_subcommand_has_examples_in_its_help() {
    for sub in [
        "models",
        "price",
        "init",
        "check",
        "run",
        "compare",
        "bench",
        "sweep",
        "sensitivity",
        "plan",
        "report",
        "merge",
    ] {
        let (help, _) = ok(&[sub, "--help"]);
        assert!(
            help.contains("Examples:\n  breakeven "),
            "{sub} --help has no examples:\n{help}"
        );
    }
    let (help, _) = ok(&["--help"]);
    assert!(help.contains("one standard error of the mean"));
}

#[test]
fn one_colour_per_option_in_every_chart_of_a_run() {
    use breakeven::engine::{unwatched, Engine, RunConfig};
    use breakeven::report::charts::Chart;
    use breakeven::report::full::{build, ReportConfig};
    use breakeven::report::views;
    let cat = breakeven::Catalogue::builtin().unwrap();
    let s = breakeven::scenario::Scenario::load(Path::new(SCENARIO), &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let cfg = ReportConfig {
        run: RunConfig::new(20, 1),
        against: None,
    };
    let r = build(&e, &cat, &cfg, unwatched(), &|_| {}).unwrap();
    let mut charts = views::run_charts(&e, &r.run, &r.traces, &r.summary.payback, 1);
    charts.extend(views::sweep_charts(r.sweep.as_ref().unwrap(), 24));
    let place = |id: &str| {
        e.options
            .iter()
            .position(|o| o.id == id)
            .unwrap_or_else(|| panic!("{id} is not an option"))
    };
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    for (stem, c) in &charts {
        let mut check = |id: &str, colour: usize| {
            assert_eq!(colour, place(id), "{stem}: {id}");
            *checked.entry(stem.as_str()).or_default() += 1;
        };
        match c {
            Chart::Distribution(d) => d.options.iter().for_each(|o| check(&o.label, o.colour)),
            Chart::Cumulative(d) => d.options.iter().for_each(|o| check(&o.label, o.colour)),
            Chart::BreakEven(d) => d.options.iter().for_each(|o| check(&o.label, o.colour)),
            Chart::Probability(d) => d
                .pairs
                .iter()
                .for_each(|p| check(p.label.split(" cheaper than ").next().unwrap(), p.colour)),
            Chart::Fleet(f) => check(f.title.split(':').next().unwrap(), f.colour),
            // Their bars are inputs (tornado) and kinds of money (cash flow), not options.
            Chart::Tornado(_) | Chart::CashFlow(_) => {}
        }
    }
    // Every kind of chart of the run and the sweep was looked at.
    for stem in [
        "cost-distribution",
        "cumulative-cost",
        "monthly-cost",
        "fleet-h100-plus-api",
        "breakeven",
        "p-selfhost-cheaper",
    ] {
        assert!(
            checked.get(stem).copied().unwrap_or(0) > 0,
            "{stem}: {checked:?}"
        );
    }
    // The fleet chart shows a month, not a pooled week, and says which.
    let fleet = charts
        .iter()
        .find(|(s, _)| s == "fleet-h100-plus-api")
        .map(|(_, c)| c.title().to_string())
        .unwrap();
    assert!(fleet.contains("busiest month (month "), "{fleet}");
    // Traced paths of a growth scenario are busiest in the last month.
    assert!(r.traces.iter().flatten().all(|t| t.month < 24));
    assert!(
        r.traces.iter().flatten().filter(|t| t.month == 23).count()
            > r.traces.iter().flatten().count() / 2
    );
}

#[test]
fn the_flip_thresholds_are_exact_in_the_closed_form_and_do_flip_it() {
    use breakeven::engine::{unwatched, Engine, RunConfig};
    use breakeven::report::decision::Decision;
    use breakeven::report::full::{build, ReportConfig};
    let cat = breakeven::Catalogue::builtin().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/closed-form.toml");
    let s = breakeven::scenario::Scenario::load(Path::new(file), &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let cfg = ReportConfig {
        run: RunConfig::new(40, 1),
        against: None,
    };
    let r = build(&e, &cat, &cfg, unwatched(), &|_| {}).unwrap();
    let d = Decision::new(&e, &r.summary, r.sensitivity.as_ref(), r.sweep.as_ref()).unwrap();
    // 140,000 images at $0.014 = $1,960 against 730 h at $2.69 = $1,963.70.
    assert_eq!(d.choose, "api-klein-4b");
    let api = d.api_price_flip.unwrap();
    let gpu = d.gpu_price_flip.unwrap();
    assert!((api - 1963.7 / 1960.0).abs() < 1e-9, "{api}");
    assert!((gpu - 1960.0 / 1963.7).abs() < 1e-9, "{gpu}");
    let (m, _, _) = d.breakeven_volume.unwrap();
    assert!((m.unwrap() - 1963.7 / 0.014).abs() < 1.0);
    // And a GPU price just past the threshold does flip the run's verdict.
    let winner = |factor: f64| {
        let (json, _) = ok(&[
            "run",
            file,
            "--json",
            "-q",
            "--no-charts",
            "--out",
            tempfile::tempdir().unwrap().path().to_str().unwrap(),
            "--set",
            &format!("option.h100-klein-4b.gpu_price_factor={factor}"),
        ]);
        let v: Value = serde_json::from_str(&json).unwrap();
        v["verdict"]["winner"].as_str().unwrap().to_string()
    };
    assert_eq!(winner(gpu * 1.001), "api-klein-4b");
    assert_eq!(winner(gpu * 0.999), "h100-klein-4b");
}

#[test]
fn the_reports_first_screen_answers_the_question() {
    let dir = tempfile::tempdir().unwrap();
    ok(&[
        "report",
        SCENARIO,
        "--samples",
        "40",
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
        // Against BFL's price (the whole market has an API that self-hosting never beats,
        // and so no break-even volume to show).
        "--set",
        "market.compare=named",
    ]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("no {s:?}"));
    // The answer comes first, then the detail.
    assert!(at("The answer") < at("What we assumed"));
    assert!(at("The answer") < at("<svg"));
    for part in [
        "How sure",
        "of the simulated futures",
        "What drives it",
        "growth per month",
        "What would flip it",
        "Volume: self-hosting is cheaper from about",
        "API prices ×",
        "GPU rents (by the hour or second) ×",
        "one standard error",
    ] {
        assert!(at(part) < at("What we assumed"), "{part}");
    }
    // Three drivers, in words, not keys.
    let section = &html[at("What drives it")..at("What would flip it")];
    assert_eq!(section.matches("<li>").count(), 3, "{section}");
    assert!(!section.contains("option."), "{section}");
}

#[test]
fn the_workbook_is_the_same_bytes_run_after_run() {
    // Dated by its newest price, not by the clock: a second later, the same bytes.
    let book = |d: &Path| {
        ok(&[
            "run",
            SCENARIO,
            "--samples",
            "100",
            "--out",
            d.to_str().unwrap(),
            "-q",
            "--no-charts",
        ]);
        std::fs::read(d.join("summary.xlsx")).unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = book(a.path());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(
        first == book(b.path()),
        "summary.xlsx differs between two identical runs"
    );
}
