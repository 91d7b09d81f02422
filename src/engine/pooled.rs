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
//! there, startup-growth's figures moved 5·10⁻³). The month's first [`HourBins::head`] hours, which open an autoscaler one
//! by one, and its last, whose serverless bill is the state the next month starts from, are
//! always taken one by one. Reference: the lean loops hour by hour
//! (`Engine::pooled_queue_hours = false`); test
//! `pooled_queue_hours_are_the_hours_taken_one_by_one`.

/// Bits of the mantissa of `share × burst` that key its bin: bins at most 2⁻⁴ of their rate
/// wide (a bursty month's 730 hours fall in 80–100 of them in the shipped scenarios; 2⁻⁶
/// made 280, for errors a sixteenth as large).
const BIN_BITS: u32 = 4;

/// Widest span of keys sorted by counting (64 octaves of bins).
const MAX_SPAN: u64 = 64 << BIN_BITS;

/// Utilisation of a fleet's busiest hour in a bin below which the bin is taken once: above
/// it, waits and overflow shares curve too fast for a bin's mean to stand for its hours.
pub const POOLED_BELOW: f64 = 0.5;

/// One bin: its hours (`order[start..end]`), their count and the sums of their
/// `share × burst` and its square, and its largest.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    pub start: u32,
    pub end: u32,
    pub hours: f64,
    pub sum: f64,
    pub sum_sq: f64,
    pub max: f64,
}

impl Bin {
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

/// A month's hours `[head, last)` in bins of nearby `share × burst` (built once a path-month,
/// read by every fleet).
#[derive(Debug, Clone, Default)]
pub struct HourBins {
    /// Hours before this one, and the month's last, are taken one by one.
    pub head: usize,
    /// The month's hours (0-based).
    pub len: usize,
    /// Hours `head..len - 1` in bin order, by time within a bin.
    pub order: Vec<u16>,
    pub bins: Vec<Bin>,
    /// Scratch: each hour's key, and the counting sort's counts.
    keys: Vec<u64>,
    counts: Vec<u32>,
}

impl HourBins {
    /// Bin the hours of a month with these shares and bursts, leaving the first `head` and
    /// the last to be taken one by one.
    pub fn build(&mut self, shares: &[f64], bursts: &[f64], head: usize) {
        self.len = shares.len();
        self.head = head.min(self.len);
        self.order.clear();
        self.bins.clear();
        self.keys.clear();
        let last = self.len.saturating_sub(1).max(self.head);
        let (mut lo, mut hi) = (u64::MAX, 0);
        for t in self.head..last {
            let key = (shares[t] * bursts[t]).to_bits() >> (52 - BIN_BITS);
            (lo, hi) = (lo.min(key), hi.max(key));
            self.keys.push(key);
        }
        if self.keys.is_empty() {
            return;
        }
        // Hours by key, in time within a key: a counting sort over the keys' span (a month's
        // bursts span a few dozen octaves at most), else one sort of key and hour together.
        if hi - lo < MAX_SPAN {
            let span = (hi - lo + 1) as usize;
            self.counts.clear();
            self.counts.resize(span + 1, 0);
            for &k in &self.keys {
                self.counts[(k - lo) as usize + 1] += 1;
            }
            for i in 1..=span {
                self.counts[i] += self.counts[i - 1];
            }
            self.order.resize(self.keys.len(), 0);
            for (i, &k) in self.keys.iter().enumerate() {
                let at = &mut self.counts[(k - lo) as usize];
                self.order[*at as usize] = (self.head + i) as u16;
                *at += 1;
            }
        } else {
            let head = self.head as u64;
            let mut pairs: Vec<u64> = (self.keys.iter().enumerate())
                .map(|(i, &k)| (k << 16) | (head + i as u64))
                .collect();
            pairs.sort_unstable();
            self.order
                .extend(pairs.iter().map(|&p| (p & 0xffff) as u16));
        }
        let mut current = u64::MAX;
        for (at, &t) in self.order.iter().enumerate() {
            let key = self.keys[t as usize - self.head];
            let u = shares[t as usize] * bursts[t as usize];
            if key != current {
                current = key;
                self.bins.push(Bin {
                    start: at as u32,
                    end: at as u32,
                    hours: 0.0,
                    sum: 0.0,
                    sum_sq: 0.0,
                    max: 0.0,
                });
            }
            let b = self.bins.last_mut().expect("pushed at the first key");
            b.end += 1;
            b.hours += 1.0;
            b.sum += u;
            b.sum_sq += u * u;
            b.max = b.max.max(u);
        }
    }

    /// The hours taken one by one before the bins.
    pub fn head_hours(&self) -> std::ops::Range<usize> {
        0..self.head
    }

    /// The hour taken one by one after the bins (none in a month of `head` hours or fewer).
    pub fn tail_hours(&self) -> std::ops::Range<usize> {
        self.len.saturating_sub(1).max(self.head)..self.len
    }

    /// A bin's hours, by time.
    pub fn hours(&self, b: &Bin) -> impl Iterator<Item = usize> + '_ {
        self.order[b.start as usize..b.end as usize]
            .iter()
            .map(|&t| t as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hour is in exactly one place (head, a bin or the tail), a bin's hours are within
    /// 2⁻⁴ of each other, and its sums are its hours'.
    #[test]
    fn bins_hold_every_hour_once_and_are_narrow() {
        let shares: Vec<f64> = (0..730)
            .map(|t| 1e-3 * (1.0 + (t % 24) as f64 / 7.0))
            .collect();
        let bursts: Vec<f64> = (0..730)
            .map(|t| 0.3 + ((t * 7919) % 1000) as f64 / 600.0)
            .collect();
        let mut b = HourBins::default();
        b.build(&shares, &bursts, 3);
        let mut seen = vec![0; 730];
        for t in b.head_hours().chain(b.tail_hours()) {
            seen[t] += 1;
        }
        for bin in &b.bins {
            let us: Vec<f64> = b.hours(bin).map(|t| shares[t] * bursts[t]).collect();
            let (lo, hi) = us
                .iter()
                .fold((f64::MAX, 0.0f64), |(l, h), &u| (l.min(u), h.max(u)));
            assert!(hi / lo - 1.0 < 1.0 / 16.0, "{lo}..{hi}");
            assert_eq!(bin.hours, us.len() as f64);
            assert!((bin.sum - us.iter().sum::<f64>()).abs() < 1e-15);
            assert_eq!(bin.max, hi);
            let (mean, times) = bin.representative();
            assert!((lo..=hi).contains(&mean));
            assert!((mean * times - bin.sum).abs() < 1e-15);
            for t in b.hours(bin) {
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert!(b.bins.len() < 400, "{} bins", b.bins.len());
    }
}
