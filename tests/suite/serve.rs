//! `breakeven serve`'s HTTP API, called on the router without a socket: the page's numbers are
//! `breakeven run`'s, its messages are the CLI's, and the server keeps to its limits and its
//! output folder.

use assert_cmd::Command;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use breakeven::serve::{router, shipped, AppState, Settings};
use breakeven::Catalogue;
use serde_json::{json, Value};
use std::path::Path;
use tower::ServiceExt;

/// A future run to its end on a runtime of its own (tokio without its macros, as the binary has it).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(f)
}

fn app(out: &Path, max_paths: u64) -> axum::Router {
    let mut s = Settings::new(out.to_path_buf());
    s.max_paths = max_paths;
    router(AppState::new(Catalogue::builtin().unwrap(), s))
}

/// One request: status, content type, body.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, kind, bytes.to_vec())
}

async fn post(app: &axum::Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    let (status, _, bytes) = call(app, "POST", uri, Some(serde_json::to_vec(body).unwrap())).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

fn breakeven() -> Command {
    let mut c = Command::cargo_bin("breakeven").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// `breakeven run --json` on `file` (relative to the repository) with these flags.
fn run_json(file: &str, samples: u64, seed: &str, sets: &[&str]) -> Value {
    let out = tempfile::tempdir().unwrap();
    let mut c = breakeven();
    c.args([
        "run",
        file,
        "--json",
        "-q",
        "--no-charts",
        "--samples",
        &samples.to_string(),
        "--seed",
        seed,
        "--out",
    ])
    .arg(out.path());
    for s in sets {
        c.args(["--set", s]);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The CLI's error lines for a run, without `error: `.
fn cli_problems(dir: &Path, file: &str, args: &[&str]) -> String {
    let mut c = breakeven();
    c.current_dir(dir)
        .args(["run", file, "-q", "--no-charts", "--out"])
        .arg(dir.join("out"))
        .args(args);
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8(o.stderr).unwrap();
    err.strip_prefix("error: ")
        .unwrap_or(&err)
        .split("\n\n")
        .next()
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn the_pages_numbers_are_runs_for_the_same_scenario_and_seed() {
    block_on(async {
        let out = tempfile::tempdir().unwrap();
        // (scenario, paths, seed, overrides): the page caps paths at the server's most, so the
        // CLI runs with --samples at that cap.
        let cases: [(&str, u64, &str, &[&str]); 3] = [
            // closed-form asks for 200 paths: the page runs what the scenario asks, up to the cap.
            ("closed-form", 200, "42", &["demand.monthly=150k"]),
            (
                "bench-w1",
                300,
                "7",
                &["demand.monthly.median=800k", "option.hybrid.fleet.gpus=3"],
            ),
            (
                "startup-growth",
                200,
                "3",
                &[
                    "demand.growth.mean=0.1",
                    "option.h100-plus-api.payment=\"spot\"",
                ],
            ),
        ];
        for (name, paths, seed, sets) in cases {
            let app = app(
                out.path(),
                if name == "closed-form" { 2_000 } else { paths },
            );
            let (status, page) = post(
                &app,
                "/api/run",
                &json!({ "scenario": name, "sets": sets, "seed": seed }),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{name}: {page}");
            let cli = run_json(&format!("scenarios/{name}.toml"), paths, seed, sets);
            let summary = &page["summary"];
            // Each option's mean and quantiles, and the verdict, by name first (for a readable
            // failure), then the whole summary: provenance, effective scenario and all.
            for (a, b) in summary["options"]
                .as_array()
                .unwrap()
                .iter()
                .zip(cli["options"].as_array().unwrap())
            {
                assert_eq!(a["id"], b["id"]);
                for k in ["mean", "p5", "p50", "p95"] {
                    assert_eq!(
                        a["total_cost_usd"][k], b["total_cost_usd"][k],
                        "{name} {} {k}",
                        a["id"]
                    );
                    assert!(
                        a["total_cost_usd"][k].is_number(),
                        "{name}: {k} of {}",
                        a["id"]
                    );
                }
            }
            assert_eq!(summary["verdict"], cli["verdict"], "{name}");
            assert!(summary["verdict"]["winner"].is_string(), "{name}");
            assert_eq!(summary, &cli, "{name}");
            assert_eq!(summary["samples"], paths);
            assert!(
                page["verdict"].as_str().unwrap().contains(" beats "),
                "{name}: {}",
                page["verdict"]
            );
            assert!(page["table"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name}: {paths} paths")));
        }
    })
}

#[test]
fn a_pasted_scenario_runs_as_its_file_does() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let text = shipped::find("closed-form").unwrap().text;
        std::fs::write(dir.path().join("mine.toml"), text).unwrap();
        let app = app(dir.path(), 2_000);
        let (status, page) = post(
            &app,
            "/api/run",
            &json!({ "text": text, "file": "mine.toml", "sets": ["demand.monthly=150k"] }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut c = breakeven();
        c.current_dir(dir.path()).args([
            "run",
            "mine.toml",
            "--json",
            "-q",
            "--no-charts",
            "--samples",
            "200",
            "--set",
            "demand.monthly=150k",
            "--out",
            "o",
        ]);
        let cli: Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
        assert_eq!(page["summary"], cli);
        assert_eq!(cli["scenario_file"], "mine.toml");
    })
}

#[test]
fn bad_input_gets_the_clis_messages_with_their_keys() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 200);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        // (scenario, overrides, the key the page shows the message at)
        let cases: [(&str, &[&str], &str); 6] = [
            ("agency", &["demand.monthly.p90=100"], "demand.monthly"),
            (
                "agency",
                &["demand.monthly.mediam=100"],
                "demand.monthly.mediam",
            ),
            (
                "startup-growth",
                &["option.h100-plus-api.fleet.gpus=two"],
                "option.h100-plus-api.fleet.gpus",
            ),
            (
                "startup-growth",
                &["option.h100-plus.fleet.gpus=2"],
                "option.h100-plus.fleet.gpus",
            ),
            (
                "startup-growth",
                &[
                    "option.h100-plus-api.payment=\"monthly\"",
                    "mix[0].share=0.5",
                ],
                "option",
            ),
            ("closed-form", &["horizon_months=0"], "horizon_months"),
        ];
        for (name, sets, key) in cases {
            let (status, page) =
                post(&app, "/api/run", &json!({ "scenario": name, "sets": sets })).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name} {sets:?}: {page}"
            );
            let mut args = Vec::new();
            for s in sets {
                args.extend(["--set", s]);
            }
            let cli = cli_problems(repo, &format!("scenarios/{name}.toml"), &args);
            let lines: Vec<&str> = page["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["text"].as_str().unwrap())
                .collect();
            assert_eq!(lines.join("\n"), cli, "{name} {sets:?}");
            assert_eq!(page["error"].as_str().unwrap(), cli);
            assert!(
                // At the key, or naming the override it came from (options are `option[2]` in the
                // file's own terms): either way the page finds the field.
                page["problems"].as_array().unwrap().iter().any(|p| p["key"]
                    .as_str()
                    .unwrap()
                    .starts_with(key)
                    || p["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("--set {key}"))),
                "{name} {sets:?}: no problem at {key}: {page}"
            );
        }
        // A seed and a --set that do not parse: clap's words, at their keys.
        let (status, page) = post(
            &app,
            "/api/run",
            &json!({ "scenario": "closed-form", "seed": "abc", "sets": ["demand.monthly"] }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let p = page["problems"].as_array().unwrap();
        let seed = p
            .iter()
            .find(|p| p["message"].as_str().unwrap().contains("'--seed <SEED>'"))
            .expect("the seed's problem");
        let cli = cli_problems(repo, "scenarios/closed-form.toml", &["--seed", "abc"]);
        assert_eq!(seed["text"].as_str().unwrap(), cli.lines().next().unwrap());
        let set = p
            .iter()
            .find(|p| {
                p["message"]
                    .as_str()
                    .unwrap()
                    .contains("'--set <KEY=VALUE>'")
            })
            .expect("the --set's problem");
        let cli = cli_problems(
            repo,
            "scenarios/closed-form.toml",
            &["--set", "demand.monthly"],
        );
        assert_eq!(set["text"].as_str().unwrap(), cli.lines().next().unwrap());
        // A pasted file's problems name it as the CLI names the file.
        std::fs::write(
            dir.path().join("mine.toml"),
            "horizon_months = 12\n[demand]\nmonthly = 5\n",
        )
        .unwrap();
        let (status, page) = post(
            &app,
            "/api/run",
            &json!({ "text": "horizon_months = 12\n[demand]\nmonthly = 5\n", "file": "mine.toml" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            page["error"].as_str().unwrap(),
            cli_problems(dir.path(), "mine.toml", &[])
        );
    })
}

#[test]
fn every_field_is_a_set_key_the_cli_takes() {
    block_on(async {
        let cat = Catalogue::builtin().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 100);
        for s in shipped::all() {
            let (status, form) = post(&app, "/api/fields", &json!({ "scenario": s.stem })).await;
            assert_eq!(status, StatusCode::OK);
            let fields = form["fields"].as_array().unwrap();
            assert!(
                fields
                    .iter()
                    .any(|f| f["key"] == "demand.monthly.median" || f["key"] == "demand.monthly"),
                "{}",
                s.stem
            );
            for f in fields {
                let (key, value) = (f["key"].as_str().unwrap(), f["value"].as_str().unwrap());
                if value.is_empty() {
                    continue;
                }
                let value = if f["quoted"] == true {
                    format!("{value:?}")
                } else {
                    value.to_string()
                };
                let set = format!("{key}={value}").parse().unwrap();
                // Setting a field to the value it shows changes nothing: same scenario as the file.
                let with = breakeven::scenario::Scenario::parse_with(
                    s.text,
                    &s.file(),
                    s.stem,
                    &cat,
                    &[set],
                )
                .unwrap_or_else(|e| panic!("{}: {key}={value}: {e}", s.stem));
                let plain =
                    breakeven::scenario::Scenario::parse(s.text, &s.file(), s.stem, &cat).unwrap();
                assert_eq!(
                    format!("{:?}", with.options),
                    format!("{:?}", plain.options),
                    "{}: {key}",
                    s.stem
                );
                assert_eq!(
                    format!("{:?}", with.demand),
                    format!("{:?}", plain.demand),
                    "{}: {key}",
                    s.stem
                );
            }
        }
    })
}

#[test]
fn downloads_are_the_clis_files() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let app = app(&out, 2_000);
        let ask =
            json!({ "scenario": "closed-form", "sets": ["demand.monthly=150k"], "seed": "9" });
        let cli = run_json(
            "scenarios/closed-form.toml",
            200,
            "9",
            &["demand.monthly=150k"],
        );
        let (status, kind, toml) = call(
            &app,
            "POST",
            "/api/download/scenario",
            Some(serde_json::to_vec(&ask).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("application/toml"));
        assert_eq!(
            String::from_utf8(toml).unwrap(),
            cli["scenario_toml"].as_str().unwrap()
        );

        let (status, kind, book) = call(
            &app,
            "POST",
            "/api/download/workbook",
            Some(serde_json::to_vec(&ask).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.contains("spreadsheetml"));
        let cli_dir = dir.path().join("cli");
        breakeven()
            .args([
                "run",
                "scenarios/closed-form.toml",
                "-q",
                "--no-charts",
                "--samples",
                "200",
                "--seed",
                "9",
                "--set",
                "demand.monthly=150k",
                "--out",
            ])
            .arg(&cli_dir)
            .assert()
            .success();
        assert_eq!(
            sheets(&book),
            sheets(&std::fs::read(cli_dir.join("summary.xlsx")).unwrap())
        );

        let (status, kind, page) = call(
            &app,
            "POST",
            "/api/download/report",
            Some(serde_json::to_vec(&ask).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&page));
        assert!(kind.starts_with("text/html"));
        let report_dir = dir.path().join("report");
        breakeven()
            .args([
                "report",
                "scenarios/closed-form.toml",
                "-q",
                "--samples",
                "200",
                "--seed",
                "9",
                "--set",
                "demand.monthly=150k",
                "--out",
            ])
            .arg(&report_dir)
            .assert()
            .success();
        let cli_page = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
        assert_eq!(String::from_utf8(page.clone()).unwrap(), cli_page);
        // The server kept it in its output folder, and wrote nothing anywhere else.
        assert_eq!(std::fs::read(out.join("report.html")).unwrap(), page);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["cli", "out", "report"]);
    })
}

/// Every sheet's cells, as text.
fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            (
                name,
                range
                    .rows()
                    .map(|r| r.iter().map(|c| c.to_string()).collect())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn oversize_bodies_are_refused_with_a_clear_413() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 100);
        let big = json!({ "text": "#".repeat(300 * 1024) });
        for uri in [
            "/api/run",
            "/api/fields",
            "/api/download/scenario",
            "/api/download/report",
            "/api/download/workbook",
        ] {
            let (status, page) = post(&app, uri, &big).await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
            assert!(
                page["error"]
                    .as_str()
                    .unwrap()
                    .contains("larger than 256 KiB"),
                "{uri}: {page}"
            );
        }
        // Just under the limit is read (and then judged as a scenario).
        let (status, page) = post(
            &app,
            "/api/fields",
            &json!({ "text": "#".repeat(200 * 1024) }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
    })
}

#[test]
fn unknown_routes_are_404_and_no_client_path_reaches_the_disk() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&dir.path().join("out"), 100);
        for uri in [
            "/nope",
            "/api/nope",
            "/../Cargo.toml",
            "/scenarios/agency.toml",
            "/src/serve/assets/app.js",
            "/fonts/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
        ] {
            let (status, _, body) = call(&app, "GET", uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert!(
                String::from_utf8_lossy(&body).contains("no such page"),
                "{uri}"
            );
        }
        // The page and its assets are compiled in.
        for (uri, kind) in [
            ("/", "text/html"),
            ("/app.js", "text/javascript"),
            ("/style.css", "text/css"),
            ("/fonts/DejaVuSans.ttf", "font/ttf"),
        ] {
            let (status, k, body) = call(&app, "GET", uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(k.starts_with(kind), "{uri}: {k}");
            assert!(!body.is_empty());
        }
        // A shipped scenario is a name, not a path.
        let secret = dir.path().join("secret.toml");
        std::fs::write(&secret, shipped::find("closed-form").unwrap().text).unwrap();
        for name in [
            "../Cargo",
            "../scenarios/agency",
            secret.to_str().unwrap(),
            secret.with_extension("").to_str().unwrap(),
        ] {
            let (status, page) = post(&app, "/api/run", &json!({ "scenario": name })).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
            assert!(
                page["error"]
                    .as_str()
                    .unwrap()
                    .contains("unknown shipped scenario"),
                "{page}"
            );
        }
        // A file name is only shown: the text is what runs, and the file is never read.
        let (status, page) = post(
            &app,
            "/api/run",
            &json!({ "text": "", "file": secret.to_str().unwrap() }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
        page["error"],
        "secret.toml: is empty; expected a scenario with horizon_months, [demand] and [[option]]s"
    );
        // No other way in: fields the page does not send are refused.
        let (status, page) = post(
            &app,
            "/api/run",
            &json!({ "scenario": "closed-form", "path": "/etc/passwd" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(
            page["error"]
                .as_str()
                .unwrap()
                .contains("unknown field `path`"),
            "{page}"
        );
        // Nothing was written: the output folder is made only by a report download.
        assert!(!dir.path().join("out").exists());
    })
}
