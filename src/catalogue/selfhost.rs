//! Self-host speed profiles: an open-weight model's steps, memory, licence, and how long one
//! image takes on each GPU.
//!
//! Time per image follows a rule you can state and test rather than a constant:
//! `t(mp, steps) = t(1 MP, default steps) × (fixed + linear·mp + quadratic·mp²) × (1 − step_share + step_share · steps / default_steps)`.
//! The quadratic term is attention, whose cost grows with the square of the token count; the
//! fixed term is text encoding, VAE decoding and launch overhead.

use super::{after_parse, check_provenance, parse_toml, Provenance};
use crate::error::Problems;
use serde::{Deserialize, Serialize};

/// How time per image grows with megapixels; the coefficients sum to 1 so `factor(1) = 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolutionScaling {
    /// Share of the 1 MP time that does not depend on resolution.
    pub fixed: f64,
    /// Share that grows linearly with megapixels.
    pub linear: f64,
    /// Share that grows with the square of megapixels (attention).
    pub quadratic: f64,
    /// Where the coefficients come from.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl ResolutionScaling {
    /// Time at `mp` megapixels relative to 1 MP.
    pub fn factor(&self, mp: f64) -> f64 {
        self.fixed + self.linear * mp + self.quadratic * mp * mp
    }
}

/// How the stack behind a speed was set up, so that speeds are compared like with like: the
/// same GPU can differ 1.5–2.5× between a stock pipeline and a tuned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setup {
    /// A tuned stack: lower-precision compute (FP8, FP4, INT8), `torch.compile`, fused or
    /// FlashAttention-3 kernels, TensorRT, CUDA graphs (Replicate's and fal's serving stacks,
    /// ComfyUI's FP8 path on Ada or Blackwell).
    Optimised,
    /// A stock pipeline in BF16/FP16 without compilation or quantised compute (diffusers or
    /// ComfyUI defaults, sglang's BF16 path).
    Eager,
    /// The source does not say how it ran.
    Unstated,
}

impl Setup {
    /// The name as written in the catalogue.
    pub fn name(self) -> &'static str {
        match self {
            Setup::Optimised => "optimised",
            Setup::Eager => "eager",
            Setup::Unstated => "unstated",
        }
    }
}

/// A measured (or derived) speed on one GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedPoint {
    /// GPU id.
    pub gpu: String,
    /// One 1 MP image at the profile's default steps, batch 1 [s].
    pub seconds_at_1mp: f64,
    /// How the stack the figure describes was set up.
    pub setup: Setup,
    /// True when the figure is computed from other measurements (another GPU, another model,
    /// TFLOPS ratios), not measured on this GPU with this model; `note` says how.
    pub derived: bool,
    /// Memory this speed's setup needs [GB], where it differs from the profile's (a quantised
    /// or offloaded setup).
    pub memory_gb: Option<f64>,
    /// Weights precision the speed was measured with (`bf16`, `fp8`, `nf4`).
    pub precision: Option<String>,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// An open-weight model you can run yourself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedProfile {
    /// `flux-2-klein-4b`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The cheapest licence that covers commercial self-hosting.
    pub licence: String,
    /// Steps the speeds assume.
    pub default_steps: u32,
    /// Fewest steps allowed.
    pub min_steps: u32,
    /// Most steps allowed.
    pub max_steps: u32,
    /// Peak memory fully resident [GB].
    pub memory_gb: f64,
    /// Largest output [MP].
    pub max_mp: f64,
    /// Share of the time that scales with steps.
    pub step_share: f64,
    /// Time against resolution.
    pub resolution_scaling: ResolutionScaling,
    /// Speeds by GPU.
    pub speeds: Vec<SpeedPoint>,
    /// Source of steps and memory.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl SpeedProfile {
    /// Seconds for one image of `mp` megapixels at `steps` on `gpu`, from the catalogue's speed
    /// on that GPU; `None` when the catalogue has no speed for it.
    pub fn seconds(&self, gpu: &str, mp: f64, steps: u32) -> Option<f64> {
        let at_1mp = self.speeds.iter().find(|s| s.gpu == gpu)?.seconds_at_1mp;
        Some(self.seconds_from(at_1mp, mp, steps))
    }
    /// Seconds for one image given the 1 MP time at default steps (the catalogue's or a
    /// scenario's measured figure).
    pub fn seconds_from(&self, seconds_at_1mp: f64, mp: f64, steps: u32) -> f64 {
        let step_factor =
            1.0 - self.step_share + self.step_share * steps as f64 / self.default_steps as f64;
        seconds_at_1mp * self.resolution_scaling.factor(mp) * step_factor
    }
    /// Memory needed on `gpu` [GB]: the speed entry's own figure, else the profile's.
    pub fn memory_on(&self, gpu: &str) -> f64 {
        self.speed_on(gpu)
            .and_then(|s| s.memory_gb)
            .unwrap_or(self.memory_gb)
    }
    /// The speed entry for a GPU.
    pub fn speed_on(&self, gpu: &str) -> Option<&SpeedPoint> {
        self.speeds.iter().find(|s| s.gpu == gpu)
    }
    /// The speed entries measured or derived with `setup`, to compare like with like.
    pub fn speeds_with(&self, setup: Setup) -> impl Iterator<Item = &SpeedPoint> {
        self.speeds.iter().filter(move |s| s.setup == setup)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    licence: String,
    default_steps: u32,
    min_steps: Option<u32>,
    max_steps: Option<u32>,
    memory_gb: f64,
    max_mp: f64,
    step_share: f64,
    resolution_scaling: RawScaling,
    #[serde(default)]
    speed: Vec<RawSpeed>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScaling {
    fixed: f64,
    linear: f64,
    quadratic: f64,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpeed {
    gpu: String,
    seconds_at_1mp: f64,
    setup: Setup,
    #[serde(default)]
    derived: bool,
    memory_gb: Option<f64>,
    precision: Option<String>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

pub(super) fn parse(id: &str, text: &str) -> Result<SpeedProfile, Problems> {
    let (r, parsed) = parse_toml::<RawProfile>(text)?;
    let mut problems = Problems::default();
    let min_steps = r.min_steps.unwrap_or(r.default_steps);
    let max_steps = r.max_steps.unwrap_or(r.default_steps);
    if r.default_steps == 0
        || min_steps == 0
        || min_steps > r.default_steps
        || r.default_steps > max_steps
    {
        problems.push("default_steps", format!("steps must satisfy 1 <= min_steps ({min_steps}) <= default_steps ({}) <= max_steps ({max_steps})", r.default_steps));
    }
    for (k, v) in [("memory_gb", r.memory_gb), ("max_mp", r.max_mp)] {
        if !(v.is_finite() && v > 0.0) {
            problems.push(k, format!("{v} is not a positive number"));
        }
    }
    if !(r.step_share.is_finite() && (0.0..=1.0).contains(&r.step_share)) {
        problems.push(
            "step_share",
            format!(
                "{} is not a share; expected a number from 0 to 1",
                r.step_share
            ),
        );
    }
    let s = &r.resolution_scaling;
    let sum = s.fixed + s.linear + s.quadratic;
    if [s.fixed, s.linear, s.quadratic]
        .iter()
        .any(|c| !(c.is_finite() && *c >= 0.0))
    {
        problems.push(
            "resolution_scaling",
            "coefficients must be finite numbers >= 0",
        );
    } else if (sum - 1.0).abs() > 1e-9 {
        problems.push("resolution_scaling", format!("fixed + linear + quadratic = {sum}; expected 1, so that a 1 MP image takes the measured time"));
    }
    let scaling = ResolutionScaling {
        fixed: s.fixed,
        linear: s.linear,
        quadratic: s.quadratic,
        provenance: Provenance {
            source: s.source.clone(),
            as_of: s.as_of,
            assumption: s.assumption,
            note: s.note.clone(),
        },
    };
    check_provenance(&scaling.provenance, "resolution_scaling", &mut problems);
    let mut speeds = Vec::new();
    for (i, sp) in r.speed.into_iter().enumerate() {
        let key = format!("speed[{i}]");
        if !(sp.seconds_at_1mp.is_finite() && sp.seconds_at_1mp > 0.0) {
            problems.push(
                format!("{key}.seconds_at_1mp"),
                format!("{} is not a positive number of seconds", sp.seconds_at_1mp),
            );
        } else if !(1e-4..=3600.0).contains(&sp.seconds_at_1mp) {
            // The bounds a scenario's own seconds_at_1mp has: outside them a fleet's
            // arithmetic (capacity, utilisation) loses its precision.
            problems.push(
                format!("{key}.seconds_at_1mp"),
                format!(
                    "{} is out of range; expected seconds from 0.0001 to 3600",
                    sp.seconds_at_1mp
                ),
            );
        }
        if speeds.iter().any(|x: &SpeedPoint| x.gpu == sp.gpu) {
            problems.push(
                format!("{key}.gpu"),
                format!("\"{}\" has two speeds; expected one per gpu", sp.gpu),
            );
        }
        let provenance = Provenance {
            source: sp.source,
            as_of: sp.as_of,
            assumption: sp.assumption,
            note: sp.note,
        };
        check_provenance(&provenance, &key, &mut problems);
        if let Some(m) = sp.memory_gb {
            if !(m.is_finite() && m > 0.0) {
                problems.push(
                    format!("{key}.memory_gb"),
                    format!("{m} is not a positive number of GB"),
                );
            }
        }
        speeds.push(SpeedPoint {
            gpu: sp.gpu,
            seconds_at_1mp: sp.seconds_at_1mp,
            setup: sp.setup,
            derived: sp.derived,
            memory_gb: sp.memory_gb,
            precision: sp.precision,
            provenance,
        });
    }
    let provenance = Provenance {
        source: r.source,
        as_of: r.as_of,
        assumption: r.assumption,
        note: r.note,
    };
    check_provenance(&provenance, "", &mut problems);
    let problems = after_parse(parsed, problems);
    problems.finish(SpeedProfile {
        id: id.to_string(),
        name: r.name,
        licence: r.licence,
        default_steps: r.default_steps,
        min_steps,
        max_steps,
        memory_gb: r.memory_gb,
        max_mp: r.max_mp,
        step_share: r.step_share,
        resolution_scaling: scaling,
        speeds,
        provenance,
    })
}
