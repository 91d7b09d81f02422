//! Ctrl-C stops a run promptly, says so, and leaves the previous results as they were.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_keeps_the_previous_results_and_leaves_no_partial_file() {
    let bin = assert_cmd::cargo::cargo_bin("breakeven");
    let out = tempfile::tempdir().unwrap();
    // A first, complete run leaves results behind.
    let ok = Command::new(&bin)
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "200",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let before = std::fs::read(out.path().join("summary.json")).unwrap();
    let csv_before = std::fs::read(out.path().join("samples.csv")).unwrap();
    // A long run, interrupted after a moment.
    let child = Command::new(&bin)
        .args([
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "300000",
            "--threads",
            "2",
            "--out",
        ])
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let sent = Instant::now();
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let result = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");
    assert_eq!(
        std::fs::read(out.path().join("summary.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read(out.path().join("samples.csv")).unwrap(),
        csv_before
    );
    let leftovers: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".breakeven-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
