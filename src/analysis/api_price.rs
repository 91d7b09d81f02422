//! The break-even API price: per self-hosted option and API, the multiple of today's API
//! prices below which self-hosting does not pay over the horizon.
//!
//! On a path, scaling every API price by `k` (every month, on top of any drift) scales the
//! API option's total `A` and the self-hosted option's API-billed part `O` (overflow and
//! stages sent to an API) by `k`, and leaves the rest of its total `S − O` as it is. The API
//! is then cheaper exactly when `k·A < (S − O) + k·O`, that is below
//! `k* = (S − O) / (A − O)`. When `A ≤ O` the self-hosted option's API part alone costs what
//! the API would: it is never cheaper at any price.

use crate::engine::fold::{self, Checked, Validate};
use crate::engine::{Engine, Fold, ItemKind, Merge, PathResult};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::stats::{self, Stream};
use serde::{Deserialize, Serialize};

/// The break-even API price of one self-hosted option against one API option.
#[derive(Debug, Clone, Serialize)]
pub struct ApiPriceBreakeven {
    /// Self-hosted option.
    pub selfhost: String,
    /// API option.
    pub api: String,
    /// `k*` over the paths where it exists [× today's API prices].
    pub factor: Option<stats::Summary>,
    /// Share of paths on which self-hosting is not cheaper at any API price.
    pub share_never: f64,
}

impl ApiPriceBreakeven {
    /// In words.
    pub fn sentence(&self) -> String {
        match &self.factor {
            Some(f) => format!(
                "Break-even API price of {} against {}: {:.2}× today's prices (median over paths; p5–p95 {:.2}–{:.2}×); below it the API is cheaper over the horizon{}.",
                self.selfhost,
                self.api,
                f.p50,
                f.p5,
                f.p95,
                if self.share_never >= 0.005 {
                    format!(", as it is at any price on {:.0}% of paths", 100.0 * self.share_never)
                } else {
                    String::new()
                }
            ),
            None => format!(
                "{} does not beat {} at any API price on any path.",
                self.selfhost, self.api
            ),
        }
    }
}

/// Folds `k*` path by path for every self-hosted/API pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPriceFold {
    pairs: Vec<(OptionId, OptionId)>,
    factors: Vec<Stream>,
    never: Vec<u64>,
    n: u64,
}

impl ApiPriceFold {
    /// Every self-hosted option against every API option of `e`.
    pub fn new(e: &Engine) -> ApiPriceFold {
        let apis: Vec<OptionId> = (0..e.options.len())
            .map(OptionId)
            .filter(|&o| e.option(o).is_api())
            .collect();
        let pairs: Vec<(OptionId, OptionId)> = (0..e.options.len())
            .map(OptionId)
            .filter(|&o| !e.option(o).is_api())
            .flat_map(|s| apis.iter().map(move |&a| (s, a)))
            .collect();
        ApiPriceFold {
            factors: vec![Stream::default(); pairs.len()],
            never: vec![0; pairs.len()],
            pairs,
            n: 0,
        }
    }

    /// The results.
    pub fn finish(&self, e: &Engine) -> Vec<ApiPriceBreakeven> {
        self.pairs
            .iter()
            .enumerate()
            .map(|(j, (s, a))| ApiPriceBreakeven {
                selfhost: e.option(*s).id.clone(),
                api: e.option(*a).id.clone(),
                factor: (self.factors[j].count() > 0).then(|| self.factors[j].summary()),
                share_never: self.never[j] as f64 / self.n.max(1) as f64,
            })
            .collect()
    }
}

/// `k*` on one path, or `None` when self-hosting is not cheaper at any API price.
pub fn breakeven_factor(
    selfhost_total: f64,
    selfhost_api_part: f64,
    api_total: f64,
) -> Option<f64> {
    let rest = selfhost_total - selfhost_api_part;
    let gap = api_total - selfhost_api_part;
    (gap > 0.0).then(|| rest.max(0.0) / gap)
}

impl Fold for ApiPriceFold {
    type Path = PathResult;

    fn add(&mut self, p: &PathResult) -> Result<()> {
        let ApiPriceFold {
            pairs,
            factors,
            never,
            n,
        } = self;
        *n += 1;
        for (j, (s, a)) in pairs.iter().enumerate() {
            let own = &p.options[s.0];
            let api_part: f64 = own
                .breakdown
                .iter()
                .filter(|(k, _)| matches!(k, ItemKind::ApiImages | ItemKind::OverflowImages))
                .map(|(_, v)| v)
                .sum();
            match breakeven_factor(own.total_usd, api_part, p.options[a.0].total_usd) {
                Some(k) => factors[j].push(k).map_err(Error::Invariant)?,
                None => never[j] += 1,
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        let ApiPriceFold {
            pairs: _,
            factors,
            never,
            n,
        } = self;
        factors.merge(&later.factors);
        never.merge(&later.never);
        Merge::merge(n, &later.n);
    }
}

impl Validate for ApiPriceFold {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let ApiPriceFold {
            pairs,
            factors,
            never,
            n,
        } = self;
        fold::setting("pairs", pairs, &empty.pairs)?;
        fold::field("factors", factors, &empty.factors, paths)?;
        fold::field("never", never, &empty.never, paths)?;
        fold::all_paths("n", *n, paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_is_where_the_totals_meet() {
        // Fleet $2,000 plus $500 of overflow at today's prices; the API $5,000.
        let k = breakeven_factor(2_500.0, 500.0, 5_000.0).unwrap();
        assert!((k - 2_000.0 / 4_500.0).abs() < 1e-15);
        // At k the two totals are equal.
        assert!(((2_000.0 + k * 500.0) - k * 5_000.0).abs() < 1e-9);
        // An option whose overflow alone costs what the API does never wins.
        assert_eq!(breakeven_factor(6_000.0, 5_000.0, 5_000.0), None);
    }
}
