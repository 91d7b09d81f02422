//! `breakeven serve`: the planner's what-if page, served locally with nothing fetched.
//!
//! One page (HTML, CSS, a small script and DejaVu Sans, all compiled in) and a JSON API on an
//! axum router. Every request names a scenario (shipped, or its text), `--set` overrides and a
//! seed ([`whatif::WhatIf`]); the server builds the scenario exactly as the CLI does
//! (`Scenario::parse_with`), runs it as `breakeven run` does on a blocking thread, and answers
//! with the summary `run --json` prints, the table, the verdict and two charts (the same SVGs
//! as the CLI's). Bad input gets the CLI's problems, each with its key, so the page can show it
//! next to its field.
//!
//! Limits, so that one page cannot take the machine: at most [`Settings::max_runs`] runs at
//! once (another gets 503 and the page retries), at most [`Settings::max_paths`] paths a run,
//! request bodies of at most [`Settings::body_limit`] bytes (413 past it). A run whose request
//! is dropped (the page moved on and aborted it) is cancelled between batches of paths.
//!
//! Files: the server reads none (scenarios are compiled in, pasted text is only parsed, a
//! client's file name is only shown in messages) and writes only into its output folder, the
//! last report downloaded, staged and swapped in whole like `breakeven report --out DIR`.

pub mod fields;
pub mod shipped;
pub mod whatif;

use crate::engine::Controls;
use crate::error::Error;
use crate::fleet::QueueCache;
use crate::Catalogue;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use whatif::WhatIf;

/// The page.
const INDEX: &str = include_str!("assets/index.html");
/// Its script.
const SCRIPT: &str = include_str!("assets/app.js");
/// Its style.
const STYLE: &str = include_str!("assets/style.css");

/// Request bodies are refused past this [bytes]: a scenario file is a few kilobytes.
pub const BODY_LIMIT: usize = 256 * 1024;
/// Paths a run simulates at most, by default.
pub const MAX_PATHS: u64 = 2_000;

/// How the server is limited, and where it writes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Paths a run simulates at most.
    pub max_paths: u64,
    /// Runs at once, at most.
    pub max_runs: usize,
    /// Largest request body [bytes].
    pub body_limit: usize,
    /// The output folder: the last report downloaded is kept there.
    pub out: PathBuf,
}

impl Settings {
    /// The defaults, writing into `out`.
    pub fn new(out: PathBuf) -> Settings {
        Settings {
            max_paths: MAX_PATHS,
            max_runs: 2,
            body_limit: BODY_LIMIT,
            out,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    catalogue: Catalogue,
    settings: Settings,
    running: AtomicUsize,
    /// Queue tables solved by earlier updates, kept for the next (see [`Inner::tables`]).
    tables: std::sync::Mutex<Arc<QueueCache>>,
}

/// Tables the server keeps between updates: past this many, the next update starts a fresh
/// cache (a solved table is up to a few hundred kB; a scenario uses one a fleet size and
/// speed step, a few dozen to a couple of hundred).
pub const KEPT_TABLES: usize = 400;

impl Inner {
    /// The queue tables an update's engines keep theirs in: the server's cache, shared by its
    /// updates, so that changing the volume or a price solves no table again. Sharing changes
    /// no figure ([`crate::Engine::with_tables`]).
    fn tables(&self) -> Arc<QueueCache> {
        let mut kept = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() > KEPT_TABLES {
            *kept = Arc::default();
        }
        kept.clone()
    }
}

impl AppState {
    /// A server's state over `catalogue`.
    pub fn new(catalogue: Catalogue, settings: Settings) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                catalogue,
                settings,
                running: AtomicUsize::new(0),
                tables: Default::default(),
            }),
        }
    }
}

/// The routes: the page and its assets, the API, 404 for anything else.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.settings.body_limit;
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/fonts/DejaVuSans.ttf",
            get(|| async { font(dejavu::sans::regular()) }),
        )
        .route(
            "/fonts/DejaVuSans-Bold.ttf",
            get(|| async { font(dejavu::sans::bold()) }),
        )
        .route("/api/scenarios", get(scenarios))
        .route("/api/fields", post(form_fields))
        .route("/api/run", post(run))
        .route("/api/download/scenario", post(download_scenario))
        .route("/api/download/workbook", post(download_workbook))
        .route("/api/download/report", post(download_report))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

fn page(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn font(bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, "font/ttf")], bytes).into_response()
}

/// An answer the page shows instead of a result: what went wrong, and for bad input every
/// problem with its key.
#[derive(Debug, Serialize)]
pub struct Refusal {
    /// The whole message, as the CLI prints it after `error: `.
    pub error: String,
    /// Each input problem: its file, key and message, and the line the CLI prints.
    pub problems: Vec<ProblemOut>,
}

/// One input problem.
#[derive(Debug, Serialize)]
pub struct ProblemOut {
    /// The file (`scenarios/agency.toml`), or empty.
    pub file: String,
    /// The dotted key (`demand.monthly.p90`), or empty.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
    /// `file: key: message`, as the CLI prints it.
    pub text: String,
}

fn refuse(status: StatusCode, error: String) -> Response {
    (
        status,
        Json(Refusal {
            error,
            problems: Vec::new(),
        }),
    )
        .into_response()
}

/// A library error as the page's answer: bad input 422 with its problems, a cancelled run 503,
/// anything else 500 (a bug or a failed write).
fn failed(e: Error) -> Response {
    match e {
        Error::Input(p) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(Refusal {
                error: p.to_string(),
                problems: p
                    .0
                    .iter()
                    .map(|x| ProblemOut {
                        file: x.file.clone(),
                        key: x.key.clone(),
                        message: x.message.clone(),
                        text: x.to_string(),
                    })
                    .collect(),
            }),
        )
            .into_response(),
        Error::Interrupted { .. } => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the run was cancelled".into(),
        ),
        other => refuse(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

/// The request body as a what-if, or why not: too large (413) or not the JSON the page sends.
fn body(state: &AppState, b: Result<Json<WhatIf>, JsonRejection>) -> Result<WhatIf, Bad> {
    match b {
        Ok(Json(w)) => Ok(w),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request is larger than {} KiB; a scenario file is a few kilobytes: expected a smaller scenario",
                state.inner.settings.body_limit / 1024
            ),
        )),
        Err(r) => Err(Bad(r.status(), format!("the request is not a what-if: {}", r.body_text()))),
    }
}

/// A request refused before any work: its status and why.
struct Bad(StatusCode, String);

impl IntoResponse for Bad {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

async fn not_found(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    refuse(
        StatusCode::NOT_FOUND,
        format!(
            "no such page: {}; the what-if page is at /",
            crate::names::escape(&path)
        ),
    )
}

/// One shipped scenario, for the page's list.
#[derive(Debug, Serialize)]
struct Listed {
    name: &'static str,
    file: String,
    description: String,
}

async fn scenarios() -> Json<Vec<Listed>> {
    Json(
        shipped::all()
            .into_iter()
            .map(|s| Listed {
                name: s.stem,
                file: s.file(),
                description: s
                    .text
                    .parse::<toml_edit::DocumentMut>()
                    .ok()
                    .and_then(|d| {
                        d.get("description")
                            .and_then(|v| v.as_str())
                            .map(str::to_string)
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    )
}

/// The form of a scenario and its defaults.
#[derive(Debug, Serialize)]
struct Form {
    file: String,
    fields: Vec<fields::Field>,
    /// The scenario's seed, or the CLI's default.
    seed: u64,
}

async fn form_fields(
    State(state): State<AppState>,
    b: Result<Json<WhatIf>, JsonRejection>,
) -> Response {
    let w = match body(&state, b) {
        Ok(w) => w,
        Err(bad) => return bad.into_response(),
    };
    let src = match w.source() {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let seed = src
        .text
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| d.get("seed").and_then(|v| v.as_integer()))
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(whatif::DEFAULT_SEED);
    Json(Form {
        fields: fields::fields(&src.text, &state.inner.catalogue),
        file: src.file,
        seed,
    })
    .into_response()
}

/// A run slot, given back when the run ends (not when its request goes away).
struct Slot(Arc<Inner>);

impl Slot {
    fn take(inner: &Arc<Inner>) -> Option<Slot> {
        let max = inner.settings.max_runs.max(1);
        inner
            .running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(inner.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Sets the run's cancel flag when the request's future is dropped: the page aborted it.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Run `job` on a blocking thread in a run slot; 503 when every slot is taken.
async fn blocking<T, F>(state: &AppState, job: F) -> Result<T, Response>
where
    T: Send + 'static,
    F: FnOnce(&Inner, Controls<'_>) -> crate::Result<T> + Send + 'static,
{
    let Some(slot) = Slot::take(&state.inner) else {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "busy: {} runs are under way; try again in a moment",
                state.inner.settings.max_runs
            ),
        ));
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop(cancel.clone());
    let task = tokio::task::spawn_blocking(move || {
        let ctl = Controls {
            cancel: &cancel,
            progress: &|_| {},
        };
        job(&slot.0, ctl)
    });
    let out = task.await;
    drop(guard);
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failed(e)),
        Err(e) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: the run failed ({e}); this is a bug in breakeven, please report it with the scenario"))),
    }
}

/// A run's answer: what the page shows, and how long the server took [s].
#[derive(Serialize)]
struct Answer {
    #[serde(flatten)]
    outcome: whatif::Outcome,
    server_seconds: f64,
}

async fn run(State(state): State<AppState>, b: Result<Json<WhatIf>, JsonRejection>) -> Response {
    let w = match body(&state, b) {
        Ok(w) => w,
        Err(bad) => return bad.into_response(),
    };
    let out = blocking(&state, move |inner, ctl| {
        let start = std::time::Instant::now();
        let (e, cfg) =
            w.prepare_with(&inner.catalogue, inner.settings.max_paths, inner.tables())?;
        let outcome = whatif::compute(&e, &inner.catalogue, &cfg, ctl)?;
        Ok(Answer {
            outcome,
            server_seconds: start.elapsed().as_secs_f64(),
        })
    })
    .await;
    match out {
        Ok(o) => Json(o).into_response(),
        Err(r) => r,
    }
}

fn attachment(bytes: Vec<u8>, kind: &'static str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn download_scenario(
    State(state): State<AppState>,
    b: Result<Json<WhatIf>, JsonRejection>,
) -> Response {
    let w = match body(&state, b) {
        Ok(w) => w,
        Err(bad) => return bad.into_response(),
    };
    match w.scenario(&state.inner.catalogue) {
        // The effective scenario: the text `run` records in summary.json as scenario_toml.
        Ok(s) => attachment(
            s.text.into_bytes(),
            "application/toml; charset=utf-8",
            format!("{}.toml", crate::report::views::file_stem(&s.name)),
        ),
        Err(e) => failed(e),
    }
}

async fn download_workbook(
    State(state): State<AppState>,
    b: Result<Json<WhatIf>, JsonRejection>,
) -> Response {
    let w = match body(&state, b) {
        Ok(w) => w,
        Err(bad) => return bad.into_response(),
    };
    let out = blocking(&state, move |inner, ctl| {
        let (e, cfg) =
            w.prepare_with(&inner.catalogue, inner.settings.max_paths, inner.tables())?;
        let (_, summary) = whatif::summarise(&e, &inner.catalogue, &cfg, ctl)?;
        whatif::workbook(&e, &inner.catalogue, &summary)
    })
    .await;
    match out {
        Ok(bytes) => attachment(bytes, XLSX, "summary.xlsx".into()),
        Err(r) => r,
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn download_report(
    State(state): State<AppState>,
    b: Result<Json<WhatIf>, JsonRejection>,
) -> Response {
    let w = match body(&state, b) {
        Ok(w) => w,
        Err(bad) => return bad.into_response(),
    };
    let out = blocking(&state, move |inner, ctl| {
        let (e, run) =
            w.prepare_with(&inner.catalogue, inner.settings.max_paths, inner.tables())?;
        let cfg = crate::report::full::ReportConfig { run, against: None };
        let report = crate::report::full::build(&e, &inner.catalogue, &cfg, ctl, &|_| {})?;
        let page = report.page(&e, &inner.catalogue)?;
        let book = report.workbook(&e, &inner.catalogue)?;
        // Kept in the output folder as `breakeven report --out DIR` keeps it: staged, then
        // swapped in whole.
        let mut staged = crate::report::output::Staged::begin(&inner.settings.out, "report")?;
        staged.write("report.html", page.as_bytes())?;
        staged.write("report.xlsx", &book)?;
        staged.commit()?;
        Ok(page)
    })
    .await;
    match out {
        Ok(page) => attachment(
            page.into_bytes(),
            "text/html; charset=utf-8",
            "report.html".into(),
        ),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    /// A future run to its end on a runtime of its own (two workers, so a blocking run and its
    /// watcher both progress).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_run_past_the_cap_is_told_to_wait() {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Settings::new(dir.path().to_path_buf());
            s.max_runs = 1;
            let state = AppState::new(Catalogue::builtin().unwrap(), s);
            let held = Slot::take(&state.inner).expect("a free slot");
            assert!(Slot::take(&state.inner).is_none());
            let ask = || {
                axum::http::Request::post("/api/run")
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"scenario":"closed-form"}"#))
                    .unwrap()
            };
            let res = router(state.clone()).oneshot(ask()).await.unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            drop(held);
            let res = router(state.clone()).oneshot(ask()).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            // The slot came back when the run ended.
            assert_eq!(state.inner.running.load(Ordering::SeqCst), 0);
        })
    }

    #[test]
    fn a_dropped_request_cancels_its_run() {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let state = AppState::new(
                Catalogue::builtin().unwrap(),
                Settings::new(dir.path().to_path_buf()),
            );
            // 2,000 paths of 60 months with eight options: half a minute of work or more, where a
            // batch of 100 paths takes a few seconds.
            let ask = axum::http::Request::post("/api/run")
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"scenario":"startup-growth","sets":["horizon_months=60"]}"#,
                ))
                .unwrap();
            let call = tokio::spawn(router(state.clone()).oneshot(ask));
            let pause = |ms| {
                tokio::task::spawn_blocking(move || {
                    std::thread::sleep(std::time::Duration::from_millis(ms))
                })
            };
            while state.inner.running.load(Ordering::SeqCst) == 0 {
                pause(10).await.unwrap();
            }
            // The page moved on: its request is dropped, and the run stops within a batch.
            call.abort();
            assert!(call.await.unwrap_err().is_cancelled());
            let mut waited = 0;
            while state.inner.running.load(Ordering::SeqCst) > 0 {
                assert!(
                    waited < 10_000,
                    "the run went on after its request was dropped"
                );
                pause(20).await.unwrap();
                waited += 20;
            }
        })
    }
}
