//! Any bytes as a part file of a sharded run, sweep, sensitivity analysis or plan: `merge`
//! must refuse it as bad input (exit code 2) or merge it, never panic, hang or exhaust memory,
//! and never open a path the part names. The digest line is recomputed when the input asks
//! for it (its first byte is odd), so that the checks behind the digest (schema, lengths,
//! ranges) are reached by edited parts, and not only the digest itself.
#![no_main]

use breakeven::engine;
use breakeven::shard::{self, PartSet};
use breakeven::Catalogue;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::builtin().expect("the built-in catalogue loads"))
}

/// One file per process, rewritten for each input: parts are read from files.
fn file() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("breakeven-fuzz-part-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a temporary folder");
        d.join("run.part-0-of-1.jsonl")
    })
}

/// `body` with its end line's digest recomputed over the lines before it.
fn redigest(body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let Some(cut) = body[..body.len().saturating_sub(1)]
        .iter()
        .rposition(|b| *b == b'\n')
    else {
        return body.to_vec();
    };
    let (before, _) = body.split_at(cut + 1);
    let hex: String = Sha256::digest(before).iter().map(|b| format!("{b:02x}")).collect();
    let batches = before.iter().filter(|b| **b == b'\n').count().saturating_sub(2);
    let mut out = before.to_vec();
    out.extend_from_slice(format!("{{\"end\":{{\"batches\":{batches},\"sha256\":\"{hex}\"}}}}\n").as_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let bytes = if flags & 1 == 1 { redigest(body) } else { body.to_vec() };
    std::fs::write(file(), &bytes).expect("the part is written");
    let cat = catalogue();
    let ctl = engine::unwatched();
    let got = PartSet::open(&[file().to_path_buf()]).and_then(|set| {
        match set.header().command {
            shard::Command::Run => shard::merge_run(set, cat, ctl).map(|_| ()),
            shard::Command::Sweep => shard::merge_sweep(set, cat, ctl).map(|_| ()),
            shard::Command::Sensitivity => shard::merge_sensitivity(set, cat, ctl).map(|_| ()),
            shard::Command::PlanScreen => shard::merge_plan_screen(set, cat, ctl).map(|_| ()),
            shard::Command::Plan => shard::merge_plan(set, cat, ctl).map(|_| ()),
        }
    });
    match got {
        Ok(()) => {}
        Err(breakeven::Error::Input(problems)) => {
            for p in &problems.0 {
                assert!(!p.message.trim().is_empty(), "an empty message at {}", p.key);
            }
        }
        Err(e) => panic!("a part gave a failure that is not bad input: {e}"),
    }
});
