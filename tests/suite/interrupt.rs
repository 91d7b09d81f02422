//! Ctrl-C stops every command promptly, in every phase: exit 130, say so, write nothing, and
//! leave the previous results as they were.

use breakeven::engine::{Controls, Engine, RunConfig};
use breakeven::report::full::{self, ReportConfig};
use breakeven::scenario::Scenario;
use breakeven::{Catalogue, Error};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every file in `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Run `args` to completion into `out`, then again with many paths and SIGINT after `wait`.
fn interrupt(args: &[&str], long_samples: &str, wait: Duration) {
    let bin = assert_cmd::cargo::cargo_bin("breakeven");
    let out = tempfile::tempdir().unwrap();
    let ok = Command::new(&bin)
        .args(args)
        // Few paths: the folder needs complete results, not precise ones.
        .args(["--samples", "10", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let before = snapshot(out.path());
    assert!(!before.is_empty(), "{args:?} wrote nothing to compare");
    let child = Command::new(&bin)
        .args(args)
        .args(["--samples", long_samples, "--threads", "2", "--out"])
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(wait);
    let sent = Instant::now();
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let result = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(130), "{args:?}: {stderr}");
    assert!(stderr.contains("interrupted after"), "{args:?}: {stderr}");
    assert!(stderr.contains("nothing written"), "{args:?}: {stderr}");
    assert!(!stdout.contains("NaN"), "{args:?} printed: {stdout}");
    assert!(
        took < Duration::from_secs(15),
        "{args:?} took {took:?} to stop"
    );
    assert_eq!(snapshot(out.path()), before, "{args:?} changed its folder");
}

#[test]
fn ctrl_c_stops_run() {
    interrupt(
        &["run", "scenarios/startup-growth.toml"],
        "300000",
        Duration::from_millis(1000),
    );
}

#[test]
fn ctrl_c_stops_run_before_any_path() {
    interrupt(
        &["run", "scenarios/startup-growth.toml"],
        "300000",
        Duration::from_millis(50),
    );
}

#[test]
fn ctrl_c_stops_sweep() {
    interrupt(
        &["sweep", "scenarios/startup-growth.toml"],
        "200000",
        Duration::from_millis(1000),
    );
}

#[test]
fn ctrl_c_stops_sensitivity() {
    interrupt(
        &["sensitivity", "scenarios/startup-growth.toml"],
        "300000",
        Duration::from_millis(1000),
    );
}

#[test]
fn ctrl_c_stops_plan() {
    interrupt(
        &["plan", "scenarios/bench-w1.toml"],
        "200000",
        Duration::from_millis(1000),
    );
}

#[test]
fn ctrl_c_stops_report() {
    interrupt(
        &["report", "scenarios/startup-growth.toml"],
        "300000",
        Duration::from_millis(1000),
    );
}

/// Each phase of a report stops on Ctrl-C with the interruption, never a partial result: the
/// flag is set as the phase starts, and the phases before it run to the end.
#[test]
fn every_phase_of_a_report_stops_on_ctrl_c() {
    let cat = Catalogue::builtin().unwrap();
    let s = Scenario::load(Path::new("scenarios/startup-growth.toml"), &cat).unwrap();
    let e = Engine::new(s, &cat).unwrap();
    let mut run = RunConfig::new(60, 1);
    run.threads = 2;
    let cfg = ReportConfig { run, against: None };
    for stop_in in ["run", "sweep", "sensitivity", "plan"] {
        let cancel = AtomicBool::new(false);
        let seen = Mutex::new(Vec::new());
        let ctl = Controls {
            cancel: &cancel,
            progress: &|_| {},
        };
        let r = full::build(&e, &cat, &cfg, ctl, &|p| {
            seen.lock().unwrap().push(p.to_string());
            if p == stop_in {
                cancel.store(true, Ordering::SeqCst);
            }
        });
        assert_eq!(
            seen.lock().unwrap().last().map(String::as_str),
            Some(stop_in)
        );
        match r {
            Err(Error::Interrupted { done, total }) => {
                assert!(done < total, "{stop_in}: {done} of {total}")
            }
            Err(other) => panic!("{stop_in}: {other}"),
            Ok(_) => panic!("{stop_in}: a report from an interrupted phase"),
        }
    }
}
