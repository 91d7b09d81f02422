//! Criterion benches of the simulation's parts: pricing one request, one path-month of W1,
//! a reduced W1 (200 paths), and one sweep point. Inputs are built outside the timed loops.
//! criterion is built without its plotters feature, so no fonts are needed.

use breakeven::analysis::sweep;
use breakeven::engine::{self, Engine, RunConfig};
use breakeven::pricing::{quote, Request, Size};
use breakeven::scenario::Scenario;
use breakeven::Catalogue;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

const W1: &str = include_str!("../scenarios/bench-w1.toml");
const STARTUP_GROWTH: &str = include_str!("../scenarios/startup-growth.toml");

/// startup-growth with `months` months: an autoscaler from zero GPUs (every hour stepped one
/// by one) and two queue-served hybrids, against the named API.
fn startup_growth(cat: &Catalogue, months: u32) -> Scenario {
    let mut s = Scenario::parse_with(
        STARTUP_GROWTH,
        "scenarios/startup-growth.toml",
        "startup-growth",
        cat,
        &["market.compare=named".parse().expect("an override")],
    )
    .expect("startup-growth loads");
    s.horizon_months = months;
    s
}

fn w1(cat: &Catalogue, months: Option<u32>) -> Engine {
    let mut s = Scenario::parse(W1, "scenarios/bench-w1.toml", "bench-w1", cat).expect("W1 loads");
    if let Some(m) = months {
        s.horizon_months = m;
    }
    Engine::new(s, cat).expect("W1 compiles")
}

fn pricing(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let api = cat.api("bfl/flux-2-pro").expect("offering").clone();
    let mut req = Request::image(Size::new(1024, 2048));
    req.inputs.push(Size::new(1024, 1024));
    let mut g = c.benchmark_group("pricing");
    g.throughput(Throughput::Elements(1));
    g.bench_function("quote FLUX.2 [pro] 2 MP with one input", |b| {
        b.iter(|| quote(&cat, black_box(&api), black_box(&req), None).expect("prices"))
    });
    g.finish();
}

fn path_month(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let e = w1(&cat, Some(1));
    // A heavy path: demand pinned at W1's 90th percentile, so hours saturate and are sampled.
    let mut cfg = RunConfig::new(1, 1);
    cfg.pins = vec![None; e.scenario.inputs.len()];
    cfg.pins[e.scenario.demand.monthly.0] = Some(3_000_000.0);
    let mut g = c.benchmark_group("path-month");
    g.throughput(Throughput::Elements(730));
    g.bench_function(
        "W1 one path-month at p90 demand (elements = path-hours)",
        |b| {
            b.iter_batched(
                || Xoshiro256PlusPlus::seed_from_u64(7),
                |mut rng| {
                    e.simulate_path(0, &mut rng, &cfg, false)
                        .expect("simulates")
                },
                BatchSize::SmallInput,
            )
        },
    );
    g.finish();
}

fn reduced_w1(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let e = w1(&cat, None);
    let paths = 200;
    let mut g = c.benchmark_group("w1");
    g.sample_size(20);
    g.throughput(Throughput::Elements(paths * e.hours_per_path()));
    for threads in [1, 2] {
        let mut cfg = RunConfig::new(paths, 1);
        cfg.threads = threads;
        g.bench_function(
            format!("W1 200 paths, {threads} thread(s) (elements = path-hours)"),
            |b| b.iter(|| engine::run(&e, &cfg, engine::unwatched()).expect("runs")),
        );
    }
    g.finish();
}

fn sweep_point(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let base = w1(&cat, None);
    let e = sweep::sweep_engine(&base.scenario, &cat).expect("sweep engine");
    let mut cfg = RunConfig::new(250, 1);
    cfg.threads = 1;
    let volumes = [2_000_000.0];
    let mut g = c.benchmark_group("sweep");
    g.throughput(Throughput::Elements(250));
    g.bench_function("one sweep point, 250 paths (elements = paths)", |b| {
        b.iter(|| sweep::run(&e, &cfg, black_box(&volumes), engine::unwatched()).expect("sweeps"))
    });
    g.finish();
}

fn hour_by_hour(c: &mut Criterion) {
    let cat = Catalogue::builtin().expect("catalogue");
    let e = Engine::new(startup_growth(&cat, 1), &cat).expect("compiles");
    let cfg = RunConfig::new(1, 1);
    let mut g = c.benchmark_group("hour-by-hour");
    g.throughput(Throughput::Elements(730));
    g.bench_function(
        "startup-growth one path-month, autoscaled and queue fleets (elements = path-hours)",
        |b| {
            b.iter_batched(
                || Xoshiro256PlusPlus::seed_from_u64(7),
                |mut rng| {
                    e.simulate_path(0, &mut rng, &cfg, false)
                        .expect("simulates")
                },
                BatchSize::SmallInput,
            )
        },
    );
    g.finish();
}

fn plan_round(c: &mut Criterion) {
    use breakeven::analysis::plan::{plan, PlanConfig};
    let cat = Catalogue::builtin().expect("catalogue");
    let s = startup_growth(&cat, 3);
    let mut cfg = PlanConfig::new(RunConfig::new(50, 1));
    cfg.run.threads = 1;
    cfg.screen_paths = 20;
    cfg.finalists = 2;
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    g.bench_function(
        "startup-growth over 3 months: every candidate on 20 paths, 2 finalists on 50",
        |b| b.iter(|| plan(&s, &cat, &cfg, engine::unwatched()).expect("plans")),
    );
    g.finish();
}

criterion_group!(
    benches,
    pricing,
    path_month,
    hour_by_hour,
    reduced_w1,
    sweep_point,
    plan_round
);
criterion_main!(benches);
