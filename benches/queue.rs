//! Criterion benches of the queue module: the exact per-hour solve, a tabulated hour added to
//! the latency histogram (the engine's per-hour cost), a table's first use, and the
//! histogram's merge and quantile. Inputs are built outside the timed loops.

use breakeven::queue::{erlang_b, LatencyHistogram, Policy, QueueHour, QueueTable, ServiceMix};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

fn w1() -> ServiceMix {
    ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).expect("mix")
}

const AFTER_10: Policy = Policy::OverflowAfter {
    max_wait_seconds: 10.0,
};

/// 730 arrival rates of a month for 4 servers of W1: utilisation swinging 0.2–1.2.
fn month_rates(mix: &ServiceMix) -> Vec<f64> {
    (0..730)
        .map(|h| {
            let day = (h % 24) as f64 / 24.0 * std::f64::consts::TAU;
            let rho = 0.7 + 0.5 * day.sin();
            rho * 4.0 / mix.mean()
        })
        .collect()
}

fn exact(c: &mut Criterion) {
    let det = ServiceMix::deterministic(0.57).expect("mix");
    let mix = w1();
    let mut g = c.benchmark_group("queue exact");
    g.throughput(Throughput::Elements(1));
    g.bench_function("erlang_b c=300", |b| {
        b.iter(|| erlang_b(black_box(300), black_box(270.0)))
    });
    g.bench_function("solve 0.57 s, c=4, ρ=0.9, never", |b| {
        b.iter(|| QueueHour::solve(4, black_box(0.9 * 4.0 / 0.57), &det, Policy::NeverOverflow))
    });
    g.bench_function("solve W1, c=4, ρ=0.9, after 10 s", |b| {
        b.iter(|| QueueHour::solve(4, black_box(0.9 * 4.0 / mix.mean()), &mix, AFTER_10))
    });
    g.bench_function("solve W1, c=4, ρ=0.9, after 10 s, + p95", |b| {
        b.iter(|| {
            QueueHour::solve(4, black_box(0.9 * 4.0 / mix.mean()), &mix, AFTER_10)
                .latency_quantile(0.95)
        })
    });
    g.finish();
}

fn tabulated(c: &mut Criterion) {
    let mix = w1();
    let rates = month_rates(&mix);
    let warm = QueueTable::new(4, &mix, AFTER_10);
    let mut hist = LatencyHistogram::new();
    for &r in &rates {
        warm.add_hour(&mut hist, 1000.0, r);
    }
    let mut g = c.benchmark_group("queue tabulated");
    g.throughput(Throughput::Elements(rates.len() as u64));
    g.bench_function(
        "add 730 hours, W1, c=4, after 10 s (elements = hours)",
        |b| {
            b.iter(|| {
                for &r in &rates {
                    black_box(warm.add_hour(&mut hist, 1000.0, black_box(r)));
                }
            })
        },
    );
    g.bench_function(
        "add 730 hours with a cold start share (elements = hours)",
        |b| {
            b.iter(|| {
                for &r in &rates {
                    black_box(warm.add_hour_delayed(&mut hist, 1000.0, black_box(r), 0.05, 70.0));
                }
            })
        },
    );
    g.bench_function("summary only, 730 hours (elements = hours)", |b| {
        b.iter(|| {
            for &r in &rates {
                black_box(warm.summary(black_box(r)));
            }
        })
    });
    g.finish();
    let mut g = c.benchmark_group("queue table first use");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rates.len() as u64));
    g.bench_function("new table, then 730 hours (elements = hours)", |b| {
        b.iter_batched(
            || QueueTable::new(4, &mix, AFTER_10),
            |t| {
                let mut h = LatencyHistogram::new();
                for &r in &rates {
                    t.add_hour(&mut h, 1000.0, r);
                }
                t.rows_solved()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn histogram(c: &mut Criterion) {
    let mix = w1();
    let t = QueueTable::new(4, &mix, Policy::NeverOverflow);
    let mut a = LatencyHistogram::new();
    for &r in &month_rates(&mix) {
        t.add_hour(&mut a, 1000.0, r.min(3.9 / mix.mean()));
    }
    let mut g = c.benchmark_group("queue histogram");
    g.throughput(Throughput::Elements(1));
    g.bench_function("merge", |b| {
        b.iter_batched(
            LatencyHistogram::new,
            |mut h| {
                h.merge(black_box(&a));
                h
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("p95", |b| b.iter(|| black_box(&a).quantile(0.95)));
    g.finish();
}

criterion_group!(benches, exact, tabulated, histogram);
criterion_main!(benches);
