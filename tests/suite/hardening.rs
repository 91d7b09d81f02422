//! Hardening (issue 16): inputs that look legal but made the binary panic, fail without naming
//! the key, hang, fill the memory, or reach file names and the terminal raw. Each class is
//! tested with several cases of its own, and a sweep pushes every number of a scenario and a
//! catalogue to extremes in the library; the limits themselves are in `src/limits.rs`.
//!
//! Every case here failed on the code before the issue: a panic ("Addition overflowed",
//! "Multiplication overflowed"), "internal check failed" with exit code 1, a run that went on
//! (exit 0) with a subnormal or an absurd number, a loader that took tens of seconds or never
//! returned, a chart lost to a file name shared by two ids, or an escape sequence on stderr.

use crate::common::{breakeven, outcome, root};
use breakeven::catalogue::CatalogueFile;
use breakeven::engine::{Engine, RunConfig};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Exit code 2, the fragments, no panic, nothing raw that moves a terminal's cursor; else
/// what is wrong.
fn check_bad(what: &str, got: (Option<i32>, String), fragments: &[&str]) -> Option<String> {
    let (code, stderr) = got;
    let mut wrong = Vec::new();
    if code != Some(2) {
        wrong.push(format!("exit code {code:?}, expected 2"));
    }
    for bad in [
        "panicked",
        "internal error",
        "internal check failed",
        "overflowed",
    ] {
        if stderr.contains(bad) {
            wrong.push(format!("stderr shows {bad:?}"));
        }
    }
    if let Some(c) = stderr
        .chars()
        .find(|&c| breakeven::names::is_unsafe(c) && c != '\n')
    {
        wrong.push(format!(
            "stderr holds the raw character {}",
            c.escape_unicode()
        ));
    }
    for f in fragments {
        if !stderr.contains(f) {
            wrong.push(format!("stderr lacks {f:?}"));
        }
    }
    (!wrong.is_empty()).then(|| format!("{what}: {}\n--- stderr:\n{stderr}", wrong.join("; ")))
}

fn all_bad(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A small scenario on the shipped catalogue: an API and an always-on H100 with overflow.
const BASE: &str = r#"
name = "base"
horizon_months = 2
samples = 20
seed = 1

[demand]
monthly = 140_000
growth = 0

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
fleet = { policy = "fixed", gpus = 1 }
overflow = "bfl/flux-2-klein-4b"
"#;

/// An owned option to add to [`BASE`].
const OWNED: &str = r#"
[[option]]
id = "owned"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
payment = "owned"
owned = { residual_share = 0.5 }
fleet = { policy = "fixed", gpus = 2 }
"#;

/// `text` with `line` put after the first line that starts with `after`.
fn with(text: &str, after: &str, line: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for l in text.lines() {
        out.push_str(l);
        out.push('\n');
        if !done && l.starts_with(after) {
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    assert!(done, "no line starts with {after:?}");
    out
}

/// `text` with the first line starting with `start` replaced by `line`.
fn replacing(text: &str, start: &str, line: &str) -> String {
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(start) {
                done = true;
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line starts with {start:?}");
    out.join("\n") + "\n"
}

/// Write `text` as `name` in `dir` and run it with the shipped catalogue.
fn run_text(dir: &Path, name: &str, text: &str, extra: &[&str]) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let mut cmd = breakeven();
    cmd.arg("run")
        .arg(&path)
        .args(["--samples", "10", "--out"])
        .arg(dir.join("out"))
        .args(extra);
    outcome(&mut cmd)
}

// ------------------------------------------------------------------------------------------
// Legal-looking numbers.

#[test]
fn numbers_that_overflow_or_underflow_are_bad_input_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let decimal_max = "\"79228162514264337593543950335\"";
    let owned = format!("{BASE}{OWNED}");
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "licence fee at the decimal maximum",
            with(BASE, "overflow =", &format!("licence_fee_usd = {decimal_max}")),
            vec!["option[1].licence_fee_usd: 79228162514264337593543950335 is out of range; expected a price, fee or purchase of at most $1,000,000,000.00".into()],
        ),
        (
            "licence fee as a huge float",
            with(BASE, "overflow =", "licence_fee_usd = 1e300"),
            vec!["option[1].licence_fee_usd: 1e300 is too large a number; expected a magnitude of at most 1e30".into()],
        ),
        (
            "purchase price at the decimal maximum",
            replacing(&owned, "owned = {", &format!("owned = {{ residual_share = 0.5, purchase_usd = {decimal_max} }}")),
            vec!["option[2].owned.purchase_usd: 79228162514264337593543950335 is out of range".into()],
        ),
        (
            "purchase price past the bound",
            replacing(&owned, "owned = {", "owned = { residual_share = 0.5, purchase_usd = \"2e9\" }"),
            vec!["option[2].owned.purchase_usd: 2000000000 is out of range".into()],
        ),
        (
            "hourly price at the decimal maximum",
            with(BASE, "offer =", &format!("usd_per_hour = {decimal_max}")),
            vec!["option[1].usd_per_hour: 79228162514264337593543950335 is out of range".into()],
        ),
        (
            "a negative ops rate past the bound",
            with(BASE, "overflow =", "ops_usd_per_hour = \"-1e12\""),
            vec!["option[1].ops_usd_per_hour: -1000000000000 is out of range".into()],
        ),
        (
            "electricity price at the decimal maximum",
            replacing(&owned, "owned = {", &format!("owned = {{ residual_share = 0.5, usd_per_kwh = {decimal_max} }}")),
            vec!["option[2].owned.usd_per_kwh: 79228162514264337593543950335 is out of range".into()],
        ),
        (
            "price factor 1e300",
            with(BASE, "api = \"bfl", "price_factor = 1e300"),
            vec!["option[0].price_factor: 1e300 is too large a number".into()],
        ),
        (
            "price factor 1e20",
            with(BASE, "api = \"bfl", "price_factor = 1e20"),
            vec!["option[0].price_factor: value (100000000000000000000) is above 1000; expected values <= 1000".into()],
        ),
        (
            "gpu price factor as a wide distribution",
            with(BASE, "overflow =", "gpu_price_factor = { dist = \"lognormal\", median = 1, p90 = 1e25 }"),
            vec!["option[1].gpu_price_factor: lognormal can go above 1000".into()],
        ),
        (
            "a subnormal volume",
            replacing(BASE, "monthly =", "monthly = 1e-310"),
            vec!["demand.monthly: 1e-310 is too small a number to compute with".into()],
        ),
        (
            "the smallest subnormal volume",
            replacing(BASE, "monthly =", "monthly = 5e-324"),
            vec!["demand.monthly: 5e-324 is too small a number".into()],
        ),
        (
            "a subnormal distribution parameter",
            replacing(BASE, "monthly =", "monthly = { dist = \"lognormal\", median = 1e-320, p90 = 1 }"),
            vec!["demand.monthly.median: 1e-320 is too small a number".into()],
        ),
        (
            "subnormal burstiness",
            with(BASE, "growth =", "burstiness = 5e-324"),
            vec!["demand.burstiness: 5e-324 is too small a number".into()],
        ),
        (
            "profile weights of 1e308",
            with(BASE, "growth =", &format!("profile = {{ hour_of_day = [1e308{}], day_of_week = [1, 1, 1, 1, 1, 1, 1] }}", ", 1".repeat(23))),
            vec!["demand.profile.hour_of_day[0]: 1e308 is too large a number".into()],
        ),
        (
            "seasonality of 1e300",
            with(BASE, "growth =", &format!("seasonality = [1e300{}]", ", 1".repeat(11))),
            vec!["demand.seasonality[0]: 1e300 is too large a number".into()],
        ),
        (
            "seconds per image 1e-300",
            with(BASE, "overflow =", "seconds_at_1mp = 1e-300"),
            vec!["option[1].seconds_at_1mp: 1e-300 is too small a number".into()],
        ),
        (
            "a correlation of 5e-324",
            with(BASE, "seed =", "correlations = [[\"demand.monthly\", \"demand.growth\", 5e-324]]"),
            vec!["correlations[0][2]: 5e-324 is too small a number".into()],
        ),
    ];
    let failures = cases
        .into_iter()
        .enumerate()
        .filter_map(|(i, (what, text, want))| {
            let name = format!("n{i}.toml");
            let got = run_text(dir.path(), &name, &text, &[]);
            let mut frags: Vec<&str> = want.iter().map(String::as_str).collect();
            frags.push(&name);
            check_bad(what, got, &frags)
        })
        .collect();
    all_bad(failures);
}

/// A copy of the small test catalogue (`fuzz/seeds/catalogue`) with a serverless offer and a
/// purchase price added to its GPU, in a fresh folder.
fn test_catalogue(dir: &Path) -> PathBuf {
    let cat = dir.join("cat");
    copy_dir(&root().join("fuzz/seeds/catalogue"), &cat);
    let gpu = cat.join("gpu/test-gpu.toml");
    let mut text = std::fs::read_to_string(&gpu).unwrap();
    text = text.replace(
        "[[offer]]",
        "purchase = { usd = \"20000\", source = \"shop\", as_of = \"2026-01-01\" }\n\n[[offer]]",
    );
    text.push_str(
        "\n[[offer]]\nid = \"workers\"\nprovider = \"cloud\"\nclass = \"serverless\"\nusd_per_second = \"0.001\"\ncold_start_seconds = 10.0\nidle_timeout_seconds = 5.0\nsource = \"cloud.example/pricing\"\nas_of = \"2026-01-01\"\n",
    );
    std::fs::write(&gpu, text).unwrap();
    cat
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn catalogue_numbers_that_overflow_are_bad_input_naming_file_and_key() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("gpu/test-gpu.toml", "power_watts = 700.0", "power_watts = 1e300", "gpu/test-gpu.toml: power_watts: 1e300 is too large a number"),
        ("gpu/test-gpu.toml", "power_watts = 700.0", "power_watts = 1e7", "gpu/test-gpu.toml: power_watts: 10000000 is out of range; expected at most 100000 watts a gpu"),
        ("gpu/test-gpu.toml", "cold_start_seconds = 10.0", "cold_start_seconds = 1e300", "offer[1].cold_start_seconds: 1e300 is too large a number"),
        ("gpu/test-gpu.toml", "cold_start_seconds = 10.0", "cold_start_seconds = 1e9", "offer[1].cold_start_seconds: 1000000000 is out of range; expected at most 3600 seconds"),
        ("gpu/test-gpu.toml", "idle_timeout_seconds = 5.0", "idle_timeout_seconds = 1e12", "offer[1].idle_timeout_seconds: 1000000000000 is out of range"),
        ("gpu/test-gpu.toml", "usd = \"20000\"", "usd = \"79228162514264337593543950335\"", "purchase.usd: 79228162514264337593543950335 is out of range"),
        ("gpu/test-gpu.toml", "usd_per_hour = \"2.00\"", "usd_per_hour = 1e300", "offer[0].usd_per_hour: 1e300 is too large a number"),
        ("api/acme/image.toml", "image_usd = \"0.01\"", "image_usd = \"79228162514264337593543950335\"", "api/acme/image.toml: price[0].image_usd: 79228162514264337593543950335 is out of range"),
        ("selfhost/tiny.toml", "seconds_at_1mp = 0.5", "seconds_at_1mp = 5e-324", "selfhost/tiny.toml: speed[0].seconds_at_1mp: 5e-324 is too small a number"),
        ("licence/open.toml", "monthly_fee_usd = \"0\"", "monthly_fee_usd = \"1e28\"", "licence/open.toml: monthly_fee_usd: 10000000000000000000000000000 is out of range"),
    ];
    let mut failures = Vec::new();
    for (file, from, to, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let cat = test_catalogue(dir.path());
        let path = cat.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} lacks {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let got = outcome(breakeven().arg("--catalogue").arg(&cat).arg("models"));
        if let Some(e) = check_bad(to, got, &[want]) {
            failures.push(e);
        }
    }
    all_bad(failures);
}

#[test]
fn prices_whose_totals_could_leave_the_decimal_range_are_refused_naming_the_option() {
    // Each price within its own bound, but a billion dollars a megapixel on 4 MP images with
    // up to a thousand times the price factor could pass the range of exact totals.
    let dir = tempfile::tempdir().unwrap();
    let cat = test_catalogue(dir.path());
    std::fs::write(
        cat.join("api/acme/image.toml"),
        "name = \"Acme Image\"\nprovider = \"acme\"\nopen_model = \"tiny\"\n\n[[price]]\nrule = \"per_image\"\nimage_usd = \"1000000000\"\nsource = \"acme.example/pricing\"\nas_of = \"2026-01-01\"\n",
    )
    .unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "horizon_months = 60\n[demand]\nmonthly = 1000\n[[stage]]\nname = \"draft\"\nper_asset = 1000\n[[option]]\nid = \"api\"\napi = \"acme/image\"\n",
    )
    .unwrap();
    let mut cmd = breakeven();
    cmd.arg("--catalogue")
        .arg(&cat)
        .arg("run")
        .arg(&scenario)
        .args(["--samples", "5", "--out"])
        .arg(dir.path().join("out"));
    let want = format!(
        "{}: option[0]: its prices could add up to",
        scenario.display()
    );
    if let Some(e) = check_bad(
        "absurd totals",
        outcome(&mut cmd),
        &[&want, "past the 1e26"],
    ) {
        panic!("{e}");
    }
}

/// A scenario on [`test_catalogue`] with every kind of option: API with a price factor, fixed
/// hourly with overflow, autoscaled, serverless, owned; two stages, two buckets, a
/// correlation, distributions of several families.
const EVERY_OPTION: &str = r#"
horizon_months = 3
samples = 4
seed = 3
discount_rate_per_year = 0.05
correlations = [["demand.monthly", "demand.growth", 0.3]]

[market]
api_price_drift = { dist = "uniform", min = -0.3, max = 0.0 }
gpu_price_drift = 0.1
[[market.price_change]]
api = "acme/image"
from_month = 2
factor = 0.9

[demand]
monthly = { dist = "lognormal", median = 20000, p90 = 40000 }
growth = { dist = "normal", mean = 0.02, sd = 0.01 }
burstiness = 0.3
seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2, 1.3, 1.5]

[[mix]]
name = "square"
size = "1024x1024"
share = 0.6

[[mix]]
mp = 2.0
share = 0.4
steps = 4

[[stage]]
name = "draft"
per_asset = 2

[[stage]]
name = "final"
per_asset = 1

[[option]]
id = "api"
api = "acme/image"
price_factor = { dist = "triangular", min = 0.8, mode = 1, max = 1.2 }

[[option]]
id = "fixed"
selfhost = "tiny"
gpu = "test-gpu"
offer = "cloud"
fleet = { policy = "fixed", gpus = 1 }
overflow = "acme/image"
max_queue_seconds = 60
ops_hours_per_month = { dist = "gamma", mean = 10, sd = 3 }
ops_usd_per_hour = "80"
speed_factor = { dist = "pert", min = 0.8, mode = 1, max = 1.5 }

[[option]]
id = "autoscaled"
selfhost = "tiny"
gpu = "test-gpu"
offer = "cloud"
fleet = { policy = "autoscaled", min = 0, max = 4, target_utilisation = 0.7, scale_up_delay_minutes = 5, min_billed_hours = 2 }
overflow = "acme/image"
licence_fee_usd = "100"

[[option]]
id = "workers"
selfhost = "tiny"
gpu = "test-gpu"
offer = "workers"
fleet = { policy = "serverless", max_workers = 3 }
cold_start_seconds = 20

[[option]]
id = "owned"
selfhost = "tiny"
gpu = "test-gpu"
payment = "owned"
owned = { residual_share = 0.4, system_usd = "2000", usd_per_kwh = "0.2", pue = 1.4, hosting_usd_per_month = "50", idle_power_share = 0.3 }
fleet = { policy = "fixed", gpus = 2 }
gpu_price_factor = { dist = "uniform", min = 0.9, max = 1.1 }
setup_usd = 5000
"#;

/// Each number of a TOML document, by path, with a way to put another value there.
fn numbers(v: &toml::Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, toml::Value)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                path.push(k.clone());
                numbers(x, path, out);
                path.pop();
            }
        }
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(format!("#{i}"));
                numbers(x, path, out);
                path.pop();
            }
        }
        toml::Value::Integer(_) | toml::Value::Float(_) => out.push((path.clone(), v.clone())),
        toml::Value::String(s) if s.parse::<f64>().is_ok() => out.push((path.clone(), v.clone())),
        _ => {}
    }
}

fn set(v: &mut toml::Value, path: &[String], to: toml::Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = to;
        return;
    };
    let next = match (v, first.strip_prefix('#')) {
        (toml::Value::Array(a), Some(i)) => &mut a[i.parse::<usize>().unwrap()],
        (toml::Value::Table(t), None) => t.get_mut(first).unwrap(),
        _ => unreachable!("the path came from this document"),
    };
    set(next, rest, to);
}

/// Values a number is pushed to: each side of every bound a file could cross.
fn extremes(like: &toml::Value) -> Vec<toml::Value> {
    match like {
        toml::Value::String(_) => [
            "79228162514264337593543950335",
            "1000000000",
            "-1",
            "0",
            "1e-28",
            "0.0000000000000000000000000001",
        ]
        .iter()
        .map(|s| toml::Value::String(s.to_string()))
        .collect(),
        toml::Value::Integer(_) => [0, -1, 1, 10_000, 4_294_967_295, i64::MAX]
            .into_iter()
            .map(toml::Value::Integer)
            .collect(),
        _ => [1e300, 1e29, 1e15, 1e-29, 5e-324, 0.0, -1e29, 1e6]
            .into_iter()
            .map(toml::Value::Float)
            .collect(),
    }
}

/// The class test: every number of a scenario that uses every kind of option, and every number
/// of the catalogue it runs on, set in turn to each extreme, must load and simulate or be bad
/// input naming the file; never a panic, an internal check or any other error.
#[test]
fn every_number_pushed_to_an_extreme_is_bad_input_or_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cat_dir = test_catalogue(dir.path());
    let cat_files = breakeven::catalogue::files_in_dir(&cat_dir).unwrap();
    let base_cat = Catalogue::from_files("test", cat_files.clone()).unwrap();
    let scenario: toml::Value = toml::from_str(EVERY_OPTION).unwrap();
    Scenario::parse(EVERY_OPTION, "s.toml", "s", &base_cat).expect("the base scenario loads");

    let try_one = |scenario_text: &str, files: Vec<CatalogueFile>| -> Result<(), String> {
        let outcome = std::panic::catch_unwind(|| -> Result<(), breakeven::Error> {
            let cat = Catalogue::from_files("test", files)?;
            let s = Scenario::parse(scenario_text, "s.toml", "s", &cat)?;
            let e = Engine::new(s, &cat)?;
            breakeven::engine::run(&e, &RunConfig::new(4, 1), breakeven::engine::unwatched())?;
            Ok(())
        });
        match outcome {
            Err(_) => Err("panicked".into()),
            Ok(Ok(())) => Ok(()),
            Ok(Err(breakeven::Error::Input(p))) => {
                if p.0
                    .iter()
                    .all(|x| !x.file.is_empty() && !x.message.is_empty())
                {
                    Ok(())
                } else {
                    Err(format!("a problem without its file: {p}"))
                }
            }
            Ok(Err(other)) => Err(format!("not bad input: {other}")),
        }
    };
    // Quiet the panic hook: a panic is reported as a failure below, with the case.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut tried = 0;

    let mut leaves = Vec::new();
    numbers(&scenario, &mut Vec::new(), &mut leaves);
    for (path, like) in &leaves {
        for to in extremes(like) {
            let mut v = scenario.clone();
            set(&mut v, path, to.clone());
            let text = toml::to_string(&v).unwrap();
            tried += 1;
            if let Err(e) = try_one(&text, cat_files.clone()) {
                failures.push(format!("scenario {} = {to}: {e}", path.join(".")));
            }
        }
    }
    for (fi, f) in cat_files.iter().enumerate() {
        let doc: toml::Value = toml::from_str(&f.text).unwrap();
        let mut leaves = Vec::new();
        numbers(&doc, &mut Vec::new(), &mut leaves);
        for (path, like) in &leaves {
            for to in extremes(like) {
                let mut v = doc.clone();
                set(&mut v, path, to.clone());
                let mut files = cat_files.clone();
                files[fi].text = toml::to_string(&v).unwrap();
                tried += 1;
                if let Err(e) = try_one(EVERY_OPTION, files) {
                    failures.push(format!("{} {} = {to}: {e}", f.rel_path, path.join(".")));
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(tried > 300, "only {tried} cases");
    assert!(
        failures.is_empty(),
        "{} of {tried} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Unbounded time or memory from small files.

/// [`BASE`]'s head (up to the options) followed by `tail`.
fn head_then(tail: &str) -> String {
    let head = &BASE[..BASE.find("[[option]]").unwrap()];
    format!("{head}{tail}")
}

#[test]
fn small_files_that_asked_for_unbounded_time_or_memory_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let api_options = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[option]]\nid = \"api-{i}\"\napi = \"bfl/flux-2-klein-4b\"\n"))
            .collect()
    };
    let buckets = |n: usize| -> String {
        let head = &BASE[..BASE.find("[[mix]]").unwrap()];
        let mix: String = (0..n)
            .map(|_| {
                format!(
                    "[[mix]]\nsize = \"1024x1024\"\nshare = {}\n",
                    1.0 / n as f64
                )
            })
            .collect();
        format!("{head}{mix}{}", &BASE[BASE.find("[[option]]").unwrap()..])
    };
    let stages = |n: usize| -> String {
        let s: String = (0..n)
            .map(|i| format!("[[stage]]\nname = \"s{i}\"\nper_asset = 1\n"))
            .collect();
        let b = buckets(25);
        let at = b.find("[demand]").unwrap();
        format!("{}{s}{}", &b[..at], &b[at..])
    };
    let correlations = {
        let pairs: Vec<String> = (0..1500)
            .map(|_| "[\"demand.monthly\", \"demand.growth\", 0.1]".to_string())
            .collect();
        with(
            BASE,
            "seed =",
            &format!("correlations = [{}]", pairs.join(", ")),
        )
    };
    let empirical = {
        let values: Vec<String> = (0..20_000).map(|i| (1000 + i).to_string()).collect();
        replacing(
            BASE,
            "monthly =",
            &format!(
                "monthly = {{ dist = \"empirical\", values = [{}] }}",
                values.join(", ")
            ),
        )
    };
    let cases: Vec<(&str, String, String)> = vec![
        (
            "a gamma with a tiny sd (a shape of 2e14)",
            replacing(
                BASE,
                "monthly =",
                "monthly = { dist = \"gamma\", mean = 140000, sd = 0.01 }",
            ),
            "demand.monthly.sd: gamma's shape (mean / sd)² = 1.96e14 is above 1e6".into(),
        ),
        (
            "a gamma with a huge shape",
            replacing(
                BASE,
                "growth =",
                "growth = { dist = \"gamma\", shape = 1e20, rate = 1e22 }",
            ),
            "demand.growth.shape: gamma's shape 1.00e20 is above 1e6".into(),
        ),
        (
            "a gamma with a tiny shape",
            replacing(
                BASE,
                "growth =",
                "growth = { dist = \"gamma\", shape = 1e-9, rate = 1 }",
            ),
            "demand.growth.shape: gamma's shape 1.00e-9 is below 0.001".into(),
        ),
        (
            "2,000 API options",
            head_then(&api_options(2000)),
            "option: has 2000 options; expected at most 100".into(),
        ),
        (
            "10,000 mix buckets",
            buckets(10_000),
            "mix: has 10000 mix buckets; expected at most 100".into(),
        ),
        (
            "21 stages of 25 buckets",
            stages(21),
            "stage: has 21 stages; expected at most 20".into(),
        ),
        (
            "17 stages of 25 buckets",
            stages(17),
            "stage: 17 stages × 25 mix buckets make 425 streams; expected at most 400".into(),
        ),
        (
            "1,500 correlations",
            correlations,
            "correlations: has 1500 correlations; expected at most 1000".into(),
        ),
        (
            "an empirical distribution of 20,000 values",
            empirical,
            "demand.monthly.values: has 20000 items; expected at most 10000".into(),
        ),
        (
            "a 1 MB option id",
            replacing(
                BASE,
                "id = \"api\"",
                &format!("id = \"{}\"", "a".repeat(1 << 20)),
            ),
            "option[0].id: is a text of 1048576 characters; expected at most 10000".into(),
        ),
        (
            "a 15 MB scenario name",
            replacing(
                BASE,
                "name =",
                &format!("name = \"{}\"", "n".repeat(15 << 20)),
            ),
            "name: is a text of 15728640 characters; expected at most 10000".into(),
        ),
        (
            "a 300-character option id",
            replacing(
                BASE,
                "id = \"api\"",
                &format!("id = \"{}\"", "a".repeat(300)),
            ),
            "option[0].id: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\" is 300 characters long"
                .into(),
        ),
    ];
    let mut failures = Vec::new();
    for (i, (what, text, want)) in cases.into_iter().enumerate() {
        let start = Instant::now();
        let got = run_text(dir.path(), &format!("t{i}.toml"), &text, &[]);
        let took = start.elapsed();
        if let Some(e) = check_bad(what, got, &[&want]) {
            failures.push(e);
        }
        // A hang guard, not a speed claim: each of these took from 20 s to forever before.
        if took > Duration::from_secs(20) {
            failures.push(format!("{what}: took {took:?}"));
        }
    }
    all_bad(failures);
}

#[test]
fn plan_screen_paths_and_finalists_are_capped() {
    for (flag, value, want) in [
        ("--screen-paths", "1000000000000", "--screen-paths: 1000000000000 is out of range; expected 1 to 100000 paths per candidate"),
        ("--screen-paths", "0", "--screen-paths: 0 is out of range"),
        ("--finalists", "100000", "--finalists: 100000 is out of range; expected 1 to 100 candidates"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = breakeven();
        cmd.args(["plan", "scenarios/closed-form.toml", flag, value, "--out"])
            .arg(out.path().join("o"));
        let start = Instant::now();
        if let Some(e) = check_bad(flag, outcome(&mut cmd), &[want]) {
            panic!("{e}");
        }
        assert!(start.elapsed() < Duration::from_secs(20));
    }
}

// ------------------------------------------------------------------------------------------
// Files that are not files, and catalogues that leave themselves.

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[cfg(unix)]
#[test]
fn special_files_are_refused_at_once_as_scenarios_and_catalogue_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.toml");
    mkfifo(&fifo);
    let fifo_s = fifo.display().to_string();
    let mut cases: Vec<(String, Vec<String>)> = vec![
        (fifo_s.clone(), vec![format!("{fifo_s}: cannot be read (a named pipe, not a regular file)")]),
        ("/proc/self/status".into(), vec!["/proc/self/status: cannot be read (a file of the kernel (/proc, /sys), not a regular file)".into()]),
        ("/dev/null".into(), vec!["/dev/null: cannot be read (a character device, not a regular file)".into()]),
    ];
    if Path::new("/proc/kmsg").exists() {
        cases.push((
            "/proc/kmsg".into(),
            vec!["/proc/kmsg: cannot be read".into()],
        ));
    }
    let mut failures = Vec::new();
    for (file, want) in &cases {
        let out = dir.path().join("out");
        let mut cmd = breakeven();
        cmd.args(["run", file, "--samples", "5", "--out"]).arg(&out);
        cmd.timeout(Duration::from_secs(20));
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        if let Some(e) = check_bad(file, outcome(&mut cmd), &want) {
            failures.push(e);
        }
    }
    // As a catalogue file, and a link to a special file inside the catalogue.
    let cat = test_catalogue(dir.path());
    mkfifo(&cat.join("gpu/pipe.toml"));
    std::os::unix::fs::symlink("/dev/zero", cat.join("licence/zero.toml")).unwrap();
    let mut cmd = breakeven();
    cmd.arg("--catalogue").arg(&cat).arg("models");
    cmd.timeout(Duration::from_secs(20));
    let got = outcome(&mut cmd);
    if let Some(e) = check_bad(
        "special catalogue files",
        got,
        &[
            "gpu/pipe.toml: cannot be read (a named pipe, not a regular file)",
            "licence/zero.toml: is a link to /dev/zero, outside the catalogue",
        ],
    ) {
        failures.push(e);
    }
    all_bad(failures);
}

#[cfg(unix)]
#[test]
fn a_catalogue_never_walks_or_reads_outside_itself() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("elsewhere.toml");
    std::fs::write(&outside, "name = \"x\"\n").unwrap();
    let mut failures = Vec::new();
    for (what, link_at, to, want) in [
        (
            "a folder linked to /",
            "gpu/root",
            PathBuf::from("/"),
            "gpu/root: is a link to /, outside the catalogue",
        ),
        (
            "a folder linked to its parent's parent",
            "api/up",
            dir.path().to_path_buf(),
            "api/up: is a link to",
        ),
        (
            "a file linked to a file outside",
            "licence/elsewhere.toml",
            outside.clone(),
            "licence/elsewhere.toml: is a link to",
        ),
        (
            "a dangling link",
            "selfhost/gone.toml",
            dir.path().join("nothing"),
            "selfhost/gone.toml: is a link that leads nowhere",
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        let cat = test_catalogue(d.path());
        std::os::unix::fs::symlink(&to, cat.join(link_at)).unwrap();
        let start = Instant::now();
        let got = outcome(breakeven().arg("--catalogue").arg(&cat).arg("models"));
        if let Some(e) = check_bad(what, got, &[want, "expected files and folders inside"]) {
            failures.push(e);
        }
        if start.elapsed() > Duration::from_secs(20) {
            failures.push(format!("{what}: took {:?}", start.elapsed()));
        }
    }
    // The whole file system as a catalogue: the walk stops at its limit, quickly.
    let start = Instant::now();
    let got = outcome(breakeven().args(["--catalogue", "/", "models"]));
    let (code, stderr) = &got;
    let bounded = stderr.contains("holds more than 20000 files and folders")
        || stderr.contains("holds more than 2000 .toml files")
        || stderr.contains("is nested more than 8 folders deep");
    if *code != Some(2) || !bounded {
        failures.push(format!("--catalogue /: exit {code:?}: {stderr}"));
    }
    if start.elapsed() > Duration::from_secs(30) {
        failures.push(format!("--catalogue /: took {:?}", start.elapsed()));
    }
    // Nested too deep.
    let d = tempfile::tempdir().unwrap();
    let cat = test_catalogue(d.path());
    let deep = cat.join("api/a/b/c/d/e/f/g/h/i");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("x.toml"), "name = \"x\"\n").unwrap();
    let got = outcome(breakeven().arg("--catalogue").arg(&cat).arg("models"));
    if let Some(e) = check_bad("deep", got, &["is nested more than 8 folders deep"]) {
        failures.push(e);
    }
    all_bad(failures);
}

// ------------------------------------------------------------------------------------------
// Ids and names.

#[test]
fn scenario_names_that_are_not_plain_folder_names_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // Control characters are refused in any text of a file, with that message; the others
    // by the id rule, which says why the name cannot be a folder's.
    let cases: &[(&str, &str)] = &[
        ("a\\nb", "the control character \\u{a}"),
        ("report\u{202e}lmth.exe", "the control character \\u{202e}"),
        ("\\u0000", "the control character \\u{0}"),
        ("\\u001b[2J", "the control character \\u{1b}"),
        ("-rf", "starts with \"-\"; it cannot name an output folder"),
        ("...", "starts with \".\"; it cannot name an output folder"),
        ("..", "starts with \".\"; it cannot name an output folder"),
        (
            ".hidden",
            "starts with \".\"; it cannot name an output folder",
        ),
        (
            "a/b",
            "a path separator ('/'); it cannot name an output folder",
        ),
        ("a b", "a space; it cannot name an output folder"),
        ("", "is empty; it cannot name an output folder"),
    ];
    let long = "n".repeat(300);
    let mut failures = Vec::new();
    let mut all: Vec<(String, String)> = cases
        .iter()
        .map(|(n, w)| (n.to_string(), w.to_string()))
        .collect();
    all.push((
        long,
        "is 300 characters long; it cannot name an output folder".into(),
    ));
    for (i, (name, want)) in all.iter().enumerate() {
        let text = replacing(BASE, "name =", &format!("name = \"{name}\""));
        let got = run_text(dir.path(), &format!("n{i}.toml"), &text, &[]);
        if let Some(e) = check_bad(name, got, &["name: ", want]) {
            failures.push(e);
        }
    }
    // Without a name, the file's name is the default, and must follow the same rule.
    let text = BASE.replace("name = \"base\"\n", "");
    let got = run_text(dir.path(), "my scenario.toml", &text, &[]);
    if let Some(e) = check_bad(
        "file name",
        got,
        &["name: is not set and the file name gives \"my scenario\" holds a space"],
    ) {
        failures.push(e);
    }
    all_bad(failures);
}

#[test]
fn option_ids_and_stage_names_follow_the_id_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (replacing(BASE, "id = \"h100\"", "id = \"H100\"\n[[option]]\nid = \"h100\"\napi = \"bfl/flux-2-klein-4b\""), "option[2].id: \"h100\" differs from option[1]'s \"H100\" only in case"),
        (replacing(BASE, "id = \"api\"", "id = \"a\\u001b[2Jb\""), "option[0].id: holds the control character \\u{1b}"),
        (replacing(BASE, "id = \"api\"", "id = \"-api\""), "option[0].id: \"-api\" starts with \"-\""),
        (replacing(BASE, "id = \"api\"", "id = \"a b\""), "option[0].id: \"a b\" holds a space"),
        (replacing(BASE, "id = \"api\"", "id = \"x\u{2067}y\""), "option[0].id: holds the control character \\u{2067}"),
        (replacing(BASE, "id = \"api\"", "id = \"../x\""), "option[0].id: \"../x\" holds a path separator"),
        (with(BASE, "seed =", "[[stage]]\nname = \"a/b\"\nper_asset = 1"), "stage[0].name: \"a/b\" holds a path separator"),
        (with(BASE, "seed =", "[[stage]]\nname = \"Draft\"\nper_asset = 1\n[[stage]]\nname = \"draft\"\nper_asset = 1"), "stage[1].name: \"draft\" differs from stage[0]'s \"Draft\" only in case"),
        (replacing(BASE, "size = \"1024x1024\"", "name = \"x\\u001b[31m\"\nsize = \"1024x1024\""), "mix[0].name: holds the control character \\u{1b}"),
        (replacing(BASE, "size = \"1024x1024\"", &format!("name = \"{}\"\nsize = \"1024x1024\"", "m".repeat(65))), "mix[0].name: \"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm…\" is 65 characters long"),
    ];
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, (text, want))| {
            check_bad(
                want,
                run_text(dir.path(), &format!("i{i}.toml"), text, &[]),
                &[want],
            )
        })
        .collect();
    all_bad(failures);
}

#[test]
fn ids_that_differ_only_in_punctuation_write_distinct_charts() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = |id: &str| {
        format!("[[option]]\nid = \"{id}\"\nselfhost = \"flux-2-klein-4b\"\ngpu = \"h100-sxm\"\noffer = \"runpod-community\"\nfleet = {{ policy = \"fixed\", gpus = 1 }}\noverflow = \"bfl/flux-2-klein-4b\"\n")
    };
    let ids = ["h100.a", "h100-a", "h100_a", "h100a"];
    let text = head_then(&format!(
        "[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n{}",
        ids.iter().map(|i| fleet(i)).collect::<String>()
    ));
    let (code, stderr) = run_text(dir.path(), "p.toml", &text, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("and 8 charts"), "{stderr}");
    let out = dir.path().join("out");
    for id in ids {
        for ext in ["png", "svg"] {
            let f = out.join(format!("fleet-{id}.{ext}"));
            assert!(f.is_file(), "{} missing: {stderr}", f.display());
        }
        // Each chart is its own option's.
        let svg = std::fs::read_to_string(out.join(format!("fleet-{id}.svg"))).unwrap();
        assert!(
            svg.contains(&format!("{id}: the fleet in its busiest month")),
            "fleet-{id}.svg"
        );
    }
}

#[test]
fn catalogue_file_names_and_offer_ids_follow_the_id_rule() {
    let mut failures = Vec::new();
    for (what, file, text, want) in [
        (
            "a space in a file name",
            "api/acme/Bad Name.toml",
            None,
            "api/acme/Bad Name.toml: the file name gives the id part \"Bad Name\" holds a space",
        ),
        (
            "a leading dash",
            "gpu/-x.toml",
            None,
            "gpu/-x.toml: the file name gives the id part \"-x\" starts with \"-\"",
        ),
        (
            "an escape in a provider folder",
            "api/a\u{1b}b/m.toml",
            None,
            "the file name gives the id part \"a\\u{1b}b\"",
        ),
        (
            "an offer id with a slash",
            "gpu/test-gpu.toml",
            Some(("id = \"cloud\"", "id = \"cl/oud\"")),
            "gpu/test-gpu.toml: offer[0].id: \"cl/oud\" holds a path separator",
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        let cat = test_catalogue(d.path());
        let path = cat.join(file);
        match text {
            None => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::copy(cat.join("api/acme/image.toml"), &path).unwrap();
            }
            Some((from, to)) => {
                let t = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, t.replacen(from, to, 1)).unwrap();
            }
        }
        let got = outcome(breakeven().arg("--catalogue").arg(&cat).arg("models"));
        if let Some(e) = check_bad(what, got, &[want]) {
            failures.push(e);
        }
    }
    all_bad(failures);
}

#[test]
fn names_echoed_from_the_command_line_are_escaped() {
    // A path with an escape sequence (clear screen) and a direction override.
    for path in [
        "/tmp/no-such-\u{1b}[2J.toml",
        "/tmp/no-such-\u{202e}lmth.toml",
    ] {
        let (code, stderr) = outcome(breakeven().args(["run", path]));
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            !stderr.chars().any(|c| c == '\u{1b}' || c == '\u{202e}'),
            "raw: {stderr:?}"
        );
        assert!(stderr.contains("no-such-\\u{"), "{stderr}");
    }
    let out = tempfile::tempdir().unwrap();
    let bad_out = out.path().join("file");
    std::fs::write(&bad_out, "x").unwrap();
    let (code, stderr) = outcome(
        breakeven()
            .args(["run", "scenarios/closed-form.toml", "--out"])
            .arg(bad_out.join("x\u{1b}[2J")),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "raw: {stderr:?}");
}

// ------------------------------------------------------------------------------------------
// Exit codes of flags.

#[test]
fn a_repeated_catalogue_flag_is_refused() {
    for args in [
        &[
            "--catalogue",
            "models",
            "--catalogue",
            "fuzz/seeds/catalogue",
            "models",
        ][..],
        &[
            "--catalogue",
            "models",
            "models",
            "--catalogue",
            "fuzz/seeds/catalogue",
        ],
        &[
            "--catalogue=models",
            "run",
            "--catalogue",
            "models",
            "scenarios/closed-form.toml",
        ],
    ] {
        let (code, stderr) = outcome(breakeven().args(args));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("'--catalogue <DIR>'")
                && (stderr.contains("cannot be used multiple times")
                    || stderr.contains("was given 2 times")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_folder_given_to_merge_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let got = outcome(breakeven().arg("merge").arg(dir.path()));
    let want = format!(
        "{}: is a folder; expected a part file",
        dir.path().display()
    );
    if let Some(e) = check_bad("merge folder", got, &[&want]) {
        panic!("{e}");
    }
}
