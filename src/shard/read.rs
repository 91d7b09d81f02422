//! Reading parts: one line at a time, each capped, hashed and checked; the parts of one run
//! read in lock step, batch by batch.

use super::write::{BatchLine, EndLine, ExtrasLine, HeaderLine};
use super::{first_difference, parse_file_name, Command, Fields, Header, MAX_LINE_BYTES};
use crate::engine::fold::{Checked, Validate};
use crate::engine::{Controls, Fold};
use crate::error::{join_key, Error, Result};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A part's lines, read one at a time: each capped at [`MAX_LINE_BYTES`], hashed.
struct Lines {
    shown: String,
    input: BufReader<File>,
    hash: Sha256,
    buf: Vec<u8>,
    line: u64,
}

/// One part, open, its header read and checked on its own.
pub struct PartReader {
    lines: Lines,
    /// Its header.
    pub header: Header,
}

/// What merge expects a part to be, for messages.
fn expected(command: Option<Command>) -> String {
    match command {
        Some(c) => format!("a part file written by `breakeven {}`", c.writer()),
        None => "a part file written by `breakeven run|sweep|sensitivity|plan --shard K/N`".into(),
    }
}

impl Lines {
    fn bad(&self, key: &str, message: impl Into<String>) -> Error {
        Error::input(&self.shown, key, message)
    }

    /// Read the next line into `buf`, hashed unless it is the end line; `what` says what the
    /// line should hold, for the message when there is none.
    fn read(&mut self, what: &str, hashed: bool) -> Result<()> {
        self.buf.clear();
        self.line += 1;
        let n = (&mut self.input)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::Io {
                path: self.shown.clone(),
                source: e,
            })?;
        if n as u64 > MAX_LINE_BYTES {
            return Err(self.bad(
                &format!("line {}", self.line),
                format!(
                    "is longer than {} MB; expected a part's line, at most that long",
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        if n == 0 || self.buf.last() != Some(&b'\n') {
            return Err(self.bad(
                &format!("line {}", self.line),
                format!("is missing or cut short: the part ends before {what}; expected the whole part as it was written"),
            ));
        }
        if hashed {
            self.hash.update(&self.buf);
        }
        Ok(())
    }
}

impl PartReader {
    /// Open the part at `path` and read its header: bad input (exit code 2) when it is not a
    /// regular file, not a part, or a part of another format or version.
    pub fn open(path: &Path) -> Result<PartReader> {
        let shown = crate::names::escape(&path.display().to_string()).into_owned();
        let bad =
            |why: String| Error::input(&shown, "", format!("{why}; expected {}", expected(None)));
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad("does not exist".into()),
            _ => bad(format!("cannot be read ({e})")),
        })?;
        if meta.is_dir() {
            return Err(bad("is a folder".into()));
        }
        let (file, _) = crate::catalogue::open_regular(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => bad(format!("is {e}")),
            _ => bad(format!("cannot be read ({e})")),
        })?;
        let mut lines = Lines {
            shown,
            input: BufReader::with_capacity(1 << 16, file),
            hash: Sha256::new(),
            buf: Vec::new(),
            line: 0,
        };
        lines.read("its header", true)?;
        let line: HeaderLine<Header> = serde_json::from_slice(&lines.buf).map_err(|e| {
            lines.bad(
                "line 1",
                format!("is not a part's header ({e}); expected {}", expected(None)),
            )
        })?;
        if let Err((key, msg)) = line.header.check() {
            return Err(lines.bad(&key, msg));
        }
        Ok(PartReader {
            lines,
            header: line.header,
        })
    }

    /// The part as named in messages.
    pub fn shown(&self) -> &str {
        &self.lines.shown
    }

    /// A problem at `key` of this part (exit code 2).
    pub fn bad(&self, key: &str, message: impl Into<String>) -> Error {
        self.lines.bad(key, message)
    }

    fn next_line(&mut self, what: &str) -> Result<()> {
        self.lines.read(what, true)
    }

    /// The extras line: `None` when it holds `null`.
    pub fn extras<X: DeserializeOwned>(&mut self) -> Result<Option<X>> {
        self.next_line("its extras")?;
        let line: ExtrasLine<X> = serde_json::from_slice(&self.lines.buf).map_err(|e| {
            self.bad(
                &format!("line {}", self.lines.line),
                format!(
                    "is not the part's extras ({e}); expected {}",
                    expected(Some(self.header.command))
                ),
            )
        })?;
        Ok(line.extras)
    }

    /// The state of batch `batch`, which must be the next line, checked against `empty` with
    /// `paths` paths.
    pub fn batch<S: DeserializeOwned + Validate>(
        &mut self,
        batch: u64,
        empty: &S,
        paths: u64,
    ) -> Result<S> {
        self.next_line(&format!("batch {batch}"))?;
        let key = format!("line {}", self.lines.line);
        let line: BatchLine<S> = serde_json::from_slice(&self.lines.buf).map_err(|e| {
            self.bad(
                &key,
                format!(
                    "is not the state of batch {batch} ({e}); expected {}",
                    expected(Some(self.header.command))
                ),
            )
        })?;
        if line.batch != batch {
            return Err(self.bad(
                &format!("{key}: batch"),
                format!("is {}; expected {batch}, the part's next batch", line.batch),
            ));
        }
        // The line is parsed: give its bytes back, so that N parts in lock step hold one
        // line's text at a time between them, not each its largest line.
        self.lines.buf.clear();
        self.lines.buf.shrink_to(1 << 16);
        line.state
            .validate(empty, paths)
            .map_err(|u| self.bad(&format!("{key}: {}", join_key("state", &u.key)), u.message))?;
        Ok(line.state)
    }

    /// Read the end line: the digest must match what was read, the batch count the part's,
    /// and nothing may follow.
    pub fn finish(mut self) -> Result<()> {
        let digest = super::hex(&self.lines.hash.clone().finalize());
        self.lines.read("its end line", false)?;
        let key = format!("line {}", self.lines.line);
        let line: EndLine = serde_json::from_slice(&self.lines.buf).map_err(|e| {
            self.bad(&key, format!("is not the part's end line ({e}); expected {{\"end\": …}} after the part's {} batches", self.header.batch_count()))
        })?;
        if line.end.batches != self.header.batch_count() {
            return Err(self.bad(
                &format!("{key}: end.batches"),
                format!(
                    "is {}; expected {}",
                    line.end.batches,
                    self.header.batch_count()
                ),
            ));
        }
        if line.end.sha256 != digest {
            return Err(self.bad(
                &format!("{key}: end.sha256"),
                format!("does not match the part's content (which hashes to {digest}): the part was changed after it was written; expected the file as breakeven wrote it"),
            ));
        }
        let mut more = [0u8; 1];
        let extra = self.lines.input.read(&mut more).map_err(|e| Error::Io {
            path: self.lines.shown.clone(),
            source: e,
        })?;
        if extra > 0 {
            return Err(self.bad(
                &format!("line {}", self.lines.line + 1),
                "follows the end line; expected nothing after it",
            ));
        }
        Ok(())
    }
}

/// The parts of one run, one per shard, in shard order, checked to belong together.
pub struct PartSet {
    parts: Vec<PartReader>,
}

impl PartSet {
    /// Open the parts at `paths`: all `N` shards of one run, each once, in any order. Parts of
    /// another run (another scenario text, catalogue, seed, setting or version) are refused
    /// naming the part and the field.
    pub fn open(paths: &[PathBuf]) -> Result<PartSet> {
        let mut parts: Vec<PartReader> = Vec::with_capacity(paths.len());
        for p in paths {
            let r = PartReader::open(p)?;
            if let Some(first) = parts.first() {
                if let Some((key, what)) =
                    first_difference(&r.header, &first.header, Fields::AllBut(&["shard"]))
                {
                    return Err(r.bad(
                        &format!("header.{key}"),
                        format!("{what} in {}; expected parts of one run (the same scenario, catalogue, settings and version; only the shard differs)", first.shown()),
                    ));
                }
            }
            if let Some(twin) = parts.iter().find(|q| q.header.shard == r.header.shard) {
                return Err(r.bad(
                    "header.shard",
                    format!(
                        "is {} of {}, given twice (also {}); expected each shard once",
                        r.header.shard,
                        r.header.shards,
                        twin.shown()
                    ),
                ));
            }
            parts.push(r);
        }
        let Some(first) = parts.first() else {
            return Err(Error::input(
                "<command line>",
                "",
                "no parts given; expected the part files of every shard",
            ));
        };
        let n = first.header.shards;
        if parts.len() as u64 != n {
            let mut have: Vec<u64> = parts.iter().map(|p| p.header.shard).collect();
            have.sort_unstable();
            let missing: Vec<String> = (0..n)
                .filter(|k| have.binary_search(k).is_err())
                .take(10)
                .map(|k| k.to_string())
                .collect();
            return Err(first.bad(
                "header.shards",
                format!(
                    "is {n}, but {} parts are given: shard {} missing; expected all {n} parts ({})",
                    parts.len(),
                    missing.join(", "),
                    super::file_name(first.header.command, 0, n).replace("-0-", "-K-")
                ),
            ));
        }
        parts.sort_by_key(|p| p.header.shard);
        Ok(PartSet { parts })
    }

    /// The parts of `command` in folder `dir` (`command.part-K-of-N.jsonl`), `None` when it has
    /// none; bad input when it holds parts of more than one shard count.
    pub fn find(dir: &Path, command: Command) -> Result<Option<PartSet>> {
        let shown = crate::names::escape(&dir.display().to_string()).into_owned();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::input(
                &shown,
                "",
                format!("cannot be read ({e}); expected a folder holding part files"),
            )
        })?;
        let mut found: Vec<(u64, u64, PathBuf)> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| Error::Io {
                path: shown.clone(),
                source: e,
            })?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((c, k, n)) = parse_file_name(&name) {
                if c == command {
                    found.push((n, k, e.path()));
                }
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        found.sort();
        let counts: std::collections::BTreeSet<u64> = found.iter().map(|f| f.0).collect();
        if counts.len() > 1 {
            let list: Vec<String> = counts.iter().map(|n| format!("of {n}")).collect();
            return Err(Error::input(
                &shown,
                "",
                format!(
                    "holds {} parts of several runs ({}); expected the parts of one run: remove the others",
                    command.name(),
                    list.join(", ")
                ),
            ));
        }
        let paths: Vec<PathBuf> = found.into_iter().map(|f| f.2).collect();
        Ok(Some(PartSet::open(&paths)?))
    }

    /// Shard 0's header (every part's is the same but for the shard).
    pub fn header(&self) -> &Header {
        &self.parts[0].header
    }

    /// Shard 0's part, for messages about the whole set.
    pub fn first(&self) -> &PartReader {
        &self.parts[0]
    }

    /// Merge the parts: every batch in batch order, read from its part in lock step, checked
    /// against `empty` and merged into a fold made by `new_fold`, then each part's end. The
    /// extras come from shard 0 and are checked by `check_extras`; `with_extras` says whether
    /// the command has any. Ctrl-C stops between batches.
    pub fn merge<F, X>(
        mut self,
        new_fold: &dyn Fn() -> F,
        with_extras: bool,
        check_extras: &dyn Fn(&X) -> Checked,
        ctl: Controls<'_>,
    ) -> Result<(F, Option<X>)>
    where
        F: Fold + DeserializeOwned + Validate,
        X: DeserializeOwned,
    {
        let mut extras = None;
        for p in &mut self.parts {
            let x: Option<X> = p.extras()?;
            let key = format!("line {}: extras", p.lines.line);
            let should = with_extras && p.header.shard == 0;
            match (x, should) {
                (Some(x), true) => {
                    check_extras(&x).map_err(|u| {
                        p.bad(&join_key(&key, &u.key), u.message)
                    })?;
                    extras = Some(x);
                }
                (None, false) => {}
                (Some(_), false) => {
                    return Err(p.bad(&key, "is set; expected null (only shard 0 of a run or sensitivity analysis carries extras)"))
                }
                (None, true) => {
                    return Err(p.bad(&key, "is null; expected what shard 0 computes beside its batches"))
                }
            }
        }
        let header = self.parts[0].header.clone();
        let n = header.shards;
        let total = header.total_batches();
        let empty = new_fold();
        let mut fold = new_fold();
        let mut done = 0u64;
        for b in 0..total {
            if ctl.cancel.load(Ordering::SeqCst) {
                return Err(Error::Interrupted {
                    done,
                    total: header.run_samples(),
                });
            }
            let paths = header.paths_in(b);
            let state = self.parts[(b % n) as usize].batch(b, &empty, paths)?;
            fold.merge(state);
            done += paths;
            if b % 64 == 63 {
                (ctl.progress)(done);
            }
        }
        for p in self.parts {
            p.finish()?;
        }
        Ok((fold, extras))
    }
}
