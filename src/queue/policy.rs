//! What a fleet does with a request that would have to wait.

/// What happens to a request that cannot start at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// A request that finds every server busy goes to the API.
    OverflowAtOnce,
    /// A request whose wait would exceed `max_wait_seconds` goes to the API on arrival (the
    /// fleet knows the work ahead of it); the others wait in one FIFO queue.
    OverflowAfter {
        /// Longest wait a request is allowed [s].
        max_wait_seconds: f64,
    },
    /// Every request waits its turn in one FIFO queue.
    NeverOverflow,
}

impl Policy {
    /// The longest wait allowed [s]: 0 for overflow at once, ∞ for never. A threshold of 0,
    /// below 0 or NaN is overflow at once; an infinite one is never.
    pub fn max_wait_seconds(&self) -> f64 {
        match *self {
            Policy::OverflowAtOnce => 0.0,
            Policy::OverflowAfter { max_wait_seconds } => {
                if max_wait_seconds > 0.0 {
                    max_wait_seconds
                } else {
                    0.0
                }
            }
            Policy::NeverOverflow => f64::INFINITY,
        }
    }

    /// The same policy with its edge cases named: a threshold of 0 (or less, or NaN) is
    /// [`Policy::OverflowAtOnce`], an infinite one [`Policy::NeverOverflow`].
    pub fn normalised(&self) -> Policy {
        let x = self.max_wait_seconds();
        if x == 0.0 {
            Policy::OverflowAtOnce
        } else if x.is_infinite() {
            Policy::NeverOverflow
        } else {
            Policy::OverflowAfter {
                max_wait_seconds: x,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_thresholds_name_the_other_policies() {
        let after = |x| Policy::OverflowAfter {
            max_wait_seconds: x,
        };
        assert_eq!(after(0.0).normalised(), Policy::OverflowAtOnce);
        assert_eq!(after(-3.0).normalised(), Policy::OverflowAtOnce);
        assert_eq!(after(f64::NAN).normalised(), Policy::OverflowAtOnce);
        assert_eq!(after(f64::INFINITY).normalised(), Policy::NeverOverflow);
        assert_eq!(after(10.0).normalised(), after(10.0));
        assert_eq!(Policy::NeverOverflow.max_wait_seconds(), f64::INFINITY);
    }
}
