//! The catalogue: hosted API offerings with their dated prices, GPUs with their rental offers,
//! self-host speed profiles and licences. Read from `models/` (compiled into the binary) or
//! from a folder of the same shape. Every figure keeps its source and date.

mod api;
mod gpu;
mod licence;
mod load;
mod read;
mod selfhost;

pub use api::{ApiOffering, DatedPrice, MpRounding, PriceRule, StepRange, TileCount};
pub use gpu::{Gpu, Offer, OfferClass, Purchase};
pub use licence::Licence;
pub use load::{builtin_files, files_in_dir, CatalogueFile, MAX_INPUT_BYTES};
pub(crate) use load::{open_regular, read_capped, too_big};
pub use selfhost::{
    BatchCurve, ResolutionScaling, Setup, SpeedPoint, SpeedProfile, MAX_BATCH, MAX_GPUS_PER_REPLICA,
};

use crate::error::{Error, Problems, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// A page, or a repository and path.
    pub source: String,
    /// The date the source carried.
    pub as_of: NaiveDate,
    /// True when no source publishes the figure and it is our placeholder.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumption: bool,
    /// Caveats: conflicts, derivations, what the figure assumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The whole catalogue, validated and cross-checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalogue {
    /// `built-in` or the folder it was read from.
    pub origin: String,
    /// Hosted offerings by id (`bfl/flux-2-klein-4b`).
    pub apis: BTreeMap<String, ApiOffering>,
    /// GPUs by id (`h100-sxm`).
    pub gpus: BTreeMap<String, Gpu>,
    /// Self-host speed profiles by id (`flux-2-klein-4b`).
    pub selfhost: BTreeMap<String, SpeedProfile>,
    /// Licences by id (`apache-2.0`).
    pub licences: BTreeMap<String, Licence>,
    /// SHA-256 of the catalogue's files (hex; see [`digest`]): a part file of a sharded run
    /// carries it, so parts are merged only with the catalogue they were made with.
    #[serde(skip)]
    pub digest: String,
}

/// SHA-256 over a catalogue's files in path order, each as its path below the catalogue root,
/// a NUL byte, its length in bytes (8 bytes, little-endian) and its text: the same files give
/// the same digest wherever the folder is, and any change to a file, a name or the set of
/// files changes it.
pub fn digest(files: &[CatalogueFile]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&CatalogueFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.rel_path.as_bytes());
        h.update([0u8]);
        h.update((f.text.len() as u64).to_le_bytes());
        h.update(f.text.as_bytes());
    }
    crate::shard::hex(&h.finalize())
}

/// The kinds of entity, as folders of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `api/`
    Api,
    /// `gpu/`
    Gpu,
    /// `selfhost/`
    Selfhost,
    /// `licence/`
    Licence,
}

impl Kind {
    /// The folder name.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Gpu => "gpu",
            Kind::Selfhost => "selfhost",
            Kind::Licence => "licence",
        }
    }
}

impl Catalogue {
    /// The catalogue shipped in `models/`, compiled into the binary.
    pub fn builtin() -> Result<Catalogue> {
        Catalogue::from_files("built-in", builtin_files())
    }

    /// The catalogue in a folder laid out like `models/`.
    pub fn from_dir(dir: &std::path::Path) -> Result<Catalogue> {
        let files = files_in_dir(dir)?;
        Catalogue::from_files(&dir.display().to_string(), files)
    }

    /// Parse, validate and cross-check a set of catalogue files. Every problem in every file is
    /// reported at once.
    pub fn from_files(origin: &str, files: Vec<CatalogueFile>) -> Result<Catalogue> {
        let mut cat = Catalogue {
            origin: origin.to_string(),
            digest: digest(&files),
            ..Default::default()
        };
        let mut problems = Problems::default();
        // Entities with problems of their own: they exist, so references to them are not
        // reported as unknown as well.
        let mut failed: Vec<(Kind, String)> = Vec::new();
        for f in &files {
            let Some((kind, id)) = f.kind_and_id() else {
                if f.rel_path.ends_with(".toml") {
                    let mut p = Problems::default();
                    p.push(
                        "",
                        "not in a catalogue folder; expected api/, gpu/, selfhost/ or licence/",
                    );
                    problems.0.extend(p.in_file(&f.display).0);
                }
                continue;
            };
            let parsed = match kind {
                Kind::Api => api::parse(&id, &f.text).map(|x| {
                    cat.apis.insert(id.clone(), x);
                }),
                Kind::Gpu => gpu::parse(&id, &f.text).map(|x| {
                    cat.gpus.insert(id.clone(), x);
                }),
                Kind::Selfhost => selfhost::parse(&id, &f.text).map(|x| {
                    cat.selfhost.insert(id.clone(), x);
                }),
                Kind::Licence => licence::parse(&id, &f.text).map(|x| {
                    cat.licences.insert(id.clone(), x);
                }),
            };
            if let Err(p) = parsed {
                problems.0.extend(p.in_file(&f.display).0);
                failed.push((kind, id));
            }
        }
        if cat.apis.is_empty() && cat.gpus.is_empty() && problems.is_empty() {
            problems.push("", format!("no catalogue files found in {origin}; expected api/, gpu/, selfhost/ and licence/ folders of .toml files"));
        }
        cat.cross_check(&files, &failed, &mut problems);
        problems.into_result(cat)
    }

    /// References between entities must resolve: speeds name GPUs, profiles name licences,
    /// offerings name profiles.
    fn cross_check(
        &self,
        files: &[CatalogueFile],
        failed: &[(Kind, String)],
        problems: &mut Problems,
    ) {
        // Ids of a kind: those read, and those whose file has problems (reported already).
        let ids = |kind: Kind, read: Vec<&String>| -> Vec<String> {
            let mut v: Vec<String> = read.into_iter().cloned().collect();
            v.extend(
                failed
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, i)| i.clone()),
            );
            v
        };
        let gpus = ids(Kind::Gpu, self.gpus.keys().collect());
        let profiles = ids(Kind::Selfhost, self.selfhost.keys().collect());
        let licences = ids(Kind::Licence, self.licences.keys().collect());
        let file_of = |kind: Kind, id: &str| {
            files
                .iter()
                .find(|f| f.kind_and_id().is_some_and(|(k, i)| k == kind && i == id))
                .map(|f| f.display.clone())
                .unwrap_or_default()
        };
        let mut found = Problems::default();
        for (id, p) in &self.selfhost {
            let mut here = Problems::default();
            for (i, s) in p.speeds.iter().enumerate() {
                if !gpus.contains(&s.gpu) {
                    here.push(
                        format!("speed[{i}].gpu"),
                        unknown("gpu", &s.gpu, gpus.iter()),
                    );
                }
            }
            if !licences.contains(&p.licence) {
                here.push("licence", unknown("licence", &p.licence, licences.iter()));
            }
            found.0.extend(here.in_file(&file_of(Kind::Selfhost, id)).0);
        }
        for (id, a) in &self.apis {
            if let Some(m) = &a.open_model {
                if !profiles.contains(m) {
                    let mut here = Problems::default();
                    here.push(
                        "open_model",
                        unknown("self-host profile", m, profiles.iter()),
                    );
                    found.0.extend(here.in_file(&file_of(Kind::Api, id)).0);
                }
            }
        }
        for (id, l) in &self.licences {
            let mut here = Problems::default();
            for (i, m) in l.covers.iter().enumerate() {
                if !profiles.contains(m) {
                    here.push(
                        format!("covers[{i}]"),
                        unknown("self-host profile", m, profiles.iter()),
                    );
                }
            }
            found.0.extend(here.in_file(&file_of(Kind::Licence, id)).0);
        }
        problems.0.extend(found.0);
    }

    /// The API offering `id`, or an error suggesting the nearest ids.
    pub fn api(&self, id: &str) -> Result<&ApiOffering> {
        self.apis
            .get(id)
            .ok_or_else(|| lookup_error("model", id, self.apis.keys()))
    }
    /// The GPU `id`, or an error suggesting the nearest ids.
    pub fn gpu(&self, id: &str) -> Result<&Gpu> {
        self.gpus
            .get(id)
            .ok_or_else(|| lookup_error("gpu", id, self.gpus.keys()))
    }
    /// The self-host profile `id`, or an error suggesting the nearest ids.
    pub fn profile(&self, id: &str) -> Result<&SpeedProfile> {
        self.selfhost
            .get(id)
            .ok_or_else(|| lookup_error("self-host profile", id, self.selfhost.keys()))
    }
    /// The licence `id`, or an error suggesting the nearest ids.
    pub fn licence(&self, id: &str) -> Result<&Licence> {
        self.licences
            .get(id)
            .ok_or_else(|| lookup_error("licence", id, self.licences.keys()))
    }
    /// Licences that cover a self-host profile, cheapest monthly fee first.
    pub fn licences_for(&self, profile: &str) -> Vec<&Licence> {
        let mut v: Vec<&Licence> = self
            .licences
            .values()
            .filter(|l| l.covers.iter().any(|c| c == profile))
            .collect();
        v.sort_by(|a, b| {
            a.monthly_fee_usd
                .cmp(&b.monthly_fee_usd)
                .then(a.id.cmp(&b.id))
        });
        v
    }
    /// The newest date of any price in the catalogue.
    pub fn newest_price_date(&self) -> Option<NaiveDate> {
        self.apis
            .values()
            .flat_map(|a| a.prices.iter().map(|p| p.provenance.as_of))
            .max()
    }
}

fn lookup_error<'a>(what: &str, id: &str, known: impl Iterator<Item = &'a String>) -> Error {
    Error::input("<command line>", what, unknown(what, id, known))
}

/// `unknown gpu "h100" ; nearest: h100-sxm, h100-pcie`.
pub fn unknown<'a>(what: &str, id: &str, known: impl Iterator<Item = &'a String>) -> String {
    let near = nearest(id, known);
    if near.is_empty() {
        format!("unknown {what} \"{id}\"")
    } else {
        format!("unknown {what} \"{id}\"; nearest: {}", near.join(", "))
    }
}

/// Up to three known names closest to `id`: those containing it first, then by edit distance.
pub fn nearest<'a>(id: &str, known: impl Iterator<Item = &'a String>) -> Vec<String> {
    let id_l = id.to_lowercase();
    let mut scored: Vec<(usize, f64, &String)> = known
        .map(|k| {
            let kl = k.to_lowercase();
            let contains = if kl.contains(&id_l) || id_l.contains(&kl) {
                0
            } else {
                1
            };
            (contains, -strsim::normalized_levenshtein(&id_l, &kl), k)
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(b.2)));
    scored
        .into_iter()
        .filter(|(c, s, _)| *c == 0 || -*s >= 0.4)
        .take(3)
        .map(|(_, _, k)| k.clone())
        .collect()
}

/// Parse TOML into a raw struct. `Err` when nothing usable could be read; else the value read
/// and the parser's problems (unknown keys, wrong types), each with its key path, all at once.
/// Pass those to [`after_parse`] with the semantic checks' problems.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<(T, Problems), Problems> {
    read::read(text)
}

pub(crate) use read::after_parse;

/// Checks shared by entity validators.
pub(crate) fn check_provenance(p: &Provenance, key: &str, problems: &mut Problems) {
    if p.source.trim().is_empty() {
        problems.push(
            crate::error::join_key(key, "source"),
            "is empty; expected where the figure comes from",
        );
    }
}
