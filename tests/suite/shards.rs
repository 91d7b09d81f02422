//! Sharded runs: `--shard K/N` then `merge` gives one machine's bytes for run, sweep,
//! sensitivity and plan at any N and any threads per part; `report --from` gives `report`'s
//! page; and every class of bad part (reshaped, edited, truncated, foreign, duplicated,
//! missing, oversized, non-finite, a folder, a FIFO) is bad input naming the part, never a
//! panic.

use crate::common::{breakeven, outcome, read, root};
use assert_cmd::Command;
use breakeven::engine::{self, Engine, RunConfig};
use breakeven::scenario::Source;
use breakeven::shard::{self, Command as Part, Header, PartSet, Settings};
use breakeven::Catalogue;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The binary, given five minutes (a whole sharded plan or report).
fn bin() -> Command {
    let mut cmd = breakeven();
    cmd.timeout(Duration::from_secs(300));
    cmd
}

/// Run every shard of `args` into `dir`, shard k on 1 thread when k is even, 2 when odd.
fn shard_all(args: &[&str], n: u64, dir: &Path) {
    for k in 0..n {
        bin()
            .args(args)
            .args(["--shard", &format!("{k}/{n}")])
            .args(["--threads", if k % 2 == 0 { "1" } else { "2" }])
            .arg("--out")
            .arg(dir)
            .assert()
            .success();
    }
}

/// The part files of `command` in `dir`.
fn parts_of(dir: &Path, command: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(shard::parse_file_name)
                .is_some_and(|(c, _, _)| c.name() == command)
        })
        .collect();
    v.sort();
    v
}

/// `merge` the parts of `command` in `parts` into `out`.
fn merge(parts: &Path, command: &str, out: &Path) {
    let files = parts_of(parts, command);
    assert!(
        !files.is_empty(),
        "no {command} parts in {}",
        parts.display()
    );
    bin()
        .arg("merge")
        .args(&files)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// Every file of `whole` but `except` is in `merged` with the same bytes; returns how many.
fn same_files(whole: &Path, merged: &Path, except: &[&str]) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(whole).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || except.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            read(&whole.join(&name)),
            read(&merged.join(&name)),
            "{name} differs between one machine and the merged parts"
        );
        n += 1;
    }
    n
}

/// One machine's output of `args`, then the merged parts at N = 1, 3 and 8 (1 or 2 threads
/// a part), compared byte for byte; `rounds` runs the extra arguments of each further round
/// (a plan's final round) into the same folder before merging `command`.
fn check_identical(args: &[&str], command: &str, rounds: &[&[&str]], except: &[&str]) {
    let whole = tempfile::tempdir().unwrap();
    bin()
        .args(args)
        .arg("--out")
        .arg(whole.path())
        .assert()
        .success();
    for n in [1, 3, 8] {
        let parts = tempfile::tempdir().unwrap();
        let merged = tempfile::tempdir().unwrap();
        shard_all(args, n, parts.path());
        for extra in rounds {
            let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            a.extend(
                extra
                    .iter()
                    .map(|s| s.replace("{parts}", &parts.path().display().to_string())),
            );
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            shard_all(&a, n, parts.path());
        }
        assert_eq!(parts_of(parts.path(), command).len() as u64, n);
        merge(parts.path(), command, merged.path());
        let compared = same_files(whole.path(), merged.path(), except);
        assert!(compared >= 1, "{args:?} at N = {n}: nothing compared");
    }
}

#[test]
fn a_merged_run_is_one_machines_run_byte_for_byte() {
    // Eight options, owned hardware (payback, resale) and fleets (traced charts), over twelve of
    // its 24 months; 350 paths are 4 batches, the last one short, so at N = 8 four parts hold
    // none.
    check_identical(
        &[
            "run",
            "scenarios/startup-growth.toml",
            "--samples",
            "350",
            "--set",
            "horizon_months=12",
        ],
        "run",
        &[],
        // A sharded run keeps no per-path rows.
        &["samples.csv"],
    );
}

#[test]
fn a_merged_sweep_is_one_machines_sweep_byte_for_byte() {
    check_identical(
        &[
            "sweep",
            "scenarios/bench-w1.toml",
            "--samples",
            "450",
            "--points",
            "6",
            "--volumes",
            "500000..8000000",
        ],
        "sweep",
        &[],
        &[],
    );
}

#[test]
fn a_merged_sensitivity_is_one_machines_byte_for_byte() {
    check_identical(
        &[
            "sensitivity",
            "scenarios/startup-growth.toml",
            "--samples",
            "350",
        ],
        "sensitivity",
        &[],
        &[],
    );
}

#[test]
fn a_merged_plan_is_one_machines_plan_byte_for_byte() {
    // 150 screening paths are two batches, so the screening itself is split too (and at
    // N = 3 one part of it holds none).
    check_identical(
        &[
            "plan",
            "scenarios/app-feature.toml",
            "--samples",
            "200",
            "--screen-paths",
            "150",
        ],
        "plan",
        &[&["--screened", "{parts}"]],
        &[],
    );
}

#[test]
fn report_from_parts_is_the_report_byte_for_byte() {
    // 120 paths are two batches, so one of three parts holds none. editing: the whole
    // market, edits billed with their input images, fleets traced.
    let s = "scenarios/editing.toml";
    // Six months: the parts and the page do not depend on the horizon.
    let six = ["--set", "horizon_months=6"];
    let whole = tempfile::tempdir().unwrap();
    bin()
        .args(["report", s, "--samples", "120"])
        .args(six)
        .arg("--out")
        .arg(whole.path())
        .assert()
        .success();
    let parts = tempfile::tempdir().unwrap();
    for c in ["run", "sweep", "sensitivity", "plan"] {
        shard_all(&[c, s, "--samples", "120", six[0], six[1]], 3, parts.path());
    }
    let screened = parts.path().display().to_string();
    shard_all(
        &[
            "plan",
            s,
            "--samples",
            "120",
            six[0],
            six[1],
            "--screened",
            &screened,
        ],
        3,
        parts.path(),
    );
    let page = tempfile::tempdir().unwrap();
    bin()
        .args(["report", "--from"])
        .arg(parts.path())
        .arg("--out")
        .arg(page.path())
        .assert()
        .success();
    for f in ["report.html", "report.xlsx"] {
        assert_eq!(
            read(&whole.path().join(f)),
            read(&page.path().join(f)),
            "report --from: {f} differs from report's"
        );
    }
    // Without a section's parts the page cannot be built: it says which.
    for f in parts_of(parts.path(), "sensitivity") {
        std::fs::remove_file(f).unwrap();
    }
    let got = outcome(
        bin()
            .args(["report", "--from"])
            .arg(parts.path())
            .arg("--out")
            .arg(page.path()),
    );
    expect_bad(
        "report without sensitivity parts",
        got,
        &["holds no sensitivity parts"],
    );
}

#[test]
fn parts_go_through_the_output_staging_each_its_own_owner() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "scenarios/closed-form.toml", "--samples", "250"];
    shard_all(&args, 3, dir.path());
    let manifest: Value =
        serde_json::from_slice(&read(&dir.path().join(".breakeven-manifest.json"))).unwrap();
    let files = manifest["files"].as_array().unwrap();
    for k in 0..3 {
        let name = format!("run.part-{k}-of-3.jsonl");
        let entry = files
            .iter()
            .find(|f| f["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the manifest"));
        assert_eq!(entry["owner"], format!("run.part-{k}-of-3").as_str());
    }
    // Rewriting one part replaces only that part.
    let before = read(&dir.path().join("run.part-0-of-3.jsonl"));
    bin()
        .args(args)
        .args(["--shard", "1/3", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(before, read(&dir.path().join("run.part-0-of-3.jsonl")));
    assert_eq!(parts_of(dir.path(), "run").len(), 3);
}

#[test]
fn shards_refuse_precision_and_bad_shard_flags() {
    for (flags, want) in [
        (
            vec!["--shard", "0/2", "--precision", "0.01"],
            "--precision: cannot stop a shard early",
        ),
        (vec!["--shard", "2/2"], "--shard: \"2/2\" is not a shard"),
        (vec!["--shard", "0/0"], "is not a shard"),
        (vec!["--shard", "0/1001"], "N <= 1000"),
        (vec!["--shard", "x"], "is not a shard"),
    ] {
        let got = outcome(
            bin()
                .args(["run", "scenarios/closed-form.toml"])
                .args(&flags),
        );
        expect_bad(&format!("{flags:?}"), got, &[want]);
    }
    // The path cap applies to each part: 15M paths over two parts is 7.5M a part.
    let got = outcome(bin().args([
        "sweep",
        "scenarios/closed-form.toml",
        "--samples",
        "15000000",
        "--shard",
        "0/1",
        "--points",
        "2",
    ]));
    expect_bad("15M paths in one part", got, &["paths in each part"]);
}

// ------------------------------------------------------------------------------------------
// Bad parts, through the binary.

/// Exit code 2, every fragment in stderr, and no panic.
fn expect_bad(what: &str, (code, stderr): (Option<i32>, String), fragments: &[&str]) {
    assert_eq!(code, Some(2), "{what}: exit code {code:?}: {stderr}");
    for bad in ["panicked", "internal error", "internal check failed"] {
        assert!(!stderr.contains(bad), "{what}: {stderr}");
    }
    for f in fragments {
        assert!(stderr.contains(f), "{what}: {f:?} not in: {stderr}");
    }
}

/// Parts of a small run (closed-form, 250 paths: 3 batches) in a fresh folder.
fn small_parts(command: &str, n: u64, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![command, "scenarios/closed-form.toml"];
    // A flag given twice is refused: the default paths only when `extra` sets none.
    if !extra.contains(&"--samples") {
        args.extend(["--samples", "250"]);
    }
    if command == "sweep" {
        args.extend(["--points", "3"]);
    }
    args.extend(extra);
    for k in 0..n {
        bin()
            .args(&args)
            .args(["--shard", &format!("{k}/{n}"), "--out"])
            .arg(dir.path())
            .assert()
            .success();
    }
    dir
}

fn merge_outcome(files: &[PathBuf]) -> (Option<i32>, String) {
    let out = tempfile::tempdir().unwrap();
    let got = outcome(
        bin()
            .arg("merge")
            .args(files)
            .arg("--out")
            .arg(out.path().join("m")),
    );
    assert!(
        !out.path().join("m").exists() || got.0 == Some(0),
        "a refused merge wrote its output"
    );
    got
}

/// The lines of a part, and the part with `lines` written back with its digest recomputed.
fn lines(p: &Path) -> Vec<String> {
    String::from_utf8(read(p))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn rewrite(p: &Path, mut lines: Vec<String>, redigest: bool) {
    let end = lines.pop().unwrap();
    let mut body = String::new();
    for l in &lines {
        body.push_str(l);
        body.push('\n');
    }
    let end = if redigest {
        let digest: String = Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut v: Value = serde_json::from_str(&end).unwrap();
        v["end"]["sha256"] = Value::String(digest);
        v.to_string()
    } else {
        end
    };
    std::fs::write(p, body + &end + "\n").unwrap();
}

/// Change line `i` of part `p` as `edit` does to its JSON.
fn edit_line(p: &Path, i: usize, redigest: bool, edit: impl FnOnce(&mut Value)) {
    let mut l = lines(p);
    let mut v: Value = serde_json::from_str(&l[i]).unwrap();
    edit(&mut v);
    l[i] = v.to_string();
    rewrite(p, l, redigest);
}

#[test]
fn reshaped_parts_are_refused() {
    // Each case reshapes one array and recomputes the digest, so only the schema can tell.
    type Edit = fn(&mut Value);
    let cases: [(&str, usize, Edit, &str); 6] = [
        (
            "an option fewer",
            2,
            |v| {
                v["state"][0]["options"].as_array_mut().unwrap().pop();
            },
            "state.0.options: has 1 items; expected 2",
        ),
        (
            "a month more",
            2,
            |v| {
                let m = &mut v["state"][0]["options"][1]["by_month"];
                let x = m[0].clone();
                m.as_array_mut().unwrap().push(x);
            },
            "state.0.options[1].by_month: has 2 items; expected 1",
        ),
        (
            "a value fewer",
            2,
            |v| {
                v["state"][0]["options"][0]["total"]["exact"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "state.0.options[0].total.exact: holds 99 values but counts 100",
        ),
        (
            "a pair fewer",
            2,
            |v| {
                v["state"][0]["pairs"].as_array_mut().unwrap().clear();
            },
            "state.0.pairs: has 0 items; expected 1",
        ),
        (
            "a trace of 167 hours",
            1,
            |v| {
                v["extras"][1][0]["utilisation"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "a week of 167 hours; expected 168",
        ),
        (
            "bins far out",
            2,
            |v| {
                v["state"][0]["options"][0]["total"]["hist"] = serde_json::json!({"pos": {"start": 18446744073709551615u64, "counts": [1]}, "neg": {"start": 0, "counts": []}, "zero": 0, "shift": 0});
            },
            "state.0.options[0].total.hist",
        ),
    ];
    for (what, line, edit, want) in cases {
        let dir = small_parts("run", 1, &[]);
        let part = dir.path().join("run.part-0-of-1.jsonl");
        edit_line(&part, line, true, edit);
        expect_bad(
            what,
            merge_outcome(std::slice::from_ref(&part)),
            &[&part.display().to_string(), want],
        );
    }
    // A sweep's grid in a state is a setting: it must be the run's own.
    let dir = small_parts("sweep", 1, &[]);
    let part = dir.path().join("sweep.part-0-of-1.jsonl");
    edit_line(&part, 2, true, |v| {
        v["state"]["volumes"][0] = serde_json::json!(1.0)
    });
    expect_bad(
        "another grid",
        merge_outcome(&[part]),
        &["state.volumes: is ", "expected the run's own"],
    );
}

#[test]
fn edited_parts_are_refused_by_their_digest() {
    let dir = small_parts("run", 2, &[]);
    let part = dir.path().join("run.part-1-of-2.jsonl");
    // The mean cost a cent lower: in range and well shaped, so only the digest tells.
    edit_line(&part, 2, false, |v| {
        let x = &mut v["state"][0]["options"][0]["total"]["moments"]["mean"];
        *x = serde_json::json!(x.as_f64().unwrap() - 0.01);
    });
    let files = parts_of(dir.path(), "run");
    expect_bad(
        "an edited cost",
        merge_outcome(&files),
        &["run.part-1-of-2.jsonl: line 4: end.sha256: does not match the part's content"],
    );
}

#[test]
fn truncated_parts_are_refused() {
    let dir = small_parts("run", 1, &[]);
    let part = dir.path().join("run.part-0-of-1.jsonl");
    let whole = read(&part);
    let newlines: Vec<usize> = whole
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // Cut at every line end and in the middle of every line.
    let mut cuts: Vec<usize> = newlines.iter().map(|i| i + 1).collect();
    cuts.pop(); // the whole file
    let mut prev = 0;
    for &n in &newlines {
        cuts.push((prev + n) / 2);
        prev = n + 1;
    }
    cuts.push(0);
    for cut in cuts {
        std::fs::write(&part, &whole[..cut]).unwrap();
        expect_bad(
            &format!("cut at byte {cut}"),
            merge_outcome(std::slice::from_ref(&part)),
            &[&part.display().to_string()],
        );
    }
    // Something after the end line.
    let mut more = whole.clone();
    more.extend_from_slice(b"{}\n");
    std::fs::write(&part, &more).unwrap();
    expect_bad(
        "after the end",
        merge_outcome(std::slice::from_ref(&part)),
        &["follows the end line"],
    );
}

#[test]
fn foreign_duplicated_and_missing_parts_are_refused() {
    let base = small_parts("run", 3, &[]);
    let files = parts_of(base.path(), "run");
    // A shard given twice, one missing.
    expect_bad(
        "a shard twice",
        merge_outcome(&[files[0].clone(), files[1].clone(), files[1].clone()]),
        &["header.shard: is 1 of 3, given twice"],
    );
    expect_bad(
        "a shard missing",
        merge_outcome(&files[..2]),
        &["shard 2 missing"],
    );
    // Parts of other runs, each differing in one thing.
    let other_seed = small_parts("run", 3, &["--seed", "7"]);
    expect_bad(
        "another seed",
        merge_outcome(&[
            files[0].clone(),
            files[1].clone(),
            parts_of(other_seed.path(), "run")[2].clone(),
        ]),
        &["run.part-2-of-3.jsonl: header.settings.seed: is 7, where the other has 1"],
    );
    let other_samples = small_parts("run", 3, &["--samples", "260"]);
    expect_bad(
        "other samples",
        merge_outcome(&[
            files[0].clone(),
            parts_of(other_samples.path(), "run")[1].clone(),
            files[2].clone(),
        ]),
        &["header.settings.samples: is 260"],
    );
    let against = small_parts("run", 3, &["--against", "api-klein-4b,h100-klein-4b"]);
    expect_bad(
        "another --against",
        merge_outcome(&[
            files[0].clone(),
            parts_of(against.path(), "run")[1].clone(),
            files[2].clone(),
        ]),
        &["header.settings.against"],
    );
    let sweep = small_parts("sweep", 3, &[]);
    expect_bad(
        "another command",
        merge_outcome(&[
            files[0].clone(),
            parts_of(sweep.path(), "sweep")[1].clone(),
            files[2].clone(),
        ]),
        &["header.command: is \"sweep\", where the other has \"run\""],
    );
    // Another scenario text: the same file with one number changed.
    let text = std::fs::read_to_string(root().join("scenarios/closed-form.toml")).unwrap();
    let scen = tempfile::tempdir().unwrap();
    let changed = scen.path().join("closed-form.toml");
    std::fs::write(
        &changed,
        text.replace("monthly = 140_000", "monthly = 140_001"),
    )
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    bin()
        .args(["run"])
        .arg(&changed)
        .args(["--samples", "250", "--shard", "1/3", "--out"])
        .arg(other.path())
        .assert()
        .success();
    // The file name differs too; the text is what the message names once the name agrees.
    edit_line(&parts_of(other.path(), "run")[0], 0, true, |v| {
        v["header"]["scenario"]["file"] = serde_json::json!("scenarios/closed-form.toml")
    });
    expect_bad(
        "another scenario text",
        merge_outcome(&[
            files[0].clone(),
            parts_of(other.path(), "run")[0].clone(),
            files[2].clone(),
        ]),
        &["header.scenario.text: differs"],
    );
    // Another version (the digest recomputed, as a careful forger would).
    let copy = tempfile::tempdir().unwrap();
    for f in &files {
        std::fs::copy(f, copy.path().join(f.file_name().unwrap())).unwrap();
    }
    let v = parts_of(copy.path(), "run");
    edit_line(&v[2], 0, true, |h| {
        h["header"]["tool_version"] = serde_json::json!("0.0.9")
    });
    expect_bad(
        "another version",
        merge_outcome(&v),
        &["header.tool_version: is 0.0.9; expected"],
    );
}

#[test]
fn parts_of_another_catalogue_are_refused() {
    // The built-in catalogue with one price changed, as a folder.
    let cat = tempfile::tempdir().unwrap();
    copy_dir(&root().join("models"), cat.path());
    let f = cat.path().join("gpu/h100-sxm.toml");
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, t.replacen("# ", "# edited: ", 1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    bin()
        .arg("--catalogue")
        .arg(cat.path())
        .args([
            "run",
            "scenarios/closed-form.toml",
            "--samples",
            "250",
            "--shard",
            "0/1",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let part = dir.path().join("run.part-0-of-1.jsonl");
    // With the built-in catalogue: refused, naming the digest.
    expect_bad(
        "another catalogue",
        merge_outcome(std::slice::from_ref(&part)),
        &[
            "header.catalogue.sha256: is ",
            "expected the catalogue the parts were made with",
        ],
    );
    // With the same catalogue, from another folder: merged, and the provenance is the parts'.
    let moved = tempfile::tempdir().unwrap();
    copy_dir(cat.path(), moved.path());
    let out = tempfile::tempdir().unwrap();
    bin()
        .arg("--catalogue")
        .arg(moved.path())
        .arg("merge")
        .arg(&part)
        .arg("--out")
        .arg(out.path())
        .assert()
        .success();
    let summary: Value = serde_json::from_slice(&read(&out.path().join("summary.json"))).unwrap();
    assert_eq!(
        summary["catalogue"],
        cat.path().display().to_string().as_str()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

#[test]
fn huge_and_non_finite_numbers_are_refused() {
    // 1.7e308 is finite: the schema's ranges refuse it (it used to hang the chart code).
    let cases: [(&str, usize, &str, &str); 5] = [
        (
            "a total of 1.7e308",
            2,
            "/state/0/options/0/total/exact/0",
            "1.7e308",
        ),
        (
            "a mean of 1.7e308",
            2,
            "/state/0/options/0/monthly/moments/mean",
            "1.7e308",
        ),
        (
            "a negative spread",
            2,
            "/state/0/options/1/per_asset/sxx",
            "-1.0",
        ),
        (
            "a count past the paths",
            2,
            "/state/0/options/0/cheapest",
            "101",
        ),
        ("a trace of 1e300", 1, "/extras/1/0/overflow/3", "1e300"),
    ];
    for (what, line, pointer, value) in cases {
        let dir = small_parts("run", 1, &[]);
        let part = dir.path().join("run.part-0-of-1.jsonl");
        edit_line(&part, line, true, |v| {
            *v.pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{pointer}")) = serde_json::from_str(value).unwrap()
        });
        expect_bad(
            what,
            merge_outcome(std::slice::from_ref(&part)),
            &[&part.display().to_string(), "expected"],
        );
    }
    // Past f64's range JSON cannot even hold it as a number.
    let dir = small_parts("run", 1, &[]);
    let part = dir.path().join("run.part-0-of-1.jsonl");
    let mut l = lines(&part);
    let first = l[2].find("\"exact\":[").unwrap() + "\"exact\":[".len();
    l[2].insert_str(first, "1e400,");
    rewrite(&part, l, true);
    expect_bad(
        "1e400",
        merge_outcome(&[part]),
        &["line 3: is not the state of batch 0"],
    );
}

#[test]
fn oversized_lines_are_refused_without_reading_them_whole() {
    let dir = small_parts("run", 1, &[]);
    let part = dir.path().join("run.part-0-of-1.jsonl");
    let l = lines(&part);
    // A header, then a "line" of 256 MB and one byte with no end.
    let mut f = std::fs::File::create(&part).unwrap();
    use std::io::Write;
    writeln!(f, "{}", l[0]).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..256 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"  ").unwrap();
    drop(f);
    expect_bad(
        "a 256 MB line",
        merge_outcome(&[part]),
        &["line 2: is longer than 256 MB"],
    );
}

#[test]
fn folders_pipes_devices_and_non_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    expect_bad(
        "a folder",
        merge_outcome(&[dir.path().to_path_buf()]),
        &["is a folder; expected a part file"],
    );
    let fifo = dir.path().join("pipe.jsonl");
    let c = std::ffi::CString::new(fifo.as_os_str().to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    expect_bad(
        "a FIFO",
        merge_outcome(&[fifo]),
        &["is a named pipe, not a regular file"],
    );
    expect_bad(
        "a device",
        merge_outcome(&[PathBuf::from("/dev/zero")]),
        &["a character device"],
    );
    expect_bad(
        "a kernel file",
        merge_outcome(&[PathBuf::from("/proc/self/status")]),
        &["a file of the kernel"],
    );
    expect_bad(
        "missing",
        merge_outcome(&[dir.path().join("none.jsonl")]),
        &["does not exist"],
    );
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("noise", &b"\x00\xff\x10garbage\n"[..]),
        ("json", &b"{\"header\": 1}\n"[..]),
        (
            "scenario",
            &include_bytes!("../../scenarios/closed-form.toml")[..],
        ),
    ] {
        let p = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&p, bytes).unwrap();
        expect_bad(
            name,
            merge_outcome(std::slice::from_ref(&p)),
            &[&p.display().to_string()],
        );
    }
    // report --from and plan --screened take folders, and the parts in them are checked alike.
    let got = outcome(
        bin()
            .args(["report", "--from"])
            .arg(dir.path().join("pipe.jsonl")),
    );
    expect_bad("report --from a FIFO", got, &["is not a folder"]);
}

// ------------------------------------------------------------------------------------------
// The class, exhaustively, in the library: every array of every command's batch state
// reshaped, every number pushed past its range, each merged in-process, where a panic
// would fail the test.

/// A part of `command` on `scenario`, 1 shard, written in memory; `samples` paths.
fn part_bytes(command: Part, scenario: &str, samples: u64) -> (Catalogue, Vec<u8>) {
    let cat = Catalogue::builtin().unwrap();
    let path = root().join(scenario);
    let source = Source::read(&path).unwrap();
    let e = Engine::new(source.parse(&cat).unwrap(), &cat).unwrap();
    let mut cfg = RunConfig::new(samples, 3);
    cfg.shard = Some((0, 1));
    cfg.threads = 1;
    let mut out = Vec::new();
    let ctl = engine::unwatched();
    match command {
        Part::Run => {
            let h = Header::new(command, &source, &cat, Settings::of(&cfg, &e, None), (0, 1));
            shard::write_run(&mut out, "mem", &h, &e, &cfg, ctl).unwrap();
        }
        Part::Sweep => {
            let se = breakeven::analysis::sweep::sweep_engine(&e.scenario, &cat).unwrap();
            let volumes = breakeven::analysis::sweep::grid(1e4, 1e6, 3, true);
            let mut s = Settings::of(&cfg, &se, None);
            s.volumes = Some(volumes.clone());
            let h = Header::new(command, &source, &cat, s, (0, 1));
            shard::write_sweep(&mut out, "mem", &h, &se, &cfg, &volumes, ctl).unwrap();
        }
        Part::Sensitivity => {
            let h = Header::new(command, &source, &cat, Settings::of(&cfg, &e, None), (0, 1));
            shard::write_sensitivity(&mut out, "mem", &h, &e, &cfg, ctl).unwrap();
        }
        Part::PlanScreen | Part::Plan => unreachable!("plans are run folds, covered by run"),
    }
    (cat, out)
}

/// Merge `bytes` as a one-part set, in-process: Ok, or the error.
fn merge_bytes(cat: &Catalogue, bytes: &[u8]) -> breakeven::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.jsonl");
    std::fs::write(&p, bytes).unwrap();
    let set = PartSet::open(&[p])?;
    let ctl = engine::unwatched();
    match set.header().command {
        Part::Run => shard::merge_run(set, cat, ctl).map(|_| ()),
        Part::Sweep => shard::merge_sweep(set, cat, ctl).map(|_| ()),
        Part::Sensitivity => shard::merge_sensitivity(set, cat, ctl).map(|_| ()),
        Part::PlanScreen => shard::merge_plan_screen(set, cat, ctl).map(|_| ()),
        Part::Plan => shard::merge_plan(set, cat, ctl).map(|_| ()),
    }
}

/// The part with line `i` replaced by `v` and the digest recomputed.
fn with_line(bytes: &[u8], i: usize, v: &Value) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut l: Vec<String> = text.lines().map(String::from).collect();
    l[i] = v.to_string();
    let end = l.pop().unwrap();
    let body: String = l.iter().map(|x| format!("{x}\n")).collect();
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut e: Value = serde_json::from_str(&end).unwrap();
    e["end"]["sha256"] = Value::String(digest);
    (body + &e.to_string() + "\n").into_bytes()
}

/// JSON pointers of every array, and of the first two items of every array, under `v`.
fn walk(v: &Value, at: String, arrays: &mut Vec<String>, numbers: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            arrays.push(at.clone());
            for (i, x) in items.iter().enumerate().take(2) {
                walk(x, format!("{at}/{i}"), arrays, numbers);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, format!("{at}/{k}"), arrays, numbers);
            }
        }
        Value::Number(_) => numbers.push(at),
        _ => {}
    }
}

/// Arrays whose length a fold does not fix: what they hold is checked, their length only
/// against what they count.
fn free_length(pointer: &str) -> bool {
    // Latency is kept sparse: its lists hold the bins and tables that occurred.
    pointer.ends_with("/breakdown") || pointer.contains("/hist/") || pointer.contains("/latency/")
}

/// Numbers only required to be finite: a sensitivity path's sampled inputs, which take part
/// in ranks and nothing else.
fn free_range(pointer: &str) -> bool {
    pointer.starts_with("/state/1/items/") && pointer.split('/').nth(5) == Some("0")
}

#[test]
fn every_array_reshaped_and_every_number_out_of_range_is_refused() {
    let mut tried = 0;
    for (command, scenario) in [
        (Part::Run, "scenarios/startup-growth.toml"),
        (Part::Sweep, "scenarios/bench-w1.toml"),
        (Part::Sensitivity, "scenarios/startup-growth.toml"),
    ] {
        // 5 paths: every field a part has, at a small share of the bytes to re-read per case.
        let (cat, bytes) = part_bytes(command, scenario, 5);
        merge_bytes(&cat, &bytes)
            .unwrap_or_else(|e| panic!("{command:?}: the part as written: {e}"));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let l: Vec<Value> = text
            .lines()
            .map(|x| serde_json::from_str(x).unwrap())
            .collect();
        // Line 1 is the extras, line 2 the batch.
        for line in [1, 2] {
            let (mut arrays, mut numbers) = (Vec::new(), Vec::new());
            walk(&l[line], String::new(), &mut arrays, &mut numbers);
            for a in &arrays {
                for grow in [false, true] {
                    let mut v = l[line].clone();
                    let arr = v.pointer_mut(a).unwrap().as_array_mut().unwrap();
                    if grow {
                        let x = arr.first().cloned().unwrap_or(Value::from(0.0));
                        arr.push(x);
                    } else if arr.pop().is_none() {
                        continue;
                    }
                    let got = merge_bytes(&cat, &with_line(&bytes, line, &v));
                    tried += 1;
                    match got {
                        Err(breakeven::Error::Input(p)) => assert!(
                            p.to_string().contains("x.jsonl: line"),
                            "{command:?} {a}: {p}"
                        ),
                        Err(e) => panic!("{command:?} {a} (grow {grow}): not bad input: {e}"),
                        Ok(()) => assert!(
                            free_length(a),
                            "{command:?} {a} (grow {grow}): a reshaped array was accepted"
                        ),
                    }
                }
            }
            for n in &numbers {
                if n == "/batch" {
                    continue;
                }
                // Counts get the largest count, numbers the largest finite values.
                let integer = l[line].pointer(n).is_some_and(|x| x.is_u64());
                // Latency masses are u128 fixed-point sums, bounded far above any u64 (see
                // the unit test of `LatencyStats`' check): here a fraction must fail.
                let bads: &[&str] = if n.contains("/latency/") {
                    &["0.5"]
                } else if integer {
                    &["18446744073709551615"]
                } else {
                    &["1.7e308", "-1.7e308"]
                };
                for bad in bads {
                    let mut v = l[line].clone();
                    *v.pointer_mut(n).unwrap() = serde_json::from_str(bad).unwrap();
                    let got = merge_bytes(&cat, &with_line(&bytes, line, &v));
                    tried += 1;
                    match got {
                        Err(breakeven::Error::Input(_)) => {}
                        Err(e) => panic!("{command:?} {n} = {bad}: not bad input: {e}"),
                        // A setting such as a grid volume or a cap, equal or not, is compared
                        // with the run's own; every statistic must be refused.
                        Ok(()) => assert!(free_range(n), "{command:?} {n} = {bad} was accepted"),
                    }
                }
            }
        }
    }
    assert!(tried > 500, "only {tried} cases");
}

#[test]
fn shard_paths_count_each_shards_paths() {
    for samples in [1u64, 99, 100, 101, 450, 1000, 12_345] {
        for n in [1u64, 2, 3, 7, 8, 200] {
            let mut sum = 0;
            for k in 0..n {
                let mut cfg = RunConfig::new(samples, 1);
                cfg.shard = Some((k, n));
                let listed: u64 = engine::driver::batches(&cfg)
                    .iter()
                    .map(|b| engine::BATCH.min(samples - b * engine::BATCH))
                    .sum();
                assert_eq!(
                    engine::shard_paths(samples, Some((k, n))),
                    listed,
                    "{samples} paths, {k}/{n}"
                );
                sum += listed;
            }
            assert_eq!(sum, samples);
        }
    }
}

#[test]
fn merge_needs_no_file_but_the_parts_from_any_folder() {
    // A scenario with a --set what-if, sharded; then the scenario is deleted, the parts moved,
    // and merge run from their new folder by relative names: the scenario text (after the
    // override) is inside the parts, and nothing else is opened.
    let src = tempfile::tempdir().unwrap();
    let scen = src.path().join("mine.toml");
    std::fs::copy(root().join("scenarios/closed-form.toml"), &scen).unwrap();
    let args = |cmd: &mut Command| {
        cmd.arg("run")
            .arg(&scen)
            .args(["--samples", "250", "--set", "demand.monthly=150000"]);
    };
    let whole = tempfile::tempdir().unwrap();
    let mut one = bin();
    args(&mut one);
    one.arg("--out").arg(whole.path()).assert().success();
    let parts = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let mut c = bin();
        args(&mut c);
        c.args(["--shard", &format!("{k}/2"), "--out"])
            .arg(parts.path())
            .assert()
            .success();
    }
    std::fs::remove_file(&scen).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let name = format!("run.part-{k}-of-2.jsonl");
        std::fs::copy(parts.path().join(&name), elsewhere.path().join(&name)).unwrap();
    }
    drop(parts);
    bin()
        .current_dir(elsewhere.path())
        .args(["merge", "run.part-0-of-2.jsonl", "run.part-1-of-2.jsonl"])
        .args(["--out", "merged"])
        .assert()
        .success();
    let merged = elsewhere.path().join("merged");
    assert!(same_files(whole.path(), &merged, &[]) >= 4);
    let summary: Value = serde_json::from_slice(&read(&merged.join("summary.json"))).unwrap();
    assert_eq!(
        summary["overrides"][0].as_str(),
        Some("demand.monthly=150000"),
        "the merged summary records the what-if: {}",
        summary["overrides"]
    );
}

#[test]
fn merge_holds_more_parts_open_than_the_soft_limit_on_files() {
    // 50 parts under a soft limit of 32 open files (1,024 is a common default, and merge takes
    // up to 1,000 parts): merge raises the soft limit to the hard one.
    let n = 50;
    let dir = tempfile::tempdir().unwrap();
    for k in 0..n {
        bin()
            .args([
                "run",
                "scenarios/closed-form.toml",
                "--samples",
                "5000",
                "-q",
            ])
            .args([
                "--no-charts",
                "--threads",
                "1",
                "--shard",
                &format!("{k}/{n}"),
            ])
            .arg("--out")
            .arg(dir.path())
            .assert()
            .success();
    }
    let files: Vec<String> = parts_of(dir.path(), "run")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(files.len(), n);
    let exe = assert_cmd::cargo::cargo_bin("breakeven");
    let out = dir.path().join("merged");
    let script = format!(
        "ulimit -Sn 32 && exec \"$0\" merge \"$@\" --no-charts -q --out {}",
        out.display()
    );
    let got = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(&exe)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(out.join("summary.json").is_file());
}
