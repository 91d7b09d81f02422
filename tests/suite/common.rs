//! Helpers the test modules share (each module had its own copy while each was its own test
//! binary).

use assert_cmd::Command;
use breakeven::engine::Engine;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use std::path::Path;
use std::time::Duration;

/// The repository's root, the package's folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from the repository root so fixture and scenario paths read as in the
/// tests, without backtraces, stopped after two minutes.
pub fn breakeven() -> Command {
    let mut cmd = Command::cargo_bin("breakeven").expect("the binary builds");
    cmd.current_dir(root());
    cmd.env_remove("RUST_BACKTRACE");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// Exit code and stderr of a command.
pub fn outcome(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A file's bytes; a missing file fails the test with its name.
pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A scenario's text compiled against the built-in catalogue; a scenario that does not load
/// fails the test with its problems.
pub fn engine(text: &str) -> Engine {
    let cat = Catalogue::builtin().expect("built-in catalogue");
    let s = match Scenario::parse(text, "test.toml", "test", &cat) {
        Ok(s) => s,
        Err(e) => panic!("scenario does not load:\n{e}"),
    };
    Engine::new(s, &cat).expect("scenario compiles")
}

/// A scenario of `months` months at a flat `volume` a month (flat profile, fluid arrivals,
/// 1 MP images), with `top` (top-level keys and tables) before its demand and `options` after.
pub fn flat_scenario(volume: f64, months: u32, top: &str, options: &str) -> String {
    format!(
        r#"
horizon_months = {months}
{top}
[demand]
monthly = {volume}
profile = "flat"
arrivals = "fluid"
[[mix]]
size = "1024x1024"
share = 1.0
{options}
"#
    )
}
