//! Queueing inside an hour (issue 12): the overflow share, the wait and the end-to-end
//! latency (wait + service) of a fleet of c servers in one simulated hour, and a mergeable,
//! request-weighted latency histogram for a whole horizon.
//!
//! # Model and assumptions
//! Within an hour arrivals are Poisson at a constant rate λ [requests/s]; service times are a
//! [`ServiceMix`] of deterministic times (one per resolution bucket); c identical servers take
//! requests first come first served; the hour is in steady state (see "Saturation"). Three
//! [`Policy`]s: overflow at once (a request finding every server busy goes to the API), overflow
//! after X seconds (a request whose wait would exceed X goes to the API on arrival; the fleet
//! knows the work ahead), and never overflow. Latency is that of requests the fleet serves;
//! an overflowed request's latency is the API's (add it with [`LatencyHistogram::add_point`]).
//!
//! # Method
//! - Overflow at once: Erlang B ([`erlang`]), insensitive to the service law, by a recursion
//!   of positive terms (any c, any load). Latency is the service time.
//! - Waiting (both other policies), [`mgc`]: idle states in the loss system's proportions;
//!   while all servers are busy, one pooled virtual wait that falls at rate 1 and jumps by S/c
//!   when a request joins, entered through the law of min(S, R₁, …, R_{c−1}) (R the
//!   equilibrium residual service, mean exactly E[S]/c); the density of that wait solves a
//!   linear Volterra equation, integrated on a grid and continued by its exact exponential
//!   tail; requests that would wait more than X are cut. This is exact for M/G/1 (with or
//!   without a threshold), for M/M/c and, at X = 0, Erlang B; its tail decays at the exact
//!   M/G/c rate. The rate of entering "all busy" is scaled so that without a threshold the
//!   chance to wait is the exact M/D/c one (Crommelin, [`mdc`]), interpolated to Erlang C's by
//!   the squared coefficient of variation (SCV), and faded in over a threshold of about one
//!   mean service time, so that short thresholds keep Erlang B.
//! - Latency = wait + service, the wait being independent of the request's own service time
//!   under FIFO: P(L > t) = Σᵢ pᵢ P(W > t − sᵢ) ([`QueueHour`]).
//! - Fast path, [`table`]: per (c, mix, policy), rows over utilisation solved exactly on first
//!   use and interpolated; [`QueueTable::add_hour`] writes an hour into a [`LatencyHistogram`]
//!   (fixed log bins, integer masses, so merging is exact and order-free).
//! - Cold starts: a share of requests waiting a fixed extra delay,
//!   [`QueueTable::add_hour_delayed`] / [`LatencyHistogram::add_hour_delayed`].
//! - Sizing: [`servers_for_latency`], the fewest servers meeting a latency quantile, by bisection.
//!
//! # Saturation
//! Never-overflow hours at ρ = λE[S]/c ≥ 1 have no steady state: [`QueueHour::over_capacity`]
//! is set, wait figures are ∞ and the histogram counts the served requests as unbounded, so
//! the engine can keep its fluid backlog there (it may instead add such hours with
//! [`LatencyHistogram::add_point`] at its fluid wait). Just below 1 the steady state takes
//! longer than an hour to set in (relaxation time about E[S]·(1 + SCV)/(2c(1 − √ρ)²), an
//! hour at ρ ≈ 0.98 for c = 1 and 0.57 s), so there the figures are upper bounds. A threshold
//! policy is stable at any load; above ρ = 1000 its accepted rate is held at that load's.
//!
//! # Error against the simulation ([`des`])
//! Full grid (`agreement.rs`, run in release with `--ignored`): ρ = 0.3, 0.5, 0.7, 0.8, 0.9,
//! 0.95, 0.98; c = 1, 2, 4, 8, 16; 2M requests per case (8M at ρ = 0.95, 24M at 0.98, where
//! the simulation's own standard error of the p95 is 1–3%). Worst case per row:
//!
//! | service | policy | p95 latency | overflow share |
//! |---|---|---|---|
//! | 0.57 s deterministic | at once | exact | ≤ 0.05 pp (Erlang B) |
//! | 0.57 s deterministic | after 10 s | +4.0% (c = 2, ρ = 0.5) | ≤ 0.02 pp |
//! | 0.57 s deterministic | never | +4.0% (c = 2, ρ = 0.5) | — |
//! | W1 mix (SCV 0.54) | at once | exact | ≤ 0.06 pp |
//! | W1 mix | after 10 s | +1.1% | ≤ 0.03 pp (≤ 0.4% relative) |
//! | W1 mix | never | +4.9% (c = 1, ρ = 0.98; 1.7 standard errors, M/G/1 is exact) | — |
//!
//! Every case is within a third of its tolerance (10% relative or 0.3 pp on overflow, 15% on
//! p95). Also checked by hand: a long-tailed mix (SCV 4.7) within 3% on p95 and 0.1 pp on
//! overflow, and thresholds shorter than a service time (worst: c = 8, ρ = 0.7, X = 0.1 s,
//! overflow 5.2% against 5.5%). The chance to wait for mixes is low by up to 2 points at
//! c ≥ 8. Outside the tested region: c above 16 rests on the same construction (the exact
//! M/D/c delay probability holds for any c), not on simulation.
//!
//! # Cost (criterion, `benches/queue.rs`, one core of this machine)
//! Exact solve: 32 µs (0.57 s, c = 4) to 0.41 ms (W1 mix; the grid scales with the ratio of
//! longest to shortest service time). Tabulated hour added to the histogram: 3.5 µs (4.3 µs
//! with a cold-start share), its summary alone 69 ns; a table's first month visits about 30
//! rows, 12 ms once. Erlang B: 1.3 µs at c = 300. Histogram merge 1.9 µs, quantile 3 µs.
//! Tabulated against exact: quantiles within 1%, overflow within 1% relative (`table.rs` tests).
//!
//! References: Erlang (1917); Crommelin, "Delay probability formulae when the holding times
//! are constant" (1932); Cosmetatos (1976) and Lee and Longton (1959) on the SCV scaling;
//! Kiefer and Wolfowitz (1955) for the FIFO recursion of the simulation; facts.md
//! (December 2026) for the reference thresholds.

pub mod des;
pub mod erlang;
pub mod hour;
pub mod latency;
pub mod mdc;
pub mod mgc;
pub mod mix;
pub mod policy;
pub mod sizing;
pub mod table;

pub use erlang::{erlang_b, erlang_c};
pub use hour::QueueHour;
pub use latency::LatencyHistogram;
pub use mix::{Bucket, MixError, ServiceMix};
pub use policy::Policy;
pub use sizing::servers_for_latency;
pub use table::{HourSummary, QueueTable, RowPlace};

#[cfg(test)]
mod agreement;
