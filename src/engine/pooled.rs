//! A bursty month's hours pooled by their rate: the lean month loops
//! ([`super::hour`]'s `stateless_queue_month` and `pool_queue_month`) take every hour of a
//! fleet that carries nothing between hours at the hour's rate, `vm × share × burst`; with
//! bursts every hour has its own, so a month is 730 table reads and bill reads a fleet. Hours
//! whose `share × burst` falls in the same bin, at most 2⁻⁴ (6.25%) wide, are taken once: the
//! figures of a request (images served and overflowed, busy time, waits, latency rows, cold
//! starts) at the bin's request-weighted mean rate, those of an hour (capacity, GPU-hours, a
//! pool's idle billed time) at its mean rate. That is exact where an hour's figures are
//! linear in its rate and off by the bin's spread squared times their curvature otherwise:
//! a few 10⁻⁵ of a path's figures where a queue is below [`POOLED_BELOW`] of its capacity;
//! above it the hours are taken one by one, where waits and overflow bend fastest (pooled
//! there, startup-growth's figures moved 5·10⁻³). The month's first [`HourBins::head`] hours,
//! which open an autoscaler one by one, and its last, whose serverless bill is the state the
//! next month starts from, are always taken one by one. Reference: the lean loops hour by hour
//! (`Engine::pooled_queue_hours = false`); test
//! `pooled_queue_hours_are_the_hours_taken_one_by_one`.

/// Bits of the mantissa of `share × burst` that key its bin: bins at most 2⁻⁴ of their rate
/// wide (a bursty month's 730 hours fall in 80–100 of them in the shipped scenarios; 2⁻⁶
/// made 280, for errors a sixteenth as large).
const BIN_BITS: u32 = 4;

/// Widest span of keys a month is binned over (64 octaves of rates).
const MAX_SPAN: u64 = 64 << BIN_BITS;

/// Utilisation of a fleet's busiest hour in a bin below which the bin is taken once: above
/// it, waits and overflow shares curve too fast for a bin's mean to stand for its hours.
pub const POOLED_BELOW: f64 = 0.5;

/// One bin: the count of its hours, the sums of their `share × burst` and its square, and
/// their smallest and largest.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    pub hours: f64,
    pub sum: f64,
    pub sum_sq: f64,
    pub min: f64,
    pub max: f64,
}

impl Bin {
    /// A bin without hours.
    pub const EMPTY: Bin = Bin {
        hours: 0.0,
        sum: 0.0,
        sum_sq: 0.0,
        min: f64::INFINITY,
        max: 0.0,
    };

    /// Add an hour at `u` (share × burst, ≥ 0).
    #[inline(always)]
    pub fn add(&mut self, u: f64) {
        self.hours += 1.0;
        self.sum += u;
        self.sum_sq += u * u;
        self.min = if u < self.min { u } else { self.min };
        self.max = if u > self.max { u } else { self.max };
    }

    /// The bin's request-weighted mean `share × burst` (its hours' rates weighted by their
    /// requests, which are proportional to the rate), and the number of hours at that rate
    /// that make the bin's requests: `sum / mean`. (0, 0) for hours without requests.
    #[inline]
    pub fn representative(&self) -> (f64, f64) {
        if self.sum > 0.0 {
            let mean = self.sum_sq / self.sum;
            (mean, self.sum / mean)
        } else {
            (0.0, 0.0)
        }
    }
}

/// A month's hours `[head, len - 1)` in bins of nearby `share × burst` (built once a
/// path-month, read by every fleet).
#[derive(Debug, Clone, Default)]
pub struct HourBins {
    /// Hours before this one, and the month's last, are taken one by one.
    pub head: usize,
    /// The month's hours.
    pub len: usize,
    pub bins: Vec<Bin>,
    /// The bin of each hour `head + i`.
    bin_of: Vec<u16>,
}

impl HourBins {
    /// Bin the hours of a month with these shares and bursts, whose `share × burst` above 0
    /// lie in `lo..=hi`, leaving the first `head` and the last to be taken one by one; false
    /// (and no bins) when they span more than [`MAX_SPAN`] bins, which bursts never reach.
    /// Bins are kept for every key in the span (a month's bursts make a few dozen, most
    /// occupied), after a first for the hours without requests.
    pub fn build(&mut self, shares: &[f64], bursts: &[f64], head: usize, lo: f64, hi: f64) -> bool {
        self.len = shares.len();
        self.head = head.min(self.len);
        self.bins.clear();
        self.bin_of.clear();
        let key = |u: f64| u.to_bits() >> (52 - BIN_BITS);
        // Keys are monotone in u > 0.
        let (first, span) = (key(lo), key(hi).wrapping_sub(key(lo)));
        if !(lo > 0.0 && hi >= lo && span < MAX_SPAN) {
            return false;
        }
        self.bins.resize(span as usize + 2, Bin::EMPTY);
        let hours = self.binned();
        self.bin_of.resize(hours.len(), 0);
        let (bins, bin_of) = (&mut self.bins[..], &mut self.bin_of[..]);
        for (t, slot) in hours.zip(bin_of) {
            let u = shares[t] * bursts[t];
            let k = if u > 0.0 {
                (key(u) - first) as usize + 1
            } else {
                0
            };
            bins[k].add(u);
            *slot = k as u16;
        }
        true
    }

    /// The hours in bins.
    fn binned(&self) -> std::ops::Range<usize> {
        self.head..self.len.saturating_sub(1).max(self.head)
    }

    /// The bin of hour `t`, if it is in one.
    #[inline]
    pub fn bin_at(&self, t: usize) -> Option<usize> {
        t.checked_sub(self.head)
            .and_then(|i| self.bin_of.get(i))
            .map(|&b| b as usize)
    }

    /// Each hour in a bin, by time, with its bin.
    pub fn binned_hours(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (self.head..)
            .zip(&self.bin_of)
            .map(|(t, &b)| (t, b as usize))
    }

    /// Take the month: its first hours one by one, then every bin `pooled` admits at once,
    /// then the hours of the other bins one by one in time order, then its last hour.
    pub fn take(&self, pooled: impl Fn(&Bin) -> bool, mut each: impl FnMut(Part<'_>)) {
        for t in 0..self.head {
            each(Part::Hour(t));
        }
        let mut apart = false;
        for b in self.bins.iter().filter(|b| b.hours > 0.0) {
            if pooled(b) {
                each(Part::Bin(b));
            } else {
                apart = true;
            }
        }
        if apart {
            for (t, b) in self.binned_hours() {
                if !pooled(&self.bins[b]) {
                    each(Part::Hour(t));
                }
            }
        }
        for t in self.binned().end..self.len {
            each(Part::Hour(t));
        }
    }
}

/// What [`HourBins::take`] hands on: an hour, or a bin taken at once.
pub enum Part<'a> {
    Hour(usize),
    Bin(&'a Bin),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hour is taken exactly once (head, a bin or one by one, the tail), a bin's hours
    /// are within 2⁻⁴ of each other, and its sums are its hours'.
    #[test]
    fn bins_hold_every_hour_once_and_are_narrow() {
        let shares: Vec<f64> = (0..730)
            .map(|t| 1e-3 * (1.0 + (t % 24) as f64 / 7.0))
            .collect();
        let bursts: Vec<f64> = (0..730)
            .map(|t| 0.3 + ((t * 7919) % 1000) as f64 / 600.0)
            .collect();
        let mut b = HourBins::default();
        let us: Vec<f64> = shares.iter().zip(&bursts).map(|(s, g)| s * g).collect();
        let (lo, hi) = us
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &u| (l.min(u), h.max(u)));
        assert!(b.build(&shares, &bursts, 3, lo, hi));
        let mut members = vec![Vec::new(); b.bins.len()];
        for (t, k) in b.binned_hours() {
            members[k].push(shares[t] * bursts[t]);
        }
        for (bin, us) in b.bins.iter().zip(&members).filter(|(x, _)| x.hours > 0.0) {
            let (lo, hi) = us
                .iter()
                .fold((f64::MAX, 0.0f64), |(l, h), &u| (l.min(u), h.max(u)));
            assert!(hi / lo - 1.0 < 1.0 / 16.0, "{lo}..{hi}");
            assert_eq!(bin.hours, us.len() as f64);
            assert!((bin.sum - us.iter().sum::<f64>()).abs() < 1e-15);
            assert_eq!((bin.min, bin.max), (lo, hi));
            let (mean, times) = bin.representative();
            assert!((lo..=hi).contains(&mean));
            assert!((mean * times - bin.sum).abs() < 1e-15);
        }
        // Pool every other bin: the rest of the hours one by one, each hour once.
        let mut seen = vec![0; 730];
        let mut pooled_hours = 0.0;
        let pooled = |x: &Bin| b.bins.iter().position(|y| std::ptr::eq(x, y)).unwrap() % 2 == 0;
        assert!(b.bins.iter().step_by(2).any(|x| x.hours > 0.0));
        b.take(pooled, |part| match part {
            Part::Bin(x) => pooled_hours += x.hours,
            Part::Hour(t) => seen[t] += 1,
        });
        for (t, k) in b.binned_hours() {
            if k % 2 == 0 {
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert!(pooled_hours > 0.0);
        assert!(b.bins.len() < 200, "{} bins", b.bins.len());
        // A month whose rates span more than the bins may hold is not binned.
        assert!(!b.build(&shares, &bursts, 3, 1e-300, 1.0));
    }
}
