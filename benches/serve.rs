//! What one update of `breakeven serve`'s page costs the server, for every shipped scenario:
//! `whatif::compute` (the run at the page's 2,000 paths, the table, the cumulative chart, and
//! the break-even chart's small sweep), and the run alone. Parsing and compiling the scenario
//! are outside the timed loop (they take milliseconds). `cargo bench --features bench --bench
//! serve`; criterion is built without plotters, so no fonts are needed.

use breakeven::engine::unwatched;
use breakeven::serve::{shipped, whatif, MAX_PATHS};
use breakeven::Catalogue;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

fn updates(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let mut g = c.benchmark_group("serve-update");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(100));
    g.measurement_time(Duration::from_secs(1));
    for s in shipped::all() {
        let w = whatif::WhatIf {
            scenario: Some(s.stem.to_string()),
            ..Default::default()
        };
        let (e, cfg) = w.prepare(&cat, MAX_PATHS).expect("a shipped scenario runs");
        g.bench_function(format!("{} update ({} paths)", s.stem, cfg.samples), |b| {
            b.iter(|| whatif::compute(&e, &cat, &cfg, unwatched()).expect("runs"))
        });
        g.bench_function(
            format!("{} run only ({} paths)", s.stem, cfg.samples),
            |b| b.iter(|| whatif::summarise(&e, &cat, &cfg, unwatched()).expect("runs")),
        );
    }
    g.finish();
}

criterion_group!(benches, updates);
criterion_main!(benches);
