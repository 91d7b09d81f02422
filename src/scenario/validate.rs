//! From the file as written to a [`Scenario`]: every value checked against its range and the
//! catalogue, every problem collected with its key.

use super::raw::*;
use super::*;

/// Longest committed term a scenario may hold [months].
pub const MAX_COMMITMENT_MONTHS: u32 = 60;

/// `overflow = "cheapest"`: each image goes to the cheapest offering of the fleet's model.
pub const CHEAPEST: &str = "cheapest";

struct Inputs(Vec<NamedInput>);

impl Inputs {
    /// Register input `name`; problems with its value are reported at `key`, where it is in
    /// the file (`option[1].speed_factor` for the input `option.self-h100.speed_factor`).
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: String,
        key: &str,
        raw: Option<&RawDist>,
        default: f64,
        unit: &'static str,
        bounds: (Option<f64>, Option<f64>),
        p: &mut Problems,
    ) -> InputId {
        let dist = match raw {
            None => Dist::Fixed(default),
            Some(r) => match r.validate() {
                Ok(d) => {
                    if let Err(sub) = d.check_bounds(bounds.0, bounds.1) {
                        p.extend_under(key, sub);
                    }
                    d
                }
                Err(sub) => {
                    p.extend_under(key, sub);
                    Dist::Fixed(default)
                }
            },
        };
        self.0.push(NamedInput { name, dist, unit });
        InputId(self.0.len() - 1)
    }
}

fn parse_size(s: &str, key: &str, p: &mut Problems) -> Option<Size> {
    match s.parse::<Size>() {
        Ok(z) => Some(z),
        Err(e) => {
            p.push(key, e);
            None
        }
    }
}

fn finite_in(x: f64, lo: f64, hi: f64, key: &str, what: &str, p: &mut Problems) -> bool {
    if !x.is_finite() || x < lo || x > hi {
        p.push(
            key,
            format!("{x} is out of range; expected {what} from {lo} to {hi}"),
        );
        false
    } else {
        true
    }
}

pub(super) fn validate(
    raw: RawScenario,
    default_name: &str,
    cat: &Catalogue,
    p: &mut Problems,
) -> Option<Scenario> {
    let mut inputs = Inputs(Vec::new());
    // Lists past their limits are reported and nothing else is checked: checks over them
    // compare items pairwise, and a file of a few megabytes could hold a million of them.
    let counts = [
        (
            "option",
            raw.option.len(),
            crate::limits::MAX_OPTIONS,
            "options",
        ),
        (
            "mix",
            raw.mix.len(),
            crate::limits::MAX_MIX_BUCKETS,
            "mix buckets",
        ),
        (
            "stage",
            raw.stage.len(),
            crate::limits::MAX_STAGES,
            "stages",
        ),
        (
            "correlations",
            raw.correlations.len(),
            crate::limits::MAX_CORRELATIONS,
            "correlations",
        ),
    ];
    let mut too_many = false;
    for (key, n, max, what) in counts {
        if n > max {
            p.push(key, format!("has {n} {what}; expected at most {max}"));
            too_many = true;
        }
    }
    let streams = raw.mix.len().max(1) * raw.stage.len().max(1);
    if streams > crate::limits::MAX_STREAMS {
        p.push(
            "stage",
            format!(
                "{} stages × {} mix buckets make {streams} streams; expected at most {}",
                raw.stage.len(),
                raw.mix.len(),
                crate::limits::MAX_STREAMS
            ),
        );
        too_many = true;
    }
    if too_many {
        return None;
    }
    if raw.horizon_months == 0 || raw.horizon_months > MAX_HORIZON_MONTHS {
        p.push(
            "horizon_months",
            format!(
                "{} is out of range; expected 1 to {MAX_HORIZON_MONTHS} months",
                raw.horizon_months
            ),
        );
    }
    let start_month = raw.start_month.unwrap_or(1);
    if !(1..=12).contains(&start_month) {
        p.push(
            "start_month",
            format!("{start_month} is not a calendar month; expected 1 to 12"),
        );
    }
    if raw.samples == Some(0) {
        p.push("samples", "is 0; expected at least 1 sample path");
    }

    // Demand.
    let d = &raw.demand;
    let monthly = inputs.add(
        "demand.monthly".into(),
        "demand.monthly",
        Some(&d.monthly),
        0.0,
        "assets/month",
        (Some(0.0), Some(MAX_MONTHLY_IMAGES)),
        p,
    );
    let growth = inputs.add(
        "demand.growth".into(),
        "demand.growth",
        d.growth.as_ref(),
        0.0,
        "per month",
        (Some(-0.99), Some(10.0)),
        p,
    );
    let mut seasonality = [1.0; 12];
    if let Some(s) = &d.seasonality {
        if s.len() != 12 {
            p.push(
                "demand.seasonality",
                format!("has {} values; expected 12, January first", s.len()),
            );
        } else {
            for (i, x) in s.iter().enumerate() {
                if finite_in(
                    *x,
                    0.0,
                    100.0,
                    &format!("demand.seasonality[{i}]"),
                    "a multiplier",
                    p,
                ) {
                    seasonality[i] = *x;
                }
            }
        }
    }
    let profile = match &d.profile {
        None => crate::demand::named_profile("business-hours").expect("built-in profile"),
        Some(RawProfile::Named(n)) => match crate::demand::named_profile(n) {
            Some(w) => w,
            None => {
                let known: Vec<String> = crate::demand::PROFILE_NAMES
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                p.push(
                    "demand.profile",
                    crate::catalogue::unknown("weekly profile", n, known.iter()),
                );
                crate::demand::named_profile("flat").expect("built-in profile")
            }
        },
        Some(RawProfile::Custom {
            hour_of_day,
            day_of_week,
        }) => match crate::demand::custom_profile(hour_of_day, day_of_week) {
            Ok(w) => w,
            Err(msg) => {
                p.push("demand.profile", msg);
                crate::demand::named_profile("flat").expect("built-in profile")
            }
        },
    };
    check_peak_demand(
        &inputs.0[monthly.0].dist,
        &inputs.0[growth.0].dist,
        &seasonality,
        raw.horizon_months.min(MAX_HORIZON_MONTHS),
        start_month,
        p,
    );
    let burstiness = d.burstiness.unwrap_or(0.0);
    finite_in(
        burstiness,
        0.0,
        5.0,
        "demand.burstiness",
        "a coefficient of variation",
        p,
    );
    let demand = Demand {
        monthly,
        growth,
        seasonality,
        profile,
        normalise: d.normalise.unwrap_or(Normalise::Month),
        arrivals: d.arrivals.unwrap_or(Arrivals::Poisson),
        burstiness,
    };

    // Mix.
    let mut mix = Vec::new();
    if raw.mix.is_empty() {
        mix.push(Bucket {
            name: "1024x1024".into(),
            size: Size::new(1024, 1024),
            share: 1.0,
            inputs: vec![],
            steps: None,
        });
    }
    for (i, b) in raw.mix.iter().enumerate() {
        let key = format!("mix[{i}]");
        let size = match (&b.size, b.mp) {
            (Some(s), None) => parse_size(s, &join_key(&key, "size"), p),
            (None, Some(mp)) => {
                if finite_in(mp, 0.01, 64.0, &join_key(&key, "mp"), "megapixels", p) {
                    Some(Size::square_of_mp(mp))
                } else {
                    None
                }
            }
            (Some(_), Some(_)) => {
                p.push(&key, "has both size and mp; expected one of them");
                None
            }
            (None, None) => {
                p.push(
                    &key,
                    "has neither size nor mp; expected size = \"1024x1024\" or mp = 1.0",
                );
                None
            }
        };
        finite_in(b.share, 0.0, 1.0, &join_key(&key, "share"), "a share", p);
        let input_size = match &b.input_size {
            Some(s) => parse_size(s, &join_key(&key, "input_size"), p),
            None => size,
        };
        if b.inputs > 16 {
            p.push(
                join_key(&key, "inputs"),
                format!("{} input images per request; expected at most 16", b.inputs),
            );
        }
        if b.steps == Some(0) {
            p.push(join_key(&key, "steps"), "is 0; expected at least 1 step");
        }
        let inputs_v = match input_size {
            Some(s) if b.inputs <= 16 => vec![s; b.inputs as usize],
            _ => vec![],
        };
        if let Some(why) = b.name.as_deref().and_then(crate::names::label_problem) {
            p.push(join_key(&key, "name"), why);
        }
        if let Some(size) = size {
            mix.push(Bucket {
                name: b.name.clone().unwrap_or_else(|| size.to_string()),
                size,
                share: b.share,
                inputs: inputs_v,
                steps: b.steps,
            });
        }
    }
    let total_share: f64 = raw.mix.iter().map(|b| b.share).sum();
    if !raw.mix.is_empty() && (total_share - 1.0).abs() > 1e-6 {
        p.push("mix", format!("shares sum to {total_share}; expected 1"));
    }

    // Stages.
    let mut stages = Vec::new();
    for (i, s) in raw.stage.iter().enumerate() {
        let key = format!("stage[{i}]");
        finite_in(
            s.per_asset,
            0.0,
            1000.0,
            &join_key(&key, "per_asset"),
            "images per asset",
            p,
        );
        if let Some(why) = crate::names::id_problem(&s.name) {
            p.push(join_key(&key, "name"), why);
        } else if let Some(j) = stages
            .iter()
            .position(|x: &Stage| x.name != s.name && x.name.eq_ignore_ascii_case(&s.name))
        {
            p.push(
                join_key(&key, "name"),
                format!("\"{}\" differs from stage[{j}]'s \"{}\" only in case; expected names that differ in more", s.name, stages[j].name),
            );
        }
        if stages.iter().any(|x: &Stage| x.name == s.name) {
            p.push(
                join_key(&key, "name"),
                format!("\"{}\" is used twice; expected unique stage names", s.name),
            );
        }
        let size = s
            .size
            .as_ref()
            .and_then(|z| parse_size(z, &join_key(&key, "size"), p));
        stages.push(Stage {
            name: s.name.clone(),
            per_asset: s.per_asset,
            size,
        });
    }
    if stages.is_empty() {
        stages.push(Stage {
            name: "final".into(),
            per_asset: 1.0,
            size: None,
        });
    }

    // Options.
    if raw.option.is_empty() {
        p.push(
            "option",
            "no [[option]]s; expected at least one option to simulate",
        );
    }
    let mut options = Vec::new();
    for (i, o) in raw.option.iter().enumerate() {
        let key = format!("option[{i}]");
        let earlier = &raw.option[..i];
        if earlier.iter().any(|x| x.id == o.id) || o.id.trim().is_empty() {
            p.push(
                join_key(&key, "id"),
                format!(
                    "\"{}\" is empty or used twice; expected a unique id",
                    crate::names::escape(&o.id)
                ),
            );
        } else if let Some(why) = crate::names::id_problem(&o.id) {
            p.push(join_key(&key, "id"), why);
        } else if let Some(j) = earlier
            .iter()
            .position(|x| x.id.eq_ignore_ascii_case(&o.id))
        {
            p.push(
                join_key(&key, "id"),
                format!("\"{}\" differs from option[{j}]'s \"{}\" only in case; expected ids that differ in more, as their charts' file names must", o.id, raw.option[j].id),
            );
        }
        let serving = raw.serving.unwrap_or(Serving::Queue);
        if let Some(spec) = validate_option(
            o,
            &key,
            cat,
            &stages,
            &mix,
            serving,
            &mut inputs,
            raw.horizon_months,
            p,
        ) {
            options.push(spec);
        }
    }

    // The market: which offerings to compare, and how prices move.
    let mut market = validate_market(raw.market.as_ref(), cat, raw.horizon_months, &mut inputs, p);
    market.named_apis = options
        .iter()
        .filter_map(|o| match &o.kind {
            OptionKind::Api { api, .. } => Some(api.clone()),
            _ => None,
        })
        .collect();
    if market.compare_all && p.is_empty() {
        add_market_options(&mut options, &market, cat, &stages, &mix, raw.as_of);
    }

    // Correlations.
    let mut correlations = Vec::new();
    // Where each accepted pair is in the file, to point back at it.
    let mut pair_index: Vec<usize> = Vec::new();
    for (i, (a, b, rho)) in raw.correlations.iter().enumerate() {
        let key = format!("correlations[{i}]");
        let find = |n: &str, p: &mut Problems| {
            let idx = inputs.0.iter().position(|x| x.name == n);
            if idx.is_none() {
                let names: Vec<String> = inputs.0.iter().map(|x| x.name.clone()).collect();
                p.push(&key, crate::catalogue::unknown("input", n, names.iter()));
            }
            idx
        };
        let (ia, ib) = (find(a, p), find(b, p));
        if !(rho.is_finite() && rho.abs() <= 1.0) {
            p.push(
                &key,
                format!("{rho} is not a correlation; expected -1 to 1"),
            );
        } else if let (Some(ia), Some(ib)) = (ia, ib) {
            let first = correlations
                .iter()
                .position(|&(x, y, _)| (x, y) == (ia, ib) || (x, y) == (ib, ia));
            if ia == ib {
                p.push(
                    &key,
                    format!("correlates {a} with itself; expected two different inputs"),
                );
            } else if let Some(first) = first {
                p.push(
                    &key,
                    format!("correlates {a} and {b} again (first in correlations[{}]); expected one correlation per pair", pair_index[first]),
                );
            } else {
                correlations.push((ia, ib, *rho));
                pair_index.push(i);
            }
        }
    }
    let copula = if correlations.is_empty() {
        None
    } else {
        match Copula::new(inputs.0.len(), &correlations) {
            Ok(c) => Some(c),
            Err(sub) => {
                p.extend_under("correlations", sub);
                None
            }
        }
    };
    // The name is the output folder's (`out/<name>/`): an id, so it is a plain folder name.
    let from_file = raw.name.is_none();
    let name = raw.name.unwrap_or_else(|| default_name.to_string());
    if let Some(why) = crate::names::id_problem(&name) {
        let why = why.replacen(
            "; expected",
            "; it cannot name an output folder; expected",
            1,
        );
        if from_file {
            p.push(
                "name",
                format!("is not set and the file name gives {why} (or set name = \"...\")"),
            );
        } else {
            p.push("name", why);
        }
    }
    let discount_rate_per_year = raw.discount_rate_per_year.unwrap_or(0.0);
    if !(discount_rate_per_year.is_finite()
        && discount_rate_per_year > -0.5
        && discount_rate_per_year < 1.0)
    {
        p.push(
            "discount_rate_per_year",
            format!("{discount_rate_per_year} is out of range; expected a yearly rate above -0.5 and below 1 (0.08 for 8%)"),
        );
    }
    p.is_empty().then(|| Scenario {
        discount_rate_per_year,
        name,
        description: raw.description,
        file: String::new(),
        horizon_months: raw.horizon_months,
        start_month,
        as_of: raw.as_of,
        samples: raw.samples,
        seed: raw.seed,
        demand,
        mix,
        stages,
        options,
        inputs: inputs.0,
        correlations: correlations
            .into_iter()
            .map(|(a, b, r)| (InputId(a), InputId(b), r))
            .collect(),
        copula,
        market,
        text: String::new(),
        overrides: Vec::new(),
    })
}

/// The yearly drift input of an option's prices, when it sets one.
fn drift_input(
    inputs: &mut Inputs,
    base: &str,
    raw: Option<&RawDist>,
    key: &str,
    p: &mut Problems,
) -> Option<InputId> {
    raw.map(|r| {
        inputs.add(
            format!("{base}.price_drift"),
            key,
            Some(r),
            0.0,
            "share per year",
            (Some(-0.99), Some(10.0)),
            p,
        )
    })
}

fn validate_market(
    raw: Option<&RawMarket>,
    cat: &Catalogue,
    horizon: u32,
    inputs: &mut Inputs,
    p: &mut Problems,
) -> Market {
    let Some(m) = raw else {
        return Market {
            compare_all: true,
            ..Default::default()
        };
    };
    let models: Vec<String> = {
        let mut v: Vec<String> = cat
            .apis
            .values()
            .map(|a| a.model_key().to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for (i, s) in m.substitutes.iter().enumerate() {
        if !models.contains(s) {
            p.push(
                format!("market.substitutes[{i}]"),
                crate::catalogue::unknown("model", s, models.iter()),
            );
        }
    }
    let drift = |name: &str, raw: Option<&RawDist>, inputs: &mut Inputs, p: &mut Problems| {
        raw.map(|r| {
            inputs.add(
                format!("market.{name}"),
                &format!("market.{name}"),
                Some(r),
                0.0,
                "share per year",
                (Some(-0.99), Some(10.0)),
                p,
            )
        })
    };
    let api_price_drift = drift("api_price_drift", m.api_price_drift.as_ref(), inputs, p);
    let gpu_price_drift = drift("gpu_price_drift", m.gpu_price_drift.as_ref(), inputs, p);
    let mut changes = Vec::new();
    for (i, c) in m.price_change.iter().enumerate() {
        let key = |f: &str| format!("market.price_change[{i}].{f}");
        let what = match (&c.api, &c.gpu) {
            (Some(a), None) => check_api(cat, a, &key("api"), p).then(|| Mover::Api(a.clone())),
            (None, Some(g)) => {
                if cat.gpus.contains_key(g) {
                    Some(Mover::Gpu(g.clone()))
                } else {
                    p.push(
                        key("gpu"),
                        crate::catalogue::unknown("gpu", g, cat.gpus.keys()),
                    );
                    None
                }
            }
            _ => {
                p.push(
                    format!("market.price_change[{i}]"),
                    "names both or neither of api and gpu; expected one of them",
                );
                None
            }
        };
        if c.from_month == 0 || c.from_month > horizon {
            p.push(
                key("from_month"),
                format!(
                    "{} is outside the horizon; expected a month from 1 to {horizon}",
                    c.from_month
                ),
            );
        }
        finite_in(
            c.factor,
            0.0,
            100.0,
            &key("factor"),
            "a price multiplier",
            p,
        );
        let _ = &c.note;
        if let Some(what) = what {
            changes.push(PriceChange {
                what,
                from_month: c.from_month,
                factor: c.factor,
            });
        }
    }
    Market {
        compare_all: m.compare != Some(RawCompare::Named),
        named_apis: Vec::new(),
        substitutes: m.substitutes.clone(),
        api_price_drift,
        gpu_price_drift,
        changes,
    }
}

/// The models the scenario's options do (API options' models, self-hosted profiles), and
/// the substitutes the market allows.
pub fn models_of(options: &[OptionSpec], cat: &Catalogue, market: &Market) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for o in options {
        let m = match &o.kind {
            OptionKind::Api { api, .. } => cat.apis.get(api).map(|a| a.model_key().to_string()),
            OptionKind::SelfHost(h) => Some(h.profile.clone()),
        };
        if let Some(m) = m {
            if !models.contains(&m) {
                models.push(m);
            }
        }
    }
    for s in &market.substitutes {
        if !models.contains(s) {
            models.push(s.clone());
        }
    }
    models
}

/// Add every hosted offering of the scenario's models (and substitutes) that the file does
/// not name and that can serve every image the scenario asks for, as API options.
fn add_market_options(
    options: &mut Vec<OptionSpec>,
    market: &Market,
    cat: &Catalogue,
    stages: &[Stage],
    mix: &[Bucket],
    as_of: Option<NaiveDate>,
) {
    let models = models_of(options, cat, market);
    let named: Vec<String> = options
        .iter()
        .filter_map(|o| match &o.kind {
            OptionKind::Api { api, .. } => Some(api.clone()),
            _ => None,
        })
        .collect();
    // Stage routing is copied from the first option that has any.
    let stage_apis = options
        .iter()
        .find_map(|o| (!o.stage_apis.is_empty()).then(|| o.stage_apis.clone()))
        .unwrap_or_default();
    for off in cat.apis.values() {
        if named.contains(&off.id) || !models.iter().any(|m| m == off.model_key()) {
            continue;
        }
        let serves_all = stages.iter().all(|st| {
            mix.iter().all(|b| {
                let size = st.size.unwrap_or(b.size);
                crate::pricing::unit_price(cat, off, size, &b.inputs, b.steps, as_of).is_ok()
            })
        });
        let id = off.id.replace('/', "-");
        if !serves_all || options.iter().any(|o| o.id == id) {
            continue;
        }
        options.push(OptionSpec {
            id,
            from_market: true,
            setup_usd: None,
            kind: OptionKind::Api {
                api: off.id.clone(),
                price_factor: None,
                price_drift: None,
            },
            stage_apis: stage_apis.clone(),
        });
    }
}

/// Most assets in one month that a simulation takes (the engine stops past it).
const MAX_PEAK_MONTHLY: f64 = crate::limits::MAX_PEAK_MONTHLY_ASSETS;

/// Growth compounds: a volume and a growth rate that are each within bounds can still reach an
/// absurd volume by the end of the horizon. Checked at the same tails as the inputs' bounds.
fn check_peak_demand(
    monthly: &Dist,
    growth: &Dist,
    seasonality: &[f64; 12],
    horizon: u32,
    start_month: u32,
    p: &mut Problems,
) {
    let high = |d: &Dist| match d {
        Dist::Fixed(_)
        | Dist::Uniform { .. }
        | Dist::Triangular { .. }
        | Dist::Pert { .. }
        | Dist::Empirical(_) => d.max_value(),
        _ => d.quantile(0.999),
    };
    let (v, g) = (high(monthly), high(growth));
    if !(v.is_finite() && g.is_finite() && (1..=12).contains(&start_month)) {
        return; // reported by the inputs' own checks
    }
    let peak = (0..horizon)
        .map(|m| {
            let season = seasonality[(start_month as usize - 1 + m as usize) % 12];
            (m, v * (1.0 + g).powi(m as i32) * season)
        })
        .find(|(_, x)| !x.is_finite() || *x > MAX_PEAK_MONTHLY);
    if let Some((m, x)) = peak {
        p.push(
            "demand.growth",
            format!(
                "growth up to {} a month on a volume up to {} reaches {x:.3e} assets in month {} of {horizon}; expected demand under {MAX_PEAK_MONTHLY:.0e} a month over the whole horizon (lower the growth, the volume or horizon_months)",
                sig(g),
                sig(v),
                m + 1
            ),
        );
    }
}

/// A number for a message: `0.05`, `1.2e12`.
fn sig(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{}", (x * 1e4).round() / 1e4)
    }
}

fn check_api(cat: &Catalogue, id: &str, key: &str, p: &mut Problems) -> bool {
    if cat.apis.contains_key(id) {
        true
    } else {
        p.push(
            key,
            crate::catalogue::unknown("api offering", id, cat.apis.keys()),
        );
        false
    }
}

#[allow(clippy::too_many_arguments)]
fn validate_option(
    o: &RawOption,
    key: &str,
    cat: &Catalogue,
    stages: &[Stage],
    mix: &[Bucket],
    serving: Serving,
    inputs: &mut Inputs,
    horizon: u32,
    p: &mut Problems,
) -> Option<OptionSpec> {
    let k = |f: &str| join_key(key, f);
    let before = p.0.len();
    for (stage, api) in &o.stages {
        if !stages.iter().any(|s| &s.name == stage) {
            let names: Vec<String> = stages.iter().map(|s| s.name.clone()).collect();
            p.push(
                k(&format!("stages.{stage}")),
                crate::catalogue::unknown("stage", stage, names.iter()),
            );
        }
        check_api(cat, api, &k(&format!("stages.{stage}")), p);
    }
    let base = format!("option.{}", o.id);
    let setup_usd = o.setup_usd.as_ref().map(|r| {
        inputs.add(
            format!("{base}.setup_usd"),
            &k("setup_usd"),
            Some(r),
            0.0,
            "USD",
            (Some(0.0), Some(1e9)),
            p,
        )
    });
    let kind = match (&o.api, &o.selfhost) {
        (Some(_), Some(_)) => {
            p.push(key, "has both api and selfhost; expected one of them");
            return None;
        }
        (None, None) => {
            p.push(key, "has neither api nor selfhost; expected api = \"<provider>/<model>\" or selfhost = \"<profile>\"");
            return None;
        }
        (Some(api), None) => {
            check_api(cat, api, &k("api"), p);
            for (f, set) in [
                ("gpu", o.gpu.is_some()),
                ("offer", o.offer.is_some()),
                ("fleet", o.fleet.is_some()),
                ("overflow", o.overflow.is_some()),
                ("owned", o.owned.is_some()),
                ("commitment_months", o.commitment_months.is_some()),
                ("commitment_exit_usd", o.commitment_exit_usd.is_some()),
                ("serving", o.serving.is_some()),
                ("gpus_per_replica", o.gpus_per_replica.is_some()),
                ("replicas_per_gpu", o.replicas_per_gpu.is_some()),
                ("max_batch", o.max_batch.is_some()),
            ] {
                if set {
                    p.push(
                        k(f),
                        "belongs to self-hosted options; an api option has no fleet",
                    );
                }
            }
            let price_factor = o.price_factor.as_ref().map(|r| {
                inputs.add(
                    format!("{base}.price_factor"),
                    &k("price_factor"),
                    Some(r),
                    1.0,
                    "× price",
                    (Some(0.0), Some(crate::limits::MAX_PRICE_FACTOR)),
                    p,
                )
            });
            let price_drift =
                drift_input(inputs, &base, o.price_drift.as_ref(), &k("price_drift"), p);
            OptionKind::Api {
                api: api.clone(),
                price_factor,
                price_drift,
            }
        }
        (None, Some(profile_id)) => {
            let profile = match cat.selfhost.get(profile_id) {
                Some(x) => Some(x),
                None => {
                    p.push(
                        k("selfhost"),
                        crate::catalogue::unknown(
                            "self-host profile",
                            profile_id,
                            cat.selfhost.keys(),
                        ),
                    );
                    None
                }
            };
            let Some(gpu_id) = &o.gpu else {
                p.push(
                    k("gpu"),
                    "is missing; a self-hosted option runs on a gpu from the catalogue",
                );
                return None;
            };
            let gpu = match cat.gpus.get(gpu_id) {
                Some(g) => Some(g),
                None => {
                    p.push(
                        k("gpu"),
                        crate::catalogue::unknown("gpu", gpu_id, cat.gpus.keys()),
                    );
                    None
                }
            };
            let (Some(profile), Some(gpu)) = (profile, gpu) else {
                return None;
            };
            let own_speed = o.seconds_at_1mp.is_some() || o.bucket_seconds.is_some();
            let shape = validate_shape(o, profile, gpu, own_speed, &k, p);
            let need = profile.memory_on(&gpu.id) * shape.replicas_per_gpu as f64;
            let have = gpu.memory_gb * shape.gpus_per_replica as f64;
            if need > have {
                let what = match (shape.replicas_per_gpu, shape.gpus_per_replica) {
                    (1, 1) => format!("{} has {} GB", gpu.id, gpu.memory_gb),
                    (r, 1) => format!(
                        "{r} replicas need {need:.1} GB and {} has {} GB",
                        gpu.id, gpu.memory_gb
                    ),
                    (_, g) => format!("a replica of {g}× {} has {have} GB", gpu.id),
                };
                p.push(k("gpu"), format!("{} needs {} GB but {what}; expected a gpu with enough memory (or a speed entry for a quantised setup, or gpus_per_replica)", profile.id, profile.memory_on(&gpu.id)));
            }
            if o.seconds_at_1mp.is_none()
                && o.bucket_seconds.is_none()
                && profile.speed_on(&gpu.id).is_none()
            {
                let known: Vec<String> = profile.speeds.iter().map(|s| s.gpu.clone()).collect();
                p.push(k("gpu"), format!("the catalogue has no speed for {} on {}; it has {}; expected one of those or seconds_at_1mp in the option", profile.id, gpu.id, known.join(", ")));
            }
            if let Some(s) = o.seconds_at_1mp {
                finite_in(s, 1e-4, 3600.0, &k("seconds_at_1mp"), "seconds", p);
            }
            if let Some(bs) = &o.bucket_seconds {
                if bs.len() != mix.len() {
                    p.push(
                        k("bucket_seconds"),
                        format!(
                            "has {} values; expected one per mix bucket ({})",
                            bs.len(),
                            mix.len()
                        ),
                    );
                }
                for (i, s) in bs.iter().enumerate() {
                    finite_in(
                        *s,
                        1e-4,
                        3600.0,
                        &k(&format!("bucket_seconds[{i}]")),
                        "seconds",
                        p,
                    );
                }
            }
            for (i, b) in mix.iter().enumerate() {
                if b.size.mp_f64() > profile.max_mp + 1e-9 {
                    p.push(
                        format!("mix[{i}].size"),
                        format!(
                            "{} is {:.2} MP, over {}'s limit of {} MP (used by option {})",
                            b.size,
                            b.size.mp_f64(),
                            profile.id,
                            profile.max_mp,
                            o.id
                        ),
                    );
                }
                if let Some(s) = b.steps {
                    if s < profile.min_steps || s > profile.max_steps {
                        p.push(
                            format!("mix[{i}].steps"),
                            format!(
                                "{s} is outside {}'s range of {} to {} steps (used by option {})",
                                profile.id, profile.min_steps, profile.max_steps, o.id
                            ),
                        );
                    }
                }
            }
            let fleet = validate_fleet(o.fleet.as_ref(), &k("fleet"), p);
            let payment = validate_payment(o, gpu, cat, &fleet, key, &base, horizon, inputs, p);
            if let (Some(Payment::Serverless { .. }), Some(f)) = (&payment, &fleet) {
                if !matches!(f, FleetPolicy::Serverless { .. }) {
                    p.push(
                        k("fleet.policy"),
                        "a serverless offer needs policy = \"serverless\"",
                    );
                }
            }
            if let (Some(pay), Some(FleetPolicy::Serverless { .. })) = (&payment, &fleet) {
                if !matches!(pay, Payment::Serverless { .. }) {
                    p.push(
                        k("offer"),
                        "policy serverless needs a serverless offer (class = \"serverless\")",
                    );
                }
            }
            let licence = o.licence.clone().unwrap_or_else(|| profile.licence.clone());
            match cat.licences.get(&licence) {
                None => p.push(
                    k("licence"),
                    crate::catalogue::unknown("licence", &licence, cat.licences.keys()),
                ),
                Some(l) if !l.covers.iter().any(|c| c == &profile.id) => {
                    let ok: Vec<String> = cat
                        .licences_for(&profile.id)
                        .iter()
                        .map(|l| l.id.clone())
                        .collect();
                    p.push(
                        k("licence"),
                        format!(
                            "{licence} does not cover {}; licences that do: {}",
                            profile.id,
                            ok.join(", ")
                        ),
                    );
                }
                Some(_) => {}
            }
            if let Some(f) = o.licence_fee_usd {
                if f.is_sign_negative() {
                    p.push(
                        k("licence_fee_usd"),
                        format!("{f} is negative; expected a fee of 0 or more"),
                    );
                }
            }
            let overflow = o.overflow.as_ref().and_then(|api| {
                let ok = api == CHEAPEST || check_api(cat, api, &k("overflow"), p);
                ok.then(|| Overflow {
                    api: api.clone(),
                    max_queue_seconds: o.max_queue_seconds.unwrap_or(0.0),
                })
            });
            if let Some(q) = o.max_queue_seconds {
                finite_in(q, 0.0, 86_400.0, &k("max_queue_seconds"), "seconds", p);
                if o.overflow.is_none() {
                    p.push(
                        k("max_queue_seconds"),
                        "is set without overflow; it says when to overflow to the api",
                    );
                }
            }
            let ops_rate = o.ops_usd_per_hour.unwrap_or(Usd::ZERO);
            if ops_rate.is_sign_negative() {
                p.push(
                    k("ops_usd_per_hour"),
                    format!("{ops_rate} is negative; expected a rate of 0 or more"),
                );
            }
            let ops_hours = inputs.add(
                format!("{base}.ops_hours_per_month"),
                &k("ops_hours_per_month"),
                o.ops_hours_per_month.as_ref(),
                0.0,
                "hours/month",
                (Some(0.0), Some(10_000.0)),
                p,
            );
            let speed_factor = inputs.add(
                format!("{base}.speed_factor"),
                &k("speed_factor"),
                o.speed_factor.as_ref(),
                1.0,
                "× seconds",
                (Some(1e-3), Some(1e3)),
                p,
            );
            let gpu_price_factor = inputs.add(
                format!("{base}.gpu_price_factor"),
                &k("gpu_price_factor"),
                o.gpu_price_factor.as_ref(),
                1.0,
                "× GPU price",
                (Some(0.0), Some(crate::limits::MAX_PRICE_FACTOR)),
                p,
            );
            let gpu_price_drift =
                drift_input(inputs, &base, o.price_drift.as_ref(), &k("price_drift"), p);
            if let Some(f) = &fleet {
                check_fleet_shape(f, &shape, &k, p);
            }
            let (Some(fleet), Some(payment)) = (fleet, payment) else {
                return None;
            };
            OptionKind::SelfHost(Box::new(SelfHost {
                profile: profile.id.clone(),
                gpu: gpu.id.clone(),
                payment,
                fleet,
                overflow,
                licence,
                licence_fee_usd: o.licence_fee_usd,
                ops_hours,
                ops_given: o.ops_hours_per_month.is_some(),
                ops_usd_per_hour: ops_rate,
                speed_factor,
                bucket_seconds: o.bucket_seconds.clone(),
                seconds_at_1mp: o.seconds_at_1mp,
                gpu_price_factor,
                gpu_price_drift,
                serving: o.serving.unwrap_or(serving),
                shape,
            }))
        }
    };
    (p.0.len() == before).then(|| OptionSpec {
        from_market: false,
        setup_usd,
        id: o.id.clone(),
        kind,
        stage_apis: o.stages.clone(),
    })
}

/// Replicas, GPUs per replica and batch size, checked against the profile and the GPU.
fn validate_shape(
    o: &RawOption,
    profile: &crate::catalogue::SpeedProfile,
    gpu: &crate::catalogue::Gpu,
    own_speed: bool,
    k: &dyn Fn(&str) -> String,
    p: &mut Problems,
) -> ServingShape {
    use crate::catalogue::{MAX_BATCH, MAX_GPUS_PER_REPLICA};
    let measured = profile.speed_on(&gpu.id).map(|s| s.gpus_per_replica);
    let mut shape = ServingShape::default();
    let in_range = |v: u32, hi: u32, key: &str, what: &str, p: &mut Problems| {
        if v == 0 || v > hi {
            p.push(
                k(key),
                format!("{v} is out of range; expected {what} from 1 to {hi}"),
            );
            false
        } else {
            true
        }
    };
    match (o.gpus_per_replica, measured) {
        (Some(g), _) if !in_range(g, MAX_GPUS_PER_REPLICA, "gpus_per_replica", "gpus", p) => {}
        (Some(g), Some(m)) if !own_speed && g != m => p.push(
            k("gpus_per_replica"),
            format!(
                "is {g} but the catalogue's speed for {} on {} is for a replica of {m} gpu(s); expected {m}, or seconds_at_1mp measured on {g} gpus",
                profile.id, gpu.id
            ),
        ),
        (Some(g), _) => shape.gpus_per_replica = g,
        (None, Some(m)) if !own_speed => shape.gpus_per_replica = m,
        (None, _) => {}
    }
    if let Some(r) = o.replicas_per_gpu {
        if in_range(r, MAX_GPUS_PER_REPLICA, "replicas_per_gpu", "replicas", p) {
            if r > 1 && shape.gpus_per_replica > 1 {
                p.push(
                    k("replicas_per_gpu"),
                    format!(
                        "is {r} with a replica spanning {} gpus; expected one of them to be 1",
                        shape.gpus_per_replica
                    ),
                );
            } else {
                shape.replicas_per_gpu = r;
            }
        }
    }
    if let Some(b) = o.max_batch {
        if in_range(b, MAX_BATCH, "max_batch", "images", p) {
            if b > 1 && profile.batch.is_empty() {
                p.push(
                    k("max_batch"),
                    format!("is {b} but {} has no batch curve; expected max_batch = 1, or [[batch]] throughputs in models/selfhost/{}.toml", profile.id, profile.id),
                );
            } else {
                shape.max_batch = b;
            }
        }
    }
    if shape.replicas_per_gpu > 1 && profile.batch.is_empty() {
        // Co-located replicas share the GPU as a batch would: its curve gives their gain.
        p.push(
            k("replicas_per_gpu"),
            format!("is {} but {} has no batch curve to say what replicas sharing a gpu gain; expected replicas_per_gpu = 1, or [[batch]] throughputs in models/selfhost/{}.toml", shape.replicas_per_gpu, profile.id, profile.id),
        );
        shape.replicas_per_gpu = 1;
    }
    shape
}

/// A fleet's GPUs come in whole replicas.
fn check_fleet_shape(
    f: &FleetPolicy,
    shape: &ServingShape,
    k: &dyn Fn(&str) -> String,
    p: &mut Problems,
) {
    let g = shape.gpus_per_replica;
    if g <= 1 {
        return;
    }
    let check = |v: u32, key: &str, p: &mut Problems| {
        if v % g != 0 {
            p.push(
                k(key),
                format!("{v} gpus is not a whole number of {g}-gpu replicas; expected a multiple of {g}"),
            );
        }
    };
    match f {
        FleetPolicy::Fixed { gpus } => check(*gpus, "fleet.gpus", p),
        FleetPolicy::Autoscaled { min, max, .. } => {
            check(*min, "fleet.min", p);
            check(*max, "fleet.max", p);
        }
        FleetPolicy::Serverless { .. } => p.push(
            k("gpus_per_replica"),
            format!("is {g}; a serverless worker is one gpu, expected gpus_per_replica = 1"),
        ),
    }
}

fn validate_fleet(f: Option<&RawFleet>, key: &str, p: &mut Problems) -> Option<FleetPolicy> {
    let Some(f) = f else {
        return Some(FleetPolicy::Fixed { gpus: 1 });
    };
    let k = |x: &str| join_key(key, x);
    let stray = |names: &[(&str, bool)], policy: &str, p: &mut Problems| {
        for (n, set) in names {
            if *set {
                p.push(k(n), format!("does not belong to policy {policy}"));
            }
        }
    };
    match f.policy {
        RawPolicy::Fixed => {
            stray(
                &[
                    ("min", f.min.is_some()),
                    ("max", f.max.is_some()),
                    ("target_utilisation", f.target_utilisation.is_some()),
                    ("max_workers", f.max_workers.is_some()),
                ],
                "fixed",
                p,
            );
            let gpus = f.gpus.unwrap_or(1);
            if gpus == 0 || gpus > 10_000 {
                p.push(
                    k("gpus"),
                    format!("{gpus} is out of range; expected 1 to 10000 gpus"),
                );
                return None;
            }
            Some(FleetPolicy::Fixed { gpus })
        }
        RawPolicy::Autoscaled => {
            stray(
                &[
                    ("gpus", f.gpus.is_some()),
                    ("max_workers", f.max_workers.is_some()),
                ],
                "autoscaled",
                p,
            );
            let min = f.min.unwrap_or(0);
            let Some(max) = f.max else {
                p.push(
                    k("max"),
                    "is missing; an autoscaled fleet needs its largest size",
                );
                return None;
            };
            if max == 0 || min > max || max > 10_000 {
                p.push(k("max"), format!("min ({min}) and max ({max}) must satisfy 0 <= min <= max, 1 <= max <= 10000"));
            }
            let target = f.target_utilisation.unwrap_or(0.8);
            finite_in(
                target,
                0.05,
                1.0,
                &k("target_utilisation"),
                "a utilisation",
                p,
            );
            let delay = f.scale_up_delay_minutes.unwrap_or(5.0);
            finite_in(delay, 0.0, 60.0, &k("scale_up_delay_minutes"), "minutes", p);
            let min_billed = f.min_billed_hours.unwrap_or(1).max(1);
            if min_billed > 24 * 31 {
                p.push(
                    k("min_billed_hours"),
                    format!("{min_billed} is out of range; expected 1 to 744 hours"),
                );
            }
            Some(FleetPolicy::Autoscaled {
                min,
                max,
                target_utilisation: target,
                scale_up_delay_minutes: delay,
                min_billed_hours: min_billed,
            })
        }
        RawPolicy::Serverless => {
            stray(
                &[
                    ("gpus", f.gpus.is_some()),
                    ("min", f.min.is_some()),
                    ("max", f.max.is_some()),
                ],
                "serverless",
                p,
            );
            let w = f.max_workers.unwrap_or(10);
            if w == 0 || w > 10_000 {
                p.push(
                    k("max_workers"),
                    format!("{w} is out of range; expected 1 to 10000 workers"),
                );
            }
            Some(FleetPolicy::Serverless { max_workers: w })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn validate_payment(
    o: &RawOption,
    gpu: &crate::catalogue::Gpu,
    cat: &Catalogue,
    fleet: &Option<FleetPolicy>,
    key: &str,
    base: &str,
    horizon: u32,
    inputs: &mut Inputs,
    p: &mut Problems,
) -> Option<Payment> {
    let k = |x: &str| join_key(key, x);
    let payment = o.payment;
    if payment == Some(RawPayment::Owned) || (o.owned.is_some() && o.offer.is_none()) {
        // Every owned figure has a default (the catalogue's price and resale curve).
        let none = RawOwned::default();
        let ow = o.owned.as_ref().unwrap_or(&none);
        if o.offer.is_some() {
            p.push(k("offer"), "does not belong to an owned option");
        }
        if !matches!(fleet, Some(FleetPolicy::Fixed { .. })) {
            p.push(
                k("fleet.policy"),
                "owned gpus run as a fixed fleet; expected policy = \"fixed\"",
            );
        }
        let purchase = ow
            .purchase_usd
            .or_else(|| gpu.purchase.as_ref().map(|x| x.usd));
        let Some(purchase) = purchase else {
            p.push(
                k("owned.purchase_usd"),
                format!(
                    "is missing and the catalogue has no purchase price for {}",
                    gpu.id
                ),
            );
            return None;
        };
        if purchase.is_sign_negative() {
            p.push(k("owned.purchase_usd"), format!("{purchase} is negative"));
        }
        if ow.amortise_months.is_some() {
            p.push(
                k("owned.amortise_months"),
                "is no longer used: the purchase is paid up front and its resale value comes back \
                 at the horizon's end; expected owned.residual_share (a share of purchase + system, \
                 a distribution) or nothing, for the catalogue's resale curve",
            );
        }
        let system = ow.system_usd.unwrap_or(Usd::ZERO);
        if system.is_sign_negative() {
            p.push(k("owned.system_usd"), format!("{system} is negative"));
        }
        // Resale at the horizon's end: the file's, else the catalogue's curve at that age.
        let resale = gpu
            .resale
            .as_ref()
            .or_else(|| cat.gpus.get("h100-sxm").and_then(|g| g.resale.as_ref()));
        let default = resale.map(|r| r.share_at(horizon));
        let residual_share = match (&ow.residual_share, default) {
            (Some(r), _) => inputs.add(
                format!("{base}.residual_share"),
                &k("owned.residual_share"),
                Some(r),
                0.0,
                "share of purchase",
                (Some(0.0), Some(1.0)),
                p,
            ),
            (None, Some((lo, hi))) => {
                let dist = if hi > lo {
                    crate::dist::Dist::Uniform { min: lo, max: hi }
                } else {
                    crate::dist::Dist::Fixed(lo)
                };
                inputs.0.push(NamedInput {
                    name: format!("{base}.residual_share"),
                    dist,
                    unit: "share of purchase",
                });
                InputId(inputs.0.len() - 1)
            }
            (None, None) => {
                p.push(
                    k("owned.residual_share"),
                    format!("is missing and the catalogue has no resale curve for {}; expected a share of the purchase a used card fetches at the horizon's end", gpu.id),
                );
                InputId(0)
            }
        };
        let pue = ow.pue.unwrap_or(1.3);
        finite_in(
            pue,
            1.0,
            3.0,
            &k("owned.pue"),
            "a power usage effectiveness",
            p,
        );
        let idle = ow.idle_power_share.unwrap_or(0.3);
        finite_in(idle, 0.0, 1.0, &k("owned.idle_power_share"), "a share", p);
        let kwh = ow
            .usd_per_kwh
            .unwrap_or_else(|| DEFAULT_USD_PER_KWH.parse().expect("constant"));
        let hosting = ow.hosting_usd_per_month.unwrap_or(Usd::ZERO);
        for (n, v) in [
            ("owned.usd_per_kwh", kwh),
            ("owned.hosting_usd_per_month", hosting),
        ] {
            if v.is_sign_negative() {
                p.push(k(n), format!("{v} is negative"));
            }
        }
        return Some(Payment::Owned {
            purchase_usd: purchase,
            system_usd: system,
            residual_share,
            residual_from_catalogue: ow.residual_share.is_none(),
            usd_per_kwh: kwh,
            pue,
            hosting_usd_per_month: hosting,
            idle_power_share: idle,
        });
    }
    if o.owned.is_some() {
        p.push(k("owned"), "is set but payment is not owned");
    }
    let Some(offer_id) = &o.offer else {
        let ids: Vec<String> = gpu.offers.iter().map(|x| x.id.clone()).collect();
        p.push(
            k("offer"),
            format!(
                "is missing; expected one of {}'s offers: {}, or payment = \"owned\"",
                gpu.id,
                ids.join(", ")
            ),
        );
        return None;
    };
    let Some(offer) = gpu.offer(offer_id) else {
        let ids: Vec<String> = gpu.offers.iter().map(|x| x.id.clone()).collect();
        p.push(
            k("offer"),
            crate::catalogue::unknown(&format!("offer of {}", gpu.id), offer_id, ids.iter()),
        );
        return None;
    };
    if let Some(pay) = payment {
        let ok = match pay {
            RawPayment::Serverless => offer.class == OfferClass::Serverless,
            RawPayment::Spot => matches!(offer.class, OfferClass::Spot | OfferClass::Community),
            RawPayment::Reserved => offer.class == OfferClass::Reserved,
            RawPayment::OnDemand => matches!(
                offer.class,
                OfferClass::OnDemand | OfferClass::Secure | OfferClass::Community
            ),
            // Handled above.
            RawPayment::Owned => true,
        };
        if !ok {
            p.push(
                k("payment"),
                format!(
                    "\"{}\" does not match offer {} of class {}",
                    pay.name(),
                    offer.id,
                    offer.class.name()
                ),
            );
        }
    }
    // A scenario's own measurement wins over the catalogue's figure, within sane bounds.
    let own = |p: &mut Problems, value: Option<f64>, catalogue: Option<f64>, key: &str, hi: f64| {
        let what = if key.ends_with("_seconds") {
            "seconds"
        } else {
            "interruptions per hour"
        };
        let x = value.or(catalogue).unwrap_or(0.0);
        if value.is_some() {
            finite_in(x, 0.0, hi, &k(key), what, p);
        }
        x
    };
    if offer.class == OfferClass::Serverless {
        for (given, key) in [
            (o.usd_per_hour.is_some(), "usd_per_hour"),
            (o.interruptions_per_hour.is_some(), "interruptions_per_hour"),
            (
                o.interruption_lost_seconds.is_some(),
                "interruption_lost_seconds",
            ),
        ] {
            if given {
                p.push(k(key), "does not apply to a serverless offer");
            }
        }
        let cold_start_seconds = own(
            p,
            o.cold_start_seconds,
            offer.cold_start_seconds,
            "cold_start_seconds",
            3_600.0,
        );
        let idle_timeout_seconds = own(
            p,
            o.idle_timeout_seconds,
            offer.idle_timeout_seconds,
            "idle_timeout_seconds",
            86_400.0,
        );
        return Some(Payment::Serverless {
            offer: offer.id.clone(),
            usd_per_second: offer.usd_per_second.unwrap_or_default(),
            increment_seconds: offer.billing_increment_seconds.unwrap_or(1),
            cold_start_seconds,
            idle_timeout_seconds,
        });
    }
    for (given, key) in [
        (o.cold_start_seconds.is_some(), "cold_start_seconds"),
        (o.idle_timeout_seconds.is_some(), "idle_timeout_seconds"),
    ] {
        if given {
            p.push(
                k(key),
                format!(
                    "applies to serverless offers only; {} is {}",
                    offer.id,
                    offer.class.name()
                ),
            );
        }
    }
    let interruptions_per_hour = own(
        p,
        o.interruptions_per_hour,
        offer.interruptions_per_hour,
        "interruptions_per_hour",
        60.0,
    );
    if offer.class == OfferClass::Reserved && !matches!(fleet, Some(FleetPolicy::Fixed { .. })) {
        p.push(
            k("fleet.policy"),
            "reserved gpus are paid whether used or not; expected policy = \"fixed\"",
        );
    }
    let rate = o.usd_per_hour.or(offer.usd_per_hour).unwrap_or_default();
    if rate <= Usd::ZERO {
        p.push(
            k("usd_per_hour"),
            format!("{rate} is not a positive hourly price"),
        );
    }
    let lost = o.interruption_lost_seconds.unwrap_or(600.0);
    finite_in(
        lost,
        0.0,
        86_400.0,
        &k("interruption_lost_seconds"),
        "seconds",
        p,
    );
    let commitment_months = o.commitment_months.or(offer.commitment_months);
    if let Some(c) = commitment_months {
        if c == 0 || c > MAX_COMMITMENT_MONTHS {
            p.push(
                k("commitment_months"),
                format!("{c} is out of range; expected 1 to {MAX_COMMITMENT_MONTHS} months"),
            );
        }
    }
    if let Some(x) = o.commitment_exit_usd {
        if x.is_sign_negative() {
            p.push(
                k("commitment_exit_usd"),
                format!("{x} is negative; expected the cost of reselling or cancelling, 0 or more"),
            );
        }
        if commitment_months.is_none() {
            p.push(
                k("commitment_exit_usd"),
                "is set but the offer has no commitment",
            );
        }
    }
    Some(Payment::Hourly {
        offer: offer.id.clone(),
        usd_per_hour: rate,
        class: offer.class,
        interruptions_per_hour,
        interruption_lost_seconds: lost,
        commitment_months,
        commitment_exit_usd: o.commitment_exit_usd,
    })
}
