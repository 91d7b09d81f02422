//! The fast path: an hour's queue for one (servers, mix, policy) read from a table over
//! utilisation, instead of solved.
//!
//! Rows sit at ρ = 0, then at 160 utilisations spaced evenly in logit ρ = ln(ρ/(1 − ρ)) from
//! 10⁻³ to 1 − 10⁻⁴ (each 10% nearer to 0 or to saturation than the next), and, for a
//! threshold policy, at ρ = 1 and at 160 more spaced evenly in ln(ρ − 1) from 1 + 10⁻⁴ to
//! [`MAX_LOAD`]: dense where the figures change fastest, at both ends and on both sides of
//! saturation (where a threshold's overflow turns over a width of about E[S]/(c·X)). A row
//! keeps the overflow share, the chance to wait, the mean wait and the latency CDF at the
//! histogram's bin edges over the bins it spans, and is solved exactly the first time an hour
//! needs it (so a table costs nothing to make, and a run pays only for the rows its hours
//! visit; rows are pure functions of their utilisation, so results do not depend on which
//! thread built them). An hour mixes its two neighbouring rows at its place between them:
//! linearly for the latency CDF, geometrically for the positive figures (they grow like
//! powers and exponentials). Beyond [`MAX_LOAD`] a threshold hour scales the last row's
//! overflow (the accepted rate saturates); a never-overflow hour between 1 − 10⁻⁴ and 1 is
//! solved exactly (rare, and slow). Overflow at once needs no rows: Erlang B's recursion costs
//! c steps and latency is service alone.

use super::erlang::erlang_b;
use super::hour::QueueHour;
use super::latency::{bin_of, edge, LatencyHistogram, BINS, BINS_PER_DECADE};
use super::mgc::MAX_LOAD;
use super::mix::ServiceMix;
use super::policy::Policy;
use std::sync::OnceLock;

/// Rows spaced evenly in logit(ρ) from [`FIRST_RHO`] to 1 − [`GAP`].
const ROWS_LOGIT: usize = 160;
/// Rows below saturation: one at ρ = 0, then the logit rows.
const ROWS_BELOW: usize = ROWS_LOGIT + 1;
/// Rows above ρ = 1 (threshold policy only), evenly in ln(ρ − 1) from [`GAP`].
const ROWS_ABOVE: usize = 160;
/// Utilisation of the first logit row.
const FIRST_RHO: f64 = 1e-3;
/// Distance from saturation of the rows nearest to it.
const GAP: f64 = 1e-4;
/// Latency tail mass left out of a row's CDF.
const TAIL: f64 = 1e-12;
/// Points of the dense grid [`QueueTable::locate_lean`] reads between [`DENSE_BOTTOM`] and
/// [`DENSE_TOP`].
const DENSE: usize = 4096;
/// Points of its low part, evenly from ρ = 0 to [`DENSE_BOTTOM`] (where an autoscaler's or a
/// launch month's hours sit): 10⁻⁵ apart, so that the first logit row (ρ = 10⁻³, where the
/// place among the rows turns from linear in ρ to linear in logit ρ) is a point, the rows
/// above it (10⁻⁴ apart and more) are ten points apart or more, and an hour at ρ < 0.01
/// costs no logarithm either.
const LOW: usize = 1000;
const LOW_SCALE: f64 = LOW as f64 / DENSE_BOTTOM;
/// Utilisations between which the dense grid is read; outside, the rows. There the rows,
/// 10% apart in ρ/(1 − ρ), are at least four grid points apart.
const DENSE_BOTTOM: f64 = 0.01;
const DENSE_TOP: f64 = 0.99;
/// Grid points per unit of utilisation.
const DENSE_SCALE: f64 = DENSE as f64 / (DENSE_TOP - DENSE_BOTTOM);

fn logit(rho: f64) -> f64 {
    (rho / (1.0 - rho)).ln()
}

/// What the engine needs from one hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourSummary {
    /// Share of requests sent to the API.
    pub overflow_share: f64,
    /// Share of served requests that wait.
    pub prob_wait: f64,
    /// Mean wait of served requests [s] (∞ over capacity).
    pub mean_wait: f64,
    /// True when a never-overflow fleet is offered its capacity or more (ρ ≥ 1).
    pub over_capacity: bool,
}

impl HourSummary {
    fn of(hour: &QueueHour) -> Self {
        HourSummary {
            overflow_share: hour.overflow_share,
            prob_wait: hour.prob_wait,
            mean_wait: hour.mean_wait,
            over_capacity: hour.over_capacity,
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    rho: f64,
    summary: HourSummary,
    /// ln of the overflow share, the chance to wait and the mean wait (NaN where not positive
    /// and finite), so that blending two rows costs an exponential, not a power.
    ln: [f64; 3],
    /// Bin of the first CDF value.
    first: usize,
    /// CDF at the upper edges of bins first, first + 1, …; 1 beyond.
    cdf: Vec<f64>,
}

impl Row {
    fn of(hour: &QueueHour) -> Row {
        let first = bin_of(hour.mix().min_seconds());
        let last = bin_of(hour.latency_quantile(1.0 - TAIL)).max(first);
        let mut cdf: Vec<f64> = (first..last)
            .map(|k| hour.latency_cdf(edge(k + 1)))
            .collect();
        cdf.push(1.0);
        let ln = |x: f64| {
            if x > 0.0 && x.is_finite() {
                x.ln()
            } else {
                f64::NAN
            }
        };
        Row {
            rho: hour.utilisation,
            ln: [
                ln(hour.overflow_share),
                ln(hour.prob_wait),
                ln(hour.mean_wait),
            ],
            summary: HourSummary::of(hour),
            first,
            cdf,
        }
    }

    /// CDF at the upper edge of bin `k`.
    fn at(&self, k: usize) -> f64 {
        if k < self.first {
            0.0
        } else {
            *self.cdf.get(k - self.first).unwrap_or(&1.0)
        }
    }

    fn last(&self) -> usize {
        self.first + self.cdf.len() - 1
    }
}

/// Tabulated hours of one fleet size, service mix and policy; rows are solved on first use
/// and shared between threads.
#[derive(Debug)]
pub struct QueueTable {
    servers: u32,
    mix: ServiceMix,
    policy: Policy,
    rows: Vec<OnceLock<Row>>,
    /// The lean figures (overflow share, mean wait, place among the rows as row + weight) at
    /// the dense grid's points (see `dense_at`), each worked out from the rows on first use:
    /// an hour then blends two neighbouring points linearly, with no logarithm or exponential
    /// (empty for tables without rows).
    dense: Vec<OnceLock<[f64; 3]>>,
}

/// Where an hour falls among the rows.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    /// Between rows `lo` and `lo + 1` with weight `w` on the upper.
    Between(usize, f64),
    /// Beyond the last threshold row, at this utilisation.
    Above(f64),
    /// Not tabulated: solve.
    Exact,
}

impl QueueTable {
    /// A table for `servers` servers, service `mix` and `policy` (no row is solved yet).
    pub fn new(servers: u32, mix: &ServiceMix, policy: Policy) -> Self {
        let policy = policy.normalised();
        let n = match policy {
            _ if servers == 0 => 1,
            Policy::OverflowAtOnce => 1,
            Policy::NeverOverflow => ROWS_BELOW,
            Policy::OverflowAfter { .. } => ROWS_BELOW + 1 + ROWS_ABOVE,
        };
        let dense = if n >= ROWS_BELOW { LOW + DENSE + 1 } else { 0 };
        QueueTable {
            servers,
            mix: mix.clone(),
            policy,
            rows: (0..n).map(|_| OnceLock::new()).collect(),
            dense: (0..dense).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Utilisation of row `i`.
    fn rho_of(&self, i: usize) -> f64 {
        if i < ROWS_BELOW {
            below(i)
        } else if i == ROWS_BELOW {
            1.0
        } else {
            1.0 + above_gap(i - ROWS_BELOW - 1)
        }
    }

    fn row(&self, i: usize) -> &Row {
        self.rows[i].get_or_init(|| {
            let c = self.servers.max(1) as f64;
            let lam = self.rho_of(i) * c / self.mix.mean();
            Row::of(&QueueHour::solve(self.servers, lam, &self.mix, self.policy))
        })
    }

    /// Rows solved so far.
    pub fn rows_solved(&self) -> usize {
        self.rows.iter().filter(|r| r.get().is_some()).count()
    }

    fn lookup(&self, rho: f64) -> Lookup {
        let n = self.rows.len();
        if n == 1 {
            return Lookup::Exact;
        }
        if rho >= 1.0 {
            if n == ROWS_BELOW {
                return Lookup::Exact;
            }
            let g = rho - 1.0;
            if g < GAP {
                return Lookup::Between(ROWS_BELOW, g / GAP);
            }
            if rho >= 1.0 + above_gap(ROWS_ABOVE - 1) {
                return Lookup::Above(rho);
            }
            let (a, b) = (GAP.ln(), (MAX_LOAD - 1.0).ln());
            let pos = (g.ln() - a) / (b - a) * (ROWS_ABOVE - 1) as f64;
            let i = (pos.floor().max(0.0) as usize).min(ROWS_ABOVE - 2);
            return Lookup::Between(ROWS_BELOW + 1 + i, (pos - i as f64).clamp(0.0, 1.0));
        }
        let last = below(ROWS_BELOW - 1);
        if rho >= last {
            // Between the last row below saturation and ρ = 1.
            return if n > ROWS_BELOW {
                Lookup::Between(ROWS_BELOW - 1, (rho - last) / (1.0 - last))
            } else {
                Lookup::Exact
            };
        }
        if rho < FIRST_RHO {
            return Lookup::Between(0, rho / FIRST_RHO);
        }
        let (a, b) = (logit(FIRST_RHO), logit(1.0 - GAP));
        let pos = (logit(rho) - a) / (b - a) * (ROWS_LOGIT - 1) as f64;
        let i = (pos.floor().max(0.0) as usize).min(ROWS_LOGIT - 2);
        Lookup::Between(1 + i, (pos - i as f64).clamp(0.0, 1.0))
    }

    /// Utilisation of an hour at `arrival_rate` [requests/s].
    fn utilisation(&self, arrival_rate: f64) -> f64 {
        let lam = if arrival_rate > 0.0 {
            arrival_rate
        } else {
            0.0
        };
        if self.servers == 0 {
            return if lam > 0.0 { f64::INFINITY } else { 0.0 };
        }
        lam * self.mix.mean() / self.servers as f64
    }

    /// The hour's figures at `arrival_rate` [requests/s], without its latency.
    pub fn summary(&self, arrival_rate: f64) -> HourSummary {
        if matches!(self.policy, Policy::OverflowAtOnce) && self.servers > 0 {
            return self.erlang(arrival_rate);
        }
        self.summary_at(
            self.lookup(self.utilisation(arrival_rate)),
            arrival_rate,
            true,
        )
    }

    /// Overflow at once: Erlang B, no wait.
    fn erlang(&self, arrival_rate: f64) -> HourSummary {
        let lam = if arrival_rate > 0.0 {
            arrival_rate
        } else {
            0.0
        };
        HourSummary {
            overflow_share: erlang_b(self.servers, lam * self.mix.mean()),
            prob_wait: 0.0,
            mean_wait: 0.0,
            over_capacity: false,
        }
    }

    /// The figures at a place among the rows (the chance to wait left at 0 unless
    /// `prob_wait`: it costs an exponential and an engine needs only the other two).
    fn summary_at(&self, at: Lookup, arrival_rate: f64, prob_wait: bool) -> HourSummary {
        match at {
            Lookup::Between(i, w) => {
                let (a, b) = (self.row(i), self.row(i + 1));
                let mix = |j: usize, x: f64, y: f64| {
                    let (la, lb) = (a.ln[j], b.ln[j]);
                    if la.is_nan() || lb.is_nan() {
                        x + w * (y - x)
                    } else {
                        // a·(b/a)^w, as an exponential of the stored logarithms.
                        (la + w * (lb - la)).exp()
                    }
                };
                let (sa, sb) = (&a.summary, &b.summary);
                HourSummary {
                    overflow_share: mix(0, sa.overflow_share, sb.overflow_share),
                    prob_wait: if prob_wait {
                        mix(1, sa.prob_wait, sb.prob_wait)
                    } else {
                        0.0
                    },
                    mean_wait: mix(2, sa.mean_wait, sb.mean_wait),
                    over_capacity: false,
                }
            }
            Lookup::Above(rho) => {
                let last = self.row(self.rows.len() - 1);
                let mut s = last.summary;
                s.overflow_share = 1.0 - (1.0 - s.overflow_share) * last.rho / rho;
                s
            }
            Lookup::Exact => HourSummary::of(&QueueHour::solve(
                self.servers,
                arrival_rate,
                &self.mix,
                self.policy,
            )),
        }
    }

    /// Add an hour of `requests` arriving at `arrival_rate` [requests/s] to `hist` (served
    /// requests only, as [`LatencyHistogram::add_hour`]) and return its figures.
    pub fn add_hour(
        &self,
        hist: &mut LatencyHistogram,
        requests: f64,
        arrival_rate: f64,
    ) -> HourSummary {
        self.add_hour_delayed(hist, requests, arrival_rate, 0.0, 0.0)
    }

    /// [`add_hour`](Self::add_hour) with a share `delayed_share` of served requests waiting
    /// `delay_seconds` more (a cold start).
    pub fn add_hour_delayed(
        &self,
        hist: &mut LatencyHistogram,
        requests: f64,
        arrival_rate: f64,
        delayed_share: f64,
        delay_seconds: f64,
    ) -> HourSummary {
        let s = self.summary(arrival_rate);
        let served = requests * (1.0 - s.overflow_share);
        let (lo, hi, w) = match self.lookup(self.utilisation(arrival_rate)) {
            Lookup::Between(i, w) => (self.row(i), self.row(i + 1), w),
            Lookup::Above(_) => {
                let last = self.row(self.rows.len() - 1);
                (last, last, 0.0)
            }
            // Overflow at once, or no servers and no waiting: service time alone.
            Lookup::Exact
                if self.rows.len() == 1 && !matches!(self.policy, Policy::NeverOverflow) =>
            {
                (self.row(0), self.row(0), 0.0)
            }
            Lookup::Exact => {
                let h = QueueHour::solve(self.servers, arrival_rate, &self.mix, self.policy);
                hist.add_hour_delayed(requests, &h, delayed_share, delay_seconds);
                return s;
            }
        };
        let cdf_at = |k: usize| (1.0 - w) * lo.at(k) + w * hi.at(k);
        let first = lo.first.min(hi.first);
        let last = lo.last().max(hi.last());
        let share = delayed_share.clamp(0.0, 1.0);
        let delay = if delay_seconds > 0.0 {
            delay_seconds
        } else {
            0.0
        };
        if share == 0.0 || delay == 0.0 {
            hist.add_binned(served, first, last, cdf_at);
            return s;
        }
        hist.add_binned(served * (1.0 - share), first, last, cdf_at);
        // The delayed requests' CDF at t is the row CDF at t − delay, read between bin edges
        // on the log scale (the CDF at the lower edge of bin k is the value at the upper edge
        // of bin k − 1).
        let at_lower_edge = |k: usize| if k == 0 { 0.0 } else { cdf_at(k - 1) };
        let shifted = |t: f64| {
            let x = t - delay;
            if x < edge(first) {
                return 0.0;
            }
            let pos = (x / edge(0)).log10() * BINS_PER_DECADE as f64;
            let k = pos.floor() as usize;
            at_lower_edge(k) + (pos - k as f64) * (at_lower_edge(k + 1) - at_lower_edge(k))
        };
        hist.add_cdf_between(
            served * share,
            bin_of(edge(first) + delay),
            bin_of(edge(last + 1) + delay),
            shifted,
        );
        s
    }
}

/// Where an hour's latency sits among a table's rows: the hour's served requests have the
/// latency CDF `(1 − weight) × row[row] + weight × row[row + 1]` (see [`QueueTable::locate`]);
/// `row + 1` is always a row of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowPlace {
    /// Lower row.
    pub row: usize,
    /// Weight on the row above.
    pub weight: f64,
}

impl QueueTable {
    /// Rows of this table (a weight vector for [`QueueTable::write_rows`] has this length).
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Servers of this table.
    pub fn servers(&self) -> u32 {
        self.servers
    }

    /// The service mix of this table.
    pub fn mix(&self) -> &ServiceMix {
        &self.mix
    }

    /// The hour's figures at `arrival_rate` [requests/s] and where its latency sits among the
    /// rows, so that an engine can add `served × (1 − w)` and `served × w` to two row weights
    /// per hour and write all hours into a histogram once ([`QueueTable::write_rows`]): the
    /// same mass [`QueueTable::add_hour`] would add, without 2,000 bins per hour. `None` when
    /// the served requests' latency is their service time alone (overflow at once, no
    /// servers). A never-overflow hour between 1 − 10⁻⁴ and 1, which `add_hour` solves exactly,
    /// is placed on the last row below saturation (its latency is a steady state of hours).
    pub fn locate(&self, arrival_rate: f64) -> (HourSummary, Option<RowPlace>) {
        self.locate_with(arrival_rate, true)
    }

    /// [`QueueTable::locate`] without the chance to wait (`prob_wait` is 0): one exponential
    /// less an hour, for an engine that needs the overflow share and the mean wait only.
    ///
    /// Below ρ = 0.99 it reads a dense grid: linear between points 10⁻⁵ apart below ρ = 0.01
    /// and 1/4096 of the way from 0.01 to 0.99 above, within 0.5% (or 10⁻⁶) of [`QueueTable::locate`]'s geometric blend of the rows
    /// (tested).
    #[inline]
    pub fn locate_lean(&self, arrival_rate: f64) -> (HourSummary, Option<RowPlace>) {
        if arrival_rate >= 0.0 {
            if let Some((overflow_share, mean_wait, place)) =
                self.dense_at(self.utilisation(arrival_rate))
            {
                return (
                    HourSummary {
                        overflow_share,
                        prob_wait: 0.0,
                        mean_wait,
                        over_capacity: false,
                    },
                    Some(place),
                );
            }
        }
        self.locate_with(arrival_rate, false)
    }

    /// [`QueueTable::locate_lean`] at utilisation `rho` (ρ = λ·E[S]/c), for an engine that has
    /// the hour's utilisation: the overflow share, the mean wait and the place among the rows.
    #[inline(always)]
    pub fn locate_lean_at(&self, rho: f64) -> (f64, f64, Option<RowPlace>) {
        if let Some((overflow, wait, place)) = self.dense_at(rho) {
            return (overflow, wait, Some(place));
        }
        let lam = if self.servers == 0 {
            if rho > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        } else {
            rho * self.servers as f64 / self.mix.mean()
        };
        let (s, place) = self.locate_with(lam, false);
        (s.overflow_share, s.mean_wait, place)
    }

    /// The dense grid's overflow share, mean wait and place among the rows at utilisation
    /// `rho`; None outside the grid (ρ ≥ 0.99, not a number, or a table without rows).
    #[inline(always)]
    fn dense_at(&self, rho: f64) -> Option<(f64, f64, RowPlace)> {
        if self.dense.is_empty() || !(0.0..DENSE_TOP).contains(&rho) {
            return None;
        }
        // Point k of the grid: ρ = k / LOW_SCALE up to LOW, then
        // DENSE_BOTTOM + (k − LOW) / DENSE_SCALE.
        let (x, k) = if rho < DENSE_BOTTOM {
            let x = rho * LOW_SCALE;
            (x, (x as usize).min(LOW - 1))
        } else {
            let x = (rho - DENSE_BOTTOM) * DENSE_SCALE;
            (x + LOW as f64, LOW + (x as usize).min(DENSE - 1))
        };
        let f = x - k as f64;
        let (a, b) = (self.dense_point(k), self.dense_point(k + 1));
        let at = |j: usize| a[j] + f * (b[j] - a[j]);
        let pos = at(2);
        let row = (pos as usize).min(self.rows.len() - 2);
        Some((
            at(0),
            at(1),
            RowPlace {
                row,
                weight: (pos - row as f64).clamp(0.0, 1.0),
            },
        ))
    }

    /// Dense grid point `k`: the rows' figures at its utilisation (see `dense_at`).
    #[inline(always)]
    fn dense_point(&self, k: usize) -> [f64; 3] {
        *self.dense[k].get_or_init(|| {
            let rho = if k <= LOW {
                k as f64 / LOW_SCALE
            } else {
                DENSE_BOTTOM + (k - LOW) as f64 / DENSE_SCALE
            };
            let at = self.lookup(rho);
            let s = self.summary_at(at, rho * self.servers as f64 / self.mix.mean(), false);
            // Every utilisation below DENSE_TOP falls between two rows of a table with rows.
            let pos = match at {
                Lookup::Between(i, w) => i as f64 + w,
                _ => 0.0,
            };
            [s.overflow_share, s.mean_wait, pos]
        })
    }

    fn locate_with(&self, arrival_rate: f64, prob_wait: bool) -> (HourSummary, Option<RowPlace>) {
        if matches!(self.policy, Policy::OverflowAtOnce) && self.servers > 0 {
            return (self.erlang(arrival_rate), None);
        }
        let at = self.lookup(self.utilisation(arrival_rate));
        let place = match at {
            Lookup::Between(i, w) => Some(RowPlace { row: i, weight: w }),
            // `row + 1` is always a row, so callers can add to both without a check.
            Lookup::Above(_) => Some(RowPlace {
                row: self.rows.len() - 2,
                weight: 1.0,
            }),
            Lookup::Exact if self.rows.len() == 1 => None,
            Lookup::Exact => Some(RowPlace {
                row: ROWS_BELOW - 2,
                weight: 1.0,
            }),
        };
        let mut s = self.summary_at(at, arrival_rate, prob_wait);
        if !prob_wait {
            s.prob_wait = 0.0;
        }
        (s, place)
    }

    /// [`QueueTable::write_rows`] with no delay, each row's latency `shift` histogram bins
    /// later (a speed step is a bin: the latency of the same queue on a slower clock). False,
    /// with nothing written, when a shifted row would start below the histogram's first bin.
    pub fn write_rows_shifted(
        &self,
        hist: &mut LatencyHistogram,
        weights: &[f64],
        shift: i32,
    ) -> bool {
        if shift == 0 {
            self.write_rows(hist, weights, 0.0);
            return true;
        }
        let used = weights.iter().enumerate().take(self.rows.len());
        let used: Vec<(usize, f64)> = used
            .filter(|(_, w)| !w.is_nan() && **w > 0.0)
            .map(|(i, &w)| (i, w))
            .collect();
        let fits = |i: usize| {
            let first = self.row(i).first as i64 + shift as i64;
            (0..BINS as i64).contains(&first)
        };
        if !used.iter().all(|&(i, _)| fits(i)) {
            return false;
        }
        for (i, w) in used {
            let r = self.row(i);
            let at = |k: usize| r.at((k as i64 - shift as i64) as usize);
            let first = (r.first as i64 + shift as i64) as usize;
            let last = (r.last() as i64 + shift as i64) as usize;
            hist.add_binned(w, first, last, at);
        }
        true
    }

    /// Write requests recorded against rows (`weights[i]` served requests with row i's latency,
    /// e.g. from [`QueueTable::locate`]) into `hist`, each `delay_seconds` later (a cold start;
    /// 0 for none). Rows with a weight are solved if they are not yet.
    pub fn write_rows(&self, hist: &mut LatencyHistogram, weights: &[f64], delay_seconds: f64) {
        let delay = if delay_seconds > 0.0 {
            delay_seconds
        } else {
            0.0
        };
        for (i, &w) in weights.iter().enumerate().take(self.rows.len()) {
            if w.is_nan() || w <= 0.0 {
                continue;
            }
            let r = self.row(i);
            if delay == 0.0 {
                hist.add_binned(w, r.first, r.last(), |k| r.at(k));
                continue;
            }
            let at_lower_edge = |k: usize| if k == 0 { 0.0 } else { r.at(k - 1) };
            let shifted = |t: f64| {
                let x = t - delay;
                if x < edge(r.first) {
                    return 0.0;
                }
                let pos = (x / edge(0)).log10() * BINS_PER_DECADE as f64;
                let k = pos.floor() as usize;
                at_lower_edge(k) + (pos - k as f64) * (at_lower_edge(k + 1) - at_lower_edge(k))
            };
            hist.add_cdf_between(
                w,
                bin_of(edge(r.first) + delay),
                bin_of(edge(r.last() + 1) + delay),
                shifted,
            );
        }
    }
}

/// Utilisation of row k below saturation: 0, then evenly in logit.
fn below(k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let (a, b) = (logit(FIRST_RHO), logit(1.0 - GAP));
    let p = a + (b - a) * (k - 1) as f64 / (ROWS_LOGIT - 1) as f64;
    1.0 / (1.0 + (-p).exp())
}

/// ρ − 1 of row k above saturation, evenly in its logarithm from [`GAP`] to MAX_LOAD − 1.
fn above_gap(k: usize) -> f64 {
    let (a, b) = (GAP.ln(), (MAX_LOAD - 1.0).ln());
    (a + (b - a) * k as f64 / (ROWS_ABOVE - 1) as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w1() -> ServiceMix {
        ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).unwrap()
    }

    /// The dense grid `locate_lean` reads against the rows' own geometric blend (`locate`)
    /// at 20,000 utilisations over the grid's range, for each policy with rows, one and several
    /// servers, one and four service times: overflow share and mean wait within 0.5% (or
    /// 10⁻⁶ absolute), the place among the rows within 10⁻³ of a row.
    #[test]
    fn the_dense_grid_agrees_with_the_rows() {
        let mut worst = [0.0f64; 3];
        for mix in [ServiceMix::deterministic(0.57).unwrap(), w1()] {
            for policy in [
                Policy::NeverOverflow,
                Policy::OverflowAfter {
                    max_wait_seconds: 10.0,
                },
                Policy::OverflowAfter {
                    max_wait_seconds: 60.0,
                },
            ] {
                for servers in [1, 2, 8] {
                    let t = QueueTable::new(servers, &mix, policy);
                    // The low part (ρ < 0.01) and the rest, 20,000 utilisations each.
                    let low = (0..20_000).map(|k| k as f64 / 20_000.0 * DENSE_BOTTOM);
                    let high = (1..20_000)
                        .map(|k| DENSE_BOTTOM + k as f64 / 20_000.0 * (DENSE_TOP - DENSE_BOTTOM));
                    for rho in low.chain(high) {
                        let lam = rho * servers as f64 / mix.mean();
                        let (a, pa) = t.locate_lean(lam);
                        let (b, pb) = t.locate_with(lam, false);
                        let rel = |x: f64, y: f64| {
                            let d = (x - y).abs();
                            if d <= 1e-6 {
                                0.0
                            } else {
                                d / y.abs()
                            }
                        };
                        let (pa, pb) = (pa.unwrap(), pb.unwrap());
                        let pos = |p: RowPlace| p.row as f64 + p.weight;
                        let errs = [
                            rel(a.overflow_share, b.overflow_share),
                            rel(a.mean_wait, b.mean_wait),
                            (pos(pa) - pos(pb)).abs(),
                        ];
                        let case = format!(
                            "c={servers} {policy:?} rho={rho}: {a:?} {pa:?} vs {b:?} {pb:?}"
                        );
                        assert!(errs[0] <= 5e-3 && errs[1] <= 5e-3, "{case}");
                        assert!(errs[2] <= 1e-3, "{case}");
                        for j in 0..3 {
                            worst[j] = worst[j].max(errs[j]);
                        }
                    }
                }
            }
        }
        eprintln!(
            "dense grid, worst: overflow {:.2e}, wait {:.2e}, place {:.2e}",
            worst[0], worst[1], worst[2]
        );
    }

    /// A never-overflow queue at another speed is the same queue on another clock: the table
    /// solved at speed step k gives the waits of step 0's table times the step's speed, the same
    /// place among the rows, and the latency of step 0's rows moved k bins
    /// (`QueueCache::table` reads step 0's table at every speed). Held for one, two and eight
    /// servers, one and four service times, steps from −80 (a speed factor of 0.40) to +80
    /// (2.5), at utilisations from 0 to 0.999: waits within 10⁻⁹ (or 10⁻¹² s), the place within 10⁻⁹ of a
    /// row, latency quantiles within 10⁻⁹ (relative).
    #[test]
    fn a_never_overflow_table_at_another_speed_is_step_zeros_on_another_clock() {
        use crate::fleet::speed_of_step;
        let mut worst = [0.0f64; 2];
        for mix in [ServiceMix::deterministic(0.57).unwrap(), w1()] {
            for servers in [1, 2, 8] {
                let base = QueueTable::new(servers, &mix, Policy::NeverOverflow);
                for step in [-80, -13, 1, 25, 80] {
                    let s = speed_of_step(step);
                    let scaled = mix.scaled(s).unwrap();
                    let at = QueueTable::new(servers, &scaled, Policy::NeverOverflow);
                    let mut weights = vec![0.0; base.rows()];
                    for k in 0..=200 {
                        let rho = 0.999 * k as f64 / 200.0;
                        let (_, w0, p0) = base.locate_lean_at(rho);
                        let (_, wk, pk) = at.locate_lean_at(rho);
                        let rel = (wk - w0 * s).abs() / (w0 * s).max(1e-300);
                        assert!(
                            rel <= 1e-9 || (wk - w0 * s).abs() < 1e-12,
                            "c={servers} step {step} rho {rho}: wait {wk} vs {}",
                            w0 * s
                        );
                        worst[0] = worst[0].max(if w0 > 0.0 { rel } else { 0.0 });
                        let same_place = match (p0, pk) {
                            (Some(a), Some(b)) => {
                                a.row == b.row && (a.weight - b.weight).abs() < 1e-9
                            }
                            (a, b) => a == b,
                        };
                        assert!(
                            same_place,
                            "c={servers} step {step} rho {rho}: {p0:?} {pk:?}"
                        );
                        if let Some(p) = p0 {
                            weights[p.row] += 1.0 + k as f64;
                        }
                    }
                    let mut direct = LatencyHistogram::new();
                    at.write_rows(&mut direct, &weights, 0.0);
                    let mut moved = LatencyHistogram::new();
                    assert!(base.write_rows_shifted(&mut moved, &weights, step));
                    assert!((direct.total() / moved.total() - 1.0).abs() < 1e-12);
                    for q in [0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999] {
                        let (a, b) = (direct.quantile(q), moved.quantile(q));
                        let rel = (a / b - 1.0).abs();
                        worst[1] = worst[1].max(rel);
                        assert!(rel <= 1e-9, "c={servers} step {step} q {q}: {a} vs {b}");
                    }
                }
            }
        }
        eprintln!(
            "never-overflow tables across speeds, worst: wait {:.1e}, latency quantile {:.1e}",
            worst[0], worst[1]
        );
    }

    /// Relative agreement of the tabulated and exact paths, stated in the module doc.
    const QUANTILE_TOLERANCE: f64 = 0.01;

    fn check(servers: u32, mix: &ServiceMix, policy: Policy, rhos: &[f64]) {
        let table = QueueTable::new(servers, mix, policy);
        for &rho in rhos {
            let lam = rho * servers as f64 / mix.mean();
            let exact = QueueHour::solve(servers, lam, mix, policy);
            let (mut fast, mut slow) = (LatencyHistogram::new(), LatencyHistogram::new());
            let s = table.add_hour(&mut fast, 100.0, lam);
            slow.add_hour(100.0, &exact);
            assert_eq!(s.over_capacity, exact.over_capacity);
            if exact.over_capacity {
                assert_eq!(fast, slow);
                continue;
            }
            let ov = (s.overflow_share - exact.overflow_share).abs();
            assert!(
                ov <= 0.01 * exact.overflow_share + 1e-4,
                "c={servers} rho={rho}: {} vs {}",
                s.overflow_share,
                exact.overflow_share
            );
            assert!(
                (s.prob_wait - exact.prob_wait).abs() <= 0.01 * exact.prob_wait + 1e-4,
                "c={servers} rho={rho}: {} vs {}",
                s.prob_wait,
                exact.prob_wait
            );
            assert!(
                (s.mean_wait - exact.mean_wait).abs() <= 0.02 * exact.mean_wait + 1e-3,
                "c={servers} rho={rho}: {} vs {}",
                s.mean_wait,
                exact.mean_wait
            );
            for q in [0.5, 0.95, 0.99] {
                let (a, b) = (fast.quantile(q), slow.quantile(q));
                if b.is_finite() {
                    assert!(
                        (a / b - 1.0).abs() <= QUANTILE_TOLERANCE,
                        "c={servers} rho={rho} {policy:?} q={q}: {a} vs {b}"
                    );
                } else {
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn tabulated_never_agrees_with_exact() {
        let rhos = [
            0.01, 0.33, 0.61, 0.87, 0.935, 0.978, 0.9961, 0.99995, 1.0, 1.7,
        ];
        check(
            1,
            &ServiceMix::deterministic(0.57).unwrap(),
            Policy::NeverOverflow,
            &rhos,
        );
        check(3, &w1(), Policy::NeverOverflow, &rhos);
    }

    #[test]
    fn tabulated_threshold_agrees_with_exact() {
        let rhos = [0.01, 0.45, 0.83, 0.97, 0.9993, 1.04, 2.3, 17.0, 450.0, 3e4];
        let after = Policy::OverflowAfter {
            max_wait_seconds: 10.0,
        };
        check(2, &w1(), after, &rhos);
        check(8, &ServiceMix::deterministic(3.0).unwrap(), after, &rhos);
    }

    #[test]
    fn overflow_at_once_needs_no_table() {
        let t = QueueTable::new(4, &w1(), Policy::OverflowAtOnce);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows_solved(), 0);
        check(4, &w1(), Policy::OverflowAtOnce, &[0.0, 0.5, 1.0, 30.0]);
    }

    #[test]
    fn delayed_share_agrees_with_exact() {
        let mix = w1();
        let table = QueueTable::new(2, &mix, Policy::NeverOverflow);
        let lam = 0.8 * 2.0 / mix.mean();
        let exact = QueueHour::solve(2, lam, &mix, Policy::NeverOverflow);
        let (mut fast, mut slow) = (LatencyHistogram::new(), LatencyHistogram::new());
        table.add_hour_delayed(&mut fast, 50.0, lam, 0.1, 70.0);
        slow.add_hour_delayed(50.0, &exact, 0.1, 70.0);
        for q in [0.5, 0.85, 0.95, 0.99] {
            let (a, b) = (fast.quantile(q), slow.quantile(q));
            assert!(
                (a / b - 1.0).abs() <= QUANTILE_TOLERANCE,
                "q={q}: {a} vs {b}"
            );
        }
    }

    /// Hours recorded as row weights and written once give the histogram that adding each
    /// hour gives, and the same figures.
    #[test]
    fn row_weights_write_what_add_hour_adds() {
        let mix = w1();
        for (servers, policy) in [
            (2, Policy::NeverOverflow),
            (
                3,
                Policy::OverflowAfter {
                    max_wait_seconds: 10.0,
                },
            ),
        ] {
            let table = QueueTable::new(servers, &mix, policy);
            let (mut direct, mut deferred) = (LatencyHistogram::new(), LatencyHistogram::new());
            let mut weights = vec![0.0; table.rows()];
            let mut delayed = vec![0.0; table.rows()];
            for (k, rho) in [0.05, 0.4, 0.77, 0.93, 0.99, 0.99997, 1.3, 7.0, 2e3]
                .iter()
                .enumerate()
            {
                // Never-overflow hours at ρ ≥ 1 − 10⁻⁴ are placed on the last row (documented).
                if *rho >= 1.0 - 1e-4 && policy == Policy::NeverOverflow {
                    continue;
                }
                let lam = rho * servers as f64 / mix.mean();
                let requests = 1000.0 + 300.0 * k as f64;
                let s = table.add_hour_delayed(&mut direct, requests, lam, 0.2, 30.0);
                let (s2, place) = table.locate(lam);
                assert_eq!(s, s2);
                let served = requests * (1.0 - s2.overflow_share);
                let p = place.expect("a queue has rows");
                for (v, share) in [(&mut weights, 0.8), (&mut delayed, 0.2)] {
                    v[p.row] += served * share * (1.0 - p.weight);
                    v[p.row + 1] += served * share * p.weight;
                }
            }
            table.write_rows(&mut deferred, &weights, 0.0);
            table.write_rows(&mut deferred, &delayed, 30.0);
            assert!((direct.total() / deferred.total() - 1.0).abs() < 1e-9);
            // Away from 0.8, where the delayed fifth begins and a quantile jumps.
            for q in [0.1, 0.5, 0.7, 0.9, 0.95, 0.99] {
                let (a, b) = (direct.quantile(q), deferred.quantile(q));
                assert!((a / b - 1.0).abs() < 0.012, "{policy:?} q={q}: {a} vs {b}");
            }
        }
        assert!(QueueTable::new(2, &mix, Policy::OverflowAtOnce)
            .locate(1.0)
            .1
            .is_none());
    }

    #[test]
    fn no_servers_and_no_requests() {
        for pol in [
            Policy::OverflowAtOnce,
            Policy::OverflowAfter {
                max_wait_seconds: 3.0,
            },
            Policy::NeverOverflow,
        ] {
            let t = QueueTable::new(0, &w1(), pol);
            let mut h = LatencyHistogram::new();
            let s = t.add_hour(&mut h, 10.0, 1.0);
            if pol == Policy::NeverOverflow {
                assert!(s.over_capacity);
                assert_eq!(h.unbounded(), 10.0);
            } else {
                assert_eq!(s.overflow_share, 1.0);
                assert_eq!(h.total(), 0.0);
            }
            let t = QueueTable::new(3, &w1(), pol);
            let s = t.add_hour(&mut h, 0.0, 0.0);
            assert_eq!(s.overflow_share, 0.0);
        }
    }
}
