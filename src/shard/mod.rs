//! Runs larger than one machine: `--shard K/N` runs the batches `b ≡ K (mod N)` of `run`,
//! `sweep`, `sensitivity` or `plan` (its screening and its final round) and writes a *part*;
//! `merge` reads the N parts and gives exactly the bytes one machine gives, at any N and any
//! number of threads per part.
//!
//! Why exactly: the driver folds each batch of [`BATCH`] paths where it ran and merges the
//! batch folds in batch order ([`crate::engine::driver`]). A part holds the fold of each of
//! its batches, unmerged, and merge interleaves the parts' batches in batch order and merges
//! them the same way. Folds serialize exactly (JSON numbers that read back to the same bits),
//! so nothing differs.
//!
//! A part is JSON Lines, one object a line:
//! 1. `{"header": …}`: the [`Header`]: format and tool version, the command, the shard, the
//!    scenario's text (never a path to open), the catalogue's origin and digest, and every
//!    setting the command's result depends on;
//! 2. `{"extras": …}`: what the result needs beside the batches, computed once by shard 0
//!    (the traced paths of a run's fleet charts; the tornado's evaluations), `null` elsewhere;
//! 3. `{"batch": b, "state": …}` for each of the part's batches, in order;
//! 4. `{"end": {"batches": …, "sha256": …}}`: the SHA-256 of every byte before this line.
//!
//! Merge reads the N parts in lock step, one batch state at a time, so its memory grows with
//! the states held at once (one, plus the running merge), not with paths. What a part says is
//! not trusted: a line is at most [`MAX_LINE_BYTES`] long, every batch state is checked against
//! an empty fold of the run before it is merged ([`crate::engine::fold::Validate`]: every list
//! as long, every number finite and in range), the digest must match (an edited cost is
//! caught; the digest tells damage and edits from the written file, it is not a signature),
//! and parts must agree on everything but their shard, naming the part and the field that
//! differs. Folders, pipes, devices and `/proc` files are not parts.

mod jobs;
mod read;
mod write;

pub use jobs::*;
pub use read::{PartReader, PartSet};
pub use write::{write_part, PartWriter};

use crate::analysis::plan::Objective;
use crate::catalogue::Catalogue;
use crate::engine::{RunConfig, Sampler, BATCH};
use crate::scenario::Source;
use serde::{Deserialize, Serialize};

/// What the header's `format` says.
pub const FORMAT: &str = "breakeven part";
/// The version of the part format; parts of another are refused.
pub const FORMAT_VERSION: u32 = 2;
/// Most shards a run may be cut into: merge holds every part open at once.
pub const MAX_SHARDS: u64 = 1_000;
/// Longest line of a part [bytes]: one batch's fold of 100 paths is well under a megabyte for
/// the shipped scenarios, and at most about 200 MB at the limits of a scenario (100 options,
/// 1,000 sweep points).
pub const MAX_LINE_BYTES: u64 = 256 << 20;

/// Most points of a sweep's grid in a part: `--points` (at most 1,000) and the half as many
/// again that the pilot's refinement adds ([`crate::analysis::sweep::refined_grid`]).
pub const MAX_GRID_POINTS: usize = 1_500;

/// The commands that shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// `run`.
    Run,
    /// `sweep`.
    Sweep,
    /// `sensitivity`.
    Sensitivity,
    /// `plan`'s screening round.
    PlanScreen,
    /// `plan`'s final round.
    Plan,
}

impl Command {
    /// Every command, in the order a report shows them.
    pub const ALL: [Command; 5] = [
        Command::Run,
        Command::Sweep,
        Command::Sensitivity,
        Command::PlanScreen,
        Command::Plan,
    ];

    /// Its name in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Sweep => "sweep",
            Command::Sensitivity => "sensitivity",
            Command::PlanScreen => "plan-screen",
            Command::Plan => "plan",
        }
    }

    /// The command line that writes its parts.
    pub fn writer(self) -> &'static str {
        match self {
            Command::Run => "run --shard K/N",
            Command::Sweep => "sweep --shard K/N",
            Command::Sensitivity => "sensitivity --shard K/N",
            Command::PlanScreen => "plan --shard K/N",
            Command::Plan => "plan --shard K/N --screened DIR",
        }
    }
}

/// `run.part-3-of-8`: the output owner of a part (see [`crate::report::output`]).
pub fn owner(command: Command, shard: u64, shards: u64) -> String {
    format!("{}.part-{shard}-of-{shards}", command.name())
}

/// `run.part-3-of-8.jsonl`: a part's file name.
pub fn file_name(command: Command, shard: u64, shards: u64) -> String {
    format!("{}.jsonl", owner(command, shard, shards))
}

/// The command, shard and shards a part's file name says, if it is one.
pub fn parse_file_name(name: &str) -> Option<(Command, u64, u64)> {
    let stem = name.strip_suffix(".jsonl")?;
    let (cmd, rest) = stem.split_once(".part-")?;
    let (k, n) = rest.split_once("-of-")?;
    let command = Command::ALL.into_iter().find(|c| c.name() == cmd)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(k) || !digits(n) {
        return None;
    }
    Some((command, k.parse().ok()?, n.parse().ok()?))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first line of a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The breakeven version that wrote it; merge takes parts of its own version only.
    pub tool_version: String,
    /// What the part is of.
    pub command: Command,
    /// This part's shard: its batches are those `b ≡ shard (mod shards)`.
    pub shard: u64,
    /// Shards in all.
    pub shards: u64,
    /// The scenario, as text.
    pub scenario: Source,
    /// The catalogue it was made with.
    pub catalogue: CatalogueRef,
    /// Everything else the result depends on.
    pub settings: Settings,
}

/// A catalogue, as a part names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueRef {
    /// `built-in` or the folder, for provenance.
    pub origin: String,
    /// [`Catalogue::digest`].
    pub sha256: String,
}

/// The settings a sharded command's result depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Paths of the whole run (of the final round, for a plan).
    pub samples: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler.
    pub sampler: Sampler,
    /// The pair `--against` named (option ids), if any: `run` and `sensitivity`.
    pub against: Option<[String; 2]>,
    /// The grid [assets/month]: `sweep`.
    pub volumes: Option<Vec<f64>>,
    /// How the plan searches: `plan`.
    pub plan: Option<PlanSettings>,
}

/// A plan's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// Objective.
    pub objective: Objective,
    /// Latency target [s].
    pub latency_p95_s: Option<f64>,
    /// Paths per candidate in screening.
    pub screen_paths: u64,
    /// Candidates re-run with all paths.
    pub finalists: usize,
    /// `--mix-setups`.
    pub mix_setups: bool,
    /// `--no-consumer-gpus`.
    pub no_consumer_gpus: bool,
    /// What the screening chose (the final round's parts only).
    pub screening: Option<Screened>,
}

/// What a plan's screening chose, as its final round's parts carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screened {
    /// The finalists' ids, best first.
    pub finalists: Vec<String>,
    /// Candidates screened.
    pub screened: usize,
    /// Of those, the ones that could not keep up on more than 5% of the screening paths.
    pub screened_over_capacity: usize,
    /// Candidates left out as twins of a finalist, in words (see
    /// [`crate::analysis::plan::Screening::notes`]).
    pub notes: Vec<String>,
}

impl Header {
    /// The header of shard `shard` of `shards` of `command` on `scenario` with `catalogue`.
    pub fn new(
        command: Command,
        scenario: &Source,
        catalogue: &Catalogue,
        settings: Settings,
        (shard, shards): (u64, u64),
    ) -> Header {
        Header {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            command,
            shard,
            shards,
            scenario: scenario.clone(),
            catalogue: CatalogueRef {
                origin: catalogue.origin.clone(),
                sha256: catalogue.digest.clone(),
            },
            settings,
        }
    }

    /// Paths of the run the part's batches are of: the screening paths for a plan's
    /// screening, the samples otherwise.
    pub fn run_samples(&self) -> u64 {
        match (&self.command, &self.settings.plan) {
            (Command::PlanScreen, Some(p)) => p.screen_paths,
            _ => self.settings.samples,
        }
    }

    /// Batches of the whole run.
    pub fn total_batches(&self) -> u64 {
        self.run_samples().div_ceil(BATCH)
    }

    /// This part's batches, in order.
    pub fn batches(&self) -> impl Iterator<Item = u64> {
        (self.shard..self.total_batches()).step_by(self.shards.max(1) as usize)
    }

    /// How many batches this part holds.
    pub fn batch_count(&self) -> u64 {
        let total = self.total_batches();
        if total > self.shard {
            (total - self.shard - 1) / self.shards.max(1) + 1
        } else {
            0
        }
    }

    /// Paths in batch `b`.
    pub fn paths_in(&self, b: u64) -> u64 {
        BATCH.min(self.run_samples().saturating_sub(b * BATCH))
    }

    /// The run configuration of the part's batches (threads: all cores).
    pub fn run_config(&self) -> RunConfig {
        let mut c = RunConfig::new(self.run_samples(), self.settings.seed);
        c.sampler = self.settings.sampler;
        c.shard = Some((self.shard, self.shards));
        c
    }

    /// What is wrong with the header on its own, as (key, message): an unknown format or
    /// version, a shard out of range, settings another command's.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, msg: String| Err((format!("header.{key}"), msg));
        if self.format != FORMAT {
            return bad(
                "format",
                format!(
                    "is \"{}\"; expected \"{FORMAT}\"",
                    crate::names::escape(&self.format)
                ),
            );
        }
        if self.format_version != FORMAT_VERSION {
            return bad("format_version", format!("is {}; expected {FORMAT_VERSION}, the part format of breakeven {} (merge parts with the version that wrote them)", self.format_version, env!("CARGO_PKG_VERSION")));
        }
        if self.tool_version != env!("CARGO_PKG_VERSION") {
            return bad("tool_version", format!("is {}; expected {}, this breakeven's version (merge parts with the version that wrote them)", crate::names::escape(&self.tool_version), env!("CARGO_PKG_VERSION")));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS || self.shard >= self.shards {
            return bad(
                "shard",
                format!(
                    "is {} of {}; expected K of N with 0 <= K < N <= {MAX_SHARDS}",
                    self.shard, self.shards
                ),
            );
        }
        if self.scenario.text.len() as u64 > crate::limits::MAX_INPUT_BYTES {
            return bad(
                "scenario.text",
                format!(
                    "is longer than {} MB; expected a scenario's text",
                    crate::limits::MAX_INPUT_BYTES >> 20
                ),
            );
        }
        let s = &self.settings;
        let cmd = self.command.name();
        let wants = |what: &str, has: bool, should: bool| -> Result<(), (String, String)> {
            match (has, should) {
                (true, false) => bad(
                    &format!("settings.{what}"),
                    format!("is set; expected none in a {cmd} part"),
                ),
                (false, true) => bad(
                    &format!("settings.{what}"),
                    format!("is missing; expected it in a {cmd} part"),
                ),
                _ => Ok(()),
            }
        };
        wants(
            "volumes",
            s.volumes.is_some(),
            self.command == Command::Sweep,
        )?;
        let planning = matches!(self.command, Command::PlanScreen | Command::Plan);
        wants("plan", s.plan.is_some(), planning)?;
        wants(
            "against",
            s.against.is_some(),
            s.against.is_some() && matches!(self.command, Command::Run | Command::Sensitivity),
        )?;
        if let Some(p) = &s.plan {
            wants(
                "plan.screening",
                p.screening.is_some(),
                self.command == Command::Plan,
            )?;
            use crate::limits::{MAX_FINALISTS, MAX_SCREEN_PATHS};
            if p.screen_paths == 0 || p.screen_paths > MAX_SCREEN_PATHS {
                return bad(
                    "settings.plan.screen_paths",
                    format!("is {}; expected 1 to {MAX_SCREEN_PATHS}", p.screen_paths),
                );
            }
            if p.finalists == 0 || p.finalists > MAX_FINALISTS {
                return bad(
                    "settings.plan.finalists",
                    format!("is {}; expected 1 to {MAX_FINALISTS}", p.finalists),
                );
            }
            if p.latency_p95_s
                .is_some_and(|t| !(t.is_finite() && t >= 0.0))
            {
                return bad(
                    "settings.plan.latency_p95_s",
                    "is not a delay; expected seconds >= 0".into(),
                );
            }
            if let Some(sc) = &p.screening {
                if sc.finalists.is_empty() || sc.finalists.len() > p.finalists {
                    return bad(
                        "settings.plan.screening.finalists",
                        format!(
                            "names {} candidates; expected 1 to {}",
                            sc.finalists.len(),
                            p.finalists
                        ),
                    );
                }
                if sc.notes.len() > sc.screened
                    || sc.notes.iter().any(|n| {
                        n.chars().count() > crate::limits::MAX_TEXT_CHARS
                            || n.chars().any(char::is_control)
                    })
                {
                    return bad(
                        "settings.plan.screening.notes",
                        format!("is not what a screening says; expected at most one note a candidate screened, each a line of at most {} characters", crate::limits::MAX_TEXT_CHARS),
                    );
                }
                if sc.screened_over_capacity > sc.screened || sc.finalists.len() > sc.screened {
                    return bad(
                        "settings.plan.screening",
                        "counts more finalists or candidates over capacity than candidates; expected at most as many".into(),
                    );
                }
            }
        }
        if let Some(v) = &s.volumes {
            let ok = (2..=MAX_GRID_POINTS).contains(&v.len())
                && v.iter().all(|x| {
                    x.is_finite() && *x > 0.0 && *x <= crate::scenario::MAX_MONTHLY_IMAGES
                })
                && v.windows(2).all(|w| w[0] < w[1]);
            if !ok {
                return bad(
                    "settings.volumes",
                    format!(
                        "is not a grid; expected 2 to {MAX_GRID_POINTS} rising volumes from 0 to {:e}",
                        crate::scenario::MAX_MONTHLY_IMAGES
                    ),
                );
            }
        }
        if s.samples == 0 || self.run_samples() == 0 {
            return bad(
                "settings.samples",
                "is 0; expected at least 1 sample path".into(),
            );
        }
        // The path cap applies to each part.
        let mine = crate::engine::shard_paths(self.run_samples(), Some((self.shard, self.shards)));
        if mine > crate::limits::MAX_SAMPLES {
            return bad(
                "settings.samples",
                format!(
                    "is {}, which puts {mine} paths in this part; expected at most {} paths in each part",
                    s.samples,
                    crate::limits::MAX_SAMPLES
                ),
            );
        }
        Ok(())
    }
}

/// Which fields [`first_difference`] compares.
#[derive(Debug, Clone, Copy)]
pub enum Fields<'a> {
    /// Every field but these (dotted key paths).
    AllBut(&'a [&'a str]),
    /// Only these (and what is below them).
    Only(&'a [&'a str]),
}

/// The first field (a dotted key path) in which two headers differ, with the two values
/// shown when they are short: how parts that do not belong together are named.
pub fn first_difference(a: &Header, b: &Header, fields: Fields<'_>) -> Option<(String, String)> {
    let (Ok(va), Ok(vb)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return Some(("header".into(), "cannot be compared".into()));
    };
    let mut found = None;
    diff(&va, &vb, "", fields, &mut found);
    found
}

fn diff(
    a: &serde_json::Value,
    b: &serde_json::Value,
    key: &str,
    fields: Fields<'_>,
    found: &mut Option<(String, String)>,
) {
    use serde_json::Value;
    if found.is_some() {
        return;
    }
    let wanted = match fields {
        Fields::AllBut(skip) => !skip.contains(&key),
        Fields::Only(only) => {
            key.is_empty()
                || only.iter().any(|o| {
                    key == *o
                        || key.starts_with(&format!("{o}."))
                        || o.starts_with(&format!("{key}."))
                })
        }
    };
    if !wanted {
        return;
    }
    let inside = |k: &str| {
        if key.is_empty() {
            k.to_string()
        } else {
            format!("{key}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let null = Value::Null;
                diff(
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    &inside(k),
                    fields,
                    found,
                );
            }
        }
        _ if a == b => {}
        _ => {
            // Under Only, a parent of a listed key is walked, not reported as a whole.
            if let Fields::Only(only) = fields {
                if !only
                    .iter()
                    .any(|o| key == *o || key.starts_with(&format!("{o}.")))
                {
                    return;
                }
            }
            let show = |v: &Value| {
                let s = v.to_string();
                if s.chars().count() > 60 {
                    None
                } else {
                    Some(crate::names::escape(&s).into_owned())
                }
            };
            let what = match (show(a), show(b)) {
                (Some(x), Some(y)) => format!("is {x}, where the other has {y}"),
                _ => "differs".into(),
            };
            *found = Some((key.to_string(), what));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep_header(points: usize) -> Header {
        let cat = Catalogue::builtin().expect("the built-in catalogue loads");
        let source = Source {
            file: "x.toml".into(),
            default_name: "x".into(),
            text: "name = \"x\"".into(),
            overrides: Vec::new(),
        };
        let settings = Settings {
            samples: 1000,
            seed: 1,
            sampler: Sampler::Fast,
            against: None,
            volumes: Some((1..=points).map(|k| k as f64 * 1000.0).collect()),
            plan: None,
        };
        Header::new(Command::Sweep, &source, &cat, settings, (0, 2))
    }

    #[test]
    fn a_refined_grid_of_the_most_points_is_a_grid() {
        // --points 1000 refined: 1,500 points, which a sweep writes and merge must take.
        let refined = crate::analysis::sweep::refine(
            &crate::analysis::sweep::grid(1e3, 1e7, 1000, true),
            &(0..1000).map(|k| vec![(k % 2) as f64]).collect::<Vec<_>>(),
            500,
            true,
        );
        assert_eq!(refined.len(), MAX_GRID_POINTS);
        assert_eq!(sweep_header(MAX_GRID_POINTS).check(), Ok(()));
        let (key, _) = sweep_header(MAX_GRID_POINTS + 1).check().unwrap_err();
        assert_eq!(key, "header.settings.volumes");
    }
}
