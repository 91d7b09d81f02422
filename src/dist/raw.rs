//! How a distribution is written in TOML: a plain number or an inline table tagged by `dist`,
//! checked into a [`Dist`] with every problem named.

use super::*;

/// A distribution as written in an input file, before checking: a plain number or an inline table
/// tagged by `dist`. Kept as the original TOML value so it can be echoed back exactly as written
/// (it serializes transparently). Unknown keys are reported by [`RawDist::validate`], with the keys
/// the family allows and the nearest one, rather than rejected by serde one at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawDist(pub toml::Value);

/// A family's name and the sets of keys that define it, any one set at a time.
struct Family {
    name: &'static str,
    forms: &'static [&'static [&'static str]],
}

const FAMILIES: &[Family] = &[
    Family {
        name: "fixed",
        forms: &[&["value"]],
    },
    Family {
        name: "uniform",
        forms: &[&["min", "max"]],
    },
    Family {
        name: "triangular",
        forms: &[&["min", "mode", "max"]],
    },
    Family {
        name: "pert",
        forms: &[&["min", "mode", "max"]],
    },
    Family {
        name: "normal",
        forms: &[&["mean", "sd"]],
    },
    Family {
        name: "lognormal",
        forms: &[&["median", "p90"], &["p5", "p95"], &["mu", "sigma"]],
    },
    Family {
        name: "gamma",
        forms: &[&["mean", "sd"], &["shape", "rate"]],
    },
    Family {
        name: "poisson",
        forms: &[&["mean"]],
    },
    Family {
        name: "negbinomial",
        forms: &[&["mean", "dispersion"]],
    },
    Family {
        name: "empirical",
        forms: &[&["values"]],
    },
];

impl Family {
    fn allows(&self, key: &str) -> bool {
        self.forms.iter().any(|f| f.contains(&key))
    }
    /// "median and p90, or p5 and p95, or mu and sigma".
    fn needs(&self) -> String {
        self.forms
            .iter()
            .map(|f| and_list(f))
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The candidate closest to a misspelt `word`, if any is close.
fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Jaro-Winkler favours shared prefixes; one edit (a swap counts as one: `p09` for `p90`)
    // is close whatever the prefix.
    candidates
        .into_iter()
        .map(|c| {
            let jw = strsim::jaro_winkler(word, c);
            let edits = strsim::damerau_levenshtein(word, c);
            (if edits <= 1 { jw.max(0.9) } else { jw }, c)
        })
        .filter(|&(score, _)| score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// What was found at a numeric key.
enum Field {
    Absent,
    /// Present but unusable; already reported.
    Bad,
    Num(f64),
}

fn read_num(v: Option<&toml::Value>, key: &str, probs: &mut Problems) -> Field {
    match v {
        None => Field::Absent,
        Some(toml::Value::Integer(i)) => Field::Num(*i as f64),
        Some(toml::Value::Float(f)) if f.is_finite() => Field::Num(*f),
        Some(toml::Value::Float(f)) => {
            probs.push(key, format!("must be a finite number (got {f})"));
            Field::Bad
        }
        Some(toml::Value::String(s)) if s.trim().parse::<f64>().is_ok() => {
            probs.push(
                key,
                format!("expected a number, got a string (\"{s}\"); write it without quotes"),
            );
            Field::Bad
        }
        Some(other) => {
            probs.push(key, format!("expected a number, got {}", a_type(other)));
            Field::Bad
        }
    }
}

/// "a string", "an integer", ... for messages.
fn a_type(v: &toml::Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

impl RawDist {
    /// Check the value and build the distribution, reporting every problem at once. Keys are
    /// relative to this value (`p90`, `values[2]`, `dist`; empty for the value as a whole), so a
    /// caller prefixes them with [`Problems::extend_under`].
    pub fn validate(&self) -> Result<Dist, Problems> {
        match &self.0 {
            toml::Value::Integer(i) => Ok(Dist::Fixed(*i as f64)),
            toml::Value::Float(f) => Dist::fixed(*f).map_err(|mut p| {
                // A plain number has no `value` key to point at.
                p.0.iter_mut().for_each(|p| p.key.clear());
                p
            }),
            toml::Value::Table(t) => validate_table(t),
            other => {
                let mut probs = Problems::default();
                let quoted = match other {
                    toml::Value::String(s) if s.trim().parse::<f64>().is_ok() => {
                        "; write the number without quotes"
                    }
                    _ => "",
                };
                probs.push(
                    "",
                    format!(
                        "expected a number or a table such as {{ dist = \"normal\", mean = 10, sd = 2 }}, got {}{quoted}",
                        a_type(other)
                    ),
                );
                Err(probs)
            }
        }
    }

    /// [`RawDist::validate`], then [`Dist::check_bounds`] with `lo` and `hi`.
    pub fn validate_with(&self, lo: Option<f64>, hi: Option<f64>) -> Result<Dist, Problems> {
        let d = self.validate()?;
        d.check_bounds(lo, hi)?;
        Ok(d)
    }
}

impl From<f64> for RawDist {
    fn from(v: f64) -> Self {
        RawDist(toml::Value::Float(v))
    }
}

impl From<&Dist> for RawDist {
    /// The canonical tagged form (`{ dist = "lognormal", mu = .., sigma = .. }`), or a plain
    /// number for a fixed value.
    fn from(d: &Dist) -> Self {
        match *d {
            Dist::Fixed(v) => RawDist::from(v),
            _ => RawDist(
                toml::Value::try_from(d).expect("a distribution always serializes to a toml table"),
            ),
        }
    }
}

impl TryFrom<RawDist> for Dist {
    type Error = Problems;
    fn try_from(raw: RawDist) -> Result<Dist, Problems> {
        raw.validate()
    }
}

fn validate_table(t: &toml::Table) -> Result<Dist, Problems> {
    let mut probs = Problems::default();
    let names = || FAMILIES.iter().map(|f| f.name);
    let all = names().collect::<Vec<_>>().join(", ");
    let name = match t.get("dist") {
        Some(toml::Value::String(s)) => s.as_str(),
        None => {
            probs.push("dist", format!("missing; expected dist = one of {all}"));
            return Err(probs);
        }
        Some(other) => {
            probs.push(
                "dist",
                format!(
                    "expected a string naming one of {all}, got {}",
                    a_type(other)
                ),
            );
            return Err(probs);
        }
    };
    let Some(fam) = FAMILIES.iter().find(|f| f.name == name) else {
        let hint = did_you_mean(name, names());
        probs.push(
            "dist",
            format!("unknown dist \"{name}\"; expected one of {all}{hint}"),
        );
        return Err(probs);
    };
    let needs = fam.needs();
    for key in t.keys().filter(|k| *k != "dist" && !fam.allows(k)) {
        let hint = did_you_mean(key, fam.forms.iter().flat_map(|f| f.iter().copied()));
        probs.push(
            key.as_str(),
            format!("unknown key for {name}; expected {needs}{hint}"),
        );
    }
    if name == "empirical" {
        return match empirical_values(t, &mut probs) {
            Some(values) if probs.is_empty() => Dist::empirical(values),
            _ => Err(probs),
        };
    }

    // Which form did the user write? Exactly one complete form and nothing from the others.
    let present = |k: &str| t.contains_key(k);
    let complete: Vec<usize> = (0..fam.forms.len())
        .filter(|&i| fam.forms[i].iter().all(|k| present(k)))
        .collect();
    let given: Vec<&str> = fam
        .forms
        .iter()
        .flat_map(|f| f.iter().copied())
        .filter(|k| present(k))
        .collect();
    let form = match complete[..] {
        [i] if given.iter().all(|k| fam.forms[i].contains(k)) => fam.forms[i],
        _ if fam.forms.len() == 1 => {
            for k in fam.forms[0].iter().filter(|k| !present(k)) {
                probs.push(*k, format!("{name} needs {needs}; {k} is missing"));
            }
            return Err(probs);
        }
        _ => {
            let got = if given.is_empty() {
                String::new()
            } else {
                format!(" (got {})", and_list(&given))
            };
            probs.push("", format!("{name} needs {needs}{got}"));
            return Err(probs);
        }
    };
    let mut v = Vec::with_capacity(form.len());
    for k in form {
        if let Field::Num(x) = read_num(t.get(*k), k, &mut probs) {
            v.push(x);
        }
    }
    if v.len() < form.len() {
        return Err(probs);
    }
    let built = match (name, form[0]) {
        ("fixed", _) => Dist::fixed(v[0]),
        ("uniform", _) => Dist::uniform(v[0], v[1]),
        ("triangular", _) => Dist::triangular(v[0], v[1], v[2]),
        ("pert", _) => Dist::pert(v[0], v[1], v[2]),
        ("normal", _) => Dist::normal(v[0], v[1]),
        ("lognormal", "median") => Dist::lognormal_median_p90(v[0], v[1]),
        ("lognormal", "p5") => Dist::lognormal_p5_p95(v[0], v[1]),
        ("lognormal", _) => Dist::lognormal(v[0], v[1]),
        ("gamma", "mean") => Dist::gamma_mean_sd(v[0], v[1]),
        ("gamma", _) => Dist::gamma(v[0], v[1]),
        ("poisson", _) => Dist::poisson(v[0]),
        ("negbinomial", _) => Dist::negbinomial(v[0], v[1]),
        _ => unreachable!("every family in FAMILIES has a constructor"),
    };
    match built {
        Ok(d) if probs.is_empty() => Ok(d),
        Ok(_) => Err(probs),
        Err(more) => {
            probs.0.extend(more.0);
            Err(probs)
        }
    }
}

/// The numbers under `values`, or `None` after reporting why there are none.
fn empirical_values(t: &toml::Table, probs: &mut Problems) -> Option<Vec<f64>> {
    let items = match t.get("values") {
        Some(toml::Value::Array(items)) => items,
        None => {
            probs.push("values", "empirical needs values; values is missing");
            return None;
        }
        Some(other) => {
            probs.push(
                "values",
                format!("expected an array of numbers, got {}", a_type(other)),
            );
            return None;
        }
    };
    if items.is_empty() {
        probs.push("values", "is empty; expected at least one number");
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Field::Num(x) = read_num(Some(item), &format!("values[{i}]"), probs) {
            out.push(x);
        }
    }
    (out.len() == items.len()).then_some(out)
}

/// The tagged form `Dist` serializes to, so summaries can echo inputs in the same shape as TOML.
#[derive(Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
enum Tagged<'a> {
    Fixed { value: f64 },
    Uniform { min: f64, max: f64 },
    Triangular { min: f64, mode: f64, max: f64 },
    Pert { min: f64, mode: f64, max: f64 },
    Normal { mean: f64, sd: f64 },
    LogNormal { mu: f64, sigma: f64 },
    Gamma { shape: f64, rate: f64 },
    Poisson { mean: f64 },
    NegBinomial { mean: f64, dispersion: f64 },
    Empirical { values: &'a [f64] },
}

impl Serialize for Dist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = match *self {
            Dist::Fixed(value) => Tagged::Fixed { value },
            Dist::Uniform { min, max } => Tagged::Uniform { min, max },
            Dist::Triangular { min, mode, max } => Tagged::Triangular { min, mode, max },
            Dist::Pert { min, mode, max } => Tagged::Pert { min, mode, max },
            Dist::Normal { mean, sd } => Tagged::Normal { mean, sd },
            Dist::LogNormal { mu, sigma } => Tagged::LogNormal { mu, sigma },
            Dist::Gamma { shape, rate } => Tagged::Gamma { shape, rate },
            Dist::Poisson { mean } => Tagged::Poisson { mean },
            Dist::NegBinomial { mean, dispersion } => Tagged::NegBinomial { mean, dispersion },
            Dist::Empirical(ref values) => Tagged::Empirical { values },
        };
        t.serialize(s)
    }
}
