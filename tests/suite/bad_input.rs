//! Bad input, end to end: every fixture in `tests/fixtures/bad/` is fed to the binary, which must
//! exit with code 2, name the file, the key path and what is expected, list every problem in the
//! file, and never show a panic or a backtrace. Also: files that are not files, bytes that are
//! not text, bad flags, an output folder that cannot be made, and huge but legal inputs.
//!
//! Exit codes: 2 for bad input (a file, a key, a flag, a path given on the command line,
//! including an `--out` that cannot be a folder), 1 for a failure while running, 0 for success.

use crate::common::{breakeven, outcome, root};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a panic, or the binary's own report of one, would show.
const PANIC_SIGNS: [&str; 4] = [
    "panicked",
    "RUST_BACKTRACE",
    "stack backtrace",
    "internal error",
];

/// Nothing of a panic reaches the user.
fn assert_no_panic(stderr: &str, what: &str) {
    for bad in PANIC_SIGNS {
        assert!(
            !stderr.contains(bad),
            "{what}: stderr shows {bad:?}:\n{stderr}"
        );
    }
}

/// `breakeven run <file>` into a fresh output folder.
fn run_scenario(file: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = breakeven();
    cmd.arg("run")
        .arg(file)
        .args(["--samples", "10", "--out"])
        .arg(out.path())
        .args(extra);
    outcome(&mut cmd)
}

/// Exit code 2, no panic, and every fragment in stderr; else a description of what is wrong.
fn check_bad(what: &str, got: (Option<i32>, String), fragments: &[&str]) -> Option<String> {
    let (code, stderr) = got;
    let mut wrong = Vec::new();
    if code != Some(2) {
        wrong.push(format!("exit code {code:?}, expected 2"));
    }
    for bad in PANIC_SIGNS {
        if stderr.contains(bad) {
            wrong.push(format!("stderr shows {bad:?}"));
        }
    }
    for f in fragments {
        if !stderr.contains(f) {
            wrong.push(format!("stderr lacks {f:?}"));
        }
    }
    (!wrong.is_empty()).then(|| format!("{what}: {}\n--- stderr:\n{stderr}", wrong.join("; ")))
}

/// Scenario fixtures and what their messages must say: the key path with what is wrong and
/// what is expected. One fixture per kind of bad input; several list more than one problem,
/// and every one must be reported.
const SCENARIOS: &[(&str, &[&str])] = &[
    // TOML syntax.
    ("syntax-unclosed-table", &["unclosed table, expected `]` (line 4"]),
    ("syntax-duplicate-key", &["duplicate key \"horizon_months\"; expected each key once"]),
    ("syntax-bad-value", &["not a TOML value (got three); expected a number, true or false, or text in quotes"]),
    // Wrong types.
    ("type-string-for-integer", &["horizon_months: the string \"three\" is the wrong type; expected a whole number"]),
    ("type-float-for-integer", &["horizon_months: the number 3.5 is the wrong type; expected a whole number"]),
    ("type-quoted-number-dist", &["demand.monthly: expected a number or a table", "write the number without quotes"]),
    ("type-table-for-string", &["option[0].api: a table is the wrong type; expected a string"]),
    ("type-bad-money", &["option[0].usd_per_hour: \"two dollars\" is not a dollar amount; expected a decimal"]),
    ("type-unquoted-date", &["as_of: is a TOML date; expected the date in quotes"]),
    ("bad-date", &["as_of: is not a valid date; expected YYYY-MM-DD", "2026-02-30"]),
    ("negative-integer", &["horizon_months: the integer -3 is out of range; expected a whole number"]),
    ("correlation-not-a-triple", &["correlations[0]: has 2 items; expected an array of 3 items"]),
    ("profile-wrong-type", &["demand.profile: expected a weekly profile name such as \"business-hours\""]),
    // Unknown keys and values, with the nearest valid one.
    ("unknown-key-top", &["horizon_month: unknown key \"horizon_month\"; nearest: horizon_months"]),
    ("unknown-key-option", &["option[0].gpus: unknown key \"gpus\"; nearest: gpu"]),
    ("unknown-key-fleet", &["option[0].fleet.gpu: unknown key \"gpu\"; nearest: gpus"]),
    ("unknown-dist-key", &["demand.monthly.p09: unknown key for lognormal", "did you mean \"p90\""]),
    ("unknown-dist-family", &["demand.monthly.dist: unknown dist \"lognormel\"", "did you mean \"lognormal\""]),
    ("unknown-enum-value", &["demand.normalise: unknown value \"weekly\"; nearest: week; expected one of month, week"]),
    ("profile-unknown", &["demand.profile: unknown weekly profile \"busines-hours\"; nearest: business-hours"]),
    ("unknown-fleet-policy", &["option[0].fleet.policy: unknown value \"autoscale\"; nearest: autoscaled; expected one of fixed, autoscaled, serverless"]),
    ("unknown-payment", &["option[0].payment: unknown value \"lease\"; expected one of on-demand, reserved, spot, serverless, owned"]),
    // Missing keys.
    ("missing-horizon", &["horizon_months: is missing; this key is required"]),
    ("missing-demand", &["demand: is missing; this key is required"]),
    ("missing-dist-param", &["demand.monthly.mode: triangular needs min, mode and max; mode is missing"]),
    ("missing-option-id", &["option[0].id: is missing; this key is required"]),
    ("missing-gpu", &["option[0].gpu: is missing; a self-hosted option runs on a gpu"]),
    ("missing-offer", &["option[0].offer: is missing; expected one of h100-sxm's offers"]),
    ("no-options", &["option: no [[option]]s; expected at least one option"]),
    ("override-wrong-offer", &[
        "option[1].interruptions_per_hour: does not apply to a serverless offer",
        "option[1].cold_start_seconds: -3 is out of range; expected seconds from 0 to 3600",
        "option[2].cold_start_seconds: applies to serverless offers only; runpod-community is community",
        "option[2].interruptions_per_hour: 100 is out of range; expected interruptions per hour from 0 to 60",
    ]),
    ("api-cannot-serve-size", &[
        "option[0].api: bfl/flux-2-klein-4b cannot serve 1920x1080: 1920x1080 has a side that is not a multiple of 16 px",
        "option[1].overflow: bfl/flux-2-klein-4b cannot serve 1920x1080",
    ]),
    ("option-neither", &["option[0]: has neither api nor selfhost; expected"]),
    ("option-both", &["option[0]: has both api and selfhost; expected one of them"]),
    ("duplicate-option-id", &["option[1].id: \"api\" is empty or used twice; expected a unique id"]),
    // Zero, negative and absurd numbers; NaN and infinity.
    ("horizon-zero", &["horizon_months: 0 is out of range; expected 1 to 60 months"]),
    ("horizon-absurd", &["horizon_months: 600 is out of range; expected 1 to 60 months"]),
    ("start-month-13", &["start_month: 13 is not a calendar month; expected 1 to 12"]),
    ("samples-zero", &["samples: is 0; expected at least 1 sample path"]),
    ("volume-negative", &["demand.monthly: value (-1000) is below 0; expected values >= 0"]),
    ("volume-absurd", &["demand.monthly: value (1000000000000000) is above 1000000000000; expected values <= 1000000000000"]),
    ("volume-nan", &["demand.monthly: must be a finite number (got NaN)"]),
    ("growth-infinite", &["demand.growth: must be a finite number (got inf)"]),
    ("growth-compounds-absurd", &["demand.growth: growth up to 0.5 a month on a volume up to 1.000e9 reaches", "expected demand under 1e15 a month over the whole horizon"]),
    ("dist-param-nan", &["demand.monthly.mean: must be a finite number (got NaN)"]),
    ("normal-can-go-negative", &["demand.monthly: normal can go below 0", "expected values >= 0; use lognormal or gamma"]),
    ("sd-zero", &["demand.growth.sd: sd (0) is not positive; expected sd > 0"]),
    ("median-zero", &["demand.monthly.median: median (0) is not positive; expected median > 0"]),
    ("poisson-mean-huge", &["demand.monthly.mean: mean (10000000000000) is too large for a count"]),
    ("empirical-empty", &["demand.monthly.values: is empty; expected at least one number"]),
    ("burstiness-negative", &["demand.burstiness: -0.5 is out of range; expected a coefficient of variation"]),
    ("seasonality-length", &["demand.seasonality: has 3 values; expected 12"]),
    ("seasonality-negative", &["demand.seasonality[5]: -1 is out of range; expected a multiplier"]),
    ("price-negative", &["option[0].usd_per_hour: -2.69 is not a positive hourly price"]),
    ("price-zero", &["option[0].usd_per_hour: 0 is not a positive hourly price"]),
    ("fee-negative", &[
        "option[0].licence_fee_usd: -10 is negative; expected a fee of 0 or more",
        "option[0].ops_usd_per_hour: -50 is negative; expected a rate of 0 or more",
    ]),
    ("price-factor-negative", &["option[0].price_factor: uniform can go below 0 (min = -0.5); expected values >= 0"]),
    ("fleet-zero-gpus", &["option[0].fleet.gpus: 0 is out of range; expected 1 to 10000 gpus"]),
    ("autoscale-min-above-max", &["option[0].fleet.max: min (5) and max (2) must satisfy 0 <= min <= max"]),
    ("owned-amortise-zero", &[
        "option[0].owned.amortise_months: is no longer used: the purchase is paid up front",
        "option[0].owned.residual_share: value (1.2) is above 1; expected values <= 1",
        "option[0].owned.pue: 0.5 is out of range; expected a power usage effectiveness from 1 to 3",
    ]),
    ("seconds-negative", &["option[0].seconds_at_1mp: -0.5 is out of range; expected seconds"]),
    ("bucket-seconds-length", &["option[0].bucket_seconds: has 2 values; expected one per mix bucket"]),
    ("stage-per-asset-negative", &["stage[0].per_asset: -1 is out of range; expected images per asset"]),
    ("stage-duplicate", &["stage[1].name: \"draft\" is used twice; expected unique stage names"]),
    ("stage-route-unknown", &["option[0].stages.drafts: unknown stage \"drafts\"; nearest: draft"]),
    ("name-with-slash", &["name: \"../escape\" holds a path separator ('/'); it cannot name an output folder"]),
    // Distributions that contradict themselves.
    ("p90-below-median", &["demand.monthly.p90: p90 (900) is below median (1000); expected p90 > median"]),
    ("triangular-min-above-max", &["demand.growth.max: max (0.1) is below min (0.3); expected max > min"]),
    ("pert-mode-outside", &["demand.monthly.mode: mode (5000) is above max (3000); expected min <= mode <= max"]),
    ("uniform-min-equals-max", &["demand.monthly.max: max (1000) equals min (1000); expected max > min"]),
    // The request mix.
    ("shares-not-one", &["mix: shares sum to 0.8; expected 1"]),
    ("share-negative", &[
        "mix[0].share: 1.5 is out of range; expected a share from 0 to 1",
        "mix[1].share: -0.5 is out of range; expected a share from 0 to 1",
    ]),
    ("size-unparsable", &["mix[0].size: \"1024 by 1024\" is not a size; expected WIDTHxHEIGHT"]),
    ("size-zero", &["mix[0].size: \"0x1024\" has a zero side; expected positive width and height"]),
    ("mix-size-and-mp", &["mix[0]: has both size and mp; expected one of them"]),
    ("resolution-over-limit", &["mix[0].size: 4096x4096 is 16.00 MP, over flux-2-klein-4b's limit of 4 MP"]),
    ("steps-out-of-range", &["mix[0].steps: 50 is outside flux-2-klein-4b's range of 4 to 8 steps"]),
    // Correlations.
    ("correlation-not-psd", &["correlations: correlations do not form a valid correlation matrix", "expected correlations that can hold together"]),
    ("correlation-out-of-range", &["correlations[0]: 1.5 is not a correlation; expected -1 to 1"]),
    ("correlation-unknown-input", &["correlations[0]: unknown input \"demand.montly\"; nearest: demand.monthly"]),
    ("correlation-self", &["correlations[0]: correlates demand.monthly with itself; expected two different inputs"]),
    ("correlation-duplicate", &["correlations[1]: correlates demand.growth and demand.monthly again (first in correlations[0])"]),
    // Catalogue ids, with the nearest known id.
    ("unknown-api", &["option[0].api: unknown api offering \"bfl/flux-2-klien-4b\"; nearest: bfl/flux-2-klein-4b"]),
    ("unknown-gpu", &["option[0].gpu: unknown gpu \"h100\"; nearest: h100-sxm"]),
    ("unknown-selfhost", &["option[0].selfhost: unknown self-host profile \"flux-2-klein4b\"; nearest: flux-2-klein-4b"]),
    ("unknown-licence", &["option[0].licence: unknown licence \"apache2\"; nearest: apache-2.0"]),
    ("unknown-offer", &["option[0].offer: unknown offer of h100-sxm \"runpod-comunity\"; nearest: runpod-community"]),
    ("licence-does-not-cover", &["option[0].licence: bfl-flux-2-builder does not cover flux-2-klein-4b; licences that do: apache-2.0"]),
    ("model-does-not-fit", &["option[0].gpu: flux-2-dev needs 90 GB but rtx-4090 has 24 GB; expected a gpu with enough memory"]),
    // Serving: the rule, and the shape of replicas, GPUs and batches.
    ("serving-unknown", &[
        "serving: unknown value \"queued\"; nearest: queue; expected one of queue, fluid",
        "option[0].serving: unknown value \"fuid\"; nearest: fluid; expected one of queue, fluid",
    ]),
    ("serving-shape", &[
        "option[0].gpus_per_replica: 0 is out of range; expected gpus from 1 to 64",
        "option[1].max_batch: 0 is out of range; expected images from 1 to 256",
        "option[2].fleet.gpus: 3 gpus is not a whole number of 2-gpu replicas; expected a multiple of 2",
        "option[3].replicas_per_gpu: is 2 with a replica spanning 2 gpus; expected one of them to be 1",
        "option[4].gpus_per_replica: is 2; a serverless worker is one gpu, expected gpus_per_replica = 1",
        "option[5].gpu: flux-1-dev needs 36.2 GB but 3 replicas need 108.6 GB and h100-sxm has 80 GB; expected a gpu with enough memory",
        "option[6].gpus_per_replica: is 2 but the catalogue's speed for flux-2-klein-4b on h100-sxm is for a replica of 1 gpu(s); expected 1, or seconds_at_1mp measured on 2 gpus",
        "option[7].max_batch: belongs to self-hosted options; an api option has no fleet",
    ]),
    // Control characters echoed back are escaped, so a problem stays on one line (a fuzz find).
    ("control-characters", &[
        "colour\\u{1b}[31m: unknown key \"colour\\u{1b}[31m\"",
        "correlations[0]: unknown input \"demand.mon\\nthly\"; nearest: demand.monthly",
    ]),
    // Several problems at once: every one is listed.
    ("many-problems", &[
        "sampels: unknown key \"sampels\"; nearest: samples",
        "horizon_months: 0 is out of range",
        "start_month: 13 is not a calendar month",
        "demand.monthly.p90: p90 (900) is below median (1000)",
        "demand.growth.max: max (0.1) is below min (0.3)",
        "mix: shares sum to 0.7; expected 1",
        "option[0].api: unknown api offering \"bfl/flux-2-klien-4b\"; nearest: bfl/flux-2-klein-4b",
        "option[1].gpu: unknown gpu \"h100\"; nearest: h100-sxm",
    ]),
    ("many-parser-problems", &[
        "start_month: the string \"june\" is the wrong type",
        "demand.normalise: unknown value \"weekly\"; nearest: week",
        "demand.burstines: unknown key \"burstines\"; nearest: burstiness",
        "option[0].price_factr: unknown key \"price_factr\"; nearest: price_factor",
    ]),
];

/// Catalogue folders (`--catalogue DIR`) and what their messages must say.
const CATALOGUES: &[(&str, &[&str])] = &[
    ("cat-negative-price", &["api/acme/image.toml: price[0].image_usd: -0.01 is negative; expected a price of 0 or more"]),
    ("cat-unknown-key", &["gpu/test-gpu.toml: memory_gib: unknown key \"memory_gib\"; nearest: memory_gb"]),
    ("cat-missing-source", &[
        "licence/open.toml: source: is missing; this key is required",
        "api/acme/image.toml: price[0].source: is empty; expected where the figure comes from",
    ]),
    ("cat-broken-reference", &[
        "selfhost/tiny.toml: speed[0].gpu: unknown gpu \"test-gpu-80\"; nearest: test-gpu",
        "selfhost/tiny.toml: licence: unknown licence \"opne\"; nearest: open",
        "api/acme/image.toml: open_model: unknown self-host profile \"tiny-model\"; nearest: tiny",
    ]),
    ("cat-missing-file-reference", &["licence/open.toml: covers[1]: unknown self-host profile \"huge\""]),
    ("cat-syntax", &["gpu/test-gpu.toml: unclosed array table, expected `]`"]),
    ("cat-unknown-rule", &["api/acme/image.toml: price[0].rule: unknown pricing rule \"per_imag\"", "nearest: per_image"]),
    ("cat-rule-keys", &[
        "price[0].mp_usd: does not belong to rule per_image; its keys are image_usd, input_image_usd",
        "price[0].image_usd: is missing; rule per_image needs it",
    ]),
    ("cat-batch", &[
        "selfhost/tiny.toml: speed[0].gpus_per_replica: 0 is out of range; expected 1 to 64 gpus",
        "selfhost/tiny.toml: batch[0].throughput[1]: 5 is out of range for batch 4; expected a gain above 0 and at most 4 (batch 1 is 1)",
        "selfhost/tiny.toml: batch[1].mp: 1 MP has two batch curves; expected one per resolution",
        "selfhost/tiny.toml: batch[1]: has 2 sizes and 1 throughputs; expected the same number, at least one",
        "selfhost/tiny.toml: batch[1].sizes: [4, 2] is not increasing batch sizes from 1 to 256",
        "selfhost/tiny.toml: batch[2].mp: -1 is not a positive number of megapixels",
        "selfhost/tiny.toml: batch[2].throughput[0]: 0.9 is out of range for batch 1; expected a gain above 0 and at most 1",
        "selfhost/tiny.toml: batch[2].source: is empty; expected where the figure comes from",
    ]),
    ("cat-selfhost-ranges", &[
        "selfhost/tiny.toml: default_steps: steps must satisfy 1 <= min_steps (8) <= default_steps (4)",
        "selfhost/tiny.toml: step_share: 1.5 is not a share; expected a number from 0 to 1",
        "selfhost/tiny.toml: resolution_scaling: fixed + linear + quadratic = 1.2; expected 1",
    ]),
    ("cat-offers", &[
        "gpu/test-gpu.toml: offer[1].id: \"cloud\" is used twice; expected ids unique within the gpu",
        "gpu/test-gpu.toml: offer[1].usd_per_second: is missing; a serverless offer is priced per second",
        "gpu/test-gpu.toml: offer[2].commitment_months: is missing or 0; a reserved offer needs its commitment",
    ]),
    ("cat-bad-date", &["licence/open.toml: as_of: is not a valid date; expected YYYY-MM-DD", "2026-13-45"]),
    ("cat-stray-file", &["extras/extra.toml: not in a catalogue folder; expected api/, gpu/, selfhost/ or licence/"]),
    ("cat-zero-memory", &[
        "gpu/test-gpu.toml: memory_gb: 0 is not a positive number; expected GB > 0",
        "gpu/test-gpu.toml: power_watts: -700 is not a positive number; expected watts > 0",
    ]),
    ("cat-nan", &[
        "api/acme/image.toml: max_mp: NaN is not a positive number of megapixels",
        "selfhost/tiny.toml: speed[0].seconds_at_1mp: inf is not a positive number of seconds",
    ]),
    ("cat-duplicate-price-date", &["api/acme/image.toml: price: two prices dated 2026-01-01; expected one price per date"]),
    ("cat-tile-rule", &[
        "api/acme/image.toml: price[0].tile_px: is 0; expected the side of a tile in pixels",
        "api/acme/image.toml: price[0].tile_usd: is missing; rule per_tile needs tile_usd or tile_step_usd",
        "api/acme/image.toml: price[0].default_steps: does not apply: this per_tile price has no per-step part",
    ]),
    ("cat-speed-setup", &[
        "selfhost/tiny.toml: speed[0].setup: unknown value \"fast\"; expected one of optimised, eager, unstated",
        "gpu/test-gpu.toml: consumer: the boolean true is the wrong type; expected a table",
    ]),
    ("cat-many", &[
        "api/acme/image.toml: price[0].image_usd: -0.01 is negative",
        "gpu/test-gpu.toml: power_wats: unknown key \"power_wats\"; nearest: power_watts",
        "licence/open.toml: monthly_fee_usd: -5 is negative; expected a fee of 0 or more",
        "selfhost/tiny.toml: speed[0].gpu: unknown gpu \"tset-gpu\"; nearest: test-gpu",
    ]),
];

#[test]
fn every_bad_scenario_fixture_is_reported_with_file_key_and_expectation() {
    let failures: Vec<String> = SCENARIOS
        .iter()
        .filter_map(|(name, fragments)| {
            let file = format!("tests/fixtures/bad/{name}.toml");
            let mut want = vec![file.as_str()];
            want.extend_from_slice(fragments);
            check_bad(name, run_scenario(&file, &[]), &want)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_problem_line_names_the_file() {
    // Each problem of a multi-problem file is on its own line, starting with the file's path.
    for name in [
        "many-problems",
        "many-parser-problems",
        "control-characters",
    ] {
        let file = format!("tests/fixtures/bad/{name}.toml");
        let (_, stderr) = run_scenario(&file, &[]);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let expected = SCENARIOS.iter().find(|(n, _)| *n == name).unwrap().1.len();
        assert!(lines.len() >= expected, "{name}: {stderr}");
        for l in lines {
            assert!(
                l.trim_start_matches("error: ").starts_with(&file),
                "{name}: a line without the file: {l}"
            );
        }
    }
}

#[test]
fn every_bad_catalogue_fixture_is_reported_with_file_key_and_expectation() {
    let failures: Vec<String> = CATALOGUES
        .iter()
        .filter_map(|(dir, fragments)| {
            let path = format!("tests/fixtures/bad/{dir}");
            let mut want = vec![path.as_str()];
            want.extend_from_slice(fragments);
            let got = outcome(breakeven().args(["--catalogue", &path, "models"]));
            check_bad(dir, got, &want)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_bad_catalogue_stops_a_run_before_the_scenario() {
    let got = outcome(breakeven().args([
        "--catalogue",
        "tests/fixtures/bad/cat-negative-price",
        "run",
        "scenarios/bench-w1.toml",
    ]));
    if let Some(e) = check_bad(
        "run with a bad catalogue",
        got,
        &["price[0].image_usd: -0.01 is negative"],
    ) {
        panic!("{e}");
    }
}

#[test]
fn every_fixture_is_in_a_table() {
    // A fixture nobody checks is a fixture that can rot.
    let dir = root().join("tests/fixtures/bad");
    let mut unchecked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let known = if path.is_dir() {
            CATALOGUES.iter().any(|(n, _)| *n == name)
        } else {
            SCENARIOS.iter().any(|(n, _)| *n == name)
        };
        if !known {
            unchecked.push(name);
        }
    }
    assert!(
        unchecked.is_empty(),
        "fixtures without a check: {unchecked:?}"
    );
    assert!(SCENARIOS.len() + CATALOGUES.len() >= 40);
}

#[test]
fn a_good_custom_catalogue_loads() {
    // The base the catalogue fixtures break, whole: shows they fail for their one reason.
    let out = breakeven()
        .args(["--catalogue", "fuzz/seeds/catalogue", "models"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------
// Files that are not scenario files.

#[test]
fn an_empty_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.toml", ""),
        ("blank.toml", " \n\t\n# only a comment\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let file = path.to_str().unwrap();
        let got = run_scenario(file, &[]);
        // A comment-only file is not empty text; it is a file with nothing in it.
        let want: &[&str] = if text.is_empty() || text.trim().is_empty() {
            &[
                file,
                "is empty; expected a scenario with horizon_months, [demand] and [[option]]s",
            ]
        } else {
            &[file, "horizon_months: is missing"]
        };
        if let Some(e) = check_bad(name, got, want) {
            panic!("{e}");
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn noise(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=5u64 {
        let path = dir.path().join(format!("garbage-{seed}.toml"));
        let mut bytes = noise(4096, seed);
        bytes[0] = 0xff; // never valid UTF-8
        std::fs::write(&path, &bytes).unwrap();
        let file = path.to_str().unwrap();
        if let Some(e) = check_bad(
            file,
            run_scenario(file, &[]),
            &[file, "is not UTF-8 text; expected a TOML scenario file"],
        ) {
            panic!("{e}");
        }
    }
}

#[test]
fn text_garbage_is_a_syntax_error_and_the_list_stays_short() {
    // Printable noise is valid UTF-8 and reaches the TOML parser, which finds error after
    // error; the report is capped.
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=5u64 {
        let path = dir.path().join(format!("noise-{seed}.toml"));
        let text: String = noise(20_000, seed)
            .into_iter()
            .map(|b| (b' ' + b % 95) as char)
            .collect::<String>()
            .replace('~', "\n");
        std::fs::write(&path, &text).unwrap();
        let file = path.to_str().unwrap();
        let (code, stderr) = run_scenario(file, &[]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_no_panic(&stderr, file);
        assert!(stderr.contains(file), "{stderr}");
        assert!(
            stderr.lines().count() <= 32,
            "{} lines:\n{stderr}",
            stderr.lines().count()
        );
    }
}

#[test]
fn a_folder_where_a_scenario_belongs_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().to_str().unwrap();
    if let Some(e) = check_bad(
        "folder",
        run_scenario(file, &[]),
        &[file, "is a folder; expected a scenario .toml file"],
    ) {
        panic!("{e}");
    }
}

#[cfg(unix)]
#[test]
fn a_device_that_never_ends_is_refused_not_read_into_memory() {
    let got = run_scenario("/dev/zero", &[]);
    if let Some(e) = check_bad(
        "/dev/zero",
        got,
        &["/dev/zero: cannot be read (a character device, not a regular file); expected a scenario .toml file"],
    ) {
        panic!("{e}");
    }
}

#[cfg(unix)]
#[test]
fn a_catalogue_with_a_symlink_loop_loads_once() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    copy_dir(&root().join("fuzz/seeds/catalogue"), &cat);
    std::os::unix::fs::symlink("..", cat.join("gpu/up")).unwrap();
    let out = breakeven()
        .arg("--catalogue")
        .arg(&cat)
        .arg("models")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
fn a_missing_scenario_file_is_bad_input() {
    let got = run_scenario("tests/fixtures/bad/no-such-file.toml", &[]);
    if let Some(e) = check_bad(
        "missing file",
        got,
        &["tests/fixtures/bad/no-such-file.toml: does not exist; expected a scenario .toml file"],
    ) {
        panic!("{e}");
    }
}

#[test]
fn a_catalogue_that_is_not_a_folder_is_bad_input() {
    let empty = tempfile::tempdir().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let not_utf8 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(not_utf8.path().join("gpu")).unwrap();
    std::fs::write(
        not_utf8.path().join("gpu/x.toml"),
        noise(512, 7).into_iter().chain([0xff]).collect::<Vec<u8>>(),
    )
    .unwrap();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "tests/fixtures/bad/no-such-catalogue".into(),
            vec!["no-such-catalogue: does not exist; expected a catalogue folder".into()],
        ),
        (
            file.path().display().to_string(),
            vec![format!(
                "{}: is not a folder; expected a catalogue folder",
                file.path().display()
            )],
        ),
        (
            empty.path().display().to_string(),
            vec![
                "no catalogue files found".into(),
                "expected api/, gpu/, selfhost/ and licence/".into(),
            ],
        ),
        (
            not_utf8.path().display().to_string(),
            vec!["gpu/x.toml: is not UTF-8 text; expected a TOML file".into()],
        ),
    ];
    for (dir, want) in cases {
        let got = outcome(breakeven().args(["--catalogue", &dir, "models"]));
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        if let Some(e) = check_bad(&dir, got, &want) {
            panic!("{e}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Flags and the output folder.

#[test]
fn an_out_folder_under_a_file_is_bad_input_before_any_work() {
    // Running as root, permission bits do not stop a write; a regular file as a parent does.
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = file.path().join("x");
    let mut cmd = breakeven();
    cmd.args(["run", "scenarios/bench-w1.toml", "--samples", "10", "--out"])
        .arg(&out);
    let start = Instant::now();
    let got = outcome(&mut cmd);
    let want = format!(
        "--out: {}: {} is a file, not a folder",
        out.display(),
        file.path().display()
    );
    if let Some(e) = check_bad("out under a file", got, &[&want, "expected a folder"]) {
        panic!("{e}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "refused only after running"
    );
}

#[test]
fn an_out_that_is_a_file_is_bad_input() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = breakeven();
    cmd.args(["run", "scenarios/bench-w1.toml", "--samples", "10", "--out"])
        .arg(file.path());
    let want = format!("{}: exists and is not a folder", file.path().display());
    if let Some(e) = check_bad("out is a file", outcome(&mut cmd), &[&want]) {
        panic!("{e}");
    }
}

#[test]
fn bad_flag_values_are_bad_input() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--samples", "0"],
            "--samples: 0 is not a number of sample paths; expected at least 1",
        ),
        (
            &["--precision", "2"],
            "--precision: 2 is not a relative error; expected a number between 0 and 1",
        ),
        (
            &["--precision", "NaN"],
            "--precision: NaN is not a relative error",
        ),
        (
            &["--threads", "5000"],
            "--threads: 5000 is too many; expected 0 (all cores) to 1024",
        ),
    ];
    for (flags, want) in cases {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = breakeven();
        cmd.args(["run", "scenarios/bench-w1.toml", "--out"])
            .arg(out.path())
            .args(*flags);
        if let Some(e) = check_bad(&flags.join(" "), outcome(&mut cmd), &[want]) {
            panic!("{e}");
        }
    }
}

#[test]
fn absurd_samples_are_refused_with_an_estimate() {
    let mut cmd = breakeven();
    cmd.args(["run", "scenarios/bench-w1.toml", "--samples", "1000000000"]);
    let start = Instant::now();
    let got = outcome(&mut cmd);
    if let Some(e) = check_bad(
        "1e9 samples",
        got,
        &[
            "--samples: 1000000000 is more than 10000000 paths",
            "(about ",
            "on this machine)",
            "expected at most 10000000",
        ],
    ) {
        panic!("{e}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "the estimate took {:?}",
        start.elapsed()
    );
}

#[test]
fn usage_errors_exit_with_code_2() {
    // clap's own errors: exit code 2, a usage line, no panic.
    let cases: &[&[&str]] = &[
        &["run"],
        &["run", "scenarios/bench-w1.toml", "--sample", "10"],
        &["run", "scenarios/bench-w1.toml", "--samples", "ten"],
        &["run", "scenarios/bench-w1.toml", "--samples", "-1"],
        &["runn", "scenarios/bench-w1.toml"],
        &[],
    ];
    for args in cases {
        let (code, stderr) = outcome(breakeven().args(*args));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Usage") || stderr.contains("--help"),
            "{args:?}: {stderr}"
        );
        assert_no_panic(&stderr, &args.join(" "));
    }
    let (code, _) = outcome(breakeven().arg("--help"));
    assert_eq!(code, Some(0));
}

// ------------------------------------------------------------------------------------------
// Huge but legal input.

fn huge_scenario(dir: &Path) -> PathBuf {
    let path = dir.join("huge.toml");
    std::fs::write(
        &path,
        r#"
name = "huge"
horizon_months = 60
samples = 1_000_000

[demand]
monthly = { dist = "lognormal", median = 1_000_000_000, p90 = 1_500_000_000 }
growth = { dist = "normal", mean = 0.01, sd = 0.01 }

[[mix]]
size = "1024x1024"
share = 0.7

[[mix]]
size = "2048x2048"
share = 0.3

[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"

[[option]]
id = "autoscaled"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "autoscaled", min = 0, max = 10000 }
overflow = "bfl/flux-2-klein-4b"

[[option]]
id = "fixed"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = { policy = "fixed", gpus = 200 }
overflow = "bfl/flux-2-klein-4b"
"#,
    )
    .unwrap();
    path
}

#[test]
fn a_billion_images_a_month_for_sixty_months_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = huge_scenario(dir.path());
    let out = dir.path().join("out");
    let mut cmd = breakeven();
    cmd.arg("run")
        .arg(&path)
        .args(["--samples", "8", "--out"])
        .arg(&out);
    let start = Instant::now();
    let (code, stderr) = outcome(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert_no_panic(&stderr, "huge");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
    assert!(out.join("summary.json").is_file());
}

#[test]
fn too_many_samples_in_the_file_are_refused_before_running() {
    // The file asks for a million paths; beyond the cap it is refused, with an estimate.
    let dir = tempfile::tempdir().unwrap();
    let path = huge_scenario(dir.path());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("samples = 1_000_000", "samples = 100_000_000");
    std::fs::write(&path, text).unwrap();
    let (code, stderr) = outcome(breakeven().arg("run").arg(&path));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("huge.toml: samples: 100000000 is more than 10000000 paths"),
        "{stderr}"
    );
    assert!(stderr.contains("(about "), "no estimate: {stderr}");
}

/// The scenario check allows for its inputs' 99.9th percentiles; a path that draws growth
/// further out and drives demand past 10^15 a month stops the run as bad input naming the
/// key, not as an internal error, and writes nothing.
#[test]
fn a_growth_draw_past_the_checked_tail_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tail-growth.toml");
    std::fs::write(
        &path,
        r#"
horizon_months = 24
[demand]
monthly = 100_000_000_000
growth = { dist = "normal", mean = 0.0, sd = 0.159 }
profile = "flat"
arrivals = "fluid"
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut cmd = breakeven();
    cmd.arg("run")
        .arg(&path)
        .args(["--samples", "5000", "--out"])
        .arg(&out);
    let file = path.to_str().unwrap();
    let want = [file, "demand.growth", "expected demand under 1e15 a month"];
    if let Some(e) = check_bad("tail growth", outcome(&mut cmd), &want) {
        panic!("{e}");
    }
    assert!(!out.join("summary.json").exists(), "a summary was written");
}
