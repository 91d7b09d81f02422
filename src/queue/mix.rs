//! The service time of one request: a mixture of deterministic times, one per resolution
//! bucket of the hour's mix (a bucket's images all take the same time on a given GPU).

use thiserror::Error;

/// One bucket of a service mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Share of requests in this bucket (shares of a mix sum to 1).
    pub share: f64,
    /// Service time of one request of this bucket [s].
    pub seconds: f64,
}

/// What is wrong with a service mix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MixError {
    /// No bucket has a positive share.
    #[error("service mix: no bucket has a positive share")]
    Empty,
    /// A share is negative or not finite.
    #[error("service mix: bucket {index}: share {share} is not a finite number ≥ 0")]
    Share {
        /// Bucket index as given.
        index: usize,
        /// The share given.
        share: f64,
    },
    /// A service time is not a finite positive number of seconds.
    #[error("service mix: bucket {index}: service time {seconds} s is not finite and > 0")]
    Seconds {
        /// Bucket index as given.
        index: usize,
        /// The time given [s].
        seconds: f64,
    },
}

/// Service times as a mixture of deterministic times, sorted by time, shares summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMix {
    buckets: Vec<Bucket>,
    mean: f64,
    second_moment: f64,
}

impl ServiceMix {
    /// A mix from `(share, seconds)` pairs; shares are normalised, zero shares dropped and
    /// equal times merged.
    pub fn new(buckets: &[(f64, f64)]) -> Result<Self, MixError> {
        let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
        for (index, &(share, seconds)) in buckets.iter().enumerate() {
            if !(share.is_finite() && share >= 0.0) {
                return Err(MixError::Share { index, share });
            }
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(MixError::Seconds { index, seconds });
            }
            if share > 0.0 {
                out.push(Bucket { share, seconds });
            }
        }
        let total: f64 = out.iter().map(|b| b.share).sum();
        if out.is_empty() || !(total > 0.0 && total.is_finite()) {
            return Err(MixError::Empty);
        }
        out.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        out.dedup_by(|later, kept| {
            let same = later.seconds == kept.seconds;
            if same {
                kept.share += later.share;
            }
            same
        });
        for b in &mut out {
            b.share /= total;
        }
        let mean = out.iter().map(|b| b.share * b.seconds).sum();
        let second_moment = out.iter().map(|b| b.share * b.seconds * b.seconds).sum();
        Ok(Self {
            buckets: out,
            mean,
            second_moment,
        })
    }

    /// Every request takes `seconds`.
    pub fn deterministic(seconds: f64) -> Result<Self, MixError> {
        Self::new(&[(1.0, seconds)])
    }

    /// The buckets, shortest first.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Mean service time [s].
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Mean of the squared service time [s²].
    pub fn second_moment(&self) -> f64 {
        self.second_moment
    }

    /// Squared coefficient of variation of the service time (0 for one bucket).
    pub fn scv(&self) -> f64 {
        (self.second_moment / (self.mean * self.mean) - 1.0).max(0.0)
    }

    /// True when every request takes the same time.
    pub fn is_deterministic(&self) -> bool {
        self.buckets.len() == 1
    }

    /// Shortest service time [s].
    pub fn min_seconds(&self) -> f64 {
        self.buckets[0].seconds
    }

    /// Longest service time [s].
    pub fn max_seconds(&self) -> f64 {
        self.buckets[self.buckets.len() - 1].seconds
    }

    /// The same mix with every time multiplied by `factor` (> 0).
    pub fn scaled(&self, factor: f64) -> Result<Self, MixError> {
        let pairs: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|b| (b.share, b.seconds * factor))
            .collect();
        Self::new(&pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_w1() {
        let m = ServiceMix::new(&[(0.1, 0.19), (0.5, 0.57), (0.3, 1.17), (0.1, 2.75)]).unwrap();
        assert!((m.mean() - 0.93).abs() < 1e-12);
        assert!((m.second_moment() - 1.33298).abs() < 1e-12);
        assert!((m.scv() - (1.33298 / 0.8649 - 1.0)).abs() < 1e-12);
        assert!(!m.is_deterministic());
    }

    #[test]
    fn normalises_merges_and_sorts() {
        let m = ServiceMix::new(&[(2.0, 3.0), (0.0, 9.0), (1.0, 1.0), (1.0, 3.0)]).unwrap();
        assert_eq!(m.buckets().len(), 2);
        assert_eq!(
            m.buckets()[0],
            Bucket {
                share: 0.25,
                seconds: 1.0
            }
        );
        assert_eq!(
            m.buckets()[1],
            Bucket {
                share: 0.75,
                seconds: 3.0
            }
        );
        assert_eq!(ServiceMix::deterministic(2.0).unwrap().scv(), 0.0);
    }

    #[test]
    fn rejects_bad_buckets() {
        let cases: [(&[(f64, f64)], MixError); 5] = [
            (&[], MixError::Empty),
            (&[(0.0, 1.0)], MixError::Empty),
            (
                &[(-1.0, 1.0)],
                MixError::Share {
                    index: 0,
                    share: -1.0,
                },
            ),
            (
                &[(1.0, 1.0), (1.0, 0.0)],
                MixError::Seconds {
                    index: 1,
                    seconds: 0.0,
                },
            ),
            (
                &[(1.0, f64::INFINITY)],
                MixError::Seconds {
                    index: 0,
                    seconds: f64::INFINITY,
                },
            ),
        ];
        for (input, err) in cases {
            assert_eq!(ServiceMix::new(input).unwrap_err(), err);
        }
        assert!(ServiceMix::new(&[(f64::NAN, 1.0)]).is_err());
    }
}
