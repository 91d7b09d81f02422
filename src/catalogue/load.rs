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
    // A folder that cannot be read is bad input (exit code 2), not a failure while running.
    let meta = std::fs::metadata(dir).map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_string(),
            _ => format!("cannot be read ({e})"),
        };
        Error::input(
            &dir.display().to_string(),
            "",
            format!("{what}; expected a catalogue folder with api/, gpu/, selfhost/ and licence/"),
        )
    })?;
    if !meta.is_dir() {
        return Err(Error::input(
            &dir.display().to_string(),
            "",
            "is not a folder; expected a catalogue folder with api/, gpu/, selfhost/ and licence/",
        ));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    // Folders already read, so a symbolic link back up the tree cannot loop forever.
    let mut seen = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(std::fs::canonicalize(&d).map_err(|e| io(&d, e))?) {
            continue;
        }
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let entry = entry.map_err(|e| io(&d, e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let display = path.display().to_string();
                let bytes = read_capped(&path)
                    .map_err(|e| {
                        Error::input(
                            &display,
                            "",
                            format!("cannot be read ({e}); expected a readable TOML file"),
                        )
                    })?
                    .ok_or_else(|| Error::input(&display, "", too_big("a catalogue")))?;
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

/// Largest input file read [bytes]; real ones are a few kilobytes.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// The bytes of `path`, or `None` when there are more than [`MAX_INPUT_BYTES`]: a huge file, or
/// a device like `/dev/zero` that never ends, must not fill the memory.
pub(crate) fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_INPUT_BYTES).then_some(bytes))
}

/// The message for a file over [`MAX_INPUT_BYTES`].
pub(crate) fn too_big(what: &str) -> String {
    format!(
        "is larger than {} MB; expected {what} file of a few kilobytes",
        MAX_INPUT_BYTES >> 20
    )
}
