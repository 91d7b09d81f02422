//! What one update of `breakeven serve`'s page costs the server, for every shipped scenario:
//! compiling the scenario and `whatif::compute` (the run at the page's 2,000 paths, the table,
//! the cumulative chart, and the break-even chart's small sweep), as the server does it.
//! "update" keeps the queue tables of the updates before it, as the server does between a
//! page's updates (a change of volume or price solves no table again); "first update" starts
//! from no tables, as a server's first update of a scenario does. `cargo bench --features
//! bench --bench serve`; criterion is built without plotters, so no fonts are needed.

use breakeven::engine::unwatched;
use breakeven::fleet::QueueCache;
use breakeven::serve::{shipped, whatif, MAX_PATHS};
use breakeven::Catalogue;
use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
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
        let update = |tables: Arc<QueueCache>| {
            let (e, cfg) = w
                .prepare_with(&cat, MAX_PATHS, tables)
                .expect("a shipped scenario runs");
            whatif::compute(&e, &cat, &cfg, unwatched()).expect("runs")
        };
        let kept = Arc::new(QueueCache::default());
        g.bench_function(format!("{} update ({MAX_PATHS} paths)", s.stem), |b| {
            b.iter(|| update(kept.clone()))
        });
        g.bench_function(
            format!("{} first update ({MAX_PATHS} paths)", s.stem),
            |b| b.iter(|| update(Arc::default())),
        );
    }
    g.finish();
}

criterion_group!(benches, updates);
criterion_main!(benches);
