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
    /// Add the month's pooled counts (fleets at rest serve them whole), then route every
    /// count of the month to the items that bill it.
    pub fn add_pooled(
        &mut self,
        e: &Engine,
        counts: &[f64],
        sampled: &[StreamId],
        pooled_hours: f64,
    ) {
        for (i, n) in counts.iter().enumerate() {
            if pooled_hours > 0.0 || sampled.binary_search(&StreamId(i)).is_err() {
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
    pub fn close_month(&mut self, e: &Engine, x: &[f64], m: usize, assets: f64) -> Result<()> {
        for (opt, run) in e.options.iter().zip(self.opts.iter_mut()) {
            let out = &mut run.out;
            let month = &mut run.month;
            out.assets += assets;
            let qty = &mut month.qty;
            if let Some(pf) = opt.api_price_factor {
                qty.iter_mut().for_each(|q| *q *= x[pf.0]);
            }
            if let Some(f) = &opt.fleet {
                let gpu_factor = x[f.gpu_price_factor.0];
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
                        if (m as u32) < owned.amortise_months {
                            qty[owned.amortisation] += gpus;
                        }
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
            let mut bill = Decimal::ZERO;
            // Cash: owned hardware is paid in full in the first month, not as amortisation.
            let mut cash = match opt.fleet.as_ref().and_then(|f| f.owned()) {
                Some(owned) if m == 0 => owned.purchase_usd,
                _ => Decimal::ZERO,
            };
            for (item, q) in opt.items.iter().zip(qty.iter()) {
                if *q == 0.0 {
                    continue;
                }
                let c = money::cost(*q, item.unit_usd).ok_or_else(|| {
                    Error::Invariant(format!(
                        "option {}: {} × {} does not fit a dollar amount",
                        opt.id, q, item.label
                    ))
                })?;
                bill += c;
                if item.kind != ItemKind::Amortisation {
                    cash += c;
                }
                match run.breakdown.iter_mut().find(|(k, _)| *k == item.kind) {
                    Some((_, v)) => *v += c,
                    None => run.breakdown.push((item.kind, c)),
                }
            }
            run.total += bill;
            out.monthly_usd.push(money::to_f64(bill));
            out.monthly_cash_usd.push(money::to_f64(cash));
        }
        Ok(())
    }
}
