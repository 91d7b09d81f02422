//! Self-host speed profiles: an open-weight model's steps, memory, licence, and how long one
//! image takes on each GPU.
//!
//! Time per image follows a rule you can state and test rather than a constant:
//! `t(mp, steps) = t(1 MP, default steps) × (fixed + linear·mp + quadratic·mp²) × (1 − step_share + step_share · steps / default_steps)`.
//! The quadratic term is attention, whose cost grows with the square of the token count; the
//! fixed term is text encoding, VAE decoding and launch overhead.
//!
//! Serving shape: a speed may be measured on a replica that spans several GPUs
//! (`gpus_per_replica`, tensor parallelism for a model that does not fit one), and a profile
//! may give the throughput of a batch relative to batch 1 at a resolution
//! ([`BatchCurve`]); between measured batch sizes the gain is linear in the size (held at the
//! largest measured size beyond it, as published curves plateau), and between measured
//! resolutions linear in ln(megapixels) (held at the nearest outside them).

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
    /// GPUs one replica of the model spans for this speed (1 unless the model is split across
    /// GPUs, e.g. by tensor parallelism); `seconds_at_1mp` is the time on that replica.
    pub gpus_per_replica: u32,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Measured throughput of batches relative to batch 1 at one resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchCurve {
    /// Resolution of the measurement [MP].
    pub mp: f64,
    /// Batch sizes measured, increasing (batch 1 is 1× whether listed or not).
    pub sizes: Vec<u32>,
    /// Images per second at each size over images per second at batch 1.
    pub throughput: Vec<f64>,
    /// True when measured on another model or GPU, not this one; `note` says how.
    pub derived: bool,
    /// Source and date.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl BatchCurve {
    /// Throughput gain of a batch of `size` (linear between measured sizes, held beyond the
    /// largest).
    pub fn gain(&self, size: u32) -> f64 {
        let mut pts: Vec<(f64, f64)> = vec![(1.0, 1.0)];
        for (s, t) in self.sizes.iter().zip(&self.throughput) {
            if *s > 1 {
                pts.push((*s as f64, *t));
            }
        }
        let b = size.max(1) as f64;
        for w in pts.windows(2) {
            let ((s0, t0), (s1, t1)) = (w[0], w[1]);
            if b <= s1 {
                return t0 + (t1 - t0) * (b - s0) / (s1 - s0);
            }
        }
        pts.last().map(|p| p.1).unwrap_or(1.0)
    }
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
    /// Batching gains, by resolution (empty: no batch beyond 1 is known).
    pub batch: Vec<BatchCurve>,
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
    /// Throughput of a batch of `size` relative to batch 1 at `mp` megapixels: each curve's
    /// gain at that size, linear in ln(mp) between the curves' resolutions and held at the
    /// nearest outside them; `None` for a batch above 1 when the profile has no curve.
    pub fn batch_gain(&self, size: u32, mp: f64) -> Option<f64> {
        if size <= 1 {
            return Some(1.0);
        }
        let mut curves: Vec<&BatchCurve> = self.batch.iter().collect();
        if curves.is_empty() {
            return None;
        }
        curves.sort_by(|a, b| a.mp.total_cmp(&b.mp));
        let x = mp.max(1e-6).ln();
        let first = curves[0];
        let last = curves[curves.len() - 1];
        if x <= first.mp.ln() {
            return Some(first.gain(size));
        }
        if x >= last.mp.ln() {
            return Some(last.gain(size));
        }
        for w in curves.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (xa, xb) = (a.mp.ln(), b.mp.ln());
            if x <= xb {
                let t = (x - xa) / (xb - xa);
                return Some(a.gain(size) + t * (b.gain(size) - a.gain(size)));
            }
        }
        Some(last.gain(size))
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
    #[serde(default)]
    batch: Vec<RawBatch>,
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
    gpus_per_replica: Option<u32>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    mp: f64,
    sizes: Vec<u32>,
    throughput: Vec<f64>,
    #[serde(default)]
    derived: bool,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

/// Most GPUs a replica may span, and the largest batch a curve may list.
pub const MAX_GPUS_PER_REPLICA: u32 = 64;
/// The largest batch size a curve may list.
pub const MAX_BATCH: u32 = 256;

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
        let gpus_per_replica = sp.gpus_per_replica.unwrap_or(1);
        if gpus_per_replica == 0 || gpus_per_replica > MAX_GPUS_PER_REPLICA {
            problems.push(
                format!("{key}.gpus_per_replica"),
                format!(
                    "{gpus_per_replica} is out of range; expected 1 to {MAX_GPUS_PER_REPLICA} gpus"
                ),
            );
        }
        speeds.push(SpeedPoint {
            gpus_per_replica: gpus_per_replica.max(1),
            gpu: sp.gpu,
            seconds_at_1mp: sp.seconds_at_1mp,
            setup: sp.setup,
            derived: sp.derived,
            memory_gb: sp.memory_gb,
            precision: sp.precision,
            provenance,
        });
    }
    let mut batch: Vec<BatchCurve> = Vec::new();
    for (i, b) in r.batch.into_iter().enumerate() {
        let key = format!("batch[{i}]");
        if !(b.mp.is_finite() && b.mp > 0.0) {
            problems.push(
                format!("{key}.mp"),
                format!("{} is not a positive number of megapixels", b.mp),
            );
        } else if batch.iter().any(|c| c.mp == b.mp) {
            problems.push(
                format!("{key}.mp"),
                format!(
                    "{} MP has two batch curves; expected one per resolution",
                    b.mp
                ),
            );
        }
        if b.sizes.is_empty() || b.sizes.len() != b.throughput.len() {
            problems.push(
                &key,
                format!(
                    "has {} sizes and {} throughputs; expected the same number, at least one",
                    b.sizes.len(),
                    b.throughput.len()
                ),
            );
        }
        if b.sizes.windows(2).any(|w| w[0] >= w[1])
            || b.sizes.iter().any(|s| *s == 0 || *s > MAX_BATCH)
        {
            problems.push(
                format!("{key}.sizes"),
                format!(
                    "{:?} is not increasing batch sizes from 1 to {MAX_BATCH}",
                    b.sizes
                ),
            );
        }
        for (j, (s, t)) in b.sizes.iter().zip(&b.throughput).enumerate() {
            // A batch of s images takes at least as long as one image: at most s× throughput.
            if !(t.is_finite() && *t > 0.0 && *t <= *s as f64 + 1e-9)
                || (*s == 1 && (*t - 1.0).abs() > 1e-9)
            {
                problems.push(
                    format!("{key}.throughput[{j}]"),
                    format!("{t} is out of range for batch {s}; expected a gain above 0 and at most {s} (batch 1 is 1)"),
                );
            }
        }
        let provenance = Provenance {
            source: b.source,
            as_of: b.as_of,
            assumption: b.assumption,
            note: b.note,
        };
        check_provenance(&provenance, &key, &mut problems);
        batch.push(BatchCurve {
            mp: b.mp,
            sizes: b.sizes,
            throughput: b.throughput,
            derived: b.derived,
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
        batch,
        provenance,
    })
}
