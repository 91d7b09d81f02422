//! Any bytes as one file of a small catalogue (a hosted API, a GPU, a self-host profile and a
//! licence that refer to each other): loading must return problems or a catalogue, never panic.
//! The first byte picks which file the rest replaces, or adds it as a new entity.
#![no_main]

use breakeven::catalogue::CatalogueFile;
use breakeven::Catalogue;
use libfuzzer_sys::fuzz_target;

const BASE: [(&str, &str); 4] = [
    (
        "api/acme/image.toml",
        include_str!("../seeds/catalogue/api/acme/image.toml"),
    ),
    (
        "gpu/test-gpu.toml",
        include_str!("../seeds/catalogue/gpu/test-gpu.toml"),
    ),
    (
        "selfhost/tiny.toml",
        include_str!("../seeds/catalogue/selfhost/tiny.toml"),
    ),
    (
        "licence/open.toml",
        include_str!("../seeds/catalogue/licence/open.toml"),
    ),
];

/// Where a fuzzed file goes: over one of the base files, or as a new one of each kind.
const SLOTS: [&str; 8] = [
    "api/acme/image.toml",
    "gpu/test-gpu.toml",
    "selfhost/tiny.toml",
    "licence/open.toml",
    "api/other/new.toml",
    "gpu/new-gpu.toml",
    "selfhost/new.toml",
    "licence/new.toml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // The folder loader rejects text that is not UTF-8 before parsing; mirror it.
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let slot = SLOTS[pick as usize % SLOTS.len()];
    let mut files: Vec<CatalogueFile> = BASE
        .iter()
        .filter(|(rel, _)| *rel != slot)
        .map(|(rel, text)| file(rel, text))
        .collect();
    files.push(file(slot, text));
    match Catalogue::from_files("fuzz", files) {
        Ok(_) => {}
        Err(breakeven::Error::Input(problems)) => {
            // Every problem says something, on one line.
            assert!(!problems.0.is_empty());
            for p in &problems.0 {
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
        }
        Err(e) => panic!("catalogue text gave a non-input error: {e}"),
    }
});

fn file(rel: &str, text: &str) -> CatalogueFile {
    CatalogueFile {
        rel_path: rel.to_string(),
        display: format!("fuzz/{rel}"),
        text: text.to_string(),
    }
}
