//! Any bytes given as a scenario file: the loader must return problems or a scenario, never
//! panic, hang or exhaust memory. A scenario that loads is compiled and one path simulated,
//! so a value the checks let through but the engine cannot take shows up here too.
#![no_main]

use breakeven::engine::{Engine, RunConfig};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use std::sync::OnceLock;

fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::builtin().expect("the built-in catalogue loads"))
}

fuzz_target!(|data: &[u8]| {
    // Scenario::load rejects text that is not UTF-8 before parsing; mirror it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cat = catalogue();
    let scenario = match Scenario::parse(text, "fuzz.toml", "fuzz", cat) {
        Ok(s) => s,
        Err(breakeven::Error::Input(problems)) => {
            // Every problem names the file and says something, on one line.
            for p in &problems.0 {
                assert_eq!(p.file, "fuzz.toml", "{p}");
                assert!(
                    !p.message.trim().is_empty(),
                    "an empty message at {}",
                    p.key
                );
                assert!(
                    !p.to_string().contains('\n'),
                    "a problem over two lines: {p:?}"
                );
            }
            assert!(!problems.0.is_empty());
            return;
        }
        Err(e) => panic!("a scenario's text gave a non-input error: {e}"),
    };
    let Ok(engine) = Engine::new(scenario, cat) else {
        return;
    };
    let cfg = RunConfig::new(1, 1);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let _ = engine.simulate_path(0, &mut rng, &cfg, false);
});
