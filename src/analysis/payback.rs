//! When self-hosting overtakes an API: on each path, the first month by whose end the
//! self-hosted option's cumulative cash outlay (owned hardware's purchase paid up front, then
//! its running costs: power, hosting, people, licence, overflow) is no more than the API's
//! cumulative bill. For owned hardware that is its payback: the month in which the savings
//! against the API repay the purchase. The cumulative cash chart marks the same months.

use crate::engine::fold::{self, Checked, Validate};
use crate::engine::{Engine, Fold, Merge, PathResult};
use crate::error::{Error, Result};
use crate::ids::OptionId;
use crate::money;
use crate::stats::{self, Stream};
use serde::{Deserialize, Serialize};

/// When one self-hosted option overtakes one API option (payback, for owned hardware).
#[derive(Debug, Clone, Serialize)]
pub struct Payback {
    /// Self-hosted option id.
    pub selfhost: String,
    /// API option id.
    pub api: String,
    /// Paid up front: the purchase of owned hardware and the set-up (its median) [USD].
    pub upfront_usd: f64,
    /// Months to payback, over paths that pay back within the horizon.
    pub months: Option<stats::Summary>,
    /// Probability of paying back within the horizon.
    pub p_within_horizon: f64,
}

impl Payback {
    /// In words, over a horizon of `months`.
    pub fn sentence(&self, months: u32) -> String {
        use crate::money::format_usd_short;
        let what = if self.upfront_usd > 0.0 {
            format!(
                "{} pays back its {} up front against {}",
                self.selfhost,
                format_usd_short(self.upfront_usd),
                self.api
            )
        } else {
            format!("{} overtakes {}", self.selfhost, self.api)
        };
        match &self.months {
            Some(m) => format!(
                "{what} in month {:.0} (median; p5–p95 {:.0}–{:.0}) on the {:.0}% of paths where it does within {months} months.",
                m.p50,
                m.p5,
                m.p95,
                100.0 * self.p_within_horizon
            ),
            None => format!("{what}: not within {months} months on any path."),
        }
    }
}

/// One self-hosted/API pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaybackPair {
    selfhost: OptionId,
    api: OptionId,
    /// Paid up front [USD].
    upfront: f64,
}

/// Folds payback months path by path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaybackFold {
    pairs: Vec<PaybackPair>,
    months: Vec<Stream>,
    within: Vec<u64>,
    n: u64,
}

impl PaybackFold {
    /// Pairs of every self-hosted option with every API option.
    pub fn new(e: &Engine) -> PaybackFold {
        let mut pairs = Vec::new();
        for (o, opt) in e.options.iter().enumerate() {
            let Some(f) = opt.fleet.as_ref() else {
                continue;
            };
            // Paid up front: the purchase, and the set-up (its median, when uncertain).
            let setup = opt
                .setup_usd
                .map(|i| e.scenario.input(i).dist.median())
                .unwrap_or(0.0);
            let upfront = f
                .owned()
                .map(|ow| money::to_f64(ow.capex_usd))
                .unwrap_or(0.0)
                + setup;
            for (a, api) in e.options.iter().enumerate() {
                if api.is_api() {
                    pairs.push(PaybackPair {
                        selfhost: OptionId(o),
                        api: OptionId(a),
                        upfront,
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
                selfhost: e.option(p.selfhost).id.clone(),
                api: e.option(p.api).id.clone(),
                upfront_usd: p.upfront,
                months: (self.months[j].count() > 0).then(|| self.months[j].summary()),
                p_within_horizon: self.within[j] as f64 / self.n.max(1) as f64,
            })
            .collect()
    }
}

/// The month (from 1) by whose end the self-hosted option's cumulative cash is no more than
/// the API's on one path, if it comes within the horizon.
fn payback_month(pair: &PaybackPair, p: &PathResult) -> Option<usize> {
    let (mut own, mut api) = (0.0, 0.0);
    for (m, (o, a)) in p.options[pair.selfhost.0]
        .monthly_cash_usd
        .iter()
        .zip(&p.options[pair.api.0].monthly_cash_usd)
        .enumerate()
    {
        own += o;
        api += a;
        if own <= api {
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

impl Validate for PaybackFold {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        let PaybackFold {
            pairs,
            months,
            within,
            n,
        } = self;
        fold::setting("pairs", pairs, &empty.pairs)?;
        fold::field("months", months, &empty.months, paths)?;
        fold::field("within", within, &empty.within, paths)?;
        fold::all_paths("n", *n, paths)
    }
}
