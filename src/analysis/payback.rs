//! Payback of owned hardware: the month in which cumulative savings against an API repay the
//! purchase. Savings in a month are the API's cost minus the owned fleet's running cost (its
//! cost without amortisation: power, hosting, people, licence, overflow). Equivalently, the
//! first month in which the owned fleet's cash outlay (purchase paid up front, then its running
//! costs) is no more than the API's cumulative bill: what the cumulative cash chart shows.

use crate::engine::{Engine, Fold, Merge, PathResult};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::money;
use crate::stats::{self, Stream};
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

/// One owned/API pair and the owned fleet's purchase figures.
#[derive(Debug, Clone, PartialEq)]
struct PaybackPair {
    owned: OptionId,
    api: OptionId,
    /// Purchase of the fleet [USD].
    purchase: f64,
    /// Amortisation charged in each of the first `amortise_months` months [USD].
    amortisation: f64,
    amortise_months: usize,
}

/// Folds payback months path by path.
#[derive(Debug, Clone, PartialEq)]
pub struct PaybackFold {
    pairs: Vec<PaybackPair>,
    months: Vec<Stream>,
    within: Vec<u64>,
    n: u64,
}

impl PaybackFold {
    /// Pairs of every owned option with every API option.
    pub fn new(e: &Engine) -> PaybackFold {
        let mut pairs = Vec::new();
        for (o, opt) in e.options.iter().enumerate() {
            let Some(f) = opt.fleet.as_ref() else {
                continue;
            };
            let Some(ow) = f.owned() else { continue };
            let gpus = f.fixed_gpus().unwrap_or(1) as f64;
            for (a, api) in e.options.iter().enumerate() {
                if api.is_api() {
                    pairs.push(PaybackPair {
                        owned: OptionId(o),
                        api: OptionId(a),
                        purchase: money::to_f64(ow.purchase_usd),
                        amortisation: money::to_f64(opt.items[ow.amortisation].unit_usd) * gpus,
                        amortise_months: ow.amortise_months as usize,
                    });
                }
            }
        }
        let n = pairs.len();
        PaybackFold {
            pairs,
            months: vec![Stream::default(); n],
            within: vec![0; n],
            n: 0,
        }
    }

    /// True when there is nothing to fold.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The results.
    pub fn finish(&self, e: &Engine) -> Vec<Payback> {
        self.pairs
            .iter()
            .enumerate()
            .map(|(j, p)| Payback {
                owned: e.option(p.owned).id.clone(),
                api: e.option(p.api).id.clone(),
                purchase_usd: p.purchase,
                months: (self.months[j].count() > 0).then(|| self.months[j].summary()),
                p_within_horizon: self.within[j] as f64 / self.n.max(1) as f64,
            })
            .collect()
    }
}

/// The month (from 1) in which the owned option's savings against the API first repay its
/// purchase on one path, if they do within the horizon.
fn payback_month(pair: &PaybackPair, p: &PathResult) -> Option<usize> {
    let mut saved = 0.0;
    for (m, (own, api)) in p.options[pair.owned.0]
        .monthly_usd
        .iter()
        .zip(&p.options[pair.api.0].monthly_usd)
        .enumerate()
    {
        let running = own
            - if m < pair.amortise_months {
                pair.amortisation
            } else {
                0.0
            };
        saved += api - running;
        if saved >= pair.purchase {
            return Some(m + 1);
        }
    }
    None
}

impl Fold for PaybackFold {
    type Path = PathResult;

    fn add(&mut self, p: &PathResult) -> Result<()> {
        let PaybackFold {
            pairs,
            months,
            within,
            n,
        } = self;
        *n += 1;
        for (j, pair) in pairs.iter().enumerate() {
            if let Some(m) = payback_month(pair, p) {
                months[j].push(m as f64).map_err(Error::Invariant)?;
                within[j] += 1;
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        let PaybackFold {
            pairs: _,
            months,
            within,
            n,
        } = self;
        months.merge(&later.months);
        within.merge(&later.within);
        Merge::merge(n, &later.n);
    }
}
