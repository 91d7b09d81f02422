//! A month's bill: every count of the month routed to the item that bills it, then priced in
//! exact decimals. This is where sampled `f64` quantities become money, through
//! [`crate::money::cost`] (quantities rounded to a millionth of a unit, times a decimal price).

use super::state::{add_wait, PathScratch};
use super::{Engine, ItemKind};
use crate::error::{Error, Result};
use crate::fleet::FleetKind;
use crate::ids::StreamId;
use crate::money;
use crate::scenario::HOURS_PER_MONTH;
use rust_decimal::Decimal;

impl PathScratch {
    /// Add the month's pooled counts (fleets linear in them serve them whole), then route
    /// every count of the month to the items that bill it. `pooled_hours` of them found the
    /// fleets at rest; when `moved`, others were pooled where the fleets were, and billed as
    /// they went ([`PathScratch::linear_hour`]).
    pub fn add_pooled(
        &mut self,
        e: &Engine,
        counts: &[f64],
        sampled: &[StreamId],
        pooled_hours: f64,
        moved: bool,
    ) {
        for (i, n) in counts.iter().enumerate() {
            if pooled_hours > 0.0 || moved || sampled.binary_search(&StreamId(i)).is_err() {
                self.month_counts[i] += n;
                self.pooled_counts[i] = *n;
            } else {
                self.pooled_counts[i] = 0.0;
            }
        }
        for (o, (opt, run)) in e.options.iter().zip(self.opts.iter_mut()).enumerate() {
            let m = &mut run.month;
            for (i, item) in opt.stream_api_item.iter().enumerate() {
                if let Some(item) = item {
                    m.qty[*item] += self.month_counts[i];
                }
            }
            // Queue fleets take their month's counts in `close_queued`.
            let Some(f) = opt.fleet.as_ref().filter(|f| !f.queued()) else {
                continue;
            };
            let fleet = e.fleets[..e.n_fluid]
                .iter()
                .position(|x| x.0 == o)
                .expect("every fluid fleet is listed");
            let overflow = &self.overflow_counts[fleet];
            for &i in &f.fleet_streams {
                let n = self.pooled_counts[i.0];
                m.served += n;
                m.busy += n * f.stream_seconds[i.0] * run.speed;
                add_wait(&mut run.waits, 0.0, n);
                // At rest: made in its service time.
                run.service_only[0] += n;
                if let Some(item) = f.overflow_item[i.0] {
                    m.qty[item] += overflow[i.0];
                }
                m.overflowed += overflow[i.0];
            }
            let (cap, gpus) = f.resting_hour();
            m.billed_hours += pooled_hours * gpus;
            m.cap += pooled_hours * cap;
        }
    }

    /// Price month `m` (0-based, with `assets` delivered) and add it to the path's totals.
    ///
    /// Two views of the same money: the month's *cost* (owned hardware's purchase less its
    /// resale spread evenly over the horizon) and its *cash* (the purchase paid in the first
    /// month, the resale coming back in the last). Set-up is both cost and cash in the first
    /// month; a reservation's term past the horizon (or its exit cost) both in the last.
    pub fn close_month(&mut self, e: &Engine, x: &[f64], m: usize, assets: f64) -> Result<()> {
        let horizon = e.scenario.horizon_months as usize;
        let last = m + 1 == horizon;
        let changes = &e.scenario.market.changes;
        for (opt, run) in e.options.iter().zip(self.opts.iter_mut()) {
            let out = &mut run.out;
            let month = &mut run.month;
            out.assets += assets;
            let qty = &mut month.qty;
            if let Some(pf) = opt.api_price_factor {
                qty.iter_mut().for_each(|q| *q *= x[pf.0]);
            }
            let gpu_factor = opt
                .fleet
                .as_ref()
                .map(|f| x[f.gpu_price_factor.0])
                .unwrap_or(1.0);
            if let Some(f) = &opt.fleet {
                match &f.kind {
                    FleetKind::Rented { gpu_hours_item, .. }
                    | FleetKind::Autoscaled { gpu_hours_item, .. } => {
                        qty[*gpu_hours_item] += month.billed_hours * gpu_factor;
                    }
                    FleetKind::Serverless { billing, .. } => {
                        qty[billing.gpu_seconds_item] += month.billed_seconds * gpu_factor;
                    }
                    FleetKind::Owned { gpus, owned } => {
                        let gpus = *gpus as f64;
                        qty[owned.hosting] += gpus;
                        let gpu_hours = gpus * HOURS_PER_MONTH as f64;
                        let busy_h = (month.busy / 3600.0).min(gpu_hours);
                        qty[owned.power] += f.power_watts / 1000.0
                            * owned.pue
                            * (busy_h + owned.idle_power_share * (gpu_hours - busy_h));
                    }
                }
                qty[f.ops_item] += x[f.ops_hours.0];
                qty[f.licence_fee_item] += 1.0;
                if let Some((item, included)) = f.licence_overage {
                    let over = (month.served - included).max(0.0);
                    qty[item] += over;
                    out.licence_overage_images += over;
                }
                out.fleet_images += month.served;
                out.overflow_images += month.overflowed;
                run.busy_all += month.busy;
                run.cap_all += month.cap;
            }
            let too_big = |what: &str| {
                Error::Invariant(format!(
                    "option {}: {what} does not fit a dollar amount",
                    opt.id
                ))
            };
            let mut bill = Decimal::ZERO;
            let mut cash = Decimal::ZERO;
            let mut capex = Decimal::ZERO;
            let mut api = Decimal::ZERO;
            // Checked sums: compile bounds every total far inside the decimal range, and should
            // a sum leave it anyway, the run stops with an error instead of panicking.
            let what = || format!("option {}: month {}", opt.id, m + 1);
            let add = |run_breakdown: &mut Vec<(ItemKind, Decimal)>,
                       kind: ItemKind,
                       c: Decimal|
             -> Result<()> {
                match run_breakdown.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, v)) => *v = money::add(*v, c, &what)?,
                    None => run_breakdown.push((kind, c)),
                }
                Ok(())
            };
            for (item, q) in opt.items.iter().zip(qty.iter()) {
                if *q == 0.0 {
                    continue;
                }
                // This month's price: today's, moved by the drift and known changes.
                let unit = match item.moves.factor(x, m, changes) {
                    None => item.unit_usd,
                    Some(f) => money::moved_price(item.unit_usd, f)
                        .ok_or_else(|| too_big(&format!("{} × price factor {f}", item.label)))?,
                };
                let c = money::cost(*q, unit)
                    .ok_or_else(|| too_big(&format!("{q} × {}", item.label)))?;
                bill = money::add(bill, c, &what)?;
                cash = money::add(cash, c, &what)?;
                if matches!(item.kind, ItemKind::ApiImages | ItemKind::OverflowImages) {
                    api = money::add(api, c, &what)?;
                }
                add(&mut run.breakdown, item.kind, c)?;
            }
            // One-time set-up: the first month.
            if let (Some(setup), 0) = (opt.setup_usd, m) {
                let c = money::quantity(x[setup.0]).ok_or_else(|| too_big("set-up"))?;
                bill = money::add(bill, c, &what)?;
                cash = money::add(cash, c, &what)?;
                capex = money::add(capex, c, &what)?;
                add(&mut run.breakdown, ItemKind::Setup, c)?;
            }
            // Owned hardware: bought in the first month, sold at the horizon's end; its cost
            // is the difference, spread evenly.
            if let Some(owned) = opt.fleet.as_ref().and_then(|f| f.owned()) {
                let kept = Decimal::ONE
                    - money::quantity(x[owned.residual_share.0])
                        .ok_or_else(|| too_big("resale"))?;
                let spread = owned
                    .capex_usd
                    .checked_mul(kept)
                    .map(|d| d / Decimal::from(horizon))
                    .ok_or_else(|| too_big("purchase"))?;
                bill = money::add(bill, spread, &what)?;
                add(&mut run.breakdown, ItemKind::Depreciation, spread)?;
                if m == 0 {
                    cash = money::add(cash, owned.capex_usd, &what)?;
                    capex = money::add(capex, owned.capex_usd, &what)?;
                }
                if last {
                    let resale = owned.capex_usd - owned.capex_usd * kept;
                    cash = money::add(cash, -resale, &what)?;
                    capex = money::add(capex, -resale, &what)?;
                }
            }
            // A reservation's term past the horizon is owed at its end (or its exit cost).
            if let (Some(c), true) = (&opt.commitment, last) {
                let left_months = c.months.saturating_sub(horizon as u32);
                if left_months > 0 {
                    let item = &opt.items[c.gpu_hours_item];
                    let unit = match item.moves.factor(x, m, changes) {
                        None => item.unit_usd,
                        Some(f) => money::moved_price(item.unit_usd, f)
                            .ok_or_else(|| too_big("the reservation"))?,
                    };
                    let hours = left_months as f64 * HOURS_PER_MONTH as f64 * c.gpus as f64;
                    let owed = money::cost(hours * gpu_factor, unit)
                        .ok_or_else(|| too_big("the reservation"))?;
                    out.commitment_left_usd = money::to_f64(owed);
                    let due = c.exit_usd.unwrap_or(owed);
                    bill = money::add(bill, due, &what)?;
                    cash = money::add(cash, due, &what)?;
                    capex = money::add(capex, due, &what)?;
                    add(&mut run.breakdown, ItemKind::CommitmentLeft, due)?;
                }
            }
            run.total = money::add(run.total, bill, &|| format!("option {}: total", opt.id))?;
            out.monthly_usd.push(money::to_f64(bill));
            out.monthly_cash_usd.push(money::to_f64(cash));
            out.monthly_capex_usd.push(money::to_f64(capex));
            out.monthly_api_usd.push(money::to_f64(api));
        }
        Ok(())
    }
}
