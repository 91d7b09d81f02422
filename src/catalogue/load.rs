//! Finding catalogue files: compiled in, or in a folder.

use super::Kind;
use crate::error::{Error, Problems, Result};
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

/// The `.toml` files below `dir`, sorted by path. Links are followed only while they stay
/// inside the catalogue; files must be regular files; the walk is bounded by the limits in
/// [`crate::limits`] (entries, depth, files, bytes). Every problem is reported at once.
pub fn files_in_dir(dir: &Path) -> Result<Vec<CatalogueFile>> {
    use crate::limits::{
        MAX_CATALOGUE_BYTES, MAX_CATALOGUE_DEPTH, MAX_CATALOGUE_ENTRIES, MAX_CATALOGUE_FILES,
    };
    let shown = |p: &Path| p.display().to_string();
    // A folder that cannot be read is bad input (exit code 2), not a failure while running.
    let meta = std::fs::metadata(dir).map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_string(),
            _ => format!("cannot be read ({e})"),
        };
        Error::input(
            &shown(dir),
            "",
            format!("{what}; expected a catalogue folder with api/, gpu/, selfhost/ and licence/"),
        )
    })?;
    if !meta.is_dir() {
        return Err(Error::input(
            &shown(dir),
            "",
            "is not a folder; expected a catalogue folder with api/, gpu/, selfhost/ and licence/",
        ));
    }
    let unreadable = |p: &Path, e: std::io::Error| {
        Error::input(
            &shown(p),
            "",
            format!("cannot be read ({e}); expected a readable catalogue folder"),
        )
    };
    let root = std::fs::canonicalize(dir).map_err(|e| unreadable(dir, e))?;
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), root.clone(), 0usize)];
    // Folders already read, so a symbolic link back up the tree cannot loop forever.
    let mut seen = std::collections::HashSet::new();
    let (mut entries, mut bytes) = (0usize, 0u64);
    while let Some((d, real, depth)) = stack.pop() {
        if !seen.insert(real.clone()) {
            continue;
        }
        let mut listed: Vec<std::fs::DirEntry> = Vec::new();
        for entry in std::fs::read_dir(&d).map_err(|e| unreadable(&d, e))? {
            listed.push(entry.map_err(|e| unreadable(&d, e))?);
            entries += 1;
            if entries > MAX_CATALOGUE_ENTRIES {
                return Err(Error::input(&shown(dir), "", format!("holds more than {MAX_CATALOGUE_ENTRIES} files and folders; expected a catalogue folder of a few hundred files")));
            }
        }
        // Sorted, so which problem is found first does not depend on the file system.
        listed.sort_by_key(|e| e.file_name());
        for entry in listed {
            let path = entry.path();
            let link = entry.file_type().is_ok_and(|t| t.is_symlink());
            // Where a link leads must be inside the catalogue.
            let real = match std::fs::canonicalize(&path) {
                Ok(r) => r,
                Err(e) if link => {
                    problems.0.extend(
                        Problems(vec![crate::error::Problem::at(
                            "",
                            format!("is a link that leads nowhere ({e}); expected files and folders inside the catalogue"),
                        )])
                        .in_file(&shown(&path))
                        .0,
                    );
                    continue;
                }
                Err(e) => return Err(unreadable(&path, e)),
            };
            if link && !real.starts_with(&root) {
                let mut p = Problems::default();
                p.push(
                    "",
                    format!(
                        "is a link to {}, outside the catalogue; expected files and folders inside it",
                        real.display()
                    ),
                );
                problems.0.extend(p.in_file(&shown(&path)).0);
                continue;
            }
            let meta = std::fs::metadata(&real).map_err(|e| unreadable(&path, e))?;
            if meta.is_dir() {
                if depth + 1 > MAX_CATALOGUE_DEPTH {
                    let mut p = Problems::default();
                    p.push("", format!("is nested more than {MAX_CATALOGUE_DEPTH} folders deep; expected api/<provider>/<model>.toml and the like"));
                    problems.0.extend(p.in_file(&shown(&path)).0);
                } else {
                    stack.push((path, real, depth + 1));
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let display = shown(&path);
            if out.len() >= MAX_CATALOGUE_FILES {
                return Err(Error::input(&shown(dir), "", format!("holds more than {MAX_CATALOGUE_FILES} .toml files; expected a catalogue of a few hundred")));
            }
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if let Some(why) = file_id_problem(&rel) {
                let mut p = Problems::default();
                p.push("", why);
                problems.0.extend(p.in_file(&display).0);
                continue;
            }
            let read = match read_capped(&path) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    return Err(Error::input(&display, "", too_big("a catalogue")));
                }
                Err(e) => {
                    let mut p = Problems::default();
                    p.push(
                        "",
                        format!("cannot be read ({e}); expected a readable TOML file"),
                    );
                    problems.0.extend(p.in_file(&display).0);
                    continue;
                }
            };
            bytes += read.len() as u64;
            if bytes > MAX_CATALOGUE_BYTES {
                return Err(Error::input(&shown(dir), "", format!("holds more than {} MB of .toml files; expected a catalogue of a few hundred kilobytes", MAX_CATALOGUE_BYTES >> 20)));
            }
            match String::from_utf8(read) {
                Ok(text) => out.push(CatalogueFile {
                    display,
                    text,
                    rel_path: rel,
                }),
                Err(_) => {
                    let mut p = Problems::default();
                    p.push("", "is not UTF-8 text; expected a TOML file");
                    problems.0.extend(p.in_file(&display).0);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    out.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(out)
}

/// Why a catalogue file's path below the root does not give ids: every folder below the kind
/// folder and the file's stem is an id ([`crate::names`]), so an entity's id is a plain file name.
fn file_id_problem(rel: &str) -> Option<String> {
    let stem = rel.strip_suffix(".toml")?;
    let parts: Vec<&str> = stem.split('/').collect();
    // `api/x.toml`: the first folder is the kind; what is not in a kind folder is reported
    // by the catalogue itself.
    let id_parts = parts.get(1..).unwrap_or(&[]);
    id_parts.iter().find_map(|part| {
        crate::names::id_problem(part).map(|why| format!("the file name gives the id part {why}"))
    })
}

pub use crate::limits::MAX_INPUT_BYTES;

/// The bytes of `path`, or `None` when there are more than [`MAX_INPUT_BYTES`]. Only a regular
/// file is read: a named pipe, a device or a socket could block forever or never end, and a
/// file of the kernel's `/proc` or `/sys` says it is empty while it is not (and `/proc/kmsg`
/// blocks), so those are refused with a message saying what they are.
pub(crate) fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let (file, meta) = open_regular(path)?;
    if meta.len() > MAX_INPUT_BYTES {
        return Ok(None);
    }
    // At most the size the file had when opened: a file that grows meanwhile stops there.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(meta.len().min(MAX_INPUT_BYTES))
        .read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// `path` opened for reading, when it is a regular file (see [`read_capped`] for why others
/// are refused: the error says what it is instead).
pub(crate) fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a named pipe blocks until a writer comes; non-blocking, it returns at once.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if let Some(what) = special_kind(&file, &meta) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        ));
    }
    Ok((file, meta))
}

/// What a file that is not a regular file is, or `None` for a regular file.
fn special_kind(file: &std::fs::File, meta: &std::fs::Metadata) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let kind = if t.is_fifo() {
            Some("a named pipe")
        } else if t.is_char_device() {
            Some("a character device")
        } else if t.is_block_device() {
            Some("a block device")
        } else if t.is_socket() {
            Some("a socket")
        } else if t.is_dir() {
            Some("a folder")
        } else {
            None
        };
        if kind.is_some() {
            return kind;
        }
    }
    if !meta.is_file() {
        return Some("not a file");
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: an all-zero statfs is a valid value, filled in by fstatfs on an open fd.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `file` is open for the whole call and `fs` is a valid place to write.
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } == 0 {
            const PROC: i64 = 0x9fa0;
            const SYSFS: i64 = 0x6265_6572;
            const DEBUGFS: i64 = 0x6462_6720;
            const TRACEFS: i64 = 0x7472_6163;
            const SECURITYFS: i64 = 0x7363_6673;
            if [PROC, SYSFS, DEBUGFS, TRACEFS, SECURITYFS].contains(&(fs.f_type as i64)) {
                return Some("a file of the kernel (/proc, /sys)");
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    None
}
/// The message for a file over [`MAX_INPUT_BYTES`].
pub(crate) fn too_big(what: &str) -> String {
    format!(
        "is larger than {} MB; expected {what} file of a few kilobytes",
        MAX_INPUT_BYTES >> 20
    )
}
