//! The output folder changes as a whole (issue 16): kill -9 at random moments of `run`,
//! `sweep` and `report` leaves the folder holding the complete previous results or the
//! complete new ones, never a mix; two commands on one folder both finish and leave complete
//! results; a full disk is exit 1 with the previous results intact; what killed runs leave is
//! cleaned by the next command; and an output folder that cannot be one is bad input.
//!
//! Kills land where it matters because `BREAKEVEN_FAULT_PAUSE_MS` makes each step of a commit
//! (locked, staged, swapped) last that long (src/report/output.rs); the delays before each
//! kill are drawn over the whole command, pauses included, from a fixed seed.
//!
//! What they cost: about 20 s on this project's 2-core machine (the kill trials take most),
//! the full-disk test a second; tests needing root (a tmpfs mount) say so and skip without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
name = "faults"
horizon_months = 3
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

const MANIFEST: &str = breakeven::report::output::MANIFEST;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("breakeven")
}

fn scenario(dir: &Path) -> PathBuf {
    let p = dir.join("faults.toml");
    std::fs::write(&p, SCENARIO).unwrap();
    p
}

/// `breakeven <args> SCENARIO --seed S --out OUT`, not yet started.
fn command(args: &[&str], scenario: &Path, seed: u64, out: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg(args[0])
        .arg(scenario)
        .args(&args[1..])
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_ok(mut c: Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file in `dir` and its bytes, the manifest aside (its generation counts commits).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name != MANIFEST {
            out.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// The manifest lists exactly the files the folder holds, each with its size.
fn manifest_agrees(dir: &Path) -> Result<(), String> {
    let m = breakeven::report::output::read_manifest(dir)
        .map_err(|e| e.to_string())?
        .ok_or("no manifest")?;
    let files = snapshot(dir);
    let listed: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    let held: Vec<&str> = files.keys().map(String::as_str).collect();
    if listed != held {
        return Err(format!("manifest lists {listed:?}, folder holds {held:?}"));
    }
    for f in &m.files {
        if files[&f.name].len() as u64 != f.bytes {
            return Err(format!(
                "{} has {} bytes, manifest says {}",
                f.name,
                files[&f.name].len(),
                f.bytes
            ));
        }
    }
    Ok(())
}

/// What lies next to `out` in its parent, besides `out` itself.
fn neighbours(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != &name && n.contains(&name) && n.contains(".breakeven-"))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A deterministic generator for the kill delays (xorshift64*).
struct Gen(u64);
impl Gen {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Pause at each commit step, so that random kills land in commits often.
const PAUSE_MS: &str = "40";

/// Kill `args` with SIGKILL at `trials` random moments after a complete run with seed 1; the
/// folder must hold seed 1's complete results or seed 2's, and both must happen.
fn kill_trials(args: &[&str], trials: usize, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    // The complete old and new results, and how long a paused command takes.
    let old_dir = tmp.path().join("old");
    run_ok(command(args, &s, 1, &old_dir));
    let new_dir = tmp.path().join("new");
    let start = Instant::now();
    let mut c = command(args, &s, 2, &new_dir);
    c.env("BREAKEVEN_FAULT_PAUSE_MS", PAUSE_MS);
    run_ok(c);
    let took = start.elapsed();
    let (old, new) = (snapshot(&old_dir), snapshot(&new_dir));
    assert_ne!(old, new, "{args:?}: seeds 1 and 2 gave the same files");
    let mut g = Gen(seed);
    let (mut saw_old, mut saw_new) = (0, 0);
    for t in 0..trials {
        let out = tmp.path().join(format!("t{t}"));
        copy_dir(&old_dir, &out);
        let mut c = command(args, &s, 2, &out);
        c.env("BREAKEVEN_FAULT_PAUSE_MS", PAUSE_MS);
        let mut child = c.spawn().unwrap();
        let wait = took.mul_f64(1.15 * g.uniform());
        std::thread::sleep(wait);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = snapshot(&out);
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
        } else {
            let mixed: Vec<&String> = now
                .iter()
                .filter(|(k, v)| old.get(*k) != Some(v))
                .map(|(k, _)| k)
                .collect();
            panic!("{args:?} killed after {wait:?}: the folder is a mix; files not from the old run: {mixed:?}; holds {:?}", now.keys().collect::<Vec<_>>());
        }
        manifest_agrees(&out).unwrap_or_else(|e| panic!("{args:?} killed after {wait:?}: {e}"));
        // The next command cleans what the killed one left and completes.
        run_ok(command(args, &s, 2, &out));
        assert_eq!(snapshot(&out), new, "{args:?}: the run after a kill");
        assert_eq!(
            neighbours(&out),
            Vec::<String>::new(),
            "{args:?}: left behind"
        );
    }
    assert!(
        saw_old > 0 && saw_new > 0,
        "{args:?}: {saw_old} kills kept the old folder and {saw_new} gave the new one; both should happen"
    );
}

#[test]
fn kill_9_during_run_leaves_the_old_or_the_new_results_never_a_mix() {
    kill_trials(&["run"], 14, 0x5EED_0001);
}

#[test]
fn kill_9_during_sweep_leaves_the_old_or_the_new_results_never_a_mix() {
    kill_trials(&["sweep", "--points", "3"], 12, 0x5EED_0002);
}

#[test]
fn kill_9_during_report_leaves_the_old_or_the_new_results_never_a_mix() {
    kill_trials(&["report", "--samples", "10"], 8, 0x5EED_0003);
}

#[test]
fn two_commands_on_one_folder_both_finish_and_leave_complete_results() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let refs: Vec<BTreeMap<String, Vec<u8>>> = (1..=2)
        .map(|seed| {
            let d = tmp.path().join(format!("ref{seed}"));
            run_ok(command(&["run"], &s, seed, &d));
            snapshot(&d)
        })
        .collect();
    let sweep_ref = {
        let d = tmp.path().join("ref-sweep");
        run_ok(command(&["sweep", "--points", "3"], &s, 1, &d));
        snapshot(&d)
    };
    for round in 0..4 {
        // Two runs with different seeds into one folder, their commits made slow so that
        // they overlap: the folder ends with one complete run.
        let out = tmp.path().join(format!("both{round}"));
        let children: Vec<_> = (1..=2)
            .map(|seed| {
                let mut c = command(&["run"], &s, seed, &out);
                c.env("BREAKEVEN_FAULT_PAUSE_MS", "60");
                c.spawn().unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let now = snapshot(&out);
        assert!(
            now == refs[0] || now == refs[1],
            "round {round}: a mix of two runs: {:?}",
            now.keys().collect::<Vec<_>>()
        );
        manifest_agrees(&out).unwrap();
        assert_eq!(neighbours(&out), Vec::<String>::new());
        // A run and a sweep into one folder: both results, each complete.
        let out = tmp.path().join(format!("mixed{round}"));
        let a = command(&["run"], &s, 1, &out).spawn().unwrap();
        let b = command(&["sweep", "--points", "3"], &s, 1, &out)
            .spawn()
            .unwrap();
        for c in [a, b] {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let mut want = refs[0].clone();
        want.extend(sweep_ref.clone());
        assert_eq!(
            snapshot(&out),
            want,
            "round {round}: run and sweep together"
        );
        manifest_agrees(&out).unwrap();
    }
}

#[test]
fn a_run_replaces_its_own_files_as_a_set_and_keeps_other_commands_files() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let out = tmp.path().join("out");
    run_ok(command(&["sweep", "--points", "3"], &s, 1, &out));
    run_ok(command(&["run"], &s, 1, &out));
    assert!(out.join("fleet-h100.png").is_file());
    // The option is renamed: the new run has no chart for h100, and the old one goes with
    // the rest of the old run, while the sweep's files stay.
    std::fs::write(&s, SCENARIO.replace("id = \"h100\"", "id = \"h100-b\"")).unwrap();
    run_ok(command(&["run"], &s, 1, &out));
    assert!(
        !out.join("fleet-h100.png").exists(),
        "the old run's chart stayed"
    );
    assert!(out.join("fleet-h100-b.png").is_file());
    assert!(out.join("sweep.json").is_file() && out.join("breakeven.png").is_file());
    manifest_agrees(&out).unwrap();
    let m = breakeven::report::output::read_manifest(&out)
        .unwrap()
        .unwrap();
    assert_eq!(m.generation, 3);
    assert_eq!(m.entry("sweep.json").unwrap().owner, "sweep");
    assert_eq!(m.entry("summary.json").unwrap().owner, "run");
}

#[test]
fn what_killed_commands_left_is_cleaned_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let out = tmp.path().join("out");
    // An older version's folder: results and a temporary file of a killed per-file write.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("summary.json"), "{}").unwrap();
    std::fs::write(out.join(".breakeven-Xy12ab.tmp"), "half a file").unwrap();
    // A staging folder of a run killed mid-way, whose lock nobody holds.
    let stale = tmp.path().join(".out.breakeven-stage-4000000-0");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join(".breakeven-stage.lock"), "").unwrap();
    std::fs::write(stale.join("summary.json"), "partial").unwrap();
    run_ok(command(&["run"], &s, 1, &out));
    assert!(!out.join(".breakeven-Xy12ab.tmp").exists());
    assert!(!stale.exists());
    assert_eq!(neighbours(&out), Vec::<String>::new());
    manifest_agrees(&out).unwrap();
}

// ------------------------------------------------------------------------------------------
// The output folder's exit codes.

fn outcome(c: &mut Command) -> (Option<i32>, String) {
    let o = c.output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn output_folders_that_cannot_be_written_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "years of work").unwrap();
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::from("/proc/breakeven-out"), "cannot be written"),
        (
            PathBuf::from("/proc/self/breakeven-out"),
            "cannot be written",
        ),
        (PathBuf::from("/proc"), "is a mount point"),
        (PathBuf::from("/"), "is the root folder"),
        (
            mine.clone(),
            "holds thesis.tex, which breakeven did not write",
        ),
        (PathBuf::from("."), "is the current folder or holds it"),
    ];
    if Path::new("/sys/kernel").is_dir() {
        cases.push((
            PathBuf::from("/sys/kernel/breakeven-out"),
            "cannot be written",
        ));
    }
    for (out, want) in &cases {
        for cmd in [
            &["run"][..],
            &["sweep", "--points", "3"],
            &["report", "--samples", "5"],
            &["plan", "--screen-paths", "5"],
            &["sensitivity"],
        ] {
            let mut c = command(cmd, &s, 1, out);
            c.current_dir(tmp.path());
            let (code, stderr) = outcome(&mut c);
            assert_eq!(code, Some(2), "{cmd:?} --out {}: {stderr}", out.display());
            assert!(
                stderr.contains(want),
                "{cmd:?} --out {}: {stderr}",
                out.display()
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("thesis.tex")).unwrap(),
        "years of work"
    );
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
}

/// A tmpfs mounted for a test, unmounted when dropped; `None` when this process may not mount
/// (not root, or no permission in this container).
struct Mount(tempfile::TempDir);

impl Mount {
    fn tmpfs(options: &str) -> Option<Mount> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Mount(dir))
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_read_only_output_folder_is_bad_input() {
    let Some(mnt) = Mount::tmpfs("ro,size=1m") else {
        eprintln!("skipped: a read-only output folder needs root to mount a tmpfs");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    for (out, want) in [
        (mnt.path().join("out"), "Read-only file system"),
        (mnt.path().to_path_buf(), "is a mount point"),
    ] {
        let (code, stderr) = outcome(&mut command(&["run"], &s, 1, &out));
        assert_eq!(code, Some(2), "{}: {stderr}", out.display());
        assert!(stderr.contains(want), "{}: {stderr}", out.display());
    }
}

#[test]
fn a_full_disk_is_exit_1_and_keeps_the_previous_results() {
    let Some(mnt) = Mount::tmpfs("size=2m") else {
        eprintln!("skipped: the full-disk test needs root to mount a small tmpfs");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let out = mnt.path().join("out");
    run_ok(command(&["run"], &s, 1, &out));
    let before = snapshot(&out);
    let new_dir = tmp.path().join("new");
    run_ok(command(&["run"], &s, 2, &new_dir));
    // Fill the disk, then free a little less than the new run needs, so that it runs out
    // part-way through writing its files.
    let filler = mnt.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let need: u64 = snapshot(&new_dir).values().map(|v| v.len() as u64).sum();
    let full = std::fs::metadata(&filler).unwrap().len();
    for free in [need / 2, need / 8, 0] {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap();
        f.set_len(full.saturating_sub(free)).unwrap();
        drop(f);
        let (code, stderr) = outcome(&mut command(&["run"], &s, 2, &out));
        assert_eq!(code, Some(1), "{free} bytes free: {stderr}");
        assert!(stderr.contains("No space left on device"), "{stderr}");
        assert!(
            stderr.contains("the disk is full; nothing was changed in the output folder"),
            "{stderr}"
        );
        assert_eq!(
            snapshot(&out),
            before,
            "{free} bytes free: the previous results changed"
        );
        manifest_agrees(&out).unwrap();
        assert_eq!(neighbours(&out), Vec::<String>::new(), "left behind");
    }
    std::fs::remove_file(&filler).unwrap();
    run_ok(command(&["run"], &s, 2, &out));
    assert_eq!(snapshot(&out), snapshot(&new_dir));
}

#[test]
fn ctrl_c_leaves_no_staging_folder() {
    // Stopped by Ctrl-C, a command removes its staging folder on the way out.
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let out = tmp.path().join("out");
    run_ok(command(&["run"], &s, 1, &out));
    let before = snapshot(&out);
    let mut c = command(&["run", "--samples", "2000000"], &s, 2, &out);
    let child = c.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: sending SIGINT to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(snapshot(&out), before);
    assert_eq!(neighbours(&out), Vec::<String>::new());
}
