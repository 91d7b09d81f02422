//! Output folders that change as a whole: a command stages its files in a private folder next
//! to the output folder and swaps the staged folder in at the end, so a reader of `out/<name>/`
//! sees the folder before the command or after it, never a mix. See [`super::files`] for what a
//! reader can rely on; this module is the mechanism.
//!
//! The protocol, for an output folder `P/N` written by a command that owns some of its files
//! (the *owner*: `run`, `sweep`, `sensitivity`, `plan`, `report`):
//!
//! 1. [`Staged::begin`] checks the folder (a folder or nothing, not a mount point, not the
//!    current folder, holding only what breakeven writes), takes the folder lock
//!    `P/.N.breakeven-lock`, removes what killed runs left (stale staging folders, a folder
//!    moved aside by an interrupted swap), creates the staging folder
//!    `P/.N.breakeven-stage-<pid>-<k>/` with a lock of its own inside, and lets the lock go.
//! 2. The command writes its files into the staging folder, each synced to disk, taking as
//!    long as it needs; other commands on the same folder are not held up.
//! 3. [`Staged::commit`] takes the folder lock again, links into the staging folder every file
//!    of the current folder that another owner wrote (hard links: no copy, no space), writes
//!    the folder's manifest ([`MANIFEST`]), syncs, and swaps the staging folder with `P/N` in
//!    one step (`renameat2(RENAME_EXCHANGE)` on Linux), then removes the old folder.
//!
//! Where the file system cannot exchange two folders (not Linux, or NFS), the swap is two
//! renames: `P/N` to `P/.N.breakeven-old-…`, the staging folder to `P/N`. Between them, for
//! well under a millisecond, `P/N` does not exist; a run killed exactly there leaves the
//! previous folder aside, and the next command on the folder puts it back before anything else.
//!
//! A command that fails, runs out of disk or is stopped removes its staging folder; one killed
//! with SIGKILL leaves it, unlocked, and the next command removes it. The locks are advisory
//! (`flock`), released by the system when a process dies, and their files are removed by their
//! holder, so an output folder has no neighbours once every command on it has ended.
//!
//! The same staging serves any file set: a sweep part is a one-file owner
//! (`sweep.part-2-of-8`), so parts written by many machines into one shared folder each replace
//! only their own file, and the manifest tells which part came when.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The manifest inside every output folder: which command wrote which file, and when.
pub const MANIFEST: &str = ".breakeven-manifest.json";
/// What the manifest's `kind` says.
pub const MANIFEST_KIND: &str = "breakeven output folder";
/// The staging folder's own lock: held by the command staging there, so a cleaner can tell a
/// live staging folder from one a killed run left.
const STAGE_LOCK: &str = ".breakeven-stage.lock";
/// Extensions of the files breakeven writes: a folder without a manifest (written by an older
/// version) is taken over only when it holds nothing else.
const OUTPUT_EXTENSIONS: [&str; 6] = ["json", "csv", "png", "svg", "html", "xlsx"];

/// The manifest of an output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_KIND`].
    pub kind: String,
    /// The breakeven version that wrote the folder last.
    pub version: String,
    /// Counts the commits into this folder: 1 for the first.
    pub generation: u64,
    /// Every file in the folder, by name.
    pub files: Vec<ManifestEntry>,
}

/// One file of an output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// File name inside the folder.
    pub name: String,
    /// The command that wrote it (`run`, `sweep`, …), empty when not known (a file from before
    /// manifests).
    pub owner: String,
    /// The generation that wrote it.
    pub generation: u64,
    /// Its size [bytes].
    pub bytes: u64,
}

impl Manifest {
    /// The entry of `name`.
    pub fn entry(&self, name: &str) -> Option<&ManifestEntry> {
        self.files.iter().find(|f| f.name == name)
    }
    /// The names of the files `owner` wrote.
    pub fn owned_by<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .iter()
            .filter(move |f| f.owner == owner)
            .map(|f| f.name.as_str())
    }
}

/// Read the manifest of output folder `dir`: `None` when it has none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let bad = |why: String| {
        Error::input(
            &path.display().to_string(),
            "",
            format!("{why}; expected the manifest breakeven writes (remove the folder's files to start it afresh)"),
        )
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path, e)),
    };
    let mut text = String::new();
    file.take(crate::limits::MAX_INPUT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot be read ({e})")))?;
    if text.len() as u64 > crate::limits::MAX_INPUT_BYTES {
        return Err(bad("is too large".into()));
    }
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| bad(format!("is not a manifest ({e})")))?;
    if m.kind != MANIFEST_KIND {
        return Err(bad(format!("kind is \"{}\"", m.kind)));
    }
    Ok(Some(m))
}

/// An output folder being replaced: files go into a private staging folder, which
/// [`Staged::commit`] swaps in. Dropped without a commit, it removes its staging folder and
/// leaves the output folder as it was.
#[derive(Debug)]
pub struct Staged {
    /// The folder as the user named it, for messages.
    shown: PathBuf,
    /// Its canonical parent.
    parent: PathBuf,
    /// Its name in the parent.
    name: OsString,
    /// The staging folder.
    stage: PathBuf,
    /// Which command's files these are.
    owner: String,
    /// The staging folder's lock, held until the commit.
    lock: Option<File>,
    committed: bool,
}

impl Staged {
    /// Start replacing `owner`'s files in output folder `dir` (made when missing). Bad input
    /// (exit code 2) when `dir` cannot be an output folder; an I/O error when the disk is full.
    pub fn begin(dir: &Path, owner: &str) -> Result<Staged> {
        if owner.is_empty() || owner.contains(['/', '\\']) {
            return Err(Error::Invariant(format!("output owner \"{owner}\"")));
        }
        let (parent, name) = resolve(dir)?;
        let target = parent.join(&name);
        check_target(dir, &target, &parent)?;
        let lock = FolderLock::acquire(&parent, &name).map_err(|e| out_error(dir, e))?;
        recover(&parent, &name).map_err(|e| out_error(dir, e))?;
        // Refuse a folder that someone turned into something else meanwhile.
        check_target(dir, &target, &parent)?;
        let (stage, stage_lock) = make_stage(&parent, &name).map_err(|e| out_error(dir, e))?;
        drop(lock);
        Ok(Staged {
            shown: dir.to_path_buf(),
            parent,
            name,
            stage,
            owner: owner.to_string(),
            lock: Some(stage_lock),
            committed: false,
        })
    }

    /// The staging folder, for writers that take a folder (charts). Files put there are this
    /// owner's once committed.
    pub fn path(&self) -> &Path {
        &self.stage
    }

    /// Where `name` will be once committed, as the user named the folder.
    pub fn final_path(&self, name: &str) -> PathBuf {
        self.shown.join(name)
    }

    /// Write file `name` whole; returns where it will be once committed.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let mut f = self.create(name)?;
        f.writer()
            .write_all(bytes)
            .map_err(|e| io_error(&self.final_path(name), e))?;
        f.finish()
    }

    /// Start file `name`, to write it bit by bit (finish it with [`StagedFile::finish`]).
    pub fn create(&mut self, name: &str) -> Result<StagedFile> {
        check_file_name(name)?;
        let path = self.stage.join(name);
        let shown = self.final_path(name);
        let file = File::create(&path).map_err(|e| io_error(&shown, e))?;
        Ok(StagedFile {
            file: io::BufWriter::new(file),
            shown,
        })
    }

    /// Swap the staged files in: the output folder then holds them, every other owner's files
    /// as they are at this moment, and the new manifest. Returns the folder as the user named it.
    pub fn commit(mut self) -> Result<PathBuf> {
        let shown = self.shown.clone();
        self.commit_inner().map_err(|e| match e {
            Error::Io { source, .. } => io_error(&shown, source),
            other => other,
        })?;
        self.committed = true;
        Ok(shown)
    }

    fn commit_inner(&mut self) -> Result<()> {
        let target = self.parent.join(&self.name);
        let lock =
            FolderLock::acquire(&self.parent, &self.name).map_err(|e| io_error(&target, e))?;
        recover(&self.parent, &self.name).map_err(|e| io_error(&target, e))?;
        fault_point("commit-locked");
        let old = if target.is_dir() {
            read_manifest(&target)?
        } else {
            None
        };
        let mut new_names: Vec<String> = Vec::new();
        for entry in fs::read_dir(&self.stage).map_err(|e| io_error(&self.stage, e))? {
            let entry = entry.map_err(|e| io_error(&self.stage, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != STAGE_LOCK && name != MANIFEST {
                new_names.push(name);
            }
        }
        let generation = old.as_ref().map_or(0, |m| m.generation) + 1;
        let mut files: Vec<ManifestEntry> = Vec::new();
        if target.is_dir() {
            for entry in fs::read_dir(&target).map_err(|e| io_error(&target, e))? {
                let entry = entry.map_err(|e| io_error(&target, e))?;
                let os_name = entry.file_name();
                let name = os_name.to_string_lossy().into_owned();
                if name == MANIFEST || is_temporary(&name) || new_names.contains(&name) {
                    continue;
                }
                let known = old.as_ref().and_then(|m| m.entry(&name)).cloned();
                if known.as_ref().is_some_and(|k| k.owner == self.owner) {
                    // This owner's file from before that it does not write this time: gone with
                    // the rest of its old set, so no file of an earlier run stays beside the new.
                    continue;
                }
                let bytes = carry_over(&entry.path(), &self.stage.join(&os_name))
                    .map_err(|e| io_error(&entry.path(), e))?;
                files.push(known.unwrap_or(ManifestEntry {
                    name,
                    owner: String::new(),
                    generation: 0,
                    bytes,
                }));
            }
        }
        for name in &new_names {
            let bytes = fs::symlink_metadata(self.stage.join(name))
                .map_err(|e| io_error(&self.stage.join(name), e))?
                .len();
            files.push(ManifestEntry {
                name: name.clone(),
                owner: self.owner.clone(),
                generation,
                bytes,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let manifest = Manifest {
            kind: MANIFEST_KIND.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            generation,
            files,
        };
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| Error::Invariant(format!("manifest: {e}")))?
            + "\n";
        write_synced(&self.stage.join(MANIFEST), text.as_bytes())
            .map_err(|e| io_error(&target, e))?;
        fault_point("commit-staged");
        // From here on the staging folder is the new output folder: its lock file goes (the
        // folder lock protects it until the swap), the lock itself is kept until the end.
        fs::remove_file(self.stage.join(STAGE_LOCK)).map_err(|e| io_error(&self.stage, e))?;
        sync_dir(&self.stage).map_err(|e| io_error(&self.stage, e))?;
        swap(&self.stage, &target, &self.parent, &self.name).map_err(|e| io_error(&target, e))?;
        fault_point("commit-swapped");
        let _ = sync_dir(&self.parent);
        drop(lock);
        self.lock = None;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.stage);
        }
    }
}

/// A file being written into a staging folder.
pub struct StagedFile {
    file: io::BufWriter<File>,
    shown: PathBuf,
}

impl StagedFile {
    /// The open file.
    pub fn writer(&mut self) -> &mut io::BufWriter<File> {
        &mut self.file
    }
    /// Flush and sync it to disk; returns where it will be once committed.
    pub fn finish(self) -> Result<PathBuf> {
        let shown = self.shown;
        let file = self
            .file
            .into_inner()
            .map_err(|e| io_error(&shown, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&shown, e))?;
        Ok(shown)
    }
}

// ------------------------------------------------------------------------------------------
// Checks.

/// The canonical parent of `dir` (made when missing) and `dir`'s name in it.
fn resolve(dir: &Path) -> Result<(PathBuf, OsString)> {
    let refuse = |why: &str| {
        Error::input(
            &dir.display().to_string(),
            "",
            format!("{why}; expected an output folder (--out) of its own, like out/NAME"),
        )
    };
    if dir.as_os_str().is_empty() {
        return Err(refuse("is empty"));
    }
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| out_error(dir, e))?
            .join(dir)
    };
    // `a/b/..` and `.` name folders whose name is not their last component: resolve them.
    let absolute = if fs::symlink_metadata(&absolute).is_ok() {
        fs::canonicalize(&absolute).map_err(|e| out_error(dir, e))?
    } else {
        absolute
    };
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(refuse("is the root folder"));
    };
    if name == OsStr::new("..") || name == OsStr::new(".") {
        return Err(refuse("does not name a folder"));
    }
    fs::create_dir_all(parent).map_err(|e| out_error(dir, e))?;
    let parent = fs::canonicalize(parent).map_err(|e| out_error(dir, e))?;
    Ok((parent, name.to_os_string()))
}

/// `target` can be replaced as a whole: a folder or nothing, on the same file system as its
/// parent, not holding the current folder, and holding only what breakeven writes.
fn check_target(shown: &Path, target: &Path, parent: &Path) -> Result<()> {
    let refuse = |why: String| {
        Error::input(
            &shown.display().to_string(),
            "",
            format!("{why}; expected an output folder (--out) of its own, like out/NAME: breakeven replaces it as a whole"),
        )
    };
    let meta = match fs::metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(out_error(shown, e)),
    };
    if !meta.is_dir() {
        return Err(Error::input(
            &shown.display().to_string(),
            "",
            "exists and is not a folder; expected a folder that exists or can be made",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let up = fs::metadata(parent).map_err(|e| out_error(shown, e))?;
        if up.dev() != meta.dev() {
            return Err(refuse(
                "is a mount point, which cannot be swapped; use a folder inside it".into(),
            ));
        }
    }
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
        if cwd.starts_with(target) {
            return Err(refuse("is the current folder or holds it".into()));
        }
    }
    if read_manifest(target)?.is_some() {
        return Ok(());
    }
    for entry in fs::read_dir(target).map_err(|e| out_error(shown, e))? {
        let entry = entry.map_err(|e| out_error(shown, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.file_type().is_ok_and(|t| t.is_file());
        let ours = file
            && (is_temporary(&name)
                || Path::new(&name)
                    .extension()
                    .is_some_and(|x| OUTPUT_EXTENSIONS.iter().any(|e| x == *e)));
        if !ours {
            return Err(refuse(format!(
                "holds {}, which breakeven did not write",
                crate::names::escape(&name)
            )));
        }
    }
    Ok(())
}

/// A file name a command may stage: plain, not hidden, not the manifest.
fn check_file_name(name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        return Err(Error::Invariant(format!(
            "output file name \"{}\" must be a plain file name",
            crate::names::escape(name)
        )));
    }
    Ok(())
}

/// A temporary file of an older breakeven's per-file writes (`.breakeven-XXXX.tmp`).
fn is_temporary(name: &str) -> bool {
    name.starts_with(".breakeven-") && name.ends_with(".tmp")
}

/// An error about the output folder: the disk (full, failing) is a failure while running
/// (exit 1); anything else (no permission, a read-only file system, a path that cannot be a
/// folder) is bad input (exit 2).
fn out_error(dir: &Path, e: io::Error) -> Error {
    if is_environment(&e) {
        return io_error(dir, e);
    }
    Error::input(
        &dir.display().to_string(),
        "",
        format!("cannot be written ({e}); expected an output folder (--out) where breakeven may create files, and next to it"),
    )
}

/// Errors of the machine rather than of the path asked for.
fn is_environment(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
            | io::ErrorKind::OutOfMemory
            | io::ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(libc::EIO)
}

fn io_error(path: &Path, e: io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

// ------------------------------------------------------------------------------------------
// Locks, staging folders, recovery.

/// `P/.N.breakeven-<what>`.
fn sibling(parent: &Path, name: &OsStr, what: &str) -> PathBuf {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(".breakeven-");
    s.push(what);
    parent.join(s)
}

/// The lock on an output folder, held while a command changes it or its neighbours. The lock
/// file is removed by its holder, so it exists only while someone holds or waits for it; a
/// waiter that wakes up holding a removed file tries again.
struct FolderLock {
    file: File,
    path: PathBuf,
}

impl FolderLock {
    fn acquire(parent: &Path, name: &OsStr) -> io::Result<FolderLock> {
        let path = sibling(parent, name, "lock");
        loop {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            flock(&file, Lock::Wait)?;
            if same_file(&file, &path) {
                return Ok(FolderLock { file, path });
            }
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Remove before unlocking: whoever waits on this file then finds it gone and retries.
        let _ = fs::remove_file(&self.path);
        let _ = flock(&self.file, Lock::Release);
    }
}

/// What [`flock`] does.
#[derive(Clone, Copy)]
enum Lock {
    /// Take the lock, waiting for its holder.
    Wait,
    /// Take the lock if it is free, else fail with `WouldBlock`.
    Try,
    /// Let it go.
    Release,
}

/// An exclusive advisory lock on an open file (`flock(2)`): released by the system when the
/// process ends however it ends, so a killed command never leaves a folder locked. (The
/// standard library has this as `File::lock` from Rust 1.89; this crate supports 1.85.)
#[cfg(unix)]
fn flock(file: &File, how: Lock) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let op = match how {
        Lock::Wait => libc::LOCK_EX,
        Lock::Try => libc::LOCK_EX | libc::LOCK_NB,
        Lock::Release => libc::LOCK_UN,
    };
    loop {
        // SAFETY: `file` is open for the whole call; flock only reads the descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Without `flock`, no lock: commands on one folder must then not overlap.
#[cfg(not(unix))]
fn flock(_: &File, _: Lock) -> io::Result<()> {
    Ok(())
}

/// True when `path` still names the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// A fresh staging folder and its held lock.
fn make_stage(parent: &Path, name: &OsStr) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let stage = sibling(parent, name, &format!("stage-{}-{k}", std::process::id()));
        match fs::create_dir(&stage) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        let made = (|| {
            let lock = File::create(stage.join(STAGE_LOCK))?;
            flock(&lock, Lock::Wait)?;
            Ok(lock)
        })();
        return match made {
            Ok(lock) => Ok((stage, lock)),
            Err(e) => {
                let _ = fs::remove_dir_all(&stage);
                Err(e)
            }
        };
    }
}

/// Put right what killed commands left next to `P/N`; the caller holds the folder lock.
/// A folder moved aside by an interrupted two-rename swap goes back when `P/N` is missing
/// (else it is the old one, and goes); staging folders whose lock is free (or gone) go.
fn recover(parent: &Path, name: &OsStr) -> io::Result<()> {
    let target = parent.join(name);
    let prefix = sibling(parent, name, "")
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut aside: Vec<PathBuf> = Vec::new();
    let mut stages: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(parent)? {
        let entry = entry?;
        let n = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = n.strip_prefix(&prefix) else {
            continue;
        };
        if rest.starts_with("old-") {
            aside.push(entry.path());
        } else if rest.starts_with("stage-") {
            stages.push(entry.path());
        }
    }
    aside.sort();
    if fs::symlink_metadata(&target).is_err() {
        if let Some(latest) = aside.pop() {
            fs::rename(&latest, &target)?;
        }
    }
    for old in aside {
        let _ = fs::remove_dir_all(old);
    }
    for stage in stages {
        let stale = match File::open(stage.join(STAGE_LOCK)) {
            Err(_) => true,
            Ok(f) => flock(&f, Lock::Try).is_ok(),
        };
        if stale {
            let _ = fs::remove_dir_all(stage);
        }
    }
    Ok(())
}

/// Bring `from`'s file into the staging folder at `to`: a hard link when the file system
/// allows (no space, no time), else a copy. Folders and links are recreated. Returns the size.
fn carry_over(from: &Path, to: &Path) -> io::Result<u64> {
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        #[cfg(unix)]
        std::os::unix::fs::symlink(fs::read_link(from)?, to)?;
        return Ok(0);
    }
    if meta.is_dir() {
        fs::create_dir(to)?;
        let mut total = 0;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            total += carry_over(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(total);
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)?;
        File::open(to)?.sync_all()?;
    }
    Ok(meta.len())
}

/// Swap `stage` in as `target`.
fn swap(stage: &Path, target: &Path, parent: &Path, name: &OsStr) -> io::Result<()> {
    if fs::symlink_metadata(target).is_err() {
        return fs::rename(stage, target);
    }
    match exchange(stage, target) {
        Ok(()) => {
            // `stage` now holds the previous folder.
            let _ = fs::remove_dir_all(stage);
            Ok(())
        }
        Err(e) if exchange_unsupported(&e) => swap_by_renames(stage, target, parent, name),
        Err(e) => Err(e),
    }
}

/// The swap where the file system cannot exchange: two renames, the old folder aside between.
fn swap_by_renames(stage: &Path, target: &Path, parent: &Path, name: &OsStr) -> io::Result<()> {
    let aside = sibling(parent, name, &format!("old-{}", std::process::id()));
    fs::rename(target, &aside)?;
    fault_point("between-renames");
    if let Err(e) = fs::rename(stage, target) {
        let _ = fs::rename(&aside, target);
        return Err(e);
    }
    let _ = fs::remove_dir_all(aside);
    Ok(())
}

/// Exchange two folders atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them and touches nothing else.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn exchange_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
        )
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A place in the commit where the fault-injection test (`tests/suite/faults.rs`) wants kills to
/// land: with `BREAKEVEN_FAULT_PAUSE_MS` set, the command sleeps there that long. Nothing
/// else changes; without the variable this is a no-op.
fn fault_point(_what: &str) {
    if let Some(ms) = std::env::var("BREAKEVEN_FAULT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(10_000)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn commit(dir: &Path, owner: &str, files: &[(&str, &str)]) -> PathBuf {
        let mut s = Staged::begin(dir, owner).unwrap();
        for (n, t) in files {
            s.write(n, t.as_bytes()).unwrap();
        }
        s.commit().unwrap()
    }

    #[test]
    fn an_owner_replaces_its_own_files_and_keeps_the_others() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        commit(&out, "run", &[("summary.json", "1"), ("fleet-a.png", "a")]);
        commit(&out, "sweep", &[("sweep.json", "s")]);
        // The second run has no option a: its chart goes with the rest of the old run.
        commit(&out, "run", &[("summary.json", "2"), ("fleet-b.png", "b")]);
        assert_eq!(
            names(&out),
            [MANIFEST, "fleet-b.png", "summary.json", "sweep.json"]
        );
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "2");
        assert_eq!(fs::read_to_string(out.join("sweep.json")).unwrap(), "s");
        let m = read_manifest(&out).unwrap().unwrap();
        assert_eq!(m.generation, 3);
        assert_eq!(m.entry("sweep.json").unwrap().owner, "sweep");
        assert_eq!(m.entry("sweep.json").unwrap().generation, 2);
        assert_eq!(m.entry("summary.json").unwrap().generation, 3);
        // Nothing is left next to the folder.
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn a_dropped_stage_changes_nothing_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        commit(&out, "run", &[("summary.json", "1")]);
        let before = fs::read(out.join(MANIFEST)).unwrap();
        {
            let mut s = Staged::begin(&out, "run").unwrap();
            s.write("summary.json", b"2").unwrap();
            // dropped: an error or Ctrl-C on the way
        }
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "1");
        assert_eq!(fs::read(out.join(MANIFEST)).unwrap(), before);
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn what_a_killed_command_left_is_cleaned_and_a_live_stage_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        commit(&out, "run", &[("summary.json", "1")]);
        // A killed command's staging folder: its lock file is there but nobody holds it.
        let dead = sibling(tmp.path(), OsStr::new("out"), "stage-999999-0");
        fs::create_dir(&dead).unwrap();
        File::create(dead.join(STAGE_LOCK)).unwrap();
        fs::write(dead.join("summary.json"), "half").unwrap();
        // One killed during its commit, after removing its lock file.
        let dead2 = sibling(tmp.path(), OsStr::new("out"), "stage-999999-1");
        fs::create_dir(&dead2).unwrap();
        // A live one: another command is staging right now.
        let live = Staged::begin(&out, "sweep").unwrap();
        // A stale lock file of the folder lock: nobody holds it.
        File::create(sibling(tmp.path(), OsStr::new("out"), "lock")).unwrap();
        // An older version's temporary file inside the folder.
        fs::write(out.join(".breakeven-abc123.tmp"), "x").unwrap();
        commit(&out, "plan", &[("plan.json", "p")]);
        assert!(!dead.exists() && !dead2.exists());
        assert!(live.path().exists(), "a live staging folder was removed");
        assert!(!out.join(".breakeven-abc123.tmp").exists());
        drop(live);
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn a_swap_interrupted_between_its_renames_is_put_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        commit(&out, "run", &[("summary.json", "1")]);
        // As if killed between the two renames of the fallback swap.
        let aside = sibling(tmp.path(), OsStr::new("out"), "old-4242");
        fs::rename(&out, &aside).unwrap();
        let stage = sibling(tmp.path(), OsStr::new("out"), "stage-4242-0");
        fs::create_dir(&stage).unwrap();
        // The next command finds the previous folder back in place, and commits over it.
        commit(&out, "sweep", &[("sweep.json", "s")]);
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "1");
        assert_eq!(fs::read_to_string(out.join("sweep.json")).unwrap(), "s");
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn the_fallback_swap_gives_the_same_folder_as_the_exchange() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, by_renames) in [("a", false), ("b", true)] {
            let out = tmp.path().join(name);
            commit(&out, "run", &[("summary.json", "1")]);
            let mut s = Staged::begin(&out, "run").unwrap();
            s.write("summary.json", b"2").unwrap();
            if by_renames {
                // What commit does where the file system cannot exchange folders.
                let parent = s.parent.clone();
                let stage = s.stage.clone();
                fs::remove_file(stage.join(STAGE_LOCK)).unwrap();
                swap_by_renames(&stage, &out, &parent, OsStr::new(name)).unwrap();
                s.committed = true;
            } else {
                s.commit().unwrap();
            }
            assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "2");
        }
        let mut left = names(tmp.path());
        left.sort();
        assert_eq!(left, ["a", "b"]);
    }

    #[test]
    fn folders_that_cannot_be_output_folders_are_refused_as_bad_input() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        let foreign = tmp.path().join("home");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let with_folder = tmp.path().join("nested");
        fs::create_dir_all(with_folder.join("sub")).unwrap();
        for (dir, want) in [
            (file.clone(), "exists and is not a folder"),
            (
                foreign.clone(),
                "holds notes.txt, which breakeven did not write",
            ),
            (
                with_folder.clone(),
                "holds sub, which breakeven did not write",
            ),
            (PathBuf::from("/"), "is the root folder"),
            (file.join("below"), "cannot be written"),
        ] {
            let e = Staged::begin(&dir, "run").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{dir:?}: {e}");
            assert!(e.to_string().contains(want), "{dir:?}: {e}");
        }
        assert_eq!(
            fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "mine"
        );
        // An older version's folder (results only, no manifest) is taken over.
        let old = tmp.path().join("old");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("summary.json"), "old").unwrap();
        fs::write(old.join("cost.png"), "old").unwrap();
        commit(&old, "run", &[("summary.json", "new")]);
        assert_eq!(fs::read_to_string(old.join("summary.json")).unwrap(), "new");
        assert_eq!(
            read_manifest(&old)
                .unwrap()
                .unwrap()
                .entry("cost.png")
                .unwrap()
                .owner,
            ""
        );
    }

    #[test]
    fn a_bad_manifest_is_bad_input() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join(MANIFEST), "{\"kind\": 3}").unwrap();
        let e = Staged::begin(&out, "run").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("is not a manifest"), "{e}");
    }
}
