//! Any command line: `breakeven` must parse it or refuse it as usage, then run it or stop with
//! bad input (exit code 2), a failure of the machine (1, an I/O error) or Ctrl-C (130); never
//! panic, never fail an internal check, and never leave a staging folder behind. The CLI's own
//! source is compiled in here (clap stays out of the library), so this is the binary's code.
//!
//! The input is the arguments, separated by NUL bytes. Every command runs in a sandbox folder
//! holding copies of the shipped scenarios and catalogue; output folders must be relative paths
//! inside it, and sizes are capped (paths, grid points, candidates) so that one input takes
//! milliseconds: what is fuzzed is the handling of flags and files, not the engine's speed.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The sandbox: a temporary folder with `scenarios/` and `models/`, the current folder of
/// every run.
fn sandbox() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("breakeven-fuzz-cli-{}", std::process::id()));
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        copy_dir(&repo.join("scenarios"), &dir.join("scenarios"));
        copy_dir(&repo.join("models"), &dir.join("models"));
        copy_dir(&repo.join("fuzz/seeds/catalogue"), &dir.join("cat"));
        std::env::set_current_dir(&dir).expect("the sandbox");
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("sandbox folder");
    for e in std::fs::read_dir(from).expect("a shipped folder") {
        let e = e.expect("an entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("a copy");
        }
    }
}

/// A path that stays inside the current folder.
fn inside(p: &Path) -> bool {
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Cap what makes a command slow; false when the input is not worth running here. (A macro:
/// the flags' type lives in a module private to the CLI.)
macro_rules! tame {
    ($run:expr) => {{
        let run = &mut $run;
        run.samples = Some(run.samples.unwrap_or(8).min(16));
        run.precision = None;
        run.threads = run.threads.min(2);
        run.reference = false;
        run.out.as_deref().is_none_or(inside)
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<&str> = text.split('\0').collect();
    if args.len() > 24 {
        return;
    }
    let root = sandbox();
    let Ok(mut parsed) = cli::Cli::try_parse_from(std::iter::once("breakeven").chain(args)) else {
        // A usage error: clap's message, exit code 2 in the binary.
        return;
    };
    let runnable = match &mut parsed.command {
        cli::Command::Bench(_) => false,
        cli::Command::Run(a) => tame!(a.run),
        cli::Command::Report(a) => tame!(a.run),
        cli::Command::Sensitivity(a) => tame!(a.run),
        cli::Command::Sweep(a) => {
            a.points = a.points.min(4);
            tame!(a.run)
        }
        cli::Command::Plan(a) => {
            a.screen_paths = a.screen_paths.min(4);
            a.finalists = a.finalists.min(2);
            tame!(a.run)
        }
        cli::Command::Merge(a) => a.out.as_deref().is_none_or(inside),
        cli::Command::Compare(a) => {
            a.sweep = false;
            tame!(a.run)
        }
        // init writes a file (stdout without --out).
        cli::Command::Init(a) => a.out.as_deref().is_none_or(inside),
        cli::Command::Models(_) | cli::Command::Price(_) | cli::Command::Check(_) => true,
    };
    if !runnable {
        return;
    }
    if let Err(e) = cli::dispatch(parsed) {
        let code = cli::exit_code(&e);
        let io = e
            .chain()
            .any(|c| c.downcast_ref::<std::io::Error>().is_some());
        assert!(
            code == 2 || code == 130 || (code == 1 && io),
            "exit code {code} for a command line: {e:#}"
        );
    }
    // Nothing of a staging folder or a lock stays behind, wherever the output went.
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.contains(".breakeven-stage-") && !name.ends_with(".breakeven-lock"),
                "left behind: {}",
                e.path().display()
            );
            if e.file_type().is_ok_and(|t| t.is_dir()) && !name.starts_with("models") {
                stack.push(e.path());
            }
        }
    }
});
