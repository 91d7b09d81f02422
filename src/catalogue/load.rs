//! Finding catalogue files: compiled in, or in a folder.

use super::Kind;
use crate::error::{Error, Result};
use include_dir::{include_dir, Dir};
use std::path::Path;

static MODELS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/models");

/// One catalogue file's text and where it came from.
#[derive(Debug, Clone)]
pub struct CatalogueFile {
    /// Path below the catalogue root with `/` separators (`api/bfl/flux-2-pro.toml`).
    pub rel_path: String,
    /// How to name the file in messages (`models/api/bfl/flux-2-pro.toml`).
    pub display: String,
    /// The file's text.
    pub text: String,
}

impl CatalogueFile {
    /// The entity kind (from the first folder) and id (the rest, without `.toml`).
    pub fn kind_and_id(&self) -> Option<(Kind, String)> {
        let rest = self.rel_path.strip_suffix(".toml")?;
        let (folder, id) = rest.split_once('/')?;
        let kind = match folder {
            "api" => Kind::Api,
            "gpu" => Kind::Gpu,
            "selfhost" => Kind::Selfhost,
            "licence" => Kind::Licence,
            _ => return None,
        };
        Some((kind, id.to_string()))
    }
}

/// The files of the shipped `models/` folder.
pub fn builtin_files() -> Vec<CatalogueFile> {
    let mut out = Vec::new();
    collect_embedded(&MODELS, &mut out);
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    out
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<CatalogueFile>) {
    for f in dir.files() {
        let rel = f.path().to_string_lossy().replace('\\', "/");
        if rel.ends_with(".toml") {
            out.push(CatalogueFile {
                display: format!("models/{rel}"),
                text: String::from_utf8_lossy(f.contents()).into_owned(),
                rel_path: rel,
            });
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

/// The `.toml` files below `dir`, sorted by path.
pub fn files_in_dir(dir: &Path) -> Result<Vec<CatalogueFile>> {
    let io = |path: &Path, source: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(|e| io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::input(
            &dir.display().to_string(),
            "",
            "is not a folder; expected a catalogue folder with api/, gpu/, selfhost/ and licence/",
        ));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let entry = entry.map_err(|e| io(&d, e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::input(
                        &path.display().to_string(),
                        "",
                        "is not UTF-8 text; expected a TOML file",
                    )
                })?;
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(CatalogueFile {
                    display: path.display().to_string(),
                    text,
                    rel_path: rel,
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(out)
}
