//! Files a reader can trust.
//!
//! Every command's results reach their output folder through [`super::output::Staged`]: the
//! files are written and synced in a staging folder next to it, and the staging folder is
//! swapped in with one atomic exchange. So a reader of `out/NAME/` sees the folder before a
//! command or after it, complete either way; never a new `summary.json` beside the previous
//! run's charts, whatever stops the command (Ctrl-C, `kill -9`, a full disk). A command owns
//! its files as a set: it replaces all of its previous ones (one it does not write this time
//! goes) and keeps other commands' files, so `run` and `sweep` results can share the folder;
//! `NAME/.breakeven-manifest.json` says which command wrote each file, and when. To read
//! several files of one generation, open the folder once and read them relative to it (a
//! directory handle, or `cd`). Where the file system cannot exchange two folders (NFS, not
//! Linux) the swap is two renames, with the folder absent for well under a millisecond.
//!
//! This module keeps the single-file writer, a temporary file renamed over its target, for
//! files outside an output folder (a chart written by a test, a sweep part).

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Create `dir` (and parents) or say why not.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(
            &dir.display().to_string(),
            "",
            "exists and is not a folder; expected an output folder",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    // Fail now, before any work, if the folder cannot take files.
    tempfile::NamedTempFile::new_in(dir).map_err(|e| io(dir, e))?;
    Ok(())
}

/// A file being written; it appears at its path only on [`AtomicFile::commit`].
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Start writing `path`.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".breakeven-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| io(path, e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }
    /// The open file.
    pub fn writer(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }
    /// Flush to disk and move into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        self.tmp
            .as_file_mut()
            .flush()
            .map_err(|e| io(&self.path, e))?;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| io(&self.path, e))?;
        readable_by_all(self.tmp.path()).map_err(|e| io(&self.path, e))?;
        self.tmp
            .persist(&self.path)
            .map_err(|e| io(&self.path, e.error))?;
        Ok(self.path)
    }
}

/// Temporary files are created private (0600); results are for everyone who can read the
/// folder, like any file a command writes.
pub fn readable_by_all(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Write a whole file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let mut f = AtomicFile::create(path)?;
    f.writer().write_all(bytes).map_err(|e| io(path, e))?;
    f.commit()
}
