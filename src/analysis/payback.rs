//! Payback of owned hardware: the month in which cumulative savings against an API repay the
//! purchase. Savings in a month are the API's cost minus the owned fleet's running cost (its
//! cost without amortisation: power, hosting, people, licence, overflow).

use crate::engine::{Engine, PathResult};
use crate::money;
use crate::stats;
use serde::Serialize;

/// Payback of one owned option against one API option.
#[derive(Debug, Clone, Serialize)]
pub struct Payback {
    /// Owned option id.
    pub owned: String,
    /// API option id.
    pub api: String,
    /// Purchase of the fleet [USD].
    pub purchase_usd: f64,
    /// Months to payback, over paths that pay back within the horizon.
    pub months: Option<stats::Summary>,
    /// Probability of paying back within the horizon.
    pub p_within_horizon: f64,
}

/// Folds payback months path by path.
pub struct PaybackFold {
    pairs: Vec<(usize, usize, f64, f64)>,
    months: Vec<stats::Stream>,
    within: Vec<u64>,
    n: u64,
}

impl PaybackFold {
    /// Pairs of every owned option with every API option.
    pub fn new(e: &Engine) -> PaybackFold {
        let mut pairs = Vec::new();
        for (o, opt) in e.options.iter().enumerate() {
            let Some(ow) = opt.fleet.as_ref().and_then(|f| f.owned.as_ref()) else {
                continue;
            };
            let purchase = money::to_f64(ow.purchase_usd);
            let amort = money::to_f64(opt.items[ow.amortisation].unit_usd)
                * opt.fleet.as_ref().and_then(|f| f.fixed_gpus()).unwrap_or(1) as f64;
            for (a, api) in e.options.iter().enumerate() {
                if api.is_api() {
                    pairs.push((o, a, purchase, amort));
                }
            }
        }
        let n = pairs.len();
        PaybackFold {
            pairs,
            months: (0..n).map(|_| stats::Stream::default()).collect(),
            within: vec![0; n],
            n: 0,
        }
    }

    /// True when there is nothing to fold.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Add a path.
    pub fn add(&mut self, e: &Engine, p: &PathResult) {
        self.n += 1;
        for (j, (o, a, purchase, amort)) in self.pairs.iter().enumerate() {
            let amortise_months = e.options[*o]
                .fleet
                .as_ref()
                .and_then(|f| f.owned.as_ref())
                .map(|w| w.amortise_months as usize)
                .unwrap_or(0);
            let mut saved = 0.0;
            for (m, (own, api)) in p.options[*o]
                .monthly_usd
                .iter()
                .zip(&p.options[*a].monthly_usd)
                .enumerate()
            {
                let running = own - if m < amortise_months { *amort } else { 0.0 };
                saved += api - running;
                if saved >= *purchase {
                    let _ = self.months[j].push((m + 1) as f64);
                    self.within[j] += 1;
                    break;
                }
            }
        }
    }

    /// The results.
    pub fn finish(&self, e: &Engine) -> Vec<Payback> {
        self.pairs
            .iter()
            .enumerate()
            .map(|(j, (o, a, purchase, _))| Payback {
                owned: e.options[*o].id.clone(),
                api: e.options[*a].id.clone(),
                purchase_usd: *purchase,
                months: (self.months[j].count() > 0).then(|| self.months[j].summary()),
                p_within_horizon: self.within[j] as f64 / self.n.max(1) as f64,
            })
            .collect()
    }
}
