//! Demand within a month: how a month's volume spreads over its 730 hours.
//!
//! Hour `t` of simulated month `m` is hour-of-week `h = (m × 730 + t) mod 168`, counted from
//! Monday 00:00, so weeks run on across month boundaries as they do in a calendar. A weekly
//! profile gives each hour-of-week a weight with mean 1.

use crate::scenario::{Normalise, WeeklyProfile, HOURS_PER_MONTH};

/// Names of the built-in weekly profiles.
pub const PROFILE_NAMES: [&str; 4] = ["business-hours", "consumer", "flat", "w1"];

/// A built-in profile by name.
pub fn named_profile(name: &str) -> Option<WeeklyProfile> {
    let (hod, dow): (Vec<f64>, Vec<f64>) = match name {
        "flat" => (vec![1.0; 24], vec![1.0; 7]),
        // Office work: busy 9–17 on weekdays, quiet nights, a third of that at weekends.
        "business-hours" => (
            vec![
                0.25, 0.2, 0.2, 0.2, 0.2, 0.25, 0.4, 0.7, 1.2, 1.8, 1.9, 1.9, 1.7, 1.8, 1.9, 1.9,
                1.8, 1.5, 1.1, 0.8, 0.6, 0.5, 0.4, 0.3,
            ],
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.35],
        ),
        // A consumer app: evenings and weekends.
        "consumer" => (
            vec![
                0.5, 0.35, 0.25, 0.2, 0.2, 0.25, 0.35, 0.5, 0.7, 0.85, 0.95, 1.0, 1.1, 1.1, 1.05,
                1.05, 1.1, 1.25, 1.45, 1.65, 1.75, 1.6, 1.2, 0.8,
            ],
            vec![0.9, 0.9, 0.9, 0.95, 1.05, 1.2, 1.15],
        ),
        // The reference workload W1: (1 + 0.6 sin(2π (hod − 9) / 24)) × (0.6 at weekends).
        "w1" => (
            (0..24)
                .map(|h| 1.0 + 0.6 * (2.0 * std::f64::consts::PI * (h as f64 - 9.0) / 24.0).sin())
                .collect(),
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.6],
        ),
        _ => return None,
    };
    let mut p = custom_profile(&hod, &dow).ok()?;
    p.name = name.to_string();
    Some(p)
}

/// A profile from 24 hour-of-day and 7 day-of-week (Monday first) weights, normalised to mean 1.
pub fn custom_profile(hour_of_day: &[f64], day_of_week: &[f64]) -> Result<WeeklyProfile, String> {
    if hour_of_day.len() != 24 || day_of_week.len() != 7 {
        return Err(format!(
            "has {} hour-of-day and {} day-of-week weights; expected 24 and 7 (Monday first)",
            hour_of_day.len(),
            day_of_week.len()
        ));
    }
    if hour_of_day
        .iter()
        .chain(day_of_week)
        .any(|w| !w.is_finite() || *w < 0.0)
    {
        return Err("has a negative or non-finite weight; expected numbers >= 0".into());
    }
    let mut w: Vec<f64> = (0..168)
        .map(|h| day_of_week[h / 24] * hour_of_day[h % 24])
        .collect();
    let mean = w.iter().sum::<f64>() / 168.0;
    if mean <= 0.0 {
        return Err("has all weights zero; expected some demand in the week".into());
    }
    w.iter_mut().for_each(|x| *x /= mean);
    Ok(WeeklyProfile {
        name: "custom".into(),
        weights: w,
    })
}

/// Each hour's share of its month's volume, for every simulated month: `shares[m][t]`.
/// With [`Normalise::Month`] a month's shares sum to 1; with [`Normalise::Week`] each is
/// `w(h) / 730`, so a month's total follows how many busy hours it holds.
pub fn month_shares(profile: &WeeklyProfile, months: u32, normalise: Normalise) -> Vec<Vec<f64>> {
    (0..months as usize)
        .map(|m| {
            let mut s: Vec<f64> = (0..HOURS_PER_MONTH)
                .map(|t| profile.weights[(m * HOURS_PER_MONTH + t) % 168])
                .collect();
            let div = match normalise {
                Normalise::Month => s.iter().sum::<f64>(),
                Normalise::Week => HOURS_PER_MONTH as f64,
            };
            s.iter_mut().for_each(|x| *x /= div);
            s
        })
        .collect()
}

/// Hour-of-week of hour `t` of month `m`.
pub fn hour_of_week(m: usize, t: usize) -> usize {
    (m * HOURS_PER_MONTH + t) % 168
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_have_mean_one() {
        for n in PROFILE_NAMES {
            let p = named_profile(n).unwrap();
            let mean = p.weights.iter().sum::<f64>() / 168.0;
            assert!((mean - 1.0).abs() < 1e-12, "{n}: {mean}");
        }
    }

    #[test]
    fn w1_weight_matches_its_definition() {
        // Monday 09:00: sin(0) = 0, so w = 1 / mean, mean = (5 + 2 × 0.6) / 7.
        let p = named_profile("w1").unwrap();
        assert!((p.weights[9] - 7.0 / 6.2).abs() < 1e-12);
        // Saturday 15:00: (1 + 0.6) × 0.6 / mean.
        assert!((p.weights[5 * 24 + 15] - 1.6 * 0.6 * 7.0 / 6.2).abs() < 1e-12);
    }

    #[test]
    fn month_normalised_shares_sum_to_one() {
        let p = named_profile("business-hours").unwrap();
        for s in month_shares(&p, 3, Normalise::Month) {
            assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Week-normalised: four whole weeks and 58 hours; the total is near but not exactly 1.
        let w = month_shares(&p, 1, Normalise::Week);
        let total: f64 = w[0].iter().sum();
        assert!((total - 1.0).abs() < 0.1 && (total - 1.0).abs() > 1e-6);
    }

    #[test]
    fn custom_profiles_are_checked() {
        assert!(custom_profile(&[1.0; 23], &[1.0; 7]).is_err());
        assert!(custom_profile(&[0.0; 24], &[1.0; 7]).is_err());
        assert!(custom_profile(&[-1.0; 24], &[1.0; 7]).is_err());
    }
}
